//! Protocol fidelity at the HTTP level: what pip and uv rely on, checked header by header.

mod common;
use common::*;
use reqwest::header;

const PIP_ACCEPT: &str =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";

fn setup(format: Format) -> (FakeIndex, Pipgate) {
    let idx = FakeIndex::start(format);
    idx.add_dist("demo-a", wheel("demo-a", "1.0", &[], &[]));
    let mut y = FakeFile::new(wheel("demo-a", "0.9", &[], &[]));
    y.yanked = Some("broken build".into());
    idx.add("demo-a", y);
    let gate = Pipgate::start(&idx.url(), None);
    (idx, gate)
}

#[test]
fn pages_negotiate_format_and_keep_every_field() {
    let (_idx, gate) = setup(Format::Html);
    let c = http();
    let cases = [
        ("pip prefers JSON", Some(PIP_ACCEPT), "application/vnd.pypi.simple.v1+json"),
        ("v1 html", Some("application/vnd.pypi.simple.v1+html"), "application/vnd.pypi.simple.v1+html"),
        ("plain html", Some("text/html"), "text/html; charset=utf-8"),
        ("wildcard", Some("*/*"), "text/html; charset=utf-8"),
    ];
    for (case, accept, want) in cases {
        let mut r = c.get(format!("{}demo-a/", gate.url));
        if let Some(a) = accept {
            r = r.header(header::ACCEPT, a);
        }
        let resp = r.send().unwrap();
        assert_eq!(resp.status(), 200, "{case}");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], want, "{case}");
        assert_eq!(resp.headers()[header::VARY], "Accept, Accept-Encoding", "{case}");
        assert!(resp.headers()[header::ETAG].to_str().unwrap().starts_with('"'), "{case}: strong ETag");
    }
    let page: serde_json::Value =
        c.get(format!("{}demo-a/", gate.url)).header(header::ACCEPT, PIP_ACCEPT).send().unwrap().json().unwrap();
    let files = page["files"].as_array().unwrap();
    let yanked = files.iter().find(|f| f["filename"] == "demo_a-0.9-py3-none-any.whl").unwrap();
    assert_eq!(yanked["yanked"], "broken build");
    assert_eq!(yanked["requires-python"], ">=3.8");
    let url = yanked["url"].as_str().unwrap();
    assert!(url.ends_with("/demo_a-0.9-py3-none-any.whl") && !url.contains('?'), "{url}");
    assert_eq!(page["versions"], serde_json::json!(["1.0", "0.9"]));
}

