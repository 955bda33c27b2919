//! Validated pattern detectors (part of masking step 2): e-mail, phone, payment card, IBAN,
//! US SSN, IP, URL, crypto address, API keys / secrets / passwords, `@handles`, account
//! names in home-directory paths and in code attributions (`TODO(kwame)`, "owner:
//! t.mokoena"), values named by the keyword before them (national identity, tax and health
//! numbers, one-time and PIN codes, phone and SIM ids, postcodes, an age after "turned"),
//! plus the config's deny-lists. Every candidate a regex finds is validated (checksum,
//! registry table, parser, the keyword or field before it) before it is reported, so
//! look-alikes that fail validation stay unmasked.
//! Compiled once in [`PatternDetector::new`]; [`PatternDetector::find`] is synchronous and
//! allocation-light.

mod attribution;
mod card;
mod crypto;
mod deny;
mod email;
mod handle;
mod homedir;
mod iban;
mod ip;
mod keyed;
mod phone;
mod secrets;
mod ssn;
mod url;

use super::{DetectError, Detector, Entity, Kind, Label};
use futures::future::BoxFuture;
use std::collections::BTreeMap;

/// Name reported in spans found by the validated patterns.
pub const PATTERN_DETECTOR: &str = "pattern";
/// Name reported in spans found by the config's deny-lists.
pub const DENYLIST_DETECTOR: &str = "denylist";

/// Why the pattern detector could not be built. Messages name the config key.
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    /// A deny-list could not be compiled (empty term, automaton too large, ...).
    #[error("detect.deny.{label}: {reason}")]
    Deny { label: Label, reason: String },
}

/// All validated patterns and the deny-lists, compiled once.
pub struct PatternDetector {
    email: email::Emails,
    handle: handle::Handles,
    attribution: attribution::Attributions,
    homedir: homedir::HomeDirs,
    phone: phone::Phones,
    card: card::Cards,
    iban: iban::Ibans,
    ssn: ssn::Ssns,
    ip: ip::Ips,
    keyed: keyed::KeyedValues,
    url: url::Urls,
    crypto: crypto::Cryptos,
    secrets: secrets::Secrets,
    deny: deny::DenyLists,
}

impl std::fmt::Debug for PatternDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatternDetector").field("deny_labels", &self.deny.labels()).finish()
    }
}

impl PatternDetector {
    /// Builds every validated pattern plus the config's deny-lists. Regexes are compiled
    /// here, never per call. Deny-list matching is ASCII case-insensitive, whole words only.
    pub fn new(deny: &BTreeMap<Label, Vec<String>>) -> Result<Self, PatternError> {
        Ok(PatternDetector {
            email: email::Emails::new(),
            handle: handle::Handles::new(),
            attribution: attribution::Attributions::new(),
            homedir: homedir::HomeDirs::new(),
            phone: phone::Phones::new(),
            card: card::Cards::new(),
            iban: iban::Ibans::new(),
            ssn: ssn::Ssns::new(),
            ip: ip::Ips::new(),
            keyed: keyed::KeyedValues::new(),
            url: url::Urls::new(),
            crypto: crypto::Cryptos::new(),
            secrets: secrets::Secrets::new(),
            deny: deny::DenyLists::new(deny)?,
        })
    }

    /// Synchronous detection on one text. Byte offsets on char boundaries, end exclusive,
    /// sorted by `(start, end)`; spans may overlap (the merge resolves that later).
    pub fn find(&self, text: &str) -> Vec<Entity> {
        let mut out = Vec::new();
        if text.is_empty() {
            return out;
        }
        let digits = text.bytes().filter(u8::is_ascii_digit).count();
        self.email.find(text, &mut out);
        self.handle.find(text, &mut out);
        self.homedir.find(text, &mut out);
        self.attribution.find(text, &mut out);
        self.url.find(text, &mut out);
        self.secrets.find(text, &mut out);
        self.crypto.find(text, &mut out);
        self.iban.find(text, &mut out);
        if digits >= 1 {
            // Before the phone pattern, which leaves their digits alone.
            self.keyed.find(text, &mut out);
        }
        if digits >= 7 {
            self.ip.find(text, &mut out);
            self.card.find(text, &mut out);
            self.ssn.find(text, &mut out);
            // Last: it skips digits the other patterns already claimed.
            self.phone.find(text, &mut out);
        } else if digits >= 1 || text.contains("::") {
            self.ip.find(text, &mut out);
        }
        self.deny.find(text, &mut out);
        out.retain(|e| e.start < e.end && text.is_char_boundary(e.start) && text.is_char_boundary(e.end));
        out.sort_by_key(|e| (e.start, e.end, e.label));
        out.dedup_by(|a, b| a.start == b.start && a.end == b.end && a.label == b.label);
        out
    }
}

impl Detector for PatternDetector {
    fn name(&self) -> &'static str {
        PATTERN_DETECTOR
    }

    fn version(&self) -> String {
        "pattern/1".to_string()
    }

    fn priority(&self) -> u8 {
        100
    }

    fn detect<'a>(&'a self, texts: &'a [&'a str]) -> BoxFuture<'a, Result<Vec<Vec<Entity>>, DetectError>> {
        Box::pin(async move { Ok(texts.iter().map(|t| self.find(t)).collect()) })
    }
}

pub use keyed::{id_name_prefix, names_an_id, without_id_name_suffix};

