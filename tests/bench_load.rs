//! Load benchmark (not a test: run `bench/load.sh`, which installs `wrk` and `nginx`).
//! In one run, against a fake upstream on loopback and pipgate started with the repository's
//! `policy.yaml` (cooldown off, pre-scan off, default page TTL):
//!
//! 1. `wrk --latency` against a cached index page and a cached artifact, pipgate vs nginx
//!    serving the same bytes as static files (same connections, threads and duration,
//!    interleaved rounds): requests/s, p99 and the ratios, and each server's CPU time per
//!    request (from `/proc`: robust to the machine's load, which moves req/s a lot);
//! 2. 500 clients at once on one uncached artifact: upstream downloads and scans counted,
//!    every body checked against the sha256;
//! 3. 200 concurrent downloads of a cached 500 MiB artifact: pipgate's peak RSS sampled
//!    from `/proc` during the run, and the same downloads from nginx for the time ratio.
//!
//! Knobs (environment): `BENCH_SECS` (10) per wrk run, `BENCH_ROUNDS` (3), `BENCH_CONNS`
//! (200), `BENCH_THREADS` (2), `BENCH_PIN=1` (servers on CPU 1, wrk and clients on CPU 0),
//! `BENCH_COLD_CLIENTS` (500), `BENCH_BIG_MIB` (500), `BENCH_BIG_CLIENTS` (200),
//! `PIPGATE_BIN` (another build), `BENCH_BEFORE_BIN` (a second build measured in the same wrk
//! rounds: before/after a change; `label=path,label=path` for several), `BENCH_ONLY` (`page` or `artifact`: that wrk target only),
//! `BENCH_WRK_ONLY=1` (the wrk rounds only: no 500-client and 500 MiB parts),
//! `BENCH_PERF=<file>` (`perf record -g` of pipgate during its first artifact wrk run).

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PIP_ACCEPT: &str = "application/vnd.pypi.simple.v1+json";

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn pinned() -> bool {
    std::env::var("BENCH_PIN").is_ok_and(|v| v == "1")
}

/// A wheel of about `kib` KiB of poorly compressible Python source.
fn sized_wheel(name: &str, kib: usize) -> Dist {
    let mut body = String::with_capacity(kib << 10);
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut l = 0;
    while body.len() < kib << 10 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        body.push_str(&format!("VALUE_{l} = 0x{x:016x}  # {x:x}\n"));
        l += 1;
    }
    let module = name.replace('-', "_");
    wheel(name, "1.0", &[], &[(&format!("{module}/data.py"), &body)])
}

fn generated(idx: &FakeIndex, project: &str, mib: u64) -> (String, u64, String) {
    let (filename, g) = Generated::wheel(project, "1.0", mib);
    let out = (filename.clone(), g.len, g.sha256.clone());
    let mut f = FakeFile::new(Dist { filename, bytes: vec![], metadata: None });
    f.generated = Some(std::sync::Arc::new(g));
    idx.add(project, f);
    out
}

// ---------------------------------------------------------------- nginx

