//! What each command tells its user: the `--json` objects (the install's
//! and uninstall's [`Report`] here, [`CheckReport`] and [`ListReport`]
//! where they are found) and every human message, while a run goes
//! ([`warnings`], [`change_made`], [`starting_environment`]) and at its end
//! ([`print_outcome`], [`print_uninstall`]). The steps themselves, in
//! [`install`](crate::install), [`uninstall`](crate::uninstall),
//! [`check`](crate::check) and [`discover`](crate::discover), print nothing
//! else.

use serde::Serialize;
use std::path::Path;

use crate::check::CheckReport;
use crate::create::NewEnvironment;
use crate::discover::{ListReport, PassedOver};
use crate::error::{Error, Result};
use crate::install::{Installed, Outcome};
use crate::output::{self, Output};
use crate::plan::{Activation, PTH, SITECUSTOMIZE, START, START_PACKAGE, VERSION};
use crate::target::Layout;
use crate::transaction::{self, Change, Counts};
use crate::uninstall::Uninstalled;
use wrapt_common::scan;

/// What an install or uninstall did (or, with `--dry-run`, would do); the
/// `--json` output. Every key is present in every state: what a run did not
/// get to know is null.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub head: output::Head,
    pub dry_run: bool,
    #[serde(flatten)]
    pub environment: output::Environment,
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
            environment: output::Environment::default(),
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
            environment: output::Environment::of(layout),
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

/// What `wrapt-install` did, whatever its mode.
pub fn print_outcome(outcome: &Outcome, out: &Output) -> Result<()> {
    match outcome {
        Outcome::Installed(installed) => print_install(installed, out),
        Outcome::Checked(report) => print_check(report, out),
        Outcome::Listed(report) => print_list(report, out),
    }
}

/// What an install did, or would do.
fn print_install(installed: &Installed, out: &Output) -> Result<()> {
    if out.json {
        return out.json(installed.report());
    }
    match installed {
        Installed::WouldCreate(report) => print_would_create(report, out),
        Installed::DryRun { report, .. } => print_dry_run(report, out),
        Installed::NothingToDo(report) => out.info(format!(
            "wrapt-bootstrap {VERSION} is already installed in {}, nothing to do",
            report.environment.purelib()
        )),
        Installed::Done { report, switched } => {
            print_installed(report, out);
            if let Some(switched) = switched {
                out.info(format!(
                    "switched from {} to {} for {}: {}",
                    switched.from.file(),
                    switched.to.file(),
                    report.environment.python(),
                    switched.reason
                ));
            }
        }
    }
    Ok(())
}

