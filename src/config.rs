//! Run-time configuration: where to listen, which upstream, where state lives.
//!
//! Owns: resolving the upstream (flag > `PIPGATE_UPSTREAM` > `policy.yaml` > the local
//! pip's own choice, found by [`crate::pip_index`]), the data directory layout, the upstream limits and allowed file hosts
//! (`--allow-file-host` entries checked here), and redacting credentials in URLs.
//! Must not: open sockets or read artifacts.

use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

/// Where an upstream URL came from, for the start-up log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamSource {
    /// `--upstream` or `PIPGATE_UPSTREAM`.
    Flag,
    /// `upstream:` in the policy file.
    Policy(PathBuf),
    /// Asked the local pip; the string says which pip setting decided.
    Pip(String),
}

impl std::fmt::Display for UpstreamSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamSource::Flag => f.write_str("--upstream / PIPGATE_UPSTREAM"),
            UpstreamSource::Policy(p) => write!(f, "upstream: in {}", p.display()),
            UpstreamSource::Pip(how) => write!(f, "the local pip ({how})"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("upstream URL {url:?} is not a valid http(s) URL: {reason}")]
    BadUpstream { url: String, reason: String },
    #[error("--database {value:?}: expected postgres://…, sqlite:PATH or a file path")]
    BadDatabase { value: String },
    #[error("--allow-file-host {value:?}: expected HOST or HOST:PORT ({reason})")]
    BadFileHost { value: String, reason: String },
    #[error("{flag} {value:?}: {reason}")]
    BadPrescan { flag: &'static str, value: String, reason: String },
    #[error("no upstream configured and the local pip could not tell its index ({reason}); pass --upstream URL or set PIPGATE_UPSTREAM")]
    NoUpstream { reason: String },
}

/// Parse and normalise an upstream simple-index URL (always ends with `/`).
pub fn parse_upstream(raw: &str) -> Result<Url, ConfigError> {
    let bad = |reason: String| ConfigError::BadUpstream { url: redact_str(raw), reason };
    let mut url = Url::parse(raw.trim()).map_err(|e| bad(e.to_string()))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(bad(format!("scheme {} is not http or https", url.scheme())));
    }
    if url.host_str().is_none() {
        return Err(bad("no host".into()));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// Check and normalise one `--allow-file-host` entry: `HOST` or `HOST:PORT` (lower case;
/// IPv6 in brackets). Without a port, the scheme's default port is meant.
pub fn parse_file_host(raw: &str) -> Result<String, ConfigError> {
    let bad = |reason: &str| ConfigError::BadFileHost { value: raw.to_string(), reason: reason.to_string() };
    let raw = raw.trim();
    if raw.is_empty() || raw.contains(['/', '@', '?', '#']) || raw.contains("://") {
        return Err(bad("no scheme, path or credentials"));
    }
    let url = Url::parse(&format!("http://{raw}/")).map_err(|e| bad(&e.to_string()))?;
    let host = url.host_str().ok_or_else(|| bad("no host"))?;
    // `Url` drops an explicit :80 for http; keep what the user wrote.
    let port = match raw.rsplit_once(':') {
        Some((_, p)) if !raw.ends_with(']') => Some(p.parse::<u16>().map_err(|_| bad("bad port"))?),
        _ => None,
    };
    Ok(match port {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    })
}

/// A URL with any password (and token-like username) replaced by `****`, for logs and errors.
pub fn redact(url: &Url) -> String {
    let mut u = url.clone();
    if u.password().is_some() {
        let _ = u.set_password(Some("****"));
    } else if !u.username().is_empty() {
        // `https://TOKEN@host/` carries the secret in the username.
        let _ = u.set_username("****");
    }
    u.to_string()
}

/// [`redact`] for a string that may or may not parse as a URL.
pub(crate) fn redact_str(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(u) => redact(&u),
        Err(_) => match (raw.find("://"), raw.rfind('@')) {
            (Some(s), Some(at)) if at > s => format!("{}****{}", &raw[..s + 3], &raw[at..]),
            _ => raw.to_string(),
        },
    }
}

