//! Results as the JSON contract, CSV and a readable table.
//!
//! The JSON document is `{"version", "input", "parameters", "frames": [...], "plan", ...}`; each
//! frame holds `frame`, `length_unit`, `walks`, `interior_samples` and every quantity as
//! `{"value", "std"}` (nested arrays for tensors, arrays for eigenvalues). The physical
//! quantities add `"unit"`; those with ZENO's fixed model uncertainty add `"model_std"`,
//! kept apart from the Monte Carlo `std`. Non-finite numbers (e.g. no walk hit) are null.
//!
//! ZENO's printed +- for Rh, q_eta, `[eta]`, D and s includes that model uncertainty (1% on
//! Rh, 1.5% on q_eta, carried into what is proportional to them), so every output shows it
//! beside the Monte Carlo std: the table in a column of its own, the CSV as `<name>_model_std`
//! columns, the H5MD file as `model_std` datasets, the plots in error bars that combine the
//! two in quadrature. [`model_std`] computes it once for all of them.
//!
//! The CSV keeps every earlier column's name and position and appends the rest: `converged`,
//! `time_unit`, then for each quantity `<name>_unit` and, where it has one, its
//! `<name>_model_std` columns. Units are columns, like `length_unit`, rather than a units row
//! (which a default `pandas.read_csv` takes for data, turning every column into text), a
//! comment line (which it reads as a row unless told `comment=`) or unit suffixes in the
//! names (which would change with the input's length unit and break scripts that read
//! `hydrodynamic_radius`).

pub mod h5;
pub mod staged;
pub mod summary;
pub mod write_back;

use crate::analysis::sink::{End, Sink, Start};
use crate::compute::FrameResult;
use crate::error::{Error, Result};
use crate::estimate::{Estimate, Quantity, Shape};
use crate::trajectory::FrameInfo;
use crate::units::LengthUnit;
use serde_json::{json, Map, Value};
use staged::Destination;
use std::io::Write;

/// One computed frame with what is needed to report it.
pub struct FrameReport<'a> {
    /// The frame's position, key, time and step in the input.
    pub info: &'a FrameInfo,
    /// The unit the frame's lengths, areas and volumes are in.
    pub length_unit: &'a LengthUnit,
    /// The input's time unit; None when it names none.
    pub time_unit: Option<&'a str>,
    /// Spheres in the body (the selected atoms).
    pub spheres: usize,
    /// What was computed for the frame (or read back, see `from_checkpoint`).
    pub result: &'a FrameResult,
    /// Read back from the checkpoint rather than computed in this run.
    pub from_checkpoint: bool,
}

fn shaped(values: &[f64], shape: Shape) -> Value {
    match shape {
        Shape::Scalar => json!(values[0]),
        Shape::Vector => json!(values),
        Shape::Tensor => json!([&values[0..3], &values[3..6], &values[6..9]]),
    }
}

/// ZENO's fixed model uncertainty of `e`, component by component: |value| times the
/// quantity's [`Quantity::model_relative_uncertainty`]; None for a quantity without one.
/// Every output takes it from here, so the JSON, CSV, H5MD file, table and plots agree to the
/// bit.
pub fn model_std(e: &Estimate) -> Option<Vec<f64>> {
    e.quantity.model_relative_uncertainty().map(|rel| e.value.iter().map(|v| (v * rel).abs()).collect())
}

/// The half-width of an error bar that holds both uncertainties: the Monte Carlo std and the
/// model std combined in quadrature, sqrt(mc^2 + model^2) (the MC std alone without a model
/// std). The plots draw it, since the larger bar is the honest one.
pub fn combined_std(mc: f64, model: Option<f64>) -> f64 {
    match model {
        Some(m) => mc.hypot(m),
        None => mc,
    }
}

/// The unit as the table writes it: "(dimensionless)" rather than nothing, so an empty cell
/// is never read as a unit left out.
pub fn table_unit(q: Quantity, length_unit: &str) -> String {
    match q.unit(length_unit) {
        u if u.is_empty() => "(dimensionless)".into(),
        u => u,
    }
}

