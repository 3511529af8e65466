//! Activation at interpreter startup, the native twin of the fallback's
//! `activate` (`templates/wrapt_bootstrap/_fallback.py`): the selection
//! (`WRAPT_PATCHES`, `AUTOWRAPT_BOOTSTRAP`, the environment's defaults), the
//! tool-process check, then the finder and the enabled groups' entry points
//! as lazy hooks. The sitecustomize package calls it without importing the
//! Python package at all; that import (importlib's work and unmarshalling
//! its bytecode) cost more than everything here.
//!
//! State is per process, an `Activation` (`crates/common/src/activation.rs`,
//! plain Rust): what `status()` reports and what later scans continue from.
//! It sits behind a mutex that is never held while Python code could run (a
//! hook firing, a finalizer during an allocation), so a hook that calls back
//! in cannot deadlock.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex, PoisonError};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use wrapt_common::activation::{Activation, Registration};
use wrapt_common::scan::{self, ProblemKind};
use wrapt_common::{names, selection};

use crate::finder::{self, register_hook};
use crate::python::{at_startup, debug, environ, report, report_exception, sys};
use crate::registry::RegisteredHook;

static STATE: LazyLock<Mutex<Activation>> = LazyLock::new(Mutex::default);

/// Runs `f` on the state. `f` must not call into Python.
fn with_state<R>(f: impl FnOnce(&mut Activation) -> R) -> R {
    f(&mut STATE.lock().unwrap_or_else(PoisonError::into_inner))
}

/// `[s for s in iterable]` of Python strings. A loop, not `collect()`:
/// collecting asks the iterator's size_hint, which on the limited API
/// imports `operator`.
fn strings(iterable: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    let mut out = Vec::new();
    for item in iterable.try_iter()? {
        out.push(
            item?
                .cast_into::<PyString>()?
                .to_string_lossy()
                .into_owned(),
        );
    }
    Ok(out)
}

fn as_strs(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

/// `", ".join(repr(name) for name in names)`, quoted as Python quotes.
fn reprs(py: Python<'_>, names: &[String]) -> PyResult<String> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        out.push(
            PyString::new(py, name)
                .repr()?
                .to_string_lossy()
                .into_owned(),
        );
    }
    Ok(out.join(", "))
}

/// `repr(value)`, as Python quotes it.
fn repr(py: Python<'_>, value: &str) -> String {
    PyString::new(py, value).repr().map_or_else(
        |_| format!("{value:?}"),
        |r| r.to_string_lossy().into_owned(),
    )
}

fn plural(names: &[String]) -> &'static str {
    if names.len() > 1 {
        "s"
    } else {
        ""
    }
}

/// Other tools' groups ([`selection::is_other_tools_group`]) named for
/// startup or for `discover`: `(plural, reprs)`.
const OTHER_TOOLS_WARNING: &str = "ignoring group%s %s: other tools' entry points, not patches";

/// `(groups, autowrapt_groups, invalid, other_tools)`, as
/// [`selection::Selection`] has them.
type Selected = (Vec<String>, Vec<String>, Vec<String>, Vec<String>);

/// The selection grammar as a pure function, for tests of both
/// implementations.
#[pyfunction]
#[pyo3(signature = (wrapt_patches, autowrapt_bootstrap, defaults))]
pub(crate) fn select(
    wrapt_patches: Option<&Bound<'_, PyString>>,
    autowrapt_bootstrap: Option<&Bound<'_, PyString>>,
    defaults: &Bound<'_, PyAny>,
) -> PyResult<Selected> {
    let text = |value: Option<&Bound<'_, PyString>>| {
        value.map(|value| value.to_string_lossy().into_owned())
    };
    let defaults = strings(defaults)?;
    let selection = selection::select(
        text(wrapt_patches).as_deref(),
        text(autowrapt_bootstrap).as_deref(),
        &as_strs(&defaults),
    );
    Ok((
        selection.groups,
        selection.autowrapt_groups,
        selection.invalid,
        selection.other_tools,
    ))
}

/// The tool-process rule as a pure function, for tests of both
/// implementations: the name on `skip` that makes a process running `argv`
/// with `sys.prefix` at `prefix`, and the variables of `environ` set, a
/// tool process.
#[pyfunction]
pub(crate) fn tool(
    argv: &Bound<'_, PyAny>,
    prefix: &str,
    environ: &Bound<'_, PyDict>,
    skip: &Bound<'_, PyAny>,
) -> PyResult<Option<String>> {
    let is_set = |name: &str| environ.contains(name).unwrap_or(false);
    Ok(selection::tool(
        &strings(argv)?,
        prefix,
        is_set,
        &strings(skip)?,
    ))
}

