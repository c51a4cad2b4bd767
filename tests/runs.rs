//! Production runs: checkpoint and resume after a kill, refusal of a checkpoint made with
//! other parameters, failed frames retried, every output format read back, plots that
//! decode, atomic output files, write-back into a wepy file, and the progress bar's manners.

mod common;
#[path = "../examples/make_peptide.rs"]
#[allow(dead_code)]
mod make_peptide;

use common::h5::{mdtraj_topology, positions, write_wepy, H5md, Save};
use common::{ok, spawn_trajwalk, trajwalk};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn scratch(name: &str) -> PathBuf {
    common::scratch("runs", name)
}

use common::s;

fn example() -> (String, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    (s(&root.join("peptide.h5md")), s(&root.join("united-atom.radii")))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A frame's JSON without its timing, which is the only part of it that may differ between runs.
fn numbers(frame: &Value) -> Value {
    let mut f = frame.clone();
    f.as_object_mut().unwrap().remove("seconds");
    f
}

/// Frames committed to a checkpoint no run holds any more.
fn committed(checkpoint: &Path) -> i64 {
    let Ok(conn) = rusqlite::Connection::open(checkpoint) else { return 0 };
    conn.query_row("SELECT count(*) FROM frames WHERE result IS NOT NULL", [], |r| r.get(0)).unwrap_or(0)
}

#[test]
fn a_killed_run_resumes_and_ends_bit_identical_to_an_uninterrupted_one() {
    let (input, radii) = example();
    let cp = scratch("resume.sqlite");
    let killed_out = scratch("resume-killed.csv");
    let common = ["--radii", radii.as_str(), "--stop", "12", "--walks", "6e4", "--interior", "2e4", "--quiet"];
    let mut args = vec!["run", input.as_str()];
    args.extend(common);
    let mut first = args.clone();
    let (cp_s, killed_s) = (s(&cp), s(&killed_out));
    first.extend(["--checkpoint", &cp_s, "--out", &killed_s, "--strategy", "frames", "--workers", "2"]);
    let mut child = spawn_trajwalk(&first);
    let started = Instant::now();
    // The run holds its checkpoint exclusively; its CSV, staged beside the target, has a row
    // for each frame delivered, and a frame is committed before it is delivered.
    while common::staged_rows(&killed_out) < 3 {
        assert!(started.elapsed() < Duration::from_secs(120), "no frame was committed in two minutes");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed; give it more work");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done_before = committed(&cp);
    assert!((3..12).contains(&done_before), "{done_before} frames were committed before the kill");
    assert!(!killed_out.exists(), "a killed run leaves no partial result file");

    let resumed = scratch("resumed.csv");
    let mut second = args.clone();
    let resumed_s = s(&resumed);
    second.extend(["--checkpoint", &cp_s, "--out", &resumed_s, "--strategy", "threads", "--threads", "2"]);
    ok(&second);
    let straight = scratch("straight.csv");
    let mut third = args.clone();
    let straight_s = s(&straight);
    third.extend(["--out", &straight_s, "--strategy", "serial"]);
    ok(&third);
    let (a, b) = (std::fs::read_to_string(&resumed).unwrap(), std::fs::read_to_string(&straight).unwrap());
    assert_eq!(a.lines().count(), 13, "a header and 12 frames");
    assert_eq!(a, b, "the resumed run's CSV equals the uninterrupted run's byte for byte");

    // Everything is in the checkpoint now: a third run computes nothing and says so.
    let all = scratch("from-checkpoint.json");
    let mut fourth = args.clone();
    let all_s = s(&all);
    fourth.extend(["--checkpoint", &cp_s, "--out", &all_s]);
    ok(&fourth);
    let doc = read_json(&all);
    assert_eq!((doc["frames_computed"].as_u64(), doc["frames_from_checkpoint"].as_u64()), (Some(0), Some(12)));
    assert!(doc["plan"].is_null());
    let direct = scratch("direct.json");
    let mut fifth = args.clone();
    let direct_s = s(&direct);
    fifth.extend(["--out", &direct_s]);
    ok(&fifth);
    let reference = read_json(&direct);
    let frames = |d: &Value| d["frames"].as_array().unwrap().iter().map(numbers).collect::<Vec<_>>();
    assert_eq!(frames(&doc), frames(&reference));
    assert_eq!(doc["summary"], reference["summary"]);
}

#[test]
fn a_checkpoint_refuses_other_parameters_and_fresh_starts_over() {
    let (input, radii) = example();
    let cp = scratch("params.sqlite");
    let run = |walks: &str, extra: &[&str]| {
        let cp_s = s(&cp);
        let mut args = vec![
            "run",
            input.as_str(),
            "--radii",
            radii.as_str(),
            "--walks",
            walks,
            "--interior",
            "1000",
            "--checkpoint",
            &cp_s,
            "--format",
            "json",
        ];
        if !extra.contains(&"--frames") {
            args.extend(["--frames", "0,1"]);
        }
        args.extend(extra);
        trajwalk(&args)
    };
    assert!(run("2000", &["--seed", "7"]).status.success());
    let out = run("3000", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!(
            "error: checkpoint {}: was made for another input or other parameters: seed: 7 in the checkpoint, 0 now; walks: 2000 in the checkpoint, 3000 now; use --fresh to discard it, or another --checkpoint file",
            s(&cp)
        )
    );
    // Neither the strategy nor the frame selection changes numbers, so both may change.
    let more = run("2000", &["--seed", "7", "--frames", "0,1,2", "--strategy", "serial"]);
    let doc: Value = serde_json::from_slice(&more.stdout).unwrap();
    assert_eq!((doc["frames_computed"].as_u64(), doc["frames_from_checkpoint"].as_u64()), (Some(1), Some(2)));
    let fresh = run("3000", &["--fresh"]);
    let doc: Value = serde_json::from_slice(&fresh.stdout).unwrap();
    assert_eq!((doc["frames_computed"].as_u64(), doc["frames_from_checkpoint"].as_u64()), (Some(2), Some(0)));
    let garbage = scratch("garbage.sqlite");
    std::fs::write(&garbage, b"this is not a database, just some bytes that go on long enough").unwrap();
    let garbage_s = s(&garbage);
    for fresh in [&[][..], &["--fresh"]] {
        let mut args = vec!["run", &input, "--radii", &radii, "--frames", "0", "--checkpoint", &garbage_s];
        args.extend(fresh);
        let out = trajwalk(&args);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim_end(),
            format!(
                "error: checkpoint {garbage_s}: cannot be read as a checkpoint (file is not a database); if it is a damaged checkpoint, \
                 delete it (and its -wal file) to start over: --fresh cannot empty a file SQLite cannot read"
            )
        );
    }
}

/// A checkpoint is held by its run from start to end: a second run on it is refused,
/// naming the process holding it and its command, and leaves it as it was (a `--fresh` run
/// once relabelled a checkpoint another run still committed to).
#[test]
fn a_checkpoint_in_use_is_refused_naming_the_run_that_holds_it() {
    let (input, radii) = example();
    let (cp, out) = (scratch("held.sqlite"), scratch("held.csv"));
    let (cp_s, out_s) = (s(&cp), s(&out));
    // Frames of about a second each: the holder must outlive the second run's wait for the
    // lock (SQLite's busy timeout, 10 s).
    let args = ["run", &input, "--radii", &radii, "--walks", "3e5", "--interior", "2000", "--strategy", "serial", "--quiet"];
    let mut first = args.to_vec();
    first.extend(["--checkpoint", &cp_s, "--out", &out_s]);
    let mut holder = spawn_trajwalk(&first);
    let started = Instant::now();
    while common::staged_rows(&out) < 1 {
        assert!(started.elapsed() < Duration::from_secs(120), "no frame was committed in two minutes");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut second = args.to_vec();
    second.extend(["--checkpoint", &cp_s, "--fresh", "--format", "json"]);
    let refused = trajwalk(&second);
    holder.kill().unwrap();
    holder.wait().unwrap();
    let mut command = std::iter::once(env!("CARGO_BIN_EXE_trajwalk")).chain(first.iter().copied()).collect::<Vec<_>>().join(" ");
    if command.chars().count() > 200 {
        command = command.chars().take(200).collect::<String>() + "...";
    }
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr).trim_end(),
        format!(
            "error: checkpoint {cp_s}: is in use by another run (process {}: {command}); wait for it to end, or give another --checkpoint file",
            holder.id()
        )
    );
    assert!(committed(&cp) >= 1, "the --fresh run emptied nothing");
}

