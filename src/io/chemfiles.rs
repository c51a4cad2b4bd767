//! The MD formats read through chemfiles (the field's C++ trajectory library, built from
//! source by the `chemfiles` crate): TRR, GRO, Amber NetCDF, LAMMPS dumps, XYZ, mmCIF and
//! MOL2, as trajectories, and GRO, mmCIF and MOL2 also as a `--topology` (XTC is read by
//! `super::xtc`, which is faster, DCD by `super::dcd`, which reads a DCD without a box, and
//! TNG by `super::tng`, which reads the frames `gmx trjconv` numbers).
//!
//! chemfiles delivers Angstrom whatever the file's unit (TRR's nanometres included), the
//! cell as a matrix, the MD step for the formats that record one and the time as a frame
//! property. Opening reads every frame once, as the PDB reader scans its models: the frame
//! table needs each frame's step and time before any frame is computed, and a truncated
//! or inconsistent file (a frame with another atom count) is then refused before the first
//! walk, naming the frame. Each reader opens its own chemfiles handle and reads the frames
//! of its chunks by seeking (chemfiles indexes frames at open), holding one frame at a time.

use super::formats::{Carries, FormatInfo};
use crate::error::{Error, Result};
use crate::topology::{element_symbol, guess_element, Atom, Topology};
use crate::trajectory::{Chunk, Format, Frame, FrameInfo, FrameReader, OpenOptions, Segment, Trajectory};
use crate::units::LengthUnit;
use crate::vec3::M3;
use ::chemfiles as cf;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What an opened chemfiles input needs to be read again.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The format, as the catalogue has it.
    pub info: &'static FormatInfo,
    /// Atoms in every frame.
    pub atoms: usize,
    /// Leave the box out (`--no-unwrap`).
    pub no_cell: bool,
}

/// A chemfiles trajectory with the frame it reads into.
struct Handle {
    trajectory: cf::Trajectory,
    frame: cf::Frame,
    info: &'static FormatInfo,
}

// SAFETY: chemfiles objects hold no thread-affine state (no thread-local caches, no
// callbacks into the thread that made them); the library only forbids using one object
// from two threads at once, which `&mut self` on every use of a Handle rules out. A
// Handle is created on one thread and used, then dropped, on the worker it is moved to.
unsafe impl Send for Handle {}

/// chemfiles writes its warnings to stderr unless told otherwise; the library never
/// prints, and what chemfiles warns of (a guessed residue, a missing cell) either does
/// not change the numbers or is checked by trajwalk itself.
fn quiet() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| cf::set_warning_callback(|_: &str| {}));
}

impl Handle {
    fn open(path: &Path, info: &'static FormatInfo) -> Result<Handle> {
        quiet();
        let super::formats::Backend::Chemfiles(format) = info.backend else { unreachable!("only chemfiles formats open here") };
        let trajectory = cf::Trajectory::open_with_format(path, 'r', format)
            .map_err(|e| Error::Input { path: path.into(), message: format!("cannot be read as {}: {}", info.label, e.message) })?;
        Ok(Handle { trajectory, frame: cf::Frame::new(), info })
    }

    fn read(&mut self, index: usize, path: &Path) -> Result<()> {
        let info = self.info;
        self.trajectory.read_step(index, &mut self.frame).map_err(|e| Error::Input {
            path: path.into(),
            message: format!("frame {index} cannot be read: {}", read_error(path, info, index, &e.message)),
        })
    }
}

/// chemfiles' "error while reading 'LINE': WHY" (the quoted text is the line, '' for an
/// empty one or the end of the file) said with the record it is in, for a MOL2 (a file cut
/// mid-record read "error while reading '': expected 1 values, found 0").
fn read_error(path: &Path, info: &FormatInfo, index: usize, message: &str) -> String {
    let Some((line, why)) = message.strip_prefix("error while reading '").and_then(|m| m.split_once("': ")) else {
        return message.to_string();
    };
    let record = (info.name == "mol2").then(|| mol2_record(path, index, line)).flatten();
    let at = if line.trim().is_empty() { "an empty line or the end of the file".to_string() } else { format!("the line '{line}'") };
    match record {
        Some(tag) => format!("its {tag} record is cut short or damaged at {at} ({why})"),
        None => format!("{why}, at {at}"),
    }
}

