//! CHARMM/NAMD (and X-PLOR) DCD, read by trajwalk itself rather than through chemfiles:
//! chemfiles refuses the box MDAnalysis writes for a trajectory without one (lengths 0 and
//! angles whose cosines are 1, i.e. 0 degrees: "a unit cell can not have 0° angles"), and
//! a cell of zero lengths here means no periodic box, as a missing box does in every other
//! format. Everything else is chemfiles' DCD reader (0.10.41, `formats/DCD.cpp`) rule for
//! rule, so coordinates, cells and times keep chemfiles' bits: the byte order from the first
//! record marker, the CHARMM flags (a version in the header's last word, a unit-cell record,
//! a fourth dimension, skipped), the six cell doubles (A, gamma, B, beta, alpha, C, the
//! angles possibly as cosines; a symmetric matrix after CHARMM 25), time as the step
//! times the AKMA time step.
//!
//! Frames all have the same size, so the frame table comes from the file's size and a
//! reader seeks by arithmetic; a file that does not end on a frame boundary is refused as
//! truncated (chemfiles drops the partial frame silently). 64-bit record markers and fixed
//! atoms are refused, naming what to do.

use super::formats::FormatInfo;
use crate::error::{Error, Result};
use crate::topology::Topology;
use crate::trajectory::{Chunk, Format, Frame, FrameInfo, FrameReader, OpenOptions, Segment, Trajectory};
use crate::units::LengthUnit;
use crate::vec3::M3;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// DCD times count in AKMA time units (CHARMM's and NAMD's), 48.888 fs each.
const AKMA_PS: f64 = 0.048_888_821;

/// What an opened DCD needs to be read again.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Atoms in every frame.
    pub atoms: usize,
    /// Leave the box out (`--no-unwrap`).
    pub no_cell: bool,
    big_endian: bool,
    /// Where frame 0 starts, and every frame's size.
    header: u64,
    frame: u64,
    /// The frame's six cell doubles come first (CHARMM with the unit-cell flag).
    has_cell: bool,
    /// CHARMM's version, which says how the cell is stored.
    version: i32,
}

/// Reads the file's little or big-endian words.
#[derive(Clone, Copy)]
struct Order(bool);

impl Order {
    fn i32(self, b: &[u8], at: usize) -> i32 {
        let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if self.0 {
            i32::from_be_bytes(w)
        } else {
            i32::from_le_bytes(w)
        }
    }

    fn f32(self, b: &[u8], at: usize) -> f32 {
        f32::from_bits(self.i32(b, at) as u32)
    }

    fn f64(self, b: &[u8], at: usize) -> f64 {
        let w: [u8; 8] = b[at..at + 8].try_into().expect("8 bytes");
        if self.0 {
            f64::from_be_bytes(w)
        } else {
            f64::from_le_bytes(w)
        }
    }
}

