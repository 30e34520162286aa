//! The blob store's contract, the same for each backend (a directory, and an S3-compatible
//! bucket served by moto): what goes in comes back verified; what was changed behind
//! pipgate's back never comes back.

use super::*;

#[path = "../../tests/common/moto.rs"]
mod moto;

/// Replaces an object's bytes behind the store's back.
type Tamper = Box<dyn Fn(&Sha256, Vec<u8>)>;

/// A backend under test and how to change an object behind the store's back.
struct Backend {
    name: &'static str,
    blobs: Blobs,
    tamper: Tamper,
    _keep: Box<dyn std::any::Any>,
}

fn dir_backend() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("shared");
    let blobs = Blobs::open(&SharedArtifacts::Dir(root.clone())).unwrap();
    let tamper = Box::new(move |sha: &Sha256, bytes: Vec<u8>| {
        std::fs::write(root.join(sha.prefix()).join(sha.as_str()), bytes).unwrap();
    });
    Backend { name: "directory", blobs, tamper, _keep: Box::new(dir) }
}

fn s3_backend() -> Backend {
    let server = std::sync::Arc::new(moto::MotoServer::start());
    server.create_bucket("pipgate-test");
    let loc = SharedArtifacts::parse("s3://pipgate-test/team/artifacts", Some(&server.endpoint()), None, true).unwrap();
    let blobs = Blobs::open_with(&loc, test_credentials()).unwrap();
    let s = server.clone();
    let tamper = Box::new(move |sha: &Sha256, bytes: Vec<u8>| {
        s.put("pipgate-test", &format!("team/artifacts/{}/{}", sha.prefix(), sha.as_str()), bytes);
    });
    Backend { name: "s3 (moto)", blobs, tamper, _keep: Box::new(server) }
}

/// What moto accepts, without touching this process's environment.
fn test_credentials() -> object_store::aws::AmazonS3Builder {
    let mut b = object_store::aws::AmazonS3Builder::new();
    for (k, v) in moto::S3_ENV {
        b = b.with_config(k.to_ascii_lowercase().parse().unwrap(), v);
    }
    b
}

/// Bytes that are not all alike (a pattern a short read would break).
fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 12) as u8).collect()
}

#[test]
fn both_backends_return_only_what_hashes_to_its_key() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    for backend in [dir_backend(), s3_backend()] {
        let b = &backend.blobs;
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        let dest = tmp.path().join("dest.part");
        let small = bytes(100_000, 1);
        // More than one part: the multipart path, parts read from the file.
        let large = bytes(PART_BYTES * 2 + 12345, 2);
        let (small_sha, large_sha) = (Sha256::digest(&small), Sha256::digest(&large));
        let name = backend.name;

        // (case, bytes stored or None, the key asked for, tampered bytes, limit, expected)
        type Case<'a> = (&'a str, Option<&'a [u8]>, &'a Sha256, Option<Vec<u8>>, u64, Fetched);
        let cases: Vec<Case> = vec![
            ("an absent object", None, &small_sha, None, u64::MAX, Fetched::Absent),
            ("a small file, one PUT", Some(&small), &small_sha, None, u64::MAX, Fetched::Verified(small.len() as u64)),
            (
                "a file of several parts",
                Some(&large),
                &large_sha,
                None,
                u64::MAX,
                Fetched::Verified(large.len() as u64),
            ),
            (
                "a tampered object is corrupt",
                Some(&small),
                &small_sha,
                Some(b"print('owned')".to_vec()),
                u64::MAX,
                Fetched::Corrupt { computed: Sha256::digest(b"print('owned')").to_string(), len: 14 },
            ),
            (
                "a truncated object is corrupt",
                Some(&large),
                &large_sha,
                Some(large[..PART_BYTES].to_vec()),
                u64::MAX,
                Fetched::Corrupt { computed: Sha256::digest(&large[..PART_BYTES]).to_string(), len: PART_BYTES as u64 },
            ),
            ("an object over the limit", Some(&small), &small_sha, None, 99_999, Fetched::TooLarge),
            (
                "an upload replaces a tampered object",
                Some(&small),
                &small_sha,
                None,
                u64::MAX,
                Fetched::Verified(small.len() as u64),
            ),
        ];
        for (case, stored, key, tampered, limit, want) in cases {
            rt.block_on(async {
                if let Some(content) = stored {
                    std::fs::write(&src, content).unwrap();
                    b.put_file(key, &src).await.unwrap_or_else(|e| panic!("{name}: {case}: put: {e}"));
                }
            });
            if let Some(t) = tampered {
                (backend.tamper)(key, t);
            }
            let got =
                rt.block_on(b.fetch_verified(key, &dest, limit)).unwrap_or_else(|e| panic!("{name}: {case}: {e}"));
            assert_eq!(got, want, "{name}: {case}");
            match (&got, stored) {
                (Fetched::Verified(_), Some(content)) => {
                    assert!(
                        std::fs::read(&dest).unwrap() == content,
                        "{name}: {case}: the bytes read back are the bytes put"
                    );
                }
                _ => assert!(!dest.exists(), "{name}: {case}: nothing unverified is left at the destination"),
            }
            let _ = std::fs::remove_file(&dest);
        }
    }
}

