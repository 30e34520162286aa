//! Scan benchmark: compares `Scanner::scan_file` against the "inflate floor"
//! (reading every member fully into one reused buffer and nothing else), on one
//! thread, interleaved over several rounds in the same process.
//!
//!   cargo run --release --example scan_bench -- [--rounds N] [--threads N] [--synthetic] [--tsv] [--dump DIR] FILES...
//!
//! `--threads` (default 1) lets the scanner use worker threads on large artifacts;
//! the floor is always one thread, so the default compares like with like.
//!
//! `--synthetic` registers a handful of bench-only detectors with common literals,
//! so the figure includes prefilter hits and detector dispatch; without it the
//! scanner runs with `detectors::all()` (whatever the build registers).
//!
//! `--tsv` prints one machine-readable line per file (`path bytes floor_ns scan_ns findings`,
//! tab-separated) instead of the table, for `bench/scan_corpus.py compare`, which runs two
//! builds of this example alternately. `--dump DIR` writes each file's findings as JSON
//! (`DIR/<file name>.json`) so two builds' findings can be compared file by file.
//! Owns nothing the product uses; must not be used as a test.

use pipgate::{Category, Detector, DetectorMeta, Evidence, Hit, Hits, Interest, Limits, Scanner, Severity, TextFile};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn main() {
    let mut rounds = 3;
    let mut threads = 1;
    let mut synthetic = false;
    let mut tsv = false;
    let mut dump: Option<PathBuf> = None;
    let mut files: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => rounds = args.next().and_then(|n| n.parse().ok()).unwrap_or(3),
            "--threads" => threads = args.next().and_then(|n| n.parse().ok()).unwrap_or(1),
            "--synthetic" => synthetic = true,
            "--tsv" => tsv = true,
            "--dump" => dump = args.next().map(PathBuf::from),
            _ => files.push(a.into()),
        }
    }
    if files.is_empty() {
        eprintln!("usage: scan_bench [--rounds N] [--threads N] [--synthetic] [--tsv] [--dump DIR] FILES...");
        std::process::exit(2);
    }
    let scanner = if synthetic {
        Scanner::with_detectors(Limits::default(), synthetic_detectors())
    } else {
        Scanner::new(Limits::default())
    }
    .with_threads(threads);
    if let Some(dir) = dump {
        dump_findings(&scanner, &files, &dir);
        return;
    }
    let kind = if synthetic { "synthetic" } else { "registered" };
    if !tsv {
        println!("{} file(s), {rounds} round(s), scan threads: {threads}, detectors: {kind}", files.len());
    }
    run(&scanner, &files, rounds, tsv);
}

/// Writes each file's findings (pretty JSON, in report order) to `dir/<file name>.json`.
fn dump_findings(scanner: &Scanner, files: &[PathBuf], dir: &Path) {
    std::fs::create_dir_all(dir).expect("create dump dir");
    for file in files {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("artifact");
        let report = scanner.scan_file(file, name);
        let json = serde_json::to_string_pretty(&report.findings).expect("findings serialise");
        std::fs::write(dir.join(format!("{name}.json")), json + "\n").expect("write dump");
    }
}

#[derive(Default, Clone, Copy)]
struct Best {
    bytes: u64,
    floor: Option<Duration>,
    scan: Option<Duration>,
    findings: usize,
}

fn run(scanner: &Scanner, files: &[PathBuf], rounds: usize, tsv: bool) {
    let mut best = vec![Best::default(); files.len()];
    let mut buf = Vec::new();
    for _ in 0..rounds {
        for (file, b) in files.iter().zip(best.iter_mut()) {
            let t = Instant::now();
            let bytes = inflate_floor(file, &mut buf);
            b.floor = Some(b.floor.map_or(t.elapsed(), |d| d.min(t.elapsed())));
            b.bytes = bytes;
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("artifact");
            let t = Instant::now();
            let report = scanner.scan_file(file, name);
            b.scan = Some(b.scan.map_or(t.elapsed(), |d| d.min(t.elapsed())));
            b.findings = report.findings.len();
        }
    }
    if tsv {
        for (file, b) in files.iter().zip(&best) {
            let ns = |d: Option<Duration>| d.unwrap_or_default().as_nanos();
            println!("{}\t{}\t{}\t{}\t{}", file.display(), b.bytes, ns(b.floor), ns(b.scan), b.findings);
        }
        return;
    }
    println!("{:<58} {:>9} {:>11} {:>11} {:>6} {:>8}", "file", "MB", "floor MB/s", "scan MB/s", "ratio", "findings");
    let (mut bytes, mut floor, mut scan) = (0u64, Duration::ZERO, Duration::ZERO);
    for (file, b) in files.iter().zip(&best) {
        let (f, s) = (b.floor.unwrap_or_default(), b.scan.unwrap_or_default());
        print_row(&short(file), b.bytes, f, s, b.findings.to_string());
        (bytes, floor, scan) = (bytes + b.bytes, floor + f, scan + s);
    }
    print_row("TOTAL (best of rounds, summed)", bytes, floor, scan, String::new());
}

