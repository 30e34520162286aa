//! Rendering pipgate's own index pages (PEP 691 JSON and PEP 503 HTML) from rewritten entries.
//!
//! Owns: the exact output shapes clients parse: every upstream field kept, file URLs
//! pointing at pipgate, `_pipgate` annotations in JSON, `data-pipgate-*` in HTML.
//! Must not: decide what is listed (the caller filters) or fetch anything.

use super::accept::PageFormat;
use super::page::{upstream_data_attr, FileEntry};
use crate::model::parse_dist_filename;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use serde_json::{json, Map, Value};

/// The repository API version pipgate speaks (PEP 700 fields included).
pub(crate) const API_VERSION: &str = "1.1";

/// One file as pipgate lists it.
#[derive(Debug, Clone)]
pub(crate) struct ListedFile {
    pub entry: FileEntry,
    /// Our URL for the file, relative to the project page (`../../files/<key>/<filename>`).
    pub href: String,
    /// Findings to show (`_pipgate` in JSON, `data-pipgate-*` in HTML).
    pub annotation: Option<Value>,
}

#[cfg(test)]
/// `versions` for PEP 700: upstream's list if given, else derived from filenames.
pub(crate) fn versions(upstream: Option<&[String]>, files: &[ListedFile]) -> Vec<String> {
    versions_of(upstream, files.iter().map(|f| f.entry.filename.as_str()))
}

/// [`versions`] from the listed files' names.
pub(crate) fn versions_of<'a>(upstream: Option<&[String]>, filenames: impl Iterator<Item = &'a str>) -> Vec<String> {
    if let Some(v) = upstream {
        return v.to_vec();
    }
    // Linear: a hostile page lists 100k files.
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<String> = Vec::new();
    for f in filenames {
        if let Some(d) = parse_dist_filename(f) {
            if seen.insert(d.version.clone()) {
                out.push(d.version);
            }
        }
    }
    out
}

#[cfg(test)]
/// A project page's JSON: [`project_head`], the entries, [`project_tail`]. Keys: `meta`,
/// `name`, `files`, `versions`, then the upstream's other keys.
pub(crate) fn project_json(
    name: &str,
    files: &[ListedFile],
    versions: &[String],
    extra: &Map<String, Value>,
) -> String {
    let entries: Vec<String> = files.iter().map(|f| project_entry(PageFormat::Json, f)).collect();
    join(
        PageFormat::Json,
        &project_head(PageFormat::Json, name, None),
        entries.iter(),
        &project_tail(PageFormat::Json, versions, extra),
    )
}

/// A project page's text before its first file entry. `status`: a PEP 792 project status
/// (`status`, `reason`), shown as meta tags in HTML (JSON carries it among the tail's keys).
pub(crate) fn project_head(format: PageFormat, name: &str, status: Option<(&str, &str)>) -> String {
    if format == PageFormat::Json {
        let name = serde_json::to_string(name).expect("strings always serialise");
        return format!("{{\"meta\":{{\"api-version\":\"{API_VERSION}\"}},\"name\":{name},\"files\":[");
    }
    let mut out = String::with_capacity(512);
    out.push_str("<!DOCTYPE html>\n<html>\n<head>\n");
    out.push_str(&format!("<meta name=\"pypi:repository-version\" content=\"{API_VERSION}\">\n"));
    if let Some((status, reason)) = status {
        out.push_str(&format!("<meta name=\"pypi:project-status\" content=\"{}\">\n", attr(status)));
        if !reason.is_empty() {
            out.push_str(&format!("<meta name=\"pypi:project-status-reason\" content=\"{}\">\n", attr(reason)));
        }
    }
    out.push_str(&format!("<title>Links for {}</title>\n</head>\n<body>\n", text(name)));
    out.push_str(&format!("<h1>Links for {}</h1>\n", text(name)));
    out
}

/// One file's text on a project page (JSON entries are joined by [`join`]).
pub(crate) fn project_entry(format: PageFormat, f: &ListedFile) -> String {
    match format {
        PageFormat::Json => serde_json::to_string(&file_json(f)).expect("JSON values always serialise"),
        _ => {
            let mut a = file_anchor(f);
            a.push_str("<br/>\n");
            a
        }
    }
}

