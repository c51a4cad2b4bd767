//! Bounding-volume hierarchy over the spheres: the structure that answers "how far is x
//! from the body" in O(log n), which is where almost all of a walk's time goes.
//!
//! The tree is 4-wide: each [`Node`] holds the boxes of its four children side by side
//! (structure of arrays, f32), so one visit tests four boxes with the same few vector
//! instructions and a query visits about half as many nodes as a binary tree would. A child
//! is an inner node (`count == 0`, node index `child`), a leaf (`count > 0`, spheres
//! `child..child+count` of the reordered sphere array) or an empty slot (an inverted box,
//! never entered). Flat and `Pod`, so the GPU path uploads it unchanged. Boxes bound the
//! spheres' extents (centre +- radius), rounded outward to f32: the distance to a box is a
//! lower bound on the distance to every sphere surface inside it.
//!
//! What makes queries fast (the place to beat ZENO): four boxes per visit, nearest-child
//! first, pruning on squared box distances, skipping the square root for spheres that cannot
//! win, starting from the sphere that was nearest at the walker's previous position (one
//! step away, so usually still the nearest: the initial bound prunes most of the tree), and
//! stopping as soon as some sphere is within the hit cutoff, since then only "hit" matters.
//!
//! Exactness: box tests run in f32 with a safety margin larger than their rounding error,
//! so they only ever visit more, never less; sphere distances are f64. The value returned is
//! exactly min over spheres of |x - c| - r as computed in f64, the same as brute force.

use crate::body::Sphere;
use crate::vec3::V3;
use bytemuck::{Pod, Zeroable};

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct Node {
    pub min_x: [f32; 4],
    pub min_y: [f32; 4],
    pub min_z: [f32; 4],
    pub max_x: [f32; 4],
    pub max_y: [f32; 4],
    pub max_z: [f32; 4],
    pub child: [u32; 4],
    pub count: [u32; 4],
}

pub const LEAF_SIZE: usize = 4;
/// Traversal stack depth. A visit pops one entry and pushes at most four, so the stack
/// holds at most 3 x (wide depth) + 1 entries; the wide depth is at most the binary depth,
/// which the median split keeps at log2(n / LEAF_SIZE) + 1 <= 31 for any n the body accepts.
const STACK: usize = 96;
/// Relative and absolute (in units of the body's extent) slack on f32 box tests, far above
/// their rounding error (a few f32 ulps).
const BOX_SLACK_REL: f32 = 1e-5;
const BOX_SLACK_ABS: f32 = 1e-5;

#[derive(Clone, Debug)]
pub struct Bvh {
    pub nodes: Vec<Node>,
    /// Absolute slack for box tests: BOX_SLACK_ABS x the extent of the body.
    slack: f32,
}

/// The binary tree built first and then collapsed into 4-wide nodes.
struct Binary {
    min: [f32; 3],
    max: [f32; 3],
    /// Leaf: spheres first..first+count. Inner: children `first` and `first + 1`.
    first: u32,
    count: u32,
}

impl Binary {
    fn area(&self) -> f32 {
        let d = [0, 1, 2].map(|k| self.max[k] - self.min[k]);
        d[0] * d[1] + d[1] * d[2] + d[0] * d[2]
    }
}

