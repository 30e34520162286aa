//! The embedded backend: file origins, verification and scan reports in one SQLite file
//! (WAL mode), its schema versioned by `PRAGMA user_version` and migrated on open.
//! Every call runs on tokio's blocking pool, never on the reactor.
//! Must not: decide, fetch or scan.

use super::{OriginStore, ScanStore, StoreError};
use crate::model::{FileOrigin, Verified};
use crate::scan::ScanReport;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

pub(crate) struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

fn sql(op: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| StoreError::new(op, e)
}

impl SqliteStore {
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path).map_err(sql("open"))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=NORMAL;
             PRAGMA busy_timeout=5000;",
        )
        .map_err(sql("open"))?;
        migrate(&mut conn)?;
        super::lookback::create_tables(&conn).map_err(sql("create lookback tables"))?;
        super::audit_index::create_tables(&conn).map_err(sql("create audit index tables"))?;
        Ok(SqliteStore { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Run `f` with the connection on the blocking pool.
    pub(super) async fn with<T: Send + 'static>(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut conn).map_err(sql(op))
        })
        .await
        .map_err(|e| StoreError::new(op, e))?
    }
}

/// The schema, by `PRAGMA user_version`:
/// - 0: none, or the first layout (`files` keyed by `key` alone: one origin per sha256);
/// - 2: `origins` keyed by (key, filename, project), so the same bytes listed under a second
///   filename or project keep both origins, and `verified` by key (verification is of bytes).
const SCHEMA_VERSION: i64 = 2;

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(sql("read schema version"))?;
    if version >= SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction().map_err(sql("migrate"))?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS origins (
            key TEXT NOT NULL, filename TEXT NOT NULL, project TEXT NOT NULL, url TEXT NOT NULL,
            hashes TEXT NOT NULL, upload_time TEXT, size INTEGER, core_metadata TEXT,
            PRIMARY KEY (key, filename, project));
         CREATE INDEX IF NOT EXISTS origins_project ON origins(project);
         CREATE TABLE IF NOT EXISTS verified (
            key TEXT PRIMARY KEY, sha256 TEXT NOT NULL, metadata_sha256 TEXT);
         CREATE TABLE IF NOT EXISTS scans (
            sha256 TEXT NOT NULL, scanner_version TEXT NOT NULL, report TEXT NOT NULL,
            created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
            PRIMARY KEY (sha256, scanner_version));",
    )
    .map_err(sql("create schema"))?;
    let old: bool = tx
        .query_row("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='files'", [], |r| r.get(0))
        .map_err(sql("migrate"))?;
    if old {
        tx.execute_batch(
            "INSERT OR IGNORE INTO origins (key, filename, project, url, hashes, upload_time, size, core_metadata)
                SELECT key, filename, project, url, hashes, upload_time, size, core_metadata FROM files;
             INSERT OR IGNORE INTO verified (key, sha256, metadata_sha256)
                SELECT key, sha256, metadata_sha256 FROM files WHERE sha256 IS NOT NULL;
             DROP TABLE files;",
        )
        .map_err(sql("migrate files to origins"))?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(sql("migrate"))?;
    tx.commit().map_err(sql("migrate"))
}

pub(super) fn origin_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FileOrigin> {
    Ok(FileOrigin {
        key: r.get(0)?,
        filename: r.get(1)?,
        project: r.get(2)?,
        url: r.get(3)?,
        hashes: serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or_default(),
        upload_time: r.get(5)?,
        size: r.get::<_, Option<i64>>(6)?.map(|s| s as u64),
        core_metadata: r.get::<_, Option<String>>(7)?.and_then(|s| serde_json::from_str(&s).ok()),
    })
}

