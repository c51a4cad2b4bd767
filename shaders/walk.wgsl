// Walk-on-spheres on the GPU: exterior walks (ZENO's escape / return step and charges) and
// interior samples over the same 4-wide BVH and sphere arrays the CPU builds (src/bvh.rs,
// src/body.rs), with the CPU's Philox4x32-10 streams keyed by (seed, frame key, index).
//
// One workgroup is one block of 32 walks (src/walk.rs BLOCK): its invocations each run one
// walk, then the block's tally is summed in invocation order, component by component, and
// written to the workgroup's slot, followed by each walk's end point (x, y, z, and 1 for a hit,
// 0 for an escape) for the hit-point estimator. The CPU adds the slots in block order in f64
// and runs the CPU's estimators on them. Several frames share a dispatch: `frames` says where each
// frame's blocks start among the dispatch's workgroups, and where its spheres and nodes are.
//
// Arithmetic is f32 with positions relative to the launch centre; src/gpu/mod.rs refuses a
// skin thickness the f32 resolution cannot honour.

struct Frame {
    seed: vec2<u32>,
    key: vec2<u32>,
    node_offset: u32,
    sphere_offset: u32,
    ext_first_block: u32,
    ext_block_offset: u32,
    ext_end: u32,
    int_first_block: u32,
    int_block_offset: u32,
    int_end: u32,
    launch_radius: f32,
    skin_thickness: f32,
    slack: f32,
    sphere_count: u32,
}

struct Node {
    min_x: vec4<f32>,
    min_y: vec4<f32>,
    min_z: vec4<f32>,
    max_x: vec4<f32>,
    max_y: vec4<f32>,
    max_z: vec4<f32>,
    child: vec4<u32>,
    count: vec4<u32>,
}

struct Params {
    frame_count: u32,
    ext_blocks: u32,
    int_blocks: u32,
    row_width: u32,
}

@group(0) @binding(0) var<storage, read> frames: array<Frame>;
@group(0) @binding(1) var<storage, read> nodes: array<Node>;
@group(0) @binding(2) var<storage, read> spheres: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> ext_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> int_out: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

const BLOCK: u32 = 32u;
// A block's slot: the tally's 30 words (src/walk.rs ExteriorTally) padded to 32, then
// BLOCK end points of 4 words.
const EXT_WORDS: u32 = 32u;
const EXT_STRIDE: u32 = EXT_WORDS + 4u * BLOCK;
const INT_WORDS: u32 = 11u;
const INTERIOR_STREAM: u32 = 0x80000000u;
const STACK: u32 = 64u;
const BOX_SLACK_REL: f32 = 1e-5;
const TAU: f32 = 6.283185307179586;

// ---- Philox4x32-10, operation for operation as src/rng.rs ----

fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let a_lo = a & 0xffffu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xffffu;
    let b_hi = b >> 16u;
    let lo_lo = a_lo * b_lo;
    let hi_lo = a_hi * b_lo;
    let lo_hi = a_lo * b_hi;
    let hi_hi = a_hi * b_hi;
    let cross = (lo_lo >> 16u) + (hi_lo & 0xffffu) + lo_hi;
    let hi = hi_hi + (hi_lo >> 16u) + (cross >> 16u);
    let lo = (cross << 16u) | (lo_lo & 0xffffu);
    return vec2<u32>(hi, lo);
}

fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var round = 0u; round < 10u; round++) {
        if (round > 0u) {
            k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
        }
        let p0 = mulhilo(0xD2511F53u, c.x);
        let p1 = mulhilo(0xCD9E8D57u, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    }
    return c;
}

struct Rng {
    key: vec2<u32>,
    counter: vec4<u32>,
    buf: vec4<u32>,
    used: u32,
}

fn stream(seed: vec2<u32>, frame_key: vec2<u32>, index: u32, first_block: u32) -> Rng {
    return Rng(seed, vec4<u32>(first_block, index, frame_key.x, frame_key.y), vec4<u32>(0u), 4u);
}

