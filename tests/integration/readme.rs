//! The documentation, tested: every relative link and `#anchor` in the
//! repository's Markdown files resolves inside the repository, and the
//! README's examples run as written.
//!
//! The README's conventions, which its Development section states: a
//! fenced block whose first line is `# PATH` (a relative path) is a file,
//! written verbatim into one working directory; every `console` block is
//! then run there, in document order. In a `console` block a `$ ` line is a
//! command (continued by a trailing `\`), and the lines after it are its
//! output, compared exactly where shown, as CPython 3.12 shows it in `/app`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{
    base_command, describe, each_interpreter, pythons_and_pypy, recording_dist, run_ok, stdout,
    Kind, Python,
};

const CHECKOUT: &str = env!("CARGO_MANIFEST_DIR");

/// What the README's outputs say for the directory and the interpreter.
const SHOWN_DIR: &str = "/app";
const SHOWN_LIB: &str = "lib/python3.12/";
const SHOWN_PYTHON: &str = "Python 3.12.1";

/// A fenced code block: its info string (`console`, `toml`, …), its lines,
/// and the line of the opening fence (1-based), for messages.
struct Block {
    info: String,
    lines: Vec<String>,
    line: usize,
}

/// The fenced code blocks of `text`, and its other lines with their line
/// numbers (where headings and links live).
fn parse_markdown(text: &str) -> (Vec<Block>, Vec<(usize, &str)>) {
    let mut blocks = Vec::new();
    let mut prose = Vec::new();
    let mut open: Option<(String, Block)> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let fence: String = trimmed.chars().take_while(|&c| c == '`').collect();
        match open.take() {
            Some((opening, block)) => {
                if fence.len() >= opening.len() && trimmed[fence.len()..].trim().is_empty() {
                    blocks.push(block);
                } else {
                    let mut block = block;
                    block.lines.push(line.to_string());
                    open = Some((opening, block));
                }
            }
            None if fence.len() >= 3 => {
                let block = Block {
                    info: trimmed[fence.len()..].trim().to_string(),
                    lines: Vec::new(),
                    line: index + 1,
                };
                open = Some((fence, block));
            }
            None => prose.push((index + 1, line)),
        }
    }
    assert!(open.is_none(), "an unclosed code block");
    (blocks, prose)
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, every other
/// character that is not a letter, digit, `-` or `_` dropped.
fn anchor(heading: &str) -> String {
    let mut anchor = String::new();
    for c in heading.trim().chars() {
        if c == ' ' {
            anchor.push('-');
        } else if c.is_alphanumeric() || c == '-' || c == '_' {
            anchor.extend(c.to_lowercase());
        }
    }
    anchor
}

/// The anchors of a Markdown file's headings; a repeated heading gets
/// `-1`, `-2`, … as on GitHub.
fn anchors(text: &str) -> BTreeSet<String> {
    let (_, prose) = parse_markdown(text);
    let mut found = BTreeSet::new();
    for (_, line) in prose {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = anchor(&line[hashes..]);
        let mut candidate = base.clone();
        let mut repeat = 0;
        while found.contains(&candidate) {
            repeat += 1;
            candidate = format!("{base}-{repeat}");
        }
        found.insert(candidate);
    }
    found
}

/// `line` without its code spans, whose brackets are not links.
fn without_code_spans(line: &str) -> String {
    let mut kept = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        kept.push_str(&rest[..start]);
        let ticks = rest[start..].chars().take_while(|&c| c == '`').count();
        let after = &rest[start + ticks..];
        // An unclosed run is literal text, and so is the rest.
        let Some(end) = after.find(&"`".repeat(ticks)) else {
            rest = after;
            break;
        };
        rest = &after[end + ticks..];
    }
    kept.push_str(rest);
    kept
}

/// The targets of the inline links (`[text](target)`, images too) and link
/// definitions (`[name]: target`) of a line.
fn link_targets(line: &str) -> Vec<String> {
    let line = without_code_spans(line);
    let mut targets = Vec::new();
    let mut rest = line.as_str();
    while let Some(start) = rest.find("](") {
        let after = &rest[start + 2..];
        let end = after.find(')').unwrap_or(after.len());
        let target = after[..end].split_whitespace().next().unwrap_or("");
        targets.push(target.trim_matches(['<', '>']).to_string());
        rest = &after[end..];
    }
    if let Some(definition) = line.trim_start().strip_prefix('[') {
        if let Some((_, target)) = definition.split_once("]: ") {
            targets.push(target.trim().to_string());
        }
    }
    targets
}

