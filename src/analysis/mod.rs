//! The whole run as one library call: open the input, settle the job, open or resume the
//! checkpoint, plan, run the frames with the chosen strategy, merge the frames the
//! checkpoint already holds in front of the computed ones, verify, summarise, and hand
//! every frame in frame order to the [`Sink`]s the caller attached. The command line, the
//! Python module and an MPI rank 0 are thin drivers of this one pipeline, so a behaviour
//! (a resumed run's bits, what a stopped run keeps) is the same whichever drives it.
//!
//! ```no_run
//! use trajwalk::analysis::{Analysis, Options};
//! use trajwalk::output::FrameReport;
//!
//! let analysis = Analysis::open("examples/two_spheres.bod", Options::default())?;
//! let completed = analysis.run(&mut [&mut |f: &FrameReport| {
//!     println!("frame {}: {} walks", f.info.index, f.result.walks);
//!     Ok(())
//! }])?;
//! println!("{} frames computed", completed.frames_computed);
//! # Ok::<(), trajwalk::Error>(())
//! ```

pub mod sink;

pub use sink::{End, Sink, Start};

use crate::checkpoint::{self, Checkpoint, Resume};
use crate::compute::FrameResult;
use crate::distributed::{self, Coordinator, RankLog};
use crate::error::{Error, Result};
use crate::exec::{self, GpuTarget, Kind, WorkerLog};
use crate::job::{Job, JobOptions};
use crate::output::summary::Summary;
use crate::output::FrameReport;
use crate::plan::{self, Candidate, Constraints, Plan};
use crate::radii::Radii;
use crate::trajectory::{FrameInfo, OpenOptions, Trajectory};
use crate::transport::Transport;
use crate::verify::{self, Verification};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How the frames are run. None of it changes a digit of a CPU result, only the speed.
#[derive(Clone, Debug, Default)]
pub struct Execution {
    /// A strategy to use; None lets the planner choose.
    pub strategy: Option<Kind>,
    /// Frames computed at once; None: the planner's.
    pub workers: Option<usize>,
    /// Threads per frame; None: the planner's.
    pub threads: Option<usize>,
    /// Part of the GPU adapter's name; None: the best adapter.
    pub gpu_adapter: Option<String>,
    /// Walks and samples per GPU submission; None: about a quarter second of the device.
    pub gpu_batch: Option<u64>,
    /// Only strategies predicted to fit in this many bytes.
    pub max_memory: Option<u64>,
    /// Cores to plan for; None: the cores this process may use. An MPI rank sharing a
    /// node, or a caller leaving cores to others, sets it.
    pub cores: Option<usize>,
}

/// Everything a run needs to know, with the defaults of the command line: every frame,
/// 1e6 walks and interior samples, Bondi radii by element, unwrapping on, the planner's
/// choice of strategy, no verification.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// How the input is opened: topology, group, wepy runs, length unit.
    pub open: OpenOptions,
    /// Which atoms with which radii, which frames, how many walks, under which conditions.
    pub job: JobOptions,
    /// How the frames are run.
    pub execution: Execution,
    /// Frames recomputed with the serial reference after the run and compared (0: none).
    pub verify: usize,
}

/// A run that is ready: the input opened and the job settled (selection, radii, frames),
/// so every mistake in the options is found before any walk.
pub struct Analysis {
    job: Job,
    options: Options,
    checkpoint: Option<(PathBuf, bool)>,
    stop: Option<Arc<AtomicBool>>,
    plan: Option<Plan>,
}

/// What a finished run reports beside its frames.
#[derive(Clone, Debug)]
pub struct Completed {
    /// The plan that ran, or None when the checkpoint held every frame.
    pub plan: Option<Plan>,
    /// Per worker, where each task of frames went and how long it took; in a distributed
    /// run, per rank.
    pub worker_tasks: Vec<WorkerLog>,
    /// The ranks of a distributed run (host, cores, local shape, tasks); empty otherwise.
    pub ranks: Vec<RankLog>,
    /// The comparison with the serial reference, when asked for.
    pub verification: Option<Verification>,
    /// Frames computed in this run.
    pub frames_computed: usize,
    /// Frames read back from the checkpoint.
    pub frames_from_checkpoint: usize,
    /// Frames whose target relative std was not reached within the walk cap.
    pub unconverged: usize,
    /// The summary over all frames delivered.
    pub summary: Summary,
}

