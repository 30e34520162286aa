//! `obfuscation.packer`: code protected by a Python obfuscator/packer — PyArmor
//! (`__pyarmor__`, `pyarmor_runtime`, `pytransform`), pyobfuscate, tool banners
//! ("obfuscated with/by Hyperion, BlankOBF, Kramer, …"), or identifier soup
//! (`IlIlIl…`, `_0x1f2e…` names by the dozen).
//!
//! A tool banner counts in a comment or in the file's first lines; a docstring further down
//! naming a tool ("unpacks code packed with …") is a deobfuscator describing its input.
//!
//! Python files only; one hit per file (the first marker). Must not: try to unpack.

use super::pysrc::{self};
use crate::model::{Category, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "obfuscation.packer",
    revision: 2,
    title: "Contains code protected by an obfuscator.",
    category: Category::Obfuscation,
    severity: Severity::High,
    description: "Packed or obfuscated Python cannot be reviewed; malware uses the same tools to hide what it does.",
};

static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?P<pyarmor>__pyarmor__\s*\(|pyarmor_runtime|from\s+pytransform\s+import|(?-u:\b)pytransform(?-u:\b))|(?P<pyobf>pyobfuscate)|(?:obfuscated|encrypted|protected|packed)\s+(?:with|by|using)\s*:?\s*(?P<tool>hyperion|blankobf|blank[- ]?obf|kramer|specter|pyobfuscate|pyarmor|pyminifier|carbon|berserker|vare|empyrean|\w+obf\w*)").expect("marker")
});
static SOUP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:[Il]{8,}|_0x[0-9a-fA-F]{4,}|O0[O0]{6,}|_{6,}[A-Za-z0-9]?)(?-u:\b)").expect("soup")
});
const SOUP_MIN: usize = 25;
/// How many first lines of a file are its header (where an obfuscator writes its banner).
const BANNER_LINES: usize = 10;
/// How many marker matches are weighed per file.
const MAX_MARKERS: usize = 16;

pub(crate) struct Packer;

impl Detector for Packer {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&[
            "pyarmor",
            "pytransform",
            "pyobfuscate",
            "bfuscated",
            "BFUSCATED",
            "IlIl",
            "lIlI",
            "IIll",
            "llII",
            "_0x",
            "O0O0",
            "______",
        ])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if !file.is_python {
            return;
        }
        // A tool banner says what the file is in a comment or in its first lines; further down,
        // in a docstring or string, it names what a deobfuscator or unpacker reads.
        let banner_of_this_file = |c: &regex::Captures<'_>| {
            let at = c.get(0).expect("m").start();
            c.name("tool").is_none()
                || file.text[..at].bytes().filter(|&b| b == b'\n').count() < BANNER_LINES
                || file.source().kind_at(at) == pysrc::Kind::Comment
        };
        if let Some(c) = MARKER.captures_iter(file.text).take(MAX_MARKERS).find(|c| banner_of_this_file(c)) {
            let m = c.get(0).expect("m");
            let ind = if c.name("pyarmor").is_some() {
                "PyArmor".to_string()
            } else if c.name("pyobf").is_some() {
                "pyobfuscate".to_string()
            } else {
                c.name("tool").map_or("obfuscator".to_string(), |t| t.as_str().to_string())
            };
            hits.push(&META, Hit { severity: None, evidence: pysrc::evidence(file, m.start(), ind) });
            return;
        }
        let src = file.source();
        let mut soup = SOUP.find_iter(file.text).filter(|m| src.is_code(m.start()));
        if let Some(first) = soup.next() {
            let count = 1 + soup.count();
            if count >= SOUP_MIN {
                hits.push(
                    &META,
                    Hit {
                        severity: None,
                        evidence: pysrc::evidence(file, first.start(), format!("{count} obfuscated identifiers")),
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FileRole::*;
    use crate::scan::detectors::testutil::table;
    use std::sync::LazyLock;
    use Severity::*;

    static SOUP_SRC: LazyLock<String> =
        LazyLock::new(|| (0..30).map(|i| format!("IlIlIlIl{} = {i}\n", "l".repeat(i % 3))).collect());

    static UNPACKER: LazyLock<String> = LazyLock::new(|| {
        format!("import re\n{}class Unpacker:\n    def run(self, s):\n        \"\"\"Unpacks js code packed with MyObfuscate.com\"\"\"\n        return s\n", "x = 1\n".repeat(12))
    });
    static LATE_BANNER: LazyLock<String> =
        LazyLock::new(|| format!("{}# obfuscated with BlankOBF\nexec(p)\n", "x = 1\n".repeat(12)));

    #[test]
    fn cases() {
        table(
            &Packer,
            META.id,
            &[
                ("pyarmor", "pkg/__init__.py", Runtime, "# Pyarmor 8.5\nfrom .pyarmor_runtime_000000 import __pyarmor__\n__pyarmor__(__name__, __file__, b'PY000000')\n", Some((2, "PyArmor", High))),
                ("pytransform", "pkg/a.py", Runtime, "from pytransform import pyarmor_runtime\npyarmor_runtime()\n", Some((1, "PyArmor", High))),
                ("banner", "pkg/a.py", Runtime, "# Obfuscated with Hyperion\nx = 1\n", Some((1, "Hyperion", High))),
                ("identifier soup", "pkg/a.py", Runtime, SOUP_SRC.as_str(), Some((1, "30 obfuscated identifiers", High))),
                ("a few odd names", "pkg/a.py", Runtime, "IlIlIlIl = 1\n_0x1a2b = 2\n", None),
                (
                    "an unpacker's docstring naming the packer it reads",
                    "pkg/unpackers/myobf.py",
                    Runtime,
                    UNPACKER.as_str(),
                    None,
                ),
                (
                    "a banner in a comment further down",
                    "pkg/a.py",
                    Runtime,
                    LATE_BANNER.as_str(),
                    Some((13, "BlankOBF", High)),
                ),
                (
                    "a banner in the module docstring",
                    "pkg/a.py",
                    Runtime,
                    "\"\"\"Obfuscated by Kramer.\"\"\"\nexec(x)\n",
                    Some((1, "Kramer", High)),
                ),
                ("mentions obfuscation", "pkg/a.py", Runtime, "def deobfuscate(x):\n    return x\n", None),
            ],
        );
    }
}