/// Opens `path` as a DCD from its header and size (see the module's note).
pub fn open(path: &Path, info: &'static FormatInfo, opts: &OpenOptions) -> Result<Trajectory> {
    let input = |message: String| Error::Input { path: path.into(), message };
    let io = |error| Error::Io { path: path.into(), error };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let mut head = vec![0u8; size.min(1 << 16) as usize];
    file.read_exact_at(&mut head, 0).map_err(io)?;
    let h = &head;
    let cut = || match h.len() as u64 == size {
        true => input(format!("is truncated: its header runs past the file's end at byte {size}")),
        false => input(format!("has a header longer than {} bytes (a damaged title record?)", h.len())),
    };
    if h.len() < 8 {
        return Err(cut());
    }
    let big_endian = match (&h[..4], &h[4..8]) {
        ([84, 0, 0, 0], b"CORD") => false,
        ([0, 0, 0, 84], b"CORD") => true,
        ([84, 0, 0, 0], [0, 0, 0, 0]) | ([0, 0, 0, 0], [0, 0, 0, 84]) => {
            return Err(input(
                "is a DCD with 64-bit record markers (CHARMM built with -i8), which trajwalk does not read; convert it with `mdconvert` or `catdcd`".into(),
            ))
        }
        _ => return Err(input(format!("is not a DCD file (it does not start with the record marker 84 and CORD: {:02x?})", &h[..8]))),
    };
    let o = Order(big_endian);
    if h.len() < 100 {
        return Err(cut());
    }
    let word = |k: usize| o.i32(h, 8 + 4 * k);
    // chemfiles keeps the version's low byte only.
    let version = i32::from(o.i32(h, 84) as u8);
    let charmm = version != 0;
    let (nsavc, istart, fixed) = (word(2), word(1), word(8));
    if nsavc < 0 || istart < 0 {
        return Err(input(format!("its header gives a negative first step ({istart}) or step between frames ({nsavc})")));
    }
    let (dt, has_cell, four_d) = if charmm { (o.f32(h, 44) as f64, word(10) != 0, word(11) == 1) } else { (o.f64(h, 44), false, false) };
    if o.i32(h, 88) != 84 {
        return Err(input(format!("its header record ends with the marker {}, not 84", o.i32(h, 88))));
    }
    let title = o.i32(h, 92);
    let mut at = 96usize;
    if title >= 4 && (title - 4) % 80 == 0 {
        let lines = o.i32(h.get(..at + 4).ok_or_else(cut)?, at);
        if lines != (title - 4) / 80 {
            return Err(input(format!(
                "its title record's markers say {title} bytes, but it declares {lines} lines of 80 ({} bytes)",
                4 + 80 * i64::from(lines)
            )));
        }
    }
    at += usize::try_from(title).map_err(|_| input(format!("its title record has a negative size ({title})")))?;
    let marker = |at: usize| h.get(at..at + 4).map(|_| o.i32(h, at)).ok_or_else(cut);
    if marker(at)? != title {
        return Err(input(format!("its title record ends with the marker {}, not {title}", marker(at)?)));
    }
    at += 4;
    if marker(at)? != 4 || marker(at + 8)? != 4 {
        return Err(input("its atom-count record has markers other than 4".into()));
    }
    let atoms = marker(at + 4)?;
    let atoms = usize::try_from(atoms).ok().filter(|&a| a > 0).ok_or_else(|| input(format!("has {atoms} atoms (a damaged file?)")))?;
    at += 12;
    if fixed != 0 {
        return Err(input(format!(
            "has {fixed} fixed atoms, whose coordinates only its first frame holds, which trajwalk does not read; write the trajectory without fixed atoms"
        )));
    }
    let header = at as u64;
    // The first coordinate record's marker is its size, 4 bytes an atom: an atom count that
    // disagrees with it was reported as a truncated file.
    let first = header + if has_cell { 56 } else { 0 };
    let mut marker = [0u8; 4];
    if first + 4 <= size {
        file.read_exact_at(&mut marker, first).map_err(io)?;
        let bytes = o.i32(&marker, 0);
        if i64::from(bytes) != 4 * atoms as i64 {
            return Err(input(format!(
                "its header gives {atoms} atoms, but its first coordinate record holds {bytes} bytes ({} atoms of 4 bytes) \
                 (a damaged file?)",
                f64::from(bytes) / 4.0
            )));
        }
    }
    let coords = 8 + 4 * atoms as u64;
    let frame = (if has_cell { 56 } else { 0 }) + coords * (if four_d { 4 } else { 3 });
    let body = size.saturating_sub(header);
    let n = body / frame;
    if body % frame != 0 {
        return Err(input(format!(
            "is truncated: its frame {n} runs to byte {}, but the file ends at byte {size}",
            header + (n + 1) * frame
        )));
    }
    if n == 0 {
        return Err(input("has no frames (read as CHARMM/NAMD DCD)".into()));
    }
    let layout = Layout { atoms, no_cell: opts.no_cell, big_endian, header, frame, has_cell, version };
    // In u128: the step of frame i is the file's words times a frame count, which u64 could
    // wrap; below 2^64 the value, and so the f64, are those of chemfiles' u64 arithmetic.
    let time = |i: u64| (dt != 0.0 && nsavc != 0).then(|| dt * (nsavc as u128 * i as u128 + istart as u128) as f64 * AKMA_PS);
    let frames: Vec<FrameInfo> = (0..n).map(|i| FrameInfo { index: i as usize, key: i, step: None, time: time(i), wepy: None }).collect();
    Ok(Trajectory {
        path: path.into(),
        format: Format::Dcd(layout),
        topology: Arc::new(Topology::from_elements(vec![None; atoms])),
        segments: vec![Segment { dataset: String::new(), first: 0, frames: frames.len() }],
        frames: Arc::new(frames),
        length_unit: LengthUnit::angstrom(),
        time_unit: info.time_unit.map(str::to_string),
    })
}

