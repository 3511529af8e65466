//! `wrapt-install --list`: the entry-point groups of an environment that
//! look like patch groups, who declares them, and which are enabled by
//! default. Reads only; works whether or not wrapt-bootstrap is installed.
//! The same reading of the environment tells an install whether a group it
//! enables is declared at all ([`group_change_warnings`]).
//!
//! What "looks like a patch group" means: in one distribution, a group
//! whose every entry is `target.module = patch.module:callable` (the
//! convention of `wrapt.discover_post_import_hooks` and autowrapt, checked
//! as the bootstrap checks it before registering a hook), with at least one
//! entry and no malformed line, under a name `WRAPT_PATCHES` can select —
//! and not one of the well-known groups of other tools
//! ([`selection::is_other_tools_group`], which the bootstrap ignores too),
//! whose entries often have exactly that shape
//! (`pip = pip._internal.cli.main:main`). Any other plugin group of that
//! shape is listed too: the shape is all there is to go by.
//!
//! Where: the `sys.path` a process of the environment starts with, worked
//! out without running anything ([`site::sys_path`]: the interpreter's own
//! entries, the site directories, the directories `.pth` path lines name;
//! an import line that could add one more is named in a warning, since
//! running it is what `--list` never does), its `*.dist-info` /
//! `*.egg-info` directories as [`scan::distributions`] walks them,
//! the first distribution of a name winning as in `importlib.metadata`
//! (and in the bootstrap's scan), each file read as that scan reads it
//! ([`scan::read_metadata_file`]: regular files only, never blocking, within
//! its size limit). Broken metadata is skipped, never an error.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde::Serialize;
use wrapt_common::entry_points::{self, Section};
use wrapt_common::scan::{self, Contents, Met};
use wrapt_common::{names, selection};

use crate::error::Result;
use crate::options::GroupChanges;
use crate::output::{self, Finding, Output};
use crate::site;
use crate::site_packages::SitePackages;
use crate::target::Layout;
use crate::transaction;

/// What `--list` found (also the `--json` output). Every key is present in
/// every state: what a run that failed did not get to know is null.
#[derive(Debug, Clone, Serialize)]
pub struct ListReport {
    #[serde(flatten)]
    pub head: output::Head,
    #[serde(flatten)]
    pub environment: output::Environment,
    /// Whether wrapt-bootstrap is installed (else nothing is enabled by
    /// default, whatever `defaults` a later install would set).
    pub installed: Option<bool>,
    pub defaults: Option<Vec<String>>,
    pub groups: Option<Vec<PatchGroup>>,
    /// The `sys.path` searched, in order.
    #[serde(serialize_with = "output::lossy_paths_opt")]
    pub sys_path: Option<Vec<PathBuf>>,
    /// The `.pth` files with import lines not run, which could add a
    /// directory that is then not searched.
    #[serde(serialize_with = "output::lossy_paths_opt")]
    pub not_run: Option<Vec<PathBuf>>,
    /// What the human output says on stderr as `warning:` lines.
    pub warnings: Vec<Finding>,
    /// What the scan passed over, in the order met (told with `-v`).
    #[serde(skip)]
    pub passed_over: Vec<PassedOver>,
}

/// Metadata `--list` did not take, and why.
#[derive(Debug, Clone)]
pub enum PassedOver {
    /// A file over the scan's size limit (a `.pth` file or
    /// `entry_points.txt`).
    TooLarge(PathBuf),
    /// A distribution of a name found earlier on `sys.path`.
    Hidden { dist_dir: PathBuf, by: PathBuf },
    /// A group with an entry of another shape.
    NotAPatchGroup {
        group: String,
        dist_dir: PathBuf,
        reason: String,
    },
}

impl ListReport {
    /// The report of a run stopped by `error` before it knew more.
    pub fn failed(error: output::ErrorReport) -> Self {
        ListReport {
            head: output::Head::failed("list", error),
            ..ListReport::new()
        }
    }

