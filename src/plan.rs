//! What an install writes: a list of relative paths (under purelib) and their
//! bytes, rendered from the embedded `templates/` and the embedded
//! bootstrap `.so`. `--dry-run`, the transaction and `--check` all read the
//! same [`Plan`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use wrapt_common::selection;

use crate::probe::Interpreter;
use crate::record::{self, RecordEntry};
use crate::site::canonical;

/// The version written into METADATA and the dist-info directory name.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The import package.
pub const PACKAGE_DIR: &str = "wrapt_bootstrap";
/// Activation by a `.pth` import line, which `site` runs on every Python up
/// to 3.17. `00_` sorts before `_virtualenv.pth`,
/// `distutils-precedence.pth` and `__editable__*.pth` (plain `sorted()`
/// order, digits before `_` and letters), so hooks exist before their import
/// lines run.
pub const PTH: &str = "00_wrapt_bootstrap.pth";
/// Activation by a PEP 829 `.start` entry point, which `site` runs from
/// CPython 3.15 on: where `.pth` import lines are ignored (3.18+), or when
/// asked for. Same stem as the `.pth`, and its entries run in sorted order
/// too, so it comes before other `.start` files.
pub const START: &str = "00_wrapt_bootstrap.start";
/// The package the `.start` entry point lives in. Not `wrapt_bootstrap`:
/// `site` prints a traceback for an entry point it cannot import, so the
/// entry point guards the import of the package, as the `.pth` line does,
/// and stays silent when the package is missing or broken.
pub const START_PACKAGE: &str = "_wrapt_bootstrap_start/__init__.py";
/// Activation with `--mode sitecustomize`: a package, which Python finds
/// before a `sitecustomize.py` module in the same directory, so that an
/// environment's own stays untouched (the package runs it).
pub const SITECUSTOMIZE: &str = "sitecustomize/__init__.py";

/// The first CPython whose `site` runs `.start` entry points (PEP 829).
const START_FILES_FROM: (u32, u32) = (3, 15);
/// The first CPython whose `site` ignores `.pth` import lines (PEP 829; they
/// keep working, unless a same-named `.start` exists, in 3.15–3.17).
const PTH_IMPORTS_IGNORED_FROM: (u32, u32) = (3, 18);

/// How the bootstrap is activated at startup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// A `.pth` import line (the default up to Python 3.17; 3.18 ignores
    /// it)
    Pth,
    /// A PEP 829 `.start` entry point (Python 3.15+; the default from 3.18)
    Start,
    /// A `sitecustomize` package that runs the environment's own
    /// sitecustomize after activating
    Sitecustomize,
}

impl Activation {
    pub fn as_str(self) -> &'static str {
        match self {
            Activation::Pth => "pth",
            Activation::Start => "start",
            Activation::Sitecustomize => "sitecustomize",
        }
    }

    /// The file whose presence activates, relative to purelib.
    pub fn file(self) -> &'static str {
        match self {
            Activation::Pth => PTH,
            Activation::Start => START,
            Activation::Sitecustomize => SITECUSTOMIZE,
        }
    }

    /// What an install writes for an interpreter of this language version
    /// when nothing else decides: the `.pth` line as long as `site` runs it.
    /// A `.start` file is not written where a `.pth` line works: any `.start`
    /// file makes `site` import `pkgutil` and two dozen modules at every
    /// start (measured on 3.15: +76 % instructions for `python -c pass`), and
    /// its entry points run after every `.pth` import line.
    pub fn default_for(version: [u32; 3]) -> Activation {
        if (version[0], version[1]) >= PTH_IMPORTS_IGNORED_FROM {
            Activation::Start
        } else {
            Activation::Pth
        }
    }

    /// Why this activation never runs on an interpreter of this language
    /// version, if it does not.
    pub fn ignored_by(self, version: [u32; 3]) -> Option<&'static str> {
        let version = (version[0], version[1]);
        match self {
            Activation::Pth if version >= PTH_IMPORTS_IGNORED_FROM => {
                Some("site ignores .pth import lines from CPython 3.18 on (PEP 829)")
            }
            Activation::Start if version < START_FILES_FROM => {
                Some("site runs .start entry points only from CPython 3.15 on (PEP 829)")
            }
            Activation::Pth | Activation::Start | Activation::Sitecustomize => None,
        }
    }

    /// The activation an install writes: the one asked for (`None` when
    /// this interpreter ignores it: the caller refuses), else the installed
    /// one while this interpreter runs it, else [`Activation::default_for`]
    /// (so a re-install after the interpreter changed switches).
    pub fn choose(
        asked: Option<Activation>,
        installed: Option<Activation>,
        version: [u32; 3],
    ) -> Result<Activation, &'static str> {
        match asked {
            Some(asked) => asked.ignored_by(version).map_or(Ok(asked), Err),
            None => Ok(installed
                .filter(|installed| installed.ignored_by(version).is_none())
                .unwrap_or_else(|| Activation::default_for(version))),
        }
    }
}

