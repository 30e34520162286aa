//! Constant folding of Python string-building expressions: what a hidden name or
//! payload statically evaluates to, so detectors can report the resolved call
//! (`getattr(os, "sy"+"stem")` → `os.system`) and what a literal payload decodes to.
//!
//! Folds: string/bytes literals with every escape (`"\145\166\141\154"`, `"\x65val"`,
//! `\u`, adjacent literals), `+` concatenation, `*` repetition, integer arithmetic and
//! bit operations (`chr(1<<6|0x25)`), `chr`/`ord`/`str`/`bytes`/`bytearray`,
//! `"".join([...])`, `map(chr, [...])`, `reversed`, comprehensions
//! (`"".join(chr(c ^ 7) for c in [...])`), slices (`"metsys"[::-1]`), `.decode()`,
//! `.encode()`, `.lower()`, `.upper()`, `.strip()`, `.replace()`, `bytes.fromhex`,
//! `unhexlify`, base64/base32/base16/base85, `codecs.decode(…, "rot13"|"hex"|"base64"|"zlib")`,
//! `zlib`/`gzip`/`bz2`/`lzma` decompression, and names bound once in the same file by
//! a plain `name = <foldable>` assignment ([`Env`]).
//!
//! Owns: the expression evaluator and the payload decoders it needs. Must not: report
//! hits, know any detector's indicators, or do unbounded work: packages are hostile,
//! so input, output, recursion and steps are capped ([`MAX_EXPR`], [`MAX_OUT`],
//! `MAX_DEPTH`, `MAX_STEPS`) and anything past a cap folds to `None` (unknown).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read;

/// Longest expression text folded (bytes): a literal payload up to this size is decoded.
pub(crate) const MAX_EXPR: usize = 256 << 10;
/// Longest value produced (bytes or characters); decompression stops here.
pub(crate) const MAX_OUT: usize = 64 << 10;
const MAX_DEPTH: u32 = 48;
const MAX_STEPS: u32 = 20_000;
/// Assignments remembered per file by [`Env`], and the longest right-hand side folded.
const MAX_BINDINGS: usize = 512;
const MAX_RHS: usize = 8 << 10;

/// A folded value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Str(String),
    Bytes(Vec<u8>),
    Int(i64),
    List(Vec<Value>),
    /// A name (or dotted name) that is not a known value: a module, a builtin, a callable.
    Name(String),
}

impl Value {
    /// The value as text: strings as they are, bytes decoded lossily.
    pub(crate) fn text(&self) -> Option<String> {
        match self {
            Value::Str(s) => Some(s.clone()),
            Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }
}

/// Names bound in one file by `name = <foldable expression>` (one line, or a bracketed
/// expression over several), looked up on demand: only the names a detector folds are
/// searched for, each once per file. A name bound more than one way (twice to different
/// values, by tuple unpacking, `for`, `as`, `+=`) is unknown.
pub(crate) struct Env<'a> {
    text: &'a str,
    /// name → (value, bound to a plain literal); `None` when unknown. A name being
    /// resolved is `None` meanwhile, so cyclic bindings end.
    cache: RefCell<HashMap<String, Option<(Value, bool)>>>,
}

impl<'a> Env<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Env { text, cache: RefCell::default() }
    }

    /// No bindings at all.
    pub(crate) fn empty() -> Env<'static> {
        Env { text: "", cache: RefCell::default() }
    }

    fn get(&self, name: &str) -> Option<Value> {
        self.binding(name).map(|(v, _)| v)
    }

    fn binding(&self, name: &str) -> Option<(Value, bool)> {
        if let Some(hit) = self.cache.borrow().get(name) {
            return hit.clone();
        }
        if self.cache.borrow().len() >= MAX_BINDINGS || self.text.is_empty() {
            return None;
        }
        self.cache.borrow_mut().insert(name.to_string(), None);
        let found = self.find(name);
        self.cache.borrow_mut().insert(name.to_string(), found.clone());
        found
    }

    /// The one value `name` is bound to in the file, if it is bound exactly one way.
    ///
    /// Linear in the file per name: the facts about an occurrence's line (its start, its
    /// end, the start of its text after the indent, whether it holds ` = `, where the
    /// first byte that cannot be in a tuple target is) are found once per line by walking
    /// forward from the previous occurrence, never by reading the line again per
    /// occurrence (`rfind` back to the newline on a line of megabytes with thousands of
    /// occurrences read gigabytes). [`Env::find_reference`] (tests) is the per-occurrence
    /// reading it must equal.
    fn find(&self, name: &str) -> Option<(Value, bool)> {
        let t = self.text;
        let b = t.as_bytes();
        let mut value: Option<(Value, bool)> = None;
        let mut seen = 0;
        let mut line = LineFacts::default();
        // memmem's SIMD search: this scans the whole file once per name looked up (the
        // same non-overlapping occurrences as `str::match_indices`, several times faster).
        for at in memchr::memmem::find_iter(b, name.as_bytes()) {
            let end = at + name.len();
            if at > 0 && (is_ident(b[at - 1]) || b[at - 1] == b'.') || b.get(end).copied().is_some_and(is_ident) {
                continue;
            }
            seen += 1;
            if seen > 2000 {
                return None;
            }
            line.move_to(b, at);
            let before = &t[line.text_start(b).min(at)..at];
            let after = t[end..].trim_start_matches([' ', '\t']);
            let ab = after.as_bytes();
            // Bound some other way: `for name`, `as name`, `name +=`, `a, name =`, `name, b =`.
            if before.ends_with("for ") || before.ends_with(" as ") || before.ends_with("as ") && before.len() == 3 {
                return None;
            }
            if ab.len() > 1 && ab[1] == b'=' && b"+-*/|&^%@".contains(&ab[0]) {
                return None;
            }
            let tuple = (before.ends_with(',') || before.ends_with(", ") || ab.first() == Some(&b','))
                && line.holds_assignment(b, end)
                && line.first_non_target(b) >= at;
            if tuple {
                return None;
            }
            if !before.is_empty() || ab.first() != Some(&b'=') || ab.get(1) == Some(&b'=') {
                continue; // a use, not a binding
            }
            let rhs_at = end + (t[end..].len() - after.len()) + 1;
            let rhs_end = logical_line_end(b, rhs_at, MAX_RHS);
            let rhs = &t[rhs_at..rhs_end];
            // Only what can fold: string building (a quote or chr()) or integer arithmetic.
            let numeric = rhs.bytes().all(|c| c.is_ascii_hexdigit() || b" \t\r+-*|&^<>()xXoO_~%/".contains(&c));
            if !(rhs.contains(['\'', '"']) || rhs.contains("chr(") || numeric) {
                return None;
            }
            let v = eval(rhs, self).map(|v| (v, is_plain_literal(rhs)));
            match (&value, v) {
                (_, None) => return None,
                (None, Some(v)) => value = Some(v),
                (Some(old), Some(v)) if old.0 == v.0 => {}
                _ => return None,
            }
        }
        value
    }

    /// [`Env::find`] as it was written first, reading the occurrence's line again for
    /// every occurrence: the reference the linear walk is tested against.
    #[cfg(test)]
    fn find_reference(&self, name: &str) -> Option<(Value, bool)> {
        let t = self.text;
        let b = t.as_bytes();
        let mut value: Option<(Value, bool)> = None;
        let mut seen = 0;
        for at in memchr::memmem::find_iter(b, name.as_bytes()) {
            let end = at + name.len();
            if at > 0 && (is_ident(b[at - 1]) || b[at - 1] == b'.') || b.get(end).copied().is_some_and(is_ident) {
                continue;
            }
            seen += 1;
            if seen > 2000 {
                return None;
            }
            let ls = t[..at].rfind('\n').map_or(0, |p| p + 1);
            let before = t[ls..at].trim_start_matches([' ', '\t']);
            let after = t[end..].trim_start_matches([' ', '\t']);
            let ab = after.as_bytes();
            if before.ends_with("for ") || before.ends_with(" as ") || before.ends_with("as ") && before.len() == 3 {
                return None;
            }
            if ab.len() > 1 && ab[1] == b'=' && b"+-*/|&^%@".contains(&ab[0]) {
                return None;
            }
            let line_end = t[end..].find('\n').map_or(t.len(), |p| end + p);
            let tuple = (before.ends_with(',') || before.ends_with(", ") || ab.first() == Some(&b','))
                && t[ls..line_end].contains(" = ")
                && before.bytes().all(|c| is_ident(c) || b", ".contains(&c));
            if tuple {
                return None;
            }
            if !before.is_empty() || ab.first() != Some(&b'=') || ab.get(1) == Some(&b'=') {
                continue;
            }
            let rhs_at = end + (t[end..].len() - after.len()) + 1;
            let rhs_end = logical_line_end(b, rhs_at, MAX_RHS);
            let rhs = &t[rhs_at..rhs_end];
            let numeric = rhs.bytes().all(|c| c.is_ascii_hexdigit() || b" \t\r+-*|&^<>()xXoO_~%/".contains(&c));
            if !(rhs.contains(['\'', '"']) || rhs.contains("chr(") || numeric) {
                return None;
            }
            let v = eval(rhs, self).map(|v| (v, is_plain_literal(rhs)));
            match (&value, v) {
                (_, None) => return None,
                (None, Some(v)) => value = Some(v),
                (Some(old), Some(v)) if old.0 == v.0 => {}
                _ => return None,
            }
        }
        value
    }

    /// True when `name` is bound once in the file, to a plain string literal (nothing hidden).
    pub(crate) fn is_plain(&self, name: &str) -> bool {
        self.binding(name).is_some_and(|(_, plain)| plain)
    }
}

