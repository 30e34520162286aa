//! Shared helpers for the detectors' own searches. [`Words`]: where any of a few short literal
//! words occurs, found with one packed (SIMD) pass where the CPU has one (Teddy: about half
//! the instructions of a regex whose literal prefilter confirms each candidate with its DFA,
//! and fewer than one `memmem` pass per word), with a general automaton as the fallback
//! (the same positions, slower). Owns: nothing per member. Must not: report.

/// A set of literal words, searched for the positions where any of them starts.
pub(crate) struct Words {
    packed: Option<aho_corasick::packed::Searcher>,
    general: aho_corasick::AhoCorasick,
}

impl Words {
    /// The searcher for `words` (none empty). Built once per process by its static.
    pub(crate) fn new(words: &[&str]) -> Words {
        assert!(words.iter().all(|w| !w.is_empty()), "empty word");
        Words {
            packed: aho_corasick::packed::Searcher::new(words),
            general: aho_corasick::AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostFirst)
                .build(words)
                .expect("static words"),
        }
    }

    /// The leftmost position at or after `from` where one of the words starts (`None` past
    /// the end). Resuming one byte after each answer visits every such position.
    pub(crate) fn find_from(&self, hay: &[u8], from: usize) -> Option<usize> {
        self.find_word_from(hay, from).map(|(at, _)| at)
    }

    /// [`Words::find_from`] with the index of the word found there (the first listed of those
    /// starting there: the only one when no word is a prefix of another).
    pub(crate) fn find_word_from(&self, hay: &[u8], from: usize) -> Option<(usize, usize)> {
        if from > hay.len() {
            return None;
        }
        let m = match &self.packed {
            Some(p) => p.find_in(hay, aho_corasick::Span::from(from..hay.len())),
            None => self.general.find(aho_corasick::Input::new(hay).span(from..hay.len())),
        };
        m.map(|m| (m.start(), m.pattern().as_usize()))
    }

    /// Whether one of the words occurs in `hay`.
    pub(crate) fn occur_in(&self, hay: &[u8]) -> bool {
        self.find_from(hay, 0).is_some()
    }

    /// The general automaton alone (the tests compare the two paths).
    #[cfg(test)]
    fn without_packed(words: &[&str]) -> Words {
        Words { packed: None, ..Words::new(words) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every position where a word starts, by trying each word at each byte.
    fn naive(words: &[&str], hay: &[u8]) -> Vec<usize> {
        (0..hay.len()).filter(|&i| words.iter().any(|w| hay[i..].starts_with(w.as_bytes()))).collect()
    }

    fn all(w: &Words, hay: &[u8]) -> Vec<usize> {
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(p) = w.find_from(hay, from) {
            out.push(p);
            from = p + 1;
        }
        out
    }

    /// Both paths (packed and the general automaton) find every position where a word starts:
    /// named cases (overlapping words, a word that is a prefix of another, words at the ends,
    /// non-ASCII text, a haystack shorter than the packed searcher's minimum) and 3,000 random
    /// texts.
    #[test]
    fn every_start_of_every_word_is_found() {
        let words = ["vars", "getattr", "__call__", ".get", "ars(", "get"];
        let packed = Words::new(&words);
        assert!(packed.packed.is_some(), "this machine has a packed searcher (x86_64 or aarch64)");
        let general = Words::without_packed(&words);
        let cases = [
            ("empty", ""),
            ("short", "get"),
            ("overlapping", "vars(getattr(x.get(y)))"),
            ("prefix of another", "x.getattr getattrs"),
            ("at both ends", "vars and __call__"),
            ("non-ASCII", "é.get ·vars( ☃getattr"),
            ("none", "nothing here at all"),
        ];
        for (name, text) in cases {
            let want = naive(&words, text.as_bytes());
            assert_eq!(all(&packed, text.as_bytes()), want, "{name}");
            assert_eq!(all(&general, text.as_bytes()), want, "{name} (general)");
            assert_eq!(packed.occur_in(text.as_bytes()), !want.is_empty(), "{name}");
        }
        let pieces = ["vars", "get", "attr", "__call", "__", "(", ".", " ", "x", "é", "\n"];
        let mut found = 0;
        for text in crate::scan::detectors::pysrc::random_texts(&pieces, 40, 0x9e37_79b9_7f4a_7c15u64, 3000) {
            let want = naive(&words, text.as_bytes());
            found += want.len();
            assert_eq!(all(&packed, text.as_bytes()), want, "{text:?}");
            assert_eq!(all(&general, text.as_bytes()), want, "{text:?} (general)");
        }
        assert!(found > 1000, "the random texts hold words: {found}");
        assert_eq!(packed.find_from(b"vars", 5), None, "past the end");
        assert_eq!(packed.find_word_from(b"x __call__", 0), Some((2, 2)), "the word's index");
        assert_eq!(general.find_word_from(b"x __call__", 0), Some((2, 2)), "the word's index (general)");
    }
}
