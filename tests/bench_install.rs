//! Install benchmark (not a test: run `bench/install.sh`). Installs 20 packages with real pip
//! and real uv, straight from the fake upstream, through pipgate (cold with and without
//! scanning, then warm) and, when `PROXPI_PYTHON` names a Python with the peer caching proxy
//! proxpi installed (the script installs it), through proxpi pointed at the same upstream
//! (cold and warm), interleaved over several rounds in one process, and prints medians with
//! ratios to the direct install and to proxpi. `BENCH_BUILDS=label=binary[=policy],…` adds
//! older builds to the same rounds (before/after); pipgate runs as `serve` starts by default
//! (`--page-ttl 600`, info logging) unless `BENCH_PAGE_TTL` says otherwise.
//! `BENCH_UPSTREAM_METADATA=1` makes the upstream advertise PEP 658 core metadata.
//! `BENCH_TRACE=DIR` keeps, per pipgate install, its log (access lines with per-request `ms`)
//! and the CPU pipgate spent on it (user and system ticks from `/proc`, which do not depend on
//! the machine's load the way wall time does) in `DIR`, and prints the CPU medians with
//! pipgate's voluntary context switches per install (its threads' hand-offs: lock, channel and
//! blocking-pool waits, counted from `/proc`).
//! `BENCH_LOG=FILTER` sets pipgate's `PIPGATE_LOG` (default `pipgate=info`; `pipgate=debug`
//! adds each page's wait for its pre-scan to the traced logs).
//! For uv it also prints the medians of uv's own phase timings per mode ("Resolved … in",
//! "Prepared … in", "Installed … in" from its output), so a ratio can be read per phase.

mod common;
use common::*;
use std::time::Instant;

const PACKAGES: usize = 20;

fn corpus() -> FakeIndex {
    let idx = FakeIndex::start(Format::Json);
    // `BENCH_UPSTREAM_METADATA=1`: the upstream advertises PEP 658 core metadata, as the
    // public index does, so direct installs read `.metadata` too (by default it advertises
    // none, and only pipgate's pages offer it).
    idx.state.lock().unwrap().advertise_metadata = upstream_metadata();
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

fn upstream_metadata() -> bool {
    std::env::var("BENCH_UPSTREAM_METADATA").is_ok_and(|v| !v.is_empty() && v != "0")
}

fn names() -> Vec<String> {
    (0..PACKAGES).map(|i| format!("bench-pkg-{i:02}")).collect()
}

/// uv's phases, in the order it prints them.
const UV_PHASES: [&str; 3] = ["Resolved", "Prepared", "Installed"];

/// uv's own timing of a phase in ms, from a line like `Resolved 20 packages in 156ms` (or `in 1.02s`).
fn uv_phase_ms(output: &str, phase: &str) -> Option<f64> {
    let line = output.lines().find(|l| l.trim_start().starts_with(phase))?;
    let took = line.rsplit_once(" in ")?.1.trim();
    match took.strip_suffix("ms") {
        Some(ms) => ms.parse().ok(),
        None => took.strip_suffix('s')?.parse::<f64>().ok().map(|s| s * 1000.0),
    }
}

/// One install: its wall time, and uv's phase timings (none for pip).
struct Timed {
    secs: f64,
    phases: Vec<(&'static str, f64)>,
}

fn install(client: &str, index: &str) -> Timed {
    let venv = Venv::new();
    let names = names();
    let mut args: Vec<&str> = vec!["install", "--index-url", index];
    args.extend(names.iter().map(String::as_str));
    let t = Instant::now();
    let out = if client == "pip" { venv.pip(&args) } else { venv.uv_pip(&args) };
    let secs = t.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stderr);
    let phases = UV_PHASES.iter().filter_map(|p| Some((*p, uv_phase_ms(&text, p)?))).collect();
    Timed { secs, phases }
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
            .env("PROXPI_INDEX_URL", format!("{}/", upstream.trim_end_matches('/')))
            .env("PROXPI_CACHE_DIR", cache.path())
            .env("PROXPI_LOGGING_LEVEL", "WARNING")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting proxpi");
        let url = format!("http://127.0.0.1:{port}/index/");
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
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

/// pipgate's CPU so far (user, system) in clock ticks, from `/proc/<pid>/stat`.
fn cpu_ticks(gate: &Pipgate) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", gate.child.id())).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at `state`: utime and stime are 12th and 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest.split_whitespace().skip(11).take(2).filter_map(|x| x.parse().ok()).collect();
    (f.first().copied().unwrap_or(0), f.get(1).copied().unwrap_or(0))
}

/// pipgate's voluntary context switches so far, summed over its live threads (a thread waits
/// on a lock, a channel or the blocking pool: a count of hand-offs that does not depend on the
/// machine's load; threads that exited meanwhile are missed, the blocking pool keeps its for 10 s).
fn switches(gate: &Pipgate) -> u64 {
    let tasks = std::fs::read_dir(format!("/proc/{}/task", gate.child.id())).into_iter().flatten().flatten();
    tasks
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .filter_map(|s| s.lines().find_map(|l| l.strip_prefix("voluntary_ctxt_switches:")?.trim().parse::<u64>().ok()))
        .sum()
}

/// Per (client, mode): each install's CPU ticks (user, system) and voluntary context switches.
type Costs = std::collections::BTreeMap<(String, String), Vec<(u64, u64, u64)>>;

/// `BENCH_TRACE`: where to keep each pipgate install's log and CPU.
fn trace_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("BENCH_TRACE").filter(|d| !d.is_empty()).map(std::path::PathBuf::from)
}

