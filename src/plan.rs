//! The adaptive planner: profile a few frames, predict every strategy's time and memory,
//! pick the fastest that fits. Users of ZENO's wrapper pick processes x threads by rules of
//! thumb; here the choice is measured, explained, and can be checked (`plan --measure`).
//!
//! The model: a frame costs `body + walks x per_walk / speedup(M) + interior x
//! per_sample / speedup(M)` on M threads, with speedup(M) from Amdahl's law fitted to the
//! measured speedup on all cores. K workers share N frames in chunks of c: ceil(N/c) tasks,
//! ceil(tasks/K) rounds of c frames, plus a per-task overhead; the sequence engine reads
//! ahead so only its first read is exposed. Memory: what the process holds now, plus per
//! worker its chunk of coordinates (raw and converted) and one body.

use crate::compute::{compute_frame, Sampling};
use crate::error::{Error, Result, Setting};
use crate::estimate::{Context, Quantity};
use crate::exec::Kind;
use crate::gpu::GpuInfo;
use crate::job::{Job, READ_AHEAD};
use crate::pool::Pool;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Walks and interior samples of the probe on each sampled frame.
const PROBE_WALKS: u64 = 2048;
/// Walks of the thread-scaling probe: long enough that waking the threads is noise.
const SCALING_WALKS: u64 = 8192;
const PROBE_INTERIOR: u64 = 16384;
/// Frames the probe samples.
const PROBE_FRAMES: usize = 3;
/// A task should last at least this long, so its overhead is negligible...
const TASK_SECONDS: f64 = 0.05;
/// ... and each worker should get this many tasks, so stragglers balance out.
const TASKS_PER_WORKER: usize = 4;
/// Cost of one task besides its frames: a hyperslab read call, a channel send.
const TASK_OVERHEAD_SECONDS: f64 = 2e-4;

/// What the probe measured; rank 0 sends it to the other ranks of a distributed run, which
/// plan their own cores from it rather than probing again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Frames probed: up to 3, the job's first, middle and last.
    pub frames_sampled: usize,
    /// One thread's seconds per walk, over the sampled frames.
    pub seconds_per_walk: f64,
    /// One thread's seconds per interior sample, over the sampled frames.
    pub seconds_per_interior_sample: f64,
    /// Building a body (selection, unwrap, launch sphere, BVH), per frame.
    pub body_seconds: f64,
    /// Seconds to read one frame on its own (a one-frame chunk, so at least what a frame
    /// costs in a larger chunk).
    pub read_seconds_per_frame: f64,
    /// Coordinates read per frame, as f64.
    pub bytes_per_frame: usize,
    /// Estimated memory of one body (spheres and BVH), from the last sampled frame.
    pub body_bytes: usize,
    /// Cores the thread-scaling probe ran on, which `speedup` extrapolates from.
    pub cores: usize,
    /// Measured speedup of one frame's walks on all cores over one thread.
    pub thread_speedup: f64,
    /// Walks and interior samples a frame is expected to need (the target rsd predicted
    /// from the probe's own rsd, or the fixed counts).
    pub walks_per_frame: u64,
    /// Interior samples a frame is expected to need, likewise.
    pub interior_per_frame: u64,
    /// Memory the process held when the plan was made.
    pub baseline_bytes: u64,
    /// Wall time of the whole probe, reading and the scaling run included.
    pub probe_seconds: f64,
}

/// One shape the planner predicted, kept so the choice can be shown and checked against
/// a measured run (`plan --measure`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Candidate {
    /// The kind the shape is (see [`Kind::of`]), or `Gpu`.
    pub strategy: Kind,
    /// K: frames in flight at once.
    pub workers: usize,
    /// M: threads that share each frame's walks.
    pub threads: usize,
    /// Frames per task: the coordinate-bytes limit for one worker; for several, enough that
    /// a task outlasts its overhead while each worker still gets several tasks.
    pub chunk_frames: usize,
    /// Wall time predicted for the job's frames, the probe excluded.
    pub predicted_seconds: f64,
    /// Peak resident memory predicted, the process's baseline included; what
    /// `--max-memory` is compared with.
    pub predicted_memory_bytes: u64,
}

