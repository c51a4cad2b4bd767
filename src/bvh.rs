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
//! What makes queries fast (the place to beat ZENO):
//! - A walk keeps the spheres near it between queries ([`Near`]). Close to the surface,
//!   where a walk spends most of its steps, the nearest sphere is then found among a
//!   handful of listed spheres, with a proof that no unlisted one is nearer, and the tree
//!   is not entered at all. On cluster2101.bod two thirds of the queries end there. Far
//!   from the surface, where nothing is listed, [`crate::grid`] answers most of the rest,
//!   and where a walk comes near, its cell's candidates start the list without the tree.
//! - A full query visits four boxes per node, nearest child first (a branch-free sorting
//!   network), prunes on squared box distances, skips the square root for spheres that
//!   cannot be listed, and stops as soon as some sphere is within the hit cutoff, since
//!   then only "hit" matters. Leaves hold 4 to 8 spheres: a full query tests about 60
//!   spheres with leaves of 8 to 16 (most rejected), and halving the leaves cuts that by
//!   more than the extra node visits cost (callgrind: -4.7% a walk on cluster2101, -12.7%
//!   on a 100,000-sphere globule); leaves of 2 to 4 cost more again.
//!
//! Exactness: box tests run in f32 with a safety margin larger than their rounding error,
//! so they only ever visit more, never less; sphere distances are f64, and the listed test
//! keeps a margin above their rounding. The value returned is exactly min over spheres of
//! |x - c| - r as computed in f64, the same as brute force, so none of this changes a walk.

use crate::body::Sphere;
use crate::grid::{Cell, Grid};
use crate::vec3::{self, V3};
use bytemuck::{Pod, Zeroable};

/// One 4-wide node: the boxes of its four child slots, structure of arrays, in the layout
/// shaders/walk.wgsl reads (128 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct Node {
    /// Per slot: the box's lower x, rounded down to f32 (relative to the launch centre);
    /// +inf in an empty slot.
    pub min_x: [f32; 4],
    /// Per slot: lower y, rounded down; +inf in an empty slot.
    pub min_y: [f32; 4],
    /// Per slot: lower z, rounded down; +inf in an empty slot.
    pub min_z: [f32; 4],
    /// Per slot: upper x, rounded up; -inf in an empty slot.
    pub max_x: [f32; 4],
    /// Per slot: upper y, rounded up; -inf in an empty slot.
    pub max_y: [f32; 4],
    /// Per slot: upper z, rounded up; -inf in an empty slot.
    pub max_z: [f32; 4],
    /// Per slot: the node index of an inner child (`count == 0`), the first sphere of a
    /// leaf, or `u32::MAX` in an empty slot.
    pub child: [u32; 4],
    /// Per slot: the spheres in a leaf (1 to [`LEAF_SIZE`]); 0 for an inner child or an
    /// empty slot.
    pub count: [u32; 4],
}

/// The most spheres in a leaf (the median split leaves between LEAF_SIZE / 2 and LEAF_SIZE).
pub const LEAF_SIZE: usize = 8;
/// Traversal stack depth. A visit pops one entry and pushes at most four, so the stack
/// holds at most 3 x (wide depth) + 1 entries; the wide depth is at most the binary depth,
/// which the median split keeps at log2(n / LEAF_SIZE) + 1 <= 31 for any n the body accepts.
const STACK: usize = 96;
/// Relative and absolute (in units of the body's extent) slack on f32 box tests, far above
/// their rounding error (a few f32 ulps).
const BOX_SLACK_REL: f32 = 1e-5;
const BOX_SLACK_ABS: f32 = 1e-5;

/// The 4-wide tree over one body's spheres, valid only with the sphere order [`Bvh::build`]
/// left behind.
#[derive(Clone, Debug)]
pub struct Bvh {
    /// Node 0 is the root; children refer to nodes by index, so the array uploads to the
    /// GPU unchanged.
    pub nodes: Vec<Node>,
    /// Absolute slack for box tests: BOX_SLACK_ABS x the extent of the body.
    slack: f32,
    /// What [`Near`]'s test subtracts to cover the f64 rounding of the distances it
    /// compares (a few 1e-16 of the extent): NEAR_MARGIN x the extent.
    margin: f64,
    /// Distances below which a full query lists neighbours: NEAR_SCALE x the mean radius.
    near_below: f64,
}

