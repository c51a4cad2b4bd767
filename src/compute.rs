//! Computing one frame: run walks and interior samples block by block until the stopping
//! rule is met, then turn the tallies into estimates.
//!
//! The stopping rule is either fixed counts or target relative stds reached in
//! deterministic batches: every batch size is a function of the results so far, which are a
//! function of (seed, frame key), so a target-driven run is as reproducible as a fixed one.

use crate::body::Body;
use crate::error::{Result, Setting};
use crate::estimate::{self, Bins, Context, Estimate, Estimator, Quantity};
use crate::hit_points::{HitPoints, CHUNK};
use crate::pool::Pool;
use crate::walk::{self, ExteriorBlock, ExteriorTally, InteriorTally, Seeds, BLOCK};
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
    /// Target for the mean polarizability, in percent; like the capacitance's, it extends
    /// the exterior walks.
    pub max_rsd_polarizability: Option<f64>,
    /// Target for the volume, in percent; extends the interior samples.
    pub max_rsd_volume: Option<f64>,
    /// What the walks are made into; the walks themselves are the same for every estimator.
    pub estimator: Estimator,
    /// With each frame's key, determines every random number of the run.
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
            estimator: Estimator::default(),
            seed: 0,
        }
    }
}

/// The first batch of a target-driven run.
const FIRST_BATCH: u64 = 16_384;
/// The first batch of exterior walks with a target and the hit-point estimator: the pairs'
/// error falls like 1/N and the conditional-mean charges need 2-4x fewer walks, so 0.1% on C
/// or 1% on <alpha> of a protein-sized body takes a few thousand walks, and 16,384 would
/// overshoot several times (measured: 16,384 walks for 0.47% where 1% was asked). At 2,048
/// the stds are calibrated already (README, "Estimators").
const FIRST_BATCH_PAIRS: u64 = 2_048;
/// Blocks handed to the pool at once (bounds the memory of a batch).
const BLOCKS_PER_ROUND: u64 = 8_192;

