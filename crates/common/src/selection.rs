//! What the environment selects at interpreter startup: the list grammar of
//! `WRAPT_PATCHES` / `WRAPT_PATCHES_SKIP`, `AUTOWRAPT_BOOTSTRAP`, the tool a
//! process belongs to and the on/off flags, for the native module. Its Python
//! twin is in `templates/wrapt_bootstrap/_fallback.py` (`_edit`, `select`,
//! `tool`) and `__init__.py` (`_flag`): both must decide alike,
//! whichever implementation serves, and the integration tests run the same
//! table against both.

use crate::names::is_valid_group_name;
use crate::pystr;

/// The programs left alone even when groups are enabled: packaging and
/// environment tools, which a patch could break, and which run wherever
/// `WRAPT_PATCHES` is exported. wrapt-install renders it into the fallback's
/// `_DEFAULT_SKIP`, so there is one list.
pub const DEFAULT_SKIP: &[&str] = &[
    "pip",
    "pipx",
    "virtualenv",
    "venv",
    "ensurepip",
    "uv",
    "poetry",
    "pdm",
    "hatch",
    "flit",
    "build",
    // The PEP 517 hook runner of pip, build and poetry.
    "pyproject_hooks",
    "twine",
    "wheel",
    "pip-compile",
    "pip-sync",
    "conda",
    "mamba",
    "tox",
    "nox",
    "pre-commit",
];

/// Entry-point groups of other tools, never patch groups: their entries
/// often have exactly the shape of hooks (`pip = pip._internal.cli.main:main`
/// in `console_scripts`) but mean something else, so that selecting one
/// would call a program's `main` as a hook. `wrapt-install --list` never
/// lists them, `--enable` refuses them, and at startup (and in
/// `discover_post_import_hooks`) they are ignored with a warning.
/// wrapt-install renders both lists into the fallback's
/// `_OTHER_TOOLS_GROUPS` and `_OTHER_TOOLS_PREFIXES`, so there is one rule.
pub const OTHER_TOOLS_GROUPS: &[&str] = &[
    "console_scripts",
    "gui_scripts",
    "egg_info.writers",
    "pytest11",
];

/// Whole families of other tools' groups: setuptools' and distutils'
/// extension points (`distutils.commands`, `setuptools.installation`, ...),
/// flake8's plugins.
pub const OTHER_TOOLS_PREFIXES: &[&str] = &["setuptools.", "distutils.", "flake8."];

/// Whether `group` is one of the groups of other tools
/// ([`OTHER_TOOLS_GROUPS`], [`OTHER_TOOLS_PREFIXES`]).
pub fn is_other_tools_group(group: &str) -> bool {
    OTHER_TOOLS_GROUPS.contains(&group)
        || OTHER_TOOLS_PREFIXES
            .iter()
            .any(|prefix| group.starts_with(prefix))
}

/// The list grammar shared by `WRAPT_PATCHES` and `WRAPT_PATCHES_SKIP`
/// (port of `_edit`): `None` -> the defaults; empty, only commas and spaces,
/// or a single `0`, `off` or `none` (any case) -> `None` (nothing, said
/// outright); a list with a plain name -> exactly the listed names; a list of
/// only `+name` / `-name` items -> the defaults edited. Invalid items (an
/// empty name after the sign, or a character outside `[A-Za-z0-9_.-]`) are
/// pushed to `invalid` whole, sign included.
pub fn edit(
    value: Option<&str>,
    defaults: &[&str],
    invalid: &mut Vec<String>,
) -> Option<Vec<String>> {
    let Some(value) = value else {
        return Some(defaults.iter().map(|name| (*name).to_owned()).collect());
    };
    // Walked twice rather than collected: this runs at every start.
    let items = value
        .split(',')
        .map(pystr::strip)
        .filter(|item| !item.is_empty());
    let mut probe = items.clone();
    match (probe.next(), probe.next()) {
        (None, _) => return None,
        (Some(one), None) if ["0", "off", "none"].iter().any(|w| lower_is(one, w)) => {
            return None;
        }
        _ => {}
    }
    let mut names: Vec<String> = if items.clone().all(|item| item.starts_with(['+', '-'])) {
        defaults.iter().map(|name| (*name).to_owned()).collect()
    } else {
        Vec::new()
    };
    for item in items {
        let (remove, name) = match item.strip_prefix(['+', '-']) {
            Some(rest) => (item.starts_with('-'), pystr::strip(rest)),
            None => (false, item),
        };
        if !is_valid_group_name(name) {
            invalid.push(item.to_owned());
        } else if remove {
            names.retain(|other| other != name);
        } else if !names.iter().any(|other| other == name) {
            names.push(name.to_owned());
        }
    }
    Some(names)
}

