//! The import finder that fires post-import hooks, and the loaders it
//! chains in front of the real ones.
//!
//! The finder sits first on `sys.meta_path` and claims only modules with
//! pending hooks: for those it asks the finders after it for the spec and
//! swaps `spec.loader` for a chained loader that runs the real one, puts the
//! real one back everywhere, and then fires the hooks. Everything else costs
//! one dict lookup, made in a plain C-ABI function (see [`find_spec_fast`]).
//!
//! Where `sys.meta_path` starts with importlib's `BuiltinImporter`, as it
//! does at startup, the finder takes that entry's place and answers every
//! other name as `BuiltinImporter.find_spec` would (see [`install_finder`]),
//! so that importlib's loop has no extra turn per import.

use std::ffi::{c_char, c_int};
use std::ptr;

use pyo3::ffi;
use pyo3::gc::PyVisit;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyFrozenSet, PySet, PyString};
use pyo3::PyTraverseError;

use crate::python::{sys, sys_modules_get};
use crate::registry::{self, notify_module_loaded, pending_dict_if_any, RegisteredHook};

static FINDER: PyOnceLock<Py<PostImportFinder>> = PyOnceLock::new();
/// Set when the finder took `BuiltinImporter`'s place on `sys.meta_path`:
/// it answers every name the finder does not claim.
static STAND_IN_FOR: PyOnceLock<StandIn> = PyOnceLock::new();

/// The `BuiltinImporter` the finder stands in for.
struct StandIn {
    /// `BuiltinImporter.find_spec`.
    find_spec: Py<PyAny>,
    /// `sys.builtin_module_names` as a frozenset: the interpreter's table of
    /// built-in modules, fixed before startup, which is all that
    /// `BuiltinImporter` finds (`_imp.is_builtin`). Any other `str` it
    /// answers with `None`, and so does the miss path ([`stand_in`]),
    /// without calling it.
    names: Py<PyFrozenSet>,
}

/// Names whose spec we are looking up right now: the finders after us may
/// import things (or call `importlib.util.find_spec`) and reach us again.
/// importlib's per-module lock keeps two threads from looking up one name
/// at once.
static IN_PROGRESS: PyOnceLock<Py<PySet>> = PyOnceLock::new();

fn in_progress(py: Python<'_>) -> &Bound<'_, PySet> {
    IN_PROGRESS
        .get_or_init(py, || PySet::empty(py).expect("new set").unbind())
        .bind(py)
}

fn finder(py: Python<'_>) -> PyResult<&Bound<'_, PostImportFinder>> {
    FINDER
        .get_or_try_init(py, || {
            let finder = Bound::new(py, PostImportFinder)?;
            attach_fast_find_spec(&finder)?;
            Ok(finder.unbind())
        })
        .map(|f| f.bind(py))
}

/// Every import asks every finder on `sys.meta_path`, so the miss path of
/// ours is the hot path of the whole project (BENCHMARKS.md, "1000
/// imports"). A pyo3 method call is dear here: pyo3 builds abi3-py39
/// methods as `METH_VARARGS` (so every call allocates an argument tuple),
/// and adds its trampoline (panic guard, thread-local attach count) and
/// argument extraction; the native finder was slower than the pure-Python
/// fallback's (BENCHMARKS.md, "The native module's design numbers"). So the
/// instance's `__dict__` holds a `find_spec` of its own, shadowing the
/// class's method: a bare `METH_FASTCALL` C function that answers a miss
/// with one `PyDict_Contains` and hands everything else (hits, keyword
/// calls, wrong arity) to the pyo3 method, which it holds as its `self`.
fn attach_fast_find_spec(finder: &Bound<'_, PostImportFinder>) -> PyResult<()> {
    let py = finder.py();
    let slow = finder.getattr(intern!(py, "find_spec"))?;
    // SAFETY: `FIND_SPEC_FAST` has `PyMethodDef`'s layout, lives forever and
    // is only read by CPython; `slow` is a valid object that the new
    // function keeps a reference to.
    let fast = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyCFunction_NewEx(
                ptr::addr_of!(FIND_SPEC_FAST)
                    .cast_mut()
                    .cast::<ffi::PyMethodDef>(),
                slow.as_ptr(),
                ptr::null_mut(),
            ),
        )?
    };
    finder.setattr(intern!(py, "find_spec"), fast)
}

