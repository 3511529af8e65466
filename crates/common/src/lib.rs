//! Parsing shared by the `wrapt-install` CLI and the `wrapt_bootstrap._native`
//! module: names, `entry_points.txt`, the scan of distribution metadata on
//! `sys.path`, and what the environment selects at startup. Plain Rust, no
//! Python, so it is unit-tested here.

// The scan reads with POSIX calls (readdir, open, fstat), as every target
// of wrapt-install is a POSIX system.
#[cfg(not(unix))]
compile_error!("wrapt-common supports Unix only");

pub mod activation;
pub mod entry_points;
pub mod names;
pub mod pystr;
pub mod scan;
pub mod selection;
