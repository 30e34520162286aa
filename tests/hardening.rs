//! "Harden the gate", end to end with real pip: a full disk never serves an unaudited
//! decision, never tears the audit log, never answers 404; the same bytes listed under two
//! filenames and projects download and install under both.

mod common;
use common::*;
use std::path::{Path, PathBuf};

/// A tmpfs of `size` mounted on `dir` (root only); `None` when mounting is refused.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_path_buf()))
    }

    /// Fill it to the last byte; returns the filler to delete to free the space.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.0.join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![b'x'; 4096];
        while f.write_all(&chunk).is_ok() {}
        while f.write_all(b"x").is_ok() {}
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn every_audit_line_parses(data_dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(data_dir.join("audit/audit.jsonl")).unwrap_or_default();
    assert!(text.is_empty() || text.ends_with('\n'), "torn last line: {text:?}");
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("torn line {l:?}: {e}"))).collect()
}

/// Item 1: with the audit log on a full disk, an allowed install fails with a 503 that says
/// the decision could not be audited; pipgate keeps answering; once space is back the next
/// install is served and audited, and no line in the log is torn.
#[test]
fn an_unauditable_decision_is_refused_and_the_log_is_never_torn() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("demo-ok", wheel("demo-ok", "1.0", &[], &[]));
    let tmp = tempfile::tempdir().unwrap();
    let policy = tmp.path().join("policy.yaml");
    std::fs::write(&policy, "# empty test policy\n").unwrap();
    let data_dir = tmp.path().join("data");
    let audit = data_dir.join("audit");
    std::fs::create_dir_all(&audit).unwrap();
    std::os::unix::fs::symlink("/dev/full", audit.join("audit.jsonl")).unwrap();
    let gate = Pipgate::start_with(&idx.url(), &policy, &data_dir);

    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-ok==1.0"]);
    let text = show(&out);
    assert!(!out.status.success(), "installed without an audit record:\n{text}");
    assert!(text.contains("503"), "a 503:\n{text}");
    let page: serde_json::Value = http()
        .get(format!("{}demo-ok/", gate.url))
        .header("Accept", "application/vnd.pypi.simple.v1+json")
        .send()
        .unwrap()
        .json()
        .unwrap();
    let file_url = page["files"][0]["url"].as_str().unwrap().to_string();
    let file_url = url_join(&format!("{}demo-ok/", gate.url), &file_url);
    let resp = http().get(&file_url).send().unwrap();
    assert_eq!(resp.status(), 503, "{file_url}");
    let body = resp.text().unwrap();
    assert!(body.to_lowercase().contains("audit"), "the body says the decision could not be audited: {body}");
    let health = http().get(format!("{}/healthz", gate.base())).send().unwrap();
    assert_eq!(health.status(), 200, "pipgate keeps serving");

    // Space is back: the next install is served and audited.
    std::fs::remove_file(audit.join("audit.jsonl")).unwrap();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-ok==1.0"]);
    assert!(out.status.success(), "{}", show(&out));
    let lines = every_audit_line_parses(&data_dir);
    assert!(
        lines.iter().any(|r| r["filename"] == "demo_ok-1.0-py3-none-any.whl" && r["decision"] == "serve"),
        "{lines:#?}"
    );
}

fn url_join(base: &str, href: &str) -> String {
    reqwest::Url::parse(base).unwrap().join(href).unwrap().to_string()
}

