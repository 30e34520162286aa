//! Call patterns several detectors combine: network fetches/sends, process
//! creation and dynamic execution, found in Python *code* only (never in strings,
//! comments or docstrings).
//!
//! Owns: the precompiled regexes and the code-only filter; their matches are searched once per
//! member through [`Source::find_ranges`], shared by every detector that asks. Must not: report.

use super::pysrc::{find_at_starts, Source};
use crate::scan::detector::TextFile;
use crate::scan::source::Ranges;
use regex::Regex;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// What a sink does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SinkKind {
    /// Reads from the network.
    Fetch,
    /// Sends to the network (or opens a raw connection).
    Send,
    Process,
    Exec,
}

static FETCH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?-u:\b)(?:urllib\.request\.urlopen|urllib2\.urlopen|urlopen|urlretrieve|requests\.get|requests\.request|httpx\.get|httpx\.stream|urllib3\.PoolManager|http\.client\.HTTPS?Connection|HTTPS?Connection|pycurl\.Curl|aiohttp\.ClientSession|wget\.download)\s*\(",
    )
    .expect("fetch regex")
});
static SEND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:requests\.(?:post|put|patch)|httpx\.(?:post|put)|urllib\.request\.Request|urllib2\.Request|socket\.create_connection|smtplib\.SMTP(?:_SSL)?|ftplib\.FTP|dns\.resolver\.(?:resolve|query)|\.sendall|\.sendto|\.connect)\s*\(")
        .expect("send regex")
});
static PROCESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:subprocess\.(?:Popen|call|check_call|check_output|run|getoutput|getstatusoutput)|os\.(?:system|popen[234]?|spawn[lvpe]{1,3}|exec[lvpe]{1,3}|startfile|posix_spawnp?)|pty\.spawn|commands\.get(?:status)?output|asyncio\.create_subprocess_(?:exec|shell)|__import__\(\s*['\x22](?:os|subprocess)['\x22]\s*\)\.(?:system|popen|Popen|call|run|check_output))\s*\(")
        .expect("process regex")
});
const EXEC_PATTERN: &str = r"(?:^|[^.\w])(?:exec|eval)\s*\(|(?-u:\b)(?:builtins|__builtins__)\.(?:exec|eval)\s*\(";
static EXEC: LazyLock<Regex> = LazyLock::new(|| Regex::new(EXEC_PATTERN).expect("exec regex"));
/// [`EXEC`] for anchored searches at [`TextFile::exec_call_starts`] ([`exec_ranges`]).
static EXEC_AT: LazyLock<regex_automata::meta::Regex> =
    LazyLock::new(|| regex_automata::meta::Regex::new(EXEC_PATTERN).expect("exec regex"));

/// One sink occurrence in code.
#[derive(Debug, Clone)]
pub(crate) struct Sink<'a> {
    pub offset: usize,
    pub kind: SinkKind,
    /// The call as written, without the opening parenthesis.
    pub name: &'a str,
}

/// The matches of `re` come from [`Source::find_ranges`]: searched once per member, however
/// many detectors ask for the same kind of sink (process calls are asked for by four).
fn collect<'a>(src: &Source<'a>, re: &'static Regex, kind: SinkKind, out: &mut Vec<Sink<'a>>) {
    for &(m_start, m_end) in src.find_ranges(re).iter() {
        let s = &src.text[m_start..m_end];
        // EXEC's leading context char is not part of the name.
        let lead = s.len() - s.trim_start_matches(|c: char| !c.is_alphanumeric() && c != '_').len();
        let start = m_start + lead;
        if src.python && !src.is_code(start) {
            continue;
        }
        let name = src.text[start..m_end].trim_end_matches('(').trim_end();
        out.push(Sink { offset: start, kind, name });
    }
}

/// `EXEC.find_iter(file.text)`'s ranges, cached in the member's [`Source`] under [`EXEC`] and
/// found by anchored searches only where a call of `exec`/`eval` can start
/// ([`TextFile::exec_call_starts`], shared with the detectors that judge those calls; none: no
/// match). Every match starts there: the name's own start is a place
/// [`crate::scan::detector::call_starts`] accepts (after a character that is neither a word
/// character nor a dot, at the member's start, or after `builtins.`), and the match begins at most
/// 13 bytes before it (the character before the name is at most 4 bytes; `__builtins__.` 13).
/// `EXEC` begins with a character class, so the regex crate has no literal to skip ahead with
/// and its whole-member search visits every byte (≈ 15 times the cost of the other sink
/// searches, measured).
fn exec_ranges(file: &TextFile<'_>) -> Ranges {
    file.source().find_ranges_by(&EXEC, |text| {
        file.exec_call_starts().map_or_else(Vec::new, |at| find_at_starts(&EXEC_AT, text, at.iter().copied())).into()
    })
}

