//! The ordering doctor of `--check`: for each hook registered at startup,
//! whether it was registered before its target was imported (it will fire
//! as the target is imported, before anyone takes a reference), or late
//! (the target was already imported: the hook ran at once, and references
//! taken before then stay unpatched) — and, for a late one, what had
//! imported the target, read from the interpreter's own `-X importtime`
//! tree.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// One hook registration, as `wrapt_bootstrap._status()` reports it, with
/// `before_activation` added by the check's script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub group: String,
    pub target: String,
    pub hook: String,
    /// The target was already imported when the hook was registered.
    pub late: bool,
    /// The target was imported before `wrapt_bootstrap` was.
    #[serde(default)]
    pub before_activation: bool,
}

/// What the doctor says about one registration (also the `--json` output).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ordering {
    pub group: String,
    pub target: String,
    pub hook: String,
    pub late: bool,
    /// The import chain that imported a late target, innermost first
    /// (`["encodings", "site"]`); empty when it was imported by top-level
    /// code, `None` when `-X importtime` did not see it (imported while the
    /// interpreter initialised, before site) or the interpreter has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported_by: Option<Vec<String>>,
    pub explanation: String,
}

/// The `WRAPT_PATCHES` the check runs the interpreter with: the caller's
/// own selection, so that the ordering shown is that of the groups they
/// enable, plus the example group, which is always there to find.
pub fn selection(caller: Option<&str>, example: &str) -> String {
    match caller {
        Some(value) if !is_kill_switch(value) => format!("{value},+{example}"),
        _ => format!("+{example}"),
    }
}

/// `WRAPT_PATCHES`'s "nothing at all": empty, only commas and spaces, or
/// one `0`, `off` or `none` (any case).
fn is_kill_switch(value: &str) -> bool {
    wrapt_common::selection::edit(Some(value), &[], &mut Vec::new()).is_none()
}

/// The modules `-X importtime` reported, in its order (a module is listed
/// when its import finishes, after the imports it made, which are indented
/// one level deeper).
#[derive(Debug, Default)]
pub struct ImportTree {
    lines: Vec<(usize, String)>,
}

impl ImportTree {
    /// Splits a child's stderr into the `-X importtime` tree and the other
    /// lines.
    pub fn split(stderr: &str) -> (ImportTree, Vec<&str>) {
        let mut tree = ImportTree::default();
        let mut rest = Vec::new();
        for line in stderr.lines() {
            let Some(columns) = line.strip_prefix("import time:") else {
                rest.push(line);
                continue;
            };
            let mut parts = columns.splitn(3, '|');
            let (Some(own), Some(_), Some(name)) = (parts.next(), parts.next(), parts.next())
            else {
                rest.push(line);
                continue;
            };
            if own.trim().parse::<u64>().is_err() {
                continue; // the header
            }
            let name = name.strip_prefix(' ').unwrap_or(name);
            let indent = name.len() - name.trim_start().len();
            tree.lines.push((indent / 2, name.trim().to_owned()));
        }
        (tree, rest)
    }

    /// The chain of imports that first imported `module`, innermost first;
    /// `None` when it is not in the tree.
    pub fn importers(&self, module: &str) -> Option<Vec<String>> {
        let at = self.lines.iter().position(|(_, name)| name == module)?;
        let mut level = self.lines[at].0;
        let mut chain = Vec::new();
        for (parent_level, name) in &self.lines[at + 1..] {
            if level == 0 {
                break;
            }
            if *parent_level < level {
                chain.push(name.clone());
                level = *parent_level;
            }
        }
        Some(chain)
    }
}

/// The `.pth` files in `dir` with an import line that names `module`: what
/// site ran to import it, as far as the files tell.
fn pth_files_importing(dir: &Path, module: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<String> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            // site matches the suffix as exactly as this.
            if Path::new(&name).extension() != Some("pth".as_ref()) {
                return None;
            }
            let text = std::fs::read_to_string(entry.path()).ok()?;
            let names_it = text
                .lines()
                .filter(|line| line.starts_with("import ") || line.starts_with("import\t"))
                .any(|line| {
                    line.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
                        .any(|word| word == module || word.starts_with(&format!("{module}.")))
                });
            names_it.then_some(name)
        })
        .collect();
    found.sort();
    found
}

