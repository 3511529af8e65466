//! Shared helpers: the interpreters to test on, real virtual environments
//! with the real `wrapt-install`, patch distributions, and interpreter runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The minor versions the project supports natively and tests on.
pub const SUPPORTED_MINORS: [u32; 7] = [9, 10, 11, 12, 13, 14, 15];

/// Which implementation of the bootstrap a run exercises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Implementation {
    Native,
    Fallback,
}

impl Implementation {
    pub const BOTH: [Implementation; 2] = [Implementation::Native, Implementation::Fallback];

    pub fn name(self) -> &'static str {
        match self {
            Implementation::Native => "native",
            Implementation::Fallback => "fallback",
        }
    }
}

/// Which Python an interpreter is (`sys.implementation.name`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    CPython,
    PyPy,
}

#[derive(Clone, Debug)]
pub struct Python {
    pub kind: Kind,
    pub minor: u32,
    pub exe: PathBuf,
    /// `sys.implementation.cache_tag`, which names its bytecode files.
    pub cache_tag: String,
}

impl Python {
    /// The implementations of the bootstrap that can serve it: PyPy cannot
    /// load the abi3 module, so only the fallback.
    pub fn implementations(&self) -> &'static [Implementation] {
        match self.kind {
            Kind::CPython => &Implementation::BOTH,
            Kind::PyPy => &[Implementation::Fallback],
        }
    }

    /// The implementation that serves a run asking for `implementation`.
    pub fn served_by(&self, implementation: Implementation) -> Implementation {
        match self.kind {
            Kind::CPython => implementation,
            Kind::PyPy => Implementation::Fallback,
        }
    }
}

/// `CPython 3.12`, `PyPy 3.9`: the minor alone does not say which.
impl std::fmt::Display for Python {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.kind {
            Kind::CPython => "CPython",
            Kind::PyPy => "PyPy",
        };
        write!(f, "{name} 3.{}", self.minor)
    }
}

/// The interpreters found, once.
struct Found {
    cpythons: Vec<Python>,
    /// The CPythons, then PyPy.
    all: Vec<Python>,
}

/// Every CPython 3.9–3.15 found, oldest first.
pub fn pythons() -> &'static [Python] {
    &found().cpythons
}

/// Every CPython found, then PyPy: for the tests whose behaviour PyPy
/// shares (through the fallback).
pub fn pythons_and_pypy() -> &'static [Python] {
    &found().all
}

/// PyPy, if found (under CI it must be).
pub fn pypy() -> Option<&'static Python> {
    pythons_and_pypy()
        .iter()
        .find(|python| python.kind == Kind::PyPy)
}

/// `WRAPT_TEST_PYTHONS` (colon-separated executables) if set, else pyenv's
/// versions, the 3.14 and 3.15 that `install-newer-pythons` puts in
/// `/opt/newer-pythons/bin`, `python3.X` and `pypy3` on PATH. Under CI a
/// missing CPython version, or a missing PyPy, is a failure, not a skip.
fn found() -> &'static Found {
    static FOUND: OnceLock<Found> = OnceLock::new();
    FOUND.get_or_init(|| {
        let candidates: Vec<PathBuf> = match std::env::var_os("WRAPT_TEST_PYTHONS") {
            Some(list) => std::env::split_paths(&list).collect(),
            None => default_candidates(),
        };
        let mut cpythons: BTreeMap<u32, Python> = BTreeMap::new();
        let mut pypy = None;
        for python in candidates.iter().filter_map(|exe| probe(exe)) {
            match python.kind {
                Kind::CPython if SUPPORTED_MINORS.contains(&python.minor) => {
                    cpythons.entry(python.minor).or_insert(python);
                }
                Kind::PyPy if python.minor >= SUPPORTED_MINORS[0] => {
                    pypy.get_or_insert(python);
                }
                _ => {}
            }
        }
        let missing: Vec<String> = SUPPORTED_MINORS
            .iter()
            .filter(|minor| !cpythons.contains_key(minor))
            .map(|minor| format!("3.{minor}"))
            .collect();
        let mut messages = Vec::new();
        if !missing.is_empty() {
            messages.push(format!(
                "CPython {} not found (set WRAPT_TEST_PYTHONS)",
                missing.join(", ")
            ));
        }
        if pypy.is_none() {
            messages.push(
                "pypy3 not found (apt-get install pypy3 pypy3-venv, or set WRAPT_TEST_PYTHONS)"
                    .to_string(),
            );
        }
        for message in messages {
            assert!(std::env::var_os("CI").is_none(), "{message}");
            eprintln!("warning: {message}; testing the others");
        }
        assert!(!cpythons.is_empty(), "no CPython 3.9-3.15 found");
        let cpythons: Vec<Python> = cpythons.into_values().collect();
        let all = cpythons.iter().cloned().chain(pypy).collect();
        Found { cpythons, all }
    })
}

