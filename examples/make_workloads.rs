//! Writes the device benchmark's trajectories (`benches/device/`) into a folder: globular
//! random-walk chains of carbon atoms, compact like a folded protein, in H5MD. Four shapes
//! of work that separate the strategies on 16 cores: `few_large` (4 frames of 20,000 atoms:
//! threads within a frame should win), `many_small` (2,000 frames of 60 atoms: frames in
//! parallel), `middle` (64 frames of 3,341 atoms, ADK's size: hybrid's ground), and `adk100`
//! (100 frames of 3,341 atoms, the frames of ZenoWrapper's parallelization table).
//! Deterministic (Philox streams). `cargo run --release --example make_workloads -- DIR`

use ndarray::Array3;
use trajwalk::io::h5md_write::H5md;
use trajwalk::rng::Stream;

/// A chain of `atoms` carbon atoms 1.5 A apart, each step turned back towards the centre
/// once it strays past the radius a protein of that size has, frame by frame a little
/// different (a thermal wobble of 0.3 A).
fn chain(frames: usize, atoms: usize, seed: u64) -> Array3<f64> {
    let radius = 2.2 * (atoms as f64).cbrt();
    let mut rng = Stream::new(seed, 0, 0, 0);
    let mut p = [0.0f64; 3];
    let base: Vec<[f64; 3]> = (0..atoms)
        .map(|_| {
            let mut d = rng.unit_vector();
            let r = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
            if r > radius && d.iter().zip(&p).map(|(a, b)| a * b).sum::<f64>() > 0.0 {
                d = d.map(|v| -v);
            }
            p = [p[0] + 1.5 * d[0], p[1] + 1.5 * d[1], p[2] + 1.5 * d[2]];
            p
        })
        .collect();
    let mut wobble = Stream::new(seed, 1, 0, 0);
    Array3::from_shape_fn((frames, atoms, 3), |(_, a, k)| base[a][k] + 0.3 * (wobble.uniform() - 0.5))
}

fn main() -> hdf5::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    std::fs::create_dir_all(&dir).expect("the output folder can be made");
    for (name, frames, atoms) in [("few_large", 4, 20_000), ("many_small", 2_000, 60), ("middle", 64, 3_341), ("adk100", 100, 3_341)] {
        let mut file = H5md::new(chain(frames, atoms, atoms as u64));
        file.single_precision = true;
        file.species = Some(vec![6; atoms]);
        let path = dir.join(format!("{name}.h5md"));
        file.save(&path)?;
        println!("wrote {} ({frames} frames x {atoms} atoms)", path.display());
    }
    Ok(())
}
