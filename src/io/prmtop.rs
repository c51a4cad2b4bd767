//! AMBER PRMTOP (parm7) topologies: the `%FLAG` sections for atom names, types, masses and
//! atomic numbers, residue labels and pointers, and the bonds with and without hydrogen.
//! Each section's `%FORMAT(nXw.d)` fixes the width of its fields, which is how they are cut
//! (atom names may hold spaces). Elements come from ATOMIC_NUMBER where it is positive
//! (older files lack it, extra points have -1), else from the mass, else from the name.

use super::formats::element_of_mass;
use crate::error::{Error, Result};
use crate::topology::{element_of_number, guess_element, Atom, Topology};
use std::collections::HashMap;
use std::path::Path;

fn parse_error(path: &Path, line: usize, message: String) -> Error {
    Error::Parse { path: path.into(), line, message }
}

/// One `%FLAG` section: its field width and the (line number, text) of its data lines.
struct Section<'a> {
    width: usize,
    line: usize,
    data: Vec<(usize, &'a str)>,
}

impl Section<'_> {
    /// The section's fields, trimmed, with the line each is on.
    fn fields(&self) -> impl Iterator<Item = (usize, &str)> + '_ {
        self.data.iter().flat_map(move |&(n, l)| {
            let width = self.width;
            (0..l.len().div_ceil(width)).filter_map(move |k| l.get(k * width..((k + 1) * width).min(l.len())).map(|f| (n, f.trim())))
        })
    }
}

/// The field width of a `%FORMAT(20a4)`, `(10I8)`, `(5E16.8)` line.
fn width(format: &str) -> Option<usize> {
    let inner = format.trim().strip_prefix("%FORMAT(")?.split(')').next()?;
    let letter = inner.find(|c: char| c.is_ascii_alphabetic())?;
    let spec = &inner[letter + 1..];
    spec.split('.').next()?.parse().ok().filter(|&w| w > 0)
}

