//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod h5;

/// Held while a test writes an HDF5 file and while it starts a child process. HDF5 opens
/// files without close-on-exec and locks them, so a child forked while another test thread
/// has a file open inherits the descriptor and its lock, and the file's own reader then
/// fails with "unable to lock file" for as long as that child lives.
pub static HDF5_FORK_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn hdf5_fork_lock() -> std::sync::MutexGuard<'static, ()> {
    HDF5_FORK_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts the trajwalk binary with piped output, under the fork lock.
pub fn spawn_trajwalk(args: &[&str]) -> std::process::Child {
    spawn_trajwalk_env(args, &[], &[])
}

/// As [`spawn_trajwalk`], with the variables `set` set and `removed` taken out of its
/// environment.
pub fn spawn_trajwalk_env(args: &[&str], set: &[(&str, &str)], removed: &[&str]) -> std::process::Child {
    let _lock = hdf5_fork_lock();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_trajwalk"));
    command.args(args).envs(set.iter().copied()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    for name in removed {
        command.env_remove(name);
    }
    command.spawn().expect("the binary starts")
}

/// `NAME` in this test binary's own temporary directory (`tag` names the binary).
pub fn scratch(tag: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("trajwalk-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A path as a command-line argument.
pub fn s(p: &std::path::Path) -> String {
    p.display().to_string()
}

pub fn trajwalk(args: &[&str]) -> std::process::Output {
    spawn_trajwalk(args).wait_with_output().expect("the binary runs")
}

/// The binary's output, which must be a success (the stderr says why not).
pub fn ok(args: &[&str]) -> std::process::Output {
    let out = trajwalk(args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

/// A bundled example input, `examples/NAME`, as a command-line argument.
pub fn example(name: &str) -> String {
    s(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name))
}

/// The machine's GPU adapter, or None after printing why the calling test skips. With
/// TRAJWALK_REQUIRE_GPU set (as .ci/run does) a missing adapter fails the test instead.
pub fn gpu_or_skip() -> Option<std::sync::Arc<trajwalk::gpu::Gpu>> {
    match trajwalk::gpu::shared(None) {
        Ok(g) => Some(g),
        Err(e) if std::env::var_os("TRAJWALK_REQUIRE_GPU").is_none() => {
            eprintln!("skipped: no GPU adapter ({e}); set TRAJWALK_REQUIRE_GPU=1 to fail instead");
            None
        }
        Err(e) => panic!("TRAJWALK_REQUIRE_GPU is set but there is no GPU adapter: {e}"),
    }
}

use std::path::PathBuf;
use trajwalk::body::{Body, BodyOptions};
use trajwalk::compute::{compute_frame, FrameResult, Sampling};
use trajwalk::estimate::{Context, Quantity};
use trajwalk::pool::Pool;
use trajwalk::units::Conditions;

pub fn body(centers: &[[f64; 3]], radii: &[f64], opts: &BodyOptions) -> Body {
    Body::new(centers, radii, opts).expect("valid body")
}

pub fn run(body: &Body, frame_key: u64, sampling: &Sampling, threads: usize) -> FrameResult {
    let ctx = Context { launch_radius: body.launch_radius, length_meters: Some(1e-10), conditions: Conditions::default() };
    compute_frame(body, frame_key, sampling, &ctx, &Pool::new(threads).unwrap()).unwrap()
}

pub fn sampling(walks: u64, interior: u64, seed: u64) -> Sampling {
    Sampling { walks, interior_samples: interior, seed, ..Default::default() }
}

/// Asserts |value - reference| <= 4 std for component `k` of `q`.
pub fn assert_z(r: &FrameResult, q: Quantity, k: usize, reference: f64) {
    let e = r.get(q).unwrap();
    let (v, s) = (e.value[k], e.std[k]);
    assert!(s > 0.0 && s.is_finite(), "{}[{k}]: std {s} must be positive", q.name());
    let z = (v - reference).abs() / s;
    assert!(z <= 4.0, "{}[{k}] = {v} +- {s}, reference {reference}: z = {z:.2}", q.name());
}

pub fn value(r: &FrameResult, q: Quantity) -> f64 {
    r.get(q).unwrap().value[0]
}

pub fn std(r: &FrameResult, q: Quantity) -> f64 {
    r.get(q).unwrap().std[0]
}

/// Two spheres touching at the origin along the unit vector `axis`.
pub fn touching(axis: [f64; 3], r1: f64, r2: f64) -> (Vec<[f64; 3]>, Vec<f64>) {
    (vec![axis.map(|a| a * r1), axis.map(|a| -a * r2)], vec![r1, r2])
}

/// ../shared/data/NAME when present. Absent: None with a printed reason, or a failure
/// when TRAJWALK_REQUIRE_SHARED=1 (CI), so CI can never skip these silently.
pub fn shared_data(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data").join(name);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("TRAJWALK_REQUIRE_SHARED").is_ok_and(|v| v == "1") {
        panic!("{} is required (TRAJWALK_REQUIRE_SHARED=1) but absent", path.display());
    }
    eprintln!("skipped: {} is absent (a fresh clone has no ../shared)", path.display());
    None
}

/// Data rows (lines after the header) in the file a running `--out OUT` (a CSV) is staged
/// in, `.NAME.tmpPID.EXT` beside OUT; 0 before it exists. A frame is in the checkpoint before
/// its row is written, so this counts committed frames too while the run holds its
/// checkpoint exclusively.
pub fn staged_rows(out: &std::path::Path) -> usize {
    let dir = out.parent().unwrap();
    let prefix = format!(".{}.tmp", out.file_name().unwrap().to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| std::fs::read_to_string(e.path()).map_or(0, |t| t.lines().count().saturating_sub(1)))
        .max()
        .unwrap_or(0)
}
