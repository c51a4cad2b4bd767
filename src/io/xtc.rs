//! GROMACS XTC, read by the pure-Rust `molly` crate rather than through chemfiles: on
//! ADK (47,681 atoms, the protein its first 3,341) molly decodes a whole frame 4x faster
//! than chemfiles, and it can stop decoding after the last atom a reader needs, which
//! for a protein ahead of its water is most of a frame's work saved. Coordinates are
//! bit-equal to chemfiles' (the same f32 arithmetic, then f64 times 10 for Angstrom, as
//! chemfiles converts), so switching readers changes no result.
//!
//! Opening reads only the frame headers (`scan`), which gives the frame table, each
//! frame's bytes for random access, and a check of every box, without decompressing a
//! frame; only the first frame's bit stream is walked, so that the atom count a per-atom
//! table is built for is one the file holds. molly asserts and indexes on what it decodes, so a damaged frame could panic in
//! it: before a frame is handed to molly, `check_stream` walks the frame's compressed
//! bit stream the way molly's decoder will (the same bit counts, runs and size changes,
//! without computing a coordinate) and refuses, naming the frame, what would make molly
//! index out of bounds, divide by zero or read past the frame's bytes.

use super::formats::FormatInfo;
use crate::error::{Error, Result};
use crate::topology::Topology;
use crate::trajectory::{Chunk, Format, Frame, FrameInfo, FrameReader, OpenOptions, Segment, Trajectory};
use crate::units::LengthUnit;
use crate::vec3::M3;
use molly::reader::{FIRSTIDX, MAGICINTS};
use molly::selection::AtomSelection;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The XTC magic number GROMACS writes (the 2023 variant, for over 298 million atoms, is
/// not read: chemfiles did not read it either).
const MAGIC: i32 = 1995;
/// Magic, atoms, step, time, the 3x3 box and the atoms again, 4 bytes each.
const HEADER: usize = 56;
/// After the header of a frame of ten atoms or more: precision, minimum and maximum
/// integer coordinates, the first small-integer size and the byte count of the stream.
const PRELUDE: usize = 36;

/// What an opened XTC needs to be read again.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Atoms in every frame.
    pub atoms: usize,
    /// Leave the box out (`--no-unwrap`).
    pub no_cell: bool,
    /// Each frame's first byte and length in the file.
    spans: Arc<Spans>,
}

/// Each frame's first byte and length in the file.
type Spans = Vec<(u64, usize)>;

/// A big-endian XDR word at `at` of `b`, which the caller has checked holds it.
fn word(b: &[u8], at: usize) -> [u8; 4] {
    [b[at], b[at + 1], b[at + 2], b[at + 3]]
}

fn int(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(word(b, at))
}

