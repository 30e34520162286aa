//! Turning pages, files, verdicts and errors into HTTP responses pip and uv handle well.
//!
//! Owns: status codes, headers (`ETag`, `Vary`, `Cache-Control`, `Accept-Ranges`),
//! range serving from disk, the 403 block answer (a custom reason phrase pip prints and
//! an RFC 9457 `application/problem+json` body uv prints), and error bodies.
//! Must not: decide, fetch, or keep artifacts in memory (it serves the bytes the artifact
//! cache's bounded memory hands it, else streams the file).

use crate::error::ProxyError;
use crate::model::{ArtifactFacts, Finding, ReasonCode, Verdict};
use bytes::Bytes;
use futures_util::TryStreamExt;
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full, StreamBody};
use hyper::body::Frame;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::json;
use std::path::Path;
use tokio::io::AsyncReadExt;

pub(crate) type Body = BoxBody<Bytes, std::io::Error>;
pub(crate) type Resp = Response<Body>;

pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

pub(crate) fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

fn base(status: StatusCode) -> hyper::http::response::Builder {
    Response::builder().status(status).header(header::SERVER, concat!("pipgate/", env!("CARGO_PKG_VERSION")))
}

/// The strong ETag of a page body (a digest: compute it off the reactor for large pages).
pub(crate) fn page_etag(body: &str) -> String {
    use sha2::Digest;
    format!("\"{}\"", hex::encode(&sha2::Sha256::digest(body.as_bytes())[..16]))
}

/// An index page: its body (already in `encoding`, when it has one) with the ETag of that
/// representation, and `Vary: Accept, Accept-Encoding` (the format and the coding both
/// follow the request).
pub(crate) struct PageBody<'a> {
    pub body: Bytes,
    pub etag: &'a str,
    pub content_type: &'a str,
    /// `Content-Encoding` (`gzip`, `zstd`); `None`: identity.
    pub encoding: Option<&'a str>,
}

pub(crate) fn page(p: PageBody<'_>, if_none_match: Option<&str>, stale: Option<&str>, head: bool) -> Resp {
    let mut b = base(StatusCode::OK)
        .header(header::VARY, "Accept, Accept-Encoding")
        .header(header::ETAG, p.etag)
        .header(header::CACHE_CONTROL, "max-age=60, must-revalidate");
    if let Some(why) = stale {
        b = b.header("X-Pipgate-Stale", sanitize_header(why).into_owned());
    }
    if etag_matches(if_none_match, p.etag) {
        return b.status(StatusCode::NOT_MODIFIED).body(empty()).expect("valid response");
    }
    if let Some(coding) = p.encoding {
        b = b.header(header::CONTENT_ENCODING, coding);
    }
    let b = b.header(header::CONTENT_TYPE, p.content_type).header(header::CONTENT_LENGTH, p.body.len());
    b.body(if head { empty() } else { full(p.body) }).expect("valid response")
}

pub(crate) fn etag_matches(if_none_match: Option<&str>, etag: &str) -> bool {
    if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

pub(crate) fn redirect(location: &str) -> Resp {
    base(StatusCode::MOVED_PERMANENTLY)
        .header(header::LOCATION, location)
        .header(header::CONTENT_LENGTH, 0)
        .body(empty())
        .expect("valid response")
}

pub(crate) fn text(status: StatusCode, body: &str) -> Resp {
    base(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::CONTENT_LENGTH, body.len())
        .body(full(body.to_string()))
        .expect("valid response")
}

/// A scan report's body and content type: text, or the JSON contract when asked for.
pub(crate) fn report_body(report: &crate::scan::ScanReport, json: bool) -> (String, &'static str) {
    if json {
        (crate::scan::report::render_json(report), "application/json")
    } else {
        (crate::scan::report::render_text(report, None), "text/plain; charset=utf-8")
    }
}

/// A report answer: varies with `Accept`, never cached (the verdict on it follows the policy);
/// the HTML page may load nothing and run nothing (it shows hostile package content).
pub(crate) fn report(content_type: &str, body: String) -> Resp {
    let mut b = base(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::VARY, "Accept")
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::CONTENT_LENGTH, body.len());
    if content_type.starts_with("text/html") {
        b = b
            .header(
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            )
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .header(header::REFERRER_POLICY, "no-referrer");
    }
    b.body(full(body)).expect("valid response")
}

