//! Where the line is (inside the NER detector, after decoding, before spans reach the
//! masker): which model spans are not personal data, and which kind of place a LOCATION
//! is. Masking a word that is not personal data makes the LLM's answer worse and buys no
//! privacy ("translate this into [PERSON_1]"), so:
//!
//! - **group names** (nationalities, languages, ethnic and religious groups:
//!   `scope/groups.txt`) are never PERSON, LOCATION or ORGANIZATION: such a span is
//!   dropped, and so is one made only of group words and terms ("the Ottoman Empire",
//!   "the American Civil War");
//! - **product, technology, brand, unit, celestial and work-of-art names, historical eras
//!   and the largest international and public bodies** (`scope/terms.txt`: "NumPy",
//!   "Kelvin", "Macbeth", "the Cold War", "the European Union", "FIFA") are not PERSON
//!   (nor a company or a place): a PERSON, ORGANIZATION or LOCATION span made only of them,
//!   or that is part of such a listed name ("Cold" of "the Cold War"), is dropped, unless an
//!   honorific stands before it;
//!   common given names (Julia, Ruby, Ada) are not on that list: there the model decides;
//! - months that are not given names, weekdays and holidays are group-like words too;
//! - a PERSON span written all in lower case and made only of common English words that
//!   are not given names (`scope/common.txt`, from `training/common_words.py`) is an
//!   ordinary word ("rice", "soup", "my neighbour"), while "tell mike" stays a name;
//! - a name, organization or place span loses function words at its edges ("LLC and",
//!   "Patagonia so"), and a PERSON span with a capitalized word loses the lower-case common
//!   words at its edges ("Mrs T. [sued]");
//! - a PERSON, ORGANIZATION or LOCATION span without a letter ("Windows 11" → "11") is
//!   dropped;
//! - a LOCATION that is a country, state or province, continent, sea, mountain range or
//!   other large region (`scope/regions.txt`, the HIPAA Safe Harbor line) gets the kind
//!   [`Kind::Region`], left alone by default; every other LOCATION is a [`Kind::Place`]
//!   (cities and smaller: masked). Whether a city is the topic of a question or where
//!   someone lives is not told apart: a city is always masked (the safe side). A span is
//!   looked up with its neighbouring words too, so "South" + "Asia" read as two spans is
//!   one region; a PERSON span that is a region ("Sahara", "Texas") is dropped unless the
//!   region is also a common given name (Georgia, Jordan, India ...);
//! - a number or code the model read (PHONE, NATIONAL_ID, PASSPORT, OTHER_ID ...) covers
//!   the letters and digits glued to it and a `.`/`-`/`/` before a digit: "CPF:
//!   123.[456.789-09]" is masked whole, not from the group where the tokenizer split it;
//! - a DATE or DATE_OF_BIRTH covers whole tokens or nothing: it is widened to the token
//!   it sits in, and kept only when it names a day (a year alone, a month, a weekday, a
//!   duration, a version number or "yesterday" is not a date of birth; a span the model read
//!   without the day or year written next to it, "admitted on 3 [March 2021]", takes them
//!   in first); a timestamp with a time of day (`2024-03-15T10:00:00Z`, log lines) is a machine time,
//!   not a person's date; and a DATE is a person's only where the text ties it to one (a
//!   personal pronoun, a life or service event such as "born", "appointment", "flight", a
//!   title, an `@`, or another personal entity): "Why is the Unix epoch 1 January 1970?" and
//!   "Christmas on January 7" are calendar facts, left alone;
//! - only with the opt-in `[detect] public_figures = "allow"`: a PERSON span that is, as a
//!   whole, a well-known public figure (`scope/public_figures.txt`: "Einstein", "Marie
//!   Curie") is left alone ([`allow_public_figures`]). Off by default: the list cannot tell
//!   the physicist from a private person with the same name;
//! - an AGE next to a month name is the day of a date ("detained on 3 May"): it becomes a
//!   DATE over the day, the month and a year after them, judged by the date rules above;
//! - an AGE is not part of a larger number ("13.8 billion", "Ubuntu 22.04", "6,000"), not
//!   a year or other number of four or more digits ("the 2008 crisis"), not an item
//!   of a list of numbers ("15, 30, 40"), and not a version after a product name ("React
//!   18", "Windows 11": a listed term, and no unit of age after the number); otherwise the
//!   model's reading stands ("I'm 34", "This 79 year old");
//! - a name, organization or place is not **code-shaped**: one token with a run of capitals
//!   before a small letter ("OOMKilled", "ESNext", "KPIs") is an identifier of software or
//!   business (camel case alone is not: "MysticWeb", "McDonald"; hashtags and handles such
//!   as "#AlanPardew" are left to the model);
//! - a legal form alone after an article ("an LLC", "a GmbH") names no company;
//! - the model's structured labels must have their value's shape (the pattern detectors find
//!   the validated formats; the model is the backstop for the rest): an IP address has
//!   three dots or two colons; a password stands after a word that says so ("password",
//!   "PIN", "login", ...) or looks like one (8 or more characters, no space, letters with
//!   digits or symbols), and is not a JSON key; an API key stands after such a word or has
//!   16 or more characters; a passport, national, licence, medical, account or other id has
//!   5 or more letters and digits, a digit unless 7 or more, and is not a year code
//!   ("FY2022"); a street address is not a list of small numbers ("15, 16") nor a version
//!   ("Fortran 90"); a URL has a dot, a slash or a colon, and an e-mail address an "@" or a
//!   written-out "at" or "dot", unless the span is another word than a common one ("HTTPS"
//!   alone is a protocol, while a misread name stays masked);
//! - a code of single letters and digits ("Q3", "H1", "B2B") is not a name or a place.

use crate::mask::{Entity, Kind, Label};
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;

static SCOPE: LazyLock<Scope> = LazyLock::new(Scope::new);

/// Compass and position words stripped before a region look-up ("northern Italy").
const COMPASS: &[&str] = &[
    "north",
    "south",
    "east",
    "west",
    "northern",
    "southern",
    "eastern",
    "western",
    "central",
    "northeast",
    "northwest",
    "southeast",
    "southwest",
    "north-east",
    "north-west",
    "south-east",
    "south-west",
    "northeastern",
    "northwestern",
    "southeastern",
    "southwestern",
    "upper",
    "lower",
    "rural",
    "coastal",
    "mainland",
];

/// Nouns of science, medicine and method that a name before them is part of ("the Doppler
/// effect", "a Turing machine"). Not "test", "chart", "number", "plan", "law" or "case":
/// "Maria Lopez test results", "the Jones case" and "Smith Law LLP" name people and firms,
/// and not "series" ("the Stewart series" of books may be about a family).
const CONCEPT_NOUNS: &[&str] = &[
    "effect",
    "cycle",
    "theorem",
    "principle",
    "equation",
    "equations",
    "sequence",
    "conjecture",
    "paradox",
    "equilibrium",
    "distribution",
    "transform",
    "transformation",
    "algorithm",
    "constant",
    "boson",
    "hypothesis",
    "inequality",
    "lemma",
    "syndrome",
    "disease",
    "curve",
    "diagram",
    "scale",
    "method",
    "machine",
    "integral",
    "coefficient",
    "triangle",
    "interpretation",
    "formula",
    "filter",
    "limit",
];

/// Regions that are also common given names: a PERSON span that is one of these stays.
const NAME_LIKE_REGIONS: &[&str] = &[
    "georgia", "jordan", "chad", "israel", "india", "asia", "florence", "virginia", "carolina", "dakota", "montana",
    "nevada", "kenya", "sierra", "savannah", "siena", "sydney", "victoria", "lorraine", "paris", "america", "china",
    "africa", "austin", "orlando", "phoenix", "eugene", "denver", "madison", "helena", "camden", "kent", "chelsea",
];

/// Lower-case words that do not begin or end a name, an organization or a place.
const EDGE_WORDS: &[&str] = &[
    "a", "an", "and", "or", "but", "so", "to", "of", "in", "on", "at", "for", "with", "from", "by", "as", "is", "are",
    "was", "were", "be", "try", "trying", "use", "using", "via", "vs", "versus", "than", "then", "that", "this",
    "these", "those", "it", "its", "i", "we", "you", "he", "she", "they", "my", "our", "your", "their",
];

/// Titles before a name; a listed term after one is a person ("Dr. Pascal").
const HONORIFICS: &[&str] = &["mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "herr", "frau"];

struct Scope {
    regions: HashSet<String>,
    groups: HashSet<String>,
    terms: HashSet<String>,
    common: HashSet<String>,
    /// Well-known public figures (opt-in: `[detect] public_figures = "allow"`).
    public_figures: HashSet<String>,
    /// A date with a day: numeric with three parts, or a month name next to a day number.
    day_date: Regex,
    /// A date followed by a time of day: a machine timestamp.
    timestamp: Regex,
    /// A month name (or its abbreviation) as a whole word, with the year after it if one
    /// follows, at the start of the text searched.
    month: Regex,
    /// Words before a password or key that say it is one.
    secret_cue: Regex,
    /// A year code ("FY2022", "CY 2023", "2024").
    year_code: Regex,
    /// Words that tie a text to a person: personal pronouns, life and service events.
    personal_cue: Regex,
    /// A year right after a date: ", 2021", " 1984".
    year_after: Regex,
    /// A file name with a common extension ("tsconfig.json", "Cargo.toml", "main.rs").
    file_name: Regex,
}

/// Months that are also given names ("April", "June", "Jan"): a person unless the words
/// around them say month.
const NAME_MONTHS: &[&str] = &["april", "may", "june", "july", "august", "jan"];

fn list(text: &str) -> HashSet<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_lowercase).collect()
}

