//! The read model: which RECORDs are installed, what is on disk at each of
//! our paths, and what `--check` verifies against them. Everything is read
//! through the pinned [`SitePackages`], so nothing here follows a symlink.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::output::Finding;
use crate::plan::{self, Activation, Plan, PlannedFile, Stage};
use crate::record::{self, RecordEntry};
use crate::site_packages::{self, Kind, Node, SitePackages};

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
/// error, unless `tolerate_bad` (`--force`), when it is skipped too. A
/// RECORD that is a symlink (or not a regular file at all) is refused even
/// then: it is never followed, nor opened.
pub fn installed_records(site: &SitePackages, tolerate_bad: bool) -> Result<Vec<InstalledRecord>> {
    let mut found = Vec::new();
    for entry in site.list("")?.unwrap_or_default() {
        let Some(name) = entry.name.to_str().map(str::to_owned) else {
            continue;
        };
        // A symlinked dist-info directory is not something we made.
        if !plan::is_our_dist_info(&name) || entry.kind != Kind::Directory {
            continue;
        }
        let record_path = format!("{name}/RECORD");
        let full = site.path().join(&record_path);
        let not_a_file = |what| Error::NotARegularFile {
            path: full.clone(),
            what,
        };
        let bytes = match site.inspect(&record_path)? {
            Node::Missing => continue,
            Node::File { bytes, .. } => bytes,
            Node::Directory { .. } => return Err(not_a_file("a directory")),
            Node::Symlink => return Err(not_a_file("a symlink")),
            Node::Special => return Err(not_a_file("a special file")),
        };
        match record::read(&full, &bytes) {
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
    site: &SitePackages,
    records: &[InstalledRecord],
) -> Result<Option<InstalledRecord>> {
    let dist_info = plan::dist_info_dir();
    if records.iter().any(|r| r.dist_info == dist_info) {
        return Ok(None);
    }
    let defaults = defaults_on_disk(site)?;
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
        if let Node::File { bytes, .. } = site.inspect(&file.path)? {
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

/// Our directories in purelib that exist as real directories:
/// `wrapt_bootstrap/`, `_wrapt_bootstrap_start/` and every
/// `wrapt_bootstrap-*.dist-info/`.
pub(super) fn our_dirs(site: &SitePackages) -> Result<Vec<String>> {
    let mut dirs = Vec::new();
    for entry in site.list("")?.unwrap_or_default() {
        let Some(name) = entry.name.to_str() else {
            continue;
        };
        let ours = name == plan::PACKAGE_DIR
            || plan::START_PACKAGE.strip_suffix("/__init__.py") == Some(name)
            || plan::is_our_dist_info(name);
        if ours && entry.kind == Kind::Directory {
            dirs.push(name.to_owned());
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// Files inside our directories that no installed RECORD lists (other than
/// Python's `__pycache__`), and temporary files an interrupted run left in
/// purelib: `--check` names each.
pub fn unlisted(site: &SitePackages, records: &[InstalledRecord]) -> Result<Vec<String>> {
    fn walk(
        site: &SitePackages,
        dir: &str,
        listed: &BTreeSet<&str>,
        out: &mut Vec<String>,
    ) -> Result<()> {
        let mut entries = site.list(dir)?.unwrap_or_default();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        for entry in entries {
            let rel = format!("{dir}/{}", entry.name.to_string_lossy());
            if entry.kind == Kind::Directory {
                if entry.name != "__pycache__" {
                    walk(site, &rel, listed, out)?;
                }
                continue;
            }
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
    let mut out: Vec<String> = site
        .list("")?
        .unwrap_or_default()
        .into_iter()
        .map(|entry| entry.name.to_string_lossy().into_owned())
        .filter(|name| site_packages::is_temp(name))
        .collect();
    out.sort();
    for dir in our_dirs(site)? {
        walk(site, &dir, &listed, &mut out)?;
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

/// The default groups written in an `__init__.py`; none where it does
/// not parse.
fn defaults_of(init_py: &[u8]) -> BTreeSet<String> {
    std::str::from_utf8(init_py)
        .ok()
        .and_then(plan::parse_defaults)
        .unwrap_or_default()
}

/// The default groups of the `wrapt_bootstrap/__init__.py` on disk,
/// whoever wrote it; none where it is missing or does not parse.
pub fn defaults_on_disk(site: &SitePackages) -> Result<BTreeSet<String>> {
    Ok(
        match site.inspect(&format!("{}/__init__.py", plan::PACKAGE_DIR))? {
            Node::File { bytes, .. } => defaults_of(&bytes),
            _ => BTreeSet::new(),
        },
    )
}

/// Reads the default groups of the installed `wrapt_bootstrap/__init__.py`,
/// if it is ours and parses; otherwise none.
pub fn installed_defaults(site: &SitePackages, records: &[InstalledRecord]) -> BTreeSet<String> {
    let rel = format!("{}/__init__.py", plan::PACKAGE_DIR);
    match site.inspect(&rel) {
        Ok(Node::File { bytes, .. })
            if records
                .iter()
                .flat_map(|r| &r.entries)
                .any(|e| e.path == rel && e.matches(&bytes)) =>
        {
            defaults_of(&bytes)
        }
        _ => BTreeSet::new(),
    }
}

/// Verifies every entry of the installed RECORDs against the disk, RECORD
/// itself included (it lists itself without a hash): returns (files
/// verified, problems naming each changed, missing or symlinked file, and
/// each symlinked directory once).
pub fn verify(site: &SitePackages, records: &[InstalledRecord]) -> Result<(usize, Vec<Finding>)> {
    let mut verified = 0;
    let mut problems: Vec<Finding> = Vec::new();
    for record in records {
        for entry in &record.entries {
            let full = site.path().join(&entry.path);
            let problem = |code, what: &str| Finding {
                code,
                path: Some(full.clone()),
                message: format!("{} {what}", full.display()),
            };
            let node = match site.inspect(&entry.path) {
                Ok(node) => node,
                Err(Error::SymlinkedDirectory { path: dir }) => {
                    if !problems.iter().any(|p| p.path.as_ref() == Some(&dir)) {
                        let error = Error::SymlinkedDirectory { path: dir.clone() };
                        problems.push(Finding {
                            code: error.code(),
                            path: Some(dir),
                            message: error.to_string(),
                        });
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            match node {
                Node::Missing => problems.push(problem("missing", "is missing")),
                Node::Symlink => problems.push(problem("not_a_file", "is a symlink")),
                Node::Directory { .. } => problems.push(problem("not_a_file", "is a directory")),
                Node::Special => problems.push(problem("not_a_file", "is not a regular file")),
                Node::File { bytes, .. } => {
                    if entry.hash.is_none() || entry.matches(&bytes) {
                        verified += 1;
                    } else {
                        problems.push(problem(
                            "modified",
                            &format!(
                                "was modified (its hash does not match {})",
                                record.record_path
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok((verified, problems))
}
