//! The scan of distribution metadata on `sys.path` for entry points of some
//! groups: what `importlib.metadata.entry_points(group=...)` answers, done
//! fast enough to run at every interpreter startup.
//!
//! Semantics (those of `importlib.metadata`'s `MetadataPathFinder` and
//! `entry_points()` on 3.10+):
//! - path entries in order; entries that are not readable directories
//!   (files, zips, missing, unreadable) are skipped silently;
//! - within one, the children named `*.dist-info` / `*.egg-info`, in sorted
//!   (byte-wise) order so the result does not depend on the file system
//!   (importlib takes `os.listdir` order); like importlib we do not check
//!   that they are directories: an old `*.egg-info` *file* is a distribution
//!   too, it just has no entry points;
//! - the first distribution of each normalized name wins, across all path
//!   entries and across calls (the caller's `seen` set carries that);
//! - an `entry_points.txt` that cannot be opened or read (missing, or the
//!   `*.egg-info` is a file) means no entry points; a non-UTF-8 one is
//!   reported and that distribution skipped; a UTF-8 byte order mark is
//!   dropped.
//!
//! The pure-Python fallback (`templates/wrapt_bootstrap/_fallback.py`,
//! `scan`) does exactly this too; the same tests run against both.
//!
//! Cost: one `readdir` per path entry, one `open` per distribution and no
//! `stat` at all, one read buffer reused for every file, and a substring
//! search for the group names before any parsing, so the hundreds of
//! distributions that do not mention a requested group cost an open and a
//! read each.

use std::collections::HashSet;
#[cfg(not(unix))]
use std::fs;
use std::fs::File;
use std::hash::BuildHasher;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::{entry_points, names};

/// One entry point found by [`scan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub group: String,
    pub name: String,
    /// Extras removed, stripped (`module:attr`).
    pub value: String,
    /// The `*.dist-info` / `*.egg-info` directory it came from.
    pub dist_dir: PathBuf,
}

/// Something wrong with one distribution's `entry_points.txt`; the scan
/// went on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The `entry_points.txt` concerned.
    pub path: PathBuf,
    pub kind: ProblemKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// The file is not UTF-8: the whole distribution was skipped.
    NotUtf8,
    /// A line that is neither a section, a comment nor `name = value`.
    MalformedLine(entry_points::LineProblem),
}

impl std::fmt::Display for Problem {
    /// The fallback's wording (`{path}: not UTF-8`,
    /// `{path}:{line}: not 'name = value': {line!r}`), with Rust's quoting.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ProblemKind::NotUtf8 => write!(f, "{}: not UTF-8", self.path.display()),
            ProblemKind::MalformedLine(p) => write!(
                f,
                "{}:{}: not 'name = value': {:?}",
                self.path.display(),
                p.line,
                p.text
            ),
        }
    }
}

/// What one [`scan`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScanResult {
    pub entries: Vec<Entry>,
    pub problems: Vec<Problem>,
    /// The normalized names this scan added to `seen`, in scan order (so a
    /// caller keeping its own copy of `seen` can update it).
    pub added: Vec<String>,
}

const ENTRY_POINTS_TXT: &str = "entry_points.txt";
/// Far beyond any real `entry_points.txt` (the largest are a few hundred
/// kilobytes); a bound so that a stray device or huge file cannot stall
/// interpreter startup.
const MAX_FILE_SIZE: u64 = 64 << 20;

/// Scan `paths` (`sys.path` entries, in order) for entry points of `groups`.
///
/// `seen` holds the normalized names of distributions already taken; every
/// distribution met here is added to it, and one whose name is already there
/// is skipped, so a later scan of more path entries continues this one.
pub fn scan<P: AsRef<Path>, S: BuildHasher>(
    paths: &[P],
    groups: &[&str],
    seen: &mut HashSet<String, S>,
) -> ScanResult {
    let mut result = ScanResult::default();
    let mut buf = Vec::new();
    let mut dists: Vec<(String, String)> = Vec::new();
    for path in paths {
        let path = path.as_ref();
        // `sys.path` uses "" for the current directory.
        let dir = if path.as_os_str().is_empty() {
            Path::new(".")
        } else {
            path
        };
        dists.clear();
        list_dists(dir, &mut dists);
        if dists.is_empty() {
            continue;
        }
        dists.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut file = FileName::new(path);
        for (child, normalized) in dists.drain(..) {
            // `seen.insert` needs an owned key; check first so duplicates
            // (the common case on a second scan) cost no allocation.
            if seen.contains(&normalized) {
                continue;
            }
            seen.insert(normalized.clone());
            result.added.push(normalized);
            read_dist(file.entry_points(&child), groups, &mut buf, &mut result);
        }
    }
    result
}

