//! Values named by the keyword before them, for the pattern detector (`super`): national
//! identity, tax and health-insurance numbers ("PAN ABCDE1234F", "Aadhaar: 2345 6789 0124",
//! "BSN 111222333", "codice fiscale RSSMRA85T10A562S", "NHS No. 943 476 5919"), one-time,
//! PIN and card security codes ("OTP 552901", "my PIN is 4821", "CVV 123"), phone and SIM
//! identifiers ("IMEI 490154203237518"), postcodes ("Pincode: 560034", "PLZ 80331") and an
//! age after "turned" or "is" said of a person ("she turned 41", "my son is 7", "he's 52").
//!
//! Validation is the keyword plus the value's shape (length, where letters and digits go),
//! checked on the value with its spaces, dashes, dots and slashes taken out. No check digit
//! is asked for: a number after its keyword is personal even when it was typed with a
//! mistake, and without the keyword a bare run of digits is left to the phone pattern and
//! the model. Keywords that are also common words ("tin", "ein", "rut") count only in
//! capitals; the others in any case ("my pan is abcde1234f"). The value may follow the
//! keyword after a few filler words ("number", "no.", "card", "is", ":", "#").
//!
//! The US SSN has its own pattern (`ssn`), passwords theirs (`secrets`); passports and
//! driving licences are the model's.

use super::{entity, word_end, word_start};
use crate::mask::{Entity, Label};
use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;

/// How a scheme's value must look once separators are taken out and letters upper-cased.
#[derive(Clone, Copy)]
enum Shape {
    /// An anchored regex over `[A-Z0-9]`.
    Exact(&'static str),
    /// Any identifier: 5–20 letters and digits with at least 4 digits, for keywords that
    /// name an id without naming its scheme ("national ID", "tax number").
    Generic,
    /// A postcode: 3–10 letters and digits with at least 2 digits ("SW1A 1AA", "560034").
    Postal,
    /// An age after "turned" or "is" (after a pronoun or a kin noun): 1–119, before the end
    /// of the clause or a word of time ("she turned 41 last week", "my son is 7 and"), not
    /// before a unit ("turned 90 degrees", "she is 5 foot 2").
    Age,
    /// The same after a pronoun with its verb, in one word ("he's 52", "I'm 34").
    AgeSaid,
    /// A one-time or security code: 3–8 digits, or 4–10 letters and digits with at least 2
    /// digits ("A7K2P9"); not a word ("the security code review").
    Code,
}

/// One scheme: its keywords (lower case, words separated by one space; `-` and runs of
/// spaces in the text match that space), whether the keywords count only as written in
/// capitals, the label and the value's shape.
struct Scheme {
    keys: &'static [&'static str],
    capitals_only: bool,
    label: Label,
    shape: Shape,
}

const fn id(keys: &'static [&'static str], shape: Shape) -> Scheme {
    Scheme { keys, capitals_only: false, label: Label::NationalId, shape }
}

const fn caps(keys: &'static [&'static str], shape: Shape) -> Scheme {
    Scheme { keys, capitals_only: true, label: Label::NationalId, shape }
}

const fn health(keys: &'static [&'static str], shape: Shape) -> Scheme {
    Scheme { keys, capitals_only: false, label: Label::MedicalId, shape }
}

const fn secret(keys: &'static [&'static str], shape: Shape) -> Scheme {
    Scheme { keys, capitals_only: false, label: Label::Password, shape }
}

const fn postcode(keys: &'static [&'static str], capitals_only: bool, shape: Shape) -> Scheme {
    Scheme { keys, capitals_only, label: Label::StreetAddress, shape }
}

use Shape::{Age, AgeSaid, Code, Exact, Generic, Postal};

