//! The store contract, checked against every backend by one table-driven suite: each case
//! runs on a fresh embedded SQLite store and on a fresh PostgreSQL database (a real server
//! started for the test, see `tests/common/pg.rs`). Then what only a shared backend must do:
//! two replicas on one database (single flight, verdict changes recorded once, migrations
//! raced, a dead holder's lease taken over).

#[path = "../../tests/common/pg.rs"]
mod pg_server;

use super::*;
use crate::model::{Decision, Sha256};
use audit_index::tests::decision;
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

/// The dashboard's index: rows read back newest first under every filter, hourly roll-ups
/// count each row once, top findings, and only the cooldown holds still in force.
fn the_audit_index_reads_back_what_was_written(s: Stores) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        let mut rows = vec![
            decision(0, "serve", "alpha", "10.0.0.1", &[]),
            decision(1, "block", "beta", "10.0.0.2", &["execution.install-hook", "network.url-in-setup"]),
            decision(2, "annotate", "alpha", "10.0.0.2", &["network.url-in-setup"]),
            decision(3, "block", "gamma", "10.0.0.1", &["execution.install-hook"]),
        ];
        let mut hold = decision(4, "block", "fresh", "10.0.0.3", &[]);
        hold.rule = Some("cooldown".into());
        hold.until = Some(1_800_000_000);
        let mut over = decision(5, "block", "old", "10.0.0.3", &[]);
        over.until = Some(1_600_000_000);
        rows.extend([hold.clone(), over]);
        s.audit_index.index_decisions(rows).await.unwrap();

        let f = |outcome: Option<&str>, project: Option<&str>, client: Option<&str>| DecisionFilter {
            outcome: outcome.map(str::to_string),
            project: project.map(str::to_string),
            client: client.map(str::to_string),
            limit: 50,
        };
        let cases = [
            ("no filter: newest first", f(None, None, None), vec!["old", "fresh", "gamma", "alpha", "beta", "alpha"]),
            ("blocked", f(Some("block"), None, None), vec!["old", "fresh", "gamma", "beta"]),
            ("annotated", f(Some("annotate"), None, None), vec!["alpha"]),
            ("project", f(None, Some("alpha"), None), vec!["alpha", "alpha"]),
            ("client", f(None, None, Some("10.0.0.2")), vec!["alpha", "beta"]),
            ("every filter at once", f(Some("block"), Some("beta"), Some("10.0.0.2")), vec!["beta"]),
            ("no match", f(Some("serve"), Some("beta"), None), vec![]),
            ("limit", DecisionFilter { limit: 2, ..f(None, None, None) }, vec!["old", "fresh"]),
        ];
        for (case, filter, want) in cases {
            let got = s.audit_index.recent_decisions(filter).await.unwrap();
            assert_eq!(got.iter().map(|r| r.project.as_str()).collect::<Vec<_>>(), want, "{case}");
        }
        let beta = &s.audit_index.recent_decisions(f(None, Some("beta"), None)).await.unwrap()[0];
        assert_eq!(beta.findings, ["execution.install-hook", "network.url-in-setup"], "findings read back in order");

        let hours = s.audit_index.hourly_counts(0).await.unwrap();
        let total: u64 = hours.iter().map(|h| h.count).sum();
        assert_eq!(total, 6, "every row counted once: {hours:?}");
        let blocks: u64 = hours.iter().filter(|h| h.outcome == "block").map(|h| h.count).sum();
        assert_eq!(blocks, 4);
        assert!(s.audit_index.hourly_counts(1_900_000_000).await.unwrap().is_empty(), "nothing after the last hour");

        let top = s.audit_index.top_findings(0, 10).await.unwrap();
        assert_eq!(top, [("execution.install-hook".to_string(), 2), ("network.url-in-setup".to_string(), 2)]);
        assert_eq!(s.audit_index.top_findings(0, 1).await.unwrap().len(), 1, "limited");

        let holds = s.audit_index.cooldown_holds(1_700_000_500, 10).await.unwrap();
        assert_eq!(holds.iter().map(|h| h.project.as_str()).collect::<Vec<_>>(), ["fresh"], "only holds in force");
        assert_eq!(holds[0].until, Some(1_800_000_000));
    })
}

