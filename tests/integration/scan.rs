//! What the startup scan reads of distribution metadata, and what it never
//! registers: an `entry_points.txt` that is no regular file, or one over
//! the size limit, neither blocks startup nor exhausts its memory, and other
//! tools' groups are never hooks. On every interpreter and both
//! implementations; and `wrapt-install --list` reads metadata the same way.

use std::fs;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{
    describe, each_interpreter, limit_memory, output_within, pythons, recording_dist, stderr,
    stdout, wrapt_install, Implementation, PatchDir, PatchDist, Venv, RECORDING_PATCH,
};

/// Far longer than any start takes, even PyPy's on a loaded machine: only
/// a start that blocks reaches it.
const LIMIT: Duration = Duration::from_secs(60);

/// Which implementation served, and what patched `colorsys` and `wave`.
const REPORT: &str = "\
import colorsys, wave, wrapt_bootstrap as w
print(w._status()['implementation'], getattr(colorsys, 'PATCHED_BY', None), getattr(wave, 'PATCHED_BY', None))
";

/// What [`REPORT`] prints when `venv` ran with `implementation` asked for.
fn report(venv: &Venv, implementation: Implementation, colorsys: &str, wave: &str) -> String {
    let served = venv.python.served_by(implementation).name();
    format!("{served} {colorsys} {wave}\n")
}

/// `<dir>/<name>-1.0.dist-info/entry_points.txt`, its directory made.
fn entry_points(dir: &Path, name: &str) -> PathBuf {
    let dist_info = dir.join(format!("{name}-1.0.dist-info"));
    fs::create_dir(&dist_info).unwrap();
    dist_info.join("entry_points.txt")
}

fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a C string.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
}

/// A file of `size` bytes ending with `tail`, sparse before it: no disk
/// used, whatever the size.
fn sparse(path: &Path, size: u64, tail: &[u8]) {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = fs::File::create(path).unwrap();
    file.set_len(size).unwrap();
    file.seek(SeekFrom::Start(size - tail.len() as u64))
        .unwrap();
    file.write_all(tail).unwrap();
}

#[test]
fn entry_points_that_are_no_regular_files_never_block_startup() {
    let patches = recording_dist("colorsys");
    let dir = patches.path();
    // A FIFO without a writer blocked `open`; with one that never writes
    // (this process), `read` would block; `/dev/zero` never ends.
    let fifo = entry_points(dir, "acme_fifo");
    mkfifo(&fifo);
    let fed = entry_points(dir, "acme_fed");
    mkfifo(&fed);
    let _writer = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fed)
        .unwrap();
    std::os::unix::fs::symlink(&fifo, entry_points(dir, "acme_linked")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", entry_points(dir, "acme_zero")).unwrap();
    fs::create_dir(entry_points(dir, "acme_dir")).unwrap();
    let _socket = UnixListener::bind(entry_points(dir, "acme_socket")).unwrap();
    each_interpreter(|venv, implementation| {
        let code = format!("import wrapt_bootstrap\nwrapt_bootstrap.discover_post_import_hooks('acme.patches')\n{REPORT}");
        let env = patches.env("acme.patches");
        let output = output_within(
            &mut venv.command(implementation, &env, &["-c", &code]),
            LIMIT,
        );
        assert!(output.status.success(), "{}", describe(&output));
        assert_eq!(
            stdout(&output),
            report(venv, implementation, "acme_patch", "None"),
            "{}",
            describe(&output)
        );
        assert_eq!(stderr(&output), "");
    });
}

