//! trajwalk: ZENO's hydrodynamic and shape observables (capacitance, hydrodynamic radius,
//! polarizability, intrinsic viscosity, volume, gyration tensor, transport coefficients) by
//! walk-on-spheres, for every frame of a trajectory, with Monte Carlo uncertainties, and
//! bit-for-bit reproducible on the CPU whatever the thread count.
//!
//! The pipeline, one module each: an input file ([`io`]) opens as a [`trajectory`] of frames
//! with a [`topology`]; a [`job`] settles the atoms ([`select`]), their [`radii`] and the
//! frames, and [`stream`]s chunks of frames from a reader thread; each frame is made whole
//! ([`pbc`]) and [`body`] turns its spheres into a body with its launch sphere, [`bvh`] and far-field [`grid`]; [`walk`] runs walks and interior samples
//! on it with counter-based random numbers ([`rng`]) into block tallies; [`compute`] runs
//! blocks on a [`pool`] of threads until the stopping rule holds; [`estimate`] turns tallies
//! into observables with jackknife uncertainties; [`output`] writes them. [`distributed`]
//! runs one job over many ranks (MPI processes) through a [`transport`], with the same bits.

// Index loops over 3x3 tensors, Philox words and struct-of-arrays lanes mirror the
// formulas they implement (and the WGSL shader that must agree with them); iterator chains
// over two or three zipped arrays would hide which component meets which.
#![allow(clippy::needless_range_loop)]
#![deny(missing_docs)]

pub mod analysis;
pub mod body;
pub mod bvh;
pub mod checkpoint;
pub mod compute;
pub mod distributed;
pub mod error;
pub mod estimate;
pub mod exec;
pub mod gpu;
pub mod grid;
pub mod hit_points;
pub mod io;
pub mod job;
pub mod output;
pub mod pbc;
pub mod plan;
pub mod plot;
pub mod pool;
pub mod progress;
pub mod radii;
pub mod rng;
pub mod select;
pub mod stream;
pub mod topology;
pub mod trajectory;
pub mod transport;
pub mod units;
pub mod vec3;
pub mod verify;
pub mod walk;

pub use error::{Error, Result};
