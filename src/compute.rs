//! Computing one frame: run walks and interior samples block by block until the stopping
//! rule is met, then turn the tallies into estimates.
//!
//! The stopping rule is either fixed counts or target relative stds reached in
//! deterministic batches: every batch size is a function of the results so far, which are a
//! function of (seed, frame key), so a target-driven run is as reproducible as a fixed one.

use crate::body::Body;
use crate::error::{Error, Result};
use crate::estimate::{self, Bins, Context, Estimate, Quantity};
use crate::pool::Pool;
use crate::walk::{self, ExteriorTally, InteriorTally, Seeds, Tally, BLOCK};
use serde::Serialize;
use std::time::Instant;

/// How many walks and interior samples to draw.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sampling {
    /// Exterior walks; the cap when a capacitance or polarizability target is set.
    pub walks: u64,
    /// Interior samples; the cap when a volume target is set.
    pub interior_samples: u64,
    /// Targets in percent relative std (ZENO's --max-rsd-*).
    pub max_rsd_capacitance: Option<f64>,
    pub max_rsd_polarizability: Option<f64>,
    pub max_rsd_volume: Option<f64>,
    pub seed: u64,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            walks: 1_000_000,
            interior_samples: 1_000_000,
            max_rsd_capacitance: None,
            max_rsd_polarizability: None,
            max_rsd_volume: None,
            seed: 0,
        }
    }
}

/// The first batch of a target-driven run.
const FIRST_BATCH: u64 = 16_384;
/// Blocks handed to the pool at once (bounds the memory of a batch).
const BLOCKS_PER_ROUND: u64 = 8_192;

impl Sampling {
    pub fn validate(&self) -> Result<()> {
        for (name, n) in [("--walks", self.walks), ("--interior", self.interior_samples)] {
            if n == 0 {
                return Err(Error::Option(format!("{name} must be at least 1")));
            }
            if n > u32::MAX as u64 {
                return Err(Error::Option(format!("{name} {n} exceeds the limit of {} per frame", u32::MAX)));
            }
        }
        for (name, t) in [
            ("--max-rsd-capacitance", self.max_rsd_capacitance),
            ("--max-rsd-polarizability", self.max_rsd_polarizability),
            ("--max-rsd-volume", self.max_rsd_volume),
        ] {
            if let Some(p) = t {
                if !(p.is_finite() && p > 0.0) {
                    return Err(Error::Option(format!("{name} must be a positive percentage, got {p}")));
                }
            }
        }
        Ok(())
    }

    fn exterior_targets(&self) -> Vec<(Quantity, f64)> {
        let mut t = vec![];
        if let Some(p) = self.max_rsd_capacitance {
            t.push((Quantity::Capacitance, p));
        }
        if let Some(p) = self.max_rsd_polarizability {
            t.push((Quantity::MeanPolarizability, p));
        }
        t
    }

    fn interior_targets(&self) -> Vec<(Quantity, f64)> {
        self.max_rsd_volume.map(|p| vec![(Quantity::Volume, p)]).unwrap_or_default()
    }
}

/// The launch sphere a frame was computed with (input coordinates and units).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LaunchInfo {
    pub center: [f64; 3],
    pub radius: f64,
    pub enclosing_radius: f64,
    pub skin_thickness: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FrameResult {
    pub estimates: Vec<Estimate>,
    pub walks: u64,
    pub interior_samples: u64,
    pub hits: u64,
    /// Distance queries over all walks.
    pub steps: u64,
    /// Whether every target rsd was reached (true when there were none).
    pub converged: bool,
    pub launch: LaunchInfo,
    /// Wall-clock seconds of the walks and samples (not part of the bitwise contract).
    pub seconds: f64,
}

impl FrameResult {
    pub fn get(&self, q: Quantity) -> Option<&Estimate> {
        self.estimates.iter().find(|e| e.quantity == q)
    }
}

/// Runs blocks `done/BLOCK ..` up to `end` items and folds them into `bins` in order.
fn run_blocks<T: Tally + Send>(
    pool: &Pool,
    bins: &mut Bins<T>,
    done: u64,
    end: u64,
    block: impl Fn(u64, u64) -> T + Sync + Send,
) {
    let first = done / BLOCK;
    let last = end.div_ceil(BLOCK);
    let mut b = first;
    while b < last {
        let upto = (b + BLOCKS_PER_ROUND).min(last);
        for (i, tally) in pool.map(b..upto, |i| block(i, end)).into_iter().enumerate() {
            bins.add_block(b + i as u64, &tally);
        }
        b = upto;
    }
}

/// The next total for a target-driven tally: enough to reach the worst target if the std
/// falls as 1/sqrt(N) (10% margin), at least a quarter more and at most 16x, whole blocks.
fn next_total(done: u64, cap: u64, targets: &[(Quantity, f64)], estimates: &[Estimate]) -> u64 {
    let mut need = done;
    for &(q, target) in targets {
        let rsd = estimates.iter().find(|e| e.quantity == q).map(|e| e.rsd_percent()).unwrap_or(f64::NAN);
        let want = if rsd.is_finite() {
            if rsd <= target {
                continue;
            }
            (done as f64 * (rsd / target).powi(2) * 1.1).ceil() as u64
        } else {
            done * 4
        };
        need = need.max(want.clamp(done + done / 4, done * 16));
    }
    need.div_ceil(BLOCK).saturating_mul(BLOCK).min(cap)
}

/// Computes every observable of one body.
pub fn compute_frame(body: &Body, frame_key: u64, sampling: &Sampling, ctx: &Context, pool: &Pool) -> Result<FrameResult> {
    sampling.validate()?;
    let started = Instant::now();
    let seeds = Seeds { seed: sampling.seed, frame_key };
    let ext_targets = sampling.exterior_targets();
    let int_targets = sampling.interior_targets();
    let first = |cap: u64, targets: &[(Quantity, f64)]| if targets.is_empty() { cap } else { cap.min(FIRST_BATCH) };
    let (mut ext_done, mut int_done) = (0, 0);
    let (mut ext_end, mut int_end) = (first(sampling.walks, &ext_targets), first(sampling.interior_samples, &int_targets));
    let mut ext: Bins<ExteriorTally> = Bins::default();
    let mut int: Bins<InteriorTally> = Bins::default();
    loop {
        run_blocks(pool, &mut ext, ext_done, ext_end, |b, end| walk::exterior_block(body, seeds, b, end));
        run_blocks(pool, &mut int, int_done, int_end, |b, end| walk::interior_block(body, seeds, b, end));
        (ext_done, int_done) = (ext_end, int_end);
        let estimates = estimate::estimate(&ext, &int, ctx);
        ext_end = next_total(ext_done, sampling.walks, &ext_targets, &estimates);
        int_end = next_total(int_done, sampling.interior_samples, &int_targets, &estimates);
        if ext_end == ext_done && int_end == int_done {
            let met = |targets: &[(Quantity, f64)]| {
                targets.iter().all(|&(q, t)| estimates.iter().any(|e| e.quantity == q && e.rsd_percent() <= t))
            };
            let converged = met(&ext_targets) && met(&int_targets);
            return Ok(FrameResult {
                estimates,
                walks: ext_done,
                interior_samples: int_done,
                hits: ext.total.hits as u64,
                steps: ext.total.steps as u64,
                converged,
                launch: LaunchInfo {
                    center: body.center,
                    radius: body.launch_radius,
                    enclosing_radius: body.enclosing_radius,
                    skin_thickness: body.skin_thickness,
                },
                seconds: started.elapsed().as_secs_f64(),
            });
        }
    }
}
