//! The target's site-packages, pinned: opened once by its canonical path,
//! and every file operation after that made relative to that descriptor,
//! never through a symlink.
//!
//! Why: the environment's owner need not be the user running the tool
//! (root installing into a service account's venv). Checking a path and
//! then using it leaves a window in which the owner can swap one of our
//! directories for a symlink (`renameat2(RENAME_EXCHANGE)` in a loop), and
//! root would then write or delete wherever it points. Here each directory
//! is reached from the pinned descriptor with `openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS)`: a symlink anywhere on the way fails the call,
//! whenever it appears, and a directory opened once stays the one checked
//! even if it is renamed away meanwhile. The last component is opened,
//! created, renamed or removed by name within that directory (`O_NOFOLLOW`,
//! `mkdirat`, `renameat`, `unlinkat`), which never follows a link either. A
//! run that meets a swapped directory fails with an error; nothing outside
//! site-packages is touched.
//!
//! Where `openat2` is missing (kernels before 5.6) or forbidden (seccomp
//! filters answering `ENOSYS` or `EPERM`), the same is done one component
//! at a time with `openat(O_PATH | O_NOFOLLOW)`. The unit tests force
//! that walk with `SitePackages::open_walking` (test-only); the
//! integration tests run the shipped binaries with strace failing every
//! `openat2` instead.
//!
//! Paths are relative and `/`-separated, as in RECORD; errors name them
//! absolute, under the path the interpreter reported.

use std::cell::Cell;
use std::ffi::OsString;
use std::io::{Read as _, Write as _};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{
    AtFlags, Dir, FileType, FlockOperation, Mode, OFlags, ResolveFlags, Stat, Timespec, Timestamps,
    UTIME_OMIT,
};
use rustix::io::Errno;
use wrapt_common::scan::{Contents, MAX_FILE_SIZE};

use crate::error::{Error, Result};

/// Temporary files are hidden, and never end in `.pth` or `.start`, so a
/// crash mid-write leaves nothing `site` would read. Stale ones are removed
/// by the next run.
const TEMP_PREFIX: &str = ".wrapt-install-";
const TEMP_SUFFIX: &str = ".tmp";

/// The mode of every directory created here: never group or world
/// writable, readable by every user of the environment, whatever the umask.
pub const MODE_DIRECTORY: u32 = 0o755;

/// Whether `name` is one of our temporary files.
pub fn is_temp(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)
}

/// How a directory to list, sync, lock or work in is opened: readable (for
/// `getdents64`, `fsync` and `flock`), never through a symlink, and never
/// left open across an `exec`.
const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// How a file is opened to be read: never through a symlink, and without
/// blocking (a FIFO put here opens at once rather than waiting for a
/// writer; fstat then says what it is).
const READ_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::NONBLOCK)
    .union(OFlags::NOCTTY)
    .union(OFlags::CLOEXEC);

/// What is at a path now, never followed.
#[derive(Debug)]
pub enum Node {
    Missing,
    File {
        bytes: Vec<u8>,
        mode: u32,
        mtime: SystemTime,
    },
    Symlink,
    Directory {
        mode: u32,
    },
    /// A FIFO, socket or device: not opened for reading, so a FIFO cannot
    /// block the run.
    Special,
}

/// What a directory entry is, not followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Directory,
    Symlink,
    Special,
}

impl Kind {
    fn of(file_type: FileType) -> Kind {
        match file_type {
            FileType::RegularFile => Kind::File,
            FileType::Directory => Kind::Directory,
            FileType::Symlink => Kind::Symlink,
            _ => Kind::Special,
        }
    }
}

/// One entry of a listed directory.
#[derive(Debug)]
pub struct Entry {
    pub name: OsString,
    pub kind: Kind,
}

/// site-packages, opened once; see the module documentation.
#[derive(Debug)]
pub struct SitePackages {
    /// As the interpreter reported it: what messages name.
    path: PathBuf,
    dir: OwnedFd,
    /// Set once `openat2` is found missing or forbidden: walk from then on.
    walk: Cell<bool>,
}

