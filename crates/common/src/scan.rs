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
//!   `*.egg-info` is a file) means no entry points, and so does one that is
//!   not a regular file (a directory, as for importlib, but also a FIFO, a
//!   device or a symlink to one, which importlib would block on or read
//!   without end: see [`read_metadata_file`]); a non-UTF-8 one is reported
//!   and that distribution skipped; a UTF-8 byte order mark is dropped;
//! - one larger than [`MAX_FILE_SIZE`] is not read, but reported: no real
//!   one comes near, importlib would read it whole, and it could hold a
//!   requested group, which only reading it could rule out.
//!
//! The pure-Python fallback (`templates/wrapt_bootstrap/_fallback.py`,
//! `scan`) does exactly this too; the same tests run against both.
//!
//! Cost: one `readdir` per path entry, one `open` per distribution and one
//! `fstat` per `entry_points.txt` found (no `stat` of a path), buffers
//! reused for every name and file, and no sort of a
//! directory's distributions (they are read in `readdir` order; only the
//! few files that mention a requested group are put in order). Each file's
//! raw bytes are searched for the group names, with searchers built once
//! per scan, before any UTF-8 validation or parsing, so the hundreds of
//! distributions that do not mention a requested group cost an open, a
//! read and a search each.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};

use memchr::memmem;

use crate::{entry_points, names, selection};

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
    /// The file is larger than [`MAX_FILE_SIZE`]: not read, the whole
    /// distribution skipped.
    TooLarge,
    /// A line that is neither a section, a comment nor `name = value`.
    MalformedLine(entry_points::LineProblem),
}

impl std::fmt::Display for Problem {
    /// The fallback's wording (`{path}: not UTF-8`, `{path}: larger than 64
    /// MiB`, `{path}:{line}: not 'name = value': {line!r}`), with Rust's
    /// quoting.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ProblemKind::NotUtf8 => write!(f, "{}: not UTF-8", self.path.display()),
            ProblemKind::TooLarge => write!(f, "{}: {TOO_LARGE}", self.path.display()),
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
}

/// Take `name` into `seen`, the normalized names of the distributions taken
/// so far: `true` if it was not taken before (and now is).
fn take<S: BuildHasher>(seen: &mut HashSet<String, S>, name: &str) -> bool {
    // `contains` first: a key for `insert` must be allocated.
    !seen.contains(name) && seen.insert(name.to_owned())
}

const ENTRY_POINTS_TXT: &str = "entry_points.txt";
/// Far beyond any real `entry_points.txt` (the largest are a few hundred
/// kilobytes); a bound so that a huge (or sparse) file cannot stall
/// interpreter startup or exhaust its memory. The fallback's
/// `_MAX_FILE_SIZE` is held equal to it by a test in `src/plan.rs`.
pub const MAX_FILE_SIZE: usize = 64 << 20;
/// How a [`ProblemKind::TooLarge`] is worded, after the path.
pub const TOO_LARGE: &str = "larger than 64 MiB";
const BOM: &[u8] = b"\xef\xbb\xbf";

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
    // Built once per scan and reused for every file: building a searcher
    // per file and group (as `str::contains` does) cost more than the search.
    let finders: Vec<memmem::Finder<'_>> = groups.iter().map(memmem::Finder::new).collect();
    let mut dir = DirScan::with_capacity();
    let mut buf = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let listed = listed_dir(path);
        dir.clear();
        for_each_child(listed, |child| dir.add(child, seen));
        if dir.taken.is_empty() {
            continue;
        }
        dir.resolve_siblings();
        let mut file = FileName::new(path);
        for (index, taken) in dir.taken.iter().enumerate() {
            let path = file.entry_points(child(&dir.names, taken));
            match read_file(path, &mut buf) {
                Contents::Read => {}
                // Missing (no entry points), or the `*.egg-info` is a file,
                // or unreadable, or no regular file: importlib would not see
                // entry points there either (or never finish reading).
                Contents::Absent => continue,
                // Reported in sorted order with the others, as the fallback
                // reports it.
                Contents::TooLarge => {
                    dir.hits.push((index, None));
                    continue;
                }
            }
            // A section `[g]` for group `g` needs the bytes of `g` somewhere:
            // a file that contains no requested group name cannot have their
            // entries, nor is it ours to report when it is not UTF-8. Most
            // files stop here, unparsed and unvalidated.
            let bytes = buf.strip_prefix(BOM).unwrap_or(&buf);
            if finders.iter().any(|f| f.find(bytes).is_some()) {
                dir.hits.push((index, Some(std::mem::take(&mut buf))));
            }
        }
        // Files were read in directory order; results go in sorted order.
        let DirScan {
            names, taken, hits, ..
        } = &mut dir;
        hits.sort_unstable_by(|a, b| child(names, &taken[a.0]).cmp(child(names, &taken[b.0])));
        for (index, bytes) in hits.drain(..) {
            let path = file.entry_points(child(names, &taken[index]));
            match bytes {
                Some(bytes) => read_dist(path, &bytes, groups, &finders, &mut result),
                None => result.problems.push(Problem {
                    path: path.as_path().to_path_buf(),
                    kind: ProblemKind::TooLarge,
                }),
            }
        }
    }
    result
}

