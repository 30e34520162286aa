//! The shared vocabulary: what an artifact is, what a scan found, what the gate decided.
//!
//! Every other module speaks these types; this module owns no behaviour beyond
//! naming, ordering, (de)serialising and printing them (outside text goes into logs and
//! tables through [`Printable`]). It must not grow I/O or policy logic.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// Text from outside (filenames, user agents, upstream strings, errors quoting them) made
/// safe for one log line or a terminal: control characters (CR, LF, NUL, ESC, DEL, C1) are
/// escaped as `\r`, `\n`, `\0`, `\u{1b}`…, and bidirectional overrides as `\u{202e}`…;
/// everything else is shown as is.
pub(crate) struct Printable<'a>(pub &'a str);

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_debug())?;
            } else if matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
                write!(f, "{}", c.escape_unicode())?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// PEP 503 name normalisation: `re.sub(r"[-_.]+", "-", name).lower()`.
pub fn normalize_project_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_sep = false;
    for c in name.chars() {
        if c == '-' || c == '_' || c == '.' {
            if !in_sep {
                out.push('-');
            }
            in_sep = true;
        } else {
            out.extend(c.to_lowercase());
            in_sep = false;
        }
    }
    out
}

/// PEP 440 equality (`1.0` == `1.0.0`, `1.0-rc1` == `1.0rc1`), falling back to exact
/// string equality when either side is not a PEP 440 version.
pub(crate) fn same_version(a: &str, b: &str) -> bool {
    use std::str::FromStr;
    match (pep440_rs::Version::from_str(a), pep440_rs::Version::from_str(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// A sha256 digest as exactly 64 lowercase hex digits: the only text pipgate ever
/// builds an artifact path or a `/files/` key from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256(String);

/// Text that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a sha256 (64 hex digits): {0:?}")]
pub struct BadSha256(pub String);

impl Sha256 {
    /// Exactly 64 ASCII hex digits, either case; stored lowercase.
    pub fn parse(s: &str) -> Result<Sha256, BadSha256> {
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Sha256(s.to_ascii_lowercase()))
        } else {
            Err(BadSha256(s.chars().take(80).collect()))
        }
    }
    /// The digest of `bytes`.
    pub fn digest(bytes: impl AsRef<[u8]>) -> Sha256 {
        use sha2::Digest;
        Sha256::from_bytes(sha2::Sha256::digest(bytes.as_ref()).into())
    }
    /// A finished digest.
    pub fn from_bytes(digest: [u8; 32]) -> Sha256 {
        Sha256(hex::encode(digest))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The first two hex digits: the fan-out directory of the content-addressed store.
    pub fn prefix(&self) -> &str {
        &self.0[..2]
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Sha256 {
    type Err = BadSha256;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sha256::parse(s)
    }
}

impl TryFrom<String> for Sha256 {
    type Error = BadSha256;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Sha256::parse(&s)
    }
}

impl From<Sha256> for String {
    fn from(s: Sha256) -> String {
        s.0
    }
}

/// Reads as the hex text, so it goes wherever a `&str` is expected.
impl std::ops::Deref for Sha256 {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Sha256 {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The key of a file under `/files/<key>/<filename>`: the index's sha256, or `u-` and the
/// sha256 of the upstream URL when the index gave none. Never anything else.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum FileKey {
    Sha256(Sha256),
    Url(Sha256),
}

impl FileKey {
    /// `<sha256>` or `u-<sha256>`; anything else is refused.
    pub(crate) fn parse(s: &str) -> Result<FileKey, BadSha256> {
        match s.strip_prefix("u-") {
            Some(rest) => Sha256::parse(rest).map(FileKey::Url).map_err(|_| BadSha256(s.chars().take(80).collect())),
            None => Sha256::parse(s).map(FileKey::Sha256),
        }
    }
}

impl fmt::Display for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileKey::Sha256(h) => write!(f, "{h}"),
            FileKey::Url(h) => write!(f, "u-{h}"),
        }
    }
}

/// What kind of distribution file an artifact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactKind {
    Wheel,
    Sdist,
    /// Legacy `.egg` and anything else the index lists.
    Other,
}

impl ArtifactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::Wheel => "wheel",
            ArtifactKind::Sdist => "sdist",
            ArtifactKind::Other => "other",
        }
    }
}

/// A distribution filename split into its project, version and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DistFilename {
    /// The project name as written in the filename (not normalised).
    pub project: String,
    pub version: String,
    pub kind: ArtifactKind,
}

