//! `anomaly.long-string`: string literals over 1,000 characters of base64-, hex-
//! or `\xNN`-escape-like content in Python code — embedded payloads.
//!
//! Has no prefilter literals (any Python file may hold one) but returns at once for
//! non-Python, small, test/docs/metadata files. Docstrings, prose, tests and data
//! files are ignored.

use super::pysrc::{self, Kind, MAX_HITS_PER_FILE};
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "anomaly.long-string",
    revision: 1,
    title: "Contains unusually long strings.",
    category: Category::Anomaly,
    severity: Severity::Low,
    description: "Long encoded strings in code are how payloads, droppers and packed code are embedded.",
};

pub(crate) const MIN_LEN: usize = 1000;

/// Classify a literal body: `Some("base64")`, `Some("hex")`, `Some("escaped bytes")`.
pub(crate) fn encoded_kind(body: &str) -> Option<&'static str> {
    let b = body.as_bytes();
    if b.len() < MIN_LEN {
        return None;
    }
    let escapes = body.matches("\\x").count();
    if escapes * 4 >= b.len() * 9 / 10 {
        return Some("escaped bytes");
    }
    let mut b64 = 0usize;
    let mut hex = 0usize;
    let mut seen = [false; 128];
    for &c in b {
        if c.is_ascii_hexdigit() {
            hex += 1;
        }
        if c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'-' | b'_') {
            b64 += 1;
        }
        if c < 128 {
            seen[c as usize] = true;
        }
    }
    let distinct = seen.iter().filter(|&&s| s).count();
    if hex * 100 >= b.len() * 97 {
        Some("hex")
    } else if b64 * 100 >= b.len() * 97 && distinct > 16 {
        Some("base64")
    } else {
        None
    }
}

/// Wrapped encoders emit lines of one fixed width (the last may be shorter);
/// word lists one per line do not.
fn uniform_lines(body: &str) -> bool {
    let lens: Vec<usize> = body.lines().map(|l| l.trim().len()).filter(|&l| l > 0).collect();
    let Some((_, head)) = lens.split_last() else {
        return false;
    };
    if head.is_empty() {
        return true;
    }
    let width = head[0];
    width >= 32 && head.iter().filter(|&&l| l == width).count() * 10 >= head.len() * 9
}

/// False when no string literal in `text` can have a body of [`MIN_LEN`] bytes that
/// [`LongString`] would classify, decided without lexing (most files stop here): such a
/// body lies on one line of at least that length, or spans lines whose inner lines have
/// no blank inside (a body with one is skipped below), so it is bounded by the line
/// before, those lines and the line after.
fn may_hold_long_string(text: &str) -> bool {
    // Most lines of code have a blank inside, and a window that could qualify holds such a
    // line only as its first or last line. So lines are probed every `PROBE` bytes, and the
    // line walk runs only between two probed lines that have a blank inside (or the text's
    // ends) when those lines and the lines between add up to at least `MIN_LEN` bytes. Any
    // window lies between two such cut lines, both included: the walk from a cut line resets
    // at it (the cut line has a blank inside), so it sees what the whole walk sees from
    // there on, and a window of fewer bytes than its segment cannot reach `MIN_LEN`.
    const PROBE: usize = 384;
    let b = text.as_bytes();
    // Start of the last cut line (0: the text's start, where the walk starts too).
    let mut from = 0;
    let mut x = PROBE;
    while x < b.len() {
        let ls = memchr::memrchr(b'\n', &b[..x]).map_or(0, |i| i + 1);
        let le = memchr::memchr(b'\n', &b[x..]).map_or(b.len(), |i| x + i);
        if ls > from && !solid(&b[ls..le]) {
            // The segment: the lines from the last cut line up to and including this one.
            if le + 1 - from >= MIN_LEN && line_walk(&b[from..le]) {
                return true;
            }
            from = ls;
        }
        x = (le + 1).max(x + PROBE);
    }
    line_walk(&b[from..])
}

/// The line walk itself: true when some window of lines (any first line, lines without a
/// blank inside, any last line) adds up to [`MIN_LEN`] bytes, newlines counted.
fn line_walk(b: &[u8]) -> bool {
    // Bytes of the last line with an inner blank plus the blank-free lines after it.
    let mut run = 0usize;
    // Lines found with memchr (the same lines as `split(b'\n')`, the last one included).
    let mut start = 0;
    loop {
        let end = memchr::memchr(b'\n', &b[start..]).map_or(b.len(), |i| start + i);
        let line = &b[start..end];
        if run + line.len() + 1 >= MIN_LEN {
            return true;
        }
        run = if solid(line) { run + line.len() + 1 } else { line.len() + 1 };
        if end == b.len() {
            return false;
        }
        start = end + 1;
    }
}

