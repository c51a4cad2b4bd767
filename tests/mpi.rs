//! `mpirun trajwalk run ...` (feature `mpi`, OpenMPI with `--oversubscribe` on this
//! machine's cores): 1, 2 and 3 ranks write the CSV of one process byte for byte in frames
//! mode and within-frame mode; a rank killed mid-run ends the job non-zero within a bounded
//! time and the rerun resumes from rank 0's checkpoint to the same bytes, and so does a panic
//! on another rank or on rank 0's compute thread (`TRAJWALK_FAULT`); with `--strategy gpu`
//! two ranks on their GPUs write the bytes of one process on its GPU, and a rank without
//! one is refused by name (skipped without an adapter unless TRAJWALK_REQUIRE_GPU is set,
//! as in tests/gpu.rs); a bad frame exits
//! non-zero with the frames before it written. Every mpirun has its own deadline, so a hang
//! fails its test rather than the CI. Without mpirun the tests skip, unless
//! TRAJWALK_REQUIRE_MPI is set (as .ci/run sets it).
#![cfg(feature = "mpi")]

mod common;

use common::h5::{positions, H5md, Save};
use common::{example, s};
use serde_json::Value;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

fn scratch(name: &str) -> PathBuf {
    let path = common::scratch("mpi", name);
    let _ = std::fs::remove_file(&path);
    path
}

/// Whether mpirun is here; without it the test skips, or fails under TRAJWALK_REQUIRE_MPI.
fn mpirun_or_skip() -> bool {
    let found = Command::new("mpirun").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    match (found, std::env::var_os("TRAJWALK_REQUIRE_MPI").is_some()) {
        (true, _) => true,
        (false, false) => {
            eprintln!("skipped: no mpirun on PATH (install openmpi-bin); set TRAJWALK_REQUIRE_MPI=1 to fail instead");
            false
        }
        (false, true) => panic!("TRAJWALK_REQUIRE_MPI is set but there is no mpirun on PATH"),
    }
}

/// What a run left: its exit, stdout and stderr.
struct Ran {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    seconds: f64,
}

/// A started mpirun (or plain trajwalk) in a process group of its own, killed whole when
/// its deadline passes.
struct Job {
    child: std::process::Child,
    out: PathBuf,
    err: PathBuf,
    started: Instant,
    deadline: Duration,
    what: String,
}

/// Starts `trajwalk ARGS` under `mpirun -np N` (or alone when `np` is None), with `TAG` in
/// its environment so its ranks can be found.
fn start(np: Option<usize>, args: &[&str], tag: &str, deadline: Duration) -> Job {
    start_with(np, args, tag, deadline, 20)
}

/// As [`start`], the ranks taking `timeout` seconds of silence for a dead rank.
fn start_with(np: Option<usize>, args: &[&str], tag: &str, deadline: Duration, timeout: u32) -> Job {
    start_env(np, args, tag, deadline, timeout, &[])
}

