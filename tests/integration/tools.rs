//! Tool processes: with groups enabled, packaging tools (pip, pipx, …) run
//! without patches, as the skip list and `WRAPT_PATCHES_SKIP` say.

use crate::support::{
    describe, pythons, pythons_and_pypy, shared_venv, stderr, stdout, Implementation, PatchDir,
};

/// What a program reports: the tool name it was skipped as (`None`) and
/// whether the example group patched the tempfile it imports.
const PROGRAM: &str = "\
import sys, tempfile, wrapt_bootstrap as w
print(w._status()['skipped_as_tool'], getattr(tempfile.mkdtemp, '__wrapped__', None) is not None)
";

#[test]
fn tools_run_without_patches_and_the_list_can_be_edited() {
    let programs = PatchDir::new(&[]);
    programs.write("pipx/__init__.py", "");
    programs.write("pipx/__main__.py", PROGRAM);
    programs.write("bin/pip3.12", PROGRAM);
    programs.write("bin/myapp.py", PROGRAM);
    let dir = programs.path_str();
    let pip = format!("{dir}/bin/pip3.12");
    let myapp = format!("{dir}/bin/myapp.py");
    // (command line, WRAPT_PATCHES_SKIP, what the program prints)
    let cases: Vec<(Vec<&str>, Option<&str>, &str)> = vec![
        (vec!["-m", "pipx"], None, "pipx False"),
        (
            vec!["-X", "dev", "-bbm", "pipx.__main__"],
            None,
            "pipx False",
        ),
        (vec!["-W", "ignore", &pip, "install"], None, "pip False"),
        (vec![&myapp], None, "None True"),
        (vec!["-m", "pipx"], Some("-pipx"), "None True"),
        (vec![&pip], Some(""), "None True"),
        (vec![&pip], Some("off"), "None True"),
        (vec![&myapp, "-m", "pipx"], Some("myapp"), "myapp False"),
        (vec![&pip], Some("myapp"), "None True"),
        (vec!["-m", "pipx"], Some("+myapp"), "pipx False"),
    ];
    for python in pythons_and_pypy() {
        let venv = shared_venv(python);
        for (args, skip, expected) in &cases {
            let mut env = vec![
                ("WRAPT_PATCHES", "wrapt_bootstrap.examples"),
                ("PYTHONPATH", dir),
            ];
            if let Some(skip) = skip {
                env.push(("WRAPT_PATCHES_SKIP", skip));
            }
            let output = venv.python(Implementation::Native, &env, args);
            assert!(output.status.success(), "{}", describe(&output));
            assert_eq!(
                stdout(&output).trim(),
                *expected,
                "{python} {args:?} WRAPT_PATCHES_SKIP={skip:?}: {}",
                describe(&output)
            );
        }
    }
}

#[test]
fn a_skipped_tool_says_so_under_debug_and_bad_names_are_reported() {
    let programs = PatchDir::new(&[]);
    programs.write("pipx/__init__.py", "");
    programs.write("pipx/__main__.py", "");
    let python = pythons().last().unwrap();
    let venv = shared_venv(python);
    let output = venv.python(
        Implementation::Native,
        &[
            ("WRAPT_PATCHES", "wrapt_bootstrap.examples"),
            ("WRAPT_PATCHES_DEBUG", "1"),
            ("WRAPT_PATCHES_SKIP", "+bad;name"),
            ("PYTHONPATH", programs.path_str()),
        ],
        &["-m", "pipx"],
    );
    assert_eq!(
        stderr(&output),
        "wrapt-bootstrap: ignoring invalid name '+bad;name' in WRAPT_PATCHES_SKIP\n\
         wrapt-bootstrap: pipx is a tool process (WRAPT_PATCHES_SKIP): no patches here\n",
        "{}",
        describe(&output)
    );
}

#[test]
fn the_real_pip_is_left_alone() {
    let python = pythons().last().unwrap();
    let venv = crate::support::Venv::with_pip(python);
    venv.install(&["--enable", "wrapt_bootstrap.examples"]);
    for pip in [
        vec![venv.root.join("bin/pip").into_os_string()],
        vec!["-m".into(), "pip".into()],
    ] {
        let mut command = if pip.len() == 1 {
            std::process::Command::new(&pip[0])
        } else {
            let mut command = std::process::Command::new(venv.interpreter());
            command.args(&pip);
            command
        };
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
            "{pip:?}: {}",
            describe(&output)
        );
    }
}
