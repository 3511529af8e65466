//! Human messages on stdout (silenced by `-q`, or replaced by one JSON
//! object with `--json`), warnings and problems on stderr. A closed stdout
//! (`| head`) is not an error worth a panic: writes ignore it. The labels of
//! stderr lines are coloured only on a terminal and without `NO_COLOR`.

use std::fmt::Display;
use std::io::{IsTerminal as _, Write as _};
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
            eprintln!("{}: {}: {msg}", self.program, label("warning"));
        }
    }

    /// One finding of `--check`; shown even with `-q`.
    pub fn problem(&self, msg: impl Display) {
        eprintln!("{}: {}: {msg}", self.program, label("problem"));
    }

    /// What the tool is about to do that the caller should know of (on
    /// stderr, so that `--json` output stays one object).
    pub fn notice(&self, msg: impl Display) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{}: {msg}", self.program);
        }
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

/// `error`, `warning` or `problem` as stderr shows it: bold red or yellow
/// on a terminal, plain where `NO_COLOR` is set (<https://no-color.org>:
/// to anything but the empty string) or stderr is a pipe or a file.
pub fn label(kind: &str) -> String {
    let colour = match kind {
        "warning" => "33",
        _ => "31",
    };
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if no_color || !std::io::stderr().is_terminal() {
        kind.to_owned()
    } else {
        format!("\x1b[1;{colour}m{kind}\x1b[0m")
    }
}
