//! One exterior walk and one interior sample, exactly as docs/method.md
//! states, and the per-block tallies they add to.
//!
//! Walks are grouped in blocks of [`BLOCK`] consecutive indices; a block's tally is summed
//! walk by walk in index order. Blocks are the unit of parallel work and of the
//! fixed-order reduction that makes results independent of the thread count.

use crate::body::Body;
use crate::bvh::Near;
use crate::rng::{Stream, INTERIOR_STREAM};
use crate::vec3::{self, V3};
use bytemuck::{Pod, Zeroable};

/// Walks (or interior samples) per block.
pub const BLOCK: u64 = 32;

/// Sums over the walks of a block (or more): ZENO's t, u, v, w before division by N.
/// All `f64` so tallies add, subtract and cast as flat arrays; counts stay exact below 2^53.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct ExteriorTally {
    /// Walks launched, misses included: N in the estimators.
    pub walks: f64,
    /// Walks that reached the skin: t = hits / walks.
    pub hits: f64,
    /// Distance queries made (cost diagnostics; not used by the estimators).
    pub steps: f64,
    /// Sum of charges c_i over hits.
    pub charge: [f64; 3],
    /// Sum of hit points x_e,j (relative to the launch centre).
    pub end: [f64; 3],
    /// Sum of c_i x_e,j, row-major.
    pub charge_end: [f64; 9],
    /// Sum over hits of the charges' conditional means given the walk, `E[c_i] = x_s,i / R`
    /// (x_s the launch point): what the hit-point estimator uses instead of the drawn
    /// charges (docs/method.md). Kept beside them, so the walk is the same for both.
    pub mean_charge: [f64; 3],
    /// Sum of (x_s,i / R) x_e,j, row-major.
    pub mean_charge_end: [f64; 9],
}

/// A block's tally and where its walks hit: the hit-point estimator of the capacitance
/// needs each hit point, not only their sums. A flat `Pod` like the tally, so the GPU, the
/// MPI transport and the pool move it as they move tallies.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct ExteriorBlock {
    /// The block's sums.
    pub tally: ExteriorTally,
    /// The first `tally.hits` entries are the hit points x_e of the block's walks that hit,
    /// in walk-index order, relative to the launch centre; the rest are zero.
    pub hits: [V3; BLOCK as usize],
}

impl Default for ExteriorBlock {
    fn default() -> Self {
        Zeroable::zeroed()
    }
}

impl ExteriorBlock {
    /// The hit points, in walk-index order.
    pub fn hit_points(&self) -> &[V3] {
        &self.hits[..self.tally.hits as usize]
    }
}

/// Sums over the interior samples of a block (or more), before division by their count; f64
/// for the same reasons as [`ExteriorTally`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct InteriorTally {
    /// Points drawn uniformly in the launch ball, inside or not: M in V = (4/3) pi R^3
    /// inside / M.
    pub samples: f64,
    /// Points strictly inside some sphere; the sums below run over these only.
    pub inside: f64,
    /// Sum of inside points p.
    pub sum: [f64; 3],
    /// Sum of p p^T over inside points: xx, yy, zz, xy, xz, yz.
    pub sum_sq: [f64; 6],
}

/// Tallies are plain sums, so merging and removing (for the jackknife) are element-wise.
pub trait Tally: Pod + Default {
    /// Walks or samples summed: the size of a jackknife group.
    fn count(&self) -> f64;

    /// Adds `other` field by field.
    fn merge(&mut self, other: &Self) {
        let dst: &mut [f64] = bytemuck::cast_slice_mut(std::slice::from_mut(self));
        let src: &[f64] = bytemuck::cast_slice(std::slice::from_ref(other));
        dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
    }

    /// This tally less `other`: the leave-one-group-out tally of the jackknife.
    fn without(&self, other: &Self) -> Self {
        let mut out = *self;
        let dst: &mut [f64] = bytemuck::cast_slice_mut(std::slice::from_mut(&mut out));
        let src: &[f64] = bytemuck::cast_slice(std::slice::from_ref(other));
        dst.iter_mut().zip(src).for_each(|(d, s)| *d -= s);
        out
    }
}

impl Tally for ExteriorTally {
    fn count(&self) -> f64 {
        self.walks
    }
}