/// Tunables for the proxy core, with production defaults.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub upstream: Url,
    pub data_dir: PathBuf,
    /// How long an upstream index page is used before it is revalidated.
    pub page_ttl: Duration,
    /// Connect timeout to the upstream.
    pub connect_timeout: Duration,
    /// Longest silence while reading from the upstream.
    pub read_timeout: Duration,
    /// Largest artifact pipgate downloads.
    pub max_artifact_bytes: u64,
    /// Largest upstream index page pipgate reads (`--max-page-bytes`).
    pub max_page_bytes: u64,
    /// Largest upstream `.metadata` file pipgate reads (`--max-metadata-bytes`).
    pub max_metadata_bytes: u64,
    /// Total time for one upstream page or `.metadata` fetch, and the base of an
    /// artifact download's deadline (`--upstream-deadline`).
    pub upstream_deadline: Duration,
    /// Slowest average artifact transfer rate tolerated over `rate_window`, in bytes per
    /// second; an artifact's deadline also grows by its size at this rate (0: no rate check).
    pub min_transfer_rate: u64,
    /// The sliding window (and grace period) of the transfer-rate check.
    pub rate_window: Duration,
    /// Hosts (`HOST` or `HOST:PORT`) files may be fetched from besides the upstream's origin
    /// (`--allow-file-host`). Empty: hosts on the upstream's registrable domain.
    pub file_hosts: Vec<String>,
    /// Benchmark baseline only: verdicts are made on an empty report, nothing is scanned.
    pub dangerous_skip_scan: bool,
    /// Where shared state lives (default: SQLite in the data directory).
    pub database: Database,
    /// The URL clients reach pipgate at (`--public-url`), for absolute report links in
    /// block messages; `None`: links relative to the file URL (never the request's `Host`).
    pub public_url: Option<Url>,
    /// Pre-scan of the files a resolver is likely to pick when a page is fetched.
    pub prescan: PrescanConfig,
    /// This replica's name in the shared audit trail (`--replica-id`; default
    /// `<hostname>:<pid>`, see [`default_replica_id`]).
    pub replica: String,
    /// `--artifacts`: where verified artifacts are shared with other replicas (none: this
    /// data directory only).
    pub shared_artifacts: Option<crate::blobs::SharedArtifacts>,
    /// Bytes of small verified artifacts kept in memory for serving, in total
    /// (`--memory-cache-bytes`; 0: none).
    pub memory_cache_bytes: u64,
    /// Largest artifact kept in memory for serving (`--memory-cache-file-max`).
    pub memory_cache_file_max: u64,
}

/// The default replica name: the host's name (a container's or pod's name where there is
/// one) and the process id, so two replicas on one host differ.
pub fn default_replica_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "pipgate".into());
    format!("{host}:{}", std::process::id())
}

/// Pre-scan of page candidates (`--prescan`, `--prescan-versions`, …; see `prescan`).
#[derive(Debug, Clone, PartialEq)]
pub struct PrescanConfig {
    /// `--prescan on|off`.
    pub enabled: bool,
    /// How many of the newest allowed versions are pre-scanned (`--prescan-versions`).
    pub versions: usize,
    /// Which files of a version: glob patterns over a wheel's `python-abi-platform` tag
    /// (compressed tag sets are expanded), and `sdist` for the sdist. Earlier patterns
    /// are fetched first when the byte budget runs out (`--prescan-tags`).
    pub tags: Vec<String>,
    /// Background pre-scans (older versions) running at once, process-wide
    /// (`--prescan-concurrency`); the newest version's, which a page waits for, do not queue here.
    pub concurrency: usize,
    /// Upstream bytes one page may start pre-scans for, by the sizes the page gives
    /// (`--prescan-budget`).
    pub page_budget: u64,
    /// How long a page request waits for the pre-scans of its newest candidate before it
    /// is rendered with what is known (`--prescan-wait`; zero: never waits).
    pub wait: Duration,
    /// Pre-scan the wheels the asking client installs (its Python and platform, from the
    /// User-Agent pip and uv send) instead of [`PrescanConfig::tags`] when it says; on unless
    /// `--prescan-python` or `--prescan-tags` is given.
    pub follow_clients: bool,
    /// How long a background pre-scan defers to client requests before it starts anyway
    /// (`--prescan-yield`; zero: it never waits). It starts once no client request has been
    /// in flight for a quiet moment, is promoted, or has waited this long.
    pub yield_at_most: Duration,
}

