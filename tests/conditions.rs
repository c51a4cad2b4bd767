//! Solution conditions and radii as a ZENO user gives them in the first hour: units
//! required on temperature, viscosity and mass; `--viscosity water` from IAPWS 2008;
//! `--mass auto` from standard atomic weights; a hydration shell added to the radii; and
//! the notes that say what a half-given set of conditions leaves out.

mod common;

use common::{example, s, trajwalk};
use serde_json::Value;
use std::path::PathBuf;
use trajwalk::analysis::{Analysis, Options};
use trajwalk::job::JobOptions;
use trajwalk::units::{self, Conditions, DALTON_KG};

fn scratch(name: &str) -> PathBuf {
    common::scratch("conditions", name)
}

fn bod(name: &str, text: &str) -> String {
    let path = scratch(name);
    std::fs::write(&path, text).unwrap();
    s(&path)
}

/// The error line of a run that must fail with exit 1.
fn error(args: &[&str]) -> String {
    let out = trajwalk(args);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stderr).unwrap().trim_end().to_string()
}

/// A successful run's JSON document and stderr.
fn json(args: &[&str]) -> (Value, String) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let out = trajwalk(&all);
    assert!(out.status.success(), "{all:?}: {}", String::from_utf8_lossy(&out.stderr));
    (serde_json::from_slice(&out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn notes(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("note: ")).collect()
}

#[test]
fn bare_numbers_are_refused_with_the_units_spelled_out() {
    let one = bod("bare.bod", "SPHERE 0 0 0 1\n");
    let run = |extra: &[&str]| {
        let mut args = vec!["run", one.as_str(), "--walks", "100", "--interior", "100"];
        args.extend(extra);
        error(&args)
    };
    assert_eq!(run(&["--temperature", "20"]), "error: invalid option: --temperature 20 needs a unit: 20C or 20K");
    assert_eq!(run(&["--temperature", "293.15"]), "error: invalid option: --temperature 293.15 needs a unit: 293.15C or 293.15K");
    assert_eq!(
        run(&["--temperature", "20C", "--viscosity", "0.001"]),
        "error: invalid option: --viscosity 0.001 needs a unit: 0.001Pa.s, 0.001cp or 0.001p (water at 20C is 0.001002Pa.s = 1.002cp), or water for water's viscosity at the temperature"
    );
    assert_eq!(
        run(&["--mass", "14300"]),
        "error: invalid option: --mass 14300 needs a unit: 14300Da, 14300kDa, 14300g or 14300kg (of one molecule), or auto for the selected atoms' standard atomic weights"
    );
    assert_eq!(
        run(&["--viscosity", "water"]),
        "error: invalid option: --viscosity water needs the temperature: give --temperature, e.g. 20C"
    );
    assert_eq!(
        run(&["--viscosity", "water", "--temperature", "150C"]),
        "error: invalid option: --viscosity water is liquid water's viscosity at atmospheric pressure, from 0C to 100C, but the temperature is 150C (423.15 K): give the viscosity with a unit"
    );
    assert_eq!(
        run(&["--mass", "auto"]),
        format!("error: invalid option: --mass auto sums the atoms' elements, but the spheres of {one} have none: give --mass with a unit (e.g. 14.3kDa) or MASS in the file")
    );
    assert_eq!(
        run(&["--radius-add", "-1"]),
        "error: invalid option: --radius-add -1 leaves 1 radius at or below zero (the smallest is 0 A): radii must stay positive"
    );
    // A .bod file's TEMP, VISCOSITY and MASS lines carry their units and still run; the
    // file's temperature is the one `water` is taken at.
    let with_temp = bod("temp.bod", "SPHERE 0 0 0 1\nTEMP 25 C\nVISCOSITY 1.002 cp\nMASS 18 Da\n");
    let (doc, _) = json(&["run", &with_temp, "--walks", "100", "--interior", "100", "--viscosity", "water"]);
    let c = &doc["parameters"]["conditions"];
    assert_eq!(c["viscosity_pa_s"].as_f64(), Some(units::water_viscosity(298.15).unwrap()));
    assert_eq!(c["viscosity_of_water"], true);
    assert_eq!(c["mass_kg"].as_f64(), Some(18.0 * DALTON_KG));
}

#[test]
fn water_viscosity_follows_iapws_2008() {
    // The release's own check values (IAPWS R12-08, table 4, eta2 = 1), in uPa s: the
    // formulation itself, to its printed digits.
    for (t, rho, want) in [
        (298.15, 998.0, 889.735100),
        (298.15, 1200.0, 1437.649467),
        (373.15, 1000.0, 307.883622),
        (433.15, 1.0, 14.538324),
        (433.15, 1000.0, 217.685358),
        (873.15, 1.0, 32.619287),
        (873.15, 100.0, 35.802262),
        (873.15, 600.0, 77.430195),
        (1173.15, 1.0, 44.217245),
        (1173.15, 100.0, 47.640433),
        (1173.15, 400.0, 64.154608),
    ] {
        let got = units::iapws_2008_viscosity(t, rho) * 1e6;
        assert!((got - want).abs() < 5e-7, "{t} K, {rho} kg/m^3: {got} uPa s, want {want}");
    }
    // Liquid water at atmospheric pressure against tabulated values (Pa s), within the 1 %
    // IAPWS states there (they agree to 0.2 %, 37 C's two digits being the loosest).
    for (celsius, want) in [(0.0, 0.0017914), (20.0, 0.0010016), (25.0, 0.00089), (37.0, 0.00069)] {
        let got = units::water_viscosity(celsius + 273.15).unwrap();
        assert!((got / want - 1.0).abs() < 0.01, "{celsius} C: {got} Pa s, want {want}");
        assert!((got / want - 1.0).abs() < 0.002, "{celsius} C: {got} Pa s, want {want}");
    }
    assert!(units::water_viscosity(273.15).is_ok() && units::water_viscosity(373.15).is_ok());
    assert!(units::water_viscosity(273.0).is_err() && units::water_viscosity(373.2).is_err());
}

#[test]
fn mass_auto_sums_standard_atomic_weights() {
    // Water, H2O = 18.015 Da.
    let pdb = scratch("water.pdb");
    std::fs::write(
        &pdb,
        "HETATM    1  OW  SOL A   1       0.000   0.000   0.000  1.00  0.00           O\n\
         HETATM    2  HW1 SOL A   1       0.957   0.000   0.000  1.00  0.00           H\n\
         HETATM    3  HW2 SOL A   1      -0.240   0.927   0.000  1.00  0.00           H\n\
         END\n",
    )
    .unwrap();
    let (doc, stderr) = json(&["run", &s(&pdb), "--walks", "1000", "--interior", "1000", "--mass", "auto"]);
    let mass = doc["parameters"]["conditions"]["mass_kg"].as_f64().unwrap();
    assert!((mass / DALTON_KG - 18.015).abs() < 1e-9, "{}", mass / DALTON_KG);
    assert_eq!(doc["parameters"]["conditions"]["mass_from_elements"], true);
    assert!(doc["frames"][0]["intrinsic_viscosity_mass_units"]["value"].as_f64().unwrap() > 0.0);
    assert_eq!(
        notes(&stderr),
        [
            "note: --mass auto: 18.015 Da, H2O (3 atoms)",
            "note: no sedimentation coefficient: it needs a viscosity (--viscosity, e.g. 1.002cp, or water) and a buoyancy factor 1 - v_bar rho (--buoyancy-factor, e.g. 0.27) besides the mass"
        ]
    );

    // The bundled peptide's N, CA, C, O, CB atoms: counted here, weighed by hand.
    let input = example("peptide.h5md");
    let options = Options {
        job: JobOptions { conditions: Conditions { mass_from_elements: true, ..Default::default() }, ..Default::default() },
        ..Default::default()
    };
    let analysis = Analysis::open(&input, options).unwrap();
    let atoms = &analysis.job().trajectory.topology.atoms;
    let count = |e: &str| atoms.iter().filter(|a| a.element == Some(e)).count();
    let (c, n, o) = (count("C"), count("N"), count("O"));
    assert_eq!(c + n + o, atoms.len(), "the peptide has only C, N and O atoms");
    let want = c as f64 * 12.011 + n as f64 * 14.007 + o as f64 * 15.999;
    let got = analysis.job().conditions.mass_kg.unwrap() / DALTON_KG;
    assert!((got - want).abs() < 1e-9, "{got} Da, want {want}");
    assert_eq!(
        analysis.notes()[0],
        format!(
            "--mass auto: {want:.3} Da, C{c}N{n}O{o} ({} atoms); the selection has fewer hydrogens than carbons (0 H), so the mass counts only the atoms present (a united-atom or heavy-atom model weighs less than the molecule)",
            atoms.len()
        )
    );

    // An atom without an element is named.
    let tip4p = scratch("tip4p.pdb");
    std::fs::write(
        &tip4p,
        "HETATM    1  OW  SOL A   1       0.000   0.000   0.000  1.00  0.00           O\n\
         HETATM    2  MW  SOL A   1       0.100   0.100   0.000  1.00  0.00\n\
         END\n",
    )
    .unwrap();
    assert_eq!(
        error(&["run", &s(&tip4p), "--radius", "1.5", "--walks", "100", "--interior", "100", "--mass", "auto"]),
        "error: invalid option: --mass auto needs every selected atom's element, but 1 atom has none: MW in SOL (1); give --topology, leave them out with --select, or give --mass with a unit"
    );
}

#[test]
fn a_shell_grows_a_sphere_to_radius_r_plus_d() {
    // The launch sphere at 3 Angstrom makes walks escape, so the capacitance has a spread.
    let run = |file: &str, extra: &[&str]| {
        let mut args = vec!["run", file, "--walks", "40000", "--interior", "20000", "--launch-radius", "3", "-q"];
        args.extend(extra);
        let (mut doc, _) = json(&args);
        let frame = doc["frames"][0].as_object_mut().unwrap();
        frame.remove("seconds");
        (Value::Object(frame.clone()), doc["parameters"].clone())
    };
    let r1 = bod("r1.bod", "SPHERE 0 0 0 1\n");
    let r15 = bod("r15.bod", "SPHERE 0 0 0 1.5\n");
    let (shell, parameters) = run(&r1, &["--radius-add", "0.5"]);
    assert_eq!(parameters["radius_add"], 0.5);
    let (rh, sd) = (shell["hydrodynamic_radius"]["value"].as_f64().unwrap(), shell["hydrodynamic_radius"]["std"].as_f64().unwrap());
    assert!(sd > 0.0 && (rh - 1.5).abs() <= 4.0 * sd, "Rh {rh} +- {sd}, want 1.5");
    // Exactly the body of a sphere of radius 1.5: the same numbers, bit for bit.
    assert_eq!(shell, run(&r15, &[]).0);
    // After the scale: 1 x 2 + 0.5.
    let r25 = bod("r25.bod", "SPHERE 0 0 0 2.5\n");
    assert_eq!(run(&r1, &["--radius-scale", "2", "--radius-add", "0.5"]).0, run(&r25, &[]).0);
    // A .bod in nm takes the shell in Angstrom: 0.1 nm + 5 A = 0.6 nm.
    let nm = bod("nm.bod", "HUNITS 1 nm\nSPHERE 0 0 0 0.1\n");
    let (frame, _) = {
        let (doc, e) = json(&["run", &nm, "--walks", "40000", "--interior", "1000", "--launch-radius", "1", "--radius-add", "5", "-q"]);
        (doc["frames"][0].clone(), e)
    };
    let (rh, sd) = (frame["hydrodynamic_radius"]["value"].as_f64().unwrap(), frame["hydrodynamic_radius"]["std"].as_f64().unwrap());
    assert!(sd > 0.0 && (rh - 0.6).abs() <= 4.0 * sd, "Rh {rh} +- {sd} nm, want 0.6");
    let generic = bod("generic.bod", "UNITS L\nSPHERE 0 0 0 1\n");
    assert_eq!(
        error(&["run", &generic, "--radius-add", "1"]),
        format!("error: invalid option: --radius-add is in Angstrom, but {generic} is in generic units (L): set HUNITS")
    );
}

#[test]
fn notes_say_what_is_missing_once_on_stderr() {
    let one = bod("notes.bod", "HUNITS 1 A\nSPHERE 0 0 0 1\n");
    let stderr = |extra: &[&str]| {
        let mut args = vec!["run", one.as_str(), "--walks", "200", "--interior", "200", "--format", "csv"];
        args.extend(extra);
        let out = trajwalk(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stderr).unwrap()
    };
    let e = stderr(&["--temperature", "20C"]);
    assert_eq!(
        notes(&e),
        ["note: no diffusion coefficient: it needs a viscosity (--viscosity, e.g. 1.002cp, or water) besides the temperature"]
    );
    assert!(e.starts_with("note: "), "notes come first: {e}");
    let e = stderr(&["--viscosity", "1.002cp", "--buoyancy-factor", "0.27", "--radius-scale", "0.1"]);
    assert_eq!(
        notes(&e),
        [
            "note: --radius-scale 0.1 multiplies every radius by 0.1, outside the usual 0.5 to 2: 10 % larger radii are --radius-scale 1.1, a hydration shell of D Angstrom is --radius-add D",
            "note: no diffusion coefficient: it needs a temperature (--temperature, e.g. 20C) besides the viscosity",
            "note: no sedimentation coefficient: it needs a mass (--mass, e.g. 14.3kDa, or auto) besides the viscosity and the buoyancy factor",
        ]
    );
    // Everything given, or nothing: no note. --quiet: none either.
    assert!(notes(&stderr(&["--temperature", "20C", "--viscosity", "water", "--mass", "18Da", "--buoyancy-factor", "0.27"])).is_empty());
    assert!(notes(&stderr(&[])).is_empty());
    assert!(notes(&stderr(&["--temperature", "20C", "--quiet"])).is_empty());
    // The example's TEMP and VISCOSITY give D and ask for nothing more.
    assert!(notes(&stderr(&[])).is_empty());
    let two = example("two_spheres.bod");
    let out = trajwalk(&["run", &two, "--walks", "200", "--interior", "200", "--format", "csv"]);
    assert!(notes(&String::from_utf8_lossy(&out.stderr)).is_empty());
}
