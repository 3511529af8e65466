//! `--json` as an interface: one object on stdout, whatever happened, with
//! `schema_version`, the same keys in every state of a command (null where
//! the run did not get to know), and on failure an `error` object whose
//! `exit_code` is the process's.

use std::collections::BTreeSet;
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{describe, pythons, run_ok, wrapt_install, wrapt_uninstall, Venv};

/// The one JSON object a run printed, checked against its exit code.
fn object(command: &mut Command) -> Value {
    let output: Output = command.output().unwrap();
    let value: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {}", describe(&output)));
    assert_eq!(value["schema_version"], 1, "{value:#}");
    let code = output.status.code().unwrap();
    if code == 0 {
        assert_eq!(value["ok"], true, "{value:#}");
        assert_eq!(value["error"], Value::Null, "{value:#}");
    } else {
        assert_eq!(value["ok"], false, "{value:#}");
        assert_eq!(value["error"]["exit_code"], code, "{value:#}");
        assert!(value["error"]["code"].is_string(), "{value:#}");
        assert!(value["error"]["message"].is_string(), "{value:#}");
    }
    value
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

/// Every object has the keys of the first, and says its command.
fn assert_same_keys(command: &str, objects: &[Value]) {
    for value in objects {
        assert_eq!(value["command"], command, "{value:#}");
        assert_eq!(keys(value), keys(&objects[0]), "{value:#}");
    }
}

#[test]
fn install_and_uninstall_objects_have_the_same_keys_in_every_state() {
    let python = pythons().last().unwrap();
    let venv = Venv::new(python);
    let dir = venv.root.to_str().unwrap();
    let install = |extra: &[&str]| {
        let mut command = wrapt_install();
        command.args(["--venv", dir, "--json"]).args(extra);
        command
    };
    let missing = venv.root.join("missing");
    let missing = missing.to_str().unwrap();

    let dry_run = object(
        install(&["--dry-run"])
            .arg("--enable")
            .arg("wrapt_bootstrap.examples"),
    );
    let installed = object(&mut install(&[]));
    assert!(
        installed["counts"]["created"].as_u64().unwrap() > 0,
        "{installed:#}"
    );
    let again = object(&mut install(&[]));
    assert_eq!(again["nothing_to_do"], true, "{again:#}");
    // Usage errors, before anything is known: exit 2, keys null.
    let no_venv = object(wrapt_install().args(["--venv", missing, "--json"]));
    assert_eq!(no_venv["error"]["code"], "missing", "{no_venv:#}");
    assert_eq!(no_venv["purelib"], Value::Null, "{no_venv:#}");
    let bad_group = object(install(&["--enable", "bad;name"]).arg("--dry-run"));
    assert_eq!(bad_group["error"]["code"], "invalid_group");
    let would_create = object(
        wrapt_install()
            .args(["--venv", missing, "--create", "--dry-run", "--json"])
            .args(["--python", python.exe.to_str().unwrap()]),
    );
    assert_eq!(would_create["create"]["venv"], missing, "{would_create:#}");
    // A refusal: the dry run's object says what it found, and the error.
    let foreign = venv.site_packages.join("wrapt_bootstrap/foreign.py");
    std::fs::write(&foreign, "# not ours\n").unwrap();
    std::fs::write(
        venv.site_packages.join("00_wrapt_bootstrap.pth"),
        "# a user's\n",
    )
    .unwrap();
    let refused = object(&mut install(&["--dry-run"]));
    assert_eq!(refused["error"]["code"], "modified", "{refused:#}");
    assert_eq!(refused["error"]["exit_code"], 3);
    assert!(
        refused["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["problem"] == "modified"),
        "{refused:#}"
    );
    let refused_for_real = object(&mut install(&[]));
    assert_eq!(refused_for_real["error"]["exit_code"], 3);
    assert_same_keys(
        "install",
        &[
            dry_run,
            installed,
            again,
            no_venv,
            bad_group,
            would_create,
            refused,
            refused_for_real,
        ],
    );

    let uninstall = |extra: &[&str]| {
        let mut command = wrapt_uninstall();
        command
            .args(["--venv", dir, "--json", "--force"])
            .args(extra);
        command
    };
    let dry = object(&mut uninstall(&["--dry-run"]));
    let removed = object(&mut uninstall(&[]));
    assert_eq!(removed["installed_before"][0], env!("CARGO_PKG_VERSION"));
    let absent = object(&mut uninstall(&[]));
    assert_eq!(absent["nothing_to_do"], true, "{absent:#}");
    let no_venv = object(wrapt_uninstall().args(["--venv", missing, "--json"]));
    assert_eq!(no_venv["error"]["exit_code"], 2, "{no_venv:#}");
    assert_eq!(no_venv["defaults"], Value::Null);
    assert_same_keys("uninstall", &[dry, removed, absent, no_venv]);
    std::fs::remove_file(foreign).unwrap();
}

#[test]
fn list_and_check_objects_have_the_same_keys_in_every_state() {
    let python = pythons().last().unwrap();
    let venv = Venv::new(python);
    let dir = venv.root.to_str().unwrap();
    let missing = venv.root.join("missing");
    let missing = missing.to_str().unwrap();

    let not_installed = object(wrapt_install().args(["--venv", dir, "--list", "--json"]));
    assert_eq!(not_installed["installed"], false, "{not_installed:#}");
    run_ok(wrapt_install().args(["--venv", dir, "--enable", "acme.none"]));
    let listed = object(wrapt_install().args(["--venv", dir, "--list", "--json"]));
    assert_eq!(listed["installed"], true);
    // The warning stderr gives without --json is in the object instead.
    let warnings = listed["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w["code"] == "default_not_declared"),
        "{listed:#}"
    );
    let failed = object(wrapt_install().args(["--venv", missing, "--list", "--json"]));
    assert_eq!(failed["groups"], Value::Null, "{failed:#}");
    assert_same_keys("list", &[not_installed, listed, failed]);

    // A check that fails on its findings (exit 1) carries them and the
    // error; one that cannot start (exit 2) only the error.
    let healthy = object(wrapt_install().args(["--venv", dir, "--check", "--json"]));
    std::fs::write(
        venv.site_packages.join("wrapt_bootstrap/_api.py"),
        "# changed\n",
    )
    .unwrap();
    let broken = object(wrapt_install().args(["--venv", dir, "--check", "--json"]));
    assert_eq!(broken["error"]["code"], "check_failed", "{broken:#}");
    assert!(!broken["problems"].as_array().unwrap().is_empty());
    let failed = object(wrapt_install().args(["--venv", missing, "--check", "--json"]));
    assert_eq!(failed["error"]["code"], "missing", "{failed:#}");
    assert_same_keys("check", &[healthy, broken, failed]);
}
