//! The MD formats read through chemfiles and trajwalk's own PSF and PRMTOP readers, on real
//! files: MDAnalysis's cross-format test trajectory (the same 5 frames of 5 atoms as XTC,
//! TRR, DCD, TNG and XYZ, and a GRO of the first) must give the same coordinates frame by
//! frame to each format's precision, and the same bits of every observable where the
//! coordinates are bit-equal; a real GROMACS run of adenylate kinase in water (triclinic,
//! 47,681 atoms) must give a protein's Rh in every frame, and frame 5 the same bits from
//! the XTC as from an H5MD file of the same coordinates. PSF and PRMTOP fixtures are
//! written here; bad inputs are refused with their exact message.

mod common;

use common::h5::{H5md, Save};
use common::{ok, s, scratch, shared_data, trajwalk};
use std::path::{Path, PathBuf};
use trajwalk::analysis::{Analysis, Execution, Options};
use trajwalk::compute::{FrameResult, Sampling};
use trajwalk::estimate::Quantity;
use trajwalk::exec::Kind;
use trajwalk::job::JobOptions;
use trajwalk::output::FrameReport;
use trajwalk::trajectory::{Frame, FrameSelection, OpenOptions, Trajectory};

fn tmp(name: &str) -> PathBuf {
    scratch("formats", name)
}

fn mda(name: &str) -> Option<PathBuf> {
    shared_data(&format!("mda-coordinates/{name}"))
}

fn with_topology(topology: Option<&Path>) -> OpenOptions {
    OpenOptions { topology: topology.map(Path::to_path_buf), ..Default::default() }
}

/// Every frame of `t`, in order.
fn frames(t: &Trajectory) -> Vec<Frame> {
    let all: Vec<usize> = (0..t.len()).collect();
    let mut reader = t.reader(0..t.topology.len()).unwrap();
    t.chunks(&all, usize::MAX).iter().flat_map(|c| reader.read_chunk(c).unwrap()).collect()
}

fn sampling(walks: u64) -> Sampling {
    Sampling { walks, interior_samples: walks, seed: 11, ..Default::default() }
}

/// Each selected frame's (index, result) from a run of `inputs`.
fn run(inputs: &[PathBuf], open: OpenOptions, job: JobOptions) -> Vec<(usize, FrameResult)> {
    let mut out = vec![];
    let mut sink = |f: &FrameReport| {
        out.push((f.info.index, f.result.clone()));
        Ok(())
    };
    // The CPU's frame-parallel strategy, so that no GPU is looked for.
    let execution = Execution { strategy: Some(Kind::Frames), ..Default::default() };
    Analysis::open_all(inputs, Options { open, job, execution, ..Default::default() }).unwrap().run(&mut [&mut sink]).unwrap();
    out
}

/// What the bitwise contract covers: everything but the timing and the warnings.
fn bits(r: &FrameResult) -> (String, u64, u64, u64, u64) {
    (format!("{:?}", r.estimates), r.walks, r.interior_samples, r.hits, r.steps)
}

fn max_difference(a: &[[f64; 3]], b: &[[f64; 3]]) -> f64 {
    a.iter().zip(b).flat_map(|(p, q)| (0..3).map(move |k| (p[k] - q[k]).abs())).fold(0.0, f64::max)
}

#[test]
fn the_cross_format_files_give_the_same_frames_and_bit_equal_coordinates_the_same_bits() {
    let (Some(top), Some(xyz)) = (mda("test_topology.pdb"), mda("test.xyz")) else { return };
    let open = with_topology(Some(&top));
    // XYZ holds the coordinates as decimals in Angstrom: the reference.
    let reference = frames(&Trajectory::open(&xyz, &open).unwrap());
    assert_eq!((reference.len(), reference[0].positions.len()), (5, 5));
    // XTC keeps 1e-3 nm; TRR and DCD single precision (of values up to 25 A).
    let mut all = vec![(xyz.clone(), reference.clone())];
    // MDAnalysis's test.dcd holds 3 title lines (244 bytes) in a record whose markers say
    // 164 bytes, which chemfiles refuses; with the markers mended it reads.
    let dcd = mda("test.dcd").unwrap();
    assert_eq!(
        Trajectory::open(&dcd, &open).unwrap_err().to_string(),
        format!("{}: its title record's markers say 164 bytes, but it declares 3 lines of 80 (244 bytes)", dcd.display())
    );
    let mut bytes = std::fs::read(&dcd).unwrap();
    assert_eq!((bytes[0x5c], bytes[0x60], bytes[0x154]), (164, 3, 164));
    (bytes[0x5c], bytes[0x154]) = (244, 244);
    let mended = tmp("test.dcd");
    std::fs::write(&mended, bytes).unwrap();
    // gmx trjconv numbered this TNG's frames 0 to 4 but kept the run's stride of 100, past
    // which chemfiles' TNG reader rounds (see io::tng); read frame set by frame set, it gives
    // all five, with trjconv's frame numbers as steps and 1 ps apart.
    let tng = mda("test.tng").unwrap();
    let t = Trajectory::open(&tng, &open).unwrap();
    assert_eq!(t.frames.iter().map(|f| f.step).collect::<Vec<_>>(), (0..5).map(Some).collect::<Vec<_>>());
    for (k, f) in t.frames.iter().enumerate() {
        assert!(f.time.is_some_and(|ps| (ps - k as f64).abs() < 1e-9), "frame {k}: time {:?} ps", f.time);
    }
    let trjconv = frames(&t);
    // Its frames numbered as mdrun numbers them (MD steps 0, 100, ..., 400): chemfiles reads
    // those, and both readers give the same bits, box included, as the original's.
    let renumbered = tmp("test.tng");
    std::fs::write(&renumbered, tng_renumbered(&std::fs::read(&tng).unwrap(), 100)).unwrap();
    let t = Trajectory::open(&renumbered, &open).unwrap();
    assert_eq!(t.frames.iter().map(|f| f.step).collect::<Vec<_>>(), (0..5).map(|k| Some(100 * k)).collect::<Vec<_>>());
    let mdrun = frames(&t);
    let cf = chemfiles_frames(&renumbered);
    assert_eq!(cf.len(), 5);
    for (k, ((a, b), (positions, cell, _, _))) in trjconv.iter().zip(&mdrun).zip(&cf).enumerate() {
        assert_eq!((&a.positions, a.cell), (&b.positions, b.cell), "frame {k}");
        assert_eq!((&a.positions, a.cell), (positions, *cell), "frame {k}: chemfiles' positions and box");
        assert!(a.cell.is_some_and(|c| c[1][0] != 0.0), "frame {k}: a triclinic box");
    }
    // XTC and this TNG keep 1e-3 nm.
    let cases = [("test.xtc", 1e-2, true), ("test.trr", 1e-4, true), ("dcd", 1e-4, false), ("tng", 1e-2, true)];
    for (name, tolerance, steps) in cases {
        let path = match name {
            "dcd" => mended.clone(),
            "tng" => tng.clone(),
            _ => mda(name).unwrap(),
        };
        let t = Trajectory::open(&path, &open).unwrap();
        assert_eq!(t.len(), 5, "{name}");
        assert_eq!(t.topology.atoms[1].resname, "ARG", "{name}: the --topology's atoms");
        assert_eq!(t.frames.iter().all(|f| f.step.is_some()), steps, "{name}: {:?}", t.frames);
        let got = frames(&t);
        for (f, r) in got.iter().zip(&reference) {
            let d = max_difference(&f.positions, &r.positions);
            assert!(d <= tolerance, "{name} frame {}: {d} A from the XYZ", f.info.index);
        }
        all.push((path, got));
    }
    let gro = mda("test.gro").unwrap();
    let g = frames(&Trajectory::open(&gro, &OpenOptions::default()).unwrap());
    assert_eq!(g.len(), 1);
    assert!(max_difference(&g[0].positions, &reference[0].positions) <= 1e-2);
    all.push((gro, g));

    // Where two formats' coordinates are bit-equal, every observable must be too (the
    // box is left out: not every format has one).
    let job = JobOptions { unwrap: false, frames: FrameSelection::List(vec![0]), sampling: sampling(2000), ..Default::default() };
    let mut pairs = 0;
    for (i, (a, fa)) in all.iter().enumerate() {
        for (b, fb) in &all[i + 1..] {
            if fa[0].positions != fb[0].positions {
                continue;
            }
            pairs += 1;
            let ra = run(std::slice::from_ref(a), open.clone(), job.clone());
            let rb = run(std::slice::from_ref(b), open.clone(), job.clone());
            assert_eq!(bits(&ra[0].1), bits(&rb[0].1), "{} and {}", a.display(), b.display());
        }
    }
    assert!(pairs >= 1, "no two formats gave bit-equal coordinates");
}