impl SitePackages {
    /// Opens `purelib` by its canonical path, with no symlink on the way.
    /// With `within` (a virtual environment's prefix), that path must lie
    /// inside the canonical `within`: a site-packages that resolves
    /// elsewhere is refused.
    pub fn open(purelib: &Path, within: Option<&Path>) -> Result<SitePackages> {
        let canonical = canonicalize(purelib)?;
        if let Some(prefix) = within {
            if !canonical.starts_with(canonicalize(prefix)?) {
                return Err(Error::OutsideEnvironment {
                    purelib: purelib.to_owned(),
                    resolved: canonical,
                    prefix: prefix.to_owned(),
                });
            }
        }
        let root_path = Path::new("/");
        let root = rustix::fs::openat(rustix::fs::CWD, root_path, DIR_FLAGS, Mode::empty())
            .map_err(|e| failed("open", root_path, e))?;
        let walk = Cell::new(false);
        let rel = canonical
            .strip_prefix(root_path)
            .expect("a canonical path is absolute");
        let dir = open_dir_beneath(root.as_fd(), root_path, rel, &walk)?
            .ok_or_else(|| failed("open", purelib, Errno::NOENT))?;
        Ok(SitePackages {
            path: purelib.to_owned(),
            dir,
            walk,
        })
    }

    /// As [`SitePackages::open`], resolving by the component walk alone, as
    /// where `openat2` is missing.
    #[cfg(test)]
    pub fn open_walking(purelib: &Path) -> Result<SitePackages> {
        let site = SitePackages::open(purelib, None)?;
        site.walk.set(true);
        Ok(site)
    }

    /// The path messages name.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes an `flock` on the pinned directory itself (no lock file to
    /// leave behind): exclusive to change it, shared to only read it. Held
    /// until `self` is dropped. Calls `waiting` once if another process
    /// holds it, then blocks.
    pub fn lock(&self, exclusive: bool, waiting: impl FnOnce()) -> Result<()> {
        let (attempt, wait) = if exclusive {
            (
                FlockOperation::NonBlockingLockExclusive,
                FlockOperation::LockExclusive,
            )
        } else {
            (
                FlockOperation::NonBlockingLockShared,
                FlockOperation::LockShared,
            )
        };
        let lock_error = |e: Errno| Error::Lock {
            path: self.path.clone(),
            source: e.into(),
        };
        match rustix::fs::flock(&self.dir, attempt) {
            Ok(()) => Ok(()),
            Err(Errno::WOULDBLOCK) => {
                waiting();
                rustix::fs::flock(&self.dir, wait).map_err(lock_error)
            }
            Err(e) => Err(lock_error(e)),
        }
    }

    /// What is at `rel`: a regular file is read, anything else only named.
    pub fn inspect(&self, rel: &str) -> Result<Node> {
        let (parent, name) = split(rel);
        let Some(dir) = self.dir(parent)? else {
            return Ok(Node::Missing);
        };
        let fd = match rustix::fs::openat(&dir, name, READ_FLAGS, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(Node::Missing),
            Err(Errno::LOOP) => return Ok(Node::Symlink),
            // A socket cannot be opened.
            Err(Errno::NXIO) => return Ok(Node::Special),
            Err(e) => return Err(failed("read", &self.path.join(rel), e)),
        };
        let stat =
            rustix::fs::fstat(&fd).map_err(|e| failed("inspect", &self.path.join(rel), e))?;
        match Kind::of(FileType::from_raw_mode(stat.st_mode)) {
            Kind::File => {}
            Kind::Directory => {
                return Ok(Node::Directory {
                    mode: stat.st_mode & 0o7777,
                })
            }
            Kind::Symlink | Kind::Special => return Ok(Node::Special),
        }
        let mut bytes = Vec::new();
        std::fs::File::from(fd)
            .read_to_end(&mut bytes)
            .map_err(|source| Error::File {
                action: "read",
                path: self.path.join(rel),
                source,
            })?;
        Ok(Node::File {
            bytes,
            mode: stat.st_mode & 0o7777,
            mtime: mtime(&stat),
        })
    }

