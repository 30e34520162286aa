//! `obfuscation.packer`: code protected by a Python obfuscator/packer — PyArmor
//! (`__pyarmor__`, `pyarmor_runtime`, `pytransform`), pyobfuscate, tool banners
//! ("obfuscated with/by Hyperion, BlankOBF, Kramer, …"), or identifier soup
//! (`IlIlIl…`, `_0x1f2e…` names by the dozen).
//!
//! A tool banner counts in a comment or in the file's first lines; a docstring further down
//! naming a tool ("unpacks code packed with …") is a deobfuscator describing its input.
//!
//! Severity by what the file does with the packer, not by its name appearing: High when the
//! file *is* packed — PyArmor's loader called in code (`__pyarmor__(…)`, super mode's
//! `pyarmor(__name__, …)`, `exec_file(…)` of its runtime, its loader under any name called as
//! `f(__name__, __file__, …)`) or a PyArmor blob as a bytes literal
//! in code (`b'PY000000…'`, `b'\x50\x59\x41\x52…'`), a tool banner or `pyobfuscate` in a
//! file that runs or decodes code (`exec`, `eval`, `compile`, `marshal`, `__import__`, a
//! base64/zlib/lzma/bz2/hex/codecs decoder, `getattr`), or identifier soup. Medium when it only
//! names the packer: the packer's own sources and build tools (its runtime's module names in
//! strings, comments, templates, imports of its runtime's API), a banner over code that runs
//! nothing hidden.
//!
//! Python files only; one hit per file (the first marker). Must not: try to unpack.

