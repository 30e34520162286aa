//! Small verified artifacts served from memory (`--memory-cache-bytes`,
//! `--memory-cache-file-max`): the bytes and ranges a client gets are the same as from disk,
//! repeat requests are answered from memory, and the gate still decides each request — a
//! policy change that blocks a file is obeyed at once, memory or not.

mod common;
use common::*;
use reqwest::header;

const PTH_EXEC: &str = "import base64;exec(base64.b64decode('aW1wb3J0IG9zO29zLnN5c3RlbSgiY3VybCBodHRwOi8vMjAzLjAuMTEzLjcveCB8IHNoIik='))\n";

/// `pipgate_cache_requests_total{cache="memory",result=…}`.
fn memory_lookups(gate: &Pipgate, result: &str) -> f64 {
    metric(&gate.base(), "pipgate_cache_requests_total", &[("cache", "memory"), ("result", result)])
}

#[test]
fn artifacts_from_memory_are_the_verified_bytes_with_the_same_ranges_as_from_disk() {
    let idx = FakeIndex::start(Format::Json);
    // Poorly compressible, so the wheel is some KiB (over the 1000-byte case's limit).
    let data: String = (0..2000u64).map(|i| format!("V{i} = {}\n", i.wrapping_mul(0x9e37_79b9_7f4a_7c15))).collect();
    let small = wheel("demo-small", "1.0", &[], &[("demo_small/data.py", &data)]);
    let (small_name, small_bytes) = (small.filename.clone(), small.bytes.clone());
    idx.add_dist("demo-small", small);
    let cases: [(&str, &[&str], bool); 3] = [
        ("memory cache on (default)", &[], true),
        ("file larger than --memory-cache-file-max", &["--memory-cache-file-max", "1000"], false),
        ("memory cache off", &["--memory-cache-bytes", "0"], false),
    ];
    for (case, flags, from_memory) in cases {
        let gate = Pipgate::start_args(&idx.url(), None, flags);
        let url = gate.file_url("demo-small", &small_name);
        let len = small_bytes.len();
        assert!(len > 1000, "the wheel is {len} bytes");
        let sha = sha256_hex(&small_bytes);
        let hits_before = memory_lookups(&gate, "hit");
        for round in ["first request (download, scan)", "repeat request"] {
            let r = http().get(&url).send().unwrap();
            assert_eq!(r.status(), 200, "{case}, {round}: {}", gate.log());
            assert_eq!(r.headers()[header::CONTENT_LENGTH], len.to_string().as_str(), "{case}, {round}");
            assert_eq!(r.headers()[header::ETAG], format!("\"{sha}\"").as_str(), "{case}, {round}");
            assert_eq!(sha256_hex(&r.bytes().unwrap()), sha, "{case}, {round}: the bytes hash to the index's sha256");
        }
        let ranges = [
            (
                "zip tail, as uv reads it",
                "bytes=-22".to_string(),
                206,
                Some(format!("bytes {}-{}/{len}", len - 22, len - 1)),
                len - 22..len,
            ),
            ("middle", "bytes=100-199".to_string(), 206, Some(format!("bytes 100-199/{len}")), 100..200),
            (
                "open ended",
                format!("bytes={}-", len - 5),
                206,
                Some(format!("bytes {}-{}/{len}", len - 5, len - 1)),
                len - 5..len,
            ),
            ("past the end", format!("bytes={len}-"), 416, Some(format!("bytes */{len}")), 0..0),
        ];
        for (what, range, status, content_range, span) in ranges {
            let r = http().get(&url).header(header::RANGE, &range).send().unwrap();
            assert_eq!(r.status(), status, "{case}, {what}");
            let got_range = r.headers().get(header::CONTENT_RANGE).map(|v| v.to_str().unwrap().to_string());
            assert_eq!(got_range, content_range, "{case}, {what}");
            assert_eq!(r.bytes().unwrap().as_ref(), &small_bytes[span], "{case}, {what}");
        }
        let head = http().head(&url).send().unwrap();
        assert_eq!(head.headers()[header::CONTENT_LENGTH], len.to_string().as_str(), "{case}: HEAD");
        let not_modified = http().get(&url).header(header::IF_NONE_MATCH, format!("\"{sha}\"")).send().unwrap();
        assert_eq!(not_modified.status(), 304, "{case}: If-None-Match");
        // Repeat GETs, ranges, HEAD and the 304 are 7 requests after the first.
        let hits = memory_lookups(&gate, "hit") - hits_before;
        if from_memory {
            assert!(hits >= 7.0, "{case}: repeat requests come from memory ({hits} memory hits)");
        } else {
            assert_eq!(hits, 0.0, "{case}: nothing comes from memory");
        }
        let served = gate.audit().iter().filter(|r| r["filename"] == small_name.as_str()).count();
        assert_eq!(served, 8, "{case}: every request is audited, memory or not");
    }
}

