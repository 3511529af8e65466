//! `wrapt-install` / `wrapt-uninstall` against real virtual environments.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::{
    describe, modes, pythons, pythons_and_pypy, run_ok, stderr, stdout, wrapt_install,
    wrapt_uninstall, Implementation, PatchDist, Python, Venv,
};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The package's modules, each installed with its bytecode.
const MODULES: [&str; 7] = [
    "__init__",
    "_api",
    "_deferred",
    "_explain",
    "_fallback",
    "_hidden",
    "examples",
];

/// Every file an install into a venv of `python` writes in the default mode
/// (a `.pth` line); the `.so` on PyPy too: one installation for every
/// interpreter.
fn our_files(python: &Python) -> Vec<String> {
    our_files_in(python, "pth")
}

/// Every file an install in `mode` (`pth` or `start`) writes.
fn our_files_in(python: &Python, mode: &str) -> Vec<String> {
    let tag = &python.cache_tag;
    let dist_info = format!("wrapt_bootstrap-{VERSION}.dist-info");
    let activation: &[&str] = if mode == "start" {
        &[
            "00_wrapt_bootstrap.start",
            "_wrapt_bootstrap_start/__init__.py",
        ]
    } else {
        &["00_wrapt_bootstrap.pth"]
    };
    let mut files: Vec<String> = activation
        .iter()
        .chain(&["wrapt_bootstrap/_native.abi3.so"])
        .map(|file| (*file).to_string())
        .chain(MODULES.iter().flat_map(|module| {
            [
                format!("wrapt_bootstrap/{module}.py"),
                format!("wrapt_bootstrap/__pycache__/{module}.{tag}.pyc"),
            ]
        }))
        .chain(
            ["METADATA", "INSTALLER", "entry_points.txt", "RECORD"]
                .iter()
                .map(|file| format!("{dist_info}/{file}")),
        )
        .collect();
    if mode == "start" {
        files.push(format!(
            "_wrapt_bootstrap_start/__pycache__/__init__.{tag}.pyc"
        ));
    }
    files.sort();
    files
}

/// Verifies RECORD with the interpreter's own hashlib, the way pip computes
/// it: every file listed once, sha256 urlsafe-base64 without padding, sizes.
const VERIFY_RECORD: &str = r#"
import base64, csv, hashlib, os, sys, json
site = sys.argv[1]
record = [d for d in os.listdir(site) if d.startswith("wrapt_bootstrap-") and d.endswith(".dist-info")]
assert len(record) == 1, record
rows = list(csv.reader(open(os.path.join(site, record[0], "RECORD"), newline="")))
listed = []
for path, digest, size in rows:
    listed.append(path)
    data = open(os.path.join(site, path), "rb").read() if not path.endswith("/RECORD") else None
    if path.endswith("/RECORD") or path.endswith(".pyc"):
        # RECORD cannot hash itself; bytecode is listed as pip lists it.
        assert digest == "" and size == "", (path, digest, size)
        continue
    algorithm, _, value = digest.partition("=")
    assert algorithm == "sha256", digest
    assert value == base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode(), path
    assert int(size) == len(data), path
print(json.dumps(sorted(listed)))
"#;

fn record_listing(venv: &Venv) -> Vec<String> {
    let output = venv.run_code(
        Implementation::Native,
        &[],
        &format!(
            "import sys; sys.argv[1:] = [{:?}]\n{VERIFY_RECORD}",
            venv.site_packages.to_str().unwrap()
        ),
    );
    serde_json::from_str(&stdout(&output)).expect("json")
}

