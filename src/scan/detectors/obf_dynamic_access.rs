//! `obfuscation.dynamic-access`: a function reached through a name built at run time
//! so that the call does not appear in the source — `getattr(os, "sy"+"stem")`,
//! `os.__dict__["system"]`, `globals()["__builtins__"]`, `builtins.__dict__[…]`,
//! `__builtins__[…]`, `importlib.import_module(<built string>)`, `__import__(chr(111)+…)`,
//! `operator.methodcaller("system", …)`, `exec.__call__(…)`.
//!
//! The name is folded ([`super::fold`]) and the hit reports the resolved call
//! (`os.system`, `eval`) with the original snippet. Severity: high when the resolved
//! target is a dangerous sink (exec/eval/compile, process creation, sockets, URL
//! fetches, native code, unpickling) and folding or a namespace dictionary was needed to
//! see it; medium when the name is computed from obfuscation primitives (`chr`, slices,
//! decoders, escapes) but cannot be resolved, or a sensitive module (os, subprocess,
//! builtins…) is indexed with an unknown key; low for a sensitive attribute fetched by a
//! plain literal from a computed module (`getattr(__import__("os"), "system")`). Quiet
//! for literal getattr of ordinary attributes (`getattr(os, "O_BINARY", 0)`,
//! `getattr(moves.builtins, "exec")`) and for plugin loaders that import a variable or
//! an f-string (`importlib.import_module(f"{pkg}.plugins.{name}")`), and for a store into a
//! namespace (`__builtins__["__import__"] = hook`, `vars(builtins)[k] = v`): assigning a
//! hook calls nothing (the hook's own body is judged where it is). Weighed by place:
//! install time one step up, tests/docs at most medium, data files low.
//!
//! Python code only; token-wise, so files that do not parse are still scanned. Sites are
//! found by one packed search for the words they hold, the site pattern confirming only there
//! (the same sites as its whole-member search, tested).

use super::context;
use super::fold::{self, Env};
use super::hits::Words;
use super::pysrc::{self, MAX_HITS_PER_FILE};
use crate::model::{Category, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "obfuscation.dynamic-access",
    revision: 5,
    title: "Reaches a function through a computed name.",
    category: Category::Obfuscation,
    severity: Severity::Medium,
    description: "The called function's name is built at run time (concatenation, chr() lists, reversed or encoded strings) or looked up in a namespace dictionary, so the call is invisible in the source; the finding names the function it resolves to.",
};

const SITE_PATTERN: &str = concat!(
    r"(?-u:\b)(?P<getattr>getattr)\s*\(",
    r"|(?P<dict>\.__dict__)\s*(?:\[|\.get\s*\()",
    r"|(?-u:\b)(?P<ns>globals|locals|vars)\s*\(\s*(?P<vobj>[A-Za-z0-9_.]*)\s*\)\s*(?:\[|\.get\s*\()",
    r"|(?-u:\b)(?P<bsub>__builtins__)\s*\[",
    r"|(?-u:\b)(?P<imp>importlib\.import_module|import_module|__import__)\s*\(",
    r"|(?-u:\b)(?P<mc>(?:operator\.)?(?:methodcaller|attrgetter))\s*\(",
    r"|(?P<call>\.__call__)\s*\(",
);
static SITE: LazyLock<Regex> = LazyLock::new(|| Regex::new(SITE_PATTERN).expect("dynamic access site"));
/// [`SITE`] for anchored searches at [`site_starts`].
static SITE_AT: LazyLock<regex_automata::meta::Regex> =
    LazyLock::new(|| regex_automata::meta::Regex::new(SITE_PATTERN).expect("dynamic access site"));
/// The words every [`SITE`] match holds, each with how many bytes before it the match can start
/// (`.` of `.__dict__` and `.__call__`, `operator.` of `operator.methodcaller`, `importlib.` of
/// `importlib.import_module`). No word is a prefix of another (tested), so one word starts at a
/// position at most.
const SITE_LEADS: [(&str, &[usize]); 11] = [
    ("getattr", &[0]),
    ("__dict__", &[1]),
    ("globals", &[0]),
    ("locals", &[0]),
    ("vars", &[0]),
    ("__builtins__", &[0]),
    ("import_module", &[0, 10]),
    ("__import__", &[0]),
    ("methodcaller", &[0, 9]),
    ("attrgetter", &[0, 9]),
    ("__call__", &[1]),
];
/// [`SITE_LEADS`]' words, one packed searcher.
static SITE_WORDS: LazyLock<Words> = LazyLock::new(|| Words::new(&SITE_LEADS.map(|(w, _)| w)));

