//! Whole transactions on a temporary directory: install, reinstall,
//! upgrade, uninstall, interrupted runs completed, and refusals.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use super::decide::{Action, Problem};
use super::*;
use crate::error::{Error, Result};
use crate::plan::{self, Activation, Plan};
use crate::record::{self, RecordEntry};
use crate::site_packages::SitePackages;

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
    let site = SitePackages::open(purelib, None)?;
    site.lock(true, || {})?;
    let records = installed_records(&site, force)?;
    let plan = Plan::render(
        &defaults.iter().map(|s| (*s).to_owned()).collect(),
        activation,
    );
    let install = plan_install(&site, &plan, &records)?;
    if let Some(err) = refusal(&site, &install.changes, force) {
        return Err(err);
    }
    apply_install(&site, &plan, &install, |_| {})?;
    Ok(install.changes)
}

fn uninstall(purelib: &Path, force: bool) -> Result<Vec<Change>> {
    let site = SitePackages::open(purelib, None)?;
    let records = installed_records(&site, false)?;
    let changes = plan_uninstall(&site, &records)?;
    if let Some(err) = refusal(&site, &changes, force) {
        return Err(err);
    }
    apply_uninstall(&site, &changes, |_| {})?;
    Ok(changes)
}

/// Bytecode Python wrote for our modules is replaced by the bytecode an
/// install compiles, not refused as someone else's; anything else in
/// `__pycache__` stays someone else's.
#[test]
fn bytecode_python_wrote_is_replaced_by_ours() {
    let tmp = tempfile::tempdir().unwrap();
    let purelib = tmp.path();
    let site = SitePackages::open(purelib, None).unwrap();
    install(purelib, &[], false).unwrap();
    let pyc = "wrapt_bootstrap/__pycache__/__init__.cpython-312.pyc";
    write(purelib, pyc, b"written by Python");
    let records = installed_records(&site, false).unwrap();
    let mut plan = Plan::render(&BTreeSet::new(), Activation::Pth);
    plan.add_bytecode(vec![(pyc.to_owned(), b"compiled at install".to_vec())]);
    let install = plan_install(&site, &plan, &records).unwrap();
    let change = install.changes.iter().find(|c| c.path == pyc).unwrap();
    assert_eq!((change.action, change.problem), (Action::Replace, None));
    assert!(refusal(&site, &install.changes, false).is_none());
    apply_install(&site, &plan, &install, |_| {}).unwrap();
    assert_eq!(
        std::fs::read(purelib.join(pyc)).unwrap(),
        b"compiled at install"
    );
    let records = installed_records(&site, false).unwrap();
    assert_eq!(verify(&site, &records).unwrap().1, []);

    let mut plan = Plan::render(&BTreeSet::new(), Activation::Pth);
    let foreign = "wrapt_bootstrap/__pycache__/theirs.cpython-312.pyc";
    write(purelib, foreign, b"not ours");
    plan.add_bytecode(vec![(foreign.to_owned(), b"ours?".to_vec())]);
    let changes = plan_install(&site, &plan, &records).unwrap().changes;
    let change = changes.iter().find(|c| c.path == foreign).unwrap();
    assert_eq!(change.problem, Some(Problem::Foreign));
}

#[test]
fn install_reinstall_uninstall_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let purelib = tmp.path();
    let site = SitePackages::open(purelib, None).unwrap();
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
    let records = installed_records(&site, false).unwrap();
    assert_eq!(
        installed_defaults(&site, &records),
        BTreeSet::from(["acme.patches".to_owned()])
    );
    // RECORD included.
    assert_eq!(verify(&site, &records).unwrap(), (13, vec![]));

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
    assert!(installed_records(&site, false).unwrap().is_empty());
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
    let site = SitePackages::open(purelib, None).unwrap();
    write(purelib, "unrelated.py", b"");
    install(purelib, &["acme"], false).unwrap();
    std::fs::remove_file(purelib.join("wrapt_bootstrap-0.1.0.dist-info/RECORD")).unwrap();
    std::fs::remove_file(purelib.join("00_wrapt_bootstrap.pth")).unwrap();
    write(
        purelib,
        "wrapt_bootstrap/examples.py",
        b"edited: not ours any more\n",
    );
    assert!(installed_records(&site, false).unwrap().is_empty());

    let mut records = Vec::new();
    records.extend(leftover_record(&site, &records).unwrap());
    assert_eq!(records[0].entries.len(), 10, "{:?}", records[0].entries);
    let changes = plan_uninstall(&site, &records).unwrap();
    assert!(refusal(&site, &changes, false).is_none());
    apply_uninstall(&site, &changes, |_| {}).unwrap();
    assert_eq!(
        listing(purelib),
        [
            "unrelated.py",
            "wrapt_bootstrap/",
            "wrapt_bootstrap/examples.py"
        ]
    );
    assert!(leftover_record(&site, &[]).unwrap().is_none());
}