const SCHEMES: &[Scheme] = &[
    // India: PAN, Aadhaar (12 digits; the 16-digit virtual id), voter id (EPIC).
    id(&["pan", "pan card", "pan no", "permanent account number"], Exact("[A-Z]{5}[0-9]{4}[A-Z]")),
    id(&["aadhaar", "aadhar", "aadhaar card", "uidai", "uid", "vid"], Exact("[0-9]{12}|[0-9]{16}")),
    id(&["voter id", "voter id card", "elector's photo identity card"], Exact("[A-Z]{3}[0-9]{7}")),
    caps(&["EPIC"], Exact("[A-Z]{3}[0-9]{7}")),
    // Canada, Brazil, Poland, the Netherlands, Germany.
    id(
        &["sin", "social insurance number", "social insurance no", "nas", "numéro d'assurance sociale"],
        Exact("[0-9]{9}"),
    ),
    id(&["cpf", "cadastro de pessoas físicas"], Exact("[0-9]{11}")),
    id(&["pesel"], Exact("[0-9]{11}")),
    id(&["bsn", "burgerservicenummer", "sofinummer", "sofi nummer"], Exact("[0-9]{8,9}")),
    id(
        &["steuer id", "steuerid", "steueridentifikationsnummer", "steuer identifikationsnummer", "idnr"],
        Exact("[0-9]{11}"),
    ),
    id(&["steuernummer", "steuer nr"], Generic),
    id(&["sozialversicherungsnummer", "rentenversicherungsnummer", "svnr", "sv nummer"], Generic),
    id(&["personalausweis", "personalausweisnummer", "ausweisnummer", "ausweis nr"], Generic),
    // Spain (DNI, NIE, NIF), Portugal (NIF), Argentina (DNI), Italy, France.
    id(&["dni", "nie", "nif", "documento nacional de identidad"], Exact("[XYZKLM]?[0-9]{7,9}[A-Z]?")),
    id(&["codice fiscale"], Exact("[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]")),
    id(
        &[
            "nir",
            "insee",
            "numéro de sécurité sociale",
            "numero de securite sociale",
            "sécurité sociale",
            "securite sociale",
            "carte vitale",
        ],
        Exact("[0-9]{5}(?:[0-9]{2}|2A|2B)[0-9]{6}(?:[0-9]{2})?"),
    ),
    // The Nordic personal numbers (Sweden, Norway, Denmark, Finland, Iceland).
    id(
        &[
            "personnummer",
            "personnr",
            "fødselsnummer",
            "fodselsnummer",
            "cpr",
            "cpr nr",
            "cpr nummer",
            "henkilötunnus",
            "henkilotunnus",
            "hetu",
            "kennitala",
            "personal identity number",
        ],
        Exact("[0-9]{10,12}|[0-9]{6}[A-Y][0-9]{3}[0-9A-Y]"),
    ),
    // Australia (TFN), Hong Kong, Singapore, Mexico, Chile, Romania, Turkey, Bulgaria,
    // Switzerland, Ireland, the United Kingdom, the United States (EIN, ITIN).
    id(&["tfn", "tax file number"], Exact("[0-9]{8,9}")),
    id(&["hkid", "hong kong id", "hong kong identity card"], Exact("[A-Z]{1,2}[0-9]{6}[0-9A]")),
    id(&["nric", "fin"], Exact("[STFGM][0-9]{7}[A-Z]")),
    id(&["curp"], Exact("[A-Z]{4}[0-9]{6}[HMX][A-Z]{5}[0-9A-Z][0-9]")),
    id(&["rfc"], Exact("[A-Z]{3,4}[0-9]{6}[A-Z0-9]{3}")),
    caps(&["RUT", "RUN"], Exact("[0-9]{7,8}[0-9K]")),
    id(&["rol único tributario", "rol unico tributario"], Exact("[0-9]{7,8}[0-9K]")),
    id(&["cnp", "cod numeric personal"], Exact("[1-9][0-9]{12}")),
    id(&["tc kimlik", "t.c. kimlik", "kimlik no", "kimlik numarası", "tckn"], Exact("[1-9][0-9]{10}")),
    id(&["egn"], Exact("[0-9]{10}")),
    id(&["ahv", "avs", "ahv nummer", "numéro avs"], Exact("756[0-9]{10}")),
    id(&["pps", "ppsn", "personal public service"], Exact("[0-9]{7}[A-W][A-IW]?")),
    id(&["national insurance", "nino", "ni number", "ni no"], Exact("[A-Z]{2}[0-9]{6}[A-D]?")),
    id(&["utr", "unique taxpayer reference"], Exact("[0-9]{10}")),
    caps(&["EIN"], Exact("[0-9]{9}")),
    id(&["employer identification number", "itin"], Exact("[0-9]{9}")),
    // East Asia, Israel, South Africa, Nigeria, Belgium, Greece, Croatia, the Baltics,
    // Czechia and Slovakia, former Yugoslavia, Latin America.
    id(&["resident registration number", "rrn", "주민등록번호"], Exact("[0-9]{13}")),
    id(&["individual number", "マイナンバー", "個人番号"], Exact("[0-9]{12}")),
    id(&["身份证", "身份证号", "身份证号码", "resident identity card"], Exact("[0-9]{17}[0-9X]")),
    id(&["teudat zehut"], Exact("[0-9]{8,9}")),
    id(&["south african id", "sa id"], Exact("[0-9]{13}")),
    caps(&["NIN"], Exact("[0-9]{11}")),
    id(&["rijksregisternummer", "numéro national", "registre national", "insz", "niss"], Exact("[0-9]{11}")),
    id(&["amka"], Exact("[0-9]{11}")),
    id(&["afm"], Exact("[0-9]{9}")),
    id(&["oib"], Exact("[0-9]{11}")),
    id(&["isikukood", "asmens kodas", "personas kods"], Exact("[0-9]{11}")),
    id(&["rodné číslo", "rodne cislo"], Exact("[0-9]{9,10}")),
    id(&["jmbg", "emšo", "emso"], Exact("[0-9]{13}")),
    id(&["cédula", "cedula", "cédula de identidad"], Exact("[A-Z]?[0-9]{6,11}")),
    // Ids named without their scheme.
    id(
        &[
            "national id",
            "national id number",
            "national identity",
            "national identity number",
            "national identification number",
            "national identity card",
            "identity card",
            "identity card number",
            "identity number",
            "identity document",
            "id card",
            "id card number",
            "id number",
            "id no",
            "personal id",
            "personal id number",
            "personal number",
            "citizen id",
            "citizen number",
            "citizenship number",
            "government id",
            "state id",
            "carte d'identité",
            "carta d'identità",
            "documento de identidad",
            "número de identidad",
            "numero de identidad",
            "tax id",
            "tax id number",
            "tax identification number",
            "taxpayer id",
            "taxpayer identification number",
            "tax number",
            "tax no",
            "tax reference",
            "social security number",
            "social security no",
        ],
        Generic,
    ),
    caps(&["TIN"], Generic),
    // Health insurance and patient numbers.
    health(&["nhs", "nhs number", "nhs no", "chi number"], Exact("[0-9]{10}")),
    health(
        &[
            "medicare",
            "medicare number",
            "medicare card",
            "medicaid",
            "medicaid id",
            "health card",
            "health card number",
            "ohip",
            "health insurance number",
            "krankenversichertennummer",
            "versichertennummer",
            "tessera sanitaria",
            "medical record number",
            "mrn",
            "patient id",
            "patient number",
        ],
        Generic,
    ),
    // Phone and SIM identifiers: they single out a person's device.
    Scheme {
        keys: &["imei", "imei number", "meid", "imsi"],
        capitals_only: false,
        label: Label::OtherId,
        shape: Exact("[0-9]{14,16}"),
    },
    Scheme {
        keys: &["iccid", "sim number", "sim card number"],
        capitals_only: false,
        label: Label::OtherId,
        shape: Exact("[0-9]{18,22}F?"),
    },
    // One-time, PIN and card security codes: secrets, like a password.
    secret(&["pin", "pin number", "pin no", "card pin", "atm pin"], Exact("[0-9]{4,8}")),
    secret(
        &[
            "otp",
            "one time password",
            "one time code",
            "one time passcode",
            "passcode",
            "pass code",
            "verification code",
            "confirmation code",
            "security code",
            "access code",
            "door code",
            "gate code",
            "alarm code",
            "entry code",
            "unlock code",
            "auth code",
            "authentication code",
            "2fa code",
            "sms code",
            "login code",
            "cvv",
            "cvv2",
            "cvc",
            "cvc2",
            "csc",
        ],
        Code,
    ),
    // Postcodes (always masked: they locate a person).
    postcode(
        &[
            "postcode",
            "post code",
            "postal code",
            "zip code",
            "zipcode",
            "pincode",
            "pin code",
            "postal index number",
            "plz",
            "postleitzahl",
            "code postal",
            "código postal",
            "codigo postal",
            "codice postale",
            "postnummer",
            "postinumero",
            "kod pocztowy",
            "郵便番号",
            "邮编",
            "우편번호",
        ],
        false,
        Postal,
    ),
    postcode(&["zip"], false, Exact("[0-9]{5}(?:[0-9]{3,4})?")),
    // A birthday said as a number.
    Scheme {
        keys: &["turned", "turns", "turning", "turn", "will turn", "just turned", "is", "was", "am"],
        capitals_only: false,
        label: Label::Age,
        shape: Age,
    },
    Scheme {
        keys: &["he's", "she's", "i'm", "he’s", "she’s", "i’m"],
        capitals_only: false,
        label: Label::Age,
        shape: AgeSaid,
    },
    postcode(&["CAP", "CEP"], true, Exact("[0-9]{5}|[0-9]{8}")),
];

