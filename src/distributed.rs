//! One job over many ranks (MPI processes, or in-process ranks in the tests), with the bits
//! of one process.
//!
//! Every rank opens the input read-only and prepares the same job from the same command
//! line, then says hello to rank 0 with its build, a digest of its job and the bits of the
//! floating-point functions the walks use ([`selftest`]); rank 0 refuses the job when any
//! rank differs, since another libm would give other numbers without a word. Rank 0 alone
//! opens the checkpoint, plans, writes the outputs and shows progress; it computes too, on
//! a thread of its own, while its main thread hands out tasks and reorders what comes back.
//!
//! The planner ([`plan::distribute`]) chooses one of two modes. In frames mode rank 0 hands
//! out chunks of frames on request (each rank keeps two asked for, so it never waits, and a
//! slow rank simply asks less often) and each rank runs its chunks with its own local plan;
//! the results come back in the checkpoint's encoding and are delivered in frame order,
//! which is what makes the output byte-identical. In within-frame mode (a few long frames)
//! rank 0 runs each frame's stopping rule and hands out ranges of walk blocks; ranks send
//! every block's tally unsummed and rank 0 adds them in block order, exactly as one
//! process's pool does.
//!
//! Faults: a failing frame is reported as one machine reports it, after the frames before
//! it; a rank that fails says so and ends the job with its name; a rank that says nothing
//! for [`Config::timeout`] (each rank says something every [`Config::heartbeat`]) is taken
//! for dead and ends the job, so no fault leaves the job waiting. A panic in a rank's
//! compute thread is that rank's failure at once (under MPI the panic hook aborts the job
//! before that, whichever thread panicked).
//!
//! A job on GPUs (`--strategy gpu`, never under `auto`) runs whole frames on every rank's
//! own GPU; the hellos name each rank's adapter and driver, and rank 0 refuses a rank on
//! another one or none, as the GPU's f32 bits are the same only on the same device and
//! driver.

use crate::body::Body;
use crate::compute::{FrameResult, FrameRun};
use crate::error::{Error, Result};
use crate::exec::{self, GpuTarget, Kind, Strategy, TaskLog, WorkerLog};
use crate::job::Job;
use crate::plan::{self, Constraints, Distribution, GpuCost, GpuOption, Plan, Profile};
use crate::pool::Pool;
use crate::trajectory::{FrameInfo, FrameReader};
use crate::transport::{Description, Hello, Message, Transport};
use crate::walk::{self, ExteriorBlock, InteriorTally, Seeds};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

/// How long ranks wait for each other.
#[derive(Clone, Debug)]
pub struct Config {
    /// Silence after which a rank is taken for dead; also how long rank 0 waits for the
    /// others' hellos (they only open the input first, as rank 0 did).
    pub timeout: Duration,
    /// How long the other ranks wait, after their hello, for rank 0's description of the
    /// job: meanwhile rank 0 opens the checkpoint and profiles frames, and says nothing.
    /// Rank 0 counts a rank's silence from the moment it sent it the description.
    pub startup_timeout: Duration,
    /// A rank with nothing else to say says this often that it lives.
    pub heartbeat: Duration,
    /// A panic to inject, for the tests of what a panic does; None in every other run.
    pub fault: Option<Fault>,
}

impl Default for Config {
    /// A minute of silence, ten for the description, a heartbeat a second;
    /// `TRAJWALK_RANK_TIMEOUT` (seconds) sets the first, for a cluster whose nodes stall
    /// longer. `TRAJWALK_FAULT` sets [`Config::fault`].
    fn default() -> Config {
        let timeout = std::env::var("TRAJWALK_RANK_TIMEOUT").ok().and_then(|s| s.parse::<f64>().ok()).filter(|&s| s > 0.0).unwrap_or(60.0);
        Config {
            timeout: Duration::from_secs_f64(timeout),
            startup_timeout: Duration::from_secs_f64(timeout.max(600.0)),
            heartbeat: Duration::from_secs(1),
            fault: std::env::var("TRAJWALK_FAULT").ok().and_then(|s| Fault::parse(&s)),
        }
    }
}

/// A deliberate panic, so the tests can check that a panicking rank ends the whole job
/// (under MPI, through the panic hook's `MPI_Abort`): rank `rank` panics as it starts its
/// `task`-th task (counted from 1; rank 0's own compute thread counts too). Only a run
/// given `TRAJWALK_FAULT=panic:rank=R:task=K` (or a test's [`Config`]) has one; the task
/// rather than a frame, since which rank gets which frame depends on timing, while every
/// rank is handed its first two tasks at the start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The rank that panics.
    pub rank: usize,
    /// The task, counted from 1, it panics at.
    pub task: usize,
}

impl Fault {
    /// `panic:rank=R:task=K`; None for anything else.
    pub fn parse(s: &str) -> Option<Fault> {
        let rest = s.strip_prefix("panic:rank=")?;
        let (rank, task) = rest.split_once(":task=")?;
        Some(Fault { rank: rank.parse().ok()?, task: task.parse().ok().filter(|&k| k > 0)? })
    }
}