fn default_candidates() -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    if let Ok(entries) = fs::read_dir("/root/.pyenv/versions") {
        let mut dirs: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
        dirs.sort();
        for dir in dirs {
            for minor in SUPPORTED_MINORS {
                candidates.push(dir.join(format!("bin/python3.{minor}")));
            }
        }
    }
    let mut dirs = vec![PathBuf::from("/opt/newer-pythons/bin")];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    for dir in dirs {
        for minor in SUPPORTED_MINORS {
            candidates.push(dir.join(format!("python3.{minor}")));
        }
        candidates.push(dir.join("pypy3"));
    }
    candidates
}

/// What `exe` is, if it is a Python 3 we know.
fn probe(exe: &Path) -> Option<Python> {
    if !exe.is_file() {
        return None;
    }
    let output = Command::new(exe)
        .args([
            "-I",
            "-c",
            "import sys; print(sys.implementation.name, *sys.version_info[:2], sys.implementation.cache_tag)",
        ])
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let mut words = text.split_whitespace();
    let kind = match words.next()? {
        "cpython" => Kind::CPython,
        "pypy" => Kind::PyPy,
        _ => return None,
    };
    (words.next()? == "3").then_some(())?;
    let minor = words.next()?.parse().ok()?;
    Some(Python {
        kind,
        minor,
        exe: exe.to_owned(),
        cache_tag: words.next()?.to_owned(),
    })
}

/// The activation modes `python` can run: `start` (a PEP 829 `.start`
/// file) from 3.15 on.
pub fn modes(python: &Python) -> &'static [&'static str] {
    if python.minor >= 15 {
        &["pth", "sitecustomize", "start"]
    } else {
        &["pth", "sitecustomize"]
    }
}

pub fn wrapt_install() -> Command {
    base_command(env!("CARGO_BIN_EXE_wrapt-install"))
}

pub fn wrapt_uninstall() -> Command {
    base_command(env!("CARGO_BIN_EXE_wrapt-uninstall"))
}

/// A command with the variables that would change the tools' behaviour
/// removed, so the developer's shell cannot leak into a test.
pub fn base_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let key_text = key.to_string_lossy();
        if key_text.starts_with("WRAPT_")
            || key_text.starts_with("PYTHON")
            || key_text == "AUTOWRAPT_BOOTSTRAP"
            || key_text == "VIRTUAL_ENV"
            || key_text == "NO_COLOR"
        {
            command.env_remove(&key);
        }
    }
    command
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        stdout(output),
        stderr(output)
    )
}

/// Runs `command`, asserting it succeeds.
pub fn run_ok(command: &mut Command) -> Output {
    let output = command.output().expect("spawn");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        describe(&output)
    );
    output
}

/// Runs `command` as `Command::output` does, but kills it and fails the test
/// if it has not finished within `limit`: for what must never block, so
/// that a regression fails instead of hanging the suite.
pub fn output_within(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Drained as it runs: a child that fills a pipe must not stall.
    let stdout = drain(child.stdout.take().expect("piped"));
    let stderr = drain(child.stderr.take().expect("piped"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().expect("kill");
            child.wait().expect("wait");
            panic!("{command:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout"),
        stderr: stderr.join().expect("stderr"),
    }
}

/// Reads `pipe` to its end on another thread.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        pipe.read_to_end(&mut bytes).expect("read pipe");
        bytes
    })
}

