//! Building the distributions as a release would, once per test run:
//! maturin (from `PATH`, else from PyPI into a tools environment), the wheel
//! from the checkout, the sdist, and the wheel built from the sdist. The
//! builds keep their Cargo target directories under `target/tmp/wheel`, so
//! a second run recompiles only what changed.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use crate::support::{base_command, pythons, run_ok, stdout, Venv};

pub const CHECKOUT: &str = env!("CARGO_MANIFEST_DIR");

/// What this target builds and installs for itself, kept between runs.
pub fn work_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("wheel")
}

/// The Cargo target directory of every build of the checkout, the PEP 517
/// builds of pip, pipx and uv included (`CARGO_TARGET_DIR` reaches maturin
/// through their build environments).
pub fn cargo_target_dir() -> PathBuf {
    work_dir().join("target")
}

/// The builds of the unpacked sdist have their own: Cargo names a
/// workspace member's build by its path relative to the workspace, so the
/// two trees would take each other's builds for stale ones and rebuild at
/// every turn.
fn sdist_target_dir() -> PathBuf {
    work_dir().join("target-sdist")
}

/// Held by whoever builds: builds into one target directory copy each
/// binary they link to the same `release/wrapt-install`, so one build
/// could package another's. (And two builds at once would only share the
/// two cores.)
pub fn build_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The first string in pyproject.toml's `key = …` line: the tests read
/// the build settings (maturin's version, the platform tag) where the
/// build reads them.
pub fn pyproject_string(key: &str) -> String {
    let text = fs::read_to_string(Path::new(CHECKOUT).join("pyproject.toml")).unwrap();
    let prefix = format!("{key} = ");
    let line = text
        .lines()
        .find(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("pyproject.toml has no `{key} = ` line"));
    line.split('"')
        .nth(1)
        .unwrap_or_else(|| panic!("no string in pyproject.toml's {line:?}"))
        .to_owned()
}

pub struct Tools {
    /// The tools environment's interpreter, which also unpacks archives.
    pub python: PathBuf,
    pub maturin: PathBuf,
    pub uv: PathBuf,
    pub pipx: PathBuf,
}

/// maturin, uv and pipx: maturin from `PATH` if there is one, the rest
/// (and else maturin, at the version pyproject.toml's build-system asks
/// for) installed from PyPI into a virtual environment of their own,
/// reinstalled when what it should hold changes.
pub fn tools() -> &'static Tools {
    static TOOLS: OnceLock<Tools> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let dir = work_dir().join("tools");
        let bin = dir.join("bin");
        let maturin_on_path = on_path("maturin");
        let mut requirements = vec!["uv".to_owned(), "pipx".to_owned()];
        if maturin_on_path.is_none() {
            requirements.push(pyproject_string("requires"));
        }
        let base = &pythons()[0].exe;
        let stamp = format!("{}\n{}\n", base.display(), requirements.join("\n"));
        let stamp_file = dir.join("installed.txt");
        if fs::read_to_string(&stamp_file).ok().as_deref() != Some(stamp.as_str()) {
            if dir.exists() {
                fs::remove_dir_all(&dir).unwrap();
            }
            run_ok(base_command(base).args(["-m", "venv"]).arg(&dir));
            run_ok(
                base_command(bin.join("python"))
                    .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
                    .args(&requirements),
            );
            fs::write(&stamp_file, stamp).unwrap();
        }
        Tools {
            python: bin.join("python"),
            maturin: maturin_on_path.unwrap_or_else(|| bin.join("maturin")),
            uv: bin.join("uv"),
            pipx: bin.join("pipx"),
        }
    })
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// `program` with the checkout's target directory: for the installers that
/// run maturin through PEP 517.
pub fn building(program: impl AsRef<OsStr>) -> Command {
    let mut command = base_command(program);
    command.env("CARGO_TARGET_DIR", cargo_target_dir());
    command
}

/// `maturin build --release` in `project` with `target_dir` into a fresh
/// `out`; the wheel.
fn build_wheel(project: &Path, target_dir: &Path, out: &Path) -> PathBuf {
    if out.exists() {
        fs::remove_dir_all(out).unwrap();
    }
    let _build = build_lock();
    run_ok(
        base_command(&tools().maturin)
            .env("CARGO_TARGET_DIR", target_dir)
            .current_dir(project)
            .args(["build", "--release", "--locked", "--out"])
            .arg(out),
    );
    only_file(out, ".whl")
}

/// The wheel built from the checkout, as a release is.
pub fn checkout_wheel() -> &'static Path {
    static WHEEL: OnceLock<PathBuf> = OnceLock::new();
    WHEEL.get_or_init(|| {
        build_wheel(
            Path::new(CHECKOUT),
            &cargo_target_dir(),
            &work_dir().join("dist"),
        )
    })
}

/// The checkout's sdist.
pub fn sdist() -> &'static Path {
    static SDIST: OnceLock<PathBuf> = OnceLock::new();
    SDIST.get_or_init(|| {
        let out = work_dir().join("sdist");
        if out.exists() {
            fs::remove_dir_all(&out).unwrap();
        }
        run_ok(
            base_command(&tools().maturin)
                .current_dir(CHECKOUT)
                .args(["sdist", "--out"])
                .arg(&out),
        );
        only_file(&out, ".tar.gz")
    })
}

