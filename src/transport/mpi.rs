//! The transport over MPI (rsmpi): each message one MPI message of bytes on the world
//! communicator. Only the thread that initialised MPI calls it (the compute runs on other
//! threads), so `MPI_THREAD_FUNNELED` is all it asks for; the one exception is the panic
//! hook's `MPI_Abort`.

use super::{decode, Message, Transport};
use crate::error::{Error, Result};
use mpi::environment::Universe;
use mpi::request::StaticScope;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use std::cell::Cell;
use std::time::{Duration, Instant};

/// This process's place in an MPI job; MPI is finalised when it is dropped.
pub struct Mpi {
    world: SimpleCommunicator,
    host: String,
    /// How long a send may wait for its receiver to take it.
    send_timeout: Duration,
    /// Set once a send timed out: the job is ending, and the next sends fail at once
    /// rather than each waiting again.
    failed: Cell<bool>,
    // Dropped last: finalises MPI after the communicator is gone.
    _universe: Universe,
}

/// Pause between two looks for a message: short beside a task (a rank keeps a second task
/// in hand, so it never waits for the first's answer), long enough that looking costs little
/// (each look runs MPI's progress engine, each pause a wake-up: at 1 ms, rank 0 and one
/// other used 5-9% more CPU than one process on the same job, at 4 ms 4%).
const POLL: Duration = Duration::from_millis(4);
/// How long a send only yields the core before it sleeps: a small send completes at once.
const SPIN: Duration = Duration::from_micros(50);

/// Waits a little before the next look, `started` being when the wait began; sends
/// (`spin`) first only yield.
fn pause(started: Instant, deadline: Instant, spin: bool) {
    let now = Instant::now();
    if spin && now.duration_since(started) < SPIN {
        std::thread::yield_now();
    } else {
        std::thread::sleep(POLL.min(deadline.saturating_duration_since(now)));
    }
}

impl Mpi {
    /// Initialises MPI; None when this process was not started by mpirun or srun as one of
    /// several ranks (then it runs as a plain process). A panic on any rank from here on
    /// aborts the whole job, so no rank is left waiting for it.
    pub fn init() -> Option<Mpi> {
        // A plain run must not even try: initialising MPI outside mpirun starts a singleton
        // runtime, which is slow and talks on stderr on some machines.
        let launched = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_STEP_NUM_TASKS"].iter().any(|v| {
            std::env::var(v).ok().and_then(|s| s.parse::<usize>().ok()).is_some_and(|n| n > 0)
                || v == &"PMIX_RANK" && std::env::var_os(v).is_some()
        });
        if !launched {
            return None;
        }
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Funneled)?;
        let world = universe.world();
        if world.size() < 2 {
            return None;
        }
        let host = mpi::environment::processor_name().unwrap_or_else(|_| "?".into());
        let (rank, on) = (world.rank(), host.clone());
        let previous = std::panic::take_hook();
        // MPI_Abort from whichever thread panicked: MPI promises nothing under FUNNELED,
        // OpenMPI ends the job from any thread (tests/mpi.rs panics a compute thread).
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            eprintln!("error: rank {rank} on {on}: a thread panicked; aborting every rank of the job");
            SimpleCommunicator::world().abort(101);
        }));
        let send_timeout = crate::distributed::Config::default().timeout;
        Some(Mpi { world, host, send_timeout, failed: Cell::new(false), _universe: universe })
    }

    /// Ends every rank of the job at once, with `code`.
    pub fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }
}

impl Transport for Mpi {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }
    fn size(&self) -> usize {
        self.world.size() as usize
    }
    fn host(&self) -> String {
        self.host.clone()
    }
    /// A non-blocking send, waited for at most the send timeout: a blocking one waits
    /// forever on a rank that stopped (OpenMPI's first message to a peer, or one past the
    /// eager limit, needs the receiver to take part).
    fn send(&self, to: usize, message: &Message) -> Result<()> {
        let refused = |message: String| Error::Rank { rank: to, host: String::new(), message };
        let rank = i32::try_from(to).map_err(|_| refused("no such rank".into()))?;
        if self.failed.get() {
            return Err(refused("was not sent to: the job is ending after a rank stopped taking messages".into()));
        }
        // MPI reads the buffer until the send completes, so it lives on the heap, apart from
        // any borrow, and is freed only once the request is done.
        let buffer: &'static [u8] = Box::leak(message.encode().into_boxed_slice());
        let mut request = self.world.process_at_rank(rank).immediate_send(StaticScope, buffer);
        let started = Instant::now();
        let deadline = started + self.send_timeout;
        loop {
            match request.test() {
                Ok(_) => {
                    // SAFETY: the buffer came from Box::leak above, MPI has finished with it
                    // (the request completed) and no other reference to it remains.
                    drop(unsafe { Box::from_raw(buffer as *const [u8] as *mut [u8]) });
                    return Ok(());
                }
                Err(pending) if Instant::now() < deadline => {
                    request = pending;
                    pause(started, deadline, true);
                }
                Err(pending) => {
                    // The job ends now; the pending send and its buffer go with the process.
                    std::mem::forget(pending);
                    self.failed.set(true);
                    return Err(refused(format!(
                        "took no message for {:.0} s: it died, hangs or lost its network, so the job is stopped (run the same command again to resume from the checkpoint)",
                        self.send_timeout.as_secs_f64()
                    )));
                }
            }
        }
    }
    fn recv(&self, timeout: Duration) -> Result<Option<(usize, Message)>> {
        let started = Instant::now();
        let deadline = started + timeout;
        loop {
            if let Some(probed) = self.world.any_process().immediate_matched_probe() {
                let (bytes, status) = probed.matched_receive_vec::<u8>();
                let from = status.source_rank() as usize;
                return decode(from, &bytes).map(|m| Some((from, m)));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            pause(started, deadline, false);
        }
    }
}
