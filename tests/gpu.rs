//! The GPU path on whatever adapter the machine has (Mesa's lavapipe in CI: WGSL compute on
//! the CPU): the WGSL Philox against the CPU's, analytic values, agreement with the CPU on
//! a protein-sized body, reproducibility, tiny and huge bodies, the f32 precision refusal,
//! and the errors without an adapter.
//!
//! Without an adapter these tests skip with a printed reason, unless TRAJWALK_REQUIRE_GPU
//! is set (as .ci/run does), when they fail.

mod common;

use common::{body, sampling, touching, trajwalk};
use serde_json::Value;
use std::sync::Arc;
use trajwalk::body::{Body, BodyOptions};
use trajwalk::compute::{FrameResult, Sampling};
use trajwalk::estimate::{Context, Estimator, Quantity};
use trajwalk::exec::gpu::compute_body;
use trajwalk::gpu::walks::{philox, Walker};
use trajwalk::gpu::Gpu;
use trajwalk::rng::philox4x32_10;
use trajwalk::verify;

fn device() -> Option<(Arc<Gpu>, Walker)> {
    let g = common::gpu_or_skip()?;
    let w = Walker::new(&g).expect("the kernels compile");
    Some((g, w))
}

fn ctx(b: &Body) -> Context {
    Context { launch_radius: b.launch_radius, length_meters: Some(1e-10), conditions: Default::default() }
}

fn on_gpu(g: &Gpu, w: &Walker, b: &Body, walks: u64, interior: u64) -> FrameResult {
    compute_body(g, w, b, 7, &sampling(walks, interior, 3), &ctx(b)).unwrap()
}

fn value(r: &FrameResult, q: Quantity) -> (Vec<f64>, Vec<f64>) {
    let e = r.get(q).unwrap();
    (e.value.clone(), e.std.clone())
}

/// z <= 4 against the exact value of each component.
fn assert_z(r: &FrameResult, q: Quantity, exact: &[f64]) {
    for (k, &x) in exact.iter().enumerate() {
        common::assert_z(r, q, k, x);
    }
}

#[test]
fn wgsl_philox_matches_the_cpu_bit_for_bit() {
    let Some((g, _)) = device() else { return };
    let mut inputs = vec![
        ([0; 4], [0; 2]),
        ([u32::MAX; 4], [u32::MAX; 2]),
        ([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]),
    ];
    inputs.extend((0..61u32).map(|i| ([i, i.wrapping_mul(0x9E3779B9), 1 << 31 | i, 7], [3, i ^ 0xdeadbeef])));
    let got = philox(&g, &inputs).unwrap();
    let want: Vec<[u32; 4]> = inputs.iter().map(|&(c, k)| philox4x32_10(c, k)).collect();
    assert_eq!(got, want);
}

#[test]
fn a_sphere_and_two_touching_spheres_off_axis_match_the_analytic_values() {
    let Some((g, w)) = device() else { return };
    // A launch sphere of twice the radius, so that walks escape and samples miss and both
    // have a spread (hugging the sphere, every walk hits and C is exact with std 0).
    let sphere = body(&[[0.3, -0.2, 0.1]], &[1.0], &BodyOptions { launch_radius: Some(2.0), ..Default::default() });
    let r = on_gpu(&g, &w, &sphere, 60_000, 60_000);
    assert_z(&r, Quantity::Capacitance, &[1.0]);
    assert_z(&r, Quantity::PolarizabilityEigenvalues, &[4.0 * std::f64::consts::PI; 3]);
    assert_z(&r, Quantity::Volume, &[4.0 / 3.0 * std::f64::consts::PI]);
    assert_z(&r, Quantity::RadiusOfGyration, &[(3.0f64 / 5.0).sqrt()]);
    // Two unit spheres touching, along the (1, 2, 2)/3 direction: C = 2 ln 2, principal
    // polarizabilities 22.658, 22.658, 60.422 (../shared/spec/reference-values.md).
    let (centers, radii) = touching([1.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0], 1.0, 1.0);
    let pair = body(&centers, &radii, &BodyOptions::default());
    let r = on_gpu(&g, &w, &pair, 60_000, 60_000);
    assert_z(&r, Quantity::Capacitance, &[2.0 * std::f64::consts::LN_2]);
    assert_z(&r, Quantity::PolarizabilityEigenvalues, &[22.658, 22.658, 60.422]);
    assert_z(&r, Quantity::Volume, &[8.0 / 3.0 * std::f64::consts::PI]);
}

