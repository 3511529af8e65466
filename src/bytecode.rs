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

use std::path::Path;
use std::process::Command;

use base64::Engine as _;

use crate::{plan, target};

/// Run as `EXE -I -S -X no_debug_ranges -c COMPILE SOURCES PURELIB MTIME`:
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
    for rel, source in json.loads(sys.argv[1]).items():
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
    let mut cmd = Command::new(interpreter);
    cmd.args(["-I", "-S", "-X", "no_debug_ranges", "-c", COMPILE])
        .arg(serde_json::Value::Object(request).to_string())
        .arg(purelib)
        .arg(plan::INSTALLED_MTIME.to_string())
        .current_dir("/");
    target::clean_python_env(&mut cmd);
    let output = target::output(&mut cmd).map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "it failed ({}): {}",
            output.status,
            target::last_line(&output.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let answer: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(stdout.trim_end()).map_err(|e| format!("unexpected answer: {e}"))?;
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