/// One child taken from a directory: its file name and normalized
/// distribution name, as ranges of [`DirScan::names`].
#[derive(Clone, Copy)]
struct Taken {
    start: usize,
    mid: usize,
    end: usize,
}

/// The metadata children of one directory, kept in buffers reused for every
/// directory: a `String` or two per distribution, and sorting them, were
/// most of the scan's cost (BENCHMARKS.md, "The native module's design
/// numbers").
#[derive(Default)]
struct DirScan {
    /// Each child's file name followed by its normalized name.
    names: String,
    /// The children that took a name not taken before, in directory order.
    taken: Vec<Taken>,
    /// The children whose name was taken already: by an earlier path entry
    /// (or scan), or by a sibling that may sort after them.
    duplicates: Vec<Taken>,
    /// Indices into `taken` whose file holds a requested group name, with
    /// the file's bytes, or whose file was too large to read (`None`).
    hits: Vec<(usize, Option<Vec<u8>>)>,
}

fn child<'a>(names: &'a str, taken: &Taken) -> &'a str {
    &names[taken.start..taken.mid]
}

fn normalized<'a>(names: &'a str, taken: &Taken) -> &'a str {
    &names[taken.mid..taken.end]
}

impl DirScan {
    /// Room for a few hundred distributions from the start: growing the
    /// buffers by doubling copied them a dozen times per scan.
    fn with_capacity() -> Self {
        DirScan {
            names: String::with_capacity(16 << 10),
            taken: Vec::with_capacity(256),
            ..DirScan::default()
        }
    }

    fn clear(&mut self) {
        self.names.clear();
        self.taken.clear();
        self.duplicates.clear();
        self.hits.clear();
    }

    /// Take `name` (a child of the directory) into `seen`, if it is a
    /// distribution.
    fn add<S: BuildHasher>(&mut self, name: &str, seen: &mut HashSet<String, S>) {
        let start = self.names.len();
        self.names.push_str(name);
        let mid = self.names.len();
        if !names::push_normalized_dist_name(name, &mut self.names) {
            self.names.truncate(start);
            return;
        }
        let end = self.names.len();
        let taken = Taken { start, mid, end };
        if take(seen, &self.names[mid..end]) {
            self.taken.push(taken);
        } else {
            self.duplicates.push(taken);
        }
    }

    /// Where two children of this directory have the same normalized name,
    /// the first in byte-wise order wins, as if the directory had been read
    /// sorted; `add` took whichever came first from `readdir`. Rare, so only
    /// a directory with duplicates pays for a sort.
    fn resolve_siblings(&mut self) {
        if self.duplicates.is_empty() {
            return;
        }
        let names = &self.names;
        self.taken
            .sort_unstable_by(|a, b| normalized(names, a).cmp(normalized(names, b)));
        for duplicate in &self.duplicates {
            let Ok(at) = self
                .taken
                .binary_search_by(|t| normalized(names, t).cmp(normalized(names, duplicate)))
            else {
                continue; // taken by an earlier path entry
            };
            if child(names, duplicate) < child(names, &self.taken[at]) {
                self.taken[at] = *duplicate;
            }
        }
    }
}

/// `<dir>/<child>/entry_points.txt` for each child of one directory, in one
/// reused buffer: `PathBuf::push` and `pop` parse the path's components
/// every time (their cost: BENCHMARKS.md, "The native module's design
/// numbers"). The buffer ends
/// with a NUL, so that it is the C string `open` wants as it stands.
struct FileName {
    bytes: Vec<u8>,
    dir_len: usize,
}

/// A path in a [`FileName`] buffer, NUL-terminated.
#[derive(Clone, Copy)]
struct FilePath<'a>(&'a [u8]);