/// A compact 600-sphere globule: atoms on a jittered lattice inside a ball, protein-like radii.
fn globule(n: usize) -> Body {
    let mut rng = trajwalk::rng::Stream::new(99, 0, 0, 0);
    let mut centers = vec![];
    let mut radii = vec![];
    while centers.len() < n {
        let p = [30.0 * rng.uniform() - 15.0, 30.0 * rng.uniform() - 15.0, 30.0 * rng.uniform() - 15.0];
        if p.iter().map(|v| v * v).sum::<f64>() < 225.0 {
            centers.push(p);
            radii.push(1.4 + 0.5 * rng.uniform());
        }
    }
    body(&centers, &radii, &BodyOptions::default())
}

#[test]
fn the_gpu_agrees_with_the_cpu_on_a_protein_sized_body_and_repeats_itself_exactly() {
    let Some((g, w)) = device() else { return };
    let b = globule(600);
    let s = sampling(40_000, 40_000, 5);
    let gpu_r = compute_body(&g, &w, &b, 11, &s, &ctx(&b)).unwrap();
    let cpu_r = common::run(&b, 11, &s, 2);
    for e in &cpu_r.estimates {
        let (v, sd) = value(&gpu_r, e.quantity);
        for k in 0..v.len() {
            let z = (v[k] - e.value[k]).abs() / (sd[k].powi(2) + e.std[k].powi(2)).sqrt();
            assert!(
                z <= 4.0 || !z.is_finite() && v[k] == e.value[k],
                "{}[{k}]: gpu {} +- {}, cpu {} +- {}: z = {z:.2}",
                e.quantity.name(),
                v[k],
                sd[k],
                e.value[k],
                e.std[k]
            );
        }
    }
    assert!(verify::z_score(&gpu_r, &cpu_r).unwrap().1 <= 4.0);
    let again = compute_body(&g, &w, &b, 11, &s, &ctx(&b)).unwrap();
    assert_eq!(verify::difference(&again, &gpu_r), None, "two GPU runs with one seed are identical");
    let other_seed = compute_body(&g, &w, &b, 11, &sampling(40_000, 40_000, 6), &ctx(&b)).unwrap();
    assert!(verify::difference(&other_seed, &gpu_r).is_some());
}

#[test]
fn one_sphere_and_a_hundred_thousand_spheres_both_work() {
    let Some((g, w)) = device() else { return };
    let one = body(&[[0.0; 3]], &[2.5], &BodyOptions::default());
    let zeno = Sampling { estimator: Estimator::Zeno, ..sampling(4096, 4096, 3) };
    let r = compute_body(&g, &w, &one, 7, &zeno, &ctx(&one)).unwrap();
    let exact = |q| (value(&r, q).0[0], value(&r, q).1[0]);
    let ((c, c_std), (v, v_std)) = (exact(Quantity::Capacitance), exact(Quantity::Volume));
    // The launch sphere hugs a lone sphere: every walk hits and every sample is inside, so
    // the hit fraction is exact; the pairs of hit points (f32 from the device) agree.
    assert!((c - 2.5).abs() < 1e-5 && c_std == 0.0, "{c} +- {c_std}");
    let pairs = on_gpu(&g, &w, &one, 4096, 4096);
    let (c, c_std) = (value(&pairs, Quantity::Capacitance).0[0], value(&pairs, Quantity::Capacitance).1[0]);
    assert!(c_std > 0.0 && (c - 2.5).abs() <= 4.0 * c_std, "hit points: {c} +- {c_std}");
    assert!((v / (4.0 / 3.0 * std::f64::consts::PI * 2.5f64.powi(3)) - 1.0).abs() < 1e-4 && v_std == 0.0, "{v} +- {v_std}");
    let big = globule(100_000);
    assert_eq!(big.spheres.len(), 100_000);
    let r = on_gpu(&g, &w, &big, 2048, 4096);
    let cpu = common::run(&big, 7, &sampling(2048, 4096, 3), 2);
    let z = verify::z_score(&r, &cpu).unwrap();
    assert!(z.1 <= 4.5, "{z:?}");
    assert_eq!(r.walks, 2048);
}

