//! Read throughput of the trajectory readers on a real GROMACS run (adenylate kinase in
//! water, 47,681 atoms, 10 frames of `../shared/data/adk_oplsaa.xtc` with its GRO), with the
//! protein selected: the XTC through molly (trajwalk's reader) and, for comparison, through
//! chemfiles directly, the same frames written by chemfiles as TRR,
//! DCD, a 10-frame GRO and a LAMMPS dump, and as H5MD (f32, chunked by frame, as MD engines
//! write it); MDAnalysis's XTC reader on the same file where the Python package's `.venv`
//! exists (`benches/read_mda.py`); and the share of a run that reading is at 1e4 walks and
//! interior samples per frame. Rows are measured round by round, interleaved, best of each.
//!
//! cargo bench --bench read
//!
//! Figures are wall time on this machine: compare the ratios within one run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use trajwalk::analysis::{Analysis, Options};
use trajwalk::compute::Sampling;
use trajwalk::io::h5md_write::H5md;
use trajwalk::job::{Job, JobOptions};
use trajwalk::trajectory::{Chunk, OpenOptions, Trajectory};

const ROUNDS: usize = 5;
const FRAMES: usize = 10;

/// Seconds to open `path` (its topology included) and to stream every frame's selected atoms.
fn read_seconds(path: &Path, open: &OpenOptions, job: &JobOptions) -> (f64, f64) {
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
    assert_eq!(n, FRAMES, "{}", path.display());
    (opened, t1.elapsed().as_secs_f64())
}

/// chemfiles' own open and read seconds for the XTC (trajwalk's reader before molly): every
/// frame read whole, the protein's leading `atoms` copied out, as trajwalk's stream does.
fn chemfiles_xtc_seconds(xtc: &Path, atoms: usize) -> (f64, f64) {
    let t0 = Instant::now();
    let mut t = chemfiles::Trajectory::open(xtc, 'r').unwrap();
    let n = t.nsteps();
    let opened = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let mut frame = chemfiles::Frame::new();
    for i in 0..n {
        t.read_step(i, &mut frame).unwrap();
        std::hint::black_box(frame.positions()[..atoms].to_vec());
    }
    assert_eq!(n, FRAMES);
    (opened, t1.elapsed().as_secs_f64())
}

/// MDAnalysis's open and read seconds for the XTC, or None without the venv.
fn mdanalysis_seconds(python: &Path, gro: &Path, xtc: &Path) -> Option<(f64, f64)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/read_mda.py");
    let out = Command::new(python).arg(&script).arg(gro).arg(xtc).arg("protein").output().ok()?;
    if !out.status.success() {
        println!("MDAnalysis row failed: {}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or(""));
        return None;
    }
    let line = String::from_utf8_lossy(&out.stdout);
    let doc: serde_json::Value = serde_json::from_str(line.lines().last()?).ok()?;
    assert_eq!(doc["frames"].as_u64(), Some(FRAMES as u64));
    Some((doc["open_s"].as_f64()?, doc["read_s"].as_f64()?))
}

