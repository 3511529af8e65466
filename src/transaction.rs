//! Applying a [`Plan`] and removing what a RECORD lists, as transactions that
//! any crash leaves in a state the next run completes:
//!
//! * an exclusive `flock` on the purelib directory itself (no lock file to
//!   leave behind);
//! * every decision is taken before the first write ([`plan_install`],
//!   [`plan_uninstall`]), so a refusal changes nothing;
//! * install writes the package, then the other dist-info files, then
//!   RECORD, then the activation file (`.pth`, `.start` or the
//!   `sitecustomize` package): until it is in place no interpreter tries to
//!   load anything, and once RECORD is in place every file is known to be
//!   ours. Uninstall goes in reverse: activation first, RECORD last;
//! * each file is written to a temporary file in its directory, fsynced,
//!   given its mode and renamed over the target, and the directory fsynced.
//!
//! Ownership: a file is ours when an installed `wrapt_bootstrap-*.dist-info/
//! RECORD` (any version) lists it with a matching hash, or when it is already
//! byte-identical to what we would write (that is how an install interrupted
//! before its RECORD landed is completed). Anything else is refused, naming
//! the file, unless `--force`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::plan::{self, is_activation, Activation, Plan, PlannedFile, Stage};
use crate::record::{self, RecordEntry};

/// Temporary files are hidden, and never end in `.pth` or `.start`, so a
/// crash mid-write leaves nothing `site` would read. Stale ones are removed
/// by the next run.
const TEMP_PREFIX: &str = ".wrapt-install-";
const TEMP_SUFFIX: &str = ".tmp";

/// Whether a purelib entry is a temporary file an interrupted run left.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)
}

/// A RECORD found in purelib.
#[derive(Debug, Clone)]
pub struct InstalledRecord {
    /// `wrapt_bootstrap-<version>.dist-info`
    pub dist_info: String,
    /// `wrapt_bootstrap-<version>.dist-info/RECORD`
    pub record_path: String,
    pub entries: Vec<RecordEntry>,
}

impl InstalledRecord {
    pub fn version(&self) -> &str {
        self.dist_info
            .strip_prefix(plan::PACKAGE_DIR)
            .and_then(|s| s.strip_prefix('-'))
            .and_then(|s| s.strip_suffix(".dist-info"))
            .unwrap_or("?")
    }
}

/// What happens to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Replace,
    Unchanged,
    Remove,
    /// Listed in a RECORD but already gone: nothing to do.
    Missing,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Replace => "replace",
            Action::Unchanged => "unchanged",
            Action::Remove => "remove",
            Action::Missing => "missing",
        }
    }
}

/// Why a change needs `--force` (or cannot be done at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Problem {
    /// Exists, and no installed RECORD lists it.
    Foreign,
    /// Listed, but its hash no longer matches.
    Modified,
    /// A symlink where we put a regular file.
    Symlink,
    /// A directory where we put a file: refused even with `--force`.
    Directory,
}

impl Problem {
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::Foreign => "not ours",
            Problem::Modified => "modified",
            Problem::Symlink => "symlink",
            Problem::Directory => "directory",
        }
    }
}

/// One planned change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub path: String,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
    /// A removal to make before anything is written: the file is listed
    /// only by the RECORD this install rewrites (a change of mode within
    /// one version), which must not stop listing it while it exists.
    #[serde(skip)]
    pub before_writes: bool,
}

/// Holds the purelib lock until dropped (closing the descriptor releases
/// the `flock`).
#[derive(Debug)]
pub struct Lock {
    _dir: std::fs::File,
}

/// Locks purelib: exclusively to change it, shared to only read it. Calls
/// `waiting` once if another process holds the lock, then blocks.
pub fn lock(purelib: &Path, exclusive: bool, waiting: impl FnOnce()) -> Result<Lock> {
    let dir = std::fs::File::open(purelib).map_err(|source| Error::File {
        action: "open",
        path: purelib.to_owned(),
        source,
    })?;
    let attempt = if exclusive {
        dir.try_lock()
    } else {
        dir.try_lock_shared()
    };
    let lock_error = |source| Error::Lock {
        path: purelib.to_owned(),
        source,
    };
    match attempt {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            waiting();
            if exclusive {
                dir.lock()
            } else {
                dir.lock_shared()
            }
            .map_err(lock_error)?;
        }
        Err(std::fs::TryLockError::Error(source)) => return Err(lock_error(source)),
    }
    Ok(Lock { _dir: dir })
}

