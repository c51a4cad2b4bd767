//! The few 3-vector and 3x3-matrix operations the method needs, on plain arrays, so the
//! hot loops stay free of abstraction and the data stays `Pod`.

/// A point or vector in f64: the CPU computes in f64 even though bodies store f32.
pub type V3 = [f64; 3];
/// A 3x3 matrix, `m[row][column]`; flattened row-major when reported.
pub type M3 = [[f64; 3]; 3];

/// `a - b`, component-wise.
#[inline(always)]
pub fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// `a + b`, component-wise.
#[inline(always)]
pub fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

/// `a` times the scalar `s`.
#[inline(always)]
pub fn scale(a: V3, s: f64) -> V3 {
    [a[0] * s, a[1] * s, a[2] * s]
}

/// Euclidean inner product.
#[inline(always)]
pub fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Euclidean length, `sqrt(a . a)`.
#[inline(always)]
pub fn norm(a: V3) -> f64 {
    dot(a, a).sqrt()
}

/// `a x b`, right-handed.
pub fn cross(a: V3, b: V3) -> V3 {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

/// Two unit vectors completing `n` (unit) to a right-handed orthonormal basis.
pub fn orthonormal_basis(n: V3) -> (V3, V3) {
    let helper = if n[0].abs() < 0.9 { [1.0, 0.0, 0.0] } else { [0.0, 1.0, 0.0] };
    let e1 = cross(n, helper);
    let e1 = scale(e1, 1.0 / norm(e1));
    (e1, cross(n, e1))
}

/// `(m + m^T) / 2`: the polarizability estimate is not symmetric walk by walk, so it is
/// symmetrised (as ZENO does) before its eigenvalues are taken.
pub fn symmetrize(m: M3) -> M3 {
    let mut s = m;
    for i in 0..3 {
        for j in 0..3 {
            s[i][j] = 0.5 * (m[i][j] + m[j][i]);
        }
    }
    s
}

/// Sum of the diagonal: `3 <alpha>` for the polarizability tensor, Rg^2 for the gyration
/// tensor.
pub fn trace(m: &M3) -> f64 {
    m[0][0] + m[1][1] + m[2][2]
}

/// Eigenvalues of a symmetric 3x3 matrix, ascending, by cyclic Jacobi rotations.
/// Jacobi rather than the closed-form trigonometric solution because it stays accurate
/// for the nearly degenerate tensors of near-spherical bodies, where the statistics of
/// sorted eigenvalues matter.
pub fn symmetric_eigenvalues(m: &M3) -> V3 {
    let mut a = *m;
    for _sweep in 0..64 {
        let off = a[0][1] * a[0][1] + a[0][2] * a[0][2] + a[1][2] * a[1][2];
        let diag = a[0][0] * a[0][0] + a[1][1] * a[1][1] + a[2][2] * a[2][2];
        if off <= 1e-30 * diag || off == 0.0 {
            break;
        }
        for (p, q) in [(0, 1), (0, 2), (1, 2)] {
            if a[p][q] == 0.0 {
                continue;
            }
            let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
            let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
            let t = if theta == 0.0 { 1.0 } else { t };
            let c = 1.0 / (t * t + 1.0).sqrt();
            let s = t * c;
            let mut r = a;
            for k in 0..3 {
                r[k][p] = c * a[k][p] - s * a[k][q];
                r[k][q] = s * a[k][p] + c * a[k][q];
            }
            let mut b = r;
            for k in 0..3 {
                b[p][k] = c * r[p][k] - s * r[q][k];
                b[q][k] = s * r[p][k] + c * r[q][k];
            }
            a = b;
        }
    }
    let mut e = [a[0][0], a[1][1], a[2][2]];
    e.sort_by(f64::total_cmp);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigenvalues_of_a_rotated_diagonal_matrix() {
        // R diag(1, 2, 5) R^T for a rotation about (1,1,1)
        let (s, c) = (0.7f64).sin_cos();
        let u = [1.0 / 3f64.sqrt(); 3];
        let mut r = [[0.0; 3]; 3];
        for i in 0..3 {
            for j in 0..3 {
                let kron = if i == j { 1.0 } else { 0.0 };
                let eps = |i: usize, j: usize, k: usize| -> f64 {
                    match (i, j, k) {
                        (0, 1, 2) | (1, 2, 0) | (2, 0, 1) => 1.0,
                        (0, 2, 1) | (2, 1, 0) | (1, 0, 2) => -1.0,
                        _ => 0.0,
                    }
                };
                let cross_term: f64 = (0..3).map(|k| eps(i, k, j) * u[k]).sum();
                r[i][j] = c * kron + (1.0 - c) * u[i] * u[j] - s * cross_term;
            }
        }
        let d = [1.0, 2.0, 5.0];
        let mut m = [[0.0; 3]; 3];
        for i in 0..3 {
            for j in 0..3 {
                m[i][j] = (0..3).map(|k| r[i][k] * d[k] * r[j][k]).sum();
            }
        }
        let e = symmetric_eigenvalues(&m);
        for (got, want) in e.iter().zip(d) {
            assert!((got - want).abs() < 1e-12, "{e:?}");
        }
        assert_eq!(symmetric_eigenvalues(&[[3.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 3.0]]), [3.0; 3]);
    }
}
