//! Plots a scientist looks at before trusting a run: the observables that track
//! conformational change against frame or time, and the transport coefficients when the run
//! computed them, with error bars, and the planner's predicted against measured times.
//!
//! An error bar is the Monte Carlo std, combined in quadrature with ZENO's fixed model
//! uncertainty where the quantity has one (Rh, `[eta]`, D, s): sqrt(mc^2 + model^2), the
//! larger and honest bar, as ZENO's own +- is. Each panel's caption says which it is.
//!
//! The font is bundled (DejaVu Sans, see DejaVuSans-LICENSE.txt) so that plots render the
//! same on a cluster node without fontconfig or system fonts.

use crate::analysis::sink::{End, Sink, Start};
use crate::error::{Error, Result};
use crate::estimate::Quantity;
use crate::output::{combined_std, model_std, FrameReport};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

const FONT: &str = "sans-serif";

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, include_bytes!("DejaVuSans.ttf"))
            .unwrap_or_else(|_| panic!("the bundled font is a valid TrueType file"));
    });
}

/// One panel: an observable's value and error bar at each x.
pub struct Series {
    /// The quantity's name with spaces, e.g. "hydrodynamic radius".
    pub title: String,
    /// Its unit (the input's length unit, or a physical one); empty for a dimensionless
    /// quantity.
    pub unit: String,
    /// Whether the error bars include ZENO's model uncertainty (combined in quadrature with
    /// the Monte Carlo std) or are the Monte Carlo std alone; the caption says which.
    pub with_model: bool,
    /// (x, value, error bar half-width) for each frame that has the quantity; x is the time
    /// or the frame index.
    pub points: Vec<(f64, f64, f64)>,
}

impl Series {
    fn caption(&self) -> String {
        let bars = if self.with_model { "bars: sqrt(MC\u{b2} + model\u{b2})" } else { "bars: MC std" };
        format!("{} ({bars})", self.title)
    }
}

/// The observables always plotted: the ones that follow a molecule's conformation.
const PLOTTED: [Quantity; 4] = [Quantity::HydrodynamicRadius, Quantity::IntrinsicViscosity, Quantity::RadiusOfGyration, Quantity::Volume];

/// Plotted too when the run computed them (their conditions were given): what is compared
/// with experiment in physical units. The friction coefficient is left out: it is Rh times
/// a constant, a copy of the Rh panel, and rarely what is measured.
const TRANSPORT: [Quantity; 3] =
    [Quantity::DiffusionCoefficient, Quantity::SedimentationCoefficient, Quantity::IntrinsicViscosityMassUnits];

/// An empty panel for each quantity that may be plotted, conformational then transport.
fn candidates(length_unit: &str) -> Vec<Series> {
    PLOTTED
        .iter()
        .chain(&TRANSPORT)
        .map(|q| Series {
            title: q.name().replace('_', " "),
            unit: q.unit(length_unit),
            with_model: q.model_relative_uncertainty().is_some(),
            points: vec![],
        })
        .collect()
}

/// A run's observables plot, a sink of its frames: drawn when the run finishes, against
/// time when the input has times, else against the frame index.
pub struct Plot {
    path: PathBuf,
    x_is_time: bool,
    time_unit: Option<String>,
    series: Vec<Series>,
    /// Each delivered frame's time by frame index; the points hold the frame index until
    /// `finish` knows whether every time can be an axis.
    times: std::collections::HashMap<usize, Option<f64>>,
}

/// The largest time magnitude drawn on a time axis. The axis pads its range by 5% and
/// plotters computes ticks from it: near f64's limit (a damaged file's 1.8e308) the padded
/// range overflows to infinity and the tick loop never ends. No simulation's time is near.
const MAX_AXIS_TIME: f64 = 1e100;

impl Plot {
    /// A plot to `path` (.png or .svg), checked now so a bad name fails before any work.
    pub fn new(path: &Path) -> Result<Plot> {
        check_path(path)?;
        Ok(Plot { path: path.into(), x_is_time: false, time_unit: None, series: vec![], times: Default::default() })
    }
}

