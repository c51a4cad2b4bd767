//! `trajwalk._trajwalk`: the thin pyo3 driver beneath the `trajwalk` Python package. It turns
//! keyword options into the library's [`Options`], numpy arrays into a trajectory in memory,
//! runs the library's one pipeline with the GIL released, and hands the frames back as flat
//! numpy arrays that the pure-Python layer shapes. Library errors become Python exceptions
//! in one place ([`error`]), with settings named by their Python keywords.

use numpy::{PyArray1, PyReadonlyArray3};
use pyo3::exceptions::{PyFileNotFoundError, PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::Duration;
use trajwalk::analysis::{Analysis, Options, Sink};
use trajwalk::body::Launch;
use trajwalk::compute::FrameResult;
use trajwalk::error::{Error, Setting};
use trajwalk::estimate::Shape;
use trajwalk::exec::Kind;
use trajwalk::io::memory::{Coordinates, Frames};
use trajwalk::job::JobOptions;
use trajwalk::output::{FrameReport, Report, Style};
use trajwalk::radii::{Radii, RadiiKey, RadiiTable};
use trajwalk::topology::{self, Topology};
use trajwalk::trajectory::{FrameSelection, Trajectory};
use trajwalk::units::{Conditions, LengthUnit};

/// How the Python module names a setting (the keywords of `compute`, `run` and `TrajWalk`).
fn keyword(setting: Setting) -> &'static str {
    match setting {
        Setting::Walks => "n_walks",
        Setting::InteriorSamples => "n_interior_samples",
        Setting::MaxRsdCapacitance => "max_rsd_capacitance",
        Setting::MaxRsdPolarizability => "max_rsd_polarizability",
        Setting::MaxRsdVolume => "max_rsd_volume",
        Setting::Estimator => "estimator",
        Setting::Stop => "stop",
        Setting::Step => "step",
        Setting::Frames => "frames",
        Setting::Workers => "workers",
        Setting::Threads => "threads",
        Setting::Radius => "radii",
        Setting::RadiusScale => "radius_scale",
        Setting::RadiusAdd => "radius_add",
    }
}

