//! Validated options: what the library runs on. Built from the clap structs
//! in [`crate::cli`] before any work starts (ripgrep's lowargs -> hiargs).

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::cli::{InstallArgs, OutputArgs, TargetArgs, UninstallArgs};
use crate::error::{Error, Result};
use crate::plan::Activation;

/// How much to print (`-q`/`-v`, counted as pip and uv count them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-qq`: nothing, not even the error line; the exit code says it all
    /// (`--json` still prints its object, which was asked for by name).
    Silent,
    /// `-q`: errors, and `--check`'s problems.
    Quiet,
    Normal,
    /// `-v`: also one line per file.
    Verbose,
    /// `-vv`: also each command run, on stderr.
    Commands,
}

impl From<&OutputArgs> for Verbosity {
    fn from(args: &OutputArgs) -> Self {
        match (args.quiet, args.verbose) {
            (0, 0) => Verbosity::Normal,
            (0, 1) => Verbosity::Verbose,
            (0, _) => Verbosity::Commands,
            (1, _) => Verbosity::Quiet,
            (_, _) => Verbosity::Silent,
        }
    }
}

/// Which site-packages of the chosen interpreter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scope {
    /// A virtual environment's (the default).
    #[default]
    Venv,
    /// The interpreter's user site-packages (`--user`).
    User,
    /// A base interpreter's own site-packages (`--python EXE --system`).
    System,
}

/// Where to act, before resolution (see [`crate::target`]).
// Independent switches, each read by a different step.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Default)]
pub struct TargetSpec {
    pub venv: Option<PathBuf>,
    pub python: Option<PathBuf>,
    pub scope: Scope,
    /// `--create`: a virtual environment is made where none exists yet,
    /// with `python` as its base interpreter (by an install; a dry run
    /// says what it would make).
    pub create: bool,
    /// An install into user or system site-packages makes that directory
    /// when it does not exist yet, as pip does.
    pub make_site_dir: bool,
    /// The command takes `--create`, so hints may suggest it.
    pub offer_create: bool,
    /// As root, act on an environment another user can change (`--force`;
    /// see `src/trust.rs`).
    pub trust_writers: bool,
}

impl TargetSpec {
    fn from_args(args: &TargetArgs, force: bool) -> Self {
        TargetSpec {
            venv: args.venv.clone(),
            python: args.python.clone(),
            scope: if args.user {
                Scope::User
            } else if args.system {
                Scope::System
            } else {
                Scope::Venv
            },
            create: false,
            make_site_dir: false,
            offer_create: false,
            trust_writers: force,
        }
    }
}

/// What `wrapt-install` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Install,
    DryRun,
    Check,
    /// `--list`: the patch groups in the environment.
    List,
}

/// Changes to the environment's default groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupChanges {
    pub enable: BTreeSet<String>,
    pub disable: BTreeSet<String>,
}

impl GroupChanges {
    /// The new defaults: the installed ones, plus `enable`, minus `disable`.
    pub fn apply(&self, installed: &BTreeSet<String>) -> BTreeSet<String> {
        installed
            .union(&self.enable)
            .filter(|g| !self.disable.contains(*g))
            .cloned()
            .collect()
    }
}

/// Validated `wrapt-install` options.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    pub target: TargetSpec,
    pub mode: Mode,
    pub groups: GroupChanges,
    /// `None`: as installed while the interpreter runs it, else
    /// [`Activation::default_for`].
    pub activation: Option<Activation>,
    pub force: bool,
    /// `--check --strict`: warnings are problems.
    pub strict: bool,
}

impl InstallOptions {
    /// What the flags ask `wrapt-install` to do.
    pub fn mode_of(args: &InstallArgs) -> Mode {
        if args.check {
            Mode::Check
        } else if args.list {
            Mode::List
        } else if args.dry_run {
            Mode::DryRun
        } else {
            Mode::Install
        }
    }

    pub fn from_args(args: &InstallArgs) -> Result<Self> {
        let groups = GroupChanges {
            enable: validate_groups(&args.enable)?,
            disable: validate_groups(&args.disable)?,
        };
        // Refused rather than installed as a default that every start would
        // ignore with a warning. Disabling one stays allowed: an older
        // install may have it as a default.
        if let Some(name) = groups
            .enable
            .iter()
            .find(|name| wrapt_common::selection::is_other_tools_group(name))
        {
            return Err(Error::OtherToolsGroup { name: name.clone() });
        }
        let mode = Self::mode_of(args);
        let installs = matches!(mode, Mode::Install | Mode::DryRun);
        let target = TargetSpec {
            create: args.create,
            // A dry run creates nothing.
            make_site_dir: mode == Mode::Install && (args.target.user || args.target.system),
            offer_create: installs,
            ..TargetSpec::from_args(&args.target, args.force)
        };
        Ok(InstallOptions {
            target,
            mode,
            groups,
            activation: args.mode.map(Activation::from),
            force: args.force,
            strict: args.strict,
        })
    }
}

