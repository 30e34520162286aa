//! `network.ip-address`: public IPv4/IPv6 literals in code, strings and shipped
//! text (hard-coded hosts bypass DNS-based blocking and are typical for C2).
//!
//! An address that is a URL's host (`http://45.77.12.9/x`, `http://[2a03:2880::1]/`)
//! is a request straight to a machine: medium, install time high; a bare literal is low,
//! install time medium.
//!
//! Quiet for: private, loopback, link-local, shared, multicast, documentation and
//! reserved ranges; version-like strings (`__version__ = "1.2.3.4"`, classifiers,
//! `==1.2.3.4`, `v1.2.3.4`), OIDs and longer dotted numbers (`1.2.840.113549.1`),
//! Python comments and docstrings, tests, docs and packaging metadata.

use super::pysrc::{self, Kind, MAX_HITS_PER_FILE};
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
#[cfg(test)]
use regex::Regex;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "network.ip-address",
    revision: 2,
    title: "Contains IP addresses.",
    category: Category::Network,
    severity: Severity::Low,
    description: "Hard-coded public IP addresses skip DNS (and DNS-based blocking) and are common for command-and-control servers.",
};

const V4_PATTERN: &str = r"(?-u:\b)\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?-u:\b)";
const V6_PATTERN: &str = r"(?i)(?-u:\b)[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}(?-u:\b)";
/// The whole-text searches [`v4_ranges`] and [`v6_ranges`] are tested equal to.
#[cfg(test)]
static V4: LazyLock<Regex> = LazyLock::new(|| Regex::new(V4_PATTERN).expect("v4"));
#[cfg(test)]
static V6: LazyLock<Regex> = LazyLock::new(|| Regex::new(V6_PATTERN).expect("v6"));
/// The patterns, for searches confined to windows ([`pysrc::find_in_windows`]).
static V4_IN: LazyLock<regex_automata::meta::Regex> =
    LazyLock::new(|| regex_automata::meta::Regex::new(V4_PATTERN).expect("v4"));
static V6_IN: LazyLock<regex_automata::meta::Regex> =
    LazyLock::new(|| regex_automata::meta::Regex::new(V6_PATTERN).expect("v6"));

/// `V4.find_iter(text)`'s ranges. A match is made of digits and dots only (Unicode digits
/// are bytes of `0x80` and above), so it lies inside one maximal run of digits, dots and
/// non-ASCII bytes holding three dots and seven bytes, around a dot with a digit on each side:
/// only those runs are searched (neither pattern has a literal the regex crate can skip ahead
/// with, so a whole-text search visits every byte). A run's edges are ASCII bytes or the
/// text's ends, so windows start and end on characters.
fn v4_ranges(text: &str) -> Vec<(usize, usize)> {
    let digit = |c: u8| c.is_ascii_digit() || c >= 0x80;
    let seed = |b: &[u8], i: usize| i > 0 && digit(b[i - 1]) && b.get(i + 1).is_some_and(|&c| digit(c));
    let windows = pysrc::runs_around(text, b'.', seed, |c| c == b'.' || digit(c), 3, 7);
    pysrc::find_in_windows(&V4_IN, text, &windows).collect()
}

/// `V6.find_iter(text)`'s ranges: only the maximal runs of hex digits, colons and non-ASCII
/// bytes that hold two colons and three bytes, around a colon right after a hex digit (a
/// match's first colon), are searched, as in [`v4_ranges`].
fn v6_ranges(text: &str) -> Vec<(usize, usize)> {
    let hex = |c: u8| c.is_ascii_hexdigit() || c >= 0x80;
    let seed = |b: &[u8], i: usize| i > 0 && hex(b[i - 1]);
    let windows = pysrc::runs_around(text, b':', seed, |c| c == b':' || hex(c), 2, 3);
    pysrc::find_in_windows(&V6_IN, text, &windows).collect()
}

