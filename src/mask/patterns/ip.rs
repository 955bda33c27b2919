//! IP addresses for the pattern detector (`super`): dotted IPv4 (each octet 0–255, parsed by
//! `std::net`) that is not part of a longer dotted number such as a version `1.2.3.4.5`, and
//! IPv6 in full, compressed (`::`) and IPv4-mapped forms, parsed by `std::net::Ipv6Addr`.

use super::{entity, word_end, word_start};
use crate::mask::{Entity, Label};
use std::net::{Ipv4Addr, Ipv6Addr};

/// No regex: candidates are grown by hand around each `:` and each digit-dot-digit.
pub(super) struct Ips;

impl Ips {
    pub(super) fn new() -> Self {
        Ips
    }

    pub(super) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        let b = text.as_bytes();
        let hex_or_colon = |c: u8| c.is_ascii_hexdigit() || c == b':';
        let mut v6_spans: Vec<(usize, usize)> = Vec::new();
        let mut done = 0;
        for p in memchr::memchr_iter(b':', b) {
            if p < done {
                continue;
            }
            let mut s = p;
            while s > 0 && hex_or_colon(b[s - 1]) {
                s -= 1;
            }
            let mut e = p;
            while e < b.len() && (hex_or_colon(b[e]) || (b[e] == b'.' && b.get(e + 1).is_some_and(u8::is_ascii_digit)))
            {
                e += 1;
            }
            done = e;
            // A trailing single `:` is punctuation ("address fe80::1: down").
            if e - s > 2 && b[e - 1] == b':' && b[e - 2] != b':' {
                e -= 1;
            }
            let cand = &text[s..e];
            if cand.bytes().filter(|c| *c == b':').count() < 2 || !word_start(text, s) || !word_end(text, e) {
                continue;
            }
            // `.` and a word char right after: code like `a::b.c`, not an address.
            if e + 1 < b.len() && b[e] == b'.' && b[e + 1].is_ascii_alphanumeric() {
                continue;
            }
            if plausible_v6(cand) && cand.parse::<Ipv6Addr>().is_ok() {
                out.push(entity(s, e, Label::IpAddress, 1.0));
                v6_spans.push((s, e));
            }
        }
        let digit_dot = |c: u8| c.is_ascii_digit() || c == b'.';
        let mut done = 0;
        for p in memchr::memchr_iter(b'.', b) {
            if p < done || p == 0 || !b[p - 1].is_ascii_digit() || !b.get(p + 1).is_some_and(u8::is_ascii_digit) {
                continue;
            }
            let mut s = p;
            while s > 0 && digit_dot(b[s - 1]) {
                s -= 1;
            }
            let mut e = p;
            while e < b.len() && digit_dot(b[e]) {
                e += 1;
            }
            done = e;
            while s < e && b[s] == b'.' {
                s += 1;
            }
            while e > s && b[e - 1] == b'.' {
                e -= 1;
            }
            // Exactly four parts (not a longer dotted number such as 1.2.3.4.5), not in a word.
            let before_ok = word_start(text, s) && !(s >= 2 && b[s - 1] == b'.' && b[s - 2].is_ascii_alphanumeric());
            let after_ok = word_end(text, e) && !(e + 1 < b.len() && b[e] == b'.' && b[e + 1].is_ascii_alphanumeric());
            let inside_v6 = v6_spans.iter().any(|(vs, ve)| *vs <= s && e <= *ve);
            let cand = &text[s..e];
            if !inside_v6 && before_ok && after_ok && cand.parse::<Ipv4Addr>().is_ok() {
                out.push(entity(s, e, Label::IpAddress, 1.0));
            }
        }
    }
}

/// Filters forms that parse as IPv6 but are usually something else: bare `::`, and code
/// paths like `a::b` with fewer than three hex digits in all.
fn plausible_v6(s: &str) -> bool {
    let hex = s.bytes().filter(u8::is_ascii_hexdigit).count();
    if hex == 0 {
        return false;
    }
    s.starts_with("::") || hex >= 3
}

#[cfg(test)]
mod tests {
    use super::super::tests::found_label;
    use crate::mask::Label;

    #[test]
    fn finds_ips() {
        for (text, want) in [
            ("server 192.168.1.10 is down", "192.168.1.10"),
            ("(10.0.0.1)", "10.0.0.1"),
            ("ends with 8.8.8.8.", "8.8.8.8"),
            ("255.255.255.255:80", "255.255.255.255"),
            ("v6 2001:0db8:85a3:0000:0000:8a2e:0370:7334 ok", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"),
            ("compressed 2001:db8::8a2e:370:7334", "2001:db8::8a2e:370:7334"),
            ("loopback ::1", "::1"),
            ("link fe80::1: down", "fe80::1"),
            ("mapped ::ffff:192.0.2.128 here", "::ffff:192.0.2.128"),
        ] {
            assert_eq!(found_label(text, Label::IpAddress), vec![want.to_string()], "{text}");
        }
    }

    #[test]
    fn rejects_look_alikes() {
        for text in [
            "256.1.1.1",
            "1.2.3.4.5",
            "version 1.2.3.4.5 released",
            "192.168.1",
            "01.02.03.04",
            "v1.2.3.4",
            "at 12:30:45 today",
            "use std::io; a::b; Vec::new()",
            "ratio 1:2:3",
            "2001:db8:::1",
            "1..2.3.4",
            "a::b.c",
        ] {
            assert_eq!(found_label(text, Label::IpAddress), Vec::<String>::new(), "{text}");
        }
    }
}
