//! Call patterns several detectors combine: network fetches/sends, process
//! creation and dynamic execution, found in Python *code* only (never in strings,
//! comments or docstrings).
//!
//! Owns: the precompiled regexes and the code-only filter. Must not: report.

use super::pysrc::Source;
use regex::Regex;
use std::sync::LazyLock;

/// What a sink does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkKind {
    /// Reads from the network.
    Fetch,
    /// Sends to the network (or opens a raw connection).
    Send,
    Process,
    Exec,
}

static FETCH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?-u:\b)(?:urllib\.request\.urlopen|urllib2\.urlopen|urlopen|urlretrieve|requests\.get|requests\.request|httpx\.get|httpx\.stream|urllib3\.PoolManager|http\.client\.HTTPS?Connection|HTTPS?Connection|pycurl\.Curl|aiohttp\.ClientSession|wget\.download)\s*\(",
    )
    .expect("fetch regex")
});
static SEND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:requests\.(?:post|put|patch)|httpx\.(?:post|put)|urllib\.request\.Request|urllib2\.Request|socket\.create_connection|smtplib\.SMTP(?:_SSL)?|ftplib\.FTP|dns\.resolver\.(?:resolve|query)|\.sendall|\.sendto|\.connect)\s*\(")
        .expect("send regex")
});
static PROCESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:subprocess\.(?:Popen|call|check_call|check_output|run|getoutput|getstatusoutput)|os\.(?:system|popen[234]?|spawn[lvpe]{1,3}|exec[lvpe]{1,3}|startfile|posix_spawnp?)|pty\.spawn|commands\.get(?:status)?output|asyncio\.create_subprocess_(?:exec|shell))\s*\(")
        .expect("process regex")
});
static EXEC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^.\w])(?:exec|eval)\s*\(|(?-u:\b)(?:builtins|__builtins__)\.(?:exec|eval)\s*\(")
        .expect("exec regex")
});

/// One sink occurrence in code.
#[derive(Debug, Clone)]
pub struct Sink<'a> {
    pub offset: usize,
    pub kind: SinkKind,
    /// The call as written, without the opening parenthesis.
    pub name: &'a str,
}

fn collect<'a>(src: &Source<'a>, re: &Regex, kind: SinkKind, out: &mut Vec<Sink<'a>>) {
    for m in re.find_iter(src.text) {
        let s = m.as_str();
        // EXEC's leading context char is not part of the name.
        let lead = s.len() - s.trim_start_matches(|c: char| !c.is_alphanumeric() && c != '_').len();
        let start = m.start() + lead;
        if src.python && !src.is_code(start) {
            continue;
        }
        let name = src.text[start..m.end()].trim_end_matches('(').trim_end();
        out.push(Sink { offset: start, kind, name });
    }
}

/// Every sink of the given kinds in code, ordered by offset.
pub fn find<'a>(src: &Source<'a>, kinds: &[SinkKind]) -> Vec<Sink<'a>> {
    let mut out = Vec::new();
    for k in kinds {
        let re: &Regex = match k {
            SinkKind::Fetch => &FETCH,
            SinkKind::Send => &SEND,
            SinkKind::Process => &PROCESS,
            SinkKind::Exec => &EXEC,
        };
        collect(src, re, *k, &mut out);
    }
    out.sort_by_key(|s| s.offset);
    out
}

/// Every network sink (fetch or send).
pub fn network<'a>(src: &Source<'a>) -> Vec<Sink<'a>> {
    find(src, &[SinkKind::Fetch, SinkKind::Send])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sinks_in_code_only() {
        let text = "import os\n# os.system('x')\ns = 'subprocess.run(1)'\nos.system(cmd)\nmodel.eval()\neval(x)\nr = requests.post(u)\n";
        let src = Source::python(text);
        let got: Vec<_> =
            find(&src, &[SinkKind::Process, SinkKind::Exec, SinkKind::Send]).iter().map(|s| (s.kind, s.name)).collect();
        assert_eq!(
            got,
            vec![(SinkKind::Process, "os.system"), (SinkKind::Exec, "eval"), (SinkKind::Send, "requests.post")]
        );
    }
}
