//! Addresses written as an intersection (inside the NER detector, after [`super::names`],
//! before [`super::scope`]): "the corner of Östbygatan 14 and Sigurmundsson Greens" is one
//! address, not a street number, two place names and the words between them. The model
//! reads the pieces ("Östbygatan" a place, "14" a street, "Greens" nothing); the phrase
//! that ties them ("the corner of", "and") reached the provider between two placeholders,
//! and with it the shape of the address.
//!
//! The rule: "corner of" (and a "the" before it), then within [`MAX_FIRST`] bytes on the
//! same line a first street that holds a model span with a digit or a STREET_ADDRESS span,
//! then "and" or "&", then a second street that begins with a span of a street, place,
//! name or organization or with a capitalized word, becomes one STREET_ADDRESS span up to
//! the end of the second street's capitalized words (a span of the model that runs over the
//! "and" is taken whole). Without a span in the first street
//! ("the corner of the room and the door") nothing changes.

use crate::mask::{Entity, Kind, Label};
use regex::Regex;
use std::sync::LazyLock;

/// How far after "corner of" the "and" may stand.
const MAX_FIRST: usize = 60;

/// Words the second street may run on for after its last span ("Philip [Bypass]").
const MAX_TAIL_WORDS: usize = 2;

static CORNER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:the\s+)?corner\s+of\s+").expect("corner pattern compiles"));

static AND: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i) (?:and|&) ").expect("and pattern compiles"));

/// Labels whose spans may make up a street of an intersection.
fn street_part(label: Label) -> bool {
    matches!(label, Label::StreetAddress | Label::Location | Label::Person | Label::Organization)
}

/// Merges the spans of each intersection of `text` into one STREET_ADDRESS (module doc).
/// `ents` are byte spans; sorted on return when anything changed.
pub fn apply(text: &str, ents: &mut Vec<Entity>) {
    if ents.is_empty() || !(text.contains("orner") || text.contains("ORNER")) {
        return;
    }
    let mut merged = Vec::new();
    for m in CORNER.find_iter(text) {
        if let Some(span) = intersection(text, m.start(), m.end(), ents) {
            merged.push(span);
        }
    }
    if merged.is_empty() {
        return;
    }
    for (start, end, score) in merged {
        ents.retain(|e| e.end <= start || end <= e.start);
        ents.push(Entity { start, end, label: Label::StreetAddress, score, detector: "ner", kind: Kind::Any });
    }
    ents.sort_by_key(|e| (e.start, e.end));
}

