# Post-import hooks registered at interpreter startup, installed by
# wrapt-install.
#
# 00_wrapt_bootstrap.pth (CPython <= 3.14), 00_wrapt_bootstrap.start
# (PEP 829, CPython >= 3.15) or, with --mode sitecustomize, the
# sitecustomize package calls _activate() while site runs. It reads
# WRAPT_PATCHES / AUTOWRAPT_BOOTSTRAP and the environment's defaults, and
# only when some group is enabled loads the implementation (the native
# module, or the pure-Python fallback where it cannot load), puts the finder
# first on sys.meta_path and registers the enabled groups' entry points as
# lazy post-import hooks.
#
# The .pth line imports this package only when something may be enabled,
# and importing it activates: the line then needs no attribute of ours, so a
# package from another version, or broken, cannot make it fail.
#
# This module is imported at every enabled start, so it holds only what
# startup runs, in as few code objects as will do, with comments rather than
# docstrings: unmarshalling its bytecode is part of that cost. The public API
# (wrapt's: register_post_import_hook, when_imported,
# discover_post_import_hooks, notify_module_loaded) and _status() live in
# _api and are reached through __getattr__ below.
#
# It imports nothing that site has not already imported: gevent users must
# be able to patch ssl and threading before anything else touches them.

import os
import sys

__version__ = "0.1.0"

# Rendered by wrapt-install (--enable / --disable): the groups enabled when
# WRAPT_PATCHES is unset.
_DEFAULT_GROUPS = ()

# The programs left alone even when groups are enabled: packaging and
# environment tools, which a patch could break, and which run wherever
# WRAPT_PATCHES is exported. WRAPT_PATCHES_SKIP edits the list with the
# grammar of WRAPT_PATCHES (README: "Tool processes").
_DEFAULT_SKIP = (
    "pip", "pipx", "virtualenv", "venv", "ensurepip", "uv", "poetry", "pdm", "hatch",
    "flit", "build", "twine", "wheel", "pip-compile", "pip-sync", "conda", "mamba",
    "tox", "nox", "pre-commit",
)

# Rendered by wrapt-install: the size of the _native.abi3.so it wrote.
# Loading a truncated shared object kills the process instead of raising, so
# a native module of any other size is not loaded (the fallback serves).
_NATIVE_SIZE = 0

_impl = None
# _decided: the environment was read (once per interpreter, so that a
# warning is printed once); _active: something was enabled and activated.
_decided = False
_active = False
_debug = False
_selected = ()
# The program name that made this process a tool process, if one did.
_skipped = None
_autowrapt_groups = ()
_seen_dists = set()
_scanned_paths = set()
_entry_counts = {}
# (group, target, hook, already imported): what the ordering doctor of
# wrapt-install --check reports. A hook whose target was already imported
# fires at once, too late for references other code took before.
_registered = []
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


_ALLOWED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"


def _edit(value, defaults, invalid):
    # The list grammar of DESIGN.md, for WRAPT_PATCHES and WRAPT_PATCHES_SKIP:
    # unset -> the defaults; empty, 0, off or none -> None (nothing, said
    # outright); a list with a plain name -> exactly its names; a list of
    # only +name / -name -> the defaults edited. Names ignored as invalid go
    # to `invalid`. A name is valid when str.strip with the allowed
    # characters leaves nothing: no regex module needed at startup.
    if value is None:
        return list(defaults)
    items = [item.strip() for item in value.split(",")]
    items = [item for item in items if item]
    if not items or (len(items) == 1 and items[0].lower() in ("0", "off", "none")):
        return None
    names = [] if any(item[0] not in "+-" for item in items) else list(defaults)
    for item in items:
        sign, name = (item[0], item[1:].strip()) if item[0] in "+-" else ("+", item)
        if not name or name.strip(_ALLOWED):
            invalid.append(item)
        elif sign == "-":
            names = [other for other in names if other != name]
        elif name not in names:
            names.append(name)
    return names


