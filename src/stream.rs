//! Reading ahead: a reader thread with its own file handle reads chunks into a bounded
//! queue while the compute works, so I/O overlaps the walks and at most `depth` chunks
//! are in memory, however long the trajectory.

use crate::error::Result;
use crate::trajectory::{Chunk, Frame, Trajectory};
use std::ops::Range;
use std::sync::mpsc::{sync_channel, Receiver};
use std::thread::JoinHandle;

/// Frames read ahead by a background thread, in chunk order; dropping the stream stops
/// and joins the thread.
pub struct FrameStream {
    rx: Option<Receiver<Result<Vec<Frame>>>>,
    current: std::vec::IntoIter<Frame>,
    reader: Option<JoinHandle<()>>,
}

impl FrameStream {
    /// Starts reading `chunks` of atoms `atoms`; frames come out in chunk order. A read
    /// error is delivered in its place and ends the stream.
    pub fn spawn(trajectory: &Trajectory, atoms: Range<usize>, chunks: Vec<Chunk>, depth: usize) -> FrameStream {
        let (tx, rx) = sync_channel(depth.max(1));
        let t = trajectory.clone();
        let reader = std::thread::spawn(move || {
            let mut reader = match t.reader(atoms) {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            for c in &chunks {
                let chunk = reader.read_chunk(c);
                let failed = chunk.is_err();
                if tx.send(chunk).is_err() || failed {
                    return;
                }
            }
        });
        FrameStream { rx: Some(rx), current: Vec::new().into_iter(), reader: Some(reader) }
    }
}

impl Iterator for FrameStream {
    type Item = Result<Frame>;

    fn next(&mut self) -> Option<Result<Frame>> {
        loop {
            if let Some(f) = self.current.next() {
                return Some(Ok(f));
            }
            match self.rx.as_ref()?.recv() {
                Ok(Ok(chunk)) => self.current = chunk.into_iter(),
                Ok(Err(e)) => {
                    self.rx = None;
                    return Some(Err(e));
                }
                Err(_) => {
                    self.rx = None;
                    return None;
                }
            }
        }
    }
}

impl Drop for FrameStream {
    /// Closing the queue first makes a reader blocked on a full queue give up.
    fn drop(&mut self) {
        self.rx = None;
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}