/// A wheel's `python-abi-platform` tags as written (the last three fields of its name);
/// `None` for a name that is not a wheel's.
pub(crate) fn wheel_tag_triple(filename: &str) -> Option<&str> {
    let stem = filename.strip_suffix(".whl")?;
    if stem.split('-').count() < 5 {
        return None;
    }
    let start = stem.rmatch_indices('-').nth(2)?.0;
    Some(&stem[start + 1..])
}

const SDIST_SUFFIXES: &[&str] = &[".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".tar", ".zip"];

/// Parse a wheel, sdist or egg filename. Returns `None` for names that are none of those.
///
/// Sdist names are ambiguous (`foo-bar-1.0.tar.gz`); the version is taken as the
/// text after the last `-` whose next character is a digit, which is what
/// resolvers do when they do not know the project name.
pub(crate) fn parse_dist_filename(filename: &str) -> Option<DistFilename> {
    if let Some(stem) = filename.strip_suffix(".whl") {
        let mut parts = stem.split('-');
        let project = parts.next()?.to_string();
        let version = parts.next()?.to_string();
        if project.is_empty() || version.is_empty() || stem.split('-').count() < 5 {
            return None;
        }
        return Some(DistFilename { project, version, kind: ArtifactKind::Wheel });
    }
    if let Some(stem) = filename.strip_suffix(".egg") {
        let mut parts = stem.split('-');
        let project = parts.next()?.to_string();
        let version = parts.next()?.to_string();
        return Some(DistFilename { project, version, kind: ArtifactKind::Other });
    }
    let lower = filename.to_ascii_lowercase();
    let suffix = SDIST_SUFFIXES.iter().find(|s| lower.ends_with(*s))?;
    let stem = &filename[..filename.len() - suffix.len()];
    let split = stem
        .char_indices()
        .filter(|(i, c)| *c == '-' && stem[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
        .map(|(i, _)| i)
        .next_back()?;
    let (project, version) = (&stem[..split], &stem[split + 1..]);
    if project.is_empty() || version.is_empty() {
        return None;
    }
    Some(DistFilename { project: project.to_string(), version: version.to_string(), kind: ArtifactKind::Sdist })
}

/// Everything the gate knows about one verified artifact before it decides.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArtifactFacts {
    /// Normalised project name.
    pub project: String,
    pub version: Option<String>,
    pub filename: String,
    /// Lowercase hex sha256 of the bytes on disk (verified against the index).
    pub sha256: String,
    pub kind: ArtifactKind,
    pub size: u64,
    /// PEP 700 upload time as the index gave it (RFC 3339), if any.
    pub upload_time: Option<String>,
    /// Where the verified bytes are, content-addressed.
    #[serde(skip)]
    pub path: PathBuf,
    /// The licence the scan read from the bytes (`None`: not scanned yet, so licence rules
    /// are not applied; the gate fills it in from the report before the policy decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<Licence>,
    /// What is new since the previous release (`None`: not looked at; the gate fills it in
    /// when the policy asks, before it decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_in_version: Option<VersionDiff>,
    /// The comparison with the project's established baseline release (`None`: not looked
    /// at; the gate fills it in only when a block could be lowered by `established:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub established: Option<Established>,
}

/// Where a file listed on one of our pages comes from, recorded when the page is rewritten,
/// so that `/files/<key>/<filename>` keeps working across restarts and for lockfiles.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FileOrigin {
    /// The path key: the index's sha256, or `u-<sha256 of the upstream URL>` when the index gave none.
    pub key: String,
    pub filename: String,
    /// Normalised project name.
    pub project: String,
    /// Absolute upstream URL (may carry credentials: never log it unredacted).
    pub url: String,
    pub hashes: std::collections::BTreeMap<String, String>,
    pub upload_time: Option<String>,
    pub size: Option<u64>,
    /// The upstream's core-metadata advert, if any.
    pub core_metadata: Option<serde_json::Value>,
}

/// What pipgate knows about a verified artifact.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verified {
    pub sha256: Sha256,
    /// sha256 of the core metadata pipgate extracted, when it did.
    pub metadata_sha256: Option<String>,
}

/// An upstream index page as cached (memory, and the page store for restarts and outages).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CachedPage {
    pub url: String,
    /// Unix seconds of the last successful fetch or revalidation.
    pub fetched_at: i64,
    pub etag: Option<String>,
    pub content_type: String,
    pub body: String,
}

impl ArtifactFacts {
    /// Facts before (or without) a verified download: the index's sha256 if it gave one.
    pub(crate) fn unverified(origin: &FileOrigin) -> ArtifactFacts {
        let sha = origin.hashes.get("sha256").cloned().unwrap_or_default();
        ArtifactFacts::describe(
            &origin.project,
            &origin.filename,
            &sha,
            origin.upload_time.clone(),
            0,
            Default::default(),
        )
    }

