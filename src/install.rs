//! `wrapt-install`, step by step: the target (made with `--create`), then
//! under its lock the installed records, the defaults, the activation, the
//! plan and its bytecode, the changes, the refusal, and applying them. What
//! it did comes back as an [`Installed`], which [`report`] tells; `--check`
//! and `--list` branch off to [`check`] and [`discover`] once the target is
//! known.

use std::collections::BTreeSet;
use std::path::Path;

use crate::check::CheckReport;
use crate::create::{self, Creation, NewEnvironment, NewVenv};
use crate::discover::ListReport;
use crate::error::{Error, Result};
use crate::options::{InstallOptions, Mode, Scope};
use crate::output::Output;
use crate::plan::{self, Activation, Plan};
use crate::probe::Interpreter;
use crate::report::{self, Report};
use crate::site_packages::SitePackages;
use crate::target::{self, Layout};
use crate::{bytecode, check, discover, transaction, trust};

/// What `wrapt-install` did, as its mode asked; [`report`] tells it.
pub enum Outcome {
    Installed(Installed),
    /// `--check`, problems included.
    Checked(CheckReport),
    /// `--list`.
    Listed(ListReport),
}

impl Outcome {
    /// How the run ends besides its report: a dry run's refusal, a check's
    /// problems.
    pub fn into_error(self) -> Option<Error> {
        match self {
            Outcome::Installed(installed) => installed.into_refusal(),
            Outcome::Checked(report) => report.failure(),
            Outcome::Listed(_) => None,
        }
    }
}

/// What an install did, or with `--dry-run` would do.
pub enum Installed {
    /// `--dry-run --create`: the environment it would make, and what it
    /// would write there.
    WouldCreate(Report),
    /// `--dry-run`: the changes, and the refusal they would meet.
    DryRun {
        report: Report,
        refusal: Option<Error>,
    },
    /// Everything was already as this version writes it.
    NothingToDo(Report),
    Done {
        report: Report,
        /// The activation it switched from, unasked.
        switched: Option<Switched>,
    },
}

impl Installed {
    pub fn report(&self) -> &Report {
        match self {
            Installed::WouldCreate(report)
            | Installed::DryRun { report, .. }
            | Installed::NothingToDo(report)
            | Installed::Done { report, .. } => report,
        }
    }

    /// A dry run's refusal: its report is told all the same.
    fn into_refusal(self) -> Option<Error> {
        match self {
            Installed::DryRun { refusal, .. } => refusal,
            _ => None,
        }
    }
}

/// An installed activation the interpreter ignores, replaced by its default.
pub struct Switched {
    pub from: Activation,
    pub to: Activation,
    /// Why the interpreter ignores `from`.
    pub reason: &'static str,
}

/// Installs, checks, lists or dry-runs, as `opts.mode` says.
pub fn run(opts: &InstallOptions, out: Output) -> Result<Outcome> {
    let dry_run = opts.mode == Mode::DryRun;
    let new_venv = match create::venv(&opts.target, dry_run, out, |venv, base| {
        activation_for_new_venv(venv, base, opts.activation).map(drop)
    })? {
        Creation::Nothing => None,
        Creation::Made(venv) => Some(venv),
        Creation::WouldMake { venv, base, info } => {
            return would_create(&venv, &base, &info, opts).map(Outcome::Installed)
        }
    };
    let layout = target::resolve(&opts.target)?;
    match opts.mode {
        Mode::Check => {
            // Its live activation starts the environment for real.
            if !opts.target.trust_writers {
                trust::startup(&check::live_sys_path(&layout.info)?)?;
            }
            let site = pin(&layout, opts.target.scope)?;
            check::run(&layout, &site, &out, opts.strict).map(Outcome::Checked)
        }
        Mode::List => {
            discover::run(&layout, &pin(&layout, opts.target.scope)?, &out).map(Outcome::Listed)
        }
        Mode::Install | Mode::DryRun => {
            install(&layout, opts, out, new_venv).map(Outcome::Installed)
        }
    }
}

/// The target's site-packages, opened once for everything that follows; a
/// virtual environment's must lie inside it.
pub fn pin(layout: &Layout, scope: Scope) -> Result<SitePackages> {
    let within = (scope == Scope::Venv).then_some(layout.info.prefix.as_path());
    SitePackages::open(&layout.purelib, within)
}

