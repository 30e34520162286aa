//! Python source as the detectors see it: a small, fast, error-tolerant lexer that
//! tells code from comments, strings and docstrings, and [`Source`], the lazily
//! lexed view of one text member with its per-member regex cache.
//!
//! Owns: byte-range classification of Python source, which code runs when the module
//! is imported (module top level, class bodies, top-level `if`/`try`/`with`/`for`
//! bodies) and which is deferred (function bodies, lambdas, `if __name__ == "__main__":`),
//! every `def` and `class` with its body and parent ([`Scopes`]), the name graph both
//! call-graph readings use ([`NameGraph`]: edges to names, never per call × definition),
//! the member's line index ([`Lines`]: line and column of an offset, and back; on lines
//! longer than `COLUMN_BLOCK` bytes through per-member character checkpoints, so a column
//! costs bounded work on a line of any length), and what is
//! computed once per member for every detector (the engine's `TextFile::source` holds the
//! member's `Source`).
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
    /// Where its lines end (see [`Source::lines`]).
    lines: OnceCell<Lines>,
    /// Characters before every `col_block`-th byte, for columns on long lines (see [`Chars`]).
    chars: OnceCell<Chars>,
    /// The block size of `chars` ([`COLUMN_BLOCK`]; smaller in tests).
    col_block: usize,
    /// The byte ranges that do not run on import (see [`Source::runs_on_import`]).
    import: OnceCell<ImportMap>,
    /// Regex (by address) → its match ranges over `text`.
    matches: RefCell<Vec<(usize, Ranges)>>,
}

/// Byte ranges of one regex's matches.
pub(crate) type Ranges = Rc<[(usize, usize)]>;

impl<'a> Source<'a> {
    /// Python source, lexed on first use.
    pub fn python(text: &'a str) -> Self {
        Source {
            text,
            python: true,
            spans: OnceCell::new(),
            lines: OnceCell::new(),
            chars: OnceCell::new(),
            col_block: COLUMN_BLOCK,
            import: OnceCell::new(),
            matches: RefCell::default(),
        }
    }

    /// The same `Source` with character checkpoints every `block` bytes (tests of [`Chars`]).
    #[cfg(test)]
    pub(crate) fn with_column_block(mut self, block: usize) -> Self {
        self.col_block = block;
        self
    }

    /// Any other text: all code, never lexed.
    pub fn plain(text: &'a str) -> Self {
        Source {
            text,
            python: false,
            spans: OnceCell::from(Vec::new()),
            lines: OnceCell::new(),
            chars: OnceCell::new(),
            col_block: COLUMN_BLOCK,
            import: OnceCell::new(),
            matches: RefCell::default(),
        }
    }

    /// The member's lines: its newlines, found once (one `memchr` pass) on first use and shared
    /// by every detector that relates offsets to lines, by evidence building
    /// ([`Source::line_col`]) and by [`Source::offset_of`]: no one counts the newlines before an
    /// offset again, and asking where a hit sits does not lex the member or build its import map.
    pub(crate) fn lines(&self) -> &Lines {
        self.lines.get_or_init(|| Lines::new(self.text))
    }

    /// The 1-based line and column (in characters) of byte `offset` (clamped to the text and
    /// moved back to a character boundary): a binary search in [`Source::lines`], then the
    /// characters from the line's start. Bounded per call on a line of any length: at most
    /// [`COLUMN_BLOCK`] bytes are counted directly; further back, the member's character
    /// checkpoints ([`Chars`], built once on first need) give the count.
    pub(crate) fn line_col(&self, offset: usize) -> (u32, u32) {
        let offset = self.char_floor(offset);
        let lines = self.lines();
        let line = lines.line(offset);
        let start = lines.start(line).unwrap_or(0);
        let col = self.chars_between(start, offset) + 1;
        (line as u32 + 1, col as u32)
    }

    /// `offset` clamped to the text and moved back to a character boundary.
    fn char_floor(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    /// The characters in `text[start..end]` (both on character boundaries).
    fn chars_between(&self, start: usize, end: usize) -> usize {
        if end - start <= self.col_block {
            return count_chars(&self.text.as_bytes()[start..end]);
        }
        let chars = self.chars.get_or_init(|| Chars::new(self.text.as_bytes(), self.col_block));
        chars.before(self.text.as_bytes(), end, self.col_block)
            - chars.before(self.text.as_bytes(), start, self.col_block)
    }

    /// Every comment and string span, in order.
    pub fn spans(&self) -> &[Span] {
        self.spans.get_or_init(|| lex(self.text.as_bytes()))
    }

    /// The (start, end) byte ranges of `re.find_iter(text)`, searched once per `Source`:
    /// every later call with the same static regex gets the same ranges.
    pub fn find_ranges(&self, re: &'static Regex) -> Ranges {
        self.find_ranges_by(re, |text| re.find_iter(text).map(|m| (m.start(), m.end())).collect())
    }

    /// [`Source::find_ranges`] with the search done by `search`, which must return exactly
    /// the ranges of `re.find_iter(text)` (a candidate search that confirms only near a
    /// literal every match holds): cached under `re` like the plain search.
    pub fn find_ranges_by(&self, re: &'static Regex, search: impl FnOnce(&str) -> Ranges) -> Ranges {
        let id = re as *const Regex as usize;
        if let Some((_, ranges)) = self.matches.borrow().iter().find(|(r, _)| *r == id) {
            return ranges.clone();
        }
        let ranges = search(self.text);
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

    /// True when the code at 1-based `line` and `column` (in characters; `None`: the
    /// line's first non-blank character) runs when the module is imported: it is not
    /// inside a function body, a lambda or an `if __name__ == "__main__":` block.
    /// Decided token-wise from indentation, brackets and the lexed strings, so it
    /// works on files that do not parse (fragments, Python 2). Non-Python text: false.
    pub fn runs_on_import(&self, line: u32, column: Option<u32>) -> bool {
        if !self.python || line == 0 {
            return false;
        }
        match self.offset_of(line, column) {
            Some(offset) => self.runs_on_import_offset(offset),
            None => false,
        }
    }

    /// [`Source::runs_on_import`] of the code at byte `offset` (a character boundary inside
    /// the text or its end): what `runs_on_import(line_col(offset))` answers, without the
    /// round trip through a column.
    pub(crate) fn runs_on_import_offset(&self, offset: usize) -> bool {
        if !self.python {
            return false;
        }
        let map = self.import_map();
        let i = map.deferred.partition_point(|&(_, end)| end <= offset);
        if map.deferred.get(i).is_some_and(|&(s, _)| s <= offset) {
            return false;
        }
        // A comment or docstring never runs; a string literal runs only as (part of) a call's
        // argument (`os.system("…")`), not as a constant being defined (`ARGS = ["…"]`).
        match self.span_at(offset) {
            None => true,
            Some(sp) if sp.kind == Kind::Str => {
                let k = map.stmt_starts.partition_point(|&st| st <= sp.start);
                let stmt = k.checked_sub(1).map_or(0, |k| map.stmt_starts[k]);
                self.in_call_argument(stmt, sp.start)
            }
            Some(_) => false,
        }
    }

    fn import_map(&self) -> &ImportMap {
        self.import.get_or_init(|| ImportMap::new(self.text, self.spans(), Stepping::SkipInert))
    }

    /// Every `def` and `class` of the module, at any depth, with its body and parent, read
    /// token-wise like [`Source::runs_on_import`] (and computed with it, once).
    pub fn scopes(&self) -> &Scopes {
        &self.import_map().scopes
    }

    /// The byte offset of 1-based `line` and `column` (in characters; `None`: the line's
    /// first non-blank character).
    pub fn offset_of(&self, line: u32, column: Option<u32>) -> Option<usize> {
        let start = self.lines().start((line as usize).checked_sub(1)?)?;
        let rest = &self.text[start..];
        let eol = start + memchr::memchr(b'\n', rest.as_bytes()).unwrap_or(rest.len());
        Some(match column {
            Some(col) => self.nth_char_from(start, eol, col.saturating_sub(1) as usize),
            None => eol - self.text[start..eol].trim_start().len(),
        })
    }

    /// The offset of the `n`th (0-based) character from `start` (a character boundary), or
    /// `eol` when the line holds fewer: bounded like [`Source::line_col`].
    fn nth_char_from(&self, start: usize, eol: usize, n: usize) -> usize {
        let b = self.text.as_bytes();
        let mut at = start;
        let mut left = n;
        if eol - start > self.col_block && n > self.col_block {
            // Jump to the last checkpoint at or before the wanted character, then walk.
            let chars = self.chars.get_or_init(|| Chars::new(b, self.col_block));
            let want = chars.before(b, start, self.col_block) + n;
            let k = chars.0.partition_point(|&c| c <= want).saturating_sub(1);
            let from = (k * self.col_block).max(start);
            if from >= eol {
                return eol;
            }
            let have = chars.before(b, from, self.col_block);
            if have <= want {
                at = from;
                left = want - have;
            }
        }
        for (i, &c) in b[at..eol].iter().enumerate() {
            if !is_continuation(c) {
                if left == 0 {
                    return at + i;
                }
                left -= 1;
            }
        }
        eol
    }

    /// True when 1-based `line`/`column` sits in a documentation constant: a triple-quoted
    /// string assigned to `__doc__` or to an upper-case name that says it is documentation
    /// (`DOCUMENTATION`, `EXAMPLES`, `RETURN`, `USAGE`, `HELP_TEXT`, …, the convention of
    /// plugin frameworks that keep YAML docs in the module). What it says is read, not run.
    pub fn in_doc_constant(&self, line: u32, column: Option<u32>) -> bool {
        if !self.python || line == 0 {
            return false;
        }
        let Some(sp) = self.offset_of(line, column).and_then(|o| self.span_at(o)) else {
            return false;
        };
        if sp.kind != Kind::Str || sp.body_start - sp.start < 3 || sp.fstring {
            return false;
        }
        let line_start = self.text[..sp.start].rfind('\n').map_or(0, |i| i + 1);
        DOC_CONSTANT.is_match(&self.text[line_start..sp.start])
    }

    /// Whether the code between `stmt` and `at` leaves a call's parenthesis open at `at`
    /// (an enclosing `(` right after a name, `)` or `]`; lists and tuples are looked through).
    fn in_call_argument(&self, stmt: usize, at: usize) -> bool {
        let b = self.text.as_bytes();
        let mut depth = 0u32;
        let mut i = at;
        while i > stmt {
            i -= 1;
            if let Some(sp) = self.span_at(i) {
                i = sp.start.max(stmt);
                continue;
            }
            match b[i] {
                b')' | b']' | b'}' => depth += 1,
                b'[' | b'{' if depth > 0 => depth -= 1,
                b'(' if depth > 0 => depth -= 1,
                b'(' => {
                    let before = b[stmt..i].iter().rposition(|c| !matches!(c, b' ' | b'\t')).map(|k| b[stmt + k]);
                    if before.is_some_and(|c| is_ident_byte(c) || c == b')' || c == b']') {
                        return true;
                    }
                }
                _ => {}
            }
        }
        false
    }

    /// True when any byte of `text[start..end]` is code.
    pub fn any_code_in(&self, start: usize, end: usize) -> bool {
        (start..end.min(self.text.len())).any(|i| self.is_code(i))
    }
}

/// `NAME = ` before a documentation constant's opening quotes (see [`Source::in_doc_constant`]).
static DOC_CONSTANT: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
    Regex::new(r"^\s*(?:__doc__|[A-Z_]*(?:DOC|DOCUMENTATION|EXAMPLES?|RETURN|USAGE|HELP|EPILOG|DESCRIPTION)[A-Z0-9_]*)\s*=\s*$")
        .expect("doc constant")
});