    /// Facts from what the index and the download told: project, filename (which gives
    /// version and kind), sha256, upload time, size and where the bytes are.
    pub fn describe(
        project: &str,
        filename: &str,
        sha256: &str,
        upload_time: Option<String>,
        size: u64,
        path: PathBuf,
    ) -> ArtifactFacts {
        let parsed = parse_dist_filename(filename);
        ArtifactFacts {
            project: project.to_string(),
            version: parsed.as_ref().map(|d| d.version.clone()),
            filename: filename.to_string(),
            sha256: sha256.to_string(),
            kind: parsed.map(|d| d.kind).unwrap_or(ArtifactKind::Other),
            size,
            upload_time,
            path,
            licence: None,
            new_in_version: None,
            established: None,
        }
    }

    /// The same facts with the licence a scan report read (what licence rules judge).
    pub fn with_licence(&self, licence: &Licence) -> ArtifactFacts {
        ArtifactFacts { licence: Some(licence.clone()), ..self.clone() }
    }
}

/// What a request asked for, as the audit log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RequestKind {
    /// An artifact's bytes.
    File,
    /// An artifact's core metadata (PEP 658), gated like the file.
    Metadata,
    /// An index page.
    Page,
}

impl RequestKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RequestKind::File => "file",
            RequestKind::Metadata => "metadata",
            RequestKind::Page => "page",
        }
    }
}

/// How bad a finding is on its own, before the policy weighs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] =
        [Severity::Info, Severity::Low, Severity::Medium, Severity::High, Severity::Critical];
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Behaviour categories, grouped as the reference reports group them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Network,
    Execution,
    FileSystem,
    Anomaly,
    Obfuscation,
    Secrets,
    Metadata,
    Hunting,
    Vulnerability,
    /// Known malware: an advisory record (`MAL-…`) names this release or file.
    Malware,
}

impl Category {
    pub const ALL: [Category; 10] = [
        Category::Network,
        Category::Execution,
        Category::FileSystem,
        Category::Anomaly,
        Category::Obfuscation,
        Category::Secrets,
        Category::Metadata,
        Category::Hunting,
        Category::Vulnerability,
        Category::Malware,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Network => "network",
            Category::Execution => "execution",
            Category::FileSystem => "file-system",
            Category::Anomaly => "anomaly",
            Category::Obfuscation => "obfuscation",
            Category::Secrets => "secrets",
            Category::Metadata => "metadata",
            Category::Hunting => "hunting",
            Category::Vulnerability => "vulnerability",
            Category::Malware => "malware",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where in the package a piece of evidence sits, which changes how much it matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileRole {
    /// Runs when the package is installed or imported implicitly: `setup.py`, `.pth`, build hooks.
    InstallTime,
    /// Library code that runs when its module is imported: module top level, class bodies and
    /// top-level `if`/`try`/`with`/`for` bodies, not function bodies. Set per evidence by the
    /// scanner; a policy's `role: runtime` matches it too (it is runtime code that runs on import).
    ImportTime,
    /// Library or application code (inside functions, for evidence in Python modules).
    Runtime,
    /// Tests, examples, docs: present but rarely executed by users.
    TestOrDocs,
    /// Packaging metadata (`METADATA`, `PKG-INFO`, `pyproject.toml`, `RECORD`).
    Metadata,
    /// Native or other binary content.
    Binary,
    Other,
}

/// One piece of evidence for a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Member path inside the archive (nested archives as `outer.whl!/inner/path`).
    pub path: String,
    /// 1-based line, when the evidence is in text.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<u32>,
    /// 1-based column (in characters), when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub column: Option<u32>,
    /// A short excerpt, with secrets redacted to a prefix.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub snippet: Option<String>,
    /// The matched indicator: URL, IP, domain, email, token prefix, API name.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub indicator: Option<String>,
    pub role: FileRole,
    /// This piece's own severity, as its detector rated it (the finding's severity is the
    /// worst of its pieces'). A policy rule's role and severity conditions must hold for the
    /// same piece: a Low piece at install time beside a High one in a template is no
    /// high-severity install-time behaviour. `None` (evidence recorded before pieces carried
    /// it, or made outside the scanner) stands for the finding's severity.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub severity: Option<Severity>,
}

/// What one detector found, with all its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable detector id, e.g. `network.downloads-file`.
    pub detector: String,
    pub title: String,
    pub category: Category,
    pub severity: Severity,
    /// One line saying what was found, for block messages and logs.
    pub message: String,
    pub evidence: Vec<Evidence>,
}