fn next_u32(r: ptr<function, Rng>) -> u32 {
    if ((*r).used == 4u) {
        (*r).buf = philox((*r).counter, (*r).key);
        (*r).counter.x = (*r).counter.x + 1u;
        (*r).used = 0u;
    }
    let v = (*r).buf[(*r).used];
    (*r).used = (*r).used + 1u;
    return v;
}

// Uniform in (0, 1): the top 24 bits, so that every value is exact in f32 and neither 0
// nor 1 occurs.
fn rand_uniform(r: ptr<function, Rng>) -> f32 {
    return (f32(next_u32(r) >> 8u) + 0.5) * (1.0 / 16777216.0);
}

// Marsaglia (1972), the same draws as the CPU's unit_vector.
fn unit_vector(r: ptr<function, Rng>) -> vec3<f32> {
    loop {
        let u = 2.0 * rand_uniform(r) - 1.0;
        let v = 2.0 * rand_uniform(r) - 1.0;
        let s = u * u + v * v;
        if (s < 1.0) {
            let f = 2.0 * sqrt(1.0 - s);
            return vec3<f32>(u * f, v * f, 1.0 - 2.0 * s);
        }
    }
    // Not reached: the loop returns; WGSL wants a return on every path.
    return vec3<f32>(0.0, 0.0, 1.0);
}

// ---- BVH queries, as src/bvh.rs ----

fn box_distances2(n: Node, x: vec3<f32>) -> vec4<f32> {
    let dx = max(max(n.min_x - vec4<f32>(x.x), vec4<f32>(x.x) - n.max_x), vec4<f32>(0.0));
    let dy = max(max(n.min_y - vec4<f32>(x.y), vec4<f32>(x.y) - n.max_y), vec4<f32>(0.0));
    let dz = max(max(n.min_z - vec4<f32>(x.z), vec4<f32>(x.z) - n.max_z), vec4<f32>(0.0));
    return dx * dx + dy * dy + dz * dz;
}

fn sphere_distance(s: vec4<f32>, x: vec3<f32>) -> f32 {
    return length(x - s.xyz) - s.w;
}

fn bound2(best: f32, slack: f32) -> f32 {
    let b = best * (1.0 + BOX_SLACK_REL) + slack;
    return b * b;
}

// Distance from x to the union's surface; some value below `cutoff` once one is found.
// `hint` is the sphere to start from (the nearest at the previous step).
fn distance(f: Frame, x: vec3<f32>, cutoff: f32, hint: ptr<function, u32>) -> f32 {
    var best = sphere_distance(spheres[f.sphere_offset + *hint], x);
    if (best < cutoff) {
        return best;
    }
    var stack_child: array<u32, STACK>;
    var stack_count: array<u32, STACK>;
    var stack_d2: array<f32, STACK>;
    stack_child[0] = 0u;
    stack_count[0] = 0u;
    stack_d2[0] = 0.0;
    var top = 1u;
    while (top > 0u) {
        top = top - 1u;
        let child = stack_child[top];
        let count = stack_count[top];
        if (stack_d2[top] >= bound2(best, f.slack)) {
            continue;
        }
        if (count > 0u) {
            for (var i = 0u; i < count; i++) {
                let s = spheres[f.sphere_offset + child + i];
                let d = x - s.xyz;
                let d2 = dot(d, d);
                let reach = best + s.w;
                if (d2 < reach * reach) {
                    let dist = sqrt(d2) - s.w;
                    if (dist < best) {
                        best = dist;
                        *hint = child + i;
                        if (best < cutoff) {
                            return best;
                        }
                    }
                }
            }
            continue;
        }
        let n = nodes[f.node_offset + child];
        let d = box_distances2(n, x);
        let limit = bound2(best, f.slack);
        // Order the four children farthest first (a sorting network), so the nearest pops
        // first.
        var o = vec4<u32>(0u, 1u, 2u, 3u);
        var k = d;
        if (k.x < k.y) { k = k.yxzw; o = o.yxzw; }
        if (k.z < k.w) { k = k.xywz; o = o.xywz; }
        if (k.x < k.z) { k = k.zyxw; o = o.zyxw; }
        if (k.y < k.w) { k = k.xwzy; o = o.xwzy; }
        if (k.y < k.z) { k = k.xzyw; o = o.xzyw; }
        for (var j = 0u; j < 4u; j++) {
            if (k[j] < limit) {
                stack_child[top] = n.child[o[j]];
                stack_count[top] = n.count[o[j]];
                stack_d2[top] = k[j];
                top = top + 1u;
            }
        }
    }
    return best;
}

