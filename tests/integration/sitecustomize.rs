//! `--mode sitecustomize`: activation from a `sitecustomize` package that
//! runs the sitecustomize it hides, and refuses where another would win;
//! what happens when a wrapper command's sitecustomize hides it.

use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use crate::support::{
    describe, modes, pythons, pythons_and_pypy, recording_dist, stderr, stdout, wrapt_install,
    wrapt_uninstall, Implementation, Venv,
};

/// The environment's own sitecustomize: it records whether our bootstrap
/// ran before it, imports the example group's target, and cleans up after
/// itself as such modules do.
const USER_SITECUSTOMIZE: &str = "\
import sys
BOOTSTRAPPED_FIRST = any(m.startswith('wrapt_bootstrap') for m in sys.modules)
import tempfile
del sys, tempfile
";

fn install_sitecustomize(venv: &Venv) {
    venv.install(&["--mode", "sitecustomize"]);
    assert!(venv
        .site_packages
        .join("sitecustomize/__init__.py")
        .is_file());
    for activation in ["00_wrapt_bootstrap.pth", "00_wrapt_bootstrap.start"] {
        assert!(
            !venv.site_packages.join(activation).exists(),
            "{activation}"
        );
    }
}

#[test]
fn the_environments_own_sitecustomize_keeps_running_and_comes_back_untouched() {
    for python in pythons_and_pypy() {
        let venv = Venv::new(python);
        let own = venv.site_packages.join("sitecustomize.py");
        fs::write(&own, USER_SITECUSTOMIZE).unwrap();
        let before = venv.snapshot();
        let mtime = fs::metadata(&own).unwrap().mtime_nsec();
        install_sitecustomize(&venv);
        let what = |output: &std::process::Output| format!("{python}: {}", describe(output));
        for &implementation in python.implementations() {
            // Enabled: hooks are registered before the environment's own
            // sitecustomize runs, so the tempfile it imports is patched.
            let output = venv.run_code(
                implementation,
                &[("WRAPT_PATCHES", "wrapt_bootstrap.examples")],
                "import sitecustomize as s, wrapt_bootstrap as w; \
                 print(s.BOOTSTRAPPED_FIRST, s.__file__, w._status()['implementation'])",
            );
            assert_eq!(
                stdout(&output),
                format!("True {} {}\n", own.display(), implementation.name()),
                "{}",
                what(&output)
            );
            assert_eq!(stderr(&output), "patching tempfile\n", "{}", what(&output));
            // Idle: it runs all the same, and nothing of ours is imported.
            let output = venv.run_code(
                implementation,
                &[],
                "import sys, sitecustomize as s; \
                 print(s.BOOTSTRAPPED_FIRST, [m for m in sys.modules if 'wrapt' in m])",
            );
            assert_eq!(stdout(&output), "False []\n", "{}", what(&output));
            assert_eq!(stderr(&output), "", "{}", what(&output));
        }
        let output = wrapt_install()
            .args(["--check", "--json", "--venv"])
            .arg(&venv.root)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", what(&output));
        assert!(
            stdout(&output).contains(r#""activation": "sitecustomize""#),
            "{}",
            what(&output)
        );

        let output = wrapt_uninstall()
            .arg("--venv")
            .arg(&venv.root)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", what(&output));
        assert_eq!(venv.snapshot(), before, "{python}");
        assert_eq!(fs::metadata(&own).unwrap().mtime_nsec(), mtime);
    }
}

#[test]
fn a_failing_sitecustomize_fails_exactly_as_it_did_without_us() {
    for python in pythons_and_pypy() {
        let venv = Venv::new(python);
        let own = venv.site_packages.join("sitecustomize.py");
        let cases = [
            "raise ValueError('broken on purpose')\n",
            "import no_such_module_anywhere\n",
            // Ignored by site without a word: the name is sitecustomize's.
            "raise ImportError('gone', name='sitecustomize')\n",
            "import sys\nsys.stderr.write('customized\\n')\n",
        ];
        let starts = |venv: &Venv| -> Vec<(Option<i32>, String, String)> {
            cases
                .iter()
                .map(|source| {
                    fs::write(&own, source).unwrap();
                    let output = venv.python(Implementation::Native, &[], &["-c", "print('ran')"]);
                    (output.status.code(), stdout(&output), stderr(&output))
                })
                .collect()
        };
        let without_us = starts(&venv);
        assert!(without_us[0].2.contains("ValueError: broken on purpose"));
        install_sitecustomize(&venv);
        assert_eq!(starts(&venv), without_us, "{python}");
    }
}

#[test]
fn a_sitecustomize_further_down_sys_path_still_runs() {
    // A .pth path line puts a directory with its own sitecustomize after
    // site-packages: Python imported it before we came, and still does.
    let python = pythons().last().unwrap();
    let venv = Venv::new(python);
    let later = tempfile::tempdir().unwrap();
    fs::write(
        later.path().join("sitecustomize.py"),
        "import sys\nsys.stderr.write('later sitecustomize\\n')\n",
    )
    .unwrap();
    fs::write(
        venv.site_packages.join("zz_later.pth"),
        format!("{}\n", later.path().display()),
    )
    .unwrap();
    let start = || {
        let output = venv.python(Implementation::Native, &[], &["-c", "pass"]);
        assert!(output.status.success(), "{}", describe(&output));
        stderr(&output)
    };
    assert_eq!(start(), "later sitecustomize\n");
    install_sitecustomize(&venv);
    assert_eq!(start(), "later sitecustomize\n");
}

#[test]
fn refuses_where_another_sitecustomize_would_win() {
    let python = pythons().last().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let exe = crate::support::base_installation(python, &home);
    fs::write(
        home.join(format!("lib/python3.{}/sitecustomize.py", python.minor)),
        "# the distribution's own, as Debian's in /usr/lib/python3.X\n",
    )
    .unwrap();
    let venv_dir = dir.path().join("venv");
    let created = std::process::Command::new(&exe)
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv_dir)
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", describe(&created));
    let site_packages = venv_dir.join(format!("lib/python3.{}/site-packages", python.minor));
    let before = crate::support::snapshot(&site_packages);

    let attempt = |args: &[&str]| {
        wrapt_install()
            .arg("--venv")
            .arg(&venv_dir)
            .args(args)
            .output()
            .unwrap()
    };
    for args in [
        &["--mode", "sitecustomize"][..],
        &["--mode", "sitecustomize", "--dry-run", "--force"],
    ] {
        let output = attempt(args);
        assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
        let error = stderr(&output);
        assert_eq!(error.lines().count(), 1, "{error}");
        assert!(
            error.contains(&format!(
                "{} comes before {} on sys.path",
                dir.path()
                    .join(format!(
                        "home/lib/python3.{}/sitecustomize.py",
                        python.minor
                    ))
                    .display(),
                site_packages.display()
            )),
            "{error}"
        );
        assert!(error.contains("use --mode pth"), "{error}");
        assert_eq!(
            crate::support::snapshot(&site_packages),
            before,
            "nothing written"
        );
    }
    // The default mode does not care.
    let output = attempt(&[]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(site_packages.join("00_wrapt_bootstrap.pth").is_file());
}

#[test]
fn refuses_a_sitecustomize_it_could_not_run_in_its_place() {
    // Bytecode without source, in site-packages: only a sitecustomize.py
    // can be run from our package.
    let python = pythons().last().unwrap();
    let venv = Venv::new(python);
    let compiled = venv.site_packages.join("sitecustomize.pyc");
    let source = venv.root.join("sitecustomize_source.py");
    fs::write(&source, "pass\n").unwrap();
    let output = std::process::Command::new(venv.interpreter())
        .arg("-c")
        .arg("import py_compile, sys; py_compile.compile(sys.argv[1], sys.argv[2], doraise=True)")
        .arg(&source)
        .arg(&compiled)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    let output = wrapt_install()
        .args(["--mode", "sitecustomize", "--venv"])
        .arg(&venv.root)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        stderr(&output).contains(&format!("{} is not a sitecustomize.py", compiled.display())),
        "{}",
        describe(&output)
    );
}