def _select(wrapt_patches, autowrapt_bootstrap, defaults):
    # Returns (groups, autowrapt_groups, invalid): the groups selected by
    # WRAPT_PATCHES (or the defaults when it is unset), the groups named by
    # AUTOWRAPT_BOOTSTRAP, and the names ignored as invalid.
    invalid = []
    groups = _edit(wrapt_patches, defaults, invalid)
    if groups is None:
        # The kill switch silences AUTOWRAPT_BOOTSTRAP as well.
        return [], [], invalid
    autowrapt_groups = []
    for name in (autowrapt_bootstrap or "").split(","):
        name = name.strip()
        if not name:
            continue
        if name.strip(_ALLOWED):
            invalid.append(name)
        elif name not in autowrapt_groups:
            autowrapt_groups.append(name)
    return groups, autowrapt_groups, invalid


def _program():
    # The program this process runs, as the skip list names it: the
    # top-level package of `-m`, else the script's name without .py and a
    # version suffix (pip3.12 -> pip); None for -c, stdin and the prompt.
    argv = getattr(sys, "orig_argv", None)
    if argv is None:
        # CPython 3.9, where sys.argv says only "-m": the command line as
        # the kernel has it, else what sys.argv does say.
        try:
            with open("/proc/self/cmdline", "rb") as stream:
                argv = [os.fsdecode(arg) for arg in stream.read().split(b"\0")[:-1]]
        except OSError:
            argv = [sys.executable] + [
                arg for arg in getattr(sys, "argv", ())[:1] if arg not in ("-m", "-c", "")
            ]
    args = iter(argv[1:])
    for arg in args:
        if arg in ("-X", "-W", "--check-hash-based-pycs"):
            next(args, None)
        elif arg == "-":
            return None
        elif arg[:1] != "-":
            name = arg.rpartition("/")[2]
            if name.endswith(".py"):
                name = name[:-3]
            return name.rstrip("0123456789.") or None
        elif arg[:2] != "--":
            # A cluster of one-letter options: -c, -m, -X and -W take the
            # rest of it, or the next argument.
            for at in range(1, len(arg)):
                letter = arg[at]
                if letter in "cmXW":
                    value = arg[at + 1 :] or next(args, "")
                    if letter == "m":
                        return value.partition(".")[0] or None
                    if letter == "c":
                        return None
                    break
    return None


def _report(message):
    stream = sys.stderr
    if stream is not None:
        stream.write("wrapt-bootstrap: " + message + "\n")


