//! Finds the line of a YAML path (`rules[2].match.severity`) in a policy's source text,
//! so semantic errors can point at a line the way serde's syntax errors do.
//!
//! Owns: a small indentation-aware scan of block-style YAML (mappings and `- ` sequences).
//! Must not: parse values or decide anything. Flow collections (`{...}`, `[...]`) are not
//! entered: the line of the deepest block-style ancestor is returned instead.

/// One step of a YAML path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seg {
    Key(String),
    Index(usize),
}

/// Render a path as `rules[2].match.severity`.
pub(super) fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Dash,
    Key(String),
}

/// (line number 1-based, column, event) for every dash and key in block style.
fn events(text: &str) -> Vec<(usize, usize, Event)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut col = line.len() - line.trim_start().len();
        let mut rest = line.trim_start();
        if rest.starts_with('#') || rest.is_empty() || rest.starts_with("---") {
            continue;
        }
        while rest == "-" || rest.starts_with("- ") {
            out.push((n + 1, col, Event::Dash));
            let after = rest[1..].trim_start();
            col += rest.len() - after.len();
            rest = after;
        }
        if let Some(key) = leading_key(rest) {
            out.push((n + 1, col, Event::Key(key)));
        }
    }
    out
}

/// The mapping key at the start of `s`, if `s` is `key: ...` (plain or quoted key).
fn leading_key(s: &str) -> Option<String> {
    if s.starts_with('{') || s.starts_with('[') || s.starts_with('#') {
        return None;
    }
    let (key, rest) = if let Some(q) = s.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let end = s[1..].find(q)? + 1;
        (s[1..end].to_string(), &s[end + 1..])
    } else {
        let end = s.find(':')?;
        (s[..end].trim_end().to_string(), &s[end..])
    };
    let rest = rest.trim_start();
    let after = rest.strip_prefix(':')?;
    (after.is_empty() || after.starts_with(' ') || after.starts_with('\t')).then_some(key)
}

/// The children of the node at `at` (or of the document when `at` is None): the
/// indices of events in its block that sit at the block's own column.
fn children(ev: &[(usize, usize, Event)], at: Option<usize>) -> Vec<usize> {
    let (start, parent_col, parent_is_key) = match at {
        None => (0, None, false),
        Some(i) => (i + 1, Some(ev[i].1), matches!(ev[i].2, Event::Key(_))),
    };
    let Some(first) = ev.get(start) else {
        return vec![];
    };
    let child_col = first.1;
    let inside = |e: &(usize, usize, Event)| match parent_col {
        None => true,
        Some(pc) => e.1 > pc || (parent_is_key && child_col == pc && e.1 == pc && e.2 == Event::Dash),
    };
    if !inside(first) {
        return vec![];
    }
    (start..ev.len()).take_while(|&i| inside(&ev[i])).filter(|&i| ev[i].1 == child_col).collect()
}

/// The 1-based line of `path` in `text`; the deepest block-style ancestor's line when the
/// path ends inside a flow collection; None when not even the first step is found.
pub(super) fn line_of(text: &str, path: &[Seg]) -> Option<usize> {
    let ev = events(text);
    let mut at: Option<usize> = None;
    for seg in path {
        let kids = children(&ev, at);
        let next = match seg {
            Seg::Key(k) => kids.into_iter().find(|&i| ev[i].2 == Event::Key(k.clone())),
            Seg::Index(n) => kids.into_iter().filter(|&i| ev[i].2 == Event::Dash).nth(*n),
        };
        match next {
            Some(i) => at = Some(i),
            None => break,
        }
    }
    at.map(|i| ev[i].0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<Seg> {
        s.split('.')
            .flat_map(|part| {
                let mut segs = vec![];
                let (key, idx) = part.split_once('[').map_or((part, None), |(k, i)| (k, Some(i)));
                if !key.is_empty() {
                    segs.push(Seg::Key(key.to_string()));
                }
                if let Some(i) = idx {
                    segs.push(Seg::Index(i.trim_end_matches(']').parse().unwrap()));
                }
                segs
            })
            .collect()
    }

    const DOC: &str = "# head\nupstream: x\nrules:\n  - id: a\n    action: block\n  - match:\n      severity: high\n      project: [a, b]\n    action: allow\nacceptances:\n- id: z\n  expires: 2026-01-01\ncooldown: { min_age: 3d }\n";

    #[test]
    fn paths_resolve_to_lines() {
        let cases = [
            ("top key", "upstream", Some(2)),
            ("first rule", "rules[0]", Some(4)),
            ("key in first item", "rules[0].action", Some(5)),
            ("nested key", "rules[1].match.severity", Some(7)),
            ("flow list falls back to key", "rules[1].match.project[1]", Some(8)),
            ("dash at parent column", "acceptances[0].expires", Some(12)),
            ("flow map falls back", "cooldown.min_age", Some(13)),
            ("missing index falls back", "rules[5]", Some(3)),
            ("missing top key", "nope", None),
        ];
        for (case, path, want) in cases {
            assert_eq!(line_of(DOC, &p(path)), want, "{case}");
            assert_eq!(render(&p(path)), path, "{case}");
        }
    }
}