/// As [`start_with`], with `env` added to every rank's environment.
fn start_env(np: Option<usize>, args: &[&str], tag: &str, deadline: Duration, timeout: u32, env: &[(&str, &str)]) -> Job {
    let bin = env!("CARGO_BIN_EXE_trajwalk");
    let mut command = match np {
        Some(n) => {
            let mut c = Command::new("mpirun");
            c.args(["--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "-np", &n.to_string(), bin]);
            c
        }
        None => Command::new(bin),
    };
    command.args(args);
    spawn(command, &format!("{np:?} ranks: {}", args.join(" ")), tag, deadline, timeout, env)
}

/// Starts `command` (`what` in messages), as [`start_env`] describes.
fn spawn(mut command: Command, what: &str, tag: &str, deadline: Duration, timeout: u32, env: &[(&str, &str)]) -> Job {
    let (out, err) = (scratch(&format!("{tag}.stdout")), scratch(&format!("{tag}.stderr")));
    command
        .env("TRAJWALK_TEST_TAG", tag)
        .env("TRAJWALK_RANK_TIMEOUT", timeout.to_string())
        .envs(env.iter().copied())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .process_group(0);
    let _lock = common::hdf5_fork_lock();
    let child = command.spawn().expect("mpirun starts");
    Job { child, out, err, started: Instant::now(), deadline, what: what.to_string() }
}

impl Job {
    fn wait(mut self) -> Ran {
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if self.started.elapsed() > self.deadline {
                let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).status();
                let _ = self.child.wait();
                panic!(
                    "{} did not end within {:?}; stderr:\n{}",
                    self.what,
                    self.deadline,
                    std::fs::read_to_string(&self.err).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Ran {
            status,
            stdout: std::fs::read_to_string(&self.out).unwrap(),
            stderr: std::fs::read_to_string(&self.err).unwrap(),
            seconds: self.started.elapsed().as_secs_f64(),
        }
    }
}

fn run(np: Option<usize>, args: &[&str], tag: &str) -> Ran {
    start(np, args, tag, Duration::from_secs(120)).wait()
}

fn ok(np: Option<usize>, args: &[&str], tag: &str) -> Ran {
    let r = run(np, args, tag);
    assert!(r.status.success(), "{tag}: {}\n{}", r.stderr, r.stdout);
    r
}

fn peptide_args<'a>(radii: &'a str, input: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["run", input, "--radii", radii, "--quiet"];
    a.extend(rest);
    a
}

/// This machine's name, as MPI reports it for the ranks on it.
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn one_two_and_three_ranks_write_the_bytes_of_one_process_in_frames_mode() {
    if !mpirun_or_skip() {
        return;
    }
    let (input, radii) = (example("peptide.h5md"), example("united-atom.radii"));
    let job = ["--stop", "12", "--walks", "4000", "--interior", "2000", "--threads", "1", "--format", "csv"];
    let reference = ok(None, &peptide_args(&radii, &input, &job), "frames-alone").stdout;
    assert_eq!(reference.lines().count(), 13, "a header and 12 frames");
    for np in [1, 2, 3] {
        let got = ok(Some(np), &peptide_args(&radii, &input, &job), &format!("frames-{np}")).stdout;
        assert_eq!(got, reference, "mpirun -np {np}");
    }
    let report = scratch("frames-3.json");
    let report_s = s(&report);
    let mut rest = job[..8].to_vec();
    rest.extend(["--out", &report_s]);
    ok(Some(3), &peptide_args(&radii, &input, &rest), "frames-3-json");
    let plan = &json(&report)["plan"];
    assert_eq!(plan["distribution"]["frames_mode"], true, "{}", plan["distribution"]);
    let ranks = plan["ranks"].as_array().unwrap();
    assert_eq!(ranks.iter().map(|r| r["rank"].as_u64().unwrap()).collect::<Vec<_>>(), [0, 1, 2]);
    assert!(ranks.iter().all(|r| !r["host"].as_str().unwrap().is_empty() && r["cores"].as_u64() >= Some(1)), "{ranks:?}");
    let frames: u64 = ranks.iter().flat_map(|r| r["tasks"].as_array().unwrap()).map(|t| t["frames"].as_u64().unwrap()).sum();
    assert_eq!(frames, 12, "every frame computed once");
}

#[test]
fn two_and_three_ranks_share_one_frames_walks_to_the_same_bytes() {
    if !mpirun_or_skip() {
        return;
    }
    let (input, radii) = (example("peptide.h5md"), example("united-atom.radii"));
    let job = [
        "--frames",
        "5",
        "--walks",
        "30000",
        "--interior",
        "10000",
        "--max-rsd-polarizability",
        "0.5",
        "--threads",
        "1",
        "--format",
        "csv",
    ];
    let reference = ok(None, &peptide_args(&radii, &input, &job), "within-alone").stdout;
    for np in [2, 3] {
        let report = scratch(&format!("within-{np}.json"));
        let got = ok(Some(np), &peptide_args(&radii, &input, &job), &format!("within-{np}")).stdout;
        assert_eq!(got, reference, "mpirun -np {np}");
        let report_s = s(&report);
        let mut rest = job[..10].to_vec();
        rest.extend(["--out", &report_s]);
        ok(Some(np), &peptide_args(&radii, &input, &rest), &format!("within-{np}-json"));
        let d = &json(&report)["plan"]["distribution"];
        assert_eq!(d["frames_mode"], false, "{d}");
    }
}

/// The pid of rank `rank` of the mpirun started with `tag`, once it runs.
fn rank_pid(tag: &str, rank: usize) -> Option<u32> {
    let want = [format!("TRAJWALK_TEST_TAG={tag}"), format!("OMPI_COMM_WORLD_RANK={rank}")];
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let env = std::fs::read(e.path().join("environ")).ok()?;
        let vars: Vec<&[u8]> = env.split(|&b| b == 0).collect();
        want.iter().all(|w| vars.contains(&w.as_bytes())).then_some(pid)
    })
}

