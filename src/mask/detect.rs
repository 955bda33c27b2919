//! The `Detector` interface every PII detector implements (patterns, deny-lists, the NER
//! model), and the span-merge rules that turn all their findings into one non-overlapping
//! list before replacement (step 2 of the request flow).

use super::Label;
use futures::future::BoxFuture;
use serde::Serialize;

/// A finer kind within a label, so that `[policy]` can choose per kind (`"LOCATION.region"`)
/// and the audit log can say which. Only LOCATION has kinds today.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// No finer kind.
    #[default]
    Any,
    /// A country, state or province, continent, sea, mountain range or other large region:
    /// not an identifier under HIPAA Safe Harbor; allowed by default.
    Region,
    /// A city or any smaller or unknown place: masked by default.
    Place,
}

impl Kind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Any => "any",
            Kind::Region => "region",
            Kind::Place => "place",
        }
    }

    pub fn is_any(&self) -> bool {
        *self == Kind::Any
    }

    /// The kinds a label may have (for config validation).
    pub fn of_label(label: Label) -> &'static [Kind] {
        match label {
            Label::Location => &[Kind::Region, Kind::Place],
            _ => &[],
        }
    }
}

/// One finding in a text. Offsets are **byte** offsets into the `&str` that was searched,
/// on UTF-8 character boundaries, end exclusive.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entity {
    pub start: usize,
    pub end: usize,
    pub label: Label,
    /// Confidence in `0.0..=1.0`; validated patterns report 1.0 (or less for weak ones).
    pub score: f32,
    /// Name of the detector that found it, e.g. `pattern`, `denylist`, `ner`.
    pub detector: &'static str,
    /// The finer kind within the label, if any.
    #[serde(skip_serializing_if = "Kind::is_any")]
    pub kind: Kind,
}

impl Entity {
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// Why a detector could not run. Masking fails closed on any of these: the request is
/// refused and nothing is forwarded.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("detector {detector} is overloaded")]
    Overloaded { detector: &'static str },
    #[error("detector {detector} is not ready")]
    NotReady { detector: &'static str },
    #[error("detector {detector} failed")]
    Failed {
        detector: &'static str,
        #[source]
        source: anyhow::Error,
    },
}

/// A PII detector. Implementations must be cheap to call concurrently.
pub trait Detector: Send + Sync {
    /// Stable short name reported in spans and the audit log (`pattern`, `ner`, ...).
    fn name(&self) -> &'static str;
    /// Version string recorded in every audit record, e.g. `pattern/1` or `ner/<model>@<sha>`.
    fn version(&self) -> String;
    /// Precedence on overlap: higher wins. Validated patterns use 100, deny-lists 90, models 10.
    fn priority(&self) -> u8;
    /// Finds entities in each text. Returns one `Vec<Entity>` per input, same order,
    /// with byte offsets into that text.
    fn detect<'a>(&'a self, texts: &'a [&'a str]) -> BoxFuture<'a, Result<Vec<Vec<Entity>>, DetectError>>;
}