/// How far a vulnerability is known to be exploited, least to most (the seed reports'
/// wording). Advisory findings carry it as the indicator of their `exploitation` evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exploitation {
    /// Nothing says an exploit exists.
    ExploitsUnknown,
    /// The record references a demonstration (an OSV `EVIDENCE` reference).
    ExploitExists,
    /// On a known-exploited-vulnerabilities list.
    ExploitedInTheWild,
    /// On such a list with a remediation deadline (KEV `dueDate`).
    PatchingMandated,
}

impl Exploitation {
    /// The evidence `path` that carries the status.
    pub const EVIDENCE_PATH: &'static str = "exploitation";
    pub const ALL: [Exploitation; 4] = [
        Exploitation::ExploitsUnknown,
        Exploitation::ExploitExists,
        Exploitation::ExploitedInTheWild,
        Exploitation::PatchingMandated,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Exploitation::ExploitsUnknown => "exploits-unknown",
            Exploitation::ExploitExists => "exploit-exists",
            Exploitation::ExploitedInTheWild => "exploited-in-the-wild",
            Exploitation::PatchingMandated => "patching-mandated",
        }
    }
    /// Exploited in the wild (or more): what a policy's `exploited: true` means.
    pub fn is_exploited(self) -> bool {
        self >= Exploitation::ExploitedInTheWild
    }
    /// The status a finding's evidence records (none recorded: exploits unknown).
    pub fn of(f: &Finding) -> Exploitation {
        f.evidence
            .iter()
            .filter(|e| e.path == Self::EVIDENCE_PATH)
            .filter_map(|e| e.indicator.as_deref())
            .filter_map(|i| Self::ALL.into_iter().find(|x| x.as_str() == i))
            .max()
            .unwrap_or(Exploitation::ExploitsUnknown)
    }
}

impl fmt::Display for Exploitation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str().replace('-', " "))
    }
}

/// The advisory record ids a finding names (evidence paths `advisory:<ID>`, and the
/// aliases listed as that evidence's indicator), for acceptances that must name one.
pub fn advisory_ids(f: &Finding) -> Vec<&str> {
    let mut out = Vec::new();
    for e in &f.evidence {
        if let Some(id) = e.path.strip_prefix("advisory:") {
            out.push(id);
            out.extend(e.indicator.as_deref().unwrap_or("").split(", ").filter(|a| !a.is_empty() && *a != id));
        }
    }
    out
}

/// What the gate decided for one artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Serve,
    Annotate,
    Block,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Serve => "serve",
            Decision::Annotate => "annotate",
            Decision::Block => "block",
        }
    }
}

/// What kind of thing decided: the typed form of a reason's machine id. It is written
/// to the audit log and shown to users as its string form (`rule:<id>`, `cooldown`, ...),
/// and read back from it, so the log format does not depend on this enum's layout.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum ReasonCode {
    /// The release is on the policy's deny list.
    DenyList,
    /// The project is on the allow list: findings were not weighed.
    AllowList,
    /// A cooldown hold: the release is younger than the policy's minimum age.
    Cooldown,
    /// The index gave no upload time, and the policy lets such releases through.
    CooldownNoUploadTime,
    /// Nothing was found and nothing else applied.
    NoFindings,
    /// A policy rule decided (its id or `rules[N]`).
    Rule(String),
    /// A risk acceptance covered the finding (its id).
    Acceptance(String),
    /// A risk acceptance would have covered the finding but has expired (its id).
    AcceptanceExpired(String),
    /// `sdists.install_hooks` raised an sdist's install hook.
    SdistInstallHooks,
    /// `defaults.categories`.
    DefaultCategory,
    /// `defaults.severities`.
    DefaultSeverity,
    /// `defaults.action`.
    DefaultGlobal,
    /// pipgate could not check something and blocked it (what it could not do).
    FailClosed(String),
    /// pipgate could not check something and served it anyway (`dangerous_fail_open`).
    FailOpen(String),
    /// The request failed before any decision (whose fault it was).
    Error(String),
    /// A page decision: an index page hid or marked yanked a blocked file (audit only).
    Withheld,
    /// The policy's `licences:` section decided (`denied`, `not-allowed`, `unknown`, `exception`).
    Licence(String),
    /// Known malware: blocked whatever rules and lists say, unless an acceptance names its record id.
    KnownMalware,
    /// `established:` lowered a block: the project's baseline release shipped the same evidence.
    Established,
    /// A code this version does not know (read back from an older or newer log).
    Other(String),
}

