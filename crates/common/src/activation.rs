//! The bookkeeping of one process's activation, the native module's state
//! (`crates/bootstrap/src/activation.rs` holds one per process and does the
//! Python side): whether the environment was read, what it selected, the
//! tool that skipped it, which `sys.path` entries and distributions the
//! scans took, and what was registered, for `status()`. Plain Rust, so the
//! order of the decisions is unit-tested here.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::scan::{self, ScanResult};
use crate::selection::Selection;

/// One process's activation; starts undecided.
#[derive(Debug, Default)]
pub struct Activation {
    decided: bool,
    active: bool,
    /// `WRAPT_PATCHES_DEBUG` has named the enabled groups that no
    /// distribution declares (once, when startup's scans are done).
    missing_reported: bool,
    /// The program name that made this process a tool process.
    skipped: Option<String>,
    selected: Vec<String>,
    autowrapt_groups: Vec<String>,
    /// Normalized names of the distributions taken by the startup scans.
    seen: HashSet<String>,
    scanned_paths: HashSet<PathBuf>,
    /// Entry points registered per group, in the order groups were named.
    entry_counts: Vec<(String, usize)>,
    registered: Vec<Registration>,
}

/// One entry point registered as a hook, as `wrapt-install --check`'s
/// ordering doctor reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub group: String,
    pub target: String,
    pub hook: String,
    /// The target was already imported: the hook fired at once, too late
    /// for references other code took before.
    pub late: bool,
}

/// What `status()` reports, copied out of the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub active: bool,
    pub selected: Vec<String>,
    pub skipped_as_tool: Option<String>,
    pub entry_points: Vec<(String, usize)>,
    pub registered: Vec<Registration>,
}

impl Activation {
    /// Whether this is the first call: the environment is read once per
    /// process (site processes a venv's site-packages twice, and every
    /// subinterpreter runs site again), so that a warning prints once.
    pub fn decide(&mut self) -> bool {
        !std::mem::replace(&mut self.decided, true)
    }

    /// This process is a tool process, named by `tool`: nothing activates.
    pub fn skip(&mut self, tool: String) {
        self.skipped = Some(tool);
    }

    /// Activate `selection`: each of its groups counts zero entry points
    /// until the scans find some.
    pub fn start(&mut self, selection: Selection) {
        self.active = true;
        for group in selection.groups.iter().chain(&selection.autowrapt_groups) {
            self.count_entry(group, 0);
        }
        self.selected = selection.groups;
        self.autowrapt_groups = selection.autowrapt_groups;
    }

    pub fn is_active(&self) -> bool {
        self.active
    }

    /// The entries of `paths` no scan has taken yet, now taken.
    pub fn new_paths(&mut self, paths: Vec<PathBuf>) -> Vec<PathBuf> {
        paths
            .into_iter()
            .filter(|path| self.scanned_paths.insert(path.clone()))
            .collect()
    }

    /// Scan `paths` for the enabled groups, continuing the scans before it
    /// (the first distribution of a name wins, as in importlib.metadata).
    /// Also returns the groups whose entries are left to autowrapt, which
    /// owns `AUTOWRAPT_BOOTSTRAP` when installed, so that no hook fires twice.
    pub fn scan(&mut self, paths: &[impl AsRef<Path>]) -> (ScanResult, Vec<String>) {
        let groups = self.enabled_groups();
        let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
        let result = scan::scan(paths, &groups, &mut self.seen);
        let autowrapt_installed = self.seen.contains("autowrapt");
        (result, self.left_to_autowrapt(autowrapt_installed))
    }

    /// The groups whose entry points are autowrapt's to register: its
    /// `AUTOWRAPT_BOOTSTRAP` ones, when it is installed.
    pub fn left_to_autowrapt(&self, autowrapt_installed: bool) -> Vec<String> {
        if autowrapt_installed {
            self.autowrapt_groups.clone()
        } else {
            Vec::new()
        }
    }

    /// An entry point about to be registered as a hook (which may fire it).
    pub fn record(&mut self, registration: Registration) {
        self.registered.push(registration);
    }

    /// An entry point of `group` registered: one more in `status()`.
    pub fn count(&mut self, group: &str) {
        self.count_entry(group, 1);
    }

    /// The enabled groups, the first time startup's scans are done; `None`
    /// after (they are reported missing once).
    pub fn groups_to_report_missing(&mut self) -> Option<Vec<String>> {
        (!std::mem::replace(&mut self.missing_reported, true)).then(|| self.enabled_groups())
    }

