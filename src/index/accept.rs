//! Content negotiation for index pages (PEP 691): pick JSON or HTML from `Accept` q-values.
//!
//! Owns: parsing `Accept` and the exact, lowercase content types pipgate answers with.
//! Must not: render pages.

/// The format pipgate answers a page request with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum PageFormat {
    /// `application/vnd.pypi.simple.v1+json` (PEP 691).
    Json,
    /// `application/vnd.pypi.simple.v1+html` (PEP 503 HTML under the PEP 691 name).
    HtmlV1,
    /// Plain `text/html`, for clients that only ask for that.
    TextHtml,
}

pub(crate) const JSON_V1: &str = "application/vnd.pypi.simple.v1+json";
pub(crate) const HTML_V1: &str = "application/vnd.pypi.simple.v1+html";
pub(crate) const TEXT_HTML: &str = "text/html";

impl PageFormat {
    /// The exact content type sent (uv matches it case-sensitively).
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            PageFormat::Json => JSON_V1,
            PageFormat::HtmlV1 => HTML_V1,
            PageFormat::TextHtml => "text/html; charset=utf-8",
        }
    }
}

/// Choose the format by q-value; ties go to JSON, then the v1 HTML name. No `Accept`
/// (or nothing we offer) gets `text/html`, which every client understands.
pub(crate) fn negotiate(accept: Option<&str>) -> PageFormat {
    let Some(accept) = accept else {
        return PageFormat::TextHtml;
    };
    // (format, server preference) — lower index wins ties.
    let offers = [(PageFormat::Json, JSON_V1), (PageFormat::HtmlV1, HTML_V1), (PageFormat::TextHtml, TEXT_HTML)];
    // Highest q wins; then a specific match beats a wildcard; among specific matches
    // JSON is preferred, among wildcard-only matches plain HTML (what every client reads).
    let mut best: Option<(f32, u8, usize)> = None;
    for (i, (_, offered)) in offers.iter().enumerate() {
        let (q, spec) = quality_for(accept, offered);
        if q <= 0.0 {
            continue;
        }
        let pref = if spec == 3 { offers.len() - i } else { i };
        if best.is_none_or(|(bq, bs, bp)| (q, spec, pref) > (bq, bs, bp)) {
            best = Some((q, spec, pref));
        }
    }
    best.map(|(_, spec, pref)| if spec == 3 { offers[offers.len() - pref].0 } else { offers[pref].0 })
        .unwrap_or(PageFormat::TextHtml)
}

/// What a report (`/reports/<sha256>`) is answered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportMedia {
    /// The page people read, for browsers (`text/html` named, and preferred to JSON and text).
    Html,
    /// The JSON contract, for any `Accept` that names a JSON type.
    Json,
    /// Plain text: no `Accept`, `*/*`, `text/plain`, or nothing else offered.
    Text,
}

/// HTML only when `text/html` (or `application/xhtml+xml`) is named and preferred strictly
/// to JSON and to `text/plain` (browsers); JSON when a JSON type is named; text otherwise,
/// so scripts and `curl` keep getting what they got before the page existed.
pub(crate) fn negotiate_report(accept: Option<&str>) -> ReportMedia {
    let Some(accept) = accept else {
        return ReportMedia::Text;
    };
    let named = |offered: &str| match quality_for(accept, offered) {
        (q, 3) => q,
        _ => 0.0,
    };
    let html = named(TEXT_HTML).max(named("application/xhtml+xml"));
    // Any JSON type counts (`application/json`, `application/problem+json`, ...).
    let mut json = 0.0f32;
    for range in accept.split(',') {
        let media = range.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if media.contains("json") {
            json = json.max(quality_for(range, &media).0);
        }
    }
    let text = named("text/plain");
    if html > 0.0 && html > json && html > text {
        ReportMedia::Html
    } else if json > 0.0 {
        ReportMedia::Json
    } else {
        ReportMedia::Text
    }
}

/// The q-value `accept` gives `offered`, using the most specific matching range.
fn quality_for(accept: &str, offered: &str) -> (f32, u8) {
    let (otype, osub) = offered.split_once('/').unwrap_or((offered, ""));
    let latest = offered.replace(".v1+", ".latest+");
    let mut best: Option<(u8, f32)> = None; // (specificity, q)
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0f32;
        for p in parts {
            if let Some((k, v)) = p.split_once('=') {
                if k.trim().eq_ignore_ascii_case("q") {
                    q = v.trim().parse().unwrap_or(0.0);
                }
            }
        }
        let spec = if media == offered || media == latest {
            3
        } else if media == format!("{otype}/*") {
            2
        } else if media == "*/*" {
            1
        } else {
            continue;
        };
        let _ = osub;
        if best.is_none_or(|(s, _)| spec > s) {
            best = Some((spec, q));
        }
    }
    best.map(|(s, q)| (q, s)).unwrap_or((0.0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_q_values() {
        let cases = [
            ("pip", Some("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"), PageFormat::Json),
            ("uv", Some("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"), PageFormat::Json),
            ("old pip", Some("text/html"), PageFormat::TextHtml),
            ("html preferred", Some("application/vnd.pypi.simple.v1+json;q=0.5, application/vnd.pypi.simple.v1+html"), PageFormat::HtmlV1),
            ("latest alias", Some("application/vnd.pypi.simple.latest+json"), PageFormat::Json),
            ("wildcard gets plain HTML", Some("*/*"), PageFormat::TextHtml),
            ("browser", Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"), PageFormat::TextHtml),
            ("both v1 equal, JSON wins", Some("application/vnd.pypi.simple.v1+html, application/vnd.pypi.simple.v1+json"), PageFormat::Json),
            ("json refused", Some("application/vnd.pypi.simple.v1+json;q=0, text/html"), PageFormat::TextHtml),
            ("no header", None, PageFormat::TextHtml),
            ("nothing we offer", Some("image/png"), PageFormat::TextHtml),
            ("case-insensitive request", Some("Application/Vnd.Pypi.Simple.V1+Json"), PageFormat::Json),
        ];
        for (case, accept, want) in cases {
            assert_eq!(negotiate(accept), want, "{case}");
        }
    }

    #[test]
    fn reports_negotiate_html_only_for_browsers() {
        let cases = [
            ("browser", Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"), ReportMedia::Html),
            ("plain text/html", Some("text/html"), ReportMedia::Html),
            ("json", Some("application/json"), ReportMedia::Json),
            ("problem json", Some("application/problem+json"), ReportMedia::Json),
            ("json preferred to html", Some("text/html;q=0.5, application/json"), ReportMedia::Json),
            ("html preferred to json", Some("text/html, application/json;q=0.5"), ReportMedia::Html),
            ("json and html tie: json", Some("text/html, application/json"), ReportMedia::Json),
            ("text/plain", Some("text/plain"), ReportMedia::Text),
            ("text preferred to html", Some("text/plain, text/html;q=0.5"), ReportMedia::Text),
            ("curl", Some("*/*"), ReportMedia::Text),
            ("no header", None, ReportMedia::Text),
            ("html refused", Some("text/html;q=0"), ReportMedia::Text),
            ("json refused", Some("application/json;q=0, text/plain"), ReportMedia::Text),
            ("case-insensitive", Some("Text/HTML"), ReportMedia::Html),
        ];
        for (case, accept, want) in cases {
            assert_eq!(negotiate_report(accept), want, "{case}");
        }
    }
}