/// What `WRAPT_PATCHES` and `AUTOWRAPT_BOOTSTRAP` select (the fallback's `select`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selection {
    /// The groups `WRAPT_PATCHES` selects (the defaults when it is unset).
    pub groups: Vec<String>,
    /// The groups `AUTOWRAPT_BOOTSTRAP` names, each once, in order.
    pub autowrapt_groups: Vec<String>,
    /// The items ignored as invalid, in the order met.
    pub invalid: Vec<String>,
    /// The groups of other tools ([`is_other_tools_group`]) ignored, each
    /// once, in the order met; neither list above holds them.
    pub other_tools: Vec<String>,
}

/// Port of `_select`: `WRAPT_PATCHES` edits `defaults`, and
/// `AUTOWRAPT_BOOTSTRAP` is a plain comma-separated list of names. The kill
/// switch silences `AUTOWRAPT_BOOTSTRAP` too (both lists empty, the invalid
/// items kept). Other tools' groups are taken out of both lists, whichever
/// named them (a default, too, from an install older than that rule).
pub fn select(
    wrapt_patches: Option<&str>,
    autowrapt_bootstrap: Option<&str>,
    defaults: &[&str],
) -> Selection {
    let mut invalid = Vec::new();
    let Some(mut groups) = edit(wrapt_patches, defaults, &mut invalid) else {
        return Selection {
            invalid,
            ..Selection::default()
        };
    };
    let mut autowrapt_groups: Vec<String> = Vec::new();
    for name in autowrapt_bootstrap
        .unwrap_or("")
        .split(',')
        .map(pystr::strip)
    {
        if name.is_empty() {
            continue;
        }
        if !is_valid_group_name(name) {
            invalid.push(name.to_owned());
        } else if !autowrapt_groups.iter().any(|other| other == name) {
            autowrapt_groups.push(name.to_owned());
        }
    }
    let mut other_tools: Vec<String> = Vec::new();
    for list in [&mut groups, &mut autowrapt_groups] {
        list.retain(|group| {
            let other = is_other_tools_group(group);
            if other && !other_tools.contains(group) {
                other_tools.push(group.clone());
            }
            !other
        });
    }
    Selection {
        groups,
        autowrapt_groups,
        invalid,
        other_tools,
    }
}

/// The group of the example every installation declares
/// (`templates/entry_points.txt`): always a candidate for "did you mean",
/// since an install provides it.
pub const EXAMPLE_GROUP: &str = "wrapt_bootstrap.examples";