#[test]
fn json_upstream_fields_pass_through_pep_700() {
    let (idx, gate) = setup(Format::Json);
    idx.state.lock().unwrap().advertise_metadata = true;
    let page: serde_json::Value =
        http().get(format!("{}demo-a/", gate.url)).header(header::ACCEPT, PIP_ACCEPT).send().unwrap().json().unwrap();
    let f = &page["files"][0];
    assert_eq!(f["upload-time"], "2024-01-02T03:04:05.000000Z");
    assert!(f["size"].as_u64().unwrap() > 100);
    assert_eq!(f["core-metadata"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(f["core-metadata"], f["dist-info-metadata"]);
    assert_eq!(page["meta"]["api-version"], "1.1");
}

#[test]
fn names_are_normalised_with_301() {
    let (_idx, gate) = setup(Format::Json);
    let c = http();
    for (case, path, want) in [
        ("uppercase and underscore", "Demo_A/", "/simple/demo-a/"),
        ("missing slash", "demo-a", "/simple/demo-a/"),
        ("dots", "demo.a/", "/simple/demo-a/"),
    ] {
        let resp = c.get(format!("{}{path}", gate.url)).send().unwrap();
        assert_eq!(resp.status(), 301, "{case}");
        assert_eq!(resp.headers()[header::LOCATION], want, "{case}");
    }
}

#[test]
fn etag_revalidation_answers_304() {
    let (_idx, gate) = setup(Format::Json);
    let c = http();
    let url = format!("{}demo-a/", gate.url);
    let first = c.get(&url).header(header::ACCEPT, PIP_ACCEPT).send().unwrap();
    let etag = first.headers()[header::ETAG].clone();
    let again =
        c.get(&url).header(header::ACCEPT, PIP_ACCEPT).header(header::IF_NONE_MATCH, etag.clone()).send().unwrap();
    assert_eq!(again.status(), 304);
    // A different format is a different representation: no 304 for HTML with the JSON tag.
    let html = c.get(&url).header(header::ACCEPT, "text/html").header(header::IF_NONE_MATCH, etag).send().unwrap();
    assert_eq!(html.status(), 200);
}

#[test]
fn artifacts_support_head_ranges_and_never_re_encode() {
    let (_idx, gate) = setup(Format::Json);
    let c = http();
    let bytes = wheel("demo-a", "1.0", &[], &[]).bytes;
    let len = bytes.len();
    let url = gate.file_url("demo-a", "demo_a-1.0-py3-none-any.whl");

    let full = c.get(&url).header(header::ACCEPT_ENCODING, "gzip").send().unwrap();
    assert_eq!(full.status(), 200);
    assert!(full.headers().get(header::CONTENT_ENCODING).is_none());
    assert_eq!(full.headers()[header::ACCEPT_RANGES], "bytes");
    assert_eq!(full.headers()[header::CONTENT_LENGTH], len.to_string().as_str());
    assert_eq!(full.headers()[header::ETAG], format!("\"{}\"", sha256_hex(&bytes)).as_str());
    assert_eq!(full.bytes().unwrap().as_ref(), &bytes[..]);

    let head = c.head(&url).send().unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()[header::CONTENT_LENGTH], len.to_string().as_str());

    let cases = [
        (
            "zip tail, as uv reads it",
            "bytes=-22".to_string(),
            206,
            Some(format!("bytes {}-{}/{len}", len - 22, len - 1)),
        ),
        ("first bytes", "bytes=0-3".to_string(), 206, Some(format!("bytes 0-3/{len}"))),
        ("past the end", format!("bytes={len}-"), 416, Some(format!("bytes */{len}"))),
    ];
    for (case, range, status, content_range) in cases {
        let r = c.get(&url).header(header::RANGE, &range).send().unwrap();
        assert_eq!(r.status(), status, "{case}");
        assert_eq!(
            r.headers().get(header::CONTENT_RANGE).map(|v| v.to_str().unwrap().to_string()),
            content_range,
            "{case}"
        );
        if status == 206 {
            let (s, e) = if range == "bytes=0-3" { (0, 4) } else { (len - 22, len) };
            assert_eq!(r.bytes().unwrap().as_ref(), &bytes[s..e], "{case}");
        }
    }
    let etag = format!("\"{}\"", sha256_hex(&bytes));
    assert_eq!(c.get(&url).header(header::IF_NONE_MATCH, etag).send().unwrap().status(), 304);
}

#[test]
fn upstream_failures_are_502_or_404_never_served() {
    let idx = FakeIndex::start(Format::Json);
    let mut bad = FakeFile::new(wheel("demo-a", "1.0", &[], &[]));
    bad.wrong_hash = true;
    idx.add("demo-a", bad);
    let mut cut = FakeFile::new(wheel("demo-a", "1.1", &[], &[]));
    cut.truncate = true;
    idx.add("demo-a", cut);
    let gate = Pipgate::start(&idx.url(), None);
    let c = http();

    // Unknown project: the upstream's 404 passes through.
    assert_eq!(c.get(format!("{}no-such-project/", gate.url)).send().unwrap().status(), 404);

    // Hash mismatch: 502 with a body naming both digests; never served; audited.
    let page: serde_json::Value =
        c.get(format!("{}demo-a/", gate.url)).header(header::ACCEPT, PIP_ACCEPT).send().unwrap().json().unwrap();
    let url_of = |name: &str| {
        let f = page["files"].as_array().unwrap().iter().find(|f| f["filename"] == name).unwrap().clone();
        format!("{}/simple/demo-a/{}", gate.base(), f["url"].as_str().unwrap())
    };
    let r = c.get(url_of("demo_a-1.0-py3-none-any.whl")).send().unwrap();
    assert_eq!(r.status(), 502);
    let body = r.text().unwrap();
    assert!(body.contains("promised") && body.contains(&"0".repeat(64)), "{body}");

    // Upstream dies mid-transfer: 502, and no partial file is left to be served later.
    let r = c.get(url_of("demo_a-1.1-py3-none-any.whl")).send().unwrap();
    assert_eq!(r.status(), 502);
    let body = r.text().unwrap();
    assert!(body.contains("broke after"), "{body}");
    let leftovers = std::fs::read_dir(gate.data_dir.join("tmp")).unwrap().count();
    assert_eq!(leftovers, 0, "partial downloads must be removed");

    let audit = gate.audit();
    let errors: Vec<&serde_json::Value> = audit.iter().filter(|r| r["decision"] == "error").collect();
    assert_eq!(errors.len(), 2, "{audit:?}");
    assert!(errors.iter().all(|r| r["fault"] == "upstream"));

    // Upstream 5xx burst with nothing cached: 502 naming the upstream, not 404.
    idx.state.lock().unwrap().fail_status = Some(500);
    for _ in 0..5 {
        let r = c.get(format!("{}other/", gate.url)).send().unwrap();
        assert_eq!(r.status(), 502);
        assert!(r.text().unwrap().contains("HTTP 500"));
    }

    // Once the upstream recovers, the next requests retry cleanly: the truncated file is
    // downloaded again in full and served, verified; nothing of the broken attempt remains.
    idx.state.lock().unwrap().fail_status = None;
    for f in idx.state.lock().unwrap().projects.get_mut("demo-a").unwrap() {
        f.truncate = false;
    }
    let r = c.get(url_of("demo_a-1.1-py3-none-any.whl")).send().unwrap();
    assert_eq!(r.status(), 200, "the retry after a broken transfer is served");
    let want = idx.state.lock().unwrap().projects["demo-a"][1].dist.bytes.clone();
    assert_eq!(r.bytes().unwrap().as_ref(), want.as_slice(), "the whole verified file, not the cut one");
    assert_eq!(c.get(format!("{}demo-a/", gate.url)).send().unwrap().status(), 200, "pages recover too");
}

#[test]
fn upstream_down_serves_cached_page_with_a_stale_header_and_uncached_gets_502() {
    let (mut idx, gate) = setup(Format::Json);
    let c = http();
    assert_eq!(c.get(format!("{}demo-a/", gate.url)).send().unwrap().status(), 200);
    idx.stop();
    let r = c.get(format!("{}demo-a/", gate.url)).send().unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("x-pipgate-stale").is_some());
    let r = c.get(format!("{}never-fetched/", gate.url)).send().unwrap();
    assert_eq!(r.status(), 502);
    assert!(r.text().unwrap().contains("unreachable"));
}

