//! Names as people write them (inside the NER detector, after the model's spans are mapped to
//! labels, before [`super::scope`] draws the line). The model reads most names but misses
//! parts written in shapes it has rarely seen, and a missed part reaches the provider
//! ("Mr J. [Pemberton]", "Lord Justice [Haversham]"). These rules work on word shapes and
//! title lists only, never on a list of names:
//!
//! - **initials** belong to the name next to them ("J. Pemberton", "A.B. Carter",
//!   "J.-P. Leclerc"); a capitalized word right after initials the model read as a name is
//!   the surname, and initials between a name and a capitalized word are middle initials;
//! - after a **title** (`Mr`, `Dr`, `Lord Justice`, `Frau`, ...) the initials and capitalized
//!   words up to the first other word are a name, even where the model read nothing; after a
//!   personal title (`Mr`, `Mrs`, `Dr` ...) a single capital letter is a name too ("Mrs T.
//!   sued"), as is a bracketed letter after a title or a party's role ("the witness [K.]")
//!   and a letter after a capitalized role ("Child A"). The title stays as the model had it;
//! - before a **post-nominal** (`QC`, `MD`, `PhD`, and `J`/`LJ` as in "Smith J held") stands
//!   a name, which becomes PERSON; the post-nominal stays as the model had it;
//! - **hyphenated, apostrophe and particle surnames** are one name: a PERSON span that stops
//!   inside "Müller-Schmidt" or "O'Malley" covers the whole word, and one followed by "van",
//!   "de la", "bin" ... and a capitalized word goes on over them ("Charles de Gaulle"); not
//!   leftwards, and German "von" only after a full name, because German capitalizes nouns
//!   ("die Officiere von Karl Ferdinand", "Giovanni von Bolzano" = from Bolzano);
//! - after a **contact verb** ("call", "ring", "text", "email", "tell", "ask", ...), in lower
//!   case or beginning a sentence, a capitalized word that is not a common English word is
//!   a name ("Call Peter tomorrow", "email Sarah Jones"), and a span the model put on the
//!   verb itself is dropped ("[Ring] Anna Müller" as a street, "ring me" as a person);
//! - after a **self-introduction** ("I'm", "I am", "my name is", "je m'appelle", "me llamo",
//!   "ich heiße"), a capitalized word that is not a common English word is a name ("hi I'm
//!   Wojtek"), and a span the model put on the cue itself is dropped ("[I am] Xiadani",
//!   "[im] tomasz"); not after "im", which is German for "in the" ("im Rahmen");
//! - around **reporting verbs, kinship nouns and list entries**, a capitalized word that is
//!   not a common English word is a name: before "said", "told", "wrote" ... ("Heald said",
//!   "as Hu Shih wrote"), after a "said" that follows a quote ("…," said Heald."), after
//!   "daughter", "wife", "colleague" ... ("his third daughter Lensey"), and a surname before
//!   the given name the model read in a list entry ("Tod: Hittinger Maria, 37 J."), the order
//!   of official lists and of East Asian and Hungarian names; never after an article or a
//!   possessive ("the Board said"), and listed terms are dropped later by `scope`;
//! - the other items of a **list with a name** are names ("Both Okonjo and Yang", "Okafor,
//!   Lindqvist and Baptiste"; a comma alone makes no list), and so is an **elided surname**
//!   inside a sentence ("commissioned L'Enfant"; not at its start: "L'Assemblée a voté");
//! - a name **split** by a line-end hyphen or by letter spacing, as OCR and pasted PDF text
//!   split them, is one name ("Cham- berlain", "W e l e k Maria");
//! - a title followed only by names, read by the model as an organization
//!   ("Sergeant Ruiz", "Dr. Maria Schneider"), is a PERSON;
//! - PERSON spans that now overlap, or that only a space separates, become one (one value,
//!   one placeholder);
//! - a **name said again** is a name ([`propagate`], after `scope`): the words of a full name
//!   ("Pierre Charles L'Enfant"), of a name after a title ("Ms. Goldsmith"), or of a lone name
//!   inside a sentence of a text that capitalizes little else ("unlike Goldsmith's") are PERSON
//!   wherever else they stand alone in the same text or in another text of the same request
//!   ("L'Enfant served", "Goldsmith's test", a surname alone in the next message).
//!
//! A word the model gave another label (a STREET_ADDRESS, an ORGANIZATION) is never taken
//! into a name, except initials the model misread. Handles (`@jenny_k`) are not here: the
//! pattern detector finds them (`crate::mask::patterns`), with or without the model.

use crate::mask::{Entity, Kind, Label};

/// Score of a PERSON span these rules create (the model spans they extend keep theirs).
const NAME_RULE_SCORE: f32 = 0.8;

/// At most this many words of a name are taken after a title or before a post-nominal.
const MAX_NAME_WORDS: usize = 4;

/// Titles, as written (first letter capital, or lower case where a language writes them so;
/// the dot optional unless `dot`).
/// `personal`: a lone capital letter after it stands for a person ("Mrs T."); the others
/// need a capitalized word ("Lord Haversham", not "Rev B" of a document).
struct Title {
    word: &'static str,
    personal: bool,
    dot: bool,
}

const fn t(word: &'static str, personal: bool, dot: bool) -> Title {
    Title { word, personal, dot }
}

/// "Sr" is left out: it is as often "Senior" ("Sr. Software Engineer").
const TITLES: &[Title] = &[
    t("Mr", true, false),
    t("Mrs", true, false),
    t("Ms", true, false),
    t("Miss", true, false),
    t("Mx", true, false),
    t("Mme", true, false),
    t("Mlle", true, false),
    t("Herr", true, false),
    t("Frau", true, false),
    t("Dr", true, false),
    t("Prof", true, false),
    t("Sra", true, false),
    t("Srta", true, false),
    t("Sir", false, false),
    t("Dame", false, false),
    t("Lord", false, false),
    t("Lady", false, false),
    t("Justice", false, false),
    t("Judge", false, false),
    t("Professor", false, false),
    // English police and military ranks that do not also begin names of things ("General
    // Motors", "Major League", "Captain America" are why those are left out).
    t("Sergeant", false, false),
    t("Sgt", false, false),
    t("Detective", false, false),
    t("Constable", false, false),
    t("Inspector", false, false),
    t("Corporal", false, false),
    t("Cpl", false, false),
    t("Lieutenant", false, false),
    t("Rev", false, false),
    t("Revd", false, false),
    t("Fr", false, true),
    t("M", false, true),
    t("MM", false, true),
    t("Dott", false, true),
    // Ranks, professions and civil status written in lower case before a surname in French,
    // Spanish, Italian and Portuguese ("le capitaine Clavenad", "la veuve Andrieux", "il
    // dottor Rossi", "el teniente Ruiz"). Only forms that are not also English words that
    // stand before capitalized non-names ("in general Windows users", "ask a doctor ASAP").
    t("capitaine", false, false),
    t("commandant", false, false),
    t("lieutenant", false, false),
    t("colonel", false, false),
    t("général", false, false),
    t("sergent", false, false),
    t("caporal", false, false),
    t("adjudant", false, false),
    t("amiral", false, false),
    t("maréchal", false, false),
    t("docteur", false, false),
    t("professeur", false, false),
    t("abbé", false, false),
    t("maître", false, false),
    t("commissaire", false, false),
    t("inspecteur", false, false),
    t("curé", false, false),
    t("chanoine", false, false),
    t("veuve", false, false),
    t("époux", false, false),
    t("comte", false, false),
    t("comtesse", false, false),
    t("vicomte", false, false),
    t("baronne", false, false),
    t("duchesse", false, false),
    t("marquise", false, false),
    t("capitán", false, false),
    t("teniente", false, false),
    t("coronel", false, false),
    t("sargento", false, false),
    t("doctora", false, false),
    t("señor", false, false),
    t("señora", false, false),
    t("doña", false, false),
    t("capitano", false, false),
    t("tenente", false, false),
    t("colonnello", false, false),
    t("dottor", false, false),
    t("dottore", false, false),
    t("dottoressa", false, false),
    t("avvocato", false, false),
    t("signor", false, false),
    t("signora", false, false),
    t("senhor", false, false),
    t("senhora", false, false),
    t("doutor", false, false),
    t("capitão", false, false),
    // German ranks and nobility titles before a name ("Graf Teleki", "Oberst Redl").
    t("Graf", false, false),
    t("Gräfin", false, false),
    t("Fürst", false, false),
    t("Fürstin", false, false),
    t("Freiherr", false, false),
    t("Freifrau", false, false),
    t("Oberst", false, false),
    t("Hauptmann", false, false),
    t("Leutnant", false, false),
    t("Oberleutnant", false, false),
    t("Rittmeister", false, false),
    t("Feldmarschall", false, false),
    t("Pfarrer", false, false),
    t("Bürgermeister", false, false),
    t("Abgeordnete", false, false),
    // The other cases of "Herr" and the abbreviations of old print ("des Herrn Stampfl",
    // "Hr. Merkur", "Frl. Weiß"); offices written before a name in German news
    // ("Ministerpräsident Briand", "Unterstaatssekretär Grandi"): only German forms, none of
    // which is also an English word.
    t("Herrn", true, false),
    t("Hr", true, true),
    t("Frl", true, true),
    t("Fräulein", true, false),
    t("Abgeordneten", false, false),
    t("Ministerpräsident", false, false),
    t("Präsident", false, false),
    t("Präsidenten", false, false),
    t("Reichskanzler", false, false),
    t("Bundeskanzler", false, false),
    t("Kanzler", false, false),
    t("Staatssekretär", false, false),
    t("Unterstaatssekretär", false, false),
    t("Botschafter", false, false),
    t("Gesandte", false, false),
    t("Delegierte", false, false),
    t("Delegierten", false, false),
    t("Generalmajor", false, false),
    t("Kardinal", false, false),
    t("Bischof", false, false),
    t("Erzbischof", false, false),
    t("Erzpriester", false, false),
];

/// Post-nominals, as written: letters after a name that are not part of it. `comma`: also
/// after a comma ("Jane Roe, QC"); "MD" and "MP" are not (", MD" is as often Maryland).
/// "SC" is left out: it is as often South Carolina ("Columbia SC").
const POST_NOMINALS: &[(&str, bool)] = &[
    ("QC", true),
    ("KC", true),
    ("LJ", false),
    ("CJ", false),
    ("JJ", false),
    ("LJJ", false),
    ("MP", false),
    ("MSP", false),
    ("MEP", false),
    ("MD", false),
    ("PhD", true),
    ("DPhil", true),
    ("Esq", true),
    ("MBE", true),
    ("OBE", true),
    ("CBE", true),
    ("KBE", true),
    ("DBE", true),
    ("FRS", true),
];

/// Post-nominals of judges: a model span "Haversham LJ" with another label is a PERSON.
const JUDICIAL: &[&str] = &["J", "LJ", "CJ", "JJ", "LJJ", "QC", "KC"];

/// Dotted abbreviations that are not initials (compared without the last dot).
const ABBREVIATIONS: &[&str] = &[
    "U.S", "U.K", "U.N", "E.U", "D.C", "U.S.A", "A.M", "P.M", "B.C", "A.D", "N.Y", "L.A", "S.A", "E.G", "I.E", "N.B",
    "P.S", "R.I.P", "Q.E.D",
];

/// Lower-case name particles ("Ludwig van Beethoven", "Mohammed bin Salman").
/// Left out: words that are as often ordinary words before a capitalized noun ("zu Hause",
/// "das Buch", "do Pilates") or join two people ("Juan y María").
const PARTICLES: &[&str] = &[
    "van", "von", "de", "da", "di", "del", "della", "du", "le", "la", "bin", "bint", "ibn", "al", "el", "ter", "ten",
    "der", "den", "dos", "af", "ben",
];

/// Particles that continue only "van" or "ter" ("van der Berg"; "von der Bank" is a bank).
const DUTCH_ARTICLES: &[&str] = &["der", "den"];