/// What the GPU probe measured: the device's cost of a walk and of an interior sample on
/// this body, and the fixed cost of one batch (upload, launch, readback).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GpuCost {
    /// Device seconds per walk once the device is full (the slope of dispatch timings).
    pub seconds_per_walk: f64,
    /// Device seconds per interior sample, measured the same way.
    pub seconds_per_interior_sample: f64,
    /// Fixed seconds of one dispatch whatever its size (the intercept of the walk timings).
    pub seconds_per_batch: f64,
    /// Walks and samples the GPU strategy puts in one batch.
    pub items_per_batch: u64,
}

/// The GPU as the planner sees it: the adapter (if any), its measured cost (if it was
/// probed), and why it is not a candidate otherwise.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GpuOption {
    /// The adapter; None when none could be found.
    pub info: Option<GpuInfo>,
    /// None when the adapter was not probed (a software adapter the user did not ask for)
    /// or the probe failed: then the GPU is no candidate.
    pub cost: Option<GpuCost>,
    /// Why `cost` is None, quoted in the plan's reason; None when the GPU was measured.
    pub note: Option<String>,
}

/// The planner's choice with its evidence, so a user can see why it was made.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    /// The chosen candidate's kind.
    pub strategy: Kind,
    /// The chosen candidate's K.
    pub workers: usize,
    /// The chosen candidate's M.
    pub threads: usize,
    /// The chosen candidate's frames per task.
    pub chunk_frames: usize,
    /// One sentence for the user: a frame's cost, the prediction, how much faster than the
    /// best other strategy, and what was left out (memory cap, GPU).
    pub reason: String,
    /// What the probe measured.
    pub profile: Profile,
    /// Every shape predicted, including those over `--max-memory`.
    pub candidates: Vec<Candidate>,
    /// The adapter the machine offers (null without one), whether or not it was chosen.
    pub gpu: Option<GpuInfo>,
    /// What the GPU probe measured; None when it did not run or failed.
    pub gpu_cost: Option<GpuCost>,
}

/// What the user fixed: a strategy, a worker or thread count, a memory cap.
#[derive(Clone, Debug, Default)]
pub struct Constraints {
    /// Only shapes of this kind (`threads` with `--threads 1` accepts the serial shape).
    pub strategy: Option<Kind>,
    /// A fixed K; None lets the planner choose.
    pub workers: Option<usize>,
    /// A fixed M; None lets the planner choose.
    pub threads: Option<usize>,
    /// Bytes of resident memory a candidate may be predicted to use, baseline included.
    pub max_memory: Option<u64>,
    /// Cores to plan for: shapes K x M up to this many (a forced shape may exceed it).
    pub cores: usize,
    /// The GPU this machine offers, as probed.
    pub gpu: GpuOption,
}

/// A byte count as a person reads it: 18.2 MB, 3.0 GB (decimal units, as `--max-memory`
/// takes them).
pub fn human_bytes(b: u64) -> String {
    let b = b as f64;
    match b {
        _ if b >= 1e9 => format!("{:.1} GB", b / 1e9),
        _ if b >= 1e6 => format!("{:.1} MB", b / 1e6),
        _ if b >= 1e3 => format!("{:.1} kB", b / 1e3),
        _ => format!("{b} B"),
    }
}

/// Threads a forced shape may ask for per core. Beyond the cores is the user's call (a test
/// of a shape, a share of a node), but thousands of threads on two cores take minutes to
/// start and only slow every one of them.
pub const MAX_THREADS_PER_CORE: usize = 8;

/// The CPU shapes (workers, threads) within the cores that the constraints allow.
fn shapes(c: &Constraints) -> Vec<(usize, usize)> {
    let cores = c.cores.max(1);
    let mut out = vec![];
    for workers in 1..=cores {
        for threads in 1..=cores / workers {
            let kind = Kind::of(workers, threads);
            let allowed = c.strategy.is_none_or(|k| k == kind || (k == Kind::Threads && kind == Kind::Serial && c.threads == Some(1)))
                && c.workers.is_none_or(|w| w == workers)
                && c.threads.is_none_or(|t| t == threads);
            if allowed {
                out.push((workers, threads));
            }
        }
    }
    out
}