#[test]
fn the_mode_is_kept_until_changed_and_switching_leaves_no_trace() {
    let python = pythons().last().unwrap();
    let venv = Venv::new(python);
    let pristine = venv.snapshot();
    let pth = venv.site_packages.join("00_wrapt_bootstrap.pth");
    let package = venv.site_packages.join("sitecustomize");
    venv.install(&[]);
    assert!(pth.is_file() && !package.exists());
    install_sitecustomize(&venv);
    assert!(package
        .join("__pycache__")
        .read_dir()
        .unwrap()
        .next()
        .is_some());
    // A plain reinstall, or a change of defaults, keeps the mode.
    let output = venv.install(&["--enable", "wrapt_bootstrap.examples"]);
    assert!(
        stdout(&output).contains("sitecustomize package"),
        "{}",
        describe(&output)
    );
    assert!(package.join("__init__.py").is_file() && !pth.exists());
    // Defaults set: active without WRAPT_PATCHES.
    let output = venv.run_code(Implementation::Native, &[], "import tempfile");
    assert_eq!(stderr(&output), "patching tempfile\n");
    let output = venv.install(&["--dry-run", "--json"]);
    assert!(
        stdout(&output).contains(r#""activation": "sitecustomize""#),
        "{}",
        describe(&output)
    );
    assert!(
        !stdout(&output).contains("pth_line"),
        "{}",
        describe(&output)
    );
    venv.install(&["--mode", "pth", "--disable", "wrapt_bootstrap.examples"]);
    assert!(
        pth.is_file() && !package.exists(),
        "the package and its bytecode are gone"
    );
    let output = wrapt_uninstall()
        .arg("--venv")
        .arg(&venv.root)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(venv.snapshot(), pristine);
}

/// Free-threaded builds (abiflags "t") may load an abi3 module and then
/// crash, and PyPy cannot load it: our sitecustomize decides before touching
/// it. A `.pth` line, which site runs before sitecustomize, plays the
/// interpreter; CPython only, since the native module must serve it as itself.
#[test]
fn interpreters_the_native_module_cannot_serve_take_the_fallback() {
    let python = pythons().last().unwrap();
    let venv = Venv::new(python);
    install_sitecustomize(&venv);
    for (pretend, implementation) in [
        ("import sys;sys.abiflags+='t'", "fallback False"),
        (
            "import sys,types;sys.implementation=types.SimpleNamespace(**dict(vars(sys.implementation),name='pypy'))",
            "fallback False",
        ),
        ("import sys", "native True"),
    ] {
        fs::write(venv.site_packages.join("pretend.pth"), format!("{pretend}\n")).unwrap();
        let output = venv.run_code(
            Implementation::Native,
            &[("WRAPT_PATCHES", "wrapt_bootstrap.examples")],
            "import sys, tempfile, wrapt_bootstrap as w; \
             print(w._status()['implementation'], 'wrapt_bootstrap._native' in sys.modules)",
        );
        assert_eq!(
            (stdout(&output).as_str(), stderr(&output).as_str()),
            (format!("{implementation}\n").as_str(), "patching tempfile\n"),
            "{pretend}: {}",
            describe(&output)
        );
    }
}

/// A wrapper command's sitecustomize, in `dir` at `rel` (which ends in
/// `sitecustomize.py`); returns the directory the wrapper puts on
/// `PYTHONPATH`.
fn wrapper(dir: &Path, rel: &str, source: &str) -> PathBuf {
    let file = dir.join(rel);
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, source).unwrap();
    file.parent().unwrap().to_owned()
}