impl FilePath<'_> {
    fn as_path(&self) -> &Path {
        use std::os::unix::ffi::OsStrExt;
        Path::new(std::ffi::OsStr::from_bytes(&self.0[..self.0.len() - 1]))
    }
}

impl FileName {
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

    fn entry_points(&mut self, child: &str) -> FilePath<'_> {
        self.bytes.truncate(self.dir_len);
        self.bytes.extend_from_slice(child.as_bytes());
        self.bytes.push(b'/');
        self.bytes.extend_from_slice(ENTRY_POINTS_TXT.as_bytes());
        self.bytes.push(0);
        FilePath(&self.bytes)
    }
}

/// Calls `f` with the name of every child of `dir` that is UTF-8 (others
/// cannot name a Python distribution) and ends like a metadata directory;
/// nothing when `dir` cannot be listed.
///
/// With `readdir` itself: `fs::read_dir` allocates the name of
/// every entry, and the standard library's directory alone has hundreds
/// (the cost: BENCHMARKS.md, "The native module's design numbers").
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
            if name.is_ascii() {
                // SAFETY: ASCII is UTF-8. (Nearly every name is ASCII, and
                // this check costs a fraction of `from_utf8`'s.)
                f(std::str::from_utf8_unchecked(name));
            } else if let Ok(name) = std::str::from_utf8(name) {
                f(name);
            }
        }
        libc::closedir(stream);
    }
}

/// What reading one metadata file gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    /// Its bytes are in the buffer.
    Read,
    /// Missing, unreadable, or not a regular file: nothing to read.
    Absent,
    /// A regular file larger than [`MAX_FILE_SIZE`]: not read.
    TooLarge,
}

/// Read the file at `path` into `buf` (cleared first) as the scan reads
/// each `entry_points.txt`, never blocking and never holding more than
/// [`MAX_FILE_SIZE`] bytes: for the other readers of distribution metadata
/// (`wrapt-install --list`).
///
/// Only a regular file is read, as `fstat` of the opened file says (a
/// symlink counts as what it points to): opened with `O_NONBLOCK`, a FIFO
/// without a writer does not block the `open`, and it, a device (a symlink
/// to `/dev/zero` would never end) or a directory is then [`Absent`]. A
/// file `fstat` says is larger than the limit is not read at all; one that
/// grows past it while read is still [`TooLarge`].
///
/// [`Absent`]: Contents::Absent
/// [`TooLarge`]: Contents::TooLarge
pub fn read_metadata_file(path: &Path, buf: &mut Vec<u8>) -> Contents {
    use std::os::unix::ffi::OsStrExt;
    buf.clear();
    let Ok(path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return Contents::Absent; // a NUL byte: no such file
    };
    // SAFETY: `path` is a C string.
    unsafe { read_c_path(path.as_ptr(), buf) }
}

/// [`read_metadata_file`] on the path a [`FileName`] buffer holds.
///
/// With `open` and `read` themselves, on the NUL-terminated path the
/// buffer already holds: `File::open` copies the path to add the NUL and
/// checks it for others, and `read_to_end` probes with extra reads; at
/// hundreds of files per startup that was a tenth of the scan.
fn read_file(path: FilePath<'_>, buf: &mut Vec<u8>) -> Contents {
    buf.clear();
    // No NUL inside: the directory's name went through `CString::new` for
    // `opendir` before any child was listed, and a child's name has none.
    debug_assert!(path.0.iter().position(|&b| b == 0) == Some(path.0.len() - 1));
    // SAFETY: `path.0` ends with a NUL (`FileName::entry_points`), so it is
    // a C string.
    unsafe { read_c_path(path.0.as_ptr().cast(), buf) }
}

/// Opens the C string `path` without blocking and reads it into the empty
/// `buf` if it is a regular file of at most [`MAX_FILE_SIZE`] bytes.
///
/// # Safety
///
/// `path` must point to a NUL-terminated string.
unsafe fn read_c_path(path: *const libc::c_char, buf: &mut Vec<u8>) -> Contents {
    // O_NONBLOCK: opening a FIFO without a writer (or a device that waits,
    // for a carrier say) returns at once; O_NOCTTY: a terminal does not
    // become the process's. Neither changes anything for a regular file.
    let flags = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOCTTY;
    // SAFETY: the caller's `path` is a C string; `fd` is closed exactly once.
    unsafe {
        let fd = libc::open(path, flags);
        if fd < 0 {
            return Contents::Absent;
        }
        let contents = read_fd(fd, buf);
        libc::close(fd);
        contents
    }
}

