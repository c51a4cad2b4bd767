//! The capacitance from where the walks hit: a U-statistic over pairs of hit points.
//!
//! Walks launched uniformly on the launch sphere and stopped in the skin hit the body with
//! the distribution of its equilibrium charge (the harmonic measure from infinity). That
//! charge's potential is the same, 1/C, everywhere on the conductor, so for independent hit
//! points X and Y, E[1/|X - Y|] = 1/C, and the mean of 1/|x_i - x_j| over pairs of hits
//! estimates 1/C without bias. Because E[1/|x - Y|] does not depend on x, the U-statistic is
//! degenerate: two pairs are uncorrelated even when they share a hit, so the variance of the
//! mean over P pairs is Var(1/|X - Y|) / P, estimated from the pairs' own second moment.
//! Its error falls like 1/N where the hit fraction's falls like 1/sqrt(N) (docs/method.md;
//! Nolan, Audus and Douglas, arXiv 2311.13730, for the alpha = 2 case).
//!
//! All pairs of M hits cost M^2/2, so hits are taken in walk-index order in chunks of
//! [`CHUNK`], with every pair inside a chunk and none across: P = M (CHUNK - 1) / 2 once
//! M >> CHUNK. The sums depend only on the hits and their order, never on how the walks were
//! split into rounds, threads or ranks.

use crate::pool::Pool;
use crate::vec3::V3;

/// Hits a chunk holds. The variance falls like 1/(M CHUNK) while the pair cost per hit
/// grows like CHUNK / 2; 4,096 keeps the pairs' time (about 2 us a hit at 1 ns a pair) near
/// a walk's while giving about CHUNK / 2 times the hit fraction's precision per walk at
/// large counts (README, "Estimators", for the measured time to precision).
pub const CHUNK: usize = 4096;

/// Sums over the pairs of hit points: what the estimate and its std are made of.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PairSums {
    /// Pairs summed (exact below 2^53).
    pub pairs: f64,
    /// Sum of 1/r over the pairs.
    pub sum: f64,
    /// Sum of 1/r^2 over the pairs.
    pub sum_sq: f64,
}

impl PairSums {
    fn add(&mut self, o: &PairSums) {
        self.pairs += o.pairs;
        self.sum += o.sum;
        self.sum_sq += o.sum_sq;
    }

    /// C = 1/U and its std by the delta method (std_C = C^2 std_U); None with fewer than two
    /// pairs, where neither is defined.
    pub fn capacitance(&self) -> Option<(f64, f64)> {
        if self.pairs < 2.0 || self.sum <= 0.0 {
            return None;
        }
        let u = self.sum / self.pairs;
        let var_h = (self.sum_sq / self.pairs - u * u).max(0.0) * self.pairs / (self.pairs - 1.0);
        let c = 1.0 / u;
        Some((c, c * c * (var_h / self.pairs).sqrt()))
    }
}

/// A frame's hit points in walk-index order, with the pair sums of the chunks already full.
#[derive(Clone, Debug, Default)]
pub struct HitPoints {
    points: Vec<V3>,
    /// Sums of chunks `0..closed_chunks`, added in chunk order.
    closed: PairSums,
    closed_chunks: usize,
}

impl HitPoints {
    /// Appends a block's hits; callers add blocks in increasing index order.
    pub fn extend(&mut self, hits: &[V3]) {
        self.points.extend_from_slice(hits);
    }

    /// Hits so far.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// No hit so far.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The pair sums over every chunk, the last one possibly partial. Full chunks are summed
    /// once, on `pool`, and kept; the sum is the same bits whatever the pool or the rounds.
    pub fn sums(&mut self, pool: &Pool) -> PairSums {
        let full = self.points.len() / CHUNK;
        if full > self.closed_chunks {
            let points = &self.points;
            let sums = pool.map(self.closed_chunks as u64..full as u64, |c| {
                let c = c as usize;
                chunk_sums(&points[c * CHUNK..(c + 1) * CHUNK])
            });
            sums.iter().for_each(|s| self.closed.add(s));
            self.closed_chunks = full;
        }
        let mut total = self.closed;
        total.add(&chunk_sums(&self.points[full * CHUNK..]));
        total
    }
}

/// Lanes of the pair loop: each row's pairs are dealt to LANES accumulators by position and
/// added in a fixed order, so the sum is the same bits however wide the vector unit is.
const LANES: usize = 4;

/// The sums over all pairs of `points`, by the fastest compilation this CPU runs.
fn chunk_sums(points: &[V3]) -> PairSums {
    let x: Vec<f64> = points.iter().map(|p| p[0]).collect();
    let y: Vec<f64> = points.iter().map(|p| p[1]).collect();
    let z: Vec<f64> = points.iter().map(|p| p[2]).collect();
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked on the line above.
        return unsafe { chunk_sums_avx2(&x, &y, &z) };
    }
    chunk_sums_inline(&x, &y, &z)
}

