//! Atom radii: the sphere each atom becomes. A built-in van der Waals table, or a user's
//! `<key> <radius>` file, looked up by element, atom name or atom type, then scaled, then
//! grown by a hydration shell of fixed thickness (`--radius-add`): r' = r x scale + add.
//! Radii are in Angstrom, like the coordinates readers produce.

use crate::error::{Error, Result, Setting};
use crate::topology::Topology;
use std::collections::BTreeMap;
use std::path::Path;

/// Bondi (J. Phys. Chem. 68, 441, 1964), completed for the main-group elements Bondi
/// left out by Mantina et al. (J. Phys. Chem. A 113, 5806, 2009). Transition metals
/// without a published van der Waals radius of this kind (Fe, Mn, Co, ...) are absent
/// on purpose: a guessed radius would be a silently wrong number, so they must come from
/// `--radii FILE`.
const BONDI: &[(&str, f64)] = &[
    ("H", 1.20),
    ("He", 1.40),
    ("Li", 1.82),
    ("Be", 1.53),
    ("B", 1.92),
    ("C", 1.70),
    ("N", 1.55),
    ("O", 1.52),
    ("F", 1.47),
    ("Ne", 1.54),
    ("Na", 2.27),
    ("Mg", 1.73),
    ("Al", 1.84),
    ("Si", 2.10),
    ("P", 1.80),
    ("S", 1.80),
    ("Cl", 1.75),
    ("Ar", 1.88),
    ("K", 2.75),
    ("Ca", 2.31),
    ("Ni", 1.63),
    ("Cu", 1.40),
    ("Zn", 1.39),
    ("Ga", 1.87),
    ("Ge", 2.11),
    ("As", 1.85),
    ("Se", 1.90),
    ("Br", 1.85),
    ("Kr", 2.02),
    ("Rb", 3.03),
    ("Sr", 2.49),
    ("Pd", 1.63),
    ("Ag", 1.72),
    ("Cd", 1.58),
    ("In", 1.93),
    ("Sn", 2.17),
    ("Sb", 2.06),
    ("Te", 2.06),
    ("I", 1.98),
    ("Xe", 2.16),
    ("Cs", 3.43),
    ("Ba", 2.68),
    ("Pt", 1.72),
    ("Au", 1.66),
    ("Hg", 1.55),
    ("Tl", 1.96),
    ("Pb", 2.02),
    ("Bi", 2.07),
    ("Po", 1.97),
    ("At", 2.02),
    ("Rn", 2.20),
    ("Fr", 3.48),
    ("Ra", 2.83),
    ("U", 1.86),
];

/// The table in ZENO's own PDB-to-.bod converter (`cpp/aux/pdb2bod_no_hydration.py` in
/// usnistgov/ZENO): van der Waals radii of the six elements of proteins and nucleic
/// acids, by element. Choosing it reproduces the bodies ZENO users build with that script
/// (whose P and S differ from Bondi's 1.80), and like the script it names nothing else.
const ZENO: &[(&str, f64)] = &[("H", 1.20), ("C", 1.70), ("N", 1.55), ("O", 1.52), ("P", 1.90), ("S", 1.85)];

/// The built-in tables, by the name `--radii` takes.
const BUILT_IN: &[(&str, &[(&str, f64)])] = &[("bondi", BONDI), ("zeno", ZENO)];

/// Which attribute of an atom its radius is looked up by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RadiiKey {
    /// The chemical element: the input's, or for a PDB without one, guessed from the atom
    /// name. What the built-in tables are keyed by.
    Element,
    /// The atom name as the topology spells it (CA, OW, ...), for radii files written per
    /// name.
    Name,
    /// The force-field atom type, for formats that carry one; an empty type counts as
    /// missing.
    Type,
}

impl RadiiKey {
    /// The key's name as options and reports spell it.
    pub fn name(self) -> &'static str {
        match self {
            RadiiKey::Element => "element",
            RadiiKey::Name => "name",
            RadiiKey::Type => "type",
        }
    }
}