/// What ddtrace 4.16.0's `ddtrace/bootstrap/sitecustomize.py` does once
/// `ddtrace-run` has put its directory first on PYTHONPATH: start ddtrace
/// (which imports hundreds of modules, tempfile among them), then take its
/// directory off sys.path and itself out of sys.modules and import
/// sitecustomize again, which finds the next one.
const DDTRACE_SITECUSTOMIZE: &str = "\
import os
import sys
import tempfile

bootstrap_dir = os.path.dirname(__file__)
if bootstrap_dir in sys.path:
    index = sys.path.index(bootstrap_dir)
    del sys.path[index]
    ddtrace_sitecustomize = sys.modules.pop('sitecustomize', None)
    if 'ddtrace.bootstrap.sitecustomize' not in sys.modules and ddtrace_sitecustomize is not None:
        sys.modules['ddtrace.bootstrap.sitecustomize'] = ddtrace_sitecustomize
    try:
        import sitecustomize
    except ImportError:
        if ddtrace_sitecustomize is not None:
            sys.modules['sitecustomize'] = ddtrace_sitecustomize
    finally:
        sys.path.insert(index, bootstrap_dir)
";
const DDTRACE_PATH: &str = "ddtrace/bootstrap/sitecustomize.py";

/// What opentelemetry-instrumentation 0.66b2's
/// `auto_instrumentation/sitecustomize.py` does once
/// `opentelemetry-instrument` has put its directory first on PYTHONPATH:
/// `initialize()` configures OpenTelemetry (which imports, among much else,
/// tempfile), then loads and calls every `opentelemetry_pre_instrument`
/// entry point, then each instrumentor, which imports the library it
/// instruments (colorsys here, recording whether it was patched on
/// import). It runs no other sitecustomize, and logs and swallows what its
/// steps raise (recorded here). 3.9's `entry_points()` is a dict;
/// OpenTelemetry uses the `importlib_metadata` backport there.
const OPENTELEMETRY_SITECUSTOMIZE: &str = "\
import builtins
import importlib.metadata

