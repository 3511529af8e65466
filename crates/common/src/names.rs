//! Names as the packaging specs define them.

/// Whether `name` may be used as a patch group name (`WRAPT_PATCHES`,
/// `--enable`): non-empty, only `[A-Za-z0-9_.-]`. Anything else is ignored at
/// startup with a warning and refused by the CLI, so nothing from the
/// environment can smuggle syntax into the files we render.
pub fn is_valid_group_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// The distribution name a `*.dist-info` / `*.egg-info` directory stands for,
/// normalized the way `importlib.metadata` deduplicates distributions: the
/// part of the stem before the first `-`, runs of `-_.` folded to `_`,
/// lowercased (PEP 503 normalization with `_` as the separator).
/// Returns `None` for names that are not metadata directories.
pub fn normalized_dist_name(dir_name: &str) -> Option<String> {
    let mut out = String::new();
    push_normalized_dist_name(dir_name, &mut out).then_some(out)
}

/// [`normalized_dist_name`] appended to `out`, so that the scan can fold
/// hundreds of names at startup into one reused buffer. Returns `false`
/// (and leaves `out` as it was) for names that are not metadata directories.
pub fn push_normalized_dist_name(dir_name: &str, out: &mut String) -> bool {
    let Some(stem) = dir_name
        .strip_suffix(".dist-info")
        .or_else(|| dir_name.strip_suffix(".egg-info"))
    else {
        return false;
    };
    // One pass over the bytes finds the end of the name (the first `-`,
    // ASCII, so a char boundary) and whether it needs more than lowercasing.
    let (len, plain) = scan_name(stem.as_bytes());
    let name = &stem[..len];
    if name.is_empty() {
        return false;
    }
    if plain {
        // The common case (installers write names already folded, at most
        // in another case): a copy, lowercased in place. This runs for
        // every distribution at startup.
        let start = out.len();
        out.push_str(name);
        out[start..].make_ascii_lowercase();
        return true;
    }
    // Folded first, then lowercased as a whole, as importlib.metadata does
    // (`re.sub("[-_.]+", "_", name).lower()`): a final sigma is only final
    // once the separators are `_`.
    let mut folded = String::with_capacity(name.len());
    let mut in_separator_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator_run {
                folded.push('_');
            }
            in_separator_run = true;
        } else {
            folded.push(c);
            in_separator_run = false;
        }
    }
    out.push_str(&folded.to_lowercase());
    true
}

/// The length of the part of `stem` before its first `-`, and whether that
/// part is plain: ASCII with no separator other than a lone `_` (no `.`,
/// no `__`), so that lowercasing alone folds it.
fn scan_name(stem: &[u8]) -> (usize, bool) {
    let mut plain = true;
    let mut previous_underscore = false;
    for (at, &b) in stem.iter().enumerate() {
        if b == b'-' {
            return (at, plain);
        }
        let underscore = b == b'_';
        if !b.is_ascii() || b == b'.' || (underscore && previous_underscore) {
            plain = false;
        }
        previous_underscore = underscore;
    }
    (stem.len(), plain)
}

/// Whether `name` is a dotted Python module path (`a.b_c.d`): what an entry
/// name must be to serve as a post-import hook target. Each part is
/// `str.isidentifier()`: `_` or XID_Start, then XID_Continue, with no NFKC
/// normalisation (the parser normalises identifiers, `isidentifier` does
/// not), so that `--list` and startup in both twins agree.
pub fn is_dotted_module_name(name: &str) -> bool {
    name.split('.').all(is_identifier)
}

/// Python's `str.isidentifier()`.
pub fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || unicode_ident::is_xid_start(c))
        && chars.all(unicode_ident::is_xid_continue)
}

/// The candidate nearest to `name`, if one is close enough to be the name
/// meant: for "did you mean" under a group that nothing declares
/// (`wrapt-install --enable`, `--disable`, `WRAPT_PATCHES_DEBUG`). Nearest
/// by [`distance`] ignoring ASCII case; close means at most a third of
/// `name`'s length (at least one edit), the threshold rustc uses for its own
/// suggestions; ties go to the first candidate in `candidates`' order, which
/// callers give sorted. `name` itself is never suggested. `nearest` in the
/// fallback's `_explain.py` is the same function.
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = name.len().max(3) / 3;
    let folded = name.to_ascii_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if candidate == name {
            continue;
        }
        let d = distance(&folded, &candidate.to_ascii_lowercase());
        if d <= limit && best.is_none_or(|(least, _)| d < least) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// The optimal string alignment distance between `a` and `b`, in bytes:
/// insertions, deletions, substitutions and transpositions of two adjacent
/// bytes (`exmaples` is one edit from `examples`). Group names are ASCII.
pub fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    // Three rows of the table: two back, the previous one and this one.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            current[j] = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                current[j] = current[j].min(before[j - 2] + 1);
            }
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names() {
        assert!(is_valid_group_name("acme.patches"));
        assert!(is_valid_group_name("wrapt_bootstrap.examples-2"));
        assert!(!is_valid_group_name(""));
        assert!(!is_valid_group_name("a b"));
        assert!(!is_valid_group_name("a;import os"));
        assert!(!is_valid_group_name("grüppe"));
    }

    #[test]
    fn dist_names_fold_like_importlib_metadata() {
        assert_eq!(
            normalized_dist_name("Foo.Bar-1.0.dist-info").as_deref(),
            Some("foo_bar")
        );
        assert_eq!(
            normalized_dist_name("foo__bar-1.0.dist-info").as_deref(),
            Some("foo_bar")
        );
        assert_eq!(
            normalized_dist_name("foo_bar.egg-info").as_deref(),
            Some("foo_bar")
        );
        assert_eq!(
            normalized_dist_name("foo_bar-1.0-py3.9.egg-info").as_deref(),
            Some("foo_bar")
        );
        assert_eq!(normalized_dist_name("foo_bar"), None);
        assert_eq!(normalized_dist_name("-1.0.dist-info"), None);
        assert_eq!(
            normalized_dist_name("_Foo_._Bar_-1.0.dist-info").as_deref(),
            Some("_foo_bar_")
        );
        assert_eq!(
            normalized_dist_name("Foo_Bar.egg-info").as_deref(),
            Some("foo_bar")
        );
        assert_eq!(
            normalized_dist_name("ÄrgeR_x-1.dist-info").as_deref(),
            Some("ärger_x")
        );
        // Python's lower() of the folded name: the sigma before `_` is final.
        assert_eq!(
            normalized_dist_name("ΑΣ.Β-1.0.dist-info").as_deref(),
            Some("ας_β")
        );
    }

    #[test]
    fn dist_names_append_to_a_buffer() {
        let mut out = String::from("kept|");
        assert!(push_normalized_dist_name(
            "Zope.Interface-5.dist-info",
            &mut out
        ));
        assert_eq!(out, "kept|zope_interface");
        assert!(!push_normalized_dist_name("-1.0.egg-info", &mut out));
        assert!(!push_normalized_dist_name("README", &mut out));
        assert_eq!(out, "kept|zope_interface");
        assert!(push_normalized_dist_name("Ärger-1.dist-info", &mut out));
        assert_eq!(out, "kept|zope_interfaceärger");
    }

    #[test]
    fn dotted_module_names() {
        assert!(is_dotted_module_name("tempfile"));
        assert!(is_dotted_module_name("os.path"));
        assert!(is_dotted_module_name("_private.mod2"));
        assert!(!is_dotted_module_name("os..path"));
        assert!(!is_dotted_module_name("2to3"));
        assert!(!is_dotted_module_name("a-b"));
        assert!(!is_dotted_module_name(""));
    }

    /// Each case as `/opt/newer-pythons/bin/python3.14 -c
    /// 'print(s.isidentifier())'` answers it (Unicode 16.0).
    #[test]
    fn identifiers_are_pythons() {
        for (text, python) in [
            ("e\u{301}", true),   // combining acute: XID_Continue
            ("\u{2118}", true),   // script P: Other_ID_Start, not alphabetic
            ("x\u{b7}", true),    // middle dot: Other_ID_Continue
            ("\u{1d518}", true),  // fraktur U, not NFKC-normalised first
            ("\u{b7}x", false),   // continues, never starts
            ("\u{309b}", false),  // NFKC would make it a space and a mark
            ("a\u{2e2f}", false), // vertical tilde: alphabetic, Pattern_Syntax
            ("\u{ff41}", true),   // fullwidth a
            ("_", true),
            ("a1", true),
            ("1a", false),
            ("a-b", false),
            ("", false),
        ] {
            assert_eq!(is_identifier(text), python, "{text:?}");
        }
        assert!(is_dotted_module_name("\u{2118}.x\u{b7}.e\u{301}"));
        assert!(!is_dotted_module_name("a.\u{2e2f}"));
    }
    #[test]
    fn distances() {
        for (a, b, d) in [
            ("", "", 0),
            ("abc", "", 3),
            ("", "abc", 3),
            ("examples", "examples", 0),
            ("exmaples", "examples", 1),
            ("example", "examples", 1),
            ("exampels", "examples", 1),
            ("kitten", "sitting", 3),
            ("ca", "abc", 3),
            ("acme.patches", "acme.pathces", 1),
        ] {
            assert_eq!(distance(a, b), d, "{a} {b}");
            assert_eq!(distance(b, a), d, "{b} {a}");
        }
    }

    #[test]
    fn nearest_only_when_close() {
        let groups = ["acme.patches", "wrapt_bootstrap.examples", "zeta"];
        let near = |name| nearest(name, groups);
        assert_eq!(
            near("wrapt_bootstrap.exmaples"),
            Some("wrapt_bootstrap.examples")
        );
        assert_eq!(
            near("wrapt_bootstrap.example"),
            Some("wrapt_bootstrap.examples")
        );
        assert_eq!(near("Acme.Patches"), Some("acme.patches"));
        assert_eq!(near("acme.patches"), None, "itself is no suggestion");
        assert_eq!(near("requests"), None);
        assert_eq!(near("zeta2"), Some("zeta"));
        assert_eq!(near("zx"), None);
        // A third of the length: 12 letters allow 4 edits, not 5.
        assert_eq!(nearest("acme.patches", ["acme.pa"]), None);
        assert_eq!(nearest("acme.patches", ["acme.pat"]), Some("acme.pat"));
        // Ties: the first in the order given.
        assert_eq!(nearest("ab", ["ac", "aa"]), Some("ac"));
        assert_eq!(nearest("x", std::iter::empty()), None);
    }
}
