//! Trajectory inputs read back exactly: H5MD in both step modes, f32 and f64, nm and
//! Angstrom; WepyHDF5 with runs, trajectories and main_rep_idxs, and as wepy's OpenMM
//! reporter writes it (units at /units/units/positions_unit); multi-model PDB; chunked
//! reads equal to frame-by-frame reads; the periodic unwrap; and frame results that do not
//! depend on which other frames were selected.

mod common;

use common::h5::{mdtraj_topology, positions, write_wepy, H5md, Save, Steps, Wepy, OPENMM_UNITS};
use std::f64::consts::LN_2;
use std::path::PathBuf;
use trajwalk::compute::Sampling;
use trajwalk::estimate::Quantity;
use trajwalk::exec::{Strategy, Threads};
use trajwalk::job::{Job, JobOptions};
use trajwalk::pool::Pool;
use trajwalk::radii::Radii;
use trajwalk::trajectory::{Chunk, FrameSelection, OpenOptions, Trajectory, WepyLabel};

fn scratch(name: &str) -> PathBuf {
    common::scratch("traj", name)
}

fn options(radii: Option<Radii>, frames: FrameSelection) -> JobOptions {
    JobOptions {
        radii,
        frames,
        sampling: Sampling { walks: 4096, interior_samples: 4096, seed: 7, ..Default::default() },
        ..Default::default()
    }
}

/// Every frame of a job, read through its stream, as (index, positions).
fn read_all(job: &Job) -> Vec<(usize, Vec<[f64; 3]>)> {
    job.stream().map(|f| f.unwrap()).map(|f| (f.info.index, f.positions)).collect()
}

fn wiggle(i: usize, a: usize) -> [f64; 3] {
    [0.1 * a as f64 + 0.013 * i as f64, 0.2 + 0.07 * a as f64, -0.3 + 0.001 * (i * a) as f64]
}

#[test]
fn h5md_explicit_steps_f32_nm_read_back_in_angstrom() {
    let path = scratch("explicit.h5md");
    let mut file = H5md::new(positions(4, 3, wiggle));
    file.single_precision = true;
    file.unit = Some("nm");
    file.steps = Steps::Explicit { steps: vec![0, 10, 20, 30], times: vec![0.0, 0.02, 0.04, 0.06] };
    file.species = Some(vec![6, 8, 1]);
    file.write(&path);
    let t = Trajectory::open(&path, &OpenOptions::default()).unwrap();
    assert_eq!(t.len(), 4);
    assert_eq!(t.time_unit.as_deref(), Some("ps"));
    let elements: Vec<_> = t.topology.atoms.iter().map(|a| a.element).collect();
    assert_eq!(elements, vec![Some("C"), Some("O"), Some("H")]);
    assert_eq!(t.frames.iter().map(|f| f.step).collect::<Vec<_>>(), vec![Some(0), Some(10), Some(20), Some(30)]);
    assert_eq!(t.frames[2].time, Some(0.04));
    let job = Job::prepare(t, &options(None, FrameSelection::default())).unwrap();
    assert_eq!(job.radii, vec![1.70, 1.52, 1.20]);
    for (i, xyz) in read_all(&job) {
        for (a, x) in xyz.iter().enumerate() {
            let expect = wiggle(i, a).map(|v| (v as f32) as f64 * 10.0);
            assert_eq!(*x, expect, "frame {i} atom {a}");
        }
    }
}

#[test]
fn h5md_fixed_steps_f64_angstrom_read_back_exactly() {
    let path = scratch("fixed.h5md");
    let mut file = H5md::new(positions(5, 2, wiggle));
    file.steps = Steps::Fixed { step: 100, step_offset: 1000, time: 0.5, time_offset: 2.0 };
    file.time_unit = "fs";
    file.write(&path);
    let t = Trajectory::open(&path, &OpenOptions::default()).unwrap();
    assert_eq!(t.frames.iter().map(|f| f.step.unwrap()).collect::<Vec<_>>(), vec![1000, 1100, 1200, 1300, 1400]);
    assert_eq!(t.frames.iter().map(|f| f.time.unwrap()).collect::<Vec<_>>(), vec![2.0, 2.5, 3.0, 3.5, 4.0]);
    assert_eq!(t.time_unit.as_deref(), Some("fs"));
    let job = Job::prepare(t, &options(Some(Radii::Uniform(1.0)), FrameSelection::default())).unwrap();
    for (i, xyz) in read_all(&job) {
        assert_eq!(xyz, (0..2).map(|a| wiggle(i, a)).collect::<Vec<_>>());
    }
}

