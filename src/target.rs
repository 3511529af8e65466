//! Target resolution and probing: which environment to act on, learned by
//! asking its own interpreter once, never by guessing `lib/pythonX.Y`. The
//! result is one [`Layout`] value; nothing else goes looking for paths.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde::Deserialize;

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
/// Paths are printed as their bytes, one character U+0000–U+00FF each
/// (`fs`; see [`fs_bytes`]): a JSON string is Unicode, a path need not be,
/// and Python holds an undecodable byte as a lone surrogate, which no JSON
/// parser accepts back.
///
/// No f-strings: CPython 3.4 to 3.8 (which accept `-I`) parse it too, and
/// are told they are too old.
const PROBE: &str = r#"
import os, sys
def fs(path):
    return os.fsencode(path).decode("latin-1")
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
        sitecustomize.append(fs(spec.origin))
    if os.path.realpath(entry) == os.path.realpath(paths["purelib"]):
        break
sys.stdout.write(json.dumps({
    "implementation": sys.implementation.name,
    "version": list(sys.version_info[:3]),
    "abiflags": getattr(sys, "abiflags", ""),
    "gil_disabled": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "purelib": fs(paths["purelib"]),
    "prefix": fs(sys.prefix),
    "base_prefix": fs(sys.base_prefix),
    "executable": fs(sys.executable),
    "path": [fs(entry) for entry in sys.path],
    "sitecustomize": sitecustomize,
    "user_site": fs(site.getusersitepackages()),
    "venv_site_dirs": [fs(d) for d in venv_site_dirs],
    "site_dirs": [fs(d) for d in site_dirs],
    # site.check_enableusersite() as a start without -I would answer it,
    # and off where site.venv() turns it off.
    "user_site_enabled": system_site and (not hasattr(os, "getuid")
        or (os.geteuid() == os.getuid() and os.getegid() == os.getgid())),
    "stdlib": fs(paths["stdlib"]),
}) + "\n")
"#;

/// For an interpreter that rejects `-I` (Python 2, and 3 before 3.4), run
/// with `-E -s -S` instead: which one it is, from builtins alone, so that
/// it can be told it is too old.
const VERSION_SCRIPT: &str = "import sys; sys.stdout.write('%s %d %d %d' % (('pypy' if '__pypy__' in sys.builtin_module_names else 'cpython',) + tuple(sys.version_info[:3])))";

/// What the interpreter said about itself.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Interpreter {
    pub implementation: String,
    pub version: [u32; 3],
    pub abiflags: String,
    pub gil_disabled: bool,
    #[serde(deserialize_with = "fs_bytes::path")]
    pub purelib: PathBuf,
    #[serde(deserialize_with = "fs_bytes::path")]
    pub prefix: PathBuf,
    #[serde(deserialize_with = "fs_bytes::path")]
    pub base_prefix: PathBuf,
    #[serde(deserialize_with = "fs_bytes::path")]
    pub executable: PathBuf,
    /// `sys.path` as the interpreter starts, before `site`.
    #[serde(deserialize_with = "fs_bytes::paths")]
    pub path: Vec<PathBuf>,
    /// The `sitecustomize` modules found on `sys.path` up to `purelib`, in
    /// its order.
    #[serde(deserialize_with = "fs_bytes::paths")]
    pub sitecustomize: Vec<PathBuf>,
    #[serde(deserialize_with = "fs_bytes::path")]
    pub user_site: PathBuf,
    /// The virtual environment's own site directories, which `site` adds
    /// first (before the user site-packages); none outside one.
    #[serde(deserialize_with = "fs_bytes::paths")]
    pub venv_site_dirs: Vec<PathBuf>,
    /// `site.getsitepackages()`: the directories `site` adds, when they
    /// exist, and reads `.pth` files from.
    #[serde(deserialize_with = "fs_bytes::paths")]
    pub site_dirs: Vec<PathBuf>,
    pub user_site_enabled: bool,
    #[serde(deserialize_with = "fs_bytes::path")]
    pub stdlib: PathBuf,
}

/// The probe's paths back from one character per byte (see [`PROBE`]).
mod fs_bytes {
    use std::os::unix::ffi::OsStringExt as _;
    use std::path::PathBuf;

    use serde::{de::Error as _, Deserialize as _, Deserializer};

