//! `trajwalk run` on trajectory inputs: the real files in ../shared/data, memory that does not
//! grow with the trajectory, and an exact message with a non-zero exit for every kind of
//! bad input.

mod common;

use common::h5::{positions, H5md, Save};
use common::trajwalk;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    common::scratch("inputs", name)
}

use common::s;

fn json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let out = trajwalk(&all);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs, expects exit status 1 and exactly `message` on stderr, and no panic.
fn fails_with(args: &[&str], message: &str) {
    let out = trajwalk(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end(), format!("error: {message}"), "{args:?}");
}

fn small(path: &Path) {
    let mut f = H5md::new(positions(3, 3, |i, a| [1.6 * a as f64, 0.01 * i as f64, 0.0]));
    f.species = Some(vec![6, 6, 8]);
    f.write(path);
}

#[test]
fn cobrotoxin_protein_from_h5md_with_its_pdb_topology() {
    let (Some(h5), Some(pdb)) = (common::shared_data("cobrotoxin.h5md"), common::shared_data("cobrotoxin.pdb")) else { return };
    let doc = json(&["run", &s(&h5), "--topology", &s(&pdb), "--select", "protein", "--walks", "2e4", "--interior", "2e4"]);
    assert_eq!(doc["parameters"]["atoms_in_input"], 19385);
    assert_eq!(doc["parameters"]["atoms_selected"], 918);
    let frames = doc["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 3);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f["frame"], i);
        assert_eq!(f["spheres"], 918);
        assert_eq!(f["time_unit"], "ps");
        assert_eq!(f["length_unit"], "A");
        // A 62-residue protein with its hydrogens: Rh near 15 A and Rg near 12 A; a body
        // split across the box (an unwrap failure) or read in nm instead of Angstrom would
        // be far off both.
        let rh = f["hydrodynamic_radius"]["value"].as_f64().unwrap();
        let rg = f["radius_of_gyration"]["value"].as_f64().unwrap();
        assert!((13.0..17.0).contains(&rh) && (10.5..14.0).contains(&rg), "frame {i}: Rh {rh}, Rg {rg}");
    }
    assert_eq!(frames[1]["time"], 50.0);
    assert_eq!(frames[2]["step"], 50000);
    // The whole system: TIP4P's virtual sites (MW) have no element, and the error says
    // which atoms they are rather than that the input names no elements.
    fails_with(
        &["run", &s(&pdb), "--walks", "100"],
        "invalid option: no radius in table 'bondi' for element (none) (4612 atoms: MW in SOL); the input gives those atoms no element and none can be guessed from their names: leave them out with --select, give --topology, --radii-key name with --radii FILE, or --radius R",
    );
}

#[test]
fn zenos_radii_table_gives_its_radii_and_names_what_it_lacks() {
    // A carbon and a sulfur 10 A apart: two separate spheres, so the volume is exactly
    // 4/3 pi (1.70^3 + 1.85^3) with ZENO's converter radii (Bondi's S is 1.80).
    let path = scratch("c_s.h5md");
    let mut f = H5md::new(positions(1, 2, |_, a| [10.0 * a as f64, 0.0, 0.0]));
    f.species = Some(vec![6, 16]);
    f.write(&path);
    let doc = json(&["run", &s(&path), "--radii", "zeno", "--walks", "1000", "--interior", "2e5"]);
    assert_eq!(doc["parameters"]["radii"]["table"], "zeno");
    let v = &doc["frames"][0]["volume"];
    let exact = 4.0 / 3.0 * std::f64::consts::PI * (1.70f64.powi(3) + 1.85f64.powi(3));
    let z = (v["value"].as_f64().unwrap() - exact) / v["std"].as_f64().unwrap();
    assert!(z.abs() < 4.0, "V = {v}, exact {exact}, z = {z}");
    let path = scratch("c_na.h5md");
    let mut f = H5md::new(positions(1, 2, |_, a| [10.0 * a as f64, 0.0, 0.0]));
    f.species = Some(vec![6, 11]);
    f.write(&path);
    fails_with(
        &["run", &s(&path), "--radii", "zeno"],
        "invalid option: no radius in table 'zeno' for element Na (1 atom); add them to a --radii FILE",
    );
}