/// Bytes counted directly for a column; beyond this a member's [`Chars`] checkpoints are used.
pub(crate) const COLUMN_BLOCK: usize = 4096;

/// Whether `b` continues a UTF-8 character (every other byte starts one).
fn is_continuation(b: u8) -> bool {
    (b as i8) < -0x40
}

/// The characters that start in `b` (its bytes that do not continue one).
fn count_chars(b: &[u8]) -> usize {
    b.iter().filter(|&&c| !is_continuation(c)).count()
}

/// Character checkpoints of a text: `0[k]` is the number of characters starting before byte
/// `k × block`. One pass, built only when a column is asked for far into a long line, so
/// that a column costs at most two blocks of counting whatever the line's length. The
/// block size is the owning [`Source`]'s (`col_block`), passed to each call.
#[derive(Debug)]
struct Chars(Vec<usize>);

impl Chars {
    fn new(b: &[u8], block: usize) -> Self {
        let mut marks = Vec::with_capacity(b.len() / block + 1);
        let mut n = 0;
        marks.push(0);
        for chunk in b.chunks(block) {
            n += count_chars(chunk);
            marks.push(n);
        }
        Chars(marks)
    }

    /// The characters starting before byte `at`, with checkpoints every `block` bytes (the
    /// block they were built with).
    fn before(&self, b: &[u8], at: usize, block: usize) -> usize {
        let k = at / block;
        self.0[k] + count_chars(&b[k * block..at])
    }
}

/// Where the lines of a text end: the offsets of its newlines, in order (see [`Source::lines`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Lines(Vec<usize>);

impl Lines {
    pub(crate) fn new(text: &str) -> Self {
        Lines(memchr::memchr_iter(b'\n', text.as_bytes()).collect())
    }

    /// 0-based line of a byte offset (a newline belongs to the line it ends).
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&n| n < offset)
    }

    /// Where 0-based `line` ends: its newline, or `len` (the text's length) for the last line.
    pub(crate) fn end(&self, line: usize, len: usize) -> usize {
        self.0.get(line).copied().unwrap_or(len)
    }

    /// Where 0-based `line` starts (the text's length for the empty line after a final
    /// newline); `None` past the last line.
    pub(crate) fn start(&self, line: usize) -> Option<usize> {
        match line.checked_sub(1) {
            None => Some(0),
            Some(k) => self.0.get(k).map(|&n| n + 1),
        }
    }
}

/// Per member: the merged, sorted byte ranges whose code does not run on import, the
/// statement starts and the scopes.
#[cfg_attr(test, derive(Debug, PartialEq, Eq))]
struct ImportMap {
    deferred: Vec<(usize, usize)>,
    /// Where each statement starts (logical line starts and code after a top-level `;`).
    stmt_starts: Vec<usize>,
    scopes: Scopes,
}

/// How the import map's byte loops step over the bytes they do nothing at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stepping {
    /// A run of them at once, up to the next span: words and inert bytes ([`skip_words`]),
    /// the words that name no function ([`next_known_word`]).
    SkipInert,
    /// One byte per iteration: the reference the skipping is tested against.
    #[cfg(test)]
    ByteByByte,
}

