//! Command-line arguments, and nothing else: clap types for both binaries.
//! They become validated [`crate::options`] before any work starts.

use std::path::PathBuf;

use clap::{Args, Parser};

/// The exit codes, for both binaries' `--help` (a macro so that `concat!`
/// can build the constant `after_help` texts from it).
macro_rules! exit_codes {
    () => {
        "Exit codes:
  0  success (or nothing to do)
  1  --check found a problem
  2  usage error or bad input: target not found, not a virtual environment,
     interpreter too old or unusable, invalid group name, unreadable RECORD,
     --mode sitecustomize where another sitecustomize would win, a --mode
     the interpreter ignores
  3  refused to touch a file that is not ours (foreign or modified; --force
     overrides), or a symlink where ours should be (never followed); as
     root, refused an environment another user can change (--force trusts
     them)
  4  I/O or permission error; the next run completes or reverses it"
    };
}

const INSTALL_AFTER_HELP: &str = concat!(
    "Target: --venv DIR, else --python EXE, else $VIRTUAL_ENV, else ./.venv; or, \
deliberately, --user or --python EXE --system.\n\n",
    exit_codes!(),
    "\n\nAt startup, WRAPT_PATCHES selects groups per process: unset = the defaults set
here; '', 0, off or none = nothing; a,b = exactly those; +a,-b = change the defaults."
);

const UNINSTALL_AFTER_HELP: &str = concat!(
    "Target: --venv DIR, else --python EXE, else $VIRTUAL_ENV, else ./.venv; or, \
deliberately, --user or --python EXE --system.\n\n",
    exit_codes!()
);

/// Which environment to act on.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The virtual environment's directory (its interpreter is DIR/bin/python)
    #[arg(long, value_name = "DIR")]
    pub venv: Option<PathBuf>,

    /// The virtual environment's interpreter (a path, or a name on PATH);
    /// with --user or --system, the base interpreter to act on
    #[arg(long, value_name = "EXE")]
    pub python: Option<PathBuf>,

    /// The interpreter's user site-packages instead (--python EXE, else
    /// python3 on PATH; not a virtual environment's)
    #[arg(long, conflicts_with_all = ["venv", "system"])]
    pub user: bool,

    /// A base interpreter's own site-packages instead: every process of
    /// that installation is affected, so it takes --python EXE explicitly
    #[arg(long, requires = "python", conflicts_with = "venv")]
    pub system: bool,
}

/// How much to say.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print a completion script for SHELL (bash, zsh, fish, elvish,
    /// powershell) and exit
    #[arg(long, value_name = "SHELL", value_enum, exclusive = true)]
    pub completions: Option<clap_complete::Shell>,

    /// Print nothing but errors
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Also print one line per file
    #[arg(short, long)]
    pub verbose: bool,
}

/// Install wrapt-bootstrap (post-import hooks registered at interpreter
/// startup) into a Python virtual environment.
// Each flag is an independent switch; clap maps them to bools by design.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Parser)]
#[command(name = "wrapt-install", version, after_help = INSTALL_AFTER_HELP)]
pub struct InstallArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    // `help =` rather than a doc comment: clippy's doc_markdown wants
    // backticks around $VIRTUAL_ENV, which --help would print literally.
    #[arg(
        long,
        conflicts_with_all = ["user", "system"],
        help = "Create the virtual environment (--venv DIR, else $VIRTUAL_ENV, else ./.venv) \
                if it does not exist, with --python EXE (else python3 on PATH) as the base interpreter"
    )]
    pub create: bool,

    /// How startup activates the bootstrap (default: as installed, while the
    /// interpreter runs it; else pth up to Python 3.17, start from 3.18)
    #[arg(long, value_name = "MODE", value_enum, conflicts_with = "check")]
    pub mode: Option<crate::plan::Activation>,

    /// Enable a patch group by default (repeatable; adds to the installed defaults)
    #[arg(long, value_name = "GROUP")]
    pub enable: Vec<String>,

    /// Remove a patch group from the defaults (repeatable)
    #[arg(long, value_name = "GROUP")]
    pub disable: Vec<String>,

    /// Show what would be written or removed, and change nothing
    #[arg(long, conflicts_with = "check")]
    pub dry_run: bool,

    /// Verify the installed files, and start the environment's interpreter
    /// as the application would (its .pth files and sitecustomize included,
    /// from this directory, with this environment) to prove activation;
    /// change nothing
    #[arg(long, conflicts_with_all = ["create", "enable", "disable"])]
    pub check: bool,

    /// With --check: late hooks and every other warning are problems too
    /// (exit 1), for a CI or image-build gate
    // Clap waives a requirement that conflicts with an argument given, so
    // the flags --check excludes are named here too.
    #[arg(
        long,
        requires = "check",
        conflicts_with_all = ["list", "dry_run", "mode", "create", "enable", "disable"]
    )]
    pub strict: bool,

    /// List the entry-point groups that look like patch groups, with the
    /// distributions declaring them and whether each is enabled by default;
    /// change nothing
    #[arg(
        long,
        conflicts_with_all = ["check", "dry_run", "create", "enable", "disable", "mode"]
    )]
    pub list: bool,

    /// Print one JSON object instead of messages
    #[arg(long)]
    pub json: bool,

    /// Overwrite or remove files that are not ours or were modified, and
    /// install where the package manager owns site-packages (PEP 668); with
    /// any command, as root, act on an environment another user can change,
    /// trusting them
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// Remove wrapt-bootstrap from a Python virtual environment: every file its
/// RECORD lists, activation files first.
#[derive(Debug, Parser)]
#[command(name = "wrapt-uninstall", version, after_help = UNINSTALL_AFTER_HELP)]
pub struct UninstallArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// Show what would be removed, and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Print one JSON object instead of messages
    #[arg(long)]
    pub json: bool,

    /// Also remove listed files that were modified since installation; as
    /// root, act on an environment another user can change, trusting them
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definitions_are_consistent() {
        InstallArgs::command().debug_assert();
        UninstallArgs::command().debug_assert();
    }

    #[test]
    fn help_documents_exit_codes() {
        for help in [
            InstallArgs::command().render_long_help().to_string(),
            UninstallArgs::command().render_long_help().to_string(),
        ] {
            assert!(help.contains("Exit codes:"), "{help}");
            assert!(help.contains("3  refused"), "{help}");
        }
    }
}
