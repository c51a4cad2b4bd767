//! The far-field grid: exact nearest distances away from the surface without the tree.
//!
//! Most of the queries that miss a walk's [`crate::bvh::Near`] list are far from the
//! surface (the walker was launched or has just taken a long step), where the list holds
//! nothing and a full tree query costs hundreds of cycles of branches and cache misses.
//! The launch ball is cut into cubic cells; a cell that a walk visits often enough lists the
//! few spheres that can be nearest anywhere in it, and a query there is the
//! minimum of their distances: the same f64 operations on the same sphere data as the
//! tree's, and a non-candidate cannot attain the minimum, so the value is bit for bit the
//! tree's. Cells near the surface (where the list answers) or with too many candidates stay
//! with the tree. A query in a far cell that finds the surface near (a walk coming in from
//! far away) also starts the walk's list from the cell's candidates rather than the tree:
//! every other sphere is farther than a bound the cell keeps, so the list is as true as the
//! tree's, and this took a fifth off a walk on cluster2101.bod.
//!
//! Cells are built lazily, after `BUILD_AFTER` (8) visits, so a frame builds only the cells
//! its walks keep returning to; a short run on a large body still pays more for building
//! than it gains (measured in the README). Which cells are built may depend on thread
//! timing; that changes the speed only.

use crate::body::Sphere;
use crate::bvh::{distance_to, Bvh, Near};
use crate::vec3::V3;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

/// Cell edge in units of the mean sphere radius: about 2 A for atoms.
const CELL_RADII: f64 = 1.2;
/// The most cells along an axis; a larger body gets no grid.
const MAX_CELLS_PER_AXIS: usize = 48;
/// The most candidate spheres a cell may hold; more and the tree is cheaper. Since a walk
/// coming near lists from its cell, even 48 candidates cost less than the tree: on a
/// dense random 3,341-sphere globule (`benches/walks.rs`) 24 left most cells to the tree,
/// and 48 took a walk from 4.08 to 2.12 us (64 to 128 gave the same); cluster2101.bod the
/// same within the noise.
const MAX_CANDIDATES: usize = 48;
/// Where the surface is nearer than this (in mean radii), the walk's list answers: cells
/// whose every point is that near are left to the tree, and a query in a far cell that
/// finds the surface that near lists the cell's candidates. Below the tree's threshold
/// (`bvh::NEAR_SCALE`, 0.5), since the grid answers far queries for less than a list that
/// would fail soon after: on cluster2101.bod, 0.15 took 9% off a walk against 0.5, and
/// 0.07-0.2 gave the same within the noise. (A tree without a grid does better at 0.5:
/// 1.1x slower at 0.15 on a 100,000-sphere globule.)
const NEAR_RADII: f64 = 0.15;
// A list made from a cell reaches past the distance found only below the tree's threshold
// (`Bvh::widen`), so the grid's must be lower.
const _: () = assert!(NEAR_RADII < crate::bvh::NEAR_SCALE);
/// Visits after which a cell is built.
const BUILD_AFTER: u8 = 8;

/// Walks a frame must be asked for before its body gets a grid: building the cells a run
/// visits costs more than they save below this (measured on cluster2101.bod, 1 thread: 1.16x
/// the time without a grid at 16,384 walks, 0.77x at 137k; a 10,000-sphere globule 1.4x at
/// 16,384 and 0.95x at 128k), and the walks are the same bits with or without it.
pub const PAYS_FROM_WALKS: u64 = 100_000;

