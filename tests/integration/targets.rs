//! `--user` and `--python EXE --system`: the two targets outside a virtual
//! environment, each asked for explicitly.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::{
    base_installation, describe, pythons, pythons_and_pypy, run_ok, snapshot, stderr, stdout,
    wrapt_install, wrapt_uninstall, Implementation, PatchDist, Venv,
};

fn run(mut command: std::process::Command, args: &[&str], user_base: Option<&Path>) -> Output {
    command.args(args);
    if let Some(base) = user_base {
        command.env("PYTHONUSERBASE", base);
    }
    command.output().unwrap()
}

/// `python -c "import tempfile"` with the example group enabled: what the
/// example patch printed.
fn patched(exe: &Path, user_base: Option<&Path>) -> String {
    let mut command = std::process::Command::new(exe);
    command
        .args(["-c", "import tempfile"])
        .env("WRAPT_PATCHES", "wrapt_bootstrap.examples")
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONDONTWRITEBYTECODE");
    if let Some(base) = user_base {
        command.env("PYTHONUSERBASE", base);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    stderr(&output)
}

/// The user site-packages of `exe` under `PYTHONUSERBASE=base`, as it says
/// (PyPy's is `lib/pypy3.X/site-packages`).
fn user_site(exe: &Path, base: &Path) -> PathBuf {
    let output = run_ok(
        std::process::Command::new(exe)
            .args(["-c", "import site; print(site.getusersitepackages())"])
            .env("PYTHONUSERBASE", base),
    );
    PathBuf::from(stdout(&output).trim_end())
}

#[test]
fn user_site_packages_install_check_and_uninstall() {
    for python in pythons_and_pypy() {
        let base = tempfile::tempdir().unwrap();
        let user_site = user_site(&python.exe, base.path());
        let exe = python.exe.to_str().unwrap();
        // Nothing there yet: only an install creates the directory.
        let output = run(
            wrapt_uninstall(),
            &["--user", "--python", exe],
            Some(base.path()),
        );
        assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
        assert!(
            stderr(&output).contains("user site-packages"),
            "{}",
            describe(&output)
        );
        assert!(!user_site.exists());

        let output = run(
            wrapt_install(),
            &["--user", "--python", exe],
            Some(base.path()),
        );
        assert!(output.status.success(), "{}", describe(&output));
        assert!(user_site.join("00_wrapt_bootstrap.pth").is_file());
        assert_eq!(
            patched(&python.exe, Some(base.path())),
            "patching tempfile\n",
            "{python}"
        );
        // Another user base is another user: untouched.
        let elsewhere = tempfile::tempdir().unwrap();
        assert_eq!(patched(&python.exe, Some(elsewhere.path())), "");

        let output = run(
            wrapt_install(),
            &["--check", "--user", "--python", exe],
            Some(base.path()),
        );
        assert!(output.status.success(), "{}", describe(&output));
        // --list sees the user site-packages as the interpreter does.
        let output = run(
            wrapt_install(),
            &["--list", "--user", "--python", exe],
            Some(base.path()),
        );
        assert!(
            crate::support::stdout(&output).contains("wrapt_bootstrap.examples"),
            "{}",
            describe(&output)
        );
        let output = run(
            wrapt_uninstall(),
            &["--user", "--python", exe],
            Some(base.path()),
        );
        assert!(output.status.success(), "{}", describe(&output));
        assert_eq!(
            snapshot(&user_site),
            std::collections::BTreeMap::new(),
            "everything removed"
        );
    }
}

#[test]
fn user_is_refused_for_a_virtual_environment() {
    let venv = Venv::new(pythons().last().unwrap());
    let base = tempfile::tempdir().unwrap();
    let python = venv.interpreter();
    let output = run(
        wrapt_install(),
        &["--user", "--python", python.to_str().unwrap()],
        Some(base.path()),
    );
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        stderr(&output).contains("a virtual environment ignores user site-packages"),
        "{}",
        describe(&output)
    );
    assert_eq!(snapshot(base.path()), std::collections::BTreeMap::new());
}