/// A radius per key; keys compare without regard to case, as PDB and force-field
/// files disagree on it.
#[derive(Clone, Debug, PartialEq)]
pub struct RadiiTable {
    /// The built-in table's name or the file's path, as reports and error messages name the
    /// table.
    pub source: String,
    radii: BTreeMap<String, f64>,
}

impl RadiiTable {
    /// The default table when no `--radii` or `--radius` is given.
    pub fn bondi() -> RadiiTable {
        RadiiTable::from_pairs("bondi", BONDI)
    }

    /// A built-in table by name (case-insensitive): `bondi` or `zeno`.
    pub fn built_in(name: &str) -> Option<RadiiTable> {
        let (name, table) = BUILT_IN.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))?;
        Some(RadiiTable::from_pairs(name, table))
    }

    fn from_pairs(source: &str, table: &[(&str, f64)]) -> RadiiTable {
        RadiiTable { source: source.into(), radii: table.iter().map(|&(k, r)| (k.to_ascii_uppercase(), r)).collect() }
    }

    /// A built-in table by name, else a file of `<key> <radius>` lines (# starts a comment).
    pub fn named_or_file(spec: &str) -> Result<RadiiTable> {
        if let Some(table) = RadiiTable::built_in(spec) {
            return Ok(table);
        }
        let path = Path::new(spec);
        let text = std::fs::read_to_string(path).map_err(|error| match error.kind() {
            // A typo of a table's name ("bondy") is read as a missing file: say both.
            std::io::ErrorKind::NotFound => Error::Option(format!(
                "--radii {spec}: no built-in table has that name ({}) and there is no such file",
                BUILT_IN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            )),
            _ => Error::Io { path: path.into(), error },
        })?;
        RadiiTable::parse(&text, path)
    }

    /// Parses `<key> <radius>` lines in Angstrom; `path` only names the source in errors
    /// and [`RadiiTable::source`]. Refuses non-positive radii and a key given twice
    /// (ignoring case). A UTF-8 byte-order mark at the start is skipped, so it does not
    /// become part of the first key.
    pub fn parse(text: &str, path: &Path) -> Result<RadiiTable> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut radii = BTreeMap::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let err = |message: String| Error::Parse { path: path.into(), line: n + 1, message };
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [key, radius] = fields[..] else {
                return Err(err(format!("expected '<key> <radius>', got '{line}'")));
            };
            let r: f64 = radius.parse().map_err(|_| err(format!("radius '{radius}' is not a number")))?;
            if !(r.is_finite() && r > 0.0) {
                return Err(err(format!("radius of '{key}' must be positive, got {radius}")));
            }
            if radii.insert(key.to_ascii_uppercase(), r).is_some() {
                return Err(err(format!("'{key}' is given twice")));
            }
        }
        if radii.is_empty() {
            return Err(Error::Input { path: path.into(), message: "no radii in the file".into() });
        }
        Ok(RadiiTable { source: path.display().to_string(), radii })
    }

    /// The radius of `key` ignoring case, in Angstrom; None when the table lacks it.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.radii.get(&key.to_ascii_uppercase()).copied()
    }
}

/// How every atom gets its radius.
#[derive(Clone, Debug)]
pub enum Radii {
    /// One radius for every atom, for coarse-grained beads or files without elements.
    Uniform(f64),
    /// Looked up per atom in a table by one of the atom's attributes.
    Table {
        /// Radii in Angstrom, unscaled.
        table: RadiiTable,
        /// Which attribute of each atom is looked up.
        key: RadiiKey,
    },
    /// One radius per selected atom, in their order, as a program already has them (the
    /// Python module's arrays, a ZenoWrapper `type_radii` resolved per atom).
    PerAtom(Vec<f64>),
}

/// Refuses a radius scale that would make empty or inverted spheres.
pub fn check_scale(scale: f64) -> Result<()> {
    if scale.is_finite() && scale > 0.0 {
        Ok(())
    } else {
        Err(Setting::RadiusScale.invalid(format!("must be a positive number, got {scale}")))
    }
}

