//! Human messages on stdout (silenced by `-q`, or replaced by one JSON
//! object with `--json`), warnings and problems on stderr. A closed stdout
//! (`| head`) is not an error worth a panic: writes ignore it. The labels of
//! stderr lines are coloured only on a terminal and without `NO_COLOR`.

use std::fmt::Display;
use std::io::{IsTerminal as _, Write as _};
use std::path::Path;

use serde::{Serialize, Serializer};

use crate::error::Result;
use crate::options::Verbosity;

/// The shape of every `--json` object, raised when a key changes meaning
/// or goes away (new keys do not raise it).
pub const SCHEMA_VERSION: u32 = 1;

/// A problem or a warning, as `--json` gives it: a stable `code` to match
/// on, the file or directory it is about where there is one, and the
/// sentence the human output prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: &'static str,
    #[serde(serialize_with = "lossy_path_opt")]
    pub path: Option<std::path::PathBuf>,
    pub message: String,
}

/// A path as a JSON string. JSON strings are Unicode, so a path that is not
/// UTF-8 keeps its valid parts and has U+FFFD for each undecodable byte
/// sequence, rather than failing the whole output.
pub fn lossy_path<S: Serializer>(path: &Path, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&path.to_string_lossy())
}

/// [`lossy_path`] for an optional path (`null` without one).
#[allow(clippy::ref_option)] // serde's serialize_with passes &Option<T>.
pub fn lossy_path_opt<S: Serializer>(
    path: &Option<std::path::PathBuf>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match path {
        Some(path) => lossy_path(path, serializer),
        None => serializer.serialize_none(),
    }
}

/// [`lossy_path`] for a list of paths.
pub fn lossy_paths<S: Serializer>(
    paths: &[std::path::PathBuf],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(paths.iter().map(|p| p.to_string_lossy()))
}

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
