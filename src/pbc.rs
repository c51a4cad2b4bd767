//! Making molecules whole. MD engines wrap atoms into the periodic cell, so a protein near
//! a cell face comes out in pieces on opposite sides; its walk-on-spheres body would be two
//! blobs a cell apart, and every observable wrong. Each molecule (what bonds and residues
//! link) is made whole, atom by atom to the image nearest the atom it hangs from, and the
//! other molecules are brought to the images nearest the largest one ([`make_whole`]); a
//! crystal is left alone. The cell is checked first
//! ([`Cell::new`]) and the links afterwards, so an impossible box (negative, zero, NaN or
//! tiny edges, a flat or left-handed cell) is an error rather than a molecule folded into
//! one cell width.

use crate::vec3::{M3, V3};
use std::fmt;

/// A periodic cell that can be trusted to make a molecule whole: finite, with positive
/// edges, right-handed and with volume. Built only by [`Cell::new`], so an impossible box
/// from a damaged or misconverted file is refused instead of scrambling the molecule.
#[derive(Clone, Debug)]
pub struct Cell {
    vectors: M3,
    inverse: M3,
    width: f64,
}

/// Why a frame's cell cannot be used; the message says what is wrong with the cell, the
/// caller adds the input, the frame and the cell itself.
#[derive(Clone, Debug, PartialEq)]
pub enum CellError {
    /// An entry is NaN or infinite.
    NonFinite,
    /// An orthorhombic cell with an edge of zero or less.
    NonPositiveEdge,
    /// Cell vectors with (next to) no volume between them: one of zero length, or all
    /// three in a plane.
    Degenerate,
    /// Cell vectors of a left-handed set (negative determinant), which no MD engine writes.
    LeftHanded,
    /// The cell's narrowest width is not more than an atom's sphere's diameter: the sphere
    /// would overlap its own periodic image, so the box cannot be the molecule's. Checked
    /// for every input, bonds or none, so a tiny box is refused even where nothing says
    /// which atoms are linked.
    NarrowerThanAtom {
        /// The atom with the largest radius, an index into the positions.
        atom: usize,
        /// Its radius.
        radius: f64,
        /// The cell's narrowest width.
        width: f64,
    },
    /// After making the molecule whole, a link it was made whole along is not shorter than
    /// half the cell's narrowest width: only a link that short is sure to be its own nearest
    /// image, and a real box is far wider than a bond, so the box cannot be the molecule's.
    TooSmall {
        /// The atom placed from `to`, an index into the positions.
        atom: usize,
        /// The atom it was placed next to.
        to: usize,
        /// Whether the two are bonded (else they are consecutive atoms of one residue).
        bonded: bool,
        /// Their distance after making the molecule whole.
        distance: f64,
        /// The cell's narrowest width (distance between opposite faces).
        width: f64,
    },
}

impl fmt::Display for CellError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            CellError::NonFinite => write!(f, "has a non-finite entry"),
            CellError::NonPositiveEdge => write!(f, "has an edge that is not positive"),
            CellError::Degenerate => write!(f, "is degenerate (its vectors span no volume)"),
            CellError::LeftHanded => write!(f, "is left-handed (negative determinant)"),
            CellError::NarrowerThanAtom { atom, radius, width } => write!(
                f,
                "is narrower ({}) than the sphere of atom {atom} (radius {}), which would overlap its own periodic image",
                significant(*width),
                significant(*radius)
            ),
            CellError::TooSmall { atom, to, bonded, distance, width } => write!(
                f,
                "is too small for the molecule: atoms {to} and {atom} ({}) are {} apart after making it whole, \
                 not under {}, half the box's narrowest width",
                if *bonded { "bonded" } else { "consecutive in the topology" },
                significant(*distance),
                significant(0.5 * *width)
            ),
        }
    }
}

/// Four significant digits, without an exponent: 15.47, 0.0007071.
pub fn significant(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let decimals = (3 - x.abs().log10().floor() as i64).clamp(0, 17) as usize;
    format!("{x:.decimals$}")
}

