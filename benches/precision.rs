//! Time to precision: seconds, one thread, to reach 0.1% relative std on the capacitance of
//! cluster2101.bod, with ZENO's launch sphere and with the tight one. A tighter launch
//! sphere makes more walks hit, so fewer are needed; this counts both effects.
//!
//! cargo bench --bench precision

use std::path::Path;
use trajwalk::body::{Body, BodyOptions, Launch};
use trajwalk::compute::{compute_frame, Sampling};
use trajwalk::estimate::{Context, Quantity};
use trajwalk::pool::Pool;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cluster2101.bod");
    let Ok(input) = trajwalk::io::bod::read(&path) else {
        println!("precision: skipped, {} is absent", path.display());
        return;
    };
    println!("time to 0.1% relative std on the capacitance of cluster2101.bod, 1 thread");
    let mut seconds = vec![];
    for (label, launch) in [("zeno launch sphere", Launch::Zeno), ("tight launch sphere", Launch::Tight)] {
        let body = Body::new(&input.centers, &input.radii, &BodyOptions { launch, ..Default::default() }).unwrap();
        let sampling = Sampling { walks: 100_000_000, interior_samples: 1, max_rsd_capacitance: Some(0.1), seed: 42, ..Default::default() };
        let ctx = Context { launch_radius: body.launch_radius, length_meters: Some(1e-10), conditions: Default::default() };
        let r = compute_frame(&body, 0, &sampling, &ctx, &Pool::Serial).unwrap();
        let c = r.get(Quantity::Capacitance).unwrap();
        println!(
            "  {label:<20} R = {:.4} A, hit fraction {:.4}, {} walks, {:.2} s ({:.2} us/walk), C = {:.4} +- {:.4} A ({:.3}%)",
            body.launch_radius,
            r.hits as f64 / r.walks as f64,
            r.walks,
            r.seconds,
            r.seconds / r.walks as f64 * 1e6,
            c.value[0],
            c.std[0],
            c.rsd_percent()
        );
        seconds.push(r.seconds);
    }
    println!("  tight / zeno time ratio: {:.3}", seconds[1] / seconds[0]);
}
