//! From per-token predictions to entity spans: the model's `id2label` parsed into tag
//! prefixes and entity types, word-level "first" aggregation and BIO grouping (what the
//! Hugging Face token-classification pipeline does with `aggregation_strategy="first"`), and
//! the map from a model's entity types to docs/interface.md labels.

use crate::mask::Label;
use std::collections::{BTreeMap, HashMap};

/// Position prefix of a tag. IOB1/IOB2 use B and I; BIOES adds E and S (BILOU: L and U).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Outside,
    Begin,
    Inside,
    End,
    Single,
}

/// One output class of the model: its tag and entity type (`PER`, `FIRSTNAME`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct ClassInfo {
    pub tag: Tag,
    /// Index into [`LabelScheme::types`]; meaningless for `Tag::Outside`.
    pub entity: usize,
}

/// The parsed `id2label` of a model.
#[derive(Debug, Clone)]
pub struct LabelScheme {
    pub classes: Vec<ClassInfo>,
    /// Entity type names as the model spells them (prefix stripped).
    pub types: Vec<String>,
}

impl LabelScheme {
    /// Parses `id2label` (class index → name). Every index in `0..n` must be present.
    pub fn parse(id2label: &BTreeMap<usize, String>) -> Result<LabelScheme, String> {
        let n = id2label.len();
        let mut types: Vec<String> = Vec::new();
        let mut classes = Vec::with_capacity(n);
        for i in 0..n {
            let name = id2label.get(&i).ok_or_else(|| format!("id2label has {n} entries but no entry for {i}"))?;
            let (tag, ty) = split_tag(name);
            let entity = if tag == Tag::Outside {
                0
            } else if let Some(p) = types.iter().position(|t| t == ty) {
                p
            } else {
                types.push(ty.to_string());
                types.len() - 1
            };
            classes.push(ClassInfo { tag, entity });
        }
        if classes.is_empty() {
            return Err("id2label is empty".into());
        }
        Ok(LabelScheme { classes, types })
    }
}

fn split_tag(name: &str) -> (Tag, &str) {
    if name == "O" || name.eq_ignore_ascii_case("outside") {
        return (Tag::Outside, "");
    }
    let bytes = name.as_bytes();
    if bytes.len() > 2 && (bytes[1] == b'-' || bytes[1] == b'_') {
        let ty = &name[2..];
        match bytes[0] {
            b'B' => return (Tag::Begin, ty),
            b'I' => return (Tag::Inside, ty),
            b'E' | b'L' => return (Tag::End, ty),
            b'S' | b'U' => return (Tag::Single, ty),
            _ => {}
        }
    }
    // A bare type ("PER") continues like I- does in the Hugging Face pipeline.
    (Tag::Inside, name)
}

/// One token of the text being classified: byte offsets into the text, and whether it
/// starts a new word (false for a `##piece` or a piece glued to the previous one).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenSpan {
    pub start: usize,
    pub end: usize,
    pub word_start: bool,
}

/// A token's prediction: class index and its softmax probability, and the probability of
/// the PERSON classes together (what the name lexicon gates on).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    pub class: usize,
    pub score: f32,
    pub person: f32,
}

/// What a class is to the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassKind {
    Outside,
    Person,
    Other,
}

/// Per class of `scheme`: "O", a type that maps to PERSON in `labels`, or another entity.
pub fn class_kinds(scheme: &LabelScheme, labels: &[Option<Label>]) -> Vec<ClassKind> {
    scheme
        .classes
        .iter()
        .map(|c| match c.tag {
            Tag::Outside => ClassKind::Outside,
            _ if labels.get(c.entity).copied().flatten() == Some(Label::Person) => ClassKind::Person,
            _ => ClassKind::Other,
        })
        .collect()
}

/// A grouped entity before label mapping: byte span, the model's entity type, mean score.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub start: usize,
    pub end: usize,
    pub entity: usize,
    pub score: f32,
}

/// One word: byte span and the prediction that speaks for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Word {
    pub start: usize,
    pub end: usize,
    pub pred: Prediction,
}

/// Word-level "first" aggregation: a word takes the class of its first token and ends where
/// its last token ends. Its PERSON probability is the highest of its tokens' (a rare name
/// often looks ordinary in its first piece and unmistakable in a later one).
pub fn words(tokens: &[TokenSpan], preds: &[Prediction]) -> Vec<Word> {
    debug_assert_eq!(tokens.len(), preds.len());
    let mut words: Vec<Word> = Vec::new();
    for (t, p) in tokens.iter().zip(preds) {
        match words.last_mut() {
            Some(w) if !t.word_start => {
                w.end = w.end.max(t.end);
                w.pred.person = w.pred.person.max(p.person);
            }
            _ => words.push(Word { start: t.start, end: t.end, pred: *p }),
        }
    }
    words
}

