"""Pure-Python activation, hook registry, import finder and entry-point scan.

The same semantics as the native module (``crates/bootstrap``), for the
interpreters that cannot load it: PyPy, free-threaded builds, isolated
subinterpreters, or ``WRAPT_PATCHES_PURE=1``. The integration tests run the
whole hook suite against both. Its sections follow the Rust modules, each
headed by the file it mirrors, so that a change to one twin finds the other.

State is per interpreter (this module is imported once per interpreter).
Hooks always run with no lock of ours held: wrapt PR #217 and mlflow's
vendored copy of it deadlocked when a hook imported something.
"""

import os
import sys
from _thread import allocate_lock
from stat import S_IFREG  # imported by os already

from . import _flag

IMPLEMENTATION = "fallback"


# ---------------------------------------------------------------------------
# names (crates/common/src/names.rs): distribution and group names
# ---------------------------------------------------------------------------

_ALLOWED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"


_METADATA_SUFFIXES = (".dist-info", ".egg-info")


def _normalized_dist_name(dir_name):
    # importlib.metadata: the stem's part before the first "-", runs of
    # "-_." folded, then lowercased (the order matters for a final sigma).
    for suffix in _METADATA_SUFFIXES:
        if dir_name.endswith(suffix):
            name = dir_name[: -len(suffix)].partition("-")[0]
            break
    else:
        return None
    if not name:
        return None
    folded = []
    previous_separator = False
    for character in name:
        if character in "-_.":
            if not previous_separator:
                folded.append("_")
            previous_separator = True
        else:
            folded.append(character)
            previous_separator = False
    return "".join(folded).lower()


# ---------------------------------------------------------------------------
# entry_points (crates/common/src/entry_points.rs): entry_points.txt
# ---------------------------------------------------------------------------


def _parse_entry_points(text, wanted, dist_dir, source, entries, problems):
    group = None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line[0] == "[" and line[-1] == "]":
            group = line[1:-1].strip()
            continue
        if group not in wanted:
            continue  # other tools' sections: importlib tolerates their lines too
        name, equals, value = line.partition("=")
        if not equals:
            problems.append("%s:%d: not 'name = value': %r" % (source, number, line))
            continue
        # Extras ("[extra]") and spaces around ":" mean nothing here.
        value = "".join(value.partition("[")[0].split())
        entries.append((group, name.strip(), value, dist_dir))


# ---------------------------------------------------------------------------
# scan (crates/common/src/scan.rs): the metadata scan of sys.path
# ---------------------------------------------------------------------------

# The native scan's MAX_FILE_SIZE (crates/common/src/scan.rs), held equal by
# a test: far beyond any real entry_points.txt, a bound so that a huge (or
# sparse) file cannot stall startup or exhaust its memory.
_MAX_FILE_SIZE = 64 << 20

# O_NONBLOCK: opening a FIFO without a writer (or a device that waits)
# returns at once; O_NOCTTY: a terminal does not become the process's.
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY
_S_IFMT = 0o170000  # the file type bits of st_mode, as stat.S_IFMT takes them


def _distributions(paths, seen):
    # The directory of each distribution on paths, in path order, then
    # sorted order, the first of each normalized name only (scan.rs,
    # for_each_child): names in seen are taken, and each found is added.
    # A list, not a generator: resuming one per distribution cost the
    # interpreted scan at a PyPy start 3%.
    found = []
    for path in paths:
        if not isinstance(path, str):
            continue  # importlib's PathFinder skips bytes and other objects too
        try:
            children = sorted(os.listdir(path or "."))
        except (OSError, ValueError):
            continue
        for child in children:
            # Most children are no metadata: told apart without a call,
            # which on PyPy cost the scan more than the reading.
            if not child.endswith(_METADATA_SUFFIXES):
                continue
            dist_name = _normalized_dist_name(child)
            if dist_name is None or dist_name in seen:
                continue
            seen.add(dist_name)
            found.append(os.path.join(path, child))
    return found