impl Sampling {
    /// Refuses zero counts, counts above `u32::MAX` (walk indices are u32 in the random
    /// streams) and targets that are not positive.
    pub fn validate(&self) -> Result<()> {
        for (setting, n) in [(Setting::Walks, self.walks), (Setting::InteriorSamples, self.interior_samples)] {
            if n == 0 {
                return Err(setting.invalid("must be at least 1"));
            }
            if n > u32::MAX as u64 {
                return Err(setting.invalid(format!("{n} exceeds the limit of {} per frame", u32::MAX)));
            }
        }
        for (setting, t) in [
            (Setting::MaxRsdCapacitance, self.max_rsd_capacitance),
            (Setting::MaxRsdPolarizability, self.max_rsd_polarizability),
            (Setting::MaxRsdVolume, self.max_rsd_volume),
        ] {
            if let Some(p) = t {
                if !(p.is_finite() && p > 0.0) {
                    return Err(setting.invalid(format!("must be a positive percentage, got {p}")));
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
    /// The launch centre in the input's coordinates and length unit.
    pub center: [f64; 3],
    /// R, the launch radius the estimators scaled by.
    pub radius: f64,
    /// The smallest radius about `center` enclosing the body; R exceeds it by 2 skin
    /// thicknesses unless overridden.
    pub enclosing_radius: f64,
    /// The hit distance the walks used.
    pub skin_thickness: f64,
}

/// Everything computed for one frame: what the sinks report and the checkpoint stores.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameResult {
    /// In [`Quantity::ALL`] order; the transport coefficients only when their conditions
    /// were given.
    pub estimates: Vec<Estimate>,
    /// Exterior walks run; below the cap when the targets were reached earlier.
    pub walks: u64,
    /// Interior samples drawn; below the cap when the volume target was reached earlier.
    pub interior_samples: u64,
    /// Walks that hit the body: t = hits / walks.
    pub hits: u64,
    /// Distance queries over all walks.
    pub steps: u64,
    /// Whether every target rsd was reached (true when there were none).
    pub converged: bool,
    /// The launch sphere and skin, to rebuild or compare the run.
    pub launch: LaunchInfo,
    /// Wall-clock seconds of the walks and samples (not part of the bitwise contract).
    pub seconds: f64,
    /// What the user should hear about this frame (from its body); not part of the bitwise
    /// contract, and not kept by the checkpoint.
    pub warnings: Vec<String>,
}

#[cfg(test)]
impl FrameResult {
    /// A result of these estimates and nothing else worth a value: what the output tests feed
    /// their sinks.
    pub(crate) fn of(estimates: Vec<Estimate>) -> FrameResult {
        FrameResult {
            estimates,
            walks: 1,
            interior_samples: 1,
            hits: 1,
            steps: 1,
            converged: true,
            launch: LaunchInfo { center: [0.0; 3], radius: 1.0, enclosing_radius: 1.0, skin_thickness: 1e-6 },
            seconds: 0.0,
            warnings: vec![],
        }
    }
}

impl FrameResult {
    /// What this frame could not estimate because nothing was hit: no walk reached the body,
    /// or no interior sample fell inside it (a sparse body in its launch sphere, or lengths
    /// read in the wrong unit). Such a frame is not converged.
    pub fn empty_tallies(&self) -> Vec<&'static str> {
        let mut out = vec![];
        if self.walks > 0 && self.hits == 0 {
            out.push("no walk hit the body");
        }
        if self.interior_samples > 0 && self.get(Quantity::Volume).is_some_and(|v| v.value[0] == 0.0) {
            out.push("no interior sample fell inside the body");
        }
        out
    }

    /// The estimate of `q`; None for a transport coefficient whose conditions were not
    /// given.
    pub fn get(&self, q: Quantity) -> Option<&Estimate> {
        self.estimates.iter().find(|e| e.quantity == q)
    }
}

/// Computes `blocks` on the pool a round at a time and hands each tally to `add` in block
/// order, so memory stays one round's worth however many walks a frame has.
fn run_blocks<T: Send>(pool: &Pool, blocks: Blocks, block: impl Fn(u64, u64) -> T + Sync + Send, mut add: impl FnMut(u64, &T)) {
    let mut b = blocks.first;
    while b < blocks.last {
        let upto = (b + BLOCKS_PER_ROUND).min(blocks.last);
        for (i, tally) in pool.map(b..upto, |i| block(i, blocks.end)).iter().enumerate() {
            add(b + i as u64, tally);
        }
        b = upto;
    }
}

/// How fast a target's rsd falls with the walks, as N^(-1/order), from a run with `hits` hits:
/// the stopping rule and the planner size rounds by it.
pub fn rsd_order(q: Quantity, estimator: Estimator, hits: usize) -> i32 {
    // The pair estimate of C falls like 1/N while its hits fit one chunk, then like
    // 1/sqrt(N) as chunks add up.
    if q == Quantity::Capacitance && estimator == Estimator::HitPoints && hits < CHUNK {
        1
    } else {
        2
    }
}

/// The next total for a target-driven tally: enough to reach the worst target if the std
/// falls as `order` predicts (10% margin), at least a quarter more and at most 16x, whole
/// blocks.
fn next_total(done: u64, cap: u64, targets: &[(Quantity, f64)], estimates: &[Estimate], order: impl Fn(Quantity) -> i32) -> u64 {
    let mut need = done;
    for &(q, target) in targets {
        let rsd = estimates.iter().find(|e| e.quantity == q).map(|e| e.rsd_percent()).unwrap_or(f64::NAN);
        let want = if rsd.is_finite() {
            if rsd <= target {
                continue;
            }
            (done as f64 * (rsd / target).powi(order(q)) * 1.1).ceil() as u64
        } else {
            done * 4
        };
        need = need.max(want.clamp(done + done / 4, done * 16));
    }
    need.div_ceil(BLOCK).saturating_mul(BLOCK).min(cap)
}

/// Blocks of walks and of interior samples still to run for a frame: block indices
/// `first..last`, the last one cut at item `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocks {
    /// The first block to run: the blocks already run are not repeated.
    pub first: u64,
    /// One past the last block to run.
    pub last: u64,
    /// One past the last walk (or sample) index; the last block stops here rather than at a
    /// whole block.
    pub end: u64,
}

impl Blocks {
    fn new(done: u64, end: u64) -> Blocks {
        // A kind that is finished has nothing to run, even when its count is not a whole
        // number of blocks: its partial last block was added once already, and the rounds
        // the other kind still needs must not add it again.
        if done >= end {
            return Blocks { first: end.div_ceil(BLOCK), last: end.div_ceil(BLOCK), end };
        }
        Blocks { first: done / BLOCK, last: end.div_ceil(BLOCK), end }
    }

