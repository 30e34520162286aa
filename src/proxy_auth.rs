//! Proxy authentication: who may use pipgate as an `HTTPS_PROXY` / `HTTP_PROXY`.
//!
//! Owns: the users file (`--proxy-users FILE`: `name:$argon2id$…` lines, `#` comments), its
//! errors (file and line), checking a `Proxy-Authorization: Basic …` header, and making a
//! line for a new user (`pipgate proxy-user NAME`).
//!
//! Passwords are stored as argon2id PHC strings: proxy passwords are chosen by people and
//! typed into proxy URLs, so a slow, memory-hard hash is what keeps a leaked users file from
//! giving them away (a fast hash such as sha256-crypt falls to GPUs). The cost (tens of ms)
//! is paid once per credential and [`VERIFIED_TTL`]: a verified header is remembered by its
//! sha256, never in clear. Failures are never cached.
//! Must not: build responses or log secrets (a header's value never reaches a log or error).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A verified `Proxy-Authorization` value is trusted again without hashing for this long.
pub(crate) const VERIFIED_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// A users file that cannot be used, naming the file and line.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("{path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path}:{line}: {reason} (expected NAME:$argon2id$…, as `pipgate proxy-user NAME` prints)")]
    Line { path: PathBuf, line: usize, reason: String },
}

/// The users allowed to use the forward proxy.
pub struct ProxyUsers {
    hashes: HashMap<String, String>,
    verified: moka::sync::Cache<[u8; 32], String>,
}

impl std::fmt::Debug for ProxyUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProxyUsers({} users)", self.hashes.len())
    }
}

impl ProxyUsers {
    /// Read a users file.
    pub fn load(path: &Path) -> Result<ProxyUsers, UsersError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| UsersError::Read { path: path.to_path_buf(), reason: e.to_string() })?;
        Self::parse(path, &text)
    }

    pub(crate) fn parse(path: &Path, text: &str) -> Result<ProxyUsers, UsersError> {
        let mut hashes = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let bad = |reason: &str| UsersError::Line { path: path.to_path_buf(), line: i + 1, reason: reason.into() };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, hash) = line.split_once(':').ok_or_else(|| bad("no ':' between name and hash"))?;
            if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(bad("the name is empty or has spaces"));
            }
            let parsed = PasswordHash::new(hash).map_err(|_| bad("not a PHC hash string"))?;
            if parsed.algorithm.as_str() != "argon2id" {
                return Err(bad("only argon2id hashes are accepted"));
            }
            if hashes.insert(name.to_string(), hash.to_string()).is_some() {
                return Err(bad(&format!("user {name:?} appears twice")));
            }
        }
        if hashes.is_empty() {
            return Err(UsersError::Read { path: path.to_path_buf(), reason: "no users in the file".into() });
        }
        let verified = moka::sync::Cache::builder().max_capacity(10_000).time_to_live(VERIFIED_TTL).build();
        Ok(ProxyUsers { hashes, verified })
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The user a `Proxy-Authorization` header authenticates, or `None` (missing, not Basic,
    /// unknown user, wrong password).
    pub(crate) fn check(&self, header: Option<&str>) -> Option<String> {
        let value = header?.trim();
        let digest: [u8; 32] = Sha256::digest(value.as_bytes()).into();
        if let Some(user) = self.verified.get(&digest) {
            return Some(user);
        }
        let (scheme, token) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD.decode(token.trim()).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (name, password) = decoded.split_once(':')?;
        let stored = self.hashes.get(name)?;
        let hash = PasswordHash::new(stored).ok()?;
        Argon2::default().verify_password(password.as_bytes(), &hash).ok()?;
        self.verified.insert(digest, name.to_string());
        Some(name.to_string())
    }
}

/// A users-file line for `name` with `password` (argon2id, default parameters, random salt).
pub fn user_line(name: &str, password: &str) -> Result<String, String> {
    if name.is_empty() || name.contains(':') || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{name:?}: a user name must be non-empty, without ':' or spaces"));
    }
    let mut random = [0u8; 16];
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut random)
        .map_err(|_| "the system random source failed".to_string())?;
    let salt = SaltString::encode_b64(&random).map_err(|e| e.to_string())?;
    let hash = Argon2::default().hash_password(password.as_bytes(), &salt).map_err(|e| e.to_string())?;
    Ok(format!("{name}:{hash}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, pass: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}")))
    }

    #[test]
    fn a_users_file_checks_basic_credentials() {
        let text = format!(
            "# proxy users\n{}\n\n{}\n",
            user_line("alice", "s3cret").unwrap(),
            user_line("bob", "pw").unwrap()
        );
        let users = ProxyUsers::parse(Path::new("users"), &text).unwrap();
        assert_eq!(users.len(), 2);
        let cases: &[(&str, Option<String>, Option<&str>)] = &[
            ("right password", Some(basic("alice", "s3cret")), Some("alice")),
            ("again (cached)", Some(basic("alice", "s3cret")), Some("alice")),
            ("lower-case scheme", Some(basic("bob", "pw").replace("Basic", "basic")), Some("bob")),
            ("wrong password", Some(basic("alice", "S3cret")), None),
            ("another user's password", Some(basic("bob", "s3cret")), None),
            ("unknown user", Some(basic("carol", "s3cret")), None),
            ("not basic", Some("Bearer abc".into()), None),
            ("not base64", Some("Basic !!!".into()), None),
            ("no header", None, None),
        ];
        for (case, header, want) in cases {
            assert_eq!(users.check(header.as_deref()).as_deref(), *want, "{case}");
        }
    }

    #[test]
    fn bad_lines_name_the_file_and_line() {
        let good = user_line("alice", "x").unwrap();
        let cases: &[(&str, String, &str)] = &[
            ("no colon", "alice".into(), "users:1:"),
            ("plain password", "alice:hunter2".into(), "users:1: not a PHC hash"),
            (
                "other algorithm",
                "alice:$argon2i$v=19$m=16,t=2,p=1$c29tZXNhbHQ$YWJjZGVmZ2hpamtsbW5vcA".into(),
                "users:1: only argon2id",
            ),
            ("twice", format!("{good}\n# c\n{good}"), "users:3: user \"alice\" appears twice"),
            ("empty", "# nobody\n".into(), "no users"),
        ];
        for (case, text, want) in cases {
            let err = ProxyUsers::parse(Path::new("users"), text).unwrap_err().to_string();
            assert!(err.contains(want), "{case}: {err}");
            assert!(!err.contains("hunter2"), "{case}: no secrets in errors: {err}");
        }
        assert!(user_line("a:b", "x").is_err());
    }
}
