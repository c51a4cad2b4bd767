//! A body: a union of spheres, its launch sphere and skin thickness, and the BVH that
//! answers distance queries on it.
//!
//! Sphere data is stored as `f32` *relative to the launch centre* in flat `Pod` arrays, the
//! layout the GPU path uploads unchanged. Relative coordinates keep the f32 rounding at
//! 2^-24 of the body's size (6e-6 A on a 100 A protein) whatever the absolute position in the
//! trajectory box; the CPU then does all arithmetic in f64 on those exactly representable
//! values, so "the body" is well defined to the last bit and the same on every path.

use crate::bvh::{Bvh, Near};
use crate::error::{Error, Result};
use crate::grid::Grid;
use crate::vec3::{self, V3};
use bytemuck::{Pod, Zeroable};

/// One sphere, relative to the launch centre.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct Sphere {
    /// Relative to [`Body::center`], in the input's length unit; f32 because this is what
    /// the GPU uploads.
    pub center: [f32; 3],
    /// In the input's length unit; f32 like the centre, so every path sees the same rounded
    /// body.
    pub radius: f32,
}

impl Sphere {
    /// The centre widened to f64 (exact), for the CPU's f64 arithmetic.
    #[inline(always)]
    pub fn center64(&self) -> V3 {
        [self.center[0] as f64, self.center[1] as f64, self.center[2] as f64]
    }
}

/// How the launch sphere is chosen. Any enclosing sphere gives unbiased estimates; a
/// tighter one launches walkers closer to the body, so more of them hit and the variance
/// per walk drops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Launch {
    /// A near-minimal enclosing sphere (the default).
    #[default]
    Tight,
    /// ZENO's Ritter-style bounding sphere, for one-to-one comparison with ZENO.
    Zeno,
}

/// What a user may override when a body is built; the default is a tight launch sphere with
/// ZENO's skin thickness and launch radius rule (enclosing radius + 2 skin thicknesses).
#[derive(Clone, Debug, Default)]
pub struct BodyOptions {
    /// How the launch centre is chosen; [`Launch::Tight`] falls back to ZENO's centre when
    /// its sphere would not be smaller.
    pub launch: Launch,
    /// Overrides the launch radius (ZENO's RLAUNCH); must enclose the body.
    pub launch_radius: Option<f64>,
    /// Overrides the skin thickness (ZENO's ST); default 1e-6 x ZENO's bounding radius.
    pub skin_thickness: Option<f64>,
}

/// One frame's body, ready to walk: built once per frame, then only read (shared by every
/// thread, uploaded as is to the GPU).
#[derive(Clone, Debug)]
pub struct Body {
    /// Spheres in BVH leaf order, relative to `center`.
    pub spheres: Vec<Sphere>,
    /// The tree over `spheres`; its leaves index `spheres` in their stored order, so the
    /// two are only valid together.
    pub bvh: Bvh,
    /// Far-field answers over the launch ball, built as walks visit it; None for a body
    /// too large for cells that pay (there the tree answers).
    pub grid: Option<Grid>,
    /// The launch centre in the input's coordinates.
    pub center: V3,
    /// Radius of the smallest sphere about `center` that encloses the (f32-rounded) body.
    pub enclosing_radius: f64,
    /// R: walks start on, escape from, and return to this sphere.
    pub launch_radius: f64,
    /// A walk hits when its distance to the surface falls below this, in the input's length
    /// unit (ZENO's ST). The default is 1e-6 of ZENO's bounding radius even with a tight
    /// launch sphere.
    pub skin_thickness: f64,
    /// What the user should hear about this frame's body (say, that it spans most of the
    /// box); carried into the frame's result.
    pub warnings: Vec<String>,
}

/// The smallest sphere radius the f32 storage represents faithfully, as a fraction of the
/// body's enclosing radius: 1024 f32 ulps, so rounding moves a surface by < 0.1% of the
/// smallest radius.
const MIN_RELATIVE_RADIUS: f64 = 1024.0 / 16_777_216.0;

/// The largest radius, launch radius and body size (enclosing radius) accepted, in the
/// input's length unit. The BVH squares f32 box distances of up to the launch sphere's
/// diameter (`Bvh::bound2`, `box_distances2`, the same in the GPU shader): past
/// sqrt(f32::MAX) = 1.8e19, that is a launch radius of 9.2e18, a square may overflow to
/// infinity, a box holding the nearest sphere is pruned, and the walk's distance is wrong.
/// Measured with the bound lifted (a 60-sphere clump scaled, 4,000 walks): the capacitance
/// is right up to a body of 3e19, 44% low at 1e20 and 93% low at 1e24 (where a sentinel
/// index then panicked). 1e18 keeps a margin of 9 below the derived bound.
pub const MAX_LENGTH: f64 = 1e18;

