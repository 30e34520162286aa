//! `obfuscation.invisible-unicode`: bidirectional controls (U+202A–U+202E,
//! U+2066–U+2069: "Trojan Source") and zero-width characters (U+200B–U+200D,
//! U+2060, U+FEFF not at file start) in Python source.
//!
//! Bidi controls in code or comments are High (they reorder what reviewers see),
//! in strings Low (i18n text); zero-width characters in code (identifiers that
//! look identical) Medium, in strings/comments ignored. Non-Python files ignored.

use super::pysrc::{self, Kind, Source, MAX_HITS_PER_FILE};
use crate::model::{Category, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, TextFile};

pub static META: DetectorMeta = DetectorMeta {
    id: "obfuscation.invisible-unicode",
    title: "Contains invisible or direction-changing Unicode characters in code.",
    category: Category::Obfuscation,
    severity: Severity::Medium,
    description: "Bidirectional controls and zero-width characters make code read differently from how it runs (Trojan Source, look-alike identifiers).",
};

const BIDI: &[char] =
    &['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'];
const ZERO_WIDTH: &[char] = &['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}'];

pub struct InvisibleUnicode;

impl Detector for InvisibleUnicode {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn literals(&self) -> &'static [&'static str] {
        &[
            "\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}", "\u{202E}", "\u{2066}", "\u{2067}", "\u{2068}", "\u{2069}",
            "\u{200B}", "\u{200C}", "\u{200D}", "\u{2060}", "\u{FEFF}",
        ]
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if !file.is_python {
            return;
        }
        let src = Source::new(file);
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
                (true, Kind::Code | Kind::Comment) => Severity::High,
                (true, _) => Severity::Low,
                (false, Kind::Code) => Severity::Medium,
                (false, _) => continue,
            };
            n += 1;
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
                    "trojan source comment",
                    "pkg/a.py",
                    Runtime,
                    "x = 1\nif admin: # \u{202E} } \u{2066}\n    pass\n",
                    Some((2, "U+202E", High)),
                ),
                ("zero-width identifier", "pkg/a.py", Runtime, "pass\u{200B}word = 1\n", Some((1, "U+200B", Medium))),
                ("bidi in a string", "pkg/a.py", Runtime, "RLO = '\u{202E}'\n", Some((1, "U+202E", Low))),
                ("zero-width joiner in a string (emoji)", "pkg/a.py", Runtime, "E = 'a\u{200D}b'\n", None),
                ("bom at file start", "pkg/a.py", Runtime, "\u{FEFF}import os\n", None),
                ("escaped form is ascii", "pkg/a.py", Runtime, "RLO = '\\u202e'\n", None),
                ("not python", "pkg/a.txt", Runtime, "a\u{202E}b\n", None),
            ],
        );
    }
}
