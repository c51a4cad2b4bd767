//! Several inputs read as one trajectory, one after the other, as MDAnalysis's ChainReader
//! reads `md1.xtc md2.xtc`: frames are numbered across the files (the second file's first
//! frame follows the first file's last), each file keeps its own steps and times, and every
//! file must have the same atoms. A `--topology` is read once and checked against each.
//!
//! Each file is opened as it would be alone; the chain's segments are the files' segments
//! in order, so a chunk never spans two files and is read by that file's own reader.

use crate::error::{Error, Result};
use crate::trajectory::{Chunk, Format, Frame, FrameInfo, FrameReader, OpenOptions, Segment, Trajectory};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

/// The files of a chain, opened.
#[derive(Debug)]
pub struct Layout {
    /// Each input, opened on its own, in order.
    pub parts: Vec<Trajectory>,
    /// For each segment of the chain, the part holding it and its index among the part's.
    places: Vec<(usize, usize)>,
}

/// Opens `paths` (two or more) as one trajectory.
pub fn open(paths: &[PathBuf], opts: &OpenOptions) -> Result<Trajectory> {
    let alone = OpenOptions { topology: None, ..opts.clone() };
    let parts = paths.iter().map(|p| Trajectory::open(p, &alone)).collect::<Result<Vec<_>>>()?;
    let first = &parts[0];
    for p in &parts {
        if matches!(p.format, Format::Bod(_) | Format::Wepy(_)) {
            return Err(Error::Option(format!(
                "several inputs are read as one trajectory of MD frames, but {} is {}; give it alone",
                p.path.display(),
                p.format.name()
            )));
        }
        if p.topology.len() != first.topology.len() {
            return Err(Error::Input {
                path: p.path.clone(),
                message: format!(
                    "has {} atoms per frame, but {} (the first input) has {}",
                    p.topology.len(),
                    first.path.display(),
                    first.topology.len()
                ),
            });
        }
        if p.length_unit.name != first.length_unit.name {
            return Err(Error::Input {
                path: p.path.clone(),
                message: format!("is in {}, but {} is in {}", p.length_unit.name, first.path.display(), first.length_unit.name),
            });
        }
    }
    let (mut frames, mut segments, mut places) = (vec![], vec![], vec![]);
    for (k, p) in parts.iter().enumerate() {
        let offset = frames.len();
        for (j, s) in p.segments.iter().enumerate() {
            segments.push(Segment { dataset: s.dataset.clone(), first: offset + s.first, frames: s.frames });
            places.push((k, j));
        }
        frames.extend(p.frames.iter().map(|f| {
            let index = offset + f.index;
            FrameInfo { index, key: index as u64, step: f.step, time: f.time, wepy: None }
        }));
    }
    let time_unit = if parts.iter().all(|p| p.time_unit == first.time_unit) { first.time_unit.clone() } else { None };
    let t = Trajectory {
        path: first.path.clone(),
        topology: first.topology.clone(),
        length_unit: first.length_unit.clone(),
        time_unit,
        segments,
        frames: Arc::new(frames),
        format: Format::Chain(Arc::new(Layout { parts, places })),
    };
    t.with_topology(opts)
}

/// Reads each chunk through the reader of the file holding it, opened when first needed;
/// the previous file's reader is closed when the chunks move on to another file.
pub struct Reader {
    layout: Arc<Layout>,
    segments: Vec<Segment>,
    frames: Arc<Vec<FrameInfo>>,
    atoms: Range<usize>,
    current: Option<(usize, Box<dyn FrameReader>)>,
}

impl Reader {
    /// A reader of the chain `t`; no file is opened until a chunk needs it.
    pub fn new(t: &Trajectory, layout: &Arc<Layout>, atoms: Range<usize>) -> Reader {
        Reader { layout: layout.clone(), segments: t.segments.clone(), frames: t.frames.clone(), atoms, current: None }
    }
}

impl FrameReader for Reader {
    fn read_chunk(&mut self, c: &Chunk) -> Result<Vec<Frame>> {
        let (part, segment) = self.layout.places[c.segment];
        if self.current.as_ref().is_none_or(|(p, _)| *p != part) {
            self.current = Some((part, self.layout.parts[part].reader(self.atoms.clone())?));
        }
        let (_, reader) = self.current.as_mut().expect("opened above");
        let mut frames = reader.read_chunk(&Chunk { segment, ..*c })?;
        let first = self.segments[c.segment].first + c.start;
        for (k, f) in frames.iter_mut().enumerate() {
            f.info = self.frames[first + k * c.step].clone();
        }
        Ok(frames)
    }
}
