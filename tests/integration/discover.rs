//! `wrapt-install --list`: the patch groups of a real environment, found on
//! its real interpreter's `sys.path`, with nothing written.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{json, Value};

use crate::support::{
    describe, plant_pth, pypy, pythons, pythons_and_pypy, run_ok, snapshot, stderr, stdout,
    wrapt_install, PatchDist, Venv,
};

fn list(venv: &Venv, args: &[&str]) -> Output {
    run_ok(
        wrapt_install()
            .arg("--venv")
            .arg(&venv.root)
            .arg("--list")
            .args(args),
    )
}

fn list_json(venv: &Venv) -> Value {
    let output = list(venv, &["--json"]);
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&output)))
}

fn group_names(report: &Value) -> Vec<&str> {
    report["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["group"].as_str().expect("group name"))
        .collect()
}

fn group<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["group"] == name)
        .unwrap_or_else(|| panic!("no group {name} in {report:#}"))
}

fn acme_patches() -> PatchDist<'static> {
    PatchDist {
        name: "acme-patches",
        group: "acme.patches",
        entries: &[
            ("requests", "acme_patch.requests:patch"),
            ("urllib3.connectionpool", "acme_patch.urllib3:patch"),
        ],
        modules: &[],
    }
}

#[test]
fn lists_patch_groups_and_writes_nothing() {
    // And on PyPy, whose sys.path and site-packages are laid out otherwise.
    for python in pythons().last().into_iter().chain(pypy()) {
        let venv = Venv::new(python);
        let extra = write_distributions(&venv);
        venv.install(&["--enable", "acme.patches"]);
        let before = (venv.snapshot(), snapshot(&extra));

        assert_listed_as_json(&venv, &extra);
        assert_listed_as_text(&venv, &extra);

        assert!(
            before == (venv.snapshot(), snapshot(&extra)),
            "{python}: --list changed the environment"
        );
    }
}

/// acme-patches, and beside it distributions that are not patch groups;
/// returns a directory later on sys.path (through a .pth path line sorting
/// after ours), holding a second acme-patches, which importlib.metadata
/// would never see, and one distribution of its own.
fn write_distributions(venv: &Venv) -> PathBuf {
    let site = &venv.site_packages;
    acme_patches().write_into(site);
    // The same shape as a patch group, but another tool's.
    PatchDist {
        name: "acme-tools",
        group: "console_scripts",
        entries: &[("acmetool", "acme_tools.cli:main")],
        modules: &[],
    }
    .write_into(site);
    // One entry without a callable: the group is not a patch group.
    PatchDist {
        name: "broken-patches",
        group: "broken.patches",
        entries: &[("json", "broken_patch:hook"), ("requests", "broken_patch")],
        modules: &[],
    }
    .write_into(site);
    let extra = venv.root.join("extra");
    fs::create_dir(&extra).unwrap();
    PatchDist {
        name: "acme-patches",
        group: "acme.patches",
        entries: &[("json", "shadowed_patch:hook")],
        modules: &[],
    }
    .write_into(&extra);
    PatchDist {
        name: "extra-patches",
        group: "extra.patches",
        entries: &[("sqlite3", "extra_patch:hook")],
        modules: &[],
    }
    .write_into(&extra);
    fs::write(site.join("zz_extra.pth"), format!("{}\n", extra.display())).unwrap();
    extra
}

fn assert_listed_as_json(venv: &Venv, extra: &Path) {
    let site = &venv.site_packages;
    let report = list_json(venv);
    assert_eq!(report["installed"], true, "{report:#}");
    assert_eq!(report["defaults"], json!(["acme.patches"]));
    assert_eq!(
        group_names(&report),
        ["acme.patches", "extra.patches", "wrapt_bootstrap.examples"],
        "{report:#}"
    );
    assert_eq!(
        group(&report, "acme.patches"),
        &json!({
            "group": "acme.patches",
            "enabled_by_default": true,
            "distributions": [{
                "name": "acme-patches",
                "version": "1.0",
                "path": site.join("acme_patches-1.0.dist-info"),
                "entries": [
                    {"target": "requests", "hook": "acme_patch.requests:patch"},
                    {"target": "urllib3.connectionpool", "hook": "acme_patch.urllib3:patch"},
                ],
            }],
        })
    );
    assert_eq!(
        group(&report, "extra.patches")["distributions"][0]["path"],
        json!(extra.join("extra_patches-1.0.dist-info"))
    );
    let examples = group(&report, "wrapt_bootstrap.examples");
    assert_eq!(examples["enabled_by_default"], false);
    assert_eq!(examples["distributions"][0]["name"], "wrapt-bootstrap");
    assert_eq!(
        examples["distributions"][0]["entries"],
        json!([{"target": "tempfile", "hook": "wrapt_bootstrap.examples:patch_tempfile"}])
    );
}

