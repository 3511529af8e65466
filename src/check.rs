//! `wrapt-install --check`: every RECORD hash verified, then activation
//! proven by running the environment's own interpreter with the example
//! group enabled (on top of the caller's `WRAPT_PATCHES`) and asking
//! `wrapt_bootstrap._status()`, and the [`ordering`] of each hook
//! registered at startup diagnosed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ordering::{self, ImportTree, Ordering, Registration};
use crate::output::Output;
use crate::plan::{self, Activation, Plan, VERSION};
use crate::site_packages::{Node, SitePackages};
use crate::target::{self, Layout};
use crate::transaction;
use crate::{bytecode, integrity};

/// The group `--check` enables on top of the defaults (shipped in our own
/// `entry_points.txt`, so there is always one entry point to find).
pub const EXAMPLE_GROUP: &str = "wrapt_bootstrap.examples";

/// What `templates/wrapt_bootstrap/examples.py` writes on stderr.
const EXAMPLE_REPORTS: [&str; 2] = ["patching tempfile", "calling mkdtemp"];

/// Prints the status, with the modules imported in the order `sys.modules`
/// keeps: the order in which their imports completed.
const STATUS_SCRIPT: &str = r#"
import json, sys, wrapt_bootstrap as w
status = w._status()
status["imported"] = list(sys.modules)
print(json.dumps(status))
"#;

/// What `wrapt_bootstrap._status()` returns (`templates/wrapt_bootstrap/__init__.py`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub version: String,
    pub active: bool,
    pub implementation: Option<String>,
    pub selected: Vec<String>,
    pub defaults: Vec<String>,
    pub entry_points: BTreeMap<String, u64>,
    pub file: PathBuf,
    #[serde(default)]
    pub registered: Vec<Registration>,
    /// `sys.modules`, in order (from the check's script).
    #[serde(default, skip_serializing)]
    pub imported: Vec<String>,
}

impl Status {
    /// Marks each registration with whether its target was imported before
    /// `wrapt_bootstrap`, and before `site` began (before the first module
    /// that `-X importtime` shows `site` importing).
    fn date_registrations(&mut self, tree: &ImportTree) {
        let imported = &self.imported;
        let position = |name: &str| imported.iter().position(|m| m == name);
        let ours = position(plan::PACKAGE_DIR);
        let site_began = tree.first_imported_within("site").and_then(position);
        for registration in &mut self.registered {
            let at = position(&registration.target);
            let before = |mark: Option<usize>| at.zip(mark).is_some_and(|(at, mark)| at < mark);
            registration.before_activation = before(ours);
            registration.before_site = before(site_began);
        }
    }
}

/// The outcome of a check (also the `--json` output).
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub ok: bool,
    pub version: &'static str,
    pub purelib: PathBuf,
    pub interpreter: PathBuf,
    pub python: String,
    pub files_verified: usize,
    /// How the installation activates (from its RECORD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
    pub status: Option<Status>,
    /// The `WRAPT_PATCHES` the interpreter was run with.
    pub selection: String,
    /// The command run to prove activation, with `selection` as
    /// `WRAPT_PATCHES` and no other `PYTHON*` variable: it starts the
    /// environment for real, its `.pth` files and `sitecustomize` included
    /// (`None` when the check stopped before).
    pub started: Option<Vec<String>>,
    /// Each hook registered at startup, registered in time or late.
    pub ordering: Vec<Ordering>,
}

/// Runs the check and reports it; `Err(CheckFailed)` when it found problems.
pub fn run(layout: &Layout, site: &SitePackages, out: &Output) -> Result<()> {
    let report = check(layout, site, out)?;
    if out.json {
        out.json(&report)?;
    } else {
        print_report(&report, out);
    }
    if report.ok {
        Ok(())
    } else {
        if !out.json {
            for problem in &report.problems {
                out.problem(problem);
            }
        }
        Err(Error::CheckFailed {
            count: report.problems.len(),
            purelib: layout.purelib.clone(),
        })
    }
}