/// Tasks a rank keeps asked for: one running and one waiting, so it never waits on rank 0.
const CREDITS: usize = 2;
/// How long a loop waits on the transport before looking at its own compute thread: the
/// latency of a result, never of the work, as each rank has a second task in hand.
const POLL: Duration = Duration::from_millis(8);

/// The build: the package version, the target and a fingerprint of the running binary, so
/// ranks started from different builds refuse to mix their numbers.
pub fn build_id() -> String {
    let binary = std::env::current_exe().ok().and_then(|p| crate::checkpoint::fingerprint(&p).ok()).map_or("?".into(), |(_, h)| h);
    format!("trajwalk {} {}-{} {binary}", env!("CARGO_PKG_VERSION"), std::env::consts::ARCH, std::env::consts::OS)
}

/// The bits of the floating-point functions the walks and estimators use, on fixed inputs
/// (hidden from the optimiser, so the machine's own libm computes them at run time).
pub fn selftest() -> Vec<u64> {
    let x = |v: f64| std::hint::black_box(v);
    let (a, b, c) = (x(0.7390851332151607), x(1.0e-3), x(12345.678));
    [
        a.sqrt(),
        c.sqrt(),
        a.sin(),
        c.sin(),
        a.cos(),
        c.cos(),
        a.ln(),
        c.ln(),
        b.ln_1p(),
        a.exp(),
        (-c.sqrt()).exp(),
        a.powf(x(1.0 / 3.0)),
        c.cbrt(),
        a.atan2(x(-0.3)),
        a.acos(),
        a.asin(),
        b.tan(),
        c.powi(3),
        a.mul_add(c, b),
    ]
    .iter()
    .map(|v| v.to_bits())
    .collect()
}

/// A digest of everything that decides the job's numbers and frames: the checkpoint's
/// identity and the selected frames.
pub fn job_digest(job: &Job) -> Result<String> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    crate::checkpoint::identity(job)?.hash(&mut h);
    job.frames.hash(&mut h);
    Ok(format!("{:016x}", h.finish()))
}

/// What rank 0 knows of one rank, and what the plan reports of it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RankLog {
    /// 0 to size - 1.
    pub rank: usize,
    /// Its host.
    pub host: String,
    /// The cores it plans for.
    pub cores: usize,
    /// Its local strategy.
    pub strategy: String,
    /// Frames at once on it.
    pub workers: usize,
    /// Threads per frame on it.
    pub threads: usize,
    /// Its GPU's adapter and driver ([`crate::gpu::identity`]) in a job on GPUs; None on CPUs.
    pub gpu: Option<String>,
    /// Its finished tasks, in the order it finished them: for blocks tasks, `first_frame` is
    /// the frame and `frames` the blocks.
    pub tasks: Vec<TaskLog>,
}

/// The local shape a rank runs its tasks with: the planner's best for a chunk on its cores,
/// or its GPU (`gpu`, rank 0's measure of the device every rank has) for a job on GPUs.
fn local_plan(profile: &Profile, chunk_frames: usize, max_chunk: usize, constraints: &Constraints, gpu: Option<&GpuCost>) -> Result<Plan> {
    let mut profile = profile.clone();
    profile.cores = constraints.cores.max(1);
    let mut c = constraints.clone();
    c.gpu = GpuOption { info: None, cost: gpu.cloned(), note: None };
    plan::choose(profile, chunk_frames.max(1), max_chunk, &c)
}

/// The GPU this rank would walk on in a job on GPUs (`--strategy gpu`, the only way a
/// distributed job uses them): its identity or why it has none; None for a job on CPUs.
fn gpu_of(constraints: &Constraints, gpu: &GpuTarget) -> Option<std::result::Result<String, String>> {
    (constraints.strategy == Some(Kind::Gpu)).then(|| crate::gpu::identity(gpu.adapter.as_deref()).map_err(|e| e.to_string()))
}

/// A rank's compute: frames tasks with its local strategy, blocks tasks on its pool.
struct Engine<'a> {
    job: &'a Job,
    /// The job with the frames of the current task.
    sub: Job,
    strategy: Box<dyn Strategy + Send + Sync>,
    chunk_frames: usize,
    threads: usize,
    pool: Option<Pool>,
    reader: Option<Box<dyn FrameReader>>,
    body: Option<(usize, FrameInfo, Body)>,
    /// The panic to inject when the task count reaches it (tests only).
    fault: Option<usize>,
    tasks: usize,
}

