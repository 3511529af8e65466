//! Running a Python interpreter: the command with the flags each caller
//! needs and none of the caller's Python variables ([`isolated`],
//! [`cleaned`]), its output captured ([`output`], [`started`]), and what
//! it printed quoted in a one-line error ([`last_line`], [`one_line`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::error::{Error, Result};

/// `interpreter -I -S`, from `/`, with the caller's Python variables
/// cleared: nothing from the environment runs, not its `.pth` files, not
/// its `sitecustomize`, and nothing from the caller's environment or
/// working directory. The caller adds `-c SCRIPT` (and any `-X` option).
pub fn isolated(interpreter: &Path) -> Command {
    let mut cmd = cleaned(interpreter);
    cmd.args(["-I", "-S"]).current_dir("/");
    cmd
}

/// `interpreter` with the caller's Python variables cleared, and the
/// flags left to the caller.
pub fn cleaned(interpreter: &Path) -> Command {
    let mut cmd = Command::new(interpreter);
    clean_env(&mut cmd);
    cmd
}

/// Removes the variables that would let the caller's environment change
/// what an interpreter we run does (`PYTHONPATH`, `PYTHONHOME`,
/// `PYTHONSTARTUP`, ...) and keeps our own bootstrap from activating.
/// `PYTHONUSERBASE` stays: it says where the caller's user site-packages
/// is, as it does for pip.
fn clean_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if key
            .to_str()
            .is_some_and(|k| k.starts_with("PYTHON") && k != "PYTHONUSERBASE")
        {
            cmd.env_remove(&key);
        }
    }
    cmd.env_remove("AUTOWRAPT_BOOTSTRAP");
    cmd.env("WRAPT_PATCHES", "0");
}

/// `cmd`'s exit status and output, like `Command::output`, except that an
/// error reading the child's pipes (EIO) is returned rather than a panic:
/// std's `output()` unwraps it.
pub fn output(cmd: &mut Command) -> std::io::Result<Output> {
    use std::io::Read as _;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    crate::output::show_command(cmd);
    let mut child = cmd.spawn()?;
    let (mut out, mut err) = (
        child.stdout.take().expect("piped"),
        child.stderr.take().expect("piped"),
    );
    let (stdout, stderr) = std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut bytes = Vec::new();
            err.read_to_end(&mut bytes).map(|_| bytes)
        });
        let mut bytes = Vec::new();
        let stdout = out.read_to_end(&mut bytes).map(|_| bytes);
        // A failed read would leave the child blocked on a full pipe.
        if stdout.is_err() {
            let _ = child.kill();
        }
        drop(out);
        let stderr = reader
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("reading stderr failed")));
        (stdout, stderr)
    });
    let status = child.wait()?;
    Ok(Output {
        status,
        stdout: stdout?,
        stderr: stderr?,
    })
}

/// [`output`], where an interpreter that cannot be started is an
/// [`Error::Spawn`] naming it.
pub fn started(cmd: &mut Command) -> Result<Output> {
    output(cmd).map_err(|source| Error::Spawn {
        path: PathBuf::from(cmd.get_program()),
        source,
    })
}

/// The last non-empty line of a child's stderr, for one-line errors.
pub fn last_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("(no output)")
        .to_owned()
}

/// The most a one-line error quotes of a child's output.
const QUOTED: usize = 800;

/// All of a child's output (its stderr, or what `python -m venv` says) as
/// one line, for one-line errors. A line continues the one before it,
/// after a space, when it starts with white space (a wrapped sentence, a
/// list item, a traceback's frame) or a lower-case letter, or when the one
/// before it ended a sentence; otherwise "; " separates them. Beyond
/// [`QUOTED`] characters, its start and its end, which say what failed and
/// why (pyenv's "command not found", a traceback's exception), with "…"
/// between them.
pub fn one_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut summary = String::new();
    for line in text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
    {
        let continues = line.starts_with(|c: char| c.is_whitespace() || c.is_lowercase())
            || summary.ends_with(['.', '!', '?', ':']);
        if !summary.is_empty() {
            summary.push_str(if continues { " " } else { "; " });
        }
        summary.push_str(line.trim_start());
    }
    let length = summary.chars().count();
    if length == 0 {
        return "(no output)".to_owned();
    }
    if length <= QUOTED {
        return summary;
    }
    let head: String = summary.chars().take(QUOTED / 4).collect();
    let tail: String = summary
        .chars()
        .skip(length - (QUOTED - QUOTED / 4))
        .collect();
    format!("{} … {}", head.trim_end(), tail.trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_quoted_whole_on_one_line() {
        let pyenv = b"pyenv: python3.7: command not found\n\nThe `python3.7' command exists in these Python versions:\n  3.7.16\n\nNote: See 'pyenv help global' for tips on allowing multiple\n      Python versions to be found at the same time.\n";
        assert_eq!(
            one_line(pyenv),
            "pyenv: python3.7: command not found; The `python3.7' command exists in these Python versions: 3.7.16; Note: See 'pyenv help global' for tips on allowing multiple Python versions to be found at the same time."
        );
        let debian = b"The virtual environment was not created successfully because ensurepip is not\navailable.  On Debian/Ubuntu systems, you need to install the python3-venv\npackage using the following command.\n\n    apt install python3.14-venv\n\nYou may need to use sudo with that command.\n\nFailing command: /v/bin/python3.14\n";
        assert_eq!(
            one_line(debian),
            "The virtual environment was not created successfully because ensurepip is not available.  On Debian/Ubuntu systems, you need to install the python3-venv package using the following command. apt install python3.14-venv; You may need to use sudo with that command. Failing command: /v/bin/python3.14"
        );
        assert_eq!(one_line(b"\n  \n"), "(no output)");
        let long = format!(
            "Traceback (most recent call last):\n{}ValueError: the end\n",
            "  File \"x.py\", line 1, in f\n    f()\n".repeat(100)
        );
        let summary = one_line(long.as_bytes());
        assert!(
            summary.starts_with("Traceback (most recent call last): File \"x.py\""),
            "{summary}"
        );
        assert!(summary.ends_with("f(); ValueError: the end"), "{summary}");
        assert!(summary.contains(" … "), "{summary}");
        assert!(summary.chars().count() <= QUOTED + 3, "{summary}");
    }
}
