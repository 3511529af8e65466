//! The Python packaging of the tool: the wheel maturin builds from this
//! checkout and from its sdist, installed by pip, pipx and uv as a tool
//! environment that serves other environments, and the container recipe of
//! `docs/containers.md` run as an image build would run it.
//!
//! A test target of its own: a release build takes minutes, and Cargo runs
//! test targets one after another, so it never competes with the
//! integration tests for the CPU. Its build directory lives under
//! `target/tmp/wheel` and is reused by the next run.

mod container;
mod packaging;
// The integration tests' helpers: real venvs, snapshots, interpreters. This
// target uses only some of them.
#[allow(dead_code)]
#[path = "../integration/support.rs"]
mod support;
mod wheel;
