//! The hook registry: pending hooks per target module, string-hook
//! de-duplication, and firing (resolution, timing, error reports).
//!
//! Every operation on the registry is a short run of C-API calls on plain
//! dicts and sets with no Python code in between, so under the GIL it is
//! atomic: this is what the fallback's `_lock` gives it. (abi3 modules are
//! never loaded by free-threaded builds; the Python package makes sure.)
//! Hooks run with nothing of ours held: wrapt PR #217 and mlflow's vendored
//! copy deadlocked when a hook imported something under their lock.

use std::ffi::CString;
use std::time::Instant;

use pyo3::exceptions::{PyException, PyModuleNotFoundError, PySystemExit, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyCFunction, PyDict, PyList, PySet, PyString, PyTuple};

use crate::python::{
    at_startup, builtins, debug, report, report_exception, strict, sys, sys_modules_get,
};

/// Target module name -> list of `(hook, label, origin)` in registration
/// order. A
/// name is removed when its hooks fire, so the finder's miss path is one
/// dict lookup.
static PENDING: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
/// `(target, "module:attr")` pairs ever registered: string hooks are
/// registered at most once per process, so activation is idempotent.
static STRING_HOOKS: PyOnceLock<Py<PySet>> = PyOnceLock::new();
/// Target module name -> the spec of the import its deferred hooks wait
/// for (see [`fire`]).
static WAITING_TARGETS: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
/// `templates/wrapt_bootstrap/_deferred.py`, the fallback's own module,
/// compiled the first time a hook is deferred.
static DEFERRED: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
const DEFERRED_SOURCE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../templates/wrapt_bootstrap/_deferred.py"
));

fn pending_dict(py: Python<'_>) -> &Bound<'_, PyDict> {
    PENDING
        .get_or_init(py, || PyDict::new(py).unbind())
        .bind(py)
}

/// The pending dict if anything was ever registered: the finder's miss path
/// does not even create it.
pub(crate) fn pending_dict_if_any(py: Python<'_>) -> Option<&Bound<'_, PyDict>> {
    PENDING.get(py).map(|d| d.bind(py))
}

fn waiting_targets(py: Python<'_>) -> &Bound<'_, PyDict> {
    WAITING_TARGETS
        .get_or_init(py, || PyDict::new(py).unbind())
        .bind(py)
}

fn deferred(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    DEFERRED
        .get_or_try_init(py, || {
            let module = PyModule::new(py, "wrapt_bootstrap._deferred")?;
            let code = CString::new(DEFERRED_SOURCE)?;
            py.run(&code, Some(&module.dict()), None)?;
            Ok::<_, PyErr>(module.unbind())
        })
        .map(|m| m.bind(py))
}

fn string_hooks(py: Python<'_>) -> &Bound<'_, PySet> {
    STRING_HOOKS
        .get_or_init(py, || PySet::empty(py).expect("new set").unbind())
        .bind(py)
}

/// What is registered for a target module, and kept until its hook fires.
pub(crate) struct RegisteredHook<'py> {
    /// A callable, or a `"module:attr.path"` string resolved when it fires.
    pub(crate) hook: Bound<'py, PyAny>,
    /// What names the hook in messages.
    pub(crate) label: Bound<'py, PyAny>,
    /// The `sys.path` entry the hook's distribution was found on at startup,
    /// or `None` (see [`failed`]).
    pub(crate) origin: Bound<'py, PyAny>,
}

/// Call `registered.hook(module)` once module `name` has been imported; at
/// once when it already is. A string hook is registered once per target for
/// the life of the process. Returns whether the hook now waits in the
/// pending dict: only the finder fires those, and the caller puts it in
/// place (`finder::register_hook`).
pub(crate) fn register<'py>(
    py: Python<'py>,
    name: &Bound<'py, PyAny>,
    registered: &RegisteredHook<'py>,
) -> PyResult<bool> {
    let RegisteredHook { hook, label, .. } = registered;
    if hook.is_instance_of::<PyString>() {
        let key = PyTuple::new(py, [name, hook])?;
        let seen = string_hooks(py);
        if seen.contains(&key)? {
            return Ok(false);
        }
        seen.add(key)?;
    }
    let module = sys_modules_get(py, name, &py.None().into_bound(py))?;
    if module.is_none() {
        let pending = pending_dict(py);
        let entry = PyTuple::new(py, [hook, label, &registered.origin])?;
        match pending.get_item(name)? {
            Some(hooks) => hooks.cast::<PyList>()?.append(entry)?,
            None => pending.set_item(name, PyList::new(py, [entry])?)?,
        }
        if debug() {
            report(py, "registered hook %s for module '%s'", (label, name))?;
        }
        Ok(true)
    } else {
        if debug() {
            report(
                py,
                "registered hook %s for module '%s' (already imported: firing now)",
                (label, name),
            )?;
        }
        fire(py, registered, &module, name)?;
        Ok(false)
    }
}

/// Fire the hooks pending for `module.__name__`, once: they are taken out of
/// the registry before the first one runs.
#[pyfunction]
pub(crate) fn notify_module_loaded<'py>(
    py: Python<'py>,
    module: &Bound<'py, PyAny>,
) -> PyResult<()> {
    let name = match module.getattr_opt(intern!(py, "__name__"))? {
        Some(name) => name,
        None => py.None().into_bound(py),
    };
    let Some(pending) = pending_dict_if_any(py) else {
        return Ok(());
    };
    let hooks = pending.call_method1(intern!(py, "pop"), (&name, py.None()))?;
    if !hooks.is_truthy()? {
        return Ok(());
    }
    for item in hooks.try_iter()? {
        let item = item?;
        let (hook, label, origin) = item.extract()?;
        let registered = RegisteredHook {
            hook,
            label,
            origin,
        };
        fire(py, &registered, module, &name)?;
    }
    Ok(())
}

/// `"module:attr.path"` -> the object: `__import__(module)`, then
/// `sys.modules[module]`, then `getattr` along the path. Callables are
/// returned as they are.
fn resolve<'py>(py: Python<'py>, hook: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let Ok(text) = hook.cast::<PyString>() else {
        return Ok(hook.clone());
    };
    let text = text.to_cow()?;
    let Some((module_name, attributes)) = text.split_once(':') else {
        let message = PyString::new(py, "hook %r is not of the form 'module:attr'").rem((hook,))?;
        return Err(PyValueError::new_err(message.unbind()));
    };
    let module_name = PyString::new(py, module_name);
    builtins(py)?
        .getattr(intern!(py, "__import__"))?
        .call1((&module_name,))?;
    let mut target = sys(py)?
        .getattr(intern!(py, "modules"))?
        .get_item(&module_name)?;
    for attribute in attributes.split('.') {
        target = target.getattr(attribute)?;
    }
    Ok(target)
}

