//! Builds `crates/bootstrap` (the pyo3 cdylib `wrapt_bootstrap._native`) and
//! hands its path to the library as `WRAPT_BOOTSTRAP_SO`, which `src/plan.rs`
//! embeds with `include_bytes!`.
//!
//! Artifact dependencies (`-Z bindeps`) are still unstable, so this is a nested
//! `$CARGO build` of one workspace member, the way aya's `aya-build` and
//! rust-analyzer's proc-macro test crate do it:
//!
//! * Its own `--target-dir` (and `CARGO_BUILD_BUILD_DIR`, Cargo >= 1.91) under
//!   `OUT_DIR`: sharing the outer target directory deadlocks on its build lock.
//! * The profile is chosen here, not inherited: release, with overrides for a
//!   small, fast `.so`. `panic` stays `unwind`: pyo3 turns a panic into a Python
//!   exception, and `abort` would take the user's interpreter down with it.
//! * The environment Cargo gives a build script describes *this* package and
//!   *this* compilation (`CARGO_PKG_*`, `CARGO_CFG_*`, `OUT_DIR`, `TARGET`, ...).
//!   None of it may reach the child, which would otherwise read it as its own
//!   configuration. In particular `cargo clippy` passes clippy-driver as
//!   `RUSTC_WORKSPACE_WRAPPER`; the child must compile, not lint.
//!
//! Kept on purpose: `RUSTC` (the child uses the same compiler as the outer
//! build), `RUSTC_WRAPPER` (a caching wrapper such as sccache works for the
//! child just the same; Cargo sets it only when the user configured one), and
//! `CARGO_MAKEFLAGS` / `MAKEFLAGS` / `MFLAGS` (the jobserver: the child takes
//! its jobs from the outer build's pool instead of adding a second `-j N`).

use std::env;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The package and library built into the `.so`.
const PACKAGE: &str = "wrapt-bootstrap-native";
const LIB_NAME: &str = "_native";

fn main() {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env_var("OUT_DIR"));

    for path in [
        "crates/bootstrap",
        "crates/common",
        "Cargo.lock",
        "Cargo.toml",
        "templates",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            manifest_dir.join(path).display()
        );
    }
    // An escape hatch for packagers who build the bootstrap separately (and
    // for builds where a nested Cargo is not wanted): a path to a ready
    // `lib_native.so`.
    println!("cargo:rerun-if-env-changed=WRAPT_BOOTSTRAP_PREBUILT_SO");
    if let Some(prebuilt) = env::var_os("WRAPT_BOOTSTRAP_PREBUILT_SO") {
        let prebuilt = PathBuf::from(prebuilt);
        if !prebuilt.is_file() {
            fail(&format!(
                "WRAPT_BOOTSTRAP_PREBUILT_SO={} is not a file; unset it to build the bootstrap from crates/bootstrap",
                prebuilt.display()
            ));
        }
        println!("cargo:rerun-if-changed={}", prebuilt.display());
        export(&prebuilt);
        return;
    }

    let so = build_bootstrap(&manifest_dir, &out_dir);
    export(&so);
}

fn export(so: &Path) {
    println!("cargo:rustc-env=WRAPT_BOOTSTRAP_SO={}", so.display());
}