/// Items 1 and 2 on a real full filesystem: the whole data dir on a tiny tmpfs, filled.
/// A new file answers 5xx saying what failed (never 404), /healthz still answers, and
/// after space is freed the install succeeds with every audit line whole.
#[test]
fn a_full_data_dir_answers_5xx_never_404_and_recovers() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("demo-ok", wheel("demo-ok", "1.0", &[], &[]));
    idx.add_dist("demo-new", wheel("demo-new", "1.0", &[], &[]));
    let tmp = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(&tmp.path().join("mnt"), "4m") else {
        eprintln!("SKIP: cannot mount a tmpfs here (needs root)");
        return;
    };
    let policy = tmp.path().join("policy.yaml");
    std::fs::write(&policy, "# empty test policy\n").unwrap();
    let data_dir = tmp.path().join("mnt/data");
    let gate = Pipgate::start_with(&idx.url(), &policy, &data_dir);
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-ok==1.0"]);
    assert!(out.status.success(), "{}", show(&out));

    let filler = fs.fill();
    let c = http();
    let page = c.get(format!("{}demo-new/", gate.url)).header("Accept", "application/vnd.pypi.simple.v1+json").send();
    let page_status = page.as_ref().map(|r| r.status().as_u16()).unwrap_or(0);
    let (status, body) = match page.ok().filter(|r| r.status() == 200) {
        Some(p) => {
            let page: serde_json::Value = p.json().unwrap();
            let href = page["files"][0]["url"].as_str().unwrap().to_string();
            let r = c.get(url_join(&format!("{}demo-new/", gate.url), &href)).send().unwrap();
            (r.status().as_u16(), r.text().unwrap())
        }
        None => {
            // The page itself could not be recorded: try the file URL a lockfile would hold.
            let dist = wheel("demo-new", "1.0", &[], &[]);
            let r =
                c.get(format!("{}/files/{}/{}", gate.base(), sha256_hex(&dist.bytes), dist.filename)).send().unwrap();
            (r.status().as_u16(), format!("(page answered {page_status}) {}", r.text().unwrap()))
        }
    };
    assert!((500..600).contains(&status), "a full disk is a 5xx, got {status}: {body}");
    assert_ne!(status, 404);
    let lower = body.to_lowercase();
    assert!(
        ["audit", "space", "store", "disk", "write"].iter().any(|w| lower.contains(w)),
        "the body says what happened: {body}"
    );
    assert_eq!(c.get(format!("{}/healthz", gate.base())).send().unwrap().status(), 200);

    std::fs::remove_file(filler).unwrap();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-new==1.0"]);
    assert!(out.status.success(), "after freeing space: {}\n{}", show(&out), gate.log());
    every_audit_line_parses(&data_dir);
}

/// An sdist whose in-tree backend takes its project name from `PIPGATE_TEST_DIST`, so the
/// very same bytes install as two projects.
fn shared_sdist() -> Vec<u8> {
    let backend = r#"
import os, zipfile
def _name():
    return os.environ["PIPGATE_TEST_DIST"]
def get_requires_for_build_wheel(config_settings=None):
    return []
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = _name()
    module = name.replace("-", "_")
    di = f"{module}-1.0.dist-info"
    fn = f"{module}-1.0-py3-none-any.whl"
    files = {
        f"{module}/__init__.py": b"VERSION = '1.0'\n",
        f"{di}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode(),
        f"{di}/WHEEL": b"Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{di}/RECORD"] = ("".join(f"{p},,\n" for p in files) + f"{di}/RECORD,,\n").encode()
    with zipfile.ZipFile(os.path.join(wheel_directory, fn), "w") as z:
        for p, c in files.items():
            z.writestr(p, c)
    return fn
"#;
    let files: Vec<(&str, String)> = vec![
        (
            "shared-1.0/pyproject.toml",
            "[build-system]\nrequires = []\nbuild-backend = \"backend\"\nbackend-path = [\".\"]\n".into(),
        ),
        ("shared-1.0/backend.py", backend.into()),
    ];
    tar_gz(&files)
}

/// Item 3, key confusion: one sha256 listed by two projects under two filenames. Both
/// download (the same bytes) and both install with pip, whichever is asked for first.
#[test]
fn the_same_bytes_under_two_projects_install_under_both() {
    let bytes = shared_sdist();
    let idx = FakeIndex::start(Format::Html);
    for name in ["shared-a", "shared-b"] {
        let filename = format!("{}-1.0.tar.gz", name.replace('-', "_"));
        idx.add_dist(name, Dist { filename, bytes: bytes.clone(), metadata: None });
    }
    let gate = Pipgate::start(&idx.url(), None);
    let sha = sha256_hex(&bytes);
    let c = http();
    // Ask for the second listing's page first, then the first's: the store holds both.
    for name in ["shared-b", "shared-a"] {
        assert_eq!(c.get(format!("{}{name}/", gate.url)).send().unwrap().status(), 200);
    }
    for filename in ["shared_a-1.0.tar.gz", "shared_b-1.0.tar.gz"] {
        let r = c.get(format!("{}/files/{sha}/{filename}", gate.base())).send().unwrap();
        assert_eq!(r.status(), 200, "{filename}: {}", gate.log());
        assert_eq!(r.bytes().unwrap().as_ref(), bytes.as_slice(), "{filename}");
    }
    for name in ["shared-a", "shared-b"] {
        let venv = Venv::new();
        let mut cmd = std::process::Command::new("python3");
        cmd.args(["-m", "pip", "--python"]).arg(venv.python()).args([
            "install",
            "--index-url",
            &gate.url,
            &format!("{name}==1.0"),
        ]);
        isolated(&mut cmd, venv.path());
        cmd.env("PIPGATE_TEST_DIST", name);
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{name}: {}\n{}", show(&out), gate.log());
        let module = name.replace('-', "_");
        assert_eq!(venv.run(&format!("import {module}; print({module}.VERSION)")), "1.0", "{name}");
    }
}
