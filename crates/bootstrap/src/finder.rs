//! The import finder that fires post-import hooks, and the loaders it
//! chains in front of the real ones.
//!
//! The finder sits first on `sys.meta_path` and claims only modules with
//! pending hooks: for those it asks the finders after it for the spec and
//! swaps `spec.loader` for a chained loader that runs the real one, puts the
//! real one back everywhere, and then fires the hooks. Everything else costs
//! one dict lookup.

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
        .get_or_try_init(py, || Py::new(py, PostImportFinder))
        .map(|f| f.bind(py))
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
#[pyclass(frozen, module = "wrapt_bootstrap._native")]
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
    let finders: Vec<Bound<'py, PyAny>> = meta_path.try_iter()?.collect::<PyResult<_>>()?;
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
