//! Mistakes in group names are said out loud: `--enable` of a group that
//! nothing in the environment declares and `--disable` of a group that is
//! not a default warn (and still succeed), and under `WRAPT_PATCHES_DEBUG`
//! the bootstrap says what it selected and why, why nothing was selected,
//! and which enabled group no distribution declares, with the nearest one
//! that exists. Without `WRAPT_PATCHES_DEBUG` startup stays silent.

use std::fs;

use serde_json::Value;

use crate::support::{
    describe, each_interpreter, pypy, pythons, recording_dist, run_ok, stderr, stdout,
    wrapt_install, Implementation, PatchDist, Venv, RECORDING_PATCH,
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

/// What `WRAPT_PATCHES_DEBUG` prints on stderr for `python -c pass`
/// with `env` in `venv`.
fn trace(venv: &Venv, implementation: Implementation, env: &[(&str, &str)]) -> String {
    let mut env = env.to_vec();
    env.push(("WRAPT_PATCHES_DEBUG", "1"));
    let output = venv.run_code(implementation, &env, "pass");
    assert_eq!(stdout(&output), "", "the bootstrap never writes to stdout");
    stderr(&output)
}

/// Without `WRAPT_PATCHES_DEBUG`, `env` prints nothing at startup.
fn assert_silent(venv: &Venv, implementation: Implementation, env: &[(&str, &str)]) {
    let output = venv.run_code(implementation, env, "pass");
    assert_eq!(
        (stdout(&output).as_str(), stderr(&output).as_str()),
        ("", ""),
        "{env:?}: {}",
        describe(&output)
    );
}

#[test]
fn a_misspelt_group_under_debug_names_the_nearest_declared_group() {
    let patches = recording_dist("colorsys");
    each_interpreter(|venv, implementation| {
        let name = implementation.name();
        let output = trace(
            venv,
            implementation,
            &[("WRAPT_PATCHES", "wrapt_bootstrap.exmaples")],
        );
        assert_eq!(
            output,
            format!(
                "wrapt-bootstrap: selected wrapt_bootstrap.exmaples: WRAPT_PATCHES='wrapt_bootstrap.exmaples'\n\
                 wrapt-bootstrap: implementation {name}; groups wrapt_bootstrap.exmaples\n\
                 wrapt-bootstrap: no distribution on sys.path declares group 'wrapt_bootstrap.exmaples' (did you mean 'wrapt_bootstrap.examples'?)\n"
            )
        );
        // The nearest among what the environment declares, a patch
        // package's group included; a group that is found is not named,
        // and one close to nothing gets no suggestion.
        let env = [
            ("WRAPT_PATCHES", "acme.patchs,acme.patches,zzz"),
            ("PYTHONPATH", patches.path_str()),
        ];
        let output = trace(venv, implementation, &env);
        let missing: Vec<&str> = output
            .lines()
            .filter(|line| line.contains("declares group"))
            .collect();
        assert_eq!(
            missing,
            [
                "wrapt-bootstrap: no distribution on sys.path declares group 'acme.patchs' (did you mean 'acme.patches'?)",
                "wrapt-bootstrap: no distribution on sys.path declares group 'zzz'",
            ],
            "{output}"
        );
        for env in [
            &[("WRAPT_PATCHES", "wrapt_bootstrap.exmaples")][..],
            &env,
            &[("WRAPT_PATCHES", "0")],
            &[("AUTOWRAPT_BOOTSTRAP", "")],
        ] {
            assert_silent(venv, implementation, env);
        }
    });
}

/// What `WRAPT_PATCHES_DEBUG` says of each selection, first: the groups
/// and where they came from, or why there are none.
#[test]
fn debug_says_what_was_selected_and_why() {
    each_interpreter(|venv, implementation| {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("WRAPT_PATCHES", "0")],
                "nothing selected: WRAPT_PATCHES='0' is the kill switch (AUTOWRAPT_BOOTSTRAP is ignored too)",
            ),
            (
                &[("WRAPT_PATCHES", " , "), ("AUTOWRAPT_BOOTSTRAP", "wrapt_bootstrap.examples")],
                "nothing selected: WRAPT_PATCHES=' , ' is the kill switch (AUTOWRAPT_BOOTSTRAP is ignored too)",
            ),
            // The shared environment has no defaults.
            (
                &[("WRAPT_PATCHES", "-wrapt_bootstrap.examples")],
                "nothing selected: the default groups (none) edited by WRAPT_PATCHES='-wrapt_bootstrap.examples'",
            ),
            (
                &[("AUTOWRAPT_BOOTSTRAP", "")],
                "nothing selected: WRAPT_PATCHES is unset and there are no default groups; AUTOWRAPT_BOOTSTRAP='' names none",
            ),
            (
                &[("WRAPT_PATCHES", "+wrapt_bootstrap.examples")],
                "selected wrapt_bootstrap.examples: the default groups (none) edited by WRAPT_PATCHES='+wrapt_bootstrap.examples'",
            ),
            (
                &[("AUTOWRAPT_BOOTSTRAP", "wrapt_bootstrap.examples")],
                "selected (none): WRAPT_PATCHES is unset and there are no default groups; AUTOWRAPT_BOOTSTRAP='wrapt_bootstrap.examples' adds wrapt_bootstrap.examples",
            ),
        ];
        for (env, expected) in cases {
            let output = trace(venv, implementation, env);
            let first = output.lines().next().unwrap_or_default();
            assert_eq!(
                first,
                format!("wrapt-bootstrap: {expected}"),
                "{env:?}:\n{output}"
            );
            if expected.starts_with("nothing") {
                assert_eq!(output.lines().count(), 1, "{env:?}:\n{output}");
            }
        }
        // Debug alone, with nothing set and no defaults, imports nothing of
        // ours (two dictionary lookups), so there is nothing to say.
        assert_eq!(trace(venv, implementation, &[]), "");
        for (env, _) in cases.iter().filter(|(_, said)| said.starts_with("nothing")) {
            assert_silent(venv, implementation, env);
        }
    });
}

