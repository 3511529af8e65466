//! The install transaction under faults, races, hostile input and symlinks:
//! every guarantee of docs/guarantees.md about installing, each proven
//! against the real binaries and a real virtual environment.
//!
//! Faults come from `strace`'s injector (`-e inject=SYSCALL:error=EIO:when=N`
//! and `:signal=SIGKILL`), so the binaries under test are the shipped ones,
//! with no failpoints compiled in. In an install, an upgrade and an
//! uninstall, every call of `openat`, `openat2`, `read`, `getdents64`,
//! `write`, `fsync`, `fchmod`, `renameat`, `mkdirat`, `unlinkat` and `flock`
//! made by the binary (the dynamic loader's included) fails in turn with
//! EIO, and the process is killed as it enters each one that can change the
//! file system. Not injected: `statx`, `utimensat`, `close` and the probe
//! interpreter's own calls (it runs before the lock and writes nothing).
//! The same injector fails every `openat2` with `ENOSYS` or `EPERM` to run
//! the binaries on the walk that stands in for it where a kernel or a
//! seccomp filter lacks it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{
    as_nobody, clean, describe, pythons, stderr, stdout, wrapt_install, wrapt_uninstall,
    Implementation, Python, Venv,
};

const VERSION: &str = env!("CARGO_PKG_VERSION");

// ---------------------------------------------------------------------------
// Site-packages states: captured, compared, restored.

/// One entry of a directory tree. A file records whether it has the mtime
/// the installer gives every file it writes: whether a file counts as
/// unchanged depends on it, so a restored state must keep it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Node {
    Dir(u32),
    File(u32, Vec<u8>, bool),
    Link(PathBuf),
}

/// The mtime of every file an install writes (`plan::INSTALLED_MTIME`).
fn installed_mtime() -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600)
}

/// A tree by relative path. The random part of the installer's temporary
/// file names is replaced by a counter, so that equal states compare equal
/// and restoring one recreates what the installer would recognise.
type State = BTreeMap<String, Node>;

fn capture(root: &Path) -> State {
    fn walk(root: &Path, dir: &Path, state: &mut State) {
        let mut entries: Vec<fs::DirEntry> = fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(fs::DirEntry::file_name);
        let mut temps = 0;
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let meta = entry.path().symlink_metadata().unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            let rel_dir = dir.strip_prefix(root).unwrap();
            let shown = if is_temp(&name) {
                temps += 1;
                format!(".wrapt-install-{temps}.tmp")
            } else {
                name.clone()
            };
            let rel = rel_dir.join(&shown).to_string_lossy().into_owned();
            if meta.file_type().is_symlink() {
                state.insert(rel, Node::Link(fs::read_link(entry.path()).unwrap()));
            } else if meta.is_dir() {
                // site-packages' own bytecode cache is Python's, written
                // whenever a module there is imported: the environment's
                // sitecustomize.py, say. Ours, in our packages, is ours.
                if name == "__pycache__" && dir == root {
                    continue;
                }
                state.insert(rel, Node::Dir(mode));
                walk(root, &entry.path(), state);
            } else {
                let installed = meta.modified().unwrap() == installed_mtime();
                state.insert(
                    rel,
                    Node::File(mode, fs::read(entry.path()).unwrap(), installed),
                );
            }
        }
    }
    let mut state = State::new();
    walk(root, root, &mut state);
    state
}

/// The installer's temporary files: `.wrapt-install-XXXXXX.tmp`.
fn is_temp(name: &str) -> bool {
    name.starts_with(".wrapt-install-") && Path::new(name).extension().is_some_and(|e| e == "tmp")
}

fn restore(root: &Path, state: &State) {
    fs::remove_dir_all(root).unwrap();
    fs::create_dir(root).unwrap();
    for (rel, node) in state {
        let path = root.join(rel);
        match node {
            Node::Dir(mode) => {
                fs::create_dir(&path).unwrap();
                fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).unwrap();
            }
            Node::File(mode, bytes, installed) => {
                fs::write(&path, bytes).unwrap();
                fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).unwrap();
                if *installed {
                    let file = fs::File::options().write(true).open(&path).unwrap();
                    file.set_modified(installed_mtime()).unwrap();
                }
            }
            Node::Link(target) => std::os::unix::fs::symlink(target, &path).unwrap(),
        }
    }
}

/// The entries where two states differ.
fn diff(a: &State, b: &State) -> String {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let lines: Vec<String> = keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            let one = |s: &State| {
                s.get(k).map_or("absent".to_owned(), |n| {
                    show(&State::from([(k.clone(), n.clone())]))
                })
            };
            format!("  {} | {}", one(a), one(b))
        })
        .collect();
    lines.join("\n")
}

fn show(state: &State) -> String {
    let lines: Vec<String> = state
        .iter()
        .map(|(path, node)| match node {
            Node::Dir(mode) => format!("{path}/ {mode:o}"),
            Node::File(mode, bytes, _) => format!("{path} {mode:o} {} bytes", bytes.len()),
            Node::Link(target) => format!("{path} -> {}", target.display()),
        })
        .collect();
    lines.join("\n")
}

// ---------------------------------------------------------------------------
// Fault injection.

/// `strace` is required under CI (`.ci/run` installs it), skipped elsewhere.
fn have_strace() -> bool {
    let found = Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var_os("CI").is_none(),
        "strace is needed for the fault-injection tests"
    );
    if !found {
        eprintln!("warning: strace not found; skipping fault injection");
    }
    found
}

/// The file syscalls an install, upgrade or uninstall makes (x86_64 names):
/// every position of each gets an I/O error.
const ERROR_SYSCALLS: [&str; 11] = [
    "openat",
    "openat2",
    "read",
    "getdents64",
    "write",
    "fsync",
    "fchmod",
    "renameat",
    "mkdirat",
    "unlinkat",
    "flock",
];

/// Killing the process as it enters one of these (an `openat` that
/// creates) stops it between two changes of the file system: together they
/// reach every intermediate state.
const KILL_SYSCALLS: [&str; 7] = [
    "openat", "write", "fchmod", "fsync", "renameat", "mkdirat", "unlinkat",
];

/// A command line of one of the binaries.
#[derive(Clone)]
struct Run {
    program: &'static str,
    args: Vec<String>,
}

impl Run {
    fn install(venv: &Venv, extra: &[&str]) -> Run {
        let mut args = vec!["--venv".to_owned(), venv.root.display().to_string()];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        Run {
            program: env!("CARGO_BIN_EXE_wrapt-install"),
            args,
        }
    }