/// Reads the open file `fd` into the empty `buf` if `fstat` says it is a
/// regular file of at most [`MAX_FILE_SIZE`] bytes, and it stays so while
/// read (at most one byte more is read, to tell).
///
/// # Safety
///
/// `fd` must be an open file descriptor.
unsafe fn read_fd(fd: libc::c_int, buf: &mut Vec<u8>) -> Contents {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `fstat` fills `stat` when it returns 0; `read` writes at most
    // the spare capacity it is given, and `set_len` covers only the bytes it
    // reported written.
    unsafe {
        if libc::fstat(fd, stat.as_mut_ptr()) != 0 {
            return Contents::Absent;
        }
        let stat = stat.assume_init();
        if stat.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Contents::Absent;
        }
        // Decided before reading a byte: a sparse file of gigabytes costs
        // nothing.
        let Ok(size) = usize::try_from(stat.st_size) else {
            return Contents::TooLarge; // beyond the address space
        };
        if size > MAX_FILE_SIZE {
            return Contents::TooLarge;
        }
        // Room for the whole file and the read that finds its end: no
        // growing and copying for a file of any size.
        buf.reserve(size + 1);
        loop {
            if buf.capacity() == buf.len() {
                buf.reserve(buf.len().max(8192));
            }
            let spare = (buf.capacity() - buf.len()).min(MAX_FILE_SIZE + 1 - buf.len());
            let n = libc::read(fd, buf.as_mut_ptr().add(buf.len()).cast(), spare);
            match usize::try_from(n) {
                Ok(0) => return Contents::Read,
                Ok(n) => {
                    buf.set_len(buf.len() + n);
                    if buf.len() > MAX_FILE_SIZE {
                        return Contents::TooLarge;
                    }
                }
                Err(_) => {
                    if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                        return Contents::Absent;
                    }
                }
            }
        }
    }
}

/// Report or parse one distribution's `entry_points.txt` (at `path`, with
/// `bytes`), which holds one of the group names somewhere.
fn read_dist(
    path: FilePath<'_>,
    bytes: &[u8],
    groups: &[&str],
    finders: &[memmem::Finder<'_>],
    result: &mut ScanResult,
) {
    // A byte order mark is valid UTF-8; `entry_points::parse` drops exactly
    // one, as the fallback's `utf-8-sig` does.
    let Ok(text) = std::str::from_utf8(bytes) else {
        result.problems.push(Problem {
            path: path.as_path().to_path_buf(),
            kind: ProblemKind::NotUtf8,
        });
        return;
    };
    let wanted: Vec<&str> = groups
        .iter()
        .zip(finders)
        .filter(|(_, f)| f.find(bytes).is_some())
        .map(|(g, _)| *g)
        .collect();
    let mut found = Vec::new();
    let mut line_problems = Vec::new();
    entry_points::parse(text, &wanted, &mut found, &mut line_problems);
    let path = path.as_path();
    result
        .problems
        .extend(line_problems.into_iter().map(|p| Problem {
            path: path.to_path_buf(),
            kind: ProblemKind::MalformedLine(p),
        }));
    if found.is_empty() {
        return;
    }
    let dist_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    result.entries.extend(found.into_iter().map(|e| Entry {
        group: e.group.to_owned(),
        name: e.name.to_owned(),
        value: e.value.into_owned(),
        dist_dir: dist_dir.clone(),
    }));
}

/// A distribution met by [`distributions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Met<'a> {
    /// The first of its normalized name: the one importlib.metadata (and
    /// the startup scan) takes.
    First(&'a Path),
    /// A later one of a name already taken, hidden by `by`.
    Hidden { dist_dir: &'a Path, by: &'a Path },
}

/// The directory a `sys.path` entry names: `""` is the current one.
fn listed_dir(path: &Path) -> &Path {
    if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    }
}

