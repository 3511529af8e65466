//! Interpreter startup in unusual situations: subinterpreters, child
//! processes, other import machinery, interpreter flags, broken installs.
//! Interpreter startup is sacred: no state of our files may make `python`
//! print an error it would not print without us.

use std::fs;

use crate::support::{
    describe, each_interpreter, modes, pythons, pythons_and_pypy, recording_dist, run_ok, stderr,
    stdout, Implementation, PatchDir, PatchDist, Venv,
};

#[test]
fn subinterpreters_get_the_fallback_silently_and_their_own_hooks() {
    // pyo3 refuses isolated subinterpreters; a legacy one (shared GIL, as
    // mod_wsgi makes) could load the native module, whose state is the
    // first interpreter's. Each runs site again and must be served by the
    // pure-Python implementation without a word, with its own finder and
    // hooks, in every mode. CPython only: PyPy has no subinterpreters.
    let code = r#"
import sys
try:
    import _interpreters as interpreters
    kinds = [("isolated", lambda: interpreters.create()), ("legacy", lambda: interpreters.create("legacy"))]
except ImportError:
    import _xxsubinterpreters as interpreters
    kinds = [("isolated", lambda: interpreters.create()), ("legacy", lambda: interpreters.create(isolated=False))]
for kind, create in kinds:
    sub = create()
    interpreters.run_string(sub, "import sys, tempfile, wrapt_bootstrap as w; sys.stdout.write('%s %s\\n' % (w._status()['implementation'], hasattr(tempfile.mkdtemp, '__wrapped__'))); sys.stdout.flush()")
    # 3.14 warns at exit about interpreters left open.
    interpreters.destroy(sub)
import wrapt_bootstrap as w
print(w._status()['implementation'])
"#;
    for python in pythons().iter().filter(|python| python.minor >= 12) {
        for mode in modes(python) {
            let venv = Venv::new(python);
            venv.install(&["--mode", mode]);
            let output = venv.run_code(
                Implementation::Native,
                &[("WRAPT_PATCHES", "wrapt_bootstrap.examples")],
                code,
            );
            assert_eq!(
                stdout(&output),
                "fallback True\nfallback True\nnative\n",
                "{python} {mode} mode: {}",
                describe(&output)
            );
            assert_eq!(
                stderr(&output),
                "patching tempfile\npatching tempfile\n",
                "{python} {mode} mode"
            );
        }
    }
}

#[test]
fn subprocess_and_multiprocessing_spawn_children_are_patched() {
    let patches = recording_dist("colorsys");
    patches.write(
        "app.py",
        r#"
import multiprocessing, subprocess, sys

def child():
    import colorsys
    return colorsys.PATCHED_BY

if __name__ == "__main__":
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        print("spawn", pool.apply(child))
    result = subprocess.run([sys.executable, "-c", "import colorsys; print(colorsys.PATCHED_BY)"],
                            stdout=subprocess.PIPE, check=True, universal_newlines=True)
    print("subprocess", result.stdout.strip())
"#,
    );
    each_interpreter(|venv, implementation| {
        let log = patches.path().join(format!(
            "log-{}-{}",
            venv.python.cache_tag,
            implementation.name()
        ));
        let app = patches.path().join("app.py");
        let output = venv.python(
            implementation,
            &[
                ("WRAPT_PATCHES", "acme.patches"),
                ("PYTHONPATH", patches.path_str()),
                ("ACME_LOG", log.to_str().unwrap()),
            ],
            &[app.to_str().unwrap()],
        );
        assert!(output.status.success(), "{}", describe(&output));
        assert_eq!(stdout(&output), "spawn acme_patch\nsubprocess acme_patch\n");
        assert_eq!(stderr(&output), "");
        // Exactly once in each of the two children, never in the parent.
        let lines = fs::read_to_string(&log).unwrap();
        let mut pids: Vec<&str> = lines
            .lines()
            .map(|line| line.split(' ').next().unwrap())
            .collect();
        assert_eq!(pids.len(), 2, "{lines}");
        pids.dedup();
        assert_eq!(pids.len(), 2, "{lines}");
    });
}

#[test]
fn lazy_loader_targets_fire_when_really_loaded() {
    let patches = recording_dist("colorsys");
    let code = r#"
import importlib.util, sys
spec = importlib.util.find_spec("colorsys")
loader = importlib.util.LazyLoader(spec.loader)
spec.loader = loader
module = importlib.util.module_from_spec(spec)
sys.modules["colorsys"] = module
loader.exec_module(module)
assert "acme_patch" not in sys.modules
print(module.PATCHED_BY, module.rgb_to_hsv(1, 0, 0)[2])
"#;
    each_interpreter(|venv, implementation| {
        let env = patches.env("acme.patches");
        let output = venv.run_code(implementation, &env, code);
        assert_eq!(stdout(&output), "acme_patch 1\n", "{}", describe(&output));
    });
}