/// Decide from the environment and activate: the startup entry point,
/// idempotent (site processes a virtual environment's site-packages twice,
/// and every subinterpreter runs site again). Returns whether it activated
/// now, so that the caller arranges the rescan at the end of site. A
/// failure after the decision is reported, never raised, even under
/// `WRAPT_PATCHES_STRICT` (which is about hooks).
#[pyfunction]
pub(crate) fn activate(py: Python<'_>, defaults: &Bound<'_, PyAny>) -> PyResult<bool> {
    if !with_state(Activation::decide) {
        return Ok(false);
    }
    let defaults = strings(defaults)?;
    let wrapt_patches = environ("WRAPT_PATCHES");
    let autowrapt_bootstrap = environ("AUTOWRAPT_BOOTSTRAP");
    let selection = selection::select(
        wrapt_patches.as_deref(),
        autowrapt_bootstrap.as_deref(),
        &as_strs(&defaults),
    );
    // Worded only when traced.
    let explain = |selection: &selection::Selection| {
        selection::explain(
            wrapt_patches.as_deref(),
            autowrapt_bootstrap.as_deref(),
            &as_strs(&defaults),
            selection,
            |value| repr(py, value),
        )
    };
    if !selection.invalid.is_empty() {
        report(
            py,
            "ignoring invalid group name%s %s (allowed: letters, digits, '_', '.', '-')",
            (plural(&selection.invalid), reprs(py, &selection.invalid)?),
        )?;
    }
    if !selection.other_tools.is_empty() {
        report(
            py,
            OTHER_TOOLS_WARNING,
            (
                plural(&selection.other_tools),
                reprs(py, &selection.other_tools)?,
            ),
        )?;
    }
    if selection.groups.is_empty() && selection.autowrapt_groups.is_empty() {
        if debug() {
            report(py, "%s", (explain(&selection),))?;
        }
        return Ok(false);
    }
    let mut invalid = Vec::new();
    let skip = selection::edit(
        environ("WRAPT_PATCHES_SKIP").as_deref(),
        selection::DEFAULT_SKIP,
        &mut invalid,
    )
    .unwrap_or_default();
    if !invalid.is_empty() {
        report(
            py,
            "ignoring invalid name%s %s in WRAPT_PATCHES_SKIP",
            (plural(&invalid), reprs(py, &invalid)?),
        )?;
    }
    if !skip.is_empty() {
        let prefix = sys(py)?.getattr(intern!(py, "prefix"))?;
        let prefix = prefix
            .cast_into::<PyString>()?
            .to_string_lossy()
            .into_owned();
        let is_set = |name: &str| std::env::var_os(name).is_some();
        if let Some(tool) = selection::tool(&argv(py)?, &prefix, is_set, &skip) {
            if debug() {
                report(
                    py,
                    "%s is a tool process (WRAPT_PATCHES_SKIP): no patches here",
                    (&tool,),
                )?;
            }
            with_state(|state| state.skip(tool));
            return Ok(false);
        }
    }
    if debug() {
        report(py, "%s", (explain(&selection),))?;
    }
    match start(py, selection) {
        Ok(()) => Ok(true),
        // Run from site: not even a SystemExit may stop the interpreter.
        Err(error) => {
            report_exception(
                py,
                &error,
                "activation failed; the application continues without patches:",
                (),
            )?;
            Ok(false)
        }
    }
}

fn start(py: Python<'_>, selection: selection::Selection) -> PyResult<()> {
    // Worded before the selection moves into the state, and only when traced.
    let trace = debug().then(|| {
        let groups = if selection.groups.is_empty() {
            "(none)".to_owned()
        } else {
            selection.groups.join(", ")
        };
        let autowrapt = if selection.autowrapt_groups.is_empty() {
            String::new()
        } else {
            format!(
                "; AUTOWRAPT_BOOTSTRAP groups {}",
                selection.autowrapt_groups.join(", ")
            )
        };
        (groups, autowrapt)
    });
    with_state(|state| state.start(selection));
    if let Some(trace) = trace {
        report(py, "implementation native; groups %s%s", trace)?;
    }
    finder::install_finder(py)?;
    scan_new_paths(py)?;
    // At startup, site has more to add to sys.path: `rescan` says it then.
    if debug() && !at_startup(py)? {
        report_missing_groups(py)?;
    }
    Ok(())
}

