//! Scaling studies a user can run on their own machine:
//!
//! 1. walks/s against body size (100 to 100,000 spheres) on 1 thread and on all cores;
//! 2. every strategy on a grid of workloads (few expensive frames, many cheap frames, in
//!    between), against the planner's choice: its regret is chosen / best measured.
//!
//! cargo bench --bench scaling            (add `-- quick` for a shorter grid)
//!
//! Figures are seconds of wall time on this machine; compare ratios within one run.

use ndarray::Array3;
use std::time::Instant;
use trajwalk::body::{Body, BodyOptions};
use trajwalk::compute::{compute_frame, Sampling};
use trajwalk::estimate::Context;
use trajwalk::exec;
use trajwalk::job::{Job, JobOptions};
use trajwalk::plan::{self, Constraints};
use trajwalk::pool::Pool;
use trajwalk::radii::Radii;
use trajwalk::trajectory::{OpenOptions, Trajectory};

/// A compact, protein-like cluster: jittered cubic lattice points inside a ball, 2.4 A
/// apart, so 1.5 A spheres overlap as atoms do.
fn cluster(n: usize, frame: usize) -> Vec<[f64; 3]> {
    let side = ((n as f64) * 6.0 / std::f64::consts::PI).cbrt().ceil() as i64 + 2;
    let mut out = vec![];
    let mut k = 0u64;
    'fill: for x in -side..=side {
        for y in -side..=side {
            for z in -side..=side {
                let r2 = (x * x + y * y + z * z) as f64;
                if r2 <= (side * side) as f64 / 4.0 {
                    k += 1;
                    let j = |s: u64| (((k * 2654435761 + s * 40503 + frame as u64 * 97) % 1000) as f64 / 1000.0 - 0.5) * 0.6;
                    out.push([x as f64 * 2.4 + j(1), y as f64 * 2.4 + j(2), z as f64 * 2.4 + j(3)]);
                    if out.len() == n {
                        break 'fill;
                    }
                }
            }
        }
    }
    assert_eq!(out.len(), n, "lattice too small");
    out
}

fn walks_per_second(n: usize, threads: usize, walks: u64) -> f64 {
    let centers = cluster(n, 0);
    let body = Body::new(&centers, &vec![1.5; n], &BodyOptions::default()).unwrap();
    let ctx = Context { launch_radius: body.launch_radius, length_meters: Some(1e-10), conditions: Default::default() };
    let sampling = Sampling { walks, interior_samples: 32, seed: 1, ..Default::default() };
    let pool = Pool::new(threads).unwrap();
    let started = Instant::now();
    compute_frame(&body, 0, &sampling, &ctx, &pool).unwrap();
    walks as f64 / started.elapsed().as_secs_f64()
}

fn write_trajectory(path: &std::path::Path, frames: usize, atoms: usize) {
    let file = hdf5::File::create(path).unwrap();
    file.create_group("h5md").unwrap();
    let pos = file.create_group("particles").unwrap().create_group("all").unwrap().create_group("position").unwrap();
    let data = Array3::from_shape_fn((frames, atoms, 3), |(f, a, k)| cluster(atoms, f)[a][k]);
    let ds = pos.new_dataset_builder().with_data(&data).create("value").unwrap();
    ds.new_attr::<hdf5::types::VarLenUnicode>()
        .create("unit")
        .unwrap()
        .write_scalar(&"Angstrom".parse::<hdf5::types::VarLenUnicode>().unwrap())
        .unwrap();
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let quick = std::env::args().any(|a| a == "quick");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("walks/s against body size (1.5 A spheres), 1 thread and {cores} threads");
    let sizes: &[usize] = if quick { &[100, 1000, 10_000] } else { &[100, 1000, 10_000, 100_000] };
    for &n in sizes {
        let walks = 16_384;
        let one = walks_per_second(n, 1, walks);
        let all = walks_per_second(n, cores, walks);
        println!(
            "  {n:>7} spheres: {one:>9.0} walks/s on 1 thread, {all:>9.0} on {cores} ({:.2}x, {:.0}% efficiency)",
            all / one,
            100.0 * all / one / cores as f64
        );
    }

    let dir = std::env::temp_dir().join(format!("trajwalk-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // (label, frames, atoms, walks per frame)
    let grid: &[(&str, usize, usize, u64)] = if quick {
        &[("few expensive", 2, 500, 60_000), ("in between", 16, 300, 6_000), ("many cheap", 300, 100, 300)]
    } else {
        &[("few expensive", 2, 2000, 200_000), ("in between", 24, 1000, 20_000), ("many cheap", 2000, 200, 500)]
    };
    println!("\nstrategies on a grid of workloads ({cores} cores); planner's regret = chosen / best measured");
    for &(label, frames, atoms, walks) in grid {
        let path = dir.join(format!("{frames}x{atoms}.h5md"));
        write_trajectory(&path, frames, atoms);
        let t = Trajectory::open(&path, &OpenOptions::default()).unwrap();
        let opts = JobOptions {
            radii: Some(Radii::Uniform(1.5)),
            unwrap: false,
            sampling: Sampling { walks, interior_samples: walks, seed: 5, ..Default::default() },
            ..Default::default()
        };
        let job = Job::prepare(t, &opts).unwrap();
        let c = Constraints { cores, ..Default::default() };
        let started = Instant::now();
        let profile = plan::profile(&job, cores).unwrap();
        let chosen = plan::choose(profile, job.frames.len(), job.max_chunk_frames(), &c).unwrap();
        let plan_seconds = started.elapsed().as_secs_f64();
        let mut measured = vec![];
        for cand in &chosen.candidates {
            let s = exec::strategy(cand.strategy, cand.workers, cand.threads, &Default::default()).unwrap();
            let started = Instant::now();
            s.run(&job, cand.chunk_frames, &mut |_, _| Ok(())).unwrap();
            measured.push((cand.clone(), started.elapsed().as_secs_f64()));
        }
        let best = measured.iter().map(|m| m.1).fold(f64::INFINITY, f64::min);
        println!("  {label}: {frames} frames x {atoms} spheres x {walks} walks (plan took {plan_seconds:.3} s)");
        for (cand, secs) in &measured {
            let mark = if cand.workers == chosen.workers && cand.threads == chosen.threads { "  <- chosen" } else { "" };
            println!(
                "    {:<8} {} x {} chunk {:>3}: predicted {:>8.3} s, measured {:>8.3} s{mark}",
                cand.strategy.name(),
                cand.workers,
                cand.threads,
                cand.chunk_frames,
                cand.predicted_seconds,
                secs
            );
        }
        let chosen_secs = measured.iter().find(|m| m.0.workers == chosen.workers && m.0.threads == chosen.threads).unwrap().1;
        println!("    regret {:.3}", chosen_secs / best);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
