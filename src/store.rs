//! Durable state behind one trait: where each listed file comes from, which artifacts
//! were verified, and scan reports by sha256. SQLite now; a PostgreSQL backend for
//! replicas implements the same [`Store`] trait later.
//!
//! Owns: persistence and its schema. Must not: decide, fetch or scan.
//! Artifact bytes themselves live in the content-addressed folder (`config::DataDir`).

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(String);

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

/// Where a file listed on one of our pages comes from, recorded when the page is rewritten,
/// so that `/files/<key>/<filename>` keeps working across restarts and for lockfiles.
#[derive(Debug, Clone, PartialEq)]
pub struct FileOrigin {
    /// The path key: the index's sha256, or `u-<sha256 of the upstream URL>` when the index gave none.
    pub key: String,
    pub filename: String,
    /// Normalised project name.
    pub project: String,
    /// Absolute upstream URL (may carry credentials: never log it unredacted).
    pub url: String,
    pub hashes: BTreeMap<String, String>,
    pub upload_time: Option<String>,
    pub size: Option<u64>,
    /// The upstream's core-metadata advert, if any.
    pub core_metadata: Option<Value>,
}

/// What pipgate knows about a verified artifact.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub sha256: crate::model::Sha256,
    /// sha256 of the core metadata pipgate extracted, when it did.
    pub metadata_sha256: Option<String>,
}

pub trait Store: Send + Sync {
    fn put_origins(&self, origins: &[FileOrigin]) -> Result<(), StoreError>;
    fn origin(&self, key: &str) -> Result<Option<FileOrigin>, StoreError>;
    fn set_verified(&self, key: &str, v: &Verified) -> Result<(), StoreError>;
    fn verified(&self, key: &str) -> Result<Option<Verified>, StoreError>;
    /// Every verified file of a project, by key (for page annotations and filtering).
    fn verified_in_project(&self, project: &str) -> Result<BTreeMap<String, Verified>, StoreError>;
    fn put_scan(&self, sha256: &str, scanner_version: &str, report_json: &str) -> Result<(), StoreError>;
    fn scan(&self, sha256: &str, scanner_version: &str) -> Result<Option<String>, StoreError>;
}

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
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
        )?;
        Ok(SqliteStore { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for SqliteStore {
    fn put_origins(&self, origins: &[FileOrigin]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO files (key, filename, project, url, hashes, upload_time, size, core_metadata)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(key) DO UPDATE SET url=excluded.url, upload_time=excluded.upload_time,
                    size=excluded.size, core_metadata=excluded.core_metadata",
            )?;
            for o in origins {
                stmt.execute(params![
                    o.key,
                    o.filename,
                    o.project,
                    o.url,
                    serde_json::to_string(&o.hashes).unwrap_or_default(),
                    o.upload_time,
                    o.size.map(|s| s as i64),
                    o.core_metadata.as_ref().map(|v| v.to_string()),
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn origin(&self, key: &str) -> Result<Option<FileOrigin>, StoreError> {
        let conn = self.conn();
        let row = conn
            .query_row(
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
            .optional()?;
        Ok(row)
    }

    fn set_verified(&self, key: &str, v: &Verified) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE files SET sha256=?2, metadata_sha256=?3 WHERE key=?1",
            params![key, v.sha256, v.metadata_sha256],
        )?;
        Ok(())
    }

    fn verified(&self, key: &str) -> Result<Option<Verified>, StoreError> {
        let conn = self.conn();
        let row = conn
            .query_row("SELECT sha256, metadata_sha256 FROM files WHERE key=?1 AND sha256 IS NOT NULL", [key], |r| {
                Ok(Verified { sha256: r.get(0)?, metadata_sha256: r.get(1)? })
            })
            .optional()?;
        Ok(row)
    }

    fn verified_in_project(&self, project: &str) -> Result<BTreeMap<String, Verified>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT key, sha256, metadata_sha256 FROM files WHERE project=?1 AND sha256 IS NOT NULL")?;
        let rows = stmt.query_map([project], |r| {
            Ok((r.get::<_, String>(0)?, Verified { sha256: r.get(1)?, metadata_sha256: r.get(2)? }))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn put_scan(&self, sha256: &str, scanner_version: &str, report_json: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT OR REPLACE INTO scans (sha256, scanner_version, report) VALUES (?1, ?2, ?3)",
            params![sha256, scanner_version, report_json],
        )?;
        Ok(())
    }

    fn scan(&self, sha256: &str, scanner_version: &str) -> Result<Option<String>, StoreError> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                "SELECT report FROM scans WHERE sha256=?1 AND scanner_version=?2",
                [sha256, scanner_version],
                |r| r.get(0),
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_verification_survive_reopen() {
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
        {
            let s = SqliteStore::open(&path).unwrap();
            s.put_origins(std::slice::from_ref(&origin)).unwrap();
            s.put_origins(std::slice::from_ref(&origin)).unwrap();
            assert_eq!(s.verified(&origin.key).unwrap(), None);
            let v = Verified {
                sha256: crate::model::Sha256::parse(&"ab".repeat(32)).unwrap(),
                metadata_sha256: Some("ef".into()),
            };
            s.set_verified(&origin.key, &v).unwrap();
            s.put_scan(&v.sha256, "1", "{}").unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.origin(&origin.key).unwrap(), Some(origin.clone()));
        assert_eq!(s.verified(&origin.key).unwrap().unwrap().metadata_sha256.as_deref(), Some("ef"));
        assert_eq!(s.verified_in_project("demo").unwrap().len(), 1);
        assert_eq!(s.scan(&"ab".repeat(32), "1").unwrap().as_deref(), Some("{}"));
        assert_eq!(s.scan(&"ab".repeat(32), "2").unwrap(), None);
        assert_eq!(s.origin("missing").unwrap(), None);
    }
}
