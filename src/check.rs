//! `wrapt-install --check`: every file of ours verified, then activation
//! proven by starting the environment's own interpreter as the application
//! would start (the caller's working directory and environment, with the
//! example group enabled on top of the caller's `WRAPT_PATCHES`) and asking
//! `wrapt_bootstrap._status()`, and the [`ordering`] of each hook
//! registered at startup diagnosed.
//!
//! What startup prints on stderr is information, shown as such: a patch
//! that logs, a warning, a `sitecustomize` of the user's. Problems (exit 1)
//! are files that differ, an activation that failed, a hook that failed at
//! startup; with `--strict`, every warning too (late hooks among them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::integrity::finding;
use crate::ordering::{self, ImportTree, Ordering, Registration};
use crate::output::{self, lossy_path, lossy_path_opt, Finding, Output};
use crate::plan::{self, Activation, Plan, VERSION};
use crate::probe::{self, Interpreter};
use crate::python;
use crate::site::{self, SysPath};
use crate::site_packages::{Node, SitePackages};
use crate::target::Layout;
use crate::transaction;
use crate::{bytecode, integrity};

// The group `--check` enables on top of the defaults (shipped in our own
// `entry_points.txt`, so there is always one entry point to find).
use wrapt_common::selection::EXAMPLE_GROUP;

/// What `templates/wrapt_bootstrap/examples.py` writes on stderr: the
/// check's own group, not what the application's startup prints.
const EXAMPLE_REPORTS: [&str; 2] = ["patching tempfile", "calling mkdtemp"];

/// Prints the status on a line of its own, with the modules imported in the
/// order `sys.modules` keeps (the order in which their imports completed).
/// It imports nothing a hook could target that startup did not import:
/// `json` is replaced by a small encoder (ASCII out, whatever the stream's
/// encoding; a lone surrogate, an undecodable byte of a path, becomes
/// U+FFFD). `-c` puts the working directory first on `sys.path`, after
/// startup: it is taken off before `wrapt_bootstrap` is imported (not yet,
/// in sitecustomize mode), which must not come from there.
const STATUS_SCRIPT: &str = r#"
import sys
if sys.path[:1] == [""]:
    del sys.path[0]
import wrapt_bootstrap
def encode(value):
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return "%d" % value
    if isinstance(value, str):
        return '"' + "".join(map(escape, value)) + '"'
    if isinstance(value, dict):
        return "{" + ",".join(encode(k) + ":" + encode(v) for k, v in value.items()) + "}"
    return "[" + ",".join(map(encode, value)) + "]"
def escape(char):
    code = ord(char)
    if 32 <= code < 127 and char not in '"\\':
        return char
    if 0xD800 <= code < 0xE000:
        return "\\ufffd"
    if code < 0x10000:
        return "\\u%04x" % code
    code -= 0x10000
    return "\\u%04x\\u%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))
status = wrapt_bootstrap._status()
status["imported"] = list(sys.modules)
sys.stdout.write("\n" + encode(status) + "\n")
"#;

/// What `wrapt_bootstrap._status()` returns (`templates/wrapt_bootstrap/_api.py`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub version: String,
    pub active: bool,
    pub implementation: Option<String>,
    pub selected: Vec<String>,
    pub defaults: Vec<String>,
    pub entry_points: BTreeMap<String, u64>,
    #[serde(serialize_with = "lossy_path")]
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