fn check(layout: &Layout, site: &SitePackages, out: &Output) -> Result<CheckReport> {
    let purelib = &layout.purelib;
    let mut report = CheckReport {
        ok: false,
        version: VERSION,
        purelib: purelib.clone(),
        interpreter: layout.interpreter.clone(),
        python: layout.info.description(),
        files_verified: 0,
        activation: None,
        problems: Vec::new(),
        warnings: Vec::new(),
        status: None,
        selection: ordering::selection(
            std::env::var("WRAPT_PATCHES").ok().as_deref(),
            EXAMPLE_GROUP,
        ),
        started: None,
        ordering: Vec::new(),
    };
    // Shared: a concurrent install or uninstall waits until we are done.
    site.lock(false, || out.waiting(purelib))?;

    let records = match transaction::installed_records(site, false) {
        Ok(records) => records,
        Err(e) if e.is_untrusted_record() => {
            report.problems.push(e.to_string());
            return Ok(report);
        }
        Err(e) => return Err(e),
    };
    if records.is_empty() {
        report.problems.push(format!(
            "wrapt-bootstrap is not installed in {}; run wrapt-install",
            purelib.display()
        ));
        return Ok(report);
    }
    let activation = transaction::installed_activation(&records).unwrap_or(Activation::Pth);
    report.activation = Some(activation);
    verify_files(layout, site, &records, activation, &mut report)?;
    // Starting the environment would run whatever differs.
    let files_intact = report.problems.is_empty();
    let start_listed = records
        .iter()
        .any(|r| r.entries.iter().any(|e| e.path == plan::START));
    judge_fit(activation, start_listed, layout, &mut report);
    if activation == Activation::Sitecustomize {
        judge_sitecustomize(layout, site, &mut report)?;
    }
    if !files_intact {
        report.problems.push(format!(
            "activation not tried: {} would run files that differ from what wrapt-install {VERSION} installs",
            layout.interpreter.display()
        ));
        report.ok = false;
        return Ok(report);
    }
    prove_activation(layout, activation, out, &mut report);
    report.ok = report.problems.is_empty();
    Ok(report)
}

/// Starts the environment for real, saying so first, and judges the
/// activation and the ordering of each hook it registered.
fn prove_activation(
    layout: &Layout,
    activation: Activation,
    out: &Output,
    report: &mut CheckReport,
) {
    let command = status_command(&layout.interpreter, &report.selection);
    out.notice(format!(
        "running {} -X importtime -c '…' with WRAPT_PATCHES={}: this starts the environment, its .pth files and sitecustomize included",
        layout.interpreter.display(),
        report.selection
    ));
    report.started = Some(
        std::iter::once(command.get_program())
            .chain(command.get_args())
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect(),
    );
    match run_status(command) {
        Ok((mut status, tree)) => {
            status.date_registrations(&tree);
            judge_status(&status, &layout.purelib, activation, report);
            let site_packages = ordering::SitePackages {
                dir: &layout.purelib,
                activation,
                version: layout.info.version,
            };
            report.ordering = ordering::diagnose(&status.registered, &tree, &site_packages);
            for late in report.ordering.iter().filter(|o| o.late) {
                report.warnings.push(format!(
                    "{} (group {}) was {}",
                    late.target, late.group, late.explanation
                ));
            }
            report.status = Some(status);
        }
        Err(problem) => report.problems.push(problem),
    }
}

/// Holds every file of ours against what this binary installs
/// ([`integrity`]), bytecode compiled afresh by the interpreter; another
/// version's files can only be held against its RECORD.
fn verify_files(
    layout: &Layout,
    site: &SitePackages,
    records: &[transaction::InstalledRecord],
    activation: Activation,
    report: &mut CheckReport,
) -> Result<()> {
    let purelib = &layout.purelib;
    for record in records.iter().filter(|r| r.version() != VERSION) {
        report.problems.push(format!(
            "{} is version {}, this wrapt-install installs {VERSION}; run wrapt-install to replace it",
            purelib.join(&record.dist_info).display(),
            record.version()
        ));
    }
    if records.iter().any(|r| r.version() != VERSION) {
        let (verified, problems) = transaction::verify(site, records)?;
        report.files_verified = verified;
        report.problems.extend(problems);
        for rel in transaction::unlisted(site, records)? {
            report
                .problems
                .push(integrity::unlisted(&purelib.join(rel)));
        }
        return Ok(());
    }
    // A tampered __init__.py differs from any rendering: its defaults only
    // choose which rendering the rest is held against.
    let defaults = transaction::defaults_on_disk(site).unwrap_or_default();
    let mut plan = Plan::render(&defaults, activation);
    match bytecode::compile(&layout.interpreter, purelib, &plan.python_sources()) {
        Ok(compiled) => plan.add_bytecode(compiled),
        Err(reason) => {
            report.problems.push(format!(
                "{} could not compile the bytecode to compare with: {reason}",
                layout.interpreter.display()
            ));
            return Ok(());
        }
    }
    let found = integrity::snapshot(site, &plan)?;
    let comparison = integrity::compare(&plan, &found, purelib);
    report.files_verified = comparison.verified;
    report.problems.extend(comparison.problems);
    if comparison.bytecode_to_compare.is_empty() {
        return Ok(());
    }
    let pairs: Vec<_> = comparison
        .bytecode_to_compare
        .into_iter()
        .map(|(pyc, source, on_disk)| {
            let text = plan.get(&source).map_or(&[][..], |f| f.bytes.as_slice());
            (pyc, source, text, on_disk)
        })
        .collect();
    match bytecode::equivalent(&layout.interpreter, purelib, &pairs) {
        Ok(differing) => {
            report.files_verified += pairs.len() - differing.len();
            for (pyc, why) in differing {
                report.problems.push(format!(
                    "{} was modified: {why}",
                    purelib.join(pyc).display()
                ));
            }
        }
        Err(reason) => report.problems.push(format!(
            "{} could not compare the bytecode of {}: {reason}",
            layout.interpreter.display(),
            purelib.display()
        )),
    }
    Ok(())
}

