//! The command line: `trajwalk run INPUT [options]` and `trajwalk plan INPUT [options]`.

/// A line on stderr that cannot fail: a batch job whose log is full, or a closed stderr,
/// must not turn a finished run into a panic (exit 101) or hide the run's own exit code.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
pub(crate) use say;

mod run;
pub use run::{run, serve};

/// SIGINT and SIGTERM ask the run to stop: the frames finished are written and committed,
/// and the process exits with 128 + the signal (130, 143) as shells expect. A second signal
/// ends the process at once (a frame may take minutes); its temporary files are then removed
/// by the next run to the same output.
pub struct Interrupt {
    /// Set by the first signal; the analysis stops when it is.
    pub stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    signal: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Interrupt {
    /// Installs the handlers; a failure to install leaves the signals' default behaviour.
    pub fn install() -> Interrupt {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let i = Interrupt { stop: Default::default(), signal: Default::default() };
        for sig in [SIGINT, SIGTERM] {
            // The shutdown goes first, so that it is armed only by the flag the first signal sets.
            let _ = signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, i.stop.clone());
            let _ = signal_hook::flag::register_usize(sig, i.signal.clone(), sig as usize);
            let _ = signal_hook::flag::register(sig, i.stop.clone());
        }
        i
    }

    /// The exit code for a run the signal stopped: 128 + its number.
    pub fn exit_code(&self) -> u8 {
        (128 + self.signal.load(std::sync::atomic::Ordering::SeqCst).min(127)) as u8
    }
}

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use trajwalk::analysis::{Analysis, Execution, Options};
use trajwalk::body::{BodyOptions, Launch};
use trajwalk::compute::Sampling;
use trajwalk::estimate::Estimator;
use trajwalk::exec::Kind;
use trajwalk::job::JobOptions;
use trajwalk::radii::{Radii, RadiiKey, RadiiTable};
use trajwalk::trajectory::{FrameSelection, OpenOptions};
use trajwalk::units::Conditions;

#[derive(Parser)]
#[command(
    name = "trajwalk",
    version,
    about = "Hydrodynamic and shape properties of molecules by walk-on-spheres (ZENO's method), reproducibly"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Compute every observable of every selected frame of the input and print them.
    // Negative numbers are values (`--radius -1`), so each option's own check answers.
    #[command(allow_negative_numbers = true)]
    Run(RunArgs),
    /// Profile a few frames and print every strategy's predicted time and memory, the choice
    /// and the reason, without running (with --measure, also run each on a sample).
    #[command(allow_negative_numbers = true)]
    Plan(PlanArgs),
    /// List the formats read, by extension, and which give a topology.
    Formats,
}

#[derive(Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Also run every candidate on a sample of frames and report measured against
    /// predicted seconds, and the planner's regret (chosen / best measured).
    #[arg(long)]
    pub measure: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StrategyArg {
    Auto,
    Serial,
    Frames,
    Threads,
    Hybrid,
    Gpu,
}

/// A byte count with an optional unit: 500MB, 2GiB, 1e9.
fn bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let v: f64 = number.trim().parse().map_err(|_| format!("'{s}' is not a size like 500MB or 2GiB"))?;
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1048576.0,
        "gib" => 1073741824.0,
        _ => return Err(format!("'{s}': unknown unit '{unit}' (B, kB, MB, GB, KiB, MiB, GiB)")),
    };
    let b = v * scale;
    if !(b.is_finite() && b >= 1.0) {
        return Err(format!("'{s}' is not a positive size"));
    }
    Ok(b as u64)
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
    /// H5MD observables (needs --out FILE.h5).
    H5,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LaunchArg {
    /// A near-minimal enclosing sphere: more walks hit, lower variance per walk.
    Tight,
    /// ZENO's bounding sphere, for one-to-one comparison with ZENO.
    Zeno,
}

/// A count that accepts scientific notation ("1e6"), as scientists write it.
fn count(s: &str) -> Result<u64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("'{s}' is not a number"))?;
    if !(v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= u64::MAX as f64) {
        return Err(format!("'{s}' is not a whole non-negative number"));
    }
    Ok(v as u64)
}

