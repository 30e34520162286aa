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
pub(crate) struct FileEntry {
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
    pub(crate) fn sha256(&self) -> Option<&str> {
        self.hashes.get("sha256").map(String::as_str)
    }
    /// The advertised metadata sha256, if the advert carries one.
    #[cfg(test)]
    pub(crate) fn core_metadata_sha256(&self) -> Option<&str> {
        self.core_metadata.as_ref()?.get("sha256")?.as_str()
    }
}

/// A project page, in upstream terms.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ProjectPage {
    pub name: String,
    pub files: Vec<FileEntry>,
    /// PEP 700 `versions`, when the upstream gave it.
    pub versions: Option<Vec<String>>,
    /// Top-level keys we do not interpret (e.g. `project-status`), kept verbatim.
    pub extra: Map<String, Value>,
}

impl ProjectPage {
    /// The wheels and sdists a resolver could pick: not yanked, with a dist filename and a
    /// PEP 440 version (the one reading of "the releases on this page" that choosing the
    /// previous release and the baseline's latest share).
    pub(crate) fn releases(
        &self,
    ) -> impl Iterator<Item = (&FileEntry, pep440_rs::Version, crate::model::ArtifactKind)> {
        use crate::model::ArtifactKind;
        self.files.iter().filter(|e| e.yanked.is_none()).filter_map(|e| {
            let d = crate::model::parse_dist_filename(&e.filename)?;
            let v = <pep440_rs::Version as std::str::FromStr>::from_str(&d.version).ok()?;
            matches!(d.kind, ArtifactKind::Wheel | ArtifactKind::Sdist).then_some((e, v, d.kind))
        })
    }