/// The one place a library error becomes a Python exception: a missing file is
/// FileNotFoundError, a stop asked for by Ctrl-C is KeyboardInterrupt, what cannot be
/// written is OSError, a GPU or verification failure RuntimeError, and every bad input or
/// option ValueError, with the library's message and the setting in Python's words.
fn error(e: Error) -> PyErr {
    let message = match &e {
        Error::Setting { setting, message } => format!("invalid option: {} {message}", keyword(*setting)),
        _ => e.to_string(),
    };
    let inner = match &e {
        Error::Stopped { error, .. } => error.as_ref(),
        other => other,
    };
    match inner {
        _ if e.is_interrupted() => PyKeyboardInterrupt::new_err(message),
        Error::Io { error, .. } if error.kind() == std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
        Error::Io { .. } | Error::Output { .. } | Error::OutputClosed { .. } => PyOSError::new_err(message),
        Error::Gpu(_) | Error::Verification(_) => PyRuntimeError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

/// A plan made by an earlier call: later chunks of the same trajectory run with it instead
/// of profiling frames again.
#[pyclass(module = "trajwalk._trajwalk", frozen)]
struct Plan {
    inner: trajwalk::plan::Plan,
}

#[pymethods]
impl Plan {
    /// The plan as the JSON report records it.
    #[getter]
    fn json(&self) -> String {
        serde_json::to_string(&self.inner).expect("a plan serialises")
    }
}

/// A whole number given as an int or as an integral float (1e6, as scientists write it).
fn count(key: &str, v: &Bound<PyAny>) -> PyResult<u64> {
    if let Ok(n) = v.extract::<u64>() {
        return Ok(n);
    }
    match v.extract::<f64>() {
        Ok(f) if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64 => Ok(f as u64),
        Ok(f) => Err(PyValueError::new_err(format!("invalid option: {key} must be a whole non-negative number, got {f}"))),
        Err(_) => Err(PyTypeError::new_err(format!("{key} must be a whole number, not {}", type_name(v)))),
    }
}

fn type_name(v: &Bound<PyAny>) -> String {
    v.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

fn extract<'py, T: for<'a> FromPyObjectOwned<'py>>(key: &str, v: &Bound<'py, PyAny>, what: &str) -> PyResult<T> {
    v.extract::<T>().map_err(|_| PyTypeError::new_err(format!("{key} must be {what}, not {}", type_name(v))))
}

/// A quantity with its unit: text as the command line takes it ("20C"), or a bare number
/// in `default_unit`.
fn with_unit(key: &str, v: &Bound<PyAny>, default_unit: Option<&str>) -> PyResult<String> {
    if let Ok(s) = v.extract::<String>() {
        return Ok(s);
    }
    match (v.extract::<f64>(), default_unit) {
        (Ok(x), Some(unit)) => Ok(format!("{x}{unit}")),
        (Ok(_), None) => Err(PyTypeError::new_err(format!("{key} needs its unit: give it as text, e.g. '1.002cp'"))),
        (Err(_), _) => Err(PyTypeError::new_err(format!("{key} must be a number or text with a unit, not {}", type_name(v)))),
    }
}

/// The options `compute` (frames in memory) takes, the keywords of `options()` below: the
/// Python layer checks a call's keywords against them before any work, so that a misspelt
/// one is refused at once with the close names, by `TrajWalk(...)` and `ZenoWrapper(...)` too.
const MEMORY_OPTIONS: &[&str] = &[
    "n_walks",
    "n_interior_samples",
    "seed",
    "max_rsd_capacitance",
    "max_rsd_polarizability",
    "max_rsd_volume",
    "estimator",
    "temperature",
    "viscosity",
    "mass",
    "buoyancy_factor",
    "launch",
    "launch_radius",
    "skin_thickness",
    "radius_scale",
    "radius_add",
    "unwrap",
    "select",
    "strategy",
    "workers",
    "threads",
    "cores",
    "gpu_adapter",
    "gpu_batch",
    "max_memory",
    "verify",
    "progress",
];

/// The options only a file-based `run` takes besides [`MEMORY_OPTIONS`]; `radius`,
/// `no_unwrap`, `run` and `traj` are the command line's own spellings.
const FILE_OPTIONS: &[&str] = &[
    "length_unit",
    "radii",
    "radius",
    "radii_key",
    "topology",
    "group",
    "runs",
    "run",
    "trajs",
    "traj",
    "start",
    "stop",
    "step",
    "frames",
    "no_unwrap",
    "out",
    "format",
    "plot",
    "checkpoint",
    "fresh",
];

/// The option names `compute` (`file` false) or `run` (`file` true) takes.
#[pyfunction]
fn option_names(file: bool) -> Vec<&'static str> {
    MEMORY_OPTIONS.iter().chain(if file { FILE_OPTIONS } else { &[] }).copied().collect()
}

/// `frames=[...]` of a file-based run: indices from 0, each named in the message when it is
/// not one.
fn frame_list(v: &Bound<PyAny>) -> PyResult<Vec<usize>> {
    let list: Vec<Bound<PyAny>> = v.extract().map_err(|_| {
        PyTypeError::new_err(format!("frames must be a list of frame indices (whole numbers from 0), not {}", type_name(v)))
    })?;
    list.iter()
        .map(|f| match f.extract::<i64>() {
            Ok(i) if i >= 0 => Ok(i as usize),
            Ok(i) => Err(PyValueError::new_err(format!("invalid option: frames must be frame indices from 0 (the first frame), got {i}"))),
            Err(_) => {
                Err(PyTypeError::new_err(format!("frames must be a list of frame indices (whole numbers from 0), got {}", type_name(f))))
            }
        })
        .collect()
}

/// What a call asks beyond the library's options: outputs and the checkpoint.
#[derive(Default)]
struct Outputs {
    out: Option<PathBuf>,
    format: Option<String>,
    plot: Option<PathBuf>,
    checkpoint: Option<PathBuf>,
    fresh: bool,
    progress: bool,
}

/// The keyword options as the library's options. `file` says whether the run reads a file
/// (frame selection, topology and outputs apply) or frames given in memory.
fn options(kw: Option<&Bound<PyDict>>, file: bool) -> PyResult<(Options, Outputs)> {
    let mut o = Options { job: JobOptions::default(), ..Default::default() };
    let mut out = Outputs::default();
    let (mut temperature, mut viscosity, mut mass, mut buoyancy) = (None, None, None, None);
    let (mut start, mut stop, mut step, mut frames) = (None, None, None, None);
    let (mut radii, mut radii_key, mut radius) = (None::<Bound<PyAny>>, None::<String>, None::<f64>);
    let Some(kw) = kw else { return Ok((o, out)) };
    for (k, v) in kw.iter() {
        let key: String = k.extract()?;
        if !option_names(file).contains(&key.as_str()) {
            return Err(PyTypeError::new_err(format!("unexpected keyword argument '{key}'")));
        }
        if v.is_none() {
            continue;
        }
        let s = &mut o.job.sampling;
        match key.as_str() {
            "n_walks" => s.walks = count(&key, &v)?,
            "n_interior_samples" => s.interior_samples = count(&key, &v)?,
            "seed" => s.seed = count(&key, &v)?,
            "max_rsd_capacitance" => s.max_rsd_capacitance = Some(extract(&key, &v, "a number")?),
            "max_rsd_polarizability" => s.max_rsd_polarizability = Some(extract(&key, &v, "a number")?),
            "max_rsd_volume" => s.max_rsd_volume = Some(extract(&key, &v, "a number")?),
            "estimator" => s.estimator = extract::<String>(&key, &v, "'hit-points' or 'zeno'")?.parse().map_err(error)?,
            "temperature" => temperature = Some(with_unit(&key, &v, Some("K"))?),
            "viscosity" => viscosity = Some(with_unit(&key, &v, None)?),
            "mass" => mass = Some(with_unit(&key, &v, Some("Da"))?),
            "buoyancy_factor" => buoyancy = Some(extract::<f64>(&key, &v, "a number")?),
            "launch" => {
                o.job.body.launch = match extract::<String>(&key, &v, "'tight' or 'zeno'")?.as_str() {
                    "tight" => Launch::Tight,
                    "zeno" => Launch::Zeno,
                    other => return Err(PyValueError::new_err(format!("invalid option: launch must be 'tight' or 'zeno', got '{other}'"))),
                }
            }
            "launch_radius" => o.job.body.launch_radius = Some(extract(&key, &v, "a number")?),
            "skin_thickness" => o.job.body.skin_thickness = Some(extract(&key, &v, "a number")?),
            "radius_scale" => o.job.radius_scale = extract(&key, &v, "a number")?,
            "radius_add" => o.job.radius_add = extract(&key, &v, "a number")?,
            "unwrap" => o.job.unwrap = extract(&key, &v, "True or False")?,
            "select" => o.job.select = Some(extract(&key, &v, "a selection string")?),
            "strategy" => o.execution.strategy = strategy(&extract::<String>(&key, &v, "a strategy name")?)?,
            "workers" => o.execution.workers = Some(count(&key, &v)? as usize),
            "threads" => o.execution.threads = Some(count(&key, &v)? as usize),
            "cores" => o.execution.cores = Some(count(&key, &v)? as usize),
            "gpu_adapter" => o.execution.gpu_adapter = Some(extract(&key, &v, "text")?),
            "gpu_batch" => o.execution.gpu_batch = Some(count(&key, &v)?),
            "max_memory" => o.execution.max_memory = Some(count(&key, &v)?),
            "verify" => o.verify = count(&key, &v)? as usize,
            "length_unit" if file => o.open.length_unit = Some(extract(&key, &v, "a unit name")?),
            "radii" if file => radii = Some(v.clone()),
            // The command line's --radius R: one radius for every atom.
            "radius" if file => radius = Some(extract::<f64>(&key, &v, "a number")?),
            "no_unwrap" if file => {
                if extract::<bool>(&key, &v, "True or False")? {
                    o.job.unwrap = false;
                }
            }
            "radii_key" if file => radii_key = Some(extract(&key, &v, "'element', 'name' or 'type'")?),
            "topology" if file => o.open.topology = Some(extract(&key, &v, "a path")?),
            "group" if file => o.open.group = Some(extract(&key, &v, "text")?),
            "runs" | "run" if file => o.open.runs = Some(extract(&key, &v, "a list of whole numbers")?),
            "trajs" | "traj" if file => o.open.trajs = Some(extract(&key, &v, "a list of whole numbers")?),
            "start" if file => start = Some(extract::<i64>(&key, &v, "a whole number")?),
            "stop" if file => stop = Some(extract::<i64>(&key, &v, "a whole number")?),
            "step" if file => step = Some(count(&key, &v)? as usize),
            "frames" if file => frames = Some(frame_list(&v)?),
            "out" if file => out.out = Some(extract(&key, &v, "a path")?),
            "format" if file => out.format = Some(extract(&key, &v, "'json', 'csv', 'table' or 'h5'")?),
            "plot" if file => out.plot = Some(extract(&key, &v, "a path")?),
            "checkpoint" if file => out.checkpoint = Some(extract(&key, &v, "a path")?),
            "fresh" if file => out.fresh = extract(&key, &v, "True or False")?,
            "progress" => out.progress = extract(&key, &v, "True or False")?,
            _ => return Err(PyTypeError::new_err(format!("unexpected keyword argument '{key}'"))),
        }
    }
    o.job.conditions = Conditions::parse(temperature.as_deref(), viscosity.as_deref(), mass.as_deref(), buoyancy).map_err(error)?;
    if file {
        o.open.no_cell = !o.job.unwrap;
        o.job.frames = match frames {
            Some(list) => FrameSelection::List(list),
            None => FrameSelection::Slice { start, stop, step: step.unwrap_or(1) },
        };
        let key = match radii_key.as_deref() {
            None | Some("element") => RadiiKey::Element,
            Some("name") => RadiiKey::Name,
            Some("type") => RadiiKey::Type,
            Some(other) => {
                return Err(PyValueError::new_err(format!("invalid option: radii_key must be 'element', 'name' or 'type', got '{other}'")))
            }
        };
        if let Some(r) = radius {
            if radii.is_some() {
                return Err(PyValueError::new_err("invalid option: give radius (one for every atom) or radii, not both"));
            }
            o.job.radii = Some(Radii::Uniform(r));
        }
        o.job.radii = match radii {
            None if radius.is_some() => o.job.radii.take(),
            None if key != RadiiKey::Element => {
                return Err(PyValueError::new_err("invalid option: radii_key needs radii=FILE: the built-in tables are by element"))
            }
            None => None,
            Some(r) => match r.extract::<f64>() {
                Ok(uniform) => Some(Radii::Uniform(uniform)),
                Err(_) => {
                    let spec: String = extract("radii", &r, "a table name, a radii file or one radius")?;
                    Some(Radii::Table { table: RadiiTable::named_or_file(&spec).map_err(error)?, key })
                }
            },
        };
    }
    Ok((o, out))
}

fn strategy(name: &str) -> PyResult<Option<Kind>> {
    Ok(match name {
        "auto" => None,
        "serial" => Some(Kind::Serial),
        "frames" => Some(Kind::Frames),
        "threads" => Some(Kind::Threads),
        "hybrid" => Some(Kind::Hybrid),
        "gpu" => Some(Kind::Gpu),
        other => {
            return Err(PyValueError::new_err(format!(
                "invalid option: strategy must be auto, serial, frames, threads, hybrid or gpu, got '{other}'"
            )))
        }
    })
}

/// Keeps every frame the run delivers, for the arrays handed back.
#[derive(Default)]
struct Collected {
    keys: Vec<u64>,
    times: Vec<f64>,
    results: Vec<FrameResult>,
    length_unit: String,
    time_unit: Option<String>,
}

impl Sink for Collected {
    fn frame(&mut self, f: &FrameReport) -> trajwalk::Result<()> {
        self.keys.push(f.info.key);
        self.times.push(f.info.time.unwrap_or(f64::NAN));
        self.results.push(f.result.clone());
        self.length_unit = f.length_unit.name.clone();
        self.time_unit = f.time_unit.map(str::to_string);
        Ok(())
    }
}

/// Runs `analysis` with the GIL released, on a thread of its own, while this thread looks for
/// Ctrl-C: a signal sets the stop flag, the frames in flight finish, and the call raises the
/// signal's exception (KeyboardInterrupt). The outputs beside `collected` are made by
/// `outputs` on the run's thread, since a report to standard output holds its lock there.
fn run_detached<F>(
    py: Python<'_>,
    analysis: Analysis,
    collected: &mut Collected,
    outputs: F,
) -> PyResult<(Analysis, trajwalk::Result<trajwalk::analysis::Completed>)>
where
    F: FnOnce() -> trajwalk::Result<Vec<Box<dyn Sink>>> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let analysis = analysis.stop_when(stop.clone());
    let (outcome, signal) = py.detach(|| {
        std::thread::scope(|scope| {
            let (done, finished) = std::sync::mpsc::channel();
            let (analysis, collected) = (&analysis, &mut *collected);
            let worker = scope.spawn(move || {
                let outcome = outputs().and_then(|mut extra| {
                    let mut sinks: Vec<&mut dyn Sink> = vec![&mut *collected];
                    for b in extra.iter_mut() {
                        sinks.push(&mut **b);
                    }
                    let outcome = analysis.run(&mut sinks);
                    drop(sinks);
                    outcome
                });
                let _ = done.send(());
                outcome
            });
            let mut signal = None;
            // A run that panics drops `done` unsent: Disconnected ends the wait as Ok does,
            // only a timeout waits on (looking for Ctrl-C), so a panic cannot hang the call.
            while let Err(RecvTimeoutError::Timeout) = finished.recv_timeout(Duration::from_millis(100)) {
                if signal.is_none() {
                    if let Err(e) = Python::attach(|py| py.check_signals()) {
                        stop.store(true, Ordering::SeqCst);
                        signal = Some(e);
                    }
                }
            }
            (worker.join(), signal)
        })
    });
    if let Some(e) = signal {
        return Err(e);
    }
    match outcome {
        Ok(outcome) => Ok((analysis, outcome)),
        Err(payload) => Err(panicked(payload)),
    }
}

