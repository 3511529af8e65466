//! Human messages on stdout (silenced by `-q`, or replaced by one JSON
//! object with `--json`), warnings and problems on stderr. A closed stdout
//! (`| head`) is not an error worth a panic: writes ignore it. The labels of
//! stderr lines are coloured as `--color` says (by default on a terminal,
//! without `NO_COLOR`); `anstream` strips the colour where it is off.

use std::fmt::Display;
use std::io::Write as _;
use std::path::Path;
use std::sync::OnceLock;

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
            anstream::eprintln!("{}: {}: {msg}", self.program, label(Label::Warning));
        }
    }

    /// One finding of `--check`; shown even with `-q`, not with `-qq`.
    pub fn problem(&self, msg: impl Display) {
        if self.verbosity >= Verbosity::Quiet {
            anstream::eprintln!("{}: {}: {msg}", self.program, label(Label::Problem));
        }
    }

    /// What the tool is about to do that the caller should know of (on
    /// stderr, so that `--json` output stays one object).
    pub fn notice(&self, msg: impl Display) {
        if self.verbosity >= Verbosity::Normal {
            anstream::eprintln!("{}: {msg}", self.program);
        }
    }

    pub fn waiting(&self, purelib: &Path) {
        if self.verbosity >= Verbosity::Normal {
            anstream::eprintln!(
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

/// The kinds of stderr line that carry a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Error,
    Warning,
    Problem,
}

/// `error`, `warning` or `problem`, styled: bold red, or bold yellow for a
/// warning. Printed through `anstream`, which strips the style where
/// colour is off.
pub fn label(kind: Label) -> String {
    let (text, colour) = match kind {
        Label::Error => ("error", anstyle::AnsiColor::Red),
        Label::Warning => ("warning", anstyle::AnsiColor::Yellow),
        Label::Problem => ("problem", anstyle::AnsiColor::Red),
    };
    let style = anstyle::Style::new().bold().fg_color(Some(colour.into()));
    format!("{style}{text}{style:#}")
}

/// With `-vv`, the program name that shows each command run: those lines
/// are written from wherever a command is run, so the setting is the
/// process's, like the colour choice.
static SHOW_COMMANDS: OnceLock<&'static str> = OnceLock::new();

/// Applies the output flags to the whole process: the colour of every
/// stderr line (`anstream`'s global choice), and whether each command run
/// is shown.
pub fn configure(program: &'static str, args: &crate::cli::OutputArgs) {
    let choice = match args.color {
        clap::ColorChoice::Auto => anstream::ColorChoice::Auto,
        clap::ColorChoice::Always => anstream::ColorChoice::Always,
        clap::ColorChoice::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
    if Verbosity::from(args) >= Verbosity::Commands {
        let _ = SHOW_COMMANDS.set(program);
    }
}

/// With `-vv`, the command about to run, on stderr: the variables it sets,
/// the program and its arguments (a script passed with `-c` cut to its
/// first line), and the directory it runs in.
pub fn show_command(cmd: &std::process::Command) {
    let Some(program) = SHOW_COMMANDS.get() else {
        return;
    };
    let mut words: Vec<String> = cmd
        .get_envs()
        .filter_map(|(key, value)| {
            value.map(|value| format!("{}={}", key.to_string_lossy(), quote(value)))
        })
        .collect();
    words.push(quote(cmd.get_program()));
    words.extend(cmd.get_args().map(quote));
    let dir = cmd
        .get_current_dir()
        .map(|dir| format!(" (in {})", dir.display()))
        .unwrap_or_default();
    anstream::eprintln!("{program}: running {}{dir}", words.join(" "));
}

/// A word as a shell would need it, for reading rather than pasting: of a
/// script, its first line, followed by `…`.
fn quote(word: &std::ffi::OsStr) -> String {
    let text = word.to_string_lossy();
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    let first = lines.next().unwrap_or_default();
    let cut = if lines.next().is_some() { "…" } else { "" };
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-=:,+@%".contains(c);
    if !first.is_empty() && cut.is_empty() && first.chars().all(plain) {
        first.to_owned()
    } else {
        format!("'{}{cut}'", first.replace('\'', "'\\''"))
    }
}
