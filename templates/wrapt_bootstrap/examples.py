"""Group ``wrapt_bootstrap.examples``: the classic ``tempfile.mkdtemp`` patch.

Enable it with ``WRAPT_PATCHES=wrapt_bootstrap.examples``; importing
``tempfile`` then reports ``patching tempfile`` and every ``mkdtemp()`` call
reports ``calling mkdtemp``, on stderr (stdout belongs to the application).
Even ``from tempfile import mkdtemp`` done before any patch code could run
gets the wrapper, because the hook fires before the importer returns.
"""

import sys


def patch_tempfile(module):
    sys.stderr.write("patching tempfile\n")
    original = module.mkdtemp

    def mkdtemp(*args, **kwargs):
        sys.stderr.write("calling mkdtemp\n")
        return original(*args, **kwargs)

    # functools is not loaded at startup; copy what functools.wraps would.
    for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(mkdtemp, attribute, getattr(original, attribute))
    mkdtemp.__wrapped__ = original
    module.mkdtemp = mkdtemp
