//! `--check` as a CI or image-build gate (issue 14): it starts the
//! environment as the application would (the caller's directory and
//! environment), shows what startup printed as information, exits 1 only on
//! a real problem, and its `--json` has the same keys in every state.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{
    describe, modes, plant_pth, pythons, pythons_and_pypy, stderr, stdout, wrapt_install, PatchDir,
    PatchDist, Venv, RECORDING_PATCH,
};

/// `wrapt-install --check --venv VENV ARGS`.
fn check(venv: &Venv, args: &[&str]) -> Command {
    let mut command = wrapt_install();
    command
        .arg("--check")
        .arg("--venv")
        .arg(&venv.root)
        .args(args);
    command
}

/// The `--json` report of `command` (`--check --json`).
fn report(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}): {}", describe(output)))
}

/// Group `acme.patches`: `target = acme_patch:hook`, whose `hook` is `body`
/// (the module is bound to `module`), written into site-packages.
fn patch_with(venv: &Venv, target: &str, body: &str) {
    let source = format!("import sys\ndef hook(module):\n{body}");
    PatchDist {
        name: "acme-patches",
        group: "acme.patches",
        entries: &[(target, "acme_patch:hook")],
        modules: &[("acme_patch.py", source.as_str())],
    }
    .write_into(&venv.site_packages);
}

/// A `.pth` file sorting after ours whose import line imports `module`: it
/// fires the hook on `module` while site runs.
fn import_at_startup(venv: &Venv, module: &str) {
    fs::write(
        venv.site_packages.join("zz_startup.pth"),
        format!("import {module}\n"),
    )
    .unwrap();
}

#[test]
fn a_patch_that_logs_at_startup_is_shown_as_information_and_passes() {
    for python in pythons_and_pypy() {
        let venv = Venv::installed(python);
        patch_with(
            &venv,
            "colorsys",
            "    sys.stderr.write('acme: patched %s\\n' % module.__name__)\n",
        );
        import_at_startup(&venv, "colorsys");
        let output = check(&venv, &[])
            .env("WRAPT_PATCHES", "acme.patches")
            .output()
            .unwrap();
        let what = format!("{python}: {}", describe(&output));
        assert!(output.status.success(), "{what}");
        assert!(
            stdout(&output).contains(
                "  startup printed on stderr (information, not a problem in itself):\n    acme: patched colorsys\n"
            ),
            "{what}"
        );
        assert!(!stderr(&output).contains("problem"), "{what}");

        let output = check(&venv, &["--json"])
            .env("WRAPT_PATCHES", "acme.patches")
            .output()
            .unwrap();
        let report = report(&output);
        assert!(output.status.success(), "{python}: {report:#}");
        assert_eq!(report["ok"], true, "{python}: {report:#}");
        assert_eq!(
            report["startup_stderr"],
            serde_json::json!(["acme: patched colorsys"]),
            "{python}: {report:#}"
        );
    }
}

#[test]
fn a_sitecustomize_of_the_users_that_writes_to_stderr_passes() {
    for python in pythons_and_pypy() {
        for mode in ["pth", "sitecustomize"] {
            let venv = Venv::new(python);
            fs::write(
                venv.site_packages.join("sitecustomize.py"),
                "import sys\nsys.stderr.write('site customised\\n')\n",
            )
            .unwrap();
            venv.install(&["--mode", mode]);
            let output = check(&venv, &["--json"]).output().unwrap();
            let report = report(&output);
            let what = format!("{python} {mode}: {report:#}");
            assert!(output.status.success(), "{what}");
            assert_eq!(
                report["startup_stderr"],
                serde_json::json!(["site customised"]),
                "{what}"
            );
            assert_eq!(report["status"]["active"], true, "{what}");
        }
    }
}

