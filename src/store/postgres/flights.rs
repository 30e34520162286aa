//! Single flight across replicas: a lease row per key in `flight_leases` (holder, expiry).
//! The holder renews it while it works; when it is done it deletes it; a lease left past its
//! expiry (the replica died or lost the database) is taken over by the next replica to ask.
//! Requests of one replica queue on an in-process lock first, so only one per replica polls.
//! Must not: hold a database connection while waiting or while the lease is held.

use super::{client, describe};
use crate::store::{FlightGuard, LocalFlights, SingleFlight, StoreError};
use async_trait::async_trait;
use deadpool_postgres::Pool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long a lease lives without renewal; renewed every third of it.
pub(crate) const LEASE: Duration = Duration::from_secs(15);
/// Polling while another replica holds the lease: from the first to the longest pause.
const POLL_FIRST: Duration = Duration::from_millis(50);
const POLL_LONGEST: Duration = Duration::from_millis(500);

pub(crate) struct PgFlights {
    pool: Pool,
    /// This replica (random), for lease holders' names: `<replica>/<n>`.
    replica: String,
    next: AtomicU64,
    lease: Duration,
    local: LocalFlights,
}

impl PgFlights {
    pub(crate) fn new(pool: Pool, lease: Duration) -> PgFlights {
        let mut id = [0u8; 8];
        let _ = getrandom::getrandom(&mut id);
        PgFlights { pool, replica: hex::encode(id), next: AtomicU64::new(0), lease, local: LocalFlights::default() }
    }

    /// Take the lease of `key` for `holder` if nobody holds a live one. `Ok(false)`: held.
    async fn try_take(&self, key: &str, holder: &str) -> Result<bool, StoreError> {
        let op = "take flight lease";
        let c = client(&self.pool, op).await?;
        let rows = c
            .query(
                "INSERT INTO flight_leases (key, holder, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))
                 ON CONFLICT (key) DO UPDATE SET holder=EXCLUDED.holder, expires_at=EXCLUDED.expires_at
                 WHERE flight_leases.expires_at < now()
                 RETURNING (SELECT holder FROM flight_leases WHERE key=$1)",
                &[&key, &holder, &self.lease.as_secs_f64()],
            )
            .await
            .map_err(|e| StoreError::new(op, describe(&e)))?;
        if let Some(previous) = rows.first().and_then(|r| r.get::<_, Option<String>>(0)) {
            tracing::warn!(key, previous = %previous, "took over an expired flight lease (its replica died or stalled)");
        }
        Ok(!rows.is_empty())
    }
}

/// The lease, held: renewed in the background, deleted on drop.
struct Lease {
    key: String,
    holder: String,
    pool: Pool,
    renew: tokio::task::JoinHandle<()>,
    _local: FlightGuard,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renew.abort();
        let (key, holder, pool) = (std::mem::take(&mut self.key), std::mem::take(&mut self.holder), self.pool.clone());
        // Without a runtime (shutting down) the lease simply expires.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let done = async {
                    let c = client(&pool, "release flight lease").await?;
                    c.execute("DELETE FROM flight_leases WHERE key=$1 AND holder=$2", &[&key, &holder])
                        .await
                        .map_err(|e| StoreError::new("release flight lease", describe(&e)))
                };
                if let Err(e) = done.await {
                    tracing::warn!(key, error = %e, "could not release a flight lease; it expires by itself");
                }
            });
        }
    }
}

#[async_trait]
impl SingleFlight for PgFlights {
    async fn acquire(&self, key: &str) -> FlightGuard {
        let local = self.local.acquire(key).await;
        let holder = format!("{}/{}", self.replica, self.next.fetch_add(1, Ordering::Relaxed));
        let mut pause = POLL_FIRST;
        let mut waited = false;
        loop {
            match self.try_take(key, &holder).await {
                Ok(true) => break,
                Ok(false) => {
                    if !waited {
                        tracing::debug!(key, "another replica holds this file's flight lease; waiting");
                        waited = true;
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(POLL_LONGEST);
                }
                Err(e) => {
                    // Serving goes on: the scan is still stored once per sha256 and every
                    // replica reads it; at worst two replicas scan the same new file.
                    tracing::warn!(key, error = %e, "cross-replica single flight unavailable; coalescing in this replica only");
                    return local;
                }
            }
        }
        if waited {
            tracing::debug!(key, "flight lease taken after waiting");
        }
        let renew = {
            let (pool, key, holder, every) = (self.pool.clone(), key.to_string(), holder.clone(), self.lease / 3);
            let secs = self.lease.as_secs_f64();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let renewed = async {
                        let c = client(&pool, "renew flight lease").await?;
                        c.execute(
                            "UPDATE flight_leases SET expires_at = now() + make_interval(secs => $3)
                             WHERE key=$1 AND holder=$2",
                            &[&key, &holder, &secs],
                        )
                        .await
                        .map_err(|e| StoreError::new("renew flight lease", describe(&e)))
                    };
                    match renewed.await {
                        Ok(0) => tracing::warn!(key, "lost a flight lease to another replica (this one stalled)"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(key, error = %e, "could not renew a flight lease"),
                    }
                }
            })
        };
        Box::new(Lease { key: key.to_string(), holder, pool: self.pool.clone(), renew, _local: local })
    }
}