    /// `rel` read into `buf` as `scan::read_metadata_file` reads a file of
    /// `site`'s, here never through a symlink: a regular file of at most
    /// [`MAX_FILE_SIZE`] bytes is [`Contents::Read`], a larger one
    /// [`Contents::TooLarge`] (not read), anything else, or anything that
    /// fails, [`Contents::Absent`].
    pub fn read_metadata_file(&self, rel: &str, buf: &mut Vec<u8>) -> Contents {
        buf.clear();
        let (parent, name) = split(rel);
        let Ok(Some(dir)) = self.dir(parent) else {
            return Contents::Absent;
        };
        let Ok(fd) = rustix::fs::openat(&dir, name, READ_FLAGS, Mode::empty()) else {
            return Contents::Absent;
        };
        match rustix::fs::fstat(&fd) {
            Ok(stat) if Kind::of(FileType::from_raw_mode(stat.st_mode)) == Kind::File => {
                // Decided before reading a byte, as the scan decides it.
                if usize::try_from(stat.st_size).map_or(true, |size| size > MAX_FILE_SIZE) {
                    return Contents::TooLarge;
                }
            }
            _ => return Contents::Absent,
        }
        // One byte more than the limit tells a file that grew meanwhile.
        let limit = MAX_FILE_SIZE as u64 + 1;
        match std::fs::File::from(fd).take(limit).read_to_end(buf) {
            Ok(_) if buf.len() > MAX_FILE_SIZE => Contents::TooLarge,
            Ok(_) => Contents::Read,
            Err(_) => Contents::Absent,
        }
    }

