//! E-mail addresses for the pattern detector (`super`): `local@domain.tld`, where the TLD is
//! letters only (two or more) and the address does not run on into a longer word.

use super::{entity, word_end};
use crate::mask::{Entity, Label};

/// No regex: each `@` found by memchr is grown into `local@domain` and checked by hand.
pub(super) struct Emails;

impl Emails {
    pub(super) fn new() -> Self {
        Emails
    }

    pub(super) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        let b = text.as_bytes();
        for at in memchr::memchr_iter(b'@', b) {
            let start =
                text[..at].char_indices().rev().take_while(|(_, c)| local_char(*c)).last().map_or(at, |(i, _)| i);
            let after = &text[at + 1..];
            let domain_len =
                after.char_indices().take_while(|(_, c)| domain_char(*c)).last().map_or(0, |(i, c)| i + c.len_utf8());
            // Trailing `.` ends the sentence; a trailing `-` means it runs on (`a.com-x`).
            let domain = after[..domain_len].trim_end_matches('.');
            let end = at + 1 + domain.len();
            let local = &text[start..at];
            // Not the tail of `x@y@z.com`; the TLD must end the domain.
            let edges_ok = !(start > 0 && b[start - 1] == b'@')
                && word_end(text, end)
                && !(end < b.len() && matches!(b[end], b'-' | b'@'));
            if edges_ok && valid_local(local) && valid_domain(domain) {
                out.push(entity(start, end, Label::Email, 1.0));
            }
        }
    }
}

fn local_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

fn domain_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '-')
}

/// Dot-separated atoms, none empty.
fn valid_local(local: &str) -> bool {
    !local.is_empty() && local.len() <= 64 && local.split('.').all(|a| !a.is_empty())
}

/// At least two labels of letters/digits/`-` (not at either end), at most 63 chars each;
/// the last (TLD) letters only, two or more.
fn valid_domain(domain: &str) -> bool {
    let mut labels = domain.split('.');
    let Some(tld) = labels.next_back() else {
        return false;
    };
    let tld_ok = tld.chars().count() >= 2 && tld.len() <= 63 && tld.chars().all(char::is_alphabetic);
    let mut n = 0;
    let rest_ok = labels.all(|l| {
        n += 1;
        !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-')
    });
    tld_ok && n >= 1 && rest_ok
}

#[cfg(test)]
mod tests {
    use super::super::tests::found_label;
    use crate::mask::Label;

    #[test]
    fn finds_emails() {
        for (text, want) in [
            ("mail john.doe@example.com now", "john.doe@example.com"),
            ("<a.b+tag@mail.co.uk>", "a.b+tag@mail.co.uk"),
            ("end of sentence x_y@example.org.", "x_y@example.org"),
            ("josé@exämple.de", "josé@exämple.de"),
            ("\"first-last@sub.domain.io\"", "first-last@sub.domain.io"),
        ] {
            assert_eq!(found_label(text, Label::Email), vec![want.to_string()], "{text}");
        }
    }

    #[test]
    fn rejects_look_alikes() {
        for text in [
            "user@localhost",
            "a@b.c",
            "git@1.2.3.4",
            "@example.com",
            "name@domain.c0m",
            "x@y.com-foo",
            "decorator @property.setter",
            "a..b@example.com",
            ".a@example.com",
            "a@-example.com",
            "x@y@z.com",
        ] {
            assert_eq!(found_label(text, Label::Email), Vec::<String>::new(), "{text}");
        }
    }
}