    pub fn status(&self) -> Status {
        Status {
            active: self.active,
            selected: self.selected.clone(),
            skipped_as_tool: self.skipped.clone(),
            entry_points: self.entry_counts.clone(),
            registered: self.registered.clone(),
        }
    }

    /// The groups to register: `WRAPT_PATCHES`'s, then those only
    /// `AUTOWRAPT_BOOTSTRAP` names.
    fn enabled_groups(&self) -> Vec<String> {
        let mut groups = self.selected.clone();
        for group in &self.autowrapt_groups {
            if !groups.contains(group) {
                groups.push(group.clone());
            }
        }
        groups
    }

    fn count_entry(&mut self, group: &str, add: usize) {
        match self.entry_counts.iter_mut().find(|(name, _)| name == group) {
            Some((_, count)) => *count += add,
            None => self.entry_counts.push((group.to_owned(), add)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selection(groups: &[&str], autowrapt: &[&str]) -> Selection {
        Selection {
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            autowrapt_groups: autowrapt.iter().map(|g| (*g).to_owned()).collect(),
            invalid: Vec::new(),
            other_tools: Vec::new(),
        }
    }

    fn registration(group: &str, target: &str) -> Registration {
        Registration {
            group: group.to_owned(),
            target: target.to_owned(),
            hook: "p:f".to_owned(),
            late: false,
        }
    }

    #[test]
    fn decided_once() {
        let mut activation = Activation::default();
        assert!(activation.decide());
        assert!(!activation.decide());
        assert!(!activation.is_active());
    }

    #[test]
    fn a_tool_process_stays_inactive_and_says_why() {
        let mut activation = Activation::default();
        activation.skip("pip".to_owned());
        let status = activation.status();
        assert!(!status.active);
        assert_eq!(status.skipped_as_tool.as_deref(), Some("pip"));
    }

    #[test]
    fn groups_count_from_zero_in_the_order_named() {
        let mut activation = Activation::default();
        activation.start(selection(&["b", "a"], &["a", "c"]));
        for (group, target) in [("c", "t"), ("b", "t"), ("b", "u")] {
            activation.record(registration(group, target));
            activation.count(group);
        }
        let status = activation.status();
        assert!(status.active);
        assert_eq!(status.selected, ["b", "a"]);
        assert_eq!(
            status.entry_points,
            [
                ("b".to_owned(), 2),
                ("a".to_owned(), 0),
                ("c".to_owned(), 1)
            ]
        );
        assert_eq!(
            status.registered,
            [
                registration("c", "t"),
                registration("b", "t"),
                registration("b", "u")
            ]
        );
    }

    #[test]
    fn each_path_is_scanned_once() {
        let mut activation = Activation::default();
        let first = activation.new_paths(vec!["/a".into(), "/b".into()]);
        assert_eq!(first, [PathBuf::from("/a"), PathBuf::from("/b")]);
        let second = activation.new_paths(vec!["/b".into(), "/c".into(), "/a".into()]);
        assert_eq!(second, [PathBuf::from("/c")]);
    }

    #[test]
    fn missing_groups_are_reported_once_selected_first() {
        let mut activation = Activation::default();
        activation.start(selection(&["b", "a"], &["a", "c"]));
        assert_eq!(
            activation.groups_to_report_missing(),
            Some(vec!["b".to_owned(), "a".to_owned(), "c".to_owned()])
        );
        assert_eq!(activation.groups_to_report_missing(), None);
    }

    fn dist(root: &Path, dir: &str, entry_points: &str) {
        let dist = root.join(dir);
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(dist.join("entry_points.txt"), entry_points).unwrap();
    }

    #[test]
    fn later_scans_continue_and_autowrapt_keeps_its_groups() {
        let root = std::env::temp_dir().join(format!("wrapt-activation-{}", std::process::id()));
        let (first, second) = (root.join("first"), root.join("second"));
        dist(&first, "p-1.0.dist-info", "[g]\nt = p:f\n[h]\nu = p:f\n");
        dist(&second, "P-2.0.dist-info", "[g]\nshadowed = p:f\n");
        dist(&second, "q-1.0.dist-info", "[g]\nv = q:f\n");
        let mut activation = Activation::default();
        activation.start(selection(&["g"], &["h"]));

        let (result, autowrapt_owned) = activation.scan(&[&first]);
        let names: Vec<_> = result.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["t", "u"]);
        assert!(autowrapt_owned.is_empty());

        dist(&second, "autowrapt-1.0.dist-info", "");
        let (result, autowrapt_owned) = activation.scan(&[&second]);
        let names: Vec<_> = result.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["v"]);
        assert_eq!(autowrapt_owned, ["h"]);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