#[test]
fn a_policy_change_that_blocks_a_file_in_memory_is_obeyed_at_once() {
    let idx = FakeIndex::start(Format::Json);
    let pth = wheel("demo-hot", "1.0", &[], &[("demo_hot_init.pth", PTH_EXEC)]);
    let (name, bytes) = (pth.filename.clone(), pth.bytes.clone());
    idx.add_dist("demo-hot", pth);
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("etc").join("policy.yaml");
    std::fs::create_dir_all(policy.parent().unwrap()).unwrap();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/policy.yaml");
    let base = format!("extends: {shipped}\ncooldown:\n  min_age: \"0\"\n");
    // The allow list: findings are not weighed, so the file is served (and kept in memory).
    std::fs::write(&policy, format!("{base}allow: [\"demo-hot\"]\n")).unwrap();
    let gate = Pipgate::start_with(&idx.url(), &policy, &dir.path().join("data"));
    let url = gate.file_url("demo-hot", &name);
    for round in ["first request", "repeat request, from memory"] {
        let r = http().get(&url).send().unwrap();
        assert_eq!(r.status(), 200, "{round}: {}", gate.log());
        assert_eq!(sha256_hex(&r.bytes().unwrap()), sha256_hex(&bytes), "{round}");
    }
    assert!(memory_lookups(&gate, "hit") >= 1.0, "the repeat request came from memory");

    // The allow entry removed: the critical finding blocks, and memory serves nothing more.
    std::fs::write(&policy, &base).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let mut status = 200;
    while status != 403 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
        status = http().get(&url).send().unwrap().status().as_u16();
    }
    assert_eq!(status, 403, "blocked after the reload: {}", gate.log());
    for (case, range) in [("whole file", None), ("a range", Some("bytes=0-99"))] {
        let mut req = http().get(&url);
        if let Some(r) = range {
            req = req.header(header::RANGE, r);
        }
        let r = req.send().unwrap();
        assert_eq!(r.status(), 403, "{case}");
        assert_eq!(r.headers()["x-pipgate-decision"], "block", "{case}");
        assert!(!r.bytes().unwrap().windows(4).any(|w| w == b"PK\x03\x04"), "{case}: no zip bytes in the answer");
    }
    let last = gate.audit().into_iter().rev().find(|r| r["filename"] == name.as_str()).unwrap();
    assert_eq!(last["decision"], "block", "the block is audited");
}

#[test]
fn a_cached_file_changed_on_disk_is_never_served_and_is_fetched_again() {
    let idx = FakeIndex::start(Format::Json);
    let dist = wheel("demo-small", "1.0", &[], &[("demo_small/data.py", "X = 1\n")]);
    let (name, good) = (dist.filename.clone(), dist.bytes.clone());
    idx.add_dist("demo-small", dist);
    let tmp = tempfile::tempdir().unwrap();
    let (policy, data_dir) = (tmp.path().join("policy.yaml"), tmp.path().join("data"));
    std::fs::write(&policy, "# empty test policy\n").unwrap();
    let sha = sha256_hex(&good);
    {
        let gate = Pipgate::start_with(&idx.url(), &policy, &data_dir);
        let r = http().get(gate.file_url("demo-small", &name)).send().unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(sha256_hex(&r.bytes().unwrap()), sha);
    }
    // Changed on disk while pipgate was down (its memory is empty after the restart).
    let cached = data_dir.join("artifacts").join(&sha[..2]).join(&sha);
    let mut bad = std::fs::read(&cached).unwrap();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    std::fs::write(&cached, &bad).unwrap();
    let gate = Pipgate::start_with(&idx.url(), &policy, &data_dir);
    let url = gate.file_url("demo-small", &name);
    let downloads = idx.hits(&format!("/files/{name}"));
    let first = http().get(&url).send().unwrap();
    let status = first.status();
    let body = first.bytes().unwrap();
    assert!(status != 200 || sha256_hex(&body) == sha, "the changed bytes were served: {status}, {}", gate.log());
    let again = http().get(&url).send().unwrap();
    assert_eq!(again.status(), 200, "{}", gate.log());
    assert_eq!(sha256_hex(&again.bytes().unwrap()), sha, "the verified bytes, fetched again");
    assert!(idx.hits(&format!("/files/{name}")) > downloads, "the file was downloaded again");
}