/// The pair loop in AVX2 intrinsics: the same operations per lane and the same lane sums
/// as [`chunk_sums_inline`], so the same bits (square root and division are correctly
/// rounded, and there is no FMA). Written out because LLVM keeps the square root and the
/// division scalar in the generic loop (4.7 ns a pair instead of about 1).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn chunk_sums_avx2(x: &[f64], y: &[f64], z: &[f64]) -> PairSums {
    use std::arch::x86_64::*;
    let n = x.len();
    let mut total = PairSums { pairs: (n * n.saturating_sub(1) / 2) as f64, ..Default::default() };
    let (zero, one, inf) = (_mm256_setzero_pd(), _mm256_set1_pd(1.0), _mm256_set1_pd(f64::INFINITY));
    let inverse = |a: __m256d, b: __m256d, c: __m256d, p: [__m256d; 3]| {
        let (dx, dy, dz) = (_mm256_sub_pd(a, p[0]), _mm256_sub_pd(b, p[1]), _mm256_sub_pd(c, p[2]));
        let r2 = _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(dx, dx), _mm256_mul_pd(dy, dy)), _mm256_mul_pd(dz, dz));
        let r2 = _mm256_blendv_pd(inf, r2, _mm256_cmp_pd::<_CMP_GT_OQ>(r2, zero));
        _mm256_div_pd(one, _mm256_sqrt_pd(r2))
    };
    for i in 0..n {
        let p = [_mm256_set1_pd(x[i]), _mm256_set1_pd(y[i]), _mm256_set1_pd(z[i])];
        let (mut s, mut q) = (zero, zero);
        let (xs, ys, zs) = (&x[i + 1..], &y[i + 1..], &z[i + 1..]);
        let full = xs.len() / LANES * LANES;
        for k in (0..full).step_by(LANES) {
            let load = |v: &[f64]| {
                let a: &[f64; LANES] = v[k..k + LANES].try_into().expect("LANES long");
                // SAFETY: `a` is LANES = 4 readable f64s; loadu has no alignment need.
                unsafe { _mm256_loadu_pd(a.as_ptr()) }
            };
            let inv = inverse(load(xs), load(ys), load(zs), p);
            s = _mm256_add_pd(s, inv);
            q = _mm256_add_pd(q, _mm256_mul_pd(inv, inv));
        }
        let rest = xs.len() - full;
        let (mut a, mut b, mut c) = ([x[i]; LANES], [y[i]; LANES], [z[i]; LANES]);
        a[..rest].copy_from_slice(&xs[full..]);
        b[..rest].copy_from_slice(&ys[full..]);
        c[..rest].copy_from_slice(&zs[full..]);
        // SAFETY: each is an array of LANES = 4 f64s.
        let inv = unsafe { inverse(_mm256_loadu_pd(a.as_ptr()), _mm256_loadu_pd(b.as_ptr()), _mm256_loadu_pd(c.as_ptr()), p) };
        s = _mm256_add_pd(s, inv);
        q = _mm256_add_pd(q, _mm256_mul_pd(inv, inv));
        let (mut sl, mut ql) = ([0.0f64; LANES], [0.0f64; LANES]);
        // SAFETY: each is an array of LANES = 4 writable f64s; storeu has no alignment need.
        unsafe {
            _mm256_storeu_pd(sl.as_mut_ptr(), s);
            _mm256_storeu_pd(ql.as_mut_ptr(), q);
        }
        let (s, q) = (sl, ql);
        total.sum += (s[0] + s[1]) + (s[2] + s[3]);
        total.sum_sq += (q[0] + q[1]) + (q[2] + q[3]);
    }
    total
}

#[inline(always)]
fn chunk_sums_inline(x: &[f64], y: &[f64], z: &[f64]) -> PairSums {
    let n = x.len();
    let mut total = PairSums { pairs: (n * n.saturating_sub(1) / 2) as f64, ..Default::default() };
    for i in 0..n {
        let (xi, yi, zi) = (x[i], y[i], z[i]);
        let (mut s, mut q) = ([0.0f64; LANES], [0.0f64; LANES]);
        let (xs, ys, zs) = (&x[i + 1..], &y[i + 1..], &z[i + 1..]);
        let full = xs.len() / LANES * LANES;
        for k in (0..full).step_by(LANES) {
            let (a, b, c): (&[f64; LANES], &[f64; LANES], &[f64; LANES]) = (
                xs[k..k + LANES].try_into().expect("LANES long"),
                ys[k..k + LANES].try_into().expect("LANES long"),
                zs[k..k + LANES].try_into().expect("LANES long"),
            );
            let inv = inverse_distances(*a, *b, *c, xi, yi, zi);
            for l in 0..LANES {
                s[l] += inv[l];
                q[l] += inv[l] * inv[l];
            }
        }
        // The row's last pairs go to the first lanes, padded with the row's own point,
        // whose distance of zero counts as no pair.
        let rest = xs.len() - full;
        let (mut a, mut b, mut c) = ([xi; LANES], [yi; LANES], [zi; LANES]);
        a[..rest].copy_from_slice(&xs[full..]);
        b[..rest].copy_from_slice(&ys[full..]);
        c[..rest].copy_from_slice(&zs[full..]);
        let inv = inverse_distances(a, b, c, xi, yi, zi);
        for l in 0..LANES {
            s[l] += inv[l];
            q[l] += inv[l] * inv[l];
        }
        total.sum += (s[0] + s[1]) + (s[2] + s[3]);
        total.sum_sq += (q[0] + q[1]) + (q[2] + q[3]);
    }
    total
}