/// This process's command line as `sys.orig_argv` has it (3.10+); on 3.9,
/// where `sys.argv` only says `-m` while site runs, as the kernel has it,
/// else the interpreter and what `sys.argv` does say.
fn argv(py: Python<'_>) -> PyResult<Vec<String>> {
    let sys = sys(py)?;
    if let Some(argv) = sys.getattr_opt(intern!(py, "orig_argv"))? {
        return strings(&argv);
    }
    if let Ok(cmdline) = std::fs::read("/proc/self/cmdline") {
        // Every argument ends with a NUL, the last one included.
        let mut argv: Vec<String> = cmdline
            .split(|&byte| byte == 0)
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect();
        argv.pop();
        return Ok(argv);
    }
    // sys.executable may be None where the interpreter is embedded.
    let executable = sys
        .getattr_opt(intern!(py, "executable"))?
        .and_then(|executable| executable.cast_into::<PyString>().ok())
        .map(|executable| executable.to_string_lossy().into_owned());
    let mut argv = vec![executable.unwrap_or_default()];
    if let Some(sys_argv) = sys.getattr_opt(intern!(py, "argv"))? {
        if let Some(first) = strings(&sys_argv)?.into_iter().next() {
            if !matches!(first.as_str(), "-m" | "-c" | "") {
                argv.push(first);
            }
        }
    }
    Ok(argv)
}

/// Register the enabled groups' entry points found on `sys.path` entries
/// not scanned yet: run at activation, and again when site has finished
/// (later `.pth` path lines, user site-packages and sitecustomize may add
/// entries); nothing before an activation. The first distribution of a name
/// wins, as in importlib.metadata.
#[pyfunction]
pub(crate) fn rescan(py: Python<'_>) -> PyResult<()> {
    if !with_state(|state| state.is_active()) {
        return Ok(());
    }
    // Run from site, which an exception would stop.
    scan_new_paths(py)
        .and_then(|()| report_missing_groups(py))
        .or_else(|error| report_exception(py, &error, "rescan at the end of site failed:", ()))
}

/// Under `WRAPT_PATCHES_DEBUG`, once startup's scans are done: each enabled
/// group that no distribution on `sys.path` declares, with the declared
/// group nearest its name where one is close, since a misspelt group
/// otherwise selects nothing without a word. Only traced: listing every
/// group declared reads every `entry_points.txt`.
fn report_missing_groups(py: Python<'_>) -> PyResult<()> {
    if !debug() {
        return Ok(());
    }
    let Some(groups) = with_state(Activation::groups_to_report_missing) else {
        return Ok(());
    };
    let declared = scan::declared_groups(&sys_path(py)?);
    let mut candidates = declared.clone();
    candidates.insert(selection::EXAMPLE_GROUP.to_owned());
    for group in groups.iter().filter(|group| !declared.contains(*group)) {
        let suggestion = names::nearest(group, candidates.iter().map(String::as_str))
            .map(|near| format!(" (did you mean '{near}'?)"))
            .unwrap_or_default();
        report(
            py,
            "no distribution on sys.path declares group '%s'%s",
            (group, suggestion),
        )?;
    }
    Ok(())
}

fn scan_new_paths(py: Python<'_>) -> PyResult<()> {
    let paths = sys_path(py)?;
    let scanned = with_state(|state| {
        let paths = state.new_paths(paths);
        (!paths.is_empty()).then(|| state.scan(&paths))
    });
    match scanned {
        Some((result, autowrapt_owned)) => register(py, result, &autowrapt_owned),
        None => Ok(()),
    }
}

/// Register every entry point of `group` found on `sys.path` now: the
/// public API's `discover_post_import_hooks`, independent of startup. Other
/// tools' groups are refused as at startup.
#[pyfunction]
pub(crate) fn discover(py: Python<'_>, group: &str) -> PyResult<()> {
    if selection::is_other_tools_group(group) {
        let groups = [group.to_owned()];
        return report(py, OTHER_TOOLS_WARNING, ("", reprs(py, &groups)?));
    }
    let paths = sys_path(py)?;
    let mut seen = HashSet::new();
    let result = scan::scan(&paths, &[group], &mut seen);
    let autowrapt_owned = with_state(|state| state.left_to_autowrapt(seen.contains("autowrapt")));
    register(py, result, &autowrapt_owned)
}