#[test]
fn an_entry_points_txt_over_the_limit_is_reported_and_never_read() {
    let patches = recording_dist("colorsys");
    // 3 GiB with an enabled group's section at the end: read, it would
    // exhaust the memory the child is given.
    let huge = entry_points(patches.path(), "acme_huge");
    sparse(
        &huge,
        3 << 30,
        b"\n[acme.patches]\nwave = acme_patch:hook\n",
    );
    // A byte over the limit, naming no group: reported all the same, since
    // only reading it could tell.
    let over = entry_points(patches.path(), "unrelated");
    sparse(&over, (64 << 20) + 1, b"\n");
    let expected = format!(
        "wrapt-bootstrap: skipped: {}: larger than 64 MiB\n\
         wrapt-bootstrap: skipped: {}: larger than 64 MiB\n",
        huge.display(),
        over.display()
    );
    each_interpreter(|venv, implementation| {
        let env = patches.env("acme.patches");
        let mut command = venv.command(implementation, &env, &["-c", REPORT]);
        limit_memory(&mut command, 1 << 30);
        let output = output_within(&mut command, LIMIT);
        assert!(output.status.success(), "{}", describe(&output));
        assert_eq!(
            stdout(&output),
            report(venv, implementation, "acme_patch", "None"),
            "{}",
            describe(&output)
        );
        assert_eq!(stderr(&output), expected);
    });
}

#[test]
fn other_tools_groups_are_never_registered() {
    // Entries of exactly a hook's shape, in other tools' groups: registered,
    // they would patch colorsys.
    let patches = PatchDir::new(&[
        PatchDist {
            name: "acme-tool",
            group: "console_scripts",
            entries: &[("colorsys", "acme_patch:hook")],
            modules: &[("acme_patch.py", RECORDING_PATCH)],
        },
        PatchDist {
            name: "acme-plugin",
            group: "flake8.extension",
            entries: &[("colorsys", "acme_patch:hook")],
            modules: &[],
        },
        PatchDist {
            name: "acme-patches",
            group: "acme.patches",
            entries: &[("wave", "acme_patch:hook")],
            modules: &[],
        },
    ]);
    let warning = |groups: &str| {
        format!("wrapt-bootstrap: ignoring {groups}: other tools' entry points, not patches\n")
    };
    each_interpreter(|venv, implementation| {
        for (selected, wave, ignored) in [
            ("console_scripts", "None", "group 'console_scripts'"),
            (
                "flake8.extension,acme.patches,console_scripts",
                "acme_patch",
                "groups 'flake8.extension', 'console_scripts'",
            ),
        ] {
            let output = venv.run_code(implementation, &patches.env(selected), REPORT);
            assert_eq!(
                stdout(&output),
                report(venv, implementation, "None", wave),
                "{selected}: {}",
                describe(&output)
            );
            assert_eq!(stderr(&output), warning(ignored), "{selected}");
        }
        let code = format!(
            "import wrapt_bootstrap\nwrapt_bootstrap.discover_post_import_hooks('console_scripts')\n{REPORT}"
        );
        let output = venv.run_code(implementation, &[("PYTHONPATH", patches.path_str())], &code);
        assert_eq!(
            stdout(&output),
            report(venv, implementation, "None", "None"),
            "{}",
            describe(&output)
        );
        assert_eq!(stderr(&output), warning("group 'console_scripts'"));
    });
}

#[test]
fn list_reads_metadata_as_the_scan_does() {
    let python = pythons().last().expect("a CPython");
    let venv = Venv::new(python);
    let site = &venv.site_packages;
    PatchDist {
        name: "acme-patches",
        group: "acme.patches",
        entries: &[("requests", "acme_patch:hook")],
        modules: &[],
    }
    .write_into(site);
    // A FIFO for METADATA: the name and version come from the directory.
    let metadata = site.join("acme_patches-1.0.dist-info/METADATA");
    fs::remove_file(&metadata).unwrap();
    mkfifo(&metadata);
    mkfifo(&entry_points(site, "fifo"));
    let huge = entry_points(site, "huge");
    sparse(&huge, (64 << 20) + 1, b"\n[huge.patches]\nx = y:z\n");
    let output = output_within(
        wrapt_install()
            .arg("--venv")
            .arg(&venv.root)
            .args(["--list", "-v"]),
        LIMIT,
    );
    assert!(output.status.success(), "{}", describe(&output));
    let text = stdout(&output);
    assert!(
        text.contains(&format!(
            "\n  acme.patches\n    acme_patches 1.0  {}\n      requests = acme_patch:hook\n",
            site.join("acme_patches-1.0.dist-info").display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("skipped {}: larger than 64 MiB\n", huge.display())),
        "{text}"
    );
    assert!(!text.contains("huge.patches"), "{text}");
}
