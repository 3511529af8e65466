//! Hostile environments (issue 13): what a planted `.pth` file can make the
//! tools run, and root acting on an environment another user can change.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

use crate::support::{
    describe, plant_pth, pythons, pythons_and_pypy, run_ok, stderr, stdout, wrapt_install,
    wrapt_uninstall, Python, Venv,
};

fn newest() -> &'static Python {
    pythons().last().expect("a CPython")
}

/// Whether we run as root, which the root tests need; CI runs as root, so
/// there they must not be skipped.
fn running_as_root() -> bool {
    let root = rustix::process::geteuid().is_root();
    if !root {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs the tests as root"
        );
        eprintln!("warning: not running as root; skipping the test of what root refuses");
    }
    root
}

/// Every command, each with `extra` arguments, on `venv`.
fn every_command(venv: &Venv, extra: &[&str]) -> Vec<Command> {
    let mut commands = Vec::new();
    for (mut command, mode) in [
        (wrapt_install(), None),
        (wrapt_install(), Some("--dry-run")),
        (wrapt_install(), Some("--check")),
        (wrapt_install(), Some("--list")),
        (wrapt_uninstall(), None),
        (wrapt_uninstall(), Some("--dry-run")),
    ] {
        command.arg("--venv").arg(&venv.root).args(mode).args(extra);
        commands.push(command);
    }
    commands
}

fn assert_refused_as_root(command: &mut Command, needle: &str, venv: &Venv) -> Output {
    let before = venv.snapshot();
    let output = command.output().expect("spawn");
    let message = stderr(&output);
    assert!(
        output.status.code() == Some(3) && message.lines().count() == 1 && message.contains(needle),
        "{command:?}: expected exit 3 and one line with {needle:?}: {}",
        describe(&output)
    );
    assert!(before == venv.snapshot(), "{command:?} wrote something");
    output
}

