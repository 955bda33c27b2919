//! Restore: placeholders in the provider's answer are replaced by the original values
//! (step 4 of the request flow), in whole texts and in streams of text deltas.
//!
//! The scanner accepts the canonical `[LABEL_N]` and the mutations models commonly make:
//! any letter case inside brackets (`[person_1]`), a lost opening or closing bracket
//! (`PERSON_1]`, `[PERSON_1`), and no brackets at all when the core keeps its exact case
//! (`PERSON_1`, at word boundaries). A bare lower-case `person_1` is left alone, since
//! generated code often uses such names. Only placeholders of the request's own map are
//! restored; other `[LABEL_N]`-shaped tokens are counted as unrestored and left as is.
//!
//! [`StreamRestorer`] emits everything except a suffix that could still become a
//! placeholder; that suffix is shorter than the longest placeholder plus one byte of
//! look-ahead, so text without placeholders flows through with no delay.

use super::placeholder::PlaceholderMap;
use super::Label;
use std::collections::HashMap;
use std::sync::Arc;

/// How a restored value is written into the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// Plain text (message content).
    None,
    /// Inside a JSON string literal (tool-call arguments streamed as JSON text).
    Json,
}

/// Counts of what a restore pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestoreStats {
    /// Canonical placeholders restored.
    pub exact: u64,
    /// Mutated placeholders (case change, lost brackets) restored.
    pub mutated: u64,
    /// `[LABEL_N]` tokens that belong to no value of this request, left as they are.
    pub unrestored: u64,
}

impl RestoreStats {
    pub fn add(&mut self, o: RestoreStats) {
        self.exact += o.exact;
        self.mutated += o.mutated;
        self.unrestored += o.unrestored;
    }
}

/// The restore side of one request's placeholder map. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct Restorer {
    cores: Vec<Vec<u8>>,
    values: Vec<String>,
    /// Upper-cased core -> slot. Built per request, so a hash map (cheap to build) rather
    /// than an automaton: candidates are only looked up at word starts and after `[`.
    by_core: HashMap<Vec<u8>, usize>,
    /// Bytes a core can start with, in both cases.
    first: [bool; 256],
}

enum Attempt {
    NeedMore,
    NoMatch,
    Match { end: usize, slot: usize, exact: bool },
}

#[inline]
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

impl Restorer {
    pub fn new(map: &PlaceholderMap) -> Arc<Restorer> {
        let cores: Vec<Vec<u8>> = map.slots().iter().map(|s| s.core().as_bytes().to_vec()).collect();
        let values = map.slots().iter().map(|s| s.value.clone()).collect();
        let mut first = [false; 256];
        for c in &cores {
            if let Some(&b) = c.first() {
                first[b.to_ascii_uppercase() as usize] = true;
                first[b.to_ascii_lowercase() as usize] = true;
            }
        }
        let by_core = cores.iter().enumerate().map(|(i, c)| (c.to_ascii_uppercase(), i)).collect();
        Arc::new(Restorer { cores, values, by_core, first })
    }

    pub fn is_empty(&self) -> bool {
        self.cores.is_empty()
    }

    /// Restores a whole text.
    pub fn restore(&self, text: &str, escape: Escape) -> (String, RestoreStats) {
        let mut out = String::with_capacity(text.len());
        let mut stats = RestoreStats::default();
        if self.is_empty() {
            stats.unrestored = count_unknown(text);
            out.push_str(text);
            return (out, stats);
        }
        self.scan(text, None, true, escape, &mut out, &mut stats);
        (out, stats)
    }

    /// Restores a text in place; returns what it did.
    pub fn restore_in_place(&self, text: &mut String, escape: Escape) -> RestoreStats {
        let (out, stats) = self.restore(text, escape);
        *text = out;
        stats
    }

    fn proper_prefix_of_core(&self, rest: &[u8]) -> bool {
        self.cores.iter().any(|c| c.len() > rest.len() && c[..rest.len()].eq_ignore_ascii_case(rest))
    }