    /// `text`'s characters as bytes, if each is one (U+0000–U+00FF).
    pub fn decode(text: &str) -> Option<PathBuf> {
        let bytes: Option<Vec<u8>> = text.chars().map(|c| u8::try_from(c).ok()).collect();
        bytes.map(|bytes| PathBuf::from(std::ffi::OsString::from_vec(bytes)))
    }

    pub fn path<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PathBuf, D::Error> {
        let text = String::deserialize(deserializer)?;
        decode(&text)
            .ok_or_else(|| D::Error::custom(format!("{text:?} is not one byte per character")))
    }

    pub fn paths<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<PathBuf>, D::Error> {
        Vec::<String>::deserialize(deserializer)?
            .iter()
            .map(|text| {
                decode(text).ok_or_else(|| {
                    D::Error::custom(format!("{text:?} is not one byte per character"))
                })
            })
            .collect()
    }
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
        let site_packages = canonical(&self.purelib);
        let target = canonical(target);
        // The probe lists them up to site-packages: any elsewhere is earlier.
        if let Some(earlier) = self
            .sitecustomize
            .iter()
            .find(|found| sys_path_entry(found) != site_packages)
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

    /// Why a `sitecustomize` package could not work in a virtual
    /// environment made from this base interpreter, as far as can be told
    /// before it exists: the `sitecustomize` on the interpreter's own
    /// `sys.path` (Debian's, in its stdlib directory), which every virtual
    /// environment made from it shares, and which comes before any
    /// site-packages.
    pub fn new_venv_sitecustomize_conflict(&self) -> Option<String> {
        let own: Vec<PathBuf> = self.path.iter().map(|entry| canonical(entry)).collect();
        let found = self
            .sitecustomize
            .iter()
            .find(|found| own.contains(&sys_path_entry(found)))?;
        Some(format!(
            "{} comes before the environment's site-packages on sys.path, so Python imports it instead of ours",
            found.display()
        ))
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

/// `path` with every link resolved, or as it is where that fails.
fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_owned())
}

/// The `sys.path` entry a module was found in: a package's is its
/// directory's parent.
fn sys_path_entry(found: &Path) -> PathBuf {
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
    // Anything there but nothing is the target, to be named in the error
    // if it is not a virtual environment, or cannot be reached.
    if spec.create || !matches!(entry(&dot_venv), Ok(Entry::Absent)) {
        return Ok(Choice::Venv(dot_venv));
    }
    Err(Error::NoTarget {
        hint: if offers_create(spec) {
            "use --venv DIR, or --create to make ./.venv"
        } else {
            "use --venv DIR or --python EXE"
        },
    })
}

/// Whether a hint may suggest `--create`: the command takes it, and it
/// was not given.
fn offers_create(spec: &TargetSpec) -> bool {
    spec.offer_create && !spec.create
}

/// The directory of the virtual environment `--create` makes, if the
/// target is one.
pub(crate) fn venv_to_create(spec: &TargetSpec) -> Result<Option<PathBuf>> {
    if !spec.create || spec.scope != Scope::Venv {
        return Ok(None);
    }
    let cwd = std::env::current_dir()?;
    match choose(spec, std::env::var_os("VIRTUAL_ENV"), &cwd)? {
        Choice::Venv(dir) | Choice::VirtualEnv(dir) => Ok(Some(std::path::absolute(dir)?)),
        Choice::Python(_) => Ok(None),
    }
}

