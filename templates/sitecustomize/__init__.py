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
# With nothing enabled it costs this import and no other: whether anything
# may be enabled is decided from the environment first. Enabled, it loads
# and activates the native module directly: importing the wrapt_bootstrap
# package (importlib's work and its bytecode) would cost more than the
# whole activation. Where the native module cannot serve, the package is
# imported, and takes the fallback. importlib's own modules serve the rest,
# so that nothing site has not imported is imported.

import posix
import sys

# Rendered by wrapt-install, as in wrapt_bootstrap: the groups enabled when
# WRAPT_PATCHES is unset, and the size of the _native.abi3.so it wrote
# (dlopen of a truncated file kills the process instead of raising).
_DEFAULT_GROUPS = ()
_NATIVE_SIZE = 0

# importlib's path machinery, as loaded at startup: importlib.machinery and
# importlib.util would be imports of their own.
try:
    _machinery = sys.modules[type(__loader__).__module__]
    _machinery.spec_from_file_location, _machinery.PathFinder
except (KeyError, AttributeError):
    import importlib._bootstrap_external as _machinery


def _activate(sys, posix, machinery, parent):
    # Activates wrapt_bootstrap; returns what to run when site's
    # customization ends (the rescan of sys.path), or None.
    impl = _load_native(sys, posix, parent + "/wrapt_bootstrap/_native.abi3.so")
    if impl is None:
        # Importing the package activates it, with the fallback.
        _import_bootstrap(sys, machinery, parent)
        return getattr(sys.modules["wrapt_bootstrap"]._impl, "rescan", None)
    return impl.rescan if impl.activate(_DEFAULT_GROUPS) else None


def _load_native(sys, posix, native):
    # The checks and the loading of wrapt_bootstrap._load_impl, which decides
    # exactly when WRAPT_PATCHES_PURE is set at all.
    if (
        sys.implementation.name != "cpython"
        or "t" in getattr(sys, "abiflags", "")
        or b"WRAPT_PATCHES_PURE" in posix.environ
    ):
        return None
    try:
        if posix.stat(native).st_size != _NATIVE_SIZE:
            return None
        import _imp

        spec = type(sys.implementation)(name="wrapt_bootstrap._native", origin=native)
        impl = _imp.create_dynamic(spec)
        _imp.exec_dynamic(impl)
        if not impl.serves_this_interpreter():
            # A legacy subinterpreter's copy of the module.
            return None
    except Exception:
        # e.g. pyo3 refusing an isolated subinterpreter.
        return None
    impl.__file__ = native
    sys.modules[spec.name] = impl
    return impl


def _import_bootstrap(sys, machinery, parent):
    # `import wrapt_bootstrap`, from beside this package, without searching
    # sys.path for it (a fifth of a million instructions on CPython 3.12):
    # what importlib does once it has found it.
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


def _site_end(sys, rescan):
    # Scan what site's customization adds to sys.path: the sitecustomize we
    # run below, and usercustomize when site runs it next. site.main()
    # looks execusercustomize up at call time; it is put back before
    # anything else can see it. ENABLE_USER_SITE is settled by now.
    site = sys.modules["site"]
    if not getattr(site, "ENABLE_USER_SITE", False):
        rescan()
        return
    usercustomize = site.execusercustomize

    def run_usercustomize():
        site.execusercustomize = usercustomize
        try:
            usercustomize()
        finally:
            rescan()

    site.execusercustomize = run_usercustomize


def _may_enable(environ):
    # Whether anything may be enabled, decided before anything is loaded
    # (docs/startup.md, How startup works, step 1): a variable set, or
    # defaults, and not the kill switch (empty, only commas, or one 0 / off
    # / none), which silences AUTOWRAPT_BOOTSTRAP too, unless
    # WRAPT_PATCHES_DEBUG asks the implementation to say so. The rule of
    # wrapt_bootstrap's _activate, on posix.environ's bytes decoded as
    # os.environ decodes them: bytes.strip would leave the Unicode
    # whitespace that str.strip takes off. The implementation decides the
    # rest of the grammar.
    value = environ.get(b"WRAPT_PATCHES")
    if value is None:
        return bool(_DEFAULT_GROUPS) or b"AUTOWRAPT_BOOTSTRAP" in environ
    encoding = sys.getfilesystemencoding()
    value = value.decode(encoding, "surrogateescape")
    items = [item.strip() for item in value.split(",") if item.strip()]
    return (
        len(items) > 1
        or (len(items) == 1 and items[0].lower() not in ("0", "off", "none"))
        or environ.get(b"WRAPT_PATCHES_DEBUG", b"").decode(encoding, "surrogateescape").strip().lower()
        not in ("", "0", "false", "no", "off")
    )


_parent = __path__[0].rpartition("/")[0]
_rescan = None
if _may_enable(posix.environ):
    try:
        if "wrapt_bootstrap" not in sys.modules:
            _rescan = _activate(sys, posix, _machinery, _parent)
            if b"WRAPT_PATCHES_DEBUG" in posix.environ:
                # Whether a wrapper's sitecustomize ran this one, late.
                __import__("wrapt_bootstrap._hidden")._hidden.report_runner(sys._getframe())
    except BaseException:
        # Not even a SystemExit may stop the interpreter from starting.
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


def _customize(sys, posix, machinery, parent, rescan, site_end):
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
        if rescan is not None:
            site_end(sys, rescan)


_customize(sys, posix, _machinery, _parent, _rescan, _site_end)
