//! The bootstrap at interpreter startup: selection, hook semantics, failures.
//! Every test runs on each CPython found with both implementations, and on
//! PyPy with the fallback.

use crate::support::{
    assert_served_by, describe, each_interpreter, modes, pypi_packages, pythons, recording_dist,
    stderr, stdout, Implementation, PatchDir, PatchDist, Venv, RECORDING_PATCH,
};

#[test]
fn example_group_patches_tempfile_mkdtemp() {
    each_interpreter(|venv, implementation| {
        let env = [("WRAPT_PATCHES", "wrapt_bootstrap.examples")];
        assert_served_by(venv, implementation, &env);
        let output = venv.run_code(
            implementation,
            &env,
            "import os, tempfile\nos.rmdir(tempfile.mkdtemp())\nos.rmdir(tempfile.mkdtemp())",
        );
        assert_eq!(
            stderr(&output),
            "patching tempfile\ncalling mkdtemp\ncalling mkdtemp\n",
            "{}",
            describe(&output)
        );
        assert_eq!(stdout(&output), "", "the bootstrap never writes to stdout");
    });
}

#[test]
fn reference_taken_at_import_time_gets_the_patched_function() {
    // The ordering problem itself: an unmodified module that does
    // `from tempfile import mkdtemp` before any patch code could run.
    let patches = PatchDir::new(&[]);
    patches.write(
        "app.py",
        "from tempfile import mkdtemp\nimport os\nos.rmdir(mkdtemp())\nprint(getattr(mkdtemp, '__wrapped__', None) is not None)\n",
    );
    each_interpreter(|venv, implementation| {
        let script = patches.path().join("app.py");
        let script = script.to_str().unwrap();
        let patched = venv.python(
            implementation,
            &[("WRAPT_PATCHES", "wrapt_bootstrap.examples")],
            &[script],
        );
        assert!(patched.status.success(), "{}", describe(&patched));
        assert_eq!(stdout(&patched), "True\n");
        assert!(
            stderr(&patched).ends_with("calling mkdtemp\n"),
            "{}",
            describe(&patched)
        );

        let unpatched = venv.python(implementation, &[], &[script]);
        assert_eq!(stdout(&unpatched), "False\n", "{}", describe(&unpatched));
        assert_eq!(stderr(&unpatched), "");
    });
}

/// Nothing enabled loads nothing: no implementation, no finder, no patch.
/// With neither variable set the line imports nothing at all; a kill value
/// is decided by the package (why: `src/plan.rs`).
#[test]
fn dormant_when_nothing_is_enabled() {
    let patches = recording_dist("colorsys");
    let code = "import sys, colorsys\nprint(sorted(m for m in sys.modules if m.startswith('wrapt_bootstrap')), \
                'acme_patch' in sys.modules, any('wrapt_bootstrap' in repr(f) for f in sys.meta_path))";
    each_interpreter(|venv, implementation| {
        for value in [
            None,
            Some(""),
            Some("0"),
            Some("off"),
            Some("NONE"),
            Some(" , "),
        ] {
            let mut env = vec![("PYTHONPATH", patches.path_str())];
            if let Some(value) = value {
                env.push(("WRAPT_PATCHES", value));
            }
            let output = venv.run_code(implementation, &env, code);
            let imported = if value.is_some() {
                "['wrapt_bootstrap']"
            } else {
                "[]"
            };
            assert_eq!(
                stdout(&output),
                format!("{imported} False False\n"),
                "WRAPT_PATCHES={value:?}: {}",
                describe(&output)
            );
            assert_eq!(stderr(&output), "", "WRAPT_PATCHES={value:?}");
        }
    });
}

#[test]
fn dash_capital_s_skips_everything() {
    each_interpreter(|venv, implementation| {
        let output = venv.python(
            implementation,
            &[("WRAPT_PATCHES", "wrapt_bootstrap.examples")],
            &[
                "-S",
                "-c",
                "import sys, tempfile; print('wrapt_bootstrap' in sys.modules)",
            ],
        );
        assert!(output.status.success(), "{}", describe(&output));
        assert_eq!(stdout(&output), "False\n");
        assert_eq!(stderr(&output), "");
    });
}

