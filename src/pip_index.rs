//! Which index the local pip would use, and where pip's public index keeps its files —
//! answered from pip's configuration files when they can answer, from the local pip
//! otherwise, and then from a cache.
//!
//! Owns: reading pip's configuration the way pip does (`PIP_INDEX_URL`; `PIP_CONFIG_FILE`,
//! `/dev/null` meaning "no files"; the global, user and site `pip.conf` files in pip's order,
//! later ones overriding earlier ones; `index-url` in `[install]`, then `[download]`, then
//! `[global]`), asking the local pip in one probe only what configuration cannot answer (its
//! built-in default index, the public index's file host, its `sys.prefix`), and caching that
//! answer in the data directory keyed by its inputs (the interpreter's path, size and mtime,
//! pip's own file and mtime, the relevant environment and every config file's mtime).
//! Must not: name a registry host (pip's built-in default comes from pip), open sockets, or
//! fail a command because the cache cannot be read or written.

use crate::config::{parse_file_host, parse_upstream, ConfigError};
use serde::{Deserialize, Serialize};
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use url::Url;

/// The environment variables pip's answer depends on (beyond `PATH`, which only picks the
/// interpreter, keyed by its resolved path).
const ENV_KEYS: &[&str] = &[
    "PIP_INDEX_URL",
    "PIP_CONFIG_FILE",
    "PIP_ISOLATED_MODE",
    "HOME",
    "XDG_CONFIG_HOME",
    "XDG_CONFIG_DIRS",
    "VIRTUAL_ENV",
    "PYENV_VERSION",
    "CONDA_PREFIX",
    "PYTHONHOME",
    "PYTHONPATH",
];

/// The cache file in the data directory.
pub(crate) const CACHE_NAME: &str = "pip-index.json";

/// The one probe: pip's built-ins, its prefix, and its own answer for the current settings.
const PROBE: &str = r#"
import json, os, sys
import pip
from pip._internal.models.index import PyPI
out = {"prefix": sys.prefix, "pip_file": os.path.abspath(pip.__file__),
       "default_url": PyPI.simple_url, "file_host": PyPI.file_storage_domain,
       "index_url": None, "how": None}
if os.environ.get("PIP_INDEX_URL"):
    out["index_url"], out["how"] = os.environ["PIP_INDEX_URL"], "PIP_INDEX_URL"
else:
    from pip._internal.configuration import Configuration
    c = Configuration(isolated=bool(os.environ.get("PIP_ISOLATED_MODE")))
    try:
        c.load()
        for key in ("install.index-url", "download.index-url", "global.index-url"):
            try:
                out["index_url"], out["how"] = c.get_value(key), "pip config " + key
                break
            except Exception:
                pass
    except Exception:
        pass
print(json.dumps(out))
"#;

/// What the probe printed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Probe {
    prefix: PathBuf,
    pip_file: PathBuf,
    default_url: String,
    file_host: String,
    index_url: Option<String>,
    how: Option<String>,
}

/// A file's identity for cache keys: its modification time in nanoseconds and its size
/// (`None`: absent or unreadable).
type Stamp = Option<(i64, u64)>;

fn stamp(path: &Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    let t = m.modified().ok()?.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0);
    Some((t, m.len()))
}

/// The inputs a cached probe is valid for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Inputs {
    /// The interpreter as found on `PATH` and as resolved through symlinks, with stamps.
    python: Vec<(PathBuf, Stamp)>,
    env: BTreeMap<String, String>,
    /// Every config file pip would read (the site file from the probe's prefix), stamped;
    /// `None` where they cannot be listed (the answer is then never taken from the cache).
    files: Option<Vec<(PathBuf, Stamp)>>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CacheEntry {
    inputs: Inputs,
    pip_file_stamp: Stamp,
    probe: Probe,
}

/// The environment as pip sees it (only [`ENV_KEYS`]), and where `/etc` is (tests move it).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PipEnv {
    pub(crate) vars: BTreeMap<String, String>,
    pub(crate) etc: PathBuf,
}

impl PipEnv {
    pub(crate) fn from_process() -> PipEnv {
        let vars = ENV_KEYS.iter().filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?))).collect();
        PipEnv { vars, etc: PathBuf::from("/etc") }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }
}

