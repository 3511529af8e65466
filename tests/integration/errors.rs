//! Error paths (issue 14): each gets one line naming the problem and what
//! to do, the exit code the README's table gives it, and leaves nothing
//! written, a refused `--create` included.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{
    as_nobody, base_installation, describe, pythons, pythons_and_pypy, run_ok, snapshot, stderr,
    stdout, wrapt_install, wrapt_uninstall, Venv,
};

/// Asserts `output` failed with `code` and one stderr line containing
/// every one of `needles`; returns that line.
#[track_caller]
fn assert_error(output: &Output, code: i32, needles: &[&str]) -> String {
    let message = stderr(output);
    assert_eq!(output.status.code(), Some(code), "{}", describe(output));
    assert_eq!(message.lines().count(), 1, "one line: {}", describe(output));
    for needle in needles {
        assert!(message.contains(needle), "{needle:?}: {}", describe(output));
    }
    message
}

/// A scratch directory, and `wrapt-install --create --venv scratch/a/b/venv
/// --python BASE ARGS` run from it: the environment's directory and the
/// two parents it needs are this run's to make.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn venv(&self) -> PathBuf {
        self.path().join("a/b/venv")
    }

    fn create(&self, base: &Path, args: &[&str]) -> Output {
        wrapt_install()
            .args(["--create", "--venv"])
            .arg(self.venv())
            .arg("--python")
            .arg(base)
            .args(args)
            .current_dir(self.path())
            .output()
            .unwrap()
    }

    /// Nothing left of what a failed run made: only what the test put here.
    #[track_caller]
    fn assert_untouched(&self, before: &std::collections::BTreeMap<PathBuf, Vec<u8>>) {
        assert!(!self.path().join("a").exists(), "a/ was left behind");
        assert_eq!(&snapshot(self.path()), before);
    }
}

/// `$(pyenv root)`, where the CPythons the tests need besides the supported
/// ones (2.7, 3.8, and 3.7's shim) are; under CI they must be there.
fn pyenv_root() -> Option<PathBuf> {
    let root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".pyenv")))
        .filter(|root| root.join("versions").is_dir());
    assert!(
        root.is_some() || std::env::var_os("CI").is_none(),
        "CI has pyenv's CPythons"
    );
    if root.is_none() {
        eprintln!("warning: no pyenv; skipping");
    }
    root
}

/// `$(pyenv root)/versions/PREFIX*/bin/python`.
fn pyenv_python(prefix: &str) -> Option<PathBuf> {
    let root = pyenv_root()?;
    let mut found: Vec<PathBuf> = fs::read_dir(root.join("versions"))
        .unwrap()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(prefix))
        .map(|entry| entry.path().join("bin/python"))
        .filter(|exe| exe.is_file())
        .collect();
    found.sort();
    assert!(
        !found.is_empty() || std::env::var_os("CI").is_none(),
        "CI has pyenv's CPython {prefix}"
    );
    found.pop()
}

