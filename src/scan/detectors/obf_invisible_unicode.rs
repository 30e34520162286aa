//! `obfuscation.invisible-unicode`: bidirectional controls (U+202A–U+202E,
//! U+2066–U+2069: "Trojan Source") and zero-width characters (U+200B–U+200D,
//! U+2060, U+FEFF not at file start) in Python source.
//!
//! Bidi controls in code are High (they reorder what reviewers see); in a comment Medium
//! (a Python comment and any bidi run in it end with the line: the comment may read
//! differently, but no code can be hidden in it or faked by it); in a docstring (a literal
//! standing alone: never run, never used as a value) Medium too, unless code follows its
//! closing quotes on the line where it ends, which the run could reorder (then judged as
//! a string literal below).
//! In a string literal they are High when the literal leaves an embedding, override
//! or isolate open (U+202A/B/D/E without U+202C, U+2066/7/8 without U+2069: the
//! CVE-2021-42574 "stretched string" that makes the rest of the line display
//! reordered) or when a balanced run wraps a comment marker or quote (`#`, `'`,
//! `"`): a comment or string end made to appear where there is none. Balanced
//! controls around prose (translations) and a literal that is nothing but
//! controls (`RLO = '\u202e'` constants, or a character class of them such as
//! `"[<U+202A>-<U+202E>]"` written with the characters) are Low. Zero-width characters in code
//! (identifiers that look identical) Medium, in strings/comments ignored.
//! Tests and docs are capped at Medium (they feed these characters to sanitisers on
//! purpose). Non-Python files ignored.

use super::context;
use super::pysrc::{self, Kind, Span, MAX_HITS_PER_FILE};
use crate::model::{Category, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "obfuscation.invisible-unicode",
    revision: 4,
    title: "Contains invisible or direction-changing Unicode characters in code.",
    category: Category::Obfuscation,
    severity: Severity::Medium,
    description: "Bidirectional controls and zero-width characters make code read differently from how it runs (Trojan Source, look-alike identifiers).",
};

const BIDI: &[char] =
    &['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'];
const ZERO_WIDTH: &[char] = &['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}'];

/// Opens an embedding/override (closed by U+202C PDF).
fn opens_embedding(c: char) -> bool {
    matches!(c, '\u{202A}' | '\u{202B}' | '\u{202D}' | '\u{202E}')
}
/// Opens an isolate (closed by U+2069 PDI).
fn opens_isolate(c: char) -> bool {
    matches!(c, '\u{2066}' | '\u{2067}' | '\u{2068}')
}

/// Whether the bidi controls in a string literal's body can reorder how the
/// surrounding code displays: an unterminated run, or a run around `#` or a quote.
fn string_bidi_reorders(body: &str) -> bool {
    if body.chars().all(|c| BIDI.contains(&c) || ZERO_WIDTH.contains(&c) || is_class_syntax(c)) {
        // A constant naming controls (`RLO = '\u202e'`) or a character class of them
        // (`re.compile("[\u202a-\u202e\u2066-\u2069]")` written with the characters).
        return false;
    }
    let (mut emb, mut iso) = (0u32, 0u32);
    let mut code_like_inside = false;
    for c in body.chars() {
        match c {
            c if opens_embedding(c) => emb += 1,
            c if opens_isolate(c) => iso += 1,
            '\u{202C}' => emb = emb.saturating_sub(1),
            '\u{2069}' => iso = iso.saturating_sub(1),
            // A comment marker or quote inside a run fakes where a comment or string ends.
            '#' | '\'' | '"' if emb + iso > 0 => code_like_inside = true,
            _ => {}
        }
    }
    emb > 0 || iso > 0 || code_like_inside
}

/// Punctuation of a regular-expression character class or a list of characters, and the
/// implicit directional marks (LRM, RLM, the Arabic letter mark U+061C) a complete list of
/// bidi characters holds beside the controls: marks open nothing.
fn is_class_syntax(c: char) -> bool {
    matches!(
        c,
        '[' | ']'
            | '-'
            | '^'
            | '|'
            | '('
            | ')'
            | '?'
            | ':'
            | '+'
            | '*'
            | '\\'
            | ','
            | ' '
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
    )
}

