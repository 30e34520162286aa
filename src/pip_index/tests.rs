use super::*;
use std::os::unix::fs::PermissionsExt;

/// A machine laid out in a temporary directory: `etc/`, a home, and an interpreter prefix.
struct Machine {
    dir: tempfile::TempDir,
}

impl Machine {
    fn new() -> Machine {
        let m = Machine { dir: tempfile::tempdir().unwrap() };
        for d in ["etc", "home", "prefix"] {
            std::fs::create_dir_all(m.path(d)).unwrap();
        }
        m
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    fn env(&self, vars: &[(&str, String)]) -> PipEnv {
        let mut map: BTreeMap<String, String> = [("HOME".to_string(), self.path("home").display().to_string())].into();
        for (k, v) in vars {
            map.insert(k.to_string(), v.clone());
        }
        PipEnv { vars: map, etc: self.path("etc") }
    }
    /// A stand-in interpreter that answers the probe as pip would, with hosts of its own, and
    /// counts its runs in `runs`.
    fn fake_python(&self, index_url: Option<&str>) -> String {
        let path = self.path("bin/python3");
        let answer = serde_json::json!({
            "prefix": self.path("prefix"),
            "pip_file": self.path("prefix/pip/__init__.py"),
            "default_url": "https://index.example.org/simple/",
            "file_host": "files.example.net",
            "index_url": index_url,
            "how": index_url.map(|_| "pip config global.index-url"),
        });
        self.write("prefix/pip/__init__.py", "");
        self.write(
            "bin/python3",
            &format!("#!/bin/sh\necho run >> {}\necho '{answer}'\n", self.path("runs").display()),
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.display().to_string()
    }
    fn runs(&self) -> usize {
        std::fs::read_to_string(self.path("runs")).unwrap_or_default().lines().count()
    }
}

#[test]
fn pip_config_is_read_in_pips_order() {
    let m = Machine::new();
    let s = |rel: &str| m.path(rel).display().to_string();
    let mirror = |n: u8| format!("https://mirror{n}.example.com/simple/");
    // (case, files to write, env vars, prefix known, expected answer)
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, Vec<(&'a str, String)>, bool, ConfigAnswer);
    let cases: Vec<Case> = vec![
        ("nothing configured: pip's default", vec![], vec![], true, ConfigAnswer::Default),
        (
            "PIP_INDEX_URL wins over every file",
            vec![("etc/pip.conf", format!("[install]\nindex-url = {}\n", mirror(1)))],
            vec![("PIP_INDEX_URL", mirror(2))],
            false,
            ConfigAnswer::Set(mirror(2), "PIP_INDEX_URL".into()),
        ),
        (
            "global file, [global] section",
            vec![("etc/pip.conf", format!("[global]\ncert = /x.pem\nindex-url = {}\n", mirror(1)))],
            vec![],
            true,
            ConfigAnswer::Set(mirror(1), format!("index-url in [global] of {}", s("etc/pip.conf"))),
        ),
        (
            "the user's XDG file overrides the legacy ~/.pip file and the global one",
            vec![
                ("etc/pip.conf", format!("[global]\nindex-url = {}\n", mirror(1))),
                ("home/.pip/pip.conf", format!("[global]\nindex-url = {}\n", mirror(2))),
                ("home/.config/pip/pip.conf", format!("[global]\nindex_url: {}\n", mirror(3))),
            ],
            vec![],
            true,
            ConfigAnswer::Set(mirror(3), format!("index-url in [global] of {}", s("home/.config/pip/pip.conf"))),
        ),
        (
            "the site file (in the prefix) overrides the user's",
            vec![
                ("home/.config/pip/pip.conf", format!("[global]\nindex-url = {}\n", mirror(1))),
                ("prefix/pip.conf", format!("[GLOBAL]\nIndex-URL = {}\n", mirror(2))),
            ],
            vec![],
            true,
            ConfigAnswer::Set(mirror(2), format!("index-url in [global] of {}", s("prefix/pip.conf"))),
        ),
        (
            "[install] in a lower file beats [global] in a higher one",
            vec![
                ("etc/pip.conf", format!("[install]\nindex-url = {}\n", mirror(1))),
                ("prefix/pip.conf", format!("[global]\nindex-url = {}\n", mirror(2))),
            ],
            vec![],
            true,
            ConfigAnswer::Set(mirror(1), format!("index-url in [install] of {}", s("etc/pip.conf"))),
        ),
        (
            "[download] beats [global]",
            vec![(
                "etc/pip.conf",
                format!("[global]\nindex-url = {}\n[download]\nindex-url = {}\n", mirror(1), mirror(2)),
            )],
            vec![],
            true,
            ConfigAnswer::Set(mirror(2), format!("index-url in [download] of {}", s("etc/pip.conf"))),
        ),
        (
            "PIP_CONFIG_FILE overrides the rest, and an existing one hides the user's files",
            vec![
                ("home/.config/pip/pip.conf", format!("[install]\nindex-url = {}\n", mirror(1))),
                ("custom.conf", format!("# comment\n; another\n[global]\nindex-url =\n  {}\n", mirror(2))),
            ],
            vec![("PIP_CONFIG_FILE", s("custom.conf"))],
            true,
            ConfigAnswer::Set(mirror(2), format!("index-url in [global] of {}", s("custom.conf"))),
        ),
        (
            "PIP_CONFIG_FILE=/dev/null: no file is read",
            vec![("etc/pip.conf", format!("[global]\nindex-url = {}\n", mirror(1)))],
            vec![("PIP_CONFIG_FILE", "/dev/null".into())],
            false,
            ConfigAnswer::Default,
        ),
        (
            "XDG_CONFIG_DIRS replaces etc/xdg; etc/pip.conf still overrides it",
            vec![
                ("xdg/pip/pip.conf", format!("[global]\nindex-url = {}\n", mirror(1))),
                ("etc/xdg/pip/pip.conf", format!("[global]\nindex-url = {}\n", mirror(2))),
            ],
            vec![("XDG_CONFIG_DIRS", s("xdg"))],
            true,
            ConfigAnswer::Set(mirror(1), format!("index-url in [global] of {}", s("xdg/pip/pip.conf"))),
        ),
        (
            "an unknown prefix: configuration cannot answer alone",
            vec![],
            vec![],
            false,
            ConfigAnswer::Unknown("the interpreter's prefix is not known without asking it".into()),
        ),
        (
            "a key set twice: pip would refuse the file, so pip is asked",
            vec![("etc/pip.conf", "[global]\nindex-url = a\nindex-url = b\n".into())],
            vec![],
            true,
            ConfigAnswer::Unknown(format!("{}: line 3: index-url set twice in [global]", s("etc/pip.conf"))),
        ),
        (
            "isolated mode: pip is asked",
            vec![],
            vec![("PIP_ISOLATED_MODE", "1".into())],
            true,
            ConfigAnswer::Unknown("PIP_ISOLATED_MODE is set".into()),
        ),
    ];
    for (case, files, vars, prefix_known, want) in cases {
        let m = Machine::new();
        // Paths in the expectations were built on the first machine: rebase them.
        let rebase = |t: &str| t.replace(&s(""), &m.path("").display().to_string());
        for (rel, text) in &files {
            m.write(rel, text);
        }
        let vars: Vec<(&str, String)> = vars.iter().map(|(k, v)| (*k, rebase(v))).collect();
        let prefix = m.path("prefix");
        let got = from_config(&m.env(&vars), prefix_known.then_some(prefix.as_path()));
        let want = match want {
            ConfigAnswer::Set(u, how) => ConfigAnswer::Set(u, rebase(&how)),
            ConfigAnswer::Unknown(why) => ConfigAnswer::Unknown(rebase(&why)),
            d => d,
        };
        assert_eq!(got, want, "{case}");
    }
}

#[test]
fn the_public_index_file_host_is_allowed_only_for_the_public_index() {
    let m = Machine::new();
    let python = m.fake_python(None);
    let pip = PipIndex::with_env(&python, None, m.env(&[]));
    let cases = [
        ("pip's public index", "https://index.example.org/simple/", Some("files.example.net")),
        ("same host, other path", "https://index.example.org/other/simple/", Some("files.example.net")),
        ("another index", "https://mirror.example.com/simple/", None),
        ("same host, other port", "https://index.example.org:8443/simple/", None),
        ("loopback IP: pip is not asked", "http://127.0.0.1:9/simple/", None),
        ("single-label host", "http://localhost:9/simple/", None),
    ];
    for (case, upstream, want) in cases {
        let got = pip.public_file_host(&Url::parse(upstream).unwrap());
        assert_eq!(got.as_deref(), want, "{case}");
    }
    assert_eq!(m.runs(), 1, "pip is asked once per process");
    let missing = PipIndex::with_env("/nonexistent/python3", None, m.env(&[]));
    assert_eq!(missing.public_file_host(&Url::parse(cases[0].1).unwrap()), None, "no pip: no extra host");
}

#[test]
fn an_upstream_pip_does_not_need_to_be_asked_for_is_found_without_running_it() {
    let m = Machine::new();
    let python = m.fake_python(None);
    let pip = PipIndex::with_env(
        &python,
        Some(&m.path("data")),
        m.env(&[("PIP_INDEX_URL", "https://mirror.example.com/simple".into())]),
    );
    let (url, how) = pip.upstream().unwrap();
    assert_eq!((url.as_str(), how.as_str()), ("https://mirror.example.com/simple/", "PIP_INDEX_URL"));
    assert_eq!(m.runs(), 0, "PIP_INDEX_URL answers alone");
    assert_eq!(pip.public_file_host(&url), None);
    assert_eq!(m.runs(), 1, "the file-host question asks pip (the upstream has a domain name)");
}

#[test]
fn pips_answer_is_cached_until_one_of_its_inputs_changes() {
    let m = Machine::new();
    let python = m.fake_python(Some("https://mirror.example.com/simple/"));
    let data = m.path("data");
    let ask = |vars: &[(&str, String)]| PipIndex::with_env(&python, Some(&data), m.env(vars)).upstream().unwrap();
    // Stamps compare mtimes in nanoseconds and sizes; appending changes the size too, so the
    // cases do not depend on the file system's timestamp granularity.
    let touch = |rel: &str| {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(m.path(rel)).unwrap();
        std::io::Write::write_all(&mut f, b"# changed\n").unwrap();
    };
    // (case, what changes before asking, runs of pip afterwards)
    type Change<'a> = Box<dyn Fn() -> Vec<(&'static str, String)> + 'a>;
    let cases: Vec<(&str, Change, usize)> = vec![
        ("first start: pip is asked (the interpreter is a launcher script)", Box::new(Vec::new), 1),
        ("second start, nothing changed: from the cache", Box::new(Vec::new), 1),
        (
            "a global config file appears",
            Box::new(|| {
                touch("etc/pip.conf");
                vec![]
            }),
            2,
        ),
        (
            "the site config file changes",
            Box::new(|| {
                touch("prefix/pip.conf");
                vec![]
            }),
            3,
        ),
        ("unchanged again: from the cache", Box::new(Vec::new), 3),
        (
            "pip was upgraded (its file changed)",
            Box::new(|| {
                touch("prefix/pip/__init__.py");
                vec![]
            }),
            4,
        ),
        (
            "the interpreter changed",
            Box::new(|| {
                touch("bin/python3");
                vec![]
            }),
            5,
        ),
        ("another virtual environment", Box::new(|| vec![("VIRTUAL_ENV", "/venvs/other".into())]), 6),
    ];
    for (case, change, runs) in cases {
        let vars = change();
        let (url, how) = ask(&vars);
        assert_eq!(url.as_str(), "https://mirror.example.com/simple/", "{case}");
        assert_eq!(how, "pip config global.index-url", "{case}");
        assert_eq!(m.runs(), runs, "{case}");
    }
    ask(&[]);
    assert_eq!(m.runs(), 7, "back to the first environment");
    std::fs::write(data.join(CACHE_NAME), "{ not json").unwrap();
    ask(&[]);
    assert_eq!(m.runs(), 8, "a damaged cache is ignored and rewritten");
    ask(&[]);
    assert_eq!(m.runs(), 8, "and used again");
}

#[test]
fn pips_default_is_asked_of_pip_when_config_sets_nothing() {
    let m = Machine::new();
    let python = m.fake_python(None);
    let pip = PipIndex::with_env(&python, None, m.env(&[]));
    let (url, how) = pip.upstream().unwrap();
    assert_eq!((url.as_str(), how.as_str()), ("https://index.example.org/simple/", "pip's built-in default index"));
    assert_eq!(pip.public_file_host(&url).as_deref(), Some("files.example.net"));
    assert_eq!(m.runs(), 1, "one probe answers both questions");
}

#[test]
fn ini_syntax_pip_accepts() {
    type Entries<'a> = Result<Vec<(&'a str, &'a str, &'a str)>, &'a str>;
    let cases: [(&str, &str, Entries); 6] = [
        ("equals and colon", "[global]\na = 1\nb: 2\n", Ok(vec![("global", "a", "1"), ("global", "b", "2")])),
        ("names normalised", "[Install]\nIndex_URL = x\n", Ok(vec![("install", "index-url", "x")])),
        (
            "continuation line",
            "[global]\nindex-url =\n    https://x/\n",
            Ok(vec![("global", "index-url", "https://x/")]),
        ),
        ("comments", "# c\n[global]\n; c\na = 1\n", Ok(vec![("global", "a", "1")])),
        ("setting before a section", "a = 1\n", Err("line 1: a setting before any [section]")),
        ("duplicate section", "[global]\n[global]\n", Err("line 2: section [global] appears twice")),
    ];
    for (case, text, want) in cases {
        let got = parse_ini(text).map(|m| m.into_iter().map(|((s, k), v)| (s, k, v)).collect::<Vec<_>>());
        let want = want
            .map(|v| v.into_iter().map(|(s, k, x)| (s.to_string(), k.to_string(), x.to_string())).collect::<Vec<_>>())
            .map_err(str::to_string);
        assert_eq!(got, want, "{case}");
    }
}
