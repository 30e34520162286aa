//! What a member is: its [`FileRole`] from its path, whether its bytes are text,
//! and whether they are native code.
//!
//! Owns: path-based role classification (with the sdist `pkg-1.0/` prefix
//! stripped), the text/binary decision and text decoding, native-binary sniffing.
//! Must not: read archives or run detectors; it only looks at one name or one buffer.

use crate::model::{ArtifactKind, FileRole};
use std::borrow::Cow;

/// The member path without an sdist's single top-level directory (`pkg-1.0/`).
pub(crate) fn strip_sdist_prefix(path: &str, kind: ArtifactKind) -> &str {
    if kind != ArtifactKind::Sdist {
        return path;
    }
    match path.split_once('/') {
        Some((_, rest)) if !rest.is_empty() => rest,
        _ => path,
    }
}

const METADATA_FILES: &[&str] = &[
    "METADATA",
    "PKG-INFO",
    "RECORD",
    "WHEEL",
    "INSTALLER",
    "REQUESTED",
    "pyproject.toml",
    "setup.cfg",
    "entry_points.txt",
    "top_level.txt",
    "requires.txt",
    "SOURCES.txt",
    "dependency_links.txt",
    "not-zip-safe",
    "zip-safe",
    "direct_url.json",
    "MANIFEST.in",
];

const BINARY_EXTENSIONS: &[&str] = &[
    "so", "pyd", "dll", "dylib", "exe", "a", "lib", "o", "bin", "pyc", "pyo", "whl", "egg", "zip", "gz", "tgz", "bz2",
    "xz", "png", "jpg", "jpeg", "gif", "ico", "woff", "woff2", "ttf", "otf", "pdf", "npy", "npz", "pkl", "db",
    "sqlite",
];

/// Extensions of native shared libraries and executables.
const NATIVE_EXTENSIONS: &[&str] = &["so", "pyd", "dll", "dylib", "exe"];

/// Classify one member by path. `path` is the archive path (an sdist prefix is stripped here).
pub(crate) fn classify(path: &str, kind: ArtifactKind) -> FileRole {
    let inner = strip_sdist_prefix(path, kind);
    let base = inner.rsplit('/').next().unwrap_or(inner);
    let ext = extension(base);
    if is_install_time(inner, base, ext, kind) {
        return FileRole::InstallTime;
    }
    if METADATA_FILES.contains(&base) || inner.contains(".dist-info/") || inner.contains(".egg-info/") {
        return FileRole::Metadata;
    }
    if is_native_name(base) || BINARY_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()) {
        return FileRole::Binary;
    }
    if is_test_or_docs(inner, base) || kind == ArtifactKind::Sdist && is_maintainer_tree(inner) {
        return FileRole::TestOrDocs;
    }
    // Web assets (`.js`, `.css`, …) and data files are `Other`: served or read, not run.
    if matches!(ext, "py" | "pyw" | "pyi" | "pyx" | "pxd" | "c" | "h" | "cpp" | "sh") {
        return FileRole::Runtime;
    }
    FileRole::Other
}

fn extension(base: &str) -> &str {
    base.rsplit_once('.').map(|(_, e)| e).unwrap_or("")
}

fn is_install_time(inner: &str, base: &str, ext: &str, kind: ArtifactKind) -> bool {
    if ext == "pth" {
        // `site` reads `.pth` files only in a site directory: a wheel's root (or its
        // `.data/purelib|platlib/` root). One deeper, or anywhere in an sdist but its top, it
        // is a file like any other (test fixtures of namespace packages).
        let parent = inner.rsplit_once('/').map(|(dir, _)| dir);
        return match parent {
            None => true,
            Some(dir) => kind == ArtifactKind::Wheel && is_wheel_data_root(dir),
        };
    }
    // Only the top-level build entry points run at install time; a `setup.py`
    // deep in a vendored tree does not.
    let top_level = !inner.contains('/');
    // In-tree PEP 517 backends (`backend-path`) by their usual names: the engine sees
    // `pyproject.toml` in archive order, so the role cannot wait for it;
    // `execution.install-hook` names the backend the pyproject actually points at.
    let in_tree_backend = kind == ArtifactKind::Sdist
        && (top_level && matches!(base, "backend.py" | "build_backend.py" | "_backend.py")
            || inner.starts_with("_build_backend/")
            || inner.starts_with("_backend/"));
    top_level && matches!(base, "setup.py" | "build.py" | "_build_backend.py")
        || inner.starts_with("_custom_build/")
        || inner.starts_with("build_backend/")
        || in_tree_backend
}