/// Why [`select`] chose `selection` (or nothing), in the line
/// `WRAPT_PATCHES_DEBUG` prints (`explain` in the fallback's `_explain.py`): `selected a, c: the
/// default groups a, b edited by WRAPT_PATCHES='+c,-b'`, `nothing selected:
/// WRAPT_PATCHES='0' is the kill switch (AUTOWRAPT_BOOTSTRAP is ignored
/// too)`. `quote` quotes a variable's value as Python's `repr` does, so
/// that both implementations print the same bytes. The warnings about
/// invalid names and other tools' groups come before it and say what else
/// was dropped.
pub fn explain(
    wrapt_patches: Option<&str>,
    autowrapt_bootstrap: Option<&str>,
    defaults: &[&str],
    selection: &Selection,
    quote: impl Fn(&str) -> String,
) -> String {
    if let Some(value) =
        wrapt_patches.filter(|value| edit(Some(value), &[], &mut Vec::new()).is_none())
    {
        return format!(
            "nothing selected: WRAPT_PATCHES={} is the kill switch (AUTOWRAPT_BOOTSTRAP is ignored too)",
            quote(value)
        );
    }
    let listed = if defaults.is_empty() {
        "(none)".to_owned()
    } else {
        defaults.join(", ")
    };
    let why = match wrapt_patches {
        None if defaults.is_empty() => {
            "WRAPT_PATCHES is unset and there are no default groups".to_owned()
        }
        None => format!("the default groups {listed} (WRAPT_PATCHES is unset)"),
        Some(value) if only_edits(value) => format!(
            "the default groups {listed} edited by WRAPT_PATCHES={}",
            quote(value)
        ),
        Some(value) => format!("WRAPT_PATCHES={}", quote(value)),
    };
    let autowrapt = match autowrapt_bootstrap {
        None => String::new(),
        Some(value) if selection.autowrapt_groups.is_empty() => {
            format!("; AUTOWRAPT_BOOTSTRAP={} names none", quote(value))
        }
        Some(value) => format!(
            "; AUTOWRAPT_BOOTSTRAP={} adds {}",
            quote(value),
            selection.autowrapt_groups.join(", ")
        ),
    };
    if selection.groups.is_empty() && selection.autowrapt_groups.is_empty() {
        format!("nothing selected: {why}{autowrapt}")
    } else if selection.groups.is_empty() {
        format!("selected (none): {why}{autowrapt}")
    } else {
        format!("selected {}: {why}{autowrapt}", selection.groups.join(", "))
    }
}

/// Whether a list (not the kill switch) holds only `+name` / `-name`
/// items, and so edits the defaults (see [`edit`]).
fn only_edits(value: &str) -> bool {
    value
        .split(',')
        .map(pystr::strip)
        .filter(|item| !item.is_empty())
        .all(|item| item.starts_with(['+', '-']))
}

/// Environment variables that packaging tools set only for the processes
/// they start, each with the name on the skip list it stands for, in the
/// order they are looked up. wrapt-install renders it into the fallback's
/// `_TOOL_MARKERS`, so there is one table.
pub const TOOL_MARKERS: &[(&str, &str)] = &[
    // pip sets it for everything it starts while it installs: the
    // build-dependency installer, the PEP 517 hooks and what they start
    // (pip 22.1 on; PIP_REQ_TRACKER before).
    ("PIP_BUILD_TRACKER", "pip"),
    ("PIP_REQ_TRACKER", "pip"),
    // pyproject_hooks' hook runner (pip's, build's, poetry's) is told its
    // backend in this variable (pyproject_hooks 1.1 on; before, and in
    // pep517, the second one).
    ("_PYPROJECT_HOOKS_BUILD_BACKEND", "pyproject_hooks"),
    ("PEP517_BUILD_BACKEND", "pyproject_hooks"),
    // uv runs its PEP 517 hooks as `python -c SCRIPT` with this set
    // (uv 0.11.22 on).
    ("UV_INTERNAL__BUILD_DIR", "uv"),
];

/// The name on `skip` that makes a process a tool process, if one does
/// (port of `tool`), from how the process runs: `argv` is its command line
/// as `sys.orig_argv` has it (`argv[0]` the interpreter), `prefix` is
/// `sys.prefix` and `is_set` says whether an environment variable is set.
/// A name counts only as:
/// - the top-level package of `-m`;
/// - for a script inside a `site-packages` or `dist-packages` directory (a
///   tool's runner, such as pip's `__pip-runner__.py`), the first path
///   component after the last such directory;
/// - for a console script, its file name less a version suffix (`pip3.12`
///   is `pip`): a script in `prefix/bin`, or one whose `#!` line names
///   `argv[0]`, the interpreter the kernel started for it;
/// - the name of a set variable of [`TOOL_MARKERS`], whatever runs.
///
/// No other script counts by its name: a project's own `build.py` is no
/// tool. A relative script path is taken from the current directory.
pub fn tool<S: AsRef<str>>(
    argv: &[S],
    prefix: &str,
    is_set: impl Fn(&str) -> bool,
    skip: &[String],
) -> Option<String> {
    let listed = |name: &str| skip.iter().any(|other| other == name);
    let from_command_line = match command(argv) {
        Some(Command::Module(name)) => listed(name).then_some(name),
        Some(Command::Script(path)) => {
            let interpreter = argv.first().map_or("", AsRef::as_ref);
            script_tool(path, interpreter, prefix, listed)
        }
        None => None,
    };
    from_command_line
        .or_else(|| {
            TOOL_MARKERS
                .iter()
                .find(|(variable, name)| listed(name) && is_set(variable))
                .map(|(_, name)| *name)
        })
        .map(str::to_owned)
}