/// Resolve and call one hook. A patch module that cannot be imported while
/// another import is running on this thread is tried again once the
/// outermost one has finished (`_deferred.py` says why), and so are the
/// hooks after it for the same target, to keep their order. Failures go to
/// [`failed`].
fn fire<'py>(
    py: Python<'py>,
    registered: &RegisteredHook<'py>,
    module: &Bound<'py, PyAny>,
    name: &Bound<'py, PyAny>,
) -> PyResult<()> {
    if let Some(spec) = WAITING_TARGETS
        .get(py)
        .map(|waiting| waiting.bind(py).get_item(name))
        .transpose()?
        .flatten()
    {
        return defer(py, &spec, registered, module, name);
    }
    let started = debug().then(Instant::now);
    let function = match resolve(py, &registered.hook) {
        Ok(function) => function,
        Err(err) => {
            if is_a_failure(py, &err) {
                let spec = deferred(py)?.call_method0(intern!(py, "outermost_import"))?;
                if !spec.is_none() {
                    return defer(py, &spec, registered, module, name);
                }
            }
            return failed(py, &err, registered, name, at_startup(py)?);
        }
    };
    if let Err(err) = function.call1((module,)) {
        return failed(py, &err, registered, name, at_startup(py)?);
    }
    if let Some(started) = started {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        report(
            py,
            "fired hook %s for module '%s' in %.3f ms",
            (&registered.label, name, ms),
        )?;
    }
    Ok(())
}