/// What [`Env::find`] needs to know about the line of one occurrence, found by walking
/// forward only: occurrences come in increasing order, so the newline search resumes
/// where the previous occurrence left it, and each per-line fact is computed once per
/// line (keyed by the line's start, or by its start and end) and reused by the later
/// occurrences on it. Every byte of the file is read a bounded number of times per name.
#[derive(Default)]
struct LineFacts {
    /// Bytes before this offset have been searched for newlines.
    searched: usize,
    /// Start of the current occurrence's line (after the last newline before it).
    start: usize,
    /// The first newline at or after the last occurrence's end that was asked about,
    /// or the text's end.
    end: Option<usize>,
    /// (line start, first byte after it that is not a blank or tab).
    text_start: Option<(usize, usize)>,
    /// ((line start, line end), the line holds ` = `).
    assignment: Option<((usize, usize), bool)>,
    /// (text start, first byte from it that cannot be in a tuple target: not an
    /// identifier byte, a comma or a blank).
    non_target: Option<(usize, usize)>,
}

impl LineFacts {
    /// Move to an occurrence at `at` (never before the previous one).
    fn move_to(&mut self, b: &[u8], at: usize) {
        if let Some(p) = memchr::memrchr(b'\n', &b[self.searched..at]) {
            self.start = self.searched + p + 1;
        }
        self.searched = at;
    }

    /// The first byte of the line that is not a blank or a tab (the newline or the
    /// text's end when there is none).
    fn text_start(&mut self, b: &[u8]) -> usize {
        match self.text_start {
            Some((ls, ts)) if ls == self.start => ts,
            _ => {
                let ts = self.start + b[self.start..].iter().take_while(|&&c| c == b' ' || c == b'\t').count();
                self.text_start = Some((self.start, ts));
                ts
            }
        }
    }

    /// The first newline at or after `from` (an occurrence's end; never before the
    /// previous one asked), or the text's end.
    fn end(&mut self, b: &[u8], from: usize) -> usize {
        match self.end {
            Some(le) if le >= from => le,
            _ => {
                let le = memchr::memchr(b'\n', &b[from..]).map_or(b.len(), |p| from + p);
                self.end = Some(le);
                le
            }
        }
    }

    /// The line, from its start to the first newline at or after `from`, holds ` = `.
    fn holds_assignment(&mut self, b: &[u8], from: usize) -> bool {
        let span = (self.start, self.end(b, from));
        match self.assignment {
            Some((s, holds)) if s == span => holds,
            _ => {
                let holds = memchr::memmem::find(&b[span.0..span.1], b" = ").is_some();
                self.assignment = Some((span, holds));
                holds
            }
        }
    }

    /// The first byte from the line's text start that is neither an identifier byte, a
    /// comma nor a blank (a newline always is one), or the text's end.
    fn first_non_target(&mut self, b: &[u8]) -> usize {
        let ts = self.text_start(b);
        match self.non_target {
            Some((s, p)) if s == ts => p,
            _ => {
                let p = ts + b[ts..].iter().take_while(|&&c| is_ident(c) || c == b',' || c == b' ').count();
                self.non_target = Some((ts, p));
                p
            }
        }
    }
}

/// End of the logical line starting at `from`: the first newline, `;` or `#` outside
/// brackets and strings (or `from + limit`, or the end).
fn logical_line_end(s: &[u8], from: usize, limit: usize) -> usize {
    let end = (from + limit).min(s.len());
    let (mut depth, mut i) = (0i32, from);
    while i < end {
        match s[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b'\\' => i += 1,
            b'\n' | b';' | b'#' if depth <= 0 => return i,
            q @ (b'\'' | b'"') => {
                let triple = s.get(i + 1) == Some(&q) && s.get(i + 2) == Some(&q);
                i += if triple { 3 } else { 1 };
                while i < end && !(s[i] == q && (!triple || (s.get(i + 1) == Some(&q) && s.get(i + 2) == Some(&q)))) {
                    i += if s[i] == b'\\' { 2 } else { 1 };
                }
                i += if triple { 2 } else { 0 };
            }
            _ => {}
        }
        i += 1;
    }
    // A char boundary: `end` may cut a multibyte character.
    let mut e = i.min(end);
    while e > from && e < s.len() && (s[e] & 0xc0) == 0x80 {
        e -= 1;
    }
    e
}