fn mode_bits(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn writes_exactly_the_designed_files_with_an_exact_record() {
    for python in pythons_and_pypy() {
        // sitecustomize mode's files: tests/integration/sitecustomize.rs.
        for mode in modes(python)
            .iter()
            .filter(|mode| **mode != "sitecustomize")
        {
            writes_exactly_the_designed_files(python, mode);
        }
    }
}

fn writes_exactly_the_designed_files(python: &Python, mode: &str) {
    let venv = Venv::new(python);
    let before = venv.snapshot();
    venv.install(&["--mode", mode]);
    let after = venv.snapshot();
    let mut added: Vec<String> = after
        .keys()
        .filter(|path| !before.contains_key(*path))
        .filter(|path| !path.to_str().unwrap().ends_with('/'))
        .map(|path| path.to_str().unwrap().to_string())
        .collect();
    added.sort();
    let what = format!("{python} {mode} mode");
    // (snapshots leave __pycache__ out; RECORD lists the bytecode.)
    let expected: Vec<String> = our_files_in(python, mode)
        .into_iter()
        .filter(|file| !file.contains("/__pycache__/"))
        .collect();
    assert_eq!(added, expected, "{what}");
    assert_eq!(record_listing(&venv), our_files_in(python, mode));
    // The bytecode written at install is what the interpreter loads,
    // also where it may not write any (importlib says "matches").
    let output = venv.python(
        Implementation::Native,
        &[("PYTHONDONTWRITEBYTECODE", "1")],
        &[
            "-v",
            "-c",
            "import wrapt_bootstrap._api, wrapt_bootstrap._deferred, wrapt_bootstrap._explain, wrapt_bootstrap._fallback, wrapt_bootstrap._hidden, wrapt_bootstrap.examples",
        ],
    );
    assert!(output.status.success(), "{}", describe(&output));
    for module in MODULES {
        let matches = format!("{module}.{}.pyc matches ", python.cache_tag);
        assert!(
            stderr(&output).contains(&matches),
            "{what}: {module}'s bytecode not used: {}",
            describe(&output)
        );
    }
    if mode == "start" {
        // site imports the entry point's package at every start.
        let matches = format!("__init__.{}.pyc matches ", python.cache_tag);
        assert!(
            stderr(&output)
                .lines()
                .any(|line| line.contains("_wrapt_bootstrap_start") && line.contains(&matches)),
            "{what}: the entry point's bytecode not used: {}",
            describe(&output)
        );
    }
    let site = &venv.site_packages;
    let dist_info = site.join(format!("wrapt_bootstrap-{VERSION}.dist-info"));
    assert_eq!(
        fs::read_to_string(dist_info.join("INSTALLER")).unwrap(),
        "wrapt-install\n"
    );
    let metadata = fs::read_to_string(dist_info.join("METADATA")).unwrap();
    assert!(
        metadata.contains("Name: wrapt-bootstrap\n")
            && metadata.contains(&format!("Version: {VERSION}\n"))
    );
    if mode == "start" {
        assert_eq!(
            fs::read_to_string(site.join("00_wrapt_bootstrap.start")).unwrap(),
            "_wrapt_bootstrap_start:activate_when_set\n"
        );
    }
    for file in our_files_in(python, mode) {
        assert_eq!(
            mode_bits(&site.join(&file)) & 0o022,
            0,
            "{file} is group/world writable"
        );
    }
    // The package's version is the tool's.
    let output = venv.run_code(
        Implementation::Native,
        &[],
        "import wrapt_bootstrap; print(wrapt_bootstrap.__version__)",
    );
    assert_eq!(stdout(&output).trim(), VERSION);
}

#[test]
fn pth_sorts_before_the_usual_pth_files() {
    let venv = Venv::installed(&pythons()[0]);
    for other in [
        "_virtualenv.pth",
        "distutils-precedence.pth",
        "__editable___acme_1_0_finder.pth",
        "a.pth",
        "Z.pth",
    ] {
        fs::write(venv.site_packages.join(other), "").unwrap();
    }
    let output = venv.run_code(
        Implementation::Native,
        &[],
        "import os, site; d = site.getsitepackages()[0]; print(sorted(f for f in os.listdir(d) if f.endswith('.pth'))[0])",
    );
    assert_eq!(stdout(&output), "00_wrapt_bootstrap.pth\n");
}

#[test]
fn pip_sees_it_and_pip_uninstall_removes_it_cleanly() {
    for python in pythons_and_pypy() {
        let venv = Venv::with_pip(python);
        let before = venv.snapshot();
        venv.install(&[]);
        let pip = |args: &[&str]| {
            let mut command = std::process::Command::new(venv.interpreter());
            command
                .args(["-m", "pip", "--disable-pip-version-check", "--no-input"])
                .args(args);
            run_ok(&mut command)
        };
        let list = stdout(&pip(&["list", "--format=freeze"]));
        assert!(
            list.contains(&format!("wrapt-bootstrap=={VERSION}")),
            "pip list: {list}"
        );
        let show = stdout(&pip(&["show", "-f", "wrapt-bootstrap"]));
        assert!(
            show.contains("00_wrapt_bootstrap.pth")
                && show.contains("wrapt_bootstrap/_native.abi3.so"),
            "{show}"
        );
        // A patch package installed by pip from a wheel is found and fires.
        let wheel_dir = tempfile::tempdir().unwrap();
        let wheel = PatchDist {
            name: "acme-wheel-patches",
            group: "acme.wheel",
            entries: &[("colorsys", "acme_wheel_patch:hook")],
            modules: &[(
                "acme_wheel_patch.py",
                "def hook(m):\n    m.FROM_WHEEL = 'yes'\n",
            )],
        }
        .build_wheel(&venv.interpreter(), wheel_dir.path());
        pip(&[
            "install",
            "--no-index",
            "--no-deps",
            wheel.to_str().unwrap(),
        ]);
        let output = venv.run_code(
            Implementation::Native,
            &[("WRAPT_PATCHES", "acme.wheel")],
            "import colorsys; print(colorsys.FROM_WHEEL)",
        );
        assert_eq!(stdout(&output), "yes\n", "{}", describe(&output));
        pip(&["uninstall", "-y", "acme-wheel-patches"]);

        pip(&["uninstall", "-y", "wrapt-bootstrap"]);
        assert_eq!(
            venv.snapshot(),
            before,
            "{python}: pip uninstall left something"
        );
        let output = venv.python(
            Implementation::Native,
            &[("WRAPT_PATCHES", "wrapt_bootstrap.examples")],
            &["-c", "import tempfile"],
        );
        assert_eq!(stderr(&output), "");
    }
}

#[test]
fn uninstall_restores_site_packages_exactly() {
    for python in pythons_and_pypy() {
        let venv = Venv::new(python);
        let before = venv.snapshot();
        venv.install(&["--enable", "wrapt_bootstrap.examples"]);
        // Let the interpreter write bytecode into our package, as it would.
        let output = venv.run_code(Implementation::Native, &[], "import tempfile");
        assert_eq!(stderr(&output), "patching tempfile\n");
        run_ok(wrapt_uninstall().arg("--venv").arg(&venv.root));
        assert_eq!(venv.snapshot(), before, "{python}");
        assert!(
            !venv.site_packages.join("wrapt_bootstrap").exists(),
            "package dir (with __pycache__) left"
        );
        let output = venv.python(Implementation::Native, &[], &["-c", "import tempfile"]);
        assert!(
            output.status.success() && stderr(&output).is_empty(),
            "{}",
            describe(&output)
        );
        // Uninstalling again is a no-op, not an error.
        run_ok(wrapt_uninstall().arg("--venv").arg(&venv.root));
    }
}

#[test]
fn reinstall_is_idempotent_and_keeps_defaults() {
    let venv = Venv::new(&pythons()[0]);
    venv.install(&["--enable", "wrapt_bootstrap.examples"]);
    let first = venv.snapshot();
    let pth = venv.site_packages.join("00_wrapt_bootstrap.pth");
    let modified = fs::metadata(&pth).unwrap().modified().unwrap();
    venv.install(&[]);
    assert_eq!(venv.snapshot(), first);
    assert_eq!(
        fs::metadata(&pth).unwrap().modified().unwrap(),
        modified,
        "unchanged files are not rewritten"
    );
    let output = venv.run_code(Implementation::Native, &[], "import tempfile");
    assert_eq!(
        stderr(&output),
        "patching tempfile\n",
        "defaults kept across reinstall"
    );

    venv.install(&["--disable", "wrapt_bootstrap.examples"]);
    let output = venv.run_code(
        Implementation::Native,
        &[],
        "import sys, tempfile; print('wrapt_bootstrap' in sys.modules)",
    );
    assert_eq!(
        (stdout(&output).as_str(), stderr(&output).as_str()),
        ("False\n", "")
    );
    assert_eq!(record_listing(&venv), our_files(&venv.python));
}

#[test]
fn dry_run_writes_nothing() {
    let venv = Venv::new(&pythons()[0]);
    let before = venv.snapshot();
    let output = venv.install(&["--dry-run"]);
    assert!(
        stdout(&output).contains("00_wrapt_bootstrap.pth"),
        "{}",
        describe(&output)
    );
    assert_eq!(venv.snapshot(), before);
    venv.install(&[]);
    let installed = venv.snapshot();
    run_ok(
        wrapt_uninstall()
            .arg("--venv")
            .arg(&venv.root)
            .arg("--dry-run"),
    );
    assert_eq!(venv.snapshot(), installed);
}

#[test]
fn check_verifies_files_and_activation() {
    for python in pythons_and_pypy() {
        let venv = Venv::installed(python);
        let output = venv.install(&["--check"]);
        let served = python.served_by(Implementation::Native).name();
        assert!(
            stdout(&output).contains(&format!("activation: active ({served}, by pth)")),
            "{python}: {}",
            describe(&output)
        );

        let json = venv.install(&["--check", "--json"]);
        let report: serde_json::Value =
            serde_json::from_str(&stdout(&json)).expect("--check --json");
        assert!(report.is_object(), "{report}");

        let check_fails_naming = |file: &str| {
            let output = wrapt_install()
                .arg("--venv")
                .arg(&venv.root)
                .arg("--check")
                .output()
                .unwrap();
            assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
            assert!(describe(&output).contains(file), "{}", describe(&output));
        };
        let example = venv.site_packages.join("wrapt_bootstrap/examples.py");
        let original = fs::read(&example).unwrap();
        fs::write(&example, "# changed\n").unwrap();
        check_fails_naming("wrapt_bootstrap/examples.py");
        fs::write(&example, original).unwrap();

        fs::remove_file(venv.site_packages.join("00_wrapt_bootstrap.pth")).unwrap();
        check_fails_naming("00_wrapt_bootstrap.pth");
        venv.install(&[]);
        venv.install(&["--check"]);
    }
}

#[test]
fn leftover_activation_file_without_its_package_is_silent() {
    for python in pythons_and_pypy() {
        for mode in modes(python) {
            let venv = Venv::new(python);
            venv.install(&["--mode", mode]);
            fs::remove_dir_all(venv.site_packages.join("wrapt_bootstrap")).unwrap();
            for env in [
                &[][..],
                &[("WRAPT_PATCHES", "wrapt_bootstrap.examples")][..],
            ] {
                let output = venv.python(Implementation::Native, env, &["-c", "import tempfile"]);
                assert!(output.status.success(), "{}", describe(&output));
                assert_eq!(stderr(&output), "", "{python} {mode} mode");
            }
        }
    }
}

#[test]
fn refuses_to_overwrite_a_file_that_is_not_ours() {
    let venv = Venv::new(&pythons()[0]);
    let foreign = venv.site_packages.join("wrapt_bootstrap/examples.py");
    fs::create_dir_all(foreign.parent().unwrap()).unwrap();
    fs::write(&foreign, "# somebody else's file\n").unwrap();
    let before = venv.snapshot();
    let output = wrapt_install()
        .arg("--venv")
        .arg(&venv.root)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    assert!(
        stderr(&output).contains("examples.py"),
        "{}",
        describe(&output)
    );
    assert_eq!(
        stderr(&output).lines().count(),
        1,
        "one-line error: {}",
        describe(&output)
    );
    assert_eq!(venv.snapshot(), before, "nothing half-written");
    venv.install(&["--force"]);
    assert_eq!(record_listing(&venv), our_files(&venv.python));
}

#[test]
fn bad_targets_get_a_one_line_error() {
    let scratch = tempfile::tempdir().unwrap();
    let not_a_venv = scratch.path().join("plain");
    fs::create_dir(&not_a_venv).unwrap();
    let a_file = scratch.path().join("file");
    fs::write(&a_file, "").unwrap();
    let python = &pythons()[0];
    let mut cases: Vec<(Vec<std::ffi::OsString>, &str)> = vec![
        (
            vec!["--venv".into(), scratch.path().join("missing").into()],
            "missing",
        ),
        (vec!["--venv".into(), a_file.clone().into()], "file"),
        (vec!["--venv".into(), not_a_venv.clone().into()], "plain"),
        (
            vec!["--python".into(), python.exe.clone().into()],
            "not a virtual environment",
        ),
        (
            vec![
                "--enable".into(),
                "bad name".into(),
                "--venv".into(),
                not_a_venv.into(),
            ],
            "bad name",
        ),
    ];
    let old = Path::new("/root/.pyenv/versions/3.8.18/bin/python3.8");
    let old_venv = scratch.path().join("old");
    if old.exists() {
        run_ok(
            std::process::Command::new(old)
                .args(["-m", "venv", "--without-pip"])
                .arg(&old_venv),
        );
        cases.push((vec!["--venv".into(), old_venv.into()], "too old"));
    }
    for (args, needle) in cases {
        let output = wrapt_install()
            .args(&args)
            .current_dir(scratch.path())
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            describe(&output)
        );
        let message = stderr(&output);
        assert_eq!(message.lines().count(), 1, "{args:?}: {message}");
        assert!(message.contains(needle), "{args:?}: {message}");
    }
    // No target at all: a hint, not a guess.
    let output = wrapt_install()
        .current_dir(scratch.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr(&output).contains("--venv"), "{}", describe(&output));
}

