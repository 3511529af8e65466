//! Carrying out the decided changes, in the order that keeps every
//! intermediate state one the next run completes. Every change goes
//! through the pinned [`SitePackages`]: a directory swapped for a symlink
//! meanwhile fails the run instead of redirecting it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::error::Result;
use crate::plan::{self, is_activation, Plan, Stage};
use crate::site_packages::{self, Kind, SitePackages};

use super::decide::{Action, Change, InstallChanges, Problem};
use super::read::our_dirs;

/// Carries out an install's `changes` (from [`plan_install`], with
/// [`refusal`] already consulted), writing `plan`'s files: see
/// [`carry_out`]. With `deactivate_first`, the activation files present
/// are removed (and the removal made durable) before anything else, and
/// rewritten last. `done` is told about each change made. Returns the
/// number of directories removed.
///
/// [`plan_install`]: super::plan_install
/// [`refusal`]: super::refusal
pub fn apply_install(
    site: &SitePackages,
    plan: &Plan,
    install: &InstallChanges,
    done: impl FnMut(&Change),
) -> Result<usize> {
    let changes = &install.changes;
    remove_stale_temps_beside(site, changes)?;
    if install.deactivate_first {
        // plan_install marked them Replace (or Remove, an older version's).
        for change in changes.iter().filter(|c| is_activation(&c.path)) {
            if change.problem != Some(Problem::Directory) {
                site.remove_file(&change.path)?;
            }
        }
        site.sync()?;
    }
    let write = |change: &Change| {
        let file = plan
            .get(&change.path)
            .expect("only a plan's own files are written");
        debug_assert!(file.stage <= Stage::Activation);
        site.write_atomic(&file.path, &file.bytes, file.mode, plan::installed_mtime())
    };
    carry_out(site, changes, write, done)
}

/// Carries out an uninstall's `changes` (from [`plan_uninstall`], with
/// [`refusal`] already consulted), all removals: see [`carry_out`].
///
/// [`plan_uninstall`]: super::plan_uninstall
/// [`refusal`]: super::refusal
pub fn apply_uninstall(
    site: &SitePackages,
    changes: &[Change],
    done: impl FnMut(&Change),
) -> Result<usize> {
    remove_stale_temps_beside(site, changes)?;
    let write = |change: &Change| -> Result<()> {
        unreachable!("an uninstall writes nothing, yet {} was to be", change.path)
    };
    carry_out(site, changes, write, done)
}

/// Removes the temporaries a crashed run left in purelib and in the
/// directories `changes` touch.
fn remove_stale_temps_beside(site: &SitePackages, changes: &[Change]) -> Result<()> {
    let mut our_dirs: BTreeSet<&str> = BTreeSet::from([""]);
    for change in changes {
        if let Some((parent, _)) = change.path.rsplit_once('/') {
            our_dirs.insert(parent);
        }
    }
    for dir in our_dirs {
        remove_stale_temps(site, dir)?;
    }
    Ok(())
}

/// The removals marked `before_writes`, then the writes (`write`) in the
/// order given, then the other removals, then emptied directories. Returns
/// the number of directories removed.
fn carry_out(
    site: &SitePackages,
    changes: &[Change],
    mut write: impl FnMut(&Change) -> Result<()>,
    mut done: impl FnMut(&Change),
) -> Result<usize> {
    let mut removed = Vec::new();
    let early: Vec<&Change> = changes
        .iter()
        .filter(|c| c.action == Action::Remove && c.before_writes)
        .collect();
    remove_in_order(site, &early, &mut removed, &mut done)?;

    for change in changes {
        if matches!(change.action, Action::Create | Action::Replace) {
            write(change)?;
            done(change);
        }
    }

    let late: Vec<&Change> = changes
        .iter()
        .filter(|c| c.action == Action::Remove && !c.before_writes)
        .collect();
    remove_in_order(site, &late, &mut removed, &mut done)?;
    // A listed file already gone (a run interrupted after removing it)
    // leaves its directory and bytecode to clean up all the same.
    removed.extend(
        changes
            .iter()
            .filter(|c| c.action == Action::Missing)
            .map(|c| c.path.as_str()),
    );
    remove_emptied_dirs(site, &removed)
}