/// `pkg-1.0.data/purelib` or `pkg-1.0.data/platlib`: what a wheel installs into site-packages.
pub(crate) fn is_wheel_data_root(dir: &str) -> bool {
    dir.split_once('/').is_some_and(|(data, root)| data.ends_with(".data") && matches!(root, "purelib" | "platlib"))
}

pub(crate) fn is_test_or_docs(inner: &str, base: &str) -> bool {
    const DIRS: &[&str] = &["tests", "test", "testing", "t", "docs", "doc", "examples", "example", "benchmarks"];
    let in_dir = inner.split('/').rev().skip(1).any(|seg| DIRS.contains(&seg));
    in_dir
        || base.starts_with("test_")
        || crate::scan::detectors::pysrc::is_test_file_name(&base.to_ascii_lowercase())
        || is_dev_tooling_path(inner)
}

/// An sdist's top-level maintainer trees (`scripts/`, `tools/`, `dev/`): helper scripts
/// that pip never runs and that are not importable from the installed package.
fn is_maintainer_tree(inner: &str) -> bool {
    inner.split_once('/').is_some_and(|(top, _)| matches!(top, "scripts" | "tools" | "dev"))
}

/// CI, test-fixture and maintainer-tooling paths: `ci/`, `.github/`, `test cases/`,
/// `testdata/`, `fixtures/`, `benchmarks/`, `build-docs.sh`, … Nothing there runs
/// when pip installs the package or when the library is imported.
pub(crate) fn is_dev_tooling_path(path: &str) -> bool {
    const DIRS: &[&str] = &[
        "ci",
        ".ci",
        ".github",
        ".gitlab",
        ".circleci",
        ".azure-pipelines",
        ".buildkite",
        ".evergreen",
        "ciimage",
        "test cases",
        "manual tests",
        "unittests",
        "testdata",
        "test_data",
        "fixtures",
        "benchmarks",
        "benchmark",
        "docs",
        "doc",
        "examples",
        "example",
    ];
    let lower = path.to_ascii_lowercase();
    let mut segs: Vec<&str> = lower.split(['/', '\\', '!']).collect();
    let base = segs.pop().unwrap_or("");
    let in_dir = segs.iter().any(|seg| DIRS.contains(seg) || seg.ends_with(" tests") || seg.starts_with("test "));
    let stem = base.rsplit_once('.').map_or(base, |(s, _)| s);
    in_dir
        || base.starts_with(".gitlab-ci")
        || base == "azure-pipelines.yml"
        || is_provisioning_file(base)
        || [
            "build-docs",
            "build_docs",
            "builddocs",
            "make-docs",
            "make_docs",
            "deploy-docs",
            "deploy_docs",
            "run-tests",
            "run_tests",
            "runtests",
        ]
        .contains(&stem)
}

/// Files that build or provision a developer's machine, container or VM (`Vagrantfile`,
/// `Dockerfile`, `Containerfile`, `Jenkinsfile`, `docker-compose.yml`, `Dockerfile.dev`):
/// read by tools a maintainer runs, never by pip or an import. Lower-case input.
fn is_provisioning_file(base: &str) -> bool {
    matches!(base, "vagrantfile" | "jenkinsfile" | "containerfile" | "procfile")
        || base.starts_with("dockerfile")
        || base.ends_with(".dockerfile")
        || base.starts_with("docker-compose")
        || base.starts_with("compose.y")
}

/// True for names of native libraries and executables (`x.so`, `x.so.1`, `x.pyd`, ...).
pub(crate) fn is_native_name(base: &str) -> bool {
    let lower = base.to_ascii_lowercase();
    NATIVE_EXTENSIONS.iter().any(|e| lower.ends_with(&format!(".{e}"))) || lower.contains(".so.")
}

/// The native format of `data` if its magic bytes say ELF, Mach-O or PE.
pub(crate) fn native_magic(data: &[u8]) -> Option<&'static str> {
    match data {
        [0x7f, b'E', b'L', b'F', ..] => Some("ELF"),
        [0xfe, 0xed, 0xfa, 0xce | 0xcf, ..] | [0xce | 0xcf, 0xfa, 0xed, 0xfe, ..] => Some("Mach-O"),
        [0xca, 0xfe, 0xba, 0xbe, ..] => Some("Mach-O universal"),
        [b'M', b'Z', ..] if is_pe(data) => Some("PE"),
        _ => None,
    }
}

fn is_pe(data: &[u8]) -> bool {
    let Some(off) = data.get(0x3c..0x40) else {
        return false;
    };
    let off = u32::from_le_bytes([off[0], off[1], off[2], off[3]]) as usize;
    data.get(off..off.saturating_add(4)) == Some(b"PE\0\0")
}

