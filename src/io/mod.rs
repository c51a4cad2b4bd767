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
