//! `trajwalk run`: plan, compute and write every selected frame, resuming from a checkpoint.
//!
//! Frames reach the outputs in frame order whatever the strategy: the frames a checkpoint
//! already holds are merged in, read back bit for bit, in front of the computed frames that
//! follow them, so a resumed run writes exactly what an uninterrupted one would.

use super::{make_plan, prepare, Format, RunArgs};
use anyhow::{bail, Context as _, Result};
use clap::ValueEnum;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use trajwalk::checkpoint::{self, Checkpoint};
use trajwalk::compute::FrameResult;
use trajwalk::estimate::{Estimate, Quantity};
use trajwalk::exec;
use trajwalk::io::wepy;
use trajwalk::job::Job;
use trajwalk::output::h5::H5Results;
use trajwalk::output::summary::Summary;
use trajwalk::output::{self, FrameReport, Style};
use trajwalk::plan;
use trajwalk::plot::{self, Series};
use trajwalk::progress::{self, Progress};
use trajwalk::trajectory::{FrameInfo, WepyLabel};
use trajwalk::verify;

/// The observables plotted: the ones that follow a molecule's conformation.
const PLOTTED: [Quantity; 4] = [Quantity::HydrodynamicRadius, Quantity::IntrinsicViscosity, Quantity::RadiusOfGyration, Quantity::Volume];