#[test]
fn a_failed_frame_is_recorded_and_computed_again_next_time() {
    let path = scratch("fails.h5md");
    let mut f = H5md::new(positions(5, 2, |i, a| if i == 3 && a == 1 { [f64::NAN, 0.0, 0.0] } else { [2.0 * a as f64, 0.0, 0.0] }));
    f.species = Some(vec![6, 6]);
    f.write(&path);
    let cp = scratch("fails.sqlite");
    let args =
        ["run", &s(&path), "--walks", "1000", "--interior", "1000", "--strategy", "serial", "--checkpoint", &s(&cp), "--format", "csv"];
    let out = trajwalk(&args);
    assert_eq!(out.status.code(), Some(1));
    let conn = rusqlite::Connection::open(&cp).unwrap();
    let rows: Vec<(i64, bool, Option<String>)> = conn
        .prepare("SELECT frame, result IS NOT NULL, error FROM frames ORDER BY frame")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let message = format!("{}: frame 3: atom 1 (C) has a non-finite coordinate [NaN, 0.0, 0.0]", s(&path));
    assert_eq!(rows, vec![(0, true, None), (1, true, None), (2, true, None), (3, false, Some(message.clone()))]);
    // A run holds its checkpoint exclusively, so no other connection may be open on it.
    drop(conn);
    let again = trajwalk(&args);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains(&format!(
            "3 of 5 selected frames already finished, 2 to compute\n  frame 3 failed last time ({message}); computing it again"
        )),
        "{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&again.stdout).lines().count(), 4, "the 3 stored frames are written again, after the header");
}

