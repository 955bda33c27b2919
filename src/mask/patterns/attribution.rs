//! Account names in code and tracker attributions for the pattern detector (`super`),
//! reported as USERNAME:
//! - the owner of a code comment tag: `TODO(kwame)`, `FIXME(anna.k)`, `XXX(@bwilson)`; not a
//!   ticket key (`TODO(PROJ-1234)`, `TODO(#12)`), a version (`NOTE(v2)`) or a number;
//! - a dotted or underscored login after a field of people: "owner: t.mokoena",
//!   "assignee: lindiwe.z", "Reviewed-by: ekaterina.v", "cc: j.doe, m_ali". Only
//!   lower-case logins with a `.` or `_` inside: a plain word there is the model's and the
//!   name lexicon's, a hyphenated one is as often a team ("platform-team"), a capitalized
//!   one is a name the model reads; a file or host name (`config.yaml`, `api.example.com`)
//!   is not a login.

use super::{entity, word_end, word_start};
use crate::mask::{Entity, Label};
use regex::Regex;

/// Below the validated patterns: a login is certain by place, not by checksum.
const SCORE: f32 = 0.9;

/// Fields whose value is a person's account (lower case; `-` and `_` count as spaces).
const FIELDS: &[&str] = &[
    "owner",
    "owners",
    "assignee",
    "assignees",
    "assigned to",
    "reviewer",
    "reviewers",
    "reviewed by",
    "author",
    "authors",
    "co authored by",
    "signed off by",
    "acked by",
    "tested by",
    "reported by",
    "requested by",
    "approved by",
    "approver",
    "reporter",
    "requester",
    "cc",
    "bcc",
    "to",
    "from",
    "user",
    "username",
    "login",
    "maintainer",
    "maintainers",
    "on call",
    "oncall",
];

/// Endings that make a dotted word a file or a host, not a login.
const NOT_LOGIN_ENDINGS: &[&str] = &[
    "py", "rs", "js", "ts", "go", "rb", "sh", "md", "txt", "json", "yaml", "yml", "toml", "csv", "log", "pdf", "doc",
    "docx", "xls", "xlsx", "png", "jpg", "jpeg", "gif", "svg", "html", "htm", "css", "xml", "ini", "cfg", "conf",
    "env", "lock", "zip", "gz", "tar", "c", "h", "cc", "cpp", "hpp", "java", "kt", "swift", "php", "sql", "com", "org",
    "net", "io", "dev", "app", "ai", "co", "local", "internal", "svc", "cluster",
];

pub(super) struct Attributions {
    tag: Regex,
    field: Regex,
    login: Regex,
}

impl Attributions {
    pub(super) fn new() -> Self {
        let tag =
            Regex::new(r"(?:TODO|FIXME|XXX|HACK|NOTE|BUG|OPTIMIZE|REVIEW)\(\s*(@?[A-Za-z][A-Za-z0-9._\-]{0,38})\s*\)")
                .expect("comment tag regex is valid; this is a bug");
        let fields: Vec<String> = FIELDS.iter().map(|f| f.split(' ').collect::<Vec<_>>().join(r"[\s_\-]+")).collect();
        let field = Regex::new(&format!(r"(?i)(?:{})[ \t]*[:=][ \t]*", fields.join("|")))
            .expect("attribution field regex is valid; this is a bug");
        let login = Regex::new(r"^[a-z][a-z0-9]*(?:[._][a-z0-9]+)+").expect("login regex is valid; this is a bug");
        Attributions { tag, field, login }
    }

    pub(super) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        if memchr::memchr2(b'(', b':', text.as_bytes()).is_none() && !text.contains('=') {
            return;
        }
        for c in self.tag.captures_iter(text) {
            let (Some(all), Some(m)) = (c.get(0), c.get(1)) else { continue };
            if !word_start(text, all.start()) || !owner_tag(m.as_str()) {
                continue;
            }
            let start = m.start() + usize::from(m.as_str().starts_with('@'));
            out.push(entity(start, m.end(), Label::Username, SCORE));
        }
        for m in self.field.find_iter(text) {
            if !word_start(text, m.start()) {
                continue;
            }
            self.logins(text, m.end(), out);
        }
    }

    /// The logins of a field's value from `i`: one, or a list joined by `,` or `;`.
    fn logins(&self, text: &str, mut i: usize, out: &mut Vec<Entity>) {
        for _ in 0..8 {
            let Some(m) = self.login.find(&text[i..]) else { return };
            let (s, e) = (i + m.start(), i + m.end());
            let next = text[e..].chars().next();
            // Part of an e-mail address, a path or a longer word.
            if !word_end(text, e) || matches!(next, Some('@' | '/' | '.' | '(')) {
                return;
            }
            let last = m.as_str().rsplit(['.', '_']).next().unwrap_or_default();
            if !NOT_LOGIN_ENDINGS.contains(&last) {
                out.push(entity(s, e, Label::Username, SCORE));
            }
            let rest = &text[e..];
            let sep = rest.len() - rest.trim_start_matches([' ', '\t']).len();
            match rest[sep..].chars().next() {
                Some(',' | ';') => {
                    let after = &rest[sep + 1..];
                    i = e + sep + 1 + (after.len() - after.trim_start_matches([' ', '\t']).len());
                }
                _ => return,
            }
        }
    }
}

/// Whether the text in a comment tag's brackets names its owner: not a ticket key
/// ("PROJ-1234"), a version ("v2", "1.4") or a bare number.
fn owner_tag(s: &str) -> bool {
    let s = s.trim_start_matches('@');
    let ticket = s.split_once('-').is_some_and(|(k, n)| {
        k.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) && n.chars().all(|c| c.is_ascii_digit())
    });
    let version = s.strip_prefix(['v', 'V']).is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()));
    !ticket && !version
}

#[cfg(test)]
mod tests {
    use super::super::tests::found_label;
    use crate::mask::Label;

    #[test]
    fn finds_owners_of_comment_tags_and_logins_in_fields() {
        for (text, want) in [
            ("// TODO(rui): remove", &["rui"][..]),
            ("# XXX(mbali) hack", &["mbali"]),
            ("FIXME(anna.k): handle nulls", &["anna.k"]),
            ("NOTE( jdoe ) see ticket", &["jdoe"]),
            ("owner: t.mokoena", &["t.mokoena"]),
            ("assignee: lindiwe.z", &["lindiwe.z"]),
            ("Reviewed-by: ekaterina.v", &["ekaterina.v"]),
            ("Assigned to: s_patel, j.doe; m.ali", &["s_patel", "j.doe", "m.ali"]),
            ("user=ops.kofi", &["ops.kofi"]),
        ] {
            assert_eq!(found_label(text, Label::Username), want, "{text}");
        }
    }

    #[test]
    fn leaves_tickets_files_hosts_and_plain_words() {
        for text in [
            "TODO(PROJ-1234): flaky",
            "TODO(#12)",
            "NOTE(v2) changes",
            "owner: config.yaml",
            "to: api.example.com",
            "from: jane@example.com",
            "owner: platform",
            "owner: platform-team",
            "owner: Kwame",
            "fetch data from: src/lib.rs",
            "the todo(list) app",
            "cc: a.b/c",
        ] {
            assert_eq!(found_label(text, Label::Username), Vec::<String>::new(), "{text}");
        }
    }
}
