//! `network.exfiltration-endpoint`: hosts stolen data is typically sent to —
//! Discord/Slack webhooks, the Telegram bot API, paste sites, request bins and
//! out-of-band interaction hosts, tunnels (ngrok, trycloudflare) and anonymous
//! file drops. Raw code hosts count only in install-time files.
//!
//! Matches the endpoint text in code, strings and non-Python files (it may be
//! concatenated, so no scheme is required); Python comments/docstrings, tests and
//! docs are skipped.

use super::pysrc::{self, Kind, Source, MAX_HITS_PER_FILE};
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, TextFile};
use regex::Regex;
use std::sync::LazyLock;

pub static META: DetectorMeta = DetectorMeta {
    id: "network.exfiltration-endpoint",
    title: "Contains endpoints commonly used for data exfiltration.",
    category: Category::Network,
    severity: Severity::High,
    description: "Webhooks, bot APIs, paste sites, request bins and tunnels are where credential stealers send what they collect.",
};

/// (pattern, class): class 2 = webhook/bot (high), 1 = paste/bin/tunnel (medium), 0 = raw code host (install-time only).
static ENDPOINT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?P<hook>(?:(?:canary\.|ptb\.)?discord(?:app)?\.com/api/(?:v\d+/)?webhooks|hooks\.slack\.com/(?:services|workflows)|api\.telegram\.org/bot|webhook\.office\.com))",
        r"|(?P<bin>(?-u:\b)(?:pastebin\.com|paste\.ee|hastebin\.com|ghostbin\.\w+|rentry\.(?:co|org)|pastes\.io|dpaste\.(?:com|org)|controlc\.com|justpaste\.it|paste\.rs|termbin\.com",
        r"|webhook\.site|requestbin\.\w+|[\w-]+\.m\.pipedream\.net|requestcatcher\.com|beeceptor\.com|hookbin\.com|postb\.in|interact\.sh|oast\.(?:fun|pro|live|site|online|me)|burpcollaborator\.net|oastify\.com|canarytokens\.com|dnslog\.cn|ceye\.io",
        r"|[\w-]+\.ngrok(?:-free)?\.(?:io|app|dev)|ngrok\.io|serveo\.net|localhost\.run|[\w-]+\.trycloudflare\.com|transfer\.sh|file\.io|anonfiles\.com|gofile\.io|temp\.sh|bashupload\.com|0x0\.st|catbox\.moe)(?-u:\b))",
        r"|(?P<raw>(?-u:\b)(?:raw\.githubusercontent\.com|gist\.githubusercontent\.com|gitlab\.com/[^\s'\x22]+/-/raw/|bitbucket\.org/[^\s'\x22]+/raw/))",
    ))
    .expect("endpoint regex")
});

pub struct ExfilEndpoint;

impl Detector for ExfilEndpoint {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn literals(&self) -> &'static [&'static str] {
        &[
            "discord",
            "Discord",
            "hooks.slack",
            "api.telegram",
            "webhook",
            "paste",
            "hastebin",
            "ghostbin",
            "rentry",
            "controlc",
            "termbin",
            "requestbin",
            "pipedream",
            "requestcatcher",
            "beeceptor",
            "hookbin",
            "postb.in",
            "interact.sh",
            "oast",
            "burpcollaborator",
            "canarytokens",
            "dnslog",
            "ceye.io",
            "ngrok",
            "serveo",
            "localhost.run",
            "trycloudflare",
            "transfer.sh",
            "file.io",
            "anonfiles",
            "gofile",
            "temp.sh",
            "bashupload",
            "0x0.st",
            "catbox",
            "raw.githubusercontent",
            "gist.githubusercontent",
            "/-/raw/",
            "/raw/",
        ]
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if matches!(file.role, FileRole::TestOrDocs | FileRole::Metadata | FileRole::Binary)
            || pysrc::looks_like_test_path(file.path)
        {
            return;
        }
        let src = Source::new(file);
        let install = file.role == FileRole::InstallTime;
        let mut n = 0;
        for c in ENDPOINT.captures_iter(file.text) {
            if n >= MAX_HITS_PER_FILE {
                break;
            }
            let m = c.get(0).expect("match");
            if src.python && !matches!(src.kind_at(m.start()), Kind::Code | Kind::Str) {
                continue;
            }
            let sev = if c.name("hook").is_some() {
                if install {
                    Severity::Critical
                } else {
                    Severity::High
                }
            } else if c.name("bin").is_some() {
                if install {
                    Severity::High
                } else {
                    Severity::Medium
                }
            } else if install {
                Severity::Medium
            } else {
                continue;
            };
            n += 1;
            let ind = m.as_str().to_ascii_lowercase();
            hits.push(&META, Hit { severity: Some(sev), evidence: pysrc::evidence(file, m.start(), ind) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::detectors::testutil::table;
    use FileRole::*;
    use Severity::*;

    #[test]
    fn cases() {
        table(
            &ExfilEndpoint,
            META.id,
            &[
                (
                    "discord webhook",
                    "pkg/a.py",
                    Runtime,
                    "W = 'https://discord.com/api/webhooks/123/abc'\n",
                    Some((1, "discord.com/api/webhooks", High)),
                ),
                (
                    "telegram in setup.py",
                    "setup.py",
                    InstallTime,
                    "\nu = 'https://api.telegram.org/bot' + T\n",
                    Some((2, "api.telegram.org/bot", Critical)),
                ),
                (
                    "paste site",
                    "pkg/a.py",
                    Runtime,
                    "u = 'https://pastebin.com/raw/abc'\n",
                    Some((1, "pastebin.com", Medium)),
                ),
                (
                    "ngrok",
                    "pkg/a.py",
                    Runtime,
                    "H = 'abc123.ngrok-free.app'\n",
                    Some((1, "abc123.ngrok-free.app", Medium)),
                ),
                (
                    "raw host at install",
                    "setup.py",
                    InstallTime,
                    "u = 'https://raw.githubusercontent.com/x/y/main/p.py'\n",
                    Some((1, "raw.githubusercontent.com", Medium)),
                ),
                (
                    "raw host at runtime",
                    "pkg/a.py",
                    Runtime,
                    "u = 'https://raw.githubusercontent.com/x/y/main/data.json'\n",
                    None,
                ),
                ("webhook in comment", "pkg/a.py", Runtime, "# see https://discord.com/api/webhooks\nx = 1\n", None),
                ("discord word only", "pkg/a.py", Runtime, "NAME = 'discord.py bot'\n", None),
                ("tests", "pkg/tests/t.py", Runtime, "W = 'https://discord.com/api/webhooks/1/a'\n", None),
            ],
        );
    }
}