impl ImportMap {
    fn new(text: &str, spans: &[Span], stepping: Stepping) -> Self {
        let mut stmt_starts = Vec::new();
        let mut funcs = Vec::new();
        let mut scopes = Scopes::default();
        let mut deferred = deferred_ranges(text.as_bytes(), spans, &mut stmt_starts, &mut funcs, &mut scopes, stepping);
        // The body of a module-level function called (or started on a thread) by code that
        // runs on import runs on import too.
        let reached: std::collections::HashSet<(usize, usize)> =
            reached_functions(text.as_bytes(), spans, &deferred, &funcs, stepping).into_iter().collect();
        if !reached.is_empty() {
            deferred.retain(|r| !reached.contains(r));
        }
        deferred.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(deferred.len());
        for (s, e) in deferred {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        ImportMap { deferred: merged, stmt_starts, scopes }
    }
}

/// What opened a block whose body does not run on import.
enum Header {
    /// `def` / `async def` (true) or `class` (false) at this indentation, with the byte range
    /// of its name and whether a decorator line precedes it: the body starts at the header's `:`.
    Block(bool, usize, (usize, usize), bool),
}

/// One `def` or `class` of a module, at any depth (see [`Source::scopes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    /// `def` / `async def` (false: `class`).
    pub def: bool,
    /// The byte range of its name.
    pub name: (usize, usize),
    /// From the header's `:` to the end of the indented block (or of the line, for a
    /// one-line body): what runs only when the function is called (a class body runs where
    /// the class is defined).
    pub body: (usize, usize),
    /// The innermost `def` or `class` whose body holds this one (an index into the same list).
    pub parent: Option<usize>,
    /// A decorator line precedes the header: the decorator is handed the function or class.
    pub decorated: bool,
}

/// Every `def` and `class` of a module, and whether its block structure can be trusted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scopes {
    /// In order of their headers (a parent before its children).
    pub scopes: Vec<Scope>,
    /// False when the token-wise reading may not be where Python would put the blocks: an
    /// unclosed bracket, a header without its `:`, a form feed in an indentation, or a
    /// carriage return that ends a line on its own (Python reads it as a new line; this
    /// reading does not).
    pub well_formed: bool,
}

/// An open deferred block: indentation of its header line, start offset, and the name range
/// of a module-level function (`None` for nested functions and `__main__` blocks).
type OpenBlock = (usize, usize, Option<(usize, usize)>);

/// A function defined at module level (not inside another function): the byte range of
/// its name and of its body (from the header's `:` to the end of the block).
struct ModuleFunction {
    name: (usize, usize),
    body: (usize, usize),
}