/// Why a `sitecustomize` package in `target` (`info`'s
/// site-packages, or its user site-packages, which site puts just before
/// them) would not run, or could not run the sitecustomize it hides;
/// `None` when it would work. Only the first `sitecustomize` on
/// `sys.path` is ever imported: one earlier than site-packages (Debian
/// ships one in its stdlib directory) wins over ours. One later is run
/// by ours, and so is a `sitecustomize.py` beside it, but no other form
/// of the module there.
pub fn sitecustomize_conflict(info: &Interpreter, target: &Path) -> Option<String> {
    let site_packages = canonical(&info.purelib);
    let target = canonical(target);
    // The probe lists them up to site-packages: any elsewhere is earlier.
    if let Some(earlier) = info
        .sitecustomize
        .iter()
        .find(|found| sys_path_entry(found) != site_packages)
    {
        return Some(format!(
            "{} comes before {} on sys.path, so Python imports it instead of ours",
            earlier.display(),
            target.display()
        ));
    }
    let mut beside: Vec<PathBuf> = std::fs::read_dir(&target)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| {
                    name.starts_with("sitecustomize.") && name != "sitecustomize.py"
                })
        })
        .collect();
    beside.sort();
    beside.first().map(|other| {
        format!(
            "{} is not a sitecustomize.py, which is all a sitecustomize package can run in its place",
            other.display()
        )
    })
}

/// Why a `sitecustomize` package could not work in a virtual
/// environment made from the base interpreter `base`, as far as can be told
/// before it exists: the `sitecustomize` on the interpreter's own
/// `sys.path` (Debian's, in its stdlib directory), which every virtual
/// environment made from it shares, and which comes before any
/// site-packages.
pub fn new_venv_sitecustomize_conflict(base: &Interpreter) -> Option<String> {
    let own: Vec<PathBuf> = base.path.iter().map(|entry| canonical(entry)).collect();
    let found = base
        .sitecustomize
        .iter()
        .find(|found| own.contains(&sys_path_entry(found)))?;
    Some(format!(
        "{} comes before the environment's site-packages on sys.path, so Python imports it instead of ours",
        found.display()
    ))
}

/// The `sys.path` entry a module was found in: a package's is its
/// directory's parent.
fn sys_path_entry(found: &Path) -> PathBuf {
    let dir = found.parent().unwrap_or(found);
    let is_package = found
        .file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with("__init__."));
    canonical(if is_package {
        dir.parent().unwrap_or(dir)
    } else {
        dir
    })
}

/// Whether `path` (relative) is an activation file: a `.pth` or `.start`
/// directly in purelib, or the `sitecustomize` package's `__init__.py`.
pub fn is_activation(path: &str) -> bool {
    path == SITECUSTOMIZE
        || (!path.contains('/')
            && std::path::Path::new(path)
                .extension()
                .is_some_and(|e| e == "pth" || e == "start"))
}

/// Whether `path` (relative) is inside one of the packages an install
/// writes: `wrapt_bootstrap` or the `.start` entry point's.
pub fn is_in_a_package(path: &str) -> bool {
    [PACKAGE_DIR, START_PACKAGE.trim_end_matches("/__init__.py")]
        .iter()
        .any(|dir| {
            path.strip_prefix(dir)
                .is_some_and(|rest| rest.starts_with('/'))
        })
}

/// The modification time of every file an install writes (2026-01-01
/// 00:00 UTC), as pip gives installed files their wheel's: the bytecode
/// compiled at install records its source's mtime, so the mtime must be
/// known before the source is written.
pub const INSTALLED_MTIME: u64 = 1_767_225_600;

pub fn installed_mtime() -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(INSTALLED_MTIME)
}

/// What `INSTALLER` says (PEP 376 / PEP 627).
pub const INSTALLER: &str = "wrapt-install\n";

const MODE_FILE: u32 = 0o644;
/// pip installs shared objects executable; nothing we write is group or
/// world writable.
const MODE_SHARED_OBJECT: u32 = 0o755;

/// The line of `__init__.py` that carries the environment's default groups.
const DEFAULTS_PREFIX: &str = "_DEFAULT_GROUPS = ";
const DEFAULTS_TEMPLATE_LINE: &str = "_DEFAULT_GROUPS = ()";
/// The bootstrap and the sitecustomize package load `_native.abi3.so` only
/// when its size is this one: dlopen of a truncated file crashes the
/// interpreter instead of raising.
const NATIVE_SIZE_TEMPLATE_LINE: &str = "\n_NATIVE_SIZE = 0\n";

macro_rules! template {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/", $path))
    };
}