    fn uninstall(venv: &Venv) -> Run {
        Run {
            program: env!("CARGO_BIN_EXE_wrapt-uninstall"),
            args: vec!["--venv".to_owned(), venv.root.display().to_string()],
        }
    }

    /// Under strace: `trace` lists the syscalls to log into `log`, `inject`
    /// is one `-e inject=` expression.
    fn strace(&self, trace: &str, log: &Path, inject: Option<&str>) -> Output {
        let mut command = Command::new("strace");
        command.args(["-qq", "-o"]).arg(log).arg("-e");
        command.arg(format!("trace={trace}"));
        if let Some(inject) = inject {
            command.arg("-e").arg(format!("inject={inject}"));
        }
        command.arg(self.program).args(&self.args);
        clean(&mut command);
        command.output().expect("spawn strace")
    }

    fn plain(&self) -> Output {
        let mut command = Command::new(self.program);
        command.args(&self.args);
        clean(&mut command);
        command.output().expect("spawn")
    }
}

/// Each syscall of `names` that `run` makes, starting from `state`, in order
/// per name: whether that call can change the file system (an `openat`
/// only with `O_CREAT`).
fn trace_syscalls(
    venv: &Venv,
    state: &State,
    run: &Run,
    names: &[&str],
) -> BTreeMap<String, Vec<bool>> {
    restore(&venv.site_packages, state);
    let log = venv.root.with_file_name("strace.log");
    let output = run.strace(&names.join(","), &log, None);
    assert!(output.status.success(), "{}", describe(&output));
    let mut calls: BTreeMap<String, Vec<bool>> = names
        .iter()
        .map(|n| ((*n).to_owned(), Vec::new()))
        .collect();
    for line in fs::read_to_string(&log).unwrap().lines() {
        if let Some((name, rest)) = line.split_once('(') {
            if let Some(positions) = calls.get_mut(name) {
                positions.push(name != "openat" || rest.contains("O_CREAT"));
            }
        }
    }
    calls
}

/// The interpreter starts without a word, whether or not a group is
/// selected (the example's own line is the only output allowed).
fn assert_starts_silently(venv: &Venv, what: &str) {
    for env in [
        &[("PYTHONDONTWRITEBYTECODE", "1")][..],
        &[
            ("PYTHONDONTWRITEBYTECODE", "1"),
            ("WRAPT_PATCHES", "wrapt_bootstrap.examples"),
        ][..],
    ] {
        let output = venv.python(Implementation::Native, env, &["-c", "import tempfile"]);
        assert!(
            output.status.success()
                && stdout(&output).is_empty()
                && ["", "patching tempfile\n"].contains(&stderr(&output).as_str()),
            "{what}, env {env:?}: the interpreter did not start silently: {}\nstate:\n{}",
            describe(&output),
            show(&capture(&venv.site_packages))
        );
    }
}

/// One scenario: from `initial`, `run` is failed at every position; each
/// resulting state must start silently, and `again` (the same command) must
/// reach `after_again`, `other` (the opposite command) `after_other`.
struct Scenario<'a> {
    name: &'a str,
    venv: &'a Venv,
    initial: State,
    run: Run,
    after_again: State,
    other: Run,
    after_other: State,
}

/// What one fault position did (for the report on failure).
struct Outcome {
    fault: String,
    code: Option<i32>,
    first_line: String,
}

fn exercise(scenario: &Scenario<'_>) -> usize {
    let venv = scenario.venv;
    let mut names: BTreeSet<&str> = ERROR_SYSCALLS.into_iter().collect();
    names.extend(KILL_SYSCALLS);
    let names: Vec<&str> = names.into_iter().collect();
    let calls = trace_syscalls(venv, &scenario.initial, &scenario.run, &names);
    let counts: BTreeMap<&str, usize> = calls.iter().map(|(n, c)| (n.as_str(), c.len())).collect();
    let log = venv.root.with_file_name("strace-fault.log");

    let mut faults = Vec::new();
    for (name, positions) in &calls {
        for (n, mutating) in (1..).zip(positions) {
            if ERROR_SYSCALLS.contains(&name.as_str()) {
                faults.push(format!("{name}:error=EIO:when={n}"));
            }
            // A kill before a call that changes nothing leaves the state a
            // kill before the next change leaves.
            if *mutating && KILL_SYSCALLS.contains(&name.as_str()) {
                faults.push(format!("{name}:signal=SIGKILL:when={n}"));
            }
        }
    }
    assert!(
        counts.get("renameat").copied().unwrap_or(0) + counts.get("unlinkat").copied().unwrap_or(0)
            > 0,
        "{}: no change traced: {counts:?}",
        scenario.name
    );

    // Distinct states reached, with the faults that reached them.
    let mut states: BTreeMap<State, Vec<Outcome>> = BTreeMap::new();
    for fault in &faults {
        restore(&venv.site_packages, &scenario.initial);
        let syscall = fault.split(':').next().unwrap();
        let output = scenario.run.strace(syscall, &log, Some(fault));
        let killed = fault.contains("SIGKILL");
        let code = output.status.code();
        let state = capture(&venv.site_packages);
        // An I/O error is reported, once, with a documented exit code (the
        // dynamic loader's own failure is 127, before main). A kill kills.
        let message = stderr(&output);
        if !killed {
            assert!(
                matches!(code, Some(0 | 2 | 4)) || (code == Some(127) && state == scenario.initial),
                "{}: {fault}: {}",
                scenario.name,
                describe(&output)
            );
            assert!(
                message.lines().count() <= 1,
                "{}: {fault}: more than one line: {}",
                scenario.name,
                describe(&output)
            );
            // A fault that did not stop the run must not have changed its
            // result: success means done.
            assert!(
                code != Some(0) || state == scenario.after_again,
                "{}: {fault}: exit 0, but the result differs (reached | clean):\n{}",
                scenario.name,
                diff(&state, &scenario.after_again)
            );
        }
        states.entry(state).or_default().push(Outcome {
            fault: fault.clone(),
            code,
            first_line: message.lines().next().unwrap_or("").to_owned(),
        });
    }

    for (state, outcomes) in &states {
        assert_recovers(scenario, state, outcomes);
    }
    // Outcomes by syscall and fault: exit code (None: killed) -> count.
    let mut outcomes: BTreeMap<String, BTreeMap<Option<i32>, usize>> = BTreeMap::new();
    for outcome in states.values().flatten() {
        let mut parts = outcome.fault.split(':');
        let key = format!("{}:{}", parts.next().unwrap(), parts.next().unwrap());
        *outcomes
            .entry(key)
            .or_default()
            .entry(outcome.code)
            .or_default() += 1;
    }
    eprintln!(
        "{}: {} fault positions ({:?}), {} distinct states, all recovered; outcomes {:?}",
        scenario.name,
        faults.len(),
        counts,
        states.len(),
        outcomes
    );
    faults.len()
}

