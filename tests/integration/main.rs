//! Integration tests: real virtual environments made by every CPython
//! 3.9–3.15 found, the real `wrapt-install` / `wrapt-uninstall` binaries, and
//! real interpreters started as subprocesses. No mocks of Python.

mod activation;
mod discover;
mod doctor;
mod editable;
mod errors;
mod gate;
mod grammar;
mod hooks;
mod hostile;
mod install;
mod integrity;
mod json;
mod output;
mod readme;
mod scan;
mod sitecustomize;
mod startup;
mod support;
mod targets;
mod tools;
mod transaction;
mod typos;
