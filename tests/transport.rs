//! One job over in-process ranks (threads standing for machines, channels for the network,
//! the messages encoded as over MPI): the CSV of one process byte for byte in frames mode
//! and within-frame mode, the plan naming every rank, a rank that dies mid-run ending the
//! job with its name within the timeout and the rerun resuming to the same bytes, a bad
//! frame failing as on one machine after the frames before it, and a rank that prepared
//! another job refused.

mod common;

use common::h5::{positions, H5md, Save};
use common::s;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use trajwalk::analysis::{Analysis, Execution, Options, Sink};
use trajwalk::compute::Sampling;
use trajwalk::distributed::{Config, Fault};
use trajwalk::exec::Kind;
use trajwalk::job::JobOptions;
use trajwalk::output::staged::Destination;
use trajwalk::output::{Report, Style};
use trajwalk::radii::{Radii, RadiiKey, RadiiTable};
use trajwalk::trajectory::FrameSelection;
use trajwalk::transport::{self, Local, Message, Transport};
use trajwalk::Error;

fn scratch(name: &str) -> PathBuf {
    let path = common::scratch("transport", name);
    let _ = std::fs::remove_file(&path);
    path
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name)
}

/// `frames` frames of the bundled peptide on one thread per rank.
fn peptide(frames: usize, walks: u64) -> Options {
    let table = RadiiTable::named_or_file(&s(&example("united-atom.radii"))).unwrap();
    Options {
        job: JobOptions {
            radii: Some(Radii::Table { table, key: RadiiKey::Element }),
            frames: FrameSelection::Slice { start: None, stop: Some(frames as i64), step: 1 },
            sampling: Sampling { walks, interior_samples: walks / 2, ..Default::default() },
            ..Default::default()
        },
        execution: Execution { cores: Some(1), ..Default::default() },
        ..Default::default()
    }
}

fn quick() -> Config {
    Config { timeout: Duration::from_secs(2), startup_timeout: Duration::from_secs(60), heartbeat: Duration::from_millis(100), fault: None }
}

/// The CSV and JSON of one process.
fn alone(input: &Path, options: &Options, csv: &Path) -> Value {
    let json = scratch(&format!("{}.json", csv.file_name().unwrap().to_string_lossy()));
    let analysis = Analysis::open(input, options.clone()).unwrap();
    let mut a = Report::new(Destination::open(Some(csv)).unwrap(), Style::Csv);
    let mut b = Report::new(Destination::open(Some(&json)).unwrap(), Style::Json);
    analysis.run(&mut [&mut a as &mut dyn Sink, &mut b]).unwrap();
    serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap()
}

/// An in-process rank whose every send goes through `hook` first, which may hold it (a
/// slow or a dead machine) or change what it says.
struct Hooked<F> {
    inner: Local,
    hook: F,
}

impl<F: Fn(usize, &Message) -> Message> Transport for Hooked<F> {
    fn rank(&self) -> usize {
        self.inner.rank()
    }
    fn size(&self) -> usize {
        self.inner.size()
    }
    fn host(&self) -> String {
        self.inner.host()
    }
    fn send(&self, to: usize, message: &Message) -> trajwalk::Result<()> {
        self.inner.send(to, &(self.hook)(to, message))
    }
    fn recv(&self, timeout: Duration) -> trajwalk::Result<Option<(usize, Message)>> {
        self.inner.recv(timeout)
    }
}

