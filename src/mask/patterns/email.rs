//! E-mail addresses for the pattern detector (`super`): `local@domain.tld`, where the TLD is
//! letters only (two or more) and the address does not run on into a longer word.

use super::{entity, word_end};
use crate::mask::{Entity, Label};
use regex::Regex;

pub(super) struct Emails {
    re: Regex,
}

impl Emails {
    pub(super) fn new() -> Self {
        let re = Regex::new(
            r"[\p{L}\p{N}_%+\-]+(?:\.[\p{L}\p{N}_%+\-]+)*@(?:[\p{L}\p{N}](?:[\p{L}\p{N}\-]{0,61}[\p{L}\p{N}])?\.)+\p{L}{2,63}",
        )
        .expect("email regex is valid; this is a bug");
        Emails { re }
    }

    /// Runs the regex only on the small window around each `@`, never over the whole text.
    pub(super) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        let b = text.as_bytes();
        let mut done = 0;
        for at in memchr::memchr_iter(b'@', b) {
            if at < done {
                continue;
            }
            let lo = text[..at]
                .char_indices()
                .rev()
                .take_while(|(_, c)| local_char(*c))
                .last()
                .map_or(at, |(i, _)| i);
            let hi = at
                + 1
                + text[at + 1..]
                    .char_indices()
                    .take_while(|(_, c)| domain_char(*c))
                    .last()
                    .map_or(0, |(i, c)| i + c.len_utf8());
            if lo == at || hi == at + 1 {
                continue;
            }
            let Some(m) = self.re.find(&text[lo..hi]) else {
                continue;
            };
            let (start, end) = (lo + m.start(), lo + m.end());
            // Not the tail of something like `a..b@x.com` or `x@y@z.com`.
            if start > 0 && matches!(b[start - 1], b'@' | b'.') {
                continue;
            }
            // The TLD must end the domain: no `-`, `@` or word char right after.
            if !word_end(text, end) || (end < b.len() && matches!(b[end], b'-' | b'@')) {
                continue;
            }
            out.push(entity(start, end, Label::Email, 1.0));
            done = end;
        }
    }
}

fn local_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

fn domain_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '-')
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
            assert_eq!(
                found_label(text, Label::Email),
                vec![want.to_string()],
                "{text}"
            );
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
        ] {
            assert_eq!(
                found_label(text, Label::Email),
                Vec::<String>::new(),
                "{text}"
            );
        }
    }
}