/// `VmRSS:` / `VmHWM:` of a process, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_else(|| panic!("no {field} in {status}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Memory under concurrency (issue 16: "RSS under 200 MiB while serving 200 concurrent
/// downloads of a 500 MiB artifact", here at a size CI runs in seconds). Files too large for
/// memory are streamed from disk in bounded chunks, so 200 clients reading a cached 32 MiB
/// file at once must not hold its bytes per client (200 × 32 MiB = 6.4 GiB), nor grow memory
/// the way an allocator keeping freed chunks per thread did (mimalloc: 377 MiB against
/// glibc's 146 MiB in `bench/load.sh`). Not timed: it checks memory and bytes.
#[test]
fn two_hundred_concurrent_downloads_of_a_cached_large_file_keep_memory_bounded() {
    const CLIENTS: usize = 200;
    const MIB: u64 = 32;
    let idx = FakeIndex::start(Format::Json);
    let (filename, generated) = Generated::wheel("demo-big", "1.0", MIB);
    let (len, sha) = (generated.len, generated.sha256.clone());
    let mut f = FakeFile::new(Dist { filename: filename.clone(), bytes: vec![], metadata: None });
    f.generated = Some(std::sync::Arc::new(generated));
    idx.add("demo-big", f);
    let gate = Pipgate::start_args(&idx.url(), None, &["--prescan", "off", "--max-connections-per-client", "1000"]);
    let url = gate.file_url("demo-big", &filename);
    // Downloaded, verified and scanned once; then only serving is measured.
    assert_eq!(concurrent_gets(&url, 1, true), vec![(200, len, sha.clone())], "{}", gate.log());
    let pid = gate.child.id();
    let before = status_kib(pid, "VmRSS:");
    // Reset the peak (VmHWM) to the current RSS: the peak read below is the serving's.
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();

    let got = concurrent_gets(&url, CLIENTS, true);

    let peak = status_kib(pid, "VmHWM:");
    let wrong = got.iter().filter(|g| **g != (200, len, sha.clone())).count();
    assert_eq!(wrong, 0, "{wrong} of {CLIENTS} clients did not get the file's bytes");
    let served = gate.audit().iter().filter(|r| r["filename"] == filename.as_str() && r["decision"] == "serve").count();
    assert_eq!(served, CLIENTS + 1, "every download is audited");
    // (what, KiB, bound in KiB): measured 2026-11-30 (glibc, 2 cores): RSS ~60 MiB before,
    // peak 124-127 MiB while serving (growth ~65 MiB; 82 MiB for the build before). The peak
    // bound is the issue's; the growth bound (~600 KiB per client) is about twice what was
    // measured, so a regression like mimalloc's (2.5x) or per-client buffering fails it.
    let cases = [
        ("peak RSS while serving", peak, 200 << 10),
        ("growth over the RSS before", peak.saturating_sub(before), 120 << 10),
    ];
    for (what, kib, bound) in cases {
        eprintln!("{what}: {} MiB (bound {} MiB)", kib >> 10, bound >> 10);
        assert!(kib < bound, "{what}: {} MiB, bound {} MiB (RSS before: {} MiB)", kib >> 10, bound >> 10, before >> 10);
    }
}