// The `.pth` lines. site compiles an import line every time it reads it,
// twice in a virtual environment, so every token costs at every start of
// every process, patched or not: the line holds only the presence check of
// the two variables (in `posix.environ`, a plain dict of bytes, where
// `os.environ`'s `__contains__` runs Python code; this tool only runs on
// Unix), written without parentheses, which the parser backtracks through.
// The code it execs is compiled twice as well, so it is only the guarded
// import, which keeps a leftover line silent when the package is gone;
// importing the package activates it. The kill switch is decided there,
// before the package loads anything: as code here, the value check cost
// 0.6M instructions to compile at every enabled start (CPython 3.12); in the
// package it costs the package's import only when the switch is set.
const PTH_WHEN_SET: &[u8] = template!("activate_when_set.pth");
const PTH_ALWAYS: &[u8] = template!("activate_always.pth");
const START_WHEN_SET: &[u8] = template!("activate_when_set.start");
const START_ALWAYS: &[u8] = template!("activate_always.start");
const START_MODULE: &[u8] = template!("_wrapt_bootstrap_start/__init__.py");
/// The `.pth` line's check and the kill switch, as code in a module with
/// bytecode, where they cost next to nothing to run.
const SITECUSTOMIZE_TEMPLATE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/templates/sitecustomize/__init__.py"
));
const INIT_TEMPLATE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/templates/wrapt_bootstrap/__init__.py"
));
const API: &[u8] = template!("wrapt_bootstrap/_api.py");
const DEFERRED: &[u8] = template!("wrapt_bootstrap/_deferred.py");
const EXPLAIN: &[u8] = template!("wrapt_bootstrap/_explain.py");
const FALLBACK_TEMPLATE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/templates/wrapt_bootstrap/_fallback.py"
));
/// The fallback's list of tool programs, rendered from the native module's.
const SKIP_TEMPLATE_LINE: &str = "\n_DEFAULT_SKIP = ()\n";
/// The fallback's table of tool markers, rendered from the native module's.
const MARKERS_TEMPLATE_LINE: &str = "\n_TOOL_MARKERS = ()\n";
/// The fallback's lists of other tools' groups, rendered from the native
/// module's.
const OTHER_TOOLS_TEMPLATE_LINES: &str = "\n_OTHER_TOOLS_GROUPS = ()\n_OTHER_TOOLS_PREFIXES = ()\n";
const EXAMPLES: &[u8] = template!("wrapt_bootstrap/examples.py");
const METADATA_TEMPLATE: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/METADATA"));
/// Declares the example group, and an entry point in the group below.
/// Alike in every mode: a file that differed by mode would, after a crash
/// in a same-version switch, no longer match the RECORD still in place.
const ENTRY_POINTS: &[u8] = template!("entry_points.txt");
/// What runs when a wrapper's sitecustomize on `PYTHONPATH` hides our
/// sitecustomize package. Written in every mode, for the reason above.
pub const HIDDEN: &str = "wrapt_bootstrap/_hidden.py";
const HIDDEN_MODULE: &[u8] = template!("wrapt_bootstrap/_hidden.py");
/// The group of our entry point into `_hidden`: OpenTelemetry's
/// sitecustomize (`opentelemetry-instrument`) runs no other sitecustomize,
/// but calls this group's entry points before its instrumentors
/// (opentelemetry-instrumentation 0.25b0 and later). The entry's name is
/// no module name, so that the group does not look like a patch group.
pub const OPENTELEMETRY_GROUP: &str = "opentelemetry_pre_instrument";
/// Built from `crates/bootstrap` by `build.rs`.
const NATIVE_SO: &[u8] = include_bytes!(env!("WRAPT_BOOTSTRAP_SO"));

/// Where a file sits in the install order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// The `wrapt_bootstrap` package (and the `.start` entry point's).
    Package,
    /// dist-info files other than RECORD.
    Metadata,
    /// RECORD: written once the files it lists are in place.
    Record,
    /// The `.pth` or `.start` file, or the `sitecustomize` package: last
    /// in, first out.
    Activation,
}

/// One file to write.
#[derive(Debug, Clone)]
pub struct PlannedFile {
    /// Relative to purelib, forward slashes.
    pub path: String,
    pub bytes: Vec<u8>,
    pub mode: u32,
    pub stage: Stage,
}

/// Everything an install writes, in write order (package, metadata, RECORD,
/// activation).
#[derive(Debug, Clone)]
pub struct Plan {
    pub files: Vec<PlannedFile>,
    /// Sorted, deduplicated.
    pub defaults: Vec<String>,
}

/// `wrapt_bootstrap-<version>.dist-info`.
pub fn dist_info_dir() -> String {
    format!("{PACKAGE_DIR}-{VERSION}.dist-info")
}

/// Whether a purelib entry is a `wrapt_bootstrap-*.dist-info` directory name
/// (any version).
pub fn is_our_dist_info(name: &str) -> bool {
    name.strip_prefix(PACKAGE_DIR)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|rest| rest.strip_suffix(".dist-info"))
        .is_some_and(|version| !version.is_empty() && !version.contains('/'))
}

impl Plan {
    /// Renders every file for these default groups (which the caller has
    /// validated), activated as `activation` says.
    pub fn render(defaults: &BTreeSet<String>, activation: Activation) -> Plan {
        let defaults: Vec<String> = defaults.iter().cloned().collect();
        let dist_info = dist_info_dir();
        let init = render_loader(INIT_TEMPLATE, &defaults);
        let fallback = render_fallback();

        let file = |path: String, bytes: Vec<u8>, mode, stage| PlannedFile {
            path,
            bytes,
            mode,
            stage,
        };
        let mut files = vec![
            file(
                format!("{PACKAGE_DIR}/__init__.py"),
                init.into_bytes(),
                MODE_FILE,
                Stage::Package,
            ),
            file(
                format!("{PACKAGE_DIR}/_api.py"),
                API.to_vec(),
                MODE_FILE,
                Stage::Package,
            ),
            file(
                format!("{PACKAGE_DIR}/_deferred.py"),
                DEFERRED.to_vec(),
                MODE_FILE,
                Stage::Package,
            ),
            file(
                format!("{PACKAGE_DIR}/_explain.py"),
                EXPLAIN.to_vec(),
                MODE_FILE,
                Stage::Package,
            ),
            file(
                format!("{PACKAGE_DIR}/_fallback.py"),
                fallback.into_bytes(),
                MODE_FILE,
                Stage::Package,
            ),
            file(
                HIDDEN.to_owned(),
                HIDDEN_MODULE.to_vec(),
                MODE_FILE,
                Stage::Package,
            ),
            file(
                format!("{PACKAGE_DIR}/examples.py"),
                EXAMPLES.to_vec(),
                MODE_FILE,
                Stage::Package,
            ),
            file(
                format!("{PACKAGE_DIR}/_native.abi3.so"),
                NATIVE_SO.to_vec(),
                MODE_SHARED_OBJECT,
                Stage::Package,
            ),
            file(
                format!("{dist_info}/METADATA"),
                METADATA_TEMPLATE.replace("@VERSION@", VERSION).into_bytes(),
                MODE_FILE,
                Stage::Metadata,
            ),
            file(
                format!("{dist_info}/INSTALLER"),
                INSTALLER.as_bytes().to_vec(),
                MODE_FILE,
                Stage::Metadata,
            ),
            file(
                format!("{dist_info}/entry_points.txt"),
                ENTRY_POINTS.to_vec(),
                MODE_FILE,
                Stage::Metadata,
            ),
        ];
        files.extend(activation_files(activation, &defaults));
        let mut plan = Plan { files, defaults };
        plan.add_record(format!("{dist_info}/RECORD"));
        plan
    }

