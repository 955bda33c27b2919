//! Phone numbers for the pattern detector (`super`). A permissive regex finds runs of digits
//! and separators; whole-group windows of a run are then tried longest first and validated
//! with the `phonenumber` crate: `+`/`00` numbers without a region, others as US first
//! (NANP shapes such as `(555) 123-4567` are accepted on shape alone), then trunk-prefixed
//! national formats of common regions. Dates, times, IPs, versions, card numbers and SSNs
//! are excluded by shape before any parsing. Extensions (`x123`, `ext. 12`) are included.

use super::card::is_card;
use super::{entity, number_end, number_start};
use crate::mask::{Entity, Label};
use phonenumber::country::Id;
use regex::Regex;
use std::collections::HashMap;
use std::sync::Mutex;

/// Regions tried for national numbers written with a trunk `0`.
const TRUNK_REGIONS: &[Id] = &[Id::GB, Id::DE, Id::FR, Id::IT, Id::NL, Id::AT, Id::CH, Id::BE, Id::IN, Id::AU];

/// At most this many digit groups in one number.
const MAX_GROUPS: usize = 8;

/// Verdicts kept before the cache is emptied. Chat clients resend the whole history every
/// turn, so the same numbers come back again and again; parsing one costs 5–30 µs.
const CACHE_CAP: usize = 4096;

pub(super) struct Phones {
    run: Regex,
    /// [`PHONE_WORDS`], ASCII case-insensitive.
    words: aho_corasick::AhoCorasick,
    /// Validation verdict per candidate window text.
    cache: Mutex<HashMap<Box<str>, bool>>,
}

