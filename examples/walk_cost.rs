//! The cost of one exterior walk, for measuring changes to the engine back to back:
//! runs `warm` walks (so the far-field grid's cells are built), then `n` more, one thread,
//! and prints the time per walk of the second part and a fingerprint of every walk's tally
//! bits (the same fingerprint before and after a change means the same walks).
//!
//! cargo run --release --example walk_cost -- BODY.bod [warm] [n] [zeno|tight] [portable|avx2|auto]
//!
//! The last picks the compilation of the walk loop (`trajwalk::walk::Kernel`; auto, the
//! default, is what a run uses), so both are measured from one binary.
//!
//! Under `valgrind --tool=callgrind --toggle-collect=walk_cost::measured` only the
//! measured walks are counted.

use std::time::Instant;
use trajwalk::body::{Body, BodyOptions, Launch};
use trajwalk::walk::{exterior_block_with, ExteriorTally, Kernel, Seeds, BLOCK};

const SEEDS: Seeds = Seeds { seed: 42, frame_key: 0 };

/// FNV-1a over the bits of the tally's first 18 words (those ZENO's estimators read, as the
/// fingerprints of earlier rounds did), block by block.
fn fingerprint(hash: &mut u64, t: &ExteriorTally) {
    for w in &bytemuck::cast_slice::<ExteriorTally, u64>(std::slice::from_ref(t))[..18] {
        for b in w.to_le_bytes() {
            *hash = (*hash ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
}

#[inline(never)]
fn measured(kernel: Kernel, body: &Body, blocks: std::ops::Range<u64>, hash: &mut u64) -> ExteriorTally {
    let mut sum = ExteriorTally::default();
    for b in blocks {
        let t = exterior_block_with(kernel, body, SEEDS, b, u64::MAX).tally;
        fingerprint(hash, &t);
        trajwalk::walk::Tally::merge(&mut sum, &t);
    }
    sum
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).ok_or_else(|| anyhow::anyhow!("usage: walk_cost BODY.bod [warm] [n] [zeno|tight] [portable|avx2|auto]"))?;
    let warm: u64 = args.get(2).map_or(Ok(32_768), |s| s.parse())?;
    let n: u64 = args.get(3).map_or(Ok(131_072), |s| s.parse())?;
    let launch = match args.get(4).map(String::as_str) {
        Some("zeno") => Launch::Zeno,
        _ => Launch::Tight,
    };
    let kernel = match args.get(5).map(String::as_str) {
        Some("portable") => Kernel::PORTABLE,
        Some("avx2") => Kernel::avx2().ok_or_else(|| anyhow::anyhow!("this CPU has no AVX2"))?,
        None | Some("auto") => Kernel::detect(),
        Some(other) => anyhow::bail!("unknown kernel {other:?}: portable, avx2 or auto"),
    };
    let input = trajwalk::io::bod::read(std::path::Path::new(path))?;
    let body = Body::new(&input.centers, &input.radii, &BodyOptions { launch, ..Default::default() })?;
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let w = warm / BLOCK;
    measured_warm(kernel, &body, 0..w, &mut hash);
    let (started, cpu) = (Instant::now(), cpu_ns());
    let t = measured(kernel, &body, w..w + n / BLOCK, &mut hash);
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu.zip(cpu_ns()).map_or(f64::NAN, |(a, b)| (b - a) as f64 * 1e-9);
    println!(
        "{:.4} us/walk on the CPU  {:.4} us/walk wall  {} walks  hits {} steps/walk {:.3}  fingerprint {hash:016x}  {kernel:?}",
        cpu * 1e6 / t.walks,
        secs * 1e6 / t.walks,
        t.walks,
        t.hits,
        t.steps / t.walks
    );
    Ok(())
}

/// This thread's time on a CPU so far (Linux schedstat), in ns: on a shared machine it
/// leaves out the time other processes held the core.
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}

#[inline(never)]
fn measured_warm(kernel: Kernel, body: &Body, blocks: std::ops::Range<u64>, hash: &mut u64) {
    for b in blocks {
        fingerprint(hash, &exterior_block_with(kernel, body, SEEDS, b, u64::MAX).tally);
    }
}
