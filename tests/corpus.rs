//! The reliability corpus: each case of the bad-input and crash campaign, built in a fresh
//! directory and run through the binary, asserting the exact error (or the right answer),
//! the exit code, and that nothing already on disk was lost. A defect fixed here stays fixed.
//! (The parsers' cases and property tests are in `parser_props.rs` and `selection_props.rs`,
//! periodic boxes in `boxes.rs`.)

mod common;

use common::{example, s, spawn_trajwalk, trajwalk};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

/// A fresh directory of this test's own.
fn dir(case: &str) -> PathBuf {
    let d = common::scratch("corpus", case);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const W: [&str; 4] = ["--walks", "2000", "--interior", "2000"];

fn run(args: &[&str]) -> Output {
    let mut all = vec!["run"];
    all.extend(args);
    all.extend(W);
    trajwalk(&all)
}

/// The one line on stderr of a failed run, with `dir` written as `D`.
fn error(out: &Output, dir: &Path) -> String {
    assert_eq!(out.status.code(), Some(1), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stderr).trim_end().replace(&s(dir), "D")
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn an_output_that_is_an_input_or_another_output_is_refused_and_nothing_is_touched() {
    let d = dir("same");
    let x = d.join("x.h5md");
    std::fs::copy(example("peptide.h5md"), &x).unwrap();
    let before = std::fs::read(&x).unwrap();
    let radii = example("united-atom.radii");
    let base = |extra: &[&str]| {
        let mut a = vec![s(&x), "--radii".into(), radii.clone(), "--frames".into(), "0,1".into()];
        a.extend(extra.iter().map(|e| e.to_string()));
        a
    };
    let refused = |extra: &[&str]| {
        let args = base(extra);
        let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        error(&out, &d)
    };
    assert_eq!(
        refused(&["--out", &s(&x)]),
        "error: cannot write D/x.h5md: the output is the same file as the input D/x.h5md: refusing to write over it"
    );
    // Another name for the same file: a hard link, and a path through `..`.
    std::fs::hard_link(&x, d.join("link.h5")).unwrap();
    assert_eq!(
        refused(&["--out", &s(&d.join("link.h5"))]),
        "error: cannot write D/link.h5: the output is the same file as the input D/x.h5md: refusing to write over it"
    );
    let dotted = d.join("sub/../x.h5md");
    std::fs::create_dir_all(d.join("sub")).unwrap();
    assert!(refused(&["--checkpoint", &s(&dotted)])
        .ends_with("the checkpoint is the same file as the input D/x.h5md: refusing to write over it"));
    assert_eq!(
        refused(&["--out", &s(&d.join("r.csv")), "--checkpoint", &s(&d.join("r.csv"))]),
        "error: cannot write D/r.csv: the checkpoint is the same file as the output D/r.csv: refusing to write over it"
    );
    assert_eq!(
        // --format: the extension .radii names no output format, which is refused first.
        refused(&["--out", &radii, "--format", "csv"]).replace(&radii, "RADII"),
        "error: cannot write RADII: the output is the same file as the radii file RADII: refusing to write over it"
    );
    assert_eq!(
        refused(&["--plot", &s(&d.join("p.png")), "--out", &s(&d.join("p.png")), "--format", "csv"]),
        "error: cannot write D/p.png: the output is the same file as the output D/p.png: refusing to write over it"
    );
    assert_eq!(std::fs::read(&x).unwrap(), before, "the input is untouched");
    assert_eq!(files(&d), ["link.h5", "sub", "x.h5md"], "no output, no temporary file, no checkpoint");
}

#[test]
fn a_target_that_is_not_a_regular_file_is_refused() {
    let d = dir("fifo");
    let fifo = d.join("f.json");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    for target in [s(&fifo), s(&d)] {
        let out = run(&[&example("two_spheres.bod"), "--out", &target]);
        let e = error(&out, &d);
        assert!(
            e.ends_with(
                "exists and is not a regular file (a FIFO, a device or a directory); results are written under a temporary name and renamed into place, which would replace it: give a file name"
            ),
            "{e}"
        );
    }
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo_like(), "the FIFO is still a FIFO");
}

trait FifoLike {
    fn is_fifo_like(&self) -> bool;
}

impl FifoLike for std::fs::FileType {
    fn is_fifo_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_fifo()
    }
}

