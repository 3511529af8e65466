//! The read model: which RECORDs are installed, what is on disk at each of
//! our paths, and what `--check` verifies against them.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::plan::{self, Activation, Plan, PlannedFile, Stage};
use crate::record::{self, RecordEntry};

use super::{TEMP_PREFIX, TEMP_SUFFIX};

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
pub(super) fn full_path(purelib: &Path, rel: &str) -> Result<PathBuf> {
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
pub(super) enum OnDisk {
    Missing,
    File {
        bytes: Vec<u8>,
        mode: u32,
        mtime: Option<std::time::SystemTime>,
    },
    Symlink,
    Directory,
}

pub(super) fn on_disk(full: &Path) -> Result<OnDisk> {
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

/// Our directories in purelib that exist as real directories:
/// `wrapt_bootstrap/`, `_wrapt_bootstrap_start/` and every
/// `wrapt_bootstrap-*.dist-info/`.
pub(super) fn our_dirs(purelib: &Path) -> Result<Vec<PathBuf>> {
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
        if name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX) {
            out.push(name);
        }
    }
    out.sort();
    for dir in our_dirs(purelib)? {
        walk(purelib, &dir, &listed, &mut out)?;
    }
    Ok(out)
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