/// What a walk carries between distance queries so that most of them skip the tree.
///
/// After a full query at `anchor` (or a grid cell's answer there, [`crate::grid::Cell`]),
/// the spheres nearer than `reach` are listed and every other sphere is at least `reach`
/// away. A walker that has since moved by `moved` is at
/// least `reach - moved` from every unlisted sphere; when the nearest listed sphere is
/// nearer than that, it is the nearest of all, and the query costs a few sphere distances
/// instead of a traversal. Near the surface, where a walk spends most of its steps
/// shrinking towards the skin, this answers most queries.
#[derive(Clone, Debug)]
pub struct Near {
    listed: Listed,
    /// The traversal stack, kept here so that a query does not clear a new one.
    stack: [(u32, u32, f32); STACK],
}

impl Default for Near {
    fn default() -> Self {
        Near {
            listed: Listed {
                anchor: [0.0; 3],
                reach: 0.0,
                len: 0,
                spheres: [0; NEAR_CAP],
                dist: [0.0; NEAR_CAP],
                #[cfg(test)]
                answered: 0,
                #[cfg(test)]
                from_cells: 0,
            },
            stack: [(0, 0, 0.0); STACK],
        }
    }
}

#[derive(Clone, Debug)]
struct Listed {
    anchor: V3,
    reach: f64,
    len: u32,
    spheres: [u32; NEAR_CAP],
    /// Each listed sphere's distance from the anchor.
    dist: [f64; NEAR_CAP],
    /// Queries answered from the list (for the test that the shortcut is taken).
    #[cfg(test)]
    answered: u64,
    /// Lists made from a grid cell's candidates (for the test that they are true).
    #[cfg(test)]
    from_cells: u64,
}

/// The most spheres a walk keeps listed; past it the farthest are dropped and the reach
/// shrinks to their distance.
const NEAR_CAP: usize = 16;
/// A full query that finds distance d lists the spheres within NEAR_FACTOR x d ...
const NEAR_FACTOR: f64 = 4.0;
/// ... when d is below NEAR_SCALE x the mean sphere radius. Farther out, steps are long
/// and the list rarely survives one, so the query prunes to d alone (cheapest).
pub(crate) const NEAR_SCALE: f64 = 0.5;
/// The rounding margin of the listed test relative to the body's extent: far above the
/// f64 rounding of the distances it compares, far below any skin thickness in use.
const NEAR_MARGIN: f64 = 1e-10;