/// A rank that goes quiet for good after sending `sends` messages: a machine that died.
fn goes_quiet(inner: Local, sends: usize) -> Hooked<impl Fn(usize, &Message) -> Message> {
    let left = AtomicUsize::new(sends);
    Hooked {
        inner,
        hook: move |_, m: &Message| {
            if left.fetch_sub(1, Ordering::SeqCst) == 0 {
                // Never returns: the rank neither sends nor answers again.
                loop {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            }
            m.clone()
        },
    }
}

/// Runs `options` over `size` ranks with `config` (rank `dying` dies after `sends`
/// messages; rank `other` prepares `other_options`), rank 0 writing `csv` and a JSON report;
/// what rank 0's run returned, the JSON, and what each other rank's serve returned.
#[allow(clippy::too_many_arguments)]
fn over_ranks(
    config: &Config,
    size: usize,
    input: &Path,
    options: &Options,
    csv: &Path,
    checkpoint: Option<&Path>,
    dying: Option<(usize, usize)>,
    other: Option<(usize, Options)>,
) -> (trajwalk::Result<trajwalk::analysis::Completed>, Option<Value>, Vec<trajwalk::Result<()>>) {
    let json = scratch(&format!("{}.json", csv.file_name().unwrap().to_string_lossy()));
    let mut ends = transport::local(size).into_iter();
    let zero = ends.next().unwrap();
    std::thread::scope(|scope| {
        let workers: Vec<_> = ends
            .map(|end| {
                let o = match &other {
                    Some((r, o)) if *r == end.rank() => o.clone(),
                    _ => options.clone(),
                };
                let dies = dying.filter(|(r, _)| *r == end.rank()).map(|(_, n)| n);
                scope.spawn(move || {
                    let analysis = Analysis::open(input, o).unwrap();
                    match dies {
                        Some(n) => {
                            let t = goes_quiet(end, n);
                            // The dead rank's thread never returns; leak it rather than wait.
                            let config = config.clone();
                            std::thread::spawn(move || analysis.serve(&t, &config));
                            Ok(())
                        }
                        None => analysis.serve(&end, config),
                    }
                })
            })
            .collect();
        let mut analysis = Analysis::open(input, options.clone()).unwrap();
        if let Some(cp) = checkpoint {
            analysis = analysis.checkpoint(cp, false);
        }
        let mut a = Report::new(Destination::open(Some(csv)).unwrap(), Style::Csv);
        let mut b = Report::new(Destination::open(Some(&json)).unwrap(), Style::Json);
        let outcome = analysis.run_ranks(&zero, config, &mut [&mut a as &mut dyn Sink, &mut b]);
        let doc = std::fs::read(&json).ok().map(|j| serde_json::from_slice(&j).unwrap());
        (outcome, doc, workers.into_iter().map(|w| w.join().unwrap()).collect())
    })
}

#[test]
fn four_ranks_hand_out_frames_and_write_the_bytes_of_one_process() {
    let input = example("peptide.h5md");
    let options = peptide(16, 4000);
    let reference = scratch("frames-alone.csv");
    alone(&input, &options, &reference);
    let csv = scratch("frames-ranks.csv");
    let (outcome, doc, workers) = over_ranks(&quick(), 4, &input, &options, &csv, None, None, None);
    let completed = outcome.unwrap();
    assert!(workers.iter().all(|w| w.is_ok()), "{workers:?}");
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), std::fs::read_to_string(&reference).unwrap());
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 17, "a header and 16 frames");
    let doc = doc.unwrap();
    let plan = &doc["plan"];
    assert_eq!(plan["distribution"]["frames_mode"], true, "{}", plan["distribution"]);
    let auto = "; GPU not considered: a job over several ranks walks on GPUs only with --strategy gpu, as GPU and CPU frames differ in their last bits and which rank runs which frame depends on timing";
    assert!(plan["reason"].as_str().unwrap().ends_with(auto), "{}", plan["reason"]);
    let ranks = plan["ranks"].as_array().unwrap();
    assert_eq!(ranks.len(), 4);
    assert!(ranks.iter().all(|r| r["gpu"].is_null()), "{ranks:?}");
    for (k, r) in ranks.iter().enumerate() {
        assert_eq!(r["rank"], k);
        assert_eq!(r["host"], format!("local-{k}"));
        assert_eq!((r["cores"].as_u64(), r["strategy"].as_str(), r["workers"].as_u64()), (Some(1), Some("serial"), Some(1)));
    }
    let frames: u64 = ranks.iter().flat_map(|r| r["tasks"].as_array().unwrap()).map(|t| t["frames"].as_u64().unwrap()).sum();
    assert_eq!(frames, 16, "every frame was computed once, on some rank");
    assert_eq!(completed.ranks.len(), 4);
    assert_eq!(completed.frames_computed, 16);
}