/// What pip's configuration says about the index.
#[derive(Debug, PartialEq)]
pub(crate) enum ConfigAnswer {
    /// The index URL and which setting gave it.
    Set(String, String),
    /// No setting: pip's built-in default applies.
    Default,
    /// Configuration alone cannot tell (unknown file locations or prefix, isolated mode,
    /// a file pip's parser would refuse): ask pip.
    Unknown(String),
}

/// The config files pip reads, lowest precedence first, or why they cannot be listed.
/// `prefix` is the interpreter's `sys.prefix` (the site file lives there).
pub(crate) fn config_files(env: &PipEnv, prefix: Option<&Path>) -> Result<Vec<PathBuf>, String> {
    if !cfg!(all(unix, not(target_os = "macos"))) {
        return Err("pip's config locations on this platform are not read directly".into());
    }
    let env_file = env.get("PIP_CONFIG_FILE").filter(|f| !f.is_empty());
    if env_file == Some("/dev/null") {
        return Ok(Vec::new()); // pip: "Skipping loading configuration files"
    }
    let home = env.get("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    let mut files = Vec::new();
    // Global: each of XDG_CONFIG_DIRS (default /etc/xdg) + pip/pip.conf, then /etc/pip.conf.
    match env.get("XDG_CONFIG_DIRS").filter(|d| !d.trim().is_empty()) {
        Some(dirs) => files.extend(dirs.split(':').map(|d| Path::new(d).join("pip").join("pip.conf"))),
        None => files.push(env.etc.join("xdg").join("pip").join("pip.conf")),
    }
    files.push(env.etc.join("pip.conf"));
    // User (skipped when PIP_CONFIG_FILE names an existing file): legacy ~/.pip, then XDG.
    if !env_file.is_some_and(|f| Path::new(f).exists()) {
        let home = home.ok_or("HOME is not set")?;
        files.push(home.join(".pip").join("pip.conf"));
        let xdg_home = env.get("XDG_CONFIG_HOME").filter(|d| !d.trim().is_empty());
        files.push(xdg_home.map(PathBuf::from).unwrap_or_else(|| home.join(".config")).join("pip").join("pip.conf"));
    }
    // Site: sys.prefix/pip.conf.
    files.push(prefix.ok_or("the interpreter's prefix is not known without asking it")?.join("pip.conf"));
    if let Some(f) = env_file {
        files.push(PathBuf::from(f));
    }
    Ok(files)
}

/// pip's answer from its environment and configuration files alone.
pub(crate) fn from_config(env: &PipEnv, prefix: Option<&Path>) -> ConfigAnswer {
    if env.get("PIP_ISOLATED_MODE").is_some_and(|v| !v.is_empty()) {
        return ConfigAnswer::Unknown("PIP_ISOLATED_MODE is set".into());
    }
    if let Some(url) = env.get("PIP_INDEX_URL").filter(|u| !u.is_empty()) {
        return ConfigAnswer::Set(url.to_string(), "PIP_INDEX_URL".into());
    }
    let files = match config_files(env, prefix) {
        Ok(f) => f,
        Err(why) => return ConfigAnswer::Unknown(why),
    };
    // Later files override earlier ones; then [install] beats [download] beats [global].
    let mut found: BTreeMap<&str, (String, PathBuf)> = BTreeMap::new();
    for f in &files {
        let Ok(bytes) = std::fs::read(f) else { continue };
        let Ok(text) = String::from_utf8(bytes) else {
            return ConfigAnswer::Unknown(format!("{} is not UTF-8", f.display()));
        };
        let parsed = match parse_ini(&text) {
            Ok(p) => p,
            Err(e) => return ConfigAnswer::Unknown(format!("{}: {e}", f.display())),
        };
        for section in ["install", "download", "global"] {
            if let Some(v) = parsed.get(&(section.to_string(), "index-url".to_string())) {
                found.insert(section, (v.clone(), f.clone()));
            }
        }
    }
    for section in ["install", "download", "global"] {
        if let Some((url, file)) = found.remove(section) {
            return ConfigAnswer::Set(url, format!("index-url in [{section}] of {}", file.display()));
        }
    }
    ConfigAnswer::Default
}

/// The subset of Python's `configparser.RawConfigParser` pip relies on: `[section]`,
/// `key = value` or `key: value`, whole-line `#`/`;` comments, indented continuation lines;
/// names lower-cased and `_` read as `-` (pip's normalisation). Duplicate sections or keys
/// are errors, as in configparser's strict mode.
fn parse_ini(text: &str) -> Result<BTreeMap<(String, String), String>, String> {
    let mut out = BTreeMap::new();
    let mut sections = std::collections::BTreeSet::new();
    let mut section: Option<String> = None;
    let mut last: Option<(String, String)> = None;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            last = if trimmed.is_empty() { None } else { last };
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(key) = &last {
                let v: &mut String = out.get_mut(key).expect("last key was inserted");
                if !v.is_empty() {
                    v.push('\n');
                }
                v.push_str(trimmed);
                continue;
            }
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let name = name.to_string();
            if !sections.insert(name.clone()) {
                return Err(format!("line {}: section [{name}] appears twice", n + 1));
            }
            section = Some(name.to_lowercase());
            last = None;
            continue;
        }
        let Some(sec) = &section else {
            return Err(format!("line {}: a setting before any [section]", n + 1));
        };
        let Some(at) = trimmed.find(['=', ':']) else {
            return Err(format!("line {}: expected key = value", n + 1));
        };
        let key = trimmed[..at].trim().to_lowercase().replace('_', "-");
        let key = key.trim_start_matches("--").to_string();
        let value = trimmed[at + 1..].trim().to_string();
        let k = (sec.clone(), key.clone());
        if out.insert(k.clone(), value).is_some() {
            return Err(format!("line {}: {key} set twice in [{sec}]", n + 1));
        }
        last = Some(k);
    }
    Ok(out)
}

