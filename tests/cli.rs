//! The `trajwalk run` command: its JSON contract, CSV, output file, and exact errors.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn trajwalk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trajwalk")).args(args).output().expect("the binary runs")
}

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/two_spheres.bod").display().to_string()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("trajwalk-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn json_run(extra: &[&str]) -> Value {
    let ex = example();
    let mut args = vec!["run", ex.as_str(), "--walks", "2e4", "--interior", "2e4", "--format", "json"];
    args.extend_from_slice(extra);
    let out = trajwalk(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

#[test]
fn json_follows_the_contract() {
    let doc = json_run(&["--threads", "2", "--mass", "2.5kDa", "--buoyancy-factor", "0.27"]);
    for key in ["version", "input", "parameters", "plan", "frames"] {
        assert!(doc.get(key).is_some(), "missing {key}");
    }
    assert_eq!(doc["plan"]["threads"], 2);
    let frame = &doc["frames"][0];
    assert_eq!(frame["frame"], 0);
    assert_eq!(frame["length_unit"], "nm");
    assert_eq!(frame["walks"], 20000);
    assert_eq!(frame["interior_samples"], 20000);
    for scalar in [
        "capacitance",
        "hydrodynamic_radius",
        "mean_polarizability",
        "intrinsic_conductivity",
        "q_eta",
        "intrinsic_viscosity",
        "viscometric_radius",
        "volume",
        "radius_of_gyration",
        "equal_volume_sphere_capacitance",
    ] {
        let q = &frame[scalar];
        assert!(q["value"].as_f64().unwrap().is_finite() && q["std"].as_f64().unwrap() > 0.0, "{scalar}: {q}");
    }
    for vector in ["polarizability_eigenvalues", "gyration_eigenvalues"] {
        assert_eq!(frame[vector]["value"].as_array().unwrap().len(), 3);
        assert_eq!(frame[vector]["std"].as_array().unwrap().len(), 3);
    }
    for tensor in ["polarizability_tensor", "gyration_tensor"] {
        let rows = frame[tensor]["value"].as_array().unwrap();
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|r| r.as_array().unwrap().len() == 3));
    }
    // The example sets TEMP and VISCOSITY; mass and buoyancy factor came from the options.
    assert_eq!(frame["friction_coefficient"]["unit"], "g/s");
    assert_eq!(frame["diffusion_coefficient"]["unit"], "cm^2/s");
    assert_eq!(frame["sedimentation_coefficient"]["unit"], "S");
    // D = kT / (6 pi eta Rh) at 293.15 K, 1.002 cp, Rh = C (nm).
    let rh_m = frame["hydrodynamic_radius"]["value"].as_f64().unwrap() * 1e-9;
    let d = 1.380649e-23 * 293.15 / (6.0 * std::f64::consts::PI * 1.002e-3 * rh_m) * 1e4;
    let got = frame["diffusion_coefficient"]["value"].as_f64().unwrap();
    assert!((got / d - 1.0).abs() < 1e-12, "{got} vs {d}");
    // Model uncertainty is reported apart from the Monte Carlo std.
    let rh = frame["hydrodynamic_radius"]["value"].as_f64().unwrap();
    assert!((frame["hydrodynamic_radius"]["model_std"].as_f64().unwrap() - 0.01 * rh).abs() < 1e-15);
}

#[test]
fn thread_count_does_not_change_a_single_bit() {
    let strip = |mut v: Value| {
        for f in v["frames"].as_array_mut().unwrap() {
            f.as_object_mut().unwrap().remove("seconds");
        }
        v["frames"].clone()
    };
    assert_eq!(strip(json_run(&["--threads", "1"])), strip(json_run(&["--threads", "2"])));
}