#[async_trait]
impl OriginStore for SqliteStore {
    async fn put_origins(&self, origins: Vec<FileOrigin>) -> Result<(), StoreError> {
        self.with("put origins", move |conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO origins (key, filename, project, url, hashes, upload_time, size, core_metadata)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT(key, filename, project) DO UPDATE SET hashes=excluded.hashes, url=excluded.url, upload_time=excluded.upload_time,
                        size=excluded.size, core_metadata=excluded.core_metadata",
                )?;
                for o in &origins {
                    stmt.execute(params![
                        o.key,
                        o.filename,
                        o.project,
                        o.url,
                        serde_json::to_string(&o.hashes).unwrap_or_default(),
                        o.upload_time,
                        o.size.map(|s| s as i64),
                        o.core_metadata.as_ref().map(std::string::ToString::to_string),
                    ])?;
                }
            }
            tx.commit()
        })
        .await
    }

    async fn origins(&self, key: &str) -> Result<Vec<FileOrigin>, StoreError> {
        let key = key.to_string();
        self.with("read origins", move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT key, filename, project, url, hashes, upload_time, size, core_metadata FROM origins
                 WHERE key=?1 ORDER BY rowid",
            )?;
            let rows = stmt.query_map([key], origin_row)?;
            rows.collect()
        })
        .await
    }

    async fn set_verified(&self, key: &str, v: &Verified) -> Result<(), StoreError> {
        let (key, v) = (key.to_string(), v.clone());
        self.with("set verified", move |conn| {
            conn.execute(
                "INSERT OR REPLACE INTO verified (key, sha256, metadata_sha256) VALUES (?1, ?2, ?3)",
                params![key, v.sha256, v.metadata_sha256],
            )
            .map(drop)
        })
        .await
    }

    async fn verified(&self, key: &str) -> Result<Option<Verified>, StoreError> {
        let key = key.to_string();
        self.with("read verified", move |conn| {
            conn.query_row("SELECT sha256, metadata_sha256 FROM verified WHERE key=?1", [key], |r| {
                Ok(Verified { sha256: r.get(0)?, metadata_sha256: r.get(1)? })
            })
            .optional()
        })
        .await
    }

    async fn verified_in_project(&self, project: &str) -> Result<BTreeMap<String, Verified>, StoreError> {
        let project = project.to_string();
        self.with("read project", move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT DISTINCT v.key, v.sha256, v.metadata_sha256 FROM origins o JOIN verified v ON v.key = o.key
                 WHERE o.project=?1",
            )?;
            let rows = stmt.query_map([project], |r| {
                Ok((r.get::<_, String>(0)?, Verified { sha256: r.get(1)?, metadata_sha256: r.get(2)? }))
            })?;
            rows.collect()
        })
        .await
    }
}

#[async_trait]
impl ScanStore for SqliteStore {
    async fn put_scan(&self, sha256: &str, scanner_version: &str, report: &ScanReport) -> Result<(), StoreError> {
        let json = serde_json::to_string(report).map_err(|e| StoreError::new("encode report", e))?;
        let (sha256, version) = (sha256.to_string(), scanner_version.to_string());
        self.with("put scan", move |conn| {
            conn.execute(
                "INSERT OR REPLACE INTO scans (sha256, scanner_version, report) VALUES (?1, ?2, ?3)",
                params![sha256, version, json],
            )
            .map(drop)
        })
        .await
    }

    async fn scan(&self, sha256: &str, scanner_version: &str) -> Result<Option<ScanReport>, StoreError> {
        let (sha256, version) = (sha256.to_string(), scanner_version.to_string());
        let json: Option<String> = self
            .with("read scan", move |conn| {
                conn.query_row(
                    "SELECT report FROM scans WHERE sha256=?1 AND scanner_version=?2",
                    [sha256, version],
                    |r| r.get(0),
                )
                .optional()
            })
            .await?;
        Ok(json.and_then(|j| match serde_json::from_str(&j) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(error = %e, "stored scan report does not decode; it will be rescanned");
                None
            }
        }))
    }
}

/// Stored as its hex text; a stored value that is not a sha256 is an error, never a path.
impl rusqlite::types::FromSql for crate::model::Sha256 {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        crate::model::Sha256::parse(value.as_str()?).map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
    }
}