/// Replaces the venv's `bin/python` link with a script that leaves a mark
/// and then runs the interpreter as the link did; returns the mark.
fn mark_interpreter_runs(venv: &Venv) -> std::path::PathBuf {
    let mark = venv.root.join("interpreter-ran");
    let python = venv.interpreter();
    let real = python.canonicalize().unwrap();
    fs::remove_file(&python).unwrap();
    fs::write(
        &python,
        format!(
            "#!/bin/bash\n: > '{}'\nexec -a \"$0\" '{}' \"$@\"\n",
            mark.display(),
            real.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&python, fs::Permissions::from_mode(0o755)).unwrap();
    mark
}

fn chown_all(root: &Path, uid: u32) {
    run_ok(
        Command::new("chown")
            .arg("-R")
            .arg(format!("{uid}:{uid}"))
            .arg(root),
    );
}

/// Regression (issue 13): every command ran the interpreter with site, so a
/// .pth import line planted in site-packages ran, as the caller, on a dry
/// run, a list, an install, an uninstall and a check. Only --check's live
/// activation, which starts the environment by design, runs it now, and
/// says so first.
#[test]
fn a_planted_pth_runs_only_when_check_starts_the_environment() {
    for python in pythons_and_pypy() {
        let venv = Venv::new(python);
        let planted = plant_pth(&venv.site_packages);
        let run = |mut command: Command| {
            let output = run_ok(command.arg("--venv").arg(&venv.root));
            assert!(
                !stdout(&output).contains("planted .pth ran"),
                "{python}: {command:?}: {}",
                describe(&output)
            );
            output
        };
        for (mut command, args) in [
            (wrapt_install(), &["--dry-run"][..]),
            (wrapt_install(), &["--dry-run", "--json"]),
            (wrapt_install(), &["--list"]),
            (wrapt_install(), &["--list", "--json"]),
            (wrapt_install(), &[]),
            (wrapt_uninstall(), &["--dry-run"]),
        ] {
            command.args(args);
            run(command);
            assert!(!planted.exists(), "{python}: {args:?} ran a .pth line");
        }

        let mut check = wrapt_install();
        check.arg("--check");
        let output = run(check);
        assert!(
            stderr(&output).contains(&format!(
                "running {} -X importtime -c '…' with WRAPT_PATCHES=+wrapt_bootstrap.examples: this starts the environment, its .pth files and sitecustomize included",
                venv.interpreter().display()
            )),
            "{python}: {}",
            describe(&output)
        );
        // By the live activation (twice where site reads site-packages
        // twice, before 3.14); never by a run of ours with WRAPT_PATCHES=0.
        let runs = fs::read_to_string(&planted).unwrap();
        assert!(
            !runs.is_empty() && runs.lines().all(|run| run == "+wrapt_bootstrap.examples"),
            "{python}: {runs:?}"
        );
        let mut check = wrapt_install();
        check.args(["--check", "--json"]);
        let report: serde_json::Value = serde_json::from_slice(&run(check).stdout).unwrap();
        assert_eq!(
            report["started"][0],
            serde_json::json!(venv.interpreter()),
            "{python}"
        );
        fs::remove_file(&planted).unwrap();

        run(wrapt_uninstall());
        assert!(!planted.exists(), "{python}: the uninstall ran a .pth line");
    }
}

#[test]
fn root_refuses_an_environment_another_user_owns_before_running_anything() {
    if !running_as_root() {
        return;
    }
    let venv = Venv::new(newest());
    let planted = plant_pth(&venv.site_packages);
    let ran = mark_interpreter_runs(&venv);
    chown_all(&venv.root, 65534);
    let needle = format!(
        "{} is owned by uid 65534 (nobody): as root, acting on it would run code that user controls; run it as that user, or pass --force to trust them",
        venv.root.display()
    );
    for mut command in every_command(&venv, &[]) {
        assert_refused_as_root(&mut command, &needle, &venv);
        assert!(!ran.exists(), "{command:?} ran the interpreter");
        assert!(!planted.exists(), "{command:?} ran a .pth line");
    }

    // --force trusts them: everything proceeds, and only --check's live
    // activation, which starts the environment by design, runs the .pth.
    run_ok(wrapt_install().arg("--venv").arg(&venv.root).arg("--force"));
    assert!(ran.exists(), "the interpreter did not run");
    assert!(!planted.exists(), "the install ran a .pth line");
    for mut command in every_command(&venv, &["--force"]) {
        let output = command.output().expect("spawn");
        assert!(
            output.status.success(),
            "{command:?}: {}",
            describe(&output)
        );
    }
    assert!(
        planted.exists(),
        "--check --force did not start the environment"
    );
}

#[test]
fn root_refuses_a_group_or_world_writable_site_packages() {
    if !running_as_root() {
        return;
    }
    let venv = Venv::new(newest());
    let planted = plant_pth(&venv.site_packages);
    let site = &venv.site_packages;
    for (mode, who) in [
        (0o775, "writable by group 0"),
        (0o757, "writable by every user"),
    ] {
        fs::set_permissions(site, fs::Permissions::from_mode(mode)).unwrap();
        let needle = format!("{} is {who}", site.display());
        for mut command in every_command(&venv, &[]) {
            assert_refused_as_root(&mut command, &needle, &venv);
        }
        assert!(!planted.exists(), "a .pth line ran");
    }
    // So is a directory between the environment and its site-packages.
    fs::set_permissions(site, fs::Permissions::from_mode(0o755)).unwrap();
    let lib = site.parent().unwrap();
    fs::set_permissions(lib, fs::Permissions::from_mode(0o775)).unwrap();
    let mut install = wrapt_install();
    install.arg("--venv").arg(&venv.root);
    assert_refused_as_root(
        &mut install,
        &format!("{} is writable by group", lib.display()),
        &venv,
    );
    run_ok(install.arg("--force"));
}

#[test]
fn root_refuses_a_user_site_packages_another_user_owns() {
    if !running_as_root() {
        return;
    }
    let python = newest();
    let base = tempfile::tempdir().unwrap();
    let user_site = base
        .path()
        .join(format!("lib/python3.{}/site-packages", python.minor));
    fs::create_dir_all(&user_site).unwrap();
    chown_all(base.path(), 65534);
    let mut install = wrapt_install();
    install
        .args(["--user", "--python"])
        .arg(&python.exe)
        .env("PYTHONUSERBASE", base.path());
    let output = install.output().unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    assert!(
        stderr(&output).contains(&format!("{} is owned by uid 65534", user_site.display())),
        "{}",
        describe(&output)
    );
    assert_eq!(fs::read_dir(&user_site).unwrap().count(), 0);
    run_ok(install.arg("--force"));
}

#[test]
fn root_refuses_to_check_where_a_pth_path_line_leads_to_another_users_directory() {
    if !running_as_root() {
        return;
    }
    let venv = Venv::installed(newest());
    let elsewhere = venv.root.join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    chown_all(&elsewhere, 65534);
    fs::write(
        venv.site_packages.join("elsewhere.pth"),
        format!("{}\n", elsewhere.display()),
    )
    .unwrap();
    // Nothing from there runs while installing or listing.
    venv.install(&[]);
    run_ok(wrapt_install().arg("--venv").arg(&venv.root).arg("--list"));
    // The live activation imports from it.
    let mut check = wrapt_install();
    check.arg("--venv").arg(&venv.root).arg("--check");
    assert_refused_as_root(
        &mut check,
        &format!("{} is owned by uid 65534", elsewhere.display()),
        &venv,
    );
    run_ok(check.arg("--force"));
}
