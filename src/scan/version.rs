//! The scanner version: `<crate version>+scan.<digest>`, derived from what decides the
//! findings so that it cannot be forgotten. The store keys cached reports by sha256 and
//! this version, so any change below makes every artifact be scanned again.
//!
//! Owns: [`ENGINE_REVISION`] and the derivation. Must not: be bumped by hand anywhere
//! else — change a detector's `DetectorMeta::revision`, or [`ENGINE_REVISION`] for the
//! engine (walk, limits, roles, decoding, prefilter, its own findings).

use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// Revision of everything that is not a detector: the archive walk and its limits, roles,
/// text decoding, the prefilter and dispatch, the engine's own findings (their metas carry
/// this revision), grouping into findings. Bump it when any of them changes what is found.
pub(crate) const ENGINE_REVISION: u32 = 14;

/// The version stamped on every report and used as the report cache key:
/// `"<crate version>+scan.<first 12 hex digits of a sha256>"` over the sorted
/// (detector id, revision) list of every registered detector and [`ENGINE_REVISION`].
/// Computed once; the same `&'static str` on every call.
pub fn scanner_version() -> &'static str {
    static VERSION: LazyLock<String> = LazyLock::new(|| {
        let revisions: Vec<_> = super::detectors::catalog().iter().map(|m| (m.id, m.revision)).collect();
        derive(env!("CARGO_PKG_VERSION"), &revisions, ENGINE_REVISION)
    });
    &VERSION
}

/// The version for a crate version, (id, revision) pairs (any order) and an engine revision.
fn derive(crate_version: &str, revisions: &[(&str, u32)], engine_revision: u32) -> String {
    let mut sorted = revisions.to_vec();
    sorted.sort_unstable();
    let mut h = Sha256::new();
    for (id, revision) in sorted {
        h.update(format!("{id}\0{revision}\n"));
    }
    h.update(format!("engine\0{engine_revision}\n"));
    let digest = h.finalize();
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{crate_version}+scan.{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_derived_and_stable() {
        let v = scanner_version();
        assert!(std::ptr::eq(v, scanner_version()), "computed once");
        let (krate, digest) = v.split_once("+scan.").expect("<crate>+scan.<digest>");
        assert_eq!(krate, env!("CARGO_PKG_VERSION"));
        assert!(digest.len() == 12 && digest.bytes().all(|b| b.is_ascii_hexdigit()), "{v}");
        let revisions: Vec<_> = crate::scan::detectors::catalog().iter().map(|m| (m.id, m.revision)).collect();
        assert_eq!(v, derive(env!("CARGO_PKG_VERSION"), &revisions, ENGINE_REVISION), "from the registry");
    }

    #[test]
    fn any_revision_change_changes_the_version() {
        let base = [("network.a", 1), ("execution.b", 1), ("secrets.c", 2)];
        let v = derive("1.0.0", &base, 1);
        let cases = [
            ("same input", derive("1.0.0", &base, 1), true),
            ("order does not matter", derive("1.0.0", &[base[2], base[0], base[1]], 1), true),
            ("one detector revision bumped", derive("1.0.0", &[("network.a", 2), base[1], base[2]], 1), false),
            ("engine revision bumped", derive("1.0.0", &base, 2), false),
            ("a detector added", derive("1.0.0", &[base[0], base[1], base[2], ("obfuscation.d", 1)], 1), false),
            ("a detector removed", derive("1.0.0", &base[..2], 1), false),
            ("another crate version", derive("1.0.1", &base, 1), false),
        ];
        for (case, got, same) in cases {
            assert_eq!(got == v, same, "{case}: {got} vs {v}");
        }
    }
}