/// `METH_FASTCALL | METH_KEYWORDS`. The limited API only declares
/// `METH_FASTCALL` from 3.10 on, which is why pyo3 does not use it for
/// abi3-py39; but 3.10 declared it because its calling convention had not
/// changed since 3.7, and 3.9 runs it the same way for its own builtins.
const METH_FASTCALL_KEYWORDS: c_int = 0x0080 | 0x0002;

type FastCallWithKeywords = unsafe extern "C" fn(
    *mut ffi::PyObject,
    *const *mut ffi::PyObject,
    ffi::Py_ssize_t,
    *mut ffi::PyObject,
) -> *mut ffi::PyObject;

/// `PyMethodDef` with the fast-call function pointer type (pyo3-ffi's union
/// leaves that variant out for abi3-py39); the same C layout.
#[repr(C)]
#[allow(clippy::struct_field_names)] // C's field names
struct FastMethodDef {
    ml_name: *const c_char,
    ml_meth: FastCallWithKeywords,
    ml_flags: c_int,
    ml_doc: *const c_char,
}

const _: () =
    assert!(std::mem::size_of::<FastMethodDef>() == std::mem::size_of::<ffi::PyMethodDef>());

// SAFETY: immutable, and only read (by CPython) with the GIL held.
unsafe impl Sync for FastMethodDef {}

static FIND_SPEC_FAST: FastMethodDef = FastMethodDef {
    ml_name: c"find_spec".as_ptr(),
    ml_meth: find_spec_fast,
    ml_flags: METH_FASTCALL_KEYWORDS,
    ml_doc: ptr::null(),
};