/// Checks that the constraints can be met at all, before any frame is read or any output
/// written: counts of at least one, no absurd oversubscription, and a shape the strategy can
/// run (what profiling would find out only later, after a resumed run had written frames).
pub fn check(c: &Constraints) -> Result<()> {
    for (setting, v) in [(Setting::Workers, c.workers), (Setting::Threads, c.threads)] {
        if v == Some(0) {
            return Err(setting.invalid("must be at least 1"));
        }
    }
    let cores = c.cores.max(1);
    let (w, t) = (c.workers.unwrap_or(1), c.threads.unwrap_or(1));
    let limit = MAX_THREADS_PER_CORE * cores;
    if w.saturating_mul(t) > limit {
        return Err(Error::Option(format!(
            "{w} worker(s) x {t} thread(s) is {} threads on this machine's {cores} core(s); at most {limit} ({MAX_THREADS_PER_CORE} per core) are allowed, as more only slow each other down",
            w.saturating_mul(t)
        )));
    }
    match c.strategy {
        Some(Kind::Gpu) if w != 1 || t != 1 => Err(Error::Option(unfit(Kind::Gpu, c, cores))),
        Some(k) if k != Kind::Gpu && shapes(c).is_empty() && Kind::of(w, t) != k => Err(Error::Option(unfit(k, c, cores))),
        _ => Ok(()),
    }
}

/// Why strategy `k` has no candidate: what shape it needs, what this machine offers, and how
/// to force a shape anyway; a user who asked for no shape must not read about one (a shape
/// given that does not fit the strategy is named as given).
fn unfit(k: Kind, c: &Constraints, cores: usize) -> String {
    let (need, force) = match k {
        Kind::Hybrid => ("at least 2 workers x 2 threads (4 cores)", "--workers 2 --threads 2"),
        Kind::Frames => ("at least 2 workers of 1 thread (2 cores)", "--workers 2"),
        Kind::Threads => ("1 worker of at least 2 threads (2 cores)", "--threads 2"),
        Kind::Serial | Kind::Gpu => ("1 worker x 1 thread", "--workers 1 --threads 1"),
    };
    match (c.workers, c.threads) {
        (None, None) => {
            format!("strategy {} needs {need}, but this machine offers {cores} core(s); force a shape to run it anyway: {force}", k.name())
        }
        (w, t) => format!(
            "strategy {} cannot run {} worker(s) x {} thread(s) (serial is 1 x 1, threads has 1 worker, frames 1 thread per worker)",
            k.name(),
            w.unwrap_or(1),
            t.unwrap_or(1)
        ),
    }
}

/// A memory figure of this process from Linux's /proc/self/status ("VmRSS" resident now,
/// "VmHWM" the peak); None elsewhere.
pub fn process_memory_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
}

/// Walks (or samples) a frame needs for a target rsd, from what `done` of them gave.
fn needed(done: u64, rsd_now: f64, target: Option<f64>, cap: u64, order: i32) -> u64 {
    match target {
        Some(t) if rsd_now.is_finite() && rsd_now > 0.0 => ((done as f64 * (rsd_now / t).powi(order)).ceil() as u64).clamp(1, cap),
        Some(_) => cap,
        None => cap,
    }
}