#[test]
fn chunked_reads_equal_frame_by_frame_reads() {
    let path = scratch("chunks.h5md");
    H5md::new(positions(12, 4, wiggle)).write(&path);
    let t = Trajectory::open(&path, &OpenOptions::default()).unwrap();
    let mut reader = t.reader(1..3).unwrap();
    let single: Vec<_> =
        (0..12).map(|f| reader.read_chunk(&Chunk { segment: 0, start: f, step: 1, count: 1 }).unwrap().remove(0)).collect();
    for frames in [(0..12).collect::<Vec<_>>(), vec![1, 4, 7, 10], vec![11, 0, 5, 6, 7]] {
        for max in 1..=12 {
            let chunks = t.chunks(&frames, max);
            let got: Vec<_> = chunks.iter().flat_map(|c| reader.read_chunk(c).unwrap()).collect();
            assert_eq!(got.iter().map(|f| f.info.index).collect::<Vec<_>>(), frames, "max {max}");
            for f in &got {
                assert_eq!(f.positions, single[f.info.index].positions, "frame {} max {max}", f.info.index);
                assert_eq!(f.positions.len(), 2);
            }
        }
    }
}

#[test]
fn wepy_runs_trajectories_and_main_rep_idxs() {
    let path = scratch("run.wepy.h5");
    // Topology of 4 atoms; positions hold atoms 1 and 3 (main_rep_idxs).
    let topology = mdtraj_topology(&[("OW", "O", "SOL"), ("CA", "C", "ALA"), ("HW", "H", "SOL"), ("N", "N", "ALA")]);
    let traj = |seed: f64, cycles: usize| positions(cycles, 2, move |c, a| [seed + c as f64, a as f64 * 0.3, 0.0]);
    write_wepy(&path, &topology, Some(&[1, 3]), "nanometer", &[vec![traj(0.0, 3), traj(10.0, 2)], vec![traj(20.0, 4)]]);
    let t = Trajectory::open(&path, &OpenOptions::default()).unwrap();
    assert_eq!(t.len(), 9);
    assert_eq!(t.topology.atoms.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), vec!["CA", "N"]);
    assert_eq!(t.topology.atoms.iter().map(|a| a.element).collect::<Vec<_>>(), vec![Some("C"), Some("N")]);
    assert_eq!(t.frames[4].wepy, Some(WepyLabel { run: 0, traj: 1, cycle: 1 }));
    assert_eq!(t.frames[4].key, 1 << 32 | 1);
    assert_eq!(t.frames[8].key, 1 << 48 | 3);
    let job = Job::prepare(t, &options(None, FrameSelection::default())).unwrap();
    let frames = read_all(&job);
    assert_eq!(frames[4].1[1], [(11.0f32 as f64) * 10.0, (0.3f32 as f64) * 10.0, 0.0]);
    assert_eq!(frames[8].1[0][0], 230.0);
    // Selecting run 1 keeps its frames' keys: the same frame, the same random numbers.
    let only = Trajectory::open(&path, &OpenOptions { runs: Some(vec![1]), ..Default::default() }).unwrap();
    assert_eq!(only.len(), 4);
    assert_eq!(only.frames[3].key, 1 << 48 | 3);
    assert_eq!(only.frames[3].index, 3);
    let traj1 = Trajectory::open(&path, &OpenOptions { runs: Some(vec![0]), trajs: Some(vec![1]), ..Default::default() }).unwrap();
    assert_eq!(traj1.len(), 2);
    let err = Trajectory::open(&path, &OpenOptions { runs: Some(vec![2]), ..Default::default() }).unwrap_err().to_string();
    assert_eq!(err, format!("{}: has no run 2 (it has: 0, 1)", path.display()));
}

/// Positions in nm of atoms a = 0, 1 at cycle c of trajectory `seed`: 0.15 nm apart in y.
fn nm(seed: f64, c: usize, a: usize) -> [f64; 3] {
    [seed + 0.01 * c as f64, 0.15 * a as f64, 1.0]
}