#[test]
fn patch_module_is_imported_only_with_its_target_and_fires_once() {
    let patches = recording_dist("colorsys");
    let code = r#"
import sys, builtins, importlib, threading
assert "acme_patch" not in sys.modules, "patch module imported before its target"
assert "colorsys" not in sys.modules
def worker():
    import colorsys
threads = [threading.Thread(target=worker) for _ in range(8)]
for thread in threads: thread.start()
for thread in threads: thread.join()
import colorsys
assert "acme_patch" in sys.modules
importlib.reload(colorsys)
print(builtins.FIRED, colorsys.PATCHED_BY)
"#;
    each_interpreter(|venv, implementation| {
        let env = patches.env("acme.patches");
        let output = venv.run_code(implementation, &env, code);
        assert_eq!(
            stdout(&output),
            "[('acme_patch', 'colorsys')] acme_patch\n",
            "{}",
            describe(&output)
        );
        assert_eq!(stderr(&output), "");
    });
}

#[test]
fn target_imported_before_registration_fires_immediately() {
    // `os` is imported long before site processes .pth files.
    let patches = recording_dist("os");
    each_interpreter(|venv, implementation| {
        let env = patches.env("acme.patches");
        let output = venv.run_code(
            implementation,
            &env,
            "import os, builtins; print(os.PATCHED_BY, builtins.FIRED)",
        );
        assert_eq!(
            stdout(&output),
            "acme_patch [('acme_patch', 'os')]\n",
            "{}",
            describe(&output)
        );
    });
}

#[test]
fn api_is_wrapt_compatible() {
    let code = r#"
import sys, json
import wrapt_bootstrap as w
seen = []
w.register_post_import_hook(lambda m: seen.append(("callable", m.__name__)), "colorsys")
@w.when_imported("colorsys")
def decorated(module):
    seen.append(("decorator", module.__name__))
w.register_post_import_hook(lambda m: seen.append(("immediate", m.__name__)), "json")
assert seen == [("immediate", "json")], seen
import colorsys
assert colorsys.__loader__.__class__.__name__ == "SourceFileLoader", colorsys.__loader__
assert colorsys.__spec__.loader is colorsys.__loader__
class Fake: __name__ = "fake.module"
w.register_post_import_hook(lambda m: seen.append(("notified", m.__name__)), "fake.module")
w.notify_module_loaded(Fake())
w.notify_module_loaded(Fake())
print(seen)
"#;
    each_interpreter(|venv, implementation| {
        let output = venv.run_code(implementation, &[], code);
        assert_eq!(
            stdout(&output),
            "[('immediate', 'json'), ('callable', 'colorsys'), ('decorator', 'colorsys'), ('notified', 'fake.module')]\n",
            "{}",
            describe(&output)
        );
    });
}

#[test]
fn discover_post_import_hooks_registers_lazily() {
    let patches = recording_dist("colorsys");
    let code = r#"
import sys, builtins, wrapt_bootstrap
wrapt_bootstrap.discover_post_import_hooks("acme.patches")
wrapt_bootstrap.discover_post_import_hooks("acme.patches")
assert "acme_patch" not in sys.modules
import colorsys
print(builtins.FIRED)
"#;
    each_interpreter(|venv, implementation| {
        let output = venv.run_code(implementation, &[("PYTHONPATH", patches.path_str())], code);
        assert_eq!(
            stdout(&output),
            "[('acme_patch', 'colorsys')]\n",
            "{}",
            describe(&output)
        );
    });
}