/// The unit as a CSV cell: "1" for a dimensionless quantity (the UDUNITS and CF spelling,
/// which unit libraries such as pint parse), so the cell is never empty.
fn csv_unit(q: Quantity, length_unit: &str) -> String {
    match q.unit(length_unit) {
        u if u.is_empty() => "1".into(),
        u => u,
    }
}

fn quantity_json(e: &Estimate, length_unit: &str) -> Value {
    let shape = e.quantity.shape();
    let mut m = Map::new();
    m.insert("value".into(), shaped(&e.value, shape));
    m.insert("std".into(), shaped(&e.std, shape));
    if e.quantity.reports_unit() {
        m.insert("unit".into(), json!(e.quantity.unit(length_unit)));
    }
    if let Some(model) = model_std(e) {
        m.insert("model_std".into(), shaped(&model, shape));
    }
    let close = e.sort_biased_pairs();
    if e.quantity == Quantity::PolarizabilityEigenvalues && !close.is_empty() {
        m.insert("sort_biased_pairs".into(), json!(close));
    }
    Value::Object(m)
}

/// One element of the JSON document's `frames` array, as the module docs describe it.
pub fn frame_json(f: &FrameReport) -> Value {
    let r = f.result;
    let mut m = Map::new();
    m.insert("frame".into(), json!(f.info.index));
    if let Some(t) = f.info.time {
        m.insert("time".into(), json!(t));
        m.insert("time_unit".into(), json!(f.time_unit));
    }
    if let Some(s) = f.info.step {
        m.insert("step".into(), json!(s));
    }
    if let Some(w) = f.info.wepy {
        m.insert("run".into(), json!(w.run));
        m.insert("traj".into(), json!(w.traj));
        m.insert("cycle".into(), json!(w.cycle));
    }
    m.insert("spheres".into(), json!(f.spheres));
    m.insert("length_unit".into(), json!(f.length_unit.name));
    m.insert("walks".into(), json!(r.walks));
    m.insert("interior_samples".into(), json!(r.interior_samples));
    m.insert("converged".into(), json!(r.converged));
    m.insert("launch".into(), json!(r.launch));
    m.insert("hits".into(), json!(r.hits));
    m.insert("steps_per_walk".into(), json!(r.steps as f64 / r.walks as f64));
    m.insert("seconds".into(), json!(r.seconds));
    for e in &r.estimates {
        m.insert(e.quantity.name().into(), quantity_json(e, &f.length_unit.name));
    }
    Value::Object(m)
}

fn component_suffixes(shape: Shape) -> &'static [&'static str] {
    match shape {
        Shape::Scalar => &[""],
        Shape::Vector => &["_1", "_2", "_3"],
        Shape::Tensor => &["_xx", "_xy", "_xz", "_yx", "_yy", "_yz", "_zx", "_zy", "_zz"],
    }
}

/// The CSV header: frame, time, step (and run, traj, cycle for wepy input), spheres,
/// length_unit, walks, interior_samples, then value and std columns for every component of
/// every quantity; then, appended so that every earlier column keeps its position,
/// converged, time_unit, and for each quantity `<name>_unit` and its `_model_std` columns
/// where it has a model uncertainty.
fn csv_header(f: &FrameReport) -> Vec<String> {
    let mut header = vec!["frame".to_string(), "time".into(), "step".into()];
    if f.info.wepy.is_some() {
        header.extend(["run".into(), "traj".into(), "cycle".into()]);
    }
    header.extend(["spheres".into(), "length_unit".into(), "walks".into(), "interior_samples".into()]);
    for e in &f.result.estimates {
        for s in component_suffixes(e.quantity.shape()) {
            header.push(format!("{}{s}", e.quantity.name()));
            header.push(format!("{}{s}_std", e.quantity.name()));
        }
    }
    header.extend(["converged".into(), "time_unit".into()]);
    for e in &f.result.estimates {
        header.push(format!("{}_unit", e.quantity.name()));
        if e.quantity.model_relative_uncertainty().is_some() {
            for s in component_suffixes(e.quantity.shape()) {
                header.push(format!("{}{s}_model_std", e.quantity.name()));
            }
        }
    }
    header
}