/// Word-level "first" aggregation then BIO grouping (see [`group_words`]).
pub fn group(scheme: &LabelScheme, tokens: &[TokenSpan], preds: &[Prediction]) -> Vec<Group> {
    group_words(scheme, &words(tokens, preds))
}

/// BIO grouping of words. Consecutive words of the same entity type join a group unless the
/// next one begins an entity (B-/S-) or the previous one ended it (E-/S-); "O" words end
/// groups. A group's score is the mean of its words' scores.
pub fn group_words(scheme: &LabelScheme, words: &[Word]) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    // (group, score sum, word count, closed)
    let mut open: Option<(Group, f32, usize)> = None;
    let mut prev_closed = true;
    for &Word { start, end, pred: p } in words {
        let class = &scheme.classes[p.class];
        if class.tag == Tag::Outside {
            if let Some((g, sum, n)) = open.take() {
                out.push(Group { score: sum / n as f32, ..g });
            }
            prev_closed = true;
            continue;
        }
        let continues = matches!(class.tag, Tag::Inside | Tag::End)
            && !prev_closed
            && open.as_ref().is_some_and(|(g, _, _)| g.entity == class.entity);
        if continues {
            if let Some((g, sum, n)) = open.as_mut() {
                g.end = end;
                *sum += p.score;
                *n += 1;
            }
        } else {
            if let Some((g, sum, n)) = open.take() {
                out.push(Group { score: sum / n as f32, ..g });
            }
            open = Some((Group { start, end, entity: class.entity, score: 0.0 }, p.score, 1));
        }
        prev_closed = matches!(class.tag, Tag::End | Tag::Single);
    }
    if let Some((g, sum, n)) = open.take() {
        out.push(Group { score: sum / n as f32, ..g });
    }
    out
}