/// From a state a fault left: the interpreter starts silently, and the
/// next run of either command reaches what a clean run reaches.
fn assert_recovers(scenario: &Scenario<'_>, state: &State, outcomes: &[Outcome]) {
    let venv = scenario.venv;
    let faults: Vec<String> = outcomes
        .iter()
        .map(|o| format!("{} -> {:?} {}", o.fault, o.code, o.first_line))
        .collect();
    let what = format!(
        "{}: after {} (and {} more)",
        scenario.name,
        faults[0],
        faults.len() - 1
    );
    restore(&venv.site_packages, state);
    assert_starts_silently(venv, &what);
    for (next, expected) in [
        (&scenario.run, &scenario.after_again),
        (&scenario.other, &scenario.after_other),
    ] {
        restore(&venv.site_packages, state);
        let output = next.plain();
        assert!(
            output.status.success(),
            "{what}: the next run failed: {}\nstate:\n{}",
            describe(&output),
            show(state)
        );
        let reached = capture(&venv.site_packages);
        assert!(
            reached == *expected,
            "{what}: the next run ({} {:?}) did not complete it:\nfrom:\n{}\nreached | expected:\n{}",
            next.program,
            next.args,
            show(state),
            diff(&reached, expected)
        );
    }
}

fn newest() -> &'static Python {
    pythons().last().expect("a CPython")
}

/// The state a command reaches from `from` when nothing fails.
fn clean_result(venv: &Venv, from: &State, run: &Run) -> State {
    restore(&venv.site_packages, from);
    let output = run.plain();
    assert!(output.status.success(), "{}", describe(&output));
    capture(&venv.site_packages)
}

#[test]
fn install_survives_a_fault_at_every_syscall() {
    if !have_strace() {
        return;
    }
    let venv = Venv::new(newest());
    let pristine = capture(&venv.site_packages);
    let run = Run::install(&venv, &["--enable", "wrapt_bootstrap.examples"]);
    let installed = clean_result(&venv, &pristine, &run);
    exercise(&Scenario {
        name: "install",
        venv: &venv,
        initial: pristine.clone(),
        run,
        after_again: installed,
        other: Run::uninstall(&venv),
        after_other: pristine,
    });
}

#[test]
fn uninstall_survives_a_fault_at_every_syscall() {
    if !have_strace() {
        return;
    }
    let venv = Venv::new(newest());
    let pristine = capture(&venv.site_packages);
    let install = Run::install(&venv, &[]);
    let installed = clean_result(&venv, &pristine, &install);
    exercise(&Scenario {
        name: "uninstall",
        venv: &venv,
        initial: installed.clone(),
        run: Run::uninstall(&venv),
        after_again: pristine,
        other: install,
        after_other: installed,
    });
}

#[test]
fn switching_the_mode_survives_a_fault_at_every_syscall() {
    // Within one version the RECORD is rewritten in place: what the old
    // mode installed must not be lost from it before it is removed. The
    // environment's own sitecustomize.py must come through untouched.
    if !have_strace() {
        return;
    }
    let venv = Venv::new(newest());
    fs::write(
        venv.site_packages.join("sitecustomize.py"),
        "import sys\nsys.stderr.write('')\n",
    )
    .unwrap();
    let pristine = capture(&venv.site_packages);
    let by_pth = clean_result(&venv, &pristine, &Run::install(&venv, &[]));
    let switch = Run::install(&venv, &["--mode", "sitecustomize"]);
    let by_sitecustomize = clean_result(&venv, &by_pth, &switch);
    exercise(&Scenario {
        name: "pth to sitecustomize",
        venv: &venv,
        initial: by_pth.clone(),
        run: switch,
        after_again: by_sitecustomize.clone(),
        other: Run::uninstall(&venv),
        after_other: pristine.clone(),
    });
    exercise(&Scenario {
        name: "sitecustomize to pth",
        venv: &venv,
        initial: by_sitecustomize,
        run: Run::install(&venv, &["--mode", "pth"]),
        after_again: by_pth,
        other: Run::uninstall(&venv),
        after_other: pristine,
    });
}

/// An older version as a previous wrapt-install would have left it: its own
/// `__init__.py` that needs a module the new version no longer has, and the
/// same guarded `.pth` line.
fn write_old_version(site: &Path) {
    let pth = fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/templates/activate_when_set.pth"
    ))
    .unwrap();
    let files: [(&str, &[u8]); 6] = [
        (
            "wrapt_bootstrap/__init__.py",
            b"__version__ = '0.0.9'\n\ndef _activate():\n    from . import _old_impl\n    _old_impl.activate()\n",
        ),
        ("wrapt_bootstrap/_old_impl.py", b"def activate():\n    pass\n"),
        ("wrapt_bootstrap/examples.py", b"# 0.0.9 had no examples\n"),
        (
            "wrapt_bootstrap-0.0.9.dist-info/METADATA",
            b"Metadata-Version: 2.1\nName: wrapt-bootstrap\nVersion: 0.0.9\n",
        ),
        ("wrapt_bootstrap-0.0.9.dist-info/INSTALLER", b"wrapt-install\n"),
        ("00_wrapt_bootstrap.pth", &pth),
    ];
    let mut record = String::new();
    for (rel, bytes) in files {
        let path = site.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        writeln!(
            record,
            "{rel},{},{}",
            wrapt_install::hash_bytes(bytes),
            bytes.len()
        )
        .unwrap();
    }
    record.push_str("wrapt_bootstrap-0.0.9.dist-info/RECORD,,\n");
    fs::write(site.join("wrapt_bootstrap-0.0.9.dist-info/RECORD"), record).unwrap();
}

#[test]
fn upgrade_survives_a_fault_at_every_syscall() {
    if !have_strace() {
        return;
    }
    let venv = Venv::new(newest());
    let pristine = capture(&venv.site_packages);
    write_old_version(&venv.site_packages);
    let old = capture(&venv.site_packages);
    let run = Run::install(&venv, &[]);
    let upgraded = clean_result(&venv, &old, &run);
    assert!(
        !upgraded.contains_key("wrapt_bootstrap/_old_impl.py")
            && !upgraded.contains_key("wrapt_bootstrap-0.0.9.dist-info"),
        "the upgrade left the old version's files:\n{}",
        show(&upgraded)
    );
    exercise(&Scenario {
        name: "upgrade",
        venv: &venv,
        initial: old,
        run,
        after_again: upgraded,
        other: Run::uninstall(&venv),
        after_other: pristine,
    });
}