#[test]
fn registration_order_is_firing_order_and_first_distribution_wins() {
    let first = PatchDir::new(&[
        PatchDist {
            name: "a-patches",
            group: "acme.patches",
            entries: &[("colorsys", "order_patch:one"), ("colorsys", "order_patch:two")],
            modules: &[("order_patch.py", "import builtins\ndef one(m): builtins.__dict__.setdefault('ORDER', []).append('a1')\ndef two(m): builtins.ORDER.append('a2')\n")],
        },
        PatchDist {
            name: "b-patches",
            group: "acme.patches",
            entries: &[("colorsys", "order_b:hook")],
            modules: &[("order_b.py", "import builtins\ndef hook(m): builtins.ORDER.append('b')\n")],
        },
        PatchDist {
            name: "ΑΣ.Β",
            group: "acme.patches",
            entries: &[("colorsys", "order_s:hook")],
            modules: &[("order_s.py", "import builtins\ndef hook(m): builtins.ORDER.append('s')\n")],
        },
    ]);
    // Second copies later on sys.path are shadowed, as in importlib.metadata,
    // which folds the separators before lowercasing: 'ΑΣ.Β' is 'ας_β'.
    let shadowed = PatchDir::new(&[
        PatchDist {
            name: "B_Patches",
            group: "acme.patches",
            entries: &[("colorsys", "order_b:hook_shadowed")],
            modules: &[],
        },
        PatchDist {
            name: "ας_β",
            group: "acme.patches",
            entries: &[("colorsys", "order_s:hook_shadowed")],
            modules: &[],
        },
    ]);
    let path = format!("{}:{}", first.path_str(), shadowed.path_str());
    each_interpreter(|venv, implementation| {
        let env = [
            ("WRAPT_PATCHES", "acme.patches"),
            ("PYTHONPATH", path.as_str()),
        ];
        let output = venv.run_code(
            implementation,
            &env,
            "import colorsys, builtins; print(builtins.ORDER)",
        );
        assert_eq!(
            stdout(&output),
            "['a1', 'a2', 'b', 's']\n",
            "{}",
            describe(&output)
        );
        assert_eq!(stderr(&output), "");
    });
}

#[test]
fn failing_hooks_are_reported_and_the_application_carries_on() {
    let patches = PatchDir::new(&[PatchDist {
        name: "broken-patches",
        group: "broken",
        entries: &[
            ("colorsys", "broken_patch:boom"),
            ("colorsys", "no_such_patch_module:hook"),
            ("colorsys", "broken_patch:missing_attribute"),
            ("colorsys", "broken_patch:works"),
        ],
        modules: &[("broken_patch.py", "def boom(m):\n    raise RuntimeError('boom from the hook')\ndef works(m):\n    m.STILL_PATCHED = True\n")],
    }]);
    each_interpreter(|venv, implementation| {
        let env = patches.env("broken");
        let output = venv.run_code(
            implementation,
            &env,
            "import colorsys\nprint('app carried on', colorsys.STILL_PATCHED)",
        );
        assert_eq!(
            stdout(&output),
            "app carried on True\n",
            "{}",
            describe(&output)
        );
        let errors = stderr(&output);
        for expected in [
            "wrapt-bootstrap: hook 'broken_patch:boom' (group 'broken', entry 'colorsys') for module 'colorsys' failed:\nTraceback",
            "RuntimeError: boom from the hook",
            "wrapt-bootstrap: hook 'no_such_patch_module:hook' (group 'broken', entry 'colorsys') for module 'colorsys' failed:",
            "No module named 'no_such_patch_module'",
            "wrapt-bootstrap: hook 'broken_patch:missing_attribute' (group 'broken', entry 'colorsys') for module 'colorsys' failed:",
            "AttributeError",
        ] {
            assert!(errors.contains(expected), "missing {expected:?} in:\n{errors}");
        }
        assert_eq!(
            errors.matches("wrapt-bootstrap:").count(),
            3,
            "each failure reported once:\n{errors}"
        );
    });
}

#[test]
fn strict_mode_lets_hook_errors_propagate() {
    let patches = PatchDir::new(&[PatchDist {
        name: "broken-patches",
        group: "broken",
        entries: &[("colorsys", "broken_patch:boom")],
        modules: &[(
            "broken_patch.py",
            "def boom(m):\n    raise RuntimeError('boom from the hook')\n",
        )],
    }]);
    each_interpreter(|venv, implementation| {
        let env = [
            ("WRAPT_PATCHES", "broken"),
            ("WRAPT_PATCHES_STRICT", "1"),
            ("PYTHONPATH", patches.path_str()),
        ];
        let output = venv.python(implementation, &env, &["-c", "import colorsys"]);
        assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
        assert!(
            stderr(&output).contains("RuntimeError: boom from the hook"),
            "{}",
            describe(&output)
        );
    });
}

