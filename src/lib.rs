//! `wrapt-install`: puts the `wrapt_bootstrap` package (post-import hooks
//! registered at interpreter startup) into a Python virtual environment, and
//! takes it out again.
//!
//! The binaries parse arguments ([`cli`]), and call [`run_install`] or
//! [`run_uninstall`], which only sequence the steps, each in its own module:
//! validated [`options`] → [`target`] resolution and probing (one
//! [`Layout`]) → the [`plan`] of files → the [`transaction`] that writes or
//! removes them (by their [`record`]) → or the [`check`] of an installation,
//! or the [`discover`]y of the patch groups an environment offers.

mod bytecode;
mod check;
pub mod cli;
mod create;
mod discover;
mod error;
mod integrity;
mod options;
mod ordering;
mod output;
mod plan;
mod record;
mod site;
mod site_packages;
mod target;
mod transaction;
mod trust;

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub use check::{CheckReport, Status};
pub use cli::{InstallArgs, UninstallArgs};
pub use discover::{Distribution, Hook, ListReport, PatchGroup};
pub use error::{Error, Result, Writer, EXIT_CHECK_FAILED, EXIT_IO, EXIT_REFUSED, EXIT_USAGE};
pub use options::{
    GroupChanges, InstallOptions, Mode, Scope, TargetSpec, UninstallOptions, Verbosity,
};
pub use plan::{
    Activation, Plan, PlannedFile, Stage, PTH, SITECUSTOMIZE, START, START_PACKAGE, VERSION,
};
pub use record::{hash_bytes, read as read_record, RecordEntry};
pub use target::{Interpreter, Layout};
pub use transaction::{Action, Change, Counts, Problem};

use create::{Creation, NewEnvironment, NewVenv};
use output::Output;
use site_packages::SitePackages;

/// The whole of `wrapt-install`: its arguments, the run, and how it ends.
pub fn install_main() -> ExitCode {
    let args: InstallArgs = cli::parse();
    let result = run_install(&args);
    let result_is_output =
        args.json || args.check || args.list || args.dry_run || args.output.completions.is_some();
    finish(
        "wrapt-install",
        &args.output,
        result_is_output,
        result,
        |error| {
            if !args.json {
                return None;
            }
            let mode = InstallOptions::mode_of(&args);
            match mode {
                Mode::Check => to_json(&CheckReport::failed(error, args.strict)),
                Mode::List => to_json(&ListReport::failed(error)),
                Mode::Install | Mode::DryRun => {
                    to_json(&Report::failed("install", mode == Mode::DryRun, error))
                }
            }
        },
    )
}

/// The whole of `wrapt-uninstall`: its arguments, the run, and how it ends.
pub fn uninstall_main() -> ExitCode {
    let args: UninstallArgs = cli::parse();
    let result = run_uninstall(&args);
    let result_is_output = args.json || args.dry_run || args.output.completions.is_some();
    finish(
        "wrapt-uninstall",
        &args.output,
        result_is_output,
        result,
        |error| {
            args.json
                .then(|| to_json(&Report::failed("uninstall", args.dry_run, error)))
                .flatten()
        },
    )
}

/// How a run ends: its exit code, the error line on stderr, and with
/// `--json` an object that carries the error where the run wrote none.
/// Output that could not be written fails a run whose output was its
/// result (`--check`, `--list`, `--dry-run`, `--json`, `--completions`);
/// after an install or uninstall, which did happen, it is a warning.
fn finish(
    program: &'static str,
    args: &cli::OutputArgs,
    result_is_output: bool,
    result: Result<()>,
    failed_report: impl FnOnce(output::ErrorReport) -> Option<String>,
) -> ExitCode {
    let verbosity = Verbosity::from(args);
    let result = match (result, output::stdout_failure()) {
        (Ok(()), Some(lost)) if result_is_output => Err(Error::Output(lost)),
        (result, Some(lost)) => {
            if verbosity >= Verbosity::Normal {
                output::eprintln(format_args!(
                    "{program}: {}: could not write output: {lost}",
                    output::label(output::Label::Warning)
                ));
            }
            result
        }
        (result, None) => result,
    };
    let Err(err) = result else {
        return ExitCode::SUCCESS;
    };
    if !output::json_written() {
        if let Some(text) = failed_report(output::ErrorReport::from(&err)) {
            output::write_stdout(format!("{text}\n").as_bytes());
        }
    }
    if verbosity > Verbosity::Silent {
        output::eprintln(format_args!(
            "{program}: {}: {err}",
            output::label(output::Label::Error)
        ));
    }
    ExitCode::from(err.exit_code())
}

