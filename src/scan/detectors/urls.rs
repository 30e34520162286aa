//! URL extraction shared by the URL-indicator detectors (banking, interesting file
//! formats, trusted-domain subdomains, shorteners): one precompiled regex, host and
//! path split, registrable domain via `psl`.
//!
//! Owns: which URLs count. In Python only URLs in code or expression strings count
//! (docstrings and comments are documentation); tests, docs and packaging metadata
//! are skipped entirely. Must not: decide what a URL means.

use super::pysrc::{self, Kind, Source, MAX_HITS_PER_FILE};
use crate::model::{FileRole, Severity};
use crate::scan::detector::{DetectorMeta, Hit, Hits, TextFile};
use crate::scan::source::Ranges;
use regex::Regex;
use std::sync::LazyLock;

const URL_PATTERN: &str = r#"(?i)(?-u:\b)(?:https?|ftps?|wss?)://[^\s'"<>()\[\]{}\\^`|,;]+"#;
static URL_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(URL_PATTERN).expect("url regex"));
/// The same pattern, for anchored searches at the candidate starts before each `://`.
static URL_AT: LazyLock<regex_automata::meta::Regex> =
    LazyLock::new(|| regex_automata::meta::Regex::new(URL_PATTERN).expect("url regex"));
/// Bytes a match's scheme takes before its `://`: `ws` to `https`, and `ſ` (which folds to
/// `s` case-insensitively) is two bytes, so `httpſ` is six.
const SCHEME_BYTES: (usize, usize) = (2, 6);

/// `URL_RE.find_iter(text)`'s ranges, confirmed only near each `://` (every match holds one
/// right after its scheme, so it starts 2 to 6 bytes before one): [`pysrc::find_at_starts`].
fn url_ranges(text: &str) -> Ranges {
    let mut starts: Vec<usize> = memchr::memmem::find_iter(text.as_bytes(), "://")
        .flat_map(|q| q.saturating_sub(SCHEME_BYTES.1)..q.saturating_sub(SCHEME_BYTES.0 - 1)) // q-6 ..= q-2
        .collect();
    // The ranges of occurrences closer than six bytes overlap.
    starts.sort_unstable();
    starts.dedup();
    pysrc::find_at_starts(&URL_AT, text, starts).into()
}

/// Literals that make a file worth URL extraction.
pub(crate) const URL_LITERALS: &[&str] = &["://"];

/// One URL found in a text.
#[derive(Debug, Clone)]
pub(crate) struct FoundUrl<'a> {
    pub offset: usize,
    pub url: &'a str,
    /// Lowercased host without userinfo, port or trailing dot.
    pub host: String,
    /// Path (without query or fragment), as written.
    pub path: &'a str,
}

impl FoundUrl<'_> {
    /// Registrable domain (`paypal.com.evil.ru` → `evil.ru`), or the host itself.
    pub(crate) fn registrable(&self) -> &str {
        psl::domain_str(&self.host).unwrap_or(&self.host)
    }
}

/// Whether a file's URLs count at all.
pub(crate) fn file_counts(file: &TextFile<'_>) -> bool {
    !matches!(file.role, FileRole::TestOrDocs | FileRole::Metadata | FileRole::Binary)
        && !super::pysrc::test_member(file)
        && !super::pysrc::docs_member(file)
}

/// The walk every list-based URL detector shares (banking, shorteners): each counted URL
/// that `pick` selects is a hit (with `pick`'s indicator), low in library code and medium
/// at install time.
pub(crate) fn report_each(
    file: &TextFile<'_>,
    hits: &mut Hits,
    meta: &'static DetectorMeta,
    pick: impl Fn(&FoundUrl<'_>) -> Option<String>,
) {
    if !file_counts(file) {
        return;
    }
    let src = file.source();
    // Lexing (what decides which URLs count) is paid only when some URL would be picked.
    if !any_url(src, |u| pick(u).is_some()) {
        return;
    }
    let sev = if file.role == FileRole::InstallTime { Severity::Medium } else { Severity::Low };
    for (u, indicator) in find(src).filter_map(|u| pick(&u).map(|i| (u, i))).take(MAX_HITS_PER_FILE) {
        hits.push(meta, Hit { severity: Some(sev), evidence: pysrc::evidence(file, u.offset, indicator) });
    }
}

/// Every counted URL of `src`.
pub(crate) fn find<'a>(src: &'a Source<'a>) -> impl Iterator<Item = FoundUrl<'a>> + 'a {
    // One regex pass per member, shared by the URL detectors (see `Source::find_ranges`).
    let ranges = src.find_ranges_by(&URL_RE, url_ranges);
    (0..ranges.len()).filter_map(move |i| {
        let (start, end) = ranges[i];
        if src.python && !matches!(src.kind_at(start), Kind::Code | Kind::Str) {
            return None;
        }
        let url = src.text[start..end].trim_end_matches(['.', ':', '!', '?']);
        parse(start, url)
    })
}

