//! `wrapt-install --check`: every file of ours verified, then activation
//! proven by starting the environment's own interpreter as the application
//! would start (the caller's working directory and environment, with the
//! example group enabled on top of the caller's `WRAPT_PATCHES`) and asking
//! `wrapt_bootstrap._status()`, and the [`ordering`] of each hook
//! registered at startup diagnosed.
//!
//! What startup prints on stderr is information, shown as such: a patch
//! that logs, a warning, a `sitecustomize` of the user's. Problems (exit 1)
//! are files that differ, an activation that failed, a hook that failed at
//! startup; with `--strict`, every warning too (late hooks among them).
//!
//! This module is the sequence ([`run`], `check`) and the report; each
//! question it asks has its own module: are the files ours (`files`), does
//! the activation fit the interpreter and the caller's environment (`fit`),
//! does startup activate, and in time (`live`).

mod files;
mod fit;
mod live;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::ordering::Ordering;
use crate::output::{self, lossy_path_opt, Finding, Output};
use crate::plan::{self, Activation, VERSION};
use crate::site_packages::SitePackages;
use crate::target::Layout;
use crate::transaction;

use files::verify_files;
use fit::{judge_fit, judge_sitecustomize};
use live::prove_activation;
pub use live::{live_sys_path, Status};

/// The outcome of a check (also the `--json` output). Every key is there in
/// every state, `null` where the check did not get that far.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// `ok`: no problem found; `error`: `check_failed` (exit 1) with the
    /// problems, or what stopped the check (exit 2–4).
    #[serde(flatten)]
    pub head: output::Head,
    /// `--strict`: every warning counts as a problem.
    pub strict: bool,
    #[serde(flatten)]
    pub environment: output::Environment,
    /// How the installation activates (from its RECORD).
    pub activation: Option<Activation>,
    /// Files identical to what an install writes, RECORD included.
    pub files_verified: usize,
    pub problems: Vec<Finding>,
    pub warnings: Vec<Finding>,
    /// The `WRAPT_PATCHES` the interpreter was run with.
    pub selection: Option<String>,
    /// The command run to prove activation, with `selection` as
    /// `WRAPT_PATCHES` and the caller's other variables: it starts the
    /// environment for real, its `.pth` files and `sitecustomize` included
    /// (`None` when the check stopped before).
    pub started: Option<Vec<String>>,
    /// The directory it was started in: the caller's.
    #[serde(serialize_with = "lossy_path_opt")]
    pub started_in: Option<PathBuf>,
    pub status: Option<Status>,
    /// What startup printed on stderr (besides `-X importtime` and the
    /// example group), line by line: information, not a problem.
    pub startup_stderr: Vec<String>,
    /// Each hook registered at startup, registered in time or late.
    pub ordering: Vec<Ordering>,
}

impl Default for CheckReport {
    /// The report of a check that has checked nothing yet.
    fn default() -> Self {
        CheckReport {
            head: output::Head::new("check"),
            strict: false,
            environment: output::Environment::default(),
            activation: None,
            files_verified: 0,
            problems: Vec::new(),
            warnings: Vec::new(),
            selection: None,
            started: None,
            started_in: None,
            status: None,
            startup_stderr: Vec::new(),
            ordering: Vec::new(),
        }
    }
}

impl CheckReport {
    /// The report of a check stopped by `error` before it knew more.
    pub fn failed(error: output::ErrorReport, strict: bool) -> Self {
        CheckReport {
            head: output::Head::failed("check", error),
            strict,
            ..CheckReport::default()
        }
    }

    fn of(layout: &Layout, strict: bool) -> Self {
        CheckReport {
            strict,
            environment: output::Environment::of(layout),
            ..CheckReport::default()
        }
    }

    fn problem(&mut self, code: &'static str, path: Option<&Path>, message: String) {
        self.problems.push(Finding {
            code,
            path: path.map(Path::to_owned),
            message,
        });
    }

    fn warning(&mut self, code: &'static str, path: Option<&Path>, message: String) {
        self.warnings.push(Finding {
            code,
            path: path.map(Path::to_owned),
            message,
        });
    }

    /// How the check ends: `CheckFailed` where it found problems.
    pub fn failure(&self) -> Option<Error> {
        (!self.problems.is_empty()).then(|| Error::CheckFailed {
            count: self.problems.len(),
            purelib: self.environment.purelib.clone().unwrap_or_default(),
        })
    }

    /// Not installed at all: the one problem line says everything.
    pub fn is_not_installed(&self) -> bool {
        self.problems.iter().any(|p| p.code == NOT_INSTALLED)
    }
}

const NOT_INSTALLED: &str = "not_installed";

/// Runs the check; what it found is the report, problems included
/// ([`CheckReport::failure`]). `Err` only for what stopped it.
pub fn run(
    layout: &Layout,
    site: &SitePackages,
    out: &Output,
    strict: bool,
) -> Result<CheckReport> {
    let mut report = CheckReport::of(layout, strict);
    check(layout, site, out, &mut report)?;
    if strict {
        report.problems.append(&mut report.warnings);
    }
    report.head.outcome(report.failure().as_ref());
    Ok(report)
}

/// The steps, in order: records, files, fit, and only if every file is
/// intact the live run.
fn check(
    layout: &Layout,
    site: &SitePackages,
    out: &Output,
    report: &mut CheckReport,
) -> Result<()> {
    let purelib = &layout.purelib;
    // Shared: a concurrent install or uninstall waits until we are done.
    site.lock(false, || out.waiting(purelib))?;

    let records = match transaction::installed_records(site, false) {
        Ok(records) => records,
        Err(e) if e.is_untrusted_record() => {
            let path = match &e {
                Error::BadRecord { path, .. }
                | Error::NotARegularFile { path, .. }
                | Error::SymlinkedDirectory { path } => Some(path.as_path()),
                Error::UnsafePath { record, .. } => Some(record.as_path()),
                _ => None,
            };
            report.problem(e.code(), path, e.to_string());
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    if records.is_empty() {
        report.problem(
            NOT_INSTALLED,
            Some(purelib),
            format!(
                "wrapt-bootstrap is not installed in {}; run wrapt-install",
                purelib.display()
            ),
        );
        return Ok(());
    }
    let activation = transaction::installed_activation(&records).unwrap_or(Activation::Pth);
    report.activation = Some(activation);
    verify_files(layout, site, &records, activation, report)?;
    // Starting the environment would run whatever differs.
    let files_intact = report.problems.is_empty();
    let start_listed = records
        .iter()
        .any(|r| r.entries.iter().any(|e| e.path == plan::START));
    judge_fit(activation, start_listed, layout, report);
    if activation == Activation::Sitecustomize {
        judge_sitecustomize(layout, site, report)?;
    }
    if !files_intact {
        report.problem(
            "activation_not_tried",
            None,
            format!(
                "activation not tried: {} would run files that differ from what wrapt-install {VERSION} installs",
                layout.interpreter.display()
            ),
        );
        return Ok(());
    }
    prove_activation(layout, site, activation, out, report);
    Ok(())
}

/// Whether two paths name the same file; where either cannot be resolved
/// (a path the status could only give with U+FFFD for undecodable bytes),
/// whether they read the same.
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a.to_string_lossy() == b.to_string_lossy(),
    }
}