#[test]
fn finders_inserted_ahead_of_ours_keep_working() {
    // An import hook put first on sys.meta_path after startup, as pytest's
    // assertion rewriter and many APM agents do: its modules load through
    // it, and our hooks still fire for targets it does not claim.
    let patches = recording_dist("colorsys");
    let code = r#"
import sys, importlib.abc, importlib.util
class Rewriter(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name == "rewritten_module":
            return importlib.util.spec_from_loader(name, self)
    def exec_module(self, module):
        module.REWRITTEN = True
sys.meta_path.insert(0, Rewriter())
import rewritten_module, colorsys
print(rewritten_module.REWRITTEN, colorsys.PATCHED_BY)
"#;
    each_interpreter(|venv, implementation| {
        let env = patches.env("acme.patches");
        let output = venv.run_code(implementation, &env, code);
        assert_eq!(
            stdout(&output),
            "True acme_patch\n",
            "{}",
            describe(&output)
        );
    });
}

#[test]
fn pytest_assertion_rewriting_keeps_working() {
    let python = &pythons()[pythons().len() - 1];
    let venv = Venv::with_pip(python);
    venv.install(&[]);
    run_ok(
        std::process::Command::new(venv.interpreter())
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--only-binary",
                ":all:",
                "pytest",
            ])
            .env("WRAPT_PATCHES", "0"),
    );
    let patches = recording_dist("colorsys");
    patches.write(
        "test_app.py",
        "import colorsys\n\ndef test_patched():\n    assert colorsys.PATCHED_BY == 'acme_patch'\n\n\
         def test_rewritten():\n    left = [1, 2]\n    assert left == [1, 3]\n",
    );
    let test_file = patches.path().join("test_app.py");
    let output = venv.python(
        Implementation::Native,
        &[
            ("WRAPT_PATCHES", "acme.patches"),
            ("PYTHONPATH", patches.path_str()),
        ],
        &[
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            test_file.to_str().unwrap(),
        ],
    );
    let report = stdout(&output);
    // One pass (our hook fired), one failure explained by pytest's
    // rewritten assertion (its import hook still works).
    assert!(
        report.contains("1 failed, 1 passed"),
        "{}",
        describe(&output)
    );
    assert!(
        report.contains("At index 1 diff: 2 != 3"),
        "{}",
        describe(&output)
    );
}

#[test]
fn interpreter_flags_behave_as_documented() {
    each_interpreter(|venv, implementation| {
        let env = [("WRAPT_PATCHES", "wrapt_bootstrap.examples")];
        // -I and -E only concern PYTHON* variables: WRAPT_PATCHES still counts.
        for flag in ["-I", "-E"] {
            let output = venv.python(implementation, &env, &[flag, "-c", "import tempfile"]);
            assert!(output.status.success(), "{flag}: {}", describe(&output));
            assert_eq!(stderr(&output), "patching tempfile\n", "{flag}");
        }
        // -s (no user site) changes nothing for a venv's own site-packages.
        let output = venv.python(implementation, &env, &["-s", "-c", "import tempfile"]);
        assert_eq!(stderr(&output), "patching tempfile\n");
    });
}

#[test]
fn broken_installs_never_break_startup() {
    // In sitecustomize mode our sitecustomize loads the native module
    // itself, and a .start names an entry point site reports any failure
    // of: every trigger goes through every state.
    for (python, mode) in pythons_and_pypy()
        .iter()
        .flat_map(|python| modes(python).iter().map(move |mode| (python, *mode)))
    {
        let venv = Venv::new(python);
        venv.install(&["--mode", mode]);
        let package = venv.site_packages.join("wrapt_bootstrap");
        let env = [("WRAPT_PATCHES", "wrapt_bootstrap.examples")];
        let start = |what: &str| {
            for env in [&[][..], &env[..]] {
                let output = venv.python(Implementation::Native, env, &["-c", "pass"]);
                assert!(output.status.success(), "{what}: {}", describe(&output));
                assert_eq!(stderr(&output), "", "{python} {mode} mode, {what}");
            }
        };
        // A truncated native module: the fallback serves, silently.
        let native = package.join("_native.abi3.so");
        let so = fs::read(&native).unwrap();
        fs::write(&native, &so[..so.len() / 2]).unwrap();
        start("truncated .so");
        let output = venv.run_code(
            Implementation::Native,
            &env,
            "import sys, tempfile, wrapt_bootstrap as w; \
             print(w._status()['implementation'], 'wrapt_bootstrap._native' in sys.modules)",
        );
        assert_eq!(stdout(&output), "fallback False\n", "{python} {mode} mode");
        assert_eq!(
            stderr(&output),
            "patching tempfile\n",
            "{python} {mode} mode"
        );
        fs::remove_file(&native).unwrap();
        start("missing .so");
        // A package that does not even compile.
        fs::write(package.join("__init__.py"), "this is not python(\n").unwrap();
        start("__init__.py with a syntax error");
        fs::write(package.join("__init__.py"), "").unwrap();
        start("__init__.py without _activate");
        fs::remove_dir_all(&package).unwrap();
        start("package gone");
    }
}