/// `--create` with an interpreter it then refuses makes nothing: the
/// version, and the activation mode where the interpreter ignores it or
/// its own `sitecustomize` would win, are decided from the base
/// interpreter before the environment is made. A dry run says what it
/// would make, after the same checks.
#[test]
fn a_refused_create_makes_nothing() {
    let scratch = Scratch::new();
    let before = snapshot(scratch.path());
    for (prefix, description) in [("2.7", "Python 2.7"), ("3.8", "Python 3.8")] {
        let Some(old) = pyenv_python(prefix) else {
            continue;
        };
        for dry_run in [&[][..], &["--dry-run"]] {
            let output = scratch.create(&old, dry_run);
            assert_error(&output, 2, &[description, "is too old"]);
            assert!(!stderr(&output).contains("No module named venv"));
            scratch.assert_untouched(&before);
        }
    }

    let python = &pythons()[0];
    if python.minor < 15 {
        let output = scratch.create(&python.exe, &["--mode", "start"]);
        assert_error(&output, 2, &["--mode start cannot activate"]);
        scratch.assert_untouched(&before);
    }

    // A base installation with a sitecustomize in its stdlib directory (as
    // Debian's python3 has): every environment made from it imports that
    // one first.
    let home = tempfile::tempdir().unwrap();
    let base = base_installation(python, home.path());
    let stdlib = home.path().join(format!("lib/python3.{}", python.minor));
    fs::write(stdlib.join("sitecustomize.py"), "").unwrap();
    for dry_run in [&[][..], &["--dry-run"]] {
        let mut args = vec!["--mode", "sitecustomize"];
        args.extend(dry_run);
        let output = scratch.create(&base, &args);
        let comes_first = format!(
            "{} comes before the environment's site-packages",
            stdlib.join("sitecustomize.py").display()
        );
        assert_error(
            &output,
            2,
            &["--mode sitecustomize cannot work", &comes_first],
        );
        scratch.assert_untouched(&before);
    }

    // What a dry run would do, with nothing made.
    let output = scratch.create(&python.exe, &["--dry-run", "--enable", "acme.patches"]);
    assert!(output.status.success(), "{}", describe(&output));
    let said = stdout(&output);
    assert!(
        said.starts_with(&format!(
            "dry run: would create the virtual environment {} with {} (Python 3.{}.",
            scratch.venv().display(),
            python.exe.display(),
            python.minor
        )) && said.contains("default groups: acme.patches\n")
            && said.ends_with("nothing was written (--dry-run)\n"),
        "{}",
        describe(&output)
    );
    let output = scratch.create(&python.exe, &["--dry-run", "--json"]);
    assert!(output.status.success(), "{}", describe(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["create"]["venv"], scratch.venv().to_str().unwrap());
    assert_eq!(
        json["create"]["base_interpreter"],
        python.exe.to_str().unwrap()
    );
    scratch.assert_untouched(&before);
}

/// When making the environment fails, or anything after it before the
/// install writes, what this run made is removed: the environment, and the
/// parents made for it; an empty directory it was made in stays.
#[test]
fn a_failed_create_removes_what_it_made() {
    let python = pythons().last().unwrap();
    let scratch = Scratch::new();
    let before = snapshot(scratch.path());

    // `-m venv` fails after making the directory: ensurepip is missing, as
    // on Debian without python3-venv.
    let home = tempfile::tempdir().unwrap();
    let base = base_installation(python, home.path());
    fs::remove_file(
        home.path()
            .join(format!("lib/python3.{}/ensurepip", python.minor)),
    )
    .unwrap();
    let output = scratch.create(&base, &[]);
    assert_error(
        &output,
        4,
        &[
            "creating the virtual environment",
            "what it made was removed",
            "ensurepip",
        ],
    );
    scratch.assert_untouched(&before);

    // `-m venv` succeeds but makes no environment (a front end that does
    // not pass it on): the run fails after it, and removes it all the same.
    // In a directory of its own: as root, the one above a base
    // interpreter's (where site looks for pyvenv.cfg) must not be /tmp.
    let front_end = scratch.path().join("bin/python-front-end");
    fs::create_dir(front_end.parent().unwrap()).unwrap();
    fs::write(
        &front_end,
        format!(
            "#!/bin/sh\nif [ \"$1\" = -m ]; then mkdir -p \"$3/bin\"; echo partial > \"$3/bin/activate\"; exit 0; fi\nexec {} \"$@\"\n",
            python.exe.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&front_end, fs::Permissions::from_mode(0o755)).unwrap();
    let before = snapshot(scratch.path());
    let output = scratch.create(&front_end, &[]);
    assert_error(&output, 2, &["has no Python interpreter"]);
    scratch.assert_untouched(&before);

    // An empty directory is made into the environment, and emptied again.
    let empty = scratch.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let before = snapshot(scratch.path());
    let output = wrapt_install()
        .args(["--create", "--venv"])
        .arg(&empty)
        .arg("--python")
        .arg(&front_end)
        .output()
        .unwrap();
    assert_error(&output, 2, &["has no Python interpreter"]);
    assert_eq!(snapshot(scratch.path()), before);
    assert!(empty.is_dir());

    // Made for real, it is kept, and installed into.
    let output = wrapt_install()
        .args(["--create", "--venv"])
        .arg(&empty)
        .arg("--python")
        .arg(&python.exe)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    assert!(empty.join("pyvenv.cfg").is_file());
}

/// A pyenv shim that cannot run its command explains why over several
/// lines: all of them are quoted, on the one line of the error.
#[test]
fn a_failing_interpreter_is_quoted_whole() {
    let Some(root) = pyenv_root() else {
        return;
    };
    // A version, and the shim of a python3.X it does not have but another
    // version does.
    let mut versions: Vec<String> = fs::read_dir(root.join("versions"))
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    versions.sort();
    let has = |version: &str, exe: &str| {
        root.join("versions")
            .join(version)
            .join("bin")
            .join(exe)
            .exists()
    };
    let Some((version, shim)) = versions.iter().find_map(|version| {
        (0..20)
            .map(|minor| format!("python3.{minor}"))
            .find(|exe| {
                !has(version, exe)
                    && root.join("shims").join(exe).exists()
                    && versions.iter().any(|other| has(other, exe))
            })
            .map(|exe| (version.clone(), root.join("shims").join(exe)))
    }) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI's pyenv has several versions"
        );
        return;
    };
    let scratch = Scratch::new();
    let output = wrapt_install()
        .arg("--python")
        .arg(&shim)
        .env("PYENV_VERSION", &version)
        .current_dir(scratch.path())
        .output()
        .unwrap();
    assert_error(
        &output,
        2,
        &[
            &format!(
                "{}: command not found; The `{}' command exists in these Python versions: ",
                shim.file_name().unwrap().to_string_lossy(),
                shim.file_name().unwrap().to_string_lossy()
            ),
            "for tips on allowing multiple Python versions to be found at the same time.",
        ],
    );
    let output = wrapt_install()
        .arg("--python")
        .arg(&shim)
        .env("PYENV_VERSION", "3.99.0")
        .output()
        .unwrap();
    assert_error(&output, 2, &["pyenv: version `3.99.0' is not installed"]);
}

