//! Every strategy runs the same test body (written once, instantiated per strategy, as
//! cubecl does per runtime): results bit-identical to the serial reference for any chunk
//! size, in frame order (for the GPU: bit-identical to its own run, and within z <= 5 of
//! the serial reference). Also the planner on synthetic profiles, verification catching a
//! perturbed result, and the errors for impossible shapes.

mod common;

use common::h5::{positions, H5md, Save};
use std::collections::BTreeMap;
use trajwalk::compute::{FrameResult, Sampling};
use trajwalk::exec::{self, Frames, Gpu, GpuTarget, Hybrid, Kind, Serial, Strategy, Threads};
use trajwalk::gpu::GpuInfo;
use trajwalk::job::{Job, JobOptions};
use trajwalk::plan::{self, Constraints, GpuCost, GpuOption, Profile};
use trajwalk::trajectory::{OpenOptions, Trajectory};
use trajwalk::verify;

/// Twelve frames of a wiggling 6-sphere chain, with a target rsd on the capacitance so the
/// stopping rule (batches) is exercised too.
fn job() -> Job {
    let dir = std::env::temp_dir().join(format!("trajwalk-strategies-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("chain.h5md");
    static WRITTEN: std::sync::Once = std::sync::Once::new();
    WRITTEN.call_once(|| {
        let mut f = H5md::new(positions(12, 6, |i, a| [1.5 * a as f64, 0.2 * ((i + a) as f64).sin(), 0.1 * i as f64]));
        f.species = Some(vec![6; 6]);
        f.write(&path);
    });
    let t = Trajectory::open(&path, &OpenOptions::default()).unwrap();
    let opts = JobOptions {
        sampling: Sampling { walks: 20_000, interior_samples: 3000, max_rsd_capacitance: Some(1.0), seed: 11, ..Default::default() },
        ..Default::default()
    };
    Job::prepare(t, &opts).unwrap()
}

fn run(strategy: &dyn Strategy, job: &Job, chunk: usize) -> Vec<(usize, FrameResult)> {
    let mut out = vec![];
    strategy
        .run(job, chunk, &mut |info, r| {
            out.push((info.index, r));
            Ok(())
        })
        .unwrap();
    out
}

fn same(a: &[(usize, FrameResult)], b: &[(usize, FrameResult)]) {
    assert_eq!(a.iter().map(|x| x.0).collect::<Vec<_>>(), b.iter().map(|x| x.0).collect::<Vec<_>>(), "frame order");
    for ((f, x), (_, y)) in a.iter().zip(b) {
        assert_eq!(verify::difference(x, y), None, "frame {f}");
        assert_eq!((x.walks, x.interior_samples), (y.walks, y.interior_samples), "frame {f}");
    }
}

/// The test body every strategy runs. A CPU strategy must reproduce the serial reference
/// bit for bit; the GPU (f32 arithmetic) must agree with it statistically and reproduce its
/// own run bit for bit, whatever the chunking, batching and order of the frames.
fn frame_for_frame_the_same(strategy: &dyn Strategy) {
    let job = job();
    let serial = run(&Serial, &job, 1);
    assert_eq!(serial.len(), 12);
    let reference = if strategy.kind() == Kind::Gpu {
        let gpu = run(strategy, &job, 12);
        for ((f, got), (_, cpu)) in gpu.iter().zip(&serial) {
            let (quantity, z) = verify::z_score(got, cpu).unwrap();
            assert!(z <= verify::MAX_Z, "frame {f}: {quantity} is {z:.1} sigma from the CPU");
        }
        gpu
    } else {
        serial
    };
    for chunk in [1, 5, 12] {
        same(&run(strategy, &job, chunk), &reference);
    }
    // A selection in another order comes back in that order, frame for frame the same.
    let mut picked = job.clone();
    picked.frames = vec![9, 2, 3, 4, 11];
    let got = run(strategy, &picked, 2);
    let want: Vec<_> = picked.frames.iter().map(|&f| reference[f].clone()).collect();
    same(&got, &want);
}

macro_rules! every_strategy {
    ($($name:ident: $strategy:expr,)*) => {$(
        #[test]
        fn $name() {
            frame_for_frame_the_same(&$strategy);
        }
    )*};
}

every_strategy! {
    serial_matches_the_reference: Serial,
    threads_match_the_reference: Threads(2),
    frames_match_the_reference: Frames(2),
    three_frame_workers_match_the_reference: Frames(3),
    hybrid_matches_the_reference: Hybrid(2, 2),
    more_workers_than_frames_match_the_reference: Frames(40),
}

/// The GPU runs the same body where the machine has an adapter: in batches of a few frames
/// (4096 walks and samples each), and all frames in one batch.
macro_rules! gpu_strategy {
    ($($name:ident: $items_per_batch:expr,)*) => {$(
        #[test]
        fn $name() {
            if common::gpu_or_skip().is_none() {
                return;
            }
            frame_for_frame_the_same(&Gpu(GpuTarget { adapter: None, items_per_batch: Some($items_per_batch) }));
        }
    )*};
}

gpu_strategy! {
    gpu_in_small_batches_matches_itself_and_the_reference: 4096,
    gpu_in_one_batch_matches_itself_and_the_reference: 1 << 22,
}

fn synthetic(walk_seconds: f64, body_seconds: f64, bytes_per_frame: usize, speedup_on_cores: f64, cores: usize) -> Profile {
    Profile {
        frames_sampled: 3,
        seconds_per_walk: walk_seconds,
        seconds_per_interior_sample: 0.0,
        body_seconds,
        read_seconds_per_frame: 1e-5,
        bytes_per_frame,
        body_bytes: 1 << 20,
        cores,
        thread_speedup: speedup_on_cores,
        walks_per_frame: 1_000_000,
        interior_per_frame: 0,
        baseline_bytes: 20 << 20,
        probe_seconds: 0.1,
    }
}

fn constraints(cores: usize) -> Constraints {
    Constraints { cores, ..Default::default() }
}

#[test]
fn the_planner_sends_one_frame_to_threads_and_many_cheap_frames_to_frames() {
    let p = synthetic(8e-6, 0.01, 50_000, 7.5, 8);
    let one = plan::choose(p.clone(), 1, 64, &constraints(8)).unwrap();
    assert_eq!((one.strategy, one.workers, one.threads), (Kind::Threads, 1, 8), "{}", one.reason);
    let mut cheap = p.clone();
    cheap.walks_per_frame = 1000;
    let many = plan::choose(cheap, 5000, 64, &constraints(8)).unwrap();
    assert_eq!((many.strategy, many.workers, many.threads), (Kind::Frames, 8, 1), "{}", many.reason);
    assert!(many.chunk_frames > 1, "cheap frames are dispatched in chunks, got {}", many.chunk_frames);
    // In between (12 frames, 8 cores): whole frames cannot keep 8 workers busy evenly.
    let between = plan::choose(p, 12, 64, &constraints(8)).unwrap();
    assert_ne!(between.strategy, Kind::Serial);
    assert!(between.workers * between.threads <= 8);
    let best = between.candidates.iter().map(|c| c.predicted_seconds).fold(f64::INFINITY, f64::min);
    let chosen = between.candidates.iter().find(|c| c.workers == between.workers && c.threads == between.threads).unwrap();
    assert_eq!(chosen.predicted_seconds, best);
}

#[test]
fn the_planner_honours_memory_caps_and_forced_shapes() {
    // 400 MB frames: 8 frame workers would hold 8 chunks (over 6 GB); a 2 GB cap leaves
    // the strategies that hold few.
    let mut p = synthetic(8e-6, 0.01, 400 << 20, 7.5, 8);
    p.walks_per_frame = 1000;
    let free = plan::choose(p.clone(), 500, 1, &constraints(8)).unwrap();
    assert_eq!(free.strategy, Kind::Frames);
    let capped = plan::choose(p.clone(), 500, 1, &Constraints { max_memory: Some(2_000_000_000), ..constraints(8) }).unwrap();
    assert!(capped.candidates.iter().any(|c| c.predicted_memory_bytes > 2_000_000_000));
    let chosen = capped.candidates.iter().find(|c| c.workers == capped.workers && c.threads == capped.threads).unwrap();
    assert!(chosen.predicted_memory_bytes <= 2_000_000_000, "{chosen:?}");
    assert!(capped.reason.contains("excluded by --max-memory"), "{}", capped.reason);
    let err = plan::choose(p.clone(), 500, 1, &Constraints { max_memory: Some(1000), ..constraints(8) }).unwrap_err().to_string();
    assert!(err.starts_with("invalid option: no strategy fits --max-memory 1000 bytes (1.0 kB): the smallest needs about "), "{err}");
    let forced =
        plan::choose(p.clone(), 500, 1, &Constraints { strategy: Some(Kind::Hybrid), workers: Some(2), ..constraints(8) }).unwrap();
    assert_eq!((forced.strategy, forced.workers), (Kind::Hybrid, 2));
    assert!(forced.threads >= 2);
    let zero = plan::choose(p.clone(), 500, 1, &Constraints { workers: Some(0), ..constraints(8) }).unwrap_err().to_string();
    assert_eq!(zero, "invalid option: --workers must be at least 1");
    let wrong =
        plan::choose(p, 500, 1, &Constraints { strategy: Some(Kind::Frames), threads: Some(2), workers: Some(4), ..constraints(8) })
            .unwrap_err()
            .to_string();
    assert_eq!(wrong, "invalid option: strategy frames cannot run 4 worker(s) x 2 thread(s) (serial is 1 x 1, threads has 1 worker, frames 1 thread per worker)");
}

#[test]
fn the_planner_picks_the_gpu_only_when_it_predicts_a_win() {
    // A 16-core node: 8 us per walk on one core, 15x on all of them.
    let p = synthetic(8e-6, 0.01, 50_000, 15.0, 16);
    let gpu = |seconds_per_walk: f64| GpuOption {
        info: Some(GpuInfo { adapter: "model".into(), backend: "vulkan".into(), device_type: "discrete".into() }),
        cost: Some(GpuCost {
            seconds_per_walk,
            seconds_per_interior_sample: seconds_per_walk / 30.0,
            seconds_per_batch: 2e-3,
            items_per_batch: 1 << 22,
        }),
        note: None,
    };
    let with = |option: GpuOption| Constraints { gpu: option, ..constraints(16) };
    // 20M walks/s (160x one core): 100 frames of 1M walks take 5 s there, 54 s on the CPU.
    let fast = plan::choose(p.clone(), 100, 64, &with(gpu(5e-8))).unwrap();
    assert_eq!(fast.strategy, Kind::Gpu, "{}", fast.reason);
    assert!(fast.reason.contains("; the GPU predicted 5.06 s, 10.07x faster than hybrid (4 x 4), 50.92 s"), "{}", fast.reason);
    assert_eq!(fast.gpu.as_ref().unwrap().adapter, "model");
    let cpu_best = fast.candidates.iter().filter(|c| c.strategy != Kind::Gpu).map(|c| c.predicted_seconds).fold(f64::INFINITY, f64::min);
    assert!(cpu_best / fast.predicted_seconds() > 9.0, "{cpu_best} vs {}", fast.predicted_seconds());
    // A device slower than the cores together (lavapipe-like) is a candidate that loses.
    let slow = plan::choose(p.clone(), 100, 64, &with(gpu(2e-5))).unwrap();
    assert_ne!(slow.strategy, Kind::Gpu, "{}", slow.reason);
    assert!(slow.candidates.iter().any(|c| c.strategy == Kind::Gpu && c.predicted_seconds > slow.predicted_seconds()));
    // One CPU thread builds every body for the GPU: when building dominates (0.5 s a body,
    // 1000 walks), 16 CPU workers win however fast the device.
    let mut heavy = p.clone();
    heavy.body_seconds = 0.5;
    heavy.walks_per_frame = 1000;
    let bound = plan::choose(heavy, 1000, 64, &with(gpu(5e-8))).unwrap();
    assert_eq!(bound.strategy, Kind::Frames, "{}", bound.reason);
    // Asked for, without a probed device: the reason the probe gave.
    let none = GpuOption { info: None, cost: None, note: Some("no GPU adapter found".into()) };
    let e = plan::choose(p, 100, 64, &Constraints { strategy: Some(Kind::Gpu), ..with(none) }).unwrap_err();
    assert_eq!(e.to_string(), "GPU: no GPU adapter found");
}

#[test]
fn impossible_strategy_shapes_are_refused() {
    let e = |k, w, t| exec::strategy(k, w, t, &Default::default()).err().unwrap().to_string();
    assert_eq!(e(Kind::Frames, 0, 1), "invalid option: --workers must be at least 1");
    assert_eq!(e(Kind::Threads, 1, 0), "invalid option: --threads must be at least 1");
    assert!(e(Kind::Serial, 1, 2).starts_with("invalid option: strategy serial cannot run 1 worker(s) x 2 thread(s)"));
}

#[test]
fn verification_catches_a_perturbed_result() {
    let job = job();
    let results = run(&Frames(2), &job, 3);
    let mut kept: BTreeMap<usize, FrameResult> = verify::sample(&job.frames, 4).into_iter().map(|f| (f, results[f].1.clone())).collect();
    assert_eq!(kept.keys().copied().collect::<Vec<_>>(), vec![0, 3, 7, 11]);
    let ok = verify::verify(&job, &kept, false).unwrap();
    assert!(ok.passed && ok.failed_frames.is_empty() && ok.worst.is_none(), "{ok:?}");
    let v = &mut kept.get_mut(&7).unwrap().estimates[0].value[0];
    *v = f64::from_bits(v.to_bits() + 1);
    let bad = verify::verify(&job, &kept, false).unwrap();
    assert!(!bad.passed);
    assert_eq!(bad.failed_frames, vec![7]);
    let worst = bad.worst.unwrap();
    assert_eq!((worst.frame, worst.quantity.as_str()), (7, "capacitance"));
    assert!(worst.relative_difference > 0.0 && worst.relative_difference < 1e-15, "{worst:?}");
}
