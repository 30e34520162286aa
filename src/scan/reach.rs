//! What install-time code runs of the rest of the source tree.
//!
//! A setup script (or an in-tree build backend) can hand any member of the sdist to the
//! interpreter: `exec(open(os.path.join(here, "tools", "_version.py")).read())`,
//! `runpy.run_path("scripts/gen.py")`, `sys.path.insert(0, "tools"); import build_helpers`,
//! `subprocess.check_call([sys.executable, "ci/prepare.py"])`. What that member does then
//! happens at install time, whatever its path says: judged by its path alone, a payload moved
//! into `tests/`, `tools/` or a file called `VERSION` reads as test material or data, and the
//! install gate never sees it. This module names such members; the engine judges each of them
//! again as install-time code (`engine::Revisit`).
//!
//! A member is reached when an install-time Python member
//! - names it by a string literal inside the arguments of a call that runs files or programs
//!   (`exec`, `eval`, `compile`, `execfile`, `runpy.run_path`, `load_source`,
//!   `SourceFileLoader`, `spec_from_file_location`, `import_module`, `__import__`, `os.system`,
//!   `subprocess.*`, `os.spawn*`, `os.exec*`, `startfile`), or in an assignment to a name such a
//!   call uses (one level: `vf = os.path.join(here, "tools", "v.py")` … `exec(open(vf).read())`);
//! - or imports it (`import x`, `from x.y import z`), when `x` resolves to a module of the tree
//!   at the sdist's top, under `src/`, or under a directory the member names by a literal
//!   (`sys.path.insert(0, "tools")`) — only members whose path makes them test material, docs,
//!   maintainer tooling or data: the package's own modules are already judged as code that runs
//!   on import.
//!
//! A literal names a member by its path (`"tools/_version.py"`, any suffix of the member's path)
//! or by its file name alone (`"VERSION"`, `"_version.py"`); a file name several members carry is
//! narrowed to those whose directory another literal of the same call or assignment names, and
//! dropped when more than [`MAX_AMBIGUOUS`] remain. Only members that can hold code are followed
//! (Python, shell and batch scripts, files without an extension): exec of a document or data file
//! is already high in `execution.dynamic-code`, and a README read for the long description is
//! read, not run. A name the code computes (`"tes" + "ts"`) is not followed.
//!
//! Of a reached Python member, only the code that runs is install-time code ([`live`]): its top
//! level, and the functions and classes that code, or the code outside that runs it
//! ([`Outside`]), refers to by name, transitively; whole when a name may be looked up
//! dynamically or the blocks cannot be read token-wise.
//!
//! Owns: that reading, with the tree indexed once (names are looked up, never matched against
//! every member), and which code of a reached member runs (a name graph, linear in its size).
//! Bounded: [`MAX_SINK_CALLS`] calls and [`MAX_ARGUMENT_BYTES`] of arguments per member, at most
//! [`MAX_REACHED`] members per artifact.
//! Must not: read archives, run detectors or rate anything; it only matches names.

use super::roles;
use super::source::{Kind, NameGraph, Source};
use crate::model::{ArtifactKind, FileRole};
use regex::Regex;
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

/// Members judged again per artifact (each is read once more).
pub(crate) const MAX_REACHED: usize = 32;
/// A file name several members carry, not narrowed by a directory, is followed only when at
/// most this many members carry it.
pub(crate) const MAX_AMBIGUOUS: usize = 8;
/// Calls that run files considered per install-time member.
pub(crate) const MAX_SINK_CALLS: usize = 256;
/// Bytes of one call's arguments read (a longer argument list is cut there).
pub(crate) const MAX_ARGUMENT_BYTES: usize = 4096;
/// Imports considered per install-time member.
const MAX_IMPORTS: usize = 256;
/// Bindings (assignments, `with … as`) read per install-time member.
const MAX_BINDINGS: usize = 4096;
/// How many bindings away from a call a literal is followed.
const BINDING_DEPTH: usize = 3;

/// One member install-time code reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reached {
    /// The member's path as the archive names it.
    pub path: String,
    /// Its role from its path (what it was judged as before).
    pub role: FileRole,
    /// Run by the Python interpreter (exec, import, `run_path`), so judged as Python whatever
    /// its name; false for a program a process runs (judged as what its name says).
    pub python: bool,
    /// The install-time member that reaches it, and how (`exec`, `import`, `subprocess` …).
    pub from: String,
    pub how: String,
}

/// Calls whose arguments name a file or program that runs.
static SINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(exec|eval|compile|execfile|run_path|run_module|load_source|load_module|SourceFileLoader|spec_from_file_location|import_module|__import__|system|popen|Popen|call|check_call|check_output|run|getoutput|getstatusoutput|spawn[lv]p?e?|exec[lv]p?e?|startfile)\s*\(",
    )
    .expect("sink")
});

/// Sinks that hand a file to the Python interpreter (the rest start a process).
fn runs_python(sink: &str) -> bool {
    matches!(
        sink,
        "exec"
            | "eval"
            | "compile"
            | "execfile"
            | "run_path"
            | "run_module"
            | "load_source"
            | "load_module"
            | "SourceFileLoader"
            | "spec_from_file_location"
            | "import_module"
            | "__import__"
    )
}

/// `name = …` at the start of a line (one name; the value runs to the end of the line).
static ASSIGNMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^[ \t]*([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=[^=\n]").expect("assignment"));

/// `import a.b as c, d` / `from a.b import c, d` (relative dots kept, stripped later).
static IMPORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+\(?([\w \t,]+)|import[ \t]+([\w. \t,]+))")
        .expect("import")
});

/// `with open(p) as f:` (one context manager; the value is what precedes `as`).
static WITH_AS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*(?:async[ \t]+)?with[ \t]+([^\n]{1,512}?)[ \t]+as[ \t]+([A-Za-z_]\w*)").expect("with")
});

static WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[A-Za-z_]\w*").expect("word"));

/// Extensions of members followed when a literal names them: files that hold code.
fn may_hold_code(base: &str) -> bool {
    match base.rsplit_once('.') {
        None => true,
        Some((stem, ext)) => {
            stem.is_empty() // a dotfile (`.setup_hook`) has no extension
                || matches!(
                    ext.to_ascii_lowercase().as_str(),
                    "py" | "pyw" | "sh" | "bash" | "zsh" | "ps1" | "bat" | "cmd" | "pl" | "rb"
                )
        }
    }
}

/// A literal's body as a member path: backslashes as slashes, no leading `./` or `/`.
fn normalise(lit: &str) -> Option<String> {
    let lit = lit.trim();
    if lit.is_empty() || lit.len() > 255 || lit.contains("://") || lit.contains('\n') {
        return None;
    }
    let mut s = lit.replace('\\', "/");
    loop {
        let t = s.trim_start_matches("./").trim_start_matches('/');
        if t.len() == s.len() {
            break;
        }
        s = t.to_string();
    }
    let s = s.trim_end_matches('/').to_string();
    (!s.is_empty() && s != "." && s != "..").then_some(s)
}

