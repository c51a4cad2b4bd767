//! The one check trajwalk makes on a TNG file before chemfiles reads it: that every frame
//! set's positions lie on multiples of their stride.
//!
//! The TNG library that chemfiles 0.10.4 bundles finds a frame's data by rounding the frame
//! asked for up to a multiple of the data's stride (`tng_gen_data_vector_interval_get`),
//! right where frames count MD steps and data is written every stride steps, as mdrun
//! writes it. `gmx trjconv` writes TNG files whose frame sets are numbered 0, 1, 2, … while
//! keeping the run's stride (MDAnalysis's `test.tng`: stride 100, data at frames 0 to 4, as
//! in pytng issue 95): every frame after the first then rounds past its own data and
//! chemfiles fails on it. Such a file is refused at open, saying why and how to convert it,
//! rather than with the TNG library's bare error on frame 1.
//!
//! Only block headers and the positions blocks' first bytes are read. A layout this scan
//! does not understand is left to chemfiles, which reports its own errors.

use crate::error::{Error, Result};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

const FRAME_SET: i64 = 0x2;
const POSITIONS: i64 = 0x1000_0001;
const FRAME_DEPENDENT: u8 = 1;

/// Where a frame set's positions start and how far apart they are, in TNG frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sparse {
    first: i64,
    stride: i64,
}

/// Refuses a TNG file whose positions chemfiles cannot find (see the module's note).
pub fn check(path: &Path) -> Result<()> {
    let io = |error| Error::Io { path: path.into(), error };
    let mut file = std::io::BufReader::new(std::fs::File::open(path).map_err(io)?);
    let size = file.get_ref().metadata().map_err(io)?.len();
    let sets = match positions(&mut file, size) {
        Ok(Some(sets)) => sets,
        // A cut file is chemfiles' to report, as is a layout not understood here.
        Ok(None) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
        Err(error) => return Err(io(error)),
    };
    for (set, p) in sets.iter().enumerate() {
        let Some(p) = p else { continue };
        if p.stride > 1 && p.first % p.stride != 0 {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("trajectory");
            return Err(Error::Input {
                path: path.into(),
                message: format!(
                    "holds the positions of its frame set {set} at TNG frame {}, which is not a multiple of their stride of {} frames (as `gmx trjconv` writes TNG files); chemfiles' TNG reader cannot find such frames. Convert it with `gmx trjconv -f {} -o {stem}.xtc` and read the XTC",
                    p.first,
                    p.stride,
                    path.display()
                ),
            });
        }
    }
    Ok(())
}

/// A TNG file's 64-bit integers, in the byte order of the file.
struct Words<R> {
    file: R,
    little: bool,
}

impl<R: Read + Seek> Words<R> {
    fn at(&mut self, offset: u64) -> std::io::Result<i64> {
        let mut b = [0u8; 8];
        self.file.seek(SeekFrom::Start(offset))?;
        self.file.read_exact(&mut b)?;
        Ok(if self.little { i64::from_le_bytes(b) } else { i64::from_be_bytes(b) })
    }

    fn bytes<const N: usize>(&mut self, offset: u64) -> std::io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.file.seek(SeekFrom::Start(offset))?;
        self.file.read_exact(&mut b)?;
        Ok(b)
    }
}

/// The sparse positions block of each frame set, in file order (None for a frame set
/// without one); None altogether when a block header is not what this scan expects.
fn positions(file: impl Read + Seek, size: u64) -> std::io::Result<Option<Vec<Option<Sparse>>>> {
    let mut words = Words { file, little: true };
    // The TNG library's own test: a little-endian file's first header size (a small
    // number) has a non-zero first byte and a zero last one.
    let first: [u8; 8] = words.bytes(0)?;
    words.little = first[0] != 0 && first[7] == 0;
    let (mut offset, mut sets) = (0u64, Vec::new());
    while size.saturating_sub(offset) >= 24 {
        let (header, contents, id) = (words.at(offset)?, words.at(offset + 8)?, words.at(offset + 16)?);
        let (Ok(header @ 24..), Ok(contents)) = (u64::try_from(header), u64::try_from(contents)) else { return Ok(None) };
        // Checked: a corrupt size must end the scan, not wrap round to an earlier block.
        let Some(start) = offset.checked_add(header).filter(|s| s.checked_add(contents).is_some()) else { return Ok(None) };
        match (id, sets.last_mut()) {
            (FRAME_SET, _) => sets.push(None),
            (POSITIONS, Some(set)) => {
                // Data type, dependency, sparseness (frame-dependent blocks only), values
                // per frame, codec, the codec's multiplier, then first frame and stride.
                let [_, dependency, sparse]: [u8; 3] = words.bytes(start)?;
                if dependency & FRAME_DEPENDENT != 0 && sparse != 0 {
                    let codec = words.at(start + 11)?;
                    let at = start + 19 + if codec != 0 { 8 } else { 0 };
                    *set = Some(Sparse { first: words.at(at)?, stride: words.at(at + 8)? });
                }
            }
            _ => {}
        }
        // Every block moves forward (its header is at least 24 bytes), so the scan ends.
        offset = start + contents;
    }
    Ok(Some(sets))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(header: i64, contents: i64, id: i64) -> Vec<u8> {
        [header, contents, id].iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn block_sizes_past_the_end_or_past_u64_end_the_scan_instead_of_wrapping() {
        for (header, contents) in [(i64::MAX, i64::MAX), (24, i64::MAX), (i64::MAX, 0)] {
            let bytes = [block(header, contents, FRAME_SET), block(24, 0, FRAME_SET)].concat();
            let size = bytes.len() as u64;
            let sets = positions(std::io::Cursor::new(bytes), size).unwrap();
            assert!(sets.as_ref().is_none_or(|s| s.len() == 1), "{header} {contents}: {sets:?}");
        }
        // A negative size is not a layout this scan understands.
        let bytes = block(-1, 0, FRAME_SET);
        assert_eq!(positions(std::io::Cursor::new(bytes), 24).unwrap(), None);
    }
}
