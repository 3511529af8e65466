//! Target resolution and probing: which environment to act on, learned by
//! asking its own interpreter once, never by guessing `lib/pythonX.Y`. The
//! result is one [`Layout`] value; nothing else goes looking for paths.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::options::{Scope, TargetSpec};
use crate::{site, trust};

/// The oldest Python the bootstrap supports (abi3-py39).
const MINIMUM: (u32, u32) = (3, 9);

/// Printed as one JSON object by the target's interpreter, run with `-I
/// -S`: nothing from the environment runs, not its `.pth` files, not its
/// `sitecustomize`, so the probe works out what `site` would have set.
///
/// Without `site`, `sys.prefix` is the base installation's before CPython
/// 3.14 (and on PyPy): the probe finds `pyvenv.cfg` where `site.venv()`
/// does, beside the interpreter as invoked or one directory up, reads the
/// two keys `site` reads, and sets the prefixes as `site.venv()` would,
/// before `sysconfig` is imported, which takes `sys.prefix` as it finds it
/// (and from 3.11 picks the `venv` scheme when it differs from
/// `sys.base_prefix`). The site directories come from
/// `site.getsitepackages(prefixes)` (Debian's lists dist-packages), never
/// from `site.main()`, `venv()` or `addsitepackages()`, which run `.pth`
/// files; without system site-packages, `site` disables the user
/// site-packages.
///
/// The `sitecustomize` modules are looked for up to purelib: in the
/// interpreter's own entries and in the site directories, in `site`'s
/// order; a later one is for ours to run. The user site-packages is left
/// out, as ours may be installed there. ([`resolve`] looks again when a
/// `.pth` path line puts a directory before purelib.)
///
/// No f-strings: CPython 3.4 to 3.8 (which accept `-I`) parse it too, and
/// are told they are too old.
const PROBE: &str = r#"
import os, sys
exe_dir = os.path.dirname(os.path.abspath(sys.executable))
venv = os.path.dirname(exe_dir)
configs = [path for path in (os.path.join(exe_dir, "pyvenv.cfg"), os.path.join(venv, "pyvenv.cfg"))
           if os.path.isfile(path)]
system_site = True
if configs:
    sys._home = None
    with open(configs[0], encoding="utf-8") as config:
        for line in config:
            key, equals, value = line.partition("=")
            key = key.strip().lower()
            if equals and key == "include-system-site-packages":
                system_site = value.strip().lower() == "true"
            elif equals and key == "home":
                sys._home = value.strip()
    sys.prefix = sys.exec_prefix = venv
import json, site, sysconfig
from importlib.machinery import PathFinder
if configs:
    venv_site_dirs = site.getsitepackages([venv])
    prefixes = [venv] + ([sys.base_prefix, sys.base_exec_prefix] if system_site else [])
else:
    venv_site_dirs = []
    prefixes = [sys.prefix, sys.exec_prefix]
site_dirs = site.getsitepackages(prefixes)
paths = sysconfig.get_paths()
sitecustomize = []
for entry in sys.path + [d for d in venv_site_dirs + site_dirs if os.path.isdir(d)]:
    try:
        spec = PathFinder.find_spec("sitecustomize", [entry])
    except Exception:
        spec = None
    if spec and spec.has_location:
        sitecustomize.append(spec.origin)
    if os.path.realpath(entry) == os.path.realpath(paths["purelib"]):
        break
sys.stdout.write(json.dumps({
    "implementation": sys.implementation.name,
    "version": list(sys.version_info[:3]),
    "abiflags": getattr(sys, "abiflags", ""),
    "gil_disabled": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "purelib": paths["purelib"],
    "prefix": sys.prefix,
    "base_prefix": sys.base_prefix,
    "executable": sys.executable,
    "path": sys.path,
    "sitecustomize": sitecustomize,
    "user_site": site.getusersitepackages(),
    "venv_site_dirs": venv_site_dirs,
    "site_dirs": site_dirs,
    # site.check_enableusersite() as a start without -I would answer it,
    # and off where site.venv() turns it off.
    "user_site_enabled": system_site and (not hasattr(os, "getuid")
        or (os.geteuid() == os.getuid() and os.getegid() == os.getgid())),
    "stdlib": paths["stdlib"],
}) + "\n")
"#;

