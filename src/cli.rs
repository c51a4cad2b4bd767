//! The command line: `trajwalk run INPUT [options]`.

use anyhow::{bail, Context as _, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use trajwalk::body::{Body, BodyOptions, Launch};
use trajwalk::compute::{compute_frame, Sampling};
use trajwalk::estimate::Context;
use trajwalk::io::bod;
use trajwalk::output::{self, FrameReport, Plan};
use trajwalk::pool::Pool;
use trajwalk::units::{self, Conditions};

#[derive(Parser)]
#[command(name = "trajwalk", version, about = "Hydrodynamic and shape properties of molecules by walk-on-spheres (ZENO's method), reproducibly")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Compute every observable of the input's body and print them.
    Run(RunArgs),
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
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

#[derive(Args)]
pub struct RunArgs {
    /// Input body: a ZENO .bod file.
    pub input: PathBuf,
    /// Exterior walks (the cap when a --max-rsd-capacitance/polarizability target is set).
    #[arg(long, default_value = "1e6", value_parser = count)]
    pub walks: u64,
    /// Interior samples (the cap when --max-rsd-volume is set).
    #[arg(long, default_value = "1e6", value_parser = count)]
    pub interior: u64,
    /// Seed of the random streams; with the frame and walk index it fixes every number drawn.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Threads for the walks (results are identical for any number). Default: all cores.
    #[arg(long)]
    pub threads: Option<usize>,
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
    /// Temperature, e.g. 293.15, 293.15K or 20C (for the diffusion coefficient).
    #[arg(long)]
    pub temperature: Option<String>,
    /// Solvent viscosity, e.g. 0.89cp, 0.0089p or 8.9e-4Pa.s (default unit cp).
    #[arg(long)]
    pub viscosity: Option<String>,
    /// Mass, e.g. 14300, 14.3kDa, 2.4e-20g (default unit Da).
    #[arg(long)]
    pub mass: Option<String>,
    /// Buoyancy factor 1 - v_bar rho (for the sedimentation coefficient).
    #[arg(long)]
    pub buoyancy_factor: Option<f64>,
    /// Output format; default: from --out's extension, else a table.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the results to FILE (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

impl RunArgs {
    fn conditions(&self) -> Result<Conditions> {
        let parse = |text: &Option<String>, convert: fn(f64, &str) -> trajwalk::Result<f64>| -> Result<Option<f64>> {
            text.as_deref()
                .map(|t| units::split_value_unit(t).and_then(|(v, u)| convert(v, &u)))
                .transpose()
                .map_err(Into::into)
        };
        Ok(Conditions {
            temperature_k: parse(&self.temperature, units::temperature)?,
            viscosity_pa_s: parse(&self.viscosity, units::viscosity)?,
            mass_kg: parse(&self.mass, units::mass)?,
            buoyancy_factor: self.buoyancy_factor.map(units::buoyancy_factor).transpose()?,
        })
    }

    fn format(&self) -> Format {
        self.format.unwrap_or_else(|| match self.out.as_deref().and_then(Path::extension).and_then(|e| e.to_str()) {
            Some("json") => Format::Json,
            Some("csv") => Format::Csv,
            _ => Format::Table,
        })
    }

    fn sampling(&self) -> Sampling {
        Sampling {
            walks: self.walks,
            interior_samples: self.interior,
            max_rsd_capacitance: self.max_rsd_capacitance,
            max_rsd_polarizability: self.max_rsd_polarizability,
            max_rsd_volume: self.max_rsd_volume,
            seed: self.seed,
        }
    }
}

pub fn run(args: &RunArgs) -> Result<()> {
    let sampling = args.sampling();
    sampling.validate()?;
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = Pool::new(threads)?;
    let extension = args.input.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if extension != "bod" {
        bail!(
            "{}: unsupported input format '{}': expected a ZENO .bod file",
            args.input.display(),
            if extension.is_empty() { "(no extension)" } else { &extension }
        );
    }
    let input = bod::read(&args.input)?;
    let conditions = input.conditions.overridden_by(&args.conditions()?);
    if !conditions.is_empty() && input.length_unit.meters.is_none() {
        bail!("transport coefficients need a physical length unit, but {} is in generic units (L): set HUNITS", args.input.display());
    }
    let body_options = BodyOptions {
        launch: match args.launch {
            LaunchArg::Tight => Launch::Tight,
            LaunchArg::Zeno => Launch::Zeno,
        },
        launch_radius: args.launch_radius.or(input.launch_radius),
        skin_thickness: args.skin_thickness.or(input.skin_thickness),
    };
    let body = Body::new(&input.centers, &input.radii, &body_options)
        .with_context(|| format!("{}", args.input.display()))?;
    let ctx = Context {
        launch_radius: body.launch_radius,
        length_meters: input.length_unit.meters,
        conditions: conditions.clone(),
    };
    let result = compute_frame(&body, 0, &sampling, &ctx, &pool)?;
    let plan = Plan {
        strategy: if pool.threads() == 1 { "serial".into() } else { "threads".into() },
        threads: pool.threads(),
        reason: format!(
            "one body: its walks run in fixed blocks of {} shared by {} thread{}; results do not depend on the thread count",
            trajwalk::walk::BLOCK,
            pool.threads(),
            if pool.threads() == 1 { "" } else { "s" }
        ),
    };
    let frames = [FrameReport { frame: 0, length_unit: &input.length_unit, result: &result }];
    let input_name = args.input.display().to_string();
    let text = match args.format() {
        Format::Json => {
            let parameters = json!({
                "sampling": sampling,
                "launch": body_options.launch,
                "launch_radius": body_options.launch_radius,
                "skin_thickness": body_options.skin_thickness,
                "conditions": conditions,
            });
            serde_json::to_string_pretty(&output::document(&input_name, parameters, &plan, &frames))? + "\n"
        }
        Format::Csv => output::csv(&frames)?,
        Format::Table => output::table(&input_name, &plan, &frames),
    };
    match &args.out {
        Some(path) => write_atomically(path, text.as_bytes())?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    if !result.converged {
        eprintln!("warning: the target relative std was not reached within the walk cap; raise --walks or --interior");
    }
    Ok(())
}

/// Writes through a temporary file in the same directory and renames it into place, so a
/// reader never sees a half-written result and a failure leaves any old file intact.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().with_context(|| format!("{} is not a file name", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp{}", name.to_string_lossy(), std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}