/// `find_spec(fullname, path=None, target=None)` as importlib calls it:
/// for a name without pending hooks, `None` at once, or the answer of the
/// `BuiltinImporter` we stand in for ([`stand_in`]); otherwise the call goes
/// on to `slow` (the bound pyo3 method `PostImportFinder.find_spec`).
///
/// Nothing here can panic; the Python code that can run is the
/// `__hash__`/`__eq__` of a `str` subclass in `PyDict_Contains` and
/// `BuiltinImporter.find_spec`, with the GIL held as they must be.
unsafe extern "C" fn find_spec_fast(
    slow: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls a fast-call function with the GIL held (the
    // thread is attached), `nargs` positional arguments at `args` followed
    // by one per name in `kwnames` (NULL when there are none).
    unsafe {
        if kwnames.is_null() && (1..=3).contains(&nargs) {
            let py = Python::assume_attached();
            let hit = match pending_dict_if_any(py) {
                Some(pending) => ffi::PyDict_Contains(pending.as_ptr(), *args),
                None => 0,
            };
            match hit {
                0 => return stand_in(py, args, nargs),
                1 => {}
                _ => return ptr::null_mut(), // the error is set
            }
        }
        call_with_fast_args(slow, args, nargs, kwnames)
    }
}

/// The miss path: `None`, or, where the finder stands in for
/// `BuiltinImporter`, that finder's answer.
///
/// Being one more entry on `sys.meta_path` costs every import a turn of
/// importlib's `_find_spec` loop (`with _ImportLockContext()`, the
/// `find_spec` lookup, the call), over budget. Taking `BuiltinImporter`'s
/// place instead leaves the number of turns unchanged, and our turn gives
/// importlib `BuiltinImporter`'s answer: `None` for a `str` that is not a
/// built-in module's name, which is most imports, else its own. Asking it
/// every time was a Python call per import, more than the rest of our turn.
/// The numbers: BENCHMARKS.md, "1000 imports" and "The native module's
/// design numbers".
///
/// # Safety
/// The GIL is held; `args` holds `nargs` (1 to 3) objects.
unsafe fn stand_in(
    py: Python<'_>,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: see the function's contract.
    unsafe {
        if let Some(stand_in) = STAND_IN_FOR.get(py) {
            // The set answers only for an exact str: a subclass may hash and
            // compare unlike the name `_imp.is_builtin` reads, and anything
            // else makes it raise.
            let name = *args;
            let builtin = if ffi::PyUnicode_CheckExact(name) == 0 {
                1
            } else {
                ffi::PySet_Contains(stand_in.names.as_ptr(), name)
            };
            match builtin {
                0 => {}
                1 => {
                    let find_spec = stand_in.find_spec.as_ptr();
                    return call_with_fast_args(find_spec, args, nargs, ptr::null_mut());
                }
                _ => return ptr::null_mut(), // the error is set
            }
        }
        let none = ffi::Py_None();
        ffi::Py_INCREF(none);
        none
    }
}

/// `callable(*args, **kwargs)` from fast-call arguments, with only what
/// abi3-py39 offers (`PyObject_Vectorcall` is limited API from 3.12).
///
/// # Safety
/// The GIL is held; `args`, `nargs` and `kwnames` are what the interpreter
/// passes to a `METH_FASTCALL | METH_KEYWORDS` function.
unsafe fn call_with_fast_args(
    callable: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: see the function's contract; every new reference is released
    // on every path, and PyTuple_SetItem steals the one it is given.
    unsafe {
        let tuple = ffi::PyTuple_New(nargs);
        if tuple.is_null() {
            return ptr::null_mut();
        }
        for i in 0..nargs {
            let arg = *args.offset(i);
            ffi::Py_INCREF(arg);
            ffi::PyTuple_SetItem(tuple, i, arg);
        }
        let mut kwargs = ptr::null_mut();
        if !kwnames.is_null() {
            kwargs = ffi::PyDict_New();
            if kwargs.is_null() {
                ffi::Py_DECREF(tuple);
                return ptr::null_mut();
            }
            for j in 0..ffi::PyTuple_Size(kwnames) {
                let value = *args.offset(nargs + j);
                if ffi::PyDict_SetItem(kwargs, ffi::PyTuple_GetItem(kwnames, j), value) < 0 {
                    ffi::Py_DECREF(tuple);
                    ffi::Py_DECREF(kwargs);
                    return ptr::null_mut();
                }
            }
        }
        let result = ffi::PyObject_Call(callable, tuple, kwargs);
        ffi::Py_DECREF(tuple);
        if !kwargs.is_null() {
            ffi::Py_DECREF(kwargs);
        }
        result
    }
}

/// Put the finder first on `sys.meta_path` unless it is already on it.
///
/// When the first entry is importlib's own `BuiltinImporter` (always so at
/// interpreter startup), the finder takes its place and stands in for it:
/// every name without pending hooks gets `BuiltinImporter.find_spec`'s
/// answer, and a hooked name asks it first, then the finders after us. Only
/// that class is replaced: it is never removed or looked up in the list,
/// while another tool's finder may be (pytest's removes itself). Otherwise,
/// and when the finder was removed and comes back, it is inserted first.
pub(crate) fn install_finder(py: Python<'_>) -> PyResult<()> {
    let finder = finder(py)?;
    let meta_path = sys(py)?.getattr(intern!(py, "meta_path"))?;
    for candidate in meta_path.try_iter()? {
        if candidate?.is(finder) {
            return Ok(());
        }
    }
    if STAND_IN_FOR.get(py).is_none() && meta_path.len()? > 0 {
        let builtin_importer = sys_modules_get(
            py,
            intern!(py, "_frozen_importlib").as_any(),
            py.None().bind(py),
        )?
        .getattr_opt(intern!(py, "BuiltinImporter"))?;
        if let Some(builtin_importer) = builtin_importer {
            if meta_path.get_item(0)?.is(&builtin_importer) {
                let find_spec = builtin_importer.getattr(intern!(py, "find_spec"))?;
                let names = py
                    .get_type::<PyFrozenSet>()
                    .call1((sys(py)?.getattr(intern!(py, "builtin_module_names"))?,))?
                    .cast_into::<PyFrozenSet>()?;
                let _ = STAND_IN_FOR.set(
                    py,
                    StandIn {
                        find_spec: find_spec.unbind(),
                        names: names.unbind(),
                    },
                );
                meta_path.set_item(0, finder)?;
                return Ok(());
            }
        }
    }
    meta_path.call_method1(intern!(py, "insert"), (0, finder))?;
    Ok(())
}

/// The public API's `register_post_import_hook(hook, name, label=None,
/// origin=None)`: [`register_hook`], the label defaulting to `repr(hook)`.
#[pyfunction]
#[pyo3(signature = (hook, name, label=None, origin=None))]
pub(crate) fn register_post_import_hook<'py>(
    py: Python<'py>,
    hook: &Bound<'py, PyAny>,
    name: &Bound<'py, PyAny>,
    label: Option<&Bound<'py, PyAny>>,
    origin: Option<&Bound<'py, PyAny>>,
) -> PyResult<()> {
    let label = match label {
        Some(label) => label.clone(),
        None => hook.repr()?.into_any(),
    };
    let origin = origin.map_or_else(|| py.None().into_bound(py), Clone::clone);
    let hook = hook.clone();
    register_hook(
        py,
        name,
        &RegisteredHook {
            hook,
            label,
            origin,
        },
    )
}