/// A frame's CSV row; a column the input has no value for (time, step) is left empty.
fn csv_row(f: &FrameReport) -> Vec<String> {
    let opt = |v: Option<String>| v.unwrap_or_default();
    let mut row = vec![f.info.index.to_string(), opt(f.info.time.map(|t| t.to_string())), opt(f.info.step.map(|s| s.to_string()))];
    if let Some(w) = f.info.wepy {
        row.extend([w.run.to_string(), w.traj.to_string(), w.cycle.to_string()]);
    }
    row.extend([f.spheres.to_string(), f.length_unit.name.clone(), f.result.walks.to_string(), f.result.interior_samples.to_string()]);
    for e in &f.result.estimates {
        for (v, s) in e.value.iter().zip(&e.std) {
            row.push(v.to_string());
            row.push(s.to_string());
        }
    }
    row.push(f.result.converged.to_string());
    row.push(opt(f.info.time.and(f.time_unit).map(str::to_string)));
    for e in &f.result.estimates {
        row.push(csv_unit(e.quantity, &f.length_unit.name));
        if let Some(model) = model_std(e) {
            row.extend(model.iter().map(f64::to_string));
        }
    }
    row
}

/// A value and its std to the digits the std justifies (two significant digits of std).
pub fn format_uncertain(value: f64, std: f64) -> String {
    if !value.is_finite() {
        return "n/a".into();
    }
    if !(std.is_finite() && std > 0.0) {
        return format!("{value:.6e}");
    }
    let decimals = (1 - std.log10().floor() as i32).max(0) as usize;
    if value.abs() >= 1e7 || (value != 0.0 && value.abs() < 1e-4) {
        let exp = value.abs().log10().floor() as i32;
        let scale = 10f64.powi(exp);
        let d = (1 - (std / scale).log10().floor() as i32).max(0) as usize;
        return format!("({:.d$} +- {:.d$})e{exp}", value / scale, std / scale);
    }
    format!("{value:.decimals$} +- {std:.decimals$}")
}

/// ZENO's model std as the table's model column shows it, "+- 0.21": two significant digits,
/// and the value's power of ten where [`format_uncertain`] writes one, so that the value, its
/// Monte Carlo std and its model std read together.
pub fn format_model(value: f64, model: f64) -> String {
    if !(value.is_finite() && model.is_finite()) {
        return "n/a".into();
    }
    if model == 0.0 {
        return "+- 0".into();
    }
    let digits = |x: f64| (1 - x.log10().floor() as i32).max(0) as usize;
    if value.abs() >= 1e7 || (value != 0.0 && value.abs() < 1e-4) {
        let exp = value.abs().log10().floor() as i32;
        let scaled = model / 10f64.powi(exp);
        let d = digits(scaled);
        return format!("(+- {scaled:.d$})e{exp}");
    }
    let d = digits(model);
    format!("+- {model:.d$}")
}

/// A frame time as a person reads it: an f32 time (XTC, TRR and TNG store them) widened to
/// f64 printed as the f32's shortest form, `100.00001` rather than `100.00000762939453`;
/// a time that is no f32 in its f64 form.
pub fn time_text(t: f64) -> String {
    let single = t as f32;
    if f64::from(single) == t {
        single.to_string()
    } else {
        t.to_string()
    }
}

/// Said once, under the first frame's table: what the two columns of uncertainty are.
const TABLE_NOTE: &str = "  (std: Monte Carlo, from the walks. model std: ZENO's fixed model uncertainty, 1% on Rh and 1.5% on q_eta\n   \
and what is proportional to them; ZENO's printed +- is the two combined, sqrt(std^2 + model^2).)\n";