/// One candidate of `plan --measure`: the planner's prediction beside the time it took.
#[derive(Clone, Debug, Serialize)]
pub struct Measured {
    /// The candidate as the planner priced it.
    #[serde(flatten)]
    pub candidate: Candidate,
    /// Seconds it took on the sample.
    pub measured_seconds: f64,
}

/// Every candidate run on a sample of frames: how good the planner's predictions are.
#[derive(Clone, Debug, Serialize)]
pub struct Measurement {
    /// Frames in the sample.
    pub frames: usize,
    /// Each candidate with its predicted and measured seconds.
    pub candidates: Vec<Measured>,
    /// The planner's choice for the sample.
    pub chosen: Shape,
    /// The chosen candidate's measured time over the best measured time (1 is perfect).
    pub regret: f64,
}

/// A strategy and its shape.
#[derive(Clone, Debug, Serialize)]
pub struct Shape {
    /// Which strategy.
    pub strategy: Kind,
    /// Frames at once.
    pub workers: usize,
    /// Threads per frame.
    pub threads: usize,
}

/// A run predicted shorter than this on the CPU is not worth looking for a GPU: finding
/// and probing one costs a good fraction of a second (and software Vulkan drivers talk on
/// stderr when asked).
const GPU_WORTH_SECONDS: f64 = 1.0;

impl Analysis {
    /// Opens `input` and settles the job; nothing is computed yet.
    pub fn open(input: impl AsRef<Path>, options: Options) -> Result<Analysis> {
        Analysis::open_all(&[input.as_ref().to_path_buf()], options)
    }

    /// Opens several inputs as one trajectory, in order (`md1.xtc md2.xtc`: frames are
    /// numbered across them, and a checkpoint belongs to all of them), and settles the job.
    pub fn open_all(inputs: &[PathBuf], options: Options) -> Result<Analysis> {
        let trajectory = Trajectory::open_all(inputs, &options.open)?;
        Analysis::from_trajectory(trajectory, options)
    }

    /// Settles the job on a trajectory opened otherwise (frames in memory,
    /// [`Trajectory::from_memory`]); `options.open` is not used.
    pub fn from_trajectory(trajectory: Trajectory, options: Options) -> Result<Analysis> {
        let job = Job::prepare(trajectory, &options.job)?;
        let analysis = Analysis { job, options, checkpoint: None, stop: None, plan: None };
        plan::check(&analysis.constraints())?;
        Ok(analysis)
    }

    /// Runs with `plan`, made earlier for frames like these (the first chunk of the same
    /// trajectory), instead of profiling frames again: a driver that hands over a long
    /// trajectory chunk by chunk plans once. Only the speed depends on the plan.
    pub fn with_plan(mut self, plan: Plan) -> Analysis {
        self.plan = Some(plan);
        self
    }

    /// Commits every finished frame to the SQLite file at `path` and, when it already holds
    /// frames of the same job, computes only the others; `fresh` empties it first. A
    /// checkpoint of another job is refused with the list of what differs.
    pub fn checkpoint(mut self, path: impl Into<PathBuf>, fresh: bool) -> Analysis {
        self.checkpoint = Some((path.into(), fresh));
        self
    }

    /// Stops the run when `flag` becomes true (a signal handler or Ctrl-C sets it): the
    /// frame that finishes next is committed to the checkpoint, the sinks finish with the
    /// frames delivered, and the run fails with [`Error::Interrupted`] inside
    /// [`Error::Stopped`] (or alone, before the first frame). Frames in flight finish first.
    pub fn stop_when(mut self, flag: Arc<AtomicBool>) -> Analysis {
        self.stop = Some(flag);
        self
    }

    /// The settled job: the trajectory, the selected atoms and radii, the frames.
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// What a person should know about how the options were taken (see
    /// [`Job::notes`]): the library never prints, so a driver shows them, as the command
    /// line does on stderr (`note: ...`) before the first frame.
    pub fn notes(&self) -> &[String] {
        &self.job.notes
    }

