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

    pub(super) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        if memchr::memchr(b'@', text.as_bytes()).is_none() {
            return;
        }
        for m in self.re.find_iter(text) {
            let (start, end) = (m.start(), m.end());
            let b = text.as_bytes();
            // Not the tail of something like `a..b@x.com` or `x@y@z.com`.
            if start > 0 && matches!(b[start - 1], b'@' | b'.') {
                continue;
            }
            // The TLD must end the domain: no `-`, `@` or word char right after.
            if !word_end(text, end) || (end < b.len() && matches!(b[end], b'-' | b'@')) {
                continue;
            }
            out.push(entity(start, end, Label::Email, 1.0));
        }
    }
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
