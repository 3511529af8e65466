//! Python's `str` methods the metadata and the environment are read with,
//! where Rust's differ: `isspace` and `strip` count U+001C..U+001F as white
//! space, `splitlines` breaks at more than `\n` and `\r`; and the lines of
//! a text file as Python iterates them. Shared by `entry_points`,
//! `selection` and the CLI's `src/site.rs`.

/// Python's `str.isspace()` for one character: Unicode `White_Space` plus the
/// four C0 separators `\x1c`–`\x1f`, which Python counts and Rust does not.
pub fn isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()` with no argument.
pub fn strip(s: &str) -> &str {
    s.trim_matches(isspace)
}

/// Python's `str.splitlines()`: breaks at `\n`, `\r\n`, `\r`, `\v`, `\f`,
/// `\x1c`–`\x1e`, `\x85`, U+2028 and U+2029. A trailing break does not make
/// an empty last line.
pub fn splitlines(text: &str) -> impl Iterator<Item = &str> {
    lines_broken_at(text, is_line_break)
}

/// The lines of a text file opened with universal newlines, as iterating
/// it gives them, without their ends: breaks at `\n`, `\r\n` and `\r`
/// only. A trailing break does not make an empty last line.
pub fn text_file_lines(text: &str) -> impl Iterator<Item = &str> {
    lines_broken_at(text, |c| c == '\n' || c == '\r')
}

/// `text` split at each character `is_break` accepts, `\r\n` counting as
/// one break.
fn lines_broken_at(text: &str, is_break: fn(char) -> bool) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.char_indices().find(|&(_, c)| is_break(c)) {
            Some((at, c)) => {
                let line = &rest[..at];
                let mut next = at + c.len_utf8();
                if c == '\r' && rest.as_bytes().get(next) == Some(&b'\n') {
                    next += 1;
                }
                rest = &rest[next..];
                Some(line)
            }
            None => Some(std::mem::take(&mut rest)),
        }
    })
}

fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r'
            | '\u{0b}'
            | '\u{0c}'
            | '\u{1c}'
            | '\u{1d}'
            | '\u{1e}'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_splitlines_and_strip() {
        let lines: Vec<_> = splitlines("a\nb\r\nc\rd\u{2028}e\x0cf\n").collect();
        assert_eq!(lines, ["a", "b", "c", "d", "e", "f"]);
        assert_eq!(splitlines("").count(), 0);
        assert_eq!(splitlines("\n\n").collect::<Vec<_>>(), ["", ""]);
        assert_eq!(strip("\x1f a \u{a0}"), "a");
        // A text file breaks only at \n, \r\n and \r.
        let lines: Vec<_> = text_file_lines("a\x0cb\rc\r\nd\u{2028}e\n\n").collect();
        assert_eq!(lines, ["a\x0cb", "c", "d\u{2028}e", ""]);
        assert_eq!(text_file_lines("").count(), 0);
    }

    #[test]
    fn strip_is_pythons() {
        // Python's str.strip() white space, every one of it.
        let python: Vec<u32> = [0x9..=0xd, 0x1c..=0x20]
            .into_iter()
            .flatten()
            .chain([0x85, 0xa0, 0x1680])
            .chain(0x2000..=0x200a)
            .chain([0x2028, 0x2029, 0x202f, 0x205f, 0x3000])
            .collect();
        let ours: Vec<u32> = (0..=char::MAX as u32)
            .filter_map(char::from_u32)
            .filter(|c| strip(c.encode_utf8(&mut [0; 4])).is_empty())
            .map(u32::from)
            .collect();
        assert_eq!(ours, python);
    }
}
