//! Periodic boxes that cannot be right are refused, naming the input, the frame and the box,
//! rather than used to make the molecule whole: negative, zero, NaN and infinite edges, a
//! degenerate or left-handed triclinic cell, and a box too small for the molecule's bonds.
//! An all-zero box is the common "no box" and is read as none; a real box still unwraps.

mod common;

use common::h5::{positions, H5md, Save};
use std::path::{Path, PathBuf};
use trajwalk::body::Body;
use trajwalk::job::{Job, JobOptions};
use trajwalk::radii::Radii;
use trajwalk::trajectory::{OpenOptions, Trajectory};

fn scratch(name: &str) -> PathBuf {
    common::scratch("boxes", name)
}

/// Adds a fixed box, `edges` of shape (3,) or (3, 3), to the H5MD file's first particles group.
fn add_box(path: &Path, edges: &[f64]) {
    let _lock = common::hdf5_fork_lock();
    let file = hdf5::File::open_rw(path).unwrap();
    let particles = file.group("particles").unwrap();
    let group = particles.group(&particles.member_names().unwrap()[0]).unwrap();
    let bx = group.create_group("box").unwrap();
    bx.new_attr::<i32>().create("dimension").unwrap().write_scalar(&3).unwrap();
    let builder = bx.new_dataset_builder();
    if edges.len() == 9 {
        builder.with_data(&ndarray::Array2::from_shape_vec((3, 3), edges.to_vec()).unwrap()).create("edges").unwrap();
    } else {
        builder.with_data(edges).create("edges").unwrap();
    }
}

/// Two touching spheres of radius 1 Angstrom, the second wrapped across a 10 A cell's x face,
/// written with `edges` as its box (None: no box).
fn pair(name: &str, edges: Option<&[f64]>) -> PathBuf {
    let path = scratch(name);
    H5md::new(positions(1, 2, |_, a| if a == 0 { [0.5, 5.0, 5.0] } else { [9.5, 5.0, 5.0] })).write(&path);
    if let Some(e) = edges {
        add_box(&path, e);
    }
    path
}

fn job(path: &Path, radii: Option<Radii>) -> Job {
    let t = Trajectory::open(path, &OpenOptions::default()).unwrap();
    Job::prepare(t, &JobOptions { radii, ..Default::default() }).unwrap()
}

/// The bodies of the job's frames (or the first frame's error).
fn bodies(path: &Path, radii: Option<Radii>) -> Result<Vec<Body>, String> {
    let job = job(path, radii);
    job.stream().map(|f| job.body(&f.unwrap()).map_err(|e| e.to_string())).collect()
}

fn pair_error(name: &str, edges: &[f64]) -> String {
    let path = pair(name, Some(edges));
    let err = bodies(&path, Some(Radii::Uniform(1.0))).expect_err("an impossible box must be refused");
    err.strip_prefix(&format!("{}: ", path.display())).unwrap_or_else(|| panic!("the error names the input: {err}")).to_string()
}

#[test]
fn a_negative_edge_is_refused() {
    assert_eq!(
        pair_error("negative.h5md", &[-10.0, 10.0, 10.0]),
        "frame 0: the periodic box with edges [-10, 10, 10] A has an edge that is not positive (--no-unwrap ignores the box)"
    );
    // Two negative edges keep the determinant positive: still refused.
    assert_eq!(
        pair_error("negative2.h5md", &[-10.0, -10.0, 10.0]),
        "frame 0: the periodic box with edges [-10, -10, 10] A has an edge that is not positive (--no-unwrap ignores the box)"
    );
}

#[test]
fn nan_and_infinite_edges_are_refused() {
    assert_eq!(
        pair_error("nan.h5md", &[10.0, f64::NAN, 10.0]),
        "frame 0: the periodic box with edges [10, NaN, 10] A has a non-finite entry (--no-unwrap ignores the box)"
    );
    assert_eq!(
        pair_error("inf.h5md", &[10.0, 10.0, f64::INFINITY]),
        "frame 0: the periodic box with edges [10, 10, inf] A has a non-finite entry (--no-unwrap ignores the box)"
    );
    let triclinic_nan = [10.0, 0.0, 0.0, 1.0, 10.0, 0.0, f64::NAN, 0.0, 10.0];
    assert_eq!(
        pair_error("nan3.h5md", &triclinic_nan),
        "frame 0: the periodic box with vectors [[10, 0, 0], [1, 10, 0], [NaN, 0, 10]] A has a non-finite entry (--no-unwrap ignores the box)"
    );
}

