//! Reading advisory sources: an OSV export zip (the built-in snapshot, or one imported into
//! the data directory), a directory of OSV JSON files, and the KEV catalogue; importing a
//! source into the data directory; and the data directory's fingerprint for polling.
//!
//! Layout of `<data>/advisories/`: one `<name>.zip` per imported OSV source (a directory is
//! packed into one on import), `<name>.source.json` beside it (where it came from, when,
//! and for a URL its `ETag`/`Last-Modified`), and `kev.json` (a KEV catalogue).
//! Must not: decide, or fetch over the network (see `update`).

use super::kev::Kev;
use super::osv::{RawRecord, Record, SkipReason};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The PyPI vulnerability snapshot shipped in the repository (`data/osv-pypi.zip`),
/// embedded so that a clean clone, `cargo install` and a copied binary all have it.
pub(crate) const BUILTIN_ZIP: &[u8] = include_bytes!("../../data/osv-pypi.zip");
/// Where the built-in data comes from, and its licence: shown wherever it is shown.
pub const BUILTIN_ATTRIBUTION: &str = "PyPA advisory database (pypa/advisory-database, snapshot 2024-10-10), CC-BY-4.0";
/// The KEV catalogue's file name in the advisories directory.
pub(crate) const KEV_FILE: &str = "kev.json";

/// Why a source could not be read or imported, and whose fault it is.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    #[error("{path}: {source} (the file system's fault or a wrong path)")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: not a readable zip archive: {reason} (the source's fault)")]
    Zip { path: String, reason: String },
    #[error("{path}: {reason} (the source's fault)")]
    Bad { path: String, reason: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LoadError + '_ {
    move |source| LoadError::Io { path: path.display().to_string(), source }
}

/// Records read from one source, with what was left out.
#[derive(Debug, Default)]
pub(crate) struct SourceRead {
    pub records: Vec<Record>,
    pub withdrawn: usize,
    /// Not OSV JSON, or naming no PyPI package.
    pub skipped: usize,
    /// sha256 of the source's bytes (the feed revision is made of these).
    pub digest: String,
}

fn take(read: &mut SourceRead, parsed: Result<RawRecord, serde_json::Error>) {
    match parsed.map_err(|_| SkipReason::NotPyPi).and_then(RawRecord::into_record) {
        Ok(r) => read.records.push(r),
        Err(SkipReason::Withdrawn(_)) => read.withdrawn += 1,
        Err(SkipReason::NotPyPi) => read.skipped += 1,
    }
}