fn contains(f: Frame, x: vec3<f32>) -> bool {
    let slack2 = f.slack * f.slack;
    var stack_child: array<u32, STACK>;
    var stack_count: array<u32, STACK>;
    stack_child[0] = 0u;
    stack_count[0] = 0u;
    var top = 1u;
    while (top > 0u) {
        top = top - 1u;
        let child = stack_child[top];
        let count = stack_count[top];
        if (count > 0u) {
            for (var i = 0u; i < count; i++) {
                let s = spheres[f.sphere_offset + child + i];
                let d = x - s.xyz;
                if (dot(d, d) < s.w * s.w) {
                    return true;
                }
            }
            continue;
        }
        let n = nodes[f.node_offset + child];
        let d = box_distances2(n, x);
        for (var j = 0u; j < 4u; j++) {
            if (d[j] <= slack2) {
                stack_child[top] = n.child[j];
                stack_count[top] = n.count[j];
                top = top + 1u;
            }
        }
    }
    return false;
}

// ---- one walk, one sample, as src/walk.rs ----

fn orthonormal_basis(n: vec3<f32>) -> mat2x3<f32> {
    var helper = vec3<f32>(0.0, 1.0, 0.0);
    if (abs(n.x) < 0.9) {
        helper = vec3<f32>(1.0, 0.0, 0.0);
    }
    let e1 = normalize(cross(n, helper));
    return mat2x3<f32>(e1, cross(n, e1));
}

fn return_to_launch_sphere(x: vec3<f32>, r: f32, big_r: f32, rng: ptr<function, Rng>) -> vec3<f32> {
    let a = big_r / r;
    let xi = rand_uniform(rng);
    let den = 1.0 - a + 2.0 * a * xi;
    let cos_t = clamp((-(1.0 - a) * (1.0 - a) + 2.0 * (1.0 - a) * (1.0 + a * a) * xi
        + 2.0 * a * (1.0 + a * a) * xi * xi) / (den * den), -1.0, 1.0);
    let sin_t = sqrt(1.0 - cos_t * cos_t);
    let phi = TAU * rand_uniform(rng);
    let n = x / r;
    let e = orthonormal_basis(n);
    let dir = e[0] * (sin_t * cos(phi)) + e[1] * (sin_t * sin(phi)) + n * cos_t;
    return dir * big_r;
}

var<workgroup> ext_rows: array<array<f32, EXT_WORDS>, BLOCK>;
var<workgroup> int_rows: array<array<f32, INT_WORDS>, BLOCK>;