/// The members install-time code in `install_time` ((path, text) of each install-time Python
/// member) reaches, among `members` ((path, role, size) in archive order); each at most once,
/// in archive order, at most [`MAX_REACHED`].
pub(crate) fn reached(
    kind: ArtifactKind,
    install_time: &[(String, String)],
    members: &[(String, FileRole, u64)],
) -> Vec<Reached> {
    let cands: Vec<Candidate<'_>> = members
        .iter()
        .filter(|(p, role, _)| {
            !p.contains("!/") && matches!(role, FileRole::Runtime | FileRole::TestOrDocs | FileRole::Other)
        })
        .map(|(p, role, _)| {
            let inner = roles::strip_sdist_prefix(p, kind);
            let base = inner.rsplit('/').next().unwrap_or(inner);
            Candidate { path: p, inner, base, role: *role }
        })
        .collect();
    let tree = Tree::new(cands);
    let mut out: Vec<Reached> = Vec::new();
    let mut seen = BTreeSet::new();
    for (from, text) in install_time {
        let src = Source::python(text);
        for (idx, python, how) in by_literal(&src, text, &tree).into_iter().chain(by_import(&src, text, &tree)) {
            if out.len() >= MAX_REACHED {
                break;
            }
            let c = &tree.cands[idx];
            if c.path == from.as_str() || !seen.insert(idx) {
                continue;
            }
            out.push(Reached {
                path: c.path.to_string(),
                role: c.role,
                python: python || roles::is_python(c.path),
                from: from.clone(),
                how,
            });
        }
    }
    let order = |p: &str| members.iter().position(|(m, _, _)| m == p);
    out.sort_by_key(|r| order(&r.path));
    out
}

/// The candidates, indexed once per artifact so that matching a name costs a lookup, not a pass
/// over every member (an sdist may hold 100,000).
struct Tree<'a> {
    cands: Vec<Candidate<'a>>,
    by_inner: HashMap<&'a str, usize>,
    by_base: HashMap<&'a str, Vec<usize>>,
    /// Every directory a candidate sits in, with its ancestors (at most 16 levels per member).
    dirs: HashSet<&'a str>,
}

impl<'a> Tree<'a> {
    fn new(cands: Vec<Candidate<'a>>) -> Self {
        let (mut by_inner, mut by_base, mut dirs) = (HashMap::new(), HashMap::<_, Vec<usize>>::new(), HashSet::new());
        for (i, c) in cands.iter().enumerate() {
            by_inner.entry(c.inner).or_insert(i);
            by_base.entry(c.base).or_default().push(i);
            dirs.extend(c.inner.match_indices('/').take(16).map(|(at, _)| &c.inner[..at]));
        }
        Tree { cands, by_inner, by_base, dirs }
    }

    fn named(&self, base: &str) -> &[usize] {
        self.by_base.get(base).map_or(&[], Vec::as_slice)
    }
}

struct Candidate<'a> {
    path: &'a str,
    /// Without the sdist's top directory.
    inner: &'a str,
    base: &'a str,
    role: FileRole,
}

