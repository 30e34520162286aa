//! Shared artifacts, end to end: replicas on one PostgreSQL server (`common/pg.rs`) and one
//! S3-compatible bucket (moto in server mode, `common/moto.rs`), or one shared directory;
//! real pip and uv. The fake upstream counts downloads: each artifact leaves it once for
//! the whole cluster, and bytes changed in the bucket are never served.

mod common;
use common::moto::{MotoServer, S3_ENV};
use common::pg::PgServer;
use common::*;

const BUCKET: &str = "pipgate-shared";

/// `serve` flags for the test bucket at `endpoint`.
fn bucket_flags(endpoint: &str) -> Vec<String> {
    let artifacts = format!("s3://{BUCKET}/team/artifacts");
    ["--artifacts", &artifacts, "--s3-endpoint", endpoint, "--dangerous-s3-allow-http"].map(String::from).to_vec()
}

/// A replica with its own data directory on the shared database and bucket.
fn replica(upstream: &str, db_url: &str, endpoint: &str) -> Pipgate {
    let mut flags = vec!["--database".to_string(), db_url.to_string()];
    flags.extend(bucket_flags(endpoint));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    Pipgate::start_full(upstream, None, &flags, &S3_ENV)
}

/// The bucket key of an artifact.
fn object_key(sha256: &str) -> String {
    format!("team/artifacts/{}/{sha256}", &sha256[..2])
}

/// sha256 of a file as a replica serves it, and of the `Range: bytes=10-99` slice.
fn served(gate: &Pipgate, project: &str, filename: &str) -> (u16, String, Vec<u8>) {
    let url = gate.file_url(project, filename);
    let whole = http().get(url.clone()).send().unwrap();
    let status = whole.status().as_u16();
    let sha = sha256_hex(&whole.bytes().unwrap());
    let part = http().get(url).header("Range", "bytes=10-99").send().unwrap();
    assert_eq!(part.status(), 206, "a range request is still answered with 206");
    (status, sha, part.bytes().unwrap().to_vec())
}