/// The `@<TRIPOS>` record of molecule `index` that holds `line` (the record the file ended
/// in, for an empty line).
fn mol2_record(path: &Path, index: usize, line: &str) -> Option<String> {
    let text = String::from_utf8_lossy(&std::fs::read(path).ok()?).into_owned();
    let (mut molecule, mut tag) = (None::<usize>, None::<&str>);
    for l in text.lines() {
        if l.starts_with("@<TRIPOS>") {
            if l.trim() == "@<TRIPOS>MOLECULE" {
                molecule = Some(molecule.map_or(0, |m| m + 1));
                if molecule > Some(index) {
                    break;
                }
            }
            tag = Some(l.trim());
        } else if molecule == Some(index) && !line.trim().is_empty() && l.trim() == line.trim() {
            return tag.map(str::to_string);
        }
    }
    line.trim().is_empty().then(|| tag.map(str::to_string)).flatten()
}

fn text(p: Option<cf::Property>) -> String {
    match p {
        Some(cf::Property::String(s)) => s.trim().to_string(),
        _ => String::new(),
    }
}

/// The atoms of the frame just read: names, types, residues (chain from mmCIF's author
/// chain name or chemfiles' chain id, segment from PDB-style segment names), elements as
/// the format gives them or guessed from the names, and bonds.
fn topology_of(frame: &cf::Frame, info: &FormatInfo) -> Topology {
    let top = frame.topology();
    let mut atoms: Vec<Atom> = (0..top.size())
        .map(|i| {
            let a = top.atom(i);
            Atom { name: a.name().trim().to_string(), atom_type: a.atomic_type().trim().to_string(), ..Default::default() }
        })
        .collect();
    for r in 0..top.residues_count() as usize {
        let Some(residue) = top.residue(r) else { continue };
        let name = residue.name().trim().to_string();
        let id = residue.id().unwrap_or(0);
        let chain = match text(residue.get("chainname")) {
            c if c.is_empty() => text(residue.get("chainid")),
            c => c,
        };
        let segid = text(residue.get("segname"));
        for i in residue.atoms() {
            if let Some(a) = atoms.get_mut(i) {
                a.resname.clone_from(&name);
                a.resid = id;
                a.chain.clone_from(&chain);
                a.segid.clone_from(&segid);
            }
        }
    }
    for a in &mut atoms {
        // A MOL2 type is the element with a hybridisation ("C.3", "N.am").
        let given = || element_symbol(a.atom_type.split('.').next().unwrap_or(""));
        a.element =
            if info.elements_given { given().or_else(|| guess_element(&a.name, &a.resname)) } else { guess_element(&a.name, &a.resname) };
    }
    if info.carries == Carries::Nothing {
        // XTC, TRR, DCD and the like name no atoms: chemfiles' placeholders would read as
        // atoms of no element called "".
        atoms.iter_mut().for_each(|a| *a = Atom::default());
    }
    let mut bonds: Vec<[usize; 2]> = top.bonds().into_iter().map(|[a, b]| [a.min(b), a.max(b)]).collect();
    bonds.sort_unstable();
    bonds.dedup();
    Topology { atoms, bonds }
}

