//! Secrets for the pattern detector (`super`): API keys with well-known prefixes (OpenAI,
//! Anthropic, AWS, GitHub, Slack, Stripe, Google, GitLab, SendGrid, Twilio, npm, Hugging
//! Face), `Bearer` tokens, PEM private-key blocks (the whole block is one span) and JWTs
//! whose header decodes to JSON with `alg` — all `API_KEY`; and the value after a
//! `password` / `passwd` / `pwd` keyword and `:` or `=`, or after "password is" when it is
//! quoted or looks like a password ("my password is hunter2"), as `PASSWORD`. One
//! Aho-Corasick pass finds the prefixes; each hit is then checked locally.

use super::{entity, word_end, word_start};
use crate::mask::{Entity, Label};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use regex::Regex;

/// What follows a prefix: allowed body bytes and length bounds.
#[derive(Clone, Copy)]
enum Body {
    /// `[A-Za-z0-9_-]`, at least `min`.
    Dashed { min: usize },
    /// `[A-Za-z0-9]`, at least `min`.
    Alnum { min: usize },
    /// `[A-Z0-9]`, exactly `n`.
    Upper { n: usize },
    /// `[A-Za-z0-9_-]`, exactly `n`.
    DashedExact { n: usize },
    /// `[0-9a-fA-F]`, exactly `n`.
    Hex { n: usize },
    /// SendGrid: `[A-Za-z0-9_-]{16,}` `.` `[A-Za-z0-9_-]{16,}`.
    SendGrid,
    /// Slack: `[A-Za-z0-9-]`, at least 10.
    Slack,
    /// `-----BEGIN … PRIVATE KEY-----` … `-----END … PRIVATE KEY-----`.
    Pem,
    /// `eyJ…` three base64url segments.
    Jwt,
    /// `Bearer <token>`.
    Bearer,
}

const PREFIXES: &[(&str, Body)] = &[
    ("sk-ant-", Body::Dashed { min: 20 }),
    ("sk-proj-", Body::Dashed { min: 20 }),
    ("sk-", Body::Dashed { min: 20 }),
    ("AKIA", Body::Upper { n: 16 }),
    ("ASIA", Body::Upper { n: 16 }),
    ("ghp_", Body::Alnum { min: 30 }),
    ("gho_", Body::Alnum { min: 30 }),
    ("ghu_", Body::Alnum { min: 30 }),
    ("ghs_", Body::Alnum { min: 30 }),
    ("ghr_", Body::Alnum { min: 30 }),
    ("github_pat_", Body::Dashed { min: 40 }),
    ("xoxb-", Body::Slack),
    ("xoxa-", Body::Slack),
    ("xoxp-", Body::Slack),
    ("xoxr-", Body::Slack),
    ("xoxs-", Body::Slack),
    ("sk_live_", Body::Alnum { min: 16 }),
    ("rk_live_", Body::Alnum { min: 16 }),
    ("pk_live_", Body::Alnum { min: 16 }),
    ("sk_test_", Body::Alnum { min: 16 }),
    ("rk_test_", Body::Alnum { min: 16 }),
    ("AIza", Body::DashedExact { n: 35 }),
    ("glpat-", Body::Dashed { min: 20 }),
    ("SG.", Body::SendGrid),
    ("SK", Body::Hex { n: 32 }),
    ("npm_", Body::Alnum { min: 30 }),
    ("hf_", Body::Alnum { min: 30 }),
    ("-----BEGIN ", Body::Pem),
    ("eyJ", Body::Jwt),
    ("Bearer ", Body::Bearer),
    ("bearer ", Body::Bearer),
    ("BEARER ", Body::Bearer),
];

pub(super) struct Secrets {
    prefixes: AhoCorasick,
    password: Regex,
    /// "my password is hunter2": the value after "is" (see [`password_like`]).
    password_is: Regex,
}

