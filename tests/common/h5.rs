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

/// The units wepy's OpenMM runner names (`wepy.runners.openmm.UNIT_NAMES`), which OpenMM
/// simulations hand to `WepyHDF5Reporter(units=...)`: the keys and values real files carry at
/// /units/units, so a test of them reads what users' files hold.
pub const OPENMM_UNITS: [(&str, &str); 8] = [
    ("positions_unit", "nanometer"),
    ("time_unit", "picosecond"),
    ("box_vectors_unit", "nanometer"),
    ("velocities_unit", "nanometer/picosecond"),
    ("forces_unit", "kilojoule/(nanometer*mole)"),
    ("box_volume_unit", "nanometer"),
    ("kinetic_energy_unit", "kilojoule/mole"),
    ("potential_energy_unit", "kilojoule/mole"),
];

/// A WepyHDF5 file to write. [`Wepy::new`] gives the least trajwalk reads, so a test can
/// leave parts out; `wepy_layout` adds the rest of what wepy's `WepyHDF5` writes, so a test
/// can show those members do not get in the way.
pub struct Wepy<'a> {
    /// The mdtraj JSON at /topology, the atoms the positions (or main_rep_idxs) refer to.
    pub topology: &'a str,
    /// `runs[r][t]` are the positions (cycles x atoms x 3) of run r's trajectory t, in the
    /// file's units, so every run and trajectory index the reader walks is chosen here.
    pub runs: &'a [Vec<Array3<f64>>],
    /// /_settings/main_rep_idxs, for positions that hold a subset of the topology's atoms.
    pub main_rep_idxs: Option<&'a [i64]>,
    /// (name, value) datasets under /units/units: the spellings the reader must understand.
    pub units: Vec<(&'a str, &'a str)>,
    /// Positions as f32 rather than wepy's f64, to check the reader converts the type.
    pub single_precision: bool,
    /// The edge of a cubic box written as every trajectory's box_vectors (cycles x 3 x 3),
    /// in the file's units, to check the cell's scale.
    pub box_edge: Option<f64>,
    /// Also writes what wepy writes but trajwalk does not read: the other settings (n_dims,
    /// n_atoms, main_rep_idxs for all atoms when none are given, ...), each run's
    /// init_walkers, the run_idx/traj_idx attributes and a time field.
    pub wepy_layout: bool,
}

impl<'a> Wepy<'a> {
    /// The least trajwalk reads, f32 positions in `unit` at /units/units/positions.
    pub fn new(topology: &'a str, runs: &'a [Vec<Array3<f64>>], unit: &'a str) -> Self {
        Wepy {
            topology,
            runs,
            main_rep_idxs: None,
            units: vec![("positions", unit)],
            single_precision: true,
            box_edge: None,
            wepy_layout: false,
        }
    }
}

impl Save for Wepy<'_> {
    fn write(&self, path: &Path) {
        let _lock = super::hdf5_fork_lock();
        let scalar = |g: &hdf5::Group, name: &str, v: i64| g.new_dataset::<i64>().create(name).unwrap().write_scalar(&v).unwrap();
        let string = |g: &hdf5::Group, name: &str, v: &str| {
            g.new_dataset::<VarLenUnicode>().create(name).unwrap().write_scalar(&text(v).unwrap()).unwrap()
        };
        let file = hdf5::File::create(path).unwrap();
        let runs_group = file.create_group("runs").unwrap();
        let settings = file.create_group("_settings").unwrap();
        string(&file, "topology", self.topology);
        let atoms = self.runs.iter().flatten().next().map_or(0, |p| p.dim().1);
        let all: Vec<i64> = (0..atoms as i64).collect();
        if let Some(idx) = self.main_rep_idxs.or(self.wepy_layout.then_some(all.as_slice())) {
            settings.new_dataset_builder().with_data(idx).create("main_rep_idxs").unwrap();
        }
        if self.wepy_layout {
            scalar(&settings, "n_dims", 3);
            scalar(&settings, "n_atoms", atoms as i64);
            settings.create_group("alt_reps_idxs").unwrap();
            settings
                .create_group("field_feature_shapes")
                .unwrap()
                .new_dataset_builder()
                .with_data(&[3i64, 3])
                .create("box_vectors")
                .unwrap();
            string(&settings.create_group("field_feature_dtypes").unwrap(), "box_vectors", r#"[["", "<f8"]]"#);
            settings.create_group("record_fields").unwrap();
            settings.new_dataset::<i64>().shape((0.., 2)).chunk((1, 2)).create("continuations").unwrap();
        }
        let units = file.create_group("units").unwrap().create_group("units").unwrap();
        for (name, value) in &self.units {
            string(&units, name, value);
        }
        for (r, trajs) in self.runs.iter().enumerate() {
            let run = runs_group.create_group(&r.to_string()).unwrap();
            let t = run.create_group("trajectories").unwrap();
            let walkers = self.wepy_layout.then(|| run.create_group("init_walkers").unwrap());
            for (k, p) in trajs.iter().enumerate() {
                let cycles = p.dim().0;
                let g = t.create_group(&k.to_string()).unwrap();
                let w = ndarray::Array2::<f64>::from_elem((cycles, 1), 1.0 / cycles as f64);
                g.new_dataset_builder().with_data(&w).create("weights").unwrap();
                if self.single_precision {
                    g.new_dataset_builder().with_data(&p.mapv(|v| v as f32)).create("positions").unwrap();
                } else {
                    g.new_dataset_builder().with_data(p).create("positions").unwrap();
                }
                let cell = self.box_edge.map(|edge| Array3::from_shape_fn((cycles, 3, 3), |(_, i, j)| if i == j { edge } else { 0.0 }));
                if let Some(cell) = &cell {
                    g.new_dataset_builder().with_data(cell).create("box_vectors").unwrap();
                }
                if let Some(walkers) = &walkers {
                    // wepy's run_idx/traj_idx attributes, a time field, and the walker each
                    // trajectory starts from: one frame, the cycle-0 state.
                    for (name, v) in [("run_idx", r), ("traj_idx", k)] {
                        g.new_attr::<i64>().create(name).unwrap().write_scalar(&(v as i64)).unwrap();
                    }
                    let time = ndarray::Array2::<f64>::from_shape_fn((cycles, 1), |(c, _)| 10.0 * (c + 1) as f64);
                    g.new_dataset_builder().with_data(&time).create("time").unwrap();
                    let walker = walkers.create_group(&k.to_string()).unwrap();
                    walker.new_dataset_builder().with_data(&ndarray::arr2(&[[1.0 / trajs.len() as f64]])).create("weights").unwrap();
                    walker.new_dataset_builder().with_data(&p.slice(ndarray::s![..1, .., ..])).create("positions").unwrap();
                    if let Some(cell) = &cell {
                        walker.new_dataset_builder().with_data(&cell.slice(ndarray::s![..1, .., ..])).create("box_vectors").unwrap();
                    }
                }
            }
        }
    }
}

/// A WepyHDF5 file of the least trajwalk reads (see [`Wepy::new`]); `trajectories[r]` are
/// the positions (cycles x atoms x 3) of run r's trajectories 0, 1, ...
pub fn write_wepy(path: &Path, topology: &str, main_rep_idxs: Option<&[i64]>, unit: &str, runs: &[Vec<Array3<f64>>]) {
    Wepy { main_rep_idxs, ..Wepy::new(topology, runs, unit) }.write(path);
}