/// The grid over one body's launch ball (relative to the launch centre).
pub struct Grid {
    /// Lower corner of the grid cube, the same on every axis.
    lo: f64,
    /// Cell edge.
    h: f64,
    /// 1 / `h`: a query multiplies.
    inv_h: f64,
    /// Cells per axis.
    n: usize,
    /// Cell `(i, j, k)` at `(i * n + j) * n + k`, or None for a tree cell.
    cells: Vec<OnceLock<Option<Cell>>>,
    /// Visits to each cell before it is built; the visit that finds [`BUILD_AFTER`] builds
    /// it, and a built cell is not counted, so the count stays far below the u8 limit.
    visits: Vec<AtomicU8>,
    /// A cell whose greatest distance is below this is left to the tree and the walk's
    /// list ([`NEAR_RADII`] mean radii).
    near_below: f64,
}

/// A built far cell: the spheres that can be nearest somewhere in it.
pub struct Cell {
    /// Copies of the candidates, four to a cache line.
    fours: Box<[Four]>,
    /// The candidates' indices in the body's sphere order, lane by lane (the padding lanes
    /// of the last four have none): what a walk's list names.
    spheres: Box<[u32]>,
    /// See [`Cell::others_beyond`].
    others_beyond: f64,
}

impl Cell {
    /// The candidates' indices and distances from `x` (in the cell), lane by lane. The
    /// distances are those [`Grid::distance`] just took the minimum of, computed again:
    /// keeping them there slowed every far query more than this saves (measured).
    pub fn candidates(&self, x: V3) -> impl Iterator<Item = (u32, f64)> + '_ {
        let lanes = self.fours.iter().flat_map(move |f| (0..4).map(move |l| distance_to([f.x[l], f.y[l], f.z[l]], f.r[l], x)));
        self.spheres.iter().copied().zip(lanes)
    }

    /// Every sphere that is not a candidate is at least this far from every point of the
    /// cell, so the candidates nearer than this are every sphere nearer than this.
    pub fn others_beyond(&self) -> f64 {
        self.others_beyond
    }
}

/// Four candidate spheres side by side (structure of arrays, 64 bytes), so that a query
/// computes four distances with the same few vector instructions and reads one cache line
/// instead of looking up four spheres. A cell's last four are padded with spheres of
/// radius -inf, whose distance is +inf.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Four {
    x: [f32; 4],
    y: [f32; 4],
    z: [f32; 4],
    r: [f32; 4],
}

/// A clone starts unbuilt: cells are a cache, not part of the body.
impl Clone for Grid {
    fn clone(&self) -> Self {
        Grid::new(self.lo, self.h, self.n, self.near_below)
    }
}

/// Thousands of cells say nothing to a reader: the shape only.
impl std::fmt::Debug for Grid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grid").field("lo", &self.lo).field("h", &self.h).field("n", &self.n).finish_non_exhaustive()
    }
}

impl Grid {
    fn new(lo: f64, h: f64, n: usize, near_below: f64) -> Grid {
        Grid {
            lo,
            h,
            inv_h: 1.0 / h,
            n,
            cells: (0..n * n * n).map(|_| OnceLock::new()).collect(),
            visits: (0..n * n * n).map(|_| AtomicU8::new(0)).collect(),
            near_below,
        }
    }

    /// An unbuilt grid over the ball of radius `launch_radius`, or None when cells of the
    /// size that pays would number more than `MAX_CELLS_PER_AXIS` (48) per axis: for large
    /// bodies the cells a walk visits are too many and too rarely revisited, so lookups
    /// missing the cache cost more than they save (measured on a 100,000-sphere globule).
    pub fn over(spheres: &[Sphere], launch_radius: f64) -> Option<Grid> {
        let mean_radius = spheres.iter().map(|s| s.radius as f64).sum::<f64>() / spheres.len().max(1) as f64;
        let near_below = NEAR_RADII * mean_radius;
        let n = (2.0 * launch_radius / (CELL_RADII * mean_radius)).ceil().max(1.0);
        if n > MAX_CELLS_PER_AXIS as f64 {
            return None;
        }
        let n = n as usize;
        let h = 2.0 * launch_radius / n as f64 * (1.0 + 1e-9);
        Some(Grid::new(-0.5 * n as f64 * h, h, n, near_below))
    }