    /// Lists every file in a RECORD at `record_path` and adds it, then puts
    /// the files in write order.
    fn add_record(&mut self, record_path: String) {
        let entries: Vec<RecordEntry> = self
            .files
            .iter()
            .map(|f| {
                if self.is_bytecode_of_ours(&f.path) {
                    RecordEntry {
                        path: f.path.clone(),
                        hash: None,
                        size: None,
                    }
                } else {
                    RecordEntry::for_bytes(&f.path, &f.bytes)
                }
            })
            .collect();
        let record = record::render(&entries, &record_path);
        self.files.push(PlannedFile {
            path: record_path,
            bytes: record,
            mode: MODE_FILE,
            stage: Stage::Record,
        });
        // Stable: a package's source stays before its bytecode.
        self.files.sort_by_key(|f| f.stage);
    }

    /// The Python sources, `(path, bytes)`, for [`Plan::add_bytecode`].
    pub fn python_sources(&self) -> Vec<(&str, &[u8])> {
        self.files
            .iter()
            .filter(|f| {
                std::path::Path::new(&f.path)
                    .extension()
                    .is_some_and(|e| e == "py")
            })
            .map(|f| (f.path.as_str(), f.bytes.as_slice()))
            .collect()
    }

    /// Adds the compiled bytecode of the sources
    /// (`__pycache__/<module>.<tag>.pyc`, from `bytecode::compile`), in
    /// the stage of its source (the `sitecustomize` package's comes after
    /// its `__init__.py`, which works without it), and
    /// lists it in RECORD without a hash, as pip lists bytecode: marshal's
    /// output can follow the compiling interpreter's state (its reference
    /// flags follow reference counts), so the same code may serialise
    /// differently; `--check` then compares the code itself.
    pub fn add_bytecode(&mut self, compiled: Vec<(String, Vec<u8>)>) {
        let record_path = self.record_path().to_owned();
        self.files.retain(|f| f.stage != Stage::Record);
        for (path, bytes) in compiled {
            let stage = self
                .source_of_bytecode(&path)
                .map_or(Stage::Package, |source| source.stage);
            self.files.push(PlannedFile {
                path,
                bytes,
                mode: MODE_FILE,
                stage,
            });
        }
        self.add_record(record_path);
    }

    /// Whether `on_disk` could hold the planned bytecode at `path` in
    /// other bytes: the same 16-byte header, so compiled by this
    /// interpreter for the same source (magic number, flags, source mtime
    /// and size).
    pub fn same_bytecode(&self, path: &str, on_disk: &[u8]) -> bool {
        const HEADER: usize = 16;
        self.is_bytecode_of_ours(path)
            && self.get(path).is_some_and(|planned| {
                planned.bytes.len() >= HEADER
                    && on_disk.len() > HEADER
                    && planned.bytes[..HEADER] == on_disk[..HEADER]
            })
    }

    /// Whether `path` is the bytecode Python caches for one of this plan's
    /// modules (`<dir>/__pycache__/<module>.*.pyc`): derived from our
    /// source, so ours to replace whoever wrote it.
    pub fn is_bytecode_of_ours(&self, path: &str) -> bool {
        self.source_of_bytecode(path).is_some()
    }

    /// The planned source that `path` is the cached bytecode of, if any.
    pub fn source_of_bytecode(&self, path: &str) -> Option<&PlannedFile> {
        let (dir, name) = path.rsplit_once("/__pycache__/")?;
        if name.contains('/')
            || std::path::Path::new(name)
                .extension()
                .is_none_or(|e| e != "pyc")
        {
            return None;
        }
        let module = name.split('.').next().unwrap_or_default();
        self.get(&format!("{dir}/{module}.py"))
    }

    /// The path of the RECORD this plan writes.
    pub fn record_path(&self) -> &str {
        &self
            .files
            .iter()
            .find(|f| f.stage == Stage::Record)
            .expect("a plan always has a RECORD")
            .path
    }

    /// The line of the `.pth` or `.start` file this plan installs, if it
    /// installs one (for `--dry-run`).
    pub fn activation_line(&self) -> Option<String> {
        self.files
            .iter()
            .find(|f| f.path == PTH || f.path == START)
            .map(|f| String::from_utf8_lossy(&f.bytes).trim_end().to_owned())
    }

    pub fn get(&self, path: &str) -> Option<&PlannedFile> {
        self.files.iter().find(|f| f.path == path)
    }
}