#[test]
fn a_killed_rank_ends_the_job_and_the_rerun_resumes_to_the_same_bytes() {
    if !mpirun_or_skip() {
        return;
    }
    let (input, radii) = (example("peptide.h5md"), example("united-atom.radii"));
    let cp = scratch("killed.sqlite");
    let cp_s = s(&cp);
    let job = ["--stop", "30", "--walks", "20000", "--interior", "5000", "--threads", "1", "--format", "csv"];
    let reference = ok(None, &peptide_args(&radii, &input, &job), "killed-alone").stdout;
    let mut with_cp = job.to_vec();
    with_cp.extend(["--checkpoint", &cp_s]);
    let running = start(Some(3), &peptide_args(&radii, &input, &with_cp), "killed-3", Duration::from_secs(120));
    // Rank 0 holds the checkpoint locked (exclusive mode), so progress shows as its
    // write-ahead log growing: a few frames' commits.
    let wal = PathBuf::from(format!("{cp_s}-wal"));
    let waiting = Instant::now();
    while std::fs::metadata(&wal).map_or(0, |m| m.len()) < 40_000 {
        assert!(waiting.elapsed() < Duration::from_secs(90), "no frames were committed in 90 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!Path::new(&format!("{cp_s}-shm")).exists(), "exclusive locking keeps the WAL index out of shared memory");
    let pid = rank_pid("killed-3", 2).expect("rank 2 runs");
    let killed = Instant::now();
    Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap();
    let ran = running.wait();
    let after = killed.elapsed();
    assert!(!ran.status.success(), "the job fails when a rank is killed");
    assert!(after < Duration::from_secs(60), "it ended {after:?} after the kill");
    assert!(ran.stderr.contains("rank 2"), "the message names the rank: {}", ran.stderr);
    let rerun =
        ok(Some(2), &peptide_args(&radii, &input, &with_cp).into_iter().filter(|a| *a != "--quiet").collect::<Vec<_>>(), "killed-rerun");
    let stored = stored_frames(&rerun);
    assert!((1..30).contains(&stored), "{stored} frames were committed before the kill");
    assert_eq!(rerun.stdout, reference, "the resumed run's CSV is the uninterrupted one's");
    eprintln!(
        "the job ended {:.1} s after rank 2 was killed; {stored} frames were resumed ({:.1} s run)",
        after.as_secs_f64(),
        ran.seconds
    );
}

#[test]
fn a_rank_that_hangs_ends_the_job_naming_it_after_the_timeout() {
    if !mpirun_or_skip() {
        return;
    }
    let (input, radii) = (example("peptide.h5md"), example("united-atom.radii"));
    let job = ["--stop", "30", "--walks", "20000", "--interior", "5000", "--threads", "1", "--format", "csv"];
    let running = start_with(Some(3), &peptide_args(&radii, &input, &job), "hangs-3", Duration::from_secs(90), 3);
    let waiting = Instant::now();
    let pid = loop {
        if let Some(pid) = rank_pid("hangs-3", 2) {
            break pid;
        }
        assert!(waiting.elapsed() < Duration::from_secs(30), "rank 2 did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(1500));
    // A stopped process is alive to mpirun, so only the heartbeat can tell.
    Command::new("kill").args(["-STOP", &pid.to_string()]).status().unwrap();
    let stopped = Instant::now();
    let ran = running.wait();
    let after = stopped.elapsed();
    assert!(!ran.status.success(), "the job fails when a rank hangs");
    // Rank 0 finds out when rank 2 neither speaks nor takes a message for 3 s (or, stopped
    // before its hello, does not say it).
    let named = ["rank 2 on vm: sent nothing for 3 s", "rank 2: took no message for 3 s", "rank 2: did not say hello within 3 s"];
    assert!(named.iter().any(|m| ran.stderr.contains(&m.replace("vm", &host()))), "{}", ran.stderr);
    assert!(after < Duration::from_secs(30), "it ended {after:?} after rank 2 stopped");
    let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
}

#[test]
fn a_bad_frame_exits_non_zero_with_the_frames_before_it_written() {
    if !mpirun_or_skip() {
        return;
    }
    let path = scratch("bad.h5md");
    let mut f = H5md::new(positions(9, 2, |i, a| if i == 6 && a == 1 { [f64::NAN, 0.0, 0.0] } else { [2.0 * a as f64, 0.0, 0.0] }));
    f.species = Some(vec![6, 6]);
    f.write(&path);
    let input = s(&path);
    let args = ["run", &input, "--walks", "500", "--interior", "500", "--threads", "1", "--format", "csv", "--quiet"];
    let alone = run(None, &args, "bad-alone");
    assert_eq!(alone.status.code(), Some(1));
    let ranks = run(Some(3), &args, "bad-3");
    assert!(!ranks.status.success());
    assert_eq!(ranks.stdout, alone.stdout, "the frames before the bad one, as one process writes them");
    assert_eq!(ranks.stdout.lines().count(), 7, "a header and 6 frames");
    let error = alone.stderr.lines().find(|l| l.starts_with("error: ")).unwrap();
    assert!(ranks.stderr.contains(error), "the error as one machine says it: {error}\n{}", ranks.stderr);
}

/// How many frames the rerun's stderr says the checkpoint held.
fn stored_frames(rerun: &Ran) -> usize {
    let line = rerun.stderr.lines().find(|l| l.starts_with("checkpoint ")).unwrap_or_else(|| panic!("{}", rerun.stderr)).to_string();
    line.split(": ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn a_panic_on_any_rank_aborts_the_job_and_the_rerun_resumes_to_the_same_bytes() {
    if !mpirun_or_skip() {
        return;
    }
    let (input, radii) = (example("peptide.h5md"), example("united-atom.radii"));
    let job = ["--stop", "30", "--walks", "20000", "--interior", "5000", "--threads", "1", "--format", "csv"];
    let reference = ok(None, &peptide_args(&radii, &input, &job), "panic-alone").stdout;
    // Rank 2, another process, and rank 0's compute thread, beside the thread that
    // coordinates; each at its third task, when every rank has finished two.
    for rank in [2, 0] {
        let cp = scratch(&format!("panic-{rank}.sqlite"));
        let cp_s = s(&cp);
        let mut with_cp = job.to_vec();
        with_cp.extend(["--checkpoint", &cp_s]);
        let fault = format!("panic:rank={rank}:task=3");
        // A minute's silence before a rank is taken for dead: a job ended sooner was ended
        // by the panic.
        let tag = format!("panic-{rank}");
        let ran =
            start_env(Some(3), &peptide_args(&radii, &input, &with_cp), &tag, Duration::from_secs(120), 60, &[("TRAJWALK_FAULT", &fault)])
                .wait();
        assert!(!ran.status.success(), "the job fails when rank {rank} panics");
        assert!(ran.seconds < 45.0, "it ended {:.1} s after its start, sooner than a rank's timeout", ran.seconds);
        let said = format!("error: rank {rank} on {}: a thread panicked; aborting every rank of the job", host());
        assert!(ran.stderr.contains(&said), "the message names the rank: {}", ran.stderr);
        assert!(ran.stderr.contains("TRAJWALK_FAULT: a panic injected at task 3 of this rank, as asked"), "{}", ran.stderr);
        let rerun = ok(
            Some(2),
            &peptide_args(&radii, &input, &with_cp).into_iter().filter(|a| *a != "--quiet").collect::<Vec<_>>(),
            &format!("panic-{rank}-rerun"),
        );
        let stored = stored_frames(&rerun);
        assert!((1..30).contains(&stored), "{stored} frames were committed before the panic");
        assert_eq!(rerun.stdout, reference, "the resumed run's CSV is the uninterrupted one's");
        eprintln!("rank {rank}'s panic ended the job in {:.1} s with {:?}; {stored} frames were resumed", ran.seconds, ran.status.code());
    }
}

#[test]
fn two_ranks_on_their_gpus_write_the_bytes_of_one_process_on_its_gpu_and_a_rank_without_one_is_refused() {
    if !mpirun_or_skip() || common::gpu_or_skip().is_none() {
        return;
    }
    let (input, radii) = (example("peptide.h5md"), example("united-atom.radii"));
    // Small: lavapipe walks on this machine's two cores.
    let job = ["--stop", "6", "--walks", "3000", "--interior", "1000", "--strategy", "gpu", "--format", "csv"];
    let reference = ok(None, &peptide_args(&radii, &input, &job), "gpu-alone").stdout;
    assert_eq!(reference.lines().count(), 7, "a header and 6 frames");
    let report = scratch("gpu-2.json");
    let report_s = s(&report);
    let got = ok(Some(2), &peptide_args(&radii, &input, &job), "gpu-2").stdout;
    assert_eq!(got, reference, "mpirun -np 2 --strategy gpu");
    let mut rest = job[..8].to_vec();
    rest.extend(["--out", &report_s]);
    ok(Some(2), &peptide_args(&radii, &input, &rest), "gpu-2-json");
    let plan = &json(&report)["plan"];
    assert_eq!(plan["strategy"], "gpu");
    let d = &plan["distribution"];
    assert_eq!(d["frames_mode"], true, "{d}");
    assert!(d["reason"].as_str().unwrap().starts_with("frames mode over 2 ranks, each on its own GPU: "), "{d}");
    let ranks = plan["ranks"].as_array().unwrap();
    assert!(ranks.iter().all(|r| r["strategy"] == "gpu" && r["workers"] == 1 && r["threads"] == 1), "{ranks:?}");
    let device = ranks[0]["gpu"].as_str().unwrap();
    assert!(device.contains(plan["gpu"]["adapter"].as_str().unwrap()) && device.contains(", driver "), "{device}");
    assert_eq!(ranks[1]["gpu"], ranks[0]["gpu"]);
    // Rank 1 alone sees no adapter (wgpu looks only for Metal there).
    let bin = env!("CARGO_BIN_EXE_trajwalk");
    let args = peptide_args(&radii, &input, &job);
    let mut mpmd = Command::new("mpirun");
    mpmd.args(["--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "-np", "1", bin]).args(&args);
    mpmd.args([":", "-np", "1", "env", "WGPU_BACKEND=metal", bin]).args(&args);
    let ran = spawn(mpmd, "rank 1 without a GPU", "gpu-missing", Duration::from_secs(120), 20, &[]).wait();
    assert_eq!(ran.status.code(), Some(1), "{}", ran.stderr);
    assert!(ran.stdout.is_empty(), "nothing was computed: {}", ran.stdout);
    let said = format!(
        "error: rank 1 on {}: has no GPU to walk on, which --strategy gpu asks of every rank (GPU: no GPU adapter found (WGPU_BACKEND=metal); without a GPU",
        host()
    );
    assert!(ran.stderr.contains(&said), "{}", ran.stderr);
}