/// Resolves and probes the target. As root, refuses an environment
/// another user can change (unless `spec.trust_writers`): its interpreter
/// before running it, its site-packages before anything else.
pub fn resolve(spec: &TargetSpec) -> Result<Layout> {
    let cwd = std::env::current_dir()?;
    let choice = choose(spec, std::env::var_os("VIRTUAL_ENV"), &cwd)?;
    let interpreter = match &choice {
        Choice::Venv(dir) => {
            let dir = std::path::absolute(dir)?;
            let found = venv_interpreter(&dir, spec)?;
            match (&spec.python, spec.create) {
                (Some(python), false) => agreeing_python(&dir, python)?,
                _ => found,
            }
        }
        Choice::VirtualEnv(dir) => {
            venv_interpreter(&std::path::absolute(dir)?, spec).map_err(|e| match e {
                Error::Missing { path, .. } => Error::Missing {
                    path,
                    hint: if offers_create(spec) {
                        "$VIRTUAL_ENV names it; activate an existing environment, pass --venv DIR, or add --create to make it"
                    } else {
                        "$VIRTUAL_ENV names it; activate an existing environment, or pass --venv DIR"
                    },
                },
                other => other,
            })?
        }
        Choice::Python(exe) => interpreter_path(exe, spec.scope == Scope::Venv)?,
    };
    if !spec.trust_writers {
        trust::interpreter(&interpreter)?;
    }
    let mut info = probe(&interpreter)?;
    check_version(&interpreter, &info)?;
    check_scope(&interpreter, &info, spec.scope, || {
        not_a_venv_hint(&choice, &interpreter, offers_create(spec))
    })?;
    info.sitecustomize = sitecustomize_before_purelib(&interpreter, &info)?;
    let purelib = match spec.scope {
        Scope::User => info.user_site.clone(),
        Scope::Venv | Scope::System => info.purelib.clone(),
    };
    match entry(&purelib)? {
        Entry::Present(meta) if meta.is_dir() => {}
        Entry::Present(_) => {
            return Err(Error::NotADirectory {
                path: purelib,
                hint: "the interpreter reports it as its site-packages; move it away",
            })
        }
        // Debian's site reads /usr/local/lib/python3.X/dist-packages, which
        // only exists once something is installed there.
        _ if spec.scope == Scope::System && !info.site_dirs.contains(&purelib) => {
            return Err(Error::Missing {
                path: purelib,
                hint: "it is the interpreter's site-packages, but site would not read it; is the installation complete?",
            })
        }
        // The install creates it, as pip does.
        Entry::Absent if spec.make_site_dir => {}
        _ if spec.scope == Scope::User => {
            return Err(Error::Missing {
                path: purelib,
                hint: "it is the interpreter's user site-packages, where nothing is installed yet",
            })
        }
        _ if spec.scope == Scope::System => {
            return Err(Error::Missing {
                path: purelib,
                hint: "it is the interpreter's site-packages, where nothing is installed yet",
            })
        }
        _ => {
            return Err(Error::Missing {
                path: purelib,
                hint:
                    "the interpreter reports it as its site-packages; is the environment complete?",
            })
        }
    }
    if !spec.trust_writers {
        let environment = (spec.scope == Scope::Venv).then_some(info.prefix.as_path());
        trust::site_packages(&purelib, environment)?;
    }
    Ok(Layout {
        interpreter,
        info,
        purelib,
    })
}

/// What to do about a target whose interpreter is not a virtual
/// environment's: what a user who typed it most likely wants instead.
fn not_a_venv_hint(choice: &Choice, interpreter: &Path, offer_create: bool) -> String {
    let dir = match choice {
        Choice::Venv(dir) | Choice::VirtualEnv(dir) => dir,
        Choice::Python(_) if offer_create => {
            return format!(
                "make one from it with --create --python {} (and --venv DIR, else ./.venv), or act on its own site-packages deliberately with --user or --python EXE --system",
                interpreter.display()
            )
        }
        Choice::Python(_) => {
            return "pass a virtual environment's interpreter, or act on its own site-packages deliberately with --user or --python EXE --system".to_owned()
        }
    };
    let instead = if offer_create {
        "make a virtual environment with --create --venv NEWDIR (or python -m venv NEWDIR)"
    } else {
        "pass a virtual environment's directory"
    };
    format!(
        "{} has no pyvenv.cfg, so it is that installation itself: {instead}, or act on its site-packages deliberately with --python {} --user or --system",
        dir.display(),
        interpreter.display()
    )
}

/// `--venv DIR` with `--python EXE` (and no `--create`): the same
/// environment, `EXE` being in `DIR/bin`, or an error naming both. `EXE`
/// is then the interpreter run.
fn agreeing_python(dir: &Path, python: &Path) -> Result<PathBuf> {
    let exe = interpreter_path(python, true)?;
    let bin = |path: &Path| path.canonicalize().ok();
    if exe
        .parent()
        .and_then(bin)
        .is_some_and(|exe_bin| Some(exe_bin) == bin(&dir.join("bin")))
    {
        Ok(exe)
    } else {
        Err(Error::TargetsDisagree {
            venv: dir.to_owned(),
            python: exe,
        })
    }
}