def scan(groups, paths, seen):
    """Entry points of ``groups`` in the distributions on ``paths``.

    Returns ``(entries, problems)``; ``entries`` are ``(group, name, value,
    dist_dir)`` in path order, then sorted distribution order, then file
    order. ``seen`` holds the normalized names already taken and is updated.
    """
    wanted = set(groups)
    entries = []
    problems = []
    for dist_dir in _distributions(paths, seen):
        source = os.path.join(dist_dir, "entry_points.txt")
        # Read as the native scan reads it (read_metadata_file in
        # scan.rs): a regular file only, as fstat of what was opened says
        # (through symlinks), never blocking, and decided on its size
        # before a byte is read. Inline, with fstat's fields by index and
        # no stat.S_ISREG: on PyPy, where this runs for every
        # distribution at startup, each call and stat_result attribute
        # is Python code.
        try:
            fd = os.open(source, _OPEN_FLAGS)
        except OSError:
            continue  # no entry points (or an egg-info file)
        try:
            info = os.fstat(fd)
            if info[0] & _S_IFMT != S_IFREG:
                continue  # a FIFO, a device, a directory: no entry points
            data = b""
            if info[6] <= _MAX_FILE_SIZE:
                # os.read allocates what it is asked for: the size fstat
                # gave, and a byte for the read that finds the end. At
                # most a byte over the limit, should the file grow.
                chunk = os.read(fd, info[6] + 1)
                while chunk:
                    data += chunk
                    if len(data) > _MAX_FILE_SIZE:
                        break
                    chunk = os.read(fd, min(max(len(data), 8192), _MAX_FILE_SIZE + 1 - len(data)))
        except OSError:
            continue  # unreadable: no entry points
        finally:
            os.close(fd)
        if info[6] > _MAX_FILE_SIZE or len(data) > _MAX_FILE_SIZE:
            # Not read whole, so it could hold one of our groups.
            problems.append("%s: larger than 64 MiB" % (source,))
            continue
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Only a file that could hold one of our groups is ours to report.
            if any(group.encode() in data for group in wanted):
                problems.append("%s: not UTF-8" % (source,))
            continue
        if any(group in text for group in wanted):
            _parse_entry_points(text, wanted, dist_dir, source, entries, problems)
    return entries, problems


# ---------------------------------------------------------------------------
# selection (crates/common/src/selection.rs): groups, tool processes
# ---------------------------------------------------------------------------

# Rendered by wrapt-install from the native module's list: the programs left
# alone even when groups are enabled, packaging and environment tools, which
# a patch could break, and which run wherever WRAPT_PATCHES is exported.
# WRAPT_PATCHES_SKIP edits the list with the grammar of WRAPT_PATCHES
# (README: "Tool processes").
_DEFAULT_SKIP = ()

# Rendered by wrapt-install from the native module's table (TOOL_MARKERS):
# (variable, name) pairs, the environment variables that packaging tools
# set only for the processes they start, and the name each stands for.
_TOOL_MARKERS = ()

# Rendered by wrapt-install from the native module's lists
# (selection::OTHER_TOOLS_GROUPS, OTHER_TOOLS_PREFIXES): other tools' groups,
# whose entries have the shape of hooks but are programs' main functions and
# plugins. Never registered: ignored with a warning where named.
_OTHER_TOOLS_GROUPS = ()
_OTHER_TOOLS_PREFIXES = ()


def _edit(value, defaults, invalid):
    # The list grammar (README, Selecting patches), for WRAPT_PATCHES and
    # WRAPT_PATCHES_SKIP: unset -> the defaults; empty, 0, off or none ->
    # None (nothing, said outright); a list with a plain name -> exactly its
    # names; a list of only +name / -name -> the defaults edited. Names
    # ignored as invalid go to `invalid`. A name is valid when str.strip
    # with the allowed characters leaves nothing: no regex module needed at
    # startup.
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


def _is_other_tools_group(group):
    return group in _OTHER_TOOLS_GROUPS or group.startswith(_OTHER_TOOLS_PREFIXES)


