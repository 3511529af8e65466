//! What the environment selects at interpreter startup: the list grammar of
//! `WRAPT_PATCHES` / `WRAPT_PATCHES_SKIP`, `AUTOWRAPT_BOOTSTRAP`, the program
//! a process runs and the on/off flags, for the native module. Its Python
//! twin is in `templates/wrapt_bootstrap/_fallback.py` (`_edit`, `select`,
//! `_program`) and `__init__.py` (`_flag`): both must decide alike,
//! whichever implementation serves, and the integration tests run the same
//! table against both.

use crate::names::is_valid_group_name;

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
        .map(py_strip)
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
            Some(rest) => (item.starts_with('-'), py_strip(rest)),
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

/// What `WRAPT_PATCHES` and `AUTOWRAPT_BOOTSTRAP` select (port of `_select`).
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
    for name in autowrapt_bootstrap.unwrap_or("").split(',').map(py_strip) {
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

/// The program a process runs, as the skip list names it (port of
/// `_program`), from the command line as `sys.orig_argv` has it (`argv[0]`
/// is the interpreter): the top-level package of `-m`, else the script's
/// name without its directory, `.py` and a trailing run of digits and dots
/// (`pip3.12` -> `pip`). `None` for `-c`, `-`, stdin and the prompt, or when
/// nothing is left of the name.
pub fn program<S: AsRef<str>>(argv: &[S]) -> Option<String> {
    let mut args = argv.iter().skip(1).map(AsRef::as_ref);
    while let Some(arg) = args.next() {
        if matches!(arg, "-X" | "-W" | "--check-hash-based-pycs") {
            args.next();
        } else if arg == "-" {
            return None;
        } else if !arg.starts_with('-') {
            // rsplit yields at least one piece, even of "".
            let name = arg.rsplit('/').next().unwrap_or(arg);
            let name = name.strip_suffix(".py").unwrap_or(name);
            let name = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
            return non_empty(name);
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
                        'm' => return non_empty(value.split('.').next().unwrap_or(value)),
                        'c' => return None,
                        _ => break,
                    }
                }
            }
        }
    }
    None
}

/// Whether an on/off environment value is on (port of `_flag`'s test):
/// unset, empty, `0`, `false`, `no` and `off` (any case) are off.
pub fn flag(value: Option<&str>) -> bool {
    value.is_some_and(|value| {
        let value = py_strip(value);
        !["", "0", "false", "no", "off"]
            .iter()
            .any(|word| lower_is(value, word))
    })
}

/// Python's `str.strip()`: Unicode whitespace, which for Python also takes
/// in the separators U+001C..U+001F.
fn py_strip(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
}

/// `text.lower() == word` for an ASCII lowercase `word`, without allocating:
/// the only non-ASCII characters whose lowercase holds ASCII are U+0130 (to
/// `i` and a combining dot, never a whole word) and the Kelvin sign (to `k`),
/// and no word asked about has a `k`.
fn lower_is(text: &str, word: &str) -> bool {
    debug_assert!(!word.contains('k'));
    text.eq_ignore_ascii_case(word)
}

fn non_empty(name: &str) -> Option<String> {
    (!name.is_empty()).then(|| name.to_owned())
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
    fn strip_is_pythons() {
        // Python's str.strip() whitespace, every one of it.
        let python: Vec<u32> = [0x9..=0xd, 0x1c..=0x20]
            .into_iter()
            .flatten()
            .chain([0x85, 0xa0, 0x1680])
            .chain(0x2000..=0x200a)
            .chain([0x2028, 0x2029, 0x202f, 0x205f, 0x3000])
            .collect();
        let ours: Vec<u32> = (0..=char::MAX as u32)
            .filter_map(char::from_u32)
            .filter(|c| py_strip(c.encode_utf8(&mut [0; 4])).is_empty())
            .map(u32::from)
            .collect();
        assert_eq!(ours, python);
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

    fn program_of(command: &str) -> Option<String> {
        program(&command.split(' ').collect::<Vec<_>>())
    }

    #[test]
    fn program_names_the_module_or_script() {
        for (command, expected) in [
            ("python -c pass", None),
            ("python -c", None),
            ("python -m pip install x", Some("pip")),
            ("python -mpip", Some("pip")),
            ("python -bbm pip.__main__", Some("pip")),
            ("python -X importtime -m venv", Some("venv")),
            ("python -Ximporttime -m venv", Some("venv")),
            ("python -W ignore script.py", Some("script")),
            ("python -Wignore -m tox", Some("tox")),
            ("python --check-hash-based-pycs always x.py", Some("x")),
            ("python /usr/bin/pip3.12", Some("pip")),
            ("python -E -s tool3.py", Some("tool")),
            ("python -", None),
            ("python", None),
            ("python -i", None),
            ("python -m .x", None),
            ("python ./3.12", None),
            ("python -- a.py", Some("a")),
            ("python -bc -m x", None),
        ] {
            assert_eq!(program_of(command).as_deref(), expected, "{command}");
        }
        assert_eq!(program::<&str>(&[]), None);
        assert_eq!(program(&["python", "", "x.py"]), None);
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
}