/// Even strict, a patch module is not an error when the process took its
/// distribution's `sys.path` entry away after startup, as isolated build
/// environments do with site-packages: reported, and the import goes on.
/// A patch module missing from an entry still there is a strict failure.
#[test]
fn strict_mode_spares_patches_whose_environment_was_taken_away() {
    let patches = PatchDir::new(&[PatchDist {
        name: "gone-patches",
        group: "gone",
        entries: &[
            ("colorsys", "gone_patch:hook"),
            ("wave", "never_written:hook"),
        ],
        modules: &[("gone_patch.py", "def hook(module):\n    pass\n")],
    }]);
    each_interpreter(|venv, implementation| {
        let env = [
            ("WRAPT_PATCHES", "gone"),
            ("WRAPT_PATCHES_STRICT", "1"),
            ("PYTHONPATH", patches.path_str()),
        ];
        let code = format!(
            "import sys\nsys.path.remove({:?})\nimport colorsys\nprint('carried on')",
            patches.path_str()
        );
        let output = venv.run_code(implementation, &env, &code);
        assert_eq!(stdout(&output), "carried on\n", "{}", describe(&output));
        assert!(
            stderr(&output).contains("No module named 'gone_patch'"),
            "{}",
            describe(&output)
        );
        let output = venv.python(implementation, &env, &["-c", "import wave"]);
        assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
        assert!(
            stderr(&output).contains("No module named 'never_written'"),
            "{}",
            describe(&output)
        );
    });
}

#[test]
fn debug_traces_groups_entry_points_registrations_and_firings() {
    let patches = recording_dist("colorsys");
    each_interpreter(|venv, implementation| {
        let env = [
            ("WRAPT_PATCHES", "acme.patches"),
            ("WRAPT_PATCHES_DEBUG", "1"),
            ("PYTHONPATH", patches.path_str()),
        ];
        let output = venv.run_code(implementation, &env, "import colorsys");
        let trace = stderr(&output);
        for expected in [
            format!("wrapt-bootstrap: implementation {}; groups acme.patches", implementation.name()),
            format!("entry point colorsys = acme_patch:hook in group 'acme.patches' from {}", patches.path_str()),
            "registered hook 'acme_patch:hook' (group 'acme.patches', entry 'colorsys') for module 'colorsys'".to_string(),
            "fired hook 'acme_patch:hook' (group 'acme.patches', entry 'colorsys') for module 'colorsys' in ".to_string(),
        ] {
            assert!(trace.contains(&expected), "missing {expected:?} in:\n{trace}");
        }
        assert_eq!(stdout(&output), "");
    });
}

#[test]
fn invalid_group_names_are_ignored_with_one_warning() {
    let patches = recording_dist("colorsys");
    each_interpreter(|venv, implementation| {
        let env = patches.env("bad name;import os,acme.patches");
        let output = venv.run_code(
            implementation,
            &env,
            "import colorsys; print(colorsys.PATCHED_BY)",
        );
        assert_eq!(stdout(&output), "acme_patch\n");
        assert_eq!(
            stderr(&output),
            "wrapt-bootstrap: ignoring invalid group name 'bad name;import os' (allowed: letters, digits, '_', '.', '-')\n"
        );
        // Only invalid names: nothing is enabled, and still one warning,
        // although site runs our line twice in a venv.
        let output = venv.run_code(implementation, &[("WRAPT_PATCHES", "bad name")], "pass");
        assert_eq!(
            stderr(&output),
            "wrapt-bootstrap: ignoring invalid group name 'bad name' (allowed: letters, digits, '_', '.', '-')\n"
        );
    });
}

#[test]
fn malformed_entry_points_are_skipped_with_a_report() {
    let patches = PatchDir::new(&[PatchDist {
        name: "odd-patches",
        group: "acme.patches",
        entries: &[
            ("not a module", "acme_patch:hook"),
            ("colorsys", "no_colon_here"),
            ("colorsys", "acme_patch:hook"),
        ],
        modules: &[("acme_patch.py", RECORDING_PATCH)],
    }]);
    each_interpreter(|venv, implementation| {
        let env = patches.env("acme.patches");
        let output = venv.run_code(
            implementation,
            &env,
            "import colorsys; print(colorsys.PATCHED_BY)",
        );
        assert_eq!(stdout(&output), "acme_patch\n", "{}", describe(&output));
        let errors = stderr(&output);
        assert!(
            errors.contains(
                "skipping entry point 'not a module = acme_patch:hook' in group 'acme.patches'"
            ),
            "{errors}"
        );
        assert!(
            errors.contains(
                "skipping entry point 'colorsys = no_colon_here' in group 'acme.patches'"
            ),
            "{errors}"
        );
    });
}