/// A report as `--json` prints it: none if it cannot be serialised, which
/// reports of plain strings, numbers and lists never fail to be.
fn to_json(report: &impl Serialize) -> Option<String> {
    serde_json::to_string_pretty(report).ok()
}

/// `wrapt-install` after argument parsing.
pub fn run_install(args: &InstallArgs) -> Result<()> {
    output::configure("wrapt-install", &args.output);
    if let Some(shell) = args.output.completions {
        print_completions::<InstallArgs>(shell);
        return Ok(());
    }
    install(&InstallOptions::from_args(args)?)
}

/// `wrapt-uninstall` after argument parsing.
pub fn run_uninstall(args: &UninstallArgs) -> Result<()> {
    output::configure("wrapt-uninstall", &args.output);
    if let Some(shell) = args.output.completions {
        print_completions::<UninstallArgs>(shell);
        return Ok(());
    }
    uninstall(&UninstallOptions::from_args(args)?)
}

/// `--completions SHELL`: the script on stdout.
fn print_completions<A: clap::CommandFactory>(shell: clap_complete::Shell) {
    let mut command = A::command();
    let name = command.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut script);
    output::write_stdout(&script);
}

/// What an install or uninstall did (or, with `--dry-run`, would do); the
/// `--json` output. Every key is present in every state: what a run did not
/// get to know is null.
#[derive(Debug, Clone, Default, Serialize)]
struct Report {
    schema_version: u32,
    /// `install` or `uninstall` (`--dry-run` included).
    command: &'static str,
    /// It did, or would do, all it set out to.
    ok: bool,
    /// Why not: the error that ended the run.
    error: Option<output::ErrorReport>,
    dry_run: bool,
    version: &'static str,
    #[serde(serialize_with = "output::lossy_path_opt")]
    purelib: Option<PathBuf>,
    #[serde(serialize_with = "output::lossy_path_opt")]
    interpreter: Option<PathBuf>,
    python: Option<String>,
    /// The virtual environment `--create` made, or with `--dry-run` would.
    create: Option<NewEnvironment>,
    /// Versions found installed before this run.
    installed_before: Option<Vec<String>>,
    /// The default groups an install writes (null for an uninstall).
    defaults: Option<Vec<String>>,
    activation: Option<Activation>,
    /// The `.pth` or `.start` line an install writes.
    activation_line: Option<String>,
    changes: Option<Vec<Change>>,
    counts: Option<Counts>,
    nothing_to_do: Option<bool>,
    /// What the human output says on stderr as `warning:` lines.
    warnings: Vec<output::Finding>,
}

impl Report {
    fn new(command: &'static str, dry_run: bool) -> Self {
        Report {
            schema_version: output::SCHEMA_VERSION,
            command,
            dry_run,
            version: VERSION,
            ..Report::default()
        }
    }

    /// The report of a run that failed before it knew more.
    fn failed(command: &'static str, dry_run: bool, error: output::ErrorReport) -> Self {
        Report {
            error: Some(error),
            ..Report::new(command, dry_run)
        }
    }

    /// What the run found in the environment, before it changes anything.
    fn of(
        command: &'static str,
        dry_run: bool,
        layout: &Layout,
        records: &[transaction::InstalledRecord],
        changes: &[Change],
    ) -> Self {
        let counts = Counts::of(changes);
        Report {
            purelib: Some(layout.purelib.clone()),
            interpreter: Some(layout.interpreter.clone()),
            python: Some(layout.info.description()),
            installed_before: Some(versions(records).into_iter().map(str::to_owned).collect()),
            changes: Some(changes.to_vec()),
            counts: Some(counts),
            nothing_to_do: Some(if command == "install" {
                counts.is_noop()
            } else {
                records.is_empty()
            }),
            ..Report::new(command, dry_run)
        }
    }

    /// Ends the report with the run's outcome.
    fn outcome(&mut self, result: Option<&Error>) {
        self.ok = result.is_none();
        self.error = result.map(output::ErrorReport::from);
    }
}

/// Installs, checks, lists or dry-runs, as `opts.mode` says.
pub fn install(opts: &InstallOptions) -> Result<()> {
    let out = Output {
        program: "wrapt-install",
        verbosity: opts.verbosity,
        json: opts.json,
    };
    let dry_run = opts.mode == Mode::DryRun;
    let new_venv = match create::venv(&opts.target, dry_run, out, |venv, base| {
        activation_for_new_venv(venv, base, opts.activation).map(drop)
    })? {
        Creation::Nothing => None,
        Creation::Made(venv) => Some(venv),
        Creation::WouldMake { venv, base, info } => {
            return print_would_create(&venv, &base, &info, opts, &out)
        }
    };
    let layout = target::resolve(&opts.target)?;
    match opts.mode {
        Mode::Check => {
            // Its live activation starts the environment for real.
            if !opts.target.trust_writers {
                trust::startup(&check::live_sys_path(&layout.info)?)?;
            }
            check::run(
                &layout,
                &pin(&layout, opts.target.scope)?,
                &out,
                opts.strict,
            )
        }
        Mode::List => discover::run(&layout, &pin(&layout, opts.target.scope)?, &out),
        Mode::Install | Mode::DryRun => install_into(&layout, opts, out, new_venv),
    }
}