fn print_row(name: &str, bytes: u64, floor: Duration, scan: Duration, findings: String) {
    let mb = bytes as f64 / 1e6;
    let rate = |d: Duration| mb / d.as_secs_f64().max(1e-9);
    let ratio = floor.as_secs_f64() / scan.as_secs_f64().max(1e-9);
    println!("{name:<58} {mb:>9.1} {:>11.0} {:>11.0} {:>5.0}% {findings:>8}", rate(floor), rate(scan), ratio * 100.0);
}

fn short(p: &Path) -> String {
    let s = p.file_name().and_then(|n| n.to_str()).unwrap_or("?");
    if s.len() > 58 {
        format!("{}…", &s[..56])
    } else {
        s.to_string()
    }
}

/// Read every member of a zip or (gzip/bzip2) tar fully into `buf`; returns uncompressed bytes.
fn inflate_floor(path: &Path, buf: &mut Vec<u8>) -> u64 {
    let name = path.to_string_lossy().to_ascii_lowercase();
    let file = BufReader::with_capacity(64 << 10, std::fs::File::open(path).expect("open"));
    if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        return floor_tar(flate2::read::MultiGzDecoder::new(file), buf);
    }
    if name.ends_with(".tar.bz2") {
        return floor_tar(bzip2::read::MultiBzDecoder::new(file), buf);
    }
    let mut zip = zip::ZipArchive::new(file).expect("zip");
    let mut total = 0;
    for i in 0..zip.len() {
        let mut m = zip.by_index(i).expect("member");
        buf.clear();
        total += m.read_to_end(buf).unwrap_or(0) as u64;
    }
    total
}

fn floor_tar<R: Read>(r: R, buf: &mut Vec<u8>) -> u64 {
    let mut ar = tar::Archive::new(r);
    let mut total = 0;
    for entry in ar.entries().expect("tar") {
        let Ok(mut e) = entry else { break };
        buf.clear();
        total += e.read_to_end(buf).unwrap_or(0) as u64;
    }
    total
}

// ---- synthetic detectors: common literals, a line search on a hit ----

macro_rules! synth {
    ($name:ident, $meta:ident, $id:literal, $cat:ident, [$($lit:literal),*]) => {
        static $meta: DetectorMeta = DetectorMeta { id: $id, revision: 1, title: $id, category: Category::$cat, severity: Severity::Low, description: "bench" };
        struct $name;
        impl Detector for $name {
            fn meta(&self) -> &'static DetectorMeta { &$meta }
            fn interest(&self) -> Interest { Interest::Literals(&[$($lit),*]) }
            fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) { line_hits(&$meta, &[$($lit),*], file, hits) }
        }
    };
}

synth!(Proc, PROC, "execution.bench-process", Execution, ["subprocess", "os.system", "os.popen"]);
synth!(Net, NET, "network.bench-url", Network, ["http://", "https://"]);
synth!(Sock, SOCK, "network.bench-socket", Network, ["socket.", "urlopen", "requests.get"]);
synth!(Eval, EVAL, "obfuscation.bench-eval", Obfuscation, ["eval(", "exec(", "b64decode", "marshal.loads"]);
synth!(Key, KEY, "secrets.bench-key", Secrets, ["-----BEGIN", "AKIA", "ghp_"]);

fn line_hits(meta: &'static DetectorMeta, lits: &[&str], file: &TextFile<'_>, hits: &mut Hits) {
    for (i, line) in file.text.lines().enumerate() {
        if let Some(lit) = lits.iter().find(|l| line.contains(*l)) {
            let evidence = Evidence {
                path: file.path.into(),
                line: Some(i as u32 + 1),
                column: None,
                snippet: Some(line.chars().take(80).collect()),
                indicator: Some(lit.to_string()),
                role: file.role,
                severity: None,
            };
            hits.push(meta, Hit { severity: None, evidence });
        }
    }
}

fn synthetic_detectors() -> Vec<Box<dyn Detector>> {
    vec![Box::new(Proc), Box::new(Net), Box::new(Sock), Box::new(Eval), Box::new(Key)]
}