/// Every `wrapt_bootstrap-*.dist-info/RECORD` in purelib, sorted by
/// directory name. A dist-info directory without RECORD (an install
/// interrupted before its RECORD) is skipped; an unreadable RECORD is an
/// error, unless `tolerate_bad` (`--force`), when it is skipped too.
pub fn installed_records(purelib: &Path, tolerate_bad: bool) -> Result<Vec<InstalledRecord>> {
    let mut found = Vec::new();
    for entry in fs_err::read_dir(purelib)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        // A symlinked dist-info directory is not something we made.
        if !plan::is_our_dist_info(&name) || !entry.file_type()?.is_dir() {
            continue;
        }
        let record_path = format!("{name}/RECORD");
        let full = purelib.join(&record_path);
        let bytes = match std::fs::read(&full) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(Error::File {
                    action: "read",
                    path: full,
                    source,
                })
            }
        };
        match read_record(&full, &bytes) {
            Ok(entries) => found.push(InstalledRecord {
                dist_info: name,
                record_path,
                entries,
            }),
            Err(_) if tolerate_bad => {}
            Err(e) => return Err(e),
        }
    }
    found.sort_by(|a, b| a.dist_info.cmp(&b.dist_info));
    Ok(found)
}

/// What an install of this version interrupted before its RECORD landed left
/// behind: the files byte-identical to what this version writes (rendered
/// with the defaults read from the `__init__.py` on disk), as a RECORD would
/// have listed them. `None` when this version has a RECORD, or nothing is
/// left. Uninstall uses it so that it, too, completes an interrupted install;
/// a file that differs from our rendering is not touched.
pub fn leftover_record(
    purelib: &Path,
    records: &[InstalledRecord],
) -> Result<Option<InstalledRecord>> {
    let dist_info = plan::dist_info_dir();
    if records.iter().any(|r| r.dist_info == dist_info) {
        return Ok(None);
    }
    let init = purelib.join(plan::PACKAGE_DIR).join("__init__.py");
    let defaults = std::fs::read_to_string(&init)
        .ok()
        .and_then(|text| plan::parse_defaults(&text))
        .unwrap_or_default();
    let mut entries = Vec::new();
    let renderings = [
        Activation::Pth,
        Activation::Start,
        Activation::Sitecustomize,
    ]
    .map(|a| Plan::render(&defaults, a));
    let files: BTreeMap<&str, &PlannedFile> = renderings
        .iter()
        .flat_map(|plan| &plan.files)
        .filter(|f| f.stage != Stage::Record)
        .map(|f| (f.path.as_str(), f))
        .collect();
    for file in files.into_values() {
        if let OnDisk::File { bytes, .. } = on_disk(&full_path(purelib, &file.path)?)? {
            if bytes == file.bytes {
                entries.push(RecordEntry::for_bytes(&file.path, &bytes));
            }
        }
    }
    if entries.is_empty() {
        return Ok(None);
    }
    Ok(Some(InstalledRecord {
        record_path: format!("{dist_info}/RECORD"),
        dist_info,
        entries,
    }))
}

/// Parses and validates one RECORD; a path that could escape purelib is
/// reported as such (exit 3), anything else as an unreadable RECORD.
fn read_record(full: &Path, bytes: &[u8]) -> Result<Vec<RecordEntry>> {
    let rows = record::parse(bytes).map_err(|problems| Error::BadRecord {
        path: full.to_owned(),
        problems,
    })?;
    for row in &rows {
        if let Some(path) = row.first() {
            if let Err(reason) = record::check_relative_path(path) {
                return Err(Error::UnsafePath {
                    record: full.to_owned(),
                    entry: path.clone(),
                    reason: reason.to_owned(),
                });
            }
        }
    }
    record::validate(rows).map_err(|problems| Error::BadRecord {
        path: full.to_owned(),
        problems: problems.join("; "),
    })
}

