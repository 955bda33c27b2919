//! IBANs for the pattern detector (`super`): country code, two check digits and the BBAN,
//! in either letter case, written solid or in groups of four separated by single spaces. Reported only when the
//! length matches the country's entry in the SWIFT IBAN registry and mod-97 gives 1.

use super::{entity, word_end, word_start};
use crate::mask::{Entity, Label};
use regex::Regex;

/// IBAN length per country (SWIFT IBAN registry).
const LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HN", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

pub(super) struct Ibans {
    /// Country code and check digits; the rest is walked by hand against the length table.
    head: Regex,
}

impl Ibans {
    pub(super) fn new() -> Self {
        let head = Regex::new(r"[A-Za-z]{2}[0-9]{2}").expect("iban regex is valid; this is a bug");
        Ibans { head }
    }

    pub(super) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        let b = text.as_bytes();
        let mut from = 0;
        while let Some(m) = self.head.find_at(text, from) {
            from = m.start() + 1;
            let start = m.start();
            if !word_start(text, start) {
                continue;
            }
            let Some(len) = expected_length(&text[start..start + 2].to_ascii_uppercase()) else {
                continue;
            };
            if let Some(end) = walk(b, start, len) {
                if word_end(text, end) && mod97(b, start, end) {
                    out.push(entity(start, end, Label::Iban, 1.0));
                    from = end;
                }
            }
        }
    }
}

fn expected_length(country: &str) -> Option<usize> {
    LENGTHS.iter().find(|(c, _)| *c == country).map(|(_, n)| *n)
}

/// Collects `len` alphanumerics from `start`, allowing a single space after every group of
/// four (or none at all). Returns the end byte offset.
fn walk(b: &[u8], start: usize, len: usize) -> Option<usize> {
    let mut i = start;
    let mut n = 0;
    let mut spaced = None;
    while n < len {
        if n > 0 && n % 4 == 0 {
            let space = b.get(i) == Some(&b' ');
            match spaced {
                None => spaced = Some(space),
                Some(s) if s != space => return None,
                Some(_) => {}
            }
            if space {
                i += 1;
            }
        }
        let c = *b.get(i)?;
        if !c.is_ascii_alphanumeric() {
            return None;
        }
        i += 1;
        n += 1;
    }
    Some(i)
}

/// ISO 7064 mod-97-10 over the IBAN in `b[start..end]` (spaces skipped): must be 1.
fn mod97(b: &[u8], start: usize, end: usize) -> bool {
    let chars = b[start..end].iter().filter(|c| **c != b' ');
    // Move the first four characters to the end.
    let rotated = chars.clone().skip(4).chain(chars.take(4));
    let mut rem = 0u32;
    for c in rotated {
        rem = if c.is_ascii_digit() {
            (rem * 10 + u32::from(c - b'0')) % 97
        } else {
            (rem * 100 + u32::from(c.to_ascii_uppercase() - b'A') + 10) % 97
        };
    }
    rem == 1
}

#[cfg(test)]
mod tests {
    use super::super::tests::found_label;
    use crate::mask::Label;

    #[test]
    fn finds_ibans() {
        for iban in [
            "DE89 3704 0044 0532 0130 00",
            "DE89370400440532013000",
            "gb42nawi04454264788619",
            "GB82 WEST 1234 5698 7654 32",
            "FR14 2004 1010 0505 0001 3M02 606",
            "NL91ABNA0417164300",
            "BE68 5390 0754 7034",
            "CH93 0076 2011 6238 5295 7",
            "NO93 8601 1117 947",
        ] {
            let text = format!("Pay to {iban}, thanks");
            assert_eq!(found_label(&text, Label::Iban), vec![iban.to_string()], "{text}");
        }
        // A following word is not swallowed.
        assert_eq!(found_label("BE68 5390 0754 7034 SENT", Label::Iban), vec!["BE68 5390 0754 7034".to_string()]);
    }

    #[test]
    fn rejects_look_alikes() {
        for text in [
            "DE88 3704 0044 0532 0130 00",  // bad check digits
            "DE89 3704 0044 0532 0130 0",   // too short
            "DE89 3704 0044 0532 0130 001", // too long
            "XX89 3704 0044 0532 0130 00",  // unknown country
            "DE89 3704 0044 05320130 00",   // inconsistent grouping
            "ABDE89370400440532013000",     // inside a word
            "AB12 CD34",
        ] {
            assert_eq!(found_label(text, Label::Iban), Vec::<String>::new(), "{text}");
        }
    }
}
