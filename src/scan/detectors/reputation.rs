//! Destination reputation: the one place that lists where stolen data and second
//! stages usually go — out-of-band interaction (collaborator) services, request
//! bins, tunnels, paste sites, anonymous file drops, throwaway top-level domains and
//! free hosting — and what each class means.
//!
//! Owns: the host lists and [`of_host`] (host or registrable-domain match, every
//! subdomain included) and [`in_text`] (the same hosts found in text without a
//! scheme, since droppers concatenate URLs). Must not: report, or know which
//! detector weighs which class (`network.exfiltration-endpoint`, `hunting.system-info`,
//! `execution.native-injection` and the URL detectors decide that).

use super::urls::host_is;
use regex::Regex;
use std::sync::LazyLock;

/// What a destination is known for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Out-of-band interaction / collaborator services (interactsh, Burp, oast.*,
    /// dnslog, canarytokens): they exist to record who called them.
    Collaborator,
    /// Request bins and webhook catchers (webhook.site, pipedream, requestbin).
    RequestBin,
    /// Tunnels exposing a laptop to the internet (ngrok, serveo, localtunnel).
    Tunnel,
    /// Paste sites (raw text in, raw text out).
    Paste,
    /// Anonymous file drops and transfer services, Discord CDN attachments.
    FileDrop,
    /// Free, anonymous top-level domains favoured by throwaway infrastructure.
    ThrowawayTld,
    /// Free static/app hosting with anonymous sign-up.
    FreeHosting,
}

impl Class {
    /// Short name for indicators.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Class::Collaborator => "out-of-band collaborator",
            Class::RequestBin => "request bin",
            Class::Tunnel => "tunnel",
            Class::Paste => "paste site",
            Class::FileDrop => "file drop",
            Class::ThrowawayTld => "throwaway TLD",
            Class::FreeHosting => "free hosting",
        }
    }
}

/// Hosts by class: each entry matches itself and every subdomain.
const HOSTS: &[(Class, &[&str])] = &[
    (
        Class::Collaborator,
        &[
            "interact.sh",
            "interactsh.com",
            "oast.fun",
            "oast.pro",
            "oast.live",
            "oast.site",
            "oast.online",
            "oast.me",
            "burpcollaborator.net",
            "oastify.com",
            "canarytokens.com",
            "dnslog.cn",
            "ceye.io",
            "dnslog.link",
            "requestrepo.com",
        ],
    ),
    (
        Class::RequestBin,
        &[
            "webhook.site",
            "requestbin.com",
            "requestbin.net",
            "requestbin.io",
            "m.pipedream.net",
            "requestcatcher.com",
            "beeceptor.com",
            "hookbin.com",
            "postb.in",
            "pipedream.net",
        ],
    ),
    (
        Class::Tunnel,
        &[
            "ngrok.io",
            "ngrok.app",
            "ngrok.dev",
            "ngrok-free.app",
            "ngrok-free.dev",
            "serveo.net",
            "serveousercontent.com",
            "localhost.run",
            "lhr.life",
            "loca.lt",
            "localtunnel.me",
            "trycloudflare.com",
            "bore.pub",
            "pagekite.me",
            "telebit.cloud",
            "localxpose.io",
        ],
    ),
    (
        Class::Paste,
        &[
            "pastebin.com",
            "paste.ee",
            "hastebin.com",
            "ghostbin.com",
            "ghostbin.co",
            "rentry.co",
            "rentry.org",
            "pastes.io",
            "dpaste.com",
            "dpaste.org",
            "controlc.com",
            "justpaste.it",
            "paste.rs",
            "termbin.com",
            "ix.io",
            "sprunge.us",
        ],
    ),
    (
        Class::FileDrop,
        &[
            "transfer.sh",
            "file.io",
            "anonfiles.com",
            "gofile.io",
            "temp.sh",
            "bashupload.com",
            "0x0.st",
            "catbox.moe",
            "files.catbox.moe",
            "litterbox.catbox.moe",
            "filebin.net",
            "tmpfiles.org",
            "oshi.at",
            "pixeldrain.com",
            "uguu.se",
            "sendspace.com",
            "mediafire.com",
        ],
    ),
    (
        Class::FreeHosting,
        &[
            "000webhostapp.com",
            "freehostia.com",
            "epizy.com",
            "rf.gd",
            "infinityfreeapp.com",
            "herokuapp.com",
            "glitch.me",
            "repl.co",
            "replit.app",
            "workers.dev",
            "duckdns.org",
            "no-ip.org",
            "ddns.net",
            "hopto.org",
        ],
    ),
];