use super::pysrc::{self};
use crate::model::{Category, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "obfuscation.packer",
    revision: 3,
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
/// A PyArmor-packed module: its loader called in code, or its encrypted blob as a bytes literal
/// (the quote's offset is checked to be inside a string, the call's to be code).
static PACKED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?P<call>(?-u:\b)(?:__pyarmor__|exec_file)\s*\(|(?-u:\b)pyarmor\s*\(\s*__name__|(?-u:\b)\w+\s*\(\s*__name__\s*,\s*__file__\s*,)|(?-u:\b)[bB](?P<q>['"])(?:PY\d{6}|\\x50\\x59\\x41\\x52)"#)
        .expect("packed")
});
/// PyArmor's runtime started: `pyarmor_runtime()`, `pyarmor_runtime_000000.pyarmor_runtime(…)`.
static RUNTIME_CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)pyarmor_runtime\w*\s*\(").expect("runtime call"));
/// Code that runs or decodes code: what makes a banner a packed file rather than a mention.
static RUNS_OR_DECODES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:exec|eval|compile|__import__|getattr|b64decode|b32decode|b85decode|a85decode|decodebytes|fromhex|unhexlify)\s*\(|(?-u:\b)(?:marshal|zlib|lzma|bz2|codecs)\.(?:loads|decompress|decode)\s*\(")
        .expect("runs or decodes")
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
        // A marker in a file that is not packed: reported at Medium unless identifier soup says it is.
        let mut named = None;
        if let Some(c) = MARKER.captures_iter(file.text).take(MAX_MARKERS).find(|c| banner_of_this_file(c)) {
            let m = c.get(0).expect("m");
            let src = file.source();
            let ind = if c.name("pyarmor").is_some() {
                "PyArmor".to_string()
            } else if c.name("pyobf").is_some() {
                "pyobfuscate".to_string()
            } else {
                c.name("tool").map_or("obfuscator".to_string(), |t| t.as_str().to_string())
            };
            // Packed: PyArmor's loader runs in code or its blob is there; a banner over code that
            // runs or decodes code. Otherwise the file only names the packer (its own sources,
            // a build tool, a template): Medium.
            let runs_or_decodes = || RUNS_OR_DECODES.find_iter(file.text).any(|r| src.is_code(r.start()));
            let packed = if c.name("pyarmor").is_some() {
                let loader = PACKED.captures_iter(file.text).any(|p| match (p.name("call"), p.name("q")) {
                    (Some(call), _) => src.is_code(call.start()) && !file.text[..call.start()].ends_with("def "),
                    (None, Some(q)) => src
                        .span_at(q.start())
                        .is_some_and(|sp| sp.kind == pysrc::Kind::Str && sp.start == p.get(0).expect("p").start()),
                    _ => false,
                });
                // The runtime started in code beside a call that runs or decodes code: the loader
                // reached some other way (`getattr(builtins, name)(…)`, a blob read from a file).
                let started = RUNTIME_CALL
                    .find_iter(file.text)
                    .any(|r| src.is_code(r.start()) && !file.text[..r.start()].ends_with("def "));
                loader || started && runs_or_decodes()
            } else {
                runs_or_decodes()
            };
            if packed {
                hits.push(&META, Hit { severity: None, evidence: pysrc::evidence(file, m.start(), ind) });
                return;
            }
            named = Some((m.start(), format!("{ind} named; nothing in this file is packed or run")));
        }
        let src = file.source();
        let mut soup = SOUP.find_iter(file.text).filter(|m| src.is_code(m.start()));
        if let Some(first) = soup.next() {
            let count = 1 + soup.count();
            if count >= SOUP_MIN {
                let ev = pysrc::evidence(file, first.start(), format!("{count} obfuscated identifiers"));
                hits.push(&META, Hit { severity: None, evidence: ev });
                return;
            }
        }
        if let Some((at, ind)) = named {
            hits.push(&META, Hit { severity: Some(Severity::Medium), evidence: pysrc::evidence(file, at, ind) });
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

    static SOUP_PYARMOR: LazyLock<String> = LazyLock::new(|| format!("# not pyarmor_runtime\n{}", SOUP_SRC.as_str()));

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
                (
                    "pyarmor 7 packed script: runtime started, loader called with the blob",
                    "pkg/a.py",
                    Runtime,
                    "from pytransform import pyarmor_runtime\npyarmor_runtime()\n__pyarmor__(__name__, __file__, b'\\x50\\x59\\x41\\x52\\x4d\\x4f\\x52\\x00\\x00')\n",
                    Some((1, "PyArmor", High)),
                ),
                (
                    "super mode: pyarmor(__name__, __file__, blob)",
                    "pkg/core.py",
                    Runtime,
                    "from pytransform import pyarmor\npyarmor(__name__, __file__, b'\\x0a\\x01', 2)\n",
                    Some((1, "PyArmor", High)),
                ),
                (
                    "pyarmor 8 blob handed to a loader reached by name",
                    "pkg/core.py",
                    Runtime,
                    "from .pyarmor_runtime_000000 import pyarmor_runtime as r\nf = vars(r)['__pyar' + 'mor__']\nf(__name__, __file__, b'PY000000\\x00\\x03\\x0b')\n",
                    Some((1, "PyArmor", High)),
                ),
                (
                    "the loader imported under another name, the blob read from a data file",
                    "pkg/core.py",
                    Runtime,
                    "from .pyarmor_runtime_000000 import __pyarmor__ as load\nload(__name__, __file__, open(BLOB, 'rb').read())\n",
                    Some((1, "PyArmor", High)),
                ),
                (
                    "runtime started, loader found with getattr, blob read from a data file",
                    "pkg/__init__.py",
                    ImportTime,
                    "from pytransform import pyarmor_runtime\npyarmor_runtime()\ngetattr(__builtins__, '__pyar' + 'mor__')(__name__, __file__, open('logo.bin', 'rb').read())\n",
                    Some((1, "PyArmor", High)),
                ),
                (
                    "an encrypted script run through the runtime's exec_file",
                    "pkg/run.py",
                    Runtime,
                    "from pytransform import exec_file\nexec_file('payload.py.enc')\n",
                    Some((1, "PyArmor", High)),
                ),
                (
                    "a PyArmor name in a comment of a soup-obfuscated file stays high",
                    "pkg/a.py",
                    Runtime,
                    SOUP_PYARMOR.as_str(),
                    Some((2, "30 obfuscated identifiers", High)),
                ),
                // The packer's own sources and tools that name it: nothing here is packed or run.
                (
                    "the runtime started alone (its bootstrap), nothing run",
                    "pkg/a.py",
                    Runtime,
                    "from pytransform import pyarmor_runtime\npyarmor_runtime()\n",
                    Some((1, "PyArmor named; nothing in this file is packed or run", Medium)),
                ),
                (
                    "the packer's template of a packed module, in a string",
                    "pyarmor/cli/context.py",
                    Runtime,
                    "runtime_template = \'\'\'\nfrom $package import __pyarmor__\n__pyarmor__(__name__, $path, $code)\n\'\'\'\n",
                    Some((3, "PyArmor named; nothing in this file is packed or run", Medium)),
                ),
                (
                    "a repacker matching the runtime's file names",
                    "pyarmor/cli/repack.py",
                    Runtime,
                    "def files(names):\n    return [x for x in names if x.startswith('pyarmor_runtime')]\n",
                    Some((2, "PyArmor named; nothing in this file is packed or run", Medium)),
                ),
                (
                    "the packer's tool importing its runtime's API",
                    "pyarmor/pyimcore.py",
                    ImportTime,
                    "from pytransform import PytransformError, old_init_runtime, import_module\n\ndef load(name):\n    return import_module(name)\n",
                    Some((1, "PyArmor named; nothing in this file is packed or run", Medium)),
                ),
                ("banner over code that runs nothing", "pkg/a.py", Runtime, "# Obfuscated with Hyperion\nx = 1\n", Some((1, "Hyperion named; nothing in this file is packed or run", Medium))),
                (
                    "banner over a marshalled, compressed blob that is run",
                    "pkg/a.py",
                    Runtime,
                    "# obfuscated with BlankOBF\nimport marshal, zlib\nexec(marshal.loads(zlib.decompress(b'x\\x9c')))\n",
                    Some((1, "BlankOBF", High)),
                ),
                (
                    "pyobfuscate output decoding then evaluating",
                    "pkg/a.py",
                    Runtime,
                    "pyobfuscate = ('x')\nimport base64\neval(base64.b64decode(pyobfuscate))\n",
                    Some((1, "pyobfuscate", High)),
                ),
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
