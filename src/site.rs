//! The `sys.path` that `site` builds at startup, worked out without running
//! it: the probe says where the interpreter starts (`-S`) and which site
//! directories `site` would add, and the `.pth` files in them are read
//! here, as `site.addpackage` reads them, their path lines followed and
//! their import lines, which are code, never run.
//!
//! Per CPython's `Lib/site.py` (and PEP 829 from 3.15): the site
//! directories in order — the virtual environment's, the user
//! site-packages where enabled, the prefixes' — each added if it is a
//! directory, then each of its `*.pth` files in sorted order (from 3.13,
//! and 3.12.2, 3.11.8, 3.10.14 and 3.9.19, none whose name starts with a
//! dot), line by line: a `#` comment or a blank line is skipped, an
//! `import ` (or `import<TAB>`) line would be executed, and any other line
//! is a directory relative to the site directory, added if it exists and
//! is not on `sys.path` yet.
//!
//! Each `.pth` file is read as `--list` reads metadata
//! ([`scan::read_metadata_file`]: regular files only, never blocking,
//! within 64 MiB).
//!
//! How `site` reads one `.pth` file ([`pth_lines`]) or PEP 829 `.start`
//! file ([`start_entries`]), and which names it reads as such, is decided
//! here for the whole CLI: `--check`'s ordering doctor asks too.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::{Component, Path, PathBuf};

use wrapt_common::pystr;
use wrapt_common::scan::{self, Contents};

use crate::plan;
use crate::probe::Interpreter;

/// `sys.path` as `site` leaves it, and what reading the `.pth` files left
/// unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SysPath {
    pub entries: Vec<PathBuf>,
    /// Which entries came from `.pth` path lines (the others are the
    /// interpreter's own and the site directories).
    pub from_pth: HashSet<PathBuf>,
    /// `.pth` files with import lines that could add to `sys.path` (see
    /// [`adds_no_directory`]): not run, so what they add is missing.
    pub code: Vec<PathBuf>,
    /// `.pth` files over the size limit, not read.
    pub too_large: Vec<PathBuf>,
}

/// The `sys.path` of a process of the environment (without `PYTHONPATH`);
/// without the user site-packages unless `with_user_site`.
pub fn sys_path(info: &Interpreter, with_user_site: bool) -> SysPath {
    let rules = Rules::of(info.version);
    let mut path = SysPath::default();
    let mut known = HashSet::new();
    // site.removeduppaths(): the interpreter's own entries, made absolute.
    for entry in &info.path {
        let entry = absolute(entry);
        if known.insert(entry.clone()) {
            path.entries.push(entry);
        }
    }
    let user_site = (with_user_site && info.user_site_enabled).then_some(&info.user_site);
    let site_dirs = info
        .venv_site_dirs
        .iter()
        .chain(user_site)
        .chain(&info.site_dirs);
    // A directory comes twice (the environment's, then again as the first
    // prefix's): its .pth files add nothing the second time.
    let mut read = HashSet::new();
    for dir in site_dirs.filter(|dir| dir.is_dir()) {
        let dir = absolute(dir);
        if known.insert(dir.clone()) {
            path.entries.push(dir.clone());
        }
        if read.insert(dir.clone()) {
            add_pth_files(&dir, rules, &mut known, &mut path);
        }
    }
    path
}

/// Where the `site` of one Python version reads `.pth` files differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Names starting with a dot are skipped (gh-113659).
    skip_hidden: bool,
    /// Decoded as `utf-8-sig`, split by `str.splitlines` (3.13); before,
    /// read through a text file in the locale's encoding, split at
    /// `\n`, `\r` and `\r\n`.
    utf8_sig: bool,
    /// Lines stripped at both ends before anything else (PEP 829, 3.15).
    strip_first: bool,
}

impl Rules {
    pub fn of(version: [u32; 3]) -> Rules {
        let [major, minor, micro] = version;
        let skip_hidden = match (major, minor) {
            (3, 9) => micro >= 19,
            (3, 10) => micro >= 14,
            (3, 11) => micro >= 8,
            (3, 12) => micro >= 2,
            _ => (major, minor) >= (3, 13),
        };
        Rules {
            skip_hidden,
            utf8_sig: (major, minor) >= (3, 13),
            strip_first: (major, minor) >= (3, 15),
        }
    }

