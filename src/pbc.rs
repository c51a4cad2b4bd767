//! Making a molecule whole. MD engines wrap atoms into the periodic cell, so a protein near
//! a cell face comes out in pieces on opposite sides; its walk-on-spheres body would be two
//! blobs a cell apart, and every observable wrong. Each atom is moved by whole cell vectors
//! to the image nearest the atom it hangs from: its bonded neighbour already placed, or,
//! for the first atom of a piece the bonds do not connect, the atom before it in topology
//! order.

use crate::vec3::{M3, V3};

/// Cell rows are the cell vectors; positions are in the cell's length unit. Returns false
/// (and leaves positions alone) when the cell is degenerate.
pub fn make_whole(positions: &mut [V3], cell: &M3, bonds: &[[usize; 2]]) -> bool {
    let Some(inverse) = invert(cell) else { return false };
    let n = positions.len();
    let mut neighbours: Vec<Vec<usize>> = vec![vec![]; n];
    for &[a, b] in bonds {
        neighbours[a].push(b);
        neighbours[b].push(a);
    }
    let mut placed = vec![false; n];
    let mut queue = std::collections::VecDeque::new();
    for start in 0..n {
        if placed[start] {
            continue;
        }
        if start > 0 {
            positions[start] = nearest_image(positions[start], positions[start - 1], cell, &inverse);
        }
        placed[start] = true;
        queue.push_back(start);
        while let Some(a) = queue.pop_front() {
            for &b in &neighbours[a] {
                if !placed[b] {
                    positions[b] = nearest_image(positions[b], positions[a], cell, &inverse);
                    placed[b] = true;
                    queue.push_back(b);
                }
            }
        }
    }
    true
}

fn invert(m: &M3) -> Option<M3> {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    if !(det.is_finite() && det.abs() > 1e-12) {
        return None;
    }
    let c = |i: usize, j: usize| {
        let (r0, r1) = ((i + 1) % 3, (i + 2) % 3);
        let (c0, c1) = ((j + 1) % 3, (j + 2) % 3);
        m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]
    };
    let mut inv = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            inv[j][i] = c(i, j) / det;
        }
    }
    Some(inv)
}

/// The image of `x` (x plus whole cell vectors) nearest to `reference`. Rounding the
/// fractional offset is exact for orthorhombic cells; for skewed cells the 27 neighbouring
/// shifts are searched too.
pub fn nearest_image(x: V3, reference: V3, cell: &M3, inverse: &M3) -> V3 {
    let d = [x[0] - reference[0], x[1] - reference[1], x[2] - reference[2]];
    let frac: [f64; 3] = std::array::from_fn(|j| (0..3).map(|i| d[i] * inverse[i][j]).sum::<f64>().round());
    let mut best = x;
    let mut best_d2 = f64::INFINITY;
    for a in -1..=1 {
        for b in -1..=1 {
            for c in -1..=1 {
                let shift = [frac[0] + a as f64, frac[1] + b as f64, frac[2] + c as f64];
                let y: V3 = std::array::from_fn(|k| x[k] - (0..3).map(|i| shift[i] * cell[i][k]).sum::<f64>());
                let d2 = (0..3).map(|k| (y[k] - reference[k]).powi(2)).sum::<f64>();
                if d2 < best_d2 {
                    best_d2 = d2;
                    best = y;
                }
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: V3, b: V3) -> bool {
        (0..3).all(|k| (a[k] - b[k]).abs() < 1e-9)
    }

    #[test]
    fn a_chain_split_across_a_triclinic_cell_is_made_whole() {
        let cell = [[20.0, 0.0, 0.0], [5.0, 18.0, 0.0], [3.0, 4.0, 16.0]];
        let whole: Vec<V3> = (0..8).map(|i| [17.0 + 1.2 * i as f64, 16.5 + 0.3 * i as f64, 15.0 - 0.4 * i as f64]).collect();
        // Wrap some atoms by different cell vectors, as an MD engine would.
        let shifts = [[0, 0, 0], [0, 0, 0], [-1, 0, 0], [-1, -1, 0], [0, 0, 1], [-1, -1, -1], [0, 1, 0], [-2, 0, 0]];
        let mut wrapped: Vec<V3> = whole
            .iter()
            .zip(shifts)
            .map(|(x, s)| std::array::from_fn(|k| x[k] + (0..3).map(|i| s[i] as f64 * cell[i][k]).sum::<f64>()))
            .collect();
        let mut by_order = wrapped.clone();
        let bonds: Vec<[usize; 2]> = (0..7).map(|i| [i, i + 1]).collect();
        assert!(make_whole(&mut wrapped, &cell, &bonds));
        assert!(make_whole(&mut by_order, &cell, &[]));
        for i in 0..8 {
            assert!(close(wrapped[i], whole[i]), "bonds: atom {i}: {:?} vs {:?}", wrapped[i], whole[i]);
            assert!(close(by_order[i], whole[i]), "order: atom {i}: {:?} vs {:?}", by_order[i], whole[i]);
        }
    }

    #[test]
    fn bonds_win_over_topology_order() {
        // Atom 2 is bonded to atom 0, not to atom 1 (a branch): it must follow atom 0.
        let cell = [[10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 10.0]];
        let mut x = vec![[1.0, 5.0, 5.0], [9.6, 5.0, 5.0], [9.5, 5.0, 5.0]];
        assert!(make_whole(&mut x, &cell, &[[0, 1], [0, 2]]));
        assert!(close(x[1], [-0.4, 5.0, 5.0]) && close(x[2], [-0.5, 5.0, 5.0]), "{x:?}");
        let zero = [[0.0; 3]; 3];
        assert!(!make_whole(&mut x, &zero, &[]));
    }
}
