//! Tool processes: with groups enabled, packaging tools (pip, pipx, …) and
//! the processes they start run without patches, as the skip list and
//! `WRAPT_PATCHES_SKIP` say.

use std::collections::BTreeSet;
use std::fs;
use std::process::Command;

use wrapt_common::selection::{DEFAULT_SKIP, TOOL_MARKERS};

use crate::support::{
    describe, pypy, pythons, pythons_and_pypy, shared_venv, stderr, stdout, Implementation,
    PatchDir, PatchDist, Venv, RECORDING_PATCH,
};

/// What a program reports: the implementation that served, the tool name
/// it was skipped as (`None`) and whether the example group patched the
/// tempfile it imports.
const PROGRAM: &str = "\
import sys, tempfile, wrapt_bootstrap as w
print(w._status()['implementation'], w._status()['skipped_as_tool'], getattr(tempfile.mkdtemp, '__wrapped__', None) is not None)
";

/// One row of the tool table: the command line after the interpreter
/// `/i/python` (split at spaces), `sys.prefix`, the variables set, the
/// skip list (comma-separated; `None`: the default one), and the name
/// `tool` must return. `{dir}` stands for the table's directory, which is
/// also the current one.
type ToolCase<'a> = (
    &'a str,
    &'a str,
    &'a [&'a str],
    Option<&'a str>,
    Option<&'a str>,
);

const SITE: &str = "/venv/lib/python3.12/site-packages";

const TOOL_CASES: &[ToolCase] = &[
    ("-m pip install", "/venv", &[], None, Some("pip")),
    ("-I -m build.__main__", "/venv", &[], None, Some("build")),
    ("-m mypkg", "/venv", &[], None, None),
    ("-c pass", "/venv", &[], None, None),
    ("-", "/venv", &[], None, None),
    ("", "/venv", &[], None, None),
    // Interpreter flags before what runs: -X, -W and
    // --check-hash-based-pycs take the next argument, a cluster's -c, -m,
    // -X and -W the rest of it or the next one.
    ("-X dev -bbm pip.__main__", "/venv", &[], None, Some("pip")),
    ("-Xdev -W ignore -Im pip", "/venv", &[], None, Some("pip")),
    (
        "-Wignore::DeprecationWarning -mpip",
        "/venv",
        &[],
        None,
        Some("pip"),
    ),
    (
        "--check-hash-based-pycs always -E -s -m build",
        "/venv",
        &[],
        None,
        Some("build"),
    ),
    (
        "-bb -W error {dir}/bin/pip3.12",
        "/venv",
        &[],
        None,
        Some("pip"),
    ),
    ("-X -m pip", "/venv", &[], None, None),
    ("-W -m {dir}/bin/pip", "/venv", &[], None, Some("pip")),
    ("-c -m pip", "/venv", &[], None, None),
    ("-u - -m pip", "/venv", &[], None, None),
    ("-m", "/venv", &[], None, None),
    ("-m .pip", "/venv", &[], None, None),
    // Runners inside an installed tool's package.
    (
        "{site}/pip/__pip-runner__.py install",
        "/venv",
        &[],
        None,
        Some("pip"),
    ),
    (
        "{site}/pip/_vendor/pyproject_hooks/_in_process/_in_process.py build_wheel /tmp/x",
        "/",
        &[],
        None,
        Some("pip"),
    ),
    (
        "/usr/lib/python3/dist-packages/pyproject_hooks/_in_process/_in_process.py",
        "/usr",
        &[],
        None,
        Some("pyproject_hooks"),
    ),
    ("{site}/myapp/build.py", "/venv", &[], None, None),
    // Console scripts: in prefix/bin (the file need not exist)...
    ("/venv/bin/pip3.12 install", "/venv", &[], None, Some("pip")),
    ("/venv/lib/../bin/uv", "/venv/", &[], None, Some("uv")),
    ("venv/bin/pip", "{dir}/venv", &[], None, Some("pip")),
    ("/other/bin/pip", "/venv", &[], None, None),
    // ...or run by the interpreter their #! line names.
    ("{dir}/bin/pip", "/venv", &[], None, Some("pip")),
    ("bin/pip", "/venv", &[], None, Some("pip")),
    ("{dir}/bin/pip3.12", "/venv", &[], None, Some("pip")),
    ("{dir}/bin/wheel", "/venv", &[], None, Some("wheel")),
    ("{dir}/bin/uv", "/venv", &[], None, None),
    ("{dir}/bin/nox", "/venv", &[], None, None),
    ("{dir}/bin/tox", "/venv", &[], None, None),
    ("{dir}/bin/hatch", "/venv", &[], None, None),
    // A project's own scripts, whatever their names.
    ("{dir}/proj/build", "/venv", &[], None, None),
    ("{dir}/proj/build.py", "/venv", &[], None, None),
    ("{dir}/proj/uv.py", "/venv", &[], None, None),
    ("build.py", "{dir}", &[], None, None),
    ("{dir}/proj/uv.py", "/venv", &[], Some("uv.py"), None),
    // The list decides, edited or replaced.
    ("-m pip", "/venv", &[], Some(""), None),
    ("{dir}/bin/pip", "/venv", &[], Some("pipx"), None),
    ("-m myapp", "/venv", &[], Some("myapp"), Some("myapp")),
    ("-c pass", "/venv", &["PIP_BUILD_TRACKER"], Some("uv"), None),
    // The command line is asked before the markers.
    ("-m uv", "/venv", &["PIP_BUILD_TRACKER"], None, Some("uv")),
    ("-c pass", "/venv", &["SOMETHING_ELSE"], None, None),
];