/// What an uninstall did, or would do.
pub fn print_uninstall(uninstalled: &Uninstalled, out: &Output) -> Result<()> {
    if out.json {
        return out.json(uninstalled.report());
    }
    match uninstalled {
        Uninstalled::NotInstalled(report) => out.info(format!(
            "wrapt-bootstrap is not installed in {}",
            report.environment.purelib()
        )),
        Uninstalled::DryRun { report, .. } => print_dry_run(report, out),
        Uninstalled::Done(report) => {
            let c = report.counts.unwrap_or_default();
            out.info(format!(
                "removed wrapt-bootstrap {} from {}: {} files removed, {} already missing, {} directories removed",
                report.versions_before(),
                report.environment.purelib(),
                c.removed,
                c.missing,
                c.directories_removed
            ));
        }
    }
    Ok(())
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
        report.environment.purelib(),
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
fn print_would_create(report: &Report, out: &Output) {
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
}

fn print_dry_run(report: &Report, out: &Output) {
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
        report.environment.purelib(),
        report.environment.python(),
        report.environment.interpreter()
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
}

/// What a check found: with `--json` the report, else what it verified and
/// saw, then each problem on stderr.
fn print_check(report: &CheckReport, out: &Output) -> Result<()> {
    if out.json {
        return out.json(report);
    }
    print_checked(report, out);
    for problem in &report.problems {
        out.problem(&problem.message);
    }
    Ok(())
}

fn print_checked(report: &CheckReport, out: &Output) {
    if report.is_not_installed() {
        // Nothing to describe: the problem line says it all.
        return;
    }
    let environment = &report.environment;
    if let (Some(purelib), Some(python), Some(interpreter)) = (
        &environment.purelib,
        &environment.python,
        &environment.interpreter,
    ) {
        out.info(format!(
            "wrapt-bootstrap {VERSION} in {} ({python} at {})",
            purelib.display(),
            interpreter.display()
        ));
    }
    if report.files_verified > 0 {
        out.info(format!(
            "  files verified: {}, RECORD included",
            report.files_verified
        ));
    }
    let selection = report.selection.as_deref().unwrap_or("");
    if let Some(status) = &report.status {
        let implementation = status.implementation.as_deref().unwrap_or("none");
        let state = if status.active {
            "active"
        } else {
            "NOT active"
        };
        let by = report
            .activation
            .map(|a| format!(", by {}", a.as_str()))
            .unwrap_or_default();
        out.info(format!("  activation: {state} ({implementation}{by})"));
        if status.defaults.is_empty() {
            out.info("  defaults: none (enable per process with WRAPT_PATCHES=GROUP)");
        } else {
            out.info(format!("  defaults: {}", status.defaults.join(", ")));
        }
        out.info(format!("  groups, with WRAPT_PATCHES={selection}:"));
        for group in &status.selected {
            let count = status.entry_points.get(group).copied().unwrap_or(0);
            let plural = if count == 1 { "" } else { "s" };
            out.info(format!("    {group}: {count} entry point{plural}"));
        }
        for group in status
            .defaults
            .iter()
            .filter(|g| !status.selected.contains(g))
        {
            out.info(format!(
                "    {group}: a default this WRAPT_PATCHES leaves out, not looked for"
            ));
        }
    }
    if !report.ordering.is_empty() {
        out.info("  ordering:");
        for hook in &report.ordering {
            let verdict = if hook.late { "LATE" } else { "in time" };
            out.info(format!("    {} ({}): {verdict}", hook.target, hook.group));
        }
    }
    if !report.startup_stderr.is_empty() {
        out.info("  startup printed on stderr (information, not a problem in itself):");
        for line in &report.startup_stderr {
            out.info(format!("    {line}"));
        }
    }
    for warning in &report.warnings {
        out.warn(&warning.message);
    }
    if report.head.ok {
        out.info("ok");
    }
}

/// What `--list` found: with `--json` the report; else, with `-v`, what
/// it passed over, then the groups and who declares them.
fn print_list(report: &ListReport, out: &Output) -> Result<()> {
    if out.json {
        return out.json(report);
    }
    for passed_over in &report.passed_over {
        out.detail(match passed_over {
            PassedOver::TooLarge(file) => {
                format!("  skipped {}: {}", file.display(), scan::TOO_LARGE)
            }
            PassedOver::Hidden { dist_dir, by } => format!(
                "  skipped {}: {} comes first on sys.path",
                dist_dir.display(),
                by.display()
            ),
            PassedOver::NotAPatchGroup {
                group,
                dist_dir,
                reason,
            } => format!(
                "  not a patch group: {group} in {}: {reason}",
                dist_dir.display()
            ),
        });
    }
    let environment = &report.environment;
    let groups = report.groups.as_deref().unwrap_or_default();
    out.info(format!(
        "patch groups in {} ({} at {}):",
        environment.purelib(),
        environment.python(),
        environment.interpreter()
    ));
    if groups.is_empty() {
        out.info("  none found");
    }
    for group in groups {
        let enabled = if group.enabled_by_default {
            " (enabled by default)"
        } else {
            ""
        };
        out.info(format!("  {}{enabled}", group.group));
        for dist in &group.distributions {
            let version = dist
                .version
                .as_ref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default();
            out.info(format!(
                "    {}{version}  {}",
                dist.name,
                dist.path.display()
            ));
            for hook in &dist.entries {
                out.info(format!("      {} = {}", hook.target, hook.hook));
            }
        }
    }
    for warning in &report.warnings {
        out.warn(&warning.message);
    }
    if report.installed == Some(true) {
        out.info(
            "enable per process with WRAPT_PATCHES=GROUP, or by default with wrapt-install --enable GROUP",
        );
    } else {
        out.info(format!(
            "wrapt-bootstrap is not installed in {}: no group is enabled at startup; install it with wrapt-install [--enable GROUP]",
            environment.purelib()
        ));
    }
    Ok(())
}

/// `--check` is about to start the environment for real: said first, since
/// that runs its `.pth` files and `sitecustomize`.
pub fn starting_environment(
    out: &Output,
    interpreter: &Path,
    selection: &str,
    started_in: Option<&Path>,
) {
    let from = started_in
        .map(|dir| format!(", from {}", dir.display()))
        .unwrap_or_default();
    out.notice(format!(
        "running {} -X importtime -c '…' with WRAPT_PATCHES={selection}: this starts the environment, its .pth files and sitecustomize included{from}, with this environment's other variables",
        interpreter.display(),
    ));
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
