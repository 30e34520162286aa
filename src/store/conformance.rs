//! The store contract, checked against every backend by one table-driven suite: each case
//! runs on a fresh embedded SQLite store and on a fresh PostgreSQL database (a real server
//! started for the test, see `tests/common/pg.rs`). Then what only a shared backend must do:
//! two replicas on one database (single flight, verdict changes recorded once, migrations
//! raced, a dead holder's lease taken over).

#[path = "../../tests/common/pg.rs"]
mod pg_server;

use super::*;
use crate::model::{Decision, Sha256};
use futures_util::future::BoxFuture;
use lookback::{DecisionState, VerdictNote};
use pg_server::PgServer;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

type Case = (&'static str, fn(Stores) -> BoxFuture<'static, ()>);

fn origin(key: &str, project: &str, filename: &str) -> FileOrigin {
    FileOrigin {
        key: key.into(),
        filename: filename.into(),
        project: project.into(),
        url: format!("https://f.example.org/{filename}"),
        hashes: [("sha256".to_string(), key.to_string())].into(),
        upload_time: Some("2024-01-01T00:00:00Z".into()),
        size: Some(10),
        core_metadata: Some(serde_json::json!({"sha256": "cd"})),
    }
}

fn report(version: &str) -> ScanReport {
    ScanReport {
        schema_version: 1,
        scanner_version: version.into(),
        filename: "demo-1.0-py3-none-any.whl".into(),
        kind: crate::model::ArtifactKind::Wheel,
        project: Some("demo".into()),
        version: Some("1.0".into()),
        findings: vec![],
        stats: Default::default(),
        licence: Default::default(),
    }
}

fn note(sha: &str, decision: Decision, digest: &str, enrichment: &str) -> VerdictNote {
    VerdictNote {
        sha256: sha.into(),
        project: "demo".into(),
        version: Some("1.0".into()),
        filename: "demo-1.0-py3-none-any.whl".into(),
        decision,
        reason: format!("{} by test", decision.as_str()),
        state: DecisionState {
            policy_digest: digest.into(),
            enrichment: enrichment.into(),
            scanner_version: "1".into(),
        },
    }
}

/// Every listing of the same bytes is kept (oldest first), re-listing is an upsert, and
/// verifying the bytes once covers every listing.
fn origins_are_kept_per_listing(s: Stores) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        let key = "ab".repeat(32);
        let first = origin(&key, "demo-a", "demo_a-1.0.tar.gz");
        let mut second = origin(&key, "demo-b", "demo_b-1.0.tar.gz");
        second.upload_time = None;
        second.core_metadata = None;
        s.origins.put_origins(vec![first.clone()]).await.unwrap();
        s.origins.put_origins(vec![second.clone(), first.clone()]).await.unwrap();
        assert_eq!(s.origins.origins(&key).await.unwrap(), vec![first.clone(), second.clone()]);
        assert_eq!(s.origins.origin(&key, &second.filename).await.unwrap(), Some(second.clone()));
        assert_eq!(s.origins.origin(&key, "other-1.0.tar.gz").await.unwrap(), None);
        assert_eq!(s.origins.verified(&key).await.unwrap(), None);
        let v = Verified { sha256: Sha256::parse(&key).unwrap(), metadata_sha256: Some("ef".into()) };
        s.origins.set_verified(&key, &v).await.unwrap();
        assert_eq!(s.origins.verified(&key).await.unwrap(), Some(v.clone()));
        for p in ["demo-a", "demo-b"] {
            assert_eq!(s.origins.verified_in_project(p).await.unwrap().get(&key), Some(&v), "{p}");
        }
        assert!(s.origins.verified_in_project("nobody").await.unwrap().is_empty());
        let both = s.lookback.verified_origins().await.unwrap();
        assert_eq!(both.iter().map(|(_, o)| o.project.as_str()).collect::<Vec<_>>(), ["demo-a", "demo-b"]);
    })
}

/// Reports by (sha256, scanner version); a newer scanner's report makes the old one outdated.
fn scans_are_kept_by_scanner_version(s: Stores) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        s.scans.put_scan("old-only", "1", &report("1")).await.unwrap();
        s.scans.put_scan("both", "1", &report("1")).await.unwrap();
        s.scans.put_scan("both", "2", &report("2")).await.unwrap();
        s.scans.put_scan("new-only", "2", &report("2")).await.unwrap();
        assert_eq!(s.scans.scan("both", "1").await.unwrap().map(|r| r.scanner_version), Some("1".into()));
        assert!(s.scans.scan("old-only", "2").await.unwrap().is_none(), "another scanner version rescans");
        assert_eq!(s.lookback.outdated_scans("2").await.unwrap(), vec!["old-only".to_string()]);
        assert_eq!(s.lookback.latest_scan("both").await.unwrap().map(|r| r.scanner_version), Some("2".into()));
        assert!(s.lookback.latest_scan("missing").await.unwrap().is_none());
    })
}