/// Times reading, body building and a small probe of walks on a few of the job's frames.
pub fn profile(job: &Job, cores: usize) -> Result<Profile> {
    let started = Instant::now();
    let n = job.frames.len();
    let picks: Vec<usize> = {
        let mut p: Vec<usize> = (0..PROBE_FRAMES.min(n)).map(|k| job.frames[k * (n - 1) / (PROBE_FRAMES - 1).max(1)]).collect();
        p.dedup();
        p
    };
    let mut reader = job.trajectory.reader(job.read.clone())?;
    let serial = Pool::new(1)?;
    let all = Pool::new(cores.max(1))?;
    let (mut read_s, mut body_s, mut walk_s, mut int_s, mut walks, mut interior) = (0.0, 0.0, 0.0, 0.0, 0u64, 0u64);
    let (mut speedup, mut body_bytes) = (1.0, 0);
    let (mut need_walks, mut need_interior) = (0u64, 0u64);
    let probe = |walks, interior_samples| Sampling {
        walks,
        interior_samples,
        seed: job.sampling.seed,
        estimator: job.sampling.estimator,
        ..Default::default()
    };
    for (k, &f) in picks.iter().enumerate() {
        let t = Instant::now();
        let chunk = job.trajectory.chunks(&[f], 1)[0];
        let frame = reader.read_chunk(&chunk)?.remove(0);
        read_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let body = job.body(&frame)?;
        body_s += t.elapsed().as_secs_f64();
        body_bytes = body.spheres.len() * (std::mem::size_of::<crate::body::Sphere>() + 48);
        let ctx =
            Context { launch_radius: body.launch_radius, length_meters: job.trajectory.length_unit.meters, conditions: Default::default() };
        let w = compute_frame(&body, frame.info.key, &probe(PROBE_WALKS, 32), &ctx, &serial)?;
        let i = compute_frame(&body, frame.info.key, &probe(32, PROBE_INTERIOR), &ctx, &serial)?;
        walk_s += w.seconds;
        int_s += i.seconds;
        walks += PROBE_WALKS;
        interior += PROBE_INTERIOR;
        let rsd = |r: &crate::compute::FrameResult, q| r.get(q).map_or(f64::NAN, |e| e.rsd_percent());
        let s = &job.sampling;
        // Walks run to the largest of the exterior targets given; only a kind with no
        // target at all runs its whole count (a capacitance target alone must not budget
        // the polarizability's absent one at the cap).
        let exterior = [(s.max_rsd_capacitance, Quantity::Capacitance), (s.max_rsd_polarizability, Quantity::MeanPolarizability)]
            .into_iter()
            .filter(|(t, _)| t.is_some())
            .map(|(t, q)| needed(PROBE_WALKS, rsd(&w, q), t, s.walks, crate::compute::rsd_order(q, s.estimator, w.hits as usize)))
            .max();
        need_walks = need_walks.max(exterior.unwrap_or(s.walks));
        need_interior = need_interior.max(needed(PROBE_INTERIOR, rsd(&i, Quantity::Volume), s.max_rsd_volume, s.interior_samples, 2));
        if k == 0 && all.threads() > 1 {
            // The fastest of two runs each: a shared machine's noise only ever slows a run, so
            // the minimum is the steadier estimate of what the cores can do (one run each
            // gave speedups of 1.11 to 1.53 between identical calls on two busy cores).
            let best = |pool: &Pool| -> Result<f64> {
                let mut t = f64::INFINITY;
                for _ in 0..2 {
                    t = t.min(compute_frame(&body, frame.info.key, &probe(SCALING_WALKS, 32), &ctx, pool)?.seconds);
                }
                Ok(t)
            };
            speedup = (best(&serial)? / best(&all)?).max(1.0);
        }
    }
    let m = picks.len() as f64;
    Ok(Profile {
        frames_sampled: picks.len(),
        seconds_per_walk: walk_s / walks as f64,
        seconds_per_interior_sample: int_s / interior as f64,
        body_seconds: body_s / m,
        read_seconds_per_frame: read_s / m,
        bytes_per_frame: job.read.len() * 24,
        body_bytes,
        cores,
        thread_speedup: speedup,
        walks_per_frame: need_walks,
        interior_per_frame: need_interior,
        baseline_bytes: process_memory_bytes("VmRSS").unwrap_or(0),
        probe_seconds: started.elapsed().as_secs_f64(),
    })
}

impl Profile {
    /// Speedup of one frame's walks on `threads` threads: Amdahl's law through the
    /// measured speedup on all cores.
    pub fn speedup(&self, threads: usize) -> f64 {
        if self.cores <= 1 || threads <= 1 {
            return 1.0;
        }
        let p = self.cores as f64;
        let serial = ((p / self.thread_speedup.clamp(1.0, p) - 1.0) / (p - 1.0)).clamp(0.0, 1.0);
        1.0 / (serial + (1.0 - serial) / threads as f64)
    }

    /// Seconds one frame takes on a worker of `threads` threads, reading excluded.
    pub fn frame_seconds(&self, threads: usize) -> f64 {
        let walks = self.walks_per_frame as f64 * self.seconds_per_walk + self.interior_per_frame as f64 * self.seconds_per_interior_sample;
        self.body_seconds + walks / self.speedup(threads)
    }