impl rusqlite::types::ToSql for crate::model::Sha256 {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        self.as_str().to_sql()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn origins_and_verification_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let origin = FileOrigin {
            key: "ab".repeat(32),
            filename: "demo-1.0-py3-none-any.whl".into(),
            project: "demo".into(),
            url: "https://f.example.org/demo-1.0-py3-none-any.whl".into(),
            hashes: [("sha256".to_string(), "ab".repeat(32))].into(),
            upload_time: Some("2024-01-01T00:00:00Z".into()),
            size: Some(10),
            core_metadata: Some(serde_json::json!({"sha256": "cd"})),
        };
        let report = ScanReport {
            schema_version: 1,
            scanner_version: "1".into(),
            filename: origin.filename.clone(),
            kind: crate::model::ArtifactKind::Wheel,
            project: Some("demo".into()),
            version: Some("1.0".into()),
            findings: vec![],
            stats: Default::default(),
            licence: Default::default(),
        };
        {
            let s = SqliteStore::open(&path).unwrap();
            s.put_origins(vec![origin.clone()]).await.unwrap();
            s.put_origins(vec![origin.clone()]).await.unwrap();
            assert_eq!(s.verified(&origin.key).await.unwrap(), None);
            let v = Verified {
                sha256: crate::model::Sha256::parse(&"ab".repeat(32)).unwrap(),
                metadata_sha256: Some("ef".into()),
            };
            s.set_verified(&origin.key, &v).await.unwrap();
            s.put_scan(&v.sha256, "1", &report).await.unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.origin(&origin.key, &origin.filename).await.unwrap(), Some(origin.clone()));
        assert_eq!(s.verified(&origin.key).await.unwrap().unwrap().metadata_sha256.as_deref(), Some("ef"));
        assert_eq!(s.verified_in_project("demo").await.unwrap().len(), 1);
        let back = s.scan(&"ab".repeat(32), "1").await.unwrap().expect("report kept");
        assert_eq!((back.filename, back.project), (report.filename, report.project));
        assert!(s.scan(&"ab".repeat(32), "2").await.unwrap().is_none(), "another scanner version rescans");
        assert_eq!(s.origin("missing", &origin.filename).await.unwrap(), None);
    }

    fn origin(key: &str, project: &str, filename: &str) -> FileOrigin {
        FileOrigin {
            key: key.into(),
            filename: filename.into(),
            project: project.into(),
            url: format!("https://f.example.org/{filename}"),
            hashes: [("sha256".to_string(), key.to_string())].into(),
            upload_time: None,
            size: Some(10),
            core_metadata: None,
        }
    }

    /// Key confusion: the same sha256 listed under another filename or project keeps every
    /// origin, each found by its own filename, and verifying the bytes once covers them all.
    #[tokio::test]
    async fn every_listing_of_the_same_bytes_is_kept() {
        let key = "ab".repeat(32);
        let first = origin(&key, "demo-a", "demo_a-1.0.tar.gz");
        let cases = [
            ("second filename, same project", origin(&key, "demo-a", "demo_a-1.0.zip")),
            ("second project", origin(&key, "demo-b", "demo_b-1.0.tar.gz")),
            ("same filename, another project", origin(&key, "demo-c", "demo_a-1.0.tar.gz")),
        ];
        for (case, second) in cases {
            let dir = tempfile::tempdir().unwrap();
            let s = SqliteStore::open(&dir.path().join("s.sqlite3")).unwrap();
            s.put_origins(vec![first.clone()]).await.unwrap();
            s.put_origins(vec![second.clone()]).await.unwrap();
            s.put_origins(vec![first.clone()]).await.unwrap(); // re-listing is an upsert
            assert_eq!(s.origins(&key).await.unwrap(), vec![first.clone(), second.clone()], "{case}");
            assert_eq!(
                s.origin(&key, &second.filename).await.unwrap().map(|o| o.filename),
                Some(second.filename.clone()),
                "{case}"
            );
            assert_eq!(s.origin(&key, "other-1.0.tar.gz").await.unwrap(), None, "{case}");
            let v = Verified { sha256: crate::model::Sha256::parse(&key).unwrap(), metadata_sha256: None };
            s.set_verified(&key, &v).await.unwrap();
            assert_eq!(s.verified(&key).await.unwrap(), Some(v.clone()), "{case}");
            for project in [&first.project, &second.project] {
                assert_eq!(s.verified_in_project(project).await.unwrap().len(), 1, "{case}: {project}");
            }
        }
    }

    /// A data dir written by the first schema (`files` keyed by `key`) opens, keeps its
    /// origins and verification, and then takes a second origin of the same bytes.
    #[tokio::test]
    async fn the_first_schema_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        let key = "cd".repeat(32);
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE files (
                    key TEXT PRIMARY KEY, filename TEXT NOT NULL, project TEXT NOT NULL, url TEXT NOT NULL,
                    hashes TEXT NOT NULL, upload_time TEXT, size INTEGER, core_metadata TEXT,
                    sha256 TEXT, metadata_sha256 TEXT);
                 CREATE INDEX files_project ON files(project);
                 CREATE TABLE scans (
                    sha256 TEXT NOT NULL, scanner_version TEXT NOT NULL, report TEXT NOT NULL,
                    created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
                    PRIMARY KEY (sha256, scanner_version));",
            )
            .unwrap();
            c.execute(
                "INSERT INTO files VALUES (?1, 'demo-1.0.tar.gz', 'demo', 'https://f.example.org/demo-1.0.tar.gz', ?2, NULL, 10, NULL, ?1, 'ef')",
                params![key, format!("{{\"sha256\":\"{key}\"}}")],
            )
            .unwrap();
            c.execute(
                "INSERT INTO files VALUES ('u-1', 'x-1.0.zip', 'x', 'https://f/x', '{}', NULL, NULL, NULL, NULL, NULL)",
                [],
            )
            .unwrap();
        }
        for round in ["first open migrates", "second open is a no-op"] {
            let s = SqliteStore::open(&path).unwrap();
            let o = s.origin(&key, "demo-1.0.tar.gz").await.unwrap().unwrap_or_else(|| panic!("{round}: origin kept"));
            assert_eq!((o.project.as_str(), o.size), ("demo", Some(10)), "{round}");
            assert_eq!(o.hashes.get("sha256"), Some(&key), "{round}");
            let v = s.verified(&key).await.unwrap().unwrap_or_else(|| panic!("{round}: verification kept"));
            assert_eq!(v.metadata_sha256.as_deref(), Some("ef"), "{round}");
            assert_eq!(s.verified("u-1").await.unwrap(), None, "{round}: unverified stays so");
            assert_eq!(s.origins("u-1").await.unwrap().len(), 1, "{round}");
        }
        let s = SqliteStore::open(&path).unwrap();
        s.put_origins(vec![origin(&key, "demo-b", "demo_b-1.0.tar.gz")]).await.unwrap();
        assert_eq!(s.origins(&key).await.unwrap().len(), 2);
        assert_eq!(s.verified_in_project("demo-b").await.unwrap().len(), 1);
    }
}
