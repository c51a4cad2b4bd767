//! Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11, "Parallel random
//! numbers: as easy as 1, 2, 3").
//!
//! Why counter-based: the numbers a walk draws must be a pure function of
//! (seed, frame key, walk index), so that a frame's result does not depend on which thread
//! (or GPU invocation, or resumed process) ran which walk. A counter-based generator gives
//! that for free: the stream of walk `k` is Philox applied to the counters
//! `[block, k, frame_lo, frame_hi]` under the key `[seed_lo, seed_hi]`.
//!
//! The top bit of the block word separates the two purposes that draw per index: exterior
//! walks use blocks `0..2^31`, interior samples blocks from `2^31` up. A walk would need more
//! than 2^31 Philox blocks (8.6e9 numbers) before the streams could meet.
//!
//! The implementation is our own (a few lines) rather than a crate so that the WGSL port in
//! `shaders/` can mirror it operation for operation.

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// The block word's top bit: set for interior samples, clear for exterior walks.
pub const INTERIOR_STREAM: u32 = 1 << 31;

#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = a as u64 * b as u64;
    ((p >> 32) as u32, p as u32)
}

/// One Philox4x32-10 block: 128 random bits from a 128-bit counter and a 64-bit key.
#[inline(always)]
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = counter;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(W0);
            k[1] = k[1].wrapping_add(W1);
        }
        let (hi0, lo0) = mulhilo(M0, c[0]);
        let (hi1, lo1) = mulhilo(M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// Blocks computed by one refill of a [`Stream`].
const LANES: usize = 4;

/// Blocks `counter[0] .. counter[0] + 4` (the block word wrapping as one block at a time
/// would), word by word: `out[4 * b + w]` is word `w` of block `b`, the order a stream
/// draws them in. Lane by lane the operations of [`philox4x32_10`]: the reference the
/// vector versions are tested against, and the code on targets without them.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn philox4x32_10_x4(counter: [u32; 4], key: [u32; 2]) -> [u32; 4 * LANES] {
    let mut c0: [u32; LANES] = std::array::from_fn(|l| counter[0].wrapping_add(l as u32));
    let mut c1 = [counter[1]; LANES];
    let mut c2 = [counter[2]; LANES];
    let mut c3 = [counter[3]; LANES];
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(W0);
            k[1] = k[1].wrapping_add(W1);
        }
        let p0: [u64; LANES] = std::array::from_fn(|l| M0 as u64 * c0[l] as u64);
        let p1: [u64; LANES] = std::array::from_fn(|l| M1 as u64 * c2[l] as u64);
        c0 = std::array::from_fn(|l| (p1[l] >> 32) as u32 ^ c1[l] ^ k[0]);
        c2 = std::array::from_fn(|l| (p0[l] >> 32) as u32 ^ c3[l] ^ k[1]);
        c1 = p1.map(|p| p as u32);
        c3 = p0.map(|p| p as u32);
    }
    std::array::from_fn(|i| [c0, c1, c2, c3][i % 4][i / 4])
}

/// [`philox4x32_10_x4`] in the fastest code this CPU runs: out of line, since three of
/// four draws are a load and a call that saved the walk's registers for the blocks would
/// cost more than that.
#[inline(never)]
fn refill_blocks(counter: [u32; 4], key: [u32; 2]) -> [u32; 4 * LANES] {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { x86::blocks_avx2(counter, key) };
        }
        // SAFETY: SSE2 is in the x86_64 baseline.
        unsafe { x86::blocks_sse2(counter, key) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    philox4x32_10_x4(counter, key)
}