// The frame whose blocks include workgroup g: the last with block offset <= g.
fn frame_of(g: u32, interior: bool) -> u32 {
    var lo = 0u;
    var hi = params.frame_count;
    while (hi - lo > 1u) {
        let mid = (lo + hi) / 2u;
        var start = frames[mid].ext_block_offset;
        if (interior) {
            start = frames[mid].int_block_offset;
        }
        if (start <= g) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

@compute @workgroup_size(32)
fn exterior(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let g = wid.x + wid.y * params.row_width;
    if (g >= params.ext_blocks) {
        return;
    }
    let f = frames[frame_of(g, false)];
    let k = (f.ext_first_block + g - f.ext_block_offset) * BLOCK + lane;
    var t: array<f32, EXT_WORDS>;
    if (k < f.ext_end) {
        let big_r = f.launch_radius;
        let st = f.skin_thickness;
        var rng = stream(f.seed, f.key, k, 0u);
        let start = unit_vector(&rng) * big_r;
        var x = start;
        var hint = 0u;
        var hit = false;
        var steps = 0.0;
        loop {
            let d = distance(f, x, st, &hint);
            steps += 1.0;
            if (d < st) {
                hit = true;
                break;
            }
            x = x + unit_vector(&rng) * d;
            let r2 = dot(x, x);
            if (r2 > big_r * big_r) {
                let r = sqrt(r2);
                if (rand_uniform(&rng) > big_r / r) {
                    break;
                }
                x = return_to_launch_sphere(x, r, big_r, &rng);
            }
        }
        t[0] = 1.0;
        t[2] = steps;
        if (hit) {
            t[1] = 1.0;
            for (var i = 0u; i < 3u; i++) {
                var c = -1.0;
                if (rand_uniform(&rng) < 0.5 + start[i] / (2.0 * big_r)) {
                    c = 1.0;
                }
                // The charge's conditional mean given the walk, beside the drawn one.
                let m = start[i] / big_r;
                t[3u + i] = c;
                t[18u + i] = m;
                for (var j = 0u; j < 3u; j++) {
                    t[9u + 3u * i + j] = c * x[j];
                    t[21u + 3u * i + j] = m * x[j];
                }
            }
            t[6] = x.x;
            t[7] = x.y;
            t[8] = x.z;
            let at = g * EXT_STRIDE + EXT_WORDS + 4u * lane;
            ext_out[at] = x.x;
            ext_out[at + 1u] = x.y;
            ext_out[at + 2u] = x.z;
            ext_out[at + 3u] = 1.0;
        }
    }
    if (!(t[1] > 0.0)) {
        ext_out[g * EXT_STRIDE + EXT_WORDS + 4u * lane + 3u] = 0.0;
    }
    ext_rows[lane] = t;
    workgroupBarrier();
    if (lane < EXT_WORDS) {
        var sum = 0.0;
        for (var i = 0u; i < BLOCK; i++) {
            sum += ext_rows[i][lane];
        }
        ext_out[g * EXT_STRIDE + lane] = sum;
    }
}

@compute @workgroup_size(32)
fn interior(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let g = wid.x + wid.y * params.row_width;
    if (g >= params.int_blocks) {
        return;
    }
    let f = frames[frame_of(g, true)];
    let j = (f.int_first_block + g - f.int_block_offset) * BLOCK + lane;
    var t: array<f32, INT_WORDS>;
    if (j < f.int_end) {
        var rng = stream(f.seed, f.key, j, INTERIOR_STREAM);
        let radius = f.launch_radius * pow(rand_uniform(&rng), 1.0 / 3.0);
        let p = unit_vector(&rng) * radius;
        t[0] = 1.0;
        if (contains(f, p)) {
            t[1] = 1.0;
            t[2] = p.x;
            t[3] = p.y;
            t[4] = p.z;
            t[5] = p.x * p.x;
            t[6] = p.y * p.y;
            t[7] = p.z * p.z;
            t[8] = p.x * p.y;
            t[9] = p.x * p.z;
            t[10] = p.y * p.z;
        }
    }
    int_rows[lane] = t;
    workgroupBarrier();
    if (lane < INT_WORDS) {
        var sum = 0.0;
        for (var i = 0u; i < BLOCK; i++) {
            sum += int_rows[i][lane];
        }
        int_out[g * INT_WORDS + lane] = sum;
    }
}

// Philox on the device for the known-answer test: each 8 words of `philox_io` are a counter
// and a key in, the 4 output words out (over the key's place and 2 spare words).
@group(1) @binding(0) var<storage, read_write> philox_io: array<u32>;

@compute @workgroup_size(1)
fn philox_test(@builtin(workgroup_id) wid: vec3<u32>) {
    let b = wid.x * 8u;
    let c = vec4<u32>(philox_io[b], philox_io[b + 1u], philox_io[b + 2u], philox_io[b + 3u]);
    let k = vec2<u32>(philox_io[b + 4u], philox_io[b + 5u]);
    let out = philox(c, k);
    philox_io[b + 4u] = out.x;
    philox_io[b + 5u] = out.y;
    philox_io[b + 6u] = out.z;
    philox_io[b + 7u] = out.w;
}
