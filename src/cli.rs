//! Command-line arguments, and nothing else: clap types for both binaries.
//! They become validated [`crate::options`] before any work starts.

use std::path::PathBuf;

use clap::{Args, ColorChoice, Parser, ValueEnum as _};

use crate::plan::Activation;

/// `--mode`: an [`Activation`], in `--help`'s words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// A `.pth` import line (the default up to Python 3.17; 3.18 ignores
    /// it)
    Pth,
    /// A PEP 829 `.start` entry point (Python 3.15+; the default from 3.18)
    Start,
    /// A `sitecustomize` package that runs the environment's own
    /// sitecustomize after activating
    Sitecustomize,
}

impl From<ModeArg> for Activation {
    fn from(mode: ModeArg) -> Activation {
        match mode {
            ModeArg::Pth => Activation::Pth,
            ModeArg::Start => Activation::Start,
            ModeArg::Sitecustomize => Activation::Sitecustomize,
        }
    }
}

/// The target, for both binaries' `--help`.
macro_rules! target_help {
    () => {
        "Target: --venv DIR, else --python EXE, else $VIRTUAL_ENV, else ./.venv; or, \
deliberately, --user or --python EXE --system.\n\n"
    };
}

/// How much is said, and in colour, for both binaries' `--help`.
macro_rules! output_help {
    () => {
        "Output: -q prints errors and problems found only, -qq nothing, not even
errors (--json still prints its object); -v adds a line per file, -vv also
each command run, on stderr. --color auto (the default) colours stderr's
labels on a terminal unless NO_COLOR is set, or CLICOLOR_FORCE forces it;
--color always or never overrides both.\n\n"
    };
}

const INSTALL_AFTER_HELP: &str = concat!(
    target_help!(),
    output_help!(),
    "Exit codes:
  0  success (or already installed)
  1  --check found a problem
  2  usage error or bad input, nothing written: target not found, not a
     virtual environment, --venv and --python naming different ones, an
     interpreter too old or unusable, invalid group name, unreadable RECORD,
     --mode sitecustomize where another sitecustomize would win, a --mode
     the interpreter ignores
  3  refused, nothing written: a file that is not ours (foreign or modified;
     --force overrides), or a symlink where ours should be (never followed);
     as root, an environment another user can change (--force trusts them)
  4  I/O or permission error (a path this user cannot reach; a failed
     --create, whose environment is removed again; output asked for that
     could not be written); the next run completes or reverses a write it
     interrupted

At startup, WRAPT_PATCHES selects groups per process: unset = the defaults set
here; '', 0, off or none = nothing; a,b = exactly those; +a,-b = change the defaults."
);

