//! The `pipgate` command line: a thin layer over the library (flags → config → run).

use anyhow::Context;
use clap::{Parser, Subcommand};
use pipgate::{
    App, ArtifactFacts, Decision, Feed, Policy, ProxyConfig, ReportFormat, ScanReport, Scanner, Target, UpstreamSource,
};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "pipgate",
    version,
    about = "A Python package-index proxy that scans every artifact inline and applies your policy"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the proxy. Point pip/uv at http://LISTEN/simple/.
    Serve(Box<ServeArgs>),
    /// Read the audit log.
    Audit(AuditArgs),
    /// Scan wheels/sdists (files, sha256s in the data dir, or PROJECT==VERSION via the upstream).
    Scan(ScanArgs),
    /// Check, explain and extend the policy.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// pipgate's certificate authority (HTTPS serving and HTTPS_PROXY interception).
    Ca {
        #[command(subcommand)]
        command: CaCommand,
    },
    /// Print a --proxy-users line for NAME (the password is read from stdin, hashed with argon2id).
    ProxyUser { name: String },
    /// Index client authentication: make tokens for `auth.users` in the policy.
    Auth {
        #[command(subcommand)]
        command: AuthCommand,
    },
    /// Scan the latest sdist and wheel of the N most downloaded projects through the upstream
    /// and write the prevalence baseline (resumable; the bytes are dropped after each scan).
    Baseline(BaselineArgs),
    /// Known-malware and vulnerability advisories (OSV), and the known-exploited list (KEV).
    Advisories {
        #[command(subcommand)]
        command: AdvisoriesCommand,
    },
}

#[derive(Subcommand)]
enum AdvisoriesCommand {
    /// Import OSV records (a directory of *.json or an OSV export zip) or a KEV catalogue
    /// (JSON) into the data directory; a running `pipgate serve` picks it up within seconds.
    Import {
        path: PathBuf,
        /// The source's name in the data directory (default: the file or folder name);
        /// importing under an existing name replaces that source.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        dir: DataDirArgs,
    },
    /// Fetch an OSV export zip (or KEV JSON) from a URL into the data directory, revalidating
    /// with ETag / If-Modified-Since. Never required: the built-in snapshot works offline.
    Update {
        /// The source URL.
        #[arg(long, env = "PIPGATE_ADVISORIES_URL")]
        url: String,
        /// The source's name in the data directory.
        #[arg(long, default_value = "osv-update")]
        name: String,
        #[command(flatten)]
        dir: DataDirArgs,
    },
    /// Sources, record counts and age.
    Status {
        #[command(flatten)]
        dir: DataDirArgs,
    },
}

/// Where the data directory is (the advisories commands need nothing else).
#[derive(clap::Args)]
struct DataDirArgs {
    /// The data directory `serve` uses (default: pipgate-data/ beside --policy).
    #[arg(long, env = "PIPGATE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Used only to find the default data directory.
    #[arg(long, default_value = "policy.yaml", env = "PIPGATE_POLICY")]
    policy: PathBuf,
}

impl DataDirArgs {
    fn resolve(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| pipgate::default_data_dir(&self.policy))
    }
}

#[derive(Subcommand)]
enum AuthCommand {
    /// Make a new random token for NAME: prints the token once and the `auth.users` entry
    /// (with only the token's hash) to paste into policy.yaml.
    AddUser {
        /// The user name (1 to 64 of A-Z a-z 0-9 . _ @ + -); it goes into every audit record.
        name: String,
    },
    /// Print the `sha256:…` hash of a token read from standard input (not from the command
    /// line, which shell history keeps).
    HashToken,
}