/// The smallest radius accepted: f32's smallest normal number (1.2e-38). Radii are stored
/// as f32, so a smaller one is rounded to a subnormal or to zero (1e-300 became a sphere of
/// radius 0 with "capacitance" 2e-306), and GPUs flush subnormals to zero.
pub const MIN_RADIUS: f64 = f32::MIN_POSITIVE as f64;

/// The smallest body (enclosing radius) accepted. The BVH's box tests square f32 distances
/// down to the skin thickness (1e-6 of the body) and the box slack (1e-5 of it): below a body
/// of 1.1e-13 those squares are no longer normal f32s, which a GPU flushes to zero (a zero
/// bound prunes a box that holds the nearest sphere). The CPU keeps subnormals and goes
/// further: measured as for [`MAX_LENGTH`], right down to 1e-20, 8% low at 1e-22 and 98%
/// low from 1e-25. 1e-12 keeps a margin of 10 for the GPU (an atom in metres is 1e-10).
pub const MIN_BODY_RADIUS: f64 = 1e-12;

/// Why radius `r` cannot be a sphere's, as the end of a sentence naming the sphere ("has
/// radius 1e25, above ..."); None for a radius the body can hold. One check for every
/// driver: [`Body::new`] names the sphere, [`crate::job::Job::prepare`] the atom.
pub fn radius_fault(r: f64) -> Option<String> {
    if !(r.is_finite() && r > 0.0) {
        Some(format!("has radius {r}; radii must be positive"))
    } else if r < MIN_RADIUS {
        Some(format!("has radius {r:e}, below {MIN_RADIUS:e}, the smallest the f32 storage holds: give the lengths in a smaller unit"))
    } else if r > MAX_LENGTH {
        Some(format!("has radius {r:e}, above {MAX_LENGTH:e}, the largest the f32 storage holds: give the lengths in a larger unit"))
    } else {
        None
    }
}

impl Body {
    /// Builds a body from sphere centres (input coordinates) and radii in the same unit.
    /// Refuses empty, non-finite or non-positive input, radii too small relative to the
    /// body for the f32 storage, and overrides that would not enclose the body.
    pub fn new(centers: &[V3], radii: &[f64], opts: &BodyOptions) -> Result<Body> {
        validate(centers, radii)?;
        let ritter = ritter_sphere(centers, radii);
        let center = match opts.launch {
            Launch::Zeno => ritter.0,
            Launch::Tight => {
                let tight = tight_sphere(centers, radii, ritter.0);
                if tight.1 < ritter.1 {
                    tight.0
                } else {
                    ritter.0
                }
            }
        };
        let mut spheres: Vec<Sphere> = centers
            .iter()
            .zip(radii)
            .map(|(c, &r)| {
                let rel = vec3::sub(*c, center);
                Sphere { center: [rel[0] as f32, rel[1] as f32, rel[2] as f32], radius: r as f32 }
            })
            .collect();
        let enclosing_radius = spheres.iter().map(|s| vec3::norm(s.center64()) + s.radius as f64).fold(0.0, f64::max);
        // Spheres each within range can still lie too far apart for f32 (their relative
        // centres overflow to infinity past 3.4e38, and the squares long before).
        if enclosing_radius.is_nan() || enclosing_radius > MAX_LENGTH {
            return Err(Error::Body(format!(
                "the body reaches {enclosing_radius:e} from its centre, above {MAX_LENGTH:e}, the largest the f32 storage holds: \
                 give the lengths in a larger unit"
            )));
        }
        if enclosing_radius < MIN_BODY_RADIUS {
            return Err(Error::Body(format!(
                "the body reaches {enclosing_radius:e} from its centre, below {MIN_BODY_RADIUS:e}, the smallest the f32 storage holds: \
                 give the lengths in a smaller unit"
            )));
        }
        let smallest = radii.iter().cloned().fold(f64::INFINITY, f64::min);
        if smallest < MIN_RELATIVE_RADIUS * enclosing_radius {
            return Err(Error::Body(format!(
                "the smallest radius ({smallest}) is below {:.2e} of the body's size ({enclosing_radius:.6}); \
                 its surface cannot be represented to the precision walk-on-spheres needs",
                MIN_RELATIVE_RADIUS
            )));
        }
        let skin_thickness = match opts.skin_thickness {
            None => 1e-6 * ritter.1,
            Some(st) if st.is_finite() && st > 0.0 && st < enclosing_radius => st,
            Some(st) => {
                return Err(Error::Option(format!(
                    "skin thickness {st} must be positive and below the body's radius {enclosing_radius:.6}"
                )))
            }
        };
        let launch_radius = match opts.launch_radius {
            None => enclosing_radius + 2.0 * skin_thickness,
            Some(r) if r > MAX_LENGTH && r.is_finite() => {
                return Err(Error::Option(format!("launch radius {r:e} is above {MAX_LENGTH:e}, the largest the f32 storage holds")))
            }
            Some(r) if r.is_finite() && r > enclosing_radius => r,
            Some(r) => {
                return Err(Error::Option(format!(
                    "launch radius {r} does not enclose the body: it must exceed {enclosing_radius:.6} \
                     (about the launch centre {center:?})"
                )))
            }
        };
        let bvh = Bvh::build(&mut spheres);
        let grid = Grid::over(&spheres, launch_radius);
        Ok(Body { spheres, bvh, grid, center, enclosing_radius, launch_radius, skin_thickness, warnings: vec![] })
    }