/// Whether the cell vectors lie along the axes, off-diagonal entries zero to rounding (a
/// CRYST1 cell's 90 degree angles leave 1e-16 behind), so the cell is described, and its
/// edges checked, as three edges.
pub fn is_orthorhombic(m: &M3) -> bool {
    let largest = m.iter().flatten().fold(0.0f64, |a, v| a.max(v.abs()));
    (0..3).all(|i| (0..3).all(|j| i == j || m[i][j].abs() <= 1e-12 * largest))
}

impl Cell {
    /// Checks a cell whose rows are the cell vectors. An all-zero cell is Ok(None): the
    /// "no box" that H5MD, DCD and XTC writers store for a system without one. Otherwise
    /// every entry must be finite; an orthorhombic (diagonal) cell needs three positive
    /// edges; any cell must be right-handed with a volume of at least 1e-6 of the product of
    /// its edge lengths (a flatter cell is degenerate to rounding).
    pub fn new(vectors: &M3) -> Result<Option<Cell>, CellError> {
        if vectors.iter().flatten().any(|v| !v.is_finite()) {
            return Err(CellError::NonFinite);
        }
        if vectors.iter().flatten().all(|&v| v == 0.0) {
            return Ok(None);
        }
        if is_orthorhombic(vectors) && (0..3).any(|i| vectors[i][i] <= 0.0) {
            return Err(CellError::NonPositiveEdge);
        }
        let [a, b, c] = *vectors;
        let norm = |v: V3| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        let cross = |u: V3, v: V3| [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
        let det = (0..3).map(|k| a[k] * cross(b, c)[k]).sum::<f64>();
        let scale = norm(a) * norm(b) * norm(c);
        if !det.is_finite() || det.abs() <= 1e-6 * scale {
            return Err(CellError::Degenerate);
        }
        if det < 0.0 {
            return Err(CellError::LeftHanded);
        }
        let width = [cross(b, c), cross(c, a), cross(a, b)].into_iter().map(|n| det / norm(n)).fold(f64::INFINITY, f64::min);
        let inverse = invert(vectors).ok_or(CellError::Degenerate)?;
        Ok(Some(Cell { vectors: *vectors, inverse, width }))
    }

    /// The narrowest distance between opposite faces: a vector shorter than half of it is
    /// its own nearest image, so links shorter than that are made whole unambiguously.
    pub fn width(&self) -> f64 {
        self.width
    }

    /// The cell vectors, as rows.
    pub fn vectors(&self) -> &M3 {
        &self.vectors
    }
}

/// Where the body comes nearest its own periodic images: over the 26 neighbour images
/// (every lattice translation with coefficients -1, 0 or 1), the pair of sphere k and the
/// image of sphere l whose surfaces are nearest, as (gap, k, l) with the gap the distance
/// |x_k - x_l - T| less both radii; None when no sphere comes within `reach` of an image's
/// surface. The cell's face width says nothing here: on GROMACS's rhombic dodecahedron
/// (80, 80, 80, 60, 60, 90) a protein spanning 58.9 A of its 56.7 A width is 18.9 A from
/// its nearest image. Spheres are binned on a grid of `2 r_max + reach`, so a body of n
/// spheres costs 26 n lookups of 27 bins, and none when its diameter is below the shortest
/// translation.
pub fn nearest_image_gap(centers: &[V3], radii: &[f64], cell: &Cell, reach: f64) -> Option<(f64, usize, usize)> {
    let r_max = radii.iter().cloned().fold(0.0f64, f64::max);
    let cutoff = 2.0 * r_max + reach.max(0.0);
    if centers.is_empty() || cutoff.is_nan() || cutoff <= 0.0 {
        return None;
    }
    let [a, b, c] = cell.vectors;
    let translations: Vec<V3> = (-1..=1)
        .flat_map(|i| (-1..=1).flat_map(move |j| (-1..=1).map(move |k| (i, j, k))))
        .filter(|&t| t != (0, 0, 0))
        .map(|(i, j, k)| std::array::from_fn(|d| i as f64 * a[d] + j as f64 * b[d] + k as f64 * c[d]))
        .collect();
    let norm = |v: V3| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    let mean: V3 = std::array::from_fn(|d| centers.iter().map(|x| x[d]).sum::<f64>() / centers.len() as f64);
    let spread = centers.iter().map(|x| norm(std::array::from_fn(|d| x[d] - mean[d]))).fold(0.0f64, f64::max);
    if translations.iter().map(|&t| norm(t)).fold(f64::INFINITY, f64::min) > 2.0 * spread + cutoff {
        return None;
    }
    let bin = |x: V3| x.map(|v| (v / cutoff).floor() as i64);
    let mut grid: std::collections::HashMap<[i64; 3], Vec<usize>> = std::collections::HashMap::new();
    for (k, &x) in centers.iter().enumerate() {
        grid.entry(bin(x)).or_default().push(k);
    }
    let mut best: Option<(f64, usize, usize)> = None;
    for t in &translations {
        for (l, x) in centers.iter().enumerate() {
            let y: V3 = std::array::from_fn(|d| x[d] + t[d]);
            let [i, j, k] = bin(y);
            for di in -1..=1 {
                for dj in -1..=1 {
                    for dk in -1..=1 {
                        for &m in grid.get(&[i + di, j + dj, k + dk]).into_iter().flatten() {
                            let gap = norm(std::array::from_fn(|d| centers[m][d] - y[d])) - radii[m] - radii[l];
                            if gap < reach && best.is_none_or(|(g, _, _)| gap < g) {
                                best = Some((gap, m, l));
                            }
                        }
                    }
                }
            }
        }
    }
    best
}

/// Refuses a cell no wider than the largest sphere's diameter ([`CellError::NarrowerThanAtom`]).
pub fn holds_spheres(cell: &Cell, radii: &[f64]) -> Result<(), CellError> {
    let Some(atom) = (0..radii.len()).reduce(|best, i| if radii[i] > radii[best] { i } else { best }) else { return Ok(()) };
    let radius = radii[atom];
    if 2.0 * radius >= cell.width {
        return Err(CellError::NarrowerThanAtom { atom, radius, width: cell.width });
    }
    Ok(())
}

/// Makes each molecule of the selection whole, then brings the molecules together.
///
/// A molecule is what the links connect: bonds, and consecutive atoms that `linked` says
/// belong together (one residue, or consecutive residues of one chain). Within a molecule
/// each atom moves by whole cell vectors to the image nearest the atom it hangs from, as
/// MDAnalysis's `make_whole` does. The largest molecule (most atoms; the first on a tie)
/// then stays, and every other one moves as a whole to the image whose centroid is nearest
/// the largest one's centroid: water, ions or a ligand gather around the protein instead of
/// drifting image by image through the box. Where nothing links the atoms at all (no bonds,
/// no residues), the atoms are either left as read or chained to nearest images in topology
/// order, whichever is more compact (the smaller radius of gyration): a molecule split
/// across the box is made whole, and a crystal is left alone.
///
/// Afterwards every link must be shorter than half the cell's narrowest width (see
/// [`CellError::TooSmall`]).
pub fn make_whole(positions: &mut [V3], cell: &Cell, bonds: &[[usize; 2]], linked: impl Fn(usize, usize) -> bool) -> Result<(), CellError> {
    let (vectors, inverse) = (&cell.vectors, &cell.inverse);
    let n = positions.len();
    let mut neighbours: Vec<Vec<usize>> = vec![vec![]; n];
    for &[a, b] in bonds {
        neighbours[a].push(b);
        neighbours[b].push(a);
    }
    let original = positions.to_vec();
    let mut placed = vec![false; n];
    let mut order_links = vec![];
    let mut molecules: Vec<Vec<usize>> = vec![];
    let mut queue = std::collections::VecDeque::new();
    for start in 0..n {
        if placed[start] {
            continue;
        }
        if start > 0 && linked(start - 1, start) {
            positions[start] = nearest_image(positions[start], positions[start - 1], vectors, inverse);
            order_links.push([start - 1, start]);
            molecules.last_mut().expect("atom 0 opened a molecule").push(start);
        } else {
            molecules.push(vec![start]);
        }
        placed[start] = true;
        queue.push_back(start);
        while let Some(a) = queue.pop_front() {
            for &b in &neighbours[a] {
                if !placed[b] {
                    positions[b] = nearest_image(positions[b], positions[a], vectors, inverse);
                    placed[b] = true;
                    molecules.last_mut().expect("a molecule is open").push(b);
                    queue.push_back(b);
                }
            }
        }
    }
    if molecules.iter().all(|m| m.len() == 1) {
        // Nothing links the atoms (no bonds, no residues: H5MD species alone). Chained to
        // nearest images in topology order they make a molecule split across the box whole,
        // but a crystal (or separate particles) drifts image by image through the box: keep
        // whichever arrangement is the more compact, as read or chained.
        let mut chained = original.clone();
        for i in 1..n {
            chained[i] = nearest_image(chained[i], chained[i - 1], vectors, inverse);
        }
        let spread = |x: &[V3]| {
            let c: V3 = std::array::from_fn(|k| x.iter().map(|p| p[k]).sum::<f64>() / n as f64);
            x.iter().map(|p| (0..3).map(|k| (p[k] - c[k]).powi(2)).sum::<f64>()).sum::<f64>()
        };
        let keep = if spread(&chained) < spread(&original) { chained } else { original };
        positions.copy_from_slice(&keep);
        return Ok(());
    }
    let centroid = |m: &[usize], x: &[V3]| -> V3 { std::array::from_fn(|k| m.iter().map(|&i| x[i][k]).sum::<f64>() / m.len() as f64) };
    let largest = (0..molecules.len()).reduce(|best, k| if molecules[k].len() > molecules[best].len() { k } else { best }).expect("n > 0");
    let reference = centroid(&molecules[largest], positions);
    for (k, m) in molecules.iter().enumerate() {
        if k == largest {
            continue;
        }
        let c = centroid(m, positions);
        let to = nearest_image(c, reference, vectors, inverse);
        let shift: V3 = std::array::from_fn(|j| to[j] - c[j]);
        for &i in m {
            positions[i] = std::array::from_fn(|j| positions[i][j] + shift[j]);
        }
    }
    let links = bonds.iter().map(|&l| (l, true)).chain(order_links.into_iter().map(|l| (l, false)));
    for ([to, atom], bonded) in links {
        let d = (0..3).map(|k| (positions[atom][k] - positions[to][k]).powi(2)).sum::<f64>().sqrt();
        if d.is_nan() || d >= 0.5 * cell.width {
            return Err(CellError::TooSmall { atom, to, bonded, distance: d, width: cell.width });
        }
    }
    Ok(())
}

fn invert(m: &M3) -> Option<M3> {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    if !(det.is_finite() && det != 0.0) {
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

    /// GROMACS's rhombic dodecahedron (80, 80, 80, 60, 60, 90): a rod spanning 58.9 A, more
    /// than the 56.57 A face width (which the old check warned about), is 19.1 A from its
    /// nearest image (a translation of 80 A along the rod); one spanning 79.8 A overlaps it.
    #[test]
    fn the_gap_to_the_images_is_measured_over_the_26_neighbours_not_the_face_width() {
        let h = 80.0 * 0.5f64.sqrt();
        let cell = Cell::new(&[[80.0, 0.0, 0.0], [0.0, 80.0, 0.0], [40.0, 40.0, h]]).unwrap().unwrap();
        assert!((cell.width() - 56.5685).abs() < 1e-3, "{}", cell.width());
        let rod = |n: usize, step: f64| -> (Vec<V3>, Vec<f64>) { ((0..n).map(|i| [i as f64 * step, 0.0, 0.0]).collect(), vec![1.0; n]) };
        let (centers, radii) = rod(32, 1.9);
        assert!(centers[31][0] > cell.width());
        assert_eq!(nearest_image_gap(&centers, &radii, &cell, 0.0), None);
        let (gap, k, l) = nearest_image_gap(&centers, &radii, &cell, 25.0).unwrap();
        assert!((gap - (80.0 - 58.9 - 2.0)).abs() < 1e-9 && (k, l) == (0, 31), "{gap} between {k} and the image of {l}");
        let (centers, radii) = rod(43, 1.9);
        let (gap, k, l) = nearest_image_gap(&centers, &radii, &cell, 0.0).unwrap();
        assert!((gap - (80.0 - 79.8 - 2.0)).abs() < 1e-9 && (k, l) == (0, 42), "{gap} between {k} and the image of {l}");
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
        let cell = Cell::new(&cell).unwrap().unwrap();
        make_whole(&mut wrapped, &cell, &bonds, |_, _| true).unwrap();
        make_whole(&mut by_order, &cell, &[], |_, _| true).unwrap();
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
        let cell = Cell::new(&cell).unwrap().unwrap();
        make_whole(&mut x, &cell, &[[0, 1], [0, 2]], |_, _| true).unwrap();
        assert!(close(x[1], [-0.4, 5.0, 5.0]) && close(x[2], [-0.5, 5.0, 5.0]), "{x:?}");
        assert!(Cell::new(&[[0.0; 3]; 3]).unwrap().is_none(), "an all-zero cell is no cell");
    }

    #[test]
    fn other_molecules_gather_around_the_largest_one() {
        let cell = Cell::new(&[[10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 10.0]]).unwrap().unwrap();
        // A bonded triple at x = 1..3, split across the x face, and two waters (linked
        // within themselves) an image away: each water moves whole to the image nearest the
        // triple's centroid, keeping its own shape.
        let mut x =
            vec![[1.0, 5.0, 5.0], [9.0, 5.0, 5.0], [8.0, 5.0, 5.0], [5.0, 5.0, 9.5], [5.0, 5.0, 0.4], [4.0, 9.0, 5.0], [4.0, 9.6, 5.0]];
        let residue = |i: usize| [0, 0, 0, 1, 1, 2, 2][i];
        make_whole(&mut x, &cell, &[[0, 1], [1, 2]], |a, b| residue(a) == residue(b)).unwrap();
        assert!(close(x[1], [-1.0, 5.0, 5.0]) && close(x[2], [-2.0, 5.0, 5.0]), "the triple is whole: {x:?}");
        let bond = |a: usize, b: usize| [x[b][0] - x[a][0], x[b][1] - x[a][1], x[b][2] - x[a][2]];
        assert!(close(bond(3, 4), [0.0, 0.0, 0.9]), "the first water is whole: {x:?}");
        assert!(close(x[3], [-5.0, 5.0, 9.5]), "and moved by -10 in x to the triple: {x:?}");
        let centroid = |a: usize, b: usize| [(x[a][0] + x[b][0]) / 2.0, (x[a][1] + x[b][1]) / 2.0, (x[a][2] + x[b][2]) / 2.0];
        let reference = [(1.0 - 1.0 - 2.0) / 3.0, 5.0, 5.0];
        for (a, b) in [(3, 4), (5, 6)] {
            let c = centroid(a, b);
            assert!((0..3).all(|k| (c[k] - reference[k]).abs() <= 5.0 + 1e-9), "water {a}-{b} at {c:?} is its nearest image");
        }
        assert!(close([x[6][0] - x[5][0], x[6][1] - x[5][1], x[6][2] - x[5][2]], [0.0, 0.6, 0.0]), "the second water keeps its shape");
    }

    #[test]
    fn atoms_nothing_links_stay_as_read_unless_chaining_makes_them_more_compact() {
        let cell = Cell::new(&[[10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 10.0]]).unwrap().unwrap();
        let mut pair = vec![[0.4, 5.0, 5.0], [9.8, 5.0, 5.0]];
        make_whole(&mut pair, &cell, &[], |_, _| false).unwrap();
        assert!(close(pair[1], [-0.2, 5.0, 5.0]), "a pair split across the face is made whole: {pair:?}");
        // A lattice filling the cell: chaining would only drift; it stays as read.
        let lattice: Vec<V3> =
            (0..27).map(|i| [1.0 + 3.3 * (i % 3) as f64, 1.0 + 3.3 * (i / 3 % 3) as f64, 1.0 + 3.3 * (i / 9) as f64]).collect();
        let mut x = lattice.clone();
        make_whole(&mut x, &cell, &[], |_, _| false).unwrap();
        assert_eq!(x, lattice);
    }

    #[test]
    fn impossible_cells_are_refused() {
        let diag = |a: f64, b: f64, c: f64| [[a, 0.0, 0.0], [0.0, b, 0.0], [0.0, 0.0, c]];
        let err = |m: M3| Cell::new(&m).unwrap_err();
        assert_eq!(err(diag(-30.0, 30.0, 30.0)), CellError::NonPositiveEdge);
        assert_eq!(err(diag(-30.0, -30.0, 30.0)), CellError::NonPositiveEdge, "two negative edges keep the determinant positive");
        assert_eq!(err(diag(30.0, 0.0, 30.0)), CellError::NonPositiveEdge);
        assert_eq!(err(diag(30.0, f64::NAN, 30.0)), CellError::NonFinite);
        assert_eq!(err(diag(30.0, 30.0, f64::INFINITY)), CellError::NonFinite);
        assert_eq!(err([[10.0, 0.0, 0.0], [5.0, 5.0, 0.0], [15.0, 5.0, 0.0]]), CellError::Degenerate, "coplanar vectors");
        assert_eq!(err([[10.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 2.0, 10.0]]), CellError::Degenerate, "a zero vector");
        assert_eq!(err([[10.0, 0.0, 0.0], [2.0, 10.0, 0.0], [1.0, 2.0, -10.0]]), CellError::LeftHanded);
        let skew = Cell::new(&[[20.0, 0.0, 0.0], [5.0, 18.0, 0.0], [3.0, 4.0, 16.0]]).unwrap().unwrap();
        assert!((skew.width() - 16.0).abs() < 1e-12, "{}", skew.width());
    }

    #[test]
    fn a_bond_not_under_half_the_narrowest_width_is_refused() {
        // A bond of (1.2, 1.2, 0) in a cube of 2.9 is its own nearest image, 1.697 long: not
        // under 1.45, so the cube may hold images of its atoms closer than its bond.
        let cell = Cell::new(&[[2.9, 0.0, 0.0], [0.0, 2.9, 0.0], [0.0, 0.0, 2.9]]).unwrap().unwrap();
        let mut x = vec![[0.0, 0.0, 0.0], [1.2, 1.2, 0.0]];
        let e = make_whole(&mut x, &cell, &[[0, 1]], |_, _| true).unwrap_err();
        assert_eq!(e.to_string(), "is too small for the molecule: atoms 0 and 1 (bonded) are 1.697 apart after making it whole, not under 1.450, half the box's narrowest width");
        // Consecutive atoms of different residues may be far apart; of one residue they may not.
        let mut x = vec![[0.0, 0.0, 0.0], [1.4, 0.0, 0.0], [0.0, 1.44, 0.0]];
        make_whole(&mut x, &cell, &[[0, 1]], |a, b| a == 1 && b == 2).unwrap_err();
        make_whole(&mut x, &cell, &[], |_, _| false).unwrap();
        assert_eq!(significant(0.000707106), "0.0007071");
        assert_eq!(significant(15.4712), "15.47");
    }
}