/// Every place a [`SITE`] match can start, ascending: each position where a [`SITE_WORDS`]
/// word starts (one leftmost search resumed a byte after each), less each of its leads.
/// The packed search costs about half of the regex's own (measured on the slow wheels'
/// modules: the regex confirms each of its literal candidates with a DFA); the regex then runs
/// anchored at these places only ([`pysrc::find_at_starts`]).
fn site_starts(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let mut starts = Vec::new();
    let mut from = 0;
    while let Some((at, word)) = SITE_WORDS.find_word_from(b, from) {
        starts.extend(SITE_LEADS[word].1.iter().filter_map(|&lead| at.checked_sub(lead)));
        from = at + 1;
    }
    starts.sort_unstable();
    starts.dedup();
    starts
}

/// `SITE.captures_iter(text)`: each match found at [`site_starts`], then its captures (an
/// unanchored search from a match's start finds that same match: leftmost-first, and nothing
/// starts earlier from there).
fn sites(text: &str) -> impl Iterator<Item = regex::Captures<'_>> {
    pysrc::find_at_starts(&SITE_AT, text, site_starts(text))
        .into_iter()
        .filter_map(move |(s, _)| SITE.captures_at(text, s))
}

/// What a computed name looks like when it was built to hide: folding primitives.
static OBFUSCATED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"chr\s*\(|\[\s*::\s*-|fromhex|unhexlify|b64decode|b32decode|b85decode|codecs\.decode|rot_?13|decode\s*\(|\\x[0-9a-fA-F]{2}|\\[0-7]{3}"#)
        .expect("obfuscated")
});

/// Modules whose attributes are sinks, and the sinks (any attribute of a listed module
/// with an empty list counts).
const SINKS: &[(&str, &[&str])] = &[
    ("builtins", &["exec", "eval", "compile", "execfile", "__import__", "getattr", "open"]),
    (
        "os",
        &[
            "system",
            "popen",
            "popen2",
            "popen3",
            "popen4",
            "spawnl",
            "spawnlp",
            "spawnv",
            "spawnvp",
            "spawnve",
            "execl",
            "execle",
            "execlp",
            "execv",
            "execve",
            "execvp",
            "execvpe",
            "startfile",
            "posix_spawn",
            "posix_spawnp",
            "fork",
            "dup2",
            "remove",
            "unlink",
            "chmod",
        ],
    ),
    ("subprocess", &["Popen", "call", "run", "check_call", "check_output", "getoutput", "getstatusoutput"]),
    ("socket", &["socket", "create_connection", "gethostbyname"]),
    ("urllib.request", &["urlopen", "urlretrieve", "Request", "build_opener"]),
    ("urllib2", &["urlopen", "Request"]),
    ("urllib", &["urlopen", "urlretrieve", "request"]),
    ("requests", &["get", "post", "put", "request", "Session"]),
    ("ctypes", &["CDLL", "WinDLL", "windll", "cdll", "memmove", "CFUNCTYPE", "WINFUNCTYPE", "cast", "pythonapi"]),
    ("marshal", &["loads", "load"]),
    ("pickle", &["loads", "load"]),
    ("pty", &["spawn"]),
    ("commands", &["getoutput", "getstatusoutput"]),
    ("importlib", &["import_module"]),
];
/// Modules that are sensitive in themselves (imported by a built name: high).
const SENSITIVE_MODULES: &[&str] = &[
    "os",
    "subprocess",
    "socket",
    "pty",
    "ctypes",
    "marshal",
    "pickle",
    "urllib",
    "urllib.request",
    "urllib2",
    "requests",
    "builtins",
    "__builtin__",
    "commands",
    "base64",
    "zlib",
    "importlib",
    "shutil",
    "http.client",
    "win32api",
    "winreg",
    "_winreg",
    "webbrowser",
];
/// Attribute names that are sinks whatever the module.
const ANY_MODULE_SINKS: &[&str] =
    &["system", "popen", "Popen", "exec", "eval", "compile", "check_output", "urlopen", "urlretrieve", "execfile"];