/// The interpreter's `sys.prefix` when it can be known without running it: a virtual
/// environment (`pyvenv.cfg` beside or above the executable, as CPython finds it), or a
/// real interpreter binary (not a launcher script) under `PREFIX/bin/` with its standard
/// library in `PREFIX/lib/python3.*/`.
fn prefix_without_running(python: &Path) -> Option<PathBuf> {
    let bin = python.parent()?;
    for dir in [Some(bin), bin.parent()].into_iter().flatten() {
        if dir.join("pyvenv.cfg").is_file() {
            return Some(dir.to_path_buf());
        }
    }
    let real = std::fs::canonicalize(python).ok()?;
    let mut magic = [0u8; 4];
    std::io::Read::read_exact(&mut std::fs::File::open(&real).ok()?, &mut magic).ok()?;
    if &magic != b"\x7fELF" {
        return None;
    }
    let prefix = real.parent()?.parent()?;
    let has_stdlib = std::fs::read_dir(prefix.join("lib"))
        .ok()?
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_str().is_some_and(|n| n.starts_with("python3.")) && e.path().join("os.py").is_file());
    has_stdlib.then(|| prefix.to_path_buf())
}

/// `python` as the OS would find it: a path as given, else the first match on `PATH`.
fn which(python: &str) -> Option<PathBuf> {
    if python.contains('/') {
        return Some(PathBuf::from(python));
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(python)).find(|p| p.is_file())
}

/// The local pip, asked at most once per process and at most once per change of its
/// inputs (the answer is cached in the data directory).
pub struct PipIndex {
    python: String,
    cache: Option<PathBuf>,
    env: PipEnv,
    probe: OnceCell<Result<Probe, String>>,
}

impl PipIndex {
    /// The pip of `python`, caching its answer in `data_dir` (`None`: no cache).
    pub fn new(python: &str, data_dir: Option<&Path>) -> PipIndex {
        Self::with_env(python, data_dir, PipEnv::from_process())
    }

    pub(crate) fn with_env(python: &str, data_dir: Option<&Path>, env: PipEnv) -> PipIndex {
        PipIndex {
            python: python.to_string(),
            cache: data_dir.map(|d| d.join(CACHE_NAME)),
            env,
            probe: OnceCell::new(),
        }
    }