/// The report of a file held before download (cooldown, deny list, project verdict): it
/// has no scan, so it says what holds it, until when, and how to get it exempted.
pub(crate) fn held_report_body(
    origin: &crate::model::FileOrigin,
    verdict: &Verdict,
    found: &[Finding],
    json: bool,
) -> (String, &'static str) {
    let facts = ArtifactFacts::unverified(origin);
    let remedy = remedy(&facts, verdict);
    if json {
        let body = json!({
            "held": true,
            "scanned": false,
            "project": facts.project,
            "version": facts.version,
            "filename": facts.filename,
            "sha256": facts.sha256,
            "upload_time": facts.upload_time,
            "decision": verdict.decision,
            "reasons": verdict.reasons,
            "available_at": verdict.available_at,
            "findings": found,
            "remedy": remedy,
        });
        return (serde_json::to_string_pretty(&body).expect("JSON"), "application/json");
    }
    let mut out = format!(
        "{} ({} {}) is held by pipgate: it was not downloaded or scanned.\n",
        facts.filename,
        facts.project,
        facts.version.as_deref().unwrap_or("?")
    );
    if let Some(t) = &facts.upload_time {
        out.push_str(&format!("uploaded: {t}\n"));
    }
    if let Some(t) = &verdict.available_at {
        out.push_str(&format!("held until: {t}\n"));
    }
    out.push_str("why:\n");
    for r in &verdict.reasons {
        out.push_str(&format!("  {}: {}\n", r.code, r.message));
    }
    for f in found {
        out.push_str(&format!("found {} [{}]: {}\n", f.detector, f.severity, f.message));
    }
    out.push_str(&format!("what to do: {remedy}\n"));
    (out, "text/plain; charset=utf-8")
}

/// A body with its content type and length.
pub(crate) fn body(status: StatusCode, content_type: &str, body: String) -> Resp {
    base(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, body.len())
        .body(full(body))
        .expect("valid response")
}

/// Core metadata: as a text page (ETag, 304) when UTF-8, else the exact bytes (the hash covers them).
pub(crate) fn metadata(bytes: Vec<u8>, if_none_match: Option<&str>, head: bool) -> Resp {
    match String::from_utf8(bytes) {
        Ok(body) => {
            let etag = page_etag(&body);
            let text =
                PageBody { body: body.into(), etag: &etag, content_type: "text/plain; charset=utf-8", encoding: None };
            let mut resp = page(text, if_none_match, None, head);
            resp.headers_mut().remove(header::VARY);
            resp
        }
        Err(e) => {
            let bytes = e.into_bytes();
            base(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .header(header::CONTENT_LENGTH, bytes.len())
                .body(if head { empty() } else { full(bytes) })
                .expect("valid response")
        }
    }
}

/// Error answer: status by fault, problem+json body naming the upstream and the failure.
pub(crate) fn error(err: &ProxyError, request_id: &str) -> Resp {
    let status = err.status();
    let title = match status {
        StatusCode::NOT_FOUND => "Not found".to_string(),
        _ => format!("pipgate: {} failure", err.fault().as_str()),
    };
    let body = json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": err.to_string(),
        "fault": err.fault().as_str(),
        "request_id": request_id,
    });
    let body = serde_json::to_string_pretty(&body).expect("JSON");
    base(status)
        .header(header::CONTENT_TYPE, "application/problem+json")
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::CONTENT_LENGTH, body.len())
        .body(full(body))
        .expect("valid response")
}