impl Bvh {
    /// Builds the tree and reorders `spheres` into leaf order.
    pub fn build(spheres: &mut Vec<Sphere>) -> Bvh {
        let mut order: Vec<u32> = (0..spheres.len() as u32).collect();
        let mut binary = vec![Binary { min: [0.0; 3], max: [0.0; 3], first: 0, count: 0 }];
        build_binary(spheres, &mut order, 0, 0, &mut binary);
        *spheres = order.iter().map(|&i| spheres[i as usize]).collect();
        let extent = (0..3).map(|k| binary[0].max[k] - binary[0].min[k]).fold(0.0f32, f32::max);
        let mut nodes = vec![];
        if binary[0].count > 0 {
            // A single leaf: one wide node whose only child is that leaf.
            let mut n = empty_node();
            set_child(&mut n, 0, &binary[0], binary[0].first, binary[0].count);
            nodes.push(n);
        } else {
            collapse(&binary, 0, &mut nodes);
        }
        Bvh { nodes, slack: BOX_SLACK_ABS * extent }
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
        let xf = [x[0] as f32, x[1] as f32, x[2] as f32];
        // Entries are (node or first sphere, sphere count, squared box distance); the root
        // is inner node 0.
        let mut stack = [(0u32, 0u32, 0.0f32); STACK];
        stack[0] = (0, 0, 0.0);
        let mut top = 1;
        while top > 0 {
            top -= 1;
            let (child, count, d2) = stack[top];
            if d2 >= self.bound2(best) {
                continue;
            }
            if count > 0 {
                let first = child as usize;
                for (i, s) in spheres[first..first + count as usize].iter().enumerate() {
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
                continue;
            }
            let n = &self.nodes[child as usize];
            let d = box_distances2(n, xf);
            let limit = self.bound2(best);
            // Push the children worth visiting farthest first, so the nearest pops first.
            let mut order = [0usize, 1, 2, 3];
            order.sort_unstable_by(|&a, &b| d[b].total_cmp(&d[a]));
            for &k in &order {
                if d[k] < limit {
                    stack[top] = (n.child[k], n.count[k], d[k]);
                    top += 1;
                }
            }
        }
        best
    }

    /// The absolute slack of box tests (the GPU uses the same).
    pub fn slack(&self) -> f32 {
        self.slack
    }

    /// The squared box distance below which a box may hold a sphere nearer than `best`,
    /// widened by the f32 slack.
    #[inline(always)]
    fn bound2(&self, best: f64) -> f32 {
        let b = best as f32 * (1.0 + BOX_SLACK_REL) + self.slack;
        b * b
    }

    /// Whether `x` lies strictly inside some sphere.
    pub fn contains(&self, spheres: &[Sphere], x: V3) -> bool {
        let xf = [x[0] as f32, x[1] as f32, x[2] as f32];
        let slack2 = self.slack * self.slack;
        let mut stack = [(0u32, 0u32); STACK];
        stack[0] = (0, 0);
        let mut top = 1;
        while top > 0 {
            top -= 1;
            let (child, count) = stack[top];
            if count > 0 {
                for s in &spheres[child as usize..(child + count) as usize] {
                    let c = s.center64();
                    let d = [x[0] - c[0], x[1] - c[1], x[2] - c[2]];
                    let r = s.radius as f64;
                    if d[0] * d[0] + d[1] * d[1] + d[2] * d[2] < r * r {
                        return true;
                    }
                }
                continue;
            }
            let n = &self.nodes[child as usize];
            let d = box_distances2(n, xf);
            for k in 0..4 {
                if d[k] <= slack2 {
                    stack[top] = (n.child[k], n.count[k]);
                    top += 1;
                }
            }
        }
        false
    }
}

fn empty_node() -> Node {
    Node {
        min_x: [f32::INFINITY; 4],
        min_y: [f32::INFINITY; 4],
        min_z: [f32::INFINITY; 4],
        max_x: [f32::NEG_INFINITY; 4],
        max_y: [f32::NEG_INFINITY; 4],
        max_z: [f32::NEG_INFINITY; 4],
        child: [u32::MAX; 4],
        count: [0; 4],
    }
}

fn set_child(n: &mut Node, k: usize, b: &Binary, child: u32, count: u32) {
    n.min_x[k] = b.min[0];
    n.min_y[k] = b.min[1];
    n.min_z[k] = b.min[2];
    n.max_x[k] = b.max[0];
    n.max_y[k] = b.max[1];
    n.max_z[k] = b.max[2];
    n.child[k] = child;
    n.count[k] = count;
}

/// Turns binary inner node `index` into a wide node: open up the largest inner child until
/// there are four children (or only leaves left), then recurse. Returns the wide index.
fn collapse(binary: &[Binary], index: usize, nodes: &mut Vec<Node>) -> u32 {
    let mut kids = vec![binary[index].first as usize, binary[index].first as usize + 1];
    while kids.len() < 4 {
        let open = kids
            .iter()
            .enumerate()
            .filter(|(_, &c)| binary[c].count == 0)
            .max_by(|a, b| binary[*a.1].area().total_cmp(&binary[*b.1].area()))
            .map(|(i, _)| i);
        let Some(i) = open else { break };
        let c = kids.remove(i);
        kids.insert(i, binary[c].first as usize + 1);
        kids.insert(i, binary[c].first as usize);
    }
    let me = nodes.len();
    nodes.push(empty_node());
    for (k, &c) in kids.iter().enumerate() {
        let b = &binary[c];
        let (child, count) = if b.count > 0 { (b.first, b.count) } else { (collapse(binary, c, nodes), 0) };
        set_child(&mut nodes[me], k, b, child, count);
    }
    me as u32
}

/// Squared distances from `x` to the four child boxes, in f32, written so the compiler
/// vectorizes them. Empty slots (inverted boxes) come out infinite.
#[inline(always)]
fn box_distances2(n: &Node, x: [f32; 3]) -> [f32; 4] {
    let mut d2 = [0.0f32; 4];
    for k in 0..4 {
        let dx = (n.min_x[k] - x[0]).max(x[0] - n.max_x[k]).max(0.0);
        let dy = (n.min_y[k] - x[1]).max(x[1] - n.max_y[k]).max(0.0);
        let dz = (n.min_z[k] - x[2]).max(x[2] - n.max_z[k]).max(0.0);
        d2[k] = dx * dx + dy * dy + dz * dz;
    }
    d2
}

#[inline(always)]
pub fn sphere_distance(s: &Sphere, x: V3) -> f64 {
    let c = s.center64();
    let d = [x[0] - c[0], x[1] - c[1], x[2] - c[2]];
    (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt() - s.radius as f64
}

fn build_binary(spheres: &[Sphere], order: &mut [u32], offset: usize, index: usize, nodes: &mut Vec<Binary>) {
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
        nodes[index] = Binary { min, max, first: offset as u32, count: order.len() as u32 };
        return;
    }
    let axis = (0..3).max_by(|&a, &b| (chi[a] - clo[a]).total_cmp(&(chi[b] - clo[b]))).unwrap_or(0);
    let mid = order.len() / 2;
    order.select_nth_unstable_by(mid, |a, b| {
        let ka = spheres[*a as usize].center[axis];
        let kb = spheres[*b as usize].center[axis];
        ka.total_cmp(&kb).then(a.cmp(b))
    });
    let left = nodes.len();
    nodes.push(Binary { min, max, first: 0, count: 0 });
    nodes.push(Binary { min, max, first: 0, count: 0 });
    nodes[index] = Binary { min, max, first: left as u32, count: 0 };
    let (a, b) = order.split_at_mut(mid);
    build_binary(spheres, a, offset, left, nodes);
    build_binary(spheres, b, offset + mid, left + 1, nodes);
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
        random_spheres_in(n, seed, 10.0)
    }

