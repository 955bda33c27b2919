//! Payment card numbers for the pattern detector (`super`): 12–19 digits, optionally grouped
//! by single spaces or dashes, reported only when the Luhn check passes AND the number starts
//! with a known issuer prefix at a length that issuer uses.

use super::{entity, number_end, number_start};
use crate::mask::{Entity, Label};
use regex::Regex;

pub(super) struct Cards {
    /// Digit runs with single space/dash separators; split into cards afterwards.
    run: Regex,
}

impl Cards {
    pub(super) fn new() -> Self {
        let run = Regex::new(r"[0-9](?:[ \-]?[0-9]){11,}").expect("card regex is valid; this is a bug");
        Cards { run }
    }

    /// `out` already holds earlier findings; digits inside an IBAN are not a card.
    pub(super) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        let ibans: Vec<(usize, usize)> =
            out.iter().filter(|e| e.label == Label::Iban).map(|e| (e.start, e.end)).collect();
        for m in self.run.find_iter(text) {
            if m.end() - m.start() < 12 {
                continue;
            }
            // Groups of digits as (start, end) byte ranges; a card is a window of whole groups.
            let groups: Vec<(usize, usize)> = digit_groups(text, m.start(), m.end());
            let mut g = 0;
            while g < groups.len() {
                let mut hit = None;
                // Windows of whole groups starting at `g` with at most 19 digits; longest first.
                let mut n = 0;
                let mut ends = Vec::new();
                for (last, (s, e)) in groups.iter().enumerate().skip(g) {
                    n += e - s;
                    if n > 19 {
                        break;
                    }
                    // 12-digit (Maestro) numbers only when they stand alone, never as a
                    // window inside a longer run of digit groups.
                    if n >= 13 || (n == 12 && g == 0 && last + 1 == groups.len()) {
                        ends.push(last);
                    }
                }
                for last in ends.into_iter().rev() {
                    let (start, end) = (groups[g].0, groups[last].1);
                    let free = !ibans.iter().any(|(s, e)| *s < end && start < *e);
                    if free && number_start(text, start) && number_end(text, end) && is_card(&text[start..end]) {
                        hit = Some((start, end, last));
                        break;
                    }
                }
                match hit {
                    Some((start, end, last)) => {
                        out.push(entity(start, end, Label::CreditCard, 1.0));
                        g = last + 1;
                    }
                    None => g += 1,
                }
            }
        }
    }
}

/// Splits `text[start..end]` (digits with single separators) into its digit groups.
pub(super) fn digit_groups(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut groups = Vec::new();
    let mut i = start;
    while i < end {
        let s = i;
        while i < end && b[i].is_ascii_digit() {
            i += 1;
        }
        if i > s {
            groups.push((s, i));
        }
        while i < end && !b[i].is_ascii_digit() {
            i += 1;
        }
    }
    groups
}

/// Luhn check over the ASCII digits of `s` (other bytes ignored).
pub(super) fn luhn(s: &str) -> bool {
    let mut sum = 0u32;
    let mut double = false;
    for b in s.bytes().rev().filter(u8::is_ascii_digit) {
        let mut d = u32::from(b - b'0');
        if double {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
        double = !double;
    }
    sum.is_multiple_of(10)
}

/// True when the digits of `s` are a Luhn-valid number of a known issuer at a valid length.
pub(super) fn is_card(s: &str) -> bool {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_digit).collect();
    let n = digits.len();
    if !(12..=19).contains(&n) || !issuer_length_ok(&digits) {
        return false;
    }
    luhn(s)
}

/// The number formed by the first `k` digits.
fn prefix(digits: &[u8], k: usize) -> u32 {
    digits.iter().take(k).fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
}

fn issuer_length_ok(digits: &[u8]) -> bool {
    let n = digits.len();
    let p1 = prefix(digits, 1);
    let p2 = prefix(digits, 2);
    let p3 = prefix(digits, 3);
    let p4 = prefix(digits, 4);
    let p6 = prefix(digits, 6);
    // Visa.
    (p1 == 4 && matches!(n, 13 | 16 | 19))
        // Mastercard.
        || (((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && n == 16)
        // American Express.
        || ((p2 == 34 || p2 == 37) && n == 15)
        // Discover.
        || ((p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 || (622_126..=622_925).contains(&p6))
            && (16..=19).contains(&n))
        // Diners Club.
        || (((300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39) && (14..=19).contains(&n))
        // JCB (35xx; older 15-digit cards start 1800 or 2131).
        || (p2 == 35 && (16..=19).contains(&n))
        || ((p4 == 1800 || p4 == 2131) && n == 15)
        // UnionPay.
        || (p2 == 62 && (16..=19).contains(&n))
        // Maestro (12 to 19 digits; UK Maestro also starts 0604).
        || ((p2 == 50 || (56..=69).contains(&p2) || p4 == 604) && (12..=19).contains(&n))
}

#[cfg(test)]
mod tests {
    use super::super::tests::found_label;
    use super::*;

    #[test]
    fn finds_valid_cards() {
        for (text, want) in [
            ("visa 4111 1111 1111 1111 exp", "4111 1111 1111 1111"),
            ("visa 4111111111111111.", "4111111111111111"),
            ("mc 5500-0000-0000-0004", "5500-0000-0000-0004"),
            ("mc2 2223 0031 2200 3222", "2223 0031 2200 3222"),
            ("amex 3782 822463 10005", "3782 822463 10005"),
            ("discover 6011 1111 1111 1117", "6011 1111 1111 1117"),
            ("diners 3056 9309 0259 04", "3056 9309 0259 04"),
            ("jcb 3530 1113 3330 0000", "3530 1113 3330 0000"),
            ("unionpay 6200000000000005", "6200000000000005"),
            ("jcb15 213176828496175", "213176828496175"),
            ("maestro 630427373398", "630427373398"),
            ("maestro uk 060426070011", "060426070011"),
        ] {
            assert_eq!(found_label(text, Label::CreditCard), vec![want.to_string()], "{text}");
        }
    }

    #[test]
    fn splits_adjacent_cards() {
        let got = found_label("4111 1111 1111 1111 5500 0000 0000 0004", Label::CreditCard);
        assert_eq!(got, vec!["4111 1111 1111 1111".to_string(), "5500 0000 0000 0004".to_string()]);
    }

    #[test]
    fn rejects_look_alikes() {
        for text in [
            "4111 1111 1111 1112",           // bad Luhn
            "1234 5678 9012 3456",           // bad Luhn, no issuer
            "0000 0000 0000 0000",           // Luhn ok, no issuer
            "order 7000000000000009 placed", // Luhn ok, no issuer (7)
            "411111111111111",               // Visa with 15 digits
            "3782 822463 100051",            // Amex too long
            "4111 1111 1111 1111.5",         // part of a longer number
            "x4111111111111111",
            "4111  1111  1111  1111", // double spaces are not one number
        ] {
            assert_eq!(found_label(text, Label::CreditCard), Vec::<String>::new(), "{text}");
        }
    }

    #[test]
    fn luhn_works() {
        assert!(luhn("79927398713"));
        assert!(!luhn("79927398710"));
    }
}
