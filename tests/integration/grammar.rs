//! `WRAPT_PATCHES` / `AUTOWRAPT_BOOTSTRAP` selection, as a pure function and
//! end to end against the environment's defaults.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::{
    describe, each_interpreter, pythons, pythons_and_pypy, run_ok, stderr, stdout, Implementation,
    PatchDist, Venv,
};

/// One row: `WRAPT_PATCHES`, `AUTOWRAPT_BOOTSTRAP`, the defaults, then what
/// `select` must return: groups, `AUTOWRAPT_BOOTSTRAP` groups, invalid names,
/// other tools' groups ignored.
type SelectCase<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    &'a [&'a str],
    [&'a [&'a str]; 4],
);

/// The grammar as a pure function (each implementation's `select`),
/// evaluated by each real interpreter.
#[test]
fn select_table() {
    let cases: &[SelectCase] = &[
        (None, None, &[], [&[], &[], &[], &[]]),
        (None, None, &["d1", "d2"], [&["d1", "d2"], &[], &[], &[]]),
        (Some(""), None, &["d1"], [&[], &[], &[], &[]]),
        (Some("   "), None, &["d1"], [&[], &[], &[], &[]]),
        (Some(" , ,"), None, &["d1"], [&[], &[], &[], &[]]),
        (Some("0"), Some("a"), &["d1"], [&[], &[], &[], &[]]),
        (Some("off"), None, &["d1"], [&[], &[], &[], &[]]),
        (Some(" OFF "), None, &["d1"], [&[], &[], &[], &[]]),
        (Some("None"), None, &["d1"], [&[], &[], &[], &[]]),
        (Some("a"), None, &["d1"], [&["a"], &[], &[], &[]]),
        (
            Some(" a , b ,, a"),
            None,
            &["d1"],
            [&["a", "b"], &[], &[], &[]],
        ),
        (
            Some("+a"),
            None,
            &["d1", "d2"],
            [&["d1", "d2", "a"], &[], &[], &[]],
        ),
        (Some("-d1"), None, &["d1", "d2"], [&["d2"], &[], &[], &[]]),
        (
            Some("+a,-d2"),
            None,
            &["d1", "d2"],
            [&["d1", "a"], &[], &[], &[]],
        ),
        (Some("a,+b,-a"), None, &["d1"], [&["b"], &[], &[], &[]]),
        (Some("+ a"), None, &[], [&["a"], &[], &[], &[]]),
        (
            Some("a b,c;d,ok.name-1"),
            None,
            &[],
            [&["ok.name-1"], &[], &["a b", "c;d"], &[]],
        ),
        (
            Some("+bad!"),
            None,
            &["d1"],
            [&["d1"], &[], &["+bad!"], &[]],
        ),
        (Some("grüppe"), None, &["d1"], [&[], &[], &["grüppe"], &[]]),
        (
            None,
            Some("x, y ,x"),
            &["d1"],
            [&["d1"], &["x", "y"], &[], &[]],
        ),
        (
            Some("a"),
            Some("b,bad name"),
            &[],
            [&["a"], &["b"], &["bad name"], &[]],
        ),
    ];
    check_select(cases);
}

/// Other tools' groups are taken out of every list, wherever they came
/// from, and named once; removing one or the kill switch names none.
#[test]
fn select_ignores_other_tools_groups() {
    check_select(&[
        (
            Some("console_scripts,a,flake8.extension"),
            None,
            &["d1"],
            [&["a"], &[], &[], &["console_scripts", "flake8.extension"]],
        ),
        (
            Some("+pytest11,-gui_scripts"),
            Some("a,distutils.commands,console_scripts,pytest11"),
            &["gui_scripts", "setuptools.installation", "d1"],
            [
                &["d1"],
                &["a"],
                &[],
                &[
                    "setuptools.installation",
                    "pytest11",
                    "distutils.commands",
                    "console_scripts",
                ],
            ],
        ),
        (
            Some("-console_scripts"),
            None,
            &["d1"],
            [&["d1"], &[], &[], &[]],
        ),
        (
            Some("off"),
            Some("console_scripts"),
            &["pytest11"],
            [&[], &[], &[], &[]],
        ),
    ]);
}