/// 1/|p_l - p_i| for each lane, and 0 where the two points coincide: two walks ending on
/// the same point is an impossibility in f64 that would make the sum infinite, so such a
/// pair counts with zero weight.
#[inline(always)]
fn inverse_distances(x: [f64; LANES], y: [f64; LANES], z: [f64; LANES], xi: f64, yi: f64, zi: f64) -> [f64; LANES] {
    let mut out = [0.0; LANES];
    for l in 0..LANES {
        let (dx, dy, dz) = (x[l] - xi, y[l] - yi, z[l] - zi);
        let r2 = dx * dx + dy * dy + dz * dz;
        // Chosen before the square root, not after: LLVM then blends instead of branching
        // lane by lane (4.7 ns a pair branching, measured).
        let r2 = if r2 > 0.0 { r2 } else { f64::INFINITY };
        out[l] = 1.0 / r2.sqrt();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(n: usize, seed: u64) -> Vec<V3> {
        let mut rng = crate::rng::Stream::new(seed, 0, 0, 0);
        (0..n).map(|_| rng.unit_vector()).collect()
    }

    #[test]
    fn the_sums_are_those_of_every_pair_within_each_chunk() {
        let p = points(CHUNK + 37, 1);
        let mut hits = HitPoints::default();
        hits.extend(&p);
        let got = hits.sums(&Pool::Serial);
        let brute = |s: &[V3]| {
            let mut out = PairSums::default();
            for i in 0..s.len() {
                for j in i + 1..s.len() {
                    let r = crate::vec3::norm(crate::vec3::sub(s[i], s[j]));
                    out.pairs += 1.0;
                    out.sum += 1.0 / r;
                    out.sum_sq += 1.0 / (r * r);
                }
            }
            out
        };
        let (a, b) = (brute(&p[..CHUNK]), brute(&p[CHUNK..]));
        assert_eq!(got.pairs, a.pairs + b.pairs);
        assert!((got.sum / (a.sum + b.sum) - 1.0).abs() < 1e-12, "{} vs {}", got.sum, a.sum + b.sum);
        assert!((got.sum_sq / (a.sum_sq + b.sum_sq) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn the_sums_do_not_depend_on_rounds_or_threads() {
        let p = points(2 * CHUNK + 100, 2);
        let mut once = HitPoints::default();
        once.extend(&p);
        let once = once.sums(&Pool::Serial);
        let mut rounds = HitPoints::default();
        let pool = Pool::new(2).unwrap();
        for part in p.chunks(1000) {
            rounds.extend(part);
            rounds.sums(&pool);
        }
        let again = rounds.sums(&pool);
        let bits = |s: PairSums| [s.pairs, s.sum, s.sum_sq].map(f64::to_bits);
        assert_eq!(bits(once), bits(again));
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            let (x, y, z): (Vec<f64>, Vec<f64>, Vec<f64>) =
                (p.iter().map(|v| v[0]).collect(), p.iter().map(|v| v[1]).collect(), p.iter().map(|v| v[2]).collect());
            // SAFETY: AVX2 is present.
            let v = unsafe { chunk_sums_avx2(&x, &y, &z) };
            let s = chunk_sums_inline(&x, &y, &z);
            assert_eq!([v.sum.to_bits(), v.sum_sq.to_bits()], [s.sum.to_bits(), s.sum_sq.to_bits()], "AVX2 and baseline");
        }
    }

    #[test]
    fn uniform_points_on_a_sphere_give_its_capacitance() {
        // The equilibrium charge of a sphere is uniform, and the mean of 1/|X - Y| over
        // uniform points of the unit sphere is exactly 1: C = 1 for every seed, to the std.
        let mut z = vec![];
        for seed in 0..20 {
            let mut hits = HitPoints::default();
            hits.extend(&points(1500, 100 + seed));
            let (c, std) = hits.sums(&Pool::Serial).capacitance().unwrap();
            z.push((c - 1.0) / std);
        }
        let mean_sq = z.iter().map(|z| z * z).sum::<f64>() / z.len() as f64;
        assert!(z.iter().all(|z| z.abs() < 4.0), "{z:?}");
        // The reported std is the spread: the mean z^2 is 1 within its sampling error.
        assert!((0.4..2.0).contains(&mean_sq), "mean z^2 {mean_sq}, {z:?}");
    }

    #[test]
    fn fewer_than_two_pairs_give_no_estimate() {
        let mut hits = HitPoints::default();
        assert_eq!(hits.sums(&Pool::Serial).capacitance(), None);
        hits.extend(&points(2, 3));
        assert_eq!(hits.sums(&Pool::Serial).capacitance(), None);
        hits.extend(&points(1, 4));
        assert!(hits.sums(&Pool::Serial).capacitance().is_some());
    }
}