/// A TNG file with every frame number (of its frame sets and its data blocks) multiplied by
/// `factor`, and the hashes of the blocks so changed cleared (the TNG library checks a
/// hash only where there is one). Little-endian; TNG block ids: 2 a frame set, 0x10000000
/// and up trajectory data, whose contents start with type, dependency and sparseness bytes,
/// values per frame, codec, the codec's multiplier (if compressed), then first frame.
fn tng_renumbered(tng: &[u8], factor: i64) -> Vec<u8> {
    let mut out = tng.to_vec();
    let word = |b: &[u8], at: usize| i64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let mut offset = 0;
    while offset < out.len() {
        let (header, contents, id) = (word(&out, offset) as usize, word(&out, offset + 8) as usize, word(&out, offset + 16));
        let start = offset + header;
        let first = match id {
            2 => Some(start),
            0x1000_0000.. if out[start + 1] & 1 == 1 && out[start + 2] == 1 => {
                Some(start + 19 + if word(&out, start + 11) != 0 { 8 } else { 0 })
            }
            _ => None,
        };
        if let Some(at) = first {
            let frame = word(&out, at) * factor;
            out[at..at + 8].copy_from_slice(&frame.to_le_bytes());
            out[offset + 24..offset + 40].fill(0);
        }
        offset = start + contents;
    }
    out
}

#[test]
fn an_xtc_of_a_solvated_protein_gives_its_rh_and_the_bits_of_the_same_frame_in_h5md() {
    let (Some(gro), Some(xtc)) = (shared_data("adk_oplsaa.gro"), shared_data("adk_oplsaa.xtc")) else { return };
    let open = with_topology(Some(&gro));
    let t = Trajectory::open(&xtc, &open).unwrap();
    assert_eq!((t.len(), t.topology.len()), (10, 47681));
    assert_eq!(t.time_unit.as_deref(), Some("ps"));
    let job = JobOptions { select: Some("protein".into()), sampling: sampling(1500), ..Default::default() };
    let results = run(std::slice::from_ref(&xtc), open.clone(), job.clone());
    assert_eq!(results.len(), 10);
    for (i, r) in &results {
        let rh = r.get(Quantity::HydrodynamicRadius).unwrap().value[0];
        assert!((20.0..25.0).contains(&rh), "frame {i}: Rh {rh} A");
    }
    // Frames 0..=5 written to H5MD as the XTC gives them (Angstrom, f64, the triclinic box).
    let read = frames(&t);
    assert!(read[5].cell.is_some_and(|c| c[1][0] != 0.0 || c[2][0] != 0.0 || c[2][1] != 0.0), "the box is triclinic");
    let positions = ndarray::Array3::from_shape_fn((6, t.topology.len(), 3), |(f, a, k)| read[f].positions[a][k]);
    let h5 = tmp("adk.h5md");
    H5md::new(positions).write(&h5);
    {
        let _lock = common::hdf5_fork_lock();
        let file = hdf5::File::open_rw(&h5).unwrap();
        let bx = file.group("particles/all").unwrap().create_group("box").unwrap();
        bx.new_attr::<i32>().create("dimension").unwrap().write_scalar(&3).unwrap();
        let cells = ndarray::Array3::from_shape_fn((6, 3, 3), |(f, i, j)| read[f].cell.unwrap()[i][j]);
        bx.create_group("edges").unwrap().new_dataset_builder().with_data(&cells).create("value").unwrap();
    }
    let five = JobOptions { frames: FrameSelection::List(vec![5]), ..job };
    let from_h5 = run(&[h5], open, five);
    assert_eq!(bits(&from_h5[0].1), bits(&results[5].1));
}

#[test]
fn several_inputs_are_one_trajectory_numbered_across_them() {
    let (Some(top), Some(xtc), Some(trr)) = (mda("test_topology.pdb"), mda("test.xtc"), mda("test.trr")) else { return };
    let open = with_topology(Some(&top));
    let chain = Trajectory::open_all(&[xtc.clone(), trr.clone()], &open).unwrap();
    assert_eq!(chain.len(), 10);
    assert_eq!(chain.files(), vec![xtc.as_path(), trr.as_path()]);
    let got = frames(&chain);
    let parts: Vec<Frame> = [&xtc, &trr].iter().flat_map(|p| frames(&Trajectory::open(p, &open).unwrap())).collect();
    for (k, (c, p)) in got.iter().zip(&parts).enumerate() {
        assert_eq!((c.info.index, c.info.key), (k, k as u64));
        assert_eq!((c.info.step, c.info.time), (p.info.step, p.info.time));
        assert_eq!(c.positions, p.positions, "frame {k}");
    }
    // Frame 7 of the chain, computed alone (random access into the second file), is frame 7
    // of the whole run; the checkpoint belongs to both files. (The box is left out: the
    // test frames' atoms drift apart by more than half of it.)
    let job = JobOptions { unwrap: false, frames: FrameSelection::List(vec![7]), sampling: sampling(1000), ..Default::default() };
    let alone = run(&[xtc.clone(), trr.clone()], open.clone(), job.clone());
    // Two workers, each with its own readers of both files, give the serial bits.
    let every = JobOptions { frames: FrameSelection::default(), ..job.clone() };
    let on = |strategy, workers| {
        let mut out = vec![];
        let mut sink = |f: &FrameReport| {
            out.push(bits(f.result));
            Ok(())
        };
        let execution = Execution { strategy: Some(strategy), workers: Some(workers), threads: Some(1), ..Default::default() };
        let options = Options { open: open.clone(), job: every.clone(), execution, ..Default::default() };
        Analysis::open_all(&[xtc.clone(), trr.clone()], options).unwrap().run(&mut [&mut sink]).unwrap();
        out
    };
    assert_eq!(on(Kind::Frames, 2), on(Kind::Serial, 1));
    let cp = tmp("chain.sqlite");
    let mut args = vec![s(&xtc), s(&trr), "--topology".into(), s(&top), "--walks".into(), "1000".into(), "--interior".into()];
    args.extend(["1000", "--seed", "11", "--checkpoint", &s(&cp), "--format", "json", "--no-unwrap"].map(String::from));
    let cli: Vec<&str> = ["run"].into_iter().chain(args.iter().map(String::as_str)).collect();
    let out = ok(&cli);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["frames"].as_array().unwrap().len(), 10);
    let rh = alone[0].1.get(Quantity::HydrodynamicRadius).unwrap().value[0];
    assert_eq!(doc["frames"][7]["hydrodynamic_radius"]["value"].as_f64(), Some(rh), "{}", doc["frames"][7]);
    // The same checkpoint with only the first file is another input.
    let mut single: Vec<&str> = cli.clone();
    single.remove(2);
    let refused = trajwalk(&single);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("input.path") && stderr.contains("was made for another input"), "{stderr}");
}

