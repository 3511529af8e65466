//! `wrapt_bootstrap._native`: the post-import hook registry, the import
//! finder that fires hooks, and the entry-point scan; one abi3 build for
//! every interpreter from 3.9 on.
//!
//! It behaves exactly like the pure-Python fallback
//! `templates/wrapt_bootstrap/_fallback.py`; the same integration suite runs
//! against both, so a change of behaviour here is a change there too.
//!
//! This module is loaded at interpreter startup (from a `.pth` line or a
//! PEP 829 `.start` entry), so it imports no Python module at all: it uses
//! `sys` and `builtins`, which every interpreter has already loaded. State is
//! per process, in statics: pyo3 refuses to load in an isolated
//! subinterpreter, where the Python package takes the fallback instead.
//!
//! The module exports:
//! - `IMPLEMENTATION = "native"`
//! - `configure(debug, strict)`
//! - `install_finder()`
//! - `register_post_import_hook(hook, name, label=None)`
//! - `notify_module_loaded(module)`
//! - `pending() -> dict[str, int]`
//! - `scan(groups, paths, seen) -> (entries, problems)`

mod finder;
mod registry;

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyList, PySet, PyString, PyTuple};
use wrapt_common::scan::{self as common_scan, ProblemKind, Seen};

/// Entry points of `groups` in the distributions on `paths`, like the
/// fallback's `scan`: `(entries, problems)` with entries
/// `(group, name, value, dist_dir)` in path order, then sorted distribution
/// order, then file order. `seen` (normalized distribution names already
/// taken) is read and updated in place.
#[pyfunction]
fn scan<'py>(
    py: Python<'py>,
    groups: &Bound<'py, PyAny>,
    paths: &Bound<'py, PyAny>,
    seen: &Bound<'py, PySet>,
) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyList>)> {
    // Only str entries, as importlib's PathFinder and the fallback do:
    // bytes and other objects on sys.path are skipped.
    let mut rust_paths: Vec<PathBuf> = Vec::new();
    for path in paths.try_iter()? {
        let path = path?;
        if path.is_instance_of::<PyString>() {
            rust_paths.push(path.extract::<PathBuf>()?);
        }
    }
    // A loop, not `collect()`: collecting from a Python iterator asks its
    // size_hint, which on the limited API imports `operator` (a module site
    // has not loaded, and 1.4M instructions).
    let mut group_names: Vec<String> = Vec::new();
    for group in groups.try_iter()? {
        group_names.push(group?.extract::<String>()?);
    }
    let groups: Vec<&str> = group_names.iter().map(String::as_str).collect();

    let mut py_seen = PySeen {
        set: seen,
        error: None,
    };
    let result = common_scan::scan(&rust_paths, &groups, &mut py_seen);
    if let Some(error) = py_seen.error {
        return Err(error);
    }

    let entries = PyList::empty(py);
    for entry in &result.entries {
        entries.append(PyTuple::new(
            py,
            [
                PyString::new(py, &entry.group).into_any(),
                PyString::new(py, &entry.name).into_any(),
                PyString::new(py, &entry.value).into_any(),
                entry.dist_dir.as_os_str().into_pyobject(py)?.into_any(),
            ],
        )?)?;
    }
    let problems = PyList::empty(py);
    for problem in &result.problems {
        // Worded by Python's `%` so that paths and the `%r` of the line are
        // exactly the fallback's.
        let path = problem.path.as_os_str().into_pyobject(py)?;
        let message = match &problem.kind {
            ProblemKind::NotUtf8 => PyString::new(py, "%s: not UTF-8").rem((path,))?,
            ProblemKind::MalformedLine(line) => PyString::new(py, "%s:%d: not 'name = value': %r")
                .rem((path, line.line, &line.text))?,
        };
        problems.append(message)?;
    }
    Ok((entries, problems))
}

/// The caller's `seen` set itself, as the scan's [`Seen`]: no Rust copy of
/// it to build and then add back from, and no Rust `String` per name.
struct PySeen<'a, 'py> {
    set: &'a Bound<'py, PySet>,
    /// The first error from the set; the scan takes nothing more after one.
    error: Option<PyErr>,
}

impl Seen for PySeen<'_, '_> {
    fn insert(&mut self, name: &str) -> bool {
        if self.error.is_some() {
            return false;
        }
        // One hash and one probe: `add` leaves a present name alone, and
        // only a new one changes the size. The names are `str`, whose hash
        // and equality run no Python code, so nothing else can change the
        // set meanwhile.
        let before = self.set.len();
        match self.set.add(name) {
            Ok(()) => self.set.len() != before,
            Err(error) => {
                self.error = Some(error);
                false
            }
        }
    }
}

/// Module init runs at interpreter startup, so it does the least it can.
/// The classes are not exported: pyo3 makes each type object on first use
/// (the finder's at `install_finder`, the loaders' at the first hooked
/// import), about 80k instructions apiece. And the attributes are set with
/// `setattr`, not `add`: `add` keeps `__all__`, and creating that starts
/// from an `AttributeError` whose inspection makes pyo3 build its
/// `PanicException` type, another 80k. (The fallback has no `__all__`
/// either.)
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.setattr("IMPLEMENTATION", "native")?;
    let functions = [
        wrap_pyfunction!(registry::configure, m)?,
        wrap_pyfunction!(registry::register_post_import_hook, m)?,
        wrap_pyfunction!(registry::notify_module_loaded, m)?,
        wrap_pyfunction!(registry::pending, m)?,
        wrap_pyfunction!(finder::install_finder, m)?,
        wrap_pyfunction!(scan, m)?,
    ];
    for function in functions {
        m.setattr(
            function.getattr("__name__")?.cast_into::<PyString>()?,
            function,
        )?;
    }
    Ok(())
}
