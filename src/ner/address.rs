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
//!
//! A **house number and a street name before a town** are one address too: after "at", "to",
//! "on", "from", "address", a comma or at the start of a line, a number and one to three
//! capitalized words, or those words and then the number, a comma, and then a place the
//! model read or a postcode ("Deliver to
//! 12 Keizersgracht, Amsterdam", "at Keizersgracht 12, 1015 CJ Amsterdam", "lives at 7
//! Larkspur, Bristol"). Streets without a "Street" or "Road" (Dutch, German and Nordic
//! compounds, Irish and English house names) reached the provider whole, or with their
//! number beside a placeholder. The words may not all be common words unless the model put
//! a street, place, name or organization span on them or on the number, never a month,
//! weekday or nationality ("on 12 March, London"), and never a listed product with its version ("Debian
//! 12, Fedora 40").
//!
//! A **street named by its type word**, as French, Italian, Spanish and Portuguese write
//! them, is one address with its number: a number, then "rue", "avenue", "chemin", "via",
//! "calle", "rua" ... (in lower case, or capitalized where the word is not also English),
//! articles such as "des", "de la", "del", and up to four capitalized words ("12 rue des
//! Lilas", "3 chemin de la Fontaine"); or the type word, its name, then the number ("via
//! Roma 10, Milano", "Rua Augusta 200", "calle Mayor 5"). The model read "rue des" as a place
//! and sent `Lilas`, or read "Roma" and sent "via" and the number. Where the number follows
//! and the type word is "via" (also English: "via DHL 2 days ago", "via Python 3, then"),
//! a comma and a capitalized word or a postcode must follow the number.

use crate::mask::{Entity, Kind, Label};
use regex::Regex;
use std::sync::LazyLock;

/// How far after "corner of" the "and" may stand.
const MAX_FIRST: usize = 60;

/// Words the second street may run on for after its last span ("Philip [Bypass]").
const MAX_TAIL_WORDS: usize = 2;

static CORNER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:the\s+)?corner\s+of\s+").expect("corner pattern compiles"));

/// A number and a street name, or a street name and a number, after an address cue, a
/// comma or at the start of a line, up to the comma before the town.
static NUMBERED: LazyLock<Regex> = LazyLock::new(|| {
    let number = r"\d{1,5}[A-Za-z]?(?:[/-]\d{1,4}[A-Za-z]?)?";
    let street = r"\p{Lu}[\p{Ll}'’]+(?:[ -]\p{Lu}[\p{Ll}'’]+){0,2}";
    Regex::new(&format!(
        r"(?:\b(?i:at|to|on|from|address(?:\s+is)?:?)\s+|(?m:^)|,\s+)(?:(?<n1>{number}) (?<s1>{street})|(?<s2>{street}) (?<n2>{number})),\s+"
    ))
    .expect("numbered street pattern compiles")
});

/// Articles and prepositions inside a street's name ("rue des Lilas", "via della Spiga").
const STREET_ARTICLES: &str = r"(?:(?i:de|des|du|de la|de l'|de l’|la|le|les|del|della|delle|dei|degli|dello|di|da|do|dos|das|el|los|las)\s+|(?i:d|l)['’])";

/// A street's name after its type word: articles, then one to four capitalized words.
const STREET_NAME: &str = r"\p{Lu}[\p{L}'’-]*(?:\s+(?:ARTICLES)*\p{Lu}[\p{L}'’-]*){0,3}";

/// The number, then the type word: lower case for words that are also English ("place",
/// "route", "avenue" ...), either case for the others; not "via" ("shipped 2 via UPS").
static TYPED_AFTER_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    let name = STREET_NAME.replace("ARTICLES", STREET_ARTICLES);
    Regex::new(&format!(
        r"\b(?<n>\d{{1,5}}[A-Za-z]?)(?:,\s*|\s+)(?:(?i:rue|chemin|allée|allee|impasse|quai|viale|piazza|piazzale|corso|vicolo|calle|avenida|paseo|carrer|rua|travessa|praça|praca|estrada|alameda|rambla|camino)|avenue|boulevard|place|route|cours|plaza)\s+{STREET_ARTICLES}*(?<s>{name})"
    ))
    .expect("typed street pattern compiles")
});

