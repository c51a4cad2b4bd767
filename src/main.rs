mod cli;

use clap::Parser;

/// Mesa's Vulkan drivers install an implicit `device_select` layer that, whenever adapters
/// are listed, asks Wayland and X11 which GPU drives the display. On a batch node with
/// neither, libwayland then prints "error: XDG_RUNTIME_DIR is invalid or not set" on
/// stderr, which reads as if the run had failed. trajwalk ranks adapters itself
/// (`--gpu-adapter`), so the layer is switched off unless the user steers it with
/// MESA_VK_DEVICE_SELECT. Called first thing, while the process has one thread: setting a
/// variable races with threads that read the environment.
fn quiet_mesa_device_select() {
    if std::env::var_os("NODEVICE_SELECT").is_none() && std::env::var_os("MESA_VK_DEVICE_SELECT").is_none() {
        std::env::set_var("NODEVICE_SELECT", "1");
    }
}

fn main() -> std::process::ExitCode {
    quiet_mesa_device_select();
    let args = cli::Cli::parse();
    let interrupt = cli::Interrupt::install();
    let result = match &args.command {
        cli::Command::Run(run) => cli::run(run, &interrupt),
        cli::Command::Plan(plan) => cli::plan_command(plan),
        cli::Command::Formats => cli::formats_command(),
    };
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