    /// Whether `site` reads `name`, in a site directory, as a `.pth` file.
    pub fn reads_pth(self, name: &OsStr) -> bool {
        let name = name.as_bytes();
        name.ends_with(b".pth") && !(self.skip_hidden && name.starts_with(b"."))
    }
}

/// site.addsitedir() after the directory itself: its `.pth` files, in
/// sorted order.
fn add_pth_files(dir: &Path, rules: Rules, known: &mut HashSet<PathBuf>, path: &mut SysPath) {
    let Ok(children) = std::fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<_> = children
        .filter_map(|child| Some(child.ok()?.file_name()))
        .filter(|name| rules.reads_pth(name))
        .collect();
    names.sort_unstable();
    let mut buf = Vec::new();
    for name in names {
        let file = dir.join(&name);
        match scan::read_metadata_file(&file, &mut buf) {
            Contents::Read => {}
            Contents::Absent => continue,
            Contents::TooLarge => {
                path.too_large.push(file);
                continue;
            }
        }
        let mut runs_code = false;
        for line in pth_lines(&buf, rules) {
            match line {
                PthLine::Path(line) => {
                    let entry = normalize(&dir.join(line));
                    if !known.contains(&entry) && entry.exists() {
                        known.insert(entry.clone());
                        path.from_pth.insert(entry.clone());
                        path.entries.push(entry);
                    }
                }
                PthLine::Import(line) => {
                    runs_code |= !adds_no_directory(&name, &line);
                }
            }
        }
        if runs_code {
            path.code.push(file);
        }
    }
}

/// One line of a `.pth` file that is not a comment or blank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PthLine {
    /// A directory, relative to the site directory, as bytes.
    Path(std::ffi::OsString),
    /// Code that `site` would execute.
    Import(String),
}

/// The lines of a `.pth` file, classified as `site` would. UTF-8 (after a
/// byte order mark, from 3.13); anything else is read as a single-byte
/// locale would read it (`site` falls back to the locale's encoding), a
/// character per byte, so that a path's bytes come through unchanged.
pub fn pth_lines(bytes: &[u8], rules: Rules) -> Vec<PthLine> {
    let bytes = if rules.utf8_sig {
        bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes)
    } else {
        bytes
    };
    let (text, single_byte) = match std::str::from_utf8(bytes) {
        Ok(text) => (std::borrow::Cow::Borrowed(text), false),
        Err(_) => (bytes.iter().map(|&b| char::from(b)).collect(), true),
    };
    let to_os = |line: &str| {
        if single_byte {
            // Each char is one byte by construction.
            std::ffi::OsString::from_vec(line.chars().map(|c| c as u8).collect())
        } else {
            OsStr::new(line).to_owned()
        }
    };
    let mut lines = Vec::new();
    let split: Vec<&str> = if rules.utf8_sig {
        pystr::splitlines(&text).collect()
    } else {
        pystr::text_file_lines(&text).collect()
    };
    for line in split {
        let line = if rules.strip_first {
            pystr::strip(line)
        } else {
            line
        };
        if line.starts_with('#') || pystr::strip(line).is_empty() {
            continue;
        }
        if is_import_line(line) {
            lines.push(PthLine::Import(line.to_owned()));
            continue;
        }
        // line.rstrip()
        lines.push(PthLine::Path(to_os(line.trim_end_matches(pystr::isspace))));
    }
    lines
}

/// Whether `site` executes a `.pth` line (already stripped where `site`
/// strips it) as code.
fn is_import_line(line: &str) -> bool {
    line.starts_with("import ") || line.starts_with("import\t")
}

/// Whether `site` reads `name`, in a site directory, as a PEP 829 `.start`
/// file (from 3.15; see [`plan::Activation::ignored_by`]).
pub fn reads_start(name: &OsStr) -> bool {
    let name = name.as_bytes();
    name.ends_with(b".start") && !name.starts_with(b".")
}

/// The entry points of a `.start` file, as `site` reads them (PEP 829):
/// UTF-8 after an optional byte order mark, else the file is skipped
/// (`None`); each line stripped, blank and `#` lines skipped.
pub fn start_entries(bytes: &[u8]) -> Option<Vec<&str>> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).ok()?;
    Some(
        pystr::splitlines(text)
            .map(pystr::strip)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect(),
    )
}