#[test]
fn broken_metadata_elsewhere_is_ignored_and_ours_is_reported_once() {
    let patches = recording_dist("colorsys");
    // Unrelated distributions with broken metadata: not ours to report.
    let unrelated = patches.path().join("unrelated-1.0.dist-info");
    fs::create_dir_all(&unrelated).unwrap();
    fs::write(
        unrelated.join("entry_points.txt"),
        b"[console_scripts\nthis line is broken\n\xff\xfe\n",
    )
    .unwrap();
    let binary = patches.path().join("binary-1.0.dist-info");
    fs::create_dir_all(&binary).unwrap();
    fs::write(binary.join("entry_points.txt"), b"\xff\xfe\x00garbage").unwrap();
    let egg_file = patches.path().join("old_style-1.0.egg-info");
    fs::write(egg_file, "Metadata-Version: 1.0\n").unwrap();
    // A broken line inside the enabled group: reported, the rest still works.
    let ours = patches.path().join("acme_more-1.0.dist-info");
    fs::create_dir_all(&ours).unwrap();
    fs::write(
        ours.join("entry_points.txt"),
        "[acme.patches]\nno equals sign here\n",
    )
    .unwrap();
    each_interpreter(|venv, implementation| {
        let env = patches.env("acme.patches");
        let output = venv.run_code(
            implementation,
            &env,
            "import colorsys, sys\nsys.path.insert(0, b'/bytes/entry')\nimport wrapt_bootstrap\n\
             wrapt_bootstrap.discover_post_import_hooks('other.group')\nprint(colorsys.PATCHED_BY)",
        );
        assert_eq!(stdout(&output), "acme_patch\n", "{}", describe(&output));
        let errors = stderr(&output);
        assert_eq!(errors.lines().count(), 1, "{errors}");
        assert!(
            errors.starts_with("wrapt-bootstrap: skipped: ")
                && errors.contains("acme_more-1.0.dist-info/entry_points.txt:2: not 'name = value': 'no equals sign here'"),
            "{errors}"
        );
    });
}

#[test]
fn interpreters_the_native_module_cannot_serve_take_the_fallback() {
    // Free-threaded builds (abiflags "t") may load an abi3 module and then
    // crash, and PyPy cannot load it: decided before touching it. CPython
    // only: it plays those interpreters on one the native module serves.
    let cases = [
        ("sys.abiflags = sys.abiflags + 't'", "fallback"),
        (
            "sys.implementation = types.SimpleNamespace(**dict(vars(sys.implementation), name='pypy'))",
            "fallback",
        ),
        ("pass", "native"),
    ];
    for python in pythons() {
        let venv = crate::support::shared_venv(python);
        for (setup, expected) in cases {
            let code = format!(
                "import sys, types\n{setup}\nimport wrapt_bootstrap as w\nw.register_post_import_hook(lambda m: None, 'colorsys')\n\
                 print(w._impl.IMPLEMENTATION, 'wrapt_bootstrap._native' in sys.modules)"
            );
            let output = venv.run_code(Implementation::Native, &[], &code);
            assert_eq!(
                stdout(&output),
                format!(
                    "{expected} {}\n",
                    if expected == "native" {
                        "True"
                    } else {
                        "False"
                    }
                ),
                "python 3.{} {setup}: {}",
                python.minor,
                describe(&output)
            );
        }
    }
}

#[test]
fn hooks_run_with_no_lock_held() {
    // A hook that waits for another thread importing another hooked module,
    // and one that registers a further hook: a lock held while hooks run
    // (wrapt PR #217) would deadlock here; faulthandler turns that into a
    // failure instead of a hang.
    let patches = PatchDir::new(&[PatchDist {
        name: "nested-patches",
        group: "nested",
        entries: &[
            ("colorsys", "nested_patch:outer"),
            ("json", "nested_patch:inner"),
        ],
        modules: &[(
            "nested_patch.py",
            r#"
import sys, threading
import wrapt_bootstrap
def outer(module):
    thread = threading.Thread(target=__import__, args=("json",))
    thread.start()
    thread.join()
    wrapt_bootstrap.register_post_import_hook(lambda m: sys.stdout.write("late " + m.__name__ + "\n"), "colorsys")
    wrapt_bootstrap.register_post_import_hook(lambda m: sys.stdout.write("later " + m.__name__ + "\n"), "wave")
def inner(module):
    sys.stdout.write("inner " + module.__name__ + "\n")
"#,
        )],
    }]);
    each_interpreter(|venv, implementation| {
        let env = patches.env("nested");
        let output = venv.run_code(
            implementation,
            &env,
            "import faulthandler; faulthandler.dump_traceback_later(30, exit=True)\nimport colorsys, wave\nprint('done')",
        );
        assert_eq!(
            stdout(&output),
            "inner json\nlate colorsys\nlater wave\ndone\n",
            "{}",
            describe(&output)
        );
    });
}