#[test]
fn three_ranks_share_one_frames_walks_and_fold_them_to_the_same_bits() {
    let input = example("peptide.h5md");
    // Two frames with a target: several rounds of blocks per frame, the stopping rule on
    // rank 0.
    let mut options = peptide(2, 20_000);
    options.job.sampling.max_rsd_polarizability = Some(1.0);
    let reference = scratch("within-alone.csv");
    let single = alone(&input, &options, &reference);
    let csv = scratch("within-ranks.csv");
    let (outcome, doc, workers) = over_ranks(&quick(), 3, &input, &options, &csv, None, None, None);
    outcome.unwrap();
    assert!(workers.iter().all(|w| w.is_ok()), "{workers:?}");
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), std::fs::read_to_string(&reference).unwrap());
    let doc = doc.unwrap();
    assert_eq!(doc["plan"]["distribution"]["frames_mode"], false, "{}", doc["plan"]["distribution"]);
    assert!(doc["plan"]["distribution"]["reason"].as_str().unwrap().starts_with("within-frame mode over 3 ranks"));
    let walks = |d: &Value| d["frames"].as_array().unwrap().iter().map(|f| f["walks"].clone()).collect::<Vec<_>>();
    assert_eq!(walks(&doc), walks(&single), "the stopping rule stopped at the same walks");
    let tasks = doc["plan"]["ranks"].as_array().unwrap().iter().filter(|r| !r["tasks"].as_array().unwrap().is_empty()).count();
    assert_eq!(tasks, 3, "every rank ran blocks");
}

#[test]
fn a_rank_that_dies_ends_the_job_naming_it_and_the_rerun_resumes_to_the_same_bytes() {
    let input = example("peptide.h5md");
    let options = peptide(12, 4000);
    let reference = scratch("dies-alone.csv");
    alone(&input, &options, &reference);
    let cp = scratch("dies.sqlite");
    let csv = scratch("dies-ranks.csv");
    let started = Instant::now();
    // Rank 2 says hello, joins, asks twice and returns one task, then goes silent.
    let (outcome, _, _) = over_ranks(&quick(), 3, &input, &options, &csv, Some(&cp), Some((2, 5)), None);
    let waited = started.elapsed();
    let e = outcome.unwrap_err();
    let Error::Stopped { written, error, .. } = &e else { panic!("{e}") };
    assert!(
        matches!(**error, Error::Rank { rank: 2, ref host, .. } if host == "local-2"),
        "the error names the rank and its host: {error}"
    );
    assert!(e.to_string().contains("rank 2 on local-2: sent nothing for 2 s"), "{e}");
    assert!(*written < 12, "the job stopped before its end ({written} frames written)");
    assert!(waited < Duration::from_secs(60), "it ended within the timeout, not a hang ({waited:?})");
    let csv = scratch("resumed-ranks.csv");
    let (outcome, doc, _) = over_ranks(&quick(), 2, &input, &options, &csv, Some(&cp), None, None);
    let completed = outcome.unwrap();
    assert_eq!(completed.frames_from_checkpoint, *written, "the rerun took the committed frames from the checkpoint");
    assert_eq!(doc.unwrap()["frames_computed"], 12 - *written);
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), std::fs::read_to_string(&reference).unwrap());
}

#[test]
fn a_bad_frame_fails_as_on_one_machine_after_the_frames_before_it() {
    let path = scratch("bad.h5md");
    let mut f = H5md::new(positions(9, 2, |i, a| if i == 6 && a == 1 { [f64::NAN, 0.0, 0.0] } else { [2.0 * a as f64, 0.0, 0.0] }));
    f.species = Some(vec![6, 6]);
    f.write(&path);
    let options = Options {
        job: JobOptions { sampling: Sampling { walks: 500, interior_samples: 500, ..Default::default() }, ..Default::default() },
        execution: Execution { cores: Some(1), strategy: Some(Kind::Serial), ..Default::default() },
        ..Default::default()
    };
    let one = Analysis::open(&path, options.clone()).unwrap();
    let reference = scratch("bad-alone.csv");
    let mut a = Report::new(Destination::open(Some(&reference)).unwrap(), Style::Csv);
    let expected = one.run(&mut [&mut a as &mut dyn Sink]).unwrap_err().to_string();
    let csv = scratch("bad-ranks.csv");
    let (outcome, _, workers) = over_ranks(&quick(), 3, &path, &options, &csv, None, None, None);
    assert_eq!(outcome.unwrap_err().to_string(), expected);
    assert!(expected.starts_with("stopped after 6 of 9 frames"), "{expected}");
    assert!(workers.iter().all(|w| w.is_ok()), "the other ranks were told to stop: {workers:?}");
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), std::fs::read_to_string(&reference).unwrap());
}

