//! `trajwalk run`: the options turned into an [`Analysis`] and its sinks, and what a person
//! at a terminal is told on stderr while it runs.

use super::{Format, RunArgs};
use anyhow::{bail, Result};
use trajwalk::analysis::{End, Sink, Start};
use trajwalk::distributed::Config;
use trajwalk::output::h5::H5Results;
use trajwalk::output::staged::Destination;
use trajwalk::output::write_back::WriteBack;
use trajwalk::output::{FrameReport, Report, Style};
use trajwalk::plot::Plot;
use trajwalk::progress::{self, Progress};
use trajwalk::transport::{Message, Transport};

/// `trajwalk run`, alone or, with `ranks`, as rank 0 of a distributed job.
pub fn run(args: &RunArgs, interrupt: &super::Interrupt, ranks: Option<&dyn Transport>) -> Result<()> {
    let format = args.format()?;
    if format == Format::H5 && args.out.is_none() {
        bail!("--format h5 writes a file: give --out FILE.h5");
    }
    let mut plot = args.plot.as_deref().map(Plot::new).transpose()?;
    let mut analysis = args.analysis()?;
    let t = &analysis.job().trajectory;
    if args.write_back && t.format.name() != "wepy" {
        bail!("--write-back writes into a WepyHDF5 input, but {} is {}", t.path.display(), t.format.name());
    }
    let mut write_back = args.write_back.then(|| WriteBack::new(analysis.job())).transpose()?;
    if let Some(path) = &args.checkpoint {
        analysis = analysis.checkpoint(path, args.fresh);
    }
    analysis = analysis.stop_when(interrupt.stop.clone());
    let mut progress = Progress::new(progress::wanted(args.quiet));
    let mut report = match format {
        Format::Json => Some(Style::Json),
        Format::Csv => Some(Style::Csv),
        Format::Table => Some(Style::Table),
        Format::H5 => None,
    }
    .map(|style| Destination::open(args.out.as_deref()).map(|d| Report::new(d, style)))
    .transpose()?;
    let mut h5 = match (format, &args.out) {
        (Format::H5, Some(path)) => Some(H5Results::create(path)?),
        _ => None,
    };
    let mut console = Console { quiet: args.quiet, summary_on_stderr: format != Format::Table, empty: 0, warned: 0 };
    let mut sinks: Vec<&mut dyn Sink> = vec![&mut progress];
    sinks.extend(report.as_mut().map(|s| s as &mut dyn Sink));
    sinks.extend(h5.as_mut().map(|s| s as &mut dyn Sink));
    sinks.extend(plot.as_mut().map(|s| s as &mut dyn Sink));
    sinks.extend(write_back.as_mut().map(|s| s as &mut dyn Sink));
    sinks.push(&mut console);
    let outcome = match ranks {
        Some(t) => analysis.run_ranks(t, &Config::default(), &mut sinks),
        None => analysis.run(&mut sinks),
    };
    if let (Some(w), false) = (&write_back, args.quiet) {
        if w.datasets() > 0 {
            say!("wrote {} observable datasets of {} frames into {}", w.datasets(), w.frames(), analysis.job().trajectory.path.display());
        }
    }
    outcome?;
    Ok(())
}

/// Every rank but 0 of `mpirun trajwalk run ...`: the same options prepare the same job,
/// and the rank computes what rank 0 hands out; it writes nothing. A rank that cannot
/// prepare the job tells rank 0 why, so the job ends with the reason.
pub fn serve(args: &RunArgs, t: &dyn Transport) -> Result<()> {
    let analysis = match args.analysis() {
        Ok(a) => a,
        Err(e) => {
            let _ = t.send(0, &Message::Failed(format!("{e:#}")));
            return Err(e);
        }
    };
    analysis.serve(t, &Config::default())?;
    Ok(())
}

