//! The `pipgate` command line: a thin layer over the library (flags → config → run).

use anyhow::Context;
use clap::{Parser, Subcommand};
use pipgate::config::{self, ProxyConfig, UpstreamSource};
use pipgate::policy::Policy;
use pipgate::scan::{Limits, Scanner};
use pipgate::server::{self, App};
use std::io::Write;
use std::path::PathBuf;

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
}

#[derive(clap::Args)]
struct AuditArgs {
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

#[derive(Clone, Copy, clap::ValueEnum)]
enum AuditFormat {
    Json,
    Table,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on (use port 0 for any free port; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:3141", env = "PIPGATE_LISTEN")]
    listen: String,
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
    /// Seconds an upstream index page is used before it is revalidated.
    #[arg(long, default_value_t = 600)]
    page_ttl: u64,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PIPGATE_LOG").unwrap_or_else(|_| "pipgate=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Audit(args) => audit(args),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let policy = Policy::load(&args.policy).with_context(|| format!("loading policy {}", args.policy.display()))?;
    let (upstream, source) = match (&args.upstream, &policy.settings.upstream) {
        (Some(u), _) => (config::parse_upstream(u)?, UpstreamSource::Flag),
        (None, Some(u)) => (config::parse_upstream(u)?, UpstreamSource::Policy(args.policy.clone())),
        (None, None) => {
            let (url, how) = config::upstream_from_pip(&args.python)?;
            (url, UpstreamSource::Pip(how))
        }
    };
    tracing::info!(upstream = %config::redact(&upstream), source = %source, "upstream index chosen");
    let data_dir = args.data_dir.clone().unwrap_or_else(|| config::default_data_dir(&args.policy));
    let mut cfg = ProxyConfig::new(upstream, data_dir);
    cfg.page_ttl = std::time::Duration::from_secs(args.page_ttl);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let app = App::new(cfg.clone(), policy, Scanner::new(Limits::default()))?;
        pipgate::reload::spawn(app.policy.clone(), args.policy.clone());
        let listener =
            tokio::net::TcpListener::bind(&args.listen).await.with_context(|| format!("binding {}", args.listen))?;
        let addr = listener.local_addr()?;
        println!(
            "pipgate listening on http://{addr}/simple/ (upstream {}, data {})",
            config::redact(&cfg.upstream),
            cfg.data_dir.display()
        );
        std::io::stdout().flush()?;
        server::serve(listener, app, shutdown_signal()).await;
        tracing::info!("pipgate stopped");
        anyhow::Ok(())
    })
}

fn audit(args: AuditArgs) -> anyhow::Result<()> {
    let data_dir = args.data_dir.unwrap_or_else(|| config::default_data_dir(&args.policy));
    let dir = pipgate::config::DataDir::new(&data_dir).audit();
    let now = time::OffsetDateTime::now_utc();
    let query = pipgate::audit::Query {
        blocked_only: args.blocked,
        since: args
            .since
            .as_deref()
            .map(|s| pipgate::audit::parse_since(s, now))
            .transpose()
            .map_err(anyhow::Error::msg)?,
        project: args.project.as_deref().map(pipgate::model::normalize_project_name),
    };
    let records: Vec<_> = pipgate::audit::read_all(&dir)
        .with_context(|| format!("reading the audit log in {}", dir.display()))?
        .into_iter()
        .filter(|r| query.matches(r))
        .collect();
    let mut out = std::io::stdout().lock();
    match args.format {
        AuditFormat::Json => {
            for r in &records {
                writeln!(out, "{}", serde_json::to_string(r)?)?;
            }
        }
        AuditFormat::Table => write!(out, "{}", pipgate::audit::render_table(&records))?,
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