/// Whether an import line is one known to add no directory with
/// distributions to `sys.path`, so that not running it misses nothing:
/// ours; setuptools' `distutils-precedence.pth` (a finder for `distutils`)
/// and `*-nspkg.pth` (namespace package modules); and the finders of
/// editable installs (setuptools' `__editable___*_finder`, `editables`'
/// `_editable_impl_*`, scikit-build-core's and meson-python's
/// `_*_editable*`), which map module names to source directories while the
/// distribution's metadata stays in site-packages, where it is found.
fn adds_no_directory(file_name: &OsStr, line: &str) -> bool {
    let file_name = file_name.as_bytes();
    let first_module = line
        .trim_start_matches("import")
        .trim_start()
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .unwrap_or_default();
    file_name == plan::PTH.as_bytes()
        || file_name == b"distutils-precedence.pth"
        || file_name.ends_with(b"-nspkg.pth")
        || first_module.contains("editable")
}

/// `path` with every link resolved, or as it is where that fails.
pub fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_owned())
}

/// The `PYTHONPATH` entries as they land on `sys.path`, in order: Python
/// makes an empty or relative entry absolute against the working directory
/// it starts in.
pub fn pythonpath_entries(pythonpath: &std::ffi::OsStr, cwd: &Path) -> Vec<PathBuf> {
    std::env::split_paths(pythonpath)
        .map(|entry| {
            if entry.as_os_str().is_empty() {
                cwd.to_owned()
            } else {
                cwd.join(entry)
            }
        })
        .collect()
}

/// `os.path.abspath` of an absolute path, or of one relative to `/`, where
/// the probe runs.
fn absolute(path: &Path) -> PathBuf {
    normalize(&Path::new("/").join(path))
}

