//! `obfuscation.decode-exec`: decoded data fed to `exec`/`eval`/`compile` —
//! `exec(base64.b64decode(…))`, `exec(zlib.decompress(…))`, `marshal.loads`,
//! `bytes.fromhex`, `codecs.decode(…, 'rot13')`, `lzma`, reversed strings — directly
//! in the call or through one variable (`p = b64decode(x)` … `exec(p)`).
//!
//! Python code only. Tests are not skipped (payloads hide there too).

use super::pysrc::{self, MAX_HITS_PER_FILE};
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "obfuscation.decode-exec",
    revision: 1,
    title: "Executes decoded or decompressed code.",
    category: Category::Obfuscation,
    severity: Severity::High,
    description: "Code that is decoded right before it is executed is hidden from review on purpose; it is the most common shape of malicious payloads.",
};

const DECODERS: &str = r"b64decode|b32decode|b16decode|b85decode|a85decode|decodebytes|decodestring|urlsafe_b64decode|fromhex|unhexlify|decompress|marshal\.loads|codecs\.decode|rot_?13|\[::-1\]";

/// How far (in lines) a decoded variable may be assigned before it is executed.
const VAR_WINDOW_LINES: usize = 20;

static EXEC_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^.\w])(?P<name>exec|eval|compile)\s*\(|(?-u:\b)(?P<bname>(?:builtins|__builtins__)\.(?:exec|eval))\s*\(").expect("exec call")
});
static DECODER: LazyLock<Regex> = LazyLock::new(|| Regex::new(&format!(r"(?:{DECODERS})")).expect("decoder"));
/// `name = …` at the start of a line (not `==`).
static ASSIGN_LHS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[^=]").expect("assign lhs"));
static BARE_ARG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*([A-Za-z_]\w*)\s*(?:,|$)").expect("bare arg"));
/// `exec(f(x))` / `exec((f)(x))`: the argument is a call of a name (a decoder
/// lambda or helper assigned earlier: `_ = lambda s: zlib.decompress(b64decode(s))`).
static CALLED_ARG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*(?:\(\s*([A-Za-z_]\w*)\s*\)|([A-Za-z_]\w*))\s*\(").expect("called arg"));

/// The call's argument text (balanced parentheses, at most 4 KiB).
fn argument(text: &str, after_paren: usize) -> &str {
    pysrc::call_argument(text, after_paren, 4096)
}

pub(crate) struct DecodeExec;

impl Detector for DecodeExec {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&["exec", "eval"])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if !file.is_python {
            return;
        }
        // Every hit needs a decoder somewhere in the file: one DFA pass decides.
        if !DECODER.is_match(file.text) {
            return;
        }
        let src = file.source();
        let sev = Some(if file.role == FileRole::InstallTime { Severity::Critical } else { Severity::High });
        // Variables assigned from a decoder, in code.
        // Variables assigned from a decoder in code, with the line of each assignment.
        let lines = pysrc::Lines::new(file.text);
        let line_of = |o: usize| lines.line(o);
        let mut decoded: HashMap<&str, Vec<usize>> = HashMap::new();
        for d in DECODER.find_iter(file.text) {
            if !src.is_code(d.start()) {
                continue;
            }
            let ls = file.text[..d.start()].rfind('\n').map_or(0, |p| p + 1);
            if let Some(var) = ASSIGN_LHS.captures(&file.text[ls..d.start()]).and_then(|c| c.get(1)) {
                decoded.entry(var.as_str()).or_default().push(line_of(d.start()));
            }
        }
        let mut n = 0;
        for c in EXEC_CALL.captures_iter(file.text) {
            if n >= MAX_HITS_PER_FILE {
                return;
            }
            let name = c.name("name").or(c.name("bname")).expect("name");
            if !src.is_code(name.start()) {
                continue;
            }
            let arg = argument(file.text, c.get(0).expect("m").end());
            let base = c.get(0).expect("m").end();
            let direct = DECODER.find_iter(arg).find(|d| src.is_code(base + d.start()));
            let exec_line = line_of(name.start());
            let via_var = BARE_ARG.captures(arg).and_then(|v| v.get(1)).filter(|v| {
                decoded
                    .get(v.as_str())
                    .is_some_and(|ls| ls.iter().any(|&l| l <= exec_line && exec_line - l <= VAR_WINDOW_LINES))
            });
            let via_call = CALLED_ARG.captures(arg).and_then(|v| v.get(1).or(v.get(2))).filter(|v| {
                decoded
                    .get(v.as_str())
                    .is_some_and(|ls| ls.iter().any(|&l| l <= exec_line && exec_line - l <= VAR_WINDOW_LINES))
            });
            let ind = match (direct, via_var, via_call) {
                (Some(d), _, _) => format!("{}({})", name.as_str(), d.as_str()),
                (None, Some(v), _) => format!("{}({} ← decoded)", name.as_str(), v.as_str()),
                (None, None, Some(v)) => format!("{}({}(…) ← decoder)", name.as_str(), v.as_str()),
                _ => continue,
            };
            n += 1;
            hits.push(&META, Hit { severity: sev, evidence: pysrc::evidence(file, name.start(), ind) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::detectors::testutil::table;
    use FileRole::*;
    use Severity::*;

    #[test]
    fn cases() {
        table(
            &DecodeExec,
            META.id,
            &[
                (
                    "exec b64decode",
                    "pkg/a.py",
                    Runtime,
                    "import base64\nexec(base64.b64decode('aW1wb3J0IG9z'))\n",
                    Some((2, "exec(b64decode)", High)),
                ),
                (
                    "setup.py zlib",
                    "setup.py",
                    InstallTime,
                    "exec(zlib.decompress(b'x\\x9c'))\n",
                    Some((1, "exec(decompress)", Critical)),
                ),
                ("marshal", "pkg/a.py", Runtime, "exec(marshal.loads(data))\n", Some((1, "exec(marshal.loads)", High))),
                (
                    "through a variable",
                    "pkg/a.py",
                    Runtime,
                    "p = bytes.fromhex(H).decode()\nx = 1\nexec(p)\n",
                    Some((3, "exec(p ← decoded)", High)),
                ),
                ("reversed string", "pkg/a.py", Runtime, "eval(s[::-1])\n", Some((1, "eval([::-1])", High))),
                (
                    "rot13",
                    "pkg/a.py",
                    Runtime,
                    "exec(codecs.decode(s, 'rot13'))\n",
                    Some((1, "exec(codecs.decode)", High)),
                ),
                ("exec of a plain name", "pkg/a.py", Runtime, "code = open(p).read()\nexec(code)\n", None),
                (
                    "decode without exec",
                    "pkg/a.py",
                    Runtime,
                    "data = base64.b64decode(s)\nprint(data)\nevaluate(data)\n",
                    None,
                ),
                ("in a docstring", "pkg/a.py", Runtime, "\"\"\"exec(base64.b64decode(x))\"\"\"\n", None),
                ("decoder name only in a string arg", "pkg/a.py", Runtime, "eval('zlib')\n", None),
                ("json then eval", "pkg/a.py", Runtime, "x = json.loads(s)\neval(x)\n", None),
                (
                    "decoder lambda via __import__, called inside exec",
                    "pkg/__init__.py",
                    Runtime,
                    "import base64\n_ = lambda __ : __import__('zlib').decompress(__import__('base64').b64decode(__[::-1]));exec((_)(b'=Q'))\n",
                    Some((2, "exec(_(…) ← decoder)", High)),
                ),
                (
                    "decoder helper called bare inside eval",
                    "setup.py",
                    InstallTime,
                    "d = lambda s: codecs.decode(s, 'rot13')\neval(d(P))\n",
                    Some((2, "eval(d(…) ← decoder)", Critical)),
                ),
                (
                    "__import__ of importlib then exec of a call",
                    "pkg/a.py",
                    Runtime,
                    "m = __import__('importlib').import_module(name)\nexec(m.source(x))\n",
                    None,
                ),
                (
                    "exec of a plain function call, no decoder",
                    "pkg/a.py",
                    Runtime,
                    "data = base64.b64decode(s)\nload = lambda p: open(p).read()\nexec(load(path))\n",
                    None,
                ),
            ],
        );
    }
}