/// `_fallback.py` with the native module's tables rendered in: the tool
/// programs and markers, and other tools' groups.
fn render_fallback() -> String {
    let markers: Vec<String> = selection::TOOL_MARKERS
        .iter()
        .map(|(variable, name)| python_tuple(&[variable, name]) + ",")
        .collect();
    FALLBACK_TEMPLATE
        .replacen(
            SKIP_TEMPLATE_LINE,
            &format!(
                "\n_DEFAULT_SKIP = {}\n",
                python_tuple(selection::DEFAULT_SKIP)
            ),
            1,
        )
        .replacen(
            MARKERS_TEMPLATE_LINE,
            &format!("\n_TOOL_MARKERS = ({})\n", markers.join(" ")),
            1,
        )
        .replacen(
            OTHER_TOOLS_TEMPLATE_LINES,
            &format!(
                "\n_OTHER_TOOLS_GROUPS = {}\n_OTHER_TOOLS_PREFIXES = {}\n",
                python_tuple(selection::OTHER_TOOLS_GROUPS),
                python_tuple(selection::OTHER_TOOLS_PREFIXES)
            ),
            1,
        )
}

/// The files that activate the bootstrap as `activation` says, for these
/// default groups.
fn activation_files(activation: Activation, defaults: &[String]) -> Vec<PlannedFile> {
    let file = |path: &str, bytes: &[u8], stage| PlannedFile {
        path: path.to_owned(),
        bytes: bytes.to_vec(),
        mode: MODE_FILE,
        stage,
    };
    let (pth, start) = if defaults.is_empty() {
        (PTH_WHEN_SET, START_WHEN_SET)
    } else {
        (PTH_ALWAYS, START_ALWAYS)
    };
    match activation {
        Activation::Pth => vec![file(PTH, pth, Stage::Activation)],
        // The entry point's package goes in with the package, before the
        // .start file that names it, and comes out after it.
        Activation::Start => vec![
            file(START_PACKAGE, START_MODULE, Stage::Package),
            file(START, start, Stage::Activation),
        ],
        Activation::Sitecustomize => vec![file(
            SITECUSTOMIZE,
            render_loader(SITECUSTOMIZE_TEMPLATE, defaults).as_bytes(),
            Stage::Activation,
        )],
    }
}

/// The Python tuple literal for `names` (already valid names, so plain
/// single quotes are safe): `()`, `('a.b',)`, `('a', 'b')`.
pub fn python_tuple<S: AsRef<str>>(names: &[S]) -> String {
    let items: Vec<String> = names.iter().map(|n| format!("'{}'", n.as_ref())).collect();
    match items.as_slice() {
        [] => "()".to_owned(),
        [one] => format!("({one},)"),
        many => format!("({})", many.join(", ")),
    }
}

/// A module that loads the native module (`wrapt_bootstrap/__init__.py`,
/// `sitecustomize/__init__.py`) with its default groups and the native
/// module's size rendered.
fn render_loader(template: &str, defaults: &[String]) -> String {
    render_init(template, defaults)
        .expect("the template has one `_DEFAULT_GROUPS = ()` line (unit-tested)")
        .replacen(
            NATIVE_SIZE_TEMPLATE_LINE,
            &format!("\n_NATIVE_SIZE = {}\n", NATIVE_SO.len()),
            1,
        )
}

/// `__init__.py` with its `_DEFAULT_GROUPS = ()` line replaced; `None` unless
/// the template has exactly one such line.
pub fn render_init(template: &str, defaults: &[String]) -> Option<String> {
    if template
        .lines()
        .filter(|l| *l == DEFAULTS_TEMPLATE_LINE)
        .count()
        != 1
    {
        return None;
    }
    let mut out = String::with_capacity(template.len() + 64);
    for line in template.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        if body == DEFAULTS_TEMPLATE_LINE {
            out.push_str(DEFAULTS_PREFIX);
            out.push_str(&python_tuple(defaults));
            out.push_str(end);
        } else {
            out.push_str(line);
        }
    }
    Some(out)
}

