//! GROMACS TNG trajectories, read frame set by frame set through the TNG library that
//! chemfiles builds and links (chemfiles-sys's static library carries its symbols).
//!
//! chemfiles' own TNG reader asks the library for a frame by its number
//! (`tng_util_pos_read_range`), and the library rounds the number up to a multiple of the
//! data's stride (`tng_gen_data_vector_interval_get`). That is right where frames count MD
//! steps and data comes every stride steps, as mdrun writes it, but `gmx trjconv` writes
//! TNG files whose frame sets are numbered 0, 1, 2, … while keeping the run's stride
//! (MDAnalysis's `test.tng`: stride 100, data at frames 0 to 4, as in pytng issue 95), and
//! there every frame after the first rounds past its own data. So trajwalk asks for whole
//! frame sets instead (`tng_particle_data_vector_get` on the current frame set), which
//! needs no frame arithmetic: the frames are the ones the library itself lists as having
//! positions (the list chemfiles makes), and a frame's data is its place among the frames
//! of its frame set. Coordinates, box and time are converted exactly as chemfiles does
//! (the library's single or double values times 10^(exponent + 10) for Angstrom, seconds
//! times 10^12 for ps), so both readers give the same bits where both can read a file.
//!
//! Opening decodes every frame set once, as the other chemfiles formats are read once at
//! open: a damaged file is refused before the first walk, naming the frame. A reader then
//! keeps the frame set it decoded last, so frames read in order decode each set once.

use super::formats::FormatInfo;
use crate::error::{Error, Result};
use crate::topology::Topology;
use crate::trajectory::{Chunk, Format, Frame, FrameInfo, FrameReader, OpenOptions, Segment, Trajectory};
use crate::units::LengthUnit;
use std::ffi::{c_char, c_int, c_void, CString};
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The parts of the TNG library's C API (tng_io.h, 1.8) that trajwalk calls.
mod ffi {
    use std::ffi::{c_char, c_int, c_void};

    /// `tng_trajectory_t`, opaque.
    pub type Tng = *mut c_void;
    /// `tng_trajectory_frame_set_t`, opaque.
    pub type FrameSet = *mut c_void;

    pub const SUCCESS: c_int = 0;
    pub const FAILURE: c_int = 1;
    pub const USE_HASH: c_char = 1;
    pub const FLOAT: c_char = 2;
    pub const DOUBLE: c_char = 3;
    pub const BOX_SHAPE: i64 = 0x1000_0000;
    pub const POSITIONS: i64 = 0x1000_0001;

    extern "C" {
        pub fn tng_util_trajectory_open(filename: *const c_char, mode: c_char, tng: *mut Tng) -> c_int;
        pub fn tng_util_trajectory_close(tng: *mut Tng) -> c_int;
        pub fn tng_num_particles_get(tng: Tng, n: *mut i64) -> c_int;
        pub fn tng_distance_unit_exponential_get(tng: Tng, exponent: *mut i64) -> c_int;
        pub fn tng_util_trajectory_next_frame_present_data_blocks_find(
            tng: Tng,
            current_frame: i64,
            n_requested: i64,
            requested: *const i64,
            next_frame: *mut i64,
            n_found: *mut i64,
            found: *mut *mut i64,
        ) -> c_int;
        pub fn tng_frame_set_of_frame_find(tng: Tng, frame: i64) -> c_int;
        pub fn tng_current_frame_set_get(tng: Tng, set: *mut FrameSet) -> c_int;
        pub fn tng_frame_set_frame_range_get(tng: Tng, set: FrameSet, first: *mut i64, last: *mut i64) -> c_int;
        pub fn tng_frame_set_read_current_only_data_from_block_id(tng: Tng, hash_mode: c_char, block_id: i64) -> c_int;
        pub fn tng_particle_data_vector_get(
            tng: Tng,
            block_id: i64,
            values: *mut *mut c_void,
            n_frames: *mut i64,
            stride: *mut i64,
            n_particles: *mut i64,
            n_values_per_frame: *mut i64,
            data_type: *mut c_char,
        ) -> c_int;
        pub fn tng_data_vector_get(
            tng: Tng,
            block_id: i64,
            values: *mut *mut c_void,
            n_frames: *mut i64,
            stride: *mut i64,
            n_values_per_frame: *mut i64,
            data_type: *mut c_char,
        ) -> c_int;
        pub fn tng_util_time_of_frame_get(tng: Tng, frame: i64, seconds: *mut f64) -> c_int;
        /// The library allocates what it returns with malloc.
        pub fn free(p: *mut c_void);
    }
}