/// Installs into `layout`, or with `--dry-run` finds what that would
/// change. `new_venv`, made by this run, is removed again if the install
/// fails before it writes.
fn install(
    layout: &Layout,
    opts: &InstallOptions,
    out: Output,
    new_venv: Option<NewVenv>,
) -> Result<Installed> {
    let purelib = &layout.purelib;
    let dry_run = opts.mode == Mode::DryRun;
    if let Some(marker) = layout.info.externally_managed() {
        if opts.target.scope == Scope::System && !opts.force {
            return Err(Error::ExternallyManaged { marker });
        }
    }
    if !dry_run && purelib.symlink_metadata().is_err() {
        // A user or system site-packages that does not exist yet holds
        // nothing of ours: what could refuse the install is decided before
        // the directory is made, as pip makes it.
        choose_activation(layout, opts.activation, None)?;
        fs_err::create_dir_all(purelib)?;
    }
    let site = pin(layout, opts.target.scope)?;
    site.lock(!dry_run, || out.waiting(purelib))?;

    let records = transaction::installed_records(&site, opts.force)?;
    let installed_defaults = transaction::installed_defaults(&site, &records);
    let warnings = discover::group_change_warnings(layout, &opts.groups, &installed_defaults);
    report::warnings(&out, &warnings);
    let defaults = opts.groups.apply(&installed_defaults);
    let installed = transaction::installed_activation(&records);
    let activation = choose_activation(layout, opts.activation, installed)?;
    let mut plan = Plan::render(&defaults, activation);
    let compiled = bytecode::compile(&layout.interpreter, purelib, &plan.python_sources())
        .map_err(|reason| Error::Bytecode {
            path: layout.interpreter.clone(),
            reason,
        })?;
    plan.add_bytecode(compiled);
    let changes = transaction::plan_install(&site, &plan, &records)?;
    let refusal = transaction::refusal(&site, &changes.changes, opts.force);
    let mut report = Report {
        defaults: Some(plan.defaults.clone()),
        activation: Some(activation),
        activation_line: plan.activation_line(),
        warnings,
        ..Report::of("install", dry_run, layout, &records, &changes.changes)
    };
    report.outcome(refusal.as_ref());

    if dry_run {
        return Ok(Installed::DryRun { report, refusal });
    }
    if let Some(err) = refusal {
        return Err(err);
    }
    if let Some(venv) = new_venv {
        report.create = Some(venv.describe());
        venv.keep();
    }
    if report.nothing_to_do == Some(true) {
        transaction::tidy(&site)?;
        return Ok(Installed::NothingToDo(report));
    }
    // Tidied afterwards as well: a run interrupted after emptying an older
    // version's dist-info, and before removing it, leaves the directory
    // with nothing in any RECORD to say it is ours to remove.
    let directories_removed = transaction::apply_install(&site, &plan, &changes, |change| {
        report::change_made(&out, change);
    })? + transaction::tidy(&site)?;
    if let Some(counts) = &mut report.counts {
        counts.directories_removed = directories_removed;
    }
    let switched = match (installed, opts.activation) {
        (Some(from), None) if from != activation => Some(Switched {
            from,
            to: activation,
            reason: from.ignored_by(layout.info.version).unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(Installed::Done { report, switched })
}

/// The activation an install writes (see [`Activation::choose`]), refused
/// where it cannot work.
fn choose_activation(
    layout: &Layout,
    asked: Option<Activation>,
    installed: Option<Activation>,
) -> Result<Activation> {
    let activation = activation_for(&layout.info, asked, installed)?;
    if activation == Activation::Sitecustomize {
        if let Some(reason) = plan::sitecustomize_conflict(&layout.info, &layout.purelib) {
            return Err(Error::Sitecustomize {
                purelib: layout.purelib.clone(),
                reason,
            });
        }
    }
    Ok(activation)
}

/// [`Activation::choose`] for `info`, refused where it ignores the mode.
fn activation_for(
    info: &Interpreter,
    asked: Option<Activation>,
    installed: Option<Activation>,
) -> Result<Activation> {
    let version = info.version;
    Activation::choose(asked, installed, version).map_err(|reason| Error::ActivationIgnored {
        mode: asked.map_or("", Activation::as_str),
        python: info.description(),
        reason,
        default: Activation::default_for(version).as_str(),
    })
}

/// The activation an install into a virtual environment made from `base`
/// writes, refused, before the environment is made, where it cannot work.
fn activation_for_new_venv(
    venv: &Path,
    base: &Interpreter,
    asked: Option<Activation>,
) -> Result<Activation> {
    let activation = activation_for(base, asked, None)?;
    if activation == Activation::Sitecustomize {
        if let Some(reason) = plan::new_venv_sitecustomize_conflict(base) {
            return Err(Error::Sitecustomize {
                purelib: venv.to_owned(),
                reason,
            });
        }
    }
    Ok(activation)
}

/// What an install with `--create` would make and write, as far as can be
/// told before the environment exists.
fn would_create(
    venv: &Path,
    base: &Path,
    info: &Interpreter,
    opts: &InstallOptions,
) -> Result<Installed> {
    let activation = activation_for_new_venv(venv, info, opts.activation)?;
    let defaults: Vec<String> = opts.groups.apply(&BTreeSet::new()).into_iter().collect();
    let mut report = Report {
        create: Some(NewEnvironment {
            venv: venv.to_owned(),
            base_interpreter: base.to_owned(),
            python: info.description(),
        }),
        defaults: Some(defaults),
        activation: Some(activation),
        ..Report::new("install", true)
    };
    report.outcome(None);
    Ok(Installed::WouldCreate(report))
}
