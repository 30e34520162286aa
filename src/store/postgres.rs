//! The shared backend for replicas: file origins, verification, scan reports, last verdicts
//! and their changes, the single-flight leases, the audit trail and the dashboard's index
//! (`audit.rs`) in one PostgreSQL database, through a
//! pool of async connections (`tokio-postgres` + `deadpool-postgres`). TLS to the database
//! by rustls against the system trust store when the URL's `sslmode` asks for it
//! (`require`; the default `prefer` uses TLS when the server offers it). The schema is
//! migrated at start-up ([`migrate`]), safely when replicas start at once.
//!
//! Pages are not here: each replica keeps its own on its disk ([`super::LocalPages`]); they
//! are a revalidated cache of the upstream, so replicas need not agree on them.
//!
//! Must not: decide, fetch or scan; put the database password in a message (only
//! [`PgUrl`]'s redacted form is shown; driver errors carry no connection parameters).

mod audit;
mod flights;
mod lookback;
pub(crate) mod migrate;

pub(crate) use flights::PgFlights;

/// The lease of the cross-replica single flight.
pub(crate) fn flights_lease() -> Duration {
    flights::LEASE
}

use super::{OriginStore, ScanStore, StoreError};
use crate::config::PgUrl;
use crate::model::{FileOrigin, Verified};
use crate::scan::ScanReport;
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::collections::BTreeMap;
use std::time::Duration;

/// The connector every connection uses: rustls, so `sslmode=require` works; a server
/// without TLS is reached in plain text only when the URL allows it (`prefer`, `disable`).
pub(crate) type Tls = tokio_postgres_rustls::MakeRustlsConnect;

/// Connections per replica: enough for the requests in flight, small enough that a few
/// replicas stay under PostgreSQL's default `max_connections` (100).
const POOL_SIZE: usize = 16;

pub(crate) struct PgStore {
    pool: Pool,
}

/// A driver error as one line: the server's own message when it sent one, else the error and
/// its causes (connection refused, TLS failure, …). Never the connection parameters.
pub(super) fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

pub(super) fn pg(op: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError {
    move |e| StoreError::new(op, describe(&e))
}

/// The database's URL parsed, with the TLS connector it asks for.
pub(crate) fn connect_config(url: &PgUrl) -> Result<(tokio_postgres::Config, Tls), StoreError> {
    let config: tokio_postgres::Config = url
        .expose()
        .parse()
        .map_err(|e: tokio_postgres::Error| StoreError::new("open", format!("{url}: {}", describe(&e))))?;
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    let tls = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    Ok((config, tokio_postgres_rustls::MakeRustlsConnect::new(tls)))
}

impl PgStore {
    /// Migrate the schema (connecting once, now: a wrong URL or password fails start-up),
    /// then make the pool, whose connections open when first used.
    pub(crate) fn open(url: &PgUrl) -> Result<PgStore, StoreError> {
        let (config, tls) = connect_config(url)?;
        let applied =
            migrate::run_blocking(&config, &tls).map_err(|e| StoreError::new(e.op, format!("{url}: {}", e.reason)))?;
        for m in applied {
            tracing::info!(database = %url, migration = m, "applied schema migration");
        }
        let mgr = Manager::from_config(config, tls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(mgr)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(10)))
            .wait_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|e| StoreError::new("open pool", e))?;
        Ok(PgStore { pool })
    }

    pub(crate) fn pool(&self) -> Pool {
        self.pool.clone()
    }

    pub(super) async fn client(&self, op: &'static str) -> Result<deadpool_postgres::Object, StoreError> {
        client(&self.pool, op).await
    }
}

pub(super) async fn client(pool: &Pool, op: &'static str) -> Result<deadpool_postgres::Object, StoreError> {
    pool.get().await.map_err(|e| match e {
        deadpool_postgres::PoolError::Backend(e) => StoreError::new(op, describe(&e)),
        other => StoreError::new(op, other),
    })
}

pub(super) fn origin_row(r: &tokio_postgres::Row) -> FileOrigin {
    FileOrigin {
        key: r.get(0),
        filename: r.get(1),
        project: r.get(2),
        url: r.get(3),
        hashes: serde_json::from_str(r.get::<_, &str>(4)).unwrap_or_default(),
        upload_time: r.get(5),
        size: r.get::<_, Option<i64>>(6).map(|s| s as u64),
        core_metadata: r.get::<_, Option<&str>>(7).and_then(|s| serde_json::from_str(s).ok()),
    }
}

/// A stored sha256 that is not one reads as an error, never as a path.
pub(super) fn verified_row(r: &tokio_postgres::Row, at: usize) -> Result<Verified, StoreError> {
    let sha256 = crate::model::Sha256::parse(r.get::<_, &str>(at)).map_err(|e| StoreError::new("read verified", e))?;
    Ok(Verified { sha256, metadata_sha256: r.get(at + 1) })
}

