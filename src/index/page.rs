//! The index page model and the parsers for upstream pages (PEP 691 JSON, PEP 503 HTML).
//!
//! Owns: turning upstream bytes into [`ProjectPage`] / a root listing, keeping every
//! field clients rely on (hashes, requires-python, yanked with reason, core metadata,
//! size, upload-time, unknown keys) and resolving relative URLs.
//! Must not: fetch, cache or rewrite URLs (that is `index::render`).

use crate::model::normalize_project_name;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use url::Url;

/// One file entry, in upstream terms.
#[derive(Debug, Clone, PartialEq)]
pub struct FileEntry {
    pub filename: String,
    /// Absolute upstream URL, without fragment.
    pub url: Url,
    /// Algorithm → lowercase hex digest.
    pub hashes: BTreeMap<String, String>,
    pub requires_python: Option<String>,
    /// `None`: not yanked; `Some(None)`: yanked without reason; `Some(Some(r))`: with reason.
    pub yanked: Option<Option<String>>,
    /// PEP 658/714 core metadata advert: `true`, or a map of hashes. `None`: not advertised.
    pub core_metadata: Option<Value>,
    pub size: Option<u64>,
    pub upload_time: Option<String>,
    /// Keys we do not interpret (JSON keys, or HTML `data-*` attributes as `data-…` keys), kept verbatim.
    pub extra: Map<String, Value>,
}

impl FileEntry {
    pub fn sha256(&self) -> Option<&str> {
        self.hashes.get("sha256").map(String::as_str)
    }
    /// The advertised metadata sha256, if the advert carries one.
    pub fn core_metadata_sha256(&self) -> Option<&str> {
        self.core_metadata.as_ref()?.get("sha256")?.as_str()
    }
}

/// A project page, in upstream terms.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProjectPage {
    pub name: String,
    pub files: Vec<FileEntry>,
    /// PEP 700 `versions`, when the upstream gave it.
    pub versions: Option<Vec<String>>,
    /// Top-level keys we do not interpret (e.g. `project-status`), kept verbatim.
    pub extra: Map<String, Value>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Parse an upstream project page by its content type.
pub fn parse_project(body: &str, content_type: &str, page_url: &Url, project: &str) -> Result<ProjectPage, ParseError> {
    if content_type.to_ascii_lowercase().contains("json") {
        parse_project_json(body, page_url)
    } else {
        parse_project_html(body, page_url, project)
    }
}

fn parse_project_json(body: &str, page_url: &Url) -> Result<ProjectPage, ParseError> {
    let root: Value = serde_json::from_str(body).map_err(|e| ParseError(format!("invalid JSON: {e}")))?;
    let Value::Object(mut obj) = root else {
        return Err(ParseError("top level is not an object".into()));
    };
    let name = obj.remove("name").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    let files = match obj.remove("files") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(ParseError("`files` is not an array".into())),
        None => return Err(ParseError("no `files` key".into())),
    };
    let versions = obj
        .remove("versions")
        .and_then(|v| v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()));
    obj.remove("meta");
    let files = files
        .into_iter()
        .enumerate()
        .map(|(i, f)| parse_json_file(f, page_url).map_err(|e| ParseError(format!("files[{i}]: {}", e.0))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ProjectPage { name, files, versions, extra: obj })
}

fn parse_json_file(v: Value, page_url: &Url) -> Result<FileEntry, ParseError> {
    let Value::Object(mut o) = v else {
        return Err(ParseError("entry is not an object".into()));
    };
    let filename = take_str(&mut o, "filename").ok_or_else(|| ParseError("no filename".into()))?;
    let raw_url = take_str(&mut o, "url").ok_or_else(|| ParseError(format!("{filename}: no url")))?;
    let (url, frag_hashes) = resolve(page_url, &raw_url)?;
    let mut hashes = frag_hashes;
    if let Some(Value::Object(h)) = o.remove("hashes") {
        for (k, v) in h {
            if let Some(s) = v.as_str() {
                hashes.insert(k.to_ascii_lowercase(), s.to_ascii_lowercase());
            }
        }
    }
    let yanked = match o.remove("yanked") {
        Some(Value::Bool(true)) => Some(None),
        Some(Value::String(r)) => Some(Some(r)),
        _ => None,
    };
    let core = o.remove("core-metadata");
    let legacy = o.remove("dist-info-metadata");
    let core_metadata = [core, legacy].into_iter().flatten().find(|v| !matches!(v, Value::Bool(false)));
    Ok(FileEntry {
        filename,
        url,
        hashes,
        requires_python: take_str(&mut o, "requires-python"),
        yanked,
        core_metadata,
        size: o.remove("size").and_then(|v| v.as_u64()),
        upload_time: take_str(&mut o, "upload-time"),
        extra: o,
    })
}

