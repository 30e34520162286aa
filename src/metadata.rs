//! Core metadata (`METADATA` / `PKG-INFO`): the one reader of its RFC 822 style headers.
//!
//! Headers run to the first blank line; a line starting with a space or tab continues the
//! previous header (its leading whitespace dropped, joined with `\n`); names compare without
//! regard to case; headers may repeat (`Classifier`); `\r\n` line ends are accepted. The text
//! after the first blank line is the description (the body). Lines that are neither a header
//! nor a continuation are skipped. Must not: interpret values (that is the caller's job).

use std::borrow::Cow;

/// One header, as it appeared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header<'t> {
    /// The name as written (compare with [`str::eq_ignore_ascii_case`]).
    pub name: &'t str,
    /// The value, trimmed; continuation lines joined with `\n`.
    pub value: Cow<'t, str>,
    /// 1-based line where the header starts.
    pub line: u32,
}

/// Parsed core metadata: every header in order, and the body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct CoreMetadata<'t> {
    pub headers: Vec<Header<'t>>,
    /// Everything after the first blank line (empty when there is none).
    pub body: &'t str,
}

impl<'t> CoreMetadata<'t> {
    pub(crate) fn parse(text: &'t str) -> CoreMetadata<'t> {
        let mut headers: Vec<Header<'t>> = Vec::new();
        let mut offset = 0;
        let mut body = "";
        for (i, raw) in text.split_inclusive('\n').enumerate() {
            offset += raw.len();
            let line = raw.strip_suffix('\n').unwrap_or(raw);
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() {
                body = &text[offset..];
                break;
            }
            if line.starts_with([' ', '\t']) {
                // A continuation before any header has nothing to continue.
                if let Some(last) = headers.last_mut() {
                    let v = last.value.to_mut();
                    v.push('\n');
                    v.push_str(line.trim());
                }
                continue;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push(Header { name: name.trim(), value: Cow::Borrowed(value.trim()), line: i as u32 + 1 });
            }
        }
        CoreMetadata { headers, body }
    }

    /// The first header called `name` (any case).
    pub(crate) fn get(&self, name: &str) -> Option<&Header<'t>> {
        self.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name))
    }

    #[cfg(test)]
    /// Every header called `name` (any case), in order.
    pub(crate) fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Header<'t>> + 's {
        self.headers.iter().filter(move |h| h.name.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_like_rfc_822() {
        type Want<'a> = &'a [(&'a str, &'a str, u32)];
        let cases: [(&str, &str, &str, Want, &str); 9] = [
            ("simple", "Name: demo\nVersion: 1.0\n", "version", &[("Version", "1.0", 2)], ""),
            ("case-insensitive name", "NAME: demo\n", "name", &[("NAME", "demo", 1)], ""),
            (
                "continuation lines",
                "Name: x\nAuthor-email: A <a@example.org>,\n  B <b@proton.me>\n\tC <c@x.org>\nVersion: 1\n",
                "Author-Email",
                &[("Author-email", "A <a@example.org>,\nB <b@proton.me>\nC <c@x.org>", 2)],
                "",
            ),
            (
                "repeated headers",
                "Classifier: A\nName: x\nClassifier: B\n",
                "classifier",
                &[("Classifier", "A", 1), ("Classifier", "B", 3)],
                "",
            ),
            ("crlf", "Name: demo\r\nVersion: 2.0\r\n\r\nbody\r\n", "Version", &[("Version", "2.0", 2)], "body\r\n"),
            ("body is not headers", "Name: x\n\nVersion: 9.9\n", "version", &[], "Version: 9.9\n"),
            ("whitespace-only line ends headers", "Name: x\n   \nVersion: 9\n", "version", &[], "Version: 9\n"),
            ("continuation before any header", "  stray\nName: x\n", "name", &[("Name", "x", 2)], ""),
            (
                "colon in value and no colon line",
                "Home-page: https://x.org\ngarbage\n",
                "home-page",
                &[("Home-page", "https://x.org", 1)],
                "",
            ),
        ];
        for (case, text, name, want, body) in cases {
            let md = CoreMetadata::parse(text);
            let got: Vec<(&str, &str, u32)> = md.all(name).map(|h| (h.name, &*h.value, h.line)).collect();
            assert_eq!(got, want.to_vec(), "{case}");
            assert_eq!(md.body, body, "{case}: body");
            assert_eq!(md.get(name).map(|h| h.line), want.first().map(|w| w.2), "{case}: first");
        }
    }
}