/// What `exe` reports as its site-packages.
fn purelib(exe: &Path) -> std::path::PathBuf {
    let output = std::process::Command::new(exe)
        .args([
            "-I",
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    stdout(&output).trim().into()
}

#[test]
fn system_site_packages_only_when_asked_for_explicitly() {
    // Every layout: pyenv's lib/python3.X/site-packages, which exists, and
    // Debian's local/lib/python3.X/dist-packages, which only exists once
    // something is installed there, and which the install creates as pip
    // would.
    for python in pythons() {
        system_site_packages(python);
    }
}

fn system_site_packages(python: &crate::support::Python) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let exe = base_installation(python, &home);
    let exe_arg = exe.to_str().unwrap();
    let site_packages = purelib(&exe);
    assert!(
        site_packages.starts_with(&home),
        "{}",
        site_packages.display()
    );
    let existed = site_packages.is_dir();
    let before = snapshot(&site_packages);

    // Never by accident: a base interpreter without --system, and --system
    // without --python, are refused.
    let output = run(wrapt_install(), &["--python", exe_arg], None);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        stderr(&output).contains("is not a virtual environment")
            && stderr(&output).contains("--python EXE --system"),
        "{}",
        describe(&output)
    );
    let output = run(wrapt_install(), &["--system"], None);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        stderr(&output).contains("--python"),
        "{}",
        describe(&output)
    );
    // Nor a virtual environment's interpreter.
    let venv = Venv::new(python);
    let output = run(
        wrapt_install(),
        &["--system", "--python", venv.interpreter().to_str().unwrap()],
        None,
    );
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        stderr(&output).contains("drop --system"),
        "{}",
        describe(&output)
    );
    // PEP 668: an installation its package manager owns needs --force.
    let marker = home.join(format!("lib/python3.{}/EXTERNALLY-MANAGED", python.minor));
    fs::write(&marker, "[externally-managed]\n").unwrap();
    let output = run(wrapt_install(), &["--system", "--python", exe_arg], None);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        stderr(&output).contains("EXTERNALLY-MANAGED"),
        "{}",
        describe(&output)
    );
    assert_eq!(snapshot(&site_packages), before, "nothing written");
    assert_eq!(site_packages.exists(), existed, "nothing created");
    fs::remove_file(&marker).unwrap();

    // A dry run creates nothing either.
    let output = run(
        wrapt_install(),
        &["--dry-run", "--system", "--python", exe_arg],
        None,
    );
    assert_eq!(output.status.success(), existed, "{}", describe(&output));
    assert_eq!(site_packages.exists(), existed, "nothing created");

    let output = run(wrapt_install(), &["--system", "--python", exe_arg], None);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(patched(&exe, None), "patching tempfile\n");
    let output = run(
        wrapt_install(),
        &["--check", "--system", "--python", exe_arg],
        None,
    );
    assert!(output.status.success(), "{}", describe(&output));
    let output = run(wrapt_uninstall(), &["--system", "--python", exe_arg], None);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(snapshot(&site_packages), before);
    assert_eq!(patched(&exe, None), "");
}

#[test]
fn user_site_packages_in_sitecustomize_mode() {
    let python = pythons().last().unwrap();
    let base = tempfile::tempdir().unwrap();
    let exe = python.exe.to_str().unwrap();
    let args = ["--user", "--python", exe, "--mode", "sitecustomize"];
    let output = run(wrapt_install(), &args, Some(base.path()));
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        patched(&python.exe, Some(base.path())),
        "patching tempfile\n"
    );
    let output = run(wrapt_uninstall(), &args[..3], Some(base.path()));
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(patched(&python.exe, Some(base.path())), "");
}

/// Step 3 of the startup sequence with user site-packages: what
/// usercustomize adds to `sys.path` is scanned too, in both modes and by
/// both implementations (the rescan waits for it: site runs it last).
#[test]
fn sys_path_entries_added_by_usercustomize_are_scanned() {
    let python = pythons().last().unwrap();
    let exe = python.exe.to_str().unwrap();
    let custom = tempfile::tempdir().unwrap();
    PatchDist {
        name: "user-patches",
        group: "late",
        entries: &[("colorsys", "user_patch:hook")],
        modules: &[(
            "user_patch.py",
            "def hook(m):\n    m.LATE = 'usercustomize'\n",
        )],
    }
    .write_into(custom.path());
    for mode in ["pth", "sitecustomize"] {
        let base = tempfile::tempdir().unwrap();
        let args = ["--user", "--python", exe, "--mode", mode];
        let output = run(wrapt_install(), &args, Some(base.path()));
        assert!(output.status.success(), "{}", describe(&output));
        let user_site = base
            .path()
            .join(format!("lib/python3.{}/site-packages", python.minor));
        fs::write(
            user_site.join("usercustomize.py"),
            format!("import sys\nsys.path.append({:?})\n", custom.path()),
        )
        .unwrap();
        for implementation in Implementation::BOTH {
            let mut command = std::process::Command::new(&python.exe);
            command
                .args(["-c", "import colorsys; print(colorsys.LATE)"])
                .env("WRAPT_PATCHES", "late")
                .env("PYTHONUSERBASE", base.path())
                .env_remove("PYTHONPATH")
                .env_remove("WRAPT_PATCHES_PURE");
            if implementation == Implementation::Fallback {
                command.env("WRAPT_PATCHES_PURE", "1");
            }
            let output = command.output().unwrap();
            assert_eq!(
                (stdout(&output).as_str(), stderr(&output).as_str()),
                ("usercustomize\n", ""),
                "{mode} mode, {implementation:?}: {}",
                describe(&output)
            );
        }
    }
}