fn canonical_module(m: &str) -> &str {
    match m {
        "__builtins__" | "__builtin__" => "builtins",
        m => m,
    }
}

fn is_sink(module: Option<&str>, attr: &str) -> bool {
    match module.map(canonical_module) {
        Some(m) => SINKS.iter().any(|(n, attrs)| *n == m && attrs.contains(&attr)) || ANY_MODULE_SINKS.contains(&attr),
        None => ANY_MODULE_SINKS.contains(&attr) || SINKS[0].1.contains(&attr),
    }
}

fn is_sensitive_module(m: &str) -> bool {
    SENSITIVE_MODULES.contains(&canonical_module(m)) || m == "__builtins__"
}

/// How the resolved name was seen.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Written as a plain literal.
    Literal,
    /// Built by an expression that folded.
    Folded,
}

/// `(module, how)` of an object expression: `os`, `__import__("o"+"s")`,
/// `importlib.import_module(x)`, `sys.modules["os"]`, `globals()["__builtins__"]`.
fn resolve_object(obj: &str, env: &Env<'_>) -> Option<(String, Seen)> {
    let o = obj.trim();
    for call in ["__import__(", "importlib.import_module(", "import_module("] {
        if let Some(inner) = o.strip_prefix(call).and_then(|r| r.strip_suffix(')')) {
            let arg = fold::split_args(inner).into_iter().next()?;
            return fold_name(arg, env);
        }
    }
    for sub in ["sys.modules[", "globals()[", "vars()[", "locals()["] {
        if let Some(inner) = o.strip_prefix(sub).and_then(|r| r.strip_suffix(']')) {
            return fold_name(inner, env).map(|(m, _)| (m, Seen::Folded));
        }
    }
    if !o.is_empty() && o.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') {
        return Some((o.to_string(), Seen::Literal));
    }
    None
}

/// A name argument folded, with whether it was written plainly. A literal that spells a
/// plain name in escapes (`"\145\166\141\154"`, `"\x65val"`) was written to hide it: folded.
fn fold_name(arg: &str, env: &Env<'_>) -> Option<(String, Seen)> {
    let s = fold::eval_text(arg, env)?;
    if s.is_empty() || s.len() > 200 {
        return None;
    }
    let escaped = ESCAPED_NAME.is_match(arg) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    let plain = !escaped && (fold::is_plain_literal(arg) || env.is_plain(arg.trim()));
    Some((s, if plain { Seen::Literal } else { Seen::Folded }))
}

/// An octal, hex or `\u` escape inside a literal (see [`fold_name`]).
static ESCAPED_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\\(?:[0-7]{3}|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{)").expect("escaped name")
});

/// The object expression ending at `dot` (`os`, `builtins`, `__import__("os")`,
/// `sys.modules["os"]`): dotted names and at most one call or subscript, on one line.
fn object_before(text: &str, dot: usize) -> &str {
    let b = text.as_bytes();
    let mut i = dot;
    let lower = dot.saturating_sub(200);
    loop {
        while i > lower && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b'.') {
            i -= 1;
        }
        if i > lower && matches!(b[i - 1], b')' | b']') && i == dot {
            let (close, open) = (b[i - 1], if b[i - 1] == b')' { b'(' } else { b'[' });
            let mut depth = 0usize;
            let mut j = i;
            while j > lower {
                j -= 1;
                match b[j] {
                    c if c == close => depth += 1,
                    c if c == open => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    b'\n' => return "",
                    _ => {}
                }
            }
            if depth != 0 {
                return "";
            }
            i = j;
            continue;
        }
        break;
    }
    &text[i..dot]
}