/// What a command line runs.
enum Command<'a> {
    /// The top-level package of `-m`.
    Module(&'a str),
    /// The script's path as given.
    Script(&'a str),
}

/// What `argv` runs; `None` for `-c`, `-`, stdin and the prompt, or `-m`
/// with no package.
fn command<S: AsRef<str>>(argv: &[S]) -> Option<Command<'_>> {
    let mut args = argv.iter().skip(1).map(AsRef::as_ref);
    while let Some(arg) = args.next() {
        if matches!(arg, "-X" | "-W" | "--check-hash-based-pycs") {
            args.next();
        } else if arg == "-" {
            return None;
        } else if !arg.starts_with('-') {
            return Some(Command::Script(arg));
        } else if !arg.starts_with("--") {
            // A cluster of one-letter options: -c, -m, -X and -W take the
            // rest of it, or the next argument.
            for (at, letter) in arg.char_indices().skip(1) {
                if matches!(letter, 'c' | 'm' | 'X' | 'W') {
                    let rest = &arg[at + letter.len_utf8()..];
                    let value = if rest.is_empty() {
                        args.next().unwrap_or("")
                    } else {
                        rest
                    };
                    match letter {
                        // split yields at least one piece, even of "".
                        'm' => {
                            let package = value.split('.').next().unwrap_or(value);
                            return (!package.is_empty()).then_some(Command::Module(package));
                        }
                        'c' => return None,
                        _ => break,
                    }
                }
            }
        }
    }
    None
}

/// The listed name a script runs as, if any (see [`tool`]).
fn script_tool<'a>(
    path: &'a str,
    interpreter: &str,
    prefix: &str,
    listed: impl Fn(&str) -> bool,
) -> Option<&'a str> {
    // From the end, so that the last such directory counts.
    let mut next: Option<&str> = None;
    for part in path.rsplit('/') {
        if matches!(part, "site-packages" | "dist-packages") {
            if let Some(package) = next.filter(|package| listed(package)) {
                return Some(package);
            }
            break;
        }
        next = Some(part);
    }
    // rsplit yields at least one piece, even of "".
    let file = path.rsplit('/').next().unwrap_or(path);
    let name = file.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    (!name.is_empty()
        && listed(name)
        && (in_scripts_dir(path, prefix) || started_by_shebang(path, interpreter)))
    .then_some(name)
}

/// Whether `path` is a file directly in `prefix/bin`, compared as
/// normalized absolute paths (no links resolved).
fn in_scripts_dir(path: &str, prefix: &str) -> bool {
    let mut absolute = String::new();
    if !path.starts_with('/') {
        let Ok(cwd) = std::env::current_dir() else {
            return false;
        };
        absolute.push_str(&cwd.to_string_lossy());
        absolute.push('/');
    }
    absolute.push_str(path);
    let mut dir = normalized(&absolute);
    dir.pop();
    let mut scripts = normalized(prefix);
    scripts.push("bin");
    dir == scripts
}

/// The components of `path` with `.`, empty ones and `..` (with the one
/// before it) taken out.
fn normalized(path: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    parts
}