impl<'a> Engine<'a> {
    fn new(job: &'a Job, local: &Plan, cores: usize, rank: usize, config: &Config, gpu: &GpuTarget) -> Result<Engine<'a>> {
        let gpu = GpuTarget { adapter: gpu.adapter.clone(), items_per_batch: local.gpu_cost.as_ref().map(|c| c.items_per_batch) };
        Ok(Engine {
            job,
            sub: job.clone(),
            strategy: exec::strategy(local.strategy, local.workers, local.threads, &gpu)?,
            chunk_frames: local.chunk_frames,
            threads: cores.max(1),
            pool: None,
            reader: None,
            body: None,
            fault: config.fault.filter(|f| f.rank == rank).map(|f| f.task),
            tasks: 0,
        })
    }

    /// Runs one task and says how it went.
    fn task(&mut self, task: Message) -> Message {
        let started = Instant::now();
        self.tasks += 1;
        if self.fault == Some(self.tasks) {
            panic!("TRAJWALK_FAULT: a panic injected at task {} of this rank, as asked", self.tasks);
        }
        match task {
            Message::Frames { task, frames } => {
                self.sub.frames = frames.iter().map(|&f| f as usize).collect();
                let mut results = vec![];
                let outcome = self.strategy.run(&self.sub, self.chunk_frames, &mut |info, r| {
                    results.push((info.index as u64, r));
                    Ok(())
                });
                Message::FramesDone { task, results, error: outcome.err().map(|e| e.to_string()), seconds: started.elapsed().as_secs_f64() }
            }
            Message::Blocks { task, frame, interior, first, last, end } => {
                let tallies = self.blocks(frame as usize, interior, first, last, end);
                let (tallies, error) = match tallies {
                    Ok(t) => (t, None),
                    Err(e) => (vec![], Some(e.to_string())),
                };
                Message::BlocksDone { task, tallies, error, seconds: started.elapsed().as_secs_f64() }
            }
            other => Message::Failed(format!("was sent {other:?} as a task")),
        }
    }

    /// Reads and builds the frame's body, once for all its blocks tasks.
    fn load(&mut self, frame: usize) -> Result<FrameInfo> {
        if self.body.as_ref().is_none_or(|(f, _, _)| *f != frame) {
            self.body = None;
            let (info, body) = read_body(self.job, &mut self.reader, frame)?;
            self.body = Some((frame, info, body));
        }
        Ok(self.body.as_ref().expect("built above").1.clone())
    }

    fn blocks(&mut self, frame: usize, interior: bool, first: u64, last: u64, end: u64) -> Result<Vec<f64>> {
        if self.pool.is_none() {
            self.pool = Some(Pool::new(self.threads)?);
        }
        let seed = self.job.sampling.seed;
        let info = self.load(frame)?;
        let seeds = Seeds { seed, frame_key: info.key };
        let body = &self.body.as_ref().expect("built above").2;
        let pool = self.pool.as_ref().expect("made above");
        Ok(match interior {
            false => {
                let t: Vec<ExteriorBlock> = pool.map(first..last, |b| walk::exterior_block(body, seeds, b, end));
                bytemuck::cast_slice(&t).to_vec()
            }
            true => {
                let t: Vec<InteriorTally> = pool.map(first..last, |b| walk::interior_block(body, seeds, b, end));
                bytemuck::cast_slice(&t).to_vec()
            }
        })
    }
}

/// Reads frame `frame` (a sequence index) and builds its body.
fn read_body(job: &Job, reader: &mut Option<Box<dyn FrameReader>>, frame: usize) -> Result<(FrameInfo, Body)> {
    if reader.is_none() {
        *reader = Some(job.trajectory.reader(job.read.clone())?);
    }
    let chunk = job.trajectory.chunks(&[frame], 1)[0];
    let f = reader.as_mut().expect("opened above").read_chunk(&chunk)?.remove(0);
    let body = job.body(&f)?;
    Ok((f.info, body))
}

/// Runs the tasks that come on `tasks` until it closes, answering each on `done`. A panic
/// is answered as the rank's failure, so the job ends with its message at once instead of
/// the rank's silence after a timeout (under MPI the panic hook aborts the job first).
fn compute_thread(mut engine: Engine, tasks: Receiver<Message>, done: Sender<Message>) {
    for task in tasks {
        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.task(task))).unwrap_or_else(|panic| {
            let what = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned());
            Message::Failed(format!("its compute thread panicked: {}", what.unwrap_or_else(|| "(no message)".into())))
        });
        let failed = matches!(answer, Message::Failed(_));
        if done.send(answer).is_err() || failed {
            break;
        }
    }
}

/// The other side of every rank but 0: say hello, take the description, then run tasks
/// until rank 0 says stop. `constraints` are the rank's own (its cores, the user's shape),
/// `gpu` the adapter it would use.
pub fn serve(t: &dyn Transport, config: &Config, job: &Job, constraints: &Constraints, gpu: &GpuTarget) -> Result<()> {
    let outcome = serve_job(t, config, job, constraints, gpu);
    if let Err(e) = &outcome {
        // Rank 0 hears why before this rank goes (it may not be listening any more), and
        // names this rank itself.
        let why = match e {
            Error::Rank { rank, message, .. } if *rank == t.rank() => message.clone(),
            e => e.to_string(),
        };
        let _ = t.send(0, &Message::Failed(why));
    }
    outcome
}

