//! The archive scanner (zip, tar, tar.gz, tar.bz2, tar.xz, nested) with the shipped limits:
//! never panics, always ends with a report. The first byte picks the filename (and so the
//! kind); the content's magic bytes pick the format, as in the proxy.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::sync::OnceLock;

const NAMES: [&str; 7] = [
    "demo-1.0-py3-none-any.whl",
    "demo-1.0.tar.gz",
    "demo-1.0.tar.bz2",
    "demo-1.0.tar.xz",
    "demo-1.0.zip",
    "demo-1.0.tgz",
    "demo-1.0-py3.8.egg",
];

fuzz_target!(|data: &[u8]| {
    static SCANNER: OnceLock<pipgate::Scanner> = OnceLock::new();
    let scanner = SCANNER.get_or_init(|| pipgate::Scanner::new(pipgate::Limits::default()).with_threads(1));
    let Some((&selector, bytes)) = data.split_first() else { return };
    let name = NAMES[selector as usize % NAMES.len()];
    let mut file = tempfile_in_shm();
    file.as_file_mut().write_all(bytes).unwrap();
    let report = scanner.scan_file(file.path(), name);
    assert_eq!(report.filename, name);
});

fn tempfile_in_shm() -> tempfile::NamedTempFile {
    let dir = if std::path::Path::new("/dev/shm").is_dir() { "/dev/shm" } else { "/tmp" };
    tempfile::NamedTempFile::new_in(dir).unwrap()
}