def select(wrapt_patches, autowrapt_bootstrap, defaults):
    """The selection grammar as a pure function.

    Returns ``(groups, autowrapt_groups, invalid, other_tools)``: the groups
    selected by WRAPT_PATCHES (or the defaults when it is unset), the groups
    named by AUTOWRAPT_BOOTSTRAP, the names ignored as invalid, and the
    other tools' groups taken out of the first two lists (each once).
    """
    invalid = []
    groups = _edit(wrapt_patches, defaults, invalid)
    if groups is None:
        # The kill switch silences AUTOWRAPT_BOOTSTRAP as well.
        return [], [], invalid, []
    autowrapt_groups = []
    for name in (autowrapt_bootstrap or "").split(","):
        name = name.strip()
        if not name:
            continue
        if name.strip(_ALLOWED):
            invalid.append(name)
        elif name not in autowrapt_groups:
            autowrapt_groups.append(name)
    other_tools = []
    for group in groups + autowrapt_groups:
        if _is_other_tools_group(group) and group not in other_tools:
            other_tools.append(group)
    if other_tools:
        groups = [group for group in groups if group not in other_tools]
        autowrapt_groups = [group for group in autowrapt_groups if group not in other_tools]
    return groups, autowrapt_groups, invalid, other_tools


def tool(argv, prefix, environ, skip):
    """The name on ``skip`` that makes a process a tool process, or None.

    From how the process runs (selection.rs, ``tool``): ``argv`` is its
    command line as sys.orig_argv has it, ``prefix`` is sys.prefix and
    ``environ`` its environment. A name counts only as the top-level
    package of -m; for a script inside a site-packages or dist-packages
    directory, the first path component after the last one; for a console
    script (in prefix/bin, or whose #! line names argv[0]), its file name
    less a version suffix; or as the name of a set variable of
    _TOOL_MARKERS, whatever runs.
    """
    found = None
    run, value = _command(argv)
    if run == "m":
        if value in skip:
            found = value
    elif run == "script":
        found = _script_tool(value, argv[0], prefix, skip)
    if found is None:
        for variable, name in _TOOL_MARKERS:
            if name in skip and variable in environ:
                return name
    return found


def _command(argv):
    # What argv runs: ("m", top-level package), ("script", path), or
    # (None, None) for -c, stdin, the prompt and -m with no package.
    args = iter(argv[1:])
    for arg in args:
        if arg in ("-X", "-W", "--check-hash-based-pycs"):
            next(args, None)
        elif arg == "-":
            return None, None
        elif arg[:1] != "-":
            return "script", arg
        elif arg[:2] != "--":
            # A cluster of one-letter options: -c, -m, -X and -W take the
            # rest of it, or the next argument.
            for at in range(1, len(arg)):
                letter = arg[at]
                if letter in "cmXW":
                    value = arg[at + 1 :] or next(args, "")
                    if letter == "m":
                        package = value.partition(".")[0]
                        return ("m", package) if package else (None, None)
                    if letter == "c":
                        return None, None
                    break
    return None, None


def _script_tool(path, interpreter, prefix, skip):
    parts = path.split("/")
    for at in range(len(parts) - 1, -1, -1):
        if parts[at] in ("site-packages", "dist-packages"):
            if at + 1 < len(parts) and parts[at + 1] in skip:
                return parts[at + 1]
            break
    name = parts[-1].rstrip("0123456789.")
    if name and name in skip and (
        _in_scripts_dir(path, prefix) or _started_by_shebang(path, interpreter)
    ):
        return name
    return None


def _in_scripts_dir(path, prefix):
    # Compared as normalized absolute paths, no links resolved.
    if path[:1] != "/":
        try:
            path = os.getcwd() + "/" + path
        except OSError:
            return False
    return _normalized(path)[:-1] == _normalized(prefix) + ["bin"]


def _normalized(path):
    # The components with ".", empty ones and ".." (with the one before it)
    # taken out.
    parts = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part and part != ".":
            parts.append(part)
    return parts


def _started_by_shebang(path, interpreter):
    # Whether the script's #! line names the interpreter: then the kernel
    # ran it as a console script of this interpreter, as installers write
    # them. Linux reads at most 256 bytes of that line.
    if not interpreter:
        return False
    try:
        with open(path, "rb") as stream:
            line = stream.read(256).partition(b"\n")[0]
    except OSError:
        return False
    if line[:2] != b"#!":
        return False
    # The kernel skips spaces and tabs before the interpreter.
    rest = line[2:].lstrip(b" \t")
    interpreter = os.fsencode(interpreter)
    after = rest[len(interpreter) : len(interpreter) + 1]
    return rest.startswith(interpreter) and after in (b"", b" ", b"\t", b"\r")