/// Whether some URL of `src`, counted or not, satisfies `pred`: false means no URL [`find`]
/// yields does, without asking where each URL stands. That needs the member lexed (comments,
/// docstrings), which costs more than the URL search; most members' URLs (licence headers,
/// documentation links) are none a detector looks for, so a detector that acts only on URLs
/// satisfying `pred` asks this first and lexes only when it can act.
///
/// Parsing and judging a URL costs more than lexing the bytes around it when URLs are dense
/// (a list of links in comments): with more than one URL per [`ANY_URL_BYTES`] of text the
/// answer is "maybe" (true) at once, and the caller lexes as before, so no text costs more than
/// it did.
pub(crate) fn any_url(src: &Source<'_>, pred: impl FnMut(&FoundUrl<'_>) -> bool) -> bool {
    let ranges = src.find_ranges_by(&URL_RE, url_ranges);
    ranges.len().saturating_mul(ANY_URL_BYTES) > src.text.len() || any_of(src, &ranges, pred)
}

/// Text bytes per URL under which [`any_url`] does not judge URLs one by one.
const ANY_URL_BYTES: usize = 2048;

/// Whether some URL of `ranges` (of `src`), counted or not, satisfies `pred`.
fn any_of(src: &Source<'_>, ranges: &[(usize, usize)], mut pred: impl FnMut(&FoundUrl<'_>) -> bool) -> bool {
    ranges.iter().any(|&(start, end)| {
        let url = src.text[start..end].trim_end_matches(['.', ':', '!', '?']);
        parse(start, url).is_some_and(|u| pred(&u))
    })
}

