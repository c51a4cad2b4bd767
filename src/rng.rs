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

/// The random numbers of one walk (or one interior sample): an endless sequence of u32s
/// drawn block by block. Cheap to create; one per walk.
#[derive(Clone, Debug)]
pub struct Stream {
    key: [u32; 2],
    counter: [u32; 4],
    buf: [u32; 4],
    used: usize,
}

impl Stream {
    /// The stream of index `index` (walk or sample number) of the frame with key `frame_key`.
    /// `first_block` is 0 for exterior walks and [`INTERIOR_STREAM`] for interior samples.
    pub fn new(seed: u64, frame_key: u64, index: u32, first_block: u32) -> Self {
        Stream {
            key: [seed as u32, (seed >> 32) as u32],
            counter: [first_block, index, frame_key as u32, (frame_key >> 32) as u32],
            buf: [0; 4],
            used: 4,
        }
    }

    /// The next 32 random bits: each Philox block yields four, then the block word counts
    /// up from `first_block`. Inlined, with the block out of line: three of four calls are
    /// a load, and a call that saves registers for the block would cost more than that.
    #[inline(always)]
    pub fn next_u32(&mut self) -> u32 {
        if self.used == 4 {
            self.refill();
        }
        let v = self.buf[self.used];
        self.used += 1;
        v
    }

    #[inline(never)]
    fn refill(&mut self) {
        self.buf = philox4x32_10(self.counter, self.key);
        self.counter[0] = self.counter[0].wrapping_add(1);
        self.used = 0;
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
