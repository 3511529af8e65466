# Post-import hooks registered at interpreter startup, installed by
# wrapt-install.
#
# 00_wrapt_bootstrap.pth (or, in start mode, the package that
# 00_wrapt_bootstrap.start names) imports this package while site runs, and
# importing it activates: it loads the implementation (the native module, or
# the pure-Python fallback where that cannot load), whose activate() reads
# WRAPT_PATCHES / AUTOWRAPT_BOOTSTRAP and the environment's defaults and,
# only when some group is enabled, puts the finder first on sys.meta_path
# and registers the enabled groups' entry points as lazy post-import hooks.
# With --mode sitecustomize, the sitecustomize package loads and activates
# the native module itself, without this package.
#
# The .pth line imports this package only when something may be enabled,
# and needs no attribute of ours, so a package from another version, or
# broken, cannot make it fail.
#
# This module is imported at every enabled start (.pth mode), so it holds
# only what startup runs, with comments rather than docstrings:
# unmarshalling its bytecode is part of that cost. The public API (wrapt's:
# register_post_import_hook, when_imported, discover_post_import_hooks,
# notify_module_loaded) and _status() live in _api and are reached through
# __getattr__ below.
#
# It imports nothing that site has not already imported: gevent users must
# be able to patch ssl and threading before anything else touches them.

import os
import sys

__version__ = "0.1.0"

# Rendered by wrapt-install (--enable / --disable): the groups enabled when
# WRAPT_PATCHES is unset.
_DEFAULT_GROUPS = ()

# Rendered by wrapt-install: the size of the _native.abi3.so it wrote.
# Loading a truncated shared object kills the process instead of raising, so
# a native module of any other size is not loaded (the fallback serves).
_NATIVE_SIZE = 0

_impl = None
# site's execsitecustomize / execusercustomize while we wrap them.
_site_originals = {}


def __getattr__(name):
    # PEP 562: the public API is loaded on first use, not at every start.
    if name in ("register_post_import_hook", "when_imported", "discover_post_import_hooks",
                "notify_module_loaded", "_status"):
        from . import _api

        return getattr(_api, name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


def _flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


def _report(message):
    stream = sys.stderr
    if stream is not None:
        stream.write("wrapt-bootstrap: " + message + "\n")


def _load_impl():
    # The native module, or the pure-Python fallback where it cannot serve.
    global _impl
    if _impl is None:
        # Loaded already by our sitecustomize, which activated it.
        impl = sys.modules.get(__name__ + "._native")
        # Free-threaded builds may load an abi3 module and then crash, so
        # decide before touching it; PyPy cannot load it at all.
        if (
            impl is None
            and sys.implementation.name == "cpython"
            and "t" not in getattr(sys, "abiflags", "")
            and not _flag("WRAPT_PATCHES_PURE")
        ):
            try:
                native = os.path.join(os.path.dirname(__file__), "_native.abi3.so")
                if os.stat(native).st_size == _NATIVE_SIZE:
                    # What ExtensionFileLoader does, without finding the file
                    # through importlib first (a quarter of a million
                    # instructions at every enabled start). _imp reads only
                    # the spec's name and origin.
                    import _imp

                    spec = type(sys.implementation)(name=__name__ + "._native", origin=native)
                    impl = _imp.create_dynamic(spec)
                    _imp.exec_dynamic(impl)
                    if impl.serves_this_interpreter():
                        impl.__file__ = native
                        sys.modules[spec.name] = impl
                    else:
                        # A legacy subinterpreter's copy of the module.
                        impl = None
            except Exception:
                # e.g. pyo3 refusing an isolated subinterpreter.
                impl = None
        if impl is None:
            from . import _fallback as impl
        _impl = impl
    return _impl


def _activate():
    # Run on import, from the .pth line or the .start entry point;
    # idempotent: in a virtual environment site processes site-packages
    # twice before 3.15, and every subinterpreter runs site again. The
    # implementation decides, activates and reports its own failures. Where
    # nothing can be enabled it is not even loaded (docs/startup.md, How
    # startup works, step 1): neither variable set and no defaults, or the
    # kill switch (empty, only commas, or one 0 / off / none), which
    # silences AUTOWRAPT_BOOTSTRAP too; under WRAPT_PATCHES_DEBUG, the kill
    # switch loads it to say so. The sitecustomize package makes the same
    # decision from posix.environ's bytes.
    value = os.environ.get("WRAPT_PATCHES")
    if value is None:
        if not (_DEFAULT_GROUPS or "AUTOWRAPT_BOOTSTRAP" in os.environ):
            return
    else:
        items = [item.strip() for item in value.split(",") if item.strip()]
        if not items or (len(items) == 1 and items[0].lower() in ("0", "off", "none")):
            if not _flag("WRAPT_PATCHES_DEBUG"):
                return
    try:
        if not _load_impl().activate(_DEFAULT_GROUPS):
            return
        # Scan the sys.path entries added after us once site is done: later
        # .pth path lines, user site-packages and sitecustomize may add
        # some. Like autowrapt we run last in site: after usercustomize when
        # site runs it, else after sitecustomize. site.main() looks both
        # functions up at call time, so wrapping the module attributes is
        # enough; both are put back before anything else can see them.
        # Activated from a sitecustomize (ours, when the native module
        # cannot serve), that one arranges the rescan. Activated by a later
        # addsitedir() or by hand, nothing is pending.
        site = sys.modules.get("site")
        if _initializing(site) and not _initializing(sys.modules.get("sitecustomize")):
            for name, wrapper in (
                ("execsitecustomize", _run_sitecustomize),
                ("execusercustomize", _run_usercustomize),
            ):
                original = getattr(site, name, None)
                if original is not None:
                    _site_originals[name] = original
                    setattr(site, name, wrapper)
    except BaseException:
        # Raised here, it would fail the import of this package and leave it
        # to be imported, and activated, again.
        _report("activation failed; the application continues without patches:")
        sys.__excepthook__(*sys.exc_info())


def _initializing(module):
    return getattr(getattr(module, "__spec__", None), "_initializing", False)


def _run_sitecustomize():
    try:
        _site_originals["execsitecustomize"]()
    finally:
        # ENABLE_USER_SITE is only settled after venv() has processed our
        # .pth, so it is read now, not at activation.
        if _site_originals and not getattr(sys.modules["site"], "ENABLE_USER_SITE", False):
            _finish_site()


def _run_usercustomize():
    try:
        _site_originals["execusercustomize"]()
    finally:
        _finish_site()


def _finish_site():
    site = sys.modules["site"]
    for name, function in _site_originals.items():
        setattr(site, name, function)
    _site_originals.clear()
    _impl.rescan()


_activate()