impl Tally for InteriorTally {
    fn count(&self) -> f64 {
        self.samples
    }
}

/// Where the randomness of a frame comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seeds {
    /// The run's `--seed`, the same for every frame.
    pub seed: u64,
    /// The frame's [`crate::trajectory::FrameInfo::key`], not its position in the selected
    /// range, so a frame draws the same numbers whatever else is run.
    pub frame_key: u64,
}

/// Runs walk `k` and adds it to `tally`. `near` carries the spheres near the walker
/// between queries; it changes the speed, never the walk.
#[inline(always)]
pub fn exterior_walk(body: &Body, seeds: Seeds, k: u32, near: &mut Near, tally: &mut ExteriorTally) {
    let mut walker = Walker::launch(body, seeds, k);
    tally.walks += 1.0;
    loop {
        if let Some(end) = walker.step(body, near, &mut tally.steps) {
            end.add_to(tally);
            return;
        }
    }
}

/// A walk in progress.
#[derive(Clone, Debug)]
struct Walker {
    rng: Stream,
    start: V3,
    x: V3,
}

/// How a walk ended: escaped, or in the skin at `end` with the charges drawn there.
#[derive(Clone, Copy, Debug)]
enum End {
    Escaped,
    Hit { end: V3, charge: [f64; 3], mean_charge: [f64; 3] },
}

impl Walker {
    #[inline(always)]
    fn launch(body: &Body, seeds: Seeds, k: u32) -> Walker {
        let mut rng = Stream::new(seeds.seed, seeds.frame_key, k, 0);
        let start = vec3::scale(rng.unit_vector(), body.launch_radius);
        Walker { rng, start, x: start }
    }

    /// One distance query and the step it allows (counted in `steps`); how the walk ended
    /// when it did.
    #[inline(always)]
    fn step(&mut self, body: &Body, near: &mut Near, steps: &mut f64) -> Option<End> {
        let (big_r, st) = (body.launch_radius, body.skin_thickness);
        // The step's direction is drawn before the query, so that its arithmetic overlaps
        // the query's instead of following it; a walk that ends here never drew it.
        let before = self.rng.mark();
        let direction = self.rng.unit_vector();
        let d = body.distance(self.x, st, near);
        *steps += 1.0;
        if d < st {
            self.rng.rewind(before);
            let charge = [0, 1, 2].map(|i| if self.rng.uniform() < 0.5 + self.start[i] / (2.0 * big_r) { 1.0 } else { -1.0 });
            let mean_charge = self.start.map(|s| s / big_r);
            return Some(End::Hit { end: self.x, charge, mean_charge });
        }
        self.x = vec3::add(self.x, vec3::scale(direction, d));
        let r2 = vec3::dot(self.x, self.x);
        if r2 > big_r * big_r {
            let r = r2.sqrt();
            if self.rng.uniform() > big_r / r {
                return Some(End::Escaped);
            }
            self.x = return_to_launch_sphere(self.x, r, big_r, &mut self.rng);
        }
        None
    }
}

impl End {
    /// Adds a hit's sums to `tally` (the walk itself is counted at its launch).
    #[inline(always)]
    fn add_to(&self, tally: &mut ExteriorTally) {
        let End::Hit { end: x, charge, mean_charge } = self else { return };
        tally.hits += 1.0;
        for i in 0..3 {
            let (c, m) = (charge[i], mean_charge[i]);
            tally.charge[i] += c;
            tally.mean_charge[i] += m;
            for j in 0..3 {
                tally.charge_end[3 * i + j] += c * x[j];
                tally.mean_charge_end[3 * i + j] += m * x[j];
            }
        }
        for j in 0..3 {
            tally.end[j] += x[j];
        }
    }
}