fn table_frame(input: &str, f: &FrameReport) -> String {
    let mut out = String::new();
    {
        let r = f.result;
        out.push_str(&format!(
            "{input}, frame {}{}: {} spheres, {} walks ({} hit), {} interior samples, {:.2} s{}\n",
            f.info.index,
            match (f.info.wepy, f.info.time) {
                (Some(w), _) => format!(" (run {}, traj {}, cycle {})", w.run, w.traj, w.cycle),
                (None, Some(t)) => format!(" (time {} {})", time_text(t), f.time_unit.unwrap_or("")),
                (None, None) => String::new(),
            },
            f.spheres,
            r.walks,
            r.hits,
            r.interior_samples,
            r.seconds,
            if r.converged { "" } else { "  [target rsd NOT reached: cap hit]" }
        ));
        out.push_str(&format!(
            "launch sphere radius {:.6} {u} at ({:.4}, {:.4}, {:.4}), skin thickness {:.3e} {u}\n",
            r.launch.radius,
            r.launch.center[0],
            r.launch.center[1],
            r.launch.center[2],
            r.launch.skin_thickness,
            u = f.length_unit.name
        ));
        let mut rows: Vec<[String; 4]> =
            vec![["quantity".into(), "value +- std (Monte Carlo)".into(), "+- model std (ZENO)".into(), "unit".into()]];
        for e in &r.estimates {
            let unit = table_unit(e.quantity, &f.length_unit.name);
            let model = model_std(e);
            let cells = |range: std::ops::Range<usize>| -> (String, String) {
                let values: Vec<String> = range.clone().map(|k| format_uncertain(e.value[k], e.std[k])).collect();
                let models: Vec<String> = match &model {
                    Some(m) => range.map(|k| format_model(e.value[k], m[k])).collect(),
                    None => vec![],
                };
                (values.join("  "), models.join("  "))
            };
            match e.quantity.shape() {
                Shape::Tensor => {
                    for row in 0..3 {
                        let (values, models) = cells(3 * row..3 * row + 3);
                        let name = if row == 0 { e.quantity.name() } else { "" };
                        rows.push([name.into(), values, models, unit.clone()]);
                    }
                }
                _ => {
                    let (values, models) = cells(0..e.value.len());
                    rows.push([e.quantity.name().into(), values, models, unit]);
                }
            }
        }
        let width = |c: usize| rows.iter().map(|r| r[c].len()).max().unwrap_or(0);
        let (w0, w1, w2) = (width(0), width(1), width(2));
        for [name, values, models, unit] in &rows {
            out.push_str(&format!("  {name:<w0$}  {values:<w1$}  {models:<w2$}  {unit}\n"));
        }
    }
    out
}

/// How results are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// One JSON document (the contract in the README).
    Json,
    /// A header and one row per frame.
    Csv,
    /// A block per frame for a person to read, and the summary at the end.
    Table,
}

/// Results written frame by frame as they are computed, so memory does not grow with the
/// trajectory and a run that stops early has written every frame it computed. The JSON
/// document is `{"version", "input", "parameters", "frames": [...]}` and then the footer's
/// fields (the plan with the task times it saw, verification, ...), which are known only at
/// the end.
pub struct Report {
    out: Option<Destination>,
    style: Style,
    input: String,
    frames: usize,
}

fn indent(text: &str, by: &str) -> String {
    text.lines().map(|l| format!("{by}{l}")).collect::<Vec<_>>().join("\n")
}

impl Report {
    /// A report in `style` to `out`; nothing is written before the run begins.
    pub fn new(out: Destination, style: Style) -> Report {
        Report { out: Some(out), style, input: String::new(), frames: 0 }
    }

    fn write(&mut self, text: &str) -> Result<()> {
        let out = self.out.as_mut().expect("a report is written only before it is finished");
        out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(|e| Error::writing(out.name(), &e))
    }
}

