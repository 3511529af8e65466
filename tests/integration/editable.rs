//! Patch packages installed editable (`pip install -e`), as patch authors
//! develop them: their code is importable only once site has run their
//! `.pth` file, a path line or an import hook's finder, which sorts after
//! ours. A hook for a target imported before activation (`os`) must not
//! fail for that, in any mode or implementation.

use std::fs;
use std::path::Path;

use crate::support::{describe, modes, pythons_and_pypy, run_ok, stderr, stdout, Venv};

/// The projects, one per way an editable install is made: setuptools puts
/// a flat layout behind an import-hook finder and a src layout on a path
/// line; hatchling writes a path line, or with `dev-mode-exact` an import
/// hook.
const PROJECTS: [(&str, &str, bool); 4] = [
    ("setuptools_finder", SETUPTOOLS, false),
    ("setuptools_path", SETUPTOOLS, true),
    ("hatchling_path", HATCHLING, false),
    ("hatchling_finder", HATCHLING_EXACT, false),
];

const SETUPTOOLS: &str =
    "[build-system]\nrequires = [\"setuptools>=64\"]\nbuild-backend = \"setuptools.build_meta\"\n";
const HATCHLING: &str =
    "[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n";
const HATCHLING_EXACT: &str = "[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n[tool.hatch.build.targets.wheel]\ndev-mode-exact = true\n";

/// Writes project `name` under `root`: package `editable_<name>` whose
/// group `editable.patches` hooks `os`.
fn write_project(root: &Path, name: &str, build_system: &str, src_layout: bool) {
    let project = root.join(name);
    let package_parent = if src_layout {
        project.join("src")
    } else {
        project.clone()
    };
    let package = package_parent.join(format!("editable_{name}"));
    fs::create_dir_all(&package).unwrap();
    fs::write(package.join("__init__.py"), "").unwrap();
    fs::write(
        package.join("patch.py"),
        format!("def hook(module):\n    module.PATCHED_BY_{name} = True\n"),
    )
    .unwrap();
    fs::write(
        project.join("pyproject.toml"),
        format!(
            "{build_system}[project]\nname = \"editable-{name}\"\nversion = \"1.0\"\n\
             [project.entry-points.\"editable.patches\"]\nos = \"editable_{name}.patch:hook\"\n"
        ),
    )
    .unwrap();
}

#[test]
fn editable_patch_packages_apply_to_modules_imported_at_startup() {
    let projects = tempfile::tempdir().unwrap();
    for (name, build_system, src_layout) in PROJECTS {
        write_project(projects.path(), name, build_system, src_layout);
    }
    let check =
        "import os\nprint(sorted(name for name in dir(os) if name.startswith('PATCHED_BY_')))";
    let expected = "['PATCHED_BY_hatchling_finder', 'PATCHED_BY_hatchling_path', 'PATCHED_BY_setuptools_finder', 'PATCHED_BY_setuptools_path']\n";
    for python in pythons_and_pypy() {
        let venv = Venv::with_pip(python);
        // One pip run for all four: it builds each in an isolated
        // environment, with the backend from PyPI.
        let mut pip = std::process::Command::new(venv.root.join("bin/pip"));
        pip.args(["install", "-q", "--disable-pip-version-check"]);
        for (name, ..) in PROJECTS {
            pip.arg("-e").arg(projects.path().join(name));
        }
        run_ok(&mut pip);
        let site = fs::read_dir(&venv.site_packages)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| Path::new(name).extension().is_some_and(|e| e == "pth"))
            .collect::<Vec<_>>();
        assert!(
            site.iter()
                .any(|name| name.contains("editable") && name.contains("finder"))
                || site.iter().any(|name| name.starts_with("_editable_impl_")),
            "{python}: no import-hook editable install among {site:?}"
        );
        for mode in modes(python) {
            venv.install(&["--mode", mode]);
            for &implementation in python.implementations() {
                let output = venv.run_code(
                    implementation,
                    &[("WRAPT_PATCHES", "editable.patches")],
                    check,
                );
                let what = format!("{python} {mode} mode {implementation:?}");
                assert_eq!(stdout(&output), expected, "{what}: {}", describe(&output));
                assert_eq!(stderr(&output), "", "{what}: {}", describe(&output));
            }
        }
    }
}
