//! Durable, shareable state behind traits split by concern, so a second backend (the
//! PostgreSQL one for replicas) can replace each piece without touching its callers.
//!
//! Owns: persistence and its schema, and the choice of backend from configuration
//! ([`open`]). Must not: decide, fetch or scan. Artifact bytes live in the
//! content-addressed folder (`config::DataDir`); pages are kept by a [`PageStore`]
//! ([`LocalPages`]: a SQLite file of their own in the data directory, for every backend).
//!
//! # What a backend must provide
//!
//! | trait | holds | a replica-safe backend must |
//! |---|---|---|
//! | [`OriginStore`] | where every listed file comes from (every (key, filename, project)), and which keys were verified | upsert by (key, filename, project); read by key and by project |
//! | [`ScanStore`] | scan reports by (sha256, scanner version) | keep reports typed: decoding happens here, never in callers |
//! | [`PageStore`] | upstream pages with their ETag, for revalidation and outages | last writer wins; a torn write must not be readable |
//! | [`SingleFlight`] | one holder per key (one download and one scan per file) | expire a dead holder's claim, so another takes over |
//! | [`LookbackStore`] | the last verdict per (sha256, filename) with what it was made under, and the verdict changes | record a change exactly once when two replicas note the same verdict |
//! | [`AuditIndex`] | every audited decision as a row, hourly roll-ups of outcomes and findings (the dashboard's reads) | keep each written row once; never be the durable record (the JSON-lines log is, and on PostgreSQL the audit trail too) |
//! | [`AuditTrail`] | shared backends only: every decision record of every replica, with its replica, in one order | commit before returning (the response waits for it); number records in one cluster-wide order |
//!
//! Every method is async: SQLite work runs on the blocking pool, never on the reactor.
//!
//! Backends: [`SqliteStore`] (embedded, the default) and [`postgres::PgStore`] (replicas:
//! origins, scans, verdicts, flight leases, the audit trail and the dashboard's index
//! shared; pages stay per replica on its disk, being a revalidated cache of the upstream).
//! `conformance` runs one suite on both.

mod audit_index;
#[cfg(test)]
mod conformance;
mod lookback;
mod pages;
pub(crate) mod postgres;
mod sqlite;

pub use audit_index::TrailEntry;
pub(crate) use audit_index::{AuditIndex, AuditTrail, DecisionFilter, DecisionRow, HourCount, ROW_FINDINGS};
pub(crate) use lookback::{DecisionState, LookbackStore, VerdictChange, VerdictNote};
pub(crate) use pages::LocalPages;
pub(crate) use sqlite::SqliteStore;

use crate::config::{DataDir, Database};
use crate::model::{CachedPage, FileOrigin, Verified};
use crate::scan::ScanReport;
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// A storage failure, with the operation that failed. Always pipgate's own (internal) fault.
#[derive(Debug, thiserror::Error)]
#[error("store: {op}: {reason}")]
pub(crate) struct StoreError {
    pub op: &'static str,
    pub reason: String,
}

impl StoreError {
    pub(crate) fn new(op: &'static str, reason: impl std::fmt::Display) -> Self {
        StoreError { op, reason: reason.to_string() }
    }
}

/// File origins and verification state.
#[async_trait]
pub(crate) trait OriginStore: Send + Sync {
    async fn put_origins(&self, origins: Vec<FileOrigin>) -> Result<(), StoreError>;
    /// Every origin listed under `key`, oldest first: the same bytes may be listed under
    /// several filenames and projects, and each must be found again by its own filename.
    async fn origins(&self, key: &str) -> Result<Vec<FileOrigin>, StoreError>;
    /// The origin of `key` listed as `filename`.
    async fn origin(&self, key: &str, filename: &str) -> Result<Option<FileOrigin>, StoreError> {
        Ok(self.origins(key).await?.into_iter().find(|o| o.filename == filename))
    }
    async fn set_verified(&self, key: &str, v: &Verified) -> Result<(), StoreError>;
    async fn verified(&self, key: &str) -> Result<Option<Verified>, StoreError>;
    /// Every verified file of a project, by key (for page annotations and filtering).
    async fn verified_in_project(&self, project: &str) -> Result<BTreeMap<String, Verified>, StoreError>;
}

/// Scan reports by sha256 and scanner version (a new scanner version rescans).
#[async_trait]
pub(crate) trait ScanStore: Send + Sync {
    async fn put_scan(&self, sha256: &str, scanner_version: &str, report: &ScanReport) -> Result<(), StoreError>;
    /// The stored report, decoded; an undecodable one reads as absent (it is rescanned).
    async fn scan(&self, sha256: &str, scanner_version: &str) -> Result<Option<ScanReport>, StoreError>;
}

/// Upstream pages by key (a normalised project name, or `_root`).
#[async_trait]
pub(crate) trait PageStore: Send + Sync {
    async fn load_page(&self, key: &str) -> Option<CachedPage>;
    async fn save_page(&self, key: &str, page: &CachedPage) -> Result<(), StoreError>;
}

/// Held while one request downloads and scans a file; dropping it lets the next one in.
pub(crate) type FlightGuard = Box<dyn Send + Sync>;