#[test]
fn csv_has_a_header_and_one_row_per_frame() {
    let ex = example();
    let out = trajwalk(&["run", &ex, "--walks", "5000", "--interior", "5000", "--format", "csv"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(
        &header[..9],
        &["frame", "time", "step", "spheres", "length_unit", "walks", "interior_samples", "capacitance", "capacitance_std"]
    );
    assert!(header.contains(&"gyration_eigenvalues_3_std"));
    assert_eq!(lines[1].split(',').count(), header.len());
}

#[test]
fn out_file_is_written_whole_and_by_extension() {
    let dir = scratch("out");
    let path = dir.join("result.json");
    let ex = example();
    let out = trajwalk(&["run", &ex, "--walks", "3000", "--interior", "3000", "--out", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(doc["frames"][0]["walks"], 3000);
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "no temporary file is left behind: {leftovers:?}");
    // Writing into a missing directory fails cleanly and leaves nothing.
    let bad = dir.join("missing/result.json");
    let out = trajwalk(&["run", &ex, "--walks", "100", "--interior", "100", "--out", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write"));
    std::fs::remove_dir_all(dir).unwrap();
}

fn error_of(bod: Option<&str>, extra: &[&str]) -> String {
    let dir = scratch("err");
    let path = dir.join("input.bod");
    if let Some(text) = bod {
        std::fs::write(&path, text).unwrap();
    }
    let mut args = vec!["run", path.to_str().unwrap(), "--interior", "100"];
    if !extra.contains(&"--walks") {
        args.extend_from_slice(&["--walks", "100"]);
    }
    args.extend_from_slice(extra);
    let out = trajwalk(&args);
    assert_eq!(out.status.code(), Some(1), "bad input must exit 1, not succeed or panic");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
    stderr.trim_end().replace(path.to_str().unwrap(), "input.bod")
}

#[test]
fn bad_input_gets_a_clear_error_and_exit_1() {
    assert_eq!(error_of(None, &[]), "error: cannot read input.bod: No such file or directory (os error 2)");
    assert_eq!(error_of(Some("SPHERE 0 0 NaN 1\n"), &[]), "error: input.bod, line 1: SPHERE: 'NaN' is not a finite number");
    assert_eq!(error_of(Some("SPHERE 0 0 0 0\n"), &[]), "error: input.bod, line 1: SPHERE radius must be positive, got 0");
    assert_eq!(error_of(Some("SPHERE 0 0 0 -3\n"), &[]), "error: input.bod, line 1: SPHERE radius must be positive, got -3");
    assert_eq!(
        error_of(Some("SPHERE 0 0 0 1\nSPHERE 0 0 1 1e25\n"), &[]),
        "error: invalid body: sphere 1 has radius 1e25, above 1e18, the largest the f32 storage holds: give the lengths in a larger unit"
    );
    assert_eq!(
        error_of(Some("SPHERE 0 0 0 1e-300\n"), &[]),
        "error: invalid body: sphere 0 has radius 1e-300, below 1.1754943508222875e-38, the smallest the f32 storage holds: \
         give the lengths in a smaller unit"
    );
    assert_eq!(error_of(Some("SPHERE 0 0 zero 1\n"), &[]), "error: input.bod, line 1: SPHERE: 'zero' is not a number");
    assert_eq!(error_of(Some("# empty\n"), &[]), "error: invalid body: input.bod defines no SPHERE");
    assert_eq!(error_of(Some("SPHERE 0 0 0 1\n"), &["--walks", "0"]), "error: invalid option: --walks must be at least 1");
    assert_eq!(
        error_of(Some("SPHERE 0 0 0 1\n"), &["--temperature", "hot"]),
        "error: invalid option: 'hot' is not a number with an optional unit"
    );
    assert_eq!(
        error_of(Some("SPHERE 0 0 0 1\n"), &["--max-rsd-capacitance=-1"]),
        "error: invalid option: --max-rsd-capacitance must be a positive percentage, got -1"
    );
    assert_eq!(
        error_of(Some("SPHERE 0 0 0 1\nHUNITS 1 L\n"), &["--viscosity", "1cp"]),
        "error: invalid option: transport coefficients need a physical length unit, but input.bod is in generic units (L): set HUNITS"
    );
    assert!(error_of(Some("SPHERE 0 0 0 1\n"), &["--launch-radius", "0.5"])
        .starts_with("error: input.bod: frame 0: invalid option: launch radius 0.5 does not enclose the body"));
}

#[test]
fn malformed_options_are_usage_errors_with_exit_2() {
    for (args, message) in [
        (vec!["--walks", "many"], "error: invalid value 'many' for '--walks <WALKS>': 'many' is not a number"),
        (vec!["--gpu-batch", "0"], "error: invalid value '0' for '--gpu-batch <N>': a batch needs at least one walk or sample"),
    ] {
        let ex = example();
        let mut all = vec!["run", ex.as_str()];
        all.extend(args);
        let out = trajwalk(&all);
        assert_eq!(out.status.code(), Some(2), "{all:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr).lines().next(), Some(message));
    }
}

#[test]
fn the_table_is_readable() {
    let ex = example();
    let out = trajwalk(&["run", &ex, "--walks", "2000", "--interior", "2000", "--threads", "1"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("2000 walks"));
    assert!(text.lines().any(|l| l.trim_start().starts_with("capacitance ") && l.contains("+-") && l.trim_end().ends_with("nm")));
    assert!(text.lines().any(|l| l.contains("diffusion_coefficient") && l.contains("cm^2/s")));
}

#[test]
fn runs_report_their_plan_task_times_and_verification() {
    let doc = json_run(&["--strategy", "serial", "--verify", "1"]);
    let plan = &doc["plan"];
    assert_eq!((plan["strategy"].as_str(), plan["workers"].as_u64(), plan["threads"].as_u64()), (Some("serial"), Some(1), Some(1)));
    assert_eq!(plan["worker_tasks"][0]["tasks"][0]["frames"], 1);
    assert!(plan["worker_tasks"][0]["tasks"][0]["seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(doc["verification"]["frames_checked"], 1);
    assert_eq!(doc["verification"]["passed"], true);
    // The same frame under another strategy: the same numbers, bit for bit.
    let threads = json_run(&["--strategy", "threads", "--threads", "2"]);
    assert_eq!(threads["plan"]["strategy"], "threads");
    assert_eq!(threads["frames"][0]["capacitance"], doc["frames"][0]["capacitance"]);
    assert_eq!(threads["frames"][0]["polarizability_tensor"], doc["frames"][0]["polarizability_tensor"]);
}

#[test]
fn plan_prints_candidates_without_running() {
    let ex = example();
    let out = trajwalk(&["plan", &ex, "--walks", "1e5", "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let plan = &doc["plan"];
    for key in ["strategy", "workers", "threads", "chunk_frames", "reason", "profile", "candidates"] {
        assert!(plan.get(key).is_some(), "missing {key}");
    }
    let candidates = plan["candidates"].as_array().unwrap();
    assert!(!candidates.is_empty());
    for c in candidates {
        for key in ["strategy", "workers", "threads", "predicted_seconds", "predicted_memory_bytes"] {
            assert!(c.get(key).is_some(), "candidate missing {key}: {c}");
        }
    }
    assert!(plan["profile"]["seconds_per_walk"].as_f64().unwrap() > 0.0);
    assert!(doc.get("frames").is_none(), "plan must not run the frames");
    let zero = trajwalk(&["run", &ex, "--workers", "0"]);
    assert_eq!(zero.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&zero.stderr).trim_end(), "error: invalid option: --workers must be at least 1");
}

#[test]
fn the_out_extension_picks_the_format_in_any_case_and_an_unknown_one_is_refused() {
    let dir = scratch("ext");
    let ex = example();
    let upper = dir.join("o.JSON");
    let out = trajwalk(&["run", &ex, "--walks", "500", "--interior", "500", "--quiet", "--out", upper.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&std::fs::read(&upper).unwrap()).expect("o.JSON holds JSON");
    assert_eq!(doc["frames"][0]["walks"], 500);
    let unknown = dir.join("x.jsn");
    for command in ["run", "plan"] {
        let out = trajwalk(&[command, &ex, "--walks", "500", "--interior", "500", "--out", unknown.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim_end().replace(unknown.to_str().unwrap(), "x.jsn"),
            "error: --out x.jsn: the extension .jsn names no output format; use .json, .csv, .h5 (.h5md, .hdf5) or .txt (a table), \
             or give --format"
        );
    }
    assert!(!unknown.exists(), "nothing is written under a refused name");
    // --format settles it whatever the extension.
    let out =
        trajwalk(&["run", &ex, "--walks", "500", "--interior", "500", "--quiet", "--format", "csv", "--out", unknown.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_to_string(&unknown).unwrap().starts_with("frame,time,step"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// A radius f32 cannot hold is refused before any frame is read, naming the atom (its
/// index in the input and its name): 1e25 panicked in the BVH, 1e-300 became a sphere of
/// radius 0 with a "capacitance" of 2e-306.
#[test]
fn radii_the_f32_body_cannot_hold_are_refused_naming_the_atom() {
    let peptide = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/peptide.h5md").display().to_string();
    for (radius, why) in [
        ("1e25", "has radius 1e25, above 1e18, the largest the f32 storage holds: give the lengths in a larger unit"),
        (
            "1e-300",
            "has radius 1e-300, below 1.1754943508222875e-38, the smallest the f32 storage holds: give the lengths in a smaller unit",
        ),
    ] {
        let out = trajwalk(&["run", &peptide, "--radius", radius, "--walks", "100", "--interior", "100"]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(String::from_utf8_lossy(&out.stderr).trim_end(), format!("error: invalid body: atom 0 (N) {why}"));
    }
}

/// A legal name of 254 characters is written: its temporary name, longer still, was refused
/// "File name too long".
#[test]
fn an_out_name_of_254_characters_is_written() {
    let dir = scratch("long");
    let path = dir.join(format!("{}.csv", "r".repeat(250)));
    assert_eq!(path.file_name().unwrap().len(), 254);
    let ex = example();
    let out = trajwalk(&["run", &ex, "--walks", "200", "--interior", "200", "--quiet", "--out", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_to_string(&path).unwrap().starts_with("frame,time,step"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// `--estimator zeno` is trajwalk's numbers from before the hit-point estimator, bit for bit:
/// these are what the build of commit 379c381 printed for the same command (JSON floats
/// round-trip exactly). The default estimator gives other numbers from the same walks.
#[test]
fn the_zeno_estimator_is_the_bits_of_before_and_the_default_uses_the_same_walks() {
    let zeno = json_run(&["--seed", "5", "--estimator", "zeno"]);
    let f = &zeno["frames"][0];
    assert_eq!(zeno["parameters"]["sampling"]["estimator"], "zeno");
    assert_eq!(f["capacitance"]["value"].as_f64(), Some(1.3861027597609785));
    assert_eq!(f["capacitance"]["std"].as_f64(), Some(0.005441521718125116));
    assert_eq!(f["mean_polarizability"]["value"].as_f64(), Some(34.601028014037375));
    assert_eq!(f["mean_polarizability"]["std"].as_f64(), Some(0.3983035653929209));
    assert_eq!(f["intrinsic_viscosity"]["value"].as_f64(), Some(3.318856791884772));
    let pairs = json_run(&["--seed", "5"]);
    let p = &pairs["frames"][0];
    assert_eq!(pairs["parameters"]["sampling"]["estimator"], "hit-points");
    assert_eq!((&p["hits"], &p["steps_per_walk"]), (&f["hits"], &f["steps_per_walk"]), "the same walks");
    assert_ne!(p["capacitance"]["value"], f["capacitance"]["value"]);
    let std = |d: &Value| d["capacitance"]["std"].as_f64().unwrap();
    assert!(std(p) < std(f) / 5.0, "the pairs' std {} against the hit fraction's {}", std(p), std(f));
}
