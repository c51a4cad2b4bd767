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
    fn a_subset_keeps_only_the_bonds_inside_it() {
        let mut t = Topology::from_elements(vec![Some("C"); 4]);
        t.bonds = vec![[0, 1], [1, 2], [2, 3]];
        let s = t.subset(&[3, 2, 0]);
        assert_eq!(s.bonds, vec![[1, 0]]);
        assert_eq!(s.len(), 3);
    }
}