#[test]
fn stale_temporary_files_of_dead_runs_are_removed_and_live_ones_kept() {
    let d = dir("stale");
    // PID 1 is alive; 4194304 is above Linux's largest PID, so never alive.
    for name in [".r.json.tmp4194304.json", ".r.json.tmp1.json", ".other.json.tmp4194304.json"] {
        std::fs::write(d.join(name), "partial").unwrap();
    }
    let out = run(&[&example("two_spheres.bod"), "--out", &s(&d.join("r.json")), "--quiet"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(files(&d), [".other.json.tmp4194304.json", ".r.json.tmp1.json", "r.json"]);
}

#[test]
fn absurd_thread_counts_and_impossible_shapes_are_refused_before_anything_is_written() {
    let d = dir("shapes");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    let out = run(&[&example("two_spheres.bod"), "--threads", "10000"]);
    assert_eq!(
        error(&out, &d),
        format!(
            "error: invalid option: 1 worker(s) x 10000 thread(s) is 10000 threads on this machine's {cores} core(s); at most {} (8 per core) are allowed, as more only slow each other down",
            8 * cores
        )
    );
    assert!(started.elapsed() < Duration::from_secs(30), "refused at once, not after starting the threads");
    // On a resume, an impossible strategy is refused before the checkpointed frames are
    // written to --out, as on a fresh run.
    let (input, radii) = (example("peptide.h5md"), example("united-atom.radii"));
    let cp = s(&d.join("c.sqlite"));
    let out = run(&[&input, "--radii", &radii, "--stop", "3", "--checkpoint", &cp, "--quiet"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = s(&d.join("c.csv"));
    let out =
        run(&[&input, "--radii", &radii, "--stop", "6", "--checkpoint", &cp, "--out", &csv, "--strategy", "frames", "--workers", "1"]);
    assert_eq!(
        error(&out, &d),
        "error: invalid option: strategy frames cannot run 1 worker(s) x 1 thread(s) (serial is 1 x 1, threads has 1 worker, frames 1 thread per worker)"
    );
    assert!(!d.join("c.csv").exists(), "nothing was written");
}

#[test]
fn options_that_do_not_apply_to_the_input_are_errors() {
    let d = dir("applies");
    let bod = example("two_spheres.bod");
    let h5md = example("peptide.h5md");
    let cases: [(&[&str], String); 4] = [
        (
            &[&h5md, "--run", "0"],
            format!("error: invalid option: --run and --traj select the runs and trajectories of a WepyHDF5 file, but {h5md} is h5md"),
        ),
        (
            &[&h5md, "--traj", "1"],
            format!("error: invalid option: --run and --traj select the runs and trajectories of a WepyHDF5 file, but {h5md} is h5md"),
        ),
        (
            &[&bod, "--length-unit", "furlong"],
            format!(
                "error: invalid option: --length-unit does not apply to {bod}: a .bod states its unit with HUNITS (Angstrom without one)"
            ),
        ),
        (&[&bod, "--group", "all"], format!("error: invalid option: --group picks the particles group of an H5MD file, but {bod} is bod")),
    ];
    for (args, expected) in cases {
        assert_eq!(error(&run(args), &d), expected, "{args:?}");
    }
}

#[test]
fn negative_numbers_reach_the_options_own_checks() {
    let d = dir("negative");
    let bod = example("two_spheres.bod");
    let usage = |args: &[&str]| {
        let mut all = vec!["run", bod.as_str()];
        all.extend(args);
        let out = trajwalk(&all);
        assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).lines().next().unwrap().to_string()
    };
    assert_eq!(usage(&["--walks", "-1"]), "error: invalid value '-1' for '--walks <WALKS>': '-1' is not a whole non-negative number");
    assert_eq!(usage(&["--seed", "-1"]), "error: invalid value '-1' for '--seed <SEED>': '-1' is not a whole non-negative number");
    assert_eq!(usage(&["--threads", "-2"]), "error: invalid value '-2' for '--threads <M>': '-2' is not a whole non-negative number");
    assert_eq!(error(&run(&[&bod, "--radius-scale", "-1"]), &d), "error: invalid option: --radius-scale must be a positive number, got -1");
    assert_eq!(
        error(&run(&[&bod, "--max-rsd-volume", "-1"]), &d),
        "error: invalid option: --max-rsd-volume must be a positive percentage, got -1"
    );
}

#[test]
fn a_failed_write_is_a_write_error_and_never_a_panic() {
    let bod = example("two_spheres.bod");
    let full = std::fs::File::options().write(true).open("/dev/full").expect("Linux has /dev/full");
    let _lock = common::hdf5_fork_lock();
    // stdout full: the error says it could not write, exit 1.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trajwalk"))
        .args(["run", &bod, "--format", "json"])
        .args(W)
        .stdout(full.try_clone().unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim_end(), "error: cannot write stdout: No space left on device (os error 28)");
    // stderr full, on the error path and on success: the exit code is the run's, no panic.
    for (input, code) in [("nonexistent.bod", 1), (bod.as_str(), 0)] {
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_trajwalk"))
            .args(["run", input])
            .args(W)
            .stdout(std::process::Stdio::null())
            .stderr(full.try_clone().unwrap())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(code), "{input}");
    }
}

#[test]
fn a_reader_that_closes_the_pipe_ends_the_run_quietly_keeping_the_checkpoint() {
    let d = dir("pipe");
    let cp = s(&d.join("p.sqlite"));
    let (input, radii) = (example("peptide.h5md"), example("united-atom.radii"));
    let mut child = spawn_trajwalk(&[
        "run",
        &input,
        "--radii",
        &radii,
        "--format",
        "csv",
        "--checkpoint",
        &cp,
        "--quiet",
        "--strategy",
        "serial",
        "--walks",
        "2000",
        "--interior",
        "2000",
    ]);
    // `| head -2`: read the header and one row, then close the pipe.
    let mut stdout = child.stdout.take().unwrap();
    let mut got = vec![];
    let mut byte = [0u8];
    while got.iter().filter(|&&b| b == b'\n').count() < 2 {
        use std::io::Read;
        assert_eq!(stdout.read(&mut byte).unwrap(), 1);
        got.push(byte[0]);
    }
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!((out.status.code(), String::from_utf8_lossy(&out.stderr).trim()), (Some(0), ""));
    assert!(String::from_utf8_lossy(&got).starts_with("frame,time,step"));
    let conn = rusqlite::Connection::open(&cp).unwrap();
    let n: i64 = conn.query_row("SELECT count(*) FROM frames WHERE result IS NOT NULL", [], |r| r.get(0)).unwrap();
    assert!((1..48).contains(&n), "{n} frames committed");
}

#[test]
fn sigint_and_sigterm_stop_the_run_keeping_the_finished_frames() {
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let d = dir(&format!("signal-{signal}"));
        let (input, radii) = (example("peptide.h5md"), example("united-atom.radii"));
        let (out, cp) = (s(&d.join("r.csv")), s(&d.join("r.sqlite")));
        let child = spawn_trajwalk(&[
            "run",
            &input,
            "--radii",
            &radii,
            "--out",
            &out,
            "--checkpoint",
            &cp,
            "--strategy",
            "serial",
            "--walks",
            "4e4",
            "--interior",
            "2000",
            "--quiet",
        ]);
        let started = Instant::now();
        // The run holds its checkpoint exclusively: its staged CSV's rows are the frames it
        // committed (a frame is committed before its row is written).
        while common::staged_rows(&d.join("r.csv")) < 2 {
            assert!(started.elapsed() < Duration::from_secs(120), "no frame was committed in two minutes");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(std::process::Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().unwrap().success());
        let result = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr).replace(&s(&d), "D");
        assert_eq!(result.status.code(), Some(code), "{stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert!(
            lines[0].starts_with("error: stopped after ")
                && lines[0].ends_with(" finished were written, and committed to the checkpoint: interrupted"),
            "{stderr}"
        );
        assert_eq!(lines[1], "the finished frames are committed to D/r.sqlite: run the same command again to compute the rest");
        let written = std::fs::read_to_string(&out).unwrap().lines().count() - 1;
        assert!((2..48).contains(&written), "{written} frames written");
        assert!(lines[0].starts_with(&format!("error: stopped after {written} of 48 frames")), "{stderr}");
        assert_eq!(files(&d).iter().filter(|f| f.contains(".tmp")).count(), 0, "no temporary file is left");
    }
}

#[test]
fn a_sparse_body_is_no_estimate_and_says_so() {
    let d = dir("sparse");
    let bod = d.join("s.bod");
    std::fs::write(&bod, "SPHERE 0 0 0 1\nSPHERE 300 0 0 1\n").unwrap();
    let out = run(&[&s(&bod), "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &doc["frames"][0];
    assert_eq!(f["converged"], false, "zero interior hits are no estimate");
    assert_eq!(f["volume"]["value"], 0.0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("warning: frame 0: no interior sample fell inside the body: what depends on it is 0 +- 0, which is no estimate"),
        "{stderr}"
    );
    assert!(!stderr.contains("target relative std"), "no target was set: {stderr}");
}

#[test]
fn a_pdb_box_with_a_negative_edge_is_refused_and_placeholders_mean_no_box() {
    let d = dir("cryst1");
    let atom = "ATOM      1  CA  ALA A   1       1.000   2.000   3.000  1.00  0.00           C\nEND\n";
    let pdb = |name: &str, edges: &str| {
        let p = d.join(name);
        std::fs::write(&p, format!("CRYST1{edges}  90.00  90.00  90.00 P 1           1\n{atom}")).unwrap();
        s(&p)
    };
    let negative = pdb("neg.pdb", "  -10.000   10.000   10.000");
    assert_eq!(
        error(&run(&[&negative]), &d),
        "error: D/neg.pdb, line 1: CRYST1 edges -10 10 10 are not all positive (1 1 1 or 0 0 0 would mean no box)"
    );
    for (name, edges) in [("one.pdb", "    1.000    1.000    1.000"), ("zero.pdb", "    0.000    0.000    0.000")] {
        let out = run(&[&pdb(name, edges), "--quiet"]);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Unwrapping a selection of many molecules: each is made whole and gathered around the
/// largest, so the protein and its waters are one solvated blob within the box (it was a
/// random walk through the images: a launch sphere of 1168 A in a 52.8 A box); a crystal,
/// whose atoms nothing links, is left as read.
#[test]
fn separate_molecules_gather_around_the_largest_and_a_crystal_is_left_alone() {
    let (Some(h5md), Some(pdb), Some(cu)) =
        (common::shared_data("cobrotoxin.h5md"), common::shared_data("cobrotoxin.pdb"), common::shared_data("cu.h5md"))
    else {
        return;
    };
    let d = dir("fragments");
    let json = |args: &[&str]| -> serde_json::Value {
        let out = run(&[args, &["--frames", "0", "--format", "json", "--quiet"]].concat());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let doc = json(&[&s(&h5md), "--topology", &s(&pdb), "--select", "not name MW"]);
    let launch = doc["frames"][0]["launch"]["radius"].as_f64().unwrap();
    let half_diagonal = 52.8 * 3f64.sqrt() / 2.0;
    assert!(launch < half_diagonal, "launch radius {launch} A, the box's half diagonal {half_diagonal:.1} A");
    // The protein with its waters overlaps its own images: said once, with the atoms.
    let stderr = |select: &str| {
        let out = run(&[&s(&h5md), "--topology", &s(&pdb), "--select", select, "--frames", "0", "--format", "csv"]);
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let solvated = stderr("not name MW");
    assert_eq!(
        solvated.lines().next().unwrap(),
        "warning: frame 0: the body overlaps its own periodic image after unwrapping (atom 10414 and the image of atom 7579, \
         by 1.174 A): several molecules, or a selection that is not one?",
        "{solvated}"
    );
    assert!(!stderr("protein").contains("warning"), "the protein alone fits its box");
    // ADK in GROMACS's rhombic dodecahedron spans more than the box's face width in 6 of its
    // 10 frames (which was warned about) but is 18.9 A from its nearest image at least.
    if let (Some(xtc), Some(gro)) = (common::shared_data("adk_oplsaa.xtc"), common::shared_data("adk_oplsaa.gro")) {
        let out = run(&[&s(&xtc), "--topology", &s(&gro), "--select", "protein", "--format", "csv"]);
        assert!(out.status.success());
        assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let frame = |doc: &serde_json::Value| {
        let mut f = doc["frames"][0].clone();
        f.as_object_mut().unwrap().remove("seconds");
        f
    };
    let (wrapped, as_read) = (json(&[&s(&cu)]), json(&[&s(&cu), "--no-unwrap"]));
    assert_eq!(frame(&wrapped), frame(&as_read), "the crystal is left as read");
    let _ = d;
}