fn build_bootstrap(manifest_dir: &Path, out_dir: &Path) -> PathBuf {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let target = env_var("TARGET");
    let host = env_var("HOST");
    let target_dir = out_dir.join("bootstrap-target");
    let build_dir = out_dir.join("bootstrap-build");

    let mut cmd = Command::new(&cargo);
    cmd.current_dir(manifest_dir)
        .args(["build", "--package", PACKAGE, "--lib", "--release"])
        .arg("--target-dir")
        .arg(&target_dir)
        .args(["--message-format", "json-render-diagnostics"])
        .args([
            "--config",
            "profile.release.opt-level=3",
            "--config",
            "profile.release.lto=true",
            "--config",
            "profile.release.codegen-units=1",
            "--config",
            "profile.release.strip=true",
            "--config",
            "profile.release.debug=false",
            "--config",
            "profile.release.panic=\"unwind\"",
        ]);
    // Only pass --target when cross-compiling: an explicit --target changes
    // the output layout and stops host RUSTFLAGS config applying, which a
    // native build does not want.
    if target != host {
        cmd.arg("--target").arg(&target);
    }

    scrub_env(&mut cmd);
    cmd.env("CARGO_BUILD_BUILD_DIR", &build_dir)
        .env("PYO3_BUILD_EXTENSION_MODULE", "1")
        .env("PYO3_NO_PYTHON", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());

    let mut child = cmd.spawn().unwrap_or_else(|e| {
        fail(&format!(
            "could not run {} to build {PACKAGE}: {e}",
            Path::new(&cargo).display()
        ))
    });

    // stderr is drained on a thread so that neither pipe can fill up and
    // stall the child while the other one is being read.
    let stderr = child.stderr.take().expect("stderr is piped");
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            text.push_str(&line);
            text.push('\n');
        }
        text
    });

    let mut artifact = None;
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if let Some(path) = cdylib_from_message(&line) {
            artifact = Some(path);
        }
    }
    let status = child
        .wait()
        .unwrap_or_else(|e| fail(&format!("waiting for cargo: {e}")));
    let stderr_text = stderr_reader.join().unwrap_or_default();
    // Kept for whoever wonders what the nested build did (Cargo hides a
    // successful build script's output).
    let _ = std::fs::write(out_dir.join("bootstrap-build.log"), &stderr_text);

    if !status.success() {
        // Cargo shows a build script's stderr only when it fails, which is
        // exactly when the child's diagnostics are needed.
        eprintln!("{stderr_text}");
        fail(&format!(
            "building {PACKAGE} (crates/bootstrap) failed ({status}); its output is above"
        ));
    }
    let Some(so) = artifact else {
        eprintln!("{stderr_text}");
        fail(&format!(
            "cargo built {PACKAGE} but reported no cdylib artifact for lib {LIB_NAME}"
        ));
    };
    if !so.is_file() {
        fail(&format!(
            "cargo reported {} but it does not exist",
            so.display()
        ));
    }
    so
}

/// The cdylib path from one `--message-format json` line, if it is the
/// `compiler-artifact` message of our library.
fn cdylib_from_message(line: &str) -> Option<PathBuf> {
    let msg: serde_json::Value = serde_json::from_str(line).ok()?;
    if msg.get("reason")?.as_str()? != "compiler-artifact" {
        return None;
    }
    let target = msg.get("target")?;
    if target.get("name")?.as_str()? != LIB_NAME {
        return None;
    }
    let is_cdylib = target
        .get("kind")?
        .as_array()?
        .iter()
        .any(|k| k.as_str() == Some("cdylib"));
    if !is_cdylib {
        return None;
    }
    msg.get("filenames")?
        .as_array()?
        .iter()
        .filter_map(|f| f.as_str())
        .find(|f| {
            Path::new(f)
                .extension()
                .is_some_and(|ext| ext == "so" || ext == "dylib" || ext == "dll")
        })
        .map(PathBuf::from)
}

/// Removes what Cargo set for *this* build script (or inherited from the
/// outer invocation) that the child would misread as its own configuration.
fn scrub_env(cmd: &mut Command) {
    const EXACT: &[&str] = &[
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_LINKER",
        "RUSTDOC",
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_BUILD_BUILD_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_CRATE_NAME",
        "CARGO_TARGET_TMPDIR",
        "OUT_DIR",
        "TARGET",
        "HOST",
        "PROFILE",
        "OPT_LEVEL",
        "DEBUG",
        "NUM_JOBS",
        "RUSTC_BOOTSTRAP",
        "CLIPPY_ARGS",
        "CLIPPY_CONF_DIR",
    ];
    const PREFIXES: &[&str] = &[
        "CARGO_FEATURE_",
        "CARGO_CFG_",
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_BIN_",
        "DEP_",
    ];
    for (key, _) in env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if EXACT.contains(&key) || PREFIXES.iter().any(|p| key.starts_with(p)) {
            cmd.env_remove(key);
        }
    }
}

fn env_var(key: &str) -> String {
    env::var(key).unwrap_or_else(|_| fail(&format!("cargo did not set {key}")))
}

fn fail(msg: &str) -> ! {
    // A panic fails the build and shows the message with the script's stderr.
    eprintln!("error: {msg}");
    panic!("{msg}");
}