pub fn run(args: &RunArgs) -> Result<()> {
    let format = args.format();
    if format == Format::H5 && args.out.is_none() {
        bail!("--format h5 writes a file: give --out FILE.h5");
    }
    if let Some(p) = &args.plot {
        plot::check_path(p)?;
    }
    let job = prepare(args)?;
    let t = &job.trajectory;
    if args.write_back && t.format.name() != "wepy" {
        bail!("--write-back writes into a WepyHDF5 input, but {} is {}", args.input.display(), t.format.name());
    }
    let (checkpoint, resume) = match &args.checkpoint {
        Some(path) => {
            let (cp, resume) = Checkpoint::open(path, &checkpoint::identity(&job)?, args.fresh)?;
            (Some(cp), resume)
        }
        None => (None, checkpoint::Resume::default()),
    };
    let stored: HashSet<usize> = job.frames.iter().copied().filter(|&i| resume.finished.contains(&t.frames[i].key)).collect();
    let mut todo = job.clone();
    todo.frames.retain(|i| !stored.contains(i));
    if let Some(path) = &args.checkpoint {
        if !args.quiet {
            eprintln!(
                "checkpoint {}: {} of {} selected frames already finished, {} to compute",
                path.display(),
                stored.len(),
                job.frames.len(),
                todo.frames.len()
            );
            for (frame, error) in &resume.failed {
                eprintln!("  frame {frame} failed last time ({error}); computing it again");
            }
        }
    }
    // A frame that fails while the planner profiles it fails the run like any other, after
    // the stored frames before it are written.
    let (plan, planning_failed) = match todo.frames.is_empty() {
        true => (None, None),
        false => match make_plan(&todo, args) {
            Ok(p) => (Some(p), None),
            Err(e) if args.checkpoint.is_some() => (None, Some(e)),
            Err(e) => return Err(e.into()),
        },
    };
    let strategy = plan
        .as_ref()
        .map(|p| exec::strategy(p.strategy, p.workers, p.threads, &super::gpu_target(args, p.gpu_cost.as_ref())))
        .transpose()?;
    let headline = match (&plan, &planning_failed) {
        (Some(p), _) => format!("plan: {} ({} x {}): {}", p.strategy.name(), p.workers, p.threads, p.reason),
        (None, Some(e)) => format!("plan: failed: {e}"),
        (None, None) => "plan: none: every selected frame is in the checkpoint".into(),
    };
    let mut outputs = Outputs::open(args, format, &job, &headline)?;
    let show = progress::wanted(args.quiet);
    let strategy_name = plan.as_ref().map_or("checkpoint", |p| p.strategy.name());
    let mut progress = Progress::new(job.frames.len() as u64, stored.len() as u64, strategy_name, show);
    let mut merge = Merge { job: &job, stored: &stored, checkpoint: checkpoint.as_ref(), cursor: 0 };
    let mut computed = 0usize;
    let mut sink_failed = false;
    let outcome = match (&strategy, &plan) {
        (Some(s), Some(p)) => s.run(&todo, p.chunk_frames, &mut |info, result| {
            let step = (|| {
                merge.until(&mut outputs, Some(info.index))?;
                if let Some(cp) = &checkpoint {
                    cp.record(info, &result)?;
                }
                progress.frame(result.walks);
                outputs.emit(info, result)?;
                merge.cursor += 1;
                Ok(())
            })();
            sink_failed = step.is_err();
            computed += usize::from(step.is_ok());
            step
        }),
        _ => planning_failed.map_or(Ok(vec![]), Err),
    };
    progress.finish();
    // After a failure, the stored frames before the failed one are still written.
    let upto = if outcome.is_ok() { None } else { todo.frames.get(computed).copied() };
    let flushed = if sink_failed { Ok(()) } else { merge.until(&mut outputs, upto) };
    let outcome = outcome.and_then(|logs| flushed.map(|()| logs));
    if let (Err(e), Some(cp), false, true) = (&outcome, &checkpoint, sink_failed, plan.is_some()) {
        if let Some(&frame) = todo.frames.get(computed) {
            cp.record_failure(&t.frames[frame], &e.to_string())?;
        }
    }
    if let (Err(e), 0) = (&outcome, outputs.frames) {
        return Err(anyhow::anyhow!("{e}"));
    }
    let verification = match (&outcome, outputs.kept.is_empty()) {
        (Ok(_), false) => Some(verify::verify(&job, &outputs.kept, plan.as_ref().is_some_and(|p| p.strategy == exec::Kind::Gpu))?),
        _ => None,
    };
    let mut footer = serde_json::Map::new();
    let mut plan_json = serde_json::to_value(&plan)?;
    if let (Ok(logs), false) = (&outcome, plan_json.is_null()) {
        plan_json["worker_tasks"] = json!(logs);
    }
    footer.insert("plan".into(), plan_json);
    if let Some(v) = &verification {
        footer.insert("verification".into(), json!(v));
    }
    footer.insert("frames_computed".into(), json!(computed));
    footer.insert("frames_from_checkpoint".into(), json!(outputs.frames - computed));
    footer.insert("summary".into(), outputs.summary.json(&t.length_unit.name));
    footer.insert("peak_memory_bytes".into(), json!(plan::process_memory_bytes("VmHWM")));
    let (unconverged, written) = (outputs.unconverged, outputs.frames);
    outputs.finish(args, &job, &footer)?;
    if unconverged > 0 {
        eprintln!(
            "warning: the target relative std was not reached within the walk cap in {unconverged} frame(s); raise --walks or --interior"
        );
    }
    outcome.with_context(|| {
        let kept = if checkpoint.is_some() { ", and committed to the checkpoint" } else { "" };
        format!("stopped after {written} of {} frames; the {written} finished were written{kept}", job.frames.len())
    })?;
    if let Some(v) = verification.filter(|v| !v.passed) {
        let w = v.worst.expect("a failed verification has a worst difference");
        bail!(
            "verification failed: frames {:?} differ from the serial reference (worst: frame {}, {}, relative difference {:e})",
            v.failed_frames,
            w.frame,
            w.quantity,
            w.relative_difference
        );
    }
    Ok(())
}

/// Walks the job's frames in order, handing the outputs each frame the checkpoint holds
/// before the next computed one.
struct Merge<'a> {
    job: &'a Job,
    stored: &'a HashSet<usize>,
    checkpoint: Option<&'a Checkpoint>,
    /// Position in `job.frames` of the next frame to write.
    cursor: usize,
}

impl Merge<'_> {
    /// Writes the stored frames up to frame `index` (to the first unfinished frame when None).
    fn until(&mut self, outputs: &mut Outputs, index: Option<usize>) -> trajwalk::Result<()> {
        while let Some(&frame) = self.job.frames.get(self.cursor) {
            if Some(frame) == index || !self.stored.contains(&frame) {
                break;
            }
            let info = &self.job.trajectory.frames[frame];
            let result = self.checkpoint.expect("stored frames come from a checkpoint").load(info.key)?;
            outputs.emit(info, result)?;
            self.cursor += 1;
        }
        Ok(())
    }
}