    fn attempt(&self, b: &[u8], i: usize, is_final: bool) -> Attempt {
        let open = b[i] == b'[';
        let cs = if open { i + 1 } else { i };
        if cs >= b.len() {
            return if is_final { Attempt::NoMatch } else { Attempt::NeedMore };
        }
        let rest = &b[cs..];
        if !is_final && self.proper_prefix_of_core(rest) {
            return Attempt::NeedMore;
        }
        // A core is `[A-Za-z_]+` then `_` and digits; take the longest such token here.
        let letters = rest.iter().take_while(|c| c.is_ascii_alphabetic() || **c == b'_').count();
        if letters < 2 || rest[letters - 1] != b'_' {
            return Attempt::NoMatch;
        }
        let digits = rest[letters..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return Attempt::NoMatch;
        }
        let len = letters + digits;
        let Some(&slot) = self.by_core.get(&rest[..len].to_ascii_uppercase()) else {
            return Attempt::NoMatch;
        };
        let j = cs + len;
        let close = if j == b.len() {
            if !is_final {
                return Attempt::NeedMore;
            }
            false
        } else if is_word(b[j]) {
            return Attempt::NoMatch;
        } else {
            b[j] == b']'
        };
        let exact_case = &rest[..len] == self.cores[slot].as_slice();
        if !(open || close || exact_case) {
            return Attempt::NoMatch;
        }
        let end = if close { j + 1 } else { j };
        Attempt::Match { end, slot, exact: open && close && exact_case }
    }

    /// Scans `text`, writing restored output; returns the number of bytes consumed (all of
    /// them when `is_final`). `prev` is the byte before `text` in the stream.
    fn scan(
        &self,
        text: &str,
        prev: Option<u8>,
        is_final: bool,
        escape: Escape,
        out: &mut String,
        stats: &mut RestoreStats,
    ) -> usize {
        let b = text.as_bytes();
        let mut i = 0;
        let mut lit = 0;
        while i < b.len() {
            let c = b[i];
            let prev_word = if i == 0 { prev.is_some_and(is_word) } else { is_word(b[i - 1]) };
            if c == b'[' || (!prev_word && self.first[c as usize]) {
                match self.attempt(b, i, is_final) {
                    Attempt::NeedMore => {
                        out.push_str(&text[lit..i]);
                        stats.unrestored += count_unknown(&text[lit..i]);
                        return i;
                    }
                    Attempt::Match { end, slot, exact } => {
                        out.push_str(&text[lit..i]);
                        stats.unrestored += count_unknown(&text[lit..i]);
                        push_value(out, &self.values[slot], escape);
                        if exact {
                            stats.exact += 1;
                        } else {
                            stats.mutated += 1;
                        }
                        i = end;
                        lit = end;
                        continue;
                    }
                    Attempt::NoMatch => {}
                }
            }
            i += 1;
        }
        out.push_str(&text[lit..]);
        stats.unrestored += count_unknown(&text[lit..]);
        b.len()
    }
}

fn push_value(out: &mut String, value: &str, escape: Escape) {
    match escape {
        Escape::None => out.push_str(value),
        Escape::Json => {
            let quoted = serde_json::Value::String(value.to_string()).to_string();
            out.push_str(&quoted[1..quoted.len() - 1]);
        }
    }
}

/// Counts `[LABEL_N]` tokens (docs/interface.md labels) in literal text.
fn count_unknown(text: &str) -> u64 {
    let b = text.as_bytes();
    let mut n = 0;
    let mut from = 0;
    while let Some(off) = memchr::memchr(b'[', &b[from..]) {
        let s = from + off + 1;
        from = s;
        let Some(close) = b[s..].iter().take(24).position(|&x| x == b']') else { continue };
        let inner = &text[s..s + close];
        if let Some((label, digits)) = inner.rsplit_once('_') {
            if !digits.is_empty() && digits.bytes().all(|d| d.is_ascii_digit()) && label.parse::<Label>().is_ok() {
                n += 1;
            }
        }
    }
    n
}

/// Restores one stream of text deltas (one choice, content block or tool call).
#[derive(Debug)]
pub struct StreamRestorer {
    restorer: Arc<Restorer>,
    escape: Escape,
    pending: String,
    prev: Option<u8>,
    stats: RestoreStats,
}

impl StreamRestorer {
    pub fn new(restorer: Arc<Restorer>, escape: Escape) -> Self {
        StreamRestorer { restorer, escape, pending: String::new(), prev: None, stats: RestoreStats::default() }
    }

    /// Feeds one delta; returns the text that can be emitted now. Holds back at most
    /// `MAX_PLACEHOLDER_LEN` bytes that could still turn into a placeholder.
    pub fn push(&mut self, chunk: &str) -> String {
        if self.restorer.is_empty() && self.pending.is_empty() {
            self.stats.unrestored += count_unknown(chunk);
            if let Some(&b) = chunk.as_bytes().last() {
                self.prev = Some(b);
            }
            return chunk.to_string();
        }
        self.pending.push_str(chunk);
        self.drain(false)
    }

    /// Flushes what is held back (end of block, end of stream, upstream error).
    pub fn finish(&mut self) -> String {
        self.drain(true)
    }

    /// Bytes currently held back.
    pub fn held(&self) -> usize {
        self.pending.len()
    }

    pub fn stats(&self) -> RestoreStats {
        self.stats
    }

