//! Which activation file each interpreter gets: the `.pth` line up to 3.17
//! (a `.start` file costs every start of 3.15+ the import of `pkgutil` and
//! runs after every `.pth` import line), a PEP 829 `.start` where asked for
//! (3.15+) or where `.pth` import lines are ignored (3.18+; none to run
//! here, so `--mode start` on 3.15 stands in for it), and what a re-install
//! does when the interpreter changed under an installation.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use crate::support::{
    assert_served_by, describe, pythons, shared_venv, stderr, stdout, wrapt_install,
    Implementation, Python, Venv,
};

const MODULES: &str = "import sys; print(sorted(sys.modules))";
const EXAMPLES: [(&str, &str); 1] = [("WRAPT_PATCHES", "wrapt_bootstrap.examples")];
const MKDTEMP: &str = "from tempfile import mkdtemp; import os; os.rmdir(mkdtemp())";

fn check(venv: &Venv) -> std::process::Output {
    wrapt_install()
        .arg("--check")
        .arg("--venv")
        .arg(&venv.root)
        .output()
        .unwrap()
}

/// The names in `sorted(sys.modules)` printed by [`MODULES`].
fn modules(output: &std::process::Output) -> Vec<String> {
    let text = stdout(output);
    text.trim()
        .trim_matches(['[', ']'])
        .split(", ")
        .map(|name| name.trim_matches('\'').to_owned())
        .collect()
}

#[test]
fn dormant_the_default_install_imports_nothing_a_bare_venv_does_not() {
    // The whole import footprint of an idle start, on every version: where
    // a .start file would make site import pkgutil (3.15+), there is none.
    // The bare venv holds a comment-only .pth: reading any .pth file costs
    // what site's reading costs (from 3.14 it decodes them as utf-8-sig,
    // importing that codec).
    for python in pythons() {
        let bare = Venv::new(python);
        fs::write(bare.site_packages.join("other.pth"), "# a comment\n").unwrap();
        let ours = shared_venv(python);
        let bare_modules = modules(&bare.run_code(Implementation::Native, &[], MODULES));
        let our_modules = modules(&ours.run_code(Implementation::Native, &[], MODULES));
        assert_eq!(our_modules, bare_modules, "python 3.{}", python.minor);
        assert!(!ours.site_packages.join("00_wrapt_bootstrap.start").exists());
    }
}

#[test]
fn start_mode_where_site_runs_start_files_and_a_refusal_elsewhere() {
    for python in pythons() {
        let venv = Venv::new(python);
        let before = venv.snapshot();
        if python.minor < 15 {
            let output = wrapt_install()
                .args(["--mode", "start", "--venv"])
                .arg(&venv.root)
                .output()
                .unwrap();
            assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
            assert_eq!(stderr(&output).lines().count(), 1, "{}", describe(&output));
            assert!(
                stderr(&output).contains(&format!(
                    "--mode start cannot activate Python 3.{}.",
                    python.minor
                )) && stderr(&output).contains("from CPython 3.15 on"),
                "{}",
                describe(&output)
            );
            assert_eq!(venv.snapshot(), before, "nothing written");
            continue;
        }
        start_mode(python, &venv);
        let output = crate::support::wrapt_uninstall()
            .arg("--venv")
            .arg(&venv.root)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", describe(&output));
        assert_eq!(venv.snapshot(), before, "uninstalled to the byte");
    }
}

fn start_mode(python: &Python, venv: &Venv) {
    let what = format!("python 3.{}", python.minor);
    venv.install(&["--mode", "start"]);
    for implementation in Implementation::BOTH {
        let output = venv.run_code(implementation, &EXAMPLES, MKDTEMP);
        assert_eq!(
            stderr(&output),
            "patching tempfile\ncalling mkdtemp\n",
            "{what} {}",
            implementation.name()
        );
        assert_served_by(venv, implementation, &EXAMPLES);
    }
    // Idle, the entry point's package is all of ours that site imports.
    let output = venv.run_code(Implementation::Native, &[], MODULES);
    let ours: Vec<String> = modules(&output)
        .into_iter()
        .filter(|name| name.contains("wrapt_bootstrap"))
        .collect();
    assert_eq!(ours, ["_wrapt_bootstrap_start"], "{what}");
    // --check passes, and says what the .start costs before 3.18.
    let output = check(venv);
    assert!(output.status.success(), "{what}: {}", describe(&output));
    assert!(
        stdout(&output).contains("activation: active (native, by start)")
            && stderr(&output).contains("00_wrapt_bootstrap.start makes site import pkgutil")
            && stderr(&output).contains("wrapt-install --mode pth"),
        "{what}: {}",
        describe(&output)
    );
    // A re-install keeps the mode it was given.
    let output = venv.install(&["--enable", "wrapt_bootstrap.examples"]);
    assert!(
        stdout(&output).contains("activation: 00_wrapt_bootstrap.start"),
        "{what}: {}",
        describe(&output)
    );
    let output = venv.run_code(Implementation::Native, &[], "import tempfile");
    assert_eq!(stderr(&output), "patching tempfile\n", "{what}: defaults");
    venv.install(&["--disable", "wrapt_bootstrap.examples"]);
}