/// Each implementation's `select` on `cases`, evaluated by each real
/// interpreter in one process per implementation, which must be the one
/// asked for: a native module that failed to load would otherwise test the
/// fallback twice.
fn check_select(cases: &[SelectCase]) {
    let py = |value: Option<&str>| value.map_or("None".to_string(), |v| format!("{v:?}"));
    let calls: Vec<String> = cases
        .iter()
        .map(|(wrapt, autowrapt, defaults, _)| {
            format!(
                "impl.select({}, {}, {defaults:?})",
                py(*wrapt),
                py(*autowrapt)
            )
        })
        .collect();
    let code = format!(
        "import json, wrapt_bootstrap\nimpl = wrapt_bootstrap._load_impl()\n\
         print(json.dumps([impl.IMPLEMENTATION, [{}]]))\n",
        calls.join(", ")
    );
    for python in pythons_and_pypy() {
        let venv = crate::support::shared_venv(python);
        for &implementation in python.implementations() {
            let output = venv.run_code(implementation, &[], &code);
            let (served, actual): (String, Vec<[Vec<String>; 4]>) =
                serde_json::from_str(&stdout(&output)).expect("json");
            assert_eq!(served, python.served_by(implementation).name(), "{python}");
            assert_eq!(actual.len(), cases.len(), "{}", describe(&output));
            for (case, got) in cases.iter().zip(&actual) {
                let want = case.3.map(|names| {
                    names
                        .iter()
                        .map(|name| (*name).to_string())
                        .collect::<Vec<_>>()
                });
                assert_eq!(got, &want, "{python} {implementation:?}: case {case:?}");
            }
        }
    }
}

/// End to end: defaults set with `--enable`, overridden per process.
#[test]
fn environment_defaults_and_per_process_selection() {
    for python in pythons_and_pypy() {
        let venv = Venv::new(python);
        for group in ["g1", "g2", "g3"] {
            let module = format!("{group}_patch");
            let value = format!("{module}:hook");
            let file = format!("{module}.py");
            let source = format!("import sys\ndef hook(m):\n    sys.stderr.write('{group}\\n')\n");
            PatchDist {
                name: &format!("{group}-patches"),
                group,
                entries: &[("colorsys", value.as_str())],
                modules: &[(file.as_str(), source.as_str())],
            }
            .write_into(&venv.site_packages);
        }
        venv.install(&["--enable", "g1", "--enable", "g2"]);
        let fired = |implementation, env: &[(&str, &str)]| {
            let output = venv.run_code(implementation, env, "import colorsys");
            let mut groups: Vec<String> = stderr(&output).lines().map(str::to_string).collect();
            groups.sort();
            groups.join(",")
        };
        for &implementation in python.implementations() {
            let cases: &[(&[(&str, &str)], &str)] = &[
                (&[], "g1,g2"),
                (&[("WRAPT_PATCHES", "")], ""),
                (&[("WRAPT_PATCHES", "off")], ""),
                (&[("WRAPT_PATCHES", "g3")], "g3"),
                (&[("WRAPT_PATCHES", "+g3")], "g1,g2,g3"),
                (&[("WRAPT_PATCHES", "-g1")], "g2"),
                (&[("WRAPT_PATCHES", "+g3,-g2")], "g1,g3"),
                (&[("AUTOWRAPT_BOOTSTRAP", "g3")], "g1,g2,g3"),
                (&[("WRAPT_PATCHES", "0"), ("AUTOWRAPT_BOOTSTRAP", "g3")], ""),
            ];
            for (env, want) in cases {
                assert_eq!(
                    &fired(implementation, env),
                    want,
                    "{python} {implementation:?} {env:?}"
                );
            }
        }
        // With autowrapt itself installed, AUTOWRAPT_BOOTSTRAP is autowrapt's:
        // we leave its groups alone so that no hook fires twice.
        PatchDist {
            name: "autowrapt",
            group: "unrelated",
            entries: &[],
            modules: &[],
        }
        .write_into(&venv.site_packages);
        for &implementation in python.implementations() {
            assert_eq!(
                fired(implementation, &[("AUTOWRAPT_BOOTSTRAP", "g3")]),
                "g1,g2"
            );
            assert_eq!(
                fired(
                    implementation,
                    &[("AUTOWRAPT_BOOTSTRAP", "g1"), ("WRAPT_PATCHES", "g1,g3")]
                ),
                "g3"
            );
        }
    }
}

