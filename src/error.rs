//! The one error type of the installer. Every variant names the path or the
//! thing it is about and, where there is one, what to do next; the binaries
//! print it once, on one line, and map it to an exit code.

use std::path::PathBuf;

/// Exit code: `--check` found a problem.
pub const EXIT_CHECK_FAILED: u8 = 1;
/// Exit code: usage error or bad input (target not found, not a venv,
/// interpreter too old, invalid group name, unreadable RECORD).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: refused to touch a file that is not ours (foreign or
/// modified), or, as root, an environment another user can change.
pub const EXIT_REFUSED: u8 = 3;
/// Exit code: I/O or permission error.
pub const EXIT_IO: u8 = 4;

/// Everything that can go wrong, with the context needed to act on it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no target environment: $VIRTUAL_ENV is unset and there is no ./.venv; {hint}")]
    NoTarget { hint: &'static str },

    #[error("{path} does not exist; {hint}")]
    Missing { path: PathBuf, hint: &'static str },

    #[error("{path} is not a directory; {hint}")]
    NotADirectory { path: PathBuf, hint: &'static str },

    #[error(
        "{venv} has no Python interpreter (bin/python or bin/python3), so it is not a virtual environment; {hint}"
    )]
    NoInterpreter { venv: PathBuf, hint: &'static str },

    #[error("{path} is a dangling symlink to {target} (its interpreter was moved or removed); recreate the environment")]
    DanglingInterpreter { path: PathBuf, target: PathBuf },

    #[error("{path} is a directory, and --python expects an interpreter; {hint}")]
    InterpreterIsADirectory { path: PathBuf, hint: String },

    #[error("--venv {venv} and --python {python} name different environments ({python} is not in {venv}/bin); pass one of them (with --create, --python is the base interpreter)")]
    TargetsDisagree { venv: PathBuf, python: PathBuf },

    /// A path on the way to the target that this user may not look at.
    #[error("{path} cannot be reached: permission denied{detail}; run as a user who can reach it, or give this one access")]
    PermissionDenied { path: PathBuf, detail: String },

    #[error("{name} was not found on PATH; pass --python /path/to/python")]
    NotOnPath { name: String },

    #[error("{path} could not be run: {source}")]
    Spawn {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path} did not answer the environment probe: {reason}")]
    Probe { path: PathBuf, reason: String },

    #[error("{path} could not compile the bootstrap's bytecode: {reason}")]
    Bytecode { path: PathBuf, reason: String },

    #[error("{description} at {path} is too old: wrapt-install needs CPython 3.9 or newer")]
    TooOld { description: String, path: PathBuf },

    #[error("{description} at {path} is not a virtual environment; {hint}")]
    NotAVenv {
        description: String,
        path: PathBuf,
        hint: String,
    },

    #[error("{description} at {path} is a virtual environment's interpreter; {reason}")]
    VenvNotAllowed {
        description: String,
        path: PathBuf,
        reason: &'static str,
    },

    #[error("user site-packages are disabled for {path} (its effective user or group is not the real one)")]
    UserSiteDisabled { path: PathBuf },

    #[error(
        "{marker} marks this Python as managed by the system's package manager (PEP 668); use a virtual environment or --user, or pass --force to install into it anyway"
    )]
    ExternallyManaged { marker: PathBuf },

    #[error("creating the virtual environment {venv} with {python} failed ({status}), and what it made was removed: {output}")]
    CreateVenv {
        venv: PathBuf,
        python: PathBuf,
        status: String,
        output: String,
    },

    #[error(
        "--mode sitecustomize cannot work in {purelib}: {reason}; use --mode pth (the default)"
    )]
    Sitecustomize { purelib: PathBuf, reason: String },

    #[error("--mode {mode} cannot activate {python}: {reason}; use --mode {default} (its default) or --mode sitecustomize")]
    ActivationIgnored {
        mode: &'static str,
        python: String,
        reason: &'static str,
        default: &'static str,
    },

    #[error(
        "invalid group name {name:?}: group names are non-empty and use only A-Z a-z 0-9 _ . -"
    )]
    InvalidGroup { name: String },

    #[error("{name:?} is another tool's entry-point group (programs or plugins, not patches): wrapt-bootstrap never registers it")]
    OtherToolsGroup { name: String },

    #[error(
        "{path}: unreadable RECORD: {problems}; remove the file by hand or reinstall with --force"
    )]
    BadRecord { path: PathBuf, problems: String },

    #[error("{record} lists {entry:?}, which is outside the environment ({reason}); refusing to touch it")]
    UnsafePath {
        record: PathBuf,
        entry: String,
        reason: String,
    },

    #[error(
        "{path} exists and is not part of an installed wrapt-bootstrap; move it away, or pass --force to overwrite it"
    )]
    Foreign { path: PathBuf },

    #[error("{path} was modified after wrapt-bootstrap installed it; restore or remove it, or pass --force to {action} it anyway")]
    Modified { path: PathBuf, action: &'static str },

    #[error("{path} is a symlink, which wrapt-bootstrap never installs; remove it, or pass --force to replace the link itself")]
    Symlink { path: PathBuf },

    #[error("{path} is a symlinked directory; wrapt-install never follows a symlink out of the environment; remove the link")]
    SymlinkedDirectory { path: PathBuf },

    #[error("{path} is {what} where wrapt-bootstrap keeps a regular file; wrapt-install never follows or opens it, even with --force; remove it")]
    NotARegularFile { path: PathBuf, what: &'static str },

    #[error("{purelib} resolves to {resolved}, outside the virtual environment {prefix}; refusing to touch it")]
    OutsideEnvironment {
        purelib: PathBuf,
        resolved: PathBuf,
        prefix: PathBuf,
    },

    #[error(
        "{path} is {}: as root, acting on it would run code {}; {}, or pass --force to trust them",
        writer.what(),
        writer.who(),
        writer.remedy()
    )]
    Untrusted { path: PathBuf, writer: Writer },

    #[error(
        "could not lock {path} for exclusive use: {source}; is another wrapt-install running?"
    )]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("could not {action} {path}: {source}")]
    File {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path} is a directory where wrapt-bootstrap needs a file; move it away")]
    IsADirectory { path: PathBuf },

    /// `fs_err` errors carry the path and the operation in their message.
    #[error("{0}")]
    Io(#[from] std::io::Error),

    #[error("check failed: {count} problem(s) in {purelib} (listed above)")]
    CheckFailed { count: usize, purelib: PathBuf },

    #[error("could not write output: {0}")]
    Json(#[from] serde_json::Error),

    #[error("could not write output: {0}")]
    Output(std::io::Error),
}

impl Error {
    /// Whether this is an installed RECORD that cannot be read or trusted
    /// (nor anything it lists): `--check` reports it, `--list` warns and
    /// goes on.
    pub fn is_untrusted_record(&self) -> bool {
        matches!(
            self,
            Error::BadRecord { .. }
                | Error::UnsafePath { .. }
                | Error::NotARegularFile { .. }
                | Error::SymlinkedDirectory { .. }
        )
    }

    /// A stable name for this error (`error.code` in `--json` output).
    pub fn code(&self) -> &'static str {
        match self {
            Error::NoTarget { .. } => "no_target",
            Error::Missing { .. } => "missing",
            Error::NotADirectory { .. } => "not_a_directory",
            Error::NoInterpreter { .. } => "no_interpreter",
            Error::DanglingInterpreter { .. } => "dangling_interpreter",
            Error::InterpreterIsADirectory { .. } => "interpreter_is_a_directory",
            Error::TargetsDisagree { .. } => "targets_disagree",
            Error::PermissionDenied { .. } => "permission_denied",
            Error::NotOnPath { .. } => "not_on_path",
            Error::Spawn { .. } => "spawn",
            Error::Probe { .. } => "probe",
            Error::Bytecode { .. } => "bytecode",
            Error::TooOld { .. } => "too_old",
            Error::NotAVenv { .. } => "not_a_venv",
            Error::VenvNotAllowed { .. } => "venv_not_allowed",
            Error::UserSiteDisabled { .. } => "user_site_disabled",
            Error::ExternallyManaged { .. } => "externally_managed",
            Error::CreateVenv { .. } => "create_venv",
            Error::Sitecustomize { .. } => "sitecustomize",
            Error::ActivationIgnored { .. } => "activation_ignored",
            Error::InvalidGroup { .. } => "invalid_group",
            Error::OtherToolsGroup { .. } => "other_tools_group",
            Error::BadRecord { .. } => "bad_record",
            Error::UnsafePath { .. } => "unsafe_path",
            Error::Foreign { .. } => "foreign",
            Error::Modified { .. } => "modified",
            Error::Symlink { .. } => "symlink",
            Error::SymlinkedDirectory { .. } => "symlinked_directory",
            Error::NotARegularFile { .. } => "not_a_regular_file",
            Error::OutsideEnvironment { .. } => "outside_environment",
            Error::Untrusted { .. } => "untrusted",
            Error::Lock { .. } => "lock",
            Error::File { .. } => "file",
            Error::IsADirectory { .. } => "is_a_directory",
            Error::Io(_) => "io",
            Error::CheckFailed { .. } => "check_failed",
            Error::Json(_) => "json",
            Error::Output(_) => "output",
        }
    }

    /// The process exit code for this error (documented in `--help`).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::CheckFailed { .. } => EXIT_CHECK_FAILED,
            // Running it is not allowed, as opposed to it not being there.
            Error::Spawn { source, .. }
                if source.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                EXIT_IO
            }
            Error::NoTarget { .. }
            | Error::Missing { .. }
            | Error::NotADirectory { .. }
            | Error::NoInterpreter { .. }
            | Error::DanglingInterpreter { .. }
            | Error::InterpreterIsADirectory { .. }
            | Error::TargetsDisagree { .. }
            | Error::NotOnPath { .. }
            | Error::Spawn { .. }
            | Error::Probe { .. }
            | Error::TooOld { .. }
            | Error::NotAVenv { .. }
            | Error::VenvNotAllowed { .. }
            | Error::UserSiteDisabled { .. }
            | Error::ExternallyManaged { .. }
            | Error::InvalidGroup { .. }
            | Error::OtherToolsGroup { .. }
            | Error::BadRecord { .. }
            | Error::Sitecustomize { .. }
            | Error::ActivationIgnored { .. } => EXIT_USAGE,
            Error::UnsafePath { .. }
            | Error::Foreign { .. }
            | Error::Modified { .. }
            | Error::Symlink { .. }
            | Error::SymlinkedDirectory { .. }
            | Error::NotARegularFile { .. }
            | Error::OutsideEnvironment { .. }
            | Error::IsADirectory { .. }
            | Error::Untrusted { .. } => EXIT_REFUSED,
            Error::CreateVenv { .. }
            | Error::PermissionDenied { .. }
            | Error::Bytecode { .. }
            | Error::Lock { .. }
            | Error::File { .. }
            | Error::Io(_)
            | Error::Json(_)
            | Error::Output(_) => EXIT_IO,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Who besides root can change a path (see `trust`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// Its owner, by uid.
    User(u32),
    /// The members of its group, by gid.
    Group(u32),
    Everyone,
}

impl Writer {
    fn what(self) -> String {
        match self {
            Writer::User(uid) => format!("owned by uid {uid}{}", named(user_name(uid))),
            Writer::Group(gid) => format!("writable by group {gid}{}", named(group_name(gid))),
            Writer::Everyone => "writable by every user".to_owned(),
        }
    }

    fn who(self) -> &'static str {
        match self {
            Writer::User(_) => "that user controls",
            Writer::Group(_) => "that group's members control",
            Writer::Everyone => "any user controls",
        }
    }

    fn remedy(self) -> &'static str {
        match self {
            Writer::User(_) => "run it as that user",
            Writer::Group(_) | Writer::Everyone => "take that write permission away",
        }
    }
}

/// ` (name)`, or nothing for an id without one.
fn named(name: Option<String>) -> String {
    name.map(|name| format!(" ({name})")).unwrap_or_default()
}

/// The user's name, from the system's user database.
fn user_name(uid: u32) -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|user| user.name)
}

/// The group's name, from the system's group database.
fn group_name(gid: u32) -> Option<String> {
    nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid))
        .ok()
        .flatten()
        .map(|group| group.name)
}
