//! A throwaway PostgreSQL server for tests: `initdb` + `pg_ctl` in a temporary directory on
//! a free loopback port, password authentication (so tests can check the password never
//! shows), run as `nobody` when the tests run as root (PostgreSQL refuses root); stopped on
//! drop. Used by `tests/postgres.rs` and, through `#[path]`, by the store's unit tests.
//! Needs only std and tempfile.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The test server's password (tests assert it never appears in logs or errors).
pub(crate) const PG_PASSWORD: &str = "pg-test-Secr3t-pass";
pub(crate) const PG_USER: &str = "pipgate";

pub(crate) struct PgServer {
    pub port: u16,
    bin: PathBuf,
    dir: tempfile::TempDir,
    as_nobody: bool,
}

/// Where `initdb` and `pg_ctl` are: on `PATH`, else Debian's `/usr/lib/postgresql/<v>/bin`.
fn bin_dir() -> PathBuf {
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            if d.join("initdb").exists() && d.join("pg_ctl").exists() {
                return d;
            }
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().expect("PostgreSQL is not installed (initdb not found): scripts/test.sh installs Debian's postgresql")
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

impl PgServer {
    pub(crate) fn start() -> PgServer {
        let bin = bin_dir();
        let dir = tempfile::Builder::new().prefix("pg").tempdir_in("/tmp").unwrap();
        let as_nobody = is_root();
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PG_PASSWORD).unwrap();
        if as_nobody {
            let st = Command::new("chown").args(["-R", "nobody"]).arg(dir.path()).status().unwrap();
            assert!(st.success(), "chown the server's directory to nobody");
        }
        let mut server = PgServer { port: 0, bin, dir, as_nobody };
        let data = server.data();
        server.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                PG_USER.as_ref(),
                "--auth=scram-sha-256".as_ref(),
                "--pwfile".as_ref(),
                pwfile.as_os_str(),
                "--no-sync".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
            ],
        );
        // A free port: bind, read, let go (the server binds it a moment later).
        server.port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            server.port,
            server.dir.path().display()
        );
        let log = server.dir.path().join("server.log");
        server.run(
            "pg_ctl",
            &[
                "start".as_ref(),
                "-w".as_ref(),
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                opts.as_ref(),
            ],
        );
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, tool: &str, args: &[&std::ffi::OsStr]) {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_nobody {
            let mut c = Command::new("runuser");
            c.args(["-u", "nobody", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd.args(args).current_dir(self.dir.path()).output().unwrap();
        assert!(
            out.status.success(),
            "{tool} failed: {}\n{}\nserver log: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
        );
    }

    /// `postgres://pipgate:PASSWORD@127.0.0.1:PORT/<db>` (`postgres` exists from the start).
    pub(crate) fn url(&self, db: &str) -> String {
        format!("postgres://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{}/{db}", self.port)
    }

    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.data();
        let exe = self.bin.join("pg_ctl");
        let mut cmd = if self.as_nobody {
            let mut c = Command::new("runuser");
            c.args(["-u", "nobody", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let _ = cmd.args(["stop", "-m", "immediate", "-D"]).arg(data).output();
    }
}