/// Words that may stand between a keyword and its value, longest first within each prefix.
const FILLERS: &[&str] = &[
    "numbers", "number", "numéro", "numero", "número", "nummer", "numer", "num", "no.", "nr.", "no", "nr", "n°", "nº",
    "card", "is", "was", "are", "id", "of", "my", "the", "code", "è", "é", "es", "est", "ist", "lautet", "är", "er",
    "jest", ":", "=", "#", "-", "–", "—", "(", ")", ",", ".", "：",
];

/// The word before a generic keyword that makes it some other id ("order ID number 5531").
const NOT_PERSONAL: &[&str] = &[
    "order",
    "ticket",
    "transaction",
    "tracking",
    "invoice",
    "process",
    "request",
    "session",
    "job",
    "build",
    "issue",
    "product",
    "item",
    "booking",
    "shipment",
    "parcel",
    "case",
    "batch",
    "device",
    "serial",
];

/// Every keyword, normalised, with whether it counts only in capitals.
static KEYWORDS: LazyLock<HashMap<String, bool>> =
    LazyLock::new(|| SCHEMES.iter().flat_map(|s| s.keys.iter().map(|k| (normalise(k), s.capitals_only))).collect());

/// Whether `span`, as a whole, is the name of an identity, tax or health number ("Aadhaar",
/// "PESEL", "TC Kimlik No"), perhaps with filler words after it: a span the model read as
/// a name or an address there names no one. Short keywords ("SIN", "RUT") and those that
/// count only in capitals must be written in capitals, as "Sin" and "Rut" are given names.
pub fn names_an_id(span: &str) -> bool {
    let key = normalise(span.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ':' | '.' | '#')));
    let mut key = key.as_str();
    loop {
        if let Some(&capitals) = KEYWORDS.get(key) {
            if !(capitals || key.chars().count() <= 4) {
                return true;
            }
            // The keyword's own words, as written, have no lower-case letter.
            let words = key.split(' ').count();
            return span
                .split(|c: char| c.is_whitespace() || c == '-')
                .filter(|w| !w.is_empty())
                .take(words)
                .all(|w| !w.chars().any(char::is_lowercase));
        }
        match key.rsplit_once(' ') {
            Some((head, last)) if FILLERS.iter().any(|f| f.trim_end_matches('.') == last.trim_end_matches('.')) => {
                key = head
            }
            _ => return false,
        }
    }
}

