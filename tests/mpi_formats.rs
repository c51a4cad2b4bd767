//! `mpirun -np 2 trajwalk run` (feature `mpi`) on the MD formats read through chemfiles: a
//! real GROMACS XTC with its GRO topology and a protein selection, and an XTC and a TRR
//! read as one trajectory, each write the CSV of one process byte for byte (every rank
//! opens its own readers and seeks to its frames). Each mpirun runs under `timeout`, so a
//! hang fails the test rather than the CI. Without mpirun the tests skip, unless
//! TRAJWALK_REQUIRE_MPI is set (as .ci/run sets it); without ../shared/data they skip, unless
//! TRAJWALK_REQUIRE_SHARED=1.
#![cfg(feature = "mpi")]

mod common;

use common::{s, shared_data};
use std::process::{Command, Stdio};

/// Whether mpirun is here; without it the test skips, or fails under TRAJWALK_REQUIRE_MPI.
fn have_mpirun() -> bool {
    let found = Command::new("mpirun").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if !found {
        assert!(std::env::var_os("TRAJWALK_REQUIRE_MPI").is_none(), "TRAJWALK_REQUIRE_MPI is set but there is no mpirun on PATH");
        eprintln!("skipped: no mpirun on PATH (install openmpi-bin); set TRAJWALK_REQUIRE_MPI=1 to fail instead");
    }
    found
}

/// The CSV that `trajwalk ARGS` writes, alone (`ranks` None) or under `mpirun -np RANKS`,
/// within 180 s (GNU timeout kills the whole process group past it).
fn csv(ranks: Option<usize>, args: &[String]) -> String {
    let mut command = Command::new("timeout");
    command.args(["--kill-after=10", "180"]);
    if let Some(n) = ranks {
        command.args(["mpirun", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "-np", &n.to_string()]);
    }
    let out = {
        let _lock = common::hdf5_fork_lock();
        command.arg(env!("CARGO_BIN_EXE_trajwalk")).args(args).output().expect("timeout runs")
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(124), "{ranks:?} ranks: {} did not end within 180 s; stderr:\n{stderr}", args.join(" "));
    assert!(out.status.success(), "{ranks:?} ranks: {}: {stderr}", args.join(" "));
    String::from_utf8(out.stdout).unwrap()
}

fn args(inputs: &[&std::path::Path], topology: &std::path::Path, rest: &[&str]) -> Vec<String> {
    let mut a = vec!["run".to_string()];
    a.extend(inputs.iter().map(|p| s(p)));
    a.extend(["--topology".into(), s(topology)]);
    a.extend(["--walks", "2000", "--interior", "2000", "--seed", "5", "--threads", "1", "--quiet", "--format", "csv"].map(String::from));
    a.extend(rest.iter().map(|r| r.to_string()));
    a
}

#[test]
fn two_ranks_on_a_gromacs_xtc_with_its_gro_write_the_bytes_of_one_process() {
    let (Some(gro), Some(xtc)) = (shared_data("adk_oplsaa.gro"), shared_data("adk_oplsaa.xtc")) else { return };
    if !have_mpirun() {
        return;
    }
    let a = args(&[&xtc], &gro, &["--select", "protein", "--stop", "4"]);
    let reference = csv(None, &a);
    assert_eq!(reference.lines().count(), 5, "a header and 4 frames:\n{reference}");
    assert_eq!(csv(Some(2), &a), reference);
}

#[test]
fn two_ranks_on_an_xtc_and_a_trr_as_one_trajectory_write_the_bytes_of_one_process() {
    let dir = |name: &str| shared_data(&format!("mda-coordinates/{name}"));
    let (Some(top), Some(xtc), Some(trr)) = (dir("test_topology.pdb"), dir("test.xtc"), dir("test.trr")) else { return };
    if !have_mpirun() {
        return;
    }
    let a = args(&[&xtc, &trr], &top, &["--no-unwrap"]);
    let reference = csv(None, &a);
    assert_eq!(reference.lines().count(), 11, "a header and 10 frames:\n{reference}");
    assert_eq!(csv(Some(2), &a), reference);
}