/// `purelib/rel`, after checking that no directory on the way is a symlink:
/// we never follow one out of the environment.
fn full_path(purelib: &Path, rel: &str) -> Result<PathBuf> {
    let mut current = purelib.to_path_buf();
    let mut parts: Vec<&str> = rel.split('/').collect();
    parts.pop();
    for part in parts {
        current.push(part);
        match current.symlink_metadata() {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(Error::SymlinkedDirectory { path: current })
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(purelib.join(rel))
}

/// What is at a path now.
enum OnDisk {
    Missing,
    File {
        bytes: Vec<u8>,
        mode: u32,
        mtime: Option<std::time::SystemTime>,
    },
    Symlink,
    Directory,
}

fn on_disk(full: &Path) -> Result<OnDisk> {
    let meta = match full.symlink_metadata() {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(OnDisk::Missing),
        Err(source) => {
            return Err(Error::File {
                action: "inspect",
                path: full.to_owned(),
                source,
            })
        }
    };
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Ok(OnDisk::Symlink);
    }
    if kind.is_dir() {
        return Ok(OnDisk::Directory);
    }
    let bytes = fs_err::read(full)?;
    Ok(OnDisk::File {
        bytes,
        mode: meta.permissions().mode() & 0o7777,
        mtime: meta.modified().ok(),
    })
}

/// Whether `bytes` at `rel` are ours according to the installed RECORDs.
fn ownership(records: &[InstalledRecord], rel: &str, bytes: &[u8]) -> Option<Problem> {
    // A RECORD that parsed is its own proof: it cannot list its own hash.
    if records.iter().any(|r| r.record_path == rel) {
        return None;
    }
    let listed: Vec<&RecordEntry> = records
        .iter()
        .flat_map(|r| &r.entries)
        .filter(|e| e.path == rel)
        .collect();
    if listed.is_empty() {
        Some(Problem::Foreign)
    } else if listed.iter().any(|e| e.hash.is_none() || e.matches(bytes)) {
        // Hashless rows (pip lists .pyc files so) are ours but unverifiable.
        None
    } else {
        Some(Problem::Modified)
    }
}

/// Decides every change an install makes, before any is made: the plan's
/// files in write order, then what the installed RECORDs list that the plan
/// does not (an older version's files), in removal order.
pub fn plan_install(
    purelib: &Path,
    plan: &Plan,
    records: &[InstalledRecord],
) -> Result<Vec<Change>> {
    let mut changes = Vec::new();
    for file in &plan.files {
        let full = full_path(purelib, &file.path)?;
        let (action, problem) = match on_disk(&full)? {
            OnDisk::Missing => (Action::Create, None),
            OnDisk::Symlink => (Action::Replace, Some(Problem::Symlink)),
            OnDisk::Directory => (Action::Replace, Some(Problem::Directory)),
            OnDisk::File { bytes, mode, mtime } if bytes == file.bytes => {
                // Identical bytes are ours whoever wrote them; a wrong mode,
                // or an mtime our bytecode no longer matches, is fixed by
                // rewriting.
                let action = if mode == file.mode && mtime == Some(plan::installed_mtime()) {
                    Action::Unchanged
                } else {
                    Action::Replace
                };
                (action, None)
            }
            // Bytecode Python cached for one of our modules is derived from
            // our source, whoever wrote it.
            OnDisk::File { .. } if plan.is_bytecode_of_ours(&file.path) => (Action::Replace, None),
            OnDisk::File { bytes, .. } => (Action::Replace, ownership(records, &file.path, &bytes)),
        };
        changes.push(Change {
            path: file.path.clone(),
            action,
            problem,
            before_writes: false,
        });
    }
    let planned: BTreeSet<&str> = plan.files.iter().map(|f| f.path.as_str()).collect();
    let obsolete: BTreeSet<&str> = records
        .iter()
        .flat_map(|r| r.entries.iter().map(|e| e.path.as_str()))
        .filter(|p| !planned.contains(p))
        .collect();
    let rewritten: BTreeSet<&str> = records
        .iter()
        .filter(|r| r.record_path == plan.record_path())
        .flat_map(|r| r.entries.iter().map(|e| e.path.as_str()))
        .collect();
    changes.extend(
        plan_removals(purelib, records, obsolete)?
            .into_iter()
            .map(|change| Change {
                before_writes: rewritten.contains(change.path.as_str()),
                ..change
            }),
    );
    if deactivates_first(&changes) {
        // Taken out first, so written again however they compare.
        for change in &mut changes {
            if is_activation(&change.path) && change.action == Action::Unchanged {
                change.action = Action::Replace;
            }
        }
    }
    Ok(changes)
}

/// Decides what an uninstall removes: everything the installed RECORDs list.
pub fn plan_uninstall(purelib: &Path, records: &[InstalledRecord]) -> Result<Vec<Change>> {
    let listed: BTreeSet<&str> = records
        .iter()
        .flat_map(|r| r.entries.iter().map(|e| e.path.as_str()))
        .collect();
    plan_removals(purelib, records, listed)
}

/// Removal changes in removal order: the activation files first — a `.pth`
/// before the `.start` an earlier layout wrote beside it, which keeps the
/// `.pth` line from running on 3.15+ until both are gone — then everything
/// else (the `.start` entry point's package with the rest), RECORDs last.
fn plan_removals<'a>(
    purelib: &Path,
    records: &[InstalledRecord],
    paths: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Change>> {
    let rank = |path: &str| {
        let top_level = !path.contains('/');
        let extension = Path::new(path).extension();
        if top_level && extension.is_some_and(|e| e == "pth") {
            0
        } else if is_activation(path) {
            1
        } else if records.iter().any(|r| r.record_path == path) {
            3
        } else {
            2
        }
    };
    let mut paths: Vec<&str> = paths.into_iter().collect();
    paths.sort_by_key(|p| (rank(p), *p));
    let mut changes = Vec::with_capacity(paths.len());
    for path in paths {
        let full = full_path(purelib, path)?;
        let (action, problem) = match on_disk(&full)? {
            OnDisk::Missing => (Action::Missing, None),
            OnDisk::Symlink => (Action::Remove, Some(Problem::Symlink)),
            OnDisk::Directory => (Action::Remove, Some(Problem::Directory)),
            OnDisk::File { bytes, .. } => (Action::Remove, ownership(records, path, &bytes)),
        };
        changes.push(Change {
            path: path.to_owned(),
            action,
            problem,
            before_writes: false,
        });
    }
    Ok(changes)
}

/// The error for the first change that needs `--force` (or that even
/// `--force` cannot do), if any.
pub fn refusal(purelib: &Path, changes: &[Change], force: bool) -> Option<Error> {
    changes.iter().find_map(|change| {
        let path = purelib.join(&change.path);
        let action = if change.action == Action::Remove {
            "remove"
        } else {
            "overwrite"
        };
        match change.problem? {
            // Removing skips it with --force; writing cannot go on.
            Problem::Directory if force && change.action == Action::Remove => None,
            Problem::Directory => Some(Error::IsADirectory { path }),
            _ if force => None,
            Problem::Foreign => Some(Error::Foreign { path }),
            Problem::Modified => Some(Error::Modified { path, action }),
            Problem::Symlink => Some(Error::Symlink { path }),
        }
    })
}

/// Totals for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub created: usize,
    pub replaced: usize,
    pub unchanged: usize,
    pub removed: usize,
    pub missing: usize,
    pub directories_removed: usize,
}