impl Scope {
    fn new() -> Scope {
        let months = "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|\
                      oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|januar|februar|märz|maerz|mai|juni|juli|oktober|dezember|\
                      janvier|février|fevrier|mars|avril|juin|juillet|août|aout|septembre|octobre|novembre|décembre|\
                      decembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|\
                      noviembre|diciembre|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre";
        let day = r"(?:[12][0-9]|3[01]|0?[1-9])(?:st|nd|rd|th|er|\.|º)?";
        let pattern = format!(
            r"(?ix)
            \b(?:19|20)\d{{2}}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])\b     # 2024-03-15
            | \b(?:0?[1-9]|[12]\d|3[01])[-/](?:0?[1-9]|[12]\d|3[01])[-/](?:19|20)?\d{{2}}\b  # 15/03/2024, 3-15-24
            | \b(?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|1[0-2])\.(?:19|20)\d{{2}}\b          # 15.03.2024
            | \b(?:{months})\.?\s+(?:the\s+)?{day}(?:\D|$)                  # March 15, Sept. 3rd
            | \b{day}\s+(?:of\s+|de\s+)?(?:{months})\b                      # 15 March, 3 de mayo, 1er avril
            "
        );
        Scope {
            regions: list(include_str!("scope/regions.txt")),
            groups: list(include_str!("scope/groups.txt")),
            terms: list(include_str!("scope/terms.txt")),
            common: list(include_str!("scope/common.txt")),
            public_figures: list(include_str!("scope/public_figures.txt")),
            day_date: Regex::new(&pattern).expect("day-date regex is valid; this is a bug"),
            timestamp: Regex::new(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
                .expect("timestamp regex is valid; this is a bug"),
            month: Regex::new(&format!(r"(?i)^(?:{months})\b(?:,?[ \u{{a0}}]+(?:1[0-9]|20)[0-9]{{2}}\b)?"))
                .expect("month regex is valid; this is a bug"),
            secret_cue: Regex::new(
                r"(?i)pass(?:word|wd|code|phrase|wort)?\s*[:=]|passw|passcode|passphrase|\bpwd\b|\bpw\b|\bpin\b|secret|log ?in|sign.?in|credential|kennwort|mot de passe|contrase|senha|\bcode\b|\bkey\b|token|unlock|user",
            )
            .expect("secret-cue regex is valid; this is a bug"),
            personal_cue: Regex::new(
                concat!(
                    r"(?i)\b(?:i|i'm|i’m|me|my|mine|myself|we|us|our|ours|you|your|yours|he|him|his|she|her|hers|they|them|their|theirs",
                    r"|born|birthday|dob|appointment|admitted|admission|discharged|married|wedding|died|funeral|patient|client",
                    r"|customer|employee|hired|visit|visited|arrested|hearing|trial|sentenced|graduated|booked|booking",
                    r"|reservation|flight|interview|surgery|diagnosed|deadline|meeting|anniversary|mr|mrs|ms|dr",
                    // German, French, Spanish, Italian pronouns and events
                    r"|ich|mich|mir|mein|meine|meinen|wir|uns|unser|unsere|du|dein|deine|sie|ihr|ihre|ihm|ihn|er|sein|seine|geboren|termin|herr|frau",
                    r"|je|j'|moi|mon|ma|mes|nous|notre|nos|vous|votre|vos|il|elle|lui|leur|née?|rendez-vous|m\.|mme",
                    r"|yo|mi|mis|nosotros|usted|su|sus|él|ella|nacido|nacida|cita|sr|sra|io|mio|mia|noi|nostro|lei|nato|nata",
                    r")\b|@"
                ),
            )
            .expect("personal-cue regex is valid; this is a bug"),
            file_name: Regex::new(
                r"(?i)^[\w.-]+\.(?:json|jsonc|toml|ya?ml|lock|ini|cfg|conf|env|xml|html?|css|scss|md|rst|txt|csv|tsv|log|js|mjs|cjs|jsx|ts|tsx|py|rs|go|java|kt|rb|php|cc|cpp|hpp|cs|swift|sh|bash|ps1|sql|tf|proto|gradle|dockerfile|exe|dll|so|zip|gz|tar|pdf|docx?|xlsx?|pptx?|png|jpe?g|gif|svg)$",
            )
            .expect("file-name regex is valid; this is a bug"),
            year_after: Regex::new(r"^,?[ \u{a0}]+(?:1[0-9]|20)[0-9]{2}\b").expect("year regex is valid; this is a bug"),
            year_code: Regex::new(r"^(?i:[a-z]{0,3})[- ]?(?:19|20)\d{2}$").expect("year-code regex is valid; this is a bug"),
        }
    }

    fn is_region_name(&self, span: &str) -> bool {
        let name = normalize(span);
        if self.regions.contains(&name) {
            return true;
        }
        let mut words: Vec<&str> = name.split(' ').collect();
        while words.len() > 1 && COMPASS.contains(&words[0]) {
            words.remove(0);
            if self.regions.contains(&words.join(" ")) {
                return true;
            }
        }
        false
    }

    /// Whether the span, alone or with up to two neighbouring words on either side, is a
    /// region ("South" + "Asia", "North" + "America"), or is only compass words.
    fn is_region(&self, text: &str, start: usize, end: usize) -> bool {
        let span = &text[start..end];
        let words: Vec<&str> = span.split_whitespace().collect();
        self.is_region_name(span)
            || (!words.is_empty() && words.iter().all(|w| COMPASS.contains(&w.to_lowercase().as_str())))
            || self.in_region_phrase(text, start, end)
    }

    /// Whether the span with up to two neighbouring words on either side is a region.
    fn in_region_phrase(&self, text: &str, start: usize, end: usize) -> bool {
        let span = &text[start..end];
        let before: Vec<&str> = text[..start].split_whitespace().rev().take(2).collect();
        let after: Vec<&str> = text[end..].split_whitespace().take(2).collect();
        for b in 0..=before.len() {
            for a in 0..=after.len() {
                if a == 0 && b == 0 {
                    continue;
                }
                let mut phrase: Vec<&str> = before[..b].iter().rev().copied().collect();
                phrase.push(span);
                phrase.extend(&after[..a]);
                if self.is_region_name(&phrase.join(" ")) {
                    return true;
                }
            }
        }
        false
    }

    /// Whether the span with up to three neighbouring words on either side is, as a whole, a
    /// listed term or group name: the model often reads only part of a long name ("Cold" of
    /// "the Cold War", "Human Rights" of "the European Court of Human Rights").
    fn in_known_phrase(&self, text: &str, start: usize, end: usize) -> bool {
        // Where the up to 3 words before and after the span begin and end; a part glued to
        // the span ("Dunning-" of "Dunning-Kruger", "'s" of "Ohm's law") is a word of its own,
        // and the phrase is cut from the text so that it keeps it glued.
        let mut starts = Vec::new();
        let mut i = start;
        while starts.len() < 3 {
            let head = text[..i].trim_end();
            if head.is_empty() {
                break;
            }
            i = head.rfind(char::is_whitespace).map_or(0, |k| k + head[k..].chars().next().map_or(1, char::len_utf8));
            starts.push(i);
        }
        let mut ends = Vec::new();
        let mut j = end;
        while ends.len() < 3 {
            let tail = &text[j..];
            let rest = tail.trim_start();
            if rest.is_empty() {
                break;
            }
            j += tail.len() - rest.len() + rest.find(char::is_whitespace).unwrap_or(rest.len());
            ends.push(j);
        }
        for b in 0..=starts.len() {
            for a in 0..=ends.len() {
                let from = if b == 0 { start } else { starts[b - 1] };
                let to = if a == 0 { end } else { ends[a - 1] };
                let name = normalize(&text[from..to]);
                let words: Vec<&str> = name.split(' ').collect();
                let skip = words.iter().take_while(|w| COMPASS.contains(w)).count();
                let name = words[skip..].join(" ");
                if name.contains(' ') && (self.terms.contains(&name) || self.groups.contains(&name)) {
                    return true;
                }
                // "American Civil" of "the American Civil War": the phrase is made of listed
                // words and phrases ("American" + "civil war").
                if (a > 0 || b > 0) && name.contains(' ') && self.all_in_either(&name) {
                    return true;
                }
            }
        }
        false
    }

    /// Whether every word of `span` (or the whole of it) is in `set`, plurals included.
    fn all_in(&self, set: &HashSet<String>, span: &str) -> bool {
        let name = normalize(span);
        if name.is_empty() {
            return false;
        }
        if set.contains(&name) {
            return true;
        }
        // "Vietnamese-American" is two group names.
        name.split([' ', '-']).all(|w| {
            set.contains(w)
                || w.strip_suffix("es").is_some_and(|b| set.contains(b))
                || w.strip_suffix('s').is_some_and(|b| set.contains(b))
        })
    }

    /// Whether a span is made only of group names, region names and terms, words or listed
    /// phrases, with at least one that is not a region ("Ottoman Empire", "American Civil
    /// War" = "American" + "civil war", "the Mali Empire" = a region + "empire"): a group's or
    /// a country's empire, war or era names no one. A span of regions alone is a place.
    fn all_in_either(&self, span: &str) -> bool {
        let name = normalize(span);
        let words: Vec<&str> = name.split(' ').filter(|w| !w.is_empty()).collect();
        let in_set = |set: &HashSet<String>, w: &str| {
            set.contains(w)
                || w.strip_suffix("es").is_some_and(|b| set.contains(b))
                || w.strip_suffix('s').is_some_and(|b| set.contains(b))
        };
        let covers = |known: &dyn Fn(&str) -> bool| {
            // covered[i]: the first i words are a sequence of known words and phrases (of up to 4 words)
            let mut covered = vec![false; words.len() + 1];
            covered[0] = true;
            for i in 0..words.len() {
                if !covered[i] {
                    continue;
                }
                for j in i + 1..=words.len().min(i + 4) {
                    if known(&words[i..j].join(" ")) {
                        covered[j] = true;
                    }
                }
            }
            !words.is_empty() && covered[words.len()]
        };
        covers(&|w| [&self.groups, &self.terms, &self.regions].iter().any(|set| in_set(set, w)))
            && !covers(&|w| in_set(&self.regions, w))
    }

    /// Whether every word of a (lower-case) span is a common word that is not a given name.
    fn all_common(&self, span: &str) -> bool {
        let mut words = span
            .split(|c: char| c.is_whitespace() || c == '-')
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
            .filter(|w| !w.is_empty())
            .peekable();
        words.peek().is_some() && words.all(|w| self.common.contains(w))
    }

    /// Whether a one-word span stands before a noun of science, medicine or method, written
    /// in lower case right after it: "the Doppler effect", "a Turing machine", "the Krebs
    /// cycle", "Down syndrome". There the name is part of a concept's name and points at no
    /// one. Only the attributive form: "Sarah's test" and "Tom's method" are a person's, and
    /// the possessive eponyms ("Ohm's law") are listed phrases in `scope/terms.txt`.
    fn before_concept_noun(text: &str, start: usize, end: usize) -> bool {
        let span = &text[start..end];
        if !span.chars().next().is_some_and(char::is_uppercase) || !span.chars().all(|c| c.is_alphabetic() || c == '-')
        {
            return false;
        }
        // A hashtag or handle is a name of its own ("the #StewartRealty series").
        if text[..start].ends_with(['#', '@']) {
            return false;
        }
        let Some(rest) = text[end..].strip_prefix(' ') else { return false };
        let noun = rest.split(|c: char| !c.is_alphabetic()).next().unwrap_or_default();
        CONCEPT_NOUNS.contains(&noun)
    }

    fn after_honorific(text: &str, start: usize) -> bool {
        let before = text[..start].trim_end();
        let word = before.rsplit(|c: char| c.is_whitespace()).next().unwrap_or_default();
        let word = word.trim_end_matches('.');
        HONORIFICS.iter().any(|h| word.eq_ignore_ascii_case(h))
    }

    /// An AGE span that is really part of other numbers (module doc).
    fn is_other_number(text: &str, start: usize, end: usize) -> bool {
        let b = text.as_bytes();
        // Part of a larger number: a separator and a digit right before or after.
        let glued_after =
            b.get(end).is_some_and(|c| matches!(c, b'.' | b',')) && b.get(end + 1).is_some_and(u8::is_ascii_digit);
        let glued_before = start >= 2 && matches!(b[start - 1], b'.' | b',') && b[start - 2].is_ascii_digit();
        let long = text[start..end].split(|c: char| !c.is_ascii_digit()).any(|run| run.len() >= 4);
        glued_after || glued_before || long || Self::in_number_list(text, start, end)
    }

    /// Whether `start..end` is an item of a list of numbers: "15, 30, 40".
    fn in_number_list(text: &str, start: usize, end: usize) -> bool {
        let before = text[..start].trim_end();
        let after = text[end..].trim_start();
        (before.ends_with(',') && before[..before.len() - 1].trim_end().ends_with(|c: char| c.is_ascii_digit()))
            || (after.starts_with(',') && after[1..].trim_start().starts_with(|c: char| c.is_ascii_digit()))
    }

    /// Whether a name, organization or place span sits in a file name ("tsconfig.json",
    /// "Cargo.toml"): a token of word characters, dots and dashes ending in a file extension
    /// of two letters or more (".c" and ".h" would take in "D.C.").
    fn in_file_name(&self, text: &str, start: usize, end: usize) -> bool {
        let (s, t) = whole_token(text, start, end);
        self.file_name.is_match(text[s..t].trim_matches(|c: char| matches!(c, '`' | '"' | '\'' | '(' | ')')))
    }

    /// A one-token name, organization or place shaped like an identifier (module doc): a
    /// run of capitals, then a small letter ("OOMKilled"). Camel case is not enough: company
    /// names ("MysticWeb") and OCR'd names ("LoUcheur") look like that. A hashtag or handle
    /// is left to the model ("#AlanPardew").
    fn code_shaped(text: &str, start: usize, end: usize) -> bool {
        let span = &text[start..end];
        if span.chars().any(char::is_whitespace) || text[..start].ends_with(['#', '@']) {
            return false;
        }
        let chars: Vec<char> = span.chars().collect();
        chars.windows(3).any(|w| w[0].is_uppercase() && w[1].is_uppercase() && w[2].is_lowercase())
    }

    /// A legal form alone after an article or determiner ("an LLC", "our GmbH"); after a
    /// name ("Aunt Bertha Inc") it is part of that company's name.
    fn generic_legal_form(text: &str, start: usize, span: &str) -> bool {
        const FORMS: &[&str] = &["llc", "llp", "ltd", "inc", "plc", "gmbh", "ag", "sarl", "sas", "bv", "nv", "corp"];
        const DETERMINERS: &[&str] =
            &["a", "an", "the", "our", "my", "your", "their", "his", "her", "this", "that", "each", "every", "any"];
        let prev = text[..start].split_whitespace().next_back().map(str::to_lowercase);
        FORMS.contains(&normalize(span).trim_end_matches('.'))
            && prev.is_some_and(|p| DETERMINERS.contains(&p.as_str()))
    }

    /// A code of single letters and digits ("Q3", "H1", "B2B", "A4"): a quarter, a size, a
    /// model, never a name.
    fn letter_code(span: &str) -> bool {
        let digit = span.chars().any(|c| c.is_ascii_digit());
        let longest_letters =
            span.split(|c: char| !c.is_alphabetic()).map(|run| run.chars().count()).max().unwrap_or(0);
        digit && longest_letters <= 1 && !span.contains(char::is_whitespace)
    }

    /// A month that is also a given name, after a preposition of time ("in April", "since
    /// June"): a date, not a person.
    fn is_month_after_preposition(&self, text: &str, start: usize, end: usize) -> bool {
        // Not "by", "from" or "of": "a letter from April", "a song by June" are people.
        const TIME_WORDS: &[&str] = &[
            "in", "since", "until", "till", "through", "during", "early", "late", "mid", "last", "next", "each",
            "every",
        ];
        let span = normalize(&text[start..end]);
        let prev = text[..start].split_whitespace().next_back().map(str::to_lowercase);
        NAME_MONTHS.contains(&span.as_str()) && prev.is_some_and(|p| TIME_WORDS.contains(&p.as_str()))
    }

    /// A month that is also a given name in a range of months ("Jan through Dec", "from
    /// April to June"): a date, not a person. The other end is any month `self.month` knows.
    fn is_month_in_range(&self, text: &str, start: usize, end: usize) -> bool {
        const RANGE: &[&str] = &["through", "thru", "to", "until", "till", "-", "–", "—"];
        if !NAME_MONTHS.contains(&normalize(&text[start..end]).as_str()) {
            return false;
        }
        // The word next to the span is a range word, and the one after it a month.
        let range = |mut words: Box<dyn Iterator<Item = &str> + '_>| {
            words.next().is_some_and(|w| RANGE.contains(&w.to_lowercase().as_str()))
                && words.next().is_some_and(|w| self.month.is_match(w))
        };
        range(Box::new(text[end..].split_whitespace())) || range(Box::new(text[..start].split_whitespace().rev()))
    }

    /// A one-word span joined by "or", "and", "vs" or "/" to a listed term written with a
    /// capital ("Julia or Python", "Ruby vs Go", "Python/Julia"): a given name that is also a
    /// language or tool, named beside another one ("tell Anna and go home" is no such pair).
    fn beside_a_term(&self, text: &str, start: usize, end: usize) -> bool {
        const JOINS: &[&str] = &["or", "and", "vs", "vs.", "versus", "&", "/"];
        let span = &text[start..end];
        if span.contains(char::is_whitespace) {
            return false;
        }
        let term = |w: &str| {
            let w = w.trim_matches(|c: char| !c.is_alphanumeric() && c != '+' && c != '#');
            w.starts_with(char::is_uppercase) && self.terms.contains(&normalize(w))
        };
        // The two words after and before (within 64 bytes), with "/" cut off as a word of its own.
        let split = |t: &str| -> Vec<String> { t.replace('/', " / ").split_whitespace().map(str::to_owned).collect() };
        let near = |at: usize, forward: bool| {
            let mut i = if forward { (at + 64).min(text.len()) } else { at.saturating_sub(64) };
            while !text.is_char_boundary(i) {
                i = if forward { i + 1 } else { i - 1 };
            }
            if forward {
                &text[at..i]
            } else {
                &text[i..at]
            }
        };
        let after = split(near(end, true));
        let mut before = split(near(start, false));
        before.reverse();
        let joined = |ws: &[String]| {
            ws.first().is_some_and(|j| JOINS.contains(&j.to_lowercase().as_str())) && ws.get(1).is_some_and(|w| term(w))
        };
        joined(&after) || joined(&before)
    }

    /// Whether a model span of a structured label has its value's shape (module doc).
    fn has_value_shape(&self, text: &str, e: &Entity) -> bool {
        let span = &text[e.start..e.end];
        let alnum = span.chars().filter(|c| c.is_alphanumeric()).count();
        let digit_count = span.chars().filter(char::is_ascii_digit).count();
        let digit = digit_count > 0;
        let cue = || {
            let from = text[..e.start].char_indices().rev().nth(79).map_or(0, |(i, _)| i);
            self.secret_cue.is_match(&text[from..e.start])
        };
        match e.label {
            Label::IpAddress => {
                span.parse::<std::net::IpAddr>().is_ok()
                    || span.matches('.').count() >= 3
                    || span.matches(':').count() >= 2
            }
            Label::Password => {
                let json_key = text[e.end..].trim_start_matches(['"', '\'']).trim_start().starts_with(':')
                    && text[..e.start].ends_with(['"', '\'']);
                let classes = [
                    span.chars().any(char::is_lowercase),
                    span.chars().any(char::is_uppercase),
                    digit,
                    span.chars().any(|c| !c.is_alphanumeric() && !c.is_whitespace()),
                ];
                let shaped = span.chars().count() >= 8
                    && !span.chars().any(char::is_whitespace)
                    && classes.iter().filter(|c| **c).count() >= 2
                    && (classes[2] || classes[3]);
                !json_key && (shaped || cue())
            }
            Label::ApiKey => span.chars().count() >= 16 || cue(),
            Label::Passport
            | Label::NationalId
            | Label::DriverLicense
            | Label::OtherId
            | Label::MedicalId
            | Label::AccountNumber => alnum >= 5 && (digit || alnum >= 7) && !self.year_code.is_match(span),
            // "15, 16" of a list of numbers; a lone number may be the house number the model
            // split from its street ("Kolonakiou 14"), a longer one a postcode.
            Label::StreetAddress if !span.chars().any(char::is_alphabetic) => {
                let listed = span.contains(',')
                    && span.split(',').all(|n| n.trim().len() <= 2 && n.trim().chars().all(|c| c.is_ascii_digit()));
                !listed && !Self::in_number_list(text, e.start, e.end) && !self.is_version(text, e.start, e.end)
            }
            // A phone number has no letters unless it has seven digits or more ("+ 3x + 2" of
            // a formula is not one; "40001" may be a postcode the model misread).
            Label::Phone => digit_count >= 7 || !span.chars().any(char::is_alphabetic),
            // A URL has a dot, a slash or a colon, an e-mail address an "@" or an "at" or "dot"
            // written out ("jane at example dot com"); without them, a common word is not one
            // ("HTTPS" names a protocol, "apps" a folder), while another word stays masked (it
            // may be a name or a handle the model misread).
            Label::Url => {
                span.contains(['.', '/', ':']) || spelled_out(span, &["dot"]) || !self.all_common(&span.to_lowercase())
            }
            Label::Email => {
                span.contains('@') || spelled_out(span, &["at", "dot"]) || !self.all_common(&span.to_lowercase())
            }
            _ => true,
        }
    }

    /// An AGE right after a listed product or technology name: its version ("React 18",
    /// "Windows 11"), unless a unit of age follows ("Python 3 years old" stays an age).
    fn is_version(&self, text: &str, start: usize, end: usize) -> bool {
        let before = &text[..start];
        if !before.ends_with(' ') {
            return false; // glued to something else
        }
        let word = before.trim_end().rsplit(|c: char| c.is_whitespace()).next().unwrap_or_default();
        let after = text[end..].trim_start_matches([' ', '-']).to_lowercase();
        let unit = ["year", "yr", "yo", "y/o", "month"].iter().any(|u| after.starts_with(u));
        !unit && self.terms.contains(&normalize(word))
    }

    /// Cuts function words off the edges of a name, organization or place span.
    fn trim_edges(text: &str, e: &mut Entity) {
        loop {
            let span = &text[e.start..e.end];
            let Some((first, rest)) = span.split_once(char::is_whitespace) else { break };
            if !EDGE_WORDS.contains(&first) {
                break;
            }
            e.start = e.end - rest.trim_start().len();
        }
        loop {
            let span = &text[e.start..e.end];
            let Some((rest, last)) = span.rsplit_once(char::is_whitespace) else { break };
            if !EDGE_WORDS.contains(&last) {
                break;
            }
            e.end = e.start + rest.trim_end().len();
        }
    }

    /// An AGE next to a month name is the day of a date ("detained on [3] May", "May [3]"):
    /// it becomes a DATE over the day and the month (and the model's DATE on the month
    /// alone goes into it), for the date rules to judge as a whole.
    fn ages_in_dates(&self, text: &str, ents: &mut Vec<Entity>) {
        let mut merged = Vec::new();
        for e in ents.iter_mut().filter(|e| e.label == Label::Age) {
            let after = &text[e.end..];
            let gap = after.len() - after.trim_start_matches([' ', '\u{a0}']).len();
            let before = text[..e.start].trim_end_matches([' ', '\u{a0}']);
            let prev_word = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
            if gap > 0 && gap <= 2 {
                if let Some(m) = self.month.find(&after[gap..]) {
                    e.end += gap + m.end();
                    e.label = Label::Date;
                }
            } else if before.len() < e.start
                && self.month.find(&before[prev_word..]).is_some_and(|m| m.end() + prev_word == before.len())
            {
                e.start = prev_word;
                e.label = Label::Date;
            }
            if e.label == Label::Date {
                merged.push((e.start, e.end));
            }
        }
        ents.retain(|e| {
            !(e.label == Label::Date
                && merged.iter().any(|&(s, t)| s <= e.start && e.end <= t && (s, t) != (e.start, e.end)))
        });
    }

    /// Widens a DATE to the day written next to it: the model may read "March 2021" of "on 3
    /// March 2021" and leave the day out, and a month and year alone are not a person's date.
    /// A day-level date (the `day_date` pattern) that overlaps the span or ends right before
    /// it (", " at most between) becomes part of it, and so does a year right after it.
    fn widen_to_day(&self, text: &str, e: &mut Entity) {
        // (`str::floor_char_boundary` is newer than the MSRV.)
        let mut lo = e.start.saturating_sub(24);
        while !text.is_char_boundary(lo) {
            lo -= 1;
        }
        let mut hi = (e.end + 24).min(text.len());
        while !text.is_char_boundary(hi) {
            hi += 1;
        }
        // `find_at` on the text cut only at the end keeps the word boundary before `lo` right.
        let mut pos = lo;
        while let Some(m) = self.day_date.find_at(&text[..hi], pos) {
            pos = m.end().max(pos + 1);
            let start = m.start();
            // The pattern may take one character after the day ("March 15,"): not that.
            let end = start + m.as_str().trim_end_matches(|c: char| !c.is_alphanumeric()).len();
            let touches = end <= e.start && text[end..e.start].chars().all(|c| matches!(c, ' ' | ',' | '\u{a0}'));
            let one_line = !text[start.min(e.start)..end.max(e.end)].contains('\n');
            if one_line && start < e.end && (end > e.start || touches) {
                e.start = e.start.min(start);
                e.end = e.end.max(end);
            }
            if pos >= hi || !text.is_char_boundary(pos) {
                break;
            }
        }
        // And the year written right after the day and month ("3 March" + " 2021").
        if let Some(m) = self.year_after.find(&text[e.end..]) {
            e.end += m.end();
        }
    }

    /// Cuts lower-case common words (not particles) off the edges of a PERSON span that has a
    /// capitalized word: "Mrs T. [sued]", "[ask] Peter".
    fn trim_common_edges(&self, text: &str, e: &mut Entity) {
        const KEEP: &[&str] = &["van", "von", "del", "della", "der", "den", "ter", "ten", "bin", "ibn", "dos"];
        let common = |w: &str| w.chars().all(char::is_lowercase) && self.common.contains(w) && !KEEP.contains(&w);
        if !text[e.start..e.end].chars().any(char::is_uppercase) {
            return;
        }
        while let Some((first, rest)) = text[e.start..e.end].split_once(char::is_whitespace) {
            if !common(first) {
                break;
            }
            e.start = e.end - rest.trim_start().len();
        }
        while let Some((rest, last)) = text[e.start..e.end].rsplit_once(char::is_whitespace) {
            if !common(last) {
                break;
            }
            e.end = e.start + rest.trim_end().len();
        }
    }

    /// Applies the rules above to one text's model spans.
    fn apply(&self, text: &str, ents: &mut Vec<Entity>) {
        self.ages_in_dates(text, ents);
        // Whether anything in the text ties it to a person (a date then is theirs).
        ents.retain_mut(|e| {
            if matches!(e.label, Label::Person | Label::Location | Label::Organization) {
                Self::trim_edges(text, e);
            }
            if e.label == Label::Person {
                self.trim_common_edges(text, e);
            }
            // "Aadhaar", "PESEL", "PIN" name no one: the pattern detector masks the number
            // after them. An ORGANIZATION only right before a number ("CPF 482.193.660-27"):
            // "the NHS" is also a body.
            if e.label == Label::Organization {
                let span = &text[e.start..e.end];
                let after = text[e.end..].trim_start_matches(|c: char| c.is_whitespace() || matches!(c, ':' | '#'));
                if crate::mask::patterns::names_an_id(span) && after.starts_with(|c: char| c.is_ascii_digit()) {
                    return false;
                }
            } else {
                let n = crate::mask::patterns::id_name_prefix(&text[e.start..e.end]);
                if n >= e.len() {
                    return false;
                }
                e.start += n;
                let keep = crate::mask::patterns::without_id_name_suffix(&text[e.start..e.end]);
                if keep == 0 {
                    return false;
                }
                e.end = e.start + keep;
            }
            let span = &text[e.start..e.end];
            if !self.has_value_shape(text, e) {
                return false;
            }
            match e.label {
                Label::Person | Label::Location | Label::Organization if !span.chars().any(char::is_alphabetic) => {
                    false
                }
                Label::Person | Label::Location | Label::Organization if Self::letter_code(span) => false,
                Label::Person | Label::Location | Label::Organization if self.in_file_name(text, e.start, e.end) => {
                    false
                }
                Label::Organization if Self::generic_legal_form(text, e.start, span) => false,
                Label::Person | Label::Location | Label::Organization
                    if Self::code_shaped(text, e.start, e.end) && !Self::after_honorific(text, e.start) =>
                {
                    false
                }
                Label::Person if self.is_month_after_preposition(text, e.start, e.end) => false,
                Label::Person if self.is_month_in_range(text, e.start, e.end) => false,
                Label::Person | Label::Location | Label::Organization
                    if self.beside_a_term(text, e.start, e.end) && !Self::after_honorific(text, e.start) =>
                {
                    false
                }
                Label::Person | Label::Location if self.all_in(&self.groups, span) => false,
                Label::Person | Label::Location | Label::Organization
                    if self.all_in(&self.terms, span) && !Self::after_honorific(text, e.start) =>
                {
                    false
                }
                Label::Organization if self.all_in(&self.groups, span) || self.is_region(text, e.start, e.end) => false,
                Label::Person | Label::Location | Label::Organization
                    if (self.in_known_phrase(text, e.start, e.end)
                        || Self::before_concept_noun(text, e.start, e.end))
                        && !Self::after_honorific(text, e.start) =>
                {
                    false
                }
                Label::Person | Label::Location | Label::Organization
                    if self.all_in_either(span) && !Self::after_honorific(text, e.start) =>
                {
                    false
                }
                Label::Person if self.in_region_phrase(text, e.start, e.end) => false,
                Label::Person if !span.chars().any(char::is_uppercase) && self.all_common(span) => false,
                Label::Person => !self.is_region_name(span) || NAME_LIKE_REGIONS.contains(&normalize(span).as_str()),
                Label::Location => {
                    e.kind = if self.is_region(text, e.start, e.end) { Kind::Region } else { Kind::Place };
                    true
                }
                Label::Date | Label::DateOfBirth => {
                    self.widen_to_day(text, e);
                    let (start, end) = whole_token(text, e.start, e.end);
                    if self.timestamp.is_match(&text[start..end])
                        || !self.day_date.is_match(&text[e.start.min(start)..end])
                    {
                        return false;
                    }
                    e.start = start;
                    e.end = end;
                    true
                }
                Label::Age => !Self::is_other_number(text, e.start, e.end) && !self.is_version(text, e.start, e.end),
                Label::Phone
                | Label::CreditCard
                | Label::Iban
                | Label::UsSsn
                | Label::NationalId
                | Label::Passport
                | Label::DriverLicense
                | Label::MedicalId
                | Label::AccountNumber
                | Label::OtherId => {
                    (e.start, e.end) = whole_number(text, e.start, e.end);
                    true
                }
                _ => true,
            }
        });
        // A calendar date: nothing that stayed ties the text to a person (the text is only
        // searched when it has a date).
        if ents.iter().any(|e| e.label == Label::Date) {
            let personal = ents.iter().any(|e| !matches!(e.label, Label::Date | Label::Location | Label::Organization))
                || self.personal_cue.is_match(text);
            if !personal {
                ents.retain(|e| e.label != Label::Date);
            }
        }
        // Widening may have made neighbours overlap: keep the first of each overlap.
        let mut last_end = 0;
        ents.retain(|e| {
            let keep = e.start >= last_end;
            if keep {
                last_end = e.end;
            }
            keep
        });
    }
}