/// The frame table of an XTC file from its frame headers alone, which is what makes an XTC
/// open in milliseconds rather than a pass over every compressed frame; each header's atom
/// counts are checked against the first frame's, and the file must end where its last
/// frame does (a file cut inside its last frame would otherwise silently lose it). XDR,
/// big-endian: magic 1995, atoms, step, time (f32), the box, atoms again (56 bytes), then
/// either 12 bytes per atom or 36 bytes of compression parameters, the last of them the
/// byte count of the compressed stream that follows, padded to 4.
fn scan(path: &Path, no_cell: bool) -> Result<(usize, Vec<FrameInfo>, Spans)> {
    let io = |error| Error::Io { path: path.into(), error };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let mut head = [0u8; HEADER + PRELUDE];
    let (mut offset, mut frames, mut spans) = (0u64, Vec::new(), Vec::new());
    let mut first_atoms = None;
    while offset < size {
        let frame = frames.len();
        let truncated = |end: u64| Error::Input {
            path: path.into(),
            message: format!("is truncated: its frame {frame} runs to byte {end}, but the file ends at byte {size}"),
        };
        let available = (size - offset).min(head.len() as u64) as usize;
        file.read_exact_at(&mut head[..available], offset).map_err(io)?;
        let b = &head[..available];
        if available < 4 || int(b, 0) != MAGIC {
            return Err(Error::Input {
                path: path.into(),
                message: format!("frame {frame} at byte {offset} does not start with the XTC magic number {MAGIC}"),
            });
        }
        if available < 16 {
            return Err(truncated(offset + HEADER as u64));
        }
        let (atoms, step, time) = (int(b, 4), int(b, 8), f32::from_be_bytes(word(b, 12)));
        let atoms = usize::try_from(atoms).ok().filter(|&a| a > 0).ok_or_else(|| Error::Input {
            path: path.into(),
            message: format!("frame {frame} at byte {offset} has {atoms} atoms (a damaged file?)"),
        })?;
        match first_atoms {
            None => first_atoms = Some(atoms),
            Some(n) if n != atoms => {
                return Err(Error::Input { path: path.into(), message: format!("frame {frame} has {atoms} atoms, but frame 0 has {n}") })
            }
            _ => {}
        }
        let length = if atoms <= 9 {
            HEADER as u64 + 12 * atoms as u64
        } else {
            if available < HEADER + PRELUDE {
                return Err(truncated(offset + (HEADER + PRELUDE) as u64));
            }
            let bytes = u64::from(u32::from_be_bytes(word(b, HEADER + PRELUDE - 4)));
            // An atom takes two bits at least (a one-bit coordinate and its run flag; a run
            // of small ones takes 9 bits or more an atom, see `check_stream`), so a frame's
            // bytes hold at most four atoms each: what bounds the topology built for them.
            if atoms as u64 > 4 * bytes {
                return Err(Error::Input {
                    path: path.into(),
                    message: format!(
                        "frame {frame} at byte {offset} claims {atoms} atoms in {bytes} bytes of coordinates (a damaged file?)"
                    ),
                });
            }
            (HEADER + PRELUDE) as u64 + bytes.div_ceil(4) * 4
        };
        if offset + length > size {
            return Err(truncated(offset + length));
        }
        // The first frame's stream is walked for every atom its header claims before any
        // per-atom table is built, so a damaged count (23 million atoms in a 256 KB file took
        // 10 GB at open) is refused here, at the cost of a frame's bit walk.
        if frame == 0 && atoms > 9 {
            let mut data = vec![0u8; length as usize - HEADER];
            file.read_exact_at(&mut data, offset + HEADER as u64).map_err(io)?;
            check_stream(&data, atoms, atoms).map_err(|why| Error::Input { path: path.into(), message: format!("frame 0: {why}") })?;
        }
        if available >= HEADER {
            if int(b, 52) != atoms as i32 {
                return Err(Error::Input {
                    path: path.into(),
                    message: format!("frame {frame} at byte {offset} gives {atoms} atoms, then {} (a damaged file?)", int(b, 52)),
                });
            }
            if !no_cell {
                cell_of(&boxvec(b)).map_err(|why| Error::Input { path: path.into(), message: format!("frame {frame}: {why}") })?;
            }
        }
        frames.push(FrameInfo { index: frame, key: frame as u64, step: Some(step as i64), time: Some(time as f64), wepy: None });
        spans.push((offset, length as usize));
        offset += length;
    }
    let atoms = first_atoms.ok_or_else(|| Error::Input { path: path.into(), message: "has no frames (read as GROMACS XTC)".into() })?;
    Ok((atoms, frames, spans))
}

/// The header's box, nm, the three box vectors one after the other.
fn boxvec(header: &[u8]) -> [f32; 9] {
    std::array::from_fn(|k| f32::from_be_bytes(word(header, 16 + 4 * k)))
}

/// The periodic cell of a box in nm, in Angstrom with the box vectors as rows, or None for
/// a box of zeros (no periodic box), as chemfiles reads it.
fn cell_of(b: &[f32; 9]) -> std::result::Result<Option<M3>, String> {
    // chemfiles' matrix has the vectors as columns.
    let m = std::array::from_fn(|i| std::array::from_fn(|j| 10.0 * b[3 * j + i] as f64));
    super::unit_cell(m).map_err(|why| format!("its box {b:?} (nm) {why}"))
}

