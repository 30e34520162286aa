//! Scan profile: where scan time goes, per detector, on a set of artifacts.
//!
//!   cargo run --release --example scan_profile -- [--rounds N] FILES...
//!
//! Times (best of N rounds, one thread, summed over the files): the inflate floor, the
//! walk with no detector (archive reading, role classification, text decoding, metadata
//! and licence reading), every registered detector, and then each detector alone. A
//! detector's cost is its alone time minus the no-detector time: it includes its share
//! of the prefilter and any lazily computed per-file analysis it triggers (lexing, the
//! source index), which with all detectors is paid once, so the costs add up to more
//! than the whole. Owns nothing the product uses; must not be used as a test.

use pipgate::{Limits, Scanner};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn main() {
    let mut rounds = 3;
    let mut files: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => rounds = args.next().and_then(|n| n.parse().ok()).unwrap_or(3),
            _ => files.push(a.into()),
        }
    }
    if files.is_empty() {
        eprintln!("usage: scan_profile [--rounds N] FILES...");
        std::process::exit(2);
    }
    let mut buf = Vec::new();
    let floor = best(rounds, || {
        for f in &files {
            inflate_floor(f, &mut buf);
        }
    });
    let time = |scanner: &Scanner| {
        best(rounds, || {
            for f in &files {
                let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("artifact");
                std::hint::black_box(scanner.scan_file(f, name));
            }
        })
    };
    let ids = Scanner::registered_ids();
    let none = time(&Scanner::with_only(Limits::default(), &[]).with_threads(1));
    let all = time(&Scanner::new(Limits::default()).with_threads(1));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let pct = |d: Duration| 100.0 * d.as_secs_f64() / all.as_secs_f64().max(1e-9);
    println!("{} file(s), best of {rounds} round(s), one thread", files.len());
    println!("{:<44} {:>9} {:>8}", "phase", "ms", "% scan");
    println!("{:<44} {:>9.1} {:>7.0}%", "inflate floor", ms(floor), pct(floor));
    println!("{:<44} {:>9.1} {:>7.0}%", "walk, no detector", ms(none), pct(none));
    println!("{:<44} {:>9.1} {:>7.0}%", "all detectors (the scan)", ms(all), pct(all));
    let mut rows: Vec<(&str, Duration)> = ids
        .iter()
        .map(|id| {
            let alone = time(&Scanner::with_only(Limits::default(), &[id]).with_threads(1));
            (*id, alone.saturating_sub(none))
        })
        .collect();
    rows.sort_by_key(|(_, d)| std::cmp::Reverse(*d));
    println!("\nper detector alone, over the no-detector walk");
    for (id, d) in rows {
        println!("{id:<44} {:>9.1} {:>7.1}%", ms(d), pct(d));
    }
}

fn best(rounds: usize, mut f: impl FnMut()) -> Duration {
    (0..rounds.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Read every member of a zip fully into `buf` (the floor `scan_bench` uses for wheels).
fn inflate_floor(path: &Path, buf: &mut Vec<u8>) -> u64 {
    let file = BufReader::with_capacity(64 << 10, std::fs::File::open(path).expect("open"));
    let Ok(mut zip) = zip::ZipArchive::new(file) else { return 0 };
    let mut total = 0;
    for i in 0..zip.len() {
        let mut m = zip.by_index(i).expect("member");
        buf.clear();
        total += m.read_to_end(buf).unwrap_or(0) as u64;
    }
    total
}
