//! What a run says about all its frames together: for each scalar observable the mean over
//! frames, the standard error of that mean across frames (the conformational spread, which
//! is what a scientist compares between systems), and the mean Monte Carlo std (how much of
//! the spread the walks themselves add). Accumulated frame by frame, in frame order, so the
//! summary is as reproducible as the frames.
//!
//! Consecutive MD frames are correlated, so the naive standard error sqrt(s^2 / n), which
//! counts every frame as an independent sample, is too small (often several times). The
//! summary therefore also estimates each series' statistical inefficiency g (1 + 2 tau, tau
//! the integrated autocorrelation time, in frames) as pymbar's
//! `timeseries.statisticalInefficiency` does (Chodera, Swope, Pitera, Seok, Dill, JCTC 3:26,
//! 2007; Chodera, JCTC 12:1799, 2016), and reports n / g effective frames and the standard
//! error sqrt(s^2 g / n) they imply. The naive number stays in the JSON under its old key so
//! that readers of `standard_error` see what they always saw.

use super::format_uncertain;
use crate::compute::FrameResult;
use crate::estimate::{Quantity, Shape};
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

/// pymbar's `mintime`: the correlation function is summed at least out to this lag even where
/// it dips below zero, so that noise in the first lags cannot end the sum before it starts.
const MINTIME: usize = 3;

/// The statistical inefficiency g of a series taken in time order: how many consecutive
/// samples are worth one independent one, so that the variance of its mean is s^2 g / n.
///
/// The plain (not "fast") estimator of Chodera et al. (JCTC 3:26, 2007), as in pymbar's
/// `timeseries.statisticalInefficiency` with `mintime = 3`: with C(t) the normalised
/// autocorrelation (the lag-t covariance over its N - t pairs, divided by the variance taken
/// over N so that C(0) = 1), g = 1 + 2 sum_t C(t) (1 - t/N), summed from t = 1 up to (not
/// including) the first t > 3 with C(t) <= 0, where the correlation has decayed into its noise.
/// Clamped to g >= 1, since an anticorrelated estimate would claim more information than the
/// samples hold.
///
/// `None` with fewer than 2 samples or a constant series: there is no variance whose
/// correlation could be estimated (pymbar raises there), and no standard error to correct.
///
/// Cost: the lag products of all lags by one FFT, N log N whatever the series, so a million
/// frames that never decorrelate take well under a second per observable.
pub fn statistical_inefficiency(x: &[f64]) -> Option<f64> {
    let n = x.len();
    if n < 2 || x.iter().all(|&v| v == x[0]) {
        return None;
    }
    let nf = n as f64;
    let mean = x.iter().sum::<f64>() / nf;
    let d: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let variance = d.iter().map(|v| v * v).sum::<f64>() / nf;
    let lagged = lag_products(&d);
    let mut g = 1.0;
    for t in 1..n - 1 {
        let c = lagged[t] / ((n - t) as f64 * variance);
        if c <= 0.0 && t > MINTIME {
            break;
        }
        g += 2.0 * c * (1.0 - t as f64 / nf);
    }
    Some(g.max(1.0))
}

/// For every lag t, sum_i d[i] d[i + t], by the FFT (the Wiener-Khinchin theorem on a
/// zero-padded copy, so the products do not wrap around): N log N for all lags at once, where
/// the direct sums cost N^2 / 2 for a series whose correlation never decays (a drift, slow
/// transitions), minutes for a million frames.
fn lag_products(d: &[f64]) -> Vec<f64> {
    use rustfft::num_complex::Complex;
    let m = (2 * d.len()).next_power_of_two();
    let mut planner = rustfft::FftPlanner::<f64>::new();
    let mut buffer: Vec<Complex<f64>> = d.iter().map(|&v| Complex::new(v, 0.0)).collect();
    buffer.resize(m, Complex::new(0.0, 0.0));
    planner.plan_fft_forward(m).process(&mut buffer);
    for z in &mut buffer {
        *z = Complex::new(z.norm_sqr(), 0.0);
    }
    planner.plan_fft_inverse(m).process(&mut buffer);
    buffer[..d.len()].iter().map(|z| z.re / m as f64).collect()
}

/// One scalar's series over the frames, in frame order (g needs the order, not just moments).
/// The running moments are kept beside the values so that the naive fields come out exactly
/// as they did before the series was kept.
#[derive(Clone, Debug, Default)]
struct Moments {
    frames: u64,
    mean: f64,
    m2: f64,
    std_sum: f64,
    values: Vec<f64>,
    /// g and what follows from it, computed once at the end: both `json` and `table` ask, and
    /// in the worst case g costs seconds. Emptied by every `add`. A `OnceLock` rather than a
    /// `OnceCell` so that the summary stays `Sync`.
    correlated: OnceLock<Option<Correlated>>,
}