/// The target's site-packages, opened once for everything that follows; a
/// virtual environment's must lie inside it.
fn pin(layout: &Layout, scope: Scope) -> Result<SitePackages> {
    let within = (scope == Scope::Venv).then_some(layout.info.prefix.as_path());
    SitePackages::open(&layout.purelib, within)
}

/// Installs into `layout`, or with `--dry-run` says what that would change.
/// `new_venv`, made by this run, is removed again if the install fails
/// before it writes.
fn install_into(
    layout: &Layout,
    opts: &InstallOptions,
    out: Output,
    new_venv: Option<NewVenv>,
) -> Result<()> {
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
    if !out.json {
        for warning in &warnings {
            out.warn(&warning.message);
        }
    }
    let defaults = opts.groups.apply(&installed_defaults);
    let installed = transaction::installed_activation(&records);
    let activation = choose_activation(layout, opts.activation, installed)?;
    let version = layout.info.version;
    let mut plan = Plan::render(&defaults, activation);
    let compiled = bytecode::compile(&layout.interpreter, purelib, &plan.python_sources())
        .map_err(|reason| Error::Bytecode {
            path: layout.interpreter.clone(),
            reason,
        })?;
    plan.add_bytecode(compiled);
    let changes = transaction::plan_install(&site, &plan, &records)?;
    let refusal = transaction::refusal(&site, &changes, opts.force);
    let mut report = Report {
        defaults: Some(plan.defaults.clone()),
        activation: Some(activation),
        activation_line: plan.activation_line(),
        warnings,
        ..Report::of("install", dry_run, layout, &records, &changes)
    };
    report.outcome(refusal.as_ref());

    if dry_run {
        print_dry_run(&report, layout, &out)?;
        return refusal.map_or(Ok(()), Err);
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
        out.json(&report)?;
        out.info(format!(
            "wrapt-bootstrap {VERSION} is already installed in {}, nothing to do",
            purelib.display()
        ));
        return Ok(());
    }
    // Tidied afterwards as well: a run interrupted after emptying an older
    // version's dist-info, and before removing it, leaves the directory
    // with nothing in any RECORD to say it is ours to remove.
    let directories_removed = transaction::apply(&site, Some(&plan), &changes, |change| {
        out.detail(format!("  {:<9} {}", change.action.as_str(), change.path));
    })? + transaction::tidy(&site)?;
    if let Some(counts) = &mut report.counts {
        counts.directories_removed = directories_removed;
    }
    if out.json {
        return out.json(&report);
    }
    print_installed(&report, purelib, &out);
    if let (Some(switched), None) = (installed.filter(|i| *i != activation), opts.activation) {
        out.info(format!(
            "switched from {} to {} for {}: {}",
            switched.file(),
            activation.file(),
            layout.info.description(),
            switched.ignored_by(version).unwrap_or_default()
        ));
    }
    Ok(())
}

/// What an install did, in words.
fn print_installed(report: &Report, purelib: &Path, out: &Output) {
    let c = report.counts.unwrap_or_default();
    let older: Vec<&str> = report
        .installed_before
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|v| *v != VERSION)
        .collect();
    let upgraded = if older.is_empty() {
        String::new()
    } else {
        format!(" (replacing {})", older.join(", "))
    };
    out.info(format!(
        "installed wrapt-bootstrap {VERSION} into {}{upgraded}: {} created, {} replaced, {} unchanged, {} removed",
        purelib.display(),
        c.created,
        c.replaced,
        c.unchanged,
        c.removed
    ));
    if let Some(defaults) = &report.defaults {
        out.info(describe_defaults(defaults));
    }
    if let Some(activation) = report.activation {
        out.info(describe_activation(activation));
    }
}

