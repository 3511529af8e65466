//! Applying a [`Plan`] and removing what a RECORD lists, as transactions that
//! any crash leaves in a state the next run completes:
//!
//! * an exclusive `flock` on the purelib directory itself (no lock file to
//!   leave behind);
//! * every decision is taken before the first write ([`plan_install`],
//!   [`plan_uninstall`]), so a refusal changes nothing;
//! * install writes the package, then the other dist-info files, then
//!   RECORD, then the activation file (`.pth`, `.start` or the
//!   `sitecustomize` package): until it is in place no interpreter tries to
//!   load anything, and once RECORD is in place every file is known to be
//!   ours. Uninstall goes in reverse: activation first, RECORD last;
//! * each file is written to a temporary file in its directory, fsynced,
//!   given its mode and renamed over the target, and the directory fsynced.
//!
//! Ownership: a file is ours when an installed `wrapt_bootstrap-*.dist-info/
//! RECORD` (any version) lists it with a matching hash, or when it is already
//! byte-identical to what we would write (that is how an install interrupted
//! before its RECORD landed is completed). Anything else is refused, naming
//! the file, unless `--force`.
//!
//! The work is split as it happens: [`read`] finds what is installed and
//! what is on disk, [`decide`] turns that into a list of [`Change`]s (and
//! refuses what is not ours), and [`apply`] makes them.

mod apply;
mod decide;
mod read;
#[cfg(test)]
mod tests;

use std::path::Path;

use crate::error::{Error, Result};

pub use apply::{apply, tidy};
pub use decide::{plan_install, plan_uninstall, refusal, Action, Change, Counts, Problem};
pub use read::{
    installed_activation, installed_defaults, installed_records, leftover_record, unlisted, verify,
};

/// Temporary files are hidden, and never end in `.pth` or `.start`, so a
/// crash mid-write leaves nothing `site` would read. Stale ones are removed
/// by the next run.
const TEMP_PREFIX: &str = ".wrapt-install-";
const TEMP_SUFFIX: &str = ".tmp";

/// Holds the purelib lock until dropped (closing the descriptor releases
/// the `flock`).
#[derive(Debug)]
pub struct Lock {
    _dir: std::fs::File,
}

/// Locks purelib: exclusively to change it, shared to only read it. Calls
/// `waiting` once if another process holds the lock, then blocks.
pub fn lock(purelib: &Path, exclusive: bool, waiting: impl FnOnce()) -> Result<Lock> {
    let dir = std::fs::File::open(purelib).map_err(|source| Error::File {
        action: "open",
        path: purelib.to_owned(),
        source,
    })?;
    let attempt = if exclusive {
        dir.try_lock()
    } else {
        dir.try_lock_shared()
    };
    let lock_error = |source| Error::Lock {
        path: purelib.to_owned(),
        source,
    };
    match attempt {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            waiting();
            if exclusive {
                dir.lock()
            } else {
                dir.lock_shared()
            }
            .map_err(lock_error)?;
        }
        Err(std::fs::TryLockError::Error(source)) => return Err(lock_error(source)),
    }
    Ok(Lock { _dir: dir })
}