const CASES: &[Case] = &[
    ("origins are kept per listing", origins_are_kept_per_listing),
    ("scans are kept by scanner version", scans_are_kept_by_scanner_version),
    ("verdict changes are recorded once", verdict_changes_are_recorded_once),
    ("single flight serialises holders", single_flight_serialises_holders),
    ("the audit index reads back what was written", the_audit_index_reads_back_what_was_written),
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
    assert_eq!(applied, vec!["0001_init".to_string(), "0002_audit".to_string()], "raced migrations apply once");

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

    // The audit trail: both replicas append at once; one ordered stream holds every record
    // once, whole, with its replica, and each replica's records in the order it wrote them.
    let (trail_a, trail_b) = (one.audit_trail.clone().unwrap(), two.audit_trail.clone().unwrap());
    let writes = |trail: Arc<dyn AuditTrail>, replica: &'static str| async move {
        let mut written = Vec::new();
        for i in 0..40 {
            // Singles, and a page view's several records in one transaction.
            let batch: Vec<_> = (0..1 + i % 3).map(|j| trail_record(replica, i * 10 + j)).collect();
            trail.append(replica, batch.clone()).await.unwrap();
            written.extend(batch);
        }
        written
    };
    let (wrote_a, wrote_b) = tokio::join!(writes(trail_a.clone(), "replica-a"), writes(trail_b, "replica-b"));
    let all = trail_a.read_trail(&crate::audit::Query::default()).await.unwrap();
    assert_eq!(all.len(), wrote_a.len() + wrote_b.len(), "every record once");
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "one order, by seq");
    for (replica, wrote) in [("replica-a", &wrote_a), ("replica-b", &wrote_b)] {
        let theirs: Vec<_> = all.iter().filter(|e| e.replica == replica).map(|e| e.record.clone()).collect();
        assert_eq!(&theirs, wrote, "{replica}'s records, whole and in its order");
    }
    let q = |f: fn(&mut crate::audit::Query)| {
        let mut q = crate::audit::Query::default();
        f(&mut q);
        q
    };
    let since = time::OffsetDateTime::from_unix_timestamp(1_796_032_800 + 300).unwrap();
    let filtered: [(&str, crate::audit::Query, usize); 4] = [
        ("blocked only", q(|q| q.blocked_only = true), all.iter().filter(|e| e.record.decision == "block").count()),
        (
            "one project",
            q(|q| q.project = Some("proj-3".into())),
            all.iter().filter(|e| e.record.project == "proj-3").count(),
        ),
        ("one user", q(|q| q.user = Some("alice".into())), all.iter().filter(|e| e.record.user.is_some()).count()),
        (
            "since",
            crate::audit::Query { since: Some(since), ..Default::default() },
            all.iter()
                .filter(|e| e.record.request_id.rsplit(':').next().unwrap().parse::<i64>().unwrap() >= 300)
                .count(),
        ),
    ];
    for (case, query, want) in filtered {
        let got = trail_a.read_trail(&query).await.unwrap();
        assert!(want > 0 && want < all.len(), "{case}: a filter that keeps some: {want}");
        assert_eq!(got.len(), want, "{case}");
        assert!(got.iter().all(|e| query.matches(&e.record)), "{case}");
    }

    // The dashboard's index is shared: a row indexed by one replica is read by the other.
    one.audit_index.index_decisions(vec![decision(9, "block", "made-on-one", "10.0.0.9", &[])]).await.unwrap();
    let seen = two.audit_index.recent_decisions(DecisionFilter { limit: 5, ..Default::default() }).await.unwrap();
    assert!(seen.iter().any(|r| r.project == "made-on-one"), "{seen:?}");
}

/// A record of the trail test: the `n`th of `replica`, every field set (some optional ones
/// only on some records), a block every fifth, a second apart.
fn trail_record(replica: &str, n: i64) -> crate::audit::AuditRecord {
    let time = time::OffsetDateTime::from_unix_timestamp(1_796_032_800 + n).unwrap();
    crate::audit::AuditRecord {
        time: crate::timefmt::rfc3339(time),
        request_id: format!("{replica}:{n}"),
        client: "10.0.0.7:51234".into(),
        user: (n % 2 == 0).then(|| "alice".into()),
        user_agent: (n % 3 == 0).then(|| "pip/24.0 {\"ci\":null}".into()),
        request: "file".into(),
        project: format!("proj-{}", n % 7),
        version: Some("1.0".into()),
        filename: format!("proj_{}-1.0-py3-none-any.whl", n % 7),
        sha256: (n % 4 != 0).then(|| format!("{n:064x}")),
        decision: if n % 5 == 0 { "block" } else { "serve" }.into(),
        reasons: vec![crate::model::Reason {
            code: crate::model::ReasonCode::Rule("install-time-high".into()),
            message: format!("reason «{n}» with \"quotes\""),
            findings: vec!["execution.install-hook".into()],
        }],
        findings: if n % 5 == 0 {
            vec!["execution.install-hook".into(), "network.url-in-setup".into()]
        } else {
            vec![]
        },
        acceptances: if n % 6 == 0 { vec!["acc-1".into()] } else { vec![] },
        policy_digest: "ab".repeat(32),
        fault: None,
        pipgate_version: "0".into(),
    }
}
