//! `network.url-shortener`: URLs at link-shortening services (bit.ly, tinyurl,
//! t.co, goo.gl, is.gd, cutt.ly, …) and IP-logger link services.
//!
//! A shortened link hides where it really goes and can be repointed after review.
//! URLs follow [`super::urls`] rules.

use super::urls;
use crate::model::{Category, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hits, Interest, TextFile};

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "network.url-shortener",
    revision: 2,
    title: "Contains URLs related to URL shortener services.",
    category: Category::Network,
    severity: Severity::Low,
    description: "Shortened links hide their destination and can be repointed after the package was reviewed.",
};

const SHORTENERS: &[&str] = &[
    "bit.ly",
    "bitly.com",
    "bitly.is",
    "tinyurl.com",
    "t.co",
    "goo.gl",
    "is.gd",
    "v.gd",
    "cutt.ly",
    "ow.ly",
    "buff.ly",
    "rebrand.ly",
    "shorturl.at",
    "tiny.cc",
    "rb.gy",
    "t.ly",
    "bl.ink",
    "short.io",
    "s.id",
    "lnkd.in",
    "db.tt",
    "qr.ae",
    "adf.ly",
    "bc.vc",
    "shorte.st",
    "x.co",
    "tr.im",
    "clck.ru",
    "u.to",
    "2no.co",
    "git.io",
    "snip.ly",
    "soo.gd",
    "shorturl.com",
    "urlz.fr",
    "tinu.be",
    "lnk.bio",
    "link.ac",
    "cli.re",
    "gg.gg",
    "surl.li",
    "grabify.link",
    "iplogger.org",
    "iplogger.com",
    "iplogger.ru",
    "blasze.com",
    "ps.kz",
    "0x0.st",
    "bit.do",
    "ouo.io",
    "shrtco.de",
    "cutt.us",
    "tiny.one",
    "rotf.lol",
    "kutt.it",
    "t2m.io",
    "zpr.io",
    "n9.cl",
    "qps.ru",
    "mcaf.ee",
    "po.st",
    "shorturl.gg",
    "urlis.net",
    "l.wl.co",
    "iplogger.info",
    "iplogger.co",
    "yip.su",
    "iplis.ru",
    "ezstat.ru",
];

pub(crate) struct UrlShortener;

impl Detector for UrlShortener {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(urls::URL_LITERALS)
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        urls::report_each(file, hits, &META, |u| {
            SHORTENERS.iter().any(|s| urls::host_is(&u.host, s)).then(|| u.url.to_string())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FileRole::*;
    use crate::scan::detectors::testutil::table;
    use Severity::*;

    #[test]
    fn cases() {
        table(
            &UrlShortener,
            META.id,
            &[
                (
                    "bit.ly",
                    "pkg/a.py",
                    Runtime,
                    "U = 'https://bit.ly/3abcDEF'\n",
                    Some((1, "https://bit.ly/3abcDEF", Low)),
                ),
                (
                    "t.co in setup.py",
                    "setup.py",
                    InstallTime,
                    "\nurlopen('http://t.co/x')\n",
                    Some((2, "http://t.co/x", Medium)),
                ),
                (
                    "config file",
                    "pkg/data/links.cfg",
                    Runtime,
                    "see https://tinyurl.com/abc\n",
                    Some((1, "https://tinyurl.com/abc", Low)),
                ),
                ("lookalike host", "pkg/a.py", Runtime, "U = 'https://notbit.ly/x'\n", None),
                (
                    "ip logger in a command string",
                    "pkg/a.py",
                    Runtime,
                    "os.system('curl -s https://yip.su/2abc >/dev/null')\n",
                    Some((1, "https://yip.su/2abc", Low)),
                ),
                ("t.co as part of a longer domain", "pkg/a.py", Runtime, "U = 'https://example.t.com/x'\n", None),
                ("in comment", "pkg/a.py", Runtime, "# https://bit.ly/x\n", None),
                ("readme", "pkg/README.md", Runtime, "see https://tinyurl.com/abc\n", None),
            ],
        );
    }
}