/// [`registry::register`], and a hook that waits for its module needs the
/// finder in place.
pub(crate) fn register_hook<'py>(
    py: Python<'py>,
    name: &Bound<'py, PyAny>,
    registered: &RegisteredHook<'py>,
) -> PyResult<()> {
    if registry::register(py, name, registered)? {
        install_finder(py)?;
    }
    Ok(())
}

/// First on `sys.meta_path`; only ever claims modules with pending hooks.
/// (`dict`: for the fast `find_spec` in the instance dict.)
#[pyclass(frozen, dict, module = "wrapt_bootstrap._native")]
pub(crate) struct PostImportFinder;

#[pymethods]
impl PostImportFinder {
    #[allow(clippy::unused_self)] // pyo3 needs the receiver
    fn __repr__(&self) -> &'static str {
        "<wrapt_bootstrap post-import finder (native)>"
    }

    #[pyo3(signature = (fullname, path=None, target=None))]
    fn find_spec<'py>(
        slf: &Bound<'py, Self>,
        fullname: &Bound<'py, PyAny>,
        path: Option<&Bound<'py, PyAny>>,
        target: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let py = slf.py();
        // The miss path (a keyword call; importlib's own calls take the
        // fast one): one dict lookup.
        let Some(pending) = pending_dict_if_any(py) else {
            return stand_in_answer(py, fullname, path, target);
        };
        if !pending.contains(fullname)? {
            return stand_in_answer(py, fullname, path, target);
        }
        let in_progress = in_progress(py);
        if in_progress.contains(fullname)? {
            return stand_in_answer(py, fullname, path, target);
        }
        in_progress.add(fullname)?;
        let spec = find_spec_after(slf.as_any(), fullname, path, target);
        in_progress.discard(fullname)?;
        let Some(spec) = spec? else {
            return Ok(None);
        };

        let mut loader = spec.getattr(intern!(py, "loader"))?;
        let namespace = loader.is_none()
            && !spec
                .getattr(intern!(py, "submodule_search_locations"))?
                .is_none();
        if namespace {
            loader = namespace_loader(&spec)?;
        }
        if loader.is_none() {
            return Ok(Some(spec));
        }
        let chained = if loader.hasattr(intern!(py, "exec_module"))? {
            Bound::new(py, ChainedLoader(Chain::new(&loader, &spec, namespace)))?.into_any()
        } else {
            Bound::new(
                py,
                LegacyChainedLoader(Chain::new(&loader, &spec, namespace)),
            )?
            .into_any()
        };
        spec.setattr(intern!(py, "loader"), chained)?;
        Ok(Some(spec))
    }
}

