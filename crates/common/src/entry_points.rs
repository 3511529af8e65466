//! `entry_points.txt` as `importlib.metadata` reads it.
//!
//! The format is the INI-like one of the [entry points specification]
//! (<https://packaging.python.org/en/latest/specifications/entry-points/>):
//!
//! ```text
//! [group]
//! name = module.path:attr.path [extra1, extra2]
//! ```
//!
//! What `importlib.metadata` does (`Sectioned.read`, `Pair.parse`), and so what
//! we do: each line is stripped; blank lines and comment lines (`#`, and `;` as
//! configparser-written files may have) are skipped; `[section]` starts a
//! group; any other line is split at its *first* `=` and both sides stripped;
//! lines before the first section belong to no group and are ignored. Where
//! importlib raises on a line with no `=` (and so loses every entry point of
//! the distribution), we report the line and keep going.
//!
//! This is also exactly what the pure-Python fallback of the bootstrap
//! (`templates/wrapt_bootstrap/_fallback.py`, `_parse_entry_points`) does;
//! the two must agree, since the same tests run against both.

use std::borrow::Cow;

use crate::{names, pystr};

/// One entry point of a requested group, borrowed from the file's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPoint<'a> {
    /// The group (section name) as requested.
    pub group: &'a str,
    /// The entry point's name: for post-import hooks, the target module.
    pub name: &'a str,
    /// The value with any `[extras]` and all whitespace removed
    /// (`module:attr`).
    pub value: Cow<'a, str>,
    /// 1-based line number in the file.
    pub line: usize,
}

/// A line that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    /// 1-based line number in the file.
    pub line: usize,
    /// The offending line, stripped.
    pub text: String,
}

impl std::fmt::Display for LineProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}: expected 'name = value': {:?}",
            self.line, self.text
        )
    }
}

/// The entry points of `groups` in `text`, in file order, plus the
/// malformed lines inside those groups' sections. Malformed lines elsewhere
/// belong to unrelated tools (importlib itself tolerates them) and are not
/// ours to report at every interpreter start.
/// A group appearing in several sections is read from all of them.
pub fn parse<'a>(
    text: &'a str,
    groups: &[&'a str],
    entries: &mut Vec<EntryPoint<'a>>,
    problems: &mut Vec<LineProblem>,
) {
    walk(
        text,
        |section| groups.iter().copied().find(|g| *g == section),
        |_, line| match line {
            Ok(entry) => entries.push(entry),
            Err(problem) => problems.push(problem),
        },
    );
}

/// One group of a file, from every section that names it, for a caller that
/// wants all of them (`wrapt-install --list`) rather than a few.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section<'a> {
    pub group: &'a str,
    /// In file order.
    pub entries: Vec<EntryPoint<'a>>,
    /// The malformed lines inside the group's sections.
    pub problems: Vec<LineProblem>,
}

/// Every group in `text` that has at least one line, in the order of its
/// first section; a group appearing in several sections is one [`Section`].
pub fn sections(text: &str) -> Vec<Section<'_>> {
    let mut sections: Vec<Section<'_>> = Vec::new();
    walk(text, Some, |group, line| {
        let at = sections
            .iter()
            .position(|s| s.group == group)
            .unwrap_or_else(|| {
                sections.push(Section {
                    group,
                    entries: Vec::new(),
                    problems: Vec::new(),
                });
                sections.len() - 1
            });
        match line {
            Ok(entry) => sections[at].entries.push(entry),
            Err(problem) => sections[at].problems.push(problem),
        }
    });
    sections
}