/// Radius scales outside this range get a note: 0.1 is likelier a mistyped 10 % than a
/// body a tenth the size, and 10 a mistyped 10 % the other way.
pub const USUAL_SCALE: (f64, f64) = (0.5, 2.0);

/// A note for a radius scale outside [`USUAL_SCALE`], saying what it does and how a shell
/// is usually given; None for a usual scale.
pub fn scale_note(scale: f64) -> Option<String> {
    let (low, high) = USUAL_SCALE;
    (scale < low || scale > high).then(|| {
        format!(
            "--radius-scale {scale} multiplies every radius by {scale}, outside the usual {low} to {high}: \
             10 % larger radii are --radius-scale 1.1, a hydration shell of D Angstrom is --radius-add D"
        )
    })
}

/// Refuses a shell thickness that is not a finite number (a negative one shrinks radii).
pub fn check_add(add: f64) -> Result<()> {
    if add.is_finite() {
        Ok(())
    } else {
        Err(Setting::RadiusAdd.invalid(format!("must be a finite number of Angstrom, got {add}")))
    }
}

/// Adds a shell `add` (already in the radii's length unit) to every radius: a hydration
/// layer of fixed thickness, applied after the table lookup and the scale, so the
/// thickness is the one asked for whatever the scale. `add_angstrom` and `unit` only word
/// the error for a shell that leaves a radius at or below zero.
pub fn add_shell(radii: &mut [f64], add: f64, add_angstrom: f64, unit: &str) -> Result<()> {
    if add == 0.0 {
        return Ok(());
    }
    for r in radii.iter_mut() {
        *r += add;
    }
    let bad = radii.iter().filter(|&&r| r <= 0.0 || r.is_nan()).count();
    if bad > 0 {
        let smallest = (radii.iter().copied().fold(f64::INFINITY, f64::min) * 1e6).round() / 1e6;
        return Err(Error::Option(format!(
            "--radius-add {add_angstrom} leaves {bad} radi{} at or below zero (the smallest is {smallest} {unit}): radii must stay positive",
            if bad == 1 { "us" } else { "i" }
        )));
    }
    Ok(())
}

/// The radius of each atom of `topology` times `scale`. Every atom without a radius is
/// reported at once, so a user fixes a radii file in one go rather than one key per run.
pub fn assign(topology: &Topology, radii: &Radii, scale: f64) -> Result<Vec<f64>> {
    check_scale(scale)?;
    let (table, key) = match radii {
        Radii::Uniform(r) => {
            if !(r.is_finite() && *r > 0.0) {
                return Err(Setting::Radius.invalid(format!("must be a positive number, got {r}")));
            }
            return Ok(vec![r * scale; topology.len()]);
        }
        Radii::Table { table, key } => (table, *key),
        Radii::PerAtom(radii) => {
            if radii.len() != topology.len() {
                return Err(Error::Option(format!("{} radii given for {} atoms: give one per selected atom", radii.len(), topology.len())));
            }
            if let Some((i, r)) = radii.iter().enumerate().find(|(_, r)| !(r.is_finite() && **r > 0.0)) {
                return Err(Error::Option(format!("the radius of atom {i} must be a positive number, got {r}")));
            }
            return Ok(radii.iter().map(|r| r * scale).collect());
        }
    };
    let mut missing: BTreeMap<String, usize> = BTreeMap::new();
    // Named atoms without the key (an element for a TIP4P virtual site "MW", say), by name
    // and residue, so the message says which atoms to select out.
    let mut no_element: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(topology.len());
    for atom in &topology.atoms {
        let k = match key {
            RadiiKey::Element => atom.element.map(str::to_string),
            RadiiKey::Name => Some(atom.name.clone()).filter(|s| !s.is_empty()),
            RadiiKey::Type => Some(atom.atom_type.clone()).filter(|s| !s.is_empty()),
        };
        match k.as_deref().and_then(|k| table.get(k)) {
            Some(r) => out.push(r * scale),
            None => {
                if k.is_none() && !atom.name.is_empty() {
                    *no_element.entry((atom.name.as_str(), atom.resname.as_str())).or_default() += 1;
                }
                *missing.entry(k.unwrap_or_else(|| "(none)".into())).or_default() += 1
            }
        }
    }
    if missing.is_empty() {
        return Ok(out);
    }
    let what = match key {
        RadiiKey::Element => "element",
        RadiiKey::Name => "atom name",
        RadiiKey::Type => "atom type",
    };
    let atoms = |n: usize| format!("{n} atom{}", if n == 1 { "" } else { "s" });
    let list: Vec<String> = missing
        .iter()
        .map(|(k, &n)| match k.as_str() {
            "(none)" if !no_element.is_empty() => format!("(none) ({}: {})", atoms(n), examples(&no_element)),
            _ => format!("{k} ({})", atoms(n)),
        })
        .collect();
    let hint = match (missing.contains_key("(none)"), key) {
        (true, RadiiKey::Element) if !no_element.is_empty() => {
            "; the input gives those atoms no element and none can be guessed from their names: leave them out with --select, give --topology, --radii-key name with --radii FILE, or --radius R"
        }
        (true, RadiiKey::Element) => "; the input names no elements: give --topology, --radii-key name with --radii FILE, or --radius R",
        (true, _) => "; the input has no such field: choose another --radii-key",
        (false, _) => "; add them to a --radii FILE",
    };
    Err(Error::Option(format!("no radius in table '{}' for {what} {}{hint}", table.source, list.join(", "))))
}

