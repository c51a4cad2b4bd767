//! K workers pulling chunks of frames from a shared counter, each with its own reader and
//! M threads; a collector puts the results back in frame order. Dynamic pulling balances
//! frames of unequal cost; chunks keep the per-task overhead small.

use super::{Sink, TaskLog, WorkerLog};
use crate::compute::FrameResult;
use crate::error::{Error, Result};
use crate::job::Job;
use crate::pool::Pool;
use crate::trajectory::FrameInfo;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::channel;
use std::time::Instant;

/// A finished task: its index, the worker, the frames computed in order up to the first
/// failure (all of them when there was none), that failure, and the seconds it took.
type Done = (usize, usize, Vec<(FrameInfo, FrameResult)>, Option<Error>, f64);

/// Runs `job` on `workers` workers of `threads` threads (fewer workers when there are
/// fewer tasks), handing results to `sink` in frame order; after a failure, every frame
/// before it is still delivered.
pub fn run(job: &Job, workers: usize, threads: usize, chunk_frames: usize, sink: &mut Sink) -> Result<Vec<WorkerLog>> {
    if workers == 0 || threads == 0 {
        return Err(Error::Option("--workers and --threads must be at least 1".into()));
    }
    let tasks = job.tasks(chunk_frames);
    let workers = workers.min(tasks.len()).max(1);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = channel::<Done>();
    let mut logs: Vec<WorkerLog> = (0..workers).map(|worker| WorkerLog { worker, tasks: vec![] }).collect();
    let mut failure: Option<(usize, Error)> = None;
    let pools: Vec<Pool> = (0..workers).map(|_| Pool::new(threads)).collect::<Result<_>>()?;
    std::thread::scope(|scope| {
        for (w, pool) in pools.into_iter().enumerate() {
            let (tx, tasks, next, stop) = (tx.clone(), &tasks, &next, &stop);
            scope.spawn(move || {
                let mut reader = None;
                while !stop.load(Ordering::Relaxed) {
                    let t = next.fetch_add(1, Ordering::Relaxed);
                    if t >= tasks.len() {
                        break;
                    }
                    let started = Instant::now();
                    let mut done = vec![];
                    let error = (|| {
                        if reader.is_none() {
                            reader = Some(job.trajectory.reader(job.read.clone())?);
                        }
                        for f in reader.as_mut().expect("opened above").read_chunk(&tasks[t])? {
                            let r = job.compute(&f, &pool)?;
                            done.push((f.info, r));
                        }
                        Ok(())
                    })()
                    .err();
                    if tx.send((t, w, done, error, started.elapsed().as_secs_f64())).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<usize, Vec<(FrameInfo, FrameResult)>> = BTreeMap::new();
        let mut next_out = 0;
        for (t, w, frames, error, seconds) in rx {
            match error {
                None => logs[w].tasks.push(TaskLog { first_frame: frames.first().map_or(0, |f| f.0.index), frames: frames.len(), seconds }),
                Some(e) => {
                    stop.store(true, Ordering::Relaxed);
                    if failure.as_ref().is_none_or(|(ft, _)| t < *ft) {
                        failure = Some((t, e));
                    }
                }
            }
            pending.insert(t, frames);
            // Tasks are taken in order, so every task before a failed one completes, and
            // the failed task's own frames before its failure are handed on too.
            while failure.as_ref().is_none_or(|(ft, _)| next_out <= *ft) {
                let Some(frames) = pending.remove(&next_out) else { break };
                for (info, r) in frames {
                    if let Err(e) = sink(&info, r) {
                        stop.store(true, Ordering::Relaxed);
                        failure = Some((next_out, e));
                        break;
                    }
                }
                next_out += 1;
            }
        }
    });
    match failure {
        Some((_, e)) => Err(e),
        None => Ok(logs),
    }
}