    /// What `rel` is, not followed; `None` when it does not exist.
    pub fn kind(&self, rel: &str) -> Result<Option<Kind>> {
        let (parent, name) = split(rel);
        let Some(dir) = self.dir(parent)? else {
            return Ok(None);
        };
        match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(Kind::of(FileType::from_raw_mode(stat.st_mode)))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(failed("inspect", &self.path.join(rel), e)),
        }
    }

    /// The entries of directory `rel` (`""`: site-packages itself), in
    /// the order the file system gives; `None` when it does not exist.
    pub fn list(&self, rel: &str) -> Result<Option<Vec<Entry>>> {
        let shown = self.path.join(rel);
        let Some(dir) = self.dir(rel)? else {
            return Ok(None);
        };
        let mut dir = Dir::new(dir).map_err(|e| failed("list", &shown, e))?;
        let mut entries = Vec::new();
        while let Some(entry) = dir.read() {
            let entry = entry.map_err(|e| failed("list", &shown, e))?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let kind = match entry.file_type() {
                // Some file systems leave the type to a stat.
                FileType::Unknown => {
                    let fd = dir.fd().map_err(|e| failed("list", &shown, e))?;
                    let stat = rustix::fs::statat(fd, entry.file_name(), AtFlags::SYMLINK_NOFOLLOW)
                        .map_err(|e| {
                            failed("inspect", &shown.join(std::ffi::OsStr::from_bytes(name)), e)
                        })?;
                    Kind::of(FileType::from_raw_mode(stat.st_mode))
                }
                file_type => Kind::of(file_type),
            };
            entries.push(Entry {
                name: std::ffi::OsStr::from_bytes(name).to_owned(),
                kind,
            });
        }
        Ok(Some(entries))
    }

    /// Writes `rel` atomically: a temporary file created beside it
    /// (`O_EXCL | O_NOFOLLOW`), written, given `mode` and `mtime`, fsynced
    /// and renamed over it, then the directory fsynced. Readers see the old
    /// file or the new one, never a torn one. Missing directories on the
    /// way are created.
    pub fn write_atomic(
        &self,
        rel: &str,
        bytes: &[u8],
        mode: u32,
        mtime: SystemTime,
    ) -> Result<()> {
        let (parent, name) = split(rel);
        let dir = self.create_dirs(parent)?;
        let failed_to = |action, source| Error::File {
            action,
            path: self.path.join(rel),
            source,
        };
        let (temp, file) =
            create_temp(&dir).map_err(|e| failed_to("create a temporary file for", e))?;
        let written = fill(file, bytes, mode, mtime).and_then(|()| {
            rustix::fs::renameat(&dir, &temp, &dir, name)
                .map_err(|e| ("rename into place", e.into()))
        });
        if let Err((action, source)) = written {
            // The next run would remove it too; this one need not leave it.
            let _ = rustix::fs::unlinkat(&dir, &temp, AtFlags::empty());
            return Err(failed_to(action, source));
        }
        rustix::fs::fsync(&dir).map_err(|e| failed("sync directory", &self.path.join(parent), e))
    }

    /// Removes a file (a symlink itself, never what it points to); `false`
    /// when it was already gone.
    pub fn remove_file(&self, rel: &str) -> Result<bool> {
        let (parent, name) = split(rel);
        let Some(dir) = self.dir(parent)? else {
            return Ok(false);
        };
        match rustix::fs::unlinkat(&dir, name, AtFlags::empty()) {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(failed("remove", &self.path.join(rel), e)),
        }
    }

    /// Removes directory `rel` if it is empty; `false` when it is not
    /// empty, is gone, or is no longer a directory (a symlink put in its
    /// place is not ours to remove).
    pub fn remove_dir_if_empty(&self, rel: &str) -> Result<bool> {
        let (parent, name) = split(rel);
        let Some(dir) = self.dir(parent)? else {
            return Ok(false);
        };
        match rustix::fs::unlinkat(&dir, name, AtFlags::REMOVEDIR) {
            Ok(()) => Ok(true),
            Err(Errno::NOENT | Errno::NOTEMPTY | Errno::EXIST | Errno::NOTDIR) => Ok(false),
            Err(e) => Err(failed("remove directory", &self.path.join(rel), e)),
        }
    }

    /// Makes the changes to site-packages' own entries durable.
    pub fn sync(&self) -> Result<()> {
        rustix::fs::fsync(&self.dir).map_err(|e| failed("sync directory", &self.path, e))
    }

    /// Directory `rel`, opened without following a symlink.
    fn dir(&self, rel: &str) -> Result<Option<OwnedFd>> {
        open_dir_beneath(self.dir.as_fd(), &self.path, Path::new(rel), &self.walk)
    }

    /// `mkdir -p rel`, returning the last directory opened. Where one is
    /// missing, each is made and opened in turn with `O_NOFOLLOW`. Each
    /// directory created gets mode 0755 explicitly: never group or world
    /// writable, and readable by every user of the environment whatever the
    /// umask.
    fn create_dirs(&self, rel: &str) -> Result<OwnedFd> {
        if let Some(dir) = self.dir(rel)? {
            return Ok(dir);
        }
        let mut dir = self.dir.try_clone().map_err(|source| Error::File {
            action: "open",
            path: self.path.clone(),
            source,
        })?;
        let mut reached = self.path.clone();
        for name in rel.split('/') {
            reached.push(name);
            // EEXIST: there already, or made meanwhile; used as it is.
            let created = match rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(MODE_DIRECTORY))
            {
                Ok(()) => true,
                Err(Errno::EXIST) => false,
                Err(e) => return Err(failed("create directory", &reached, e)),
            };
            let found = open_component(&dir, name, &reached)?
                .ok_or_else(|| failed("open", &reached, Errno::NOENT))?;
            dir = readable(&found, &reached)?;
            if created {
                rustix::fs::fchmod(&dir, Mode::from_raw_mode(MODE_DIRECTORY))
                    .map_err(|e| failed("create directory", &reached, e))?;
            }
        }
        Ok(dir)
    }
}

/// `path`, canonical.
fn canonicalize(path: &Path) -> Result<PathBuf> {
    path.canonicalize().map_err(|source| Error::File {
        action: "resolve",
        path: path.to_owned(),
        source,
    })
}

fn failed(action: &'static str, path: &Path, errno: Errno) -> Error {
    Error::File {
        action,
        path: path.to_owned(),
        source: errno.into(),
    }
}

/// `("a/b", "c")` for `"a/b/c"`, `("", "c")` for `"c"`.
fn split(rel: &str) -> (&str, &str) {
    rel.rsplit_once('/').unwrap_or(("", rel))
}

