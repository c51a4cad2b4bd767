//! Writers for the small H5MD and WepyHDF5 files the tests read back, made with the same
//! HDF5 library trajwalk reads them with, in the layouts real writers use.

use hdf5::types::VarLenUnicode;
use ndarray::Array3;
use std::path::Path;
#[allow(unused_imports)]
pub use trajwalk::io::h5md_write::Steps;
#[allow(unused_imports)]
pub use trajwalk::io::h5md_write::{positions, text, H5md};

pub fn text_attr(loc: &hdf5::Location, name: &str, value: &str) {
    trajwalk::io::h5md_write::text_attr(loc, name, value).unwrap();
}

/// Writes under the lock that keeps forked children from inheriting an open HDF5 file.
pub trait Save {
    fn write(&self, path: &Path);
}

impl Save for H5md<'_> {
    fn write(&self, path: &Path) {
        let _lock = super::hdf5_fork_lock();
        self.save(path).unwrap();
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
    file.new_dataset::<VarLenUnicode>().create("topology").unwrap().write_scalar(&text(topology).unwrap()).unwrap();
    let settings = file.create_group("_settings").unwrap();
    if let Some(idx) = main_rep_idxs {
        settings.new_dataset_builder().with_data(idx).create("main_rep_idxs").unwrap();
    }
    let units = file.create_group("units").unwrap().create_group("units").unwrap();
    units.new_dataset::<VarLenUnicode>().create("positions").unwrap().write_scalar(&text(unit).unwrap()).unwrap();
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