/// For an interpreter that rejects `-I` (Python 2, and 3 before 3.4), run
/// with `-E -s -S` instead: which one it is, from builtins alone, so that
/// it can be told it is too old.
const VERSION_SCRIPT: &str = "import sys; sys.stdout.write('%s %d %d %d' % (('pypy' if '__pypy__' in sys.builtin_module_names else 'cpython',) + tuple(sys.version_info[:3])))";

/// What the interpreter said about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interpreter {
    pub implementation: String,
    pub version: [u32; 3],
    pub abiflags: String,
    pub gil_disabled: bool,
    pub purelib: PathBuf,
    pub prefix: PathBuf,
    pub base_prefix: PathBuf,
    pub executable: PathBuf,
    /// `sys.path` as the interpreter starts, before `site`.
    #[serde(default)]
    pub path: Vec<PathBuf>,
    /// The `sitecustomize` modules found on `sys.path` up to `purelib`, in
    /// its order.
    #[serde(default)]
    pub sitecustomize: Vec<PathBuf>,
    #[serde(default)]
    pub user_site: PathBuf,
    /// The virtual environment's own site directories, which `site` adds
    /// first (before the user site-packages); none outside one.
    #[serde(default)]
    pub venv_site_dirs: Vec<PathBuf>,
    /// `site.getsitepackages()`: the directories `site` adds, when they
    /// exist, and reads `.pth` files from.
    #[serde(default)]
    pub site_dirs: Vec<PathBuf>,
    #[serde(default)]
    pub user_site_enabled: bool,
    #[serde(default)]
    pub stdlib: PathBuf,
}

impl Interpreter {
    /// `Python 3.12.1`, `PyPy 3.10.14` (the language version).
    pub fn description(&self) -> String {
        description(&self.implementation, self.version)
    }

    /// Why a `sitecustomize` package in `target` (this interpreter's
    /// site-packages, or its user site-packages, which site puts just before
    /// them) would not run, or could not run the sitecustomize it hides;
    /// `None` when it would work. Only the first `sitecustomize` on
    /// `sys.path` is ever imported: one earlier than site-packages (Debian
    /// ships one in its stdlib directory) wins over ours. One later is run
    /// by ours, and so is a `sitecustomize.py` beside it, but no other form
    /// of the module there.
    pub fn sitecustomize_conflict(&self, target: &Path) -> Option<String> {
        let canonical = |path: &Path| path.canonicalize().unwrap_or_else(|_| path.to_owned());
        let site_packages = canonical(&self.purelib);
        let target = canonical(target);
        // The sys.path entry a module was found in: a package's is its
        // directory's parent.
        let entry = |found: &Path| {
            let dir = found.parent().unwrap_or(found);
            let is_package = found
                .file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("__init__."));
            canonical(if is_package {
                dir.parent().unwrap_or(dir)
            } else {
                dir
            })
        };
        // The probe lists them up to site-packages: any elsewhere is earlier.
        if let Some(earlier) = self
            .sitecustomize
            .iter()
            .find(|found| entry(found) != site_packages)
        {
            return Some(format!(
                "{} comes before {} on sys.path, so Python imports it instead of ours",
                earlier.display(),
                target.display()
            ));
        }
        let mut beside: Vec<PathBuf> = std::fs::read_dir(&target)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| {
                        name.starts_with("sitecustomize.") && name != "sitecustomize.py"
                    })
            })
            .collect();
        beside.sort();
        beside.first().map(|other| {
            format!(
                "{} is not a sitecustomize.py, which is all a sitecustomize package can run in its place",
                other.display()
            )
        })
    }

    /// PEP 668's `EXTERNALLY-MANAGED` marker, when the installation has
    /// one: its package manager owns its site-packages.
    pub fn externally_managed(&self) -> Option<PathBuf> {
        let marker = self.stdlib.join("EXTERNALLY-MANAGED");
        marker.is_file().then_some(marker)
    }

    /// `sys.prefix != sys.base_prefix` (PEP 405). An old-style virtualenv
    /// (before 20.0), whose own `site.py` set `sys.real_prefix`, creates no
    /// environment for the Pythons supported here.
    pub fn is_virtual_env(&self) -> bool {
        self.prefix != self.base_prefix
    }
}

