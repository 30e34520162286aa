//! `hunting.anonymous-author`: the author or maintainer email in core metadata
//! (`Author-email`, `Maintainer-email`, or an address in `Author`/`Maintainer`)
//! is at a disposable-mail domain (per `mailchecker`) or at an anonymity-focused
//! provider (Proton, Tutanota, Guerrilla Mail, cock.li, …).
//!
//! Package-level; reads only the metadata headers (never the description body).
//! Disposable domains are Medium, anonymous providers Low.

use super::pysrc;
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, Package};
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "hunting.anonymous-author",
    revision: 1,
    title: "The software package was developed by a user registered with an anonymous email address.",
    category: Category::Hunting,
    severity: Severity::Low,
    description: "Anonymous or throw-away author emails cut the link between a package and an accountable person; common for malicious uploads.",
};

/// Providers whose point is anonymity (registrable domains).
const ANONYMOUS: &[&str] = &[
    "protonmail.com",
    "protonmail.ch",
    "proton.me",
    "pm.me",
    "tutanota.com",
    "tutanota.de",
    "tutamail.com",
    "tuta.io",
    "tuta.com",
    "keemail.me",
    "guerrillamail.com",
    "guerrillamail.net",
    "guerrillamail.org",
    "guerrillamailblock.com",
    "sharklasers.com",
    "grr.la",
    "cock.li",
    "airmail.cc",
    "firemail.cc",
    "memeware.net",
    "cocaine.ninja",
    "waifu.club",
    "mailfence.com",
    "disroot.org",
    "riseup.net",
    "onionmail.org",
    "dnmx.org",
    "ctemplar.com",
    "secmail.pro",
    "msgsafe.io",
    "cyberfear.com",
    "elude.in",
    "countermail.com",
    "hushmail.com",
    "hush.com",
    "420blaze.it",
    "danwin1210.de",
    "torbox3uiot6wchz.onion",
    "mail2tor.com",
    "duck.com",
    "anonaddy.me",
    "addy.io",
    "simplelogin.com",
    "simplelogin.co",
    "aleeas.com",
    "slmail.me",
    "mozmail.com",
    "relay.firefox.com",
];

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}").expect("email"));

/// Why an email is anonymous, if it is.
pub(crate) fn classify(email: &str) -> Option<(&'static str, Severity)> {
    let domain = email.rsplit('@').next()?.to_ascii_lowercase();
    if ANONYMOUS.iter().any(|d| domain == *d || domain.ends_with(&format!(".{d}"))) {
        return Some(("anonymous email provider", Severity::Low));
    }
    // Ask about the domain only: a quirky local part must not read as "disposable".
    if disposable(&domain) {
        return Some(("disposable email domain", Severity::Medium));
    }
    None
}

/// `mailchecker`'s disposable domains, hashed once. Its own `is_valid` searches its
/// list (tens of thousands of domains) linearly for every suffix of the domain: ≈ 0.7 M
/// instructions per artifact, more than inflating a small wheel.
static DISPOSABLE: LazyLock<HashSet<&'static str>> = LazyLock::new(|| mailchecker::blacklist().into_iter().collect());

/// Exactly `!mailchecker::is_valid("someone@{domain}")` with the list hashed: the address
/// is malformed, or the domain or one of its parent domains (`mail.example.com`,
/// `example.com`; never the bare top-level domain) is on the list.
fn disposable(domain: &str) -> bool {
    if !fast_chemail::is_valid_email(&format!("someone@{domain}")) {
        return true;
    }
    let domain = domain.to_lowercase();
    std::iter::once(domain.as_str())
        .chain(domain.match_indices('.').map(|(i, _)| &domain[i + 1..]))
        .filter(|suffix| suffix.contains('.'))
        .any(|suffix| DISPOSABLE.contains(suffix))
}

fn metadata_path(pkg: &Package<'_>) -> String {
    pkg.members
        .iter()
        .map(|(p, _, _)| p)
        .filter(|p| p.ends_with("METADATA") || p.ends_with("PKG-INFO"))
        .min_by_key(|p| p.len())
        .cloned()
        .unwrap_or_else(|| format!("{}!METADATA", pkg.filename))
}

pub(crate) struct AnonymousAuthor;

