//! The probe: what an interpreter says about itself ([`Interpreter`]),
//! asked once with `-I -S` so that nothing from its environment runs, and
//! the `sitecustomize` it would import from given directories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::python;

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
/// out, as ours may be installed there. ([`resolve`](crate::target::resolve) looks again when a
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

/// Runs `cmd -c script` and returns the output of a run that succeeded.
fn run_script(mut cmd: Command, interpreter: &Path, script: &str) -> Result<Output> {
    cmd.args(["-c", script]);
    let output = python::started(&mut cmd)?;
    if !output.status.success() {
        return Err(Error::Probe {
            path: interpreter.to_owned(),
            reason: format!(
                "it failed ({}): {}",
                output.status,
                python::one_line(&output.stderr)
            ),
        });
    }
    Ok(output)
}

/// Runs the probe (see [`PROBE`]).
pub(crate) fn probe(interpreter: &Path) -> Result<Interpreter> {
    let output = match run_script(python::isolated(interpreter), interpreter, PROBE) {
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
                python::one_line(&output.stderr)
            ))
        })?;
    serde_json::from_str(json).map_err(|e| failure(format!("unexpected answer {json:?}: {e}")))
}

/// The "too old" error for an interpreter that failed the probe, if that
/// is why (see [`VERSION_SCRIPT`]).
fn too_old(interpreter: &Path) -> Option<Error> {
    let mut cmd = python::cleaned(interpreter);
    cmd.args(["-E", "-s", "-S"]).current_dir("/");
    let output = run_script(cmd, interpreter, VERSION_SCRIPT).ok()?;
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

/// Prints the origin of the `sitecustomize` that the import system finds
/// in the directories given as arguments, as bytes, or nothing.
const FIND_SITECUSTOMIZE: &str = r#"
import os, sys
from importlib.machinery import PathFinder
spec = PathFinder.find_spec("sitecustomize", sys.argv[1:])
if spec is not None and spec.has_location:
    sys.stdout.buffer.write(os.fsencode(spec.origin))
"#;

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
    let mut cmd = python::isolated(interpreter);
    cmd.args(["-c", FIND_SITECUSTOMIZE]).args(entries);
    let output = python::output(&mut cmd)
        .map_err(|e| format!("could not run {}: {e}", interpreter.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} could not look for a sitecustomize ({}): {}",
            interpreter.display(),
            output.status,
            python::one_line(&output.stderr)
        ));
    }
    Ok((!output.stdout.is_empty())
        .then(|| PathBuf::from(std::ffi::OsStr::from_bytes(&output.stdout))))
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
}
