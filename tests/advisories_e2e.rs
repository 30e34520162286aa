//! Advisories end to end with real pip and uv: a known-malware record imported into a
//! running pipgate refuses the next install with the record id; a known-exploited
//! vulnerability makes an unpinned install fall back to the fixed version; a project whose
//! every version is known malware is shown quarantined (PEP 792).

mod common;
use common::*;
use std::path::Path;

/// The shipped default policy: advisories are blocked by it, not by a test-only rule.
const SHIPPED_POLICY: &str = include_str!("../policy.yaml");

/// Client output made stable for snapshots: ports, hashes, timings, request ids, temp paths.
fn scrub(text: &str, gate: &Pipgate) -> String {
    let mut out = text.replace(&gate.base(), "http://PIPGATE");
    for (re, with) in [
        (r"[0-9a-f]{64}", "<sha256>"),
        (r"in [0-9.]+m?s", "in <time>"),
        (r"[0-9a-f]{8}-[0-9a-f]+", "<request-id>"),
        (r"/tmp/[^\s:'\x22]+", "<tmp>"),
    ] {
        out = regex::Regex::new(re).unwrap().replace_all(&out, with).into_owned();
    }
    out.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("\n")
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn pipgate(args: &[&str], data_dir: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_pipgate"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("PIPGATE_LOG", "pipgate=warn")
        .output()
        .unwrap()
}

/// Write OSV records (`id` → JSON text) into a fresh directory.
fn records(records: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (id, text) in records {
        std::fs::write(dir.path().join(format!("{id}.json")), text).unwrap();
    }
    dir
}

/// Wait until the project page shows the first file's verdict as `decision` (the running
/// proxy polls its advisories every couple of seconds).
fn wait_for_page_decision(gate: &Pipgate, project: &str, decision: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let page: serde_json::Value = http()
            .get(format!("{}{project}/", gate.url))
            .header("Accept", "application/vnd.pypi.simple.v1+json")
            .send()
            .unwrap()
            .json()
            .unwrap();
        if page["files"][0]["_pipgate"]["decision"] == decision {
            return page;
        }
        assert!(std::time::Instant::now() < deadline, "the page never showed {decision}: {page}");
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

#[test]
fn a_malware_record_imported_into_a_running_pipgate_refuses_the_next_install_with_its_id() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("adv-victim", wheel("adv-victim", "1.0", &[], &[]));
    let gate = Pipgate::start(&idx.url(), Some(SHIPPED_POLICY));

    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "adv-victim"]);
    assert!(out.status.success(), "installs while nothing is known: {}", show(&out));

    // The feed update: an OpenSSF-style malicious-packages record for this release.
    let mal = r#"{"id":"MAL-2099-0001","modified":"2026-11-01T00:00:00Z","summary":"Malicious code in adv-victim (PyPI)",
        "details":"The package exfiltrates credentials on import.",
        "affected":[{"package":{"ecosystem":"PyPI","name":"adv_victim"},"versions":["1.0"]}],
        "database_specific":{"malicious-packages-origins":[{"source":"test","versions":["1.0"]}]}}"#;
    let src = records(&[("MAL-2099-0001", mal.to_string())]);
    let out =
        pipgate(&["advisories", "import", "--name", "malicious-test", src.path().to_str().unwrap()], &gate.data_dir);
    assert!(out.status.success(), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 1 records"), "{}", show(&out));
    wait_for_page_decision(&gate, "adv-victim", "block");

    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "adv-victim"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("403") && err.contains("malware.known MAL-2099-0001"), "pip names the record: {err}");
    insta::assert_snapshot!("pip_known_malware", scrub(&err, &gate));

    let venv = Venv::new();
    let out = venv.uv_pip(&["install", "--index-url", &gate.url, "adv-victim"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("403") && err.contains("MAL-2099-0001"), "uv names the record: {err}");

    // The audit log has the block with the reason that decided it.
    let audit = gate.audit();
    let block = audit.iter().find(|r| r["decision"] == "block" && r["project"] == "adv-victim").expect("a block");
    assert_eq!(block["reasons"][0]["code"], "rule:known-malware", "{block}");

    // Looking back: the client that installed it before the feed update is named, with the
    // record id, and the change is recorded with the feed as its trigger.
    // The sweep records the change within about a second of the feed's revision changing.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let rows: Vec<serde_json::Value> = loop {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pipgate"))
            .args(["audit", "exposed", "--format", "json", "--data-dir", gate.data_dir.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", show(&out));
        let rows: Vec<serde_json::Value> =
            String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        if !rows.is_empty() || std::time::Instant::now() > deadline {
            break rows;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    assert_eq!(rows.len(), 1, "one earlier download (pip's): {rows:?}");
    let row = &rows[0];
    assert_eq!(row["filename"], "adv_victim-1.0-py3-none-any.whl", "{row}");
    assert!(row["user_agent"].as_str().unwrap_or("").starts_with("pip/"), "{row}");
    assert!(row["client"].as_str().unwrap().starts_with("127.0.0.1:"), "{row}");
    assert_eq!(row["trigger"], "feed", "{row}");
    assert!(row.to_string().contains("MAL-2099-0001") || row.to_string().contains("malware.known"), "{row}");

    // Status names the imported source.
    let out = pipgate(&["advisories", "status"], &gate.data_dir);
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(status.contains("malicious-test: 1 records (1 known malware)") && status.contains("CC-BY-4.0"), "{status}");
}

#[test]
fn a_known_exploited_vulnerability_makes_resolvers_fall_back_to_the_fixed_version() {
    let idx = FakeIndex::start(Format::Json);
    for v in ["1.0", "1.1", "2.0"] {
        idx.add_dist("adv-kev", wheel("adv-kev", v, &[], &[]));
    }
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    // 1.0 is vulnerable (fixed in 1.1); the bug came back in 2.0, with no fix yet.
    let vuln = r#"{"id":"PYSEC-2099-42","modified":"2026-11-01T00:00:00Z","aliases":["CVE-2099-4242"],
        "summary":"Remote code execution in adv-kev's request parser",
        "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected":[{"package":{"ecosystem":"PyPI","name":"adv-kev"},
          "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.1"},{"introduced":"2.0"}]}]}]}"#;
    let src = records(&[("PYSEC-2099-42", vuln.to_string())]);
    let out = pipgate(&["advisories", "import", "--name", "vulns-test", src.path().to_str().unwrap()], &data_dir);
    assert!(out.status.success(), "{}", show(&out));
    let kev = tmp.path().join("known_exploited_vulnerabilities.json");
    std::fs::write(
        &kev,
        r#"{"title":"test catalogue","vulnerabilities":[{"cveID":"CVE-2099-4242","dateAdded":"2026-11-02","dueDate":"2026-11-23","knownRansomwareCampaignUse":"Unknown"}]}"#,
    )
    .unwrap();
    let out = pipgate(&["advisories", "import", kev.to_str().unwrap()], &data_dir);
    assert!(out.status.success(), "{}", show(&out));
    let policy = tmp.path().join("policy.yaml");
    std::fs::write(&policy, SHIPPED_POLICY).unwrap();
    let gate = Pipgate::start_with(&idx.url(), &policy, &data_dir);

    // Unpinned: 2.0 and 1.0 are yanked before any download; both clients settle on 1.1.
    for client in ["pip", "uv"] {
        let venv = Venv::new();
        let args = ["install", "--index-url", &gate.url, "adv-kev"];
        let out = if client == "pip" { venv.pip(&args) } else { venv.uv_pip(&args) };
        assert!(out.status.success(), "{client}: {}", show(&out));
        assert_eq!(venv.run("import adv_kev; print(adv_kev.VERSION)"), "1.1", "{client}");
    }
    assert_eq!(idx.hits("adv_kev-2.0-py3-none-any.whl"), 0, "the vulnerable newest version was never downloaded");

    // The page says why, and the pinned vulnerable version is refused with the fix to take.
    let page: serde_json::Value = http()
        .get(format!("{}adv-kev/", gate.url))
        .header("Accept", "application/vnd.pypi.simple.v1+json")
        .send()
        .unwrap()
        .json()
        .unwrap();
    let yanked: Vec<&str> = page["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["yanked"].is_string())
        .map(|f| f["filename"].as_str().unwrap())
        .collect();
    assert_eq!(yanked, ["adv_kev-1.0-py3-none-any.whl", "adv_kev-2.0-py3-none-any.whl"], "{page}");
    let venv = Venv::new();
    let out = venv.uv_pip(&["install", "--index-url", &gate.url, "adv-kev==1.0"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    for want in ["PYSEC-2099-42", "CVE-2099-4242", "critical", "patching mandated", "fixed in 1.1"] {
        assert!(err.contains(want), "uv's message has {want:?}: {err}");
    }
    insta::assert_snapshot!("uv_known_exploited_pinned", scrub(&err, &gate));
    let out = venv.pip(&["install", "--index-url", &gate.url, "adv-kev==2.0"]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("vulnerability.known PYSEC-2099-42"), "{}", show(&out));
}

#[test]
fn a_project_whose_every_version_is_malware_is_quarantined_on_its_page() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("adv-all-bad", wheel("adv-all-bad", "0.1", &[], &[]));
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let mal = r#"{"id":"MAL-2099-0002","summary":"Malicious code in adv-all-bad (PyPI)",
        "affected":[{"package":{"ecosystem":"PyPI","name":"adv-all-bad"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}"#;
    let src = records(&[("MAL-2099-0002", mal.to_string())]);
    assert!(pipgate(&["advisories", "import", src.path().to_str().unwrap()], &data_dir).status.success());
    let policy = tmp.path().join("policy.yaml");
    std::fs::write(&policy, SHIPPED_POLICY).unwrap();
    let gate = Pipgate::start_with(&idx.url(), &policy, &data_dir);

    let page: serde_json::Value = http()
        .get(format!("{}adv-all-bad/", gate.url))
        .header("Accept", "application/vnd.pypi.simple.v1+json")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(page["project-status"]["status"], "quarantined", "{page}");
    assert!(page["project-status"]["reason"].as_str().unwrap().contains("MAL-2099-0002"), "{page}");
    let html = http().get(format!("{}adv-all-bad/", gate.url)).header("Accept", "text/html").send().unwrap();
    let html = html.text().unwrap();
    assert!(html.contains(r#"<meta name="pypi:project-status" content="quarantined">"#), "{html}");
    // The files still answer 403 with the record id, for clients that ignore the status.
    let url = page["files"][0]["url"].as_str().unwrap();
    let file = http().get(format!("{}adv-all-bad/{url}", gate.url)).send().unwrap();
    assert_eq!(file.status(), 403);
    assert!(file.text().unwrap().contains("MAL-2099-0002"));
    assert_eq!(idx.hits("adv_all_bad-0.1-py3-none-any.whl"), 0, "refused before any download");
}

#[test]
fn pipgate_scan_matches_the_built_in_snapshot_with_no_configuration() {
    // A wheel of a version the PyPA snapshot lists (urllib3 1.26.16: PYSEC-2023-192, fixed in 1.26.17).
    let tmp = tempfile::tempdir().unwrap();
    let dist = wheel("urllib3", "1.26.16", &[], &[]);
    let file = tmp.path().join(&dist.filename);
    std::fs::write(&file, &dist.bytes).unwrap();
    let policy = tmp.path().join("policy.yaml");
    std::fs::write(&policy, SHIPPED_POLICY).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pipgate"))
        .arg("scan")
        .arg(&file)
        .arg("--policy")
        .arg(&policy)
        .env("PIPGATE_LOG", "pipgate=warn")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "annotated, not blocked: {}", show(&out));
    for want in [
        "vulnerability.known",
        "PYSEC-2023-192 (fixed in 1.26.17, 2.0.6)",
        "CVE-2023-43804",
        "CVSS base score 8.1",
        "CC-BY-4.0",
    ] {
        assert!(text.contains(want), "the report shows {want:?}: {text}");
    }
    assert!(text.contains("rule:known-vulnerabilities"), "{text}");
}

#[test]
fn advisories_update_fetches_a_url_and_revalidates_it() {
    let served = tempfile::tempdir().unwrap();
    let mut zip = zip::ZipWriter::new(std::fs::File::create(served.path().join("all.zip")).unwrap());
    zip.start_file("MAL-2099-0003.json", zip::write::SimpleFileOptions::default()).unwrap();
    use std::io::Write;
    zip.write_all(
        br#"{"id":"MAL-2099-0003","affected":[{"package":{"ecosystem":"PyPI","name":"adv-remote"},"versions":["1.0"]}]}"#,
    )
    .unwrap();
    zip.finish().unwrap();
    // A plain static file server on loopback (it answers If-Modified-Since with 304).
    let mut server = std::process::Command::new("python3")
        .args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1"])
        .current_dir(served.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(server.stdout.take().unwrap()), &mut line).unwrap();
    let port = line.split("port ").nth(1).and_then(|s| s.split_whitespace().next()).expect("port");
    let url = format!("http://127.0.0.1:{port}/all.zip");
    let data = tempfile::tempdir().unwrap();
    let first = pipgate(&["advisories", "update", "--url", &url, "--name", "remote"], data.path());
    let second = pipgate(&["advisories", "update", "--url", &url, "--name", "remote"], data.path());
    let status = pipgate(&["advisories", "status"], data.path());
    let _ = server.kill();
    let _ = server.wait();
    assert!(first.status.success(), "{}", show(&first));
    assert!(String::from_utf8_lossy(&first.stdout).contains("remote: 1 records"), "{}", show(&first));
    assert!(String::from_utf8_lossy(&second.stdout).contains("not modified"), "{}", show(&second));
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("remote: 1 records (1 known malware)") && status.contains(&url), "{status}");
}

/// An OSV export zip holding `records` (`id` → JSON text).
fn osv_zip(records: &[(&str, &str)]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (id, text) in records {
        zip.start_file(format!("{id}.json"), zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// What a [`FeedServer`] saw: (the request's `If-None-Match`, the status answered), in order.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(Option<String>, u16)>>>;

/// One file served over plain HTTP on loopback with a content `ETag` (answering a matching
/// `If-None-Match` with 304), recording what each request asked and got.
struct FeedServer {
    url: String,
    body: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    seen: Seen,
}

impl FeedServer {
    fn start(body: Vec<u8>) -> FeedServer {
        use std::io::{BufRead, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/osv/all.zip", listener.local_addr().unwrap());
        let body = std::sync::Arc::new(std::sync::Mutex::new(body));
        let seen: Seen = Default::default();
        let (b, s) = (body.clone(), seen.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut if_none_match = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        if k.eq_ignore_ascii_case("if-none-match") {
                            if_none_match = Some(v.trim().to_string());
                        }
                    }
                }
                let bytes = b.lock().unwrap().clone();
                let etag = format!("\"{}\"", &sha256_hex(&bytes)[..16]);
                let status = if if_none_match.as_deref() == Some(etag.as_str()) { 304 } else { 200 };
                s.lock().unwrap().push((if_none_match, status));
                let head = if status == 304 {
                    format!("HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n")
                } else {
                    format!(
                        "HTTP/1.1 200 OK\r\nETag: {etag}\r\nContent-Type: application/zip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        bytes.len()
                    )
                };
                let _ = stream.write_all(head.as_bytes());
                if status == 200 {
                    let _ = stream.write_all(&bytes);
                }
            }
        });
        FeedServer { url, body, seen }
    }

    fn replace(&self, body: Vec<u8>) {
        *self.body.lock().unwrap() = body;
    }

    fn seen(&self) -> Vec<(Option<String>, u16)> {
        self.seen.lock().unwrap().clone()
    }

    /// Wait until a request answered `status` after the first `after` requests.
    fn wait_for(&self, status: u16, after: usize) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while !self.seen().iter().skip(after).any(|(_, s)| *s == status) {
            assert!(std::time::Instant::now() < deadline, "no {status} answered: {:?}", self.seen());
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

#[test]
fn serve_refreshes_advisories_from_a_url_and_refuses_a_release_once_its_record_appears() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("adv-fresh", wheel("adv-fresh", "1.0", &[], &[]));
    // At first the feed knows only some other project.
    let other = r#"{"id":"MAL-2099-0010","modified":"2026-11-01T00:00:00Z","summary":"Malicious code in adv-other (PyPI)",
        "affected":[{"package":{"ecosystem":"PyPI","name":"adv-other"},"versions":["1.0"]}]}"#;
    let feed = FeedServer::start(osv_zip(&[("MAL-2099-0010", other)]));
    let source = format!("feed-test={}", feed.url);
    let gate = Pipgate::start_args(
        &idx.url(),
        Some(SHIPPED_POLICY),
        &["--advisories-url", &source, "--advisories-refresh", "1s"],
    );

    feed.wait_for(200, 0);
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "adv-fresh"]);
    assert!(out.status.success(), "installs while the feed knows nothing of it: {}", show(&out));
    // Unchanged, the source is revalidated: a conditional request answered 304.
    feed.wait_for(304, 0);

    // The feed publishes a record for it; the next refresh fetches it, the poll loads it.
    let mal = r#"{"id":"MAL-2099-0011","modified":"2026-11-02T00:00:00Z","summary":"Malicious code in adv-fresh (PyPI)",
        "affected":[{"package":{"ecosystem":"PyPI","name":"adv-fresh"},"versions":["1.0"]}]}"#;
    let before = feed.seen().len();
    feed.replace(osv_zip(&[("MAL-2099-0010", other), ("MAL-2099-0011", mal)]));
    feed.wait_for(200, before);
    wait_for_page_decision(&gate, "adv-fresh", "block");

    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "adv-fresh"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("403") && err.contains("malware.known MAL-2099-0011"), "pip names the record: {err}");

    let seen = feed.seen();
    assert_eq!(seen[0], (None, 200), "the first fetch is unconditional: {seen:?}");
    assert!(seen[1..].iter().all(|(inm, _)| inm.is_some()), "every later fetch is conditional: {seen:?}");

    // Status names the source and its last refresh.
    let out = pipgate(&["advisories", "status"], &gate.data_dir);
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(status.contains("feed-test: 2 records (2 known malware)"), "{status}");
    assert!(status.contains("feed-test: last refreshed ") && status.contains("(ok)"), "{status}");
}