/// `f`, with a panic on the calling thread turned into a RuntimeError as [`panicked`] says.
fn guarded<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(panicked(payload)))
}

/// A panic of a run as the RuntimeError a Python caller can catch (pyo3's PanicException
/// derives from BaseException, which `except Exception` misses), with the panic's message:
/// a bug of trajwalk's, reported as one.
fn panicked(payload: Box<dyn std::any::Any + Send>) -> PyErr {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into());
    PyRuntimeError::new_err(format!("trajwalk failed inside the computation (a bug: please report it): {message}"))
}

/// The frames as a dict of flat arrays that `trajwalk.Results` shapes.
fn results<'py>(
    py: Python<'py>,
    analysis: &Analysis,
    collected: Collected,
    completed: &trajwalk::analysis::Completed,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let n = collected.results.len();
    d.set_item("frames", PyArray1::from_vec(py, collected.keys))?;
    d.set_item("times", PyArray1::from_vec(py, collected.times))?;
    d.set_item("time_unit", collected.time_unit)?;
    d.set_item("length_unit", &collected.length_unit)?;
    let r = &collected.results;
    d.set_item("walks", PyArray1::from_vec(py, r.iter().map(|f| f.walks).collect()))?;
    d.set_item("interior_samples", PyArray1::from_vec(py, r.iter().map(|f| f.interior_samples).collect()))?;
    d.set_item("converged", PyList::new(py, r.iter().map(|f| f.converged))?)?;
    d.set_item("warnings", PyList::new(py, r.iter().map(|f| f.warnings.clone()))?)?;
    d.set_item("seconds", PyArray1::from_vec(py, r.iter().map(|f| f.seconds).collect()))?;
    let quantities = PyDict::new(py);
    if let Some(first) = r.first() {
        for (k, e) in first.estimates.iter().enumerate() {
            let q = e.quantity;
            let flat = |pick: &dyn Fn(&trajwalk::estimate::Estimate) -> Vec<f64>| -> Vec<f64> {
                r.iter().flat_map(|f| pick(&f.estimates[k])).collect()
            };
            let value = flat(&|e| e.value.clone());
            let std = flat(&|e| e.std.clone());
            let model = q.model_relative_uncertainty().map(|_| flat(&|e| trajwalk::output::model_std(e).expect("the quantity has one")));
            let shape = match q.shape() {
                Shape::Scalar => "scalar",
                Shape::Vector => "vector",
                Shape::Tensor => "tensor",
            };
            let entry = PyDict::new(py);
            entry.set_item("value", PyArray1::from_vec(py, value))?;
            entry.set_item("std", PyArray1::from_vec(py, std))?;
            entry.set_item("model_std", model.map(|m| PyArray1::from_vec(py, m)))?;
            entry.set_item("shape", shape)?;
            entry.set_item("unit", q.unit(&collected.length_unit))?;
            quantities.set_item(q.name(), entry)?;
        }
    }
    d.set_item("quantities", quantities)?;
    d.set_item("n_frames", n)?;
    d.set_item("plan", completed.plan.as_ref().map(|p| serde_json::to_string(p).expect("a plan serialises")))?;
    d.set_item("plan_object", completed.plan.clone().map(|inner| Plan { inner }))?;
    d.set_item("notes", PyList::new(py, analysis.notes())?)?;
    d.set_item("summary", completed.summary.json(&collected.length_unit).to_string())?;
    d.set_item("parameters", analysis.parameters().to_string())?;
    Ok(d)
}

