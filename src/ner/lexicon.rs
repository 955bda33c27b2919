//! The name lexicon: a model folder may ship a list of given names and surnames (config.json
//! `veil_name_lexicon = {"file": "names.txt", "min_person": 0.003}`). A capitalized word that is
//! in the list, or that follows an honorific (`Mr.`, `Dr`, `Frau`, ...), becomes a PERSON word
//! when the model gave PERSON at least `min_person` of its probability, even where the model's
//! argmax was "O". Small students hesitate on names they have rarely seen ("Park and Mann
//! were engineers", "They had 6: Gaetane, Hannah, Anthony"); the list settles those cases,
//! and the probability gate keeps ordinary capitalized words ("May I", "Will", "Park Street")
//! out, because there the model puts next to nothing on PERSON; at the start of a sentence,
//! where every word has a capital, the gate is higher ("Add type hints"). A word the model is
//! sure is another entity (LOCATION, ORGANIZATION, ...: "Paris", "Jordan Ltd") is left alone.
//!
//! A listed word in lower case is a name only after a word that is followed by a person:
//! a contact verb ("text jake", "ask sarah", "thanks sam"), a kinship or relationship noun
//! ("my cousin ahmed", "my bf marco"), a greeting ("hey jake"), a self-introduction ("im
//! tomasz", "i'm kasia", "i am jake"), a field of people ("cc: nadia", "attendees: rahul"),
//! or "and", "&" or a comma next to a name ("josh and emily", "rahul, sofia", "omar and
//! Nadia"); and only if it is not also a common English word (`scope/common.txt`: "mark"
//! and "rose" are names there, "main" is not) nor code ("call len()"). There no probability
//! gate applies: the model puts almost nothing on PERSON for a lower-case name.
//!
//! `[detect] name_lexicon = false` turns it off.

use super::labels::{class_kinds, ClassKind, LabelScheme, Tag, Word};
use crate::mask::Label;
use anyhow::Context;
use std::collections::HashSet;
use std::path::Path;

/// At the start of a sentence or line, where every word has a capital, a listed word the
/// model did not read as a name needs at least this much PERSON probability (or the model
/// folder's `min_person`, if higher): "Add type hints", "Page 7 of 12" and "Post-war" are
/// words of the list (Faker has "Add", "Page" and "Post" as names) that the model puts a
/// trace of PERSON on there. Measured on the dev splits: 0.02 keeps every PERSON leak figure
/// within 0.0004; 0.1 and more cost names ("Gaetane was late").
const SENTENCE_START_MIN_PERSON: f32 = 0.02;

/// Score given to a word the lexicon confirms (so `min_score` below it keeps it).
pub const LEXICON_SCORE: f32 = 0.9;

/// A listed word the model calls another entity (LOCATION, ORGANIZATION, ...) with at least
/// this probability stays that entity.
const OTHER_ENTITY_SURE: f32 = 0.5;

/// Titles after which a capitalized word is taken as a name, compared lower-cased without
/// a trailing dot, in the languages the default model covers.
const HONORIFICS: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "madam", "mme", "mlle", "herr", "frau", "sr", "sra",
    "srta", "dott", "dottssa", "sig",
];

