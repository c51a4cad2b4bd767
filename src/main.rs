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
    let result = match &args.command {
        cli::Command::Run(run) => cli::run(run),
        cli::Command::Plan(plan) => cli::plan_command(plan),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