/// A path this user may not look at is a permission error (exit 4) naming
/// the directory it cannot enter, never "does not exist" or "a dangling
/// symlink … recreate the environment", for the environment, its
/// interpreter and `--python`, in both binaries.
#[test]
fn a_path_out_of_reach_is_a_permission_error() {
    let python = pythons().last().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    fs::set_permissions(scratch.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let locked = scratch.path().join("locked");
    fs::create_dir(&locked).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o700)).unwrap();
    let hidden = locked.join("venv");
    run_ok(
        Command::new(&python.exe)
            .args(["-m", "venv", "--without-pip"])
            .arg(&hidden),
    );
    // A readable environment whose interpreter links into the locked
    // directory (as a venv of pyenv's links into /root).
    let venv = scratch.path().join("venv");
    run_ok(
        Command::new(&python.exe)
            .args(["-m", "venv", "--without-pip"])
            .arg(&venv),
    );
    std::os::unix::fs::symlink(&python.exe, locked.join("python3")).unwrap();
    for name in ["python", "python3"] {
        let link = venv.join("bin").join(name);
        fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink(locked.join("python3"), &link).unwrap();
    }
    let before = snapshot(scratch.path());
    let cannot_enter = format!(
        "permission denied (this user cannot enter {})",
        locked.display()
    );
    let links_in = format!(
        "permission denied (it links to {}, and this user cannot enter {})",
        locked.join("python3").display(),
        locked.display()
    );
    let venv_python = venv.join("bin/python");
    let new = scratch.path().join("new");
    let locked_python = locked.join("python3");
    let cases: [(&str, &[&OsStr], String); 5] = [
        (
            env!("CARGO_BIN_EXE_wrapt-install"),
            &["--venv".as_ref(), hidden.as_ref()],
            format!("{} cannot be reached: {cannot_enter}", hidden.display()),
        ),
        (
            env!("CARGO_BIN_EXE_wrapt-uninstall"),
            &["--venv".as_ref(), hidden.as_ref()],
            format!("{} cannot be reached: {cannot_enter}", hidden.display()),
        ),
        (
            env!("CARGO_BIN_EXE_wrapt-install"),
            &["--venv".as_ref(), venv.as_ref()],
            format!("{} cannot be reached: {links_in}", venv_python.display()),
        ),
        (
            env!("CARGO_BIN_EXE_wrapt-uninstall"),
            &["--python".as_ref(), venv_python.as_ref()],
            format!("{} cannot be reached: {links_in}", venv_python.display()),
        ),
        (
            env!("CARGO_BIN_EXE_wrapt-install"),
            &[
                "--create".as_ref(),
                "--venv".as_ref(),
                new.as_ref(),
                "--python".as_ref(),
                locked_python.as_ref(),
            ],
            format!(
                "{} cannot be reached: {cannot_enter}",
                locked.join("python3").display()
            ),
        ),
    ];
    for (program, args, needle) in cases {
        let Some(mut command) = as_nobody(program) else {
            return;
        };
        let output = command
            .args(args)
            .current_dir(scratch.path())
            .output()
            .unwrap();
        let message = assert_error(&output, 4, &[&needle]);
        assert!(
            !message.contains("dangling") && !message.contains("does not exist"),
            "{message}"
        );
    }
    assert_eq!(snapshot(scratch.path()), before, "nothing written");

    // A link that leads nowhere is still one, for root who can look.
    fs::remove_file(locked.join("python3")).unwrap();
    let output = wrapt_install().arg("--venv").arg(&venv).output().unwrap();
    assert_error(
        &output,
        2,
        &["is a dangling symlink to", "recreate the environment"],
    );
}

