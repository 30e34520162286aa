//! The raw policy schema exactly as written in YAML, one struct per mapping.
//!
//! Owns: the key names, which keys exist (`deny_unknown_fields` everywhere) and the
//! enum spellings serde can check on its own. Must not: interpret strings (globs,
//! specifiers, durations, dates): that is `compile`'s job, so it can report the
//! YAML path and line of a bad value.

use crate::model::IndexMode;
use crate::model::{Category, FileRole, Severity};
use serde::de::{self, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

/// One policy file, before `extends` merging and validation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    /// Relative path of a base policy merged under this one.
    pub extends: Option<String>,
    pub upstream: Option<RawUpstream>,
    pub listen: Option<String>,
    /// Fail open on scan/hash/policy failures. Named so it shouts.
    pub dangerous_fail_open: Option<bool>,
    /// How blocked versions appear on index pages by default.
    pub index: Option<IndexMode>,
    #[serde(default)]
    pub defaults: RawDefaults,
    #[serde(default)]
    pub rules: Vec<RawRule>,
    #[serde(default)]
    pub acceptances: Vec<RawAcceptance>,
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub deny: Vec<String>,
    #[serde(default)]
    pub cooldown: RawCooldown,
    #[serde(default)]
    pub sdists: RawSdists,
    /// Scanner resource limits (read at start-up); unset keys keep the safe defaults.
    #[serde(default)]
    pub scan_limits: RawScanLimits,
    /// Licence rules (`docs/policy.md#licences`); left out, licences are not judged.
    pub licences: Option<super::licence::RawLicences>,
    /// Index client authentication (`auth.users`); read on every request, so reloads apply.
    #[serde(default)]
    pub auth: RawAuth,
    /// Per-user and per-client request rates and downloads in progress.
    #[serde(default)]
    pub limits: RawLimits,
    /// Established behaviour (`docs/policy.md#established-behaviour`); left out, nothing is lowered.
    pub established: Option<RawEstablished>,
}

/// `established:` — a block on findings the project's baseline release already shipped
/// with the same evidence is lowered to `action`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEstablished {
    /// How much older than this file's release the baseline must be (`30d`).
    pub baseline_age: Option<String>,
    /// How long before this release the project's first upload must be (`365d`).
    pub min_history: Option<String>,
    /// How many releases the project must have published before this one.
    pub min_releases: Option<u32>,
    /// What an established finding becomes: `annotate` or `allow`.
    pub action: Option<Action>,
}

/// `auth:` — users and their hashed tokens.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuth {
    #[serde(default)]
    pub users: Vec<RawUser>,
    /// Accept index credentials over plain HTTP from other machines. Named so it shouts.
    pub dangerous_allow_plain_http: Option<bool>,
}

/// One `auth.users` entry: the token is never written here, only its hash.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUser {
    pub name: String,
    /// `sha256:<hex>`, as `pipgate auth add-user NAME` prints it.
    pub token_hash: String,
}

/// `limits:` — every key optional; unset means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    #[serde(default)]
    pub per_user: RawLimit,
    #[serde(default)]
    pub per_client: RawLimit,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimit {
    pub requests_per_second: Option<f64>,
    pub burst: Option<u32>,
    pub concurrent_downloads: Option<u32>,
}

impl RawLimits {
    /// `self` over `base`, key by key.
    pub(super) fn over(self, base: RawLimits) -> RawLimits {
        let one = |t: RawLimit, b: RawLimit| RawLimit {
            requests_per_second: t.requests_per_second.or(b.requests_per_second),
            burst: t.burst.or(b.burst),
            concurrent_downloads: t.concurrent_downloads.or(b.concurrent_downloads),
        };
        RawLimits { per_user: one(self.per_user, base.per_user), per_client: one(self.per_client, base.per_client) }
    }

    /// The run-time form (checked by `compile` first). A rate without a burst allows one
    /// second's worth of requests at once.
    pub(super) fn apply(self) -> crate::auth::limits::Config {
        let one = |l: RawLimit| crate::auth::limits::Limit {
            rate: l.requests_per_second.filter(|r| r.is_finite() && *r > 0.0).map(|r| crate::auth::limits::Rate {
                per_second: r,
                burst: l.burst.unwrap_or((r.ceil() as u32).max(1)),
            }),
            concurrent_downloads: l.concurrent_downloads.filter(|n| *n > 0),
        };
        crate::auth::limits::Config { per_user: one(self.per_user), per_client: one(self.per_client) }
    }
}

/// `scan_limits:` — every key optional, in bytes / counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScanLimits {
    pub max_total_bytes: Option<u64>,
    pub max_member_bytes: Option<u64>,
    pub max_text_bytes: Option<u64>,
    pub max_members: Option<u64>,
    pub max_ratio: Option<u64>,
    pub max_nesting: Option<u32>,
    pub max_scan_seconds: Option<u64>,
}

impl RawScanLimits {
    /// `self` over `base`, key by key (a team file's limits win over its base's).
    pub(super) fn over(self, base: RawScanLimits) -> RawScanLimits {
        RawScanLimits {
            max_total_bytes: self.max_total_bytes.or(base.max_total_bytes),
            max_member_bytes: self.max_member_bytes.or(base.max_member_bytes),
            max_text_bytes: self.max_text_bytes.or(base.max_text_bytes),
            max_members: self.max_members.or(base.max_members),
            max_ratio: self.max_ratio.or(base.max_ratio),
            max_nesting: self.max_nesting.or(base.max_nesting),
            max_scan_seconds: self.max_scan_seconds.or(base.max_scan_seconds),
        }
    }