fn assert_listed_as_text(venv: &Venv, extra: &Path) {
    let site = &venv.site_packages;
    let output = list(venv, &[]);
    let text = stdout(&output);
    assert!(
        text.starts_with(&format!("patch groups in {} (", site.display())),
        "{text}"
    );
    assert!(
        text.contains("\n  acme.patches (enabled by default)\n"),
        "{text}"
    );
    assert!(text.contains(&format!(
        "\n    acme-patches 1.0  {}\n      requests = acme_patch.requests:patch\n      urllib3.connectionpool = acme_patch.urllib3:patch\n",
        site.join("acme_patches-1.0.dist-info").display()
    )), "{text}");
    assert!(text.contains("\n  wrapt_bootstrap.examples\n"), "{text}");
    assert_eq!(text.matches("acme-patches 1.0").count(), 1, "{text}");
    for absent in ["console_scripts", "acmetool", "broken", "shadowed_patch"] {
        assert!(!text.contains(absent), "{absent} listed: {text}");
    }
    assert!(
        text.ends_with("enable per process with WRAPT_PATCHES=GROUP, or by default with wrapt-install --enable GROUP\n"),
        "{text}"
    );
    assert!(stderr(&output).is_empty(), "{}", describe(&output));

    // -v says what was passed over and why; -q says nothing.
    let verbose = stdout(&list(venv, &["-v"]));
    assert!(
        verbose.contains(&format!(
            "skipped {}: {} comes first on sys.path",
            extra.join("acme_patches-1.0.dist-info").display(),
            site.join("acme_patches-1.0.dist-info").display()
        )),
        "{verbose}"
    );
    assert!(
        verbose.contains("not a patch group: broken.patches in ")
            && verbose.contains(
                "'requests = broken_patch' is not 'target.module = patch.module:callable'"
            ),
        "{verbose}"
    );
    assert!(!verbose.contains("console_scripts"), "{verbose}");
    assert_eq!(stdout(&list(venv, &["-q"])), "");
}

#[test]
fn lists_where_wrapt_bootstrap_is_not_installed() {
    let python = pythons().last().expect("a CPython");
    let venv = Venv::new(python);
    acme_patches().write_into(&venv.site_packages);
    let before = venv.snapshot();

    let report = list_json(&venv);
    assert_eq!(report["installed"], false, "{report:#}");
    assert_eq!(report["defaults"], json!([]));
    assert_eq!(group_names(&report), ["acme.patches"], "{report:#}");
    assert_eq!(group(&report, "acme.patches")["enabled_by_default"], false);

    let text = stdout(&list(&venv, &[]));
    assert!(text.contains("\n  acme.patches\n"), "{text}");
    assert!(
        text.contains(&format!(
            "wrapt-bootstrap is not installed in {}: no group is enabled at startup",
            venv.site_packages.display()
        )),
        "{text}"
    );
    assert!(before == venv.snapshot(), "--list changed the environment");
}

#[test]
fn list_with_another_mode_is_a_usage_error() {
    // --force is no mode: as root, it trusts the environment's owner.
    for other in ["--check", "--dry-run"] {
        let output = wrapt_install()
            .args(["--venv", "/nonexistent", "--list", other])
            .output()
            .expect("spawn");
        assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
        assert!(
            stderr(&output).contains(&format!("'{other}'")),
            "{}",
            describe(&output)
        );
    }
}