/// Whether our sitecustomize package runs where it is, and with the
/// caller's `PYTHONPATH`.
fn judge_sitecustomize(
    layout: &Layout,
    site: &SitePackages,
    report: &mut CheckReport,
) -> Result<()> {
    let purelib = site.path();
    if let Some(reason) = layout.info.sitecustomize_conflict(purelib) {
        report.problems.push(format!(
            "the sitecustomize package cannot work: {reason}; reinstall with --mode pth"
        ));
    }
    if let Some(pythonpath) = std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
        let entries = target::pythonpath_entries(&pythonpath, &std::env::current_dir()?);
        match target::sitecustomize_in(&layout.interpreter, &entries) {
            Ok(Some(found)) if !same_file(&found, &purelib.join(plan::SITECUSTOMIZE)) => {
                match hidden_by(&found, answers_opentelemetry(site)) {
                    Ok(warning) => report.warnings.push(warning),
                    Err(problem) => report.problems.push(problem),
                }
            }
            Ok(_) => {}
            Err(problem) => report.problems.push(problem),
        }
    }
    Ok(())
}

/// What a `sitecustomize` found on the caller's `PYTHONPATH`, which hides
/// our sitecustomize package, means: a warning where ours still activates,
/// late, else a problem. The wrappers `ddtrace-run` and
/// `opentelemetry-instrument` put theirs there (the check's own runs clear
/// `PYTHONPATH`, so the ordering it shows does not see them).
fn hidden_by(found: &Path, answers_opentelemetry: bool) -> Result<String, String> {
    let hides = |whose: &str| {
        format!(
            "with this PYTHONPATH, Python imports {}{whose} instead of our sitecustomize package",
            found.display()
        )
    };
    let late = "hooks on what it imported are late, and the ordering above, checked without PYTHONPATH, does not show them; --mode pth activates before it";
    if found.ends_with("ddtrace/bootstrap/sitecustomize.py") {
        Ok(format!(
            "{}, and it runs ours only after starting ddtrace: {late}",
            hides(" (ddtrace-run's)")
        ))
    } else if found.ends_with("opentelemetry/instrumentation/auto_instrumentation/sitecustomize.py")
    {
        let hides = hides(" (opentelemetry-instrument's)");
        if answers_opentelemetry {
            Ok(format!(
                "{hides}, and runs no other: wrapt-bootstrap activates from OpenTelemetry's opentelemetry_pre_instrument entry point instead, after OpenTelemetry's configuration: {late}"
            ))
        } else {
            Err(format!(
                "{hides}, and runs no other, and this installation lacks the opentelemetry_pre_instrument entry point that activates wrapt-bootstrap there: run wrapt-install, or use --mode pth"
            ))
        }
    } else {
        Err(format!(
            "{}, which then runs only if that one imports the next sitecustomize on sys.path (ddtrace-run's does); reinstall with --mode pth, which activates before any sitecustomize",
            hides("")
        ))
    }
}

/// Whether the installation declares the entry point through which
/// OpenTelemetry's sitecustomize activates wrapt-bootstrap, and has the
/// module it names.
fn answers_opentelemetry(site: &SitePackages) -> bool {
    let entry_points = format!("{}/entry_points.txt", plan::dist_info_dir());
    let is_file = |rel: &str| matches!(site.inspect(rel), Ok(Node::File { .. }));
    let declares = || match site.inspect(&entry_points) {
        Ok(Node::File { bytes, .. }) => std::str::from_utf8(&bytes).is_ok_and(|text| {
            wrapt_common::entry_points::sections(text)
                .iter()
                .any(|section| section.group == plan::OPENTELEMETRY_GROUP)
        }),
        _ => false,
    };
    is_file(plan::HIDDEN) && declares()
}