/// With defaults, in every activation mode: the selection from them, and
/// the kill switch, which the `.pth` line, the `.start` entry point and our
/// sitecustomize decide before loading anything, unless traced.
#[test]
fn debug_says_why_in_every_mode() {
    let pythons: Vec<_> = pythons().last().into_iter().chain(pypy()).collect();
    for python in pythons {
        let venv = Venv::new(python);
        for &mode in crate::support::modes(python) {
            install(
                &venv,
                &["--mode", mode, "--enable", "wrapt_bootstrap.examples"],
            );
            for &implementation in python.implementations() {
                let what = format!("{python} {mode} {}", implementation.name());
                let first = |env: &[(&str, &str)]| {
                    let output = trace(&venv, implementation, env);
                    output.lines().next().unwrap_or_default().to_owned()
                };
                assert_eq!(
                    first(&[]),
                    "wrapt-bootstrap: selected wrapt_bootstrap.examples: the default groups wrapt_bootstrap.examples (WRAPT_PATCHES is unset)",
                    "{what}"
                );
                assert_eq!(
                    first(&[("WRAPT_PATCHES", "off")]),
                    "wrapt-bootstrap: nothing selected: WRAPT_PATCHES='off' is the kill switch (AUTOWRAPT_BOOTSTRAP is ignored too)",
                    "{what}"
                );
                assert_eq!(
                    first(&[("WRAPT_PATCHES", "-wrapt_bootstrap.examples")]),
                    "wrapt-bootstrap: nothing selected: the default groups wrapt_bootstrap.examples edited by WRAPT_PATCHES='-wrapt_bootstrap.examples'",
                    "{what}"
                );
                // Untraced, the kill switch loads nothing but, in .pth and
                // start mode, the package that decides it.
                let output = venv.run_code(
                    implementation,
                    &[("WRAPT_PATCHES", "off")],
                    "import sys; print(sorted(m for m in sys.modules if m.startswith('wrapt_bootstrap.')))",
                );
                assert_eq!(
                    (stdout(&output).as_str(), stderr(&output).as_str()),
                    ("[]\n", ""),
                    "{what}: {}",
                    describe(&output)
                );
            }
        }
    }
}

/// A group that a `.pth` path line after ours brings (an editable install)
/// is found when site has finished, so it is not named as missing then;
/// an activation outside startup (`python -S`, then an import) names the
/// missing ones at once.
#[test]
fn missing_groups_are_named_once_site_has_finished() {
    let pythons: Vec<_> = pythons().last().into_iter().chain(pypy()).collect();
    let patches = recording_dist("colorsys");
    for python in pythons {
        let venv = Venv::installed(python);
        fs::write(
            venv.site_packages.join("zz_acme.pth"),
            format!("{}\n", patches.path_str()),
        )
        .unwrap();
        let site_packages = venv.site_packages.to_str().unwrap();
        for &implementation in python.implementations() {
            let what = format!("{python} {}", implementation.name());
            let output = trace(
                &venv,
                implementation,
                &[("WRAPT_PATCHES", "acme.patches,acme.patchs")],
            );
            let missing: Vec<&str> = output
                .lines()
                .filter(|line| line.contains("declares group"))
                .collect();
            assert_eq!(
                missing,
                ["wrapt-bootstrap: no distribution on sys.path declares group 'acme.patchs' (did you mean 'acme.patches'?)"],
                "{what}:\n{output}"
            );
            assert!(
                output.contains("registered hook 'acme_patch:hook'"),
                "{what}:\n{output}"
            );

            let code =
                format!("import sys; sys.path.append({site_packages:?}); import wrapt_bootstrap");
            let output = venv.python(
                implementation,
                &[
                    ("WRAPT_PATCHES", "wrapt_bootstrap.example"),
                    ("WRAPT_PATCHES_DEBUG", "1"),
                ],
                &["-S", "-c", &code],
            );
            assert!(output.status.success(), "{what}: {}", describe(&output));
            assert!(
                stderr(&output).ends_with(
                    "wrapt-bootstrap: no distribution on sys.path declares group 'wrapt_bootstrap.example' (did you mean 'wrapt_bootstrap.examples'?)\n"
                ),
                "{what}: {}",
                describe(&output)
            );
        }
    }
}