fn take_str(o: &mut Map<String, Value>, key: &str) -> Option<String> {
    match o.remove(key) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// Resolve `href` against the page and split off a `#algo=hex` fragment.
fn resolve(page_url: &Url, href: &str) -> Result<(Url, BTreeMap<String, String>), ParseError> {
    let mut url = page_url.join(href).map_err(|e| ParseError(format!("bad URL {href:?}: {e}")))?;
    let mut hashes = BTreeMap::new();
    if let Some(frag) = url.fragment() {
        if let Some((algo, hex)) = frag.split_once('=') {
            hashes.insert(algo.to_ascii_lowercase(), hex.to_ascii_lowercase());
        }
    }
    url.set_fragment(None);
    Ok((url, hashes))
}

fn parse_project_html(body: &str, page_url: &Url, project: &str) -> Result<ProjectPage, ParseError> {
    let dom = tl::parse(body, tl::ParserOptions::default()).map_err(|e| ParseError(format!("invalid HTML: {e}")))?;
    let parser = dom.parser();
    let mut files = Vec::new();
    for handle in dom.query_selector("a").into_iter().flatten() {
        let Some(tag) = handle.get(parser).and_then(|n| n.as_tag()) else {
            continue;
        };
        let attrs = tag.attributes();
        let Some(href) = attrs.get("href").flatten().map(|b| unescape(&b.as_utf8_str())) else {
            continue;
        };
        let text = unescape(tag.inner_text(parser).trim());
        let (url, hashes) = resolve(page_url, &href)?;
        let filename = if text.is_empty() {
            url.path_segments().and_then(|mut s| s.next_back()).unwrap_or_default().to_string()
        } else {
            text
        };
        let mut entry = FileEntry {
            filename,
            url,
            hashes,
            requires_python: None,
            yanked: None,
            core_metadata: None,
            size: None,
            upload_time: None,
            extra: Map::new(),
        };
        for (key, value) in attrs.iter() {
            let value = value.map(|v| unescape(&v)).unwrap_or_default();
            apply_html_attr(&mut entry, &key.to_ascii_lowercase(), value);
        }
        files.push(entry);
    }
    Ok(ProjectPage { name: normalize_project_name(project), files, versions: None, extra: Map::new() })
}

fn apply_html_attr(entry: &mut FileEntry, key: &str, value: String) {
    match key {
        "href" => {}
        "data-requires-python" => entry.requires_python = Some(value),
        "data-yanked" => entry.yanked = Some(if value.is_empty() { None } else { Some(value) }),
        "data-core-metadata" | "data-dist-info-metadata" if entry.core_metadata.is_none() && value != "false" => {
            entry.core_metadata = Some(match value.split_once('=') {
                Some((algo, hex)) => {
                    let mut m = Map::new();
                    m.insert(algo.to_ascii_lowercase(), Value::String(hex.to_ascii_lowercase()));
                    Value::Object(m)
                }
                None => Value::Bool(true),
            });
        }
        "data-core-metadata" | "data-dist-info-metadata" => {}
        k if k.starts_with("data-") => {
            entry.extra.insert(k.to_string(), Value::String(value));
        }
        _ => {}
    }
}

/// Decode the HTML character references upstream pages use.
pub fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        let Some(end) = rest[..rest.len().min(12)].find(';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Parse the upstream root listing (`/simple/`) into project names.
pub fn parse_root(body: &str, content_type: &str) -> Result<Vec<String>, ParseError> {
    if content_type.to_ascii_lowercase().contains("json") {
        let v: Value = serde_json::from_str(body).map_err(|e| ParseError(format!("invalid JSON: {e}")))?;
        let projects =
            v.get("projects").and_then(Value::as_array).ok_or_else(|| ParseError("no `projects` array".into()))?;
        Ok(projects.iter().filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_string)).collect())
    } else {
        let dom =
            tl::parse(body, tl::ParserOptions::default()).map_err(|e| ParseError(format!("invalid HTML: {e}")))?;
        let parser = dom.parser();
        Ok(dom
            .query_selector("a")
            .into_iter()
            .flatten()
            .filter_map(|h| h.get(parser))
            .map(|n| unescape(n.inner_text(parser).trim()))
            .filter(|t| !t.is_empty())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_url() -> Url {
        Url::parse("https://index.example.org/simple/demo/").unwrap()
    }

    #[test]
    fn html_entries_keep_every_field() {
        let html = r#"<!DOCTYPE html><html><body>
<a href="../../packages/demo-1.0-py3-none-any.whl#sha256=AB12" data-requires-python="&gt;=3.8" data-core-metadata="sha256=cd34" data-provenance="https://x.example.org/p">demo-1.0-py3-none-any.whl</a><br/>
<a href="https://files.example.org/demo-0.9.tar.gz#sha256=ef56" data-yanked="broken &amp; bad" data-dist-info-metadata="true">demo-0.9.tar.gz</a>
<a href="/abs/demo-0.8.tar.gz" data-yanked="">demo-0.8.tar.gz</a>
</body></html>"#;
        let page = parse_project(html, "text/html", &page_url(), "Demo").unwrap();
        assert_eq!(page.name, "demo");
        let [a, b, c] = &page.files[..] else { panic!("{:?}", page.files) };
        assert_eq!(a.url.as_str(), "https://index.example.org/packages/demo-1.0-py3-none-any.whl");
        assert_eq!(a.sha256(), Some("ab12"));
        assert_eq!(a.requires_python.as_deref(), Some(">=3.8"));
        assert_eq!(a.core_metadata_sha256(), Some("cd34"));
        assert_eq!(a.extra.get("data-provenance").and_then(Value::as_str), Some("https://x.example.org/p"));
        assert_eq!(b.url.as_str(), "https://files.example.org/demo-0.9.tar.gz");
        assert_eq!(b.yanked, Some(Some("broken & bad".to_string())));
        assert_eq!(b.core_metadata, Some(Value::Bool(true)));
        assert_eq!(c.url.as_str(), "https://index.example.org/abs/demo-0.8.tar.gz");
        assert_eq!(c.yanked, Some(None));
    }

    #[test]
    fn json_entries_keep_every_field() {
        let json = r#"{"meta":{"api-version":"1.1"},"name":"demo","project-status":{"status":"active"},
          "versions":["0.9","1.0"],
          "files":[{"filename":"demo-1.0-py3-none-any.whl","url":"../../f/demo-1.0-py3-none-any.whl",
            "hashes":{"sha256":"AB12"},"requires-python":">=3.8","yanked":"bad build",
            "core-metadata":{"sha256":"cd34"},"size":123,"upload-time":"2024-01-02T03:04:05.000000Z",
            "provenance":null}]}"#;
        let page = parse_project(json, "application/vnd.pypi.simple.v1+json", &page_url(), "demo").unwrap();
        assert_eq!(page.versions, Some(vec!["0.9".into(), "1.0".into()]));
        assert!(page.extra.contains_key("project-status"));
        let f = &page.files[0];
        assert_eq!(f.url.as_str(), "https://index.example.org/f/demo-1.0-py3-none-any.whl");
        assert_eq!(f.sha256(), Some("ab12"));
        assert_eq!(f.yanked, Some(Some("bad build".into())));
        assert_eq!(f.size, Some(123));
        assert_eq!(f.upload_time.as_deref(), Some("2024-01-02T03:04:05.000000Z"));
        assert_eq!(f.core_metadata_sha256(), Some("cd34"));
        assert!(f.extra.contains_key("provenance"));
    }

    #[test]
    fn malformed_pages_are_errors_not_empty_pages() {
        let cases = [
            ("json not an object", "[1,2]", "application/vnd.pypi.simple.v1+json"),
            ("json without files", r#"{"name":"demo"}"#, "application/vnd.pypi.simple.v1+json"),
            ("truncated json", r#"{"name":"demo","files":[{"filename":"#, "application/vnd.pypi.simple.v1+json"),
            ("file without url", r#"{"files":[{"filename":"x.whl"}]}"#, "application/json"),
        ];
        for (case, body, ct) in cases {
            assert!(parse_project(body, ct, &page_url(), "demo").is_err(), "{case}");
        }
    }

    #[test]
    fn entities_decode() {
        assert_eq!(unescape("&gt;=3.8,&lt;4&amp;&#33;&#x41;&bogus; &"), ">=3.8,<4&!A&bogus; &");
    }

    #[test]
    fn root_listing_parses_both_formats() {
        let html = r#"<html><body><a href="/simple/a/">A</a><a href="/simple/b-c/">b_c</a></body></html>"#;
        assert_eq!(parse_root(html, "text/html").unwrap(), vec!["A", "b_c"]);
        let json = r#"{"meta":{"api-version":"1.0"},"projects":[{"name":"A"},{"name":"b_c"}]}"#;
        assert_eq!(parse_root(json, "application/vnd.pypi.simple.v1+json").unwrap(), vec!["A", "b_c"]);
    }
}
