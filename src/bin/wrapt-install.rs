//! `wrapt-install`: see `wrapt-install --help`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: wrapt_install::InstallArgs = wrapt_install::cli::parse();
    match wrapt_install::run_install(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            wrapt_install::print_error("wrapt-install", &args.output, &err);
            ExitCode::from(err.exit_code())
        }
    }
}