/// The parser both [`parse`] and [`sections`] run: `select` maps a section
/// name to the group it is read as (`None`: skip the section), and `found`
/// gets each line of a selected section, with its group, as an entry point or
/// a malformed line.
fn walk<'a>(
    text: &'a str,
    mut select: impl FnMut(&'a str) -> Option<&'a str>,
    mut found: impl FnMut(&'a str, Result<EntryPoint<'a>, LineProblem>),
) {
    // A UTF-8 byte order mark is what some Windows editors write; importlib
    // would take it as part of the first line, which is never what was meant.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut current: Option<&'a str> = None;
    for (index, raw) in pystr::splitlines(text).enumerate() {
        let line = pystr::strip(raw);
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            current = select(section_name(line));
            continue;
        }
        let Some(group) = current else {
            continue;
        };
        let Some((name, value)) = line.split_once('=') else {
            found(
                group,
                Err(LineProblem {
                    line: index + 1,
                    text: line.to_owned(),
                }),
            );
            continue;
        };
        found(
            group,
            Ok(EntryPoint {
                group,
                name: pystr::strip(name),
                value: clean_value(value),
                line: index + 1,
            }),
        );
    }
}

/// The name of a `[section]` line: one bracket off each end, then
/// whitespace stripped (`[ group ]` means `group`).
pub fn section_name(line: &str) -> &str {
    let inner = line.strip_prefix('[').unwrap_or(line);
    pystr::strip(inner.strip_suffix(']').unwrap_or(inner))
}

/// `module:attr [extra1, extra2]` → `module:attr`. Extras name optional
/// dependencies of the distribution; they do not change what is loaded.
pub fn strip_extras(value: &str) -> &str {
    match value.find('[') {
        Some(at) => pystr::strip(&value[..at]),
        None => pystr::strip(value),
    }
}

/// An entry point value as registered: extras dropped and every whitespace
/// character removed (`" mod : attr [x]"` → `"mod:attr"`), the fallback's
/// `"".join(value.partition("[")[0].split())`.
pub fn clean_value(value: &str) -> Cow<'_, str> {
    let value = strip_extras(value);
    if value.contains(pystr::isspace) {
        Cow::Owned(value.chars().filter(|&c| !pystr::isspace(c)).collect())
    } else {
        Cow::Borrowed(value)
    }
}

/// Split a hook value `module.path:attr.path` into its two halves, whitespace
/// around the `:` allowed (importlib's pattern allows it). `None` unless the
/// module part is a dotted module name and the attribute part a dotted path
/// of identifiers: a post-import hook needs a callable, so a bare module
/// reference is refused too.
pub fn split_value(value: &str) -> Option<(&str, &str)> {
    let (module, attr) = strip_extras(pystr::strip(value)).split_once(':')?;
    let (module, attr) = (pystr::strip(module), pystr::strip(attr));
    (names::is_dotted_module_name(module) && names::is_dotted_module_name(attr))
        .then_some((module, attr))
}

/// Whether `value` is a usable hook reference (see [`split_value`]).
pub fn is_valid_value(value: &str) -> bool {
    split_value(value).is_some()
}