#[test]
fn upgrade_removes_what_the_old_record_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let purelib = tmp.path();
    let site = SitePackages::open(purelib, None).unwrap();
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
    let records = installed_records(&site, false).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].version(), "0.1.0");
}

#[test]
fn only_a_change_of_defaults_stays_live() {
    let tmp = tempfile::tempdir().unwrap();
    let purelib = tmp.path();
    let site = SitePackages::open(purelib, None).unwrap();
    install(purelib, &[], false).unwrap();
    let records = installed_records(&site, false).unwrap();
    let enable = Plan::render(&BTreeSet::from(["acme".to_owned()]), Activation::Pth);
    let install = plan_install(&site, &enable, &records).unwrap();
    assert!(!install.deactivate_first, "{install:?}");

    // Any other package file replaced: activation out first, back last.
    write(purelib, "wrapt_bootstrap/examples.py", b"edited\n");
    let mut install = plan_install(&site, &enable, &records).unwrap();
    assert!(install.deactivate_first, "{install:?}");
    let pth = install
        .changes
        .iter()
        .find(|c| c.path == plan::PTH)
        .unwrap();
    assert_eq!(pth.action, Action::Replace, "rewritten, so reported");
    for change in &mut install.changes {
        change.problem = None; // as --force
    }
    apply_install(&site, &enable, &install, |_| {}).unwrap();
    assert!(purelib.join(plan::PTH).is_file());
}

#[test]
fn start_mode_writes_its_package_first_and_removes_it_last() {
    let tmp = tempfile::tempdir().unwrap();
    let purelib = tmp.path();
    let site = SitePackages::open(purelib, None).unwrap();
    write(purelib, "other/__init__.py", b"x = 1\n");
    let before = listing(purelib);
    let changes = install_as(purelib, &[], Activation::Start, false).unwrap();
    let written: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    let at = |path: &str| written.iter().position(|p| *p == path).unwrap();
    assert!(at(plan::START_PACKAGE) < at("wrapt_bootstrap-0.1.0.dist-info/RECORD"));
    assert_eq!(written.last(), Some(&plan::START), "{written:?}");
    assert!(!purelib.join(plan::PTH).exists());
    let records = installed_records(&site, false).unwrap();
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
    let site = SitePackages::open(purelib, None).unwrap();
    install(purelib, &[], false).unwrap();
    // What earlier installs wrote: the .start beside the .pth, in RECORD.
    let earlier_start = b"wrapt_bootstrap:_activate\n";
    write(purelib, plan::START, earlier_start);
    let record_path = "wrapt_bootstrap-0.1.0.dist-info/RECORD";
    let mut entries = installed_records(&site, false).unwrap()[0].entries.clone();
    entries.push(RecordEntry::for_bytes(plan::START, earlier_start));
    write(purelib, record_path, &record::render(&entries, record_path));
    let records = installed_records(&site, false).unwrap();
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
    let site = SitePackages::open(purelib, None).unwrap();
    std::os::unix::fs::symlink(outside.path(), purelib.join("wrapt_bootstrap")).unwrap();
    let err = install(purelib, &[], true).unwrap_err();
    assert!(matches!(err, Error::SymlinkedDirectory { .. }), "{err}");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);

    // A RECORD pointing outside is refused before anything is touched.
    std::fs::remove_file(purelib.join("wrapt_bootstrap")).unwrap();
    let rel = "wrapt_bootstrap-0.0.1.dist-info/RECORD";
    write(purelib, rel, b"../../etc/passwd,,\n");
    let err = installed_records(&site, false).unwrap_err();
    assert!(matches!(err, Error::UnsafePath { .. }), "{err}");
    assert_eq!(err.exit_code(), crate::error::EXIT_REFUSED);
}
