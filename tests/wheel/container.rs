//! The container recipe of `docs/containers.md`: its `build` stage is
//! `docs/container-build.sh`, line for line, and the script builds a
//! patched environment whose gate passes, as the image build would run it
//! in `/app` (here a temporary directory standing for it), with the wheel's
//! `wrapt-install`, uv from PyPI, and a local wheel for the patch package.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::packaging::{pip_tool, tools, CHECKOUT};
use crate::support::{base_command, describe, pythons, run_ok, stderr, stdout, PatchDist};
use crate::wheel::{EXAMPLE, EXAMPLE_OUTPUT};

/// The commands of the Dockerfile's stage `stage` (`FROM … AS stage`), in
/// order, without `RUN`; continued lines joined.
fn dockerfile_runs(doc: &str, stage: &str) -> Vec<String> {
    let block = doc
        .split("```dockerfile\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a ```dockerfile block");
    let mut lines: Vec<String> = Vec::new();
    let mut continued = false;
    for line in block.lines() {
        match lines.last_mut() {
            Some(last) if continued => {
                last.pop();
                last.push_str(line.trim_start());
            }
            _ => lines.push(line.to_owned()),
        }
        continued = line.ends_with('\\');
    }

    let header = format!(" AS {stage}");
    let mut runs = Vec::new();
    let mut in_stage = false;
    for line in lines {
        if line.starts_with("FROM ") {
            in_stage = line.ends_with(&header);
        } else if in_stage {
            if let Some(command) = line.strip_prefix("RUN ") {
                runs.push(command.to_owned());
            }
        }
    }
    assert!(!runs.is_empty(), "no RUN line in stage {stage}");
    runs
}