/// `Python 3.12.1`, `PyPy 3.10.14`.
fn description(implementation: &str, [major, minor, micro]: [u32; 3]) -> String {
    let name = match implementation {
        "cpython" => "Python",
        "pypy" => "PyPy",
        "graalpy" => "GraalPy",
        other => other,
    };
    format!("{name} {major}.{minor}.{micro}")
}

/// The environment to act on.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The interpreter as we run it (`DIR/bin/python`, or `--python`).
    pub interpreter: PathBuf,
    pub info: Interpreter,
    /// Where everything is written. Missing only for an install into user
    /// or system site-packages, which creates it.
    pub purelib: PathBuf,
}

/// Which interpreter to probe, before any probing.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Choice {
    /// `--venv`, or `./.venv`.
    Venv(PathBuf),
    /// `$VIRTUAL_ENV`: named in errors, since the user did not type it.
    VirtualEnv(PathBuf),
    Python(PathBuf),
}

/// `--venv` > `--python` > `$VIRTUAL_ENV` > `./.venv`. With `--create`,
/// `--python` names the base interpreter, so it does not pick the target.
fn choose(spec: &TargetSpec, virtual_env: Option<OsString>, cwd: &Path) -> Result<Choice> {
    if spec.scope != Scope::Venv {
        return Ok(Choice::Python(
            spec.python
                .clone()
                .unwrap_or_else(|| PathBuf::from("python3")),
        ));
    }
    if let Some(venv) = &spec.venv {
        return Ok(Choice::Venv(venv.clone()));
    }
    if let (Some(python), false) = (&spec.python, spec.create) {
        return Ok(Choice::Python(python.clone()));
    }
    if let Some(venv) = virtual_env.filter(|v| !v.is_empty()) {
        return Ok(Choice::VirtualEnv(PathBuf::from(venv)));
    }
    let dot_venv = cwd.join(".venv");
    if spec.create || dot_venv.symlink_metadata().is_ok() {
        return Ok(Choice::Venv(dot_venv));
    }
    Err(Error::NoTarget)
}

/// Resolves and probes the target. As root, refuses an environment
/// another user can change (unless `spec.trust_writers`): its interpreter
/// before running it, its site-packages before anything else.
pub fn resolve(spec: &TargetSpec) -> Result<Layout> {
    let cwd = std::env::current_dir()?;
    let choice = choose(spec, std::env::var_os("VIRTUAL_ENV"), &cwd)?;
    let refuse_writers = !spec.trust_writers;
    let interpreter = match choice {
        Choice::Venv(dir) | Choice::VirtualEnv(dir) if spec.create => {
            let dir = std::path::absolute(&dir)?;
            if dir.symlink_metadata().is_err() {
                create_venv(&dir, spec.python.as_deref(), refuse_writers)?;
            }
            venv_interpreter(&dir)?
        }
        Choice::Venv(dir) => venv_interpreter(&std::path::absolute(&dir)?)?,
        Choice::VirtualEnv(dir) => {
            venv_interpreter(&std::path::absolute(&dir)?).map_err(|e| match e {
                Error::Missing { path, .. } => Error::Missing {
                    path,
                    hint: "$VIRTUAL_ENV names it; activate an existing environment, pass --venv DIR, or add --create",
                },
                other => other,
            })?
        }
        Choice::Python(exe) => interpreter_path(&exe)?,
    };
    if refuse_writers {
        trust::interpreter(&interpreter)?;
    }
    let mut info = probe(&interpreter)?;
    check_supported(&interpreter, &info, spec.scope)?;
    info.sitecustomize = sitecustomize_before_purelib(&interpreter, &info)?;
    let purelib = match spec.scope {
        Scope::User => info.user_site.clone(),
        Scope::Venv | Scope::System => info.purelib.clone(),
    };
    match purelib.metadata() {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(Error::NotADirectory { path: purelib }),
        // Debian's site reads /usr/local/lib/python3.X/dist-packages, which
        // only exists once something is installed there.
        Err(_) if spec.scope == Scope::System && !info.site_dirs.contains(&purelib) => {
            return Err(Error::Missing {
                path: purelib,
                hint: "it is the interpreter's site-packages, but site would not read it; is the installation complete?",
            })
        }
        // The install creates it, as pip does.
        Err(_) if spec.create && spec.scope != Scope::Venv => {}
        Err(_) if spec.scope == Scope::User => {
            return Err(Error::Missing {
                path: purelib,
                hint: "it is the interpreter's user site-packages, where nothing is installed yet",
            })
        }
        Err(_) if spec.scope == Scope::System => {
            return Err(Error::Missing {
                path: purelib,
                hint: "it is the interpreter's site-packages, where nothing is installed yet",
            })
        }
        Err(_) => {
            return Err(Error::Missing {
                path: purelib,
                hint:
                    "the interpreter reports it as its site-packages; is the environment complete?",
            })
        }
    }
    if refuse_writers {
        let environment = (spec.scope == Scope::Venv).then_some(info.prefix.as_path());
        trust::site_packages(&purelib, environment)?;
    }
    Ok(Layout {
        interpreter,
        info,
        purelib,
    })
}

