//! What an install or uninstall tells its user: the `--json` [`Report`],
//! and the human messages, while it runs ([`warnings`], [`change_made`])
//! and at its end ([`print_install`], [`print_uninstall`]). The steps
//! themselves, in [`install`](crate::install) and
//! [`uninstall`](crate::uninstall), print nothing else.

use serde::Serialize;
use std::path::{Path, PathBuf};

use crate::create::NewEnvironment;
use crate::error::{Error, Result};
use crate::install::Installed;
use crate::output::{self, Output};
use crate::plan::{Activation, PTH, SITECUSTOMIZE, START, START_PACKAGE, VERSION};
use crate::target::Layout;
use crate::transaction::{self, Change, Counts};
use crate::uninstall::Uninstalled;

/// What an install or uninstall did (or, with `--dry-run`, would do); the
/// `--json` output. Every key is present in every state: what a run did not
/// get to know is null.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub head: output::Head,
    pub dry_run: bool,
    #[serde(serialize_with = "output::lossy_path_opt")]
    pub purelib: Option<PathBuf>,
    #[serde(serialize_with = "output::lossy_path_opt")]
    pub interpreter: Option<PathBuf>,
    pub python: Option<String>,
    /// The virtual environment `--create` made, or with `--dry-run` would.
    pub create: Option<NewEnvironment>,
    /// Versions found installed before this run.
    pub installed_before: Option<Vec<String>>,
    /// The default groups an install writes (null for an uninstall).
    pub defaults: Option<Vec<String>>,
    pub activation: Option<Activation>,
    /// The `.pth` or `.start` line an install writes.
    pub activation_line: Option<String>,
    pub changes: Option<Vec<Change>>,
    pub counts: Option<Counts>,
    pub nothing_to_do: Option<bool>,
    /// What the human output says on stderr as `warning:` lines.
    pub warnings: Vec<output::Finding>,
}

impl Report {
    pub fn new(command: &'static str, dry_run: bool) -> Self {
        Report {
            head: output::Head::new(command),
            dry_run,
            purelib: None,
            interpreter: None,
            python: None,
            create: None,
            installed_before: None,
            defaults: None,
            activation: None,
            activation_line: None,
            changes: None,
            counts: None,
            nothing_to_do: None,
            warnings: Vec::new(),
        }
    }

    /// The report of a run that failed before it knew more.
    pub fn failed(command: &'static str, dry_run: bool, error: output::ErrorReport) -> Self {
        Report {
            head: output::Head::failed(command, error),
            ..Report::new(command, dry_run)
        }
    }

    /// What the run found in the environment, before it changes anything.
    pub fn of(
        command: &'static str,
        dry_run: bool,
        layout: &Layout,
        records: &[transaction::InstalledRecord],
        changes: &[Change],
    ) -> Self {
        let counts = Counts::of(changes);
        Report {
            purelib: Some(layout.purelib.clone()),
            interpreter: Some(layout.interpreter.clone()),
            python: Some(layout.info.description()),
            installed_before: Some(records.iter().map(|r| r.version().to_owned()).collect()),
            changes: Some(changes.to_vec()),
            counts: Some(counts),
            nothing_to_do: Some(if command == "install" {
                counts.is_noop()
            } else {
                records.is_empty()
            }),
            ..Report::new(command, dry_run)
        }
    }

    /// Ends the report with the run's outcome.
    pub fn outcome(&mut self, result: Option<&Error>) {
        self.head.outcome(result);
    }

    /// Where the run installs or uninstalls (known once the target is).
    fn purelib(&self) -> std::path::Display<'_> {
        self.purelib.as_deref().unwrap_or(Path::new("")).display()
    }

    fn versions_before(&self) -> String {
        self.installed_before
            .as_deref()
            .unwrap_or_default()
            .join(", ")
    }
}

/// A report as `--json` prints it: none if it cannot be serialised, which
/// reports of plain strings, numbers and lists never fail to be.
pub fn to_json(report: &impl Serialize) -> Option<String> {
    serde_json::to_string_pretty(report).ok()
}

/// The warnings an install found before it changes anything (in `--json`,
/// they are the report's).
pub fn warnings(out: &Output, warnings: &[output::Finding]) {
    if !out.json {
        for warning in warnings {
            out.warn(&warning.message);
        }
    }
}

/// One change made, with `-v`.
pub fn change_made(out: &Output, change: &Change) {
    out.detail(format!("  {:<9} {}", change.action.as_str(), change.path));
}

/// What an install did, or would do.
pub fn print_install(installed: &Installed, out: &Output) -> Result<()> {
    match installed {
        Installed::WouldCreate(report) => print_would_create(report, out),
        Installed::DryRun { report, .. } => print_dry_run(report, out),
        Installed::NothingToDo(report) => {
            out.json(report)?;
            out.info(format!(
                "wrapt-bootstrap {VERSION} is already installed in {}, nothing to do",
                report.purelib()
            ));
            Ok(())
        }
        Installed::Done { report, switched } => {
            if out.json {
                return out.json(report);
            }
            print_installed(report, out);
            if let Some(switched) = switched {
                out.info(format!(
                    "switched from {} to {} for {}: {}",
                    switched.from.file(),
                    switched.to.file(),
                    report.python.as_deref().unwrap_or_default(),
                    switched.reason
                ));
            }
            Ok(())
        }
    }
}