    fn new() -> Self {
        ListReport {
            head: output::Head::new("list"),
            environment: output::Environment::default(),
            installed: None,
            defaults: None,
            groups: None,
            sys_path: None,
            not_run: None,
            warnings: Vec::new(),
            passed_over: Vec::new(),
        }
    }
}

/// One patch group and every distribution that declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatchGroup {
    pub group: String,
    /// Enabled in a process that leaves `WRAPT_PATCHES` unset.
    pub enabled_by_default: bool,
    pub distributions: Vec<Distribution>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Distribution {
    pub name: String,
    /// `None` when neither its metadata nor its directory name says.
    pub version: Option<String>,
    /// The `*.dist-info` / `*.egg-info` directory.
    #[serde(serialize_with = "output::lossy_path")]
    pub path: PathBuf,
    /// In file order, which is the order the hooks register and fire in.
    pub entries: Vec<Hook>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hook {
    /// The module whose import fires the hook.
    pub target: String,
    /// `patch.module:callable`
    pub hook: String,
}

/// Finds the patch groups of the environment.
pub fn run(layout: &Layout, site_packages: &SitePackages, out: &Output) -> Result<ListReport> {
    let purelib = &layout.purelib;
    // Shared: a concurrent install or uninstall waits until we are done.
    site_packages.lock(false, || out.waiting(purelib))?;
    let mut warnings = Vec::new();
    let records = match transaction::installed_records(site_packages, false) {
        Ok(records) => records,
        // Not ours to repair here; the groups are worth listing anyway.
        Err(e) if e.is_untrusted_record() => {
            warnings.push(Finding {
                code: "untrusted_record",
                path: None,
                message: e.to_string(),
            });
            Vec::new()
        }
        Err(e) => return Err(e),
    };
    let defaults = transaction::installed_defaults(site_packages, &records);
    let path = site::sys_path(&layout.info, true);
    let mut passed_over: Vec<PassedOver> = path
        .too_large
        .iter()
        .cloned()
        .map(PassedOver::TooLarge)
        .collect();
    let found = scan(&path.entries, &mut passed_over);
    let groups = patch_groups(found, &defaults);
    for file in &path.code {
        warnings.push(Finding {
            code: "import_lines_not_run",
            path: Some(file.clone()),
            message: format!(
                "{} has import lines, which --list does not run: a directory they add to sys.path is not searched",
                file.display()
            ),
        });
    }
    for default in defaults
        .iter()
        .filter(|d| !groups.iter().any(|g| &&g.group == d))
    {
        warnings.push(Finding {
            code: "default_not_declared",
            path: None,
            message: format!(
                "default group {default} is not a patch group in this environment; install the package that provides it"
            ),
        });
    }
    let mut report = ListReport {
        environment: output::Environment::of(layout),
        installed: Some(!records.is_empty()),
        defaults: Some(defaults.into_iter().collect()),
        sys_path: Some(path.entries),
        not_run: Some(path.code),
        groups: Some(groups),
        warnings,
        passed_over,
        ..ListReport::new()
    };
    report.head.outcome(None);
    Ok(report)
}

/// One group of one distribution that looks like a patch group.
struct Found {
    group: String,
    dist_dir: PathBuf,
    entries: Vec<Hook>,
}

/// Every patch-group-like section of the distributions on `paths`, the
/// first distribution of each normalized name winning; path entries in
/// order, and in each the metadata directories in byte-wise order (as the
/// bootstrap's scan takes them), and what was passed over.
fn scan(paths: &[PathBuf], passed_over: &mut Vec<PassedOver>) -> Vec<Found> {
    let mut found = Vec::new();
    let mut buf = Vec::new();
    // Path entries that are not readable directories (a zip, missing) hold
    // no distribution for importlib either.
    scan::distributions(paths, |met| {
        let dist_dir = match met {
            Met::First(dist_dir) => dist_dir,
            Met::Hidden { dist_dir, by } => {
                passed_over.push(PassedOver::Hidden {
                    dist_dir: dist_dir.to_path_buf(),
                    by: by.to_path_buf(),
                });
                return;
            }
        };
        // Missing (no entry points), unreadable, no regular file (a FIFO
        // would block) or not UTF-8: broken metadata is skipped, as
        // importlib skips it; so is a file too large for the bootstrap.
        let file = dist_dir.join("entry_points.txt");
        let text = match scan::read_metadata_file(&file, &mut buf) {
            Contents::Read => match std::str::from_utf8(&buf) {
                Ok(text) => text,
                Err(_) => return,
            },
            Contents::TooLarge => {
                passed_over.push(PassedOver::TooLarge(file));
                return;
            }
            Contents::Absent => return,
        };
        for section in entry_points::sections(text) {
            if selection::is_other_tools_group(section.group) {
                continue;
            }
            match patch_entries(&section) {
                Ok(entries) => found.push(Found {
                    group: section.group.to_owned(),
                    dist_dir: dist_dir.to_path_buf(),
                    entries,
                }),
                Err(reason) => passed_over.push(PassedOver::NotAPatchGroup {
                    group: section.group.to_owned(),
                    dist_dir: dist_dir.to_path_buf(),
                    reason,
                }),
            }
        }
    });
    found
}

/// The warnings of an install that changes the default groups: an enabled
/// group that no distribution on the environment's `sys.path` declares
/// (as [`run`] finds them, running nothing; a warning, not an error, since
/// enabling a group before installing its package is legitimate), and a
/// disabled group that is not a default. Each names the nearest group that
/// exists where one is close, since both are most often typos.
pub(crate) fn group_change_warnings(
    layout: &Layout,
    changes: &GroupChanges,
    installed_defaults: &BTreeSet<String>,
) -> Vec<Finding> {
    let mut warnings = Vec::new();
    if !changes.enable.is_empty() {
        // The example group is declared by what the install writes.
        let mut declared = scan::declared_groups(&site::sys_path(&layout.info, true).entries);
        declared.insert(selection::EXAMPLE_GROUP.to_owned());
        for group in changes.enable.iter().filter(|g| !declared.contains(*g)) {
            warnings.push(Finding {
                code: "group_not_declared",
                path: None,
                message: format!(
                    "--enable {group}: no distribution on the environment's sys.path declares this group{}; it is enabled anyway, and takes effect once one that does is installed",
                    did_you_mean(group, &declared).map(|near| format!(" (did you mean {near}?)")).unwrap_or_default()
                ),
            });
        }
    }
    for group in changes.disable.difference(installed_defaults) {
        let defaults = if installed_defaults.is_empty() {
            "there are no default groups".to_owned()
        } else {
            let listed: Vec<&str> = installed_defaults.iter().map(String::as_str).collect();
            let near = did_you_mean(group, installed_defaults)
                .map(|near| format!("; did you mean {near}?"))
                .unwrap_or_default();
            format!("the defaults are {}{near}", listed.join(", "))
        };
        warnings.push(Finding {
            code: "not_a_default",
            path: None,
            message: format!(
                "--disable {group}: not a default group, nothing to disable ({defaults})"
            ),
        });
    }
    warnings
}

/// The candidate nearest to `group`, if one is close ([`names::nearest`]).
fn did_you_mean<'a>(group: &str, candidates: &'a BTreeSet<String>) -> Option<&'a str> {
    names::nearest(group, candidates.iter().map(String::as_str))
}