/// Regression (issue 13): --list ran the interpreter with site, so a
/// planted .pth import line ran as the caller. It now works out sys.path
/// itself: the same sys.path site builds, on every interpreter, with the
/// distributions a .pth path line reaches, and nothing run.
#[test]
fn sys_path_is_the_one_site_builds_and_nothing_runs() {
    for python in pythons_and_pypy() {
        let venv = Venv::new(python);
        let site = &venv.site_packages;
        let marker = plant_pth(site);
        let reached = venv.root.join("reached only by a path line");
        fs::create_dir(&reached).unwrap();
        PatchDist {
            name: "reached-patches",
            group: "reached.patches",
            entries: &[("json", "reached_patch:hook")],
            modules: &[],
        }
        .write_into(&reached);
        for dir in ["abs", "rel", "hidden", "bom"] {
            fs::create_dir(venv.root.join(dir)).unwrap();
        }
        fs::write(
            site.join("paths.pth"),
            format!(
                "# comment\n\n{}\n../../../rel  \nmissing\n{}\n../../../abs\n",
                venv.root.join("abs").display(),
                reached.display()
            ),
        )
        .unwrap();
        // Which versions skip a hidden .pth, or drop a byte order mark, is
        // the real interpreter's to say.
        fs::write(site.join(".hidden.pth"), "../../../hidden\n").unwrap();
        fs::write(site.join("bom.pth"), "\u{feff}../../../bom\n").unwrap();

        for args in [&["--json"][..], &[]] {
            let output = list(&venv, args);
            assert!(
                !marker.exists(),
                "{python}: --list {args:?} ran a .pth line"
            );
            assert!(
                !stdout(&output).contains("planted .pth ran"),
                "{python}: {}",
                describe(&output)
            );
        }
        let report = list_json(&venv);
        assert_eq!(
            group(&report, "reached.patches")["distributions"][0]["path"],
            json!(reached.join("reached_patches-1.0.dist-info")),
            "{python}"
        );
        let planted = [
            site.join("zz_planted.pth"),
            site.join("zz_planted_print.pth"),
        ];
        assert_eq!(report["not_run"], json!(planted), "{python}");
        let text = list(&venv, &[]);
        for file in &planted {
            assert!(
                stderr(&text).contains(&format!(
                    "{} has import lines, which --list does not run",
                    file.display()
                )),
                "{python}: {}",
                describe(&text)
            );
        }

        // What a real start of the environment puts on sys.path (and the
        // planted line does run there).
        let real = venv.run_code(
            crate::support::Implementation::Fallback,
            &[],
            "import json, sys; print(json.dumps([p for p in sys.path if p]))",
        );
        assert!(marker.exists(), "{python}: the planted line did not run");
        let real: Value = serde_json::from_str(stdout(&real).lines().last().unwrap()).unwrap();
        assert_eq!(report["sys_path"], real, "{python}");
    }
}

/// Names that are Python identifiers but not ASCII (`x·`, `℘p`): `--list`
/// shows the group, and startup registers and fires its hook, on both
/// twins — one identifier test for both, Python's.
#[test]
fn non_ascii_identifiers_are_listed_and_fire_alike() {
    for python in pythons_and_pypy() {
        let venv = Venv::installed(python);
        PatchDist {
            name: "unicode-patches",
            group: "unicode.patches",
            entries: &[("x\u{b7}", "\u{2118}p:hook")],
            modules: &[
                ("x\u{b7}.py", "VALUE = 1\n"),
                (
                    "\u{2118}p.py",
                    "def hook(module):\n    print('fired', module.__name__)\n",
                ),
            ],
        }
        .write_into(&venv.site_packages);
        let report = list_json(&venv);
        assert_eq!(
            group(&report, "unicode.patches")["distributions"][0]["entries"],
            json!([{"target": "x\u{b7}", "hook": "\u{2118}p:hook"}]),
            "{python}: {report:#}"
        );
        for &implementation in python.implementations() {
            let output = venv.run_code(
                implementation,
                &[("WRAPT_PATCHES", "unicode.patches")],
                "import wrapt_bootstrap as w; print(w._status()['implementation']); __import__('x\u{b7}')",
            );
            assert_eq!(
                stdout(&output),
                format!(
                    "{}\nfired x\u{b7}\n",
                    python.served_by(implementation).name()
                ),
                "{python}: {}",
                describe(&output)
            );
        }
    }
}