/// Every `*.dist-info` / `*.egg-info` directory on `paths`, in the order
/// [`scan`] takes them (path entries in order, each one's children in
/// byte-wise order, the first of each normalized name winning), with
/// whether it is the first of its name. For the readers that run outside
/// interpreter startup (`wrapt-install --list` and `--enable`,
/// `WRAPT_PATCHES_DEBUG`): plain rather than fast.
pub fn distributions<P: AsRef<Path>>(paths: &[P], mut each: impl FnMut(Met<'_>)) {
    let mut taken: HashMap<String, PathBuf> = HashMap::new();
    for path in paths {
        let path = path.as_ref();
        let listed = listed_dir(path);
        let mut children: Vec<(String, String)> = Vec::new();
        for_each_child(listed, |child| {
            if let Some(name) = names::normalized_dist_name(child) {
                children.push((child.to_owned(), name));
            }
        });
        children.sort_unstable();
        for (child, name) in children {
            let dist_dir = path.join(child);
            if let Some(first) = taken.get(&name) {
                each(Met::Hidden {
                    dist_dir: &dist_dir,
                    by: first,
                });
            } else {
                each(Met::First(&dist_dir));
                taken.insert(name, dist_dir);
            }
        }
    }
}

/// The groups the distributions on `paths` declare: each section with at
/// least one `name = value` line, in the `entry_points.txt` of the first
/// distribution of each name, that `WRAPT_PATCHES` can select (a valid
/// name, not another tool's group). A group not among them is one that
/// [`scan`] finds no entry point of. Files are read as [`read_metadata_file`]
/// reads them; one that is not UTF-8 declares nothing. The candidates for
/// "did you mean" ([`names::nearest`]); `declared_groups` in the fallback's
/// `_explain.py` is the same function.
pub fn declared_groups<P: AsRef<Path>>(paths: &[P]) -> BTreeSet<String> {
    let mut groups = BTreeSet::new();
    let mut buf = Vec::new();
    distributions(paths, |met| {
        let Met::First(dist_dir) = met else {
            return;
        };
        if read_metadata_file(&dist_dir.join(ENTRY_POINTS_TXT), &mut buf) != Contents::Read {
            return;
        }
        let Ok(text) = std::str::from_utf8(&buf) else {
            return;
        };
        for section in entry_points::sections(text) {
            if !section.entries.is_empty()
                && names::is_valid_group_name(section.group)
                && !selection::is_other_tools_group(section.group)
            {
                groups.insert(section.group.to_owned());
            }
        }
    });
    groups
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
        let mut seen: HashSet<String> = HashSet::new();
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
        let mut seen: HashSet<String> = HashSet::new();
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
        let mut seen: HashSet<String> = HashSet::new();
        let result = scan(&[&b.0, &a.0], &["g"], &mut seen);
        assert_eq!(triples(&result), vec![("g", "x", "third:hook")]);

        // A distribution without entry points still takes its name.
        let d = TempDir::new();
        d.dist("acme_patches-0.1.dist-info", None);
        let mut seen: HashSet<String> = HashSet::new();
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
        let mut seen: HashSet<String> = HashSet::new();
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
        let mut seen: HashSet<String> = HashSet::new();
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
        let mut seen: HashSet<String> = HashSet::new();
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
    fn only_one_byte_order_mark_is_dropped() {
        let a = TempDir::new();
        a.dist(
            "a-1.0.dist-info",
            Some(b"\xef\xbb\xbf\xef\xbb\xbf[g]\nx = m:f\n"),
        );
        let mut seen: HashSet<String> = HashSet::new();
        let result = scan(&[&a.0], &["g"], &mut seen);
        // The second mark starts the first line, which is then no section
        // header: the fallback's `utf-8-sig` decode sees the same.
        assert_eq!(triples(&result), vec![]);
    }

    #[test]
    fn non_utf8_is_reported_only_where_a_requested_group_could_be() {
        let a = TempDir::new();
        a.dist("unrelated-1.0.dist-info", Some(b"[other]\nx = m:\xff\n"));
        let mut seen: HashSet<String> = HashSet::new();
        let result = scan(&[&a.0], &["g"], &mut seen);
        assert!(result.problems.is_empty(), "{:?}", result.problems);
    }

    #[test]
    fn non_utf8_is_a_problem_and_the_scan_goes_on() {
        let a = TempDir::new();
        a.dist("bad-1.0.dist-info", Some(b"[g]\nx = m:\xff\n"));
        a.dist("good-1.0.dist-info", Some(b"[g]\ny = n:g\n"));
        let mut seen: HashSet<String> = HashSet::new();
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
        let mut seen: HashSet<String> = HashSet::new();
        let result = scan(&[&a.0], &["g"], &mut seen);
        assert_eq!(triples(&result), vec![("g", "y", "n:g")]);
    }

    #[test]
    fn group_name_only_inside_a_value_or_another_section() {
        let a = TempDir::new();
        // The file is parsed (it holds the bytes `g.x`) but has no `[g.x]`
        // section, and the malformed line is in a section not requested.
        a.dist(
            "a-1.0.dist-info",
            Some(b"[console_scripts]\ntool = g.x:main\nbroken g.x line\n"),
        );
        a.dist("b-1.0.dist-info", Some(b"[other]\ng.x = m:f\n"));
        let mut seen: HashSet<String> = HashSet::new();
        let result = scan(&[&a.0], &["g.x"], &mut seen);
        assert!(result.entries.is_empty());
        assert!(result.problems.is_empty(), "{:?}", result.problems);
    }

    #[test]
    fn bom_then_group_and_only_the_groups_found_are_parsed() {
        let a = TempDir::new();
        a.dist(
            "a-1.0.dist-info",
            Some(b"\xef\xbb\xbf[g]\nx = m:f\n[h]\nbroken\n"),
        );
        let mut seen: HashSet<String> = HashSet::new();
        let result = scan(&[&a.0], &["g", "absent", "h"], &mut seen);
        assert_eq!(triples(&result), vec![("g", "x", "m:f")]);
        assert_eq!(result.problems.len(), 1);
        assert_eq!(result.entries[0].dist_dir, a.0.join("a-1.0.dist-info"));
    }

    #[test]
    fn non_utf8_with_bom_and_group_after_the_bad_byte() {
        let a = TempDir::new();
        a.dist(
            "a-1.0.dist-info",
            Some(b"\xef\xbb\xbf[other]\nx = \xfe:f\n[g]\ny = n:g\n"),
        );
        a.dist(
            "b-1.0.dist-info",
            Some(b"\xef\xbb\xbf[other]\nx = \xfe:f\n"),
        );
        let mut seen: HashSet<String> = HashSet::new();
        let result = scan(&[&a.0], &["g"], &mut seen);
        assert!(result.entries.is_empty());
        assert_eq!(result.problems.len(), 1);
        assert_eq!(result.problems[0].kind, ProblemKind::NotUtf8);
        assert!(result.problems[0]
            .path
            .ends_with("a-1.0.dist-info/entry_points.txt"));
    }

    #[test]
    fn large_and_empty_files() {
        let a = TempDir::new();
        let mut big = b"[console_scripts]\n".to_vec();
        while big.len() < 100_000 {
            big.extend_from_slice(b"tool = some.module:main\n");
        }
        big.extend_from_slice(b"[g]\nlast = m:f\n");
        a.dist("big-1.0.dist-info", Some(&big));
        a.dist("empty-1.0.dist-info", Some(b""));
        a.dist("small-1.0.dist-info", Some(b"[g]\nsmall = n:g\n"));
        let mut seen: HashSet<String> = HashSet::new();
        let result = scan(&[&a.0], &["g"], &mut seen);
        assert_eq!(
            triples(&result),
            vec![("g", "last", "m:f"), ("g", "small", "n:g")]
        );
        assert_eq!(seen.len(), 3);
    }

    #[test]
    fn sorted_order_whatever_the_directory_order() {
        // Many distributions, some folding to one name, created in an order
        // unlike the sorted one: the results come in byte-wise order of the
        // directory names and the first of each name wins, whatever order
        // `readdir` gives.
        let a = TempDir::new();
        let b = TempDir::new();
        b.dist("dup_07-1.0.dist-info", Some(b"[g]\nx = earlier:path\n"));
        let mut expected = Vec::new();
        for i in (0..40).rev() {
            let value = format!("[g]\nx{i:02} = m{i:02}:f\n");
            a.dist(&format!("pkg_{i:02}-1.0.dist-info"), Some(value.as_bytes()));
            a.dist(
                &format!("pkg.{i:02}-2.0.dist-info"),
                Some(b"[g]\nloser = sorts:after\n"),
            );
            a.dist(
                &format!("Pkg_{i:02}.egg-info"),
                Some(format!("[g]\nw{i:02} = w{i:02}:f\n").as_bytes()),
            );
        }
        for i in 0..10 {
            a.dist(
                &format!("dup_{i:02}-1.0.dist-info"),
                Some(format!("[g]\nd{i:02} = d{i:02}:f\n").as_bytes()),
            );
        }
        expected.push(("g".to_owned(), "x".to_owned(), "earlier:path".to_owned()));
        // `Pkg_` sorts before `dup_` and `pkg.`/`pkg_` ('P' < 'd' < 'p').
        for i in 0..40 {
            expected.push(("g".into(), format!("w{i:02}"), format!("w{i:02}:f")));
        }
        for i in (0..10).filter(|&i| i != 7) {
            expected.push(("g".into(), format!("d{i:02}"), format!("d{i:02}:f")));
        }
        let mut seen: HashSet<String> = HashSet::new();
        let result = scan(&[&b.0, &a.0], &["g"], &mut seen);
        let got: Vec<(String, String, String)> = triples(&result)
            .into_iter()
            .map(|(g, n, v)| (g.to_owned(), n.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(got, expected);
        assert_eq!(seen.len(), 50);
        assert!(result.problems.is_empty());
    }

    #[test]
    fn a_name_is_taken_once() {
        let mut seen: HashSet<String> = HashSet::new();
        assert!(take(&mut seen, "a"));
        assert!(!take(&mut seen, "a"));
        assert!(seen.contains("a"));
    }

    #[test]
    fn non_ascii_names_taken_non_utf8_names_skipped() {
        use std::os::unix::ffi::OsStrExt;
        let a = TempDir::new();
        a.dist("Ärger-1.0.dist-info", Some(b"[g]\nx = m:f\n"));
        let bad =
            a.0.join(std::ffi::OsStr::from_bytes(b"caf\xe9-1.0.dist-info"));
        fs::create_dir(&bad).unwrap();
        fs::write(bad.join(ENTRY_POINTS_TXT), b"[g]\ny = n:g\n").unwrap();
        let mut seen: HashSet<String> = HashSet::new();
        let result = scan(&[&a.0], &["g"], &mut seen);
        assert_eq!(triples(&result), vec![("g", "x", "m:f")]);
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["ärger"]);
    }

    #[test]
    fn symlinked_dist_dir() {
        let a = TempDir::new();
        let real = a.dist("real_place", Some(b"[g]\nx = m:f\n"));
        std::os::unix::fs::symlink(&real, a.0.join("linked-1.0.dist-info")).unwrap();
        let mut seen: HashSet<String> = HashSet::new();
        let result = scan(&[&a.0], &["g"], &mut seen);
        assert_eq!(triples(&result), vec![("g", "x", "m:f")]);
    }

    /// Runs `f` on another thread and panics unless it returns within a few
    /// seconds: a read that blocks fails the test rather than hanging it.
    fn within_seconds<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (send, receive) = std::sync::mpsc::channel();
        std::thread::spawn(move || send.send(f()));
        receive
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("blocked")
    }

    fn mkfifo(path: &Path) {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: a C string.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    }

    /// A file of `size` bytes that ends with `tail`, sparse before it: no
    /// disk used, whatever the size.
    fn sparse(path: &Path, size: u64, tail: &[u8]) {
        use std::io::{Seek, SeekFrom, Write};
        let mut file = fs::File::create(path).unwrap();
        file.set_len(size).unwrap();
        file.seek(SeekFrom::Start(size - tail.len() as u64))
            .unwrap();
        file.write_all(tail).unwrap();
    }

    #[test]
    fn only_regular_files_are_read_and_nothing_blocks() {
        let a = TempDir::new();
        let fifo = a.0.join("fifo");
        mkfifo(&fifo);
        let socket = a.0.join("socket");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let regular = a.0.join("regular");
        fs::write(&regular, b"[g]\nx = m:f\n").unwrap();
        let cases = [
            (fifo.clone(), Contents::Absent),
            (socket, Contents::Absent),
            (PathBuf::from("/dev/zero"), Contents::Absent),
            (PathBuf::from("/dev/null"), Contents::Absent),
            (a.0.clone(), Contents::Absent),
            (a.0.join("missing"), Contents::Absent),
            (regular.clone(), Contents::Read),
        ];
        for (target, expected) in cases {
            let link = a.0.join("link");
            let _ = fs::remove_file(&link);
            std::os::unix::fs::symlink(&target, &link).unwrap();
            for path in [target.clone(), link] {
                let read = within_seconds(move || {
                    let mut buf = b"stale".to_vec();
                    let contents = read_metadata_file(&path, &mut buf);
                    (contents, buf)
                });
                assert_eq!(read.0, expected, "{}", target.display());
                let bytes: &[u8] = if expected == Contents::Read {
                    b"[g]\nx = m:f\n"
                } else {
                    b""
                };
                assert_eq!(read.1, bytes, "{}", target.display());
            }
        }
    }

    #[test]
    fn an_entry_points_txt_that_is_no_regular_file_means_no_entry_points() {
        let a = TempDir::new();
        mkfifo(&a.dist("fifo-1.0.dist-info", None).join(ENTRY_POINTS_TXT));
        std::os::unix::fs::symlink(
            "/dev/zero",
            a.dist("zero-1.0.dist-info", None).join(ENTRY_POINTS_TXT),
        )
        .unwrap();
        fs::create_dir(a.dist("dir-1.0.dist-info", None).join(ENTRY_POINTS_TXT)).unwrap();
        a.dist("good-1.0.dist-info", Some(b"[g]\ny = n:g\n"));
        let path = a.0.clone();
        let (result, seen) = within_seconds(move || {
            let mut seen: HashSet<String> = HashSet::new();
            (scan(&[&path], &["g"], &mut seen), seen)
        });
        assert_eq!(triples(&result), vec![("g", "y", "n:g")]);
        assert!(result.problems.is_empty(), "{:?}", result.problems);
        // Each still took its name, as a distribution without entry points.
        assert_eq!(seen.len(), 4);
    }

    #[test]
    fn a_file_over_the_limit_is_reported_unread_one_at_it_is_read() {
        let a = TempDir::new();
        let tail = b"\n[g]\nlast = m:f\n";
        // Sorted before the one over the limit; its section is 64 MiB of
        // NULs on one line, then the real one.
        let at = a
            .dist("at_limit-1.0.dist-info", None)
            .join(ENTRY_POINTS_TXT);
        sparse(&at, MAX_FILE_SIZE as u64, tail);
        // Gigabytes, sparse: read, it would exhaust the test's memory.
        let over = a.dist("over-1.0.dist-info", None).join(ENTRY_POINTS_TXT);
        sparse(&over, 3 << 30, tail);
        let mut seen: HashSet<String> = HashSet::new();
        let result = scan(&[&a.0], &["g"], &mut seen);
        assert_eq!(triples(&result), vec![("g", "last", "m:f")]);
        assert_eq!(result.problems.len(), 1, "{:?}", result.problems);
        assert_eq!(result.problems[0].kind, ProblemKind::TooLarge);
        assert_eq!(result.problems[0].path, over);
        assert_eq!(
            result.problems[0].to_string(),
            format!("{}: larger than 64 MiB", over.display())
        );
        // One byte over is over, whatever it holds.
        sparse(&over, MAX_FILE_SIZE as u64 + 1, b"x");
        let mut buf = Vec::new();
        assert_eq!(read_metadata_file(&over, &mut buf), Contents::TooLarge);
        assert!(buf.is_empty());
        assert_eq!(read_metadata_file(&at, &mut buf), Contents::Read);
        assert_eq!(buf.len(), MAX_FILE_SIZE);
        assert!(buf.ends_with(tail));
    }
    #[test]
    fn distributions_in_scan_order_with_the_hidden_ones() {
        let a = TempDir::new();
        let b = TempDir::new();
        a.dist("Zeta-1.0.dist-info", None);
        a.dist("alpha-1.0.dist-info", None);
        a.dist("not_metadata", None);
        b.dist("zeta-2.0.dist-info", None);
        let mut met = Vec::new();
        distributions(&[&a.0, &b.0], |m| {
            met.push(match m {
                Met::First(dir) => (dir.to_path_buf(), None),
                Met::Hidden { dist_dir, by } => (dist_dir.to_path_buf(), Some(by.to_path_buf())),
            });
        });
        let zeta = a.0.join("Zeta-1.0.dist-info");
        assert_eq!(
            met,
            vec![
                (zeta.clone(), None),
                (a.0.join("alpha-1.0.dist-info"), None),
                (b.0.join("zeta-2.0.dist-info"), Some(zeta)),
            ]
        );
    }

    #[test]
    fn declared_groups_are_sections_with_entries_of_first_distributions() {
        let a = TempDir::new();
        let b = TempDir::new();
        a.dist(
            "one-1.0.dist-info",
            Some(b"\xef\xbb\xbf[acme.patches]\nx = m:f\n[empty]\n[ spaced ]\ny = n\n[bad name]\nz = m:f\n[console_scripts]\ntool = m:main\n[broken]\nno equals sign\n"),
        );
        a.dist(
            "two-1.0.dist-info",
            Some(b"[other.patches]\nx = m:f [extra]\n"),
        );
        a.dist("three-1.0.dist-info", Some(b"[latin1]\nx = \xe9:f\n"));
        // Hidden by a.0's `one`: not what importlib or the scan would read.
        b.dist("one-2.0.dist-info", Some(b"[hidden.patches]\nx = m:f\n"));
        let groups = declared_groups(&[&a.0, &b.0]);
        assert_eq!(
            groups.into_iter().collect::<Vec<_>>(),
            ["acme.patches", "other.patches", "spaced"]
        );
    }
}