    /// The options the analysis was opened with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    fn constraints(&self) -> Constraints {
        let e = &self.options.execution;
        Constraints {
            gpu: Default::default(),
            strategy: e.strategy,
            workers: e.workers,
            threads: e.threads,
            max_memory: e.max_memory,
            cores: e.cores.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        }
    }

    /// The adapter asked for, before any plan sized its batches.
    fn adapter(&self) -> GpuTarget {
        GpuTarget { adapter: self.options.execution.gpu_adapter.clone(), items_per_batch: None }
    }

    fn gpu_target(&self, plan: &Plan) -> GpuTarget {
        GpuTarget {
            adapter: self.options.execution.gpu_adapter.clone(),
            items_per_batch: plan.gpu_cost.as_ref().map(|c| c.items_per_batch),
        }
    }

    /// Profiles a few frames and chooses how to run every frame, without running them.
    pub fn plan(&self) -> Result<Plan> {
        plan_job(&self.job, &self.options.execution, self.constraints(), false)
    }

    /// Runs every candidate of `plan` on a sample of frames (four per core, at least two)
    /// and reports measured against predicted seconds, and the planner's regret.
    pub fn measure(&self, plan: &Plan) -> Result<Measurement> {
        let mut c = self.constraints();
        c.gpu = plan::GpuOption { info: plan.gpu.clone(), cost: plan.gpu_cost.clone(), note: None };
        let mut sub = self.job.clone();
        sub.frames.truncate((4 * c.cores).max(2));
        let chosen = plan::choose(plan.profile.clone(), sub.frames.len(), self.job.max_chunk_frames(), &c)?;
        let mut candidates = vec![];
        for candidate in chosen.candidates.iter().cloned() {
            let strategy = exec::strategy(candidate.strategy, candidate.workers, candidate.threads, &self.gpu_target(plan))?;
            let started = std::time::Instant::now();
            strategy.run(&sub, candidate.chunk_frames, &mut |_, _| Ok(()))?;
            candidates.push(Measured { candidate, measured_seconds: started.elapsed().as_secs_f64() });
        }
        let best = candidates.iter().map(|m| m.measured_seconds).fold(f64::INFINITY, f64::min);
        let chosen_seconds = candidates
            .iter()
            .find(|m| m.candidate.workers == chosen.workers && m.candidate.threads == chosen.threads)
            .map_or(f64::NAN, |m| m.measured_seconds);
        Ok(Measurement {
            frames: sub.frames.len(),
            candidates,
            chosen: Shape { strategy: chosen.strategy, workers: chosen.workers, threads: chosen.threads },
            regret: chosen_seconds / best,
        })
    }

    /// The run's parameters as the JSON report records them.
    pub fn parameters(&self) -> Value {
        let (job, t, o) = (&self.job, &self.job.trajectory, &self.options.job);
        json!({
            "sampling": job.sampling,
            "launch": job.body.launch,
            "launch_radius": job.body.launch_radius,
            "skin_thickness": job.body.skin_thickness,
            "conditions": job.conditions,
            "format": t.format.name(),
            "selection": o.select,
            "atoms_selected": job.atoms.len(),
            "atoms_in_input": t.topology.len(),
            "radii": match &o.radii {
                Some(Radii::Uniform(r)) => json!({"uniform": r}),
                Some(Radii::PerAtom(r)) => json!({"per_atom": r.len()}),
                Some(Radii::Table { table, key }) => json!({"table": table.source, "key": key.name()}),
                None => json!({"table": "bondi", "key": "element"}),
            },
            "radius_scale": o.radius_scale,
            "radius_add": o.radius_add,
            "unwrap": job.unwrap,
            "frames_in_input": t.len(),
            "frames_selected": job.frames.len(),
        })
    }

    /// Refuses outputs (the sinks' files and the checkpoint) that are an input's file or one
    /// another's.
    fn check_outputs(&self, sinks: &[&mut dyn Sink]) -> Result<()> {
        let mut inputs = vec![("input", self.job.trajectory.path.as_path())];
        inputs.extend(self.options.open.topology.as_deref().map(|p| ("topology", p)));
        if let Some(Radii::Table { table, .. }) = &self.options.job.radii {
            inputs.extend(Some(Path::new(&table.source)).filter(|p| p.is_file()).map(|p| ("radii file", p)));
        }
        let mut outputs: Vec<(&str, &Path)> = sinks.iter().filter_map(|s| s.target()).map(|p| ("output", p)).collect();
        outputs.extend(self.checkpoint.as_ref().map(|(p, _)| ("checkpoint", p.as_path())));
        crate::output::staged::check_distinct(&inputs, &outputs)
    }

    /// Runs every selected frame, handing each to every sink in frame order.
    ///
    /// A frame that fails stops the run: the frames before it are still delivered and the
    /// sinks finished, so they are kept (and committed to the checkpoint, which records the
    /// failure), and the error says how many were written ([`Error::Stopped`]). A run that
    /// fails before its first frame finishes no sink. A failed verification finishes the
    /// sinks and then fails with [`Error::Verification`].
    pub fn run(&self, sinks: &mut [&mut dyn Sink]) -> Result<Completed> {
        self.run_on(sinks, None)
    }

    /// [`Analysis::run`] as rank 0 of a distributed job over `transport`: the other ranks
    /// (each in [`Analysis::serve`] with the same options) compute with it, and this rank
    /// alone opens the checkpoint, writes the sinks and reports. The frames and their bits
    /// are those of [`Analysis::run`]; a rank that disagrees, fails or falls silent ends the
    /// run with an [`Error::Rank`] naming it.
    pub fn run_ranks(&self, transport: &dyn Transport, config: &distributed::Config, sinks: &mut [&mut dyn Sink]) -> Result<Completed> {
        let mut coordinator = Coordinator::gather(transport, config, &self.job, &self.constraints(), &self.adapter())?;
        let outcome = self.run_on(sinks, Some(&mut coordinator));
        coordinator.stop();
        outcome
    }

    /// Every rank but 0 of a distributed job: computes what rank 0 hands out until it says
    /// stop. Nothing is written on this rank.
    pub fn serve(&self, transport: &dyn Transport, config: &distributed::Config) -> Result<()> {
        distributed::serve(transport, config, &self.job, &self.constraints(), &self.adapter())
    }

    fn run_on(&self, sinks: &mut [&mut dyn Sink], mut ranks: Option<&mut Coordinator>) -> Result<Completed> {
        let job = &self.job;
        let t = &job.trajectory;
        self.check_outputs(sinks)?;
        let (checkpoint, resume) = match &self.checkpoint {
            Some((path, fresh)) => {
                let (cp, resume) = Checkpoint::open(path, &checkpoint::identity(job)?, *fresh)?;
                (Some(cp), resume)
            }
            None => (None, Resume::default()),
        };
        let stored: HashSet<usize> = job.frames.iter().copied().filter(|&i| resume.finished.contains(&t.frames[i].key)).collect();
        let mut todo = job.clone();
        todo.frames.retain(|i| !stored.contains(i));
        // A frame that fails while the planner profiles it fails the run like any other,
        // after the stored frames before it are delivered.
        let (plan, planning_failed) = match todo.frames.is_empty() {
            true => (None, None),
            false => {
                match self.plan.clone().map_or_else(|| plan_job(&todo, &self.options.execution, self.constraints(), ranks.is_some()), Ok) {
                    Ok(p) => (Some(p), None),
                    Err(e) if checkpoint.is_some() => (None, Some(e)),
                    Err(e) => return Err(e),
                }
            }
        };
        let strategy = plan.as_ref().map(|p| exec::strategy(p.strategy, p.workers, p.threads, &self.gpu_target(p))).transpose()?;
        let spread = match (ranks.as_deref_mut(), &plan) {
            (Some(c), Some(p)) => format!("; {}", c.start(&todo, p, &self.constraints())?),
            _ => String::new(),
        };
        let headline = match (&plan, &planning_failed) {
            (Some(p), _) => format!("plan: {} ({} x {}): {}{spread}", p.strategy.name(), p.workers, p.threads, p.reason),
            (None, Some(e)) => format!("plan: failed: {e}"),
            (None, None) => "plan: none: every selected frame is in the checkpoint".into(),
        };
        let parameters = self.parameters();
        let start = Start {
            job,
            parameters: &parameters,
            plan: plan.as_ref(),
            headline: &headline,
            checkpoint: self.checkpoint.as_ref().map(|(p, _)| p.as_path()),
            frames_stored: stored.len(),
            failed_before: &resume.failed,
            damaged_before: &resume.damaged,
        };
        for s in sinks.iter_mut() {
            s.begin(&start)?;
        }
        let mut delivery = Delivery {
            job,
            sinks,
            stored: &stored,
            checkpoint: checkpoint.as_ref(),
            stop: self.stop.as_deref(),
            cursor: 0,
            summary: Summary::default(),
            to_verify: verify::sample(&job.frames, self.options.verify).into_iter().collect(),
            kept: BTreeMap::new(),
            frames: 0,
            unconverged: 0,
        };
        let mut computed = 0usize;
        let mut sink_failed = false;
        let mut sink = |info: &FrameInfo, result| {
            let step = delivery.computed(info.index, result);
            sink_failed = step.is_err();
            computed += usize::from(step.is_ok());
            step
        };
        let constraints = self.constraints();
        let outcome = match (&strategy, &plan, ranks.as_deref_mut()) {
            (_, Some(p), Some(c)) => c.run(&todo, p, &constraints, &self.adapter(), &mut sink),
            (Some(s), Some(p), None) => s.run(&todo, p.chunk_frames, &mut sink),
            _ => planning_failed.map_or(Ok(vec![]), Err),
        };
        // After a failure, the stored frames before the failed one are still delivered.
        let upto = if outcome.is_ok() { None } else { todo.frames.get(computed).copied() };
        let flushed = if sink_failed { Ok(()) } else { delivery.stored_until(upto) };
        let outcome = outcome.and_then(|logs| flushed.map(|()| logs));
        if let (Err(e), Some(cp), false, true) = (&outcome, &checkpoint, sink_failed, plan.is_some()) {
            if let Some(&frame) = todo.frames.get(computed) {
                cp.record_failure(&t.frames[frame], &e.to_string())?;
            }
        }
        let outcome = match (outcome, delivery.frames) {
            (Err(e), 0) => return Err(e),
            (outcome, _) => outcome,
        };
        let verification = match (&outcome, delivery.kept.is_empty()) {
            (Ok(_), false) => Some(verify::verify(job, &delivery.kept, plan.as_ref().is_some_and(|p| p.strategy == Kind::Gpu))?),
            _ => None,
        };
        let worker_tasks = outcome.as_ref().map_or_else(|_| vec![], Clone::clone);
        let mut footer = Map::new();
        let mut plan_json = serde_json::to_value(&plan).expect("a plan serialises");
        if let (Ok(_), false) = (&outcome, plan_json.is_null()) {
            plan_json["worker_tasks"] = json!(worker_tasks);
        }
        let rank_logs = ranks.as_ref().map_or(vec![], |c| c.ranks().to_vec());
        if let (Some(c), false) = (&ranks, plan_json.is_null()) {
            plan_json["ranks"] = json!(rank_logs);
            plan_json["distribution"] = json!(c.distribution());
        }
        footer.insert("plan".into(), plan_json);
        if let Some(v) = &verification {
            footer.insert("verification".into(), json!(v));
        }
        let written = delivery.frames;
        footer.insert("frames_computed".into(), json!(computed));
        footer.insert("frames_from_checkpoint".into(), json!(written - computed));
        footer.insert("summary".into(), delivery.summary.json(&t.length_unit.name));
        footer.insert("peak_memory_bytes".into(), json!(plan::process_memory_bytes("VmHWM")));
        let end = End {
            footer: &footer,
            summary: &delivery.summary,
            length_unit: &t.length_unit.name,
            frames: written,
            unconverged: delivery.unconverged,
            complete: outcome.is_ok(),
        };
        for s in delivery.sinks.iter_mut() {
            s.finish(&end)?;
        }
        if let Err(e) = outcome {
            return Err(Error::Stopped { written, total: job.frames.len(), checkpointed: checkpoint.is_some(), error: Box::new(e) });
        }
        if let Some(v) = verification.as_ref().filter(|v| !v.passed) {
            let w = v.worst.as_ref().expect("a failed verification has a worst difference");
            return Err(Error::Verification(format!(
                "frames {:?} differ from the serial reference (worst: frame {}, {}, relative difference {:e})",
                v.failed_frames, w.frame, w.quantity, w.relative_difference
            )));
        }
        Ok(Completed {
            plan,
            worker_tasks,
            ranks: rank_logs,
            verification,
            frames_computed: computed,
            frames_from_checkpoint: written - computed,
            unconverged: delivery.unconverged,
            summary: delivery.summary,
        })
    }
}