const PSF: &str = "PSF EXT

         2 !NTITLE
* a peptide end and an ion
* written by hand

         5 !NATOM
         1 PROA     1        ALA       N        NH3     -0.300000       14.0070           0
         2 PROA     1        ALA       CA       CT1      0.210000       12.0110           0
         3 PROA     1        ALA       HA       HB1      0.100000        1.0080           0
         4 PROA     2        GLY       C        C        0.510000       12.0110           0
         5 IONS     3        SOD       SOD      SOD      1.000000       22.9898           0

         3 !NBOND: bonds
         1         2         2         3         4         2

         0 !NTHETA: angles
";

#[test]
fn a_psf_gives_names_residues_segments_types_masses_elements_and_bonds() {
    let psf = tmp("pep.psf");
    std::fs::write(&psf, PSF).unwrap();
    let t = trajwalk::io::formats::read_topology(&psf).unwrap();
    let atoms: Vec<_> =
        t.atoms.iter().map(|a| (a.name.as_str(), a.resname.as_str(), a.resid, a.segid.as_str(), a.atom_type.as_str(), a.element)).collect();
    assert_eq!(
        atoms,
        [
            ("N", "ALA", 1, "PROA", "NH3", Some("N")),
            ("CA", "ALA", 1, "PROA", "CT1", Some("C")),
            ("HA", "ALA", 1, "PROA", "HB1", Some("H")),
            ("C", "GLY", 2, "PROA", "C", Some("C")),
            // The name alone would say sulphur; the mass says sodium.
            ("SOD", "SOD", 3, "IONS", "SOD", Some("Na")),
        ]
    );
    assert_eq!(t.bonds, vec![[0, 1], [1, 2], [1, 3]]);
    // As the topology of an XYZ trajectory of the same atoms: Bondi radii by element.
    let xyz = tmp("pep.xyz");
    let frame = "5\n\nX 0 0 0\nX 1.4 0 0\nX 1.8 1 0\nX 2.5 -1 0\nX 9 9 9\n";
    std::fs::write(&xyz, frame.repeat(2)).unwrap();
    let job = trajwalk::job::Job::prepare(Trajectory::open(&xyz, &with_topology(Some(&psf))).unwrap(), &JobOptions::default()).unwrap();
    assert_eq!(job.radii, vec![1.55, 1.70, 1.20, 1.70, 2.27]);
}

#[test]
fn a_malformed_psf_is_refused_with_its_line() {
    let psf = tmp("bad.psf");
    std::fs::write(&psf, PSF.replace("12.0110           0\n         3", "twelve           0\n         3")).unwrap();
    let e = trajwalk::io::formats::read_topology(&psf).unwrap_err();
    assert_eq!(e.to_string(), format!("{}, line 9: mass 'twelve' is not a number", psf.display()));
    std::fs::write(&psf, PSF.replace("4         2", "4         9")).unwrap();
    let e = trajwalk::io::formats::read_topology(&psf).unwrap_err();
    assert_eq!(e.to_string(), format!("{}, line 15: a bond names atom 9, but the file has 5 atoms", psf.display()));
}

/// A PRMTOP of the same five atoms; the ion has no atomic number (-1), so its element
/// comes from its mass.
const PRMTOP: &str = "%VERSION  VERSION_STAMP = V0001.000  DATE = 01/01/26  00:00:00
%FLAG TITLE
%FORMAT(20a4)
peptide
%FLAG POINTERS
%FORMAT(10I8)
       5       4       1       2       0       0       0       0       0       0
%FLAG ATOM_NAME
%FORMAT(20a4)
N   CA  HA  C   Na+
%FLAG MASS
%FORMAT(5E16.8)
  1.40100000E+01  1.20100000E+01  1.00800000E+00  1.20100000E+01  2.29900000E+01
%FLAG ATOMIC_NUMBER
%FORMAT(10I8)
       7       6       1       6      -1
%FLAG RESIDUE_LABEL
%FORMAT(20a4)
ALA GLY Na+
%FLAG RESIDUE_POINTER
%FORMAT(10I8)
       1       4       5
%FLAG AMBER_ATOM_TYPE
%FORMAT(20a4)
N3  CT  HP  C   Na+
%FLAG BONDS_INC_HYDROGEN
%FORMAT(10I8)
       3       6       1
%FLAG BONDS_WITHOUT_HYDROGEN
%FORMAT(10I8)
       0       3       2       3       9       3
";

#[test]
fn a_prmtop_gives_names_residues_types_elements_and_bonds() {
    let top = tmp("pep.prmtop");
    std::fs::write(&top, PRMTOP).unwrap();
    let t = trajwalk::io::formats::read_topology(&top).unwrap();
    let atoms: Vec<_> = t.atoms.iter().map(|a| (a.name.as_str(), a.resname.as_str(), a.resid, a.atom_type.as_str(), a.element)).collect();
    assert_eq!(
        atoms,
        [
            ("N", "ALA", 1, "N3", Some("N")),
            ("CA", "ALA", 1, "CT", Some("C")),
            ("HA", "ALA", 1, "HP", Some("H")),
            ("C", "GLY", 2, "C", Some("C")),
            ("Na+", "Na+", 3, "Na+", Some("Na")),
        ]
    );
    assert_eq!(t.bonds, vec![[0, 1], [1, 2], [1, 3]]);
    std::fs::write(&top, PRMTOP.replace("       1       4       5\n", "       1       4       x\n")).unwrap();
    let e = trajwalk::io::formats::read_topology(&top).unwrap_err();
    assert_eq!(e.to_string(), format!("{}, line 22: %FLAG RESIDUE_POINTER: 'x' is not an integer", top.display()));
}