/// Four blocks side by side in vector registers. Each word of the four blocks sits in the
/// low half of a 64-bit lane: the multiply instruction (`pmuludq`) reads exactly those low
/// halves and returns the full 64-bit products, whose low halves are the next round's
/// `lo` words and whose high halves, shifted down, are the `hi` words. What the upper
/// halves of a lane hold otherwise is never read, so a round is two multiplies, two shifts
/// and four xors for all four blocks (SSE2, in the x86_64 baseline, holds two lanes a
/// register; AVX2 four).
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{LANES, M0, M1, W0, W1};
    use std::arch::x86_64::*;

    // In the x86_64 baseline: enabling it lets the intrinsics be called without unsafe.
    #[target_feature(enable = "sse2")]
    pub(super) fn blocks_sse2(counter: [u32; 4], key: [u32; 2]) -> [u32; 4 * LANES] {
        let lane = |v: u32| _mm_set1_epi64x(v as i64);
        let pair = |b: u32| _mm_set_epi64x(counter[0].wrapping_add(b + 1) as i64, counter[0].wrapping_add(b) as i64);
        // Blocks 0 and 1 in the first register of each word, 2 and 3 in the second.
        let mut c0 = [pair(0), pair(2)];
        let mut c1 = [lane(counter[1]); 2];
        let mut c2 = [lane(counter[2]); 2];
        let mut c3 = [lane(counter[3]); 2];
        let (mut k0, mut k1) = (lane(key[0]), lane(key[1]));
        let (m0, m1, w0, w1) = (lane(M0), lane(M1), lane(W0), lane(W1));
        for round in 0..10 {
            if round > 0 {
                k0 = _mm_add_epi32(k0, w0);
                k1 = _mm_add_epi32(k1, w1);
            }
            for h in 0..2 {
                let p0 = _mm_mul_epu32(c0[h], m0);
                let p1 = _mm_mul_epu32(c2[h], m1);
                c0[h] = _mm_xor_si128(_mm_xor_si128(_mm_srli_epi64::<32>(p1), c1[h]), k0);
                c2[h] = _mm_xor_si128(_mm_xor_si128(_mm_srli_epi64::<32>(p0), c3[h]), k1);
                c1[h] = p1;
                c3[h] = p0;
            }
        }
        let low = _mm_set1_epi64x(u32::MAX as i64);
        let mut out = [_mm_setzero_si128(); LANES];
        for h in 0..2 {
            // Words 0 and 1 of each block in one 64-bit lane, words 2 and 3 in another.
            let w01 = _mm_or_si128(_mm_and_si128(c0[h], low), _mm_slli_epi64::<32>(c1[h]));
            let w23 = _mm_or_si128(_mm_and_si128(c2[h], low), _mm_slli_epi64::<32>(c3[h]));
            out[2 * h] = _mm_unpacklo_epi64(w01, w23);
            out[2 * h + 1] = _mm_unpackhi_epi64(w01, w23);
        }
        // SAFETY: four 128-bit registers are sixteen u32s, in memory order.
        unsafe { std::mem::transmute::<[__m128i; LANES], [u32; 4 * LANES]>(out) }
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn blocks_avx2(counter: [u32; 4], key: [u32; 2]) -> [u32; 4 * LANES] {
        let lane = |v: u32| _mm256_set1_epi64x(v as i64);
        let b = |i: u32| counter[0].wrapping_add(i) as i64;
        let mut c0 = _mm256_set_epi64x(b(3), b(2), b(1), b(0));
        let mut c1 = lane(counter[1]);
        let mut c2 = lane(counter[2]);
        let mut c3 = lane(counter[3]);
        let (mut k0, mut k1) = (lane(key[0]), lane(key[1]));
        let (m0, m1, w0, w1) = (lane(M0), lane(M1), lane(W0), lane(W1));
        for round in 0..10 {
            if round > 0 {
                k0 = _mm256_add_epi32(k0, w0);
                k1 = _mm256_add_epi32(k1, w1);
            }
            let p0 = _mm256_mul_epu32(c0, m0);
            let p1 = _mm256_mul_epu32(c2, m1);
            c0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64::<32>(p1), c1), k0);
            c2 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64::<32>(p0), c3), k1);
            c1 = p1;
            c3 = p0;
        }
        // Words 0 and 1 of block b in 64-bit lane b of w01, words 2 and 3 in w23; then the
        // lanes interleaved block by block.
        let w01 = _mm256_blend_epi32::<0b1010_1010>(c0, _mm256_slli_epi64::<32>(c1));
        let w23 = _mm256_blend_epi32::<0b1010_1010>(c2, _mm256_slli_epi64::<32>(c3));
        let (lo, hi) = (_mm256_unpacklo_epi64(w01, w23), _mm256_unpackhi_epi64(w01, w23));
        let out = [_mm256_permute2x128_si256::<0x20>(lo, hi), _mm256_permute2x128_si256::<0x31>(lo, hi)];
        // SAFETY: two 256-bit registers are sixteen u32s, in memory order.
        unsafe { std::mem::transmute::<[__m256i; 2], [u32; 4 * LANES]>(out) }
    }
}

