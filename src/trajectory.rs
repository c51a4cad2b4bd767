//! A trajectory as the rest of trajwalk sees it, whatever the file format: a topology, a
//! sequence of frames with their step, time and seed key, and readers that deliver chunks
//! of frames.
//!
//! An opened [`Trajectory`] is a light description (path, dataset names, frame table), not an
//! open handle: a worker calls [`Trajectory::reader`] to get its own handle, and work moves
//! between threads (or, later, machines) as [`Chunk`]s, so nothing holds a whole trajectory.

use crate::error::{Error, Result, Setting};
use crate::io::formats::{self, Backend};
use crate::io::{bod::BodInput, chain, chemfiles, dcd, h5md, memory, pdb, tng, wepy, xtc};
use crate::topology::Topology;
use crate::units::LengthUnit;
use serde::Serialize;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a frame of a weighted-ensemble (wepy) run comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct WepyLabel {
    /// The run, as its `/runs/R` group is numbered.
    pub run: u64,
    /// The trajectory (walker) within the run.
    pub traj: u64,
    /// The cycle: the frame's row in that trajectory's datasets.
    pub cycle: u64,
}

/// One frame of the input's sequence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FrameInfo {
    /// Position in the input's sequence (all runs and trajectories of a wepy file, in order).
    pub index: usize,
    /// What the frame's random streams are keyed by, with the seed: the index, or for wepy
    /// (run, traj, cycle) packed as run << 48 | traj << 32 | cycle, so a frame's numbers do
    /// not change when other runs are selected.
    pub key: u64,
    /// The MD step the file records, None when it records none (PDB, .bod); for wepy the cycle.
    pub step: Option<i64>,
    /// Simulation time in the trajectory's `time_unit`; None when the file stores none.
    pub time: Option<f64>,
    /// Where the frame sits in a wepy file, for write-back; None for other formats.
    pub wepy: Option<WepyLabel>,
}

/// A dataset holding consecutive frames of the sequence.
#[derive(Clone, Debug)]
pub struct Segment {
    /// HDF5 dataset path; empty for formats without datasets.
    pub dataset: String,
    /// Index of its first frame in the sequence.
    pub first: usize,
    /// How many frames of the sequence it holds.
    pub frames: usize,
}

/// The unit of reading: frames `start, start + step, ...` of one segment (`count` of them),
/// one HDF5 hyperslab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Index into `Trajectory::segments`.
    pub segment: usize,
    /// The first frame, counted within the segment, not the sequence.
    pub start: usize,
    /// Spacing of the frames within the segment, at least 1.
    pub step: usize,
    /// Frames in the chunk, at least 1.
    pub count: usize,
}

/// The coordinates of one frame, in the trajectory's length unit, for the atom range the
/// reader was opened with.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Which frame of the sequence this is.
    pub info: FrameInfo,
    /// One per atom of the reader's atom range: `positions[0]` is the range's first atom,
    /// not atom 0 of the topology.
    pub positions: Vec<[f64; 3]>,
    /// Periodic cell, rows are the cell vectors; None when the file has no periodic box.
    pub cell: Option<[[f64; 3]; 3]>,
}

/// Reads chunks of frames through its own file handle.
pub trait FrameReader: Send {
    /// The chunk's frames in order; an error ends the chunk (no partial result).
    fn read_chunk(&mut self, chunk: &Chunk) -> Result<Vec<Frame>>;
}

/// Which reader an input needs, with what was worked out about the file at open.
#[derive(Clone, Debug)]
pub enum Format {
    /// H5MD (an HDF5 file with `/particles`).
    H5md(h5md::Layout),
    /// WepyHDF5 (an HDF5 file with `/runs` and `/topology`).
    Wepy(wepy::Layout),
    /// PDB, one frame per MODEL.
    Pdb(pdb::Layout),
    /// A ZENO .bod body: one frame, parsed at open and kept in memory (bodies are small),
    /// shared by every reader.
    Bod(Arc<BodInput>),
    /// A format read through chemfiles (TRR, DCD, GRO, ...).
    Chemfiles(chemfiles::Layout),
    /// GROMACS TNG.
    Tng(tng::Layout),
    /// GROMACS XTC, read by molly.
    Xtc(xtc::Layout),
    /// CHARMM/NAMD DCD.
    Dcd(dcd::Layout),
    /// Several inputs read one after the other as one trajectory.
    Chain(Arc<chain::Layout>),
    /// Frames a program holds in memory ([`Trajectory::from_memory`]).
    Memory(Arc<memory::Frames>),
}

