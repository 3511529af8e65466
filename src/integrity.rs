//! What `--check` holds an installation of this version against: the files
//! this binary would write, not the RECORD, which whoever can write the
//! environment can rewrite along with the file it lists.
//!
//! The expected files are rendered as an install renders them (activation
//! from the installed RECORD, default groups from the `__init__.py` on
//! disk: a tampered one differs anyway) with bytecode freshly compiled by
//! the environment's interpreter. Every file in our directories and every
//! activation file of ours is compared with them: bytes, mode and mtime
//! (importlib trusts our bytecode by the source's mtime). Bytecode that
//! differs only in how marshal serialised the same code is accepted after
//! the interpreter compares the code objects ([`crate::bytecode::equivalent`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use crate::error::Result;
use crate::output::Finding;
use crate::plan::{self, Plan, PlannedFile};
use crate::site_packages::{self, Node, SitePackages, MODE_DIRECTORY};

/// One entry found in our part of site-packages.
#[derive(Debug)]
pub enum Found {
    File {
        bytes: Vec<u8>,
        mode: u32,
        mtime: SystemTime,
    },
    Directory {
        mode: u32,
    },
    /// Never something we wrote, and never followed.
    Symlink,
    /// A FIFO, socket or device: never something we wrote.
    Other,
}

/// The outcome of [`compare`].
#[derive(Debug, Default)]
pub struct Comparison {
    /// Files identical to what this version installs.
    pub verified: usize,
    pub problems: Vec<Finding>,
    /// Bytecode whose bytes differ from a fresh compile but whose header
    /// matches: `(pyc path, its source's path, bytes on disk)`, for the
    /// interpreter to compare as code objects.
    pub bytecode_to_compare: Vec<(String, String, Vec<u8>)>,
}

/// The directories and top-level files of ours that `plan` installs, and
/// those an installation of another mode leaves behind: every one is
/// walked, so that nothing hides in a directory of ours.
fn our_roots(plan: &Plan) -> (Vec<String>, Vec<String>) {
    let mut dirs = vec![plan::PACKAGE_DIR.to_owned(), plan::dist_info_dir()];
    for package in [plan::START_PACKAGE, plan::SITECUSTOMIZE] {
        // A foreign sitecustomize package is not ours to judge.
        if package == plan::START_PACKAGE || plan.get(package).is_some() {
            let dir = package.strip_suffix("/__init__.py").expect("a package");
            dirs.push(dir.to_owned());
        }
    }
    let files = [plan::PTH, plan::START].map(str::to_owned).to_vec();
    (dirs, files)
}

/// Reads what is at each root (not following symlinks) and below each
/// directory root: `(path relative to purelib, what is there)`.
pub fn snapshot(site: &SitePackages, plan: &Plan) -> Result<BTreeMap<String, Found>> {
    fn visit(site: &SitePackages, rel: &str, found: &mut BTreeMap<String, Found>) -> Result<()> {
        let entry = match site.inspect(rel)? {
            Node::Missing => return Ok(()),
            Node::File { bytes, mode, mtime } => Found::File { bytes, mode, mtime },
            Node::Directory { mode } => {
                found.insert(rel.to_owned(), Found::Directory { mode });
                let mut names: Vec<String> = site
                    .list(rel)?
                    .unwrap_or_default()
                    .into_iter()
                    .map(|entry| entry.name.to_string_lossy().into_owned())
                    .collect();
                names.sort();
                for name in names {
                    visit(site, &format!("{rel}/{name}"), found)?;
                }
                return Ok(());
            }
            Node::Symlink => Found::Symlink,
            Node::Special => Found::Other,
        };
        found.insert(rel.to_owned(), entry);
        Ok(())
    }
    let (dirs, mut files) = our_roots(plan);
    for entry in site.list("")?.unwrap_or_default() {
        let name = entry.name.to_string_lossy().into_owned();
        if site_packages::is_temp(&name) {
            files.push(name);
        }
    }
    let mut found = BTreeMap::new();
    for root in dirs.iter().chain(&files) {
        visit(site, root, &mut found)?;
    }
    Ok(found)
}