/// Split a URL into host and path.
pub(crate) fn parse(offset: usize, url: &str) -> Option<FoundUrl<'_>> {
    let rest = &url[url.find("://")? + 3..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    let hostport = authority.rsplit('@').next().unwrap_or(authority);
    let host = if hostport.starts_with('[') {
        hostport.split(']').next().unwrap_or(hostport).trim_start_matches('[')
    } else {
        hostport.split(':').next().unwrap_or(hostport)
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() || !host.contains(['.', ':']) {
        return None;
    }
    let after = &rest[auth_end..];
    let path_end = after.find(['?', '#']).unwrap_or(after.len());
    Some(FoundUrl { offset, url, host, path: &after[..path_end] })
}

/// True when `host` is `domain` or one of its subdomains.
pub(crate) fn host_is(host: &str, domain: &str) -> bool {
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_and_paths() {
        let cases = [
            ("plain", "https://Example.org/a/b.exe?x=1", "example.org", "/a/b.exe"),
            ("userinfo and port", "http://u:p@files.example.org:8080/x", "files.example.org", "/x"),
            ("ipv6", "http://[2001:db8::1]:80/", "2001:db8::1", "/"),
            ("no path", "https://example.org", "example.org", ""),
        ];
        for (name, url, host, path) in cases {
            let u = parse(0, url).unwrap_or_else(|| panic!("{name}"));
            assert_eq!((u.host.as_str(), u.path), (host, path), "{name}");
        }
        assert_eq!(parse(0, "https://paypal.com.evil.ru/x").unwrap().registrable(), "evil.ru");
        assert!(parse(0, "http://localhost/x").is_none());
        assert!(host_is("api.example.org", "example.org"));
        assert!(!host_is("badexample.org", "example.org"));
    }

    #[test]
    fn candidate_search_is_the_whole_search() {
        let whole = |t: &str| URL_RE.find_iter(t).map(|m| (m.start(), m.end())).collect::<Vec<_>>();
        let cases = [
            ("empty", ""),
            ("bare separator", "://"),
            ("separator at the start", "://x.org http://a.org"),
            ("plain", "u = 'https://example.org/a'"),
            ("upper case", "U = \"HTTPS://EXAMPLE.ORG\""),
            ("long s folds to s", "x httpſ://a.org wſſ://b.org"),
            ("word before the scheme", "xhttp://a.org myhttps://b.org"),
            ("dot before the scheme", ".http://a.org"),
            ("url inside a url", "http://a.org/?next=https://b.org/x"),
            ("adjacent urls", "http://a.org,https://b.org;ftp://c.org"),
            ("scheme without host", "http:// x"),
            ("not a scheme", "git://a.org svn+ssh://b.org"),
            ("scheme at the text start", "ws://a.b"),
            ("non-ASCII before", "é://a.b ſ://c.d éhttp://e.f"),
            ("newline ends it", "http://a.org\nhttp://b.org"),
        ];
        for (name, text) in cases {
            assert_eq!(&*url_ranges(text), &whole(text)[..], "{name}");
        }
        // Random texts from URL-ish pieces.
        let pieces =
            ["http", "https", "HTTP", "s", "ſ", "ws", "ftp", "://", ":", "/", "a", ".", " ", "'", "é", ",", "\n", "x"];
        let mut found = 0;
        for text in super::pysrc::random_texts(&pieces, 40, 0x9e37_79b9_7f4a_7c15u64, 4000) {
            let want = whole(&text);
            found += want.len();
            assert_eq!(&*url_ranges(&text), &want[..], "{text:?}");
        }
        assert!(found > 300, "the random texts hold URLs: {found}");
    }

    #[test]
    fn any_url_is_false_only_when_no_counted_url_would_do() {
        // `any_url(pred)` may be true for an uncounted URL (then `find` decides), but never
        // false when a counted one satisfies `pred`.
        let hosts = ["a.example.org", "bit.ly", "www.paypal.com", "x.org"];
        let pieces = [
            "u = '",
            "'",
            "\"",
            "\"\"\"",
            "# ",
            "\n",
            "https://",
            "http://",
            "HTTP://",
            "a.example.org",
            "bit.ly",
            "www.paypal.com",
            "x.org",
            "/p",
            ".",
            " ",
            "é",
            "f'",
            "{",
            "}",
        ];
        let mut counted = 0;
        let mut uncounted_only = 0;
        for text in super::pysrc::random_texts(&pieces, 30, 0x2545_f491_4f6c_dd1du64, 4000) {
            for python in [true, false] {
                let src = if python { Source::python(&text) } else { Source::plain(&text) };
                for host in hosts {
                    let pred = |u: &FoundUrl<'_>| u.host == host;
                    let in_find = find(&src).any(|u| pred(&u));
                    let ranges = src.find_ranges_by(&URL_RE, url_ranges);
                    let any = any_of(&src, &ranges, pred);
                    assert!(any || !in_find, "{text:?} (python: {python}): {host} is counted");
                    assert!(any_url(&src, pred) || !in_find, "{text:?} (python: {python}): {host}");
                    counted += usize::from(in_find);
                    uncounted_only += usize::from(any && !in_find);
                }
            }
        }
        assert!(counted > 300 && uncounted_only > 100, "both kinds occur: {counted} / {uncounted_only}");
    }

    #[test]
    fn skips_docstrings_and_comments() {
        let text =
            "\"\"\"See https://a.example.org/doc\"\"\"\n# https://b.example.org\nu = 'https://c.example.org/x'\n";
        let src = Source::python(text);
        let hosts: Vec<_> = find(&src).map(|u| u.host).collect();
        assert_eq!(hosts, vec!["c.example.org"]);
    }

    #[test]
    fn the_url_regex_runs_once_per_member() {
        use crate::scan::detector::Detector;
        use crate::scan::detectors::{net_banking_url::BankingUrl, net_url_shortener::UrlShortener};
        let text = "u = 'https://bit.ly/x'\nv = 'https://www.paypal.com/y'\n";
        let file = TextFile::new("pkg/a.py", FileRole::Runtime, true, text);
        let mut hits = Hits::default();
        BankingUrl.scan_text(&file, &mut hits);
        UrlShortener.scan_text(&file, &mut hits);
        assert_eq!(hits.len(), 2, "both detectors saw their URL");
        assert_eq!(file.source().searches(), 1, "one URL search shared by both detectors");
        let again = TextFile::new("pkg/a.py", FileRole::Runtime, true, text);
        assert_eq!(find(again.source()).count(), 2);
        assert_eq!(again.source().searches(), 1, "another member is searched on its own");
    }
}
