//! `--check` holds every installed file against the bytes this binary
//! writes, not against RECORD, which whoever can write the environment can
//! rewrite along with the file: each tampering is named, exit 1, and the
//! tampered code is not run by the check.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use base64::Engine as _;
use sha2::Digest as _;

use crate::support::{describe, modes, pythons_and_pypy, run_ok, wrapt_install, Venv};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `--check` on `venv`, asserted to exit 1 naming `file` (and, when
/// given, what is wrong with it).
fn check_fails_naming(venv: &Venv, file: &str, what: &str) {
    let output = wrapt_install()
        .arg("--venv")
        .arg(&venv.root)
        .args(["--check", "-q"])
        .output()
        .unwrap();
    let text = describe(&output);
    assert_eq!(output.status.code(), Some(1), "{}: {text}", venv.python);
    assert!(
        text.lines()
            .any(|line| line.contains(&format!("{file} ")) && line.contains(what)),
        "{}: --check does not say {file} {what}: {text}",
        venv.python
    );
}

/// Back to a clean installation: every file of ours rewritten as installed.
fn repair(venv: &Venv) {
    venv.install(&["--force", "-q"]);
    venv.install(&["--check", "-q"]);
}

/// The bytecode file of `module` in our package.
fn pyc_of(venv: &Venv, module: &str) -> std::path::PathBuf {
    let name = format!("{module}.{}.pyc", venv.python.cache_tag);
    venv.site_packages
        .join("wrapt_bootstrap/__pycache__")
        .join(name)
}

/// Rewrites the pyc at `path` by running `code` in the venv's interpreter
/// (`-I -S`: nothing of ours runs), with `pyc` bound to its path and
/// `data` to its bytes.
fn rewrite_pyc(venv: &Venv, path: &Path, code: &str) {
    let script =
        format!("import marshal, sys\npyc = sys.argv[1]\ndata = open(pyc, 'rb').read()\n{code}");
    run_ok(
        std::process::Command::new(venv.interpreter())
            .args(["-I", "-S", "-c", &script])
            .arg(path),
    );
}

/// Appends `line` to `rel` and rewrites its RECORD row to match, as an
/// attacker who can write the environment can.
fn append_with_record(venv: &Venv, rel: &str, line: &str) {
    let site = &venv.site_packages;
    let mut bytes = fs::read(site.join(rel)).unwrap();
    bytes.extend_from_slice(line.as_bytes());
    fs::write(site.join(rel), &bytes).unwrap();
    let digest =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&bytes));
    let record = site.join(format!("wrapt_bootstrap-{VERSION}.dist-info/RECORD"));
    let text = fs::read_to_string(&record).unwrap();
    let rewritten: String = text
        .lines()
        .map(|row| {
            if row.starts_with(&format!("{rel},")) {
                format!("{rel},sha256={digest},{}\n", bytes.len())
            } else {
                format!("{row}\n")
            }
        })
        .collect();
    assert_ne!(text, rewritten, "no RECORD row for {rel}");
    fs::write(record, rewritten).unwrap();
}

#[test]
fn check_names_tampered_bytecode_and_does_not_run_it() {
    for python in pythons_and_pypy() {
        let venv = Venv::installed(python);
        let init_pyc = pyc_of(&venv, "__init__");
        let marker = venv.root.join("payload-ran");
        // Our header (magic, flags, source mtime and size), a payload's code.
        rewrite_pyc(
            &venv,
            &init_pyc,
            &format!(
                "payload = compile('open({:?}, \"w\").close()', pyc, 'exec')\nopen(pyc, 'wb').write(data[:16] + marshal.dumps(payload))",
                marker.display().to_string()
            ),
        );
        check_fails_naming(&venv, &init_pyc.to_string_lossy(), "was modified");
        assert!(!marker.exists(), "{python}: the check ran the payload");

        // Bytes that are not even a code object.
        repair(&venv);
        rewrite_pyc(
            &venv,
            &init_pyc,
            "open(pyc, 'wb').write(data[:16] + b'junk')",
        );
        check_fails_naming(&venv, &init_pyc.to_string_lossy(), "not valid bytecode");

        // The same code in other bytes (marshal format 2 has no reference
        // flags) is the same code: no problem.
        repair(&venv);
        let ours = fs::read(&init_pyc).unwrap();
        rewrite_pyc(
            &venv,
            &init_pyc,
            "open(pyc, 'wb').write(data[:16] + marshal.dumps(marshal.loads(data[16:]), 2))",
        );
        assert_ne!(fs::read(&init_pyc).unwrap(), ours, "{python}");
        venv.install(&["--check", "-q"]);

        // Bytecode nobody lists, beside ours.
        repair(&venv);
        let evil = init_pyc.with_file_name("evil.pyc");
        fs::copy(&init_pyc, &evil).unwrap();
        check_fails_naming(&venv, &evil.to_string_lossy(), "is not listed");
        fs::remove_file(evil).unwrap();
    }
}

