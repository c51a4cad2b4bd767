//! Readers that turn input files into trajectories of atoms (or, for .bod, a body).

pub mod bod;
pub mod h5md;
pub mod h5md_write;
pub mod hdf5;
pub mod memory;
pub mod pdb;
pub mod wepy;