/// Opens `path` as an XTC from its frame headers (see the module's note).
pub fn open(path: &Path, info: &'static FormatInfo, opts: &OpenOptions) -> Result<Trajectory> {
    let (atoms, frames, spans) = scan(path, opts.no_cell)?;
    Ok(Trajectory {
        path: path.into(),
        format: Format::Xtc(Layout { atoms, no_cell: opts.no_cell, spans: Arc::new(spans) }),
        topology: Arc::new(Topology::from_elements(vec![None; atoms])),
        segments: vec![Segment { dataset: String::new(), first: 0, frames: frames.len() }],
        frames: Arc::new(frames),
        length_unit: LengthUnit::angstrom(),
        time_unit: info.time_unit.map(str::to_string),
    })
}

/// `n` bits of `data` from bit `at`, the first the most significant, as XTC packs them;
/// None past the end.
fn bits(data: &[u8], at: u64, n: u32) -> Option<u32> {
    if at + u64::from(n) > 8 * data.len() as u64 {
        return None;
    }
    Some((0..u64::from(n)).fold(0, |v, i| (v << 1) | u32::from(data[((at + i) / 8) as usize] >> (7 - (at + i) % 8) & 1)))
}

/// Bits to hold an integer below `size`, as xdrfile's `sizeofint`.
fn sizeofint(size: u32) -> u32 {
    32 - size.leading_zeros()
}

/// Bits to hold the product of three sizes, as xdrfile's `sizeofints`.
fn sizeofints(sizes: [u32; 3]) -> u32 {
    // The product's length in bits (xdrfile counts it byte by byte, to the same number).
    128 - sizes.iter().fold(1u128, |p, &s| p * u128::from(s)).leading_zeros()
}

/// Walks the compressed positions of a frame of `atoms` atoms (`data` from the precision
/// on) as molly's decoder will when it stops after `limit` atoms, and says what is wrong
/// with them if molly would panic on them or read past them. Only the control of the
/// decoder is followed: how many bits each step takes, the run lengths and the changes of
/// the small-integer size, never a coordinate.
fn check_stream(data: &[u8], atoms: usize, limit: usize) -> std::result::Result<(), String> {
    if data.len() < PRELUDE {
        return Err("its coordinates end inside their compression parameters".into());
    }
    let precision = f32::from_be_bytes(word(data, 0));
    if !(precision.is_finite() && precision > 0.0) {
        return Err(format!("its precision {precision} is not a positive number"));
    }
    let mut sizes = [0u32; 3];
    for (k, size) in sizes.iter_mut().enumerate() {
        let (min, max) = (int(data, 4 + 4 * k) as i64, int(data, 16 + 4 * k) as i64);
        // Below 2^31, so that no size takes 32 bits, which molly's bit masks cannot.
        if max < min || max - min + 1 >= 1 << 31 {
            return Err(format!("its coordinate range {min}..{max} is not a range"));
        }
        *size = (max - min + 1) as u32;
    }
    let mut small = u32::from_be_bytes(word(data, 28)) as usize;
    if !(FIRSTIDX..MAGICINTS.len()).contains(&small) {
        return Err(format!("its first small-integer size {small} is outside {FIRSTIDX}..{}", MAGICINTS.len()));
    }
    let count = u32::from_be_bytes(word(data, 32)) as usize;
    let stream = data.get(PRELUDE..PRELUDE + count).ok_or("its coordinates run past the frame")?;
    let large = sizes.iter().any(|&s| s > 0xff_ffff);
    let per_atom = u64::from(if large { sizes.iter().map(|&s| sizeofint(s)).sum() } else { sizeofints(sizes) });
    let corrupt = |at: u64| format!("its compressed coordinates are damaged (they end at bit {at} of {})", 8 * count);
    let (mut at, mut read, mut run) = (0u64, 0usize, 0i32);
    'atoms: while read < limit {
        at += per_atom;
        let flag = bits(stream, at, 1).ok_or_else(|| corrupt(at))?;
        at += 1;
        let mut is_smaller = 0;
        if flag == 1 {
            run = bits(stream, at, 5).ok_or_else(|| corrupt(at))? as i32;
            at += 5;
            is_smaller = run % 3;
            run -= is_smaller;
            is_smaller -= 1;
        }
        if run > 0 {
            for k in (0..run).step_by(3) {
                at += small as u64;
                // The first small coordinate and the large one before it are written as a pair.
                for _ in 0..if k == 0 { 2 } else { 1 } {
                    read += 1;
                    if read >= limit {
                        break 'atoms;
                    }
                }
            }
        } else {
            read += 1;
            if read >= limit {
                break;
            }
        }
        match is_smaller {
            -1 => small -= 1,
            1 => small += 1,
            _ => {}
        }
        if !(FIRSTIDX..MAGICINTS.len()).contains(&small) {
            return Err(format!("its compressed coordinates are damaged (a small-integer size of {small} at bit {at})"));
        }
    }
    if at.div_ceil(8) > count as u64 {
        return Err(corrupt(at));
    }
    debug_assert!(read >= limit.min(atoms));
    Ok(())
}

