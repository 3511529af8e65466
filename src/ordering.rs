//! The ordering doctor of `--check`: for each hook registered at startup,
//! whether it was registered before its target was imported (it will fire
//! as the target is imported, before anyone takes a reference), or late
//! (the target was already imported: the hook ran at once, and references
//! taken before then stay unpatched) — and, for a late one, what had
//! imported the target, read from the interpreter's own `-X importtime`
//! tree.

use std::ffi::OsStr;

use wrapt_common::scan::Contents;

use crate::plan::{self, Activation};
use crate::site::{self, PthLine, Rules};
use crate::site_packages::SitePackages;

use serde::{Deserialize, Serialize};

/// One hook registration, as `wrapt_bootstrap._status()` reports it, with
/// when its target was imported added by the check.
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
    /// The target was imported before `site` was: by the interpreter's own
    /// initialisation.
    #[serde(default)]
    pub before_site: bool,
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
    /// code, `None` when `-X importtime` did not see it: imported while the
    /// interpreter initialised, before site, or by `importlib.import_module`
    /// (how site imports a `.start` entry point's module), or the
    /// interpreter has no `-X importtime` (PyPy), or the hook was in time.
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

    /// The first module whose import `module`'s own import made, and
    /// completed (the first line of its subtree); `None` when it is not in
    /// the tree or imported nothing.
    pub fn first_imported_within(&self, module: &str) -> Option<&str> {
        let at = self.lines.iter().position(|(_, name)| name == module)?;
        let level = self.lines[at].0;
        let first = self.lines[..at]
            .iter()
            .rposition(|(inner, _)| *inner <= level)
            .map_or(0, |outside| outside + 1);
        (first < at).then(|| self.lines[first].1.as_str())
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

/// What `site` ran from site-packages before our activation, as far as the
/// files there tell: the doctor's evidence for a target `site` imported.
pub struct StartupFiles<'a> {
    /// Read as `site` reads it, through the pinned directory: a symlinked
    /// file, or one over the size limit, tells nothing.
    pub site: &'a SitePackages,
    /// How the installation activates.
    pub activation: Activation,
    /// The interpreter's language version.
    pub version: [u32; 3],
}

impl StartupFiles<'_> {
    /// The files of the directory that `site` reads (`reads` their name),
    /// in the order it reads them, with their bytes.
    fn files(&self, reads: impl Fn(&OsStr) -> bool) -> Vec<(String, Vec<u8>)> {
        let entries = self.site.list("").ok().flatten().unwrap_or_default();
        let mut names: Vec<String> = entries
            .into_iter()
            .filter(|entry| reads(&entry.name))
            .filter_map(|entry| entry.name.into_string().ok())
            .collect();
        names.sort_unstable();
        let mut buf = Vec::new();
        names
            .into_iter()
            .filter_map(|name| {
                let read = self.site.read_metadata_file(&name, &mut buf) == Contents::Read;
                read.then(|| (name, buf.clone()))
            })
            .collect()
    }

    /// The `.pth` files with an import line that names `module`.
    fn pth_files_importing(&self, module: &str) -> Vec<String> {
        let rules = Rules::of(self.version);
        self.files(|name| rules.reads_pth(name))
            .into_iter()
            .filter(|(_, bytes)| {
                site::pth_lines(bytes, rules).iter().any(|line| match line {
                    PthLine::Import(code) => names_module(code, module),
                    PthLine::Path(_) => false,
                })
            })
            .map(|(name, _)| name)
            .collect()
    }

    /// The `.start` files whose entry points `site` runs before ours, with
    /// their entry points: from 3.15 on, after every `.pth` import line
    /// (so after a `.pth` of ours), in sorted order (so those sorting
    /// before a `.start` of ours), and before `sitecustomize`. What they
    /// import through `pkgutil.resolve_name` is invisible to `-X
    /// importtime`, and so is what their modules import but at top level.
    fn start_files_before_ours(&self) -> Vec<String> {
        if Activation::Start.ignored_by(self.version).is_some() {
            return Vec::new();
        }
        self.files(site::reads_start)
            .into_iter()
            .filter(|(name, _)| match self.activation {
                Activation::Pth => false,
                Activation::Start => name.as_str() < plan::START,
                Activation::Sitecustomize => true,
            })
            .filter_map(|(name, bytes)| {
                let entries = site::start_entries(&bytes)?;
                Some(format!("{name} ({})", entries.join(", ")))
            })
            .collect()
    }

    /// What in `site` imported a target whose import chain ends in `site`
    /// (or that `-X importtime` did not see being imported at all).
    fn culprit(&self, module: &str, chain: Option<&[String]>) -> String {
        let starts = self.start_files_before_ours();
        // What in site runs code, the most specific first.
        let mut sources = Vec::new();
        if !starts.is_empty() {
            sources.push(format!(
                "an entry point of {} or what its module imports",
                starts.join(", ")
            ));
        }
        sources.extend(["a .pth import line", "sitecustomize", "usercustomize"].map(str::to_owned));
        match chain {
            Some([only]) if only == "site" => {
                let files = self.pth_files_importing(module);
                if files.is_empty() {
                    sources.push("site itself".to_owned());
                    format!("site ({})", join_or(&sources))
                } else {
                    format!("site, running an import line of {}", files.join(", "))
                }
            }
            Some(chain) => format!(
                "{} (within site: {})",
                chain.join(" <- "),
                join_or(&sources)
            ),
            None if starts.is_empty() => {
                "site, through importlib.import_module (not seen by -X importtime)".to_owned()
            }
            None => format!(
                "site, through importlib: an entry point of {}",
                starts.join(", ")
            ),
        }
    }
}

