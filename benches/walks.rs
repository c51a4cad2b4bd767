//! Walks per second, one thread, on cluster2101.bod (2101 atom spheres, ZENO's benchmark
//! body; ZENO 5.3.1 takes 15.7 us per walk on it, one thread, on the project's machine kind)
//! with ZENO's launch sphere and skin thickness, and with trajwalk's tight launch sphere.
//! Without ../shared/data, a generated 2101-sphere chain stands in (the output says which).
//!
//! cargo bench --bench walks

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::Path;
use trajwalk::body::{Body, BodyOptions, Launch};
use trajwalk::walk::{exterior_block, interior_block, Seeds, BLOCK};

pub fn cluster2101() -> (Vec<[f64; 3]>, Vec<f64>, &'static str) {
    // TRAJWALK_CLUSTER2101 points a bench binary carried to another machine at its copy.
    let path = std::env::var_os("TRAJWALK_CLUSTER2101")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cluster2101.bod"));
    if let Ok(input) = trajwalk::io::bod::read(&path) {
        return (input.centers, input.radii, "cluster2101.bod");
    }
    let mut rng = trajwalk::rng::Stream::new(1, 0, 0, 0);
    let mut p = [0.0f64; 3];
    let centers: Vec<[f64; 3]> = (0..2101)
        .map(|_| {
            let d = rng.unit_vector();
            p = [p[0] + 1.4 * d[0], p[1] + 1.4 * d[1], p[2] + 1.4 * d[2]];
            p
        })
        .collect();
    (centers, vec![1.7; 2101], "generated 2101-sphere chain (../shared/data absent)")
}

/// `n` spheres of radius 1.4-1.9 uniform in a ball at protein density: a compact globule
/// of any size (3,341 is ADK's atom count). For the benches that include this file.
#[allow(dead_code)]
pub fn globule(n: usize) -> (Vec<[f64; 3]>, Vec<f64>) {
    let mut rng = trajwalk::rng::Stream::new(99, 0, 0, 0);
    let (mut centers, mut radii) = (vec![], vec![]);
    let edge = 2.2 * (n as f64).cbrt();
    while centers.len() < n {
        let p = [edge * (rng.uniform() - 0.5), edge * (rng.uniform() - 0.5), edge * (rng.uniform() - 0.5)];
        if p.iter().map(|v| v * v).sum::<f64>() < edge * edge / 4.0 {
            centers.push(p);
            radii.push(1.4 + 0.5 * rng.uniform());
        }
    }
    (centers, radii)
}

fn walks(c: &mut Criterion) {
    let (centers, radii, name) = cluster2101();
    let blocks = 64u64;
    let mut group = c.benchmark_group(format!("walks/{name}"));
    group.sample_size(10).measurement_time(std::time::Duration::from_secs(15));
    group.throughput(Throughput::Elements(blocks * BLOCK));
    for (label, launch) in [("zeno_launch", Launch::Zeno), ("tight_launch", Launch::Tight)] {
        let body = Body::new(&centers, &radii, &BodyOptions { launch, ..Default::default() }).unwrap();
        let mut first = 0;
        group.bench_function(format!("exterior_1_thread/{label}"), |b| {
            b.iter(|| {
                first += blocks;
                (first..first + blocks)
                    .map(|i| exterior_block(&body, Seeds { seed: 42, frame_key: 0 }, i, u64::MAX).tally.hits)
                    .sum::<f64>()
            })
        });
    }
    let body = Body::new(&centers, &radii, &BodyOptions { launch: Launch::Zeno, ..Default::default() }).unwrap();
    let mut first = 0;
    group.bench_function("interior_1_thread", |b| {
        b.iter(|| {
            first += blocks;
            (first..first + blocks).map(|i| interior_block(&body, Seeds { seed: 42, frame_key: 0 }, i, u64::MAX).inside).sum::<f64>()
        })
    });
    group.finish();
}

criterion_group!(benches, walks);
criterion_main!(benches);
