//! Shared helpers for detectors: evidence building (line/column from byte offsets,
//! one-line snippets, secret redaction), path heuristics, and the Python view of a
//! member re-exported from [`crate::scan::source`] (detectors get the member's
//! shared [`Source`] from [`TextFile::source`]).
//!
//! Owns: the [`Evidence`] shape every detector emits. Must not: report hits itself,
//! know about any particular indicator, or cache anything across calls (per-member
//! caches live on the [`TextFile`] the engine hands out).

use crate::model::{Evidence, FileRole};
use crate::scan::detector::TextFile;
pub(crate) use crate::scan::source::{Kind, Source, Span};

/// The (start, end) byte ranges of the lines of `text` (split at `\n`, the newline not
/// included, the last line possibly unterminated) that are at least `min` bytes long.
///
/// A line walk that only wants long lines need not stop at every line: from the start of a
/// line, the window of the next `min` bytes holds a newline exactly when that line is shorter
/// than `min`, and then every line ending in the window is too, so the walk resumes after the
/// window's last newline (one `memrchr` per `min` bytes of short lines instead of one search
/// per line). Tested equal to filtering `text.split('\n')`. `min` is at least 1.
pub(crate) fn long_lines(text: &str, min: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    debug_assert!(min > 0, "an empty line is never long");
    let b = text.as_bytes();
    let mut at: usize = 0;
    std::iter::from_fn(move || loop {
        let window = b.get(at..at.checked_add(min.max(1))?)?;
        match memchr::memrchr(b'\n', window) {
            Some(i) => at += i + 1,
            None => {
                let end = memchr::memchr(b'\n', &b[at + window.len()..]).map_or(b.len(), |i| at + window.len() + i);
                let line = (at, end);
                at = end + 1;
                return Some(line);
            }
        }
    })
}

/// `re`'s matches (leftmost-first, non-overlapping, as `find_iter` over the whole text)
/// searched only inside `windows`: ascending, disjoint byte ranges of `text` on character
/// boundaries that hold every match `re` can have (for example the runs of the only bytes
/// its matches consist of, [`runs_around`]). Each window is searched with the rest of the
/// text as context, so `\b` at a window's edge sees the bytes outside it; a match cannot
/// cross a window's edge, so the iteration is the whole-text one.
pub(crate) fn find_in_windows<'a>(
    re: &'a regex_automata::meta::Regex,
    text: &'a str,
    windows: &'a [(usize, usize)],
) -> impl Iterator<Item = (usize, usize)> + 'a {
    windows.iter().flat_map(move |&(a, b)| {
        re.find_iter(regex_automata::Input::new(text).range(a..b)).map(|m| (m.start(), m.end()))
    })
}

/// `re`'s matches (leftmost-first, non-overlapping, as `find_iter` over the whole text)
/// found by anchored searches at `starts` only: ascending positions that include every
/// position where a match of `re` can start (for example the offsets of a literal every
/// match starts with, or a few bytes before one). `re` never matches the empty string.
///
/// Why it is the whole-text iteration: after a match ending at `e` (or at the start), the
/// next match `find_iter` reports is the one starting leftmost at or after `e`; its start is
/// one of `starts`, every smaller start at or after `e` was tried and did not match, and an
/// anchored search at a start reports the same match (leftmost-first) as an unanchored one
/// that finds its leftmost match there. Look-behind (`\b`, `^`) sees the bytes before.
pub(crate) fn find_at_starts(
    re: &regex_automata::meta::Regex,
    text: &str,
    starts: impl IntoIterator<Item = usize>,
) -> Vec<(usize, usize)> {
    use regex_automata::{Anchored, Input};
    let mut out = Vec::new();
    let mut next = 0;
    for s in starts {
        if s < next || s > text.len() || !text.is_char_boundary(s) {
            continue; // inside the last match, or not where a character starts
        }
        if let Some(m) = re.find(Input::new(text).range(s..).anchored(Anchored::Yes)) {
            out.push((m.start(), m.end()));
            next = m.end().max(s + 1);
        }
    }
    out
}