/// Byte ranges of code that does not run on import: function bodies (from the header's
/// `:` to the end of the indented block; parameter defaults and decorators do run),
/// lambdas (from `lambda` to the end of the statement) and `if __name__ == "__main__":`
/// blocks. One pass over the code bytes, skipping the lexed comments and strings.
fn deferred_ranges(
    s: &[u8],
    spans: &[Span],
    stmt_starts: &mut Vec<usize>,
    funcs: &mut Vec<ModuleFunction>,
    scopes: &mut Scopes,
    stepping: Stepping,
) -> Vec<(usize, usize)> {
    let n = s.len();
    let mut out = Vec::new();
    // Open `def` and `class` blocks: (indentation of their header line, index in `scopes`).
    let mut open: Vec<(usize, usize)> = Vec::new();
    // The last logical line was a decorator (`@…`).
    let mut decorator = false;
    let mut well_formed = !has_lone_carriage_return(s);
    // Open deferred blocks: (indentation of their header line, start offset, the name of a
    // module-level function).
    let mut blocks: Vec<OpenBlock> = Vec::new();
    let mut header: Option<Header> = None;
    // An open lambda: (start, bracket depth at `lambda`, its `:` seen).
    let mut lambda: Option<(usize, u32, bool)> = None;
    let (mut i, mut next_span, mut depth) = (0usize, 0usize, 0u32);
    let mut line_start = true;
    while i < n {
        while next_span < spans.len() && spans[next_span].start < i {
            next_span += 1;
        }
        if line_start {
            // Indentation of a physical line that starts a logical one.
            let (j, indent) = match stepping {
                Stepping::SkipInert => indentation(s, i, &mut well_formed),
                #[cfg(test)]
                Stepping::ByteByByte => {
                    let (mut j, mut indent) = (i, 0usize);
                    while j < n && matches!(s[j], b' ' | b'\t' | b'\x0c') {
                        indent = if s[j] == b'\t' { (indent / 8 + 1) * 8 } else { indent + 1 };
                        well_formed &= s[j] != b'\x0c';
                        j += 1;
                    }
                    (j, indent)
                }
            };
            let mut j = j;
            if j < n && s[j] == b'\r' && s.get(j + 1) == Some(&b'\n') {
                j += 1;
            }
            if j >= n {
                break;
            }
            if s[j] == b'\n' {
                i = j + 1;
                continue;
            }
            if s[j] == b'#' {
                i = spans.get(next_span).filter(|sp| sp.start == j).map_or(j + 1, |sp| sp.end);
                continue;
            }
            while let Some(&(ind, start, name)) = blocks.last() {
                if ind < indent {
                    break;
                }
                out.push((start, j));
                if let Some(name) = name {
                    funcs.push(ModuleFunction { name, body: (start, j) });
                }
                blocks.pop();
            }
            while let Some(&(ind, k)) = open.last() {
                if ind < indent {
                    break;
                }
                scopes.scopes[k].body.1 = j;
                open.pop();
            }
            // A header whose `:` never came is not Python (`def f()` alone on its line).
            well_formed &= header.take().is_none();
            stmt_starts.push(j);
            let word = ident_at(s, j);
            let decorated = std::mem::replace(&mut decorator, s[j] == b'@');
            if word == b"def" || word == b"async" && ident_at(s, skip_blank(s, j + 5)) == b"def" {
                let def = if word == b"def" { j } else { skip_blank(s, j + 5) };
                let name_at = skip_blank(s, def + 3);
                header = Some(Header::Block(true, indent, (name_at, name_at + ident_at(s, name_at).len()), decorated));
            } else if word == b"class" {
                let name_at = skip_blank(s, j + 5);
                header = Some(Header::Block(false, indent, (name_at, name_at + ident_at(s, name_at).len()), decorated));
            } else if word == b"if" && is_main_guard(s, j) {
                blocks.push((indent, j, None));
            }
            line_start = false;
            i = j;
            continue;
        }
        if let Some(sp) = spans.get(next_span).filter(|sp| sp.start == i) {
            i = sp.end.max(i + 1);
            continue;
        }
        let c = s[i];
        match c {
            b'\n' => {
                // An unclosed bracket must not swallow the rest of a broken file: a line
                // that starts at column 0 with a statement keyword starts a new statement.
                if depth > 0 && starts_statement(&s[i + 1..]) {
                    depth = 0;
                    well_formed = false;
                }
                if depth == 0 {
                    close_lambda(&mut lambda, i, &mut out);
                    line_start = true;
                }
                i += 1;
            }
            b'\\' => {
                // A line continuation (or a stray backslash): the logical line goes on.
                i += if s.get(i + 1) == Some(&b'\r') { 3 } else { 2 };
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                i += 1;
            }
            b')' | b']' | b'}' => {
                if lambda.is_some_and(|(_, at, _)| depth == at) {
                    close_lambda(&mut lambda, i, &mut out);
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b':' if lambda.is_some_and(|(_, at, colon)| depth == at && !colon) => {
                lambda = lambda.map(|(start, at, _)| (start, at, true));
                i += 1;
            }
            b':' if depth == 0 => {
                if let Some(Header::Block(def, indent, name, decorated)) = header.take() {
                    if def {
                        // Module level: at column 0 (not a method, not nested), outside `__main__`.
                        blocks.push((indent, i, (indent == 0 && blocks.is_empty()).then_some(name)));
                    }
                    let parent = open.last().map(|&(_, k)| k);
                    open.push((indent, scopes.scopes.len()));
                    scopes.scopes.push(Scope { def, name, body: (i, n), parent, decorated });
                }
                i += 1;
            }
            b',' if lambda.is_some_and(|(_, at, colon)| depth == at && colon) => {
                close_lambda(&mut lambda, i, &mut out);
                i += 1;
            }
            b';' if depth == 0 => {
                close_lambda(&mut lambda, i, &mut out);
                stmt_starts.push(i + 1);
                i += 1;
            }
            _ => match stepping {
                // A word, an inert byte, or a `:`, `,` or `;` that does nothing here: nothing to
                // do at it or at the words and inert bytes that follow, up to the next span, but
                // at a word `lambda`: the iterations of the two reference arms below, without the
                // span checks between them. A byte that is not a word's is stepped over first.
                Stepping::SkipInert => {
                    let until = spans.get(next_span).map_or(n, |sp| sp.start);
                    let from = if is_ident_byte(c) { i } else { i + 1 };
                    i = skip_words(s, from, until, |at| {
                        if lambda.is_none() {
                            lambda = Some((at, depth, false));
                        }
                    });
                }
                #[cfg(test)]
                Stepping::ByteByByte if is_ident_byte(c) => {
                    let word = ident_at(s, i);
                    if word == b"lambda" && lambda.is_none() {
                        lambda = Some((i, depth, false));
                    }
                    i += word.len().max(1);
                }
                #[cfg(test)]
                Stepping::ByteByByte => i += 1,
            },
        }
    }
    close_lambda(&mut lambda, n, &mut out);
    for (_, start, name) in blocks.into_iter().rev() {
        out.push((start, n));
        if let Some(name) = name {
            funcs.push(ModuleFunction { name, body: (start, n) });
        }
    }
    scopes.well_formed = well_formed && depth == 0 && header.is_none();
    out
}

/// A `\r` not followed by `\n`: Python ends a line there, the lexer does not.
fn has_lone_carriage_return(s: &[u8]) -> bool {
    memchr::memchr_iter(b'\r', s).any(|i| s.get(i + 1) != Some(&b'\n'))
}

/// The bodies of the module-level functions that run on import: called, started on a thread
/// (`Thread(target=f)`, `Timer(5, f)`, `start_new_thread(f, …)`, `executor.submit(f)`,
/// `atexit.register(f)`) or applied as a decorator (`@f`) by module-level code, or by the body
/// of a function that itself runs on import (transitively). A function only referenced (a
/// plugin table `{"x": f}`, `registry.register(f)`, `signal.signal(…, f)`) is not called by
/// importing the module, and neither is one called only from another function's nested
/// function, a lambda or the `__main__` block. Token-wise, like the rest of this file.
fn reached_functions(
    s: &[u8],
    spans: &[Span],
    deferred: &[(usize, usize)],
    funcs: &[ModuleFunction],
    stepping: Stepping,
) -> Vec<(usize, usize)> {
    if funcs.is_empty() {
        return Vec::new();
    }
    // Units: 0 is module level, `k + 1` the body of `funcs[k]`; each name makes the functions
    // of that name run.
    let mut graph = NameGraph::new(funcs.len() + 1);
    let mut by_body: std::collections::HashMap<(usize, usize), usize> = std::collections::HashMap::new();
    for (k, f) in funcs.iter().enumerate() {
        let name = graph.name(&s[f.name.0..f.name.1]);
        graph.define(name, k + 1);
        by_body.insert(f.body, k);
    }
    // Every deferred range, outermost first at equal starts, with its parent (the innermost
    // range around it): ranges nest (a lambda or a def inside a def) or are disjoint.
    let mut ranges: Vec<(usize, usize)> = deferred.to_vec();
    ranges.sort_unstable_by_key(|&(a, b)| (a, std::cmp::Reverse(b)));
    let mut parent: Vec<Option<usize>> = Vec::with_capacity(ranges.len());
    let mut stack: Vec<usize> = Vec::new();
    for (k, &(a, _)) in ranges.iter().enumerate() {
        while stack.last().is_some_and(|&p| ranges[p].1 <= a) {
            stack.pop();
        }
        parent.push(stack.last().copied());
        stack.push(k);
    }
    let innermost = |o: usize| {
        let mut k = ranges.partition_point(|&(a, _)| a <= o).checked_sub(1);
        while let Some(i) = k {
            if ranges[i].1 > o {
                return Some(ranges[i]);
            }
            k = parent[i];
        }
        None
    };
    let (mut i, mut next_span) = (0usize, 0usize);
    while i < s.len() {
        while next_span < spans.len() && spans[next_span].end <= i {
            next_span += 1;
        }
        if let Some(sp) = spans.get(next_span).filter(|sp| sp.start <= i) {
            i = sp.end.max(i + 1);
            continue;
        }
        let until = spans.get(next_span).map_or(s.len(), |sp| sp.start);
        let (start, end, callee) = match stepping {
            // The words up to the next span, in one loop, to the first that names a function.
            Stepping::SkipInert => match next_known_word(s, i, until, &graph) {
                Ok(word) => word,
                Err(resume) => {
                    i = resume;
                    continue;
                }
            },
            #[cfg(test)]
            Stepping::ByteByByte => {
                if !is_ident_byte(s[i]) || i > 0 && is_ident_byte(s[i - 1]) {
                    i += 1;
                    continue;
                }
                let word = ident_at(s, i);
                let end = i + word.len().max(1);
                match graph.known(word) {
                    Some(callee) => (i, end, callee),
                    None => {
                        i = end;
                        continue;
                    }
                }
            }
        };
        i = end;
        if !runs_the_function(s, start, end) {
            continue;
        }
        let caller = match innermost(start) {
            None => 0,
            Some(r) => match by_body.get(&r) {
                Some(&k) => k + 1,
                None => continue, // a nested function, a lambda, the `__main__` block
            },
        };
        graph.refer(caller, callee);
    }
    let runs = graph.reach(&[0], std::iter::empty());
    funcs.iter().zip(&runs[1..]).filter(|(_, r)| **r).map(|(f, _)| f.body).collect()
}

/// Which units of code run, given which run first: a unit that runs refers to names (an edge
/// unit → name, one per occurrence) and may make other units run directly (a function makes its
/// nested functions run); a name that is referred to makes every unit defined under it run.
/// Edges go to names, never from each occurrence to each definition, so a module with 20,000
/// functions of one name, each calling it, is 40,000 edges, not 400 million; each name and each
/// unit is expanded once (linear in units + names + edges).
pub(crate) struct NameGraph<'t> {
    ids: std::collections::HashMap<&'t [u8], usize>,
    /// One bit per [`name_key`] of the names in `ids`: a name whose bit is clear is not in
    /// `ids`, found without hashing it (most identifiers of a module name no function).
    keys: [u64; NAME_KEY_BITS / 64],
    /// Per name: the units it makes run.
    defines: Vec<Vec<usize>>,
    /// Per unit: the names it refers to.
    refers: Vec<Vec<usize>>,
    /// Per unit: the units it makes run directly.
    then: Vec<Vec<usize>>,
}

impl<'t> NameGraph<'t> {
    pub(crate) fn new(units: usize) -> Self {
        NameGraph {
            ids: std::collections::HashMap::new(),
            keys: [0; NAME_KEY_BITS / 64],
            defines: Vec::new(),
            refers: vec![Vec::new(); units],
            then: vec![Vec::new(); units],
        }
    }

    /// The id of `name`, added when new.
    pub(crate) fn name(&mut self, name: &'t [u8]) -> usize {
        let next = self.defines.len();
        let key = name_key(name);
        self.keys[key / 64] |= 1 << (key % 64);
        let id = *self.ids.entry(name).or_insert(next);
        if id == next {
            self.defines.push(Vec::new());
        }
        id
    }

    /// The id of `name` when some unit is defined under it or it was added.
    pub(crate) fn known(&self, name: &[u8]) -> Option<usize> {
        let key = name_key(name);
        if self.keys[key / 64] & (1 << (key % 64)) == 0 {
            return None;
        }
        self.ids.get(name).copied()
    }

    /// `name` makes `unit` run.
    pub(crate) fn define(&mut self, name: usize, unit: usize) {
        self.defines[name].push(unit);
    }

    /// `unit` refers to `name`.
    pub(crate) fn refer(&mut self, unit: usize, name: usize) {
        self.refers[unit].push(name);
    }

    /// `unit` makes `other` run whenever it runs.
    pub(crate) fn then(&mut self, unit: usize, other: usize) {
        self.then[unit].push(other);
    }

    /// Per unit: whether it runs, when `units` run and `names` are referred to from outside.
    pub(crate) fn reach<'n>(&self, units: &[usize], names: impl Iterator<Item = &'n [u8]>) -> Vec<bool> {
        let mut runs = vec![false; self.refers.len()];
        let mut named = vec![false; self.defines.len()];
        let mut todo: Vec<usize> = units.to_vec();
        let mut names: Vec<usize> = names.filter_map(|n| self.known(n)).collect();
        loop {
            if let Some(n) = names.pop() {
                if !std::mem::replace(&mut named[n], true) {
                    todo.extend(&self.defines[n]);
                }
                continue;
            }
            let Some(u) = todo.pop() else { break };
            if std::mem::replace(&mut runs[u], true) {
                continue;
            }
            names.extend(&self.refers[u]);
            todo.extend(&self.then[u]);
        }
        runs
    }
}