/// Validated `wrapt-uninstall` options.
#[derive(Debug, Clone)]
pub struct UninstallOptions {
    pub target: TargetSpec,
    pub dry_run: bool,
    pub force: bool,
}

impl UninstallOptions {
    pub fn from_args(args: &UninstallArgs) -> Self {
        UninstallOptions {
            target: TargetSpec::from_args(&args.target, args.force),
            dry_run: args.dry_run,
            force: args.force,
        }
    }
}

fn validate_groups(names: &[String]) -> Result<BTreeSet<String>> {
    names
        .iter()
        .map(|name| {
            if wrapt_common::names::is_valid_group_name(name) {
                Ok(name.clone())
            } else {
                Err(Error::InvalidGroup { name: name.clone() })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn group_changes() {
        let changes = GroupChanges {
            enable: set(&["b", "c"]),
            disable: set(&["a", "c"]),
        };
        assert_eq!(changes.apply(&set(&["a", "d"])), set(&["b", "d"]));
        assert_eq!(GroupChanges::default().apply(&set(&["a"])), set(&["a"]));
    }

    #[test]
    fn invalid_group_is_a_usage_error() {
        let args = InstallArgs::parse_from([
            "wrapt-install",
            "--enable",
            "ok.group",
            "--enable",
            "bad;name",
        ]);
        let err = InstallOptions::from_args(&args).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_USAGE);
        assert!(err.to_string().contains("\"bad;name\""), "{err}");
    }

    #[test]
    fn enabling_another_tools_group_is_a_usage_error() {
        let parse = |argv: &[&str]| {
            let mut full = vec!["wrapt-install"];
            full.extend_from_slice(argv);
            InstallOptions::from_args(&InstallArgs::parse_from(full))
        };
        let err = parse(&["--enable", "ok.group", "--enable", "console_scripts"]).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_USAGE);
        assert!(err.to_string().contains("\"console_scripts\""), "{err}");
        assert!(parse(&["--enable", "setuptools.installation"]).is_err());
        assert_eq!(
            parse(&["--disable", "console_scripts"])
                .unwrap()
                .groups
                .disable,
            set(&["console_scripts"])
        );
    }

    #[test]
    fn modes() {
        let opts = |argv: &[&str]| {
            let mut full = vec!["wrapt-install"];
            full.extend_from_slice(argv);
            InstallOptions::from_args(&InstallArgs::parse_from(full)).unwrap()
        };
        assert_eq!(opts(&[]).mode, Mode::Install);
        assert_eq!(opts(&["--dry-run"]).mode, Mode::DryRun);
        assert_eq!(opts(&["--check"]).mode, Mode::Check);
        assert_eq!(opts(&["--list"]).mode, Mode::List);
        assert_eq!(opts(&["--list", "--json"]).mode, Mode::List);
        for other in ["--check", "--dry-run", "--create"] {
            assert!(InstallArgs::try_parse_from(["wrapt-install", "--list", other]).is_err());
        }
        // --force: as root, trust the environment's owner.
        assert!(opts(&["--list", "--force"]).target.trust_writers);
        assert!(opts(&["--check", "--force"]).target.trust_writers);
        assert!(!opts(&["--check"]).target.trust_writers);
        // --strict only sharpens --check.
        assert!(opts(&["--check", "--strict"]).strict);
        assert!(!opts(&["--check"]).strict);
        for other in [
            &[][..],
            &["--list"],
            &["--dry-run"],
            &["--mode", "pth"],
            &["--enable", "g"],
        ] {
            let mut argv = vec!["wrapt-install", "--strict"];
            argv.extend(other);
            assert!(InstallArgs::try_parse_from(argv).is_err(), "{other:?}");
        }
        for other in [["--enable", "g"], ["--disable", "g"], ["--mode", "pth"]] {
            let mut argv = vec!["wrapt-install", "--list"];
            argv.extend(other);
            assert!(InstallArgs::try_parse_from(argv).is_err(), "{other:?}");
        }
        // A dry run says what --create would make; only an install makes
        // the user or system site-packages directory.
        assert!(opts(&["--dry-run", "--create"]).target.create);
        assert!(opts(&["--create"]).target.create);
        assert!(opts(&["--user"]).target.make_site_dir);
        assert!(!opts(&["--user", "--dry-run"]).target.make_site_dir);
        assert!(opts(&["--dry-run"]).target.offer_create);
        assert!(!opts(&["--list"]).target.offer_create);
        let verbosity = |flags: &[&str]| {
            let argv = std::iter::once("wrapt-install").chain(flags.iter().copied());
            Verbosity::from(&InstallArgs::try_parse_from(argv).unwrap().output)
        };
        assert_eq!(verbosity(&[]), Verbosity::Normal);
        assert_eq!(verbosity(&["-q"]), Verbosity::Quiet);
        assert_eq!(verbosity(&["-qqq"]), Verbosity::Silent);
        assert_eq!(verbosity(&["-v"]), Verbosity::Verbose);
        assert_eq!(verbosity(&["-vvv"]), Verbosity::Commands);
    }
}