/// Builds the word lists and patterns now (at model load) rather than on the first request.
pub fn warm() {
    LazyLock::force(&SCOPE);
}

/// Whether `word` (any case) is a common English word that is not a given name
/// (`scope/common.txt`).
pub fn is_common_word(word: &str) -> bool {
    SCOPE.common.contains(&word.to_lowercase())
}

/// Whether `word` (any case) is a month (in the languages of the date rule, abbreviated or
/// not), a weekday or another group name (`scope/groups.txt`: nationalities, languages,
/// holidays).
pub fn is_calendar_or_group_word(word: &str) -> bool {
    SCOPE.groups.contains(&word.to_lowercase()) || SCOPE.month.is_match(word)
}

/// Whether `text` (any case), as a whole, is a listed product, technology or other term
/// (`scope/terms.txt`: "Debian", "Kotlin").
pub fn is_listed_term(text: &str) -> bool {
    SCOPE.terms.contains(&normalize(text))
}

/// Drops model spans that are not personal data and sets LOCATION kinds (module doc).
pub fn apply(text: &str, ents: &mut Vec<Entity>) {
    SCOPE.apply(text, ents);
}

/// Drops PERSON spans that name a well-known public figure (`[detect] public_figures =
/// "allow"`): the whole span, normalized, must be on the list ("Einstein's" yes, "Tom
/// Einstein" no).
pub fn allow_public_figures(text: &str, ents: &mut Vec<Entity>) {
    ents.retain(|e| e.label != Label::Person || !SCOPE.public_figures.contains(&normalize(&text[e.start..e.end])));
}