/// Whether the script's `#!` line names `interpreter`: then the kernel ran
/// it as a console script of this interpreter, as installers write them.
/// Linux reads at most 256 bytes of that line.
fn started_by_shebang(path: &str, interpreter: &str) -> bool {
    use std::io::Read;
    if interpreter.is_empty() {
        return false;
    }
    let mut head = Vec::with_capacity(256);
    let read = std::fs::File::open(path).and_then(|file| file.take(256).read_to_end(&mut head));
    if read.is_err() {
        return false;
    }
    let line = head.split(|&byte| byte == b'\n').next().unwrap_or(&head);
    let Some(rest) = line.strip_prefix(b"#!") else {
        return false;
    };
    // The kernel skips spaces and tabs before the interpreter.
    let start = rest
        .iter()
        .position(|byte| !matches!(byte, b' ' | b'\t'))
        .unwrap_or(rest.len());
    rest[start..]
        .strip_prefix(interpreter.as_bytes())
        .is_some_and(|after| matches!(after.first(), None | Some(b' ' | b'\t' | b'\r')))
}

/// Whether an on/off environment value is on (port of `_flag`'s test):
/// unset, empty, `0`, `false`, `no` and `off` (any case) are off.
pub fn flag(value: Option<&str>) -> bool {
    value.is_some_and(|value| {
        let value = pystr::strip(value);
        !["", "0", "false", "no", "off"]
            .iter()
            .any(|word| lower_is(value, word))
    })
}

