//! CHARMM/NAMD PSF topologies (standard, EXT and X-PLOR flavours): per atom the segment,
//! residue number and name, atom name, type and mass, and the bond list; the angles and
//! dihedrals after it are not read. A PSF names no elements, so each atom's element is
//! the one its mass is (within 0.1 Da), else the one its name suggests, as for PDB: masses
//! moved by hydrogen mass repartitioning fall back to the name.
//!
//! Sections open with a header line `COUNT !NAME` (`!NTITLE`, `!NATOM`, `!NBOND: bonds`);
//! fields are read by whitespace, which all three flavours' fixed columns allow.

use super::formats::element_of_mass;
use crate::error::{Error, Result};
use crate::topology::{guess_element, Atom, Topology};
use std::path::Path;

fn parse_error(path: &Path, line: usize, message: String) -> Error {
    Error::Parse { path: path.into(), line, message }
}

/// `COUNT !NAME...` as (count, NAME), for a section header line.
fn header(line: &str) -> Option<(usize, &str)> {
    let mut tokens = line.split_whitespace();
    let count = tokens.next()?.parse().ok()?;
    let name = tokens.next()?.strip_prefix('!')?;
    Some((count, name.split(':').next().unwrap_or(name)))
}

/// The leading integer of a residue number (`12A`, with an insertion code, is 12).
fn resid(text: &str) -> Option<i64> {
    let end = text.char_indices().find(|&(k, c)| !(c.is_ascii_digit() || (k == 0 && c == '-'))).map_or(text.len(), |(k, _)| k);
    text[..end].parse().ok()
}

/// Reads a PSF file's atoms and bonds.
pub fn read(path: &Path) -> Result<Topology> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::Io { path: path.into(), error })?;
    let lines: Vec<&str> = text.lines().collect();
    let first = lines.iter().position(|l| !l.trim().is_empty());
    if first.is_none_or(|k| !lines[k].trim_start().trim_start_matches('\u{feff}').starts_with("PSF")) {
        return Err(parse_error(path, first.map_or(1, |k| k + 1), "not a PSF file: the first line must start with PSF".into()));
    }
    let mut atoms: Option<Vec<Atom>> = None;
    let mut bonds = vec![];
    let mut k = first.unwrap_or(0) + 1;
    while k < lines.len() {
        let Some((count, name)) = header(lines[k]) else {
            k += 1;
            continue;
        };
        let at = k + 1;
        match name {
            // Every count is the file's word: arithmetic on it is checked, since a count near
            // 2^64 wraps (k went back and the loop never ended) and 2 x a count >= 2^63
            // wrapped to a small number of bonds (the rest dropped without a word).
            "NTITLE" => {
                k = at.checked_add(count).filter(|&end| end <= lines.len()).ok_or_else(|| {
                    parse_error(
                        path,
                        at,
                        format!("!NTITLE announces {count} title lines, but the file ends {} lines after it", lines.len() - at),
                    )
                })?
            }
            "NATOM" => {
                let mut list = Vec::with_capacity(count.min(lines.len()));
                for n in 0..count {
                    let number = at + n + 1;
                    let line = lines.get(at + n).ok_or_else(|| {
                        parse_error(path, lines.len(), format!("the file ends after {n} of the {count} atoms !NATOM announces"))
                    })?;
                    list.push(atom(line, path, number)?);
                }
                atoms = Some(list);
                k = at + count;
            }
            "NBOND" => {
                let n_atoms = atoms.as_ref().map_or(0, Vec::len);
                let wanted = count
                    .checked_mul(2)
                    .ok_or_else(|| parse_error(path, at, format!("!NBOND announces {count} bonds, more than any file can hold")))?;
                let mut ids = Vec::with_capacity(wanted.min(lines.len().saturating_mul(8)));
                let mut j = at;
                while ids.len() < wanted {
                    let line = lines.get(j).ok_or_else(|| {
                        parse_error(
                            path,
                            lines.len(),
                            format!("the file ends after {} of the {count} bonds !NBOND announces", ids.len() / 2),
                        )
                    })?;
                    for t in line.split_whitespace() {
                        let id: usize =
                            t.parse().map_err(|_| parse_error(path, j + 1, format!("bond atom '{t}' is not an atom number")))?;
                        if id == 0 || id > n_atoms {
                            return Err(parse_error(path, j + 1, format!("a bond names atom {id}, but the file has {n_atoms} atoms")));
                        }
                        ids.push(id - 1);
                    }
                    j += 1;
                }
                bonds = ids.chunks(2).filter(|p| p.len() == 2 && p[0] != p[1]).map(|p| [p[0].min(p[1]), p[0].max(p[1])]).collect();
                break;
            }
            _ => k += 1,
        }
    }
    let atoms = atoms.ok_or_else(|| Error::Input { path: path.into(), message: "has no !NATOM section".into() })?;
    if atoms.is_empty() {
        return Err(Error::Input { path: path.into(), message: "has no atoms (!NATOM is 0)".into() });
    }
    bonds.sort_unstable();
    bonds.dedup();
    Ok(Topology { atoms, bonds })
}