impl Counts {
    pub fn of(changes: &[Change]) -> Counts {
        let mut counts = Counts::default();
        for change in changes {
            match change.action {
                Action::Create => counts.created += 1,
                Action::Replace => counts.replaced += 1,
                Action::Unchanged => counts.unchanged += 1,
                Action::Remove => counts.removed += 1,
                Action::Missing => counts.missing += 1,
            }
        }
        counts
    }

    /// Whether the changes leave everything as it was.
    pub fn is_noop(&self) -> bool {
        self.created + self.replaced + self.removed == 0
    }
}

/// Whether these changes must take the activation files out before the
/// package changes, and put them back last.
///
/// Each file is replaced atomically, but a package is several files: while
/// an upgrade replaces them one by one, an interpreter starting with the old
/// `.pth` in place would import a mix of two versions (say the new
/// `__init__.py` before the `_fallback.py` it needs exists), and print an
/// error on every startup if the upgrade is interrupted there. Taking the
/// activation out first makes every intermediate state either the old
/// installation or an inactive one. The one exception is a change of the
/// default groups within this version: only `__init__.py` and the `.pth` (or
/// `.start`) change, and any mix of old and new of those works, so running
/// processes keep their hooks.
pub fn deactivates_first(changes: &[Change]) -> bool {
    let upgrading = changes
        .iter()
        .any(|c| c.action == Action::Remove && c.path.ends_with(".dist-info/RECORD"));
    let init = format!("{}/__init__.py", plan::PACKAGE_DIR);
    changes.iter().any(|c| {
        plan::is_in_a_package(&c.path)
            && matches!(c.action, Action::Replace | Action::Remove)
            && (upgrading || c.path != init)
    })
}

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

/// Our directories in purelib that exist as real directories:
/// `wrapt_bootstrap/`, `_wrapt_bootstrap_start/` and every
/// `wrapt_bootstrap-*.dist-info/`.
fn our_dirs(purelib: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for entry in fs_err::read_dir(purelib)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let ours = name == plan::PACKAGE_DIR
            || plan::START_PACKAGE.strip_suffix("/__init__.py") == Some(name)
            || plan::is_our_dist_info(name);
        if ours && entry.file_type().is_ok_and(|t| t.is_dir()) {
            dirs.push(entry.path());
        }
    }
    dirs.sort();
    Ok(dirs)
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

/// Files inside our directories that no installed RECORD lists (other than
/// Python's `__pycache__`), and temporary files an interrupted run left in
/// purelib: `--check` names each.
pub fn unlisted(purelib: &Path, records: &[InstalledRecord]) -> Result<Vec<String>> {
    fn walk(
        purelib: &Path,
        dir: &Path,
        listed: &BTreeSet<&str>,
        out: &mut Vec<String>,
    ) -> Result<()> {
        let mut entries: Vec<fs_err::DirEntry> =
            fs_err::read_dir(dir)?.collect::<std::io::Result<_>>()?;
        entries.sort_by_key(fs_err::DirEntry::file_name);
        for entry in entries {
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                if entry.file_name() != "__pycache__" {
                    walk(purelib, &path, listed, out)?;
                }
                continue;
            }
            let rel = path
                .strip_prefix(purelib)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            if !listed.contains(rel.as_str()) {
                out.push(rel);
            }
        }
        Ok(())
    }
    let listed: BTreeSet<&str> = records
        .iter()
        .flat_map(|r| r.entries.iter().map(|e| e.path.as_str()))
        .collect();
    let mut out = Vec::new();
    for entry in fs_err::read_dir(purelib)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_temp_name(&name) {
            out.push(name);
        }
    }
    out.sort();
    for dir in our_dirs(purelib)? {
        walk(purelib, &dir, &listed, &mut out)?;
    }
    Ok(out)
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