/// A span found by a validated pattern.
fn entity(start: usize, end: usize, label: Label, score: f32) -> Entity {
    Entity { start, end, label, score, detector: PATTERN_DETECTOR, kind: Kind::Any }
}

/// The character just before byte `i`, if any.
fn char_before(text: &str, i: usize) -> Option<char> {
    text.get(..i).and_then(|s| s.chars().next_back())
}

/// The character starting at byte `i`, if any.
fn char_at(text: &str, i: usize) -> Option<char> {
    text.get(i..).and_then(|s| s.chars().next())
}

/// True when the character before `i` is not a letter, digit or `_` (or `i` is the start).
fn word_start(text: &str, i: usize) -> bool {
    !char_before(text, i).is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// True when the character at `i` is not a letter, digit or `_` (or `i` is the end).
fn word_end(text: &str, i: usize) -> bool {
    !char_at(text, i).is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// True when a number starting at `i` is not the tail of a longer number: the previous
/// char is not a word char, and not `.`/`-`/`,` directly after a digit or word char.
fn number_start(text: &str, i: usize) -> bool {
    if !word_start(text, i) {
        return false;
    }
    let b = text.as_bytes();
    if i >= 1 && matches!(b[i - 1], b'.' | b'-' | b',' | b'/' | b'+') {
        return !(i >= 2 && (b[i - 2].is_ascii_alphanumeric() || b[i - 2] == b'_'));
    }
    true
}

/// True when a number ending at `i` does not continue: the next char is not a word char,
/// and not `.`/`-`/`,` followed by a digit.
fn number_end(text: &str, i: usize) -> bool {
    if !word_end(text, i) {
        return false;
    }
    let b = text.as_bytes();
    if i < b.len() && matches!(b[i], b'.' | b'-' | b',' | b'/') {
        return !(i + 1 < b.len() && b[i + 1].is_ascii_digit());
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn detector() -> PatternDetector {
        PatternDetector::new(&BTreeMap::new()).expect("builds")
    }

    /// `(label, matched text)` for every finding.
    pub(super) fn found(text: &str) -> Vec<(Label, String)> {
        detector().find(text).into_iter().map(|e| (e.label, text[e.start..e.end].to_string())).collect()
    }

    pub(super) fn found_label(text: &str, label: Label) -> Vec<String> {
        found(text).into_iter().filter(|(l, _)| *l == label).map(|(_, s)| s).collect()
    }

    #[test]
    fn spans_stay_on_char_boundaries_with_multibyte_text() {
        let d = detector();
        let pieces = [
            "é",
            "日本",
            "😀",
            "👩‍👩‍👧",
            "josé@exämple.com",
            "ü4111 1111 1111 1111é",
            "日本192.168.0.1日本",
            "+44 20 7946 0958",
            "DE89 3704 0044 0532 0130 00",
            "sk-ant-",
            "0x",
            "bc1",
            "www.例え.jp",
            "€1.234,56",
            "123-45-6789",
            "password=日本語🔑",
            "https://例え.jp/パス?q=é",
            "::1",
            "ÄKIA",
        ];
        // Every pair of pieces, glued with and without spaces.
        for a in pieces {
            for b in pieces {
                for sep in ["", " ", "é", "\n"] {
                    let text = format!("{a}{sep}{b}{sep}{a}");
                    for e in d.find(&text) {
                        assert!(text.is_char_boundary(e.start) && text.is_char_boundary(e.end), "{text:?} {e:?}");
                        assert!(e.start < e.end && e.end <= text.len());
                    }
                }
            }
        }
    }

    #[test]
    fn finds_each_kind_in_one_prompt() {
        let text = "Hi, I'm at john.doe@example.com or +44 20 7946 0958. Card 4111 1111 1111 1111, \
                    IBAN DE89 3704 0044 0532 0130 00, SSN 078-05-1121, server 192.168.1.10, \
                    see https://example.org/x, key sk-proj-abcdefghijklmnopqrstuvwxyz012345.";
        let got: Vec<Label> = found(text).into_iter().map(|(l, _)| l).collect();
        for l in [
            Label::Email,
            Label::Phone,
            Label::CreditCard,
            Label::Iban,
            Label::UsSsn,
            Label::IpAddress,
            Label::Url,
            Label::ApiKey,
        ] {
            assert!(got.contains(&l), "{l} missing from {got:?}");
        }
    }

    #[test]
    fn plain_text_has_no_findings() {
        let text = "Version 1.2.3.4.5 shipped on 2023-01-15 at 12:30:45; order #123456, total $1,234.56. \
                    Open report.pdf and main.rs, then config.json. Meeting in room 4021 at 10.30.";
        assert_eq!(found(text), vec![]);
    }

    #[test]
    fn output_is_sorted() {
        let text = "b@example.com a@example.com 192.168.0.1 10.0.0.1";
        let ents = detector().find(text);
        assert!(ents.windows(2).all(|w| (w[0].start, w[0].end) <= (w[1].start, w[1].end)));
        assert_eq!(ents.len(), 4);
    }

    #[test]
    fn detector_trait_runs_every_text() {
        let d = detector();
        assert_eq!(d.name(), "pattern");
        assert_eq!(d.version(), "pattern/1");
        assert_eq!(d.priority(), 100);
        let texts = ["a@example.com", "nothing here"];
        let out = futures::executor::block_on(d.detect(&texts)).expect("detects");
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].len(), 1);
        assert!(out[1].is_empty());
    }
}