/// `<dir>/<child>/entry_points.txt` for each child of one directory, in one
/// reused buffer: `PathBuf::push` and `pop` parse the path's components
/// every time, a third of the scan's instructions.
struct FileName {
    #[cfg(unix)]
    bytes: Vec<u8>,
    #[cfg(unix)]
    dir_len: usize,
    #[cfg(not(unix))]
    dir: PathBuf,
    #[cfg(not(unix))]
    file: PathBuf,
}

impl FileName {
    #[cfg(unix)]
    fn new(dir: &Path) -> Self {
        use std::os::unix::ffi::OsStrExt;
        let mut bytes = dir.as_os_str().as_bytes().to_vec();
        // As `Path::push` would: no separator after one already there.
        if !bytes.is_empty() && !bytes.ends_with(b"/") {
            bytes.push(b'/');
        }
        let dir_len = bytes.len();
        FileName { bytes, dir_len }
    }

    #[cfg(unix)]
    fn entry_points(&mut self, child: &str) -> &Path {
        use std::os::unix::ffi::OsStrExt;
        self.bytes.truncate(self.dir_len);
        self.bytes.extend_from_slice(child.as_bytes());
        self.bytes.push(b'/');
        self.bytes.extend_from_slice(ENTRY_POINTS_TXT.as_bytes());
        Path::new(std::ffi::OsStr::from_bytes(&self.bytes))
    }

    #[cfg(not(unix))]
    fn new(dir: &Path) -> Self {
        FileName {
            dir: dir.to_path_buf(),
            file: PathBuf::new(),
        }
    }

    #[cfg(not(unix))]
    fn entry_points(&mut self, child: &str) -> &Path {
        self.file = self.dir.join(child).join(ENTRY_POINTS_TXT);
        &self.file
    }
}

/// The metadata children of `dir` as `(file name, normalized name)`;
/// nothing when `dir` cannot be listed.
fn list_dists(dir: &Path, out: &mut Vec<(String, String)>) {
    // An empty sys.path entry means the current directory, to importlib too.
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    for_each_child(dir, |name| {
        if let Some(normalized) = names::normalized_dist_name(name) {
            out.push((name.to_owned(), normalized));
        }
    });
}

/// Calls `f` with the name of every child of `dir` that is UTF-8 (others
/// cannot name a Python distribution) and ends like a metadata directory;
/// nothing when `dir` cannot be listed.
///
/// On Unix with `readdir` itself: `fs::read_dir` allocates the name of
/// every entry, and the standard library's directory alone has hundreds:
/// that was half of the scan's instructions at startup.
#[cfg(unix)]
fn for_each_child(dir: &Path, mut f: impl FnMut(&str)) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return; // a NUL byte: no such directory
    };
    // SAFETY: `path` is a valid C string; the stream is used only while
    // open and closed exactly once; each entry's `d_name` is a C string
    // valid until the next `readdir` on the stream, and is not kept.
    unsafe {
        let stream = libc::opendir(path.as_ptr());
        if stream.is_null() {
            return;
        }
        loop {
            let entry = libc::readdir(stream);
            if entry.is_null() {
                break; // the end, or an error: either way what we have
            }
            let name = std::ffi::CStr::from_ptr((*entry).d_name.as_ptr()).to_bytes();
            if !(name.ends_with(b".dist-info") || name.ends_with(b".egg-info")) {
                continue;
            }
            if let Ok(name) = std::str::from_utf8(name) {
                f(name);
            }
        }
        libc::closedir(stream);
    }
}