/// A place in a [`Stream`] to come back to.
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    next_block: u32,
    used: usize,
}

/// The random numbers of one walk (or one interior sample): an endless sequence of u32s
/// drawn block by block. Cheap to create; one per walk.
#[derive(Clone, Debug)]
pub struct Stream {
    key: [u32; 2],
    counter: [u32; 4],
    buf: [u32; 4 * LANES],
    used: usize,
}

impl Stream {
    /// The stream of index `index` (walk or sample number) of the frame with key `frame_key`.
    /// `first_block` is 0 for exterior walks and [`INTERIOR_STREAM`] for interior samples.
    pub fn new(seed: u64, frame_key: u64, index: u32, first_block: u32) -> Self {
        Stream {
            key: [seed as u32, (seed >> 32) as u32],
            counter: [first_block, index, frame_key as u32, (frame_key >> 32) as u32],
            buf: [0; 4 * LANES],
            used: 4 * LANES,
        }
    }

    /// The next 32 random bits: each Philox block yields four, then the block word counts
    /// up from `first_block`. Blocks are computed four at a time ahead of use; the numbers
    /// drawn are the same as one block at a time.
    #[inline(always)]
    pub fn next_u32(&mut self) -> u32 {
        if self.used == 4 * LANES {
            self.buf = refill_blocks(self.counter, self.key);
            self.counter[0] = self.counter[0].wrapping_add(LANES as u32);
            self.used = 0;
        }
        let v = self.buf[self.used];
        self.used += 1;
        v
    }

    /// Where the stream is, for [`Stream::rewind`].
    #[inline(always)]
    pub fn mark(&self) -> Mark {
        Mark { next_block: self.counter[0], used: self.used }
    }

    /// Takes the stream back to `mark`, so that numbers drawn ahead and not needed are
    /// drawn again by what comes next: the sequence is as if they had not been drawn.
    #[inline(always)]
    pub fn rewind(&mut self, mark: Mark) {
        if mark.next_block != self.counter[0] && mark.used < 4 * LANES {
            // The blocks in use at the mark were replaced since: compute them again.
            self.buf =
                refill_blocks([mark.next_block.wrapping_sub(LANES as u32), self.counter[1], self.counter[2], self.counter[3]], self.key);
        }
        self.counter[0] = mark.next_block;
        self.used = mark.used;
    }

    /// Uniform in the open interval (0, 1), 32 bits of resolution: the midpoint of one of
    /// 2^32 equal cells, so neither 0 nor 1 ever occurs (logs and divisions stay finite).
    #[inline(always)]
    pub fn uniform(&mut self) -> f64 {
        (self.next_u32() as f64 + 0.5) * (1.0 / 4_294_967_296.0)
    }