/// The type word, the name, then the number.
static TYPED_BEFORE_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    let name = STREET_NAME.replace("ARTICLES", STREET_ARTICLES);
    Regex::new(&format!(
        r"\b(?<w>(?i:viale|piazza|piazzale|corso|vicolo|calle|avenida|paseo|carrer|rua|travessa|praça|praca|estrada|alameda|rambla|camino)|via|Via)\s+{STREET_ARTICLES}*(?<s>{name}),?\s+(?<n>\d{{1,5}}[A-Za-z]?)\b"
    ))
    .expect("typed street pattern compiles")
});

/// Score of an address span this rule makes from words no model span covered.
const RULE_SCORE: f32 = 0.8;

static AND: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i) (?:and|&) ").expect("and pattern compiles"));

/// Labels whose spans may make up a street of an intersection.
fn street_part(label: Label) -> bool {
    matches!(label, Label::StreetAddress | Label::Location | Label::Person | Label::Organization)
}

/// Merges the spans of each intersection of `text` into one STREET_ADDRESS (module doc).
/// `ents` are byte spans; sorted on return when anything changed.
pub fn apply(text: &str, ents: &mut Vec<Entity>) {
    numbered_streets(text, ents);
    typed_streets(text, ents);
    if ents.is_empty() || !(text.contains("orner") || text.contains("ORNER")) {
        return;
    }
    let mut merged = Vec::new();
    for m in CORNER.find_iter(text) {
        if let Some(span) = intersection(text, m.start(), m.end(), ents) {
            merged.push(span);
        }
    }
    replace(ents, merged);
}

/// Each span replaces the spans it overlaps with one STREET_ADDRESS that covers them all, so
/// nothing they covered is left unmasked (two matches may have taken in one model span).
fn replace(ents: &mut Vec<Entity>, spans: Vec<(usize, usize, f32)>) {
    if spans.is_empty() {
        return;
    }
    for (mut start, mut end, score) in spans {
        loop {
            let (s, t) = ents
                .iter()
                .filter(|e| e.start < end && start < e.end)
                .fold((start, end), |(s, t), e| (s.min(e.start), t.max(e.end)));
            if (s, t) == (start, end) {
                break;
            }
            (start, end) = (s, t);
        }
        ents.retain(|e| e.end <= start || end <= e.start);
        ents.push(Entity { start, end, label: Label::StreetAddress, score, detector: "ner", kind: Kind::Any });
    }
    ents.sort_by_key(|e| (e.start, e.end));
}

/// A house number and a street name before a town (module doc) become one STREET_ADDRESS,
/// with the street, place, name and age spans of the model on them.
fn numbered_streets(text: &str, ents: &mut Vec<Entity>) {
    if !text.as_bytes().iter().any(u8::is_ascii_digit) || !text.contains(", ") {
        return;
    }
    let mut found = Vec::new();
    for c in NUMBERED.captures_iter(text) {
        let (Some(number), Some(street)) = (c.name("n1").or(c.name("n2")), c.name("s1").or(c.name("s2"))) else {
            continue;
        };
        let whole = c.get(0).expect("the match");
        // What follows the comma: a place or street the model read (or a street span of the
        // model that runs over the comma), or a postcode.
        let town = whole.end();
        // A place the model read that is a listed term ("Fedora" of "Debian 12, Fedora 40")
        // is no town.
        let placed = ents.iter().any(|e| {
            e.start <= town
                && town < e.end
                && matches!(e.label, Label::Location | Label::StreetAddress)
                && !super::scope::is_listed_term(&text[e.start..e.end])
        }) || text[town..].starts_with(|c: char| c.is_ascii_digit());
        let (start, end) = (number.start().min(street.start()), number.end().max(street.end()));
        let words: Vec<&str> = street.as_str().split([' ', '-']).collect();
        // A month, a weekday or a nationality: "on 12 March, London", "to 3 Germans, Berlin".
        let calendar = words.iter().any(|w| super::scope::is_calendar_or_group_word(w));
        // A product and its version ("Debian 12", "Kotlin 2") is no street.
        let term = words.iter().any(|w| super::scope::is_listed_term(w));
        let read = ents.iter().any(|e| e.start < end && start < e.end && street_part(e.label));
        let common = words.iter().all(|w| super::scope::is_common_word(w));
        if !placed || calendar || term || (common && !read) {
            continue;
        }
        // The model's spans on it are taken whole ("[Pemberton, Leeds LS6 2AB]").
        found.extend(absorb(ents, start, end));
    }
    replace(ents, found);
}