#[test]
fn concurrent_requests_for_one_file_cause_one_upstream_download() {
    let (idx, gate) = setup(Format::Json);
    let url = gate.file_url("demo-a", "demo_a-1.0-py3-none-any.whl");
    let want = wheel("demo-a", "1.0", &[], &[]).bytes;
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || http().get(url).send().unwrap().bytes().unwrap().to_vec())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), want);
    }
    assert_eq!(idx.hits("/files/demo_a-1.0-py3-none-any.whl"), 1);
}

#[test]
fn file_urls_work_after_a_restart_without_reading_a_page_first() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("demo-a", wheel("demo-a", "1.0", &[], &[]));
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "# test\n").unwrap();
    let url_path = {
        let gate = Pipgate::start_with(&idx.url(), &policy, &dir.path().join("d1"));
        let u = gate.file_url("demo-a", "demo_a-1.0-py3-none-any.whl");
        u.strip_prefix(&gate.base()).unwrap().to_string()
    };
    // Fresh data dir: the origin is not stored, so pipgate finds it from the filename's project page.
    let gate = Pipgate::start_with(&idx.url(), &policy, &dir.path().join("d2"));
    let r = http().get(format!("{}{url_path}", gate.base())).send().unwrap();
    assert_eq!(r.status(), 200, "{}", gate.log());
}

#[test]
fn a_1_gib_artifact_is_proxied_with_bounded_memory() {
    let idx = FakeIndex::start(Format::Json);
    let (filename, generated) = Generated::wheel("big-one", "1.0", 1024);
    let (len, sha) = (generated.len, generated.sha256.clone());
    let mut f = FakeFile::new(Dist { filename: filename.clone(), bytes: vec![], metadata: None });
    f.generated = Some(std::sync::Arc::new(generated));
    idx.add("big-one", f);
    let gate = Pipgate::start(&idx.url(), None);
    let url = gate.file_url("big-one", &filename);
    let mut resp = http().get(url).send().unwrap();
    assert_eq!(resp.status(), 200, "{}", gate.log());
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    let mut got: u64 = 0;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut resp, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        got += n as u64;
        sha2::Digest::update(&mut hasher, &buf[..n]);
    }
    assert_eq!(got, len);
    assert_eq!(hex::encode(sha2::Digest::finalize(hasher)), sha);
    let rss = peak_rss_mib(gate.child.id());
    println!("pipgate peak RSS while proxying and scanning a {} MiB artifact: {rss} MiB", len >> 20);
    assert!(rss < 256, "peak RSS {rss} MiB is not bounded");
}