/// The tool-process rule as a pure function (each implementation's
/// `tool`), evaluated by each real interpreter, with the console scripts
/// it reads the `#!` line of.
#[test]
fn tool_table() {
    let dir = PatchDir::new(&[]);
    for (file, text) in [
        ("bin/pip", "#!/i/python\nimport sys\n"),
        ("bin/pip3.12", "#! \t/i/python -E\n"),
        ("bin/wheel", "#!/i/python\r\n"),
        ("bin/uv", "#!/i/python3\n"),
        ("bin/nox", "# /i/python\n"),
        ("bin/tox/__main__.py", ""),
        ("proj/build", "#!/usr/bin/env python3\n"),
        ("proj/build.py", "#!/i/python\n"),
        ("proj/uv.py", "print()\n"),
    ] {
        dir.write(file, text);
    }
    // Linux reads 256 bytes of the #! line, and so do both implementations.
    dir.write("bin/hatch", &format!("#!{}/i/python\n", " ".repeat(250)));
    let mut cases = TOOL_CASES.to_vec();
    for (variable, name) in TOOL_MARKERS {
        for command in ["-c pass", "{dir}/proj/build.py"] {
            cases.push((
                command,
                "/venv",
                std::slice::from_ref(variable),
                None,
                Some(name),
            ));
        }
    }
    let text = |value: &str| {
        value
            .replace("{dir}", dir.path_str())
            .replace("{site}", SITE)
    };
    let calls: Vec<serde_json::Value> = cases
        .iter()
        .map(|(command, prefix, set, skip, _)| {
            let argv: Vec<String> = std::iter::once("/i/python")
                .chain(command.split(' ').filter(|arg| !arg.is_empty()))
                .map(text)
                .collect();
            let skip: Vec<&str> = match skip {
                Some(skip) => skip.split(',').filter(|name| !name.is_empty()).collect(),
                None => DEFAULT_SKIP.to_vec(),
            };
            serde_json::json!([argv, text(prefix), set, skip])
        })
        .collect();
    let calls = serde_json::to_string(&calls).unwrap();
    let code = "import json, os, sys, wrapt_bootstrap\n\
                impl = wrapt_bootstrap._load_impl()\n\
                os.chdir(sys.argv[2])\n\
                print(json.dumps([impl.IMPLEMENTATION, [\n\
                    impl.tool(argv, prefix, dict.fromkeys(names, 'x'), skip)\n\
                    for argv, prefix, names, skip in json.loads(sys.argv[1])]]))\n";
    for python in pythons_and_pypy() {
        let venv = shared_venv(python);
        for &implementation in python.implementations() {
            let output = venv.python(implementation, &[], &["-c", code, &calls, dir.path_str()]);
            assert!(output.status.success(), "{}", describe(&output));
            let (served, found): (String, Vec<Option<String>>) =
                serde_json::from_str(&stdout(&output)).expect("json");
            assert_eq!(served, python.served_by(implementation).name(), "{python}");
            assert_eq!(found.len(), cases.len());
            for (case, got) in cases.iter().zip(&found) {
                assert_eq!(
                    got.as_deref(),
                    case.4,
                    "{python} {implementation:?}: {case:?}"
                );
            }
        }
    }
}

