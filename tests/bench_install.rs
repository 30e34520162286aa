//! Install benchmark (not a test: run `bench/install.sh`). Installs 20 packages with real pip
//! and real uv, straight from the fake upstream, through pipgate (cold with and without
//! scanning, then warm) and, when `PROXPI_PYTHON` names a Python with the peer caching proxy
//! proxpi installed (the script installs it), through proxpi pointed at the same upstream
//! (cold and warm), interleaved over several rounds in one process, and prints medians with
//! ratios to the direct install and to proxpi. `BENCH_BUILDS=label=binary[=policy],…` adds
//! older builds to the same rounds (before/after); pipgate runs as `serve` starts by default
//! (`--page-ttl 600`, info logging) unless `BENCH_PAGE_TTL` says otherwise.
//! `BENCH_UPSTREAM_METADATA=1` makes the upstream advertise PEP 658 core metadata (as the public
//! index does: like for like, since pipgate advertises it for every wheel it scanned), `both`
//! measures both upstreams in the same rounds and prints a table for each.
//! `BENCH_TRACE=DIR` keeps, per pip install (direct, pipgate, proxpi), pip's own debug log with
//! millisecond timestamps (`pip --log`: each connection it opens, each request and its status),
//! and prints pip's connections and requests per install; and per pipgate install, its log (access lines with per-request `ms`)
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

/// The benchmark's upstream; with `metadata` it advertises core metadata as the public index
/// does, so direct installs read `.metadata` too (without, only pipgate's pages offer it).
fn corpus(metadata: bool) -> FakeIndex {
    let idx = FakeIndex::start(Format::Json);
    idx.state.lock().unwrap().advertise_metadata = metadata;
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

/// `BENCH_UPSTREAM_METADATA`: which upstreams to measure against, in this order (`false`: no
/// core metadata advertised, the benchmark as it was; `true`: advertised, as the public index does).
fn upstream_modes(setting: Option<&str>) -> Result<Vec<bool>, String> {
    match setting.map(str::trim) {
        None | Some("" | "0") => Ok(vec![false]),
        Some("1") => Ok(vec![true]),
        Some("both") => Ok(vec![false, true]),
        Some(other) => Err(format!("BENCH_UPSTREAM_METADATA={other:?}: expected 0, 1 or both")),
    }
}

/// How the tables name an upstream.
fn upstream_name(metadata: bool) -> &'static str {
    if metadata {
        "upstream advertises core metadata (like for like with the public index; the issue's comparison)"
    } else {
        "upstream advertises no core metadata (the benchmark before 2026-12-01; only pipgate's pages offer it)"
    }
}

/// What pip's debug log (`pip --log`) says it did on the wire: connections opened, requests
/// sent by kind (pages, `.metadata`, files), and the milliseconds from its first request's
/// answer to its last (urllib3's lines, timestamped by pip to the millisecond).
#[derive(Debug, Default, PartialEq)]
struct PipWire {
    connections: usize,
    pages: usize,
    metadata: usize,
    files: usize,
    span_ms: u64,
}

fn pip_wire(log: &str) -> PipWire {
    let mut wire = PipWire::default();
    let (mut first, mut last) = (None, None);
    for line in log.lines() {
        if line.contains("Starting new HTTP connection") || line.contains("Starting new HTTPS connection") {
            wire.connections += 1;
        }
        // `... http://127.0.0.1:PORT "GET /simple/x/ HTTP/1.1" 200 634`
        let Some((_, request)) = line.split_once(" \"GET ") else { continue };
        let path = request.split(' ').next().unwrap_or("");
        if path.ends_with(".metadata") {
            wire.metadata += 1;
        } else if path.ends_with('/') {
            wire.pages += 1;
        } else {
            wire.files += 1;
        }
        let at = pip_log_ms(line);
        first = first.or(at);
        last = at.or(last);
    }
    wire.span_ms = match (first, last) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => 0,
    };
    wire
}