/// Profiles the job and chooses a plan, looking at the GPU when asked for or, under `auto`,
/// when the run is long enough for it to matter. A distributed run (`distributed`) uses
/// GPUs only when asked for: its ranks plan their own CPUs otherwise, since GPU and CPU
/// frames differ in their last bits and which rank runs which frame depends on timing.
fn plan_job(job: &Job, e: &Execution, mut c: Constraints, distributed: bool) -> Result<Plan> {
    let profile = plan::profile(job, c.cores)?;
    let choose = |c: &Constraints| plan::choose(profile.clone(), job.frames.len(), job.max_chunk_frames(), c);
    let adapter = e.gpu_adapter.as_deref();
    match e.strategy {
        Some(Kind::Gpu) => c.gpu = exec::gpu::option(job, adapter, true),
        None if distributed => {
            c.gpu.note = Some(
                "a job over several ranks walks on GPUs only with --strategy gpu, as GPU and CPU frames differ in their last bits and which rank runs which frame depends on timing".into(),
            )
        }
        _ if distributed => {}
        None if e.workers.is_none_or(|w| w == 1) && e.threads.is_none_or(|t| t == 1) => {
            let cpu = choose(&c)?;
            if cpu.predicted_seconds() < GPU_WORTH_SECONDS {
                c.gpu.note =
                    Some(format!("the run is predicted to take {:.2} s on the CPU, too short to look for one", cpu.predicted_seconds()));
            } else {
                c.gpu = exec::gpu::option(job, adapter, false);
            }
        }
        _ => {}
    }
    if let (Some(cost), Some(n)) = (c.gpu.cost.as_mut(), e.gpu_batch) {
        cost.items_per_batch = n;
    }
    choose(&c)
}