/// Directory `rel` below `base` (which errors name `shown`), opened
/// without following a symlink anywhere on the way; `None` when it, or a
/// directory on the way, does not exist.
fn open_dir_beneath(
    base: BorrowedFd<'_>,
    shown: &Path,
    rel: &Path,
    walk: &Cell<bool>,
) -> Result<Option<OwnedFd>> {
    // `..` would climb out in the walk. RECORD paths are checked before
    // they get here; this keeps the guarantee from resting on that.
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(failed("open", &shown.join(rel), Errno::INVAL));
    }
    if !walk.get() {
        let path = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS;
        match rustix::fs::openat2(base, path, DIR_FLAGS, Mode::empty(), resolve) {
            Ok(dir) => return Ok(Some(dir)),
            Err(Errno::NOENT) => return Ok(None),
            // Missing or forbidden: walk, now and from now on.
            Err(Errno::NOSYS | Errno::PERM) => walk.set(true),
            // A symlink or a file on the way: the walk names it (or opens
            // the directory, if it is back in place by then).
            Err(Errno::LOOP | Errno::NOTDIR) => {}
            Err(e) => return Err(failed("open", &shown.join(rel), e)),
        }
    }
    let mut reached = shown.to_owned();
    let mut last: Option<OwnedFd> = None;
    for name in rel {
        reached.push(name);
        let dir = last.as_ref().map_or(base, AsFd::as_fd);
        match open_component(dir, name, &reached)? {
            Some(next) => last = Some(next),
            None => return Ok(None),
        }
    }
    match last {
        Some(dir) => readable(&dir, &reached).map(Some),
        None => base
            .try_clone_to_owned()
            .map(Some)
            .map_err(|source| Error::File {
                action: "open",
                path: shown.to_owned(),
                source,
            }),
    }
}

/// Directory `name` in `dir` (`reached` names it), not followed: a symlink
/// is [`Error::SymlinkedDirectory`]. Opened with `O_PATH | O_NOFOLLOW`,
/// which needs only search permission, opens nothing for reading (a FIFO
/// or a device there is only looked at), and gives a symlink itself, which
/// fstat then tells apart.
fn open_component(
    dir: impl AsFd,
    name: impl AsRef<Path>,
    reached: &Path,
) -> Result<Option<OwnedFd>> {
    let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let found = match rustix::fs::openat(dir, name.as_ref(), flags, Mode::empty()) {
        Ok(found) => found,
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => return Err(failed("open", reached, e)),
    };
    let stat = rustix::fs::fstat(&found).map_err(|e| failed("open", reached, e))?;
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::Directory => Ok(Some(found)),
        FileType::Symlink => Err(Error::SymlinkedDirectory {
            path: reached.to_owned(),
        }),
        _ => Err(failed("open", reached, Errno::NOTDIR)),
    }
}

/// A directory found by [`open_component`], opened for reading, syncing
/// and locking (`.` in it is no symlink).
fn readable(found: &OwnedFd, reached: &Path) -> Result<OwnedFd> {
    rustix::fs::openat(found, ".", DIR_FLAGS, Mode::empty()).map_err(|e| failed("open", reached, e))
}