/// Hints name only flags the program takes: `wrapt-uninstall` (and
/// `--check`, `--list`) never suggests `--create`; each binary's `--help`
/// lists its own exit codes.
#[test]
fn hints_and_help_fit_the_program() {
    let python = &pythons()[0];
    let scratch = tempfile::tempdir().unwrap();
    let missing = scratch.path().join("missing");
    let run = |mut command: Command, args: &[&OsStr]| {
        command
            .args(args)
            .current_dir(scratch.path())
            .output()
            .unwrap()
    };
    let nothing: &[&OsStr] = &[];
    let missing_venv: &[&OsStr] = &["--venv".as_ref(), missing.as_ref()];
    let base_python: &[&OsStr] = &["--python".as_ref(), python.exe.as_ref()];
    for args in [nothing, missing_venv, base_python] {
        for (command, extra, offers_create) in [
            (wrapt_install(), None, true),
            (wrapt_install(), Some("--dry-run"), true),
            (wrapt_install(), Some("--check"), false),
            (wrapt_install(), Some("--list"), false),
            (wrapt_uninstall(), None, false),
        ] {
            let mut args = args.to_vec();
            args.extend(extra.map(OsStr::new));
            let output = run(command, &args);
            let message = assert_error(&output, 2, &[]);
            assert_eq!(
                message.contains("--create"),
                offers_create,
                "{args:?}: {message}"
            );
        }
    }
    let help = |command: Command| stdout(&run(command, &["--help".as_ref()]));
    let install = help(wrapt_install());
    let uninstall = help(wrapt_uninstall());
    assert!(
        install.contains("  1  --check found a problem"),
        "{install}"
    );
    assert!(
        install.contains("--create, whose environment is removed again"),
        "{install}"
    );
    for absent in ["--check", "--create", "--mode", "group name"] {
        assert!(!uninstall.contains(absent), "{absent}: {uninstall}");
    }
    assert!(
        uninstall.contains("0  success (or nothing to uninstall)"),
        "{uninstall}"
    );
}