/// `re.find_iter(file.text)`'s ranges for a case-insensitive `re` (`re_at` is the same pattern
/// for anchored searches) every match of which starts with one of `words` (lowercase, matched
/// case-insensitively): such a match starts where the member's lowercased copy
/// ([`TextFile::ascii_lowercase`], shared by every gate of the member) holds one of the words,
/// so only those places are tried ([`find_at_starts`]); a member without that copy (it holds
/// `ſ` or the Kelvin sign, which fold with `s` and `k`) is searched whole, and so is one a
/// line of which holds more than [`MAX_STARTS_PER_LINE`] of the words ([`sparse`]): a pattern
/// that reads on after its word to a line's end or a quote (`curl\s[^\n'"]*https?://`) would
/// otherwise read a long line again from each word (a line of 20,000 `curl ` cost 8 s, 80,000
/// more than two minutes). A case-insensitive regex has no literal the regex crate skips
/// ahead with: its whole-member search visits every byte.
pub(crate) fn find_at_words(
    re_at: &regex_automata::meta::Regex,
    re: &regex::Regex,
    file: &TextFile<'_>,
    words: &aho_corasick::AhoCorasick,
) -> Vec<(usize, usize)> {
    if let Some(lower) = file.ascii_lowercase() {
        let starts = word_starts(words, lower.as_bytes());
        if sparse(file.text.as_bytes(), &starts) {
            return find_at_starts(re_at, file.text, starts);
        }
    }
    re.find_iter(file.text).map(|m| (m.start(), m.end())).collect()
}

/// How many places to try an anchored search at on one line before a member is searched whole.
const MAX_STARTS_PER_LINE: usize = 64;

/// Whether no line of `text` holds more than [`MAX_STARTS_PER_LINE`] of `starts` (ascending): then
/// anchored searches that read at most to their line's end (and over the blanks after it) read
/// each line a bounded number of times. One pass over the starts and their lines' ends.
fn sparse(text: &[u8], starts: &[usize]) -> bool {
    let (mut line_end, mut on_line) = (0, 0);
    for &s in starts {
        if s >= line_end {
            line_end = memchr::memchr(b'\n', &text[s..]).map_or(text.len(), |p| s + p + 1);
            on_line = 0;
        }
        on_line += 1;
        if on_line > MAX_STARTS_PER_LINE {
            return false;
        }
    }
    true
}

/// `re.captures_iter(file.text)` for a regex [`find_at_words`] can search: each match found at
/// the words it starts with, then its captures (an unanchored search from a match's start
/// finds that same match: leftmost-first, and nothing starts earlier from there).
pub(crate) fn captures_at_words<'t>(
    re_at: &regex_automata::meta::Regex,
    re: &'static regex::Regex,
    file: &TextFile<'t>,
    words: &aho_corasick::AhoCorasick,
) -> impl Iterator<Item = regex::Captures<'t>> {
    let text = file.text;
    find_at_words(re_at, re, file, words).into_iter().filter_map(move |(start, _)| re.captures_at(text, start))
}

/// Where in `hay` one of the words of `words` (an automaton built by [`gate`]) starts,
/// ascending and without repeats: [`occurrences`] in one pass. A leftmost search reports the
/// leftmost position where any word starts, so resuming one byte after it finds every such
/// position (which word starts there does not matter).
pub(crate) fn word_starts(words: &aho_corasick::AhoCorasick, hay: &[u8]) -> Vec<usize> {
    let mut at = Vec::new();
    let mut input = aho_corasick::Input::new(hay);
    while let Some(m) = words.find(input.clone()) {
        at.push(m.start());
        input.set_start(m.start() + 1);
    }
    at
}

/// The start offsets of every occurrence of every word in `hay` (overlapping ones
/// included), ascending and without repeats.
pub(crate) fn occurrences(hay: &[u8], words: &[&str]) -> Vec<usize> {
    let mut at: Vec<usize> = words.iter().flat_map(|w| memchr::memmem::find_iter(hay, w.as_bytes())).collect();
    at.sort_unstable();
    at.dedup();
    at
}

