//! Per-user and per-client limits: requests per second (a token bucket per key, `governor`)
//! and downloads in progress (a semaphore per key, waited for briefly).
//!
//! Owns: the `limits:` settings' run-time form and the limiter state. A client is an IP
//! address; a user is an authenticated name (no user, no per-user limit).
//! Must not: authenticate or build responses.

use super::Refusal;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a download waits for a free slot before it is answered 429: below pip's default
/// 15 s read timeout, so a waiting pip never times out first.
pub(crate) const DOWNLOAD_SLOT_WAIT: Duration = Duration::from_secs(10);

/// Keyed state is pruned of idle keys every this many checks.
const PRUNE_EVERY: u64 = 4096;

/// One scope's limits (`limits.per_user` or `limits.per_client`); `None`: unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Limit {
    /// Sustained requests per second and the burst allowed above it.
    pub rate: Option<Rate>,
    pub concurrent_downloads: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rate {
    pub per_second: f64,
    pub burst: u32,
}

/// `limits:`. Off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Config {
    pub per_user: Limit,
    pub per_client: Limit,
}

/// A token bucket per key.
struct RateLimiter<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    rate: Rate,
    checks: AtomicU64,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    fn new(rate: Rate) -> Option<RateLimiter<K>> {
        let period = Duration::from_secs_f64(1.0 / rate.per_second);
        let quota = Quota::with_period(period)?.allow_burst(NonZeroU32::new(rate.burst.max(1))?);
        Some(RateLimiter { limiter: governor::RateLimiter::keyed(quota), rate, checks: AtomicU64::new(0) })
    }

    /// `Err(wait)` when `key` has no token left.
    fn check(&self, key: &K) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter.check_key(key).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    fn refusal(&self, who: String, setting: &'static str, wait: Duration) -> Refusal {
        Refusal::RateLimited {
            who,
            rate: format!("{}", self.rate.per_second),
            burst: self.rate.burst,
            setting,
            retry_after: wait,
        }
    }
}

/// A semaphore of `max` permits per key; keys nobody holds or waits for are pruned.
struct Slots<K> {
    max: u32,
    map: Mutex<HashMap<K, Arc<Semaphore>>>,
}

impl<K: Hash + Eq + Clone> Slots<K> {
    fn new(max: u32) -> Slots<K> {
        Slots { max: max.max(1), map: Mutex::default() }
    }

    async fn acquire(&self, key: &K, wait: Duration) -> Option<OwnedSemaphorePermit> {
        let sem = {
            let mut map = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if map.len() >= 1024 {
                // The map's own reference is the only one: nobody holds or waits.
                map.retain(|_, s| Arc::strong_count(s) > 1);
            }
            map.entry(key.clone()).or_insert_with(|| Arc::new(Semaphore::new(self.max as usize))).clone()
        };
        tokio::time::timeout(wait, sem.acquire_owned()).await.ok()?.ok()
    }
}

/// Download slots a request holds; released when dropped.
#[derive(Debug, Default)]
pub(crate) struct Held(Vec<OwnedSemaphorePermit>);

impl Held {
    pub(crate) fn none() -> Held {
        Held(Vec::new())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// All limiter state for one [`Config`].
pub(crate) struct Limiters {
    user_rate: Option<RateLimiter<String>>,
    client_rate: Option<RateLimiter<IpAddr>>,
    user_slots: Option<Slots<String>>,
    client_slots: Option<Slots<IpAddr>>,
    wait: Duration,
}

impl Limiters {
    pub(crate) fn new(cfg: &Config, wait: Duration) -> Limiters {
        Limiters {
            user_rate: cfg.per_user.rate.and_then(RateLimiter::new),
            client_rate: cfg.per_client.rate.and_then(RateLimiter::new),
            user_slots: cfg.per_user.concurrent_downloads.map(Slots::new),
            client_slots: cfg.per_client.concurrent_downloads.map(Slots::new),
            wait,
        }
    }

    pub(crate) fn check_client_rate(&self, ip: IpAddr) -> Result<(), Refusal> {
        match &self.client_rate {
            Some(r) => r.check(&ip).map_err(|w| r.refusal(format!("client {ip}"), "limits.per_client", w)),
            None => Ok(()),
        }
    }

    pub(crate) fn check_user_rate(&self, user: &str) -> Result<(), Refusal> {
        match &self.user_rate {
            Some(r) => r.check(&user.to_string()).map_err(|w| r.refusal(format!("user {user}"), "limits.per_user", w)),
            None => Ok(()),
        }
    }

    /// A download slot for the client and one for the user (when limited), each waited for
    /// up to the configured wait.
    pub(crate) async fn download_slots(&self, ip: IpAddr, user: Option<&str>) -> Result<Held, Refusal> {
        let mut held = Held::none();
        if let Some(s) = &self.client_slots {
            let busy = || Refusal::DownloadsBusy {
                who: format!("client {ip}"),
                max: s.max,
                setting: "limits.per_client.concurrent_downloads",
                waited: self.wait,
            };
            held.0.push(s.acquire(&ip, self.wait).await.ok_or_else(busy)?);
        }
        if let (Some(s), Some(user)) = (&self.user_slots, user) {
            let busy = || Refusal::DownloadsBusy {
                who: format!("user {user}"),
                max: s.max,
                setting: "limits.per_user.concurrent_downloads",
                waited: self.wait,
            };
            held.0.push(s.acquire(&user.to_string(), self.wait).await.ok_or_else(busy)?);
        }
        Ok(held)
    }
}
