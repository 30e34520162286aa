//! Rendered index pages kept in memory, with their compressed forms.
//!
//! Owns: the bounded cache of page bodies as pipgate sent them, keyed by everything the
//! body depends on (the caller builds the key: project, format, the upstream page's digest
//! and the gate's listing state), each body's strong ETag, its gzip and zstd forms (made
//! once, on first demand, off the async workers), and choosing an encoding from
//! `Accept-Encoding`. An entry also expires at the earliest time the clock alone would
//! change what it shows (a cooldown ending) and after [`MAX_AGE`] in any case (time-bound
//! policy rules such as an expiring acceptance).
//! Must not: decide what a page lists, or compress anything but index pages (artifacts and
//! `.metadata` are served byte for byte: clients hash them).

use bytes::Bytes;
use std::io::Write;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Rendered bodies kept, in KiB (an entry weighs 1.5× its body: its compressed forms, made
/// later, are a fraction of it each).
const CACHE_KIB: u64 = 256 << 10;
/// How long a rendered page is reused at most, whatever its key says.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(60);
/// Bodies smaller than this are sent as they are (compression would save nothing useful).
const MIN_COMPRESS: usize = 512;

/// A content coding pipgate sends index pages in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Identity,
    Gzip,
    Zstd,
}

impl Encoding {
    /// The `Content-Encoding` value (`None` for identity).
    pub(crate) fn header(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Zstd => Some("zstd"),
        }
    }

    /// The suffix that makes the representation's ETag differ from the identity one.
    fn etag_suffix(self) -> &'static str {
        match self {
            Encoding::Identity => "",
            Encoding::Gzip => "-gzip",
            Encoding::Zstd => "-zstd",
        }
    }
}

/// The coding to send for an `Accept-Encoding` header: zstd when offered (uv offers it: it
/// is quicker to make and to read), else gzip (pip offers `gzip, deflate`), else none. A
/// coding offered with `q=0` is refused; `*` offers both.
pub(crate) fn choose(accept_encoding: Option<&str>) -> Encoding {
    let Some(header) = accept_encoding else { return Encoding::Identity };
    let (mut zstd, mut gzip, mut any) = (None, None, None);
    for item in header.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let ok = q > 0.0;
        match coding.as_str() {
            "zstd" => zstd = Some(ok),
            "gzip" | "x-gzip" => gzip = Some(ok),
            "*" => any = Some(ok),
            _ => {}
        }
    }
    if zstd.or(any) == Some(true) {
        Encoding::Zstd
    } else if gzip.or(any) == Some(true) {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

/// One page as rendered, with what the caller keeps beside it (`extra`).
pub(crate) struct Rendered<T> {
    body: Bytes,
    /// The strong ETag of `body` (quoted).
    etag: String,
    pub(crate) extra: T,
    /// When the clock alone changes what this page shows (`None`: never).
    until: Option<Instant>,
    gzip: OnceLock<Bytes>,
    zstd: OnceLock<Bytes>,
}

impl<T> Rendered<T> {
    pub(crate) fn new(body: String, etag: String, extra: T, until: Option<Instant>) -> Self {
        Rendered { body: Bytes::from(body), etag, extra, until, gzip: OnceLock::new(), zstd: OnceLock::new() }
    }

    /// The body in `encoding` (compressed on first demand; blocking work for a large page),
    /// with the coding actually used and that representation's ETag.
    pub(crate) fn encoded(&self, encoding: Encoding) -> (Bytes, Encoding, String) {
        let encoding = if self.body.len() < MIN_COMPRESS { Encoding::Identity } else { encoding };
        let body = match encoding {
            Encoding::Identity => self.body.clone(),
            Encoding::Gzip => self.gzip.get_or_init(|| gzip(&self.body)).clone(),
            Encoding::Zstd => self.zstd.get_or_init(|| zstd(&self.body)).clone(),
        };
        (body, encoding, self.etag_for(encoding))
    }

    /// The ETag of the representation in `encoding` (no compression needed to know it).
    pub(crate) fn etag_for(&self, encoding: Encoding) -> String {
        let encoding = if self.body.len() < MIN_COMPRESS { Encoding::Identity } else { encoding };
        let base = self.etag.trim_end_matches('"');
        format!("{base}{}\"", encoding.etag_suffix())
    }

    fn weight_kib(&self) -> u32 {
        let len = self.body.len() + self.body.len() / 2;
        u32::try_from(len >> 10).unwrap_or(u32::MAX).max(1)
    }
}

fn gzip(body: &[u8]) -> Bytes {
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::new(6));
    enc.write_all(body).expect("writing to memory");
    Bytes::from(enc.finish().expect("writing to memory"))
}