    /// Blocks to run.
    pub fn len(&self) -> u64 {
        self.last - self.first
    }

    /// Nothing to run of this kind (the other kind may still have blocks).
    pub fn is_empty(&self) -> bool {
        self.last == self.first
    }
}

/// One frame's sampling as a state machine: it asks for blocks, is given their tallies in
/// block order, and decides from the estimates whether to ask for more. The CPU runs the
/// blocks on a pool and the GPU in batched dispatches; both feed the same machine, so the
/// stopping rule and the estimators are the same code.
pub struct FrameRun {
    sampling: Sampling,
    ctx: Context,
    ext_targets: Vec<(Quantity, f64)>,
    int_targets: Vec<(Quantity, f64)>,
    ext_done: u64,
    int_done: u64,
    ext_end: u64,
    int_end: u64,
    ext: Bins<ExteriorTally>,
    int: Bins<InteriorTally>,
    hits: HitPoints,
    estimates: Vec<Estimate>,
    started: Instant,
}

impl FrameRun {
    /// Starts a frame: fixed counts run in one round; with a target, the first round is at
    /// most 16,384 walks or samples (2,048 walks with the hit-point estimator) and later
    /// rounds are sized from the rsd reached.
    pub fn new(sampling: &Sampling, ctx: &Context) -> Result<FrameRun> {
        sampling.validate()?;
        let ext_targets = sampling.exterior_targets();
        let int_targets = sampling.interior_targets();
        let first = |cap: u64, targets: &[(Quantity, f64)], batch: u64| if targets.is_empty() { cap } else { cap.min(batch) };
        let ext_first = if sampling.estimator == Estimator::HitPoints { FIRST_BATCH_PAIRS } else { FIRST_BATCH };
        Ok(FrameRun {
            ext_end: first(sampling.walks, &ext_targets, ext_first),
            int_end: first(sampling.interior_samples, &int_targets, FIRST_BATCH),
            sampling: sampling.clone(),
            ctx: ctx.clone(),
            ext_targets,
            int_targets,
            ext_done: 0,
            int_done: 0,
            ext: Bins::default(),
            int: Bins::default(),
            hits: HitPoints::default(),
            estimates: vec![],
            started: Instant::now(),
        })
    }

    /// The blocks of walks and of interior samples to run next; None when the frame is done.
    pub fn next(&self) -> Option<(Blocks, Blocks)> {
        (self.ext_end > self.ext_done || self.int_end > self.int_done)
            .then(|| (Blocks::new(self.ext_done, self.ext_end), Blocks::new(self.int_done, self.int_end)))
    }

    /// Adds exterior block `index` (one of those `next` asked for), its tally and its hits.
    pub fn add_exterior(&mut self, index: u64, block: &ExteriorBlock) {
        self.ext.add_block(index, &block.tally);
        if self.sampling.estimator == Estimator::HitPoints {
            self.hits.extend(block.hit_points());
        }
    }