/// Atom names, residue names, residue numbers and segment ids, one of each per atom.
type Residues = (Vec<String>, Vec<String>, Vec<i64>, Vec<String>);

/// Every observable of every frame of `positions` (frames x atoms x 3, float32 or float64),
/// each frame's random streams keyed by its entry of `keys`.
#[pyfunction]
#[pyo3(signature = (positions, keys, radii=None, elements=None, times=None, length_unit="A", time_unit=None, plan=None, options=None, cells=None, residues=None))]
#[allow(clippy::too_many_arguments)]
fn compute<'py>(
    py: Python<'py>,
    positions: &Bound<'py, PyAny>,
    keys: Vec<u64>,
    radii: Option<&Bound<'py, PyAny>>,
    elements: Option<Vec<Option<String>>>,
    times: Option<Vec<f64>>,
    length_unit: &str,
    time_unit: Option<String>,
    plan: Option<PyRef<'py, Plan>>,
    options: Option<&Bound<'py, PyDict>>,
    cells: Option<PyReadonlyArray3<'py, f64>>,
    residues: Option<Residues>,
) -> PyResult<Bound<'py, PyDict>> {
    guarded(|| {
        let (mut opts, outputs) = crate::options(options, false)?;
        let (coordinates, atoms) = if let Ok(a) = positions.extract::<PyReadonlyArray3<f32>>() {
            (Coordinates::F32(a.as_array().iter().copied().collect()), a.as_array().shape()[1])
        } else if let Ok(a) = positions.extract::<PyReadonlyArray3<f64>>() {
            (Coordinates::F64(a.as_array().iter().copied().collect()), a.as_array().shape()[1])
        } else {
            return Err(PyTypeError::new_err("positions must be a float32 or float64 array of frames x atoms x 3"));
        };
        let mut topology = match elements {
            Some(e) => Topology::from_elements(e.iter().map(|s| s.as_deref().and_then(topology::element_symbol)).collect()),
            None => Topology::default(),
        };
        // Names and residues (atom names, residue names and numbers, segments), so that the
        // library's unwrap keeps a polymer's consecutive residues together.
        if let Some((names, resnames, resids, segids)) = residues {
            if topology.is_empty() {
                topology = Topology::from_elements(vec![None; names.len()]);
            }
            let n = topology.len();
            if [names.len(), resnames.len(), resids.len(), segids.len()].iter().any(|&k| k != n) {
                return Err(PyValueError::new_err(format!("the residue lists must have one entry for each of the {n} atoms")));
            }
            for (i, atom) in topology.atoms.iter_mut().enumerate() {
                atom.name = names[i].clone();
                atom.resname = resnames[i].clone();
                atom.resid = resids[i];
                atom.chain = segids[i].clone();
                atom.segid = segids[i].clone();
            }
        }
        let cells = match cells {
            None => None,
            Some(c) => {
                let c = c.as_array();
                if c.shape()[1..] != [3, 3] {
                    return Err(PyValueError::new_err("cells must be frames x 3 x 3 (rows are the cell vectors)"));
                }
                Some((0..c.shape()[0]).map(|f| std::array::from_fn(|i| std::array::from_fn(|j| c[[f, i, j]]))).collect())
            }
        };
        opts.job.radii = match radii {
            None => None,
            Some(r) => match r.extract::<f64>() {
                Ok(uniform) => Some(Radii::Uniform(uniform)),
                Err(_) => Some(Radii::PerAtom(extract("radii", r, "a number or one radius per atom")?)),
            },
        };
        if opts.job.radii.is_none() && topology.is_empty() {
            return Err(PyValueError::new_err("invalid option: give radii (one per atom, or one for all) or the atoms' elements"));
        }
        let frames = Frames { name: "positions".into(), coordinates, atoms, keys, times, cells };
        let unit = LengthUnit::parse(length_unit).map_err(error)?;
        let trajectory = Trajectory::from_memory(frames, topology, unit, time_unit).map_err(error)?;
        let mut analysis = Analysis::from_trajectory(trajectory, opts).map_err(error)?;
        if let Some(p) = plan {
            analysis = analysis.with_plan(p.inner.clone());
        }
        let mut collected = Collected::default();
        let progress = outputs.progress;
        let (analysis, outcome) = run_detached(py, analysis, &mut collected, move || {
            Ok(vec![Box::new(trajwalk::progress::Progress::new(progress)) as Box<dyn Sink>])
        })?;
        let completed = outcome.map_err(error)?;
        results(py, &analysis, collected, &completed)
    })
}