impl Sink for Plot {
    fn begin(&mut self, start: &Start) -> Result<()> {
        let t = &start.job.trajectory;
        self.x_is_time = start.job.frames.first().is_some_and(|&i| t.frames[i].time.is_some());
        self.time_unit = t.time_unit.clone();
        self.series = candidates(&t.length_unit.name);
        Ok(())
    }

    fn frame(&mut self, f: &FrameReport) -> Result<()> {
        let x = f.info.index as f64;
        self.times.insert(f.info.index, f.info.time);
        for (s, q) in self.series.iter_mut().zip(PLOTTED.iter().chain(&TRANSPORT)) {
            if let Some(e) = f.result.get(*q) {
                let model = model_std(e).map(|m| m[0]);
                s.points.push((x, e.value[0], combined_std(e.std[0], model)));
            }
        }
        Ok(())
    }

    fn finish(&mut self, _end: &End) -> Result<()> {
        let x_label = self.settle_axis();
        // The conformational panels always; the transport ones only when computed.
        let shown: Vec<&Series> =
            self.series.iter().enumerate().filter(|(k, s)| *k < PLOTTED.len() || !s.points.is_empty()).map(|(_, s)| s).collect();
        observables(&self.path, &x_label, &shown)
    }

    fn target(&self) -> Option<&Path> {
        Some(&self.path)
    }
}

impl Plot {
    /// Puts the points on their x axis, time or frame, and returns the axis' label.
    fn settle_axis(&mut self) -> String {
        // A time axis only when every frame's time can be drawn on one: a NaN or infinite
        // time (a damaged file) was drawn at the axis' edge or on a made-up 0-1 axis, and
        // 1.8e308 made the axis loop for ever. Otherwise the frames, with the reason.
        let drawable = |t: &Option<f64>| t.is_some_and(|t| t.is_finite() && t.abs() <= MAX_AXIS_TIME);
        let unusable = self.times.values().filter(|t| !drawable(t)).count();
        let x_label = match (self.x_is_time, &self.time_unit) {
            (true, _) if unusable > 0 => {
                format!("frame ({unusable} of {} frame times are not finite or beyond {MAX_AXIS_TIME:e})", self.times.len())
            }
            (true, Some(u)) => format!("time [{u}]"),
            (true, None) => "time".into(),
            (false, _) => "frame".into(),
        };
        if self.x_is_time && unusable == 0 {
            for s in &mut self.series {
                for p in &mut s.points {
                    p.0 = self.times[&(p.0 as usize)].expect("every time is drawable");
                }
            }
        }
        x_label
    }
}

/// Checks that a plot can be written to `path` (by extension), before any work is done.
pub fn check_path(path: &Path) -> Result<()> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("png" | "svg") => Ok(()),
        _ => Err(Error::Option(format!("--plot {}: the file must end in .png or .svg", path.display()))),
    }
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.05 * lo.abs().max(1.0) };
    (lo - pad, hi + pad)
}

fn draw_series<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, s: &Series, x_label: &str) -> Result<(), String> {
    let (x0, x1) = range(s.points.iter().map(|p| p.0));
    let (y0, y1) = range(s.points.iter().flat_map(|p| [p.1 - p.2, p.1 + p.2]));
    let mut chart = ChartBuilder::on(area)
        .caption(s.caption(), (FONT, 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| e.to_string())?;
    let y_desc = if s.unit.is_empty() { String::new() } else { format!("[{}]", s.unit) };
    // Values as small as D in cm^2/s (1e-6) would read "0.0" on every tick: those get
    // scientific labels, with the digits the axis span needs.
    let big = y0.abs().max(y1.abs());
    let sci = big > 0.0 && !(1e-3..1e5).contains(&big);
    let digits = ((big / (y1 - y0)).log10().ceil() as i64 + 1).clamp(1, 6) as usize;
    let scientific = move |v: &f64| format!("{v:.digits$e}");
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_label).y_desc(y_desc).label_style((FONT, 14)).axis_desc_style((FONT, 15));
    if sci {
        mesh.y_label_formatter(&scientific);
    }
    mesh.draw().map_err(|e| e.to_string())?;
    let finite: Vec<(f64, f64, f64)> = s.points.iter().copied().filter(|p| p.1.is_finite()).collect();
    chart.draw_series(LineSeries::new(finite.iter().map(|p| (p.0, p.1)), BLUE.mix(0.5))).map_err(|e| e.to_string())?;
    chart
        .draw_series(finite.iter().map(|&(x, y, e)| {
            let e = if e.is_finite() { e } else { 0.0 };
            ErrorBar::new_vertical(x, y - e, y, y + e, BLUE.filled(), 5)
        }))
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn draw_observables<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, series: &[&Series], x_label: &str) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let rows = series.len().div_ceil(2).max(1);
    for (area, s) in root.split_evenly((rows, 2)).iter().zip(series) {
        draw_series(area, s, x_label)?;
    }
    root.present().map_err(|e| e.to_string())
}