/// Bits of [`NameGraph`]'s name filter.
const NAME_KEY_BITS: usize = 4096;

/// A name's bit in [`NameGraph`]'s filter: from its length and its first and last bytes (what
/// tells most identifiers of a module apart cheaply; equal names always share a bit).
fn name_key(name: &[u8]) -> usize {
    let (first, last) = (name.first().copied().unwrap_or(0), name.last().copied().unwrap_or(0));
    let mixed = (u32::from(first) | u32::from(last) << 8 | (name.len() as u32) << 16).wrapping_mul(0x9e37_79b1);
    (mixed >> 20) as usize % NAME_KEY_BITS
}

/// Whether the name at `start..end` is called or handed to something that calls it now or
/// on its own: `f(`, `@f`, `target=f`, or an argument of a thread/timer/executor/atexit
/// starter. Not an attribute (`obj.f`), not the `def` itself.
fn runs_the_function(s: &[u8], start: usize, end: usize) -> bool {
    let before = s[..start].iter().rposition(|c| !matches!(c, b' ' | b'\t')).map(|k| (k, s[k]));
    let after = s[end..].iter().find(|c| !matches!(c, b' ' | b'\t')).copied();
    match before {
        Some((_, b'.')) => return false,
        Some((k, _)) if s[..=k].ends_with(b"def") || s[..=k].ends_with(b"class") => return false,
        _ => {}
    }
    if after == Some(b'(') || matches!(before, Some((_, b'@'))) {
        return true;
    }
    let Some((k, c)) = before else {
        return false;
    };
    if c == b'=' && s[..k].trim_ascii_end().ends_with(b"target") {
        return true;
    }
    // `starter(f` or `starter(<one simple argument>, f`.
    let mut open = None;
    if c == b'(' {
        open = Some(k);
    } else if c == b',' {
        let arg_start = s[..k].iter().rposition(|&b| !(is_ident_byte(b) || matches!(b, b'.' | b' ' | b'\t')));
        open = arg_start.filter(|&p| s[p] == b'(');
    }
    let Some(open) = open else {
        return false;
    };
    let callee_end = s[..open].trim_ascii_end().len();
    let callee_start = s[..callee_end].iter().rposition(|&b| !(is_ident_byte(b) || b == b'.')).map_or(0, |p| p + 1);
    let callee = &s[callee_start..callee_end];
    let last = callee.rsplit(|&b| b == b'.').next().unwrap_or(callee);
    matches!(last, b"Thread" | b"Timer" | b"start_new_thread" | b"submit" | b"Process")
        || callee.ends_with(b"atexit.register")
}

fn close_lambda(lambda: &mut Option<(usize, u32, bool)>, end: usize, out: &mut Vec<(usize, usize)>) {
    if let Some((start, _, _)) = lambda.take() {
        out.push((start, end));
    }
}

/// A line that can only start a statement: `def`, `class`, `import`, `from … import`, a decorator.
fn starts_statement(line: &[u8]) -> bool {
    let word = ident_at(line, 0);
    matches!(word, b"def" | b"class" | b"import" | b"from" | b"async") && line.get(word.len()) == Some(&b' ')
        || line.first() == Some(&b'@')
}

/// The identifier starting at `i` (empty if none).
fn ident_at(s: &[u8], i: usize) -> &[u8] {
    let end = s[i.min(s.len())..].iter().position(|&b| !is_ident_byte(b)).map_or(s.len(), |k| i + k);
    &s[i.min(end)..end]
}

fn skip_blank(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && matches!(s[i], b' ' | b'\t') {
        i += 1;
    }
    i
}

/// `if __name__ == "__main__":` (either quote, either order) on the line at `i`.
fn is_main_guard(s: &[u8], i: usize) -> bool {
    let end = memchr::memchr(b'\n', &s[i..]).map_or(s.len(), |k| i + k);
    let line = &s[i..end];
    let has = |needle: &[u8]| line.windows(needle.len()).any(|w| w == needle);
    has(b"__name__") && has(b"__main__")
}

pub(crate) fn is_ident_byte(b: u8) -> bool {
    IDENT_BYTE[b as usize]
}

/// From `i` (a word's first byte or an inert byte) to the first offset before `until` whose byte
/// is neither inert for [`deferred_ranges`] nor an identifier byte (or to `until`): what its loop
/// does over them, a word at a time, without the span checks between. `lambda_at` is called at
/// each word `lambda` on the way: a word starts at `i` itself (the loop stands at a word there)
/// or at an identifier byte after a non-identifier byte. Only a word starting with `l` is read
/// whole; every other byte is one table load.
fn skip_words(s: &[u8], mut i: usize, until: usize, mut lambda_at: impl FnMut(usize)) -> usize {
    let until = until.min(s.len());
    let entry = i;
    let passive = |b: u8| PASSIVE_BYTE[b as usize];
    loop {
        // Four bytes a step while all four are passive (no branch between them), then one.
        while i + 4 <= until {
            let w = &s[i..i + 4];
            if !(passive(w[0]) & passive(w[1]) & passive(w[2]) & passive(w[3])) {
                break;
            }
            i += 4;
        }
        while i < until && passive(s[i]) {
            i += 1;
        }
        if i < until && s[i] == b'l' {
            if i == entry || !is_ident_byte(s[i - 1]) {
                let word = ident_at(s, i);
                if word == b"lambda" {
                    lambda_at(i);
                }
                i += word.len();
            } else {
                i += 1;
            }
            continue;
        }
        return i;
    }
}

/// The first offset at or after `i` whose byte is not an identifier byte (or `s.len()`): the end
/// of the identifier run at `i`. Four bytes a step while all four are identifier bytes, then one.
fn ident_end(s: &[u8], mut i: usize) -> usize {
    let ident = |b: u8| IDENT_BYTE[b as usize];
    while let Some(w) = s.get(i..i + 4) {
        if !(ident(w[0]) & ident(w[1]) & ident(w[2]) & ident(w[3])) {
            break;
        }
        i += 4;
    }
    while i < s.len() && ident(s[i]) {
        i += 1;
    }
    i
}

/// The end of the indentation starting at `i` (spaces, tabs, form feeds) and its width (a tab
/// to the next multiple of 8); a form feed clears `well_formed`. Spaces eight at a time.
fn indentation(s: &[u8], i: usize, well_formed: &mut bool) -> (usize, usize) {
    let (mut j, mut indent) = (i, 0usize);
    loop {
        while s.get(j..j + 8) == Some(b"        ") {
            j += 8;
            indent += 8;
        }
        while s.get(j) == Some(&b' ') {
            j += 1;
            indent += 1;
        }
        match s.get(j) {
            Some(b'\t') => indent = (indent / 8 + 1) * 8,
            Some(b'\x0c') => {
                indent += 1;
                *well_formed = false;
            }
            _ => return (j, indent),
        }
        j += 1;
    }
}