impl Secrets {
    pub(super) fn new() -> Self {
        let prefixes = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(PREFIXES.iter().map(|(p, _)| p))
            .expect("secret prefixes build an automaton; this is a bug");
        let password = Regex::new(
            r#"(?i)(?:password|passwd|passphrase|pwd)["']?[ \t]*[:=][ \t]*(?:"([^"\r\n]{1,200})"|'([^'\r\n]{1,200})'|([^\s"',;]{1,200}))"#,
        )
        .expect("password regex is valid; this is a bug");
        let password_is = Regex::new(
            r#"(?i)(?:password|passwd|passphrase|pwd)[ \t]+(?:is now|is|was|will be)[ \t]+(?:"([^"\r\n]{1,200})"|'([^'\r\n]{1,200})'|([^\s"',;]{1,200}))"#,
        )
        .expect("password regex is valid; this is a bug");
        Secrets { prefixes, password, password_is }
    }

    pub(super) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        let b = text.as_bytes();
        let mut from = 0;
        while from < b.len() {
            let Some(m) = self.prefixes.find(&b[from..]) else {
                break;
            };
            let s = from + m.start();
            let body_start = from + m.end();
            from = s + 1;
            let Some((_, body)) = PREFIXES.get(m.pattern().as_usize()) else {
                continue;
            };
            let boundary_ok = match body {
                Body::Pem => true,
                _ => word_start(text, s) && !(s > 0 && b[s - 1] == b'-'),
            };
            if !boundary_ok {
                continue;
            }
            let found = match body {
                Body::Pem => pem_end(text, body_start).map(|e| (s, e)),
                Body::Jwt => jwt_end(text, s).map(|e| (s, e)),
                Body::Bearer => bearer_token(text, body_start),
                other => body_end(b, body_start, *other).filter(|e| word_end(text, *e)).map(|e| (s, e)),
            };
            if let Some((start, end)) = found {
                out.push(entity(start, end, Label::ApiKey, if matches!(body, Body::Bearer) { 0.9 } else { 1.0 }));
                from = end;
            }
        }
        self.passwords(text, out);
    }

    fn passwords(&self, text: &str, out: &mut Vec<Entity>) {
        let mut given: Vec<(usize, usize)> = Vec::new();
        for c in self.password.captures_iter(text) {
            if let Some(v) = c.get(1).or_else(|| c.get(2)).or_else(|| c.get(3)) {
                given.push((v.start(), v.end()));
            }
        }
        for c in self.password_is.captures_iter(text) {
            if let Some(v) = c.get(1).or_else(|| c.get(2)) {
                given.push((v.start(), v.end()));
            } else if let Some(v) = c.get(3) {
                // Unquoted after "is", only what looks like a password: "my password is
                // wrong" and "the password is case-sensitive" say nothing secret.
                let value = v.as_str().trim_end_matches(['.', ',', ';', ':', '?', ')']);
                if password_like(value) {
                    given.push((v.start(), v.start() + value.len()));
                }
            }
        }
        for (start, end) in given {
            let v = &text[start..end];
            // `password: "` with nothing useful, or a placeholder like `***`.
            let value = v.trim();
            if value.is_empty() || value.chars().all(|ch| ch == '*' || ch == '.' || ch == 'x' || ch == '•') {
                continue;
            }
            let lead = v.len() - v.trim_start().len();
            out.push(entity(start + lead, start + lead + value.len(), Label::Password, 0.9));
        }
    }
}

/// At least 4 characters with a digit, a symbol other than `-`, or a capital after the first
/// letter: "hunter2", "Tr0ub4dor&3", "correctHorse"; not "wrong", "required", "case-sensitive".
fn password_like(v: &str) -> bool {
    v.chars().count() >= 4
        && (v.chars().any(|c| c.is_ascii_digit())
            || v.chars().any(|c| !c.is_alphanumeric() && c != '-')
            || v.chars().skip(1).any(char::is_uppercase))
}

/// Counts bytes from `i` while `ok`.
fn run(b: &[u8], i: usize, ok: impl Fn(u8) -> bool) -> usize {
    b[i.min(b.len())..].iter().take_while(|c| ok(**c)).count()
}

