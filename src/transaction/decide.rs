//! Decisions, all taken before the first write: what an install or an
//! uninstall changes, whose each file is, and what needs `--force`.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::plan::{self, is_activation, Plan};
use crate::record::RecordEntry;

use crate::site_packages::{Node, SitePackages};

use super::read::InstalledRecord;

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
    /// Why it needs `--force` (null where it does not).
    pub problem: Option<Problem>,
    /// A removal to make before anything is written: the file is listed
    /// only by the RECORD this install rewrites (a change of mode within
    /// one version), which must not stop listing it while it exists.
    #[serde(skip)]
    pub before_writes: bool,
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

/// Every change an install makes, and whether it takes the activation out
/// first ([`deactivates_first`]), decided once, before any is made.
#[derive(Debug)]
pub struct InstallChanges {
    pub changes: Vec<Change>,
    /// Remove the activation files present (durably) before anything else,
    /// and write them again last.
    pub deactivate_first: bool,
}

/// Decides every change an install makes, before any is made: the plan's
/// files in write order, then what the installed RECORDs list that the plan
/// does not (an older version's files), in removal order.
pub fn plan_install(
    site: &SitePackages,
    plan: &Plan,
    records: &[InstalledRecord],
) -> Result<InstallChanges> {
    let mut changes = Vec::new();
    for file in &plan.files {
        let (action, problem) = match site.inspect(&file.path)? {
            Node::Missing => (Action::Create, None),
            Node::Symlink => (Action::Replace, Some(Problem::Symlink)),
            Node::Directory { .. } => (Action::Replace, Some(Problem::Directory)),
            // A FIFO or a device where we write a file: not ours.
            Node::Special => (Action::Replace, Some(Problem::Foreign)),
            Node::File { bytes, mode, mtime } if bytes == file.bytes => {
                // Identical bytes are ours whoever wrote them; a wrong mode,
                // or an mtime our bytecode no longer matches, is fixed by
                // rewriting.
                let action = if mode == file.mode && mtime == plan::installed_mtime() {
                    Action::Unchanged
                } else {
                    Action::Replace
                };
                (action, None)
            }
            // Bytecode Python cached for one of our modules is derived from
            // our source, whoever wrote it.
            Node::File { .. } if plan.is_bytecode_of_ours(&file.path) => (Action::Replace, None),
            Node::File { bytes, .. } => (Action::Replace, ownership(records, &file.path, &bytes)),
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
        plan_removals(site, records, obsolete)?
            .into_iter()
            .map(|change| Change {
                before_writes: rewritten.contains(change.path.as_str()),
                ..change
            }),
    );
    let deactivate_first = deactivates_first(&changes);
    if deactivate_first {
        // Taken out first, so written again however they compare.
        for change in &mut changes {
            if is_activation(&change.path) && change.action == Action::Unchanged {
                change.action = Action::Replace;
            }
        }
    }
    Ok(InstallChanges {
        changes,
        deactivate_first,
    })
}

/// Decides what an uninstall removes: everything the installed RECORDs list.
pub fn plan_uninstall(site: &SitePackages, records: &[InstalledRecord]) -> Result<Vec<Change>> {
    let listed: BTreeSet<&str> = records
        .iter()
        .flat_map(|r| r.entries.iter().map(|e| e.path.as_str()))
        .collect();
    plan_removals(site, records, listed)
}

/// Removal changes in removal order: the activation files first — a `.pth`
/// before the `.start` an earlier layout wrote beside it, which keeps the
/// `.pth` line from running on 3.15+ until both are gone — then everything
/// else (the `.start` entry point's package with the rest), RECORDs last.
fn plan_removals<'a>(
    site: &SitePackages,
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
        let (action, problem) = match site.inspect(path)? {
            Node::Missing => (Action::Missing, None),
            Node::Symlink => (Action::Remove, Some(Problem::Symlink)),
            Node::Directory { .. } => (Action::Remove, Some(Problem::Directory)),
            // Listed as a file, now a FIFO or a device: not what we wrote.
            Node::Special => (Action::Remove, Some(Problem::Modified)),
            Node::File { bytes, .. } => (Action::Remove, ownership(records, path, &bytes)),
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
pub fn refusal(site: &SitePackages, changes: &[Change], force: bool) -> Option<Error> {
    changes.iter().find_map(|change| {
        let path = site.path().join(&change.path);
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
fn deactivates_first(changes: &[Change]) -> bool {
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