/// README.md, the other Markdown files at the top of the repository, and
/// docs/*.md.
fn markdown_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [root.to_path_buf(), root.join("docs")] {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Every problem with the relative links of `file`: a target outside the
/// repository or missing, an anchor no heading of the target has.
fn broken_links(root: &Path, file: &Path) -> Vec<String> {
    let text = fs::read_to_string(file).unwrap();
    let (_, prose) = parse_markdown(&text);
    let name = file.strip_prefix(root).unwrap().display().to_string();
    let mut broken = Vec::new();
    for (number, line) in prose {
        for target in link_targets(line) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let resolved = if path.is_empty() {
                file.to_path_buf()
            } else {
                file.parent().unwrap().join(path)
            };
            let Ok(resolved) = resolved.canonicalize() else {
                broken.push(format!("{name}:{number}: {target}: no such file"));
                continue;
            };
            if !resolved.starts_with(root) {
                broken.push(format!("{name}:{number}: {target}: outside the repository"));
                continue;
            }
            if fragment.is_empty() {
                continue;
            }
            let target_text = fs::read_to_string(&resolved).unwrap_or_default();
            if resolved.extension().is_none_or(|e| e != "md")
                || !anchors(&target_text).contains(fragment)
            {
                broken.push(format!(
                    "{name}:{number}: {target}: no heading with anchor #{fragment}"
                ));
            }
        }
    }
    broken
}

#[test]
fn anchors_follow_githubs_rules() {
    assert_eq!(anchor(" How it compares"), "how-it-compares");
    assert_eq!(anchor(" `--check` and `--list`"), "--check-and---list");
    assert_eq!(
        anchor(" JSON output: install/uninstall"),
        "json-output-installuninstall"
    );
    assert_eq!(
        anchor(" sitecustomize_mode — why"),
        "sitecustomize_mode--why"
    );
    assert_eq!(
        anchors("# A\n## A\n```\n# not a heading\n```\n#not one either\n### A\n"),
        BTreeSet::from(["a".to_string(), "a-1".to_string(), "a-2".to_string()])
    );
}