fn versions(records: &[transaction::InstalledRecord]) -> Vec<&str> {
    records
        .iter()
        .map(transaction::InstalledRecord::version)
        .collect()
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
        if let Some(reason) = layout.info.sitecustomize_conflict(&layout.purelib) {
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
        if let Some(reason) = base.new_venv_sitecustomize_conflict() {
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
fn print_would_create(
    venv: &Path,
    base: &Path,
    info: &Interpreter,
    opts: &InstallOptions,
    out: &Output,
) -> Result<()> {
    let activation = activation_for_new_venv(venv, info, opts.activation)?;
    let defaults: Vec<String> = opts
        .groups
        .apply(&std::collections::BTreeSet::new())
        .into_iter()
        .collect();
    if out.json {
        return out.json(&Report {
            ok: true,
            create: Some(NewEnvironment {
                venv: venv.to_owned(),
                base_interpreter: base.to_owned(),
                python: info.description(),
            }),
            defaults: Some(defaults),
            activation: Some(activation),
            ..Report::new("install", true)
        });
    }
    out.info(format!(
        "dry run: would create the virtual environment {} with {} ({}), and install wrapt-bootstrap {VERSION} into it",
        venv.display(),
        base.display(),
        info.description()
    ));
    out.info(describe_activation(activation));
    out.info(describe_defaults(&defaults));
    out.info("nothing was written (--dry-run)");
    Ok(())
}

/// Removes every file the installed RECORDs list.
pub fn uninstall(opts: &UninstallOptions) -> Result<()> {
    let out = Output {
        program: "wrapt-uninstall",
        verbosity: opts.verbosity,
        json: opts.json,
    };
    let layout = target::resolve(&opts.target)?;
    let purelib = &layout.purelib;
    let site = pin(&layout, opts.target.scope)?;
    site.lock(!opts.dry_run, || out.waiting(purelib))?;

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
        out.json(&report)?;
        out.info(format!(
            "wrapt-bootstrap is not installed in {}",
            purelib.display()
        ));
        return Ok(());
    }
    if opts.dry_run {
        print_dry_run(&report, &layout, &out)?;
        return refusal.map_or(Ok(()), Err);
    }
    if let Some(err) = refusal {
        return Err(err);
    }
    let mut counts = Counts::of(&changes);
    counts.directories_removed = transaction::apply(&site, None, &changes, |change| {
        out.detail(format!("  {:<9} {}", change.action.as_str(), change.path));
    })? + transaction::tidy(&site)?;
    report.counts = Some(counts);
    if out.json {
        return out.json(&report);
    }
    let c = counts;
    out.info(format!(
        "removed wrapt-bootstrap {} from {}: {} files removed, {} already missing, {} directories removed",
        versions(&records).join(", "),
        purelib.display(),
        c.removed,
        c.missing,
        c.directories_removed
    ));
    Ok(())
}

fn print_dry_run(report: &Report, layout: &Layout, out: &Output) -> Result<()> {
    if out.json {
        return out.json(report);
    }
    let verb = if report.command == "install" {
        format!("install wrapt-bootstrap {VERSION} into")
    } else {
        format!(
            "uninstall wrapt-bootstrap {} from",
            report
                .installed_before
                .as_deref()
                .unwrap_or_default()
                .join(", ")
        )
    };
    out.info(format!(
        "dry run: would {verb} {} ({} at {})",
        layout.purelib.display(),
        layout.info.description(),
        layout.interpreter.display()
    ));
    for change in report.changes.as_deref().unwrap_or_default() {
        let problem = change
            .problem
            .map(|p| format!("  ({}: needs --force)", p.as_str()))
            .unwrap_or_default();
        out.info(format!(
            "  {:<9} {}{problem}",
            change.action.as_str(),
            change.path
        ));
    }
    if let Some(activation) = report.activation {
        out.info(describe_activation(activation));
    }
    if let Some(line) = &report.activation_line {
        let file = report.activation.map_or("", Activation::file);
        out.info(format!("{file} line: {line}"));
    }
    if let Some(defaults) = &report.defaults {
        out.info(describe_defaults(defaults));
    }
    if report.nothing_to_do == Some(true) {
        out.info("already installed, nothing to do");
    }
    out.info("nothing was written (--dry-run)");
    Ok(())
}

fn describe_activation(activation: Activation) -> String {
    match activation {
        Activation::Pth => format!(
            "activation: {PTH}, an import line (site ignores those from CPython 3.18 on; a re-install there switches to {START})"
        ),
        Activation::Start => format!(
            "activation: {START}, a PEP 829 entry point in {}",
            START_PACKAGE.trim_end_matches("/__init__.py")
        ),
        Activation::Sitecustomize => format!(
            "activation: the {} package, which runs the environment's own sitecustomize after it",
            SITECUSTOMIZE.trim_end_matches("/__init__.py")
        ),
    }
}

fn describe_defaults(defaults: &[String]) -> String {
    if defaults.is_empty() {
        "default groups: none (enable per process with WRAPT_PATCHES=GROUP, or here with --enable GROUP)"
            .to_owned()
    } else {
        format!("default groups: {}", defaults.join(", "))
    }
}