    /// The scanner's defaults with these overrides applied.
    pub(super) fn apply(self) -> crate::scan::Limits {
        let d = crate::scan::Limits::default();
        crate::scan::Limits {
            max_total_bytes: self.max_total_bytes.unwrap_or(d.max_total_bytes),
            max_member_bytes: self.max_member_bytes.unwrap_or(d.max_member_bytes),
            max_text_bytes: self.max_text_bytes.unwrap_or(d.max_text_bytes),
            max_members: self.max_members.unwrap_or(d.max_members),
            max_ratio: self.max_ratio.unwrap_or(d.max_ratio),
            max_nesting: self.max_nesting.unwrap_or(d.max_nesting),
            max_scan_seconds: self.max_scan_seconds.unwrap_or(d.max_scan_seconds),
        }
    }
}

/// `upstream: URL` or `upstream: { url: URL }`.
#[derive(Debug, Clone)]
pub(super) enum RawUpstream {
    Url(String),
    Table(RawUpstreamTable),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUpstreamTable {
    pub url: String,
}

impl RawUpstream {
    pub(super) fn url(&self) -> &str {
        match self {
            RawUpstream::Url(u) => u,
            RawUpstream::Table(t) => &t.url,
        }
    }
}

/// What a rule or default does with a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Action {
    Allow,
    Annotate,
    Block,
}

impl Action {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Annotate => "annotate",
            Action::Block => "block",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    /// Action for a finding nothing else decides.
    pub action: Option<Action>,
    #[serde(default)]
    pub severity: BTreeMap<Severity, Action>,
    #[serde(default)]
    pub category: BTreeMap<Category, Action>,
}

/// One value or a list of values (hand-written so errors keep the inner message,
/// e.g. "unknown variant `netwrk`", instead of serde's untagged "did not match").
#[derive(Debug, Clone)]
pub(super) enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: Clone> OneOrMany<T> {
    pub(super) fn to_vec(&self) -> Vec<T> {
        match self {
            OneOrMany::One(v) => vec![v.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub id: Option<String>,
    #[serde(rename = "match", default)]
    pub matcher: RawMatch,
    pub action: Action,
    pub index: Option<IndexMode>,
    /// Extra sentence shown to pip/uv users when this rule blocks.
    pub message: Option<String>,
}

/// Every condition must hold (AND); a list inside one condition is an OR.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMatch {
    pub detector: Option<OneOrMany<String>>,
    pub category: Option<OneOrMany<Category>>,
    /// `high`, `>= high`, or a list of exact severities.
    pub severity: Option<OneOrMany<String>>,
    pub project: Option<OneOrMany<String>>,
    /// PEP 440 specifier set, e.g. `>=1.0,<2`.
    pub version: Option<String>,
    pub kind: Option<OneOrMany<RawKind>>,
    pub filename: Option<OneOrMany<String>>,
    pub role: Option<OneOrMany<FileRole>>,
    pub vulnerability: Option<RawVulnerability>,
    /// The finding is new since the previous release (true) or was there before (false).
    pub new_in_version: Option<bool>,
}

/// Artifact kinds a rule can name (`other` is deliberately not matchable by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawKind {
    Wheel,
    Sdist,
}

/// Typed hook for vulnerability findings (the data is another issue).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVulnerability {
    pub min_severity: Option<Severity>,
    pub exploited: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAcceptance {
    pub id: String,
    pub owner: String,
    /// Detector ids or globs this acceptance covers.
    pub findings: OneOrMany<String>,
    pub project: Option<String>,
    /// PEP 440 specifier, e.g. `==1.2.3`.
    pub version: Option<String>,
    pub sha256: Option<String>,
    /// An advisory record id (`MAL-…`, `PYSEC-…`, a CVE): the acceptance covers only
    /// findings naming it. Known malware is accepted only this way.
    pub advisory: Option<String>,
    pub reason: String,
    pub ticket: String,
    /// `2026-12-31` (midnight UTC) or RFC 3339.
    pub expires: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCooldown {
    /// `90m`, `12h`, `3d`, `1w`; `0` disables.
    pub min_age: Option<String>,
    #[serde(default)]
    pub exempt: Vec<String>,
    /// What to do with a release whose index gives no upload-time.
    pub missing_upload_time: Option<MissingUploadTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum MissingUploadTime {
    /// Serve it, saying in the reason that its age is unknown.
    Allow,
    /// Hold it as if it were too young.
    Hold,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSdists {
    /// Minimum action for an sdist's `execution.install-hook` finding (acceptances still win).
    pub install_hooks: Option<Action>,
}

struct OneOrManyVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for OneOrManyVisitor<T> {
    type Value = OneOrMany<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value or a list of values")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(OneOrMany::One)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(OneOrMany::One)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(OneOrMany::One)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(OneOrMany::One)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(OneOrMany::One)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element()? {
            out.push(item);
        }
        Ok(OneOrMany::Many(out))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OneOrManyVisitor(PhantomData))
    }
}

struct UpstreamVisitor;

impl<'de> Visitor<'de> for UpstreamVisitor {
    type Value = RawUpstream;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a URL or a map `{ url: URL }`")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(RawUpstream::Url(v.to_string()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        RawUpstreamTable::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawUpstream::Table)
    }
}

impl<'de> Deserialize<'de> for RawUpstream {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UpstreamVisitor)
    }
}
