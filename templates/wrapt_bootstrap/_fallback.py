"""Pure-Python hook registry, import finder and entry-point scan.

The same semantics as the native module (``crates/bootstrap``), for the
interpreters that cannot load it: PyPy, free-threaded builds, isolated
subinterpreters, or ``WRAPT_PATCHES_PURE=1``. The integration tests run the
whole hook suite against both.

State is per interpreter (this module is imported once per interpreter).
Hooks always run with no lock of ours held: wrapt PR #217 and mlflow's
vendored copy of it deadlocked when a hook imported something.
"""

import os
import sys
from _thread import allocate_lock

IMPLEMENTATION = "fallback"

_debug = False
_strict = False
_lock = allocate_lock()
# target module name -> [(hook, label), ...] in registration order; a name is
# removed when its hooks fire, so the finder's miss path is one dict lookup.
_pending = {}
# (target, "module:attr") pairs ever registered: string hooks are
# registered at most once per process, so activation is idempotent.
_string_hooks = set()
_in_progress = set()


def configure(debug, strict):
    global _debug, _strict
    _debug = bool(debug)
    _strict = bool(strict)


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


def _fire(hook, label, module, name):
    started = _clock() if _debug else 0.0
    try:
        _resolve(hook)(module)
    except Exception:
        if _strict:
            raise
        _report("hook %s for module '%s' failed:" % (label, name))
        sys.__excepthook__(*sys.exc_info())
        return
    if _debug:
        _report(
            "fired hook %s for module '%s' in %.3f ms"
            % (label, name, (_clock() - started) * 1000.0)
        )


def _clock():
    # Only for WRAPT_PATCHES_DEBUG: time is a built-in module, cheap to import.
    from time import perf_counter

    return perf_counter()


def register_post_import_hook(hook, name, label=None):
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
            _pending.setdefault(name, []).append((hook, label))
    if module is not None:
        if _debug:
            _report("registered hook %s for module '%s' (already imported: firing now)" % (label, name))
        _fire(hook, label, module, name)
        return
    install_finder()
    if _debug:
        _report("registered hook %s for module '%s'" % (label, name))


def notify_module_loaded(module):
    name = getattr(module, "__name__", None)
    with _lock:
        hooks = _pending.pop(name, None)
    if hooks:
        for hook, label in hooks:
            _fire(hook, label, module, name)


def pending():
    with _lock:
        return {name: len(hooks) for name, hooks in _pending.items()}


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
            # stand in for (install_finder says why).
            stand_in_for = _stand_in_for
            return None if stand_in_for is None else stand_in_for(fullname, path, target)
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


# BuiltinImporter.find_spec once the finder took BuiltinImporter's place.
_stand_in_for = None


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


def _normalized_dist_name(dir_name):
    # importlib.metadata: the stem's part before the first "-", runs of
    # "-_." folded, then lowercased (the order matters for a final sigma).
    for suffix in (".dist-info", ".egg-info"):
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


def scan(groups, paths, seen):
    """Entry points of ``groups`` in the distributions on ``paths``.

    Returns ``(entries, problems)``; ``entries`` are ``(group, name, value,
    dist_dir)`` in path order, then sorted distribution order, then file
    order. ``seen`` holds the normalized names already taken and is updated.
    """
    wanted = set(groups)
    entries = []
    problems = []
    for path in paths:
        if not isinstance(path, str):
            continue  # importlib's PathFinder skips bytes and other objects too
        try:
            children = sorted(os.listdir(path or "."))
        except (OSError, ValueError):
            continue
        for child in children:
            dist_name = _normalized_dist_name(child)
            if dist_name is None or dist_name in seen:
                continue
            seen.add(dist_name)
            dist_dir = os.path.join(path, child)
            source = os.path.join(dist_dir, "entry_points.txt")
            try:
                with open(source, "rb") as stream:
                    data = stream.read()
            except OSError:
                continue  # no entry points (or an egg-info file)
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
