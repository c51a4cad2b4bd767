//! The threads that share the walks of one frame. Work is handed out block by block and
//! the results come back in block order, so what the threads compute is summed in the same
//! order whatever their number: the reason results are bit-identical for any thread count.

use crate::error::{Error, Result};
use rayon::prelude::*;

pub enum Pool {
    Serial,
    Rayon(rayon::ThreadPool),
}

impl Pool {
    pub fn new(threads: usize) -> Result<Pool> {
        match threads {
            0 => Err(Error::Option("--threads must be at least 1".into())),
            1 => Ok(Pool::Serial),
            n => rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .thread_name(|i| format!("trajwalk-{i}"))
                .build()
                .map(Pool::Rayon)
                .map_err(|e| Error::Option(format!("cannot start {n} threads: {e}"))),
        }
    }

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
