//! Root on another user's environment. Even with `-I -S`, running an
//! interpreter runs code from whoever can change it: the binary and every
//! link on the way to it, and `pyvenv.cfg`, whose `home` says where the
//! standard library (`encodings`, before any flag applies) is loaded from.
//! Whoever can change site-packages can also swap what an install or an
//! uninstall touches there. A user who can write their own environment can
//! only harm themselves; root acting there would run, or act for, code that
//! user controls. So a caller whose effective uid is 0 is refused, before
//! anything runs, an environment where a path that decides what runs is
//! owned by another user, or writable by a group or by everyone, unless
//! `--force` says to trust them. Other callers are not checked.
//!
//! Which paths: [`interpreter`] before the interpreter is first run,
//! [`site_packages`] once the probe (which runs nothing from there) has
//! said where that is, and [`startup`] before `--check` starts the
//! environment for real, which imports from every directory on its
//! `sys.path`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result, Writer};
use crate::site::SysPath;

/// Whether the effective user is root, the one caller checked.
pub fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Before running `interpreter`: the directory holding it and the one
/// above, where Python looks for `pyvenv.cfg` (the virtual environment's
/// `bin` and the environment itself), each `pyvenv.cfg` there, and every
/// link from `interpreter` to the binary it runs, each with the directory
/// it is in.
pub fn interpreter(interpreter: &Path) -> Result<()> {
    if !running_as_root() {
        return Ok(());
    }
    let interpreter = std::path::absolute(interpreter)?;
    if let Some(bin) = interpreter.parent() {
        let environment = bin.parent();
        for dir in environment.into_iter().chain([bin]) {
            refuse_other_writers(dir)?;
        }
        for dir in environment.into_iter().chain([bin]) {
            refuse_other_writers(&dir.join("pyvenv.cfg"))?;
        }
    }
    for (path, is_link) in chain(&interpreter) {
        if let Some(dir) = path.parent() {
            refuse_other_writers(dir)?;
        }
        if is_link {
            refuse_foreign_owner(&path)?;
        } else {
            refuse_other_writers(&path)?;
        }
    }
    Ok(())
}

/// The site-packages acted on, and, inside a virtual environment, every
/// directory between it and the environment; where it does not exist yet
/// (a user site-packages an install creates), the nearest directory above
/// it that does.
pub fn site_packages(purelib: &Path, environment: Option<&Path>) -> Result<()> {
    if !running_as_root() {
        return Ok(());
    }
    let existing = purelib
        .ancestors()
        .find(|dir| dir.symlink_metadata().is_ok());
    let mut paths: Vec<&Path> = existing.into_iter().collect();
    if let Some(environment) = environment.filter(|env| purelib.starts_with(env)) {
        paths.extend(
            purelib
                .ancestors()
                .skip(1)
                .take_while(|dir| *dir != environment),
        );
    }
    paths.iter().try_for_each(|path| refuse_other_writers(path))
}

/// Before `--check` starts the environment: every directory on the
/// `sys.path` it starts with (site-packages, the directories `.pth` path
/// lines add, the standard library's), which it imports from.
pub fn startup(path: &SysPath) -> Result<()> {
    if !running_as_root() {
        return Ok(());
    }
    path.entries
        .iter()
        .filter(|entry| entry.exists())
        .try_for_each(|entry| refuse_other_writers(entry))
}

/// `path` and the links after it, each with whether it is a link, ending
/// with the file they resolve to (or where the chain breaks; the run then
/// fails on its own). Forty links at most, as the kernel follows.
fn chain(path: &Path) -> Vec<(PathBuf, bool)> {
    let mut links = Vec::new();
    let mut current = path.to_owned();
    for _ in 0..40 {
        let Ok(target) = std::fs::read_link(&current) else {
            break;
        };
        let next = current.parent().unwrap_or(Path::new("/")).join(target);
        links.push((std::mem::replace(&mut current, physical(&next)), true));
    }
    links.push((current, false));
    links
}

/// `path` with its directory resolved as the kernel resolves it (links,
/// `..`), its last component kept (it may be the next link).
fn physical(path: &Path) -> PathBuf {
    match (path.parent().map(Path::canonicalize), path.file_name()) {
        (Some(Ok(dir)), Some(name)) => dir.join(name),
        _ => path.to_owned(),
    }
}

/// Refused when `path` (followed, if a link) is owned by a user other than
/// root, or writable by its group or by everyone.
fn refuse_other_writers(path: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(meta) = path.metadata() else {
        return Ok(());
    };
    let writer = if meta.uid() != 0 {
        Some(Writer::User(meta.uid()))
    } else if meta.mode() & 0o002 != 0 {
        Some(Writer::Everyone)
    } else if meta.mode() & 0o020 != 0 {
        Some(Writer::Group(meta.gid()))
    } else {
        None
    };
    writer.map_or(Ok(()), |writer| {
        Err(Error::Untrusted {
            path: path.to_owned(),
            writer,
        })
    })
}

/// A link's own mode means nothing, and only its directory's writers can
/// replace it; its owner is refused all the same, as a link another user
/// made.
fn refuse_foreign_owner(link: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    match link.symlink_metadata() {
        Ok(meta) if meta.uid() != 0 => Err(Error::Untrusted {
            path: link.to_owned(),
            writer: Writer::User(meta.uid()),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_of_links_ends_at_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().canonicalize().unwrap();
        std::fs::create_dir(dir.join("real")).unwrap();
        std::fs::write(dir.join("real/python3.12"), "").unwrap();
        std::os::unix::fs::symlink("python3.12", dir.join("real/python3")).unwrap();
        std::fs::create_dir(dir.join("bin")).unwrap();
        std::os::unix::fs::symlink("../real/python3", dir.join("bin/python")).unwrap();
        assert_eq!(
            chain(&dir.join("bin/python")),
            [
                (dir.join("bin/python"), true),
                (dir.join("real/python3"), true),
                (dir.join("real/python3.12"), false),
            ]
        );
        assert_eq!(
            chain(&dir.join("real/python3.12")),
            [(dir.join("real/python3.12"), false)]
        );
        // A loop ends, at the kernel's limit.
        std::os::unix::fs::symlink("loop", dir.join("loop")).unwrap();
        assert_eq!(chain(&dir.join("loop")).len(), 41);
    }

    #[test]
    fn group_and_world_writable_paths_are_refused_as_root() {
        use std::os::unix::fs::PermissionsExt as _;
        if !running_as_root() {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        assert!(refuse_other_writers(dir).is_ok());
        for (mode, writer) in [(0o775, Writer::Group(0)), (0o757, Writer::Everyone)] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).unwrap();
            match refuse_other_writers(dir) {
                Err(Error::Untrusted { writer: found, .. }) => assert_eq!(found, writer),
                other => panic!("{mode:o}: {other:?}"),
            }
        }
    }
}