/// A first verdict is no change; a different decision is one change, with its trigger.
fn verdict_changes_are_recorded_once(s: Stores) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        use Decision::*;
        for n in [
            note("a", Serve, "p1", "osv@1"),
            note("a", Serve, "p1", "osv@1"),
            note("a", Block, "p1", "osv@2"),
            note("a", Block, "p2", "osv@2"),
            note("a", Serve, "p3", "osv@2"),
            note("b", Block, "p3", "osv@2"),
        ] {
            s.lookback.note_verdicts(vec![n]).await.unwrap();
        }
        let got: Vec<_> = s
            .lookback
            .verdict_changes()
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.sha256, c.old_decision, c.new_decision, c.trigger))
            .collect();
        assert_eq!(got, vec![("a".into(), Serve, Block, "feed".into()), ("a".into(), Block, Serve, "policy".into())]);
    })
}

/// One holder per key; other keys are independent; a finished key lets the next one in.
fn single_flight_serialises_holders(s: Stores) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        let first = s.flights.acquire("k1").await;
        let f = s.flights.clone();
        let waiter = tokio::spawn(async move {
            let _g = f.acquire("k1").await;
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiter.is_finished(), "a second holder waits for the first");
        let other = tokio::time::timeout(Duration::from_secs(5), s.flights.acquire("k2")).await;
        assert!(other.is_ok(), "another key does not wait");
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), waiter).await.expect("the waiter gets in").unwrap();
    })
}

const CASES: &[Case] = &[
    ("origins are kept per listing", origins_are_kept_per_listing),
    ("scans are kept by scanner version", scans_are_kept_by_scanner_version),
    ("verdict changes are recorded once", verdict_changes_are_recorded_once),
    ("single flight serialises holders", single_flight_serialises_holders),
];

/// A fresh database on the test server, and its URL.
async fn fresh_db(server: &PgServer) -> crate::config::PgUrl {
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!("t{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let (client, conn) = tokio_postgres::connect(&server.url("postgres"), tokio_postgres::NoTls).await.unwrap();
    let driver = tokio::spawn(conn);
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
    drop(client);
    let _ = driver.await;
    crate::config::PgUrl::new(&server.url(&name))
}

fn pg_stores(url: &crate::config::PgUrl, dirs: &DataDir) -> Stores {
    open(&Database::Postgres(url.clone()), dirs).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_backend_keeps_the_store_contract() {
    let server = PgServer::start();
    for (case, run) in CASES {
        for backend in ["sqlite", "postgres"] {
            let dir = tempfile::tempdir().unwrap();
            let dirs = DataDir::new(dir.path());
            dirs.create_all().unwrap();
            let stores = match backend {
                "sqlite" => open(&Database::Sqlite(dir.path().join("s.sqlite3")), &dirs).unwrap(),
                _ => pg_stores(&fresh_db(&server).await, &dirs),
            };
            // A failing case names itself and its backend.
            let outcome = tokio::spawn(run(stores)).await;
            assert!(outcome.is_ok(), "{case} on {backend}: {:?}", outcome.err());
        }
    }
}

/// Two replicas on one database: one holds a file's flight, the other waits; a lease left by
/// a dead replica is taken over once it expires; the same verdict change noted by both at
/// once is recorded once; migrations raced by both are applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_one_database() {
    let server = PgServer::start();
    let url = fresh_db(&server).await;
    let (config, tls) = postgres::connect_config(&url).unwrap();
    let (a, b) = tokio::join!(postgres::migrate::run(&config, tls.clone()), postgres::migrate::run(&config, tls));
    let mut applied = [a.unwrap(), b.unwrap()].concat();
    applied.sort();
    assert_eq!(applied, vec!["0001_init".to_string()], "raced migrations apply once");

    let dir = tempfile::tempdir().unwrap();
    let dirs = DataDir::new(dir.path());
    dirs.create_all().unwrap();
    let (one, two) = (pg_stores(&url, &dirs), pg_stores(&url, &dirs));

    // Single flight across replicas.
    let held = one.flights.acquire("k").await;
    let f = two.flights.clone();
    let waiter = tokio::spawn(async move {
        let _g = f.acquire("k").await;
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!waiter.is_finished(), "the other replica waits for the holder");
    drop(held);
    tokio::time::timeout(Duration::from_secs(5), waiter).await.expect("released for the other replica").unwrap();

    // A dead replica's lease (never released, never renewed) is taken over after its expiry.
    let pool = postgres::PgStore::open(&url).unwrap().pool();
    let c = pool.get().await.unwrap();
    c.execute(
        "INSERT INTO flight_leases (key, holder, expires_at) VALUES ('dead', 'gone/0', now() + interval '1 second')",
        &[],
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let taken = tokio::time::timeout(Duration::from_secs(10), one.flights.acquire("dead")).await;
    assert!(taken.is_ok(), "an expired lease is taken over");
    assert!(started.elapsed() >= Duration::from_millis(700), "not before it expired: {:?}", started.elapsed());
    let holder: String = c.query_one("SELECT holder FROM flight_leases WHERE key='dead'", &[]).await.unwrap().get(0);
    assert_ne!(holder, "gone/0");

    // The same change noted by both replicas at once is recorded once.
    one.lookback.note_verdicts(vec![note("x", Decision::Serve, "p1", "")]).await.unwrap();
    let (r1, r2) = tokio::join!(
        one.lookback.note_verdicts(vec![note("x", Decision::Block, "p2", "")]),
        two.lookback.note_verdicts(vec![note("x", Decision::Block, "p2", "")]),
    );
    assert_eq!(r1.unwrap().len() + r2.unwrap().len(), 1, "one replica records the change");
    assert_eq!(two.lookback.verdict_changes().await.unwrap().len(), 1);
}
