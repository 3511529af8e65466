//! `wrapt-install`: puts the `wrapt_bootstrap` package (post-import hooks
//! registered at interpreter startup) into a Python virtual environment, and
//! takes it out again.
//!
//! The binaries call [`install_main`] or [`uninstall_main`]: arguments
//! ([`cli`]) become validated [`options`]; [`install`] and [`uninstall`]
//! sequence the steps and return what they did, which [`report`] tells;
//! [`finish`] turns the result into an exit code. The steps, each in its
//! own module: [`target`] resolution (asking the interpreter through
//! [`probe`], run by [`python`]) → the [`plan`] of files → the
//! [`transaction`] that writes or removes them (by their [`record`]) → or
//! the [`check`] of an installation, or the [`discover`]y of the patch
//! groups an environment offers.

mod bytecode;
mod check;
mod cli;
mod create;
mod discover;
mod error;
mod install;
mod integrity;
mod options;
mod ordering;
mod output;
mod plan;
mod probe;
mod python;
mod record;
mod report;
mod site;
mod site_packages;
mod target;
mod transaction;
mod trust;
mod uninstall;

use std::process::ExitCode;

// What the integration tests use to write a RECORD of their own.
pub use record::hash_bytes;

use check::CheckReport;
use cli::{InstallArgs, UninstallArgs};
use discover::ListReport;
use error::{Error, Result};
use options::{InstallOptions, Mode, UninstallOptions, Verbosity};
use output::Output;

/// The whole of `wrapt-install`: its arguments, the run, and how it ends.
pub fn install_main() -> ExitCode {
    let args: InstallArgs = cli::parse();
    let result = run_install(&args);
    let mode = InstallOptions::mode_of(&args);
    let result_is_output =
        args.output.json || mode != Mode::Install || args.output.completions.is_some();
    finish(
        "wrapt-install",
        &args.output,
        result_is_output,
        result,
        |error| {
            if !args.output.json {
                return None;
            }
            match mode {
                Mode::Check => report::to_json(&CheckReport::failed(error, args.strict)),
                Mode::List => report::to_json(&ListReport::failed(error)),
                Mode::Install | Mode::DryRun => report::to_json(&report::Report::failed(
                    "install",
                    mode == Mode::DryRun,
                    error,
                )),
            }
        },
    )
}

/// The whole of `wrapt-uninstall`: its arguments, the run, and how it ends.
pub fn uninstall_main() -> ExitCode {
    let args: UninstallArgs = cli::parse();
    let result = run_uninstall(&args);
    let result_is_output = args.output.json || args.dry_run || args.output.completions.is_some();
    finish(
        "wrapt-uninstall",
        &args.output,
        result_is_output,
        result,
        |error| {
            args.output
                .json
                .then(|| report::to_json(&report::Report::failed("uninstall", args.dry_run, error)))
                .flatten()
        },
    )
}

/// How a run ends: its exit code, the error line on stderr, and with
/// `--json` an object that carries the error where the run wrote none.
/// Output that could not be written fails a run whose output was its
/// result (`--check`, `--list`, `--dry-run`, `--json`, `--completions`);
/// after an install or uninstall, which did happen, it is a warning.
fn finish(
    program: &'static str,
    args: &cli::OutputArgs,
    result_is_output: bool,
    result: Result<()>,
    failed_report: impl FnOnce(output::ErrorReport) -> Option<String>,
) -> ExitCode {
    let verbosity = Verbosity::from(args);
    let result = match (result, output::stdout_failure()) {
        (Ok(()), Some(lost)) if result_is_output => Err(Error::Output(lost)),
        (result, Some(lost)) => {
            if verbosity >= Verbosity::Normal {
                output::eprintln(format_args!(
                    "{program}: {}: could not write output: {lost}",
                    output::label(output::Label::Warning)
                ));
            }
            result
        }
        (result, None) => result,
    };
    let Err(err) = result else {
        return ExitCode::SUCCESS;
    };
    if !output::json_written() {
        if let Some(text) = failed_report(output::ErrorReport::from(&err)) {
            output::write_stdout(format!("{text}\n").as_bytes());
        }
    }
    if verbosity > Verbosity::Silent {
        output::eprintln(format_args!(
            "{program}: {}: {err}",
            output::label(output::Label::Error)
        ));
    }
    ExitCode::from(err.exit_code())
}

/// `wrapt-install` after argument parsing.
fn run_install(args: &InstallArgs) -> Result<()> {
    let Some(out) = begin::<InstallArgs>("wrapt-install", &args.output) else {
        return Ok(());
    };
    let opts = InstallOptions::from_args(args)?;
    let outcome = install::run(&opts, out)?;
    report::print_outcome(&outcome, &out)?;
    outcome.into_error().map_or(Ok(()), Err)
}

/// `wrapt-uninstall` after argument parsing.
fn run_uninstall(args: &UninstallArgs) -> Result<()> {
    let Some(out) = begin::<UninstallArgs>("wrapt-uninstall", &args.output) else {
        return Ok(());
    };
    let opts = UninstallOptions::from_args(args);
    let uninstalled = uninstall::uninstall(&opts, out)?;
    report::print_uninstall(&uninstalled, &out)?;
    uninstalled.into_refusal().map_or(Ok(()), Err)
}

/// What both programs do first: the output flags applied, and
/// `--completions` answered, after which there is nothing to run.
fn begin<A: clap::CommandFactory>(program: &'static str, args: &cli::OutputArgs) -> Option<Output> {
    let out = output::configure(program, args);
    if let Some(shell) = args.completions {
        print_completions::<A>(shell);
        return None;
    }
    Some(out)
}

/// `--completions SHELL`: the script on stdout.
fn print_completions<A: clap::CommandFactory>(shell: clap_complete::Shell) {
    let mut command = A::command();
    let name = command.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut script);
    output::write_stdout(&script);
}
