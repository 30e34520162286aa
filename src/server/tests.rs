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
