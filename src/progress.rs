//! The progress bar on stderr: frames done of the total, walks per second, the ETA and
//! the strategy, updated from the sink that receives frames in order, so it works the same
//! for every strategy. Hidden when stderr is not a terminal (a batch job's log stays clean)
//! or with `--quiet`.

use crate::analysis::sink::{End, Sink, Start};
use crate::error::Result;
use crate::output::FrameReport;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

/// The bar, a sink of the run's frames: it counts the frames computed (those read back
/// from a checkpoint are done before it starts) and their walks per second.
pub struct Progress {
    show: bool,
    bar: Option<ProgressBar>,
    started: Instant,
    walks: u64,
}

/// Whether a bar is drawn: only for a person at a terminal.
pub fn wanted(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

impl Progress {
    /// A bar drawn on stderr when `show`, else kept hidden (the run is the same either way).
    pub fn new(show: bool) -> Progress {
        Progress { show, bar: None, started: Instant::now(), walks: 0 }
    }
}

impl Sink for Progress {
    fn begin(&mut self, start: &Start) -> Result<()> {
        let target = if self.show { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let bar = ProgressBar::with_draw_target(Some(start.job.frames.len() as u64), target);
        bar.set_style(
            ProgressStyle::with_template("[{bar:30}] {pos}/{len} frames  {msg}  ETA {eta}  ({prefix})")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        // Labelled, so that "frames" reads as the strategy, not a count.
        bar.set_prefix(match start.plan {
            Some(p) => format!("strategy {} {} x {}", p.strategy.name(), p.workers, p.threads),
            None => "from the checkpoint".into(),
        });
        bar.set_position(start.frames_stored as u64);
        bar.reset_eta();
        self.bar = Some(bar);
        self.started = Instant::now();
        Ok(())
    }

    fn frame(&mut self, f: &FrameReport) -> Result<()> {
        if let (Some(bar), false) = (&self.bar, f.from_checkpoint) {
            self.walks += f.result.walks;
            let rate = self.walks as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("{:.3e} walks/s", rate));
            bar.inc(1);
        }
        Ok(())
    }

    fn finish(&mut self, _end: &End) -> Result<()> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        Ok(())
    }
}

/// A run that fails before its first frame never finishes its sinks: the bar is cleared
/// anyway, so the error is not printed under a stale bar.
impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