/// The short ASCII status-line text pip prints: `Blocked by pipgate: <finding> (<rule>)`.
pub(crate) fn block_reason_phrase(verdict: &Verdict, found: &[Finding]) -> String {
    let first = verdict.reasons.first();
    // A licence reason names the licence first: "licence GPL-3.0-only (License-Expression, …) is denied".
    let licence = first.filter(|r| matches!(r.code, ReasonCode::Licence(_)));
    let mut what = licence
        .and_then(|r| r.message.split(" (").next().map(str::to_string))
        .or_else(|| first.and_then(|r| r.findings.first().cloned()))
        .or_else(|| verdict.findings.first().cloned())
        .unwrap_or_else(|| first.map(|r| r.code.to_string()).unwrap_or_else(|| "policy".into()));
    // An advisory finding is named by its record id too (pip shows only this phrase).
    if let Some(id) =
        found.iter().find(|f| f.detector == what).and_then(|f| crate::model::advisory_ids(f).first().copied())
    {
        what = format!("{what} {id}");
    }
    // The xz-style signal, named where pip users look: this behaviour is new in this version.
    if let Some(crate::model::VersionDiff::Compared { new, .. }) = &verdict.new_in_version {
        if new.iter().any(|k| k.detector == what) && first.is_some_and(|r| r.message.contains("new in this version")) {
            what.push_str(" new in this version");
        }
    }
    // Compared with the project's established baseline and still blocked: new since it.
    if let Some(crate::model::Established::Compared { baseline_version, changed, .. }) = &verdict.established {
        if changed.contains(&what) && first.is_some_and(|r| r.message.contains(crate::model::NEW_SINCE_BASELINE)) {
            what.push_str(&format!(" new since {baseline_version}"));
        }
    }
    let rule = first.map(|r| r.code.to_string()).unwrap_or_else(|| "policy".into());
    let mut phrase = if what == rule {
        format!("Blocked by pipgate: {what}")
    } else {
        format!("Blocked by pipgate: {what} ({rule})")
    };
    if let Some(t) = &verdict.available_at {
        phrase.push_str(&format!(" until {t}"));
    }
    sanitize_header(&phrase).chars().take(120).collect()
}

/// Keep only visible ASCII and spaces (header values and reason phrases may carry nothing else).
pub(crate) fn sanitize_header(s: &str) -> std::borrow::Cow<'_, str> {
    let ok = |c: char| c == ' ' || c.is_ascii_graphic();
    match s.chars().all(ok) {
        true => std::borrow::Cow::Borrowed(s),
        false => s.chars().map(|c| if ok(c) { c } else { '?' }).collect::<String>().into(),
    }
}

/// Where a block's scan report is. Built from configuration, never from the request.
pub(crate) struct ReportLink {
    /// problem+json `instance`: absolute under `--public-url`, else relative to the file URL
    /// (`/files/<key>/<filename>` → `../../reports/<sha256>`; RFC 9457 allows relative).
    pub instance: String,
    /// What the human `detail` says.
    pub shown: String,
}

impl ReportLink {
    /// The absolute URL (built from `--public-url`), if there is one.
    pub(crate) fn absolute(&self) -> Option<&str> {
        (self.instance.starts_with("https://") || self.instance.starts_with("http://"))
            .then_some(self.instance.as_str())
    }

    pub(crate) fn new(public_url: Option<&url::Url>, sha256: &str) -> ReportLink {
        match public_url.and_then(|u| u.join(&format!("reports/{sha256}")).ok()) {
            Some(u) => ReportLink { instance: u.to_string(), shown: u.to_string() },
            None => ReportLink {
                instance: format!("../../reports/{sha256}"),
                shown: format!("/reports/{sha256} on this pipgate"),
            },
        }
    }
}