/// A street named by its type word, with its number (module doc), becomes one
/// STREET_ADDRESS with the street, place, name and age spans of the model on it.
fn typed_streets(text: &str, ents: &mut Vec<Entity>) {
    if !text.as_bytes().iter().any(u8::is_ascii_digit) {
        return;
    }
    let mut found = Vec::new();
    for c in TYPED_AFTER_NUMBER.captures_iter(text) {
        let (n, s) = (c.name("n").expect("number"), c.name("s").expect("name"));
        found.extend(absorb(ents, n.start(), s.end()));
    }
    for c in TYPED_BEFORE_NUMBER.captures_iter(text) {
        let (w, n) = (c.name("w").expect("type word"), c.name("n").expect("number"));
        if w.as_str().eq_ignore_ascii_case("via") {
            // "via Roma 10, Milano", not "via DHL 2 days ago" or "via Python 3, then".
            let rest = text[n.end()..].strip_prefix(',').map(str::trim_start);
            if !rest.is_some_and(|r| r.starts_with(|ch: char| ch.is_uppercase() || ch.is_ascii_digit())) {
                continue;
            }
        }
        found.extend(absorb(ents, w.start(), n.end()));
    }
    // Spans found twice or overlapping are merged by `replace`.
    replace(ents, found);
}

