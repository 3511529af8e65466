//! Carrying out the decided changes, in the order that keeps every
//! intermediate state one the next run completes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::plan::{self, is_activation, Plan, Stage};

use super::decide::{deactivates_first, Action, Change, Problem};
use super::read::{full_path, our_dirs};
use super::{TEMP_PREFIX, TEMP_SUFFIX};

/// Carries out `changes` (from [`plan_install`] or [`plan_uninstall`], with
/// [`refusal`] already consulted): the removals marked `before_writes`,
/// then writes in the order given, then the other removals, then emptied
/// directories. `done` is told about each change made. Returns the number
/// of directories removed.
///
/// With [`deactivates_first`], the activation files present are removed
/// (and the removal made durable) before anything else, and rewritten last.
pub fn apply(
    purelib: &Path,
    plan: Option<&Plan>,
    changes: &[Change],
    mut done: impl FnMut(&Change),
) -> Result<usize> {
    let mut our_dirs: BTreeSet<PathBuf> = BTreeSet::from([purelib.to_path_buf()]);
    for change in changes {
        if let Some(parent) = Path::new(&change.path).parent() {
            if !parent.as_os_str().is_empty() {
                our_dirs.insert(purelib.join(parent));
            }
        }
    }
    for dir in &our_dirs {
        remove_stale_temps(dir)?;
    }

    if plan.is_some() && deactivates_first(changes) {
        // plan_install marked them Replace (or Remove, an older version's).
        for change in changes.iter().filter(|c| is_activation(&c.path)) {
            if change.problem != Some(Problem::Directory) {
                remove_file(&full_path(purelib, &change.path)?)?;
            }
        }
        sync_dir(purelib)?;
    }

    let mut removed = Vec::new();
    let early: Vec<&Change> = changes
        .iter()
        .filter(|c| c.action == Action::Remove && c.before_writes)
        .collect();
    remove_in_order(purelib, &early, &mut removed, &mut done)?;

    for change in changes {
        if !matches!(change.action, Action::Create | Action::Replace) {
            continue;
        }
        let file = plan
            .and_then(|p| p.get(&change.path))
            .expect("only a plan's own files are written");
        debug_assert!(file.stage <= Stage::Activation);
        let full = full_path(purelib, &file.path)?;
        let parent = full.parent().expect("a path under purelib has a parent");
        create_dirs(purelib, parent)?;
        write_atomic(&full, &file.bytes, file.mode)?;
        done(change);
    }

    let late: Vec<&Change> = changes
        .iter()
        .filter(|c| c.action == Action::Remove && !c.before_writes)
        .collect();
    remove_in_order(purelib, &late, &mut removed, &mut done)?;
    // A listed file already gone (a run interrupted after removing it)
    // leaves its directory and bytecode to clean up all the same.
    removed.extend(
        changes
            .iter()
            .filter(|c| c.action == Action::Missing)
            .map(|c| c.path.as_str()),
    );
    remove_emptied_dirs(purelib, &removed)
}

/// Makes `removals` in their order (activation files first), each
/// activation removal durable before the package goes; adds each path to
/// `removed`.
fn remove_in_order<'a>(
    purelib: &Path,
    removals: &[&'a Change],
    removed: &mut Vec<&'a str>,
    done: &mut impl FnMut(&Change),
) -> Result<()> {
    let mut activation_removed = false;
    for change in removals {
        if change.problem == Some(Problem::Directory) {
            // Listed as a file, now a directory: not ours to delete, even
            // with --force.
            continue;
        }
        if !is_activation(&change.path) && activation_removed {
            // The activation is gone for good before the package goes.
            sync_dir(purelib)?;
            activation_removed = false;
        }
        remove_file(&full_path(purelib, &change.path)?)?;
        activation_removed |= is_activation(&change.path);
        removed.push(change.path.as_str());
        done(change);
    }
    if activation_removed {
        sync_dir(purelib)?;
    }
    Ok(())
}

/// Removes a file (or symlink, never what it points to); `false` when it
/// was already gone.
fn remove_file(full: &Path) -> Result<bool> {
    match std::fs::remove_file(full) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(Error::File {
            action: "remove",
            path: full.to_owned(),
            source,
        }),
    }
}

/// `mkdir -p` below purelib. Each directory created gets mode 0755
/// explicitly: never group or world writable, and readable by every user of
/// the environment whatever the umask.
fn create_dirs(purelib: &Path, dir: &Path) -> Result<()> {
    if dir == purelib || dir.symlink_metadata().is_ok() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs(purelib, parent)?;
    }
    let failed = |source| Error::File {
        action: "create directory",
        path: dir.to_owned(),
        source,
    };
    match std::fs::DirBuilder::new().mode(0o755).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(source) => return Err(failed(source)),
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).map_err(failed)
}

