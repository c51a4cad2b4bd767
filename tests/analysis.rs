//! The library's front door: a whole run driven through `Analysis` and its sinks, as the
//! Python module and an MPI rank 0 drive it. A run stopped through the API resumes from its
//! checkpoint to the bits of one that never stopped and of the command line's JSON; sinks
//! see one begin, every frame in frame order, one finish; a run that fails before its first
//! frame finishes none; the plan is a library call.

mod common;

use common::h5::{positions, H5md, Save};
use common::{s, trajwalk};
use serde_json::Value;
use std::path::{Path, PathBuf};
use trajwalk::analysis::{Analysis, End, Execution, Options, Sink, Start};
use trajwalk::compute::{FrameResult, Sampling};
use trajwalk::exec::Kind;
use trajwalk::job::JobOptions;
use trajwalk::output::staged::Destination;
use trajwalk::output::{FrameReport, Report, Style};
use trajwalk::radii::{Radii, RadiiKey, RadiiTable};
use trajwalk::trajectory::FrameSelection;
use trajwalk::Error;

fn scratch(name: &str) -> PathBuf {
    let path = common::scratch("analysis", name);
    let _ = std::fs::remove_file(&path);
    path
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name)
}

/// The first 12 frames of the bundled peptide, 6e3 walks and 2e3 interior samples each.
fn peptide(strategy: Kind, workers: usize, threads: usize) -> Options {
    let table = RadiiTable::named_or_file(&s(&example("united-atom.radii"))).unwrap();
    Options {
        job: JobOptions {
            radii: Some(Radii::Table { table, key: RadiiKey::Element }),
            frames: FrameSelection::Slice { start: None, stop: Some(12), step: 1 },
            sampling: Sampling { walks: 6000, interior_samples: 2000, ..Default::default() },
            ..Default::default()
        },
        execution: Execution { strategy: Some(strategy), workers: Some(workers), threads: Some(threads), ..Default::default() },
        ..Default::default()
    }
}

/// What the command line gives for the same frames.
const CLI_OPTIONS: [&str; 8] = ["--stop", "12", "--walks", "6000", "--interior", "2000", "--quiet", "--format"];

/// A sink that keeps what it is handed, and can fail on the n-th frame to stop a run.
#[derive(Default)]
struct Collect {
    begun: usize,
    finished: usize,
    stored_at_start: usize,
    frames: Vec<(usize, bool, FrameResult)>,
    fail_at: Option<usize>,
    complete: Option<bool>,
}

impl Sink for Collect {
    fn begin(&mut self, start: &Start) -> trajwalk::Result<()> {
        self.begun += 1;
        self.stored_at_start = start.frames_stored;
        Ok(())
    }

    fn frame(&mut self, f: &FrameReport) -> trajwalk::Result<()> {
        if self.fail_at == Some(self.frames.len()) {
            return Err(Error::Option("the test stops here".into()));
        }
        self.frames.push((f.info.index, f.from_checkpoint, f.result.clone()));
        Ok(())
    }

    fn finish(&mut self, end: &End) -> trajwalk::Result<()> {
        self.finished += 1;
        self.complete = Some(end.complete);
        Ok(())
    }
}

/// A frame's numbers: everything but its timing.
fn numbers(r: &FrameResult) -> impl PartialEq + std::fmt::Debug + '_ {
    (&r.estimates, r.walks, r.interior_samples, r.hits, r.steps, r.converged, &r.launch)
}

fn frames_without_seconds(doc: &Value) -> Vec<Value> {
    doc["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mut f = f.clone();
            f.as_object_mut().unwrap().remove("seconds");
            f
        })
        .collect()
}

