#!/bin/sh
# The RUN steps of the `build` stage of the Dockerfile in docs/containers.md,
# in order, for building the same environment without Docker (a VM image, a
# CI job, a buildpack). Run it in the application's directory (the
# Dockerfile's WORKDIR /app), with python3, uv and wrapt-install on PATH.
# tests/wheel/container.rs checks that these lines are the Dockerfile's and
# runs them.
set -eu
python3 -m venv --without-pip .venv
uv pip sync --python .venv/bin/python requirements.txt
wrapt-install --venv .venv --enable acme.patches
wrapt-install --venv .venv --check