/// The commonest kinds of atom in `counts` as "NAME in RESNAME", three at most.
fn examples(counts: &BTreeMap<(&str, &str), usize>) -> String {
    let mut kinds: Vec<_> = counts.iter().collect();
    kinds.sort_by_key(|(_, &n)| std::cmp::Reverse(n));
    let named: Vec<String> = kinds
        .iter()
        .take(3)
        .map(|((name, resname), _)| if resname.is_empty() { name.to_string() } else { format!("{name} in {resname}") })
        .collect();
    match kinds.len() {
        n if n > 3 => format!("{} and {} more", named.join(", "), n - 3),
        _ => named.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Atom;

    fn atoms(elements: &[Option<&'static str>]) -> Topology {
        Topology::from_elements(elements.to_vec())
    }

    #[test]
    fn bondi_radii_are_scaled() {
        let r = assign(&atoms(&[Some("C"), Some("H")]), &Radii::Table { table: RadiiTable::bondi(), key: RadiiKey::Element }, 1.5).unwrap();
        assert_eq!(r, vec![1.70 * 1.5, 1.20 * 1.5]);
    }

    #[test]
    fn a_shell_is_added_after_the_scale_and_odd_scales_are_noted() {
        let mut r =
            assign(&atoms(&[Some("C"), Some("H")]), &Radii::Table { table: RadiiTable::bondi(), key: RadiiKey::Element }, 2.0).unwrap();
        add_shell(&mut r, 1.5, 1.5, "A").unwrap();
        assert_eq!(r, vec![1.70 * 2.0 + 1.5, 1.20 * 2.0 + 1.5]);
        let mut r = vec![1.7, 1.2];
        assert_eq!(
            add_shell(&mut r, -1.5, -1.5, "A").unwrap_err().to_string(),
            "invalid option: --radius-add -1.5 leaves 1 radius at or below zero (the smallest is -0.3 A): radii must stay positive"
        );
        assert_eq!(
            check_add(f64::NAN).unwrap_err().to_string(),
            "invalid option: --radius-add must be a finite number of Angstrom, got NaN"
        );
        assert_eq!(scale_note(1.1), None);
        assert_eq!(scale_note(0.5), None);
        assert_eq!(scale_note(2.0), None);
        assert_eq!(
            scale_note(0.1).unwrap(),
            "--radius-scale 0.1 multiplies every radius by 0.1, outside the usual 0.5 to 2: 10 % larger radii are --radius-scale 1.1, a hydration shell of D Angstrom is --radius-add D"
        );
        assert!(scale_note(10.0).unwrap().starts_with("--radius-scale 10 multiplies every radius by 10, outside"));
    }

    #[test]
    fn zenos_table_is_its_converters_and_names_nothing_else() {
        let zeno = RadiiTable::named_or_file("ZENO").unwrap();
        assert_eq!(zeno.source, "zeno");
        let t = atoms(&[Some("H"), Some("C"), Some("N"), Some("O"), Some("P"), Some("S")]);
        let table = Radii::Table { table: zeno.clone(), key: RadiiKey::Element };
        assert_eq!(assign(&t, &table, 1.0).unwrap(), vec![1.20, 1.70, 1.55, 1.52, 1.90, 1.85]);
        let e = assign(&atoms(&[Some("C"), Some("Na")]), &table, 1.0).unwrap_err();
        assert_eq!(e.to_string(), "invalid option: no radius in table 'zeno' for element Na (1 atom); add them to a --radii FILE");
    }

    #[test]
    fn every_missing_key_is_listed_once_with_its_count() {
        let t = atoms(&[Some("Fe"), Some("C"), Some("Fe"), Some("Mn"), None]);
        let e = assign(&t, &Radii::Table { table: RadiiTable::bondi(), key: RadiiKey::Element }, 1.0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid option: no radius in table 'bondi' for element (none) (1 atom), Fe (2 atoms), Mn (1 atom); the input names no elements: give --topology, --radii-key name with --radii FILE, or --radius R"
        );
    }

    #[test]
    fn named_atoms_without_an_element_are_named_in_the_error() {
        let atom = |name: &str, resname: &str, element| Atom { name: name.into(), resname: resname.into(), element, ..Default::default() };
        let mut atoms = vec![atom("OW", "SOL", Some("O")), atom("MW", "SOL", None), atom("MW", "SOL", None), atom("C", "LIG", Some("C"))];
        let t = Topology { atoms: atoms.clone(), bonds: vec![] };
        let e = assign(&t, &Radii::Table { table: RadiiTable::bondi(), key: RadiiKey::Element }, 1.0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid option: no radius in table 'bondi' for element (none) (2 atoms: MW in SOL); the input gives those atoms no element and none can be guessed from their names: leave them out with --select, give --topology, --radii-key name with --radii FILE, or --radius R"
        );
        atoms.extend([atom("X1", "", None), atom("X2", "LIG", None), atom("X3", "LIG", None), atom("X3", "LIG", None)]);
        let t = Topology { atoms, bonds: vec![] };
        let e = assign(&t, &Radii::Table { table: RadiiTable::bondi(), key: RadiiKey::Element }, 1.0).unwrap_err().to_string();
        assert!(e.contains("for element (none) (6 atoms: MW in SOL, X3 in LIG, X1 and 1 more); "), "{e}");
    }

    #[test]
    fn radii_files_are_read_by_name_and_errors_name_the_line() {
        let p = Path::new("r.txt");
        let table = RadiiTable::parse("# united atoms\nCA 1.9\nN 1.6 # backbone\n\n", p).unwrap();
        let t = Topology {
            atoms: vec![Atom { name: "ca".into(), ..Default::default() }, Atom { name: "N".into(), ..Default::default() }],
            bonds: vec![],
        };
        assert_eq!(assign(&t, &Radii::Table { table, key: RadiiKey::Name }, 1.0).unwrap(), vec![1.9, 1.6]);
        assert_eq!(RadiiTable::parse("CA x\n", p).unwrap_err().to_string(), "r.txt, line 1: radius 'x' is not a number");
        assert_eq!(RadiiTable::parse("CA 1 2\n", p).unwrap_err().to_string(), "r.txt, line 1: expected '<key> <radius>', got 'CA 1 2'");
        assert_eq!(RadiiTable::parse("CA 1\nca 2\n", p).unwrap_err().to_string(), "r.txt, line 2: 'ca' is given twice");
        assert_eq!(RadiiTable::parse("CA -1\n", p).unwrap_err().to_string(), "r.txt, line 1: radius of 'CA' must be positive, got -1");
    }
}