// ---------------------------------------------------------------------------
// Races.

/// Only our files (and directories) in a state: no lock file, no temporary.
fn assert_only_ours(state: &State, pristine: &State) {
    for path in state.keys().filter(|p| !pristine.contains_key(*p)) {
        let top = path.split('/').next().unwrap();
        assert!(
            top == "wrapt_bootstrap"
                || top == format!("wrapt_bootstrap-{VERSION}.dist-info")
                || top.starts_with("00_wrapt_bootstrap."),
            "{path} is not ours (a lock file? a temporary?):\n{}",
            show(state)
        );
        assert!(!path.split('/').any(is_temp), "{path} left behind");
    }
}

#[test]
fn eight_concurrent_runs_converge() {
    let venv = Venv::new(newest());
    let pristine = capture(&venv.site_packages);
    let runs = [
        Run::install(&venv, &["--enable", "wrapt_bootstrap.examples"]),
        Run::install(&venv, &["--enable", "acme.one"]),
        Run::uninstall(&venv),
        Run::install(&venv, &["--disable", "acme.one", "-v"]),
        Run::install(&venv, &[]),
        Run::uninstall(&venv),
        Run::install(&venv, &["--enable", "acme.two", "--force"]),
        Run::uninstall(&venv),
    ];
    let (mut installed, mut uninstalled) = (0, 0);
    for round in 0..4 {
        let children: Vec<(usize, std::process::Child)> = (0..runs.len())
            .map(|i| {
                // Each round starts them in another order.
                let run = &runs[(i + round * 3) % runs.len()];
                let mut command = Command::new(run.program);
                command.args(&run.args);
                clean(&mut command);
                let child = command
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                (i, child)
            })
            .collect();
        for (i, child) in children {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "round {round}, run {i}: {}",
                describe(&output)
            );
        }
        let state = capture(&venv.site_packages);
        assert_only_ours(&state, &pristine);
        if state == pristine {
            uninstalled += 1;
            continue;
        }
        installed += 1;
        let output = Run::install(&venv, &["--check"]).plain();
        assert!(
            output.status.success(),
            "round {round}: not one healthy installation: {}\n{}",
            describe(&output),
            show(&state)
        );
        assert_starts_silently(&venv, &format!("round {round}"));
    }
    eprintln!("concurrent rounds: {installed} ended installed, {uninstalled} uninstalled");
}

/// Run as the environment's owner, with site-packages, the victim, a stop
/// file and the names of our directories as arguments: swaps each of ours
/// with a symlink to the victim, `renameat2(RENAME_EXCHANGE)` and back, in
/// a tight loop; where ours is missing, puts the link where it is about to
/// be made, and back. Stops when the stop file exists; prints how many
/// swaps it made.
const SWAPPER: &str = r#"
import ctypes, os, sys
renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
AT_FDCWD, RENAME_NOREPLACE, RENAME_EXCHANGE = -100, 1, 2
site, victim, stop = sys.argv[1:4]
os.chdir(site)
def rename(old, new, flags):
    return renameat2(AT_FDCWD, old.encode(), AT_FDCWD, new.encode(), flags) == 0
pairs = []
for name in sys.argv[4:]:
    link = ".swap-" + name
    os.symlink(victim, link)
    pairs.append((name, link))
swaps = 0
while not os.path.exists(stop):
    for name, link in pairs:
        for _ in range(200):
            if rename(name, link, RENAME_EXCHANGE):
                swaps += 1
                assert rename(name, link, RENAME_EXCHANGE)
            elif rename(link, name, RENAME_NOREPLACE):
                swaps += 1
                assert rename(name, link, RENAME_NOREPLACE)
for _, link in pairs:
    os.unlink(link)
print(swaps)
"#;

/// Everything `stat` and `read` say about a directory and each entry in
/// it, but the access time: any file created, changed or removed in it
/// (a temporary file created and deleted included) changes this.
fn fingerprint(dir: &Path) -> Vec<String> {
    use std::os::unix::fs::MetadataExt as _;
    let describe = |path: &Path| {
        let meta = path.symlink_metadata().unwrap();
        let bytes = if meta.is_file() {
            fs::read(path).unwrap()
        } else {
            Vec::new()
        };
        format!(
            "{} mode {:o} uid {} mtime {}.{} ctime {}.{} {:?}",
            path.display(),
            meta.mode(),
            meta.uid(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.ctime(),
            meta.ctime_nsec(),
            String::from_utf8_lossy(&bytes)
        )
    };
    let mut lines = vec![describe(dir)];
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    lines.extend(entries.iter().map(|path| describe(path)));
    lines
}

/// Makes `nobody` own `root` and everything in it, links not followed.
fn give_to_nobody(root: &Path) {
    std::os::unix::fs::lchown(root, Some(65534), Some(65534)).unwrap();
    if root.symlink_metadata().unwrap().is_dir() {
        for entry in fs::read_dir(root).unwrap() {
            give_to_nobody(&entry.unwrap().path());
        }
    }
}

/// A root-only directory of decoys named like the files in our package
/// and dist-info directories.
fn victim() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
    for name in [
        "__init__.py",
        "_native.abi3.so",
        "examples.py",
        "RECORD",
        "METADATA",
        "INSTALLER",
        ".wrapt-install-decoy.tmp",
    ] {
        // Valid Python: an interpreter that imported it would cache it.
        fs::write(dir.path().join(name), format!("# decoy {name}\n")).unwrap();
    }
    dir
}

