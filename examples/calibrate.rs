//! Calibration of the estimators' stds against replicates: runs one body at a walk count
//! with many seeds and prints, per quantity, the replicates' mean and spread beside the mean
//! reported std, the ratio of the two, and the fraction of replicates within 2 reported
//! stds of the reference (the exact value when given, else the replicates' mean).
//!
//! `cargo run --release --example calibrate -- BODY WALKS SEEDS [hit-points|zeno] [tight|zeno]`
//! where BODY is a .bod file or `two-spheres` (touching unit spheres, exact values).

use std::f64::consts::PI;
use std::time::Instant;
use trajwalk::body::{Body, BodyOptions, Launch};
use trajwalk::compute::{compute_frame, Sampling};
use trajwalk::estimate::{Context, Estimator, Quantity};
use trajwalk::pool::Pool;

const ZETA3: f64 = 1.202_056_903_159_594_2;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: calibrate BODY|two-spheres WALKS SEEDS [hit-points|zeno] [tight|zeno]";
    let (Some(what), Some(walks), Some(seeds)) = (args.get(1), args.get(2), args.get(3)) else { anyhow::bail!(usage) };
    let walks: u64 = walks.parse::<f64>()? as u64;
    let seeds: u64 = seeds.parse()?;
    let estimator: Estimator = args.get(4).map_or(Ok(Estimator::HitPoints), |s| s.parse())?;
    let launch = match args.get(5).map(String::as_str) {
        Some("zeno") => Launch::Zeno,
        _ => Launch::Tight,
    };
    let opts = BodyOptions { launch, ..Default::default() };
    let (body, exact): (Body, Vec<(Quantity, usize, f64)>) = if what == "two-spheres" {
        let body = Body::new(&[[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]], &[1.0, 1.0], &opts)?;
        let e = vec![
            (Quantity::Capacitance, 0, 2.0 * 2f64.ln()),
            (Quantity::MeanPolarizability, 0, 28.0 * PI * ZETA3 / 3.0),
            (Quantity::PolarizabilityEigenvalues, 0, 6.0 * PI * ZETA3),
            (Quantity::PolarizabilityEigenvalues, 1, 6.0 * PI * ZETA3),
            (Quantity::PolarizabilityEigenvalues, 2, 16.0 * PI * ZETA3),
            (Quantity::IntrinsicViscosity, 0, f64::NAN),
        ];
        (body, e)
    } else {
        let input = trajwalk::io::bod::read(std::path::Path::new(what))?;
        let body = Body::new(&input.centers, &input.radii, &opts)?;
        let e = [
            (Quantity::Capacitance, 0),
            (Quantity::MeanPolarizability, 0),
            (Quantity::PolarizabilityEigenvalues, 0),
            (Quantity::PolarizabilityEigenvalues, 1),
            (Quantity::PolarizabilityEigenvalues, 2),
            (Quantity::IntrinsicViscosity, 0),
        ];
        (body, e.into_iter().map(|(q, k)| (q, k, f64::NAN)).collect())
    };
    let ctx = Context { launch_radius: body.launch_radius, length_meters: Some(1e-10), conditions: Default::default() };
    let started = Instant::now();
    let mut rows: Vec<Vec<(f64, f64)>> = vec![vec![]; exact.len()];
    for seed in 0..seeds {
        let sampling = Sampling { walks, interior_samples: 100_000, seed: 1000 + seed, estimator, ..Default::default() };
        let r = compute_frame(&body, 0, &sampling, &ctx, &Pool::Serial)?;
        for (row, &(q, k, _)) in rows.iter_mut().zip(&exact) {
            let e = r.get(q).expect("computed");
            row.push((e.value[k], e.std[k]));
        }
    }
    let secs = started.elapsed().as_secs_f64() / seeds as f64;
    println!("{what}  {walks} walks  {seeds} seeds  {estimator}  {launch:?} launch  {secs:.4} s a replicate");
    println!(
        "{:<28} {:>12} {:>11} {:>11} {:>7} {:>9} {:>9} {:>11} {:>7} {:>9}",
        "quantity", "mean", "spread", "mean std", "ratio", "within 2", "bias/std", "robust", "max |z|", "rms ratio"
    );
    for (row, &(q, k, reference)) in rows.iter().zip(&exact) {
        let n = row.len() as f64;
        let mean = row.iter().map(|r| r.0).sum::<f64>() / n;
        let spread = (row.iter().map(|r| (r.0 - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let mean_std = row.iter().map(|r| r.1).sum::<f64>() / n;
        let reference = if reference.is_nan() { mean } else { reference };
        let within = row.iter().filter(|r| (r.0 - reference).abs() <= 2.0 * r.1).count() as f64 / n;
        let bias = (mean - reference) / mean_std;
        // 1.4826 x the median absolute deviation: the spread a few heavy-tailed replicates
        // (a close pair of hits) cannot inflate.
        let mut dev: Vec<f64> = row.iter().map(|r| (r.0 - mean).abs()).collect();
        dev.sort_by(f64::total_cmp);
        let robust = 1.4826 * dev[dev.len() / 2];
        let max_z = row.iter().map(|r| ((r.0 - reference) / r.1).abs()).fold(0.0, f64::max);
        // The root of the mean reported variance: what the spread estimates when the std
        // differs from replicate to replicate.
        let rms = (row.iter().map(|r| r.1 * r.1).sum::<f64>() / n).sqrt();
        let name = format!("{}[{k}]", q.name());
        println!(
            "{name:<28} {mean:>12.6} {spread:>11.4e} {mean_std:>11.4e} {:>7.3} {within:>9.3} {bias:>9.3} {robust:>11.4e} {max_z:>7.2} {:>9.3}",
            mean_std / spread,
            rms / spread
        );
    }
    Ok(())
}