/// A new temporary file in `dir`, created exclusively (never through a
/// link, never someone else's); its name and descriptor.
fn create_temp(dir: &OwnedFd) -> std::io::Result<(String, OwnedFd)> {
    use std::hash::{BuildHasher as _, Hasher as _};
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut attempt = 0;
    loop {
        // RandomState is seeded randomly: a name no stale temporary has.
        let mut hasher = std::hash::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        let name = format!("{TEMP_PREFIX}{:016x}{TEMP_SUFFIX}", hasher.finish());
        match rustix::fs::openat(dir, name.as_str(), flags, Mode::from_raw_mode(0o600)) {
            Ok(fd) => return Ok((name, fd)),
            Err(Errno::EXIST) if attempt < 8 => attempt += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Writes the temporary file's contents, mode and mtime, and fsyncs it;
/// on failure, what failed.
fn fill(
    fd: OwnedFd,
    bytes: &[u8],
    mode: u32,
    mtime: SystemTime,
) -> Result<(), (&'static str, std::io::Error)> {
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes).map_err(|e| ("write", e))?;
    rustix::fs::fchmod(&file, Mode::from_raw_mode(mode))
        .map_err(|e| ("set the mode of", e.into()))?;
    let since_epoch = mtime.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let times = Timestamps {
        last_access: Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_OMIT,
        },
        last_modification: Timespec {
            tv_sec: i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: since_epoch.subsec_nanos().into(),
        },
    };
    rustix::fs::futimens(&file, &times).map_err(|e| ("set the modification time of", e.into()))?;
    file.sync_all().map_err(|e| ("sync", e))
}

fn mtime(stat: &Stat) -> SystemTime {
    let nanos = u32::try_from(stat.st_mtime_nsec).unwrap_or(0);
    match u64::try_from(stat.st_mtime) {
        Ok(secs) => UNIX_EPOCH + Duration::new(secs, nanos),
        Err(_) => {
            UNIX_EPOCH - Duration::from_secs(stat.st_mtime.unsigned_abs())
                + Duration::from_nanos(nanos.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt as _};

    /// `purelib` opened both ways: `openat2`, and the walk.
    fn both(purelib: &Path) -> [SitePackages; 2] {
        [
            SitePackages::open(purelib, None).unwrap(),
            SitePackages::open_walking(purelib).unwrap(),
        ]
    }

    fn symlinked(result: Result<impl std::fmt::Debug>, purelib: &Path, link: &str) {
        match result {
            Err(Error::SymlinkedDirectory { path }) => assert_eq!(path, purelib.join(link)),
            other => panic!("expected {link} refused as a symlinked directory: {other:?}"),
        }
    }

    #[test]
    fn a_symlink_on_the_way_is_refused_and_never_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let purelib = tmp.path();
        std::fs::write(outside.path().join("x"), "outside\n").unwrap();
        std::fs::create_dir_all(purelib.join("a/b")).unwrap();
        symlink(outside.path(), purelib.join("pkg")).unwrap();
        symlink(outside.path(), purelib.join("a/b/c")).unwrap();
        for site in both(purelib) {
            for link in ["pkg", "a/b/c"] {
                let file = format!("{link}/x");
                symlinked(site.inspect(&file), purelib, link);
                symlinked(site.kind(&file), purelib, link);
                symlinked(site.list(link), purelib, link);
                symlinked(
                    site.write_atomic(&file, b"in", 0o644, UNIX_EPOCH),
                    purelib,
                    link,
                );
                symlinked(
                    site.write_atomic(&format!("{link}/new/y"), b"in", 0o644, UNIX_EPOCH),
                    purelib,
                    link,
                );
                symlinked(site.remove_file(&file), purelib, link);
                symlinked(
                    site.remove_dir_if_empty(&format!("{link}/d")),
                    purelib,
                    link,
                );
            }
            // The links themselves are seen as links, and removed as such.
            assert!(matches!(site.inspect("pkg"), Ok(Node::Symlink)));
            assert_eq!(site.kind("a/b/c").unwrap(), Some(Kind::Symlink));
            assert!(!site.remove_dir_if_empty("a/b/c").unwrap());
        }
        let left: Vec<_> = std::fs::read_dir(outside.path()).unwrap().collect();
        assert_eq!(left.len(), 1);
        assert_eq!(
            std::fs::read_to_string(outside.path().join("x")).unwrap(),
            "outside\n"
        );
    }

    #[test]
    fn only_regular_files_are_read() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let purelib = tmp.path();
        std::fs::write(outside.path().join("secret"), "secret\n").unwrap();
        symlink(outside.path().join("secret"), purelib.join("link")).unwrap();
        std::fs::create_dir(purelib.join("dir")).unwrap();
        std::fs::write(purelib.join("dir/file"), "mine\n").unwrap();
        std::fs::set_permissions(
            purelib.join("dir/file"),
            std::fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        // A FIFO with no writer: opening it for reading must not wait.
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            purelib.join("fifo"),
            Mode::from_raw_mode(0o644),
        )
        .unwrap();
        // Sparse: the size limit is decided before a byte is read.
        let over = std::fs::File::create(purelib.join("dir/over")).unwrap();
        over.set_len(MAX_FILE_SIZE as u64 + 1).unwrap();
        let at = std::fs::File::create(purelib.join("dir/at")).unwrap();
        at.set_len(MAX_FILE_SIZE as u64).unwrap();
        for site in both(purelib) {
            let mut buf = Vec::new();
            assert_eq!(
                site.read_metadata_file("dir/file", &mut buf),
                Contents::Read
            );
            assert_eq!(buf, b"mine\n");
            for absent in ["link", "fifo", "dir", "missing", "missing/file"] {
                assert_eq!(
                    site.read_metadata_file(absent, &mut buf),
                    Contents::Absent,
                    "{absent}"
                );
                assert!(buf.is_empty());
            }
            assert_eq!(
                site.read_metadata_file("dir/over", &mut buf),
                Contents::TooLarge
            );
            assert_eq!(site.read_metadata_file("dir/at", &mut buf), Contents::Read);
            assert_eq!(buf.len(), MAX_FILE_SIZE);
            assert!(matches!(site.inspect("link").unwrap(), Node::Symlink));
            assert!(matches!(site.inspect("fifo").unwrap(), Node::Special));
            assert!(matches!(
                site.inspect("dir").unwrap(),
                Node::Directory { .. }
            ));
            assert!(matches!(site.inspect("missing").unwrap(), Node::Missing));
            assert!(matches!(
                site.inspect("missing/file").unwrap(),
                Node::Missing
            ));
            match site.inspect("dir/file").unwrap() {
                Node::File { bytes, mode, .. } => {
                    assert_eq!((bytes.as_slice(), mode), (&b"mine\n"[..], 0o640));
                }
                other => panic!("{other:?}"),
            }
            let mut names: Vec<(OsString, Kind)> = site
                .list("")
                .unwrap()
                .unwrap()
                .into_iter()
                .map(|e| (e.name, e.kind))
                .collect();
            names.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(
                names,
                [
                    ("dir".into(), Kind::Directory),
                    ("fifo".into(), Kind::Special),
                    ("link".into(), Kind::Symlink)
                ]
            );
            assert!(site.list("missing").unwrap().is_none());
        }
    }

    #[test]
    fn writes_replace_files_whole_with_their_mode_and_mtime() {
        let tmp = tempfile::tempdir().unwrap();
        let purelib = tmp.path();
        let mtime = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        for (site, top) in both(purelib).iter().zip(["one", "two"]) {
            let rel = format!("{top}/deep/file.so");
            site.write_atomic(&rel, b"first", 0o755, mtime).unwrap();
            site.write_atomic(&rel, b"second", 0o755, mtime).unwrap();
            let meta = std::fs::metadata(purelib.join(&rel)).unwrap();
            assert_eq!(meta.permissions().mode() & 0o7777, 0o755);
            assert_eq!(meta.modified().unwrap(), mtime);
            assert_eq!(std::fs::read(purelib.join(&rel)).unwrap(), b"second");
            for dir in [top.to_owned(), format!("{top}/deep")] {
                let mode = std::fs::metadata(purelib.join(&dir))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o7777, 0o755, "{dir}");
            }
            let names: Vec<OsString> = site
                .list(&format!("{top}/deep"))
                .unwrap()
                .unwrap()
                .into_iter()
                .map(|e| e.name)
                .collect();
            assert_eq!(names, ["file.so"], "no temporary left");
            assert!(site.remove_file(&rel).unwrap());
            assert!(!site.remove_file(&rel).unwrap());
            assert!(site.remove_dir_if_empty(&format!("{top}/deep")).unwrap());
        }
    }

    #[test]
    fn a_venv_site_packages_resolving_outside_the_venv_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let venv = tmp.path().join("venv");
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::create_dir_all(venv.join("lib")).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        symlink(&elsewhere, venv.join("lib/site-packages")).unwrap();
        let err = SitePackages::open(&venv.join("lib/site-packages"), Some(&venv)).unwrap_err();
        assert!(matches!(err, Error::OutsideEnvironment { .. }), "{err}");
        assert_eq!(err.exit_code(), crate::error::EXIT_REFUSED);
        // Outside a venv, or inside through a link, it is opened.
        SitePackages::open(&venv.join("lib/site-packages"), None).unwrap();
        symlink(&venv, tmp.path().join("link")).unwrap();
        std::fs::create_dir(venv.join("lib/real")).unwrap();
        let site = SitePackages::open(&tmp.path().join("link/lib/real"), Some(&venv)).unwrap();
        assert_eq!(site.path(), tmp.path().join("link/lib/real"));
    }
}
