//! The import finder that fires post-import hooks, and the loaders it
//! chains in front of the real ones.
//!
//! The finder sits first on `sys.meta_path` and claims only modules with
//! pending hooks: for those it asks the finders after it for the spec and
//! swaps `spec.loader` for a chained loader that runs the real one, puts the
//! real one back everywhere, and then fires the hooks. Everything else costs
//! one dict lookup, made in a plain C-ABI function (see [`find_spec_fast`]).

use std::ffi::{c_char, c_int};
use std::ptr;

use pyo3::ffi;
use pyo3::gc::PyVisit;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PySet, PyString};
use pyo3::PyTraverseError;

use crate::registry::{notify_module_loaded, pending_dict_if_any, sys, sys_modules_get};

static FINDER: PyOnceLock<Py<PostImportFinder>> = PyOnceLock::new();
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
/// ours is the hot path of the whole project (the budget: 1000 imports cost
/// at most +0.5%). A pyo3 method call costs about 1300 instructions here:
/// pyo3 builds abi3-py39 methods as `METH_VARARGS` (so every call allocates
/// an argument tuple), and its trampoline (panic guard, thread-local attach
/// count) and argument extraction add several hundred more; the native
/// finder was slower than the pure-Python fallback's. So the instance's
/// `__dict__` holds a `find_spec` of its own, shadowing the class's method:
/// a bare `METH_FASTCALL` C function that answers a miss with one
/// `PyDict_Contains` and hands everything else (hits, keyword calls, wrong
/// arity) to the pyo3 method, which it holds as its `self`.
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
/// `None` at once for a name without pending hooks; otherwise the call goes
/// on to `slow` (the bound pyo3 method `PostImportFinder.find_spec`).
///
/// Nothing here can panic; the only Python code that can run is the
/// `__hash__`/`__eq__` of a `str` subclass in `PyDict_Contains`, with the
/// GIL held as it must be.
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
                0 => return find_spec_rest(py, args, nargs),
                1 => {}
                _ => return ptr::null_mut(), // the error is set
            }
        }
        call_with_fast_args(slow, args, nargs, kwnames)
    }
}

