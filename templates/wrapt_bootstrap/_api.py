"""The public API of ``wrapt_bootstrap``, compatible with wrapt's.

``register_post_import_hook``, ``when_imported``,
``discover_post_import_hooks`` and ``notify_module_loaded``, plus
``_status()`` for ``wrapt-install --check``. They are attributes of the
package itself (``wrapt_bootstrap.when_imported``), loaded on first use so
that interpreter startup does not pay for them.
"""

import wrapt_bootstrap as _package


def register_post_import_hook(hook, name):
    """Call ``hook(module)`` once module ``name`` has been imported.

    ``hook`` is a callable or a ``"module:attr.path"`` string resolved when
    the target is imported. A target already imported fires at once.
    """
    _package._load_impl().register_post_import_hook(hook, name)


def when_imported(name):
    """Decorator form of :func:`register_post_import_hook`."""

    def register(hook):
        register_post_import_hook(hook, name)
        return hook

    return register


def discover_post_import_hooks(group):
    """Register every entry point of ``group`` found on ``sys.path`` now."""
    _package._load_impl().discover(group)


def notify_module_loaded(module):
    """Fire the hooks registered for ``module`` (for custom loaders)."""
    _package._load_impl().notify_module_loaded(module)


def _status():
    """What wrapt-install --check reports."""
    impl = _package._load_impl()
    status = impl.status()
    status.update(
        version=_package.__version__,
        implementation=impl.IMPLEMENTATION,
        defaults=list(_package._DEFAULT_GROUPS),
        file=_package.__file__,
    )
    return status