/// The XTC's frames, with the GRO's atoms, written by chemfiles in each of `formats`.
fn write_with_chemfiles(xtc: &Path, gro: &Path, dir: &Path, formats: &[&str]) -> Vec<PathBuf> {
    let mut input = chemfiles::Trajectory::open(xtc, 'r').unwrap();
    input.set_topology_file(gro).unwrap();
    let paths: Vec<PathBuf> = formats.iter().map(|ext| dir.join(format!("adk.{ext}"))).collect();
    let mut outputs: Vec<chemfiles::Trajectory> = paths.iter().map(|p| chemfiles::Trajectory::open(p, 'w').unwrap()).collect();
    let mut frame = chemfiles::Frame::new();
    for _ in 0..input.nsteps() {
        input.read(&mut frame).unwrap();
        outputs.iter_mut().for_each(|o| o.write(&frame).unwrap());
    }
    paths
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

    let dir = std::env::temp_dir().join(format!("trajwalk-read-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let t = Trajectory::open(&xtc, &open).unwrap();
    let atoms = t.topology.len();
    let frames = t.reader(0..atoms).unwrap().read_chunk(&Chunk { segment: 0, start: 0, step: 1, count: t.len() }).unwrap();
    let positions = ndarray::Array3::from_shape_fn((frames.len(), atoms, 3), |(f, a, k)| frames[f].positions[a][k]);
    let h5 = dir.join("adk.h5md");
    H5md { single_precision: true, ..H5md::new(positions) }.save(&h5).unwrap();
    let written = write_with_chemfiles(&xtc, &gro, &dir, &["trr", "dcd", "gro", "lammpstrj"]);

    let mut rows: Vec<(String, PathBuf)> = vec![("XTC (molly)".into(), xtc.clone())];
    for (label, path) in ["TRR", "DCD (trajwalk)", "GRO, 10 frames", "LAMMPS dump"].iter().zip(&written) {
        rows.push((label.to_string(), path.clone()));
    }
    rows.push(("H5MD f32".into(), h5.clone()));
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let with_mda = python.exists();
    if !with_mda {
        println!("MDAnalysis row skipped: no {} (run tools/install-deps)", python.display());
    }

    // Best open and best read of each row over the rounds; the last two rows are chemfiles'
    // own XTC reader and MDAnalysis's.
    let protein = Job::prepare(t.clone(), &select).unwrap().atoms.len();
    let mut best = vec![(f64::INFINITY, f64::INFINITY); rows.len() + 2];
    for _ in 0..ROUNDS {
        for (k, (_, path)) in rows.iter().enumerate() {
            // A GRO (or any format that names atoms) is its own topology.
            let open = if path.extension().is_some_and(|e| e == "gro") { OpenOptions::default() } else { open.clone() };
            let (o, r) = read_seconds(path, &open, &select);
            best[k] = (best[k].0.min(o), best[k].1.min(r));
        }
        let (o, r) = chemfiles_xtc_seconds(&xtc, protein);
        let k = rows.len();
        best[k] = (best[k].0.min(o), best[k].1.min(r));
        if let Some((o, r)) = with_mda.then(|| mdanalysis_seconds(&python, &gro, &xtc)).flatten() {
            let k = rows.len() + 1;
            best[k] = (best[k].0.min(o), best[k].1.min(r));
        }
    }
    let report = |name: &str, bytes: f64, (opened, read): (f64, f64)| {
        if opened.is_finite() {
            println!(
                "{name:<22} open {:7.1} ms  read {:6.2} ms/frame  {:7.1} frames/s  {:7.1} MB/s of file  (open+read {:6.1} frames/s)",
                opened * 1e3,
                read * 1e3 / FRAMES as f64,
                FRAMES as f64 / read,
                bytes / read / 1e6,
                FRAMES as f64 / (opened + read)
            );
        }
    };
    let size = |p: &Path| std::fs::metadata(p).unwrap().len() as f64;
    for ((name, path), b) in rows.iter().zip(&best) {
        report(name, size(path), *b);
    }
    let (cf, mda) = (rows.len(), rows.len() + 1);
    report("XTC (chemfiles itself)", size(&xtc), best[cf]);
    report("XTC (MDAnalysis)", size(&xtc), best[mda]);
    let h5_row = rows.len() - 1;
    println!("XTC (molly) / H5MD read time per frame: {:.2}", best[0].1 / best[h5_row].1);
    println!("XTC read time per frame, chemfiles / molly: {:.2}", best[cf].1 / best[0].1);
    if best[mda].1.is_finite() {
        println!("XTC read time per frame, MDAnalysis / trajwalk (molly): {:.2}", best[mda].1 / best[0].1);
    }

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
        100.0 * best[0].1 / run,
        100.0 * (best[0].0 + best[0].1) / run
    );
    std::fs::remove_dir_all(&dir).ok();
}