#[test]
fn copper_elements_come_from_the_species_dataset() {
    let Some(cu) = common::shared_data("cu.h5md") else { return };
    let doc = json(&["run", &s(&cu), "--walks", "2000", "--interior", "2000", "--frames", "0,19"]);
    assert_eq!(doc["parameters"]["frames_in_input"], 20);
    let frames = doc["frames"].as_array().unwrap();
    assert_eq!(frames.iter().map(|f| f["frame"].as_u64().unwrap()).collect::<Vec<_>>(), vec![0, 19]);
    assert_eq!(frames[0]["spheres"], 108);
    assert_eq!(frames[1]["time_unit"], "fs");
    // Bondi's copper radius, 1.40 A, sets the volume: 108 spheres overlapping in an fcc
    // lattice of 3.61 A, so less than 108 separate spheres' volume and more than half of it.
    let v = frames[0]["volume"]["value"].as_f64().unwrap();
    let separate = 108.0 * 4.0 / 3.0 * std::f64::consts::PI * 1.4f64.powi(3);
    assert!(v < separate && v > 0.5 * separate, "V = {v}, separate spheres {separate}");
}

#[test]
fn tiny5_without_elements_needs_a_radius() {
    let Some(tiny) = common::shared_data("tiny5.h5md") else { return };
    fails_with(
        &["run", &s(&tiny)],
        "invalid option: no radius in table 'bondi' for element (none) (5 atoms); the input names no elements: give --topology, --radii-key name with --radii FILE, or --radius R",
    );
    let doc = json(&["run", &s(&tiny), "--radius", "1.0", "--walks", "2000", "--interior", "2000"]);
    assert_eq!(doc["frames"].as_array().unwrap().len(), 5);
    assert_eq!(doc["frames"][4]["spheres"], 5);
}

