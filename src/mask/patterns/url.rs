//! URLs for the pattern detector (`super`): `http(s)://` and `ftp://` URLs, `www.` hosts and
//! bare domains with a common TLD (`example.com`, `mysite.org/path`). File names such as
//! `report.pdf` or `main.rs` are not URLs: bare domains need a TLD from a short list that
//! leaves out TLDs that double as file extensions. Trailing punctuation is not part of it.

use super::{entity, word_end};
use crate::mask::{Entity, Label};
use regex::Regex;

/// TLDs accepted on bare domains (no scheme, no `www.`). Left out on purpose: TLDs that are
/// common file extensions (`rs`, `py`, `md`, `sh`, `pl`, `js`-like, `zip`, `mov`, ...).
const BARE_TLDS: &str = "com|org|net|edu|gov|mil|int|io|co|ai|app|dev|info|biz|me|us|uk|de|fr|es|it|nl|eu|ca|au|ch|at|be|se|no|dk|fi|cz|ru|jp|cn|br|mx|tv|xyz|online|site|tech|cloud|shop|store|blog|news|ie|nz|za|kr|tw|hk|sg|ar|cl|pt|gr|hu|ro|sk|ua|tr|il|vn|id|th|my|ph|ly|gg|fm";

pub(super) struct Urls {
    re: Regex,
}

impl Urls {
    pub(super) fn new() -> Self {
        let label = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?";
        // Longest first, so `dev` is tried before `de` (alternation is leftmost-first).
        let mut tlds: Vec<&str> = BARE_TLDS.split('|').collect();
        tlds.sort_by_key(|t| std::cmp::Reverse(t.len()));
        let tlds = tlds.join("|");
        let pattern = format!(
            r#"(?i:(?:https?|ftp)://|www\.)[^\s<>"'`{{}}|\\^]+|(?:{label}\.)+(?i:{tlds})(?::[0-9]{{1,5}})?(?:/[^\s<>"'`{{}}|\\^]*)?"#
        );
        let re = Regex::new(&pattern).expect("url regex is valid; this is a bug");
        Urls { re }
    }

    pub(super) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        let b = text.as_bytes();
        if memchr::memchr(b'.', b).is_none() {
            return;
        }
        for m in self.re.find_iter(text) {
            let s = m.start();
            let full = m.as_str();
            let lower = full.get(..8).map(str::to_ascii_lowercase).unwrap_or_default();
            let schemed = lower.starts_with("http") || lower.starts_with("ftp") || lower.starts_with("www.");
            if s > 0 {
                let p = b[s - 1];
                // Part of an e-mail, a path, a longer name or a word.
                if p == b'@' || p == b'.' || p == b'/' || p == b'-' || p == b'_' || (!schemed && p == b':') {
                    continue;
                }
                if !super::word_start(text, s) {
                    continue;
                }
            }
            let e = s + trim_end(full);
            if e <= s {
                continue;
            }
            if !schemed {
                // The TLD must end the host: `example.community` or `a.com@b` is not it.
                let host_end = s + full.find([':', '/']).unwrap_or(full.len()).min(e - s);
                if !word_end(text, host_end) || b.get(host_end) == Some(&b'@') || b.get(host_end) == Some(&b'-') {
                    continue;
                }
            } else if full.ends_with("://") || e - s <= lower.len().min(8) {
                continue;
            }
            out.push(entity(s, e, Label::Url, 0.8));
        }
    }
}

/// Length of `url` once trailing punctuation is cut; a `)` stays when it closes a `(` in it.
fn trim_end(url: &str) -> usize {
    let mut end = url.len();
    loop {
        let Some(c) = url[..end].chars().next_back() else {
            return end;
        };
        let cut = match c {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '"' | ']' | '*' => true,
            ')' => url[..end].matches('(').count() < url[..end].matches(')').count(),
            _ => false,
        };
        if !cut {
            return end;
        }
        end -= c.len_utf8();
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::found_label;
    use crate::mask::Label;

    #[test]
    fn finds_urls() {
        for (text, want) in [
            ("see https://example.com/path?q=1&x=y.", "https://example.com/path?q=1&x=y"),
            ("(http://foo.bar/baz)", "http://foo.bar/baz"),
            ("wiki https://en.wikipedia.org/wiki/Foo_(bar), ok", "https://en.wikipedia.org/wiki/Foo_(bar)"),
            ("ftp://files.example.net/a.zip!", "ftp://files.example.net/a.zip"),
            ("go to www.example.co.uk now", "www.example.co.uk"),
            ("visit example.com today", "example.com"),
            ("new example.dev site", "example.dev"),
            ("visit mysite.org/path/to?x=1;", "mysite.org/path/to?x=1"),
            ("on 'sub.domain.io:8080/api'", "sub.domain.io:8080/api"),
            ("https://例え.jp/パス", "https://例え.jp/パス"),
        ] {
            assert_eq!(found_label(text, Label::Url), vec![want.to_string()], "{text}");
        }
    }

    #[test]
    fn rejects_file_names_and_look_alikes() {
        for text in [
            "open report.pdf and main.rs",
            "edit config.json or setup.py or README.md or run.sh",
            "mail a@example.com",
            "example.community",
            "obj.method() and self.value",
            "version 1.2.3",
            "https://",
        ] {
            assert_eq!(found_label(text, Label::Url), Vec::<String>::new(), "{text}");
        }
    }
}