/// Bytes of `span` taken by a leading name of an identity, tax or health number (see
/// [`names_an_id`]) and the spaces after it; 0 when it does not start with one. The model
/// reads "Aadhaar 4991 1866 5246" as one span at times.
pub fn id_name_prefix(span: &str) -> usize {
    let ends: Vec<usize> = span
        .char_indices()
        .filter(|&(i, c)| c.is_whitespace() && i > 0 && !span[..i].ends_with(char::is_whitespace))
        .map(|(i, _)| i)
        .chain(std::iter::once(span.len()))
        .take(6)
        .collect();
    match ends.into_iter().rev().find(|&end| names_an_id(&span[..end])) {
        Some(end) => end + (span[end..].len() - span[end..].trim_start().len()),
        None => 0,
    }
}

/// Bytes of `span` to keep once a trailing name of an identity, tax or health number and the
/// separators before it are cut ("Gurugram, PIN" keeps "Gurugram"); `span.len()` when it
/// does not end with one.
pub fn without_id_name_suffix(span: &str) -> usize {
    let starts: Vec<usize> = span
        .char_indices()
        .filter(|&(i, c)| !c.is_whitespace() && i > 0 && span[..i].ends_with(char::is_whitespace))
        .map(|(i, _)| i)
        .collect();
    let from = starts.len().saturating_sub(4);
    match starts[from..].iter().find(|&&s| names_an_id(&span[s..])) {
        Some(&s) => span[..s].trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '-')).len(),
        None => span.len(),
    }
}

pub(super) struct KeyedValues {
    keywords: Regex,
    /// Normalised keyword → index into `SCHEMES`.
    schemes: HashMap<String, usize>,
    shapes: Vec<Option<Regex>>,
}

/// Lower case, and every run of spaces or `-` as one space.
fn normalise(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut gap = false;
    for c in key.chars() {
        if c.is_whitespace() || c == '-' {
            gap = true;
            continue;
        }
        if gap && !out.is_empty() {
            out.push(' ');
        }
        gap = false;
        out.extend(c.to_lowercase());
    }
    out
}

/// A regex for one keyword: its words joined by spaces or `-`.
fn key_pattern(key: &str) -> String {
    key.split(' ').map(regex::escape).collect::<Vec<_>>().join(r"[\s\-]+")
}

/// Scripts written without spaces between words: no word boundary is asked for there.
fn unspaced(c: char) -> bool {
    c as u32 >= 0x2E80
}