impl Phones {
    pub(super) fn new() -> Self {
        // The phone metadata database is decoded on first use (tens of milliseconds): do it
        // now rather than inside the first request.
        let _ = phonenumber::parse(None, "+14155552671").map(|n| phonenumber::is_valid(&n));
        Phones {
            run: Regex::new(r"[+(]?[0-9](?:[()\-. /]{0,3}[0-9]){6,}").expect("phone regex is valid; this is a bug"),
            words: aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(PHONE_WORDS)
                .expect("phone words build; this is a bug"),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// `out` already holds the other patterns' findings; numbers overlapping them (the digits
    /// of a card or an IBAN) are not phones.
    pub(super) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        let taken: Vec<(usize, usize)> = out.iter().map(|e| (e.start, e.end)).collect();
        for m in self.run.find_iter(text) {
            self.find_in_run(text, (m.start(), m.end()), &taken, out);
        }
    }

    /// A phone word within 40 bytes before the run or 16 bytes after it.
    fn has_context(&self, text: &str, start: usize, end: usize) -> bool {
        let b = text.as_bytes();
        let before = &b[start.saturating_sub(40)..start];
        let after = &b[end..(end + 16).min(b.len())];
        self.words.is_match(before) || self.words.is_match(after)
    }

    /// Cached [`is_phone`].
    fn valid(&self, w: &str, groups: &[(usize, usize)]) -> bool {
        if let Some(v) = self.cache.lock().ok().and_then(|c| c.get(w).copied()) {
            return v;
        }
        let v = is_phone(w, groups);
        if let Ok(mut c) = self.cache.lock() {
            if c.len() >= CACHE_CAP {
                c.clear();
            }
            c.insert(w.into(), v);
        }
        v
    }

    fn find_in_run(&self, text: &str, (start, end): (usize, usize), taken: &[(usize, usize)], out: &mut Vec<Entity>) {
        let b = text.as_bytes();
        let groups = super::card::digit_groups(text, start, end);
        // Separator text before group i (between group i-1 and i); can a number span it?
        let joins: Vec<bool> = (0..groups.len())
            .map(|i| {
                i > 0
                    && matches!(
                        &text[groups[i - 1].1..groups[i].0],
                        "-" | "." | " " | "/" | ") " | ")" | " (" | ")-" | " - "
                    )
            })
            .collect();
        // Can a number start at group i / end after group i?
        let can_start = |i: usize| i == 0 || !joins[i] || text[groups[i - 1].1..groups[i].0].contains(' ');
        let can_end = |i: usize| i + 1 == groups.len() || can_start(i + 1);
        // Whether a phone word stands near this run; looked up once, only when needed.
        let mut context: Option<bool> = None;
        let mut g = 0;
        while g < groups.len() {
            if !can_start(g) {
                g += 1;
                continue;
            }
            // Window start: include a `+` or `(` right before the first group.
            let mut s = groups[g].0;
            if s > start && matches!(b[s - 1], b'+' | b'(') {
                s -= 1;
            }
            let mut ends = Vec::new();
            for (last, joined) in joins.iter().enumerate().skip(g).take(MAX_GROUPS) {
                if last > g && !joined {
                    break;
                }
                if can_end(last) {
                    ends.push(last);
                }
            }
            let mut hit = None;
            let ends_ok = |e: usize| {
                number_end(text, e) || extension_len(&text[e..]).is_some_and(|x| super::word_end(text, e + x))
            };
            for &last in ends.iter().rev() {
                let e = groups[last].1;
                let free = !taken.iter().any(|(ts, te)| *ts < e && s < *te);
                if free && number_start(text, s) && ends_ok(e) && self.valid(&text[s..e], &groups[g..=last]) {
                    hit = Some((last, e));
                    break;
                }
            }
            // Local numbers in many national formats (`467 3395`, `60-56-85-91`) cannot be
            // validated without knowing the country; accept them next to a phone word.
            if hit.is_none() && *context.get_or_insert_with(|| self.has_context(text, start, end)) {
                for &last in ends.iter().rev() {
                    let e = groups[last].1;
                    let free = !taken.iter().any(|(ts, te)| *ts < e && s < *te);
                    if free && number_start(text, s) && ends_ok(e) && local_shape(&text[s..e], &groups[g..=last]) {
                        hit = Some((last, e));
                        break;
                    }
                }
            }
            match hit {
                Some((last, mut e)) => {
                    if let Some(x) = extension_len(&text[e..]) {
                        if super::word_end(text, e + x) {
                            e += x;
                        }
                    }
                    out.push(entity(s, e, Label::Phone, 0.9));
                    g = last + 1;
                }
                None => g += 1,
            }
        }
    }
}

/// Length of an extension such as ` x123`, `ext. 12` or ` extension 7` at the start of `rest`.
fn extension_len(rest: &str) -> Option<usize> {
    let b = rest.as_bytes();
    let mut i = usize::from(b.first() == Some(&b' '));
    let word = ["extension", "ext.", "ext", "x"]
        .into_iter()
        .find(|w| b.get(i..i + w.len()).is_some_and(|s| s.eq_ignore_ascii_case(w.as_bytes())))?;
    i += word.len();
    i += usize::from(b.get(i) == Some(&b' '));
    let digits = b[i.min(b.len())..].iter().take_while(|c| c.is_ascii_digit()).count();
    (1..=6).contains(&digits).then_some(i + digits)
}

/// Validates one candidate `w`, whose digit groups are `groups` (byte ranges in the text).
fn is_phone(w: &str, groups: &[(usize, usize)]) -> bool {
    let lens: Vec<usize> = groups.iter().map(|(s, e)| e - s).collect();
    let digits: String = w.chars().filter(char::is_ascii_digit).collect();
    let n = digits.len();
    let seps: String = w.chars().filter(|c| !c.is_ascii_digit()).collect();
    let intl = w.starts_with('+') || w.starts_with("00");
    if !(7..=17).contains(&n) || looks_like_other(w, &lens, &seps) {
        return false;
    }
    if intl {
        // `+41 (0)96 ...`: the bracketed trunk zero is not dialled from abroad.
        let digits: String = if w.contains("(0)") {
            w.replacen("(0)", "", 1).chars().filter(char::is_ascii_digit).collect()
        } else {
            digits
        };
        let national = digits.strip_prefix("00").unwrap_or(&digits);
        if !(7..=15).contains(&national.len()) {
            return false;
        }
        let Ok(number) = phonenumber::parse(None, format!("+{national}")) else {
            return false;
        };
        if phonenumber::is_valid(&number) {
            return true;
        }
        // A `+` with an assigned country code and a plausible length is a phone number even
        // when its range is unassigned or reserved for fiction (`+44 7700 900...`). (The
        // number's region, `country().id()`, is only known for valid numbers: ask the
        // metadata whether the calling code exists.)
        let assigned = phonenumber::metadata::DATABASE.by_code(&number.code().value()).is_some();
        if w.starts_with('+') && assigned && (8..=15).contains(&national.len()) {
            return true;
        }
        // NANP numbers with fictional area codes such as 555 still look like phones.
        return number.code().value() == 1 && nanp_shape(&lens, &digits) && seps.len() >= 2;
    }
    if n > 12 || seps.is_empty() {
        return false;
    }
    if nanp_shape(&lens, &digits) {
        return true;
    }
    if digits.starts_with('0') {
        // National format with a trunk prefix: every group at least two digits, the first
        // (area code) two to five.
        if lens.iter().any(|l| *l < 2) || lens[0] > 5 || !(9..=12).contains(&n) {
            return false;
        }
        return TRUNK_REGIONS.iter().any(|r| valid_in(*r, &digits));
    }
    // Without a trunk prefix only the usual mobile shapes: Spain 6xx xxx xxx / 6xx xx xx xx,
    // India 98765 43210.
    let first = digits.as_bytes().first().copied().unwrap_or(b'0');
    let es_shape = lens == [3, 3, 3] || lens == [3, 2, 2, 2];
    if n == 9 && matches!(first, b'6' | b'7' | b'9') && es_shape {
        return valid_in(Id::ES, &digits);
    }
    if n == 10 && (b'6'..=b'9').contains(&first) && lens == [5, 5] {
        return valid_in(Id::IN, &digits);
    }
    false
}

/// Words that announce a phone number, looked for shortly before (or, like `office` and
/// `fax` in address blocks, right after) a candidate. ASCII-lower-cased comparison.
const PHONE_WORDS: &[&str] = &[
    "phone",
    "tel",
    "mobile",
    "cell",
    "fax",
    "call",
    "sms",
    "text me",
    "whatsapp",
    "contact",
    "number",
    "dial",
    "reach",
    "office",
    "desk",
    "landline",
    "answering",
    "registered",
    "telefon",
    "teléfono",
    "téléphone",
    "móvil",
    "portable",
    "handy",
    "numéro",
    "número",
    "ruf",
];

/// A grouped local number: 7 to 15 digits in at least two groups joined by phone
/// separators, and not shaped like a date, amount, card or other number.
fn local_shape(w: &str, groups: &[(usize, usize)]) -> bool {
    let lens: Vec<usize> = groups.iter().map(|(s, e)| e - s).collect();
    let n: usize = lens.iter().sum();
    let seps: String = w.chars().filter(|c| !c.is_ascii_digit() && *c != '+').collect();
    (7..=15).contains(&n)
        && (lens.len() >= 2 || (n == 10 && w.bytes().all(|c| c.is_ascii_digit())))
        && lens.iter().all(|l| *l >= 2 || lens.len() > 3)
        && !looks_like_other(w, &lens, &seps)
}

fn valid_in(region: Id, digits: &str) -> bool {
    phonenumber::parse(Some(region), digits).is_ok_and(|p| phonenumber::is_valid(&p))
}

/// `(555) 123-4567`, `555-123-4567`, `555.123.4567`, `555 123 4567`, `1-555-123-4567`,
/// `001-555-123-4567`: grouped 3-3-4 after an optional `1`, area code starting 2–9.
fn nanp_shape(lens: &[usize], digits: &str) -> bool {
    let national = match lens {
        [3, 3, 4] => digits,
        [1, 3, 3, 4] if digits.starts_with('1') => &digits[1..],
        [3, 3, 3, 4] if digits.starts_with("001") => &digits[3..],
        _ => return false,
    };
    national.len() == 10 && national.as_bytes().first().is_some_and(|d| (b'2'..=b'9').contains(d))
}

/// Shapes that are something else: dates, IPs, versions, card numbers, SSNs, amounts.
fn looks_like_other(w: &str, lens: &[usize], seps: &str) -> bool {
    let only = |c: char| !seps.is_empty() && seps.chars().all(|s| s == c);
    // Dates: 2023-01-15, 15.01.2023, 01/15/2023, 2023/1/5.
    if lens.len() == 3
        && (only('-') || only('.') || only('/'))
        && ((lens[0] == 4 && lens[1] <= 2 && lens[2] <= 2)
            || (lens[0] <= 2 && lens[1] <= 2 && (lens[2] == 4 || lens[2] == 2)))
    {
        return true;
    }
    // Dotted numbers (IPs, versions) other than NANP 555.123.4567.
    if only('.') && lens != [3, 3, 4] && lens != [2, 2, 2, 2, 2] {
        return true;
    }
    // SSN 123-45-6789.
    if lens == [3, 2, 4] && (only('-') || only(' ')) {
        return true;
    }
    // Slashes only as one area-code separator (030/123456).
    if seps.matches('/').count() > 1 {
        return true;
    }
    is_card(w)
}

#[cfg(test)]
mod tests {
    use super::super::tests::found_label;
    use crate::mask::Label;