/// The 403 for a blocked artifact (or its `.metadata`): never 404 (dependency confusion),
/// never 5xx (clients retry), never cached (an acceptance must take effect).
/// Who asked for a blocked artifact: the remedy names them, so the security team they ask
/// can find the audit record.
pub(crate) struct Asker<'a> {
    pub request_id: &'a str,
    /// The authenticated user, when there is one.
    pub user: Option<&'a str>,
}

pub(crate) fn blocked(
    facts: &ArtifactFacts,
    verdict: &Verdict,
    found: &[Finding],
    report: &ReportLink,
    asker: &Asker<'_>,
) -> Resp {
    let request_id = asker.request_id;
    let mut detail =
        format!("pipgate blocked {} ({} {}).", facts.filename, facts.project, facts.version.as_deref().unwrap_or("?"));
    // What was found where, for the findings that decided (at most three).
    let deciding: Vec<&String> = verdict.reasons.iter().flat_map(|r| r.findings.iter()).collect();
    for f in found.iter().filter(|f| deciding.contains(&&f.detector)).take(3) {
        detail.push_str(&format!(" Found {}: {}.", f.detector, f.message.trim_end_matches('.')));
    }
    for r in &verdict.reasons {
        detail.push_str(&format!(" {} [{}].", r.message.trim_end_matches('.'), r.code));
    }
    detail.push_str(&format!(" {}", remedy(facts, verdict)));
    if let Some(user) = asker.user {
        detail.push_str(&format!(" When you ask, say that {user} requested it (request {request_id})."));
    }
    detail.push_str(&format!(" Report: {}", report.shown));
    let body = json!({
        "type": "https://pipgate.invalid/problems/blocked",
        "title": format!("Blocked by pipgate policy: {}", facts.filename),
        "status": 403,
        "detail": detail,
        "instance": report.instance,
        "project": facts.project,
        "version": facts.version,
        "filename": facts.filename,
        "sha256": facts.sha256,
        "reasons": verdict.reasons,
        "findings": found,
        "policy_digest": verdict.policy_digest,
        "request_id": request_id,
        "requested_by": asker.user,
    });
    let body = serde_json::to_string_pretty(&body).expect("JSON");
    let mut resp = base(StatusCode::FORBIDDEN)
        .header(header::CONTENT_TYPE, "application/problem+json")
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::CONTENT_LENGTH, body.len())
        .header("X-Pipgate-Decision", "block")
        .body(full(body))
        .expect("valid response");
    // pip prints only the status line: the report's address goes there too when it is absolute.
    let mut phrase = block_reason_phrase(verdict, found);
    if let Some(url) = report.absolute() {
        phrase.push_str(&format!(" - report: {}", sanitize_header(url)));
    }
    if let Ok(phrase) = hyper::ext::ReasonPhrase::try_from(phrase.into_bytes()) {
        resp.extensions_mut().insert(phrase);
    }
    resp
}

/// The answer to a request that was not admitted: 401 with `WWW-Authenticate: Basic` (pip
/// then tries netrc and keyring, uv its stored credentials), 403 for credentials over plain
/// HTTP, 429 with `Retry-After` (pip's urllib3 and uv both wait and retry). The body is
/// problem+json (uv prints `title` and `detail`); the reason phrase is what pip prints.
pub(crate) fn refused(refusal: &crate::auth::Refusal, request_id: &str) -> Resp {
    let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN);
    let body = json!({
        "type": "about:blank",
        "title": refusal.title(),
        "status": status.as_u16(),
        "detail": format!("{refusal}."),
        "code": refusal.code(),
        "request_id": request_id,
    });
    let body = serde_json::to_string_pretty(&body).expect("JSON");
    let mut b = base(status)
        .header(header::CONTENT_TYPE, "application/problem+json")
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::CONTENT_LENGTH, body.len());
    if status == StatusCode::UNAUTHORIZED {
        b = b.header(header::WWW_AUTHENTICATE, format!("Basic realm=\"{}\", charset=\"UTF-8\"", crate::auth::REALM));
    }
    if let Some(secs) = refusal.retry_after() {
        b = b.header(header::RETRY_AFTER, secs);
    }
    let mut resp = b.body(full(body)).expect("valid response");
    if let Ok(phrase) = hyper::ext::ReasonPhrase::try_from(sanitize_header(refusal.title()).into_owned().into_bytes()) {
        resp.extensions_mut().insert(phrase);
    }
    resp
}