/// The outcome of a check (also the `--json` output). Every key is there in
/// every state, `null` where the check did not get that far.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// `ok`: no problem found; `error`: `check_failed` (exit 1) with the
    /// problems, or what stopped the check (exit 2–4).
    #[serde(flatten)]
    pub head: output::Head,
    /// `--strict`: every warning counts as a problem.
    pub strict: bool,
    #[serde(serialize_with = "lossy_path_opt")]
    pub purelib: Option<PathBuf>,
    #[serde(serialize_with = "lossy_path_opt")]
    pub interpreter: Option<PathBuf>,
    pub python: Option<String>,
    /// How the installation activates (from its RECORD).
    pub activation: Option<Activation>,
    /// Files identical to what an install writes, RECORD included.
    pub files_verified: usize,
    pub problems: Vec<Finding>,
    pub warnings: Vec<Finding>,
    /// The `WRAPT_PATCHES` the interpreter was run with.
    pub selection: Option<String>,
    /// The command run to prove activation, with `selection` as
    /// `WRAPT_PATCHES` and the caller's other variables: it starts the
    /// environment for real, its `.pth` files and `sitecustomize` included
    /// (`None` when the check stopped before).
    pub started: Option<Vec<String>>,
    /// The directory it was started in: the caller's.
    #[serde(serialize_with = "lossy_path_opt")]
    pub started_in: Option<PathBuf>,
    pub status: Option<Status>,
    /// What startup printed on stderr (besides `-X importtime` and the
    /// example group), line by line: information, not a problem.
    pub startup_stderr: Vec<String>,
    /// Each hook registered at startup, registered in time or late.
    pub ordering: Vec<Ordering>,
}

impl Default for CheckReport {
    /// The report of a check that has checked nothing yet.
    fn default() -> Self {
        CheckReport {
            head: output::Head::new("check"),
            strict: false,
            purelib: None,
            interpreter: None,
            python: None,
            activation: None,
            files_verified: 0,
            problems: Vec::new(),
            warnings: Vec::new(),
            selection: None,
            started: None,
            started_in: None,
            status: None,
            startup_stderr: Vec::new(),
            ordering: Vec::new(),
        }
    }
}

impl CheckReport {
    /// The report of a check stopped by `error` before it knew more.
    pub fn failed(error: output::ErrorReport, strict: bool) -> Self {
        CheckReport {
            head: output::Head::failed("check", error),
            strict,
            ..CheckReport::default()
        }
    }

    fn of(layout: &Layout, strict: bool) -> Self {
        CheckReport {
            strict,
            purelib: Some(layout.purelib.clone()),
            interpreter: Some(layout.interpreter.clone()),
            python: Some(layout.info.description()),
            ..CheckReport::default()
        }
    }

    fn problem(&mut self, code: &'static str, path: Option<&Path>, message: String) {
        self.problems.push(Finding {
            code,
            path: path.map(Path::to_owned),
            message,
        });
    }

    fn warning(&mut self, code: &'static str, path: Option<&Path>, message: String) {
        self.warnings.push(Finding {
            code,
            path: path.map(Path::to_owned),
            message,
        });
    }

    fn is_not_installed(&self) -> bool {
        self.problems.iter().any(|p| p.code == NOT_INSTALLED)
    }
}

const NOT_INSTALLED: &str = "not_installed";

/// The caller's `WRAPT_PATCHES`.
fn caller_selection() -> Option<String> {
    std::env::var("WRAPT_PATCHES").ok()
}

/// The `sys.path` the live run imports from, for the root trust check:
/// `site`'s, after the caller's `PYTHONPATH` entries, which it honours.
pub fn live_sys_path(info: &Interpreter) -> Result<SysPath> {
    let mut path = site::sys_path(info, true);
    if let Some(pythonpath) = std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
        let entries = site::pythonpath_entries(&pythonpath, &std::env::current_dir()?);
        path.entries.splice(0..0, entries);
    }
    Ok(path)
}

/// Runs the check and reports it; `Err(CheckFailed)` when it found problems.
pub fn run(layout: &Layout, site: &SitePackages, out: &Output, strict: bool) -> Result<()> {
    let mut report = CheckReport::of(layout, strict);
    check(layout, site, out, &mut report)?;
    if strict {
        report.problems.append(&mut report.warnings);
    }
    let failed = (!report.problems.is_empty()).then(|| Error::CheckFailed {
        count: report.problems.len(),
        purelib: layout.purelib.clone(),
    });
    report.head.outcome(failed.as_ref());
    if out.json {
        out.json(&report)?;
    } else {
        print_report(&report, out);
        for problem in &report.problems {
            out.problem(&problem.message);
        }
    }
    failed.map_or(Ok(()), Err)
}