fn serve_job(t: &dyn Transport, config: &Config, job: &Job, constraints: &Constraints, gpu: &GpuTarget) -> Result<()> {
    let me = t.rank();
    let hello = Hello {
        build: build_id(),
        job: job_digest(job)?,
        selftest: selftest(),
        host: t.host(),
        cores: constraints.cores as u64,
        gpu: gpu_of(constraints, gpu),
    };
    t.send(0, &Message::Hello(hello))?;
    let silent = |d: Duration| Error::Rank {
        rank: 0,
        host: String::new(),
        message: format!("sent nothing for {:.0} s: it died or hangs, so rank {me} leaves the job", d.as_secs_f64()),
    };
    let description = match t.recv(config.startup_timeout)? {
        Some((0, Message::Description(d))) => d,
        Some((0, Message::Stop)) => return Ok(()),
        Some((0, Message::Refused(why))) => return Err(Error::Rank { rank: me, host: t.host(), message: why }),
        Some((from, m)) => return Err(protocol(from, &m)),
        None => return Err(silent(config.startup_timeout)),
    };
    let profile: Profile = serde_json::from_str(&description.profile).map_err(|e| Error::Rank {
        rank: 0,
        host: String::new(),
        message: format!("sent a profile that does not read: {e}"),
    })?;
    let local =
        local_plan(&profile, description.chunk_frames as usize, job.max_chunk_frames(), constraints, description.gpu_cost.as_ref())?;
    let joined = Message::Joined { strategy: local.strategy.name().into(), workers: local.workers as u64, threads: local.threads as u64 };
    t.send(0, &joined)?;
    let engine = Engine::new(job, &local, constraints.cores, me, config, gpu)?;
    let (task_tx, task_rx) = channel();
    let (done_tx, done_rx) = channel();
    std::thread::scope(|scope| {
        scope.spawn(move || compute_thread(engine, task_rx, done_tx));
        let outcome = (|| {
            for _ in 0..CREDITS {
                t.send(0, &Message::Ready)?;
            }
            let (mut heard, mut said) = (Instant::now(), Instant::now());
            loop {
                match done_rx.try_recv() {
                    Ok(Message::Failed(why)) => return Err(Error::Rank { rank: me, host: t.host(), message: why }),
                    Ok(done) => {
                        t.send(0, &done)?;
                        said = Instant::now();
                    }
                    Err(TryRecvError::Disconnected) => {
                        return Err(Error::Rank { rank: me, host: t.host(), message: "its compute thread died".into() })
                    }
                    Err(TryRecvError::Empty) => {}
                }
                match t.recv(POLL)? {
                    Some((0, m @ (Message::Frames { .. } | Message::Blocks { .. }))) => {
                        heard = Instant::now();
                        task_tx.send(m).map_err(|_| Error::Rank { rank: me, host: t.host(), message: "its compute thread died".into() })?;
                    }
                    Some((0, Message::Heartbeat)) => heard = Instant::now(),
                    Some((0, Message::Stop)) => return Ok(()),
                    Some((from, m)) => return Err(protocol(from, &m)),
                    None if heard.elapsed() > config.timeout => return Err(silent(config.timeout)),
                    None => {}
                }
                if said.elapsed() >= config.heartbeat {
                    t.send(0, &Message::Heartbeat)?;
                    said = Instant::now();
                }
            }
        })();
        drop(task_tx);
        outcome
    })
}

fn protocol(from: usize, m: &Message) -> Error {
    let what = format!("{m:?}");
    Error::Rank {
        rank: from,
        host: String::new(),
        message: format!("sent {} out of turn", what.split([' ', '(', '{']).next().unwrap_or("")),
    }
}

/// Rank 0's side: the ranks it heard from, what it gave each, and its own compute thread.
pub(crate) struct Coordinator<'t> {
    t: &'t dyn Transport,
    config: Config,
    ranks: Vec<RankLog>,
    heard: Vec<Instant>,
    said: Vec<Instant>,
    distribution: Option<Distribution>,
    stopped: bool,
}