/// An open TNG trajectory; closed on drop.
struct Handle {
    tng: ffi::Tng,
    path: PathBuf,
}

// SAFETY: a TNG trajectory is a plain heap structure with its own FILE*; the library keeps
// no thread-local or global state for it, and `&mut self` on every call rules out two
// threads using one handle at once.
unsafe impl Send for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: `tng` came from a successful open and is closed only here.
        unsafe { ffi::tng_util_trajectory_close(&mut self.tng) };
    }
}

/// Values the library allocated, freed on drop.
struct Values(*mut c_void);

impl Drop for Values {
    fn drop(&mut self) {
        // SAFETY: null or allocated by the library with malloc.
        unsafe { ffi::free(self.0) }
    }
}

/// One data block of a frame set: `frames` frames of `width` values each, widened to f64
/// (exactly: they are f32 or f64 in the file).
struct Block {
    frames: usize,
    width: usize,
    values: Vec<f64>,
}

impl Block {
    fn frame(&self, k: usize) -> &[f64] {
        &self.values[k * self.width..(k + 1) * self.width]
    }
}

impl Handle {
    fn open(path: &Path) -> Result<Handle> {
        use std::os::unix::ffi::OsStrExt;
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| Error::Input { path: path.into(), message: "has a NUL byte in its name".into() })?;
        let mut tng: ffi::Tng = std::ptr::null_mut();
        // SAFETY: a NUL-terminated name and a place for the handle.
        let status = unsafe { ffi::tng_util_trajectory_open(c.as_ptr(), b'r' as c_char, &mut tng) };
        let handle = Handle { tng, path: path.into() };
        if status != ffi::SUCCESS || tng.is_null() {
            return Err(handle.failed("cannot be read as GROMACS TNG: the TNG library cannot open it"));
        }
        Ok(handle)
    }

    fn failed(&self, message: &str) -> Error {
        Error::Input { path: self.path.clone(), message: message.into() }
    }

    fn number(&self, get: unsafe extern "C" fn(ffi::Tng, *mut i64) -> c_int, what: &str) -> Result<i64> {
        let mut n = 0;
        // SAFETY: an open handle and a place for the answer.
        match unsafe { get(self.tng, &mut n) } {
            ffi::SUCCESS => Ok(n),
            _ => Err(self.failed(&format!("cannot be read as GROMACS TNG: its {what} cannot be read"))),
        }
    }

    /// Every frame with positions, in order, as the library finds them.
    fn frames_with_positions(&mut self) -> Result<Vec<i64>> {
        let (mut frames, mut current) = (vec![], -1);
        let mut found = Values(std::ptr::null_mut());
        loop {
            let (mut next, mut n_found) = (0, 0);
            let wanted = [ffi::POSITIONS];
            // SAFETY: the list of wanted blocks outlives the call; `found` is the library's
            // buffer, reallocated by it and freed by `Values`.
            let status = unsafe {
                ffi::tng_util_trajectory_next_frame_present_data_blocks_find(
                    self.tng,
                    current,
                    1,
                    wanted.as_ptr(),
                    &mut next,
                    &mut n_found,
                    (&mut found.0 as *mut *mut c_void).cast(),
                )
            };
            match status {
                ffi::SUCCESS if next > current => {
                    frames.push(next);
                    current = next;
                }
                ffi::FAILURE => return Ok(frames),
                _ => {
                    return Err(self.failed(&format!(
                        "cannot be read as GROMACS TNG: the frames after TNG frame {current} cannot be found (a damaged file?)"
                    )))
                }
            }
        }
    }

    /// Makes the frame set holding TNG frame `frame` the current one; its first frame.
    fn seek(&mut self, frame: i64) -> Option<i64> {
        let (mut set, mut first, mut last): (ffi::FrameSet, i64, i64) = (std::ptr::null_mut(), 0, 0);
        // SAFETY: an open handle; the frame set pointer is the library's, used at once.
        unsafe {
            (ffi::tng_frame_set_of_frame_find(self.tng, frame) == ffi::SUCCESS
                && ffi::tng_current_frame_set_get(self.tng, &mut set) == ffi::SUCCESS
                && ffi::tng_frame_set_frame_range_get(self.tng, set, &mut first, &mut last) == ffi::SUCCESS)
                .then_some(first)
        }
    }

    /// A data block of the current frame set, decoded (its hash checked where it has one);
    /// None when the frame set has no such block.
    fn block(&mut self, id: i64, particles: Option<usize>) -> std::result::Result<Option<Block>, ()> {
        let mut values = Values(std::ptr::null_mut());
        let (mut frames, mut stride, mut n, mut width, mut kind) = (0i64, 0i64, 0i64, 0i64, 0 as c_char);
        // SAFETY: an open handle, places for the answers; the values are the library's
        // allocation, freed by `Values`.
        let status = unsafe {
            // After a failed read the library still answers with the last frame set's
            // values: only a read that succeeded is asked for its data.
            match ffi::tng_frame_set_read_current_only_data_from_block_id(self.tng, ffi::USE_HASH, id) {
                ffi::SUCCESS => {}
                ffi::FAILURE => return Ok(None),
                _ => return Err(()),
            }
            match particles {
                Some(_) => {
                    ffi::tng_particle_data_vector_get(self.tng, id, &mut values.0, &mut frames, &mut stride, &mut n, &mut width, &mut kind)
                }
                None => {
                    n = 1;
                    ffi::tng_data_vector_get(self.tng, id, &mut values.0, &mut frames, &mut stride, &mut width, &mut kind)
                }
            }
        };
        match status {
            ffi::SUCCESS => {}
            ffi::FAILURE => return Ok(None),
            _ => return Err(()),
        }
        if particles.is_some_and(|p| n as usize != p) || frames < 1 || stride < 1 || width < 1 || values.0.is_null() {
            return Err(());
        }
        // The library's own count of the frames that hold data (tng_gen_data_vector_get).
        let frames = ((frames - 1) / stride + 1) as usize;
        // Counts from the file: checked, since a product that wraps would make a slice of
        // the wrong length over the library's buffer.
        let width = usize::try_from(n.checked_mul(width).ok_or(())?).map_err(|_| ())?;
        let count = frames.checked_mul(width).ok_or(())?;
        // SAFETY: the library allocated `count` values of the type it names.
        let values = unsafe {
            match kind {
                ffi::FLOAT => std::slice::from_raw_parts(values.0 as *const f32, count).iter().map(|&v| v as f64).collect(),
                ffi::DOUBLE => std::slice::from_raw_parts(values.0 as *const f64, count).to_vec(),
                _ => return Err(()),
            }
        };
        Ok(Some(Block { frames, width, values }))
    }

    fn seconds(&mut self, frame: i64) -> Option<f64> {
        let mut t = 0.0;
        // SAFETY: an open handle and a place for the answer.
        (unsafe { ffi::tng_util_time_of_frame_get(self.tng, frame, &mut t) } == ffi::SUCCESS).then_some(t)
    }
}