/// A worker's own XTC handle: the frame's bytes are read whole (one read at the frame's
/// offset), checked, and decoded from memory.
pub struct Reader {
    path: PathBuf,
    file: std::fs::File,
    layout: Layout,
    frames: Arc<Vec<FrameInfo>>,
    atoms: Range<usize>,
    /// Decode atoms up to the reader's last only, or all of a frame of nine atoms or fewer
    /// (stored uncompressed, where molly's prefix includes one atom more).
    selection: AtomSelection,
    bytes: Vec<u8>,
    scratch: Vec<u8>,
    decoded: molly::Frame,
}

impl Reader {
    /// Opens the file again for this reader; each frame will hold only the atoms in `atoms`.
    pub fn new(t: &Trajectory, layout: &Layout, atoms: Range<usize>) -> Result<Reader> {
        let file = std::fs::File::open(&t.path).map_err(|error| Error::Io { path: t.path.clone(), error })?;
        let selection = match u32::try_from(atoms.end) {
            Ok(end) if layout.atoms > 9 && atoms.end < layout.atoms => AtomSelection::Until(end),
            _ => AtomSelection::All,
        };
        Ok(Reader {
            path: t.path.clone(),
            file,
            layout: layout.clone(),
            frames: t.frames.clone(),
            atoms,
            selection,
            bytes: vec![],
            scratch: vec![],
            decoded: molly::Frame::default(),
        })
    }

    fn frame(&mut self, index: usize) -> Result<Frame> {
        let input = |message: String| Error::Input { path: self.path.clone(), message: format!("frame {index}: {message}") };
        let (offset, length) = self.layout.spans[index];
        self.bytes.resize(length, 0);
        self.file.read_exact_at(&mut self.bytes, offset).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                input(format!(
                    "the file now ends before the frame's end at byte {} (was it cut after it was opened?)",
                    offset + length as u64
                ))
            } else {
                Error::Io { path: self.path.clone(), error: e }
            }
        })?;
        let b = &self.bytes;
        let atoms = self.layout.atoms;
        if int(b, 0) != MAGIC || int(b, 4) != atoms as i32 || int(b, 52) != atoms as i32 {
            return Err(input(format!("the file changed since it was opened (no longer an XTC frame of {atoms} atoms at byte {offset})")));
        }
        if atoms > 9 {
            let limit = match self.selection {
                AtomSelection::Until(end) => end as usize,
                _ => atoms,
            };
            check_stream(&b[HEADER..], atoms, limit).map_err(input)?;
        }
        molly::XTCReader::new(std::io::Cursor::new(&b[..]))
            .read_frame_with_scratch(&mut self.decoded, &mut self.scratch, &self.selection)
            .map_err(|e| input(format!("cannot be decoded: {e}")))?;
        let p = &self.decoded.positions;
        if p.len() < 3 * self.atoms.end {
            return Err(input(format!("decoded {} atoms, not {}", p.len() / 3, self.atoms.end)));
        }
        let positions = p[3 * self.atoms.start..3 * self.atoms.end]
            .chunks_exact(3)
            .map(|x| [x[0] as f64 * 10.0, x[1] as f64 * 10.0, x[2] as f64 * 10.0])
            .collect();
        let cell = if self.layout.no_cell { None } else { cell_of(&self.decoded.boxvec).map_err(input)? };
        Ok(Frame { info: self.frames[index].clone(), positions, cell })
    }
}