# ---------------------------------------------------------------------------
# registry (crates/bootstrap/src/registry.rs): pending hooks, firing, reports
# ---------------------------------------------------------------------------

_debug = _flag("WRAPT_PATCHES_DEBUG")
_strict = _flag("WRAPT_PATCHES_STRICT")
_lock = allocate_lock()

# target module name -> [(hook, label, origin), ...] in registration order;
# a name is removed when its hooks fire, so the finder's miss path is one
# dict lookup.
_pending = {}

# (target, "module:attr") pairs ever registered: string hooks are
# registered at most once per process, so activation is idempotent.
_string_hooks = set()

# target module name -> the spec of the import its deferred hooks wait for.
_waiting_targets = {}


def _report(message):
    stream = sys.stderr
    if stream is not None:
        stream.write("wrapt-bootstrap: " + message + "\n")


def _resolve(hook):
    if not isinstance(hook, str):
        return hook
    module_name, colon, attributes = hook.partition(":")
    if not colon:
        raise ValueError("hook %r is not of the form 'module:attr'" % (hook,))
    __import__(module_name)
    target = sys.modules[module_name]
    for attribute in attributes.split("."):
        target = getattr(target, attribute)
    return target


def _fire(hook, label, origin, module, name):
    # Resolve and call one hook. A patch module that cannot be imported
    # while another import is running on this thread is tried again once
    # the outermost one has finished (_deferred.py says why), and so are the
    # hooks after it for the same target, to keep their order.
    spec = _waiting_targets.get(name)
    if spec is not None:
        _defer(spec, hook, label, origin, module, name)
        return
    started = _clock() if _debug else 0.0
    try:
        function = _resolve(hook)
    except BaseException as error:
        if isinstance(error, (Exception, SystemExit)):
            from . import _deferred

            spec = _deferred.outermost_import()
            if spec is not None:
                _defer(spec, hook, label, origin, module, name)
                return
        _failed(hook, label, origin, name, _at_startup())
        return
    try:
        function(module)
    except BaseException:
        _failed(hook, label, origin, name, _at_startup())
        return
    if _debug:
        _report(
            "fired hook %s for module '%s' in %.3f ms"
            % (label, name, (_clock() - started) * 1000.0)
        )


def _defer(spec, hook, label, origin, module, name):
    from . import _deferred

    _waiting_targets.setdefault(name, spec)
    # site's own import is startup, where nothing may escape.
    startup = spec.name == "site"

    def retry():
        _waiting_targets.pop(name, None)
        try:
            _resolve(hook)(module)
        except BaseException:
            _failed(hook, label, origin, name, startup or _at_startup())
            return
        if _debug:
            _report("fired hook %s for module '%s' once '%s' was imported" % (label, name, spec.name))

    _deferred.when_imported(spec, retry)
    if _debug:
        _report("hook %s for module '%s' waits until '%s' is imported" % (label, name, spec.name))


def _failed(hook, label, origin, name, startup):
    # Called while an exception is being handled: reports it, or re-raises
    # it. At startup nothing escapes (an exception out of site stops the
    # interpreter). Later, a hook's Exception or SystemExit is reported
    # unless WRAPT_PATCHES_STRICT asks for it; a KeyboardInterrupt is the
    # user's and goes on. Even strict, a patch module that is missing
    # because its distribution's sys.path entry is gone is reported: the
    # process took the environment away on purpose (an isolated build
    # environment drops site-packages after startup).
    error = sys.exc_info()[1]
    if not isinstance(error, (Exception, SystemExit)):
        raise_it = not startup
    else:
        raise_it = not startup and _strict and not _left_behind(error, hook, origin)
    if raise_it:
        raise
    _report("hook %s for module '%s' failed:" % (label, name))
    sys.__excepthook__(*sys.exc_info())


def _left_behind(error, hook, origin):
    # Whether error says the patch module of hook is missing, and the
    # sys.path entry its distribution was found on is no longer there.
    missing = getattr(error, "name", None)
    if origin is None or not isinstance(error, ModuleNotFoundError) or not isinstance(missing, str):
        return False
    if not isinstance(hook, str):
        return False
    module = hook.partition(":")[0]
    return (module == missing or module.startswith(missing + ".")) and origin not in sys.path


