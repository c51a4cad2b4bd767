//! What a run says about all its frames together: for each scalar observable the mean over
//! frames, the standard error of that mean across frames (the conformational spread, which
//! is what a scientist compares between systems), and the mean Monte Carlo std (how much of
//! the spread the walks themselves add). Accumulated frame by frame, in frame order, so the
//! summary is as reproducible as the frames.

use super::format_uncertain;
use crate::compute::FrameResult;
use crate::estimate::{Quantity, Shape};
use serde_json::{json, Map, Value};

#[derive(Clone, Copy, Debug, Default)]
struct Moments {
    frames: u64,
    mean: f64,
    m2: f64,
    std_sum: f64,
}

impl Moments {
    fn add(&mut self, value: f64, std: f64) {
        self.frames += 1;
        let d = value - self.mean;
        self.mean += d / self.frames as f64;
        self.m2 += d * (value - self.mean);
        self.std_sum += std;
    }

    fn standard_error(&self) -> Option<f64> {
        (self.frames > 1).then(|| (self.m2 / (self.frames - 1) as f64 / self.frames as f64).sqrt())
    }

    fn mean_std(&self) -> Option<f64> {
        (self.frames > 0).then(|| self.std_sum / self.frames as f64)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Summary {
    rows: Vec<(Quantity, Moments)>,
    /// Frames with a non-finite value of some observable (left out of that observable).
    skipped: Vec<(Quantity, u64)>,
}

impl Summary {
    pub fn add(&mut self, r: &FrameResult) {
        for e in r.estimates.iter().filter(|e| e.quantity.shape() == Shape::Scalar) {
            let k = match self.rows.iter().position(|(q, _)| *q == e.quantity) {
                Some(k) => k,
                None => {
                    self.rows.push((e.quantity, Moments::default()));
                    self.rows.len() - 1
                }
            };
            if e.value[0].is_finite() && e.std[0].is_finite() {
                self.rows[k].1.add(e.value[0], e.std[0]);
            } else {
                match self.skipped.iter_mut().find(|(q, _)| *q == e.quantity) {
                    Some((_, n)) => *n += 1,
                    None => self.skipped.push((e.quantity, 1)),
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// `{"<name>": {"frames", "mean", "standard_error", "mean_std", "unit"}}`.
    pub fn json(&self, length_unit: &str) -> Value {
        let mut m = Map::new();
        for (q, s) in &self.rows {
            m.insert(
                q.name().into(),
                json!({
                    "frames": s.frames,
                    "mean": (s.frames > 0).then_some(s.mean),
                    "standard_error": s.standard_error(),
                    "mean_std": s.mean_std(),
                    "unit": q.unit(length_unit),
                }),
            );
        }
        Value::Object(m)
    }

    pub fn table(&self, length_unit: &str) -> String {
        let mut out = format!(
            "summary over frames:\n  {:<34} {:>7} {:<36} {:>14}  {}\n",
            "quantity", "frames", "mean +- standard error", "mean MC std", "unit"
        );
        for (q, s) in &self.rows {
            let mean = match (s.frames, s.standard_error()) {
                (0, _) => "n/a".to_string(),
                (_, Some(se)) => format_uncertain(s.mean, se),
                (_, None) => format!("{:.6e}", s.mean),
            };
            let mc = s.mean_std().map_or("n/a".into(), |v| format!("{v:.3e}"));
            out += &format!("  {:<34} {:>7} {:<36} {:>14}  {}\n", q.name(), s.frames, mean, mc, q.unit(length_unit));
        }
        for (q, n) in &self.skipped {
            out += &format!("  ({} frame(s) without a finite {} left out)\n", n, q.name());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::LaunchInfo;
    use crate::estimate::Estimate;

    fn frame(rh: f64, std: f64) -> FrameResult {
        FrameResult {
            estimates: vec![Estimate { quantity: Quantity::HydrodynamicRadius, value: vec![rh], std: vec![std] }],
            walks: 1,
            interior_samples: 1,
            hits: 1,
            steps: 1,
            converged: true,
            launch: LaunchInfo { center: [0.0; 3], radius: 1.0, enclosing_radius: 1.0, skin_thickness: 1e-6 },
            seconds: 0.0,
        }
    }

    #[test]
    fn mean_standard_error_and_mean_std_over_frames() {
        let mut s = Summary::default();
        for (v, e) in [(10.0, 0.1), (12.0, 0.3), (14.0, 0.2), (f64::NAN, 0.1)] {
            s.add(&frame(v, e));
        }
        let j = s.json("A");
        let rh = &j["hydrodynamic_radius"];
        assert_eq!(rh["frames"], 3);
        assert_eq!(rh["mean"], 12.0);
        // sample variance 4, so the standard error is sqrt(4 / 3)
        assert!((rh["standard_error"].as_f64().unwrap() - (4.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((rh["mean_std"].as_f64().unwrap() - 0.2).abs() < 1e-12);
        assert!(s.table("A").contains("(1 frame(s) without a finite hydrodynamic_radius left out)"));
    }
}