def entry_points(group):
    found = importlib.metadata.entry_points()
    return found.select(group=group) if hasattr(found, 'select') else found.get(group, ())

def initialize():
    try:
        import tempfile
        for entry_point in entry_points('opentelemetry_pre_instrument'):
            entry_point.load()()
        import colorsys
        builtins.INSTRUMENTED = getattr(colorsys, 'PATCHED_BY', None)
    except Exception as exc:
        builtins.INSTRUMENTED = 'failed: %r' % exc

initialize()
";
const OPENTELEMETRY_PATH: &str =
    "opentelemetry/instrumentation/auto_instrumentation/sitecustomize.py";

#[test]
fn a_wrapper_sitecustomize_that_runs_the_next_one_runs_ours_late() {
    for python in pythons_and_pypy() {
        let venv = Venv::new(python);
        fs::write(
            venv.site_packages.join("sitecustomize.py"),
            USER_SITECUSTOMIZE,
        )
        .unwrap();
        install_sitecustomize(&venv);
        let dir = tempfile::tempdir().unwrap();
        let bootstrap = wrapper(dir.path(), DDTRACE_PATH, DDTRACE_SITECUSTOMIZE);
        let pythonpath = bootstrap.to_str().unwrap();
        for &implementation in python.implementations() {
            let what = |output: &std::process::Output| {
                format!("{python} {}: {}", implementation.name(), describe(output))
            };
            let run = |env: &[(&str, &str)]| {
                let mut env = env.to_vec();
                env.push(("PYTHONPATH", pythonpath));
                venv.run_code(
                    implementation,
                    &env,
                    "import sys, tempfile, sitecustomize as s; \
                     print('wrapt_bootstrap' in sys.modules, s.BOOTSTRAPPED_FIRST)",
                )
            };
            // Ours runs, then the environment's own: the hook is
            // registered once ddtrace's has imported tempfile, and fires
            // at once.
            let output = run(&[("WRAPT_PATCHES", "wrapt_bootstrap.examples")]);
            assert_eq!(stdout(&output), "True True\n", "{}", what(&output));
            assert_eq!(stderr(&output), "patching tempfile\n", "{}", what(&output));
            let output = run(&[
                ("WRAPT_PATCHES", "wrapt_bootstrap.examples"),
                ("WRAPT_PATCHES_DEBUG", "1"),
            ]);
            let error = stderr(&output);
            assert!(
                error.contains("for module 'tempfile' (already imported: firing now)\n"),
                "{}",
                what(&output)
            );
            assert!(
                error.contains(&format!(
                    "\nwrapt-bootstrap: {}/sitecustomize.py hides our sitecustomize package and ran it after itself: activated late",
                    bootstrap.display()
                )),
                "{}",
                what(&output)
            );
            let output = run(&[]);
            assert_eq!(
                (stdout(&output).as_str(), stderr(&output).as_str()),
                ("False False\n", ""),
                "{}",
                what(&output)
            );
        }
    }
}