/// The `sitecustomize` modules up to purelib: as the probe found them,
/// unless a `.pth` path line puts a directory before purelib, which the
/// probe did not search (a site directory comes before purelib where the
/// platlibdir is `lib64`): then the first on the whole of `sys.path` up to
/// purelib, which is all [`Interpreter::sitecustomize_conflict`] needs.
fn sitecustomize_before_purelib(interpreter: &Path, info: &Interpreter) -> Result<Vec<PathBuf>> {
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

/// What is at a path, as far as this user can tell.
pub(crate) enum Entry {
    Present(std::fs::Metadata),
    /// A symbolic link to nothing, with what it names.
    Dangling(PathBuf),
    Absent,
}

/// Looks at `path`, following links. Nothing there, or a component that
/// is not a directory, is [`Entry::Absent`]; a link that leads nowhere,
/// [`Entry::Dangling`]; a path this user may not look at is a
/// [`Error::PermissionDenied`], never mistaken for either.
pub(crate) fn entry(path: &Path) -> Result<Entry> {
    let absent = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
        )
    };
    match path.metadata() {
        Ok(meta) => Ok(Entry::Present(meta)),
        Err(e) if absent(&e) => match std::fs::read_link(path) {
            Ok(target) => Ok(Entry::Dangling(target)),
            // EINVAL: there, but not a link (a component on the way went
            // missing meanwhile).
            Err(e) if absent(&e) || e.kind() == std::io::ErrorKind::InvalidInput => {
                Ok(Entry::Absent)
            }
            Err(e) => Err(inaccessible(path, e)),
        },
        Err(e) => Err(inaccessible(path, e)),
    }
}

/// The error for a path that could not be looked at: a permission error
/// says which directory this user cannot enter, and through which link.
pub(crate) fn inaccessible(path: &Path, source: std::io::Error) -> Error {
    if source.kind() != std::io::ErrorKind::PermissionDenied {
        return Error::File {
            action: "inspect",
            path: path.to_owned(),
            source,
        };
    }
    let detail = match unenterable(path) {
        (_, None) => String::new(),
        (None, Some(dir)) => format!(" (this user cannot enter {})", dir.display()),
        (Some((link, target)), Some(dir)) if link == path => format!(
            " (it links to {}, and this user cannot enter {})",
            target.display(),
            dir.display()
        ),
        (Some((link, target)), Some(dir)) => format!(
            " ({} links to {}, and this user cannot enter {})",
            link.display(),
            target.display(),
            dir.display()
        ),
    };
    Error::PermissionDenied {
        path: path.to_owned(),
        detail,
    }
}

/// The directory on the way to `path` (absolute) that this user cannot
/// enter, found by walking it a component at a time, links followed as
/// the kernel follows them; with the last link followed before it.
fn unenterable(path: &Path) -> (Option<(PathBuf, PathBuf)>, Option<PathBuf>) {
    use std::path::Component;
    enum Step {
        Root,
        Parent,
        Name(OsString),
    }
    // Still to walk, last first.
    fn push(todo: &mut Vec<Step>, path: &Path) {
        todo.extend(
            path.components()
                .rev()
                .filter_map(|component| match component {
                    Component::RootDir => Some(Step::Root),
                    Component::ParentDir => Some(Step::Parent),
                    Component::Normal(name) => Some(Step::Name(name.to_owned())),
                    Component::CurDir | Component::Prefix(_) => None,
                }),
        );
    }
    let mut todo = Vec::new();
    push(&mut todo, path);
    // Walked so far, with no link in it: a `..` there is its parent.
    let mut at = PathBuf::from("/");
    let mut link = None;
    let mut links_left = 40; // Linux's limit on links in one lookup.
    while let Some(step) = todo.pop() {
        let next = match step {
            Step::Root => {
                at = PathBuf::from("/");
                continue;
            }
            Step::Parent => {
                at.pop();
                continue;
            }
            Step::Name(name) => at.join(name),
        };
        match next.symlink_metadata() {
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return (link, Some(at)),
            Ok(meta) if meta.is_symlink() && links_left > 0 => {
                links_left -= 1;
                let Ok(target) = std::fs::read_link(&next) else {
                    break;
                };
                push(&mut todo, &target);
                link = Some((next, target));
            }
            Ok(meta) if !meta.is_symlink() => at = next,
            Ok(_) | Err(_) => break,
        }
    }
    (link, None)
}