/// Whether an entry point's name can be a post-import hook target: a dotted
/// module name.
pub fn is_valid_target(name: &str) -> bool {
    names::is_dotted_module_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<'a>(text: &'a str, groups: &[&'a str]) -> (Vec<EntryPoint<'a>>, Vec<LineProblem>) {
        let mut entries = Vec::new();
        let mut problems = Vec::new();
        parse(text, groups, &mut entries, &mut problems);
        (entries, problems)
    }

    fn triples<'b>(entries: &'b [EntryPoint<'_>]) -> Vec<(&'b str, &'b str, &'b str)> {
        entries
            .iter()
            .map(|e| (e.group, e.name, e.value.as_ref()))
            .collect()
    }

    #[test]
    fn sections_names_values_in_file_order() {
        let text = "\
stray = before:any_section
[console_scripts]
tool = pkg.cli:main

[acme.patches]
# a comment
; another comment
tempfile = acme.patches.tmp:patch
  os.path   =   acme.patches.osp : patch_it  
[other]
x = y:z
[acme.patches]
json = acme.j:p [speedups, extra]
";
        let (entries, problems) = run(text, &["acme.patches", "other"]);
        assert_eq!(
            triples(&entries),
            vec![
                ("acme.patches", "tempfile", "acme.patches.tmp:patch"),
                ("acme.patches", "os.path", "acme.patches.osp:patch_it"),
                ("other", "x", "y:z"),
                ("acme.patches", "json", "acme.j:p"),
            ]
        );
        assert!(problems.is_empty());
    }

    #[test]
    fn sections_gather_every_group_with_its_problems() {
        let text = "\
stray = before:any_section
[console_scripts]
tool = pkg.cli:main
[empty]
[acme.patches]
tempfile = acme.tmp:patch
not an entry
[console_scripts]
other = pkg.other:main
";
        let found = sections(text);
        let summary: Vec<_> = found
            .iter()
            .map(|s| {
                let names: Vec<_> = s.entries.iter().map(|e| e.name).collect();
                let lines: Vec<_> = s.problems.iter().map(|p| p.line).collect();
                (s.group, names, lines)
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("console_scripts", vec!["tool", "other"], vec![]),
                ("acme.patches", vec!["tempfile"], vec![7]),
            ]
        );
        assert_eq!(found[1].entries[0].value, "acme.tmp:patch");
        assert!(sections("").is_empty());
    }

    #[test]
    fn first_equals_splits() {
        let (entries, _) = run("[g]\na = b = c\n", &["g"]);
        assert_eq!(triples(&entries), vec![("g", "a", "b=c")]);
    }

    #[test]
    fn malformed_lines_reported_only_in_requested_sections() {
        let text = "oops\n[g]\nok = m:f\nthis is not an entry\nalso_ok = n:g\n[h]\nbroken too\n";
        let (entries, problems) = run(text, &["g"]);
        assert_eq!(
            triples(&entries),
            vec![("g", "ok", "m:f"), ("g", "also_ok", "n:g")]
        );
        let lines: Vec<_> = problems.iter().map(|p| (p.line, p.text.as_str())).collect();
        assert_eq!(lines, [(4, "this is not an entry")]);
    }

    #[test]
    fn bom_and_crlf_tolerated() {
        let text = "\u{feff}[g]\r\na = m:f\r\n\r\nb = n:g\rc = o:h";
        let (entries, problems) = run(text, &["g"]);
        assert_eq!(
            triples(&entries),
            vec![("g", "a", "m:f"), ("g", "b", "n:g"), ("g", "c", "o:h")]
        );
        assert!(problems.is_empty());
    }

    #[test]
    fn line_numbers_count_every_line() {
        let mut entries = Vec::new();
        let mut problems = Vec::new();
        parse(
            "\n# c\n[g]\n\na = m:f\n",
            &["g"],
            &mut entries,
            &mut problems,
        );
        assert_eq!(entries[0].line, 5);
    }

    #[test]
    fn section_names_are_stripped() {
        assert_eq!(section_name("[ g ]"), "g");
        assert_eq!(section_name("[[g]]"), "[g]");
        assert_eq!(section_name("[]"), "");
        let (entries, _) = run("[ g ]\na = m:f\n", &["g"]);
        assert_eq!(entries.len(), 1);
    }

    #[test]
    fn values() {
        assert_eq!(split_value("a.b:c.d"), Some(("a.b", "c.d")));
        assert_eq!(split_value(" a : c [x] "), Some(("a", "c")));
        assert_eq!(split_value("a.b"), None);
        assert_eq!(split_value("a.b:"), None);
        assert_eq!(split_value(":f"), None);
        assert_eq!(split_value("a-b:f"), None);
        assert_eq!(split_value("a:b:c"), None);
        assert!(is_valid_value("wrapt_bootstrap.examples:patch_tempfile"));
        assert!(is_valid_target("os.path"));
        assert!(!is_valid_target("os/path"));
        assert_eq!(strip_extras("m:f [a,b]"), "m:f");
        assert_eq!(strip_extras("m:f"), "m:f");
        assert_eq!(clean_value(" a . b : c\u{a0}d [x y]"), "a.b:cd");
        assert!(matches!(clean_value("a:b [x]"), Cow::Borrowed("a:b")));
    }
}