/// Where a frame's data lives: its TNG frame number, the first frame of its frame set,
/// and its place among that frame set's frames with positions.
#[derive(Clone, Copy, Debug)]
struct Place {
    frame: i64,
    set: i64,
    k: usize,
}

/// What an opened TNG input needs to be read again.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Atoms in every frame.
    pub atoms: usize,
    /// Angstrom per unit of the file.
    scale: f64,
    /// Each frame of the sequence.
    places: Arc<Vec<Place>>,
    /// How many frames with positions each frame set holds, by its first frame.
    per_set: Arc<Vec<(i64, usize)>>,
    /// Leave the box out (`--no-unwrap`).
    pub no_cell: bool,
}

/// A decoded frame set: positions and, if it has one, its box.
struct Set {
    first: i64,
    positions: Block,
    cell: Option<Block>,
}

/// Decodes the frame set whose first frame `place.set` is, checking it holds the frames
/// the open found in it.
fn decode(h: &mut Handle, layout: &Layout, place: Place, index: usize) -> Result<Set> {
    let path = h.path.clone();
    let damaged = |what: &str| Error::Input {
        path: path.clone(),
        message: format!("frame {index} (TNG frame {}) cannot be read: {what} (a damaged file?)", place.frame),
    };
    if h.seek(place.frame) != Some(place.set) {
        return Err(damaged("its frame set cannot be found"));
    }
    let positions = match h.block(ffi::POSITIONS, Some(layout.atoms)) {
        Ok(Some(b)) => b,
        Ok(None) => return Err(damaged("its frame set has no positions")),
        Err(()) => return Err(damaged(&format!("its positions of {} atoms cannot be decoded", layout.atoms))),
    };
    let expected = layout.per_set.iter().find(|(s, _)| *s == place.set).map_or(0, |&(_, n)| n);
    if positions.frames != expected {
        return Err(damaged(&format!("its frame set holds {} frames of positions, but {expected} were listed", positions.frames)));
    }
    let cell = if layout.no_cell {
        None
    } else {
        match h.block(ffi::BOX_SHAPE, None) {
            Ok(Some(b)) if b.width == 9 && (b.frames == 1 || b.frames == positions.frames) => Some(b),
            Ok(Some(b)) => {
                return Err(damaged(&format!(
                    "its box has {} frames of {} values, for {} frames of positions",
                    b.frames, b.width, positions.frames
                )))
            }
            Ok(None) => None,
            Err(()) => return Err(damaged("its box cannot be decoded")),
        }
    };
    Ok(Set { first: place.set, positions, cell })
}