/// Walks the job's frames in order, handing the sinks each frame the checkpoint holds
/// before the next computed one, and keeping what the run reports at the end.
struct Delivery<'a, 's> {
    job: &'a Job,
    sinks: &'a mut [&'s mut dyn Sink],
    stored: &'a HashSet<usize>,
    checkpoint: Option<&'a Checkpoint>,
    stop: Option<&'a AtomicBool>,
    /// Position in `job.frames` of the next frame to deliver.
    cursor: usize,
    summary: Summary,
    to_verify: BTreeSet<usize>,
    kept: BTreeMap<usize, FrameResult>,
    frames: usize,
    unconverged: usize,
}

impl Delivery<'_, '_> {
    /// A computed frame: the stored frames before it, then it, committed first.
    fn computed(&mut self, index: usize, result: FrameResult) -> Result<()> {
        self.stored_until(Some(index))?;
        let info = &self.job.trajectory.frames[index];
        if let Some(cp) = self.checkpoint {
            cp.record(info, &result)?;
        }
        if self.stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
            return Err(Error::Interrupted);
        }
        self.deliver(index, result, false)
    }

    /// Delivers the stored frames up to frame `index` (to the first unfinished frame when None).
    fn stored_until(&mut self, index: Option<usize>) -> Result<()> {
        while let Some(&frame) = self.job.frames.get(self.cursor) {
            if Some(frame) == index || !self.stored.contains(&frame) {
                break;
            }
            let key = self.job.trajectory.frames[frame].key;
            let result = self.checkpoint.expect("stored frames come from a checkpoint").load(key)?;
            self.deliver(frame, result, true)?;
        }
        Ok(())
    }

    fn deliver(&mut self, index: usize, result: FrameResult, from_checkpoint: bool) -> Result<()> {
        let t = &self.job.trajectory;
        let report = FrameReport {
            info: &t.frames[index],
            length_unit: &t.length_unit,
            time_unit: t.time_unit.as_deref(),
            spheres: self.job.atoms.len(),
            result: &result,
            from_checkpoint,
        };
        for s in self.sinks.iter_mut() {
            s.frame(&report)?;
        }
        self.cursor += 1;
        self.summary.add(&result);
        self.frames += 1;
        self.unconverged += usize::from(!result.converged);
        if self.to_verify.contains(&index) {
            self.kept.insert(index, result);
        }
        Ok(())
    }
}