/// Limits the address space of `command`'s process to `bytes`, as
/// `ulimit -v` does: an allocation beyond it fails (`MemoryError`).
pub fn limit_memory(command: &mut Command, bytes: u64) {
    use std::os::unix::process::CommandExt as _;
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: only setrlimit, which is async-signal-safe, runs between
    // fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_AS, &raw const limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

/// A virtual environment in its own temporary directory.
pub struct Venv {
    pub python: Python,
    _dir: TempDir,
    pub root: PathBuf,
    pub site_packages: PathBuf,
}

impl Venv {
    /// A fresh venv without pip (fast); `with_pip` for the tests that need it.
    pub fn new(python: &Python) -> Venv {
        Venv::create(python, false)
    }

    pub fn with_pip(python: &Python) -> Venv {
        Venv::create(python, true)
    }

    fn create(python: &Python, with_pip: bool) -> Venv {
        let dir = tempfile::Builder::new()
            .prefix("wrapt-test-")
            .tempdir()
            .expect("tempdir");
        let root = dir.path().join("venv");
        let mut command = base_command(&python.exe);
        command.args(["-m", "venv"]);
        if !with_pip {
            command.arg("--without-pip");
        }
        run_ok(command.arg(&root));
        // Asked, as wrapt-install asks: PyPy's is lib/pypy3.X/site-packages.
        let output = run_ok(base_command(root.join("bin/python")).args([
            "-I",
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ]));
        let site_packages = PathBuf::from(stdout(&output).trim_end());
        assert!(site_packages.is_dir(), "no {}", site_packages.display());
        Venv {
            python: python.clone(),
            _dir: dir,
            root,
            site_packages,
        }
    }

    /// A fresh venv with wrapt-install already run on it.
    pub fn installed(python: &Python) -> Venv {
        let venv = Venv::new(python);
        venv.install(&[]);
        venv
    }

    pub fn interpreter(&self) -> PathBuf {
        self.root.join("bin/python")
    }

    pub fn install(&self, args: &[&str]) -> Output {
        run_ok(wrapt_install().arg("--venv").arg(&self.root).args(args))
    }

    /// `python ARGS` in this venv with only the variables given; `Fallback`
    /// switches the native module off where it would serve.
    pub fn python(
        &self,
        implementation: Implementation,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Output {
        self.command(implementation, env, args)
            .output()
            .expect("spawn python")
    }

    /// The command [`Venv::python`] runs, for a test that runs it another
    /// way ([`output_within`]).
    pub fn command(
        &self,
        implementation: Implementation,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Command {
        let mut command = base_command(self.interpreter());
        command.current_dir(self.root.parent().expect("venv has a parent"));
        // On PyPy the fallback serves unasked, as for its users.
        if implementation == Implementation::Fallback && self.python.kind == Kind::CPython {
            command.env("WRAPT_PATCHES_PURE", "1");
        }
        command.envs(env.iter().copied()).args(args);
        command
    }

    /// Runs `python -c CODE` and asserts it exits 0.
    pub fn run_code(
        &self,
        implementation: Implementation,
        env: &[(&str, &str)],
        code: &str,
    ) -> Output {
        let output = self.python(implementation, env, &["-c", code]);
        assert!(
            output.status.success(),
            "{} ({}) failed on {code:?}: {}",
            self.python,
            implementation.name(),
            describe(&output)
        );
        output
    }

    /// Every file under site-packages (except `__pycache__`) with its bytes:
    /// the state an uninstall must restore exactly.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        snapshot(&self.site_packages)
    }
}

/// Every file under `root` (except `__pycache__`) with its bytes; nothing
/// when `root` does not exist.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    if !root.exists() {
        return files;
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read_dir").flatten() {
            let path = entry.path();
            let kind = entry.file_type().expect("file_type");
            if kind.is_dir() {
                if entry.file_name() != "__pycache__" {
                    files.insert(path.strip_prefix(root).unwrap().join(""), Vec::new());
                    stack.push(path);
                }
            } else {
                let bytes = if kind.is_symlink() {
                    fs::read_link(&path)
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes()
                } else {
                    fs::read(&path).expect("read")
                };
                files.insert(path.strip_prefix(root).unwrap().to_path_buf(), bytes);
            }
        }
    }
    files
}