#[test]
fn create_makes_the_venv_and_target_resolution_follows_the_design() {
    let python = &pythons()[pythons().len() - 1];
    let scratch = tempfile::tempdir().unwrap();
    run_ok(
        wrapt_install()
            .args(["--create", "--python"])
            .arg(&python.exe)
            .current_dir(scratch.path()),
    );
    let site = scratch
        .path()
        .join(format!(".venv/lib/python3.{}/site-packages", python.minor));
    assert!(site.join("00_wrapt_bootstrap.pth").is_file());
    // ./.venv is found without flags, and $VIRTUAL_ENV wins over it.
    run_ok(wrapt_install().arg("--check").current_dir(scratch.path()));
    let other = Venv::new(python);
    run_ok(
        wrapt_install()
            .env("VIRTUAL_ENV", &other.root)
            .current_dir(scratch.path()),
    );
    assert!(other.site_packages.join("00_wrapt_bootstrap.pth").is_file());
    // --python naming a venv's interpreter targets that venv.
    let third = Venv::new(python);
    run_ok(wrapt_install().arg("--python").arg(third.interpreter()));
    assert!(third.site_packages.join("00_wrapt_bootstrap.pth").is_file());
}

#[test]
fn help_and_version() {
    for mut command in [wrapt_install(), wrapt_uninstall()] {
        let output = run_ok(command.arg("--version"));
        assert!(stdout(&output).contains(VERSION));
    }
    let output = run_ok(wrapt_install().arg("--help"));
    for flag in [
        "--venv",
        "--python",
        "--enable",
        "--disable",
        "--dry-run",
        "--check",
        "--json",
        "--force",
        "--create",
    ] {
        assert!(stdout(&output).contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn completions_for_every_shell() {
    for (make, name, flag) in [
        (
            wrapt_install as fn() -> std::process::Command,
            "wrapt-install",
            "enable",
        ),
        (wrapt_uninstall, "wrapt-uninstall", "dry-run"),
    ] {
        for (shell, marker) in [
            ("bash", format!("complete -F _wrapt__{}", &name[6..])),
            ("zsh", format!("#compdef {name}")),
            ("fish", format!("complete -c {name}")),
            ("elvish", format!("edit:completion:arg-completer[{name}]")),
            ("powershell", format!("-CommandName '{name}'")),
        ] {
            let output = run_ok(make().args(["--completions", shell]));
            let script = stdout(&output);
            assert!(script.contains(&marker), "{name} {shell}: {script}");
            assert!(script.contains(flag), "{name} {shell} lacks {flag}");
            if shell == "bash" {
                // The script must at least parse.
                let file = tempfile::NamedTempFile::new().unwrap();
                fs::write(file.path(), &script).unwrap();
                run_ok(
                    std::process::Command::new("bash")
                        .arg("-n")
                        .arg(file.path()),
                );
            }
        }
        // With anything else it is a usage error, and so is an unknown shell.
        for args in [
            &["--completions", "bash", "--json"][..],
            &["--completions", "tcsh"],
        ] {
            let output = make().args(args).output().unwrap();
            assert_eq!(
                output.status.code(),
                Some(2),
                "{args:?}: {}",
                describe(&output)
            );
        }
    }
}

/// An interpreter that answers the probe but cannot compile the bytecode
/// (here a wrapper that fails when asked to) stops the install before
/// anything is written, with one line naming it and the I/O exit code.
#[test]
fn a_failed_bytecode_compile_writes_nothing() {
    let venv = Venv::new(&pythons()[0]);
    let wrapper = venv.root.join("bin/python-no-compile");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\ncase \"$*\" in *no_debug_ranges*) echo 'MemoryError' >&2; exit 1;; esac\nexec '{}' \"$@\"\n",
            venv.interpreter().display()
        ),
    )
    .unwrap();
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
    let before = venv.snapshot();
    let output = wrapt_install()
        .arg("--python")
        .arg(&wrapper)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", describe(&output));
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("python-no-compile could not compile the bootstrap's bytecode")
            && message.contains("MemoryError"),
        "{message}"
    );
    assert_eq!(venv.snapshot(), before, "nothing written");
}