/// The block ids TNG's general information, a frame set and a particle mapping have.
const GENERAL_INFO: i64 = 0x0;
const FRAME_SET: i64 = 0x2;
const PARTICLE_MAPPING: i64 = 0x3;

/// Opens `path` as a TNG trajectory, decoding every frame once (see the module's note).
pub fn open(path: &Path, info: &'static FormatInfo, opts: &OpenOptions) -> Result<Trajectory> {
    check_blocks(path)?;
    let mut h = Handle::open(path)?;
    let atoms = h.number(ffi::tng_num_particles_get, "atom count")?;
    let atoms = usize::try_from(atoms).ok().filter(|&n| n > 0).ok_or_else(|| h.failed(&format!("has {atoms} atoms")))?;
    let exponent = h.number(ffi::tng_distance_unit_exponential_get, "distance unit")?;
    let numbers = h.frames_with_positions()?;
    if numbers.is_empty() {
        return Err(h.failed("has no frames (read as GROMACS TNG)"));
    }
    let mut places = Vec::with_capacity(numbers.len());
    let mut per_set: Vec<(i64, usize)> = vec![];
    for (index, &frame) in numbers.iter().enumerate() {
        let Some(set) = h.seek(frame) else {
            return Err(h.failed(&format!("frame {index} (TNG frame {frame}) cannot be read: its frame set cannot be found")));
        };
        match per_set.last_mut() {
            Some((s, n)) if *s == set => *n += 1,
            _ => per_set.push((set, 1)),
        }
        let k = per_set.last().map_or(0, |&(_, n)| n - 1);
        places.push(Place { frame, set, k });
    }
    let layout = Layout {
        atoms,
        scale: 10f64.powf(exponent as f64 + 10.0),
        places: Arc::new(places),
        per_set: Arc::new(per_set),
        no_cell: opts.no_cell,
    };
    let mut frames = Vec::with_capacity(numbers.len());
    let mut last: Option<i64> = None;
    for (index, &place) in layout.places.iter().enumerate() {
        if last != Some(place.set) {
            decode(&mut h, &layout, place, index)?;
            last = Some(place.set);
        }
        let time = h.seconds(place.frame).map(|s| s * 1e12);
        frames.push(FrameInfo { index, key: index as u64, step: Some(place.frame), time, wepy: None });
    }
    Ok(Trajectory {
        path: path.into(),
        format: Format::Tng(layout),
        topology: Arc::new(Topology::from_elements(vec![None; atoms])),
        segments: vec![Segment { dataset: String::new(), first: 0, frames: frames.len() }],
        frames: Arc::new(frames),
        length_unit: LengthUnit::angstrom(),
        time_unit: info.time_unit.map(str::to_string),
    })
}