#[cfg(not(unix))]
fn for_each_child(dir: &Path, mut f: impl FnMut(&str)) {
    let Ok(read_dir) = fs::read_dir(dir) else {
        return;
    };
    for child in read_dir.flatten() {
        if let Some(name) = child.file_name().to_str() {
            f(name);
        }
    }
}

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// Read one distribution's `entry_points.txt` (at `file`) into `result`.
fn read_dist(file: &Path, groups: &[&str], buf: &mut Vec<u8>, result: &mut ScanResult) {
    buf.clear();
    // Through `Take`: `File::read_to_end` asks `fstat` for a size hint,
    // one more system call per file, and the reused buffer needs none.
    if File::open(file)
        .and_then(|f| f.take(MAX_FILE_SIZE).read_to_end(buf))
        .is_err()
    {
        // Missing (no entry points), or the `*.egg-info` is a file, or
        // unreadable: importlib would not see entry points there either.
        return;
    }
    let bytes = buf.strip_prefix(b"\xef\xbb\xbf").unwrap_or(buf);
    let Ok(text) = std::str::from_utf8(bytes) else {
        // Only a file that could hold one of our groups is ours to report.
        if groups.iter().any(|g| contains_bytes(bytes, g.as_bytes())) {
            result.problems.push(Problem {
                path: file.to_path_buf(),
                kind: ProblemKind::NotUtf8,
            });
        }
        return;
    };
    // A section `[g]` for group `g` needs the text `g` somewhere: a file that
    // contains no requested group name cannot have their entries.
    let wanted: Vec<&str> = groups
        .iter()
        .copied()
        .filter(|g| text.contains(g))
        .collect();
    if wanted.is_empty() {
        return;
    }
    let mut found = Vec::new();
    let mut line_problems = Vec::new();
    entry_points::parse(text, &wanted, &mut found, &mut line_problems);
    result
        .problems
        .extend(line_problems.into_iter().map(|p| Problem {
            path: file.to_path_buf(),
            kind: ProblemKind::MalformedLine(p),
        }));
    if found.is_empty() {
        return;
    }
    let dist_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    result.entries.extend(found.into_iter().map(|e| Entry {
        group: e.group.to_owned(),
        name: e.name.to_owned(),
        value: e.value.into_owned(),
        dist_dir: dist_dir.clone(),
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let path = std::env::temp_dir().join(format!(
                "wrapt-common-scan-{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }

        fn dist(&self, dir: &str, entry_points: Option<&[u8]>) -> PathBuf {
            let d = self.0.join(dir);
            fs::create_dir_all(&d).unwrap();
            if let Some(text) = entry_points {
                fs::write(d.join(ENTRY_POINTS_TXT), text).unwrap();
            }
            d
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn triples(result: &ScanResult) -> Vec<(&str, &str, &str)> {
        result
            .entries
            .iter()
            .map(|e| (e.group.as_str(), e.name.as_str(), e.value.as_str()))
            .collect()
    }

    #[test]
    fn path_order_then_sorted_dists_then_file_order() {
        let a = TempDir::new();
        let b = TempDir::new();
        a.dist(
            "zeta-1.0.dist-info",
            Some(b"[g]\nz1 = zeta:one\nz2 = zeta:two\n"),
        );
        a.dist("alpha-2.0.dist-info", Some(b"[g]\na = alpha:hook\n"));
        b.dist("beta-1.0.dist-info", Some(b"[g]\nb = beta:hook\n"));
        let mut seen = HashSet::new();
        let result = scan(&[&b.0, &a.0], &["g"], &mut seen);
        assert_eq!(
            triples(&result),
            vec![
                ("g", "b", "beta:hook"),
                ("g", "a", "alpha:hook"),
                ("g", "z1", "zeta:one"),
                ("g", "z2", "zeta:two"),
            ]
        );
        assert_eq!(result.entries[1].dist_dir, a.0.join("alpha-2.0.dist-info"));
        assert!(result.problems.is_empty());
        let mut names: Vec<_> = seen.into_iter().collect();
        names.sort();
        assert_eq!(names, ["alpha", "beta", "zeta"]);
        assert_eq!(result.added, ["beta", "alpha", "zeta"]);
    }

    #[test]
    fn first_distribution_wins_per_normalized_name() {
        let a = TempDir::new();
        let b = TempDir::new();
        a.dist("Acme.Patches-1.0.dist-info", Some(b"[g]\nx = first:hook\n"));
        b.dist(
            "acme_patches-2.0.dist-info",
            Some(b"[g]\nx = second:hook\n"),
        );
        b.dist("ACME_patches.egg-info", Some(b"[g]\nx = third:hook\n"));
        let mut seen = HashSet::new();
        let result = scan(&[&a.0, &b.0], &["g"], &mut seen);
        assert_eq!(triples(&result), vec![("g", "x", "first:hook")]);

        // A later scan continues: names seen before stay taken.
        let c = TempDir::new();
        c.dist(
            "acme.patches-4.0.dist-info",
            Some(b"[g]\nx = fourth:hook\n"),
        );
        c.dist("other-1.0.egg-info", Some(b"[g]\ny = other:hook\n"));
        let result = scan(&[&c.0], &["g"], &mut seen);
        assert_eq!(triples(&result), vec![("g", "y", "other:hook")]);

        // Byte-wise order within a path entry: `ACME_...` sorts before `acme_...`.
        let mut seen = HashSet::new();
        let result = scan(&[&b.0, &a.0], &["g"], &mut seen);
        assert_eq!(triples(&result), vec![("g", "x", "third:hook")]);

        // A distribution without entry points still takes its name.
        let d = TempDir::new();
        d.dist("acme_patches-0.1.dist-info", None);
        let mut seen = HashSet::new();
        let result = scan(&[&d.0, &a.0], &["g"], &mut seen);
        assert!(result.entries.is_empty());
    }

    #[test]
    fn egg_info_missing_file_and_other_groups() {
        let a = TempDir::new();
        a.dist("old_style.egg-info", Some(b"[g]\nold = old_style.p:hook\n"));
        a.dist("nothing-1.0.dist-info", None);
        a.dist(
            "unrelated-1.0.dist-info",
            Some(b"[console_scripts]\nx = y:z\nbroken line\n"),
        );
        a.dist("not_metadata", Some(b"[g]\nno = no:no\n"));
        // An egg-info *file* is a distribution without entry points: it takes
        // its name, as in importlib.metadata.
        fs::write(a.0.join("file.egg-info"), b"Metadata-Version: 1.0\n").unwrap();
        let b = TempDir::new();
        b.dist("file-1.0.dist-info", Some(b"[g]\nno = no:no\n"));
        let mut seen = HashSet::new();
        let result = scan(&[&a.0, &b.0], &["g"], &mut seen);
        assert_eq!(triples(&result), vec![("g", "old", "old_style.p:hook")]);
        assert!(result.problems.is_empty(), "{:?}", result.problems);
        assert!(seen.contains("file"));
    }

    #[test]
    fn skips_what_is_not_a_directory() {
        let a = TempDir::new();
        a.dist("x-1.0.dist-info", Some(b"[g]\nx = x:h\n"));
        let file = a.0.join("some.zip");
        fs::write(&file, b"PK").unwrap();
        let missing = a.0.join("missing");
        let mut seen = HashSet::new();
        let result = scan(&[file, missing, a.0.clone()], &["g"], &mut seen);
        assert_eq!(triples(&result), vec![("g", "x", "x:h")]);
        assert!(result.problems.is_empty());
    }

    #[test]
    fn malformed_lines_extras_bom_crlf() {
        let a = TempDir::new();
        a.dist(
            "a-1.0.dist-info",
            Some(b"\xef\xbb\xbf[g]\r\nx = m:f [extra1, extra2]\r\nnot an entry\r\n[h]\r\ny = n:g\r\n"),
        );
        let mut seen = HashSet::new();
        let result = scan(&[&a.0], &["g", "h"], &mut seen);
        assert_eq!(triples(&result), vec![("g", "x", "m:f"), ("h", "y", "n:g")]);
        assert_eq!(result.problems.len(), 1);
        assert!(
            matches!(&result.problems[0].kind, ProblemKind::MalformedLine(p) if p.line == 3),
            "{}",
            result.problems[0]
        );
        assert!(result.problems[0]
            .path
            .ends_with("a-1.0.dist-info/entry_points.txt"));
    }

    #[test]
    fn non_utf8_is_reported_only_where_a_requested_group_could_be() {
        let a = TempDir::new();
        a.dist("unrelated-1.0.dist-info", Some(b"[other]\nx = m:\xff\n"));
        let mut seen = HashSet::new();
        let result = scan(&[&a.0], &["g"], &mut seen);
        assert!(result.problems.is_empty(), "{:?}", result.problems);
    }

    #[test]
    fn non_utf8_is_a_problem_and_the_scan_goes_on() {
        let a = TempDir::new();
        a.dist("bad-1.0.dist-info", Some(b"[g]\nx = m:\xff\n"));
        a.dist("good-1.0.dist-info", Some(b"[g]\ny = n:g\n"));
        let mut seen = HashSet::new();
        let result = scan(&[&a.0], &["g"], &mut seen);
        assert_eq!(triples(&result), vec![("g", "y", "n:g")]);
        assert_eq!(result.problems.len(), 1);
        assert_eq!(result.problems[0].kind, ProblemKind::NotUtf8);
        assert!(result.problems[0]
            .to_string()
            .ends_with("entry_points.txt: not UTF-8"));
    }

    #[test]
    fn group_name_search_is_exact_enough() {
        let a = TempDir::new();
        // `g` appears as a substring of `gg`, so the file is parsed, but only
        // the real `[g]` section counts.
        a.dist("a-1.0.dist-info", Some(b"[gg]\nx = m:f\n[g]\ny = n:g\n"));
        let mut seen = HashSet::new();
        let result = scan(&[&a.0], &["g"], &mut seen);
        assert_eq!(triples(&result), vec![("g", "y", "n:g")]);
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_dist_dir() {
        let a = TempDir::new();
        let real = a.dist("real_place", Some(b"[g]\nx = m:f\n"));
        std::os::unix::fs::symlink(&real, a.0.join("linked-1.0.dist-info")).unwrap();
        let mut seen = HashSet::new();
        let result = scan(&[&a.0], &["g"], &mut seen);
        assert_eq!(triples(&result), vec![("g", "x", "m:f")]);
    }
}