/// Built-in names of entity types, compared after upper-casing and dropping everything that
/// is not a letter or digit (`phone_number` → `PHONENUMBER`). Covers CoNLL, OntoNotes, the
/// ai4privacy and piiranha PII sets, and docs/interface.md's own labels.
const BUILTIN: &[(&str, Option<Label>)] = &[
    ("PER", Some(Label::Person)),
    ("PERSON", Some(Label::Person)),
    ("NAME", Some(Label::Person)),
    ("FULLNAME", Some(Label::Person)),
    ("FIRSTNAME", Some(Label::Person)),
    ("MIDDLENAME", Some(Label::Person)),
    ("LASTNAME", Some(Label::Person)),
    ("GIVENNAME", Some(Label::Person)),
    ("SURNAME", Some(Label::Person)),
    ("NAMESTUDENT", Some(Label::Person)),
    ("PATIENT", Some(Label::Person)),
    ("DOCTOR", Some(Label::Person)),
    ("ORG", Some(Label::Organization)),
    ("ORGANIZATION", Some(Label::Organization)),
    ("ORGANISATION", Some(Label::Organization)),
    ("COMPANY", Some(Label::Organization)),
    ("COMPANYNAME", Some(Label::Organization)),
    ("LOC", Some(Label::Location)),
    ("LOCATION", Some(Label::Location)),
    ("GPE", Some(Label::Location)),
    ("CITY", Some(Label::Location)),
    ("STATE", Some(Label::Location)),
    ("COUNTY", Some(Label::Location)),
    ("COUNTRY", Some(Label::Location)),
    ("ZIPCODE", Some(Label::Location)),
    ("ZIP", Some(Label::Location)),
    ("POSTCODE", Some(Label::Location)),
    ("NEARBYGPSCOORDINATE", Some(Label::Location)),
    ("FAC", Some(Label::Location)),
    ("STREETADDRESS", Some(Label::StreetAddress)),
    ("STREET", Some(Label::StreetAddress)),
    ("ADDRESS", Some(Label::StreetAddress)),
    ("BUILDINGNUMBER", Some(Label::StreetAddress)),
    ("BUILDINGNUM", Some(Label::StreetAddress)),
    ("SECONDARYADDRESS", Some(Label::StreetAddress)),
    ("EMAIL", Some(Label::Email)),
    ("EMAILADDRESS", Some(Label::Email)),
    ("PHONE", Some(Label::Phone)),
    ("PHONENUMBER", Some(Label::Phone)),
    ("PHONENUM", Some(Label::Phone)),
    ("TELEPHONE", Some(Label::Phone)),
    ("TELEPHONENUM", Some(Label::Phone)),
    ("CREDITCARD", Some(Label::CreditCard)),
    ("CREDITCARDNUMBER", Some(Label::CreditCard)),
    ("CREDITCARDNUM", Some(Label::CreditCard)),
    ("IBAN", Some(Label::Iban)),
    ("USSSN", Some(Label::UsSsn)),
    ("SSN", Some(Label::UsSsn)),
    ("SOCIALNUM", Some(Label::UsSsn)),
    ("NATIONALID", Some(Label::NationalId)),
    ("IDCARDNUM", Some(Label::NationalId)),
    ("IDCARD", Some(Label::NationalId)),
    ("PASSPORT", Some(Label::Passport)),
    ("PASSPORTNUM", Some(Label::Passport)),
    ("PASSPORTNUMBER", Some(Label::Passport)),
    ("DRIVERLICENSE", Some(Label::DriverLicense)),
    ("DRIVERLICENSENUM", Some(Label::DriverLicense)),
    ("DRIVERSLICENSE", Some(Label::DriverLicense)),
    ("IP", Some(Label::IpAddress)),
    ("IPV4", Some(Label::IpAddress)),
    ("IPV6", Some(Label::IpAddress)),
    ("IPADDRESS", Some(Label::IpAddress)),
    ("URL", Some(Label::Url)),
    ("URLPERSONAL", Some(Label::Url)),
    ("DATEOFBIRTH", Some(Label::DateOfBirth)),
    ("DOB", Some(Label::DateOfBirth)),
    ("DATE", Some(Label::Date)),
    ("AGE", Some(Label::Age)),
    ("USERNAME", Some(Label::Username)),
    ("PASSWORD", Some(Label::Password)),
    ("APIKEY", Some(Label::ApiKey)),
    ("CRYPTOADDRESS", Some(Label::CryptoAddress)),
    ("BITCOINADDRESS", Some(Label::CryptoAddress)),
    ("ETHEREUMADDRESS", Some(Label::CryptoAddress)),
    ("LITECOINADDRESS", Some(Label::CryptoAddress)),
    ("MEDICALID", Some(Label::MedicalId)),
    ("ACCOUNTNUMBER", Some(Label::AccountNumber)),
    ("ACCOUNTNUM", Some(Label::AccountNumber)),
    ("BANKACCOUNT", Some(Label::AccountNumber)),
    ("OTHERID", Some(Label::OtherId)),
    ("TAXNUM", Some(Label::OtherId)),
    ("VEHICLEVIN", Some(Label::OtherId)),
    // Not personal data on their own.
    ("MISC", None),
    ("TIME", None),
    ("MONEY", None),
    ("PERCENT", None),
    ("QUANTITY", None),
    ("ORDINAL", None),
    ("CARDINAL", None),
    ("PRODUCT", None),
    ("EVENT", None),
    ("WORKOFART", None),
    ("LAW", None),
    ("LANGUAGE", None),
    ("NORP", None),
];