/// A residue pointer of i64::MIN is refused, not wrapped (`p - 1` overflowed: a panic in a
/// debug build, a wrapped start in a release one).
#[test]
fn a_prmtop_pointer_at_the_bottom_of_i64_is_refused_not_wrapped() {
    let top = tmp("min.prmtop");
    let pointers = "%FLAG RESIDUE_POINTER\n%FORMAT(10I8)\n       1       4       5\n";
    assert!(PRMTOP.contains(pointers));
    // Residue 1 ends where residue 2 starts: a pointer of either extreme ends it out of order.
    for given in ["-9223372036854775808", "9223372036854775807"] {
        let text = PRMTOP
            .replace(pointers, &format!("%FLAG RESIDUE_POINTER\n%FORMAT(3I20)\n                   1{given:>20}                   5\n"));
        std::fs::write(&top, text).unwrap();
        let e = trajwalk::io::formats::read_topology(&top).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}, line 20: %FLAG RESIDUE_POINTER: residue 1 starts at atom 1, out of order or beyond the 5 atoms", top.display())
        );
    }
}

#[test]
fn tpr_unknown_truncated_and_mismatched_inputs_are_refused_with_what_to_do() {
    let tpr = tmp("topol.tpr");
    std::fs::write(&tpr, b"\0\0\0\x01VERSION 2023").unwrap();
    let xyz = tmp("three.xyz");
    std::fs::write(&xyz, "3\n\nC 0 0 0\nC 1.5 0 0\nC 3 0 0\n".repeat(3)).unwrap();
    let says = |inputs: &[&Path], topology: Option<&Path>| {
        Trajectory::open_all(&inputs.iter().map(|p| p.to_path_buf()).collect::<Vec<_>>(), &with_topology(topology)).unwrap_err().to_string()
    };
    let tpr_message = format!(
        "{}: is a GROMACS run input (.tpr), which trajwalk does not read; write its atoms as a GRO with `gmx editconf -f {} -o conf.gro` and give --topology conf.gro",
        tpr.display(),
        tpr.display()
    );
    assert_eq!(says(&[&tpr], None), tpr_message);
    assert_eq!(says(&[&xyz], Some(&tpr)), tpr_message);
    let unknown = tmp("md.foo");
    std::fs::write(&unknown, "x").unwrap();
    assert_eq!(
        says(&[&unknown], None),
        format!(
            "{}: unsupported input format 'foo': expected one of .h5md .h5 .hdf5 .he5 .pdb .ent .bod .xtc .trr .gro .tng .dcd .nc .ncdf .netcdf .lammpstrj .lammpsdump .xyz .extxyz .cif .mmcif .mol2 (`trajwalk formats` lists them)",
            unknown.display()
        )
    );
    let psf = tmp("five.psf");
    std::fs::write(&psf, PSF).unwrap();
    assert_eq!(says(&[&xyz], Some(&psf)), format!("{}: has 3 atoms per frame but the topology {} has 5", xyz.display(), psf.display()));
    let four = tmp("four.xyz");
    std::fs::write(&four, "4\n\nC 0 0 0\nC 1.5 0 0\nC 3 0 0\nC 4.5 0 0\n").unwrap();
    assert_eq!(
        says(&[&xyz, &four], None),
        format!("{}: has 4 atoms per frame, but {} (the first input) has 3", four.display(), xyz.display())
    );
    let truncated = tmp("truncated.xyz");
    std::fs::write(&truncated, "3\n\nC 0 0 0\nC 1.5 0 0\nC 3 0 0\n3\n\nC 0 0 0\nC 1.5").unwrap();
    assert_eq!(
        says(&[&truncated], None),
        format!(
            "{}: cannot be read as XYZ / extended XYZ: XYZ format: not enough lines at step 1 (expected 5, got 4)",
            truncated.display()
        )
    );
    if let Some(xtc) = mda("test.xtc") {
        let bytes = std::fs::read(&xtc).unwrap();
        let cut = tmp("truncated.xtc");
        std::fs::write(&cut, &bytes[..bytes.len() - 40]).unwrap();
        assert_eq!(
            says(&[&cut], None),
            format!("{}: is truncated: its frame 4 runs to byte 580, but the file ends at byte 540", cut.display())
        );
    }
    if let Some(tng) = mda("test.tng") {
        let bytes = std::fs::read(&tng).unwrap();
        let cut = tmp("truncated.tng");
        std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
        assert_eq!(
            says(&[&cut], None),
            format!("{}: is truncated: its block at byte 4911 runs to byte 5089, but the file ends at byte 4989", cut.display())
        );
        // One byte of frame 2's positions changed: the TNG library would decode it anyway.
        let mut damaged = bytes.clone();
        damaged[2762] ^= 0x40;
        let path = tmp("damaged.tng");
        std::fs::write(&path, damaged).unwrap();
        assert_eq!(
            says(&[&path], None),
            format!("{}: is damaged: its block \"POSITIONS\" at byte 2639 does not match its MD5 hash", path.display())
        );
    }
}

#[test]
fn the_formats_command_lists_what_is_read_and_what_gives_a_topology() {
    let out = String::from_utf8(ok(&["formats"]).stdout).unwrap();
    let line = |label: &str| {
        out.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} in\n{out}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(line("GROMACS XTC"), "GROMACS XTC .xtc yes no molly");
    assert_eq!(line("GROMACS GRO"), "GROMACS GRO .gro yes yes chemfiles");
    assert_eq!(line("GROMACS TNG"), "GROMACS TNG .tng yes no TNG library (chemfiles')");
    assert_eq!(line("CHARMM/NAMD PSF"), "CHARMM/NAMD PSF .psf no yes trajwalk");
}

#[test]
fn a_lammps_dump_and_a_mol2_give_steps_boxes_elements_and_bonds() {
    let dump = tmp("two.lammpstrj");
    let frame = |step: i64, x: f64| {
        format!("ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n2\nITEM: BOX BOUNDS pp pp pp\n0 30\n0 30\n0 30\nITEM: ATOMS id type x y z\n1 1 {x} 1 1\n2 1 2 2 2\n")
    };
    std::fs::write(&dump, frame(100, 1.0) + &frame(200, 1.5)).unwrap();
    let t = Trajectory::open(&dump, &OpenOptions::default()).unwrap();
    assert_eq!(t.frames.iter().map(|f| f.step).collect::<Vec<_>>(), [Some(100), Some(200)]);
    let f = frames(&t);
    assert_eq!(f[1].positions, vec![[1.5, 1.0, 1.0], [2.0, 2.0, 2.0]]);
    assert_eq!(f[1].cell, Some([[30.0, 0.0, 0.0], [0.0, 30.0, 0.0], [0.0, 0.0, 30.0]]));

    let mol2 = tmp("water.mol2");
    std::fs::write(
        &mol2,
        "@<TRIPOS>MOLECULE\nwater\n 3 2 1 0 0\nSMALL\nNO_CHARGES\n\n@<TRIPOS>ATOM\n      1 OW          0.0000    0.0000    0.0000 O.3     1  HOH        0.0000\n      2 HW1         0.9572    0.0000    0.0000 H       1  HOH        0.0000\n      3 HW2        -0.2400    0.9266    0.0000 H       1  HOH        0.0000\n@<TRIPOS>BOND\n     1     1     2    1\n     2     1     3    1\n",
    )
    .unwrap();
    let t = trajwalk::io::formats::read_topology(&mol2).unwrap();
    let atoms: Vec<_> = t.atoms.iter().map(|a| (a.name.as_str(), a.element)).collect();
    assert_eq!(atoms, [("OW", Some("O")), ("HW1", Some("H")), ("HW2", Some("H"))]);
    assert_eq!(t.bonds, vec![[0, 1], [0, 2]]);
}