#[test]
fn a_shared_directory_holds_only_whole_objects_under_content_addressed_names() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("shared");
    let b = Blobs::open(&SharedArtifacts::Dir(root.clone())).unwrap();
    let content = bytes(PART_BYTES + 1, 3);
    let sha = Sha256::digest(&content);
    std::fs::write(tmp.path().join("src"), &content).unwrap();
    rt.block_on(b.put_file(&sha, &tmp.path().join("src"))).unwrap();
    let names: Vec<String> = std::fs::read_dir(root.join(sha.prefix()))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, [sha.to_string()], "the object under its sha256, no staging file left beside it");
    assert!(std::fs::read(root.join(sha.prefix()).join(sha.as_str())).unwrap() == content);
}

#[test]
fn artifacts_flag_parses_and_plain_http_needs_the_dangerous_switch() {
    type Case = (&'static str, &'static str, Option<&'static str>, bool, Result<&'static str, &'static str>);
    let cases: [Case; 8] = [
        (
            "a bucket and prefix",
            "s3://team-bucket/pipgate/artifacts/",
            None,
            false,
            Ok("s3://team-bucket/pipgate/artifacts"),
        ),
        ("a bucket alone", "s3://team-bucket", None, false, Ok("s3://team-bucket")),
        ("a directory", "/mnt/pipgate-artifacts", None, false, Ok("/mnt/pipgate-artifacts")),
        ("an upper-case bucket", "s3://Team", None, false, Err("bucket name of 3-63")),
        ("an empty prefix segment", "s3://team-bucket/a//b", None, false, Err("empty, '.' or '..'")),
        ("another scheme", "gs://team-bucket", None, false, Err("expected s3://BUCKET[/PREFIX] or a directory path")),
        (
            "https endpoint",
            "s3://team-bucket",
            Some("https://objects.internal:9000"),
            false,
            Ok("s3://team-bucket at https://objects.internal:9000/"),
        ),
        (
            "plain http without the switch",
            "s3://team-bucket",
            Some("http://127.0.0.1:9000"),
            false,
            Err("--dangerous-s3-allow-http"),
        ),
    ];
    for (case, raw, endpoint, dangerous, want) in cases {
        // Opening a bucket sends nothing; a directory is only parsed (opening creates it).
        let got = SharedArtifacts::parse(raw, endpoint, Some("us-east-1"), dangerous).and_then(|s| match s {
            SharedArtifacts::Dir(d) => Ok(d.display().to_string()),
            s3 => Blobs::open_with(&s3, test_credentials()).map(|b| b.describe),
        });
        match (got, want) {
            (Ok(d), Ok(w)) => assert_eq!(d, w, "{case}"),
            (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{case}: {e}"),
            (got, want) => panic!("{case}: got {got:?}, expected {want:?}"),
        }
    }
    // With the switch, the same endpoint is accepted.
    let ok = SharedArtifacts::parse("s3://team-bucket", Some("http://127.0.0.1:9000"), Some("us-east-1"), true);
    assert!(Blobs::open_with(&ok.unwrap(), test_credentials()).is_ok());
}
