//! What rank 0 and the other ranks say to each other, and its encoding as bytes. Results
//! travel in the checkpoint's encoding and tallies as their f64 bits, so what rank 0
//! receives is what the rank computed, bit for bit.

use crate::checkpoint::{self, Out, Words};
use crate::compute::FrameResult;
use crate::plan::GpuCost;

/// One message between rank 0 and another rank.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// A rank's first word: who it is and whether it prepared the same job.
    Hello(Hello),
    /// Rank 0's answer to an agreeing rank: how the job is shared.
    Description(Description),
    /// Rank 0's answer to a rank that disagrees, saying why.
    Refused(String),
    /// The shape a rank runs its tasks with, from its own cores.
    Joined {
        /// The strategy's name (`frames`, `hybrid`, ...).
        strategy: String,
        /// Frames in flight at once on the rank.
        workers: u64,
        /// Threads per frame on the rank.
        threads: u64,
    },
    /// A rank asks for one more task (it keeps two asked for, so it never waits on rank 0).
    Ready,
    /// A task of whole frames (sequence indices of the input).
    Frames {
        /// The task's number.
        task: u64,
        /// The frames, in order.
        frames: Vec<u64>,
    },
    /// A task of walk (or interior sample) blocks of one frame.
    Blocks {
        /// The task's number.
        task: u64,
        /// The frame's sequence index.
        frame: u64,
        /// Interior sample blocks rather than exterior walk blocks.
        interior: bool,
        /// First block.
        first: u64,
        /// One past the last block.
        last: u64,
        /// One past the last walk or sample of the frame's round.
        end: u64,
    },
    /// A frames task done: its frames up to the first failure, and that failure.
    FramesDone {
        /// The task's number.
        task: u64,
        /// Each computed frame's sequence index and result.
        results: Vec<(u64, FrameResult)>,
        /// The failing frame's error, as its rank displayed it.
        error: Option<String>,
        /// Wall time of the task on its rank.
        seconds: f64,
    },
    /// A blocks task done: every block's tally, unsummed, as f64 words in block order.
    BlocksDone {
        /// The task's number.
        task: u64,
        /// The tallies' words.
        tallies: Vec<f64>,
        /// Why the blocks could not be run (the frame could not be read or built).
        error: Option<String>,
        /// Wall time of the task on its rank.
        seconds: f64,
    },
    /// A rank failed outside any frame (its compute thread panicked, its reader was lost)
    /// and is leaving; also what a rank's compute thread answers when it panicked.
    Failed(String),
    /// Said when nothing else was for a while, so silence means a rank is gone.
    Heartbeat,
    /// Rank 0 is done with the rank.
    Stop,
}

/// What a rank sends first, for rank 0 to compare with its own.
#[derive(Clone, Debug, PartialEq)]
pub struct Hello {
    /// The build: package version, target and a fingerprint of the binary.
    pub build: String,
    /// A digest of the job: the checkpoint identity and the selected frames.
    pub job: String,
    /// The bits of the floating-point functions the walks use on fixed inputs.
    pub selftest: Vec<u64>,
    /// The rank's host name.
    pub host: String,
    /// The cores the rank may use.
    pub cores: u64,
    /// For a job on GPUs (`--strategy gpu`), the rank's adapter and driver
    /// ([`crate::gpu::identity`]) or why it has none; None for a job on CPUs.
    pub gpu: Option<std::result::Result<String, String>>,
}

/// How rank 0 shares the job, sent to every rank that agrees.
#[derive(Clone, Debug, PartialEq)]
pub struct Description {
    /// Whole frames handed out (false: blocks of each frame).
    pub frames_mode: bool,
    /// Frames per task in frames mode.
    pub chunk_frames: u64,
    /// Rank 0's probe as JSON, from which each rank plans its own cores.
    pub profile: String,
    /// For a job on GPUs, rank 0's measure of its device, which every rank's is the same
    /// as (the hellos said so); None for a job on CPUs.
    pub gpu_cost: Option<GpuCost>,
}