/// What the person running the command reads on stderr: where a checkpoint resumes, the
/// summary (unless the table report already holds it), and frames that missed their target.
struct Console {
    quiet: bool,
    summary_on_stderr: bool,
    /// Frames with a tally that had no hit.
    empty: usize,
    /// Warnings the frames' bodies carried.
    warned: usize,
}

/// Frames warned about one by one; past that, a count at the end.
const MAX_FRAME_WARNINGS: usize = 5;

impl Sink for Console {
    fn begin(&mut self, start: &Start) -> trajwalk::Result<()> {
        if !self.quiet {
            for note in &start.job.notes {
                say!("note: {note}");
            }
        }
        if let (Some(path), false) = (start.checkpoint, self.quiet) {
            let total = start.job.frames.len();
            say!(
                "checkpoint {}: {} of {total} selected frames already finished, {} to compute",
                path.display(),
                start.frames_stored,
                total - start.frames_stored
            );
            for (frame, error) in start.failed_before {
                say!("  frame {frame} failed last time ({error}); computing it again");
            }
            for frame in start.damaged_before {
                say!("  frame {frame}: its stored result is damaged (it fails its checksum); computing it again");
            }
        }
        Ok(())
    }

    fn frame(&mut self, f: &FrameReport) -> trajwalk::Result<()> {
        for w in &f.result.warnings {
            self.warned += 1;
            if self.warned <= MAX_FRAME_WARNINGS {
                say!("warning: frame {}: {w}", f.info.index);
            }
        }
        let empty = f.result.empty_tallies();
        if !empty.is_empty() {
            self.empty += 1;
            if self.empty <= MAX_FRAME_WARNINGS {
                say!(
                    "warning: frame {}: {}: what depends on it is 0 +- 0, which is no estimate (a body sparse in its launch sphere, or lengths in the wrong unit?); raise --walks / --interior",
                    f.info.index,
                    empty.join(", ")
                );
            }
        }
        Ok(())
    }

    fn finish(&mut self, end: &End) -> trajwalk::Result<()> {
        if self.summary_on_stderr && !self.quiet && !end.summary.is_empty() {
            say!("{}", end.summary.table(end.length_unit).trim_end());
        }
        if let (Some(v), false) = (end.footer.get("verification"), self.quiet) {
            say!("{}", verification_line(v));
        }
        if self.empty > MAX_FRAME_WARNINGS {
            say!("warning: {} frames in all had tallies with no hit", self.empty);
        }
        if self.warned > MAX_FRAME_WARNINGS {
            say!("warning: {} frame warnings in all; the first {MAX_FRAME_WARNINGS} are above", self.warned);
        }
        // Frames without a hit are never converged; the rest missed a target.
        let missed = end.unconverged.saturating_sub(self.empty);
        if missed > 0 {
            say!("warning: the target relative std was not reached within the walk cap in {missed} frame(s); raise --walks or --interior");
        }
        Ok(())
    }
}

/// `--verify` in one line, whatever the report's format: how many frames were recomputed with
/// the serial reference and whether they agree (a failure also ends the run with an error).
fn verification_line(v: &serde_json::Value) -> String {
    let checked = v["frames_checked"].as_u64().unwrap_or(0);
    let how = match v["max_z"].as_f64() {
        Some(z) => format!("agree within z <= {} (largest z {z:.2})", trajwalk::verify::MAX_Z),
        None => "are identical, bit for bit".to_string(),
    };
    match v["passed"].as_bool() {
        Some(true) => format!("verification: {checked} frame(s) recomputed with the serial reference {how}"),
        _ => {
            let w = &v["worst"];
            format!(
                "verification: {checked} frame(s) recomputed with the serial reference; frames {} differ (worst: frame {}, {}, {:e})",
                v["failed_frames"],
                w["frame"],
                w["quantity"].as_str().unwrap_or("?"),
                w["relative_difference"].as_f64().unwrap_or(f64::NAN)
            )
        }
    }
}