/// Refuses a TRR that does not end where a frame does: chemfiles reads a file cut inside a
/// frame's header (up to 83 bytes of it) as the frames before it, without a word, where a
/// truncated file must be refused. Walks the frame headers (GROMACS's layout, XDR
/// big-endian): magic 1993, the version string "GMX_trn_file", thirteen ints (the byte sizes
/// of the input record, energies, box, virial, pressure, topology, symmetry, x, v and f,
/// then atoms, step and energy count) and the time and lambda in the frame's precision,
/// then the data those sizes give.
fn check_trr_frames(path: &Path) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let io = |error| Error::Io { path: path.into(), error };
    let input = |message: String| Error::Input { path: path.into(), message };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let mut head = [0u8; 76];
    let (mut offset, mut frame) = (0u64, 0usize);
    while offset < size {
        let available = (size - offset).min(head.len() as u64) as usize;
        file.read_exact_at(&mut head[..available], offset).map_err(io)?;
        let int = |k: usize| i32::from_be_bytes([head[k], head[k + 1], head[k + 2], head[k + 3]]);
        if available >= 4 && int(0) != 1993 {
            return Err(input(format!("frame {frame} at byte {offset} does not start with the TRR magic number 1993 (a damaged file?)")));
        }
        if available < head.len() {
            return Err(input(format!(
                "is truncated: its frame {frame} at byte {offset} is cut inside its header: the file ends at byte {size}"
            )));
        }
        // The version string: its length with the NUL, then its XDR length and bytes (12).
        let text = u64::try_from(int(8)).map_err(|_| input(format!("frame {frame} at byte {offset} has a damaged header")))?;
        let ints = 12 + text.div_ceil(4) * 4;
        if ints != 24 {
            return Err(input(format!("frame {frame} at byte {offset} has a version string of {text} bytes, not GMX_trn_file's 12")));
        }
        let sizes: Vec<i32> = (0..10).map(|k| int(24 + 4 * k)).collect();
        let atoms = int(64);
        if sizes.iter().any(|&s| s < 0) || atoms < 0 {
            return Err(input(format!("frame {frame} at byte {offset} gives negative sizes (a damaged file?)")));
        }
        // The precision, as GROMACS finds it: the box's 9 values, else x, v or f per atom.
        let real = match (sizes[2], sizes[7].max(sizes[8]).max(sizes[9]), atoms) {
            (b, _, _) if b > 0 => b / 9,
            (_, x, n) if x > 0 && n > 0 => x / (3 * n),
            _ => 4,
        };
        if real != 4 && real != 8 {
            return Err(input(format!(
                "frame {frame} at byte {offset} has sizes of neither single nor double precision (a damaged file?)"
            )));
        }
        let length = 76 + 2 * real as u64 + sizes.iter().map(|&s| s as u64).sum::<u64>();
        if offset + length > size {
            return Err(input(format!(
                "is truncated: its frame {frame} runs to byte {}, but the file ends at byte {size}",
                offset + length
            )));
        }
        offset += length;
        frame += 1;
    }
    Ok(())
}

/// Refuses an mmCIF whose `_atom_site` loop has `label_seq_id` but no `label_entity_id`:
/// chemfiles 0.10 looks the entity up for every `.` residue number without checking that the
/// column exists, and crashes (chemfiles' own mmCIF writer makes such files).
fn check_mmcif_columns(path: &Path) -> Result<()> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).map_err(|error| Error::Io { path: path.into(), error })?;
    let mut columns = vec![];
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|error| Error::Io { path: path.into(), error })?;
        match line.trim().strip_prefix("_atom_site.") {
            Some(column) => columns.push(column.split_whitespace().next().unwrap_or("").to_string()),
            None if !columns.is_empty() => break,
            None => {}
        }
    }
    let has = |c: &str| columns.iter().any(|k| k == c);
    if has("label_seq_id") && !has("label_entity_id") {
        return Err(Error::Input {
            path: path.into(),
            message: "has _atom_site.label_seq_id but no _atom_site.label_entity_id, which chemfiles needs for residues numbered '.' (it would crash on them); add the column, or give the structure as PDB".into(),
        });
    }
    Ok(())
}

/// The atoms of the first frame of a GRO, mmCIF or MOL2 file given as `--topology`.
pub fn read_topology(path: &Path, info: &'static FormatInfo) -> Result<Topology> {
    if info.name == "mmcif" {
        check_mmcif_columns(path)?;
    }
    if info.name == "trr" {
        check_trr_frames(path)?;
    }
    let mut h = Handle::open(path, info)?;
    if h.trajectory.nsteps() == 0 {
        return Err(Error::Input { path: path.into(), message: "has no frames to read atoms from".into() });
    }
    h.read(0, path)?;
    Ok(topology_of(&h.frame, info))
}