/// Whether one of `words` stands in `span` as a word of its own, in any case, or in
/// brackets ("(at)", "[dot]").
fn spelled_out(span: &str, words: &[&str]) -> bool {
    span.split(|c: char| !c.is_alphanumeric()).any(|w| words.iter().any(|x| w.eq_ignore_ascii_case(x)))
}

/// Lower case, inner whitespace collapsed, a leading "the" and a trailing possessive or
/// punctuation removed.
fn normalize(span: &str) -> String {
    let lower = span.to_lowercase().replace('’', "'");
    let lower = lower.trim_start_matches(['(', '"', '\'', '“', '‘', '[']);
    let mut words: Vec<&str> = lower.split_whitespace().collect();
    if words.len() > 1 && words[0] == "the" {
        words.remove(0);
    }
    let joined = words.join(" ");
    let trimmed = joined.trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '"', '\'']);
    trimmed.strip_suffix("'s").or_else(|| trimmed.strip_suffix("’s")).unwrap_or(trimmed).to_string()
}

/// `start..end` grown over the letters and digits glued to it: a number or code is masked
/// whole ("CPF: 123.[456.789-09]" was read from the second group), never cut at a separator
/// the tokenizer split it at. Only a span with a digit grows. A separator is taken only
/// with a digit beyond it ("(555) 123-4567." keeps its full stop outside, and "3395
/// E-mail" its word).
fn whole_number(text: &str, start: usize, end: usize) -> (usize, usize) {
    let span = &text[start..end];
    if !span.bytes().any(|b| b.is_ascii_digit()) {
        return (start, end);
    }
    let glued = |c: char| c.is_alphanumeric();
    let sep = |c: char| matches!(c, '.' | '-' | '/');
    // Only from an edge that is a letter, a digit or one of those separators (".789-09" of
    // "123.456.789-09"; not ") 78891" after "(Greek").
    let edge = |c: Option<char>| c.is_some_and(|c| glued(c) || sep(c));
    let (from_start, from_end) = (edge(span.chars().next()), edge(span.chars().next_back()));
    let mut s = start;
    let mut before = text[..s].chars().rev().peekable();
    while let Some(c) = before.next().filter(|_| from_start) {
        if !(glued(c) || sep(c) && before.peek().is_some_and(char::is_ascii_digit)) {
            break;
        }
        s -= c.len_utf8();
    }
    let mut t = end;
    let mut after = text[t..].chars().peekable();
    while let Some(c) = after.next().filter(|_| from_end) {
        if !(glued(c) || sep(c) && after.peek().is_some_and(char::is_ascii_digit)) {
            break;
        }
        t += c.len_utf8();
    }
    (s, t)
}

