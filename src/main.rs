mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    // First thing, while the process has one thread (see the function's note).
    trajwalk::gpu::quiet_mesa_device_select();
    let args = cli::Cli::parse();
    let interrupt = cli::Interrupt::install();
    // Under mpirun or srun with several ranks, `run` is one job over all of them: rank 0
    // coordinates and writes, the others compute. Anything else runs as one process.
    #[cfg(feature = "mpi")]
    let ranks = match &args.command {
        cli::Command::Run(_) => trajwalk::transport::mpi::Mpi::init(),
        cli::Command::Plan(_) | cli::Command::Formats => None,
    };
    #[cfg(feature = "mpi")]
    let transport = ranks.as_ref().map(|m| m as &dyn trajwalk::transport::Transport);
    #[cfg(not(feature = "mpi"))]
    let transport: Option<&dyn trajwalk::transport::Transport> = None;
    let result = match (&args.command, transport) {
        (cli::Command::Run(run), Some(t)) if t.rank() > 0 => cli::serve(run, t),
        (cli::Command::Run(run), t) => cli::run(run, &interrupt, t),
        (cli::Command::Plan(plan), _) => cli::plan_command(plan),
        (cli::Command::Formats, _) => cli::formats_command(),
    };
    // Rank 0 failing ends every rank at once: some may still wait for it (for the job's
    // description, or in the middle of a task), and none must be left waiting.
    #[cfg(feature = "mpi")]
    if let (Some(m), Err(e)) = (&ranks, &result) {
        if trajwalk::transport::Transport::rank(m) == 0 {
            cli::say!("error: {e:#}");
            m.abort(if e.downcast_ref::<trajwalk::Error>().is_some_and(trajwalk::Error::is_interrupted) { 130 } else { 1 });
        }
    }
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // A reader that stopped reading (`trajwalk run ... | head`) ends the run as it ends
        // Unix tools: quietly, with what the checkpoint holds kept.
        Err(e) if e.downcast_ref::<trajwalk::Error>().is_some_and(trajwalk::Error::is_output_closed) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            cli::say!("error: {e:#}");
            if !e.downcast_ref::<trajwalk::Error>().is_some_and(trajwalk::Error::is_interrupted) {
                return std::process::ExitCode::FAILURE;
            }
            match &args.command {
                cli::Command::Run(cli::RunArgs { checkpoint: Some(cp), .. }) => {
                    cli::say!("the finished frames are committed to {}: run the same command again to compute the rest", cp.display())
                }
                _ => cli::say!("add --checkpoint FILE.sqlite to a run to resume it after an interruption"),
            }
            std::process::ExitCode::from(interrupt.exit_code())
        }
    }
}