/// The `sitecustomize` modules up to purelib: as the probe found them,
/// unless a `.pth` path line puts a directory before purelib, which the
/// probe did not search (a site directory comes before purelib where the
/// platlibdir is `lib64`): then the first on the whole of `sys.path` up to
/// purelib, which is all [`Interpreter::sitecustomize_conflict`] needs.
fn sitecustomize_before_purelib(interpreter: &Path, info: &Interpreter) -> Result<Vec<PathBuf>> {
    let canonical = |path: &Path| path.canonicalize().unwrap_or_else(|_| path.to_owned());
    let purelib = canonical(&info.purelib);
    let path = site::sys_path(info, false);
    let mut before = Vec::new();
    for entry in &path.entries {
        before.push(entry.clone());
        if canonical(entry) == purelib {
            break;
        }
    }
    if !before.iter().any(|entry| path.from_pth.contains(entry)) {
        return Ok(info.sitecustomize.clone());
    }
    sitecustomize_in(interpreter, &before)
        .map(|found| found.into_iter().collect())
        .map_err(|reason| Error::Probe {
            path: interpreter.to_owned(),
            reason,
        })
}

/// `DIR/bin/python`, else `DIR/bin/python3`; each failure named precisely.
fn venv_interpreter(dir: &Path) -> Result<PathBuf> {
    match dir.metadata() {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(Error::NotADirectory {
                path: dir.to_owned(),
            })
        }
        Err(_) if dir.symlink_metadata().is_ok() => {
            return Err(Error::Missing {
                path: dir.to_owned(),
                hint: "it is a dangling symlink",
            })
        }
        Err(_) => {
            return Err(Error::Missing {
                path: dir.to_owned(),
                hint: "pass an existing virtual environment with --venv DIR, or add --create",
            })
        }
    }
    let mut dangling = None;
    for name in ["python", "python3"] {
        let candidate = dir.join("bin").join(name);
        match candidate.metadata() {
            Ok(meta) if meta.is_file() => return Ok(candidate),
            Err(_) if candidate.symlink_metadata().is_ok() => {
                dangling.get_or_insert(candidate);
            }
            _ => {}
        }
    }
    Err(match dangling {
        Some(path) => Error::DanglingInterpreter { path },
        None => Error::NoInterpreter {
            venv: dir.to_owned(),
        },
    })
}

/// `--python EXE`: a path, or a bare name looked up on `PATH`.
fn interpreter_path(exe: &Path) -> Result<PathBuf> {
    // Like a shell: a name without a slash is looked up on PATH.
    let bytes = exe.as_os_str().as_encoded_bytes();
    if !bytes.is_empty() && !bytes.contains(&b'/') {
        return find_on_path(exe).ok_or_else(|| Error::NotOnPath {
            name: exe.display().to_string(),
        });
    }
    let exe = std::path::absolute(exe)?;
    match exe.metadata() {
        Ok(meta) if meta.is_file() => Ok(exe),
        Ok(_) => Err(Error::Probe {
            path: exe,
            reason: "it is a directory; --python expects the interpreter, --venv the environment".into(),
        }),
        Err(_) if exe.symlink_metadata().is_ok() => Err(Error::DanglingInterpreter { path: exe }),
        Err(_) => Err(Error::Missing {
            path: exe,
            hint: "pass the environment's interpreter with --python EXE, or its directory with --venv DIR",
        }),
    }
}

