//! Python source as the detectors see it: a small, fast, error-tolerant lexer that
//! tells code from comments, strings and docstrings, and [`Source`], the lazily
//! lexed view of one text member with its per-member regex cache.
//!
//! Owns: byte-range classification of Python source and what is computed once per
//! member for every detector (the engine's `TextFile::source` holds the member's
//! `Source`).
//! Must not: know any detector or indicator, or report hits.
//!
//! Hand-written rather than a full parser (tree-sitter, ruff's parser) because
//! detectors only need "is this offset code, comment, string or docstring", must
//! survive Python 2 and broken sources, and run on every prefiltered file: one
//! linear pass over the bytes, one small `Vec` of non-code spans, nothing else.

use regex::Regex;
use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

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
/// whose regexes find no candidate in a file never pays for it. The engine's
/// [`TextFile::source`](crate::scan::detector::TextFile::source) holds one `Source`
/// per member, shared by every detector that scans it: the member is lexed at most
/// once, and each static regex searched through [`Source::find_ranges`] runs at most
/// once over it.
pub struct Source<'a> {
    pub text: &'a str,
    pub python: bool,
    spans: OnceCell<Vec<Span>>,
    /// Regex (by address) → its match ranges over `text`.
    matches: RefCell<Vec<(usize, Ranges)>>,
}

/// Byte ranges of one regex's matches.
pub(crate) type Ranges = Rc<[(usize, usize)]>;

impl<'a> Source<'a> {
    /// Python source, lexed on first use.
    pub fn python(text: &'a str) -> Self {
        Source { text, python: true, spans: OnceCell::new(), matches: RefCell::default() }
    }

    /// Any other text: all code, never lexed.
    pub fn plain(text: &'a str) -> Self {
        Source { text, python: false, spans: OnceCell::from(Vec::new()), matches: RefCell::default() }
    }

    /// Every comment and string span, in order.
    pub fn spans(&self) -> &[Span] {
        self.spans.get_or_init(|| lex(self.text.as_bytes()))
    }

    /// The (start, end) byte ranges of `re.find_iter(text)`, searched once per `Source`:
    /// every later call with the same static regex gets the same ranges.
    pub fn find_ranges(&self, re: &'static Regex) -> Ranges {
        let id = re as *const Regex as usize;
        if let Some((_, ranges)) = self.matches.borrow().iter().find(|(r, _)| *r == id) {
            return ranges.clone();
        }
        let ranges: Ranges = re.find_iter(self.text).map(|m| (m.start(), m.end())).collect();
        self.matches.borrow_mut().push((id, ranges.clone()));
        ranges
    }

    /// How many regex searches this `Source` has run (tests of the once-per-member property).
    #[cfg(test)]
    pub(crate) fn searches(&self) -> usize {
        self.matches.borrow().len()
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
    fn a_source_lexes_once_and_searches_each_regex_once() {
        static RE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| Regex::new(r"\d+").expect("re"));
        static OTHER: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| Regex::new(r"[a-z]").expect("re"));
        let src = Source::python("x = '12'  # 345\n");
        assert!(std::ptr::eq(src.spans(), src.spans()), "one lexing pass");
        assert_eq!(src.spans().len(), 2);
        let (a, b) = (src.find_ranges(&RE), src.find_ranges(&RE));
        assert!(Rc::ptr_eq(&a, &b), "one search per regex");
        assert_eq!(*a, [(5, 7), (12, 15)]);
        assert_eq!(*src.find_ranges(&OTHER), [(0, 1)], "another regex is searched on its own");
        let again = Source::python(src.text);
        assert!(!Rc::ptr_eq(&again.find_ranges(&RE), &a), "no cache outside one Source");
        assert!(Source::plain("# not a comment").spans().is_empty(), "plain text is all code");
    }
}