#[test]
fn a_dispatch_of_more_blocks_than_one_grid_row_runs_every_block() {
    let Some((g, w)) = device() else { return };
    // A dispatch of more 32-walk blocks than max_compute_workgroups_per_dimension (65,535 on
    // most adapters) is laid out as a 2D grid, as every full 4M-walk batch is. The launch
    // sphere hugs a lone sphere, so walks start within a skin or two of it and almost all
    // hit (a few in a million escape), and almost every sample is inside: a block skipped
    // or written to the wrong slot would lose 32 hits or 32 samples.
    let row = u64::from(g.limits.max_compute_workgroups_per_dimension);
    let items = 32 * (row + 7) + 5;
    let one = body(&[[0.0; 3]], &[2.5], &BodyOptions::default());
    let r = on_gpu(&g, &w, &one, items, items);
    assert_eq!((r.walks, r.interior_samples), (items, items));
    assert!(r.hits <= items && items - r.hits < 16, "{} of {items} walks hit", r.hits);
    let launch_volume = 4.0 / 3.0 * std::f64::consts::PI * r.launch.radius.powi(3);
    let inside = (value(&r, Quantity::Volume).0[0] / launch_volume * items as f64).round() as u64;
    assert!(inside <= items && items - inside < 16, "{inside} of {items} samples inside");
}

#[test]
fn a_skin_thickness_below_f32_resolution_is_refused() {
    let Some((g, w)) = device() else { return };
    let thin = body(&[[0.0; 3], [1.0, 0.0, 0.0]], &[1.0, 1.0], &BodyOptions { skin_thickness: Some(1e-9), ..Default::default() });
    let e = compute_body(&g, &w, &thin, 0, &sampling(64, 64, 0), &ctx(&thin)).unwrap_err().to_string();
    assert!(e.starts_with("GPU: skin thickness 1e-9 is below what f32 resolves at launch radius"), "{e}");
}

fn example() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/two_spheres.bod").display().to_string()
}