    fn drain(&mut self, is_final: bool) -> String {
        if self.pending.is_empty() {
            return String::new();
        }
        let mut out = String::with_capacity(self.pending.len());
        let consumed = self.restorer.scan(&self.pending, self.prev, is_final, self.escape, &mut out, &mut self.stats);
        if consumed > 0 {
            self.prev = Some(self.pending.as_bytes()[consumed - 1]);
        }
        self.pending.drain(..consumed);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn map() -> PlaceholderMap {
        let mut m = PlaceholderMap::default();
        m.placeholder_for("Ann Lee", Label::Person);
        m.placeholder_for("ann@x.io", Label::Email);
        for i in 0..11 {
            m.placeholder_for(&format!("P{i}"), Label::Phone);
        }
        m
    }

    fn restore(text: &str) -> (String, RestoreStats) {
        Restorer::new(&map()).restore(text, Escape::None)
    }

    #[test]
    fn canonical_and_mutations() {
        assert_eq!(restore("Hi [PERSON_1], mail [EMAIL_1].").0, "Hi Ann Lee, mail ann@x.io.");
        let (out, st) = restore("Hi [person_1] and PERSON_1 and [PERSON_1 and PERSON_1]!");
        assert_eq!(out, "Hi Ann Lee and Ann Lee and Ann Lee and Ann Lee!");
        assert_eq!(st.mutated, 4);
        assert_eq!(st.exact, 0);
    }

    #[test]
    fn leaves_lookalikes_alone() {
        // Lower-case bare names, word-embedded cores and unknown indices are not ours.
        let (out, st) = restore("let person_1 = MY_PERSON_1; PERSON_10x [PERSON_9] xPERSON_1");
        assert_eq!(out, "let person_1 = MY_PERSON_1; PERSON_10x [PERSON_9] xPERSON_1");
        assert_eq!(st.exact + st.mutated, 0);
        assert_eq!(st.unrestored, 1);
    }

    #[test]
    fn longest_index_wins() {
        assert_eq!(restore("[PHONE_1][PHONE_10][PHONE_11]").0, "P0P9P10");
    }

    #[test]
    fn json_escape() {
        let mut m = PlaceholderMap::default();
        m.placeholder_for("say \"hi\"\n", Label::Person);
        let r = Restorer::new(&m);
        assert_eq!(r.restore(r#"{"a":"[PERSON_1]"}"#, Escape::Json).0, r#"{"a":"say \"hi\"\n"}"#);
    }

    #[test]
    fn stream_holds_back_only_possible_placeholders() {
        let r = Restorer::new(&map());
        let mut s = StreamRestorer::new(r, Escape::None);
        assert_eq!(s.push("Hello wor"), "Hello wor");
        assert_eq!(s.push("ld [PER"), "ld ");
        assert_eq!(s.held(), 4);
        assert_eq!(s.push("SON_1] ok"), "Ann Lee ok");
        assert_eq!(s.push(" [EMAIL_1"), " ");
        assert_eq!(s.finish(), "ann@x.io");
    }

    fn split_points(s: &str, cuts: &[usize]) -> Vec<String> {
        let mut idx: Vec<usize> = cuts.iter().map(|c| c % (s.len() + 1)).filter(|&c| s.is_char_boundary(c)).collect();
        idx.sort_unstable();
        idx.dedup();
        let mut out = Vec::new();
        let mut last = 0;
        for c in idx {
            out.push(s[last..c].to_string());
            last = c;
        }
        out.push(s[last..].to_string());
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn stream_equals_whole(
            parts in prop::collection::vec(prop_oneof![
                Just("[PERSON_1]".to_string()), Just("[EMAIL_1]".to_string()), Just("PHONE_1".to_string()),
                Just("[phone_10".to_string()), Just("PHONE_1]".to_string()), Just("[".to_string()),
                Just("_".to_string()), Just("é".to_string()), "\\PC{0,8}",
            ], 0..12),
            cuts in prop::collection::vec(0usize..200, 0..10),
        ) {
            let text: String = parts.concat();
            let r = Restorer::new(&map());
            let whole = r.restore(&text, Escape::None);
            let mut s = StreamRestorer::new(r, Escape::None);
            let mut out = String::new();
            for piece in split_points(&text, &cuts) {
                out.push_str(&s.push(&piece));
                prop_assert!(s.held() <= super::super::placeholder::MAX_PLACEHOLDER_LEN);
            }
            out.push_str(&s.finish());
            prop_assert_eq!(&out, &whole.0);
            prop_assert_eq!((s.stats().exact, s.stats().mutated), (whole.1.exact, whole.1.mutated));
        }
    }
}
