//! Call patterns several detectors combine: network fetches/sends, process
//! creation and dynamic execution, found in Python *code* only (never in strings,
//! comments or docstrings).
//!
//! Owns: the precompiled regexes and the code-only filter; their matches are searched once per
//! member through [`Source::find_ranges`], shared by every detector that asks. Must not: report.

use super::pysrc::Source;
use regex::Regex;
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
static EXEC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^.\w])(?:exec|eval)\s*\(|(?-u:\b)(?:builtins|__builtins__)\.(?:exec|eval)\s*\(")
        .expect("exec regex")
});

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
static IMPORT_AS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*import[ \t]+(subprocess|os|pty|commands)[ \t]+as[ \t]+([A-Za-z_][A-Za-z0-9_]*)")
        .expect("import as")
});
static FROM_IMPORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*from[ \t]+(subprocess|os|pty|commands)[ \t]+import[ \t]+\(?([A-Za-z0-9_, \t]+(?:[ \t]+as[ \t]+[A-Za-z0-9_]+)?[A-Za-z0-9_, \t]*)").expect("from import")
});

/// Calls through `import subprocess as sp` / `from os import system as s`: found by
/// plain substring search (no per-file regex), then checked for a call in code.
fn aliased_process_calls<'a>(src: &Source<'a>, out: &mut Vec<Sink<'a>>) {
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