    /// Adds the tally of interior block `index` (one of those `next` asked for).
    pub fn add_interior(&mut self, index: u64, tally: &InteriorTally) {
        self.int.add_block(index, tally);
    }

    /// Adds a whole round's tallies (those of the blocks `next` asked for) and advances.
    pub fn feed(&mut self, ext: &[ExteriorBlock], int: &[InteriorTally]) {
        let (e, i) = self.next().expect("fed only when blocks were asked for");
        for (b, t) in ext.iter().enumerate() {
            self.add_exterior(e.first + b as u64, t);
        }
        for (b, t) in int.iter().enumerate() {
            self.add_interior(i.first + b as u64, t);
        }
        self.advance();
    }

    /// Once every block `next` asked for was added: the estimates, and what to run next.
    pub fn advance(&mut self) {
        self.advance_on(&Pool::Serial)
    }

    /// [`FrameRun::advance`] with the pair sums of the hit points on `pool` (the same bits
    /// on any pool).
    pub fn advance_on(&mut self, pool: &Pool) {
        (self.ext_done, self.int_done) = (self.ext_end, self.int_end);
        let estimator = self.sampling.estimator;
        // The pairs are summed only when a decision or the result reads them: a round that
        // sizes the next one by other targets alone does not pay for them.
        let pairs_now = self.sampling.max_rsd_capacitance.is_some();
        let pairs = if pairs_now { self.hits.sums(pool) } else { Default::default() };
        self.estimates = estimate::estimate(&self.ext, &self.int, &pairs, &self.ctx, estimator);
        let hits = self.hits.len();
        let order = |q| rsd_order(q, estimator, hits);
        self.ext_end = next_total(self.ext_done, self.sampling.walks, &self.ext_targets, &self.estimates, order);
        self.int_end = next_total(self.int_done, self.sampling.interior_samples, &self.int_targets, &self.estimates, order);
        if !pairs_now && self.next().is_none() {
            let pairs = self.hits.sums(pool);
            self.estimates = estimate::estimate(&self.ext, &self.int, &pairs, &self.ctx, estimator);
        }
    }

    /// The frame's result, once `next` says it is done.
    pub fn finish(self, body: &Body) -> FrameResult {
        let met = |targets: &[(Quantity, f64)]| {
            targets.iter().all(|&(q, t)| self.estimates.iter().any(|e| e.quantity == q && e.rsd_percent() <= t))
        };
        // Zero hits give a value of 0 with a std of 0, which is no estimate at all: such a
        // frame never counts as converged, with or without a target.
        let empty = (self.ext_done > 0 && self.ext.total.hits == 0.0) || (self.int_done > 0 && self.int.total.inside == 0.0);
        let converged = met(&self.ext_targets) && met(&self.int_targets) && !empty;
        FrameResult {
            walks: self.ext_done,
            interior_samples: self.int_done,
            hits: self.ext.total.hits as u64,
            steps: self.ext.total.steps as u64,
            converged,
            launch: LaunchInfo {
                center: body.center,
                radius: body.launch_radius,
                enclosing_radius: body.enclosing_radius,
                skin_thickness: body.skin_thickness,
            },
            seconds: self.started.elapsed().as_secs_f64(),
            warnings: body.warnings.clone(),
            estimates: self.estimates,
        }
    }
}

/// Computes every observable of one body on the CPU.
pub fn compute_frame(body: &Body, frame_key: u64, sampling: &Sampling, ctx: &Context, pool: &Pool) -> Result<FrameResult> {
    let seeds = Seeds { seed: sampling.seed, frame_key };
    let mut run = FrameRun::new(sampling, ctx)?;
    while let Some((e, i)) = run.next() {
        run_blocks(pool, e, |b, end| walk::exterior_block(body, seeds, b, end), |b, t| run.add_exterior(b, t));
        run_blocks(pool, i, |b, end| walk::interior_block(body, seeds, b, end), |b, t| run.add_interior(b, t));
        run.advance_on(pool);
    }
    Ok(run.finish(body))
}
