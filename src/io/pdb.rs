//! PDB files, as a topology (`--topology`) and as a trajectory (one frame per MODEL).
//!
//! Columns as the PDB format fixes them: atom name 13-16, residue name 18-21, chain 22,
//! residue number 23-26, x/y/z 31-54, element 77-78. When the element columns are blank
//! (MDAnalysis and many tools leave them so) the element is guessed from the atom name.
//! CONECT records become bonds; CRYST1 the periodic cell (a 1 x 1 x 1 Angstrom cell is the
//! format's placeholder for "no cell" and is ignored). Opening scans the file once for
//! where each model starts, so a chunk of frames is read by seeking, and memory does not
//! grow with the number of models; the scan also checks every ATOM/HETATM line's
//! coordinates, so a damaged line is reported as itself before anything else is checked.
//! A UTF-8 byte-order mark at the start of the file is skipped.

use crate::error::{Error, Result};
use crate::topology::{element_symbol, guess_element, Atom, Topology};
use crate::trajectory::{Chunk, Format, Frame, FrameInfo, FrameReader, Segment, Trajectory};
use crate::units::LengthUnit;
use crate::vec3::M3;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where each model starts, and the cell in force for it.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    models: Arc<Vec<Model>>,
    atoms: usize,
}

#[derive(Clone, Debug)]
struct Model {
    offset: u64,
    line: usize,
    cell: Option<M3>,
}

fn field(line: &str, cols: Range<usize>) -> &str {
    let end = cols.end.min(line.len());
    line.get(cols.start.min(end)..end).unwrap_or("").trim()
}

fn is_atom(line: &str) -> bool {
    line.starts_with("ATOM  ") || line.starts_with("HETATM")
}

fn parse_error(path: &Path, line: usize, message: String) -> Error {
    Error::Parse { path: path.into(), line, message }
}

fn coordinates(line: &str, path: &Path, number: usize) -> Result<[f64; 3]> {
    let mut x = [0.0; 3];
    for (k, (axis, cols)) in [("x", 30..38), ("y", 38..46), ("z", 46..54)].into_iter().enumerate() {
        let text = field(line, cols);
        x[k] = text.parse().map_err(|_| parse_error(path, number, format!("{axis} coordinate '{text}' is not a number")))?;
    }
    Ok(x)
}

/// The cell of a CRYST1 record (lengths a, b, c and angles alpha, beta, gamma), with the
/// first vector along x and the second in the xy plane, as the PDB convention has it.
fn cryst1(line: &str, path: &Path, number: usize) -> Result<Option<M3>> {
    let mut p = [0.0f64; 6];
    for (k, cols) in [6..15, 15..24, 24..33, 33..40, 40..47, 47..54].into_iter().enumerate() {
        let text = field(line, cols);
        p[k] = match text.parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            Ok(_) => return Err(parse_error(path, number, format!("CRYST1 value '{text}' is not a finite number"))),
            Err(_) => return Err(parse_error(path, number, format!("CRYST1 value '{text}' is not a number"))),
        };
    }
    let [a, b, c, al, be, ga] = p;
    // `1 1 1` and all zeros are the placeholders writers use for "no box"; any other edge
    // that is not positive is a wrong box, refused with the frame by the periodic check.
    if (a == 1.0 && b == 1.0 && c == 1.0) || (a == 0.0 && b == 0.0 && c == 0.0) {
        return Ok(None);
    }
    if a <= 0.0 || b <= 0.0 || c <= 0.0 {
        return Err(parse_error(path, number, format!("CRYST1 edges {a} {b} {c} are not all positive (1 1 1 or 0 0 0 would mean no box)")));
    }
    let (al, be, ga) = (al.to_radians(), be.to_radians(), ga.to_radians());
    let cx = c * be.cos();
    let cy = c * (al.cos() - be.cos() * ga.cos()) / ga.sin();
    let cz2 = c * c - cx * cx - cy * cy;
    if cz2.is_nan() || cz2 <= 0.0 {
        return Err(parse_error(path, number, "CRYST1 angles do not make a cell".into()));
    }
    Ok(Some([[a, 0.0, 0.0], [b * ga.cos(), b * ga.sin(), 0.0], [cx, cy, cz2.sqrt()]]))
}