/// `!line.trim().contains([' ', '\t'])` on bytes (this runs on every line of every Python
/// file): ASCII whitespace is trimmed by byte; a line with a non-ASCII character at either
/// trimmed edge (it may be Unicode whitespace) takes the character rule.
fn solid(line: &[u8]) -> bool {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let start = line.iter().position(|b| !space(b)).unwrap_or(line.len());
    let end = line.iter().rposition(|b| !space(b)).map_or(start, |i| i + 1);
    let inner = &line[start..end.max(start)];
    match (inner.first(), inner.last()) {
        (Some(&a), Some(&z)) if a >= 0x80 || z >= 0x80 => {
            std::str::from_utf8(line).is_ok_and(|l| !l.trim().contains([' ', '\t']))
        }
        _ => !inner.iter().any(|&b| b == b' ' || b == b'\t'),
    }
}

pub(crate) struct LongString;

impl Detector for LongString {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::AllText
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if !file.is_python
            || file.text.len() < MIN_LEN
            || matches!(file.role, FileRole::TestOrDocs | FileRole::Metadata)
            || pysrc::test_member(file)
            || !may_hold_long_string(file.text)
        {
            return;
        }
        let src = file.source();
        let sev = Some(if file.role == FileRole::InstallTime { Severity::Medium } else { Severity::Low });
        let mut n = 0;
        for sp in src.strings().filter(|s| s.kind == Kind::Str && s.body_end - s.body_start >= MIN_LEN) {
            if n >= MAX_HITS_PER_FILE {
                return;
            }
            let body = &file.text[sp.body_start..sp.body_end];
            // Triple-quoted blobs may be wrapped: ignore line breaks.
            let joined;
            let body = if body.contains('\n') {
                // Wrapped blobs have no spaces inside lines; word lists and prose do.
                if body.lines().any(|l| l.trim().contains([' ', '\t'])) || !uniform_lines(body) {
                    continue;
                }
                joined = body.split_whitespace().collect::<String>();
                joined.as_str()
            } else {
                body
            };
            if let Some(kind) = encoded_kind(body) {
                n += 1;
                let ind = format!("{} chars {kind}", body.chars().count());
                hits.push(&META, Hit { severity: sev, evidence: pysrc::evidence(file, sp.start, ind) });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::detectors::testutil::table;
    use std::sync::LazyLock;
    use FileRole::*;
    use Severity::*;

    static B64: LazyLock<String> = LazyLock::new(|| {
        let blob: String = (0..1200u32)
            .map(|i| b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(i * 7 % 64) as usize] as char)
            .collect();
        format!("import base64\nPAYLOAD = '{blob}'\n")
    });
    static HEX: LazyLock<String> = LazyLock::new(|| format!("x = 1\n\nH = \"{}\"\n", "deadbeef0123".repeat(100)));
    static ESC: LazyLock<String> = LazyLock::new(|| format!("SC = b'{}'\n", "\\x90\\x31".repeat(200)));
    static PROSE: LazyLock<String> = LazyLock::new(|| format!("T = '{}'\n", "lorem ipsum dolor sit amet ".repeat(60)));
    static DOC: LazyLock<String> = LazyLock::new(|| format!("\"\"\"{}\"\"\"\n", "A".repeat(2000)));
    static SHORT: LazyLock<String> =
        LazyLock::new(|| format!("K = '{}'\n{}", "QUJD".repeat(100), "# pad\n".repeat(200)));

    static WORDS: LazyLock<String> =
        LazyLock::new(|| format!("F = '''\\\n{}'''\n", "alpha beta gamma delta\n".repeat(80)));

    static ONE_PER_LINE: LazyLock<String> = LazyLock::new(|| {
        let words: String = (0..300)
            .map(|i| format!("opcode{}x{}\n", i * 7919 % 1000, "abcdefgh".get(..i % 8).unwrap_or("")))
            .collect();
        format!("OPCODES = set(\x27\x27\x27\n{words}\x27\x27\x27.split())\n")
    });
    static WRAPPED: LazyLock<String> = LazyLock::new(|| {
        let line: String = (0..76u32)
            .map(|i| {
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(i * 11 % 64) as usize] as char
            })
            .collect();
        format!("BLOB = \x27\x27\x27\n{}\x27\x27\x27\n", format!("{line}\n").repeat(16))
    });