/// `text.lower() == word` for an ASCII lowercase `word`, without allocating:
/// the only non-ASCII characters whose lowercase holds ASCII are U+0130 (to
/// `i` and a combining dot, never a whole word) and the Kelvin sign (to `k`),
/// and no word asked about has a `k`.
fn lower_is(text: &str, word: &str) -> bool {
    debug_assert!(!word.contains('k'));
    text.eq_ignore_ascii_case(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edited(value: Option<&str>, defaults: &[&str]) -> (Option<Vec<String>>, Vec<String>) {
        let mut invalid = Vec::new();
        let names = edit(value, defaults, &mut invalid);
        (names, invalid)
    }

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn unset_is_the_defaults() {
        assert_eq!(
            edited(None, &["a", "b"]),
            (Some(strings(&["a", "b"])), vec![])
        );
        assert_eq!(edited(None, &[]), (Some(vec![]), vec![]));
    }

    #[test]
    fn kill_values_select_nothing() {
        for kill in ["", " , ,", " ", "0", "OFF", "None", " off ", ",none,"] {
            assert_eq!(edited(Some(kill), &["a"]), (None, vec![]), "{kill:?}");
        }
        // Only alone: in a list they are names, and "false" is not one.
        assert_eq!(
            edited(Some("0,off"), &["a"]).0,
            Some(strings(&["0", "off"]))
        );
        assert_eq!(edited(Some("false"), &["a"]).0, Some(strings(&["false"])));
    }

    #[test]
    fn plain_names_are_exact() {
        assert_eq!(edited(Some("a,b"), &["z"]).0, Some(strings(&["a", "b"])));
        assert_eq!(edited(Some(" b , a "), &[]).0, Some(strings(&["b", "a"])));
    }

    #[test]
    fn signed_items_edit_the_defaults() {
        assert_eq!(
            edited(Some("+c,-a"), &["a", "b"]).0,
            Some(strings(&["b", "c"]))
        );
        // Adding a default again keeps its place; "- a" is "-a".
        assert_eq!(edited(Some("+a,- b"), &["a", "b"]).0, Some(strings(&["a"])));
        assert_eq!(
            edited(Some("-a,+a"), &["a", "b"]).0,
            Some(strings(&["b", "a"]))
        );
    }

    #[test]
    fn one_plain_name_makes_signs_plain_list_edits() {
        assert_eq!(edited(Some("x,+y"), &["a"]).0, Some(strings(&["x", "y"])));
        assert_eq!(edited(Some("-x,x,y,-y"), &["a"]).0, Some(strings(&["x"])));
    }

    #[test]
    fn duplicates_collapse() {
        assert_eq!(edited(Some("a,b,a,+b"), &[]).0, Some(strings(&["a", "b"])));
        assert_eq!(edited(Some("+b,+b"), &["b"]).0, Some(strings(&["b"])));
    }

    #[test]
    fn invalid_items_are_reported_whole() {
        // What the Python _edit returns for the same call.
        assert_eq!(
            edited(Some("a b,+,-, x;y ,grüppe,+ c,-d!,ok"), &["z"]),
            (
                Some(strings(&["c", "ok"])),
                strings(&["a b", "+", "-", "x;y", "grüppe", "-d!"])
            )
        );
        // Only invalid items still make a list of names: an empty one.
        assert_eq!(
            edited(Some("+"), &["z"]),
            (Some(strings(&["z"])), strings(&["+"]))
        );
        assert_eq!(
            edited(Some("x;y"), &["z"]),
            (Some(vec![]), strings(&["x;y"]))
        );
    }

    #[test]
    fn edits_strip_pythons_white_space() {
        assert_eq!(
            edited(Some("\u{1f}a\u{3000},\u{85}+b"), &[]).0,
            Some(strings(&["a", "b"]))
        );
    }

    #[test]
    fn select_reads_autowrapt_bootstrap() {
        assert_eq!(
            select(None, Some(" x, y,,x ,a b,+z"), &["d"]),
            Selection {
                groups: strings(&["d"]),
                autowrapt_groups: strings(&["x", "y"]),
                invalid: strings(&["a b", "+z"]),
                other_tools: vec![],
            }
        );
        // WRAPT_PATCHES's invalid items come first.
        assert_eq!(
            select(Some("g,g;"), Some("x;"), &["d"]),
            Selection {
                groups: strings(&["g"]),
                autowrapt_groups: vec![],
                invalid: strings(&["g;", "x;"]),
                other_tools: vec![],
            }
        );
    }

    #[test]
    fn kill_switch_silences_autowrapt_bootstrap() {
        assert_eq!(
            select(Some("off"), Some("x,y;"), &["d"]),
            Selection::default()
        );
        // An empty list of names is no kill switch.
        assert_eq!(
            select(Some("a b"), Some("x"), &["d"]),
            Selection {
                groups: vec![],
                autowrapt_groups: strings(&["x"]),
                invalid: strings(&["a b"]),
                other_tools: vec![],
            }
        );
    }

    #[test]
    fn other_tools_groups_by_name_and_prefix() {
        for group in [
            "console_scripts",
            "gui_scripts",
            "egg_info.writers",
            "pytest11",
            "distutils.commands",
            "distutils.setup_keywords",
            "setuptools.finalize_distribution_options",
            "setuptools.installation",
            "setuptools.anything_new",
            "flake8.extension",
            "flake8.report",
        ] {
            assert!(is_other_tools_group(group), "{group}");
        }
        for group in [
            "acme.patches",
            "wrapt_bootstrap.examples",
            "console_scripts_patches",
            "Console_Scripts",
            "pytest",
            "setuptools",
            "my.setuptools.patches",
            "flake8",
        ] {
            assert!(!is_other_tools_group(group), "{group}");
        }
    }

    #[test]
    fn select_ignores_other_tools_groups_wherever_named() {
        assert_eq!(
            select(
                Some("+console_scripts,+ok,+setuptools.x"),
                Some("pytest11,console_scripts,b"),
                &["a", "gui_scripts"]
            ),
            Selection {
                groups: strings(&["a", "ok"]),
                autowrapt_groups: strings(&["b"]),
                invalid: vec![],
                other_tools: strings(&[
                    "gui_scripts",
                    "console_scripts",
                    "setuptools.x",
                    "pytest11"
                ]),
            }
        );
        // Removing one is no selection of it; the kill switch selects none.
        assert_eq!(
            select(Some("-console_scripts"), None, &["a"]),
            Selection {
                groups: strings(&["a"]),
                ..Selection::default()
            }
        );
        assert_eq!(
            select(Some("off"), Some("console_scripts"), &["gui_scripts"]),
            Selection::default()
        );
    }

    /// What `tool` says of `command` (split at spaces) in an environment at
    /// `/venv` where no variable is set.
    fn tool_of(command: &str, skip: &[&str]) -> Option<String> {
        let argv: Vec<&str> = command.split(' ').collect();
        tool(&argv, "/venv", |_| false, &strings(skip))
    }

    #[test]
    fn the_command_line_names_the_module_or_script() {
        let skip = &["pip", "venv", "tox", "x", "a", "tool", "pipx"];
        for (command, expected) in [
            ("python -c pass", None),
            ("python -c", None),
            ("python -m pip install x", Some("pip")),
            ("python -mpip", Some("pip")),
            ("python -bbm pip.__main__", Some("pip")),
            ("python -X importtime -m venv", Some("venv")),
            ("python -Ximporttime -m venv", Some("venv")),
            ("python -W ignore /venv/bin/x", Some("x")),
            ("python -Wignore -m tox", Some("tox")),
            (
                "python --check-hash-based-pycs always /venv/bin/x",
                Some("x"),
            ),
            ("python /venv/bin/pip3.12", Some("pip")),
            ("python -E -s /venv/bin/tool3", Some("tool")),
            ("python -", None),
            ("python", None),
            ("python -i", None),
            ("python -m .x", None),
            ("python /venv/bin/3.12", None),
            ("python -- /venv/bin/a", Some("a")),
            ("python -bc -m x", None),
            ("python -m pipx", Some("pipx")),
            ("python -m mypip", None),
        ] {
            assert_eq!(tool_of(command, skip).as_deref(), expected, "{command}");
        }
        assert_eq!(tool::<&str>(&[], "/venv", |_| false, &strings(skip)), None);
        assert_eq!(
            tool(&["python", "", "x.py"], "/venv", |_| false, &strings(skip)),
            None
        );
    }

    #[test]
    fn scripts_count_only_where_tools_are_installed() {
        let skip = &["pip", "build", "uv", "pyproject_hooks"];
        for (command, expected) in [
            // Runners inside an installed package, named by the package.
            (
                "python /venv/lib/python3.12/site-packages/pip/__pip-runner__.py install",
                Some("pip"),
            ),
            (
                "python /venv/lib/python3.12/site-packages/pip/_vendor/pyproject_hooks/_in_process/_in_process.py build_wheel /tmp/x",
                Some("pip"),
            ),
            (
                "python /usr/lib/python3/dist-packages/pyproject_hooks/_in_process/_in_process.py",
                Some("pyproject_hooks"),
            ),
            // The old pip ran its package directory.
            ("python /venv/lib/python3.8/site-packages/pip install", Some("pip")),
            // The last such directory is the installation.
            ("python /x/site-packages/pip/site-packages/app/run.py", None),
            ("python /venv/lib/python3.12/site-packages/myapp/pip.py", None),
            ("python /venv/lib/python3.12/site-packages/uv.py", None),
            ("python /venv/lib/python3.12/site-packages", None),
            // Console scripts in the environment's scripts directory.
            ("python /venv/bin/build", Some("build")),
            ("python /venv/./bin//uv", Some("uv")),
            ("python /venv/lib/../bin/pip3", Some("pip")),
            ("python /other/bin/pip", None),
            ("python /venv/bin/sub/pip", None),
            ("python /venv/pip", None),
            // A project's own scripts, wherever they are.
            ("python build.py", None),
            ("python /home/me/project/build.py", None),
            ("python /venv/bin/build.py", None),
            ("python /home/me/project/uv", None),
            ("python -m uvicorn", None),
        ] {
            assert_eq!(tool_of(command, skip).as_deref(), expected, "{command}");
        }
        // A relative script is taken from the current directory.
        let cwd = std::env::current_dir().unwrap();
        let prefix = format!("{}/venv", cwd.display());
        let skip = strings(skip);
        for (path, expected) in [("venv/bin/pip", Some("pip")), ("./bin/pip", None)] {
            let found = tool(&["python", path], &prefix, |_| false, &skip);
            assert_eq!(found.as_deref(), expected, "{path}");
        }
    }

    #[test]
    fn only_listed_names_count() {
        assert_eq!(tool_of("python -m pip", &[]), None);
        assert_eq!(tool_of("python /venv/bin/pip", &["pipx"]), None);
        assert_eq!(
            tool_of("python /venv/lib/site-packages/pip/x.py", &["build"]),
            None
        );
    }

    #[test]
    fn markers_name_the_tool_that_started_the_process() {
        let all: Vec<&str> = TOOL_MARKERS.iter().map(|(_, name)| *name).collect();
        let skip = strings(&all);
        for (variable, name) in TOOL_MARKERS {
            let set = |wanted: &str| wanted == *variable;
            for command in [&["python", "-c", "pass"][..], &["python", "setup.py"]] {
                assert_eq!(
                    tool(command, "/venv", set, &skip).as_deref(),
                    Some(*name),
                    "{variable}"
                );
            }
            // A name taken off the list takes its markers with it.
            let fewer: Vec<String> = skip.iter().filter(|n| *n != name).cloned().collect();
            assert_eq!(tool(&["python"], "/venv", set, &fewer), None, "{variable}");
        }
        // The command line is asked first.
        let pip_set = |wanted: &str| wanted == "PIP_BUILD_TRACKER";
        assert_eq!(
            tool(&["python", "-m", "uv"], "/venv", pip_set, &skip).as_deref(),
            Some("uv")
        );
    }

    #[test]
    fn flag_is_off_for_the_off_words() {
        for off in [
            None,
            Some(""),
            Some(" 0 "),
            Some("False"),
            Some("NO"),
            Some("off"),
        ] {
            assert!(!flag(off), "{off:?}");
        }
        for on in [
            Some("1"),
            Some("yes"),
            Some("true"),
            Some("offf"),
            Some("\u{212a}"),
        ] {
            assert!(flag(on), "{on:?}");
        }
    }
    #[test]
    fn explain_says_where_the_groups_came_from() {
        let quote = |value: &str| format!("'{value}'");
        let explained = |wrapt: Option<&str>, autowrapt: Option<&str>, defaults: &[&str]| {
            explain(
                wrapt,
                autowrapt,
                defaults,
                &select(wrapt, autowrapt, defaults),
                quote,
            )
        };
        for (wrapt, autowrapt, defaults, expected) in [
            (
                None,
                None,
                &["a", "b"][..],
                "selected a, b: the default groups a, b (WRAPT_PATCHES is unset)",
            ),
            (
                Some("+x"),
                None,
                &[],
                "selected x: the default groups (none) edited by WRAPT_PATCHES='+x'",
            ),
            (
                Some("x, y"),
                None,
                &["a"],
                "selected x, y: WRAPT_PATCHES='x, y'",
            ),
            (
                Some("+c,-b"),
                None,
                &["a", "b"],
                "selected a, c: the default groups a, b edited by WRAPT_PATCHES='+c,-b'",
            ),
            (
                Some("-a"),
                None,
                &["a"],
                "nothing selected: the default groups a edited by WRAPT_PATCHES='-a'",
            ),
            (
                Some("-a"),
                None,
                &[],
                "nothing selected: the default groups (none) edited by WRAPT_PATCHES='-a'",
            ),
            (
                Some(" Off "),
                Some("x"),
                &["a"],
                "nothing selected: WRAPT_PATCHES=' Off ' is the kill switch (AUTOWRAPT_BOOTSTRAP is ignored too)",
            ),
            (
                Some(", ,"),
                None,
                &[],
                "nothing selected: WRAPT_PATCHES=', ,' is the kill switch (AUTOWRAPT_BOOTSTRAP is ignored too)",
            ),
            (
                None,
                Some(""),
                &[],
                "nothing selected: WRAPT_PATCHES is unset and there are no default groups; AUTOWRAPT_BOOTSTRAP='' names none",
            ),
            (
                None,
                Some("x"),
                &[],
                "selected (none): WRAPT_PATCHES is unset and there are no default groups; AUTOWRAPT_BOOTSTRAP='x' adds x",
            ),
            (
                Some("console_scripts"),
                None,
                &[],
                "nothing selected: WRAPT_PATCHES='console_scripts'",
            ),
        ] {
            assert_eq!(explained(wrapt, autowrapt, defaults), expected);
        }
    }
}
