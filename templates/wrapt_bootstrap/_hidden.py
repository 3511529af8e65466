# When our sitecustomize package (--mode sitecustomize) is hidden by another
# sitecustomize that Python imports in its place: one that a wrapper command
# puts on PYTHONPATH, which comes before site-packages on sys.path.
# ddtrace-run's runs the next sitecustomize on sys.path after its own start,
# so ours runs late; opentelemetry-instrument's runs none, so ours never runs
# and OpenTelemetry's entry point below activates instead. Written in every
# mode (an activation file earlier than any sitecustomize makes it a
# no-op); loaded by OpenTelemetry's entry point, and by our sitecustomize
# under WRAPT_PATCHES_DEBUG.

import os
import sys

import wrapt_bootstrap


def opentelemetry_pre_instrument():
    # Entry point of OpenTelemetry's group opentelemetry_pre_instrument,
    # which its sitecustomize calls (opentelemetry-instrumentation 0.25b0
    # and later) after configuring OpenTelemetry and before any
    # instrumentor. Importing wrapt_bootstrap to get here activated it:
    # where ours ran, or a .pth line or .start entry point, that was a
    # no-op. Never raises: an exception would end OpenTelemetry's
    # initialisation.
    try:
        if wrapt_bootstrap._impl is None or not wrapt_bootstrap._flag("WRAPT_PATCHES_DEBUG"):
            return
        hider = getattr(getattr(sys.modules.get("sitecustomize"), "__spec__", None), "origin", None)
        ours = os.path.join(os.path.dirname(os.path.dirname(__file__)), "sitecustomize", "__init__.py")
        if hider and os.path.exists(ours) and not os.path.samefile(hider, ours):
            wrapt_bootstrap._report(
                "%s hides our sitecustomize package and runs no other: activated from"
                " OpenTelemetry's opentelemetry_pre_instrument entry point instead, after"
                " OpenTelemetry's configuration (hooks on what that imported are late)" % hider
            )
    except Exception:
        pass


def report_runner(frame):
    # Under WRAPT_PATCHES_DEBUG, from our sitecustomize package once it has
    # activated, `frame` being its module's: names the sitecustomize that
    # imported it, if another one did rather than site. Between the two
    # are importlib's frames, and those of any loader wrapped around it
    # (ddtrace wraps them).
    if not wrapt_bootstrap._flag("WRAPT_PATCHES_DEBUG"):
        return
    frame = frame.f_back
    while frame is not None and frame.f_globals.get("__name__") not in ("site", "sitecustomize"):
        frame = frame.f_back
    if frame is not None and frame.f_globals.get("__name__") == "sitecustomize":
        wrapt_bootstrap._report(
            "%s hides our sitecustomize package and ran it after itself: activated late"
            " (hooks on what it imported are late)" % frame.f_code.co_filename
        )