#[test]
fn json_csv_and_h5_outputs_read_back_with_the_same_numbers() {
    let (input, radii) = example();
    let run = |out: &Path| {
        ok(&["run", &input, "--radii", &radii, "--frames", "0,20,47", "--walks", "5000", "--interior", "5000", "--out", &s(out), "--quiet"])
    };
    let (json, csv, h5) = (scratch("o.json"), scratch("o.csv"), scratch("o.h5"));
    run(&json);
    run(&csv);
    run(&h5);
    let doc = read_json(&json);
    let frames = doc["frames"].as_array().unwrap();
    let rh: Vec<f64> = frames.iter().map(|f| f["hydrodynamic_radius"]["value"].as_f64().unwrap()).collect();
    let rh_std: Vec<f64> = frames.iter().map(|f| f["hydrodynamic_radius"]["std"].as_f64().unwrap()).collect();

    let summary = &doc["summary"]["hydrodynamic_radius"];
    assert_eq!(summary["frames"], 3);
    assert!((summary["mean"].as_f64().unwrap() - rh.iter().sum::<f64>() / 3.0).abs() < 1e-12);
    let mean = rh.iter().sum::<f64>() / 3.0;
    let se = (rh.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 2.0 / 3.0).sqrt();
    assert!((summary["standard_error"].as_f64().unwrap() - se).abs() < 1e-12);
    assert_eq!(summary["unit"], "A");

    let mut reader = csv::Reader::from_path(&csv).unwrap();
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header.iter().take(4).collect::<Vec<_>>(), &["frame", "time", "step", "spheres"]);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    let (c_rh, c_std, c_time) = (col("hydrodynamic_radius"), col("hydrodynamic_radius_std"), col("time"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    for (k, row) in rows.iter().enumerate() {
        assert_eq!(row[c_rh].parse::<f64>().unwrap().to_bits(), rh[k].to_bits());
        assert_eq!(row[c_std].parse::<f64>().unwrap().to_bits(), rh_std[k].to_bits());
    }
    assert_eq!(rows.iter().map(|r| r[c_time].to_string()).collect::<Vec<_>>(), ["0", "200", "470"]);

    let file = hdf5::File::open(&h5).unwrap();
    let g = file.group("observables/hydrodynamic_radius").unwrap();
    assert_eq!(g.dataset("value").unwrap().read_raw::<f64>().unwrap(), rh);
    assert_eq!(g.dataset("std").unwrap().read_raw::<f64>().unwrap(), rh_std);
    assert_eq!(g.dataset("time").unwrap().read_raw::<f64>().unwrap(), vec![0.0, 200.0, 470.0]);
    assert_eq!(g.dataset("step").unwrap().read_raw::<i64>().unwrap(), vec![0, 100_000, 235_000]);
    let unit: hdf5::types::VarLenUnicode = g.dataset("value").unwrap().attr("unit").unwrap().read_scalar().unwrap();
    assert_eq!(unit.as_str(), "A");
    let tensor = file.dataset("observables/gyration_tensor/value").unwrap();
    assert_eq!(tensor.shape(), vec![3, 3, 3]);
    let t = &frames[1]["gyration_tensor"]["value"];
    let read = tensor.read_raw::<f64>().unwrap();
    let (frame, row, column) = (1, 1, 2);
    assert_eq!(read[9 * frame + 3 * row + column], t[row][column].as_f64().unwrap(), "row-major (frame, row, column)");
    assert_eq!(file.dataset("observables/frame/value").unwrap().read_raw::<f64>().unwrap(), vec![0.0, 20.0, 47.0]);
    assert!(file.group("h5md").unwrap().attr("version").is_ok());
}

#[test]
fn plots_decode_and_failed_runs_leave_no_files() {
    let (input, radii) = example();
    let (png_path, svg_path) = (scratch("obs.png"), scratch("obs.svg"));
    ok(&[
        "run",
        &input,
        "--radii",
        &radii,
        "--frames",
        "0,10,20,30",
        "--walks",
        "2000",
        "--interior",
        "2000",
        "--plot",
        &s(&png_path),
        "--quiet",
    ]);
    let decoder = png::Decoder::new(std::fs::File::open(&png_path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (1200, 900));
    assert!(pixels.iter().any(|&p| p < 128), "the plot has dark pixels (axes, text, points)");
    ok(&[
        "plan",
        &input,
        "--radii",
        &radii,
        "--frames",
        "0,10",
        "--walks",
        "2000",
        "--interior",
        "2000",
        "--measure",
        "--plot",
        &s(&svg_path),
    ]);
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("predicted seconds"), "{}", &svg[..200.min(svg.len())]);

    let out = trajwalk(&["plan", &input, "--radii", &radii, "--plot", &s(&svg_path)]);
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim_end(), "error: plan --plot draws predicted against measured times: add --measure");
    let out = trajwalk(&["run", &input, "--plot", "obs.pdf"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim_end(), "error: invalid option: --plot obs.pdf: the file must end in .png or .svg");

    // A run that fails before its first frame writes nothing under the result's name and
    // leaves no temporary file behind.
    let bad = scratch("bad.h5md");
    let mut f = H5md::new(positions(2, 2, |_, a| if a == 1 { [f64::NAN, 0.0, 0.0] } else { [0.0; 3] }));
    f.species = Some(vec![6, 6]);
    f.write(&bad);
    let dir = scratch("atomic");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["r.json", "r.csv", "r.h5"] {
        let out = trajwalk(&[
            "run",
            &s(&bad),
            "--walks",
            "100",
            "--interior",
            "100",
            "--out",
            &s(&dir.join(name)),
            "--plot",
            &s(&dir.join("p.png")),
        ]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "{name}: the directory stays empty");
    }
}

#[test]
fn write_back_puts_observables_beside_a_wepy_trajectory_and_nothing_else() {
    let path = scratch("wb.wepy.h5");
    let topology = mdtraj_topology(&[("C1", "C", "LIG"), ("C2", "C", "LIG")]);
    let traj = |shift: f64| positions(3, 2, move |c, a| [a as f64 * (2.0 + 0.1 * c as f64) + shift, 0.0, 0.0]);
    write_wepy(&path, &topology, None, "nanometer", &[vec![traj(0.0), traj(1.0)]]);
    // The file is open in this process only under the fork lock: a child another test
    // starts meanwhile would inherit its locked descriptor and make the write-back fail.
    let before = {
        let _lock = common::hdf5_fork_lock();
        hdf5::File::open(&path).unwrap().dataset("runs/0/trajectories/1/positions").unwrap().read_raw::<f32>().unwrap()
    };
    let out = ok(&[
        "run",
        &s(&path),
        "--frames",
        "0,2,3,4,5",
        "--walks",
        "2000",
        "--interior",
        "2000",
        "--write-back",
        "--format",
        "json",
        "--quiet",
    ]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let lock = common::hdf5_fork_lock();
    let file = hdf5::File::open(&path).unwrap();
    let traj0 = file.dataset("runs/0/trajectories/0/observables/radius_of_gyration").unwrap().read_raw::<f64>().unwrap();
    let frames = doc["frames"].as_array().unwrap();
    let rg = |k: usize| frames[k]["radius_of_gyration"]["value"].as_f64().unwrap();
    assert_eq!(traj0[0], rg(0));
    assert!(traj0[1].is_nan(), "cycle 1 of trajectory 0 was not selected");
    assert_eq!(traj0[2], rg(1));
    let traj1 = file.dataset("runs/0/trajectories/1/observables/radius_of_gyration").unwrap().read_raw::<f64>().unwrap();
    assert_eq!(traj1, vec![rg(2), rg(3), rg(4)]);
    let std1 = file.dataset("runs/0/trajectories/1/observables/radius_of_gyration_std").unwrap().read_raw::<f64>().unwrap();
    assert_eq!(std1[0], frames[2]["radius_of_gyration"]["std"].as_f64().unwrap());
    assert_eq!(file.dataset("runs/0/trajectories/1/observables/gyration_tensor").unwrap().shape(), vec![3, 3, 3]);
    assert_eq!(file.dataset("runs/0/trajectories/1/positions").unwrap().read_raw::<f32>().unwrap(), before);
    drop(file);
    drop(lock);
    // Writing back again replaces the datasets rather than failing on them.
    ok(&["run", &s(&path), "--walks", "1000", "--interior", "1000", "--write-back", "--quiet", "--format", "csv"]);

    let (input, _) = example();
    let out = trajwalk(&["run", &input, "--write-back"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!("error: --write-back writes into a WepyHDF5 input, but {input} is h5md")
    );
}

#[test]
fn no_progress_bar_when_stderr_is_not_a_terminal() {
    let (input, radii) = example();
    let out = ok(&["run", &input, "--radii", &radii, "--frames", "0,1,2", "--walks", "2000", "--interior", "2000", "--format", "csv"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("summary over frames:\n"), "only the summary reaches a non-terminal stderr: {stderr:?}");
    assert!(!stderr.contains('\r') && !stderr.contains('\x1b') && !stderr.contains("ETA"), "{stderr:?}");
    let quiet =
        ok(&["run", &input, "--radii", &radii, "--frames", "0", "--walks", "2000", "--interior", "2000", "--format", "csv", "--quiet"]);
    assert!(quiet.stderr.is_empty());
}

#[test]
fn the_bundled_example_is_what_its_generator_writes() {
    let path = scratch("peptide.h5md");
    {
        let _lock = common::hdf5_fork_lock();
        make_peptide::write(&path).unwrap();
    }
    let (bundled, _) = example();
    let read = |p: &Path| hdf5::File::open(p).unwrap().dataset("particles/all/position/value").unwrap().read_raw::<f32>().unwrap();
    let fresh = read(&path);
    assert_eq!(fresh.len(), make_peptide::FRAMES * make_peptide::RESIDUES * 5 * 3);
    assert_eq!(fresh, read(Path::new(&bundled)));
}

#[test]
fn a_progress_bar_when_stderr_is_a_terminal() {
    if !Path::new("/usr/bin/script").exists() {
        eprintln!("skipped: util-linux's script, which gives the run a terminal, is not installed");
        return;
    }
    let (input, radii) = example();
    let out_file = scratch("tty.csv");
    let line = |extra: &str| {
        format!(
            "{} run {input} --radii {radii} --frames 0,1,2,3 --walks 2e4 --interior 2e4 --out {} {extra}",
            env!("CARGO_BIN_EXE_trajwalk"),
            s(&out_file)
        )
    };
    let tty = |command: String| {
        let _lock = common::hdf5_fork_lock();
        let out = std::process::Command::new("script").args(["-qec", &command, "/dev/null"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let shown = tty(line(""));
    assert!(shown.contains("/4 frames") && shown.contains("walks/s") && shown.contains("ETA"), "{shown:?}");
    let quiet = tty(line("--quiet"));
    assert!(!quiet.contains("/4 frames"), "{quiet:?}");
}