/// The intersection that "corner of" at `start..first` begins, as (start, end, lowest score).
fn intersection(text: &str, start: usize, first: usize, ents: &[Entity]) -> Option<(usize, usize, f32)> {
    let mut limit = text.len().min(first + MAX_FIRST + " and ".len());
    while !text.is_char_boundary(limit) {
        limit -= 1;
    }
    let window = &text[first..limit];
    let line_end = window.find(['\n', '?', '!']).unwrap_or(window.len());
    let and = AND.find(&window[..line_end])?;
    let (and_start, second) = (first + and.start(), first + and.end());
    // The first street: a STREET_ADDRESS span, or another street part with a digit in it.
    let in_first: Vec<&Entity> = ents.iter().filter(|e| first <= e.start && e.start < and_start).collect();
    let numbered =
        |e: &&Entity| e.label == Label::StreetAddress || text[e.start..e.end].chars().any(|c| c.is_ascii_digit());
    if !in_first.iter().any(numbered) || in_first.iter().any(|e| !street_part(e.label)) {
        return None;
    }
    let mut score = in_first.iter().map(|e| e.score).fold(1.0, f32::min);
    // The second street: where a first street's span runs past the "and" ("Cicha 86 and
    // Wolska" read as one span), from its end; then the spans that follow one space apart ...
    let mut end = in_first.iter().map(|e| e.end).fold(second, usize::max);
    while let Some(e) = ents.iter().find(|e| {
        let gap = if end == second { 0 } else { 1 };
        e.start == end + gap && text[end..e.start].chars().all(|c| c == ' ') && street_part(e.label)
    }) {
        end = e.end;
        score = score.min(e.score);
    }
    // ... then capitalized words or numbers ("Philip [Bypass]", "Main St").
    for _ in 0..MAX_TAIL_WORDS {
        let gap = if end == second { 0 } else { 1 };
        let Some(rest) = text.get(end + gap..) else { break };
        if !text[end..end + gap].chars().all(|c| c == ' ') {
            break;
        }
        let len = rest.find(|c: char| c.is_whitespace() || ",;:?!()".contains(c)).unwrap_or(rest.len());
        let starts_well = rest.chars().next().is_some_and(|c| c.is_uppercase() || c.is_ascii_digit());
        let taken = ents.iter().any(|e| e.start < end + gap + len && end + gap < e.end);
        if len == 0 || !starts_well || taken {
            break;
        }
        end += gap + len;
    }
    if end == second {
        return None;
    }
    // A sentence's full stop is not part of the address.
    let end = if text[..end].ends_with('.') { end - 1 } else { end };
    Some((start, end, score))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Label::{Location, Organization, Person, StreetAddress};

    fn run(text: &str, model: &[(&str, Label)]) -> Vec<(String, Label)> {
        let mut ents = super::super::names::spans_of(text, model);
        apply(text, &mut ents);
        ents.iter().map(|e| (text[e.start..e.end].to_string(), e.label)).collect()
    }

    fn street(s: &str) -> (String, Label) {
        (s.to_string(), StreetAddress)
    }

    #[test]
    fn an_intersection_is_one_address() {
        assert_eq!(
            run(
                "Our offices are located at the corner of Östbygatan 14 and Sigurmundsson Greens",
                &[("Östbygatan", Location), ("14", StreetAddress), ("Sigurmundsson Greens", Location)]
            ),
            [street("the corner of Östbygatan 14 and Sigurmundsson Greens")]
        );
        assert_eq!(
            run(
                "send it to the corner of ul. Jesionowa 127 and Philip Bypass? I am away",
                &[("Jesionowa 127", StreetAddress), ("Philip", Person)]
            ),
            [street("the corner of ul. Jesionowa 127 and Philip Bypass")]
        );
        assert_eq!(
            run("Meet me on the Corner of 5th Street & Main St.", &[("5th Street", StreetAddress)]),
            [street("the Corner of 5th Street & Main St")]
        );
        assert_eq!(
            run("SHIP TO THE CORNER OF 5TH STREET AND MAIN", &[("5TH STREET", StreetAddress)]),
            [street("THE CORNER OF 5TH STREET AND MAIN")]
        );
        // A span of the model that runs over the "and".
        assert_eq!(
            run(
                "at the corner of Cicha 86 and Wolska, Warsaw",
                &[("Cicha 86 and", StreetAddress), ("Wolska", Location), ("Warsaw", Location)]
            ),
            [street("the corner of Cicha 86 and Wolska"), ("Warsaw".to_string(), Location)]
        );
        assert_eq!(
            run("at the corner of Cicha 86 and Wolska Street", &[("Cicha 86 and Wolska", StreetAddress)]),
            [street("the corner of Cicha 86 and Wolska Street")]
        );
        // The other spans of the text stay.
        assert_eq!(
            run(
                "Glover and Sons is at the corner of Via Nuova 85 and Baranyay Mill, Budapest",
                &[
                    ("Glover and Sons", Organization),
                    ("Via Nuova 85", StreetAddress),
                    ("Baranyay Mill", Location),
                    ("Budapest", Location)
                ]
            ),
            [
                ("Glover and Sons".to_string(), Organization),
                street("the corner of Via Nuova 85 and Baranyay Mill"),
                ("Budapest".to_string(), Location)
            ]
        );
    }

    #[test]
    fn a_corner_without_a_street_is_left_alone() {
        for (t, model) in [
            ("the corner of the room and the door", vec![]),
            ("in the corner of Paris and Lyon", vec![("Paris", Location), ("Lyon", Location)]),
            ("at the corner of my eye and then Anna", vec![("Anna", Person)]),
            ("the corner of Main St\nand Anna came", vec![("Main St", StreetAddress), ("Anna", Person)]),
        ] {
            let want: Vec<(String, Label)> = model.iter().map(|(s, l)| (s.to_string(), *l)).collect();
            assert_eq!(run(t, &model), want, "{t}");
        }
    }
}