/// How much of a member's head is sniffed for NUL bytes and control characters.
const SNIFF: usize = 8192;

/// Decode a member as text, or `None` when it is binary.
///
/// NUL bytes in the head, or mostly non-text bytes, mean binary. Valid UTF-8 is
/// borrowed; a member truncated by a limit in the middle of a character is cut at
/// the last whole character; anything else that is mostly text is decoded lossily.
pub(crate) fn decode_text(data: &[u8], truncated: bool) -> Option<Cow<'_, str>> {
    let head = &data[..data.len().min(SNIFF)];
    if head.contains(&0) {
        return None;
    }
    match std::str::from_utf8(data) {
        Ok(s) => Some(Cow::Borrowed(s)),
        Err(e) if truncated && e.error_len().is_none() => {
            std::str::from_utf8(&data[..e.valid_up_to()]).ok().map(Cow::Borrowed)
        }
        Err(_) if looks_like_text(head) => Some(String::from_utf8_lossy(data)),
        Err(_) => None,
    }
}

/// Latin-1-ish text: few control characters and a minority of high bytes.
fn looks_like_text(head: &[u8]) -> bool {
    let control = head.iter().filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b)).count();
    let high = head.iter().filter(|&&b| b >= 0x80).count();
    control * 100 <= head.len() && high * 100 <= head.len() * 30
}

/// True when a member is a Python module whose top level runs when it is imported: not a
/// stub (`.pyi`), not `__main__.py` (run by `python -m`, not by an import), not a script
/// installed from a wheel's `.data/scripts/`.
pub(crate) fn is_imported_module(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    matches!(extension(base), "py" | "pyw") && base != "__main__.py" && !path.contains(".data/scripts/")
}