def _at_startup():
    # site runs everything at startup from its own import.
    return getattr(getattr(sys.modules.get("site"), "__spec__", None), "_initializing", False)


def _clock():
    # Only for WRAPT_PATCHES_DEBUG: time is a built-in module, cheap to import.
    from time import perf_counter

    return perf_counter()


def register_post_import_hook(hook, name, label=None, origin=None):
    # origin: the sys.path entry the hook's distribution was found on at
    # startup (_failed says why).
    if label is None:
        label = repr(hook)
    with _lock:
        if isinstance(hook, str):
            key = (name, hook)
            if key in _string_hooks:
                return
            _string_hooks.add(key)
        module = sys.modules.get(name)
        if module is None:
            _pending.setdefault(name, []).append((hook, label, origin))
    if module is not None:
        if _debug:
            _report("registered hook %s for module '%s' (already imported: firing now)" % (label, name))
        _fire(hook, label, origin, module, name)
        return
    install_finder()
    if _debug:
        _report("registered hook %s for module '%s'" % (label, name))


def notify_module_loaded(module):
    name = getattr(module, "__name__", None)
    with _lock:
        hooks = _pending.pop(name, None)
    if hooks:
        for hook, label, origin in hooks:
            _fire(hook, label, origin, module, name)


# ---------------------------------------------------------------------------
# finder (crates/bootstrap/src/finder.rs): the import finder, chained loaders
# ---------------------------------------------------------------------------

_in_progress = set()


def _namespace_loader(spec):
    # What importlib's _init_module_attrs does for a spec without a loader.
    external = sys.modules["_frozen_importlib_external"]
    loader_class = getattr(external, "NamespaceLoader", None) or external._NamespaceLoader
    loader = loader_class.__new__(loader_class)
    loader._path = spec.submodule_search_locations
    return loader


class _ChainedLoaderBase:
    """Wraps the real loader for one spec; every other attribute (get_code
    for runpy, get_resource_reader, ...) is the real loader's."""

    def __init__(self, loader, spec, namespace):
        self._loader = loader
        self._spec = spec
        self._namespace = namespace

    def __getattr__(self, name):
        return getattr(object.__getattribute__(self, "_loader"), name)

    def __repr__(self):
        return "<wrapt_bootstrap chained loader for %r>" % (self._loader,)

    def _restore(self, module):
        # Whoever inspects the module afterwards sees the real loader.
        self._spec.loader = self._loader
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = self._loader
        if self._namespace:
            module.__file__ = None


class _ChainedLoader(_ChainedLoaderBase):
    def create_module(self, spec):
        create = getattr(self._loader, "create_module", None)
        return None if create is None else create(spec)

    def exec_module(self, module):
        self._restore(module)
        self._loader.exec_module(module)
        name = self._spec.name
        notify_module_loaded(sys.modules.get(name, module))


class _LegacyChainedLoader(_ChainedLoaderBase):
    # Loaders with only load_module (zipimport on 3.9): importlib picks the
    # protocol with hasattr(loader, "exec_module"), hence a separate class.
    def load_module(self, fullname):
        self._spec.loader = self._loader
        module = self._loader.load_module(fullname)
        self._restore(module)
        notify_module_loaded(sys.modules.get(fullname, module))
        return module


class PostImportFinder:
    """First on sys.meta_path; only ever claims modules with pending hooks."""

    def __repr__(self):
        return "<wrapt_bootstrap post-import finder (fallback)>"

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _pending or fullname in _in_progress:
            # The miss path: None, or the answer of the BuiltinImporter we
            # stand in for (install_finder says why), which is None for a
            # str that is not a built-in module's name (finder.rs, stand_in).
            if _stand_in_for is None or (fullname.__class__ is str and fullname not in _builtin_names):
                return None
            return _stand_in_for(fullname, path, target)
        _in_progress.add(fullname)
        try:
            spec = _find_spec_after(self, fullname, path, target)
        finally:
            _in_progress.discard(fullname)
        if spec is None:
            return None
        loader = spec.loader
        namespace = loader is None and spec.submodule_search_locations is not None
        if namespace:
            loader = _namespace_loader(spec)
        if loader is None:
            return spec
        chained = _ChainedLoader if hasattr(loader, "exec_module") else _LegacyChainedLoader
        spec.loader = chained(loader, spec, namespace)
        return spec