/// The file-based run with every option of the command line's `run`, on one input or on
/// several read as one trajectory in order (`trajwalk run md1.xtc md2.xtc`).
#[pyfunction]
#[pyo3(signature = (paths, options=None))]
fn run<'py>(py: Python<'py>, paths: Vec<PathBuf>, options: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyDict>> {
    guarded(|| {
        let (opts, outputs) = self::options(options, true)?;
        let mut analysis = Analysis::open_all(&paths, opts).map_err(error)?;
        if let Some(cp) = &outputs.checkpoint {
            analysis = analysis.checkpoint(cp, outputs.fresh);
        }
        let format = outputs.format.clone().or_else(|| {
            outputs.out.as_deref().and_then(|p| p.extension()).and_then(|e| e.to_str()).map(|e| match e {
                "json" => "json".to_string(),
                "csv" => "csv".to_string(),
                "h5" | "h5md" | "hdf5" => "h5".to_string(),
                _ => "table".to_string(),
            })
        });
        let style = match format.as_deref() {
            None | Some("h5") => None,
            Some("json") => Some(Style::Json),
            Some("csv") => Some(Style::Csv),
            Some("table") => Some(Style::Table),
            Some(other) => {
                return Err(PyValueError::new_err(format!("invalid option: format must be json, csv, table or h5, got '{other}'")))
            }
        };
        if let (Some("h5"), None) = (format.as_deref(), &outputs.out) {
            return Err(PyValueError::new_err("invalid option: format 'h5' writes a file: give out='FILE.h5'"));
        }
        let h5 = format.as_deref() == Some("h5");
        let Outputs { out, plot, progress, .. } = outputs;
        let mut collected = Collected::default();
        let (analysis, outcome) = run_detached(py, analysis, &mut collected, move || {
            let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(trajwalk::progress::Progress::new(progress))];
            if let Some(style) = style {
                sinks.push(Box::new(Report::new(trajwalk::output::staged::Destination::open(out.as_deref())?, style)));
            }
            if let (true, Some(path)) = (h5, &out) {
                sinks.push(Box::new(trajwalk::output::h5::H5Results::create(path)?));
            }
            if let Some(path) = &plot {
                sinks.push(Box::new(trajwalk::plot::Plot::new(path)?));
            }
            Ok(sinks)
        })?;
        let completed = outcome.map_err(error)?;
        results(py, &analysis, collected, &completed)
    })
}

/// The library's Bondi radius of each element (NaN where the table has none), for a
/// Python caller that resolves radii itself.
#[pyfunction]
fn bondi_radii(elements: Vec<Option<String>>) -> Vec<f64> {
    let table = RadiiTable::bondi();
    elements.iter().map(|e| e.as_deref().and_then(topology::element_symbol).and_then(|s| table.get(s)).unwrap_or(f64::NAN)).collect()
}

/// The statistical inefficiency g of a series in time order (None for fewer than 2 values
/// or a constant series): the library's estimator, so Python's standard errors over frames
/// are the command line's.
#[pyfunction]
fn statistical_inefficiency(values: Vec<f64>) -> Option<f64> {
    trajwalk::output::summary::statistical_inefficiency(&values)
}

/// The extension module.
#[pymodule]
fn _trajwalk(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // At import, before trajwalk starts any thread of its own.
    trajwalk::gpu::quiet_mesa_device_select();
    m.add_class::<Plan>()?;
    m.add_function(wrap_pyfunction!(compute, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(bondi_radii, m)?)?;
    m.add_function(wrap_pyfunction!(statistical_inefficiency, m)?)?;
    m.add_function(wrap_pyfunction!(option_names, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
