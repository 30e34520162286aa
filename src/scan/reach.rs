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
//! Owns: that reading, with the tree indexed once (names are looked up, never matched against
//! every member). Bounded: [`MAX_SINK_CALLS`] calls and [`MAX_ARGUMENT_BYTES`] of
//! arguments per member, at most [`MAX_REACHED`] members per artifact.
//! Must not: read archives, run detectors or rate anything; it only matches names.

use super::roles;
use super::source::{Kind, Source};
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
}