/// A project page's text after its last file entry: in JSON `versions` and the upstream's
/// other top-level keys (ours are never taken from it).
pub(crate) fn project_tail(format: PageFormat, versions: &[String], extra: &Map<String, Value>) -> String {
    if format != PageFormat::Json {
        return "</body>\n</html>\n".into();
    }
    const OURS: [&str; 4] = ["meta", "name", "files", "versions"];
    let mut out = String::from("],\"versions\":");
    out.push_str(&serde_json::to_string(versions).expect("strings always serialise"));
    for (k, v) in extra.iter().filter(|(k, _)| !OURS.contains(&k.as_str())) {
        out.push(',');
        out.push_str(&serde_json::to_string(k).expect("strings always serialise"));
        out.push(':');
        out.push_str(&serde_json::to_string(v).expect("JSON values always serialise"));
    }
    out.push('}');
    out
}

/// Head, entries and tail as one body (entries separated by `,` in JSON).
pub(crate) fn join<'a, S: AsRef<str> + 'a>(
    format: PageFormat,
    head: &str,
    entries: impl Iterator<Item = &'a S> + Clone,
    tail: &str,
) -> String {
    let len = head.len() + tail.len() + entries.clone().map(|e| e.as_ref().len() + 1).sum::<usize>();
    let mut out = String::with_capacity(len);
    out.push_str(head);
    for (i, e) in entries.enumerate() {
        if i > 0 && format == PageFormat::Json {
            out.push(',');
        }
        out.push_str(e.as_ref());
    }
    out.push_str(tail);
    out
}