/// Temp file in the same directory, write, mode, fsync, rename, fsync the
/// directory: readers see the old file or the new one, never a torn one.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().expect("a path under purelib has a parent");
    let failed = |action, source| Error::File {
        action,
        path: path.to_owned(),
        source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(|e| failed("create a temporary file for", e))?;
    tmp.write_all(bytes).map_err(|e| failed("write", e))?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| failed("set the mode of", e))?;
    tmp.as_file()
        .set_modified(plan::installed_mtime())
        .map_err(|e| failed("set the modification time of", e))?;
    tmp.as_file().sync_all().map_err(|e| failed("sync", e))?;
    tmp.persist(path)
        .map_err(|e| failed("rename into place", e.error))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| Error::File {
            action: "sync directory",
            path: dir.to_owned(),
            source,
        })
}

/// What an interrupted run may leave that no RECORD lists: temporary files
/// (in purelib and in our directories), and our directories left empty (a
/// run killed between `mkdir` and its first file, or after emptying them),
/// with their empty `__pycache__`; an empty `sitecustomize` directory would
/// import as a namespace package and hide a later sitecustomize. Removes
/// them; returns how many directories went. Only under the exclusive lock.
pub fn tidy(purelib: &Path) -> Result<usize> {
    remove_stale_temps(purelib)?;
    let mut count = 0;
    let sitecustomize = purelib.join(
        Path::new(plan::SITECUSTOMIZE)
            .parent()
            .expect("a package's __init__.py has a parent"),
    );
    let is_real_dir = |d: &Path| d.symlink_metadata().is_ok_and(|m| m.is_dir());
    let mut dirs = our_dirs(purelib)?;
    dirs.push(sitecustomize);
    for dir in dirs {
        // An empty __pycache__ first: Python's, or left by a run that
        // removed its bytecode and was stopped before the directories.
        for dir in [dir.join("__pycache__"), dir] {
            if is_real_dir(&dir) && remove_temps_then_dir_if_empty(&dir)? {
                count += 1;
            }
        }
    }
    Ok(count)
}

/// Removes `dir` once our stale temporaries in it are gone, if nothing else
/// is left there; `Ok(false)` when it is not empty or already gone.
fn remove_temps_then_dir_if_empty(dir: &Path) -> Result<bool> {
    remove_stale_temps(dir)?;
    match std::fs::remove_dir(dir) {
        Ok(()) => Ok(true),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::DirectoryNotEmpty
            ) =>
        {
            Ok(false)
        }
        Err(source) => Err(Error::File {
            action: "remove directory",
            path: dir.to_path_buf(),
            source,
        }),
    }
}

/// Removes `.wrapt-install-*.tmp` files a crashed run left in `dir`.
fn remove_stale_temps(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with(TEMP_PREFIX)
            && name.ends_with(TEMP_SUFFIX)
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            fs_err::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// After removals: the bytecode of removed modules (`__pycache__/<stem>.*.pyc`,
/// which Python wrote, not us), then every directory that is now empty,
/// deepest first. Returns how many directories went.
fn remove_emptied_dirs(purelib: &Path, removed: &[&str]) -> Result<usize> {
    // Directory (relative) -> stems of the modules removed from it.
    let mut modules: BTreeMap<&Path, BTreeSet<&str>> = BTreeMap::new();
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for path in removed {
        let path = Path::new(path);
        let mut ancestor = path.parent();
        while let Some(dir) = ancestor.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(dir.to_path_buf());
            ancestor = dir.parent();
        }
        if let (Some(dir), Some(stem), Some("py")) = (
            path.parent(),
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|s| s.to_str()),
        ) {
            modules.entry(dir).or_default().insert(stem);
        }
    }
    for (dir, stems) in &modules {
        let pycache = dir.join("__pycache__");
        // Its parents were checked when the module was removed; a symlinked
        // __pycache__ itself is skipped (symlink_metadata does not follow).
        let full = purelib.join(&pycache);
        if !full.symlink_metadata().is_ok_and(|m| m.is_dir()) {
            continue;
        }
        for entry in fs_err::read_dir(&full)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let is_ours = Path::new(name).extension().is_some_and(|e| e == "pyc")
                && name
                    .split('.')
                    .next()
                    .is_some_and(|stem| stems.contains(stem))
                && entry.file_type().is_ok_and(|t| t.is_file());
            if is_ours {
                fs_err::remove_file(entry.path())?;
            }
        }
        dirs.insert(pycache);
    }

    let mut by_depth: Vec<PathBuf> = dirs.into_iter().collect();
    by_depth.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    let mut count = 0;
    for dir in by_depth {
        if remove_temps_then_dir_if_empty(&purelib.join(&dir))? {
            count += 1;
        }
    }
    Ok(count)
}
