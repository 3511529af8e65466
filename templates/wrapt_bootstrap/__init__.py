"""Post-import hooks registered at interpreter startup, installed by wrapt-install.

``00_wrapt_bootstrap.pth`` (CPython <= 3.14) or ``00_wrapt_bootstrap.start``
(PEP 829, CPython >= 3.15) calls ``_activate()`` while ``site`` runs. It reads
``WRAPT_PATCHES`` / ``AUTOWRAPT_BOOTSTRAP`` and the environment's defaults,
and only when some group is enabled loads the implementation (the native
module, or the pure-Python fallback where it cannot load), puts the finder
first on ``sys.meta_path`` and registers the enabled groups' entry points as
lazy post-import hooks.

The public API matches wrapt's: ``register_post_import_hook``,
``when_imported``, ``discover_post_import_hooks``, ``notify_module_loaded``.

Everything here runs during interpreter startup, so it imports nothing that
``site`` has not already imported: gevent users must be able to patch
``ssl`` and ``threading`` before anything else touches them.
"""

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

_KILL_SWITCH = ("0", "off", "none")
_NAME_CHARACTERS = (
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
)

_impl = None
# _decided: the environment was read (once per interpreter, so that a
# warning is printed once); _active: something was enabled and activated.
_decided = False
_active = False
_debug = False
_selected = ()
_autowrapt_groups = ()
_seen_dists = set()
_scanned_paths = set()
_entry_counts = {}


def _flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


def _valid_group_name(name):
    # str.strip with a character set leaves "" exactly when every character
    # is allowed: no regex module needed at startup.
    return bool(name) and not name.strip(_NAME_CHARACTERS)


def _select(wrapt_patches, autowrapt_bootstrap, defaults):
    """Apply the selection grammar of DESIGN.md.

    Returns ``(groups, autowrapt_groups, invalid)``: the groups selected by
    ``WRAPT_PATCHES`` (or the defaults when it is unset), the groups named by
    ``AUTOWRAPT_BOOTSTRAP`` and the names ignored as invalid.
    """
    invalid = []
    if wrapt_patches is None:
        groups = list(defaults)
    else:
        items = [item.strip() for item in wrapt_patches.split(",")]
        items = [item for item in items if item]
        if not items or (len(items) == 1 and items[0].lower() in _KILL_SWITCH):
            return [], [], invalid
        # Plain names select exactly those groups; a list of only +/- edits
        # starts from the defaults.
        groups = [] if any(item[0] not in "+-" for item in items) else list(defaults)
        for item in items:
            sign, name = (item[0], item[1:].strip()) if item[0] in "+-" else ("+", item)
            if not _valid_group_name(name):
                invalid.append(item)
            elif sign == "-":
                groups = [group for group in groups if group != name]
            elif name not in groups:
                groups.append(name)
    autowrapt_groups = []
    for name in (autowrapt_bootstrap or "").split(","):
        name = name.strip()
        if not name:
            continue
        if not _valid_group_name(name):
            invalid.append(name)
        elif name not in autowrapt_groups:
            autowrapt_groups.append(name)
    return groups, autowrapt_groups, invalid


def _report(message):
    stream = sys.stderr
    if stream is not None:
        stream.write("wrapt-bootstrap: " + message + "\n")


def _load_impl():
    """The native module, or the pure-Python fallback where it cannot serve."""
    global _impl, _debug
    if _impl is None:
        impl = None
        # Free-threaded builds may load an abi3 module and then crash, so
        # decide before touching it; PyPy cannot load it at all.
        native_possible = (
            sys.implementation.name == "cpython"
            and "t" not in getattr(sys, "abiflags", "")
            and not _flag("WRAPT_PATCHES_PURE")
        )
        if native_possible:
            try:
                native = os.path.join(os.path.dirname(__file__), "_native.abi3.so")
                if os.stat(native).st_size == _NATIVE_SIZE:
                    from . import _native as impl
            except Exception:
                # e.g. pyo3 refusing an isolated subinterpreter.
                impl = None
        if impl is None:
            from . import _fallback as impl
        _debug = _flag("WRAPT_PATCHES_DEBUG")
        impl.configure(_debug, _flag("WRAPT_PATCHES_STRICT"))
        _impl = impl
    return _impl


def _activate():
    """Startup entry point (.pth line / PEP 829 .start); idempotent.

    In a virtual environment site processes site-packages twice, and every
    subinterpreter runs site again: a second call in one interpreter does
    nothing.
    """
    global _decided, _active, _selected, _autowrapt_groups
    if _decided:
        return
    _decided = True
    environ = os.environ
    groups, autowrapt_groups, invalid = _select(
        environ.get("WRAPT_PATCHES"), environ.get("AUTOWRAPT_BOOTSTRAP"), _DEFAULT_GROUPS
    )
    if not groups and not autowrapt_groups:
        if invalid:
            _warn_invalid(invalid)
        return
    _active = True
    try:
        impl = _load_impl()
        if invalid:
            _warn_invalid(invalid)
        _selected = tuple(groups)
        _autowrapt_groups = tuple(autowrapt_groups)
        for group in groups + autowrapt_groups:
            _entry_counts[group] = 0
        if _debug:
            _report(
                "implementation %s; groups %s%s"
                % (
                    impl.IMPLEMENTATION,
                    ", ".join(groups) or "(none)",
                    "; AUTOWRAPT_BOOTSTRAP groups " + ", ".join(autowrapt_groups)
                    if autowrapt_groups
                    else "",
                )
            )
        impl.install_finder()
        _discover_new_paths()
        _rescan_when_site_finishes()
    except Exception:
        if _flag("WRAPT_PATCHES_STRICT"):
            raise
        _report("activation failed; the application continues without patches:")
        sys.__excepthook__(*sys.exc_info())