/// One holder per key at a time, so N concurrent requests share one download and one scan.
#[async_trait]
pub(crate) trait SingleFlight: Send + Sync {
    async fn acquire(&self, key: &str) -> FlightGuard;
}

/// The state one pipgate process works with, each part behind its trait.
#[derive(Clone)]
pub(crate) struct Stores {
    pub origins: Arc<dyn OriginStore>,
    pub scans: Arc<dyn ScanStore>,
    pub pages: Arc<dyn PageStore>,
    pub flights: Arc<dyn SingleFlight>,
    /// Last verdicts and their changes (looking back).
    pub lookback: Arc<dyn LookbackStore>,
    /// Decisions indexed for the dashboard (a copy of the audit log's records).
    pub audit_index: Arc<dyn AuditIndex>,
    /// The audit trail replicas share (`None`: the embedded default, whose trail is the
    /// JSON-lines log alone).
    pub audit_trail: Option<Arc<dyn AuditTrail>>,
}

/// Open the configured backend. SQLite (embedded, the default) keeps everything in the data
/// directory; PostgreSQL (replicas) keeps all but pages in the shared database, migrated now.
pub(crate) fn open(db: &Database, dirs: &DataDir) -> Result<Stores, StoreError> {
    match db {
        Database::Sqlite(path) => {
            let sqlite = Arc::new(SqliteStore::open(path)?);
            // Its own connection: the dashboard's reads and the batched index writes do not
            // queue behind the request path's store calls (WAL lets them run side by side).
            let audit_index = Arc::new(SqliteStore::open(path)?);
            Ok(Stores {
                audit_index,
                audit_trail: None,
                origins: sqlite.clone(),
                scans: sqlite.clone(),
                lookback: sqlite,
                pages: Arc::new(LocalPages::open(&dirs.pages_db(), dirs.pages())?),
                flights: Arc::new(LocalFlights::default()),
            })
        }
        Database::Postgres(url) => {
            let pg = Arc::new(postgres::PgStore::open(url)?);
            Ok(Stores {
                origins: pg.clone(),
                scans: pg.clone(),
                flights: Arc::new(postgres::PgFlights::new(pg.pool(), postgres::flights_lease())),
                // The dashboard's index and the trail are shared: `/-/` and `pipgate audit`
                // on any replica see every replica's decisions.
                audit_index: pg.clone(),
                audit_trail: Some(pg.clone()),
                lookback: pg,
                // Pages stay per replica: a revalidated cache of the upstream, not shared state.
                pages: Arc::new(LocalPages::open(&dirs.pages_db(), dirs.pages())?),
            })
        }
    }
}

/// In-process single flight: one async mutex per key, removed when its last holder is done,
/// so the table never grows beyond the requests in flight.
#[derive(Default)]
pub(crate) struct LocalFlights {
    map: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

struct LocalGuard {
    key: String,
    lock: Arc<tokio::sync::Mutex<()>>,
    _held: tokio::sync::OwnedMutexGuard<()>,
    map: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl Drop for LocalGuard {
    fn drop(&mut self) {
        let mut map = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Three references: the table's, ours and our held guard's. Nobody else waits
        // (a waiter holds a clone), so the entry can go.
        if Arc::strong_count(&self.lock) <= 3 {
            map.remove(&self.key);
        }
    }
}

impl LocalFlights {
    /// Keys with a holder or a waiter.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }
}

#[async_trait]
impl SingleFlight for LocalFlights {
    async fn acquire(&self, key: &str) -> FlightGuard {
        let lock = {
            let mut map = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            map.entry(key.to_string()).or_default().clone()
        };
        let held = lock.clone().lock_owned().await;
        Box::new(LocalGuard { key: key.to_string(), lock, _held: held, map: self.map.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_is_chosen_from_config() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = DataDir::new(dir.path());
        dirs.create_all().unwrap();
        let sqlite = open(&Database::Sqlite(dir.path().join("chosen.sqlite3")), &dirs);
        assert!(sqlite.is_ok(), "the embedded default opens");
        assert!(dir.path().join("chosen.sqlite3").exists(), "at the configured path");
        // Nothing listens on port 1: start-up fails, naming the database without its password.
        let url = crate::config::PgUrl::new("postgres://u:s3cret@127.0.0.1:1/p");
        let pg = open(&Database::Postgres(url), &dirs).err().expect("no server there");
        assert!(pg.to_string().contains("postgres://u:****@127.0.0.1:1/p"), "{pg}");
        assert!(!pg.to_string().contains("s3cret"), "{pg}");
    }

    #[tokio::test]
    async fn single_flight_serialises_holders_and_forgets_finished_keys() {
        let flights = Arc::new(LocalFlights::default());
        let first = flights.acquire("a").await;
        let f2 = flights.clone();
        let waiter = tokio::spawn(async move {
            let _g = f2.acquire("a").await;
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "a second holder waits for the first");
        let _other = flights.acquire("b").await; // other keys are independent
        drop(first);
        waiter.await.unwrap();
        drop(_other);
        assert_eq!(flights.in_flight(), 0, "finished keys leave the table");
    }
}
