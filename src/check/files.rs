//! `--check`'s verification of the installed files: against a fresh plan
//! for this version, against its RECORD for another.

use super::CheckReport;
use crate::error::Result;
use crate::integrity::{self, finding};
use crate::plan::{Activation, Plan, VERSION};
use crate::site_packages::SitePackages;
use crate::target::Layout;
use crate::{bytecode, transaction};

/// Holds every file of ours against what this binary installs
/// ([`integrity`]), bytecode compiled afresh by the interpreter; another
/// version's files can only be held against its RECORD.
pub(super) fn verify_files(
    layout: &Layout,
    site: &SitePackages,
    records: &[transaction::InstalledRecord],
    activation: Activation,
    report: &mut CheckReport,
) -> Result<()> {
    let purelib = &layout.purelib;
    for record in records.iter().filter(|r| r.version() != VERSION) {
        let dist_info = purelib.join(&record.dist_info);
        report.problem(
            "other_version",
            Some(&dist_info),
            format!(
                "{} is version {}, this wrapt-install installs {VERSION}; run wrapt-install to replace it",
                dist_info.display(),
                record.version()
            ),
        );
    }
    if records.iter().any(|r| r.version() != VERSION) {
        let (verified, problems) = transaction::verify(site, records)?;
        report.files_verified = verified;
        report.problems.extend(problems);
        for rel in transaction::unlisted(site, records)? {
            report
                .problems
                .push(integrity::unlisted(&purelib.join(rel)));
        }
        return Ok(());
    }
    // A tampered __init__.py differs from any rendering: its defaults only
    // choose which rendering the rest is held against.
    let defaults = transaction::defaults_on_disk(site).unwrap_or_default();
    let mut plan = Plan::render(&defaults, activation);
    match bytecode::compile(&layout.interpreter, purelib, &plan.python_sources()) {
        Ok(compiled) => plan.add_bytecode(compiled),
        Err(reason) => {
            report.problem(
                "bytecode_not_compiled",
                Some(&layout.interpreter),
                format!(
                    "{} could not compile the bytecode to compare with: {reason}",
                    layout.interpreter.display()
                ),
            );
            return Ok(());
        }
    }
    let found = integrity::snapshot(site, &plan)?;
    let comparison = integrity::compare(&plan, &found, purelib);
    report.files_verified = comparison.verified;
    report.problems.extend(comparison.problems);
    if comparison.bytecode_to_compare.is_empty() {
        return Ok(());
    }
    let pairs: Vec<_> = comparison
        .bytecode_to_compare
        .into_iter()
        .map(|(pyc, source, on_disk)| {
            let text = plan.get(&source).map_or(&[][..], |f| f.bytes.as_slice());
            (pyc, source, text, on_disk)
        })
        .collect();
    match bytecode::equivalent(&layout.interpreter, purelib, &pairs) {
        Ok(differing) => {
            report.files_verified += pairs.len() - differing.len();
            for (pyc, why) in differing {
                let path = purelib.join(pyc);
                let message = format!("{} was modified: {why}", path.display());
                report.problems.push(finding("modified", &path, message));
            }
        }
        Err(reason) => report.problem(
            "bytecode_not_compared",
            Some(purelib),
            format!(
                "{} could not compare the bytecode of {}: {reason}",
                layout.interpreter.display(),
                purelib.display()
            ),
        ),
    }
    Ok(())
}