#[test]
fn wepy_as_the_openmm_reporter_writes_it_reads_its_nanometer_units() {
    let path = scratch("openmm.wepy.h5");
    // All atoms' topology; positions hold N and CA (main_rep_idxs), in nm, as f64.
    let topology = mdtraj_topology(&[("N", "N", "ALA"), ("CA", "C", "ALA"), ("OW", "O", "SOL")]);
    let traj = |seed: f64, cycles: usize| positions(cycles, 2, move |c, a| nm(seed, c, a));
    let runs = [vec![traj(0.0, 3), traj(1.0, 2)], vec![traj(2.0, 2)]];
    let file = Wepy {
        main_rep_idxs: Some(&[0, 1]),
        units: OPENMM_UNITS.to_vec(),
        single_precision: false,
        box_edge: Some(3.0),
        wepy_layout: true,
        ..Wepy::new(&topology, &runs, "")
    };
    file.write(&path);
    let t = Trajectory::open(&path, &OpenOptions::default()).unwrap();
    assert_eq!(t.len(), 7);
    assert_eq!(t.topology.atoms.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), vec!["N", "CA"]);
    assert_eq!(t.frames[4].wepy, Some(WepyLabel { run: 0, traj: 1, cycle: 1 }));
    assert_eq!(t.frames[4].key, 1 << 32 | 1);
    assert_eq!(t.frames[6].wepy, Some(WepyLabel { run: 1, traj: 0, cycle: 1 }));
    assert_eq!(t.frames[6].key, 1 << 48 | 1);
    let job = Job::prepare(t, &options(None, FrameSelection::List(vec![4]))).unwrap();
    assert_eq!(job.radii, vec![1.55, 1.70]);
    let frame = job.stream().next().unwrap().unwrap();
    assert_eq!(frame.positions, vec![nm(1.0, 1, 0).map(|v| v * 10.0), nm(1.0, 1, 1).map(|v| v * 10.0)]);
    // box_vectors_unit is nanometer too: a 3 nm box is 30 Angstrom.
    assert_eq!(frame.cell, Some([[30.0, 0.0, 0.0], [0.0, 30.0, 0.0], [0.0, 0.0, 30.0]]));
    let body = job.body(&frame).unwrap();
    let [a, b] = [0, 1].map(|k| body.spheres[k].center);
    let d = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt();
    assert!((d - 1.5).abs() < 1e-5, "0.15 nm apart is 1.5 Angstrom, got {d}");
}

#[test]
fn wepy_unit_named_by_the_field_wins_over_the_unit_suffixed_one() {
    let path = scratch("both.wepy.h5");
    let topology = mdtraj_topology(&[("N", "N", "ALA"), ("CA", "C", "ALA")]);
    let runs = [vec![positions(1, 2, |c, a| nm(0.0, c, a))]];
    let units = vec![("positions", "angstrom"), ("positions_unit", "nanometer"), ("box_vectors_unit", "nanometer")];
    Wepy { units, box_edge: Some(3.0), single_precision: false, ..Wepy::new(&topology, &runs, "") }.write(&path);
    let t = Trajectory::open(&path, &OpenOptions::default()).unwrap();
    let job = Job::prepare(t, &options(None, FrameSelection::default())).unwrap();
    let frame = job.stream().next().unwrap().unwrap();
    assert_eq!(frame.positions, vec![nm(0.0, 0, 0), nm(0.0, 0, 1)]);
    assert_eq!(frame.cell.unwrap()[0][0], 30.0, "box_vectors keep their own unit");
}

const PDB: &str = "\
CRYST1   30.000   30.000   30.000  90.00  90.00  90.00 P 1           1
MODEL        1
ATOM      1  N   ALA A   1       1.000   2.000   3.000  1.00  0.00           N
ATOM      2  CA  ALA A   1       2.000   2.000   3.000  1.00  0.00
HETATM    3 CL   CL  B   2      29.500   2.000   3.000  1.00  0.00
ENDMDL
MODEL        2
ATOM      1  N   ALA A   1       1.500   2.000   3.000  1.00  0.00           N
ATOM      2  CA  ALA A   1       2.500   2.000   3.000  1.00  0.00
HETATM    3 CL   CL  B   2      29.000   2.000   3.000  1.00  0.00
ENDMDL
CONECT    1    2
END
";