def _find_spec_after(finder, fullname, path, target):
    if _stand_in_for is not None:
        spec = _stand_in_for(fullname, path, target)
        if spec is not None:
            return spec
    meta_path = sys.meta_path
    start = 0
    for index, candidate in enumerate(meta_path):
        if candidate is finder:
            start = index + 1
            break
    for candidate in meta_path[start:]:
        find_spec = getattr(candidate, "find_spec", None)
        if find_spec is None:
            continue
        spec = find_spec(fullname, path, target)
        if spec is not None:
            return spec
    return None


_finder = PostImportFinder()

# BuiltinImporter.find_spec once the finder took BuiltinImporter's place,
# and the names it finds.
_stand_in_for = None
_builtin_names = frozenset(sys.builtin_module_names)


def install_finder():
    # Where sys.meta_path starts with importlib's BuiltinImporter (always at
    # startup), take its place and answer for it: one more entry would cost
    # every import a turn of importlib's finder loop (finder.rs,
    # install_finder). Only that class: another tool's finder may remove
    # itself by identity later.
    global _stand_in_for
    meta_path = sys.meta_path
    if any(finder is _finder for finder in meta_path):
        return
    builtin_importer = getattr(sys.modules.get("_frozen_importlib"), "BuiltinImporter", None)
    if (
        _stand_in_for is None
        and builtin_importer is not None
        and len(meta_path) > 0
        and meta_path[0] is builtin_importer
    ):
        _stand_in_for = builtin_importer.find_spec
        meta_path[0] = _finder
        return
    meta_path.insert(0, _finder)


# ---------------------------------------------------------------------------
# activation (crates/bootstrap/src/activation.rs): the startup decision and scan
# ---------------------------------------------------------------------------

# _decided: the environment was read (once per interpreter, so that a
# warning is printed once); _active: something was enabled and activated.
# What WRAPT_PATCHES_DEBUG alone says is imported from _explain where it is
# said, so that no other start loads it.
_decided = False
_active = False
_selected = ()
_autowrapt_groups = ()

# The program name that made this process a tool process, if one did.
_skipped = None
_seen_dists = set()
_scanned_paths = set()
_entry_counts = {}

# (group, target, hook, already imported): what the ordering doctor of
# wrapt-install --check reports. A hook whose target was already imported
# fires at once, too late for references other code took before.
_registered = []
_OTHER_TOOLS_WARNING = "ignoring group%s %s: other tools' entry points, not patches"


def _argv():
    # This process's command line as sys.orig_argv has it (3.10+); on 3.9,
    # where sys.argv says only "-m" while site runs, as the kernel has it,
    # else the interpreter and what sys.argv does say.
    argv = getattr(sys, "orig_argv", None)
    if argv is not None:
        return argv
    try:
        with open("/proc/self/cmdline", "rb") as stream:
            return [os.fsdecode(arg) for arg in stream.read().split(b"\0")[:-1]]
    except OSError:
        # sys.executable may be None where the interpreter is embedded.
        return [getattr(sys, "executable", None) or ""] + [
            arg for arg in getattr(sys, "argv", ())[:1] if arg not in ("-m", "-c", "")
        ]


