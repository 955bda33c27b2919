//! The config's deny-lists (`detect.deny`) for the pattern detector (`super`): one
//! Aho-Corasick automaton per label over all its terms, matched ASCII case-insensitively
//! (non-ASCII letters must match exactly) and reported only as whole words, score 1.0,
//! detector `denylist`. The allow-list is applied later by the `Masker`, not here.

use super::{PatternError, DENYLIST_DETECTOR};
use crate::mask::{Entity, Kind, Label};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use std::collections::BTreeMap;

struct DenyList {
    label: Label,
    automaton: AhoCorasick,
    /// Per pattern: whether its first / last char is a word char (then a boundary is needed).
    edges: Vec<(bool, bool)>,
}

pub(super) struct DenyLists {
    lists: Vec<DenyList>,
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl DenyLists {
    pub(super) fn new(deny: &BTreeMap<Label, Vec<String>>) -> Result<Self, PatternError> {
        let mut lists = Vec::with_capacity(deny.len());
        for (label, terms) in deny {
            let err = |reason: String| PatternError::Deny { label: *label, reason };
            let terms: Vec<&str> = terms.iter().map(|t| t.trim()).collect();
            if terms.iter().any(|t| t.is_empty()) {
                return Err(err("terms must not be empty".to_string()));
            }
            if terms.is_empty() {
                continue;
            }
            let automaton = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&terms)
                .map_err(|e| err(e.to_string()))?;
            let edges = terms
                .iter()
                .map(|t| (t.chars().next().is_some_and(is_word), t.chars().next_back().is_some_and(is_word)))
                .collect();
            lists.push(DenyList { label: *label, automaton, edges });
        }
        Ok(DenyLists { lists })
    }

    pub(super) fn labels(&self) -> Vec<Label> {
        self.lists.iter().map(|l| l.label).collect()
    }

    pub(super) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        for list in &self.lists {
            let mut hits: Vec<(usize, usize)> = Vec::new();
            for m in list.automaton.find_overlapping_iter(text) {
                let (s, e) = (m.start(), m.end());
                let (need_start, need_end) = list.edges.get(m.pattern().as_usize()).copied().unwrap_or((true, true));
                let start_ok = !need_start || !super::char_before(text, s).is_some_and(is_word);
                let end_ok = !need_end || !super::char_at(text, e).is_some_and(is_word);
                if start_ok && end_ok && text.is_char_boundary(s) && text.is_char_boundary(e) {
                    hits.push((s, e));
                }
            }
            // Keep the longest of nested hits ("New York" over "York").
            hits.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
            let mut reach = 0;
            for (s, e) in hits {
                if e <= reach {
                    continue;
                }
                reach = e;
                out.push(Entity {
                    start: s,
                    end: e,
                    label: list.label,
                    score: 1.0,
                    detector: DENYLIST_DETECTOR,
                    kind: Kind::Any,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::PatternDetector;
    use super::*;

    fn deny(pairs: &[(Label, &[&str])]) -> PatternDetector {
        let map = pairs.iter().map(|(l, ts)| (*l, ts.iter().map(|t| t.to_string()).collect())).collect();
        PatternDetector::new(&map).expect("builds")
    }

    fn hits(d: &PatternDetector, text: &str) -> Vec<(Label, String, &'static str)> {
        d.find(text)
            .into_iter()
            .filter(|e| e.detector == DENYLIST_DETECTOR)
            .map(|e| (e.label, text[e.start..e.end].to_string(), e.detector))
            .collect()
    }

    #[test]
    fn whole_words_case_insensitive() {
        let d = deny(&[(Label::Organization, &["Acme Corp", "Acme"]), (Label::Person, &["Zoë", "bob"])]);
        let got =
            hits(&d, "ACME CORP hired Bob; acmeish and bobby are fine. Acme. Zoë too, ZOË not (only ASCII folds)");
        assert_eq!(
            got,
            vec![
                (Label::Organization, "ACME CORP".to_string(), "denylist"),
                (Label::Person, "Bob".to_string(), "denylist"),
                (Label::Organization, "Acme".to_string(), "denylist"),
                (Label::Person, "Zoë".to_string(), "denylist"),
            ]
        );
    }

    #[test]
    fn overlapping_terms_keep_a_whole_word_hit() {
        // The longest candidate fails the boundary check; the shorter whole word still counts.
        let d = deny(&[(Label::Location, &["York", "Yorkshire"])]);
        assert_eq!(hits(&d, "Yorkshires and York"), vec![(Label::Location, "York".to_string(), "denylist")]);
        let d = deny(&[(Label::Location, &["New York", "York"])]);
        assert_eq!(hits(&d, "in new york."), vec![(Label::Location, "new york".to_string(), "denylist")]);
    }

    #[test]
    fn punctuation_edges_need_no_boundary() {
        let d = deny(&[(Label::OtherId, &["#proj-x"])]);
        assert_eq!(hits(&d, "tag a#proj-x!"), vec![(Label::OtherId, "#proj-x".to_string(), "denylist")]);
    }

    #[test]
    fn empty_term_is_an_error_naming_the_key() {
        let map = BTreeMap::from([(Label::Person, vec!["ok".to_string(), "  ".to_string()])]);
        let err = PatternDetector::new(&map).expect_err("rejects");
        assert_eq!(err.to_string(), "detect.deny.PERSON: terms must not be empty");
    }
}