#[test]
fn check_names_an_activation_file_changed_with_its_record() {
    for python in pythons_and_pypy() {
        for mode in modes(python) {
            let venv = Venv::new(python);
            venv.install(&["--mode", mode, "-q"]);
            let activation = match *mode {
                "pth" => "00_wrapt_bootstrap.pth",
                "start" => "00_wrapt_bootstrap.start",
                _ => "sitecustomize/__init__.py",
            };
            append_with_record(&venv, activation, "import os\n");
            check_fails_naming(
                &venv,
                &venv.site_packages.join(activation).to_string_lossy(),
                "was modified",
            );
        }
    }
}

#[test]
fn check_names_changed_modes_and_a_rewritten_record() {
    for python in pythons_and_pypy() {
        let venv = Venv::installed(python);
        let site = &venv.site_packages;
        let native = site.join("wrapt_bootstrap/_native.abi3.so");
        let api = site.join("wrapt_bootstrap/_api.py");
        for (path, mode) in [(&api, 0o666), (&native, 0o777), (&native, 0o4755)] {
            fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
            check_fails_naming(
                &venv,
                &path.to_string_lossy(),
                &format!("has mode {mode:04o}"),
            );
            repair(&venv);
        }
        let pycache = site.join("wrapt_bootstrap/__pycache__");
        fs::set_permissions(&pycache, fs::Permissions::from_mode(0o777)).unwrap();
        check_fails_naming(&venv, &pycache.to_string_lossy(), "has mode 0777");
        fs::set_permissions(&pycache, fs::Permissions::from_mode(0o755)).unwrap();

        // RECORD itself is held against ours: a valid row that lies.
        let record = format!("wrapt_bootstrap-{VERSION}.dist-info/RECORD");
        let text = fs::read_to_string(site.join(&record)).unwrap();
        let examples = "wrapt_bootstrap/examples.py,";
        let row = text.lines().find(|row| row.starts_with(examples)).unwrap();
        let digest =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(b"x"));
        fs::write(
            site.join(&record),
            text.replace(row, &format!("{examples}sha256={digest},1")),
        )
        .unwrap();
        check_fails_naming(&venv, &site.join(&record).to_string_lossy(), "was modified");
    }
}

/// An environment copied elsewhere (`cp -a`, as an image build may) keeps
/// the old path inside its bytecode, which importlib replaces as it loads
/// each pyc: `--check` holds the copy to be intact, and the copy activates.
#[test]
fn a_copied_environment_passes_the_check() {
    for python in pythons_and_pypy() {
        let venv = Venv::installed(python);
        let copy = tempfile::tempdir().unwrap();
        let moved = copy.path().join("moved");
        run_ok(
            std::process::Command::new("cp")
                .arg("-a")
                .arg(&venv.root)
                .arg(&moved),
        );
        let output = run_ok(wrapt_install().arg("--venv").arg(&moved).arg("--check"));
        let text = describe(&output);
        assert!(text.contains("activation: active"), "{python}: {text}");
        assert!(
            !text.contains(&venv.root.display().to_string()),
            "{python}: {text}"
        );
    }
}