#[test]
fn opentelemetrys_sitecustomize_runs_no_other_but_activates_ours_before_its_instrumentors() {
    for python in pythons_and_pypy() {
        let venv = Venv::new(python);
        let dir = tempfile::tempdir().unwrap();
        let auto_instrumentation =
            wrapper(dir.path(), OPENTELEMETRY_PATH, OPENTELEMETRY_SITECUSTOMIZE);
        let patches = recording_dist("colorsys");
        let pythonpath = format!("{}:{}", auto_instrumentation.display(), patches.path_str());
        let theirs = format!("{}/sitecustomize.py", auto_instrumentation.display());
        for &mode in modes(python) {
            venv.install(&["--mode", mode]);
            for &implementation in python.implementations() {
                let what = |output: &std::process::Output| {
                    format!(
                        "{python} {mode} {}: {}",
                        implementation.name(),
                        describe(output)
                    )
                };
                let run = |env: &[(&str, &str)]| {
                    let mut env = env.to_vec();
                    env.push(("PYTHONPATH", &pythonpath));
                    venv.run_code(
                        implementation,
                        &env,
                        "import builtins, sys; \
                         print(builtins.INSTRUMENTED, sys.modules['sitecustomize'].__spec__.origin)",
                    )
                };
                // The instrumentor imports colorsys once we are active: the
                // hook fires as it is imported.
                let output = run(&[("WRAPT_PATCHES", "acme.patches")]);
                assert_eq!(
                    (stdout(&output), stderr(&output).as_str()),
                    (format!("acme_patch {theirs}\n"), ""),
                    "{}",
                    what(&output)
                );
                let output = run(&[
                    ("WRAPT_PATCHES", "acme.patches,wrapt_bootstrap.examples"),
                    ("WRAPT_PATCHES_DEBUG", "1"),
                ]);
                let error = stderr(&output);
                let hidden = format!(
                    "\nwrapt-bootstrap: {theirs} hides our sitecustomize package and runs no other: activated from OpenTelemetry's opentelemetry_pre_instrument entry point instead"
                );
                // In sitecustomize mode, what OpenTelemetry's configuration
                // imported is late; the other modes activate before it.
                let tempfile = if mode == "sitecustomize" {
                    "for module 'tempfile' (already imported: firing now)\n"
                } else {
                    "for module 'tempfile'\n"
                };
                assert!(
                    error.contains(&hidden) == (mode == "sitecustomize")
                        && error.contains(tempfile)
                        && error.contains("for module 'colorsys'\n"),
                    "{}",
                    what(&output)
                );
                let output = run(&[("WRAPT_PATCHES_DEBUG", "1")]);
                assert_eq!(
                    (stdout(&output), stderr(&output).as_str()),
                    (format!("None {theirs}\n"), ""),
                    "{}",
                    what(&output)
                );
            }
        }
    }
}