#[test]
fn an_amber_netcdf_written_by_chemfiles_reads_back() {
    let positions = |k: usize| vec![[0.5 + k as f64, 1.0, 2.0], [2.0, 1.25, 2.0], [3.5, 1.0, 2.5 - k as f64]];
    for name in ["three.nc"] {
        let path = tmp(name);
        let mut out = chemfiles::Trajectory::open(&path, 'w').unwrap();
        for k in 0..2 {
            let mut frame = chemfiles::Frame::new();
            for (i, p) in positions(k).into_iter().enumerate() {
                let mut atom = chemfiles::Atom::new(["N", "C", "O"][i]);
                atom.set_atomic_type(["N", "C", "O"][i]);
                frame.add_atom(&atom, p, None);
            }
            frame.set_cell(&chemfiles::UnitCell::new([20.0, 21.0, 22.0]));
            frame.set("time", 2.5 * k as f64);
            out.write(&frame).unwrap();
        }
        drop(out);
        let t = Trajectory::open(&path, &OpenOptions::default()).unwrap();
        assert_eq!(t.len(), 2, "{name}");
        let f = frames(&t);
        for (k, frame) in f.iter().enumerate() {
            assert!(max_difference(&frame.positions, &positions(k)) < 1e-5, "{name} frame {k}: {:?}", frame.positions);
            assert_eq!(frame.cell.map(|c| [c[0][0], c[1][1], c[2][2]]), Some([20.0, 21.0, 22.0]), "{name}");
        }
        // chemfiles writes the time but does not read it back.
        assert_eq!(t.frames.iter().map(|f| f.time).collect::<Vec<_>>(), [None, None]);
    }
}

#[test]
fn an_mmcif_that_would_crash_chemfiles_is_refused() {
    // As chemfiles' own writer writes it: residue numbers '.', and no entity column.
    let cif = tmp("no_entity.mmcif");
    let columns = [
        "group_PDB",
        "id",
        "type_symbol",
        "label_atom_id",
        "label_alt_id",
        "label_comp_id",
        "label_asym_id",
        "label_seq_id",
        "Cartn_x",
        "Cartn_y",
        "Cartn_z",
    ];
    let header: String = columns.iter().map(|c| format!("_atom_site.{c}\n")).collect();
    std::fs::write(&cif, format!("data_x\nloop_\n{header}HETATM 1 N N . . . . 0.5 1.0 2.0\nHETATM 2 C C . . . . 2.0 1.25 2.0\n")).unwrap();
    let message = format!(
        "{}: has _atom_site.label_seq_id but no _atom_site.label_entity_id, which chemfiles needs for residues numbered '.' (it would crash on them); add the column, or give the structure as PDB",
        cif.display()
    );
    assert_eq!(Trajectory::open(&cif, &OpenOptions::default()).unwrap_err().to_string(), message);
    assert_eq!(trajwalk::io::formats::read_topology(&cif).unwrap_err().to_string(), message);
    // With the column, it reads.
    let header = header + "_atom_site.label_entity_id\n";
    std::fs::write(&cif, format!("data_x\nloop_\n{header}HETATM 1 N N . LIG A . 0.5 1.0 2.0 1\nHETATM 2 C C . LIG A . 2.0 1.25 2.0 1\n"))
        .unwrap();
    let t = Trajectory::open(&cif, &OpenOptions::default()).unwrap();
    let atoms: Vec<_> = t.topology.atoms.iter().map(|a| (a.name.as_str(), a.element, a.resname.as_str(), a.chain.as_str())).collect();
    assert_eq!(atoms, [("N", Some("N"), "LIG", "A"), ("C", Some("C"), "LIG", "A")]);
}

/// `--start/--stop/--step` and `--frames` on chemfiles' formats and on a chain of them:
/// the frames asked for, in the order asked, each with the bits it has in a run of every
/// frame (a frame's random streams are keyed by its index, and the readers seek).
#[test]
fn frame_slices_and_lists_seek_to_the_frames_of_a_full_run() {
    let (Some(top), Some(xtc), Some(trr), Some(tng)) = (mda("test_topology.pdb"), mda("test.xtc"), mda("test.trr"), mda("test.tng")) else {
        return;
    };
    let job = |frames| JobOptions { sampling: sampling(2000), unwrap: false, frames, ..Default::default() };
    for inputs in [vec![xtc.clone()], vec![trr.clone()], vec![tng.clone()], vec![xtc.clone(), trr.clone(), tng.clone()]] {
        let all = run(&inputs, with_topology(Some(&top)), job(FrameSelection::default()));
        assert_eq!(all.len(), 5 * inputs.len());
        let n = all.len();
        let picks = [
            (FrameSelection::Slice { start: Some(1), stop: None, step: 2 }, (1..n).step_by(2).collect::<Vec<_>>()),
            (FrameSelection::Slice { start: Some(3), stop: Some(n as i64 - 1), step: 1 }, (3..n - 1).collect()),
            (FrameSelection::List(vec![n - 1, 0, 2]), vec![n - 1, 0, 2]),
        ];
        for (selection, expected) in picks {
            let some = run(&inputs, with_topology(Some(&top)), job(selection.clone()));
            let indices: Vec<usize> = some.iter().map(|(i, _)| *i).collect();
            let mut sorted = expected.clone();
            sorted.sort_unstable();
            assert!(indices == expected || indices == sorted, "{inputs:?} {selection:?}: frames {indices:?}, expected {expected:?}");
            for (i, r) in &some {
                assert_eq!(bits(r), bits(&all[*i].1), "{inputs:?} {selection:?}: frame {i}");
            }
        }
    }
}

/// Positions, cell, step and time.
type ChemfilesFrame = (Vec<[f64; 3]>, Option<[[f64; 3]; 3]>, i64, Option<f64>);

/// Every frame of `path` as chemfiles reads it (Angstrom, the cell's vectors as rows, None
/// for chemfiles' infinite cell), with its step and time as chemfiles reports them, for the
/// comparisons with trajwalk's own readers.
fn chemfiles_frames(path: &Path) -> Vec<ChemfilesFrame> {
    let mut t = chemfiles::Trajectory::open(path, 'r').unwrap();
    let mut frame = chemfiles::Frame::new();
    (0..t.nsteps())
        .map(|i| {
            t.read_step(i, &mut frame).unwrap();
            let cell = frame.cell();
            let m = cell.matrix();
            let rows = (cell.shape() != chemfiles::CellShape::Infinite).then(|| std::array::from_fn(|i| std::array::from_fn(|j| m[j][i])));
            let time = match frame.get("time") {
                Some(chemfiles::Property::Double(t)) => Some(t),
                _ => None,
            };
            (frame.positions().to_vec(), rows, frame.step() as i64, time)
        })
        .collect()
}