    /// Predicted time and memory of `frames` frames on the GPU: the CPU reads and builds
    /// bodies while the device walks, so a frame costs the slower of the two, plus each
    /// batch's fixed cost and the first frame's body before the device has work.
    pub fn gpu_candidate(&self, frames: usize, max_chunk: usize, cost: &GpuCost) -> Candidate {
        let items = self.walks_per_frame + self.interior_per_frame;
        let device =
            self.walks_per_frame as f64 * cost.seconds_per_walk + self.interior_per_frame as f64 * cost.seconds_per_interior_sample;
        let host = self.body_seconds + self.read_seconds_per_frame;
        let batches = (frames as u64 * items).div_ceil(cost.items_per_batch.max(1)).max(1);
        let seconds = host + frames as f64 * device.max(host) + batches as f64 * cost.seconds_per_batch;
        let frames_per_batch = (cost.items_per_batch / items.max(1)).clamp(1, frames.max(1) as u64) as usize;
        let chunk = max_chunk.max(1);
        let memory = (READ_AHEAD + 2) * chunk * self.bytes_per_frame + 2 * frames_per_batch * self.body_bytes;
        Candidate {
            strategy: Kind::Gpu,
            workers: 1,
            threads: 1,
            chunk_frames: chunk,
            predicted_seconds: seconds,
            predicted_memory_bytes: self.baseline_bytes + memory as u64,
        }
    }

    /// Predicted time and memory of `frames` frames on K workers x M threads, in chunks of
    /// at most `max_chunk` frames (the coordinate-bytes limit).
    pub fn candidate(&self, frames: usize, workers: usize, threads: usize, max_chunk: usize) -> Candidate {
        let t = self.frame_seconds(threads);
        let (chunk, seconds, memory) = if workers == 1 {
            // A chunk of more frames than the run has reads no more than the run.
            let chunk = max_chunk.max(1).min(frames.max(1));
            let memory = (READ_AHEAD + 2) * chunk * self.bytes_per_frame + self.body_bytes;
            (chunk, self.read_seconds_per_frame + frames as f64 * t, memory)
        } else {
            let long_enough = (TASK_SECONDS / (t + self.read_seconds_per_frame)).ceil() as usize;
            let enough_tasks = frames / (TASKS_PER_WORKER * workers);
            let chunk = long_enough.min(enough_tasks).clamp(1, max_chunk.max(1));
            let tasks = frames.div_ceil(chunk);
            let rounds = tasks.div_ceil(workers) as f64;
            let per_task = frames as f64 / tasks as f64 * (t + self.read_seconds_per_frame) + TASK_OVERHEAD_SECONDS;
            let memory = workers.min(tasks) * (2 * chunk * self.bytes_per_frame + self.body_bytes);
            (chunk, rounds * per_task, memory)
        };
        Candidate {
            strategy: Kind::of(workers, threads),
            workers,
            threads,
            chunk_frames: chunk,
            predicted_seconds: seconds,
            predicted_memory_bytes: self.baseline_bytes + memory as u64,
        }
    }
}

impl Plan {
    /// The chosen candidate's predicted seconds.
    pub fn predicted_seconds(&self) -> f64 {
        self.candidates
            .iter()
            .find(|k| k.strategy == self.strategy && k.workers == self.workers && k.threads == self.threads)
            .map_or(f64::NAN, |k| k.predicted_seconds)
    }
}