#[test]
fn check_names_a_sitecustomize_on_pythonpath_that_hides_ours() {
    let python = pythons().last().unwrap();
    let venv = Venv::new(python);
    install_sitecustomize(&venv);
    let dir = tempfile::tempdir().unwrap();
    let ddtrace = wrapper(&dir.path().join("dd"), DDTRACE_PATH, DDTRACE_SITECUSTOMIZE);
    let opentelemetry = wrapper(
        &dir.path().join("otel"),
        OPENTELEMETRY_PATH,
        OPENTELEMETRY_SITECUSTOMIZE,
    );
    let vendor = wrapper(dir.path(), "vendor/sitecustomize.py", "import sys\n");
    let check = |pythonpath: &str| {
        wrapt_install()
            .args(["--check", "--venv"])
            .arg(&venv.root)
            .env("PYTHONPATH", pythonpath)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let hides = |found: &Path, whose: &str| {
        format!(
            "with this PYTHONPATH, Python imports {}/sitecustomize.py{whose} instead of our sitecustomize package",
            found.display()
        )
    };
    for (pythonpath, status, message) in [
        (
            ddtrace.to_str().unwrap(),
            0,
            format!(
                "warning: {}, and it runs ours only after starting ddtrace",
                hides(&ddtrace, " (ddtrace-run's)")
            ),
        ),
        (
            opentelemetry.to_str().unwrap(),
            0,
            format!(
                "warning: {}, and runs no other: wrapt-bootstrap activates from OpenTelemetry's opentelemetry_pre_instrument entry point instead",
                hides(&opentelemetry, " (opentelemetry-instrument's)")
            ),
        ),
        (
            vendor.to_str().unwrap(),
            1,
            format!(
                "problem: {}, which then runs only if that one imports the next sitecustomize on sys.path",
                hides(&vendor, "")
            ),
        ),
        // Relative, as Python resolves it: against the working directory.
        ("vendor", 1, format!("problem: {}", hides(&vendor, ""))),
    ] {
        let output = check(pythonpath);
        assert_eq!(output.status.code(), Some(status), "{}", describe(&output));
        let error = stderr(&output);
        assert!(error.contains(&message), "{message}\n{}", describe(&output));
        assert!(error.contains("--mode pth"), "{}", describe(&output));
    }

    // Ours first on PYTHONPATH: nothing hides it.
    let output = check(&format!(
        "{}:{}",
        venv.site_packages.display(),
        vendor.display()
    ));
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        !stderr(&output).contains("PYTHONPATH"),
        "{}",
        describe(&output)
    );
}

#[test]
fn behind_a_sitecustomize_that_runs_no_other_only_the_pth_line_activates() {
    let python = pythons().last().unwrap();
    let venv = Venv::new(python);
    install_sitecustomize(&venv);
    let dir = tempfile::tempdir().unwrap();
    let vendor = wrapper(dir.path(), "vendor/sitecustomize.py", "import sys\n");
    let vendor_path = vendor.to_str().unwrap();
    // What check's problem means: nothing of ours runs, so nothing can
    // say so.
    let output = venv.run_code(
        Implementation::Native,
        &[
            ("WRAPT_PATCHES", "wrapt_bootstrap.examples"),
            ("WRAPT_PATCHES_DEBUG", "1"),
            ("PYTHONPATH", vendor_path),
        ],
        "import sys, tempfile; print('wrapt_bootstrap' in sys.modules)",
    );
    assert_eq!(
        (stdout(&output).as_str(), stderr(&output).as_str()),
        ("False\n", ""),
        "{}",
        describe(&output)
    );

    // The .pth line runs before any sitecustomize.
    venv.install(&["--mode", "pth"]);
    let output = wrapt_install()
        .args(["--check", "--venv"])
        .arg(&venv.root)
        .env("PYTHONPATH", vendor_path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        !stderr(&output).contains("PYTHONPATH"),
        "{}",
        describe(&output)
    );
    let output = venv.run_code(
        Implementation::Native,
        &[
            ("WRAPT_PATCHES", "wrapt_bootstrap.examples"),
            ("PYTHONPATH", vendor_path),
        ],
        "import tempfile",
    );
    assert_eq!(
        stderr(&output),
        "patching tempfile\n",
        "{}",
        describe(&output)
    );
}