/// Install through `gate`, and with `BENCH_TRACE` keep the log lines this install added and the CPU it cost.
fn install_traced(client: &str, gate: &Pipgate, what: &str, round: usize, cpu: &mut Costs) -> Timed {
    let Some(dir) = trace_dir() else { return install(client, &gate.url) };
    let (before_log, (u0, s0), w0) = (gate.log().len(), cpu_ticks(gate), switches(gate));
    let timed = install(client, &gate.url);
    let ((u1, s1), w1) = (cpu_ticks(gate), switches(gate));
    let log = gate.log();
    let name = format!("{client}-{}-r{round}.log", what.replace([' ', ','], "_"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), log.get(before_log..).unwrap_or("")).unwrap();
    cpu.entry((client.to_string(), what.to_string())).or_default().push((u1 - u0, s1 - s0, w1.saturating_sub(w0)));
    timed
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// A pipgate build to measure: its label, binary (`None`: this build, or `PIPGATE_BIN`) and policy.
struct Build {
    label: String,
    bin: Option<String>,
    policy: String,
}

impl Build {
    /// `serve` as a user starts it (the default page TTL unless `BENCH_PAGE_TTL` says
    /// otherwise, info logging), cold: a fresh data directory.
    fn start(&self, upstream: &str, extra: &[&str]) -> Pipgate {
        let ttl = std::env::var("BENCH_PAGE_TTL").unwrap_or_else(|_| "600".into());
        let mut args = vec!["--page-ttl", ttl.as_str()];
        args.extend_from_slice(extra);
        let previous = std::env::var("PIPGATE_BIN").ok();
        if let Some(bin) = &self.bin {
            std::env::set_var("PIPGATE_BIN", bin);
        }
        let log = std::env::var("BENCH_LOG").ok().filter(|l| !l.is_empty()).unwrap_or_else(|| "pipgate=info".into());
        let gate = Pipgate::start_full(upstream, Some(&self.policy), &args, &[("PIPGATE_LOG", log.as_str())]);
        match previous {
            Some(p) => std::env::set_var("PIPGATE_BIN", p),
            None => std::env::remove_var("PIPGATE_BIN"),
        }
        gate
    }
}

/// This build, after the builds named in `BENCH_BUILDS` (`label=binary[=policy.yaml],…`:
/// older builds measured in the same rounds; the policy grammar grows, so each may bring its own).
fn builds() -> Vec<Build> {
    let policy = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/policy.yaml")).unwrap();
    let mut builds: Vec<Build> = std::env::var("BENCH_BUILDS")
        .unwrap_or_default()
        .split(',')
        .filter(|b| !b.is_empty())
        .map(|b| {
            let mut parts = b.splitn(3, '=');
            let label = parts.next().unwrap().to_string();
            let bin = parts.next().unwrap_or_else(|| panic!("BENCH_BUILDS: {b:?} names no binary")).to_string();
            let policy = parts
                .next()
                .map(|p| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("BENCH_BUILDS: {p}: {e}")))
                .unwrap_or_else(|| policy.clone());
            Build { label, bin: Some(bin), policy }
        })
        .collect();
    builds.push(Build { label: "pipgate".into(), bin: None, policy });
    builds
}