#[test]
fn a_rank_that_prepared_another_job_is_refused_by_name() {
    let input = example("peptide.h5md");
    let options = peptide(4, 1000);
    let csv = scratch("refused.csv");
    let (outcome, _, workers) = over_ranks(&quick(), 3, &input, &options, &csv, None, None, Some((1, peptide(4, 2000))));
    assert_eq!(
        outcome.unwrap_err().to_string(),
        "rank 1 on local-1: prepared another job than rank 0 (another input file, options or frames)"
    );
    assert_eq!(
        workers[0].as_ref().unwrap_err().to_string(),
        "rank 1 on local-1: prepared another job than rank 0 (another input file, options or frames)"
    );
    assert!(workers[1].is_ok(), "the agreeing rank was told to stop");
}

#[test]
fn a_panic_on_any_rank_ends_the_job_at_once_naming_it_and_the_rerun_resumes_to_the_same_bytes() {
    let input = example("peptide.h5md");
    let options = peptide(12, 4000);
    let reference = scratch("panic-alone.csv");
    alone(&input, &options, &reference);
    // A minute's timeout: only the panic's own message can end the job within seconds.
    let slow = Config { timeout: Duration::from_secs(60), ..quick() };
    for rank in [2, 0] {
        let cp = scratch(&format!("panic-{rank}.sqlite"));
        let csv = scratch(&format!("panic-{rank}-ranks.csv"));
        let fault = Config { fault: Some(Fault { rank, task: 2 }), ..slow.clone() };
        let started = Instant::now();
        let (outcome, _, workers) = over_ranks(&fault, 3, &input, &options, &csv, Some(&cp), None, None);
        let waited = started.elapsed();
        let e = outcome.unwrap_err();
        let (written, cause) = match &e {
            Error::Stopped { written, error, .. } => (*written, &**error),
            e => (0, e),
        };
        assert_eq!(
            cause.to_string(),
            format!("rank {rank} on local-{rank}: its compute thread panicked: TRAJWALK_FAULT: a panic injected at task 2 of this rank, as asked")
        );
        assert!(written < 12, "the job stopped before its end ({written} frames written)");
        assert!(waited < Duration::from_secs(30), "the panic ended the job, not the timeout ({waited:?})");
        for (k, w) in workers.iter().enumerate() {
            match k + 1 == rank {
                true => assert_eq!(w.as_ref().unwrap_err().to_string(), cause.to_string()),
                false => assert!(w.is_ok(), "rank {} was told to stop: {w:?}", k + 1),
            }
        }
        let resumed = scratch(&format!("panic-{rank}-resumed.csv"));
        let (outcome, _, _) = over_ranks(&quick(), 2, &input, &options, &resumed, Some(&cp), None, None);
        assert_eq!(outcome.unwrap().frames_from_checkpoint, written, "the rerun took the committed frames from the checkpoint");
        assert_eq!(std::fs::read_to_string(&resumed).unwrap(), std::fs::read_to_string(&reference).unwrap());
    }
}

#[test]
fn a_fault_is_read_only_from_its_exact_form() {
    assert_eq!(Fault::parse("panic:rank=2:task=3"), Some(Fault { rank: 2, task: 3 }));
    for bad in ["", "panic", "panic:rank=2", "panic:rank=2:task=0", "panic:rank=-1:task=1", "abort:rank=0:task=1", "panic:rank=0:task=1:x"]
    {
        assert_eq!(Fault::parse(bad), None, "{bad}");
    }
}

