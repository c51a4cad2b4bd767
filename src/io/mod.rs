//! Readers that turn input files into trajectories of atoms (or, for .bod, a body); the
//! [`formats`] catalogue says which reader reads what.

pub mod bod;
pub mod chain;
pub mod chemfiles;
pub mod dcd;
pub mod formats;
pub mod h5md;
pub mod h5md_write;
pub mod hdf5;
pub mod memory;
pub mod pdb;
pub mod prmtop;
pub mod psf;
pub mod tng;
pub mod wepy;
pub mod xtc;

use crate::error::{Error, Result};
use crate::vec3::M3;
use std::path::Path;

/// Refuses what no reader can read, before one tries: a path that cannot be looked at, a
/// directory, and an empty file. chemfiles memory-maps TRR and NetCDF files, so these gave
/// "mmap failed ... Invalid argument" (empty) and "No such device" (a directory named .trr).
pub(crate) fn check_readable(path: &Path) -> Result<()> {
    let metadata = std::fs::metadata(path).map_err(|error| Error::Io { path: path.into(), error })?;
    let refused = |message: &str| Err(Error::Input { path: path.into(), message: message.into() });
    if metadata.is_dir() {
        return refused("is a directory, not a file");
    }
    if metadata.is_file() && metadata.len() == 0 {
        return refused("is empty (0 bytes)");
    }
    Ok(())
}

/// A cell matrix, its vectors as columns, as chemfiles' `UnitCell` takes it: the same
/// refusals (a left-handed cell, a rectangular one not along the axes), None where
/// chemfiles sees no box (a diagonal of zeros), else the vectors as rows. The readers of
/// trajwalk's own that replace chemfiles' (XTC, DCD, TNG) all take their box through it, so
/// that each gives chemfiles' answer.
pub(crate) fn unit_cell(m: M3) -> std::result::Result<Option<M3>, &'static str> {
    let zero = |v: f64| v.abs() < 1e-5;
    let determinant = m[0][0] * (m[1][1] * m[2][2] - m[2][1] * m[1][2]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    if determinant < 0.0 {
        return Err("has a negative determinant (a left-handed cell)");
    }
    let rows: M3 = std::array::from_fn(|k| std::array::from_fn(|j| m[j][k]));
    let diagonal = zero(m[1][0]) && zero(m[2][0]) && zero(m[0][1]) && zero(m[2][1]) && zero(m[0][2]) && zero(m[1][2]);
    if diagonal {
        return Ok((!(zero(m[0][0]) && zero(m[1][1]) && zero(m[2][2]))).then_some(rows));
    }
    let norm = |v: &[f64; 3]| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    let dot = |a: &[f64; 3], c: &[f64; 3]| a[0] * c[0] + a[1] * c[1] + a[2] * c[2];
    let angle = |a: &[f64; 3], c: &[f64; 3]| (dot(a, c) / (norm(a) * norm(c))).acos() * 180.0 / std::f64::consts::PI;
    let right = |x: f64| (x - 90.0).abs() < 1e-3 || x.is_nan();
    let infinite = rows.iter().all(|v| zero(norm(v)));
    let orthorhombic =
        !infinite && right(angle(&rows[1], &rows[2])) && right(angle(&rows[0], &rows[2])) && right(angle(&rows[0], &rows[1]));
    if orthorhombic {
        return Err("is rectangular but not along the axes");
    }
    Ok(Some(rows))
}