impl KeyedValues {
    pub(super) fn new() -> Self {
        let mut schemes = HashMap::new();
        let mut any_case = Vec::new();
        let mut capitals = Vec::new();
        for (i, s) in SCHEMES.iter().enumerate() {
            for k in s.keys {
                let prev = schemes.insert(normalise(k), i);
                assert!(prev.is_none(), "keyword {k:?} listed twice; this is a bug");
                if s.capitals_only {
                    capitals.push(*k);
                } else {
                    any_case.push(*k);
                }
            }
        }
        // Longest first: alternation is leftmost-first, and "nhs number" must beat "nhs".
        any_case.sort_by_key(|k| std::cmp::Reverse(k.len()));
        let any_case: Vec<String> = any_case.iter().map(|k| key_pattern(k)).collect();
        let capitals: Vec<String> = capitals.iter().map(|k| key_pattern(k)).collect();
        let pattern = format!("(?i:{})|(?:{})", any_case.join("|"), capitals.join("|"));
        let keywords = Regex::new(&pattern).expect("keyword regex is valid; this is a bug");
        let shapes = SCHEMES
            .iter()
            .map(|s| match s.shape {
                Exact(re) => {
                    Some(Regex::new(&format!("^(?:{re})$")).expect("keyed value shape is valid; this is a bug"))
                }
                Generic | Postal | Code | Age | AgeSaid => None,
            })
            .collect();
        KeyedValues { keywords, schemes, shapes }
    }

    pub(super) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        let mut last_end = 0;
        for m in self.keywords.find_iter(text) {
            let key = m.as_str();
            let first = key.chars().next().unwrap_or(' ');
            let last = key.chars().next_back().unwrap_or(' ');
            if !unspaced(first) && !word_start(text, m.start()) || !unspaced(last) && !word_end(text, m.end()) {
                continue;
            }
            let Some(&i) = self.schemes.get(&normalise(key)) else {
                continue;
            };
            let scheme = &SCHEMES[i];
            if matches!(scheme.shape, Generic) && after_unrelated_word(text, m.start()) {
                continue;
            }
            if matches!(scheme.shape, Age) && !after_person_word(text, m.start()) {
                continue;
            }
            let start = match scheme.shape {
                Age | AgeSaid => skip_age_words(text, m.end()),
                _ => skip_fillers(text, m.end()),
            };
            if start < last_end || !(word_start(text, start) || super::char_before(text, start).is_some_and(unspaced)) {
                continue;
            }
            if let Some(end) = self.value_end(text, start, i) {
                out.push(entity(start, end, scheme.label, 1.0));
                last_end = end;
            }
        }
    }

    /// The end of the longest run of groups from `start` whose letters and digits have the
    /// scheme's shape.
    fn value_end(&self, text: &str, start: usize, scheme: usize) -> Option<usize> {
        let ends = group_ends(text, start);
        ends.iter().rev().copied().find(|&end| {
            let compact: String = text[start..end]
                .bytes()
                .filter(u8::is_ascii_alphanumeric)
                .map(|b| b.to_ascii_uppercase() as char)
                .collect();
            match (&self.shapes[scheme], SCHEMES[scheme].shape) {
                (Some(re), _) => re.is_match(&compact),
                (None, Postal) => postal(&compact),
                (None, Code) => code(&compact),
                (None, Age | AgeSaid) => age(&compact) && ends_clause(&text[end..]),
                (None, _) => generic(&compact),
            }
        })
    }
}

/// 5 to 20 letters and digits, at least 4 of them digits.
fn generic(compact: &str) -> bool {
    (5..=20).contains(&compact.len()) && compact.bytes().filter(u8::is_ascii_digit).count() >= 4
}

/// 3 to 10 letters and digits, at least 2 of them digits.
fn postal(compact: &str) -> bool {
    (3..=10).contains(&compact.len()) && compact.bytes().filter(u8::is_ascii_digit).count() >= 2
}

/// 1 to 119, without a leading zero.
fn age(compact: &str) -> bool {
    !compact.starts_with('0') && compact.parse::<u8>().is_ok_and(|n| (1..120).contains(&n))
}

/// Words after an age that end its clause or say when ("turned 41 last week").
const AFTER_AGE: &[&str] = &[
    "last",
    "this",
    "next",
    "in",
    "on",
    "and",
    "but",
    "so",
    "yesterday",
    "today",
    "tomorrow",
    "recently",
    "soon",
    "years",
    "year",
    "yrs",
    "yo",
    "when",
    "before",
    "after",
    "while",
    "just",
    "already",
    "now",
    "with",
    "going",
];

/// Whether `rest` (the text after an age) starts with the end of the text or the clause, or
/// one of [`AFTER_AGE`].
fn ends_clause(rest: &str) -> bool {
    let rest = rest.trim_start();
    match rest.chars().next() {
        None => true,
        Some('.' | ',' | ';' | '!' | '?' | ')' | '—' | '–') => true,
        Some(c) if c.is_alphabetic() => {
            let word = rest.split(|c: char| !c.is_alphanumeric()).next().unwrap_or_default();
            AFTER_AGE.iter().any(|w| w.eq_ignore_ascii_case(word))
        }
        _ => false,
    }
}

