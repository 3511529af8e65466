//! The package's bytecode, compiled at install time by the environment's
//! own interpreter, as pip compiles what it installs.
//!
//! Without it, an interpreter that cannot write `__pycache__` (read-only
//! site-packages, `PYTHONDONTWRITEBYTECODE=1` as container images often
//! set) compiles `wrapt_bootstrap/__init__.py` at every enabled start: 27M
//! instructions on CPython 3.12, nine times everything else the bootstrap
//! costs. The `.pyc` files are timestamp-checked like those importlib
//! writes, against the fixed mtime every installed file gets
//! (`plan::INSTALLED_MTIME`): no more to validate than a `stat` importlib
//! makes anyway, the same bytes from every install, and an edited source is
//! recompiled rather than shadowed. They carry no column tables (`-X
//! no_debug_ranges`, 3.11+): only tracebacks' `^^^` markers are lost.

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use base64::Engine as _;

use crate::{plan, python};

/// Run as `EXE -I -S -X no_debug_ranges -c COMPILE REQUEST PURELIB MTIME`,
/// REQUEST a JSON file `{path: source}`:
/// without site, so that no `.pth` line (ours included) runs first;
/// prints `{pyc path: base64}`: nothing where the interpreter keeps no
/// bytecode cache (`sys.implementation.cache_tag` None) or its importlib
/// lacks CPython's private writer (then it compiles at import, as before).
const COMPILE: &str = r#"
import base64, importlib.util, json, sys
try:
    from importlib._bootstrap_external import _code_to_timestamp_pyc
except ImportError:
    _code_to_timestamp_pyc = None
out = {}
if sys.implementation.cache_tag is not None and _code_to_timestamp_pyc is not None:
    with open(sys.argv[1], encoding="utf-8") as request:
        sources = json.load(request)
    for rel, source in sources.items():
        data = source.encode("utf-8")
        code = compile(data, sys.argv[2] + "/" + rel, "exec", dont_inherit=True)
        pyc = _code_to_timestamp_pyc(code, int(sys.argv[3]), len(data))
        out[importlib.util.cache_from_source(rel)] = base64.b64encode(pyc).decode("ascii")
sys.stdout.write(json.dumps(out) + "\n")
"#;

/// Compiles `sources` (`(path relative to purelib, UTF-8 source)`) with
/// `interpreter`; returns `(pyc path relative to purelib, bytes)`, or why
/// it could not.
pub fn compile(
    interpreter: &Path,
    purelib: &Path,
    sources: &[(&str, &[u8])],
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut request = serde_json::Map::new();
    for (path, bytes) in sources {
        let text = std::str::from_utf8(bytes).map_err(|_| format!("{path} is not UTF-8"))?;
        request.insert((*path).to_owned(), text.into());
    }
    let request = request_file(&serde_json::Value::Object(request))?;
    let mut cmd = python::isolated(interpreter);
    cmd.args(["-X", "no_debug_ranges", "-c", COMPILE])
        .arg(request.path())
        .arg(purelib)
        .arg(plan::INSTALLED_MTIME.to_string());
    let answer = answer(&mut cmd)?;
    let mut compiled = Vec::with_capacity(answer.len());
    for (path, encoded) in answer {
        let bytes = encoded
            .as_str()
            .and_then(|text| base64::engine::general_purpose::STANDARD.decode(text).ok())
            .ok_or_else(|| format!("unexpected answer for {path}"))?;
        compiled.push((path, bytes));
    }
    compiled.sort();
    Ok(compiled)
}

/// Run as `EXE -I -S -X no_debug_ranges -c EQUIVALENT REQUEST PURELIB`,
/// REQUEST a JSON file `[[pyc path, source path, source, pyc in base64],
/// ...]`: prints `{pyc path: null when it holds the code COMPILE makes of
/// the source, else why not}`. Code objects compare as CPython's `==` does
/// (instructions, constants, names, line and exception tables, nested
/// code), plus the file and qualified names `==` leaves out, the file names
/// as importlib fixes them up when it loads a pyc (an environment copied
/// elsewhere keeps the old path in its bytecode, which no import sees).
/// marshal only builds objects: nothing from the file runs.
const EQUIVALENT: &str = r#"
import _imp, base64, json, marshal, sys, types
def same(a, b):
    if type(a) is not type(b) or a != b:
        return False
    if not isinstance(a, types.CodeType):
        return True
    if (a.co_filename, getattr(a, "co_qualname", None)) != (b.co_filename, getattr(b, "co_qualname", None)):
        return False
    nested = [(x, y) for x, y in zip(a.co_consts, b.co_consts) if isinstance(x, types.CodeType)]
    return all(same(x, y) for x, y in nested)
with open(sys.argv[1], encoding="utf-8") as request:
    pairs = json.load(request)
out = {}
for pyc, rel, source, encoded in pairs:
    try:
        loaded = marshal.loads(base64.b64decode(encoded)[16:])
    except Exception as e:
        out[pyc] = "it is not valid bytecode (%s)" % e
        continue
    data = source.encode("utf-8")
    code = compile(data, sys.argv[2] + "/" + rel, "exec", dont_inherit=True)
    _imp._fix_co_filename(loaded, code.co_filename)
    out[pyc] = None if same(loaded, code) else "its code is not the code of %s" % rel
sys.stdout.write(json.dumps(out) + "\n")
"#;

/// For each `(pyc path, source path, source, bytes on disk)` whose header
/// matches what [`compile`] writes but whose bytes differ, whether it
/// holds the same code (marshal's reference flags follow reference counts,
/// so the same code can serialise differently): the pyc paths that do
/// not, each with why.
pub fn equivalent(
    interpreter: &Path,
    purelib: &Path,
    pairs: &[(String, String, &[u8], Vec<u8>)],
) -> Result<Vec<(String, String)>, String> {
    let mut request = Vec::with_capacity(pairs.len());
    for (pyc, rel, source, on_disk) in pairs {
        let text = std::str::from_utf8(source).map_err(|_| format!("{rel} is not UTF-8"))?;
        request.push(serde_json::json!([
            pyc,
            rel,
            text,
            base64::engine::general_purpose::STANDARD.encode(on_disk)
        ]));
    }
    let request = request_file(&serde_json::Value::Array(request))?;
    let mut cmd = python::isolated(interpreter);
    cmd.args(["-X", "no_debug_ranges", "-c", EQUIVALENT])
        .arg(request.path())
        .arg(purelib);
    let answer = answer(&mut cmd)?;
    let mut differing = Vec::new();
    for (pyc, ..) in pairs {
        match answer.get(pyc) {
            Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::String(why)) => differing.push((pyc.clone(), why.clone())),
            _ => return Err(format!("no answer for {pyc}")),
        }
    }
    Ok(differing)
}

/// A request in a temporary file, not an argument: the sources (and
/// bytecode) together approach the kernel's 128 KiB limit on one argument.
fn request_file(request: &serde_json::Value) -> Result<tempfile::NamedTempFile, String> {
    let mut file = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    // Serialised first and written at once: to_writer on the file made a
    // write call per token, some 3,400 per install.
    let bytes = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    file.write_all(&bytes).map_err(|e| e.to_string())?;
    Ok(file)
}

/// Runs one of the scripts above and parses the JSON object it prints.
fn answer(cmd: &mut Command) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let output = python::output(cmd).map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "it failed ({}): {}",
            output.status,
            python::last_line(&output.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim_end()).map_err(|e| format!("unexpected answer: {e}"))
}