/// A section's hooks if it looks like a patch group (see the module
/// overview), else why not.
fn patch_entries(section: &Section<'_>) -> Result<Vec<Hook>, String> {
    if !names::is_valid_group_name(section.group) {
        return Err("WRAPT_PATCHES cannot select that name".to_owned());
    }
    if let Some(problem) = section.problems.first() {
        return Err(problem.to_string());
    }
    if section.entries.is_empty() {
        return Err("no entries".to_owned());
    }
    section
        .entries
        .iter()
        .map(|entry| {
            if entry_points::is_valid_target(entry.name)
                && entry_points::is_valid_value(&entry.value)
            {
                Ok(Hook {
                    target: entry.name.to_owned(),
                    hook: entry.value.clone().into_owned(),
                })
            } else {
                Err(format!(
                    "line {}: '{} = {}' is not 'target.module = patch.module:callable'",
                    entry.line, entry.name, entry.value
                ))
            }
        })
        .collect()
}

/// Groups sorted by name, each with its distributions sorted by name.
fn patch_groups(found: Vec<Found>, defaults: &BTreeSet<String>) -> Vec<PatchGroup> {
    let mut groups: Vec<PatchGroup> = Vec::new();
    for f in found {
        let (name, version) = name_and_version(&f.dist_dir);
        let distribution = Distribution {
            name,
            version,
            path: f.dist_dir,
            entries: f.entries,
        };
        match groups.iter_mut().find(|g| g.group == f.group) {
            Some(group) => group.distributions.push(distribution),
            None => groups.push(PatchGroup {
                enabled_by_default: defaults.contains(&f.group),
                group: f.group,
                distributions: vec![distribution],
            }),
        }
    }
    groups.sort_by(|a, b| a.group.cmp(&b.group));
    for group in &mut groups {
        group.distributions.sort_by(|a, b| {
            let key = |d: &Distribution| (d.name.to_lowercase(), d.path.clone());
            key(a).cmp(&key(b))
        });
    }
    groups
}