/// Merges findings of several detectors (each tagged with its priority) into a sorted,
/// non-overlapping list of spans over `text`. On overlap the higher priority wins (validated
/// patterns beat the model), then the longer span, then the higher score. The parts of a
/// losing span that stick out of the winners are kept with the loser's label (trimmed of
/// whitespace, and of separators such as `,` where they were cut), so no character any detector flagged is left unmasked; a part without a
/// letter or digit (the `.` after an e-mail address the model ran on into) is dropped, as
/// symbol-only model spans are.
pub fn merge(text: &str, mut found: Vec<(u8, Entity)>) -> Vec<Entity> {
    // Strongest first.
    found.sort_by(|(pa, a), (pb, b)| {
        pb.cmp(pa).then(b.len().cmp(&a.len())).then(b.score.total_cmp(&a.score)).then(a.start.cmp(&b.start))
    });
    let mut kept: Vec<Entity> = Vec::with_capacity(found.len());
    for (_, e) in found {
        if e.is_empty() || e.end > text.len() {
            continue;
        }
        // Cut `e` by every kept span it overlaps; keep what is left.
        let mut pieces = vec![(e.start, e.end)];
        for k in &kept {
            let mut next = Vec::with_capacity(pieces.len() + 1);
            for (s, t) in pieces {
                if k.end <= s || t <= k.start {
                    next.push((s, t));
                    continue;
                }
                if s < k.start {
                    next.push((s, k.start));
                }
                if k.end < t {
                    next.push((k.end, t));
                }
            }
            pieces = next;
        }
        let whole = (e.start, e.end);
        for (s, t) in pieces {
            let piece = &text[s..t];
            // A cut piece also loses the separators it shared with the winner ("Jane Doe, "
            // before an e-mail address); a final "." or ")" stays ("Jr.", "(UK)").
            let cut = (s, t) != whole;
            let edge = |c: char| c.is_whitespace() || cut && matches!(c, ',' | ';' | ':' | '/' | '|' | '"' | '“' | '”');
            let lead = piece.len() - piece.trim_start_matches(edge).len();
            let trail = piece.len() - piece.trim_end_matches(edge).len();
            if lead + trail >= piece.len() || (s, t) != whole && !piece.chars().any(char::is_alphanumeric) {
                continue;
            }
            kept.push(Entity { start: s + lead, end: t - trail, ..e.clone() });
        }
    }
    kept.sort_by_key(|e| (e.start, e.end));
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ent(start: usize, end: usize, label: Label, detector: &'static str) -> Entity {
        Entity { start, end, label, score: 0.9, detector, kind: Kind::Any }
    }

    #[test]
    fn patterns_win_over_model_on_overlap() {
        let out = merge(
            &"x".repeat(40),
            vec![(10, ent(0, 12, Label::Person, "ner")), (100, ent(0, 12, Label::Email, "pattern"))],
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].label, Label::Email);
    }

    #[test]
    fn weaker_span_sticking_out_keeps_its_outer_parts() {
        let text = "John Smith john@example.com ok";
        let out =
            merge(text, vec![(10, ent(0, 15, Label::Person, "ner")), (100, ent(11, 27, Label::Email, "pattern"))]);
        assert_eq!(out, vec![ent(0, 10, Label::Person, "ner"), ent(11, 27, Label::Email, "pattern")]);
    }

    #[test]
    fn cut_pieces_lose_the_separators_they_shared_with_the_winner() {
        let text = "Write to Jane Doe, jane.doe@example.com";
        let out =
            merge(text, vec![(10, ent(9, 39, Label::Person, "ner")), (100, ent(19, 39, Label::Email, "pattern"))]);
        assert_eq!(out, vec![ent(9, 17, Label::Person, "ner"), ent(19, 39, Label::Email, "pattern")]);
        // An uncut span keeps what the detector gave it.
        let out = merge("Dr. Lee, MD", vec![(10, ent(0, 8, Label::Person, "ner"))]);
        assert_eq!(out, vec![ent(0, 8, Label::Person, "ner")]);
    }

    #[test]
    fn leftovers_without_letters_or_digits_are_dropped() {
        // The model ran the e-mail address on into the sentence's full stop.
        let text = "Mail a@b.io. Thanks";
        let out = merge(text, vec![(10, ent(5, 12, Label::Email, "ner")), (100, ent(5, 11, Label::Email, "pattern"))]);
        assert_eq!(out, vec![ent(5, 11, Label::Email, "pattern")]);
        // Leftovers with a letter or digit stay, and so do symbol spans nothing cut.
        let text = "(Jo) a@b.io -- x";
        let out = merge(
            text,
            vec![
                (10, ent(0, 11, Label::Person, "ner")),
                (100, ent(5, 11, Label::Email, "pattern")),
                (90, ent(12, 14, Label::Password, "denylist")),
            ],
        );
        assert_eq!(
            out,
            vec![
                ent(0, 4, Label::Person, "ner"),
                ent(5, 11, Label::Email, "pattern"),
                ent(12, 14, Label::Password, "denylist")
            ]
        );
    }

    #[test]
    fn disjoint_spans_are_sorted() {
        let out = merge(
            &"x".repeat(40),
            vec![(10, ent(20, 25, Label::Person, "ner")), (100, ent(0, 5, Label::Email, "pattern"))],
        );
        assert_eq!(out.iter().map(|e| e.start).collect::<Vec<_>>(), vec![0, 20]);
    }

    #[test]
    fn longer_wins_at_equal_priority() {
        let out = merge(
            &"x".repeat(40),
            vec![(10, ent(0, 5, Label::Person, "ner")), (10, ent(0, 9, Label::Organization, "ner"))],
        );
        assert_eq!(out, vec![ent(0, 9, Label::Organization, "ner")]);
    }
}