/// A count that fits a usize (frames, workers, threads), with the same message as `count`.
/// The library's parse, with only its message: clap names the flag itself.
fn estimator(s: &str) -> Result<Estimator, String> {
    s.parse().map_err(|e| match e {
        trajwalk::error::Error::Setting { message, .. } => message,
        other => other.to_string(),
    })
}

fn whole(s: &str) -> Result<usize, String> {
    count(s).and_then(|v| usize::try_from(v).map_err(|_| format!("'{s}' is too large")))
}

fn batch(s: &str) -> Result<u64, String> {
    match count(s)? {
        0 => Err("a batch needs at least one walk or sample".into()),
        n => Ok(n),
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RadiiKeyArg {
    Element,
    Name,
    Type,
}

/// A comma-separated list of whole numbers ("0,49,97"); a type of its own because clap
/// reads a bare `Vec` as a repeated option.
#[derive(Clone, Debug)]
pub struct IndexList(pub Vec<u64>);

fn list(s: &str) -> Result<IndexList, String> {
    s.split(',').map(|p| p.trim().parse().map_err(|_| format!("'{p}' is not a whole number"))).collect::<Result<_, _>>().map(IndexList)
}

#[derive(Args)]
pub struct RunArgs {
    /// Input: a trajectory (H5MD, WepyHDF5, PDB, XTC, TRR, DCD, NetCDF, GRO, TNG, LAMMPS,
    /// XYZ, mmCIF, MOL2: `trajwalk formats` lists them) or a ZENO .bod body; several
    /// trajectories are read one after the other as one.
    #[arg(value_name = "INPUT", required_unless_present = "input_file", num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// The input, named as ZENO names it (instead of INPUT).
    #[arg(long, value_name = "FILE", conflicts_with = "input")]
    pub input_file: Option<PathBuf>,
    /// File naming the input's atoms (elements, residues, bonds): PDB, GRO, mmCIF, MOL2,
    /// CHARMM/NAMD PSF or AMBER PRMTOP.
    #[arg(long, value_name = "FILE")]
    pub topology: Option<PathBuf>,
    /// H5MD particles group (default: the only or first one).
    #[arg(long)]
    pub group: Option<String>,
    /// wepy runs to read, e.g. 0 or 0,2 (default: all, in order).
    #[arg(long, value_parser = list, value_name = "R[,R...]")]
    pub run: Option<IndexList>,
    /// wepy trajectories of each run to read (default: all, in order).
    #[arg(long, value_parser = list, value_name = "T[,T...]")]
    pub traj: Option<IndexList>,
    /// Atoms that make the body, e.g. "protein and not element H" (see the README).
    #[arg(long, value_name = "SELECTION")]
    pub select: Option<String>,
    /// Radii: a built-in table (bondi, or zeno: the table of ZENO's PDB converter) or a
    /// file of `<key> <radius>` lines, in Angstrom.
    #[arg(long, value_name = "TABLE|FILE", conflicts_with = "radius")]
    pub radii: Option<String>,
    /// What radii are looked up by.
    #[arg(long, value_enum, default_value = "element")]
    pub radii_key: RadiiKeyArg,
    /// One radius in Angstrom for every atom (coarse-grained beads, files without elements).
    #[arg(long, value_name = "R")]
    pub radius: Option<f64>,
    /// Multiplies every radius (a scale outside 0.5 to 2 is noted: 10% larger is 1.1).
    #[arg(long, default_value_t = 1.0, value_name = "F")]
    pub radius_scale: f64,
    /// A hydration shell: D Angstrom added to every radius after the scale (a .bod file's
    /// radii too); negative shrinks them.
    #[arg(long, default_value_t = 0.0, value_name = "D")]
    pub radius_add: f64,
    /// First frame (position in the input's sequence; negative counts from the end).
    #[arg(long, conflicts_with = "frames", allow_negative_numbers = true)]
    pub start: Option<i64>,
    /// Frame to stop before (negative counts from the end).
    #[arg(long, conflicts_with = "frames", allow_negative_numbers = true)]
    pub stop: Option<i64>,
    /// Every STEP-th frame.
    #[arg(long, conflicts_with = "frames", value_parser = whole)]
    pub step: Option<usize>,
    /// Exactly these frames, e.g. 0,49,97.
    #[arg(long, value_parser = list, value_name = "F[,F...]")]
    pub frames: Option<IndexList>,
    /// Do not make molecules split across the periodic box whole.
    #[arg(long)]
    pub no_unwrap: bool,
    /// Unit of the coordinates when the file does not say (nm, Angstrom, pm).
    #[arg(long, value_name = "UNIT")]
    pub length_unit: Option<String>,
    /// Exterior walks (the cap when a --max-rsd-capacitance/polarizability target is set).
    #[arg(long, default_value = "1e6", value_parser = count, visible_alias = "num-walks")]
    pub walks: u64,
    /// Interior samples (the cap when --max-rsd-volume is set).
    #[arg(long, default_value = "1e6", value_parser = count, visible_alias = "num-interior-samples")]
    pub interior: u64,
    /// Seed of the random streams; with the frame and walk index it fixes every number drawn.
    #[arg(long, default_value_t = 0, value_parser = count)]
    pub seed: u64,
    /// How to run the frames; auto profiles a few frames and picks the fastest.
    #[arg(long, value_enum, default_value = "auto")]
    pub strategy: StrategyArg,
    /// Frames computed at once (frames and hybrid strategies). Default: the planner's.
    #[arg(long, value_name = "K", value_parser = whole)]
    pub workers: Option<usize>,
    /// Threads per frame's walks. Default: the planner's. Results are identical for any
    /// strategy, worker and thread count.
    #[arg(long, value_name = "M", value_parser = whole)]
    pub threads: Option<usize>,
    /// The GPU adapter to use: a case-insensitive part of its name (see `WGPU_BACKEND` to
    /// restrict the backends searched).
    #[arg(long, value_name = "NAME")]
    pub gpu_adapter: Option<String>,
    /// Walks and samples per GPU submission (default: a quarter second of the device's
    /// measured time, at most 4194304). Smaller keeps each submission short, for displays
    /// whose driver resets a GPU busy for seconds; the numbers do not depend on it.
    #[arg(long, value_name = "N", value_parser = batch)]
    pub gpu_batch: Option<u64>,
    /// Only strategies predicted to fit in this much memory (e.g. 2GB).
    #[arg(long, value_parser = bytes, value_name = "SIZE")]
    pub max_memory: Option<u64>,
    /// After the run, recompute N sampled frames with the serial reference and compare
    /// bit for bit; a difference is an error.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = whole)]
    pub verify: usize,
    /// Hit distance; default 1e-6 x ZENO's bounding radius (the input's ST overrides the default).
    #[arg(long)]
    pub skin_thickness: Option<f64>,
    /// Launch radius about the launch centre (the input's RLAUNCH overrides the default).
    #[arg(long)]
    pub launch_radius: Option<f64>,
    /// How the launch sphere is chosen.
    #[arg(long, value_enum, default_value = "tight")]
    pub launch: LaunchArg,
    /// Run until the capacitance's relative std is at most P percent.
    #[arg(long, value_name = "P")]
    pub max_rsd_capacitance: Option<f64>,
    /// Run until the mean polarizability's relative std is at most P percent.
    #[arg(long, value_name = "P")]
    pub max_rsd_polarizability: Option<f64>,
    /// Sample the interior until the volume's relative std is at most P percent.
    #[arg(long, value_name = "P")]
    pub max_rsd_volume: Option<f64>,
    /// What the walks are made into: hit-points (C from the pairs of hit points, the
    /// polarizability from the charges' conditional means) or zeno (ZENO's own estimators).
    #[arg(long, value_name = "E", default_value = "hit-points", value_parser = estimator)]
    pub estimator: Estimator,
    /// Temperature with its unit, e.g. 20C or 293.15K (for the diffusion coefficient).
    #[arg(long, value_name = "T")]
    pub temperature: Option<String>,
    /// Solvent viscosity with its unit, e.g. 1.002cp, 0.01002p or 1.002e-3Pa.s; or water:
    /// water's at the temperature (IAPWS 2008, 0 to 100 C).
    #[arg(long, value_name = "V|water")]
    pub viscosity: Option<String>,
    /// Mass of one molecule with its unit, e.g. 14300Da, 14.3kDa, 2.4e-20g; or auto: the
    /// selected atoms' standard atomic weights.
    #[arg(long, value_name = "M|auto")]
    pub mass: Option<String>,
    /// Buoyancy factor 1 - v_bar rho (for the sedimentation coefficient).
    #[arg(long)]
    pub buoyancy_factor: Option<f64>,
    /// Output format; default: from --out's extension, else a table.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the results to FILE (atomically) instead of standard output; the format follows
    /// the extension, in any case: .json, .csv, .h5 (H5MD observables), .txt or none (a table).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Commit each finished frame to this SQLite file; run again with it to compute only the
    /// frames not yet finished (and those that failed).
    #[arg(long, value_name = "FILE.sqlite")]
    pub checkpoint: Option<PathBuf>,
    /// Discard what the checkpoint holds and start over.
    #[arg(long, requires = "checkpoint")]
    pub fresh: bool,
    /// Also write the per-frame observables into the WepyHDF5 input, at
    /// runs/R/trajectories/T/observables/<name>.
    #[arg(long)]
    pub write_back: bool,
    /// Plot hydrodynamic radius, intrinsic viscosity, radius of gyration and volume (and D, s,
    /// [eta] in cm^3/g when computed) against time or frame (.png or .svg); with
    /// `plan --measure`, predicted against measured time.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// No progress bar and no summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

impl RunArgs {
    fn conditions(&self) -> Result<Conditions> {
        Ok(Conditions::parse(self.temperature.as_deref(), self.viscosity.as_deref(), self.mass.as_deref(), self.buoyancy_factor)?)
    }

    /// The output format: --format, else --out's extension (in any case: `o.JSON` is JSON),
    /// else a table. An extension that names no format (`x.jsn`) is refused rather than
    /// written as a table a script would then fail to parse.
    fn format(&self) -> Result<Format> {
        if let Some(f) = self.format {
            return Ok(f);
        }
        let Some(out) = self.out.as_deref() else { return Ok(Format::Table) };
        let Some(ext) = out.extension() else { return Ok(Format::Table) };
        Ok(match ext.to_string_lossy().to_ascii_lowercase().as_str() {
            "json" => Format::Json,
            "csv" => Format::Csv,
            "h5" | "h5md" | "hdf5" => Format::H5,
            "txt" | "text" | "table" => Format::Table,
            _ => bail!(
                "--out {}: the extension .{} names no output format; use .json, .csv, .h5 (.h5md, .hdf5) or .txt \
                 (a table), or give --format",
                out.display(),
                ext.to_string_lossy()
            ),
        })
    }

    fn open_options(&self) -> OpenOptions {
        OpenOptions {
            topology: self.topology.clone(),
            group: self.group.clone(),
            runs: self.run.clone().map(|l| l.0),
            trajs: self.traj.clone().map(|l| l.0),
            length_unit: self.length_unit.clone(),
            no_cell: self.no_unwrap,
        }
    }

    fn radii(&self) -> Result<Option<Radii>> {
        let key = match self.radii_key {
            RadiiKeyArg::Element => RadiiKey::Element,
            RadiiKeyArg::Name => RadiiKey::Name,
            RadiiKeyArg::Type => RadiiKey::Type,
        };
        Ok(match (&self.radii, self.radius) {
            (_, Some(r)) => Some(Radii::Uniform(r)),
            (Some(spec), None) => Some(Radii::Table { table: RadiiTable::named_or_file(spec)?, key }),
            (None, None) if !matches!(self.radii_key, RadiiKeyArg::Element) => {
                bail!(
                    "--radii-key {} needs --radii FILE: the built-in tables are by element",
                    self.radii_key.to_possible_value().unwrap().get_name()
                )
            }
            (None, None) => None,
        })
    }

    fn frame_selection(&self) -> FrameSelection {
        match &self.frames {
            Some(list) => FrameSelection::List(list.0.iter().map(|&f| f as usize).collect()),
            None => FrameSelection::Slice { start: self.start, stop: self.stop, step: self.step.unwrap_or(1) },
        }
    }

    fn sampling(&self) -> Sampling {
        Sampling {
            walks: self.walks,
            interior_samples: self.interior,
            max_rsd_capacitance: self.max_rsd_capacitance,
            max_rsd_polarizability: self.max_rsd_polarizability,
            max_rsd_volume: self.max_rsd_volume,
            estimator: self.estimator,
            seed: self.seed,
        }
    }
}

impl RunArgs {
    /// The library's options for these arguments.
    fn options(&self) -> Result<Options> {
        Ok(Options {
            open: self.open_options(),
            job: JobOptions {
                select: self.select.clone(),
                radii: self.radii()?,
                radius_scale: self.radius_scale,
                radius_add: self.radius_add,
                unwrap: !self.no_unwrap,
                frames: self.frame_selection(),
                body: BodyOptions {
                    launch: match self.launch {
                        LaunchArg::Tight => Launch::Tight,
                        LaunchArg::Zeno => Launch::Zeno,
                    },
                    launch_radius: self.launch_radius,
                    skin_thickness: self.skin_thickness,
                },
                sampling: self.sampling(),
                conditions: self.conditions()?,
            },
            execution: Execution {
                strategy: match self.strategy {
                    StrategyArg::Auto => None,
                    StrategyArg::Serial => Some(Kind::Serial),
                    StrategyArg::Frames => Some(Kind::Frames),
                    StrategyArg::Threads => Some(Kind::Threads),
                    StrategyArg::Hybrid => Some(Kind::Hybrid),
                    StrategyArg::Gpu => Some(Kind::Gpu),
                },
                workers: self.workers,
                threads: self.threads,
                gpu_adapter: self.gpu_adapter.clone(),
                gpu_batch: self.gpu_batch,
                max_memory: self.max_memory,
                cores: None,
            },
            verify: self.verify,
        })
    }

    /// The input opened and the job settled.
    fn analysis(&self) -> Result<Analysis> {
        let inputs = if self.input.is_empty() { self.input_file.iter().cloned().collect() } else { self.input.clone() };
        Ok(Analysis::open_all(&inputs, self.options()?)?)
    }
}

pub fn plan_command(args: &PlanArgs) -> Result<()> {
    let format = args.run.format()?;
    let plot = match &args.run.plot {
        Some(_) if !args.measure => bail!("plan --plot draws predicted against measured times: add --measure"),
        Some(p) => {
            trajwalk::plot::check_path(p)?;
            Some(p)
        }
        None => None,
    };
    let analysis = args.run.analysis()?;
    let plan = analysis.plan()?;
    let mut doc = json!({ "plan": plan });
    if args.measure {
        let measured = analysis.measure(&plan)?;
        if let Some(path) = plot {
            let points: Vec<(String, f64, f64)> = measured
                .candidates
                .iter()
                .map(|m| {
                    let k = &m.candidate;
                    (format!("{} {}x{}", k.strategy.name(), k.workers, k.threads), k.predicted_seconds, m.measured_seconds)
                })
                .collect();
            trajwalk::plot::plan(path, &points)?;
        }
        doc["measured"] = json!(measured);
    }
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&doc)? + "\n",
        _ => plan_table(&doc),
    };
    // Named as `run` names it: "cannot write stdout: No space left on device", not the
    // bare system error; a closed pipe ends quietly.
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(|e| trajwalk::Error::writing("stdout", &e))?;
    Ok(())
}

/// Seconds as a person reads them: 12 us, 3.4 ms, 2.50 s, 3 min 20 s.
fn human_seconds(s: f64) -> String {
    match s {
        _ if !s.is_finite() => "n/a".into(),
        _ if s < 1e-5 => format!("{:.2} us", s * 1e6),
        _ if s < 1e-3 => format!("{:.0} us", s * 1e6),
        _ if s < 1.0 => format!("{:.1} ms", s * 1e3),
        _ if s < 120.0 => format!("{s:.2} s"),
        _ => format!("{:.0} min {:.0} s", (s / 60.0).floor(), s % 60.0),
    }
}

/// `trajwalk plan` for a person: the choice and why, what the probe measured, and every
/// candidate in an aligned table (JSON keeps the raw numbers).
fn plan_table(doc: &serde_json::Value) -> String {
    let p = &doc["plan"];
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let bytes = |v: &serde_json::Value| trajwalk::plan::human_bytes(v.as_u64().unwrap_or(0));
    let pr = &p["profile"];
    let mut out = format!(
        "plan: {} ({} worker(s) x {} thread(s), up to {} frame(s) per task)\nwhy: {}\n",
        p["strategy"].as_str().unwrap_or(""),
        p["workers"],
        p["threads"],
        p["chunk_frames"],
        p["reason"].as_str().unwrap_or("")
    );
    out += &format!(
        "probe of {} frame(s): read {} and body {} per frame; {} per walk, {} per interior sample on one thread; \
         {:.2}x on {} cores; a frame needs {} walks and {} interior samples\n",
        pr["frames_sampled"],
        human_seconds(f(&pr["read_seconds_per_frame"])),
        human_seconds(f(&pr["body_seconds"])),
        human_seconds(f(&pr["seconds_per_walk"])),
        human_seconds(f(&pr["seconds_per_interior_sample"])),
        f(&pr["thread_speedup"]),
        pr["cores"],
        pr["walks_per_frame"],
        pr["interior_per_frame"],
    );
    out += &format!("  {:<8} {:>7} {:>7} {:>14} {:>12} {:>10}\n", "strategy", "workers", "threads", "frames/task", "predicted", "memory");
    for c in p["candidates"].as_array().into_iter().flatten() {
        out += &format!(
            "  {:<8} {:>7} {:>7} {:>14} {:>12} {:>10}\n",
            c["strategy"].as_str().unwrap_or(""),
            c["workers"].to_string(),
            c["threads"].to_string(),
            c["chunk_frames"].to_string(),
            human_seconds(f(&c["predicted_seconds"])),
            bytes(&c["predicted_memory_bytes"]),
        );
    }
    if let Some(m) = doc.get("measured") {
        out += &format!("measured on {} frames (regret {:.3}: the chosen time over the best):\n", m["frames"], f(&m["regret"]));
        out += &format!("  {:<8} {:>7} {:>7} {:>12} {:>12}\n", "strategy", "workers", "threads", "predicted", "measured");
        for c in m["candidates"].as_array().into_iter().flatten() {
            out += &format!(
                "  {:<8} {:>7} {:>7} {:>12} {:>12}\n",
                c["strategy"].as_str().unwrap_or(""),
                c["workers"].to_string(),
                c["threads"].to_string(),
                human_seconds(f(&c["predicted_seconds"])),
                human_seconds(f(&c["measured_seconds"]))
            );
        }
    }
    out
}

/// `trajwalk formats`: the catalogue as a table.
pub fn formats_command() -> Result<()> {
    use trajwalk::io::formats::{Backend, Carries, CATALOGUE};
    let mut out = std::io::stdout().lock();
    writeln!(out, "{:<26} {:<28} {:<10} {:<16} reader", "format", "extensions", "frames", "topology")?;
    for f in CATALOGUE {
        let extensions = f.extensions.iter().map(|e| format!(".{e}")).collect::<Vec<_>>().join(" ");
        let frames = if f.backend == Backend::Refused {
            "refused"
        } else if f.frames {
            "yes"
        } else {
            "no"
        };
        let topology = match (f.backend, f.carries) {
            (Backend::Refused, _) => "refused",
            (_, Carries::Atoms) => "yes",
            (_, Carries::Elements) => "elements only",
            (_, Carries::Nothing) => "no",
        };
        let reader = match f.backend {
            Backend::Chemfiles(_) => "chemfiles",
            Backend::Tng => "TNG library (chemfiles')",
            Backend::Molly => "molly",
            Backend::Refused => "gmx editconf -f topol.tpr -o conf.gro",
            _ => "trajwalk",
        };
        writeln!(out, "{:<26} {:<28} {:<10} {:<16} {}", f.label, extensions, frames, topology, reader)?;
    }
    writeln!(out, "\nA format with topology \"yes\" may be given as --topology; several trajectories are read as one, in order.")?;
    Ok(())
}