/// `DIR/bin/python`, else `DIR/bin/python3`; each failure named precisely.
fn venv_interpreter(dir: &Path, spec: &TargetSpec) -> Result<PathBuf> {
    match entry(dir)? {
        Entry::Present(meta) if meta.is_dir() => {}
        Entry::Present(_) => {
            return Err(Error::NotADirectory {
                path: dir.to_owned(),
                hint: "--venv expects the virtual environment's directory",
            })
        }
        Entry::Dangling(_) => {
            return Err(Error::Missing {
                path: dir.to_owned(),
                hint: "it is a dangling symlink",
            })
        }
        Entry::Absent => {
            return Err(Error::Missing {
                path: dir.to_owned(),
                hint: if offers_create(spec) {
                    "pass an existing virtual environment with --venv DIR, or add --create to make it"
                } else {
                    "pass an existing virtual environment with --venv DIR"
                },
            })
        }
    }
    let mut dangling = None;
    for name in ["python", "python3"] {
        let candidate = dir.join("bin").join(name);
        match entry(&candidate)? {
            Entry::Present(meta) if meta.is_file() => return Ok(candidate),
            Entry::Dangling(target) => {
                dangling.get_or_insert((candidate, target));
            }
            Entry::Present(_) | Entry::Absent => {}
        }
    }
    if let Some((path, target)) = dangling {
        return Err(Error::DanglingInterpreter { path, target });
    }
    let empty = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none());
    Err(Error::NoInterpreter {
        venv: dir.to_owned(),
        hint: match (offers_create(spec), empty) {
            (true, true) => "add --create to make one there",
            (true, false) => {
                "pass a virtual environment's directory, or a new or empty one with --create"
            }
            (false, _) => "pass a virtual environment's directory",
        },
    })
}

/// `--python EXE`: a path, or a bare name looked up on `PATH`, as a shell
/// would, except that a directory of that name here is a path (and the
/// mistake is then named). `as_target`: it names the target, so a
/// directory may be a virtual environment meant for `--venv`.
pub(crate) fn interpreter_path(exe: &Path, as_target: bool) -> Result<PathBuf> {
    let bytes = exe.as_os_str().as_encoded_bytes();
    if !bytes.is_empty() && !bytes.contains(&b'/') && !exe.is_dir() {
        return find_on_path(exe).ok_or_else(|| Error::NotOnPath {
            name: exe.display().to_string(),
        });
    }
    let path = std::path::absolute(exe)?;
    match entry(&path)? {
        Entry::Present(meta) if meta.is_dir() => Err(Error::InterpreterIsADirectory {
            hint: directory_hint(exe, &path, as_target),
            path,
        }),
        Entry::Present(_) => Ok(path),
        Entry::Dangling(target) => Err(Error::DanglingInterpreter { path, target }),
        Entry::Absent => Err(Error::Missing {
            path,
            hint: "pass the environment's interpreter with --python EXE, or its directory with --venv DIR",
        }),
    }
}

/// What to pass instead of the directory `dir` (`typed` as given).
fn directory_hint(typed: &Path, dir: &Path, as_target: bool) -> String {
    if as_target && dir.join("pyvenv.cfg").is_file() {
        return format!("did you mean --venv {}?", typed.display());
    }
    ["python", "python3"]
        .iter()
        .map(|name| dir.join("bin").join(name))
        .find(|candidate| candidate.is_file())
        .map_or_else(
            || "pass the interpreter's executable".to_owned(),
            |exe| format!("pass its interpreter, e.g. --python {}", exe.display()),
        )
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
                one_line(&output.stderr)
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
            one_line(&output.stderr)
        ));
    }
    Ok((!output.stdout.is_empty())
        .then(|| PathBuf::from(std::ffi::OsStr::from_bytes(&output.stdout))))
}

