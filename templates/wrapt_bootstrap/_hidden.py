# When our sitecustomize package (--mode sitecustomize) is hidden by another
# sitecustomize that Python imports in its place: one that a wrapper command
# puts on PYTHONPATH, which comes before site-packages on sys.path.
# opentelemetry-instrument's runs no other sitecustomize, so ours never
# runs, and OpenTelemetry's entry point below activates instead. Written in
# sitecustomize mode only; loaded by OpenTelemetry's entry point.

import os
import sys

import wrapt_bootstrap


def opentelemetry_pre_instrument():
    # Entry point of OpenTelemetry's group opentelemetry_pre_instrument,
    # which its sitecustomize calls (opentelemetry-instrumentation 0.25b0
    # and later) after configuring OpenTelemetry and before any
    # instrumentor. Importing wrapt_bootstrap to get here activated it:
    # where ours ran, that was a no-op. Never raises: an exception would end
    # OpenTelemetry's initialisation.
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