fn open_file(path: &Path) -> Result<BufReader<std::fs::File>> {
    std::fs::File::open(path).map(BufReader::new).map_err(|error| Error::Io { path: path.into(), error })
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |error| Error::Io { path: path.into(), error }
}

/// The atoms of the first model, and the bonds of the CONECT records. Coordinates are not
/// read, so a file used only as a topology need not have them.
pub fn read_topology(path: &Path) -> Result<Topology> {
    scan(path, false).map(|(topology, _)| topology)
}

/// One pass over the file: the first model's atoms, the CONECT bonds, and where each model
/// starts with the cell in force for it; with `check_coordinates`, every ATOM/HETATM line's
/// coordinates are parsed too, so a truncated or damaged line is reported at open, as
/// itself, rather than after the atoms it names have been given radii.
fn scan(path: &Path, check_coordinates: bool) -> Result<(Topology, Vec<Model>)> {
    let mut r = open_file(path)?;
    let mut atoms = vec![];
    let mut serials = std::collections::HashMap::new();
    let mut bonds = vec![];
    let mut models = vec![];
    let mut first_atom = None;
    let mut cell = None;
    let mut in_first_model = true;
    let (mut offset, mut number) = (0u64, 0);
    let mut line = String::new();
    loop {
        let mut n = r.read_line(&mut line).map_err(io_error(path))?;
        if n == 0 {
            break;
        }
        number += 1;
        if number == 1 && line.starts_with('\u{feff}') {
            // A byte-order mark: not part of the first record, and models are read from
            // after it.
            let bom = '\u{feff}'.len_utf8();
            line.replace_range(..bom, "");
            offset += bom as u64;
            n -= bom;
        }
        let l = line.trim_end_matches(['\n', '\r']);
        if l.starts_with("CRYST1") {
            cell = cryst1(l, path, number)?;
        } else if l.starts_with("MODEL") {
            models.push(Model { offset, line: number, cell });
        } else if l.starts_with("ENDMDL") {
            in_first_model = false;
        } else if is_atom(l) {
            if check_coordinates {
                coordinates(l, path, number)?;
            }
            if first_atom.is_none() {
                first_atom = Some(Model { offset, line: number, cell });
            }
            if in_first_model {
                let name = field(l, 12..16).to_string();
                let resname = field(l, 17..21).to_string();
                let element = match field(l, 76..78) {
                    "" => guess_element(&name, &resname),
                    e => Some(element_symbol(e).ok_or_else(|| parse_error(path, number, format!("unknown element '{e}'")))?),
                };
                if let Ok(serial) = field(l, 6..11).parse::<i64>() {
                    serials.insert(serial, atoms.len());
                }
                atoms.push(Atom {
                    name,
                    atom_type: String::new(),
                    element,
                    resname,
                    resid: field(l, 22..26).parse().unwrap_or(0),
                    chain: field(l, 21..22).to_string(),
                    segid: field(l, 72..76).to_string(),
                });
            }
        } else if l.starts_with("CONECT") {
            let ids: Vec<i64> = (0..5)
                .map(|k| field(l, 6 + 5 * k..11 + 5 * k))
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().map_err(|_| parse_error(path, number, format!("CONECT serial '{s}' is not a number"))))
                .collect::<Result<_>>()?;
            let index = |s: &i64| {
                serials.get(s).copied().ok_or_else(|| parse_error(path, number, format!("CONECT names atom {s}, which is not in the file")))
            };
            if let Some((first, rest)) = ids.split_first() {
                let a = index(first)?;
                for s in rest {
                    let b = index(s)?;
                    // Either order: many writers list a bond only from one of its atoms.
                    if a != b {
                        bonds.push([a.min(b), a.max(b)]);
                    }
                }
            }
        }
        offset += n as u64;
        line.clear();
    }
    if atoms.is_empty() {
        return Err(Error::Input { path: path.into(), message: "has no ATOM or HETATM records".into() });
    }
    if models.is_empty() {
        models.extend(first_atom);
    }
    bonds.sort_unstable();
    bonds.dedup();
    Ok((Topology { atoms, bonds }, models))
}

