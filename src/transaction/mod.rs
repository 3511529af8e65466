//! Applying a [`Plan`](crate::plan::Plan) and removing what a RECORD lists, as transactions that
//! any crash leaves in a state the next run completes:
//!
//! * everything is done relative to one descriptor of purelib, opened once
//!   ([`SitePackages`](crate::site_packages::SitePackages)), and never through a symlink, so a directory the
//!   environment's owner swaps for a link meanwhile fails the run rather
//!   than redirect it; an exclusive `flock` on that descriptor (no lock file
//!   to leave behind) keeps other runs out;
//! * every decision is taken before the first write ([`plan_install`],
//!   [`plan_uninstall`]), so a refusal changes nothing;
//! * install writes the package, then the other dist-info files, then
//!   RECORD, then the activation file (`.pth`, `.start` or the
//!   `sitecustomize` package): until it is in place no interpreter tries to
//!   load anything, and once RECORD is in place every file is known to be
//!   ours. Uninstall goes in reverse: activation first, RECORD last;
//! * an upgrade that changes the package takes the activation files out
//!   first (made durable) and writes them again last, so that no
//!   interpreter starts with a mix of two versions; a change of defaults
//!   within one version stays live (`deactivates_first` in `decide`);
//! * each file is written to a temporary file in its directory, fsynced,
//!   given its mode and renamed over the target, and the directory fsynced.
//!
//! Ownership: a file is ours when an installed `wrapt_bootstrap-*.dist-info/
//! RECORD` (any version) lists it with a matching hash, or when it is already
//! byte-identical to what we would write (that is how an install interrupted
//! before its RECORD landed is completed). Anything else is refused, naming
//! the file, unless `--force`.
//!
//! The work is split as it happens: `read` finds what is installed and
//! what is on disk, `decide` turns that into a list of [`Change`]s (and
//! refuses what is not ours), and `apply` makes them.

mod apply;
mod decide;
mod read;
#[cfg(test)]
mod tests;

pub use apply::{apply_install, apply_uninstall, tidy};
pub use decide::{plan_install, plan_uninstall, refusal, Change, Counts};
pub use read::{
    defaults_on_disk, installed_activation, installed_defaults, installed_records, leftover_record,
    unlisted, verify, InstalledRecord,
};