    #[test]
    fn finds_phones() {
        for (text, want) in [
            ("call +1 415 555 2671 now", "+1 415 555 2671"),
            ("Desk: +41 (0)96 471 07 95\n", "+41 (0)96 471 07 95"),
            ("Desk: +447700 921 916\n", "+447700 921 916"),
            ("Fax: 345-899-3560x4587\n", "345-899-3560x4587"),
            ("Mobile: 03.93.92.16.85\n", "03.93.92.16.85"),
            ("Phone:\n467 3395\n", "467 3395"),
            ("They're not answering at 71-33-52-22", "71-33-52-22"),
            ("28-64-66-98 office", "28-64-66-98"),
            ("Fax: 9498777106", "9498777106"),
            ("call (555) 123-4567.", "(555) 123-4567"),
            ("call 555-123-4567 today", "555-123-4567"),
            ("call 555.123.4567", "555.123.4567"),
            ("uk +44 20 7946 0958", "+44 20 7946 0958"),
            ("de 0049 30 123456", "0049 30 123456"),
            ("fr +33 1 23 45 67 89", "+33 1 23 45 67 89"),
            ("us 001-555-123-4567", "001-555-123-4567"),
            ("office 212-555-0123 x123 ok", "212-555-0123 x123"),
            ("office (212) 555-0123 ext. 12", "(212) 555-0123 ext. 12"),
            ("london 020 7946 0958", "020 7946 0958"),
            ("+4915123456789", "+4915123456789"),
            ("in 2023 555-123-4567", "555-123-4567"),
            ("1-800-555-0199", "1-800-555-0199"),
            ("es 612 345 678", "612 345 678"),
            ("in 98765 43210", "98765 43210"),
            // E.164 without separators, in ranges that do not validate (UK 7700 fiction)
            ("fax\n+447700677662", "+447700677662"),
            ("Tel: +447700900123", "+447700900123"),
            ("reach me at +447700677662 please", "+447700677662"),
        ] {
            assert_eq!(found_label(text, Label::Phone), vec![want.to_string()], "{text}");
        }
    }

    #[test]
    fn splits_adjacent_numbers() {
        let got = found_label("555-123-4567 555-987-6543", Label::Phone);
        assert_eq!(got, vec!["555-123-4567".to_string(), "555-987-6543".to_string()]);
    }

    #[test]
    fn rejects_look_alikes() {
        for text in [
            "on 2023-01-15 at 10:30:00",
            "15.01.2023",
            "01/15/2023",
            "ip 192.168.100.200",
            "version 1.2.3.4.5",
            "card 4111 1111 1111 1111",
            "ssn 123-45-6789",
            "order 123456",
            "order #4839201",
            "total 1,234,567.89",
            "ref 1234567890123456",
            "12:30:45",
            "pi is 3.14159265",
            "range 100-200-300",
            "iban DE89 3704 0044 0532 0130 00",
            "twice 2023-01-15 2023-01-16",
            "call me on 2023-01-15 about the number 1,234,567",
            "phone order total 1 234 567 eur",
            "my phone: version 1.2.3.4.5",
            "code +9991234567890",
        ] {
            assert_eq!(found_label(text, Label::Phone), Vec::<String>::new(), "{text}");
        }
    }
}