fn bit_pattern(p: &[[f64; 3]]) -> Vec<[u64; 3]> {
    p.iter().map(|x| x.map(f64::to_bits)).collect()
}

/// molly's XTC reader against chemfiles', bit for bit: every frame's coordinates, box, step
/// and time, on the 5-atom cross-format file (stored uncompressed) and on ADK (compressed,
/// triclinic); and a reader of the protein's leading atoms, which decodes only up to its
/// last one, or of a range inside them, gets the bits of the whole frame's decode.
#[test]
fn the_xtc_reader_gives_chemfiles_bits_whole_or_decoding_a_prefix() {
    for xtc in [mda("test.xtc"), shared_data("adk_oplsaa.xtc")].into_iter().flatten() {
        let expected = chemfiles_frames(&xtc);
        let t = Trajectory::open(&xtc, &OpenOptions::default()).unwrap();
        assert_eq!(t.format.name(), "xtc");
        assert_eq!(t.len(), expected.len());
        let got = frames(&t);
        for (i, (f, (positions, cell, step, time))) in got.iter().zip(&expected).enumerate() {
            assert_eq!(bit_pattern(&f.positions), bit_pattern(positions), "{}: frame {i}", xtc.display());
            assert_eq!(f.cell.map(|c| bit_pattern(&c)), cell.map(|c| bit_pattern(&c)), "{}: frame {i}", xtc.display());
            assert!(time.is_some(), "{}: frame {i} has no time", xtc.display());
            assert_eq!((f.info.step, f.info.time.map(f64::to_bits)), (Some(*step), time.map(f64::to_bits)), "{}: frame {i}", xtc.display());
        }
        let atoms = t.topology.len();
        for range in [0..atoms.min(3341), 3..atoms.min(3341), atoms - 1..atoms] {
            let mut reader = t.reader(range.clone()).unwrap();
            for c in t.chunks(&(0..t.len()).rev().collect::<Vec<_>>(), 3) {
                for f in reader.read_chunk(&c).unwrap() {
                    let whole = &got[f.info.index];
                    assert_eq!(
                        bit_pattern(&f.positions),
                        bit_pattern(&whole.positions[range.clone()]),
                        "frame {} of {range:?}",
                        f.info.index
                    );
                    assert_eq!(f.cell, whole.cell);
                }
            }
        }
    }
}

/// The first `n` frames of ADK's XTC, as bytes (each frame's length from its header).
fn adk_frames(n: usize) -> Option<Vec<u8>> {
    let bytes = std::fs::read(shared_data("adk_oplsaa.xtc")?).unwrap();
    let mut end = 0;
    for _ in 0..n {
        let count = u32::from_be_bytes(bytes[end + 88..end + 92].try_into().unwrap()) as usize;
        end += 92 + count.div_ceil(4) * 4;
    }
    Some(bytes[..end].to_vec())
}

/// Opens `bytes` as an XTC and reads every frame whole and as the protein's prefix.
fn open_and_read_xtc(path: &Path, bytes: &[u8]) -> trajwalk::error::Result<()> {
    std::fs::write(path, bytes).unwrap();
    let t = Trajectory::open(path, &OpenOptions::default())?;
    let atoms = t.topology.len();
    for range in [0..atoms, 0..atoms.min(3341)] {
        let mut reader = t.reader(range)?;
        for c in t.chunks(&(0..t.len()).collect::<Vec<_>>(), usize::MAX) {
            reader.read_chunk(&c)?;
        }
    }
    Ok(())
}

/// Damaged XTC frames are refused with what is wrong and where, never a panic in molly's
/// decoder: a header cut short, a frame count of atoms that is not the topology's, a
/// precision of zero, a small-integer size out of molly's table, and then a few hundred
/// copies of two ADK frames with bytes flipped, each opened and read whole and as a prefix.
#[test]
fn damaged_xtc_frames_are_refused_and_never_panic_the_decoder() {
    let Some(two) = adk_frames(2) else { return };
    let path = tmp("damaged.xtc");
    let says = |bytes: &[u8]| open_and_read_xtc(&path, bytes).unwrap_err().to_string();
    let p = path.display();
    let first_len = {
        let count = u32::from_be_bytes(two[88..92].try_into().unwrap()) as usize;
        92 + count.div_ceil(4) * 4
    };
    assert_eq!(
        says(&two[..first_len + 30]),
        format!("{p}: is truncated: its frame 1 runs to byte {}, but the file ends at byte {}", first_len + 92, first_len + 30)
    );
    let mut bytes = two.clone();
    bytes[first_len + 52..first_len + 56].copy_from_slice(&47680i32.to_be_bytes());
    assert_eq!(says(&bytes), format!("{p}: frame 1 at byte {first_len} gives 47681 atoms, then 47680 (a damaged file?)"));
    let mut bytes = two.clone();
    bytes[first_len + 56..first_len + 60].copy_from_slice(&0f32.to_be_bytes());
    assert_eq!(says(&bytes), format!("{p}: frame 1: its precision 0 is not a positive number"));
    let mut bytes = two.clone();
    bytes[84..88].copy_from_slice(&73u32.to_be_bytes());
    assert_eq!(says(&bytes), format!("{p}: frame 0: its first small-integer size 73 is outside 9..73"));
    let mut bytes = two.clone();
    bytes[60..64].copy_from_slice(&i32::MAX.to_be_bytes());
    assert!(says(&bytes).starts_with(&format!("{p}: frame 0: its coordinate range 2147483647..")), "{}", says(&bytes));
    if let Some(gro) = shared_data("mda-coordinates/test.gro") {
        std::fs::write(&path, &two).unwrap();
        assert_eq!(
            Trajectory::open(&path, &with_topology(Some(&gro))).unwrap_err().to_string(),
            format!("{p}: has 47681 atoms per frame but the topology {} has 5", gro.display())
        );
    }

    // A fixed sequence of damage, the same every run: 1 to 4 bytes set anywhere, mostly in
    // the compressed streams.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut refused, mut read) = (0, 0);
    for case in 0..300 {
        let mut bytes = two.clone();
        for _ in 0..1 + next() % 4 {
            let at = if next() % 4 == 0 { (next() % 96) as usize } else { (next() % bytes.len() as u64) as usize };
            bytes[at] = next() as u8;
        }
        let started = std::time::Instant::now();
        match std::panic::catch_unwind(|| open_and_read_xtc(&path, &bytes)) {
            Ok(Ok(())) => read += 1,
            Ok(Err(e)) => {
                assert!(e.to_string().starts_with(&format!("{p}: ")), "case {case}: {e}");
                refused += 1;
            }
            Err(_) => panic!("case {case}: the reader panicked"),
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "case {case} took {:?}", started.elapsed());
    }
    println!("damaged XTC copies: {refused} refused, {read} read");
    assert!(refused > 0 && read > 0, "{refused} refused, {read} read");
}

