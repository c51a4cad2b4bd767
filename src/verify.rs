//! Verification: recompute sampled frames with the serial reference after a run and compare.
//! The CPU strategies promise bit-identical frames, so any difference is a failure; this
//! is how a run proves its answer did not depend on how it was run.

use crate::compute::FrameResult;
use crate::error::Result;
use crate::exec::{Serial, Strategy};
use crate::job::Job;
use serde::Serialize;
use std::collections::BTreeMap;

/// The largest difference found, relative to the reference value.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Worst {
    /// Sequence index of the frame.
    pub frame: usize,
    /// The quantity's output name; `walks` when only the walk, sample or hit counts differ.
    pub quantity: String,
    /// |got - reference| / |reference| (absolute when the reference is 0, infinite for NaN);
    /// in a statistical check, the z-score instead.
    pub relative_difference: f64,
}

/// What recomputing the sampled frames found, reported with the run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verification {
    /// Frames recomputed: the sample the run kept for checking.
    pub frames_checked: usize,
    /// No frame failed.
    pub passed: bool,
    /// Frames whose numbers differ from the reference.
    pub failed_frames: Vec<usize>,
    /// The worst failing frame; None when every frame passed.
    pub worst: Option<Worst>,
    /// For a GPU run, which is checked statistically: the largest z-score against the
    /// serial reference (null when bits were compared).
    pub max_z: Option<f64>,
}

/// The z-score above which a GPU frame counts as disagreeing with the CPU reference: far
/// enough out that a correct run of a few hundred components fails about once in 10^4 runs.
pub const MAX_Z: f64 = 5.0;

/// The largest z-score, |a - b| / sqrt(std_a^2 + std_b^2), over the scalar and vector
/// components both results estimate with a positive std, and the quantity it is in.
pub fn z_score(got: &FrameResult, reference: &FrameResult) -> Option<(String, f64)> {
    let mut worst: Option<(String, f64)> = None;
    for (a, b) in got.estimates.iter().zip(&reference.estimates) {
        for k in 0..a.value.len() {
            let s = (a.std[k].powi(2) + b.std[k].powi(2)).sqrt();
            let z = if s > 0.0 { (a.value[k] - b.value[k]).abs() / s } else { continue };
            let z = if z.is_nan() { f64::INFINITY } else { z };
            if worst.as_ref().is_none_or(|(_, w)| z > *w) {
                worst = Some((b.quantity.name().to_string(), z));
            }
        }
    }
    worst
}

/// `n` frames of `frames`, evenly spaced, first and last included.
pub fn sample(frames: &[usize], n: usize) -> Vec<usize> {
    let n = n.min(frames.len());
    let mut out: Vec<usize> = (0..n).map(|k| frames[if n == 1 { 0 } else { k * (frames.len() - 1) / (n - 1) }]).collect();
    out.dedup();
    out
}

/// How far `got` is from `reference`: None when bit-identical, else the worst component.
pub fn difference(got: &FrameResult, reference: &FrameResult) -> Option<(String, f64)> {
    let mut worst: Option<(String, f64)> = None;
    for (a, b) in got.estimates.iter().zip(&reference.estimates) {
        for (x, y) in a.value.iter().chain(&a.std).zip(b.value.iter().chain(&b.std)) {
            if x.to_bits() != y.to_bits() {
                let d = if y.abs() > 0.0 { ((x - y) / y).abs() } else { (x - y).abs() };
                let d = if d.is_nan() { f64::INFINITY } else { d };
                if worst.as_ref().is_none_or(|(_, w)| d > *w) {
                    worst = Some((b.quantity.name().to_string(), d));
                }
            }
        }
    }
    let counts_differ = got.walks != reference.walks || got.interior_samples != reference.interior_samples || got.hits != reference.hits;
    match (worst, counts_differ) {
        (None, true) => Some(("walks".into(), f64::INFINITY)),
        (w, _) => w,
    }
}

/// Recomputes the frames of `kept` (frame index to the run's result) serially and compares.
/// With `statistical` (a GPU run, f32 arithmetic), frames agree when every z-score is at
/// most [`MAX_Z`]; otherwise they must agree bit for bit.
pub fn verify(job: &Job, kept: &BTreeMap<usize, FrameResult>, statistical: bool) -> Result<Verification> {
    let mut sub = job.clone();
    sub.frames = kept.keys().copied().collect();
    let mut failed_frames = vec![];
    let mut worst: Option<Worst> = None;
    let mut max_z: Option<f64> = None;
    Serial.run(&sub, 1, &mut |info, reference| {
        let got = &kept[&info.index];
        let differs = if statistical {
            let z = z_score(got, &reference);
            let zmax = z.as_ref().map_or(0.0, |z| z.1);
            max_z = Some(max_z.map_or(zmax, |m: f64| m.max(zmax)));
            z.filter(|(_, z)| *z > MAX_Z)
        } else {
            difference(got, &reference)
        };
        if let Some((quantity, d)) = differs {
            failed_frames.push(info.index);
            if worst.as_ref().is_none_or(|w| d > w.relative_difference) {
                worst = Some(Worst { frame: info.index, quantity, relative_difference: d });
            }
        }
        Ok(())
    })?;
    Ok(Verification { frames_checked: kept.len(), passed: failed_frames.is_empty(), failed_frames, worst, max_z })
}
