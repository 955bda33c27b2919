//! US Social Security numbers for the pattern detector (`super`): `ddd-dd-dddd` or
//! `ddd dd dddd` anywhere, and bare nine digits only right after a keyword such as "SSN" or
//! "social security". Invalid areas (000, 666, 900–999), group 00, serial 0000 and the
//! well-known advertising numbers are not reported.

use super::{entity, number_end, number_start};
use crate::mask::{Entity, Label};
use regex::Regex;

/// Numbers printed on sample cards and in ads, never issued to a person.
const KNOWN_FAKE: &[&str] = &["078051120", "219099999"];

pub(super) struct Ssns {
    grouped: Regex,
    keyword: Regex,
}

impl Ssns {
    pub(super) fn new() -> Self {
        let grouped = Regex::new(r"[0-9]{3}([\- ])[0-9]{2}[\- ][0-9]{4}").expect("ssn regex is valid; this is a bug");
        let keyword =
            Regex::new(r"(?i)(?:(?-u:\b)ssn|(?-u:\b)social security(?: number| no\.?| #)?)[^0-9\n]{0,20}?([0-9]{9})")
                .expect("ssn keyword regex is valid; this is a bug");
        Ssns { grouped, keyword }
    }

    pub(super) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        for m in self.grouped.find_iter(text) {
            let s = m.as_str().as_bytes();
            // Same separator both times.
            if s[3] != s[6] {
                continue;
            }
            if number_start(text, m.start()) && number_end(text, m.end()) && valid(m.as_str()) {
                out.push(entity(m.start(), m.end(), Label::UsSsn, 1.0));
            }
        }
        for c in self.keyword.captures_iter(text) {
            if let Some(m) = c.get(1) {
                if number_start(text, m.start()) && number_end(text, m.end()) && valid(m.as_str()) {
                    out.push(entity(m.start(), m.end(), Label::UsSsn, 1.0));
                }
            }
        }
    }
}

/// Area/group/serial rules on the digits of `s`.
fn valid(s: &str) -> bool {
    let d: String = s.chars().filter(char::is_ascii_digit).collect();
    if d.len() != 9 || KNOWN_FAKE.contains(&d.as_str()) {
        return false;
    }
    let (area, group, serial) = (&d[0..3], &d[3..5], &d[5..9]);
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

#[cfg(test)]
mod tests {
    use super::super::tests::found_label;
    use crate::mask::Label;

    #[test]
    fn finds_ssns() {
        for (text, want) in [
            ("SSN 078-05-1121.", "078-05-1121"),
            ("ssn: 123-45-6789", "123-45-6789"),
            ("number 536 22 1234 on file", "536 22 1234"),
            ("my SSN is 536221234", "536221234"),
            ("Social Security number: 536221234", "536221234"),
        ] {
            assert_eq!(found_label(text, Label::UsSsn), vec![want.to_string()], "{text}");
        }
    }

    #[test]
    fn rejects_look_alikes() {
        for text in [
            "666-12-3456",
            "000-12-3456",
            "912-12-3456",
            "123-00-4567",
            "123-45-0000",
            "078-05-1120",
            "219-09-9999",
            "123-45 6789",   // mixed separators
            "536221234",     // bare digits without a keyword
            "1-123-45-6789", // part of a longer number
            "123-45-67890",
            "call 555-12-3456-7",
        ] {
            assert_eq!(found_label(text, Label::UsSsn), Vec::<String>::new(), "{text}");
        }
    }
}