/// Fire the hook again once the import of `spec` has finished.
fn defer<'py>(
    py: Python<'py>,
    spec: &Bound<'py, PyAny>,
    registered: &RegisteredHook<'py>,
    module: &Bound<'py, PyAny>,
    name: &Bound<'py, PyAny>,
) -> PyResult<()> {
    let RegisteredHook {
        hook,
        label,
        origin,
    } = registered;
    let waiting = waiting_targets(py);
    if !waiting.contains(name)? {
        waiting.set_item(name, spec)?;
    }
    let spec_name = spec.getattr(intern!(py, "name"))?;
    if debug() {
        report(
            py,
            "hook %s for module '%s' waits until '%s' is imported",
            (label, name, &spec_name),
        )?;
    }
    // site's own import is startup, where nothing may escape.
    let startup = spec_name.eq("site")?;
    let [hook, label, origin, module, name, spec_name] =
        [hook, label, origin, module, name, &spec_name].map(|object| object.clone().unbind());
    let retry = PyCFunction::new_closure(py, None, None, move |args, _kwargs| -> PyResult<()> {
        let py = args.py();
        let registered = RegisteredHook {
            hook: hook.bind(py).clone(),
            label: label.bind(py).clone(),
            origin: origin.bind(py).clone(),
        };
        let (module, name) = (module.bind(py), name.bind(py));
        waiting_targets(py).call_method1(intern!(py, "pop"), (name, py.None()))?;
        match resolve(py, &registered.hook).and_then(|function| function.call1((module,))) {
            Ok(_) if debug() => report(
                py,
                "fired hook %s for module '%s' once '%s' was imported",
                (&registered.label, name, spec_name.bind(py)),
            ),
            Ok(_) => Ok(()),
            Err(err) => failed(py, &err, &registered, name, startup || at_startup(py)?),
        }
    })?;
    deferred(py)?.call_method1(intern!(py, "when_imported"), (spec, retry))?;
    Ok(())
}

/// A hook's own failure, not the user's interrupt: an `Exception`, or a
/// `SystemExit` (a vendor's `sys.exit()` on a missing licence key).
fn is_a_failure(py: Python<'_>, err: &PyErr) -> bool {
    err.is_instance_of::<PyException>(py) || err.is_instance_of::<PySystemExit>(py)
}

/// A hook that failed: reported, or raised. At startup nothing escapes (an
/// exception out of site stops the interpreter). Later, a failure is
/// reported unless `WRAPT_PATCHES_STRICT` asks for it; a
/// `KeyboardInterrupt` is the user's and goes on. Even strict, a patch
/// module that is missing because its distribution's `sys.path` entry is
/// gone is reported: the process took the environment away on purpose
/// (an isolated build environment drops site-packages after startup).
fn failed<'py>(
    py: Python<'py>,
    err: &PyErr,
    registered: &RegisteredHook<'py>,
    name: &Bound<'py, PyAny>,
    startup: bool,
) -> PyResult<()> {
    let raise = if startup || !is_a_failure(py, err) {
        !startup
    } else {
        strict() && !left_behind(py, err, &registered.hook, &registered.origin)?
    };
    if raise {
        return Err(err.clone_ref(py));
    }
    report_exception(
        py,
        err,
        "hook %s for module '%s' failed:",
        (&registered.label, name),
    )
}

/// Whether `err` says the patch module of `hook` is missing, and the
/// `sys.path` entry its distribution was found on is no longer there.
fn left_behind(
    py: Python<'_>,
    err: &PyErr,
    hook: &Bound<'_, PyAny>,
    origin: &Bound<'_, PyAny>,
) -> PyResult<bool> {
    if origin.is_none() || !err.is_instance_of::<PyModuleNotFoundError>(py) {
        return Ok(false);
    }
    let (Ok(hook), Some(missing)) = (
        hook.cast::<PyString>(),
        err.value(py).getattr_opt(intern!(py, "name"))?,
    ) else {
        return Ok(false);
    };
    let Ok(missing) = missing.cast::<PyString>() else {
        return Ok(false);
    };
    let (hook, missing) = (hook.to_cow()?, missing.to_cow()?);
    let module = hook.split_once(':').map_or(&*hook, |(module, _)| module);
    let patch_module_missing = module == missing
        || module
            .strip_prefix(&*missing)
            .is_some_and(|rest| rest.starts_with('.'));
    Ok(patch_module_missing && !sys(py)?.getattr(intern!(py, "path"))?.contains(origin)?)
}