/// Particles that are also articles or conjunctions ("Herr der Ringe", "la maison"): they
/// may continue a name but not begin one after a title.
const ARTICLE_PARTICLES: &[&str] = &["le", "la", "el", "al", "der", "den", "di", "da", "du", "del"];

/// Capitalized words that are not names: function words and pronouns as they begin a
/// sentence, greetings, company suffixes (compared lower-cased).
const NOT_NAMES: &[&str] = &[
    "the", "a", "an", "and", "or", "but", "nor", "of", "in", "on", "at", "to", "for", "with", "from", "by", "as", "is",
    "are", "was", "were", "be", "it", "its", "i", "you", "we", "he", "she", "they", "me", "him", "her", "his", "hers",
    "us", "them", "my", "our", "your", "their", "this", "that", "these", "those", "not", "no", "yes", "if", "so",
    "then", "than", "when", "where", "what", "who", "whom", "whose", "which", "why", "how", "all", "any", "some",
    "each", "every", "both", "here", "there", "please", "thanks", "thank", "dear", "hi", "hello", "hey", "re", "ok",
    "okay", "also", "just", "very", "will", "would", "can", "could", "should", "may", "might", "must", "shall", "do",
    "does", "did", "has", "have", "had", "about", "after", "before", "into", "over", "under", "up", "down", "out",
    "off", "again", "against", "between", "through", "during", "without", "within", "ltd", "inc", "corp", "co", "llc",
    "plc", "gmbh", "ag", "llp", "limited",
];

/// Capitalized nouns that a letter follows as a label, not a name ("Section A", "Plan B",
/// "Type A", "Exhibit J"); a post-nominal after them is that letter.
const LETTERED_NOUNS: &[&str] = &[
    "section",
    "part",
    "schedule",
    "appendix",
    "annex",
    "exhibit",
    "table",
    "figure",
    "form",
    "plan",
    "type",
    "class",
    "grade",
    "group",
    "block",
    "unit",
    "phase",
    "stage",
    "level",
    "option",
    "model",
    "vitamin",
    "item",
    "article",
    "chapter",
    "room",
    "gate",
    "terminal",
    "row",
    "seat",
    "box",
    "tab",
    "column",
    "step",
    "tier",
    "zone",
    "wing",
    "floor",
    "hall",
    "building",
    "team",
    "division",
    "league",
    "category",
    "size",
    "version",
    "series",
    "track",
    "line",
    "route",
    "platform",
    "war",
    "tranche",
    "hepatitis",
    "channel",
    "area",
    "site",
    "lot",
    "pool",
    "list",
];

/// Roles a bracketed letter after stands for a person ("the witness [K.]"); capitalized,
/// a bare letter after them does too ("Child A", "Patient X").
const ROLES: &[&str] = &[
    "witness",
    "claimant",
    "defendant",
    "applicant",
    "respondent",
    "appellant",
    "plaintiff",
    "complainant",
    "petitioner",
    "patient",
    "victim",
    "child",
    "mother",
    "father",
    "parent",
    "accused",
    "officer",
    "suspect",
    "client",
    "employee",
    "pupil",
    "student",
    "tenant",
    "informant",
    "person",
];

/// Verbs that take a person as their object: after one (lower case, or beginning a
/// sentence) a capitalized word that is not a common word is a name ("Call Peter").
pub(super) const CONTACT_VERBS: &[&str] = &[
    "call",
    "ring",
    "phone",
    "text",
    "email",
    "e-mail",
    "message",
    "ping",
    "tell",
    "ask",
    "remind",
    "invite",
    "thank",
    "contact",
    "cc",
    "dm",
    "meet",
    "congratulate",
];

/// Words before the writer's own name, as words' cores (compared ASCII case-insensitively). `false`: the cue only
/// clears a model span on itself ("[im] tomasz"), because "im" is German for "in the" and a
/// capitalized German noun follows it; a lower-case "im" that begins a text or line or
/// follows a greeting is the English cue.
const SELF_INTROS: &[(&[&str], bool)] = &[
    (&["i'm"], true),
    (&["i’m"], true),
    (&["i", "am"], true),
    (&["my", "name", "is"], true),
    (&["je", "m'appelle"], true),
    (&["je", "m’appelle"], true),
    (&["me", "llamo"], true),
    (&["mi", "chiamo"], true),
    (&["ich", "heiße"], true),
    (&["ich", "heisse"], true),
    (&["im"], false),
];

/// Greetings before a self-introduction ("hey im Sven"), lower-cased as chat writes them.
const GREETINGS: &[&str] = &["hi", "hey", "hello", "yo", "hiya", "heya", "sup"];

/// Verbs that report what someone said or wrote: the plain names right before one are the
/// speaker ("Heald said").
const REPORTING_VERBS: &[&str] = &[
    "said",
    "says",
    "told",
    "tells",
    "wrote",
    "writes",
    "added",
    "noted",
    "explained",
    "explains",
    "argued",
    "argues",
    "recalled",
    "recalls",
    "replied",
    "asked",
    "insisted",
    "claimed",
    "testified",
    "admitted",
    "warned",
    "confirmed",
    "denied",
    "commented",
    "answered",
    "concluded",
    "suggested",
    "stated",
    "announced",
    "reported",
    "acknowledged",
    "observed",
    "remarked",
];

/// Reporting verbs that also stand after a quote, before the speaker ("…," said Heald.).
const INVERTED_REPORTING: &[&str] = &["said", "says", "added", "wrote", "asked", "replied", "explained", "continued"];

/// Kinship and social nouns of the lexicon's cues that often stand before things, not people.
const NOT_KIN_CUES: &[&str] = &["baby", "babe", "partner", "bf", "gf", "nan", "sis", "bro"];

/// Words that join the last two items of a list ("Okafor and Baptiste", "Rossi e Bianchi").
const CONJUNCTIONS: &[&str] = &["and", "or", "&", "und", "oder", "et", "ou", "y", "o", "e"];

/// Words that make the capitalized word after them a noun phrase, not a speaker ("the Board
/// said", "his Honour noted").
const DETERMINERS: &[&str] = &[
    "the", "a", "an", "this", "that", "these", "those", "his", "her", "its", "our", "their", "my", "your", "every",
    "each", "no", "some", "any",
];

/// Last words of places and bodies that a title may begin ("Lord Howe Island", "Justice
/// Department").
const PLACE_NOUNS: &[&str] = &[
    "island",
    "islands",
    "street",
    "road",
    "avenue",
    "square",
    "hall",
    "house",
    "college",
    "university",
    "school",
    "church",
    "cathedral",
    "chapel",
    "park",
    "bridge",
    "lake",
    "river",
    "mount",
    "hospital",
    "center",
    "centre",
    "museum",
    "foundation",
    "institute",
    "office",
    "court",
    "station",
    "airport",
    "county",
    "city",
    "town",
    "village",
    "bay",
    "beach",
    "castle",
    "palace",
    "gardens",
    "theatre",
    "theater",
    "library",
    "trust",
    "society",
    "department",
    "ministry",
    "committee",
    "council",
    "commission",
    "agency",
    "bureau",
    "service",
    "services",
    "group",
    "company",
    "bank",
    "board",
    "party",
    "league",
    "club",
    "association",
    "union",
    "press",
    "fund",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// "J.", "A.B.", "J.-P." (at least one dot).
    Initials,
    /// A capital letter alone, no dot: "J", "T".
    Letter,
    /// A capitalized word: "Pemberton", "Müller-Schmidt", "O'Malley", "al-Hassan".
    Name,
    /// A word in capitals: "POINCARÉ", "NASA"; a name only after a title.
    Upper,
    /// A lower-case name particle: "van", "de".
    Particle,
    /// A title from [`TITLES`] (index).
    Title(usize),
    /// A post-nominal from [`POST_NOMINALS`] (index).
    PostNominal(usize),
    Other,
}

/// A whitespace-separated piece of text: its core (from the first to the last letter or
/// digit, a possessive "'s" cut off) and what surrounds it.
#[derive(Debug, Clone, Copy)]
struct Word<'a> {
    /// The core's byte span; `end` takes in the dot of initials and titles.
    start: usize,
    end: usize,
    core: &'a str,
    shape: Shape,
    /// Symbols before the core ("(", "[", a quote).
    lead: &'a str,
    /// Symbols after the core (and after the dot `end` took in): ",", ")", "'s", a sentence's ".".
    trail: &'a str,
    /// A line break separates it from the word before.
    newline_before: bool,
}

fn words(text: &str) -> Vec<Word<'_>> {
    let mut out = Vec::new();
    let mut last_end = 0;
    let mut at = 0;
    for piece in text.split(char::is_whitespace) {
        let start = at;
        at += piece.len();
        // The separator is one whitespace char; find its length from the text.
        let sep = text[at..].chars().next().map_or(0, char::len_utf8);
        at += sep;
        if piece.is_empty() {
            continue;
        }
        let newline_before = text[last_end..start].contains(['\n', '\r']);
        last_end = start + piece.len();
        let lead_len = piece.len() - piece.trim_start_matches(|c: char| !c.is_alphanumeric()).len();
        let mut core = piece[lead_len..].trim_end_matches(|c: char| !c.is_alphanumeric());
        let lead = &piece[..lead_len];
        for s in ["'s", "’s", "'S"] {
            if core.len() > s.len() && core.ends_with(s) {
                core = &core[..core.len() - s.len()];
            }
        }
        let core_start = start + lead_len;
        let mut end = core_start + core.len();
        let dot = text[end..].starts_with('.');
        let shape = classify(core, dot);
        if dot && matches!(shape, Shape::Initials | Shape::Title(_)) {
            end += 1;
        }
        let trail = &text[end..start + piece.len()];
        // "J'", "L’": French elision, not an initial.
        let shape = if shape == Shape::Letter && matches!(trail, "'" | "’") { Shape::Other } else { shape };
        out.push(Word { start: core_start, end, core, shape, lead, trail, newline_before });
    }
    // "M." is "Monsieur" except among initials ("J. M. Barrie").
    for i in 0..out.len() {
        let among_initials = |j: Option<usize>| j.and_then(|j| out.get(j)).is_some_and(|w| w.shape == Shape::Initials);
        if out[i].core == "M"
            && matches!(out[i].shape, Shape::Title(_))
            && (among_initials(i.checked_sub(1)) || among_initials(Some(i + 1)))
        {
            out[i].shape = Shape::Initials;
        }
    }
    out
}

fn classify(core: &str, dot: bool) -> Shape {
    if core.is_empty() {
        return Shape::Other;
    }
    if let Some(i) = TITLES.iter().position(|t| t.word == core && (dot || !t.dot)) {
        return Shape::Title(i);
    }
    if let Some(i) = POST_NOMINALS.iter().position(|(p, _)| *p == core) {
        return Shape::PostNominal(i);
    }
    if PARTICLES.contains(&core) {
        return Shape::Particle;
    }
    if is_initials(core, dot) && !ABBREVIATIONS.contains(&core) {
        return Shape::Initials;
    }
    let mut chars = core.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return if c.is_uppercase() { Shape::Letter } else { Shape::Other };
    }
    if NOT_NAMES.iter().any(|w| core.eq_ignore_ascii_case(w)) {
        return Shape::Other;
    }
    if is_name(core) {
        return Shape::Name;
    }
    if core.chars().all(|c| c.is_uppercase() || c == '-') && core.chars().filter(|c| c.is_uppercase()).count() >= 2 {
        return Shape::Upper;
    }
    Shape::Other
}

/// Capital letters each followed by a dot, joined by nothing or "-" ("J.", "A.B.", "J.-P.");
/// the last dot is `dot` (it lies outside the core).
fn is_initials(core: &str, dot: bool) -> bool {
    let mut rest = core;
    loop {
        let mut chars = rest.chars();
        let Some(c) = chars.next() else { return false };
        if !c.is_uppercase() {
            return false;
        }
        rest = chars.as_str();
        if rest.is_empty() {
            return dot;
        }
        rest = match rest.strip_prefix(".-").or_else(|| rest.strip_prefix('.')) {
            Some(r) => r,
            None => return false,
        };
    }
}