const HELLO: u8 = 1;
const DESCRIPTION: u8 = 2;
const REFUSED: u8 = 3;
const JOINED: u8 = 4;
const READY: u8 = 5;
const FRAMES: u8 = 6;
const BLOCKS: u8 = 7;
const FRAMES_DONE: u8 = 8;
const BLOCKS_DONE: u8 = 9;
const FAILED: u8 = 10;
const HEARTBEAT: u8 = 11;
const STOP: u8 = 12;

impl Message {
    /// The message as bytes: a tag byte, then its fields.
    pub fn encode(&self) -> Vec<u8> {
        let mut o = Out::default();
        let tag = match self {
            Message::Hello(h) => {
                o.text(&h.build).text(&h.job).word(h.selftest.len() as u64);
                for &w in &h.selftest {
                    o.word(w);
                }
                o.text(&h.host).word(h.cores);
                match &h.gpu {
                    None => o.word(0),
                    Some(Ok(id)) => o.word(1).text(id),
                    Some(Err(why)) => o.word(2).text(why),
                };
                HELLO
            }
            Message::Description(d) => {
                o.word(u64::from(d.frames_mode)).word(d.chunk_frames).text(&d.profile).word(u64::from(d.gpu_cost.is_some()));
                if let Some(c) = &d.gpu_cost {
                    o.f64(c.seconds_per_walk).f64(c.seconds_per_interior_sample).f64(c.seconds_per_batch).word(c.items_per_batch);
                }
                DESCRIPTION
            }
            Message::Refused(why) => {
                o.text(why);
                REFUSED
            }
            Message::Joined { strategy, workers, threads } => {
                o.text(strategy).word(*workers).word(*threads);
                JOINED
            }
            Message::Ready => READY,
            Message::Frames { task, frames } => {
                o.word(*task).word(frames.len() as u64);
                for &f in frames {
                    o.word(f);
                }
                FRAMES
            }
            Message::Blocks { task, frame, interior, first, last, end } => {
                o.word(*task).word(*frame).word(u64::from(*interior)).word(*first).word(*last).word(*end);
                BLOCKS
            }
            Message::FramesDone { task, results, error, seconds } => {
                o.word(*task).word(results.len() as u64);
                for (frame, r) in results {
                    o.word(*frame).counted(&checkpoint::encode(r)).word(r.warnings.len() as u64);
                    for w in &r.warnings {
                        o.text(w);
                    }
                }
                o.maybe(error).f64(*seconds);
                FRAMES_DONE
            }
            Message::BlocksDone { task, tallies, error, seconds } => {
                o.word(*task).word(tallies.len() as u64);
                for &v in tallies {
                    o.f64(v);
                }
                o.maybe(error).f64(*seconds);
                BLOCKS_DONE
            }
            Message::Failed(why) => {
                o.text(why);
                FAILED
            }
            Message::Heartbeat => HEARTBEAT,
            Message::Stop => STOP,
        };
        let mut bytes = Vec::with_capacity(1 + o.0.len());
        bytes.push(tag);
        bytes.extend(o.0);
        bytes
    }