    /// `n` spheres with centres uniform in the cube of half-width `half`.
    fn random_spheres_in(n: usize, seed: u64, half: f64) -> Vec<Sphere> {
        let mut rng = Stream::new(seed, 0, 0, 0);
        (0..n)
            .map(|_| Sphere {
                center: [0, 1, 2].map(|_| ((rng.uniform() * 2.0 - 1.0) * half) as f32),
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
    fn a_deep_tree_stays_exact() {
        // 20,000 spheres (a wide tree 7 levels deep) at protein density: exercises the stack
        // bound and the f32 box slack far from the root.
        let mut spheres = random_spheres_in(20_000, 21, 60.0);
        let original = spheres.clone();
        let bvh = Bvh::build(&mut spheres);
        let mut rng = Stream::new(22, 0, 0, 0);
        let mut hint = 0;
        for _ in 0..300 {
            let x = [0, 1, 2].map(|_| rng.uniform() * 150.0 - 75.0);
            let brute = original.iter().map(|s| sphere_distance(s, x)).fold(f64::INFINITY, f64::min);
            assert_eq!(bvh.distance(&spheres, x, f64::NEG_INFINITY, &mut hint), brute);
            let brute_in = original.iter().any(|s| sphere_distance(s, x) < 0.0);
            assert_eq!(bvh.contains(&spheres, x), brute_in);
        }
    }

    #[test]
    fn boxes_enclose_their_spheres() {
        let mut spheres = random_spheres(300, 9);
        let bvh = Bvh::build(&mut spheres);
        let mut seen = 0;
        for n in &bvh.nodes {
            for k in (0..4).filter(|&k| n.count[k] > 0) {
                for s in &spheres[n.child[k] as usize..(n.child[k] + n.count[k]) as usize] {
                    seen += 1;
                    let c = s.center64();
                    let r = s.radius as f64;
                    assert!((n.min_x[k] as f64) <= c[0] - r && (n.max_x[k] as f64) >= c[0] + r);
                    assert!((n.min_y[k] as f64) <= c[1] - r && (n.max_y[k] as f64) >= c[1] + r);
                    assert!((n.min_z[k] as f64) <= c[2] - r && (n.max_z[k] as f64) >= c[2] + r);
                }
            }
        }
        assert_eq!(seen, 300, "every sphere sits in exactly one leaf");
    }
}