/// A patch distribution as pip would leave it: `<name>-<version>.dist-info`
/// with METADATA, entry_points.txt and RECORD, plus its modules.
pub struct PatchDist<'a> {
    pub name: &'a str,
    pub group: &'a str,
    /// (target module, "patch.module:function")
    pub entries: &'a [(&'a str, &'a str)],
    /// (file name relative to the directory, source)
    pub modules: &'a [(&'a str, &'a str)],
}

impl PatchDist<'_> {
    pub fn write_into(&self, dir: &Path) {
        let dist_info = dir.join(self.dist_info());
        fs::create_dir_all(&dist_info).unwrap();
        fs::write(dist_info.join("METADATA"), self.metadata()).unwrap();
        fs::write(dist_info.join("entry_points.txt"), self.entry_points()).unwrap();
        let mut record = String::new();
        for (file, source) in self.modules {
            let path = dir.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, source).unwrap();
            writeln!(record, "{file},,").unwrap();
        }
        fs::write(dist_info.join("RECORD"), record).unwrap();
    }

    /// Builds its wheel in `dir` with `python`'s zipfile, as a build
    /// backend would (a WHEEL file and a RECORD with hashes), for tests that
    /// install it with pip; returns the wheel's path.
    pub fn build_wheel(&self, python: &Path, dir: &Path) -> PathBuf {
        let dist_info = self.dist_info();
        let mut files: Vec<(String, String)> = self
            .modules
            .iter()
            .map(|(file, source)| (file.to_string(), source.to_string()))
            .collect();
        files.push((format!("{dist_info}/METADATA"), self.metadata()));
        files.push((format!("{dist_info}/entry_points.txt"), self.entry_points()));
        files.push((
            format!("{dist_info}/WHEEL"),
            "Wheel-Version: 1.0\nGenerator: wrapt-install tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                .to_owned(),
        ));
        let wheel = dir.join(format!(
            "{}-1.0-py3-none-any.whl",
            self.name.replace('-', "_")
        ));
        run_ok(
            base_command(python)
                .args(["-I", "-c", BUILD_WHEEL])
                .arg(&wheel)
                .arg(format!("{dist_info}/RECORD"))
                .arg(serde_json::to_string(&files).unwrap()),
        );
        wheel
    }

    fn dist_info(&self) -> String {
        format!("{}-1.0.dist-info", self.name.replace('-', "_"))
    }

    fn metadata(&self) -> String {
        format!("Metadata-Version: 2.1\nName: {}\nVersion: 1.0\n", self.name)
    }

    fn entry_points(&self) -> String {
        let mut entry_points = format!("[{}]\n", self.group);
        for (target, value) in self.entries {
            writeln!(entry_points, "{target} = {value}").unwrap();
        }
        entry_points
    }
}

/// `python -c BUILD_WHEEL WHEEL RECORD FILES`: zips FILES (a JSON list of
/// [path, text]) into WHEEL, with RECORD listing each with its hash.
const BUILD_WHEEL: &str = r#"
import base64, hashlib, json, sys, zipfile
wheel_path, record_path, files = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
record = []
with zipfile.ZipFile(wheel_path, "w") as wheel:
    for name, text in files:
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        wheel.writestr(name, data)
        record.append("%s,sha256=%s,%d" % (name, digest, len(data)))
    record.append(record_path + ",,")
    wheel.writestr(record_path, "\n".join(record) + "\n")
"#;

/// A directory of patch distributions for one test, put on sys.path through
/// PYTHONPATH so that tests can share one installed venv per interpreter.
pub struct PatchDir {
    dir: TempDir,
}

impl PatchDir {
    pub fn new(dists: &[PatchDist<'_>]) -> PatchDir {
        let dir = tempfile::Builder::new()
            .prefix("wrapt-patches-")
            .tempdir()
            .unwrap();
        for dist in dists {
            dist.write_into(dir.path());
        }
        PatchDir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, file: &str, source: &str) {
        let path = self.dir.path().join(file);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, source).unwrap();
    }

