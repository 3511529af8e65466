//! `--create`: the virtual environment made for an install, and unmade
//! again when the run fails before the install wrote anything into it, so
//! that a refused `--create` leaves nothing behind, as every refusal does.
//!
//! What can refuse the install is decided from the base interpreter first
//! (its version, and, through the caller's check, the activation mode), so
//! that most refusals never make anything. The environment is made in a
//! directory this run makes itself (or found empty), so that what is
//! removed is only ever what this run made: never a user's.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::options::TargetSpec;
use crate::output::{self, Output};
use crate::probe::{self, Interpreter};
use crate::python;
use crate::target::{self, Entry};
use crate::trust;

/// The environment `--create` made or would make (`create` in `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct NewEnvironment {
    #[serde(serialize_with = "output::lossy_path")]
    pub venv: PathBuf,
    #[serde(serialize_with = "output::lossy_path")]
    pub base_interpreter: PathBuf,
    pub python: String,
}

/// What `--create` did, or would do.
pub enum Creation {
    /// No `--create`, or the environment's directory holds something.
    Nothing,
    /// Made, and removed when dropped unless [`NewVenv::keep`] says
    /// otherwise.
    Made(NewVenv),
    /// A dry run: what would be made.
    WouldMake {
        venv: PathBuf,
        base: PathBuf,
        info: Box<Interpreter>,
    },
}

/// Makes the virtual environment `spec` names if nothing is there yet (or
/// an empty directory), with `--python` (else `python3` on `PATH`) as the
/// base interpreter, after `check` (given the directory and what the base
/// interpreter said) found nothing to refuse. As root, refuses a base
/// interpreter another user can change (unless `spec.trust_writers`).
pub fn venv(
    spec: &TargetSpec,
    dry_run: bool,
    out: Output,
    check: impl FnOnce(&Path, &Interpreter) -> Result<()>,
) -> Result<Creation> {
    let Some(dir) = target::venv_to_create(spec)? else {
        return Ok(Creation::Nothing);
    };
    let state = match target::entry(&dir)? {
        Entry::Absent => Made::Nothing,
        Entry::Present(meta) if meta.is_dir() && is_empty(&dir)? => Made::Contents,
        Entry::Present(_) | Entry::Dangling(_) => return Ok(Creation::Nothing),
    };
    let base = target::interpreter_path(
        spec.python.as_deref().unwrap_or(Path::new("python3")),
        false,
    )?;
    if !spec.trust_writers {
        trust::interpreter(&base)?;
    }
    let info = probe::probe(&base)?;
    probe::check_version(&base, &info)?;
    check(&dir, &info)?;
    if dry_run {
        return Ok(Creation::WouldMake {
            venv: dir,
            base,
            info: Box::new(info),
        });
    }
    let mut made = NewVenv {
        environment: NewEnvironment {
            venv: dir.clone(),
            base_interpreter: base.clone(),
            python: info.description(),
        },
        dir,
        state,
        parents: Vec::new(),
        kept: false,
        out,
    };
    made.make_directories()?;
    made.run_venv(&base)?;
    Ok(Creation::Made(made))
}

fn is_empty(dir: &Path) -> Result<bool> {
    let mut entries = std::fs::read_dir(dir).map_err(|e| could_not("list", dir, e))?;
    Ok(entries.next().is_none())
}

/// How much of the environment's directory is this run's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Made {
    /// Not made yet.
    Nothing,
    /// The directory itself.
    Directory,
    /// What is in it: it was there, empty.
    Contents,
}

/// A virtual environment this run made. Dropped without [`NewVenv::keep`]
/// (an error, before the install wrote into it), it is removed, with the
/// parent directories made for it.
pub struct NewVenv {
    environment: NewEnvironment,
    dir: PathBuf,
    state: Made,
    /// Made for it, innermost first.
    parents: Vec<PathBuf>,
    kept: bool,
    out: Output,
}

impl NewVenv {
    pub fn describe(&self) -> NewEnvironment {
        self.environment.clone()
    }

    /// The install is about to write into it: from here on, an error
    /// leaves it, and the next run completes or reverses what was written.
    pub fn keep(mut self) {
        self.kept = true;
    }

    /// The directory and its missing parents, each made here: one that
    /// appears meanwhile is not ours, and the environment's own is refused.
    fn make_directories(&mut self) -> Result<()> {
        if self.state == Made::Contents {
            return Ok(());
        }
        let mut missing = Vec::new();
        let mut parent = self.dir.parent();
        while let Some(dir) = parent {
            if !matches!(target::entry(dir)?, Entry::Absent) {
                break;
            }
            missing.push(dir.to_owned());
            parent = dir.parent();
        }
        for dir in missing.into_iter().rev() {
            match std::fs::create_dir(&dir) {
                Ok(()) => self.parents.insert(0, dir),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(source) => return Err(could_not("create", &dir, source)),
            }
        }
        std::fs::create_dir(&self.dir).map_err(|source| could_not("create", &self.dir, source))?;
        self.state = Made::Directory;
        Ok(())
    }

    /// `BASE -m venv DIR`, as a user would run it.
    fn run_venv(&self, base: &Path) -> Result<()> {
        let mut cmd = python::cleaned(base);
        cmd.arg("-m").arg("venv").arg(&self.dir);
        let output = python::started(&mut cmd)?;
        if !output.status.success() {
            return Err(Error::CreateVenv {
                venv: self.dir.clone(),
                python: base.to_owned(),
                status: output.status.to_string(),
                // Debian's venv explains a missing ensurepip on stdout.
                output: python::one_line(&[output.stdout, output.stderr].concat()),
            });
        }
        Ok(())
    }

    fn remove(&self) -> std::io::Result<()> {
        match self.state {
            Made::Nothing => {}
            Made::Directory => std::fs::remove_dir_all(&self.dir)?,
            Made::Contents => {
                for entry in std::fs::read_dir(&self.dir)? {
                    let entry = entry?;
                    if entry.file_type()?.is_dir() {
                        std::fs::remove_dir_all(entry.path())?;
                    } else {
                        std::fs::remove_file(entry.path())?;
                    }
                }
            }
        }
        // Only while empty: anything put there meanwhile is not ours.
        for parent in &self.parents {
            if std::fs::remove_dir(parent).is_err() {
                break;
            }
        }
        Ok(())
    }
}

impl Drop for NewVenv {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        if let Err(e) = self.remove() {
            self.out.warn(format!(
                "could not remove {}, which this run made: {e}",
                self.dir.display()
            ));
        }
    }
}

fn could_not(action: &'static str, path: &Path, source: std::io::Error) -> Error {
    Error::File {
        action,
        path: path.to_owned(),
        source,
    }
}