impl Sink for Report {
    fn begin(&mut self, start: &Start) -> Result<()> {
        self.input = start.job.trajectory.path.display().to_string();
        match self.style {
            Style::Table => self.write(&format!("{}\n", start.headline)),
            Style::Json => {
                let head = json!({"version": env!("CARGO_PKG_VERSION"), "input": self.input, "parameters": start.parameters});
                let text = serde_json::to_string_pretty(&head).expect("JSON values serialise");
                let open = text.strip_suffix("\n}").unwrap_or(&text);
                self.write(&format!("{open},\n  \"frames\": ["))
            }
            Style::Csv => Ok(()),
        }
    }

    fn frame(&mut self, f: &FrameReport) -> Result<()> {
        let text = match self.style {
            Style::Json => {
                let text = serde_json::to_string_pretty(&frame_json(f)).expect("JSON values serialise");
                format!("{}\n{}", if self.frames == 0 { "" } else { "," }, indent(&text, "    "))
            }
            Style::Csv => {
                let mut w = csv::WriterBuilder::new().from_writer(vec![]);
                let rows = if self.frames == 0 { vec![csv_header(f), csv_row(f)] } else { vec![csv_row(f)] };
                for row in rows {
                    w.write_record(row).expect("CSV rows write to memory");
                }
                String::from_utf8(w.into_inner().expect("CSV rows write to memory")).expect("CSV of UTF-8 strings")
            }
            Style::Table if self.frames == 0 && f.result.estimates.iter().any(|e| model_std(e).is_some()) => {
                table_frame(&self.input, f) + TABLE_NOTE
            }
            Style::Table => table_frame(&self.input, f),
        };
        self.write(&text)?;
        self.frames += 1;
        Ok(())
    }

    /// Closes the document with the footer's fields (JSON), or the summary (table), and
    /// commits the destination.
    fn finish(&mut self, end: &End) -> Result<()> {
        let mut tail = String::new();
        match self.style {
            Style::Json => {
                tail += if self.frames == 0 { "]" } else { "\n  ]" };
                for (k, v) in end.footer {
                    let value = indent(&serde_json::to_string_pretty(v).expect("JSON values serialise"), "  ");
                    tail += &format!(",\n  {}: {}", serde_json::to_string(k).expect("a key serialises"), value.trim_start());
                }
                tail += "\n}\n";
            }
            Style::Table if !end.summary.is_empty() => tail += &end.summary.table(end.length_unit),
            _ => {}
        }
        self.write(&tail)?;
        self.out.take().expect("a report finishes once").commit()
    }

    fn target(&self) -> Option<&std::path::Path> {
        match &self.out {
            Some(Destination::File { staged, .. }) => Some(staged.path()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncertain_numbers_keep_the_digits_the_std_allows() {
        assert_eq!(format_uncertain(21.41063, 0.0105), "21.411 +- 0.011");
        assert_eq!(format_uncertain(123988.4, 165.2), "123988 +- 165");
        assert_eq!(format_uncertain(1.5e-9, 2.1e-11), "(1.500 +- 0.021)e-9");
        assert_eq!(format_uncertain(f64::NAN, 1.0), "n/a");
    }

    #[test]
    fn model_stds_keep_two_digits_and_the_values_power_of_ten() {
        assert_eq!(format_model(21.41063, 0.2141063), "+- 0.21");
        assert_eq!(format_model(123988.4, 1859.8), "+- 1860");
        assert_eq!(format_model(1.5e-9, 1.5e-11), "(+- 0.015)e-9");
        assert_eq!(format_model(2.0, 0.0), "+- 0");
        assert_eq!(format_model(f64::NAN, f64::NAN), "n/a");
    }

    #[test]
    fn f32_times_print_in_their_shortest_form() {
        assert_eq!(time_text(f64::from(100.00001f32)), "100.00001");
        assert_eq!(f64::from(100.00001f32).to_string(), "100.00000762939453", "what the table printed");
        assert_eq!(time_text(2.5), "2.5");
        assert_eq!(time_text(0.1), "0.1", "an f64 time that is no f32 keeps its f64 form");
    }

    #[test]
    fn the_combined_bar_adds_in_quadrature() {
        assert_eq!(combined_std(3.0, Some(4.0)), 5.0);
        assert_eq!(combined_std(0.25, None), 0.25);
    }
}