/// The first word at or after `i` whose name [`NameGraph::known`] knows, as (start, end, name id),
/// for [`reached_functions`]: words start at `i` itself when it is preceded by a non-identifier
/// byte (else its identifier run is skipped, as that loop steps over it) and after every
/// non-identifier byte. `Err`: none starts before `until`; the offset to resume at (`until`).
/// A word is read to its end even past `until`, as that loop reads it.
fn next_known_word(s: &[u8], mut i: usize, until: usize, graph: &NameGraph) -> Result<(usize, usize, usize), usize> {
    let until = until.min(s.len());
    loop {
        while i < until && !IDENT_BYTE[s[i] as usize] {
            i += 1;
        }
        if i >= until {
            return Err(i.max(until));
        }
        let start = i;
        i = ident_end(s, i + 1);
        if start > 0 && IDENT_BYTE[s[start - 1] as usize] {
            continue;
        }
        if let Some(name) = graph.known(&s[start..i]) {
            return Ok((start, i, name));
        }
    }
}

/// The bytes [`deferred_ranges`]'s byte loop only steps over (not a newline, a backslash, a
/// bracket, `:`, `,`, `;`, or an identifier byte; tested against its arms).
#[cfg(test)]
static INERT_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let structural = matches!(c, b'\n' | b'\\' | b'(' | b'[' | b'{' | b')' | b']' | b'}' | b':' | b',' | b';');
        t[b] = !structural && !(c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80);
        b += 1;
    }
    t
};

/// What [`skip_words`] steps over with one table load: the inert bytes of [`deferred_ranges`]
/// and the identifier bytes but `l` (where a word `lambda` may start). Tested against the rule.
static PASSIVE_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let structural = matches!(c, b'\n' | b'\\' | b'(' | b'[' | b'{' | b')' | b']' | b'}' | b':' | b',' | b';');
        t[b] = !structural && c != b'l';
        b += 1;
    }
    t
};