/// Predicted (x) against measured (y) seconds, one labelled point per strategy, with the
/// line y = x: points above it are strategies the planner was optimistic about.
fn draw_plan<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, rows: &[(String, f64, f64)]) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (_, hi) = range(rows.iter().flat_map(|r| [r.1, r.2]));
    let mut chart = ChartBuilder::on(&root)
        .caption("planner: predicted against measured time", (FONT, 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..hi, 0.0..hi)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("predicted seconds")
        .y_desc("measured seconds")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()
        .map_err(|e| e.to_string())?;
    chart.draw_series(LineSeries::new([(0.0, 0.0), (hi, hi)], BLACK.mix(0.4))).map_err(|e| e.to_string())?;
    chart
        .draw_series(rows.iter().map(|(label, p, m)| {
            EmptyElement::at((*p, *m)) + Circle::new((0, 0), 5, RED.filled()) + Text::new(label.clone(), (8, -8), (FONT, 14))
        }))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// Renders with `draw` into a temporary file beside `path` and renames it into place, so a
/// failed plot leaves no partial file.
fn render(path: &Path, draw: impl Fn(&Path) -> Result<(), String>) -> Result<()> {
    check_path(path)?;
    register_font();
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("png");
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let tmp: PathBuf = dir.join(format!(".{name}.tmp{}.{ext}", std::process::id()));
    let result = draw(&tmp).and_then(|()| std::fs::rename(&tmp, path).map_err(|e| e.to_string()));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|message| Error::Output { path: path.into(), message })
}

fn is_svg(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "svg")
}

/// Observables against `x_label` (frame or time), two panels per row, 450 pixels high each
/// in a PNG 1200 wide.
pub fn observables(path: &Path, x_label: &str, series: &[&Series]) -> Result<()> {
    let size = (1200, 450 * series.len().div_ceil(2).max(1) as u32);
    render(path, |tmp| {
        if is_svg(path) {
            draw_observables(SVGBackend::new(tmp, size).into_drawing_area(), series, x_label)
        } else {
            draw_observables(BitMapBackend::new(tmp, size).into_drawing_area(), series, x_label)
        }
    })
}

