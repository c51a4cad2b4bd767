//! Bounding-volume hierarchy over the spheres: the structure that answers "how far is x
//! from the body" in O(log n), which is where almost all of a walk's time goes.
//!
//! Flat and `Pod` so the GPU path uploads it as a storage buffer: node `i` is either a leaf
//! (`count > 0`, spheres `first..first+count` of the reordered sphere array) or an inner
//! node whose children sit side by side at `first` and `first + 1`. Boxes bound the spheres'
//! extents (centre +- radius), rounded outward to f32, so the distance to a box is a lower
//! bound on the distance to every sphere surface inside it.
//!
//! What makes queries fast (the place to beat ZENO): nearest-child-first descent, pruning on
//! squared box distances, skipping the square root for spheres that cannot win, starting
//! from the sphere that was nearest at the walker's previous position (one step away, so
//! usually still the nearest: the initial bound prunes most of the tree), and stopping as
//! soon as some sphere is within the hit cutoff, since then only "hit" matters.

use crate::body::Sphere;
use crate::vec3::V3;
use bytemuck::{Pod, Zeroable};

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct Node {
    pub min: [f32; 3],
    pub first: u32,
    pub max: [f32; 3],
    pub count: u32,
}

pub const LEAF_SIZE: usize = 4;
/// Traversal stack depth: the median split keeps the depth at log2(n / LEAF_SIZE) + 1.
const STACK: usize = 64;

#[derive(Clone, Debug)]
pub struct Bvh {
    pub nodes: Vec<Node>,
}

impl Bvh {
    /// Builds the tree and reorders `spheres` into leaf order.
    pub fn build(spheres: &mut Vec<Sphere>) -> Bvh {
        let mut order: Vec<u32> = (0..spheres.len() as u32).collect();
        let mut nodes = vec![Node::zeroed()];
        build_node(spheres, &mut order, 0, 0, &mut nodes);
        *spheres = order.iter().map(|&i| spheres[i as usize]).collect();
        Bvh { nodes }
    }

    /// Distance from `x` to the union's surface: min over spheres of |x - c| - r. Exact
    /// unless it is below `cutoff`; then some value below `cutoff`. `hint` is the sphere
    /// to start from and is updated to the nearest sphere found; it changes only the speed,
    /// never the value returned.
    #[inline]
    pub fn distance(&self, spheres: &[Sphere], x: V3, cutoff: f64, hint: &mut u32) -> f64 {
        let mut best = sphere_distance(&spheres[*hint as usize], x);
        if best < cutoff {
            return best;
        }
        let mut stack = [(0u32, 0.0f64); STACK];
        let mut top = 0;
        let mut node = 0usize;
        loop {
            let n = &self.nodes[node];
            if n.count > 0 {
                let first = n.first as usize;
                for (i, s) in spheres[first..first + n.count as usize].iter().enumerate() {
                    let c = s.center64();
                    let d = [x[0] - c[0], x[1] - c[1], x[2] - c[2]];
                    let d2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                    let reach = best + s.radius as f64;
                    if d2 < reach * reach {
                        let dist = d2.sqrt() - s.radius as f64;
                        if dist < best {
                            best = dist;
                            *hint = (first + i) as u32;
                            if best < cutoff {
                                return best;
                            }
                        }
                    }
                }
            } else {
                let left = n.first as usize;
                let dl = box_distance2(&self.nodes[left], x);
                let dr = box_distance2(&self.nodes[left + 1], x);
                let best2 = best * best;
                let (near, dn, far, df) =
                    if dl <= dr { (left, dl, left + 1, dr) } else { (left + 1, dr, left, dl) };
                if dn < best2 {
                    if df < best2 {
                        stack[top] = (far as u32, df);
                        top += 1;
                    }
                    node = near;
                    continue;
                }
            }
            loop {
                if top == 0 {
                    return best;
                }
                top -= 1;
                let (n, d2) = stack[top];
                if d2 < best * best {
                    node = n as usize;
                    break;
                }
            }
        }
    }

    /// Whether `x` lies strictly inside some sphere.
    pub fn contains(&self, spheres: &[Sphere], x: V3) -> bool {
        let mut stack = [0u32; STACK];
        let mut top = 1;
        while top > 0 {
            top -= 1;
            let n = &self.nodes[stack[top] as usize];
            if box_distance2(n, x) > 0.0 {
                continue;
            }
            if n.count > 0 {
                let first = n.first as usize;
                for s in &spheres[first..first + n.count as usize] {
                    let c = s.center64();
                    let d = [x[0] - c[0], x[1] - c[1], x[2] - c[2]];
                    let r = s.radius as f64;
                    if d[0] * d[0] + d[1] * d[1] + d[2] * d[2] < r * r {
                        return true;
                    }
                }
            } else {
                stack[top] = n.first;
                stack[top + 1] = n.first + 1;
                top += 2;
            }
        }
        false
    }
}