#[test]
fn pdb_models_are_frames_with_guessed_elements_bonds_and_cell() {
    let path = scratch("two.pdb");
    std::fs::write(&path, PDB).unwrap();
    let t = Trajectory::open(&path, &OpenOptions::default()).unwrap();
    assert_eq!(t.len(), 2);
    let a = &t.topology.atoms;
    assert_eq!(a.iter().map(|a| a.element).collect::<Vec<_>>(), vec![Some("N"), Some("C"), Some("Cl")]);
    assert_eq!((a[2].resname.as_str(), a[2].resid, a[2].chain.as_str()), ("CL", 2, "B"));
    assert_eq!(t.topology.bonds, vec![[0, 1]]);
    let job = Job::prepare(t, &options(None, FrameSelection::List(vec![1]))).unwrap();
    let frames: Vec<_> = job.stream().map(|f| f.unwrap()).collect();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].positions[2], [29.0, 2.0, 3.0]);
    assert_eq!(frames[0].cell, Some([[30.0, 0.0, 0.0], [30.0 * 90f64.to_radians().cos(), 30.0, 0.0], frames[0].cell.unwrap()[2]]));
    // The chlorine sits across the cell face from the nitrogen: made whole, it is 2 A from it.
    let body = job.body(&frames[0]).unwrap();
    let chlorine = body.spheres.iter().find(|s| (s.radius - 1.75).abs() < 1e-6).expect("the Cl sphere (Bondi 1.75)");
    let x = chlorine.center[0] as f64 + body.center[0];
    assert!((x - (-1.0)).abs() < 1e-4, "Cl at x = {x}");
}

/// Two touching spheres of radius 1 Angstrom, the second wrapped across the cell's x face.
fn split_pair(path: &std::path::Path) {
    let mut file = H5md::new(positions(1, 2, |_, a| if a == 0 { [0.5, 5.0, 5.0] } else { [9.5, 5.0, 5.0] }));
    file.box_edges = Some(vec![10.0]);
    file.write(path);
}

#[test]
fn a_pair_split_across_the_box_is_made_whole_and_matches_the_analytic_capacitance() {
    let path = scratch("split.h5md");
    split_pair(&path);
    let sampling = Sampling { walks: 40_000, interior_samples: 4096, seed: 3, ..Default::default() };
    let run = |unwrap: bool| {
        let t = Trajectory::open(&path, &OpenOptions::default()).unwrap();
        let mut o = options(Some(Radii::Uniform(0.5)), FrameSelection::default());
        o.unwrap = unwrap;
        o.sampling = sampling.clone();
        let job = Job::prepare(t, &o).unwrap();
        let frame = job.stream().next().unwrap().unwrap();
        job.compute(&frame, &Pool::new(2).unwrap()).unwrap()
    };
    let whole = run(true);
    common::assert_z(&whole, Quantity::Capacitance, 0, 2.0 * LN_2 * 0.5);
    let apart = run(false);
    let c = apart.get(Quantity::Capacitance).unwrap();
    assert!((c.value[0] - 2.0 * LN_2 * 0.5) / c.std[0] > 10.0, "unwrapped pair should be larger: {c:?}");
}

#[test]
fn a_frame_has_the_same_numbers_whichever_frames_are_selected() {
    let path = scratch("same.h5md");
    let mut file = H5md::new(positions(6, 3, |i, a| [1.8 * a as f64 + 0.05 * i as f64, 0.0, 0.0]));
    file.species = Some(vec![6, 6, 6]);
    file.write(&path);
    let compute = |frames: FrameSelection, threads: usize| {
        let t = Trajectory::open(&path, &OpenOptions::default()).unwrap();
        let job = Job::prepare(t, &options(None, frames)).unwrap();
        let mut out = vec![];
        Threads(threads)
            .run(&job, 4, &mut |info, r| {
                out.push((info.index, r.estimates));
                Ok(())
            })
            .unwrap();
        out
    };
    let all = compute(FrameSelection::default(), 1);
    let picked = compute(FrameSelection::List(vec![4, 1]), 2);
    let sliced = compute(FrameSelection::Slice { start: Some(1), stop: None, step: 3 }, 2);
    assert_eq!(picked[0], all[4]);
    assert_eq!(picked[1], all[1]);
    assert_eq!(sliced, vec![all[1].clone(), all[4].clone()]);
    assert_ne!(all[0].1, all[1].1, "different frames must differ");
}