impl Listed {
    /// Lists sphere `i` at distance `dist` (< `reach`) and returns the reach that remains
    /// true: when the list is full, the farther of its farthest and the newcomer is
    /// dropped, and nothing unlisted may be nearer than the one dropped.
    #[inline]
    fn insert(&mut self, i: u32, dist: f64, reach: f64) -> f64 {
        let len = self.len as usize;
        if len < NEAR_CAP {
            self.spheres[len] = i;
            self.dist[len] = dist;
            self.len += 1;
            return reach;
        }
        let (k, far) = self.dist.iter().enumerate().fold((0, f64::NEG_INFINITY), |a, (k, &d)| if d > a.1 { (k, d) } else { a });
        if dist >= far {
            return reach.min(dist);
        }
        self.spheres[k] = i;
        self.dist[k] = dist;
        reach.min(far)
    }
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
        let mean_radius = spheres.iter().map(|s| s.radius as f64).sum::<f64>() / spheres.len().max(1) as f64;
        Bvh { nodes, slack: BOX_SLACK_ABS * extent, margin: NEAR_MARGIN * extent as f64, near_below: NEAR_SCALE * mean_radius }
    }

    /// Distance from `x` to the union's surface: min over spheres of |x - c| - r. Exact
    /// unless it is below `cutoff`; then some value below `cutoff`. `near` is what the
    /// walk learnt at earlier queries; it changes only the speed, never the value returned.
    #[inline]
    pub fn distance(&self, spheres: &[Sphere], x: V3, cutoff: f64, near: &mut Near) -> f64 {
        match self.listed_distance(spheres, x, cutoff, near) {
            Ok(d) => d,
            Err(best) => self.gather(spheres, x, cutoff, best, near),
        }
    }

    /// [`Bvh::distance`] with the far-field grid's answer (exact or None) tried between the
    /// walk's list and the tree; an answer nearer than the grid's `near_below` lists its
    /// cell's candidates for the next queries. The grid is matched here rather than passed
    /// as a closure:
    /// a closure called from both [`crate::walk::Kernel`]s stayed out of line, in the
    /// baseline compilation only.
    #[inline(always)]
    pub fn distance_or(&self, spheres: &[Sphere], x: V3, cutoff: f64, near: &mut Near, grid: Option<&Grid>) -> f64 {
        let best = match self.listed_distance(spheres, x, cutoff, near) {
            Ok(d) => return d,
            Err(best) => best,
        };
        let (far, near_below) = match grid {
            Some(g) => (g.distance(self, spheres, x), g.near_below()),
            None => (None, 0.0),
        };
        match far {
            // Where the surface is far, nothing is listed (an empty list is always true) ...
            Some((d, _)) if d >= near_below => {
                near.listed.len = 0;
                d
            }
            // ... and nearer, the cell's candidates are the neighbours to list.
            Some((d, cell)) => self.list_candidates(x, cutoff, d, cell, near),
            None => self.gather(spheres, x, cutoff, best, near),
        }
    }

    /// What [`Bvh::gather`] does knowing the distance `d`, from a grid cell instead of the
    /// tree: the cell's candidates nearer than the reach are listed, which is true for a
    /// reach up to the cell's bound on every other sphere.
    #[inline(always)]
    fn list_candidates(&self, x: V3, cutoff: f64, d: f64, cell: &Cell, near: &mut Near) -> f64 {
        let listed = &mut near.listed;
        listed.anchor = x;
        listed.len = 0;
        if d < cutoff {
            return d;
        }
        #[cfg(test)]
        {
            listed.from_cells += 1;
        }
        let mut reach = self.widen(d).min(cell.others_beyond());
        for (i, dist) in cell.candidates(x) {
            if dist < reach {
                reach = listed.insert(i, dist, reach);
            }
        }
        listed.reach = reach;
        d
    }

    /// The distance when the walk's list proves it (Ok), else an upper bound on it (Err).
    #[inline(always)]
    fn listed_distance(&self, spheres: &[Sphere], x: V3, cutoff: f64, near: &mut Near) -> Result<f64, f64> {
        let listed = &mut near.listed;
        let mut best = f64::INFINITY;
        if listed.len > 0 {
            // Re-anchor at x: an unlisted sphere is at least `reach - moved` from x, so the
            // listed spheres nearer than that stay listed and the others join the unlisted.
            let reach = listed.reach - vec3::norm(vec3::sub(x, listed.anchor)) - self.margin;
            let mut kept = 0;
            for j in 0..listed.len as usize {
                let i = listed.spheres[j];
                let d = sphere_distance(&spheres[i as usize], x);
                best = best.min(d);
                if d < reach {
                    listed.spheres[kept] = i;
                    listed.dist[kept] = d;
                    kept += 1;
                }
            }
            listed.anchor = x;
            listed.reach = reach;
            listed.len = kept as u32;
            if best < cutoff || best <= reach {
                #[cfg(test)]
                {
                    listed.answered += 1;
                }
                return Ok(best);
            }
        }
        Err(best)
    }

    /// Appends to `out` every sphere whose surface is nearer to `x` than `reach`.
    pub fn within(&self, spheres: &[Sphere], x: V3, reach: f64, out: &mut Vec<u32>) {
        let xf = [x[0] as f32, x[1] as f32, x[2] as f32];
        let limit = self.bound2(reach);
        let mut stack = vec![(0u32, 0u32)];
        while let Some((child, count)) = stack.pop() {
            if count > 0 {
                for i in child..child + count {
                    if sphere_distance(&spheres[i as usize], x) < reach {
                        out.push(i);
                    }
                }
                continue;
            }
            let n = &self.nodes[child as usize];
            let d = box_distances2(n, xf);
            for k in 0..4 {
                if d[k] < limit {
                    stack.push((n.child[k], n.count[k]));
                }
            }
        }
    }

    /// The full query behind [`Bvh::distance`]: traverses the tree from the root, nearest
    /// boxes first, and lists the spheres within the reach. `best` is an upper bound on
    /// the distance that some sphere attains (infinite when none is known). Inlined so that
    /// each [`crate::walk::Kernel`] compiles its own.
    #[inline(always)]
    fn gather(&self, spheres: &[Sphere], x: V3, cutoff: f64, mut best: f64, near: &mut Near) -> f64 {
        let Near { listed, stack } = near;
        listed.anchor = x;
        listed.len = 0;
        let mut reach = self.widen(best);
        let xf = [x[0] as f32, x[1] as f32, x[2] as f32];
        // Entries are (node or first sphere, sphere count, squared box distance); the root
        // is inner node 0.
        stack[0] = (0, 0, 0.0);
        let mut top = 1;
        while top > 0 {
            top -= 1;
            let (child, count, d2) = stack[top];
            if d2 >= self.bound2(reach) {
                continue;
            }
            if count > 0 {
                let first = child as usize;
                for (i, s) in spheres[first..first + count as usize].iter().enumerate() {
                    let c = s.center64();
                    let d = [x[0] - c[0], x[1] - c[1], x[2] - c[2]];
                    let d2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                    let far = reach + s.radius as f64;
                    if d2 >= far * far {
                        continue;
                    }
                    let dist = d2.sqrt() - s.radius as f64;
                    if dist >= reach {
                        continue;
                    }
                    if dist < best {
                        best = dist;
                        if best < cutoff {
                            // The walk ends here; what is listed is incomplete.
                            listed.len = 0;
                            return best;
                        }
                        reach = reach.min(self.widen(best));
                    }
                    reach = listed.insert((first + i) as u32, dist, reach);
                }
                continue;
            }
            let n = &self.nodes[child as usize];
            let d = box_distances2(n, xf);
            let limit = self.bound2(reach);
            // Push the children worth visiting farthest first, so the nearest pops first.
            for k in farthest_first(d) {
                if d[k] < limit {
                    stack[top] = (n.child[k], n.count[k], d[k]);
                    top += 1;
                }
            }
        }
        listed.reach = reach;
        best
    }

    /// The reach a full query that found distance `best` lists spheres within.
    #[inline(always)]
    fn widen(&self, best: f64) -> f64 {
        if best > 0.0 && best < self.near_below {
            NEAR_FACTOR * best
        } else {
            best
        }
    }

    /// The absolute slack of box tests (the GPU uses the same).
    pub fn slack(&self) -> f32 {
        self.slack
    }

    /// The squared box distance below which a box may hold a sphere nearer than `reach`,
    /// widened by the f32 slack.
    #[inline(always)]
    fn bound2(&self, reach: f64) -> f32 {
        let b = reach as f32 * (1.0 + BOX_SLACK_REL) + self.slack;
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

/// The four child slots ordered by decreasing box distance: a sorting network of five
/// compare-exchanges on (distance bits, slot) keys, branch-free, since a library sort
/// call costs more than the box tests. Squared distances are non-negative, so their bit
/// patterns order as the values do.
#[inline(always)]
fn farthest_first(d: [f32; 4]) -> [usize; 4] {
    let mut key = [0, 1, 2, 3].map(|k| (d[k].to_bits() as u64) << 2 | k as u64);
    for (a, b) in [(0, 1), (2, 3), (0, 2), (1, 3), (1, 2)] {
        let (x, y) = (key[a], key[b]);
        key[a] = x.max(y);
        key[b] = x.min(y);
    }
    key.map(|k| (k & 3) as usize)
}

/// Distance from `x` (relative to the launch centre) to the surface of `s`, in f64;
/// negative inside. The definition queries must match to the bit: the tests compare them
/// with its brute-force minimum.
#[inline(always)]
pub fn sphere_distance(s: &Sphere, x: V3) -> f64 {
    distance_to(s.center, s.radius, x)
}

/// [`sphere_distance`] from a sphere's parts, for the grid's copies laid out side by side:
/// one definition, so every query computes the same bits.
#[inline(always)]
pub fn distance_to(center: [f32; 3], radius: f32, x: V3) -> f64 {
    let d = [x[0] - center[0] as f64, x[1] - center[1] as f64, x[2] - center[2] as f64];
    (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt() - radius as f64
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
    if f as f64 > v {
        f.next_down()
    } else {
        f
    }
}

fn round_up(v: f64) -> f32 {
    let f = v as f32;
    if (f as f64) < v {
        f.next_up()
    } else {
        f
    }
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
            let mut near = Near::default();
            let mut inside = 0;
            for _ in 0..2000 {
                let x = [0, 1, 2].map(|_| rng.uniform() * 30.0 - 15.0);
                let brute = original.iter().map(|s| sphere_distance(s, x)).fold(f64::INFINITY, f64::min);
                assert_eq!(bvh.distance(&spheres, x, f64::NEG_INFINITY, &mut near), brute);
                let brute_in = original.iter().any(|s| {
                    let c = s.center64();
                    let d = [x[0] - c[0], x[1] - c[1], x[2] - c[2]];
                    d[0] * d[0] + d[1] * d[1] + d[2] * d[2] < (s.radius as f64).powi(2)
                });
                assert_eq!(bvh.contains(&spheres, x), brute_in);
                inside += brute_in as usize;
                // Below the cutoff only "below the cutoff" is promised.
                let cut = bvh.distance(&spheres, x, 0.5, &mut near);
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
    fn walks_get_brute_force_distances_and_most_skip_the_tree() {
        // The queries the listed shortcut is for: walk-on-spheres paths, each point one
        // nearest-distance step from the last, ending in the skin or far away. Dense
        // spheres (centres 1 apart on average, radii 0.3-1.8) make crevices where the
        // nearest sphere changes from step to step.
        let mut spheres = random_spheres_in(600, 31, 4.5);
        let original = spheres.clone();
        let bvh = Bvh::build(&mut spheres);
        let brute = |x: V3| original.iter().map(|s| sphere_distance(s, x)).fold(f64::INFINITY, f64::min);
        let mut rng = Stream::new(32, 0, 0, 0);
        let cutoff = 1e-7;
        let (mut queries, mut answered, mut hits) = (0u64, 0u64, 0);
        for _ in 0..300 {
            let mut near = Near::default();
            let mut x = vec3::scale(rng.unit_vector(), 12.0);
            loop {
                let d = bvh.distance(&spheres, x, cutoff, &mut near);
                let exact = brute(x);
                queries += 1;
                if exact < cutoff {
                    assert!(d < cutoff, "a hit at {x:?} was missed: {d} vs {exact}");
                    hits += 1;
                    break;
                }
                assert_eq!(d, exact, "at {x:?}");
                x = vec3::add(x, vec3::scale(rng.unit_vector(), d));
                if vec3::norm(x) > 14.0 {
                    break;
                }
            }
            answered += near.listed.answered;
        }
        assert!(hits > 50, "{hits} of 300 walks hit");
        assert!(answered * 2 > queries, "only {answered} of {queries} queries were answered from the list");
    }

    #[test]
    fn lists_made_from_grid_cells_are_true_and_walks_get_brute_force_distances() {
        // A clump of atom-sized spheres walked often enough that far cells are built and
        // walks enter the near zone from them, so lists are made from cells' candidates.
        let mut rng = Stream::new(51, 0, 0, 0);
        let body = crate::body::clump(&mut rng, 400, 8.0);
        assert!(body.grid.is_some(), "a small body gets a grid");
        let brute = |x: V3| body.spheres.iter().map(|s| sphere_distance(s, x)).fold(f64::INFINITY, f64::min);
        let cutoff = body.skin_thickness;
        let (mut from_cells, mut hits) = (0, 0);
        for _ in 0..6000 {
            let mut near = Near::default();
            let mut x = vec3::scale(rng.unit_vector(), body.launch_radius);
            loop {
                let d = body.distance(x, cutoff, &mut near);
                let exact = brute(x);
                if exact < cutoff {
                    assert!(d < cutoff, "a hit at {x:?} was missed: {d} vs {exact}");
                    hits += 1;
                    break;
                }
                assert_eq!(d, exact, "at {x:?}");
                // True: no unlisted sphere is nearer to the anchor than the reach (an empty
                // list is never read, so any reach is true of it).
                let l = &near.listed;
                let listed = &l.spheres[..l.len as usize];
                let unlisted = body.spheres.iter().enumerate().filter(|(i, _)| l.len > 0 && !listed.contains(&(*i as u32)));
                for (i, s) in unlisted {
                    assert!(sphere_distance(s, l.anchor) >= l.reach, "sphere {i} is nearer than the reach {} at {x:?}", l.reach);
                }
                x = vec3::add(x, vec3::scale(rng.unit_vector(), d));
                if vec3::norm(x) > body.launch_radius {
                    break;
                }
            }
            from_cells += near.listed.from_cells;
        }
        assert!(hits > 1200, "{hits} of 6000 walks hit");
        assert!(from_cells > 1000, "only {from_cells} lists were made from cells ({hits} hits)");
    }

    #[test]
    fn a_deep_tree_stays_exact() {
        // 20,000 spheres (a wide tree 7 levels deep) at protein density: exercises the stack
        // bound and the f32 box slack far from the root.
        let mut spheres = random_spheres_in(20_000, 21, 60.0);
        let original = spheres.clone();
        let bvh = Bvh::build(&mut spheres);
        let mut rng = Stream::new(22, 0, 0, 0);
        let mut near = Near::default();
        for _ in 0..300 {
            let x = [0, 1, 2].map(|_| rng.uniform() * 150.0 - 75.0);
            let brute = original.iter().map(|s| sphere_distance(s, x)).fold(f64::INFINITY, f64::min);
            assert_eq!(bvh.distance(&spheres, x, f64::NEG_INFINITY, &mut near), brute);
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
