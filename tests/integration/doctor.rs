//! The ordering doctor of `--check`: per hook registered at startup,
//! registered in time or late, and by what a late target was imported.

use std::fs;

use crate::support::{
    describe, pythons, pythons_and_pypy, stderr, stdout, wrapt_install, Kind, PatchDist, Venv,
};

fn acme_patches(venv: &Venv) {
    PatchDist {
        name: "acme-patches",
        group: "acme.patches",
        entries: &[
            ("colorsys", "acme_patch:hook"),
            ("wave", "acme_patch:hook"),
            ("codecs", "acme_patch:hook"),
        ],
        modules: &[("acme_patch.py", "def hook(module):\n    pass\n")],
    }
    .write_into(&venv.site_packages);
}

/// `wrapt-install --check --json` with `WRAPT_PATCHES=acme.patches`: the
/// report, and each target's (late, explanation).
fn check(venv: &Venv) -> (serde_json::Value, Vec<(String, bool, String)>) {
    let output = wrapt_install()
        .args(["--check", "--json", "--venv"])
        .arg(&venv.root)
        .env("WRAPT_PATCHES", "acme.patches")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let ordering = report["ordering"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["target"].as_str().unwrap().to_owned(),
                o["late"].as_bool().unwrap(),
                o["explanation"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (report, ordering)
}

#[test]
fn check_shows_which_hooks_were_registered_too_late_and_why() {
    for python in pythons_and_pypy() {
        let venv = Venv::installed(python);
        acme_patches(&venv);
        // Sorts before our .pth, so it runs first.
        fs::write(
            venv.site_packages.join("000_early.pth"),
            "import colorsys\n",
        )
        .unwrap();
        let (report, ordering) = check(&venv);
        let what = format!("{python}: {report:#}");
        assert_eq!(
            report["selection"], "acme.patches,+wrapt_bootstrap.examples",
            "{what}"
        );
        let targets: Vec<(&str, bool)> = ordering
            .iter()
            .map(|(target, late, _)| (target.as_str(), *late))
            .collect();
        assert_eq!(
            targets,
            [
                ("colorsys", true),
                ("wave", false),
                ("codecs", true),
                ("tempfile", false)
            ],
            "{what}"
        );
        // PyPy has no -X importtime to tell who imported what, or when.
        let (colorsys, codecs) = match python.kind {
            Kind::CPython => (
                "by site, running an import line of 000_early.pth;",
                "before site ran;",
            ),
            Kind::PyPy => (
                "by an importer this interpreter cannot show (it has no -X importtime; an import line of 000_early.pth names it);",
                "by an importer this interpreter cannot show (it has no -X importtime);",
            ),
        };
        assert!(
            ordering[0].2.contains(&format!(
                "imported before wrapt-bootstrap activated, {colorsys}"
            )),
            "{what}"
        );
        assert!(
            ordering[2].2.contains(codecs),
            "codecs comes with the interpreter: {what}"
        );
        assert_eq!(report["warnings"].as_array().unwrap().len(), 2, "{what}");
        assert_eq!(report["ok"], true, "late hooks are warnings: {what}");
    }
}

#[test]
fn sitecustomize_mode_comes_after_every_pth_line_and_the_doctor_says_so() {
    let venv = Venv::new(pythons().last().unwrap());
    venv.install(&["--mode", "sitecustomize"]);
    acme_patches(&venv);
    fs::write(venv.site_packages.join("zz_late.pth"), "import wave\n").unwrap();
    let (report, ordering) = check(&venv);
    let wave = ordering
        .iter()
        .find(|(target, ..)| target == "wave")
        .unwrap();
    assert!(wave.1, "{report:#}");
    assert!(
        wave.2
            .contains("by site, running an import line of zz_late.pth"),
        "{report:#}"
    );
    // The same line is in time for the default mode's .pth, which runs first.
    venv.install(&["--mode", "pth"]);
    let (report, ordering) = check(&venv);
    let wave = ordering
        .iter()
        .find(|(target, ..)| target == "wave")
        .unwrap();
    assert!(!wave.1, "{report:#}");
}

#[test]
fn start_files_run_after_a_pth_line_and_before_a_start_file_of_ours() {
    // PEP 829: site runs every .pth import line, then the .start entry
    // points in sorted order. A .start entry point's module is imported
    // through importlib, which -X importtime does not show.
    for python in pythons().iter().filter(|python| python.minor >= 15) {
        let venv = Venv::installed(python);
        acme_patches(&venv);
        fs::write(
            venv.site_packages.join("early.py"),
            "import colorsys\ndef run():\n    pass\n",
        )
        .unwrap();
        fs::write(venv.site_packages.join("000_early.start"), "early:run\n").unwrap();
        let late = |ordering: &[(String, bool, String)]| {
            ordering
                .iter()
                .find(|(target, ..)| target == "colorsys")
                .map(|(_, late, explanation)| (*late, explanation.clone()))
                .unwrap()
        };
        let (report, ordering) = check(&venv);
        assert!(!late(&ordering).0, "our .pth line runs first: {report:#}");

        venv.install(&["--mode", "start"]);
        let (report, ordering) = check(&venv);
        let (is_late, explanation) = late(&ordering);
        assert!(is_late, "{report:#}");
        assert!(
            explanation.contains("imported before wrapt-bootstrap activated, by site (an entry point of 000_early.start (early:run) or what its module imports,"),
            "{report:#}"
        );
    }
}

#[test]
fn strict_makes_a_late_hook_a_problem() {
    let python = pythons().last().unwrap();
    let venv = Venv::installed(python);
    PatchDist {
        name: "acme-patches",
        group: "acme.patches",
        entries: &[("colorsys", "acme_patch:hook"), ("wave", "acme_patch:hook")],
        modules: &[("acme_patch.py", "def hook(module):\n    pass\n")],
    }
    .write_into(&venv.site_packages);
    fs::write(
        venv.site_packages.join("000_early.pth"),
        "import colorsys\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        wrapt_install()
            .args(["--check", "--venv"])
            .arg(&venv.root)
            .args(args)
            .env("WRAPT_PATCHES", "acme.patches")
            .output()
            .unwrap()
    };
    let output = run(&[]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        stderr(&output).contains("warning: colorsys (group acme.patches) was late"),
        "{}",
        describe(&output)
    );
    let output = run(&["--strict"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(
        stderr(&output).contains("problem: colorsys (group acme.patches) was late: imported before wrapt-bootstrap activated"),
        "{}",
        describe(&output)
    );
    let output = run(&["--strict", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["strict"], true, "{report:#}");
    assert_eq!(report["warnings"], serde_json::json!([]), "{report:#}");
    let codes: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["late_hook"], "{report:#}");

    // Nothing late: --strict passes.
    fs::remove_file(venv.site_packages.join("000_early.pth")).unwrap();
    let output = run(&["--strict"]);
    let text = describe(&output);
    assert!(output.status.success(), "{text}");
}