    /// The message `encode` wrote; None for bytes that are not one (truncated, trailing
    /// data, an unknown tag), which the receiver reports as a fault of the sender.
    pub fn decode(bytes: &[u8]) -> Option<Message> {
        let (&tag, rest) = bytes.split_first()?;
        let mut i = Words(rest);
        let m = match tag {
            HELLO => {
                let (build, job) = (i.text()?, i.text()?);
                let n = i.count(8)?;
                let selftest = (0..n).map(|_| i.word()).collect::<Option<_>>()?;
                let (host, cores) = (i.text()?, i.word()?);
                let gpu = match i.word()? {
                    0 => None,
                    1 => Some(Ok(i.text()?)),
                    2 => Some(Err(i.text()?)),
                    _ => return None,
                };
                Message::Hello(Hello { build, job, selftest, host, cores, gpu })
            }
            DESCRIPTION => {
                let (frames_mode, chunk_frames, profile) = (i.word()? != 0, i.word()?, i.text()?);
                let gpu_cost = match i.word()? {
                    0 => None,
                    1 => Some(GpuCost {
                        seconds_per_walk: i.f64()?,
                        seconds_per_interior_sample: i.f64()?,
                        seconds_per_batch: i.f64()?,
                        items_per_batch: i.word()?,
                    }),
                    _ => return None,
                };
                Message::Description(Description { frames_mode, chunk_frames, profile, gpu_cost })
            }
            REFUSED => Message::Refused(i.text()?),
            JOINED => Message::Joined { strategy: i.text()?, workers: i.word()?, threads: i.word()? },
            READY => Message::Ready,
            FRAMES => {
                let task = i.word()?;
                let n = i.count(8)?;
                Message::Frames { task, frames: (0..n).map(|_| i.word()).collect::<Option<_>>()? }
            }
            BLOCKS => Message::Blocks {
                task: i.word()?,
                frame: i.word()?,
                interior: i.word()? != 0,
                first: i.word()?,
                last: i.word()?,
                end: i.word()?,
            },
            FRAMES_DONE => {
                let task = i.word()?;
                let n = i.count(16)?;
                let mut results = Vec::with_capacity(n);
                for _ in 0..n {
                    let frame = i.word()?;
                    let mut r = checkpoint::decode(i.counted()?)?;
                    let w = i.count(8)?;
                    r.warnings = (0..w).map(|_| i.text()).collect::<Option<_>>()?;
                    results.push((frame, r));
                }
                Message::FramesDone { task, results, error: i.maybe()?, seconds: i.f64()? }
            }
            BLOCKS_DONE => {
                let task = i.word()?;
                let n = i.count(8)?;
                let tallies = (0..n).map(|_| i.f64()).collect::<Option<_>>()?;
                Message::BlocksDone { task, tallies, error: i.maybe()?, seconds: i.f64()? }
            }
            FAILED => Message::Failed(i.text()?),
            HEARTBEAT => Message::Heartbeat,
            STOP => Message::Stop,
            _ => return None,
        };
        i.0.is_empty().then_some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::LaunchInfo;
    use crate::estimate::{Estimate, Quantity};

    #[test]
    fn every_message_comes_back_as_sent() {
        let mut r = FrameResult::of(vec![Estimate { quantity: Quantity::Capacitance, value: vec![1.0 / 3.0], std: vec![f64::NAN] }]);
        r.launch = LaunchInfo { center: [0.1, -0.0, 3.0], radius: 2.0, enclosing_radius: 1.5, skin_thickness: 1e-6 };
        r.warnings = vec!["wide".into()];
        let hello = |selftest: Vec<u64>, gpu| {
            Message::Hello(Hello { build: "b".into(), job: "j".into(), selftest, host: "h".into(), cores: 16, gpu })
        };
        let all = [
            hello(vec![1, u64::MAX], None),
            hello(vec![], Some(Ok("d".into()))),
            hello(vec![], Some(Err("none".into()))),
            Message::Description(Description { frames_mode: true, chunk_frames: 5, profile: "{}".into(), gpu_cost: None }),
            Message::Description(Description {
                frames_mode: true,
                chunk_frames: 5,
                profile: "{}".into(),
                gpu_cost: Some(GpuCost {
                    seconds_per_walk: 1e-9,
                    seconds_per_interior_sample: 2e-9,
                    seconds_per_batch: 1e-3,
                    items_per_batch: 4096,
                }),
            }),
            Message::Refused("no".into()),
            Message::Joined { strategy: "frames".into(), workers: 2, threads: 1 },
            Message::Ready,
            Message::Frames { task: 3, frames: vec![4, 5, 9] },
            Message::Blocks { task: 1, frame: 2, interior: true, first: 3, last: 9, end: 250 },
            Message::FramesDone { task: 7, results: vec![(4, r.clone())], error: Some("frame 5: bad".into()), seconds: 0.5 },
            Message::BlocksDone { task: 8, tallies: vec![1.5, -0.0, f64::INFINITY], error: None, seconds: 0.25 },
            Message::Failed("panicked".into()),
            Message::Heartbeat,
            Message::Stop,
        ];
        for m in all {
            let bytes = m.encode();
            let back = Message::decode(&bytes).expect("decodes");
            // NaN != NaN, so the results are compared by their encoding.
            assert_eq!(back.encode(), bytes, "{m:?}");
            assert!(Message::decode(&bytes[..bytes.len() - 1]).is_none(), "a truncated {m:?} is refused");
        }
    }
}