impl Format {
    /// The name outputs and the checkpoint record the format by; write-back checks for `wepy`.
    pub fn name(&self) -> &'static str {
        match self {
            Format::H5md(_) => "h5md",
            Format::Wepy(_) => "wepy",
            Format::Pdb(_) => "pdb",
            Format::Bod(_) => "bod",
            Format::Chemfiles(l) => l.info.name,
            Format::Tng(_) => "tng",
            Format::Xtc(_) => "xtc",
            Format::Dcd(_) => "dcd",
            Format::Chain(_) => "chain",
            Format::Memory(_) => "memory",
        }
    }
}

/// How to open an input: which part of the file, and where the topology comes from.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// A file naming the atoms of the coordinates (PDB, GRO, mmCIF, MOL2, PSF, PRMTOP; see
    /// [`formats::CATALOGUE`]), replacing what the input itself says about them.
    pub topology: Option<PathBuf>,
    /// H5MD particles group.
    pub group: Option<String>,
    /// wepy runs and trajectories; None means all, in order.
    pub runs: Option<Vec<u64>>,
    /// wepy trajectories, looked for in every selected run (each must have them all);
    /// None means all, in order.
    pub trajs: Option<Vec<u64>>,
    /// The coordinates' unit when the file does not say.
    pub length_unit: Option<String>,
    /// Skip the periodic box (`--no-unwrap`), so a box the reader cannot use is no error.
    pub no_cell: bool,
}

/// An opened input. Cheap to clone and send to workers: the frame table and topology are
/// shared, and no file handle is held.
#[derive(Clone, Debug)]
pub struct Trajectory {
    /// The input file; each reader reopens it.
    pub path: PathBuf,
    /// How to read it.
    pub format: Format,
    /// Every atom of a frame, before any selection; from `--topology` when given.
    pub topology: Arc<Topology>,
    /// The datasets the sequence is made of, in sequence order (one for H5MD, PDB and .bod).
    pub segments: Vec<Segment>,
    /// Every frame of the sequence, in order: `frames[i].index == i`.
    pub frames: Arc<Vec<FrameInfo>>,
    /// The unit positions are delivered in: Angstrom for molecular formats, HUNITS for .bod.
    pub length_unit: LengthUnit,
    /// The unit of `FrameInfo::time` as the file names it (H5MD only); None when unknown.
    pub time_unit: Option<String>,
}

impl Trajectory {
    /// Opens by content for HDF5 files (H5MD has an /h5md group, wepy a /runs group), by
    /// extension otherwise.
    pub fn open(path: &Path, opts: &OpenOptions) -> Result<Trajectory> {
        crate::io::check_readable(path)?;
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let t = match ext.as_str() {
            "bod" => {
                let input = crate::io::bod::read(path)?;
                let n = input.centers.len();
                Trajectory {
                    path: path.into(),
                    length_unit: input.length_unit.clone(),
                    format: Format::Bod(Arc::new(input)),
                    topology: Arc::new(Topology::from_elements(vec![None; n])),
                    segments: vec![Segment { dataset: String::new(), first: 0, frames: 1 }],
                    frames: Arc::new(vec![FrameInfo { index: 0, key: 0, step: None, time: None, wepy: None }]),
                    time_unit: None,
                }
            }
            "pdb" | "ent" => pdb::open(path)?,
            "h5md" | "h5" | "hdf5" | "he5" => {
                let file = crate::io::hdf5::open(path)?;
                if file.link_exists("runs") && file.link_exists("topology") {
                    wepy::open(path, &file, opts)?
                } else if file.link_exists("particles") {
                    h5md::open(path, &file, opts)?
                } else {
                    return Err(Error::Input {
                        path: path.into(),
                        message: "is HDF5 but neither H5MD (no /particles group) nor WepyHDF5 (no /runs and /topology)".into(),
                    });
                }
            }
            _ => match formats::by_extension(path).map(|info| (info, info.backend)) {
                Some((info, Backend::Chemfiles(_))) => chemfiles::open(path, info, opts)?,
                Some((info, Backend::Tng)) => tng::open(path, info, opts)?,
                Some((info, Backend::Molly)) => xtc::open(path, info, opts)?,
                Some((info, Backend::Dcd)) => dcd::open(path, info, opts)?,
                Some((_, Backend::Refused)) => return Err(formats::tpr_refused(path)),
                Some((info, _)) => {
                    return Err(Error::Input {
                        path: path.into(),
                        message: format!(
                            "is a {} topology, not a trajectory: give the coordinates as INPUT and this file as --topology",
                            info.label
                        ),
                    })
                }
                None => {
                    return Err(Error::Input {
                        path: path.into(),
                        message: format!(
                            "unsupported input format '{}': expected one of {} (`trajwalk formats` lists them)",
                            if ext.is_empty() { "(no extension)" } else { &ext },
                            formats::trajectory_extensions()
                        ),
                    })
                }
            },
        };
        t.check_applies(opts)?;
        t.with_topology(opts)
    }