#[test]
fn gpu_strategy_runs_from_the_command_line_and_verifies_against_the_cpu() {
    if device().is_none() {
        return;
    }
    // As on a batch node: no display and no XDG_RUNTIME_DIR, where Mesa's device-select
    // layer would make libwayland print an "error:" line on a run that succeeds.
    let out = common::spawn_trajwalk_env(
        &[
            "run",
            &example(),
            "--strategy",
            "gpu",
            "--walks",
            "20000",
            "--interior",
            "20000",
            "--verify",
            "1",
            "--format",
            "json",
            "--quiet",
        ],
        &[],
        &["XDG_RUNTIME_DIR", "WAYLAND_DISPLAY", "NODEVICE_SELECT", "MESA_VK_DEVICE_SELECT"],
    )
    .wait_with_output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("XDG_RUNTIME_DIR") && !stderr.contains("error"), "a quiet run that succeeds says nothing alarming: {stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["plan"]["strategy"], "gpu");
    for key in ["adapter", "backend", "device_type"] {
        assert!(doc["plan"]["gpu"][key].is_string(), "{}", doc["plan"]["gpu"]);
    }
    assert_eq!(doc["verification"]["passed"], true);
    assert!(doc["verification"]["max_z"].as_f64().unwrap() <= verify::MAX_Z);
    let c = doc["frames"][0]["capacitance"]["value"].as_f64().unwrap();
    let s = doc["frames"][0]["capacitance"]["std"].as_f64().unwrap();
    assert!((c - 2.0 * std::f64::consts::LN_2).abs() <= 4.0 * s, "{c} +- {s}");
    // Many frames in one batch, with a target rsd so frames need different rounds: results
    // come back in frame order and agree with the serial reference.
    let peptide = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/peptide.h5md").display().to_string();
    let out = trajwalk(&[
        "run",
        &peptide,
        "--strategy",
        "gpu",
        "--gpu-batch",
        "4194304",
        "--frames",
        "0,7,15,23,31,47",
        "--walks",
        "20000",
        "--interior",
        "3000",
        "--max-rsd-capacitance",
        "1",
        "--verify",
        "3",
        "--format",
        "json",
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let frames: Vec<u64> = doc["frames"].as_array().unwrap().iter().map(|f| f["frame"].as_u64().unwrap()).collect();
    assert_eq!(frames, vec![0, 7, 15, 23, 31, 47]);
    assert_eq!(doc["verification"]["passed"], true, "{}", doc["verification"]);
    assert_eq!(doc["verification"]["frames_checked"], 3);
    // One frame per batch instead: the next batch is uploaded while one runs, and a
    // frame's numbers do not depend on the company it keeps.
    let one_per_batch = trajwalk(&[
        "run",
        &peptide,
        "--strategy",
        "gpu",
        "--gpu-batch",
        "4096",
        "--frames",
        "0,7,15,23,31,47",
        "--walks",
        "20000",
        "--interior",
        "3000",
        "--max-rsd-capacitance",
        "1",
        "--format",
        "json",
        "--quiet",
    ]);
    assert!(one_per_batch.status.success(), "{}", String::from_utf8_lossy(&one_per_batch.stderr));
    let without_seconds = |d: &Value| {
        let mut frames = d["frames"].as_array().unwrap().clone();
        frames.iter_mut().for_each(|f| drop(f.as_object_mut().unwrap().remove("seconds")));
        frames
    };
    let split: Value = serde_json::from_slice(&one_per_batch.stdout).unwrap();
    assert_eq!(without_seconds(&split), without_seconds(&doc));
    let out = trajwalk(&["run", &example(), "--strategy", "gpu", "--gpu-adapter", "no-such-device-anywhere", "--walks", "100"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("error: GPU: no GPU adapter matches --gpu-adapter 'no-such-device-anywhere'; found: "), "{stderr}");
}

#[test]
fn without_an_adapter_gpu_fails_clearly_and_auto_plans_without_it() {
    // Metal does not exist on Linux: with only it allowed, wgpu finds no adapter.
    let run = |command: &str, strategy: &str, walks: &str| {
        let args = [command, &example(), "--strategy", strategy, "--walks", walks, "--interior", "2000", "--format", "json", "--quiet"];
        common::spawn_trajwalk_env(&args, &[("WGPU_BACKEND", "metal")], &[]).wait_with_output().unwrap()
    };
    let out = run("run", "gpu", "2000");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.starts_with("error: GPU")).collect::<Vec<_>>(),
        vec!["error: GPU: no GPU adapter found (WGPU_BACKEND=metal); without a GPU, Mesa's lavapipe (Debian: mesa-vulkan-drivers) provides a software Vulkan device"]
    );
    // Planned (not run) with enough walks that auto looks for a GPU.
    let out = run("plan", "auto", "1e8");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["plan"]["gpu"].is_null());
    assert_ne!(doc["plan"]["strategy"], "gpu");
    assert!(doc["plan"]["reason"].as_str().unwrap().contains("; GPU not considered: no GPU adapter found"), "{}", doc["plan"]["reason"]);
    // A short run does not look for one, and says so.
    let out = run("run", "auto", "2000");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["plan"]["reason"].as_str().unwrap().contains("too short to look for one"), "{}", doc["plan"]["reason"]);
}