/// `b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80` for every byte: one load per byte
/// in the lexer's hottest loop (tested against the rule).
static IDENT_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
        b += 1;
    }
    t
};

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
            b' ' | b'\t' | b'\r' | b'\x0c' => {
                // A run of blanks changes nothing: skip it at once.
                i += 1;
                while s.get(i..i + 8) == Some(b"        ") {
                    i += 8;
                }
                while i < n && matches!(s[i], b' ' | b'\t' | b'\r' | b'\x0c') {
                    i += 1;
                }
            }
            b'\'' | b'"' => {
                let stmt = line_start && depth == 0;
                let sp = string_at(s, i, i, "", stmt);
                i = sp.end;
                spans.push(sp);
                line_start = false;
            }
            _ if is_ident_byte(c) => {
                let start = i;
                i = ident_end(s, i);
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
    // The prefix's letters, case-insensitively (no lowercased copy: this runs per literal).
    let has = |c: u8| prefix.bytes().any(|p| p.eq_ignore_ascii_case(&c));
    let doc = stmt && rest_of_line_is_empty(s, end);
    Span {
        start,
        end,
        kind: if doc { Kind::Doc } else { Kind::Str },
        body_start,
        body_end,
        raw: has(b'r'),
        bytes: has(b'b'),
        fstring: has(b'f'),
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

/// Random texts for the tests that hold a bounded search equal to a whole-member search:
/// `count` texts of up to `max_pieces - 1` pieces each, from a xorshift stream started at
/// `seed` (deterministic, so a failure names its text).
#[cfg(test)]
pub(crate) fn random_texts(pieces: &[&str], max_pieces: u64, mut seed: u64, count: u64) -> Vec<String> {
    let mut texts = Vec::with_capacity(count as usize);
    for case in 0..count {
        let mut text = String::new();
        for _ in 0..(seed % max_pieces) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            text.push_str(pieces[(seed % pieces.len() as u64) as usize]);
        }
        seed = seed.wrapping_add(case);
        texts.push(text);
    }
    texts
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
    fn identifier_bytes_by_table_as_by_rule() {
        for b in 0..=255u8 {
            assert_eq!(is_ident_byte(b), b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80, "byte {b:#x}");
        }
    }

    #[test]
    fn inert_bytes_are_what_the_deferred_range_loop_steps_over() {
        for b in 0..=255u8 {
            let arm = matches!(b, b'\n' | b'\\' | b'(' | b'[' | b'{' | b')' | b']' | b'}' | b':' | b',' | b';');
            assert_eq!(INERT_BYTE[b as usize], !arm && !is_ident_byte(b), "byte {b:#x}");
        }
    }

    /// Random module-like texts whose pieces exercise every arm of the import map's loops:
    /// headers, lambdas, brackets, strings (closed, unclosed, prefixed), comments, backslashes,
    /// calls and thread starters of the defined names, `__main__` guards, `\r`, form feeds and
    /// non-ASCII bytes.
    fn module_texts(seed: u64, count: u64) -> Vec<String> {
        let pieces = [
            "def f(a, b=g()):\n",
            "def g():\n",
            "async def h(x):\n",
            "class C(B):\n",
            "    ",
            "\t",
            "\n",
            "\r\n",
            "\r",
            "\x0c",
            "f()",
            "g(1)",
            "h",
            "@f\n",
            "Thread(target=g)",
            "atexit.register(h)",
            "Timer(5, f)",
            "x.f()",
            "lambda: ",
            "lambda a, b: a",
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            ":",
            ",",
            ";",
            " = ",
            "\\\n",
            "\\",
            "'s'",
            "\"t\"",
            "'''doc\n'''",
            "\"unclosed\n",
            "b'x'",
            "f\"{g()}\"",
            "# c\n",
            "#",
            "return ",
            "if __name__ == \"__main__\":\n",
            "é",
            "x1",
            "_y",
            " ",
            "  ",
            "pass\n",
            "import os\n",
            "from a import b\n",
            "l",
            "xlambda",
            "lambdas",
            "\\xlambda",
            "el",
            "fl(",
            "        ",
            "\n        def k():\n",
            "\n\t    \tx = 1\n",
            "\n  \x0c  y\n",
        ];
        random_texts(&pieces, 60, seed, count)
    }

    #[test]
    fn import_map_skipping_inert_bytes_is_the_byte_by_byte_loop() {
        let named = [
            ("empty", ""),
            ("module function called on import", "def f():\n    x = 1\nf()\n"),
            ("lambda in brackets", "x = (lambda a: a,  b)\ny = [ 1 ,  2 ]\n"),
            ("header without colon", "def f()\nx = 1\n"),
            ("unclosed bracket", "x = (1,\ndef g():\n    pass\n"),
            ("strings and comments between runs", "x = 'a' + \"b\"  # c\n\ndef f():  # d\n    return  'e'\n"),
            ("backslash continuation", "x = 1 + \\\n    2\ndef f(): pass\n"),
            ("main guard", "if __name__ == '__main__':\n    main()\n"),
            ("thread starter", "def w():\n    pass\nThread(target=w).start()\n"),
            ("words holding lambda are not lambdas", "x = (xlambda, lambdas, l_lambda, lambda2)\nlambda_ = 1\n"),
            ("a lambda after a backslash's skipped byte", "x = a\\ylambda: 1\ny = 2\n"),
            ("a lambda right after a string", "x = 'a'lambda: 1\n"),
            ("a lambda after a colon that does nothing", "x = {1:lambda: 2, 3: lambda b: b}\n"),
            ("a second lambda inside the first", "f = lambda a: lambda b: (a, b)\ng()\n"),
            ("non-ASCII words before a lambda", "é = [é for é in lambda: 1]\n"),
            ("a function named after a word inside a name", "def lamb():\n    pass\nxlamb()\nlamb_()\nlamb()\n"),
            ("a function called right after a string", "def f():\n    pass\nx = 'a'f()\n"),
            ("deep indentation", "class A:\n    def f(self):\n        if x:\n                    def g():\n                        pass\n\t\tg()\n  \t  h()\n"),
            ("names after a backslash", "def g():\n    pass\n\\gg()\n\\ g()\n"),
        ];
        let random = module_texts(0x2545_f491_4f6c_dd1d, 3000);
        let (mut deferred, mut reached) = (0, 0);
        for (case, text) in named
            .iter()
            .map(|&(c, t)| (c.to_string(), t.to_string()))
            .chain(random.into_iter().enumerate().map(|(i, t)| (format!("random {i}"), t)))
        {
            let spans = lex(text.as_bytes());
            let want = ImportMap::new(&text, &spans, Stepping::ByteByByte);
            assert_eq!(ImportMap::new(&text, &spans, Stepping::SkipInert), want, "{case}: {text:?}");
            deferred += want.deferred.len();
            // Each loop on its own, too: what a loop found that the merged map no longer shows.
            let each = |stepping| {
                let (mut starts, mut funcs, mut scopes) = (Vec::new(), Vec::new(), Scopes::default());
                let d = deferred_ranges(text.as_bytes(), &spans, &mut starts, &mut funcs, &mut scopes, stepping);
                let r = reached_functions(text.as_bytes(), &spans, &d, &funcs, stepping);
                let funcs: Vec<_> = funcs.iter().map(|f| (f.name, f.body)).collect();
                (d, starts, funcs, r)
            };
            let by_byte = each(Stepping::ByteByByte);
            assert_eq!(each(Stepping::SkipInert), by_byte, "{case}: {text:?}");
            reached += usize::from(!by_byte.3.is_empty());
        }
        assert!(deferred > 3000, "the texts defer code: {deferred}");
        assert!(reached > 100, "the texts call their functions on import: {reached}");
    }

    #[test]
    fn identifier_ends_four_bytes_a_step_are_the_byte_loop() {
        let pieces = ["a", "_", "é", "9", " ", "(", "\n", "ab", "abcd", "xyz_1", "''", "\t"];
        for (k, text) in random_texts(&pieces, 24, 0x5eed_1234_abcd_0001, 2000).iter().enumerate() {
            let s = text.as_bytes();
            for i in 0..=s.len() {
                let mut want = i;
                while want < s.len() && is_ident_byte(s[want]) {
                    want += 1;
                }
                assert_eq!(ident_end(s, i), want, "text {k} at {i}: {text:?}");
            }
        }
    }

    #[test]
    fn passive_bytes_are_inert_bytes_and_identifier_bytes_but_l() {
        for b in 0..=255u8 {
            let want = b != b'l' && (INERT_BYTE[b as usize] || is_ident_byte(b));
            assert_eq!(PASSIVE_BYTE[b as usize], want, "byte {b:#x}");
        }
    }

    #[test]
    fn a_huge_line_of_words_and_lambdas_is_mapped_in_linear_time() {
        // One 4 MB line inside an open bracket: words starting with `l` (each read whole), words
        // holding `lambda`, lambdas whose `:` never comes, and the names of module functions
        // between them, so both loops meet a word at almost every byte.
        let unit = "lll lamb xlambda lambdas lambda lambda f l_1 g(f) ";
        let text =
            format!("def f():\n    pass\ndef g(a):\n    pass\nx = ({}\n)\n", unit.repeat(4_000_000 / unit.len()));
        let started = std::time::Instant::now();
        let map = ImportMap::new(&text, &lex(text.as_bytes()), Stepping::SkipInert);
        let took = started.elapsed();
        // `f`'s body (from its `:` at byte 7) is deferred: `g(f)` hands it to no starter.
        assert!(map.deferred.iter().any(|&(start, _)| start == 7), "f's body is deferred: {:?}", &map.deferred[..1]);
        assert_eq!(map.scopes.scopes.len(), 2, "both functions are scopes");
        assert!(took < std::time::Duration::from_secs(2), "{} bytes took {took:?}", text.len());
    }

    #[test]
    fn the_name_filter_never_hides_a_name() {
        // Names that share lengths and first and last bytes with many others, and others.
        let pieces = ["a", "b", "_", "x", "é", "1", "ab", "ba", "f", "self", "lambda"];
        let names = random_texts(&pieces, 6, 0x1234_5678_9abc_def1, 600);
        let queries = random_texts(&pieces, 6, 0x0fed_cba9_8765_4321, 4000);
        let mut graph = NameGraph::new(1);
        for n in names.iter().step_by(2) {
            graph.name(n.as_bytes());
        }
        let (mut known, mut filtered) = (0, 0);
        for q in names.iter().chain(&queries) {
            let want = graph.ids.get(q.as_bytes()).copied();
            assert_eq!(graph.known(q.as_bytes()), want, "{q:?}");
            known += usize::from(want.is_some());
            let key = name_key(q.as_bytes());
            filtered += usize::from(graph.keys[key / 64] & (1 << (key % 64)) == 0);
        }
        assert!(known > 300 && filtered > 300, "both outcomes: {known} known, {filtered} filtered out");
    }

    #[test]
    fn columns_on_one_five_megabyte_line_cost_bounded_time() {
        // One line of 5 MB (multi-byte characters in it) after a short one: 20,000 columns
        // asked along it, each turned back into an offset and judged for import time. Counting
        // from the line's start each time would read 50 GB.
        let unit = "exec(x); é = '€'; ";
        let text = format!("import os\n{}\n", unit.repeat(5_000_000 / unit.len()));
        let started = std::time::Instant::now();
        let src = Source::python(&text);
        let step = text.len() / 20_000;
        let mut last_col = 0;
        for k in 0..20_000 {
            let offset = pysrc_floor(&text, 10 + k * step);
            let (line, col) = src.line_col(offset);
            assert_eq!(line, 2, "at {offset}");
            assert!(col > last_col || k == 0, "columns grow along the line: {col} after {last_col}");
            last_col = col;
            assert_eq!(src.offset_of(line, Some(col)), Some(offset), "back to the offset");
            assert!(src.runs_on_import_offset(offset) || src.span_at(offset).is_some(), "module-level code runs");
        }
        let took = started.elapsed();
        let want = text[10..text.len() - 1].chars().count() as u32 + 1;
        assert_eq!(src.line_col(text.len() - 1), (2, want), "the last column is the line's character count");
        // Lexing and mapping the 5 MB line is most of this (about 2 s on a loaded machine);
        // counting from the line's start per column would take minutes.
        assert!(took < std::time::Duration::from_secs(10), "{} bytes took {took:?}", text.len());
    }

    fn pysrc_floor(text: &str, mut i: usize) -> usize {
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    }

    #[test]
    fn a_huge_module_of_calls_and_lambdas_is_mapped_in_linear_time() {
        // 20,000 functions, each calling the next and started on a thread at module level,
        // separated by runs of operators and lambdas in open brackets: every loop of the import
        // map meets every byte, and the call graph has an edge per call.
        let mut text = String::new();
        for k in 0..20_000 {
            text.push_str(&format!(
                "def f{k}(a=(lambda: 1)):\n    return f{}(a) + - * / % ~ ^ & | < > = ! ? $ `\n",
                k + 1
            ));
            text.push_str(&format!("Thread(target=f{k}); x = [lambda b: b, {{ 'k': f{k} }}]\n"));
        }
        let started = std::time::Instant::now();
        let src = Source::python(&text);
        let lines = text.matches('\n').count() as u32;
        let runs = (1..=lines).step_by(97).filter(|&l| src.runs_on_import(l, None)).count();
        let took = started.elapsed();
        assert!(runs > 100, "the module's functions run on import: {runs}");
        assert!(took < std::time::Duration::from_secs(3), "{} bytes took {took:?}", text.len());
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

    /// Check each named module's marked lines: `# <- import` must run on import, `# <- deferred`
    /// must not.
    fn assert_import_markers(cases: &[(&str, &str)]) {
        for (name, src) in cases {
            let s = Source::python(src);
            for (i, line) in src.lines().enumerate() {
                let want = match line {
                    l if l.ends_with("# <- import") => true,
                    l if l.ends_with("# <- deferred") => false,
                    _ => continue,
                };
                assert_eq!(s.runs_on_import(i as u32 + 1, None), want, "{name}: line {} {line:?}", i + 1);
            }
        }
    }

    /// Each case: a module and, for each marked line (`# <- import` / `# <- deferred`),
    /// whether its first code runs on import.
    #[test]
    fn tells_code_that_runs_on_import_from_deferred_code() {
        let cases: &[(&str, &str)] = &[
            ("module level call", "import os\nos.system('x')  # <- import\n"),
            ("function body", "def f():\n    os.system('x')  # <- deferred\nx = g()  # <- import\n"),
            ("async function body", "async def f():\n    await run('x')  # <- deferred\n"),
            (
                "method body deferred, class body runs",
                "class A:\n    X = run()  # <- import\n    def m(self):\n        run()  # <- deferred\n    Y = run()  # <- import\n",
            ),
            (
                "top-level if/try/with/for bodies run",
                "if True:\n    run()  # <- import\ntry:\n    run()  # <- import\nexcept Exception:\n    pass\nwith x:\n    run()  # <- import\nfor i in y:\n    run()  # <- import\n",
            ),
            ("main guard does not run on import", "if __name__ == '__main__':\n    run()  # <- deferred\nrun()  # <- import\n"),
            ("multi-line call at top level", "subprocess.call(\n    ['sh', '-c', x],  # <- import\n)\n"),
            (
                "multi-line call in a function",
                "def f():\n    subprocess.call(\n['sh'],  # <- deferred\n)\nrun()  # <- import\n",
            ),
            (
                "dedented string inside a function",
                "def f():\n    s = \"\"\"\nnot code\n\"\"\"\n    run()  # <- deferred\nrun()  # <- import\n",
            ),
            ("backslash continuation", "x = 1 + \\\n  run()  # <- import\n"),
            (
                "python 2 syntax still works",
                "print 'hi'\nexec code  # <- import\ndef f():\n    print >>sys.stderr, run()  # <- deferred\n",
            ),
            (
                "an unclosed bracket does not swallow the file",
                "x = f(\ndef g():\n    run()  # <- deferred\nrun()  # <- import\n",
            ),
            ("tabs and blank lines", "def f():\n\trun()\n\n\t# c\n\trun()  # <- deferred\nrun()  # <- import\n"),
        ];
        assert_import_markers(cases);
    }

    /// The call-graph step: a module-level function's body runs on import when module-level
    /// code (or the body of a function that runs on import) calls it or starts it.
    #[test]
    fn functions_called_or_started_on_import_run_on_import() {
        let cases: &[(&str, &str)] = &[
            ("called at top level", "def f():\n    run()  # <- import\nf()\n"),
            ("never called", "def f():\n    run()  # <- deferred\n"),
            (
                "started on a thread",
                "import threading\ndef _loop():\n    run()  # <- import\nthreading.Thread(target=_loop, daemon=True).start()\n",
            ),
            ("a timer", "def beat():\n    run()  # <- import\nthreading.Timer(5.0, beat).start()\n"),
            ("start_new_thread", "def w():\n    run()  # <- import\n_thread.start_new_thread(w, ())\n"),
            ("atexit", "def bye():\n    run()  # <- import\natexit.register(bye)\n"),
            (
                "transitively",
                "def a():\n    run()  # <- import\ndef b():\n    a()\n    run()  # <- import\nb()\n",
            ),
            ("called from a top-level try", "def f():\n    run()  # <- import\ntry:\n    f()\nexcept Exception:\n    pass\n"),
            (
                "a nested function stays deferred",
                "def outer():\n    run()  # <- import\n    def inner():\n        run()  # <- deferred\n    return inner\nouter()\n",
            ),
            ("called only from the main guard", "def main():\n    run()  # <- deferred\nif __name__ == '__main__':\n    main()\n"),
            ("called only from another function", "def f():\n    run()  # <- deferred\ndef g():\n    f()\n"),
            ("called only from a lambda", "def f():\n    run()  # <- deferred\nh = lambda: f()\n"),
            ("a plugin table refers, does not call", "def f():\n    run()  # <- deferred\nHANDLERS = {'x': f}\n"),
            ("a registry registers, does not call", "def f():\n    run()  # <- deferred\nregistry.register(f)\n"),
            ("an attribute of the same name", "def run_it():\n    run()  # <- deferred\napp.run_it()\n"),
            (
                "a method of the same name is not the module function",
                "class A:\n    def go(self):\n        run()  # <- deferred\ndef go():\n    run()  # <- import\ngo()\n",
            ),
            ("a decorator runs when applied", "def deco(fn):\n    run()  # <- import\n    return fn\n@deco\ndef g():\n    run()  # <- deferred\n"),
            ("a name in a string or comment", "def f():\n    run()  # <- deferred\nx = 'f()'  # f()\n"),
        ];
        assert_import_markers(cases);
    }

    #[test]
    fn import_time_by_column_on_one_line() {
        let src = "def f(x=run_a()): run_b()\nh = {'a': lambda: run_c(), 'b': run_d()}\n";
        let s = Source::python(src);
        let col = |src: &str, line: u32, needle: &str| {
            let l = src.lines().nth(line as usize - 1).expect("line");
            l[..l.find(needle).expect("needle")].chars().count() as u32 + 1
        };
        let cases = [
            ("a parameter default runs on import", 1, "run_a", true),
            ("the body of a one-line def does not", 1, "run_b", false),
            ("a lambda body does not", 2, "run_c", false),
            ("the next dict value does", 2, "run_d", true),
        ];
        for (name, line, needle, want) in cases {
            assert_eq!(s.runs_on_import(line, Some(col(src, line, needle))), want, "{name}");
        }
        let src = "ARGS = ['powershell', '-NoProfile']\nos.system('powershell -w hidden')\nsubprocess.run(\n    ['powershell', x])\n# os.system('x')\n";
        let s = Source::python(src);
        let cases = [
            ("a string constant being defined does not run", 1, "powershell", false),
            ("a string passed to a call runs", 2, "powershell", true),
            ("a string in a list passed to a multi-line call runs", 4, "powershell", true),
            ("a comment never runs", 5, "os.system", false),
        ];
        for (name, line, needle, want) in cases {
            assert_eq!(s.runs_on_import(line, Some(col(src, line, needle))), want, "{name}");
        }
        assert!(!Source::plain("run()\n").runs_on_import(1, None), "non-Python text is never import-time");
    }

    #[test]
    fn documentation_constants_are_told_from_code_strings() {
        let src = "DOCUMENTATION = r'''\nInvoke-Expression x\n'''\nEXAMPLES = \"\"\"\n- curl | bash\n\"\"\"\nSCRIPT = '''\ncurl | bash\n'''\nos.system('''curl | bash''')\nHELP = f'''{x} curl'''\n";
        let s = Source::python(src);
        let cases = [
            ("a module's YAML documentation", 2, true),
            ("its examples", 5, true),
            ("a script template is not documentation", 8, false),
            ("an argument is not documentation", 10, false),
            ("an f-string is built, not documentation", 11, false),
        ];
        for (name, line, want) in cases {
            assert_eq!(s.in_doc_constant(line, None), want, "{name}");
        }
    }
}