/// [`find`] for a member whose [`TextFile`] is at hand: the `exec`/`eval` sinks are searched only
/// where such a call can start ([`exec_ranges`]); the same sinks.
pub(crate) fn find_in<'a>(file: &TextFile<'a>, kinds: &[SinkKind]) -> Vec<Sink<'a>> {
    if kinds.contains(&SinkKind::Exec) {
        exec_ranges(file);
    }
    find(file.source(), kinds)
}

/// Every sink of the given kinds in code, ordered by offset.
pub(crate) fn find<'a>(src: &Source<'a>, kinds: &[SinkKind]) -> Vec<Sink<'a>> {
    let mut out = Vec::new();
    for k in kinds {
        let re: &'static Regex = match k {
            SinkKind::Fetch => &FETCH,
            SinkKind::Send => &SEND,
            SinkKind::Process => &PROCESS,
            SinkKind::Exec => &EXEC,
        };
        collect(src, re, *k, &mut out);
        if *k == SinkKind::Process {
            aliased_process_calls(src, &mut out);
        }
        if *k == SinkKind::Send {
            urlopen_with_body(src, &mut out);
        }
    }
    out.sort_by_key(|s| s.offset);
    out
}

static URLOPEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)(?:urllib\.request\.|urllib2\.|request\.)?urlopen\s*\(").expect("urlopen"));

/// `urlopen(url, body)` / `urlopen(url, data=body)`: a POST, i.e. a send. The arguments are
/// read up to the closing parenthesis (at most 400 bytes); `timeout=`/`context=` alone are not
/// a body.
fn urlopen_with_body<'a>(src: &Source<'a>, out: &mut Vec<Sink<'a>>) {
    // Every match holds `urlopen`: one `memmem` pass (half the regex's own) skips the search
    // in the members without it.
    static WORD: LazyLock<memchr::memmem::Finder<'static>> = LazyLock::new(|| memchr::memmem::Finder::new("urlopen"));
    if WORD.find(src.text.as_bytes()).is_none() {
        return;
    }
    for &(m_start, m_end) in src.find_ranges(&URLOPEN).iter() {
        if src.python && !src.is_code(m_start) {
            continue;
        }
        let rest = &src.text[m_end..];
        let window = &rest[..super::pysrc::floor_char(rest, rest.len().min(400))];
        let (mut depth, mut args, mut cur) = (0i32, Vec::new(), String::new());
        for c in window.chars() {
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' if depth == 0 => break,
                ')' | ']' | '}' => depth -= 1,
                ',' if depth == 0 => {
                    args.push(std::mem::take(&mut cur));
                    continue;
                }
                _ => {}
            }
            cur.push(c);
        }
        args.push(cur);
        let body = args.iter().skip(1).any(|a| {
            let a = a.trim();
            let kw = a.split_once('=').map(|(k, _)| k.trim());
            !a.is_empty() && (kw.is_none() || kw == Some("data"))
        });
        if body {
            let name = src.text[m_start..m_end].trim_end_matches('(').trim_end();
            out.push(Sink { offset: m_start, kind: SinkKind::Send, name });
        }
    }
}

/// Process-creating functions of each module (for alias resolution).
const PROCESS_FUNCS: &[(&str, &[&str])] = &[
    ("subprocess", &["Popen", "call", "check_call", "check_output", "run", "getoutput", "getstatusoutput"]),
    (
        "os",
        &[
            "system",
            "popen",
            "spawnl",
            "spawnlp",
            "spawnv",
            "spawnvp",
            "execl",
            "execlp",
            "execv",
            "execvp",
            "execve",
            "startfile",
            "posix_spawn",
        ],
    ),
    ("pty", &["spawn"]),
    ("commands", &["getoutput", "getstatusoutput"]),
];
const IMPORT_AS_PATTERN: &str =
    r"(?m)^[ \t]*import[ \t]+(subprocess|os|pty|commands)[ \t]+as[ \t]+([A-Za-z_][A-Za-z0-9_]*)";