/// The frame's time in the catalogue's unit, when the file records one.
fn time_of(frame: &cf::Frame, info: &FormatInfo) -> Option<f64> {
    info.time_unit?;
    match frame.get("time") {
        Some(cf::Property::Double(t)) => Some(t),
        _ => None,
    }
}

/// Opens `path` as a trajectory of `info`'s format, reading every frame once for the frame
/// table (see the module's note) and checking that every frame has the first one's atoms.
pub fn open(path: &Path, info: &'static FormatInfo, opts: &OpenOptions) -> Result<Trajectory> {
    if info.name == "mmcif" {
        check_mmcif_columns(path)?;
    }
    if info.name == "trr" {
        check_trr_frames(path)?;
    }
    let mut h = Handle::open(path, info)?;
    let n = h.trajectory.nsteps();
    if n == 0 {
        return Err(Error::Input { path: path.into(), message: format!("has no frames (read as {})", info.label) });
    }
    let mut frames = Vec::with_capacity(n);
    let mut topology = Topology::default();
    for i in 0..n {
        h.read(i, path)?;
        let size = h.frame.size();
        if i == 0 {
            if size == 0 {
                return Err(Error::Input { path: path.into(), message: "frame 0 has no atoms".into() });
            }
            topology = topology_of(&h.frame, info);
        } else if size != topology.len() {
            return Err(Error::Input {
                path: path.into(),
                message: format!("frame {i} has {size} atoms, but frame 0 has {}", topology.len()),
            });
        }
        let step = info.steps.then(|| h.frame.step() as i64);
        frames.push(FrameInfo { index: i, key: i as u64, step, time: time_of(&h.frame, info), wepy: None });
    }
    Ok(trajectory(path, info, opts, topology, frames))
}

fn trajectory(path: &Path, info: &'static FormatInfo, opts: &OpenOptions, topology: Topology, frames: Vec<FrameInfo>) -> Trajectory {
    Trajectory {
        path: path.into(),
        format: Format::Chemfiles(Layout { info, atoms: topology.len(), no_cell: opts.no_cell }),
        topology: Arc::new(topology),
        segments: vec![Segment { dataset: String::new(), first: 0, frames: frames.len() }],
        frames: Arc::new(frames),
        length_unit: LengthUnit::angstrom(),
        time_unit: info.time_unit.map(str::to_string),
    }
}

/// A worker's own chemfiles handle.
pub struct Reader {
    path: PathBuf,
    handle: Handle,
    layout: Layout,
    frames: Arc<Vec<FrameInfo>>,
    atoms: Range<usize>,
}

impl Reader {
    /// Opens the file again for this reader; each frame will hold only the atoms in `atoms`.
    pub fn new(t: &Trajectory, layout: &Layout, atoms: Range<usize>) -> Result<Reader> {
        let handle = Handle::open(&t.path, layout.info)?;
        Ok(Reader { path: t.path.clone(), handle, layout: layout.clone(), frames: t.frames.clone(), atoms })
    }

    fn frame(&mut self, index: usize) -> Result<Frame> {
        self.handle.read(index, &self.path)?;
        let f = &self.handle.frame;
        if f.size() != self.layout.atoms {
            return Err(Error::Input {
                path: self.path.clone(),
                message: format!("frame {index} has {} atoms, but frame 0 has {}", f.size(), self.layout.atoms),
            });
        }
        let positions = f.positions()[self.atoms.clone()].to_vec();
        let cell = f.cell();
        let cell = (!self.layout.no_cell && cell.shape() != cf::CellShape::Infinite).then(|| rows(cell.matrix()));
        Ok(Frame { info: self.frames[index].clone(), positions, cell })
    }
}

/// chemfiles' cell matrix has the cell vectors as columns; trajwalk's as rows.
fn rows(m: [[f64; 3]; 3]) -> M3 {
    let mut t = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            t[i][j] = m[j][i];
        }
    }
    t
}

impl FrameReader for Reader {
    fn read_chunk(&mut self, c: &Chunk) -> Result<Vec<Frame>> {
        (0..c.count).map(|k| self.frame(c.start + k * c.step)).collect()
    }
}
