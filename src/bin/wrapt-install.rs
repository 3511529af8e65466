//! `wrapt-install`: see `wrapt-install --help`.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let args = wrapt_install::InstallArgs::parse();
    match wrapt_install::run_install(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            wrapt_install::print_error("wrapt-install", &err);
            ExitCode::from(err.exit_code())
        }
    }
}
