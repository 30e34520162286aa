//! Shared helpers for detectors: a small, fast, error-tolerant Python lexer that
//! tells code from comments, strings and docstrings, plus evidence building
//! (line/column from byte offsets, one-line snippets, secret redaction).
//!
//! Owns: byte-range classification of Python source and the [`Evidence`] shape
//! every detector emits. Must not: report hits itself or know about any
//! particular indicator.
//!
//! Hand-written rather than a full parser (tree-sitter, ruff's parser) because
//! detectors only need "is this offset code, comment, string or docstring", must
//! survive Python 2 and broken sources, and run on every prefiltered file: one
//! linear pass over the bytes, one small `Vec` of non-code spans, nothing else.

use crate::model::{Evidence, FileRole};
use crate::scan::detector::TextFile;
use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

/// What a byte of Python source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Code,
    Comment,
    /// A string literal that is part of an expression (an argument, a value…).
    Str,
    /// A string literal standing alone as a statement: module/class/function
    /// docstrings and "comment strings". Never executed, never passed anywhere.
    Doc,
}

/// One non-code span: a comment or a string literal (quotes and prefix included).
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
    /// Start of the literal's body (after prefix and opening quotes).
    pub body_start: usize,
    /// End of the literal's body (before closing quotes; `end` if unterminated).
    pub body_end: usize,
    pub raw: bool,
    pub bytes: bool,
    pub fstring: bool,
}

/// A lexed view of one text member. For non-Python files every byte is [`Kind::Code`]
/// and no string spans exist: detectors decide themselves how much to trust them.
///
/// Lexing is lazy: it happens on the first classification query, so a detector
/// whose regexes find no candidate in a file never pays for it.
pub struct Source<'a> {
    pub text: &'a str,
    pub python: bool,
    spans: OnceLock<Arc<Vec<Span>>>,
}

impl<'a> Source<'a> {
    pub fn new(file: &TextFile<'a>) -> Self {
        if file.is_python {
            Self::python(file.text)
        } else {
            Source { text: file.text, python: false, spans: OnceLock::from(Arc::new(Vec::new())) }
        }
    }

    pub fn python(text: &'a str) -> Self {
        Source { text, python: true, spans: OnceLock::new() }
    }

    /// Every comment and string span, in order.
    pub fn spans(&self) -> &[Span] {
        self.spans.get_or_init(|| cached_lex(self.text))
    }

    /// String literals (expression strings and docstrings), in order.
    pub fn strings(&self) -> impl Iterator<Item = &Span> {
        self.spans().iter().filter(|s| matches!(s.kind, Kind::Str | Kind::Doc))
    }

    /// The span containing `offset`, if it is not code.
    pub fn span_at(&self, offset: usize) -> Option<&Span> {
        let spans = self.spans();
        let i = spans.partition_point(|s| s.end <= offset);
        spans.get(i).filter(|s| s.start <= offset)
    }

    pub fn kind_at(&self, offset: usize) -> Kind {
        self.span_at(offset).map_or(Kind::Code, |s| s.kind)
    }

    pub fn is_code(&self, offset: usize) -> bool {
        self.kind_at(offset) == Kind::Code
    }

    /// Code or an expression string: something the program uses.
    pub fn is_live(&self, offset: usize) -> bool {
        matches!(self.kind_at(offset), Kind::Code | Kind::Str)
    }

    /// True when any byte of `text[start..end]` is code.
    pub fn any_code_in(&self, start: usize, end: usize) -> bool {
        (start..end.min(self.text.len())).any(|i| self.is_code(i))
    }
}

/// Byte ranges of one regex's matches.
pub type Ranges = Arc<Vec<(usize, usize)>>;

/// What is cached for the member being dispatched (see [`per_file`]).
struct FileCache {
    /// Address and length of the member's text.
    key: (usize, usize),
    spans: Option<Arc<Vec<Span>>>,
    /// Regex (by address) → its match ranges over the member's text.
    matches: Vec<(usize, Ranges)>,
}

thread_local! {
    /// The text member the engine is dispatching on this thread (inside [`per_file`]).
    static CURRENT: RefCell<Option<FileCache>> = const { RefCell::new(None) };
}

fn text_key(text: &str) -> (usize, usize) {
    (text.as_ptr() as usize, text.len())
}

/// Run `f` (every detector's `scan_text` on the member `text`) with a per-member cache:
/// the detectors that build a [`Source`] over exactly `text` share one lexing pass, and
/// those that search it with the same static regex through [`find_ranges`] share one
/// search. Only `text` itself is cached, and only for this call (it is borrowed
/// throughout, so its bytes cannot change); other texts are processed as before.
pub fn per_file<R>(text: &str, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<FileCache>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = outer);
        }
    }
    let cache = FileCache { key: text_key(text), spans: None, matches: Vec::new() };
    let _restore = Restore(CURRENT.with(|c| c.borrow_mut().replace(cache)));
    f()
}