/// `resp` whose body keeps `guard` alive until the body has been sent or dropped (download
/// slots are held for the whole transfer).
pub(crate) fn holding<G: Send + Sync + Unpin + 'static>(resp: Resp, guard: G) -> Resp {
    resp.map(|inner| BodyExt::boxed(Holding { inner, _guard: guard }))
}

struct Holding<G> {
    inner: Body,
    _guard: G,
}

impl<G: Unpin> hyper::body::Body for Holding<G> {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        std::pin::Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// What the user can do about a block, by what decided it.
/// What the block message tells the user to do (also on the report page).
pub(crate) fn remedy(facts: &ArtifactFacts, verdict: &Verdict) -> String {
    match verdict.reasons.first().map(|r| &r.code) {
        Some(ReasonCode::Cooldown) => {
            let when =
                verdict.available_at.as_deref().map(|t| format!(" It becomes available at {t}.")).unwrap_or_default();
            let release = format!("{}=={}", facts.project, facts.version.as_deref().unwrap_or("?"));
            format!(
                "New releases are held back until they have been public for a while.{when} To use it sooner, ask your security team to exempt it: `pipgate policy accept {release}` proposes the cooldown.exempt entry (\"{release}\")."
            )
        }
        Some(ReasonCode::DenyList) => {
            "Your security team denies this release in policy.yaml (deny:); ask them if you need it.".into()
        }
        Some(ReasonCode::Licence(_)) => {
            "Your organisation's licence policy (policy.yaml licences:) does not allow this licence; ask your security or legal team for a licences.exceptions entry if you need it.".into()
        }
        Some(ReasonCode::FailClosed(_)) => {
            "pipgate could not check this artifact and fails closed; the audit log has the details.".into()
        }
        _ => format!(
            "To request a risk acceptance, ask your security team to run `pipgate policy accept {}` and add the result to policy.yaml.",
            facts.sha256
        ),
    }
}

/// A parsed single `Range: bytes=` request against a file of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RangeReq {
    Full,
    Partial { start: u64, end: u64 },
    Unsatisfiable,
}

pub(crate) fn parse_range(header: Option<&str>, len: u64) -> RangeReq {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeReq::Full;
    };
    if spec.contains(',') {
        return RangeReq::Full; // multi-range: allowed to answer with the whole file
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeReq::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.is_empty(), b.is_empty()) {
        (true, false) => match b.parse::<u64>() {
            Ok(0) => return RangeReq::Unsatisfiable,
            Ok(n) => Some((len.saturating_sub(n), len.saturating_sub(1))),
            Err(_) => return RangeReq::Full,
        },
        (false, _) => match (a.parse::<u64>(), if b.is_empty() { Ok(u64::MAX) } else { b.parse::<u64>() }) {
            (Ok(s), Ok(e)) if s <= e => Some((s, e.min(len.saturating_sub(1)))),
            _ => return RangeReq::Full,
        },
        _ => return RangeReq::Full,
    };
    match range {
        Some((s, e)) if len > 0 && s < len => RangeReq::Partial { start: s, end: e },
        _ => RangeReq::Unsatisfiable,
    }
}

/// Options for serving one artifact file.
pub(crate) struct FileServe<'a> {
    pub path: &'a Path,
    pub sha256: &'a str,
    /// The file's verified bytes when the artifact cache holds them in memory: served from
    /// there (ranges sliced from them), with no file opened.
    pub bytes: Option<Bytes>,
    pub content_type: &'a str,
    pub range: Option<&'a str>,
    pub if_range: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
    pub head: bool,
    /// Extra header values (e.g. annotations).
    /// Extra headers (static names: a name parsed from text is copied per response).
    pub extra: Vec<(header::HeaderName, String)>,
}