/// What an uninstall did, or would do.
pub fn print_uninstall(uninstalled: &Uninstalled, out: &Output) -> Result<()> {
    match uninstalled {
        Uninstalled::NotInstalled(report) => {
            out.json(report)?;
            out.info(format!(
                "wrapt-bootstrap is not installed in {}",
                report.purelib()
            ));
            Ok(())
        }
        Uninstalled::DryRun { report, .. } => print_dry_run(report, out),
        Uninstalled::Done(report) => {
            if out.json {
                return out.json(report);
            }
            let c = report.counts.unwrap_or_default();
            out.info(format!(
                "removed wrapt-bootstrap {} from {}: {} files removed, {} already missing, {} directories removed",
                report.versions_before(),
                report.purelib(),
                c.removed,
                c.missing,
                c.directories_removed
            ));
            Ok(())
        }
    }
}

/// What an install did, in words.
fn print_installed(report: &Report, out: &Output) {
    let c = report.counts.unwrap_or_default();
    let older: Vec<&str> = report
        .installed_before
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|v| *v != VERSION)
        .collect();
    let upgraded = if older.is_empty() {
        String::new()
    } else {
        format!(" (replacing {})", older.join(", "))
    };
    out.info(format!(
        "installed wrapt-bootstrap {VERSION} into {}{upgraded}: {} created, {} replaced, {} unchanged, {} removed",
        report.purelib(),
        c.created,
        c.replaced,
        c.unchanged,
        c.removed
    ));
    if let Some(defaults) = &report.defaults {
        out.info(describe_defaults(defaults));
    }
    if let Some(activation) = report.activation {
        out.info(describe_activation(activation));
    }
}

/// What an install with `--create` would make and write, as far as can be
/// told before the environment exists.
fn print_would_create(report: &Report, out: &Output) -> Result<()> {
    if out.json {
        return out.json(report);
    }
    if let Some(create) = &report.create {
        out.info(format!(
            "dry run: would create the virtual environment {} with {} ({}), and install wrapt-bootstrap {VERSION} into it",
            create.venv.display(),
            create.base_interpreter.display(),
            create.python
        ));
    }
    if let Some(activation) = report.activation {
        out.info(describe_activation(activation));
    }
    if let Some(defaults) = &report.defaults {
        out.info(describe_defaults(defaults));
    }
    out.info("nothing was written (--dry-run)");
    Ok(())
}

fn print_dry_run(report: &Report, out: &Output) -> Result<()> {
    if out.json {
        return out.json(report);
    }
    let verb = if report.head.command == "install" {
        format!("install wrapt-bootstrap {VERSION} into")
    } else {
        format!(
            "uninstall wrapt-bootstrap {} from",
            report.versions_before()
        )
    };
    out.info(format!(
        "dry run: would {verb} {} ({} at {})",
        report.purelib(),
        report.python.as_deref().unwrap_or_default(),
        report
            .interpreter
            .as_deref()
            .unwrap_or(Path::new(""))
            .display()
    ));
    for change in report.changes.as_deref().unwrap_or_default() {
        let problem = change
            .problem
            .map(|p| format!("  ({}: needs --force)", p.as_str()))
            .unwrap_or_default();
        out.info(format!(
            "  {:<9} {}{problem}",
            change.action.as_str(),
            change.path
        ));
    }
    if let Some(activation) = report.activation {
        out.info(describe_activation(activation));
    }
    if let Some(line) = &report.activation_line {
        let file = report.activation.map_or("", Activation::file);
        out.info(format!("{file} line: {line}"));
    }
    if let Some(defaults) = &report.defaults {
        out.info(describe_defaults(defaults));
    }
    if report.nothing_to_do == Some(true) {
        out.info("already installed, nothing to do");
    }
    out.info("nothing was written (--dry-run)");
    Ok(())
}

fn describe_activation(activation: Activation) -> String {
    match activation {
        Activation::Pth => format!(
            "activation: {PTH}, an import line (site ignores those from CPython 3.18 on; a re-install there switches to {START})"
        ),
        Activation::Start => format!(
            "activation: {START}, a PEP 829 entry point in {}",
            START_PACKAGE.trim_end_matches("/__init__.py")
        ),
        Activation::Sitecustomize => format!(
            "activation: the {} package, which runs the environment's own sitecustomize after it",
            SITECUSTOMIZE.trim_end_matches("/__init__.py")
        ),
    }
}

fn describe_defaults(defaults: &[String]) -> String {
    if defaults.is_empty() {
        "default groups: none (enable per process with WRAPT_PATCHES=GROUP, or here with --enable GROUP)"
            .to_owned()
    } else {
        format!("default groups: {}", defaults.join(", "))
    }
}