    /// The index pip would install from, and which setting decided.
    pub fn upstream(&self) -> Result<(Url, String), ConfigError> {
        let exe = which(&self.python);
        let prefix = exe.as_deref().and_then(prefix_without_running);
        let (url, how) = match from_config(&self.env, prefix.as_deref()) {
            ConfigAnswer::Set(url, how) => (url, how),
            ConfigAnswer::Default => {
                let p = self.probe().map_err(|reason| ConfigError::NoUpstream { reason })?;
                (p.default_url.clone(), "pip's built-in default index".into())
            }
            ConfigAnswer::Unknown(why) => {
                tracing::debug!(reason = %why, "pip's configuration alone cannot tell; asking pip");
                let p = self.probe().map_err(|reason| ConfigError::NoUpstream { reason })?;
                match (&p.index_url, &p.how) {
                    (Some(u), Some(h)) => (u.clone(), h.clone()),
                    _ => (p.default_url.clone(), "pip's built-in default index".into()),
                }
            }
        };
        Ok((parse_upstream(&url)?, how))
    }

    /// When `upstream` is pip's own public index, the host that index serves its files
    /// from, as the local pip knows it. `None` for any other upstream, for upstreams on IP
    /// addresses or single-label hosts (pip is not asked then), or when pip cannot be asked.
    /// The public index keeps files on another registrable domain, so without this the
    /// file-host allow-list would refuse every file of the default upstream.
    pub fn public_file_host(&self, upstream: &Url) -> Option<String> {
        let host = upstream.host_str()?.to_ascii_lowercase();
        if upstream.host().is_some_and(|h| !matches!(h, url::Host::Domain(_))) || !host.contains('.') {
            return None;
        }
        let p = self.probe().ok()?;
        let index = Url::parse(p.default_url.trim()).ok()?;
        let same_index = index.host_str().is_some_and(|h| h.eq_ignore_ascii_case(&host))
            && index.port_or_known_default() == upstream.port_or_known_default();
        let files = p.file_host.trim().to_ascii_lowercase();
        (same_index && !files.is_empty()).then(|| parse_file_host(&files).ok()).flatten()
    }

    fn probe(&self) -> Result<&Probe, String> {
        self.probe.get_or_init(|| self.cached_or_run()).as_ref().map_err(Clone::clone)
    }

    /// The inputs of a probe, given the prefix it reported (for the site config file).
    fn inputs(&self, prefix: &Path) -> Inputs {
        let mut python = Vec::new();
        if let Some(exe) = which(&self.python) {
            python.push((exe.clone(), stamp(&exe)));
            if let Ok(real) = std::fs::canonicalize(&exe) {
                python.push((real.clone(), stamp(&real)));
            }
        }
        let files = config_files(&self.env, Some(prefix)).ok();
        let files = files.map(|fs| fs.into_iter().map(|f| (f.clone(), stamp(&f))).collect());
        Inputs { python, env: self.env.vars.clone(), files }
    }

    fn cached_or_run(&self) -> Result<Probe, String> {
        if let Some(entry) = self.cache.as_deref().and_then(read_cache) {
            let fresh = entry.inputs.files.is_some()
                && entry.inputs == self.inputs(&entry.probe.prefix)
                && entry.pip_file_stamp == stamp(&entry.probe.pip_file);
            if fresh {
                tracing::debug!("pip's answer from the cache (its inputs are unchanged)");
                return Ok(entry.probe);
            }
        }
        let started = std::time::Instant::now();
        let probe = self.run()?;
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "asked the local pip");
        if let Some(path) = &self.cache {
            let entry =
                CacheEntry { inputs: self.inputs(&probe.prefix), pip_file_stamp: stamp(&probe.pip_file), probe };
            if let Err(e) = write_cache(path, &entry) {
                tracing::debug!(error = %e, cache = %path.display(), "could not cache pip's answer");
            }
            return Ok(entry.probe);
        }
        Ok(probe)
    }

    fn run(&self) -> Result<Probe, String> {
        let out = Command::new(&self.python)
            .args(["-c", PROBE])
            .output()
            .map_err(|e| format!("could not run {}: {e}", self.python))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let last = text.lines().last().unwrap_or_default();
        serde_json::from_str(last).map_err(|e| format!("unexpected answer from {}: {e}", self.python))
    }
}

fn read_cache(path: &Path) -> Option<CacheEntry> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Write atomically (temporary file + rename): concurrent commands never read half a file.
fn write_cache(path: &Path, entry: &CacheEntry) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    std::fs::write(&tmp, serde_json::to_vec_pretty(entry).map_err(std::io::Error::other)?)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests;