#[inline(always)]
pub fn sphere_distance(s: &Sphere, x: V3) -> f64 {
    let c = s.center64();
    let d = [x[0] - c[0], x[1] - c[1], x[2] - c[2]];
    (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt() - s.radius as f64
}

#[inline(always)]
fn box_distance2(n: &Node, x: V3) -> f64 {
    let mut d2 = 0.0;
    for k in 0..3 {
        let lo = n.min[k] as f64 - x[k];
        let hi = x[k] - n.max[k] as f64;
        let d = lo.max(hi).max(0.0);
        d2 += d * d;
    }
    d2
}

fn build_node(spheres: &[Sphere], order: &mut [u32], offset: usize, index: usize, nodes: &mut Vec<Node>) {
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    let mut clo = [f64::INFINITY; 3];
    let mut chi = [f64::NEG_INFINITY; 3];
    for &i in order.iter() {
        let s = &spheres[i as usize];
        let c = s.center64();
        for k in 0..3 {
            lo[k] = lo[k].min(c[k] - s.radius as f64);
            hi[k] = hi[k].max(c[k] + s.radius as f64);
            clo[k] = clo[k].min(c[k]);
            chi[k] = chi[k].max(c[k]);
        }
    }
    let min = lo.map(round_down);
    let max = hi.map(round_up);
    if order.len() <= LEAF_SIZE {
        nodes[index] = Node { min, first: offset as u32, max, count: order.len() as u32 };
        return;
    }
    let axis = (0..3).max_by(|&a, &b| (chi[a] - clo[a]).total_cmp(&(chi[b] - clo[b]))).unwrap_or(0);
    let mid = order.len() / 2;
    let key = |i: &u32| (spheres[*i as usize].center[axis], *i);
    order.select_nth_unstable_by(mid, |a, b| {
        let (ka, ia) = key(a);
        let (kb, ib) = key(b);
        ka.total_cmp(&kb).then(ia.cmp(&ib))
    });
    let left = nodes.len();
    nodes.push(Node::zeroed());
    nodes.push(Node::zeroed());
    nodes[index] = Node { min, first: left as u32, max, count: 0 };
    let (a, b) = order.split_at_mut(mid);
    build_node(spheres, a, offset, left, nodes);
    build_node(spheres, b, offset + mid, left + 1, nodes);
}

/// The largest f32 not above `v`, so f32 boxes never cut into the f64 extents.
fn round_down(v: f64) -> f32 {
    let f = v as f32;
    if f as f64 > v { f.next_down() } else { f }
}

fn round_up(v: f64) -> f32 {
    let f = v as f32;
    if (f as f64) < v { f.next_up() } else { f }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    fn random_spheres(n: usize, seed: u64) -> Vec<Sphere> {
        let mut rng = Stream::new(seed, 0, 0, 0);
        (0..n)
            .map(|_| Sphere {
                center: [0, 1, 2].map(|_| (rng.uniform() * 20.0 - 10.0) as f32),
                radius: (0.3 + rng.uniform() * 1.5) as f32,
            })
            .collect()
    }

    #[test]
    fn distance_and_containment_match_brute_force() {
        for (n, seed) in [(1, 1), (3, 2), (5, 3), (57, 4), (500, 5)] {
            let mut spheres = random_spheres(n, seed);
            let original = spheres.clone();
            let bvh = Bvh::build(&mut spheres);
            let mut sorted_a: Vec<_> = original.iter().map(|s| bytemuck::cast::<_, [u32; 4]>(*s)).collect();
            let mut sorted_b: Vec<_> = spheres.iter().map(|s| bytemuck::cast::<_, [u32; 4]>(*s)).collect();
            sorted_a.sort();
            sorted_b.sort();
            assert_eq!(sorted_a, sorted_b, "the BVH must keep every sphere exactly once");
            let mut rng = Stream::new(seed, 1, 0, 0);
            let mut hint = 0;
            let mut inside = 0;
            for _ in 0..2000 {
                let x = [0, 1, 2].map(|_| rng.uniform() * 30.0 - 15.0);
                let brute = original.iter().map(|s| sphere_distance(s, x)).fold(f64::INFINITY, f64::min);
                assert_eq!(bvh.distance(&spheres, x, f64::NEG_INFINITY, &mut hint), brute);
                let brute_in = original.iter().any(|s| {
                    let c = s.center64();
                    let d = [x[0] - c[0], x[1] - c[1], x[2] - c[2]];
                    d[0] * d[0] + d[1] * d[1] + d[2] * d[2] < (s.radius as f64).powi(2)
                });
                assert_eq!(bvh.contains(&spheres, x), brute_in);
                inside += brute_in as usize;
                // Below the cutoff only "below the cutoff" is promised.
                let cut = bvh.distance(&spheres, x, 0.5, &mut hint);
                assert_eq!(cut < 0.5, brute < 0.5);
                if brute >= 0.5 {
                    assert_eq!(cut, brute);
                }
            }
            if n >= 57 {
                assert!(inside > 0, "the test must exercise points inside the body");
            }
        }
    }

    #[test]
    fn boxes_enclose_their_spheres() {
        let mut spheres = random_spheres(300, 9);
        let bvh = Bvh::build(&mut spheres);
        for n in bvh.nodes.iter().filter(|n| n.count > 0) {
            for s in &spheres[n.first as usize..(n.first + n.count) as usize] {
                for k in 0..3 {
                    assert!((n.min[k] as f64) <= s.center[k] as f64 - s.radius as f64);
                    assert!((n.max[k] as f64) >= s.center[k] as f64 + s.radius as f64);
                }
            }
        }
    }
}
