//! `wrapt-uninstall`: see `wrapt-uninstall --help`.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let args = wrapt_install::UninstallArgs::parse();
    match wrapt_install::run_uninstall(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            wrapt_install::print_error("wrapt-uninstall", &err);
            ExitCode::from(err.exit_code())
        }
    }
}
