//! `wrapt-uninstall`: see `wrapt-uninstall --help`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: wrapt_install::UninstallArgs = wrapt_install::cli::parse();
    match wrapt_install::run_uninstall(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            wrapt_install::print_error("wrapt-uninstall", &args.output, &err);
            ExitCode::from(err.exit_code())
        }
    }
}