/// A worker's own TNG handle, with the frame set it decoded last.
pub struct Reader {
    handle: Handle,
    layout: Layout,
    frames: Arc<Vec<FrameInfo>>,
    atoms: Range<usize>,
    set: Option<Set>,
}

impl Reader {
    /// Opens the file again for this reader; each frame will hold only the atoms in `atoms`.
    pub fn new(t: &Trajectory, layout: &Layout, atoms: Range<usize>) -> Result<Reader> {
        let handle = Handle::open(&t.path)?;
        Ok(Reader { handle, layout: layout.clone(), frames: t.frames.clone(), atoms, set: None })
    }

    fn frame(&mut self, index: usize) -> Result<Frame> {
        let place = self.layout.places[index];
        if self.set.as_ref().is_none_or(|s| s.first != place.set) {
            self.set = Some(decode(&mut self.handle, &self.layout, place, index)?);
        }
        let set = self.set.as_ref().expect("decoded above");
        let scale = self.layout.scale;
        let values = set.positions.frame(place.k);
        let positions = self.atoms.clone().map(|i| [values[3 * i] * scale, values[3 * i + 1] * scale, values[3 * i + 2] * scale]).collect();
        let cell = match &set.cell {
            Some(b) => {
                let v = b.frame(if b.frames == 1 { 0 } else { place.k });
                cell(v, scale).map_err(|why| Error::Input {
                    path: self.handle.path.clone(),
                    message: format!("frame {index} (TNG frame {}): its box {v:?} {why}", place.frame),
                })?
            }
            None => None,
        };
        Ok(Frame { info: self.frames[index].clone(), positions, cell })
    }
}

/// The box from TNG's nine values (the three box vectors, one after the other), scaled to
/// Angstrom as chemfiles scales them, with chemfiles' rules for a cell ([`super::unit_cell`]:
/// a box of zeros is no box).
fn cell(v: &[f64], scale: f64) -> std::result::Result<Option<[[f64; 3]; 3]>, &'static str> {
    super::unit_cell(std::array::from_fn(|i| std::array::from_fn(|j| v[3 * j + i] * scale)))
}

impl FrameReader for Reader {
    fn read_chunk(&mut self, c: &Chunk) -> Result<Vec<Frame>> {
        (0..c.count).map(|k| self.frame(c.start + k * c.step)).collect()
    }
}

/// Checks the file's blocks before the TNG library reads it: that they end where the file
/// does (the library takes a file cut inside its last frame set for one with fewer frames,
/// and its open for one with no atoms), that each block with an MD5 hash has the contents
/// it hashes (the library reports a mismatch and decodes the damaged block anyway, and
/// crashed on 7% of randomly damaged copies of MDAnalysis's test.tng), and that no frame
/// set has a particle mapping: the library's whole-frame-set call copies mapped data frame by frame
/// over every frame a set spans, not only those holding data, which overruns its buffer
/// when the data is strided. mdrun and trjconv write no mappings.
fn check_blocks(path: &Path) -> Result<()> {
    let io = |error| Error::Io { path: path.into(), error };
    let mut file = std::io::BufReader::new(std::fs::File::open(path).map_err(io)?);
    let size = file.get_ref().metadata().map_err(io)?.len();
    let input = |message: String| Error::Input { path: path.into(), message };
    match blocks(&mut file, size).map_err(io)? {
        Blocks::Whole { mapped: false } => Ok(()),
        Blocks::NotTng => Err(input("is not a TNG file: it does not begin with a TNG general-information block".into())),
        Blocks::Whole { mapped: true } => Err(input(
            "has particle-mapping blocks (atoms stored out of order), which trajwalk does not read; convert it with `gmx trjconv` to XTC"
                .into(),
        )),
        Blocks::Cut { block, end } => {
            Err(input(format!("is truncated: its block at byte {block} runs to byte {end}, but the file ends at byte {size}")))
        }
        Blocks::Damaged { block } => {
            Err(input(format!("cannot be read as GROMACS TNG: the block header at byte {block} gives impossible sizes (a damaged file?)")))
        }
        Blocks::Hash { block, name } => Err(input(format!("is damaged: its block {name:?} at byte {block} does not match its MD5 hash"))),
    }
}