/// The miss path: ask the finders after us on `sys.meta_path` ourselves and
/// return the first spec, so that importlib's own loop stops at us.
///
/// Being one more entry on `sys.meta_path` costs every import one turn of
/// importlib's `_find_spec` loop: `with _ImportLockContext()`, the
/// `find_spec` lookup and the call, about 5k instructions on 3.12, which is
/// +1.2% on 1000 small imports against a +0.5% budget. Doing the turns for
/// the finders after us in C (same arguments, same order, the same live
/// list, still under the import lock importlib holds for our turn) is
/// cheaper than the turns importlib no longer makes, so an import that
/// succeeds costs less with the finder than without it. Finders ahead of us
/// are asked by importlib as before.
///
/// Returns `None` (and importlib carries on after us as it always did) when
/// we are not on `sys.meta_path`, when `sys.meta_path` is not a plain list
/// (a subclass may iterate its own way), when a finder has no `find_spec`
/// (3.9–3.11 would use its legacy `find_module`), and when no finder has
/// the module: that last case asks the finders after us twice, which makes
/// a failing import dearer, never different.
///
/// # Safety
/// The GIL is held; `args` holds `nargs` (1 to 3) objects.
unsafe fn find_spec_rest(
    py: Python<'_>,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: see the function's contract. `PySys_GetObject` and
    // `PyList_GetItem` return borrowed references: the finder is held
    // (incref) while it runs, and the list is re-read by index after every
    // call because a finder may change `sys.meta_path`; every new reference
    // is released on every path.
    unsafe {
        let none = || {
            let none = ffi::Py_None();
            ffi::Py_INCREF(none);
            none
        };
        let Some(us) = FINDER.get(py) else {
            return none();
        };
        let us = us.as_ptr();
        let meta_path = ffi::PySys_GetObject(c"meta_path".as_ptr());
        if meta_path.is_null() || ffi::PyList_CheckExact(meta_path) == 0 {
            return none();
        }
        let mut index = 0;
        loop {
            if index >= ffi::PyList_Size(meta_path) {
                return none(); // not on sys.meta_path: not our turn to ask
            }
            let candidate = ffi::PyList_GetItem(meta_path, index);
            index += 1;
            if candidate == us {
                break;
            }
        }
        let arguments = ffi::PyTuple_New(nargs);
        if arguments.is_null() {
            return ptr::null_mut();
        }
        for i in 0..nargs {
            let arg = *args.offset(i);
            ffi::Py_INCREF(arg);
            ffi::PyTuple_SetItem(arguments, i, arg);
        }
        let name = intern!(py, "find_spec").as_ptr();
        let mut result = ptr::null_mut();
        while index < ffi::PyList_Size(meta_path) {
            let candidate = ffi::PyList_GetItem(meta_path, index);
            index += 1;
            ffi::Py_INCREF(candidate);
            let find_spec = ffi::PyObject_GetAttr(candidate, name);
            ffi::Py_DECREF(candidate);
            if find_spec.is_null() {
                if ffi::PyErr_ExceptionMatches(ffi::PyExc_AttributeError) != 0 {
                    ffi::PyErr_Clear();
                    result = none();
                }
                break;
            }
            let spec = ffi::PyObject_Call(find_spec, arguments, ptr::null_mut());
            ffi::Py_DECREF(find_spec);
            if spec.is_null() || spec != ffi::Py_None() {
                result = spec;
                break;
            }
            ffi::Py_DECREF(spec);
        }
        ffi::Py_DECREF(arguments);
        if result.is_null() && ffi::PyErr_Occurred().is_null() {
            result = none();
        }
        result
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
#[pyfunction]
pub(crate) fn install_finder(py: Python<'_>) -> PyResult<()> {
    let finder = finder(py)?;
    let meta_path = sys(py)?.getattr(intern!(py, "meta_path"))?;
    for candidate in meta_path.try_iter()? {
        if candidate?.is(finder) {
            return Ok(());
        }
    }
    meta_path.call_method1(intern!(py, "insert"), (0, finder))?;
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
        // The miss path, taken by every import: one dict lookup.
        let Some(pending) = pending_dict_if_any(py) else {
            return Ok(None);
        };
        if !pending.contains(fullname)? {
            return Ok(None);
        }
        let in_progress = in_progress(py);
        if in_progress.contains(fullname)? {
            return Ok(None);
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

/// The first spec that a finder after `us` on `sys.meta_path` returns (all
/// of them when we are not on it); finders without `find_spec` are skipped.
fn find_spec_after<'py>(
    us: &Bound<'py, PyAny>,
    fullname: &Bound<'py, PyAny>,
    path: Option<&Bound<'py, PyAny>>,
    target: Option<&Bound<'py, PyAny>>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = us.py();
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

    /// Every other attribute (`get_code` for runpy, `get_resource_reader`,
    /// `is_package`, ...) is the real loader's.
    fn forward<'py>(
        &self,
        py: Python<'py>,
        name: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.loader.bind(py).getattr(name)
    }

    fn repr<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyString::new(py, "<wrapt_bootstrap chained loader for %r>").rem((self.loader.bind(py),))
    }

    fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.loader)?;
        visit.call(&self.spec)
    }
}

/// Chained in front of a loader with `exec_module` (the modern protocol;
/// importlib picks it with `hasattr(loader, "exec_module")`).
#[pyclass(frozen, module = "wrapt_bootstrap._native")]
pub(crate) struct ChainedLoader(Chain);

#[pymethods]
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

    fn __getattr__<'py>(
        &self,
        py: Python<'py>,
        name: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.0.forward(py, name)
    }

    fn __repr__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.0.repr(py)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.0.traverse(&visit)
    }
}

/// Chained in front of a loader with only `load_module` (zipimport on 3.9).
/// A separate class because importlib decides the protocol with
/// `hasattr(loader, "exec_module")`: this one has none of its own.
#[pyclass(frozen, module = "wrapt_bootstrap._native")]
pub(crate) struct LegacyChainedLoader(Chain);

#[pymethods]
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

    fn __getattr__<'py>(
        &self,
        py: Python<'py>,
        name: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.0.forward(py, name)
    }

    fn __repr__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.0.repr(py)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.0.traverse(&visit)
    }
}
