//! Human messages on stdout (silenced by `-q`, or replaced by one JSON
//! object with `--json`), warnings and problems on stderr. The labels of
//! stderr lines are coloured as `--color` says (by default on a terminal,
//! without `NO_COLOR`); `anstream` strips the colour where it is off.
//!
//! Output that cannot be written never panics. A reader that went away
//! (`| head`) ends stdout quietly, as it does for `git` and `rg`; any other
//! failure to write stdout is kept for [`stdout_failure`], since a lost
//! report must not read as success. Stderr is written as well as it can
//! be: there is nowhere left to say that it failed.

use std::fmt::Display;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

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

/// [`lossy_path`] for an optional list of paths (`null` without one).
#[allow(clippy::ref_option)] // serde's serialize_with passes &Option<T>.
pub fn lossy_paths_opt<S: Serializer>(
    paths: &Option<Vec<std::path::PathBuf>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match paths {
        Some(paths) => serializer.collect_seq(paths.iter().map(|p| p.to_string_lossy())),
        None => serializer.serialize_none(),
    }
}

/// The error of a failed run, as `--json` gives it (`error`, else null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorReport {
    /// [`Error::code`](crate::error::Error::code).
    pub code: &'static str,
    pub exit_code: u8,
    pub message: String,
}

impl From<&crate::error::Error> for ErrorReport {
    fn from(err: &crate::error::Error) -> Self {
        ErrorReport {
            code: err.code(),
            exit_code: err.exit_code(),
            message: err.to_string(),
        }
    }
}

/// The keys every `--json` object starts with, in this order.
#[derive(Debug, Clone, Serialize)]
pub struct Head {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `install` (`--dry-run` included), `uninstall`, `check` or `list`.
    pub command: &'static str,
    /// It did, or would do, all it set out to.
    pub ok: bool,
    /// Why not: the error that ended the run, `null` until then.
    pub error: Option<ErrorReport>,
    /// The wrapt-bootstrap version this wrapt-install installs.
    pub version: &'static str,
}

impl Head {
    /// The head of a run that has not ended yet.
    pub fn new(command: &'static str) -> Self {
        Head {
            schema_version: SCHEMA_VERSION,
            command,
            ok: false,
            error: None,
            version: crate::plan::VERSION,
        }
    }

    /// Ends it with the run's outcome: ok, or the error.
    pub fn outcome(&mut self, error: Option<&crate::error::Error>) {
        self.ok = error.is_none();
        self.error = error.map(ErrorReport::from);
    }

    /// The head of a run stopped by `error`.
    pub fn failed(command: &'static str, error: ErrorReport) -> Self {
        Head {
            error: Some(error),
            ..Head::new(command)
        }
    }
}

/// Which environment a run acted on, in every command's `--json` report:
/// null until the target is known.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Environment {
    #[serde(serialize_with = "lossy_path_opt")]
    pub purelib: Option<PathBuf>,
    #[serde(serialize_with = "lossy_path_opt")]
    pub interpreter: Option<PathBuf>,
    pub python: Option<String>,
}

impl Environment {
    pub fn of(layout: &crate::target::Layout) -> Self {
        Environment {
            purelib: Some(layout.purelib.clone()),
            interpreter: Some(layout.interpreter.clone()),
            python: Some(layout.info.description()),
        }
    }

    pub fn purelib(&self) -> std::path::Display<'_> {
        self.purelib.as_deref().unwrap_or(Path::new("")).display()
    }

    pub fn interpreter(&self) -> std::path::Display<'_> {
        self.interpreter
            .as_deref()
            .unwrap_or(Path::new(""))
            .display()
    }

    pub fn python(&self) -> &str {
        self.python.as_deref().unwrap_or_default()
    }
}

/// Stdout's reader went away: nothing more is written to it.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// The first failure to write stdout other than a closed pipe.
static STDOUT_FAILED: Mutex<Option<std::io::Error>> = Mutex::new(None);
/// The `--json` object was written (or lost trying): a failed run then
/// carries its error in that object instead of a second one.
static JSON_WRITTEN: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout, flushed at once so that a failure is seen
/// while it can still change the exit code.
pub fn write_stdout(text: &[u8]) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(err) = stdout.write_all(text).and_then(|()| stdout.flush()) {
        // Nothing more either way: what followed a lost line would read as
        // the whole of the output.
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        if err.kind() != std::io::ErrorKind::BrokenPipe {
            let mut failed = STDOUT_FAILED
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            failed.get_or_insert(err);
        }
    }
}

/// One line on stdout.
fn println_stdout(line: impl Display) {
    write_stdout(format!("{line}\n").as_bytes());
}

/// One line on stderr, coloured as `--color` says; a failure to write it
/// is ignored, since stderr is where it would be reported.
pub fn eprintln(line: impl Display) {
    let _ = writeln!(anstream::stderr(), "{line}");
}

/// Why stdout could not be written, if it could not (a closed pipe is not
/// a failure).
pub fn stdout_failure() -> Option<std::io::Error> {
    STDOUT_FAILED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
}

/// Whether the `--json` object was written.
pub fn json_written() -> bool {
    JSON_WRITTEN.load(Ordering::Relaxed)
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
            println_stdout(msg);
        }
    }

    /// A per-file line, with `-v`.
    pub fn detail(&self, msg: impl Display) {
        if !self.json && self.verbosity >= Verbosity::Verbose {
            println_stdout(msg);
        }
    }

    pub fn warn(&self, msg: impl Display) {
        if self.verbosity >= Verbosity::Normal {
            eprintln(format_args!(
                "{}: {}: {msg}",
                self.program,
                label(Label::Warning)
            ));
        }
    }

    /// One finding of `--check`; shown even with `-q`, not with `-qq`.
    pub fn problem(&self, msg: impl Display) {
        if self.verbosity >= Verbosity::Quiet {
            eprintln(format_args!(
                "{}: {}: {msg}",
                self.program,
                label(Label::Problem)
            ));
        }
    }

    /// What the tool is about to do that the caller should know of (on
    /// stderr, so that `--json` output stays one object).
    pub fn notice(&self, msg: impl Display) {
        if self.verbosity >= Verbosity::Normal {
            eprintln(format_args!("{}: {msg}", self.program));
        }
    }

    pub fn waiting(&self, purelib: &Path) {
        if self.verbosity >= Verbosity::Normal {
            eprintln(format_args!(
                "{}: waiting for another wrapt-install or wrapt-uninstall to finish with {}",
                self.program,
                purelib.display()
            ));
        }
    }

    /// The one JSON object of `--json` (nothing without `--json`).
    pub fn json(&self, value: &impl Serialize) -> Result<()> {
        if !self.json {
            return Ok(());
        }
        let text = serde_json::to_string_pretty(value)?;
        JSON_WRITTEN.store(true, Ordering::Relaxed);
        println_stdout(text);
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

/// Applies the output flags to the whole process (the colour of every
/// stderr line, `anstream`'s global choice, and whether each command run
/// is shown), and gives the run its [`Output`].
pub fn configure(program: &'static str, args: &crate::cli::OutputArgs) -> Output {
    let choice = match args.color {
        clap::ColorChoice::Auto => anstream::ColorChoice::Auto,
        clap::ColorChoice::Always => anstream::ColorChoice::Always,
        clap::ColorChoice::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
    let verbosity = Verbosity::from(args);
    if verbosity >= Verbosity::Commands {
        let _ = SHOW_COMMANDS.set(program);
    }
    Output {
        program,
        verbosity,
        json: args.json,
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
    eprintln(format_args!("{program}: running {}{dir}", words.join(" ")));
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