/// With defaults installed, the `.pth` line imports the package at every
/// start, and our sitecustomize runs at every start: both decide the kill
/// switch before loading anything else (docs/startup.md, How startup works, step 1).
#[test]
fn kill_switch_loads_nothing_even_with_defaults() {
    let python = &pythons()[pythons().len() - 1];
    for (mode, imported) in [("pth", "['wrapt_bootstrap']"), ("sitecustomize", "[]")] {
        let venv = Venv::new(python);
        venv.install(&["--mode", mode, "--enable", "wrapt_bootstrap.examples"]);
        for kill in ["0", " OFF ", ", ,", "\u{a0}off\u{a0}"] {
            let output = venv.run_code(
                Implementation::Native,
                &[("WRAPT_PATCHES", kill), ("AUTOWRAPT_BOOTSTRAP", "wrapt_bootstrap.examples")],
                "import sys, tempfile; print(sorted(m for m in sys.modules if m.startswith('wrapt_bootstrap')), \
                 any('wrapt_bootstrap' in repr(f) for f in sys.meta_path))",
            );
            assert_eq!(
                (stdout(&output).as_str(), stderr(&output).as_str()),
                (format!("{imported} False\n").as_str(), ""),
                "{mode} mode, WRAPT_PATCHES={kill:?}: {}",
                describe(&output)
            );
        }
        // Not the kill switch: a list that happens to remove every default
        // is the implementation's to decide, and enables nothing either.
        let output = venv.run_code(
            Implementation::Native,
            &[("WRAPT_PATCHES", "-wrapt_bootstrap.examples")],
            "import tempfile",
        );
        assert_eq!(stderr(&output), "", "{mode} mode: {}", describe(&output));
    }
}

/// One row of the kill-switch table: `WRAPT_PATCHES`,
/// `AUTOWRAPT_BOOTSTRAP`, the defaults, `WRAPT_PATCHES_DEBUG`, and whether
/// the implementation is loaded at all.
type KillCase<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    &'a [&'a str],
    Option<&'a str>,
    bool,
);

/// Evaluates every row of the kill-switch table in one process: the
/// package's `_activate` (on `str`, with a recording implementation in
/// place of `_load_impl`), the sitecustomize package's `_may_enable` (on
/// `bytes`, compiled from the template alone, since running that package
/// would activate), and the kill switch of each twin's `select`: a
/// `WRAPT_PATCHES` that silences an `AUTOWRAPT_BOOTSTRAP` group.
const KILL_SWITCH_SCRIPT: &str = r#"
import ast, json, os, sys, types
import wrapt_bootstrap as package
from wrapt_bootstrap import _fallback

cases = json.loads(sys.argv[1])
with open(sys.argv[2]) as stream:
    tree = ast.parse(stream.read())
may_enable = [node for node in tree.body if getattr(node, "name", None) == "_may_enable"]
sitecustomize = {"sys": sys}
exec(compile(ast.Module(body=may_enable, type_ignores=[]), sys.argv[2], "exec"), sitecustomize)

class Recording:
    def activate(self, defaults):
        loaded.append(defaults)
        return False

impls = [package._load_impl()]
if impls[0] is not _fallback:
    impls.append(_fallback)
package._load_impl = Recording
rows = []
for wrapt_patches, autowrapt_bootstrap, defaults, debug in cases:
    environ = {
        name: value
        for name, value in (
            ("WRAPT_PATCHES", wrapt_patches),
            ("AUTOWRAPT_BOOTSTRAP", autowrapt_bootstrap),
            ("WRAPT_PATCHES_DEBUG", debug),
        )
        if value is not None
    }
    loaded = []
    package.os = types.SimpleNamespace(environ=environ)
    package._DEFAULT_GROUPS = tuple(defaults)
    package._activate()
    sitecustomize["_DEFAULT_GROUPS"] = tuple(defaults)
    on_bytes = {os.fsencode(name): os.fsencode(value) for name, value in environ.items()}
    killed = {
        impl.IMPLEMENTATION: wrapt_patches is not None
        and not impl.select(wrapt_patches, "x", [])[1]
        for impl in impls
    }
    rows.append([bool(loaded), sitecustomize["_may_enable"](on_bytes), killed])
package.os = os
print(json.dumps(rows))
"#;