/// `None`, or the answer of the `BuiltinImporter` we stand in for.
fn stand_in_answer<'py>(
    py: Python<'py>,
    fullname: &Bound<'py, PyAny>,
    path: Option<&Bound<'py, PyAny>>,
    target: Option<&Bound<'py, PyAny>>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let Some(stand_in) = STAND_IN_FOR.get(py) else {
        return Ok(None);
    };
    let spec = stand_in
        .find_spec
        .bind(py)
        .call1((fullname, path, target))?;
    Ok((!spec.is_none()).then_some(spec))
}

/// The first spec that the finder we stand in for, then a finder after `us`
/// on `sys.meta_path` returns (all of them when we are not on it); finders
/// without `find_spec` are skipped.
fn find_spec_after<'py>(
    us: &Bound<'py, PyAny>,
    fullname: &Bound<'py, PyAny>,
    path: Option<&Bound<'py, PyAny>>,
    target: Option<&Bound<'py, PyAny>>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = us.py();
    if let Some(spec) = stand_in_answer(py, fullname, path, target)? {
        return Ok(Some(spec));
    }
    // A snapshot, like the fallback's `meta_path[start:]`: finders may
    // change sys.meta_path while we ask them.
    let meta_path = sys(py)?.getattr(intern!(py, "meta_path"))?;
    // A loop, not `collect()`: collecting asks the iterator's size_hint,
    // which on the limited API imports `operator`.
    let mut finders: Vec<Bound<'py, PyAny>> = Vec::new();
    for candidate in meta_path.try_iter()? {
        finders.push(candidate?);
    }
    let start = finders
        .iter()
        .position(|candidate| candidate.is(us))
        .map_or(0, |index| index + 1);
    for candidate in &finders[start..] {
        let Some(find_spec) = candidate.getattr_opt(intern!(py, "find_spec"))? else {
            continue;
        };
        let spec = find_spec.call1((fullname, path, target))?;
        if !spec.is_none() {
            return Ok(Some(spec));
        }
    }
    Ok(None)
}

/// What importlib's `_init_module_attrs` makes for a spec without a loader
/// but with `submodule_search_locations` (a namespace package):
/// `NamespaceLoader` (3.11+) or `_NamespaceLoader` (3.9, 3.10; still an
/// alias later), made with `__new__` and given `_path`.
fn namespace_loader<'py>(spec: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = spec.py();
    let external = sys(py)?
        .getattr(intern!(py, "modules"))?
        .get_item(intern!(py, "_frozen_importlib_external"))?;
    let class = match external.getattr_opt(intern!(py, "NamespaceLoader"))? {
        Some(class) if class.is_truthy()? => class,
        _ => external.getattr(intern!(py, "_NamespaceLoader"))?,
    };
    let loader = class.call_method1(intern!(py, "__new__"), (&class,))?;
    loader.setattr(
        intern!(py, "_path"),
        spec.getattr(intern!(py, "submodule_search_locations"))?,
    )?;
    Ok(loader)
}

/// What both chained loaders hold: the real loader, the spec it serves, and
/// whether we made the loader for a namespace package.
struct Chain {
    loader: Py<PyAny>,
    spec: Py<PyAny>,
    namespace: bool,
}

impl Chain {
    fn new(loader: &Bound<'_, PyAny>, spec: &Bound<'_, PyAny>, namespace: bool) -> Self {
        Chain {
            loader: loader.clone().unbind(),
            spec: spec.clone().unbind(),
            namespace,
        }
    }