/// Every `*.json` member of an OSV export zip, parsed on all cores (the full PyPI export
/// parses in well under a second on two).
pub(crate) fn read_zip(path: &str, bytes: &[u8]) -> Result<SourceRead, LoadError> {
    let zip_err = |e: zip::result::ZipError| LoadError::Zip { path: path.to_string(), reason: e.to_string() };
    let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(zip_err)?;
    let names: Vec<usize> = (0..archive.len())
        .filter(|&i| archive.name_for_index(i).is_some_and(|n| n.ends_with(".json") && !n.ends_with('/')))
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).clamp(1, 8);
    let chunk = names.len().div_ceil(threads).max(1);
    let parts: Vec<Result<SourceRead, LoadError>> = std::thread::scope(|s| {
        let handles: Vec<_> = names
            .chunks(chunk)
            .map(|idx| {
                s.spawn(move || {
                    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(zip_err)?;
                    let mut read = SourceRead::default();
                    let mut buf = Vec::new();
                    for &i in idx {
                        let mut f = archive.by_index(i).map_err(zip_err)?;
                        buf.clear();
                        // A member larger than 16 MiB is no advisory record.
                        (&mut f)
                            .take(16 << 20)
                            .read_to_end(&mut buf)
                            .map_err(|e| LoadError::Zip { path: path.to_string(), reason: e.to_string() })?;
                        take(&mut read, serde_json::from_slice(&buf));
                    }
                    Ok(read)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    });
    let mut all = SourceRead { digest: crate::model::Sha256::digest(bytes).to_string(), ..SourceRead::default() };
    for p in parts {
        let p = p?;
        all.records.extend(p.records);
        all.withdrawn += p.withdrawn;
        all.skipped += p.skipped;
    }
    all.records.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(all)
}

/// The `*.json` files of a directory (recursively), in name order.
fn json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let p = entry.map_err(io(dir))?.path();
        if p.is_dir() {
            json_files(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
    out.sort();
    Ok(())
}

/// What an import wrote.
#[derive(Debug)]
pub(crate) struct Imported {
    pub name: String,
    pub written: PathBuf,
    /// OSV records loaded (for a KEV catalogue: its entries).
    pub records: usize,
    pub withdrawn: usize,
    pub skipped: usize,
    pub kev: bool,
}

/// The name a source gets in the data directory: its file or folder name without
/// extension, kept to `[A-Za-z0-9._-]`.
pub(crate) fn source_name(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    let clean: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' }).collect();
    if clean.is_empty() || clean == "kev" {
        "imported".into()
    } else {
        clean
    }
}

/// Copy a source into `<data>/advisories/`: a zip as is, a directory packed into a zip of
/// its `*.json` records, a KEV catalogue as `kev.json`, after reading it the way the proxy
/// will (a source pipgate cannot read is refused, and nothing is written). Written to a
/// temporary name and renamed, so a running proxy never reads half a file.
pub(crate) fn import(advisories: &Path, from: &Path, origin: &str, name: Option<&str>) -> Result<Imported, LoadError> {
    std::fs::create_dir_all(advisories).map_err(io(advisories))?;
    let shown = from.display().to_string();
    let named = |path: &Path| name.map_or_else(|| source_name(path), |n| source_name(Path::new(&format!("{n}.zip"))));
    let (bytes, name, kev) = if from.is_dir() {
        let mut files = Vec::new();
        json_files(from, &mut files)?;
        if files.is_empty() {
            return Err(LoadError::Bad { path: shown, reason: "no *.json OSV records in this directory".into() });
        }
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        for f in &files {
            let rel = f.strip_prefix(from).unwrap_or(f).to_string_lossy().replace('\\', "/");
            zip.start_file(rel, opts).map_err(|e| LoadError::Zip { path: shown.clone(), reason: e.to_string() })?;
            zip.write_all(&std::fs::read(f).map_err(io(f))?).map_err(io(f))?;
        }
        let out = zip.finish().map_err(|e| LoadError::Zip { path: shown.clone(), reason: e.to_string() })?;
        (out.into_inner(), named(from), false)
    } else {
        let bytes = std::fs::read(from).map_err(io(from))?;
        let kev = bytes.first().is_some_and(|b| *b == b'{') && Kev::looks_like(&bytes);
        (bytes, named(from), kev)
    };
    if kev {
        let parsed = Kev::parse(&bytes).map_err(|e| LoadError::Bad { path: shown.clone(), reason: e.to_string() })?;
        let written = advisories.join(KEV_FILE);
        write_atomically(&written, &bytes)?;
        let records = parsed.by_cve.len();
        write_sidecar(advisories, "kev", origin, records, None)?;
        return Ok(Imported { name: "kev".into(), written, records, withdrawn: 0, skipped: 0, kev: true });
    }
    let read = read_zip(&shown, &bytes)?;
    if read.records.is_empty() {
        let reason = format!(
            "no usable OSV record for PyPI ({} withdrawn, {} not OSV or naming no PyPI package)",
            read.withdrawn, read.skipped
        );
        return Err(LoadError::Bad { path: shown, reason });
    }
    let written = advisories.join(format!("{name}.zip"));
    write_atomically(&written, &bytes)?;
    write_sidecar(advisories, &name, origin, read.records.len(), None)?;
    Ok(Imported { name, written, records: read.records.len(), withdrawn: read.withdrawn, skipped: read.skipped, kev })
}

/// `<name>.source.json`: where a source came from and when.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Sidecar {
    pub origin: String,
    pub imported_at: String,
    pub records: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

pub(crate) fn write_sidecar(
    advisories: &Path,
    name: &str,
    origin: &str,
    records: usize,
    http: Option<(Option<String>, Option<String>)>,
) -> Result<(), LoadError> {
    let (etag, last_modified) = http.unwrap_or_default();
    let s = Sidecar {
        origin: origin.to_string(),
        imported_at: crate::timefmt::now_rfc3339(),
        records,
        etag,
        last_modified,
    };
    let text = serde_json::to_vec_pretty(&s).unwrap_or_default();
    write_atomically(&advisories.join(format!("{name}.source.json")), &text)
}

pub(crate) fn read_sidecar(advisories: &Path, name: &str) -> Option<Sidecar> {
    serde_json::from_slice(&std::fs::read(advisories.join(format!("{name}.source.json"))).ok()?).ok()
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    let tmp = path.with_extension(format!("part-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// The OSV zips of an advisories directory, in name order.
pub(crate) fn zips(advisories: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(advisories)
        .map(|rd| {
            rd.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "zip")).collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Names, sizes and modification times of the directory's sources: changes when an
/// import or update lands (what the running proxy polls).
pub(crate) fn fingerprint(advisories: &Path) -> String {
    let mut parts = Vec::new();
    let kev = advisories.join(KEV_FILE);
    let mut paths = zips(advisories);
    if kev.exists() {
        paths.push(kev);
    }
    for p in paths {
        let (len, mtime) = std::fs::metadata(&p)
            .map(|m| (m.len(), m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())))
            .unwrap_or((0, None));
        parts.push(format!("{}:{len}:{}", p.display(), mtime.map_or(0, |d| d.as_nanos())));
    }
    parts.join("\n")
}