#[test]
fn replicas_on_one_bucket_download_each_artifact_from_the_upstream_once() {
    let pg = PgServer::start();
    let db = pg.url("postgres");
    let moto = MotoServer::start();
    moto.create_bucket(BUCKET);
    let idx = FakeIndex::start(Format::Json);
    let base = wheel("demo-base", "1.0", &[], &[]);
    let app = wheel("demo-app", "1.0", &["demo-base"], &[]);
    let files = [
        ("demo-base", base.filename.clone(), base.bytes.clone()),
        ("demo-app", app.filename.clone(), app.bytes.clone()),
    ];
    idx.add_dist("demo-base", base);
    idx.add_dist("demo-app", app);

    // Replica A installs first: it downloads, verifies and uploads.
    let a = replica(&idx.url(), &db, &moto.endpoint());
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", a.url.as_str(), "demo-app"]);
    assert!(out.status.success(), "pip via A: {}\n{}", show(&out), a.log());
    for (project, filename, bytes) in &files {
        let sha = sha256_hex(bytes);
        let stored = moto.get(BUCKET, &object_key(&sha));
        assert!(
            stored.as_deref() == Some(&bytes[..]),
            "{project}: the bucket holds the verified bytes under their sha256"
        );
        assert_eq!(idx.hits(filename), 1, "{project}: A downloaded it once");
    }

    // Replica B (its own empty data directory) serves pip and uv from the bucket.
    let b = replica(&idx.url(), &db, &moto.endpoint());
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", b.url.as_str(), "demo-app"]);
    assert!(out.status.success(), "pip via B: {}\n{}", show(&out), b.log());
    assert_eq!(venv.run("import demo_app, demo_base; print(demo_app.VERSION, demo_base.VERSION)"), "1.0 1.0");
    let venv = Venv::new();
    let out = venv.uv_pip(&["install", "--index-url", b.url.as_str(), "demo-app"]);
    assert!(out.status.success(), "uv via B: {}\n{}", show(&out), b.log());
    for (project, filename, bytes) in &files {
        let sha = sha256_hex(bytes);
        assert_eq!(idx.hits(filename), 1, "{project}: the upstream saw one download for both replicas");
        assert!(
            b.log().lines().any(|l| l.contains("artifact read from the shared store, verified") && l.contains(&sha)),
            "{project}: B read it from the bucket\n{}",
            b.log()
        );
        let (status, served_sha, slice) = served(&b, project, filename);
        assert_eq!((status, served_sha), (200, sha.clone()), "{project}: B serves the right bytes");
        assert_eq!(slice, bytes[10..100], "{project}: the range is the right slice");
    }

    // Someone rewrites demo-base's object in the bucket. A new replica C with an empty
    // data directory must not serve it: it downloads from the upstream again, serves the
    // right bytes and puts them back.
    let (_, base_file, base_bytes) = &files[0];
    let base_sha = sha256_hex(base_bytes);
    let mut tampered = base_bytes.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 0xff;
    moto.put(BUCKET, &object_key(&base_sha), tampered);
    let c = replica(&idx.url(), &db, &moto.endpoint());
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", c.url.as_str(), "demo-app"]);
    assert!(out.status.success(), "pip via C: {}\n{}", show(&out), c.log());
    let (status, served_sha, _) = served(&c, "demo-base", base_file);
    assert_eq!((status, served_sha), (200, base_sha.clone()), "C serves the upstream's bytes, not the bucket's");
    assert!(
        c.log().contains("does not hash to its key") && c.log().contains(&base_sha),
        "C says why it did not use the object\n{}",
        c.log()
    );
    assert_eq!(idx.hits(base_file), 2, "the tampered artifact was downloaded again");
    assert_eq!(idx.hits(&files[1].1), 1, "the intact one was not");
    assert!(moto.get(BUCKET, &object_key(&base_sha)).as_deref() == Some(&base_bytes[..]), "the object is repaired");
}

#[test]
fn replicas_on_one_shared_directory_download_each_artifact_once() {
    let idx = FakeIndex::start(Format::Html);
    let dist = wheel("demo-dir", "1.0", &[], &[]);
    let (filename, sha) = (dist.filename.clone(), sha256_hex(&dist.bytes));
    idx.add_dist("demo-dir", dist);
    let shared = tempfile::tempdir().unwrap();
    let dir = shared.path().to_str().unwrap();
    // Separate data directories and SQLite databases: only the artifacts are shared.
    let a = Pipgate::start_args(&idx.url(), None, &["--artifacts", dir]);
    let b = Pipgate::start_args(&idx.url(), None, &["--artifacts", dir]);
    for (gate, tool) in [(&a, "pip"), (&b, "pip"), (&b, "uv")] {
        let venv = Venv::new();
        let args = ["install", "--index-url", gate.url.as_str(), "demo-dir"];
        let out = if tool == "pip" { venv.pip(&args) } else { venv.uv_pip(&args) };
        assert!(out.status.success(), "{tool} via {}: {}", gate.url, show(&out));
    }
    assert_eq!(idx.hits(&filename), 1, "one upstream download for both replicas");
    let stored = std::fs::read(shared.path().join(&sha[..2]).join(&sha)).unwrap();
    assert_eq!(sha256_hex(&stored), sha, "the shared directory holds the verified bytes under their sha256");
}

#[test]
fn a_plain_http_endpoint_is_refused_without_the_dangerous_switch() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pipgate"))
        .args(["serve", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:9/simple/"])
        .args(["--artifacts", "s3://pipgate-shared", "--s3-endpoint", "http://127.0.0.1:9"])
        .arg("--data-dir")
        .arg(tempfile::tempdir().unwrap().path())
        .envs(S3_ENV)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "pipgate started with a plain-HTTP bucket endpoint: {err}");
    assert!(err.contains("--dangerous-s3-allow-http"), "the error names the switch: {err}");
}
