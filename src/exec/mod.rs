//! Ways to run a job's frames. Each strategy is a complete way to run a list of frames and
//! hands results back in frame order; the CPU strategies return bit-identical frames
//! because a frame's numbers depend only on the seed and the frame (see `compute`).
//!
//! Two engines do the work: [`sequence`] (frames one after another, read ahead by a
//! reader thread, each frame's walks on M threads: `serial` and `threads`) and [`pull`]
//! (K workers pulling chunks of frames, each frame on the worker's M threads: `frames` and
//! `hybrid`). Workers open their own readers from the job's light description, which is
//! also the seam for running across machines later: a rank would take a share of the
//! chunks and run them the same way.

pub mod gpu;
pub mod pull;
pub mod sequence;

use crate::compute::FrameResult;
use crate::error::{Error, Result, Setting};
use crate::job::Job;
use crate::trajectory::FrameInfo;
use serde::Serialize;

/// The ways to run a job, as `--strategy` names them and the plan reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// One worker of one thread: the reference every other CPU kind matches bit for bit.
    Serial,
    /// K workers of one thread each, a whole frame per worker.
    Frames,
    /// One worker whose M threads share each frame's walks.
    Threads,
    /// K workers of M threads each.
    Hybrid,
    /// Batches of frames on a GPU, fed by one CPU thread; statistically, not bitwise,
    /// equal to the CPU kinds.
    Gpu,
}

impl Kind {
    /// The kind as `--strategy` and the JSON output spell it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Serial => "serial",
            Kind::Frames => "frames",
            Kind::Threads => "threads",
            Kind::Hybrid => "hybrid",
            Kind::Gpu => "gpu",
        }
    }

    /// The kind a shape of K workers x M threads is.
    pub fn of(workers: usize, threads: usize) -> Kind {
        match (workers > 1, threads > 1) {
            (false, false) => Kind::Serial,
            (false, true) => Kind::Threads,
            (true, false) => Kind::Frames,
            (true, true) => Kind::Hybrid,
        }
    }
}

/// Where one chunk of frames went and how long it took, as wepy's worker segment times
/// report it, so a user can see where the time of a run went.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskLog {
    /// Sequence index of the task's first frame.
    pub first_frame: usize,
    /// Frames in the task: a chunk, or for the GPU a batch.
    pub frames: usize,
    /// Wall time of the task. What it covers differs by engine: the sequence engine times
    /// computing and delivering its frames, the pull engine reading and computing them, the
    /// GPU the batch's device rounds.
    pub seconds: f64,
}

/// The tasks one worker ran, in the order it ran them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct WorkerLog {
    /// 0 to K-1; the sequence engine and the GPU report a single worker 0.
    pub worker: usize,
    /// Its finished tasks; a task that failed is left out.
    pub tasks: Vec<TaskLog>,
}

/// Receives each frame's result in frame order.
pub type Sink<'a> = dyn FnMut(&FrameInfo, FrameResult) -> Result<()> + 'a;

/// A complete way to run a job's frames; [`strategy`] makes one from a kind and a shape.
pub trait Strategy {
    /// Which kind it is.
    fn kind(&self) -> Kind;
    /// K, frames in flight at once (1 for the GPU).
    fn workers(&self) -> usize;
    /// M, the threads of each worker (1 for the GPU).
    fn threads(&self) -> usize;
    /// Runs every frame of `job` in chunks of at most `chunk_frames`, calling `sink` in
    /// frame order; a failure stops the run after `sink` has had every frame before it.
    fn run(&self, job: &Job, chunk_frames: usize, sink: &mut Sink) -> Result<Vec<WorkerLog>>;
}

/// One thread, frames in order.
pub struct Serial;
/// Frames in order, the walks of each on `threads` threads.
pub struct Threads(pub usize);
/// `workers` whole frames at a time, one thread each.
pub struct Frames(pub usize);
/// `workers` frames at a time, each on `threads` threads.
pub struct Hybrid(pub usize, pub usize);
/// Batches of frames on a GPU.
pub struct Gpu(pub GpuTarget);