/// The maximal runs of bytes in `class` (which holds `sep`) around each `sep` at which `seed`
/// (given the text's bytes and the offset) holds, kept when they hold at least `min_seps` of
/// `sep` and `min_len` bytes: windows for [`find_in_windows`]. A run holding no seed is never
/// looked at, so `seed` must hold at some `sep` of every match.
pub(crate) fn runs_around(
    text: &str,
    sep: u8,
    seed: impl Fn(&[u8], usize) -> bool,
    class: impl Fn(u8) -> bool,
    min_seps: usize,
    min_len: usize,
) -> Vec<(usize, usize)> {
    debug_assert!(class(sep), "the separator is in the class");
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut end = 0;
    for i in memchr::memchr_iter(sep, b) {
        if i < end || !seed(b, i) {
            continue; // inside the last run, or not where a match can be
        }
        let start = i - b[..i].iter().rev().take_while(|&&c| class(c)).count();
        end = i + 1 + b[i + 1..].iter().take_while(|&&c| class(c)).count();
        if end - start >= min_len && memchr::memchr_iter(sep, &b[start..end]).count() >= min_seps {
            out.push((start, end));
        }
    }
    out
}

/// 1-based line and column (in characters) of a byte offset.
/// The automaton of a case-insensitive regex's gate ([`TextFile::may_contain_ci`]): the
/// lowercase words every match of the regex contains. Built leftmost-first so that a few
/// words are searched with the automaton's SIMD literal prefilter rather than by stepping
/// its DFA over every byte (measured: a standard-semantics automaton cost more than the
/// regex it gated).
pub(crate) fn gate(words: &[&str]) -> aho_corasick::AhoCorasick {
    assert!(words.iter().all(|w| !w.is_empty() && !w.bytes().any(|b| b.is_ascii_uppercase())), "lowercase words");
    aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostFirst)
        .build(words)
        .expect("static gate words")
}

/// The 1-based line and column of byte `offset` by counting from the text's start: the
/// reference [`Source::line_col`] (a binary search in the member's shared line index) is tested
/// against.
#[cfg(test)]
pub(crate) fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let offset = floor_char(text, offset.min(text.len()));
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let col = text[line_start..offset].chars().count() + 1;
    (line as u32, col as u32)
}

/// Whether the code at byte `offset` runs when the module is imported (module level, or a
/// function that import-time code calls, outside a `__main__` guard): [`Source::runs_on_import`]
/// by offset.
pub(crate) fn runs_on_import_at(src: &Source<'_>, offset: usize) -> bool {
    src.runs_on_import_offset(floor_char(src.text, offset.min(src.text.len())))
}