/// Fold a whole expression; `None` when any part is unknown or a cap is hit.
pub(crate) fn eval(expr: &str, env: &Env<'_>) -> Option<Value> {
    if expr.len() > MAX_EXPR {
        return None;
    }
    let mut p = Parser::new(expr.as_bytes(), env);
    let v = p.expr()?;
    p.ws();
    (p.pos == p.s.len()).then_some(v)
}

/// Fold an expression to text (a string, or bytes decoded lossily).
pub(crate) fn eval_text(expr: &str, env: &Env<'_>) -> Option<String> {
    eval(expr, env)?.text()
}

/// True when `expr` is one plain string literal (or adjacent literals): nothing was
/// hidden, the text is readable as written.
pub(crate) fn is_plain_literal(expr: &str) -> bool {
    let e = expr.trim();
    let Some(first) = e.bytes().position(|b| b == b'\'' || b == b'"') else {
        return false;
    };
    if !e[..first].bytes().all(|b| matches!(b.to_ascii_lowercase(), b'r' | b'b' | b'u')) {
        return false;
    }
    let env = Env::empty();
    let mut p = Parser::new(e.as_bytes(), &env);
    p.ws();
    let mut any = false;
    while p.peek_string() {
        if p.string().is_none() {
            return false;
        }
        any = true;
        p.ws();
    }
    any && p.pos == p.s.len()
}

/// A call's arguments split at top-level commas (brackets and strings respected), trimmed.
pub(crate) fn split_args(args: &str) -> Vec<&str> {
    let b = args.as_bytes();
    let (mut out, mut depth, mut start, mut i) = (Vec::new(), 0i32, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            q @ (b'\'' | b'"') => {
                let triple = b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q);
                i += if triple { 3 } else { 1 };
                while i < b.len() {
                    if b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == q && (!triple || (b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q))) {
                        i += if triple { 2 } else { 0 };
                        break;
                    }
                    i += 1;
                }
            }
            b',' if depth == 0 => {
                out.push(args[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let last = args[start.min(args.len())..].trim();
    if !last.is_empty() {
        out.push(last);
    }
    out
}

/// The first `max` characters of decoded bytes, printable: control bytes as `·`.
pub(crate) fn preview(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(max * 4)]);
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() || c == '\u{fffd}' => '·',
            c => c,
        })
        .collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

struct Parser<'s, 'e> {
    s: &'s [u8],
    pos: usize,
    env: &'e Env<'e>,
    locals: Vec<(String, Value)>,
    steps: u32,
    depth: u32,
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

impl<'s, 'e> Parser<'s, 'e> {
    fn new(s: &'s [u8], env: &'e Env<'e>) -> Self {
        Parser { s, pos: 0, env, locals: Vec::new(), steps: 0, depth: 0 }
    }

    fn tick(&mut self) -> Option<()> {
        self.steps += 1;
        (self.steps <= MAX_STEPS).then_some(())
    }