#[test]
fn other_import_machinery_keeps_working() {
    let patches = recording_dist("hooked_target");
    patches.write(
        "hooked_target.py",
        "if __name__ == '__main__':\n    print('ran as main')\n",
    );
    patches.write("namespace_pkg/inner.py", "VALUE = 42\n");
    // A namespace package (loader None) as a hook target.
    PatchDist {
        name: "ns-patches",
        group: "ns.patches",
        entries: &[("namespace_pkg", "namespace_patch:hook")],
        modules: &[],
    }
    .write_into(patches.path());
    // A target inside a zip archive (zipimport: a legacy load_module loader on 3.9).
    PatchDist {
        name: "zip-patches",
        group: "zip.patches",
        entries: &[("zipped_target", "namespace_patch:zip_hook")],
        modules: &[],
    }
    .write_into(patches.path());
    patches.write(
        "namespace_patch.py",
        "def hook(m):\n    m.NS_PATCHED = list(m.__path__)\ndef zip_hook(m):\n    m.ZIP_PATCHED = type(m.__loader__).__name__\n",
    );
    let archive = patches.path().join("targets.zip");
    crate::support::run_ok(
        std::process::Command::new(&crate::support::pythons()[0].exe).arg("-c").arg(format!(
            "import zipfile\nwith zipfile.ZipFile({:?}, 'w') as z: z.writestr('zipped_target.py', 'X = 1\\n')",
            archive.to_str().unwrap()
        )),
    );
    let path = format!("{}:{}", patches.path_str(), archive.to_str().unwrap());
    each_interpreter(|venv, implementation| {
        let env = [
            ("WRAPT_PATCHES", "acme.patches,ns.patches,zip.patches"),
            ("PYTHONPATH", path.as_str()),
        ];
        let output = venv.run_code(implementation, &env, "import zipped_target as z; print(z.X, z.ZIP_PATCHED, type(z.__spec__.loader).__name__)");
        assert_eq!(
            stdout(&output),
            "1 zipimporter zipimporter\n",
            "{}",
            describe(&output)
        );

        // python -m on a hooked module still runs it as __main__.
        let output = venv.python(implementation, &env, &["-m", "hooked_target"]);
        assert!(output.status.success(), "{}", describe(&output));
        assert_eq!(stdout(&output), "ran as main\n");

        let output = venv.run_code(
            implementation,
            &env,
            "import namespace_pkg.inner as inner, namespace_pkg\nprint(inner.VALUE, len(namespace_pkg.NS_PATCHED), namespace_pkg.__file__, type(namespace_pkg.__spec__.loader).__name__)",
        );
        let loader = stdout(&output);
        assert!(
            loader.starts_with("42 1 None ") && loader.contains("NamespaceLoader"),
            "{}",
            describe(&output)
        );
    });
}

#[test]
fn fallback_switch_and_native_are_what_serve() {
    each_interpreter(|venv, implementation| {
        assert_served_by(
            venv,
            implementation,
            &[("WRAPT_PATCHES", "wrapt_bootstrap.examples")],
        );
    });
}

/// The native module is loaded in two places, the package's `_load_impl`
/// and the sitecustomize package's `_load_native` (which leaves every
/// `WRAPT_PATCHES_PURE` to the package): in every activation mode, each
/// value of the switch picks the same twin.
#[test]
fn every_mode_loads_the_native_module_alike() {
    let python = pythons().last().expect("a CPython");
    let switches: &[(Option<&str>, Implementation)] = &[
        (None, Implementation::Native),
        (Some(""), Implementation::Native),
        (Some("0"), Implementation::Native),
        (Some(" Off "), Implementation::Native),
        (Some("\u{a0}no\u{a0}"), Implementation::Native),
        (Some("1"), Implementation::Fallback),
        (Some("yes"), Implementation::Fallback),
    ];
    for &mode in modes(python) {
        let venv = Venv::new(python);
        venv.install(&["--mode", mode]);
        for (switch, serves) in switches {
            let mut env = vec![("WRAPT_PATCHES", "wrapt_bootstrap.examples")];
            env.extend(switch.map(|value| ("WRAPT_PATCHES_PURE", value)));
            let output = venv.run_code(
                Implementation::Native,
                &env,
                "import wrapt_bootstrap as w; print(w._status()['implementation'])",
            );
            assert_eq!(
                (stdout(&output).trim(), stderr(&output).as_str()),
                (serves.name(), ""),
                "{mode} mode, WRAPT_PATCHES_PURE={switch:?}"
            );
        }
    }
}