fn normalize(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

/// Maps each of the model's entity types to a docs/interface.md label (`None`: ignored).
/// `overrides` come from `[detect.labels]` (type name as the model spells it → label or
/// `"none"`). A type neither built in nor overridden maps to OTHER_ID, so that nothing the
/// model flags goes out unmasked; the names of such types are returned for a start-up log.
pub fn map_types(types: &[String], overrides: &BTreeMap<String, Option<Label>>) -> (Vec<Option<Label>>, Vec<String>) {
    let builtin: HashMap<&str, Option<Label>> = BUILTIN.iter().copied().collect();
    let mut unknown = Vec::new();
    let mapped = types
        .iter()
        .map(|t| {
            if let Some(l) = overrides.get(t) {
                return *l;
            }
            if let Some(l) = builtin.get(normalize(t).as_str()) {
                return *l;
            }
            unknown.push(t.clone());
            Some(Label::OtherId)
        })
        .collect();
    (mapped, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scheme(names: &[&str]) -> LabelScheme {
        let m = names.iter().enumerate().map(|(i, n)| (i, n.to_string())).collect();
        LabelScheme::parse(&m).expect("scheme parses")
    }

    /// Words separated by spaces, one token per word unless the word contains `#`, which
    /// splits it into pieces (`Ann#a` = tokens `Ann`, `a`).
    fn tokens(text: &str) -> (String, Vec<TokenSpan>) {
        let mut out = Vec::new();
        let mut clean = String::new();
        for (wi, word) in text.split(' ').enumerate() {
            if wi > 0 {
                clean.push(' ');
            }
            for (pi, piece) in word.split('#').enumerate() {
                let start = clean.len();
                clean.push_str(piece);
                out.push(TokenSpan { start, end: clean.len(), word_start: pi == 0 });
            }
        }
        (clean, out)
    }

    fn run(names: &[&str], text: &str, classes: &[usize]) -> Vec<(String, String)> {
        let s = scheme(names);
        let (clean, toks) = tokens(text);
        let preds: Vec<_> = classes.iter().map(|&c| Prediction { class: c, score: 0.9, person: 0.0 }).collect();
        group(&s, &toks, &preds)
            .into_iter()
            .map(|g| (clean[g.start..g.end].to_string(), s.types[g.entity].clone()))
            .collect()
    }

    const IOB2: &[&str] = &["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];

    #[test]
    fn bio_groups_and_splits_on_begin() {
        let got = run(IOB2, "Anna Smith met Bob in Paris", &[1, 2, 0, 1, 0, 3]);
        assert_eq!(
            got,
            [("Anna Smith".into(), "PER".into()), ("Bob".into(), "PER".into()), ("Paris".into(), "LOC".into())]
        );
        // B B: two entities; I after O starts one (IOB1 / sloppy models).
        let got = run(IOB2, "Anna Bob x Carl", &[1, 1, 0, 2]);
        assert_eq!(got.len(), 3);
        assert_eq!(got[2].0, "Carl");
        // type change splits even on I-.
        let got = run(IOB2, "Anna Paris", &[1, 4]);
        assert_eq!(got, [("Anna".into(), "PER".into()), ("Paris".into(), "LOC".into())]);
    }

    #[test]
    fn first_token_of_a_word_decides_and_the_word_stays_whole() {
        // "Ann#a" is one word: its label is that of "Ann"; the piece "a" (O) does not cut it.
        let got = run(IOB2, "Ann#a Smi#th went", &[1, 0, 2, 3, 0]);
        assert_eq!(got, [("Anna Smith".into(), "PER".into())]);
        // A word whose first token is O is dropped even when its pieces say PER.
        let got = run(IOB2, "x#Anna", &[0, 1]);
        assert!(got.is_empty());
    }

    #[test]
    fn a_word_takes_the_highest_person_probability_of_its_pieces() {
        let (_, toks) = tokens("Gae#ta#ne came");
        let p = |class, person| Prediction { class, score: 0.9, person };
        let w = words(&toks, &[p(0, 0.01), p(2, 0.6), p(0, 0.2), p(0, 0.0)]);
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].pred.class, w[0].pred.person), (0, 0.6));
        assert_eq!(w[1].pred.person, 0.0);
    }

    #[test]
    fn bioes_end_and_single_close_groups() {
        let names = ["O", "B-PER", "I-PER", "E-PER", "S-PER"];
        let got = run(&names, "Anna Maria Smith Bob Carl", &[1, 2, 3, 4, 2]);
        assert_eq!(got.iter().map(|g| g.0.as_str()).collect::<Vec<_>>(), ["Anna Maria Smith", "Bob", "Carl"]);
    }

    #[test]
    fn bare_and_iob1_labels() {
        let names = ["O", "PER", "I-GIVENNAME", "I-SURNAME"];
        let got = run(&names, "Anna Smith and Bob", &[1, 1, 0, 2]);
        assert_eq!(got.iter().map(|g| g.0.as_str()).collect::<Vec<_>>(), ["Anna Smith", "Bob"]);
        let s = scheme(&names);
        assert_eq!(s.types, ["PER", "GIVENNAME", "SURNAME"]);
    }

    #[test]
    fn group_score_is_mean_of_word_scores() {
        let s = scheme(IOB2);
        let (_, toks) = tokens("Anna Smith");
        let preds =
            [Prediction { class: 1, score: 0.6, person: 0.0 }, Prediction { class: 2, score: 1.0, person: 0.0 }];
        let g = group(&s, &toks, &preds);
        assert!((g[0].score - 0.8).abs() < 1e-6);
    }

    #[test]
    fn parse_rejects_gaps() {
        let mut m = BTreeMap::new();
        m.insert(0, "O".to_string());
        m.insert(2, "B-PER".to_string());
        assert!(LabelScheme::parse(&m).is_err());
    }

    #[test]
    fn maps_common_schemes_and_overrides() {
        let types: Vec<String> = ["PER", "MISC", "GIVENNAME", "phone_number", "STREET_ADDRESS", "ZOO_ID", "ORG"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut ov = BTreeMap::new();
        ov.insert("ORG".to_string(), None);
        let (m, unknown) = map_types(&types, &ov);
        assert_eq!(
            m,
            [
                Some(Label::Person),
                None,
                Some(Label::Person),
                Some(Label::Phone),
                Some(Label::StreetAddress),
                Some(Label::OtherId),
                None
            ]
        );
        assert_eq!(unknown, ["ZOO_ID"]);
    }
}