    /// Several inputs as one trajectory, one after the other (`md1.xtc md2.xtc`); one
    /// input opens as [`Trajectory::open`] does.
    pub fn open_all(paths: &[PathBuf], opts: &OpenOptions) -> Result<Trajectory> {
        match paths {
            [] => Err(Error::Option("no input given".into())),
            [one] => Trajectory::open(one, opts),
            _ => chain::open(paths, opts),
        }
    }

    /// The input files, in order: one, or each of a chain's.
    pub fn files(&self) -> Vec<&Path> {
        match &self.format {
            Format::Chain(c) => c.parts.iter().map(|p| p.path.as_path()).collect(),
            _ => vec![&self.path],
        }
    }

    /// The trajectory with `opts.topology`'s atoms in place of its own, when one is given.
    pub(crate) fn with_topology(mut self, opts: &OpenOptions) -> Result<Trajectory> {
        let Some(top) = &opts.topology else { return Ok(self) };
        if matches!(self.format, Format::Bod(_)) {
            return Err(Error::Option("--topology does not apply to a .bod input, whose spheres carry their radii".into()));
        }
        let topology = formats::read_topology(top)?;
        if topology.len() != self.topology.len() {
            return Err(Error::Input {
                path: self.path.clone(),
                message: format!("has {} atoms per frame but the topology {} has {}", self.topology.len(), top.display(), topology.len()),
            });
        }
        self.topology = Arc::new(topology);
        Ok(self)
    }

    /// Refuses options that the input's format has nothing to apply to: silently ignored,
    /// they would leave the user believing a run, a group or a unit was honoured.
    fn check_applies(&self, opts: &OpenOptions) -> Result<()> {
        let format = self.format.name();
        let refuse = |what: &str, why: &str| Err(Error::Option(format!("{what} {why}, but {} is {format}", self.path.display())));
        if (opts.runs.is_some() || opts.trajs.is_some()) && !matches!(self.format, Format::Wepy(_)) {
            return refuse("--run and --traj", "select the runs and trajectories of a WepyHDF5 file");
        }
        if opts.group.is_some() && !matches!(self.format, Format::H5md(_)) {
            return refuse("--group", "picks the particles group of an H5MD file");
        }
        let unit_refused = |why: &str| Err(Error::Option(format!("--length-unit does not apply to {}: {why}", self.path.display())));
        match (&opts.length_unit, &self.format) {
            (Some(_), Format::Bod(_)) => unit_refused("a .bod states its unit with HUNITS (Angstrom without one)"),
            (Some(_), Format::Pdb(_)) => unit_refused("PDB coordinates are Angstrom"),
            (Some(_), Format::Chemfiles(l)) => unit_refused(&format!("chemfiles converts {} coordinates to Angstrom", l.info.label)),
            (Some(_), Format::Tng(_)) => unit_refused("a TNG file records its unit, and is read in Angstrom"),
            (Some(_), Format::Xtc(_)) => unit_refused("XTC coordinates are nanometres, read as Angstrom"),
            (Some(_), Format::Dcd(_)) => unit_refused("DCD coordinates are Angstrom"),
            _ => Ok(()),
        }
    }