/// The CPython versions whose wheels are pre-scanned by default: the newest three.
pub const PRESCAN_PYTHONS: [&str; 3] = ["3.13", "3.14", "3.15"];

impl PrescanConfig {
    /// The default tag patterns for these CPython versions (`3.13` …): pure wheels, the
    /// sdist, then x86-64 Linux, macOS and 64-bit Windows wheels (version-specific and abi3).
    pub fn default_tags(pythons: &[&str]) -> Vec<String> {
        PrescanConfig::tags_for(pythons, &["manylinux*_x86_64", "macosx_*", "win_amd64"])
    }

    /// The tag patterns for these CPython versions on these platform globs: pure wheels,
    /// the sdist, then version-specific, abi3 and `py3-none-<platform>` wheels.
    pub fn tags_for(pythons: &[&str], platforms: &[&str]) -> Vec<String> {
        let mut tags: Vec<String> = ["py3-none-any", "py2.py3-none-any", "sdist"].map(String::from).to_vec();
        for py in pythons {
            let cp = format!("cp{}", py.replace('.', ""));
            tags.extend(platforms.iter().map(|p| format!("{cp}-{cp}-{p}")));
        }
        tags.extend(platforms.iter().map(|p| format!("cp3*-abi3-{p}")));
        tags.extend(platforms.iter().map(|p| format!("py3-none-{p}")));
        tags
    }
}

impl PrescanConfig {
    /// Refuse settings that cannot work: a tag pattern that is not a glob, zero versions or
    /// zero concurrency while pre-scan is on.
    pub fn check(&self) -> Result<(), ConfigError> {
        let bad = |flag, value: String, reason: &str| ConfigError::BadPrescan { flag, value, reason: reason.into() };
        for t in &self.tags {
            if t != "sdist" {
                glob::Pattern::new(t).map_err(|e| bad("--prescan-tags", t.clone(), &e.to_string()))?;
            }
        }
        if self.enabled && self.versions == 0 {
            return Err(bad("--prescan-versions", "0".into(), "expected at least 1 (turn it off with --prescan off)"));
        }
        if self.enabled && self.concurrency == 0 {
            return Err(bad(
                "--prescan-concurrency",
                "0".into(),
                "expected at least 1 (turn it off with --prescan off)",
            ));
        }
        Ok(())
    }
}

impl Default for PrescanConfig {
    fn default() -> Self {
        PrescanConfig {
            enabled: true,
            versions: 2,
            tags: PrescanConfig::default_tags(&PRESCAN_PYTHONS),
            concurrency: 2,
            page_budget: 128 << 20,
            wait: Duration::from_millis(1500),
            follow_clients: true,
            yield_at_most: Duration::from_secs(10),
        }
    }
}

/// The state backend, from `--database` / `PIPGATE_DATABASE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// The embedded default: one SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL server shared by replicas.
    Postgres(PgUrl),
}

/// A PostgreSQL URL: the real one goes only to the connection pool; `Display` and `Debug`
/// show it with the password (in the user part or a `password=` parameter) as `****`.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl {
    real: String,
    shown: String,
}

impl PgUrl {
    pub fn new(raw: &str) -> PgUrl {
        let mut shown = redact_str(raw);
        if let Ok(mut u) = Url::parse(&shown) {
            if u.query_pairs().any(|(k, _)| k == "password") {
                let pairs: Vec<(String, String)> = u
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if k == "password" { "****".to_string() } else { v.into_owned() };
                        (k.into_owned(), v)
                    })
                    .collect();
                u.query_pairs_mut().clear().extend_pairs(pairs);
                shown = u.to_string();
            }
        }
        PgUrl { real: raw.to_string(), shown }
    }

    /// The URL with its credentials: for the driver only, never for a message.
    pub(crate) fn expose(&self) -> &str {
        &self.real
    }
}