/// A command line, the variables set besides `WRAPT_PATCHES`, and what
/// [`PROGRAM`] prints.
type ProgramCase<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);

#[test]
fn tools_run_without_patches_and_the_list_can_be_edited() {
    let programs = PatchDir::new(&[]);
    for package in ["pipx", "myapp"] {
        programs.write(&format!("{package}/__init__.py"), "");
        programs.write(&format!("{package}/__main__.py"), PROGRAM);
    }
    programs.write("lib/site-packages/pipx/runner.py", PROGRAM);
    programs.write("project/build.py", PROGRAM);
    programs.write("project/uv", PROGRAM);
    let dir = programs.path_str();
    let runner = format!("{dir}/lib/site-packages/pipx/runner.py");
    let build_py = format!("{dir}/project/build.py");
    let uv = format!("{dir}/project/uv");
    for (index, python) in pythons_and_pypy().iter().enumerate() {
        let venv = shared_venv(python);
        // A console script of this interpreter, as an installer writes one.
        let pip = format!("{dir}/{index}/bin/pip3.12");
        programs.write(
            &format!("{index}/bin/pip3.12"),
            &format!("#!{}\n{PROGRAM}", venv.interpreter().display()),
        );
        let cases: Vec<ProgramCase> = vec![
            (vec!["-m", "pipx"], vec![], "pipx False"),
            (
                vec!["-X", "dev", "-bbm", "pipx.__main__"],
                vec![],
                "pipx False",
            ),
            (vec!["-W", "ignore", &pip, "install"], vec![], "pip False"),
            (vec![&runner], vec![], "pipx False"),
            (vec![&build_py], vec![], "None True"),
            (vec![&uv], vec![], "None True"),
            (
                vec!["-c", PROGRAM],
                vec![("PIP_BUILD_TRACKER", "/tmp/x")],
                "pip False",
            ),
            (
                vec![&build_py],
                vec![("UV_INTERNAL__BUILD_DIR", dir)],
                "uv False",
            ),
            (
                vec![&build_py],
                vec![("_PYPROJECT_HOOKS_BUILD_BACKEND", "x")],
                "pyproject_hooks False",
            ),
            (
                vec!["-m", "pipx"],
                vec![("WRAPT_PATCHES_SKIP", "-pipx")],
                "None True",
            ),
            (vec![&pip], vec![("WRAPT_PATCHES_SKIP", "")], "None True"),
            (vec![&pip], vec![("WRAPT_PATCHES_SKIP", "off")], "None True"),
            (
                vec!["-m", "myapp"],
                vec![("WRAPT_PATCHES_SKIP", "+myapp")],
                "myapp False",
            ),
            (
                vec![&pip],
                vec![("WRAPT_PATCHES_SKIP", "myapp")],
                "None True",
            ),
            (
                vec!["-c", PROGRAM],
                vec![
                    ("PIP_BUILD_TRACKER", "/tmp/x"),
                    ("WRAPT_PATCHES_SKIP", "-pip"),
                ],
                "None True",
            ),
        ];
        for &implementation in python.implementations() {
            for (args, extra, expected) in &cases {
                let mut env = vec![
                    ("WRAPT_PATCHES", "wrapt_bootstrap.examples"),
                    ("PYTHONPATH", dir),
                ];
                env.extend(extra);
                let output = venv.python(implementation, &env, args);
                assert!(output.status.success(), "{}", describe(&output));
                let served = python.served_by(implementation).name();
                assert_eq!(
                    stdout(&output).trim(),
                    format!("{served} {expected}"),
                    "{python} {implementation:?} {args:?} {extra:?}: {}",
                    describe(&output)
                );
            }
        }
    }
}