/// Regression: the check's own script ran `import json`, which fired every
/// hook on `json`, as no start of the application does.
#[test]
fn the_check_imports_nothing_a_hook_could_target() {
    for python in pythons_and_pypy() {
        let venv = Venv::installed(python);
        PatchDist {
            name: "acme-patches",
            group: "acme.patches",
            entries: &[("json", "acme_patch:hook")],
            modules: &[("acme_patch.py", RECORDING_PATCH)],
        }
        .write_into(&venv.site_packages);
        let log = venv.root.join("fired.log");
        let output = check(&venv, &["--json"])
            .env("WRAPT_PATCHES", "acme.patches")
            .env("ACME_LOG", &log)
            .output()
            .unwrap();
        let report = report(&output);
        let what = format!("{python}: {report:#}");
        assert!(output.status.success(), "{what}");
        // Registered, and startup did not import json: the hook is in time,
        // and nothing the check ran fired it.
        let json = report["ordering"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["target"] == "json")
            .unwrap_or_else(|| panic!("no hook on json: {what}"));
        assert_eq!(json["late"], false, "{what}");
        assert!(!log.exists(), "{python}: the check fired the hook on json");
    }
}

/// A patch that reads its configuration relative to the working directory
/// sees the one the application would see: the caller's.
#[test]
fn the_live_run_starts_in_the_callers_directory() {
    for python in pythons_and_pypy() {
        let venv = Venv::installed(python);
        patch_with(
            &venv,
            "colorsys",
            "    sys.stderr.write('config: ' + open('wrapture.toml').read())\n",
        );
        import_at_startup(&venv, "colorsys");
        let app = tempfile::tempdir().unwrap();
        fs::write(app.path().join("wrapture.toml"), "mode = \"app\"\n").unwrap();
        let output = check(&venv, &["--json"])
            .env("WRAPT_PATCHES", "acme.patches")
            .current_dir(app.path())
            .output()
            .unwrap();
        let report = report(&output);
        let what = format!("{python}: {report:#}");
        assert!(output.status.success(), "{what}");
        assert_eq!(
            report["startup_stderr"],
            serde_json::json!(["config: mode = \"app\""]),
            "{what}"
        );
        assert_eq!(
            Path::new(report["started_in"].as_str().unwrap()),
            app.path().canonicalize().unwrap(),
            "{what}"
        );

        // Elsewhere the hook fails at startup: a problem, whose traceback
        // is shown with what startup printed.
        let elsewhere = tempfile::tempdir().unwrap();
        let output = check(&venv, &[])
            .env("WRAPT_PATCHES", "acme.patches")
            .current_dir(elsewhere.path())
            .output()
            .unwrap();
        let text = describe(&output);
        assert_eq!(output.status.code(), Some(1), "{python}: {text}");
        assert!(
            stderr(&output).contains(
                "problem: at startup, hook 'acme_patch:hook' (group 'acme.patches', entry 'colorsys') for module 'colorsys' failed: its patch did not apply in full"
            ),
            "{python}: {text}"
        );
        assert!(
            stdout(&output).contains("FileNotFoundError"),
            "{python}: {text}"
        );
    }
}

/// `PYTHONPATH` is honoured, as the application's start honours it: the
/// patches found there, and the `sitecustomize` that wins there.
#[test]
fn the_live_run_sees_the_callers_pythonpath() {
    for python in pythons_and_pypy() {
        let venv = Venv::installed(python);
        let patches = PatchDir::new(&[PatchDist {
            name: "acme-patches",
            group: "acme.patches",
            entries: &[("colorsys", "acme_patch:hook")],
            modules: &[("acme_patch.py", RECORDING_PATCH)],
        }]);
        patches.write(
            "sitecustomize.py",
            "import sys\nsys.stderr.write('sitecustomize from PYTHONPATH\\n')\n",
        );
        let output = check(&venv, &["--json"])
            .envs(patches.env("acme.patches"))
            .output()
            .unwrap();
        let report = report(&output);
        let what = format!("{python}: {report:#}");
        assert!(output.status.success(), "{what}");
        assert_eq!(
            report["status"]["entry_points"]["acme.patches"], 1,
            "{what}"
        );
        assert_eq!(
            report["startup_stderr"],
            serde_json::json!(["sitecustomize from PYTHONPATH"]),
            "{what}"
        );
    }
}