/// What the runs of a race did: (command, exit code) -> (how many, the
/// stderr of the first), and the time each command took in all.
#[derive(Default)]
struct Outcomes {
    runs: BTreeMap<(&'static str, Option<i32>), (usize, String)>,
    time: BTreeMap<&'static str, std::time::Duration>,
}

/// `cycles` times `wrapt-install --force` then `wrapt-uninstall --force`
/// on `venv`, as root.
fn install_uninstall_cycles(venv: &Venv, cycles: usize) -> Outcomes {
    let mut outcomes = Outcomes::default();
    for _ in 0..cycles {
        for (name, program) in [
            ("install", env!("CARGO_BIN_EXE_wrapt-install")),
            ("uninstall", env!("CARGO_BIN_EXE_wrapt-uninstall")),
        ] {
            let started = std::time::Instant::now();
            let mut command = Command::new(program);
            clean(command.arg("--venv").arg(&venv.root).arg("--force"));
            let output = command.output().unwrap();
            *outcomes.time.entry(name).or_default() += started.elapsed();
            let entry = outcomes
                .runs
                .entry((name, output.status.code()))
                .or_insert_with(|| (0, stderr(&output)));
            entry.0 += 1;
        }
    }
    outcomes
}

/// The issue this guards against: every check of a path, then use of it,
/// left a window in which the environment's owner could swap one of our
/// directories for a symlink, and root wrote, created and deleted files in
/// the directory it pointed to (about once in a hundred runs). Here
/// `nobody` owns the venv and swaps `wrapt_bootstrap/` and our dist-info
/// with a link to a root-only directory of decoys named like our files,
/// while root installs and uninstalls a thousand times. Runs may fail (a
/// refusal, an I/O error); none may touch the decoys, and the environment
/// must still start without a word. Before the fix, one such run overwrote
/// the decoy `__init__.py`, deleted two decoys and cached bytecode there.
#[test]
fn swapping_our_directories_for_symlinks_mid_run_never_reaches_outside() {
    const CYCLES: usize = 1_000;
    // Debian's python3, which nobody can run (pyenv's are under /root).
    let Some(mut swapper) = as_nobody("/usr/bin/python3") else {
        return;
    };
    let venv = Venv::new(newest());
    let scratch = venv.root.parent().unwrap();
    // nobody reaches the venv, and owns it; the victim stays root's.
    fs::set_permissions(scratch, fs::Permissions::from_mode(0o755)).unwrap();
    give_to_nobody(&venv.root);
    let pristine = capture(&venv.site_packages);
    let victim = victim();
    let before = fingerprint(victim.path());
    let stop = scratch.join("stop");
    let helper = swapper
        .args(["-c", SWAPPER])
        .arg(&venv.site_packages)
        .arg(victim.path())
        .arg(&stop)
        .arg("wrapt_bootstrap")
        .arg(format!("wrapt_bootstrap-{VERSION}.dist-info"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let outcomes = install_uninstall_cycles(&venv, CYCLES);
    let elapsed = started.elapsed();
    fs::write(&stop, "").unwrap();
    let helper = helper.wait_with_output().unwrap();
    assert!(
        helper.status.success(),
        "the swapper failed: {}",
        describe(&helper)
    );
    eprintln!(
        "race: {CYCLES} cycles in {elapsed:.1?} (install {:.1?}, uninstall {:.1?} in all), {} swaps; (run, exit) -> (count, first stderr): {:#?}",
        outcomes.time["install"],
        outcomes.time["uninstall"],
        stdout(&helper).trim(),
        outcomes.runs
    );

    let after = fingerprint(victim.path());
    assert!(
        after == before,
        "the victim directory changed:\nbefore:\n{}\nafter:\n{}",
        before.join("\n"),
        after.join("\n")
    );
    for ((_, code), (_, first)) in &outcomes.runs {
        assert!(
            matches!(code, Some(0 | 3 | 4)),
            "exit {code:?} is neither success, a refusal nor an I/O error: {first}"
        );
    }
    for run in ["install", "uninstall"] {
        assert!(
            outcomes.runs.contains_key(&(run, Some(0))),
            "no {run} succeeded: {:?}",
            outcomes.runs
        );
    }
    assert_starts_silently(&venv, "after the race");
    let after_race = install_uninstall_cycles(&venv, 1);
    assert!(
        after_race.runs.keys().all(|(_, code)| *code == Some(0)),
        "{:?}",
        after_race.runs
    );
    let left = capture(&venv.site_packages);
    assert!(left == pristine, "{}", diff(&left, &pristine));
}

// ---------------------------------------------------------------------------
// Hostile and broken input: one line, a documented exit code, nothing written.

/// Runs `command` and checks the refusal: exit `code`, one line on stderr
/// that contains `needle`, and `watched` exactly as it was.
fn assert_refused(command: &mut Command, code: i32, needle: &str, watched: &Path) {
    let before = capture(watched);
    let output = command.output().expect("spawn");
    let message = stderr(&output);
    assert!(
        output.status.code() == Some(code)
            && message.lines().count() == 1
            && message.contains(needle),
        "{command:?}: expected exit {code} and one line with {needle:?}: {}",
        describe(&output)
    );
    assert!(
        capture(watched) == before,
        "{command:?} wrote something:\n{}",
        show(&capture(watched))
    );
}

fn each_command(target: &[&std::ffi::OsStr]) -> Vec<Command> {
    let mut commands = Vec::new();
    for (mut command, extra) in [
        (wrapt_install(), None),
        (wrapt_install(), Some("--check")),
        (wrapt_uninstall(), None),
    ] {
        command.args(target).args(extra);
        commands.push(command);
    }
    commands
}

/// A directory that looks like a venv but whose `bin/python` is `script`.
fn fake_venv(dir: &Path, script: &str) -> PathBuf {
    fs::create_dir_all(dir.join("bin")).unwrap();
    fs::create_dir_all(dir.join("lib/python3.12/site-packages")).unwrap();
    fs::write(dir.join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
    let python = dir.join("bin/python");
    fs::write(&python, script).unwrap();
    fs::set_permissions(&python, fs::Permissions::from_mode(0o755)).unwrap();
    dir.to_owned()
}

#[test]
fn hostile_targets_are_refused_with_one_line_and_nothing_written() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let file = root.join("a file");
    fs::write(&file, "").unwrap();
    // A level down: as root, an interpreter in a directory whose parent
    // anyone can write (the scratch directory's, /tmp) is refused first, as
    // anyone could put a pyvenv.cfg there.
    let not_executable = root.join("bin/a file");
    fs::create_dir(root.join("bin")).unwrap();
    fs::write(&not_executable, "").unwrap();
    let plain = root.join("plain dir");
    fs::create_dir(&plain).unwrap();
    let no_python = fake_venv(&root.join("no-python"), "");
    fs::remove_file(no_python.join("bin/python")).unwrap();
    let dangling = fake_venv(&root.join("dangling"), "");
    fs::remove_file(dangling.join("bin/python")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/python3.12", dangling.join("bin/python")).unwrap();
    let garbage = fake_venv(
        &root.join("garbage"),
        "#!/bin/sh\necho 'Hello, I am not Python'\n",
    );
    let failing = fake_venv(&root.join("failing"), "#!/bin/sh\necho oops >&2\nexit 7\n");
    let wrong_json = fake_venv(
        &root.join("wrong-json"),
        "#!/bin/sh\necho '{\"version\": 3}'\n",
    );

    let mut cases: Vec<(Vec<std::ffi::OsString>, &str)> = vec![
        (
            vec!["--venv".into(), root.join("missing").into()],
            "does not exist",
        ),
        (
            vec!["--venv".into(), file.clone().into()],
            "is not a directory",
        ),
        (
            vec!["--venv".into(), plain.clone().into()],
            "has no Python interpreter",
        ),
        (
            vec!["--venv".into(), no_python.into()],
            "has no Python interpreter",
        ),
        (vec!["--venv".into(), dangling.into()], "dangling symlink"),
        (vec!["--venv".into(), garbage.into()], "printed no JSON"),
        (vec!["--venv".into(), failing.into()], "exit status: 7"),
        (
            vec!["--venv".into(), wrong_json.into()],
            "unexpected answer",
        ),
        (
            vec!["--python".into(), root.join("missing/python").into()],
            "does not exist",
        ),
        (
            vec!["--python".into(), newest().exe.clone().into()],
            "not a virtual environment",
        ),
    ];
    for (version, exe) in [("3.8.18", "python3.8"), ("2.7.18", "python2.7")] {
        let exe = PathBuf::from(format!("/root/.pyenv/versions/{version}/bin/{exe}"));
        if exe.exists() {
            cases.push((vec!["--python".into(), exe.into()], "too old"));
        }
    }
    let old = Path::new("/root/.pyenv/versions/3.8.18/bin/python3.8");
    if old.exists() {
        let venv = root.join("old venv");
        let mut command = Command::new(old);
        crate::support::run_ok(command.args(["-m", "venv", "--without-pip"]).arg(&venv));
        cases.push((vec!["--venv".into(), venv.into()], "too old"));
    }
    for (args, needle) in &cases {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsString::as_os_str).collect();
        for mut command in each_command(&args) {
            assert_refused(command.current_dir(root), 2, needle, root);
        }
    }
    // A file the user may not run is a permission error, as any other.
    for mut command in each_command(&["--python".as_ref(), not_executable.as_os_str()]) {
        assert_refused(
            command.current_dir(root),
            4,
            "could not be run: Permission denied",
            root,
        );
    }
}

#[test]
fn no_permission_is_refused_with_one_line_and_nothing_written() {
    // A root-owned venv where nobody can read (and run) everything: an
    // interpreter outside /root (Debian's, or the 3.14 and 3.15 that CI
    // installs), and a 0755 directory outside /root.
    let Some(python) = [
        "/usr/bin/python3",
        "/opt/newer-pythons/bin/python3.15",
        "/opt/newer-pythons/bin/python3.14",
    ]
    .iter()
    .map(Path::new)
    .find(|p| p.exists()) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs /opt/newer-pythons"
        );
        eprintln!("warning: no interpreter outside /root; skipping");
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    fs::set_permissions(scratch.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let venv = scratch.path().join("venv");
    crate::support::run_ok(
        Command::new(python)
            .args(["-m", "venv", "--without-pip"])
            .arg(&venv),
    );
    let Some(mut command) = as_nobody(env!("CARGO_BIN_EXE_wrapt-install")) else {
        return;
    };
    assert_refused(
        command.arg("--venv").arg(&venv),
        4,
        "Permission denied",
        scratch.path(),
    );

    crate::support::run_ok(wrapt_install().arg("--venv").arg(&venv));
    let mut command = as_nobody(env!("CARGO_BIN_EXE_wrapt-uninstall")).unwrap();
    assert_refused(
        command.arg("--venv").arg(&venv),
        4,
        "Permission denied",
        scratch.path(),
    );
    let mut command = as_nobody(env!("CARGO_BIN_EXE_wrapt-install")).unwrap();
    let output = command
        .arg("--venv")
        .arg(&venv)
        .arg("--check")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "--check as nobody: {}",
        describe(&output)
    );
}

#[test]
fn paths_with_spaces_and_non_ascii_work() {
    let scratch = tempfile::tempdir().unwrap();
    let venv = scratch.path().join("my envs/café ☕ ü/the venv");
    fs::create_dir_all(venv.parent().unwrap()).unwrap();
    let mut command = Command::new(&newest().exe);
    crate::support::run_ok(command.args(["-m", "venv", "--without-pip"]).arg(&venv));
    let before = capture(&venv);
    crate::support::run_ok(
        wrapt_install()
            .arg("--venv")
            .arg(&venv)
            .args(["--enable", "wrapt_bootstrap.examples"]),
    );
    crate::support::run_ok(wrapt_install().arg("--venv").arg(&venv).arg("--check"));
    let output = Command::new(venv.join("bin/python"))
        .args(["-c", "import tempfile"])
        .output()
        .unwrap();
    assert_eq!(
        stderr(&output),
        "patching tempfile\n",
        "{}",
        describe(&output)
    );
    crate::support::run_ok(wrapt_uninstall().arg("--venv").arg(&venv));
    let after = capture(&venv);
    assert!(after == before, "{}", show(&after));
}

// ---------------------------------------------------------------------------
// Ownership, symlinks, modes, --check.

fn install_in(venv: &Venv, extra: &[&str]) -> Output {
    Run::install(venv, extra).plain()
}

#[test]
fn modified_files_are_refused_and_named_unless_forced() {
    let venv = Venv::installed(&pythons()[0]);
    let site = &venv.site_packages;
    let example = site.join("wrapt_bootstrap/examples.py");
    fs::write(&example, "# edited by hand\n").unwrap();
    // A foreign file inside our package survives everything.
    fs::write(site.join("wrapt_bootstrap/mine.py"), "# not theirs\n").unwrap();
    let mut install = wrapt_install();
    install
        .arg("--venv")
        .arg(&venv.root)
        .args(["--enable", "wrapt_bootstrap.examples"]);
    let mut uninstall = wrapt_uninstall();
    uninstall.arg("--venv").arg(&venv.root);
    for mut command in [install, uninstall] {
        assert_refused(
            &mut command,
            3,
            "wrapt_bootstrap/examples.py was modified",
            site,
        );
    }
    let output = install_in(&venv, &["--force"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert_ne!(fs::read_to_string(&example).unwrap(), "# edited by hand\n");
    fs::write(&example, "# edited again\n").unwrap();
    crate::support::run_ok(
        wrapt_uninstall()
            .arg("--venv")
            .arg(&venv.root)
            .arg("--force"),
    );
    let left = capture(site);
    assert_eq!(
        left.keys().collect::<Vec<_>>(),
        ["wrapt_bootstrap", "wrapt_bootstrap/mine.py"],
        "{}",
        show(&left)
    );
}

#[test]
fn upgrade_from_an_older_record_removes_what_it_no_longer_lists() {
    let venv = Venv::new(&pythons()[0]);
    write_old_version(&venv.site_packages);
    let output = install_in(&venv, &[]);
    assert!(
        output.status.success() && stdout(&output).contains("(replacing 0.0.9)"),
        "{}",
        describe(&output)
    );
    let state = capture(&venv.site_packages);
    assert!(
        !state.contains_key("wrapt_bootstrap/_old_impl.py")
            && !state.keys().any(|p| p.starts_with("wrapt_bootstrap-0.0.9")),
        "{}",
        show(&state)
    );
    crate::support::run_ok(wrapt_install().arg("--venv").arg(&venv.root).arg("--check"));
}

#[test]
fn never_follows_a_symlink_out_of_site_packages() {
    let venv = Venv::new(&pythons()[0]);
    let site = venv.site_packages.clone();
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("examples.py"), "# outside\n").unwrap();
    fs::write(outside.path().join("victim.pth"), "# outside\n").unwrap();

    // A symlinked package directory: refused, even with --force.
    std::os::unix::fs::symlink(outside.path(), site.join("wrapt_bootstrap")).unwrap();
    for extra in [&[][..], &["--force"][..]] {
        let mut command = wrapt_install();
        command.arg("--venv").arg(&venv.root).args(extra);
        assert_refused(&mut command, 3, "symlinked directory", outside.path());
    }
    fs::remove_file(site.join("wrapt_bootstrap")).unwrap();

    // A symlinked dist-info directory: the same.
    let dist_info = site.join(format!("wrapt_bootstrap-{VERSION}.dist-info"));
    std::os::unix::fs::symlink(outside.path(), &dist_info).unwrap();
    let mut command = wrapt_install();
    assert_refused(
        command.arg("--venv").arg(&venv.root).arg("--force"),
        3,
        "symlinked directory",
        outside.path(),
    );
    fs::remove_file(&dist_info).unwrap();
    fs::remove_dir_all(site.join("wrapt_bootstrap")).ok();

    // A symlinked activation file: refused; --force replaces the link, not
    // what it points to.
    let pth = site.join("00_wrapt_bootstrap.pth");
    std::os::unix::fs::symlink(outside.path().join("victim.pth"), &pth).unwrap();
    let mut command = wrapt_install();
    assert_refused(
        command.arg("--venv").arg(&venv.root),
        3,
        "is a symlink",
        outside.path(),
    );
    let before = capture(outside.path());
    crate::support::run_ok(wrapt_install().arg("--venv").arg(&venv.root).arg("--force"));
    assert!(!pth.symlink_metadata().unwrap().file_type().is_symlink());
    assert!(capture(outside.path()) == before);

    // Installed, then the package directory swapped for a link to a copy:
    // uninstall refuses rather than remove files out there.
    let package = site.join("wrapt_bootstrap");
    for entry in fs::read_dir(&package).unwrap().flatten() {
        if entry.file_type().unwrap().is_file() {
            fs::copy(entry.path(), outside.path().join(entry.file_name())).unwrap();
        }
    }
    fs::remove_dir_all(&package).unwrap();
    std::os::unix::fs::symlink(outside.path(), &package).unwrap();
    for extra in [&[][..], &["--force"][..]] {
        let mut command = wrapt_uninstall();
        command.arg("--venv").arg(&venv.root).args(extra);
        assert_refused(&mut command, 3, "symlinked directory", outside.path());
    }
    fs::remove_file(&package).unwrap();

    // A symlinked file listed in RECORD: uninstall removes the link only.
    fs::remove_file(&pth).unwrap();
    std::os::unix::fs::symlink(outside.path().join("victim.pth"), &pth).unwrap();
    crate::support::run_ok(
        wrapt_uninstall()
            .arg("--venv")
            .arg(&venv.root)
            .arg("--force"),
    );
    assert!(pth.symlink_metadata().is_err());
    assert_eq!(
        fs::read_to_string(outside.path().join("victim.pth")).unwrap(),
        "# outside\n"
    );
}

/// One of the binaries with `args`, as a user's shell runs it; with
/// `without_openat2`, under strace failing every `openat2` with that errno,
/// as a kernel before 5.6 (ENOSYS) or a seccomp filter (EPERM) would, and
/// asserting the binary tried it once and then walked without it.
fn run_binary(program: &str, args: &[&std::ffi::OsStr], without_openat2: Option<&str>) -> Output {
    let Some(errno) = without_openat2 else {
        let mut command = Command::new(program);
        clean(command.args(args));
        return command.output().unwrap();
    };
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut command = Command::new("strace");
    command
        .args(["-qq", "-o"])
        .arg(log.path())
        .args(["-e", "trace=openat2", "-e", "signal=none", "-e"])
        .arg(format!("inject=openat2:error={errno}"))
        .arg(program)
        .args(args);
    clean(&mut command);
    let output = command.output().unwrap();
    let calls = fs::read_to_string(log.path()).unwrap();
    assert!(
        calls.lines().count() == 1 && calls.contains(&format!("{errno} ")),
        "expected one openat2, failed with {errno}, then none:\n{calls}"
    );
    output
}

const INSTALL: &str = env!("CARGO_BIN_EXE_wrapt-install");
const UNINSTALL: &str = env!("CARGO_BIN_EXE_wrapt-uninstall");

/// Install and uninstall, with and without `--force`, each refused with
/// exit 3 and one line containing `needle`.
fn assert_every_change_refused(venv: &Venv, needle: &str, without_openat2: Option<&str>) {
    let root = venv.root.as_os_str();
    for (program, force) in [
        (INSTALL, false),
        (INSTALL, true),
        (UNINSTALL, false),
        (UNINSTALL, true),
    ] {
        let mut args = vec!["--venv".as_ref(), root];
        if force {
            args.push("--force".as_ref());
        }
        let output = run_binary(program, &args, without_openat2);
        let message = stderr(&output);
        assert!(
            output.status.code() == Some(3)
                && message.lines().count() == 1
                && message.contains(needle),
            "{program} {args:?}: expected exit 3 and one line with {needle:?}: {}",
            describe(&output)
        );
    }
}

/// `--check`: exit 1, naming `needle`; returns all it printed.
fn assert_check_names(venv: &Venv, needle: &str, without_openat2: Option<&str>) -> String {
    let args = ["--venv".as_ref(), venv.root.as_os_str(), "--check".as_ref()];
    let output = run_binary(INSTALL, &args, without_openat2);
    let text = describe(&output);
    assert!(
        output.status.code() == Some(1) && stderr(&output).contains(needle),
        "--check: expected exit 1 naming {needle:?}: {text}"
    );
    text
}

/// `--check` printed the first field of the file a symlinked RECORD
/// pointed to (a root-only file, read as root) as a "missing" path. The
/// link is never followed: `--check` names it and prints nothing of the
/// file; install and uninstall refuse, `--force` or not, and touch nothing.
fn assert_symlinked_record_is_never_followed(without_openat2: Option<&str>) {
    let venv = Venv::installed(&pythons()[0]);
    let site = &venv.site_packages;
    let secret_dir = tempfile::tempdir().unwrap();
    let secret = secret_dir.path().join("secret");
    fs::write(&secret, "root-only-secret,sha256=x,1\n").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    let record = site.join(format!("wrapt_bootstrap-{VERSION}.dist-info/RECORD"));
    fs::remove_file(&record).unwrap();
    std::os::unix::fs::symlink(&secret, &record).unwrap();
    let before = capture(site);

    let named = format!("{} is a symlink", record.display());
    let text = assert_check_names(&venv, &named, without_openat2);
    assert!(!text.contains("root-only-secret"), "{text}");
    assert_every_change_refused(&venv, &named, without_openat2);
    assert!(capture(site) == before, "{}", diff(&capture(site), &before));
    assert_eq!(
        fs::read_to_string(&secret).unwrap(),
        "root-only-secret,sha256=x,1\n"
    );
}

/// An installed package directory replaced by a symlink to a copy of it
/// elsewhere: `--check` names the link; install and uninstall refuse,
/// `--force` or not, and the copy is left as it was.
fn assert_symlinked_package_is_never_followed(without_openat2: Option<&str>) {
    let venv = Venv::installed(&pythons()[0]);
    let package = venv.site_packages.join("wrapt_bootstrap");
    let outside = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(&package).unwrap().flatten() {
        if entry.file_type().unwrap().is_file() {
            fs::copy(entry.path(), outside.path().join(entry.file_name())).unwrap();
        }
    }
    fs::remove_dir_all(&package).unwrap();
    std::os::unix::fs::symlink(outside.path(), &package).unwrap();
    let before = fingerprint(outside.path());

    // --check holds our files against what this version installs, and
    // names the link among what differs; a change refuses it outright.
    assert_check_names(
        &venv,
        &format!("{} is a symlink", package.display()),
        without_openat2,
    );
    let named = format!("{} is a symlinked directory", package.display());
    assert_every_change_refused(&venv, &named, without_openat2);
    assert!(
        fingerprint(outside.path()) == before,
        "the copy outside changed"
    );
}

#[test]
fn a_symlinked_record_is_never_followed() {
    assert_symlinked_record_is_never_followed(None);
}

#[test]
fn a_symlinked_package_is_named_by_check_and_refused() {
    assert_symlinked_package_is_never_followed(None);
}

/// Where `openat2` is missing or forbidden, the binaries walk one
/// directory at a time instead: the same installs, checks and uninstalls
/// work, and the same symlinks are refused.
#[test]
fn without_openat2_the_walk_does_the_same() {
    if !have_strace() {
        return;
    }
    for errno in ["ENOSYS", "EPERM"] {
        let venv = Venv::new(&pythons()[0]);
        let pristine = capture(&venv.site_packages);
        let root = venv.root.as_os_str();
        for (program, extra) in [
            (INSTALL, None),
            (INSTALL, Some("--check")),
            (UNINSTALL, None),
        ] {
            let mut args = vec!["--venv".as_ref(), root];
            args.extend(extra.map(std::ffi::OsStr::new));
            let output = run_binary(program, &args, Some(errno));
            assert!(
                output.status.success(),
                "{errno}: {args:?}: {}",
                describe(&output)
            );
        }
        let left = capture(&venv.site_packages);
        assert!(left == pristine, "{errno}: {}", diff(&left, &pristine));
        assert_symlinked_record_is_never_followed(Some(errno));
        assert_symlinked_package_is_never_followed(Some(errno));
    }
}

#[test]
fn nothing_is_group_or_world_writable_whatever_the_umask() {
    for umask in ["000", "077"] {
        let venv = Venv::new(&pythons()[0]);
        let pristine = capture(&venv.site_packages);
        let output = Command::new("sh")
            .args(["-c", &format!("umask {umask} && exec \"$0\" \"$@\"")])
            .arg(env!("CARGO_BIN_EXE_wrapt-install"))
            .arg("--venv")
            .arg(&venv.root)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", describe(&output));
        let state = capture(&venv.site_packages);
        for (path, node) in state.iter().filter(|(p, _)| !pristine.contains_key(*p)) {
            let (mode, wanted) = match node {
                Node::Dir(mode) => (*mode, 0o755),
                Node::File(mode, ..) if Path::new(path).extension().is_some_and(|e| e == "so") => {
                    (*mode, 0o755)
                }
                Node::File(mode, ..) => (*mode, 0o644),
                Node::Link(_) => panic!("{path} is a symlink"),
            };
            assert_eq!(mode, wanted, "umask {umask}: {path} has mode {mode:o}");
        }
    }
}

#[test]
fn check_names_every_changed_missing_and_foreign_file() {
    let venv = Venv::installed(&pythons()[0]);
    let site = &venv.site_packages;
    fs::write(site.join("wrapt_bootstrap/examples.py"), "# changed\n").unwrap();
    fs::remove_file(site.join("wrapt_bootstrap/_fallback.py")).unwrap();
    fs::write(site.join("wrapt_bootstrap/extra.py"), "# foreign\n").unwrap();
    fs::create_dir(site.join("wrapt_bootstrap/sub")).unwrap();
    fs::write(site.join("wrapt_bootstrap/sub/deep.txt"), "").unwrap();
    let dist_info = format!("wrapt_bootstrap-{VERSION}.dist-info");
    fs::write(site.join(&dist_info).join("direct_url.json"), "{}").unwrap();
    fs::write(site.join(".wrapt-install-abc123.tmp"), "torn").unwrap();
    let output = install_in(&venv, &["--check"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let text = describe(&output);
    for named in [
        "wrapt_bootstrap/examples.py was modified".to_owned(),
        "wrapt_bootstrap/_fallback.py is missing".to_owned(),
        "wrapt_bootstrap/extra.py is not listed".to_owned(),
        "wrapt_bootstrap/sub/deep.txt is not listed".to_owned(),
        format!("{dist_info}/direct_url.json is not listed"),
        ".wrapt-install-abc123.tmp is not listed".to_owned(),
    ] {
        assert!(
            text.contains(&named),
            "--check does not name {named:?}: {text}"
        );
    }
    // The next install tidies its own temporary, keeps the foreign files.
    let output = install_in(&venv, &["--force"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(!site.join(".wrapt-install-abc123.tmp").exists());
    assert!(site.join("wrapt_bootstrap/extra.py").exists());
}