/// The sdist's top directory once unpacked, as an installer unpacks it.
pub fn sdist_source() -> &'static Path {
    static SOURCE: OnceLock<PathBuf> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let sdist = sdist();
        let unpacked = work_dir().join("sdist-src");
        let unpacked_from = work_dir().join("sdist-src.tar.gz");
        let bytes = fs::read(sdist).unwrap();
        // Unpacked again only when the sdist changed: its members all carry
        // one fixed old mtime, so the unpacking also sets them to now, or
        // Cargo would take a changed source for older than its last build.
        if fs::read(&unpacked_from).ok().as_ref() != Some(&bytes) {
            if unpacked.exists() {
                fs::remove_dir_all(&unpacked).unwrap();
            }
            run_ok(
                base_command(&tools().python)
                    .args(["-c", UNPACK])
                    .arg(sdist)
                    .arg(&unpacked),
            );
            fs::write(&unpacked_from, bytes).unwrap();
        }
        let name = sdist.file_name().unwrap().to_str().unwrap();
        unpacked.join(name.strip_suffix(".tar.gz").unwrap())
    })
}

const UNPACK: &str = "
import os, sys, tarfile
with tarfile.open(sys.argv[1]) as archive:
    if hasattr(tarfile, 'data_filter'):
        archive.extractall(sys.argv[2], filter='data')
    else:
        archive.extractall(sys.argv[2])
for root, _, files in os.walk(sys.argv[2]):
    for name in files:
        os.utime(os.path.join(root, name))
";

/// The wheel built from the unpacked sdist.
pub fn sdist_wheel() -> &'static Path {
    static WHEEL: OnceLock<PathBuf> = OnceLock::new();
    WHEEL.get_or_init(|| {
        build_wheel(
            sdist_source(),
            &sdist_target_dir(),
            &work_dir().join("dist-sdist"),
        )
    })
}

/// The member names of the sdist.
pub fn sdist_members() -> Vec<String> {
    let output = run_ok(
        base_command(&tools().python)
            .args([
                "-c",
                "import sys, tarfile; print('\\n'.join(tarfile.open(sys.argv[1]).getnames()))",
            ])
            .arg(sdist()),
    );
    stdout(&output).lines().map(str::to_owned).collect()
}

/// Unpacks `wheel` into `dest`, as an installer reads it (file modes
/// aside).
pub fn unzip(wheel: &Path, dest: &Path) {
    run_ok(
        base_command(&tools().python)
            .args(["-m", "zipfile", "-e"])
            .arg(wheel)
            .arg(dest),
    );
}

/// A tool environment: a venv with the checkout's wheel installed by pip,
/// as `pip install wrapt_install-….whl` leaves it.
pub fn pip_tool() -> &'static Venv {
    static TOOL: OnceLock<Venv> = OnceLock::new();
    TOOL.get_or_init(|| pip_install(checkout_wheel()))
}

pub fn pip_install(wheel: &Path) -> Venv {
    let tool = Venv::with_pip(&pythons()[0]);
    run_ok(
        base_command(tool.root.join("bin/pip"))
            .args(["install", "-q", "--no-index", "--disable-pip-version-check"])
            .arg(wheel),
    );
    tool
}

/// The one file in `dir` whose name ends with `suffix`.
fn only_file(dir: &Path, suffix: &str) -> PathBuf {
    let found: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "not one {suffix} in {}: {found:?}",
        dir.display()
    );
    found.into_iter().next().unwrap()
}

/// The newest glibc symbol version `elf` needs (`GLIBC_2.34` is `(2, 34)`),
/// as `objdump -T` lists its dynamic symbols.
pub fn glibc_needed(elf: &Path) -> (u32, u32) {
    let output = Command::new("objdump")
        .arg("-T")
        .arg(elf)
        .output()
        .unwrap_or_else(|e| panic!("objdump (binutils) reads the glibc versions: {e}"));
    assert!(output.status.success(), "objdump -T {}", elf.display());
    stdout(&output)
        .split("GLIBC_")
        .skip(1)
        .filter_map(glibc_version)
        .max()
        .unwrap_or_else(|| panic!("{} names no glibc version", elf.display()))
}

/// `(2, 34)` from the text after `GLIBC_` (`2.34) pthread_create`,
/// `2.2.5 memcpy`); `None` for `GLIBC_PRIVATE`.
fn glibc_version(text: &str) -> Option<(u32, u32)> {
    let version: String = text
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = version.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// `(2, 34)` from a platform tag such as `manylinux_2_34`.
pub fn manylinux_glibc(tag: &str) -> (u32, u32) {
    let mut parts = tag
        .strip_prefix("manylinux_")
        .unwrap_or_else(|| panic!("{tag} is not a manylinux_X_Y tag"))
        .split('_');
    let mut number = || parts.next().unwrap().parse().unwrap();
    (number(), number())
}

#[test]
fn glibc_versions_are_read_from_objdump_lines() {
    assert_eq!(glibc_version("2.34) pthread_create"), Some((2, 34)));
    assert_eq!(glibc_version("2.2.5 memcpy"), Some((2, 2)));
    assert_eq!(glibc_version("PRIVATE) _dl_x"), None);
    assert_eq!(manylinux_glibc("manylinux_2_34"), (2, 34));
}