    /// Distance from `x` (relative to the launch centre) to the body's surface, exact unless
    /// it is below `cutoff`, in which case some value below `cutoff` is returned.
    #[inline(always)]
    pub fn distance(&self, x: V3, cutoff: f64, near: &mut Near) -> f64 {
        self.bvh.distance_or(&self.spheres, x, cutoff, near, self.grid.as_ref())
    }

    /// Whether `x` (relative to the launch centre) lies strictly inside some sphere.
    #[inline]
    pub fn contains(&self, x: V3) -> bool {
        self.bvh.contains(&self.spheres, x)
    }
}

fn validate(centers: &[V3], radii: &[f64]) -> Result<()> {
    if centers.is_empty() {
        return Err(Error::Body("the body has no spheres".into()));
    }
    if centers.len() != radii.len() {
        return Err(Error::Body(format!("{} centres but {} radii", centers.len(), radii.len())));
    }
    if centers.len() > u32::MAX as usize / 2 {
        return Err(Error::Body(format!("{} spheres is more than the BVH can index", centers.len())));
    }
    for (i, (c, &r)) in centers.iter().zip(radii).enumerate() {
        if !c.iter().all(|v| v.is_finite()) {
            return Err(Error::Body(format!("sphere {i} has a coordinate that is not a finite number: {c:?}")));
        }
        if let Some(fault) = radius_fault(r) {
            return Err(Error::Body(format!("sphere {i} {fault}")));
        }
        if c.iter().any(|v| v.abs() > 1e30) {
            return Err(Error::Body(format!("sphere {i} is out of range: centre {c:?}, radius {r}")));
        }
    }
    Ok(())
}

/// The farthest distance from `q` to the surface of any sphere, and which sphere.
fn farthest(centers: &[V3], radii: &[f64], q: V3) -> (usize, f64) {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, (c, r)) in centers.iter().zip(radii).enumerate() {
        let d = vec3::norm(vec3::sub(*c, q)) + r;
        if d > best.1 {
            best = (i, d);
        }
    }
    best
}

/// The point of sphere `i`'s surface farthest from `q`.
fn farthest_point(c: V3, r: f64, q: V3) -> V3 {
    let d = vec3::sub(c, q);
    let n = vec3::norm(d);
    if n == 0.0 {
        vec3::add(c, [r, 0.0, 0.0])
    } else {
        vec3::add(c, vec3::scale(d, r / n))
    }
}

/// ZENO's bounding sphere (Ritter-style, as in the spec): start at the box centre, take the
/// farthest surface point p1, then the surface point farthest from p1, p2; centre (p1+p2)/2.
pub fn ritter_sphere(centers: &[V3], radii: &[f64]) -> (V3, f64) {
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for (c, r) in centers.iter().zip(radii) {
        for k in 0..3 {
            lo[k] = lo[k].min(c[k] - r);
            hi[k] = hi[k].max(c[k] + r);
        }
    }
    let box_center = vec3::scale(vec3::add(lo, hi), 0.5);
    let (i1, _) = farthest(centers, radii, box_center);
    let p1 = farthest_point(centers[i1], radii[i1], box_center);
    let (i2, _) = farthest(centers, radii, p1);
    let p2 = farthest_point(centers[i2], radii[i2], p1);
    let center = vec3::scale(vec3::add(p1, p2), 0.5);
    (center, farthest(centers, radii, center).1)
}