const FROM_IMPORT_PATTERN: &str = r"(?m)^[ \t]*from[ \t]+(subprocess|os|pty|commands)[ \t]+import[ \t]+\(?([A-Za-z0-9_, \t]+(?:[ \t]+as[ \t]+[A-Za-z0-9_]+)?[A-Za-z0-9_, \t]*)";
static IMPORT_AS: LazyLock<Regex> = LazyLock::new(|| Regex::new(IMPORT_AS_PATTERN).expect("import as"));
static FROM_IMPORT: LazyLock<Regex> = LazyLock::new(|| Regex::new(FROM_IMPORT_PATTERN).expect("from import"));
/// [`IMPORT_AS`] and [`FROM_IMPORT`] for anchored searches ([`super::pysrc::find_at_starts`]).
static IMPORT_AS_AT: LazyLock<regex_automata::meta::Regex> =
    LazyLock::new(|| regex_automata::meta::Regex::new(IMPORT_AS_PATTERN).expect("import as"));
static FROM_IMPORT_AT: LazyLock<regex_automata::meta::Regex> =
    LazyLock::new(|| regex_automata::meta::Regex::new(FROM_IMPORT_PATTERN).expect("from import"));

/// Where an [`IMPORT_AS`] or [`FROM_IMPORT`] match can start, ascending: both start at a line
/// start (`^`) and stay on that line, which holds `import`. The line starts of the lines holding
/// `import` (one `memmem` pass; each line once).
fn import_line_starts(t: &str) -> Vec<usize> {
    let b = t.as_bytes();
    let mut out: Vec<usize> = Vec::new();
    let mut line_end = 0;
    for at in memchr::memmem::find_iter(b, b"import") {
        if at < line_end {
            continue; // this line is already a candidate
        }
        out.push(memchr::memrchr(b'\n', &b[..at]).map_or(0, |p| p + 1));
        line_end = memchr::memchr(b'\n', &b[at..]).map_or(b.len(), |p| at + p);
    }
    out
}

/// `re.captures_iter(t)` (a pattern of [`IMPORT_AS`]'s shape), found by anchored searches at the
/// lines that hold `import`, then each match's captures (an unanchored search from a match's
/// start finds that same match).
fn import_captures<'t>(
    re_at: &regex_automata::meta::Regex,
    re: &'static Regex,
    t: &'t str,
    starts: &[usize],
) -> impl Iterator<Item = regex::Captures<'t>> {
    super::pysrc::find_at_starts(re_at, t, starts.iter().copied())
        .into_iter()
        .filter_map(move |(start, _)| re.captures_at(t, start))
}

/// Calls through `import subprocess as sp` / `from os import system as s`: found by
/// plain substring search (no per-file regex), then checked for a call in code.
fn aliased_process_calls<'a>(src: &Source<'a>, out: &mut Vec<Sink<'a>>) {
    let t = src.text;
    let funcs = |m: &str| PROCESS_FUNCS.iter().find(|(n, _)| *n == m).map_or(&[][..], |(_, f)| *f);
    if !t.contains("import") {
        return;
    }
    // The names a process call goes by here, each once, in the order the imports give them.
    let mut needles: Vec<String> = Vec::new();
    let mut named: HashSet<String> = HashSet::new();
    let mut add = |needle: String| {
        if named.insert(needle.clone()) {
            needles.push(needle);
        }
    };
    let starts = import_line_starts(t);
    for c in import_captures(&IMPORT_AS_AT, &IMPORT_AS, t, &starts) {
        let (module, alias) = (c.get(1).expect("m").as_str(), c.get(2).expect("a").as_str());
        if !src.is_code(c.get(0).expect("0").start()) || alias == module {
            continue;
        }
        for f in funcs(module) {
            add(format!("{alias}.{f}"));
        }
    }
    for c in import_captures(&FROM_IMPORT_AT, &FROM_IMPORT, t, &starts) {
        let module = c.get(1).expect("m").as_str();
        if !src.is_code(c.get(0).expect("0").start()) {
            continue;
        }
        for item in c.get(2).expect("names").as_str().split(',') {
            let mut parts = item.split_whitespace();
            let (Some(name), rest) = (parts.next(), parts.collect::<Vec<_>>()) else {
                continue;
            };
            let local = if rest.len() == 2 && rest[0] == "as" { rest[1] } else { name };
            if funcs(module).contains(&name) {
                add(local.to_string());
            }
        }
    }
    for (i, n) in alias_calls(src, &needles, out) {
        out.push(Sink { offset: i, kind: SinkKind::Process, name: &t[i..i + needles[n].len()] });
    }
}