/// Everything a finished frame goes to: the text or JSON report, the .h5 file, the summary,
/// the plot's series, the write-back rows and the frames kept for verification.
struct Outputs {
    report: Option<output::Report<Destination>>,
    h5: Option<(H5Results, Staged)>,
    summary: Summary,
    plot: Option<Vec<Series>>,
    x_is_time: bool,
    write_back: Option<Vec<(WepyLabel, Vec<Estimate>)>>,
    to_verify: BTreeSet<usize>,
    kept: BTreeMap<usize, FrameResult>,
    frames: usize,
    unconverged: usize,
    length_unit: trajwalk::units::LengthUnit,
    time_unit: Option<String>,
    spheres: usize,
    out_name: PathBuf,
}

impl Outputs {
    fn open(args: &RunArgs, format: Format, job: &Job, headline: &str) -> Result<Outputs> {
        let t = &job.trajectory;
        let style = match format {
            Format::Json => Some(Style::Json),
            Format::Csv => Some(Style::Csv),
            Format::Table => Some(Style::Table),
            Format::H5 => None,
        };
        let report = match style {
            Some(style) => {
                let destination = Destination::open(args.out.as_deref())?;
                Some(output::Report::begin(destination, style, &args.input.display().to_string(), parameters(args, job), headline)?)
            }
            None => None,
        };
        let h5 = match (format, &args.out) {
            (Format::H5, Some(path)) => {
                let staged = Staged::new(path)?;
                let file = H5Results::create(&staged.tmp).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                Some((file, staged))
            }
            _ => None,
        };
        let x_is_time = job.frames.first().is_some_and(|&i| t.frames[i].time.is_some());
        let plot = args.plot.as_ref().map(|_| {
            PLOTTED
                .iter()
                .map(|q| Series { title: q.name().replace('_', " "), unit: q.unit(&t.length_unit.name), points: vec![] })
                .collect()
        });
        Ok(Outputs {
            report,
            h5,
            summary: Summary::default(),
            plot,
            x_is_time,
            write_back: args.write_back.then(Vec::new),
            to_verify: verify::sample(&job.frames, args.verify).into_iter().collect(),
            kept: BTreeMap::new(),
            frames: 0,
            unconverged: 0,
            length_unit: t.length_unit.clone(),
            time_unit: t.time_unit.clone(),
            spheres: job.atoms.len(),
            out_name: args.out.clone().unwrap_or_else(|| "stdout".into()),
        })
    }

    fn emit(&mut self, info: &FrameInfo, result: FrameResult) -> trajwalk::Result<()> {
        let frame = FrameReport {
            info,
            length_unit: &self.length_unit,
            time_unit: self.time_unit.as_deref(),
            spheres: self.spheres,
            result: &result,
        };
        if let Some(r) = &mut self.report {
            r.frame(&frame).map_err(|error| trajwalk::Error::Io { path: self.out_name.clone(), error })?;
        }
        if let Some((h5, _)) = &mut self.h5 {
            h5.frame(&frame).map_err(|e| trajwalk::Error::Output { path: self.out_name.clone(), message: e.to_string() })?;
        }
        self.summary.add(&result);
        if let Some(series) = &mut self.plot {
            let x = if self.x_is_time { info.time.unwrap_or(f64::NAN) } else { info.index as f64 };
            for (s, q) in series.iter_mut().zip(PLOTTED) {
                if let Some(e) = result.get(q) {
                    s.points.push((x, e.value[0], e.std[0]));
                }
            }
        }
        if let (Some(rows), Some(label)) = (&mut self.write_back, info.wepy) {
            rows.push((label, result.estimates.clone()));
        }
        self.frames += 1;
        self.unconverged += usize::from(!result.converged);
        if self.to_verify.contains(&info.index) {
            self.kept.insert(info.index, result);
        }
        Ok(())
    }

