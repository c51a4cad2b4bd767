//! GPU walks per second against the CPU on the same machine, in one run: exterior walks on
//! cluster2101.bod (ZENO's launch sphere) and on a 100,000-sphere globule, with the GPU
//! (best adapter, or `--gpu-adapter`-style substring in TRAJWALK_GPU_ADAPTER), the CPU on
//! one thread and the CPU on all cores. Compare the three as ratios: the machines are
//! shared and noisy.
//!
//! cargo bench --bench gpu            (skips the GPU rows, with a message, without an adapter)

#[path = "walks.rs"]
#[allow(dead_code)]
mod walks;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use trajwalk::body::{Body, BodyOptions, Launch};
use trajwalk::compute::Blocks;
use trajwalk::gpu::walks::{Walker, Work};
use trajwalk::pool::Pool;
use trajwalk::walk::{exterior_block, Seeds, BLOCK};

fn gpu(c: &mut Criterion) {
    let (centers, radii, name) = walks::cluster2101();
    let big = walks::globule(100_000);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let device = trajwalk::gpu::shared(std::env::var("TRAJWALK_GPU_ADAPTER").ok().as_deref());
    let walker = device.as_ref().ok().map(|g| Walker::new(g).expect("kernels compile"));
    match &device {
        Ok(g) => eprintln!("GPU: {} ({}, {})", g.info.adapter, g.info.backend, g.info.device_type),
        Err(e) => eprintln!("GPU rows skipped: {e}"),
    }
    for (label, (centers, radii)) in [(name.to_string(), (centers, radii)), ("globule100000".to_string(), big)] {
        let body = Body::new(&centers, &radii, &BodyOptions { launch: Launch::Zeno, ..Default::default() }).unwrap();
        let seeds = Seeds { seed: 42, frame_key: 0 };
        let mut group = c.benchmark_group(format!("gpu/{label}"));
        group.sample_size(10).measurement_time(std::time::Duration::from_secs(10));
        let cpu_blocks = 64u64;
        group.throughput(Throughput::Elements(cpu_blocks * BLOCK));
        let mut first = 0;
        group.bench_function("cpu_1_thread", |b| {
            b.iter(|| {
                first += cpu_blocks;
                (first..first + cpu_blocks).map(|i| exterior_block(&body, seeds, i, u64::MAX).tally.hits).sum::<f64>()
            })
        });
        let pool = Pool::new(cores).unwrap();
        let all_blocks = cpu_blocks * cores as u64;
        group.throughput(Throughput::Elements(all_blocks * BLOCK));
        group.bench_function(format!("cpu_{cores}_threads"), |b| {
            b.iter(|| {
                first += all_blocks;
                pool.map(first..first + all_blocks, |i| exterior_block(&body, seeds, i, u64::MAX).tally.hits).iter().sum::<f64>()
            })
        });
        if let (Ok(g), Some(w)) = (&device, &walker) {
            // A software device is a hundred times slower: keep its iterations short.
            let walks = if g.info.device_type == "cpu" { 1u64 << 15 } else { 1u64 << 20 };
            group.throughput(Throughput::Elements(walks));
            let mut first_block = 0u64;
            group.bench_function("gpu", |b| {
                b.iter(|| {
                    let blocks = walks / BLOCK;
                    let ext = Blocks { first: first_block, last: first_block + blocks, end: (first_block + blocks) * BLOCK };
                    first_block += blocks;
                    let none = Blocks { first: 0, last: 0, end: 0 };
                    let out = w.submit(g, &[Work { body: &body, seeds, ext, int: none }]).unwrap().wait(g).unwrap();
                    out[0].0.iter().map(|t| t.tally.hits).sum::<f64>()
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, gpu);
criterion_main!(benches);