/// Where the GPU strategy runs, and how much it gives the device per submission.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GpuTarget {
    /// Part of the adapter's name, or None for the best adapter.
    pub adapter: Option<String>,
    /// Walks and samples per batch, from the planner's probe; None for the largest.
    pub items_per_batch: Option<u64>,
}

impl Strategy for Serial {
    fn kind(&self) -> Kind {
        Kind::Serial
    }
    fn workers(&self) -> usize {
        1
    }
    fn threads(&self) -> usize {
        1
    }
    fn run(&self, job: &Job, chunk_frames: usize, sink: &mut Sink) -> Result<Vec<WorkerLog>> {
        sequence::run(job, 1, chunk_frames, sink)
    }
}

impl Strategy for Threads {
    fn kind(&self) -> Kind {
        Kind::Threads
    }
    fn workers(&self) -> usize {
        1
    }
    fn threads(&self) -> usize {
        self.0
    }
    fn run(&self, job: &Job, chunk_frames: usize, sink: &mut Sink) -> Result<Vec<WorkerLog>> {
        sequence::run(job, self.0, chunk_frames, sink)
    }
}

impl Strategy for Frames {
    fn kind(&self) -> Kind {
        Kind::Frames
    }
    fn workers(&self) -> usize {
        self.0
    }
    fn threads(&self) -> usize {
        1
    }
    fn run(&self, job: &Job, chunk_frames: usize, sink: &mut Sink) -> Result<Vec<WorkerLog>> {
        pull::run(job, self.0, 1, chunk_frames, sink)
    }
}

impl Strategy for Hybrid {
    fn kind(&self) -> Kind {
        Kind::Hybrid
    }
    fn workers(&self) -> usize {
        self.0
    }
    fn threads(&self) -> usize {
        self.1
    }
    fn run(&self, job: &Job, chunk_frames: usize, sink: &mut Sink) -> Result<Vec<WorkerLog>> {
        pull::run(job, self.0, self.1, chunk_frames, sink)
    }
}

impl Strategy for Gpu {
    fn kind(&self) -> Kind {
        Kind::Gpu
    }
    fn workers(&self) -> usize {
        1
    }
    fn threads(&self) -> usize {
        1
    }
    fn run(&self, job: &Job, chunk_frames: usize, sink: &mut Sink) -> Result<Vec<WorkerLog>> {
        gpu::run(job, self.0.adapter.as_deref(), self.0.items_per_batch, chunk_frames, sink)
    }
}

/// The strategy of a kind and shape; the shape must fit the kind (`frames` has one thread
/// per worker, `threads` one worker, `gpu` is one CPU thread feeding the device `gpu`).
pub fn strategy(kind: Kind, workers: usize, threads: usize, gpu: &GpuTarget) -> Result<Box<dyn Strategy + Send + Sync>> {
    if workers == 0 {
        return Err(Setting::Workers.invalid("must be at least 1"));
    }
    if threads == 0 {
        return Err(Setting::Threads.invalid("must be at least 1"));
    }
    let fits = match kind {
        Kind::Serial | Kind::Gpu => workers == 1 && threads == 1,
        Kind::Threads => workers == 1,
        Kind::Frames => threads == 1,
        Kind::Hybrid => true,
    };
    if !fits {
        return Err(Error::Option(format!(
            "strategy {} cannot run {workers} worker(s) x {threads} thread(s): serial and gpu are 1 x 1, threads has 1 worker, frames 1 thread per worker",
            kind.name()
        )));
    }
    Ok(match kind {
        Kind::Serial => Box::new(Serial),
        Kind::Threads => Box::new(Threads(threads)),
        Kind::Frames => Box::new(Frames(workers)),
        Kind::Hybrid => Box::new(Hybrid(workers, threads)),
        Kind::Gpu => Box::new(Gpu(gpu.clone())),
    })
}
