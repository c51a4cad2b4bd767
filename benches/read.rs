//! Read throughput of the trajectory readers on a real GROMACS run (adenylate kinase in
//! water, 47,681 atoms, 10 frames of `../shared/data/adk_oplsaa.xtc` with its GRO), with the
//! protein selected: the XTC through chemfiles against the same frames written as H5MD
//! (f32, chunked by frame, as MD engines write it), and the share of a run that reading is
//! at 1e4 walks and interior samples per frame.
//!
//! cargo bench --bench read
//!
//! Figures are wall time on this machine: compare the ratios within one run.

use std::path::{Path, PathBuf};
use std::time::Instant;
use trajwalk::analysis::{Analysis, Options};
use trajwalk::compute::Sampling;
use trajwalk::io::h5md_write::H5md;
use trajwalk::job::{Job, JobOptions};
use trajwalk::trajectory::{Chunk, OpenOptions, Trajectory};

/// Seconds to open `path` and stream every frame's selected atoms (best of `repeats`).
fn read_seconds(path: &Path, open: &OpenOptions, job: &JobOptions, repeats: usize) -> (f64, f64) {
    let (mut best_open, mut best_read) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..repeats {
        let t0 = Instant::now();
        let t = Trajectory::open(path, open).unwrap();
        let opened = t0.elapsed().as_secs_f64();
        let job = Job::prepare(t, job).unwrap();
        let t1 = Instant::now();
        let mut n = 0;
        for f in job.stream() {
            f.unwrap();
            n += 1;
        }
        assert_eq!(n, 10);
        best_open = best_open.min(opened);
        best_read = best_read.min(opened + t1.elapsed().as_secs_f64());
    }
    (best_open, best_read)
}

fn main() {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    let (gro, xtc) = (data.join("adk_oplsaa.gro"), data.join("adk_oplsaa.xtc"));
    if !xtc.exists() || !gro.exists() {
        println!("skipped: {} is absent", xtc.display());
        return;
    }
    let open = OpenOptions { topology: Some(gro.clone()), ..Default::default() };
    let select = JobOptions { select: Some("protein".into()), ..Default::default() };

    let t = Trajectory::open(&xtc, &open).unwrap();
    let atoms = t.topology.len();
    let frames = t.reader(0..atoms).unwrap().read_chunk(&Chunk { segment: 0, start: 0, step: 1, count: t.len() }).unwrap();
    let positions = ndarray::Array3::from_shape_fn((frames.len(), atoms, 3), |(f, a, k)| frames[f].positions[a][k]);
    let h5 = std::env::temp_dir().join(format!("trajwalk-read-bench-{}.h5md", std::process::id()));
    H5md { single_precision: true, ..H5md::new(positions) }.save(&h5).unwrap();

    let mut rows = vec![];
    for (name, path) in [("XTC (chemfiles)", &xtc), ("H5MD f32", &h5)] {
        let (opened, total) = read_seconds(path, &open, &select, 5);
        let bytes = std::fs::metadata(path).unwrap().len() as f64;
        let read = total - opened;
        println!(
            "{name:<16} open (topology included) {:6.1} ms  read {:6.2} ms/frame  {:7.1} frames/s  {:6.1} MB/s of file (open+read: {:6.1} frames/s)",
            opened * 1e3,
            read * 1e2,
            10.0 / read,
            bytes / read / 1e6,
            10.0 / total
        );
        rows.push((total, read));
    }
    println!("XTC / H5MD read time per frame: {:.2}", rows[0].1 / rows[1].1);

    // A run at 1e4 walks and samples per frame, the protein selected, all cores: reading
    // (opening included) as a share of it.
    let job = JobOptions { sampling: Sampling { walks: 10_000, interior_samples: 10_000, ..Default::default() }, ..select };
    let t0 = Instant::now();
    let mut sink = |_: &trajwalk::output::FrameReport| Ok(());
    Analysis::open(&xtc, Options { open, job, ..Default::default() }).unwrap().run(&mut [&mut sink]).unwrap();
    let run = t0.elapsed().as_secs_f64();
    println!(
        "run of 10 frames at 1e4 walks: {:.2} s; reading the XTC's frames is {:.1}% of it, {:.1}% with the open (GRO topology) included",
        run,
        100.0 * rows[0].1 / run,
        100.0 * rows[0].0 / run
    );
    std::fs::remove_file(&h5).ok();
}
