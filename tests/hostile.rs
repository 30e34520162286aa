//! Hostile pages and hostile clients: a huge upstream page must not stall the server,
//! concurrent cold page requests share one upstream GET, and the listener sheds
//! slowloris, idle and excess connections while real clients are still served.

mod common;
use common::*;
use std::time::{Duration, Instant};

const PIP_ACCEPT: &str =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";

/// An upstream project `big` with `n` files (tiny bodies: only the page matters).
fn big_index(format: Format, n: usize) -> FakeIndex {
    let idx = FakeIndex::start(format);
    let files: Vec<FakeFile> = (0..n)
        .map(|i| {
            FakeFile::new(Dist {
                filename: format!("big-{}.{}.{}-py3-none-any.whl", i / 10_000, (i / 100) % 100, i % 100),
                bytes: i.to_le_bytes().to_vec(),
                metadata: None,
            })
        })
        .collect();
    idx.state.lock().unwrap().projects.insert("big".into(), files);
    idx
}

#[test]
fn a_huge_page_neither_stalls_the_server_nor_takes_unbounded_time() {
    const N: usize = 100_000;
    let cases = [
        ("100k-file JSON page, JSON out", Format::Json, PIP_ACCEPT),
        ("100k-file HTML page, HTML out", Format::Html, "text/html"),
    ];
    for (case, format, accept) in cases {
        let idx = big_index(format, N);
        let gate = Pipgate::start(&idx.url(), None);
        let page_url = format!("{}big/", gate.url);
        let health = format!("{}/healthz", gate.base());
        let started = Instant::now();
        // Two clients at once (as many as the server has worker threads here), each twice:
        // cold (fetch + parse + list + render) and again (page unchanged upstream).
        let clients: Vec<_> = (0..2)
            .map(|_| {
                let page_url = page_url.clone();
                std::thread::spawn(move || {
                    let c = reqwest::blocking::Client::builder().timeout(Duration::from_secs(300)).build().unwrap();
                    let mut lens = vec![];
                    for _ in 0..2 {
                        let t = Instant::now();
                        let r = c.get(&page_url).header("accept", accept).send().unwrap();
                        assert_eq!(r.status(), 200);
                        lens.push((r.bytes().unwrap().len(), t.elapsed()));
                    }
                    lens
                })
            })
            .collect();
        let c = reqwest::blocking::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
        let mut worst = Duration::ZERO;
        while !clients.iter().all(std::thread::JoinHandle::is_finished) {
            let t = Instant::now();
            let r = c.get(&health).send();
            let took = t.elapsed();
            assert!(r.is_ok_and(|r| r.status() == 200), "{case}: /healthz failed while the big page was served");
            worst = worst.max(took);
            std::thread::sleep(Duration::from_millis(50));
        }
        let runs: Vec<(usize, Duration)> = clients.into_iter().flat_map(|p| p.join().unwrap()).collect();
        let total = started.elapsed();
        let rss = peak_rss_mib(gate.child.id());
        eprintln!("{case}: runs {runs:?}, total {total:?}, worst /healthz {worst:?}, peak RSS {rss} MiB");
        assert!(runs[0].0 > N * 50, "{case}: the page lists every file");
        assert!(worst < Duration::from_secs(1), "{case}: /healthz took {worst:?} while the big page was served");
        for (i, (_, took)) in runs.iter().enumerate() {
            assert!(*took < Duration::from_secs(15), "{case}: request {i} took {took:?}");
        }
    }
}

#[test]
fn concurrent_cold_page_requests_share_one_upstream_get() {
    let cases = [("json upstream", Format::Json), ("html upstream", Format::Html)];
    for (case, format) in cases {
        let idx = FakeIndex::start(format);
        idx.add_dist("demo-a", wheel("demo-a", "1.0", &[], &[]));
        idx.state.lock().unwrap().page_delay = Some(Duration::from_millis(400));
        let gate = Pipgate::start(&idx.url(), None);
        let url = format!("{}demo-a/", gate.url);
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(20));
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let (url, barrier) = (url.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let c = http();
                    barrier.wait();
                    c.get(url).header("accept", PIP_ACCEPT).send().unwrap().status()
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), 200, "{case}");
        }
        assert_eq!(idx.hits("/simple/demo-a/"), 1, "{case}: 20 concurrent cold requests, upstream GETs");
    }
}

#[test]
fn serve_flags_set_the_connection_limits() {
    use std::io::{Read, Write};
    let idx = FakeIndex::start(Format::Json);
    let gate = Pipgate::start_args(
        &idx.url(),
        None,
        &["--header-timeout", "1", "--idle-timeout", "30", "--max-connections-per-client", "2"],
    );
    let addr = gate.base().trim_start_matches("http://").to_string();
    // Slowloris: partial headers, then nothing more: closed after about a second.
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n").unwrap();
    // A second connection holds the client's last slot; a third gets the 503.
    let _held = std::net::TcpStream::connect(&addr).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let mut third = std::net::TcpStream::connect(&addr).unwrap();
    third.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = String::new();
    let _ = third.read_to_string(&mut answer);
    let cases = [("a third connection from one client", answer.starts_with("HTTP/1.1 503"))];
    for (case, ok) in cases {
        assert!(ok, "{case}: {answer:?}");
    }
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 64];
    let closed = matches!(slow.read(&mut buf), Ok(0) | Err(_)) || slow.read(&mut buf).is_ok_and(|n| n == 0);
    assert!(closed && t.elapsed() < Duration::from_secs(3), "slowloris closed after {:?}", t.elapsed());
}
