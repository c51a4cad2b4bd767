//! Readers that turn input files into bodies.

pub mod bod;