/// A near-minimal enclosing sphere: Badoiu-Clarkson iterations (step towards the farthest
/// surface point with a shrinking step, keeping the best centre) on the spheres that support
/// the body in 256 spread directions, then the exact enclosing radius over all spheres.
/// The support set keeps the cost O(n) for 100,000-sphere bodies; the final radius is exact,
/// so the result always encloses the body whatever the iteration reached.
fn tight_sphere(centers: &[V3], radii: &[f64], start: V3) -> (V3, f64) {
    const DIRECTIONS: usize = 256;
    const ITERATIONS: usize = 20_000;
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    let mut support: Vec<usize> = (0..DIRECTIONS)
        .map(|k| {
            let z = 1.0 - (2.0 * k as f64 + 1.0) / DIRECTIONS as f64;
            let s = (1.0 - z * z).sqrt();
            let u = [s * (golden * k as f64).cos(), s * (golden * k as f64).sin(), z];
            let mut best = (0, f64::NEG_INFINITY);
            for (i, (c, r)) in centers.iter().zip(radii).enumerate() {
                let h = vec3::dot(*c, u) + r;
                if h > best.1 {
                    best = (i, h);
                }
            }
            best.0
        })
        .collect();
    support.sort_unstable();
    support.dedup();
    let sub_c: Vec<V3> = support.iter().map(|&i| centers[i]).collect();
    let sub_r: Vec<f64> = support.iter().map(|&i| radii[i]).collect();
    let mut c = start;
    let mut best = (start, farthest(&sub_c, &sub_r, start).1);
    for k in 1..=ITERATIONS {
        let (i, d) = farthest(&sub_c, &sub_r, c);
        if d < best.1 {
            best = (c, d);
        }
        let p = farthest_point(sub_c[i], sub_r[i], c);
        c = vec3::add(c, vec3::scale(vec3::sub(p, c), 1.0 / (k as f64 + 1.0)));
    }
    (best.0, farthest(centers, radii, best.0).1)
}