    /// A uniformly distributed unit vector by Marsaglia's (1972) rejection method: no
    /// trigonometry, which is a tenth of a walk's time otherwise. The number of draws varies,
    /// but deterministically: it is part of the stream.
    #[inline(always)]
    pub fn unit_vector(&mut self) -> [f64; 3] {
        loop {
            let u = 2.0 * self.uniform() - 1.0;
            let v = 2.0 * self.uniform() - 1.0;
            let s = u * u + v * v;
            if s < 1.0 {
                let f = 2.0 * (1.0 - s).sqrt();
                return [u * f, v * f, 1.0 - 2.0 * s];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known-answer vectors of the Random123 distribution (kat_vectors, philox4x32 10 rounds).
    #[test]
    fn philox_known_answers() {
        assert_eq!(philox4x32_10([0, 0, 0, 0], [0, 0]), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
        assert_eq!(philox4x32_10([u32::MAX; 4], [u32::MAX; 2]), [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
        assert_eq!(
            philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    #[test]
    fn four_blocks_at_once_are_the_blocks_one_at_a_time() {
        // The block word wrapping inside a refill included.
        for (counter, key) in [([0, 0, 0, 0], [0, 0]), ([u32::MAX - 1, 7, 8, 9], [3, 4]), ([0x243f6a88, 1, u32::MAX, 2], [u32::MAX; 2])] {
            let one: Vec<u32> =
                (0..4).flat_map(|b| philox4x32_10([counter[0].wrapping_add(b), counter[1], counter[2], counter[3]], key)).collect();
            assert_eq!(philox4x32_10_x4(counter, key).to_vec(), one);
            assert_eq!(refill_blocks(counter, key).to_vec(), one);
            #[cfg(target_arch = "x86_64")]
            {
                // SAFETY: SSE2 is in the x86_64 baseline.
                assert_eq!(unsafe { x86::blocks_sse2(counter, key) }.to_vec(), one);
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2.
                    assert_eq!(unsafe { x86::blocks_avx2(counter, key) }.to_vec(), one);
                } else {
                    eprintln!("skipped the AVX2 blocks: this CPU has no AVX2");
                }
            }
        }
        // A stream draws the blocks in order across refills.
        let mut s = Stream::new(0x1234_5678_9abc_def0, 77, 5, INTERIOR_STREAM);
        for b in 0..12u32 {
            let block = philox4x32_10([INTERIOR_STREAM + b, 5, 77, 0], [0x9abc_def0, 0x1234_5678]);
            assert_eq!([0; 4].map(|_| s.next_u32()), block, "block {b}");
        }
    }

    #[test]
    fn streams_differ_by_every_key_part() {
        let first = |s: &mut Stream| (0..8).map(|_| s.next_u32()).collect::<Vec<_>>();
        let base = first(&mut Stream::new(1, 2, 3, 0));
        assert_eq!(base, first(&mut Stream::new(1, 2, 3, 0)));
        assert_ne!(base, first(&mut Stream::new(2, 2, 3, 0)));
        assert_ne!(base, first(&mut Stream::new(1, 3, 3, 0)));
        assert_ne!(base, first(&mut Stream::new(1, 2, 4, 0)));
        assert_ne!(base, first(&mut Stream::new(1, 2, 3, INTERIOR_STREAM)));
        assert_ne!(base, first(&mut Stream::new(1, 2 | (1 << 40), 3, 0)));
    }

    #[test]
    fn a_rewound_stream_draws_what_it_would_have_drawn() {
        // Marks at the start (no block computed yet), inside and at the end of a buffer of
        // blocks; draws ahead within it and past one or more refills; and a block counter
        // that wraps past u32::MAX in between.
        for first in [0, u32::MAX - 5] {
            for skip in [0, 1, 5, 15, 16, 17, 31, 32] {
                for ahead in [0, 1, 2, 3, 15, 16, 17, 40] {
                    let mut a = Stream::new(3, 9, 7, first);
                    for _ in 0..skip {
                        a.next_u32();
                    }
                    let mut b = a.clone();
                    let mark = b.mark();
                    for _ in 0..ahead {
                        b.next_u32();
                    }
                    b.rewind(mark);
                    for k in 0..50 {
                        assert_eq!(a.next_u32(), b.next_u32(), "draw {k} after {skip}, {ahead} ahead, from block {first}");
                    }
                }
            }
        }
    }

    #[test]
    fn uniforms_are_open_and_unbiased() {
        let mut s = Stream::new(7, 0, 0, 0);
        let n = 200_000;
        let mut sum = 0.0;
        for _ in 0..n {
            let u = s.uniform();
            assert!(u > 0.0 && u < 1.0);
            sum += u;
        }
        let mean = sum / n as f64;
        // std of the mean of U(0,1) is 1/sqrt(12 n) = 6.5e-4
        assert!((mean - 0.5).abs() < 4.0 * 6.5e-4, "mean {mean}");
        // Unit vectors: unit length, and isotropic: every component has mean 0 and
        // mean square 1/3 (std of the mean square over n draws: sqrt(4/45 / n)).
        let n = 100_000;
        let mut mean = [0.0; 3];
        let mut sq = [0.0; 3];
        for _ in 0..n {
            let v = s.unit_vector();
            assert!(((v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) - 1.0).abs() < 1e-12);
            for k in 0..3 {
                mean[k] += v[k] / n as f64;
                sq[k] += v[k] * v[k] / n as f64;
            }
        }
        for k in 0..3 {
            assert!(mean[k].abs() < 4.0 * (1.0 / 3.0 / n as f64).sqrt(), "{mean:?}");
            assert!((sq[k] - 1.0 / 3.0).abs() < 4.0 * (4.0 / 45.0 / n as f64).sqrt(), "{sq:?}");
        }
    }
}
