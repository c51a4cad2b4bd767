//! What is known about each atom apart from where it is: names, residues, elements, bonds.
//! Readers fill what their format carries; selections and radii read it; the periodic
//! unwrap follows the bonds.

/// Element symbols by atomic number (index 0 unused).
const ELEMENTS: [&str; 119] = [
    "", "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "Ar", "K", "Ca", "Sc", "Ti", "V",
    "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh",
    "Pd", "Ag", "Cd", "In", "Sn", "Sb", "Te", "I", "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho",
    "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac",
    "Th", "Pa", "U", "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg",
    "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og",
];

/// Standard atomic weights in daltons by atomic number (index 0 unused; 0.0 where IUPAC
/// gives none: Tc, Pm and the elements from Po on, except Th, Pa and U). The abridged
/// values of IUPAC's Commission on Isotopic Abundances and Atomic Weights (Prohaska et al.,
/// Pure Appl. Chem. 94, 573 (2022), table 2), and for the elements whose standard weight is
/// an interval (H, Li, B, C, N, O, Mg, Si, S, Cl, Ar, Br, Tl, Pb) IUPAC's conventional
/// values, as chemists weigh molecules: H 1.008, C 12.011, N 14.007, O 15.999, S 32.06.
const ATOMIC_WEIGHTS: [f64; 119] = [
    0.0, 1.008, 4.0026, 6.94, 9.0122, 10.81, 12.011, 14.007, 15.999, 18.998, 20.180, 22.990, 24.305, 26.982, 28.085, 30.974, 32.06, 35.45,
    39.95, 39.098, 40.078, 44.956, 47.867, 50.942, 51.996, 54.938, 55.845, 58.933, 58.693, 63.546, 65.38, 69.723, 72.630, 74.922, 78.971,
    79.904, 83.798, 85.468, 87.62, 88.906, 91.224, 92.906, 95.95, 0.0, 101.07, 102.91, 106.42, 107.87, 112.41, 114.82, 118.71, 121.76,
    127.60, 126.90, 131.29, 132.91, 137.33, 138.91, 140.12, 140.91, 144.24, 0.0, 150.36, 151.96, 157.25, 158.93, 162.50, 164.93, 167.26,
    168.93, 173.05, 174.97, 178.49, 180.95, 183.84, 186.21, 190.23, 192.22, 195.08, 196.97, 200.59, 204.38, 207.2, 208.98, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 232.04, 231.04, 238.03, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
];

/// The standard atomic weight of `symbol` in daltons (see `ATOMIC_WEIGHTS`), for
/// `--mass auto`; None for an element IUPAC gives no standard weight (no stable isotope
/// of fixed abundance: Tc, Pm, Po, ...) and for an unknown symbol.
pub fn atomic_weight(symbol: &str) -> Option<f64> {
    let z = ELEMENTS[1..].iter().position(|e| e.eq_ignore_ascii_case(symbol.trim()))? + 1;
    Some(ATOMIC_WEIGHTS[z]).filter(|&w| w > 0.0)
}

/// The element whose standard atomic weight is nearest `mass` (daltons), when it is within
/// `tolerance`; None otherwise, and for a mass of zero or less (virtual sites).
pub fn nearest_element_by_weight(mass: f64, tolerance: f64) -> Option<&'static str> {
    if mass.is_nan() || mass <= 0.0 {
        return None;
    }
    let (z, w) =
        ATOMIC_WEIGHTS.iter().enumerate().filter(|(_, &w)| w > 0.0).min_by(|a, b| (a.1 - mass).abs().total_cmp(&(b.1 - mass).abs()))?;
    ((w - mass).abs() <= tolerance).then_some(ELEMENTS[z])
}

/// The canonical symbol ("CL", "cl", "Cl" give "Cl"), or None when no element has it.
pub fn element_symbol(text: &str) -> Option<&'static str> {
    let t = text.trim();
    ELEMENTS[1..].iter().copied().find(|e| e.eq_ignore_ascii_case(t))
}

/// The symbol of atomic number `z`, as H5MD species datasets give elements.
pub fn element_of_number(z: i64) -> Option<&'static str> {
    usize::try_from(z).ok().filter(|&z| (1..ELEMENTS.len()).contains(&z)).map(|z| ELEMENTS[z])
}

/// Residue names that hold a lone ion atom, where a two-letter atom name ("CL", "NA",
/// "CA") is the element rather than a carbon or nitrogen with a suffix.
pub const ION_RESIDUES: &[&str] = &[
    "NA", "CL", "K", "MG", "CA", "ZN", "LI", "RB", "CS", "BR", "I", "F", "MN", "FE", "FE2", "CU", "CU1", "CO", "NI", "CD", "SR", "BA",
    "AL", "HG", "SOD", "CLA", "POT", "CAL", "CES", "NA+", "CL-", "K+", "IOD", "LIT", "MG2", "ZN2",
];

/// The element an atom name implies when the file does not say, as PDB readers guess it:
/// the name's letters, a two-letter element only for a lone ion residue, else the first
/// letter ("CA" in ALA is carbon, "CA" in CA is calcium; "1HB" is hydrogen).
pub fn guess_element(name: &str, resname: &str) -> Option<&'static str> {
    let letters: String = name.chars().filter(|c| c.is_ascii_alphabetic()).collect::<String>().to_ascii_uppercase();
    if letters.is_empty() {
        return None;
    }
    if ION_RESIDUES.contains(&resname.trim().to_ascii_uppercase().as_str()) {
        if let Some(e) = element_symbol(&letters) {
            return Some(e);
        }
        if letters.len() >= 2 {
            if let Some(e) = element_symbol(&letters[..2]) {
                return Some(e);
            }
        }
    }
    element_symbol(&letters[..1])
}