fn find_on_path(name: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// `PY -m venv DIR`, PY being `--python` or `python3` on `PATH` (as root,
/// one no other user can change, unless `refuse_writers` is off).
fn create_venv(dir: &Path, base: Option<&Path>, refuse_writers: bool) -> Result<()> {
    let base = interpreter_path(base.unwrap_or(Path::new("python3")))?;
    if refuse_writers {
        trust::interpreter(&base)?;
    }
    let mut cmd = Command::new(&base);
    cmd.arg("-m").arg("venv").arg(dir);
    clean_python_env(&mut cmd);
    let output = output(&mut cmd).map_err(|source| Error::Spawn {
        path: base.clone(),
        source,
    })?;
    if !output.status.success() {
        return Err(Error::CreateVenv {
            venv: dir.to_owned(),
            python: base,
            status: output.status.to_string(),
            stderr: last_line(&output.stderr),
        });
    }
    Ok(())
}

/// `cmd`'s exit status and output, like `Command::output`, except that an
/// error reading the child's pipes (EIO) is returned rather than a panic:
/// std's `output()` unwraps it.
pub(crate) fn output(cmd: &mut Command) -> std::io::Result<Output> {
    use std::io::Read as _;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    crate::output::show_command(cmd);
    let mut child = cmd.spawn()?;
    let (mut out, mut err) = (
        child.stdout.take().expect("piped"),
        child.stderr.take().expect("piped"),
    );
    let (stdout, stderr) = std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut bytes = Vec::new();
            err.read_to_end(&mut bytes).map(|_| bytes)
        });
        let mut bytes = Vec::new();
        let stdout = out.read_to_end(&mut bytes).map(|_| bytes);
        // A failed read would leave the child blocked on a full pipe.
        if stdout.is_err() {
            let _ = child.kill();
        }
        drop(out);
        let stderr = reader
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("reading stderr failed")));
        (stdout, stderr)
    });
    let status = child.wait()?;
    Ok(Output {
        status,
        stdout: stdout?,
        stderr: stderr?,
    })
}

/// Removes the variables that would let the caller's environment change
/// what an interpreter we run does (`PYTHONPATH`, `PYTHONHOME`,
/// `PYTHONSTARTUP`, ...) and keeps our own bootstrap from activating.
/// `PYTHONUSERBASE` stays: it says where the caller's user site-packages
/// is, as it does for pip.
pub(crate) fn clean_python_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if key
            .to_str()
            .is_some_and(|k| k.starts_with("PYTHON") && k != "PYTHONUSERBASE")
        {
            cmd.env_remove(&key);
        }
    }
    cmd.env_remove("AUTOWRAPT_BOOTSTRAP");
    cmd.env("WRAPT_PATCHES", "0");
}

/// Runs `EXE FLAGS -c SCRIPT` from `/`, with the caller's Python variables
/// cleared, and returns the output of a run that succeeded; `what` names
/// the run in the error of one that did not.
fn run_script(
    interpreter: &Path,
    flags: &[&str],
    script: &str,
    what: &str,
) -> Result<std::process::Output> {
    let mut cmd = Command::new(interpreter);
    cmd.args(flags).args(["-c", script]).current_dir("/");
    clean_python_env(&mut cmd);
    let output = output(&mut cmd).map_err(|source| Error::Spawn {
        path: interpreter.to_owned(),
        source,
    })?;
    if !output.status.success() {
        return Err(Error::Probe {
            path: interpreter.to_owned(),
            reason: format!(
                "{what} failed ({}): {}",
                output.status,
                last_line(&output.stderr)
            ),
        });
    }
    Ok(output)
}

/// Prints the origin of the `sitecustomize` that the import system finds
/// in the directories given as arguments, as bytes, or nothing.
const FIND_SITECUSTOMIZE: &str = r#"
import os, sys
from importlib.machinery import PathFinder
spec = PathFinder.find_spec("sitecustomize", sys.argv[1:])
if spec is not None and spec.has_location:
    sys.stdout.buffer.write(os.fsencode(spec.origin))
"#;