/// The doctor's verdict on each registration; `.pth` files are looked for
/// in `site_packages`.
pub fn diagnose(
    registrations: &[Registration],
    tree: &ImportTree,
    site_packages: &Path,
) -> Vec<Ordering> {
    registrations
        .iter()
        .map(|r| {
            let imported_by = if r.late {
                tree.importers(&r.target)
            } else {
                None
            };
            let explanation = if r.late {
                let when = if r.before_activation {
                    "before wrapt-bootstrap activated"
                } else {
                    "after wrapt-bootstrap activated, before its group was found on a later sys.path entry"
                };
                let by = match imported_by.as_deref() {
                    // No tree at all: PyPy ignores -X importtime. Nothing
                    // is known of the importer, not even that it was early.
                    None if tree.lines.is_empty() => {
                        let files = pth_files_importing(site_packages, &r.target);
                        let named = if files.is_empty() {
                            String::new()
                        } else {
                            format!("; an import line of {} names it", files.join(", "))
                        };
                        format!("an importer this interpreter cannot show (it has no -X importtime{named})")
                    }
                    None | Some([]) => "Python's own initialisation, before site ran".to_owned(),
                    Some([only]) if only == "site" => {
                        let files = pth_files_importing(site_packages, &r.target);
                        if files.is_empty() {
                            "site (site itself, a .pth import line, sitecustomize or usercustomize)"
                                .to_owned()
                        } else {
                            format!("site, running an import line of {}", files.join(", "))
                        }
                    }
                    Some(chain) if chain.last().is_some_and(|top| top == "site") => format!(
                        "{} (within site: a .pth import line, sitecustomize or usercustomize)",
                        chain.join(" <- ")
                    ),
                    Some(chain) => format!(
                        "{}, while the interpreter initialised, before site ran",
                        chain.join(" <- ")
                    ),
                };
                format!(
                    "late: imported {when}, by {by}; its hook ran at once, and references taken before then (from {} import ...) stay unpatched",
                    r.target
                )
            } else {
                "registered before it was imported: the hook fires as it is imported".to_owned()
            };
            Ordering {
                group: r.group.clone(),
                target: r.target.clone(),
                hook: r.hook.clone(),
                late: r.late,
                imported_by,
                explanation,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMPORTTIME: &str = "\
import time: self [us] | cumulative | imported package
import time:       376 |        376 |   _io
import time:       521 |       1345 | _frozen_importlib_external
import time:        93 |         93 |     _codecs
import time:       369 |        461 |   codecs
import time:       713 |       1730 | encodings
import time:        52 |         52 |       _stat
import time:        79 |        131 |     stat
import time:        98 |        146 |     posixpath
import time:       450 |       1832 |   os
import time:        41 |         41 |   colorsys
import time:      1906 |       4420 | site
wrapt-bootstrap: something else
";

    #[test]
    fn importtime_tree_gives_the_chain_that_imported_a_module() {
        let (tree, rest) = ImportTree::split(IMPORTTIME);
        assert_eq!(rest, ["wrapt-bootstrap: something else"]);
        assert_eq!(
            tree.importers("_stat"),
            Some(vec!["stat".into(), "os".into(), "site".into()])
        );
        assert_eq!(
            tree.importers("_codecs"),
            Some(vec!["codecs".into(), "encodings".into()])
        );
        assert_eq!(tree.importers("colorsys"), Some(vec!["site".into()]));
        assert_eq!(tree.importers("site"), Some(vec![]));
        assert_eq!(tree.importers("json"), None);
    }

    #[test]
    fn diagnosis() {
        let (tree, _) = ImportTree::split(IMPORTTIME);
        let registration = |target: &str, late, before_activation| Registration {
            group: "g".into(),
            target: target.into(),
            hook: "p:h".into(),
            late,
            before_activation,
        };
        let site_packages = tempfile::tempdir().unwrap();
        let pth = |name: &str, text: &str| {
            std::fs::write(site_packages.path().join(name), text).unwrap();
        };
        pth("000_early.pth", "import sys, colorsys.x\n");
        pth("other.pth", "# import colorsys\n/a/path\n");
        let found = diagnose(
            &[
                registration("wave", false, false),
                registration("colorsys", true, true),
                registration("marshal", true, true),
                registration("posixpath", true, false),
                registration("_codecs", true, true),
            ],
            &tree,
            site_packages.path(),
        );
        assert!(!found[0].late && found[0].imported_by.is_none());
        assert!(found[0].explanation.starts_with("registered before"));
        assert_eq!(found[1].imported_by, Some(vec!["site".into()]));
        assert!(
            found[1].explanation.contains(
                "imported before wrapt-bootstrap activated, by site, running an import line of 000_early.pth;"
            ),
            "{}",
            found[1].explanation
        );
        assert!(found[2]
            .explanation
            .contains("by Python's own initialisation"));
        assert!(found[3]
            .explanation
            .contains("after wrapt-bootstrap activated"));
        assert!(found[3].explanation.contains("by os <- site (within site"));
        assert!(
            found[4]
                .explanation
                .contains("by codecs <- encodings, while the interpreter initialised"),
            "{}",
            found[4].explanation
        );
        // An interpreter without -X importtime (PyPy): no claim of when.
        let found = diagnose(
            &[
                registration("colorsys", true, true),
                registration("_codecs", true, true),
            ],
            &ImportTree::default(),
            site_packages.path(),
        );
        assert_eq!(found[0].imported_by, None);
        assert!(
            found[0].explanation.contains(
                "by an importer this interpreter cannot show (it has no -X importtime; an import line of 000_early.pth names it);"
            ),
            "{}",
            found[0].explanation
        );
        assert!(
            found[1]
                .explanation
                .contains("by an importer this interpreter cannot show (it has no -X importtime);"),
            "{}",
            found[1].explanation
        );
    }

    #[test]
    fn selection_keeps_the_callers_groups_unless_they_kill() {
        let example = "wrapt_bootstrap.examples";
        assert_eq!(selection(None, example), "+wrapt_bootstrap.examples");
        assert_eq!(
            selection(Some("a,b"), example),
            "a,b,+wrapt_bootstrap.examples"
        );
        assert_eq!(
            selection(Some("-a"), example),
            "-a,+wrapt_bootstrap.examples"
        );
        for kill in ["", " , ", "0", "OFF", " none "] {
            assert_eq!(selection(Some(kill), example), "+wrapt_bootstrap.examples");
        }
    }
}