/// Runs the probe (see [`PROBE`]).
pub(crate) fn probe(interpreter: &Path) -> Result<Interpreter> {
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
                one_line(&output.stderr)
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

/// CPython (or PyPy) 3.9 or newer.
pub(crate) fn check_version(interpreter: &Path, info: &Interpreter) -> Result<()> {
    let [major, minor, _] = info.version;
    if (major, minor) < MINIMUM {
        return Err(Error::TooOld {
            description: info.description(),
            path: interpreter.to_owned(),
        });
    }
    Ok(())
}

/// A virtual environment's interpreter for a virtual environment, a base
/// interpreter for `--user` or `--system`; `not_a_venv_hint` says what to
/// do about a base interpreter where a virtual environment's was expected.
fn check_scope(
    interpreter: &Path,
    info: &Interpreter,
    scope: Scope,
    not_a_venv_hint: impl FnOnce() -> String,
) -> Result<()> {
    let venv_not_allowed = |reason| Error::VenvNotAllowed {
        description: info.description(),
        path: interpreter.to_owned(),
        reason,
    };
    match scope {
        Scope::Venv if !info.is_virtual_env() => Err(Error::NotAVenv {
            description: info.description(),
            path: interpreter.to_owned(),
            hint: not_a_venv_hint(),
        }),
        Scope::User if info.is_virtual_env() => Err(venv_not_allowed(
            "a virtual environment ignores user site-packages; pass the base interpreter with --python",
        )),
        Scope::User if !info.user_site_enabled => Err(Error::UserSiteDisabled {
            path: interpreter.to_owned(),
        }),
        Scope::System if info.is_virtual_env() => Err(venv_not_allowed(
            "drop --system to act on the environment",
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

/// The most a one-line error quotes of a child's output.
const QUOTED: usize = 800;

/// All of a child's output (its stderr, or what `python -m venv` says) as
/// one line, for one-line errors. A line continues the one before it,
/// after a space, when it starts with white space (a wrapped sentence, a
/// list item, a traceback's frame) or a lower-case letter, or when the one
/// before it ended a sentence; otherwise "; " separates them. Beyond
/// [`QUOTED`] characters, its start and its end, which say what failed and
/// why (pyenv's "command not found", a traceback's exception), with "…"
/// between them.
pub(crate) fn one_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut summary = String::new();
    for line in text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
    {
        let continues = line.starts_with(|c: char| c.is_whitespace() || c.is_lowercase())
            || summary.ends_with(['.', '!', '?', ':']);
        if !summary.is_empty() {
            summary.push_str(if continues { " " } else { "; " });
        }
        summary.push_str(line.trim_start());
    }
    let length = summary.chars().count();
    if length == 0 {
        return "(no output)".to_owned();
    }
    if length <= QUOTED {
        return summary;
    }
    let head: String = summary.chars().take(QUOTED / 4).collect();
    let tail: String = summary
        .chars()
        .skip(length - (QUOTED - QUOTED / 4))
        .collect();
    format!("{} … {}", head.trim_end(), tail.trim_start())
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
            make_site_dir: false,
            offer_create: true,
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
            Err(Error::NoTarget { .. })
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

    /// Hints suggest --create only to a command that takes it, and only
    /// when it was not given.
    #[test]
    fn hints_offer_create_only_where_it_is_taken() {
        let tmp = tempfile::tempdir().unwrap();
        let message = |spec: &TargetSpec| choose(spec, None, tmp.path()).unwrap_err().to_string();
        let install = spec(None, None, false);
        assert!(
            message(&install).ends_with("use --venv DIR, or --create to make ./.venv"),
            "{}",
            message(&install)
        );
        let uninstall = TargetSpec {
            offer_create: false,
            ..install.clone()
        };
        assert!(message(&uninstall).ends_with("use --venv DIR or --python EXE"));
        let missing = tmp.path().join("nope");
        for (spec, offered) in [(&install, true), (&uninstall, false)] {
            let err = venv_interpreter(&missing, spec).unwrap_err().to_string();
            assert_eq!(err.contains("--create"), offered, "{err}");
        }
    }

    #[test]
    fn venv_interpreter_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let spec = spec(None, None, false);
        let missing = tmp.path().join("nope");
        assert!(matches!(
            venv_interpreter(&missing, &spec),
            Err(Error::Missing { .. })
        ));
        let file = tmp.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert!(matches!(
            venv_interpreter(&file, &spec),
            Err(Error::NotADirectory { .. })
        ));
        assert!(matches!(
            venv_interpreter(&file.join("below"), &spec),
            Err(Error::Missing { .. })
        ));
        let venv = tmp.path().join("venv");
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        assert!(matches!(
            venv_interpreter(&venv, &spec),
            Err(Error::NoInterpreter { .. })
        ));
        std::os::unix::fs::symlink("/nonexistent/python3.99", venv.join("bin/python")).unwrap();
        assert_eq!(
            venv_interpreter(&venv, &spec).unwrap_err().to_string(),
            format!(
                "{}/bin/python is a dangling symlink to /nonexistent/python3.99 (its interpreter was moved or removed); recreate the environment",
                venv.display()
            )
        );
        std::fs::write(venv.join("bin/python3"), "").unwrap();
        assert_eq!(
            venv_interpreter(&venv, &spec).unwrap(),
            venv.join("bin/python3")
        );
    }

    #[test]
    fn a_directory_given_as_python_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let venv = tmp.path().join("venv");
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        std::fs::write(venv.join("bin/python3"), "").unwrap();
        let message = |as_target| interpreter_path(&venv, as_target).unwrap_err().to_string();
        assert!(
            message(true).ends_with(&format!(
                "pass its interpreter, e.g. --python {}/bin/python3",
                venv.display()
            )),
            "{}",
            message(true)
        );
        std::fs::write(venv.join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
        assert!(
            message(true).ends_with(&format!("did you mean --venv {}?", venv.display())),
            "{}",
            message(true)
        );
        // As --create's base interpreter, it is not the target.
        assert!(
            message(false).contains("e.g. --python"),
            "{}",
            message(false)
        );
    }

    #[test]
    fn probe_paths_are_bytes() {
        assert_eq!(
            fs_bytes::decode("/v\u{ff}/\u{e9}")
                .unwrap()
                .as_os_str()
                .as_encoded_bytes(),
            b"/v\xff/\xe9"
        );
        assert_eq!(fs_bytes::decode("/caf\u{e9}\u{2615}"), None);
    }

    #[test]
    fn output_is_quoted_whole_on_one_line() {
        let pyenv = b"pyenv: python3.7: command not found\n\nThe `python3.7' command exists in these Python versions:\n  3.7.16\n\nNote: See 'pyenv help global' for tips on allowing multiple\n      Python versions to be found at the same time.\n";
        assert_eq!(
            one_line(pyenv),
            "pyenv: python3.7: command not found; The `python3.7' command exists in these Python versions: 3.7.16; Note: See 'pyenv help global' for tips on allowing multiple Python versions to be found at the same time."
        );
        let debian = b"The virtual environment was not created successfully because ensurepip is not\navailable.  On Debian/Ubuntu systems, you need to install the python3-venv\npackage using the following command.\n\n    apt install python3.14-venv\n\nYou may need to use sudo with that command.\n\nFailing command: /v/bin/python3.14\n";
        assert_eq!(
            one_line(debian),
            "The virtual environment was not created successfully because ensurepip is not available.  On Debian/Ubuntu systems, you need to install the python3-venv package using the following command. apt install python3.14-venv; You may need to use sudo with that command. Failing command: /v/bin/python3.14"
        );
        assert_eq!(one_line(b"\n  \n"), "(no output)");
        let long = format!(
            "Traceback (most recent call last):\n{}ValueError: the end\n",
            "  File \"x.py\", line 1, in f\n    f()\n".repeat(100)
        );
        let summary = one_line(long.as_bytes());
        assert!(
            summary.starts_with("Traceback (most recent call last): File \"x.py\""),
            "{summary}"
        );
        assert!(summary.ends_with("f(); ValueError: the end"), "{summary}");
        assert!(summary.contains(" … "), "{summary}");
        assert!(summary.chars().count() <= QUOTED + 3, "{summary}");
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
        let err = check_version(Path::new("/x/bin/python"), &info).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Python 3.8.18 at /x/bin/python is too old: wrapt-install needs CPython 3.9 or newer"
        );
        let system = Interpreter {
            version: [3, 12, 1],
            prefix: "/usr".into(),
            ..info.clone()
        };
        let check_supported = |exe: &str, info: &Interpreter, scope| {
            check_version(Path::new(exe), info)?;
            check_scope(Path::new(exe), info, scope, || "the hint".to_owned())
        };
        let err = check_supported("/usr/bin/python3", &system, Scope::Venv).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Python 3.12.1 at /usr/bin/python3 is not a virtual environment; the hint"
        );
        let pypy = Interpreter {
            implementation: "pypy".into(),
            version: [3, 10, 14],
            ..info
        };
        assert!(check_supported("/p/bin/python", &pypy, Scope::Venv).is_ok());
        let base = system.clone();
        assert!(check_supported("/usr/bin/python3", &base, Scope::User).is_ok());
        assert!(check_supported("/usr/bin/python3", &base, Scope::System).is_ok());
        let venv = Interpreter {
            prefix: "/v".into(),
            ..base.clone()
        };
        for scope in [Scope::User, Scope::System] {
            let err = check_supported("/v/bin/python", &venv, scope).unwrap_err();
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
            check_supported("/usr/bin/python3", &setuid, Scope::User),
            Err(Error::UserSiteDisabled { .. })
        ));
        assert_eq!(pypy.description(), "PyPy 3.10.14");
    }
}