/// Copies every file of `from` into `to`, directories included.
fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_reinstall_after_the_interpreter_changed_switches_the_activation() {
    let find = |minor| pythons().iter().find(|python| python.minor == minor);
    let (Some(newer), Some(older)) = (find(15), find(14)) else {
        // pythons() fails under CI when either is missing.
        return;
    };
    // An installation made for 3.15 (a .start), in an environment whose
    // interpreter is now 3.14, which ignores .start files: what a venv
    // rebuilt over its old site-packages, or a moved one, looks like.
    let installed = Venv::new(newer);
    installed.install(&["--mode", "start"]);
    let venv = Venv::new(older);
    copy_tree(&installed.site_packages, &venv.site_packages);

    let output = venv.run_code(Implementation::Native, &EXAMPLES, "import tempfile");
    assert_eq!(stderr(&output), "", "not active, and silent");
    let output = check(&venv);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(
        stderr(&output).contains("00_wrapt_bootstrap.start cannot activate Python 3.14.")
            && stderr(&output).contains("run wrapt-install to switch to 00_wrapt_bootstrap.pth"),
        "{}",
        describe(&output)
    );

    let output = venv.install(&[]);
    assert!(
        stdout(&output).contains(
            "switched from 00_wrapt_bootstrap.start to 00_wrapt_bootstrap.pth for Python 3.14."
        ),
        "{}",
        describe(&output)
    );
    let site = &venv.site_packages;
    assert!(site.join("00_wrapt_bootstrap.pth").is_file());
    assert!(!site.join("00_wrapt_bootstrap.start").exists());
    assert!(!site.join("_wrapt_bootstrap_start").exists());
    let output = check(&venv);
    assert!(output.status.success(), "{}", describe(&output));
    let output = venv.run_code(Implementation::Native, &EXAMPLES, "import tempfile");
    assert_eq!(stderr(&output), "patching tempfile\n");
}

#[test]
fn the_start_file_of_an_earlier_layout_is_reported_and_removed() {
    // Earlier installs wrote wrapt_bootstrap:_activate in a .start beside
    // the .pth: on 3.15+ it suppresses the .pth line and costs every start
    // the import of pkgutil.
    for python in pythons() {
        let venv = Venv::installed(python);
        let site = &venv.site_packages;
        let start = b"wrapt_bootstrap:_activate\n";
        fs::write(site.join("00_wrapt_bootstrap.start"), start).unwrap();
        let record = site.join(format!(
            "wrapt_bootstrap-{}.dist-info/RECORD",
            env!("CARGO_PKG_VERSION")
        ));
        let mut text = fs::read_to_string(&record).unwrap();
        writeln!(
            text,
            "00_wrapt_bootstrap.start,{},{}",
            wrapt_install::hash_bytes(start),
            start.len()
        )
        .unwrap();
        fs::write(&record, text).unwrap();

        let what = format!("python 3.{}", python.minor);
        let output = check(&venv);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{what}: {}",
            describe(&output)
        );
        assert!(
            stderr(&output)
                .contains("00_wrapt_bootstrap.start is left from an earlier wrapt-install"),
            "{what}: {}",
            describe(&output)
        );
        let output = venv.run_code(Implementation::Native, &[], MODULES);
        assert_eq!(
            modules(&output).contains(&"pkgutil".to_owned()),
            python.minor >= 15,
            "{what}: the cost of the earlier layout"
        );

        venv.install(&[]);
        assert!(!site.join("00_wrapt_bootstrap.start").exists(), "{what}");
        let output = check(&venv);
        assert!(output.status.success(), "{what}: {}", describe(&output));
        let output = venv.run_code(Implementation::Native, &[], MODULES);
        assert!(!modules(&output).contains(&"pkgutil".to_owned()), "{what}");
    }
}
