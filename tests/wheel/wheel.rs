//! The wheel: what it holds, the platform it claims, and the tool
//! environments pip, pipx and uv make from it and from the checkout, each
//! of which must serve other environments exactly as the cargo-built tool
//! does.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::packaging::{
    build_lock, building, checkout_wheel, glibc_needed, manylinux_glibc, pip_install, pip_tool,
    pyproject_string, sdist_members, sdist_source, sdist_wheel, tools, unzip, CHECKOUT,
};
use crate::support::{
    assert_served_by, base_command, describe, panic_message, pythons, pythons_and_pypy, run_ok,
    stderr, Implementation, Python, Venv,
};

/// The README's Quickstart: the bundled example group patches `tempfile`.
pub const EXAMPLE: &str = "from tempfile import mkdtemp; import os; os.rmdir(mkdtemp())";
pub const EXAMPLE_OUTPUT: &str = "patching tempfile\ncalling mkdtemp\n";

/// The files of an unpacked wheel, relative to its top.
fn files_under(root: &Path) -> BTreeSet<String> {
    let mut files = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(root).unwrap();
                files.insert(relative.to_str().unwrap().to_owned());
            }
        }
    }
    files
}

/// The value of `key: value` lines in METADATA or WHEEL (the first one).
fn header<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let prefix = format!("{key}: ");
    text.lines().find_map(|line| line.strip_prefix(&prefix))
}

#[test]
fn the_wheel_holds_both_commands_and_the_crate_metadata() {
    let wheel = checkout_wheel();
    let version = env!("CARGO_PKG_VERSION");
    let tag = format!(
        "py3-none-{}_{}",
        pyproject_string("compatibility"),
        std::env::consts::ARCH
    );
    assert_eq!(
        wheel.file_name().unwrap().to_str().unwrap(),
        format!("wrapt_install-{version}-{tag}.whl")
    );

    let unpacked = tempfile::tempdir().unwrap();
    unzip(wheel, unpacked.path());
    let data = format!("wrapt_install-{version}.data");
    let dist_info = format!("wrapt_install-{version}.dist-info");
    let expected: BTreeSet<String> = [
        format!("{data}/scripts/wrapt-install"),
        format!("{data}/scripts/wrapt-uninstall"),
        format!("{dist_info}/METADATA"),
        format!("{dist_info}/RECORD"),
        format!("{dist_info}/WHEEL"),
        format!("{dist_info}/licenses/LICENSE-APACHE"),
        format!("{dist_info}/licenses/LICENSE-MIT"),
    ]
    .into();
    assert_eq!(files_under(unpacked.path()), expected);

    for licence in ["LICENSE-APACHE", "LICENSE-MIT"] {
        assert_eq!(
            fs::read(
                unpacked
                    .path()
                    .join(&dist_info)
                    .join("licenses")
                    .join(licence)
            )
            .unwrap(),
            fs::read(Path::new(CHECKOUT).join(licence)).unwrap(),
            "{licence}"
        );
    }
    let metadata = fs::read_to_string(unpacked.path().join(&dist_info).join("METADATA")).unwrap();
    // Version, summary and licence come from Cargo.toml, the one place.
    for (key, value) in [
        ("Name", "wrapt-install"),
        ("Version", version),
        ("Summary", env!("CARGO_PKG_DESCRIPTION")),
        ("License-Expression", env!("CARGO_PKG_LICENSE")),
    ] {
        assert_eq!(header(&metadata, key), Some(value), "{key} in\n{metadata}");
    }
    let wheel_file = fs::read_to_string(unpacked.path().join(&dist_info).join("WHEEL")).unwrap();
    assert_eq!(header(&wheel_file, "Tag"), Some(tag.as_str()));
    assert_eq!(header(&wheel_file, "Root-Is-Purelib"), Some("false"));
}

#[test]
fn the_platform_tag_covers_the_glibc_the_commands_and_the_bootstrap_need() {
    let compatibility = pyproject_string("compatibility");
    let claimed = manylinux_glibc(&compatibility);
    let unpacked = tempfile::tempdir().unwrap();
    unzip(checkout_wheel(), unpacked.path());
    let scripts = unpacked.path().join(format!(
        "wrapt_install-{}.data/scripts",
        env!("CARGO_PKG_VERSION")
    ));
    // The bootstrap is embedded in the commands, where maturin's own check
    // cannot see it: read it where the wheel's wrapt-install writes it.
    let target = Venv::new(&pythons()[0]);
    run_ok(
        base_command(pip_tool().root.join("bin/wrapt-install"))
            .arg("--venv")
            .arg(&target.root),
    );
    let elves: [PathBuf; 3] = [
        scripts.join("wrapt-install"),
        scripts.join("wrapt-uninstall"),
        target.site_packages.join("wrapt_bootstrap/_native.abi3.so"),
    ];
    for elf in &elves {
        let needed = glibc_needed(elf);
        assert!(
            needed <= claimed,
            "{} needs GLIBC_{}.{}, newer than {compatibility} promises",
            elf.display(),
            needed.0,
            needed.1
        );
    }
}