    /// Whoever inspects the module afterwards sees the real loader.
    fn restore(&self, us: &Bound<'_, PyAny>, module: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = us.py();
        let loader = self.loader.bind(py);
        self.spec.bind(py).setattr(intern!(py, "loader"), loader)?;
        if let Some(current) = module.getattr_opt(intern!(py, "__loader__"))? {
            if current.is(us) {
                module.setattr(intern!(py, "__loader__"), loader)?;
            }
        }
        if self.namespace {
            // importlib sets this for namespace packages; with a loader
            // present it would not.
            module.setattr(intern!(py, "__file__"), py.None())?;
        }
        Ok(())
    }
}

/// The `#[pymethods]` block of a chained loader: the methods of its own
/// protocol, then those both loaders share. A macro, because pyo3 takes one
/// `#[pymethods]` block per class (more need its `multiple-pymethods`
/// feature) and no generic classes; it expands before `#[pymethods]` reads
/// the block.
macro_rules! chained_loader_methods {
    (impl $class:ident { $($own:tt)* }) => {
        #[pymethods]
        impl $class {
            $($own)*

            // Every other attribute (`get_code` for runpy,
            // `get_resource_reader`, `is_package`, ...) is the real loader's.
            fn __getattr__<'py>(
                &self,
                py: Python<'py>,
                name: &Bound<'py, PyString>,
            ) -> PyResult<Bound<'py, PyAny>> {
                self.0.loader.bind(py).getattr(name)
            }

            fn __repr__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                PyString::new(py, "<wrapt_bootstrap chained loader for %r>")
                    .rem((self.0.loader.bind(py),))
            }

            fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
                visit.call(&self.0.loader)?;
                visit.call(&self.0.spec)
            }
        }
    };
}

/// Chained in front of a loader with `exec_module` (the modern protocol;
/// importlib picks it with `hasattr(loader, "exec_module")`).
#[pyclass(frozen, module = "wrapt_bootstrap._native")]
pub(crate) struct ChainedLoader(Chain);

chained_loader_methods! {
    impl ChainedLoader {
        fn create_module<'py>(
            &self,
            py: Python<'py>,
            spec: &Bound<'py, PyAny>,
        ) -> PyResult<Option<Bound<'py, PyAny>>> {
            match self
                .0
                .loader
                .bind(py)
                .getattr_opt(intern!(py, "create_module"))?
            {
                Some(create) => create.call1((spec,)).map(Some),
                None => Ok(None),
            }
        }

        fn exec_module<'py>(slf: &Bound<'py, Self>, module: &Bound<'py, PyAny>) -> PyResult<()> {
            let py = slf.py();
            let chain = &slf.get().0;
            chain.restore(slf.as_any(), module)?;
            // An exception here propagates unchanged and fires nothing: the
            // import failed, the hooks stay pending for the next attempt.
            chain
                .loader
                .bind(py)
                .call_method1(intern!(py, "exec_module"), (module,))?;
            let name = chain.spec.bind(py).getattr(intern!(py, "name"))?;
            notify_module_loaded(py, &sys_modules_get(py, &name, module)?)
        }
    }
}

/// Chained in front of a loader with only `load_module` (zipimport on 3.9).
/// A separate class because importlib decides the protocol with
/// `hasattr(loader, "exec_module")`: this one has none of its own.
#[pyclass(frozen, module = "wrapt_bootstrap._native")]
pub(crate) struct LegacyChainedLoader(Chain);

chained_loader_methods! {
    impl LegacyChainedLoader {
        fn load_module<'py>(
            slf: &Bound<'py, Self>,
            fullname: &Bound<'py, PyAny>,
        ) -> PyResult<Bound<'py, PyAny>> {
            let py = slf.py();
            let chain = &slf.get().0;
            let loader = chain.loader.bind(py);
            chain.spec.bind(py).setattr(intern!(py, "loader"), loader)?;
            let module = loader.call_method1(intern!(py, "load_module"), (fullname,))?;
            chain.restore(slf.as_any(), &module)?;
            notify_module_loaded(py, &sys_modules_get(py, fullname, &module)?)?;
            Ok(module)
        }
    }
}
