//! How the ranks of a distributed run reach each other: a [`Transport`] moves [`Message`]s
//! between rank 0 and the others, and knows nothing of frames or walks, so the hand-out and
//! reordering logic ([`crate::distributed`]) is tested on in-process ranks ([`local`])
//! and runs unchanged over MPI (`mpi.rs`, behind the `mpi` feature).

pub mod message;
#[cfg(feature = "mpi")]
pub mod mpi;

pub use message::{Description, Hello, Message};

use crate::error::{Error, Result};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

/// Messages between ranks, each whole and in order between one sender and one receiver.
/// Rank 0 talks to every rank; the others talk to rank 0 only.
pub trait Transport {
    /// This rank, 0 to size - 1.
    fn rank(&self) -> usize;
    /// How many ranks the job has.
    fn size(&self) -> usize;
    /// This rank's host, as the plan reports it.
    fn host(&self) -> String;
    /// Sends `message` to rank `to`.
    fn send(&self, to: usize, message: &Message) -> Result<()>;
    /// The next message from any rank and who sent it; None when nothing came within
    /// `timeout`. Bytes that are no message are an error naming the sender.
    fn recv(&self, timeout: Duration) -> Result<Option<(usize, Message)>>;
}

/// Decodes what rank `from` sent.
pub fn decode(from: usize, bytes: &[u8]) -> Result<Message> {
    Message::decode(bytes).ok_or_else(|| Error::Rank {
        rank: from,
        host: String::new(),
        message: format!("sent {} bytes that are no message", bytes.len()),
    })
}

/// One rank of an in-process job: threads standing for machines, channels for the
/// network. Messages are encoded and decoded as over MPI, so the tests see the real bytes.
pub struct Local {
    rank: usize,
    peers: Vec<Sender<(usize, Vec<u8>)>>,
    inbox: Receiver<(usize, Vec<u8>)>,
}

/// `size` in-process ranks, rank 0 first; each is moved to the thread that plays it.
pub fn local(size: usize) -> Vec<Local> {
    let (senders, inboxes): (Vec<_>, Vec<_>) = (0..size).map(|_| channel()).unzip();
    inboxes.into_iter().enumerate().map(|(rank, inbox)| Local { rank, peers: senders.clone(), inbox }).collect()
}

impl Transport for Local {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.peers.len()
    }
    fn host(&self) -> String {
        format!("local-{}", self.rank)
    }
    fn send(&self, to: usize, message: &Message) -> Result<()> {
        let gone = || Error::Rank { rank: to, host: String::new(), message: "is gone (its end of the channel was dropped)".into() };
        let peer = self.peers.get(to).ok_or_else(gone)?;
        peer.send((self.rank, message.encode())).map_err(|_| gone())
    }
    fn recv(&self, timeout: Duration) -> Result<Option<(usize, Message)>> {
        match self.inbox.recv_timeout(timeout) {
            Ok((from, bytes)) => decode(from, &bytes).map(|m| Some((from, m))),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => Ok(None),
        }
    }
}
