//! Results as the JSON contract, CSV and a readable table.
//!
//! The JSON document is `{"version", "input", "parameters", "plan", "frames": [...]}`; each
//! frame holds `frame`, `length_unit`, `walks`, `interior_samples` and every quantity as
//! `{"value", "std"}` (nested arrays for tensors, arrays for eigenvalues). The physical
//! quantities add `"unit"`; those with ZENO's fixed model uncertainty add `"model_std"`,
//! kept apart from the Monte Carlo `std`. Non-finite numbers (e.g. no walk hit) are null.

use crate::compute::FrameResult;
use crate::estimate::{Estimate, Shape};
use crate::units::LengthUnit;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// How a run was executed, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub strategy: String,
    pub threads: usize,
    pub reason: String,
}

/// One computed frame with what is needed to report it.
pub struct FrameReport<'a> {
    pub frame: usize,
    pub length_unit: &'a LengthUnit,
    pub result: &'a FrameResult,
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

pub fn frame_json(f: &FrameReport) -> Value {
    let r = f.result;
    let mut m = Map::new();
    m.insert("frame".into(), json!(f.frame));
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

pub fn document(input: &str, parameters: Value, plan: &Plan, frames: &[FrameReport]) -> Value {
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "input": input,
        "parameters": parameters,
        "plan": plan,
        "frames": frames.iter().map(frame_json).collect::<Vec<_>>(),
    })
}

fn component_suffixes(shape: Shape) -> &'static [&'static str] {
    match shape {
        Shape::Scalar => &[""],
        Shape::Vector => &["_1", "_2", "_3"],
        Shape::Tensor => &["_xx", "_xy", "_xz", "_yx", "_yy", "_yz", "_zx", "_zy", "_zz"],
    }
}

/// One row per frame: frame, walks, interior_samples, then value and std columns for every
/// component of every quantity. Header first.
pub fn csv(frames: &[FrameReport]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(vec![]);
    if let Some(first) = frames.first() {
        let mut header = vec!["frame".to_string(), "length_unit".into(), "walks".into(), "interior_samples".into()];
        for e in &first.result.estimates {
            for s in component_suffixes(e.quantity.shape()) {
                header.push(format!("{}{s}", e.quantity.name()));
                header.push(format!("{}{s}_std", e.quantity.name()));
            }
        }
        w.write_record(&header)?;
    }
    for f in frames {
        let mut row = vec![
            f.frame.to_string(),
            f.length_unit.name.clone(),
            f.result.walks.to_string(),
            f.result.interior_samples.to_string(),
        ];
        for e in &f.result.estimates {
            for (v, s) in e.value.iter().zip(&e.std) {
                row.push(v.to_string());
                row.push(s.to_string());
            }
        }
        w.write_record(&row)?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
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

pub fn table(input: &str, plan: &Plan, frames: &[FrameReport]) -> String {
    let mut out = String::new();
    for f in frames {
        let r = f.result;
        out.push_str(&format!(
            "{input}, frame {}: {} walks ({} hit), {} interior samples, {} thread{} ({}), {:.2} s{}\n",
            f.frame,
            r.walks,
            r.hits,
            r.interior_samples,
            plan.threads,
            if plan.threads == 1 { "" } else { "s" },
            plan.strategy,
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
                        let cells: Vec<String> =
                            (0..3).map(|c| format_uncertain(e.value[3 * row + c], e.std[3 * row + c])).collect();
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