/// One atom's identity as the file gives it; readers leave what their format lacks empty.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Atom {
    /// The atom name as the file gives it, trimmed; for element-only topologies the element
    /// symbol, or empty.
    pub name: String,
    /// Force-field atom type, when the format carries one.
    pub atom_type: String,
    /// The canonical symbol; None when the file gives none and none can be guessed.
    pub element: Option<&'static str>,
    /// Residue name as written; selections compare it without regard to case.
    pub resname: String,
    /// Residue number as the file numbers it (0 when it gives none); not unique across chains.
    pub resid: i64,
    /// Chain identifier; empty when the format has none.
    pub chain: String,
    /// Segment identifier (PDB columns 73-76, mdtraj's `segmentID`), which CHARMM-style
    /// systems use to tell molecules apart where chains run out; empty when the format has
    /// none. Selections (`segid`) and residues (`byres`) read it.
    pub segid: String,
}

/// The atoms of a frame in file order, and the bonds the periodic unwrap follows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Topology {
    /// One per atom of a frame, in the coordinates' order.
    pub atoms: Vec<Atom>,
    /// Pairs of atom indices.
    pub bonds: Vec<[usize; 2]>,
}

impl Topology {
    /// Atoms known only by their element (H5MD species, or nothing at all).
    pub fn from_elements(elements: Vec<Option<&'static str>>) -> Topology {
        let atoms =
            elements.into_iter().map(|element| Atom { name: element.unwrap_or("").to_string(), element, ..Default::default() }).collect();
        Topology { atoms, bonds: vec![] }
    }

    /// Atoms per frame.
    pub fn len(&self) -> usize {
        self.atoms.len()
    }

    /// Whether there are no atoms; every reader refuses such inputs, so a job's topology is
    /// never empty.
    pub fn is_empty(&self) -> bool {
        self.atoms.is_empty()
    }

    /// The atoms at `indices`, in that order, with the bonds between them renumbered.
    pub fn subset(&self, indices: &[usize]) -> Topology {
        let mut new_index = vec![usize::MAX; self.atoms.len()];
        for (n, &i) in indices.iter().enumerate() {
            new_index[i] = n;
        }
        let bonds = self
            .bonds
            .iter()
            .filter_map(|&[a, b]| {
                let (a, b) = (new_index[a], new_index[b]);
                (a != usize::MAX && b != usize::MAX).then_some([a, b])
            })
            .collect();
        Topology { atoms: indices.iter().map(|&i| self.atoms[i].clone()).collect(), bonds }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_guessed_as_pdb_readers_do() {
        assert_eq!(guess_element("CA", "ALA"), Some("C"));
        assert_eq!(guess_element("CA", "CA"), Some("Ca"));
        assert_eq!(guess_element("CL", "CL"), Some("Cl"));
        assert_eq!(guess_element("NA", "SOD"), Some("Na"));
        assert_eq!(guess_element("1HB", "ALA"), Some("H"));
        assert_eq!(guess_element("OW", "SOL"), Some("O"));
        assert_eq!(guess_element("123", "SOL"), None);
        assert_eq!(element_symbol("cl"), Some("Cl"));
        assert_eq!(element_symbol("Xx"), None);
        assert_eq!(element_of_number(29), Some("Cu"));
        assert_eq!(element_of_number(0), None);
        assert_eq!(element_of_number(119), None);
    }

    #[test]
    fn atomic_weights_are_iupacs_conventional_values() {
        assert_eq!(atomic_weight("H"), Some(1.008));
        assert_eq!(atomic_weight("c"), Some(12.011));
        assert_eq!(atomic_weight("Cl"), Some(35.45));
        assert_eq!(atomic_weight("Og"), None);
        assert_eq!(atomic_weight("Tc"), None);
        assert_eq!(atomic_weight("U"), Some(238.03));
        assert_eq!(atomic_weight("Xx"), None);
        // Each weight sits between its neighbours' (the few inversions of the periodic
        // table, Ar/K, Co/Ni, Te/I, Th/Pa, excepted), which catches a value shifted by one.
        let known: Vec<(usize, f64)> = (1..ELEMENTS.len()).filter(|&z| ATOMIC_WEIGHTS[z] > 0.0).map(|z| (z, ATOMIC_WEIGHTS[z])).collect();
        let inversions: Vec<&str> = known.windows(2).filter(|w| w[1].1 < w[0].1).map(|w| ELEMENTS[w[1].0]).collect();
        assert_eq!(inversions, ["K", "Ni", "I", "Pa"]);
        // Water, H2O: 18.015 Da.
        assert!((2.0 * atomic_weight("H").unwrap() + atomic_weight("O").unwrap() - 18.015).abs() < 1e-12);
    }

    #[test]
    fn a_subset_keeps_only_the_bonds_inside_it() {
        let mut t = Topology::from_elements(vec![Some("C"); 4]);
        t.bonds = vec![[0, 1], [1, 2], [2, 3]];
        let s = t.subset(&[3, 2, 0]);
        assert_eq!(s.bonds, vec![[1, 0]]);
        assert_eq!(s.len(), 3);
    }
}