/// A capitalized word ("Okonkwo", "McDonald"), or such words joined by "-" where a
/// lower-case particle may lead ("Ben-David", "al-Hassan"); each part may carry a one- or
/// two-letter prefix before an apostrophe ("O'Malley", "d'Estaing"). A romanized Korean or
/// Chinese given name is one too: two syllables joined by "-", the second in lower case
/// ("Ji-woo", "Seo-yeon", "Mei-ling").
fn is_name(core: &str) -> bool {
    let parts: Vec<&str> = core.split('-').collect();
    let last = parts.len() - 1;
    parts.iter().enumerate().all(|(k, p)| (k < last && PARTICLES.contains(p)) || is_name_part(p))
        || matches!(parts[..], [a, b] if is_name_part(a) && syllable(&a.to_lowercase()) && syllable(b)
            && !NOT_SYLLABLE_NAMES.contains(&core.to_lowercase().as_str()))
}

/// Hyphenated English words that read as two romanized syllables.
const NOT_SYLLABLE_NAMES: &[&str] =
    &["co-op", "yo-yo", "hip-hop", "lo-fi", "hi-fi", "wi-fi", "pop-up", "so-so", "ha-ha", "bye-bye", "no-go", "go-go"];

/// One romanized CJK syllable in lower case: an initial (none, one consonant, or one of the
/// romanizations' pairs), one to three vowels, and an optional final ("woo", "yeon", "jun",
/// "hsiao", "ling").
fn syllable(s: &str) -> bool {
    let rest = ["ch", "sh", "hs", "ts", "zh", "jj", "kk", "pp", "ss", "tt", "hy", "gy", "ky", "ny", "my", "ry"]
        .iter()
        .find_map(|i| s.strip_prefix(i))
        .or_else(|| s.strip_prefix(|c: char| "bcdfghjklmnprstwyz".contains(c)))
        .unwrap_or(s);
    let vowels = rest.len() - rest.trim_start_matches(|c: char| "aeiouy".contains(c)).len();
    let fin = &rest[vowels..];
    (1..=3).contains(&vowels) && ["", "n", "ng", "k", "l", "m", "p", "t", "h"].contains(&fin)
}

fn is_name_part(part: &str) -> bool {
    let rest = match part.find(['\'', '’']) {
        Some(i) if (1..=2).contains(&i) && part[..i].chars().all(char::is_alphabetic) => {
            &part[i + part[i..].chars().next().map_or(1, char::len_utf8)..]
        }
        Some(_) => return false,
        None => part,
    };
    let mut chars = rest.chars();
    chars.next().is_some_and(char::is_uppercase)
        && rest.chars().count() >= 2
        && rest.chars().all(char::is_alphabetic)
        && rest.chars().any(char::is_lowercase)
}

/// Applies the rules to the NER spans of `text` (byte offsets, any order; sorted on return).
/// Spans of other labels are left alone, except initials inside a name, which are dropped
/// into it, and a judge's name read as another label ("Haversham LJ"), which becomes PERSON.
pub fn apply(text: &str, ents: &mut Vec<Entity>) {
    let words = words(text);
    if words.is_empty() {
        return;
    }
    let mut n = Names { text, words, ents: std::mem::take(ents) };
    n.snap();
    n.contact_verbs();
    n.self_intros();
    n.cued_names();
    n.titled_names();
    n.titles();
    n.post_nominals();
    n.extend();
    n.join();
    *ents = n.ents;
}

/// The same name said again (after [`super::scope`] has drawn the line): a word of a PERSON
/// span that holds two or more name words, of one that follows a title, or of a one-word span
/// inside a sentence (in a text whose capitals mark names, not nouns), is that name
/// wherever else it stands as a whole word in the same text, or in another text of the same
/// request (the messages of one conversation), and no other span covers it ("Pierre
/// Charles L'Enfant ... L'Enfant served"; "Ms. Goldsmith ... Goldsmith's test"; "I am Jane
/// Okafor" in one message, "Okafor" in the next). Small models find a name once and miss its
/// later, shorter mentions.
pub fn propagate<S: AsRef<str>>(texts: &[S], ents: &mut [Vec<Entity>]) {
    // Only texts with a PERSON span are read for names; the others only when there is one.
    let mut known: Vec<String> = Vec::new();
    for (text, e) in texts.iter().zip(ents.iter()) {
        if !e.iter().any(|e| e.label == Label::Person) {
            continue;
        }
        for name in known_names(&words(text.as_ref()), e) {
            if !known.contains(&name) {
                known.push(name);
            }
        }
    }
    if known.is_empty() {
        return;
    }
    for (text, e) in texts.iter().zip(ents.iter_mut()) {
        add_known(&words(text.as_ref()), e, &known);
    }
}

/// The name words [`propagate`] carries: those of PERSON spans of two or more name words,
/// of one after a title, or of one inside a sentence where capitals are sparing.
fn known_names(words: &[Word], ents: &[Entity]) -> Vec<String> {
    let mut known = Vec::new();
    let sparing = capitalized_inside_sentences(words) <= SPARING_CAPITALS;
    for e in ents.iter().filter(|e| e.label == Label::Person) {
        let names: Vec<&str> = words
            .iter()
            .filter(|w| w.start >= e.start && w.start + w.core.len() <= e.end)
            .filter(|w| w.shape == Shape::Name && w.core.chars().count() >= 3)
            .map(|w| w.core)
            .collect();
        let first = words.iter().position(|w| w.start >= e.start);
        let titled = first.is_some_and(|i| {
            matches!(words[i].shape, Shape::Title(_)) || i > 0 && matches!(words[i - 1].shape, Shape::Title(_))
        });
        // A lone name inside a sentence of a text that capitalizes little else ("a ruling for
        // Goldsmith" ... "Goldsmith's test"); not in German, which capitalizes its nouns, or
        // in a contract's defined terms ("the Tranche A Shares").
        let inside_sentence = sparing && first.is_some_and(|i| !starts_sentence(words, i));
        if names.len() >= 2 || (titled || inside_sentence) && !names.is_empty() {
            known.extend(names.into_iter().map(str::to_owned));
        }
    }
    known
}

/// The largest share of capitalized words inside sentences at which a text still marks names
/// with capitals: English prose capitalizes a few words in a hundred there (dev medians 0.04
/// to 0.15), German text and contracts full of defined terms a quarter to a third.
const SPARING_CAPITALS: f32 = 0.2;

/// Whether word `i` begins the text, a line or a sentence.
fn starts_sentence(words: &[Word], i: usize) -> bool {
    i == 0 || words[i].newline_before || words[i - 1].trail.contains(['.', '!', '?', ':'])
}

/// The share of words inside sentences (not at a sentence's or line's start) that begin with
/// a capital, among those that begin with a letter.
fn capitalized_inside_sentences(words: &[Word]) -> f32 {
    let (mut all, mut capitalized) = (0usize, 0usize);
    for (i, w) in words.iter().enumerate() {
        let Some(c) = w.core.chars().next().filter(|c| c.is_alphabetic()) else { continue };
        if !starts_sentence(words, i) {
            all += 1;
            capitalized += usize::from(c.is_uppercase());
        }
    }
    capitalized as f32 / all.max(1) as f32
}

/// PERSON spans for the whole-word occurrences of `known` among `words` that no span covers.
fn add_known(words: &[Word], ents: &mut Vec<Entity>, known: &[String]) {
    let mut added = Vec::new();
    for w in words {
        let end = w.start + w.core.len();
        if w.shape == Shape::Name
            && known.iter().any(|k| k == w.core)
            && !ents.iter().any(|e| e.start < end && w.start < e.end)
        {
            added.push(Entity {
                start: w.start,
                end,
                label: Label::Person,
                score: NAME_RULE_SCORE,
                detector: "ner",
                kind: Kind::Any,
            });
        }
    }
    if !added.is_empty() {
        ents.extend(added);
        ents.sort_by_key(|e| (e.start, e.end));
    }
}

struct Names<'a> {
    text: &'a str,
    words: Vec<Word<'a>>,
    ents: Vec<Entity>,
}