#[test]
fn a_zero_edge_is_refused_and_an_all_zero_box_is_no_box() {
    assert_eq!(
        pair_error("zero.h5md", &[10.0, 0.0, 10.0]),
        "frame 0: the periodic box with edges [10, 0, 10] A has an edge that is not positive (--no-unwrap ignores the box)"
    );
    // All zeros is how H5MD, DCD and XTC writers say "no box": the pair stays as it is.
    let none = bodies(&pair("nobox.h5md", None), Some(Radii::Uniform(1.0))).unwrap();
    for edges in [[0.0; 3].as_slice(), [0.0; 9].as_slice()] {
        let zeros = bodies(&pair("zeros.h5md", Some(edges)), Some(Radii::Uniform(1.0))).unwrap();
        assert_eq!(format!("{:?}", zeros[0].spheres), format!("{:?}", none[0].spheres));
    }
}

#[test]
fn a_degenerate_or_left_handed_triclinic_cell_is_refused() {
    // The third vector lies in the plane of the first two.
    let flat = [10.0, 0.0, 0.0, 2.0, 10.0, 0.0, 12.0, 10.0, 0.0];
    assert_eq!(
        pair_error("flat.h5md", &flat),
        "frame 0: the periodic box with vectors [[10, 0, 0], [2, 10, 0], [12, 10, 0]] A is degenerate (its vectors span no volume) (--no-unwrap ignores the box)"
    );
    let left = [10.0, 0.0, 0.0, 2.0, 10.0, 0.0, 1.0, 2.0, -10.0];
    assert_eq!(
        pair_error("left.h5md", &left),
        "frame 0: the periodic box with vectors [[10, 0, 0], [2, 10, 0], [1, 2, -10]] A is left-handed (negative determinant) (--no-unwrap ignores the box)"
    );
}

/// The bundled peptide (48 frames, no box) copied with `edges` as its box.
fn peptide(name: &str, edges: &[f64]) -> PathBuf {
    let path = scratch(name);
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/peptide.h5md"), &path).unwrap();
    add_box(&path, edges);
    path
}

#[test]
fn a_box_too_small_for_the_bonds_is_refused() {
    // 1e-3 A edges would fold the 75 A peptide into one sphere's worth of space. Its H5MD
    // file names no bonds or residues, so what refuses the box is that it is narrower than
    // an atom.
    let path = peptide("tiny.h5md", &[1e-3; 3]);
    let err = bodies(&path, None).unwrap_err();
    assert_eq!(
        err,
        format!(
            "{}: frame 0: the periodic box with edges [0.001, 0.001, 0.001] A is narrower (0.001000) than the sphere of atom 1 (radius 1.700), which would overlap its own periodic image (--no-unwrap ignores the box)",
            path.display()
        )
    );
    // Bonded atoms (a PDB with CONECT records) in a box wider than the atoms but narrower
    // than twice the bond: the bond's nearest image is not sure to be the bond.
    let pdb = scratch("bonded.pdb");
    std::fs::write(
        &pdb,
        "CRYST1    2.900    2.900    2.900  90.00  90.00  90.00 P 1           1\n\
         HETATM    1  C1  LIG A   1       0.000   0.000   0.000  1.00  0.00           C\n\
         HETATM    2  C2  LIG A   1       1.200   1.200   0.000  1.00  0.00           C\n\
         CONECT    1    2\n\
         END\n",
    )
    .unwrap();
    assert_eq!(
        bodies(&pdb, Some(Radii::Uniform(1.0))).unwrap_err(),
        format!(
            "{}: frame 0: the periodic box with edges [2.9, 2.9, 2.9] A is too small for the molecule: atoms 0 and 1 (bonded) are 1.697 apart after making it whole, not under 1.450, half the box's narrowest width (--no-unwrap ignores the box)",
            pdb.display()
        )
    );
}

#[test]
fn a_valid_box_leaves_a_whole_molecule_as_it_is() {
    let plain = scratch("peptide.h5md");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/peptide.h5md"), &plain).unwrap();
    let without = bodies(&plain, None).unwrap();
    let with = bodies(&peptide("big.h5md", &[1000.0, 0.0, 0.0, 0.0, 1000.0, 0.0, 10.0, 0.0, 1000.0]), None).unwrap();
    assert_eq!(with.len(), 48);
    for (a, b) in with.iter().zip(&without) {
        assert_eq!(format!("{:?}", a.spheres), format!("{:?}", b.spheres));
    }
}