    /// Closes every output; files appear under their names only now, each complete.
    fn finish(self, args: &RunArgs, job: &Job, footer: &serde_json::Map<String, serde_json::Value>) -> Result<()> {
        let table = self.summary.table(&self.length_unit.name);
        let summary_in_report = matches!(args.format(), Format::Table);
        if let Some(report) = self.report {
            let mut destination = report.finish(footer)?;
            if summary_in_report && !self.summary.is_empty() {
                destination.write_all(table.as_bytes())?;
            }
            destination.commit()?;
        }
        if let Some((h5, staged)) = self.h5 {
            h5.finish().map_err(|e| anyhow::anyhow!("cannot write {}: {e}", staged.path.display()))?;
            staged.commit()?;
        }
        if !summary_in_report && !args.quiet && !self.summary.is_empty() {
            eprint!("{table}");
        }
        if let (Some(series), Some(path)) = (&self.plot, &args.plot) {
            let x_label = match (&self.x_is_time, &self.time_unit) {
                (true, Some(u)) => format!("time [{u}]"),
                (true, None) => "time".into(),
                (false, _) => "frame".into(),
            };
            plot::observables(path, &x_label, series)?;
        }
        if let Some(rows) = &self.write_back {
            let n = wepy::write_back(&job.trajectory.path, &self.length_unit.name, rows)?;
            if !args.quiet {
                eprintln!("wrote {n} observable datasets of {} frames into {}", rows.len(), job.trajectory.path.display());
            }
        }
        Ok(())
    }
}

/// The run's parameters as the JSON document records them.
fn parameters(args: &RunArgs, job: &Job) -> serde_json::Value {
    let t = &job.trajectory;
    json!({
        "sampling": job.sampling,
        "launch": job.body.launch,
        "launch_radius": job.body.launch_radius,
        "skin_thickness": job.body.skin_thickness,
        "conditions": job.conditions,
        "format": t.format.name(),
        "selection": args.select,
        "atoms_selected": job.atoms.len(),
        "atoms_in_input": t.topology.len(),
        "radii": radii_description(args),
        "radius_scale": args.radius_scale,
        "unwrap": job.unwrap,
        "frames_in_input": t.len(),
        "frames_selected": job.frames.len(),
    })
}

fn radii_description(args: &RunArgs) -> serde_json::Value {
    match (&args.radii, args.radius) {
        (_, Some(r)) => json!({"uniform": r}),
        (Some(spec), None) => json!({"table": spec, "key": args.radii_key.to_possible_value().unwrap().get_name()}),
        (None, None) => json!({"table": "bondi", "key": "element"}),
    }
}

/// A file written under a temporary name in its directory and renamed into place by
/// `commit`, so a reader never sees a half-written result; dropped uncommitted (an error
/// before any frame), the temporary file is removed.
struct Staged {
    path: PathBuf,
    tmp: PathBuf,
    committed: bool,
}

impl Staged {
    fn new(path: &Path) -> Result<Staged> {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = path.file_name().with_context(|| format!("{} is not a file name", path.display()))?;
        let ext = path.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
        let tmp = dir.join(format!(".{}.tmp{}{ext}", name.to_string_lossy(), std::process::id()));
        Ok(Staged { path: path.into(), tmp, committed: false })
    }

    fn commit(mut self) -> Result<()> {
        std::fs::rename(&self.tmp, &self.path).with_context(|| format!("cannot write {}", self.path.display()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Where the report goes: standard output, or a staged file (also committed when a run stops
/// early, so the frames it finished are kept).
enum Destination {
    Stdout(std::io::BufWriter<std::io::StdoutLock<'static>>),
    File { staged: Staged, file: std::io::BufWriter<std::fs::File> },
}

impl Destination {
    fn open(out: Option<&Path>) -> Result<Destination> {
        let Some(path) = out else { return Ok(Destination::Stdout(std::io::BufWriter::new(std::io::stdout().lock()))) };
        let staged = Staged::new(path)?;
        let file = std::fs::File::create(&staged.tmp).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Destination::File { staged, file: std::io::BufWriter::new(file) })
    }

    fn commit(self) -> Result<()> {
        match self {
            Destination::Stdout(mut w) => Ok(w.flush()?),
            Destination::File { staged, file } => {
                file.into_inner()
                    .map_err(|e| e.into_error())
                    .and_then(|f| f.sync_all())
                    .with_context(|| format!("cannot write {}", staged.path.display()))?;
                staged.commit()
            }
        }
    }
}

impl Write for Destination {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Destination::Stdout(w) => w.write(buf),
            Destination::File { file, .. } => file.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Destination::Stdout(w) => w.flush(),
            Destination::File { file, .. } => file.flush(),
        }
    }
}