impl std::fmt::Display for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgUrl({})", self.shown)
    }
}

impl Database {
    /// `postgres://…` / `postgresql://…`, `sqlite:PATH`, or a plain path (SQLite).
    pub fn parse(raw: &str) -> Result<Database, ConfigError> {
        let raw = raw.trim();
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Database::Postgres(PgUrl::new(raw)));
        }
        let path = raw.strip_prefix("sqlite://").or_else(|| raw.strip_prefix("sqlite:")).unwrap_or(raw);
        if path.is_empty() || raw.contains("://") && !raw.starts_with("sqlite:") {
            return Err(ConfigError::BadDatabase { value: redact_str(raw) });
        }
        Ok(Database::Sqlite(PathBuf::from(path)))
    }
}

impl ProxyConfig {
    pub fn new(upstream: Url, data_dir: PathBuf) -> Self {
        ProxyConfig {
            upstream,
            page_ttl: Duration::from_secs(600),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            max_artifact_bytes: 4 << 30,
            max_page_bytes: 64 << 20,
            max_metadata_bytes: 16 << 20,
            upstream_deadline: Duration::from_secs(60),
            min_transfer_rate: 32 << 10,
            rate_window: Duration::from_secs(30),
            file_hosts: Vec::new(),
            dangerous_skip_scan: false,
            database: Database::Sqlite(DataDir::new(&data_dir).db()),
            public_url: None,
            prescan: PrescanConfig::default(),
            replica: default_replica_id(),
            shared_artifacts: None,
            memory_cache_bytes: 64 << 20,
            memory_cache_file_max: 1 << 20,
            data_dir,
        }
    }
}

/// The on-disk layout of a data directory.
#[derive(Debug, Clone)]
pub(crate) struct DataDir {
    pub root: PathBuf,
}

impl DataDir {
    pub(crate) fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }
    /// Verified artifacts, content-addressed: `artifacts/ab/abcdef…`.
    /// Content-addressed: only ever built from a validated [`Sha256`](crate::model::Sha256).
    pub(crate) fn artifact(&self, sha256: &crate::model::Sha256) -> PathBuf {
        // Asked on every cache hit: one allocation, not one per component.
        let mut p = PathBuf::with_capacity(self.root.as_os_str().len() + "/artifacts/xx/".len() + 64 + 1);
        p.push(&self.root);
        p.push("artifacts");
        p.push(sha256.prefix());
        p.push(sha256.as_str());
        p
    }
    /// Core metadata extracted from a verified wheel.
    pub(crate) fn artifact_metadata(&self, sha256: &crate::model::Sha256) -> PathBuf {
        self.root.join("artifacts").join(sha256.prefix()).join(format!("{sha256}.metadata"))
    }
    /// The folder every verified artifact is under.
    pub(crate) fn artifacts(&self) -> PathBuf {
        self.root.join("artifacts")
    }
    pub(crate) fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }
    /// Where versions before the page database kept one JSON file per page (read, never written).
    pub(crate) fn pages(&self) -> PathBuf {
        self.root.join("pages")
    }
    /// Upstream pages with their ETag (see `store::LocalPages`).
    pub(crate) fn pages_db(&self) -> PathBuf {
        self.root.join("pages.sqlite3")
    }
    pub(crate) fn audit(&self) -> PathBuf {
        self.root.join("audit")
    }
    pub(crate) fn db(&self) -> PathBuf {
        self.root.join("pipgate.sqlite3")
    }
    pub(crate) fn create_all(&self) -> std::io::Result<()> {
        for d in [self.artifacts(), self.tmp(), self.audit()] {
            std::fs::create_dir_all(d)?;
        }
        Ok(())
    }
}

