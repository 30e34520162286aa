//! The page store of the embedded backend: one JSON file per page under `<data-dir>/pages/`,
//! written to a temporary name and renamed, so a torn write is never read back.
//! Must not: parse pages (that is `index`) or decide.

use super::{PageStore, StoreError};
use crate::model::CachedPage;
use async_trait::async_trait;
use std::path::PathBuf;

pub(crate) struct DiskPages {
    dir: PathBuf,
}

impl DiskPages {
    pub(crate) fn new(dir: PathBuf) -> Self {
        DiskPages { dir }
    }
}

#[async_trait]
impl PageStore for DiskPages {
    async fn load_page(&self, key: &str) -> Option<CachedPage> {
        let text = tokio::fs::read_to_string(self.dir.join(format!("{key}.json"))).await.ok()?;
        serde_json::from_str(&text).ok()
    }

    async fn save_page(&self, key: &str, page: &CachedPage) -> Result<(), StoreError> {
        let err = |e: std::io::Error| StoreError::new("save page", e);
        let bytes = serde_json::to_vec(page).map_err(|e| StoreError::new("save page", e))?;
        let tmp = self.dir.join(format!("{key}.json.{}.tmp", std::process::id()));
        tokio::fs::write(&tmp, bytes).await.map_err(err)?;
        tokio::fs::rename(&tmp, self.dir.join(format!("{key}.json"))).await.map_err(err)
    }
}
