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

if b"WRAPT_PATCHES" in posix.environ or b"AUTOWRAPT_BOOTSTRAP" in posix.environ:
    try:
        import wrapt_bootstrap
    except Exception:
        pass


def _displaced(sys, posix):
    # The spec of the sitecustomize this package hides, or None.
    machinery = sys.modules[type(__loader__).__module__]
    parent = __path__[0].rpartition("/")[0]
    beside = parent + "/sitecustomize.py"
    try:
        posix.stat(beside)
    except OSError:
        pass
    else:
        return machinery.spec_from_file_location("sitecustomize", beside)
    mine = posix.stat(__file__)
    later = sys.path[sys.path.index(parent) + 1 :] if parent in sys.path else ()
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


def _customize(sys, posix):
    # Both modules are arguments: the code run here shares this module's
    # namespace, and may well end with `del sys`.
    try:
        spec = _displaced(sys, posix)
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


_customize(sys, posix)