/// `os.path.normpath` of an absolute path: `.` and empty components
/// dropped, `..` taking the one before it away, without asking the file
/// system (a symlink is not resolved).
fn normalize(path: &Path) -> PathBuf {
    let mut normal = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::Normal(name) => normal.push(name),
            Component::ParentDir => {
                normal.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    normal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pythonpath_entries_are_made_absolute_as_python_does() {
        assert_eq!(
            pythonpath_entries(std::ffi::OsStr::new("/a::b/c:"), Path::new("/cwd")),
            [
                PathBuf::from("/a"),
                "/cwd".into(),
                "/cwd/b/c".into(),
                "/cwd".into()
            ]
        );
    }

    fn paths(text: &[u8], version: [u32; 3]) -> Vec<PthLine> {
        pth_lines(text, Rules::of(version))
    }

    fn path(text: &str) -> PthLine {
        PthLine::Path(text.into())
    }

    #[test]
    fn hidden_pth_files_are_skipped_from_the_releases_that_skip_them() {
        for (version, skip) in [
            ([3, 9, 18], false),
            ([3, 9, 19], true),
            ([3, 10, 13], false),
            ([3, 10, 14], true),
            ([3, 11, 7], false),
            ([3, 11, 8], true),
            ([3, 12, 1], false),
            ([3, 12, 2], true),
            ([3, 13, 0], true),
            ([3, 15, 0], true),
        ] {
            assert_eq!(Rules::of(version).skip_hidden, skip, "{version:?}");
        }
    }

    #[test]
    fn lines_are_classified_as_site_classifies_them() {
        let text = b"# comment\n\n   \n/abs\nrel/dir  \nimport os; os.system('x')\nimport\tsys\nimportant\n  import indented\n  # indented comment\n";
        assert_eq!(
            paths(text, [3, 12, 1]),
            [
                path("/abs"),
                path("rel/dir"),
                PthLine::Import("import os; os.system('x')".into()),
                PthLine::Import("import\tsys".into()),
                path("important"),
                // Not stripped before 3.15: a path, which will not exist.
                path("  import indented"),
                path("  # indented comment"),
            ]
        );
        // PEP 829: stripped first.
        assert_eq!(
            paths(text, [3, 15, 0]),
            [
                path("/abs"),
                path("rel/dir"),
                PthLine::Import("import os; os.system('x')".into()),
                PthLine::Import("import\tsys".into()),
                path("important"),
                PthLine::Import("import indented".into()),
            ]
        );
    }

    #[test]
    fn decoding_and_line_breaks_follow_the_version() {
        // A byte order mark is dropped from 3.13 on; before, it is part of
        // the first line.
        assert_eq!(paths(b"\xef\xbb\xbf/a\n", [3, 13, 0]), [path("/a")]);
        assert_eq!(paths(b"\xef\xbb\xbf/a\n", [3, 12, 1]), [path("\u{feff}/a")]);
        // str.splitlines() breaks at a form feed; a text file does not.
        assert_eq!(
            paths(b"/a\x0c/b\r/c\r\n/d", [3, 13, 0]),
            [path("/a"), path("/b"), path("/c"), path("/d")]
        );
        assert_eq!(
            paths(b"/a\x0c/b\r/c\r\n/d", [3, 12, 1]),
            [path("/a\x0c/b"), path("/c"), path("/d")]
        );
        // Not UTF-8: the bytes of the path come through as they are.
        assert_eq!(
            paths(b"/caf\xe9\n", [3, 13, 0]),
            [PthLine::Path(std::ffi::OsString::from_vec(
                b"/caf\xe9".to_vec()
            ))]
        );
    }

    #[test]
    fn start_files_are_read_as_pep_829_reads_them() {
        assert_eq!(
            start_entries(b"\xef\xbb\xbf# comment\n a:b \x1c\n\n\x0cc.d:e\r\n  # indented\n"),
            Some(vec!["a:b", "c.d:e"])
        );
        assert_eq!(start_entries(b"caf\xe9:run\n"), None);
        assert!(reads_start(OsStr::new("a.start")));
        assert!(!reads_start(OsStr::new(".a.start")));
        assert!(!reads_start(OsStr::new("a.start.txt")));
    }

    #[test]
    fn known_import_lines_add_no_directory() {
        let known = |file: &str, line: &str| adds_no_directory(OsStr::new(file), line);
        assert!(known("00_wrapt_bootstrap.pth", "import posix;..."));
        assert!(known(
            "distutils-precedence.pth",
            "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; ..."
        ));
        assert!(known(
            "zope.interface-5.0-py3.9-nspkg.pth",
            "import sys, types, os;..."
        ));
        assert!(known(
            "__editable__.acme-1.0.pth",
            "import __editable___acme_1_0_finder; __editable___acme_1_0_finder.install()"
        ));
        assert!(known("_acme.pth", "import _editable_impl_acme"));
        assert!(known("acme-editable.pth", "import _acme_editable_loader"));
        assert!(!known("evil.pth", "import os; os.system('curl ...')"));
        assert!(!known(
            "paths.pth",
            "import sys; sys.path.insert(0, '/opt/x')"
        ));
    }

    #[test]
    fn paths_are_normalized_without_the_file_system() {
        assert_eq!(normalize(Path::new("/a/./b//c/../d/")), Path::new("/a/b/d"));
        assert_eq!(normalize(Path::new("/../a")), Path::new("/a"));
        assert_eq!(absolute(Path::new("rel")), Path::new("/rel"));
    }

    #[test]
    fn sys_path_follows_path_lines_in_sorted_order_once_each() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let site = root.join("site-packages");
        for dir in ["site-packages", "a", "b", "hidden"] {
            std::fs::create_dir(root.join(dir)).unwrap();
        }
        std::fs::write(site.join("b.pth"), "../b\n../a\n").unwrap();
        std::fs::write(site.join("a.pth"), "../a\nmissing\n/\nimport os\n").unwrap();
        std::fs::write(site.join(".hidden.pth"), "../hidden\n").unwrap();
        std::fs::write(site.join("not-a-pth.txt"), "../hidden\n").unwrap();
        let info = Interpreter {
            path: vec!["/".into()],
            venv_site_dirs: vec![site.clone()],
            site_dirs: vec![site.clone(), root.join("nonexistent")],
            user_site: root.join("b"),
            user_site_enabled: true,
            ..Interpreter::example([3, 13, 0])
        };
        let found = sys_path(&info, false);
        assert_eq!(
            found.entries,
            [
                PathBuf::from("/"),
                site.clone(),
                root.join("a"),
                root.join("b")
            ]
        );
        assert_eq!(
            found.from_pth,
            HashSet::from([root.join("a"), root.join("b")])
        );
        assert_eq!(found.code, [site.join("a.pth")]);
        // The user site-packages comes after the environment's.
        let with_user = sys_path(&info, true);
        assert_eq!(with_user.entries.len(), 4);
        // 3.12.1 reads the hidden one too.
        let old = Interpreter {
            version: [3, 12, 1],
            ..info
        };
        assert!(sys_path(&old, false).entries.contains(&root.join("hidden")));
    }
}