/// Whether anything but blanks or a comment follows offset `end` (a literal's end) on its line.
fn code_after_on_its_last_line(text: &str, end: usize) -> bool {
    let rest = &text[end.min(text.len())..];
    let line = rest.split('\n').next().unwrap_or("");
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#')
}

pub(crate) struct InvisibleUnicode;

impl Detector for InvisibleUnicode {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&[
            "\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}", "\u{202E}", "\u{2066}", "\u{2067}", "\u{2068}", "\u{2069}",
            "\u{200B}", "\u{200C}", "\u{200D}", "\u{2060}", "\u{FEFF}",
        ])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if !file.is_python {
            return;
        }
        let src = file.source();
        // Verdict per string literal, computed once per literal.
        let mut last: Option<(usize, bool)> = None;
        let mut string_reorders = |sp: &Span| match last {
            Some((start, v)) if start == sp.start => v,
            _ => {
                let body = &file.text[sp.body_start..sp.body_end.max(sp.body_start)];
                let v = string_bidi_reorders(body);
                last = Some((sp.start, v));
                v
            }
        };
        let mut n = 0;
        for (off, ch) in file.text.char_indices() {
            if n >= MAX_HITS_PER_FILE {
                return;
            }
            let bidi = BIDI.contains(&ch);
            if !(bidi || (ZERO_WIDTH.contains(&ch) && off > 0)) {
                continue;
            }
            let kind = src.kind_at(off);
            let sev = match (bidi, kind) {
                (true, Kind::Code) => Severity::High,
                // A Python comment runs to the end of its line, and a bidi run ends there too:
                // reordering can change how the comment reads, never hide or fake code.
                (true, Kind::Comment) => Severity::Medium,
                // A docstring is never run nor used as a value: a bidi run in it reorders only
                // its own text, like a comment's, unless code follows its closing quotes on the
                // line where it ends (`"""…<U+2066>"""; run()`), which the run can reorder.
                (true, Kind::Doc)
                    if !src.span_at(off).is_some_and(|sp| code_after_on_its_last_line(file.text, sp.end)) =>
                {
                    Severity::Medium
                }
                (true, _) => match src.span_at(off) {
                    Some(sp) if string_reorders(sp) => Severity::High,
                    _ => Severity::Low,
                },
                (false, Kind::Code) => Severity::Medium,
                (false, _) => continue,
            };
            n += 1;
            // Tests feed these characters to sanitisers on purpose: weighed as test material.
            let sev = context::cap(file, sev);
            hits.push(
                &META,
                Hit { severity: Some(sev), evidence: pysrc::evidence(file, off, format!("U+{:04X}", ch as u32)) },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FileRole::*;
    use crate::scan::detectors::testutil::table;
    use Severity::*;

    #[test]
    fn cases() {
        table(
            &InvisibleUnicode,
            META.id,
            &[
                (
                    "bidi controls in a comment: the comment reads differently, nothing runs",
                    "pkg/a.py",
                    Runtime,
                    "x = 1\nif admin: # \u{202E} } \u{2066}\n    pass\n",
                    Some((2, "U+202E", Medium)),
                ),
                (
                    "bidi control in code (outside any string or comment)",
                    "pkg/a.py",
                    Runtime,
                    "x = 1 \u{202E}+ 2\n",
                    Some((1, "U+202E", High)),
                ),
                (
                    "a character class of bidi controls (a sanitiser)",
                    "pkg/clean.py",
                    Runtime,
                    "BIDI = re.compile('[\u{202A}-\u{202E}\u{2066}-\u{2069}]')\n",
                    Some((1, "U+202A", Low)),
                ),
                (
                    "every bidi character, marks included, as a set (a sanitiser)",
                    "pkg/a.py",
                    Runtime,
                    "_BIDI = frozenset(\"\u{061C}\u{200E}\u{200F}\u{202A}\u{202B}\u{202C}\u{202D}\u{202E}\u{2066}\u{2067}\u{2068}\u{2069}\")\n",
                    Some((1, "U+202A", Low)),
                ),
                (
                    "an Arabic letter mark beside an open override and a quote stays a stretched string",
                    "pkg/a.py",
                    Runtime,
                    "x = \"\u{061C}\u{202E}admin' \"\n",
                    Some((1, "U+202E", High)),
                ),
                (
                    "a character class next to code-like text is still a stretched string",
                    "pkg/clean.py",
                    Runtime,
                    "if role != 'user\u{202E} [\u{2066}# admin\u{2069}':\n    grant()\n",
                    Some((1, "U+202E", High)),
                ),
                ("zero-width identifier", "pkg/a.py", Runtime, "pass\u{200B}word = 1\n", Some((1, "U+200B", Medium))),
                ("bidi in a string", "pkg/a.py", Runtime, "RLO = '\u{202E}'\n", Some((1, "U+202E", Low))),
                (
                    "stretched string: unterminated override and isolates in a comparison",
                    "pkg/__init__.py",
                    Runtime,
                    "def is_admin(user):\n    access = 'user'\n    if access != 'none\u{202E} \u{2066}# admin only\u{2069} \u{2066}':\n        return True\n",
                    Some((3, "U+202E", High)),
                ),
                (
                    "balanced isolate around code-like text",
                    "pkg/a.py",
                    Runtime,
                    "x = 'a\u{2067}\": #\u{2069}'\n",
                    Some((1, "U+2067", High)),
                ),
                (
                    "translation with balanced marks",
                    "pkg/locale.py",
                    Runtime,
                    "MSG = {'ar': '\u{2067}مرحبا بالعالم\u{2069} (v2)', 'he': '\u{202B}שלום עולם\u{202C}'}\n",
                    Some((1, "U+2067", Low)),
                ),
                (
                    "translation with punctuation inside balanced isolates",
                    "pkg/locale.py",
                    Runtime,
                    "T = _('Saved \u{2067}(نسخة: 2)\u{2069} [ok]')\n",
                    Some((1, "U+2067", Low)),
                ),
                (
                    "a sanitiser's test feeding an override in a link",
                    "apprise-2.3.0/tests/test_conversion.py",
                    TestOrDocs,
                    "assert to_md('<a href=\"\u{202E}javascript:alert(1)\">click</a>') == '[click](<#>)'\n",
                    Some((1, "U+202E", Medium)),
                ),
                (
                    "a docstring quoting right-to-left text with quotes inside an isolate",
                    "pkg/i18n.py",
                    Runtime,
                    "def greet():\n    \"\"\"Returns \u{2067}\"שלום\"\u{2069} in Hebrew, or an open \u{202E} override.\n\n    More text.\n    \"\"\"\n    return 1\n",
                    Some((2, "U+2067", Medium)),
                ),
                (
                    "a docstring ending on a line of code that the override reorders",
                    "pkg/__init__.py",
                    Runtime,
                    "\"\"\"Helpers \u{202E} \u{2066}\"\"\"; import os; os.system(cmd)\n",
                    Some((1, "U+202E", High)),
                ),
                (
                    "an unterminated isolate in a string of a list stays high",
                    "pkg/a.py",
                    Runtime,
                    "ADMINS = ['alice\u{2067}', 'mallory\u{2069}'\n]\n",
                    Some((1, "U+2067", High)),
                ),
                (
                    "bidi controls in code after a docstring stay high",
                    "pkg/a.py",
                    Runtime,
                    "\"\"\"Doc.\"\"\"\nx = 1 \u{202E}+ 2\n",
                    Some((2, "U+202E", High)),
                ),
                ("zero-width joiner in a string (emoji)", "pkg/a.py", Runtime, "E = 'a\u{200D}b'\n", None),
                ("bom at file start", "pkg/a.py", Runtime, "\u{FEFF}import os\n", None),
                ("escaped form is ascii", "pkg/a.py", Runtime, "RLO = '\\u202e'\n", None),
                ("not python", "pkg/a.txt", Runtime, "a\u{202E}b\n", None),
            ],
        );
    }
}