/// Bytes read per step when streaming a file; a body no longer than this is read whole.
const FILE_CHUNK: u64 = 128 * 1024;

/// Where an artifact answer's bytes come from.
enum Source {
    /// The whole file, in memory.
    Memory(Bytes),
    /// Exactly the bytes to send, read.
    Read(Bytes),
    /// An open file, positioned at the first byte to send.
    Disk(std::fs::File),
    /// Nothing to send (HEAD, 304, 416).
    Nothing,
}

/// Serve an artifact, from memory or from disk: `Content-Length`, strong ETag (the sha256),
/// `Accept-Ranges: bytes`, `206`/`416` for ranges, `304` on a matching `If-None-Match`,
/// never `Content-Encoding`.
pub(crate) async fn file(opts: FileServe<'_>) -> std::io::Result<Resp> {
    let etag = format!("\"{}\"", opts.sha256);
    let not_modified = etag_matches(opts.if_none_match, &etag);
    let range_applies = opts.if_range.is_none_or(|v| v.trim() == etag);
    let range_header = opts.range.filter(|_| range_applies);
    if let Some(bytes) = opts.bytes.clone() {
        let len = bytes.len() as u64;
        let range = parse_range(range_header, len);
        return Ok(file_answer(&opts, &etag, not_modified, len, range, Source::Memory(bytes)));
    }
    let (path, head, range_header) = (opts.path.to_path_buf(), opts.head, range_header.map(str::to_string));
    // One trip to the blocking pool for open, length and (when the body fits one chunk) the
    // bytes: tokio::fs makes a trip per step and per read, and on a cache hit those thread
    // hand-offs cost more than the I/O (bench/load.sh). Memory per request stays one chunk.
    let (len, range, source) = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
        use std::io::{Read, Seek};
        let mut f = std::fs::File::open(&path)?;
        let len = f.metadata()?.len();
        let range = parse_range(range_header.as_deref(), len);
        let span = match range {
            RangeReq::Full => Some((0, len)),
            RangeReq::Partial { start, end } => Some((start, end - start + 1)),
            RangeReq::Unsatisfiable => None,
        };
        let source = match span {
            Some((start, count)) if !head && !not_modified => {
                if start > 0 {
                    f.seek(std::io::SeekFrom::Start(start))?;
                }
                if count <= FILE_CHUNK {
                    let mut buf = vec![0; count as usize];
                    f.read_exact(&mut buf)?;
                    Source::Read(Bytes::from(buf))
                } else {
                    Source::Disk(f)
                }
            }
            _ => Source::Nothing,
        };
        Ok((len, range, source))
    })
    .await
    .map_err(std::io::Error::other)??;
    Ok(file_answer(&opts, &etag, not_modified, len, range, source))
}