/// A point on the launch sphere drawn from the exterior harmonic measure seen from `x`
/// (|x| = r > R): where a walker from `x` that does not escape first touches the sphere.
#[inline(always)]
fn return_to_launch_sphere(x: V3, r: f64, big_r: f64, rng: &mut Stream) -> V3 {
    let a = big_r / r;
    let xi = rng.uniform();
    let den = 1.0 - a + 2.0 * a * xi;
    let cos_t = ((-(1.0 - a) * (1.0 - a) + 2.0 * (1.0 - a) * (1.0 + a * a) * xi + 2.0 * a * (1.0 + a * a) * xi * xi) / (den * den))
        .clamp(-1.0, 1.0);
    let sin_t = (1.0 - cos_t * cos_t).sqrt();
    let phi = std::f64::consts::TAU * rng.uniform();
    let n = vec3::scale(x, 1.0 / r);
    let (e1, e2) = vec3::orthonormal_basis(n);
    let (sp, cp) = phi.sin_cos();
    let dir = vec3::add(vec3::add(vec3::scale(e1, sin_t * cp), vec3::scale(e2, sin_t * sp)), vec3::scale(n, cos_t));
    vec3::scale(dir, big_r)
}

/// Draws interior sample `j` (uniform in the launch ball) and adds it to `tally`.
#[inline]
pub fn interior_sample(body: &Body, seeds: Seeds, j: u32, tally: &mut InteriorTally) {
    let mut rng = Stream::new(seeds.seed, seeds.frame_key, j, INTERIOR_STREAM);
    let radius = body.launch_radius * rng.uniform().cbrt();
    let p = vec3::scale(rng.unit_vector(), radius);
    tally.samples += 1.0;
    if body.contains(p) {
        tally.inside += 1.0;
        for k in 0..3 {
            tally.sum[k] += p[k];
        }
        tally.sum_sq[0] += p[0] * p[0];
        tally.sum_sq[1] += p[1] * p[1];
        tally.sum_sq[2] += p[2] * p[2];
        tally.sum_sq[3] += p[0] * p[1];
        tally.sum_sq[4] += p[0] * p[2];
        tally.sum_sq[5] += p[1] * p[2];
    }
}

/// The walks `block*BLOCK .. min((block+1)*BLOCK, end)`, summed in index order, with their
/// hit points, by the fastest [`Kernel`] this CPU runs.
pub fn exterior_block(body: &Body, seeds: Seeds, block: u64, end: u64) -> ExteriorBlock {
    exterior_block_with(Kernel::detect(), body, seeds, block, end)
}

/// One compilation of the walk loop, down to the distance queries and the random numbers.
/// A portable binary cannot assume AVX2, so the loop is compiled twice and chosen at run
/// time. Both do the same f64 operations in the same order (no FMA, which would round
/// differently), so they give the same bits; only the speed differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kernel(Isa);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Kernel {
    /// The baseline compilation, which every CPU of the target runs.
    pub const PORTABLE: Kernel = Kernel(Isa::Portable);

    /// The AVX2 compilation, or None when this CPU lacks AVX2: the only way to get one, so
    /// a kernel that is held can always run.
    pub fn avx2() -> Option<Kernel> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Some(Kernel(Isa::Avx2));
        }
        None
    }

    /// The fastest kernel this CPU runs (std caches the CPUID answer, so this is a load).
    #[inline]
    pub fn detect() -> Kernel {
        Kernel::avx2().unwrap_or(Kernel::PORTABLE)
    }
}

/// [`exterior_block`] by the given kernel.
pub fn exterior_block_with(kernel: Kernel, body: &Body, seeds: Seeds, block: u64, end: u64) -> ExteriorBlock {
    match kernel.0 {
        Isa::Portable => exterior_block_portable(body, seeds, block, end),
        // SAFETY: a Kernel holding Avx2 exists only where Kernel::avx2 found the feature.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { exterior_block_avx2(body, seeds, block, end) },
    }
}

#[inline(never)]
fn exterior_block_portable(body: &Body, seeds: Seeds, block: u64, end: u64) -> ExteriorBlock {
    exterior_block_inline(body, seeds, block, end)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline(never)]
fn exterior_block_avx2(body: &Body, seeds: Seeds, block: u64, end: u64) -> ExteriorBlock {
    exterior_block_inline(body, seeds, block, end)
}

/// Walks stepped in turn by one thread.
const INTERLEAVED: usize = 2;