/// The calls of `needles` (names of process functions) in code, found in one pass: (offset,
/// needle), ascending, at offsets `out` does not hold yet. The same as searching each needle in
/// turn (`match_indices`) and pushing each call at an offset not yet taken, found from the other
/// end: every needle is made of ASCII name characters and dots, and a call is a needle followed
/// by blanks and `(`, so the needle called before a `(` can only be the whole run of name
/// characters and dots that ends there (after the blanks). One walk back from each `(`, bounded
/// by the longest needle, and one lookup: linear in the member however many aliases the imports
/// give, even aliases that are each other's suffixes (`a`, `aa`, `aaa`, …), which an overlapping
/// substring search would match quadratically often.
fn alias_calls(src: &Source<'_>, needles: &[String], out: &[Sink<'_>]) -> Vec<(usize, usize)> {
    let (t, b) = (src.text, src.text.as_bytes());
    if needles.is_empty() {
        return Vec::new();
    }
    // Needles are distinct (the caller names each once); on a repeat the first would win.
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(needles.len());
    for (n, needle) in needles.iter().enumerate() {
        index.entry(needle.as_str()).or_insert(n);
    }
    let longest = needles.iter().map(String::len).max().unwrap_or(0);
    let taken: HashSet<usize> = out.iter().map(|s| s.offset).collect();
    let name_byte = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'.';
    let mut calls = Vec::new();
    for paren in memchr::memchr_iter(b'(', b) {
        let mut end = paren;
        while end > 0 && matches!(b[end - 1], b' ' | b'\t') {
            end -= 1;
        }
        let mut i = end;
        while i > 0 && name_byte(b[i - 1]) && end - i <= longest {
            i -= 1;
        }
        if i == end || end - i > longest {
            continue;
        }
        let Some(&n) = index.get(&t[i..end]) else {
            continue;
        };
        let before_ok = !t[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.');
        if before_ok && !taken.contains(&i) && src.is_code(i) {
            calls.push((i, n));
        }
    }
    calls
}

/// Every network sink (fetch or send).
pub(crate) fn network<'a>(src: &Source<'a>) -> Vec<Sink<'a>> {
    let mut all = find(src, &[SinkKind::Fetch, SinkKind::Send]);
    // `urlopen(url, body)` is both a fetch and a send: one network call.
    all.dedup_by_key(|s| s.offset);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sinks_in_code_only() {
        let text = "import os\n# os.system('x')\ns = 'subprocess.run(1)'\nos.system(cmd)\nmodel.eval()\neval(x)\nr = requests.post(u)\n";
        let src = Source::python(text);
        let got: Vec<_> =
            find(&src, &[SinkKind::Process, SinkKind::Exec, SinkKind::Send]).iter().map(|s| (s.kind, s.name)).collect();
        assert_eq!(
            got,
            vec![(SinkKind::Process, "os.system"), (SinkKind::Exec, "eval"), (SinkKind::Send, "requests.post")]
        );
    }

    /// The `exec`/`eval` sinks found at the places such a call can start are the whole search's:
    /// named cases (a member without a call, calls after non-ASCII characters, `builtins.`,
    /// adjacent and nested calls, methods and longer names, a name at the member's start) and
    /// 4,000 random texts; the sinks `find_in` reports are `find`'s.
    #[test]
    fn exec_search_at_call_starts_is_the_whole_search() {
        let cases = [
            ("empty", String::new()),
            ("no call", "x = 1\nexecute(y)\n".to_string()),
            ("calls", "exec(code)\nx = eval (s)\ny=compile(a, b, 'exec')".to_string()),
            ("at the start", "eval(x)".to_string()),
            ("builtins", "builtins.exec(c); __builtins__.eval(d); builtins .exec(e); x.builtins.eval(f)".to_string()),
            ("methods and names", "re.compile(p); my_eval(x); evaluate(y); exec_(z); obj.exec(c)".to_string()),
            ("non-ASCII before", "é exec(a) éexec(b) ·eval(c) …eval(d) 😀exec(e)".to_string()),
            ("adjacent and nested", "exec(eval(exec(a)));eval(exec (b))".to_string()),
            ("across lines", "exec\n(code)\neval  \n  (x)".to_string()),
            ("long blank run", format!("eval{}(x)", " \n\t".repeat(50))),
        ];
        let check = |name: &str, text: &str| {
            let whole: Vec<(usize, usize)> = EXEC.find_iter(text).map(|m| (m.start(), m.end())).collect();
            let file = TextFile::new("m.py", crate::model::FileRole::Runtime, true, text);
            assert_eq!(&exec_ranges(&file)[..], &whole[..], "{name}: {text:?}");
            let fresh = Source::python(text);
            let kinds = [SinkKind::Exec, SinkKind::Process];
            let want: Vec<_> = find(&fresh, &kinds).iter().map(|s| (s.offset, s.kind, s.name)).collect();
            let file = TextFile::new("m.py", crate::model::FileRole::Runtime, true, text);
            let got: Vec<_> = find_in(&file, &kinds).iter().map(|s| (s.offset, s.kind, s.name)).collect();
            assert_eq!(got, want, "{name}: {text:?}");
            whole.len()
        };
        for (name, text) in &cases {
            check(name, text);
        }
        let pieces = [
            "exec",
            "eval",
            "compile",
            "(",
            " ",
            "\t",
            "\n",
            ".",
            "builtins",
            "__builtins__",
            "x",
            "é",
            ";",
            "😀",
            "_",
            "'",
            "#",
        ];
        let mut found = 0;
        for text in super::super::pysrc::random_texts(&pieces, 30, 0x2545_f491_4f6c_dd1du64, 4000) {
            found += check("random", &text);
        }
        assert!(found > 200, "the random texts hold calls: {found}");
    }

    /// A hostile member for [`exec_ranges`]: 4 MB of names that start calls, each followed by a
    /// long blank run without `(` (every anchored search reads its run, from each of the 14
    /// places before the name), then calls of every shape: linear, well under the bound.
    #[test]
    fn exec_search_of_a_huge_member_is_fast() {
        let mut text = String::new();
        while text.len() < 2_000_000 {
            text.push_str("eval");
            text.push_str(&" ".repeat(200));
            text.push_str("x\n");
        }
        while text.len() < 4_000_000 {
            text.push_str("exec(eval(__builtins__.exec(builtins.eval(é exec (x)))))\n");
        }
        let file = TextFile::new("m.py", crate::model::FileRole::Runtime, true, &text);
        let t = std::time::Instant::now();
        let found = exec_ranges(&file).len();
        let took = t.elapsed();
        assert!(found > 100_000, "{found}");
        assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    }

    #[test]
    fn urlopen_with_a_body_is_a_send() {
        let cases = [
            ("data keyword", "urllib.request.urlopen('http://h/k', data=k.encode())\n", true),
            ("positional body", "urlopen(url, payload)\n", true),
            ("nested call in url", "urlopen(base(u, 1), json.dumps(x).encode())\n", true),
            ("plain GET", "urllib.request.urlopen('http://h/x')\n", false),
            ("timeout only", "urlopen(url, timeout=10)\n", false),
            ("context only", "urlopen(req, context=ctx)\n", false),
            ("in a comment", "# urlopen(url, data)\n", false),
        ];
        for (case, text, want) in cases {
            let src = Source::python(text);
            let got = find(&src, &[SinkKind::Send]).iter().any(|s| s.name.ends_with("urlopen"));
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn import_searches_at_import_lines_are_the_whole_searches() {
        let groups = |c: regex::Captures<'_>| {
            (c.get(0).expect("m").range(), c.get(1).map(|m| m.range()), c.get(2).map(|m| m.range()))
        };
        let check = |name: &str, t: &str| {
            let starts = import_line_starts(t);
            let mut n = 0;
            for (re_at, re) in [(&*IMPORT_AS_AT, &*IMPORT_AS), (&*FROM_IMPORT_AT, &*FROM_IMPORT)] {
                let got: Vec<_> = import_captures(re_at, re, t, &starts).map(groups).collect();
                assert_eq!(got, re.captures_iter(t).map(groups).collect::<Vec<_>>(), "{name}: {}", re.as_str());
                n += got.len();
            }
            n
        };
        let cases = [
            ("empty", ""),
            ("import as", "import subprocess as sp\n  \timport os as o\n"),
            ("from import", "from subprocess import (Popen, run as r)\nfrom os import system as s\n"),
            ("two imports on a line", "import os as a; import pty as p\n"),
            ("import inside words", "reimport os as x\nimportant = 1\nfrom os import_x\n"),
            ("CRLF and a first line", "import os as o\r\nfrom pty import spawn\r\n"),
            ("non-ASCII", "é = 1\nimport os as ö\nfrom os import système\n"),
        ];
        for (name, t) in cases {
            check(name, t);
        }
        let pieces = [
            "import ",
            "from ",
            "as ",
            " as ",
            "os",
            "subprocess",
            "pty",
            "commands",
            "system",
            "Popen",
            ", ",
            "(",
            "\n",
            "\t",
            " ",
            ";",
            "x",
            "é",
            "\r\n",
            "important",
            "\nimport subprocess as sp\n",
            "\nfrom os import system as s, popen\n",
            "\nimport os as o\n",
        ];
        let mut found = 0;
        for t in super::super::pysrc::random_texts(&pieces, 24, 0x3c6e_f372_fe94_f82bu64, 4000) {
            found += check(&t, &t);
        }
        assert!(found > 300, "the random texts import: {found}");
    }

    /// The alias search as it was: the whole-member import searches, then each name searched in
    /// turn and each call pushed at an offset not yet taken.
    fn aliased_each_name<'a>(src: &Source<'a>, out: &mut Vec<Sink<'a>>) {
        let t = src.text;
        let funcs = |m: &str| PROCESS_FUNCS.iter().find(|(n, _)| *n == m).map_or(&[][..], |(_, f)| *f);
        let mut push_calls = |needle: &str| {
            for (i, _) in t.match_indices(needle) {
                let end = i + needle.len();
                let before_ok = i == 0 || !t[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.');
                let after = t[end..].trim_start_matches([' ', '\t']);
                if before_ok && after.starts_with('(') && src.is_code(i) && !out.iter().any(|s| s.offset == i) {
                    out.push(Sink { offset: i, kind: SinkKind::Process, name: &t[i..end] });
                }
            }
        };
        for c in IMPORT_AS.captures_iter(t) {
            let (module, alias) = (c.get(1).expect("m").as_str(), c.get(2).expect("a").as_str());
            if !src.is_code(c.get(0).expect("0").start()) || alias == module {
                continue;
            }
            for f in funcs(module) {
                push_calls(&format!("{alias}.{f}"));
            }
        }
        for c in FROM_IMPORT.captures_iter(t) {
            let module = c.get(1).expect("m").as_str();
            if !src.is_code(c.get(0).expect("0").start()) {
                continue;
            }
            for item in c.get(2).expect("names").as_str().split(',') {
                let mut parts = item.split_whitespace();
                let (Some(name), rest) = (parts.next(), parts.collect::<Vec<_>>()) else {
                    continue;
                };
                let local = if rest.len() == 2 && rest[0] == "as" { rest[1] } else { name };
                if funcs(module).contains(&name) {
                    push_calls(local);
                }
            }
        }
    }

    #[test]
    fn aliased_calls_in_one_pass_are_each_name_searched_in_turn() {
        let check = |name: &str, t: &str| {
            let src = Source::python(t);
            let got: Vec<_> =
                find(&src, &[SinkKind::Process, SinkKind::Exec]).iter().map(|s| (s.offset, s.kind, s.name)).collect();
            let mut want = Vec::new();
            collect(&src, &PROCESS, SinkKind::Process, &mut want);
            aliased_each_name(&src, &mut want);
            collect(&src, &EXEC, SinkKind::Exec, &mut want);
            want.sort_by_key(|s| s.offset);
            let want: Vec<_> = want.iter().map(|s| (s.offset, s.kind, s.name)).collect();
            assert_eq!(got, want, "{name}");
            got.len()
        };
        let cases = [
            ("import as", "import subprocess as sp\nsp.Popen(['x'])\nsp.run (y)\n"),
            ("from import as", "from os import system as s, popen\ns('id'); popen('x')\n"),
            ("one name inside another", "from os import system as s\nfrom os import system as ss\nss('x'); s('y')\n"),
            ("a self-overlapping name", "from os import system as aa\naaa('x'); aa('y')\n"),
            ("an alias that is a real call too", "import os as o\nfrom os import system\no.system(x); system(y)\n"),
            ("in a string", "import subprocess as sp\ns = 'sp.run(x)'\n"),
        ];
        for (name, t) in cases {
            check(name, t);
        }
        let pieces = [
            "import ",
            "from ",
            "subprocess",
            "os",
            "pty",
            " as ",
            "sp",
            "s",
            "ss",
            "o",
            " import ",
            "system",
            "Popen",
            "run",
            "spawn",
            ", ",
            ".",
            "(",
            ")",
            "\n",
            " ",
            "'",
            "#",
            "eval(",
            "os.system(",
            "é",
        ];
        let mut found = 0;
        for t in super::super::pysrc::random_texts(&pieces, 30, 0x1f83_d9ab_fb41_bd6bu64, 4000) {
            found += check(&t, &t);
        }
        assert!(found > 1000, "the random texts call processes: {found}");
    }

    #[test]
    fn nested_suffix_aliases_cost_linear_time() {
        // Aliases that are each other's suffixes (`a`, `aa`, … 2,000 `a`s), then calls of the
        // longest: an overlapping substring search matches every alias at every position of
        // every call (2,000 × 2,000 / 2 per call line); the walk back from `(` looks up one name.
        let (aliases, calls) = (2_000, 1_000);
        let mut text = String::new();
        for k in 1..=aliases {
            text.push_str(&format!("from os import system as {}\n", "a".repeat(k)));
        }
        let longest = "a".repeat(aliases);
        for _ in 0..calls {
            text.push_str(&format!("{longest}('id')\n"));
        }
        text.push_str(&format!("x{longest}('not a call of an alias')\n"));
        let src = Source::python(&text);
        let started = std::time::Instant::now();
        let found = find(&src, &[SinkKind::Process]);
        let took = started.elapsed();
        assert_eq!(found.len(), calls, "each call of the longest alias, and not the prefixed name");
        assert!(found.iter().all(|s| s.name == longest), "the whole alias is the name");
        assert!(took < std::time::Duration::from_secs(2), "{} bytes took {took:?}", text.len());
    }

    #[test]
    fn many_imports_cost_linear_time() {
        // One line of tens of thousands of `import`s, then as many import lines: each line is
        // one candidate, each anchored search reads at most its line.
        let make = |n: usize| {
            let mut s = "import os as o; ".repeat(n);
            s.push('\n');
            for _ in 0..n {
                s.push_str("from subprocess import run as r, Popen\nimport os as o2\n");
            }
            s.push_str("o.system(x)\n");
            s
        };
        let time = |text: &str| {
            let src = Source::python(text);
            let t = std::time::Instant::now();
            let found = find(&src, &[SinkKind::Process]).len();
            (t.elapsed(), found)
        };
        let (t1, _) = time(&make(5_000));
        let (t4, found) = time(&make(20_000));
        assert_eq!(found, 1, "the aliased call is found");
        assert!(t4 < std::time::Duration::from_secs(2), "{t4:?} for 20,000");
        assert!(t4 < t1 * 12 + std::time::Duration::from_millis(100), "5,000 took {t1:?}, 20,000 took {t4:?}");
    }

    #[test]
    fn resolves_process_aliases() {
        let cases = [
            (
                "import as",
                "import subprocess as sp
sp.Popen(['x'])
",
                Some("sp.Popen"),
            ),
            (
                "from import",
                "from subprocess import check_output, PIPE
out = check_output(['x'])
",
                Some("check_output"),
            ),
            (
                "from import as",
                "from os import system as run_it
run_it('id')
",
                Some("run_it"),
            ),
            (
                "__import__",
                "__import__('os').system('id')
",
                Some("__import__('os').system"),
            ),
            (
                "imported but only referenced",
                "from subprocess import PIPE
x = PIPE
",
                None,
            ),
            (
                "method of another object",
                "from os import system
self.system(x)
",
                None,
            ),
            (
                "alias in a string",
                "import subprocess as sp
s = 'sp.Popen(x)'
",
                None,
            ),
        ];
        for (name, text, want) in cases {
            let src = Source::python(text);
            let got = find(&src, &[SinkKind::Process]);
            assert_eq!(got.first().map(|s| s.name), want, "{name}");
        }
    }
}