impl FrameReader for Reader {
    fn read_chunk(&mut self, c: &Chunk) -> Result<Vec<Frame>> {
        (0..c.count).map(|k| self.frame(c.start + k * c.step)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_bits_are_xdrfiles() {
        // xdrfile's loops, written out, for the sizes a frame can give.
        fn sizeofint_loop(size: u32) -> u32 {
            let (mut n, mut bits) = (1u64, 0);
            while u64::from(size) >= n && bits < 32 {
                bits += 1;
                n <<= 1;
            }
            bits
        }
        fn sizeofints_loop(sizes: [u32; 3]) -> u32 {
            let (mut bytes, mut nbytes) = ([0u32; 32], 1);
            bytes[0] = 1;
            for size in sizes {
                let (mut tmp, mut k) = (0u32, 0);
                while k < nbytes {
                    tmp += bytes[k] * size;
                    bytes[k] = tmp & 0xff;
                    tmp >>= 8;
                    k += 1;
                }
                while tmp != 0 {
                    bytes[k] = tmp & 0xff;
                    k += 1;
                    tmp >>= 8;
                }
                nbytes = k;
            }
            let (mut num, mut bits) = (1u32, 0);
            while bytes[nbytes - 1] >= num {
                bits += 1;
                num *= 2;
            }
            (nbytes as u32 - 1) * 8 + bits
        }
        let samples = [1u32, 2, 3, 7, 8, 9, 255, 256, 257, 1000, 4095, 4096, 65535, 65536, 123_457, 0xff_ffff, 0x100_0000, 0x7fff_ffff];
        for &s in &samples {
            assert_eq!(sizeofint(s), sizeofint_loop(s), "sizeofint({s})");
        }
        for &a in &samples[..16] {
            for &b in &samples[..16] {
                for &c in &[1u32, 2, 9, 257, 65536, 0xff_ffff] {
                    assert_eq!(sizeofints([a, b, c]), sizeofints_loop([a, b, c]), "sizeofints({a}, {b}, {c})");
                }
            }
        }
    }

    #[test]
    fn boxes_are_chemfiles_cells_or_refused() {
        let cubic = [5.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 5.0];
        assert_eq!(cell_of(&cubic).unwrap(), Some([[50.0, 0.0, 0.0], [0.0, 50.0, 0.0], [0.0, 0.0, 50.0]]));
        assert_eq!(cell_of(&[0.0; 9]).unwrap(), None);
        assert_eq!(
            cell_of(&[-5.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 5.0]).unwrap_err(),
            "its box [-5.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 5.0] (nm) has a negative determinant (a left-handed cell)"
        );
        let rotated = [0.0, 5.0, 0.0, -5.0, 0.0, 0.0, 0.0, 0.0, 5.0];
        assert_eq!(
            cell_of(&rotated).unwrap_err(),
            "its box [0.0, 5.0, 0.0, -5.0, 0.0, 0.0, 0.0, 0.0, 5.0] (nm) is rectangular but not along the axes"
        );
        let triclinic = [5.0, 0.0, 0.0, 1.5, 4.0, 0.0, 1.0, 1.0, 4.5];
        assert_eq!(cell_of(&triclinic).unwrap().unwrap()[1], [15.0, 40.0, 0.0]);
    }

    #[test]
    fn bits_are_read_most_significant_first_and_not_past_the_end() {
        let data = [0b1011_0000, 0b0000_0001];
        assert_eq!(bits(&data, 0, 1), Some(1));
        assert_eq!(bits(&data, 1, 3), Some(0b011));
        assert_eq!(bits(&data, 12, 4), Some(1));
        assert_eq!(bits(&data, 13, 4), None);
    }
}