/// A call's argument text: from just after its `(` to the matching `)` (balanced
/// parentheses), at most `limit` bytes, cut on a char boundary.
pub(crate) fn call_argument(text: &str, after_paren: usize, limit: usize) -> &str {
    let b = text.as_bytes();
    let mut depth = 1usize;
    let mut i = after_paren;
    let end = (after_paren + limit).min(b.len());
    while i < end {
        match b[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
        i += 1;
    }
    &text[after_paren..floor_char(text, i.min(b.len()))]
}

/// Largest char boundary ≤ `i`.
pub(crate) fn floor_char(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char(text: &str, mut i: usize) -> usize {
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Maximum snippet length, in characters.
pub(crate) const SNIPPET_MAX: usize = 120;

/// [`snippet_in`] without a line index (the line's ends found by reading to them): a reference
/// for the tests only; every detector takes its snippets through the member's line index.
#[cfg(test)]
pub(crate) fn snippet(text: &str, offset: usize) -> String {
    let offset = floor_char(text, offset.min(text.len()));
    let b = text.as_bytes();
    let ls = memchr::memrchr(b'\n', &b[..offset]).map_or(0, |p| p + 1);
    let le = memchr::memchr(b'\n', &b[offset..]).map_or(b.len(), |p| offset + p);
    snippet_of_line(text, ls, le, offset)
}

/// The line holding `offset`, trimmed, at most [`SNIPPET_MAX`] characters (a window around
/// `offset` when the line is longer, marked with `…`), its ends taken from the member's shared
/// line index: bounded work per call on a line of any length.
pub(crate) fn snippet_in(src: &Source<'_>, offset: usize) -> String {
    let text = src.text;
    let offset = floor_char(text, offset.min(text.len()));
    let lines = src.lines();
    let line = lines.line(offset);
    snippet_of_line(text, lines.start(line).unwrap_or(0), lines.end(line, text.len()), offset)
}

/// The snippet of the line `text[ls..le]` around `offset`.
fn snippet_of_line(text: &str, ls: usize, le: usize, offset: usize) -> String {
    let line = &text[ls..le];
    let trimmed = line.trim();
    // A character is at most four bytes: a longer line is never counted to the end.
    if trimmed.len() <= SNIPPET_MAX || (trimmed.len() <= 4 * SNIPPET_MAX && trimmed.chars().count() <= SNIPPET_MAX) {
        return trimmed.to_string();
    }
    // Window of ~SNIPPET_MAX bytes around the offset, on char boundaries.
    let rel = offset - ls;
    let half = SNIPPET_MAX / 2;
    let ws = floor_char(line, rel.saturating_sub(half / 2));
    let we = ceil_char(line, (ws + SNIPPET_MAX).min(line.len()));
    let mut out = String::with_capacity(SNIPPET_MAX + 8);
    if ws > 0 {
        out.push('…');
    }
    out.push_str(line[ws..we].trim());
    if we < line.len() {
        out.push('…');
    }
    out
}

/// Keep only a short prefix of a secret: `ghp_ab…`.
pub(crate) fn redact(token: &str) -> String {
    let prefix: String = token.chars().take(6).collect();
    if prefix.len() < token.len() {
        format!("{prefix}…")
    } else {
        prefix
    }
}

/// Replace every occurrence of `secret` in `snippet` with its redacted form.
pub(crate) fn redact_in(snippet: &str, secret: &str) -> String {
    if secret.is_empty() {
        return snippet.to_string();
    }
    let r = redact(secret);
    let mut out = snippet.replace(secret, &r);
    // A snippet window may cut the secret: redact any long remainder of it too.
    if out == snippet && secret.len() > 12 {
        for cut in [24, 16, 12] {
            if secret.len() > cut {
                let tail = &secret[secret.len() - cut..];
                if out.contains(tail) {
                    out = out.replace(tail, "…");
                }
            }
        }
    }
    out
}

/// Evidence for a hit at byte `offset` of `file`.
pub(crate) fn evidence(file: &TextFile<'_>, offset: usize, indicator: impl Into<String>) -> Evidence {
    let (line, col) = file.source().line_col(offset);
    Evidence {
        path: file.path.to_string(),
        line: Some(line),
        column: Some(col),
        snippet: Some(snippet_in(file.source(), offset)),
        indicator: Some(indicator.into()),
        role: file.role,
        severity: None,
    }
}

/// Evidence whose snippet hides `secret` behind its redacted prefix.
pub(crate) fn secret_evidence(
    file: &TextFile<'_>,
    offset: usize,
    secret: &str,
    indicator: impl Into<String>,
) -> Evidence {
    let mut ev = evidence(file, offset, indicator);
    ev.snippet = ev.snippet.map(|s| redact_in(&s, secret));
    ev
}

/// Evidence not tied to a text position (package-level facts).
pub(crate) fn package_evidence(
    path: &str,
    role: FileRole,
    indicator: impl Into<String>,
    snippet: Option<String>,
) -> Evidence {
    Evidence {
        path: path.to_string(),
        line: None,
        column: None,
        snippet,
        indicator: Some(indicator.into()),
        role,
        severity: None,
    }
}

/// Whether a member is judged as test material by its path ([`looks_like_test_path`]). Never
/// install-time code: a member install-time code runs (`scan::reach`) is judged as what it does
/// then, whatever its path says (a payload moved to `tests/` and exec'd by setup.py).
pub(crate) fn test_member(file: &TextFile<'_>) -> bool {
    file.role != FileRole::InstallTime && looks_like_test_path(file.path)
}

/// Whether a member is judged as documentation by its path ([`looks_like_docs_file`]); never
/// install-time code (see [`test_member`]).
pub(crate) fn docs_member(file: &TextFile<'_>) -> bool {
    file.role != FileRole::InstallTime && looks_like_docs_file(file.path)
}

/// Paths that look like tests, examples or docs even when the engine called them runtime:
/// test directories under any common name (`t/`, `tests/`, `testing/`, `testdata/`,
/// `fixtures/`, `unittests/`), test modules (`test_*.py`, `*_test.py`, `conftest.py`, Go
/// `*_test.go`, C/C++ `test_*.c`, `*_test.cc`).
pub(crate) fn looks_like_test_path(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    let segs: Vec<&str> = p.split(['/', '\\', '!']).collect();
    let dirs = &segs[..segs.len().saturating_sub(1)];
    dirs.iter().any(|seg| {
        matches!(
            *seg,
            "t" | "unittests"
                | "unittest"
                | "test_data"
                | "test-data"
                | "__tests__"
                | "testsuite"
                | "test-suite"
                | "testcases"
                | "test-resources"
                | "test_resources"
                | "benches"
        ) || seg.ends_with("_test")
            || seg.ends_with("_tests")
            || seg.ends_with("-tests")
    }) || segs.iter().any(|seg| {
        matches!(*seg, "test" | "tests" | "testing" | "example" | "examples" | "docs" | "doc" | "fixtures" | "testdata")
            || seg.starts_with("test_")
            || *seg == "conftest.py"
    }) || segs.last().is_some_and(|base| is_test_file_name(base))
}

/// Test modules by file name in any language an sdist ships: `test_x.py`, `x_test.py`,
/// Go `x_test.go`, C/C++ `x_test.cc`, `x_unittest.cpp`, `test_x.c`, Rust `x_tests.rs`,
/// JavaScript/TypeScript `x.test.js`, `x.spec.ts`, `conftest.py`. Lower-case input.
pub(crate) fn is_test_file_name(base: &str) -> bool {
    const CODE: &[&str] = &[
        "py", "go", "c", "cc", "cpp", "cxx", "h", "hpp", "rs", "js", "mjs", "cjs", "ts", "tsx", "jsx", "java", "kt",
        "rb", "swift", "m", "mm", "cs", "zig",
    ];
    let Some((stem, ext)) = base.rsplit_once('.') else {
        return false;
    };
    if !CODE.contains(&ext) {
        return false;
    }
    let js = matches!(ext, "js" | "mjs" | "cjs" | "ts" | "tsx" | "jsx");
    base == "conftest.py"
        || stem.starts_with("test_")
        || ["_test", "_tests", "_unittest", "_unittests"].iter().any(|s| stem.ends_with(s))
        || js && (stem.ends_with(".test") || stem.ends_with(".spec"))
}

/// Documentation-like text files (change logs, READMEs, licences) whatever their role.
pub(crate) fn looks_like_docs_file(path: &str) -> bool {
    let name = path.rsplit(['/', '\\', '!']).next().unwrap_or(path).to_ascii_lowercase();
    [".md", ".rst", ".txt", ".html", ".htm", ".adoc", ".ipynb"].iter().any(|e| name.ends_with(e))
        || [
            "changelog",
            "changes",
            "history",
            "news",
            "authors",
            "license",
            "licence",
            "copying",
            "readme",
            "notice",
            "contributors",
        ]
        .iter()
        .any(|p| name.starts_with(p))
}

/// True when the identifier at `offset` is being defined (`def name`, `class name`).
pub(crate) fn is_definition(text: &str, offset: usize) -> bool {
    let before = text[..offset].trim_end_matches(|c: char| c.is_alphanumeric() || c == '_' || c == '.');
    let before = before.trim_end_matches([' ', '\t']);
    before.ends_with("def") || before.ends_with("class")
}

/// Per-file hit cap per detector: enough to explain, bounded for pathological files.
pub(crate) const MAX_HITS_PER_FILE: usize = 20;

/// Random texts for the tests that hold a bounded search equal to a whole-member search
/// (defined with the source view, whose tests use it too).
#[cfg(test)]
pub(crate) use crate::scan::source::random_texts;

#[cfg(test)]
mod tests {
    use super::*;

    /// `find_at_words` is the whole-member search, whichever way it takes: at the words on
    /// sparse lines, whole past [`MAX_STARTS_PER_LINE`] words on a line or without the
    /// lowercased copy; and a line of 80,000 words costs linear time.
    #[test]
    fn finding_at_words_is_the_whole_search_and_linear_on_dense_lines() {
        const PATTERN: &str = r#"(?i)(?-u:\b)curl\s[^\n'"]*https?://[^\s'"]*"#;
        let re = regex::Regex::new(PATTERN).unwrap();
        let re_at = regex_automata::meta::Regex::new(PATTERN).unwrap();
        let words = gate(&["curl"]);
        let dense = "curl ".repeat(65) + "curl http://x/y\n";
        let cases = [
            ("sparse lines", "a = 'curl http://h/p'\nb = 'CURL -s https://h/q'\n".to_string()),
            ("no match", "curl nothing\n".to_string()),
            ("64 words on a line: at the words", "curl ".repeat(63) + "curl http://x/y\n"),
            ("65 words on a line: whole", dense.clone()),
            ("without the lowercased copy (ſ)", format!("ſ = 1\n{dense}")),
        ];
        for (case, text) in &cases {
            let file = TextFile::new("pkg/a.py", FileRole::Runtime, true, text);
            let want: Vec<_> = re.find_iter(text).map(|m| (m.start(), m.end())).collect();
            assert_eq!(find_at_words(&re_at, &re, &file, &words), want, "{case}");
        }
        let long = "curl ".repeat(80_000) + "\n";
        let file = TextFile::new("pkg/a.py", FileRole::Runtime, true, &long);
        let t = std::time::Instant::now();
        assert!(find_at_words(&re_at, &re, &file, &words).is_empty());
        assert!(t.elapsed() < std::time::Duration::from_secs(2), "{:?}", t.elapsed());
    }

    #[test]
    fn word_starts_are_the_occurrences() {
        let word_lists: [&[&str]; 3] =
            [&["curl", "wget", "iwr"], &["a", "ab", "b", "ba"], &["canary.", "ptb.", "discord", "/raw/"]];
        let pieces =
            ["curl", "cur", "wget", "iwr", "a", "b", "ab", "ba", "canary.", "ptb.", "discord", "/raw/", " ", "é", "\n"];
        let mut found = 0;
        for text in random_texts(&pieces, 20, 0x5851_f42d_4c95_7f2du64, 2000) {
            for words in word_lists {
                let want = occurrences(text.as_bytes(), words);
                assert_eq!(word_starts(&gate(words), text.as_bytes()), want, "{text:?} {words:?}");
                found += want.len();
            }
        }
        assert!(found > 10_000, "the random texts hold words: {found}");
    }

    #[test]
    fn line_and_column_from_the_shared_index_are_the_counted_ones() {
        // Every offset of each text (past its end, and inside a multi-byte character, too):
        // the member's shared line index gives what counting from the start gives, and
        // `offset_of` goes back to the first byte of that character.
        let named = [
            ("empty", ""),
            ("one line, no newline", "abc"),
            ("newline only", "\n"),
            ("final newline", "a\nb\n"),
            ("blank lines", "\n\n\nx\n\n"),
            ("carriage returns are not line ends", "a\r\nb\rc\n"),
            ("multi-byte characters", "é\n  bé = 'x'\n€𝄞z\n"),
        ];
        let pieces =
            ["a", "bc", " ", "\n", "\r\n", "é", "€", "𝄞", "\t", "x = 1\n", "\n\n", "def f():\n  ", "(", "'s'", "#"];
        let random = random_texts(&pieces, 24, 0x9e37_79b9_7f4a_7c15, 1500);
        let mut lines_seen = 0;
        for (case, text) in named
            .iter()
            .map(|&(c, t)| (c.to_string(), t.to_string()))
            .chain(random.into_iter().enumerate().map(|(i, t)| (format!("random {i}"), t)))
        {
            // The shipped block, and blocks small enough that most columns go through the
            // member's character checkpoints (a block may end inside a character).
            for block in [crate::scan::source::COLUMN_BLOCK, 1, 2, 3, 7] {
                let src = Source::plain(&text).with_column_block(block);
                let python = Source::python(&text).with_column_block(block);
                for offset in 0..=text.len() + 2 {
                    let (line, col) = src.line_col(offset);
                    assert_eq!((line, col), line_col(&text, offset), "{case} (block {block}): {text:?} at {offset}");
                    let back = src.offset_of(line, Some(col)).expect("a line that exists");
                    assert_eq!(
                        back,
                        floor_char(&text, offset.min(text.len())),
                        "{case} (block {block}): {text:?} at {offset}"
                    );
                    for extra in [1, 2, 5] {
                        // A column past the line's end is its end.
                        let eol = text[back..].find('\n').map_or(text.len(), |n| back + n);
                        let past = src.offset_of(line, Some(col + extra)).expect("a line that exists");
                        let want = text[back..eol].char_indices().nth(extra as usize).map_or(eol, |(i, _)| back + i);
                        assert_eq!(past, want, "{case} (block {block}): {text:?} at {offset} + {extra}");
                    }
                    assert_eq!(
                        runs_on_import_at(&python, offset),
                        python.runs_on_import(line, Some(col)),
                        "{case} (block {block}): {text:?} at {offset}"
                    );
                    lines_seen = lines_seen.max(line);
                }
            }
            let count = text.matches('\n').count();
            let src = Source::plain(&text);
            assert_eq!(src.lines().start(count + 1), None, "{case}: no line past the last");
            assert_eq!(src.lines().start(count), Some(text.rfind('\n').map_or(0, |n| n + 1)), "{case}");
        }
        assert!(lines_seen > 5, "the texts have several lines: {lines_seen}");
    }

    #[test]
    fn long_lines_are_the_long_lines_of_a_split() {
        let by_split = |t: &str, min: usize| -> Vec<(usize, usize)> {
            let mut at = 0;
            let mut out = Vec::new();
            for line in t.split('\n') {
                if line.len() >= min {
                    out.push((at, at + line.len()));
                }
                at += line.len() + 1;
            }
            out
        };
        let l = |n: usize| "x".repeat(n);
        let cases = [
            ("empty", String::new()),
            ("one short line", "abc\n".to_string()),
            ("exactly the minimum, unterminated", l(8)),
            ("one under the minimum", format!("{}\n", l(7))),
            ("exactly the minimum, then more", format!("{}\n{}\n", l(8), l(3))),
            ("long line last", format!("a\nb\n{}", l(20))),
            ("long lines back to back", format!("{}\n{}\n", l(9), l(30))),
            ("blank lines and a newline at the edge of a window", format!("\n\n{}\n\n\n{}\nx", l(6), l(12))),
            ("non-ASCII", format!("é{}\né\n", "é".repeat(5))),
        ];
        for (case, text) in &cases {
            for min in [1, 2, 8] {
                assert_eq!(long_lines(text, min).collect::<Vec<_>>(), by_split(text, min), "{case}, min {min}");
            }
        }
        // Every split of a mixed text, for every minimum up to past its longest line.
        let mixed = format!("{}\n\n{}\n{}\n{}", l(3), l(17), l(1), l(9));
        for min in 1..20 {
            assert_eq!(long_lines(&mixed, min).collect::<Vec<_>>(), by_split(&mixed, min), "mixed, min {min}");
        }
    }

    /// The snippet as first written (byte loops to the line's ends, every character of the
    /// line counted): the reference [`snippet`] and [`snippet_in`] are tested against.
    fn snippet_counted(text: &str, offset: usize) -> String {
        let offset = floor_char(text, offset.min(text.len()));
        let b = text.as_bytes();
        let ls = b[..offset].iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1);
        let le = b[offset..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| offset + p);
        let line = &text[ls..le];
        let trimmed = line.trim();
        if trimmed.chars().count() <= SNIPPET_MAX {
            return trimmed.to_string();
        }
        let rel = offset - ls;
        let ws = floor_char(line, rel.saturating_sub(SNIPPET_MAX / 4));
        let we = ceil_char(line, (ws + SNIPPET_MAX).min(line.len()));
        let mut out = String::new();
        if ws > 0 {
            out.push('…');
        }
        out.push_str(line[ws..we].trim());
        if we < line.len() {
            out.push('…');
        }
        out
    }

    #[test]
    fn snippets_are_the_counted_ones() {
        // Lines around the length where counting matters (SNIPPET_MAX characters of one to
        // four bytes), blank edges, and random texts: every offset gives the same snippet.
        let mut named: Vec<(String, String)> = Vec::new();
        for ch in ["a", "é", "€", "𝄞"] {
            for n in [SNIPPET_MAX - 1, SNIPPET_MAX, SNIPPET_MAX + 1, 4 * SNIPPET_MAX / ch.len() + 1] {
                named.push((format!("{n} × {ch:?}"), format!("x\n  {}  \ny", ch.repeat(n))));
            }
        }
        let pieces = [
            "a",
            "bc",
            " ",
            "\n",
            "é",
            "€",
            "𝄞",
            "\t",
            "x = 1",
            "long_name_here(",
            "\u{3000}",
            "aaaaaaaaaaaaaaaaaaaa",
            "éééééééééé",
            "𝄞𝄞𝄞𝄞𝄞𝄞",
            "          ",
        ];
        let random = random_texts(&pieces, 400, 0x5851_f42d_4c95_7f2d, 60);
        for (case, text) in
            named.into_iter().chain(random.into_iter().enumerate().map(|(i, t)| (format!("random {i}"), t)))
        {
            let src = Source::plain(&text);
            for offset in 0..=text.len() + 1 {
                let want = snippet_counted(&text, offset);
                assert_eq!(snippet(&text, offset), want, "{case} at {offset}");
                assert_eq!(snippet_in(&src, offset), want, "{case} at {offset}, by the line index");
            }
        }
    }

    #[test]
    fn snippets_on_one_five_megabyte_line_cost_bounded_time() {
        let text = format!("import os\n{}\n", "eval(x); s = 'é€'; ".repeat(250_000));
        let started = std::time::Instant::now();
        let src = Source::plain(&text);
        for k in 0..20_000 {
            let sn = snippet_in(&src, 1_000 + k * 250);
            assert!(sn.starts_with('…') && sn.ends_with('…'), "a window of the line: {sn}");
        }
        let took = started.elapsed();
        // Finding the line's ends and counting its characters per snippet would read 100 GB.
        assert!(took < std::time::Duration::from_secs(1), "took {took:?}");
    }

    #[test]
    fn line_col_snippet_redact() {
        let t = "a\n  bé = 'x'\n";
        assert_eq!(line_col(t, t.find('=').unwrap()), (2, 6));
        assert_eq!(snippet(t, t.find('=').unwrap()), "bé = 'x'");
        let long = format!("x = '{}'", "A".repeat(500));
        let sn = snippet(&long, 300);
        assert!(sn.chars().count() <= SNIPPET_MAX + 2, "{}", sn.len());
        assert_eq!(redact("ghp_abcdefghijkl"), "ghp_ab…");
        assert_eq!(redact("abc"), "abc");
        assert_eq!(redact_in("t = 'ghp_abcdefghijkl'", "ghp_abcdefghijkl"), "t = 'ghp_ab…'");
        assert!(looks_like_test_path("pkg/tests/test_x.py"));
        assert!(!looks_like_test_path("pkg/contest.py"));
        let cases = [
            ("task queue's t/ directory", "celery-5.0/t/unit/security/__init__.py", true),
            ("go test file", "pkg-1.0/vendor/x/key_test.go", true),
            ("c test file", "pkg-1.0/src/test_ssl.c", true),
            ("a module named t.py is not a directory", "pkg/t.py", false),
            ("a test runner's own tree", "ansible_test/_util/target/setup/bootstrap.sh", true),
            ("library code", "pkg/security/keys.py", false),
        ];
        for (case, path, want) in cases {
            assert_eq!(looks_like_test_path(path), want, "{case}");
        }
    }
}
