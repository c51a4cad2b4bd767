//! The observables written back into the WepyHDF5 input they came from, beside the
//! trajectories, where wepy's own analysis tools look for per-cycle observables.

use crate::analysis::sink::{End, Sink};
use crate::error::{Error, Result};
use crate::estimate::Estimate;
use crate::io::wepy;
use crate::job::Job;
use crate::output::FrameReport;
use crate::trajectory::WepyLabel;
use std::path::PathBuf;

/// Collects every frame's estimates and writes them into the wepy file when the run
/// finishes (HDF5 datasets are written whole, so a stopped run writes the frames it has).
pub struct WriteBack {
    path: PathBuf,
    length_unit: String,
    rows: Vec<(WepyLabel, Vec<Estimate>)>,
    datasets: usize,
}

impl WriteBack {
    /// A write-back into the job's input, which must be a WepyHDF5 file.
    pub fn new(job: &Job) -> Result<WriteBack> {
        let t = &job.trajectory;
        if t.format.name() != "wepy" {
            return Err(Error::Option(format!("write-back writes into a WepyHDF5 input, but {} is {}", t.path.display(), t.format.name())));
        }
        Ok(WriteBack { path: t.path.clone(), length_unit: t.length_unit.name.clone(), rows: vec![], datasets: 0 })
    }

    /// Datasets written when the run finished (0 before).
    pub fn datasets(&self) -> usize {
        self.datasets
    }

    /// Frames written back.
    pub fn frames(&self) -> usize {
        self.rows.len()
    }
}

impl Sink for WriteBack {
    fn frame(&mut self, frame: &FrameReport) -> Result<()> {
        if let Some(label) = frame.info.wepy {
            self.rows.push((label, frame.result.estimates.clone()));
        }
        Ok(())
    }

    fn finish(&mut self, _end: &End) -> Result<()> {
        self.datasets = wepy::write_back(&self.path, &self.length_unit, &self.rows)?;
        Ok(())
    }
}