impl Names<'_> {
    /// Whether words `i` and `i + 1` read as one phrase: only spaces between them, no
    /// symbol after the first (but the dot of initials or a title), none before the second.
    fn joined(&self, i: usize) -> bool {
        let (a, b) = (&self.words[i], self.words.get(i + 1));
        b.is_some_and(|b| a.trail.is_empty() && b.lead.is_empty() && !b.newline_before)
    }

    /// Whether word `i` begins the text, a line or a sentence.
    fn sentence_start(&self, i: usize) -> bool {
        starts_sentence(&self.words, i)
    }

    /// Whether word `i` is a single letter that labels the noun before it ("Section A.",
    /// "Plan B", "Type A"), or a numeral beginning a line ("I. Introduction").
    fn label_letter(&self, i: usize) -> bool {
        let w = &self.words[i];
        if w.core.chars().count() != 1 {
            return false;
        }
        let heading = matches!(w.core, "I" | "V" | "X") && (i == 0 || w.newline_before);
        heading
            || i > 0
                && self.joined(i - 1)
                && LETTERED_NOUNS.iter().any(|n| self.words[i - 1].core.eq_ignore_ascii_case(n))
    }

    fn overlaps(e: &Entity, w: &Word) -> bool {
        e.start < w.end && w.start < e.end
    }

    /// Whether a span of another label lies on word `i` (initials: one reaching outside it;
    /// a misread "J." inside "J.-P. Leclerc" does not count).
    fn blocked(&self, i: usize) -> bool {
        let w = &self.words[i];
        self.ents.iter().any(|e| {
            e.label != Label::Person
                && Self::overlaps(e, w)
                && !(w.shape == Shape::Initials && w.start <= e.start && e.end <= w.end)
        })
    }

    fn person(&self, i: usize) -> bool {
        let w = &self.words[i];
        self.ents.iter().any(|e| e.label == Label::Person && Self::overlaps(e, w))
    }

    /// Words (first, last) a span lies on, if any.
    fn word_range(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        let first = self.words.partition_point(|w| w.end <= start);
        let last = self.words.partition_point(|w| w.start < end).checked_sub(1)?;
        (first <= last).then_some((first, last))
    }

    fn persons(&self) -> Vec<(usize, usize, f32)> {
        self.ents.iter().filter(|e| e.label == Label::Person).map(|e| (e.start, e.end, e.score)).collect()
    }

    /// Makes `start..end` PERSON: one span with every PERSON span it overlaps (their lowest
    /// score), and without the other labels' spans that lie inside it.
    fn add_person(&mut self, mut start: usize, mut end: usize, mut score: f32) {
        let mut template = None;
        self.ents.retain(|e| {
            let person = e.label == Label::Person && e.start < end && start < e.end;
            if person {
                start = start.min(e.start);
                end = end.max(e.end);
                score = score.min(e.score);
                template.get_or_insert_with(|| e.clone());
            }
            !person
        });
        self.ents.retain(|e| !(start <= e.start && e.end <= end));
        let e = match template {
            Some(t) => Entity { start, end, score, ..t },
            None => Entity { start, end, label: Label::Person, score, detector: "ner", kind: Kind::Any },
        };
        self.ents.push(e);
    }

    /// A PERSON span that begins or ends inside a name or initials covers the whole word
    /// ("Noa Ben" of "Ben-David", "Malley" of "O'Malley", "P. Leclerc" of "J.-P. Leclerc").
    fn snap(&mut self) {
        for (start, end, score) in self.persons() {
            let Some((a, b)) = self.word_range(start, end) else { continue };
            let whole = |i: usize| matches!(self.words[i].shape, Shape::Name | Shape::Initials) && !self.blocked(i);
            let s = if whole(a) { start.min(self.words[a].start) } else { start };
            let t = if whole(b) { end.max(self.words[b].end) } else { end };
            if (s, t) != (start, end) {
                self.add_person(s, t, score);
            }
        }
    }

    /// Names after contact verbs (module doc): the verb is not a name or an address, and the
    /// capitalized words after it that are plain names and not common words are a person.
    fn contact_verbs(&mut self) {
        for i in 0..self.words.len().saturating_sub(1) {
            let w = self.words[i];
            let verb = CONTACT_VERBS.iter().any(|v| w.core.eq_ignore_ascii_case(v))
                && (w.core.starts_with(char::is_lowercase) || self.sentence_start(i));
            if !verb || !self.joined(i) {
                continue;
            }
            // A model span on the verb alone: the verb read as a street ("Ring") or a person.
            self.ents.retain(|e| {
                let on_verb = w.start <= e.start && e.end <= w.end;
                !(on_verb
                    && matches!(e.label, Label::Person | Label::StreetAddress | Label::Organization | Label::Location))
            });
            // A model span from the verb into the name ("[Ask Okonkwo]") starts at the name.
            let next = self.words[i + 1].start;
            for e in self.ents.iter_mut() {
                if e.label == Label::Person && e.start == w.start && e.end > next {
                    e.start = next;
                }
            }
            if self.person(i + 1) {
                continue;
            }
            if let Some(b) = self.plain_names_from(i + 1) {
                let (s, t) = (self.words[i + 1].start, self.words[b].end);
                self.add_person(s, t, NAME_RULE_SCORE);
            }
        }
    }

    /// Names after a self-introduction ("I'm Wojtek", module doc).
    fn self_intros(&mut self) {
        for i in 0..self.words.len() {
            for &(cue, names) in SELF_INTROS {
                let last = i + cue.len() - 1;
                let next = last + 1;
                // "im" begins a text or line or follows a greeting: "hi im Wojtek".
                let names = names
                    || self.words[i].core == "im"
                        && (i == 0 || self.words[i].newline_before || GREETINGS.contains(&self.words[i - 1].core));
                let here = next < self.words.len()
                    && cue.iter().enumerate().all(|(k, c)| self.words[i + k].core.eq_ignore_ascii_case(c))
                    && (i..=last).all(|k| self.joined(k))
                    && self.words[i].lead.is_empty();
                if !here {
                    continue;
                }
                let (from, to, name) = (self.words[i].start, self.words[last].end, self.words[next].start);
                // A model span on the cue alone goes; one from the cue into the name starts at
                // the name.
                self.ents.retain(|e| {
                    let on_cue = from <= e.start && e.end <= to;
                    !(on_cue && matches!(e.label, Label::Person | Label::Organization | Label::Location))
                });
                for e in self.ents.iter_mut() {
                    if e.label == Label::Person && from <= e.start && e.start < name && e.end > name {
                        e.start = name;
                    }
                }
                if names && !self.person(next) {
                    if let Some(b) = self.plain_names_from(next) {
                        let (s, t) = (name, self.words[b].end);
                        self.add_person(s, t, NAME_RULE_SCORE);
                    }
                }
            }
        }
    }

    /// Whether word `k` is a plain name: a capital, then small letters, in parts that a "-"
    /// or an apostrophe joins ("Okafor", "Müller-Lüdenscheidt", "L'Enfant"), not a common
    /// English word, and no other label on it.
    fn plain_name(&self, k: usize) -> bool {
        let x = &self.words[k];
        let mut after_joint = true;
        let plain = x.core.chars().enumerate().all(|(n, c)| {
            let ok = if matches!(c, '-' | '\'' | '’') {
                n > 0 && !after_joint
            } else {
                c.is_lowercase() || c.is_uppercase() && after_joint
            };
            after_joint = matches!(c, '-' | '\'' | '’');
            ok
        });
        x.shape == Shape::Name
            && x.core.starts_with(char::is_uppercase)
            && plain
            && !super::scope::is_common_word(x.core)
            && !self.blocked(k)
    }

    /// The last word of the run of joined plain names that begins at word `i`, if `i` is one.
    fn plain_names_from(&self, i: usize) -> Option<usize> {
        if i >= self.words.len() || !self.plain_name(i) {
            return None;
        }
        let mut b = i;
        while b + 1 < self.words.len() && b + 1 - i < MAX_NAME_WORDS && self.joined(b) && self.plain_name(b + 1) {
            b += 1;
        }
        Some(b)
    }

    /// Names that reporting verbs, kinship nouns and list entries mark (module doc).
    fn cued_names(&mut self) {
        for i in 0..self.words.len() {
            let w = self.words[i];
            let lower = w.core.starts_with(char::is_lowercase) && w.lead.is_empty();
            // "Heald said", "as Hu Shih wrote": the plain names right before the verb.
            if lower && REPORTING_VERBS.contains(&w.core) && i > 0 && self.joined(i - 1) {
                if let Some(a) = self.plain_names_before(i - 1) {
                    self.add_person(self.words[a].start, self.words[i - 1].end, NAME_RULE_SCORE);
                }
            }
            // `"…," said Heald.`: after a quote or a comma, the names that end the clause.
            let after_quote = i > 0 && self.words[i - 1].trail.ends_with([',', '"', '”']);
            if lower && INVERTED_REPORTING.contains(&w.core) && after_quote && self.joined(i) {
                if let Some(b) = self.plain_names_from(i + 1) {
                    let last = &self.words[b];
                    let ends = b + 1 == self.words.len()
                        || self.words[b + 1].newline_before
                        || last.trail.starts_with(['.', ',', ';', '!', '?']);
                    if ends {
                        self.add_person(self.words[i + 1].start, last.end, NAME_RULE_SCORE);
                    }
                }
            }
            // "his third daughter Lensey", "my colleague Okafor".
            let kin = lower && super::lexicon::KIN_CUES.contains(&w.core) && !NOT_KIN_CUES.contains(&w.core);
            if kin && self.joined(i) && !self.person(i + 1) {
                if let Some(b) = self.plain_names_from(i + 1) {
                    self.add_person(self.words[i + 1].start, self.words[b].end, NAME_RULE_SCORE);
                }
            }
        }
        self.surnames_first();
        self.split_names();
        self.elided_names();
        self.coordinated_names();
    }

    /// A plain name with an elided one-letter prefix inside a sentence ("commissioned
    /// L'Enfant", "met O'Neill", "with D'Souza"): French and Irish surnames. Not at the start
    /// of a sentence, where French writes its articles so ("L'Assemblée a voté").
    fn elided_names(&mut self) {
        for i in 1..self.words.len() {
            let core = self.words[i].core;
            let mut cs = core.chars();
            let elided = matches!(cs.next(), Some('L' | 'D' | 'O'))
                && matches!(cs.next(), Some('\'' | '’'))
                && cs.next().is_some_and(char::is_uppercase);
            if elided
                && !self.sentence_start(i)
                && self.words[i].lead.is_empty()
                && self.plain_name(i)
                && !self.person(i)
            {
                let w = self.words[i];
                self.add_person(w.start, w.start + w.core.len(), NAME_RULE_SCORE);
            }
        }
    }

    /// Names in a list with a name: a plain name joined to a PERSON span by "and", "or" or
    /// "&" is a name too ("Both Okonjo and Yang"), and so are the items of a comma list with
    /// a PERSON item that ends on such a pair ("Okafor, Lindqvist and Baptiste"). A comma
    /// alone does not make a list of names ("Welek Maria, Handarbeiterin, 42 J.").
    fn coordinated_names(&mut self) {
        // Each pass walks every chain of "and"s to its ends and fills every comma list, so a
        // second pass finds only what the first one's new names opened; a third is a bound,
        // not a need (the work stays linear in the text's names however long the list).
        for _ in 0..3 {
            let mut changed = false;
            for (start, end, score) in self.persons() {
                let Some((mut a, mut b)) = self.word_range(start, end) else { continue };
                // "Yang and [Okonjo]".
                while b + 2 < self.words.len()
                    && self.joined(b)
                    && CONJUNCTIONS.contains(&self.words[b + 1].core)
                    && self.joined(b + 1)
                    && !self.person(b + 2)
                {
                    let Some(e) = self.plain_names_from(b + 2) else { break };
                    self.add_person(self.words[b + 2].start, self.words[e].end, score);
                    b = e;
                    changed = true;
                }
                // "[Okonjo] and Yang".
                while a >= 2
                    && self.joined(a - 2)
                    && CONJUNCTIONS.contains(&self.words[a - 1].core)
                    && self.joined(a - 1)
                {
                    let Some(s) = self.plain_names_before(a - 2) else { break };
                    self.add_person(self.words[s].start, self.words[a - 2].end, score);
                    a = s;
                    changed = true;
                }
                // "Okafor, [Lindqvist] and Baptiste": the items before, up to the list's start.
                if let Some(items) = self.comma_list(b) {
                    for (s, e) in items {
                        self.add_person(self.words[s].start, self.words[e].end, score);
                    }
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// The first word of the run of joined plain names that ends at word `k`, if `k` is one
    /// and no article or possessive stands before the run ("the Okafor and Jones team").
    fn plain_names_before(&self, k: usize) -> Option<usize> {
        if !self.plain_name(k) || self.person(k) {
            return None;
        }
        let mut s = k;
        while s > 0 && k - s + 1 < MAX_NAME_WORDS && self.joined(s - 1) && self.plain_name(s - 1) {
            s -= 1;
        }
        let article = s > 0 && self.joined(s - 1) && DETERMINERS.contains(&self.words[s - 1].core);
        (!article).then_some(s)
    }

    /// When the PERSON span ending at word `b` is an item of a list "A, B, C and D" whose
    /// items are all plain names, the items that are not PERSON yet, as word ranges.
    fn comma_list(&self, b: usize) -> Option<Vec<(usize, usize)>> {
        let comma =
            |k: usize| self.words[k].trail == "," && k + 1 < self.words.len() && self.words[k + 1].lead.is_empty();
        let conj = |k: usize| k < self.words.len() && CONJUNCTIONS.contains(&self.words[k].core);
        let mut items = Vec::new();
        let mut k = b;
        // Forward: ", X" items until "and Y".
        let ends = loop {
            if self.joined(k) && conj(k + 1) && self.joined(k + 1) {
                let e = self.plain_names_from(k + 2).or_else(|| self.person(k + 2).then_some(k + 2))?;
                if !self.person(k + 2) {
                    items.push((k + 2, e));
                }
                break true;
            }
            if !comma(k) || self.words[k + 1].newline_before {
                break false;
            }
            let e = if self.person(k + 1) {
                self.word_range(self.words[k + 1].start, self.words[k + 1].end).map(|(_, y)| y)?
            } else {
                let e = self.plain_names_from(k + 1)?;
                items.push((k + 1, e));
                e
            };
            k = e;
        };
        if !ends {
            return None;
        }
        // Backward: "X, " items before the span, to the list's start.
        let (mut a, _) = self.word_range(self.words[b].start, self.words[b].end)?;
        while a > 0 && comma(a - 1) && !self.words[a].newline_before {
            while a > 0 && self.person(a - 1) && self.joined(a - 1) {
                a -= 1;
            }
            let k = a - 1;
            if self.person(k) {
                a = k;
                continue;
            }
            match self.plain_names_before(k) {
                Some(s) => {
                    items.push((s, k));
                    a = s;
                }
                None => break,
            }
        }
        (!items.is_empty()).then_some(items)
    }

    /// A name that the text split, as OCR and pasted PDF text do, is one name:
    /// - across a line-end hyphen: a PERSON span ending on "Cham-" takes the small-letter
    ///   word after it ("Cham- berlain"), and one beginning on that word takes "Cham-";
    /// - letter-spaced (the emphasis of old German print, "F e r d i n a n d Huber"): a run of
    ///   three or more one- and two-letter pieces, a capital first and small letters after,
    ///   joined to a PERSON span, is part of it.
    fn split_names(&mut self) {
        let piece = |w: &Word| {
            let n = w.core.chars().count();
            (1..=2).contains(&n) && w.core.chars().all(char::is_alphabetic) && w.lead.is_empty()
        };
        for (start, end, score) in self.persons() {
            let Some((a, b)) = self.word_range(start, end) else { continue };
            let (mut s, mut t) = (a, b);
            // "Cham- berlain": the span's last word ends on a hyphen; the next begins small.
            let hyphen_end = |k: usize| self.words[k].trail == "-" && !self.words[k].core.is_empty();
            let small = |k: usize| {
                self.words.get(k).is_some_and(|w| w.lead.is_empty() && w.core.starts_with(char::is_lowercase))
            };
            if hyphen_end(t) && small(t + 1) && !self.blocked(t + 1) {
                t += 1;
            }
            if s > 0
                && small(s)
                && hyphen_end(s - 1)
                && self.words[s - 1].core.starts_with(char::is_uppercase)
                && !self.blocked(s - 1)
            {
                s -= 1;
            }
            // Letter-spaced pieces before the span: "W e l e k [Maria]".
            let mut k = s;
            while k > 0 && s - k < 20 && self.joined(k - 1) && piece(&self.words[k - 1]) && !self.blocked(k - 1) {
                k -= 1;
            }
            let singles = (k..s).filter(|&x| self.words[x].core.chars().count() == 1).count();
            let spaced = |from: usize, to: usize| {
                self.words[from].core.starts_with(char::is_uppercase)
                    && (from + 1..to).all(|x| self.words[x].core.chars().all(char::is_lowercase))
            };
            if singles >= 3 && spaced(k, s) {
                s = k;
            }
            if (s, t) != (a, b) {
                let (x, y) = (self.words[s].start.min(start), self.words[t].end.max(end));
                self.add_person(x, y, score);
            }
        }
    }

    /// A list entry "Surname Given, …" ("Hittinger Maria, 37 J."; "Tanaka Hiroshi, Kim
    /// Minjun"): a plain name joined before a one-word PERSON span that ends the entry (a
    /// comma, a semicolon, the end of a line) where the entry begins (a line, a sentence, or
    /// after a comma or semicolon) is the surname.
    fn surnames_first(&mut self) {
        for (start, end, score) in self.persons() {
            let Some((a, b)) = self.word_range(start, end) else { continue };
            if a != b || a == 0 || self.words[a].shape != Shape::Name {
                continue;
            }
            let s = a - 1;
            let entry_ends = a + 1 == self.words.len()
                || self.words[a + 1].newline_before
                || self.words[a].trail.starts_with([',', ';']);
            let entry_starts = self.sentence_start(s) || self.words[s - 1].trail.ends_with([',', ';']);
            if entry_ends && entry_starts && self.joined(s) && self.plain_name(s) && !self.person(s) {
                self.add_person(self.words[s].start, end, score);
            }
        }
    }

    /// An ORGANIZATION span that is a title and names ("Sergeant Ruiz"), or names right after
    /// a title ("Dr. [Maria Schneider]"), is a PERSON; not when its last word names a kind of
    /// place or body ("Lord Howe Island", "Justice Department"). A LOCATION after a title
    /// stays a place ("le colonel [Paris]" is where the colonel is).
    fn titled_names(&mut self) {
        for k in 0..self.ents.len() {
            let e = &self.ents[k];
            if e.label != Label::Organization {
                continue;
            }
            let Some((a, b)) = self.word_range(e.start, e.end) else { continue };
            let titles = (a..=b).take_while(|&x| matches!(self.words[x].shape, Shape::Title(_))).count();
            let after_title = a > 0 && self.joined(a - 1) && matches!(self.words[a - 1].shape, Shape::Title(_));
            let names = (a + titles..=b).all(|x| matches!(self.words[x].shape, Shape::Name | Shape::Initials))
                && (a + titles..=b).any(|x| self.words[x].shape == Shape::Name)
                && (a + titles..b).all(|x| self.joined(x))
                && !PLACE_NOUNS.iter().any(|p| self.words[b].core.eq_ignore_ascii_case(p));
            if names && a + titles <= b && (titles > 0 || after_title) {
                self.ents[k].label = Label::Person;
                self.ents[k].kind = Kind::Any;
            }
        }
    }

    /// Names after titles, and letters standing for a person.
    fn titles(&mut self) {
        for i in 0..self.words.len() {
            let Shape::Title(k) = self.words[i].shape else {
                self.stand_in(i);
                continue;
            };
            // A chain of titles ("Lord Justice", "Herr Dr.") is read from its first.
            if i > 0 && self.joined(i - 1) && matches!(self.words[i - 1].shape, Shape::Title(_)) {
                continue;
            }
            // "Oak Dr", "Notre Dame", "Social Justice": a capitalized word before it makes it
            // part of another name (unless that word only begins a sentence: "Ask Dr Smith").
            if i > 0
                && self.joined(i - 1)
                && self.words[i - 1].shape == Shape::Name
                && !self.person(i - 1)
                && (!self.sentence_start(i - 1) || !TITLES[k].personal)
            {
                continue;
            }
            let mut j = i;
            let mut personal = TITLES[k].personal;
            while self.joined(j) {
                let Shape::Title(k) = self.words[j + 1].shape else { break };
                personal |= TITLES[k].personal;
                j += 1;
            }
            if (i..=j).any(|x| self.blocked(x)) || !self.joined(j) {
                continue;
            }
            if let Some((a, b)) = self.name_after(j + 1, personal) {
                let (s, t) = (self.words[a].start, self.words[b].end);
                self.add_person(s, t, NAME_RULE_SCORE);
            }
        }
    }

    /// The name that begins at word `i` after a title: initials, capitalized words and
    /// particles before a capitalized word, up to [`MAX_NAME_WORDS`] words. Needs a
    /// capitalized word unless `personal` (then a letter will do: "Mrs T.").
    fn name_after(&self, i: usize, personal: bool) -> Option<(usize, usize)> {
        let mut last = None;
        let mut names = 0;
        let mut k = i;
        while k < self.words.len() && k - i < MAX_NAME_WORDS && !self.blocked(k) {
            let w = &self.words[k];
            let take = match w.shape {
                Shape::Name | Shape::Upper => {
                    names += 1;
                    true
                }
                Shape::Initials => true,
                Shape::Letter => w.core != "I",
                Shape::Particle => {
                    (k > i || !ARTICLE_PARTICLES.contains(&w.core)) && self.particles_then_name(k).is_some()
                }
                _ => false,
            };
            if !take {
                break;
            }
            if w.shape != Shape::Particle {
                last = Some(k);
            }
            if !self.joined(k) {
                break;
            }
            k += 1;
        }
        let last = last?;
        (names > 0 || personal).then_some((i, last))
    }

    /// When particles begin at word `i` and a capitalized word follows them, that word
    /// ("de la Tour", "van der Berg", "bin Salman").
    fn particles_then_name(&self, i: usize) -> Option<usize> {
        let mut k = i;
        while k < self.words.len() && self.words[k].shape == Shape::Particle && k - i < 3 {
            let w = &self.words[k];
            let dutch = k > i && matches!(self.words[k - 1].core, "van" | "ter");
            if !self.joined(k) || self.blocked(k) || DUTCH_ARTICLES.contains(&w.core) && !dutch {
                return None;
            }
            k += 1;
        }
        let name = k > i && k < self.words.len() && self.words[k].shape == Shape::Name && !self.blocked(k);
        name.then_some(k)
    }

    /// A letter standing for a person: bracketed after a title or a role ("Mr [K.]", "the
    /// witness (K)"), or bare after a capitalized role ("Child A").
    fn stand_in(&mut self, i: usize) {
        let w = self.words[i];
        let letter = match w.shape {
            Shape::Letter => true,
            Shape::Initials => w.core.chars().count() == 1,
            _ => false,
        };
        if !letter || i == 0 || w.newline_before || w.core == "I" || self.blocked(i) || self.person(i) {
            return;
        }
        let p = &self.words[i - 1];
        let role = ROLES.iter().any(|r| p.core.eq_ignore_ascii_case(r));
        let bracketed = p.trail.is_empty()
            && matches!(w.lead, "[" | "(")
            && matches!(w.trail, "]" | ")" | "]," | ")," | "])" | "].")
            && (role || matches!(p.shape, Shape::Title(_)));
        let after_role = role
            && self.joined(i - 1)
            && p.core.starts_with(char::is_uppercase)
            && !(self.joined(i) && self.words[i + 1].shape == Shape::Name);
        if bracketed || after_role {
            self.add_person(w.start, w.end, NAME_RULE_SCORE);
        }
    }

    /// Names before post-nominals ("Jane Roe QC", "Smith J held", "Haversham LJ").
    fn post_nominals(&mut self) {
        for i in 1..self.words.len() {
            let w = self.words[i];
            let (word, comma) = match w.shape {
                Shape::PostNominal(k) => POST_NOMINALS[k],
                Shape::Letter if w.core == "J" => ("J", false),
                _ => continue,
            };
            let p = i - 1;
            let prev = &self.words[p];
            let after = self.words.get(i + 1).filter(|_| self.joined(i));
            let attached = self.joined(p) || (comma && prev.trail == "," && w.lead.is_empty() && !w.newline_before);
            if !attached
                || prev.shape != Shape::Name
                || LETTERED_NOUNS.iter().any(|n| prev.core.eq_ignore_ascii_case(n))
                // A number after it is a postcode ("Baltimore MD 21201").
                || after.is_some_and(|a| a.core.starts_with(|c: char| c.is_ascii_digit()))
                // "Smith J held", "Smith J's", not "Smith J Pemberton".
                || word == "J" && after.is_some_and(|a| !a.core.starts_with(char::is_lowercase))
                || self.person(p)
            {
                continue;
            }
            if self.blocked(p) {
                self.relabel_judge(p, i, word);
                continue;
            }
            let mut a = p;
            while a > 0 && p - a + 1 < MAX_NAME_WORDS && self.joined(a - 1) && !self.blocked(a - 1) {
                match self.words[a - 1].shape {
                    Shape::Name | Shape::Initials | Shape::Particle => a -= 1,
                    Shape::Letter if !matches!(self.words[a - 1].core, "A" | "I") => a -= 1,
                    _ => break,
                }
            }
            while self.words[a].shape == Shape::Particle {
                a += 1;
            }
            let (s, t) = (self.words[a].start, self.words[p].end);
            self.add_person(s, t, NAME_RULE_SCORE);
        }
    }

    /// "Haversham LJ" read as another label: when that span is a name and the judge's
    /// post-nominal `post` (word `i`) and nothing else, it is a PERSON.
    fn relabel_judge(&mut self, p: usize, i: usize, post: &str) {
        if !JUDICIAL.contains(&post) {
            return;
        }
        let name = self.words[p];
        let Some(e) = self.ents.iter().position(|e| e.label != Label::Person && Self::overlaps(e, &name)) else {
            return;
        };
        let Some((a, b)) = self.word_range(self.ents[e].start, self.ents[e].end) else { return };
        let names = (a..b).all(|k| matches!(self.words[k].shape, Shape::Name | Shape::Initials));
        if names && b == i {
            self.ents[e].label = Label::Person;
            self.ents[e].kind = Kind::Any;
        }
    }

    /// Every PERSON span takes in the initials, particles and surname that belong to it.
    /// Growing one span does not change how another grows, so one pass will do.
    fn extend(&mut self) {
        for (start, end, score) in self.persons() {
            let Some((a, b)) = self.word_range(start, end) else { continue };
            let (a2, b2) = (self.extend_left(a), self.extend_right(a, b));
            if (a2, b2) != (a, b) {
                let (s, t) = (self.words[a2].start.min(start), self.words[b2].end.max(end));
                self.add_person(s, t, score);
            }
        }
    }

    /// The first word of the name whose first word is `a`: the initials before it ("J.
    /// Pemberton", "J Pemberton"). Particles are not taken in leftwards: in German a noun
    /// stands before "von" as often as a given name does ("Officiere von Karl Ferdinand").
    fn extend_left(&self, mut a: usize) -> usize {
        while a > 0 && self.joined(a - 1) && !self.blocked(a - 1) && !self.label_letter(a - 1) {
            match self.words[a - 1].shape {
                Shape::Initials => a -= 1,
                Shape::Letter if !matches!(self.words[a - 1].core, "A" | "I") && self.words[a].shape == Shape::Name => {
                    a -= 1
                }
                _ => break,
            }
        }
        a
    }

    /// The last word of the name whose last word is `b`: a surname after initials, middle
    /// initials and the surname after them, particles and the surname after them.
    fn extend_right(&self, a: usize, mut b: usize) -> usize {
        // A span that ends on particles ("Jean-Pierre de" of "... de la Tour") goes on from
        // its last name word; it never ends up narrower than the model's span.
        while b > a && self.words[b].shape == Shape::Particle {
            b -= 1;
        }
        while b + 1 < self.words.len() && self.joined(b) && !self.blocked(b + 1) && !self.label_letter(b) {
            let (w, next) = (&self.words[b], &self.words[b + 1]);
            match next.shape {
                Shape::Name if w.shape == Shape::Initials || w.shape == Shape::Letter && self.name_so_far(a, b) => {
                    b += 1
                }
                Shape::Initials | Shape::Letter if !self.label_letter(b + 1) => {
                    // Middle initials, then the surname; else a dotted initial of its own.
                    let mut k = b + 1;
                    while k - b < 3
                        && self.joined(k)
                        && matches!(self.words[k + 1].shape, Shape::Initials | Shape::Letter)
                    {
                        k += 1;
                    }
                    let surname = self.joined(k)
                        && self.words[k + 1].shape == Shape::Name
                        && !(b + 1..=k + 1).any(|x| self.blocked(x) || self.words[x].core == "I");
                    if surname {
                        b = k + 1;
                    } else if next.shape == Shape::Initials && w.shape == Shape::Name {
                        b += 1;
                        break;
                    } else {
                        break;
                    }
                }
                // German "von" after a single name is as often "from" ("Giovanni von Bolzano")
                // as nobility ("Franz Kussenitz von Jbenics").
                Shape::Particle
                    if matches!(w.shape, Shape::Name | Shape::Upper)
                        && (next.core != "von" || self.names_in(a, b) >= 2) =>
                {
                    match self.particles_then_name(b + 1) {
                        Some(k) => b = k,
                        None => break,
                    }
                }
                _ => break,
            }
        }
        b
    }

    /// Whether the word at byte `i` is a name, initials, a letter or a title: a lower-case
    /// word the model read as a name stays a span of its own, for [`super::scope`] to judge.
    fn name_like_at(&self, i: usize) -> bool {
        let k = self.words.partition_point(|w| w.end <= i);
        self.words.get(k).is_some_and(|w| {
            w.start <= i
                && matches!(
                    w.shape,
                    Shape::Name
                        | Shape::Upper
                        | Shape::Initials
                        | Shape::Letter
                        | Shape::Title(_)
                        | Shape::PostNominal(_)
                )
        })
    }

    /// Whether words `a..=b` read as one name: titles, names, initials and particles, with
    /// nothing between them ("J", "Mr J", "Anna B"; not "LG G" of "LG G Watch", nor "Decani. K").
    /// A letter without a dot takes a surname only after such a span; initials always do.
    fn name_so_far(&self, a: usize, b: usize) -> bool {
        (a..=b).all(|k| {
            let shape = self.words[k].shape;
            let name_like =
                matches!(shape, Shape::Name | Shape::Initials | Shape::Letter | Shape::Particle | Shape::Title(_));
            name_like && (k == b || self.joined(k))
        })
    }

    /// How many of words `a..=b` are capitalized names.
    fn names_in(&self, a: usize, b: usize) -> usize {
        (a..=b).filter(|&k| self.words[k].shape == Shape::Name).count()
    }

    /// PERSON spans that overlap, or that one space separates, become one; sorts the spans.
    fn join(&mut self) {
        self.ents.sort_by_key(|e| (e.start, e.end));
        let mut out: Vec<Entity> = Vec::with_capacity(self.ents.len());
        for e in std::mem::take(&mut self.ents) {
            if let Some(prev) = out.last_mut() {
                let one_space = e.start == prev.end + 1
                    && self.text.as_bytes().get(prev.end) == Some(&b' ')
                    && self.name_like_at(prev.end - 1)
                    && self.name_like_at(e.start);
                if prev.label == Label::Person && e.label == Label::Person && (e.start <= prev.end || one_space) {
                    prev.end = prev.end.max(e.end);
                    prev.score = prev.score.min(e.score);
                    continue;
                }
            }
            out.push(e);
        }
        self.ents = out;
    }
}

/// The model's spans for a rule's unit test: each `(text, label)` of `model` at the next
/// occurrence of its text in `text`.
#[cfg(test)]
pub(super) fn spans_of(text: &str, model: &[(&str, Label)]) -> Vec<Entity> {
    let mut ents = Vec::new();
    let mut from = 0;
    for (s, label) in model {
        let start = from + text[from..].find(s).expect("model span in text");
        from = start + s.len();
        ents.push(Entity { start, end: from, label: *label, score: 0.9, detector: "ner", kind: Kind::Any });
    }
    ents
}

#[cfg(test)]
mod tests {
    use super::*;
    use Label::{Location, Organization, Person, StreetAddress};

    /// Runs the rules on `text` with the model's spans `model` (each the next occurrence of
    /// its text); the spans after, as `(text, label)`.
    fn run(text: &str, model: &[(&str, Label)]) -> Vec<(String, Label)> {
        let mut ents = spans_of(text, model);
        apply(text, &mut ents);
        for w in ents.windows(2) {
            assert!(w[0].end <= w[1].start, "overlapping spans in {text:?}: {ents:?}");
        }
        ents.iter().map(|e| (text[e.start..e.end].to_string(), e.label)).collect()
    }

    fn persons(text: &str, model: &[(&str, Label)]) -> Vec<String> {
        run(text, model).into_iter().filter(|(_, l)| *l == Person).map(|(s, _)| s).collect()
    }

    /// [`propagate`] on the model's spans `model` (each the first occurrence of its text).
    fn propagated(text: &str, model: &[(&str, Label)]) -> Vec<(String, Label)> {
        let ents: Vec<Entity> = model
            .iter()
            .map(|(s, label)| {
                let start = text.find(s).expect("model span in text");
                Entity { start, end: start + s.len(), label: *label, score: 0.9, detector: "ner", kind: Kind::Any }
            })
            .collect();
        let mut one = [ents];
        propagate(&[text], &mut one);
        let [ents] = one;
        ents.iter().map(|e| (text[e.start..e.end].to_string(), e.label)).collect()
    }

    #[test]
    fn a_name_said_again_is_a_name() {
        let p = |s: &str| (s.to_string(), Person);
        let text = "Pierre Charles L'Enfant was an engineer. L'Enfant served; after the war L'Enfant's badge.";
        assert_eq!(
            propagated(text, &[("Pierre Charles L'Enfant", Person)]),
            vec![p("Pierre Charles L'Enfant"), p("L'Enfant"), p("L'Enfant")]
        );
        let text = "because Ms. Goldsmith called. Goldsmith's test fails.";
        assert_eq!(propagated(text, &[("Goldsmith", Person)]), vec![p("Goldsmith"), p("Goldsmith")]);
        // A one-word name without a title is not enough evidence at a sentence's start, where
        // every word has a capital; nor is a word another span covers.
        assert_eq!(propagated("Jordan called. Jordan is far.", &[("Jordan", Person)]), vec![p("Jordan")]);
        // Inside a sentence of a text that capitalizes little else, it is; the spans' starts
        // after a one-word seed on the last occurrence of `word`.
        let starts_from = |text: &str, word: &str| {
            let seed = text.rfind(word).expect("seed in text");
            let e = Entity {
                start: seed,
                end: seed + word.len(),
                label: Person,
                score: 0.6,
                detector: "ner",
                kind: Kind::Any,
            };
            let mut one = [vec![e]];
            propagate(&[text], &mut one);
            one[0].iter().map(|e| e.start).collect::<Vec<_>>()
        };
        let text = "Goldsmith's test is at odds with the law. Our approach, unlike Goldsmith's, is fair.";
        assert_eq!(starts_from(text, "Goldsmith"), vec![0, text.rfind("Goldsmith").unwrap()]);
        // Not where capitals mark nouns (German) or defined terms (a contract).
        let text = "Die Lage ist ernst. Man sprach über die Lage der Stadt und die Zahl der Opfer.";
        assert_eq!(starts_from(text, "Lage").len(), 1);
        let text = "Ann Baker came. Baker Street is near.";
        assert_eq!(
            propagated(text, &[("Ann Baker", Person), ("Baker Street", StreetAddress)]),
            vec![p("Ann Baker"), ("Baker Street".to_string(), StreetAddress)]
        );
        // Lower case is not the name.
        assert_eq!(propagated("Ann Rose came. A rose.", &[("Ann Rose", Person)]), vec![p("Ann Rose")]);
        // Across the texts of one request: a name from one message is a name in the next.
        let texts = ["Hi, I am Jane Okafor.", "Okafor again: did you get it?", "No names here."];
        let mut ents = vec![
            vec![Entity { start: 9, end: 20, label: Person, score: 0.9, detector: "ner", kind: Kind::Any }],
            Vec::new(),
            Vec::new(),
        ];
        propagate(&texts, &mut ents);
        assert_eq!(&texts[1][ents[1][0].start..ents[1][0].end], "Okafor");
        assert!(ents[2].is_empty());
    }

    #[test]
    fn word_shapes() {
        for (core, dot, shape) in [
            ("J", true, Shape::Initials),
            ("A.B", true, Shape::Initials),
            ("J.-P", true, Shape::Initials),
            ("J", false, Shape::Letter),
            ("Pemberton", false, Shape::Name),
            ("Müller-Schmidt", false, Shape::Name),
            ("O'Malley", false, Shape::Name),
            ("d’Estaing", false, Shape::Name),
            ("al-Hassan", false, Shape::Name),
            ("McDonald", false, Shape::Name),
            ("van", false, Shape::Particle),
            ("Mr", true, Shape::Title(0)),
            ("QC", false, Shape::PostNominal(0)),
            ("NASA", false, Shape::Upper),
            ("POINCARÉ", false, Shape::Upper),
            ("U.S", true, Shape::Other),
            ("iPhone", false, Shape::Other),
            ("The", false, Shape::Other),
            ("Anna-based", false, Shape::Other),
            ("Ji-woo", false, Shape::Name),
            ("Seo-yeon", false, Shape::Name),
            ("Mei-ling", false, Shape::Name),
            ("Hsiao-wen", false, Shape::Name),
            ("Co-op", false, Shape::Other),
            ("Re-use", false, Shape::Other),
            ("Self-made", false, Shape::Other),
            ("Well-known", false, Shape::Other),
            ("Sci-fi", false, Shape::Other),
            ("AB", true, Shape::Upper),
            ("x", false, Shape::Other),
            ("Fr", false, Shape::Name),
            ("42nd", false, Shape::Other),
        ] {
            assert_eq!(classify(core, dot), shape, "{core:?} dot={dot}");
        }
        let ws = words("(Mr. [K.], Smith's) \n J.-P.");
        let got: Vec<(&str, &str, &str, bool)> =
            ws.iter().map(|w| (w.lead, w.core, w.trail, w.newline_before)).collect();
        assert_eq!(
            got,
            [("(", "Mr", "", false), ("[", "K", "],", false), ("", "Smith", "'s)", false), ("", "J.-P", "", true)]
        );
        assert_eq!(&"(Mr. [K.], Smith's) \n J.-P."[ws[1].start..ws[1].end], "K.");
    }

    #[test]
    fn initials_join_the_surname_the_model_read() {
        // The model read only the initial, or only the surname.
        let t = "represented by Mr J. Pemberton of the Home Office";
        assert_eq!(persons(t, &[("J", Person)]), ["J. Pemberton"]);
        assert_eq!(persons(t, &[("Pemberton", Person)]), ["J. Pemberton"]);
        assert_eq!(persons("counsel Ms A. Okonkwo, for the claimant", &[("A.", Person)]), ["A. Okonkwo"]);
        assert_eq!(persons("signed by J Pemberton today", &[("Pemberton", Person)]), ["J Pemberton"]);
        assert_eq!(persons("A.B. Carter was appointed", &[("Carter", Person)]), ["A.B. Carter"]);
        // A misread "J." inside "J.-P." goes into the name.
        let got = run("and J.-P. Leclerc were appointed", &[("J.", Organization), ("P. Leclerc", Person)]);
        assert_eq!(got, [("J.-P. Leclerc".to_string(), Person)]);
        // Middle initials, and a trailing one.
        assert_eq!(persons("ask John F. Kennedy now", &[("John", Person)]), ["John F. Kennedy"]);
        assert_eq!(persons("ask J. R. R. Tolkien now", &[("J.", Person)]), ["J. R. R. Tolkien"]);
        assert_eq!(persons("tell Anna B. thanks", &[("Anna", Person)]), ["Anna B."]);
    }

    #[test]
    fn initials_do_not_take_in_ordinary_words() {
        // No model span, no title: nothing.
        for t in [
            "I. Introduction",
            "Section A. Scope",
            "We need a Plan B for this",
            "Vitamin D helps",
            "World War I ended",
            "Type A personality",
            "send it to a@b.io",
        ] {
            assert_eq!(run(t, &[]), [], "{t}");
        }
        // The model misread the letter: it is not grown into the next word.
        assert_eq!(persons("I. Introduction", &[("I.", Person)]), ["I."]);
        assert_eq!(persons("Section A. Scope", &[("A.", Person)]), ["A."]);
        assert_eq!(persons("Plan B Smith", &[("B", Person)]), ["B"]);
        // "A" and "I" are words; "I" is no middle initial.
        assert_eq!(persons("A Smith family", &[("Smith", Person)]), ["Smith"]);
        assert_eq!(persons("Anna I Smith", &[("Anna", Person)]), ["Anna"]);
        // Abbreviations are no initials; a sentence's end is none either.
        assert_eq!(persons("the U.S. Trump administration", &[("Trump", Person)]), ["Trump"]);
        assert_eq!(persons("I met Anna. B. Smith came", &[("Anna", Person)]), ["Anna"]);
        // Only a name so far takes the surname: not "LG G" + "Watch", nor "Decani. K" + "Namen".
        assert_eq!(persons("the LG G Watch is out", &[("LG G", Person)]), ["LG G"]);
        assert_eq!(persons("Gustav Decani. K Namen", &[("Gustav Decani. K", Person)]), ["Gustav Decani. K"]);
        assert_eq!(persons("the Tranche B Cash Payment", &[("Cash", Person)]), ["Cash"]);
        // Dotted initials take the surname after any span.
        assert_eq!(persons("par VITICULTURE H. Latière", &[("VITICULTURE H.", Person)]), ["VITICULTURE H. Latière"]);
        // French elision is no initial, nor a judge's "J".
        assert_eq!(persons("Si J' on entre", &[]), Vec::<String>::new());
        assert_eq!(persons("et L'Enfant dit", &[("Enfant", Person)]), ["L'Enfant"]);
        // A surname after initials is not taken from another label.
        let got = run("J. Paris office", &[("J.", Person), ("Paris", Location)]);
        assert_eq!(got, [("J.".to_string(), Person), ("Paris".to_string(), Location)]);
    }

    #[test]
    fn a_title_starts_a_name_the_model_missed() {
        assert_eq!(persons("Mr J. Pemberton of the Home Office", &[]), ["J. Pemberton"]);
        assert_eq!(persons("Sir Keir Starmer spoke", &[("Keir", Person)]), ["Keir Starmer"]);
        assert_eq!(persons("ask Dr. Amal Haddad about it", &[]), ["Amal Haddad"]);
        assert_eq!(persons("Prof. Wojciechowski will chair", &[]), ["Wojciechowski"]);
        assert_eq!(persons("Frau Müller-Lüdenscheidt kommt", &[]), ["Müller-Lüdenscheidt"]);
        assert_eq!(persons("M. Dupont a déclaré", &[]), ["Dupont"]);
        assert_eq!(persons("UN DISCOURS DE M. POINCARÉ Paris", &[("Paris", Location)]), ["POINCARÉ"]);
        assert_eq!(persons("J. M. Barrie wrote", &[("Barrie", Person)]), ["J. M. Barrie"]);
        // A chain of titles; the model's title span joins the name.
        let got = persons("Lord Justice Haversham said", &[("Lord", Person), ("Justice", Person)]);
        assert_eq!(got, ["Lord Justice Haversham"]);
        assert_eq!(persons("Lord Justice Haversham said", &[]), ["Haversham"]);
        assert_eq!(persons("Herr Dr. Ottokar Brzezinski ist krank", &[]), ["Ottokar Brzezinski"]);
        // Particles inside, not at the end; at most four words.
        assert_eq!(persons("Mr Pemberton-Smythe de la Tour arrived", &[]), ["Pemberton-Smythe de la Tour"]);
        assert_eq!(persons("Mr Smith de la maison", &[]), ["Smith"]);
        assert_eq!(persons("Judge Anna Maria Lucia Rossi Bianchi ruled", &[]), ["Anna Maria Lucia Rossi"]);
    }

    #[test]
    fn a_lower_case_rank_or_profession_starts_a_name_in_romance_languages() {
        assert_eq!(
            persons("citons le capitaine Clavenad et le lieutenant de Vassetof", &[]),
            ["Clavenad", "de Vassetof"]
        );
        assert_eq!(
            persons("Marie Trotin, veuve Andrieux, 75 ans", &[("Marie Trotin", Person)]),
            ["Marie Trotin", "Andrieux"]
        );
        assert_eq!(persons("défendu par maître Delamotte, qui sollicite", &[]), ["Delamotte"]);
        assert_eq!(persons("lo ha detto il dottor Rossi ieri", &[]), ["Rossi"]);
        assert_eq!(persons("habló el teniente Ruiz con la señora Gómez", &[]), ["Ruiz", "Gómez"]);
        assert_eq!(persons("sammelten Graf Teleki und Oberst Redl", &[]), ["Teleki", "Redl"]);
        // Not a name: a place the model read, a lower-case word, English words of the same
        // meaning (left out of the list).
        assert_eq!(persons("le général de l'armée", &[]), Vec::<String>::new());
        assert_eq!(persons("le colonel Paris", &[("Paris", Location)]), Vec::<String>::new());
        assert_eq!(persons("in general Windows users ask a doctor ASAP", &[]), Vec::<String>::new());
    }

    #[test]
    fn a_title_before_no_name_gives_nothing() {
        for t in [
            "Mr and Mrs",
            "Dear Sir, thank you",
            "the Lord of the Rings",
            "I Miss You So Much",
            "Justice For All",
            "Sr. Software Engineer at Acme",
            "Rev B of the drawing",
            "Fr 12:00",
            "Herr der Ringe",
            "Social Justice Warriors",
            "Notre Dame Cathedral",
        ] {
            assert_eq!(persons(t, &[]), Vec::<String>::new(), "{t}");
        }
        // The title is part of an address or an organization the model read.
        assert_eq!(persons("at 12 Oak Dr. Springfield", &[("12 Oak Dr", StreetAddress)]), Vec::<String>::new());
        assert_eq!(
            persons("the Justice Department said", &[("Justice Department", Organization)]),
            Vec::<String>::new()
        );
        assert_eq!(persons("the Lady Margaret Hall", &[("Lady Margaret Hall", Organization)]), Vec::<String>::new());
    }

    #[test]
    fn a_letter_after_a_title_or_a_role_stands_for_a_person() {
        assert_eq!(persons("Mr and Mrs T. sued the council", &[]), ["T."]);
        assert_eq!(persons("Patient Mrs E. was seen", &[("Mrs", Person)]), ["Mrs E."]);
        assert_eq!(persons("Mr X said", &[]), ["X"]);
        assert_eq!(persons("the witness [K.] stated", &[]), ["K."]);
        assert_eq!(persons("The mother (K) gave evidence", &[]), ["K"]);
        assert_eq!(persons("Ms [B], the tenant", &[]), ["B"]);
        assert_eq!(persons("Child A was placed with Witness B.", &[]), ["A", "B."]);
        // Not a role, not a title, not a letter.
        for t in ["see Table (A) below", "the witness (KL) said", "option [B] is best", "Sir I will", "Yes Sir I"] {
            assert_eq!(persons(t, &[]), Vec::<String>::new(), "{t}");
        }
        // "Child A. Smith": the letter is an initial of the name that follows.
        assert_eq!(persons("Patient J. Smith", &[("Smith", Person)]), ["J. Smith"]);
    }

    #[test]
    fn a_capitalized_word_after_a_contact_verb_is_a_name() {
        // The model read the verb as a street or a person and missed the name.
        assert_eq!(run("Call Peter tomorrow.", &[("Call", StreetAddress)]), [("Peter".to_string(), Person)]);
        assert_eq!(
            run("Ring Anna Müller about it", &[("Ring", StreetAddress), ("Anna Müller", Person)]),
            [("Anna Müller".to_string(), Person)]
        );
        assert!(run("ring me when you land", &[("ring", Person)]).is_empty());
        assert_eq!(persons("please email Sarah Okafor today", &[]), ["Sarah Okafor"]);
        assert_eq!(persons("I will. Text Tom when you arrive", &[]), ["Tom"]);
        // Not a plain name, a common word, mid-sentence capitals, or an address the model read.
        for t in [
            "Call Center software",
            "Email Marketing tips",
            "Ask HN: which editor?",
            "How do I call GetUser here?",
            "the Call Peter made",
            "Contact Support if it fails",
        ] {
            assert_eq!(persons(t, &[]), Vec::<String>::new(), "{t}");
        }
        assert_eq!(run("ring Baker Street", &[("Baker Street", StreetAddress)])[0].1, StreetAddress);
    }

    #[test]
    fn a_capitalized_word_after_a_self_introduction_is_a_name() {
        assert_eq!(persons("hi I'm Wojtek, the new guy", &[]), ["Wojtek"]);
        assert_eq!(persons("Hello, I am Xiadani Okoro.", &[("I am", Person)]), ["Xiadani Okoro"]);
        assert_eq!(persons("my name is Zbyszek", &[]), ["Zbyszek"]);
        assert_eq!(persons("Bonjour, je m'appelle Aurélien.", &[]), ["Aurélien"]);
        assert_eq!(persons("Hola, me llamo Itziar.", &[]), ["Itziar"]);
        // A model span from the cue into the name starts at the name; one on "im" alone goes.
        assert_eq!(persons("I'm Wojtek here", &[("I'm Wojtek", Person)]), ["Wojtek"]);
        assert!(run("im tomasz and my email is below", &[("im", Person)]).is_empty());
        assert_eq!(persons("hey im Sven lol", &[]), ["Sven"]);
        assert_eq!(persons("im Zbyszek from billing", &[]), ["Zbyszek"]);
        // A common word, German "im" before a noun, a cue glued to a symbol, or no cue.
        for t in [
            "I'm Happy to help",
            "Im Rahmen der Sitzung",
            "Wir treffen uns im Januar",
            "Termin im Rathaus",
            "Is I'm, Zbyszek",
            "Zbyszek is here",
        ] {
            assert_eq!(persons(t, &[]), Vec::<String>::new(), "{t}");
        }
    }

    #[test]
    fn a_title_and_names_read_as_an_organization_are_a_person() {
        assert_eq!(
            run("Detective Sergeant Ruiz interviewed him", &[("Sergeant Ruiz", Organization)]),
            [("Sergeant Ruiz".to_string(), Person)]
        );
        assert_eq!(
            run("and ring Dr. Maria Schneider", &[("Maria Schneider", Organization)]),
            [("Maria Schneider".to_string(), Person)]
        );
        // A place or body a title begins, and an organization with no title, stay.
        assert_eq!(run("on Lord Howe Island", &[("Lord Howe Island", Organization)])[0].1, Organization);
        assert_eq!(run("at Acme Widgets", &[("Acme Widgets", Organization)])[0].1, Organization);
    }

    #[test]
    fn a_name_stands_before_a_post_nominal() {
        assert_eq!(persons("Smith J held that the claim failed", &[]), ["Smith"]);
        assert_eq!(persons("In Smith J's judgment", &[]), ["Smith"]);
        assert_eq!(persons("Jane Roe QC appeared", &[]), ["Jane Roe"]);
        assert_eq!(persons("for the appellant, Jane Roe, QC, submitted", &[]), ["Jane Roe"]);
        assert_eq!(persons("Amal Haddad MD signed", &[]), ["Amal Haddad"]);
        assert_eq!(persons("Dr Amal Haddad MD signed", &[("Amal Haddad", Person)]), ["Amal Haddad"]);
        assert_eq!(persons("written by Noa Ben-David PhD", &[]), ["Noa Ben-David"]);
        // The model's span with the post-nominal in it stands.
        assert_eq!(persons("Jane Roe QC appeared", &[("Jane Roe QC", Person)]), ["Jane Roe QC"]);
        // A judge read as an address.
        assert_eq!(
            run("Haversham LJ agreed.", &[("Haversham LJ", StreetAddress)]),
            [("Haversham LJ".to_string(), Person)]
        );
        // Not a name: a lettered noun, a postcode, a place, "J" before a capitalized word.
        for (t, model) in [
            ("see Exhibit J for details", &[][..]),
            ("Baltimore MD 21201", &[][..]),
            ("Baltimore, MD", &[][..]),
            ("the heat in Columbia SC today", &[][..]),
            ("in Baltimore MD", &[("Baltimore MD", Location)][..]),
            ("Smith J Pemberton", &[][..]),
            ("the Plan J is", &[][..]),
        ] {
            assert_eq!(persons(t, model), Vec::<String>::new(), "{t}");
        }
    }

    #[test]
    fn hyphenated_apostrophe_and_particle_surnames_are_one_name() {
        assert_eq!(
            persons("belonged to Jean-Pierre de la Tour.", &[("Jean-Pierre de", Person)]),
            ["Jean-Pierre de la Tour"]
        );
        assert_eq!(persons("by Noa Ben-David and", &[("Noa Ben", Person), ("David", Person)]), ["Noa Ben-David"]);
        assert_eq!(persons("Anna Müller-Schmidt joined", &[("Anna Müller", Person)]), ["Anna Müller-Schmidt"]);
        assert_eq!(persons("Fr. O'Malley said mass", &[("Malley", Person)]), ["O'Malley"]);
        assert_eq!(persons("Fr. O'Malley said mass", &[]), ["O'Malley"]);
        let t = "letters of Ludwig van Beethoven to";
        assert_eq!(persons(t, &[("Ludwig", Person), ("Beethoven", Person)]), ["Ludwig van Beethoven"]);
        assert_eq!(persons(t, &[("Ludwig", Person)]), ["Ludwig van Beethoven"]);
        // Not leftwards: German puts nouns before "von" ("Officiere von Karl Ferdinand").
        assert_eq!(persons(t, &[("Beethoven", Person)]), ["Beethoven"]);
        let got = persons("die Officiere von Karl Ferdinand", &[("Karl Ferdinand", Person)]);
        assert_eq!(got, ["Karl Ferdinand"]);
        // "von" after one name is "from"; after a full name it is nobility.
        assert_eq!(persons("Giovanni von Bolzano kam", &[("Giovanni", Person)]), ["Giovanni"]);
        let got = persons("Franz Kussenitz von Jbenics", &[("Franz Kussenitz", Person)]);
        assert_eq!(got, ["Franz Kussenitz von Jbenics"]);
        assert_eq!(persons("met Charles de Gaulle", &[("Charles", Person)]), ["Charles de Gaulle"]);
        assert_eq!(persons("met Mohammed bin Salman", &[("Mohammed", Person)]), ["Mohammed bin Salman"]);
        assert_eq!(persons("met Anna van der Berg", &[("Anna", Person)]), ["Anna van der Berg"]);
        // Not over a place, an article alone, a lower-case word, nor "von der" + a noun.
        let got = run("Pierre de Paris", &[("Pierre", Person), ("Paris", Location)]);
        assert_eq!(got, [("Pierre".to_string(), Person), ("Paris".to_string(), Location)]);
        assert_eq!(persons("Anna de la maison", &[("Anna", Person)]), ["Anna"]);
        assert_eq!(persons("Herr Schmidt von der Bank", &[("Schmidt", Person)]), ["Schmidt"]);
        assert_eq!(persons("Anna-based teams", &[("Anna", Person)]), ["Anna"]);
    }

    #[test]
    fn person_spans_one_space_apart_join_and_others_stay_apart() {
        assert_eq!(
            persons("Dr Ottokar Brzezinski", &[("Dr", Person), ("Ottokar Brzezinski", Person)]),
            ["Dr Ottokar Brzezinski"]
        );
        assert_eq!(persons("Anna, Bob", &[("Anna", Person), ("Bob", Person)]), ["Anna", "Bob"]);
        assert_eq!(persons("Anna\nBob", &[("Anna", Person), ("Bob", Person)]), ["Anna", "Bob"]);
        // Other labels are not touched; spans come back sorted.
        let got = run("Acme Ltd hired J. Smith", &[("Acme Ltd", Organization), ("Smith", Person)]);
        assert_eq!(got, [("Acme Ltd".to_string(), Organization), ("J. Smith".to_string(), Person)]);
        assert_eq!(run("", &[]), []);
        assert_eq!(run("  \n ", &[]), []);
    }

    #[test]
    fn a_name_before_a_reporting_verb_or_after_a_quoted_said_is_a_name() {
        assert_eq!(persons("Heald said the two are linked.", &[]), ["Heald"]);
        assert_eq!(persons("As Hu Shih wrote in 1922, the language changed.", &[]), ["Hu Shih"]);
        assert_eq!(persons("\"We will win,\" said Okafor.", &[]), ["Okafor"]);
        assert_eq!(persons("\"It works,\" said Tanvir Ahmed, smiling.", &[]), ["Tanvir Ahmed"]);
        // Not after an article or possessive, not a common word, not in another entity, not
        // a "said" that no quote or comma comes before, not a speaker written in capitals.
        for t in [
            "The Board said the merger would close.",
            "his Honour noted the delay",
            "Officials said the road would reopen.",
            "Police said nothing.",
            "the agreement said Okafor would pay",
            "NASA said the launch slipped.",
        ] {
            assert_eq!(persons(t, &[]), Vec::<String>::new(), "{t}");
        }
        assert_eq!(run("Google said so", &[("Google", Organization)]), [("Google".to_string(), Organization)]);
    }

    #[test]
    fn a_name_after_a_kinship_or_social_noun_is_a_name() {
        assert_eq!(persons("His third daughter Lensey, born in 1929, writes.", &[]), ["Lensey"]);
        assert_eq!(persons("my colleague Priyanka Okonjo will review it", &[]), ["Priyanka Okonjo"]);
        // Capitalized, or a common word, or a noun that as often stands before a thing.
        assert_eq!(persons("my sister Grace", &[]), ["Grace"]);
        for t in
            ["the Daughter Lensey", "your colleague Support will reply", "our baby Yoda plush", "my partner Deloitte"]
        {
            assert_eq!(persons(t, &[]), Vec::<String>::new(), "{t}");
        }
    }

    #[test]
    fn names_in_a_list_with_a_name_and_surnames_before_given_names_are_names() {
        let yang = [("Yang", Person)];
        assert_eq!(persons("Both Okonjo and Yang were known for it.", &yang), ["Okonjo", "Yang"]);
        let linnea = [("Linnea", Person)];
        assert_eq!(persons("Draft a message to Ji-woo and Linnea today.", &linnea), ["Ji-woo", "Linnea"]);
        assert_eq!(persons("We tried Hip-hop and Linnea sang.", &linnea), ["Linnea"]);
        assert_eq!(
            persons("the youngsters Okafor, Lindqvist and Baptiste came", &[("Okafor", Person)]),
            ["Okafor", "Lindqvist", "Baptiste"]
        );
        // A list entry "Surname Given, ...", the order of official lists.
        assert_eq!(persons("Lungenentzündung. Hittinger Maria, 37 J.", &[("Maria", Person)]), ["Hittinger Maria"]);
        assert_eq!(
            persons("Participants: Okonjo Chidi, Nagy Eszter.", &[("Chidi", Person), ("Eszter", Person)]),
            ["Okonjo Chidi", "Nagy Eszter"]
        );
        // Common words and articles stay out; a name inside a sentence takes no word before it.
        assert_eq!(persons("the Rust and Ada teams", &[("Ada", Person)]), ["Ada"]);
        assert_eq!(persons("Thanks Maria, see you", &[("Maria", Person)]), ["Maria"]);
        assert_eq!(persons("We met Okonkwo Maria, there", &[("Maria", Person)]), ["Maria"]);
        assert_eq!(persons("Ask the Okafor and Jones team", &[("Jones", Person)]), ["Jones"]);
        // A comma list needs its "and": an entry's next field is not a name.
        assert_eq!(
            persons("with Okafor, Lindqvist, Baptiste or Mensah", &[("Baptiste", Person)]),
            ["Okafor", "Lindqvist", "Baptiste", "Mensah"]
        );
        assert_eq!(persons("Welek Maria, Handarbeiterin, 42 J.", &[("Welek Maria", Person)]), ["Welek Maria"]);
        // A long chain is taken whole, however far from the name the model read.
        let chain: Vec<String> =
            (0..300).map(|i| format!("Okonjo{}", "abcdefghij".chars().nth(i % 10).unwrap())).collect();
        let text = format!("{} came.", chain.join(" and "));
        let got = persons(&text, &[(chain[150].as_str(), Person)]);
        assert_eq!(got.len(), 300, "{:?}", &got[..3]);
    }

    #[test]
    fn an_elided_surname_inside_a_sentence_is_a_name() {
        assert_eq!(persons("the Marquis commissioned L'Enfant to paint it", &[]), ["L'Enfant"]);
        assert_eq!(persons("After the war, D'Souza designed the badge.", &[]), ["D'Souza"]);
        // French begins sentences so: "L'Assemblée a voté".
        assert_eq!(persons("L'Assemblée a voté la loi.", &[]), Vec::<String>::new());
        assert_eq!(persons("dans L'humanité", &[]), Vec::<String>::new());
    }

    #[test]
    fn a_name_split_by_a_line_end_hyphen_or_letter_spacing_is_one_name() {
        assert_eq!(persons("die Erklärung Cham- berlains im Unterhause", &[("Cham", Person)]), ["Cham- berlains"]);
        assert_eq!(persons("des Herrn Kort- leltner wurde", &[("leltner", Person)]), ["Kort- leltner"]);
        assert_eq!(persons("Stickfluß. W e l e k Maria, Handarbeiterin", &[("Maria", Person)]), ["W e l e k Maria"]);
        // A hyphen before "and", and spaced small letters, stay as they are.
        assert_eq!(persons("the pre- and post-processing by Huber", &[("Huber", Person)]), ["Huber"]);
        assert_eq!(persons("steps a b c Maria", &[("Maria", Person)]), ["Maria"]);
    }

    #[test]
    fn multibyte_text_keeps_char_boundaries() {
        let t = "Ärztin Dr. Zoë Ōtsuka-Łukasz und Frau Ü. Çelik 👋 Mr [Ž.] — Smith J’s";
        let mut ents = Vec::new();
        apply(t, &mut ents);
        let got: Vec<&str> = ents.iter().map(|e| &t[e.start..e.end]).collect();
        assert_eq!(got, ["Zoë Ōtsuka-Łukasz", "Ü. Çelik", "Ž.", "Smith"]);
    }
}