#[async_trait]
impl OriginStore for PgStore {
    async fn put_origins(&self, origins: Vec<FileOrigin>) -> Result<(), StoreError> {
        let op = "put origins";
        let mut c = self.client(op).await?;
        let tx = c.transaction().await.map_err(pg(op))?;
        let stmt = tx
            .prepare_cached(
                "INSERT INTO origins (key, filename, project, url, hashes, upload_time, size, core_metadata)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (key, filename, project) DO UPDATE SET hashes=EXCLUDED.hashes, url=EXCLUDED.url,
                    upload_time=EXCLUDED.upload_time, size=EXCLUDED.size, core_metadata=EXCLUDED.core_metadata",
            )
            .await
            .map_err(pg(op))?;
        for o in &origins {
            let hashes = serde_json::to_string(&o.hashes).unwrap_or_default();
            let meta = o.core_metadata.as_ref().map(std::string::ToString::to_string);
            let size = o.size.map(|s| s as i64);
            tx.execute(&stmt, &[&o.key, &o.filename, &o.project, &o.url, &hashes, &o.upload_time, &size, &meta])
                .await
                .map_err(pg(op))?;
        }
        tx.commit().await.map_err(pg(op))
    }

    async fn origins(&self, key: &str) -> Result<Vec<FileOrigin>, StoreError> {
        let op = "read origins";
        let c = self.client(op).await?;
        let stmt = c
            .prepare_cached(
                "SELECT key, filename, project, url, hashes, upload_time, size, core_metadata FROM origins
                 WHERE key=$1 ORDER BY seq",
            )
            .await
            .map_err(pg(op))?;
        Ok(c.query(&stmt, &[&key]).await.map_err(pg(op))?.iter().map(origin_row).collect())
    }

    async fn set_verified(&self, key: &str, v: &Verified) -> Result<(), StoreError> {
        let op = "set verified";
        let c = self.client(op).await?;
        c.execute(
            "INSERT INTO verified (key, sha256, metadata_sha256) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET sha256=EXCLUDED.sha256, metadata_sha256=EXCLUDED.metadata_sha256",
            &[&key, &v.sha256.as_str(), &v.metadata_sha256],
        )
        .await
        .map_err(pg(op))
        .map(drop)
    }

    async fn verified(&self, key: &str) -> Result<Option<Verified>, StoreError> {
        let op = "read verified";
        let c = self.client(op).await?;
        let row =
            c.query_opt("SELECT sha256, metadata_sha256 FROM verified WHERE key=$1", &[&key]).await.map_err(pg(op))?;
        row.map(|r| verified_row(&r, 0)).transpose()
    }

    async fn verified_in_project(&self, project: &str) -> Result<BTreeMap<String, Verified>, StoreError> {
        let op = "read project";
        let c = self.client(op).await?;
        let rows = c
            .query(
                "SELECT DISTINCT v.key, v.sha256, v.metadata_sha256 FROM origins o JOIN verified v ON v.key = o.key
                 WHERE o.project=$1",
                &[&project],
            )
            .await
            .map_err(pg(op))?;
        rows.iter().map(|r| Ok((r.get::<_, String>(0), verified_row(r, 1)?))).collect()
    }
}

#[async_trait]
impl ScanStore for PgStore {
    async fn put_scan(&self, sha256: &str, scanner_version: &str, report: &ScanReport) -> Result<(), StoreError> {
        let op = "put scan";
        let json = serde_json::to_string(report).map_err(|e| StoreError::new("encode report", e))?;
        let c = self.client(op).await?;
        c.execute(
            "INSERT INTO scans (sha256, scanner_version, report) VALUES ($1, $2, $3)
             ON CONFLICT (sha256, scanner_version) DO UPDATE SET report=EXCLUDED.report, created=now()",
            &[&sha256, &scanner_version, &json],
        )
        .await
        .map_err(pg(op))
        .map(drop)
    }

    async fn scan(&self, sha256: &str, scanner_version: &str) -> Result<Option<ScanReport>, StoreError> {
        let op = "read scan";
        let c = self.client(op).await?;
        let row = c
            .query_opt("SELECT report FROM scans WHERE sha256=$1 AND scanner_version=$2", &[&sha256, &scanner_version])
            .await
            .map_err(pg(op))?;
        Ok(row.and_then(|r| match serde_json::from_str(r.get::<_, &str>(0)) {
            Ok(report) => Some(report),
            Err(e) => {
                tracing::warn!(error = %e, "stored scan report does not decode; it will be rescanned");
                None
            }
        }))
    }
}
