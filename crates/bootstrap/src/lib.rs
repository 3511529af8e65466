//! `wrapt_bootstrap._native`: the post-import hook registry, the import
//! finder that fires hooks, and the entry-point scan; one abi3 build for
//! every interpreter from 3.9 on.
//!
//! It behaves exactly like the pure-Python fallback
//! `templates/wrapt_bootstrap/_fallback.py`; the same integration suite runs
//! against both, so a change of behaviour here is a change there too.
//!
//! This module is loaded at interpreter startup (through the package from a
//! `.pth` line or a PEP 829 `.start` entry, or directly by the sitecustomize
//! package), so it imports no Python module at all: it uses
//! `sys` and `builtins`, which every interpreter has already loaded. State is
//! per process, in statics: pyo3 refuses to load in an isolated
//! subinterpreter, and a legacy one must not use it (see
//! `serves_this_interpreter`); there the Python package takes the fallback.
//!
//! The module exports:
//! - `IMPLEMENTATION = "native"`
//! - `activate(defaults) -> bool`, `rescan()`: startup (see `activation`)
//! - `discover(group)`,
//!   `register_post_import_hook(hook, name, label=None, origin=None)`,
//!   `notify_module_loaded(module)`: the public API's work
//! - `status() -> dict`, `select(wrapt_patches, autowrapt_bootstrap,
//!   defaults)`, `tool(argv, prefix, environ, skip)`: for
//!   `wrapt-install --check` and the tests
//! - `serves_this_interpreter() -> bool`: for the loaders

mod activation;
mod finder;
mod python;
mod registry;

use std::sync::atomic::{AtomicI64, Ordering};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// Module init runs at interpreter startup, so it does the least it can.
/// The classes are not exported: pyo3 makes each type object on first use
/// (the finder's at `install_finder`, the loaders' at the first hooked
/// import), and building one is dear. And the attributes are set with
/// `setattr`, not `add`: `add` keeps `__all__`, and creating that starts
/// from an `AttributeError` whose inspection makes pyo3 build its
/// `PanicException` type. (The fallback has no `__all__` either.) The
/// costs: BENCHMARKS.md, "The native module's design numbers".
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The first interpreter to initialise the module owns it; a legacy
    // subinterpreter initialises it again, over the same statics.
    let _ = OWN_INTERPRETER.compare_exchange(
        -1,
        interpreter_id(),
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    python::configure_from_environment();
    m.setattr("IMPLEMENTATION", "native")?;
    let functions = [
        wrap_pyfunction!(activation::activate, m)?,
        wrap_pyfunction!(activation::rescan, m)?,
        wrap_pyfunction!(activation::discover, m)?,
        wrap_pyfunction!(activation::status, m)?,
        wrap_pyfunction!(activation::select, m)?,
        wrap_pyfunction!(activation::tool, m)?,
        wrap_pyfunction!(finder::register_post_import_hook, m)?,
        wrap_pyfunction!(registry::notify_module_loaded, m)?,
        wrap_pyfunction!(serves_this_interpreter, m)?,
    ];
    for function in functions {
        m.setattr(
            function.getattr("__name__")?.cast_into::<PyString>()?,
            function,
        )?;
    }
    Ok(())
}

/// The interpreter that initialised the module first. A legacy (shared-GIL)
/// subinterpreter, as mod_wsgi makes, can load it too, but the module's
/// state is process-wide statics (the registry, the finder, the first
/// interpreter's `sys`): the loaders ask [`serves_this_interpreter`] and
/// take the fallback there.
static OWN_INTERPRETER: AtomicI64 = AtomicI64::new(-1);

fn interpreter_id() -> i64 {
    // SAFETY: called with the GIL held (module init, a Python call), when
    // the current thread state and its interpreter exist.
    unsafe { ffi::PyInterpreterState_GetID(ffi::PyInterpreterState_Get()) }
}

/// Whether this module serves the interpreter calling it: the one that
/// initialised it.
#[pyfunction]
fn serves_this_interpreter() -> bool {
    interpreter_id() == OWN_INTERPRETER.load(Ordering::Relaxed)
}
