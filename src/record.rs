//! `RECORD` files (PEP 376, as amended by PEP 627 and the binary distribution
//! format spec): one CSV row per installed file, `path,sha256=<digest>,size`,
//! the digest urlsafe base64 without padding, RECORD's own row `RECORD,,`.
//!
//! Writing: rows sorted by path, forward slashes, `\n` line ends, written with
//! the csv crate (quoting as Python's `csv` module would). Reading is split
//! like pypa/installer's `records.py`: [`parse`] only splits rows, [`validate`]
//! checks them and collects every problem into one report instead of
//! stopping at the first; [`read`] does both, for the transaction and the
//! tests alike.

use std::path::Path;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use crate::error::Error;

/// One validated `RECORD` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordEntry {
    /// Relative to purelib, forward slashes, checked by [`check_relative_path`].
    pub path: String,
    /// `sha256=<urlsafe base64, no padding>`; `None` for RECORD's own row
    /// and for bytecode, as pip lists it.
    pub hash: Option<String>,
    /// `None` where `hash` is.
    pub size: Option<u64>,
}

impl RecordEntry {
    /// The entry for a file with these contents.
    pub fn for_bytes(path: &str, bytes: &[u8]) -> Self {
        RecordEntry {
            path: path.to_owned(),
            hash: Some(hash_bytes(bytes)),
            size: Some(bytes.len() as u64),
        }
    }

    /// Whether `bytes` are what this entry recorded. An entry without a hash
    /// (RECORD's own row) matches nothing: it cannot vouch for contents.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        match (&self.hash, self.size) {
            (Some(hash), size) => {
                size.is_none_or(|s| s == bytes.len() as u64) && *hash == hash_bytes(bytes)
            }
            (None, _) => false,
        }
    }
}