    #[test]
    fn line_walk_is_the_split_walk() {
        let reference = |text: &str| {
            let mut run = 0usize;
            for line in text.as_bytes().split(|&b| b == b'\n') {
                if run + line.len() + 1 >= MIN_LEN {
                    return true;
                }
                run = if solid(line) { run + line.len() + 1 } else { line.len() + 1 };
            }
            false
        };
        let solid_run = format!("x = (\n{}\n)\n", "QUJDREVG\n".repeat(120));
        let cases = [
            ("empty", String::new()),
            ("one newline", "\n".to_string()),
            ("short code", "import os\nx = 1\n".to_string()),
            ("one long line", format!("X = '{}'", "A".repeat(MIN_LEN))),
            ("one long line, trailing newline", format!("X = '{}'\n", "A".repeat(MIN_LEN))),
            ("just short of the length", format!("X = '{}'", "A".repeat(MIN_LEN - 7))),
            ("solid lines adding up", solid_run),
            ("code lines adding up", "    y = f(a, b)\n".repeat(200)),
            ("blank lines adding up", "\n".repeat(MIN_LEN + 5)),
        ];
        for (case, text) in cases {
            assert_eq!(may_hold_long_string(&text), reference(&text), "{case}");
        }
    }

    #[test]
    fn skipping_walk_is_the_line_walk() {
        // Texts of random lines (code with blanks, blank-free lines of every length, empty and
        // long lines, non-ASCII edges), checked against the walk over every line.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n) as usize
        };
        let (mut yes, mut no) = (0, 0);
        for case in 0..3000 {
            let mut text = String::new();
            let lines = 1 + next(400);
            // Some texts lean to blank-free lines, so that windows near the limit are common.
            let solid_share = next(10);
            for _ in 0..lines {
                let len = match next(200) {
                    0 => next(1200),
                    1..=30 => 0,
                    _ => next(90),
                };
                let line = match (next(10) < solid_share, next(8)) {
                    (true, 0) => format!("  {}\t", "Q".repeat(len)),
                    (true, 1) => format!("\u{a0}{}", "é".repeat(len / 2)),
                    (true, _) => "Q".repeat(len),
                    (false, 0) => format!("é {}", "x".repeat(len)),
                    (false, _) => format!("    y = {}", "z".repeat(len)),
                };
                text.push_str(&line);
                text.push('\n');
            }
            if next(2) == 0 {
                text.pop();
            }
            let want = line_walk(text.as_bytes());
            assert_eq!(may_hold_long_string(&text), want, "case {case}: {text:?}");
            if want {
                yes += 1;
            } else {
                no += 1;
            }
        }
        assert!(yes > 300 && no > 300, "both outcomes exercised: {yes} / {no}");
    }

    #[test]
    fn solid_lines_by_bytes_as_by_characters() {
        let cases = [
            ("empty line", ""),
            ("indented code", "    x = compute(a, b)"),
            ("blob line", "QUJDREVGR0hJSktMTU5PUA=="),
            ("indented blob", "\t  QUJDREVGR0hJSktM  \r"),
            ("tab inside", "a\tb"),
            ("only blanks", " \t \x0b\x0c "),
            ("no-break space edge", "\u{a0}QUJD\u{a0}"),
            ("no-break space inside", "QU\u{a0}JD"),
            ("ideographic space then blank", "\u{3000}a b"),
            ("non-ASCII letters", "données"),
            ("non-ASCII edge, blank inside", "é x"),
        ];
        for (case, line) in cases {
            let want = !line.trim().contains([' ', '\t']);
            assert_eq!(solid(line.as_bytes()), want, "{case}");
        }
    }

    #[test]
    fn cases() {
        table(
            &LongString,
            META.id,
            &[
                ("base64 payload", "pkg/a.py", Runtime, B64.as_str(), Some((2, "1200 chars base64", Low))),
                ("hex in setup.py", "setup.py", InstallTime, HEX.as_str(), Some((3, "1200 chars hex", Medium))),
                ("escaped shellcode", "pkg/a.py", Runtime, ESC.as_str(), Some((1, "1600 chars escaped bytes", Low))),
                ("prose", "pkg/a.py", Runtime, PROSE.as_str(), None),
                ("docstring", "pkg/a.py", Runtime, DOC.as_str(), None),
                ("below threshold", "pkg/a.py", Runtime, SHORT.as_str(), None),
                ("tests", "pkg/tests/test_a.py", Runtime, B64.as_str(), None),
                ("data file", "pkg/data.json", Runtime, B64.as_str(), None),
                ("word list in triple quotes", "pkg/lexer.py", Runtime, WORDS.as_str(), None),
                ("one word per line", "pkg/builtins.py", Runtime, ONE_PER_LINE.as_str(), None),
                ("wrapped base64", "pkg/blob.py", Runtime, WRAPPED.as_str(), Some((1, "1216 chars base64", Low))),
            ],
        );
    }
}
