//! The library's error type. Every message names the file, line, sphere or option at
//! fault, because the person reading it is a scientist with a 10,000-line input, not the
//! author of this crate.

use std::path::PathBuf;

/// Everything the library can fail with; each variant carries what its message needs to
/// point the user at the culprit.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The io error is part of the message rather than a `source`, so that it is printed
    /// once by callers that print error chains.
    #[error("cannot read {}: {error}", path.display())]
    Io {
        /// The file that could not be opened, read or inspected.
        path: PathBuf,
        /// The operating system's reason.
        error: std::io::Error,
    },
    /// A line of a text input (PDB, .bod, a radii table) that cannot be understood.
    #[error("{}, line {line}: {message}", path.display())]
    Parse {
        /// The text file.
        path: PathBuf,
        /// 1-based, as an editor counts lines.
        line: usize,
        /// What is wrong with the line.
        message: String,
    },
    /// A problem with an input file that is not tied to one line: a missing dataset,
    /// a shape that disagrees with the topology, an unknown unit, NaN coordinates.
    #[error("{}: {message}", path.display())]
    Input {
        /// The input file.
        path: PathBuf,
        /// What is wrong, naming the dataset or frame where one is at fault.
        message: String,
    },
    /// Spheres that cannot make a walkable body: none at all, centres and radii that
    /// disagree in number, a non-finite coordinate, or a radius too small against the body.
    #[error("invalid body: {0}")]
    Body(String),
    /// A checkpoint that cannot be used: unreadable, damaged, or made for another run.
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// Why it cannot be used; for a mismatch, which part of the run differs.
        message: String,
    },
    /// An output that could not be written (a plot, an HDF5 result, a write-back).
    #[error("cannot write {}: {message}", path.display())]
    Output {
        /// The output file.
        path: PathBuf,
        /// The writer's reason.
        message: String,
    },
    /// The reader of an output stopped reading it (a closed pipe): the run stops, keeping
    /// what it committed, and a command-line driver ends quietly as Unix tools do.
    #[error("{} was closed by its reader", path.display())]
    OutputClosed {
        /// The output whose reader went away (`stdout` for a pipe).
        path: PathBuf,
    },
    /// The caller asked the run to stop (a signal, Ctrl-C in Python): the frames finished
    /// before it are kept, as after any other stop.
    #[error("interrupted")]
    Interrupted,
    /// No usable GPU, or a body the GPU's f32 arithmetic cannot honour.
    #[error("GPU: {0}")]
    Gpu(String),
    /// An option, or a combination of options, that cannot be honoured; the message names
    /// the command-line flag where there is one, for library callers and CLI users alike.
    #[error("invalid option: {0}")]
    Option(String),
    /// One setting with a value that cannot be honoured. The setting is named by what it
    /// is, not by how a driver spells it: the message shows the command line's flag
    /// (`--walks`), and another driver renders it in its own words
    /// (`{name} {message}` with its own name, as Python's `n_walks`).
    #[error("invalid option: {} {message}", setting.flag())]
    Setting {
        /// The setting at fault.
        setting: Setting,
        /// What is wrong with its value, read after the setting's name ("must be at least 1").
        message: String,
    },
    /// A run that stopped on an error after delivering some frames: those were written (and
    /// committed to the checkpoint, if any) before the error came back.
    #[error(
        "stopped after {written} of {total} frames; the {written} finished were written{}: {error}",
        if *checkpointed { ", and committed to the checkpoint" } else { "" }
    )]
    Stopped {
        /// Frames delivered to the outputs.
        written: usize,
        /// Frames selected.
        total: usize,
        /// Whether a checkpoint holds the frames written.
        checkpointed: bool,
        /// What stopped the run; part of the message rather than a `source`, as for `Io`.
        error: Box<Error>,
    },
    /// Frames recomputed with the serial reference differ from the run's (the outputs are
    /// written, so the difference can be examined).
    #[error("verification failed: {0}")]
    Verification(String),
    /// A frame failed on another rank: its message as that rank said it, so a failing frame
    /// reads the same whether one machine ran the job or many.
    #[error("{0}")]
    Remote(String),
    /// The ranks of a distributed run could not work together: one disagrees with rank 0
    /// (another build, job or libm), stopped answering, or failed outside a frame.
    #[error("rank {rank}{}: {message}", if host.is_empty() { String::new() } else { format!(" on {host}") })]
    Rank {
        /// The rank at fault.
        rank: usize,
        /// Its host, when it said (empty before it did).
        host: String,
        /// What went wrong.
        message: String,
    },
}

impl Error {
    /// Whether the run stopped because the caller asked it to, directly or after some frames.
    pub fn is_interrupted(&self) -> bool {
        match self {
            Error::Interrupted => true,
            Error::Stopped { error, .. } => error.is_interrupted(),
            _ => false,
        }
    }

    /// Whether the run stopped because its output's reader went away, directly or after
    /// some frames.
    pub fn is_output_closed(&self) -> bool {
        match self {
            Error::OutputClosed { .. } => true,
            Error::Stopped { error, .. } => error.is_output_closed(),
            _ => false,
        }
    }

    /// An error writing `path`: a closed pipe is told apart, as it is no failure of the run.
    pub fn writing(path: impl Into<PathBuf>, e: &std::io::Error) -> Error {
        match e.kind() {
            std::io::ErrorKind::BrokenPipe => Error::OutputClosed { path: path.into() },
            _ => Error::Output { path: path.into(), message: e.to_string() },
        }
    }
}

/// A setting of a run that an error can be about, so that each driver names it in its own
/// words: the command line by its flag ([`Setting::flag`]), a binding by its keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// Exterior walks per frame (the cap when a target is set).
    Walks,
    /// Interior samples per frame.
    InteriorSamples,
    /// The capacitance's target relative std.
    MaxRsdCapacitance,
    /// The mean polarizability's target relative std.
    MaxRsdPolarizability,
    /// The volume's target relative std.
    MaxRsdVolume,
    /// What the walks are made into ([`crate::estimate::Estimator`]).
    Estimator,
    /// The last frame plus one of a slice.
    Stop,
    /// The spacing of a slice of frames.
    Step,
    /// An explicit list of frames.
    Frames,
    /// Frames computed at once.
    Workers,
    /// Threads per frame.
    Threads,
    /// One radius for every atom.
    Radius,
    /// The factor every radius is multiplied by.
    RadiusScale,
    /// The shell added to every radius.
    RadiusAdd,
}

impl Setting {
    /// The command line's flag for the setting.
    pub fn flag(self) -> &'static str {
        use Setting::*;
        match self {
            Walks => "--walks",
            InteriorSamples => "--interior",
            MaxRsdCapacitance => "--max-rsd-capacitance",
            MaxRsdPolarizability => "--max-rsd-polarizability",
            MaxRsdVolume => "--max-rsd-volume",
            Estimator => "--estimator",
            Stop => "--stop",
            Step => "--step",
            Frames => "--frames",
            Workers => "--workers",
            Threads => "--threads",
            Radius => "--radius",
            RadiusScale => "--radius-scale",
            RadiusAdd => "--radius-add",
        }
    }

    /// An error about this setting: `message` is read after its name.
    pub fn invalid(self, message: impl Into<String>) -> Error {
        Error::Setting { setting: self, message: message.into() }
    }
}

/// The library's result, with [`Error`] unless another error type is named.
pub type Result<T, E = Error> = std::result::Result<T, E>;