impl ReasonCode {
    /// A hold that needs no download: deny list or cooldown.
    pub fn is_release_hold(&self) -> bool {
        matches!(self, ReasonCode::DenyList | ReasonCode::Cooldown)
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReasonCode::DenyList => f.write_str("deny-list"),
            ReasonCode::AllowList => f.write_str("allow-list"),
            ReasonCode::Cooldown => f.write_str("cooldown"),
            ReasonCode::CooldownNoUploadTime => f.write_str("cooldown:no-upload-time"),
            ReasonCode::NoFindings => f.write_str("no-findings"),
            ReasonCode::Rule(id) => write!(f, "rule:{id}"),
            ReasonCode::Acceptance(id) => write!(f, "acceptance:{id}"),
            ReasonCode::AcceptanceExpired(id) => write!(f, "acceptance-expired:{id}"),
            ReasonCode::SdistInstallHooks => f.write_str("sdists:install_hooks"),
            ReasonCode::DefaultCategory => f.write_str("default:category"),
            ReasonCode::DefaultSeverity => f.write_str("default:severity"),
            ReasonCode::DefaultGlobal => f.write_str("default:global"),
            ReasonCode::FailClosed(what) => write!(f, "fail-closed:{what}"),
            ReasonCode::FailOpen(what) => write!(f, "fail-open:{what}"),
            ReasonCode::Error(fault) => write!(f, "error:{fault}"),
            ReasonCode::Withheld => f.write_str("withheld"),
            ReasonCode::Licence(what) => write!(f, "licence:{what}"),
            ReasonCode::KnownMalware => f.write_str("known-malware"),
            ReasonCode::Established => f.write_str("established"),
            ReasonCode::Other(s) => f.write_str(s),
        }
    }
}

impl From<String> for ReasonCode {
    fn from(s: String) -> Self {
        let fixed = [
            ReasonCode::DenyList,
            ReasonCode::AllowList,
            ReasonCode::Cooldown,
            ReasonCode::CooldownNoUploadTime,
            ReasonCode::NoFindings,
            ReasonCode::SdistInstallHooks,
            ReasonCode::DefaultCategory,
            ReasonCode::DefaultSeverity,
            ReasonCode::DefaultGlobal,
            ReasonCode::Withheld,
            ReasonCode::KnownMalware,
            ReasonCode::Established,
        ];
        if let Some(c) = fixed.into_iter().find(|c| c.to_string() == s) {
            return c;
        }
        type Make = fn(String) -> ReasonCode;
        let tagged: [(&str, Make); 7] = [
            ("rule:", ReasonCode::Rule),
            ("acceptance:", ReasonCode::Acceptance),
            ("acceptance-expired:", ReasonCode::AcceptanceExpired),
            ("fail-closed:", ReasonCode::FailClosed),
            ("fail-open:", ReasonCode::FailOpen),
            ("error:", ReasonCode::Error),
            ("licence:", ReasonCode::Licence),
        ];
        for (prefix, make) in tagged {
            if let Some(rest) = s.strip_prefix(prefix) {
                return make(rest.to_string());
            }
        }
        ReasonCode::Other(s)
    }
}

impl From<ReasonCode> for String {
    fn from(c: ReasonCode) -> Self {
        c.to_string()
    }
}

/// Why the gate decided as it did: one entry per rule, acceptance or failure that contributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// What decided; serialised as its machine id (`rule:<id>`, `acceptance:<id>`, `cooldown`, ...).
    pub code: ReasonCode,
    /// Human sentence, ASCII-safe enough for logs.
    pub message: String,
    /// Detector ids this reason is about.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub findings: Vec<String>,
}

/// The gate's answer for one artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub decision: Decision,
    pub reasons: Vec<Reason>,
    /// Detector ids of every finding the decision considered.
    #[serde(default)]
    pub findings: Vec<String>,
    /// Acceptance ids that were used.
    #[serde(default)]
    pub acceptances: Vec<String>,
    /// Hex digest of the policy that decided (empty when no policy was involved).
    #[serde(default)]
    pub policy_digest: String,
    /// How index pages show this version when it is blocked (`hide` or `yank`).
    #[serde(default)]
    pub index: IndexMode,
    /// For a cooldown hold: when the release becomes available (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_at: Option<String>,
    /// Behaviours new since the previous release, or why they were not compared
    /// (`None`: the comparison was not asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_in_version: Option<VersionDiff>,
    /// The comparison with the established baseline release, when one was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub established: Option<Established>,
}

/// How a blocked version appears on index pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexMode {
    /// Left out of the page, so resolvers fall back to another version.
    #[default]
    Hide,
    /// Kept on the page, marked yanked with the reason.
    Yank,
}

impl IndexMode {
    pub fn as_str(self) -> &'static str {
        match self {
            IndexMode::Hide => "hide",
            IndexMode::Yank => "yank",
        }
    }
}