/// What the block headers say about a file.
#[derive(Debug, PartialEq, Eq)]
enum Blocks {
    /// The blocks end where the file does; whether a frame set has a particle mapping.
    Whole { mapped: bool },
    /// The first block is not TNG's general-information block (id 0), which every TNG file
    /// begins with: another file named .tng, whose first bytes read as sizes are nonsense.
    NotTng,
    /// The block at byte `block` runs to byte `end`, past the end of the file.
    Cut { block: u64, end: u128 },
    /// The header at byte `block` gives a negative size, or one smaller than a header.
    Damaged { block: u64 },
    /// The contents of the block at byte `block`, called `name`, do not match its MD5 hash.
    Hash { block: u64, name: String },
}

/// Walks the blocks from the start of the file to its end. A block header is the header's
/// size, the contents' size and the block id (64-bit words in the file's byte order), the
/// MD5 of the contents (16 zero bytes for none), the block's name (NUL-terminated), then
/// the contents.
fn blocks(mut file: impl Read + Seek, size: u64) -> std::io::Result<Blocks> {
    let mut bytes = |offset: u64, out: &mut [u8]| -> std::io::Result<()> {
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(out)
    };
    let word = |b: [u8; 8], little: bool| if little { i64::from_le_bytes(b) } else { i64::from_be_bytes(b) };
    let mut words = [0u8; 24];
    if size < 24 {
        return Ok(Blocks::Cut { block: 0, end: 24 });
    }
    // The TNG library's own test: a little-endian file's first header size (a small
    // number) has a non-zero first byte and a zero last one.
    bytes(0, &mut words[..8])?;
    let little = words[0] != 0 && words[7] == 0;
    let (mut offset, mut in_frame_sets, mut mapped) = (0u64, false, false);
    while offset < size {
        if size - offset < 24 {
            return Ok(Blocks::Cut { block: offset, end: offset as u128 + 24 });
        }
        bytes(offset, &mut words)?;
        let at = |k: usize| word(words[8 * k..8 * k + 8].try_into().expect("8 bytes"), little);
        let (header, contents, id) = (at(0), at(1), at(2));
        if offset == 0 && id != GENERAL_INFO {
            return Ok(Blocks::NotTng);
        }
        let (Ok(header @ 24..), Ok(contents)) = (u64::try_from(header), u64::try_from(contents)) else {
            return Ok(Blocks::Damaged { block: offset });
        };
        // In u128, so that no size wraps round to an earlier block.
        let end = offset as u128 + header as u128 + contents as u128;
        if end > size as u128 {
            return Ok(Blocks::Cut { block: offset, end });
        }
        let mut head = vec![0u8; (header - 24).min(1 << 16) as usize];
        bytes(offset + 24, &mut head)?;
        let hash: [u8; 16] = head.get(..16).and_then(|h| h.try_into().ok()).unwrap_or([0; 16]);
        if hash != [0; 16] {
            let mut md5 = md5::Context::new();
            let mut chunk = vec![0u8; 1 << 16];
            let mut left = contents;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                bytes(offset + header + (contents - left), &mut chunk[..n])?;
                md5.consume(&chunk[..n]);
                left -= n as u64;
            }
            if md5.finalize().0 != hash {
                let name = head.get(16..).unwrap_or(&[]);
                let name = String::from_utf8_lossy(name.split(|&c| c == 0).next().unwrap_or(&[])).into_owned();
                return Ok(Blocks::Hash { block: offset, name });
            }
        }
        in_frame_sets |= id == FRAME_SET;
        mapped |= in_frame_sets && id == PARTICLE_MAPPING;
        offset = end as u64;
    }
    Ok(Blocks::Whole { mapped })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(header: i64, contents: i64, id: i64) -> Vec<u8> {
        [header, contents, id].iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn block_headers_find_a_cut_a_damaged_size_and_a_mapping_without_wrapping() {
        // Every file begins with the general-information block (here an empty one).
        let scan = |parts: &[Vec<u8>]| {
            let bytes = [&[block(24, 0, GENERAL_INFO)], parts].concat().concat();
            let size = bytes.len() as u64;
            blocks(std::io::Cursor::new(bytes), size).unwrap()
        };
        let set = block(24, 0, FRAME_SET);
        assert_eq!(scan(&[set.clone(), set.clone()]), Blocks::Whole { mapped: false });
        assert_eq!(scan(&[set.clone(), block(24, 0, PARTICLE_MAPPING)]), Blocks::Whole { mapped: true });
        // A mapping block before the first frame set is not one of a frame set.
        assert_eq!(scan(&[block(24, 0, PARTICLE_MAPPING), set.clone()]), Blocks::Whole { mapped: false });
        let max = i64::MAX as u128;
        for (header, contents, end) in [(i64::MAX, i64::MAX, 48 + 2 * max), (24, i64::MAX, 72 + max), (i64::MAX, 0, 48 + max)] {
            assert_eq!(scan(&[set.clone(), block(header, contents, FRAME_SET), set.clone()]), Blocks::Cut { block: 48, end });
        }
        assert_eq!(scan(&[set.clone(), block(-1, 0, FRAME_SET)]), Blocks::Damaged { block: 48 });
        assert_eq!(scan(&[set.clone(), block(16, 0, FRAME_SET)]), Blocks::Damaged { block: 48 });
        assert_eq!(scan(&[set.clone(), set[..20].to_vec()]), Blocks::Cut { block: 48, end: 72 });
        assert_eq!(scan(&[block(24, 8, FRAME_SET)]), Blocks::Cut { block: 24, end: 56 });
    }

    /// Another file named .tng is said to be no TNG file, rather than a TNG file whose first
    /// block "runs to byte 8573820076051" (its first bytes read as a block size).
    #[test]
    fn a_file_that_does_not_begin_with_tng_general_information_is_not_tng() {
        let text = b"REMARK  this is a PDB file named .tng\nATOM      1  N   ALA A   1       0.000   0.000   0.000\n".to_vec();
        let size = text.len() as u64;
        assert_eq!(blocks(std::io::Cursor::new(text.clone()), size).unwrap(), Blocks::NotTng);
        let path = std::env::temp_dir().join(format!("trajwalk-tng-{}.tng", std::process::id()));
        std::fs::write(&path, &text).unwrap();
        let e = check_blocks(&path).unwrap_err().to_string().replace(&path.display().to_string(), "x.tng");
        std::fs::remove_file(&path).unwrap();
        assert_eq!(e, "x.tng: is not a TNG file: it does not begin with a TNG general-information block");
    }

    #[test]
    fn a_box_of_zeros_is_no_box_and_rows_are_the_box_vectors() {
        assert_eq!(cell(&[0.0; 9], 10.0), Ok(None));
        let v = [1.0, 0.0, 0.0, 0.5, 2.0, 0.0, 0.25, 0.5, 3.0];
        assert_eq!(cell(&v, 10.0), Ok(Some([[10.0, 0.0, 0.0], [5.0, 20.0, 0.0], [2.5, 5.0, 30.0]])));
        // chemfiles' refusals hold for TNG boxes too.
        assert_eq!(cell(&[-1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0], 10.0), Err("has a negative determinant (a left-handed cell)"));
    }
}