/// True when two `:` lie at most five bytes apart (`:` + four hex digits + `:`): without
/// that, [`V6_PATTERN`] cannot match, and its search (a hex digit starts it) visits most bytes.
fn colons_close(text: &str) -> bool {
    let b = text.as_bytes();
    let mut last: Option<usize> = None;
    for i in memchr::memchr_iter(b':', b) {
        if last.is_some_and(|l| i - l <= 5) {
            return true;
        }
        last = Some(i);
    }
    false
}

/// True for an IPv4 address on the public internet.
/// False when [`V4_PATTERN`] cannot match: the text is ASCII and has no three dots in a row each
/// flanked by digits and separated by one to three digits (`1.2.3.4`). A pass over the dots
/// (memchr) instead of the regex's search, which has no literal to skip ahead with.
/// Non-ASCII text is always searched (`\d` is Unicode there).
fn may_hold_v4(text: &str) -> bool {
    if !text.is_ascii() {
        return true;
    }
    let b = text.as_bytes();
    let (mut last, mut chain) = (0usize, 0u32);
    for i in memchr::memchr_iter(b'.', b) {
        if i == 0 || !b[i - 1].is_ascii_digit() || !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            continue;
        }
        let joined = chain > 0 && (2..=4).contains(&(i - last)) && b[last + 1..i].iter().all(u8::is_ascii_digit);
        chain = if joined { chain + 1 } else { 1 };
        if chain == 3 {
            return true;
        }
        last = i;
    }
    false
}

pub(crate) fn public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || ip.is_multicast()
        || o[0] == 0
        || o[0] >= 240
        || (o[0] == 100 && (64..128).contains(&o[1]))
        || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        || o[0] == 255)
}

/// True for a global-unicast IPv6 address outside documentation space.
pub(crate) fn public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    (s[0] & 0xe000) == 0x2000
        && !(s[0] == 0x2001 && s[1] == 0x0db8)
        && s[0] != 0x2002
        && !(s[0] == 0x2001 && s[1] < 0x0200)
}

/// True for a host that is a public IPv4 or IPv6 literal (`45.77.12.9`, `2a03:2880::1`).
pub(crate) fn public_ip(host: &str) -> bool {
    host.parse().is_ok_and(public_v4) || host.parse().is_ok_and(public_v6)
}

fn version_context(text: &str, start: usize, end: usize) -> bool {
    let b = text.as_bytes();
    // Part of a longer dotted number (OID, 5-part version) or a version specifier.
    if start > 0 && matches!(b[start - 1], b'.' | b'v' | b'V' | b'=' | b'~' | b'-' | b'_' | b'<' | b'>') {
        return true;
    }
    if end < b.len() && b[end] == b'.' && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
        return true;
    }
    let ls = b[..start].iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1);
    let le = b[end..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| end + p);
    let line = text[ls..le].to_ascii_lowercase();
    ["version", "classifier", "oid", "objectidentifier", "release", "requires", "mask"].iter().any(|k| line.contains(k))
}

pub(crate) struct IpAddress;