#[test]
fn root_listing_in_both_formats_and_only_get_and_head() {
    let (_idx, gate) = setup(Format::Json);
    let c = http();
    let json: serde_json::Value = c.get(&gate.url).header(header::ACCEPT, PIP_ACCEPT).send().unwrap().json().unwrap();
    assert_eq!(json["projects"], serde_json::json!([{ "name": "demo-a" }]));
    let html = c.get(&gate.url).header(header::ACCEPT, "text/html").send().unwrap().text().unwrap();
    assert!(html.contains("<a href=\"demo-a/\">demo-a</a>"), "{html}");
    assert_eq!(c.post(&gate.url).send().unwrap().status(), 405);
    assert_eq!(c.get(format!("{}/simple", gate.base())).send().unwrap().status(), 301);
}

#[test]
fn upstream_credentials_in_the_url_are_sent_and_never_logged() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("demo-a", wheel("demo-a", "1.0", &[], &[]));
    // base64("ci-bot:s3cret-token")
    idx.state.lock().unwrap().require_auth = Some("Basic Y2ktYm90OnMzY3JldC10b2tlbg==".into());
    let upstream = idx.url().replace("http://", "http://ci-bot:s3cret-token@");
    let gate = Pipgate::start(&upstream, None);
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-a"]);
    assert!(out.status.success(), "{}\n{}", show(&out), gate.log());
    // A failure names the upstream, redacted.
    idx.state.lock().unwrap().fail_status = Some(503);
    let r = http().get(format!("{}other/", gate.url)).send().unwrap();
    let body = r.text().unwrap();
    assert!(body.contains("ci-bot:****@") && !body.contains("s3cret"), "{body}");
    let log = gate.log();
    assert!(log.contains("upstream index chosen") && !log.contains("s3cret"), "{log}");
}

#[test]
fn hostile_page_hashes_never_become_paths_and_keys_are_checked() {
    let cases = [
        ("absolute path in json hashes", Format::Json, "/etc/passwd"),
        ("absolute path in an html fragment", Format::Html, "/etc/passwd"),
        ("empty digest", Format::Json, ""),
        ("one-character digest", Format::Json, "a"),
    ];
    for (case, format, hash) in cases {
        let idx = FakeIndex::start(format);
        let dist = wheel("demo-h", "1.0", &[], &[]);
        let bytes = dist.bytes.clone();
        let mut f = FakeFile::new(dist);
        f.hash_text = Some(hash.to_string());
        idx.add("demo-h", f);
        let gate = Pipgate::start(&idx.url(), None);
        let page: serde_json::Value = http()
            .get(format!("{}demo-h/", gate.url))
            .header(header::ACCEPT, PIP_ACCEPT)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let href = page["files"][0]["url"].as_str().unwrap().to_string();
        assert!(href.starts_with("../../files/u-"), "{case}: {href}");
        assert!(page["files"][0]["hashes"].get("sha256").is_none(), "{case}: {page}");
        let resp = http().get(format!("{}/simple/demo-h/{href}", gate.base())).send().unwrap();
        assert_eq!(resp.status(), 200, "{case}");
        assert_eq!(resp.bytes().unwrap().as_ref(), &bytes[..], "{case}: the upstream's bytes, not a local file");
        assert_eq!(idx.hits("demo_h-1.0-py3-none-any.whl"), 1, "{case}: downloaded");
    }
    let idx = FakeIndex::start(Format::Json);
    let gate = Pipgate::start(&idx.url(), None);
    for key in ["..", "etc", "u-..", &"g".repeat(64)] {
        let resp = http().get(format!("{}/files/{key}/demo_h-1.0-py3-none-any.whl", gate.base())).send().unwrap();
        assert_eq!(resp.status(), 404, "key {key:?}");
    }
}
