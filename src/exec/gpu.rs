//! Frames on the GPU: frames are read ahead and their bodies built on the CPU, gathered
//! into batches (many cheap frames share one submission), and each batch's walks run on the
//! device while the CPU reads, builds and uploads the next batch and queues it behind. A
//! frame whose stopping rule asks for more walks goes into the batch's next round. Results
//! leave in frame order.
//!
//! The numbers are reproducible on the same device and driver (fixed-order reductions, the
//! same Philox streams), but not bit-identical to the CPU's: the device computes in f32.
//! They agree statistically, which `--verify` checks with a z-test instead of bits.

use super::{Sink, TaskLog, WorkerLog};
use crate::body::Body;
use crate::compute::{Blocks, FrameResult, FrameRun};
use crate::error::Result;
use crate::estimate::Context;
use crate::gpu::walks::{Pending, Walker, Work};
use crate::gpu::{self, Gpu};
use crate::job::Job;
use crate::plan::{GpuCost, GpuOption};
use crate::stream::FrameStream;
use crate::trajectory::FrameInfo;
use crate::walk::Seeds;
use std::time::Instant;

/// Walks and samples gathered into one batch: enough that a submission's fixed cost is
/// small against it, few enough that a batch stays a fraction of a second. The probe sizes
/// batches to BATCH_SECONDS of the device's measured time, within these bounds.
const BATCH_ITEMS: u64 = 1 << 22;
const MIN_BATCH_ITEMS: u64 = 1 << 12;
const BATCH_SECONDS: f64 = 0.25;
/// Spheres one batch may upload.
const BATCH_SPHERES: usize = 1 << 22;

struct Entry {
    info: FrameInfo,
    body: Body,
    run: FrameRun,
}

/// A batch of frames with their bodies, and the error that ended the input early, if any.
struct Batch {
    entries: Vec<Entry>,
    failure: Option<crate::Error>,
}

fn context(job: &Job, body: &Body) -> Context {
    Context { launch_radius: body.launch_radius, length_meters: job.trajectory.length_unit.meters, conditions: job.conditions.clone() }
}

/// Walks and samples per batch on a device that takes `seconds_per_walk`.
fn batch_items(seconds_per_walk: f64) -> u64 {
    ((BATCH_SECONDS / seconds_per_walk) as u64).clamp(MIN_BATCH_ITEMS, BATCH_ITEMS)
}

/// Reads frames until the batch holds `budget` walks and samples, building their bodies.
fn prepare(job: &Job, walker: &Walker, gpu: &Gpu, stream: &mut FrameStream, budget: u64) -> Option<Batch> {
    let mut entries: Vec<Entry> = vec![];
    let (mut items, mut spheres) = (0u64, 0usize);
    let per_frame = job.sampling.walks + job.sampling.interior_samples;
    while items < budget && spheres < BATCH_SPHERES {
        let Some(frame) = stream.next() else { break };
        let built = frame.and_then(|f| {
            let body = job.body(&f)?;
            walker.check(gpu, &body)?;
            let run = FrameRun::new(&job.sampling, &context(job, &body))?;
            Ok(Entry { info: f.info, body, run })
        });
        match built {
            Ok(e) => {
                items += per_frame;
                spheres += e.body.spheres.len();
                entries.push(e);
            }
            Err(e) => return Some(Batch { entries, failure: Some(e) }),
        }
    }
    (!entries.is_empty()).then_some(Batch { entries, failure: None })
}

/// A round in flight: the frames of the batch it walks for, and its readback.
type Round = (Vec<usize>, Pending);

/// Submits the next round of the batch's frames that still want walks, if any.
fn submit_round(gpu: &Gpu, walker: &Walker, job: &Job, batch: &Batch) -> Result<Option<Round>> {
    let mut active = vec![];
    let mut work = vec![];
    for (k, e) in batch.entries.iter().enumerate() {
        if let Some((ext, int)) = e.run.next() {
            active.push(k);
            work.push(Work { body: &e.body, seeds: Seeds { seed: job.sampling.seed, frame_key: e.info.key }, ext, int });
        }
    }
    if work.is_empty() {
        return Ok(None);
    }
    Ok(Some((active, walker.submit(gpu, &work)?)))
}

/// Waits for `round` and runs further rounds until every frame of the batch has met its
/// stopping rule.
fn finish_rounds(gpu: &Gpu, walker: &Walker, job: &Job, batch: &mut Batch, mut round: Option<Round>) -> Result<()> {
    while let Some((active, pending)) = round {
        for (&k, (ext, int)) in active.iter().zip(pending.wait(gpu)?) {
            batch.entries[k].run.feed(&ext, &int);
        }
        round = submit_round(gpu, walker, job, batch)?;
    }
    Ok(())
}