fn check(
    layout: &Layout,
    site: &SitePackages,
    out: &Output,
    report: &mut CheckReport,
) -> Result<()> {
    let purelib = &layout.purelib;
    // Shared: a concurrent install or uninstall waits until we are done.
    site.lock(false, || out.waiting(purelib))?;

    let records = match transaction::installed_records(site, false) {
        Ok(records) => records,
        Err(e) if e.is_untrusted_record() => {
            let path = match &e {
                Error::BadRecord { path, .. }
                | Error::NotARegularFile { path, .. }
                | Error::SymlinkedDirectory { path } => Some(path.as_path()),
                Error::UnsafePath { record, .. } => Some(record.as_path()),
                _ => None,
            };
            report.problem(e.code(), path, e.to_string());
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    if records.is_empty() {
        report.problem(
            NOT_INSTALLED,
            Some(purelib),
            format!(
                "wrapt-bootstrap is not installed in {}; run wrapt-install",
                purelib.display()
            ),
        );
        return Ok(());
    }
    let activation = transaction::installed_activation(&records).unwrap_or(Activation::Pth);
    report.activation = Some(activation);
    verify_files(layout, site, &records, activation, report)?;
    // Starting the environment would run whatever differs.
    let files_intact = report.problems.is_empty();
    let start_listed = records
        .iter()
        .any(|r| r.entries.iter().any(|e| e.path == plan::START));
    judge_fit(activation, start_listed, layout, report);
    if activation == Activation::Sitecustomize {
        judge_sitecustomize(layout, site, report)?;
    }
    if !files_intact {
        report.problem(
            "activation_not_tried",
            None,
            format!(
                "activation not tried: {} would run files that differ from what wrapt-install {VERSION} installs",
                layout.interpreter.display()
            ),
        );
        return Ok(());
    }
    prove_activation(layout, site, activation, out, report);
    Ok(())
}

/// Starts the environment for real, saying so first, and judges the
/// activation, what startup printed, and the ordering of each hook it
/// registered.
fn prove_activation(
    layout: &Layout,
    site: &SitePackages,
    activation: Activation,
    out: &Output,
    report: &mut CheckReport,
) {
    let interpreter = &layout.interpreter;
    let selection = ordering::selection(caller_selection().as_deref(), EXAMPLE_GROUP);
    let mut command = status_command(interpreter, &selection);
    report.started_in = std::env::current_dir().ok();
    let from = report
        .started_in
        .as_deref()
        .map(|dir| format!(", from {}", dir.display()))
        .unwrap_or_default();
    out.notice(format!(
        "running {} -X importtime -c '…' with WRAPT_PATCHES={selection}: this starts the environment, its .pth files and sitecustomize included{from}, with this environment's other variables",
        interpreter.display(),
    ));
    report.started = Some(
        std::iter::once(command.get_program())
            .chain(command.get_args())
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect(),
    );
    report.selection = Some(selection);
    let output = match python::output(&mut command) {
        Ok(output) => output,
        Err(e) => {
            report.problem(
                "startup_failed",
                Some(interpreter),
                format!("could not run {}: {e}", interpreter.display()),
            );
            return;
        }
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    let (tree, other) = ImportTree::split(&stderr);
    report.startup_stderr = other
        .into_iter()
        .filter(|line| !line.trim().is_empty() && !EXAMPLE_REPORTS.contains(line))
        .map(str::to_owned)
        .collect();
    judge_startup_stderr(report);
    if !output.status.success() {
        report.problem(
            "startup_failed",
            Some(interpreter),
            format!(
                "{} -c 'import wrapt_bootstrap' failed ({}): {}",
                interpreter.display(),
                output.status,
                python::last_line(&output.stderr)
            ),
        );
        return;
    }
    let mut status = match parse_status(&output.stdout) {
        Ok(status) => status,
        Err(e) => {
            report.problem(
                "no_status",
                Some(interpreter),
                format!(
                    "{} printed no status ({e}): {:?}",
                    interpreter.display(),
                    String::from_utf8_lossy(&output.stdout).trim()
                ),
            );
            return;
        }
    };
    status.date_registrations(&tree);
    judge_status(&status, &layout.purelib, activation, report);
    let startup_files = ordering::StartupFiles {
        site,
        activation,
        version: layout.info.version,
    };
    report.ordering = ordering::diagnose(&status.registered, &tree, &startup_files);
    // The example group is the check's own, unless the application enables
    // it too: its lateness is shown, but warns of nothing the application
    // gets.
    let example_is_theirs = application_groups(&status)
        .iter()
        .any(|g| g == EXAMPLE_GROUP);
    let late: Vec<String> = report
        .ordering
        .iter()
        .filter(|o| o.late && (o.group != EXAMPLE_GROUP || example_is_theirs))
        .map(|o| format!("{} (group {}) was {}", o.target, o.group, o.explanation))
        .collect();
    for message in late {
        report.warning("late_hook", None, message);
    }
    report.status = Some(status);
}

/// The groups a process of the environment started with the caller's
/// `WRAPT_PATCHES` enables (without the check's example group).
fn application_groups(status: &Status) -> Vec<String> {
    let defaults: Vec<&str> = status.defaults.iter().map(String::as_str).collect();
    wrapt_common::selection::edit(caller_selection().as_deref(), &defaults, &mut Vec::new())
        .unwrap_or_default()
}

/// The status line of [`STATUS_SCRIPT`] in what the run printed on stdout,
/// after whatever startup printed there.
fn parse_status(stdout: &[u8]) -> std::result::Result<Status, serde_json::Error> {
    let stdout = String::from_utf8_lossy(stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or("");
    serde_json::from_str(line)
}

/// The lines of what startup printed that report a failure, or something
/// skipped: wrapt-bootstrap's own reports (the same words from the native
/// module and the fallback), and `site`'s reports of a `.pth` line, a
/// `.start` entry point, a `sitecustomize` or a `usercustomize` that
/// raised. Everything else (a patch that logs, `WRAPT_PATCHES_DEBUG`'s
/// trace, a warning) is information only.
fn judge_startup_stderr(report: &mut CheckReport) {
    const SITE_ERRORS: [&str; 7] = [
        "Error processing line ",
        "Error in sitecustomize",
        "Error in usercustomize",
        "Error in import line from ",
        "Error in entry point ",
        "Error resolving entry point ",
        "Invalid entry point syntax in ",
    ];
    const DETAILS: &str = "(the details are in what startup printed)";
    let lines = std::mem::take(&mut report.startup_stderr);
    for line in &lines {
        let said = line.trim_end().trim_end_matches(':');
        if let Some(ours) = said.strip_prefix("wrapt-bootstrap: ") {
            if ours.starts_with("hook ") && ours.ends_with(" failed") {
                report.problem(
                    "hook_failed",
                    None,
                    format!("at startup, {ours}: its patch did not apply in full {DETAILS}"),
                );
            } else if ours.starts_with("activation failed")
                || ours.starts_with("rescan at the end of site failed")
            {
                report.problem(
                    "activation_failed",
                    None,
                    format!("at startup, wrapt-bootstrap's {ours} {DETAILS}"),
                );
            } else if ["skipped: ", "skipping ", "ignoring "]
                .iter()
                .any(|p| ours.starts_with(p))
            {
                report.warning(
                    "bootstrap_warning",
                    None,
                    format!("at startup, wrapt-bootstrap said: {ours}"),
                );
            }
        } else if SITE_ERRORS.iter().any(|p| said.starts_with(p)) {
            report.warning(
                "startup_error",
                None,
                format!("at startup, site reported: {said} {DETAILS}"),
            );
        }
    }
    report.startup_stderr = lines;
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
        let dist_info = purelib.join(&record.dist_info);
        report.problem(
            "other_version",
            Some(&dist_info),
            format!(
                "{} is version {}, this wrapt-install installs {VERSION}; run wrapt-install to replace it",
                dist_info.display(),
                record.version()
            ),
        );
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
            report.problem(
                "bytecode_not_compiled",
                Some(&layout.interpreter),
                format!(
                    "{} could not compile the bytecode to compare with: {reason}",
                    layout.interpreter.display()
                ),
            );
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
                let path = purelib.join(pyc);
                let message = format!("{} was modified: {why}", path.display());
                report.problems.push(finding("modified", &path, message));
            }
        }
        Err(reason) => report.problem(
            "bytecode_not_compared",
            Some(purelib),
            format!(
                "{} could not compare the bytecode of {}: {reason}",
                layout.interpreter.display(),
                purelib.display()
            ),
        ),
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
    let ours = purelib.join(plan::SITECUSTOMIZE);
    if let Some(reason) = plan::sitecustomize_conflict(&layout.info, purelib) {
        report.problem(
            "sitecustomize_conflict",
            Some(&ours),
            format!("the sitecustomize package cannot work: {reason}; reinstall with --mode pth"),
        );
    }
    if let Some(pythonpath) = std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
        let entries = site::pythonpath_entries(&pythonpath, &std::env::current_dir()?);
        match probe::sitecustomize_in(&layout.interpreter, &entries) {
            Ok(Some(found)) if !same_file(&found, &ours) => {
                match hidden_by(&found, answers_opentelemetry(site)) {
                    Ok(warning) => report.warning("sitecustomize_hidden", Some(&found), warning),
                    Err(problem) => report.problem("sitecustomize_hidden", Some(&found), problem),
                }
            }
            Ok(_) => {}
            Err(problem) => report.problem("sitecustomize_unknown", None, problem),
        }
    }
    Ok(())
}

/// What a `sitecustomize` found on the caller's `PYTHONPATH`, which hides
/// our sitecustomize package, means: a warning where ours still activates,
/// late, else a problem. The wrappers `ddtrace-run` and
/// `opentelemetry-instrument` put theirs there. The live run has the same
/// `PYTHONPATH`, so its ordering shows what the wrapper imported before
/// ours activated; this says why.
fn hidden_by(found: &Path, answers_opentelemetry: bool) -> Result<String, String> {
    let hides = |whose: &str| {
        format!(
            "with this PYTHONPATH, Python imports {}{whose} instead of our sitecustomize package",
            found.display()
        )
    };
    let late = "hooks on what it imported are late (the ordering shows which); --mode pth activates before it";
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

/// The interpreter as the application starts it: from the caller's working
/// directory, with the caller's environment, `selection` as
/// `WRAPT_PATCHES`, and `-X importtime`; it prints its status.
fn status_command(interpreter: &Path, selection: &str) -> Command {
    let mut cmd = Command::new(interpreter);
    cmd.args(["-X", "importtime", "-c", STATUS_SCRIPT])
        .env("WRAPT_PATCHES", selection);
    cmd
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
        let file = path(activation.file());
        report.problem(
            "activation_ignored",
            Some(&file),
            format!(
                "{} cannot activate {python}: {reason}; run wrapt-install to switch to {}",
                file.display(),
                Activation::default_for(version).file()
            ),
        );
    }
    let start = path(plan::START);
    if activation == Activation::Pth && start_listed {
        report.problem(
            "leftover_start",
            Some(&start),
            format!(
                "{} is left from an earlier wrapt-install: from CPython 3.15 on it makes site skip {} and import pkgutil and two dozen more modules at every start; run wrapt-install to remove it",
                start.display(),
                plan::PTH
            ),
        );
    }
    if activation == Activation::Start && Activation::default_for(version) != Activation::Start {
        report.warning(
            "start_file_cost",
            Some(&start),
            format!(
                "{} makes site import pkgutil and two dozen more modules at every start of {python}; until CPython 3.18 a .pth line activates for a fraction of that: wrapt-install --mode pth",
                start.display()
            ),
        );
    }
}

fn judge_status(status: &Status, purelib: &Path, activation: Activation, report: &mut CheckReport) {
    if !status.active {
        let file = purelib.join(activation.file());
        let selection = report.selection.clone().unwrap_or_default();
        report.problem(
            "not_active",
            Some(&file),
            format!(
                "activation did not happen: with WRAPT_PATCHES={selection} the interpreter started without wrapt_bootstrap active; is {} in place?",
                file.display()
            ),
        );
    }
    if status.version != VERSION {
        report.problem(
            "other_version_imported",
            Some(&status.file),
            format!(
                "the interpreter imported wrapt_bootstrap {}, expected {VERSION}",
                status.version
            ),
        );
    }
    let expected = purelib.join(plan::PACKAGE_DIR).join("__init__.py");
    if !same_file(&status.file, &expected) {
        report.problem(
            "shadowed",
            Some(&status.file),
            format!(
                "the interpreter imported wrapt_bootstrap from {}, not from {}; something earlier on sys.path shadows it",
                status.file.display(),
                expected.display()
            ),
        );
    }
    // Only the groups this run enabled were looked for: a default that
    // WRAPT_PATCHES leaves out has no count, which is not a count of 0.
    for group in &status.selected {
        if status.entry_points.get(group).copied().unwrap_or(0) > 0 {
            continue;
        }
        let which = if status.defaults.contains(group) {
            "default group"
        } else {
            "group"
        };
        report.warning(
            "no_entry_points",
            None,
            format!(
                "{which} {group} has no entry points in this environment; install the package that provides it"
            ),
        );
    }
}

/// Whether two paths name the same file; where either cannot be resolved
/// (a path the status could only give with U+FFFD for undecodable bytes),
/// whether they read the same.
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a.to_string_lossy() == b.to_string_lossy(),
    }
}