/// The `PYTHONPATH` entries as they land on `sys.path`, in order: Python
/// makes an empty or relative entry absolute against the working directory
/// it starts in.
pub fn pythonpath_entries(pythonpath: &std::ffi::OsStr, cwd: &Path) -> Vec<PathBuf> {
    std::env::split_paths(pythonpath)
        .map(|entry| {
            if entry.as_os_str().is_empty() {
                cwd.to_owned()
            } else {
                cwd.join(entry)
            }
        })
        .collect()
}

/// The `sitecustomize` that `interpreter` would import from `entries`
/// (`PYTHONPATH`'s, which come before every other `sys.path` entry but the
/// script's directory), if any; the problem, described, if it cannot say.
/// Run with `-I -S`: the import system's own finder, on those entries
/// alone.
pub fn sitecustomize_in(
    interpreter: &Path,
    entries: &[PathBuf],
) -> Result<Option<PathBuf>, String> {
    use std::os::unix::ffi::OsStrExt as _;
    let mut cmd = Command::new(interpreter);
    cmd.args(["-I", "-S", "-c", FIND_SITECUSTOMIZE])
        .args(entries)
        .current_dir("/");
    clean_python_env(&mut cmd);
    let output =
        output(&mut cmd).map_err(|e| format!("could not run {}: {e}", interpreter.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} could not look for a sitecustomize ({}): {}",
            interpreter.display(),
            output.status,
            last_line(&output.stderr)
        ));
    }
    Ok((!output.stdout.is_empty())
        .then(|| PathBuf::from(std::ffi::OsStr::from_bytes(&output.stdout))))
}

/// Runs the probe (see [`PROBE`]).
fn probe(interpreter: &Path) -> Result<Interpreter> {
    let output = match run_script(interpreter, &["-I", "-S"], PROBE, "it") {
        Ok(output) => output,
        Err(err @ Error::Probe { .. }) => return Err(too_old(interpreter).unwrap_or(err)),
        Err(err) => return Err(err),
    };
    let failure = |reason: String| Error::Probe {
        path: interpreter.to_owned(),
        reason,
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| {
            failure(format!(
                "it printed no JSON object; is it a Python interpreter? {}",
                last_line(&output.stderr)
            ))
        })?;
    serde_json::from_str(json).map_err(|e| failure(format!("unexpected answer {json:?}: {e}")))
}

/// The "too old" error for an interpreter that failed the probe, if that
/// is why (see [`VERSION_SCRIPT`]).
fn too_old(interpreter: &Path) -> Option<Error> {
    let output = run_script(interpreter, &["-E", "-s", "-S"], VERSION_SCRIPT, "it").ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let mut words = text.split(' ');
    let implementation = words.next()?;
    let mut number = || words.next()?.parse::<u32>().ok();
    let version = [number()?, number()?, number()?];
    ((version[0], version[1]) < MINIMUM).then(|| Error::TooOld {
        description: description(implementation, version),
        path: interpreter.to_owned(),
    })
}

fn check_supported(interpreter: &Path, info: &Interpreter, scope: Scope) -> Result<()> {
    let [major, minor, _] = info.version;
    if (major, minor) < MINIMUM {
        return Err(Error::TooOld {
            description: info.description(),
            path: interpreter.to_owned(),
        });
    }
    let venv_not_allowed = |reason| Error::VenvNotAllowed {
        description: info.description(),
        path: interpreter.to_owned(),
        reason,
    };
    match scope {
        Scope::Venv if !info.is_virtual_env() => Err(Error::NotAVenv {
            description: info.description(),
            path: interpreter.to_owned(),
        }),
        Scope::User if info.is_virtual_env() => Err(venv_not_allowed(
            "a virtual environment ignores user site-packages; pass the base interpreter with --python",
        )),
        Scope::User if !info.user_site_enabled => Err(Error::UserSiteDisabled {
            path: interpreter.to_owned(),
        }),
        Scope::System if info.is_virtual_env() => Err(venv_not_allowed(
            "drop --system to install into the environment",
        )),
        Scope::Venv | Scope::User | Scope::System => Ok(()),
    }
}

/// The last non-empty line of a child's stderr, for one-line errors.
pub(crate) fn last_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("(no output)")
        .to_owned()
}