/// The string literals between byte `start` and `end` of `text` (bodies, normalised).
fn literals_in(src: &Source<'_>, text: &str, start: usize, end: usize) -> Vec<String> {
    let spans = src.spans();
    let first = spans.partition_point(|s| s.end <= start);
    spans[first..]
        .iter()
        .take_while(|s| s.start < end)
        .filter(|s| s.kind == Kind::Str && s.body_end <= text.len())
        .take(1024)
        .flat_map(|s| {
            // An f-string's fields are cut out (`f"{here}/tools/v.py"` names `tools/v.py`); a
            // command string (`"sh scripts/fetch.sh"`) names its files word by word.
            let body = &text[s.body_start..s.body_end];
            let body = if s.fstring { Cow::Owned(without_fields(body)) } else { Cow::Borrowed(body) };
            body.split_whitespace()
                .take(16)
                .filter_map(|w| normalise(w.trim_matches(['"', '\'', ';', '&', '|', '`'])))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// An f-string body without its `{…}` fields (each becomes a `/`, as a path joins them).
fn without_fields(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut depth = 0usize;
    for ch in body.chars() {
        match ch {
            '{' => {
                depth += 1;
                if depth == 1 {
                    out.push('/');
                }
            }
            '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(ch),
            _ => {}
        }
    }
    out
}

/// The end of the argument list whose `(` is at `open` (strings and comments skipped), at most
/// [`MAX_ARGUMENT_BYTES`] on.
fn arguments_end(src: &Source<'_>, text: &str, open: usize) -> usize {
    let bytes = text.as_bytes();
    let limit = (open + MAX_ARGUMENT_BYTES).min(bytes.len());
    let spans = src.spans();
    let mut k = spans.partition_point(|s| s.end <= open);
    let (mut depth, mut i) = (0usize, open);
    while i < limit {
        if let Some(s) = spans.get(k) {
            if s.start <= i {
                i = i.max(s.end);
                k += 1;
                continue;
            }
        }
        match bytes[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    limit
}

/// Where each name is bound: `name = …` and `with … as name` lines, (value start, line end).
fn bindings<'t>(src: &Source<'_>, text: &'t str) -> HashMap<&'t str, Vec<(usize, usize)>> {
    let mut out: HashMap<&str, Vec<(usize, usize)>> = HashMap::new();
    let eol = |at: usize| text[at..].find('\n').map_or(text.len(), |e| at + e);
    for a in ASSIGNMENT.captures_iter(text).take(MAX_BINDINGS) {
        let n = a.get(1).expect("name");
        if src.is_code(n.start()) {
            out.entry(n.as_str()).or_default().push((n.end(), eol(n.end())));
        }
    }
    for w in WITH_AS.captures_iter(text).take(MAX_BINDINGS) {
        let (value, n) = (w.get(1).expect("value"), w.get(2).expect("name"));
        if src.is_code(value.start()) {
            out.entry(n.as_str()).or_default().push((value.start(), value.end()));
        }
    }
    out
}

/// Members named by literals in a file-running call's arguments, or in the lines that bind the
/// names those arguments use (followed [`BINDING_DEPTH`] levels: `with open(vf) as f:` …
/// `exec(f.read())` reaches the literals of `vf = …`).
fn by_literal(src: &Source<'_>, text: &str, tree: &Tree<'_>) -> Vec<(usize, bool, String)> {
    let mut out = Vec::new();
    let mut calls = 0;
    let mut bound: Option<HashMap<&str, Vec<(usize, usize)>>> = None;
    for c in SINK.captures_iter(text) {
        let (name, whole) = (c.get(1).expect("name"), c.get(0).expect("call"));
        if !src.is_code(name.start()) {
            continue;
        }
        calls += 1;
        if calls > MAX_SINK_CALLS {
            break;
        }
        let open = whole.end() - 1;
        let end = arguments_end(src, text, open);
        let python = runs_python(name.as_str());
        let how = name.as_str().to_string();
        let mut groups = vec![literals_in(src, text, open, end)];
        let bound = bound.get_or_insert_with(|| bindings(src, text));
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut frontier: Vec<&str> = WORD.find_iter(&text[open..end]).map(|m| m.as_str()).take(32).collect();
        for _ in 0..BINDING_DEPTH {
            let mut next = Vec::new();
            for n in frontier.into_iter().filter(|n| seen.insert(n)) {
                for &(start, stop) in bound.get(n).into_iter().flatten().take(8) {
                    groups.push(literals_in(src, text, start, stop));
                    next.extend(WORD.find_iter(&text[start..stop]).map(|m| m.as_str()).take(32));
                }
            }
            frontier = next;
        }
        for lits in &groups {
            for idx in match_group(lits, tree, name.as_str()) {
                out.push((idx, python, how.clone()));
            }
        }
    }
    out
}

/// Members one group of literals (a call's or an assignment's) names.
fn match_group(lits: &[String], tree: &Tree<'_>, sink: &str) -> Vec<usize> {
    let cands = &tree.cands;
    let mut out = Vec::new();
    for lit in lits {
        let modules = matches!(sink, "import_module" | "__import__" | "run_module");
        if modules && lit.split('.').all(|p| !p.is_empty() && WORD.find(p).is_some_and(|m| m.len() == p.len())) {
            out.extend(module_members(lit, &[String::new(), "src".into()], tree, true));
            continue;
        }
        if lit.contains('/') {
            let (base, suffix) = (lit.rsplit('/').next().unwrap_or(lit), format!("/{lit}"));
            out.extend(tree.named(base).iter().copied().filter(|&i| {
                let c = &cands[i];
                may_hold_code(c.base) && (c.inner == lit || c.inner.ends_with(&suffix))
            }));
            continue;
        }
        let named: Vec<usize> = tree.named(lit).iter().copied().filter(|&i| may_hold_code(cands[i].base)).collect();
        if named.len() <= 1 {
            out.extend(named);
            continue;
        }
        let dirs: Vec<&str> = lits.iter().flat_map(|l| l.split('/')).collect();
        let narrowed: Vec<usize> = named
            .iter()
            .copied()
            .filter(|&i| {
                let inner = cands[i].inner;
                let parent = inner.rsplit_once('/').map(|(d, _)| d.rsplit('/').next().unwrap_or(d));
                parent.is_some_and(|p| dirs.contains(&p))
            })
            .collect();
        match (narrowed.is_empty(), named.len() <= MAX_AMBIGUOUS) {
            (false, _) => out.extend(narrowed),
            (true, true) => out.extend(named),
            (true, false) => {}
        }
    }
    out
}

/// Members a module path resolves to under each of `dirs` (`""`: the tree's top): `a/b/c.py`,
/// `a/b/c/__init__.py`, and the packages on the way (`a/__init__.py`, `a/b/__init__.py`), which
/// importing it runs. `any_role`: the package's own modules too (an explicit `import_module`).
fn module_members(module: &str, dirs: &[String], tree: &Tree<'_>, any_role: bool) -> Vec<usize> {
    let parts: Vec<&str> = module.trim_start_matches('.').split('.').filter(|p| !p.is_empty()).take(8).collect();
    let mut out = Vec::new();
    for dir in dirs {
        for n in 1..=parts.len() {
            let rel = parts[..n].join("/");
            let rel = if dir.is_empty() { rel } else { format!("{dir}/{rel}") };
            let (file, init) = (format!("{rel}.py"), format!("{rel}/__init__.py"));
            out.extend(
                [file, init]
                    .iter()
                    .filter_map(|p| tree.by_inner.get(p.as_str()).copied())
                    .filter(|&i| any_role || matches!(tree.cands[i].role, FileRole::TestOrDocs | FileRole::Other)),
            );
        }
    }
    out
}

/// Members imported by name: modules of the tree at its top, under `src/`, or under a
/// directory a literal of the member names (a `sys.path` entry).
fn by_import(src: &Source<'_>, text: &str, tree: &Tree<'_>) -> Vec<(usize, bool, String)> {
    let mut dirs: Vec<String> = vec![String::new(), "src".into()];
    for lit in literals_in(src, text, 0, text.len()).into_iter().take(4096) {
        if !dirs.contains(&lit) && tree.dirs.contains(lit.as_str()) {
            dirs.push(lit);
        }
        if dirs.len() >= 16 {
            break;
        }
    }
    let mut out = Vec::new();
    for m in IMPORT.captures_iter(text).take(MAX_IMPORTS) {
        let at = m.get(1).or(m.get(3)).expect("import").start();
        let kw = m.get(0).expect("import");
        let kw_at = kw.start() + (kw.as_str().len() - kw.as_str().trim_start().len());
        if !src.is_code(kw_at) || !src.is_code(at) {
            continue;
        }
        let mut modules: Vec<String> = Vec::new();
        match (m.get(1), m.get(2), m.get(3)) {
            (Some(from), Some(names), _) => {
                let base = from.as_str().trim_start_matches('.');
                for n in names.as_str().split(',').filter_map(|n| n.split_whitespace().next()).take(16) {
                    modules.push(if base.is_empty() { n.to_string() } else { format!("{base}.{n}") });
                }
                if !base.is_empty() {
                    modules.push(base.to_string());
                }
            }
            (_, _, Some(list)) => modules.extend(
                list.as_str().split(',').filter_map(|n| n.split_whitespace().next()).take(16).map(String::from),
            ),
            _ => {}
        }
        for module in modules {
            for idx in module_members(&module, &dirs, tree, false) {
                out.push((idx, true, "import".to_string()));
            }
        }
    }
    out
}

/// What the code outside a reached member (the install-time members that run it, and the other
/// members they run) can call in it: the words of its text, and whether it looks names up in a
/// way no word shows (`globals()`, `getattr(m, name)`, an `eval` of a built string).
#[derive(Debug, Default, Clone)]
pub(crate) struct Outside {
    pub words: HashSet<String>,
    pub dynamic: bool,
}

impl Outside {
    /// What install-time Python members (setup.py, in-tree backends) can call: every word of their
    /// text (`prepare`, `helpers.prepare`, `ns["prepare"]`, `cmdclass={"build_py": BuildPy}`).
    /// An `exec`/`eval` of anything but a file's text (`exec(open(p).read())` runs a member this
    /// module follows; `exec("pre" + "pare()")` calls a name no word shows) is dynamic.
    pub(crate) fn of_runners(texts: &[(String, String)]) -> Self {
        let mut out = Outside::default();
        for (_, text) in texts {
            out.words.extend(WORD.find_iter(text).map(|m| m.as_str().to_string()));
            out.dynamic |= looks_up_dynamically(&Source::python(text), text, true);
        }
        out
    }
}

/// The words of another member install-time code runs (it may call what this one defines:
/// setup.py execs `tools/h.py`, then `VERSION`, which calls `prepare()`), and whether its code
/// looks names up dynamically (any `exec`, `eval`, `globals()` …; a shell script: never).
pub(crate) fn words_of(text: &str, python: bool) -> (HashSet<&str>, bool) {
    let words = WORD.find_iter(text).map(|m| m.as_str()).collect();
    (words, python && looks_up_dynamically(&Source::python(text), text, false))
}

/// Of a reached member, what runs when install-time code runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Live {
    /// All of it: not Python, a block structure that cannot be trusted, or a name looked up
    /// dynamically (by the member's code that runs, or by the code that runs it).
    Whole(&'static str),
    /// All but these byte ranges (sorted, disjoint): the bodies of functions that nothing that
    /// runs refers to.
    Except(Vec<(usize, usize)>),
}

impl Live {
    /// Whether the code at byte `offset` runs.
    pub(crate) fn runs_at(&self, offset: usize) -> bool {
        match self {
            Live::Whole(_) => true,
            Live::Except(dead) => {
                let i = dead.partition_point(|&(_, end)| end <= offset);
                dead.get(i).is_none_or(|&(start, _)| offset < start)
            }
        }
    }
}

/// Identifiers whose use looks a name up by a string the code may build: no word tells which
/// function runs, so every function may (`getattr` only when its name is not a literal).
const DYNAMIC: &[&str] = &[
    "globals",
    "locals",
    "vars",
    "__dict__",
    "__getattribute__",
    "getmembers",
    "attrgetter",
    "methodcaller",
    "eval",
    "exec",
    "execfile",
    "getattr",
    // A frame's or a function's globals: `sys._getframe().f_globals[name]`,
    // `(lambda: 0).__globals__[name]`.
    "f_globals",
    "f_locals",
    "__globals__",
    "func_globals",
];

/// Whether the code of `text` looks names up dynamically anywhere: a [`DYNAMIC`] identifier, or a
/// call of a subscript whose index is not one literal (`ns["fe" + "tch"]()`, `table[key]()`).
/// `runner`: the text runs other members, so an `exec`/`eval` whose arguments read a file
/// (`exec(open(p).read())`, `exec(f.read(), ns)`) runs that file, not a built name (and
/// `execfile` runs a file).
fn looks_up_dynamically(src: &Source<'_>, text: &str, runner: bool) -> bool {
    let b = text.as_bytes();
    if calls_a_computed_subscript(src, b) {
        return true;
    }
    let mut k = 0;
    let spans = src.spans();
    // The namespaces `exec(<a file's text>, ns)` fills, and where each is passed to it.
    let mut namespaces: HashSet<&str> = HashSet::new();
    let mut passed: HashSet<usize> = HashSet::new();
    for m in WORD.find_iter(text) {
        let w = m.as_str();
        if !DYNAMIC.contains(&w) {
            continue;
        }
        while k < spans.len() && spans[k].end <= m.start() {
            k += 1;
        }
        if spans.get(k).is_some_and(|s| s.start <= m.start()) {
            continue; // in a comment or a string
        }
        if let Some(run) = runs_a_file(src, text, b, m.start(), m.end(), w, runner) {
            match run {
                Namespace::None => {}
                Namespace::Named(name, at) => {
                    namespaces.insert(name);
                    passed.insert(at);
                }
                Namespace::Expression => return true,
            }
            continue;
        }
        if dynamic_use(src, text, b, m.start(), m.end(), w, runner) {
            return true;
        }
    }
    !namespaces.is_empty() && namespace_read_dynamically(src, text, &namespaces, &passed)
}

/// The namespace an `exec` of a file's text fills.
enum Namespace<'t> {
    /// None, or a fresh one (`{}`, `dict()`): what the file defines is not read back.
    None,
    /// A name, and where it is passed to the `exec`.
    Named(&'t str, usize),
    /// Something else (`vars(x)`, `mod.__dict__`, an expression): any name may be read back.
    Expression,
}

/// For a runner's `exec`/`eval` whose arguments read a file (`exec(open(p).read(), ns)`), the
/// namespace it fills; `None` for every other use of the word.
fn runs_a_file<'t>(
    src: &Source<'_>,
    text: &'t str,
    b: &[u8],
    start: usize,
    end: usize,
    w: &str,
    runner: bool,
) -> Option<Namespace<'t>> {
    let open = end + b[end..].iter().take_while(|c| matches!(c, b' ' | b'\t')).count();
    let after_dot = b[..start].trim_ascii_end().last() == Some(&b'.');
    if !(runner && matches!(w, "exec" | "eval") && b.get(open) == Some(&b'(') && !after_dot) {
        return None;
    }
    let close = arguments_end(src, text, open);
    if !WORD.find_iter(&text[open..close]).any(|m| matches!(m.as_str(), "read" | "read_text" | "read_bytes")) {
        return None; // an exec of something built: `dynamic_use` says so
    }
    let commas = argument_commas(src, text, open, close);
    let Some(&comma) = commas.first() else { return Some(Namespace::None) };
    let end = commas.get(1).copied().unwrap_or(close);
    let raw = &text[comma + 1..end];
    let arg = raw.trim();
    if arg.is_empty() || arg.starts_with('{') || arg == "dict()" {
        return Some(Namespace::None);
    }
    if WORD.find(arg).is_none_or(|m| m.len() != arg.len()) {
        return Some(Namespace::Expression);
    }
    let at = comma + 1 + (raw.len() - raw.trim_start().len());
    Some(Namespace::Named(arg, at))
}

/// Whether the identifier `w` at `start..end` looks a name up dynamically (see [`DYNAMIC`]).
fn dynamic_use(src: &Source<'_>, text: &str, b: &[u8], start: usize, end: usize, w: &str, runner: bool) -> bool {
    let open = end + b[end..].iter().take_while(|c| matches!(c, b' ' | b'\t')).count();
    let called = b.get(open) == Some(&b'(');
    let after_dot = b[..start].trim_ascii_end().last() == Some(&b'.');
    match w {
        "getattr" if called && !after_dot => !second_argument_is_a_literal(src, text, open),
        "execfile" if runner => false,
        "exec" | "eval" if runner && called && !after_dot => true, // not a file's text: see `runs_a_file`
        // `re.compile`-like attributes of other objects are not the builtins (`obj.eval()`),
        // but `builtins.eval` and `mod.__dict__` are.
        "eval" | "exec" | "globals" | "locals" | "vars" if after_dot => {
            b[..start].trim_ascii_end().ends_with(b"builtins.")
        }
        _ => true,
    }
}

/// `x[<not one literal>](`: one pass over the code bytes with a stack of open brackets.
fn calls_a_computed_subscript(src: &Source<'_>, b: &[u8]) -> bool {
    let spans = src.spans();
    let (mut i, mut k) = (0usize, 0usize);
    // Open brackets: (position, a subscript: `[` right after a name, `)` or `]`).
    let mut open: Vec<(usize, bool)> = Vec::new();
    let mut last = b' '; // the last code byte that is not blank
    while i < b.len() {
        if let Some(s) = spans.get(k).filter(|s| s.start <= i) {
            if s.kind != Kind::Comment {
                last = b'"';
            }
            i = i.max(s.end);
            k += 1;
            continue;
        }
        let c = b[i];
        match c {
            b'(' | b'{' => open.push((i, false)),
            b'[' => open.push((i, super::source::is_ident_byte(last) || matches!(last, b')' | b']'))),
            b')' | b'}' => {
                open.pop();
            }
            b']' => {
                if let Some((at, true)) = open.pop() {
                    let after = i + 1 + b[i + 1..].iter().take_while(|c| matches!(c, b' ' | b'\t')).count();
                    if b.get(after) == Some(&b'(') && !literal_then(src, b, at + 1, b"]") {
                        return true;
                    }
                }
            }
            _ => {}
        }
        if !c.is_ascii_whitespace() {
            last = c;
        }
        i += 1;
    }
    false
}

/// The top-level commas of the argument list `open..close` (at most 8).
fn argument_commas(src: &Source<'_>, text: &str, open: usize, close: usize) -> Vec<usize> {
    let b = text.as_bytes();
    let spans = src.spans();
    let (mut depth, mut i, mut out) = (0usize, open, Vec::new());
    let mut k = spans.partition_point(|s| s.end <= open);
    while i < close && out.len() < 8 {
        if let Some(s) = spans.get(k).filter(|s| s.start <= i) {
            i = i.max(s.end);
            k += 1;
            continue;
        }
        match b[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => out.push(i),
            _ => {}
        }
        i += 1;
    }
    out
}

/// A string literal starting at `at` (after blanks), followed by blanks and one of `then`.
fn literal_then(src: &Source<'_>, b: &[u8], at: usize, then: &[u8]) -> bool {
    let at = at + b[at.min(b.len())..].iter().take_while(|c| c.is_ascii_whitespace()).count();
    let Some(lit) = src.span_at(at).filter(|s| s.start == at && s.kind == Kind::Str && !s.fstring) else {
        return false;
    };
    let rest = lit.end + b[lit.end..].iter().take_while(|c| c.is_ascii_whitespace()).count();
    b.get(rest).is_some_and(|c| then.contains(c))
}

/// `exec(code, ns)`: the namespace holds what the file defines, so reading `ns` by a computed key
/// or whole may call a name no word shows (`ns[key]`, `ns.get(key)`, `for f in ns.values(): f()`,
/// `setup(**ns)`, `for k in ns`), and so may any code `ns` is handed to (`d = ns`, `f(ns)`,
/// `return ns`: what the receiver does with it is not followed). Only binding it (`ns = {}`),
/// passing it to an `exec` of a file (`passed`), `ns["name"]` and `ns.get("name")` do not.
/// One pass over the words of `text` for all the namespaces.
fn namespace_read_dynamically(
    src: &Source<'_>,
    text: &str,
    namespaces: &HashSet<&str>,
    passed: &HashSet<usize>,
) -> bool {
    let b = text.as_bytes();
    for m in WORD.find_iter(text).filter(|m| namespaces.contains(m.as_str()) && src.is_code(m.start())) {
        let (start, end) = (m.start(), m.end());
        if passed.contains(&start) {
            continue;
        }
        if start > 0 && (super::source::is_ident_byte(b[start - 1]) || b[start - 1] == b'.') {
            continue; // part of another word, or an attribute of something else
        }
        let after = end + b[end..].iter().take_while(|c| matches!(c, b' ' | b'\t')).count();
        let ok = match b.get(after) {
            Some(b'[') => literal_then(src, b, after + 1, b"]"),
            Some(b'.') => text[after + 1..].starts_with("get(") && literal_then(src, b, after + 5, b",)"),
            Some(b'=') => b.get(after + 1) != Some(&b'='),
            Some(b':') => b.get(after + 1) != Some(&b'='), // `ns: dict = {}`, not `(ns := …)`
            _ => false,
        };
        if !ok {
            return true;
        }
    }
    false
}

/// `getattr(obj, "name")`: the second argument is one plain string literal.
fn second_argument_is_a_literal(src: &Source<'_>, text: &str, open: usize) -> bool {
    let close = arguments_end(src, text, open);
    let commas = argument_commas(src, text, open, close);
    commas.first().is_some_and(|&c| literal_then(src, text.as_bytes(), c + 1, b",)"))
}

/// Of the reached Python member `src`, what runs when install-time code runs it (by `exec`,
/// `runpy`, a process or an import): its module top level (with `if __name__ == "__main__":`
/// blocks, class bodies, decorators and default arguments), and each function or class whose
/// name is referred to — any occurrence of the word, or a string literal that is the word
/// (`ns["prepare"]()`), not only a call: `atexit.register(f)`, `cmdclass={"build_py": C}`,
/// `map(f, …)` — by code that runs, or by `outside` (the runner calls `helpers.prepare()`),
/// transitively; every method of a class referred to, every function nested in one that runs,
/// every decorated function or class (the decorator is handed it), and module-level dunder
/// functions (`__getattr__` runs on an attribute lookup). Whole when a name is looked up
/// dynamically by code that runs or by `outside`, or when the block structure cannot be
/// trusted ([`Scopes::well_formed`], an unterminated string).
///
/// One pass over the identifiers, a name graph with an edge per occurrence
/// ([`super::source::NameGraph`]): linear in the member's size.
pub(crate) fn live(src: &Source<'_>, outside_dynamic: bool, may_call: impl Fn(&str) -> bool) -> Live {
    if !src.python {
        return Live::Whole("not Python");
    }
    if outside_dynamic {
        return Live::Whole("the code that runs it looks names up dynamically");
    }
    let text = src.text;
    let b = text.as_bytes();
    let spans = src.spans();
    if spans.iter().any(|s| s.kind != Kind::Comment && s.end == s.body_end) {
        return Live::Whole("an unterminated string");
    }
    let scopes = src.scopes();
    if !scopes.well_formed {
        return Live::Whole("its blocks cannot be read token-wise");
    }
    let scopes = &scopes.scopes;
    // Units: 0 is the module's top level; scope `k` has `2k + 1` (its body: a function's when it
    // is called, a class's where it is defined) and `2k + 2` (a class referred to: its methods).
    let body = |k: usize| 2 * k + 1;
    let context = |parent: Option<usize>| parent.map_or(0, body);
    let mut graph = NameGraph::new(2 * scopes.len() + 1);
    let mut seeds: Vec<&[u8]> = Vec::new();
    for (k, s) in scopes.iter().enumerate() {
        let name_bytes = &b[s.name.0..s.name.1];
        let name = graph.name(name_bytes);
        let (own, parent) = (if s.def { body(k) } else { 2 * k + 2 }, context(s.parent));
        graph.define(name, own);
        if s.decorated {
            graph.then(parent, own);
        }
        let name_str = &text[s.name.0..s.name.1];
        if may_call(name_str) {
            seeds.push(name_bytes);
        }
        match s.parent.map(|p| (p, scopes[p].def)) {
            Some((p, true)) => graph.then(body(p), own), // nested in a function
            Some((p, false)) if s.def => graph.then(2 * p + 2, own), // a method
            None if s.def && name_str.starts_with("__") && name_str.ends_with("__") => graph.then(0, own),
            _ => {}
        }
        if !s.def {
            graph.then(parent, body(k)); // a class body runs where the class is defined
            graph.then(2 * k + 2, body(k));
        }
    }
    // Each identifier (and each string literal that is one) refers to its name from the
    // innermost scope whose body holds it; a dynamic lookup is remembered by unit.
    let mut dynamic_units: Vec<usize> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let (mut next, mut name_at, mut k) = (0usize, 0usize, 0usize);
    let unit_at = |at: usize, open: &mut Vec<usize>, next: &mut usize| {
        while *next < scopes.len() && scopes[*next].body.0 <= at {
            while open.last().is_some_and(|&o| scopes[o].body.1 <= scopes[*next].body.0) {
                open.pop();
            }
            open.push(*next);
            *next += 1;
        }
        while open.last().is_some_and(|&o| scopes[o].body.1 <= at) {
            open.pop();
        }
        open.last().map_or(0, |&o| body(o))
    };
    for m in WORD.find_iter(text) {
        let (start, end) = (m.start(), m.end());
        if start > 0 && super::source::is_ident_byte(b[start - 1]) {
            continue; // the tail of a word the regex split (non-ASCII)
        }
        while k < spans.len() && spans[k].end <= start {
            k += 1;
        }
        if let Some(s) = spans.get(k).filter(|s| s.start <= start) {
            // A literal that is one identifier refers to it (`ns["prepare"]`, `getattr(m, "f")`).
            if s.kind == Kind::Str && !s.fstring && s.body_start == start && s.body_end == end {
                if let Some(name) = graph.known(m.as_str().as_bytes()) {
                    let unit = unit_at(start, &mut open, &mut next);
                    graph.refer(unit, name);
                }
            }
            continue;
        }
        while name_at < scopes.len() && scopes[name_at].name.0 < start {
            name_at += 1;
        }
        if scopes.get(name_at).is_some_and(|s| s.name.0 == start) {
            continue; // the name a `def` or `class` defines
        }
        let unit = unit_at(start, &mut open, &mut next);
        if DYNAMIC.contains(&m.as_str()) && dynamic_use(src, text, b, start, end, m.as_str(), false) {
            dynamic_units.push(unit);
        }
        if let Some(name) = graph.known(m.as_str().as_bytes()) {
            graph.refer(unit, name);
        }
    }
    let runs = graph.reach(&[0], seeds.into_iter());
    if dynamic_units.iter().any(|&u| runs[u]) {
        return Live::Whole("code that runs looks names up dynamically");
    }
    let mut dead: Vec<(usize, usize)> = Vec::new();
    for (k, s) in scopes.iter().enumerate() {
        if s.def && !runs[body(k)] {
            match dead.last_mut() {
                Some(last) if s.body.0 < last.1 => last.1 = last.1.max(s.body.1),
                _ => dead.push(s.body),
            }
        }
    }
    Live::Except(dead)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ArtifactKind::Sdist;
    use FileRole::{InstallTime, Metadata, Other, Runtime, TestOrDocs};

    fn tree() -> Vec<(String, FileRole, u64)> {
        [
            ("p-1.0/setup.py", InstallTime),
            ("p-1.0/PKG-INFO", Metadata),
            ("p-1.0/README.md", Other),
            ("p-1.0/VERSION", Other),
            ("p-1.0/p/__init__.py", Runtime),
            ("p-1.0/p/_version.py", Runtime),
            ("p-1.0/p/core.py", Runtime),
            ("p-1.0/tools/_version.py", TestOrDocs),
            ("p-1.0/tools/build_helpers.py", TestOrDocs),
            ("p-1.0/tests/__init__.py", TestOrDocs),
            ("p-1.0/tests/version_data.py", TestOrDocs),
            ("p-1.0/scripts/gen.py", TestOrDocs),
            ("p-1.0/scripts/fetch.sh", TestOrDocs),
            ("p-1.0/docs/conf.py", TestOrDocs),
            ("p-1.0/docs/notes.md", TestOrDocs),
            ("p-1.0/ci/prepare.py", TestOrDocs),
            ("p-1.0/vendored.whl!/x/__init__.py", Runtime),
        ]
        .into_iter()
        .map(|(p, r)| (p.to_string(), r, 10))
        .collect()
    }

    fn reach(setup: &str) -> Vec<String> {
        let it = vec![("p-1.0/setup.py".to_string(), setup.to_string())];
        reached(Sdist, &it, &tree()).into_iter().map(|r| r.path.trim_start_matches("p-1.0/").to_string()).collect()
    }

    #[test]
    fn members_install_time_code_runs_are_reached_and_members_it_only_names_are_not() {
        #[rustfmt::skip]
        let cases: &[(&str, &str, &[&str])] = &[
            ("exec of a joined path",
             "here = os.path.dirname(__file__)\nexec(open(os.path.join(here, 'tools', '_version.py')).read())\n",
             &["tools/_version.py"]),
            ("exec of a path in a name, one assignment away",
             "vf = os.path.join(here, 'tests', 'version_data.py')\nwith open(vf) as f:\n    exec(f.read(), ns)\n",
             &["tests/version_data.py"]),
            ("exec of an extension-less file", "exec(open('VERSION').read())\n", &["VERSION"]),
            ("exec of the package's version file", "exec(open('p/_version.py').read())\n", &["p/_version.py"]),
            ("a bare file name two members carry, narrowed by the directory literal",
             "exec(open(os.path.join('p', '_version.py')).read())\n", &["p/_version.py"]),
            ("a bare file name two members carry, not narrowed: both",
             "exec(open(os.path.join(here, NAME, '_version.py')).read())\n",
             &["p/_version.py", "tools/_version.py"]),
            ("an f-string path", "exec(open(f'{here}/tools/_version.py').read())\n", &["tools/_version.py"]),
            ("pathlib joins", "exec((Path(__file__).parent / 'tools' / '_version.py').read_text())\n", &["tools/_version.py"]),
            ("runpy.run_path", "import runpy\nrunpy.run_path('scripts/gen.py')\n", &["scripts/gen.py"]),
            ("a process running a tree script with the interpreter",
             "subprocess.check_call([sys.executable, 'ci/prepare.py'])\n", &["ci/prepare.py"]),
            ("a shell script run by a process", "os.system('sh scripts/fetch.sh')\n", &["scripts/fetch.sh"]),
            ("import after a sys.path entry",
             "sys.path.insert(0, os.path.join(here, 'tools'))\nimport build_helpers\n", &["tools/build_helpers.py"]),
            ("from-import of a test module", "from tests.version_data import VERSION\n",
             &["tests/__init__.py", "tests/version_data.py"]),
            ("import_module of a built-in string", "importlib.import_module('tools.build_helpers')\n",
             &["tools/build_helpers.py"]),
            ("a README read for the long description", "long_description = open('README.md').read()\nexec(open('p/_version.py').read())\n",
             &["p/_version.py"]),
            ("exec of a document is not followed (dynamic-code rates it high)", "exec(open('docs/notes.md').read())\n", &[]),
            ("the package's own modules imported: judged on import already", "from p import __version__\nimport p.core\n", &[]),
            ("a literal outside any running call", "scripts = ['scripts/gen.py']\nsetup(scripts=scripts)\n", &[]),
            ("a name in a comment or a string is no call", "# exec(open('VERSION').read())\nx = \"runpy.run_path('scripts/gen.py')\"\n", &[]),
            ("a computed name is not followed", "exec(open('tes' + 'ts/version_data.py'[2:]).read())\n", &[]),
            ("an import in a docstring", "\"\"\"\nimport build_helpers\n\"\"\"\n", &[]),
            ("members inside a nested archive are not the tree", "exec(open('x/__init__.py').read())\n", &[]),
            ("def run(self) names nothing", "class C:\n    def run(self):\n        pass\n", &[]),
        ];
        for (case, setup, want) in cases {
            let mut got = reach(setup);
            got.sort();
            let mut want: Vec<String> = want.iter().map(ToString::to_string).collect();
            want.sort();
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn what_reaches_a_member_and_how_is_kept() {
        let it = vec![(
            "p-1.0/setup.py".to_string(),
            "exec(open('VERSION').read())\nimport runpy\nrunpy.run_path('ci/prepare.py')\n".to_string(),
        )];
        let got = reached(Sdist, &it, &tree());
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].path.as_str(), got[0].how.as_str(), got[0].python, got[0].role),
            ("p-1.0/VERSION", "exec", true, Other)
        );
        assert_eq!(
            (got[1].path.as_str(), got[1].how.as_str(), got[1].from.as_str()),
            ("p-1.0/ci/prepare.py", "run_path", "p-1.0/setup.py")
        );
    }

    #[test]
    fn hostile_setup_scripts_cost_linear_time_and_reach_at_most_the_cap() {
        // As many members as an sdist may hold (`max_members`): names are looked up, not scanned for.
        let many: Vec<(String, FileRole, u64)> =
            (0..100_000).map(|i| (format!("p-1.0/tests/d{}/m{i}.py", i % 50), TestOrDocs, 1)).collect();
        let calls: String =
            (0..20_000).map(|i| format!("exec(open('tests/d{}/m{}.py').read())\n", i % 50, i % 2000)).collect();
        let imports: String = (0..20_000).map(|i| format!("import m{}\n", i % 2000)).collect();
        let parens = format!("exec({}", "(".repeat(200_000));
        for (case, text) in [("20,000 exec calls", calls), ("20,000 imports", imports), ("an unclosed call", parens)] {
            let t = std::time::Instant::now();
            let got = reached(Sdist, &[("p-1.0/setup.py".into(), text)], &many);
            assert!(got.len() <= MAX_REACHED, "{case}");
            assert!(t.elapsed() < std::time::Duration::from_secs(5), "{case}: {:?}", t.elapsed());
        }
    }
    /// Whether each `RUNS` and `DEAD` (code, not strings) of `member` runs when install-time code
    /// whose text is `runner` runs it.
    fn assert_live(case: &str, runner: &str, member: &str) {
        let outside = Outside::of_runners(&[("p-1.0/setup.py".to_string(), runner.to_string())]);
        let src = Source::python(member);
        let live = live(&src, outside.dynamic, |n| outside.words.contains(n));
        let mut marks = 0;
        for (at, word) in member.match_indices("RUNS").chain(member.match_indices("DEAD")) {
            if !src.is_code(at) {
                continue;
            }
            marks += 1;
            assert_eq!(live.runs_at(at), word == "RUNS", "{case}: {word} at byte {at} ({live:?})");
        }
        assert!(marks > 0, "{case}: no mark");
    }

    /// Each case: the runner's text, a member it runs, and in the member `RUNS` where code runs at
    /// install time, `DEAD` where it does not (a function nothing that runs refers to).
    #[test]
    fn of_a_reached_module_only_the_code_that_runs_is_install_time_code() {
        #[rustfmt::skip]
        let cases: &[(&str, &str, &str)] = &[
            ("the top level runs", "", "import os\nRUNS('x')\nclass A:\n    X = RUNS()\n"),
            ("a function nothing refers to does not", "", "def fetch():\n    DEAD('x')\nRUNS()\n"),
            ("called at the top level", "", "def fetch():\n    RUNS()\nfetch()\n"),
            ("the runner imports and calls it", "from tools.h import prepare\nprepare()\n",
             "def prepare():\n    RUNS()\ndef other():\n    DEAD()\n"),
            ("the runner calls it as an attribute", "import h\nh.prepare()\n", "def prepare():\n    RUNS()\n"),
            ("the runner looks it up by a literal in the exec namespace",
             "ns = {}\nexec(open('tools/h.py').read(), ns)\nns['prepare']()\n", "def prepare():\n    RUNS()\ndef other():\n    DEAD()\n"),
            ("two files exec'd into one namespace, read by literals",
             "ns: dict = {}\nexec(open('tools/a.py').read(), ns)\nexec(open('tools/h.py').read(), ns)\nns.get('prepare')()\nv = ns['__version__']\n",
             "def prepare():\n    RUNS()\ndef other():\n    DEAD()\n"),
            ("a class the runner hands to cmdclass: every method", "setup(cmdclass={'build_py': BuildPy})\n",
             "class BuildPy(build_py):\n    def run(self):\n        self.fetch()\n    def fetch(self):\n        RUNS()\nclass Unused:\n    def run(self):\n        DEAD()\n"),
            ("atexit.register(f)", "", "import atexit\ndef bye():\n    RUNS()\natexit.register(bye)\n"),
            ("signal.signal(…, f)", "", "import signal\ndef on_term(n, f):\n    RUNS()\nsignal.signal(signal.SIGTERM, on_term)\n"),
            ("map(f, …)", "", "def f(x):\n    RUNS()\nlist(map(f, [1]))\n"),
            ("a callback in a table that runs", "", "def f():\n    RUNS()\nHANDLERS = {'x': f}\n"),
            ("called from the __main__ block", "", "def main():\n    RUNS()\nif __name__ == '__main__':\n    main()\n"),
            ("called from another function that runs", "", "def a():\n    RUNS()\ndef b():\n    a()\nb()\n"),
            ("called only from a function that does not run", "", "def a():\n    DEAD()\ndef b():\n    a()\n    DEAD()\n"),
            ("a chain of calls from the runner", "go()\n",
             "def a():\n    RUNS()\ndef b():\n    a()\ndef go():\n    b()\ndef c():\n    DEAD()\n"),
            ("a decorated function (the decorator is handed it)", "", "@register\ndef hook():\n    RUNS()\n"),
            ("a decorator runs where it is applied", "", "def deco(fn):\n    RUNS()\n    return fn\n@deco\ndef g():\n    RUNS()\n"),
            ("a decorated class", "", "@dataclass\nclass C:\n    def m(self):\n        RUNS()\n"),
            ("a function nested in one that runs", "", "def outer():\n    def inner():\n        RUNS()\n    return inner\nouter()\n"),
            ("a function nested in one that does not", "", "def outer():\n    def inner():\n        DEAD()\n    inner()\n"),
            ("a class referred to by a subclass header", "", "class Base:\n    def m(self):\n        RUNS()\nclass Sub(Base):\n    pass\n"),
            ("methods of a class nothing refers to", "", "class A:\n    X = RUNS()\n    def m(self):\n        DEAD()\n"),
            ("a class inside a function that runs", "", "def f():\n    class A:\n        def m(self):\n            RUNS()\n    return A\nf()\n"),
            ("a module __getattr__ runs on any attribute lookup", "", "def __getattr__(name):\n    RUNS()\n"),
            ("a default argument and an annotation run, the body does not", "",
             "def f(x=RUNS(), y: RUNS = 1):\n    DEAD()\n"),
            ("a one-line function", "", "def f(): DEAD()\nRUNS()\n"),
            ("a name in a comment or a docstring refers to nothing", "",
             "# prepare()\n\"\"\"prepare()\"\"\"\ndef prepare():\n    DEAD()\nx = 'prepare()'\n"),
            ("an attribute of another object refers to the name too", "", "def run_it():\n    RUNS()\napp.run_it()\n"),
            ("every function of a name referred to", "", "def f():\n    RUNS()\ndef f():\n    RUNS()\nf()\n"),
            ("a getattr with a literal name refers to it", "", "def f():\n    RUNS()\ndef g():\n    DEAD()\ngetattr(mod, 'f')()\n"),
            // Fail closed: whole.
            ("globals() in code that runs", "", "def f():\n    RUNS()\nglobals()['f']()\n"),
            ("vars() in code that runs", "", "def f():\n    RUNS()\nvars(mod)['f']()\n"),
            ("a getattr with a computed name", "", "import sys\ndef f():\n    RUNS()\ngetattr(sys.modules[__name__], 'f' + '')()\n"),
            ("a module's __dict__", "", "import sys\ndef f():\n    RUNS()\nsys.modules[__name__].__dict__['f']()\n"),
            ("eval in code that runs", "", "def f():\n    RUNS()\neval('f' + '()')\n"),
            ("exec in a function that runs", "", "def f():\n    RUNS()\ndef g():\n    exec(s)\ng()\n"),
            ("the runner execs a built string", "exec(open('tools/h.py').read())\nexec('pre' + 'pare()')\n", "def prepare():\n    RUNS()\n"),
            ("the runner looks names up with getattr", "import h\nfor n in names:\n    getattr(h, n)()\n", "def prepare():\n    RUNS()\n"),
            ("the runner's import * then globals()", "from tools.h import *\nglobals()[name]()\n", "def prepare():\n    RUNS()\n"),
            ("the runner reads the exec namespace by a computed key", "ns = {}\nexec(open(p).read(), ns)\nv = ns[key]\n", "def prepare():\n    RUNS()\n"),
            ("the runner calls every value of the exec namespace", "ns = {}\nexec(open(p).read(), ns)\nfor f in ns.values():\n    f()\n", "def prepare():\n    RUNS()\n"),
            ("the runner spreads the exec namespace", "ns = {}\nexec(open(p).read(), ns)\nsetup(**ns)\n", "def prepare():\n    RUNS()\n"),
            ("the runner calls a computed subscript", "table = load()\ntable[name]()\n", "def prepare():\n    RUNS()\n"),
            ("the runner hands the exec namespace on to another name",
             "ns = {}\nexec(open(p).read(), ns)\nd = ns\nf = d['pre' + 'pare']\nf()\n", "def prepare():\n    RUNS()\n"),
            ("the runner passes the exec namespace to a function",
             "ns = {}\nexec(open(p).read(), ns)\nf = pick(ns, 'pre' + 'pare')\nf()\n", "def prepare():\n    RUNS()\n"),
            ("the runner returns the exec namespace",
             "def load():\n    ns = {}\n    exec(open(p).read(), ns)\n    return ns\nload()['x']\n", "def prepare():\n    RUNS()\n"),
            ("the runner reads a computed key without calling it",
             "ns = {}\nexec(open(p).read(), ns)\nf = ns['pre' + 'pare']\nf()\n", "def prepare():\n    RUNS()\n"),
            ("a frame's globals", "", "import sys\ndef prepare():\n    RUNS()\nf = sys._getframe().f_globals['pre' + 'pare']\nf()\n"),
            ("a function's globals", "", "def prepare():\n    RUNS()\nf = (lambda: 0).__globals__['pre' + 'pare']\nf()\n"),
            ("an unterminated string", "", "def f():\n    RUNS()\nx = '''\n"),
            ("an unclosed bracket", "", "def f():\n    RUNS()\nx = f(\ndef g():\n    RUNS()\n"),
            ("a header without its colon", "", "def f()\n    RUNS()\n"),
            ("a lone carriage return ends a line for Python", "", "def f():\r    pass\rRUNS()\n"),
            ("a form feed in an indentation", "", "def f():\n    pass\n\x0c    RUNS()\n"),
            // A lookup that does not run does not count.
            ("a dynamic lookup in a function that does not run", "", "def f():\n    DEAD()\ndef g():\n    globals()['f']()\n"),
            ("an attribute named like a builtin is not the builtin", "", "def f():\n    DEAD()\nre.compile('x')\nobj.eval()\n"),
            ("the runner execs a file's text", "with open(vf) as f:\n    exec(f.read(), ns)\n", "def prepare():\n    DEAD()\n"),
            ("the runner reads the exec namespace by literal keys",
             "version = {}\nwith open(p) as fp:\n    exec(fp.read(), version)\nsetup(version=version['__version__'], x=version.get('a'))\n",
             "def prepare():\n    DEAD()\n"),
            // Fail closed: the name is not followed through a rebinding.
            ("the runner rebinds the namespace's name and passes it on",
             "version = {}\nwith open(p) as fp:\n    exec(fp.read(), version)\nversion = version['__version__']\nsetup(version=version)\n",
             "def prepare():\n    RUNS()\n"),
            ("the runner calls a subscript by a literal", "ns = {}\nexec(open(p).read(), ns)\nns['other']()\n", "def prepare():\n    DEAD()\n"),
        ];
        for (case, runner, member) in cases {
            assert_live(case, runner, member);
        }
    }

    #[test]
    fn what_runs_of_a_hostile_module_costs_linear_time() {
        let same_name: String = (0..20_000).map(|_| "def f():\n    f()\n").collect::<String>() + "f()\n";
        let chain: String =
            (0..20_000).map(|i| format!("def f{i}():\n    f{}()\n", i + 1)).collect::<String>() + "f0()\n";
        let refs: String = "def f():\n    pass\n".to_string() + &"f; ".repeat(20_000) + "\n";
        let classes: String =
            (0..20_000).map(|i| format!("class C{i}(C{}):\n    def m(self):\n        pass\n", i + 1)).collect();
        for (case, text) in [
            ("20,000 functions of one name, each calling it", same_name),
            ("20,000 functions, each calling the next", chain),
            ("20,000 references at the top level", refs),
            ("20,000 classes, each the base of the one before", classes),
        ] {
            let t = std::time::Instant::now();
            let src = Source::python(&text);
            let live = live(&src, false, |_| false);
            let what_runs = t.elapsed();
            // The import-time reading of the same module (its call graph) is linear too.
            let _ = src.runs_on_import(2, None);
            eprintln!(
                "{case}: {} bytes, {what_runs:?} for what runs, {:?} with the import-time map",
                text.len(),
                t.elapsed()
            );
            assert!(matches!(live, Live::Except(_)), "{case}");
            assert!(t.elapsed() < std::time::Duration::from_secs(2), "{case}: {:?}", t.elapsed());
        }
        // A runner that fills 20,000 namespaces, each exec'd into 20,000 times and read by
        // literal: every namespace word is looked at once, not once per `exec`.
        let execs: String =
            (0..20_000).map(|i| format!("exec(open('v').read(), ns{})\nns{}['v']\n", i % 7, i % 7)).collect();
        let many: String = (0..20_000).map(|i| format!("exec(open('v').read(), ns{i})\n")).collect();
        for (case, text) in [("20,000 execs into 7 namespaces", execs), ("20,000 namespaces", many)] {
            let t = std::time::Instant::now();
            let dynamic = looks_up_dynamically(&Source::python(&text), &text, true);
            eprintln!("{case}: {} bytes, {:?}", text.len(), t.elapsed());
            assert!(!dynamic, "{case}: read by literals only");
            assert!(t.elapsed() < std::time::Duration::from_secs(2), "{case}: {:?}", t.elapsed());
        }
    }
}