fn zstd(body: &[u8]) -> Bytes {
    Bytes::from(zstd::bulk::compress(body, 3).expect("compressing in memory"))
}

/// Rendered pages by the caller's key, bounded by body size, each reused for at most [`MAX_AGE`].
pub(crate) struct RenderCache<T> {
    cache: moka::sync::Cache<String, Arc<Rendered<T>>>,
}

impl<T: Send + Sync + 'static> RenderCache<T> {
    pub(crate) fn new() -> Self {
        RenderCache {
            cache: moka::sync::Cache::builder()
                .weigher(|_, r: &Arc<Rendered<T>>| r.weight_kib())
                .max_capacity(CACHE_KIB)
                .time_to_live(MAX_AGE)
                .build(),
        }
    }

    /// The page rendered under `key`, unless the clock has changed what it shows.
    pub(crate) fn get(&self, key: &str) -> Option<Arc<Rendered<T>>> {
        let hit = self.cache.get(key)?;
        if hit.until.is_some_and(|t| Instant::now() >= t) {
            self.cache.invalidate(key);
            return None;
        }
        Some(hit)
    }

    pub(crate) fn insert(&self, key: String, rendered: Arc<Rendered<T>>) {
        self.cache.insert(key, rendered);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn encoding_follows_what_the_client_offers() {
        let cases = [
            ("no header", None, Encoding::Identity),
            ("pip", Some("gzip, deflate"), Encoding::Gzip),
            ("uv", Some("gzip, deflate, zstd"), Encoding::Zstd),
            ("zstd refused", Some("zstd;q=0, gzip"), Encoding::Gzip),
            ("gzip refused, nothing else", Some("gzip;q=0"), Encoding::Identity),
            ("identity only", Some("identity"), Encoding::Identity),
            ("deflate only", Some("deflate"), Encoding::Identity),
            ("wildcard", Some("*"), Encoding::Zstd),
            ("wildcard but zstd refused", Some("*, zstd;q=0"), Encoding::Gzip),
            ("case and spaces", Some(" GZIP ; q=0.5 "), Encoding::Gzip),
        ];
        for (case, header, want) in cases {
            assert_eq!(choose(header), want, "{case}");
        }
    }

    #[test]
    fn compressed_forms_decode_to_the_body_and_carry_their_own_etag() {
        let body = "<a href=\"x\">demo-1.0.tar.gz</a><br/>\n".repeat(200);
        let r = Rendered::new(body.clone(), "\"abc\"".into(), (), None);
        let (plain, enc, etag) = r.encoded(Encoding::Identity);
        assert_eq!((&plain[..], enc, etag.as_str()), (body.as_bytes(), Encoding::Identity, "\"abc\""));
        let (gz, enc, etag) = r.encoded(Encoding::Gzip);
        assert_eq!((enc, etag.as_str()), (Encoding::Gzip, "\"abc-gzip\""));
        let mut out = String::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut out).unwrap();
        assert_eq!(out, body, "gzip round trip");
        assert!(gz.len() * 5 < body.len(), "gzip shrinks a page: {} of {}", gz.len(), body.len());
        let (zs, enc, etag) = r.encoded(Encoding::Zstd);
        assert_eq!((enc, etag.as_str()), (Encoding::Zstd, "\"abc-zstd\""));
        assert_eq!(zstd::decode_all(&zs[..]).unwrap(), body.as_bytes(), "zstd round trip");
        let small = Rendered::new("tiny".into(), "\"t\"".into(), (), None);
        assert_eq!(small.encoded(Encoding::Zstd).1, Encoding::Identity, "small bodies are sent as they are");
    }

    #[test]
    fn an_entry_expires_when_the_clock_changes_what_it_shows() {
        let cache = RenderCache::new();
        let now = Instant::now();
        cache.insert("a".into(), Arc::new(Rendered::new("x".into(), "\"e\"".into(), (), None)));
        cache.insert("b".into(), Arc::new(Rendered::new("x".into(), "\"e\"".into(), (), Some(now))));
        cache.insert(
            "c".into(),
            Arc::new(Rendered::new("x".into(), "\"e\"".into(), (), Some(now + Duration::from_secs(30)))),
        );
        let cases = [("no deadline", "a", true), ("deadline passed", "b", false), ("deadline ahead", "c", true)];
        for (case, key, hit) in cases {
            assert_eq!(cache.get(key).is_some(), hit, "{case}");
        }
    }
}