/// After these a lower-case listed word is a name: contact verbs (`names::CONTACT_VERBS` and
/// the forms below: "text jake", "told ben"), kinship and relationship nouns ("my cousin
/// ahmed"), greetings ("hey jake").
const CONTACT_FORMS: &[&str] = &[
    "called", "calling", "rang", "phoned", "texted", "texting", "emailed", "messaged", "pinged", "told", "asked",
    "invited", "thanks", "thx", "ty", "met", "dmed", "congrats", "love",
];
pub(crate) const KIN_CUES: &[&str] = &[
    "cousin",
    "brother",
    "bro",
    "sister",
    "sis",
    "mom",
    "mum",
    "mother",
    "dad",
    "father",
    "wife",
    "husband",
    "hubby",
    "wifey",
    "son",
    "daughter",
    "uncle",
    "aunt",
    "auntie",
    "nephew",
    "niece",
    "grandma",
    "grandpa",
    "granny",
    "nan",
    "friend",
    "bestie",
    "bff",
    "boyfriend",
    "girlfriend",
    "bf",
    "gf",
    "boss",
    "colleague",
    "coworker",
    "neighbour",
    "neighbor",
    "partner",
    "fiance",
    "fiancé",
    "fiancee",
    "fiancée",
    "roommate",
    "flatmate",
    "babe",
    "baby",
];
const GREETING_CUES: &[&str] = &["hi", "hey", "hello", "yo", "dear", "bye"];
/// Fields whose value is a person: "cc: nadia", "attendees: rahul, sofia".
const FIELD_CUES: &[&str] = &[
    "cc",
    "bcc",
    "to",
    "from",
    "attendees",
    "attendee",
    "participants",
    "assignee",
    "assigned",
    "reviewer",
    "reviewers",
    "owner",
    "author",
    "contact",
    "customer",
    "client",
    "patient",
    "organizer",
    "organiser",
    "host",
    "sender",
    "recipient",
];

/// The writer's own name follows: "im tomasz", "i am jake". "i'm" is the words "i", "'", "m"
/// (see [`NameLexicon::self_intro`]).
const SELF_INTRO_CUES: &[&str] = &["im", "am"];

/// The lexicon and the model classes it needs.
#[derive(Debug)]
pub struct NameLexicon {
    names: HashSet<String>,
    /// Least PERSON probability (summed over the PERSON classes) for a lexicon word.
    min_person: f32,
    kinds: Vec<ClassKind>,
    /// The PERSON class that begins an entity (B-/S-, else the bare one) and the one that
    /// continues it (I-, else the same).
    begin: usize,
    inside: usize,
}

impl NameLexicon {
    /// Reads `file` (one name a line, `#` comments) for a model whose entity types map to
    /// `labels`. `None` when the model has no entity type that maps to PERSON.
    pub fn load(
        file: &Path,
        min_person: f32,
        scheme: &LabelScheme,
        labels: &[Option<Label>],
    ) -> anyhow::Result<Option<NameLexicon>> {
        let text = std::fs::read_to_string(file).with_context(|| format!("{}: cannot be read", file.display()))?;
        Self::parse(&text, &file.display().to_string(), min_person, scheme, labels)
    }

