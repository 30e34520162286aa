//! Install benchmark (not a test: run `bench/install.sh`). Installs 20 packages with real pip
//! and real uv, straight from the fake upstream, through pipgate (cold and warm cache) and,
//! when `PROXPI_PYTHON` names a Python with the peer caching proxy proxpi installed (the
//! script installs it), through proxpi pointed at the same upstream (cold and warm),
//! interleaved over several rounds in one process, and prints medians and ratios.

mod common;
use common::*;
use std::time::Instant;

const PACKAGES: usize = 20;

fn corpus() -> FakeIndex {
    let idx = FakeIndex::start(Format::Json);
    for i in 0..PACKAGES {
        let name = format!("bench-pkg-{i:02}");
        // Sizes from ~20 KB to ~2 MB of Python source, deterministic, poorly compressible.
        let lines = 200 + (i * i * 60);
        let mut body = String::with_capacity(lines * 48);
        let mut x: u64 = 0x9e3779b97f4a7c15 ^ i as u64;
        for l in 0..lines {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            body.push_str(&format!("VALUE_{l} = 0x{x:016x}  # {x:x}\n"));
        }
        let deps: Vec<String> =
            if i + 1 < PACKAGES && i % 3 != 2 { vec![format!("bench-pkg-{:02}", i + 1)] } else { vec![] };
        let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
        let module = name.replace('-', "_");
        let data_path = format!("{module}/data.py");
        idx.add_dist(&name, wheel(&name, "1.0", &deps, &[(&data_path, &body)]));
    }
    idx
}

fn names() -> Vec<String> {
    (0..PACKAGES).map(|i| format!("bench-pkg-{i:02}")).collect()
}

fn install(client: &str, index: &str) -> f64 {
    let venv = Venv::new();
    let names = names();
    let mut args: Vec<&str> = vec!["install", "--index-url", index];
    args.extend(names.iter().map(String::as_str));
    let t = Instant::now();
    let out = if client == "pip" { venv.pip(&args) } else { venv.uv_pip(&args) };
    let secs = t.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", show(&out));
    secs
}

/// The peer caching proxy, started on a free port with an empty cache, pointed at `upstream`.
struct Proxpi {
    child: std::process::Child,
    url: String,
    _cache: tempfile::TempDir,
}

impl Proxpi {
    fn start(python: &str, upstream: &str) -> Proxpi {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let cache = tempfile::tempdir().unwrap();
        let child = std::process::Command::new(python)
            .args(["-m", "flask", "--app", "proxpi.server", "run", "--host", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .env("PROXPI_INDEX_URL", format!("{upstream}/"))
            .env("PROXPI_CACHE_DIR", cache.path())
            .env("PROXPI_LOGGING_LEVEL", "WARNING")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting proxpi");
        let url = format!("http://127.0.0.1:{port}/index/");
        let deadline = Instant::now() + std::time::Duration::from_secs(30);
        while http().get(&url).send().map(|r| !r.status().is_success()).unwrap_or(true) {
            assert!(Instant::now() < deadline, "proxpi did not start on {url}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Proxpi { child, url, _cache: cache }
    }
}

impl Drop for Proxpi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[test]
#[ignore = "benchmark: run bench/install.sh"]
fn bench_install_direct_vs_pipgate() {
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let idx = corpus();
    let proxpi = std::env::var("PROXPI_PYTHON").ok().filter(|p| !p.is_empty());
    let mut results: std::collections::BTreeMap<(String, &str), Vec<f64>> = Default::default();
    for round in 0..rounds {
        for client in ["pip", "uv"] {
            results.entry((client.into(), "direct")).or_default().push(install(client, &idx.url()));
            let policy = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/policy.yaml")).unwrap();
            let gate = Pipgate::start_args(&idx.url(), Some(&policy), &["--dangerous-skip-scan"]);
            results.entry((client.into(), "cold, no scan")).or_default().push(install(client, &gate.url));
            drop(gate);
            let gate = Pipgate::start(&idx.url(), Some(&policy));
            results.entry((client.into(), "pipgate cold")).or_default().push(install(client, &gate.url));
            results.entry((client.into(), "pipgate warm")).or_default().push(install(client, &gate.url));
            drop(gate);
            if let Some(python) = &proxpi {
                let peer = Proxpi::start(python, &idx.url());
                results.entry((client.into(), "proxpi cold")).or_default().push(install(client, &peer.url));
                results.entry((client.into(), "proxpi warm")).or_default().push(install(client, &peer.url));
            }
        }
        eprintln!("round {} of {rounds} done", round + 1);
    }
    println!("\n{PACKAGES} packages, {rounds} rounds, median seconds (ratio to direct install of the same client)");
    println!("{:<6} {:<14} {:>8} {:>7}", "client", "mode", "median", "ratio");
    println!("(pipgate runs with the repo's policy.yaml; \"cold, no scan\" is --dangerous-skip-scan)");
    for client in ["pip", "uv"] {
        let direct = median(results[&(client.to_string(), "direct")].clone());
        let no_scan = median(results[&(client.to_string(), "cold, no scan")].clone());
        for mode in ["direct", "cold, no scan", "pipgate cold", "pipgate warm", "proxpi cold", "proxpi warm"] {
            let Some(runs) = results.get(&(client.to_string(), mode)) else { continue };
            let m = median(runs.clone());
            println!("{client:<6} {mode:<14} {m:>8.3} {:>6.2}x", m / direct);
        }
        let at = |mode: &str| results.get(&(client.to_string(), mode)).map(|r| median(r.clone()));
        let cold = median(results[&(client.to_string(), "pipgate cold")].clone());
        println!("{client:<6} scanning cost: cold with scan / cold without = {:.2}x", cold / no_scan);
        if let (Some(ours), Some(peer)) = (at("pipgate warm"), at("proxpi warm")) {
            println!("{client:<6} warm: pipgate / proxpi = {:.2}x", ours / peer);
        }
        if let (Some(ours), Some(peer)) = (at("pipgate cold"), at("proxpi cold")) {
            println!("{client:<6} cold: pipgate (scanning) / proxpi (no scan) = {:.2}x", ours / peer);
        }
    }
}