fn dashed(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// End of a prefixed key's body, if it has the right shape.
fn body_end(b: &[u8], i: usize, body: Body) -> Option<usize> {
    let n = match body {
        Body::Dashed { min } => Some(run(b, i, dashed)).filter(|n| *n >= min),
        Body::Alnum { min } => Some(run(b, i, |c| c.is_ascii_alphanumeric())).filter(|n| *n >= min),
        Body::Upper { n } => Some(run(b, i, |c| c.is_ascii_uppercase() || c.is_ascii_digit())).filter(|k| *k == n),
        Body::DashedExact { n } => Some(run(b, i, dashed)).filter(|k| *k == n),
        Body::Hex { n } => Some(run(b, i, |c| c.is_ascii_hexdigit())).filter(|k| *k == n),
        Body::Slack => Some(run(b, i, |c| c.is_ascii_alphanumeric() || c == b'-')).filter(|n| *n >= 10),
        Body::SendGrid => {
            let first = run(b, i, dashed);
            if first < 16 || b.get(i + first) != Some(&b'.') {
                return None;
            }
            let second = run(b, i + first + 1, dashed);
            Some(first + 1 + second).filter(|_| second >= 16)
        }
        Body::Pem | Body::Jwt | Body::Bearer => None,
    }?;
    Some(i + n)
}

/// End of a PEM private-key block whose `-----BEGIN ` ended at `i`. Without an END line
/// the block runs over the base64 lines that follow.
fn pem_end(text: &str, i: usize) -> Option<usize> {
    let b = text.as_bytes();
    let label_len = run(b, i, |c| c.is_ascii_uppercase() || c == b' ');
    let label = &text[i..i + label_len];
    if !label.ends_with("PRIVATE KEY") || b.get(i + label_len..i + label_len + 5) != Some(b"-----") {
        return None;
    }
    let body = i + label_len + 5;
    if let Some(end) = memchr::memmem::find(&b[body..], b"-----END ") {
        let tail = body + end + 9;
        let tail_len = run(b, tail, |c| c.is_ascii_uppercase() || c == b' ');
        if b.get(tail + tail_len..tail + tail_len + 5) == Some(b"-----") {
            return Some(tail + tail_len + 5);
        }
    }
    // No END line: take the header and base64 lines that follow, up to a blank line.
    let mut end = body;
    let mut at = body;
    for line in text[body..].split_inclusive('\n') {
        let l = line.trim();
        let b64 = l.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='));
        let header = l.contains(": ") && l.bytes().next().is_some_and(|c| c.is_ascii_uppercase());
        if (l.is_empty() && at > body) || !(l.is_empty() || b64 || header) {
            break;
        }
        if !l.is_empty() {
            end = at + line.trim_end().len();
        }
        at += line.len();
    }
    Some(end)
}

/// End of a JWT at `s` (`eyJ…`): three base64url segments, the header JSON with `alg`.
fn jwt_end(text: &str, s: usize) -> Option<usize> {
    let b = text.as_bytes();
    let seg = |i: usize| run(b, i, |c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-');
    let h = seg(s);
    if b.get(s + h) != Some(&b'.') {
        return None;
    }
    let p = seg(s + h + 1);
    if p == 0 || b.get(s + h + 1 + p) != Some(&b'.') {
        return None;
    }
    let sig_start = s + h + 1 + p + 1;
    let end = sig_start + seg(sig_start);
    if !word_end(text, end) {
        return None;
    }
    let header = URL_SAFE_NO_PAD.decode(&b[s..s + h]).ok()?;
    let json: serde_json::Value = serde_json::from_slice(&header).ok()?;
    json.get("alg")?;
    Some(end)
}

/// The token after `Bearer `: at least 20 token chars, not all letters.
fn bearer_token(text: &str, i: usize) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let start = i + run(b, i, |c| c == b' ');
    let n = run(b, start, |c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'));
    let n = n + run(b, start + n, |c| c == b'=');
    let token = &text[start..start + n];
    let token = token.trim_end_matches('.');
    if token.len() < 20 || !token.bytes().any(|c| c.is_ascii_digit()) || !word_end(text, start + n) {
        return None;
    }
    Some((start, start + token.len()))
}

#[cfg(test)]
mod tests {
    use super::super::tests::found_label;
    use crate::mask::Label;

    #[test]
    fn finds_prefixed_keys() {
        for key in [
            "sk-proj-abcdefghijklmnopqrstuvwxyz012345",
            "sk-ant-api03-abcdefghijklmnopqrstuvwxyz_0123456789",
            "sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH",
            "AKIAIOSFODNN7EXAMPLE",
            "ASIAIOSFODNN7EXAMPLE",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV",
            "xoxb-1234567890-abcdefghij",
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "pk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "AIzaSyA-abcdefghijklmnopqrstuvwxyz01234",
            "glpat-abcdefghij0123456789",
            "SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            "SK0123456789abcdef0123456789abcdef",
            "npm_abcdefghijklmnopqrstuvwxyz0123456789",
            "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH",
        ] {
            let text = format!("key: {key}\n");
            assert_eq!(found_label(&text, Label::ApiKey), vec![key.to_string()], "{text}");
        }
    }

    #[test]
    fn rejects_look_alikes() {
        for text in [
            "sk-learn is a library",
            "ask-me-anything",
            "AKIAIOSFODNN7EXAMPL",   // 15 chars
            "AKIAIOSFODNN7EXAMPLEX", // 17 chars
            "ASIA is a continent",
            "SKIP this",
            "SK0123456789abcdef0123456789abcdeg",
            "ghp_short",
            "AIzaShort",
            "task-abcdefghijklmnopqrstuvwxyz",
            "eyJhbGciOiJIUzI1NiJ9",                  // one segment
            "eyJub3RhbGciOjF9.eyJzdWIiOiIxIn0.c2ln", // header without alg
            "Bearer of bad news",
        ] {
            assert_eq!(found_label(text, Label::ApiKey), Vec::<String>::new(), "{text}");
        }
    }

    #[test]
    fn finds_pem_block_as_one_span() {
        let block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1234\nabcd+/==\n-----END RSA PRIVATE KEY-----";
        let text = format!("here:\n{block}\nthanks");
        assert_eq!(found_label(&text, Label::ApiKey), vec![block.to_string()]);
        let open = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nAKCAQEA";
        assert_eq!(found_label(&format!("{open}\n\nbye"), Label::ApiKey), vec![open.to_string()]);
        assert_eq!(
            found_label("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", Label::ApiKey),
            Vec::<String>::new()
        );
    }

    #[test]
    fn finds_jwt_and_bearer() {
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(found_label(&format!("token {jwt}."), Label::ApiKey), vec![jwt.to_string()]);
        let got = found_label("Authorization: Bearer abcDEF0123456789xyz_-.tok", Label::ApiKey);
        assert_eq!(got, vec!["abcDEF0123456789xyz_-.tok".to_string()]);
    }

    #[test]
    fn finds_password_values() {
        for (text, want) in [
            ("password: hunter2", "hunter2"),
            ("db pwd=S3cr3t! then", "S3cr3t!"),
            ("{\"password\": \"p@ss word\"}", "p@ss word"),
            ("PASSWD='x y z'", "x y z"),
            ("passphrase = correct-horse, ok", "correct-horse"),
            ("my password is hunter2.", "hunter2"),
            ("the wifi password is \"blue sky\"", "blue sky"),
            ("Password was Summer2024! yesterday", "Summer2024!"),
            ("the password is now Tr0ub4dor&3", "Tr0ub4dor&3"),
        ] {
            assert_eq!(found_label(text, Label::Password), vec![want.to_string()], "{text}");
        }
        for text in [
            "forgot my password again",
            "password: ****",
            "password reset",
            "my password is wrong",
            "the password is case-sensitive",
            "the password is 8 characters long",
        ] {
            assert_eq!(found_label(text, Label::Password), Vec::<String>::new(), "{text}");
        }
    }
}