/// Runs the job's frames on the device `adapter`, `items_per_batch` walks and samples per
/// submission (None: the most the device may take at once).
pub fn run(job: &Job, adapter: Option<&str>, items_per_batch: Option<u64>, chunk_frames: usize, sink: &mut Sink) -> Result<Vec<WorkerLog>> {
    let budget = items_per_batch.unwrap_or(BATCH_ITEMS);
    let gpu = gpu::shared(adapter)?;
    let walker = Walker::new(&gpu)?;
    let mut stream = job.stream_chunks(job.tasks(chunk_frames));
    // Reads, builds, uploads and submits a batch's first round.
    let mut launch = || -> Result<Option<(Batch, Option<Round>)>> {
        let Some(batch) = prepare(job, &walker, &gpu, &mut stream, budget) else { return Ok(None) };
        let round = submit_round(&gpu, &walker, job, &batch)?;
        Ok(Some((batch, round)))
    };
    let mut log = WorkerLog { worker: 0, tasks: vec![] };
    let mut next = launch()?;
    while let Some((mut batch, first)) = next.take() {
        let started = Instant::now();
        // The next batch is read, built, uploaded and queued behind this one while the
        // device walks, so the device does not wait for the CPU between batches. Its
        // error, if any, waits until this batch's results are out.
        let following = if batch.failure.is_none() { launch() } else { Ok(None) };
        finish_rounds(&gpu, &walker, job, &mut batch, first)?;
        log.tasks.push(TaskLog {
            first_frame: batch.entries.first().map_or(0, |e| e.info.index),
            frames: batch.entries.len(),
            seconds: started.elapsed().as_secs_f64(),
        });
        for e in batch.entries {
            let result: FrameResult = e.run.finish(&e.body);
            sink(&e.info, result)?;
        }
        if let Some(err) = batch.failure {
            return Err(err);
        }
        next = following?;
    }
    Ok(vec![log])
}

/// The probe's first dispatch, in walks; later ones are PROBE_GROWTH times larger.
const PROBE_FIRST: u64 = 2048;
const PROBE_GROWTH: u64 = 4;
/// A dispatch this long is large enough to time the device's throughput, full or not.
const PROBE_SECONDS: f64 = 0.1;

/// The device's cost as a line through two dispatch timings: (seconds per walk, fixed
/// seconds per dispatch). A large GPU is not full until a dispatch
/// holds hundreds of thousands of walks; below that every dispatch takes about the same time,
/// and a slope taken there would say walks are free. So the dispatch grows until its time
/// grows nearly in proportion (the walks outweigh twice the fixed cost), it takes
/// PROBE_SECONDS, or it reaches a batch's size.
fn fit(mut time: impl FnMut(u64) -> Result<f64>) -> Result<(f64, f64)> {
    let (mut n, mut t) = (PROBE_FIRST, time(PROBE_FIRST)?);
    loop {
        let m = (n * PROBE_GROWTH).min(BATCH_ITEMS);
        let u = time(m)?;
        if u >= (PROBE_GROWTH - 1) as f64 * t || u >= PROBE_SECONDS || m >= BATCH_ITEMS {
            let per_walk = ((u - t) / (m - n) as f64).max(1e-12);
            return Ok((per_walk, (t - n as f64 * per_walk).max(0.0)));
        }
        (n, t) = (m, u);
    }
}

/// What the planner may know of the GPU. A software (CPU) adapter is reported but not
/// probed unless the GPU strategy is asked for: it cannot beat the CPU strategies on the
/// same cores, and probing it costs seconds.
pub fn option(job: &Job, adapter: Option<&str>, asked: bool) -> GpuOption {
    let why = |e: crate::Error| match e {
        crate::Error::Gpu(m) => m,
        other => other.to_string(),
    };
    let info = match gpu::probe(adapter) {
        Ok(info) => info,
        Err(e) => return GpuOption { info: None, cost: None, note: Some(why(e)) },
    };
    if info.device_type == "cpu" && !asked {
        let note = format!("the adapter, {}, is a software device on the CPU's own cores (--strategy gpu runs it anyway)", info.adapter);
        return GpuOption { info: Some(info), cost: None, note: Some(note) };
    }
    match measure(job, adapter) {
        Ok(cost) => GpuOption { info: Some(info), cost: Some(cost), note: None },
        Err(e) => GpuOption { info: Some(info), cost: None, note: Some(why(e)) },
    }
}