/// The interpreter as a user would run it, with `selection` as
/// `WRAPT_PATCHES` and `-X importtime`, printing its status.
fn status_command(interpreter: &Path, selection: &str) -> Command {
    let mut cmd = Command::new(interpreter);
    cmd.args(["-X", "importtime", "-c", STATUS_SCRIPT])
        .current_dir("/");
    target::clean_python_env(&mut cmd);
    cmd.env("WRAPT_PATCHES", selection);
    cmd
}

/// Runs [`status_command`]; returns the status and import tree, or the
/// problem, described.
fn run_status(mut cmd: Command) -> Result<(Status, ImportTree), String> {
    let interpreter = PathBuf::from(cmd.get_program());
    let output = target::output(&mut cmd)
        .map_err(|e| format!("could not run {}: {e}", interpreter.display()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!(
            "{} -c 'import wrapt_bootstrap' failed ({}): {}",
            interpreter.display(),
            output.status,
            target::last_line(&output.stderr)
        ));
    }
    // The example group, which the check itself enables, reports its
    // firings by design: a sitecustomize or a .pth line may import tempfile.
    let (tree, other) = ImportTree::split(&stderr);
    let unexpected: Vec<&str> = other
        .into_iter()
        .filter(|line| !line.trim().is_empty() && !EXAMPLE_REPORTS.contains(line))
        .collect();
    if !unexpected.is_empty() {
        return Err(format!(
            "{} printed on stderr at startup: {}",
            interpreter.display(),
            unexpected.join(" | ")
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or("");
    let status = serde_json::from_str(line).map_err(|e| {
        format!(
            "{} printed no status ({e}): {:?}",
            interpreter.display(),
            stdout.trim()
        )
    })?;
    Ok((status, tree))
}

/// Whether the installed activation files fit the interpreter: files it
/// ignores are a problem (the interpreter changed since the install; a
/// re-install switches), and so is the `.start` an earlier layout wrote
/// beside the `.pth`; a `.start` where a `.pth` line still works is a
/// warning, since it was chosen (`--mode start`) but costs every start.
fn judge_fit(
    activation: Activation,
    start_listed: bool,
    layout: &Layout,
    report: &mut CheckReport,
) {
    let version = layout.info.version;
    let python = layout.info.description();
    let path = |file| layout.purelib.join(file);
    if let Some(reason) = activation.ignored_by(version) {
        report.problems.push(format!(
            "{} cannot activate {python}: {reason}; run wrapt-install to switch to {}",
            path(activation.file()).display(),
            Activation::default_for(version).file()
        ));
    }
    if activation == Activation::Pth && start_listed {
        report.problems.push(format!(
            "{} is left from an earlier wrapt-install: from CPython 3.15 on it makes site skip {} and import pkgutil and two dozen more modules at every start; run wrapt-install to remove it",
            path(plan::START).display(),
            plan::PTH
        ));
    }
    if activation == Activation::Start && Activation::default_for(version) != Activation::Start {
        report.warnings.push(format!(
            "{} makes site import pkgutil and two dozen more modules at every start of {python}; until CPython 3.18 a .pth line activates for a fraction of that: wrapt-install --mode pth",
            path(plan::START).display()
        ));
    }
}

fn judge_status(status: &Status, purelib: &Path, activation: Activation, report: &mut CheckReport) {
    if !status.active {
        report.problems.push(format!(
            "activation did not happen: with WRAPT_PATCHES=+{EXAMPLE_GROUP} the interpreter started without wrapt_bootstrap active; is {} in place?",
            purelib.join(activation.file()).display()
        ));
    }
    if status.version != VERSION {
        report.problems.push(format!(
            "the interpreter imported wrapt_bootstrap {}, expected {VERSION}",
            status.version
        ));
    }
    let expected = purelib.join(plan::PACKAGE_DIR).join("__init__.py");
    if !same_file(&status.file, &expected) {
        report.problems.push(format!(
            "the interpreter imported wrapt_bootstrap from {}, not from {}; something earlier on sys.path shadows it",
            status.file.display(),
            expected.display()
        ));
    }
    for group in &status.defaults {
        if status.entry_points.get(group).copied().unwrap_or(0) == 0 {
            report.warnings.push(format!(
                "default group {group} has no entry points in this environment; install the package that provides it"
            ));
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn print_report(report: &CheckReport, out: &Output) {
    out.info(format!(
        "wrapt-bootstrap {VERSION} in {} ({} at {})",
        report.purelib.display(),
        report.python,
        report.interpreter.display()
    ));
    if report.files_verified > 0 {
        out.info(format!("  files verified: {}", report.files_verified));
    }
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
        for group in status.defaults.iter().chain(
            status
                .selected
                .iter()
                .filter(|g| !status.defaults.contains(g)),
        ) {
            let count = status.entry_points.get(group).copied().unwrap_or(0);
            let plural = if count == 1 { "" } else { "s" };
            out.info(format!("    {group}: {count} entry point{plural}"));
        }
    }
    if !report.ordering.is_empty() {
        out.info(format!(
            "  ordering, with WRAPT_PATCHES={}:",
            report.selection
        ));
        for hook in &report.ordering {
            let verdict = if hook.late { "LATE" } else { "in time" };
            out.info(format!("    {} ({}): {verdict}", hook.target, hook.group));
        }
    }
    for warning in &report.warnings {
        out.warn(warning);
    }
    if report.ok {
        out.info("ok");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(file: &Path) -> Status {
        Status {
            version: VERSION.into(),
            active: true,
            implementation: Some("native".into()),
            selected: vec!["a".into(), EXAMPLE_GROUP.into()],
            defaults: vec!["a".into()],
            entry_points: BTreeMap::from([("a".into(), 0), (EXAMPLE_GROUP.into(), 1)]),
            file: file.to_owned(),
            registered: Vec::new(),
            imported: Vec::new(),
        }
    }

    fn report() -> CheckReport {
        CheckReport {
            ok: false,
            version: VERSION,
            purelib: "/p".into(),
            interpreter: "/p/python".into(),
            python: "Python 3.12.1".into(),
            files_verified: 0,
            activation: None,
            problems: vec![],
            warnings: vec![],
            status: None,
            selection: String::new(),
            started: None,
            ordering: Vec::new(),
        }
    }

    #[test]
    fn a_sitecustomize_on_pythonpath_is_a_warning_only_where_ours_still_activates() {
        let site = "/v/lib/python3.12/site-packages";
        let ddtrace = PathBuf::from(format!("{site}/ddtrace/bootstrap/sitecustomize.py"));
        let opentelemetry = PathBuf::from(format!(
            "{site}/opentelemetry/instrumentation/auto_instrumentation/sitecustomize.py"
        ));
        let warning = hidden_by(&ddtrace, false).unwrap();
        assert!(warning.contains("(ddtrace-run's)"), "{warning}");
        let warning = hidden_by(&opentelemetry, true).unwrap();
        assert!(
            warning.contains("(opentelemetry-instrument's)"),
            "{warning}"
        );
        // Installed before the entry point existed: nothing activates.
        let problem = hidden_by(&opentelemetry, false).unwrap_err();
        assert!(problem.contains("lacks the opentelemetry_pre_instrument entry point"));
        // A directory merely named like theirs is not theirs.
        let problem =
            hidden_by(Path::new("/src/myddtrace/bootstrap/sitecustomize.py"), true).unwrap_err();
        assert!(problem.contains("--mode pth"), "{problem}");
    }

    #[test]
    fn status_parses_from_python_json() {
        let json = r#"{"version": "0.1.0", "active": true, "implementation": null, "selected": [], "defaults": [], "entry_points": {}, "file": "/x/__init__.py"}"#;
        let parsed: Status = serde_json::from_str(json).unwrap();
        assert!(parsed.active);
        assert_eq!(parsed.implementation, None);
    }

    #[test]
    fn judging() {
        let purelib = Path::new("/p");
        let mut r = report();
        judge_status(
            &status(&purelib.join("wrapt_bootstrap/__init__.py")),
            purelib,
            Activation::Pth,
            &mut r,
        );
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(r.warnings.len(), 1);
        assert!(r.warnings[0].contains("default group a has no entry points"));

        let mut r = report();
        let mut s = status(Path::new("/elsewhere/wrapt_bootstrap/__init__.py"));
        s.active = false;
        s.version = "0.0.1".into();
        judge_status(&s, purelib, Activation::Sitecustomize, &mut r);
        assert_eq!(r.problems.len(), 3, "{:?}", r.problems);
        assert!(
            r.problems[0].contains("/p/sitecustomize/__init__.py in place"),
            "{:?}",
            r.problems
        );
    }
}
