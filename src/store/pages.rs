//! The page store every backend uses: upstream pages kept by this process's data directory,
//! in one SQLite file of their own (`<data-dir>/pages.sqlite3`, WAL mode), one row per page
//! key. A page is written in one transaction, so a torn write is never read back; saving a
//! page creates no file (one file per page cost a new inode per project on every cold
//! install). A page an older version kept as `pages/<key>.json` is still read when the
//! database has none, so an upgrade keeps answering from its pages while the upstream is down.
//! Every call runs on tokio's blocking pool, never on the reactor.
//! Must not: parse pages (that is `index`) or decide.

use super::{PageStore, StoreError};
use crate::model::CachedPage;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub(crate) struct LocalPages {
    conn: Arc<Mutex<Connection>>,
    /// Where an older version kept one JSON file per page (read only).
    legacy: PathBuf,
}

fn sql(op: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| StoreError::new(op, e)
}

impl LocalPages {
    /// Open (or create) the page database at `db`; `legacy` is the folder of an older
    /// version's page files.
    pub(crate) fn open(db: &Path, legacy: PathBuf) -> Result<Self, StoreError> {
        let conn = Connection::open(db).map_err(sql("open pages"))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=NORMAL;
             PRAGMA busy_timeout=5000;
             CREATE TABLE IF NOT EXISTS pages (key TEXT PRIMARY KEY, page BLOB NOT NULL);",
        )
        .map_err(sql("open pages"))?;
        Ok(LocalPages { conn: Arc::new(Mutex::new(conn)), legacy })
    }

    async fn with<T: Send + 'static>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let conn = conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&conn).map_err(sql(op))
        })
        .await
        .map_err(|e| StoreError::new(op, e))?
    }
}

#[async_trait]
impl PageStore for LocalPages {
    async fn load_page(&self, key: &str) -> Option<CachedPage> {
        let owned = key.to_string();
        let stored: Option<Vec<u8>> = self
            .with("load page", move |c| {
                c.query_row("SELECT page FROM pages WHERE key = ?1", params![owned], |r| r.get(0)).optional()
            })
            .await
            .ok()
            .flatten();
        match stored {
            Some(json) => serde_json::from_slice(&json).ok(),
            None => {
                let text = tokio::fs::read_to_string(self.legacy.join(format!("{key}.json"))).await.ok()?;
                serde_json::from_str(&text).ok()
            }
        }
    }

    async fn save_page(&self, key: &str, page: &CachedPage) -> Result<(), StoreError> {
        let json = serde_json::to_vec(page).map_err(|e| StoreError::new("save page", e))?;
        let owned = key.to_string();
        self.with("save page", move |c| {
            c.execute(
                "INSERT INTO pages (key, page) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET page = excluded.page",
                params![owned, json],
            )
            .map(|_| ())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &str, etag: Option<&str>) -> CachedPage {
        CachedPage {
            url: "http://127.0.0.1:9/simple/pkg/".into(),
            fetched_at: 1_700_000_000,
            etag: etag.map(str::to_string),
            content_type: "application/vnd.pypi.simple.v1+json".into(),
            body: body.into(),
        }
    }

    #[tokio::test]
    async fn pages_survive_a_reopen_the_last_save_wins_and_an_older_versions_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let (db, legacy) = (dir.path().join("pages.sqlite3"), dir.path().join("pages"));
        std::fs::create_dir_all(&legacy).unwrap();
        // An older version's page file, and one that was torn (not JSON).
        std::fs::write(legacy.join("old.json"), serde_json::to_vec(&page("{\"old\":1}", Some("\"o\""))).unwrap())
            .unwrap();
        std::fs::write(legacy.join("torn.json"), b"{\"url\": \"http").unwrap();
        let store = LocalPages::open(&db, legacy.clone()).unwrap();
        store.save_page("pkg", &page("{\"first\":1}", None)).await.unwrap();
        store.save_page("pkg", &page("{\"second\":2}", Some("\"e2\""))).await.unwrap();
        store.save_page("old", &page("{\"new\":3}", Some("\"n\""))).await.unwrap();
        store.save_page("_root", &page("{\"root\":1}", None)).await.unwrap();
        drop(store);
        let reopened = LocalPages::open(&db, legacy.clone()).unwrap();
        // (case, key, body and ETag read back)
        type Case<'a> = (&'a str, &'a str, Option<(&'a str, Option<&'a str>)>);
        let cases: [Case; 6] = [
            ("the last save of a key wins", "pkg", Some(("{\"second\":2}", Some("\"e2\"")))),
            ("the root page has a key like any other", "_root", Some(("{\"root\":1}", None))),
            ("an older version's file, not saved since", "missing-from-db", None),
            ("a page saved now is preferred to an older version's file", "old", Some(("{\"new\":3}", Some("\"n\"")))),
            ("a torn file of an older version reads as absent", "torn", None),
            ("never saved", "nothing", None),
        ];
        for (case, key, want) in cases {
            let got = reopened.load_page(key).await;
            assert_eq!(got.as_ref().map(|p| (p.body.as_str(), p.etag.as_deref())), want, "{case}");
        }
        std::fs::write(legacy.join("legacy-only.json"), serde_json::to_vec(&page("{\"l\":1}", None)).unwrap()).unwrap();
        let got = reopened.load_page("legacy-only").await.map(|p| p.body);
        assert_eq!(got.as_deref(), Some("{\"l\":1}"), "a page only an older version kept is read from its file");
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert!(
            files.iter().all(|f| f.to_string_lossy().starts_with("pages")),
            "saving pages creates no file per page: {files:?}"
        );
        assert_eq!(std::fs::read_dir(&legacy).unwrap().count(), 3, "nothing is written to the old folder");
    }
}