/// How the installed version is activated, if its RECORD says.
pub fn installed_activation(records: &[InstalledRecord]) -> Option<Activation> {
    let listed = |path: &str| {
        records
            .iter()
            .any(|r| r.entries.iter().any(|e| e.path == path))
    };
    // An earlier layout listed the .start beside the .pth: that is the
    // .pth mode, and the install that replaces it drops the .start.
    if listed(plan::SITECUSTOMIZE) {
        Some(Activation::Sitecustomize)
    } else if listed(plan::PTH) {
        Some(Activation::Pth)
    } else if listed(plan::START) {
        Some(Activation::Start)
    } else {
        None
    }
}

/// Reads the default groups of the installed `wrapt_bootstrap/__init__.py`,
/// if it is ours and parses; otherwise none.
pub fn installed_defaults(purelib: &Path, records: &[InstalledRecord]) -> BTreeSet<String> {
    let rel = format!("{}/__init__.py", plan::PACKAGE_DIR);
    let Ok(full) = full_path(purelib, &rel) else {
        return BTreeSet::new();
    };
    match on_disk(&full) {
        Ok(OnDisk::File { bytes, .. })
            if records
                .iter()
                .flat_map(|r| &r.entries)
                .any(|e| e.path == rel && e.matches(&bytes)) =>
        {
            std::str::from_utf8(&bytes)
                .ok()
                .and_then(plan::parse_defaults)
                .unwrap_or_default()
        }
        _ => BTreeSet::new(),
    }
}

