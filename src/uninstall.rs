//! `wrapt-uninstall`, step by step: the target, then under its lock the
//! installed records (with what an interrupted install left), the
//! removals, the refusal, and applying them. What it did comes back as an
//! [`Uninstalled`], which [`report`] tells.

use crate::error::{Error, Result};
use crate::install::pin;
use crate::options::UninstallOptions;
use crate::output::Output;
use crate::report::{self, Report};
use crate::target;
use crate::transaction::{self, Counts};

/// What an uninstall did, or with `--dry-run` would do.
pub enum Uninstalled {
    /// No RECORD of ours: nothing to remove.
    NotInstalled(Report),
    /// `--dry-run`: the removals, and the refusal they would meet.
    DryRun {
        report: Report,
        refusal: Option<Error>,
    },
    Done(Report),
}

impl Uninstalled {
    pub fn report(&self) -> &Report {
        match self {
            Uninstalled::NotInstalled(report)
            | Uninstalled::DryRun { report, .. }
            | Uninstalled::Done(report) => report,
        }
    }

    /// A dry run's refusal: its report is told all the same.
    pub fn into_refusal(self) -> Option<Error> {
        match self {
            Uninstalled::DryRun { refusal, .. } => refusal,
            _ => None,
        }
    }
}

/// Removes every file the installed RECORDs list.
pub fn uninstall(opts: &UninstallOptions, out: Output) -> Result<Uninstalled> {
    let layout = target::resolve(&opts.target)?;
    let site = pin(&layout, opts.target.scope)?;
    site.lock(!opts.dry_run, || out.waiting(&layout.purelib))?;

    let mut records = transaction::installed_records(&site, false)?;
    records.extend(transaction::leftover_record(&site, &records)?);
    let changes = transaction::plan_uninstall(&site, &records)?;
    let refusal = transaction::refusal(&site, &changes, opts.force);
    let mut report = Report::of("uninstall", opts.dry_run, &layout, &records, &changes);
    report.outcome(refusal.as_ref());

    if records.is_empty() {
        if !opts.dry_run {
            // An install interrupted before its first file was complete.
            transaction::tidy(&site)?;
        }
        return Ok(Uninstalled::NotInstalled(report));
    }
    if opts.dry_run {
        return Ok(Uninstalled::DryRun { report, refusal });
    }
    if let Some(err) = refusal {
        return Err(err);
    }
    let mut counts = Counts::of(&changes);
    counts.directories_removed = transaction::apply_uninstall(&site, &changes, |change| {
        report::change_made(&out, change);
    })? + transaction::tidy(&site)?;
    report.counts = Some(counts);
    Ok(Uninstalled::Done(report))
}
