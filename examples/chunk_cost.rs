//! What handing out one chunk of frames costs, for the README's scaling model: under
//! `mpirun -np 2`, rank 0 sends a frames task and rank 1 answers with the chunk's results
//! (real results of the bundled peptide, with every observable and the transport
//! coefficients), as many times as fit in a few seconds; then rank 0 alone commits frames
//! to a checkpoint and writes them to CSV, the other thing it does per frame.
//!
//! ```sh
//! cargo build --release --features mpi --example chunk_cost
//! mpirun --oversubscribe --allow-run-as-root -np 2 target/release/examples/chunk_cost
//! ```
use std::time::Instant;
use trajwalk::analysis::{Analysis, Options, Sink};
use trajwalk::checkpoint::{self, Checkpoint};
use trajwalk::compute::{FrameResult, Sampling};
use trajwalk::job::JobOptions;
use trajwalk::output::staged::Destination;
use trajwalk::output::{FrameReport, Report, Style};
use trajwalk::radii::{Radii, RadiiKey, RadiiTable};
use trajwalk::trajectory::FrameSelection;
use trajwalk::transport::mpi::Mpi;
use trajwalk::transport::{Message, Transport};
use trajwalk::units::Conditions;

const ROUNDS: usize = 2000;

fn main() -> trajwalk::Result<()> {
    let t = Mpi::init().expect("run under mpirun -np 2");
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let table = RadiiTable::named_or_file(&format!("{examples}/united-atom.radii"))?;
    let conditions = Conditions { temperature_k: Some(293.15), viscosity_pa_s: Some(1.0e-3), mass_kg: Some(1e-23), ..Default::default() };
    let options = Options {
        job: JobOptions {
            radii: Some(Radii::Table { table, key: RadiiKey::Element }),
            frames: FrameSelection::Slice { start: None, stop: Some(16), step: 1 },
            sampling: Sampling { walks: 2000, interior_samples: 2000, ..Default::default() },
            conditions,
            ..Default::default()
        },
        ..Default::default()
    };
    let analysis = Analysis::open(format!("{examples}/peptide.h5md"), options)?;
    let mut results: Vec<FrameResult> = vec![];
    analysis.run(&mut [&mut |f: &FrameReport| {
        results.push(f.result.clone());
        Ok(())
    }])?;
    for chunk in [1usize, 4, 16] {
        let done = Message::FramesDone {
            task: 0,
            results: results[..chunk].iter().enumerate().map(|(k, r)| (k as u64, r.clone())).collect(),
            error: None,
            seconds: 1.0,
        };
        let task = Message::Frames { task: 0, frames: (0..chunk as u64).collect() };
        let started = Instant::now();
        for _ in 0..ROUNDS {
            match t.rank() {
                0 => {
                    t.send(1, &task)?;
                    while t.recv(std::time::Duration::from_secs(10))?.is_none() {}
                }
                _ => {
                    while t.recv(std::time::Duration::from_secs(10))?.is_none() {}
                    t.send(0, &done)?;
                }
            }
        }
        if t.rank() == 0 {
            let us = started.elapsed().as_secs_f64() / ROUNDS as f64 * 1e6;
            let cpu = Instant::now();
            for _ in 0..ROUNDS {
                std::hint::black_box(Message::decode(&std::hint::black_box(task.encode())));
                std::hint::black_box(Message::decode(&std::hint::black_box(done.encode())));
            }
            let codec = cpu.elapsed().as_secs_f64() / ROUNDS as f64 * 1e6;
            println!(
                "chunk of {chunk:>2} frames: 2 messages, {} + {} bytes, {us:.1} us a round trip over MPI, of which {codec:.1} us encoding and decoding",
                task.encode().len(),
                done.encode().len()
            );
        }
    }
    if t.rank() == 0 {
        let dir = std::env::temp_dir().join(format!("trajwalk-chunk-cost-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|error| trajwalk::Error::Io { path: dir.clone(), error })?;
        {
            // Checkpoints are held in exclusive locking mode (one process, or rank 0).
            let path = dir.join("cp.sqlite");
            let (cp, _) = Checkpoint::open(&path, &checkpoint::identity(analysis.job())?, true)?;
            let info = &analysis.job().trajectory.frames;
            let n = 2000;
            let started = Instant::now();
            for k in 0..n {
                let mut i = info[k % info.len()].clone();
                i.key = k as u64;
                cp.record(&i, &results[k % results.len()])?;
            }
            println!("checkpoint commit (exclusive locking): {:.1} us a frame", started.elapsed().as_secs_f64() / n as f64 * 1e6);
        }
        let csv = dir.join("out.csv");
        let mut report = Report::new(Destination::open(Some(&csv))?, Style::Csv);
        let job = analysis.job();
        let started = Instant::now();
        let n = 20_000;
        for k in 0..n {
            let r = &results[k % results.len()];
            let t = &job.trajectory;
            let f = FrameReport {
                info: &t.frames[k % results.len()],
                length_unit: &t.length_unit,
                time_unit: t.time_unit.as_deref(),
                spheres: job.atoms.len(),
                result: r,
                from_checkpoint: false,
            };
            (&mut report as &mut dyn Sink).frame(&f)?;
        }
        println!("CSV row: {:.1} us a frame", started.elapsed().as_secs_f64() / n as f64 * 1e6);
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
