//! The progress bar on stderr: frames done of the total, walks per second, the ETA and
//! the strategy, updated from the sink that receives frames in order, so it works the same
//! for every strategy. Hidden when stderr is not a terminal (a batch job's log stays clean)
//! or with `--quiet`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    walks: u64,
}

/// Whether a bar is drawn: only for a person at a terminal.
pub fn wanted(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

impl Progress {
    /// A bar over `total` frames of which `done` were finished before (a resumed run).
    pub fn new(total: u64, done: u64, strategy: &str, show: bool) -> Progress {
        let bar =
            ProgressBar::with_draw_target(Some(total), if show { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() });
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} frames  {msg}  ETA {eta}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(strategy.to_string());
        bar.set_position(done);
        bar.reset_eta();
        Progress { bar, started: Instant::now(), walks: 0 }
    }

    pub fn is_hidden(&self) -> bool {
        self.bar.is_hidden()
    }

    pub fn frame(&mut self, walks: u64) {
        self.walks += walks;
        let rate = self.walks as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        self.bar.set_message(format!("{:.3e} walks/s", rate));
        self.bar.inc(1);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