/// Opens a PDB file as a trajectory of one frame per MODEL (one frame if it has no MODEL
/// records), in Angstrom, with the first model's atoms as the topology.
pub fn open(path: &Path) -> Result<Trajectory> {
    let (topology, models) = scan(path, true)?;
    let frames = (0..models.len()).map(|i| FrameInfo { index: i, key: i as u64, step: None, time: None, wepy: None }).collect();
    Ok(Trajectory {
        path: path.into(),
        segments: vec![Segment { dataset: String::new(), first: 0, frames: models.len() }],
        format: Format::Pdb(Layout { models: Arc::new(models), atoms: topology.len() }),
        topology: Arc::new(topology),
        frames: Arc::new(frames),
        length_unit: LengthUnit::angstrom(),
        time_unit: None,
    })
}

/// A worker's own handle on a PDB file, seeking to each model it reads.
pub struct Reader {
    path: PathBuf,
    file: BufReader<std::fs::File>,
    layout: Layout,
    frames: Arc<Vec<FrameInfo>>,
    atoms: Range<usize>,
}

impl Reader {
    /// Opens the file again for this reader; each frame will hold only the atoms in `atoms`,
    /// but every model is still checked to have as many atoms as the first.
    pub fn new(t: &Trajectory, layout: &Layout, atoms: Range<usize>) -> Result<Reader> {
        Ok(Reader { path: t.path.clone(), file: open_file(&t.path)?, layout: layout.clone(), frames: t.frames.clone(), atoms })
    }

    fn read_model(&mut self, index: usize) -> Result<Frame> {
        let path = self.path.clone();
        let model = &self.layout.models[index];
        self.file.seek(SeekFrom::Start(model.offset)).map_err(io_error(&path))?;
        let mut positions = Vec::with_capacity(self.atoms.len());
        let mut atom = 0;
        let mut number = model.line;
        let mut line = String::new();
        let mut started = false;
        while self.file.read_line(&mut line).map_err(io_error(&path))? > 0 {
            let end = line.starts_with("ENDMDL") || line.trim_end() == "END" || line.starts_with("END ");
            if end || (started && line.starts_with("MODEL")) {
                break;
            }
            started = true;
            if is_atom(&line) {
                if self.atoms.contains(&atom) {
                    positions.push(coordinates(&line, &path, number)?);
                }
                atom += 1;
            }
            number += 1;
            line.clear();
        }
        if atom != self.layout.atoms {
            return Err(Error::Input {
                path,
                message: format!("model {} has {atom} atoms, but the first model has {}", index + 1, self.layout.atoms),
            });
        }
        Ok(Frame { info: self.frames[index].clone(), positions, cell: model.cell })
    }
}

impl FrameReader for Reader {
    fn read_chunk(&mut self, c: &Chunk) -> Result<Vec<Frame>> {
        (0..c.count).map(|k| self.read_model(c.start + k * c.step)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cubic_cryst1_is_a_diagonal_cell_and_the_placeholder_is_none() {
        let p = Path::new("x.pdb");
        let c = cryst1("CRYST1   52.840   52.840   52.840  90.00  90.00  90.00 P 1           1", p, 1).unwrap().unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let expect = if i == j { 52.84 } else { 0.0 };
                assert!((c[i][j] - expect).abs() < 1e-12, "{c:?}");
            }
        }
        assert_eq!(cryst1("CRYST1    1.000    1.000    1.000  90.00  90.00  90.00 P 1           1", p, 1).unwrap(), None);
    }
}
