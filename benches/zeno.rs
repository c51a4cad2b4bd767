//! trajwalk against ZENO itself, one thread each, measured in the same run so that the
//! ratio holds on a shared, noisy machine: walks/s and us per walk on cluster2101.bod and on
//! an ADK-sized globule (3,341 spheres), with ZENO's launch sphere on both sides (the same
//! walks' geometry), runs interleaved; then the time to precision: 0.1% relative std on the
//! capacitance and 1% on the mean polarizability, trajwalk (its default tight launch sphere)
//! with its hit-point estimator and with ZENO's, against ZENO's `--max-rsd-capacitance 0.1`
//! and `--max-rsd-polarizability 1`. ZENO's figure is its own "Exterior Walk" time
//! (`--print-benchmarks`), so reading the input is not counted against it; trajwalk's is
//! the frame's walks and estimates, the body built before.
//!
//! ZENO_BIN=/path/to/zeno cargo bench --bench zeno      (without ZENO_BIN: trajwalk only)
//!
//! ZENO builds from usnistgov/ZENO's `cpp/` with cmake, Boost and zlib (`-DUSE_SPRNG=OFF`).

#[path = "walks.rs"]
#[allow(dead_code)]
mod walks;

use std::path::{Path, PathBuf};
use std::process::Command;
use trajwalk::body::{Body, BodyOptions, Launch};
use trajwalk::compute::{compute_frame, Sampling};
use trajwalk::estimate::{Context, Estimator, Quantity};
use trajwalk::pool::Pool;

/// Walks per timed run, and interleaved rounds (the median is reported).
const WALKS: u64 = 100_000;
const ROUNDS: usize = 3;

/// trajwalk's seconds for `sampling` on one thread, and the walks it ran.
fn trajwalk(centers: &[[f64; 3]], radii: &[f64], launch: Launch, sampling: &Sampling) -> (f64, u64) {
    let body = Body::new(centers, radii, &BodyOptions { launch, ..Default::default() }).unwrap();
    let ctx = Context { launch_radius: body.launch_radius, length_meters: Some(1e-10), conditions: Default::default() };
    let r = compute_frame(&body, 0, sampling, &ctx, &Pool::Serial).unwrap();
    if sampling.max_rsd_capacitance.is_some() || sampling.max_rsd_polarizability.is_some() {
        let rsd = |q| r.get(q).unwrap().rsd_percent();
        println!(
            "    trajwalk ({}): {} walks in {:.4} s, C rsd {:.3}%, <alpha> rsd {:.3}%",
            sampling.estimator,
            r.walks,
            r.seconds,
            rsd(Quantity::Capacitance),
            rsd(Quantity::MeanPolarizability)
        );
    }
    (r.seconds, r.walks)
}

/// ZENO's exterior-walk seconds and walks performed, on one thread.
fn zeno(bin: &Path, bod: &Path, args: &[&str]) -> (f64, u64) {
    let out = Command::new(bin)
        .arg("-i")
        .arg(bod)
        .args(["--num-threads", "1", "--seed", "1", "--num-interior-samples", "1", "--print-benchmarks"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run ZENO_BIN={}: {e}", bin.display()));
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| {
        let line = text.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("ZENO printed no {name:?}:\n{text}"));
        line.rsplit(':').next().unwrap().trim().to_string()
    };
    let seconds: f64 = field("Exterior Walk").parse().unwrap();
    let walks: u64 = field("Number of walks performed").parse().unwrap();
    (seconds, walks)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let zeno_bin = std::env::var_os("ZENO_BIN").map(PathBuf::from);
    if zeno_bin.is_none() {
        println!("ZENO_BIN is not set: trajwalk's figures only");
    }
    let dir = std::env::temp_dir().join(format!("trajwalk-zeno-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (c, r, name) = walks::cluster2101();
    let (gc, gr) = walks::globule(3341);
    for (name, centers, radii) in [(name, c, r), ("ADK-sized globule (3341 spheres)", gc, gr)] {
        let bod = dir.join("body.bod");
        let text: String = centers.iter().zip(&radii).map(|(c, r)| format!("SPHERE {} {} {} {}\n", c[0], c[1], c[2], r)).collect();
        std::fs::write(&bod, text).unwrap();
        println!("{name}, 1 thread, ZENO's launch sphere, {WALKS} walks, {ROUNDS} interleaved rounds (medians)");
        // The walk's own speed: ZENO's estimators, so no pair sums are counted in it.
        let fixed = Sampling { walks: WALKS, interior_samples: 1, seed: 1, estimator: Estimator::Zeno, ..Default::default() };
        let (mut ours, mut theirs) = (vec![], vec![]);
        for _ in 0..ROUNDS {
            let (s, n) = trajwalk(&centers, &radii, Launch::Zeno, &fixed);
            ours.push(s / n as f64 * 1e6);
            if let Some(bin) = &zeno_bin {
                let (s, n) = zeno(bin, &bod, &["--num-walks", &WALKS.to_string()]);
                theirs.push(s / n as f64 * 1e6);
            }
        }
        let us = median(ours);
        print!("  trajwalk {us:.2} us/walk ({:.0} walks/s)", 1e6 / us);
        if !theirs.is_empty() {
            let zu = median(theirs);
            print!(", ZENO {zu:.2} us/walk ({:.0} walks/s): {:.2}x", 1e6 / zu, zu / us);
        }
        println!();
        for (what, flag, c, alpha) in [
            ("0.1% rsd on C", "--max-rsd-capacitance", Some(0.1), None),
            ("1% rsd on <alpha>", "--max-rsd-polarizability", None, Some(1.0)),
        ] {
            println!("  time to {what}");
            let mut times = vec![];
            for estimator in [Estimator::HitPoints, Estimator::Zeno] {
                let target = Sampling {
                    walks: 100_000_000,
                    interior_samples: 1,
                    max_rsd_capacitance: c,
                    max_rsd_polarizability: alpha,
                    estimator,
                    seed: 1,
                    ..Default::default()
                };
                // The fastest of three: noise only ever slows a run.
                let ts = (0..3).map(|_| trajwalk(&centers, &radii, Launch::Tight, &target).0).fold(f64::INFINITY, f64::min);
                times.push((estimator, ts));
            }
            let target = if c.is_some() { "0.1" } else { "1" };
            let zs = zeno_bin.as_ref().map(|bin| zeno(bin, &bod, &[flag, target]));
            for (estimator, ts) in times {
                print!("  trajwalk ({estimator}) {ts:.4} s");
                if let Some((zs, zn)) = zs {
                    print!(", ZENO {zs:.3} s ({zn} walks): {:.1}x", zs / ts);
                }
                println!();
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