    /// Frames in the whole sequence, before any frame selection.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether the sequence has no frames; the readers refuse such inputs at open, so an
    /// opened trajectory never is.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// A new reader with its own file handle, delivering only atoms `atoms` (indices into
    /// `topology`) of each frame: each worker and each read-ahead stream opens its own.
    pub fn reader(&self, atoms: Range<usize>) -> Result<Box<dyn FrameReader>> {
        Ok(match &self.format {
            Format::H5md(l) => Box::new(h5md::Reader::new(self, l, atoms)?),
            Format::Wepy(l) => Box::new(wepy::Reader::new(self, l, atoms)?),
            Format::Pdb(l) => Box::new(pdb::Reader::new(self, l, atoms)?),
            Format::Bod(input) => Box::new(BodReader { input: input.clone(), info: self.frames[0].clone(), atoms }),
            Format::Chemfiles(l) => Box::new(chemfiles::Reader::new(self, l, atoms)?),
            Format::Tng(l) => Box::new(tng::Reader::new(self, l, atoms)?),
            Format::Xtc(l) => Box::new(xtc::Reader::new(self, l, atoms)?),
            Format::Dcd(l) => Box::new(dcd::Reader::new(self, l, atoms)?),
            Format::Chain(c) => Box::new(chain::Reader::new(self, c, atoms)),
            Format::Memory(frames) => Box::new(memory::Reader::new(self, frames, atoms)),
        })
    }

    /// The segment holding frame `index` of the sequence, and the frame's place in it.
    pub fn locate(&self, index: usize) -> (usize, usize) {
        let s = self.segments.partition_point(|s| s.first + s.frames <= index);
        (s, index - self.segments[s].first)
    }

    /// Groups `frames` (indices into the sequence, in the order they will be reported)
    /// into chunks of at most `max_count` evenly spaced frames of one segment each.
    pub fn chunks(&self, frames: &[usize], max_count: usize) -> Vec<Chunk> {
        let mut out: Vec<Chunk> = vec![];
        for &f in frames {
            let (segment, local) = self.locate(f);
            if let Some(c) = out.last_mut() {
                let last = c.start + c.step * (c.count - 1);
                let joins = c.segment == segment && c.count < max_count.max(1) && local > last && (c.count == 1 || local - last == c.step);
                if joins {
                    if c.count == 1 {
                        c.step = local - last;
                    }
                    c.count += 1;
                    continue;
                }
            }
            out.push(Chunk { segment, start: local, step: 1, count: 1 });
        }
        out
    }

    /// The frames of a chunk, as indices into the sequence.
    pub fn chunk_frames(&self, c: &Chunk) -> impl Iterator<Item = usize> {
        let c = *c;
        let first = self.segments[c.segment].first;
        (0..c.count).map(move |k| first + c.start + k * c.step)
    }
}

/// A .bod file is a body already: one frame, held in memory (bodies are small).
struct BodReader {
    input: Arc<BodInput>,
    info: FrameInfo,
    atoms: Range<usize>,
}

impl FrameReader for BodReader {
    fn read_chunk(&mut self, _chunk: &Chunk) -> Result<Vec<Frame>> {
        Ok(vec![Frame { info: self.info.clone(), positions: self.input.centers[self.atoms.clone()].to_vec(), cell: None }])
    }
}

/// Which frames of the sequence to compute: a slice, or an explicit list.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameSelection {
    /// `start:stop:step` over the sequence, ascending.
    Slice {
        /// The first frame; None for 0; negative counts from the end (-1 is the last).
        start: Option<i64>,
        /// One past the last frame; None for the end of the sequence, beyond it an error;
        /// negative counts from the end.
        stop: Option<i64>,
        /// Every `step`-th frame from `start`; at least 1.
        step: usize,
    },
    /// Exactly these frames, in this order (results follow it); no frame twice.
    List(Vec<usize>),
}

impl Default for FrameSelection {
    fn default() -> Self {
        FrameSelection::Slice { start: None, stop: None, step: 1 }
    }
}