    /// A JSON page of `pkg` listing `(filename, yanked)` (for tests of what is picked from a page).
    #[cfg(test)]
    pub(crate) fn of_files(files: &[(&str, bool)]) -> ProjectPage {
        let entries: Vec<Value> = files
            .iter()
            .map(|(f, yanked)| {
                serde_json::json!({"filename": f, "url": format!("https://files.example.org/{f}"),
                    "hashes": {"sha256": "00".repeat(32)}, "yanked": yanked})
            })
            .collect();
        let body = serde_json::json!({"meta": {"api-version": "1.1"}, "name": "pkg", "files": entries}).to_string();
        let url = Url::parse("https://index.example.org/simple/pkg/").unwrap();
        parse_project(&body, "application/vnd.pypi.simple.v1+json", &url, "pkg").unwrap()
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub(crate) struct ParseError(pub String);

/// Hash algorithms pipgate accepts from a page (the ones `hashlib` always has), with the
/// length of their hex digests. Anything else a page says about hashes is dropped.
pub(crate) const HASH_ALGORITHMS: [(&str, usize); 6] =
    [("md5", 32), ("sha1", 40), ("sha224", 56), ("sha256", 64), ("sha384", 96), ("sha512", 128)];

/// Is `hex` a digest pipgate can use for `algorithm` (a known name, lowercase hex of its length)?
pub(crate) fn valid_hash(algorithm: &str, hex: &str) -> bool {
    HASH_ALGORITHMS.iter().any(|(name, len)| *name == algorithm && hex.len() == *len)
        && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Lowercase every name and digest and keep only [`valid_hash`] ones; log what was dropped.
fn valid_hashes(project: &str, filename: &str, raw: BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (algo, hex) in raw {
        let (algo, hex) = (algo.to_ascii_lowercase(), hex.to_ascii_lowercase());
        if valid_hash(&algo, &hex) {
            out.insert(algo, hex);
        } else {
            let shown: String = hex.chars().take(80).collect();
            tracing::warn!(project, filename, algorithm = %algo.chars().take(40).collect::<String>(), digest = %shown, "upstream page gives an invalid hash; ignoring it");
        }
    }
    out
}

/// A core-metadata advert with its hashes checked: a map keeps only valid hashes (an empty
/// map becomes `true`: advertised, nothing to verify against).
fn valid_core_metadata(project: &str, filename: &str, advert: Value) -> Value {
    let Value::Object(m) = advert else { return advert };
    let raw = m.into_iter().filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string()))).collect();
    let kept = valid_hashes(project, &format!("{filename}.metadata"), raw);
    if kept.is_empty() {
        return Value::Bool(true);
    }
    Value::Object(kept.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
}

/// Is `name` a `data-*` attribute an upstream may pass through: not one of pipgate's own
/// (`data-pipgate-*`, which would be taken for ours), and safe to write back out verbatim.
pub(crate) fn upstream_data_attr(name: &str) -> bool {
    name.starts_with("data-")
        && !name.starts_with(OWN_HTML_PREFIX)
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.:".contains(&b))
}

/// Keys on a JSON file entry that only pipgate may set.
const OWN_JSON_KEY: &str = "_pipgate";
/// Prefix of the HTML attributes only pipgate may set.
const OWN_HTML_PREFIX: &str = "data-pipgate-";

/// Parse an upstream project page by its content type.
pub(crate) fn parse_project(
    body: &str,
    content_type: &str,
    page_url: &Url,
    project: &str,
) -> Result<ProjectPage, ParseError> {
    if content_type.to_ascii_lowercase().contains("json") {
        parse_project_json(body, page_url, project)
    } else {
        parse_project_html(body, page_url, project)
    }
}

fn parse_project_json(body: &str, page_url: &Url, project: &str) -> Result<ProjectPage, ParseError> {
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
        .map(|(i, f)| parse_json_file(f, page_url, project).map_err(|e| ParseError(format!("files[{i}]: {}", e.0))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ProjectPage { name, files, versions, extra: obj })
}

fn parse_json_file(v: Value, page_url: &Url, project: &str) -> Result<FileEntry, ParseError> {
    let Value::Object(mut o) = v else {
        return Err(ParseError("entry is not an object".into()));
    };
    // Only pipgate annotates; an upstream's `_pipgate` would be taken for ours.
    o.remove(OWN_JSON_KEY);
    let filename = take_str(&mut o, "filename").ok_or_else(|| ParseError("no filename".into()))?;
    let raw_url = take_str(&mut o, "url").ok_or_else(|| ParseError(format!("{filename}: no url")))?;
    let (url, mut hashes) = resolve(page_url, &raw_url)?;
    if let Some(Value::Object(h)) = o.remove("hashes") {
        for (k, v) in h {
            if let Some(s) = v.as_str() {
                hashes.insert(k, s.to_string());
            }
        }
    }
    let hashes = valid_hashes(project, &filename, hashes);
    let yanked = match o.remove("yanked") {
        Some(Value::Bool(true)) => Some(None),
        Some(Value::String(r)) => Some(Some(r)),
        _ => None,
    };
    let core = o.remove("core-metadata");
    let legacy = o.remove("dist-info-metadata");
    let core_metadata = [core, legacy]
        .into_iter()
        .flatten()
        .find(|v| !matches!(v, Value::Bool(false)))
        .map(|v| valid_core_metadata(project, &filename, v));
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

/// Resolve `href` against `base` and split off a `#algo=hex` fragment (unchecked: see [`valid_hashes`]).
fn resolve(base: &Url, href: &str) -> Result<(Url, BTreeMap<String, String>), ParseError> {
    let mut url = base.join(href).map_err(|e| ParseError(format!("bad URL {href:?}: {e}")))?;
    let mut hashes = BTreeMap::new();
    if let Some(frag) = url.fragment() {
        if let Some((algo, hex)) = frag.split_once('=') {
            hashes.insert(algo.to_string(), hex.to_string());
        }
    }
    url.set_fragment(None);
    Ok((url, hashes))
}

fn parse_project_html(body: &str, page_url: &Url, project: &str) -> Result<ProjectPage, ParseError> {
    let dom = tl::parse(body, tl::ParserOptions::default()).map_err(|e| ParseError(format!("invalid HTML: {e}")))?;
    let parser = dom.parser();
    // `<base href>` (itself relative to the page) is what links resolve against.
    let base = dom
        .query_selector("base")
        .into_iter()
        .flatten()
        .filter_map(|h| h.get(parser).and_then(|n| n.as_tag()))
        .find_map(|t| t.attributes().get("href").flatten().map(|b| unescape(&b.as_utf8_str())))
        .and_then(|href| page_url.join(href.trim()).ok())
        .unwrap_or_else(|| page_url.clone());
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
        let (url, hashes) = resolve(&base, &href)?;
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
        entry.hashes = valid_hashes(project, &entry.filename, std::mem::take(&mut entry.hashes));
        entry.core_metadata = entry.core_metadata.take().map(|v| valid_core_metadata(project, &entry.filename, v));
        files.push(entry);
    }
    Ok(ProjectPage { name: normalize_project_name(project), files, versions: None, extra: html_status(&dom) })
}

/// PEP 792's `<meta name="pypi:project-status">` (and `…-reason`), as the JSON form's
/// top-level `project-status` key, so both renderings pass the upstream's status on.
fn html_status(dom: &tl::VDom<'_>) -> Map<String, Value> {
    let parser = dom.parser();
    let (mut status, mut reason) = (None, None);
    for handle in dom.query_selector("meta").into_iter().flatten() {
        let Some(tag) = handle.get(parser).and_then(|n| n.as_tag()) else { continue };
        let attr = |k: &str| tag.attributes().get(k).flatten().map(|v| unescape(&v.as_utf8_str()));
        match attr("name").as_deref() {
            Some("pypi:project-status") => status = attr("content"),
            Some("pypi:project-status-reason") => reason = attr("content"),
            _ => {}
        }
    }
    let mut extra = Map::new();
    if let Some(status) = status {
        let mut v = serde_json::json!({ "status": status });
        if let Some(reason) = reason {
            v["reason"] = Value::String(reason);
        }
        extra.insert("project-status".into(), v);
    }
    extra
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
                    m.insert(algo.to_string(), Value::String(hex.to_string()));
                    Value::Object(m)
                }
                None => Value::Bool(true),
            });
        }
        "data-core-metadata" | "data-dist-info-metadata" => {}
        k if upstream_data_attr(k) => {
            entry.extra.insert(k.to_string(), Value::String(value));
        }
        _ => {}
    }
}