/// What the correlation between frames does to the standard error of one scalar's mean.
#[derive(Clone, Copy, Debug)]
struct Correlated {
    g: f64,
    effective_frames: f64,
    standard_error: f64,
}

impl Moments {
    fn add(&mut self, value: f64, std: f64) {
        self.frames += 1;
        let d = value - self.mean;
        self.mean += d / self.frames as f64;
        self.m2 += d * (value - self.mean);
        self.std_sum += std;
        self.values.push(value);
        self.correlated = OnceLock::new();
    }

    fn standard_error(&self) -> Option<f64> {
        (self.frames > 1).then(|| (self.m2 / (self.frames - 1) as f64 / self.frames as f64).sqrt())
    }

    fn mean_std(&self) -> Option<f64> {
        (self.frames > 0).then(|| self.std_sum / self.frames as f64)
    }

    /// The same s^2 as the naive standard error, times g: the two differ by sqrt(g) exactly.
    fn correlated(&self) -> Option<Correlated> {
        *self.correlated.get_or_init(|| {
            let g = statistical_inefficiency(&self.values)?;
            let n = self.frames as f64;
            Some(Correlated { g, effective_frames: n / g, standard_error: (self.m2 / (n - 1.0) * g / n).sqrt() })
        })
    }
}

/// The run's summary over frames, fed one frame at a time in frame order.
///
/// Keeps every finite scalar value (8 bytes a frame per observable, 0.8 MB per observable
/// for 1e5 frames) because the correlation between frames can only be estimated at the end,
/// from the whole series.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    rows: Vec<(Quantity, Moments)>,
    /// Frames with a non-finite value of some observable (left out of that observable).
    skipped: Vec<(Quantity, u64)>,
}

impl Summary {
    /// Takes the frame's scalar observables. Frames must come in frame order, since the
    /// correlation estimate reads the series as a time series. A frame with a non-finite
    /// value is left out of that observable only; its neighbours then count as adjacent,
    /// which a few such frames do not change measurably.
    pub fn add(&mut self, r: &FrameResult) {
        for e in r.estimates.iter().filter(|e| e.quantity.shape() == Shape::Scalar) {
            let k = match self.rows.iter().position(|(q, _)| *q == e.quantity) {
                Some(k) => k,
                None => {
                    self.rows.push((e.quantity, Moments::default()));
                    self.rows.len() - 1
                }
            };
            if e.value[0].is_finite() && e.std[0].is_finite() {
                self.rows[k].1.add(e.value[0], e.std[0]);
            } else {
                match self.skipped.iter_mut().find(|(q, _)| *q == e.quantity) {
                    Some((_, n)) => *n += 1,
                    None => self.skipped.push((e.quantity, 1)),
                }
            }
        }
    }

    /// True before any frame with a scalar observable: there is nothing to summarise.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// `{"<name>": {"frames", "mean", "standard_error", "mean_std", "unit",
    /// "statistical_inefficiency", "effective_frames", "standard_error_correlated"}}`.
    ///
    /// `standard_error` is the naive sqrt(s^2 / n), kept for readers written before the
    /// correlation was estimated; `standard_error_correlated` is sqrt(s^2 g / n), the one to
    /// quote. The three correlation fields are null with fewer than 2 frames or a constant
    /// series (see [`statistical_inefficiency`]).
    pub fn json(&self, length_unit: &str) -> Value {
        let mut m = Map::new();
        for (q, s) in &self.rows {
            let c = s.correlated();
            m.insert(
                q.name().into(),
                json!({
                    "frames": s.frames,
                    "mean": (s.frames > 0).then_some(s.mean),
                    "standard_error": s.standard_error(),
                    "mean_std": s.mean_std(),
                    "unit": q.unit(length_unit),
                    "statistical_inefficiency": c.map(|c| c.g),
                    "effective_frames": c.map(|c| c.effective_frames),
                    "standard_error_correlated": c.map(|c| c.standard_error),
                    "model_std": q.model_relative_uncertainty().filter(|_| s.frames > 0).map(|r| (s.mean * r).abs()),
                }),
            );
        }
        Value::Object(m)
    }

