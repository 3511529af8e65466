//! The live run of `--check`: the environment started as the application
//! starts it, its status read back, and what it printed and registered
//! judged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use super::{same_file, CheckReport};
use crate::error::Result;
use crate::ordering::{self, ImportTree, Registration};
use crate::output::{lossy_path, Output};
use crate::plan::{self, Activation, VERSION};
use crate::probe::Interpreter;
use crate::python;
use crate::site::{self, SysPath};
use crate::site_packages::SitePackages;
use crate::target::Layout;

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

/// Starts the environment for real, saying so first, and judges the
/// activation, what startup printed, and the ordering of each hook it
/// registered.
pub(super) fn prove_activation(
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
    crate::report::starting_environment(out, interpreter, &selection, report.started_in.as_deref());
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

/// The interpreter as the application starts it: from the caller's working
/// directory, with the caller's environment, `selection` as
/// `WRAPT_PATCHES`, and `-X importtime`; it prints its status.
fn status_command(interpreter: &Path, selection: &str) -> Command {
    let mut cmd = Command::new(interpreter);
    cmd.args(["-X", "importtime", "-c", STATUS_SCRIPT])
        .env("WRAPT_PATCHES", selection);
    cmd
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Finding;

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