const UNINSTALL_AFTER_HELP: &str = concat!(
    target_help!(),
    output_help!(),
    "Exit codes:
  0  success (or nothing to uninstall)
  2  usage error or bad input, nothing removed: target not found, not a
     virtual environment, --venv and --python naming different ones, an
     interpreter too old or unusable, unreadable RECORD
  3  refused, nothing removed: a listed file modified since install (--force
     removes it anyway), a symlink where ours should be (never followed), a
     RECORD path outside site-packages; as root, an environment another
     user can change (--force trusts them)
  4  I/O or permission error (a path this user cannot reach; output asked
     for that could not be written); the next run completes or reverses a
     removal it interrupted"
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

/// How much to say, and how.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print one JSON object instead of messages
    #[arg(long)]
    pub json: bool,

    /// Print a completion script for SHELL (bash, zsh, fish, elvish,
    /// powershell) and exit
    #[arg(long, value_name = "SHELL", value_enum, exclusive = true)]
    pub completions: Option<clap_complete::Shell>,

    /// Print nothing but errors and problems found; twice, nothing at all
    #[arg(short, long, action = clap::ArgAction::Count, conflicts_with = "verbose")]
    pub quiet: u8,

    /// Also print one line per file; twice, also each command run
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// When to colour the labels of stderr lines
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// Parses the command line, as `A::parse()` does, but with clap's own
/// messages (usage errors, `--help`) coloured as `--color` says: clap
/// decides their colour before it has parsed anything, so the flag is
/// looked for first (clap then checks it like any other).
pub fn parse<A: Parser>() -> A {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut command = A::command();
    if let Some(color) = color_flag(&args) {
        command = command.color(color);
    }
    let program = command.get_name().to_owned();
    command
        .try_get_matches_from(&args)
        .and_then(|mut matches| A::from_arg_matches_mut(&mut matches))
        .unwrap_or_else(|err| exit(&program, &err))
}

/// Ends the process as clap's `Error::exit` does, except that `--help` or
/// `--version` that could not be written is an I/O error (exit 4), not a
/// success; a closed pipe stays quiet, and a usage error keeps its code.
fn exit(program: &str, err: &clap::Error) -> ! {
    let code = match err.print() {
        Err(lost) if !err.use_stderr() && lost.kind() != std::io::ErrorKind::BrokenPipe => {
            crate::output::eprintln(format_args!(
                "{}: {}: could not write output: {lost}",
                program,
                crate::output::label(crate::output::Label::Error)
            ));
            i32::from(crate::error::EXIT_IO)
        }
        _ => err.exit_code(),
    };
    std::process::exit(code)
}

/// The value of the last `--color WHEN` or `--color=WHEN` before `--`.
fn color_flag(args: &[std::ffi::OsString]) -> Option<ColorChoice> {
    let mut found = None;
    let mut args = args.iter().skip(1).map(|arg| arg.to_str());
    while let Some(arg) = args.next() {
        let value = match arg {
            Some("--") => break,
            Some("--color") => args.next().flatten(),
            Some(arg) => arg.strip_prefix("--color="),
            None => None,
        };
        if let Some(value) = value {
            found = ColorChoice::from_str(value, false).ok().or(found);
        }
    }
    found
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
    pub mode: Option<ModeArg>,

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
    fn help_documents_each_binarys_exit_codes() {
        let install = InstallArgs::command().render_long_help().to_string();
        let uninstall = UninstallArgs::command().render_long_help().to_string();
        for help in [&install, &uninstall] {
            assert!(help.contains("Exit codes:"), "{help}");
            assert!(help.contains("3  refused"), "{help}");
        }
        // wrapt-uninstall has no --check, and no groups or modes.
        assert!(install.contains("1  --check found a problem"), "{install}");
        for absent in ["--check", "group", "--mode", "--create"] {
            assert!(!uninstall.contains(absent), "{absent}: {uninstall}");
        }
    }

    #[test]
    fn color_flag_is_found_before_parsing() {
        let flag = |args: &[&str]| {
            let args: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
            color_flag(&args)
        };
        assert_eq!(flag(&["wrapt-install"]), None);
        assert_eq!(
            flag(&["wrapt-install", "--color", "never", "--bogus"]),
            Some(ColorChoice::Never)
        );
        assert_eq!(
            flag(&["wrapt-install", "--color=always", "--color", "bogus"]),
            Some(ColorChoice::Always)
        );
        assert_eq!(flag(&["wrapt-install", "--", "--color=never"]), None);
    }

    #[test]
    fn quiet_and_verbose_count() {
        let output = |argv: &[&str]| InstallArgs::try_parse_from(argv).map(|args| args.output);
        let counted = output(&["wrapt-install", "-qq"]).unwrap();
        assert_eq!((counted.quiet, counted.verbose), (2, 0));
        let counted = output(&["wrapt-install", "-v", "--verbose"]).unwrap();
        assert_eq!((counted.quiet, counted.verbose), (0, 2));
        assert!(output(&["wrapt-install", "-q", "-v"]).is_err());
        assert_eq!(
            output(&["wrapt-install", "--color", "never"])
                .unwrap()
                .color,
            ColorChoice::Never
        );
        assert!(output(&["wrapt-install", "--color", "sometimes"]).is_err());
        assert!(
            UninstallArgs::try_parse_from(["wrapt-uninstall", "--completions", "bash"]).is_ok()
        );
    }
}