impl Detector for AnonymousAuthor {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::PackageOnly
    }
    fn scan_package(&self, pkg: &Package<'_>, hits: &mut Hits) {
        let Some(md) = pkg.core_metadata else { return };
        let path = metadata_path(pkg);
        let mut seen: Vec<String> = Vec::new();
        for header in &crate::metadata::CoreMetadata::parse(md).headers {
            let key = header.name.to_ascii_lowercase();
            if !matches!(key.as_str(), "author-email" | "maintainer-email" | "author" | "maintainer") {
                continue;
            }
            for m in EMAIL.find_iter(&header.value) {
                let email = m.as_str().to_ascii_lowercase();
                if seen.contains(&email) {
                    continue;
                }
                if let Some((why, sev)) = classify(&email) {
                    let mut ev = pysrc::package_evidence(
                        &path,
                        FileRole::Metadata,
                        email.clone(),
                        Some(format!("{}: {} ({why})", key_title(&key), email)),
                    );
                    ev.line = Some(header.line);
                    hits.push(&META, Hit { severity: Some(sev), evidence: ev });
                    seen.push(email);
                }
            }
        }
    }
}

fn key_title(k: &str) -> &'static str {
    match k {
        "author-email" => "Author-email",
        "maintainer-email" => "Maintainer-email",
        "author" => "Author",
        _ => "Maintainer",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ArtifactKind;
    use crate::scan::detectors::testutil::scan_pkg;

    #[test]
    fn disposable_is_mailcheckers_answer() {
        let cases = [
            ("listed domain", "mailinator.com"),
            ("subdomain of a listed domain", "mx.mailinator.com"),
            ("listed domain in capitals", "MAILINATOR.COM"),
            ("ordinary domain", "example.org"),
            ("subdomain of an ordinary domain", "a.b.example.org"),
            ("top-level domain alone", "com"),
            ("empty label", "a..mailinator.com"),
            ("label starting with a hyphen", "-x.example.org"),
            ("label longer than 63", &format!("{}.example.org", "x".repeat(64))),
            ("empty", ""),
        ];
        for (case, domain) in cases {
            let want = !mailchecker::is_valid(&format!("someone@{domain}"));
            assert_eq!(disposable(domain), want, "{case}: {domain}");
        }
        assert!(disposable("mailinator.com"), "the list is the one mailchecker ships");
    }

    #[test]
    fn cases() {
        let members = vec![("x-1.0.dist-info/METADATA".to_string(), FileRole::Metadata, 100)];
        type Case<'a> = (&'a str, &'a str, Option<(u32, &'a str, Severity)>);
        let cases: &[Case] = &[
            (
                "proton",
                "Metadata-Version: 2.1\nName: x\nAuthor-email: Dev <dev@proton.me>\n\nbody\n",
                Some((3, "dev@proton.me", Severity::Low)),
            ),
            (
                "disposable",
                "Metadata-Version: 2.1\nName: x\nMaintainer-email: a@mailinator.com\n",
                Some((3, "a@mailinator.com", Severity::Medium)),
            ),
            (
                "address in Author",
                "Name: x\nAuthor: bob@guerrillamail.com\n",
                Some((2, "bob@guerrillamail.com", Severity::Low)),
            ),
            (
                "folded onto a continuation line",
                "Name: x\nAuthor-email: Dev <dev@example.org>,\n  Other <o@proton.me>\n",
                Some((2, "o@proton.me", Severity::Low)),
            ),
            (
                "case-insensitive header name",
                "Name: x\nauthor-EMAIL: a@mailinator.com\n",
                Some((2, "a@mailinator.com", Severity::Medium)),
            ),
            ("ordinary", "Name: x\nAuthor-email: dev@example.org\n", None),
            ("odd local part at an ordinary domain", "Name: x\nAuthor-email: a..b@example.org\n", None),
            (
                "anonymous address in description only",
                "Name: x\nAuthor-email: dev@example.org\n\nContact me at x@proton.me\n",
                None,
            ),
        ];
        for (name, md, want) in cases {
            let got = scan_pkg(
                &AnonymousAuthor,
                "x-1.0-py3-none-any.whl",
                Some("x"),
                ArtifactKind::Wheel,
                Some(md),
                &members,
            );
            match want {
                None => assert!(got.is_empty(), "{name}: {got:?}"),
                Some((line, ind, sev)) => {
                    let g = got.first().unwrap_or_else(|| panic!("{name}: no hit"));
                    assert_eq!(
                        (g.id, g.path.as_str(), g.line, g.indicator.as_str(), g.severity),
                        (META.id, "x-1.0.dist-info/METADATA", Some(*line), *ind, *sev),
                        "{name}"
                    );
                }
            }
        }
    }
}