/// The whitespace-delimited token(s) around `start..end`, without enclosing brackets or
/// quotes and without trailing sentence punctuation.
fn whole_token(text: &str, start: usize, end: usize) -> (usize, usize) {
    let opening = |c: char| matches!(c, '(' | '[' | '{' | '"' | '\'' | '“' | '‘' | '<' | '`');
    let mut s = start;
    for (i, c) in text[..start].char_indices().rev() {
        if c.is_whitespace() || opening(c) {
            break;
        }
        s = i;
    }
    let mut e = end;
    for (i, c) in text[end..].char_indices() {
        if c.is_whitespace() {
            break;
        }
        e = end + i + c.len_utf8();
    }
    let token = &text[s..e];
    let trimmed = token.trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '}', '"', '\'', '”', '’', '>', '`']);
    // Never narrower than what the model found.
    (s.min(start), (s + trimmed.len()).max(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ent(text: &str, value: &str, label: Label) -> Entity {
        let start = text.find(value).expect("value in text");
        Entity { start, end: start + value.len(), label, score: 0.9, detector: "ner", kind: Kind::Any }
    }

    fn kept(text: &str, spans: &[(&str, Label)]) -> Vec<(String, Label, Kind)> {
        let mut ents: Vec<Entity> = spans.iter().map(|(v, l)| ent(text, v, *l)).collect();
        apply(text, &mut ents);
        ents.into_iter().map(|e| (text[e.start..e.end].to_string(), e.label, e.kind)).collect()
    }

    fn values(text: &str, spans: &[(&str, Label)]) -> Vec<String> {
        kept(text, spans).into_iter().map(|(v, _, _)| v).collect()
    }

    #[test]
    fn numbers_and_codes_are_masked_whole() {
        use Label::*;
        for (text, value, label, want) in [
            ("CPF: 123.456.789-09", "456.789-09", Phone, "123.456.789-09"),
            ("My CPF is 123.456.789-09, ok", ".789-09", Phone, "123.456.789-09"),
            ("ref AB12-345/67, thanks", "12-345", OtherId, "AB12-345/67"),
            ("Phone: 467 3395 E-mail: x", "467 3395 E", Phone, "467 3395 E"),
            ("Call (555) 123-4567.", "123-4567", Phone, "123-4567"),
            ("Passport no. X1234567.", "1234567", Passport, "X1234567"),
            ("Cyprus (Greek) 78891", ") 78891", Phone, ") 78891"),
        ] {
            assert_eq!(values(text, &[(value, label)]), [want], "{text}");
        }
    }

    #[test]
    fn code_shaped_words_are_not_names() {
        use Label::*;
        for (text, value, label) in [
            ("Can you explain what a GenServer is?", "GenServer", Organization),
            ("I keep seeing OOMKilled on a pod.", "OOMKilled", Organization),
            ("We're a SaaS company.", "SaaS", Organization),
            ("How are OKRs different from KPIs?", "KPIs", Location),
            ("Set the target to ESNext.", "ESNext", Person),
        ] {
            assert!(values(text, &[(value, label)]).is_empty(), "{value} kept in {text:?}");
        }
        for (text, value) in [
            ("I spoke to McDonald yesterday.", "McDonald"),
            ("DeShawn called.", "DeShawn"),
            ("Ask O'Neil.", "O'Neil"),
            ("Looking to support MysticWeb in Lisbon", "MysticWeb"),
        ] {
            assert_eq!(values(text, &[(value, Person)]), vec![value.to_string()], "{text:?}");
        }
        assert_eq!(values("Dr. McKay and Mr OOMKilled", &[("OOMKilled", Person)]), vec!["OOMKilled"]);
        // Hashtags hold names; OCR'd names have stray capitals.
        assert_eq!(values("sad news #JohnnyWinter", &[("JohnnyWinter", Person)]), vec!["JohnnyWinter"]);
        assert_eq!(values("reisten auch LoUcheur und", &[("LoUcheur", Person)]), vec!["LoUcheur"]);
    }

    #[test]
    fn structured_model_labels_need_their_values_shape() {
        use Label::*;
        assert!(values("Is 0.999... equal to 1?", &[(".999", IpAddress)]).is_empty());
        assert_eq!(values("ssh to 10.0.0.12 now", &[("10.0.0.12", IpAddress)]), vec!["10.0.0.12"]);
        let json = r#"{"sku": "A-100", "qty": 2}"#;
        assert!(values(json, &[("sku", ApiKey), ("A-100", Password), ("qty", Password)]).is_empty());
        assert_eq!(values("my password is sunshine", &[("sunshine", Password)]), vec!["sunshine"]);
        assert_eq!(values("row: tclark70	Qwerty2019	active", &[("Qwerty2019", Password)]), vec!["Qwerty2019"]);
        assert_eq!(
            values("key sk-abc and token ghp_abcdefghijklmnop1234", &[("ghp_abcdefghijklmnop1234", ApiKey)]),
            vec!["ghp_abcdefghijklmnop1234"]
        );
        assert!(values("from $2.4M in FY2022", &[("FY2022", Passport)]).is_empty());
        assert!(values("YYYY-MM-DD or DD", &[("DD", OtherId)]).is_empty());
        assert_eq!(values("passport X1234567 expires", &[("X1234567", Passport)]), vec!["X1234567"]);
        assert!(values("the deviation of 4, 8, 15, 16, 23", &[("15, 16", StreetAddress)]).is_empty());
        assert_eq!(values("Brazil 95828", &[("95828", StreetAddress)]), vec!["95828"]);
        assert!(values("Fortran 90 question: how", &[("90", StreetAddress)]).is_empty());
        assert!(values("pass the JLPT N4 in six months", &[("JLPT N4", Password)]).is_empty());
        assert!(values("a sole proprietorship or an LLC?", &[("LLC", Organization)]).is_empty());
        assert_eq!(values("I work for Aunt Bertha Inc", &[("Inc", Organization)]), vec!["Inc"]);
        assert!(values("working days in Q3 2024", &[("Q3", Location)]).is_empty());
        assert!(values("Christians celebrate Christmas on January 7", &[("Christians", Person), ("January 7", Date)])
            .is_empty());
        assert_eq!(values("It's at Kolonakiou 14, Thessaloniki", &[("14", StreetAddress)]), vec!["14"]);
        // A protocol or a word is not a URL or an e-mail address; a written-out one is.
        assert!(values("allow SSH, HTTP and HTTPS only", &[("HTTPS", Url)]).is_empty());
        assert!(values("sync the apps folder", &[("apps", Email)]).is_empty());
        assert_eq!(values("see example.org/about", &[("example.org/about", Url)]), vec!["example.org/about"]);
        assert_eq!(values("on localhost:8080 now", &[("localhost:8080", Url)]), vec!["localhost:8080"]);
        assert_eq!(values("site: acme dot org", &[("acme dot org", Url)]), vec!["acme dot org"]);
        assert_eq!(
            values("write jane.doe (at) example (dot) com", &[("jane.doe (at) example (dot) com", Email)]),
            vec!["jane.doe (at) example (dot) com"]
        );
        assert_eq!(values("mail jane at example dot com", &[("jane at example dot com", Email)]).len(), 1);
        // A word that is not a common one may be a name the model misread: it stays.
        assert_eq!(values("lol aminado is here", &[("aminado", Email)]), vec!["aminado"]);
        assert_eq!(values("ask mike", &[("mike", Url)]), vec!["mike"]);
    }

    #[test]
    fn versions_months_empires_and_calendar_dates() {
        use Label::*;
        assert!(values("I'm on React 18 with StrictMode", &[("18", Age)]).is_empty());
        assert_eq!(values("I'm 34 and new here", &[("34", Age)]), vec!["34"]);
        assert_eq!(values("Age 34, lives alone", &[("34", Age)]), vec!["34"]);
        assert_eq!(values("This 79 year old female", &[("79", Age)]), vec!["79"]);
        assert_eq!(values("return to Eyrarodda 66 in case", &[("66", Age)]), vec!["66"]);
        assert!(values("Windows 11 with Python 3.12", &[("11", Age)]).is_empty());
        assert!(values("two weeks in Japan in April", &[("April", Person)]).is_empty());
        assert_eq!(values("a letter from April", &[("April", Person)]), vec!["April"]);
        assert_eq!(values("I had lunch with April today", &[("April", Person)]), vec!["April"]);
        assert!(values("What did the Mali Empire trade?", &[("Mali Empire", Organization)]).is_empty());
        assert_eq!(
            kept("a trip to New Zealand", &[("New Zealand", Location)]),
            vec![("New Zealand".to_string(), Location, Kind::Region)]
        );
        assert!(values("Why do they celebrate Christmas on January 7?", &[("January 7", Date)]).len() == 1);
        assert!(values("Why is Christmas on January 7 in Russia?", &[("January 7", Date)]).is_empty());
        assert!(values("What day of the week was 1 January 2000?", &[("1 January 2000", Date)]).is_empty());
        assert_eq!(values("My appointment is on 3 March 2025.", &[("3 March 2025", Date)]), vec!["3 March 2025"]);
        assert_eq!(values("Patient admitted 3 March 2025.", &[("3 March 2025", Date)]), vec!["3 March 2025"]);
        // A date of birth is always a person's.
        assert_eq!(values("DOB 3 March 1990", &[("3 March 1990", DateOfBirth)]), vec!["3 March 1990"]);
    }

    #[test]
    fn languages_nationalities_and_religions_are_not_people_or_places() {
        let t = "Translate this into Swedish, then give me a Korean recipe for Ramadan as a Buddhist would.";
        assert!(
            kept(t, &[("Swedish", Label::Person), ("Korean", Label::Location), ("Buddhist", Label::Person)]).is_empty()
        );
        assert!(kept("The Germans and the Danes", &[("Germans", Label::Person), ("Danes", Label::Person)]).is_empty());
        assert!(kept("I'm Vietnamese-American", &[("Vietnamese-American", Label::Person)]).is_empty());
        // A name is still a name, hyphenated too.
        assert_eq!(kept("Ask Ingrid", &[("Ingrid", Label::Person)]).len(), 1);
        assert_eq!(kept("Ask Ingrid-Swedish", &[("Ingrid-Swedish", Label::Person)]).len(), 1);
    }

    #[test]
    fn technology_units_planets_and_works_are_not_people() {
        let t = "Port this Haskell to NumPy, convert to Kelvin, describe the planet Mercury and summarise Macbeth.";
        let spans = [
            ("Haskell", Label::Person),
            ("NumPy", Label::Person),
            ("Kelvin", Label::Person),
            ("Mercury", Label::Person),
            ("Macbeth", Label::Person),
        ];
        assert!(kept(t, &spans).is_empty());
        // After an honorific, or next to a given name, it is a person.
        assert_eq!(kept("Call Dr. Kelvin today", &[("Kelvin", Label::Person)]).len(), 1);
        assert_eq!(kept("Lord Kelvin and Julia Rust", &[("Julia Rust", Label::Person)]).len(), 1);
    }

    #[test]
    fn a_given_name_beside_a_language_is_a_language() {
        for (text, span) in [
            ("Julia or Python for numerical simulations?", "Julia"),
            ("Ruby vs Go for a small web service", "Ruby"),
            ("We use Python/Julia for the models", "Julia"),
            ("Is Rust and Ada a good pair?", "Ada"),
        ] {
            assert!(kept(text, &[(span, Label::Person)]).is_empty(), "{text}");
        }
        for (text, span) in [
            ("Tell Anna and go home", "Anna"),
            ("Contact Anna, Python lead, today", "Anna"),
            ("Julia wrote the Python script", "Julia"),
            ("Ask Dr. Julia or Python experts", "Julia"),
        ] {
            assert_eq!(kept(text, &[(span, Label::Person)]).len(), 1, "{text}");
        }
    }

    #[test]
    fn a_month_in_a_range_of_months_is_no_person() {
        for text in ["each month (Jan through Dec) as a column", "open from April to June", "May - August only"] {
            let span = ["Jan", "April", "May"].into_iter().find(|m| text.contains(m)).unwrap();
            assert!(kept(text, &[(span, Label::Person)]).is_empty(), "{text}");
        }
        for text in ["a letter from April to Tom", "June to the rescue"] {
            let span = ["April", "June"].into_iter().find(|m| text.contains(m)).unwrap();
            assert_eq!(kept(text, &[(span, Label::Person)]).len(), 1, "{text}");
        }
    }

    #[test]
    fn a_name_in_a_concepts_name_is_no_person() {
        // The attributive form, before a noun of science, medicine or method.
        for (t, v, l) in [
            ("Explain the Krebs cycle in simple terms.", "Krebs", Label::Person),
            ("What is the Doppler effect?", "Doppler", Label::Person),
            ("How was the Higgs boson discovered?", "Higgs", Label::Organization),
            ("Is a Gantt chart useful?", "Gantt", Label::Location),
            ("What is the Dunning-Kruger effect?", "Kruger", Label::Organization),
            ("What is the Dunning-Kruger effect?", "Dunning", Label::Person),
        ] {
            assert!(kept(t, &[(v, l)]).is_empty(), "{t}");
        }
        // Listed possessive and other forms, with either apostrophe.
        for (t, v) in [
            ("Explain Boyle's law for a class.", "Boyle"),
            ("How do you build Pascal’s triangle?", "Pascal"),
            ("Explain Bayes' theorem with an example.", "Bayes"),
            ("Explain the Heisenberg uncertainty principle.", "Heisenberg"),
            ("Explain the Monte Carlo method.", "Monte Carlo"),
            ("What are the early signs of Alzheimer's disease?", "Alzheimer"),
        ] {
            assert!(kept(t, &[(v, Label::Person)]).is_empty(), "{t}");
        }
        // A person's test, chart, plan or case, a possessive that is not a listed eponym, a
        // full name, a capitalized noun and a name after a title stay.
        for (t, v) in [
            ("Send Maria Lopez test results today.", "Maria Lopez"),
            ("Update Lopez chart before rounds.", "Lopez"),
            ("Sarah's method works better.", "Sarah"),
            ("Jane Smith effect on the team was huge.", "Jane Smith"),
            ("The Okafor Effect is her podcast.", "Okafor"),
            ("Book 5 in the #StewartRealty method", "StewartRealty"),
            ("Ask Dr. Doppler effect questions.", "Doppler"),
        ] {
            assert_eq!(kept(t, &[(v, Label::Person)]).len(), 1, "{t}");
        }
    }

    #[test]
    fn public_figures_are_left_alone_only_when_allowed_and_only_as_a_whole() {
        let t = "How did Einstein explain it to Marie Curie's students, and what did Tom Einstein say?";
        let spans = [("Einstein", Label::Person), ("Marie Curie's", Label::Person), ("Tom Einstein", Label::Person)];
        // Default: scope leaves every name to the masker.
        assert_eq!(kept(t, &spans).len(), 3);
        let mut ents: Vec<Entity> = spans.iter().map(|(v, l)| ent(t, v, *l)).collect();
        allow_public_figures(t, &mut ents);
        let left: Vec<&str> = ents.iter().map(|e| &t[e.start..e.end]).collect();
        assert_eq!(left, ["Tom Einstein"], "a private person who shares the surname stays masked");
        // Other labels are never touched; a given name many people have is not on the list alone.
        let t = "Einstein Street, and Muhammad called";
        let mut ents = vec![ent(t, "Einstein Street", Label::StreetAddress), ent(t, "Muhammad", Label::Person)];
        allow_public_figures(t, &mut ents);
        assert_eq!(ents.len(), 2);
    }

    #[test]
    fn names_of_identity_numbers_are_no_names() {
        let t = "Aadhaar 4991 1866 5246, SIN 130 692 544, TC Kimlik No 10000000146; Sin Yee and Rut came.";
        let spans = [
            ("Aadhaar 4991", Label::Username),
            ("SIN", Label::Person),
            ("TC Kimlik No", Label::StreetAddress),
            ("Sin", Label::Person),
            ("Rut", Label::Person),
        ];
        let left: Vec<String> = kept(t, &spans).into_iter().map(|(v, _, _)| v).collect();
        assert_eq!(left, ["4991", "Sin", "Rut"]);
        // An organization only before its number: the NHS is also a body.
        let t = "CPF 482.193.660-27 and the NHS pays";
        let left: Vec<String> = kept(t, &[("CPF", Label::Organization), ("NHS", Label::Organization)])
            .into_iter()
            .map(|(v, _, _)| v)
            .collect();
        assert_eq!(left, ["NHS"]);
    }

    #[test]
    fn religions_nationalities_empires_and_public_bodies_are_not_organizations() {
        let t =
            "Compare Buddhism and Hinduism, the Ottoman Empire, the American Civil War, the European Union and FIFA.";
        let spans = [
            ("Buddhism", Label::Organization),
            ("Hinduism", Label::Organization),
            ("Ottoman Empire", Label::Organization),
            ("American Civil War", Label::Organization),
            ("European Union", Label::Organization),
            ("FIFA", Label::Organization),
        ];
        assert!(kept(t, &spans).is_empty());
        // Parts of a listed name, and a country read as an organization.
        let t =
            "During the Cold War the European Court of Human Rights met; the Western Roman Empire fell; Norway voted.";
        let spans = [
            ("Cold", Label::Organization),
            ("European Court", Label::Organization),
            ("Human Rights", Label::Organization),
            ("Western Roman", Label::Organization),
            ("Norway", Label::Organization),
        ];
        assert!(kept(t, &spans).is_empty());
        assert_eq!(kept("Ask Will Cold about it", &[("Will Cold", Label::Person)]).len(), 1);
        // A company named after a group is still a company.
        assert_eq!(kept("I fly British Airways", &[("British Airways", Label::Organization)]).len(), 1);
        assert_eq!(kept("She works at Acme Empire Ltd", &[("Acme Empire Ltd", Label::Organization)]).len(), 1);
    }

    #[test]
    fn numbers_alone_are_not_names_or_places() {
        assert!(kept("Upgrade to Windows 11 now", &[("11", Label::Location)]).is_empty());
    }

    #[test]
    fn large_regions_are_regions_and_cities_are_places() {
        let t = "Trekking in the Himalayas, sailing the Baltic Sea, then northern Italy and Lisbon.";
        let got = kept(
            t,
            &[
                ("Himalayas", Label::Location),
                ("the Baltic Sea", Label::Location),
                ("northern Italy", Label::Location),
                ("Lisbon", Label::Location),
            ],
        );
        let kinds: Vec<Kind> = got.iter().map(|g| g.2).collect();
        assert_eq!(kinds, vec![Kind::Region, Kind::Region, Kind::Region, Kind::Place]);
        assert_eq!(kept("in Bavaria's hills", &[("Bavaria's", Label::Location)])[0].2, Kind::Region);
    }

    #[test]
    fn dates_are_whole_tokens_with_a_day_or_nothing() {
        // Year, month, weekday, duration, relative day: not dates of a person.
        for (t, v) in [
            ("since 1999 we ship", "1999"),
            ("in March we ship", "March"),
            ("every Monday", "Monday"),
            ("for three weeks", "three weeks"),
            ("see you yesterday", "yesterday"),
            ("in Q3 2024", "Q3 2024"),
            ("Python 3.12 is out", "3.12"),
        ] {
            assert!(kept(t, &[(v, Label::Date)]).is_empty(), "{t}");
        }
        // A machine timestamp is left alone, whole.
        assert!(kept("at 2024-03-15T10:00:00Z the job failed", &[("2024-03-15", Label::Date)]).is_empty());
        // Three-part version numbers are not dates either.
        assert!(kept("pin 1.2.10 or 3.12.1", &[("1.2.10", Label::Date), ("3.12.1", Label::Date)]).is_empty());
        // A day-level date is widened to its whole token.
        let got = kept("born on 1984-07-02, she", &[("1984-07", Label::DateOfBirth)]);
        assert_eq!(got[0].0, "1984-07-02");
        // Code around it is not part of it.
        let got = kept("born `new Date(\"1984-07-02\")` on", &[("1984-07-02", Label::DateOfBirth)]);
        assert_eq!(got[0].0, "1984-07-02");
        let got = kept("Her birthday is March 15, 1990.", &[("March 15, 1990", Label::DateOfBirth)]);
        assert_eq!(got[0].0, "March 15, 1990");
        assert_eq!(kept("Ich bin am 3. Mai 2021 angekommen", &[("3. Mai 2021", Label::Date)]).len(), 1);
        // A month and year the model read without the day next to them take the day in.
        for (t, v, want) in [
            ("She was admitted on 3 March 2021.", "March 2021", "3 March 2021"),
            ("She was admitted on 3rd of March 2021.", "March 2021", "3rd of March 2021"),
            ("She was admitted on March 3, 2021.", "2021", "March 3, 2021"),
            ("She was admitted on March 3, 2021.", "March", "March 3, 2021"),
            ("Er kam am 3. März 2021 an.", "März 2021", "3. März 2021"),
            ("The patient was admitted on 3 March 2021.", "3 March", "3 March 2021"),
        ] {
            let got = kept(t, &[(v, Label::Date)]);
            assert_eq!(got.len(), 1, "{t}");
            assert_eq!(got[0].0, want, "{t}");
        }
        // Not a day next to it (nor one on the line before): a month and a year stay left alone.
        assert!(kept("Gain 5\nMarch 2021 was busy", &[("March 2021", Label::Date)]).is_empty());
        assert!(kept("She joined in March 2021.", &[("March 2021", Label::Date)]).is_empty());
        assert!(kept("We had 3 meetings. March 2021 was busy.", &[("March 2021", Label::Date)]).is_empty());
    }

    #[test]
    fn an_age_is_not_part_of_other_numbers() {
        for (t, v) in [
            ("since 1999", "1999"),
            ("the 2008 financial crisis", "2008"),
            ("about 13.8 billion years old", "13"),
            ("on Ubuntu 22.04", "22"),
            ("about 6,000 years ago", "6"),
            ("why 15, 30, 40 in tennis", "40"),
            ("of 4, 8, 15, 16, 23, 42 by hand", "42"),
        ] {
            assert!(kept(t, &[(v, Label::Age)]).is_empty(), "{t}");
        }
        for (t, v) in [
            ("I'm 34, I have", "34"),
            ("a 34-year-old patient", "34"),
            ("Noa Ben-David, 29, was treated", "29"),
            ("my son is 7 and", "7"),
        ] {
            assert_eq!(kept(t, &[(v, Label::Age)]).len(), 1, "{t}");
        }
    }

    #[test]
    fn lower_case_common_words_are_not_names_but_lower_case_given_names_are() {
        let t = "a recipe with lamb and soup, ask my neighbour, then tell mike and jenny";
        let got = kept(
            t,
            &[
                ("lamb", Label::Person),
                ("soup", Label::Person),
                ("neighbour", Label::Person),
                ("mike", Label::Person),
                ("jenny", Label::Person),
            ],
        );
        assert_eq!(got.iter().map(|g| g.0.as_str()).collect::<Vec<_>>(), vec!["mike", "jenny"]);
        // Capitalized, it is the model's call.
        assert_eq!(kept("Ask Lamb", &[("Lamb", Label::Person)]).len(), 1);
    }

    #[test]
    fn compound_regions_edges_months_and_products() {
        let t = "Rice dishes of South Asia and North America";
        let got = kept(t, &[("South", Label::Location), ("Asia", Label::Person), ("North America", Label::Location)]);
        assert_eq!(got.iter().map(|g| g.2).collect::<Vec<_>>(), vec![Kind::Region, Kind::Region]);
        assert!(kept("Why was the Sahara green?", &[("Sahara", Label::Person)]).is_empty());
        // A region that is also a given name stays a person.
        assert_eq!(kept("Ask Georgia about it", &[("Georgia", Label::Person)]).len(), 1);
        assert!(kept("Plan meals for January and Ramadan", &[("January", Label::Person), ("Ramadan", Label::Person)])
            .is_empty());
        assert!(kept(
            "Is Microsoft or Java better",
            &[("Microsoft", Label::Organization), ("Java", Label::Organization)]
        )
        .is_empty());
        let got = kept("Acme LLC and friends", &[("Acme LLC and", Label::Organization)]);
        assert_eq!(got[0].0, "Acme LLC");
    }

    #[test]
    fn a_day_next_to_a_month_is_a_date_not_an_age() {
        use Label::*;
        // The model's AGE on the day and DATE on the month become one DATE, judged whole.
        let got = kept("He was detained on 3 May.", &[("3", Age), ("May", Date)]);
        assert_eq!(got.iter().map(|g| (g.0.as_str(), g.1)).collect::<Vec<_>>(), [("3 May", Date)]);
        assert_eq!(values("She was arrested on 3 May 2019, he said.", &[("3", Age)]), ["3 May 2019"]);
        assert_eq!(values("He flew home on May 3, I think.", &[("3", Age)]), ["May 3"]);
        // A calendar fact with no person in it is left alone as a whole.
        assert!(kept("Why is 1 May a holiday in Europe?", &[("1", Age)]).is_empty());
        // An age stays an age.
        assert_eq!(kept("She is 3 and lives nearby.", &[("3", Age)])[0].1, Age);
    }

    #[test]
    fn phones_numbers_in_lists_file_names_and_parts_of_listed_phrases() {
        use Label::*;
        // A phone has seven digits or more.
        assert!(kept("Integrate (2x + 3) / (x² + 3x + 2) dx", &[("+ 3x + 2", Phone)]).is_empty());
        assert_eq!(kept("call me on 0161 496 0000", &[("0161 496 0000", Phone)]).len(), 1);
        // A number in a list of numbers is not a house number.
        assert!(kept("the mean of 4, 8, 15, 16, 23, 42", &[("15", StreetAddress)]).is_empty());
        assert_eq!(kept("Kolonakiou 14, Athens", &[("14", StreetAddress)]).len(), 1);
        // A file name is not a name.
        for (t, v) in [("Here's my tsconfig.json file", "tsconfig.json"), ("pin it in Cargo.toml instead", "toml")] {
            assert!(kept(t, &[(v, Person)]).is_empty(), "{t}");
        }
        assert_eq!(kept("Ask Dr. Json about it", &[("Json", Person)]).len(), 1);
        assert_eq!(kept("in Washington D.C. today", &[("D.C", Location)]).len(), 1);
        // Part of a phrase made of listed words ("American" + "civil war").
        assert!(kept("How did the American Civil War change", &[("American Civil", Organization)]).is_empty());
        assert_eq!(kept("How did Anna Civil change", &[("Anna Civil", Person)]).len(), 1);
    }

    #[test]
    fn a_name_loses_the_common_words_at_its_edges() {
        use Label::*;
        assert_eq!(values("Mr and Mrs T. sued the council", &[("Mrs T. sued", Person)]), ["Mrs T."]);
        assert_eq!(values("they said ask Peter Jones", &[("ask Peter Jones", Person)]), ["Peter Jones"]);
        // Particles, lower-case names and all-lower-case spans are not cut.
        assert_eq!(values("a letter to Ludwig van", &[("Ludwig van", Person)]), ["Ludwig van"]);
        assert_eq!(values("tell mike", &[("mike", Person)]), ["mike"]);
    }
}