/// The loop both kernels compile: everything it calls on the hot path is inlined into it,
/// since a call out of a target-feature function runs the callee's baseline code.
#[inline(always)]
fn exterior_block_inline(body: &Body, seeds: Seeds, block: u64, end: u64) -> ExteriorBlock {
    let mut out = ExteriorBlock::default();
    let tally = &mut out.tally;
    let first = block * BLOCK;
    let last = ((block + 1) * BLOCK).min(end).max(first);
    // Two walks step in turn, so that one's latencies (square roots, cache misses) overlap
    // the other's work; their ends are kept and summed in index order, which keeps every
    // sum the same bits as one walk after the other. The counts (walks, steps) are exact
    // in any order.
    let mut ends = [End::Escaped; BLOCK as usize];
    let mut nears: [Near; INTERLEAVED] = std::array::from_fn(|_| Near::default());
    let mut next = first;
    let launch = |next: &mut u64| {
        (*next < last).then(|| {
            let k = *next;
            *next += 1;
            (k, Walker::launch(body, seeds, k as u32))
        })
    };
    let mut lanes: [Option<(u64, Walker)>; INTERLEAVED] = std::array::from_fn(|_| launch(&mut next));
    while lanes.iter().any(Option::is_some) {
        for (lane, near) in lanes.iter_mut().zip(&mut nears) {
            if let Some((k, walker)) = lane {
                if let Some(end) = walker.step(body, near, &mut tally.steps) {
                    ends[(*k - first) as usize] = end;
                    *lane = launch(&mut next);
                }
            }
        }
    }
    tally.walks = (last - first) as f64;
    for end in &ends[..(last - first) as usize] {
        if let End::Hit { end: x, .. } = end {
            out.hits[tally.hits as usize] = *x;
        }
        end.add_to(tally);
    }
    out
}

