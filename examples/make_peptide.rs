//! Writes `examples/peptide.h5md`, the bundled example trajectory: a 50-residue peptide
//! (backbone N, CA, C, O and a CB per residue, 250 atoms) whose helix unravels from the C
//! terminus over 48 frames of 10 ps, with 0.25 A of thermal jitter on every atom. The
//! 75 A helical rod collapses into a random coil, so the hydrodynamic radius, radius of
//! gyration and intrinsic viscosity fall as it unfolds, which the example's plot shows (the
//! coil's steps ignore excluded volume, so atoms overlap more and the volume falls too). Deterministic (Philox streams), so `cargo run --example make_peptide` rewrites the
//! same coordinates, which a test checks.

use ndarray::Array3;
use trajwalk::io::h5md_write::{H5md, Steps};
use trajwalk::rng::Stream;

pub const RESIDUES: usize = 50;
pub const FRAMES: usize = 48;
const SEED: u64 = 2026;

type V = [f64; 3];

fn add(a: V, b: V) -> V {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
fn sub(a: V, b: V) -> V {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn scale(a: V, s: f64) -> V {
    [a[0] * s, a[1] * s, a[2] * s]
}
fn cross(a: V, b: V) -> V {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}
fn unit(a: V) -> V {
    scale(a, 1.0 / (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt())
}

/// The CA-to-CA step of an ideal alpha helix (2.3 A radius, 1.5 A rise, 100 degrees a turn).
fn helix_step(i: usize) -> V {
    let at = |k: usize| {
        let t = (k as f64 * 100.0).to_radians();
        [2.3 * t.cos(), 2.3 * t.sin(), 1.5 * k as f64]
    };
    sub(at(i + 1), at(i))
}

/// Random-coil steps of 3.8 A with some persistence, fixed per residue.
fn coil_steps() -> Vec<V> {
    let mut s = Stream::new(SEED, 0, 0, 0);
    let mut dir = [0.0, 0.0, 1.0];
    (0..RESIDUES)
        .map(|_| {
            dir = unit(add(scale(dir, 0.6), s.unit_vector()));
            scale(dir, 3.8)
        })
        .collect()
}

fn gaussian(s: &mut Stream) -> f64 {
    (-2.0 * s.uniform().ln()).sqrt() * (std::f64::consts::TAU * s.uniform()).cos()
}

/// Positions (frames x atoms x 3, Angstrom) and atomic numbers.
pub fn peptide() -> (Array3<f64>, Vec<i32>) {
    let coil = coil_steps();
    let per_residue = [7, 6, 6, 8, 6];
    let mut positions = Array3::zeros((FRAMES, RESIDUES * 5, 3));
    for f in 0..FRAMES {
        let folded = RESIDUES - (RESIDUES * f) / FRAMES;
        let mut ca = vec![[0.0; 3]];
        for i in 1..RESIDUES {
            let step = if i < folded { helix_step(i - 1) } else { coil[i] };
            ca.push(add(ca[i - 1], step));
        }
        let mut noise = Stream::new(SEED, f as u64 + 1, 0, 0);
        for i in 0..RESIDUES {
            let prev = ca[i.saturating_sub(1)];
            let next = ca[(i + 1).min(RESIDUES - 1)];
            let b = unit(sub(next, prev));
            let bend = sub(sub(ca[i], prev), sub(next, ca[i]));
            let perpendicular = sub(bend, scale(b, bend.iter().zip(b).map(|(x, y)| x * y).sum()));
            let n =
                if perpendicular.iter().map(|v| v * v).sum::<f64>() > 1e-6 { unit(perpendicular) } else { unit(cross(b, [0.6, 0.0, 0.8])) };
            let c = cross(b, n);
            let place = |from: V, len: f64, (x, y, z): (f64, f64, f64)| {
                add(from, scale(unit(add(add(scale(b, x), scale(n, y)), scale(c, z))), len))
            };
            let atom_n = place(ca[i], 1.46, (-0.8, 0.5, 0.3));
            let atom_c = place(ca[i], 1.52, (0.8, 0.5, -0.3));
            let atom_o = place(atom_c, 1.23, (0.3, 0.2, 1.0));
            let atom_cb = place(ca[i], 1.53, (-0.3, -0.9, 0.2));
            for (k, p) in [atom_n, ca[i], atom_c, atom_o, atom_cb].into_iter().enumerate() {
                for d in 0..3 {
                    positions[[f, 5 * i + k, d]] = p[d] + 0.25 * gaussian(&mut noise);
                }
            }
        }
    }
    let species = (0..RESIDUES).flat_map(|_| per_residue).collect();
    (positions, species)
}

/// The example's H5MD file: positions in Angstrom, steps of 5000 and 10 ps per frame.
pub fn write(path: &std::path::Path) -> hdf5::Result<()> {
    let (positions, species) = peptide();
    let mut file = H5md::new(positions);
    file.single_precision = true;
    file.species = Some(species);
    file.steps =
        Steps::Explicit { steps: (0..FRAMES as i64).map(|f| 5000 * f).collect(), times: (0..FRAMES).map(|f| 10.0 * f as f64).collect() };
    file.save(path)
}

#[allow(dead_code)]
fn main() -> hdf5::Result<()> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/peptide.h5md");
    write(&path)?;
    println!("wrote {}", path.display());
    Ok(())
}
