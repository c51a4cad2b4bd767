//! Writing H5MD: trajectories (for examples and tests, in the layout MD engines write) and
//! the conventions the `.h5` results share with them (the `/h5md` header, `unit`
//! attributes as variable-length strings, as h5py and MDAnalysis read them).

use hdf5::types::VarLenUnicode;
use ndarray::Array3;
use std::path::Path;

/// A string as HDF5 variable-length UTF-8; a string HDF5 cannot hold (an inner NUL) is an
/// error naming it.
pub fn text(s: &str) -> hdf5::Result<VarLenUnicode> {
    s.parse().map_err(|e| format!("cannot store {s:?} as an HDF5 string: {e}").into())
}

/// A scalar variable-length UTF-8 attribute, the string type h5py and MDAnalysis read as
/// `str` (fixed-length strings come back as bytes).
pub fn text_attr(loc: &hdf5::Location, name: &str, value: &str) -> hdf5::Result<()> {
    loc.new_attr::<VarLenUnicode>().create(name)?.write_scalar(&text(value)?)
}

/// The `/h5md` group every H5MD file opens with: version 1.1, the author and the creator.
pub fn header(file: &hdf5::File) -> hdf5::Result<()> {
    let h5md = file.create_group("h5md")?;
    h5md.new_attr::<i32>().shape(2).create("version")?.write(&[1, 1])?;
    let author = h5md.create_group("author")?;
    text_attr(&author, "name", &std::env::var("USER").unwrap_or_else(|_| "unknown".into()))?;
    let creator = h5md.create_group("creator")?;
    text_attr(&creator, "name", "trajwalk")?;
    text_attr(&creator, "version", env!("CARGO_PKG_VERSION"))
}

/// Frames x atoms x 3 from a function of (frame, atom).
pub fn positions(frames: usize, atoms: usize, f: impl Fn(usize, usize) -> [f64; 3]) -> Array3<f64> {
    Array3::from_shape_fn((frames, atoms, 3), |(i, a, k)| f(i, a)[k])
}

/// How an H5MD file's step and time are stored.
pub enum Steps {
    /// One value per frame.
    Explicit {
        /// One step per frame.
        steps: Vec<i64>,
        /// One time per frame, in the file's `time_unit`.
        times: Vec<f64>,
    },
    /// A scalar increment with an `offset` attribute.
    Fixed {
        /// Steps between consecutive frames.
        step: i64,
        /// The step of frame 0.
        step_offset: i64,
        /// Time between consecutive frames, in the file's `time_unit`.
        time: f64,
        /// The time of frame 0.
        time_offset: f64,
    },
    /// No step or time datasets: readers leave each frame's step and time None.
    None,
}

/// An H5MD trajectory: `/particles/<group>/{position, species, box}`.
pub struct H5md<'a> {
    /// The particles group's name (`all` by default).
    pub group: &'a str,
    /// Frames x atoms x 3, in `unit`.
    pub positions: Array3<f64>,
    /// Store positions as f32, as most MD engines do, so readers meet the conversion.
    pub single_precision: bool,
    /// The positions' `unit` attribute; None writes none, like the files that need
    /// `--length-unit`.
    pub unit: Option<&'a str>,
    /// The time dataset's `unit` attribute; unused with `Steps::None`.
    pub time_unit: &'a str,
    /// Whether and how step and time are stored.
    pub steps: Steps,
    /// Atomic numbers, fixed in time.
    pub species: Option<Vec<i32>>,
    /// Cubic edge per frame, in the position unit.
    pub box_edges: Option<Vec<f64>>,
}

impl<'a> H5md<'a> {
    /// Positions in Angstrom as f64 in group `all`, with no step, time, species or box;
    /// change the fields to write other layouts.
    pub fn new(positions: Array3<f64>) -> H5md<'a> {
        H5md {
            group: "all",
            positions,
            single_precision: false,
            unit: Some("Angstrom"),
            time_unit: "ps",
            steps: Steps::None,
            species: None,
            box_edges: None,
        }
    }

    /// Creates the file at `path`, replacing one already there; an error if `box_edges` does
    /// not give one edge per frame.
    pub fn save(&self, path: &Path) -> hdf5::Result<()> {
        let file = hdf5::File::create(path)?;
        header(&file)?;
        let group = file.create_group("particles")?.create_group(self.group)?;
        let position = group.create_group("position")?;
        let (n, atoms, _) = self.positions.dim();
        let value = if self.single_precision {
            position.new_dataset_builder().chunk((1, atoms, 3)).with_data(&self.positions.mapv(|v| v as f32)).create("value")?
        } else {
            position.new_dataset_builder().chunk((1, atoms, 3)).with_data(&self.positions).create("value")?
        };
        if let Some(u) = self.unit {
            text_attr(&value, "unit", u)?;
        }
        match &self.steps {
            Steps::Explicit { steps, times } => {
                position.new_dataset_builder().with_data(steps.as_slice()).create("step")?;
                let t = position.new_dataset_builder().with_data(times.as_slice()).create("time")?;
                text_attr(&t, "unit", self.time_unit)?;
            }
            Steps::Fixed { step, step_offset, time, time_offset } => {
                let s = position.new_dataset::<i64>().create("step")?;
                s.write_scalar(step)?;
                s.new_attr::<i64>().create("offset")?.write_scalar(step_offset)?;
                let t = position.new_dataset::<f64>().create("time")?;
                t.write_scalar(time)?;
                t.new_attr::<f64>().create("offset")?.write_scalar(time_offset)?;
                text_attr(&t, "unit", self.time_unit)?;
            }
            Steps::None => {}
        }
        if let Some(z) = &self.species {
            group.new_dataset_builder().with_data(z.as_slice()).create("species")?;
        }
        if let Some(edges) = &self.box_edges {
            if edges.len() != n {
                return Err(format!("{} box edges for {n} frames", edges.len()).into());
            }
            let bx = group.create_group("box")?;
            bx.new_attr::<i32>().create("dimension")?.write_scalar(&3)?;
            let e = bx.create_group("edges")?;
            let cells = Array3::from_shape_fn((n, 3, 3), |(i, r, c)| if r == c { edges[i] } else { 0.0 });
            e.new_dataset_builder().with_data(&cells).create("value")?;
        }
        Ok(())
    }
}