def activate(defaults):
    """Decide from the environment and activate, once per interpreter.

    Returns whether it activated now (the caller then arranges the rescan at
    the end of site). A failure after the decision is reported, never
    raised, even under WRAPT_PATCHES_STRICT (which is about hooks).
    """
    global _decided, _active, _selected, _autowrapt_groups, _skipped
    if _decided:
        return False
    _decided = True
    environ = os.environ
    wrapt_patches = environ.get("WRAPT_PATCHES")
    autowrapt_bootstrap = environ.get("AUTOWRAPT_BOOTSTRAP")
    groups, autowrapt_groups, invalid, other_tools = select(wrapt_patches, autowrapt_bootstrap, defaults)
    if invalid:
        _report(
            "ignoring invalid group name%s %s (allowed: letters, digits, '_', '.', '-')"
            % ("s" if len(invalid) > 1 else "", ", ".join(repr(name) for name in invalid))
        )
    if other_tools:
        _report(
            _OTHER_TOOLS_WARNING
            % ("s" if len(other_tools) > 1 else "", ", ".join(repr(name) for name in other_tools))
        )
    if not groups and not autowrapt_groups:
        if _debug:
            from ._explain import explain

            _report(explain(wrapt_patches, autowrapt_bootstrap, defaults, groups, autowrapt_groups))
        return False
    invalid = []
    skip = _edit(environ.get("WRAPT_PATCHES_SKIP"), _DEFAULT_SKIP, invalid) or ()
    if invalid:
        _report("ignoring invalid name%s %s in WRAPT_PATCHES_SKIP"
                % ("s" if len(invalid) > 1 else "", ", ".join(repr(name) for name in invalid)))
    if skip:
        name = tool(_argv(), sys.prefix, environ, skip)
        if name is not None:
            if _debug:
                _report("%s is a tool process (WRAPT_PATCHES_SKIP): no patches here" % name)
            _skipped = name
            return False
    _active = True
    try:
        if _debug:
            from ._explain import explain

            _report(explain(wrapt_patches, autowrapt_bootstrap, defaults, groups, autowrapt_groups))
            _report(
                "implementation fallback; groups %s%s"
                % (
                    ", ".join(groups) or "(none)",
                    "; AUTOWRAPT_BOOTSTRAP groups " + ", ".join(autowrapt_groups)
                    if autowrapt_groups
                    else "",
                )
            )
        for group in groups + autowrapt_groups:
            _entry_counts[group] = 0
        _selected = tuple(groups)
        _autowrapt_groups = tuple(autowrapt_groups)
        install_finder()
        _scan_new_paths()
        # At startup, site has more to add to sys.path: rescan says it then.
        if _debug and not _at_startup():
            from ._explain import report_missing_groups

            report_missing_groups()
    except BaseException:
        _report("activation failed; the application continues without patches:")
        sys.__excepthook__(*sys.exc_info())
        return False
    return True


def rescan():
    """Register the enabled groups' entry points on new sys.path entries.

    Run at activation, and again when site has finished (later .pth path
    lines, user site-packages and sitecustomize may add entries); nothing
    before an activation. The first distribution of a name wins, as in
    importlib.metadata. Only str entries count, as for importlib's
    PathFinder: anything else (bytes, even unhashable objects) is skipped.
    """
    if not _active:
        return
    try:
        _scan_new_paths()
        if _debug:
            from ._explain import report_missing_groups

            report_missing_groups()
    except BaseException:
        # Run from site, which an exception would stop.
        _report("rescan at the end of site failed:")
        sys.__excepthook__(*sys.exc_info())


def _scan_new_paths():
    paths = [path for path in sys.path if isinstance(path, str) and path not in _scanned_paths]
    if paths:
        _scanned_paths.update(paths)
        groups = list(_selected) + [g for g in _autowrapt_groups if g not in _selected]
        _scan_and_register(groups, paths, _seen_dists)


def discover(group):
    """Register every entry point of ``group`` found on sys.path now (none
    of other tools' groups, as at startup)."""
    if _is_other_tools_group(group):
        _report(_OTHER_TOOLS_WARNING % ("", repr(group)))
        return
    _scan_and_register([group], list(sys.path), set())


def _scan_and_register(groups, paths, seen):
    # Scan paths for groups, register what is found and count it in
    # _entry_counts; seen holds the distribution names already taken.
    # Problems are only ever reported inside the requested groups' sections,
    # so they are about the user's own patches: always worth a line.
    # autowrapt, when installed, owns AUTOWRAPT_BOOTSTRAP: its groups are
    # left to it, so that no hook fires twice.
    entries, problems = scan(groups, paths, seen)
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
        register_post_import_hook(
            value,
            name,
            "'%s' (group '%s', entry '%s')" % (value, group, name),
            os.path.dirname(dist_dir),
        )
        _entry_counts[group] = _entry_counts.get(group, 0) + 1


def _is_dotted_name(text):
    for part in text.split("."):
        if not part.isidentifier():
            return False
    return True


def status():
    """What wrapt-install --check reports of this interpreter."""
    return {
        "active": _active,
        "selected": list(_selected),
        "skipped_as_tool": _skipped,
        "entry_points": dict(_entry_counts),
        "registered": [
            {"group": group, "target": target, "hook": hook, "late": late}
            for group, target, hook, late in _registered
        ],
    }