def _load_impl():
    # The native module, or the pure-Python fallback where it cannot serve.
    global _impl, _debug
    if _impl is None:
        impl = None
        # Free-threaded builds may load an abi3 module and then crash, so
        # decide before touching it; PyPy cannot load it at all.
        if (
            sys.implementation.name == "cpython"
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
                    impl.__file__ = native
                    sys.modules[spec.name] = impl
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
    # The startup entry point (.pth line / PEP 829 .start); idempotent: in a
    # virtual environment site processes site-packages twice, and every
    # subinterpreter runs site again.
    global _decided, _active, _selected, _autowrapt_groups, _skipped
    if _decided:
        return
    _decided = True
    environ = os.environ
    groups, autowrapt_groups, invalid = _select(
        environ.get("WRAPT_PATCHES"), environ.get("AUTOWRAPT_BOOTSTRAP"), _DEFAULT_GROUPS
    )
    if invalid:
        _report(
            "ignoring invalid group name%s %s (allowed: letters, digits, '_', '.', '-')"
            % ("s" if len(invalid) > 1 else "", ", ".join(repr(name) for name in invalid))
        )
    if not groups and not autowrapt_groups:
        return
    program = _program()
    if program is not None:
        invalid = []
        skip = _edit(environ.get("WRAPT_PATCHES_SKIP"), _DEFAULT_SKIP, invalid) or ()
        if invalid:
            _report("ignoring invalid name%s %s in WRAPT_PATCHES_SKIP"
                    % ("s" if len(invalid) > 1 else "", ", ".join(repr(name) for name in invalid)))
        if program in skip:
            _skipped = program
            if _flag("WRAPT_PATCHES_DEBUG"):
                _report("%s is a tool process (WRAPT_PATCHES_SKIP): no patches here" % program)
            return
    _active = True
    try:
        impl = _load_impl()
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
        # Scan the sys.path entries added after us once site is done: later
        # .pth path lines, user site-packages and sitecustomize may add
        # some. Like autowrapt we run last in site: after usercustomize when
        # site runs it, else after sitecustomize. site.main() looks both
        # functions up at call time, so wrapping the module attributes is
        # enough; both are put back before anything else can see them.
        # Activated from our sitecustomize, that one is already running and
        # calls _sitecustomize_done itself. Activated by a later addsitedir()
        # or by hand, nothing is pending.
        site = sys.modules.get("site")
        if _initializing(site):
            wrappers = [("execusercustomize", _run_usercustomize)]
            if not _initializing(sys.modules.get("sitecustomize")):
                wrappers.append(("execsitecustomize", _run_sitecustomize))
            for name, wrapper in wrappers:
                original = getattr(site, name, None)
                if original is not None:
                    _site_originals[name] = original
                    setattr(site, name, wrapper)
    except Exception:
        # Even under WRAPT_PATCHES_STRICT (which is about hooks): raised
        # here, it would fail the import of this package and leave it to be
        # imported, and activated, again.
        _report("activation failed; the application continues without patches:")
        sys.__excepthook__(*sys.exc_info())


def _initializing(module):
    return getattr(getattr(module, "__spec__", None), "_initializing", False)


def _run_sitecustomize():
    try:
        _site_originals["execsitecustomize"]()
    finally:
        _sitecustomize_done()


def _sitecustomize_done():
    # ENABLE_USER_SITE is only settled after venv() has processed our .pth,
    # so it is read now, not at activation.
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
    _discover_new_paths()


def _discover_new_paths():
    # Register the enabled groups' entry points found on sys.path entries not
    # scanned yet; the first distribution of a name wins, as in
    # importlib.metadata. Only str entries count, as for importlib's
    # PathFinder: anything else (bytes, even unhashable objects) is skipped.
    paths = [path for path in sys.path if isinstance(path, str) and path not in _scanned_paths]
    if paths:
        _scanned_paths.update(paths)
        # autowrapt, when installed, owns AUTOWRAPT_BOOTSTRAP: leave its
        # groups to it so that no hook fires twice. Its distribution sits in
        # site-packages, which the first scan covers.
        groups = list(_selected) + [g for g in _autowrapt_groups if g not in _selected]
        _scan_and_register(groups, paths, _seen_dists)


def _scan_and_register(groups, paths, seen):
    # Scan paths for groups, register what is found and count it in
    # _entry_counts; seen holds the distribution names already taken.
    # Problems are only ever reported inside the requested groups' sections,
    # so they are about the user's own patches: always worth a line.
    impl = _impl
    entries, problems = impl.scan(groups, paths, seen)
    for problem in problems:
        _report("skipped: " + problem)
    autowrapt_owned = _autowrapt_groups if "autowrapt" in seen else ()
    for group, name, value, dist_dir in entries:
        if group in autowrapt_owned:
            continue
        module, colon, attribute = value.partition(":")
        if not (colon and _is_dotted_name(name) and _is_dotted_name(module) and _is_dotted_name(attribute)):
            _report(
                "skipping entry point '%s = %s' in group '%s' of %s: expected "
                "'target.module = patch.module:function'" % (name, value, group, dist_dir)
            )
            continue
        if _debug:
            _report("entry point %s = %s in group '%s' from %s" % (name, value, group, dist_dir))
        _registered.append((group, name, value, name in sys.modules))
        impl.register_post_import_hook(
            value, name, "'%s' (group '%s', entry '%s')" % (value, group, name)
        )
        _entry_counts[group] = _entry_counts.get(group, 0) + 1


def _is_dotted_name(text):
    for part in text.split("."):
        if not part.isidentifier():
            return False
    return True


_activate()