fn file_json(f: &ListedFile) -> Value {
    let e = &f.entry;
    let mut o = Map::new();
    o.insert("filename".into(), json!(e.filename));
    o.insert("url".into(), json!(f.href));
    o.insert("hashes".into(), json!(e.hashes));
    if let Some(rp) = &e.requires_python {
        o.insert("requires-python".into(), json!(rp));
    }
    o.insert(
        "yanked".into(),
        match &e.yanked {
            None => json!(false),
            Some(None) => json!(true),
            Some(Some(r)) => json!(r),
        },
    );
    if let Some(cm) = &e.core_metadata {
        // PEP 714: new name, plus the legacy one for older clients.
        o.insert("core-metadata".into(), cm.clone());
        o.insert("dist-info-metadata".into(), cm.clone());
    }
    if let Some(size) = e.size {
        o.insert("size".into(), json!(size));
    }
    if let Some(t) = &e.upload_time {
        o.insert("upload-time".into(), json!(t));
    }
    for (k, v) in &e.extra {
        if !k.starts_with("data-") && k != "_pipgate" {
            o.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    // PEP 740: an HTML upstream's `data-provenance` is the JSON `provenance` key.
    if let Some(p) = e.extra.get("data-provenance") {
        o.entry("provenance").or_insert_with(|| p.clone());
    }
    if let Some(a) = &f.annotation {
        o.insert("_pipgate".into(), a.clone());
    }
    Value::Object(o)
}

/// The upstream's PEP 792 status (JSON `project-status`, or what the HTML parser made of its
/// meta tags) as (`status`, `reason`), for an HTML page's meta tags.
pub(crate) fn project_status(extra: &Map<String, Value>) -> Option<(&str, &str)> {
    let status = extra.get("project-status")?;
    Some((status.get("status")?.as_str()?, status.get("reason").and_then(Value::as_str).unwrap_or_default()))
}

#[cfg(test)]
pub(crate) fn project_html(name: &str, files: &[ListedFile]) -> String {
    project_html_with_status(name, files, None)
}

#[cfg(test)]
/// [`project_html`] with a PEP 792 project status (`status`, `reason`) as meta tags.
pub(crate) fn project_html_with_status(name: &str, files: &[ListedFile], status: Option<(&str, &str)>) -> String {
    let f = PageFormat::TextHtml;
    let entries: Vec<String> = files.iter().map(|l| project_entry(f, l)).collect();
    join(f, &project_head(f, name, status), entries.iter(), &project_tail(f, &[], &Map::new()))
}

fn file_anchor(f: &ListedFile) -> String {
    let e = &f.entry;
    let mut href = f.href.clone();
    if let Some((algo, hex)) = e.hashes.get_key_value("sha256").or_else(|| e.hashes.iter().next()) {
        href.push_str(&format!("#{algo}={hex}"));
    }
    let mut a = format!("<a href=\"{}\"", attr(&href));
    if let Some(rp) = &e.requires_python {
        a.push_str(&format!(" data-requires-python=\"{}\"", attr(rp)));
    }
    match &e.yanked {
        None => {}
        Some(None) => a.push_str(" data-yanked=\"\""),
        Some(Some(r)) => a.push_str(&format!(" data-yanked=\"{}\"", attr(r))),
    }
    if let Some(cm) = &e.core_metadata {
        let v = match cm {
            Value::Object(m) => m
                .iter()
                .next()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .unwrap_or_else(|| "true".into()),
            _ => "true".into(),
        };
        a.push_str(&format!(" data-core-metadata=\"{0}\" data-dist-info-metadata=\"{0}\"", attr(&v)));
    }
    for (k, v) in &e.extra {
        if let (true, Some(s)) = (upstream_data_attr(k), v.as_str()) {
            a.push_str(&format!(" {k}=\"{}\"", attr(s)));
        }
    }
    // PEP 740: a JSON upstream's `provenance` URL is the HTML `data-provenance` attribute.
    if let (false, Some(p)) =
        (e.extra.contains_key("data-provenance"), e.extra.get("provenance").and_then(Value::as_str))
    {
        a.push_str(&format!(" data-provenance=\"{}\"", attr(p)));
    }
    if let Some(Value::Object(ann)) = &f.annotation {
        if let Some(d) = ann.get("decision").and_then(Value::as_str) {
            a.push_str(&format!(" data-pipgate-decision=\"{}\"", attr(d)));
        }
        if let Some(Value::Array(ids)) = ann.get("findings") {
            let ids: Vec<&str> = ids.iter().filter_map(|i| i.get("id").and_then(Value::as_str)).collect();
            a.push_str(&format!(" data-pipgate-findings=\"{}\"", attr(&ids.join(" "))));
        }
    }
    a.push_str(&format!(">{}</a>", text(&e.filename)));
    a
}

pub(crate) fn root_json(names: &[String]) -> String {
    let projects: Vec<Value> = names.iter().map(|n| json!({ "name": n })).collect();
    serde_json::to_string(&json!({ "meta": { "api-version": API_VERSION }, "projects": projects }))
        .expect("JSON values always serialise")
}

pub(crate) fn root_html(names: &[String]) -> String {
    let mut out = String::with_capacity(128 + names.len() * 48);
    out.push_str("<!DOCTYPE html>\n<html>\n<head>\n");
    out.push_str(&format!("<meta name=\"pypi:repository-version\" content=\"{API_VERSION}\">\n"));
    out.push_str("<title>Simple index</title>\n</head>\n<body>\n");
    for n in names {
        let norm = crate::model::normalize_project_name(n);
        out.push_str(&format!("<a href=\"{}/\">{}</a><br/>\n", attr(&norm), text(n)));
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::super::page::{parse_project, unescape};
    use super::*;
    use url::Url;

    #[test]
    fn html_round_trips_through_our_own_parser() {
        let page_url = Url::parse("http://127.0.0.1:1/simple/demo/").unwrap();
        let json =
            r#"{"name":"demo","files":[{"filename":"demo-1.0.tar.gz","url":"https://f.example.org/demo-1.0.tar.gz",
            "hashes":{"sha256":"ab"},"requires-python":">=3.8,<4","yanked":"bad \"quote\" & <tag>",
            "core-metadata":{"sha256":"cd"}}]}"#
                .replace("\"ab\"", &format!("\"{}\"", "ab".repeat(32)))
                .replace("\"cd\"", &format!("\"{}\"", "cd".repeat(32)));
        let page = parse_project(&json, "application/json", &page_url, "demo").unwrap();
        let listed: Vec<ListedFile> = page
            .files
            .iter()
            .map(|e| ListedFile { entry: e.clone(), href: "../../files/ab/demo-1.0.tar.gz".into(), annotation: None })
            .collect();
        let html = project_html("demo", &listed);
        let back = parse_project(&html, "text/html", &page_url, "demo").unwrap();
        let f = &back.files[0];
        assert_eq!(f.url.as_str(), "http://127.0.0.1:1/files/ab/demo-1.0.tar.gz");
        assert_eq!(f.sha256(), Some(&*"ab".repeat(32)));
        assert_eq!(f.requires_python.as_deref(), Some(">=3.8,<4"));
        assert_eq!(f.yanked, Some(Some("bad \"quote\" & <tag>".into())));
        assert_eq!(f.core_metadata_sha256(), Some(&*"cd".repeat(32)));
        assert_eq!(unescape(&attr("a&b<c>\"'")), "a&b<c>\"'");
    }

    #[test]
    fn versions_are_deduplicated_in_order_in_linear_time() {
        let page_url = Url::parse("http://127.0.0.1:1/simple/demo/").unwrap();
        let listed = |names: Vec<String>| -> Vec<ListedFile> {
            names
                .into_iter()
                .map(|filename| {
                    let json = json!({"name": "demo", "files": [{"filename": filename, "url": "x"}]}).to_string();
                    let entry = parse_project(&json, "application/json", &page_url, "demo").unwrap().files[0].clone();
                    ListedFile { entry, href: "h".into(), annotation: None }
                })
                .collect()
        };
        let many: Vec<String> =
            (0..100_000).map(|i| format!("demo-{}.{}-py3-none-any.whl", i / 1000, i % 1000)).collect();
        let cases: [(&str, Vec<String>, Vec<&str>); 3] = [
            (
                "first seen order",
                ["demo-2.0.tar.gz", "demo-1.0.tar.gz", "demo-2.0-py3-none-any.whl"].map(String::from).to_vec(),
                vec!["2.0", "1.0"],
            ),
            ("unparsable names skipped", ["junk", "demo-1.0.tar.gz"].map(String::from).to_vec(), vec!["1.0"]),
            ("100k distinct versions", many, vec![]),
        ];
        for (case, names, want) in cases {
            let files = listed(names);
            let t = std::time::Instant::now();
            let got = versions(None, &files);
            let took = t.elapsed();
            assert!(took < std::time::Duration::from_secs(1), "{case}: took {took:?} (quadratic?)");
            if want.is_empty() {
                assert_eq!(got.len(), files.len(), "{case}");
                assert_eq!(got[..2], ["0.0", "0.1"], "{case}");
            } else {
                assert_eq!(got, want, "{case}");
            }
        }
    }

    #[test]
    fn json_keeps_pep_700_fields_and_legacy_metadata_key() {
        let page_url = Url::parse("http://127.0.0.1:1/simple/demo/").unwrap();
        let json = r#"{"name":"demo","files":[{"filename":"demo-1.0-py3-none-any.whl","url":"x.whl",
            "hashes":{"sha256":"ab"},"size":7,"upload-time":"2024-01-01T00:00:00Z","core-metadata":true}]}"#;
        let page = parse_project(json, "application/json", &page_url, "demo").unwrap();
        let listed = vec![ListedFile {
            entry: page.files[0].clone(),
            href: "h".into(),
            annotation: Some(json!({"decision":"annotate"})),
        }];
        let out: Value =
            serde_json::from_str(&project_json("demo", &listed, &versions(None, &listed), &Map::new())).unwrap();
        assert_eq!(out["meta"]["api-version"], "1.1");
        assert_eq!(out["versions"], json!(["1.0"]));
        let f = &out["files"][0];
        assert_eq!(f["size"], 7);
        assert_eq!(f["upload-time"], "2024-01-01T00:00:00Z");
        assert_eq!(f["core-metadata"], true);
        assert_eq!(f["dist-info-metadata"], true);
        assert_eq!(f["yanked"], false);
        assert_eq!(f["_pipgate"]["decision"], "annotate");
    }

    #[test]
    fn only_pipgate_annotates_rendered_pages() {
        let page_url = Url::parse("http://127.0.0.1:1/simple/demo/").unwrap();
        let html = r#"<a href="demo-1.0.tar.gz" data-pipgate-decision="serve" data-pipgate-findings="" data-provenance="p">demo-1.0.tar.gz</a>"#;
        let json = r#"{"name":"demo","files":[{"filename":"demo-1.0.tar.gz","url":"demo-1.0.tar.gz","_pipgate":{"decision":"serve"}}]}"#;
        for (case, body, ct) in [("html upstream", html, "text/html"), ("json upstream", json, "application/json")] {
            let page = parse_project(body, ct, &page_url, "demo").unwrap();
            let listed = |annotation: Option<Value>| {
                vec![ListedFile { entry: page.files[0].clone(), href: "h".into(), annotation }]
            };
            let ours = json!({"decision": "annotate", "findings": [{"id": "network.downloads-file"}]});
            let out = project_html("demo", &listed(Some(ours.clone())));
            assert_eq!(out.matches("data-pipgate-decision=").count(), 1, "{case}: {out}");
            assert!(out.contains(r#"data-pipgate-decision="annotate""#), "{case}: {out}");
            let out = project_html("demo", &listed(None));
            assert!(!out.contains("data-pipgate-"), "{case}: unannotated: {out}");
            let out: Value = serde_json::from_str(&project_json("demo", &listed(None), &[], &Map::new())).unwrap();
            assert!(out["files"][0].get("_pipgate").is_none(), "{case}: json unannotated: {out}");
            let out: Value =
                serde_json::from_str(&project_json("demo", &listed(Some(ours.clone())), &[], &Map::new())).unwrap();
            assert_eq!(out["files"][0]["_pipgate"], ours, "{case}: json annotated");
        }
    }

    #[test]
    fn html_output_escapes_text_and_attributes() {
        let page_url = Url::parse("http://127.0.0.1:1/simple/demo/").unwrap();
        let json = r#"{"name":"demo","files":[{"filename":"demo-1.0.tar.gz","url":"demo-1.0.tar.gz",
            "requires-python":">=3.8\"><script>","yanked":"a & b","data-x\"><i":"v"}]}"#;
        let page = parse_project(json, "application/json", &page_url, "demo").unwrap();
        let listed =
            vec![ListedFile { entry: page.files[0].clone(), href: "../../files/k/a&b".into(), annotation: None }];
        let out = project_html("<demo>", &listed);
        let cases = [
            ("attribute quote", r#"data-requires-python="&gt;=3.8&quot;&gt;&lt;script&gt;""#, true),
            ("ampersand in attribute", r#"data-yanked="a &amp; b""#, true),
            ("href", r#"href="../../files/k/a&amp;b""#, true),
            ("title text", "<title>Links for &lt;demo&gt;</title>", true),
            ("unsafe data-* name from json is dropped", "data-x", false),
            ("no raw script", "<script>", false),
        ];
        for (case, needle, want) in cases {
            assert_eq!(out.contains(needle), want, "{case}: {out}");
        }
    }

    #[test]
    fn pep_740_provenance_and_pep_792_status_pass_through_in_both_formats() {
        let page_url = Url::parse("http://127.0.0.1:1/simple/demo/").unwrap();
        let prov = "https://prov.example.org/integrity/demo/1.0/demo-1.0.tar.gz/provenance";
        let json = format!(
            r#"{{"meta":{{"api-version":"1.4"}},"name":"demo","project-status":{{"status":"archived","reason":"moved & done"}},
            "files":[{{"filename":"demo-1.0.tar.gz","url":"demo-1.0.tar.gz","provenance":"{prov}","upload-time":"2024-02-03T04:05:06.789012Z"}}]}}"#
        );
        let html = format!(
            r#"<html><head><meta name="pypi:repository-version" content="1.4"><meta name="pypi:project-status" content="archived">
            <meta name="pypi:project-status-reason" content="moved &amp; done"></head>
            <body><a href="demo-1.0.tar.gz" data-provenance="{prov}">demo-1.0.tar.gz</a></body></html>"#
        );
        for (case, body, ct) in
            [("json upstream", json.as_str(), "application/json"), ("html upstream", &html, "text/html")]
        {
            let page = parse_project(body, ct, &page_url, "demo").unwrap();
            let listed = vec![ListedFile { entry: page.files[0].clone(), href: "h".into(), annotation: None }];
            let out: Value =
                serde_json::from_str(&project_json("demo", &listed, &versions(None, &listed), &page.extra)).unwrap();
            assert_eq!(out["files"][0]["provenance"], prov, "{case}: JSON provenance untouched");
            assert_eq!(
                out["project-status"],
                json!({"status": "archived", "reason": "moved & done"}),
                "{case}: JSON status"
            );
            if ct == "application/json" {
                assert_eq!(
                    out["files"][0]["upload-time"], "2024-02-03T04:05:06.789012Z",
                    "{case}: upload-time as sent"
                );
            }
            let out = project_html_with_status("demo", &listed, project_status(&page.extra));
            assert!(out.contains(&format!(r#"data-provenance="{prov}""#)), "{case}: HTML provenance: {out}");
            assert_eq!(out.matches("data-provenance=").count(), 1, "{case}: once: {out}");
            assert!(out.contains(r#"<meta name="pypi:project-status" content="archived">"#), "{case}: {out}");
            assert!(
                out.contains(r#"<meta name="pypi:project-status-reason" content="moved &amp; done">"#),
                "{case}: {out}"
            );
        }
        let plain = parse_project(r#"{"name":"demo","files":[]}"#, "application/json", &page_url, "demo").unwrap();
        assert_eq!(project_status(&plain.extra), None, "no status upstream: none shown");
    }
}