impl Detector for IpAddress {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(
            // Any dotted digit run or colon-hex run; the regex confirms.
            &["0.", "1.", "2.", "3.", "4.", "5.", "6.", "7.", "8.", "9.", "::"],
        )
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if matches!(file.role, FileRole::TestOrDocs | FileRole::Metadata | FileRole::Binary)
            || pysrc::test_member(file)
            || pysrc::docs_member(file)
        {
            return;
        }
        let src = file.source();
        let install = file.role == FileRole::InstallTime;
        // A URL's host: `://` right before the address (or `://[` for IPv6).
        let sev = |start: usize| {
            let url_host = file.text[..start].ends_with("://") || file.text[..start].ends_with("://[");
            match (install, url_host) {
                (true, true) => Severity::High,
                (true, false) | (false, true) => Severity::Medium,
                (false, false) => Severity::Low,
            }
        };
        let live = |off: usize| !src.python || matches!(src.kind_at(off), Kind::Code | Kind::Str);
        let mut n = 0;
        let v4 = may_hold_v4(file.text).then(|| v4_ranges(file.text));
        for (start, end) in v4.into_iter().flatten() {
            if n >= MAX_HITS_PER_FILE {
                return;
            }
            let s = &file.text[start..end];
            // Leading zeros are versions or dates, not addresses.
            if s.split('.').any(|o| o.len() > 1 && o.starts_with('0')) {
                continue;
            }
            let Ok(ip) = s.parse::<Ipv4Addr>() else {
                continue;
            };
            // x.y.z.0 is a network id, and the usual shape of 4-part versions (1.0.0.0).
            if ip.octets()[3] == 0 || !public_v4(ip) || !live(start) || version_context(file.text, start, end) {
                continue;
            }
            n += 1;
            hits.push(&META, Hit { severity: Some(sev(start)), evidence: pysrc::evidence(file, start, s) });
        }
        if !colons_close(file.text) {
            return; // `V6` needs two colons at most five bytes apart: skip its search
        }
        for (start, end) in v6_ranges(file.text) {
            if n >= MAX_HITS_PER_FILE {
                return;
            }
            let s = &file.text[start..end];
            let Ok(ip) = s.parse::<Ipv6Addr>() else {
                continue;
            };
            if !public_v6(ip) || !live(start) {
                continue;
            }
            n += 1;
            hits.push(&META, Hit { severity: Some(sev(start)), evidence: pysrc::evidence(file, start, s) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_searches_are_the_whole_searches() {
        let whole = |re: &Regex, t: &str| re.find_iter(t).map(|m| (m.start(), m.end())).collect::<Vec<_>>();
        let cases = [
            ("empty", ""),
            ("address", "x = '8.8.8.8'"),
            ("address at the ends", "1.2.3.4"),
            ("five parts", "1.2.3.4.5 and 10.20.30.40.50.60.70"),
            ("long digit runs", "1234.5.6.7 1.2.3.4567 12.34.56.78"),
            ("word joined", "a1.2.3.4 1.2.3.4b _1.2.3.4"),
            ("dots around", "..1.2.3.4.. v1.2.3.4"),
            ("ipv6", "h = '2001:db8::1' ::1 fe80::1%eth0 [2606:4700::1111]:443"),
            ("ipv6 upper and long", "2001:DB8:0:0:0:0:0:1:2:3 a:b:c abcde::1 x::y"),
            ("python slices and dicts", "d = {'a':1,'b':2}; x[1:2:3]; def f(a:int)->b:\n  pass"),
            ("clock times", "12:30:45 and 1:2:3:4:5:6:7:8:9"),
            ("non-ASCII", "é 1.2.3.4 ٣.٣.٣.٣ beef::1 ü"),
        ];
        for (name, text) in cases {
            assert_eq!(v4_ranges(text), whole(&V4, text), "{name}: v4");
            assert_eq!(v6_ranges(text), whole(&V6, text), "{name}: v6");
        }
        // Random texts from address-ish pieces.
        let pieces = [
            "1",
            "12",
            "255",
            "0",
            ".",
            ":",
            "::",
            "a",
            "f",
            "E",
            "x",
            " ",
            "_",
            "\n",
            "1234",
            "é",
            "8.8.8.8",
            "10.1.",
            "2001:db8::",
            "٣",
            "٣.٣.",
            "ſ",
            "中",
        ];
        let (mut v4s, mut v6s) = (0, 0);
        for text in super::pysrc::random_texts(&pieces, 48, 0x2545_f491_4f6c_dd1du64, 4000) {
            let (w4, w6) = (whole(&V4, &text), whole(&V6, &text));
            v4s += w4.len();
            v6s += w6.len();
            assert_eq!(v4_ranges(&text), w4, "v4 {text:?}");
            assert_eq!(v6_ranges(&text), w6, "v6 {text:?}");
        }
        assert!(v4s > 300 && v6s > 1000, "the random texts hold matches: {v4s} v4, {v6s} v6");
    }

    #[test]
    fn v4_gate_never_hides_a_match() {
        let cases = [
            ("address", "x = '8.8.8.8'", true),
            ("three-digit octets", "h = \"203.113.255.254\"", true),
            ("address at the start", "1.2.3.4", true),
            ("version with three parts", "__version__ = '1.2.3'", false),
            ("attribute access", "os.path.join(a.b, c.d)", false),
            ("floats", "x = 1.5 + 2.25 * 3.125", false),
            ("four-digit part", "v = '1.2345.6.7'", false),
            ("dots not in a row", "a = 1.2 if b else 3.4.x.5", false),
            ("non-ASCII text is always searched", "# é\nx = 1", true),
        ];
        for (case, text, want) in cases {
            assert_eq!(may_hold_v4(text), want, "{case}");
            if !want {
                assert!(V4.find(text).is_none(), "{case}: the gate hid a match");
            }
        }
    }
    use crate::scan::detectors::testutil::table;
    use FileRole::*;
    use Severity::*;

    #[test]
    fn cases() {
        table(
            &IpAddress,
            META.id,
            &[
                ("public v4 in string", "pkg/c2.py", Runtime, "HOST = '45.77.12.9'\n", Some((1, "45.77.12.9", Low))),
                (
                    "public v4 in setup.py",
                    "setup.py",
                    InstallTime,
                    "\ns.connect(('8.8.8.8', 53))\n",
                    Some((2, "8.8.8.8", Medium)),
                ),
                (
                    "public v6",
                    "pkg/a.py",
                    Runtime,
                    "H = '2a03:2880:f10c:83::25de'\n",
                    Some((1, "2a03:2880:f10c:83::25de", Low)),
                ),
                (
                    "in url",
                    "pkg/a.py",
                    Runtime,
                    "u = 'http://93.184.216.34:8080/x'\n",
                    Some((1, "93.184.216.34", Medium)),
                ),
                (
                    "ipv6 url host in setup.py",
                    "setup.py",
                    InstallTime,
                    "urlopen('http://[2a03:2880:f10c::25de]:8080/p')\n",
                    Some((1, "2a03:2880:f10c::25de", High)),
                ),
                ("ipv6 documentation url", "pkg/a.py", Runtime, "u = 'http://[2001:db8::1]/'\n", None),
                ("loopback in comment", "pkg/a.py", Runtime, "# connect to 127.0.0.1\nx = 1\n", None),
                ("loopback in code", "pkg/a.py", Runtime, "HOST = '127.0.0.1'\n", None),
                ("private", "pkg/a.py", Runtime, "HOST = '192.168.1.10'\nH2 = '10.0.0.1'\n", None),
                ("documentation range", "pkg/a.py", Runtime, "HOST = '203.0.113.5'\n", None),
                ("version", "pkg/__init__.py", Runtime, "__version__ = '1.2.3.4'\n", None),
                ("version specifier", "pkg/a.py", Runtime, "REQ = 'foo==1.2.3.4'\n", None),
                ("oid", "pkg/a.py", Runtime, "RSA = '1.2.840.113549.1.1.1'\n", None),
                ("leading zeros", "pkg/a.py", Runtime, "D = '2020.01.02.03'\n", None),
                ("public ip in docstring", "pkg/a.py", Runtime, "\"\"\"Server 45.77.12.9\"\"\"\n", None),
                ("tests", "pkg/tests/test_net.py", Runtime, "HOST = '45.77.12.9'\n", None),
                ("ipv6 lookalike", "pkg/a.py", Runtime, "t = 'std::vector'\nx = 'de:ad:be'\n", None),
                ("ipv6 loopback", "pkg/a.py", Runtime, "H = '::1'\n", None),
                ("reserved v6 range", "pkg/a.py", Runtime, "N = \x272001:1::1\x27\n", None),
                ("changelog", "pkg/ChangeLog", Runtime, "compare 1.1.3.2/1.1.3.3 diff\nserver 45.77.12.9\n", None),
                ("oid in ObjectIdentifier", "pkg/oid.py", Runtime, "X = ObjectIdentifier(\"2.5.29.14\")\n", None),
                (
                    "four-part version ending in 0",
                    "pkg/msvc.py",
                    Runtime,
                    "ref = (\x27Windows.Foundation\x27, \x271.0.0.0\x27)\n",
                    None,
                ),
            ],
        );
    }
}