/// Decode the HTML character references upstream pages use (named, decimal, hex).
pub(crate) fn unescape(s: &str) -> String {
    html_escape::decode_html_entities(s).into_owned()
}

/// Parse the upstream root listing (`/simple/`) into project names.
pub(crate) fn parse_root(body: &str, content_type: &str) -> Result<Vec<String>, ParseError> {
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

    /// A well-formed 64-digit hex digest made of `unit` repeated.
    fn h(unit: &str) -> String {
        unit.repeat(64 / unit.len())
    }

    /// `text` with the short digests `AB12`, `cd34`, `ef56` made 64 digits long.
    fn digests(text: &str) -> String {
        ["AB12", "cd34", "ef56"].iter().fold(text.to_string(), |t, u| t.replace(u, &h(u)))
    }

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
        let page = parse_project(&digests(html), "text/html", &page_url(), "Demo").unwrap();
        assert_eq!(page.name, "demo");
        let [a, b, c] = &page.files[..] else { panic!("{:?}", page.files) };
        assert_eq!(a.url.as_str(), "https://index.example.org/packages/demo-1.0-py3-none-any.whl");
        assert_eq!(a.sha256(), Some(&*h("ab12")));
        assert_eq!(a.requires_python.as_deref(), Some(">=3.8"));
        assert_eq!(a.core_metadata_sha256(), Some(&*h("cd34")));
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
        let page = parse_project(&digests(json), "application/vnd.pypi.simple.v1+json", &page_url(), "demo").unwrap();
        assert_eq!(page.versions, Some(vec!["0.9".into(), "1.0".into()]));
        assert!(page.extra.contains_key("project-status"));
        let f = &page.files[0];
        assert_eq!(f.url.as_str(), "https://index.example.org/f/demo-1.0-py3-none-any.whl");
        assert_eq!(f.sha256(), Some(&*h("ab12")));
        assert_eq!(f.yanked, Some(Some("bad build".into())));
        assert_eq!(f.size, Some(123));
        assert_eq!(f.upload_time.as_deref(), Some("2024-01-02T03:04:05.000000Z"));
        assert_eq!(f.core_metadata_sha256(), Some(&*h("cd34")));
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
        let cases = [
            ("no entities", "plain", "plain"),
            (
                "named, decimal, hex, unknown, bare ampersand",
                "&gt;=3.8,&lt;4&amp;&#33;&#x41;&bogus; &",
                ">=3.8,<4&!A&bogus; &",
            ),
            ("quotes", "&quot;a&quot; &apos;b&apos; &#39;c&#39;", "\"a\" 'b' 'c'"),
            ("html5 named", "caf&eacute;", "café"),
            ("uppercase hex", "&#X42;", "B"),
        ];
        for (case, input, want) in cases {
            assert_eq!(unescape(input), want, "{case}");
        }
    }

    #[test]
    fn hostile_hashes_are_dropped_so_the_key_falls_back_to_the_url() {
        let good = h("ab");
        let cases = [
            ("valid sha256", good.clone(), Some(good.as_str())),
            ("uppercase is normalised", good.to_uppercase(), Some(good.as_str())),
            ("absolute path", "/etc/passwd".to_string(), None),
            ("traversal", format!("../../{}", &good[6..]), None),
            ("empty", String::new(), None),
            ("one char", "a".to_string(), None),
            ("63 digits", good[1..].to_string(), None),
            ("non-hex of the right length", "zz".repeat(32), None),
        ];
        for (case, digest, want) in cases {
            let json = serde_json::json!({"name": "demo", "files": [{
                "filename": "demo-1.0.tar.gz", "url": "demo-1.0.tar.gz",
                "hashes": {"sha256": digest, "SHA512": "not hex", "md5x": "ab"},
                "core-metadata": {"sha256": digest}}]});
            let page = parse_project(&json.to_string(), "application/json", &page_url(), "demo").unwrap();
            let f = &page.files[0];
            assert_eq!(f.sha256(), want, "{case}: json");
            assert_eq!(f.hashes.len(), want.iter().len(), "{case}: json keeps only valid hashes");
            assert_eq!(f.core_metadata_sha256(), want, "{case}: core-metadata hash");
            let key = crate::index::file_key(f);
            assert!(crate::model::FileKey::parse(&key).is_ok(), "{case}: key {key}");
            assert_eq!(key.starts_with("u-"), want.is_none(), "{case}: key {key}");

            let html = format!(
                r#"<a href="demo-1.0.tar.gz#sha256={}" data-core-metadata="sha256={}">demo-1.0.tar.gz</a>"#,
                digest, digest
            );
            let page = parse_project(&html, "text/html", &page_url(), "demo").unwrap();
            let f = &page.files[0];
            assert_eq!(f.sha256(), want, "{case}: html");
            assert_eq!(f.core_metadata_sha256(), want, "{case}: html core-metadata hash");
            assert!(f.core_metadata.is_some(), "{case}: still advertised");
        }
    }

    #[test]
    fn hash_validity_depends_on_the_algorithm() {
        let cases = [
            ("sha256", "sha256", "ab".repeat(32), true),
            ("sha384", "sha384", "ab".repeat(48), true),
            ("sha512", "sha512", "ab".repeat(64), true),
            ("md5", "md5", "ab".repeat(16), true),
            ("sha256 length for sha512", "sha512", "ab".repeat(32), false),
            ("unknown algorithm", "sha3_256", "ab".repeat(32), false),
            ("uppercase name", "SHA256", "ab".repeat(32), false),
            ("uppercase hex", "sha256", "AB".repeat(32), false),
        ];
        for (case, algo, hex, want) in cases {
            assert_eq!(valid_hash(algo, &hex), want, "{case}");
        }
    }

    #[test]
    fn upstream_copies_of_pipgate_annotations_are_stripped() {
        let json = r#"{"name":"demo","files":[{"filename":"demo-1.0.tar.gz","url":"demo-1.0.tar.gz",
            "_pipgate":{"decision":"serve"},"provenance":"p"}]}"#;
        let page = parse_project(json, "application/json", &page_url(), "demo").unwrap();
        let extra = &page.files[0].extra;
        let cases = [
            ("json _pipgate", extra.contains_key("_pipgate"), false),
            ("json other key", extra.contains_key("provenance"), true),
        ];
        for (case, got, want) in cases {
            assert_eq!(got, want, "{case}");
        }
        let html = r#"<a href="demo-1.0.tar.gz" data-pipgate-decision="serve" DATA-PIPGATE-FINDINGS="" data-provenance="p">demo-1.0.tar.gz</a>"#;
        let page = parse_project(html, "text/html", &page_url(), "demo").unwrap();
        let keys: Vec<&str> = page.files[0].extra.keys().map(String::as_str).collect();
        assert_eq!(keys, vec!["data-provenance"], "html keeps only upstream-owned, well-formed data-* names");
    }

    #[test]
    fn base_href_decides_where_relative_links_point() {
        let cases = [
            ("no base", "", "demo-1.0.tar.gz", "https://index.example.org/simple/demo/demo-1.0.tar.gz"),
            (
                "absolute base",
                r#"<base href="https://files.example.org/pkgs/">"#,
                "demo-1.0.tar.gz",
                "https://files.example.org/pkgs/demo-1.0.tar.gz",
            ),
            (
                "relative base resolves against the page",
                r#"<base href="../../packages/">"#,
                "demo-1.0.tar.gz",
                "https://index.example.org/packages/demo-1.0.tar.gz",
            ),
            (
                "root-relative base",
                r#"<base href="/mirror/x/">"#,
                "../demo-1.0.tar.gz",
                "https://index.example.org/mirror/demo-1.0.tar.gz",
            ),
            (
                "absolute link ignores base",
                r#"<base href="https://files.example.org/pkgs/">"#,
                "https://other.example.org/d.tar.gz",
                "https://other.example.org/d.tar.gz",
            ),
            (
                "escaped base",
                r#"<base href="/a&amp;b/">"#,
                "demo-1.0.tar.gz",
                "https://index.example.org/a&b/demo-1.0.tar.gz",
            ),
            (
                "base without href is ignored",
                r#"<base target="_blank">"#,
                "demo-1.0.tar.gz",
                "https://index.example.org/simple/demo/demo-1.0.tar.gz",
            ),
        ];
        for (case, base, href, want) in cases {
            let html = format!(r#"<html><head>{base}</head><body><a href="{href}">demo-1.0.tar.gz</a></body></html>"#);
            let page = parse_project(&html, "text/html", &page_url(), "demo").unwrap();
            assert_eq!(page.files[0].url.as_str(), want, "{case}");
        }
    }

    #[test]
    fn root_listing_parses_both_formats() {
        let html = r#"<html><body><a href="/simple/a/">A</a><a href="/simple/b-c/">b_c</a></body></html>"#;
        assert_eq!(parse_root(html, "text/html").unwrap(), vec!["A", "b_c"]);
        let json = r#"{"meta":{"api-version":"1.0"},"projects":[{"name":"A"},{"name":"b_c"}]}"#;
        assert_eq!(parse_root(json, "application/vnd.pypi.simple.v1+json").unwrap(), vec!["A", "b_c"]);
    }
}