impl Verdict {
    pub fn serve(reason: Reason) -> Self {
        Verdict {
            decision: Decision::Serve,
            reasons: vec![reason],
            findings: vec![],
            acceptances: vec![],
            policy_digest: String::new(),
            index: IndexMode::Hide,
            available_at: None,
            new_in_version: None,
            established: None,
        }
    }
    pub fn block(reason: Reason) -> Self {
        Verdict { decision: Decision::Block, ..Verdict::serve(reason) }
    }
}

/// An artifact's licence as read from its bytes: one SPDX expression when any source gave
/// one, and every source read, each with where it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Licence {
    /// The licence the artifact is taken to carry, as a normalised SPDX expression: the
    /// `License-Expression` field, else the `License` field, else the classifiers (joined
    /// with `AND`), else the licence files (joined with `AND`). `None`: unknown.
    pub expression: Option<String>,
    /// Which kind of source `expression` came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<LicenceOrigin>,
    /// Every source read, in the order above.
    #[serde(default)]
    pub sources: Vec<LicenceSource>,
}

/// Where a licence statement was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LicenceOrigin {
    /// PEP 639 `License-Expression` in METADATA / PKG-INFO.
    LicenseExpression,
    /// The free-text `License` field.
    License,
    /// A `License :: …` trove classifier.
    Classifier,
    /// A licence file in the archive (`License-File`, `LICENSE*`, `LICENCE*`, `COPYING*`), by its text.
    File,
}

impl LicenceOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            LicenceOrigin::LicenseExpression => "License-Expression",
            LicenceOrigin::License => "License",
            LicenceOrigin::Classifier => "classifier",
            LicenceOrigin::File => "file",
        }
    }
}