    /// The distance below which the walk's list answers instead of the grid.
    pub fn near_below(&self) -> f64 {
        self.near_below
    }

    /// The exact distance from `x` to the body and the cell that gave it when `x` lies in a
    /// built far cell; None when the tree must answer.
    #[inline(always)]
    pub fn distance(&self, bvh: &Bvh, spheres: &[Sphere], x: V3) -> Option<(f64, &Cell)> {
        let n = self.n;
        let f = [0, 1, 2].map(|k| (x[k] - self.lo) * self.inv_h);
        if !f.iter().all(|&f| f >= 0.0 && f < n as f64) {
            return None;
        }
        // SAFETY: each f was just checked to lie in [0, n) with n <= MAX_CELLS_PER_AXIS, so
        // truncating it to u32 is in range. `as usize` would saturate, which costs about 14
        // instructions a coordinate (two conversions and the clamps), a tenth of a grid query.
        let [i, j, k] = f.map(|f| unsafe { f.to_int_unchecked::<u32>() } as usize);
        let c = (i * n + j) * n + k;
        let cell = match self.cells[c].get() {
            Some(cell) => cell,
            None => {
                if self.visits[c].fetch_add(1, Ordering::Relaxed) < BUILD_AFTER {
                    return None;
                }
                self.cells[c].get_or_init(|| self.build(bvh, spheres, c))
            }
        };
        let cell = cell.as_ref()?;
        // Lane by lane the sphere distance of the tree; the minimum of the lanes' minima is
        // the minimum over all candidates (min is exact, so the grouping does not change it).
        let mut best = [f64::INFINITY; 4];
        for f in &cell.fours {
            for l in 0..4 {
                let d = distance_to([f.x[l], f.y[l], f.z[l]], f.r[l], x);
                best[l] = if d < best[l] { d } else { best[l] };
            }
        }
        Some((best[0].min(best[1]).min(best[2].min(best[3])), cell))
    }