#[cfg(test)]
impl Interpreter {
    /// A CPython in a virtual environment at `/v`, for tests to vary.
    pub fn example(version: [u32; 3]) -> Interpreter {
        let [major, minor, _] = version;
        Interpreter {
            implementation: "cpython".into(),
            version,
            abiflags: String::new(),
            gil_disabled: false,
            purelib: format!("/v/lib/python{major}.{minor}/site-packages").into(),
            prefix: "/v".into(),
            base_prefix: "/usr".into(),
            executable: "/v/bin/python".into(),
            path: Vec::new(),
            sitecustomize: Vec::new(),
            user_site: PathBuf::new(),
            venv_site_dirs: Vec::new(),
            site_dirs: Vec::new(),
            user_site_enabled: false,
            stdlib: PathBuf::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(venv: Option<&str>, python: Option<&str>, create: bool) -> TargetSpec {
        TargetSpec {
            venv: venv.map(PathBuf::from),
            python: python.map(PathBuf::from),
            scope: Scope::Venv,
            create,
            trust_writers: false,
        }
    }

    #[test]
    fn resolution_order() {
        let tmp = tempfile::tempdir().unwrap();
        let cwd = tmp.path();
        let ve = || Some(OsString::from("/ve"));
        assert_eq!(
            choose(&spec(Some("/a"), Some("/p"), false), ve(), cwd).unwrap(),
            Choice::Venv("/a".into())
        );
        assert_eq!(
            choose(&spec(None, Some("/p"), false), ve(), cwd).unwrap(),
            Choice::Python("/p".into())
        );
        assert_eq!(
            choose(&spec(None, None, false), ve(), cwd).unwrap(),
            Choice::VirtualEnv("/ve".into())
        );
        assert!(matches!(
            choose(&spec(None, None, false), None, cwd),
            Err(Error::NoTarget)
        ));
        // --create: --python is the base interpreter; ./.venv is the default.
        assert_eq!(
            choose(&spec(None, Some("/p"), true), None, cwd).unwrap(),
            Choice::Venv(cwd.join(".venv"))
        );
        std::fs::create_dir(cwd.join(".venv")).unwrap();
        assert_eq!(
            choose(&spec(None, None, false), None, cwd).unwrap(),
            Choice::Venv(cwd.join(".venv"))
        );
        assert_eq!(
            choose(&spec(None, None, false), Some(OsString::new()), cwd).unwrap(),
            Choice::Venv(cwd.join(".venv"))
        );
        // --user and --system act on an interpreter, never on $VIRTUAL_ENV
        // or ./.venv; --user defaults to python3 on PATH.
        let scoped = |python: Option<&str>, scope| TargetSpec {
            scope,
            ..spec(None, python, false)
        };
        assert_eq!(
            choose(&scoped(None, Scope::User), ve(), cwd).unwrap(),
            Choice::Python("python3".into())
        );
        assert_eq!(
            choose(&scoped(Some("/usr/bin/python3"), Scope::System), ve(), cwd).unwrap(),
            Choice::Python("/usr/bin/python3".into())
        );
    }

    #[test]
    fn no_target_hint() {
        let msg = Error::NoTarget.to_string();
        assert!(
            msg.contains("use --venv DIR, or --create to make ./.venv"),
            "{msg}"
        );
    }

    #[test]
    fn venv_interpreter_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope");
        assert!(matches!(
            venv_interpreter(&missing),
            Err(Error::Missing { .. })
        ));
        let file = tmp.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert!(matches!(
            venv_interpreter(&file),
            Err(Error::NotADirectory { .. })
        ));
        let venv = tmp.path().join("venv");
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        assert!(matches!(
            venv_interpreter(&venv),
            Err(Error::NoInterpreter { .. })
        ));
        std::os::unix::fs::symlink("/nonexistent/python3.99", venv.join("bin/python")).unwrap();
        assert!(matches!(
            venv_interpreter(&venv),
            Err(Error::DanglingInterpreter { .. })
        ));
        std::fs::write(venv.join("bin/python3"), "").unwrap();
        assert_eq!(venv_interpreter(&venv).unwrap(), venv.join("bin/python3"));
    }

    #[test]
    fn pythonpath_entries_are_made_absolute_as_python_does() {
        assert_eq!(
            pythonpath_entries(std::ffi::OsStr::new("/a::b/c:"), Path::new("/cwd")),
            [
                PathBuf::from("/a"),
                "/cwd".into(),
                "/cwd/b/c".into(),
                "/cwd".into()
            ]
        );
    }

    #[test]
    fn sitecustomize_conflicts() {
        let purelib = Path::new("/v/lib/python3.12/site-packages");
        let with = |found: &[&str]| Interpreter {
            purelib: purelib.into(),
            sitecustomize: found.iter().map(PathBuf::from).collect(),
            ..Interpreter::example([3, 12, 1])
        };
        let conflict = |found: &[&str]| with(found).sitecustomize_conflict(purelib);
        assert_eq!(conflict(&[]), None);
        assert_eq!(
            conflict(&["/v/lib/python3.12/site-packages/sitecustomize.py"]),
            None
        );
        assert_eq!(
            conflict(&["/v/lib/python3.12/site-packages/sitecustomize/__init__.py"]),
            None
        );
        assert_eq!(
            conflict(&["/usr/lib/python3.12/sitecustomize.py", "/v/lib/python3.12/site-packages/sitecustomize.py"]).unwrap(),
            "/usr/lib/python3.12/sitecustomize.py comes before /v/lib/python3.12/site-packages on sys.path, so Python imports it instead of ours"
        );
        // A user site-packages comes before site-packages: what the probe
        // found there is for ours to run, what is in the target itself is
        // looked at on disk.
        let user_site = tempfile::tempdir().unwrap();
        let info = with(&["/v/lib/python3.12/site-packages/sitecustomize.py"]);
        assert_eq!(info.sitecustomize_conflict(user_site.path()), None);
        std::fs::write(user_site.path().join("sitecustomize.py"), "").unwrap();
        assert_eq!(info.sitecustomize_conflict(user_site.path()), None);
        let compiled = user_site
            .path()
            .join("sitecustomize.cpython-312-x86_64-linux-gnu.so");
        std::fs::write(&compiled, "").unwrap();
        assert_eq!(
            info.sitecustomize_conflict(user_site.path()).unwrap(),
            format!(
                "{} is not a sitecustomize.py, which is all a sitecustomize package can run in its place",
                compiled.canonicalize().unwrap().display()
            )
        );
    }

    #[test]
    fn support_checks() {
        let info = Interpreter {
            purelib: "/x/lib/python3.8/site-packages".into(),
            prefix: "/x".into(),
            executable: "/x/bin/python".into(),
            user_site: "/home/u/.local/lib/python3.8/site-packages".into(),
            user_site_enabled: true,
            ..Interpreter::example([3, 8, 18])
        };
        let err = check_supported(Path::new("/x/bin/python"), &info, Scope::Venv).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Python 3.8.18 at /x/bin/python is too old: wrapt-install needs CPython 3.9 or newer"
        );
        let system = Interpreter {
            version: [3, 12, 1],
            prefix: "/usr".into(),
            ..info.clone()
        };
        let err = check_supported(Path::new("/usr/bin/python3"), &system, Scope::Venv).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("Python 3.12.1 at /usr/bin/python3 is not a virtual environment;"));
        let pypy = Interpreter {
            implementation: "pypy".into(),
            version: [3, 10, 14],
            ..info
        };
        assert!(check_supported(Path::new("/p/bin/python"), &pypy, Scope::Venv).is_ok());
        let base = system.clone();
        assert!(check_supported(Path::new("/usr/bin/python3"), &base, Scope::User).is_ok());
        assert!(check_supported(Path::new("/usr/bin/python3"), &base, Scope::System).is_ok());
        let venv = Interpreter {
            prefix: "/v".into(),
            ..base.clone()
        };
        for scope in [Scope::User, Scope::System] {
            let err = check_supported(Path::new("/v/bin/python"), &venv, scope).unwrap_err();
            assert!(
                err.to_string()
                    .contains("is a virtual environment's interpreter"),
                "{err}"
            );
        }
        let setuid = Interpreter {
            user_site_enabled: false,
            ..base
        };
        assert!(matches!(
            check_supported(Path::new("/usr/bin/python3"), &setuid, Scope::User),
            Err(Error::UserSiteDisabled { .. })
        ));
        assert_eq!(pypy.description(), "PyPy 3.10.14");
    }
}