/// Milliseconds since midnight from a pip log line's timestamp (`2026-12-01T15:20:31,123 ...`).
fn pip_log_ms(line: &str) -> Option<u64> {
    let stamp = line.get(11..23)?;
    let (hms, ms) = stamp.split_once(',')?;
    let mut parts = hms.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    Some(((h * 60 + m) * 60 + s) * 1000 + ms.parse::<u64>().ok()?)
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

/// One install with `client` from `index`; `log`: where pip keeps its debug log (uv keeps none).
fn install(client: &str, index: &str, log: Option<&std::path::Path>) -> Timed {
    let venv = Venv::new();
    let names = names();
    let mut args: Vec<&str> = vec!["install", "--index-url", index];
    let log = log.filter(|_| client == "pip").map(|l| l.to_string_lossy().into_owned());
    if let Some(log) = &log {
        // `-v`: urllib3's connection and request lines reach the log only at pip's debug level.
        args.extend(["-v", "--log", log.as_str()]);
    }
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

/// A measurement's key: the upstream (with core metadata or not), the client, the mode.
type Key = (bool, String, String);

/// Per key: each install's CPU ticks (user, system) and voluntary context switches.
type Costs = std::collections::BTreeMap<Key, Vec<(u64, u64, u64)>>;

/// `BENCH_TRACE`: where to keep each pipgate install's log and CPU, and pip's own logs.
fn trace_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("BENCH_TRACE").filter(|d| !d.is_empty()).map(std::path::PathBuf::from)
}

/// A traced install's file in `dir`: `pip-pipgate_warm-r3.log`, `-meta` when the upstream
/// advertises core metadata, `.pip.log` for pip's own log.
fn trace_file(dir: &std::path::Path, key: &Key, round: usize, ext: &str) -> std::path::PathBuf {
    let (metadata, client, mode) = key;
    let meta = if *metadata { "-meta" } else { "" };
    dir.join(format!("{client}-{}{meta}-r{round}.{ext}", mode.replace([' ', ','], "_")))
}

/// An install not through pipgate (direct, proxpi); with `BENCH_TRACE` pip keeps its log.
fn install_plain(key: &Key, index: &str, round: usize, wire: &mut Wires) -> Timed {
    let Some(dir) = trace_dir() else { return install(&key.1, index, None) };
    std::fs::create_dir_all(&dir).unwrap();
    let log = trace_file(&dir, key, round, "pip.log");
    let timed = install(&key.1, index, Some(&log));
    note_wire(key, &log, wire);
    timed
}

/// Per key: what pip's log says each install did on the wire.
type Wires = std::collections::BTreeMap<Key, Vec<PipWire>>;

fn note_wire(key: &Key, log: &std::path::Path, wire: &mut Wires) {
    if let Ok(text) = std::fs::read_to_string(log) {
        wire.entry(key.clone()).or_default().push(pip_wire(&text));
    }
}

/// Install through `gate`, and with `BENCH_TRACE` keep the log lines this install added, the
/// CPU it cost and pip's own log.
fn install_traced(key: &Key, gate: &Pipgate, round: usize, cpu: &mut Costs, wire: &mut Wires) -> Timed {
    let Some(dir) = trace_dir() else { return install(&key.1, &gate.url, None) };
    std::fs::create_dir_all(&dir).unwrap();
    let pip_log = trace_file(&dir, key, round, "pip.log");
    let (before_log, (u0, s0), w0) = (gate.log().len(), cpu_ticks(gate), switches(gate));
    let timed = install(&key.1, &gate.url, Some(&pip_log));
    let ((u1, s1), w1) = (cpu_ticks(gate), switches(gate));
    let log = gate.log();
    std::fs::write(trace_file(&dir, key, round, "log"), log.get(before_log..).unwrap_or("")).unwrap();
    cpu.entry(key.clone()).or_default().push((u1 - u0, s1 - s0, w1.saturating_sub(w0)));
    note_wire(key, &pip_log, wire);
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
    let upstreams = upstream_modes(std::env::var("BENCH_UPSTREAM_METADATA").ok().as_deref()).unwrap();
    let indexes: Vec<(bool, FakeIndex)> = upstreams.iter().map(|&m| (m, corpus(m))).collect();
    let proxpi = std::env::var("PROXPI_PYTHON").ok().filter(|p| !p.is_empty());
    let builds = builds();
    let mut results: std::collections::BTreeMap<Key, Vec<f64>> = Default::default();
    let mut phases: std::collections::BTreeMap<(Key, String), Vec<f64>> = Default::default();
    let mut cpu = Default::default();
    let mut wire = Default::default();
    let mut put = |key: Key, timed: Timed| {
        for (phase, ms) in timed.phases {
            phases.entry((key.clone(), phase.to_string())).or_default().push(ms);
        }
        results.entry(key).or_default().push(timed.secs);
    };
    for round in 0..rounds {
        for client in &clients {
            // Both upstreams in the same round, so they meet the same load.
            for (meta, idx) in &indexes {
                let key = |mode: &str| (*meta, client.clone(), mode.to_string());
                put(key("direct"), install_plain(&key("direct"), &idx.url(), round, &mut wire));
                for b in &builds {
                    let gate = b.start(&idx.url(), &["--dangerous-skip-scan"]);
                    let k = key(&format!("{} cold, no scan", b.label));
                    put(k.clone(), install_traced(&k, &gate, round, &mut cpu, &mut wire));
                    drop(gate);
                    let gate = b.start(&idx.url(), &[]);
                    for state in ["cold", "warm"] {
                        let k = key(&format!("{} {state}", b.label));
                        put(k.clone(), install_traced(&k, &gate, round, &mut cpu, &mut wire));
                    }
                }
                if let Some(python) = &proxpi {
                    let peer = Proxpi::start(python, &idx.url());
                    for state in ["cold", "warm"] {
                        let k = key(&format!("proxpi {state}"));
                        put(k.clone(), install_plain(&k, &peer.url, round, &mut wire));
                    }
                }
            }
        }
        eprintln!("round {} of {rounds} done", round + 1);
    }
    let ttl = std::env::var("BENCH_PAGE_TTL").unwrap_or_else(|_| "600".into());
    for &meta in &upstreams {
        println!("\n{PACKAGES} packages, {rounds} rounds, median seconds; ratios to the direct install and to proxpi");
        println!("(pipgate: the repo's policy.yaml, --page-ttl {ttl}; \"cold, no scan\" is --dangerous-skip-scan)");
        println!("({})", upstream_name(meta));
        print_table(meta, &clients, &builds, &results);
    }
    if phases.keys().any(|((_, c, _), _)| c == "uv") {
        println!(
            "\nuv's own phase timings (ms, median of rounds; from its \"Resolved/Prepared/Installed … in\" lines)"
        );
        println!("{:<30} {:>9} {:>9} {:>10}", "mode", UV_PHASES[0], UV_PHASES[1], UV_PHASES[2]);
        let modes: std::collections::BTreeSet<(bool, &String)> =
            phases.keys().filter(|((_, c, _), _)| c == "uv").map(|((m, _, mode), _)| (*m, mode)).collect();
        for (meta, mode) in modes {
            let at = |p: &str| {
                phases
                    .get(&((meta, "uv".to_string(), mode.clone()), p.to_string()))
                    .map(|v| format!("{:.0}", median(v.clone())))
            };
            let [r, p, i] = UV_PHASES.map(|p| at(p).unwrap_or_else(|| "-".into()));
            println!("{:<30} {r:>9} {p:>9} {i:>10}", labelled(meta, &upstreams, mode));
        }
    }
    if let Some(dir) = trace_dir() {
        println!(
            "\npipgate per install (median of rounds): CPU clock ticks user / system, voluntary context switches; logs in {}",
            dir.display()
        );
        for ((meta, client, mode), ticks) in &cpu {
            let user = median(ticks.iter().map(|t| t.0 as f64).collect());
            let sys = median(ticks.iter().map(|t| t.1 as f64).collect());
            let waits = median(ticks.iter().map(|t| t.2 as f64).collect());
            println!("{client:<6} {:<30} {user:>6.0} / {sys:<4.0} {waits:>7.0}", labelled(*meta, &upstreams, mode));
        }
        println!(
            "\npip per install, from its own log (median of rounds): connections opened, requests (pages / .metadata / files), first answer to last (ms)"
        );
        for ((meta, client, mode), w) in &wire {
            let m = |f: fn(&PipWire) -> usize| median(w.iter().map(|x| f(x) as f64).collect());
            let span = median(w.iter().map(|x| x.span_ms as f64).collect());
            println!(
                "{client:<6} {:<30} {:>4.0} conn  {:>3.0} / {:>3.0} / {:>3.0}  {span:>7.0}",
                labelled(*meta, &upstreams, mode),
                m(|x| x.connections),
                m(|x| x.pages),
                m(|x| x.metadata),
                m(|x| x.files)
            );
        }
    }
}

/// A mode's name in the per-install lists: with both upstreams measured, `+meta` marks the one
/// that advertises core metadata.
fn labelled(meta: bool, upstreams: &[bool], mode: &str) -> String {
    if meta && upstreams.len() > 1 {
        format!("{mode} +meta")
    } else {
        mode.to_string()
    }
}

/// One upstream's table: each mode's median, its ratio to direct and to proxpi in the same state.
fn print_table(meta: bool, clients: &[String], builds: &[Build], results: &std::collections::BTreeMap<Key, Vec<f64>>) {
    println!("{:<6} {:<22} {:>8} {:>10} {:>10}", "client", "mode", "median", "vs direct", "vs proxpi");
    for client in clients {
        let at = |mode: &str| results.get(&(meta, client.clone(), mode.to_string())).map(|r| median(r.clone()));
        let Some(direct) = at("direct") else { continue };
        let mut modes = vec!["direct".to_string()];
        for b in builds {
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
        for b in builds {
            let (Some(cold), Some(no_scan)) =
                (at(&format!("{} cold", b.label)), at(&format!("{} cold, no scan", b.label)))
            else {
                continue;
            };
            println!("{client:<6} {}: scanning cost (cold with scan / cold without) = {:.2}x", b.label, cold / no_scan);
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

#[test]
fn the_upstream_setting_names_one_upstream_or_both_and_refuses_anything_else() {
    /// The case, the setting, and the upstreams in order (`None`: the setting is refused).
    type Case = (&'static str, Option<&'static str>, Option<Vec<bool>>);
    let cases: [Case; 7] = [
        ("unset: the benchmark as it was", None, Some(vec![false])),
        ("empty", Some(""), Some(vec![false])),
        ("0", Some("0"), Some(vec![false])),
        ("1: like for like with the public index", Some("1"), Some(vec![true])),
        ("both, in that order", Some("both"), Some(vec![false, true])),
        ("spaces around", Some(" both "), Some(vec![false, true])),
        ("a typo is refused, not read as on", Some("yes"), None),
    ];
    for (case, setting, want) in cases {
        assert_eq!(upstream_modes(setting).ok(), want, "{case}");
    }
}

#[test]
fn pips_log_tells_its_connections_requests_and_span() {
    // Lines as pip 23 writes them with `--log` (urllib3's connection and request lines among pip's own).
    let warm = "\
2026-12-01T15:20:31,100 Looking in indexes: http://127.0.0.1:4000/simple/
2026-12-01T15:20:31,105 Starting new HTTP connection (1): 127.0.0.1:4000
2026-12-01T15:20:31,112 http://127.0.0.1:4000 \"GET /simple/bench-pkg-00/ HTTP/1.1\" 200 640
2026-12-01T15:20:31,120 http://127.0.0.1:4000 \"GET /files/ab/bench_pkg_00-1.0-py3-none-any.whl.metadata HTTP/1.1\" 200 212
2026-12-01T15:20:32,050 http://127.0.0.1:4000 \"GET /files/ab/bench_pkg_00-1.0-py3-none-any.whl HTTP/1.1\" 200 20480
2026-12-01T15:20:32,300 Successfully installed bench-pkg-00-1.0
";
    let reconnects = "\
2026-12-01T23:59:59,990 Starting new HTTP connection (1): 127.0.0.1:4000
2026-12-01T23:59:59,995 http://127.0.0.1:4000 \"GET /simple/bench-pkg-00/ HTTP/1.1\" 200 640
2026-12-02T00:00:00,001 Resetting dropped connection: 127.0.0.1
2026-12-02T00:00:00,002 Starting new HTTP connection (2): 127.0.0.1:4000
";
    let cases: [(&str, &str, PipWire); 3] = [
        (
            "one kept-alive connection: a page, its .metadata, the file",
            warm,
            PipWire { connections: 1, pages: 1, metadata: 1, files: 1, span_ms: 938 },
        ),
        (
            "a second connection is counted; one answer spans nothing",
            reconnects,
            PipWire { connections: 2, pages: 1, metadata: 0, files: 0, span_ms: 0 },
        ),
        ("no log", "", PipWire::default()),
    ];
    for (case, log, want) in cases {
        assert_eq!(pip_wire(log), want, "{case}");
    }
}

/// The like-for-like upstream is what it claims: installing straight from it, pip and uv read
/// each wheel's core metadata from `.metadata` (as they do from the public index); from the
/// benchmark's old upstream they never ask for one.
#[test]
fn direct_installs_read_core_metadata_only_from_the_upstream_that_advertises_it() {
    let cases = [
        ("pip, advertised", "pip", true, PACKAGES),
        ("uv, advertised", "uv", true, PACKAGES),
        ("pip, not advertised", "pip", false, 0),
        ("uv, not advertised", "uv", false, 0),
    ];
    for (case, client, metadata, want) in cases {
        let idx = corpus(metadata);
        install(client, &idx.url(), None);
        assert_eq!(idx.hits(".whl.metadata"), want, "{case}: .metadata requests");
        assert_eq!(idx.hits(".metadata"), want, "{case}: no .metadata for anything but wheels");
    }
}