/// Makes `removals` in their order (activation files first), each
/// activation removal durable before the package goes; adds each path to
/// `removed`.
fn remove_in_order<'a>(
    site: &SitePackages,
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
            site.sync()?;
            activation_removed = false;
        }
        site.remove_file(&change.path)?;
        activation_removed |= is_activation(&change.path);
        removed.push(change.path.as_str());
        done(change);
    }
    if activation_removed {
        site.sync()?;
    }
    Ok(())
}

/// What an interrupted run may leave that no RECORD lists: temporary files
/// (in purelib and in our directories), and our directories left empty (a
/// run killed between `mkdir` and its first file, or after emptying them),
/// with their empty `__pycache__`; an empty `sitecustomize` directory would
/// import as a namespace package and hide a later sitecustomize. Removes
/// them; returns how many directories went. Only under the exclusive lock.
pub fn tidy(site: &SitePackages) -> Result<usize> {
    remove_stale_temps(site, "")?;
    let mut count = 0;
    let sitecustomize = plan::SITECUSTOMIZE
        .strip_suffix("/__init__.py")
        .expect("a package's __init__.py");
    let mut dirs = our_dirs(site)?;
    dirs.push(sitecustomize.to_owned());
    for dir in dirs {
        // An empty __pycache__ first: Python's, or left by a run that
        // removed its bytecode and was stopped before the directories.
        for dir in [format!("{dir}/__pycache__"), dir] {
            if site.kind(&dir)? == Some(Kind::Directory)
                && remove_temps_then_dir_if_empty(site, &dir)?
            {
                count += 1;
            }
        }
    }
    Ok(count)
}

/// Removes `dir` once our stale temporaries in it are gone, if nothing else
/// is left there; `Ok(false)` when it is not empty or already gone.
fn remove_temps_then_dir_if_empty(site: &SitePackages, dir: &str) -> Result<bool> {
    remove_stale_temps(site, dir)?;
    site.remove_dir_if_empty(dir)
}

/// Removes `.wrapt-install-*.tmp` files a crashed run left in `dir`.
fn remove_stale_temps(site: &SitePackages, dir: &str) -> Result<()> {
    for entry in site.list(dir)?.unwrap_or_default() {
        let Some(name) = entry.name.to_str() else {
            continue;
        };
        if site_packages::is_temp(name) && entry.kind == Kind::File {
            site.remove_file(&join(dir, name))?;
        }
    }
    Ok(())
}

/// `dir/name`, or `name` in site-packages itself.
fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// After removals: the bytecode of removed modules (`__pycache__/<stem>.*.pyc`,
/// which Python wrote, not us), then every directory that is now empty,
/// deepest first. Returns how many directories went.
fn remove_emptied_dirs(site: &SitePackages, removed: &[&str]) -> Result<usize> {
    // Directory (relative) -> stems of the modules removed from it.
    let mut modules: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    for path in removed {
        let mut ancestor = *path;
        while let Some((dir, _)) = ancestor.rsplit_once('/') {
            dirs.insert(dir.to_owned());
            ancestor = dir;
        }
        if let (Some(stem), Some("py")) = (
            Path::new(path).file_stem().and_then(|s| s.to_str()),
            Path::new(path).extension().and_then(|s| s.to_str()),
        ) {
            let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
            modules.entry(dir).or_default().insert(stem);
        }
    }
    for (dir, stems) in &modules {
        let pycache = join(dir, "__pycache__");
        // A symlinked __pycache__ is not ours to look into.
        if site.kind(&pycache)? != Some(Kind::Directory) {
            continue;
        }
        for entry in site.list(&pycache)?.unwrap_or_default() {
            let Some(name) = entry.name.to_str() else {
                continue;
            };
            let is_ours = Path::new(name).extension().is_some_and(|e| e == "pyc")
                && name
                    .split('.')
                    .next()
                    .is_some_and(|stem| stems.contains(stem))
                && entry.kind == Kind::File;
            if is_ours {
                site.remove_file(&format!("{pycache}/{name}"))?;
            }
        }
        dirs.insert(pycache);
    }

    let mut by_depth: Vec<String> = dirs.into_iter().collect();
    by_depth.sort_by_key(|d| std::cmp::Reverse(d.matches('/').count()));
    let mut count = 0;
    for dir in by_depth {
        if remove_temps_then_dir_if_empty(site, &dir)? {
            count += 1;
        }
    }
    Ok(count)
}