/// Verifies every entry of the installed RECORDs against the disk; returns
/// (files verified, problems naming each changed or missing file).
pub fn verify(purelib: &Path, records: &[InstalledRecord]) -> Result<(usize, Vec<String>)> {
    let mut verified = 0;
    let mut problems = Vec::new();
    for record in records {
        for entry in &record.entries {
            if entry.path == record.record_path {
                continue;
            }
            let full = full_path(purelib, &entry.path)?;
            match on_disk(&full)? {
                OnDisk::Missing => problems.push(format!("{} is missing", full.display())),
                OnDisk::Symlink => problems.push(format!("{} is a symlink", full.display())),
                OnDisk::Directory => problems.push(format!("{} is a directory", full.display())),
                OnDisk::File { bytes, .. } => {
                    if entry.hash.is_none() || entry.matches(&bytes) {
                        verified += 1;
                    } else {
                        problems.push(format!(
                            "{} was modified (its hash does not match {})",
                            full.display(),
                            record.record_path
                        ));
                    }
                }
            }
        }
    }
    Ok((verified, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, bytes: &[u8]) {
        let full = root.join(rel);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, bytes).unwrap();
    }

    fn listing(root: &Path) -> Vec<String> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let entry = entry.unwrap();
                let rel = entry
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .display()
                    .to_string();
                if entry.file_type().unwrap().is_dir() {
                    out.push(format!("{rel}/"));
                    walk(root, &entry.path(), out);
                } else {
                    out.push(rel);
                }
            }
        }
        let mut out = Vec::new();
        walk(root, root, &mut out);
        out.sort();
        out
    }

    fn install(purelib: &Path, defaults: &[&str], force: bool) -> Result<Vec<Change>> {
        install_as(purelib, defaults, Activation::Pth, force)
    }

    fn install_as(
        purelib: &Path,
        defaults: &[&str],
        activation: Activation,
        force: bool,
    ) -> Result<Vec<Change>> {
        let _lock = lock(purelib, true, || {})?;
        let records = installed_records(purelib, force)?;
        let plan = Plan::render(
            &defaults.iter().map(|s| (*s).to_owned()).collect(),
            activation,
        );
        let changes = plan_install(purelib, &plan, &records)?;
        if let Some(err) = refusal(purelib, &changes, force) {
            return Err(err);
        }
        apply(purelib, Some(&plan), &changes, |_| {})?;
        Ok(changes)
    }

    fn uninstall(purelib: &Path, force: bool) -> Result<Vec<Change>> {
        let records = installed_records(purelib, false)?;
        let changes = plan_uninstall(purelib, &records)?;
        if let Some(err) = refusal(purelib, &changes, force) {
            return Err(err);
        }
        apply(purelib, None, &changes, |_| {})?;
        Ok(changes)
    }

    /// Bytecode Python wrote for our modules is replaced by the bytecode an
    /// install compiles, not refused as someone else's; anything else in
    /// `__pycache__` stays someone else's.
    #[test]
    fn bytecode_python_wrote_is_replaced_by_ours() {
        let tmp = tempfile::tempdir().unwrap();
        let purelib = tmp.path();
        install(purelib, &[], false).unwrap();
        let pyc = "wrapt_bootstrap/__pycache__/__init__.cpython-312.pyc";
        write(purelib, pyc, b"written by Python");
        let records = installed_records(purelib, false).unwrap();
        let mut plan = Plan::render(&BTreeSet::new(), Activation::Pth);
        plan.add_bytecode(vec![(pyc.to_owned(), b"compiled at install".to_vec())]);
        let changes = plan_install(purelib, &plan, &records).unwrap();
        let change = changes.iter().find(|c| c.path == pyc).unwrap();
        assert_eq!((change.action, change.problem), (Action::Replace, None));
        assert!(refusal(purelib, &changes, false).is_none());
        apply(purelib, Some(&plan), &changes, |_| {}).unwrap();
        assert_eq!(
            std::fs::read(purelib.join(pyc)).unwrap(),
            b"compiled at install"
        );
        let records = installed_records(purelib, false).unwrap();
        assert_eq!(verify(purelib, &records).unwrap().1, Vec::<String>::new());

        let mut plan = Plan::render(&BTreeSet::new(), Activation::Pth);
        let foreign = "wrapt_bootstrap/__pycache__/theirs.cpython-312.pyc";
        write(purelib, foreign, b"not ours");
        plan.add_bytecode(vec![(foreign.to_owned(), b"ours?".to_vec())]);
        let changes = plan_install(purelib, &plan, &records).unwrap();
        let change = changes.iter().find(|c| c.path == foreign).unwrap();
        assert_eq!(change.problem, Some(Problem::Foreign));
    }

    #[test]
    fn install_reinstall_uninstall_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let purelib = tmp.path();
        write(purelib, "other/__init__.py", b"x = 1\n");
        write(purelib, "_virtualenv.pth", b"import _virtualenv\n");
        let before = listing(purelib);

        let first = install(purelib, &[], false).unwrap();
        assert!(
            first.iter().all(|c| c.action == Action::Create),
            "{first:?}"
        );
        let mode = |rel: &str| purelib.join(rel).metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("wrapt_bootstrap/_native.abi3.so"), 0o755);
        assert_eq!(mode("00_wrapt_bootstrap.pth"), 0o644);

        let second = install(purelib, &[], false).unwrap();
        assert!(Counts::of(&second).is_noop(), "{second:?}");

        // Defaults change two files (__init__.py and .pth) and RECORD.
        let third = install(purelib, &["acme.patches"], false).unwrap();
        assert_eq!(Counts::of(&third).replaced, 3, "{third:?}");
        let records = installed_records(purelib, false).unwrap();
        assert_eq!(
            installed_defaults(purelib, &records),
            BTreeSet::from(["acme.patches".to_owned()])
        );
        assert_eq!(verify(purelib, &records).unwrap(), (11, vec![]));

        // Python's bytecode is cleaned up with the package.
        write(
            purelib,
            "wrapt_bootstrap/__pycache__/__init__.cpython-312.pyc",
            b"",
        );
        write(
            purelib,
            "wrapt_bootstrap/__pycache__/examples.cpython-312.opt-1.pyc",
            b"",
        );
        let removed = uninstall(purelib, false).unwrap();
        assert_eq!(removed[0].path, "00_wrapt_bootstrap.pth");
        assert_eq!(
            removed.last().unwrap().path,
            "wrapt_bootstrap-0.1.0.dist-info/RECORD"
        );
        assert_eq!(listing(purelib), before);
        assert!(installed_records(purelib, false).unwrap().is_empty());
    }

    #[test]
    fn refuses_foreign_and_modified_files() {
        let tmp = tempfile::tempdir().unwrap();
        let purelib = tmp.path();
        write(purelib, "wrapt_bootstrap/examples.py", b"someone else's\n");
        let err = install(purelib, &[], false).unwrap_err();
        assert!(matches!(err, Error::Foreign { .. }), "{err}");
        assert_eq!(err.exit_code(), crate::error::EXIT_REFUSED);
        assert!(err.to_string().contains("wrapt_bootstrap/examples.py"));
        // Nothing was written.
        assert_eq!(
            listing(purelib),
            ["wrapt_bootstrap/", "wrapt_bootstrap/examples.py"]
        );
        install(purelib, &[], true).unwrap();

        write(purelib, "wrapt_bootstrap/_fallback.py", b"edited\n");
        let err = install(purelib, &[], false).unwrap_err();
        assert!(matches!(err, Error::Modified { .. }), "{err}");
        let err = uninstall(purelib, false).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Modified {
                    action: "remove",
                    ..
                }
            ),
            "{err}"
        );
        uninstall(purelib, true).unwrap();
        assert_eq!(listing(purelib), Vec::<String>::new());
    }

    #[test]
    fn completes_an_install_interrupted_before_record() {
        let tmp = tempfile::tempdir().unwrap();
        let purelib = tmp.path();
        install(purelib, &[], false).unwrap();
        // As if the crash came right before RECORD's rename.
        std::fs::remove_file(purelib.join("wrapt_bootstrap-0.1.0.dist-info/RECORD")).unwrap();
        std::fs::remove_file(purelib.join("00_wrapt_bootstrap.pth")).unwrap();
        write(purelib, "wrapt_bootstrap/.wrapt-install-abc.tmp", b"torn");
        let changes = install(purelib, &[], false).unwrap();
        assert_eq!(Counts::of(&changes).created, 2, "{changes:?}");
        assert!(!purelib
            .join("wrapt_bootstrap/.wrapt-install-abc.tmp")
            .exists());
    }

    #[test]
    fn uninstall_completes_an_install_interrupted_before_record() {
        let tmp = tempfile::tempdir().unwrap();
        let purelib = tmp.path();
        write(purelib, "unrelated.py", b"");
        install(purelib, &["acme"], false).unwrap();
        std::fs::remove_file(purelib.join("wrapt_bootstrap-0.1.0.dist-info/RECORD")).unwrap();
        std::fs::remove_file(purelib.join("00_wrapt_bootstrap.pth")).unwrap();
        write(
            purelib,
            "wrapt_bootstrap/examples.py",
            b"edited: not ours any more\n",
        );
        assert!(installed_records(purelib, false).unwrap().is_empty());

        let mut records = Vec::new();
        records.extend(leftover_record(purelib, &records).unwrap());
        assert_eq!(records[0].entries.len(), 9, "{:?}", records[0].entries);
        let changes = plan_uninstall(purelib, &records).unwrap();
        assert!(refusal(purelib, &changes, false).is_none());
        apply(purelib, None, &changes, |_| {}).unwrap();
        assert_eq!(
            listing(purelib),
            [
                "unrelated.py",
                "wrapt_bootstrap/",
                "wrapt_bootstrap/examples.py"
            ]
        );
        assert!(leftover_record(purelib, &[]).unwrap().is_none());
    }

    #[test]
    fn upgrade_removes_what_the_old_record_listed() {
        let tmp = tempfile::tempdir().unwrap();
        let purelib = tmp.path();
        let old_files: [(&str, &[u8]); 3] = [
            ("wrapt_bootstrap/__init__.py", b"old\n"),
            ("wrapt_bootstrap/gone.py", b"gone\n"),
            ("00_wrapt_bootstrap.pth", b"import wrapt_bootstrap\n"),
        ];
        let mut entries = Vec::new();
        for (rel, bytes) in old_files {
            write(purelib, rel, bytes);
            entries.push(RecordEntry::for_bytes(rel, bytes));
        }
        let old_record = "wrapt_bootstrap-0.0.1.dist-info/RECORD";
        write(purelib, old_record, &record::render(&entries, old_record));
        write(
            purelib,
            "wrapt_bootstrap/__pycache__/gone.cpython-312.pyc",
            b"",
        );

        let changes = install(purelib, &[], false).unwrap();
        let removed: Vec<&str> = changes
            .iter()
            .filter(|c| c.action == Action::Remove)
            .map(|c| c.path.as_str())
            .collect();
        assert_eq!(removed, ["wrapt_bootstrap/gone.py", old_record]);
        assert!(!purelib.join("wrapt_bootstrap-0.0.1.dist-info").exists());
        assert!(!purelib.join("wrapt_bootstrap/__pycache__").exists());
        let records = installed_records(purelib, false).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].version(), "0.1.0");
    }

    #[test]
    fn only_a_change_of_defaults_stays_live() {
        let tmp = tempfile::tempdir().unwrap();
        let purelib = tmp.path();
        install(purelib, &[], false).unwrap();
        let records = installed_records(purelib, false).unwrap();
        let enable = Plan::render(&BTreeSet::from(["acme".to_owned()]), Activation::Pth);
        let changes = plan_install(purelib, &enable, &records).unwrap();
        assert!(!deactivates_first(&changes), "{changes:?}");

        // Any other package file replaced: activation out first, back last.
        write(purelib, "wrapt_bootstrap/examples.py", b"edited\n");
        let mut changes = plan_install(purelib, &enable, &records).unwrap();
        assert!(deactivates_first(&changes), "{changes:?}");
        let pth = changes.iter().find(|c| c.path == plan::PTH).unwrap();
        assert_eq!(pth.action, Action::Replace, "rewritten, so reported");
        for change in &mut changes {
            change.problem = None; // as --force
        }
        apply(purelib, Some(&enable), &changes, |_| {}).unwrap();
        assert!(purelib.join(plan::PTH).is_file());
    }

    #[test]
    fn start_mode_writes_its_package_first_and_removes_it_last() {
        let tmp = tempfile::tempdir().unwrap();
        let purelib = tmp.path();
        write(purelib, "other/__init__.py", b"x = 1\n");
        let before = listing(purelib);
        let changes = install_as(purelib, &[], Activation::Start, false).unwrap();
        let written: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        let at = |path: &str| written.iter().position(|p| *p == path).unwrap();
        assert!(at(plan::START_PACKAGE) < at("wrapt_bootstrap-0.1.0.dist-info/RECORD"));
        assert_eq!(written.last(), Some(&plan::START), "{written:?}");
        assert!(!purelib.join(plan::PTH).exists());
        let records = installed_records(purelib, false).unwrap();
        assert_eq!(installed_activation(&records), Some(Activation::Start));

        let removed = uninstall(purelib, false).unwrap();
        let removed: Vec<&str> = removed.iter().map(|c| c.path.as_str()).collect();
        let at = |path: &str| removed.iter().position(|p| *p == path).unwrap();
        assert_eq!(removed[0], plan::START);
        assert!(at(plan::START_PACKAGE) < at("wrapt_bootstrap-0.1.0.dist-info/RECORD"));
        assert_eq!(listing(purelib), before);
    }

    #[test]
    fn switching_modes_leaves_only_the_new_activation() {
        let tmp = tempfile::tempdir().unwrap();
        let purelib = tmp.path();
        let activation_files = || {
            let mut found: Vec<String> = listing(purelib)
                .into_iter()
                .filter(|p| plan::is_activation(p) || p.starts_with("_wrapt_bootstrap_start/"))
                .collect();
            found.sort();
            found
        };
        install_as(purelib, &[], Activation::Start, false).unwrap();
        install_as(purelib, &[], Activation::Pth, false).unwrap();
        assert_eq!(activation_files(), [plan::PTH]);
        install_as(purelib, &["acme"], Activation::Start, false).unwrap();
        assert_eq!(
            activation_files(),
            [plan::START, "_wrapt_bootstrap_start/", plan::START_PACKAGE]
        );
        assert_eq!(
            std::fs::read_to_string(purelib.join(plan::START)).unwrap(),
            "_wrapt_bootstrap_start:activate\n",
            "with defaults, the entry point that always imports the package"
        );
        install_as(purelib, &[], Activation::Sitecustomize, false).unwrap();
        assert_eq!(activation_files(), [plan::SITECUSTOMIZE]);
    }

    #[test]
    fn the_earlier_layout_is_pth_mode_and_loses_its_start_file() {
        let tmp = tempfile::tempdir().unwrap();
        let purelib = tmp.path();
        install(purelib, &[], false).unwrap();
        // What earlier installs wrote: the .start beside the .pth, in RECORD.
        let earlier_start = b"wrapt_bootstrap:_activate\n";
        write(purelib, plan::START, earlier_start);
        let record_path = "wrapt_bootstrap-0.1.0.dist-info/RECORD";
        let mut entries = installed_records(purelib, false).unwrap()[0]
            .entries
            .clone();
        entries.push(RecordEntry::for_bytes(plan::START, earlier_start));
        write(purelib, record_path, &record::render(&entries, record_path));
        let records = installed_records(purelib, false).unwrap();
        assert_eq!(installed_activation(&records), Some(Activation::Pth));

        let changes = install(purelib, &[], false).unwrap();
        let start = changes.iter().find(|c| c.path == plan::START).unwrap();
        assert_eq!((start.action, start.problem), (Action::Remove, None));
        assert!(!purelib.join(plan::START).exists());
        assert!(purelib.join(plan::PTH).is_file());
    }

    #[test]
    fn never_follows_symlinks_out() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let purelib = tmp.path();
        std::os::unix::fs::symlink(outside.path(), purelib.join("wrapt_bootstrap")).unwrap();
        let err = install(purelib, &[], true).unwrap_err();
        assert!(matches!(err, Error::SymlinkedDirectory { .. }), "{err}");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);

        // A RECORD pointing outside is refused before anything is touched.
        std::fs::remove_file(purelib.join("wrapt_bootstrap")).unwrap();
        let rel = "wrapt_bootstrap-0.0.1.dist-info/RECORD";
        write(purelib, rel, b"../../etc/passwd,,\n");
        let err = installed_records(purelib, false).unwrap_err();
        assert!(matches!(err, Error::UnsafePath { .. }), "{err}");
        assert_eq!(err.exit_code(), crate::error::EXIT_REFUSED);
    }
}