/// The periodic cell of a frame's six doubles, as chemfiles makes its `UnitCell` of them,
/// except that zero lengths mean no box (whatever the angles), as MDAnalysis writes one.
fn cell_of(b: [f64; 6], version: i32) -> std::result::Result<Option<M3>, String> {
    // Said first: a NaN passes every comparison below and came out "rectangular but not
    // along the axes".
    if !b.iter().all(|v| v.is_finite()) {
        return Err(format!("its cell {b:?} holds a value that is not a finite number"));
    }
    if version > 25 {
        // Recent CHARMM stores the cell's symmetric matrix.
        let m = [[b[0], b[1], b[3]], [b[1], b[2], b[4]], [b[3], b[4], b[5]]];
        return super::unit_cell(m).map_err(|why| format!("its cell {b:?} {why}"));
    }
    let lengths = [b[0], b[2], b[5]];
    if lengths == [0.0; 3] {
        return Ok(None);
    }
    let (mut alpha, mut beta, mut gamma) = (b[4], b[3], b[1]);
    if alpha.abs() <= 1.0 && beta.abs() <= 1.0 && gamma.abs() <= 1.0 {
        let angle = |cos: f64| 90.0 - cos.asin() * 90.0 / (std::f64::consts::PI / 2.0);
        (alpha, beta, gamma) = (angle(alpha), angle(beta), angle(gamma));
    }
    let mut angles = [alpha, beta, gamma];
    if lengths.iter().any(|&l| l < 0.0) {
        return Err(format!("its cell has a negative length ({lengths:?} A)"));
    }
    if angles.iter().any(|&a| a < 0.0) {
        return Err(format!("its cell has a negative angle ({angles:?} degrees)"));
    }
    if angles.iter().any(|&a| a.abs() < 1e-5) {
        return Err(format!("its cell has an angle of 0 degrees ({angles:?}) with lengths {lengths:?} A"));
    }
    if angles.iter().any(|&a| a >= 180.0) {
        return Err(format!("its cell has an angle of 180 degrees or more ({angles:?})"));
    }
    if angles.iter().all(|&a| (a - 90.0).abs() < 1e-3) {
        angles = [90.0; 3];
    }
    let rad = |x: f64| x * std::f64::consts::PI / 180.0;
    let (cosd, sind) = (|x: f64| rad(x).cos(), |x: f64| rad(x).sin());
    // chemfiles' matrix, the vectors as columns.
    let mut m = [[0.0; 3]; 3];
    m[0][0] = lengths[0];
    m[0][1] = cosd(angles[2]) * lengths[1];
    m[1][1] = sind(angles[2]) * lengths[1];
    m[0][2] = cosd(angles[1]);
    m[1][2] = (cosd(angles[0]) - cosd(angles[1]) * cosd(angles[2])) / sind(angles[2]);
    m[2][2] = (1.0 - m[0][2] * m[0][2] - m[1][2] * m[1][2]).sqrt();
    m[0][2] *= lengths[2];
    m[1][2] *= lengths[2];
    m[2][2] *= lengths[2];
    super::unit_cell(m).map_err(|why| format!("its cell {b:?} {why}"))
}

/// A worker's own DCD handle; a frame is one read at its offset.
pub struct Reader {
    path: PathBuf,
    file: std::fs::File,
    layout: Layout,
    frames: Arc<Vec<FrameInfo>>,
    atoms: Range<usize>,
    bytes: Vec<u8>,
}

impl Reader {
    /// Opens the file again for this reader; each frame will hold only the atoms in `atoms`.
    pub fn new(t: &Trajectory, layout: &Layout, atoms: Range<usize>) -> Result<Reader> {
        let file = std::fs::File::open(&t.path).map_err(|error| Error::Io { path: t.path.clone(), error })?;
        Ok(Reader { path: t.path.clone(), file, layout: layout.clone(), frames: t.frames.clone(), atoms, bytes: vec![] })
    }

    fn frame(&mut self, index: usize) -> Result<Frame> {
        let input = |message: String| Error::Input { path: self.path.clone(), message: format!("frame {index}: {message}") };
        let l = &self.layout;
        let offset = l.header + index as u64 * l.frame;
        self.bytes.resize(l.frame as usize, 0);
        self.file.read_exact_at(&mut self.bytes, offset).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                input("the file now ends before the frame does (was it cut after it was opened?)".into())
            } else {
                Error::Io { path: self.path.clone(), error: e }
            }
        })?;
        let (b, o) = (&self.bytes, Order(l.big_endian));
        let mut at = 0;
        let mut record = |size: usize| -> Result<usize> {
            let (start, end) = (o.i32(b, at), o.i32(b, at + 4 + size));
            if start != size as i32 || end != size as i32 {
                return Err(input(format!("a record at byte {} has markers {start} and {end}, not {size}", offset + at as u64)));
            }
            let data = at + 4;
            at += size + 8;
            Ok(data)
        };
        let cell = if l.has_cell {
            let c = record(48)?;
            let doubles = std::array::from_fn(|k| o.f64(b, c + 8 * k));
            if l.no_cell {
                None
            } else {
                cell_of(doubles, l.version).map_err(input)?
            }
        } else {
            None
        };
        let xyz = [record(4 * l.atoms)?, record(4 * l.atoms)?, record(4 * l.atoms)?];
        let positions = self.atoms.clone().map(|i| xyz.map(|c| o.f32(b, c + 4 * i) as f64)).collect();
        Ok(Frame { info: self.frames[index].clone(), positions, cell })
    }
}

impl FrameReader for Reader {
    fn read_chunk(&mut self, c: &Chunk) -> Result<Vec<Frame>> {
        (0..c.count).map(|k| self.frame(c.start + k * c.step)).collect()
    }
}
