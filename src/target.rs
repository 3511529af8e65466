//! Target resolution: which environment to act on, learned by asking its
//! own interpreter once ([`probe`]), never by guessing
//! `lib/pythonX.Y`. The result is one [`Layout`] value; nothing else goes
//! looking for paths.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::options::{Scope, TargetSpec};
use crate::probe::{self, sitecustomize_in, Interpreter};
use crate::site::{self, canonical};
use crate::trust;

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
    let mut info = probe::probe(&interpreter)?;
    probe::check_version(&interpreter, &info)?;
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
/// purelib, which is all [`plan::sitecustomize_conflict`](crate::plan::sitecustomize_conflict) needs.
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
    fn support_checks() {
        let info = Interpreter {
            purelib: "/x/lib/python3.8/site-packages".into(),
            prefix: "/x".into(),
            executable: "/x/bin/python".into(),
            user_site: "/home/u/.local/lib/python3.8/site-packages".into(),
            user_site_enabled: true,
            ..Interpreter::example([3, 8, 18])
        };
        let err = probe::check_version(Path::new("/x/bin/python"), &info).unwrap_err();
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
            probe::check_version(Path::new(exe), info)?;
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