fn print_report(report: &CheckReport, out: &Output) {
    if report.is_not_installed() {
        // Nothing to describe: the problem line says it all.
        return;
    }
    if let (Some(purelib), Some(python), Some(interpreter)) =
        (&report.purelib, &report.python, &report.interpreter)
    {
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
        CheckReport::default()
    }

    fn messages(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.message.as_str()).collect()
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
        assert_eq!(messages(&r.warnings).len(), 1);
        assert_eq!(r.warnings[0].code, "no_entry_points");
        assert!(r.warnings[0]
            .message
            .contains("default group a has no entry points"));

        // A default this run did not select has no count: no warning.
        let mut r = report();
        let mut s = status(&purelib.join("wrapt_bootstrap/__init__.py"));
        s.selected = vec!["b".into(), EXAMPLE_GROUP.into()];
        s.entry_points = BTreeMap::from([("b".into(), 2), (EXAMPLE_GROUP.into(), 1)]);
        judge_status(&s, purelib, Activation::Pth, &mut r);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);

        let mut r = report();
        let mut s = status(Path::new("/elsewhere/wrapt_bootstrap/__init__.py"));
        s.active = false;
        s.version = "0.0.1".into();
        judge_status(&s, purelib, Activation::Sitecustomize, &mut r);
        assert_eq!(r.problems.len(), 3, "{:?}", r.problems);
        assert!(
            r.problems[0]
                .message
                .contains("/p/sitecustomize/__init__.py in place"),
            "{:?}",
            r.problems
        );
        let codes: Vec<&str> = r.problems.iter().map(|p| p.code).collect();
        assert_eq!(codes, ["not_active", "other_version_imported", "shadowed"]);
    }

    #[test]
    fn startup_stderr_is_information_but_failures_in_it_are_named() {
        let mut r = report();
        r.startup_stderr = [
            "acme: patched sqlite3",
            "wrapt-bootstrap: registered hook 'a:b' for module 'c'",
            "wrapt-bootstrap: hook 'acme_patch:hook' (group 'acme.patches', entry 'colorsys') for module 'colorsys' failed:",
            "Traceback (most recent call last):",
            "RuntimeError: boom",
            "wrapt-bootstrap: skipped: /s/x.dist-info/entry_points.txt:2: not 'name = value': 'junk'",
            "Error in sitecustomize; set PYTHONVERBOSE for traceback:",
            "/usr/lib/python3/warnings.py:1: UserWarning: Error in something",
        ]
        .map(str::to_owned)
        .to_vec();
        judge_startup_stderr(&mut r);
        let codes = |findings: &[Finding]| findings.iter().map(|f| f.code).collect::<Vec<_>>();
        assert_eq!(codes(&r.problems), ["hook_failed"]);
        assert!(
            r.problems[0].message.starts_with(
                "at startup, hook 'acme_patch:hook' (group 'acme.patches', entry 'colorsys') for module 'colorsys' failed: "
            ),
            "{:?}",
            r.problems
        );
        assert_eq!(codes(&r.warnings), ["bootstrap_warning", "startup_error"]);
    }
}