#[derive(Subcommand)]
enum CaCommand {
    /// Create the CA (key mode 0600); an existing one is kept unless --force.
    Init {
        #[command(flatten)]
        dir: CaDir,
        /// Replace an existing CA (clients that trust the old one will refuse pipgate).
        #[arg(long)]
        force: bool,
    },
    /// Write the system roots plus the pipgate CA, PEM: for clients that replace their
    /// whole trust store when given a file (uv's SSL_CERT_FILE, pip's --cert / PIP_CERT).
    Bundle {
        #[command(flatten)]
        dir: CaDir,
        /// Write here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(clap::Args, Clone)]
struct CaDir {
    /// The CA directory. Default: certs/ beside the policy file (not in the data directory:
    /// clients trust this CA, so it must outlive a cache wipe).
    #[arg(long = "dir", alias = "ca-dir", env = "PIPGATE_CA_DIR")]
    dir: Option<PathBuf>,
    /// Used only to find the default CA directory.
    #[arg(long, default_value = "policy.yaml", env = "PIPGATE_POLICY")]
    policy: PathBuf,
}

impl CaDir {
    fn resolve(&self) -> PathBuf {
        default_ca_dir(self.dir.as_deref(), &self.policy)
    }
}

/// `--ca-dir`, else `certs/` beside the policy file.
fn default_ca_dir(dir: Option<&std::path::Path>, policy: &std::path::Path) -> PathBuf {
    dir.map(PathBuf::from).unwrap_or_else(|| match policy.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.join("certs"),
        _ => PathBuf::from("certs"),
    })
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate a policy file: exit 0 valid, 1 invalid; lists expired and expiring acceptances.
    Check {
        /// Default: policy.yaml (or PIPGATE_POLICY).
        file: Option<PathBuf>,
    },
    /// Print the verdict for an artifact and every rule and acceptance behind it.
    Explain {
        /// A file, a sha256 pipgate holds, or PROJECT==VERSION.
        target: String,
        #[command(flatten)]
        common: Common,
    },
    /// Print a ready-to-paste acceptance for an artifact's findings (to add to policy.yaml).
    Accept {
        /// A file, a sha256 pipgate holds (the one a block message names), or PROJECT==VERSION.
        target: String,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(clap::Args)]
struct ScanArgs {
    /// Files, sha256s, or PROJECT==VERSION.
    #[arg(required = true)]
    targets: Vec<String>,
    /// text, json (the versioned report contract, docs/scan-report.md), sarif (2.1.0) or
    /// html (the report page `/reports/<sha256>` shows browsers, with the acceptance to paste).
    #[arg(long, default_value = "text")]
    format: String,
    /// Write to this file instead of standard output (html with several artifacts: a
    /// directory, one `<filename>.html` per artifact).
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

#[derive(clap::Args)]
struct BaselineArgs {
    /// How many of the most downloaded projects (the first N of the list).
    #[arg(long, default_value_t = 1000)]
    top: u64,
    /// The baseline file to write; its state file (`*.state.jsonl`, what a rerun skips) is beside it.
    #[arg(long, default_value = "data/baseline.json")]
    out: PathBuf,
    /// `rank<TAB>name` lines (default: the embedded data/top-pypi-packages.tsv).
    #[arg(long)]
    projects: Option<PathBuf>,
    /// Projects fetched and scanned at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Skip artifacts larger than this many bytes (by the page's size or the download).
    #[arg(long, default_value_t = 256 << 20)]
    max_artifact_bytes: u64,
    /// Stop starting new projects after this long (e.g. `40m`); what finished is written,
    /// and a rerun continues.
    #[arg(long, value_parser = duration)]
    stop_after: Option<std::time::Duration>,
    #[command(flatten)]
    common: Common,
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
struct AuditArgs {
    #[command(subcommand)]
    command: Option<AuditCommand>,
    /// The data directory `serve` uses (default: pipgate-data/ beside --policy).
    #[arg(long, env = "PIPGATE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Used only to find the default data directory.
    #[arg(long, default_value = "policy.yaml", env = "PIPGATE_POLICY")]
    policy: PathBuf,
    /// Only blocked installs.
    #[arg(long)]
    blocked: bool,
    /// RFC 3339 time, YYYY-MM-DD, or an age such as 24h or 7d.
    #[arg(long)]
    since: Option<String>,
    /// Only this project (any spelling; it is normalised).
    #[arg(long)]
    project: Option<String>,
    /// Only requests made by this authenticated user (exact name).
    #[arg(long)]
    user: Option<String>,
    /// The database `serve --database` uses. A `postgres://…` URL reads the audit trail
    /// replicas share (every replica's decisions, in one order, each with its replica);
    /// otherwise the JSON-lines log in the data directory is read.
    #[arg(long, env = "PIPGATE_DATABASE", hide_env_values = true)]
    database: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: AuditFormat,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Which clients downloaded a file whose verdict has since turned to block.
    Exposed(ExposedArgs),
}

#[derive(clap::Args)]
struct ExposedArgs {
    /// The data directory `serve` uses (default: pipgate-data/ beside --policy).
    #[arg(long, env = "PIPGATE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Used only to find the default data directory.
    #[arg(long, default_value = "policy.yaml", env = "PIPGATE_POLICY")]
    policy: PathBuf,
    /// The database `serve --database` uses: a SQLite file (default: pipgate.sqlite3 in the
    /// data directory) or `postgres://…`.
    #[arg(long, env = "PIPGATE_DATABASE", hide_env_values = true)]
    database: Option<String>,
    /// Downloads at or after: RFC 3339 time, YYYY-MM-DD, or an age such as 24h or 7d.
    #[arg(long)]
    since: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: AuditFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum AuditFormat {
    Json,
    Table,
}

/// Options every command that reaches the proxy's state shares.
#[derive(clap::Args, Clone)]
struct Common {
    /// The policy file.
    #[arg(long, default_value = "policy.yaml", env = "PIPGATE_POLICY")]
    policy: PathBuf,
    /// Where the cache, scan results and audit log live (default: pipgate-data/ beside the policy).
    #[arg(long, env = "PIPGATE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Upstream simple index URL (credentials allowed; they are redacted in logs).
    #[arg(long, env = "PIPGATE_UPSTREAM")]
    upstream: Option<String>,
    /// Python interpreter asked for pip's index when no upstream is configured.
    #[arg(long, default_value = "python3", env = "PIPGATE_PYTHON")]
    python: String,
}

#[derive(clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    common: Common,
    /// Address to listen on (port 0: any free port; the bound address is printed).
    /// Default: `listen:` in the policy, else 127.0.0.1:3141.
    #[arg(long, env = "PIPGATE_LISTEN")]
    listen: Option<String>,
    /// Seconds an upstream index page is used before it is revalidated.
    #[arg(long, default_value_t = 600)]
    page_ttl: u64,
    /// Where shared state lives: a SQLite file path (default: pipgate.sqlite3 in the data
    /// directory) or `postgres://…` (replicas share it; see "Replicas on PostgreSQL").
    #[arg(long, env = "PIPGATE_DATABASE", hide_env_values = true)]
    database: Option<String>,
    /// This replica's name in the shared audit trail (default: HOSTNAME:PID).
    #[arg(long, env = "PIPGATE_REPLICA_ID")]
    replica_id: Option<String>,
    /// Share verified artifacts with other replicas: `s3://BUCKET[/PREFIX]` (S3-compatible
    /// object storage; credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the
    /// other usual AWS_* variables) or a directory every replica mounts. Unset: this data
    /// directory only (README, "Shared artifacts").
    #[arg(long, value_name = "s3://BUCKET[/PREFIX]|DIR", env = "PIPGATE_ARTIFACTS")]
    artifacts: Option<String>,
    /// The S3 endpoint for `--artifacts s3://…` (default: AWS_ENDPOINT_URL, else the
    /// provider's endpoint for the region).
    #[arg(long, env = "PIPGATE_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
    /// The S3 region for `--artifacts s3://…` (default: AWS_REGION / AWS_DEFAULT_REGION).
    #[arg(long, env = "PIPGATE_S3_REGION")]
    s3_region: Option<String>,
    /// Allow a plain-HTTP --s3-endpoint: artifacts and signed requests cross the network in
    /// clear (a test server on this machine only).
    #[arg(long)]
    dangerous_s3_allow_http: bool,
    /// Largest upstream index page read, in bytes (larger: 502 naming this limit).
    #[arg(long, default_value_t = 64 << 20, env = "PIPGATE_MAX_PAGE_BYTES")]
    max_page_bytes: u64,
    /// Largest upstream `.metadata` read, in bytes (larger: 502 naming this limit).
    #[arg(long, default_value_t = 16 << 20, env = "PIPGATE_MAX_METADATA_BYTES")]
    max_metadata_bytes: u64,
    /// Bytes of small verified artifacts kept in memory and served from there, in total
    /// (least used go first; 0: serve every file from disk).
    #[arg(long, default_value_t = 64 << 20, env = "PIPGATE_MEMORY_CACHE_BYTES")]
    memory_cache_bytes: u64,
    /// Largest artifact kept in memory, in bytes (larger files are streamed from disk).
    #[arg(long, default_value_t = 1 << 20, env = "PIPGATE_MEMORY_CACHE_FILE_MAX")]
    memory_cache_file_max: u64,
    /// Total time for an upstream page or `.metadata` fetch, and the base of an artifact
    /// download's deadline (which adds the size at --upstream-min-rate), e.g. `60s`, `2m`.
    #[arg(long, default_value = "60s", value_parser = duration, env = "PIPGATE_UPSTREAM_DEADLINE")]
    upstream_deadline: std::time::Duration,
    /// Slowest artifact download tolerated, in KiB/s averaged over --upstream-rate-window
    /// (0: no rate check).
    #[arg(long, default_value_t = 32, env = "PIPGATE_UPSTREAM_MIN_RATE")]
    upstream_min_rate: u64,
    /// Window (and grace period) of the --upstream-min-rate check, e.g. `30s`.
    #[arg(long, default_value = "30s", value_parser = duration, env = "PIPGATE_UPSTREAM_RATE_WINDOW")]
    upstream_rate_window: std::time::Duration,
    /// A host (HOST or HOST:PORT) files may be fetched from besides the upstream's origin;
    /// repeatable. Default: https hosts on the upstream host's registrable domain.
    #[arg(long = "allow-file-host", value_name = "HOST[:PORT]", env = "PIPGATE_FILE_HOSTS", value_delimiter = ',')]
    allow_file_host: Vec<String>,
    /// Serve artifacts WITHOUT scanning them (benchmark baseline only; never in production).
    #[arg(long)]
    dangerous_skip_scan: bool,
    /// The URL clients reach pipgate at (e.g. https://pipgate.example.org/), used for report
    /// links in block messages. Unset: links relative to the file URL (never the Host header).
    #[arg(long, env = "PIPGATE_PUBLIC_URL")]
    public_url: Option<String>,
    /// Seconds a client has to send a request's headers (slowloris); also the longest wait
    /// for the next request on a keep-alive connection.
    #[arg(long, default_value_t = 15)]
    header_timeout: u64,
    /// Seconds a connection with no request in progress and no bytes moving stays open.
    #[arg(long, default_value_t = 60)]
    idle_timeout: u64,
    /// Connections open at once; beyond it, new ones get a 503 and are closed.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Connections open at once from one client IP address; beyond it, the same 503.
    #[arg(long, default_value_t = 128)]
    max_connections_per_client: usize,
    /// pipgate's CA (for HTTPS_PROXY interception and --tls). Default: certs/ beside the
    /// policy file; without a CA there, CONNECTs to the index are refused.
    #[arg(long, env = "PIPGATE_CA_DIR")]
    ca_dir: Option<PathBuf>,
    /// Serve HTTPS (HTTP/1.1 and h2) instead of plain HTTP: with --tls-cert/--tls-key, else
    /// a leaf from the CA for the listen address, localhost, this host's name and --tls-name.
    #[arg(long, env = "PIPGATE_TLS")]
    tls: bool,
    /// A PEM certificate chain for --tls (bring your own; needs --tls-key).
    #[arg(long, requires = "tls_key", env = "PIPGATE_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert", env = "PIPGATE_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// An extra name (DNS name or IP) for the generated --tls certificate; repeatable.
    #[arg(long = "tls-name", value_delimiter = ',', env = "PIPGATE_TLS_NAMES")]
    tls_names: Vec<String>,
    /// As a forward proxy, what to do with hosts other than the index and its file hosts:
    /// tunnel them untouched, or refuse them (403). Every decision is logged.
    #[arg(long, value_enum, default_value = "tunnel", env = "PIPGATE_OTHER_HOSTS")]
    other_hosts: OtherHostsArg,
    /// Require proxy authentication (407): a file of NAME:$argon2id$… lines (`pipgate proxy-user NAME`).
    #[arg(long, env = "PIPGATE_PROXY_USERS")]
    proxy_users: Option<PathBuf>,
    /// POST a JSON payload (docs/lookback.md) here when a file's verdict turns to block.
    #[arg(long, env = "PIPGATE_WEBHOOK")]
    webhook: Option<String>,
    /// Deadline of each webhook attempt, e.g. `5s`.
    #[arg(long, default_value = "5s", value_parser = duration, env = "PIPGATE_WEBHOOK_TIMEOUT")]
    webhook_timeout: std::time::Duration,
    /// Attempts per webhook payload (1 s, 2 s, 4 s … apart); failures are logged, never in the way of serving.
    #[arg(long, default_value_t = 4, env = "PIPGATE_WEBHOOK_ATTEMPTS")]
    webhook_attempts: u32,
    /// Refresh advisories from this URL (an OSV export zip or a KEV JSON) at start and every
    /// --advisories-refresh, revalidating with ETag / If-Modified-Since; `NAME=URL` names the
    /// source in the data directory (default osv-update, osv-update-2, …). Repeatable.
    /// Failures are logged and never hold up start-up or serving.
    #[arg(long = "advisories-url", value_name = "[NAME=]URL", env = "PIPGATE_ADVISORIES_URL", value_delimiter = ',')]
    advisories_url: Vec<String>,
    /// How often the --advisories-url sources are revalidated, e.g. `6h`, `30m`.
    #[arg(long, default_value = "6h", value_parser = duration, env = "PIPGATE_ADVISORIES_REFRESH")]
    advisories_refresh: std::time::Duration,
    /// Pre-scan: when a project page is fetched, download and scan in the background the
    /// files a resolver is likely to pick, so a blocked newest version is hidden before the
    /// first client asks for it (README, "Pre-scan").
    #[arg(long, value_enum, default_value = "on", env = "PIPGATE_PRESCAN")]
    prescan: OnOff,
    /// How many of the newest allowed versions are pre-scanned (no pre-releases, yanked or held).
    #[arg(long, default_value_t = 2, env = "PIPGATE_PRESCAN_VERSIONS")]
    prescan_versions: usize,
    /// CPython versions whose wheels the default tag patterns pre-scan. Default: the asking
    /// client's Python and platform (from pip's and uv's User-Agent), else the newest three.
    #[arg(long = "prescan-python", value_delimiter = ',', env = "PIPGATE_PRESCAN_PYTHONS")]
    prescan_pythons: Vec<String>,
    /// Which files of a version are pre-scanned, in order: globs over a wheel's
    /// `python-abi-platform` tag (e.g. `py3-none-any`, `cp313-cp313-manylinux*_x86_64`) and
    /// `sdist`. Replaces the defaults (pure wheels, sdist, x86-64 Linux, macOS, win_amd64).
    #[arg(long, value_delimiter = ',', env = "PIPGATE_PRESCAN_TAGS")]
    prescan_tags: Vec<String>,
    /// Background pre-scans (versions older than the newest) running at once (a pool of
    /// their own: client requests and the newest version's pre-scans, which a page waits
    /// for, never wait for it).
    #[arg(long, default_value_t = 2, env = "PIPGATE_PRESCAN_CONCURRENCY")]
    prescan_concurrency: usize,
    /// Upstream MiB one page may start pre-scans for (by the sizes the page gives).
    #[arg(long, default_value_t = 128, env = "PIPGATE_PRESCAN_BUDGET_MIB")]
    prescan_budget_mib: u64,
    /// How long a page request waits for the pre-scans of the newest version before it is
    /// listed with what is known, e.g. `1500ms`; `0`: never waits.
    #[arg(long, default_value = "1500ms", value_parser = duration_or_zero, env = "PIPGATE_PRESCAN_WAIT")]
    prescan_wait: std::time::Duration,
    /// How long a background pre-scan defers to client requests before it starts anyway,
    /// e.g. `10s`: it starts once no client request has been in flight for a moment (so a
    /// resolver's requests are not slowed by scans of versions it may never ask for), when
    /// a page comes to wait for it, or after this long. `0`: never defers.
    #[arg(long, default_value = "10s", value_parser = duration_or_zero, env = "PIPGATE_PRESCAN_YIELD")]
    prescan_yield: std::time::Duration,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OnOff {
    On,
    Off,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum OtherHostsArg {
    Tunnel,
    Refuse,
}

/// `--public-url`: an absolute http(s) URL, pipgate's root (a trailing `simple/` is dropped).
fn public_url(raw: &str) -> anyhow::Result<url::Url> {
    let mut url = url::Url::parse(raw.trim()).with_context(|| format!("--public-url {raw:?}"))?;
    anyhow::ensure!(
        matches!(url.scheme(), "http" | "https") && url.host_str().is_some(),
        "--public-url {raw:?}: expected an http(s) URL such as https://pipgate.example.org/"
    );
    let path = url.path().trim_end_matches('/').trim_end_matches("/simple").trim_end_matches('/').to_string();
    url.set_path(&format!("{path}/"));
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// `--webhook`: an absolute http(s) URL.
fn webhook_url(raw: &str) -> anyhow::Result<url::Url> {
    let url = url::Url::parse(raw.trim()).with_context(|| format!("--webhook {raw:?}"))?;
    anyhow::ensure!(
        matches!(url.scheme(), "http" | "https") && url.host_str().is_some(),
        "--webhook {raw:?}: expected an http(s) URL such as https://hooks.example.org/pipgate"
    );
    Ok(url)
}

/// Logs go to stderr: text (coloured only on a terminal, and never with `NO_COLOR`), or one
/// JSON object per line with `PIPGATE_LOG_FORMAT=json` for log shippers.
/// `batched` (`serve`): lines go to `tracing-appender`'s writer thread, which writes what
/// has queued up through one buffer, flushed once the queue is drained (one `write` per
/// request was a tenth of a cached artifact's cost, bench/load.sh; a hand-written batching
/// sink measured 12% more CPU per request than this, so it was dropped); none is dropped (a
/// full queue makes the logging request wait), and the guard returned writes what is queued
/// when dropped, so hold it until the command ends.
fn init_logs(batched: bool) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use std::io::IsTerminal;
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    let filter = tracing_subscriber::EnvFilter::try_from_env("PIPGATE_LOG").unwrap_or_else(|_| "pipgate=info".into());
    let format = std::env::var("PIPGATE_LOG_FORMAT").unwrap_or_default();
    let (writer, guard) = if batched {
        let (w, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(false)
            // Bounded in lines (a few MiB queued at most): a lagging stderr makes the logging
            // request wait rather than grow the heap (with the crate's default, 128k lines,
            // `bench/load.sh` on a loaded machine peaked at 189 MiB RSS; with this, 168 MiB).
            .buffered_lines_limit(16_384)
            .thread_name("pipgate-log")
            .finish(std::io::BufWriter::with_capacity(64 << 10, std::io::stderr()));
        (BoxMakeWriter::new(w), Some(guard))
    } else {
        (BoxMakeWriter::new(std::io::stderr), None)
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    match format.trim().to_ascii_lowercase().as_str() {
        "json" => builder.json().flatten_event(true).with_current_span(false).with_span_list(false).init(),
        "" | "text" => {
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            builder.with_ansi(colour).init();
        }
        other => {
            eprintln!("pipgate: PIPGATE_LOG_FORMAT={other:?}: expected text or json");
            std::process::exit(2);
        }
    }
    guard
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Held until the command returns: queued log lines are written before the process ends.
    let _logs = init_logs(matches!(cli.command, Command::Serve(_)));
    match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Audit(args) => audit(args),
        Command::Scan(args) => exit(scan(args)),
        Command::Policy { command } => exit(policy_command(command)),
        Command::Ca { command } => exit(ca_command(command)),
        Command::ProxyUser { name } => exit(proxy_user(&name)),
        Command::Auth { command } => exit(auth_command(command)),
        Command::Advisories { command } => exit(advisories(command)),
        Command::Baseline(args) => exit(baseline(args)),
    }
}

/// `pipgate baseline`: a progress bar on a terminal, a summary at the end.
fn baseline(args: BaselineArgs) -> anyhow::Result<i32> {
    use std::io::IsTerminal;
    let (policy, mut cfg) = load(&args.common)?;
    cfg.max_artifact_bytes = args.max_artifact_bytes;
    let opts = pipgate::BaselineOptions {
        top: args.top,
        projects: args.projects.clone(),
        out: args.out.clone(),
        concurrency: args.concurrency,
        max_artifact_bytes: args.max_artifact_bytes,
        stop_after: args.stop_after,
    };
    let date = time::OffsetDateTime::now_utc().date().to_string();
    let bar =
        if std::io::stderr().is_terminal() { indicatif::ProgressBar::new(0) } else { indicatif::ProgressBar::hidden() };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} projects, eta {eta} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let summary = runtime()?.block_on(async {
        // One thread per artifact: the run already scans --concurrency artifacts at once.
        let scanner = Scanner::new(policy.settings.scan_limits.clone()).with_threads(1);
        let app = App::new(cfg, policy, scanner)?;
        let done = |project: &str| {
            bar.inc(1);
            bar.set_message(project.to_string());
        };
        pipgate::run_baseline(app, &opts, &date, |n| bar.set_length(n), done).await.map_err(anyhow::Error::from)
    })?;
    bar.finish_and_clear();
    let s = summary;
    println!(
        "baseline: {} projects in the top {} ({} done by an earlier run), {} with at least one artifact scanned; \
         this run: {} artifacts, {} failures, {:.1} MiB in {:.0}s{}",
        s.projects,
        args.top,
        s.resumed,
        s.scanned_projects,
        s.artifacts,
        s.failures,
        s.bytes as f64 / (1u64 << 20) as f64,
        s.elapsed.as_secs_f64(),
        if s.not_started > 0 { format!("; {} not started (--stop-after)", s.not_started) } else { String::new() }
    );
    println!("wrote {} (state: {})", args.out.display(), pipgate::baseline_state_path(&args.out).display());
    Ok(0)
}

fn advisories(cmd: AdvisoriesCommand) -> anyhow::Result<i32> {
    match cmd {
        AdvisoriesCommand::Import { path, name, dir } => {
            let line = pipgate::import_advisories(&dir.resolve(), &path, name.as_deref());
            println!("{}", line.map_err(anyhow::Error::msg)?);
        }
        AdvisoriesCommand::Update { url, name, dir } => {
            let line = runtime()?.block_on(pipgate::update_advisories(&dir.resolve(), &url, &name));
            println!("{}", line.map_err(anyhow::Error::msg)?);
        }
        AdvisoriesCommand::Status { dir } => {
            let feed = pipgate::OsvFeed::open(Some(&dir.resolve()));
            print!("{}", feed.status_text(time::OffsetDateTime::now_utc()));
        }
    }
    Ok(0)
}

/// The advisories feed for a data directory (built-in snapshot plus imports), timed.
fn advisory_feed(data_dir: &std::path::Path) -> Arc<pipgate::OsvFeed> {
    let started = std::time::Instant::now();
    let feed = Arc::new(pipgate::OsvFeed::open(Some(data_dir)));
    tracing::info!(
        records = feed.record_count(),
        ms = started.elapsed().as_millis() as u64,
        "advisories loaded (built-in data: {})",
        pipgate::ADVISORY_ATTRIBUTION
    );
    feed
}

/// The policy and the proxy configuration (upstream resolved and logged) for `common`.
/// The local pip is consulted only when nothing else names the upstream, and for the
/// public index's file host only when the upstream could be pip's public index.
fn load(common: &Common) -> anyhow::Result<(Policy, ProxyConfig)> {
    let policy = load_policy(&common.policy)?;
    let data_dir = common.data_dir.clone().unwrap_or_else(|| pipgate::default_data_dir(&common.policy));
    let pip = pipgate::PipIndex::new(&common.python, Some(&data_dir));
    let (upstream, source) = match (&common.upstream, &policy.settings.upstream) {
        (Some(u), _) => (pipgate::parse_upstream(u)?, UpstreamSource::Flag),
        (None, Some(u)) => (pipgate::parse_upstream(u)?, UpstreamSource::Policy(common.policy.clone())),
        (None, None) => {
            let (url, how) = pip.upstream()?;
            (url, UpstreamSource::Pip(how))
        }
    };
    tracing::info!(upstream = %pipgate::redact(&upstream), source = %source, "upstream index chosen");
    let mut cfg = ProxyConfig::new(upstream, data_dir);
    if let Some(host) = pip.public_file_host(&cfg.upstream) {
        tracing::info!(host = %host, "the upstream is pip's public index: its file host (as pip knows it) is allowed");
        cfg.file_hosts.push(host);
    }
    Ok((policy, cfg))
}

/// The policy file, its warnings logged.
fn load_policy(path: &std::path::Path) -> anyhow::Result<Policy> {
    let policy = Policy::load(path).with_context(|| format!("loading policy {}", path.display()))?;
    for w in &policy.warnings {
        tracing::warn!(policy = %path.display(), "{w}");
    }
    Ok(policy)
}

/// [`duration`], or a bare `0`.
fn duration_or_zero(raw: &str) -> Result<std::time::Duration, String> {
    match raw.trim() {
        "0" => Ok(std::time::Duration::ZERO),
        _ => duration(raw),
    }
}

/// A duration flag: humantime (`60s`, `2m`, `1h 30m`, `500ms`).
fn duration(raw: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(raw.trim()).map_err(|e| format!("{raw:?}: {e} (e.g. 60s, 2m, 500ms)"))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let (policy, mut cfg) = load(&args.common)?;
    cfg.page_ttl = std::time::Duration::from_secs(args.page_ttl);
    cfg.max_page_bytes = args.max_page_bytes;
    cfg.max_metadata_bytes = args.max_metadata_bytes;
    cfg.memory_cache_bytes = args.memory_cache_bytes;
    cfg.memory_cache_file_max = args.memory_cache_file_max;
    cfg.upstream_deadline = args.upstream_deadline;
    cfg.min_transfer_rate = args.upstream_min_rate.saturating_mul(1024);
    cfg.rate_window = args.upstream_rate_window;
    for h in &args.allow_file_host {
        cfg.file_hosts.push(pipgate::parse_file_host(h)?);
    }
    if !cfg.file_hosts.is_empty() {
        tracing::info!(hosts = %cfg.file_hosts.join(", "), "files may also come from these hosts");
    }
    if let Some(db) = &args.database {
        cfg.database = pipgate::Database::parse(db)?;
    }
    if let Some(id) = args.replica_id.as_deref().map(str::trim).filter(|id| !id.is_empty()) {
        cfg.replica = id.to_string();
    }
    if let Some(raw) = &args.artifacts {
        let shared = pipgate::SharedArtifacts::parse(
            raw,
            args.s3_endpoint.as_deref(),
            args.s3_region.as_deref(),
            args.dangerous_s3_allow_http,
        )?;
        if args.dangerous_s3_allow_http {
            tracing::warn!("--dangerous-s3-allow-http: ARTIFACTS MAY CROSS THE NETWORK TO THE S3 ENDPOINT IN CLEAR");
        }
        cfg.shared_artifacts = Some(shared);
    }
    let s3_only = args.s3_endpoint.is_some() || args.s3_region.is_some() || args.dangerous_s3_allow_http;
    anyhow::ensure!(
        !s3_only || matches!(cfg.shared_artifacts, Some(pipgate::SharedArtifacts::S3(_))),
        "--s3-endpoint, --s3-region and --dangerous-s3-allow-http apply to --artifacts s3://BUCKET[/PREFIX] only"
    );
    cfg.public_url = args.public_url.as_deref().map(public_url).transpose()?;
    cfg.prescan = prescan_config(&args);
    cfg.prescan.check()?;
    let limits = pipgate::ServeLimits {
        header_timeout: std::time::Duration::from_secs(args.header_timeout.max(1)),
        idle_timeout: std::time::Duration::from_secs(args.idle_timeout.max(1)),
        max_connections: args.max_connections,
        max_connections_per_client: args.max_connections_per_client,
    };
    let listen = args.listen.clone().or(policy.settings.listen.clone()).unwrap_or_else(|| "127.0.0.1:3141".into());
    let scanner = Scanner::new(policy.settings.scan_limits.clone());
    let front = front_end(&args, &listen, cfg.public_url.as_ref())?;
    if args.dangerous_skip_scan {
        tracing::warn!("--dangerous-skip-scan: ARTIFACTS ARE SERVED WITHOUT BEING SCANNED");
        cfg.dangerous_skip_scan = true;
    }
    let data_dir = std::path::absolute(&cfg.data_dir).unwrap_or_else(|_| cfg.data_dir.clone());
    tracing::info!(data_dir = %data_dir.display(), "data directory");
    let lookback = pipgate::LookbackConfig {
        webhook: args.webhook.as_deref().map(webhook_url).transpose()?,
        webhook_timeout: args.webhook_timeout,
        webhook_attempts: args.webhook_attempts.max(1),
        ..Default::default()
    };
    let advisory_sources = pipgate::parse_advisory_sources(&args.advisories_url)?;
    anyhow::ensure!(!args.advisories_refresh.is_zero(), "--advisories-refresh: expected a duration above zero");
    pipgate::log_policy_in_force(&policy, &args.common.policy);
    let feed = advisory_feed(&cfg.data_dir);
    runtime()?.block_on(async move {
        let enrich = pipgate::Enricher::new(vec![feed.clone()]);
        let app = App::with_enrichment(cfg.clone(), policy, scanner, enrich)?;
        pipgate::spawn_policy_reload(app.policy_slot(), args.common.policy.clone());
        pipgate::spawn_advisory_poll(feed);
        pipgate::spawn_advisory_refresh(cfg.data_dir.clone(), advisory_sources, args.advisories_refresh);
        pipgate::spawn_lookback(app.clone(), lookback);
        let listener = tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("binding {listen}"))?;
        let addr = listener.local_addr()?;
        let scheme = if front.tls.is_some() { "https" } else { "http" };
        if front.tls.is_none() {
            if let Some(why) = pipgate::access::plain_http_refusal(&app.policy_slot().load(), addr) {
                anyhow::bail!(why);
            }
        }
        if pipgate::access::required(&app.policy_slot().load()) {
            tracing::info!("index authentication is on: clients need USER:TOKEN (auth.users)");
        }
        println!(
            "pipgate listening on {scheme}://{addr}/simple/ (upstream {}, data {})",
            pipgate::redact(&cfg.upstream),
            data_dir.display()
        );
        std::io::stdout().flush()?;
        let stopping = app.clone();
        let shutdown = async move {
            shutdown_signal().await;
            stopping.stop_background();
        };
        pipgate::serve_front(listener, app, limits, front, shutdown).await;
        tracing::info!("pipgate stopped");
        anyhow::Ok(())
    })
}

/// The pre-scan settings from the flags.
fn prescan_config(args: &ServeArgs) -> pipgate::PrescanConfig {
    let pythons: Vec<&str> = match args.prescan_pythons.is_empty() {
        true => pipgate::PRESCAN_PYTHONS.to_vec(),
        false => args.prescan_pythons.iter().map(|p| p.trim()).collect(),
    };
    let tags = match args.prescan_tags.is_empty() {
        true => pipgate::PrescanConfig::default_tags(&pythons),
        false => args.prescan_tags.iter().map(|t| t.trim().to_string()).collect(),
    };
    if args.prescan == OnOff::Off {
        tracing::info!("pre-scan is off: a version is scanned when a client first asks for it");
    }
    pipgate::PrescanConfig {
        enabled: args.prescan == OnOff::On,
        versions: args.prescan_versions,
        tags,
        concurrency: args.prescan_concurrency,
        page_budget: args.prescan_budget_mib.saturating_mul(1 << 20),
        wait: args.prescan_wait,
        follow_clients: args.prescan_pythons.is_empty() && args.prescan_tags.is_empty(),
        yield_at_most: args.prescan_yield,
    }
}

/// The front end's TLS and forward-proxy options from the flags (the CA loaded if present).
fn front_end(args: &ServeArgs, listen: &str, public_url: Option<&url::Url>) -> anyhow::Result<pipgate::Front> {
    let ca_dir = default_ca_dir(args.ca_dir.as_deref(), &args.common.policy);
    let ca = match pipgate::Ca::load(&ca_dir) {
        Ok(ca) => {
            tracing::info!(ca_dir = %ca_dir.display(), "CA loaded: HTTPS_PROXY requests to the index are inspected");
            Some(Arc::new(ca))
        }
        Err(e) if args.ca_dir.is_some() || args.tls && args.tls_cert.is_none() => return Err(e.into()),
        Err(e) => {
            tracing::info!(reason = %e, "no CA: CONNECTs to the index will be refused (run `pipgate ca init` to inspect them)");
            None
        }
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(pipgate::ServerCert::from_files(cert, key)?),
        _ if args.tls => {
            let ca = ca.clone().context("--tls needs a CA (pipgate ca init) or --tls-cert/--tls-key")?;
            let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
            let host = listen.rsplit_once(':').map_or(listen, |(h, _)| h).trim_matches(['[', ']']);
            if !host.is_empty() && host != "0.0.0.0" && host != "::" {
                names.insert(0, host.to_string());
            }
            if let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
                names.push(h.trim().to_string());
            }
            names.extend(public_url.and_then(|u| u.host_str()).map(|h| h.trim_matches(['[', ']']).to_string()));
            names.extend(args.tls_names.iter().cloned());
            let cert = pipgate::ServerCert::minted(ca, names);
            cert.check()?;
            tracing::info!(names = %cert.names().join(", "), "HTTPS with a leaf from the pipgate CA");
            Some(cert)
        }
        _ => None,
    };
    let users = args.proxy_users.as_deref().map(pipgate::ProxyUsers::load).transpose()?.map(Arc::new);
    if let Some(u) = &users {
        tracing::info!(users = u.len(), "proxy authentication required (407 without valid credentials)");
    }
    let other_hosts = match args.other_hosts {
        OtherHostsArg::Tunnel => pipgate::OtherHosts::Tunnel,
        OtherHostsArg::Refuse => pipgate::OtherHosts::Refuse,
    };
    Ok(pipgate::Front { proxy: pipgate::ProxyOptions { ca, other_hosts, users }, tls })
}

fn ca_command(cmd: CaCommand) -> anyhow::Result<i32> {
    match cmd {
        CaCommand::Init { dir, force } => {
            let made = pipgate::init_ca(&dir.resolve(), force)?;
            println!("created {} ({}, valid until {})", made.cert.display(), made.subject, made.not_after);
            println!("private key {} (mode 0600: keep it there, never share it)", made.key.display());
            println!("next: `pipgate ca bundle --out pipgate-bundle.pem` for pip and uv (see the README)");
            Ok(0)
        }
        CaCommand::Bundle { dir, out } => {
            let dir = dir.resolve();
            let pem = std::fs::read_to_string(dir.join("ca.pem")).with_context(|| {
                format!(
                    "reading {} (create the CA with `pipgate ca init --dir {}`)",
                    dir.join("ca.pem").display(),
                    dir.display()
                )
            })?;
            let (bundle, roots) = pipgate::ca_bundle(&pem)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, bundle).with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("wrote {} ({roots} system roots + the pipgate CA)", path.display());
                }
                None => print!("{bundle}"),
            }
            Ok(0)
        }
    }
}

fn proxy_user(name: &str) -> anyhow::Result<i32> {
    let mut password = String::new();
    std::io::stdin().read_line(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(
        !password.is_empty(),
        "no password on stdin (e.g. `read -s pw; echo \"$pw\" | pipgate proxy-user {name}`)"
    );
    println!("{}", pipgate::proxy_user_line(name, password).map_err(anyhow::Error::msg)?);
    Ok(0)
}

/// Exit with the command's code: 0 clean/allowed, 1 blocked/invalid, 2 usage or read error.
fn exit(r: anyhow::Result<i32>) -> anyhow::Result<()> {
    match r {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("pipgate: {e:#}");
            std::process::exit(2)
        }
    }
}

/// Facts, scan reports and what the policy weighs (scan + enrichment + name verdict) for
/// targets; the upstream is only consulted when a target needs it.
type Scanned = Vec<(ArtifactFacts, Arc<ScanReport>, Vec<pipgate::Finding>)>;

fn gather(common: &Common, targets: &[String]) -> anyhow::Result<(Policy, Scanned)> {
    let parsed: Vec<Target> = targets.iter().map(|t| pipgate::parse_target(t)).collect();
    if parsed.iter().all(|t| matches!(t, Target::File(_))) {
        let policy =
            Policy::load(&common.policy).with_context(|| format!("loading policy {}", common.policy.display()))?;
        let scanner = Scanner::new(policy.settings.scan_limits.clone());
        let data_dir = common.data_dir.clone().unwrap_or_else(|| pipgate::default_data_dir(&common.policy));
        let feed = advisory_feed(&data_dir);
        let mut out = Vec::new();
        for t in &parsed {
            let Target::File(p) = t else { unreachable!() };
            let facts = pipgate::facts_for_file(p)?;
            let report = Arc::new(scanner.scan_file(&facts.path, &facts.filename));
            let facts = facts.with_licence(&report.licence);
            let mut all = report.findings.clone();
            all.extend(feed.findings(&facts));
            let found = pipgate::weigh_name(&facts, &all, time::OffsetDateTime::now_utc());
            out.push((facts, report, found));
        }
        return Ok((policy, out));
    }
    let (policy, cfg) = load(common)?;
    let feed = advisory_feed(&cfg.data_dir);
    runtime()?.block_on(async move {
        let enrich = pipgate::Enricher::new(vec![feed]);
        let app = App::with_enrichment(cfg, policy.clone(), Scanner::new(policy.settings.scan_limits.clone()), enrich)?;
        let mut out = Vec::new();
        for t in &parsed {
            for facts in pipgate::resolve_target(&app, t).await? {
                let report = app.scan_report(&facts).await.map_err(anyhow::Error::msg)?;
                let found = app.weighed_findings(&facts, &report).await;
                let mut facts = facts.with_licence(&report.licence);
                facts.new_in_version = app.new_in_version(&facts).await;
                facts.established = app.established(&facts).await;
                out.push((facts, report, found));
            }
        }
        Ok((policy, out))
    })
}

fn scan(args: ScanArgs) -> anyhow::Result<i32> {
    let format: ReportFormat = args.format.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let (policy, items) = gather(&args.common, &args.targets)?;
    let now = time::OffsetDateTime::now_utc();
    let verdicts: Vec<_> = items.iter().map(|(facts, _, found)| policy.evaluate(facts, found, now)).collect();
    // The report shows what the advisories said too (their findings name record, source and licence).
    let reports: Vec<ScanReport> = items
        .iter()
        .map(|(_, r, found)| {
            let mut r = (**r).clone();
            r.findings.extend(found.iter().filter(|f| pipgate::is_advisory_finding(f)).cloned());
            r
        })
        .collect();
    let text = match format {
        ReportFormat::Text => reports
            .iter()
            .zip(&verdicts)
            .map(|(report, verdict)| format!("{}\n", pipgate::render_report_text(report, Some(verdict))))
            .collect(),
        ReportFormat::Html => {
            let pages: Vec<(String, String)> = items
                .iter()
                .zip(&verdicts)
                .map(|((facts, report, found), verdict)| {
                    let acceptance = policy.acceptance_snippet(facts, found, now);
                    let page = pipgate::render_report_html(facts, report, verdict, found, &acceptance);
                    (format!("{}.html", facts.filename), page)
                })
                .collect();
            match (pages.len(), &args.output) {
                (0 | 1, _) => pages.into_iter().map(|(_, p)| p).collect(),
                (_, Some(dir)) => {
                    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
                    for (name, page) in pages {
                        let path = dir.join(name.replace(['/', '\\'], "_"));
                        std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
                        eprintln!("wrote {}", path.display());
                    }
                    return Ok(if verdicts.iter().any(|v| v.decision == Decision::Block) { 1 } else { 0 });
                }
                (n, None) => anyhow::bail!(
                    "--format html renders one page per artifact and the targets gave {n}: pass -o DIRECTORY"
                ),
            }
        }
        _ => format!("{}\n", pipgate::render_reports(&reports, format)),
    };
    match &args.output {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(if verdicts.iter().any(|v| v.decision == Decision::Block) { 1 } else { 0 })
}

fn policy_command(cmd: PolicyCommand) -> anyhow::Result<i32> {
    let now = time::OffsetDateTime::now_utc();
    match cmd {
        PolicyCommand::Check { file } => {
            let path = file
                .or_else(|| std::env::var_os("PIPGATE_POLICY").map(PathBuf::from))
                .unwrap_or_else(|| "policy.yaml".into());
            let (text, code) = pipgate::check_report(&path, now);
            print!("{text}");
            Ok(code)
        }
        PolicyCommand::Explain { target, common } => {
            let (policy, items) = gather(&common, &[target])?;
            let mut worst = 0;
            for (facts, _, found) in &items {
                print!("{}", policy.explain(facts, found, now));
                if policy.evaluate(facts, found, now).decision == Decision::Block {
                    worst = 1;
                }
            }
            Ok(worst)
        }
        PolicyCommand::Accept { target, common } => {
            let (policy, items) = gather(&common, &[target])?;
            for (facts, _, found) in &items {
                print!("{}", policy.acceptance_snippet(facts, found, now));
            }
            Ok(0)
        }
    }
}

fn auth_command(cmd: AuthCommand) -> anyhow::Result<i32> {
    match cmd {
        AuthCommand::AddUser { name } => {
            pipgate::access::check_user_name(&name).map_err(anyhow::Error::msg)?;
            let (token, hash) = pipgate::access::new_token().context("reading random bytes for the token")?;
            print!(
                "New token for {name} (shown once: pipgate keeps only its hash; give it to {name} privately):\n\n    {token}\n\n\
                 Add this entry under auth.users in policy.yaml (a running pipgate picks it up on reload):\n\n\
                 auth:\n  users:\n    - {{ name: {name}, token_hash: \"{hash}\" }}\n\n\
                 {name} then points pip or uv at pipgate with the credentials in the index URL, e.g.\n\n\
                 \x20   PIP_INDEX_URL=https://{name}:{token}@PIPGATE-HOST/simple/\n\
                 \x20   UV_DEFAULT_INDEX=https://{name}:{token}@PIPGATE-HOST/simple/\n\n\
                 or in ~/.netrc:  machine PIPGATE-HOST login {name} password {token}\n"
            );
            Ok(0)
        }
        AuthCommand::HashToken => {
            let mut token = String::new();
            std::io::stdin().read_line(&mut token).context("reading the token from standard input")?;
            let token = token.trim_end_matches(['\r', '\n']);
            anyhow::ensure!(!token.is_empty(), "no token on standard input");
            println!("{}", pipgate::access::hash_token(token));
            Ok(0)
        }
    }
}

fn audit(args: AuditArgs) -> anyhow::Result<()> {
    if let Some(AuditCommand::Exposed(args)) = args.command {
        return exposed(args);
    }
    let data_dir = args.data_dir.unwrap_or_else(|| pipgate::default_data_dir(&args.policy));
    let dir = pipgate::audit_dir(&data_dir);
    let now = time::OffsetDateTime::now_utc();
    let query = pipgate::AuditQuery {
        blocked_only: args.blocked,
        since: args.since.as_deref().map(|s| pipgate::parse_since(s, now)).transpose().map_err(anyhow::Error::msg)?,
        project: args.project.as_deref().map(pipgate::normalize_project_name),
        user: args.user.clone(),
    };
    if let Some(db) =
        args.database.as_deref().filter(|db| matches!(pipgate::Database::parse(db), Ok(pipgate::Database::Postgres(_))))
    {
        let entries = runtime()?.block_on(pipgate::read_audit_trail(db, &query)).map_err(anyhow::Error::msg)?;
        let mut out = std::io::stdout().lock();
        match args.format {
            AuditFormat::Json => {
                for e in &entries {
                    writeln!(out, "{}", pipgate::audit_trail_json(e))?;
                }
            }
            AuditFormat::Table => write!(out, "{}", pipgate::audit_trail_table(&entries))?,
        }
        return Ok(());
    }
    let records: Vec<_> = pipgate::read_audit(&dir)
        .with_context(|| format!("reading the audit log in {}", dir.display()))?
        .into_iter()
        .filter(|r| query.matches(r))
        .collect();
    let mut out = std::io::stdout().lock();
    match args.format {
        AuditFormat::Json => {
            for r in &records {
                writeln!(out, "{}", pipgate::audit_json(r))?;
            }
        }
        AuditFormat::Table => write!(out, "{}", pipgate::audit_table(&records))?,
    }
    Ok(())
}

/// `pipgate audit exposed`.
fn exposed(args: ExposedArgs) -> anyhow::Result<()> {
    let data_dir = args.data_dir.unwrap_or_else(|| pipgate::default_data_dir(&args.policy));
    let now = time::OffsetDateTime::now_utc();
    let since = args.since.as_deref().map(|s| pipgate::parse_since(s, now)).transpose().map_err(anyhow::Error::msg)?;
    let rows = runtime()?
        .block_on(pipgate::exposed_in(&data_dir, args.database.as_deref(), since))
        .map_err(anyhow::Error::msg)?;
    let mut out = std::io::stdout().lock();
    match args.format {
        AuditFormat::Json => {
            for r in &rows {
                writeln!(out, "{}", serde_json::to_string(r)?)?;
            }
        }
        AuditFormat::Table => write!(out, "{}", pipgate::render_exposures(&rows))?,
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("signal handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