/// Reads the default groups back from an installed `__init__.py`; `None`
/// when the line is missing, repeated or not a tuple of valid quoted names.
pub fn parse_defaults(init_py: &str) -> Option<BTreeSet<String>> {
    let mut lines = init_py
        .lines()
        .filter_map(|l| l.strip_prefix(DEFAULTS_PREFIX));
    let value = lines.next()?.trim();
    if lines.next().is_some() {
        return None;
    }
    let inner = value.strip_prefix('(')?.strip_suffix(')')?;
    let mut groups = BTreeSet::new();
    let mut items: Vec<&str> = inner.split(',').map(str::trim).collect();
    if items.last() == Some(&"") {
        items.pop();
    }
    for item in items {
        let name = item
            .strip_prefix('\'')
            .and_then(|s| s.strip_suffix('\''))
            .or_else(|| item.strip_prefix('"').and_then(|s| s.strip_suffix('"')))?;
        if !wrapt_common::names::is_valid_group_name(name) {
            return None;
        }
        groups.insert(name.to_owned());
    }
    Some(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sitecustomize_conflicts() {
        let purelib = Path::new("/v/lib/python3.12/site-packages");
        let with = |found: &[&str]| Interpreter {
            purelib: purelib.into(),
            sitecustomize: found.iter().map(PathBuf::from).collect(),
            ..Interpreter::example([3, 12, 1])
        };
        let conflict = |found: &[&str]| sitecustomize_conflict(&with(found), purelib);
        assert_eq!(conflict(&[]), None);
        assert_eq!(
            conflict(&["/v/lib/python3.12/site-packages/sitecustomize.py"]),
            None
        );
        assert_eq!(
            conflict(&["/v/lib/python3.12/site-packages/sitecustomize/__init__.py"]),
            None
        );
        assert_eq!(
            conflict(&["/usr/lib/python3.12/sitecustomize.py", "/v/lib/python3.12/site-packages/sitecustomize.py"]).unwrap(),
            "/usr/lib/python3.12/sitecustomize.py comes before /v/lib/python3.12/site-packages on sys.path, so Python imports it instead of ours"
        );
        // A user site-packages comes before site-packages: what the probe
        // found there is for ours to run, what is in the target itself is
        // looked at on disk.
        let user_site = tempfile::tempdir().unwrap();
        let info = with(&["/v/lib/python3.12/site-packages/sitecustomize.py"]);
        assert_eq!(sitecustomize_conflict(&info, user_site.path()), None);
        std::fs::write(user_site.path().join("sitecustomize.py"), "").unwrap();
        assert_eq!(sitecustomize_conflict(&info, user_site.path()), None);
        let compiled = user_site
            .path()
            .join("sitecustomize.cpython-312-x86_64-linux-gnu.so");
        std::fs::write(&compiled, "").unwrap();
        assert_eq!(
            sitecustomize_conflict(&info, user_site.path()).unwrap(),
            format!(
                "{} is not a sitecustomize.py, which is all a sitecustomize package can run in its place",
                compiled.canonicalize().unwrap().display()
            )
        );
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn template_has_exactly_one_defaults_line() {
        assert!(
            render_init(INIT_TEMPLATE, &[]).is_some(),
            "templates/wrapt_bootstrap/__init__.py must contain exactly one line `_DEFAULT_GROUPS = ()`"
        );
        assert_eq!(render_init(INIT_TEMPLATE, &[]).unwrap(), INIT_TEMPLATE);
        assert!(render_init("x = 1\n", &[]).is_none());
        assert!(render_init("_DEFAULT_GROUPS = ()\n_DEFAULT_GROUPS = ()\n", &[]).is_none());
    }

    #[test]
    fn sitecustomize_gets_the_default_groups() {
        let render = |defaults: &[&str]| {
            let plan = Plan::render(&set(defaults), Activation::Sitecustomize);
            assert!(plan.get(PTH).is_none() && plan.get(START).is_none());
            String::from_utf8(plan.get(SITECUSTOMIZE).unwrap().bytes.clone()).unwrap()
        };
        assert!(render(&[]).contains("\n_DEFAULT_GROUPS = ()\n"));
        assert!(render(&["a"]).contains("\n_DEFAULT_GROUPS = ('a',)\n"));
    }

    #[test]
    fn opentelemetrys_entry_point_names_a_function_of_ours() {
        let text = std::str::from_utf8(ENTRY_POINTS).unwrap();
        let sections = wrapt_common::entry_points::sections(text);
        let section = sections
            .iter()
            .find(|section| section.group == OPENTELEMETRY_GROUP)
            .expect("declared");
        let [entry] = section.entries.as_slice() else {
            panic!("one entry: {text}")
        };
        let (module, function) = entry.value.split_once(':').unwrap();
        assert_eq!(format!("{}.py", module.replace('.', "/")), HIDDEN);
        let source = std::str::from_utf8(HIDDEN_MODULE).unwrap();
        assert!(source.contains(&format!("\ndef {}():\n", function.trim())));
        // Not a patch group, whose entries are named after modules.
        assert!(!wrapt_common::names::is_dotted_module_name(entry.name));
    }

    #[test]
    fn native_size_is_rendered_into_both_loaders() {
        for (template, path, activation) in [
            (
                INIT_TEMPLATE,
                "wrapt_bootstrap/__init__.py",
                Activation::Pth,
            ),
            (
                SITECUSTOMIZE_TEMPLATE,
                SITECUSTOMIZE,
                Activation::Sitecustomize,
            ),
        ] {
            assert_eq!(template.matches(NATIVE_SIZE_TEMPLATE_LINE).count(), 1);
            let plan = Plan::render(&BTreeSet::new(), activation);
            let text = String::from_utf8(plan.get(path).expect("planned").bytes.clone()).unwrap();
            assert!(text.contains(&format!("\n_NATIVE_SIZE = {}\n", NATIVE_SO.len())));
        }
    }

    #[test]
    fn the_fallback_gets_the_native_skip_list_and_markers() {
        assert_eq!(FALLBACK_TEMPLATE.matches(SKIP_TEMPLATE_LINE).count(), 1);
        let plan = Plan::render(&BTreeSet::new(), Activation::Pth);
        let fallback = plan.get("wrapt_bootstrap/_fallback.py").expect("planned");
        let text = String::from_utf8(fallback.bytes.clone()).unwrap();
        assert!(text.contains("\n_DEFAULT_SKIP = ('pip', 'pipx', "));
        assert_eq!(text.matches("_DEFAULT_SKIP = (").count(), 1);
        assert_eq!(FALLBACK_TEMPLATE.matches(MARKERS_TEMPLATE_LINE).count(), 1);
        assert!(text.contains(
            "\n_TOOL_MARKERS = (('PIP_BUILD_TRACKER', 'pip'), ('PIP_REQ_TRACKER', 'pip'), ('"
        ));
        assert_eq!(text.matches("_TOOL_MARKERS = (").count(), 1);
    }

    #[test]
    fn the_fallback_gets_the_native_other_tools_groups() {
        assert_eq!(
            FALLBACK_TEMPLATE
                .matches(OTHER_TOOLS_TEMPLATE_LINES)
                .count(),
            1
        );
        let plan = Plan::render(&BTreeSet::new(), Activation::Pth);
        let fallback = plan.get("wrapt_bootstrap/_fallback.py").expect("planned");
        let text = String::from_utf8(fallback.bytes.clone()).unwrap();
        assert!(text.contains(
            "\n_OTHER_TOOLS_GROUPS = ('console_scripts', 'gui_scripts', 'egg_info.writers', 'pytest11')\n\
             _OTHER_TOOLS_PREFIXES = ('setuptools.', 'distutils.', 'flake8.')\n"
        ));
    }

    #[test]
    fn the_fallback_reads_what_the_native_scan_reads() {
        assert_eq!(wrapt_common::scan::MAX_FILE_SIZE, 64 << 20);
        assert_eq!(wrapt_common::scan::TOO_LARGE, "larger than 64 MiB");
        assert_eq!(
            FALLBACK_TEMPLATE
                .matches("\n_MAX_FILE_SIZE = 64 << 20\n")
                .count(),
            1
        );
        assert_eq!(
            FALLBACK_TEMPLATE
                .matches("problems.append(\"%s: larger than 64 MiB\" % (source,))")
                .count(),
            1
        );
    }

    #[test]
    fn defaults_line_rendering() {
        assert_eq!(python_tuple::<String>(&[]), "()");
        assert_eq!(python_tuple(&["a.b"]), "('a.b',)");
        assert_eq!(python_tuple(&["a", "b"]), "('a', 'b')");
        let rendered =
            render_init("x\n_DEFAULT_GROUPS = ()\ny", &["a".into(), "b-c".into()]).unwrap();
        assert_eq!(rendered, "x\n_DEFAULT_GROUPS = ('a', 'b-c')\ny");
    }

    #[test]
    fn defaults_line_round_trip() {
        for groups in [set(&[]), set(&["a.b"]), set(&["a", "b", "c_d-e.f"])] {
            let list: Vec<String> = groups.iter().cloned().collect();
            let text = render_init(INIT_TEMPLATE, &list).unwrap();
            assert_eq!(parse_defaults(&text), Some(groups));
        }
    }

    #[test]
    fn defaults_line_parsing() {
        assert_eq!(
            parse_defaults("_DEFAULT_GROUPS = (\"x\", 'y',)\n"),
            Some(set(&["x", "y"]))
        );
        assert_eq!(parse_defaults("_DEFAULT_GROUPS = ( )\n"), Some(set(&[])));
        assert_eq!(parse_defaults("nothing here\n"), None);
        assert_eq!(parse_defaults("_DEFAULT_GROUPS = ('a b',)\n"), None);
        assert_eq!(parse_defaults("_DEFAULT_GROUPS = ('a'\n"), None);
        assert_eq!(parse_defaults("_DEFAULT_GROUPS = (a,)\n"), None);
        assert_eq!(
            parse_defaults("_DEFAULT_GROUPS = ()\n_DEFAULT_GROUPS = ()\n"),
            None
        );
    }

    #[test]
    fn plan_order_and_record() {
        let plan = Plan::render(&set(&[]), Activation::Pth);
        let paths: Vec<&str> = plan.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "wrapt_bootstrap/__init__.py",
                "wrapt_bootstrap/_api.py",
                "wrapt_bootstrap/_deferred.py",
                "wrapt_bootstrap/_explain.py",
                "wrapt_bootstrap/_fallback.py",
                "wrapt_bootstrap/_hidden.py",
                "wrapt_bootstrap/examples.py",
                "wrapt_bootstrap/_native.abi3.so",
                "wrapt_bootstrap-0.1.0.dist-info/METADATA",
                "wrapt_bootstrap-0.1.0.dist-info/INSTALLER",
                "wrapt_bootstrap-0.1.0.dist-info/entry_points.txt",
                "wrapt_bootstrap-0.1.0.dist-info/RECORD",
                "00_wrapt_bootstrap.pth",
            ]
        );
        let record = record::read(
            std::path::Path::new(plan.record_path()),
            &plan.get(plan.record_path()).unwrap().bytes,
        )
        .unwrap();
        assert_eq!(record.len(), plan.files.len());
        for entry in &record {
            let file = plan.get(&entry.path).unwrap();
            if file.stage == Stage::Record {
                assert_eq!(entry.hash, None);
            } else {
                assert!(entry.matches(&file.bytes), "{}", entry.path);
            }
        }
        assert_eq!(plan.get(PTH).unwrap().bytes, PTH_WHEN_SET);
        assert_eq!(
            Plan::render(&set(&["a"]), Activation::Pth)
                .get(PTH)
                .unwrap()
                .bytes,
            PTH_ALWAYS
        );
        let metadata = String::from_utf8(
            plan.get(&format!("{}/METADATA", dist_info_dir()))
                .unwrap()
                .bytes
                .clone(),
        )
        .unwrap();
        assert!(metadata.contains("Version: 0.1.0\n"), "{metadata}");
        assert!(!metadata.contains("@VERSION@"));
    }

    #[test]
    fn start_plan_writes_the_entry_points_package_then_the_start_file() {
        let plan = Plan::render(&set(&[]), Activation::Start);
        let paths: Vec<&str> = plan.files.iter().map(|f| f.path.as_str()).collect();
        let package_files = paths
            .iter()
            .filter(|p| p.starts_with("wrapt_bootstrap/"))
            .count();
        assert_eq!(paths[package_files], START_PACKAGE, "{paths:?}");
        assert_eq!(paths.last(), Some(&START), "{paths:?}");
        assert!(plan.get(PTH).is_none() && plan.get(SITECUSTOMIZE).is_none());
        assert_eq!(
            plan.activation_line(),
            Some("_wrapt_bootstrap_start:activate_when_set".to_owned())
        );
        let with_defaults = Plan::render(&set(&["a"]), Activation::Start);
        assert_eq!(with_defaults.get(START).unwrap().bytes, START_ALWAYS);
        // Both names exist in the module the .start names.
        let module = std::str::from_utf8(START_MODULE).unwrap();
        for start in [START_WHEN_SET, START_ALWAYS] {
            let line = std::str::from_utf8(start).unwrap().trim_end();
            let (package, function) = line.split_once(':').unwrap();
            assert_eq!(format!("{package}/__init__.py"), START_PACKAGE);
            assert!(module.contains(&format!("\ndef {function}():\n")), "{line}");
        }
        assert!(is_in_a_package("_wrapt_bootstrap_start/__init__.py"));
        assert!(is_in_a_package("wrapt_bootstrap/__pycache__/x.pyc"));
        assert!(!is_in_a_package("wrapt_bootstrap-0.1.0.dist-info/RECORD"));
        assert!(!is_in_a_package("_wrapt_bootstrap_startx/__init__.py"));
    }

    #[test]
    fn the_activation_follows_the_interpreter() {
        use Activation::{Pth, Sitecustomize, Start};
        let v = |minor| [3, minor, 0];
        assert_eq!(Activation::default_for(v(9)), Pth);
        assert_eq!(Activation::default_for(v(15)), Pth);
        assert_eq!(Activation::default_for(v(17)), Pth);
        assert_eq!(Activation::default_for(v(18)), Start);
        assert!(Pth.ignored_by(v(17)).is_none() && Pth.ignored_by(v(18)).is_some());
        assert!(Start.ignored_by(v(14)).is_some() && Start.ignored_by(v(15)).is_none());
        assert!(
            Sitecustomize.ignored_by(v(9)).is_none() && Sitecustomize.ignored_by(v(20)).is_none()
        );
        // Asked for: as asked, or refused where it would never run.
        assert_eq!(Activation::choose(Some(Start), Some(Pth), v(15)), Ok(Start));
        assert!(Activation::choose(Some(Pth), None, v(18)).is_err());
        assert!(Activation::choose(Some(Start), None, v(14)).is_err());
        // Not asked: kept while it runs, else this interpreter's default.
        assert_eq!(Activation::choose(None, None, v(12)), Ok(Pth));
        assert_eq!(Activation::choose(None, None, v(18)), Ok(Start));
        assert_eq!(Activation::choose(None, Some(Start), v(15)), Ok(Start));
        assert_eq!(
            Activation::choose(None, Some(Sitecustomize), v(18)),
            Ok(Sitecustomize)
        );
        assert_eq!(Activation::choose(None, Some(Pth), v(18)), Ok(Start));
        assert_eq!(Activation::choose(None, Some(Start), v(13)), Ok(Pth));
    }

    #[test]
    fn bytecode_is_listed_in_record_and_known_as_ours() {
        let mut plan = Plan::render(&set(&[]), Activation::Pth);
        let sources: Vec<&str> = plan.python_sources().iter().map(|(p, _)| *p).collect();
        assert_eq!(
            sources,
            [
                "wrapt_bootstrap/__init__.py",
                "wrapt_bootstrap/_api.py",
                "wrapt_bootstrap/_deferred.py",
                "wrapt_bootstrap/_explain.py",
                "wrapt_bootstrap/_fallback.py",
                "wrapt_bootstrap/_hidden.py",
                "wrapt_bootstrap/examples.py",
            ]
        );
        let pyc = "wrapt_bootstrap/__pycache__/_api.cpython-313.pyc";
        plan.add_bytecode(vec![(pyc.to_owned(), b"bytecode".to_vec())]);
        let record = record::read(
            std::path::Path::new(plan.record_path()),
            &plan.get(plan.record_path()).unwrap().bytes,
        )
        .unwrap();
        assert_eq!(record.len(), plan.files.len());
        assert!(record
            .iter()
            .any(|e| e.path == pyc && e.hash.is_none() && e.size.is_none()));
        assert_eq!(
            plan.files.last().unwrap().path,
            PTH,
            "activation still last"
        );
        assert!(plan.is_bytecode_of_ours(pyc));
        assert!(
            plan.is_bytecode_of_ours("wrapt_bootstrap/__pycache__/examples.cpython-39.opt-1.pyc")
        );
        assert!(!plan.is_bytecode_of_ours("wrapt_bootstrap/__pycache__/other.cpython-313.pyc"));
        assert!(!plan.is_bytecode_of_ours("wrapt_bootstrap/__pycache__/_api.py"));
        assert!(!plan.is_bytecode_of_ours("other/__pycache__/_api.cpython-313.pyc"));
    }

    #[test]
    fn dist_info_names() {
        assert!(is_our_dist_info("wrapt_bootstrap-0.1.0.dist-info"));
        assert!(is_our_dist_info("wrapt_bootstrap-0.0.9.dist-info"));
        assert!(!is_our_dist_info("wrapt_bootstrap-.dist-info"));
        assert!(!is_our_dist_info("wrapt_bootstrap_extra-0.1.0.dist-info"));
        assert!(!is_our_dist_info("wrapt-1.16.0.dist-info"));
    }
}