/// nginx serving a directory on a free loopback port, unprivileged paths in a temp dir.
struct Nginx {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Nginx {
    /// `files`: (URL path, source file) pairs, hard-linked (or copied) under the root;
    /// `page`: (URL directory, body, content type) served as that directory's index.
    fn start(files: &[(String, PathBuf)], page: (&str, &[u8], &str)) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let root = d.join("www");
        for (url_path, src) in files {
            let dst = root.join(url_path.trim_start_matches('/'));
            std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
            if std::fs::hard_link(src, &dst).is_err() {
                std::fs::copy(src, &dst).unwrap();
            }
        }
        let (page_dir, body, content_type) = page;
        let page_path = root.join(page_dir.trim_start_matches('/')).join("index.html");
        std::fs::create_dir_all(page_path.parent().unwrap()).unwrap();
        std::fs::write(&page_path, body).unwrap();
        // Workers run as `nobody` when the master is root: let them read the tree.
        let _ = Command::new("chmod").args(["-R", "a+rX"]).arg(d).status();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let d_s = d.display();
        // nginx at its best for static files (sendfile, long keep-alive), with the access log on
        // as pipgate's is; as many workers as pipgate's runtime has threads (one per core).
        let workers = if pinned() { 1 } else { std::thread::available_parallelism().map_or(2, std::num::NonZero::get) };
        let conf = format!(
            "worker_processes {workers};\ndaemon off;\npid {d_s}/nginx.pid;\nerror_log {d_s}/error.log warn;\n\
             events {{ worker_connections 4096; }}\n\
             http {{\n  access_log {d_s}/access.log;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 1000000;\n\
             client_body_temp_path {d_s}/body;\n  proxy_temp_path {d_s}/proxy;\n  fastcgi_temp_path {d_s}/fastcgi;\n\
             uwsgi_temp_path {d_s}/uwsgi;\n  scgi_temp_path {d_s}/scgi;\n\
             types {{ }}\n  default_type application/octet-stream;\n\
             server {{\n    listen 127.0.0.1:{port};\n    root {root};\n\
             location {page_dir} {{ default_type \"{content_type}\"; }}\n  }}\n}}\n",
            root = root.display(),
        );
        std::fs::write(d.join("nginx.conf"), conf).unwrap();
        let mut cmd = if pinned() {
            let mut c = Command::new("taskset");
            c.args(["-c", "1", "nginx"]);
            c
        } else {
            Command::new("nginx")
        };
        let child = cmd
            .arg("-p")
            .arg(d)
            .arg("-e")
            .arg(d.join("error.log"))
            .arg("-c")
            .arg(d.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx (bench/load.sh installs it)");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not start: {}",
                std::fs::read_to_string(d.join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Nginx { child, url, _dir: dir }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM (not kill): the master stops its workers.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------- wrk

struct WrkRun {
    rps: f64,
    p99_ms: f64,
    requests: u64,
    bad: String,
    /// The server's CPU time (user + system, all its processes) per request, in µs: what a
    /// request costs the server, much less sensitive than req/s to what else the machine runs.
    cpu_us: f64,
}

fn millis(v: &str) -> f64 {
    let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let n: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => f64::NAN,
    }
}

fn wrk(url: &str) -> WrkRun {
    let (secs, conns, threads) = (knob("BENCH_SECS", 10), knob("BENCH_CONNS", 200), knob("BENCH_THREADS", 2));
    let mut cmd = if pinned() {
        let mut c = Command::new("taskset");
        c.args(["-c", "0", "wrk"]);
        c
    } else {
        Command::new("wrk")
    };
    let out = cmd
        .args(["--latency", "-t", &threads.to_string(), "-c", &conns.to_string(), "-d", &format!("{secs}s")])
        .args(["-H", &format!("Accept: {PIP_ACCEPT}"), url])
        .output()
        .expect("wrk (bench/load.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
    };
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let bad = [
        field("Non-2xx or 3xx responses:").map(|n| format!("{n} non-2xx")),
        text.lines().find(|l| l.contains("Socket errors")).map(|l| l.trim().to_string()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("; ");
    WrkRun {
        rps: field("Requests/sec:").and_then(|v| v.parse().ok()).unwrap_or(0.0),
        p99_ms: field("99%").map_or(f64::NAN, |v| millis(&v)),
        requests,
        bad,
        cpu_us: f64::NAN,
    }
}

/// CPU time (user + system) of `pid` so far, in clock ticks (`/proc/<pid>/stat`).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

/// `pid` and its children (nginx's workers).
fn with_children(pid: u32) -> Vec<u32> {
    let mut pids = vec![pid];
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        let ppid = stat.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().nth(1)?.parse::<u32>().ok());
        if ppid == Some(pid) {
            pids.push(p);
        }
    }
    pids
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux).
fn ticks_per_sec() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

// ---------------------------------------------------------------- memory

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Samples `pid`'s VmRSS every 20 ms until dropped; the peak in KiB.
struct RssSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = 0;
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(status_kib(pid, "VmRSS:"));
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        });
        RssSampler { stop, thread: Some(thread) }
    }

    fn peak_kib(mut self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

fn pin_pid(pid: u32, cpu: &str) {
    let ok = Command::new("taskset").args(["-a", "-p", "-c", cpu, &pid.to_string()]).stdout(Stdio::null()).status();
    assert!(ok.is_ok_and(|s| s.success()), "taskset failed");
}

fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find_file(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

#[test]
#[ignore = "benchmark: run bench/load.sh"]
fn bench_load_pipgate_vs_nginx() {
    let rounds = knob("BENCH_ROUNDS", 3) as usize;
    let conns = knob("BENCH_CONNS", 200);
    let cold_clients = knob("BENCH_COLD_CLIENTS", 500) as usize;
    let (big_mib, big_clients) = (knob("BENCH_BIG_MIB", 500), knob("BENCH_BIG_CLIENTS", 200) as usize);
    let wrk_only = knob("BENCH_WRK_ONLY", 0) == 1;
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let perf_out = std::env::var("BENCH_PERF").ok().filter(|p| !p.is_empty());

    let idx = FakeIndex::start(Format::Json);
    let small = sized_wheel("load-small", 100);
    let (small_name, small_sha) = (small.filename.clone(), sha256_hex(&small.bytes));
    idx.add_dist("load-small", small);
    let (cold_name, cold_len, cold_sha) = generated(&idx, "load-cold", 16);
    let (big_name, big_len, big_sha) = generated(&idx, "load-big", if wrk_only { 1 } else { big_mib });

    let repo_policy = concat!(env!("CARGO_MANIFEST_DIR"), "/policy.yaml");
    let policy = format!("extends: {repo_policy}\ncooldown:\n  min_age: \"0\"\n");
    let max = (conns.max(cold_clients as u64).max(big_clients as u64) + 100).to_string();
    let gate = Pipgate::start_apart(
        &idx.url(),
        &policy,
        &["--prescan", "off", "--page-ttl", "600", "--max-connections", &max, "--max-connections-per-client", &max],
        &[("PIPGATE_LOG", "info")],
    );
    let pid = gate.child.id();
    if pinned() {
        pin_pid(pid, "1");
        pin_pid(std::process::id(), "0");
    }

    // Warm: the small artifact, the big one (downloaded and scanned once), then the page.
    let small_url = gate.file_url("load-small", &small_name);
    let got = http().get(&small_url).send().unwrap();
    assert_eq!(got.status(), 200, "{}", gate.log());
    assert_eq!(sha256_hex(&got.bytes().unwrap()), small_sha);
    let big_url = gate.file_url("load-big", &big_name);
    let t = Instant::now();
    let warm = concurrent_gets(&big_url, 1, true);
    assert_eq!(warm[0], (200, big_len, big_sha.clone()), "{}", gate.log());
    let big_cold_secs = t.elapsed().as_secs_f64();
    let rss_after_warm = status_kib(pid, "VmRSS:") >> 10;
    let page_url = format!("{}load-small/", gate.url);
    // The page as listed once its files are cached (pipgate then links `.metadata`).
    let page = http().get(&page_url).header(reqwest::header::ACCEPT, PIP_ACCEPT).send().unwrap();
    assert_eq!(page.status(), 200, "{}", gate.log());
    let page_type = page.headers()["content-type"].to_str().unwrap().to_string();
    let page_body = page.bytes().unwrap().to_vec();

    // nginx: the same bytes at the same paths.
    let path_of = |url: &str| url.trim_start_matches(&gate.base()).to_string();
    let files = [
        (path_of(&small_url), find_file(&gate.data_dir, &small_sha).expect("cached small artifact")),
        (path_of(&big_url), find_file(&gate.data_dir, &big_sha).expect("cached big artifact")),
    ];
    let nginx = Nginx::start(&files, (&path_of(&page_url), &page_body, &page_type));
    let on_nginx = |url: &str| format!("{}{}", nginx.url, path_of(url));
    for (what, url) in [("page", &page_url), ("artifact", &small_url)] {
        let a = http().get(url.as_str()).header(reqwest::header::ACCEPT, PIP_ACCEPT).send().unwrap().bytes().unwrap();
        let b = http().get(on_nginx(url)).send().unwrap().bytes().unwrap();
        assert!(a == b, "{what}: nginx and pipgate serve different bytes");
    }

    // `BENCH_BEFORE_BIN`: other builds (e.g. before a change), warmed the same way and
    // measured in the same rounds; their files live at the same paths (keys are sha256s).
    // A path is labelled `before`; `label=path,label=path` names several.
    let others: Vec<(String, String)> = std::env::var("BENCH_BEFORE_BIN")
        .unwrap_or_default()
        .split(',')
        .filter(|b| !b.is_empty())
        .map(|b| match b.split_once('=') {
            Some((label, path)) => (label.to_string(), path.to_string()),
            None => ("before".to_string(), b.to_string()),
        })
        .collect();
    let before: Vec<(String, Pipgate)> = others
        .into_iter()
        .map(|(label, bin)| {
            let mine = std::env::var("PIPGATE_BIN").ok();
            std::env::set_var("PIPGATE_BIN", &bin);
            let g = Pipgate::start_apart(
                &idx.url(),
                &policy,
                &[
                    "--prescan",
                    "off",
                    "--page-ttl",
                    "600",
                    "--max-connections",
                    &max,
                    "--max-connections-per-client",
                    &max,
                ],
                &[("PIPGATE_LOG", "info")],
            );
            match mine {
                Some(m) => std::env::set_var("PIPGATE_BIN", m),
                None => std::env::remove_var("PIPGATE_BIN"),
            }
            if pinned() {
                pin_pid(g.child.id(), "1");
            }
            assert_eq!(
                sha256_hex(&http().get(g.file_url("load-small", &small_name)).send().unwrap().bytes().unwrap()),
                small_sha
            );
            let p =
                http().get(format!("{}load-small/", g.url)).header(reqwest::header::ACCEPT, PIP_ACCEPT).send().unwrap();
            assert_eq!(p.status(), 200);
            (label, g)
        })
        .collect();
    let on_before = |g: &Pipgate, url: &str| format!("{}{}", g.base(), path_of(url));

    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim().to_string();
    // 1. wrk, interleaved: pipgate (then the build before, if any) then nginx, each round.
    let targets: Vec<(&str, &String)> =
        [("cached index page", &page_url), ("cached artifact (100 KiB wheel)", &small_url)]
            .into_iter()
            .filter(|(what, _)| only.is_empty() || what.contains(only.as_str()))
            .collect();
    let mut runs: std::collections::BTreeMap<(usize, &str), Vec<WrkRun>> = Default::default();
    for round in 0..rounds {
        for (t, (_, url)) in targets.iter().enumerate() {
            let mut servers = vec![("pipgate", (*url).clone())];
            servers.extend(before.iter().map(|(label, g)| (label.as_str(), on_before(g, url))));
            servers.push(("nginx", on_nginx(url)));
            for (server, u) in servers {
                // `BENCH_PERF`: a profile of pipgate serving the first artifact run.
                let perf = (server == "pipgate" && round == 0 && u.contains("/files/"))
                    .then_some(perf_out.as_ref())
                    .flatten()
                    .map(|out| {
                        Command::new("perf")
                            .args(["record", "-g", "-q", "-o", out, "-p", &pid.to_string()])
                            .stdout(Stdio::null())
                            .spawn()
                            .expect("perf")
                    });
                let pids = match before.iter().find(|(label, _)| label == server) {
                    _ if server == "pipgate" => vec![pid],
                    Some((_, g)) => vec![g.child.id()],
                    None => with_children(nginx.child.id()),
                };
                let cpu_before: u64 = pids.iter().map(|p| cpu_ticks(*p)).sum();
                let mut r = wrk(&u);
                let cpu = pids.iter().map(|p| cpu_ticks(*p)).sum::<u64>() - cpu_before;
                r.cpu_us = cpu as f64 / ticks_per_sec() * 1e6 / r.requests.max(1) as f64;
                if let Some(p) = perf {
                    let _ = Command::new("kill").args(["-INT", &p.id().to_string()]).status();
                    let _ = p.wait_with_output();
                }
                assert!(!r.bad.contains("non-2xx"), "{server} {u}: {}", r.bad);
                runs.entry((t, server)).or_default().push(r);
            }
        }
        eprintln!("wrk round {} of {rounds} done", round + 1);
    }

    // Report: the wrk rounds.
    let (secs, threads) = (knob("BENCH_SECS", 10), knob("BENCH_THREADS", 2));
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    println!(
        "\n## Load: pipgate vs nginx on loopback ({cpus} CPUs; {})",
        if pinned() {
            "servers pinned to CPU 1, wrk and clients to CPU 0"
        } else {
            "not pinned: wrk, clients and server share the CPUs"
        }
    );
    println!("wrk -t{threads} -c{conns} -d{secs}s --latency, {rounds} interleaved rounds, medians");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before the rounds: {load_before}; after: {}\n", load.trim());
    println!(
        "| target | pipgate req/s | nginx req/s | ratio | pipgate p99 | nginx p99 | CPU per request: pipgate / nginx |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (t, (what, _)) in targets.iter().enumerate() {
        let m = |server: &str, f: fn(&WrkRun) -> f64| median(runs[&(t, server)].iter().map(f).collect());
        let (p, n) = (m("pipgate", |r| r.rps), m("nginx", |r| r.rps));
        let (pl, nl) = (m("pipgate", |r| r.p99_ms), m("nginx", |r| r.p99_ms));
        let (pc, nc) = (m("pipgate", |r| r.cpu_us), m("nginx", |r| r.cpu_us));
        println!(
            "| {what} | {p:.0} | {n:.0} | {:.0}% | {pl:.1} ms | {nl:.1} ms | {pc:.1} µs / {nc:.1} µs ({:.0}%) |",
            100.0 * p / n,
            100.0 * nc / pc
        );
        for (label, _) in &before {
            let (b, bl, bc) = (m(label, |r| r.rps), m(label, |r| r.p99_ms), m(label, |r| r.cpu_us));
            println!(
                "| {what}, build {label} | {b:.0} | {n:.0} | {:.0}% | {bl:.1} ms | {nl:.1} ms | {bc:.1} µs / {nc:.1} µs ({:.0}%) |",
                100.0 * b / n,
                100.0 * nc / bc
            );
        }
    }
    for ((t, server), rs) in &runs {
        let detail: Vec<String> = rs
            .iter()
            .map(|r| {
                format!(
                    "{:.0}/s p99 {:.1} ms {:.1} µs CPU/req ({} req{})",
                    r.rps,
                    r.p99_ms,
                    r.cpu_us,
                    r.requests,
                    if r.bad.is_empty() { String::new() } else { format!(", {}", r.bad) }
                )
            })
            .collect();
        println!("  {} {server}: {}", targets[*t].0, detail.join(" | "));
    }
    if wrk_only {
        return;
    }

    // 2. Many clients on one uncached artifact.
    let scans_before = metric(&gate.base(), "pipgate_scan_duration_seconds_count", &[]);
    let cold_url = gate.file_url("load-cold", &cold_name);
    let t = Instant::now();
    let cold = concurrent_gets(&cold_url, cold_clients, true);
    let cold_secs = t.elapsed().as_secs_f64();
    let cold_ok = cold.iter().filter(|g| **g == (200, cold_len, cold_sha.clone())).count();
    let cold_downloads = idx.hits(&format!("/files/{cold_name}"));
    let cold_scans = metric(&gate.base(), "pipgate_scan_duration_seconds_count", &[]) - scans_before;

    // 3. Concurrent downloads of the cached big artifact: pipgate (RSS sampled), then nginx.
    let sampler = RssSampler::start(pid);
    let t = Instant::now();
    let big = concurrent_gets(&big_url, big_clients, false);
    let big_pipgate_secs = t.elapsed().as_secs_f64();
    let rss_peak = sampler.peak_kib() >> 10;
    let big_ok = big.iter().filter(|g| (g.0, g.1) == (200, big_len)).count();
    let t = Instant::now();
    let big_n = concurrent_gets(&on_nginx(&big_url), big_clients, false);
    let big_nginx_secs = t.elapsed().as_secs_f64();
    let big_n_ok = big_n.iter().filter(|g| (g.0, g.1) == (200, big_len)).count();
    let hwm = status_kib(pid, "VmHWM:") >> 10;

    println!("\n| check | result |\n|---|---|");
    println!("| {cold_clients} clients at once on one uncached {} MiB artifact | {cold_ok}/{cold_clients} complete with the right sha256 in {cold_secs:.1} s; upstream downloads: {cold_downloads}; scans: {cold_scans} |", cold_len >> 20);
    println!("| {big_clients} concurrent downloads of a cached {} MiB artifact | pipgate: {big_ok}/{big_clients} complete in {big_pipgate_secs:.1} s, peak RSS {rss_peak} MiB (VmRSS sampled every 20 ms); nginx: {big_n_ok}/{big_clients} in {big_nginx_secs:.1} s; time ratio nginx/pipgate {:.0}% |", big_len >> 20, 100.0 * big_nginx_secs / big_pipgate_secs);
    println!("| memory | RSS after downloading and scanning the {} MiB artifact once ({big_cold_secs:.1} s): {rss_after_warm} MiB; VmHWM over the whole run: {hwm} MiB |", big_len >> 20);
    drop(nginx);
}