    /// Like [`NameLexicon::load`], from the list's text; `name` names it in errors.
    pub fn parse(
        text: &str,
        name: &str,
        min_person: f32,
        scheme: &LabelScheme,
        labels: &[Option<Label>],
    ) -> anyhow::Result<Option<NameLexicon>> {
        if !(0.0..=1.0).contains(&min_person) {
            anyhow::bail!("veil_name_lexicon.min_person {min_person} is not between 0 and 1");
        }
        let names: HashSet<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_lowercase)
            .collect();
        if names.is_empty() {
            anyhow::bail!("{name}: holds no names");
        }
        Ok(Self::new(names, min_person, scheme, labels))
    }

    pub fn new(
        names: HashSet<String>,
        min_person: f32,
        scheme: &LabelScheme,
        labels: &[Option<Label>],
    ) -> Option<NameLexicon> {
        let kinds = class_kinds(scheme, labels);
        // The first entity type that maps to PERSON provides the classes a lexicon word takes.
        let entity =
            scheme.classes.iter().zip(&kinds).find(|(_, k)| **k == ClassKind::Person).map(|(c, _)| c.entity)?;
        let class = |tags: &[Tag]| {
            tags.iter().find_map(|t| {
                scheme
                    .classes
                    .iter()
                    .zip(&kinds)
                    .position(|(c, k)| *k == ClassKind::Person && c.entity == entity && c.tag == *t)
            })
        };
        let begin = class(&[Tag::Begin, Tag::Single, Tag::Inside])?;
        let inside = class(&[Tag::Inside, Tag::End]).unwrap_or(begin);
        Some(NameLexicon { names, min_person, kinds, begin, inside })
    }

    /// Per class of the model: "O", PERSON or another entity.
    pub fn kinds(&self) -> &[ClassKind] {
        &self.kinds
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    fn kind(&self, class: usize) -> ClassKind {
        self.kinds.get(class).copied().unwrap_or(ClassKind::Other)
    }

    /// Turns lexicon words of `text` (byte offsets) into PERSON words. A listed word that
    /// sits inside another entity (the model gives that entity to the words on both sides
    /// of it: "14 Birch Lane") stays that entity.
    pub fn apply(&self, text: &str, words: &mut [Word]) {
        // The model's own kinds, before any word is turned.
        let kinds: Vec<ClassKind> = words.iter().map(|w| self.kind(w.pred.class)).collect();
        // Previous word: its text (lone dots skipped, so "Mr." counts) and whether it ended
        // as a PERSON word.
        let mut prev_word: Option<&str> = None;
        let mut prev_start = 0;
        let mut prev_person = false;
        // Whether the word before "and" was a PERSON word or "me" ("josh and emily").
        let mut person_before = false;
        // Whether that word was in lower case: a comma lists names only among lower-case ones
        // ("rahul, sofia"), since after "Auguste David," comes his trade ("boulanger").
        let mut lower_before = false;
        let mut prev_token: Option<(&str, usize)> = None;
        for (i, w) in words.iter_mut().enumerate() {
            let word = &text[w.start..w.end];
            let p = &mut w.pred;
            let kind = kinds[i];
            let cued = prev_word.is_some_and(|prev| {
                [super::names::CONTACT_VERBS, CONTACT_FORMS, KIN_CUES, GREETING_CUES]
                    .iter()
                    .any(|cues| cues.iter().any(|c| prev.eq_ignore_ascii_case(c)))
                    || (matches!(prev, "and" | "&") && person_before)
                    || (prev == "," && person_before && lower_before)
                    || Self::self_intro(text, prev, prev_start)
                    || prev == ":" && Self::field(text, prev_start)
            });
            let inside_other = kind == ClassKind::Other
                && i > 0
                && kinds[i - 1] == ClassKind::Other
                && kinds.get(i + 1) == Some(&ClassKind::Other);
            // Another entity type wins only where the model is sure of it ("Paris" the city).
            let open = kind != ClassKind::Other || (p.score < OTHER_ENTITY_SURE && !inside_other);
            let lower = cued && self.lower_case_name(text, word, w.start, w.end);
            let starts = prev_token
                .is_none_or(|(t, end)| matches!(t, "." | "!" | "?" | ":") || text[end..w.start].contains('\n'));
            let gate = if starts && kind != ClassKind::Person {
                self.min_person.max(SENTENCE_START_MIN_PERSON)
            } else {
                self.min_person
            };
            if open && (lower || p.person >= gate && self.confirms(word, prev_word)) {
                if kind != ClassKind::Person {
                    p.class = if prev_person { self.inside } else { self.begin };
                }
                p.score = p.score.max(LEXICON_SCORE);
            }
            if word != "." {
                person_before = prev_person || prev_word.is_some_and(|w| w.eq_ignore_ascii_case("me"));
                lower_before = prev_word.is_some_and(|w| w.starts_with(char::is_lowercase));
                prev_word = Some(word);
                prev_start = w.start;
            }
            prev_person = self.kind(p.class) == ClassKind::Person;
            prev_token = Some((word, w.end));
        }
        // Right to left: a lower-case listed word before "and" or "&" and a name, or before a
        // comma and a lower-case name ("rahul and Sofia", "omar, nadia").
        for i in (0..words.len().saturating_sub(2)).rev() {
            let sep = &text[words[i + 1].start..words[i + 1].end];
            let next = &text[words[i + 2].start..words[i + 2].end];
            let named = self.kind(words[i + 2].pred.class) == ClassKind::Person
                && (sep != "," || next.starts_with(char::is_lowercase));
            let w = &words[i];
            let open = kinds[i] != ClassKind::Other || w.pred.score < OTHER_ENTITY_SURE;
            if matches!(sep, "and" | "&" | ",")
                && named
                && open
                && self.kind(w.pred.class) != ClassKind::Person
                && self.lower_case_name(text, &text[w.start..w.end], w.start, w.end)
            {
                let p = &mut words[i].pred;
                p.class = self.begin;
                p.score = p.score.max(LEXICON_SCORE);
            }
        }
    }

    /// Whether the ":" at `colon` ends a field whose value is a person ("cc:", "attendees:").
    fn field(text: &str, colon: usize) -> bool {
        let head = text[..colon].trim_end();
        let key = head.rsplit(|c: char| !c.is_alphanumeric()).next().unwrap_or_default();
        FIELD_CUES.iter().any(|c| key.eq_ignore_ascii_case(c))
    }

    /// Whether the word `prev` (at `start`) introduces the writer's name: "im", "am", or the
    /// "m" of "i'm" / "I’m".
    fn self_intro(text: &str, prev: &str, start: usize) -> bool {
        SELF_INTRO_CUES.iter().any(|c| prev.eq_ignore_ascii_case(c))
            || prev.eq_ignore_ascii_case("m") && {
                let head = text[..start].trim_end().to_lowercase();
                head.ends_with("i'") || head.ends_with("i’") || head.ends_with("i '") || head.ends_with("i ’")
            }
    }

    /// A lower-case word of two or more letters that is in the list and is neither a common
    /// word nor part of code (a `(`, `.`, `_`, `` ` `` ... glued to it).
    fn lower_case_name(&self, text: &str, word: &str, start: usize, end: usize) -> bool {
        word.chars().count() >= 2
            && word.chars().all(char::is_lowercase)
            && self.names.contains(word)
            && !super::scope::is_common_word(word)
            && !text[end..].starts_with(['(', '.', '_', '`', '/', ':', '=', '-'])
            && !text[..start].ends_with(['`', '.', '_', '/', '-'])
    }

    /// A capitalized word of two or more letters that is in the list or follows an honorific.
    fn confirms(&self, word: &str, prev: Option<&str>) -> bool {
        let mut chars = word.chars();
        let (Some(first), Some(_)) = (chars.next(), chars.next()) else { return false };
        if !first.is_uppercase() {
            return false;
        }
        self.names.contains(&word.to_lowercase())
            || prev.is_some_and(|p| {
                let p = p.trim_end_matches('.');
                HONORIFICS.iter().any(|h| p.eq_ignore_ascii_case(h))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ner::labels::{group_words, map_types, Prediction};

    const IOB2: &[&str] = &["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];

    fn scheme(names: &[&str]) -> LabelScheme {
        let m = names.iter().enumerate().map(|(i, n)| (i, n.to_string())).collect();
        LabelScheme::parse(&m).expect("scheme parses")
    }

    fn lexicon(names: &[&str], min_person: f32) -> (LabelScheme, NameLexicon) {
        let s = scheme(IOB2);
        let (labels, _) = map_types(&s.types, &Default::default());
        let names = ["anna", "smith", "park", "main"].iter().chain(names).map(|n| n.to_string()).collect();
        let lx = NameLexicon::new(names, min_person, &s, &labels).expect("has PERSON");
        (s, lx)
    }

    /// One token per space-separated word (a "." is its own word when written " . ");
    /// per word: (class, score, person probability).
    fn run(text: &str, preds: &[(usize, f32, f32)], min_person: f32) -> Vec<(String, String, f32)> {
        let (s, lx) = lexicon(&[], min_person);
        let mut words = Vec::new();
        let mut at = 0;
        for (w, &(class, score, person)) in text.split(' ').zip(preds) {
            let pred = Prediction { class, score, person };
            words.push(Word { start: at, end: at + w.len(), pred });
            at += w.len() + 1;
        }
        lx.apply(text, &mut words);
        group_words(&s, &words)
            .into_iter()
            .map(|g| (text[g.start..g.end].to_string(), s.types[g.entity].clone(), g.score))
            .collect()
    }

    #[test]
    fn listed_capitalized_words_become_one_person_when_the_model_gives_person_a_chance() {
        let got = run("ask Anna Smith today", &[(0, 0.9, 0.0), (0, 0.6, 0.2), (0, 0.7, 0.1), (0, 0.9, 0.0)], 0.01);
        assert_eq!(got, [("Anna Smith".to_string(), "PER".to_string(), LEXICON_SCORE)]);
    }

    #[test]
    fn the_gate_other_entities_lower_case_and_unlisted_words_are_left_alone() {
        // Below the gate.
        assert!(run("ask Anna today", &[(0, 0.9, 0.0), (0, 0.99, 0.001), (0, 0.9, 0.0)], 0.01).is_empty());
        // The model is sure it is a place.
        let got = run("in Park today", &[(0, 0.9, 0.0), (3, 0.8, 0.1), (0, 0.9, 0.0)], 0.01);
        assert_eq!(got, [("Park".to_string(), "LOC".to_string(), 0.8)]);
        // ... but where it hesitates, the list decides.
        let got = run("in Park today", &[(0, 0.9, 0.0), (3, 0.4, 0.3), (0, 0.9, 0.0)], 0.01);
        assert_eq!(got, [("Park".to_string(), "PER".to_string(), LEXICON_SCORE)]);
        // At a sentence's start, a trace of PERSON is not enough; more is.
        let dot = (0, 0.9, 0.0);
        assert!(run("ok . Anna today", &[dot, dot, (0, 0.9, 0.01), dot], 0.003).is_empty());
        let got = run("ok . Anna today", &[dot, dot, (0, 0.9, 0.05), dot], 0.003);
        assert_eq!(got, [("Anna".to_string(), "PER".to_string(), LEXICON_SCORE)]);
        let got = run("ask Anna today", &[dot, (0, 0.9, 0.01), dot], 0.003);
        assert_eq!(got, [("Anna".to_string(), "PER".to_string(), LEXICON_SCORE)]);
        // Lower case with no cue before it, or not listed.
        assert!(run("see anna today", &[(0, 0.9, 0.3), (0, 0.6, 0.3), (0, 0.9, 0.3)], 0.01).is_empty());
        assert!(run("ask Bob today", &[(0, 0.9, 0.3), (0, 0.6, 0.3), (0, 0.9, 0.3)], 0.01).is_empty());
    }

    #[test]
    fn a_lower_case_listed_name_after_a_cue_is_a_name() {
        let o = (0, 0.9, 0.0);
        for text in [
            "ask anna today",
            "my cousin anna said",
            "hey anna !",
            "smith and anna went",
            "hi im anna !",
            "hi i ' m anna !",
            "so i am anna ,",
            "cc : anna",
            "attendees : smith , anna",
            "anna , smith went",
            "anna and smith went",
            "anna and Smith went",
        ] {
            let n = text.split(' ').count();
            // "smith": the model's PERSON word next to "and" or a comma.
            let preds: Vec<_> = text
                .split(' ')
                .map(|w| {
                    if w.eq_ignore_ascii_case("smith") && text != "attendees : smith , anna" {
                        (1, 0.9, 0.9)
                    } else {
                        o
                    }
                })
                .collect();
            assert_eq!(preds.len(), n);
            let got = run(text, &preds, 0.01);
            assert!(got.iter().any(|g| g.0.ends_with("anna") && g.1 == "PER"), "{text}: {got:?}");
        }
        // No cue, a listed common word ("main"), an unlisted word, code, or a word the model is
        // sure is another entity.
        for text in [
            "see anna today",
            "call main today",
            "call zyxwu today",
            "call anna() now",
            "it and anna went",
            "im main today",
            "i ' m zyxwu",
            "the m anna",
            "note : anna",
            "anna , main went",
        ] {
            let n = text.split(' ').count();
            assert!(run(text, &vec![o; n], 0.01).is_empty(), "{text}");
        }
        // A comma lists names only among lower-case ones: after "Auguste David," his trade.
        let per = (1, 0.9, 0.9);
        for (text, preds) in [("Smith , anna", [per, o, o]), ("anna , Smith", [o, o, per])] {
            let got = run(text, &preds, 0.01);
            assert_eq!(got.len(), 1, "{text}: {got:?}");
            assert_eq!(got[0].0, "Smith");
        }
        let got = run("ask anna today", &[o, (3, 0.9, 0.0), o], 0.01);
        assert_eq!(got[0].1, "LOC");
    }

    #[test]
    fn a_listed_word_inside_another_entity_stays_that_entity() {
        // "14 Park Lane": the model reads a place around the listed word, unsure of it.
        let preds = [(0, 0.9, 0.0), (3, 0.6, 0.0), (4, 0.45, 0.3), (4, 0.6, 0.0), (0, 0.9, 0.0)];
        let got = run("at 14 Park Lane today", &preds, 0.01);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].0.as_str(), got[0].1.as_str()), ("14 Park Lane", "LOC"));
    }

    #[test]
    fn a_person_word_keeps_its_class_and_gets_the_lexicon_score() {
        let got = run("ask Anna today", &[(0, 0.9, 0.0), (1, 0.4, 0.45), (0, 0.9, 0.0)], 0.01);
        assert_eq!(got, [("Anna".to_string(), "PER".to_string(), LEXICON_SCORE)]);
    }

    #[test]
    fn a_capitalized_word_after_an_honorific_is_a_name() {
        let preds = [(0, 0.9, 0.0), (0, 0.9, 0.0), (0, 0.9, 0.0), (0, 0.7, 0.05), (0, 0.9, 0.0)];
        let got = run("ask Mr . Zyxwu today", &preds, 0.01);
        assert_eq!(got, [("Zyxwu".to_string(), "PER".to_string(), LEXICON_SCORE)]);
        let got = run("ask Dr Zyxwu today", &preds[1..], 0.01);
        assert_eq!(got, [("Zyxwu".to_string(), "PER".to_string(), LEXICON_SCORE)]);
    }

    #[test]
    fn a_model_without_person_gets_no_lexicon_and_bad_files_are_refused() {
        let s = scheme(&["O", "B-LOC", "I-LOC"]);
        let (labels, _) = map_types(&s.types, &Default::default());
        assert!(NameLexicon::new(["anna".to_string()].into(), 0.01, &s, &labels).is_none());

        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("names.txt");
        std::fs::write(&file, "# given names\nAnna\n\n  Zoë \n").expect("write");
        let s = scheme(IOB2);
        let (labels, _) = map_types(&s.types, &Default::default());
        let lx = NameLexicon::load(&file, 0.01, &s, &labels).expect("loads").expect("has PERSON");
        assert_eq!(lx.len(), 2);
        assert!(lx.confirms("ZOË", None) && lx.confirms("Anna", None) && !lx.confirms("Anne", None));
        assert!(NameLexicon::load(&file, 1.5, &s, &labels).unwrap_err().to_string().contains("min_person"));
        std::fs::write(&file, "# nothing\n").expect("write");
        assert!(NameLexicon::load(&file, 0.01, &s, &labels).unwrap_err().to_string().contains("no names"));
        let missing = NameLexicon::load(&dir.path().join("nope.txt"), 0.01, &s, &labels).unwrap_err();
        assert!(missing.to_string().contains("nope.txt"), "{missing}");
    }
}