/// A URL's reputation: its host's, or a file drop by path (Discord CDN attachments:
/// the CDN itself also serves avatars and emoji that bot libraries link to).
pub(crate) fn of_url(host: &str, path: &str) -> Option<Class> {
    let discord_cdn = host_is(host, "cdn.discordapp.com") || host_is(host, "media.discordapp.net");
    if discord_cdn && path.starts_with("/attachments/") {
        return Some(Class::FileDrop);
    }
    of_host(host)
}

/// Free or abused top-level domains.
/// (Not `.xyz`, `.io` or `.app`: plenty of real services live there.)
const THROWAWAY_TLDS: &[&str] = &["pw", "tk", "ml", "ga", "cf", "gq", "top", "icu", "cyou", "buzz", "rest"];

/// A host's reputation (`None`: nothing known against it). `host` is lowercase.
pub(crate) fn of_host(host: &str) -> Option<Class> {
    let host = host.trim_end_matches('.');
    for (class, list) in HOSTS {
        if list.iter().any(|d| host_is(host, d)) {
            return Some(*class);
        }
    }
    let tld = host.rsplit('.').next()?;
    // Callers pass URL hosts (a dot is guaranteed); an IPv4 literal has no TLD.
    (host.contains('.') && THROWAWAY_TLDS.contains(&tld) && !host.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
        .then_some(Class::ThrowawayTld)
}

/// Literals that prefilter [`in_text`]: one per listed host family. A detector calling
/// `in_text` as its own trigger must have them all in its prefilter (checked by its tests).
pub(crate) const LITERALS: &[&str] = &[
    "interact",
    "oast",
    "burpcollaborator",
    "canarytokens",
    "dnslog",
    "ceye.io",
    "requestrepo",
    "webhook.site",
    "requestbin",
    "pipedream",
    "requestcatcher",
    "beeceptor",
    "hookbin",
    "postb.in",
    "ngrok",
    "serveo",
    "localhost.run",
    "lhr.life",
    "loca.lt",
    "localtunnel",
    "trycloudflare",
    "bore.pub",
    "pagekite",
    "telebit",
    "localxpose",
    "paste",
    "hastebin",
    "ghostbin",
    "rentry",
    "controlc",
    "termbin",
    "ix.io",
    "sprunge",
    "transfer.sh",
    "file.io",
    "anonfiles",
    "gofile",
    "temp.sh",
    "bashupload",
    "0x0.st",
    "catbox",
    "filebin",
    "tmpfiles",
    "oshi.at",
    "pixeldrain",
    "uguu.se",
    "sendspace",
    "mediafire",
];

/// Every listed host (not the TLD or free-hosting classes) as it appears in text,
/// with or without a scheme or subdomain: `abc.oast.fun`, `x.ngrok-free.app`.
static HOST_IN_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    let mut alts: Vec<String> = HOSTS
        .iter()
        .filter(|(c, _)| *c != Class::FreeHosting)
        .flat_map(|(_, l)| l.iter())
        .map(|d| regex::escape(d))
        .collect();
    // Longest first, so `files.catbox.moe` is preferred to `catbox.moe`.
    alts.sort_by_key(|a| std::cmp::Reverse(a.len()));
    // A plain alternation keeps the regex's literal prefilter; subdomain labels in front
    // are taken by hand in `in_text`.
    Regex::new(&format!(r"(?i)(?:{})(?-u:\b)", alts.join("|"))).expect("reputation hosts")
});

/// The hosts of [`HOST_IN_TEXT`], lowercased, keyed by the two bytes around their first dot:
/// its gate ([`may_be_in`], [`holds_a_host`]). Bit `(before << 8) | after` of `keys` is set
/// when some host has `before` `.` `after` at its first dot; `hosts` holds each host with the
/// offset of that dot, sorted by key.
struct DotKeys {
    keys: Vec<u64>,
    hosts: Vec<(usize, Vec<u8>, usize)>,
}