fn measure(job: &Job, adapter: Option<&str>) -> Result<GpuCost> {
    let gpu = gpu::shared(adapter)?;
    let walker = Walker::new(&gpu)?;
    let first = *job.frames.first().ok_or_else(|| crate::Error::Option("no frames to probe".into()))?;
    let mut reader = job.trajectory.reader(job.read.clone())?;
    let frame = reader.read_chunk(&job.trajectory.chunks(&[first], 1)[0])?.remove(0);
    let body = job.body(&frame)?;
    walker.check(&gpu, &body)?;
    let seeds = Seeds { seed: job.sampling.seed, frame_key: frame.info.key };
    let time = |walks: u64, interior: u64| -> Result<f64> {
        let blocks = |n: u64| Blocks { first: 0, last: n.div_ceil(crate::walk::BLOCK), end: n };
        let started = Instant::now();
        walker.submit(&gpu, &[Work { body: &body, seeds, ext: blocks(walks), int: blocks(interior) }])?.wait(&gpu)?;
        Ok(started.elapsed().as_secs_f64())
    };
    time(32, 32)?;
    let (per_walk, per_batch) = fit(|walks| time(walks, 0))?;
    let (per_sample, _) = fit(|samples| time(0, samples))?;
    Ok(GpuCost {
        seconds_per_walk: per_walk,
        seconds_per_interior_sample: per_sample,
        seconds_per_batch: per_batch,
        items_per_batch: batch_items(per_walk),
    })
}

/// One body's observables on the GPU, with the same stopping rule and estimators as
/// [`crate::compute::compute_frame`] (for tests, benchmarks and single bodies).
pub fn compute_body(
    gpu: &Gpu,
    walker: &Walker,
    body: &Body,
    frame_key: u64,
    sampling: &crate::compute::Sampling,
    ctx: &Context,
) -> Result<FrameResult> {
    walker.check(gpu, body)?;
    let mut run = FrameRun::new(sampling, ctx)?;
    while let Some((ext, int)) = run.next() {
        let work = [Work { body, seeds: Seeds { seed: sampling.seed, frame_key }, ext, int }];
        let (e, i) = walker.submit(gpu, &work)?.wait(gpu)?.remove(0);
        run.feed(&e, &i);
    }
    Ok(run.finish(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fits a model device: the fit and the largest dispatch it timed.
    fn fit_model(device: impl Fn(u64) -> f64) -> ((f64, f64), u64) {
        let mut largest = 0;
        let got = fit(|n| {
            largest = largest.max(n);
            Ok(device(n))
        })
        .unwrap();
        (got, largest)
    }

    #[test]
    fn the_probe_times_a_device_that_is_full_at_once_with_two_dispatches() {
        // A software device: every walk costs the same, 1 ms to launch.
        let ((per_walk, per_batch), largest) = fit_model(|n| 1e-3 + n as f64 * 25e-6);
        assert_eq!(largest, 8192);
        assert!((per_walk / 25e-6 - 1.0).abs() < 1e-9, "{per_walk}");
        assert!((per_batch / 1e-3 - 1.0).abs() < 1e-6, "{per_batch}");
    }

    #[test]
    fn the_probe_grows_the_dispatch_until_a_large_device_is_full() {
        // 20M walks/s once full, in waves of 500,000 walks of 25 ms each, 50 us to launch:
        // dispatches of 2048 and 16384 walks take the same time, and a fixed pair of them
        // would call walks free.
        let device = |n: u64| 50e-6 + n.div_ceil(500_000) as f64 * 25e-3;
        assert_eq!(device(2048), device(16384));
        let ((per_walk, per_batch), largest) = fit_model(device);
        assert_eq!(largest, 2_097_152);
        assert!((per_walk / 5e-8 - 1.0).abs() < 0.25, "{per_walk}");
        assert!(per_batch < 0.03, "{per_batch}");
        assert_eq!(batch_items(per_walk), BATCH_ITEMS);
    }

    #[test]
    fn the_probe_stops_at_a_batch_or_a_long_dispatch() {
        // Never full in proportion: stops at the largest batch.
        assert_eq!(fit_model(|n| 1.0e-2 + n as f64 * 1e-10).1, BATCH_ITEMS);
        // Slow but not yet in proportion: stops once a dispatch takes PROBE_SECONDS.
        assert_eq!(fit_model(|n| 0.08 + n as f64 * 1e-6).1, 32768);
        let err = fit(|n| if n > 4096 { Err(crate::Error::Gpu("lost".into())) } else { Ok(1.0) }).unwrap_err();
        assert_eq!(err.to_string(), "GPU: lost");
    }
}