#[test]
fn a_run_stopped_through_the_api_resumes_to_the_bits_of_an_uninterrupted_run_and_of_the_cli() {
    let input = example("peptide.h5md");
    let cp = scratch("resume.sqlite");

    let mut stopper = Collect { fail_at: Some(3), ..Default::default() };
    let stopped = Analysis::open(&input, peptide(Kind::Frames, 2, 1)).unwrap().checkpoint(&cp, false).run(&mut [&mut stopper]);
    let e = stopped.unwrap_err();
    assert_eq!(
        e.to_string(),
        "stopped after 3 of 12 frames; the 3 finished were written, and committed to the checkpoint: invalid option: the test stops here"
    );
    assert!(matches!(e, Error::Stopped { written: 3, total: 12, checkpointed: true, .. }));
    assert_eq!((stopper.begun, stopper.finished, stopper.complete), (1, 1, Some(false)), "a stopped run still finishes its sinks");
    assert_eq!(stopper.frames.iter().map(|f| f.0).collect::<Vec<_>>(), [0, 1, 2]);

    let json = scratch("resumed.json");
    let mut report = Report::new(Destination::open(Some(&json)).unwrap(), Style::Json);
    let mut resumed = Collect::default();
    let done =
        Analysis::open(&input, peptide(Kind::Threads, 1, 2)).unwrap().checkpoint(&cp, false).run(&mut [&mut resumed, &mut report]).unwrap();
    // The frame that stopped the sink was committed before the sink saw it.
    assert!(done.frames_from_checkpoint >= 4, "{} frames were read back", done.frames_from_checkpoint);
    assert_eq!(done.frames_from_checkpoint + done.frames_computed, 12);
    assert_eq!(resumed.stored_at_start, done.frames_from_checkpoint);
    assert_eq!(resumed.frames.iter().map(|f| f.0).collect::<Vec<_>>(), (0..12).collect::<Vec<_>>(), "frame order");
    let flags: Vec<bool> = resumed.frames.iter().map(|f| f.1).collect();
    assert_eq!(flags.iter().filter(|&&b| b).count(), done.frames_from_checkpoint, "{flags:?}");

    let mut straight = Collect::default();
    let reference = Analysis::open(&input, peptide(Kind::Serial, 1, 1)).unwrap().run(&mut [&mut straight]).unwrap();
    assert_eq!((reference.frames_computed, reference.frames_from_checkpoint), (12, 0));
    for (a, b) in resumed.frames.iter().zip(&straight.frames) {
        assert_eq!(numbers(&a.2), numbers(&b.2), "frame {}", a.0);
    }
    assert_eq!(done.summary.json("A"), reference.summary.json("A"));

    let radii = s(&example("united-atom.radii"));
    let mut args = vec!["run", s(&input).leak() as &str, "--radii", &radii];
    args.extend(CLI_OPTIONS);
    args.push("json");
    let out = trajwalk(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    let api: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(frames_without_seconds(&api), frames_without_seconds(&cli));
    assert_eq!(api["parameters"], cli["parameters"]);
    assert_eq!(api["summary"], cli["summary"]);
}

#[test]
fn a_run_that_fails_before_its_first_frame_finishes_no_sink() {
    let bad = scratch("nan.h5md");
    let mut f = H5md::new(positions(2, 2, |_, a| if a == 1 { [f64::NAN, 0.0, 0.0] } else { [0.0; 3] }));
    f.species = Some(vec![6, 6]);
    f.write(&bad);
    let mut sink = Collect::default();
    let options = Options {
        job: JobOptions { sampling: Sampling { walks: 100, interior_samples: 100, ..Default::default() }, ..Default::default() },
        ..Default::default()
    };
    // With a checkpoint, planning's failure is the first frame's: the run begins, delivers
    // nothing and finishes nothing, and the checkpoint records the failure.
    let cp = scratch("nan.sqlite");
    let e = Analysis::open(&bad, options.clone()).unwrap().checkpoint(&cp, false).run(&mut [&mut sink]).unwrap_err();
    let expected = format!("{}: frame 0: atom 1 (C) has a non-finite coordinate [NaN, 0.0, 0.0]", bad.display());
    assert_eq!(e.to_string(), expected);
    assert_eq!((sink.begun, sink.frames.len(), sink.finished), (1, 0, 0));
    let mut again = Collect::default();
    Analysis::open(&bad, options).unwrap().checkpoint(&cp, false).run(&mut [&mut again]).unwrap_err();
    assert_eq!(again.stored_at_start, 0, "a failed frame is not stored");
}

#[test]
fn the_plan_is_a_library_call_and_hybrid_says_what_it_needs() {
    let bod = example("two_spheres.bod");
    let serial = Options { execution: Execution { strategy: Some(Kind::Serial), ..Default::default() }, ..Default::default() };
    let plan = Analysis::open(&bod, serial).unwrap().plan().unwrap();
    assert_eq!((plan.strategy, plan.workers, plan.threads), (Kind::Serial, 1, 1));
    assert!(plan.candidates.iter().all(|c| c.strategy == Kind::Serial), "{:?}", plan.candidates);

    let hybrid = |cores| Options {
        execution: Execution { strategy: Some(Kind::Hybrid), cores: Some(cores), ..Default::default() },
        ..Default::default()
    };
    // Refused when the analysis is opened, before anything is profiled or written.
    let e = Analysis::open(&bod, hybrid(2)).err().unwrap();
    assert_eq!(
        e.to_string(),
        "invalid option: strategy hybrid needs at least 2 workers x 2 threads (4 cores), but this machine offers 2 core(s); \
         force a shape to run it anyway: --workers 2 --threads 2"
    );
    let plan = Analysis::open(&bod, hybrid(4)).unwrap().plan().unwrap();
    assert_eq!((plan.strategy, plan.workers, plan.threads), (Kind::Hybrid, 2, 2));

    // The command line says the same on a machine of fewer than 4 cores, as CI's.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let out = trajwalk(&["run", &s(&bod), "--strategy", "hybrid", "--walks", "2000", "--interior", "2000", "--quiet"]);
    if cores < 4 {
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim_end(),
            format!(
                "error: invalid option: strategy hybrid needs at least 2 workers x 2 threads (4 cores), but this machine offers \
                 {cores} core(s); force a shape to run it anyway: --workers 2 --threads 2"
            )
        );
    } else {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn verification_through_the_api() {
    let options = Options { verify: 2, ..peptide(Kind::Frames, 2, 1) };
    let done = Analysis::open(example("peptide.h5md"), options).unwrap().run(&mut []).unwrap();
    let v = done.verification.unwrap();
    assert_eq!((v.frames_checked, v.passed, v.failed_frames.len()), (2, true, 0));
    assert_eq!(done.worker_tasks.iter().map(|w| w.tasks.iter().map(|t| t.frames).sum::<usize>()).sum::<usize>(), 12);
}