/// True when a text member is Python source.
pub(crate) fn is_python(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    matches!(extension(base), "py" | "pyw" | "pyi")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_paths() {
        use ArtifactKind::{Sdist, Wheel};
        let cases = [
            ("sdist setup.py", "pkg-1.0/setup.py", Sdist, FileRole::InstallTime),
            ("wheel setup.py is not top-level install", "pkg/setup.py", Wheel, FileRole::Runtime),
            ("pth file", "evil.pth", Wheel, FileRole::InstallTime),
            ("pth file installed from purelib", "x-1.0.data/purelib/evil.pth", Wheel, FileRole::InstallTime),
            ("pth file at an sdist's top", "x-1.0/evil.pth", Sdist, FileRole::InstallTime),
            (
                "pth fixture in an sdist's tests",
                "x-1.0/tests/functional/modules/ns-pkg/ns_aaa-nspkg.pth",
                Sdist,
                FileRole::TestOrDocs,
            ),
            ("pth file inside a wheel's package is not read by site", "pkg/data/x.pth", Wheel, FileRole::Other),
            ("sdist PKG-INFO", "pkg-1.0/PKG-INFO", Sdist, FileRole::Metadata),
            ("sdist pyproject", "pkg-1.0/pyproject.toml", Sdist, FileRole::Metadata),
            ("wheel METADATA", "pkg-1.0.dist-info/METADATA", Wheel, FileRole::Metadata),
            ("wheel entry points", "pkg-1.0.dist-info/entry_points.txt", Wheel, FileRole::Metadata),
            ("library code", "pkg/__init__.py", Wheel, FileRole::Runtime),
            ("tests dir", "pkg-1.0/tests/test_x.py", Sdist, FileRole::TestOrDocs),
            ("task queue's t/ dir", "celery-5.7.0/t/unit/security/__init__.py", Sdist, FileRole::TestOrDocs),
            ("go test file", "pkg-1.0/vendor/x/key_test.go", Sdist, FileRole::TestOrDocs),
            (
                "c++ test file in a vendored library",
                "pkg-1.0/crt/lib/crypto/dsa/dsa_test.cc",
                Sdist,
                FileRole::TestOrDocs,
            ),
            ("c++ unit test", "pkg-1.0/third_party/x/src/parser_unittest.cpp", Sdist, FileRole::TestOrDocs),
            ("rust test file", "pkg-1.0/rust/src/handshake_tests.rs", Sdist, FileRole::TestOrDocs),
            ("javascript spec", "pkg/static/src/form.spec.ts", Wheel, FileRole::TestOrDocs),
            ("a module named like a test word stays runtime", "pkg/latest.py", Wheel, FileRole::Runtime),
            ("a c source that tests nothing stays runtime", "pkg-1.0/src/attest.c", Sdist, FileRole::Runtime),
            ("test_ file", "pkg/test_util.py", Wheel, FileRole::TestOrDocs),
            ("docs", "pkg-1.0/docs/conf.py", Sdist, FileRole::TestOrDocs),
            ("examples", "pkg-1.0/examples/demo.py", Sdist, FileRole::TestOrDocs),
            ("extension module", "pkg/_speedups.cpython-312-x86_64-linux-gnu.so", Wheel, FileRole::Binary),
            ("versioned so", "pkg.libs/libz.so.1.2", Wheel, FileRole::Binary),
            ("readme", "pkg-1.0/README.md", Sdist, FileRole::Other),
            ("web asset", "pkg/static/_next/chunks/a.js", Wheel, FileRole::Other),
            ("ci script", "pkg-1.0/vendored/m/ci/ciimage/opensuse/install.sh", Sdist, FileRole::TestOrDocs),
            ("docs build script", "pkg-1.0/build-docs.sh", Sdist, FileRole::TestOrDocs),
            ("test cases dir", "pkg-1.0/m/test cases/rust/x/a.py", Sdist, FileRole::TestOrDocs),
            ("manual tests dir", "pkg-1.0/m/manual tests/4 x/build.py", Sdist, FileRole::TestOrDocs),
            ("github workflow", "pkg-1.0/.github/workflows/ci.yml", Sdist, FileRole::TestOrDocs),
            ("runtime shell script", "pkg/bin/run.sh", Wheel, FileRole::Runtime),
            ("vagrant provisioning file", "pkg-1.0/bootloader/Vagrantfile", Sdist, FileRole::TestOrDocs),
            ("dockerfile", "pkg-1.0/docker/Dockerfile.dev", Sdist, FileRole::TestOrDocs),
            ("in-tree backend module", "pkg-1.0/backend.py", Sdist, FileRole::InstallTime),
            ("a module merely named like a backend", "pkg-1.0/redis_backend.py", Sdist, FileRole::Runtime),
            ("in-tree backend package", "pkg-1.0/_backend/hooks.py", Sdist, FileRole::InstallTime),
            ("a wheel's backend.py is library code", "pkg/backend.py", Wheel, FileRole::Runtime),
            ("sdist helper script", "pkg-1.0/scripts/download_model.py", Sdist, FileRole::TestOrDocs),
            ("sdist maintainer tool", "pkg-1.0/tools/release.sh", Sdist, FileRole::TestOrDocs),
            ("evergreen CI config", "pkg-1.0/.evergreen/run-tests.sh", Sdist, FileRole::TestOrDocs),
            ("a package's own tools module stays runtime", "pkg-1.0/pkg/tools/fetch.py", Sdist, FileRole::Runtime),
            ("a wheel's scripts package stays runtime", "scripts/fetch.py", Wheel, FileRole::Runtime),
        ];
        for (case, path, kind, want) in cases {
            assert_eq!(classify(path, kind), want, "{case}: {path}");
        }
    }

    #[test]
    fn modules_whose_top_level_runs_on_import() {
        let cases = [
            ("package init", "pkg/__init__.py", true),
            ("module", "pkg/core.py", true),
            ("windows gui module", "pkg/gui.pyw", true),
            ("python -m entry point", "pkg/__main__.py", false),
            ("type stub", "pkg/core.pyi", false),
            ("installed script", "pkg-1.0.data/scripts/tool.py", false),
            ("not python", "pkg/run.sh", false),
        ];
        for (case, path, want) in cases {
            assert_eq!(is_imported_module(path), want, "{case}: {path}");
        }
    }

    #[test]
    fn text_and_binary_are_told_apart() {
        let elf = b"\x7fELF\x02\x01\x01\0\0\0";
        let cases: [(&str, &[u8], bool, Option<&str>); 5] = [
            ("utf-8 text", "print('héllo')\n".as_bytes(), false, Some("print('héllo')\n")),
            ("nul bytes", elf, false, None),
            ("latin-1 text", b"# caf\xe9 au lait\nx = 1\n", false, Some("# caf\u{fffd} au lait\nx = 1\n")),
            ("truncated mid-character", b"ab\xc3", true, Some("ab")),
            ("random high bytes", &[0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0x90, 0x91], false, None),
        ];
        for (case, data, truncated, want) in cases {
            assert_eq!(decode_text(data, truncated).as_deref(), want, "{case}");
        }
        assert_eq!(native_magic(elf), Some("ELF"));
        assert_eq!(native_magic(b"#!/bin/sh\n"), None);
    }
}