    /// The candidates of cell `c`: every sphere whose least distance over the cell is at most
    /// the least over spheres of their greatest distance, so that the nearest sphere of any
    /// point in the cell is among them.
    fn build(&self, bvh: &Bvh, spheres: &[Sphere], c: usize) -> Option<Cell> {
        let n = self.n;
        let ijk = [c / (n * n), (c / n) % n, c % n];
        // The cell grown by a margin far above the rounding of the index computation and of
        // the f64 distances compared below.
        let tol = 1e-6 * self.h;
        let lo = ijk.map(|i| self.lo + i as f64 * self.h - tol);
        let hi = ijk.map(|i| self.lo + (i + 1) as f64 * self.h + tol);
        let mid = [0, 1, 2].map(|k| 0.5 * (lo[k] + hi[k]));
        let half_diagonal = 0.5 * ((0..3).map(|k| (hi[k] - lo[k]).powi(2)).sum::<f64>()).sqrt();
        let d0 = bvh.distance(spheres, mid, f64::NEG_INFINITY, &mut Near::default());
        if d0 + half_diagonal < self.near_below {
            return None;
        }
        // A sphere nearer than d0 + 2 hd to the middle can be nearest somewhere in the cell;
        // no other can (the nearest anywhere is within d0 + hd of that point).
        let mut near = vec![];
        bvh.within(spheres, mid, d0 + 2.0 * half_diagonal + tol, &mut near);
        let bounds: Vec<(f64, f64)> = near
            .iter()
            .map(|&i| {
                let s = &spheres[i as usize];
                let cc = s.center64();
                let (mut dmin, mut dmax) = (0.0, 0.0);
                for k in 0..3 {
                    let below = (lo[k] - cc[k]).max(cc[k] - hi[k]).max(0.0);
                    let far = (cc[k] - lo[k]).abs().max((hi[k] - cc[k]).abs());
                    dmin += below * below;
                    dmax += far * far;
                }
                (dmin.sqrt() - s.radius as f64, dmax.sqrt() - s.radius as f64)
            })
            .collect();
        let upper = bounds.iter().map(|b| b.1).fold(f64::INFINITY, f64::min);
        let cands: Vec<u32> = near.iter().zip(&bounds).filter(|(_, b)| b.0 <= upper + tol).map(|(&i, _)| i).collect();
        (cands.len() <= MAX_CANDIDATES).then(|| {
            let pad = Sphere { center: [0.0; 3], radius: f32::NEG_INFINITY };
            let fours = cands
                .chunks(4)
                .map(|four| {
                    let s = [0, 1, 2, 3].map(|l| four.get(l).map_or(pad, |&i| spheres[i as usize]));
                    Four { x: s.map(|s| s.center[0]), y: s.map(|s| s.center[1]), z: s.map(|s| s.center[2]), r: s.map(|s| s.radius) }
                })
                .collect();
            let spheres = cands.into_boxed_slice();
            // A non-candidate's least distance over the grown cell exceeds upper + tol, so
            // from any point of the cell it is farther than upper (the rounding of these
            // f64 bounds is far below tol).
            Cell { fours, spheres, others_beyond: upper }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::{Body, BodyOptions};
    use crate::bvh::sphere_distance;
    use crate::rng::Stream;

    #[test]
    fn far_cells_answer_exactly_what_brute_force_does() {
        // 400 atom-sized spheres in a clump: far cells hold a few candidates each.
        let mut rng = Stream::new(41, 0, 0, 0);
        let body = crate::body::clump(&mut rng, 400, 8.0);
        let grid = body.grid.as_ref().expect("a small body gets a grid");
        let brute = |x: V3| body.spheres.iter().map(|s| sphere_distance(s, x)).fold(f64::INFINITY, f64::min);
        let mut answered = 0;
        for _ in 0..300 {
            let x = crate::vec3::scale(rng.unit_vector(), body.launch_radius * rng.uniform().cbrt());
            // Past BUILD_AFTER visits the cell is built ...
            for _ in 0..=BUILD_AFTER {
                let _ = grid.distance(&body.bvh, &body.spheres, x);
            }
            // ... and then every point of it, its corners (where rounding decides the cell)
            // included, must get brute force's answer.
            let corner = x.map(|v| ((v - grid.lo) * grid.inv_h).floor() * grid.h + grid.lo);
            let corners = (0..8).map(|b: usize| [0, 1, 2].map(|k| corner[k] + ((b >> k) & 1) as f64 * grid.h));
            let inside: Vec<V3> = (0..24).map(|_| [0, 1, 2].map(|k| corner[k] + rng.uniform() * grid.h)).collect();
            for p in corners.chain(inside) {
                if let Some((d, cell)) = grid.distance(&body.bvh, &body.spheres, p) {
                    assert_eq!(d, brute(p), "at {p:?}");
                    // What a walk's list made from the cell rests on.
                    let candidates: Vec<u32> = cell.candidates(p).map(|(i, _)| i).collect();
                    for (i, s) in body.spheres.iter().enumerate().filter(|(i, _)| !candidates.contains(&(*i as u32))) {
                        assert!(sphere_distance(s, p) > cell.others_beyond(), "sphere {i} is within the cell's bound at {p:?}");
                    }
                    answered += 1;
                }
            }
        }
        assert!(answered > 100, "only {answered} answers from the grid");
    }

    #[test]
    fn large_bodies_get_no_grid() {
        // 100 cells of 1.2 radii per axis: beyond MAX_CELLS_PER_AXIS.
        let centers: Vec<V3> = (0..2).map(|i| [i as f64 * 120.0, 0.0, 0.0]).collect();
        let body = Body::new(&centers, &[1.0, 1.0], &BodyOptions::default()).unwrap();
        assert!(body.grid.is_none());
    }
}
