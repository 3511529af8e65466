//! Mistakes in group names are said out loud: `--enable` of a group that
//! nothing in the environment declares and `--disable` of a group that is
//! not a default warn (and still succeed).

use std::fs;

use serde_json::Value;

use crate::support::{
    describe, pythons, run_ok, stderr, stdout, wrapt_install, PatchDist, Venv, RECORDING_PATCH,
};

/// `wrapt-install --venv VENV ARGS`, which must succeed.
fn install(venv: &Venv, args: &[&str]) -> std::process::Output {
    run_ok(wrapt_install().arg("--venv").arg(&venv.root).args(args))
}

/// The `warnings` of a `--json` report, as `(code, message)`.
fn json_warnings(output: &std::process::Output) -> Vec<(String, String)> {
    let report: Value = serde_json::from_str(&stdout(output)).expect("one JSON object");
    report["warnings"]
        .as_array()
        .unwrap_or_else(|| panic!("no warnings array: {}", describe(output)))
        .iter()
        .map(|finding| {
            assert!(finding["path"].is_null(), "{finding}");
            (
                finding["code"].as_str().unwrap().to_owned(),
                finding["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The installed defaults, as `--list --json` reports them.
fn defaults(venv: &Venv) -> Vec<String> {
    let output = install(venv, &["--list", "--json"]);
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    serde_json::from_value(report["defaults"].clone()).unwrap()
}

const EXAMPLES_TYPO: &str = "--enable wrapt_bootstrap.exmaples: no distribution on the environment's sys.path declares this group (did you mean wrapt_bootstrap.examples?); it is enabled anyway, and takes effect once one that does is installed";

#[test]
fn enable_of_a_group_nothing_declares_warns_with_the_nearest_and_succeeds() {
    let venv = Venv::new(pythons().last().unwrap());
    let enable = ["--enable", "wrapt_bootstrap.exmaples"];

    // A dry run says it too, and writes nothing.
    let output = install(&venv, &[&enable[..], &["--dry-run"]].concat());
    assert_eq!(
        stderr(&output),
        format!("wrapt-install: warning: {EXAMPLES_TYPO}\n"),
        "{}",
        describe(&output)
    );
    let output = install(&venv, &[&enable[..], &["--dry-run", "--json"]].concat());
    assert_eq!(
        json_warnings(&output),
        [("group_not_declared".to_owned(), EXAMPLES_TYPO.to_owned())]
    );
    assert_eq!(stderr(&output), "", "--json says it in the object only");
    assert!(!venv.site_packages.join("wrapt_bootstrap").exists());

    // Enabled anyway: its package may come later.
    let output = install(&venv, &enable);
    assert_eq!(
        stderr(&output),
        format!("wrapt-install: warning: {EXAMPLES_TYPO}\n"),
        "{}",
        describe(&output)
    );
    assert!(stdout(&output).contains("default groups: wrapt_bootstrap.exmaples\n"));
    assert_eq!(defaults(&venv), ["wrapt_bootstrap.exmaples"]);

    // Once installed, still a warning on every run that enables it, in
    // text and in JSON; a name close to nothing gets no suggestion.
    let output = install(&venv, &[&enable[..], &["--json"]].concat());
    assert_eq!(
        json_warnings(&output),
        [("group_not_declared".to_owned(), EXAMPLES_TYPO.to_owned())]
    );
    let output = install(&venv, &["--enable", "acme.patches"]);
    assert_eq!(
        stderr(&output),
        "wrapt-install: warning: --enable acme.patches: no distribution on the environment's sys.path declares this group; it is enabled anyway, and takes effect once one that does is installed\n",
        "{}",
        describe(&output)
    );
}

#[test]
fn enable_of_a_group_an_installed_package_declares_does_not_warn() {
    let venv = Venv::new(pythons().last().unwrap());
    // The example group: the install itself declares it.
    let output = install(&venv, &["--enable", "wrapt_bootstrap.examples"]);
    assert_eq!(stderr(&output), "", "{}", describe(&output));
    PatchDist {
        name: "acme-patches",
        group: "acme.patches",
        entries: &[("colorsys", "acme_patch:hook")],
        modules: &[("acme_patch.py", RECORDING_PATCH)],
    }
    .write_into(&venv.site_packages);
    // An editable install: on sys.path through a .pth path line, as site
    // would put it there.
    let editable = tempfile::tempdir().unwrap();
    PatchDist {
        name: "editable-patches",
        group: "editable.patches",
        entries: &[("wave", "editable_patch:hook")],
        modules: &[("editable_patch.py", RECORDING_PATCH)],
    }
    .write_into(editable.path());
    fs::write(
        venv.site_packages
            .join("__editable__.editable_patches-1.0.pth"),
        format!("{}\n", editable.path().display()),
    )
    .unwrap();
    let args = ["--enable", "acme.patches", "--enable", "editable.patches"];
    let output = install(&venv, &[&args[..], &["--dry-run", "--json"]].concat());
    assert_eq!(json_warnings(&output), []);
    let output = install(&venv, &args);
    assert_eq!(stderr(&output), "", "{}", describe(&output));
    assert_eq!(
        defaults(&venv),
        [
            "acme.patches",
            "editable.patches",
            "wrapt_bootstrap.examples"
        ]
    );
}

#[test]
fn disable_of_a_group_that_is_not_a_default_warns_with_the_defaults() {
    let venv = Venv::new(pythons().last().unwrap());
    let output = install(&venv, &["--disable", "acme.patches"]);
    let none = "--disable acme.patches: not a default group, nothing to disable (there are no default groups)";
    assert_eq!(
        stderr(&output),
        format!("wrapt-install: warning: {none}\n"),
        "{}",
        describe(&output)
    );

    install(&venv, &["--enable", "wrapt_bootstrap.examples"]);
    let typo = "--disable wrapt_bootstrap.exmaples: not a default group, nothing to disable (the defaults are wrapt_bootstrap.examples; did you mean wrapt_bootstrap.examples?)";
    let disable = ["--disable", "wrapt_bootstrap.exmaples"];
    for extra in [&[][..], &["--dry-run"]] {
        let output = install(&venv, &[&disable[..], extra].concat());
        assert_eq!(
            stderr(&output),
            format!("wrapt-install: warning: {typo}\n"),
            "{extra:?}: {}",
            describe(&output)
        );
    }
    let output = install(&venv, &[&disable[..], &["--json"]].concat());
    assert_eq!(
        json_warnings(&output),
        [("not_a_default".to_owned(), typo.to_owned())]
    );
    // Nothing close among the defaults: no suggestion.
    let output = install(&venv, &["--disable", "acme.patches", "--dry-run"]);
    assert!(
        stderr(&output).ends_with("(the defaults are wrapt_bootstrap.examples)\n"),
        "{}",
        describe(&output)
    );
    assert_eq!(defaults(&venv), ["wrapt_bootstrap.examples"]);

    // Disabling a default says nothing; an uninstall has no warnings.
    let output = install(&venv, &["--disable", "wrapt_bootstrap.examples"]);
    assert_eq!(stderr(&output), "", "{}", describe(&output));
    let output = run_ok(
        crate::support::wrapt_uninstall()
            .arg("--venv")
            .arg(&venv.root)
            .args(["--dry-run", "--json"]),
    );
    assert_eq!(json_warnings(&output), []);
}