/// Whether the code of an import line names `module` or a submodule of it
/// (`import sys, colorsys.x` names `colorsys`).
fn names_module(code: &str, module: &str) -> bool {
    code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .any(|word| word == module || word.starts_with(&format!("{module}.")))
}

/// `a, b or c`.
fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The doctor's verdict on each registration.
pub fn diagnose(
    registrations: &[Registration],
    tree: &ImportTree,
    startup_files: &StartupFiles<'_>,
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
                        let files = startup_files.pth_files_importing(&r.target);
                        let named = if files.is_empty() {
                            String::new()
                        } else {
                            format!("; an import line of {} names it", files.join(", "))
                        };
                        format!("an importer this interpreter cannot show (it has no -X importtime{named})")
                    }
                    None | Some([]) if r.before_site => {
                        "Python's own initialisation, before site ran".to_owned()
                    }
                    Some(chain) if r.before_site => format!(
                        "{}, while the interpreter initialised, before site ran",
                        chain.join(" <- ")
                    ),
                    Some(chain) if chain.last().is_some_and(|top| top != "site") => {
                        chain.join(" <- ")
                    }
                    chain => startup_files.culprit(&r.target, chain.filter(|c| !c.is_empty())),
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
        assert_eq!(tree.first_imported_within("site"), Some("_stat"));
        assert_eq!(tree.first_imported_within("encodings"), Some("_codecs"));
        assert_eq!(tree.first_imported_within("_io"), None);
        assert_eq!(tree.first_imported_within("json"), None);
    }

    /// Asserts that the doctor's explanation says `text`.
    fn says(ordering: &Ordering, text: &str) {
        assert!(
            ordering.explanation.contains(text),
            "{:?} does not say {text:?}",
            ordering.explanation
        );
    }

    fn registration(
        target: &str,
        late: bool,
        before_activation: bool,
        before_site: bool,
    ) -> Registration {
        Registration {
            group: "g".into(),
            target: target.into(),
            hook: "p:h".into(),
            late,
            before_activation,
            before_site,
        }
    }

    /// A site-packages directory holding `files` (name, text), pinned.
    fn site_packages_with(files: &[(&str, &str)]) -> (tempfile::TempDir, SitePackages) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let site = SitePackages::open(dir.path(), None).unwrap();
        (dir, site)
    }

    fn startup_files(site: &SitePackages, activation: Activation, minor: u32) -> StartupFiles<'_> {
        StartupFiles {
            site,
            activation,
            version: [3, minor, 0],
        }
    }

    #[test]
    fn diagnosis() {
        let (tree, _) = ImportTree::split(IMPORTTIME);
        let (_dir, site) = site_packages_with(&[
            ("000_early.pth", "import sys, colorsys.x\n"),
            ("other.pth", "# import colorsys\n/a/path\n"),
            ("000_early.start", "early:run\n"),
        ]);
        let startup_files = |activation, minor| startup_files(&site, activation, minor);
        let found = diagnose(
            &[
                registration("wave", false, false, false),
                registration("colorsys", true, true, false),
                registration("marshal", true, true, true),
                registration("posixpath", true, false, false),
                registration("_codecs", true, true, true),
                registration("json", true, true, false),
            ],
            &tree,
            &startup_files(Activation::Pth, 15),
        );
        assert!(!found[0].late && found[0].imported_by.is_none());
        assert!(found[0].explanation.starts_with("registered before"));
        assert_eq!(found[1].imported_by, Some(vec!["site".into()]));
        says(&found[1], "imported before wrapt-bootstrap activated, by site, running an import line of 000_early.pth;");
        says(&found[2], "by Python's own initialisation");
        says(&found[3], "after wrapt-bootstrap activated");
        // A .start runs after a .pth of ours.
        says(
            &found[3],
            "by os <- site (within site: a .pth import line, sitecustomize or usercustomize);",
        );
        says(
            &found[4],
            "by codecs <- encodings, while the interpreter initialised",
        );
        // Not in the tree, not before site.
        says(&found[5], "by site, through importlib.import_module");
        // An interpreter without -X importtime (PyPy): no claim of when.
        let found = diagnose(
            &[
                registration("colorsys", true, true, false),
                registration("_codecs", true, true, false),
            ],
            &ImportTree::default(),
            &startup_files(Activation::Pth, 9),
        );
        assert_eq!(found[0].imported_by, None);
        says(&found[0], "by an importer this interpreter cannot show (it has no -X importtime; an import line of 000_early.pth names it);");
        says(
            &found[1],
            "by an importer this interpreter cannot show (it has no -X importtime);",
        );
    }

    #[test]
    fn diagnosis_of_start_files() {
        let (tree, _) = ImportTree::split(IMPORTTIME);
        let (_dir, site) = site_packages_with(&[
            ("000_early.start", "# a comment\nearly:run\n"),
            ("zz_late.start", "late:run\n"),
        ]);
        let startup_files = |activation, minor| startup_files(&site, activation, minor);
        // A .start of ours runs after the .start files that sort before it.
        let late = [
            registration("json", true, true, false),
            registration("posixpath", true, true, false),
        ];
        let found = diagnose(&late, &tree, &startup_files(Activation::Start, 15));
        says(
            &found[0],
            "by site, through importlib: an entry point of 000_early.start (early:run);",
        );
        says(&found[1], "os <- site (within site: an entry point of 000_early.start (early:run) or what its module imports, a .pth import line,");
        // sitecustomize comes after every .start; before 3.15 none runs.
        let found = diagnose(&late, &tree, &startup_files(Activation::Sitecustomize, 15));
        says(
            &found[0],
            "000_early.start (early:run), zz_late.start (late:run)",
        );
        let found = diagnose(&late, &tree, &startup_files(Activation::Sitecustomize, 14));
        says(&found[0], "import_module");
    }

    #[test]
    fn evidence_is_read_as_site_of_the_version_reads_it() {
        let (dir, site) = site_packages_with(&[
            // Stripped before it is judged only from 3.15 (PEP 829).
            ("000_early.pth", "  import colorsys\n"),
            // Skipped from 3.13 (and 3.12.2, ...).
            (".hidden.pth", "import colorsys\n"),
            // A byte order mark and Python's white space are not entries.
            ("000_early.start", "\u{feff}early:run \x1c\n"),
        ]);
        // Not UTF-8: site skips a .start file it cannot decode.
        std::fs::write(dir.path().join("001_latin.start"), b"caf\xe9:run\n").unwrap();
        // Never followed out of site-packages.
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("x.pth"), "import colorsys\n").unwrap();
        std::os::unix::fs::symlink(outside.path().join("x.pth"), dir.path().join("link.pth"))
            .unwrap();
        let files = |minor, micro| StartupFiles {
            site: &site,
            activation: Activation::Sitecustomize,
            version: [3, minor, micro],
        };
        assert_eq!(
            files(15, 0).pth_files_importing("colorsys"),
            ["000_early.pth"]
        );
        assert!(files(14, 0).pth_files_importing("colorsys").is_empty());
        assert_eq!(
            files(12, 1).pth_files_importing("colorsys"),
            [".hidden.pth"]
        );
        assert_eq!(
            files(15, 0).start_files_before_ours(),
            ["000_early.start (early:run)"]
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