/// Every shape K x M <= cores the constraints allow, predicted, and the fastest that fits.
pub fn choose(profile: Profile, frames: usize, max_chunk: usize, c: &Constraints) -> Result<Plan> {
    check(c)?;
    let mut candidates: Vec<Candidate> = shapes(c).into_iter().map(|(w, t)| profile.candidate(frames, w, t, max_chunk)).collect();
    let gpu_allowed = c.strategy.is_none_or(|k| k == Kind::Gpu) && c.workers.is_none_or(|w| w == 1) && c.threads.is_none_or(|t| t == 1);
    if c.strategy == Some(Kind::Gpu) {
        candidates.clear();
        if c.gpu.cost.is_none() {
            return Err(Error::Gpu(c.gpu.note.clone().unwrap_or_else(|| "no GPU was probed".into())));
        }
    }
    if let (Some(cost), true) = (&c.gpu.cost, gpu_allowed) {
        candidates.push(profile.gpu_candidate(frames, max_chunk, cost));
    }
    // A forced shape beyond the core count is the user's call: run it as asked (`check`
    // has made sure it fits the strategy and is not absurd).
    if candidates.is_empty() {
        candidates.push(profile.candidate(frames, c.workers.unwrap_or(1), c.threads.unwrap_or(1), max_chunk));
    }
    let fitting: Vec<&Candidate> = candidates.iter().filter(|x| c.max_memory.is_none_or(|m| x.predicted_memory_bytes <= m)).collect();
    let Some(best) = fitting
        .iter()
        .min_by(|a, b| a.predicted_seconds.total_cmp(&b.predicted_seconds).then((a.workers * a.threads).cmp(&(b.workers * b.threads))))
    else {
        let least = candidates.iter().map(|x| x.predicted_memory_bytes).min().unwrap_or(0);
        let cap = c.max_memory.unwrap_or(0);
        return Err(Error::Option(format!(
            "no strategy fits --max-memory {cap} bytes ({}): the smallest needs about {}",
            human_bytes(cap),
            human_bytes(least)
        )));
    };
    let best = (*best).clone();
    let runner_up =
        fitting.iter().filter(|x| x.strategy != best.strategy).min_by(|a, b| a.predicted_seconds.total_cmp(&b.predicted_seconds));
    let shape = |k: &Candidate| match k.strategy {
        Kind::Gpu => "the GPU".to_string(),
        _ => format!("{} x {}", k.workers, k.threads),
    };
    let mut reason = format!(
        "{} frame{} of about {:.3} s each on one thread ({} walks, {} interior samples, {:.3} s to build the body); {} predicted {:.2} s",
        frames,
        if frames == 1 { "" } else { "s" },
        profile.frame_seconds(1),
        profile.walks_per_frame,
        profile.interior_per_frame,
        profile.body_seconds,
        shape(&best),
        best.predicted_seconds
    );
    if let Some(r) = runner_up {
        let what = match r.strategy {
            Kind::Gpu => shape(r),
            k => format!("{} ({})", k.name(), shape(r)),
        };
        let ratio = r.predicted_seconds / best.predicted_seconds;
        reason += &match ratio < 1.005 {
            true => format!(", as fast as {what}, {:.2} s (the fewer cores win the tie)", r.predicted_seconds),
            false => format!(", {ratio:.2}x faster than {what}, {:.2} s", r.predicted_seconds),
        };
    }
    if let Some(m) = c.max_memory {
        let excluded = candidates.len() - fitting.len();
        reason += &format!("; {excluded} candidate(s) excluded by --max-memory {}", human_bytes(m));
    }
    if let (None, Some(note)) = (&c.gpu.cost, &c.gpu.note) {
        reason += &format!("; GPU not considered: {note}");
    }
    Ok(Plan {
        strategy: best.strategy,
        workers: best.workers,
        threads: best.threads,
        chunk_frames: best.chunk_frames,
        reason,
        profile,
        candidates,
        gpu: c.gpu.info.clone(),
        gpu_cost: c.gpu.cost.clone(),
    })
}

/// How a job is shared between the ranks of a distributed run, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Distribution {
    /// Whole frames per task (false: ranges of each frame's walk blocks).
    pub frames_mode: bool,
    /// Frames per task in frames mode.
    pub chunk_frames: usize,
    /// Blocks per task in within-frame mode.
    pub blocks_per_task: u64,
    /// Predicted wall time in frames mode.
    pub frames_seconds: f64,
    /// Predicted wall time in within-frame mode; NaN (null in the JSON) for a job on GPUs,
    /// which runs whole frames only.
    pub within_frame_seconds: f64,
    /// One sentence: the mode chosen, and why.
    pub reason: String,
}

/// Rank 0's cost of one task handed out and its result taken back (encoding, reordering):
/// tens of microseconds measured (README), taken larger for a network. The round trip's
/// latency (milliseconds at the transport's polling) is not counted: each rank holds a
/// second task while the first's result travels.
const RANK_TASK_SECONDS: f64 = 1e-3;
/// Tasks each rank should get in frames mode, so a slow rank takes fewer.
const TASKS_PER_RANK: usize = 4;

