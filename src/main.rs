//! The `pipgate` command line: a thin layer over the library (flags → config → run).

use anyhow::Context;
use clap::{Parser, Subcommand};
use pipgate::{
    App, ArtifactFacts, Decision, Policy, ProxyConfig, ReportFormat, ScanReport, Scanner, Target, UpstreamSource,
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
    Serve(ServeArgs),
    /// Read the audit log.
    Audit(AuditArgs),
    /// Scan wheels/sdists (files, sha256s in the data dir, or PROJECT==VERSION via the upstream).
    Scan(ScanArgs),
    /// Check, explain and extend the policy.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
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
    /// text, json (the versioned report contract, docs/scan-report.md) or sarif (2.1.0).
    #[arg(long, default_value = "text")]
    format: String,
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
    /// The SQLite file `serve --database` uses (default: pipgate.sqlite3 in the data directory).
    #[arg(long, env = "PIPGATE_DATABASE")]
    database: Option<PathBuf>,
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
    /// directory) or `postgres://…` (replicas; not part of this build yet).
    #[arg(long, env = "PIPGATE_DATABASE")]
    database: Option<String>,
    /// Largest upstream index page read, in bytes (larger: 502 naming this limit).
    #[arg(long, default_value_t = 64 << 20, env = "PIPGATE_MAX_PAGE_BYTES")]
    max_page_bytes: u64,
    /// Largest upstream `.metadata` read, in bytes (larger: 502 naming this limit).
    #[arg(long, default_value_t = 16 << 20, env = "PIPGATE_MAX_METADATA_BYTES")]
    max_metadata_bytes: u64,
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
    /// POST a JSON payload (docs/lookback.md) here when a file's verdict turns to block.
    #[arg(long, env = "PIPGATE_WEBHOOK")]
    webhook: Option<String>,
    /// Deadline of each webhook attempt, e.g. `5s`.
    #[arg(long, default_value = "5s", value_parser = duration, env = "PIPGATE_WEBHOOK_TIMEOUT")]
    webhook_timeout: std::time::Duration,
    /// Attempts per webhook payload (1 s, 2 s, 4 s … apart); failures are logged, never in the way of serving.
    #[arg(long, default_value_t = 4, env = "PIPGATE_WEBHOOK_ATTEMPTS")]
    webhook_attempts: u32,
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
fn init_logs() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("PIPGATE_LOG").unwrap_or_else(|_| "pipgate=info".into());
    let format = std::env::var("PIPGATE_LOG_FORMAT").unwrap_or_default();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
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
}

fn main() -> anyhow::Result<()> {
    init_logs();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Audit(args) => audit(args),
        Command::Scan(args) => exit(scan(args)),
        Command::Policy { command } => exit(policy_command(command)),
    }
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
    cfg.public_url = args.public_url.as_deref().map(public_url).transpose()?;
    let limits = pipgate::ServeLimits {
        header_timeout: std::time::Duration::from_secs(args.header_timeout.max(1)),
        idle_timeout: std::time::Duration::from_secs(args.idle_timeout.max(1)),
        max_connections: args.max_connections,
        max_connections_per_client: args.max_connections_per_client,
    };
    let listen = args.listen.clone().or(policy.settings.listen.clone()).unwrap_or_else(|| "127.0.0.1:3141".into());
    let scanner = Scanner::new(policy.settings.scan_limits.clone());
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
    pipgate::log_policy_in_force(&policy, &args.common.policy);
    runtime()?.block_on(async move {
        let app = App::new(cfg.clone(), policy, scanner)?;
        pipgate::spawn_policy_reload(app.policy_slot(), args.common.policy.clone());
        pipgate::spawn_lookback(app.clone(), lookback);
        let listener = tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("binding {listen}"))?;
        let addr = listener.local_addr()?;
        println!(
            "pipgate listening on http://{addr}/simple/ (upstream {}, data {})",
            pipgate::redact(&cfg.upstream),
            data_dir.display()
        );
        std::io::stdout().flush()?;
        pipgate::serve(listener, app, limits, shutdown_signal()).await;
        tracing::info!("pipgate stopped");
        anyhow::Ok(())
    })
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
        let mut out = Vec::new();
        for t in &parsed {
            let Target::File(p) = t else { unreachable!() };
            let facts = pipgate::facts_for_file(p)?;
            let report = Arc::new(scanner.scan_file(&facts.path, &facts.filename));
            let found = pipgate::weigh_name(&facts, &report.findings, time::OffsetDateTime::now_utc());
            out.push((facts, report, found));
        }
        return Ok((policy, out));
    }
    let (policy, cfg) = load(common)?;
    runtime()?.block_on(async move {
        let app = App::new(cfg, policy.clone(), Scanner::new(policy.settings.scan_limits.clone()))?;
        let mut out = Vec::new();
        for t in &parsed {
            for facts in pipgate::resolve_target(&app, t).await? {
                let report = app.scan_report(&facts).await.map_err(anyhow::Error::msg)?;
                let found = app.weighed_findings(&facts, &report).await;
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
    let mut out = std::io::stdout().lock();
    match format {
        ReportFormat::Text => {
            for ((_, report, _), verdict) in items.iter().zip(&verdicts) {
                writeln!(out, "{}", pipgate::render_report_text(report, Some(verdict)))?;
            }
        }
        _ => {
            let reports: Vec<ScanReport> = items.iter().map(|(_, r, _)| (**r).clone()).collect();
            writeln!(out, "{}", pipgate::render_reports(&reports, format))?;
        }
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
    };
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