static HOST_DOTS: LazyLock<DotKeys> = LazyLock::new(|| {
    let mut keys = vec![0u64; 1 << 10];
    let mut hosts = Vec::new();
    for h in HOSTS.iter().filter(|(c, _)| *c != Class::FreeHosting).flat_map(|(_, l)| l.iter()) {
        let h = h.to_ascii_lowercase().into_bytes();
        let dot =
            h.iter().position(|&b| b == b'.').filter(|&d| d > 0 && d + 1 < h.len()).expect("a host has an inner dot");
        let key = dot_key(h[dot - 1], h[dot + 1]);
        keys[key >> 6] |= 1 << (key & 63);
        hosts.push((key, h, dot));
    }
    hosts.sort();
    DotKeys { keys, hosts }
});

fn dot_key(before: u8, after: u8) -> usize {
    (before as usize) << 8 | after as usize
}

/// Whether `lower` (a lowercased text) holds one of the hosts of [`HOST_IN_TEXT`] as a
/// substring: the same answer as an automaton over the hosts (tested), found from the dots
/// alone. Every host holds a dot with a byte on each side; a host at `p` puts its first dot at
/// `p + dot` with the host's bytes around it, so only dots whose two neighbours are some
/// host's (one table lookup) are compared with those hosts. Code is full of dots
/// (`self.name`), but not of `k.s` (`webhook.site`): an automaton over 74 host names has no
/// literal prefilter to skip with and steps through every byte, this visits only the dots.
pub(crate) fn holds_a_host(lower: &[u8]) -> bool {
    let d = &*HOST_DOTS;
    memchr::memchr_iter(b'.', lower).any(|at| {
        if at == 0 || at + 1 >= lower.len() {
            return false;
        }
        let key = dot_key(lower[at - 1], lower[at + 1]);
        if d.keys[key >> 6] & (1 << (key & 63)) == 0 {
            return false;
        }
        let first = d.hosts.partition_point(|(k, _, _)| *k < key);
        d.hosts[first..]
            .iter()
            .take_while(|(k, _, _)| *k == key)
            .any(|(_, h, dot)| at >= *dot && lower[at - dot..].starts_with(h))
    })
}

/// False when [`in_text`] finds nothing in the member for sure: its lowercased copy holds none
/// of the listed hosts (see [`crate::scan::detector::TextFile::ascii_lowercase`]; a member
/// without that copy is always searched).
pub(crate) fn may_be_in(file: &crate::scan::detector::TextFile<'_>) -> bool {
    file.ascii_lowercase().is_none_or(|l| holds_a_host(l.as_bytes()))
}