    fn ws(&mut self) {
        while self.pos < self.s.len() {
            match self.s[self.pos] {
                b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' => self.pos += 1,
                b'\\' if matches!(self.s.get(self.pos + 1), Some(b'\n' | b'\r')) => self.pos += 2,
                b'#' => {
                    while self.pos < self.s.len() && self.s[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn eat(&mut self, tok: &str) -> bool {
        self.ws();
        if self.s[self.pos..].starts_with(tok.as_bytes()) {
            // Do not split `**`, `//`, `<<`, `==` or a longer name.
            let next = self.s.get(self.pos + tok.len()).copied();
            let bad = match tok {
                "*" => next == Some(b'*') || next == Some(b'='),
                "/" => next == Some(b'/'),
                "|" | "&" | "^" | "+" | "-" | "%" => next == Some(b'='),
                t if t.bytes().all(is_ident) => next.is_some_and(is_ident),
                _ => false,
            };
            if !bad {
                self.pos += tok.len();
                return true;
            }
        }
        false
    }

    fn expr(&mut self) -> Option<Value> {
        self.tick()?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let v = self.binary(0);
        self.depth -= 1;
        v
    }

    /// Precedence climbing over `| ^ & << >> + - * // %`.
    fn binary(&mut self, level: usize) -> Option<Value> {
        const LEVELS: &[&[&str]] = &[&["|"], &["^"], &["&"], &["<<", ">>"], &["+", "-"], &["*", "//", "%"]];
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        loop {
            let Some(op) = LEVELS[level].iter().find(|op| self.eat(op)) else {
                return Some(left);
            };
            let right = self.binary(level + 1)?;
            left = apply(op, left, right)?;
            self.tick()?;
        }
    }

    fn unary(&mut self) -> Option<Value> {
        if self.eat("-") {
            let Value::Int(i) = self.unary()? else { return None };
            return i.checked_neg().map(Value::Int);
        }
        if self.eat("+") {
            return self.unary();
        }
        if self.eat("~") {
            let Value::Int(i) = self.unary()? else { return None };
            return Some(Value::Int(!i));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Option<Value> {
        let mut v = self.atom()?;
        loop {
            self.tick()?;
            if self.eat(".") {
                let name = self.ident()?;
                v = match v {
                    Value::Name(n) => Value::Name(format!("{n}.{name}")),
                    other => {
                        if !self.eat("(") {
                            return None;
                        }
                        let args = self.args()?;
                        method(other, &name, args)?
                    }
                };
            } else if self.eat("(") {
                let Value::Name(f) = v else { return None };
                let args = self.args()?;
                v = call(&f, args)?;
            } else if self.eat("[") {
                v = self.subscript(v)?;
            } else {
                return Some(v);
            }
        }
    }

    fn ident(&mut self) -> Option<String> {
        self.ws();
        let start = self.pos;
        if self.pos < self.s.len() && (self.s[self.pos].is_ascii_digit() || !is_ident(self.s[self.pos])) {
            return None;
        }
        while self.pos < self.s.len() && is_ident(self.s[self.pos]) {
            self.pos += 1;
        }
        (self.pos > start).then(|| String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }

    fn peek_string(&self) -> bool {
        let rest = &self.s[self.pos..];
        let pre = rest.iter().take_while(|b| matches!(b.to_ascii_lowercase(), b'r' | b'b' | b'u' | b'f')).count();
        pre <= 2 && matches!(rest.get(pre), Some(b'\'' | b'"'))
    }

    fn atom(&mut self) -> Option<Value> {
        self.ws();
        let c = *self.s.get(self.pos)?;
        if self.peek_string() {
            let mut v = self.string()?;
            loop {
                self.ws();
                if !self.peek_string() {
                    return Some(v);
                }
                v = apply("+", v, self.string()?)?;
            }
        }
        if c.is_ascii_digit() {
            return self.number();
        }
        if c == b'(' {
            self.pos += 1;
            let items = self.sequence(b')')?;
            return match items {
                Seq::One(v) => Some(v),
                Seq::Many(vs) | Seq::Comp(vs) => Some(Value::List(vs)),
            };
        }
        if c == b'[' {
            self.pos += 1;
            return match self.sequence(b']')? {
                Seq::One(v) => Some(Value::List(vec![v])),
                Seq::Many(vs) | Seq::Comp(vs) => Some(Value::List(vs)),
            };
        }
        let name = self.ident()?;
        if matches!(name.as_str(), "for" | "in" | "if" | "lambda" | "not" | "and" | "or") {
            return None;
        }
        if let Some((_, v)) = self.locals.iter().rev().find(|(n, _)| *n == name) {
            return Some(v.clone());
        }
        if let Some(v) = self.env.get(&name) {
            return Some(v);
        }
        Some(Value::Name(name))
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.pos;
        while self.pos < self.s.len() && (self.s[self.pos].is_ascii_alphanumeric() || self.s[self.pos] == b'_') {
            self.pos += 1;
        }
        let t: String = String::from_utf8_lossy(&self.s[start..self.pos]).replace('_', "").to_ascii_lowercase();
        let (digits, radix) = match t.get(..2) {
            Some("0x") => (&t[2..], 16),
            Some("0o") => (&t[2..], 8),
            Some("0b") => (&t[2..], 2),
            _ => (&t[..], 10),
        };
        i64::from_str_radix(digits, radix).ok().map(Value::Int)
    }

    /// After an opening bracket: `x`, `x,`, `x, y`, `x for n in it` up to `close`.
    fn sequence(&mut self, close: u8) -> Option<Seq> {
        let mut items = Vec::new();
        let mut trailing_comma = false;
        loop {
            self.ws();
            if self.s.get(self.pos) == Some(&close) {
                self.pos += 1;
                return Some(if items.len() == 1 && !trailing_comma && close == b')' {
                    Seq::One(items.pop()?)
                } else {
                    Seq::Many(items)
                });
            }
            if items.is_empty() {
                if let Some(vs) = self.comprehension(close)? {
                    return Some(Seq::Comp(vs));
                }
            }
            items.push(self.expr()?);
            trailing_comma = self.eat(",");
            if !trailing_comma {
                self.ws();
                if self.s.get(self.pos) != Some(&close) {
                    return None;
                }
            }
            if items.len() > MAX_OUT {
                return None;
            }
        }
    }

    /// `elem for name in iterable` (then `close`): `Ok(None)` when this is no comprehension.
    fn comprehension(&mut self, close: u8) -> Option<Option<Vec<Value>>> {
        let start = self.pos;
        // Find ` for ` at depth 0 before the closing bracket.
        let (mut i, mut depth) = (self.pos, 0i32);
        let for_at = loop {
            let Some(&b) = self.s.get(i) else { return Some(None) };
            match b {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' if depth == 0 => return Some(None),
                b')' | b']' | b'}' => depth -= 1,
                b',' if depth == 0 => return Some(None),
                b'\'' | b'"' => {
                    let mut q = Parser::new(self.s, self.env);
                    q.pos = i;
                    while q.pos > 0 && is_ident(self.s[q.pos - 1]) {
                        q.pos -= 1;
                    }
                    q.string()?;
                    i = q.pos;
                    continue;
                }
                b'f' if depth == 0
                    && self.s[i..].starts_with(b"for")
                    && i > 0
                    && !is_ident(self.s[i - 1])
                    && !self.s.get(i + 3).copied().is_some_and(is_ident) =>
                {
                    break i
                }
                _ => {}
            }
            i += 1;
        };
        self.pos = for_at + 3;
        let var = self.ident()?;
        if !self.eat("in") {
            return None;
        }
        let iterable = self.binary(0)?;
        self.ws();
        if self.s.get(self.pos) != Some(&close) {
            return None; // `if` filters and nested loops are not folded
        }
        self.pos += 1;
        let after = self.pos;
        let mut out = Vec::new();
        for item in items(iterable)? {
            self.pos = start;
            self.locals.push((var.clone(), item));
            let v = self.expr();
            self.locals.pop();
            out.push(v?);
            self.tick()?;
        }
        self.pos = after;
        Some(Some(out))
    }

    /// After `(`: positional arguments up to `)` (a lone generator argument included).
    fn args(&mut self) -> Option<Vec<Value>> {
        match self.sequence(b')')? {
            Seq::One(v) => Some(vec![v]),
            Seq::Many(vs) => Some(vs),
            Seq::Comp(vs) => Some(vec![Value::List(vs)]),
        }
    }

    fn subscript(&mut self, v: Value) -> Option<Value> {
        let mut parts: Vec<Option<i64>> = vec![None];
        loop {
            self.ws();
            match self.s.get(self.pos)? {
                b']' => {
                    self.pos += 1;
                    break;
                }
                b':' => {
                    self.pos += 1;
                    parts.push(None);
                    if parts.len() > 3 {
                        return None;
                    }
                }
                _ => {
                    let Value::Int(i) = self.expr()? else { return None };
                    *parts.last_mut()? = Some(i);
                }
            }
        }
        if parts.len() == 1 {
            let i = parts[0]?;
            let it = items(v)?;
            let n = it.len() as i64;
            let k = if i < 0 { n + i } else { i };
            return it.get(usize::try_from(k).ok()?).cloned();
        }
        slice(v, parts[0], parts[1], parts.get(2).copied().flatten())
    }

    /// One string literal at `pos` (prefix included).
    fn string(&mut self) -> Option<Value> {
        let start = self.pos;
        while is_ident(self.s[self.pos]) {
            self.pos += 1;
        }
        let prefix = String::from_utf8_lossy(&self.s[start..self.pos]).to_ascii_lowercase();
        let q = self.s[self.pos];
        let triple = self.s.get(self.pos + 1) == Some(&q) && self.s.get(self.pos + 2) == Some(&q);
        self.pos += if triple { 3 } else { 1 };
        let body_start = self.pos;
        let body_end = loop {
            let b = *self.s.get(self.pos)?;
            if b == b'\\' {
                self.pos += 2;
                continue;
            }
            if b == b'\n' && !triple {
                return None;
            }
            if b == q && (!triple || (self.s.get(self.pos + 1) == Some(&q) && self.s.get(self.pos + 2) == Some(&q))) {
                let end = self.pos;
                self.pos += if triple { 3 } else { 1 };
                break end;
            }
            self.pos += 1;
        };
        let body = &self.s[body_start..body_end];
        if prefix.contains('f') && body.contains(&b'{') {
            return None;
        }
        let raw = prefix.contains('r');
        if prefix.contains('b') {
            return Some(Value::Bytes(if raw { body.to_vec() } else { unescape(body, true)? }));
        }
        let bytes = if raw { body.to_vec() } else { unescape(body, false)? };
        String::from_utf8(bytes).ok().map(Value::Str)
    }
}

enum Seq {
    One(Value),
    Many(Vec<Value>),
    /// The values of a comprehension (`x for n in it`).
    Comp(Vec<Value>),
}

/// Python escapes in a literal body; bytes literals keep `\u` as written and take
/// `\x`/octal as bytes, strings take them as code points.
fn unescape(body: &[u8], bytes: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    let push_cp = |out: &mut Vec<u8>, cp: u32| -> Option<()> {
        if bytes {
            out.push(u8::try_from(cp).ok()?);
        } else {
            let mut buf = [0u8; 4];
            out.extend_from_slice(char::from_u32(cp)?.encode_utf8(&mut buf).as_bytes());
        }
        Some(())
    };
    while i < body.len() {
        let b = body[i];
        if b != b'\\' || i + 1 == body.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let e = body[i + 1];
        i += 2;
        match e {
            b'\n' => {}
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'\\' | b'\'' | b'"' => out.push(e),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                let mut k = 0;
                while k < 2 && i < body.len() && (b'0'..=b'7').contains(&body[i]) {
                    v = v * 8 + u32::from(body[i] - b'0');
                    i += 1;
                    k += 1;
                }
                push_cp(&mut out, v)?;
            }
            b'x' | b'u' | b'U' if !(bytes && e != b'x') => {
                let n = match e {
                    b'x' => 2,
                    b'u' => 4,
                    _ => 8,
                };
                let hex = std::str::from_utf8(body.get(i..i + n)?).ok()?;
                push_cp(&mut out, u32::from_str_radix(hex, 16).ok()?)?;
                i += n;
            }
            b'N' => return None,
            _ => {
                out.push(b'\\');
                out.push(e);
            }
        }
        if out.len() > MAX_OUT {
            return None;
        }
    }
    Some(out)
}

fn apply(op: &str, l: Value, r: Value) -> Option<Value> {
    use Value::*;
    Some(match (op, l, r) {
        ("+", Str(a), Str(b)) => Str(cap_str(a + &b)?),
        ("+", Bytes(mut a), Bytes(b)) => {
            a.extend(b);
            Bytes(cap(a)?)
        }
        ("+", List(mut a), List(b)) => {
            a.extend(b);
            List(cap(a)?)
        }
        ("*", Str(a), Int(n)) | ("*", Int(n), Str(a)) => {
            Str(a.repeat(usize::try_from(n).ok().filter(|n| n.saturating_mul(a.len()) <= MAX_OUT)?))
        }
        ("%", Str(_), _) => return None,
        (op, Int(a), Int(b)) => Int(match op {
            "+" => a.checked_add(b)?,
            "-" => a.checked_sub(b)?,
            "*" => a.checked_mul(b)?,
            "//" => a.checked_div_euclid(b)?,
            "%" => a.checked_rem_euclid(b)?,
            "|" => a | b,
            "&" => a & b,
            "^" => a ^ b,
            "<<" => a.checked_shl(u32::try_from(b).ok().filter(|s| *s < 63)?)?,
            ">>" => a >> u32::try_from(b).ok().filter(|s| *s < 64)?,
            _ => return None,
        }),
        _ => return None,
    })
}

fn cap<T>(v: Vec<T>) -> Option<Vec<T>> {
    (v.len() <= MAX_OUT).then_some(v)
}

fn cap_str(s: String) -> Option<String> {
    (s.len() <= MAX_OUT).then_some(s)
}

/// The elements of an iterable value.
fn items(v: Value) -> Option<Vec<Value>> {
    Some(match v {
        Value::List(vs) => vs,
        Value::Str(s) => s.chars().map(|c| Value::Str(c.to_string())).collect(),
        Value::Bytes(b) => b.into_iter().map(|x| Value::Int(i64::from(x))).collect(),
        _ => return None,
    })
}

fn slice(v: Value, start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> Option<Value> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return None;
    }
    let (kind, elems): (u8, Vec<Value>) = match v {
        Value::Str(s) => (0, s.chars().map(|c| Value::Str(c.to_string())).collect()),
        Value::Bytes(b) => (1, b.into_iter().map(|x| Value::Int(i64::from(x))).collect()),
        Value::List(l) => (2, l),
        _ => return None,
    };
    let n = elems.len() as i64;
    let norm = |i: i64| if i < 0 { (n + i).max(if step < 0 { -1 } else { 0 }) } else { i.min(n) };
    let mut idx = Vec::new();
    if step > 0 {
        let (mut i, end) = (start.map_or(0, norm), stop.map_or(n, norm));
        while i < end {
            idx.push(i);
            i += step;
        }
    } else {
        let (mut i, end) = (start.map_or(n - 1, |s| norm(s).min(n - 1)), stop.map_or(-1, norm));
        while i > end {
            idx.push(i);
            i += step;
        }
    }
    let picked = idx.into_iter().filter_map(|i| elems.get(usize::try_from(i).ok()?).cloned());
    Some(match kind {
        0 => Value::Str(picked.filter_map(|v| v.text()).collect()),
        1 => Value::Bytes(
            picked.filter_map(|v| if let Value::Int(i) = v { u8::try_from(i).ok() } else { None }).collect(),
        ),
        _ => Value::List(picked.collect()),
    })
}

fn last(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

fn as_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::Bytes(b) => Some(b.clone()),
        Value::Str(s) => Some(s.as_bytes().to_vec()),
        _ => None,
    }
}

fn as_str(v: &Value) -> Option<&str> {
    match v {
        Value::Str(s) => Some(s),
        _ => None,
    }
}

/// A call of a named function (a builtin or a decoder) on folded arguments.
fn call(f: &str, args: Vec<Value>) -> Option<Value> {
    let one = || if args.len() == 1 { args.first() } else { None };
    let first = args.first();
    Some(match f {
        "chr" | "unichr" => {
            let Some(Value::Int(i)) = one() else { return None };
            Value::Str(char::from_u32(u32::try_from(*i).ok()?)?.to_string())
        }
        "ord" => {
            let s = as_str(one()?)?;
            let mut cs = s.chars();
            let c = cs.next()?;
            cs.next().is_none().then_some(())?;
            Value::Int(i64::from(u32::from(c)))
        }
        "str" => match one()? {
            Value::Str(s) => Value::Str(s.clone()),
            Value::Int(i) => Value::Str(i.to_string()),
            _ => return None,
        },
        "int" => match (first?, args.get(1)) {
            (Value::Str(s), None) => Value::Int(s.trim().parse().ok()?),
            (Value::Str(s), Some(Value::Int(r))) => {
                Value::Int(i64::from_str_radix(s.trim(), u32::try_from(*r).ok()?).ok()?)
            }
            (Value::Int(i), None) => Value::Int(*i),
            _ => return None,
        },
        "bytes" | "bytearray" => match first? {
            Value::List(l) => Value::Bytes(
                l.iter()
                    .map(|v| if let Value::Int(i) = v { u8::try_from(*i).ok() } else { None })
                    .collect::<Option<_>>()?,
            ),
            Value::Str(s) => Value::Bytes(s.as_bytes().to_vec()),
            Value::Bytes(b) => Value::Bytes(b.clone()),
            _ => return None,
        },
        "list" | "tuple" | "reversed" | "sorted" => {
            let mut v = items(one()?.clone())?;
            if f == "reversed" {
                v.reverse();
            } else if f == "sorted" {
                return None;
            }
            Value::List(v)
        }
        "map" => {
            let (Some(Value::Name(g)), Some(it)) = (first, args.get(1)) else { return None };
            let out: Option<Vec<Value>> = items(it.clone())?.into_iter().map(|x| call(g, vec![x])).collect();
            Value::List(out?)
        }
        _ => return decode_call(f, &args),
    })
}

/// Decoder functions (`base64.b64decode`, `bytes.fromhex`, `zlib.decompress`, `codecs.decode`, …).
fn decode_call(f: &str, args: &[Value]) -> Option<Value> {
    let data = as_bytes(args.first()?)?;
    let name = last(f);
    Some(match name {
        "fromhex" | "unhexlify" | "a2b_hex" | "b16decode" => Value::Bytes(hex(&data)?),
        "b64decode" | "decodebytes" | "decodestring" | "standard_b64decode" | "a2b_base64" => {
            Value::Bytes(base64(&data, false)?)
        }
        "urlsafe_b64decode" => Value::Bytes(base64(&data, true)?),
        "b32decode" => Value::Bytes(base32(&data)?),
        "b85decode" => Value::Bytes(base85(&data)?),
        "decompress" => Value::Bytes(decompress(f, &data)?),
        "decode" if f.starts_with("codecs") => codec(&data, args.get(1).and_then(as_str).unwrap_or("utf-8"))?,
        "encode" if f.starts_with("codecs") => codec(&data, args.get(1).and_then(as_str).unwrap_or("utf-8"))?,
        _ => return None,
    })
}

fn codec(data: &[u8], name: &str) -> Option<Value> {
    let n = name.to_ascii_lowercase().replace(['-', '_'], "");
    Some(match n.as_str() {
        "rot13" => Value::Str(rot13(std::str::from_utf8(data).ok()?)),
        "hex" | "hexcodec" => Value::Bytes(hex(data)?),
        "base64" | "base64codec" => Value::Bytes(base64(data, false)?),
        "zlib" | "zlibcodec" => Value::Bytes(decompress("zlib", data)?),
        "bz2" | "bz2codec" => Value::Bytes(decompress("bz2", data)?),
        "utf8" | "ascii" => Value::Str(String::from_utf8(data.to_vec()).ok()?),
        "latin1" => Value::Str(data.iter().map(|&b| char::from(b)).collect()),
        _ => return None,
    })
}

/// A method of a folded value.
fn method(v: Value, name: &str, args: Vec<Value>) -> Option<Value> {
    use Value::*;
    Some(match (v, name) {
        (Str(sep), "join") => {
            let parts: Option<Vec<String>> =
                items(args.into_iter().next()?)?.into_iter().map(|x| as_str(&x).map(str::to_string)).collect();
            Str(cap_str(parts?.join(&sep))?)
        }
        (Bytes(sep), "join") => {
            let parts: Option<Vec<Vec<u8>>> = items(args.into_iter().next()?)?
                .into_iter()
                .map(|x| if let Bytes(b) = x { Some(b) } else { None })
                .collect();
            Bytes(cap(parts?.join(&sep[..]))?)
        }
        (Bytes(b), "decode") => {
            match args.first().and_then(as_str).map(|e| e.to_ascii_lowercase().replace(['-', '_'], "")) {
                None => Str(String::from_utf8_lossy(&b).into_owned()),
                Some(e) if matches!(e.as_str(), "utf8" | "ascii") => Str(String::from_utf8_lossy(&b).into_owned()),
                Some(e) => codec(&b, &e)?,
            }
        }
        (Str(s), "decode") => codec(s.as_bytes(), args.first().and_then(as_str).unwrap_or("utf-8"))?,
        (Str(s), "encode") => match args.first().and_then(as_str) {
            None => Bytes(s.into_bytes()),
            Some(e) => match codec(s.as_bytes(), e)? {
                Str(t) => Bytes(t.into_bytes()),
                other => other,
            },
        },
        (Str(s), "lower") => Str(s.to_lowercase()),
        (Str(s), "upper") => Str(s.to_uppercase()),
        (Str(s), "strip") if args.is_empty() => Str(s.trim().to_string()),
        (Bytes(b), "strip") if args.is_empty() => Bytes(b.trim_ascii().to_vec()),
        (Str(s), "replace") => {
            let (Some(Str(a)), Some(Str(r))) = (args.first(), args.get(1)) else { return None };
            if a.is_empty() {
                return None;
            }
            Str(cap_str(s.replace(a.as_str(), r))?)
        }
        (Str(s), "swapcase") => Str(s
            .chars()
            .map(|c| if c.is_uppercase() { c.to_ascii_lowercase() } else { c.to_ascii_uppercase() })
            .collect()),
        _ => return None,
    })
}

fn rot13(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='z' => (((c as u8 - b'a') + 13) % 26 + b'a') as char,
            'A'..='Z' => (((c as u8 - b'A') + 13) % 26 + b'A') as char,
            c => c,
        })
        .collect()
}

fn hex(data: &[u8]) -> Option<Vec<u8>> {
    let digits: Vec<u8> = data.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    let val = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    cap(digits.chunks(2).map(|p| Some(val(p[0])? << 4 | val(p[1])?)).collect::<Option<Vec<u8>>>()?)
}

fn base64(data: &[u8], urlsafe: bool) -> Option<Vec<u8>> {
    let val = |b: u8| -> Option<u32> {
        Some(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' if !urlsafe => 62,
            b'/' if !urlsafe => 63,
            b'-' if urlsafe => 62,
            b'_' if urlsafe => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in data {
        if b.is_ascii_whitespace() {
            continue;
        }
        if b == b'=' {
            break;
        }
        acc = (acc << 6) | val(b)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
        if out.len() > MAX_OUT {
            return None;
        }
    }
    Some(out)
}

fn base32(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u64, 0u32);
    for &b in data {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'2'..=b'7' => b - b'2' + 26,
            b'=' => break,
            b if b.is_ascii_whitespace() => continue,
            _ => return None,
        };
        acc = (acc << 5) | u64::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    cap(out)
}

fn base85(data: &[u8]) -> Option<Vec<u8>> {
    const ALPHA: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";
    let digits: Vec<u32> = data
        .iter()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|b| ALPHA.iter().position(|a| a == b).map(|p| p as u32))
        .collect::<Option<_>>()?;
    let mut out = Vec::new();
    for chunk in digits.chunks(5) {
        let pad = 5 - chunk.len();
        let mut acc: u64 = 0;
        for i in 0..5 {
            acc = acc * 85 + u64::from(*chunk.get(i).unwrap_or(&84));
        }
        let word = u32::try_from(acc).ok()?.to_be_bytes();
        out.extend_from_slice(&word[..4 - pad]);
        if out.len() > MAX_OUT {
            return None;
        }
    }
    Some(out)
}

/// Decompress with the module the call names (`zlib`, `gzip`, `bz2`, `lzma`), at most [`MAX_OUT`] bytes.
fn decompress(f: &str, data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let limit = MAX_OUT as u64;
    let module = f.split('.').next().unwrap_or(f);
    let r = match module {
        "gzip" => flate2::read::MultiGzDecoder::new(data).take(limit).read_to_end(&mut out),
        "bz2" => bzip2::read::BzDecoder::new(data).take(limit).read_to_end(&mut out),
        "lzma" => xz2::read::XzDecoder::new(data).take(limit).read_to_end(&mut out),
        _ => flate2::read::ZlibDecoder::new(data).take(limit).read_to_end(&mut out),
    };
    (r.is_ok() || !out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_string_building_expressions() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("concatenation", r#""sy" + "stem""#, Some("system")),
            ("adjacent literals", r#"'ev' "al""#, Some("eval")),
            ("octal escapes", r#""\145\166\141\154""#, Some("eval")),
            ("hex escape", r#""\x65val""#, Some("eval")),
            ("unicode escape", r#""\u0065x\U00000065c""#, Some("exec")),
            ("reversed", r#""metsys"[::-1]"#, Some("system")),
            ("slice", r#""xxsystemyy"[2:-2]"#, Some("system")),
            ("join of a list", r#""".join(["o", "s"])"#, Some("os")),
            ("chr list", "''.join(map(chr, [115, 121, 115]))", Some("sys")),
            ("chr sum", "chr(115)+chr(121)", Some("sy")),
            ("chr hex and arithmetic", "chr(0x73) + chr(100+15) + chr(0o163)", Some("sss")),
            ("chr bit shifts", "chr(1<<6|0x25) + chr((7<<4) - 10)", Some("ef")),
            ("comprehension with xor", "''.join(chr(c ^ 1) for c in [100, 119, 96, 109])", Some("eval")),
            ("list comprehension", "''.join([chr(x) for x in (101, 120)])", Some("ex")),
            ("fromhex decode", r#"bytes.fromhex("6f732e73797374656d").decode()"#, Some("os.system")),
            ("base64", r#"base64.b64decode("c3lzdGVt").decode("utf-8")"#, Some("system")),
            ("rot13", r#"codecs.decode("flfgrz", "rot13")"#, Some("system")),
            ("bytes list", "bytes([101, 118, 97, 108]).decode()", Some("eval")),
            ("reversed builtin", "''.join(reversed('lave'))", Some("eval")),
            ("replace", r#""sXystXem".replace("X", "")"#, Some("system")),
            ("raw string keeps escapes", r#"r"\x65""#, Some("\\x65")),
            ("f-string without fields", r#"f"exec""#, Some("exec")),
            ("f-string with a field", r#"f"{x}.plugins""#, None),
            ("a variable", "name", None),
            ("a call of an unknown function", "get_name()", None),
            ("percent formatting", r#""%s" % x"#, None),
            ("unterminated", r#""abc"#, None),
        ];
        let env = Env::empty();
        for (name, expr, want) in cases {
            assert_eq!(eval_text(expr, &env).as_deref(), *want, "case {name}: {expr}");
        }
    }

    #[test]
    fn names_bound_once_in_the_file_fold() {
        let text = "import os\nA = 'sy'\nB = A + 'stem'\nC = (\n  'ev'\n  'al')\nD = 1\nD = 2\nE = get()\n";
        let env = Env::new(text);
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("two steps", "B", Some("system")),
            ("bracketed over lines", "C", Some("eval")),
            ("rebound to another value", "str(D)", None),
            ("not foldable", "E", None),
            ("used in an expression", "A[::-1] + B[:2]", Some("yssy")),
        ];
        for (name, expr, want) in cases {
            assert_eq!(eval_text(expr, &env).as_deref(), *want, "case {name}");
        }
    }

    #[test]
    fn decodes_payloads_within_caps() {
        let env = Env::empty();
        let z = {
            use std::io::Write;
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(b"import os").expect("zlib");
            e.finish().expect("zlib")
        };
        let lit: String = z.iter().map(|b| format!("\\x{b:02x}")).collect();
        assert_eq!(eval_text(&format!("zlib.decompress(b'{lit}')"), &env).as_deref(), Some("import os"));
        assert_eq!(eval_text("base64.b32decode('NFWXA33SOQQG64Y=')", &env).as_deref(), Some("import os"));
        assert_eq!(eval_text("base64.b85decode('X>D+Ca&#bXa{')", &env).as_deref(), Some("import os"));
        // Caps: a huge repetition, deep nesting and a long input all give up.
        assert_eq!(eval("'a' * 10000000", &env), None);
        assert_eq!(eval(&format!("{}'x'{}", "(".repeat(500), ")".repeat(500)), &env), None);
        assert_eq!(eval(&format!("'{}'", "a".repeat(MAX_EXPR + 1)), &env), None);
        assert_eq!(eval("chr(1 << 99)", &env), None);
    }

    /// Hostile input never panics and always ends: every prefix of tricky expressions,
    /// and a deterministic soup of the folder's own tokens.
    #[test]
    fn never_panics_on_fragments_and_soup() {
        let exprs = [
            r#"''.join(chr(c ^ 0x21) for c in [0x44, 0x57, 0x40, 0x4d])[::-1] + b'\x41\101'.decode()"#,
            r#"getattr(__import__("o"+"s"), bytes.fromhex("73797374656d").decode())"#,
            r#"codecs.decode(base64.b64decode('c3lzdGVt'), 'rot13') * 3"#,
            "(((([[[chr(1<<6|33)]]])))) + '''\né'''",
        ];
        let env = Env::new("A = 'x'\nB = A + (\n");
        for e in exprs {
            for cut in 0..=e.len() {
                if e.is_char_boundary(cut) {
                    let _ = eval(&e[..cut], &env);
                    let _ = split_args(&e[..cut]);
                    let _ = is_plain_literal(&e[..cut]);
                }
            }
        }
        const TOKENS: &[&str] = &[
            "'",
            "\"",
            "'''",
            "b'",
            "r'",
            "f'",
            "\\",
            "\\x4",
            "\\1",
            "\\u00",
            "(",
            ")",
            "[",
            "]",
            ",",
            ":",
            "::-1",
            "+",
            "-",
            "*",
            "<<",
            ">>",
            "|",
            "^",
            "&",
            "~",
            "%",
            "//",
            "chr(",
            "ord(",
            "map(chr,",
            ".join(",
            ".decode(",
            "bytes.fromhex(",
            "b64decode(",
            "zlib.decompress(",
            " for c in ",
            "c",
            "A",
            "0x7",
            "9",
            "é",
            "\n",
            " ",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            let len = (next() % 40) as usize;
            let text: String = (0..len).map(|_| TOKENS[(next() % TOKENS.len() as u64) as usize]).collect();
            let _ = eval(&text, &env);
            let _ = Env::new(&format!("X = {text}\nY = X + X\n")).get("Y");
        }
    }

    /// `Env::find` walks each line once per name; it must give what reading the line
    /// again per occurrence gives, on every way of binding or using a name and on random
    /// texts built from the tokens the search looks at.
    #[test]
    fn linear_binding_search_equals_the_per_occurrence_reading() {
        let cases: &[(&str, &str)] = &[
            ("bound once", "import os\nA = 'sy' + 'stem'\nos.system(A)\n"),
            ("bound twice the same", "A = 'x'\nif y:\n    A = 'x'\nf(A)\n"),
            ("bound twice differently", "A = 'x'\nA = 'y'\n"),
            ("indented with tabs and blanks", "def f():\n\t  A = 'ab'\n\treturn A\n"),
            ("for target", "for A in xs:\n    pass\nA = 'x'\n"),
            ("as target", "with open(p) as A:\n    pass\nA = 'x'\n"),
            ("as at the line start", "as A\nA = 'x'\n"),
            ("augmented", "A = 'x'\nA += 'y'\n"),
            ("tuple target on the left", "B, A = 1, 2\nA = 'x'\n"),
            ("tuple target on the right", "A, B = 1, 2\nA = 'x'\n"),
            ("tuple with no blanks round =", "A, B=1, 2\nA = 'x'\n"),
            ("comma use, no assignment on the line", "f(B, A)\nA = 'x'\n"),
            ("comma use, assignment later on the line", "f(B, A); C = 1\nA = 'x'\n"),
            ("comma use after a call", "C = g(B, A)\nA = 'x'\n"),
            ("several occurrences on one line", "f(A, A, A); g(A) + A; B = 1\nA = 'x'\n"),
            ("attribute and longer names", "o.A = 1\nAB = 2\nA_ = 3\nA = 'x'\n"),
            ("comparison", "A == 'y'\nA = 'x'\n"),
            ("no newline at the end", "A = 'x'\nf(A, B) = 1"),
            ("crlf lines", "A = 'x'\r\nf(B, A)\r\nC, A = 1, 2\r\n"),
            ("non-ascii around", "é = 1\nA = 'é'\nf(é, A); B = é\n"),
            ("blank-only lines", "   \n\t\nA = 'x'\n  \n A\n"),
            ("bracketed value", "A = (\n  'ev'\n  'al')\nB, A = 1, 2\n"),
            ("not foldable", "A = get()\nf(A)\n"),
        ];
        let names = ["A", "B", "C", "é", "o.A", "A, B"];
        for (case, text) in cases {
            for name in names {
                let want = Env::new(text).find_reference(name);
                assert_eq!(Env::new(text).find(name), want, "case {case}, name {name:?}");
            }
        }
        // Past the cap of 2,000 occurrences both give up.
        let many = format!("A = 'x'\n{}", "f(A)\n".repeat(2100));
        assert_eq!(Env::new(&many).find("A"), None);
        assert_eq!(Env::new(&many).find_reference("A"), None);

        const TOKENS: &[&str] = &[
            "A", "B", "A", "x", " ", " ", "\t", "\n", "\n", "\r\n", ",", ", ", " = ", "=", "==", "+=", "for ", " as ",
            "as ", ".", "(", ")", "'s'", "\"t\"", "1", "+", ";", "#", "é", "_",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..4000 {
            let len = (next() % 60) as usize;
            let text: String = (0..len).map(|_| TOKENS[(next() % TOKENS.len() as u64) as usize]).collect();
            for name in ["A", "B", "x"] {
                let want = Env::new(&text).find_reference(name);
                assert_eq!(Env::new(&text).find(name), want, "random text {round}, name {name:?}: {text:?}");
            }
        }
    }

    /// A hostile member: one line of 5 MB, the name used 2,000 times at its end (after
    /// the megabytes, so each occurrence's line start is far back), a comma before each
    /// use, ` = ` only at the line's end and nothing but names, commas and blanks before
    /// the first call (so the tuple check reads the whole line and the tuple-target test
    /// reads the megabytes to the first `(`). Reading the line per occurrence read
    /// ≈ 30 GB, byte by byte for the target test; the walk reads it a few times.
    #[test]
    fn binding_search_on_one_five_megabyte_line_costs_linear_time() {
        let filler = "q, p, ".repeat(5_000_000 / 6);
        let uses = "g(a, NAME) + 1; ".repeat(1999);
        let text = format!("NAME = 'sy' + 'stem'\n{filler}{uses}z = 0\n");
        let start = std::time::Instant::now();
        let env = Env::new(&text);
        let found = env.find("NAME");
        let took = start.elapsed();
        assert_eq!(found, Some((Value::Str("system".into()), false)));
        assert_eq!(eval_text("NAME + '!'", &env).as_deref(), Some("system!"));
        assert!(took < std::time::Duration::from_millis(500), "5 MB line: took {took:?}");
    }

    #[test]
    fn splits_arguments_and_tells_plain_literals() {
        assert_eq!(split_args(r#"os, "a,b" + f(x, y), [1, 2]"#), vec!["os", r#""a,b" + f(x, y)"#, "[1, 2]"]);
        assert!(is_plain_literal(" 'system' "));
        assert!(is_plain_literal(r#"b"x" 'y'"#));
        assert!(!is_plain_literal(r#""sy" + "stem""#));
        assert!(!is_plain_literal("name"));
        assert_eq!(preview(b"import os\nos.system('id')", 12), "import os os…");
    }
}