/// One `!NATOM` line: id, segment, residue number, residue name, atom name, type, charge,
/// mass (and fields after, which are not needed).
fn atom(line: &str, path: &Path, number: usize) -> Result<Atom> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 8 {
        return Err(parse_error(
            path,
            number,
            format!("an atom line has {} fields, expected at least 8 (id segid resid resname name type charge mass)", f.len()),
        ));
    }
    let resid = resid(f[2]).ok_or_else(|| parse_error(path, number, format!("residue number '{}' is not a number", f[2])))?;
    let mass: f64 = f[7].parse().map_err(|_| parse_error(path, number, format!("mass '{}' is not a number", f[7])))?;
    let (name, resname) = (f[4].to_string(), f[3].to_string());
    let element = element_of_mass(mass).or_else(|| guess_element(&name, &resname));
    Ok(Atom { name, atom_type: f[5].to_string(), element, resname, resid, chain: String::new(), segid: f[1].to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        let dir = std::env::temp_dir().join(format!("trajwalk-psf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{:x}.psf", text.len()));
        std::fs::write(&path, text).unwrap();
        let e = read(&path).unwrap_err().to_string().replace(&path.display().to_string(), "x.psf");
        std::fs::remove_file(path).unwrap();
        e
    }

    const ATOMS: &str = "       2 !NATOM\n       1 P 1 ALA N NH3 -0.3 14.007 0\n       2 P 1 ALA CA CT1 0.2 12.011 0\n";

    /// Counts near 2^64 neither wrap nor loop: NTITLE = 2^64 - 1 looped for ever, and NBOND
    /// = 2^63 wrapped 2 x 2^63 to 0 bonds, read as none.
    #[test]
    fn counts_near_the_top_of_usize_are_refused_not_wrapped() {
        assert_eq!(
            error(&format!("PSF\n\n {} !NTITLE\n REMARKS x\n\n{ATOMS}", usize::MAX)),
            "x.psf, line 3: !NTITLE announces 18446744073709551615 title lines, but the file ends 5 lines after it"
        );
        assert_eq!(
            error(&format!("PSF\n\n{ATOMS}\n 9223372036854775808 !NBOND: bonds\n       1       2\n")),
            "x.psf, line 7: !NBOND announces 9223372036854775808 bonds, more than any file can hold"
        );
        assert_eq!(
            error(&format!("PSF\n\n{ATOMS}\n 9223372036854775807 !NBOND: bonds\n       1       2\n")),
            "x.psf, line 8: the file ends after 1 of the 9223372036854775807 bonds !NBOND announces"
        );
    }

    #[test]
    fn headers_and_residue_numbers_parse() {
        assert_eq!(header("       3 !NATOM"), Some((3, "NATOM")));
        assert_eq!(header("       2 !NBOND: bonds"), Some((2, "NBOND")));
        assert_eq!(header(" REMARKS x"), None);
        assert_eq!(resid("12A"), Some(12));
        assert_eq!(resid("-3"), Some(-3));
        assert_eq!(resid("A"), None);
    }
}