    /// `WRAPT_PATCHES=groups` with this directory on `PYTHONPATH`.
    pub fn env<'a>(&'a self, groups: &'a str) -> [(&'a str, &'a str); 2] {
        [("WRAPT_PATCHES", groups), ("PYTHONPATH", self.path_str())]
    }

    pub fn path_str(&self) -> &str {
        self.dir.path().to_str().expect("utf-8 temp path")
    }
}

/// One installed venv per interpreter, shared by the tests that only run
/// code in it (they bring their patches on PYTHONPATH).
pub fn shared_venv(python: &Python) -> &'static Venv {
    static VENVS: OnceLock<Vec<OnceLock<Venv>>> = OnceLock::new();
    let all = pythons_and_pypy();
    let slots = VENVS.get_or_init(|| all.iter().map(|_| OnceLock::new()).collect());
    let index = all.iter().position(|one| one.exe == python.exe).unwrap();
    slots[index].get_or_init(|| Venv::installed(python))
}

/// What a caught panic said (its `String` or `&str` payload).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_default()
}

/// Runs `check` for every interpreter and each implementation that can
/// serve it (PyPy: the fallback), and reports every combination that
/// failed, not just the first.
pub fn each_interpreter(check: impl Fn(&Venv, Implementation)) {
    let mut failures = Vec::new();
    for python in pythons_and_pypy() {
        let venv = shared_venv(python);
        for &implementation in python.implementations() {
            let attempt = std::panic::AssertUnwindSafe(|| check(venv, implementation));
            if let Err(panic) = std::panic::catch_unwind(attempt) {
                failures.push(format!(
                    "{python} {}: {}",
                    implementation.name(),
                    panic_message(&*panic)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Asserts the implementation that actually served is the one that should
/// (asked for, or on PyPy the fallback), so a silently broken native module
/// cannot pass as the fallback.
pub fn assert_served_by(venv: &Venv, implementation: Implementation, env: &[(&str, &str)]) {
    let output = venv.run_code(
        implementation,
        env,
        "import wrapt_bootstrap as w; print(w._status()['implementation'])",
    );
    assert_eq!(
        stdout(&output).trim(),
        venv.python.served_by(implementation).name(),
        "{}",
        describe(&output)
    );
}

/// A directory of pure-Python packages from PyPI (`wheel` names with
/// versions), installed by real pip with `--target` once per test run and
/// shared: put it on `PYTHONPATH`. Pure wheels serve every interpreter.
pub fn pypi_packages(requirements: &'static [&'static str]) -> &'static Path {
    static DIRS: OnceLock<std::sync::Mutex<BTreeMap<&'static [&'static str], &'static TempDir>>> =
        OnceLock::new();
    let mut dirs = DIRS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    dirs.entry(requirements)
        .or_insert_with(|| {
            let dir = Box::leak(Box::new(
                tempfile::Builder::new()
                    .prefix("wrapt-pypi-")
                    .tempdir()
                    .unwrap(),
            ));
            // pyenv's oldest CPython brings pip; the wheels chosen are the
            // pure ones whatever it is.
            let python = &pythons()[0];
            run_ok(
                base_command(&python.exe)
                    .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
                    .args(["--no-deps", "--only-binary=:all:", "--implementation", "py"])
                    .args([
                        "--abi",
                        "none",
                        "--platform",
                        "any",
                        "--python-version",
                        "3.9",
                    ])
                    .arg("--target")
                    .arg(dir.path())
                    .args(requirements),
            );
            dir
        })
        .path()
}

/// A patch that records each firing: in `builtins.FIRED`, as `PATCHED_BY` on
/// the module, and as a `pid module` line in `$ACME_LOG` when set (for
/// child processes).
pub const RECORDING_PATCH: &str = r#"
import builtins, os
def hook(module):
    builtins.__dict__.setdefault("FIRED", []).append(("acme_patch", module.__name__))
    module.PATCHED_BY = "acme_patch"
    log = os.environ.get("ACME_LOG")
    if log:
        with open(log, "a") as stream:
            stream.write("%d %s\n" % (os.getpid(), module.__name__))
"#;

/// Group `acme.patches` with one entry: `target = acme_patch:hook`.
pub fn recording_dist(target: &'static str) -> PatchDir {
    PatchDir::new(&[PatchDist {
        name: "acme-patches",
        group: "acme.patches",
        entries: &[(target, "acme_patch:hook")],
        modules: &[("acme_patch.py", RECORDING_PATCH)],
    }])
}

/// A base (not virtual) installation of `python` at `home`, as a
/// distribution ships one, for the tests that need one they may write
/// into: the interpreter binary copied, the stdlib and shared libraries
/// linked, and an empty `site-packages` of its own where the stdlib
/// directory had one (Debian's dist-packages are not created: an install
/// must). Returns its interpreter.
pub fn base_installation(python: &Python, home: &Path) -> PathBuf {
    let real = python.exe.canonicalize().unwrap();
    let real_home = real.parent().unwrap().parent().unwrap();
    let stdlib = format!("lib/python3.{}", python.minor);
    fs::create_dir_all(home.join("bin")).unwrap();
    fs::create_dir_all(home.join(&stdlib)).unwrap();
    let exe = home.join("bin").join(real.file_name().unwrap());
    fs::copy(&real, &exe).unwrap();
    for entry in fs::read_dir(real_home.join("lib")).unwrap().flatten() {
        if entry.file_name().to_string_lossy().starts_with("libpython") {
            std::os::unix::fs::symlink(entry.path(), home.join("lib").join(entry.file_name()))
                .unwrap();
        }
    }
    if real_home.join(&stdlib).join("site-packages").is_dir() {
        fs::create_dir(home.join(&stdlib).join("site-packages")).unwrap();
    }
    for entry in fs::read_dir(real_home.join(&stdlib)).unwrap().flatten() {
        // The tests mark this copy as externally managed themselves, and
        // must not write through a link into the real installation.
        if entry.file_name() != "site-packages" && entry.file_name() != "EXTERNALLY-MANAGED" {
            std::os::unix::fs::symlink(entry.path(), home.join(&stdlib).join(entry.file_name()))
                .unwrap();
        }
    }
    exe
}

/// Plants `.pth` files in `site` whose import lines would each show that
/// they ran: one appends the `WRAPT_PATCHES` it ran with to the returned
/// marker file (a run of ours that is not meant to start the environment
/// sets `0`), one prints on stdout. For the tests that prove a command runs
/// nothing from site-packages.
pub fn plant_pth(site: &Path) -> PathBuf {
    let marker = site.parent().unwrap().join("planted-pth-ran");
    fs::write(
        site.join("zz_planted.pth"),
        format!(
            "import os; f = open({:?}, 'a'); f.write(os.environ.get('WRAPT_PATCHES', '-') + '\\n'); f.close()\n",
            marker.to_str().unwrap()
        ),
    )
    .unwrap();
    fs::write(
        site.join("zz_planted_print.pth"),
        "import sys; sys.stdout.write('planted .pth ran\\n')\n",
    )
    .unwrap();
    marker
}

/// The environment of a user's shell: no test-harness variables (cargo's
/// `LD_LIBRARY_PATH` would make the loader try a dozen directories first).
pub fn clean(command: &mut Command) {
    command.env_remove("LD_LIBRARY_PATH");
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("WRAPT_") || key.starts_with("PYTHON") || key == "VIRTUAL_ENV" {
            command.env_remove(&*key);
        }
    }
}

/// `setpriv` to run as nobody, when we are root (CI); `None` elsewhere.
pub fn as_nobody(program: &str) -> Option<Command> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    let setpriv = Command::new("setpriv").arg("--version").output().is_ok();
    if !(root && setpriv) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs as root with setpriv"
        );
        eprintln!("warning: not root or no setpriv; skipping a test that needs another user");
        return None;
    }
    let mut command = Command::new("setpriv");
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(program);
    clean(&mut command);
    Some(command)
}
