//! Schema migrations of the PostgreSQL backend: the numbered files in `migrations/postgres/`,
//! applied in order at start-up, each in its own transaction, recorded in
//! `pipgate_migrations`. The whole run holds a session advisory lock, so replicas starting at
//! once apply each migration exactly once (the second waits, then finds nothing to do).
//! Must not: change an applied migration (add the next file instead).

use super::{describe, Tls};
use crate::store::StoreError;

/// Every migration, in order: (version, name, SQL).
pub(crate) const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "init", include_str!("../../../migrations/postgres/0001_init.sql")),
    (2, "audit", include_str!("../../../migrations/postgres/0002_audit.sql")),
];

/// The advisory lock key of the migration run (an arbitrary constant: "pipgate" in ASCII).
const LOCK: i64 = 0x0070_6970_6761_7465;

/// Migrate on a thread of its own with its own runtime and connection, so start-up works
/// from inside or outside a runtime. Returns the names of the migrations this call applied.
pub(crate) fn run_blocking(config: &tokio_postgres::Config, tls: &Tls) -> Result<Vec<String>, StoreError> {
    let (config, tls) = (config.clone(), tls.clone());
    std::thread::scope(|s| {
        s.spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| StoreError::new("migrate", e))?;
            rt.block_on(run(&config, tls))
        })
        .join()
        .unwrap_or_else(|_| Err(StoreError::new("migrate", "the migration thread panicked")))
    })
}

/// Connect, take the lock, apply what is missing, let go.
pub(crate) async fn run(config: &tokio_postgres::Config, tls: Tls) -> Result<Vec<String>, StoreError> {
    let err = |op: &'static str| move |e: tokio_postgres::Error| StoreError::new(op, describe(&e));
    let connect = tokio::time::timeout(std::time::Duration::from_secs(30), config.connect(tls))
        .await
        .map_err(|_| StoreError::new("connect", "no answer within 30 s"))?;
    let (mut client, conn) = connect.map_err(err("connect"))?;
    let driver = tokio::spawn(conn);
    let result = async {
        // Session lock: released by the unlock below, or by the server if this process dies.
        client.execute("SELECT pg_advisory_lock($1)", &[&LOCK]).await.map_err(err("lock for migrations"))?;
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS pipgate_migrations (
                    version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
            )
            .await
            .map_err(err("create migrations table"))?;
        let done: Vec<i32> = client
            .query("SELECT version FROM pipgate_migrations", &[])
            .await
            .map_err(err("read migrations"))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let newest_known = MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0);
        if let Some(newer) = done.iter().copied().filter(|v| *v > newest_known).max() {
            tracing::warn!(
                database_version = newer,
                known = newest_known,
                "the database schema is newer than this build (a newer replica migrated it)"
            );
        }
        let mut applied = Vec::new();
        for (version, name, sql) in MIGRATIONS {
            if done.contains(version) {
                continue;
            }
            let tx = client.transaction().await.map_err(err("migrate"))?;
            tx.batch_execute(sql).await.map_err(|e| StoreError::new("migrate", format!("{name}: {}", describe(&e))))?;
            tx.execute("INSERT INTO pipgate_migrations (version, name) VALUES ($1, $2)", &[version, name])
                .await
                .map_err(err("record migration"))?;
            tx.commit().await.map_err(err("migrate"))?;
            applied.push(format!("{version:04}_{name}"));
        }
        client.execute("SELECT pg_advisory_unlock($1)", &[&LOCK]).await.map_err(err("unlock after migrations"))?;
        Ok(applied)
    }
    .await;
    drop(client);
    let _ = driver.await;
    result
}