def _warn_invalid(names):
    _report(
        "ignoring invalid group name%s %s (allowed: letters, digits, '_', '.', '-')"
        % ("s" if len(names) > 1 else "", ", ".join(repr(name) for name in names))
    )


def _discover_new_paths():
    """Register the enabled groups' entry points found on sys.path entries
    not scanned yet; the first distribution of a name wins, as in
    importlib.metadata."""
    # Only str entries count, as for importlib's PathFinder; anything else
    # (bytes, even unhashable objects) is skipped rather than tripped over.
    paths = [path for path in sys.path if isinstance(path, str) and path not in _scanned_paths]
    if not paths:
        return
    _scanned_paths.update(paths)
    # autowrapt, when installed, owns AUTOWRAPT_BOOTSTRAP: leave its groups
    # to it so that no hook fires twice. Its distribution sits in
    # site-packages, which the first scan covers.
    groups = list(_selected) + [g for g in _autowrapt_groups if g not in _selected]
    _scan_and_register(groups, paths, _seen_dists)


def _scan_and_register(groups, paths, seen):
    """Scan ``paths`` for ``groups``, register what is found and count it in
    ``_entry_counts``; ``seen`` holds the distribution names already taken."""
    impl = _impl
    entries, problems = impl.scan(groups, paths, seen)
    # Problems are only ever reported inside the requested groups' sections,
    # so they are about the user's own patches: always worth a line.
    for problem in problems:
        _report("skipped: " + problem)
    autowrapt_owned = _autowrapt_groups if "autowrapt" in seen else ()
    for group, name, value, dist_dir in entries:
        if group not in autowrapt_owned and _register_entry(impl, group, name, value, dist_dir):
            _entry_counts[group] = _entry_counts.get(group, 0) + 1


def _is_dotted_name(text):
    return all(part.isidentifier() for part in text.split("."))


def _register_entry(impl, group, name, value, dist_dir):
    module, colon, attribute = value.partition(":")
    if not (colon and _is_dotted_name(name) and _is_dotted_name(module) and _is_dotted_name(attribute)):
        _report(
            "skipping entry point '%s = %s' in group '%s' of %s: expected "
            "'target.module = patch.module:function'" % (name, value, group, dist_dir)
        )
        return False
    if _debug:
        _report("entry point %s = %s in group '%s' from %s" % (name, value, group, dist_dir))
    impl.register_post_import_hook(
        value, name, "'%s' (group '%s', entry '%s')" % (value, group, name)
    )
    return True


def _rescan_when_site_finishes():
    """Scan the sys.path entries added after us once site is done.

    Later .pth path lines, user site-packages and sitecustomize may add
    entries; like autowrapt we run last in site: after usercustomize when
    site runs it, else after sitecustomize. site.main() looks both functions
    up at call time, so wrapping the module attributes is enough, and both
    are put back before anything else can see them.
    """
    site = sys.modules.get("site")
    spec = getattr(site, "__spec__", None)
    if not getattr(spec, "_initializing", False):
        return  # activated by a later addsitedir() or by hand: nothing pending
    originals = {}

    def finish():
        for name, function in originals.items():
            setattr(site, name, function)
        _discover_new_paths()

    def wrap(name, last):
        original = getattr(site, name, None)
        if original is None:
            return
        originals[name] = original

        def run_then_maybe_finish():
            try:
                original()
            finally:
                if last():
                    finish()

        setattr(site, name, run_then_maybe_finish)

    # ENABLE_USER_SITE is only settled after venv() has processed our .pth,
    # so decide when the functions run, not now.
    wrap("execsitecustomize", lambda: not getattr(site, "ENABLE_USER_SITE", False))
    wrap("execusercustomize", lambda: True)


def _status():
    """What wrapt-install --check reports."""
    return {
        "version": __version__,
        "active": _active,
        "implementation": _impl.IMPLEMENTATION if _impl is not None else None,
        "selected": list(_selected),
        "defaults": list(_DEFAULT_GROUPS),
        "entry_points": dict(_entry_counts),
        "file": __file__,
    }


def register_post_import_hook(hook, name):
    """Call ``hook(module)`` once module ``name`` has been imported.

    ``hook`` is a callable or a ``"module:attr.path"`` string resolved when
    the target is imported. A target already imported fires at once.
    """
    _load_impl().register_post_import_hook(hook, name)


def when_imported(name):
    """Decorator form of :func:`register_post_import_hook`."""

    def register(hook):
        register_post_import_hook(hook, name)
        return hook

    return register


def discover_post_import_hooks(group):
    """Register every entry point of ``group`` found on ``sys.path`` now."""
    _load_impl()
    _scan_and_register([group], list(sys.path), set())


def notify_module_loaded(module):
    """Fire the hooks registered for ``module`` (for custom loaders)."""
    _load_impl().notify_module_loaded(module)