impl<'t> Coordinator<'t> {
    /// Waits for every rank's hello and refuses the job when one differs from rank 0's: for
    /// a job on GPUs, also a rank without one or on another model or driver, whose f32
    /// walks would give other bits.
    pub(crate) fn gather(
        t: &'t dyn Transport,
        config: &Config,
        job: &Job,
        constraints: &Constraints,
        gpu: &GpuTarget,
    ) -> Result<Coordinator<'t>> {
        let n = t.size();
        let cores = constraints.cores;
        let mine = Hello {
            build: build_id(),
            job: job_digest(job)?,
            selftest: selftest(),
            host: t.host(),
            cores: cores as u64,
            gpu: gpu_of(constraints, gpu),
        };
        let mut ranks: Vec<RankLog> = (0..n).map(|rank| RankLog { rank, ..Default::default() }).collect();
        ranks[0].host = mine.host.clone();
        ranks[0].cores = cores;
        ranks[0].gpu = mine.gpu.clone().and_then(|g| g.ok());
        let now = Instant::now();
        let mut c =
            Coordinator { t, config: config.clone(), ranks, heard: vec![now; n], said: vec![now; n], distribution: None, stopped: false };
        let mut waiting: Vec<usize> = (1..n).collect();
        // The others only open the input before they say hello, so a minute of silence is
        // as telling here as later.
        let deadline = now + config.timeout;
        let outcome = (|| {
            while !waiting.is_empty() {
                let Some((from, m)) =
                    t.recv(POLL.max(deadline.saturating_duration_since(Instant::now()).min(Duration::from_millis(100))))?
                else {
                    if Instant::now() >= deadline {
                        let r = waiting[0];
                        return Err(Error::Rank {
                            rank: r,
                            host: String::new(),
                            message: format!("did not say hello within {:.0} s of rank 0's start", config.timeout.as_secs_f64()),
                        });
                    }
                    continue;
                };
                match m {
                    Message::Hello(h) if waiting.contains(&from) => {
                        waiting.retain(|&r| r != from);
                        c.ranks[from].host = h.host.clone();
                        c.ranks[from].cores = h.cores as usize;
                        c.ranks[from].gpu = h.gpu.clone().and_then(|g| g.ok());
                        c.heard[from] = Instant::now();
                        let why = if h.build != mine.build {
                            Some(format!("runs another build ({}) than rank 0 ({})", h.build, mine.build))
                        } else if h.job != mine.job {
                            Some("prepared another job than rank 0 (another input file, options or frames)".to_string())
                        } else if h.selftest != mine.selftest {
                            let k = h.selftest.iter().zip(&mine.selftest).position(|(a, b)| a != b).unwrap_or(0);
                            Some(format!("computes other bits than rank 0 for floating-point function {k} of the self-test (another libm), so its numbers would differ"))
                        } else if !matches!(mine.gpu, Some(Ok(_))) {
                            // Rank 0 without a GPU fails as one process does, when it plans.
                            None
                        } else if let Some(Err(why)) = &h.gpu {
                            Some(format!("has no GPU to walk on, which --strategy gpu asks of every rank ({why})"))
                        } else if h.gpu != mine.gpu {
                            let name = |g: &Option<std::result::Result<String, String>>| g.clone().and_then(|g| g.ok()).unwrap_or_default();
                            Some(format!(
                                "walks on {} but rank 0 on {}: the GPU's bits depend on the device and its driver, so every rank needs the same",
                                name(&h.gpu),
                                name(&mine.gpu)
                            ))
                        } else {
                            None
                        };
                        if let Some(why) = why {
                            let _ = t.send(from, &Message::Refused(why.clone()));
                            return Err(Error::Rank { rank: from, host: h.host, message: why });
                        }
                    }
                    Message::Failed(why) => return Err(Error::Rank { rank: from, host: c.ranks[from].host.clone(), message: why }),
                    Message::Heartbeat => {}
                    m => return Err(protocol(from, &m)),
                }
            }
            Ok(())
        })();
        match outcome {
            Ok(()) => Ok(c),
            Err(e) => {
                c.stop();
                Err(e)
            }
        }
    }

    /// Decides how the job is shared and tells every rank; returns the plan's sentence.
    pub(crate) fn start(&mut self, job: &Job, plan: &Plan, constraints: &Constraints) -> Result<String> {
        let cores: Vec<usize> = self.ranks.iter().map(|r| r.cores.max(1)).collect();
        let gpu_cost = plan.gpu_cost.clone().filter(|_| plan.strategy == Kind::Gpu);
        let d = plan::distribute(&plan.profile, job.frames.len(), job.max_chunk_frames(), &cores, gpu_cost.as_ref());
        let local = local_plan(&plan.profile, d.chunk_frames, job.max_chunk_frames(), constraints, gpu_cost.as_ref())?;
        let r0 = &mut self.ranks[0];
        (r0.strategy, r0.workers, r0.threads) = (local.strategy.name().into(), local.workers, local.threads);
        let description = Description {
            frames_mode: d.frames_mode,
            chunk_frames: d.chunk_frames as u64,
            profile: serde_json::to_string(&plan.profile).expect("a profile serialises"),
            gpu_cost,
        };
        for r in 1..self.ranks.len() {
            self.send(r, &Message::Description(description.clone()))?;
            // Silent since its hello by the protocol, while this rank planned (for longer
            // than the timeout, on a large job): its silence counts from now.
            self.heard[r] = Instant::now();
        }
        let reason = d.reason.clone();
        self.distribution = Some(d);
        Ok(reason)
    }

    /// The ranks as the plan reports them.
    pub(crate) fn ranks(&self) -> &[RankLog] {
        &self.ranks
    }

    /// How the job was shared, once started.
    pub(crate) fn distribution(&self) -> Option<&Distribution> {
        self.distribution.as_ref()
    }

    /// Sends `m` to rank `to`. A rank that failed says why before it goes, so when the
    /// send finds it gone its reason may already be queued here, and is then the error
    /// rather than the transport's (in-process, a closed channel; over MPI, the send
    /// timeout).
    fn send(&mut self, to: usize, m: &Message) -> Result<()> {
        self.said[to] = Instant::now();
        self.t.send(to, m).map_err(|gone| self.last_word(to).unwrap_or(gone))
    }

    /// Why the job failed, from the messages queued here: rank `rank`'s reason, else the
    /// first other rank's; None when no rank said.
    fn last_word(&self, rank: usize) -> Option<Error> {
        let mut first = None;
        while let Ok(Some((from, m))) = self.t.recv(Duration::ZERO) {
            match m {
                Message::Failed(why) if from == rank => return Some(self.failed(from, why)),
                Message::Failed(why) if first.is_none() => first = Some((from, why)),
                _ => {}
            }
        }
        first.map(|(from, why)| self.failed(from, why))
    }

    /// Rank `rank`'s failure, named by its host.
    fn failed(&self, rank: usize, why: String) -> Error {
        Error::Rank { rank, host: self.ranks[rank].host.clone(), message: why }
    }

    /// Tells every other rank to stop (once).
    pub(crate) fn stop(&mut self) {
        if !std::mem::replace(&mut self.stopped, true) {
            for r in 1..self.ranks.len() {
                let _ = self.t.send(r, &Message::Stop);
            }
        }
    }

    /// Runs every frame of `job`, rank 0's share on a thread of its own, handing `sink` the
    /// results in frame order; after a failure, the frames before it are still handed on.
    pub(crate) fn run(
        &mut self,
        job: &Job,
        plan: &Plan,
        constraints: &Constraints,
        gpu: &GpuTarget,
        sink: &mut exec::Sink,
    ) -> Result<Vec<WorkerLog>> {
        let d = self.distribution.clone().expect("started before it runs");
        let gpu_cost = plan.gpu_cost.as_ref().filter(|_| plan.strategy == Kind::Gpu);
        let local = local_plan(&plan.profile, d.chunk_frames, job.max_chunk_frames(), constraints, gpu_cost)?;
        let engine = Engine::new(job, &local, constraints.cores, 0, &self.config, gpu)?;
        let (task_tx, task_rx) = channel();
        let (done_tx, done_rx) = channel();
        let outcome = std::thread::scope(|scope| {
            scope.spawn(move || compute_thread(engine, task_rx, done_tx));
            let n = self.ranks.len();
            let mut round = Round {
                c: self,
                local: &task_tx,
                done: &done_rx,
                credits: (0..CREDITS).map(|_| 0).collect(),
                busy: vec![0; n],
                next_task: 0,
            };
            let outcome = round.everyone_ready().and_then(|()| match d.frames_mode {
                true => round.frames(job, d.chunk_frames, sink),
                false => round.within_frames(job, &d, sink),
            });
            drop(task_tx);
            outcome
        });
        self.stop();
        outcome?;
        Ok(self.ranks.iter().map(|r| WorkerLog { worker: r.rank, tasks: r.tasks.clone() }).collect())
    }
}

