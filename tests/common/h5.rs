//! Writers for the small H5MD and WepyHDF5 files the tests read back, made with the same
//! HDF5 library trajwalk reads them with, in the layouts real writers use.

use hdf5::types::VarLenUnicode;
use ndarray::Array3;
use std::path::Path;

pub fn text(s: &str) -> VarLenUnicode {
    s.parse().unwrap()
}

pub fn text_attr(loc: &hdf5::Location, name: &str, value: &str) {
    loc.new_attr::<VarLenUnicode>().create(name).unwrap().write_scalar(&text(value)).unwrap();
}

/// Frames x atoms x 3 from a function of (frame, atom).
pub fn positions(frames: usize, atoms: usize, f: impl Fn(usize, usize) -> [f64; 3]) -> Array3<f64> {
    Array3::from_shape_fn((frames, atoms, 3), |(i, a, k)| f(i, a)[k])
}

/// How an H5MD file's step and time are stored.
pub enum Steps {
    /// One value per frame.
    Explicit { steps: Vec<i64>, times: Vec<f64> },
    /// A scalar increment with an `offset` attribute.
    Fixed { step: i64, step_offset: i64, time: f64, time_offset: f64 },
    None,
}

pub struct H5md<'a> {
    pub group: &'a str,
    pub positions: Array3<f64>,
    pub single_precision: bool,
    pub unit: Option<&'a str>,
    pub steps: Steps,
    /// Atomic numbers, fixed in time.
    pub species: Option<Vec<i32>>,
    /// Cubic edge per frame, in the position unit.
    pub box_edges: Option<Vec<f64>>,
}

impl<'a> H5md<'a> {
    pub fn new(positions: Array3<f64>) -> H5md<'a> {
        H5md { group: "all", positions, single_precision: false, unit: Some("Angstrom"), steps: Steps::None, species: None, box_edges: None }
    }

    pub fn write(&self, path: &Path) {
        let _lock = super::hdf5_fork_lock();
        let file = hdf5::File::create(path).unwrap();
        let h5md = file.create_group("h5md").unwrap();
        h5md.new_attr::<i32>().shape(2).create("version").unwrap().write(&[1, 1]).unwrap();
        let group = file.create_group("particles").unwrap().create_group(self.group).unwrap();
        let position = group.create_group("position").unwrap();
        let (n, atoms, _) = self.positions.dim();
        let value = if self.single_precision {
            position.new_dataset_builder().chunk((1, atoms, 3)).with_data(&self.positions.mapv(|v| v as f32)).create("value").unwrap()
        } else {
            position.new_dataset_builder().chunk((1, atoms, 3)).with_data(&self.positions).create("value").unwrap()
        };
        if let Some(u) = self.unit {
            text_attr(&value, "unit", u);
        }
        match &self.steps {
            Steps::Explicit { steps, times } => {
                position.new_dataset_builder().with_data(steps.as_slice()).create("step").unwrap();
                let t = position.new_dataset_builder().with_data(times.as_slice()).create("time").unwrap();
                text_attr(&t, "unit", "ps");
            }
            Steps::Fixed { step, step_offset, time, time_offset } => {
                let s = position.new_dataset::<i64>().create("step").unwrap();
                s.write_scalar(step).unwrap();
                s.new_attr::<i64>().create("offset").unwrap().write_scalar(step_offset).unwrap();
                let t = position.new_dataset::<f64>().create("time").unwrap();
                t.write_scalar(time).unwrap();
                t.new_attr::<f64>().create("offset").unwrap().write_scalar(time_offset).unwrap();
                text_attr(&t, "unit", "fs");
            }
            Steps::None => {}
        }
        if let Some(z) = &self.species {
            group.new_dataset_builder().with_data(z.as_slice()).create("species").unwrap();
        }
        if let Some(edges) = &self.box_edges {
            assert_eq!(edges.len(), n);
            let bx = group.create_group("box").unwrap();
            bx.new_attr::<i32>().create("dimension").unwrap().write_scalar(&3).unwrap();
            let e = bx.create_group("edges").unwrap();
            let cells = Array3::from_shape_fn((n, 3, 3), |(i, r, c)| if r == c { edges[i] } else { 0.0 });
            e.new_dataset_builder().with_data(&cells).create("value").unwrap();
        }
    }
}

/// An mdtraj JSON topology: one chain, one residue per atom name group.
pub fn mdtraj_topology(atoms: &[(&str, &str, &str)]) -> String {
    let residues: Vec<serde_json::Value> = atoms
        .iter()
        .enumerate()
        .map(|(i, (name, element, resname))| {
            serde_json::json!({"index": i, "name": resname, "resSeq": i + 1, "segmentID": "",
                "atoms": [{"index": i, "name": name, "element": element}]})
        })
        .collect();
    serde_json::json!({"chains": [{"index": 0, "residues": residues}], "bonds": []}).to_string()
}

/// A WepyHDF5 file: `trajectories[r]` are the positions (cycles x atoms x 3) of run r's
/// trajectories 0, 1, ...; units at /units/units/positions as wepy writes them.
pub fn write_wepy(path: &Path, topology: &str, main_rep_idxs: Option<&[i64]>, unit: &str, runs: &[Vec<Array3<f64>>]) {
    let _lock = super::hdf5_fork_lock();
    let file = hdf5::File::create(path).unwrap();
    file.new_dataset::<VarLenUnicode>().create("topology").unwrap().write_scalar(&text(topology)).unwrap();
    let settings = file.create_group("_settings").unwrap();
    if let Some(idx) = main_rep_idxs {
        settings.new_dataset_builder().with_data(idx).create("main_rep_idxs").unwrap();
    }
    let units = file.create_group("units").unwrap().create_group("units").unwrap();
    units.new_dataset::<VarLenUnicode>().create("positions").unwrap().write_scalar(&text(unit)).unwrap();
    let runs_group = file.create_group("runs").unwrap();
    for (r, trajs) in runs.iter().enumerate() {
        let t = runs_group.create_group(&r.to_string()).unwrap().create_group("trajectories").unwrap();
        for (k, p) in trajs.iter().enumerate() {
            let g = t.create_group(&k.to_string()).unwrap();
            g.new_dataset_builder().with_data(&p.mapv(|v| v as f32)).create("positions").unwrap();
            let w = ndarray::Array2::<f64>::from_elem((p.dim().0, 1), 1.0 / p.dim().0 as f64);
            g.new_dataset_builder().with_data(&w).create("weights").unwrap();
        }
    }
}