/// The finder answers misses for the `BuiltinImporter` it stands in for:
/// a finder appended after PathFinder (editable installs do that) still
/// serves its modules, with their hooks; a missing module is still `None` to
/// `importlib.util.find_spec` and a `ModuleNotFoundError` naming it.
#[test]
fn finders_after_ours_still_serve_and_misses_stay_misses() {
    let patches = recording_dist("appended_mod");
    let code = r#"
import sys, importlib.util, importlib.machinery
class Loader:
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        module.X = "appended"
class Appended:
    def find_spec(self, name, path=None, target=None):
        if name in ("appended_mod", "appended_other"):
            return importlib.machinery.ModuleSpec(name, Loader())
sys.meta_path.append(Appended())
import appended_mod, appended_other, json
print(appended_mod.X, getattr(appended_mod, "PATCHED_BY", None), appended_other.X, json.__name__)
print(importlib.util.find_spec("no_such_module_anywhere"))
try:
    import no_such_module_anywhere
except ModuleNotFoundError as error:
    print(type(error).__name__, error.name)
print(type(sys.modules["appended_mod"].__spec__.loader).__name__, sys.modules["appended_mod"].__loader__ is sys.modules["appended_mod"].__spec__.loader)
"#;
    each_interpreter(|venv, implementation| {
        let env = patches.env("acme.patches");
        let output = venv.run_code(implementation, &env, code);
        assert_eq!(
            stdout(&output),
            "appended acme_patch appended json\nNone\nModuleNotFoundError no_such_module_anywhere\nLoader True\n",
            "{}",
            describe(&output)
        );
        assert_eq!(stderr(&output), "", "{}", describe(&output));
    });
}

/// At startup the finder takes `BuiltinImporter`'s place on `sys.meta_path`
/// (one more entry would cost every import a turn of importlib's loop) and
/// answers for it: built-in modules still import, with and without hooks,
/// whichever way the finder is called, and whatever the name's type (it
/// answers other names itself, from `sys.builtin_module_names`). `_string`
/// and `faulthandler`: built into every interpreter here, PyPy included,
/// and not imported at startup.
#[test]
fn builtin_modules_still_import_through_the_stand_in() {
    let patches = recording_dist("_string");
    let code = r#"
import sys, importlib.util, importlib.machinery
first = sys.meta_path[0]
print("wrapt_bootstrap" in repr(first), importlib.machinery.BuiltinImporter in sys.meta_path)
print(first.find_spec("faulthandler", None).origin, first.find_spec("faulthandler", path=None).origin, first.find_spec("no_such_builtin"))
class Name(str):
    pass
def answer(finder, name):
    try:
        spec = finder.find_spec(name)
    except TypeError:
        return "TypeError"
    return spec and spec.origin
names = (1, "sys", "json", Name("faulthandler"), Name("json"))
print([answer(first, name) == answer(importlib.machinery.BuiltinImporter, name) for name in names])
import _string, faulthandler
print(_string.__spec__.origin, getattr(_string, "PATCHED_BY", None), type(_string.__loader__).__name__, faulthandler.__spec__.origin)
print(importlib.util.find_spec("no_such_module_anywhere"))
"#;
    each_interpreter(|venv, implementation| {
        let env = patches.env("acme.patches");
        let output = venv.run_code(implementation, &env, code);
        assert_eq!(
            stdout(&output),
            "True False\nbuilt-in built-in None\n[True, True, True, True, True]\nbuilt-in acme_patch type built-in\nNone\n",
            "{}",
            describe(&output)
        );
        assert_eq!(stderr(&output), "", "{}", describe(&output));
    });
}