/// `start..end` with the model's street, place, name and age spans on it taken whole, as
/// (start, end, lowest score); none where a span of another label lies on it.
fn absorb(ents: &[Entity], start: usize, end: usize) -> Option<(usize, usize, f32)> {
    let on_it: Vec<&Entity> = ents.iter().filter(|e| e.start < end && start < e.end).collect();
    if on_it.iter().any(|e| !street_part(e.label) && e.label != Label::Age) {
        return None;
    }
    let start = on_it.iter().map(|e| e.start).fold(start, usize::min);
    let end = on_it.iter().map(|e| e.end).fold(end, usize::max);
    let score = on_it.iter().map(|e| e.score).fold(RULE_SCORE, f32::min);
    Some((start, end, score))
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
    use Label::{Age, Location, Organization, Person, StreetAddress};

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
    fn a_number_and_a_street_before_a_town_are_one_address() {
        let amsterdam = ("Amsterdam".to_string(), Location);
        assert_eq!(
            run("Deliver to 12 Keizersgracht, Amsterdam.", &[("Amsterdam", Location)]),
            [street("12 Keizersgracht"), amsterdam.clone()]
        );
        assert_eq!(
            run("Can you write to Mrs. Berg at 12 Keizersgracht, Amsterdam?", &[("12", Age), ("Amsterdam", Location)]),
            [street("12 Keizersgracht"), amsterdam]
        );
        assert_eq!(
            run(
                "Ship it to Keizersgracht 12, 1015 CJ Amsterdam.",
                &[("Keizersgracht", Person), ("1015 CJ", StreetAddress), ("Amsterdam", Location)]
            ),
            [street("Keizersgracht 12"), street("1015 CJ"), ("Amsterdam".to_string(), Location)]
        );
        // A common word the model read as part of an address; the model's span taken whole.
        assert_eq!(
            run("He lives at 7 Larkspur, Bristol.", &[("7", StreetAddress), ("Bristol", Location)]),
            [street("7 Larkspur"), ("Bristol".to_string(), Location)]
        );
        assert_eq!(
            run("Ship to 88 Pemberton, Leeds LS6 2AB", &[("Pemberton, Leeds LS6 2AB", StreetAddress)]),
            [street("88 Pemberton, Leeds LS6 2AB")]
        );
        assert_eq!(run("Return to 4B Kurfürstendamm-Ost, 10719 Berlin", &[]), [street("4B Kurfürstendamm-Ost")]);
        assert_eq!(
            run("Dag, ik ben Sanne de Vries, Keizersgracht 12, Amsterdam.", &[("Amsterdam", Location)]),
            [street("Keizersgracht 12"), ("Amsterdam".to_string(), Location)]
        );
        assert_eq!(run("Sanne de Vries\nKeizersgracht 12, 1015 CJ", &[]), [street("Keizersgracht 12")]);
    }

    #[test]
    fn a_number_and_words_that_are_no_street_are_left_alone() {
        for (t, model) in [
            // A date, common words the model read as nothing, no town after the comma, no cue.
            ("The launch is on 12 March, London time.", vec![("London", Location)]),
            ("We moved to 3 Rooms, Berlin style.", vec![("Berlin", Location)]),
            ("Deliver to 12 Keizersgracht, please.", vec![]),
            ("Chapter 12 Keizersgracht, Amsterdam", vec![("Amsterdam", Location)]),
            ("We use Python 3, Django 4 and Go.", vec![]),
            ("We wrote to 3 Germans, Berlin office", vec![("Berlin", Location)]),
            ("See you on 3 Sept, Paris", vec![("Paris", Location)]),
            ("We support Ubuntu 24, Debian 12, Fedora 40.", vec![("Fedora", Location)]),
            ("Ship to Debian 12, Berlin", vec![("Berlin", Location)]),
            ("Volume 2, 2024 edition", vec![]),
        ] {
            let want: Vec<(String, Label)> = model.iter().map(|(s, l)| (s.to_string(), *l)).collect();
            assert_eq!(run(t, &model), want, "{t}");
        }
    }

    #[test]
    fn a_street_named_by_its_type_word_is_one_address() {
        assert_eq!(
            run(
                "écrire à Mme Lefèvre, 12 rue des Lilas, 69003 Lyon",
                &[("Lefèvre", Person), ("12", StreetAddress), ("rue des", Location), ("Lyon", Location)]
            ),
            [("Lefèvre".to_string(), Person), street("12 rue des Lilas"), ("Lyon".to_string(), Location)]
        );
        assert_eq!(
            run("abito in via Roma 10, Milano", &[("Roma", Location), ("Milano", Location)]),
            [street("via Roma 10"), ("Milano".to_string(), Location)]
        );
        for (t, want) in [
            ("moro na Rua Augusta 200, São Paulo", "Rua Augusta 200"),
            ("vivo en la calle Mayor 5", "calle Mayor 5"),
            ("au 3 chemin de la Fontaine-Ronde", "3 chemin de la Fontaine-Ronde"),
            ("at 8 avenue d'Italie", "8 avenue d'Italie"),
            ("a Piazza San Marco 1", "Piazza San Marco 1"),
        ] {
            assert_eq!(run(t, &[]), [street(want)], "{t}");
        }
    }

    #[test]
    fn type_words_that_name_no_street_are_left_alone() {
        for t in [
            "I sent it via DHL 2 days ago",
            "install it via Python 3, then restart",
            "Book 3 Place Settings for dinner",
            "take route 66 west",
            "the via Ferrata has 2 ladders",
            "I shipped 2 via UPS today",
        ] {
            assert_eq!(run(t, &[]), Vec::<(String, Label)>::new(), "{t}");
        }
    }

    #[test]
    fn overlapping_addresses_are_merged_not_dropped() {
        let mut ents = super::super::names::spans_of("at 12 Foo, 14 Bar", &[("12 Foo, 14", StreetAddress)]);
        replace(&mut ents, vec![(3, 9, 0.8), (11, 17, 0.8)]);
        assert_eq!(ents.len(), 1);
        assert_eq!((ents[0].start, ents[0].end, ents[0].label), (3, 17, StreetAddress));
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
