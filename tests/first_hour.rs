//! What a ZENO and MDAnalysis user trips over in the first hour, each fixed and kept so:
//! ZENO's own option names, Python-style negative frame positions, the planner's walks for a
//! capacitance target alone, `--verify` said on stderr whatever the format, a one-frame
//! summary that reads as a value with its std.

mod common;

use common::{example, ok, s, trajwalk};
use serde_json::Value;

#[test]
fn zenos_option_names_are_accepted() {
    let bod = example("two_spheres.bod");
    let zeno = ok(&["run", "--input-file", &bod, "--num-walks", "3000", "--num-interior-samples", "1000", "--format", "json", "-q"]);
    let ours = ok(&["run", &bod, "--walks", "3000", "--interior", "1000", "--format", "json", "-q"]);
    let frame = |o: &std::process::Output| {
        let mut f = serde_json::from_slice::<Value>(&o.stdout).unwrap()["frames"][0].clone();
        f.as_object_mut().unwrap().remove("seconds");
        f
    };
    assert_eq!(frame(&zeno), frame(&ours));
    assert_eq!(frame(&zeno)["walks"], 3000);
    let both = trajwalk(&["run", &bod, "--input-file", &bod]);
    assert_eq!(both.status.code(), Some(2), "INPUT and --input-file conflict");
}

#[test]
fn negative_start_and_stop_count_from_the_end() {
    let (input, radii) = (example("peptide.h5md"), example("united-atom.radii"));
    let frames = |extra: &[&str]| {
        let mut args =
            vec!["run", input.as_str(), "--radii", radii.as_str(), "--walks", "200", "--interior", "200", "--format", "csv", "-q"];
        args.extend(extra);
        let out = ok(&args);
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().parse::<usize>().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(frames(&["--start", "-3"]), [45, 46, 47]);
    assert_eq!(frames(&["--start", "-5", "--stop", "-3"]), [43, 44]);
    let out = trajwalk(&["run", &input, "--start", "-100"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: invalid option: --start -100 is before the first of the input's 48 frames"
    );
}

#[test]
fn a_capacitance_target_alone_budgets_the_walks_it_needs_not_the_cap() {
    let (input, radii) = (example("peptide.h5md"), example("united-atom.radii"));
    let walks = |estimator: &str| {
        let args = ["plan", &input, "--radii", &radii, "--stop", "4", "--max-rsd-capacitance", "0.5", "--estimator", estimator];
        let out = ok(&[&args[..], &["--format", "json"]].concat());
        let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
        plan["plan"]["profile"]["walks_per_frame"].as_u64().unwrap()
    };
    // Rh of this peptide to 0.5% takes about 6e4 walks by the hit fraction (1e6 is the cap),
    // and a few thousand by the pairs of hit points, whose error falls like 1/N.
    let zeno = walks("zeno");
    assert!((20_000..300_000).contains(&zeno), "{zeno} walks per frame predicted for ZENO's estimator");
    let pairs = walks("hit-points");
    assert!((500..10_000).contains(&pairs), "{pairs} walks per frame predicted for the hit points");
}

#[test]
fn verify_speaks_on_stderr_whatever_the_format() {
    let bod = example("two_spheres.bod");
    for format in ["csv", "table", "json"] {
        let out = ok(&["run", &bod, "--walks", "2000", "--interior", "2000", "--verify", "1", "--format", format]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.lines().any(|l| l == "verification: 1 frame(s) recomputed with the serial reference are identical, bit for bit"),
            "{format}: {stderr}"
        );
    }
}

#[test]
fn a_one_frame_summary_reads_as_a_value_with_its_std() {
    let out = ok(&["run", &example("two_spheres.bod"), "--walks", "2e4", "--interior", "2e4", "--format", "csv"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let row = stderr.lines().find(|l| l.trim_start().starts_with("capacitance ")).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    // capacitance, frames 1, n_eff n/a, then "1.3868 +- 0.0090 (MC)": no forced exponent.
    assert_eq!(&cells[..3], ["capacitance", "1", "n/a"], "{row}");
    assert_eq!((cells[4], cells[6]), ("+-", "(MC)"), "{row}");
    let value: f64 = cells[3].parse().unwrap();
    assert!((value - 2.0 * 2f64.ln()).abs() < 0.05, "{row}");
}

#[test]
fn the_plan_reads_as_a_report() {
    let (input, radii) = (example("peptide.h5md"), example("united-atom.radii"));
    let out = ok(&["plan", &input, "--radii", &radii, "--stop", "6", "--walks", "2000", "--interior", "2000"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('{'), "no raw JSON in the report:\n{text}");
    let lines: Vec<&str> = text.lines().collect();
    let header = lines.iter().position(|l| l.trim_start().starts_with("strategy workers")).expect("a table header");
    let rows: Vec<&str> = lines[header..].iter().take_while(|l| l.starts_with("  ")).copied().collect();
    assert!(rows.len() >= 2, "{text}");
    assert!(rows.iter().all(|r| r.len() == rows[0].len()), "aligned columns:\n{text}");
    for r in &rows[1..] {
        let cells: Vec<&str> = r.split_whitespace().collect();
        let per_task: usize = cells[3].parse().unwrap();
        assert!((1..=6).contains(&per_task), "frames per task capped by the 6 frames: {r}");
        assert!(r.ends_with(" MB") || r.ends_with(" kB"), "memory in human units: {r}");
    }
    let out = trajwalk(&["plan", &input, "--radii", &radii, "--stop", "6", "--max-memory", "1000"]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.starts_with("error: invalid option: no strategy fits --max-memory 1000 bytes (1.0 kB): the smallest needs about "), "{e}");
    assert!(e.trim_end().ends_with(" MB"), "{e}");
}

#[test]
fn a_length_unit_that_contradicts_the_file_is_refused() {
    // The bundled peptide states its positions in Angstrom ("A").
    let (input, radii) = (example("peptide.h5md"), example("united-atom.radii"));
    let out = trajwalk(&["run", &input, "--radii", &radii, "--length-unit", "nm", "--frames", "0"]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.starts_with("error: invalid option: --length-unit nm: "), "{e}");
    assert!(e.contains(" states its unit, '") && e.trim_end().ends_with("'; --length-unit is only for files without one"), "{e}");
    ok(&["run", &input, "--radii", &radii, "--length-unit", "Angstrom", "--frames", "0", "--walks", "200", "--interior", "200", "-q"]);
}

#[test]
fn a_bod_without_hunits_says_which_unit_it_assumed_for_transport() {
    let dir = common::scratch("first-hour", "hunits");
    std::fs::create_dir_all(&dir).unwrap();
    let bod = dir.join("s.bod");
    std::fs::write(&bod, "SPHERE 0 0 0 10\n").unwrap();
    let out =
        ok(&["run", &s(&bod), "--walks", "2000", "--interior", "2000", "--temperature", "20C", "--viscosity", "1cp", "--format", "csv"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let note = format!(
        "note: {} has no HUNITS line: its lengths are taken as Angstrom for the transport coefficients (add e.g. HUNITS 1 nm if they are not)",
        s(&bod)
    );
    assert!(stderr.lines().any(|l| l == note), "{stderr}");
    std::fs::write(&bod, "HUNITS 1 nm\nSPHERE 0 0 0 1\n").unwrap();
    let out =
        ok(&["run", &s(&bod), "--walks", "2000", "--interior", "2000", "--temperature", "20C", "--viscosity", "1cp", "--format", "csv"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("HUNITS"));
}