/// The problem of a file in our part of site-packages that this version
/// does not install.
pub fn unlisted(path: &Path) -> Finding {
    finding(
        "unlisted",
        path,
        format!(
            "{} is not listed in any wrapt-bootstrap RECORD (a foreign file, or left by an interrupted run: run wrapt-install)",
            path.display()
        ),
    )
}

/// A problem with the file or directory at `path`.
pub fn finding(code: &'static str, path: &Path, message: String) -> Finding {
    Finding {
        code,
        path: Some(path.to_owned()),
        message,
    }
}

/// Compares what was found with `plan`: every planned file present and
/// identical, every found file planned, every directory 0755.
pub fn compare(plan: &Plan, found: &BTreeMap<String, Found>, purelib: &Path) -> Comparison {
    let installed_mtime = plan::installed_mtime();
    let mut comparison = Comparison::default();
    for planned in &plan.files {
        let path = purelib.join(&planned.path);
        let shown = path.display();
        let (code, message) = match found.get(&planned.path) {
            None => ("missing", format!("{shown} is missing")),
            Some(Found::Directory { .. }) => ("not_a_file", format!("{shown} is a directory")),
            Some(Found::Symlink | Found::Other) => (
                "not_a_file",
                format!("{shown} is a symlink or special file, not the file wrapt-install writes"),
            ),
            Some(Found::File { bytes, mode, mtime }) => {
                match file_problem(plan, planned, bytes, *mode, *mtime == installed_mtime) {
                    FileVerdict::Same => {
                        comparison.verified += 1;
                        continue;
                    }
                    FileVerdict::CompareCode(source) => {
                        comparison.bytecode_to_compare.push((
                            planned.path.clone(),
                            source,
                            bytes.clone(),
                        ));
                        continue;
                    }
                    FileVerdict::Problem(code, what) => (code, format!("{shown} {what}")),
                }
            }
        };
        comparison.problems.push(finding(code, &path, message));
    }
    for (rel, entry) in found {
        let path = purelib.join(rel);
        match entry {
            Found::Directory { mode } if *mode != MODE_DIRECTORY => {
                comparison.problems.push(finding(
                    "wrong_mode",
                    &path,
                    format!(
                        "{} has mode {mode:04o}; wrapt-install makes its directories {MODE_DIRECTORY:04o}",
                        path.display()
                    ),
                ));
            }
            Found::Symlink if plan.get(rel).is_none() => {
                comparison.problems.push(finding(
                    "symlink",
                    &path,
                    format!(
                        "{} is a symlink, which wrapt-install never makes nor follows",
                        path.display()
                    ),
                ));
            }
            Found::File { .. } | Found::Other if plan.get(rel).is_none() => {
                comparison.problems.push(unlisted(&path));
            }
            Found::Directory { .. } | Found::File { .. } | Found::Symlink | Found::Other => {}
        }
    }
    comparison
}

enum FileVerdict {
    Same,
    /// Bytecode to compare as code with its source (the path given).
    CompareCode(String),
    /// A finding's code, and what is wrong, after the path.
    Problem(&'static str, String),
}

fn file_problem(
    plan: &Plan,
    planned: &PlannedFile,
    bytes: &[u8],
    mode: u32,
    installed_mtime: bool,
) -> FileVerdict {
    if mode != planned.mode {
        return FileVerdict::Problem(
            "wrong_mode",
            format!(
                "has mode {mode:04o}; wrapt-install installs it {:04o}",
                planned.mode
            ),
        );
    }
    if bytes != planned.bytes {
        return match plan.source_of_bytecode(&planned.path) {
            Some(source) if plan.same_bytecode(&planned.path, bytes) => {
                FileVerdict::CompareCode(source.path.clone())
            }
            _ => FileVerdict::Problem(
                "modified",
                format!(
                    "was modified (it differs from what wrapt-install {} installs)",
                    plan::VERSION
                ),
            ),
        };
    }
    if !installed_mtime {
        return FileVerdict::Problem(
            "wrong_mtime",
            "has a modification time other than the one wrapt-install sets, which its bytecode is checked against; run wrapt-install"
                .to_owned(),
        );
    }
    FileVerdict::Same
}
