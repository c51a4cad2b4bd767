//! What a run hands to the things attached to it. Every output (a JSON, CSV or table
//! report, an H5MD file, a plot, the write-back into a wepy file, a progress bar, or a
//! caller's own code) is a [`Sink`]: the run calls `begin` once it knows how it will run,
//! `frame` for every frame in frame order as soon as it and every frame before it are done,
//! and `finish` once with what is only known at the end. One pipeline thus serves the
//! command line, the Python module and an MPI rank 0, each attaching its own sinks.

use crate::error::Result;
use crate::job::Job;
use crate::output::summary::Summary;
use crate::output::FrameReport;
use crate::plan::Plan;
use serde_json::{Map, Value};
use std::path::Path;

/// How the run is about to go, given to every sink before the first frame.
pub struct Start<'a> {
    /// The settled job: the input, the selected atoms, the frames.
    pub job: &'a Job,
    /// The run's parameters as the JSON report records them.
    pub parameters: &'a Value,
    /// The plan, or None when a checkpoint holds every frame or planning failed.
    pub plan: Option<&'a Plan>,
    /// One line saying how the frames will be run (or why none will be).
    pub headline: &'a str,
    /// The checkpoint the run resumes from, when one is attached.
    pub checkpoint: Option<&'a Path>,
    /// Selected frames the checkpoint already holds: they are delivered, not computed.
    pub frames_stored: usize,
    /// Frames that failed in an earlier run of the same checkpoint, with their errors; they
    /// are computed again.
    pub failed_before: &'a [(usize, String)],
    /// Frames whose stored result failed its checksum (a damaged checkpoint); they are
    /// computed again.
    pub damaged_before: &'a [usize],
}

/// What is known once the frames are done, given to every sink that received a frame.
pub struct End<'a> {
    /// The report's closing fields: plan with its task times, verification, frame counts,
    /// summary and peak memory, in the order the JSON document writes them.
    pub footer: &'a Map<String, Value>,
    /// The summary over the frames delivered.
    pub summary: &'a Summary,
    /// The length unit of the frames (for the summary's units).
    pub length_unit: &'a str,
    /// Frames delivered to the sinks.
    pub frames: usize,
    /// Frames whose target relative std was not reached within the walk cap.
    pub unconverged: usize,
    /// False when the run stopped on an error after some frames: the sinks still finish, so
    /// the frames already computed are kept.
    pub complete: bool,
}

/// Something a run delivers its frames to.
///
/// `finish` is called only when at least one frame was delivered or the run succeeded: a run
/// that fails before its first frame leaves nothing behind, so a sink that writes a file
/// should write it under a temporary name and rename it in `finish` (see
/// [`crate::output::staged`]), and remove it when dropped unfinished.
pub trait Sink {
    /// Before the first frame, once the plan is known.
    fn begin(&mut self, _start: &Start) -> Result<()> {
        Ok(())
    }

    /// One frame, in frame order. An error stops the run; the sinks then finish with the
    /// frames delivered before it.
    fn frame(&mut self, frame: &FrameReport) -> Result<()>;

    /// After the last frame.
    fn finish(&mut self, _end: &End) -> Result<()> {
        Ok(())
    }

    /// The file this sink creates or replaces, if any: a run refuses to start when it is an
    /// input or another output's file, so no result is ever written over the trajectory.
    fn target(&self) -> Option<&Path> {
        None
    }
}

/// A closure is a sink of frames: the simplest way for a program to see each result.
impl<F: FnMut(&FrameReport) -> Result<()>> Sink for F {
    fn frame(&mut self, frame: &FrameReport) -> Result<()> {
        self(frame)
    }
}
