//! The Python side every other module uses: `sys` and `builtins`, the
//! environment, the `WRAPT_PATCHES_DEBUG` and `WRAPT_PATCHES_STRICT` flags,
//! and the `wrapt-bootstrap:` lines on stderr. It uses no other module of
//! the crate, so that the others form no cycle through it.

use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyString;
use wrapt_common::selection;

static DEBUG: AtomicBool = AtomicBool::new(false);
static STRICT: AtomicBool = AtomicBool::new(false);
static SYS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
static BUILTINS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// An environment variable as `os.environ` has it, once site has run (an
/// assignment to `os.environ` calls `putenv`). Bytes that are not UTF-8
/// only ever make names invalid, which are reported either way.
pub(crate) fn environ(name: &str) -> Option<String> {
    std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
}

/// Set the process-wide flags from the environment, when the module loads:
/// trace firings (`WRAPT_PATCHES_DEBUG`), let hook errors propagate
/// (`WRAPT_PATCHES_STRICT`).
pub(crate) fn configure_from_environment() {
    let flag = |name| selection::flag(environ(name).as_deref());
    DEBUG.store(flag("WRAPT_PATCHES_DEBUG"), Ordering::Relaxed);
    STRICT.store(flag("WRAPT_PATCHES_STRICT"), Ordering::Relaxed);
}

pub(crate) fn strict() -> bool {
    STRICT.load(Ordering::Relaxed)
}

pub(crate) fn debug() -> bool {
    DEBUG.load(Ordering::Relaxed)
}

/// The `sys` module (always loaded; importing it is a dict lookup).
pub(crate) fn sys(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    SYS.get_or_try_init(py, || PyModule::import(py, "sys").map(Bound::unbind))
        .map(|m| m.bind(py))
}

pub(crate) fn builtins(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    BUILTINS
        .get_or_try_init(py, || PyModule::import(py, "builtins").map(Bound::unbind))
        .map(|m| m.bind(py))
}

/// `sys.modules.get(name, default)`.
pub(crate) fn sys_modules_get<'py>(
    py: Python<'py>,
    name: &Bound<'py, PyAny>,
    default: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    sys(py)?
        .getattr(intern!(py, "modules"))?
        .call_method1(intern!(py, "get"), (name, default))
}

/// `sys.stderr.write("wrapt-bootstrap: " + template % args + "\n")`, nothing
/// when `sys.stderr` is None (pythonw). Formatting is Python's `%`, so labels
/// and names print exactly as the fallback prints them.
pub(crate) fn report<'py>(
    py: Python<'py>,
    template: &str,
    args: impl IntoPyObject<'py>,
) -> PyResult<()> {
    let stream = sys(py)?.getattr(intern!(py, "stderr"))?;
    if stream.is_none() {
        return Ok(());
    }
    let message = PyString::new(py, template).rem(args)?;
    let line = PyString::new(py, "wrapt-bootstrap: %s\n").rem((message,))?;
    stream.call_method1(intern!(py, "write"), (line,))?;
    Ok(())
}

/// A [`report`] line, then `error` with its traceback as
/// `sys.__excepthook__` prints it; the caller carries on.
pub(crate) fn report_exception<'py>(
    py: Python<'py>,
    error: &PyErr,
    template: &str,
    args: impl IntoPyObject<'py>,
) -> PyResult<()> {
    report(py, template, args)?;
    let excepthook = sys(py)?.getattr(intern!(py, "__excepthook__"))?;
    excepthook.call1((error.get_type(py), error.value(py), error.traceback(py)))?;
    Ok(())
}

/// Whether site is running: everything at startup runs from its import.
pub(crate) fn at_startup(py: Python<'_>) -> PyResult<bool> {
    let site = sys_modules_get(py, intern!(py, "site").as_any(), py.None().bind(py))?;
    match site.getattr_opt(intern!(py, "__spec__"))? {
        Some(spec) => match spec.getattr_opt(intern!(py, "_initializing"))? {
            Some(initializing) => initializing.is_truthy(),
            None => Ok(false),
        },
        None => Ok(false),
    }
}
