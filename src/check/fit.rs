//! Whether the installed activation fits the interpreter and the caller's
//! environment: a mode the interpreter ignores, a `sitecustomize` that
//! hides ours.

use std::path::Path;

use super::{same_file, CheckReport};
use crate::error::Result;
use crate::plan::{self, Activation};
use crate::probe;
use crate::site;
use crate::site_packages::{Node, SitePackages};
use crate::target::Layout;

/// Whether our sitecustomize package runs where it is, and with the
/// caller's `PYTHONPATH`.
pub(super) fn judge_sitecustomize(
    layout: &Layout,
    site: &SitePackages,
    report: &mut CheckReport,
) -> Result<()> {
    let purelib = site.path();
    let ours = purelib.join(plan::SITECUSTOMIZE);
    if let Some(reason) = plan::sitecustomize_conflict(&layout.info, purelib) {
        report.problem(
            "sitecustomize_conflict",
            Some(&ours),
            format!("the sitecustomize package cannot work: {reason}; reinstall with --mode pth"),
        );
    }
    if let Some(pythonpath) = std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
        let entries = site::pythonpath_entries(&pythonpath, &std::env::current_dir()?);
        match probe::sitecustomize_in(&layout.interpreter, &entries) {
            Ok(Some(found)) if !same_file(&found, &ours) => {
                match hidden_by(&found, answers_opentelemetry(site)) {
                    Ok(warning) => report.warning("sitecustomize_hidden", Some(&found), warning),
                    Err(problem) => report.problem("sitecustomize_hidden", Some(&found), problem),
                }
            }
            Ok(_) => {}
            Err(problem) => report.problem("sitecustomize_unknown", None, problem),
        }
    }
    Ok(())
}

/// What a `sitecustomize` found on the caller's `PYTHONPATH`, which hides
/// our sitecustomize package, means: a warning where ours still activates,
/// late, else a problem. The wrappers `ddtrace-run` and
/// `opentelemetry-instrument` put theirs there. The live run has the same
/// `PYTHONPATH`, so its ordering shows what the wrapper imported before
/// ours activated; this says why.
fn hidden_by(found: &Path, answers_opentelemetry: bool) -> Result<String, String> {
    let hides = |whose: &str| {
        format!(
            "with this PYTHONPATH, Python imports {}{whose} instead of our sitecustomize package",
            found.display()
        )
    };
    let late = "hooks on what it imported are late (the ordering shows which); --mode pth activates before it";
    if found.ends_with("ddtrace/bootstrap/sitecustomize.py") {
        Ok(format!(
            "{}, and it runs ours only after starting ddtrace: {late}",
            hides(" (ddtrace-run's)")
        ))
    } else if found.ends_with("opentelemetry/instrumentation/auto_instrumentation/sitecustomize.py")
    {
        let hides = hides(" (opentelemetry-instrument's)");
        if answers_opentelemetry {
            Ok(format!(
                "{hides}, and runs no other: wrapt-bootstrap activates from OpenTelemetry's opentelemetry_pre_instrument entry point instead, after OpenTelemetry's configuration: {late}"
            ))
        } else {
            Err(format!(
                "{hides}, and runs no other, and this installation lacks the opentelemetry_pre_instrument entry point that activates wrapt-bootstrap there: run wrapt-install, or use --mode pth"
            ))
        }
    } else {
        Err(format!(
            "{}, which then runs only if that one imports the next sitecustomize on sys.path (ddtrace-run's does); reinstall with --mode pth, which activates before any sitecustomize",
            hides("")
        ))
    }
}

/// Whether the installation declares the entry point through which
/// OpenTelemetry's sitecustomize activates wrapt-bootstrap, and has the
/// module it names.
fn answers_opentelemetry(site: &SitePackages) -> bool {
    let entry_points = format!("{}/entry_points.txt", plan::dist_info_dir());
    let is_file = |rel: &str| matches!(site.inspect(rel), Ok(Node::File { .. }));
    let declares = || match site.inspect(&entry_points) {
        Ok(Node::File { bytes, .. }) => std::str::from_utf8(&bytes).is_ok_and(|text| {
            wrapt_common::entry_points::sections(text)
                .iter()
                .any(|section| section.group == plan::OPENTELEMETRY_GROUP)
        }),
        _ => false,
    };
    is_file(plan::HIDDEN) && declares()
}

/// Whether the installed activation files fit the interpreter: files it
/// ignores are a problem (the interpreter changed since the install; a
/// re-install switches), and so is the `.start` an earlier layout wrote
/// beside the `.pth`; a `.start` where a `.pth` line still works is a
/// warning, since it was chosen (`--mode start`) but costs every start.
pub(super) fn judge_fit(
    activation: Activation,
    start_listed: bool,
    layout: &Layout,
    report: &mut CheckReport,
) {
    let version = layout.info.version;
    let python = layout.info.description();
    let path = |file| layout.purelib.join(file);
    if let Some(reason) = activation.ignored_by(version) {
        let file = path(activation.file());
        report.problem(
            "activation_ignored",
            Some(&file),
            format!(
                "{} cannot activate {python}: {reason}; run wrapt-install to switch to {}",
                file.display(),
                Activation::default_for(version).file()
            ),
        );
    }
    let start = path(plan::START);
    if activation == Activation::Pth && start_listed {
        report.problem(
            "leftover_start",
            Some(&start),
            format!(
                "{} is left from an earlier wrapt-install: from CPython 3.15 on it makes site skip {} and import pkgutil and two dozen more modules at every start; run wrapt-install to remove it",
                start.display(),
                plan::PTH
            ),
        );
    }
    if activation == Activation::Start && Activation::default_for(version) != Activation::Start {
        report.warning(
            "start_file_cost",
            Some(&start),
            format!(
                "{} makes site import pkgutil and two dozen more modules at every start of {python}; until CPython 3.18 a .pth line activates for a fraction of that: wrapt-install --mode pth",
                start.display()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn a_sitecustomize_on_pythonpath_is_a_warning_only_where_ours_still_activates() {
        let site = "/v/lib/python3.12/site-packages";
        let ddtrace = PathBuf::from(format!("{site}/ddtrace/bootstrap/sitecustomize.py"));
        let opentelemetry = PathBuf::from(format!(
            "{site}/opentelemetry/instrumentation/auto_instrumentation/sitecustomize.py"
        ));
        let warning = hidden_by(&ddtrace, false).unwrap();
        assert!(warning.contains("(ddtrace-run's)"), "{warning}");
        let warning = hidden_by(&opentelemetry, true).unwrap();
        assert!(
            warning.contains("(opentelemetry-instrument's)"),
            "{warning}"
        );
        // Installed before the entry point existed: nothing activates.
        let problem = hidden_by(&opentelemetry, false).unwrap_err();
        assert!(problem.contains("lacks the opentelemetry_pre_instrument entry point"));
        // A directory merely named like theirs is not theirs.
        let problem =
            hidden_by(Path::new("/src/myddtrace/bootstrap/sitecustomize.py"), true).unwrap_err();
        assert!(problem.contains("--mode pth"), "{problem}");
    }
}