/// `sha256=<digest>` in RECORD's encoding: urlsafe base64, no padding.
pub fn hash_bytes(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    format!(
        "sha256={}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    )
}

/// Renders a complete RECORD for `entries` (which must not include RECORD
/// itself): sorted by path, with the row `<record_path>,,` among them.
pub fn render(entries: &[RecordEntry], record_path: &str) -> Vec<u8> {
    let mut rows: Vec<&RecordEntry> = entries.iter().collect();
    let own = RecordEntry {
        path: record_path.to_owned(),
        hash: None,
        size: None,
    };
    rows.push(&own);
    rows.sort_by(|a, b| a.path.cmp(&b.path));

    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    for row in rows {
        let size = row.size.map(|s| s.to_string()).unwrap_or_default();
        writer
            .write_record([row.path.as_str(), row.hash.as_deref().unwrap_or(""), &size])
            .expect("writing CSV to a Vec cannot fail");
    }
    writer
        .into_inner()
        .expect("flushing CSV to a Vec cannot fail")
}

/// Splits RECORD into rows of fields, without judging them.
pub fn parse(bytes: &[u8]) -> Result<Vec<Vec<String>>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    reader
        .records()
        .map(|row| {
            row.map(|r| r.iter().map(str::to_owned).collect())
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// Checks parsed rows; returns every problem found, not only the first.
pub fn validate(rows: Vec<Vec<String>>) -> Result<Vec<RecordEntry>, Vec<String>> {
    let mut entries = Vec::with_capacity(rows.len());
    let mut problems = Vec::new();
    for (index, row) in rows.into_iter().enumerate() {
        let line = index + 1;
        let [path, hash, size]: [String; 3] = match row.try_into() {
            Ok(fields) => fields,
            Err(row) => {
                problems.push(format!(
                    "row {line}: expected 3 fields (path,hash,size), found {}",
                    row.len()
                ));
                continue;
            }
        };
        if let Err(reason) = check_relative_path(&path) {
            problems.push(format!("row {line}: path {path:?} {reason}"));
            continue;
        }
        let hash = if hash.is_empty() {
            None
        } else if let Some(digest) = hash.strip_prefix("sha256=") {
            let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(digest);
            if decoded.map_or(true, |d| d.len() != 32) {
                problems.push(format!(
                    "row {line}: {path}: malformed sha256 digest {hash:?}"
                ));
                continue;
            }
            Some(hash)
        } else {
            problems.push(format!(
                "row {line}: {path}: unsupported hash {hash:?} (only sha256 is written by installers)"
            ));
            continue;
        };
        let size = if size.is_empty() {
            None
        } else if let Ok(size) = size.parse::<u64>() {
            Some(size)
        } else {
            problems.push(format!("row {line}: {path}: size {size:?} is not a number"));
            continue;
        };
        if hash.is_some() != size.is_some() {
            problems.push(format!(
                "row {line}: {path}: hash and size must both be given or both be empty"
            ));
            continue;
        }
        entries.push(RecordEntry { path, hash, size });
    }
    if problems.is_empty() {
        Ok(entries)
    } else {
        Err(problems)
    }
}

/// The validated entries of the RECORD at `record` (which errors name):
/// parsed, every path checked, then validated. A path that could escape
/// purelib is [`Error::UnsafePath`] (refused, exit 3) before anything else
/// is judged; any other problem is [`Error::BadRecord`], every problem
/// named.
pub fn read(record: &Path, bytes: &[u8]) -> crate::error::Result<Vec<RecordEntry>> {
    let rows = parse(bytes).map_err(|problems| Error::BadRecord {
        path: record.to_owned(),
        problems,
    })?;
    for row in &rows {
        if let Some(path) = row.first() {
            if let Err(reason) = check_relative_path(path) {
                return Err(Error::UnsafePath {
                    record: record.to_owned(),
                    entry: path.clone(),
                    reason: reason.to_owned(),
                });
            }
        }
    }
    validate(rows).map_err(|problems| Error::BadRecord {
        path: record.to_owned(),
        problems: problems.join("; "),
    })
}

/// Refuses RECORD paths that could reach outside purelib: absolute paths,
/// `..`, empty or `.` components, backslashes (a Windows separator: never
/// written by us), NUL. Symlinks along the path are refused on disk, where
/// the file is touched: [`SitePackages`](crate::site_packages::SitePackages)
/// never follows one.
pub fn check_relative_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("is empty");
    }
    if path.starts_with('/') {
        return Err("is absolute");
    }
    if path.contains('\\') || path.contains('\0') {
        return Err("contains a backslash or NUL");
    }
    for component in path.split('/') {
        match component {
            ".." => return Err("contains '..'"),
            "" | "." => return Err("contains an empty or '.' component"),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors as pip writes them: `python -c "import hashlib, base64;
    // print(base64.urlsafe_b64encode(hashlib.sha256(b'hello\n').digest()).rstrip(b'='))"`.
    #[test]
    fn hashes_match_pip() {
        assert_eq!(
            hash_bytes(b"hello\n"),
            "sha256=WJG1tSLV3whtD_CxEPvZ0hu0_HFjrzTQgoai6Eb2vgM"
        );
        assert_eq!(
            hash_bytes(b""),
            "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
        // Standard base64 would have '+' and '/' here, and '=' padding.
        assert_eq!(
            hash_bytes(b"wrapt-install\n"),
            "sha256=WDgZe_VJGAq9kqv2iKnYaGTgR3WZeqH_ziv8VR45NjI"
        );
    }

    #[test]
    fn entry_for_bytes() {
        let e = RecordEntry::for_bytes("a/b.py", b"hello\n");
        assert_eq!(e.size, Some(6));
        assert!(e.matches(b"hello\n"));
        assert!(!e.matches(b"hello"));
        let own = RecordEntry {
            path: "x.dist-info/RECORD".into(),
            hash: None,
            size: None,
        };
        assert!(!own.matches(b""));
    }

    #[test]
    fn render_is_sorted_with_own_row() {
        let entries = vec![
            RecordEntry::for_bytes("z.pth", b"import z\n"),
            RecordEntry::for_bytes("pkg/__init__.py", b"hello\n"),
            RecordEntry::for_bytes("pkg,with comma.py", b""),
        ];
        let text = String::from_utf8(render(&entries, "pkg-1.0.dist-info/RECORD")).unwrap();
        assert_eq!(
            text,
            "\"pkg,with comma.py\",sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n\
             pkg-1.0.dist-info/RECORD,,\n\
             pkg/__init__.py,sha256=WJG1tSLV3whtD_CxEPvZ0hu0_HFjrzTQgoai6Eb2vgM,6\n\
             z.pth,sha256=klp29XK-b_lB-r-rsM2NKSWtDWkE2W9JY0NNSnHnItA,9\n"
        );
    }

    #[test]
    fn round_trip() {
        let entries = vec![
            RecordEntry::for_bytes("pkg/__init__.py", b"hello\n"),
            RecordEntry::for_bytes("pkg/_native.abi3.so", &[0u8, 1, 2, 255]),
            RecordEntry::for_bytes("odd \"name\",.py", b"x"),
        ];
        let bytes = render(&entries, "pkg-1.0.dist-info/RECORD");
        let mut read_back = read(Path::new("RECORD"), &bytes).unwrap();
        let own = read_back
            .iter()
            .position(|e| e.path == "pkg-1.0.dist-info/RECORD")
            .unwrap();
        let own = read_back.remove(own);
        assert_eq!((own.hash, own.size), (None, None));
        let mut expected = entries.clone();
        expected.sort_by(|a, b| a.path.cmp(&b.path));
        assert_eq!(read_back, expected);
        // Rendering what was read gives the same bytes.
        assert_eq!(render(&read_back, "pkg-1.0.dist-info/RECORD"), bytes);
    }

    #[test]
    fn reads_crlf_and_pip_style_rows() {
        let text = "pkg/__init__.py,sha256=WJG1tSLV3whtD_CxEPvZ0hu0_HFjrzTQgoai6Eb2vgM,6\r\n\
                    pkg/__pycache__/__init__.cpython-312.pyc,,\r\n\
                    pkg-1.0.dist-info/RECORD,,\r\n";
        let entries = read(Path::new("RECORD"), text.as_bytes()).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].size, Some(6));
        assert_eq!(entries[1].hash, None);
    }

    #[test]
    fn validation_collects_every_problem() {
        let text = "a.py,md5=abc,3\n\
                    ../evil.py,sha256=WJG1tSLV3whtD_CxEPvZ0hu0_HFjrzTQgoai6Eb2vgM,6\n\
                    b.py,sha256=WJG1tSLV3whtD_CxEPvZ0hu0_HFjrzTQgoai6Eb2vgM,six\n\
                    c.py,sha256=short,1\n\
                    d.py\n\
                    ok.py,,\n";
        let problems = validate(parse(text.as_bytes()).unwrap()).unwrap_err();
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(problems[0].contains("unsupported hash"));
        assert!(problems[1].contains("'..'"));
        assert!(problems[2].contains("not a number"));
        assert!(problems[3].contains("malformed"));
        assert!(problems[4].contains("3 fields"));
    }

    #[test]
    fn reading_refuses_an_escaping_path_before_judging_the_rest() {
        let record = Path::new("/sp/x-1.0.dist-info/RECORD");
        let err = read(record, b"a.py,md5=abc,3\n../evil.py,,\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/sp/x-1.0.dist-info/RECORD lists \"../evil.py\", which is outside the environment (contains '..'); refusing to touch it"
        );
        let err = read(record, b"a.py,md5=abc,3\nd.py\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/sp/x-1.0.dist-info/RECORD: unreadable RECORD: row 1: a.py: unsupported hash \"md5=abc\" (only sha256 is written by installers); row 2: expected 3 fields (path,hash,size), found 1; remove the file by hand or reinstall with --force"
        );
    }

    #[test]
    fn path_escapes_are_rejected() {
        for bad in [
            "",
            "/etc/passwd",
            "../../bin/python",
            "pkg/../../x",
            "pkg/./x",
            "pkg//x",
            "pkg/",
            "pkg\\..\\x",
            "..",
        ] {
            assert!(check_relative_path(bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "a.pth",
            "pkg/__init__.py",
            "pkg-1.0.dist-info/RECORD",
            "..pth",
            "a..b",
        ] {
            assert!(check_relative_path(good).is_ok(), "{good:?} rejected");
        }
    }
}