/// 3 to 8 digits, or 4 to 10 letters and digits with at least 2 digits.
fn code(compact: &str) -> bool {
    let digits = compact.bytes().filter(u8::is_ascii_digit).count();
    digits == compact.len() && (3..=8).contains(&digits) || (4..=10).contains(&compact.len()) && digits >= 2
}

/// Words before "turned" that make the number a person's age, besides the kin and
/// relationship nouns of the name lexicon (`ner::lexicon::KIN_CUES`: "my son turns 9"):
/// pronouns and a few nouns for people ("she turned 41", "who turns 90"). "Python turned 30"
/// is no one's age.
const PERSON_WORDS: &[&str] = &[
    "i",
    "ive",
    "she",
    "he",
    "they",
    "we",
    "you",
    "u",
    "who",
    "shes",
    "hes",
    "kid",
    "child",
    "boy",
    "girl",
    "patient",
    "grandmother",
    "grandfather",
    "grandson",
    "granddaughter",
];

/// Whether the word before `start` (skipping "just", "will", the "'ll" of "she'll") is one of
/// [`PERSON_WORDS`] or a kin noun.
fn after_person_word(text: &str, start: usize) -> bool {
    let words = text[..start].rsplit(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’');
    for w in words.filter(|w| !w.is_empty()).take(3) {
        let w: String = w.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase();
        if matches!(w.as_str(), "just" | "will" | "ll" | "already" | "finally" | "recently") {
            continue;
        }
        let w = w.strip_suffix("ll").filter(|r| PERSON_WORDS.contains(r)).unwrap_or(&w);
        return PERSON_WORDS.contains(&w) || crate::ner::lexicon::KIN_CUES.contains(&w);
    }
    false
}

/// True when the word before the keyword names a thing, not a person ("order ID number").
fn after_unrelated_word(text: &str, start: usize) -> bool {
    let before = text[..start].trim_end();
    let word = before.rsplit(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
    NOT_PERSONAL.iter().any(|w| w.eq_ignore_ascii_case(word))
}

/// Past the spaces after an age's verb and one hedge ("she is only 6", "he's almost 40").
fn skip_age_words(text: &str, i: usize) -> usize {
    let rest = &text[i..];
    let trimmed = rest.trim_start();
    let word = trimmed.split(|c: char| !c.is_alphabetic()).next().unwrap_or_default();
    let hedge = ["only", "now", "almost", "nearly", "about", "just", "barely", "already", "over", "under"];
    let skip = if !word.is_empty() && hedge.iter().any(|h| h.eq_ignore_ascii_case(word)) {
        word.len() + trimmed[word.len()..].len() - trimmed[word.len()..].trim_start().len()
    } else {
        0
    };
    i + rest.len() - trimmed.len() + skip
}

/// Past the spaces and filler words after a keyword (at most five fillers, 40 bytes).
fn skip_fillers(text: &str, mut i: usize) -> usize {
    let limit = (i + 40).min(text.len());
    for _ in 0..6 {
        let rest = &text[i..];
        let trimmed = rest.trim_start();
        i += rest.len() - trimmed.len();
        if i >= limit {
            break;
        }
        let Some(f) = FILLERS.iter().find(|f| {
            trimmed.len() >= f.len()
                && trimmed.is_char_boundary(f.len())
                && trimmed[..f.len()].eq_ignore_ascii_case(f)
                && (!f.as_bytes()[f.len() - 1].is_ascii_alphabetic() || word_end(trimmed, f.len()))
        }) else {
            break;
        };
        i += f.len();
    }
    i
}

/// Where each candidate value starting at `start` may end: after each group of ASCII
/// letters and digits. Groups are joined by one `-`, `.` or `/`, or by a space when the
/// next group has a digit (after digits, or after up to three capitals: "QQ 12 34 56 C") or
/// is one capital letter after digits; a check
/// character in brackets ("A123456(7)") is a group too. At most 8 groups and 40 bytes.
fn group_ends(text: &str, start: usize) -> Vec<usize> {
    let b = text.as_bytes();
    let run = |i: usize| b[i..].iter().take_while(|c| c.is_ascii_alphanumeric()).count();
    let mut ends = Vec::new();
    let mut i = start;
    let n = run(i);
    if n == 0 {
        return ends;
    }
    i += n;
    ends.push(i);
    while ends.len() < 8 && i - start < 40 && i < b.len() {
        let prev = &b[i - run_back(b, i)..i];
        let sep = b[i];
        if sep == b'(' || (sep == b' ' && b.get(i + 1) == Some(&b'(')) {
            let o = if sep == b'(' { i } else { i + 1 };
            let n = run(o + 1);
            if (1..=2).contains(&n) && b.get(o + 1 + n) == Some(&b')') {
                ends.push(o + n + 2);
            }
            break;
        }
        if !matches!(sep, b' ' | b'-' | b'.' | b'/') || i + 1 >= b.len() {
            break;
        }
        let n = run(i + 1);
        if n == 0 {
            break;
        }
        let next = &b[i + 1..i + 1 + n];
        // A word before the number is no prefix of it ("and 12345"); "QQ 12 34 56 C" is.
        let prefix_ok =
            prev.iter().any(u8::is_ascii_digit) || prev.len() <= 3 && prev.iter().all(u8::is_ascii_uppercase);
        let joins = sep != b' '
            || prefix_ok && next.iter().any(u8::is_ascii_digit)
            || n == 1 && next[0].is_ascii_uppercase() && prev.iter().all(u8::is_ascii_digit);
        if !joins || !word_end(text, i + 1 + n) {
            break;
        }
        i += 1 + n;
        ends.push(i);
    }
    ends
}

/// Length of the run of ASCII letters and digits that ends at `i`.
fn run_back(b: &[u8], i: usize) -> usize {
    b[..i].iter().rev().take_while(|c| c.is_ascii_alphanumeric()).count()
}

#[cfg(test)]
mod tests {
    use super::super::tests::found;
    use crate::mask::Label;

    fn ids(text: &str) -> Vec<(Label, String)> {
        found(text)
            .into_iter()
            .filter(|(l, _)| {
                matches!(
                    l,
                    Label::NationalId
                        | Label::MedicalId
                        | Label::Password
                        | Label::StreetAddress
                        | Label::Age
                        | Label::OtherId
                )
            })
            .collect()
    }

    #[test]
    fn finds_numbers_after_their_keyword() {
        for (text, label, want) in [
            ("My PAN is ABCDE1234F and", Label::NationalId, "ABCDE1234F"),
            ("my pan card number is abcde1234f.", Label::NationalId, "abcde1234f"),
            ("Aadhaar: 2345 6789 0124.", Label::NationalId, "2345 6789 0124"),
            ("aadhaar no. 2345-6789-0124", Label::NationalId, "2345-6789-0124"),
            ("SIN: 046 454 286 and 12", Label::NationalId, "046 454 286"),
            ("CPF 123.456.789-09", Label::NationalId, "123.456.789-09"),
            ("PESEL 44051401359", Label::NationalId, "44051401359"),
            ("BSN 111222333", Label::NationalId, "111222333"),
            ("meine Steuer-ID: 65929970489", Label::NationalId, "65929970489"),
            ("DNI 12345678Z", Label::NationalId, "12345678Z"),
            ("NIE X-1234567-L", Label::NationalId, "X-1234567-L"),
            ("codice fiscale RSSMRA85T10A562S", Label::NationalId, "RSSMRA85T10A562S"),
            ("Il mio codice fiscale è MRTMTT91D08F205J", Label::NationalId, "MRTMTT91D08F205J"),
            ("Mitt personnummer är 19850615-1234", Label::NationalId, "19850615-1234"),
            ("numéro de sécurité sociale 1 85 05 78 006 084 36", Label::NationalId, "1 85 05 78 006 084 36"),
            ("personnummer 811218-9876", Label::NationalId, "811218-9876"),
            ("henkilötunnus 131052A308T", Label::NationalId, "131052A308T"),
            ("TFN 123 456 782", Label::NationalId, "123 456 782"),
            ("HKID A123456(7)", Label::NationalId, "A123456(7)"),
            ("HKID: A123456 (7) please", Label::NationalId, "A123456 (7)"),
            ("NRIC S1234567D", Label::NationalId, "S1234567D"),
            ("CURP GODE561231HDFRRN09", Label::NationalId, "GODE561231HDFRRN09"),
            ("RFC GODE561231GR8", Label::NationalId, "GODE561231GR8"),
            ("RUT 12.345.678-5", Label::NationalId, "12.345.678-5"),
            ("national insurance number is QQ 12 34 56 C", Label::NationalId, "QQ 12 34 56 C"),
            ("EIN 12-3456789", Label::NationalId, "12-3456789"),
            ("身份证号：11010519491231002X", Label::NationalId, "11010519491231002X"),
            ("national ID 8001015009087", Label::NationalId, "8001015009087"),
            ("tax ID number: 98-7654321", Label::NationalId, "98-7654321"),
            ("NHS No. 943 476 5919", Label::MedicalId, "943 476 5919"),
            ("NHS number 943 476 5919 A patient", Label::MedicalId, "943 476 5919"),
            ("Medicare number 2123 45670 1", Label::MedicalId, "2123 45670 1"),
            ("my PIN is 4821", Label::Password, "4821"),
            ("OTP 552901 expires in 5 min", Label::Password, "552901"),
            ("your verification code is A7K2P9.", Label::Password, "A7K2P9"),
            ("the door code is 4512#", Label::Password, "4512"),
            ("CVV: 123", Label::Password, "123"),
            ("Pincode: 560034", Label::StreetAddress, "560034"),
            ("postcode SW1A 1AA, London", Label::StreetAddress, "SW1A 1AA"),
            ("PLZ 80331 München", Label::StreetAddress, "80331"),
            ("Boston, MA zip 02115", Label::StreetAddress, "02115"),
            ("ZIP: 75534-030", Label::StreetAddress, "75534-030"),
            ("she turned 41 last week", Label::Age, "41"),
            ("IMEI 490154203237518", Label::OtherId, "490154203237518"),
            ("ICCID: 8944 1000 0000 0000 0012", Label::OtherId, "8944 1000 0000 0000 0012"),
            ("My dad turns 70 in May.", Label::Age, "70"),
            ("my son just turned 9!", Label::Age, "9"),
            ("I just turned 47", Label::Age, "47"),
            ("she'll turn 30 soon", Label::Age, "30"),
            ("he will turn 31 next week", Label::Age, "31"),
            ("My birthday is on the weekend. I'll turn 52.", Label::Age, "52"),
            ("my running buddy; he's 52 and runs 5 km", Label::Age, "52"),
            ("My grandmother lives alone, she is 81 and forgets things", Label::Age, "81"),
            ("my son is only 7.", Label::Age, "7"),
            ("I'm 34, female", Label::Age, "34"),
            ("I was 12 when we moved", Label::Age, "12"),
            ("the patient is 67 years old", Label::Age, "67"),
        ] {
            assert_eq!(ids(text), vec![(label, want.to_string())], "{text}");
        }
    }

    #[test]
    fn leaves_look_alikes_and_other_numbers() {
        for text in [
            "RFC 9110 defines HTTP semantics",
            "heat the pan 2 minutes, then 180 degrees for 1234 seconds",
            "the sin of 30 degrees, 12345678 times",
            "order ID number 55310042",
            "run 20000000 iterations",
            "tin 50000 tonnes",
            "ein 12345678 Euro Kredit",
            "NHS 111 is a phone line",
            "the uid 1000 owns it",
            "CPR 2023 guidelines",
            "What is the format of a national ID number?",
            "an id card and 12345 others",
            "the security code review found 3 bugs",
            "pin numpy to 1.26 and pin 13 of the header",
            "zip 2024 files into one",
            "What is the postcode format in Canada?",
            "the arm turned 90 degrees and turns 3 times; you turn 90 degrees left",
            "the page turned 2024 into a record",
            "Python turned 30 in 2021",
            "In 2023 the company turned 25 and grew",
            "she is 5 foot 2 and he's 6 feet",
            "I'm 100% sure; I was 5 minutes late; I am 2 hours away",
            "he is no. 1 and she is number 3 in the queue",
            "it is 42 and the answer is 7.",
            "I'm 3 of 4 and we are 4.",
        ] {
            assert_eq!(ids(text), vec![], "{text}");
        }
    }

    #[test]
    fn names_of_ids_are_known() {
        for span in ["Aadhaar", "PESEL", "TC Kimlik No", "SIN", "RUT", "codice fiscale", "NHS No.", "身份证"] {
            assert!(super::names_an_id(span), "{span}");
        }
        for span in ["Sin", "Rut", "Anna", "Aadhaar Singh", "No", "national", "Jenny Pan"] {
            assert!(!super::names_an_id(span), "{span}");
        }
    }

    #[test]
    fn a_leading_name_of_an_id_is_found() {
        for (span, want) in [
            ("Aadhaar 4991 1866 5246", "Aadhaar "),
            ("PESEL: 44051401359", "PESEL: "),
            ("TC Kimlik No 10000000146", "TC Kimlik No "),
            ("SIN", "SIN"),
            ("Sin Yee", ""),
            ("Anna Pan", ""),
        ] {
            assert_eq!(&span[..super::id_name_prefix(span)], want, "{span}");
        }
    }

    #[test]
    fn a_trailing_name_of_an_id_is_cut() {
        for (span, want) in [
            ("Gurugram, PIN", "Gurugram"),
            ("Anna Kowalska PESEL", "Anna Kowalska"),
            ("Anna Pan", "Anna Pan"),
            ("SIN", "SIN"),
        ] {
            assert_eq!(&span[..super::without_id_name_suffix(span)], want, "{span}");
        }
    }

    #[test]
    fn each_keyword_is_listed_once() {
        // `new` asserts that no keyword is listed twice under different schemes.
        let _ = super::KeyedValues::new();
    }
}