/// The `str` entries of `sys.path`: importlib's PathFinder skips bytes and
/// other objects too.
fn sys_path(py: Python<'_>) -> PyResult<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in sys(py)?.getattr(intern!(py, "path"))?.try_iter()? {
        let entry = entry?;
        if entry.is_instance_of::<PyString>() {
            paths.push(entry.extract::<PathBuf>()?);
        }
    }
    Ok(paths)
}

/// Report what the scan could not read, and register what it found. Problems
/// are only ever reported inside the requested groups' sections, so they are
/// about the user's own patches: always worth a line. autowrapt, when
/// installed, owns `AUTOWRAPT_BOOTSTRAP`: its groups are left to it, so that
/// no hook fires twice.
fn register(py: Python<'_>, result: scan::ScanResult, autowrapt_owned: &[String]) -> PyResult<()> {
    for problem in &result.problems {
        // Worded by Python's `%` so that paths and the `%r` of the line are
        // exactly the fallback's.
        let path = problem.path.as_os_str().into_pyobject(py)?;
        match &problem.kind {
            ProblemKind::NotUtf8 => report(py, "skipped: %s: not UTF-8", (path,))?,
            ProblemKind::TooLarge => report(py, "skipped: %s: %s", (path, scan::TOO_LARGE))?,
            ProblemKind::MalformedLine(line) => report(
                py,
                "skipped: %s:%d: not 'name = value': %r",
                (path, line.line, &line.text),
            )?,
        }
    }
    let modules = sys(py)?.getattr(intern!(py, "modules"))?;
    for entry in result.entries {
        if autowrapt_owned.contains(&entry.group) {
            continue;
        }
        let dist_dir = entry.dist_dir.as_os_str().into_pyobject(py)?;
        let well_formed = match entry.value.split_once(':') {
            Some((module, attribute)) => {
                names::is_dotted_module_name(&entry.name)
                    && names::is_dotted_module_name(module)
                    && names::is_dotted_module_name(attribute)
            }
            None => false,
        };
        if !well_formed {
            report(
                py,
                "skipping entry point '%s = %s' in group '%s' of %s: expected \
                 'target.module = patch.module:function'",
                (&entry.name, &entry.value, &entry.group, dist_dir),
            )?;
            continue;
        }
        if debug() {
            report(
                py,
                "entry point %s = %s in group '%s' from %s",
                (&entry.name, &entry.value, &entry.group, dist_dir),
            )?;
        }
        let late = modules.contains(&entry.name)?;
        let label = format!(
            "'{}' (group '{}', entry '{}')",
            entry.value, entry.group, entry.name
        );
        with_state(|state| {
            state.record(Registration {
                group: entry.group.clone(),
                target: entry.name.clone(),
                hook: entry.value.clone(),
                late,
            });
        });
        // The sys.path entry the distribution was found on.
        let origin = match entry.dist_dir.parent() {
            Some(path) => path.as_os_str().into_pyobject(py)?.into_any(),
            None => py.None().into_bound(py),
        };
        let registered = RegisteredHook {
            hook: PyString::new(py, &entry.value).into_any(),
            label: PyString::new(py, &label).into_any(),
            origin,
        };
        register_hook(py, PyString::new(py, &entry.name).as_any(), &registered)?;
        with_state(|state| state.count(&entry.group));
    }
    Ok(())
}

/// What `wrapt-install --check` reports of this process (the package adds
/// its version, file and defaults).
#[pyfunction]
pub(crate) fn status(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let status_now = with_state(|state| state.status());
    let status = PyDict::new(py);
    let registered = PyList::empty(py);
    for Registration {
        group,
        target,
        hook,
        late,
    } in status_now.registered
    {
        let record = PyDict::new(py);
        record.set_item("group", group)?;
        record.set_item("target", target)?;
        record.set_item("hook", hook)?;
        record.set_item("late", late)?;
        registered.append(record)?;
    }
    let entry_points = PyDict::new(py);
    for (group, count) in status_now.entry_points {
        entry_points.set_item(group, count)?;
    }
    status.set_item("active", status_now.active)?;
    status.set_item("selected", status_now.selected)?;
    status.set_item("skipped_as_tool", status_now.skipped_as_tool)?;
    status.set_item("entry_points", entry_points)?;
    status.set_item("registered", registered)?;
    Ok(status)
}