/// The paths whose bytes differ between two snapshots, for a readable
/// failure.
fn differences(a: &BTreeMap<PathBuf, Vec<u8>>, b: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<PathBuf> {
    a.keys()
        .chain(b.keys())
        .filter(|path| a.get(*path) != b.get(*path))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// `bin/wrapt-install` and `bin/wrapt-uninstall` of a tool environment
/// install into a fresh venv of `python` exactly what the cargo-built tool
/// installs; the example group fires (natively on CPython); `--check`
/// passes; and the uninstall restores the venv to the byte.
fn assert_serves(bin: &Path, python: &Python) {
    let target = Venv::new(python);
    let before = target.snapshot();
    run_ok(
        base_command(bin.join("wrapt-install"))
            .arg("--venv")
            .arg(&target.root),
    );

    let reference = Venv::new(python);
    reference.install(&[]);
    let (installed, expected) = (target.snapshot(), reference.snapshot());
    assert!(
        installed == expected,
        "differs from what the cargo-built tool installs: {:?}",
        differences(&installed, &expected)
    );

    let groups = [("WRAPT_PATCHES", "wrapt_bootstrap.examples")];
    let output = target.python(Implementation::Native, &groups, &["-c", EXAMPLE]);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(stderr(&output), EXAMPLE_OUTPUT);
    assert_served_by(&target, Implementation::Native, &groups);

    run_ok(
        base_command(bin.join("wrapt-install"))
            .arg("--venv")
            .arg(&target.root)
            .arg("--check"),
    );
    run_ok(
        base_command(bin.join("wrapt-uninstall"))
            .arg("--venv")
            .arg(&target.root),
    );
    assert!(
        target.snapshot() == before,
        "not restored: {:?}",
        differences(&target.snapshot(), &before)
    );
}

#[test]
fn a_tool_environment_from_the_wheel_serves_every_interpreter() {
    let bin = pip_tool().root.join("bin");
    let mut failures = Vec::new();
    for python in pythons_and_pypy() {
        let attempt = std::panic::AssertUnwindSafe(|| assert_serves(&bin, python));
        if let Err(panic) = std::panic::catch_unwind(attempt) {
            failures.push(format!("{python}: {}", panic_message(&*panic)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn pip_installs_both_commands_from_the_checkout() {
    checkout_wheel();
    let tool = Venv::with_pip(&pythons()[0]);
    {
        let _build = build_lock();
        run_ok(building(tool.root.join("bin/pip")).args([
            "install",
            "-q",
            "--disable-pip-version-check",
            CHECKOUT,
        ]));
    }
    assert_serves(&tool.root.join("bin"), &pythons()[0]);
}

#[test]
fn pipx_installs_both_commands_from_the_checkout() {
    checkout_wheel();
    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join("bin");
    {
        let _build = build_lock();
        run_ok(
            building(&tools().pipx)
                .env("PIPX_HOME", home.path().join("pipx"))
                .env("PIPX_BIN_DIR", &bin)
                .env("PIPX_MAN_DIR", home.path().join("man"))
                .arg("install")
                .arg("--python")
                .arg(&pythons()[0].exe)
                .arg(CHECKOUT),
        );
    }
    assert_serves(&bin, &pythons()[0]);
}

#[test]
fn uv_tool_installs_both_commands_from_the_checkout() {
    checkout_wheel();
    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join("bin");
    {
        let _build = build_lock();
        run_ok(
            building(&tools().uv)
                .env("UV_TOOL_DIR", home.path().join("tools"))
                .env("UV_TOOL_BIN_DIR", &bin)
                .env("UV_CACHE_DIR", home.path().join("cache"))
                .env("UV_PYTHON_DOWNLOADS", "never")
                .env("UV_NO_CONFIG", "1")
                .args(["tool", "install", "--python"])
                .arg(&pythons()[0].exe)
                .arg(CHECKOUT),
        );
    }
    assert_serves(&bin, &pythons()[0]);
}

#[test]
fn the_sdist_holds_the_bootstrap_and_builds_the_same_wheel() {
    let top = sdist_source().file_name().unwrap().to_str().unwrap();
    let members = sdist_members();
    // build.rs builds crates/bootstrap, which no crate depends on: a
    // generator that packs only dependencies would leave it out.
    for needed in [
        "Cargo.lock",
        "build.rs",
        "crates/bootstrap/Cargo.toml",
        "crates/bootstrap/src/lib.rs",
        "crates/common/src/lib.rs",
        "templates/wrapt_bootstrap/__init__.py",
        "LICENSE-MIT",
        "LICENSE-APACHE",
    ] {
        let member = format!("{top}/{needed}");
        assert!(members.contains(&member), "{member} not in the sdist");
    }
    assert_eq!(
        fs::read(sdist_source().join("Cargo.toml")).unwrap(),
        fs::read(Path::new(CHECKOUT).join("Cargo.toml")).unwrap(),
        "the sdist's workspace manifest was rewritten"
    );

    let wheel = sdist_wheel();
    assert_eq!(wheel.file_name(), checkout_wheel().file_name());
    let tool = pip_install(wheel);
    assert_serves(&tool.root.join("bin"), &pythons()[0]);
}
