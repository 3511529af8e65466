# sitecustomize, installed by wrapt-install --mode sitecustomize: activates
# wrapt_bootstrap (post-import hooks) at startup, for environments where a
# .pth import line is unwanted or ignored.
#
# It then runs the sitecustomize Python would have run without it, so that
# none is lost. A package is found before a module of the same name in the
# same directory, so an environment's own sitecustomize.py stays where it
# is, byte for byte, and runs from here; failing that, the first one further
# down sys.path. Uninstalling removes this package, and that one is found
# again.
#
# With nothing enabled it costs this import and no other: the decision is
# made from the environment first. importlib's own modules serve the rest,
# so that nothing site has not imported is imported.

import posix
import sys

# importlib's path machinery, as loaded at startup: importlib.machinery and
# importlib.util would be imports of their own.
try:
    _machinery = sys.modules[type(__loader__).__module__]
    _machinery.spec_from_file_location, _machinery.PathFinder
except (KeyError, AttributeError):
    import importlib._bootstrap_external as _machinery


def _import_bootstrap(sys, machinery, parent):
    # `import wrapt_bootstrap`, from beside this package, without searching
    # sys.path for it (a fifth of a million instructions at every enabled
    # start on CPython 3.12): what importlib does once it has found it.
    name = "wrapt_bootstrap"
    package = parent + "/" + name
    spec = machinery.spec_from_file_location(
        name, package + "/__init__.py", submodule_search_locations=[package]
    )
    module = type(sys)(name)
    module.__spec__ = spec
    module.__loader__ = spec.loader
    module.__file__ = spec.origin
    module.__path__ = spec.submodule_search_locations
    module.__package__ = name
    module.__cached__ = spec.cached
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise


_parent = __path__[0].rpartition("/")[0]
if b"WRAPT_PATCHES" in posix.environ or b"AUTOWRAPT_BOOTSTRAP" in posix.environ:
    try:
        if "wrapt_bootstrap" not in sys.modules:
            _import_bootstrap(sys, _machinery, _parent)
    except Exception:
        pass


def _displaced(sys, posix, machinery, parent):
    # The spec of the sitecustomize this package hides, or None. Checked
    # without raising: an exception costs more than the whole check.
    beside = parent + "/sitecustomize.py"
    if posix.access(beside, posix.F_OK):
        return machinery.spec_from_file_location("sitecustomize", beside)
    if parent not in sys.path:
        return None
    later = sys.path[sys.path.index(parent) + 1 :]
    if not later:
        return None
    mine = posix.stat(__file__)
    for entry in later:
        spec = machinery.PathFinder.find_spec("sitecustomize", [entry])
        if spec is None or spec.origin is None or spec.loader is None:
            continue
        try:
            found = posix.stat(spec.origin)
        except OSError:
            continue
        # Not this very package, reached through another spelling of its
        # directory.
        if (found.st_dev, found.st_ino) != (mine.st_dev, mine.st_ino):
            return spec
    return None


def _customize(sys, posix, machinery, parent):
    # Everything is an argument: the code run here shares this module's
    # namespace, and may well end with `del sys`.
    try:
        spec = _displaced(sys, posix, machinery, parent)
        if spec is None:
            return
        code = spec.loader.get_code("sitecustomize")
        if code is None:
            # An extension module has no code object.
            spec.loader.exec_module(spec.loader.create_module(spec))
            return
        # Its code runs as this module, as it would have run as
        # sitecustomize: what it defines is sitecustomize's, and an
        # exception reaches site exactly as it would have.
        namespace = globals()
        namespace["__file__"] = spec.origin
        exec(code, namespace)
    finally:
        # The end of site's customization: wrapt_bootstrap scans what was
        # added to sys.path meanwhile (a version without the function has
        # nothing to do).
        done = getattr(sys.modules.get("wrapt_bootstrap"), "_sitecustomize_done", None)
        if done is not None:
            done()


_customize(sys, posix, _machinery, _parent)