/// The kill switch is written three times (the package's `_activate`, the
/// sitecustomize package's `_may_enable` on bytes, each twin's selection):
/// one table, through every copy, on every interpreter, must get the same
/// decision from each. A copy that loads the implementation where the
/// twins would enable nothing costs startup; one that does not where they
/// would loses the user's groups.
#[test]
fn every_copy_of_the_kill_switch_decides_alike() {
    let cases: &[KillCase] = &[
        (None, None, &[], None, false),
        (None, None, &[], Some("1"), false),
        (None, None, &["d"], None, true),
        (None, Some("a"), &[], None, true),
        (None, Some(""), &[], None, true),
        (Some(""), Some("a"), &["d"], None, false),
        (Some(" , ,"), Some("a"), &["d"], None, false),
        (Some("0"), None, &["d"], None, false),
        (Some(" OFF "), None, &["d"], None, false),
        (Some("nOnE"), None, &[], None, false),
        (Some("off,"), None, &["d"], None, false),
        (Some("0,0"), None, &[], None, true),
        (Some("a"), None, &[], None, true),
        (Some("-d"), None, &["d"], None, true),
        (Some("0"), None, &["d"], Some("1"), true),
        (Some("0"), None, &["d"], Some("yes"), true),
        (Some("0"), None, &["d"], Some("0"), false),
        (Some("0"), None, &["d"], Some(" off "), false),
        (Some("0"), None, &["d"], Some(""), false),
        // Whitespace is Python's str.strip()'s, on bytes as on str.
        (Some("\u{a0}off\u{2003}"), Some("a"), &["d"], None, false),
        (Some("\u{1c}0\u{85}"), None, &["d"], None, false),
        (Some("0"), None, &["d"], Some("\u{a0}no\u{a0}"), false),
        (Some("grüppe"), None, &[], None, true),
    ];
    let calls: Vec<serde_json::Value> = cases
        .iter()
        .map(|(wrapt, autowrapt, defaults, debug, _)| {
            serde_json::json!([wrapt, autowrapt, defaults, debug])
        })
        .collect();
    let calls = serde_json::to_string(&calls).unwrap();
    let sitecustomize = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/templates/sitecustomize/__init__.py"
    );
    for python in pythons_and_pypy() {
        let venv = crate::support::shared_venv(python);
        let output = venv.python(
            Implementation::Native,
            &[],
            &["-c", KILL_SWITCH_SCRIPT, &calls, sitecustomize],
        );
        assert!(output.status.success(), "{python}: {}", describe(&output));
        let rows: Vec<(bool, bool, BTreeMap<String, bool>)> =
            serde_json::from_str(&stdout(&output)).expect("json");
        assert_eq!(rows.len(), cases.len());
        let served: Vec<&str> = python
            .implementations()
            .iter()
            .map(|&implementation| python.served_by(implementation).name())
            .collect();
        for (case, (package, sitecustomize, killed)) in cases.iter().zip(rows) {
            let (wrapt, autowrapt, defaults, debug, loads) = *case;
            assert_eq!(
                (package, sitecustomize),
                (loads, loads),
                "{python}: package, sitecustomize on {case:?}"
            );
            assert_eq!(
                killed.keys().map(String::as_str).collect::<BTreeSet<_>>(),
                served.iter().copied().collect(),
                "{python}"
            );
            for (implementation, killed) in killed {
                let enables = match wrapt {
                    None => !defaults.is_empty() || autowrapt.is_some(),
                    Some(_) => {
                        !killed
                            || debug.is_some_and(|d| {
                                !matches!(
                                    d.trim().to_lowercase().as_str(),
                                    "" | "0" | "false" | "no" | "off"
                                )
                            })
                    }
                };
                assert_eq!(loads, enables, "{python} {implementation}: {case:?}");
            }
        }
    }
}

#[test]
fn defaults_apply_without_any_variable() {
    each_interpreter(|venv, implementation| {
        // The shared venv has no defaults: nothing fires without a variable.
        let output = venv.run_code(implementation, &[], "import tempfile");
        assert_eq!(stderr(&output), "");
    });
    let venv = Venv::new(&pythons()[0]);
    venv.install(&["--enable", "wrapt_bootstrap.examples"]);
    for implementation in Implementation::BOTH {
        let output = venv.run_code(implementation, &[], "import tempfile");
        assert_eq!(
            stderr(&output),
            "patching tempfile\n",
            "{}",
            describe(&output)
        );
    }
}

/// With the real autowrapt installed, `AUTOWRAPT_BOOTSTRAP` is its own: the
/// kill switch silences wrapt-install's hooks, not autowrapt's (the README
/// says so), and no hook fires twice either way.
#[test]
fn real_autowrapt_keeps_its_variable_under_the_kill_switch() {
    let python = pythons()
        .iter()
        .find(|python| python.minor == 12)
        .unwrap_or(&pythons()[0]);
    let venv = Venv::with_pip(python);
    run_ok(
        std::process::Command::new(venv.root.join("bin/pip"))
            .args(["install", "-q", "--disable-pip-version-check"])
            .args(["autowrapt==2.0.0", "wrapt==2.5.2"]),
    );
    venv.install(&[]);
    PatchDist {
        name: "g-patches",
        group: "g",
        entries: &[("colorsys", "g_patch:hook")],
        modules: &[(
            "g_patch.py",
            "import sys\ndef hook(m):\n    sys.stderr.write('fired\\n')\n",
        )],
    }
    .write_into(&venv.site_packages);
    for env in [
        &[("AUTOWRAPT_BOOTSTRAP", "g")][..],
        &[("AUTOWRAPT_BOOTSTRAP", "g"), ("WRAPT_PATCHES", "0")][..],
        &[("AUTOWRAPT_BOOTSTRAP", "g"), ("WRAPT_PATCHES", "g")][..],
    ] {
        let output = venv.run_code(Implementation::Native, env, "import colorsys");
        assert_eq!(stderr(&output), "fired\n", "{env:?}: {}", describe(&output));
    }
}