/// `--python` with a directory says which flag was meant; `--venv` with
/// `--python` must name one environment (with `--create`, `--python` is
/// the base interpreter); `--venv` at an installation that is not a
/// virtual environment says how to make one, or to act on it
/// deliberately, rather than "use --venv DIR".
#[test]
fn venv_and_python_say_what_was_meant() {
    let python = pythons().last().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let venv = scratch.path().join(".venv");
    run_ok(
        Command::new(&python.exe)
            .args(["-m", "venv", "--without-pip"])
            .arg(&venv),
    );
    let other = Venv::new(python);
    let before = snapshot(&venv);
    let run = |args: &[&OsStr]| {
        wrapt_install()
            .args(args)
            .current_dir(scratch.path())
            .output()
            .unwrap()
    };
    for typed in [".venv", "./.venv"] {
        let output = run(&["--python".as_ref(), typed.as_ref()]);
        assert_error(
            &output,
            2,
            &[&format!("{} is a directory, and --python expects an interpreter; did you mean --venv {typed}?", venv.display())],
        );
    }
    let output = run(&[
        "--venv".as_ref(),
        ".venv".as_ref(),
        "--python".as_ref(),
        other.interpreter().as_ref(),
    ]);
    assert_error(
        &output,
        2,
        &["name different environments", "pass one of them"],
    );
    let output = run(&[
        "--venv".as_ref(),
        ".venv".as_ref(),
        "--python".as_ref(),
        python.exe.as_ref(),
    ]);
    assert_error(&output, 2, &["name different environments"]);
    assert_eq!(snapshot(&venv), before, "nothing written");

    // Naming the same environment twice is fine.
    let output = run(&[
        "--venv".as_ref(),
        ".venv".as_ref(),
        "--python".as_ref(),
        ".venv/bin/python3".as_ref(),
    ]);
    assert!(output.status.success(), "{}", describe(&output));
    // With --create, --python is the base of the environment --venv names.
    let output = run(&[
        "--create".as_ref(),
        "--venv".as_ref(),
        "made".as_ref(),
        "--python".as_ref(),
        python.exe.as_ref(),
    ]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(scratch.path().join("made/pyvenv.cfg").is_file());

    // An installation itself, given as --venv.
    let home = scratch.path().join("base");
    let base = home.join("bin/python3");
    std::os::unix::fs::symlink(base_installation(python, &home), &base).unwrap();
    let output = run(&["--venv".as_ref(), home.as_ref()]);
    let message = assert_error(
        &output,
        2,
        &[
            "is not a virtual environment",
            &format!("{} has no pyvenv.cfg", home.display()),
            "--create --venv NEWDIR",
            &format!("--python {} --user or --system", base.display()),
        ],
    );
    assert!(!message.contains("use --venv DIR"), "{message}");
    let output = wrapt_uninstall().arg("--venv").arg(&home).output().unwrap();
    let message = assert_error(&output, 2, &["pass a virtual environment's directory"]);
    assert!(!message.contains("--create"), "{message}");
}

/// A virtual environment whose path is not UTF-8 (byte 0xff): the probe
/// hands its paths back as bytes, every interpreter's, and `--json` shows
/// them with U+FFFD rather than failing.
#[test]
fn a_path_that_is_not_utf8_works_and_shows_in_json() {
    use std::os::unix::ffi::OsStrExt as _;
    for python in pythons_and_pypy() {
        let scratch = tempfile::tempdir().unwrap();
        // `-m venv` itself cannot write its scripts there: made, then moved.
        let made = scratch.path().join("made");
        run_ok(
            Command::new(&python.exe)
                .args(["-m", "venv", "--without-pip"])
                .arg(&made),
        );
        let venv = scratch.path().join(OsStr::from_bytes(b"env-\xff"));
        fs::rename(&made, &venv).unwrap();
        let shown = format!("{}/env-\u{fffd}", scratch.path().display());
        let json = |command: &mut Command| -> serde_json::Value {
            let output = command
                .arg("--venv")
                .arg(&venv)
                .arg("--json")
                .output()
                .unwrap();
            assert!(output.status.success(), "{python}: {}", describe(&output));
            serde_json::from_slice(&output.stdout).unwrap()
        };
        let dry_run = json(wrapt_install().arg("--dry-run"));
        assert!(
            dry_run["purelib"].as_str().unwrap().starts_with(&shown),
            "{python}: {dry_run}"
        );
        assert!(dry_run["interpreter"].as_str().unwrap().starts_with(&shown));
        let output = run_ok(wrapt_install().arg("--venv").arg(&venv));
        assert!(
            stdout(&output).contains(&shown),
            "{python}: {}",
            describe(&output)
        );
        let listed = json(wrapt_install().arg("--list"));
        assert!(
            listed["purelib"].as_str().unwrap().starts_with(&shown),
            "{python}: {listed}"
        );
        assert!(
            listed["groups"][0]["distributions"][0]["path"]
                .as_str()
                .unwrap()
                .starts_with(&shown),
            "{python}: {listed}"
        );
        assert!(listed["sys_path"]
            .as_array()
            .unwrap()
            .iter()
            .any(|entry| entry.as_str().unwrap().starts_with(&shown)));
        let output = Command::new(venv.join("bin/python"))
            .args(["-c", "import tempfile"])
            .env("WRAPT_PATCHES", "wrapt_bootstrap.examples")
            .env_remove("PYTHONPATH")
            .output()
            .unwrap();
        assert_eq!(
            stderr(&output),
            "patching tempfile\n",
            "{python}: {}",
            describe(&output)
        );
        let removed = json(&mut wrapt_uninstall());
        assert!(removed["purelib"].as_str().unwrap().starts_with(&shown));
        assert_eq!(removed["installed_before"][0], env!("CARGO_PKG_VERSION"));
    }
}