#[test]
#[ignore = "benchmark: run bench/install.sh"]
fn bench_install_direct_vs_pipgate() {
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let clients: Vec<String> = std::env::var("BENCH_CLIENTS")
        .map(|c| c.split(',').map(str::to_string).collect())
        .unwrap_or_else(|_| vec!["pip".into(), "uv".into()]);
    let idx = corpus();
    let proxpi = std::env::var("PROXPI_PYTHON").ok().filter(|p| !p.is_empty());
    let builds = builds();
    let mut results: std::collections::BTreeMap<(String, String), Vec<f64>> = Default::default();
    let mut phases: std::collections::BTreeMap<(String, String, String), Vec<f64>> = Default::default();
    let mut cpu = Default::default();
    let mut put = |client: &str, mode: String, timed: Timed| {
        for (phase, ms) in timed.phases {
            phases.entry((client.to_string(), mode.clone(), phase.to_string())).or_default().push(ms);
        }
        results.entry((client.to_string(), mode)).or_default().push(timed.secs);
    };
    for round in 0..rounds {
        for client in &clients {
            put(client, "direct".into(), install(client, &idx.url()));
            for b in &builds {
                let gate = b.start(&idx.url(), &["--dangerous-skip-scan"]);
                let mode = format!("{} cold, no scan", b.label);
                put(client, mode.clone(), install_traced(client, &gate, &mode, round, &mut cpu));
                drop(gate);
                let gate = b.start(&idx.url(), &[]);
                for state in ["cold", "warm"] {
                    let mode = format!("{} {state}", b.label);
                    put(client, mode.clone(), install_traced(client, &gate, &mode, round, &mut cpu));
                }
            }
            if let Some(python) = &proxpi {
                let peer = Proxpi::start(python, &idx.url());
                put(client, "proxpi cold".into(), install(client, &peer.url));
                put(client, "proxpi warm".into(), install(client, &peer.url));
            }
        }
        eprintln!("round {} of {rounds} done", round + 1);
    }
    let ttl = std::env::var("BENCH_PAGE_TTL").unwrap_or_else(|_| "600".into());
    println!("\n{PACKAGES} packages, {rounds} rounds, median seconds; ratios to the direct install and to proxpi");
    println!("(pipgate: the repo's policy.yaml, --page-ttl {ttl}; \"cold, no scan\" is --dangerous-skip-scan)");
    let advertised = if upstream_metadata() { "advertises" } else { "does not advertise" };
    println!("(the upstream {advertised} core metadata)");
    println!("{:<6} {:<22} {:>8} {:>10} {:>10}", "client", "mode", "median", "vs direct", "vs proxpi");
    for client in &clients {
        let at = |mode: &str| results.get(&(client.clone(), mode.to_string())).map(|r| median(r.clone()));
        let direct = at("direct").unwrap();
        let mut modes = vec!["direct".to_string()];
        for b in &builds {
            for state in ["cold, no scan", "cold", "warm"] {
                modes.push(format!("{} {state}", b.label));
            }
        }
        modes.extend(["proxpi cold".to_string(), "proxpi warm".to_string()]);
        for mode in &modes {
            let Some(m) = at(mode) else { continue };
            // Against proxpi in the same state (its cold never scans).
            let peer = if mode.ends_with("warm") { at("proxpi warm") } else { at("proxpi cold") };
            let vs_peer = match peer {
                Some(p) if mode != "direct" && !mode.starts_with("proxpi") => format!("{:.2}x", m / p),
                _ => "-".into(),
            };
            println!("{client:<6} {mode:<22} {m:>8.3} {:>9.2}x {vs_peer:>10}", m / direct);
        }
        for b in &builds {
            let (Some(cold), Some(no_scan)) =
                (at(&format!("{} cold", b.label)), at(&format!("{} cold, no scan", b.label)))
            else {
                continue;
            };
            println!("{client:<6} {}: scanning cost (cold with scan / cold without) = {:.2}x", b.label, cold / no_scan);
        }
    }
    if phases.keys().any(|(c, _, _)| c == "uv") {
        println!(
            "\nuv's own phase timings (ms, median of rounds; from its \"Resolved/Prepared/Installed … in\" lines)"
        );
        println!("{:<22} {:>9} {:>9} {:>10}", "mode", UV_PHASES[0], UV_PHASES[1], UV_PHASES[2]);
        let modes: std::collections::BTreeSet<&String> =
            phases.keys().filter(|(c, _, _)| c == "uv").map(|(_, m, _)| m).collect();
        for mode in modes {
            let at = |p: &str| {
                phases
                    .get(&("uv".to_string(), mode.clone(), p.to_string()))
                    .map(|v| format!("{:.0}", median(v.clone())))
            };
            let [r, p, i] = UV_PHASES.map(|p| at(p).unwrap_or_else(|| "-".into()));
            println!("{mode:<22} {r:>9} {p:>9} {i:>10}");
        }
    }
    if let Some(dir) = trace_dir() {
        println!(
            "\npipgate per install (median of rounds): CPU clock ticks user / system, voluntary context switches; logs in {}",
            dir.display()
        );
        for ((client, mode), ticks) in &cpu {
            let user = median(ticks.iter().map(|t| t.0 as f64).collect());
            let sys = median(ticks.iter().map(|t| t.1 as f64).collect());
            let waits = median(ticks.iter().map(|t| t.2 as f64).collect());
            println!("{client:<6} {mode:<22} {user:>6.0} / {sys:<4.0} {waits:>7.0}");
        }
    }
}

#[test]
fn uv_phase_lines_are_read_in_milliseconds() {
    let output = "Using Python 3.11.7 environment at: /tmp/x/venv\nResolved 20 packages in 156ms\n\
                  Prepared 1 package in 1.02s\nInstalled 20 packages in 18ms\n + bench-pkg-00==1.0\n";
    let cases: [(&str, &str, Option<f64>); 4] = [
        ("milliseconds", "Resolved", Some(156.0)),
        ("seconds, one package", "Prepared", Some(1020.0)),
        ("the last phase", "Installed", Some(18.0)),
        ("a phase uv did not print", "Audited", None),
    ];
    for (case, phase, want) in cases {
        assert_eq!(uv_phase_ms(output, phase), want, "{case}");
    }
}