/// The commands of a script: its lines but comments, blank lines and
/// `set -eu`.
fn script_commands(script: &str) -> Vec<String> {
    script
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#') && *line != "set -eu")
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_build_script_is_the_dockerfile_build_stage() {
    let docs = Path::new(CHECKOUT).join("docs");
    let doc = fs::read_to_string(docs.join("containers.md")).unwrap();
    let script = fs::read_to_string(docs.join("container-build.sh")).unwrap();
    assert_eq!(script_commands(&script), dockerfile_runs(&doc, "build"));
}

#[test]
fn dockerfile_runs_are_read_per_stage_with_continuations() {
    let doc = "text\n```dockerfile\nFROM a AS tool\nRUN make \\\n    tool\n\
               FROM b AS build\n# comment\nRUN one\nCOPY x y\nRUN two \\\n  three\n\
               FROM b\nRUN later\n```\nmore\n";
    assert_eq!(dockerfile_runs(doc, "build"), ["one", "two three"]);
    assert_eq!(dockerfile_runs(doc, "tool"), ["make tool"]);
}

/// Group `acme.patches`, whose hook for `tempfile` says so on stderr.
const ACME_PATCHES: PatchDist = PatchDist {
    name: "acme-patches",
    group: "acme.patches",
    entries: &[("tempfile", "acme_patches:patch_tempfile")],
    modules: &[(
        "acme_patches.py",
        "import sys\ndef patch_tempfile(module):\n    sys.stderr.write('acme: patched tempfile\\n')\n",
    )],
};

const ACME_OUTPUT: &str = "acme: patched tempfile\n";

/// A directory for `PATH` holding only what the image has: `python3`, uv
/// and the tool.
fn image_path(dir: &Path, python3: &Path) -> PathBuf {
    let bin = dir.join("bin");
    fs::create_dir(&bin).unwrap();
    // A script, not a link: a venv made through a link would take the
    // link's directory for the base interpreter's home.
    let real = python3.canonicalize().unwrap();
    let wrapper = bin.join("python3");
    fs::write(
        &wrapper,
        format!("#!/bin/sh\nexec '{}' \"$@\"\n", real.display()),
    )
    .unwrap();
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
    let tool = pip_tool().root.join("bin");
    for (name, target) in [
        ("uv", tools().uv.clone()),
        ("wrapt-install", tool.join("wrapt-install")),
        ("wrapt-uninstall", tool.join("wrapt-uninstall")),
    ] {
        std::os::unix::fs::symlink(target, bin.join(name)).unwrap();
    }
    bin
}

/// `program` as a step of the image build runs: in `app`, with only the
/// image's commands on PATH, and uv finding packages in `wheels` alone.
fn image_command(program: impl AsRef<std::ffi::OsStr>, app: &Path, bin: &Path) -> Command {
    let wheels = app.parent().unwrap().join("wheels");
    let mut command = base_command(program);
    command
        .current_dir(app)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("UV_NO_INDEX", "1")
        .env("UV_FIND_LINKS", wheels)
        .env("UV_CACHE_DIR", app.parent().unwrap().join("uv-cache"))
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env("UV_NO_CONFIG", "1");
    command
}

/// `python -c CODE` of the environment at `venv` with `env`; asserts it
/// exits 0.
fn run_python(venv: &Path, env: &[(&str, &str)], code: &str) -> Output {
    let mut command = base_command(venv.join("bin/python"));
    command.envs(env.iter().copied()).args(["-c", code]);
    let output = command.output().expect("spawn python");
    assert!(output.status.success(), "{code}: {}", describe(&output));
    output
}

#[test]
fn the_build_stage_makes_a_patched_environment_that_passes_the_gate() {
    let python = &pythons()[0];
    let root = tempfile::tempdir().unwrap();
    let app = root.path().join("app");
    fs::create_dir(&app).unwrap();
    let wheels = root.path().join("wheels");
    fs::create_dir(&wheels).unwrap();
    ACME_PATCHES.build_wheel(&python.exe, &wheels);
    fs::write(app.join("requirements.txt"), "acme-patches==1.0\n").unwrap();
    let bin = image_path(root.path(), &python.exe);

    let script = Path::new(CHECKOUT).join("docs/container-build.sh");
    let build = run_ok(image_command("sh", &app, &bin).arg(&script));
    assert!(
        stderr(&build).contains("+ acme-patches==1.0"),
        "{}",
        describe(&build)
    );

    // Enabled by default: it patches with nothing set.
    let venv = app.join(".venv");
    let output = run_python(&venv, &[], "import tempfile");
    assert_eq!(stderr(&output), ACME_OUTPUT);
    // Each deployment chooses with WRAPT_PATCHES.
    let output = run_python(&venv, &[("WRAPT_PATCHES", "0")], "import tempfile");
    assert_eq!(stderr(&output), "");
    let only_examples = [("WRAPT_PATCHES", "wrapt_bootstrap.examples")];
    let output = run_python(&venv, &only_examples, EXAMPLE);
    assert_eq!(stderr(&output), EXAMPLE_OUTPUT);

    // Moved, with the original gone, its python still activates; the
    // bytecode names the old path until wrapt-install runs at the new one.
    let moved = root.path().join("moved");
    fs::create_dir(&moved).unwrap();
    run_ok(Command::new("cp").arg("-a").arg(&venv).arg(&moved));
    let moved = moved.join(".venv");
    let parked = app.join(".venv-parked");
    fs::rename(&venv, &parked).unwrap();
    let output = run_python(&moved, &[], "import tempfile");
    assert_eq!(stderr(&output), ACME_OUTPUT);
    let wrapt_install = bin.join("wrapt-install");
    run_ok(
        image_command(&wrapt_install, &app, &bin)
            .arg("--venv")
            .arg(&moved),
    );
    run_ok(
        image_command(&wrapt_install, &app, &bin)
            .arg("--venv")
            .arg(&moved)
            .arg("--check"),
    );
    fs::rename(&parked, &venv).unwrap();

    // Why the install comes after the last sync: a sync removes it.
    let sync = run_ok(image_command(&tools().uv, &app, &bin).args([
        "pip",
        "sync",
        "--python",
        ".venv/bin/python",
        "requirements.txt",
    ]));
    eprintln!("a second sync:\n{}{}", stdout(&sync), stderr(&sync));
    assert!(
        stderr(&sync).contains(&format!(
            " - wrapt-bootstrap=={}",
            env!("CARGO_PKG_VERSION")
        )),
        "{}",
        describe(&sync)
    );
    let output = run_python(&venv, &[], "import tempfile");
    assert_eq!(stderr(&output), "", "a clean start without the bootstrap");
    let check = image_command(&wrapt_install, &app, &bin)
        .args(["--venv", ".venv", "--check"])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1), "{}", describe(&check));
}
