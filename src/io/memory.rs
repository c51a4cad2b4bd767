//! Frames a program already holds in memory (a Python caller's arrays, a chunk of frames an
//! MDAnalysis reader delivered) as a trajectory, so they run through the same job, planner
//! and pipeline as a file. Each frame carries the key its source numbers it by (the frame
//! index of the trajectory it came from), because a frame's random streams are keyed by it:
//! a frame gives the same bits whichever chunk, worker or backend hands it over.

use crate::error::{Error, Result};
use crate::topology::Topology;
use crate::trajectory::{Chunk, Format, Frame, FrameInfo, FrameReader, Segment, Trajectory};
use crate::units::LengthUnit;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

/// Coordinates, frame after frame, atom after atom, x y z, in single or double precision
/// as the caller has them (a float32 chunk is not doubled in memory; each frame is widened
/// exactly when it is read).
#[derive(Clone, Debug)]
pub enum Coordinates {
    /// Single precision, as MD trajectories store them.
    F32(Vec<f32>),
    /// Double precision.
    F64(Vec<f64>),
}

impl Coordinates {
    fn len(&self) -> usize {
        match self {
            Coordinates::F32(v) => v.len(),
            Coordinates::F64(v) => v.len(),
        }
    }

    fn point(&self, i: usize) -> [f64; 3] {
        match self {
            Coordinates::F32(v) => [v[3 * i] as f64, v[3 * i + 1] as f64, v[3 * i + 2] as f64],
            Coordinates::F64(v) => [v[3 * i], v[3 * i + 1], v[3 * i + 2]],
        }
    }
}

/// Frames in memory and what is known about each.
#[derive(Clone, Debug)]
pub struct Frames {
    /// What errors call the input (`positions`, or the file the frames were read from).
    pub name: String,
    /// frames x atoms x 3.
    pub coordinates: Coordinates,
    /// Atoms per frame.
    pub atoms: usize,
    /// One key per frame: the frame's index in the trajectory it comes from.
    pub keys: Vec<u64>,
    /// Time of each frame in `time_unit`, when the source has them.
    pub times: Option<Vec<f64>>,
    /// The periodic cell of each frame (rows are the cell vectors, all zero for none), when
    /// the source has one.
    pub cells: Option<Vec<[[f64; 3]; 3]>>,
}

impl Trajectory {
    /// The frames as a trajectory of `topology`'s atoms (an empty topology: atoms known by
    /// nothing, for radii given one per atom), with lengths in `length_unit` and times in
    /// `time_unit`. Refuses frames whose arrays disagree in size.
    pub fn from_memory(frames: Frames, topology: Topology, length_unit: LengthUnit, time_unit: Option<String>) -> Result<Trajectory> {
        let refuse = |message: String| Err(Error::Input { path: PathBuf::from(&frames.name), message });
        let n = frames.keys.len();
        if n == 0 {
            return refuse("has no frames".into());
        }
        if frames.atoms == 0 {
            return refuse("has no atoms".into());
        }
        if frames.coordinates.len() != n * frames.atoms * 3 {
            return refuse(format!("holds {} numbers, not {n} frames x {} atoms x 3", frames.coordinates.len(), frames.atoms));
        }
        let topology = match topology.len() {
            0 => Topology::from_elements(vec![None; frames.atoms]),
            k if k == frames.atoms => topology,
            k => return refuse(format!("has {} atoms per frame but its topology has {k}", frames.atoms)),
        };
        for (what, len) in [("times", frames.times.as_ref().map(Vec::len)), ("cells", frames.cells.as_ref().map(Vec::len))] {
            if let Some(len) = len.filter(|&len| len != n) {
                return refuse(format!("has {n} frames but {len} {what}"));
            }
        }
        let info = (0..n)
            .map(|i| FrameInfo { index: i, key: frames.keys[i], step: None, time: frames.times.as_ref().map(|t| t[i]), wepy: None })
            .collect();
        Ok(Trajectory {
            path: PathBuf::from(&frames.name),
            format: Format::Memory(Arc::new(frames)),
            topology: Arc::new(topology),
            segments: vec![Segment { dataset: String::new(), first: 0, frames: n }],
            frames: Arc::new(info),
            length_unit,
            time_unit,
        })
    }
}

/// Reads frames out of the shared buffer: a reader per worker costs nothing.
pub struct Reader {
    frames: Arc<Frames>,
    info: Arc<Vec<FrameInfo>>,
    atoms: Range<usize>,
}

impl Reader {
    /// A reader of `trajectory`'s frames, delivering atoms `atoms`.
    pub fn new(trajectory: &Trajectory, frames: &Arc<Frames>, atoms: Range<usize>) -> Reader {
        Reader { frames: frames.clone(), info: trajectory.frames.clone(), atoms }
    }
}

impl FrameReader for Reader {
    fn read_chunk(&mut self, c: &Chunk) -> Result<Vec<Frame>> {
        let f = &self.frames;
        Ok((0..c.count)
            .map(|k| {
                let i = c.start + k * c.step;
                let first = i * f.atoms;
                Frame {
                    info: self.info[i].clone(),
                    positions: self.atoms.clone().map(|a| f.coordinates.point(first + a)).collect(),
                    cell: f.cells.as_ref().map(|cells| cells[i]),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(keys: Vec<u64>, coordinates: Vec<f32>) -> Frames {
        Frames { name: "positions".into(), coordinates: Coordinates::F32(coordinates), atoms: 2, keys, times: None, cells: None }
    }

    #[test]
    fn frames_keep_their_keys_and_widen_exactly() {
        let xyz: Vec<f32> = (0..12).map(|v| v as f32 + 0.1).collect();
        let t = Trajectory::from_memory(frames(vec![7, 3], xyz.clone()), Topology::default(), LengthUnit::angstrom(), None).unwrap();
        assert_eq!(t.frames.iter().map(|f| f.key).collect::<Vec<_>>(), vec![7, 3]);
        let mut r = t.reader(1..2).unwrap();
        let read = r.read_chunk(&t.chunks(&[1], 1)[0]).unwrap();
        assert_eq!(read[0].info.key, 3);
        assert_eq!(read[0].positions, vec![[xyz[9] as f64, xyz[10] as f64, xyz[11] as f64]]);
    }

    #[test]
    fn arrays_that_disagree_are_refused() {
        let e = Trajectory::from_memory(frames(vec![0, 1], vec![0.0; 6]), Topology::default(), LengthUnit::angstrom(), None).unwrap_err();
        assert_eq!(e.to_string(), "positions: holds 6 numbers, not 2 frames x 2 atoms x 3");
        let e = Trajectory::from_memory(frames(vec![], vec![]), Topology::default(), LengthUnit::angstrom(), None).unwrap_err();
        assert_eq!(e.to_string(), "positions: has no frames");
    }
}