/// Both twins, on the newest CPython and on PyPy, say the same words.
#[test]
fn a_skipped_tool_says_so_under_debug_and_bad_names_are_reported() {
    let programs = PatchDir::new(&[]);
    programs.write("pipx/__init__.py", "");
    programs.write(
        "pipx/__main__.py",
        "import wrapt_bootstrap as w\nprint(w._status()['implementation'])\n",
    );
    let newest = pythons().last().unwrap();
    for python in std::iter::once(newest).chain(pypy()) {
        let venv = shared_venv(python);
        for &implementation in python.implementations() {
            let output = venv.python(
                implementation,
                &[
                    ("WRAPT_PATCHES", "wrapt_bootstrap.examples"),
                    ("WRAPT_PATCHES_DEBUG", "1"),
                    ("WRAPT_PATCHES_SKIP", "+bad;name"),
                    ("PYTHONPATH", programs.path_str()),
                ],
                &["-m", "pipx"],
            );
            assert_eq!(
                (stdout(&output).trim(), stderr(&output).as_str()),
                (
                    python.served_by(implementation).name(),
                    "wrapt-bootstrap: ignoring invalid name '+bad;name' in WRAPT_PATCHES_SKIP\n\
                     wrapt-bootstrap: pipx is a tool process (WRAPT_PATCHES_SKIP): no patches here\n"
                ),
                "{python} {implementation:?}: {}",
                describe(&output)
            );
        }
    }
}

/// A PEP 517 backend whose hooks import tempfile, which the patch targets,
/// as a build imports what it needs: offline, unlike setuptools from PyPI,
/// yet pip runs it exactly as it runs any backend.
const BACKEND: &str = r#"
import os, tempfile, zipfile

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "localproject-1.0-py3-none-any.whl"
    write_wheel(os.path.join(wheel_directory, name), "localproject", {"localproject.py": ""})
    return name

def write_wheel(path, name, files):
    dist = name + "-1.0.dist-info/"
    files = dict(files)
    files[dist + "METADATA"] = "Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n" % name
    files[dist + "WHEEL"] = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[dist + "RECORD"] = "".join(file + ",,\n" for file in list(files) + [dist + "RECORD"])
    with zipfile.ZipFile(path, "w") as wheel:
        for file, text in files.items():
            wheel.writestr(file, text)

if __name__ == "__main__":
    import sys
    with open(__file__) as stream:
        source = stream.read()
    write_wheel(sys.argv[1] + "/acme_backend-1.0-py3-none-any.whl", "acme_backend", {"acme_backend.py": source})
"#;