/// One run's hand-out state: who may be given a task, and the numbering of tasks.
struct Round<'c, 't> {
    c: &'c mut Coordinator<'t>,
    local: &'c Sender<Message>,
    done: &'c Receiver<Message>,
    /// Ranks that asked for a task, in the order they asked.
    credits: VecDeque<usize>,
    /// Tasks each rank holds.
    busy: Vec<usize>,
    next_task: u64,
}

impl Round<'_, '_> {
    /// Waits until every rank has asked for work, so the first tasks go one to each rank
    /// rather than two to the quickest to ask (rank 0, whose compute thread asks at once).
    fn everyone_ready(&mut self) -> Result<()> {
        while (1..self.busy.len()).any(|r| !self.credits.contains(&r)) {
            if let Some((from, m)) = self.next()? {
                return Err(protocol(from, &m));
            }
        }
        Ok(())
    }

    /// The rank to give the next task: of those that asked, one holding the fewest tasks.
    fn take_credit(&mut self) -> Option<usize> {
        let k = (0..self.credits.len()).min_by_key(|&k| self.busy[self.credits[k]])?;
        let rank = self.credits.remove(k)?;
        self.busy[rank] += 1;
        Some(rank)
    }

    fn give(&mut self, rank: usize, task: Message) -> Result<()> {
        match rank {
            0 => self.local.send(task).map_err(|_| self.compute_died()),
            r => self.c.send(r, &task),
        }
    }

    /// Why rank 0's compute thread is gone: what it said last when it failed (it may be
    /// gone before that answer is read).
    fn compute_died(&self) -> Error {
        let why = self.done.try_iter().find_map(|m| match m {
            Message::Failed(why) => Some(why),
            _ => None,
        });
        Error::Rank { rank: 0, host: self.c.ranks[0].host.clone(), message: why.unwrap_or_else(|| "its compute thread died".into()) }
    }

