//! trajwalk: ZENO's hydrodynamic and shape observables (capacitance, hydrodynamic radius,
//! polarizability, intrinsic viscosity, volume, gyration tensor, transport coefficients) by
//! walk-on-spheres, for every frame of a trajectory, with Monte Carlo uncertainties, and
//! bit-for-bit reproducible on the CPU whatever the thread count.
//!
//! The pipeline, one module each: an input file ([`io`]) gives spheres; [`body`] turns them
//! into a body with its launch sphere and [`bvh`]; [`walk`] runs walks and interior samples
//! on it with counter-based random numbers ([`rng`]) into block tallies; [`compute`] runs
//! blocks on a [`pool`] of threads until the stopping rule holds; [`estimate`] turns tallies
//! into observables with jackknife uncertainties; [`output`] writes them.

pub mod body;
pub mod bvh;
pub mod compute;
pub mod error;
pub mod estimate;
pub mod io;
pub mod output;
pub mod pool;
pub mod rng;
pub mod units;
pub mod vec3;
pub mod walk;

pub use error::{Error, Result};
