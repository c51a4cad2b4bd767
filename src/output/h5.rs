//! Results as an H5MD file: `/observables/<name>/{step, time, value, std}`, one row per
//! frame, appended as frames arrive so memory does not grow with the run. `value` and `std`
//! carry a `unit` attribute (absent for dimensionless quantities); `/observables/frame`
//! holds each row's frame index. h5py and MDAnalysis read it as any H5MD observable.
//!
//! `step` is the input's step, else the frame index; `time` the input's time, else the
//! step, so the two required datasets always exist and are monotonic.

use super::FrameReport;
use crate::estimate::Shape;
use crate::io::h5md_write::{header, text_attr};
use std::path::{Path, PathBuf};

/// Rows per HDF5 chunk: large enough that appending a row rarely touches a new chunk.
const CHUNK_ROWS: usize = 64;

struct Observable {
    shape: Shape,
    step: hdf5::Dataset,
    time: hdf5::Dataset,
    value: hdf5::Dataset,
    std: Option<hdf5::Dataset>,
}

pub struct H5Results {
    file: hdf5::File,
    path: PathBuf,
    observables: Vec<Observable>,
    rows: usize,
}

fn extents(shape: Shape) -> Vec<usize> {
    match shape {
        Shape::Scalar => vec![],
        Shape::Vector => vec![3],
        Shape::Tensor => vec![3, 3],
    }
}

fn dataset<T: hdf5::H5Type>(group: &hdf5::Group, name: &str, shape: Shape) -> hdf5::Result<hdf5::Dataset> {
    let tail = extents(shape);
    let mut dims = vec![0];
    dims.extend(&tail);
    let mut chunk = vec![CHUNK_ROWS];
    chunk.extend(&tail);
    group.new_dataset::<T>().chunk(chunk).shape(hdf5::SimpleExtents::resizable(dims)).create(name)
}

impl Observable {
    fn create(
        root: &hdf5::Group,
        name: &str,
        shape: Shape,
        unit: &str,
        with_std: bool,
        time_unit: Option<&str>,
    ) -> hdf5::Result<Observable> {
        let g = root.create_group(name)?;
        let step = dataset::<i64>(&g, "step", Shape::Scalar)?;
        let time = dataset::<f64>(&g, "time", Shape::Scalar)?;
        if let Some(u) = time_unit {
            text_attr(&time, "unit", u)?;
        }
        let value = dataset::<f64>(&g, "value", shape)?;
        let std = with_std.then(|| dataset::<f64>(&g, "std", shape)).transpose()?;
        if !unit.is_empty() {
            text_attr(&value, "unit", unit)?;
            if let Some(s) = &std {
                text_attr(s, "unit", unit)?;
            }
        }
        Ok(Observable { shape, step, time, value, std })
    }

    fn append(&self, row: usize, step: i64, time: f64, value: &[f64], std: &[f64]) -> hdf5::Result<()> {
        self.step.resize(vec![row + 1])?;
        self.step.write_slice(&[step], row..row + 1)?;
        self.time.resize(vec![row + 1])?;
        self.time.write_slice(&[time], row..row + 1)?;
        let write = |ds: &hdf5::Dataset, v: &[f64]| -> hdf5::Result<()> {
            let mut dims = vec![row + 1];
            dims.extend(extents(self.shape));
            ds.resize(dims)?;
            match self.shape {
                Shape::Scalar => ds.write_slice(v, row..row + 1),
                Shape::Vector => {
                    ds.write_slice(&ndarray::Array2::from_shape_vec((1, 3), v.to_vec()).expect("3 components"), (row..row + 1, ..))
                }
                Shape::Tensor => {
                    ds.write_slice(&ndarray::Array3::from_shape_vec((1, 3, 3), v.to_vec()).expect("9 components"), (row..row + 1, .., ..))
                }
            }
        };
        write(&self.value, value)?;
        if let Some(s) = &self.std {
            write(s, std)?;
        }
        Ok(())
    }
}

impl H5Results {
    /// Creates the file at `path` (the caller's temporary name; it renames it when done).
    pub fn create(path: &Path) -> hdf5::Result<H5Results> {
        let file = hdf5::File::create(path)?;
        header(&file)?;
        file.create_group("observables")?;
        Ok(H5Results { file, path: path.into(), observables: vec![], rows: 0 })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn frame(&mut self, f: &FrameReport) -> hdf5::Result<()> {
        let step = f.info.step.unwrap_or(f.info.index as i64);
        let time = f.info.time.unwrap_or(step as f64);
        if self.rows == 0 {
            let root = self.file.group("observables")?;
            let time_unit = f.info.time.and(f.time_unit);
            self.observables.push(Observable::create(&root, "frame", Shape::Scalar, "", false, time_unit)?);
            for e in &f.result.estimates {
                let unit = e.quantity.unit(&f.length_unit.name);
                self.observables.push(Observable::create(&root, e.quantity.name(), e.quantity.shape(), &unit, true, time_unit)?);
            }
        }
        self.observables[0].append(self.rows, step, time, &[f.info.index as f64], &[])?;
        if f.result.estimates.len() + 1 != self.observables.len() {
            return Err(format!(
                "frame {} has {} observables, earlier frames {}",
                f.info.index,
                f.result.estimates.len(),
                self.observables.len() - 1
            )
            .into());
        }
        for (o, e) in self.observables[1..].iter().zip(&f.result.estimates) {
            o.append(self.rows, step, time, &e.value, &e.std)?;
        }
        self.rows += 1;
        Ok(())
    }

    /// Flushes and closes the file.
    pub fn finish(self) -> hdf5::Result<()> {
        self.file.flush()?;
        drop(self.observables);
        self.file.close()
    }
}