/// The planner's predicted against measured seconds, `(label, predicted, measured)`.
pub fn plan(path: &Path, rows: &[(String, f64, f64)]) -> Result<()> {
    let size = (900, 800);
    render(path, |tmp| {
        if is_svg(path) {
            draw_plan(SVGBackend::new(tmp, size).into_drawing_area(), rows)
        } else {
            draw_plan(BitMapBackend::new(tmp, size).into_drawing_area(), rows)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::FrameResult;
    use crate::estimate::Estimate;
    use crate::trajectory::FrameInfo;
    use crate::units::LengthUnit;

    /// Frames at `times` with a hydrodynamic radius, fed to a plot with a time axis.
    fn timed(times: &[Option<f64>]) -> Plot {
        let mut plot = Plot::new(Path::new("unused.svg")).unwrap();
        plot.series = candidates("A");
        plot.x_is_time = true;
        plot.time_unit = Some("ps".into());
        let unit = LengthUnit { name: "A".into(), meters: Some(1e-10) };
        for (index, &time) in times.iter().enumerate() {
            let result = FrameResult::of(vec![Estimate { quantity: Quantity::HydrodynamicRadius, value: vec![20.0], std: vec![0.1] }]);
            let info = FrameInfo { index, key: index as u64, step: None, time, wepy: None };
            let report =
                FrameReport { info: &info, length_unit: &unit, time_unit: Some("ps"), spheres: 1, result: &result, from_checkpoint: false };
            plot.frame(&report).unwrap();
        }
        plot
    }

    /// NaN, infinite and near-f64::MAX times fall back to frame numbers, said on the axis,
    /// and the plot is drawn in bounded time: at 1.8e308 the padded range overflowed and
    /// plotters' tick loop never ended (the run ignored SIGTERM).
    #[test]
    fn times_that_cannot_be_an_axis_fall_back_to_frames_and_the_plot_ends() {
        let mut plot = timed(&[Some(0.0), Some(f64::NAN), Some(1.79e308), Some(f64::INFINITY)]);
        let label = plot.settle_axis();
        assert_eq!(label, "frame (3 of 4 frame times are not finite or beyond 1e100)");
        let xs: Vec<f64> = plot.series[0].points.iter().map(|p| p.0).collect();
        assert_eq!(xs, [0.0, 1.0, 2.0, 3.0]);
        let path = std::env::temp_dir().join(format!("trajwalk-plot-{}.svg", std::process::id()));
        let (done, wait) = std::sync::mpsc::channel();
        let target = path.clone();
        std::thread::spawn(move || {
            let shown: Vec<&Series> = plot.series.iter().take(PLOTTED.len()).collect();
            let _ = done.send(observables(&target, &label, &shown).map_err(|e| e.to_string()));
        });
        let drawn = wait.recv_timeout(std::time::Duration::from_secs(120)).expect("the plot is drawn within two minutes");
        assert_eq!(drawn, Ok(()));
        std::fs::remove_file(path).unwrap();
        // Finite times are the axis.
        let mut plot = timed(&[Some(0.0), Some(2.5)]);
        assert_eq!(plot.settle_axis(), "time [ps]");
        assert_eq!(plot.series[0].points.iter().map(|p| p.0).collect::<Vec<_>>(), [0.0, 2.5]);
    }

    #[test]
    fn error_bars_add_the_model_uncertainty_in_quadrature_where_there_is_one() {
        let mut plot = Plot::new(Path::new("unused.png")).unwrap();
        plot.series = candidates("A");
        let estimate = |quantity, value: f64, std: f64| Estimate { quantity, value: vec![value], std: vec![std] };
        let result = FrameResult::of(vec![
            estimate(Quantity::HydrodynamicRadius, 20.0, 0.15),
            estimate(Quantity::RadiusOfGyration, 17.0, 0.3),
            estimate(Quantity::DiffusionCoefficient, 1.5e-6, 4e-9),
        ]);
        let info = FrameInfo { index: 3, key: 3, step: None, time: None, wepy: None };
        let unit = LengthUnit { name: "A".into(), meters: Some(1e-10) };
        let report = FrameReport { info: &info, length_unit: &unit, time_unit: None, spheres: 1, result: &result, from_checkpoint: false };
        plot.frame(&report).unwrap();
        let points = |title: &str| plot.series.iter().find(|s| s.title == title).unwrap().points.clone();
        // Rh: 1% model std, 0.2, with MC 0.15 gives a bar of 0.25.
        assert_eq!(points("hydrodynamic radius"), [(3.0, 20.0, 0.15f64.hypot(20.0 * 0.01))]);
        assert!((points("hydrodynamic radius")[0].2 - 0.25).abs() < 1e-12);
        assert_eq!(points("radius of gyration"), [(3.0, 17.0, 0.3)], "no model uncertainty: the MC std alone");
        assert_eq!(points("diffusion coefficient"), [(3.0, 1.5e-6, 4e-9f64.hypot(1.5e-6 * 0.01))]);
        assert!(points("sedimentation coefficient").is_empty(), "not computed, so not plotted");
        let captions: Vec<String> = plot.series.iter().map(Series::caption).collect();
        assert_eq!(captions[0], "hydrodynamic radius (bars: sqrt(MC\u{b2} + model\u{b2}))");
        assert_eq!(captions[2], "radius of gyration (bars: MC std)");
    }
}