/// Regression: a default group that `WRAPT_PATCHES` left out was not looked
/// for at all, and the text said it had 0 entry points, with a warning to
/// install the package that provides it.
#[test]
fn groups_are_counted_as_the_run_enabled_them_and_an_uninstalled_check_says_only_so() {
    let python = pythons().last().unwrap();
    let venv = Venv::with_pip(python);
    let pip = |args: &[&str]| {
        let output = Command::new(venv.interpreter())
            .args(["-m", "pip", "--disable-pip-version-check", "--no-input"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "pip {args:?}: {}",
            describe(&output)
        );
        output
    };
    let wheels = tempfile::tempdir().unwrap();
    let acme_db = PatchDist {
        name: "acme-db",
        group: "acme.db",
        entries: &[("sqlite3", "acme_db:patch")],
        modules: &[("acme_db.py", "def patch(module):\n    pass\n")],
    };
    let wheel = acme_db.build_wheel(&venv.interpreter(), wheels.path());
    pip(&[
        "install",
        "--no-index",
        "--no-deps",
        wheel.to_str().unwrap(),
    ]);
    venv.install(&["--enable", "acme.db"]);

    let text = |selection: &str| {
        let output = check(&venv, &[])
            .env("WRAPT_PATCHES", selection)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", describe(&output));
        assert!(
            !stderr(&output).contains("warning"),
            "{}",
            describe(&output)
        );
        stdout(&output)
    };
    let named = text("acme.db");
    assert!(named.contains("    acme.db: 1 entry point\n"), "{named}");
    let others = text("wrapt_bootstrap.examples");
    assert!(
        others.contains("    acme.db: a default this WRAPT_PATCHES leaves out, not looked for\n"),
        "{others}"
    );
    assert!(!others.contains("acme.db: 0"), "{others}");

    // A group that nothing provides is a warning, named or default.
    let output = check(&venv, &[])
        .env("WRAPT_PATCHES", "acme.typo")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        stderr(&output)
            .contains("warning: group acme.typo has no entry points in this environment"),
        "{}",
        describe(&output)
    );

    // Uninstalled by pip: one problem, and no description of an
    // installation that is not there.
    pip(&["uninstall", "-y", "wrapt-bootstrap"]);
    let output = check(&venv, &[]).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert_eq!(stdout(&output), "", "{}", describe(&output));
    assert!(
        stderr(&output).starts_with(&format!(
            "wrapt-install: problem: wrapt-bootstrap is not installed in {}; run wrapt-install\n",
            venv.site_packages.display()
        )),
        "{}",
        describe(&output)
    );
}

/// Regression: the check said "files verified: 14" after an install that
/// said "15 created": the two count the same files now, RECORD included.
#[test]
fn files_verified_counts_what_the_install_created() {
    for python in pythons_and_pypy() {
        for mode in modes(python) {
            let venv = Venv::new(python);
            let install = venv.install(&["--mode", mode, "--json"]);
            let install: Value = serde_json::from_slice(&install.stdout).unwrap();
            let created = install["counts"]["created"].as_u64().unwrap();
            let output = check(&venv, &["--json"]).output().unwrap();
            let report = report(&output);
            assert_eq!(
                report["files_verified"], created,
                "{python} {mode}: {report:#}"
            );
            let output = check(&venv, &[]).output().unwrap();
            assert!(
                stdout(&output)
                    .contains(&format!("  files verified: {created}, RECORD included\n")),
                "{python} {mode}: {}",
                describe(&output)
            );
        }
    }
}