#[test]
fn links_are_found_outside_code() {
    assert_eq!(
        link_targets("see [a](x.md#b) and `[c](d)` and ![e](f.png \"t\")"),
        ["x.md#b", "f.png"]
    );
    assert_eq!(link_targets("[name]: docs/a.md"), ["docs/a.md"]);
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let root = Path::new(CHECKOUT).canonicalize().unwrap();
    let files = markdown_files(&root);
    assert!(files.iter().any(|file| file.ends_with("docs/install.md")));
    let broken: Vec<String> = files
        .iter()
        .flat_map(|file| broken_links(&root, file))
        .collect();
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// The Markdown files (`NAME.md`, any path) that `text` names, in prose or
/// code, except absolute paths (a `--output /tmp/x.md`).
fn markdown_names(text: &str) -> Vec<&str> {
    let is_path_char = |c: char| c.is_ascii_alphanumeric() || "_./-".contains(c);
    let mut names = Vec::new();
    for (end, _) in text.match_indices(".md") {
        let after = text[end + 3..].chars().next();
        if after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let start = text[..end]
            .char_indices()
            .rev()
            .find(|&(_, c)| !is_path_char(c))
            .map_or(0, |(index, c)| index + c.len_utf8());
        let name = &text[start..end + 3];
        if name.len() > 3 && !name.starts_with('/') {
            names.push(name);
        }
    }
    names
}

#[test]
fn markdown_names_are_found_in_prose_and_code() {
    assert_eq!(
        markdown_names(
            "see [x](docs/a.md#b), `../shared/STYLE.md`, x.mdx, /tmp/o.md and DESIGN.md."
        ),
        ["docs/a.md", "../shared/STYLE.md", "DESIGN.md"]
    );
}

/// A document that names another (`DESIGN.md`, `../shared/STYLE.md`)
/// names a file of the repository: relative to itself, or to the root.
#[test]
fn every_document_named_is_in_the_repository() {
    let root = Path::new(CHECKOUT).canonicalize().unwrap();
    let mut missing = Vec::new();
    for file in markdown_files(&root) {
        let text = fs::read_to_string(&file).unwrap();
        for name in markdown_names(&text) {
            let found = [file.parent().unwrap(), root.as_path()].iter().any(|dir| {
                dir.join(name)
                    .canonicalize()
                    .is_ok_and(|path| path.starts_with(&root))
            });
            if !found {
                missing.push(format!(
                    "{}: {name}",
                    file.strip_prefix(&root).unwrap().display()
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not in the repository:\n{}",
        missing.join("\n")
    );
}

/// The Rust the documents ask for (`Rust 1.85 or newer`) is the workspace's
/// `rust-version`.
#[test]
fn the_documented_rust_version_is_the_workspaces() {
    let root = Path::new(CHECKOUT);
    let cargo = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let rust_version = cargo
        .lines()
        .find_map(|line| line.strip_prefix("rust-version = "))
        .expect("rust-version in Cargo.toml")
        .trim_matches('"');
    let mut named = Vec::new();
    for file in markdown_files(&root.canonicalize().unwrap()) {
        let text = fs::read_to_string(&file).unwrap();
        let words: Vec<&str> = text.split_whitespace().collect();
        for pair in words.windows(3) {
            let version = pair[0].trim_start_matches('(');
            if pair[1] == "or" && pair[2].starts_with("newer") && version.starts_with("1.") {
                named.push((file.clone(), version.to_string()));
            }
        }
    }
    assert!(
        named.iter().any(|(file, _)| file.ends_with("README.md")),
        "the README names no Rust version"
    );
    for (file, version) in named {
        assert_eq!(version, rust_version, "{}", file.display());
    }
}

/// A `$` command of a `console` block and the output shown after it.
struct Step {
    command: String,
    output: Vec<String>,
    line: usize,
}

/// The README's files (`# PATH` on a block's first line) and its console
/// steps, in document order.
fn readme_examples() -> (Vec<(String, String)>, Vec<Step>) {
    let readme = fs::read_to_string(Path::new(CHECKOUT).join("README.md")).unwrap();
    let (blocks, _) = parse_markdown(&readme);
    let mut files = Vec::new();
    let mut steps: Vec<Step> = Vec::new();
    for block in blocks {
        let first = block.lines.first().map_or("", String::as_str);
        if let Some(path) = first.strip_prefix("# ") {
            if !path.contains(' ') && path.contains('.') && !path.starts_with('/') {
                let mut content = block.lines.join("\n");
                content.push('\n');
                files.push((path.to_string(), content));
                continue;
            }
        }
        if block.info != "console" {
            continue;
        }
        let mut continued = false;
        for (offset, line) in block.lines.iter().enumerate() {
            if continued {
                let step = steps.last_mut().unwrap();
                step.command.push('\n');
                step.command.push_str(line);
            } else if let Some(command) = line.strip_prefix("$ ") {
                steps.push(Step {
                    command: command.to_string(),
                    output: Vec::new(),
                    line: block.line + 1 + offset,
                });
            } else {
                let step = steps.last_mut().unwrap_or_else(|| {
                    panic!(
                        "README.md:{}: a console block must start with a $ line",
                        block.line
                    )
                });
                step.output.push(line.clone());
            }
            continued = line.ends_with('\\');
        }
    }
    (files, steps)
}

/// A directory whose `bin` holds what the README's commands find on
/// `PATH`: `python3` (the interpreter under test) and the two commands.
/// `bin` is not directly in the temporary directory: as root, wrapt-install
/// refuses a base interpreter whose `bin` is in a directory everyone can
/// write, where Python looks for `pyvenv.cfg`.
fn tools_dir(python: &Python) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("wrapt-readme-tools-")
        .tempdir()
        .unwrap();
    let bin = dir.path().join("bin");
    fs::create_dir(&bin).unwrap();
    let link = |target: &Path, name: &str| {
        std::os::unix::fs::symlink(target, bin.join(name)).unwrap();
    };
    link(&python.exe, "python3");
    link(
        Path::new(env!("CARGO_BIN_EXE_wrapt-install")),
        "wrapt-install",
    );
    link(
        Path::new(env!("CARGO_BIN_EXE_wrapt-uninstall")),
        "wrapt-uninstall",
    );
    dir
}

/// Runs the README's steps in a fresh directory with `python` as
/// `python3`; returns what went wrong, if anything.
fn walk_readme(python: &Python, files: &[(String, String)], steps: &[Step]) -> Option<String> {
    let work = tempfile::Builder::new()
        .prefix("wrapt-readme-")
        .tempdir()
        .unwrap();
    let work_dir = work.path().canonicalize().unwrap();
    for (path, content) in files {
        let path = work_dir.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
    let tools = tools_dir(python);
    let mut search = vec![tools.path().join("bin")];
    search.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap()));
    let path = std::env::join_paths(search).unwrap();
    let version = stdout(&run_ok(Command::new(&python.exe).args([
        "-I",
        "-c",
        "import sys; print('%d.%d.%d' % sys.version_info[:3])",
    ])));
    let shown_as = |text: String| -> String {
        let text = text.replace(work_dir.to_str().unwrap(), SHOWN_DIR);
        match python.kind {
            Kind::CPython => text
                .replace(&format!("lib/python3.{}/", python.minor), SHOWN_LIB)
                .replace(&format!("Python {}", version.trim()), SHOWN_PYTHON),
            Kind::PyPy => text,
        }
    };
    let run = |command: &str| {
        let mut sh = base_command("sh");
        sh.env_remove("LD_LIBRARY_PATH")
            .env("PATH", &path)
            .current_dir(&work_dir)
            // One stream, in the order a terminal shows them.
            .args(["-c", &format!("exec 2>&1\n{command}")]);
        sh.output().expect("spawn sh")
    };
    for step in steps {
        let output = run(&step.command);
        let shown = shown_as(stdout(&output));
        let expected: String = step.output.iter().flat_map(|line| [line, "\n"]).collect();
        // PyPy's paths and implementation differ from what the README shows.
        let comparable = !(python.kind == Kind::PyPy && expected.contains(SHOWN_DIR));
        if !output.status.success() || (!expected.is_empty() && comparable && shown != expected) {
            return Some(format!(
                "README.md:{}: `{}` exited {:?}\n--- shown\n{expected}--- got\n{shown}",
                step.line,
                step.command,
                output.status.code()
            ));
        }
    }
    // The editable install runs the project's files as they are: an edit
    // shows at the next start.
    let hook = work_dir.join("acme-patches/acme_patches/sqlite3.py");
    let source = fs::read_to_string(&hook).unwrap();
    fs::write(&hook, source.replace("acme: ", "acme, edited: ")).unwrap();
    let output =
        run(r#".venv/bin/python -c 'from sqlite3 import connect; connect(":memory:").close()'"#);
    let edited = stdout(&output);
    if edited != "acme, edited: sqlite3.connect(':memory:')\n" {
        return Some(format!(
            "an edit of the editable install did not show: {edited}"
        ));
    }
    None
}

#[test]
fn the_readme_examples_run_as_written() {
    let (files, steps) = readme_examples();
    let paths: Vec<&str> = files.iter().map(|(path, _)| path.as_str()).collect();
    for expected in [
        "acme-patches/pyproject.toml",
        "acme-patches/acme_patches/__init__.py",
        "acme-patches/acme_patches/sqlite3.py",
    ] {
        assert!(paths.contains(&expected), "README.md has no {expected}");
    }
    let commands: Vec<&str> = steps.iter().map(|step| step.command.as_str()).collect();
    for expected in [
        "wrapt-install --venv .venv --create",
        ".venv/bin/pip install ./acme-patches",
        ".venv/bin/pip install -e ./acme-patches",
    ] {
        assert!(commands.contains(&expected), "README.md runs no {expected}");
    }
    let failures: Vec<String> = pythons_and_pypy()
        .iter()
        .filter_map(|python| walk_readme(python, &files, &steps).map(|f| format!("{python}: {f}")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// What the README's Python API table says beyond wrapt's API (which
/// `hooks::api_is_wrapt_compatible` proves): the functions serve with the
/// kill switch on, which governs startup only; a hook may be a
/// `"module:attr"` string, imported with its target; `__version__` is the
/// version.
#[test]
fn the_python_api_serves_under_the_kill_switch_and_takes_string_hooks() {
    let patches = recording_dist("colorsys");
    let code = r#"
import builtins, sys, wrapt_bootstrap
wrapt_bootstrap.register_post_import_hook("acme_patch:hook", "wave")
wrapt_bootstrap.discover_post_import_hooks("acme.patches")
assert "acme_patch" not in sys.modules
import colorsys, wave
print(builtins.FIRED, wrapt_bootstrap.__version__)
"#;
    each_interpreter(|venv, implementation| {
        let env = [("WRAPT_PATCHES", "0"), ("PYTHONPATH", patches.path_str())];
        let output = venv.run_code(implementation, &env, code);
        assert_eq!(
            stdout(&output),
            format!(
                "[('acme_patch', 'colorsys'), ('acme_patch', 'wave')] {}\n",
                env!("CARGO_PKG_VERSION")
            ),
            "{}",
            describe(&output)
        );
    });
}