/// The real pip, with a group enabled by default: its console script and
/// `python -m pip` are tool processes, and with `WRAPT_PATCHES_STRICT=1` it
/// installs a local project while its build-dependency installer
/// (`__pip-runner__.py`) and its PEP 517 hooks, isolated (where the patch
/// cannot be imported) or not, fire no hook.
#[test]
fn the_real_pip_and_its_children_run_without_patches() {
    // Every interpreter's own pip (23.0.1 on 3.9 up to the newest), the
    // native module and the fallback (which pip's children inherit) in
    // turn; PyPy's fallback.
    for (index, python) in pythons_and_pypy().iter().enumerate() {
        let implementation = python.served_by(if index % 2 == 0 {
            Implementation::Native
        } else {
            Implementation::Fallback
        });
        let venv = Venv::with_pip(python);
        PatchDist {
            name: "acme-patches",
            group: "acme.patches",
            entries: &[("tempfile", "acme_patch:hook")],
            modules: &[("acme_patch.py", RECORDING_PATCH)],
        }
        .write_into(&venv.site_packages);
        venv.install(&["--enable", "acme.patches"]);
        let work = PatchDir::new(&[]);
        work.write("backend/acme_backend.py", BACKEND);
        work.write("wheels/.keep", "");
        work.write(
            "localproject/pyproject.toml",
            "[build-system]\nrequires = [\"acme_backend\"]\nbuild-backend = \"acme_backend\"\n",
        );
        let path = |name: &str| work.path().join(name).to_str().unwrap().to_owned();
        let (wheels, project, log) = (path("wheels"), path("localproject"), path("acme.log"));
        let run = |env: &[(&str, &str)], args: &[&str]| {
            let mut env = env.to_vec();
            env.push(("ACME_LOG", &log));
            venv.python(implementation, &env, args)
        };
        let ok = |output: std::process::Output| {
            assert!(output.status.success(), "{python}: {}", describe(&output));
        };
        let pip = |env: &[(&str, &str)], args: &[&str]| {
            let mut command = vec!["-m", "pip", "install", "--no-index", "--no-cache-dir"];
            command.extend(["--find-links", &wheels, "--force-reinstall"]);
            command.extend(args);
            run(env, &command)
        };
        let fired = || fs::read_to_string(&log).unwrap_or_default();
        let strict = [("WRAPT_PATCHES_STRICT", "1")];
        for console_script in [true, false] {
            let mut command = if console_script {
                Command::new(venv.root.join("bin/pip"))
            } else {
                let mut command = Command::new(venv.interpreter());
                command.args(["-m", "pip"]);
                command
            };
            if implementation == Implementation::Fallback {
                command.env("WRAPT_PATCHES_PURE", "1");
            }
            let output = command
                .arg("--version")
                .env("WRAPT_PATCHES_DEBUG", "1")
                .env_remove("WRAPT_PATCHES")
                .env_remove("WRAPT_PATCHES_SKIP")
                .env_remove("PYTHONPATH")
                .output()
                .unwrap();
            assert!(output.status.success(), "{}", describe(&output));
            assert_eq!(
                stderr(&output),
                "wrapt-bootstrap: pip is a tool process (WRAPT_PATCHES_SKIP): no patches here\n",
                "{python} {implementation:?}, console script {console_script}: {}",
                describe(&output)
            );
        }
        let backend = path("backend/acme_backend.py");
        ok(venv.python(implementation, &[], &["-I", &backend, &wheels]));
        // The patch fires in an ordinary process...
        ok(run(&[], &["-c", "import tempfile"]));
        assert_eq!(fired().lines().count(), 1, "{python}");
        fs::remove_file(&log).unwrap();

        // ...and without the skip list, in pip and its runner; the isolated
        // hooks, which dropped site-packages and cannot import the patch,
        // report it even under strict mode (hooks.rs:
        // strict_mode_spares_patches_whose_environment_was_taken_away), so
        // the install succeeds all the same.
        let output = pip(&[strict[0], ("WRAPT_PATCHES_SKIP", "off")], &[&project]);
        assert!(output.status.success(), "{python}: {}", describe(&output));
        let pids: BTreeSet<String> = fired()
            .lines()
            .map(|line| line.split(' ').next().unwrap().to_owned())
            .collect();
        assert!(pids.len() >= 2, "{python}: {pids:?}");
        fs::remove_file(&log).unwrap();

        ok(pip(&strict, &[&project]));
        ok(pip(&[], &["acme_backend"]));
        ok(pip(&strict, &["--no-build-isolation", &project]));
        assert_eq!(fired(), "", "{python} {implementation:?}");
    }
}