    /// The next word from any rank (rank 0's compute thread first), or None for now.
    fn next(&mut self) -> Result<Option<(usize, Message)>> {
        match self.done.try_recv() {
            Ok(Message::Failed(why)) => return Err(Error::Rank { rank: 0, host: self.c.ranks[0].host.clone(), message: why }),
            Ok(m) => return Ok(Some((0, m))),
            Err(TryRecvError::Disconnected) => return Err(self.compute_died()),
            Err(TryRecvError::Empty) => {}
        }
        let got = self.c.t.recv(POLL)?;
        let now = Instant::now();
        match &got {
            // A rank that failed says why and goes: its reason ends the job here, before a
            // heartbeat to it below can find it gone.
            Some((from, Message::Failed(why))) => return Err(self.c.failed(*from, why.clone())),
            Some((from, _)) => self.c.heard[*from] = now,
            None => {}
        }
        for r in 1..self.c.ranks.len() {
            if now.duration_since(self.c.heard[r]) > self.c.config.timeout {
                return Err(Error::Rank {
                    rank: r,
                    host: self.c.ranks[r].host.clone(),
                    message: format!(
                        "sent nothing for {:.0} s: it died, hangs or lost its network, so the job is stopped (run the same command again to resume from the checkpoint)",
                        self.c.config.timeout.as_secs_f64()
                    ),
                });
            }
            if now.duration_since(self.c.said[r]) >= self.c.config.heartbeat {
                self.c.send(r, &Message::Heartbeat)?;
            }
        }
        match got {
            Some((from, Message::Ready)) => {
                self.credits.push_back(from);
                Ok(None)
            }
            Some((from, Message::Joined { strategy, workers, threads })) => {
                let r = &mut self.c.ranks[from];
                (r.strategy, r.workers, r.threads) = (strategy, workers as usize, threads as usize);
                Ok(None)
            }
            Some((_, Message::Heartbeat)) => Ok(None),
            other => Ok(other),
        }
    }

    fn log(&mut self, rank: usize, first_frame: usize, frames: usize, seconds: f64) {
        self.c.ranks[rank].tasks.push(TaskLog { first_frame, frames, seconds });
        self.returned(rank);
    }

    /// A task came back from `rank`, which may have another.
    fn returned(&mut self, rank: usize) {
        self.busy[rank] -= 1;
        self.credits.push_back(rank);
    }