/// trajwalk's DCD reader against chemfiles', bit for bit: MDAnalysis's test.dcd (its title
/// markers mended, as above) and ADK's frames written as a DCD by chemfiles (a CHARMM file
/// with a triclinic unit-cell record), every frame's coordinates, cell and time, and a
/// range of atoms read alone.
#[test]
fn the_dcd_reader_gives_chemfiles_bits() {
    let mut files = vec![];
    if let Some(dcd) = mda("test.dcd") {
        let mut bytes = std::fs::read(&dcd).unwrap();
        (bytes[0x5c], bytes[0x154]) = (244, 244);
        let mended = tmp("mended.dcd");
        std::fs::write(&mended, bytes).unwrap();
        files.push(mended);
    }
    if let Some(xtc) = shared_data("adk_oplsaa.xtc") {
        let adk = tmp("adk.dcd");
        let mut input = chemfiles::Trajectory::open(&xtc, 'r').unwrap();
        let mut output = chemfiles::Trajectory::open(&adk, 'w').unwrap();
        let mut frame = chemfiles::Frame::new();
        for _ in 0..3 {
            input.read(&mut frame).unwrap();
            output.write(&frame).unwrap();
        }
        drop(output);
        files.push(adk);
    }
    for dcd in &files {
        let expected = chemfiles_frames(dcd);
        let t = Trajectory::open(dcd, &OpenOptions::default()).unwrap();
        assert_eq!((t.format.name(), t.len()), ("dcd", expected.len()));
        let got = frames(&t);
        for (i, (f, (positions, cell, _, time))) in got.iter().zip(&expected).enumerate() {
            assert_eq!(bit_pattern(&f.positions), bit_pattern(positions), "{}: frame {i}", dcd.display());
            assert_eq!(f.cell.map(|c| bit_pattern(&c)), cell.map(|c| bit_pattern(&c)), "{}: frame {i}", dcd.display());
            // chemfiles reports DCD times in AKMA units, trajwalk in ps.
            let ps = time.map(|t| t * 0.048_888_821);
            assert_eq!(f.info.time.map(f64::to_bits), ps.map(f64::to_bits), "{}: frame {i}", dcd.display());
        }
        let atoms = t.topology.len();
        let mut reader = t.reader(1..atoms - 1).unwrap();
        let c = t.chunks(&[t.len() - 1], 1);
        assert_eq!(bit_pattern(&reader.read_chunk(&c[0]).unwrap()[0].positions), bit_pattern(&got[t.len() - 1].positions[1..atoms - 1]));
    }
    if files.len() == 2 {
        assert!(frames(&Trajectory::open(&files[1], &OpenOptions::default()).unwrap())[0].cell.is_some_and(|c| c[1][0] != 0.0));
    }
}

/// A DCD as CHARMM writes one, in either byte order: the header (CHARMM version 24, the
/// unit-cell flag), two title lines, the atom count, then per frame the six cell doubles
/// and the x, y and z records, each a Fortran record between its byte-count markers.
fn write_dcd(big_endian: bool, cells: &[[f64; 6]], frames: &[Vec<[f32; 3]>], fixed: i32) -> Vec<u8> {
    let i = |v: i32| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
    let mut out = vec![];
    let record = |out: &mut Vec<u8>, body: &[u8]| {
        out.extend(i(body.len() as i32));
        out.extend(body);
        out.extend(i(body.len() as i32));
    };
    let mut header = b"CORD".to_vec();
    let mut words = [0i32; 20];
    (words[0], words[1], words[2], words[8], words[10], words[19]) = (frames.len() as i32, 0, 1, fixed, 1, 24);
    for (k, w) in words.iter().enumerate() {
        header.extend(if k == 9 {
            if big_endian {
                2.0f32.to_be_bytes()
            } else {
                2.0f32.to_le_bytes()
            }
        } else {
            i(*w)
        });
    }
    record(&mut out, &header);
    let mut title = i(2).to_vec();
    title.extend([b'T'; 160]);
    record(&mut out, &title);
    record(&mut out, &i(frames[0].len() as i32));
    for (cell, frame) in cells.iter().zip(frames) {
        let doubles: Vec<u8> = cell.iter().flat_map(|d| if big_endian { d.to_be_bytes() } else { d.to_le_bytes() }).collect();
        record(&mut out, &doubles);
        for k in 0..3 {
            let xs: Vec<u8> = frame.iter().flat_map(|p| if big_endian { p[k].to_be_bytes() } else { p[k].to_le_bytes() }).collect();
            record(&mut out, &xs);
        }
    }
    out
}

