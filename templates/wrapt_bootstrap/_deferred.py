# Hooks whose patch module cannot be imported while another module's import
# is still running on the same thread are tried again once the outermost
# such import has finished. Shared by both implementations: the fallback
# imports this module, the native module compiles the same source (embedded
# at build time), in both cases only when a hook first needs it.
#
# Why: a hook fires right after its target's code has executed, which is
# often in the middle of another module's import (logging imports string).
# A patch module that imports libraries then may reach the half-built
# importer (wrapt -> asyncio -> concurrent.futures calls
# logging.getLogger before logging has defined it) and fail to import; and
# at interpreter startup, site itself is the import in progress, and an
# editable install's path or finder may not be there yet. Once the outermost
# import has finished, the patch module imports. Hooks that can be
# resolved still fire at once: only a failed resolution is deferred, so the
# ordering guarantee holds wherever the patch can load.

import sys

# id(spec) -> [spec, its class before ours, callbacks]
_waiting = {}
# Each spec class -> the subclass that tells us when an import finishes.
_watching_classes = {}


def outermost_import():
    # The spec of the outermost module whose code an import is executing on
    # this thread (a "<module>" frame whose module's spec importlib marks
    # _initializing), or None.
    found = None
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            spec = frame.f_globals.get("__spec__")
            if getattr(spec, "_initializing", False):
                found = spec
        frame = frame.f_back
    return found


def when_imported(spec, callback):
    # Calls callback() once the import of `spec` has finished, well or not:
    # importlib's _load_unlocked sets spec._initializing = False in a
    # finally, after the module's code has run and the module has moved to
    # the end of sys.modules. An instance's class can be swapped for a
    # subclass that watches that one attribute, and swapped back then; no
    # other import pays anything.
    key = id(spec)
    waiting = _waiting.get(key)
    if waiting is None:
        original = type(spec)
        watching = _watching_classes.get(original)
        if watching is None:
            watching = type(original.__name__, (original,), {"__setattr__": _setattr})
            watching.__module__ = original.__module__
            _watching_classes[original] = watching
        waiting = _waiting[key] = [spec, original, []]
        spec.__class__ = watching
    waiting[2].append(callback)


def _setattr(spec, name, value):
    waiting = _waiting.get(id(spec))
    original = waiting[1] if waiting is not None else type(spec).__mro__[1]
    original.__setattr__(spec, name, value)
    if name != "_initializing" or value or waiting is None:
        return
    del _waiting[id(spec)]
    spec.__class__ = original
    # Every callback runs; the first error (a strict hook's) is raised last.
    error = None
    for callback in waiting[2]:
        try:
            callback()
        except BaseException as raised:
            if error is None:
                error = raised
    if error is not None:
        raise error