    /// The summary for a reader: the mean +- the standard error corrected for correlation
    /// between frames (the honest number; the naive one is only in the JSON), with the
    /// effective number of independent frames beside the frame count so the reader sees how
    /// much the correction matters.
    pub fn table(&self, length_unit: &str) -> String {
        let mut out = format!(
            "summary over frames:\n  {:<34} {:>7} {:>9}  {:<36} {:>14} {:>12}  {}\n",
            "quantity", "frames", "n_eff", "mean +- s.e. (correlated frames)", "mean MC std", "model std", "unit"
        );
        for (q, s) in &self.rows {
            let c = s.correlated();
            let mean = match (s.frames, c) {
                (0, _) => "n/a".to_string(),
                (_, Some(c)) => format_uncertain(s.mean, c.standard_error),
                // One frame (or a constant series) has no spread across frames: its value
                // with the digits its Monte Carlo std allows, not a forced exponent.
                (_, None) => format_uncertain(s.mean, s.mean_std().unwrap_or(0.0)) + " (MC)",
            };
            let n_eff = c.map_or("n/a".into(), |c| format!("{:.1}", c.effective_frames));
            let mc = s.mean_std().map_or("n/a".into(), |v| format!("{v:.3e}"));
            // ZENO's model uncertainty of the mean, for the quantities that carry one.
            let model =
                q.model_relative_uncertainty().filter(|_| s.frames > 0).map_or("".into(), |r| format!("{:.3e}", (s.mean * r).abs()));
            out += &format!(
                "  {:<34} {:>7} {:>9}  {:<36} {:>14} {:>12}  {}\n",
                q.name(),
                s.frames,
                n_eff,
                mean,
                mc,
                model,
                super::table_unit(*q, length_unit)
            );
        }
        for (q, n) in &self.skipped {
            out += &format!("  ({} frame(s) without a finite {} left out)\n", n, q.name());
        }
        out += "  (+- is the standard error of the mean over n_eff = n / g independent frames, g the statistical inefficiency)\n";
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::estimate::Estimate;
    use crate::rng::Stream;

    fn frame(rh: f64, std: f64) -> FrameResult {
        FrameResult::of(vec![Estimate { quantity: Quantity::HydrodynamicRadius, value: vec![rh], std: vec![std] }])
    }

    /// Standard normal numbers by Box-Muller from the crate's Philox stream: deterministic on
    /// every platform, so each test sees the same series every time.
    fn normals(seed: u64, n: usize) -> Vec<f64> {
        let mut s = Stream::new(seed, 0x5eed, 0, 0);
        let mut v = Vec::with_capacity(n + 1);
        while v.len() < n {
            let r = (-2.0 * s.uniform().ln()).sqrt();
            let a = std::f64::consts::TAU * s.uniform();
            v.extend([r * a.cos(), r * a.sin()]);
        }
        v.truncate(n);
        v
    }

    /// A stationary AR(1) series x_t = rho x_{t-1} + sqrt(1 - rho^2) e_t, started from its
    /// stationary distribution, shifted to mean 10 and scaled to std 2 so that an estimator
    /// that forgot to centre or to normalise would be far off. Its C(t) = rho^t, so the exact
    /// g = 1 + 2 sum rho^t = (1 + rho) / (1 - rho).
    fn ar1(rho: f64, n: usize, seed: u64) -> Vec<f64> {
        let e = normals(seed, n);
        let k = (1.0 - rho * rho).sqrt();
        let mut x = e[0];
        let mut out = vec![10.0 + 2.0 * x];
        for &e in &e[1..] {
            x = rho * x + k * e;
            out.push(10.0 + 2.0 * x);
        }
        out
    }

    #[test]
    fn mean_standard_error_and_mean_std_over_frames() {
        let mut s = Summary::default();
        for (v, e) in [(10.0, 0.1), (12.0, 0.3), (14.0, 0.2), (f64::NAN, 0.1)] {
            s.add(&frame(v, e));
        }
        let j = s.json("A");
        let rh = &j["hydrodynamic_radius"];
        assert_eq!(rh["frames"], 3);
        assert_eq!(rh["mean"], 12.0);
        // sample variance 4, so the standard error is sqrt(4 / 3)
        assert!((rh["standard_error"].as_f64().unwrap() - (4.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((rh["mean_std"].as_f64().unwrap() - 0.2).abs() < 1e-12);
        // ZENO's 1% model uncertainty on Rh, of the mean.
        assert_eq!(rh["model_std"].as_f64().unwrap(), (12.0 * Quantity::HydrodynamicRadius.model_relative_uncertainty().unwrap()).abs());
        assert!(s.table("A").contains("(1 frame(s) without a finite hydrodynamic_radius left out)"));
    }

    /// rho = 0.9: exact g = 19. Over 200 seeds at N = 1e5 the estimate had mean 19.2, std 1.0
    /// (a right tail: range 17.5 to 26.4, one seed of 200 outside 19 +- 4), so +- 4 is about
    /// four standard deviations of its spread and does not depend on the seed picked. It
    /// fails for g forced to 1, for the naive sum without the zero-crossing stop (which comes
    /// to exactly 0, clamped to 1: the centred lags sum to zero), for 1 + tau instead of
    /// 1 + 2 tau (10), and for an uncentred C(t) (of order N).
    #[test]
    fn statistical_inefficiency_of_ar1_is_1_plus_rho_over_1_minus_rho() {
        let rho = 0.9;
        let g = statistical_inefficiency(&ar1(rho, 100_000, 0)).unwrap();
        let exact = (1.0 + rho) / (1.0 - rho);
        assert!((g - exact).abs() < 4.0, "g = {g}, exact {exact}");
    }

    /// Independent frames: exact g = 1. The estimate cannot fall below 1 (the clamp) and sums
    /// noise up to the first crossing, so it sits a little above: over 200 seeds at N = 1e5
    /// mean 1.009, std 0.011, largest 1.051. 1.06 is about five standard deviations above the
    /// mean. It fails for an estimator that keeps summing past the first crossing over the
    /// positive lags only, or an uncentred one.
    #[test]
    fn independent_frames_have_statistical_inefficiency_near_1() {
        let g = statistical_inefficiency(&ar1(0.0, 100_000, 0)).unwrap();
        assert!((1.0..1.06).contains(&g), "g = {g}");
    }

    /// pymbar 4.0.3's `timeseries.statistical_inefficiency` of this series is
    /// 1.2955974842767297. C(t) is 0.667, -0.0035, -0.568, -0.794, ...: the negative C(2) and
    /// C(3) are summed (t <= mintime), C(4) ends the sum. Stopping at the first negative value
    /// would give 2.27, leaving out t = mintime 2.26; the tolerance is for summation order only.
    #[test]
    fn statistical_inefficiency_matches_pymbar_on_a_short_series() {
        let x = [1.0, 2.0, 4.0, 5.0, 5.0, 4.0, 3.0, 3.0, 2.0, 2.0, 3.0, 5.0, 6.0, 5.0, 4.0, 2.0, 1.0, 2.0, 3.0, 3.0];
        let g = statistical_inefficiency(&x).unwrap();
        assert!((g - 1.2955974842767297).abs() < 1e-12, "g = {g}");
    }

    #[test]
    fn no_statistical_inefficiency_without_variance() {
        assert_eq!(statistical_inefficiency(&[]), None);
        assert_eq!(statistical_inefficiency(&[3.0]), None);
        // 0.1 summed 7 times and divided by 7 is not exactly 0.1: a variance test on the
        // centred values would see rounding noise, correlated at every lag, and give g ~ N.
        assert_eq!(statistical_inefficiency(&[0.1; 7]), None);
        assert_eq!(statistical_inefficiency(&[1.0, 2.0]), Some(1.0));

        let mut s = Summary::default();
        s.add(&frame(5.0, 0.1));
        let j = s.json("A");
        let rh = &j["hydrodynamic_radius"];
        for k in ["statistical_inefficiency", "effective_frames", "standard_error_correlated"] {
            assert!(rh[k].is_null(), "{k} with one frame: {}", rh[k]);
        }
        s.add(&frame(5.0, 0.1));
        let j = s.json("A");
        let rh = &j["hydrodynamic_radius"];
        assert_eq!(rh["standard_error"], 0.0);
        for k in ["statistical_inefficiency", "effective_frames", "standard_error_correlated"] {
            assert!(rh[k].is_null(), "{k} of a constant series: {}", rh[k]);
        }
    }

    /// The summary's correlation fields are n / g and sqrt(s^2 g / n) of the g of the series
    /// in frame order (a series with g well above 1, so that a naive standard error or n in
    /// place of n / g fails), and the table quotes the corrected one.
    #[test]
    fn effective_frames_and_correlated_standard_error_follow_from_g() {
        let x = ar1(0.9, 2_000, 7);
        let mut s = Summary::default();
        for &v in &x {
            s.add(&frame(v, 0.01));
        }
        let j = s.json("A");
        let rh = &j["hydrodynamic_radius"];
        let g = statistical_inefficiency(&x).unwrap();
        assert!(g > 5.0, "g = {g}");
        assert_eq!(rh["statistical_inefficiency"].as_f64(), Some(g));
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let s2 = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs();
        assert!(close(rh["effective_frames"].as_f64().unwrap(), n / g));
        assert!(close(rh["standard_error"].as_f64().unwrap(), (s2 / n).sqrt()));
        let se = rh["standard_error_correlated"].as_f64().unwrap();
        assert!(close(se, (s2 * g / n).sqrt()));
        let row = s.table("A").lines().find(|l| l.contains("hydrodynamic_radius")).unwrap().to_string();
        assert!(row.contains(&format_uncertain(rh["mean"].as_f64().unwrap(), se)), "{row}");
        assert!(row.contains(&format!("{:.1}", n / g)), "{row}");
    }
}