    /// Frames mode: chunks handed out on request, results delivered in frame order.
    fn frames(&mut self, job: &Job, chunk_frames: usize, sink: &mut exec::Sink) -> Result<()> {
        let tasks: Vec<&[usize]> = job.frames.chunks(chunk_frames.max(1)).collect();
        let (mut next, mut next_out) = (0usize, 0usize);
        let mut outstanding: HashMap<u64, usize> = HashMap::new();
        let mut pending: BTreeMap<usize, Vec<(u64, FrameResult)>> = BTreeMap::new();
        let mut failure: Option<(usize, Error)> = None;
        loop {
            while failure.is_none() && next < tasks.len() {
                let Some(rank) = self.take_credit() else { break };
                let frames = tasks[next].iter().map(|&f| f as u64).collect();
                self.give(rank, Message::Frames { task: next as u64, frames })?;
                outstanding.insert(next as u64, rank);
                next += 1;
            }
            if (next == tasks.len() || failure.is_some()) && outstanding.is_empty() {
                break;
            }
            match self.next()? {
                None => continue,
                Some((from, Message::FramesDone { task, results, error, seconds })) if outstanding.get(&task) == Some(&from) => {
                    outstanding.remove(&task);
                    let t = task as usize;
                    match error {
                        None => self.log(from, tasks[t][0], results.len(), seconds),
                        Some(e) => {
                            self.returned(from);
                            if failure.as_ref().is_none_or(|(ft, _)| t < *ft) {
                                failure = Some((t, Error::Remote(e)));
                            }
                        }
                    }
                    pending.insert(t, results);
                }
                Some((from, m)) => return Err(protocol(from, &m)),
            }
            while failure.as_ref().is_none_or(|(ft, _)| next_out <= *ft) {
                let Some(results) = pending.remove(&next_out) else { break };
                for (frame, r) in results {
                    if let Err(e) = sink(&job.trajectory.frames[frame as usize], r) {
                        failure = Some((next_out, e));
                        break;
                    }
                }
                next_out += 1;
            }
        }
        match failure {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }

    /// Within-frame mode: each frame's rounds of blocks handed out in ranges, the tallies
    /// added in block order.
    fn within_frames(&mut self, job: &Job, d: &Distribution, sink: &mut exec::Sink) -> Result<()> {
        let mut reader = None;
        for &frame in &job.frames {
            let (info, body) = read_body(job, &mut reader, frame)?;
            let mut run = FrameRun::new(&job.sampling, &job.context(&body))?;
            while let Some((e, i)) = run.next() {
                let mut ranges = vec![];
                for (blocks, interior) in [(e, false), (i, true)] {
                    let mut b = blocks.first;
                    while b < blocks.last {
                        let upto = (b + d.blocks_per_task).min(blocks.last);
                        ranges.push((interior, b, upto, blocks.end));
                        b = upto;
                    }
                }
                let first_task = self.next_task;
                self.next_task += ranges.len() as u64;
                let mut tallies: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
                let mut outstanding: HashMap<u64, usize> = HashMap::new();
                let mut next = 0;
                while tallies.len() < ranges.len() {
                    while next < ranges.len() {
                        let Some(rank) = self.take_credit() else { break };
                        let (interior, first, last, end) = ranges[next];
                        let task = first_task + next as u64;
                        self.give(rank, Message::Blocks { task, frame: frame as u64, interior, first, last, end })?;
                        outstanding.insert(task, rank);
                        next += 1;
                    }
                    match self.next()? {
                        None => {}
                        Some((from, Message::BlocksDone { task, tallies: t, error, seconds })) if outstanding.get(&task) == Some(&from) => {
                            outstanding.remove(&task);
                            let (_, first, last, _) = ranges[(task - first_task) as usize];
                            if let Some(e) = error {
                                // The frame fails as on one machine; the ranks still busy with
                                // its blocks are stopped with the job.
                                return Err(Error::Remote(e));
                            }
                            self.log(from, frame, (last - first) as usize, seconds);
                            tallies.insert(task, t);
                        }
                        Some((from, m)) => return Err(protocol(from, &m)),
                    }
                }
                for (k, (interior, first, last, _)) in ranges.iter().enumerate() {
                    let words = &tallies[&(first_task + k as u64)];
                    let bad = || Error::Rank { rank: 0, host: String::new(), message: "a rank sent tallies of the wrong size".into() };
                    match interior {
                        false => {
                            let t: &[ExteriorBlock] = bytemuck::try_cast_slice(words).map_err(|_| bad())?;
                            if t.len() as u64 != last - first {
                                return Err(bad());
                            }
                            t.iter().enumerate().for_each(|(j, t)| run.add_exterior(first + j as u64, t));
                        }
                        true => {
                            let t: &[InteriorTally] = bytemuck::try_cast_slice(words).map_err(|_| bad())?;
                            if t.len() as u64 != last - first {
                                return Err(bad());
                            }
                            t.iter().enumerate().for_each(|(j, t)| run.add_interior(first + j as u64, t));
                        }
                    }
                }
                run.advance();
            }
            sink(&job.trajectory.frames[info.index], run.finish(&body))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rank 0 of an in-process job of `size` ranks with the given heartbeat; the other
    /// ranks' ends are returned to play them.
    fn coordinator(zero: &crate::transport::Local, size: usize, heartbeat: Duration) -> Coordinator<'_> {
        let ranks = (0..size).map(|rank| RankLog { rank, host: format!("local-{rank}"), ..Default::default() }).collect();
        let now = Instant::now();
        Coordinator {
            t: zero,
            config: Config { fault: None, heartbeat, ..Config::default() },
            ranks,
            heard: vec![now; size],
            said: vec![now; size],
            distribution: None,
            stopped: false,
        }
    }

    /// A rank that fails says why and goes; a send that finds it gone before rank 0 read
    /// the reason must still end the job with that reason (this race once made the panic
    /// test flaky: rank 0's heartbeat to the gone rank won).
    #[test]
    fn a_send_to_a_rank_gone_after_failing_ends_the_job_with_its_reason() {
        let mut ends = crate::transport::local(4).into_iter();
        let (zero, one, two, three) = (ends.next().unwrap(), ends.next().unwrap(), ends.next().unwrap(), ends.next().unwrap());
        let mut c = coordinator(&zero, 4, Duration::from_secs(1));
        one.send(0, &Message::Heartbeat).unwrap();
        two.send(0, &Message::Failed("its compute thread panicked: boom".into())).unwrap();
        drop(two);
        assert_eq!(c.send(2, &Message::Heartbeat).unwrap_err().to_string(), "rank 2 on local-2: its compute thread panicked: boom");
        // A gone rank that said nothing: another rank's reason, if one failed ...
        three.send(0, &Message::Failed("could not read frame 7".into())).unwrap();
        drop(one);
        assert_eq!(c.send(1, &Message::Heartbeat).unwrap_err().to_string(), "rank 3 on local-3: could not read frame 7");
        // ... else the transport's word.
        assert_eq!(c.send(1, &Message::Heartbeat).unwrap_err().to_string(), "rank 1: is gone (its end of the channel was dropped)");
    }

    /// The other order: rank 0 reads the reason first, and a heartbeat to the gone rank
    /// falls due in the same round; the reason must end the job, not the closed channel.
    #[test]
    fn a_failure_read_before_a_heartbeat_to_the_gone_rank_ends_the_job_with_its_reason() {
        let mut ends = crate::transport::local(3).into_iter();
        let (zero, _one, two) = (ends.next().unwrap(), ends.next().unwrap(), ends.next().unwrap());
        let mut c = coordinator(&zero, 3, Duration::ZERO);
        two.send(0, &Message::Failed("its compute thread panicked: boom".into())).unwrap();
        drop(two);
        let (local, _tasks) = channel();
        let (_answers, done) = channel();
        let mut round = Round { c: &mut c, local: &local, done: &done, credits: VecDeque::new(), busy: vec![0; 3], next_task: 0 };
        assert_eq!(round.next().unwrap_err().to_string(), "rank 2 on local-2: its compute thread panicked: boom");
    }
}