/// A test body: `n` atom-sized spheres (radii 1.2 to 2.2) with centres uniform in the cube
/// of half-width `half`, drawn from `rng` (centres first, then radii): a clump small enough
/// for a grid, with crevices where the nearest sphere changes from step to step.
#[cfg(test)]
pub(crate) fn clump(rng: &mut crate::rng::Stream, n: usize, half: f64) -> Body {
    let centers: Vec<V3> = (0..n).map(|_| [0, 1, 2].map(|_| (rng.uniform() * 2.0 - 1.0) * half)).collect();
    let radii: Vec<f64> = (0..n).map(|_| 1.2 + rng.uniform()).collect();
    Body::new(&centers, &radii, &BodyOptions::default()).expect("a valid clump")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_spheres_enclose_and_tight_is_tighter() {
        // An elongated, lopsided body: a chain of spheres plus a side bump.
        let mut centers: Vec<V3> = (0..40).map(|i| [i as f64 * 1.5, 0.0, 0.0]).collect();
        centers.push([10.0, 6.0, 0.0]);
        let radii = vec![1.0; centers.len()];
        let zeno = Body::new(&centers, &radii, &BodyOptions { launch: Launch::Zeno, ..Default::default() }).unwrap();
        let tight = Body::new(&centers, &radii, &BodyOptions::default()).unwrap();
        for b in [&zeno, &tight] {
            for s in &b.spheres {
                assert!(vec3::norm(s.center64()) + s.radius as f64 <= b.enclosing_radius);
            }
            assert!(b.launch_radius > b.enclosing_radius);
        }
        // The minimal enclosing sphere of the chain has radius 59.5/2 + 1 = 30.25.
        assert!(tight.enclosing_radius <= zeno.enclosing_radius);
        assert!(tight.enclosing_radius < 30.25 * 1.001, "{}", tight.enclosing_radius);
        // Default skin is ZENO's: 1e-6 of the Ritter radius, whichever launch sphere is used.
        assert_eq!(tight.skin_thickness, zeno.skin_thickness);
    }

    /// The same clump at the largest and the smallest size accepted walks to the same
    /// capacitance (in units of its size) as at size 1: the bounds are where f32 still holds.
    #[test]
    fn bodies_at_the_size_bounds_walk_as_at_size_one() {
        let capacitance = |scale: f64| {
            let base = clump(&mut crate::rng::Stream::new(7, 0, 0, 0), 60, 6.0);
            let centers: Vec<V3> = base.spheres.iter().map(|s| s.center64().map(|v| v * scale)).collect();
            let radii: Vec<f64> = base.spheres.iter().map(|s| s.radius as f64 * scale).collect();
            let body = Body::new(&centers, &radii, &BodyOptions::default()).unwrap();
            let ctx = crate::estimate::Context {
                launch_radius: body.launch_radius,
                length_meters: None,
                conditions: crate::units::Conditions::default(),
            };
            let sampling = crate::compute::Sampling { walks: 4000, interior_samples: 100, seed: 3, ..Default::default() };
            let r = crate::compute::compute_frame(&body, 0, &sampling, &ctx, &crate::pool::Pool::new(1).unwrap()).unwrap();
            let c = r.get(crate::estimate::Quantity::Capacitance).unwrap();
            (c.value[0] / scale, c.std[0] / scale)
        };
        let (unit, std) = capacitance(1.0);
        let size = clump(&mut crate::rng::Stream::new(7, 0, 0, 0), 60, 6.0).enclosing_radius;
        for scale in [MAX_LENGTH / size * 0.999, MIN_BODY_RADIUS / size * 1.001] {
            let (c, _) = capacitance(scale);
            assert!((c - unit).abs() < 4.0 * std, "scale {scale:e}: C / scale = {c}, at size 1 {unit} +- {std}");
        }
    }

    #[test]
    fn bad_bodies_are_refused_with_the_reason() {
        let opts = BodyOptions::default();
        let msg = |c: &[V3], r: &[f64]| Body::new(c, r, &opts).unwrap_err().to_string();
        assert_eq!(msg(&[], &[]), "invalid body: the body has no spheres");
        assert_eq!(
            msg(&[[0.0, 0.0, 0.0], [1.0, f64::NAN, 0.0]], &[1.0, 1.0]),
            "invalid body: sphere 1 has a coordinate that is not a finite number: [1.0, NaN, 0.0]"
        );
        assert_eq!(msg(&[[0.0; 3]], &[0.0]), "invalid body: sphere 0 has radius 0; radii must be positive");
        assert_eq!(msg(&[[0.0; 3]], &[-2.0]), "invalid body: sphere 0 has radius -2; radii must be positive");
        assert!(msg(&[[0.0; 3], [1e6, 0.0, 0.0]], &[1.0, 1.0]).contains("smallest radius"));
        assert_eq!(
            msg(&[[0.0; 3]], &[1e25]),
            "invalid body: sphere 0 has radius 1e25, above 1e18, the largest the f32 storage holds: give the lengths in a larger unit"
        );
        for tiny in [1e-45, 1e-300] {
            assert_eq!(
                msg(&[[0.0; 3]], &[tiny]),
                format!(
                    "invalid body: sphere 0 has radius {tiny:e}, below 1.1754943508222875e-38, the smallest the f32 storage holds: \
                     give the lengths in a smaller unit"
                )
            );
        }
        assert_eq!(
            msg(&[[-1e20, 0.0, 0.0], [1e20, 0.0, 0.0]], &[1e17, 1e17]),
            "invalid body: the body reaches 1.0010000200251841e20 from its centre, above 1e18, the largest the f32 storage holds: \
             give the lengths in a larger unit"
        );
        assert_eq!(
            msg(&[[0.0; 3]], &[1e-13]),
            "invalid body: the body reaches 9.9999998245167e-14 from its centre, below 1e-12, the smallest the f32 storage holds: \
             give the lengths in a smaller unit"
        );
        let err = Body::new(&[[0.0; 3]], &[1.0], &BodyOptions { launch_radius: Some(1e19), ..Default::default() }).unwrap_err().to_string();
        assert_eq!(err, "invalid option: launch radius 1e19 is above 1e18, the largest the f32 storage holds");
        let err = Body::new(&[[0.0; 3]], &[1.0], &BodyOptions { launch_radius: Some(0.5), ..Default::default() }).unwrap_err().to_string();
        assert!(err.starts_with("invalid option: launch radius 0.5 does not enclose the body"), "{err}");
        let err =
            Body::new(&[[0.0; 3]], &[1.0], &BodyOptions { skin_thickness: Some(-1.0), ..Default::default() }).unwrap_err().to_string();
        assert!(err.starts_with("invalid option: skin thickness -1 must be positive"), "{err}");
    }
}