#[test]
fn a_rank_zero_that_plans_longer_than_the_timeout_does_not_take_the_waiting_ranks_for_dead() {
    // Rank 0 says nothing between the hellos and the description while it opens the
    // checkpoint and profiles; here it takes two and a half times the timeout to send it.
    let config = quick();
    let input = example("peptide.h5md");
    let options = peptide(4, 1000);
    let reference = scratch("slow-alone.csv");
    alone(&input, &options, &reference);
    let csv = scratch("slow-ranks.csv");
    let mut ends = transport::local(3).into_iter();
    let zero = Hooked {
        inner: ends.next().unwrap(),
        hook: |to, m: &Message| {
            if matches!(m, Message::Description(_)) && to == 1 {
                std::thread::sleep(quick().timeout * 5 / 2);
            }
            m.clone()
        },
    };
    std::thread::scope(|scope| {
        let workers: Vec<_> = ends
            .map(|end| {
                let (options, config, input) = (options.clone(), config.clone(), &input);
                scope.spawn(move || Analysis::open(input, options).unwrap().serve(&end, &config))
            })
            .collect();
        let analysis = Analysis::open(&input, options.clone()).unwrap();
        let mut a = Report::new(Destination::open(Some(&csv)).unwrap(), Style::Csv);
        analysis.run_ranks(&zero, &config, &mut [&mut a as &mut dyn Sink]).unwrap();
        for w in workers {
            w.join().unwrap().unwrap();
        }
    });
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), std::fs::read_to_string(&reference).unwrap());
}

/// What rank 1 claims to walk on in the GPU test: another model and driver.
const OTHER_GPU: &str = "Other GPU (vulkan 10de:2204, driver NVIDIA 550.54.14)";

#[test]
fn on_gpus_three_ranks_write_the_bytes_of_one_process_on_its_gpu_and_another_device_or_none_is_refused() {
    if common::gpu_or_skip().is_none() {
        return;
    }
    let input = example("peptide.h5md");
    let mut options = peptide(4, 1000);
    options.execution.strategy = Some(Kind::Gpu);
    let reference = scratch("gpu-alone.csv");
    alone(&input, &options, &reference);
    let csv = scratch("gpu-ranks.csv");
    let (outcome, doc, workers) = over_ranks(&quick(), 3, &input, &options, &csv, None, None, None);
    outcome.unwrap();
    assert!(workers.iter().all(|w| w.is_ok()), "{workers:?}");
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), std::fs::read_to_string(&reference).unwrap());
    let device = trajwalk::gpu::identity(None).unwrap();
    let ranks = doc.unwrap()["plan"]["ranks"].as_array().unwrap().clone();
    assert!(ranks.iter().all(|r| r["strategy"] == "gpu" && r["gpu"] == device.as_str()), "{ranks:?}");
    // A rank whose --gpu-adapter matches nothing.
    let mut missing = options.clone();
    missing.execution.gpu_adapter = Some("no-such-device-anywhere".into());
    let (outcome, _, _) = over_ranks(&quick(), 3, &input, &options, &scratch("gpu-missing.csv"), None, None, Some((1, missing)));
    let e = outcome.unwrap_err().to_string();
    let said = "rank 1 on local-1: has no GPU to walk on, which --strategy gpu asks of every rank (GPU: no GPU adapter matches --gpu-adapter 'no-such-device-anywhere'; found: ";
    assert!(e.starts_with(said), "{e}");
    // A rank on another device or driver.
    let mut ends = transport::local(2).into_iter();
    let zero = ends.next().unwrap();
    let one = Hooked {
        inner: ends.next().unwrap(),
        hook: |_, m: &Message| match m {
            Message::Hello(h) => Message::Hello(trajwalk::transport::Hello { gpu: Some(Ok(OTHER_GPU.into())), ..h.clone() }),
            m => m.clone(),
        },
    };
    let e = std::thread::scope(|scope| {
        let (input, theirs) = (&input, options.clone());
        let served = scope.spawn(move || Analysis::open(input, theirs).unwrap().serve(&one, &quick()));
        let analysis = Analysis::open(input, options.clone()).unwrap();
        let e = analysis.run_ranks(&zero, &quick(), &mut []).unwrap_err();
        assert!(served.join().unwrap().is_err(), "the refused rank fails too");
        e
    });
    assert_eq!(
        e.to_string(),
        format!("rank 1 on local-1: walks on {OTHER_GPU} but rank 0 on {device}: the GPU's bits depend on the device and its driver, so every rank needs the same")
    );
}
