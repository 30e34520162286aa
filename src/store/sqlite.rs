//! The embedded backend: file origins and scan reports in one SQLite file (WAL mode).
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
        let conn = Connection::open(path).map_err(sql("open"))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=NORMAL;
             PRAGMA busy_timeout=5000;
             CREATE TABLE IF NOT EXISTS files (
                key TEXT PRIMARY KEY, filename TEXT NOT NULL, project TEXT NOT NULL, url TEXT NOT NULL,
                hashes TEXT NOT NULL, upload_time TEXT, size INTEGER, core_metadata TEXT,
                sha256 TEXT, metadata_sha256 TEXT);
             CREATE INDEX IF NOT EXISTS files_project ON files(project);
             CREATE TABLE IF NOT EXISTS scans (
                sha256 TEXT NOT NULL, scanner_version TEXT NOT NULL, report TEXT NOT NULL,
                created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
                PRIMARY KEY (sha256, scanner_version));",
        )
        .map_err(sql("create schema"))?;
        Ok(SqliteStore { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Run `f` with the connection on the blocking pool.
    async fn with<T: Send + 'static>(
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

#[async_trait]
impl OriginStore for SqliteStore {
    async fn put_origins(&self, origins: Vec<FileOrigin>) -> Result<(), StoreError> {
        self.with("put origins", move |conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO files (key, filename, project, url, hashes, upload_time, size, core_metadata)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT(key) DO UPDATE SET url=excluded.url, upload_time=excluded.upload_time,
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

    async fn origin(&self, key: &str) -> Result<Option<FileOrigin>, StoreError> {
        let key = key.to_string();
        self.with("read origin", move |conn| {
            conn.query_row(
                "SELECT key, filename, project, url, hashes, upload_time, size, core_metadata FROM files WHERE key=?1",
                [key],
                |r| {
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
                },
            )
            .optional()
        })
        .await
    }

    async fn set_verified(&self, key: &str, v: &Verified) -> Result<(), StoreError> {
        let (key, v) = (key.to_string(), v.clone());
        self.with("set verified", move |conn| {
            conn.execute(
                "UPDATE files SET sha256=?2, metadata_sha256=?3 WHERE key=?1",
                params![key, v.sha256, v.metadata_sha256],
            )
            .map(drop)
        })
        .await
    }

    async fn verified(&self, key: &str) -> Result<Option<Verified>, StoreError> {
        let key = key.to_string();
        self.with("read verified", move |conn| {
            conn.query_row(
                "SELECT sha256, metadata_sha256 FROM files WHERE key=?1 AND sha256 IS NOT NULL",
                [key],
                |r| Ok(Verified { sha256: r.get(0)?, metadata_sha256: r.get(1)? }),
            )
            .optional()
        })
        .await
    }

    async fn verified_in_project(&self, project: &str) -> Result<BTreeMap<String, Verified>, StoreError> {
        let project = project.to_string();
        self.with("read project", move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT key, sha256, metadata_sha256 FROM files WHERE project=?1 AND sha256 IS NOT NULL",
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
        assert_eq!(s.origin(&origin.key).await.unwrap(), Some(origin.clone()));
        assert_eq!(s.verified(&origin.key).await.unwrap().unwrap().metadata_sha256.as_deref(), Some("ef"));
        assert_eq!(s.verified_in_project("demo").await.unwrap().len(), 1);
        let back = s.scan(&"ab".repeat(32), "1").await.unwrap().expect("report kept");
        assert_eq!((back.filename, back.project), (report.filename, report.project));
        assert!(s.scan(&"ab".repeat(32), "2").await.unwrap().is_none(), "another scanner version rescans");
        assert_eq!(s.origin("missing").await.unwrap(), None);
    }
}
