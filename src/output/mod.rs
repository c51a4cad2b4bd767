//! Results as the JSON contract, CSV and a readable table.
//!
//! The JSON document is `{"version", "input", "parameters", "frames": [...], "plan", ...}`; each
//! frame holds `frame`, `length_unit`, `walks`, `interior_samples` and every quantity as
//! `{"value", "std"}` (nested arrays for tensors, arrays for eigenvalues). The physical
//! quantities add `"unit"`; those with ZENO's fixed model uncertainty add `"model_std"`,
//! kept apart from the Monte Carlo `std`. Non-finite numbers (e.g. no walk hit) are null.

pub mod h5;
pub mod staged;
pub mod summary;
pub mod write_back;

use crate::analysis::sink::{End, Sink, Start};
use crate::compute::FrameResult;
use crate::error::{Error, Result};
use crate::estimate::{Estimate, Shape};
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

fn quantity_json(e: &Estimate, length_unit: &str) -> Value {
    let shape = e.quantity.shape();
    let mut m = Map::new();
    m.insert("value".into(), shaped(&e.value, shape));
    m.insert("std".into(), shaped(&e.std, shape));
    if e.quantity.reports_unit() {
        m.insert("unit".into(), json!(e.quantity.unit(length_unit)));
    }
    if let Some(rel) = e.quantity.model_relative_uncertainty() {
        let model: Vec<f64> = e.value.iter().map(|v| (v * rel).abs()).collect();
        m.insert("model_std".into(), shaped(&model, shape));
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
/// every quantity.
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

fn table_frame(input: &str, f: &FrameReport) -> String {
    let mut out = String::new();
    {
        let r = f.result;
        out.push_str(&format!(
            "{input}, frame {}{}: {} spheres, {} walks ({} hit), {} interior samples, {:.2} s{}\n",
            f.info.index,
            match (f.info.wepy, f.info.time) {
                (Some(w), _) => format!(" (run {}, traj {}, cycle {})", w.run, w.traj, w.cycle),
                (None, Some(t)) => format!(" (time {t} {})", f.time_unit.unwrap_or("")),
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
        out.push_str(&format!("  {:<34} {:<40} {}\n", "quantity", "value +- std (Monte Carlo)", "unit"));
        for e in &r.estimates {
            let unit = e.quantity.unit(&f.length_unit.name);
            match e.quantity.shape() {
                Shape::Tensor => {
                    for row in 0..3 {
                        let cells: Vec<String> = (0..3).map(|c| format_uncertain(e.value[3 * row + c], e.std[3 * row + c])).collect();
                        let name = if row == 0 { e.quantity.name() } else { "" };
                        out.push_str(&format!("  {name:<34} {:<40} {unit}\n", cells.join("  ")));
                    }
                }
                _ => {
                    let cells: Vec<String> = e.value.iter().zip(&e.std).map(|(v, s)| format_uncertain(*v, *s)).collect();
                    out.push_str(&format!("  {:<34} {:<40} {unit}\n", e.quantity.name(), cells.join("  ")));
                }
            }
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
}