/// Runs `get` on the cache when `text` is the member being dispatched.
fn with_cache<T>(text: &str, get: impl FnOnce(&mut FileCache) -> T) -> Option<T> {
    CURRENT.with(|c| c.borrow_mut().as_mut().filter(|f| f.key == text_key(text)).map(get))
}

/// [`lex`], shared with the other detectors of the current [`per_file`] scope.
fn cached_lex(text: &str) -> Arc<Vec<Span>> {
    if let Some(Some(spans)) = with_cache(text, |f| f.spans.clone()) {
        return spans;
    }
    let spans = Arc::new(lex(text.as_bytes()));
    with_cache(text, |f| f.spans = Some(spans.clone()));
    spans
}

/// The (start, end) byte ranges of `re.find_iter(text)`, shared with the other
/// detectors of the current [`per_file`] scope that search the same text with the same
/// static regex.
pub fn find_ranges(re: &'static regex::Regex, text: &str) -> Ranges {
    let id = re as *const regex::Regex as usize;
    let hit = with_cache(text, |f| f.matches.iter().find(|(r, _)| *r == id).map(|(_, m)| m.clone()));
    if let Some(Some(ranges)) = hit {
        return ranges;
    }
    let ranges = Arc::new(re.find_iter(text).map(|m| (m.start(), m.end())).collect::<Vec<_>>());
    with_cache(text, |f| f.matches.push((id, ranges.clone())));
    ranges
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Lex Python source into its non-code spans. Never fails: unterminated strings run
/// to end of line (single-quoted) or end of file (triple-quoted).
fn lex(s: &[u8]) -> Vec<Span> {
    let mut spans = Vec::new();
    let n = s.len();
    let mut i = 0;
    let mut depth: u32 = 0;
    // True while only whitespace has been seen since the start of a logical line.
    let mut line_start = true;
    while i < n {
        let c = s[i];
        match c {
            b'#' => {
                let start = i;
                i = memchr::memchr(b'\n', &s[i..]).map_or(n, |k| i + k);
                spans.push(Span {
                    start,
                    end: i,
                    kind: Kind::Comment,
                    body_start: start + 1,
                    body_end: i,
                    raw: false,
                    bytes: false,
                    fstring: false,
                });
            }
            b'\n' => {
                if depth == 0 {
                    line_start = true;
                }
                i += 1;
            }
            b'\\' if i + 1 < n && (s[i + 1] == b'\n' || s[i + 1] == b'\r') => {
                // Explicit line continuation: the logical line goes on.
                i += 2;
            }
            b' ' | b'\t' | b'\r' | b'\x0c' => i += 1,
            b'\'' | b'"' => {
                let stmt = line_start && depth == 0;
                let sp = string_at(s, i, i, "", stmt);
                i = sp.end;
                spans.push(sp);
                line_start = false;
            }
            _ if is_ident_byte(c) => {
                let start = i;
                while i < n && is_ident_byte(s[i]) {
                    i += 1;
                }
                let ident = &s[start..i];
                if i < n && (s[i] == b'\'' || s[i] == b'"') && is_prefix(ident) {
                    let stmt = line_start && depth == 0;
                    let prefix = std::str::from_utf8(ident).unwrap_or("");
                    let sp = string_at(s, start, i, prefix, stmt);
                    i = sp.end;
                    spans.push(sp);
                }
                line_start = false;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                line_start = false;
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                line_start = false;
                i += 1;
            }
            b';' => {
                line_start = depth == 0;
                i += 1;
            }
            _ => {
                line_start = false;
                i += 1;
            }
        }
    }
    spans
}

fn is_prefix(ident: &[u8]) -> bool {
    ident.len() <= 2 && ident.iter().all(|b| matches!(b.to_ascii_lowercase(), b'r' | b'b' | b'u' | b'f'))
}

/// Scan one string literal whose (optional) prefix starts at `start` and whose first
/// quote is at `q`. `stmt` says the literal starts a statement (docstring candidate).
fn string_at(s: &[u8], start: usize, q: usize, prefix: &str, stmt: bool) -> Span {
    let n = s.len();
    let quote = s[q];
    let triple = q + 2 < n && s[q + 1] == quote && s[q + 2] == quote;
    let body_start = if triple { q + 3 } else { q + 1 };
    let mut i = body_start;
    let (body_end, end) = loop {
        // Skip to the next byte that can end the literal or escape one.
        let rest = s.get(i..).unwrap_or_default();
        let next =
            if triple { memchr::memchr2(quote, b'\\', rest) } else { memchr::memchr3(quote, b'\\', b'\n', rest) };
        let Some(k) = next else {
            break (n, n);
        };
        i += k;
        let c = s[i];
        if c == b'\\' {
            i += 2;
            continue;
        }
        if triple {
            if c == quote && i + 2 < n && s[i + 1] == quote && s[i + 2] == quote {
                break (i, i + 3);
            }
        } else if c == quote {
            break (i, i + 1);
        } else if c == b'\n' {
            // Unterminated single-quoted string: stop at the line end (error tolerance).
            break (i, i);
        }
        i += 1;
    };
    let end = end.min(n);
    let body_end = body_end.min(end);
    let lower = prefix.to_ascii_lowercase();
    let doc = stmt && rest_of_line_is_empty(s, end);
    Span {
        start,
        end,
        kind: if doc { Kind::Doc } else { Kind::Str },
        body_start,
        body_end,
        raw: lower.contains('r'),
        bytes: lower.contains('b'),
        fstring: lower.contains('f'),
    }
}

fn rest_of_line_is_empty(s: &[u8], mut i: usize) -> bool {
    while i < s.len() {
        match s[i] {
            b' ' | b'\t' | b'\r' => i += 1,
            b'\n' | b'#' | b';' => return true,
            _ => return false,
        }
    }
    true
}

/// Line lookup for detectors that relate many offsets by line distance: one pass
/// over the text, then a binary search per query.
pub struct Lines(Vec<usize>);

impl Lines {
    pub fn new(text: &str) -> Self {
        Lines(text.match_indices('\n').map(|(i, _)| i).collect())
    }
    /// 0-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&n| n < offset)
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let offset = floor_char(text, offset.min(text.len()));
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let col = text[line_start..offset].chars().count() + 1;
    (line as u32, col as u32)
}

/// A call's argument text: from just after its `(` to the matching `)` (balanced
/// parentheses), at most `limit` bytes, cut on a char boundary.
pub fn call_argument(text: &str, after_paren: usize, limit: usize) -> &str {
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
pub fn floor_char(text: &str, mut i: usize) -> usize {
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
pub const SNIPPET_MAX: usize = 120;

/// The line holding `offset`, trimmed, at most [`SNIPPET_MAX`] characters (a window
/// around `offset` when the line is longer, marked with `…`).
pub fn snippet(text: &str, offset: usize) -> String {
    let offset = floor_char(text, offset.min(text.len()));
    let b = text.as_bytes();
    let ls = b[..offset].iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1);
    let le = b[offset..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| offset + p);
    let line = &text[ls..le];
    let trimmed = line.trim();
    if trimmed.chars().count() <= SNIPPET_MAX {
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
pub fn redact(token: &str) -> String {
    let prefix: String = token.chars().take(6).collect();
    if prefix.len() < token.len() {
        format!("{prefix}…")
    } else {
        prefix
    }
}

/// Replace every occurrence of `secret` in `snippet` with its redacted form.
pub fn redact_in(snippet: &str, secret: &str) -> String {
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
pub fn evidence(file: &TextFile<'_>, offset: usize, indicator: impl Into<String>) -> Evidence {
    let (line, col) = line_col(file.text, offset);
    Evidence {
        path: file.path.to_string(),
        line: Some(line),
        column: Some(col),
        snippet: Some(snippet(file.text, offset)),
        indicator: Some(indicator.into()),
        role: file.role,
    }
}

/// Evidence whose snippet hides `secret` behind its redacted prefix.
pub fn secret_evidence(file: &TextFile<'_>, offset: usize, secret: &str, indicator: impl Into<String>) -> Evidence {
    let mut ev = evidence(file, offset, indicator);
    ev.snippet = ev.snippet.map(|s| redact_in(&s, secret));
    ev
}

/// Evidence not tied to a text position (package-level facts).
pub fn package_evidence(path: &str, role: FileRole, indicator: impl Into<String>, snippet: Option<String>) -> Evidence {
    Evidence { path: path.to_string(), line: None, column: None, snippet, indicator: Some(indicator.into()), role }
}

/// Paths that look like tests, examples or docs even when the engine called them runtime.
pub fn looks_like_test_path(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    p.split(['/', '\\', '!']).any(|seg| {
        matches!(seg, "test" | "tests" | "testing" | "example" | "examples" | "docs" | "doc" | "fixtures" | "testdata")
            || seg.starts_with("test_")
            || seg.ends_with("_test.py")
            || seg == "conftest.py"
    })
}

/// Documentation-like text files (change logs, READMEs, licences) whatever their role.
pub fn looks_like_docs_file(path: &str) -> bool {
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
pub fn is_definition(text: &str, offset: usize) -> bool {
    let before = text[..offset].trim_end_matches(|c: char| c.is_alphanumeric() || c == '_' || c == '.');
    let before = before.trim_end_matches([' ', '\t']);
    before.ends_with("def") || before.ends_with("class")
}

/// Per-file hit cap per detector: enough to explain, bounded for pathological files.
pub const MAX_HITS_PER_FILE: usize = 20;

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str, needles: &[(&str, Kind)]) {
        let s = Source::python(src);
        for (needle, want) in needles {
            let at = src.find(needle).unwrap_or_else(|| panic!("{needle} not in source"));
            assert_eq!(s.kind_at(at), *want, "kind of {needle:?} in {src:?}");
        }
    }

    #[test]
    fn classifies_code_comments_strings_docstrings() {
        type Case<'a> = (&'a str, &'a str, &'a [(&'a str, Kind)]);
        let cases: &[Case] = &[
            ("comment", "x = 1  # urlopen here\n", &[("urlopen", Kind::Comment), ("x", Kind::Code)]),
            (
                "module docstring",
                "\"\"\"Fetch http://a\"\"\"\nimport os\n",
                &[("http", Kind::Doc), ("import", Kind::Code)],
            ),
            (
                "function docstring",
                "def f():\n    '''see urlopen'''\n    return urlopen(u)\n",
                &[("see", Kind::Doc), ("return", Kind::Code)],
            ),
            ("argument string", "requests.get(\n    'http://x'\n)\n", &[("http", Kind::Str)]),
            ("assigned triple", "X = \"\"\"\nhttp://a\n\"\"\"\n", &[("http", Kind::Str)]),
            (
                "prefixes",
                "a = rb'\\d' + f\"{x}\" + U'z'\ncall()",
                &[("\\d", Kind::Str), ("{x}", Kind::Str), ("call", Kind::Code)],
            ),
            ("escaped quote", "s = 'it\\'s # not comment'\ny()", &[("# not", Kind::Str), ("y()", Kind::Code)]),
            ("hash in string", "s = \"#\"; z()", &[("z()", Kind::Code)]),
            ("unterminated single", "s = 'abc\nos.system(x)\n", &[("os.system", Kind::Code)]),
            ("unterminated triple", "s = '''abc\nos.system(x)\n", &[("os.system", Kind::Str)]),
            ("py2 print", "print 'hello'\nexec code\n", &[("hello", Kind::Str), ("exec", Kind::Code)]),
            ("identifier ending in r", "bar'x'", &[("x'", Kind::Str)]),
            ("continuation is not a statement", "x = 1 + \\\n    'http://a'\n", &[("http", Kind::Str)]),
        ];
        for (name, src, needles) in cases {
            eprintln!("case {name}");
            kinds(src, needles);
        }
    }

    #[test]
    fn per_file_lexes_the_member_once() {
        let text = String::from("x = 'a'  # c\n");
        let (a, b) = per_file(&text, || {
            let (a, b) = (Source::python(&text), Source::python(&text));
            (Arc::as_ptr(&a.spans.get_or_init(|| cached_lex(a.text)).clone()), {
                let _ = b.spans();
                Arc::as_ptr(b.spans.get().unwrap())
            })
        });
        assert_eq!(a, b, "same member, one lexing pass");
        let other = String::from("y = 1 # z\n");
        per_file(&text, || assert_eq!(Source::python(&other).spans().len(), 1, "other texts are lexed"));
        let (c, d) = (Source::python(&text), Source::python(&text));
        assert_ne!(Arc::as_ptr(c.spans.get_or_init(|| cached_lex(c.text))), {
            let _ = d.spans();
            Arc::as_ptr(d.spans.get().unwrap())
        });
        assert_eq!(c.spans().len(), 2);
    }

    #[test]
    fn per_file_searches_a_regex_once() {
        static RE: std::sync::LazyLock<regex::Regex> =
            std::sync::LazyLock::new(|| regex::Regex::new(r"\d+").expect("re"));
        let text = String::from("a 12 b 345");
        let (a, b) = per_file(&text, || (find_ranges(&RE, &text), find_ranges(&RE, &text)));
        assert!(Arc::ptr_eq(&a, &b), "one search per member");
        assert_eq!(*a, vec![(2, 4), (7, 10)]);
        let other = String::from("9");
        per_file(&text, || assert_eq!(*find_ranges(&RE, &other), vec![(0, 1)], "other texts are searched"));
        assert!(!Arc::ptr_eq(&find_ranges(&RE, &text), &find_ranges(&RE, &text)), "no cache outside per_file");
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
    }
}