/// One licence statement and what it was recognised as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenceSource {
    pub origin: LicenceOrigin,
    /// Member path (the metadata file, or the licence file).
    pub path: String,
    /// 1-based line of the header in the metadata file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// What was written (a header value, a classifier; for a file, its first line), clipped.
    pub text: String,
    /// The normalised SPDX expression it was recognised as; `None`: not recognised.
    pub spdx: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_round_trip_through_their_log_form() {
        let cases = [
            ("deny list", ReasonCode::DenyList, "deny-list"),
            ("cooldown", ReasonCode::Cooldown, "cooldown"),
            ("page decision", ReasonCode::Withheld, "withheld"),
            ("no upload time", ReasonCode::CooldownNoUploadTime, "cooldown:no-upload-time"),
            ("rule", ReasonCode::Rule("install-time-high".into()), "rule:install-time-high"),
            ("acceptance", ReasonCode::Acceptance("SEC-1".into()), "acceptance:SEC-1"),
            ("expired acceptance", ReasonCode::AcceptanceExpired("SEC-1".into()), "acceptance-expired:SEC-1"),
            ("fail closed", ReasonCode::FailClosed("scan-crash".into()), "fail-closed:scan-crash"),
            ("error", ReasonCode::Error("upstream".into()), "error:upstream"),
            ("licence", ReasonCode::Licence("denied".into()), "licence:denied"),
            ("unknown code kept verbatim", ReasonCode::Other("future:thing".into()), "future:thing"),
        ];
        for (case, code, text) in cases {
            assert_eq!(code.to_string(), text, "{case}");
            assert_eq!(ReasonCode::from(text.to_string()), code, "{case}");
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{text}\""), "{case}: serialised as its string");
        }
    }

    #[test]
    fn normalisation_matches_pep_503() {
        for (raw, want) in [
            ("Django", "django"),
            ("zope.interface", "zope-interface"),
            ("Foo__Bar--baz", "foo-bar-baz"),
            ("a-_.b", "a-b"),
            ("typing_extensions", "typing-extensions"),
        ] {
            assert_eq!(normalize_project_name(raw), want, "{raw}");
        }
    }

    #[test]
    fn dist_filenames_split_into_project_version_kind() {
        let cases = [
            ("wheel", "requests-2.31.0-py3-none-any.whl", Some(("requests", "2.31.0", ArtifactKind::Wheel))),
            ("wheel with build tag", "pkg-1.0-1-py3-none-any.whl", Some(("pkg", "1.0", ArtifactKind::Wheel))),
            ("sdist tar.gz", "zope.interface-6.0.tar.gz", Some(("zope.interface", "6.0", ArtifactKind::Sdist))),
            ("sdist with dash in name", "foo-bar-1.0.tar.gz", Some(("foo-bar", "1.0", ArtifactKind::Sdist))),
            ("sdist zip", "pkg-2.0.zip", Some(("pkg", "2.0", ArtifactKind::Sdist))),
            ("egg", "pkg-1.0-py2.7.egg", Some(("pkg", "1.0", ArtifactKind::Other))),
            ("not a dist", "README.txt", None),
            ("wheel too few parts", "pkg-1.0.whl", None),
        ];
        for (case, name, want) in cases {
            let got = parse_dist_filename(name).map(|d| (d.project, d.version, d.kind));
            let want = want.map(|(p, v, k)| (p.to_string(), v.to_string(), k));
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn same_version_is_pep_440_equality() {
        let cases = [
            ("identical", "1.0", "1.0", true),
            ("implied zero", "1.0", "1.0.0", true),
            ("pre-release spellings", "1.0-rc1", "1.0rc1", true),
            ("post-release spellings", "1.0.post1", "1.0-1", true),
            ("leading v", "v2.0", "2.0", true),
            ("different versions", "1.0", "1.1", false),
            ("local versions differ", "1.0+cpu", "1.0", false),
            ("unparsable equal text", "not-a-version", "not-a-version", true),
            ("unparsable vs parsable", "not-a-version", "1.0", false),
            ("unparsable texts differ", "abc", "abd", false),
        ];
        for (case, a, b, want) in cases {
            assert_eq!(same_version(a, b), want, "{case}");
            assert_eq!(same_version(b, a), want, "{case} (swapped)");
        }
    }

    #[test]
    fn sha256_accepts_exactly_64_hex_digits() {
        let lower = "ab".repeat(32);
        let upper = "AB".repeat(32);
        let cases: [(&str, &str, Option<&str>); 9] = [
            ("lowercase", &lower, Some(&lower)),
            ("uppercase is normalised", &upper, Some(&lower)),
            ("empty", "", None),
            ("one char", "a", None),
            ("63 digits", &lower[..63], None),
            ("65 digits", "abababababababababababababababababababababababababababababababab0", None),
            ("absolute path", "/etc/passwd", None),
            ("non-hex", "zz", None),
            ("64 chars with a slash", "ab/ababababababababababababababababababababababababababababababab", None),
        ];
        for (case, input, want) in cases {
            let got = Sha256::parse(input).ok();
            assert_eq!(got.as_ref().map(Sha256::as_str), want, "{case}");
        }
        let h = Sha256::parse(&upper).unwrap();
        assert_eq!(h.prefix(), "ab");
        assert_eq!(h.to_string(), lower);
        assert_eq!(serde_json::to_string(&h).unwrap(), format!("\"{lower}\""));
        assert_eq!(serde_json::from_str::<Sha256>(&format!("\"{upper}\"")).unwrap(), h);
        assert!(serde_json::from_str::<Sha256>("\"/etc/passwd\"").is_err());
        assert_eq!(Sha256::digest(b"").as_str(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn file_keys_are_a_sha256_or_u_and_a_sha256() {
        let h = "cd".repeat(32);
        let cases = [
            ("sha256", h.clone(), Some(h.clone())),
            ("url key", format!("u-{h}"), Some(format!("u-{h}"))),
            ("uppercase is normalised", h.to_uppercase(), Some(h.clone())),
            ("traversal", "..".to_string(), None),
            ("absolute path", "/etc/passwd".to_string(), None),
            ("u- and junk", "u-/etc/passwd".to_string(), None),
            ("empty", String::new(), None),
            ("u- alone", "u-".to_string(), None),
        ];
        for (case, input, want) in cases {
            assert_eq!(FileKey::parse(&input).ok().map(|k| k.to_string()), want, "{case}");
        }
    }
}

/// A finding's identity across releases: its detector and, when the evidence names one, the indicator.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FindingKey {
    pub detector: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indicator: Option<String>,
}

/// What changed in behaviour since the previous release of the same project (the same
/// kind of artifact), the xz-style signal: a long-trusted package suddenly gaining a
/// downloader or an install hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum VersionDiff {
    /// Compared with the previous release: `new` holds what it did not have.
    Compared { previous_version: String, previous_filename: String, new: Vec<FindingKey> },
    /// Not compared (no previous release, upstream error, deadline): rules with
    /// `new_in_version` do not match, and the report says so.
    NotCompared { reason: String },
}

impl VersionDiff {
    /// Compare the findings of this release with the previous one's. A (detector,
    /// indicator) pair is new when the previous release did not have it; a finding
    /// without an indicator is new when its detector did not fire before.
    pub(crate) fn compare(
        previous_version: &str,
        previous_filename: &str,
        now: &[Finding],
        before: &[Finding],
    ) -> Self {
        let old_detectors: std::collections::BTreeSet<&str> = before.iter().map(|f| f.detector.as_str()).collect();
        let old: std::collections::BTreeSet<FindingKey> = before.iter().flat_map(FindingKey::all_of).collect();
        let new: std::collections::BTreeSet<FindingKey> = now
            .iter()
            .flat_map(FindingKey::all_of)
            .filter(|k| match &k.indicator {
                Some(_) => !old.contains(k),
                None => !old_detectors.contains(k.detector.as_str()),
            })
            .collect();
        VersionDiff::Compared {
            previous_version: previous_version.to_string(),
            previous_filename: previous_filename.to_string(),
            new: new.into_iter().collect(),
        }
    }

    /// Whether `f` is new in this version: `None` when no comparison was made.
    pub(crate) fn is_new(&self, f: &Finding) -> Option<bool> {
        match self {
            VersionDiff::Compared { new, .. } => Some(FindingKey::all_of(f).iter().any(|k| new.contains(k))),
            VersionDiff::NotCompared { .. } => None,
        }
    }

    /// One line for reports: `new in this version (since 1.0): network.downloads-file [x]`,
    /// `nothing new since 1.0`, or `not compared: <why>`.
    pub fn summary(&self) -> String {
        match self {
            VersionDiff::Compared { previous_version, new, .. } if new.is_empty() => {
                format!("nothing new since {previous_version}")
            }
            VersionDiff::Compared { previous_version, new, .. } => {
                let items: Vec<String> = new
                    .iter()
                    .map(|k| match &k.indicator {
                        Some(i) => format!("{} [{i}]", k.detector),
                        None => k.detector.clone(),
                    })
                    .collect();
                format!("new in this version (since {previous_version}): {}", items.join(", "))
            }
            VersionDiff::NotCompared { reason } => format!("new in this version: not compared ({reason})"),
        }
    }
}

impl FindingKey {
    /// The keys a finding stands for: one per indicator in its evidence, and the bare
    /// detector when some evidence names none.
    fn all_of(f: &Finding) -> Vec<FindingKey> {
        let mut keys: Vec<FindingKey> = f
            .evidence
            .iter()
            .map(|e| FindingKey { detector: f.detector.clone(), indicator: e.indicator.clone() })
            .collect();
        if keys.is_empty() {
            keys.push(FindingKey { detector: f.detector.clone(), indicator: None });
        }
        keys.sort();
        keys.dedup();
        keys
    }
}

/// What a block reason says when its finding was compared with the project's established
/// baseline and is new since it; the policy writes it, pip's status line
/// (`respond::block_reason_phrase`) looks for it. One spelling for both.
pub(crate) const NEW_SINCE_BASELINE: &str = "is new since the established baseline";

/// The comparison with the project's *established baseline*: the newest release uploaded
/// at least `established.baseline_age` before this file's (same kind, same wheel tags when
/// present), for a project with the history `established:` asks for. A finding the baseline
/// shipped with the same evidence (detector, normalised member path, normalised snippet and
/// indicator) is established behaviour; anything else is new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Established {
    Compared {
        baseline_version: String,
        baseline_filename: String,
        /// The baseline file's upload time (RFC 3339).
        baseline_uploaded: String,
        /// The project's first upload (RFC 3339) and its releases before this one.
        first_upload: String,
        releases: usize,
        /// Detectors of this file every piece of whose evidence the baseline also has.
        unchanged: Vec<String>,
        /// Detectors of this file with evidence the baseline does not have.
        changed: Vec<String>,
    },
    /// Not compared (short history, no baseline old enough, upstream error, deadline): no
    /// finding is established, so nothing is lowered.
    NotCompared { reason: String },
}

impl Established {
    /// Whether `detector`'s finding in this file is established behaviour.
    pub(crate) fn is_established(&self, detector: &str) -> bool {
        matches!(self, Established::Compared { unchanged, .. } if unchanged.iter().any(|d| d == detector))
    }

    /// `1.0 (uploaded 2024-01-02)`: the baseline as messages name it.
    pub(crate) fn baseline(&self) -> Option<String> {
        match self {
            Established::Compared { baseline_version, baseline_uploaded, .. } => {
                let day = baseline_uploaded.get(..10).unwrap_or(baseline_uploaded);
                Some(format!("{baseline_version} (uploaded {day})"))
            }
            Established::NotCompared { .. } => None,
        }
    }

    /// One line for reports and logs.
    pub fn summary(&self) -> String {
        match self {
            Established::Compared { changed, unchanged, .. } => {
                let base = self.baseline().unwrap_or_default();
                let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
                format!(
                    "compared with the established baseline {base}: unchanged {}; new {}",
                    list(unchanged),
                    list(changed)
                )
            }
            Established::NotCompared { reason } => format!("established baseline: not compared ({reason})"),
        }
    }
}