impl FrameSelection {
    /// The selected indices of a sequence of `n` frames. Out-of-range requests are errors,
    /// not silently clipped: a user asking for frame 500 of 300 has the wrong file.
    pub fn resolve(&self, n: usize) -> Result<Vec<usize>> {
        let out: Vec<usize> = match self {
            FrameSelection::Slice { start, stop, step } => {
                if *step == 0 {
                    return Err(Setting::Step.invalid("must be at least 1"));
                }
                // Negative positions count from the end, as Python's slices do.
                let from_end = |name: &str, v: i64| -> Result<usize> {
                    if v >= 0 {
                        return Ok(v as usize);
                    }
                    n.checked_sub(v.unsigned_abs() as usize)
                        .ok_or_else(|| Error::Option(format!("{name} {v} is before the first of the input's {n} frames")))
                };
                let start = start.map_or(Ok(0), |v| from_end("--start", v))?;
                let stop = stop.map_or(Ok(n), |v| from_end("--stop", v))?;
                if stop > n {
                    return Err(Setting::Stop.invalid(format!("{stop} is beyond the input's {n} frames")));
                }
                if start >= stop {
                    return Err(Error::Option(format!("--start {start} selects no frames (the input has {n}, --stop is {stop})")));
                }
                (start..stop).step_by(*step).collect()
            }
            FrameSelection::List(list) => {
                if list.is_empty() {
                    return Err(Setting::Frames.invalid("is empty"));
                }
                if let Some(f) = list.iter().find(|&&f| f >= n) {
                    return Err(Error::Option(format!(
                        "--frames: frame {f} is out of range (the input has {n} frames, 0 to {})",
                        n.saturating_sub(1)
                    )));
                }
                let mut seen = std::collections::HashSet::new();
                if let Some(f) = list.iter().find(|f| !seen.insert(**f)) {
                    return Err(Error::Option(format!("--frames: frame {f} is given twice")));
                }
                list.clone()
            }
        };
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_segments() -> Trajectory {
        let frames = (0..15).map(|i| FrameInfo { index: i, key: i as u64, step: None, time: None, wepy: None }).collect();
        Trajectory {
            path: "t".into(),
            format: Format::Pdb(pdb::Layout::default()),
            topology: Arc::new(Topology::default()),
            segments: vec![Segment { dataset: "a".into(), first: 0, frames: 10 }, Segment { dataset: "b".into(), first: 10, frames: 5 }],
            frames: Arc::new(frames),
            length_unit: LengthUnit::angstrom(),
            time_unit: None,
        }
    }

    #[test]
    fn chunks_are_evenly_spaced_runs_inside_one_segment() {
        let t = two_segments();
        let c = |frames: &[usize], max| t.chunks(frames, max);
        let all: Vec<usize> = (0..15).collect();
        assert_eq!(
            c(&all, 4),
            vec![
                Chunk { segment: 0, start: 0, step: 1, count: 4 },
                Chunk { segment: 0, start: 4, step: 1, count: 4 },
                Chunk { segment: 0, start: 8, step: 1, count: 2 },
                Chunk { segment: 1, start: 0, step: 1, count: 4 },
                Chunk { segment: 1, start: 4, step: 1, count: 1 },
            ]
        );
        assert_eq!(
            c(&[0, 3, 6, 9, 12], 10),
            vec![Chunk { segment: 0, start: 0, step: 3, count: 4 }, Chunk { segment: 1, start: 2, step: 1, count: 1 }]
        );
        assert_eq!(
            c(&[5, 1, 2, 4], 10),
            vec![
                Chunk { segment: 0, start: 5, step: 1, count: 1 },
                Chunk { segment: 0, start: 1, step: 1, count: 2 },
                Chunk { segment: 0, start: 4, step: 1, count: 1 },
            ]
        );
        let back: Vec<usize> = c(&all, 4).iter().flat_map(|ch| t.chunk_frames(ch).collect::<Vec<_>>()).collect();
        assert_eq!(back, all);
    }

    #[test]
    fn frame_selections_resolve_or_say_why_not() {
        let s = |start, stop, step| FrameSelection::Slice { start, stop, step }.resolve(10);
        assert_eq!(s(None, None, 1).unwrap(), (0..10).collect::<Vec<_>>());
        assert_eq!(s(Some(1), Some(8), 3).unwrap(), vec![1, 4, 7]);
        assert_eq!(s(None, Some(11), 1).unwrap_err().to_string(), "invalid option: --stop 11 is beyond the input's 10 frames");
        assert_eq!(
            s(Some(10), None, 1).unwrap_err().to_string(),
            "invalid option: --start 10 selects no frames (the input has 10, --stop is 10)"
        );
        assert_eq!(s(None, None, 0).unwrap_err().to_string(), "invalid option: --step must be at least 1");
        let l = |v: &[usize]| FrameSelection::List(v.to_vec()).resolve(10);
        assert_eq!(l(&[9, 0, 4]).unwrap(), vec![9, 0, 4]);
        assert_eq!(
            l(&[0, 10]).unwrap_err().to_string(),
            "invalid option: --frames: frame 10 is out of range (the input has 10 frames, 0 to 9)"
        );
        assert_eq!(l(&[3, 3]).unwrap_err().to_string(), "invalid option: --frames: frame 3 is given twice");
    }
}
