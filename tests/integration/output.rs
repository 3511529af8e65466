//! How much the binaries say (`-q`/`-v`, counted), and in colour or not
//! (`--color`, `NO_COLOR`, `CLICOLOR_FORCE`, a terminal), error lines
//! included.

use std::process::{Command, Output};

use crate::support::{describe, pythons, stderr, stdout, wrapt_install, wrapt_uninstall, Venv};

/// The error label as `--color` paints it: bold red.
const RED_ERROR: &str = "\x1b[1m\x1b[31merror\x1b[0m";

fn run(mut command: Command, args: &[&str], env: &[(&str, &str)]) -> Output {
    command
        .args(args)
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn quiet_and_verbose_count() {
    let python = pythons().last().unwrap();
    let venv = Venv::new(python);
    let target = ["--venv", venv.root.to_str().unwrap()];
    let with = |flags: &[&str]| {
        let mut args = target.to_vec();
        args.extend(flags);
        run(wrapt_install(), &args, &[])
    };

    // -v: every file, no command.
    let output = with(&["-v"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        stdout(&output).contains("  create    00_wrapt_bootstrap.pth\n"),
        "{}",
        describe(&output)
    );
    assert_eq!(stderr(&output), "", "{}", describe(&output));
    // -vv: also each command run, on stderr, the script passed to -c cut
    // to its first line.
    let output = run(wrapt_uninstall(), &[target[0], target[1], "-vv"], &[]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        stdout(&output).contains("  remove    00_wrapt_bootstrap.pth\n"),
        "{}",
        describe(&output)
    );
    let probe = format!(
        "wrapt-uninstall: running WRAPT_PATCHES=0 {} -I -S -c 'import os, sys…' (in /)\n",
        venv.interpreter().display()
    );
    assert_eq!(stderr(&output), probe, "{}", describe(&output));
    // -q: nothing but errors; -qq: not even those, the exit code says it.
    let output = with(&["-q"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(venv.site_packages.join("00_wrapt_bootstrap.pth").is_file());
    assert_eq!(
        (stdout(&output).as_str(), stderr(&output).as_str()),
        ("", "")
    );
    let output = with(&["-q", "--mode", "nonsense"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    for (flags, lines) in [
        (&["-q"][..], 1),
        (&["-qq"], 0),
        (&["-q", "--quiet", "-q"], 0),
    ] {
        let mut args = vec!["--venv", "/nonexistent-venv"];
        args.extend(flags);
        for program in [wrapt_install(), wrapt_uninstall()] {
            let output = run(program, &args, &[]);
            assert_eq!(
                output.status.code(),
                Some(2),
                "{flags:?}: {}",
                describe(&output)
            );
            assert_eq!(
                stderr(&output).lines().count(),
                lines,
                "{flags:?}: {}",
                describe(&output)
            );
            assert_eq!(stdout(&output), "");
        }
    }
    // --json is asked for by name: -qq keeps it.
    let output = with(&["-qq", "--dry-run", "--json"]);
    assert!(output.status.success(), "{}", describe(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["command"], "install");
    assert_eq!(stderr(&output), "");
    // Quiet and verbose at once is a usage error.
    let output = with(&["-q", "-v"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
}

/// Flags, variables set, and whether the error label is coloured.
type ColorCase<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], bool);

/// `--color always` or `never` overrides `NO_COLOR` and `CLICOLOR_FORCE`;
/// `auto` (the default) colours where `CLICOLOR_FORCE` asks, unless
/// `NO_COLOR` (set to anything but the empty string) says not to. The
/// error line of both binaries, and clap's own usage errors, follow it.
#[test]
fn color_flag_and_variables() {
    let missing = ["--venv", "/nonexistent-venv"];
    let cases: &[ColorCase] = &[
        (&[], &[], false),
        (&["--color", "always"], &[], true),
        (&["--color=always"], &[("NO_COLOR", "1")], true),
        (&["--color", "never"], &[("CLICOLOR_FORCE", "1")], false),
        (&[], &[("CLICOLOR_FORCE", "1")], true),
        (&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], false),
        (&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")], true),
        (&["--color", "auto"], &[("CLICOLOR_FORCE", "1")], true),
    ];
    for (flags, env, coloured) in cases {
        for (program, name) in [
            (wrapt_install as fn() -> Command, "wrapt-install"),
            (wrapt_uninstall, "wrapt-uninstall"),
        ] {
            let mut args = missing.to_vec();
            args.extend(*flags);
            let output = run(program(), &args, env);
            assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
            let expected = if *coloured {
                format!("{name}: {RED_ERROR}: /nonexistent-venv does not exist")
            } else {
                format!("{name}: error: /nonexistent-venv does not exist")
            };
            assert!(
                stderr(&output).starts_with(&expected),
                "{flags:?} {env:?}: {}",
                describe(&output)
            );
            assert_eq!(stderr(&output).contains('\x1b'), *coloured);

            // clap's own error, before anything is parsed.
            let mut args = vec!["--bogus"];
            args.extend(*flags);
            let output = run(program(), &args, env);
            assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
            assert_eq!(
                stderr(&output).contains('\x1b'),
                *coloured,
                "{flags:?} {env:?}: {}",
                describe(&output)
            );
        }
    }
    let output = run(wrapt_install(), &["--color", "sometimes"], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
}

/// On a terminal, `auto` colours unless `NO_COLOR` is set to something;
/// a pipe is never coloured by `auto`.
#[test]
fn color_on_a_terminal_only() {
    let found = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var_os("CI").is_none(),
        "script (util-linux) is needed to run the tools on a terminal"
    );
    if !found {
        eprintln!("warning: script not found; skipping the terminal case");
        return;
    }
    let on_terminal = |flags: &str, no_color: Option<&str>| {
        // `script` gives the command a pseudo-terminal for stdout and stderr.
        let mut command = Command::new("script");
        command
            .arg("-qec")
            .arg(format!(
                "{} --venv /nonexistent-venv {flags}",
                env!("CARGO_BIN_EXE_wrapt-install")
            ))
            .arg("/dev/null")
            .env("TERM", "xterm")
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CLICOLOR");
        if let Some(value) = no_color {
            command.env("NO_COLOR", value);
        }
        let output = command.output().unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let red = format!("wrapt-install: {RED_ERROR}: /nonexistent-venv does not exist");
    let plain = "wrapt-install: error: /nonexistent-venv does not exist";
    for (flags, no_color, coloured) in [
        ("", None, true),
        ("", Some(""), true),
        ("", Some("1"), false),
        ("--color never", None, false),
        ("--color always", Some("1"), true),
    ] {
        let said = on_terminal(flags, no_color);
        if coloured {
            assert!(said.contains(&red), "{flags} {no_color:?}: {said:?}");
        } else {
            assert!(
                said.contains(plain) && !said.contains('\x1b'),
                "{flags} {no_color:?}: {said:?}"
            );
        }
    }
    let piped = run(wrapt_install(), &["--venv", "/nonexistent-venv"], &[]);
    assert!(
        stderr(&piped).starts_with("wrapt-install: error: "),
        "{}",
        describe(&piped)
    );
}

/// `/dev/full`: every write fails with ENOSPC.
fn full() -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap()
}

#[test]
fn an_unwritable_stderr_never_panics() {
    let venv = Venv::new(pythons().last().unwrap());
    let dir = venv.root.to_str().unwrap();
    for (mut command, args, code) in [
        (wrapt_install(), vec!["--venv", "/nonexistent"], 2),
        (wrapt_uninstall(), vec!["--venv", "/nonexistent"], 2),
        (
            wrapt_install(),
            vec!["--venv", dir, "--enable", "acme.typo"],
            0,
        ),
        (wrapt_install(), vec!["--venv", dir, "--check", "-vv"], 0),
        (wrapt_install(), vec!["--venv", dir, "--bogus"], 2),
    ] {
        let output = command.args(&args).stderr(full()).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(code),
            "{args:?}: {}",
            describe(&output)
        );
    }
}

#[test]
fn a_lost_result_is_an_io_error_and_a_lost_message_a_warning() {
    let venv = Venv::new(pythons().last().unwrap());
    let dir = venv.root.to_str().unwrap();
    // An install happened, whatever became of its message: exit 0, and
    // stderr says the message was lost.
    let output = wrapt_install()
        .args(["--venv", dir])
        .stdout(full())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    assert!(venv.site_packages.join("00_wrapt_bootstrap.pth").is_file());
    assert_eq!(
        stderr(&output),
        "wrapt-install: warning: could not write output: No space left on device (os error 28)\n"
    );
    // Where the output is the result, losing it fails the run.
    for (mut command, args) in [
        (wrapt_install(), vec!["--venv", dir, "--check"]),
        (wrapt_install(), vec!["--venv", dir, "--list"]),
        (wrapt_install(), vec!["--venv", dir, "--list", "--json"]),
        (wrapt_install(), vec!["--venv", dir, "--dry-run"]),
        (wrapt_install(), vec!["--venv", dir, "--json"]),
        (wrapt_uninstall(), vec!["--venv", dir, "--dry-run"]),
        (wrapt_install(), vec!["--completions", "bash"]),
        (wrapt_install(), vec!["--help"]),
        (wrapt_uninstall(), vec!["--version"]),
    ] {
        let output = command.args(&args).stdout(full()).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(4),
            "{args:?}: {}",
            describe(&output)
        );
        assert!(
            stderr(&output).ends_with(
                ": error: could not write output: No space left on device (os error 28)\n"
            ),
            "{args:?}: {}",
            describe(&output)
        );
    }
    // A failure keeps its own code; its lost output is said too.
    std::fs::write(
        venv.site_packages.join("wrapt_bootstrap/_api.py"),
        "# changed\n",
    )
    .unwrap();
    let output = wrapt_install()
        .args(["--venv", dir, "--check"])
        .stdout(full())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(
        stderr(&output).contains("warning: could not write output"),
        "{}",
        describe(&output)
    );
    assert!(
        stderr(&output).contains("problem: "),
        "{}",
        describe(&output)
    );
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    let venv = Venv::new(pythons().last().unwrap());
    let dir = venv.root.to_str().unwrap();
    run_ok_quiet(wrapt_install().args(["--venv", dir]));
    for args in [
        vec!["--venv", dir, "--list"],
        vec!["--venv", dir, "--list", "--json"],
        vec!["--venv", dir, "--check", "-v"],
        vec!["--venv", dir, "--dry-run", "-v"],
        vec!["--completions", "zsh"],
        vec!["--help"],
    ] {
        // As `| head -0` leaves it: the reader is gone before the first
        // write, so every write fails with EPIPE.
        let (reader, writer) = rustix::pipe::pipe().unwrap();
        drop(reader);
        let output = wrapt_install()
            .args(&args)
            .stdout(std::process::Stdio::from(writer))
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            describe(&output)
        );
        let errors = stderr(&output);
        assert!(
            !errors.contains("error") && !errors.contains("pipe") && !errors.contains("panicked"),
            "{args:?}: {}",
            describe(&output)
        );
    }
}

fn run_ok_quiet(command: &mut Command) {
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", describe(&output));
}
