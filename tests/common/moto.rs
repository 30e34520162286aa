//! A throwaway S3-compatible server for tests: `moto` in server mode (installed from PyPI by
//! `scripts/test.sh`) on a free loopback port, stopped on drop. Buckets and objects are
//! made with plain path-style HTTP, objects read and replaced through boto3 (which moto
//! depends on). Used by
//! `tests/objstore.rs` and, through `#[path]`, by the blob store's unit tests.
//! Needs std and reqwest's blocking client (call it outside an async runtime).
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Credentials moto accepts (any are accepted; these only have to be present).
pub(crate) const S3_ENV: [(&str, &str); 3] =
    [("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_REGION", "us-east-1")];

pub(crate) struct MotoServer {
    pub port: u16,
    child: Child,
    http: reqwest::blocking::Client,
}

impl MotoServer {
    /// Start `moto_server` (or `python3 -m moto.server`) and wait until it answers.
    pub(crate) fn start() -> MotoServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let port_s = port.to_string();
        let args = ["-H", "127.0.0.1", "-p", port_s.as_str()];
        let spawn = |cmd: &mut Command| cmd.args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn();
        let child = spawn(&mut Command::new("moto_server"))
            .or_else(|_| spawn(Command::new("python3").args(["-m", "moto.server"])))
            .expect("moto is not installed: scripts/test.sh installs it (python3 -m pip install 'moto[server]')");
        let http = reqwest::blocking::Client::builder().no_proxy().timeout(Duration::from_secs(30)).build().unwrap();
        let server = MotoServer { port, child, http };
        let deadline = Instant::now() + Duration::from_secs(30);
        while server.http.get(server.endpoint()).send().is_err() {
            assert!(Instant::now() < deadline, "moto did not answer on port {port} within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(crate) fn create_bucket(&self, bucket: &str) {
        let r = self.http.put(format!("{}/{bucket}", self.endpoint())).send().unwrap();
        assert!(r.status().is_success(), "create bucket {bucket}: {}", r.status());
    }

    /// An object's bytes, or `None` when there is none.
    pub(crate) fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let code = "import sys\ntry:\n    sys.stdout.buffer.write(s3.get_object(Bucket=sys.argv[1], Key=sys.argv[2])['Body'].read())\n\
                    except s3.exceptions.NoSuchKey:\n    sys.exit(3)";
        let out = self.boto3(code, &[bucket, key], None);
        match out.status.code() {
            Some(0) => Some(out.stdout),
            Some(3) => None,
            _ => panic!("get {bucket}/{key}: {}", String::from_utf8_lossy(&out.stderr)),
        }
    }

    /// Replace an object's bytes behind pipgate's back (a signed PUT: moto refuses others).
    pub(crate) fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>) {
        let code = "import sys\ns3.put_object(Bucket=sys.argv[1], Key=sys.argv[2], Body=sys.stdin.buffer.read())";
        let out = self.boto3(code, &[bucket, key], Some(bytes));
        assert!(out.status.success(), "put {bucket}/{key}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Run Python `code` with `s3`, a boto3 client for this server (boto3 comes with moto).
    fn boto3(&self, code: &str, args: &[&str], stdin: Option<Vec<u8>>) -> std::process::Output {
        use std::io::Write;
        let prelude = format!(
            "import boto3\ns3 = boto3.client('s3', endpoint_url='{}', aws_access_key_id='testing', \
             aws_secret_access_key='testing', region_name='us-east-1')\n",
            self.endpoint()
        );
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(prelude + code)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(b) = stdin {
            input.write_all(&b).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