/// A vendor's `sys.exit()` in a patch (say on a missing licence key) is the
/// patch's failure, reported like any other: the import that fired it
/// succeeds and the application carries on. A `KeyboardInterrupt` is the
/// user's and stops the program, and `WRAPT_PATCHES_STRICT` lets a
/// `SystemExit` through as it does any failure.
#[test]
fn a_patch_that_exits_is_reported_and_an_interrupt_is_the_users() {
    let patches = PatchDir::new(&[PatchDist {
        name: "exiting-patches",
        group: "exiting",
        entries: &[
            ("json", "exits_in_hook:hook"),
            ("colorsys", "exits_on_import:hook"),
            ("wave", "interrupted:hook"),
        ],
        modules: &[
            (
                "exits_in_hook.py",
                "import sys\ndef hook(module):\n    sys.exit(3)\n",
            ),
            (
                "exits_on_import.py",
                "import sys\nsys.exit(4)\ndef hook(module):\n    pass\n",
            ),
            (
                "interrupted.py",
                "def hook(module):\n    raise KeyboardInterrupt\n",
            ),
        ],
    }]);
    each_interpreter(|venv, implementation| {
        let env = patches.env("exiting");
        let output = venv.run_code(
            implementation,
            &env,
            "import json, colorsys\nprint('carried on', json.dumps(1), colorsys.__name__)",
        );
        assert_eq!(
            stdout(&output),
            "carried on 1 colorsys\n",
            "{}",
            describe(&output)
        );
        let errors = stderr(&output);
        for expected in [
            "wrapt-bootstrap: hook 'exits_in_hook:hook' (group 'exiting', entry 'json') for module 'json' failed:",
            "SystemExit: 3",
            "wrapt-bootstrap: hook 'exits_on_import:hook' (group 'exiting', entry 'colorsys') for module 'colorsys' failed:",
            "SystemExit: 4",
        ] {
            assert!(errors.contains(expected), "missing {expected:?} in:\n{errors}");
        }
        assert_eq!(errors.matches("wrapt-bootstrap:").count(), 2, "{errors}");

        let output = venv.python(
            implementation,
            &env,
            &["-c", "import wave\nprint('carried on')"],
        );
        assert!(!output.status.success(), "{}", describe(&output));
        assert!(
            stderr(&output).contains("KeyboardInterrupt"),
            "{}",
            describe(&output)
        );
        assert!(
            !stderr(&output).contains("wrapt-bootstrap:"),
            "{}",
            describe(&output)
        );
        assert_eq!(stdout(&output), "");

        let strict = [env[0], env[1], ("WRAPT_PATCHES_STRICT", "1")];
        let output = venv.python(
            implementation,
            &strict,
            &["-c", "import json\nprint('carried on')"],
        );
        assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    });
}

/// A hook fires as its target's code has executed, often inside another
/// module's import: `logging` imports `string`. A patch module that imports
/// wrapt (which imports asyncio, whose concurrent.futures calls
/// `logging.getLogger`) then reaches the half-built `logging`, and cannot
/// be imported there. It is tried again once `logging`'s import has
/// finished; a hook that can be resolved at once still fires at once, and
/// the hooks of one target keep their order.
#[test]
fn a_patch_module_that_needs_its_importer_loads_once_that_import_finishes() {
    let wrapt = pypi_packages(&["wrapt==2.5.2"]);
    let patches = PatchDir::new(&[PatchDist {
        name: "nested-patches",
        group: "nested",
        entries: &[
            ("string", "needs_logging:patch"),
            ("string", "plain_patch:patch"),
            ("colorsys", "never_there:patch"),
        ],
        modules: &[
            (
                "needs_logging.py",
                "import builtins, wrapt, asyncio, logging\n\
                 def patch(module):\n    \
                     builtins.__dict__.setdefault('ORDER', []).append('needs_logging')\n    \
                     module.PATCHED = logging.getLogger('acme').name\n",
            ),
            (
                "plain_patch.py",
                "import builtins\ndef patch(module):\n    builtins.__dict__.setdefault('ORDER', []).append('plain')\n",
            ),
            ("nested_app.py", "import colorsys\n"),
        ],
    }]);
    let path = format!("{}:{}", patches.path_str(), wrapt.display());
    each_interpreter(|venv, implementation| {
        let env = [("WRAPT_PATCHES", "nested"), ("PYTHONPATH", path.as_str())];
        let output = venv.run_code(
            implementation,
            &env,
            "import logging, string, builtins\nprint(string.PATCHED, builtins.ORDER)",
        );
        assert_eq!(
            stdout(&output),
            "acme ['needs_logging', 'plain']\n",
            "{}",
            describe(&output)
        );
        assert_eq!(stderr(&output), "", "{}", describe(&output));
        // One that cannot load at all is reported once, after the import
        // that held it (nested_app's) has finished.
        let output = venv.run_code(
            implementation,
            &env,
            "import nested_app\nprint('carried on')",
        );
        assert_eq!(stdout(&output), "carried on\n");
        assert_eq!(
            stderr(&output)
                .matches("wrapt-bootstrap: hook 'never_there:patch'")
                .count(),
            1,
            "{}",
            describe(&output)
        );
    });
}
