//! Results as an H5MD file: `/observables/<name>/{step, time, value, std}`, one row per
//! frame, appended as frames arrive so memory does not grow with the run. `std` is the Monte
//! Carlo std; the quantities with ZENO's fixed model uncertainty (Rh, q_eta, `[eta]`, the
//! viscometric radius and the transport coefficients) add `model_std` beside it, the same
//! numbers as the JSON's. `value`, `std` and `model_std` carry a `unit` attribute (absent
//! for dimensionless quantities); `/observables/frame` holds each row's frame index. h5py
//! and MDAnalysis read it as any H5MD observable.
//!
//! `step` is the input's step, else the frame index; `time` the input's time, else the
//! step, so the two required datasets always exist and are monotonic.

use super::staged::Staged;
use super::{model_std, FrameReport};
use crate::analysis::sink::{End, Sink};
use crate::error::{Error, Result};
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
    model_std: Option<hdf5::Dataset>,
}

/// The H5MD results file of a run, a sink of its frames; it appears under its name only
/// when the run finishes.
pub struct H5Results {
    file: Option<hdf5::File>,
    observables: Vec<Observable>,
    rows: usize,
    staged: Option<Staged>,
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
        with_model_std: bool,
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
        let model_std = with_model_std.then(|| dataset::<f64>(&g, "model_std", shape)).transpose()?;
        if !unit.is_empty() {
            for ds in std::iter::once(&value).chain(&std).chain(&model_std) {
                text_attr(ds, "unit", unit)?;
            }
        }
        Ok(Observable { shape, step, time, value, std, model_std })
    }

    fn append(&self, row: usize, step: i64, time: f64, value: &[f64], std: &[f64], model_std: Option<&[f64]>) -> hdf5::Result<()> {
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
        match (&self.model_std, model_std) {
            (Some(ds), Some(m)) => write(ds, m)?,
            (None, None) => {}
            _ => return Err("a frame's model uncertainties differ from the earlier frames'".into()),
        }
        Ok(())
    }
}

impl H5Results {
    /// Creates the file under a temporary name beside `path`.
    pub fn create(path: &Path) -> Result<H5Results> {
        let staged = Staged::new(path)?;
        let file = (|| {
            let file = hdf5::File::create(staged.tmp())?;
            header(&file)?;
            file.create_group("observables")?;
            Ok(file)
        })()
        .map_err(|e: hdf5::Error| fail(path, e))?;
        Ok(H5Results { file: Some(file), observables: vec![], rows: 0, staged: Some(staged) })
    }

    fn append(&mut self, f: &FrameReport) -> hdf5::Result<()> {
        let file = self.file.as_ref().expect("frames arrive before the file is finished");
        let step = f.info.step.unwrap_or(f.info.index as i64);
        let time = f.info.time.unwrap_or(step as f64);
        if self.rows == 0 {
            let root = file.group("observables")?;
            let time_unit = f.info.time.and(f.time_unit);
            self.observables.push(Observable::create(&root, "frame", Shape::Scalar, "", false, false, time_unit)?);
            for e in &f.result.estimates {
                let unit = e.quantity.unit(&f.length_unit.name);
                let model = e.quantity.model_relative_uncertainty().is_some();
                self.observables.push(Observable::create(&root, e.quantity.name(), e.quantity.shape(), &unit, true, model, time_unit)?);
            }
        }
        self.observables[0].append(self.rows, step, time, &[f.info.index as f64], &[], None)?;
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
            o.append(self.rows, step, time, &e.value, &e.std, model_std(e).as_deref())?;
        }
        self.rows += 1;
        Ok(())
    }

    fn path(&self) -> PathBuf {
        self.staged.as_ref().map_or_else(PathBuf::new, |s| s.path().into())
    }
}

fn fail(path: &Path, e: hdf5::Error) -> Error {
    Error::Output { path: path.into(), message: e.to_string() }
}

impl Sink for H5Results {
    fn frame(&mut self, f: &FrameReport) -> Result<()> {
        self.append(f).map_err(|e| fail(&self.path(), e))
    }

    /// Flushes and closes the file and renames it into place.
    fn finish(&mut self, _end: &End) -> Result<()> {
        let path = self.path();
        let file = self.file.take().expect("a file finishes once");
        file.flush().map_err(|e| fail(&path, e))?;
        self.observables.clear();
        file.close().map_err(|e| fail(&path, e))?;
        self.staged.take().expect("a file finishes once").commit()
    }

    fn target(&self) -> Option<&Path> {
        self.staged.as_ref().map(Staged::path)
    }
}