#[test]
fn memory_does_not_grow_with_the_trajectory() {
    // 600 frames of 20,000 atoms in f32: 144 MB of coordinates, to run in well under 100 MB.
    let path = scratch("long.h5md");
    let (frames, atoms) = (600usize, 20_000usize);
    {
        let _lock = common::hdf5_fork_lock();
        let file = hdf5::File::create(&path).unwrap();
        file.create_group("h5md").unwrap();
        let pos = file.create_group("particles").unwrap().create_group("all").unwrap().create_group("position").unwrap();
        let ds = pos.new_dataset::<f32>().chunk((1, atoms, 3)).shape((frames, atoms, 3)).create("value").unwrap();
        common::h5::text_attr(&ds, "unit", "Angstrom");
        let side = 28usize;
        for f in 0..frames {
            let frame = ndarray::Array3::from_shape_fn((1, atoms, 3), |(_, a, k)| {
                let cell = [a % side, (a / side) % side, a / (side * side)];
                (cell[k] as f32) * 2.5 + 0.001 * f as f32
            });
            ds.write_slice(&frame, ndarray::s![f..f + 1, .., ..]).unwrap();
        }
    }
    assert!(std::fs::metadata(&path).unwrap().len() >= 144_000_000);
    let doc = json(&["run", &s(&path), "--radius", "1.5", "--walks", "64", "--interior", "64", "--threads", "2", "--stop", "600"]);
    assert_eq!(doc["frames"].as_array().unwrap().len(), 600);
    let peak = doc["peak_memory_bytes"].as_u64().unwrap();
    eprintln!("peak resident memory: {:.1} MB for {frames} frames of {atoms} atoms", peak as f64 / 1e6);
    assert!(peak < 60_000_000, "peak resident memory {peak} bytes");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn missing_truncated_and_foreign_files_are_named() {
    let missing = scratch("absent.h5md");
    fails_with(&["run", &s(&missing)], &format!("cannot read {}: No such file or directory (os error 2)", s(&missing)));
    let text = scratch("text.h5md");
    std::fs::write(&text, "not hdf5\n").unwrap();
    fails_with(&["run", &s(&text)], &format!("{}: not an HDF5 file (no HDF5 signature)", s(&text)));
    let whole = scratch("whole.h5md");
    small(&whole);
    let truncated = scratch("truncated.h5md");
    std::fs::write(&truncated, &std::fs::read(&whole).unwrap()[..3000]).unwrap();
    let out = trajwalk(&["run", &s(&truncated)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.starts_with(&format!("error: {}: cannot be opened as HDF5 (truncated or damaged?)", s(&truncated))), "{stderr}");
    let other = scratch("other.txt");
    std::fs::write(&other, "x").unwrap();
    fails_with(
        &["run", &s(&other)],
        &format!(
            "{}: unsupported input format 'txt': expected one of {} (`trajwalk formats` lists them)",
            s(&other),
            trajwalk::io::formats::trajectory_extensions()
        ),
    );
}

#[test]
fn malformed_h5md_contents_are_named() {
    let no_position = scratch("nopos.h5md");
    {
        let _lock = common::hdf5_fork_lock();
        let f = hdf5::File::create(&no_position).unwrap();
        f.create_group("h5md").unwrap();
        f.create_group("particles").unwrap().create_group("all").unwrap();
    }
    fails_with(&["run", &s(&no_position)], &format!("{}: has no dataset /particles/all/position/value", s(&no_position)));

    let furlong = scratch("furlong.h5md");
    let mut f = H5md::new(positions(1, 2, |_, a| [a as f64, 0.0, 0.0]));
    f.unit = Some("furlong");
    f.write(&furlong);
    fails_with(
        &["run", &s(&furlong), "--radius", "1"],
        &format!("{}: unknown length unit 'furlong' in /particles/all/position/value (expected nm, Angstrom, A, pm or um)", s(&furlong)),
    );

    let unitless = scratch("unitless.h5md");
    let mut f = H5md::new(positions(1, 2, |_, a| [a as f64, 0.0, 0.0]));
    f.unit = None;
    f.write(&unitless);
    fails_with(
        &["run", &s(&unitless), "--radius", "1"],
        &format!("{}: /particles/all/position/value has no unit attribute: give --length-unit (nm, Angstrom, pm)", s(&unitless)),
    );
    let doc = json(&["run", &s(&unitless), "--radius", "1", "--length-unit", "nm", "--walks", "1000", "--interior", "1000"]);
    let launch = doc["frames"][0]["launch"]["radius"].as_f64().unwrap();
    assert!((6.0..6.1).contains(&launch), "nm become Angstrom: unit spheres 10 A apart need a launch radius of 6 A, got {launch}");

    let iron = scratch("iron.h5md");
    let mut f = H5md::new(positions(1, 3, |_, a| [2.0 * a as f64, 0.0, 0.0]));
    f.species = Some(vec![26, 6, 26]);
    f.write(&iron);
    fails_with(&["run", &s(&iron)], "invalid option: no radius in table 'bondi' for element Fe (2 atoms); add them to a --radii FILE");
    let radii = scratch("iron-radii.txt");
    std::fs::write(&radii, "Fe 2.0\nC 1.7\n").unwrap();
    let doc = json(&["run", &s(&iron), "--radii", &s(&radii), "--walks", "1000", "--interior", "1000"]);
    assert_eq!(doc["frames"][0]["spheres"], 3);
}

#[test]
fn topology_shape_mismatch_selection_and_frame_errors() {
    let h5 = scratch("three.h5md");
    small(&h5);
    let pdb = scratch("two-atoms.pdb");
    std::fs::write(
        &pdb,
        "ATOM      1  C   ALA A   1       0.000   0.000   0.000  1.00  0.00           C\nATOM      2  O   ALA A   1       1.000   0.000   0.000  1.00  0.00           O\nEND\n",
    )
    .unwrap();
    fails_with(&["run", &s(&h5), "--topology", &s(&pdb)], &format!("{}: has 3 atoms per frame but the topology {} has 2", s(&h5), s(&pdb)));
    fails_with(&["run", &s(&h5), "--select", "element N"], "invalid option: selection 'element N' matches no atoms (of 3)");
    fails_with(&["run", &s(&h5), "--frames", "0,3"], "invalid option: --frames: frame 3 is out of range (the input has 3 frames, 0 to 2)");
    fails_with(&["run", &s(&h5), "--start", "3"], "invalid option: --start 3 selects no frames (the input has 3, --stop is 3)");
    fails_with(&["run", &s(&h5), "--group", "water"], &format!("{}: has no particles group 'water' (it has: all)", s(&h5)));
    // ZENO's estimator: every walk of a lone sphere hits, so its C is exact.
    let doc =
        json(&["run", &s(&h5), "--select", "element O", "--walks", "1000", "--interior", "1000", "--start", "1", "--estimator", "zeno"]);
    assert_eq!(doc["frames"].as_array().unwrap().len(), 2);
    assert_eq!(doc["frames"][0]["spheres"], 1);
    let r = doc["frames"][0]["capacitance"]["value"].as_f64().unwrap();
    assert!((r / 1.52 - 1.0).abs() < 1e-5, "one oxygen sphere: C = its Bondi radius (to f32 storage), got {r}");
}

#[test]
fn nan_coordinates_stop_the_run_and_keep_the_frames_before_them() {
    let path = scratch("nan.h5md");
    // Frame 3 of 5: not one the planner's probe samples (0, 2, 4), so the run gets to it.
    let mut f = H5md::new(positions(5, 2, |i, a| if i == 3 && a == 1 { [f64::NAN, 0.0, 0.0] } else { [2.0 * a as f64, 0.0, 0.0] }));
    f.species = Some(vec![6, 6]);
    f.write(&path);
    let out_file = scratch("nan.json");
    let out =
        trajwalk(&["run", &s(&path), "--walks", "1000", "--interior", "1000", "--strategy", "serial", "--out", &s(&out_file), "--quiet"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!("error: stopped after 3 of 5 frames; the 3 finished were written: {}: frame 3: atom 1 (C) has a non-finite coordinate [NaN, 0.0, 0.0]", s(&path))
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    assert_eq!(doc["frames"].as_array().unwrap().len(), 3);
    assert_eq!(doc["frames_computed"], 3);
}

/// Messages that said what the library tripped on rather than what is wrong: an empty TRR
/// or NetCDF ("mmap failed ... Invalid argument"), a directory named .trr ("No such
/// device"), a misspelt radii table ("cannot read bondy"), a residue selection on an input
/// that names nothing ("matches no atoms (of 47681)"), `plan` on a full stdout (the bare
/// "No space left on device"), and an XTC's f32 time printed as its f64 widening.
#[test]
fn messages_say_what_is_wrong_and_what_to_do() {
    let empty_trr = scratch("empty.trr");
    let empty_nc = scratch("empty.nc");
    std::fs::write(&empty_trr, b"").unwrap();
    std::fs::write(&empty_nc, b"").unwrap();
    let dir = scratch("dir.trr");
    std::fs::create_dir_all(&dir).unwrap();
    fails_with(&["run", &s(&empty_trr)], &format!("{}: is empty (0 bytes)", s(&empty_trr)));
    fails_with(&["run", &s(&empty_nc)], &format!("{}: is empty (0 bytes)", s(&empty_nc)));
    fails_with(&["run", &s(&dir)], &format!("{}: is a directory, not a file", s(&dir)));
    let h5 = scratch("named.h5md");
    small(&h5);
    fails_with(
        &["run", &s(&h5), "--radii", "bondy"],
        "invalid option: --radii bondy: no built-in table has that name (bondi, zeno) and there is no such file",
    );
    fails_with(
        &["run", &s(&h5), "--select", "protein"],
        "invalid option: selection 'protein' matches no atoms (of 3); the input names no residues: to select by residue, give --topology FILE",
    );
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trajwalk"))
        .args(["plan", &s(&h5), "--walks", "100", "--interior", "100", "--format", "json"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim_end(), "error: cannot write stdout: No space left on device (os error 28)");
    if let Some(xtc) = common::shared_data("adk_oplsaa.xtc") {
        fails_with(
            &["run", &s(&xtc), "--select", "protein"],
            "invalid option: selection 'protein' matches no atoms (of 47681); the input names no atoms or residues (its format holds \
             coordinates only): give --topology FILE, a PDB, GRO, PSF or PRMTOP of the same atoms",
        );
        let out = trajwalk(&[
            "run",
            &s(&xtc),
            "--select",
            "index 0:10",
            "--radius",
            "1.5",
            "--frames",
            "1",
            "--walks",
            "100",
            "--interior",
            "100",
        ]);
        let table = String::from_utf8_lossy(&out.stdout);
        assert!(table.contains(&format!("{}, frame 1 (time 100.00001 ps): 11 spheres", s(&xtc))), "{table}");
    }
}