/// Chooses between handing out whole frames and sharing each frame's walks, for `frames`
/// frames over ranks of `cores` cores each: the predicted time of each from the probe.
/// Frames mode runs each rank's share with the best local shape, so its time is the
/// slowest share; within-frame mode is one frame at a time on every core, plus a round
/// trip per task and a barrier per round. A job on GPUs (`gpu`, every rank's device as
/// rank 0 measured it) runs whole frames: within-frame mode shares the CPU's walk blocks.
pub fn distribute(profile: &Profile, frames: usize, max_chunk: usize, cores: &[usize], gpu: Option<&GpuCost>) -> Distribution {
    let ranks = cores.len().max(1);
    if let Some(cost) = gpu {
        // Batches of many frames keep a device busy; several tasks a rank still balance.
        let chunk = frames.div_ceil(ranks * TASKS_PER_RANK).clamp(1, max_chunk.max(1));
        let tasks = frames.div_ceil(chunk);
        let frames_seconds = profile.gpu_candidate(frames.div_ceil(ranks), max_chunk, cost).predicted_seconds
            + tasks.div_ceil(ranks) as f64 * RANK_TASK_SECONDS;
        let reason = format!(
            "frames mode over {ranks} ranks, each on its own GPU: {tasks} tasks of up to {chunk} frames, predicted {frames_seconds:.2} s (within-frame mode shares the CPU's walk blocks, so it is not one for GPUs)"
        );
        return Distribution {
            frames_mode: true,
            chunk_frames: chunk,
            blocks_per_task: 0,
            frames_seconds,
            within_frame_seconds: f64::NAN,
            reason,
        };
    }
    let most = cores.iter().copied().max().unwrap_or(1).max(1);
    let total: usize = cores.iter().map(|&c| c.max(1)).sum::<usize>().max(1);
    let share = frames.div_ceil(ranks).max(1);
    // Several tasks per rank balance ranks of unequal speed; but with fewer frames than
    // that takes to fill every core, each rank gets its share at once, so its local plan can
    // share frames' walks between its threads (hybrid) instead of leaving cores idle.
    let chunk = match share < TASKS_PER_RANK * most {
        true => share,
        false => frames.div_ceil(ranks * TASKS_PER_RANK).max(most),
    }
    .clamp(1, max_chunk.max(1));
    let local = |c: usize, n: usize| {
        (1..=c)
            .flat_map(|w| (1..=c / w).map(move |t| (w, t)))
            .map(|(w, t)| profile.candidate(n, w, t, max_chunk).predicted_seconds)
            .fold(f64::INFINITY, f64::min)
    };
    let tasks = frames.div_ceil(chunk);
    let frames_seconds =
        cores.iter().map(|&c| local(c.max(1), share)).fold(0.0, f64::max) + tasks.div_ceil(ranks) as f64 * RANK_TASK_SECONDS;
    let blocks = profile.walks_per_frame.div_ceil(crate::walk::BLOCK) + profile.interior_per_frame.div_ceil(crate::walk::BLOCK);
    // Tasks of at least a few blocks per thread of the largest rank, four per rank a round.
    let blocks_per_task = (blocks.div_ceil((ranks * TASKS_PER_RANK) as u64)).max(4 * most as u64).min(8_192);
    let per_frame_tasks = blocks.div_ceil(blocks_per_task.max(1)).max(1);
    let walks_seconds =
        profile.walks_per_frame as f64 * profile.seconds_per_walk + profile.interior_per_frame as f64 * profile.seconds_per_interior_sample;
    let within_frame_seconds = frames as f64
        * (profile.read_seconds_per_frame
            + profile.body_seconds
            + walks_seconds / total as f64
            + per_frame_tasks.div_ceil(ranks as u64) as f64 * RANK_TASK_SECONDS);
    let frames_mode = frames_seconds <= within_frame_seconds;
    let reason = match frames_mode {
        true => format!(
            "frames mode over {ranks} ranks ({total} cores): {tasks} tasks of up to {chunk} frames, predicted {frames_seconds:.2} s against {within_frame_seconds:.2} s sharing each frame's walks"
        ),
        false => format!(
            "within-frame mode over {ranks} ranks ({total} cores): {frames} frame(s) too few to share, each frame's blocks handed out {blocks_per_task} at a time, predicted {within_frame_seconds:.2} s against {frames_seconds:.2} s by whole frames"
        ),
    };
    Distribution { frames_mode, chunk_frames: chunk, blocks_per_task, frames_seconds, within_frame_seconds, reason }
}