/// A bracketed argument: from just after the opening bracket to its match.
fn bracketed(text: &str, after_open: usize) -> &str {
    let b = text.as_bytes();
    let (mut depth, mut i) = (1usize, after_open);
    let end = (after_open + 4096).min(b.len());
    while i < end {
        match b[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
        i += 1;
    }
    &text[after_open..pysrc::floor_char(text, i.min(b.len()))]
}

/// `.name` right after the expression ending at `end` (the attribute taken from what it returned).
fn attribute_after(text: &str, end: usize) -> Option<&str> {
    let rest = text.get(end..)?.strip_prefix(|c| c == ')' || c == ']')?.trim_start_matches([' ', '\t']);
    let rest = rest.strip_prefix('.')?;
    let n = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    (n > 0).then(|| &rest[..n])
}

/// The resolved call of one site, and its base severity (before the place).
struct Resolved {
    indicator: String,
    severity: Severity,
}

fn qualified(module: &str, attr: &str) -> String {
    match canonical_module(module) {
        "builtins" => attr.to_string(),
        m => format!("{m}.{attr}"),
    }
}

/// Severity of an unresolvable name: medium when built from obfuscation primitives
/// or used on a sensitive module, else nothing (`getattr(self, name)`).
fn unresolved(arg: &str, module: Option<&str>, indicator: String) -> Option<Resolved> {
    let sensitive = module.is_some_and(is_sensitive_module);
    let built = OBFUSCATED.is_match(arg);
    let plain_var = arg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    match (built, sensitive, plain_var) {
        (true, _, _) => Some(Resolved { indicator, severity: Severity::Medium }),
        (false, true, false) => Some(Resolved { indicator, severity: Severity::Medium }),
        (false, true, true) => Some(Resolved { indicator, severity: Severity::Low }),
        _ => None,
    }
}

/// One attribute lookup `module[.attr]` where the attribute was `seen` as such; `strong`
/// when the lookup form itself is unusual (namespace dictionaries, methodcaller).
fn judge(module: Option<&str>, attr: &str, seen: Seen, strong: bool, computed_object: bool) -> Option<Resolved> {
    let sink = is_sink(module, attr) || (module.is_none() && SINKS.iter().any(|(m, _)| *m == attr));
    let indicator = module.map_or_else(|| attr.to_string(), |m| qualified(m, attr));
    let severity = match (sink, seen, strong, computed_object) {
        // The reflection builtin itself fetched by its plain name (`globals()["getattr"]`, to
        // rebind a name the scope shadows): no call is hidden; what it reaches is judged where
        // it is called. Built from pieces (`globals()["get" + "attr"]`) it stays High.
        (true, Seen::Literal, true, _)
            if module.is_none_or(|m| canonical_module(m) == "builtins") && attr == "getattr" =>
        {
            Severity::Low
        }
        (true, Seen::Folded, _, _) | (true, Seen::Literal, true, _) => Severity::High,
        (true, Seen::Literal, false, true) => Severity::Low,
        (false, Seen::Folded, _, _) if module.is_some_and(is_sensitive_module) => Severity::Low,
        _ => return None,
    };
    Some(Resolved { indicator, severity })
}

/// Whether the subscript opened just before `after_open` is an assignment target
/// (`vars(builtins)["__import__"] = hook`): storing into a namespace calls nothing.
fn is_store(text: &str, after_open: usize) -> bool {
    let close = after_open + bracketed(text, after_open).len();
    let rest = text.get(close + 1..).unwrap_or("").trim_start_matches([' ', '\t']);
    rest.starts_with('=') && !rest.starts_with("==")
}

fn site(text: &str, c: &regex::Captures<'_>, env: &Env<'_>) -> Option<Resolved> {
    let whole = c.get(0)?;
    let after = whole.end();
    if (c.name("dict").is_some() || c.name("ns").is_some() || c.name("bsub").is_some()) && is_store(text, after) {
        return None;
    }
    if c.name("getattr").is_some() {
        let args_text = bracketed(text, after);
        let args = fold::split_args(args_text);
        let (obj, name) = (*args.first()?, *args.get(1)?);
        let object = resolve_object(obj, env);
        let computed_object = object.as_ref().is_some_and(|(_, s)| *s == Seen::Folded) || obj.contains('(');
        let module = object.as_ref().map(|(m, _)| m.as_str());
        return match fold_name(name, env) {
            Some((attr, seen)) => judge(module, &attr, seen, false, computed_object),
            None => unresolved(name, module, format!("getattr({}, <computed>)", module.unwrap_or("…"))),
        };
    }
    if c.name("dict").is_some() {
        let obj = object_before(text, whole.start());
        let key = bracketed(text, after);
        let key = fold::split_args(key).into_iter().next().unwrap_or("");
        let module = resolve_object(obj, env).map(|(m, _)| m);
        let module = module.as_deref().filter(|m| !matches!(*m, "self" | "cls") && !m.starts_with("self."));
        return match fold_name(key, env) {
            Some((attr, seen)) => judge(module, &attr, seen, true, false),
            None => {
                unresolved(key, module.filter(|m| is_sensitive_module(m)), format!("{}.__dict__[<computed>]", module?))
            }
        };
    }
    if let Some(ns) = c.name("ns") {
        let key = fold::split_args(bracketed(text, after)).into_iter().next().unwrap_or("");
        let vobj = c.name("vobj").map_or("", |m| m.as_str());
        let module = if ns.as_str() == "vars" && !vobj.is_empty() { Some(vobj) } else { None };
        let (name, seen) = fold_name(key, env)?;
        if matches!(name.as_str(), "__builtins__" | "__builtin__" | "builtins") {
            return Some(Resolved {
                indicator: format!("{}()[\"{name}\"]", ns.as_str()),
                severity: match seen {
                    Seen::Folded => Severity::High,
                    Seen::Literal => Severity::Medium,
                },
            });
        }
        return judge(module, &name, seen, true, false);
    }
    if c.name("bsub").is_some() {
        let key = fold::split_args(bracketed(text, after)).into_iter().next().unwrap_or("");
        return match fold_name(key, env) {
            Some((attr, seen)) => judge(Some("builtins"), &attr, seen, true, false),
            None => unresolved(key, Some("builtins"), "__builtins__[<computed>]".to_string()),
        };
    }
    if let Some(imp) = c.name("imp") {
        let args_text = bracketed(text, after);
        let arg = fold::split_args(args_text).into_iter().next().unwrap_or("");
        let then = attribute_after(text, after + args_text.len());
        return match fold_name(arg, env) {
            Some((module, Seen::Folded)) => {
                let module = module.trim().to_string();
                let sensitive = is_sensitive_module(&module) || then.is_some_and(|a| is_sink(Some(&module), a));
                let indicator = then.map_or_else(|| format!("import {module}"), |a| qualified(&module, a));
                Some(Resolved { indicator, severity: if sensitive { Severity::High } else { Severity::Low } })
            }
            Some((_, Seen::Literal)) => None,
            None => unresolved(arg, None, format!("{}(<computed>)", imp.as_str())).filter(|_| !arg.starts_with('f')),
        };
    }
    if let Some(mc) = c.name("mc") {
        let arg = fold::split_args(bracketed(text, after)).into_iter().next().unwrap_or("");
        let (attr, seen) = fold_name(arg, env)?;
        let attr = attr.rsplit('.').next().unwrap_or(&attr).to_string();
        // Objects have `eval`/`compile`/`run` methods of their own (`DataFrame.eval`): only
        // process-creating names are high without a module.
        let process = SINKS[1].1.contains(&attr.as_str()) || SINKS[2].1.contains(&attr.as_str()) && attr != "run";
        return judge(None, &attr, seen, true, false).map(|r| Resolved {
            indicator: format!("{}({:?}) → {}", mc.as_str().rsplit('.').next().unwrap_or(""), attr, r.indicator),
            severity: if process { r.severity } else { r.severity.min(Severity::Medium) },
        });
    }
    if c.name("call").is_some() {
        let o = object_before(text, whole.start());
        let (module, attr) = o.rsplit_once('.').map_or((None, o), |(m, a)| (Some(m), a));
        if is_sink(module, attr) || SINKS[0].1.contains(&attr) && module.is_none() {
            return Some(Resolved { indicator: format!("{o}.__call__"), severity: Severity::High });
        }
    }
    None
}

pub(crate) struct DynamicAccess;

impl Detector for DynamicAccess {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&[
            "getattr",
            "__dict__",
            "__builtins__",
            "import_module",
            "__import__",
            "methodcaller",
            "attrgetter",
            "__call__",
            "globals()",
            "vars(",
        ])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if !file.is_python {
            return;
        }
        let env = Env::new(file.text);
        let mut n = 0;
        for c in sites(file.text) {
            if n >= MAX_HITS_PER_FILE {
                return;
            }
            let whole = c.get(0).expect("match");
            let at = whole.start() - object_before(file.text, whole.start()).len();
            // Judge the text first: most sites resolve to nothing, and then the file
            // need not be lexed at all.
            let Some(r) = site(file.text, &c, &env) else {
                continue;
            };
            if !file.source().is_code(at) || pysrc::is_definition(file.text, at) {
                continue;
            }
            n += 1;
            let severity = context::weigh(file, r.severity);
            hits.push(&META, Hit { severity: Some(severity), evidence: pysrc::evidence(file, at, r.indicator) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FileRole::{self, *};
    use crate::scan::detectors::testutil::table;
    use Severity::*;

    /// The sites found at the words they hold are the whole search's, captures and all: named
    /// cases (each alternative, the leads before a word, words inside longer names, adjacent
    /// sites, non-ASCII text, a word at the member's start) and 4,000 random texts.
    #[test]
    fn site_search_at_words_is_the_whole_search() {
        fn groups(c: &regex::Captures<'_>) -> Vec<Option<(usize, usize)>> {
            c.iter().map(|g| g.map(|m| (m.start(), m.end()))).collect()
        }
        let cases = [
            ("empty", ""),
            ("getattr", "x = getattr(os, 'sy' + 'stem')\ngetattr (a,b)"),
            ("dict", "os.__dict__['system']; m.__dict__ .get('x'); os.__dict__.get ('y')"),
            ("namespaces", "globals()['__builtins__']; locals ( ) .get('x'); vars(builtins)['exec']; vars( a.b )[k]"),
            ("builtins", "__builtins__['eval']; __builtins__ ['exec']"),
            ("imports", "importlib.import_module('o'+'s'); import_module(x); __import__(chr(111))"),
            ("leads", "operator.methodcaller('system'); attrgetter('x'); operator.attrgetter(y); exec.__call__(c)"),
            ("inside names", "mygetattr(a); getattr_(b); _vars(c); xglobals()[k]; myimportlib.import_module(m)"),
            ("adjacent", "getattr(getattr(a, b), c)(vars()[k])"),
            ("non-ASCII", "é getattr(a, b) égetattr(c, d) ·vars()[k] …__import__(x)"),
            ("at the start", "vars()['x']"),
        ];
        let check = |name: &str, text: &str| {
            let whole: Vec<_> = SITE.captures_iter(text).map(|c| groups(&c)).collect();
            let got: Vec<_> = sites(text).map(|c| groups(&c)).collect();
            assert_eq!(got, whole, "{name}: {text:?}");
            whole.len()
        };
        for (name, text) in cases {
            check(name, text);
        }
        let pieces = [
            "getattr",
            "__dict__",
            "globals",
            "locals",
            "vars",
            "__builtins__",
            "import_module",
            "importlib.",
            "__import__",
            "methodcaller",
            "operator.",
            "attrgetter",
            "__call__",
            "(",
            ")",
            "[",
            " ",
            "\n",
            ".",
            "get",
            "x",
            "é",
            "_",
        ];
        let mut found = 0;
        for text in pysrc::random_texts(&pieces, 24, 0x5851_f42d_4c95_7f2du64, 4000) {
            found += check("random", &text);
        }
        assert!(found > 200, "the random texts hold sites: {found}");
        for (w, _) in SITE_LEADS {
            let prefixes = SITE_LEADS.iter().filter(|(v, _)| v.starts_with(w)).count();
            assert_eq!(prefixes, 1, "{w} is a prefix of no other word");
        }
    }

    /// A hostile member for [`sites`]: 4 MB of site words each followed by a long blank run that
    /// ends without the bracket a site needs, then a long run of sites: linear, well under the
    /// bound.
    #[test]
    fn site_search_of_a_huge_member_is_fast() {
        let mut text = String::new();
        while text.len() < 2_000_000 {
            text.push_str("vars(");
            text.push_str(&" ".repeat(100));
            text.push_str("a.b.c");
            text.push_str(&" ".repeat(100));
            text.push_str(") getattr");
            text.push_str(&"\n".repeat(100));
            text.push_str("x\n");
        }
        while text.len() < 4_000_000 {
            text.push_str(
                "getattr(vars()[operator.methodcaller(importlib.import_module(a.__dict__[b.__call__(c)]))])\n",
            );
        }
        let t = std::time::Instant::now();
        let found = sites(&text).count();
        let took = t.elapsed();
        assert!(found > 100_000, "{found}");
        assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    }

    #[test]
    fn cases() {
        let cases: &[(&str, &str, FileRole, &str, crate::scan::detectors::testutil::Want)] = &[
            (
                "getattr of a concatenation",
                "pkg/a.py",
                Runtime,
                "import os\ngetattr(os, 'sy' + 'stem')('id')\n",
                Some((2, "os.system", High)),
            ),
            (
                "os.__dict__ literal",
                "pkg/a.py",
                Runtime,
                "import os\nos.__dict__['system']('id')\n",
                Some((2, "os.system", High)),
            ),
            (
                "globals builtins",
                "pkg/a.py",
                Runtime,
                "b = globals()['__buil' + 'tins__']\n",
                Some((1, "globals()[\"__builtins__\"]", High)),
            ),
            (
                "getattr builtins with arithmetic chr",
                "setup.py",
                InstallTime,
                "getattr(__builtins__, chr(0x65) + chr(118) + chr(1<<6|33) + chr(108))(code)\n",
                Some((1, "eval", Critical)),
            ),
            (
                "builtins dict with octal escapes",
                "pkg/a.py",
                Runtime,
                "import builtins\nbuiltins.__dict__[\"\\145\\170\\145\\143\"](s)\n",
                Some((2, "exec", High)),
            ),
            (
                "import_module of a built string",
                "pkg/a.py",
                Runtime,
                "m = importlib.import_module(''.join(['sub', 'process']))\n",
                Some((1, "import subprocess", High)),
            ),
            (
                "__import__ of chr list then attribute",
                "pkg/a.py",
                Runtime,
                "__import__(''.join(map(chr, [111, 115]))).system('id')\n",
                Some((1, "os.system", High)),
            ),
            (
                "reversed name through a module variable",
                "pkg/a.py",
                Runtime,
                "N = 'metsys'[::-1]\nimport os\nf = getattr(os, N)\n",
                Some((3, "os.system", High)),
            ),
            (
                "fromhex name",
                "pkg/a.py",
                Runtime,
                "getattr(os, bytes.fromhex('706f70656e').decode())\n",
                Some((1, "os.popen", High)),
            ),
            (
                "methodcaller",
                "pkg/a.py",
                Runtime,
                "operator.methodcaller('system', 'id')(os)\n",
                Some((1, "methodcaller(\"system\") → system", High)),
            ),
            (
                "methodcaller of a method named eval",
                "pkg/frame.py",
                Runtime,
                "f = operator.methodcaller('eval', 'A + 1')\n",
                Some((1, "methodcaller(\"eval\") → eval", Medium)),
            ),
            ("__call__ chain", "pkg/a.py", Runtime, "exec.__call__(payload)\n", Some((1, "exec.__call__", High))),
            (
                "the getattr builtin fetched by its plain name to rebind a shadowed name",
                "pkg/a.py",
                Runtime,
                "def f(t):\n    if traced(t):\n        getattr = tracer.getattr\n    else:\n        getattr = globals()[\"getattr\"]\n",
                Some((5, "getattr", Low)),
            ),
            (
                "the getattr builtin fetched by a built name stays high",
                "pkg/a.py",
                Runtime,
                "g = globals()[\"get\" + \"attr\"]\n",
                Some((1, "getattr", High)),
            ),
            (
                "eval fetched from globals by its plain name stays high",
                "pkg/a.py",
                Runtime,
                "run = globals()[\"eval\"]\n",
                Some((1, "eval", High)),
            ),
            (
                "computed, unresolvable, obfuscated",
                "pkg/a.py",
                Runtime,
                "getattr(os, ''.join(chr(c) for c in key()))\n",
                Some((1, "getattr(os, <computed>)", Medium)),
            ),
            (
                "computed getattr on builtins",
                "pkg/a.py",
                Runtime,
                "f = getattr(builtins, name)\n",
                Some((1, "getattr(builtins, <computed>)", Low)),
            ),
            (
                "literal sink from a computed module",
                "pkg/a.py",
                Runtime,
                "getattr(__import__('os'), 'system')('id')\n",
                Some((1, "os.system", Low)),
            ),
            (
                "in tests at most medium",
                "pkg/tests/test_a.py",
                TestOrDocs,
                "getattr(os, 'sy' + 'stem')('id')\n",
                Some((1, "os.system", Medium)),
            ),
            (
                "python 2 file with print statement",
                "pkg/a.py",
                Runtime,
                "print 'hi'\nexec getattr(os, 'sys'+'tem')\n",
                Some((2, "os.system", High)),
            ),
            (
                "syntax error elsewhere",
                "pkg/a.py",
                Runtime,
                "def broken(:\n    x = ]\nos.__dict__['sy''stem']('x')\n",
                Some((3, "os.system", High)),
            ),
            // benign look-alikes
            (
                "literal getattr of an ordinary attribute",
                "pkg/a.py",
                Runtime,
                "flag = getattr(os, 'O_BINARY', 0)\n",
                None,
            ),
            ("six's literal exec", "six.py", Runtime, "exec_ = getattr(moves.builtins, \"exec\")\n", None),
            ("getattr of self with a variable", "pkg/a.py", Runtime, "return getattr(self, name)(*args)\n", None),
            (
                "plugin loader with an f-string",
                "pkg/a.py",
                Runtime,
                "mod = importlib.import_module(f\"{pkg}.plugins.{name}\")\n",
                None,
            ),
            (
                "plugin loader with a variable",
                "pkg/a.py",
                Runtime,
                "mod = importlib.import_module(name)\n__import__(modname)\n",
                None,
            ),
            (
                "literal import",
                "pkg/a.py",
                Runtime,
                "json = __import__('json')\nos_ = importlib.import_module('os')\n",
                None,
            ),
            (
                "a variable with a plain literal default, rebound by tuple unpacking",
                "yaml/constructor.py",
                Runtime,
                "def find(name):\n    module_name = 'builtins'\n    if '.' in name:\n        module_name, object_name = name.rsplit('.', 1)\n    __import__(module_name)\n",
                None,
            ),
            (
                "a plain literal bound once is not hidden",
                "pkg/a.py",
                Runtime,
                "BACKEND = 'subprocess'\nmod = importlib.import_module(BACKEND)\n",
                None,
            ),
            (
                "__builtins__ indexed with a folded name and called",
                "pkg/a.py",
                Runtime,
                "x = 1\n__builtins__['ev' + 'al'](payload)\n",
                Some((2, "eval", High)),
            ),
            (
                "a hook assigned, then __builtins__ indexed with a folded name and called",
                "pkg/a.py",
                Runtime,
                "__builtins__['__import__'] = hook\n__builtins__['ex' + 'ec'](payload)\n",
                Some((2, "exec", High)),
            ),
            (
                "a debugger's import hook assigned into __builtins__ at import time",
                "pudb/b.py",
                Runtime,
                "def __myimport__(name, *a, **k):\n    return __origimport__(name, *a, **k)\n__builtins__[\"__origimport__\"] = __import__\n__builtins__[\"__import__\"] = __myimport__\n",
                None,
            ),
            (
                "an import hook stored into the builtins namespace",
                "lazy_importer/_imports.py",
                Runtime,
                "import builtins\nvars(builtins)['__import__'] = self._callback\nbuiltins.__dict__['open'] = wrapped\n",
                None,
            ),
            ("self.__dict__", "pkg/a.py", Runtime, "v = self.__dict__[key]\nw = obj.__dict__['x']\n", None),
            ("globals assignment", "pkg/a.py", Runtime, "globals()[name] = value\nx = globals()['VERSION']\n", None),
            ("folded but harmless", "pkg/a.py", Runtime, "getattr(obj, 'get_' + 'value')()\n", None),
            ("in a docstring", "pkg/a.py", Runtime, "\"\"\"getattr(os, 'sy' + 'stem')\"\"\"\n", None),
            ("in a comment", "pkg/a.py", Runtime, "# os.__dict__['system']\n", None),
            ("plain __call__", "pkg/a.py", Runtime, "self.handler.__call__(x)\n", None),
            (
                "getattr of builtins with an octal-escaped literal",
                "pkg/a.py",
                Runtime,
                "import builtins\n_f = getattr(builtins, '\\145\\166\\141\\154')\n",
                Some((2, "eval", High)),
            ),
            (
                "getattr of os with a hex-escaped literal",
                "pkg/a.py",
                Runtime,
                "import os\ngetattr(os, '\\x73ystem')('id')\n",
                Some((2, "os.system", High)),
            ),
            (
                "an escape that spells punctuation is not a hidden name",
                "pkg/a.py",
                Runtime,
                "import os\nsep = getattr(os, 'sep', '\\x2f')\n",
                None,
            ),
        ];
        table(&DynamicAccess, META.id, cases);
    }
}
