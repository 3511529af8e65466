# The PEP 829 entry point of 00_wrapt_bootstrap.start, installed by
# wrapt-install where site ignores .pth import lines (CPython 3.18+), or
# with --mode start (3.15+).
#
# site prints a traceback for an entry point it cannot import or that
# raises, so the entry point is not in wrapt_bootstrap itself: it is here,
# and it guards the import of wrapt_bootstrap as the .pth line does, so that
# a package left missing, empty or broken stays silent. wrapt-install writes
# this package before the .start file and removes it after, so the .start
# file never names a module that is not there.
#
# site imports this at every start. With no default groups the .start file
# names activate_when_set, which imports wrapt_bootstrap only when one of
# the two variables is set; with defaults, activate, which always does.
# Importing wrapt_bootstrap activates it: it decides the rest (the kill
# switch first), exactly as from the .pth line.

import posix


def activate_when_set():
    environ = posix.environ
    if b"WRAPT_PATCHES" in environ or b"AUTOWRAPT_BOOTSTRAP" in environ:
        activate()


def activate():
    try:
        import wrapt_bootstrap
    except BaseException:
        pass