#[test]
fn sys_path_entries_added_later_in_site_are_scanned_too() {
    // Step 3 of the startup sequence: a .pth path line sorting after ours
    // (as editable installs add), and sitecustomize appending to sys.path,
    // both after our activation ran. The first uses an *.egg-info
    // directory, as `setup.py develop` leaves. In sitecustomize mode, the
    // environment's sitecustomize.py runs from ours.
    for (python, mode) in pythons_and_pypy()
        .iter()
        .flat_map(|python| modes(python).iter().map(move |mode| (python, *mode)))
    {
        let venv = Venv::new(python);
        venv.install(&["--mode", mode]);
        let editable = tempfile::tempdir().unwrap();
        let egg_info = editable.path().join("late_patches.egg-info");
        fs::create_dir_all(&egg_info).unwrap();
        fs::write(
            egg_info.join("entry_points.txt"),
            "[late]\ncolorsys = late_patch:hook\n",
        )
        .unwrap();
        fs::write(
            editable.path().join("late_patch.py"),
            "def hook(m):\n    m.LATE = 'pth'\n",
        )
        .unwrap();
        fs::write(
            venv.site_packages.join("zz_editable.pth"),
            format!("{}\n", editable.path().display()),
        )
        .unwrap();
        let custom = tempfile::tempdir().unwrap();
        PatchDist {
            name: "custom-patches",
            group: "late",
            entries: &[("wave", "custom_patch:hook")],
            modules: &[(
                "custom_patch.py",
                "def hook(m):\n    m.LATE = 'sitecustomize'\n",
            )],
        }
        .write_into(custom.path());
        fs::write(
            venv.site_packages.join("sitecustomize.py"),
            format!(
                "import sys\nsys.path.append({:?})\n",
                custom.path().to_str().unwrap()
            ),
        )
        .unwrap();
        for &implementation in python.implementations() {
            let output = venv.run_code(
                implementation,
                &[("WRAPT_PATCHES", "late")],
                "import colorsys, wave; print(colorsys.LATE, wave.LATE)",
            );
            assert_eq!(
                stdout(&output),
                "pth sitecustomize\n",
                "{python} {implementation:?}, {mode} mode: {}",
                describe(&output)
            );
            assert_eq!(stderr(&output), "");
        }
    }
}

/// A patch's `sys.exit()` at startup, from its hook or its module, for a
/// target that is already imported when the hooks are registered (`os`):
/// before, every Python process of the environment failed to start
/// ("Fatal Python error: init_import_site"). Reported, and the interpreter
/// starts, in every mode.
#[test]
fn a_patch_that_exits_at_startup_never_stops_the_interpreter() {
    let patches = PatchDir::new(&[PatchDist {
        name: "exiting-patches",
        group: "exiting",
        entries: &[("os", "exits_in_hook:hook"), ("os", "exits_on_import:hook")],
        modules: &[
            (
                "exits_in_hook.py",
                "import sys\ndef hook(module):\n    sys.exit(3)\n",
            ),
            (
                "exits_on_import.py",
                "import sys\nsys.exit(4)\ndef hook(module):\n    pass\n",
            ),
        ],
    }]);
    for python in pythons_and_pypy() {
        for mode in modes(python) {
            let venv = Venv::new(python);
            venv.install(&["--mode", mode]);
            for &implementation in python.implementations() {
                for strict in ["0", "1"] {
                    let env = [
                        ("WRAPT_PATCHES", "exiting"),
                        ("PYTHONPATH", patches.path_str()),
                        ("WRAPT_PATCHES_STRICT", strict),
                    ];
                    let what = format!("{python} {mode} mode {implementation:?} strict={strict}");
                    let output = venv.run_code(implementation, &env, "print('started')");
                    assert_eq!(
                        stdout(&output),
                        "started\n",
                        "{what}: {}",
                        describe(&output)
                    );
                    let errors = stderr(&output);
                    assert!(
                        errors.contains("SystemExit: 3") && errors.contains("SystemExit: 4"),
                        "{what}: {errors}"
                    );
                    assert_eq!(
                        errors.matches("wrapt-bootstrap:").count(),
                        2,
                        "{what}: {errors}"
                    );
                }
            }
        }
    }
}
