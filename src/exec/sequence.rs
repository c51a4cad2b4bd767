//! Frames one after another: a reader thread keeps chunks ahead, and each frame's walks
//! share the pool's threads. Best when frames are few or expensive.

use super::{Sink, TaskLog, WorkerLog};
use crate::error::Result;
use crate::job::Job;
use crate::pool::Pool;
use std::time::Instant;

/// Runs `job` frame by frame on a pool of `threads` threads, handing each result to `sink`
/// as it is computed; the log has one worker, one task per chunk.
pub fn run(job: &Job, threads: usize, chunk_frames: usize, sink: &mut Sink) -> Result<Vec<WorkerLog>> {
    let pool = Pool::new(threads)?;
    let mut log = WorkerLog { worker: 0, tasks: vec![] };
    let chunks = job.tasks(chunk_frames);
    let sizes: Vec<usize> = chunks.iter().map(|c| c.count).collect();
    let mut stream = job.stream_chunks(chunks);
    for count in sizes {
        let started = Instant::now();
        let mut first = None;
        for _ in 0..count {
            let frame = stream.next().expect("the stream yields every frame of its chunks")?;
            first.get_or_insert(frame.info.index);
            let result = job.compute(&frame, &pool)?;
            sink(&frame.info, result)?;
        }
        log.tasks.push(TaskLog { first_frame: first.unwrap_or(0), frames: count, seconds: started.elapsed().as_secs_f64() });
    }
    Ok(vec![log])
}