/// A DCD written without a box, as MDAnalysis writes one (lengths 0, angles whose cosines
/// are 1, which chemfiles refuses as 0-degree angles), reads with no box in either byte
/// order and runs, unwrapping nothing; a box of cosines reads as chemfiles' cell of the
/// angles. Fixed atoms, 64-bit markers, a cut frame and a cut header are refused.
#[test]
fn a_dcd_without_a_box_reads_with_none_and_bad_ones_are_refused() {
    let frames: Vec<Vec<[f32; 3]>> =
        (0..3).map(|f| (0..6).map(|a| [a as f32 * 1.5, f as f32 * 0.25, 0.125 * a as f32]).collect()).collect();
    let none = [0.0, 1.0, 0.0, 1.0, 1.0, 0.0];
    for big_endian in [false, true] {
        let path = tmp(&format!("nobox-{big_endian}.dcd"));
        std::fs::write(&path, write_dcd(big_endian, &[none; 3], &frames, 0)).unwrap();
        if !big_endian {
            let mut t = chemfiles::Trajectory::open(&path, 'r').unwrap();
            let e = t.read(&mut chemfiles::Frame::new()).unwrap_err();
            assert_eq!(e.message, "a unit cell can not have 0° angles");
        }
        let t = Trajectory::open(&path, &OpenOptions::default()).unwrap();
        assert_eq!(t.topology.len(), 6);
        let got = self::frames(&t);
        for (f, expected) in got.iter().zip(&frames) {
            assert_eq!(f.cell, None);
            assert_eq!(f.positions, expected.iter().map(|p| p.map(f64::from)).collect::<Vec<_>>());
            assert_eq!(f.info.time, Some(2.0 * f.info.index as f64 * 0.048_888_821));
        }
        let job = JobOptions { sampling: sampling(500), radii: Some(trajwalk::radii::Radii::Uniform(1.7)), ..Default::default() };
        assert_eq!(run(std::slice::from_ref(&path), OpenOptions::default(), job).len(), 3);
    }
    // Cosines of 90, 90 and 60 degrees: chemfiles' cell of those angles.
    let path = tmp("cosines.dcd");
    std::fs::write(&path, write_dcd(false, &[[30.0, 0.5, 30.0, 0.0, 0.0, 40.0]; 3], &frames, 0)).unwrap();
    let got = self::frames(&Trajectory::open(&path, &OpenOptions::default()).unwrap());
    assert_eq!(got[0].cell.map(|c| bit_pattern(&c)), chemfiles_frames(&path)[0].1.map(|c| bit_pattern(&c)));
    assert!(got[0].cell.is_some_and(|c| (c[1][0] - 15.0).abs() < 1e-9 && c[0] == [30.0, 0.0, 0.0]), "{:?}", got[0].cell);

    let says = |bytes: Vec<u8>| {
        let path = tmp("bad.dcd");
        std::fs::write(&path, bytes).unwrap();
        let e = Trajectory::open(&path, &OpenOptions::default()).and_then(|t| {
            let mut r = t.reader(0..t.topology.len())?;
            r.read_chunk(&t.chunks(&[0], 1)[0])
        });
        e.unwrap_err().to_string().replace(&format!("{}: ", path.display()), "")
    };
    let good = write_dcd(false, &[none; 3], &frames, 0);
    assert_eq!(
        says(write_dcd(false, &[none; 3], &frames, 2)),
        "has 2 fixed atoms, whose coordinates only its first frame holds, which trajwalk does not read; write the trajectory without fixed atoms"
    );
    let frame_bytes = 56 + 3 * (8 + 24);
    assert_eq!(
        says(good[..good.len() - 10].to_vec()),
        format!("is truncated: its frame 2 runs to byte {}, but the file ends at byte {}", good.len(), good.len() - 10)
    );
    assert_eq!(says(good[..150].to_vec()), "is truncated: its header runs past the file's end at byte 150");
    let mut wide = vec![84, 0, 0, 0, 0, 0, 0, 0];
    wide.extend(b"CORD");
    assert_eq!(
        says(wide),
        "is a DCD with 64-bit record markers (CHARMM built with -i8), which trajwalk does not read; convert it with `mdconvert` or `catdcd`"
    );
    let mut damaged = good.clone();
    let first = good.len() - 3 * frame_bytes;
    damaged[first + 56..first + 60].copy_from_slice(&23i32.to_le_bytes());
    assert_eq!(
        says(damaged),
        "its header gives 6 atoms, but its first coordinate record holds 23 bytes (5.75 atoms of 4 bytes) (a damaged file?)"
    );
    let mut damaged = good.clone();
    damaged[first + frame_bytes + 56..first + frame_bytes + 60].copy_from_slice(&23i32.to_le_bytes());
    let e = Trajectory::open(
        &{
            let path = tmp("bad-second.dcd");
            std::fs::write(&path, damaged).unwrap();
            path
        },
        &OpenOptions::default(),
    )
    .and_then(|t| t.reader(0..6)?.read_chunk(&t.chunks(&[1], 1)[0]));
    assert_eq!(
        e.unwrap_err().to_string().replace(&format!("{}: ", tmp("bad-second.dcd").display()), ""),
        format!("frame 1: a record at byte {} has markers 23 and 24, not 24", first + frame_bytes + 56)
    );
    // An atom count that disagrees with the records was reported as a truncated file, and a
    // NaN cell angle as a cell "rectangular but not along the axes".
    let mut seven = good.clone();
    seven[268..272].copy_from_slice(&7i32.to_le_bytes());
    assert_eq!(
        says(seven),
        "its header gives 7 atoms, but its first coordinate record holds 24 bytes (6 atoms of 4 bytes) (a damaged file?)"
    );
    let mut nan = good.clone();
    nan[first + 12..first + 20].copy_from_slice(&f64::NAN.to_le_bytes());
    assert_eq!(says(nan), "frame 0: its cell [0.0, NaN, 0.0, 1.0, 1.0, 0.0] holds a value that is not a finite number");
    // Bytes set anywhere (a fixed sequence): refused naming the file, or read; never a panic.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (bad, p) = (tmp("fuzzed.dcd"), tmp("fuzzed.dcd").display().to_string());
    for case in 0..300 {
        let mut bytes = good.clone();
        for _ in 0..1 + next() % 3 {
            let at = (next() % bytes.len() as u64) as usize;
            bytes[at] = next() as u8;
        }
        std::fs::write(&bad, &bytes).unwrap();
        let read = std::panic::catch_unwind(|| {
            Trajectory::open(&bad, &OpenOptions::default()).and_then(|t| {
                let mut r = t.reader(0..t.topology.len())?;
                r.read_chunk(&t.chunks(&(0..t.len()).collect::<Vec<_>>(), usize::MAX)[0])
            })
        });
        match read {
            Ok(Err(e)) => assert!(e.to_string().starts_with(&format!("{p}: ")), "case {case}: {e}"),
            Ok(Ok(_)) => {}
            Err(_) => panic!("case {case}: the DCD reader panicked"),
        }
    }
    let angled = write_dcd(false, &[[30.0, 0.0, 30.0, 90.0, 90.0, 40.0]; 3], &frames, 0);
    assert_eq!(says(angled), "frame 0: its cell has an angle of 0 degrees ([90.0, 90.0, 0.0]) with lengths [30.0, 30.0, 40.0] A");
}

/// A MOL2 cut inside a record names the record and the line: chemfiles' own message quotes
/// the line only ("error while reading '...': expected 4 values, found 3").
#[test]
fn a_mol2_cut_mid_record_names_the_record_and_the_line() {
    let path = tmp("cut.mol2");
    std::fs::write(
        &path,
        "@<TRIPOS>MOLECULE\nala\n 3 2 1 0 0\nSMALL\nNO_CHARGES\n\n@<TRIPOS>ATOM\n\
      1 N           0.0000    0.0000    0.0000 N.3     1  ALA1        0.0000\n\
      2 CA          1.4500    0.0000    0.0000 C.3     1  ALA1        0.0000\n\
      3 C           2.0000    1.4000    0.0000 C.2     1  ALA1        0.0000\n\
@<TRIPOS>BOND\n     1     1     2 1\n     2     2     3",
    )
    .unwrap();
    let e = Trajectory::open(&path, &OpenOptions::default()).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}: frame 0 cannot be read: its @<TRIPOS>BOND record is cut short or damaged at the line '     2     2     3' \
             (expected 4 values, found 3)",
            path.display()
        )
    );
}

/// A TRR cut inside a frame's header (up to 83 bytes of it) was read as the frames before it,
/// exit 0; a cut anywhere is refused, naming the frame, as the README promises.
#[test]
fn a_trr_cut_anywhere_is_refused() {
    let Some(trr) = shared_data("mda-coordinates/test.trr") else { return };
    let bytes = std::fs::read(&trr).unwrap();
    assert_eq!(bytes.len(), 1500, "five frames of 300 bytes");
    let path = tmp("cut.trr");
    let says = |n: usize| {
        std::fs::write(&path, &bytes[..n]).unwrap();
        Trajectory::open(&path, &OpenOptions::default()).unwrap_err().to_string().replace(&path.display().to_string(), "FILE")
    };
    for n in [1201, 1216, 1275] {
        assert_eq!(says(n), format!("FILE: is truncated: its frame 4 at byte 1200 is cut inside its header: the file ends at byte {n}"));
    }
    for n in [1280, 1283, 1450, 1499] {
        assert_eq!(says(n), format!("FILE: is truncated: its frame 4 runs to byte 1500, but the file ends at byte {n}"));
    }
    let mut damaged = bytes.clone();
    damaged[1200] = 0x55;
    std::fs::write(&path, &damaged).unwrap();
    assert_eq!(
        Trajectory::open(&path, &OpenOptions::default()).unwrap_err().to_string().replace(&path.display().to_string(), "FILE"),
        "FILE: frame 4 at byte 1200 does not start with the TRR magic number 1993 (a damaged file?)"
    );
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(Trajectory::open(&path, &OpenOptions::default()).unwrap().len(), 5);
}