/// The distribution's `Name` and `Version` from its METADATA (PKG-INFO for
/// an `*.egg-info`), else from the directory name
/// (`name-version.dist-info`, `name-version-py3.9.egg-info`).
fn name_and_version(dist_dir: &Path) -> (String, Option<String>) {
    let file = if dist_dir.extension() == Some(OsStr::new("egg-info")) {
        "PKG-INFO"
    } else {
        "METADATA"
    };
    // Read as the scan reads: a FIFO or a huge file is no METADATA.
    let mut buf = Vec::new();
    let headers = match scan::read_metadata_file(&dist_dir.join(file), &mut buf) {
        Contents::Read => String::from_utf8(buf).unwrap_or_default(),
        Contents::Absent | Contents::TooLarge => String::new(),
    };
    let header = |key: &str| {
        headers
            .lines()
            .take_while(|line| !line.is_empty())
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                (name.eq_ignore_ascii_case(key) && !value.trim().is_empty())
                    .then(|| value.trim().to_owned())
            })
    };
    let stem = dist_dir
        .file_name()
        .and_then(OsStr::to_str)
        .and_then(|n| {
            n.strip_suffix(".dist-info")
                .or_else(|| n.strip_suffix(".egg-info"))
        })
        .unwrap_or_default();
    let mut parts = stem.splitn(3, '-');
    let dir_name = parts.next().unwrap_or_default().to_owned();
    let dir_version = parts.next().map(str::to_owned);
    (
        header("Name").unwrap_or(dir_name),
        header("Version").or(dir_version),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `patch_entries` of the one group in `text`.
    fn judge(text: &str) -> Result<Vec<(String, String)>, String> {
        let sections = entry_points::sections(text);
        assert_eq!(sections.len(), 1, "{text}");
        patch_entries(&sections[0]).map(|hooks| {
            hooks
                .into_iter()
                .map(|h| (h.target, h.hook))
                .collect::<Vec<_>>()
        })
    }

    #[test]
    fn a_patch_group_is_targets_and_callables() {
        assert_eq!(
            judge("[acme.patches]\nrequests = acme.req:patch\nos.path = acme.osp : Patcher.run [extra]\n"),
            Ok(vec![
                ("requests".into(), "acme.req:patch".into()),
                ("os.path".into(), "acme.osp:Patcher.run".into()),
            ])
        );
        assert_eq!(
            judge(
                "[wrapt_bootstrap.examples]\ntempfile = wrapt_bootstrap.examples:patch_tempfile\n"
            )
            .unwrap()
            .len(),
            1
        );
    }

    #[test]
    fn one_entry_of_another_shape_disqualifies_the_group() {
        for text in [
            "[g]\nrequests = acme.req:patch\nurllib3 = acme_no_callable\n",
            "[g]\nrequests = acme.req:patch\nnot-a-module = acme.x:patch\n",
            "[g]\nrequests = acme.req:patch\n2fast = acme.x:patch\n",
            "[g]\nrequests = acme.req:\n",
            "[g]\nrequests = acme.req:patch\nthis line has no equals sign\n",
            "[g;x]\nrequests = acme.req:patch\n",
        ] {
            let verdict = judge(text);
            assert!(verdict.is_err(), "{text:?} looked like a patch group");
        }
        assert_eq!(
            judge("[g]\nrequests = acme.req:patch\nurllib3 = acme_no_callable\n").unwrap_err(),
            "line 3: 'urllib3 = acme_no_callable' is not 'target.module = patch.module:callable'"
        );
    }

    #[test]
    fn other_tools_groups_need_the_name_rule() {
        // The shape alone would not tell them apart (the rule itself is
        // tested in wrapt-common).
        assert!(judge("[console_scripts]\npip = pip._internal.cli.main:main\n").is_ok());
        assert!(selection::is_other_tools_group("console_scripts"));
    }

    #[test]
    fn groups_sorted_and_defaults_marked() {
        let found = |group: &str, dir: &str| Found {
            group: group.into(),
            dist_dir: PathBuf::from(dir),
            entries: vec![Hook {
                target: "t".into(),
                hook: "m:f".into(),
            }],
        };
        let groups = patch_groups(
            vec![
                found("z.patches", "/nowhere/zed-1.0.dist-info"),
                found("a.patches", "/nowhere/Beta-2.0.dist-info"),
                found("a.patches", "/nowhere/alpha-1.0-py3.9.egg-info"),
            ],
            &BTreeSet::from(["z.patches".to_owned(), "absent".to_owned()]),
        );
        let summary: Vec<_> = groups
            .iter()
            .map(|g| {
                let dists: Vec<_> = g
                    .distributions
                    .iter()
                    .map(|d| (d.name.as_str(), d.version.as_deref()))
                    .collect();
                (g.group.as_str(), g.enabled_by_default, dists)
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "a.patches",
                    false,
                    vec![("alpha", Some("1.0")), ("Beta", Some("2.0"))]
                ),
                ("z.patches", true, vec![("zed", Some("1.0"))]),
            ]
        );
    }

    #[test]
    fn name_and_version_from_metadata_else_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dist = tmp.path().join("acme_patches-1.0.dist-info");
        std::fs::create_dir(&dist).unwrap();
        assert_eq!(
            name_and_version(&dist),
            ("acme_patches".into(), Some("1.0".into()))
        );
        std::fs::write(
            dist.join("METADATA"),
            "Metadata-Version: 2.1\nName: acme-patches\nVersion: 1.0.post1\n\nVersion: body text\n",
        )
        .unwrap();
        assert_eq!(
            name_and_version(&dist),
            ("acme-patches".into(), Some("1.0.post1".into()))
        );
        let egg = tmp.path().join("old.egg-info");
        std::fs::create_dir(&egg).unwrap();
        assert_eq!(name_and_version(&egg), ("old".into(), None));
        std::fs::write(egg.join("PKG-INFO"), "Name: Old\nVersion: 0.3\n").unwrap();
        assert_eq!(name_and_version(&egg), ("Old".into(), Some("0.3".into())));
    }
}