/// The top-level keys of a `--check --json` report, in order.
fn keys(report: &Value) -> Vec<String> {
    report.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn the_json_report_has_the_same_keys_in_every_state() {
    for python in pythons_and_pypy() {
        let venv = Venv::new(python);
        let not_installed = report(&check(&venv, &["--json"]).output().unwrap());
        venv.install(&[]);
        let healthy = report(&check(&venv, &["--json"]).output().unwrap());
        fs::write(
            venv.site_packages.join("wrapt_bootstrap/examples.py"),
            "# changed\n",
        )
        .unwrap();
        let broken_output = check(&venv, &["--json"]).output().unwrap();
        assert_eq!(
            broken_output.status.code(),
            Some(1),
            "{}",
            describe(&broken_output)
        );
        let broken = report(&broken_output);

        let what = format!("{python}: {not_installed:#}\n{healthy:#}\n{broken:#}");
        assert_eq!(keys(&healthy), keys(&not_installed), "{what}");
        assert_eq!(keys(&healthy), keys(&broken), "{what}");
        for report in [&healthy, &not_installed, &broken] {
            assert_eq!(report["schema_version"], 1, "{what}");
            assert_eq!(report["command"], "check", "{what}");
        }
        assert!(healthy["error"].is_null(), "{what}");
        for report in [&not_installed, &broken] {
            assert_eq!(report["error"]["code"], "check_failed", "{what}");
            assert_eq!(report["error"]["exit_code"], 1, "{what}");
        }
        assert_eq!(healthy["ok"], true, "{what}");
        assert_eq!(
            not_installed["problems"][0]["code"], "not_installed",
            "{what}"
        );
        assert!(not_installed["status"].is_null(), "{what}");
        assert!(not_installed["activation"].is_null(), "{what}");
        let examples = venv.site_packages.join("wrapt_bootstrap/examples.py");
        let codes: Vec<(&str, &str)> = broken["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["code"].as_str().unwrap(),
                    p["path"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            codes,
            [
                ("modified", examples.to_str().unwrap()),
                ("activation_not_tried", "")
            ],
            "{what}"
        );
    }
}

/// As root, the live run imports from the caller's `PYTHONPATH` too: an
/// entry another user owns is refused before anything runs (a relative
/// one, as Python resolves it, against the working directory).
#[test]
fn root_refuses_a_pythonpath_entry_another_user_owns() {
    if !rustix::process::geteuid().is_root() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs the tests as root"
        );
        eprintln!("warning: not running as root; skipping the test of what root refuses");
        return;
    }
    let venv = Venv::installed(pythons().last().unwrap());
    let marker = plant_pth(&venv.site_packages);
    let app = tempfile::tempdir().unwrap();
    let theirs = app.path().join("theirs");
    fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    let output = check(&venv, &[])
        .env("PYTHONPATH", "theirs")
        .current_dir(app.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    assert_eq!(
        stderr(&output),
        format!(
            "wrapt-install: error: {} is owned by uid 65534 (nobody): as root, acting on it would run code that user controls; run it as that user, or pass --force to trust them\n",
            theirs.display()
        ),
        "{}",
        describe(&output)
    );
    assert!(!marker.exists(), "the environment was started");
    let output = check(&venv, &["--force"])
        .env("PYTHONPATH", "theirs")
        .current_dir(app.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
}

/// The check's own JSON encoder (it imports no `json`) carries any
/// character of a path, outside the Basic Multilingual Plane too.
#[test]
fn the_status_carries_any_character_of_a_path() {
    for python in pythons_and_pypy() {
        let scratch = tempfile::tempdir().unwrap();
        let root = scratch
            .path()
            .join("𝔭atches \"quoted\" \\ café ☕/the venv");
        fs::create_dir_all(root.parent().unwrap()).unwrap();
        let created = Command::new(&python.exe)
            .args(["-m", "venv", "--without-pip"])
            .arg(&root)
            .output()
            .unwrap();
        assert!(created.status.success(), "{}", describe(&created));
        let output = wrapt_install().arg("--venv").arg(&root).output().unwrap();
        assert!(output.status.success(), "{}", describe(&output));
        let output = wrapt_install()
            .args(["--check", "--json", "--venv"])
            .arg(&root)
            .output()
            .unwrap();
        let report = report(&output);
        assert!(output.status.success(), "{python}: {report:#}");
        let file = Path::new(report["status"]["file"].as_str().unwrap());
        assert!(
            file.starts_with(root.canonicalize().unwrap()),
            "{python}: {report:#}"
        );
    }
}