/// The answer for an artifact of `len` bytes, `range` of it asked, the bytes from `source`.
fn file_answer(
    opts: &FileServe<'_>,
    etag: &str,
    not_modified: bool,
    len: u64,
    range: RangeReq,
    source: Source,
) -> Resp {
    let mut b = base(StatusCode::OK)
        .header(header::ETAG, etag)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CACHE_CONTROL, "max-age=0, must-revalidate");
    for (k, v) in &opts.extra {
        if let Ok(v) = HeaderValue::from_str(&sanitize_header(v)) {
            b = b.header(k, v);
        }
    }
    if not_modified {
        return b.status(StatusCode::NOT_MODIFIED).body(empty()).expect("valid response");
    }
    let (status, start, count) = match range {
        RangeReq::Full => (StatusCode::OK, 0, len),
        RangeReq::Partial { start, end } => {
            b = b.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"));
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        RangeReq::Unsatisfiable => {
            return b
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                .header(header::CONTENT_LENGTH, 0)
                .body(empty())
                .expect("valid response");
        }
    };
    let b = b.status(status).header(header::CONTENT_TYPE, opts.content_type).header(header::CONTENT_LENGTH, count);
    let body = match source {
        _ if opts.head => empty(),
        Source::Memory(bytes) => full(bytes.slice(start as usize..(start + count) as usize)),
        Source::Read(bytes) => full(bytes),
        Source::Disk(f) => {
            let f = tokio::fs::File::from_std(f).take(count);
            BodyExt::boxed(StreamBody::new(
                tokio_util::io::ReaderStream::with_capacity(f, FILE_CHUNK as usize).map_ok(Frame::data),
            ))
        }
        Source::Nothing => empty(),
    };
    b.body(body).expect("valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        let len = 1000;
        let cases = [
            ("no header", None, RangeReq::Full),
            ("first bytes", Some("bytes=0-99"), RangeReq::Partial { start: 0, end: 99 }),
            ("open ended", Some("bytes=900-"), RangeReq::Partial { start: 900, end: 999 }),
            ("suffix (uv reads the zip tail)", Some("bytes=-100"), RangeReq::Partial { start: 900, end: 999 }),
            ("suffix longer than file", Some("bytes=-5000"), RangeReq::Partial { start: 0, end: 999 }),
            ("end past file", Some("bytes=990-2000"), RangeReq::Partial { start: 990, end: 999 }),
            ("start past file", Some("bytes=1000-1001"), RangeReq::Unsatisfiable),
            ("zero suffix", Some("bytes=-0"), RangeReq::Unsatisfiable),
            ("multi range gets full", Some("bytes=0-1,5-6"), RangeReq::Full),
            ("other unit", Some("items=0-1"), RangeReq::Full),
            ("garbage", Some("bytes=x-y"), RangeReq::Full),
        ];
        for (case, h, want) in cases {
            assert_eq!(parse_range(h, len), want, "{case}");
        }
    }

    #[tokio::test]
    async fn a_held_guard_lives_until_the_body_is_sent_or_dropped() {
        let guard = std::sync::Arc::new(());
        for (case, consume) in [("body read to the end", true), ("client went away", false)] {
            let resp = holding(text(StatusCode::OK, "bytes\n"), guard.clone());
            assert_eq!(std::sync::Arc::strong_count(&guard), 2, "{case}: held while the response exists");
            if consume {
                let body = resp.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(&body[..], b"bytes\n", "{case}: the body is unchanged");
            } else {
                drop(resp);
            }
            assert_eq!(std::sync::Arc::strong_count(&guard), 1, "{case}: released");
        }
    }

    #[test]
    fn reason_phrase_is_short_ascii_and_names_finding_and_rule() {
        let v = Verdict::block(crate::model::Reason {
            code: ReasonCode::Rule("block-install-hooks".into()),
            message: "install hook — déjà vu\r\n".into(),
            findings: vec!["execution.install-hook".into()],
        });
        let p = block_reason_phrase(&v, &[]);
        assert_eq!(p, "Blocked by pipgate: execution.install-hook (rule:block-install-hooks)");
        assert!(hyper::ext::ReasonPhrase::try_from(p.into_bytes()).is_ok());
        assert!(sanitize_header("a\r\nb—c").chars().all(|c| c.is_ascii_graphic() || c == ' '));
        let licence = Verdict::block(crate::model::Reason {
            code: ReasonCode::Licence("denied".into()),
            message: "licence GPL-3.0-only (License-Expression, d-1.dist-info/METADATA:4) is denied by the policy (licences.deny: GPL-3.0-only)".into(),
            findings: vec![],
        });
        assert_eq!(block_reason_phrase(&licence, &[]), "Blocked by pipgate: licence GPL-3.0-only (licence:denied)");
    }
}
