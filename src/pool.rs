//! The threads that share the walks of one frame. Work is handed out block by block and
//! the results come back in block order, so what the threads compute is summed in the same
//! order whatever their number: the reason results are bit-identical for any thread count.

use crate::error::{Error, Result, Setting};
use rayon::prelude::*;

/// Where a frame's blocks run: on the calling thread, or on a rayon pool of this run's own
/// (not rayon's global one).
pub enum Pool {
    /// One thread: blocks run on the caller's thread and no pool is started.
    Serial,
    /// Two or more threads; every block is a task of its own, so threads balance walks of
    /// uneven length.
    Rayon(rayon::ThreadPool),
}

impl Pool {
    /// `threads` workers: 1 gives [`Pool::Serial`], 0 is refused.
    pub fn new(threads: usize) -> Result<Pool> {
        match threads {
            0 => Err(Setting::Threads.invalid("must be at least 1")),
            1 => Ok(Pool::Serial),
            n => rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .thread_name(|i| format!("trajwalk-{i}"))
                .build()
                .map(Pool::Rayon)
                .map_err(|e| Error::Option(format!("cannot start {n} threads: {e}"))),
        }
    }

    /// The number of worker threads actually running.
    pub fn threads(&self) -> usize {
        match self {
            Pool::Serial => 1,
            Pool::Rayon(p) => p.current_num_threads(),
        }
    }

    /// `f(i)` for every `i` in `range`, in order.
    pub fn map<T: Send>(&self, range: std::ops::Range<u64>, f: impl Fn(u64) -> T + Sync + Send) -> Vec<T> {
        match self {
            Pool::Serial => range.map(f).collect(),
            Pool::Rayon(p) => {
                p.install(|| (range.start as usize..range.end as usize).into_par_iter().with_max_len(1).map(|i| f(i as u64)).collect())
            }
        }
    }
}