/// The interior samples `block*BLOCK .. min((block+1)*BLOCK, end)`, summed in index order.
pub fn interior_block(body: &Body, seeds: Seeds, block: u64, end: u64) -> InteriorTally {
    let mut tally = InteriorTally::default();
    for j in block * BLOCK..((block + 1) * BLOCK).min(end) {
        interior_sample(body, seeds, j as u32, &mut tally);
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::BodyOptions;

    #[test]
    fn return_point_follows_the_harmonic_measure_limits() {
        // Far away (a -> 0) the return point is uniform: mean cos(theta) -> 0.
        // Close by (a -> 1) it is the nearest point: cos(theta) -> 1.
        let mut rng = Stream::new(3, 0, 0, 0);
        let mean_cos = |r: f64, rng: &mut Stream| {
            let n = 20_000;
            (0..n).map(|_| return_to_launch_sphere([r, 0.0, 0.0], r, 1.0, rng)[0]).sum::<f64>() / n as f64
        };
        assert!(mean_cos(1e6, &mut rng).abs() < 0.03);
        assert!(mean_cos(1.0 + 1e-9, &mut rng) > 0.999);
        // For a = 1/2 the density of cos(theta) is (1-a^2)/(2 (1 - 2a c + a^2)^{3/2}),
        // whose mean is a (the first Legendre coefficient of the Poisson kernel): 0.5.
        let m = mean_cos(2.0, &mut rng);
        assert!((m - 0.5).abs() < 4.0 * 0.3 / (20_000f64).sqrt(), "{m}");
        let p = return_to_launch_sphere([0.3, -2.0, 1.0], vec3::norm([0.3, -2.0, 1.0]), 1.5, &mut rng);
        assert!((vec3::norm(p) - 1.5).abs() < 1e-12);
    }

    #[test]
    fn both_kernels_walk_the_same_bits() {
        let Some(avx2) = Kernel::avx2() else {
            eprintln!("skipped: this CPU has no AVX2, so only the portable kernel runs");
            return;
        };
        // 400 atom-sized spheres in a clump, and enough walks that the grid's far cells get
        // built and answer: every path of a query is taken by both compilations.
        let mut rng = Stream::new(43, 0, 0, 0);
        let body = crate::body::clump(&mut rng, 400, 8.0);
        let seeds = Seeds { seed: 11, frame_key: 4 };
        // Each kernel on its own copy, so each builds its own cells.
        let (a, b) = (body.clone(), body.clone());
        let blocks = 96;
        let mut hits = 0.0;
        for i in 0..blocks {
            let p = exterior_block_with(Kernel::PORTABLE, &a, seeds, i, u64::MAX);
            let v = exterior_block_with(avx2, &b, seeds, i, u64::MAX);
            assert_eq!(bytemuck::bytes_of(&p), bytemuck::bytes_of(&v), "block {i}");
            hits += p.tally.hits;
        }
        assert!(hits > 0.5 * (blocks * BLOCK) as f64, "{hits} hits");
        assert_eq!(Kernel::detect(), avx2);
    }

    #[test]
    fn a_block_sums_the_same_bits_as_its_walks_one_after_another() {
        // A clump with a grid, so walks end at different steps and the two interleaved
        // walks finish out of order; blocks cut short by `end` too.
        let mut rng = Stream::new(44, 0, 0, 0);
        let body = crate::body::clump(&mut rng, 300, 7.0);
        let seeds = Seeds { seed: 12, frame_key: 5 };
        let kernels = [Some(Kernel::PORTABLE), Kernel::avx2()];
        for (block, end) in
            [(0, u64::MAX), (1, u64::MAX), (7, u64::MAX), (3, 3 * BLOCK + 5), (3, 3 * BLOCK + 1), (2, 2 * BLOCK), (5, 3 * BLOCK)]
        {
            let mut one_by_one = ExteriorTally::default();
            let mut near = Near::default();
            for k in block * BLOCK..((block + 1) * BLOCK).min(end) {
                exterior_walk(&body, seeds, k as u32, &mut near, &mut one_by_one);
            }
            for kernel in kernels.iter().flatten() {
                let t = exterior_block_with(*kernel, &body, seeds, block, end);
                assert_eq!(
                    bytemuck::cast::<_, [u64; 30]>(t.tally),
                    bytemuck::cast::<_, [u64; 30]>(one_by_one),
                    "block {block} to {end}, {kernel:?}"
                );
                // The hit points are the tally's end points, one by one, in walk order.
                let ends = t.hit_points().iter().fold([0.0; 3], |s, x| vec3::add(s, *x));
                assert_eq!(ends, one_by_one.end, "block {block} to {end}");
            }
        }
    }

    /// The walks as they were before the fifth speed round (commit 387fafd), pinned: the
    /// FNV-1a hash of 64 blocks' tally bits on a clump with a grid (the 18 words ZENO's
    /// estimators read), as `examples/walk_cost BODY 0 2048 tight` prints it; that example,
    /// built from 387fafd, printed this on the same body written as a .bod. A change that
    /// alters any walk's hits, steps, end points or drawn charges changes it.
    #[test]
    fn the_walks_are_the_bits_of_before_the_fifth_speed_round() {
        let mut rng = Stream::new(45, 0, 0, 0);
        let body = crate::body::clump(&mut rng, 300, 7.0);
        let seeds = Seeds { seed: 42, frame_key: 0 };
        for kernel in [Some(Kernel::PORTABLE), Kernel::avx2()].into_iter().flatten() {
            let mut hash = 0xcbf2_9ce4_8422_2325u64;
            for b in 0..64 {
                let t = exterior_block_with(kernel, &body, seeds, b, u64::MAX).tally;
                for w in &bytemuck::cast::<_, [u64; 30]>(t)[..18] {
                    for byte in w.to_le_bytes() {
                        hash = (hash ^ byte as u64).wrapping_mul(0x100_0000_01b3);
                    }
                }
            }
            assert_eq!(format!("{hash:016x}"), "581c0081739c2740", "{kernel:?}");
        }
    }

    #[test]
    fn a_walk_is_a_pure_function_of_its_index() {
        let body = Body::new(&[[0.0; 3], [2.0, 0.0, 0.0]], &[1.0, 1.0], &BodyOptions::default()).unwrap();
        let seeds = Seeds { seed: 5, frame_key: 9 };
        let mut a = ExteriorTally::default();
        let mut b = ExteriorTally::default();
        let (mut n1, mut n2) = (Near::default(), Near::default());
        exterior_walk(&body, seeds, 17, &mut n1, &mut a);
        exterior_walk(&body, seeds, 3, &mut n2, &mut b);
        let mut b2 = ExteriorTally::default();
        exterior_walk(&body, seeds, 17, &mut n2, &mut b2);
        assert_eq!(a, b2, "the same walk index gives the same walk whatever ran before it");
        assert_ne!(a, b);
    }
}