/// Reads a PRMTOP file's atoms and bonds.
pub fn read(path: &Path) -> Result<Topology> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::Io { path: path.into(), error })?;
    let mut sections: HashMap<&str, Section> = HashMap::new();
    let mut current: Option<&str> = None;
    let mut seen_flag = false;
    for (k, line) in text.lines().enumerate() {
        let number = k + 1;
        if let Some(flag) = line.strip_prefix("%FLAG") {
            let flag = flag.trim();
            sections.insert(flag, Section { width: 0, line: number, data: vec![] });
            current = Some(flag);
            seen_flag = true;
        } else if line.starts_with("%FORMAT") {
            let flag = current.ok_or_else(|| parse_error(path, number, "%FORMAT before any %FLAG".into()))?;
            let w = width(line).ok_or_else(|| parse_error(path, number, format!("cannot read the field width of '{}'", line.trim())))?;
            if let Some(s) = sections.get_mut(flag) {
                s.width = w;
            }
        } else if line.starts_with('%') {
            continue;
        } else if let Some(s) = current.and_then(|f| sections.get_mut(f)) {
            if s.width == 0 {
                return Err(parse_error(path, number, format!("data of %FLAG {} before its %FORMAT", current.unwrap_or(""))));
            }
            s.data.push((number, line));
        }
    }
    if !seen_flag {
        return Err(Error::Input { path: path.into(), message: "is not an AMBER PRMTOP file: it has no %FLAG sections".into() });
    }
    let section =
        |flag: &str| sections.get(flag).ok_or_else(|| Error::Input { path: path.into(), message: format!("has no %FLAG {flag} section") });
    let integers = |flag: &str| -> Result<Vec<i64>> {
        section(flag)?
            .fields()
            .filter(|(_, f)| !f.is_empty())
            .map(|(n, f)| f.parse().map_err(|_| parse_error(path, n, format!("%FLAG {flag}: '{f}' is not an integer"))))
            .collect()
    };
    let reals = |flag: &str| -> Result<Vec<f64>> {
        section(flag)?
            .fields()
            .filter(|(_, f)| !f.is_empty())
            .map(|(n, f)| f.parse().map_err(|_| parse_error(path, n, format!("%FLAG {flag}: '{f}' is not a number"))))
            .collect()
    };
    let strings = |flag: &str, count: usize| -> Result<Vec<String>> {
        let s = section(flag)?;
        let out: Vec<String> = s.fields().take(count).map(|(_, f)| f.to_string()).collect();
        if out.len() < count {
            return Err(parse_error(path, s.line, format!("%FLAG {flag} has {} entries, expected {count}", out.len())));
        }
        Ok(out)
    };
    let pointers = integers("POINTERS")?;
    let n = match pointers.first() {
        Some(&n) if n > 0 => n as usize,
        _ => return Err(parse_error(path, section("POINTERS")?.line, "%FLAG POINTERS does not give a positive atom count (NATOM)".into())),
    };
    let count_of = |flag: &str, got: usize, expected: usize| -> Result<()> {
        if got != expected {
            return Err(parse_error(path, section(flag)?.line, format!("%FLAG {flag} has {got} entries, expected {expected}")));
        }
        Ok(())
    };
    let names = strings("ATOM_NAME", n)?;
    let masses = reals("MASS")?;
    count_of("MASS", masses.len(), n)?;
    let numbers = if sections.contains_key("ATOMIC_NUMBER") {
        let z = integers("ATOMIC_NUMBER")?;
        count_of("ATOMIC_NUMBER", z.len(), n)?;
        Some(z)
    } else {
        None
    };
    let types = if sections.contains_key("AMBER_ATOM_TYPE") { strings("AMBER_ATOM_TYPE", n)? } else { vec![String::new(); n] };
    let pointer = integers("RESIDUE_POINTER")?;
    let labels = strings("RESIDUE_LABEL", pointer.len())?;
    let first_line = section("RESIDUE_POINTER")?.line;
    let mut residue_of = vec![usize::MAX; n];
    for (r, &p) in pointer.iter().enumerate() {
        // Saturating: a pointer of i64::MIN from the file must be refused below, not wrap.
        let start = p.saturating_sub(1);
        let end = pointer.get(r + 1).map_or(n as i64, |&q| q.saturating_sub(1));
        if start < 0 || end > n as i64 || start >= end {
            return Err(parse_error(
                path,
                first_line,
                format!("%FLAG RESIDUE_POINTER: residue {} starts at atom {p}, out of order or beyond the {n} atoms", r + 1),
            ));
        }
        residue_of[start as usize..end as usize].iter_mut().for_each(|x| *x = r);
    }
    if residue_of[0] == usize::MAX {
        return Err(parse_error(path, first_line, "%FLAG RESIDUE_POINTER: the first residue must start at atom 1".into()));
    }
    let atoms = (0..n)
        .map(|i| {
            let resname = labels[residue_of[i]].clone();
            let given = numbers.as_ref().and_then(|z| element_of_number(z[i]));
            let element = given.or_else(|| element_of_mass(masses[i])).or_else(|| guess_element(&names[i], &resname));
            Atom {
                name: names[i].clone(),
                atom_type: types[i].clone(),
                element,
                resname,
                resid: residue_of[i] as i64 + 1,
                chain: String::new(),
                segid: String::new(),
            }
        })
        .collect();
    let mut bonds = vec![];
    for flag in ["BONDS_INC_HYDROGEN", "BONDS_WITHOUT_HYDROGEN"] {
        if !sections.contains_key(flag) {
            continue;
        }
        let values = integers(flag)?;
        let line = section(flag)?.line;
        if values.len() % 3 != 0 {
            return Err(parse_error(path, line, format!("%FLAG {flag} has {} entries, not triples (atom, atom, type)", values.len())));
        }
        for t in values.chunks(3) {
            let index = |v: i64| {
                (v >= 0 && v % 3 == 0 && ((v / 3) as usize) < n).then_some((v / 3) as usize).ok_or_else(|| {
                    parse_error(path, line, format!("%FLAG {flag}: {v} is not an atom's coordinate index (3 x atom, below {})", 3 * n))
                })
            };
            let (a, b) = (index(t[0])?, index(t[1])?);
            if a != b {
                bonds.push([a.min(b), a.max(b)]);
            }
        }
    }
    bonds.sort_unstable();
    bonds.dedup();
    Ok(Topology { atoms, bonds })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_widths() {
        assert_eq!(width("%FORMAT(20a4)"), Some(4));
        assert_eq!(width("%FORMAT(10I8)  "), Some(8));
        assert_eq!(width("%FORMAT(5E16.8)"), Some(16));
        assert_eq!(width("%FORMAT(a80)"), Some(80));
        assert_eq!(width("%FORMAT()"), None);
    }
}