/// The default data directory: `pipgate-data/` beside the policy file.
pub fn default_data_dir(policy: &Path) -> PathBuf {
    let dir = policy.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    dir.join("pipgate-data")
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_urls_choose_the_backend() {
        use super::Database;
        let cases = [
            ("plain path", "state/p.sqlite3", Some(Database::Sqlite("state/p.sqlite3".into()))),
            ("sqlite scheme", "sqlite:/var/lib/p.db", Some(Database::Sqlite("/var/lib/p.db".into()))),
            (
                "postgres, credentials kept for the pool",
                "postgres://u:secret@db/p",
                Some(Database::Postgres(super::PgUrl::new("postgres://u:secret@db/p"))),
            ),
            ("unknown scheme", "mysql://db/p", None),
            ("empty", "", None),
        ];
        for (case, raw, want) in cases {
            assert_eq!(Database::parse(raw).ok(), want, "{case}");
        }
    }

    /// Each case: a URL, and how it is shown in messages and `Debug` (never the password).
    #[test]
    fn postgres_urls_are_shown_without_their_password() {
        let cases = [
            ("user and password", "postgres://u:secret@db/p", "postgres://u:****@db/p"),
            (
                "password parameter",
                "postgresql://db/p?user=u&password=secret&sslmode=require",
                "postgresql://db/p?user=u&password=****&sslmode=require",
            ),
            ("no credentials", "postgres://db:5433/p", "postgres://db:5433/p"),
        ];
        for (case, raw, shown) in cases {
            let Ok(super::Database::Postgres(url)) = super::Database::parse(raw) else {
                panic!("{case}: not postgres")
            };
            assert_eq!(url.to_string(), shown, "{case}");
            assert!(!format!("{url:?}").contains("secret"), "{case}: Debug shows the password");
            assert_eq!(url.expose(), raw, "{case}: the pool gets the real URL");
        }
    }

    use super::*;

    #[test]
    fn upstream_urls_are_normalised_and_checked() {
        let cases = [
            ("adds trailing slash", "https://index.example.org/simple", Some("https://index.example.org/simple/")),
            ("keeps slash", "http://127.0.0.1:8080/simple/", Some("http://127.0.0.1:8080/simple/")),
            ("drops query", "https://index.example.org/simple/?x=1", Some("https://index.example.org/simple/")),
            ("rejects ftp", "ftp://index.example.org/simple/", None),
            ("rejects garbage", "not a url", None),
        ];
        for (case, raw, want) in cases {
            let got = parse_upstream(raw).ok().map(|u| u.to_string());
            assert_eq!(got.as_deref(), want, "{case}");
        }
    }

    #[test]
    fn file_hosts_are_checked_and_normalised() {
        let cases = [
            ("host", "Files.Example.org", Some("files.example.org")),
            ("host and port", "127.0.0.1:8081", Some("127.0.0.1:8081")),
            ("default port kept", "files.example.org:80", Some("files.example.org:80")),
            ("ipv6 with port", "[::1]:8081", Some("[::1]:8081")),
            ("ipv6 without port", "[::1]", Some("[::1]")),
            ("scheme refused", "https://files.example.org", None),
            ("path refused", "files.example.org/x", None),
            ("credentials refused", "u:p@files.example.org", None),
            ("bad port", "files.example.org:http", None),
            ("empty", "", None),
        ];
        for (case, raw, want) in cases {
            assert_eq!(parse_file_host(raw).ok().as_deref(), want, "{case}");
        }
    }

    #[test]
    fn credentials_never_reach_logs() {
        let cases = [
            (
                "user and password",
                "https://alice:s3cret@index.example.org/simple/",
                "https://alice:****@index.example.org/simple/",
            ),
            ("token as user", "https://tok3n@index.example.org/simple/", "https://****@index.example.org/simple/"),
            ("no credentials", "https://index.example.org/simple/", "https://index.example.org/simple/"),
        ];
        for (case, raw, want) in cases {
            assert_eq!(redact_str(raw), want, "{case}");
            assert!(!redact_str(raw).contains("s3cret") && !redact_str(raw).contains("tok3n"), "{case}");
        }
        let err = parse_upstream("ftp://bob:hunter2@index.example.org/").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
