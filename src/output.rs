//! Human messages on stdout (silenced by `-q`, or replaced by one JSON
//! object with `--json`), warnings and problems on stderr. A closed stdout
//! (`| head`) is not an error worth a panic: writes ignore it.

use std::fmt::Display;
use std::io::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::options::Verbosity;

#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// `wrapt-install` or `wrapt-uninstall`, prefixed to stderr lines.
    pub program: &'static str,
    pub verbosity: Verbosity,
    pub json: bool,
}

impl Output {
    fn human(&self) -> bool {
        !self.json && self.verbosity >= Verbosity::Normal
    }

    /// A normal message.
    pub fn info(&self, msg: impl Display) {
        if self.human() {
            let _ = writeln!(std::io::stdout(), "{msg}");
        }
    }

    /// A per-file line, with `-v`.
    pub fn detail(&self, msg: impl Display) {
        if !self.json && self.verbosity >= Verbosity::Verbose {
            let _ = writeln!(std::io::stdout(), "{msg}");
        }
    }

    pub fn warn(&self, msg: impl Display) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{}: warning: {msg}", self.program);
        }
    }

    /// One finding of `--check`; shown even with `-q`.
    pub fn problem(&self, msg: impl Display) {
        eprintln!("{}: problem: {msg}", self.program);
    }

    pub fn waiting(&self, purelib: &Path) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!(
                "{}: waiting for another wrapt-install or wrapt-uninstall to finish with {}",
                self.program,
                purelib.display()
            );
        }
    }

    /// The one JSON object of `--json` (nothing without `--json`).
    pub fn json(&self, value: &impl Serialize) -> Result<()> {
        if !self.json {
            return Ok(());
        }
        let text = serde_json::to_string_pretty(value)?;
        let _ = writeln!(std::io::stdout(), "{text}");
        Ok(())
    }
}