/// One listed host found in text: (start, end, class).
pub(crate) fn in_text(text: &str) -> impl Iterator<Item = (usize, usize, Class)> + '_ {
    let label = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
    HOST_IN_TEXT.find_iter(text).filter_map(move |m| {
        let bytes = text.as_bytes();
        // Starts a name or follows a dot (a subdomain): not the tail of `mypastebin.com`.
        let mut start = m.start();
        if start > 0 && label(bytes[start - 1]) {
            return None;
        }
        while start > 0 && (label(bytes[start - 1]) || bytes[start - 1] == b'.') {
            start -= 1;
        }
        let start = start + text[start..m.start()].len() - text[start..m.start()].trim_start_matches('.').len();
        // Not followed by another label (`paste.ee.example.org`, `x.file.io.py`).
        let after = &text[m.end()..];
        if after.starts_with('.') && after[1..].starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return None;
        }
        of_host(&text[start..m.end()].to_ascii_lowercase()).map(|c| (start, m.end(), c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_classified() {
        let cases = [
            ("collaborator subdomain", "c1abc.oast.fun", Some(Class::Collaborator)),
            ("interactsh", "x.interact.sh", Some(Class::Collaborator)),
            ("burp", "abc.burpcollaborator.net", Some(Class::Collaborator)),
            ("pipedream", "eo1.m.pipedream.net", Some(Class::RequestBin)),
            ("localtunnel", "quiet-fox.loca.lt", Some(Class::Tunnel)),
            ("serveo", "serveo.net", Some(Class::Tunnel)),
            ("throwaway tld", "update-check.tk", Some(Class::ThrowawayTld)),
            ("pw tld", "a.b.pw", Some(Class::ThrowawayTld)),
            ("free hosting", "evil.000webhostapp.com", Some(Class::FreeHosting)),
            ("ordinary host", "api.example.org", None),
            ("suffix is not the domain", "notngrok.io", None),
            ("discord itself", "discord.com", None),
        ];
        for (name, host, want) in cases {
            assert_eq!(of_host(host), want, "{name}");
        }
        assert_eq!(of_url("cdn.discordapp.com", "/attachments/1/2/x.exe"), Some(Class::FileDrop));
        assert_eq!(of_url("cdn.discordapp.com", "/avatars/1/a.png"), None, "bot libraries link avatars");
    }

    #[test]
    fn hosts_are_found_in_text() {
        let cases = [
            ("dns beacon name", "n = f'{u}.{h}.c1.oast.fun'", Some("c1.oast.fun")),
            ("no scheme", "h = 'abc.ngrok-free.app'", Some("abc.ngrok-free.app")),
            ("url", "u = 'https://webhook.site/1234'", Some("webhook.site")),
            ("longer name", "u = 'https://mypaste.ee.example.org/'", None),
            ("unlisted", "u = 'https://example.org/'", None),
            ("upper case", "U = 'HTTPS://WEBHOOK.SITE/1'", Some("WEBHOOK.SITE")),
        ];
        for (name, text, want) in cases {
            let got = in_text(text).next().map(|(s, e, _)| &text[s..e]);
            assert_eq!(got, want, "{name}");
            let file = crate::scan::detector::TextFile::new("a.py", crate::model::FileRole::Runtime, true, text);
            assert!(may_be_in(&file) || got.is_none(), "{name}: the gate hid a host");
        }
        let plain = crate::scan::detector::TextFile::new("a.py", crate::model::FileRole::Runtime, true, "import os\n");
        assert!(!may_be_in(&plain), "a file without a listed host is skipped");
        for (_, list) in HOSTS.iter().filter(|(c, _)| *c != Class::FreeHosting) {
            for h in *list {
                assert!(LITERALS.iter().any(|l| h.contains(l)), "{h} has no prefilter literal");
            }
        }
    }

    #[test]
    fn dot_gate_is_the_host_automaton() {
        let hosts: Vec<String> = HOSTS
            .iter()
            .filter(|(c, _)| *c != Class::FreeHosting)
            .flat_map(|(_, l)| l.iter())
            .map(|h| h.to_ascii_lowercase())
            .collect();
        let automaton = crate::scan::detectors::pysrc::gate(&hosts.iter().map(String::as_str).collect::<Vec<_>>());
        let cases = [
            ("empty", ""),
            ("a dot alone", "."),
            ("host at the start", "webhook.site/x"),
            ("host at the end", "x = 'https://0x0.st"),
            ("host cut before its end", "u = 'webhook.sit'"),
            ("host cut after its dot", "webhook."),
            ("host cut before its dot", "k.site"),
            ("subdomain", "c1.oast.fun"),
            ("longest of a family", "litterbox.catbox.moe"),
            ("dots around", "a.b.c..paste.ee.."),
            ("code full of dots", "self.name.attr(os.path.join(a, b)).x"),
            ("neighbours of a host, not the host", "ok.si ek.sit bin.co"),
            ("non-ASCII around", "é.webhook.siteé"),
            ("unlisted", "example.org"),
        ];
        for (case, text) in cases {
            assert_eq!(holds_a_host(text.as_bytes()), automaton.is_match(text), "{case}");
        }
        let mut pieces: Vec<&str> = hosts.iter().map(String::as_str).collect();
        // Pieces of hosts, so texts hold near misses and hosts assembled across pieces.
        let cut: Vec<String> =
            hosts.iter().flat_map(|h| [h[..h.len() / 2].to_string(), h[h.len() / 2..].to_string()]).collect();
        pieces.extend(cut.iter().map(String::as_str));
        pieces.extend([".", "..", "a", "k", "s", " ", "\n", "é", "self.x", "o.", ".c"]);
        let (mut held, mut texts) = (0, 0);
        for text in crate::scan::detectors::pysrc::random_texts(&pieces, 12, 0x2545_f491_4f6c_dd1d, 20_000) {
            let want = automaton.is_match(&text);
            assert_eq!(holds_a_host(text.as_bytes()), want, "{text:?}");
            held += usize::from(want);
            texts += 1;
        }
        assert!(held > 2_000 && texts - held > 2_000, "both outcomes well represented: {held} of {texts}");
    }
}
