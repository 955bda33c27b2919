//! Masking (step 2 of the request flow): every detector runs over every text the provider
//! would see, findings are merged, the policy picks an action per label, and values are
//! replaced by placeholders from the request's [`PlaceholderMap`]. Fails closed: any
//! detector error refuses the request.

mod detect;
mod label;
pub mod patterns;
pub mod placeholder;
pub mod restore;

pub use detect::{merge, DetectError, Detector, Entity, Kind};
pub use label::{Label, UnknownLabel};
pub use placeholder::{PlaceholderMap, MAX_PLACEHOLDER_LEN};
pub use restore::{Escape, RestoreStats, Restorer, StreamRestorer};

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;

/// What happens to a value of a label (docs/interface.md `[policy]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Replaced by a placeholder and restored in the answer (default).
    Mask,
    /// Replaced by `[REDACTED_LABEL]`; not restored.
    Redact,
    /// Replaced by `[LABEL#<8 hex>]`, a keyed hash stable across requests; not restored.
    Hash,
    /// The request is refused, naming the label.
    Block,
    /// Left as is.
    Allow,
}

impl Action {
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Mask => "mask",
            Action::Redact => "redact",
            Action::Hash => "hash",
            Action::Block => "block",
            Action::Allow => "allow",
        }
    }
}

impl FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "mask" => Ok(Action::Mask),
            "redact" => Ok(Action::Redact),
            "hash" => Ok(Action::Hash),
            "block" => Ok(Action::Block),
            "allow" => Ok(Action::Allow),
            _ => Err(format!("{s:?}: expected one of mask, redact, hash, block, allow")),
        }
    }
}

/// What happens to end-user identifier fields (OpenAI `user`, `safety_identifier`,
/// `prompt_cache_key`, Anthropic `metadata.user_id`): `[policy] identity_fields`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityMode {
    /// Replaced by a keyed, non-reversible pseudonym (`veil-<32 hex>`), the same for the
    /// same value and key, so providers still see a stable per-user id (default).
    #[default]
    Hash,
    /// Masked like message text: what the detectors find follows its label's policy.
    Mask,
    /// Removed from the request.
    Drop,
}

impl FromStr for IdentityMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hash" => Ok(IdentityMode::Hash),
            "mask" => Ok(IdentityMode::Mask),
            "drop" => Ok(IdentityMode::Drop),
            _ => Err(format!("{s:?}: expected one of hash, mask, drop")),
        }
    }
}

/// Keyed hashing of values (HMAC-SHA256). The audit log and the `hash` action use it so
/// that equal values can be correlated without ever being stored.
#[derive(Clone)]
pub struct ValueHasher {
    /// The keyed state, cloned per value (cheaper than re-keying each time).
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for ValueHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ValueHasher(..)")
    }
}

impl ValueHasher {
    pub fn new(key: &[u8]) -> Self {
        ValueHasher { mac: <Hmac<Sha256> as Mac>::new_from_slice(key).expect("hmac accepts any key length") }
    }

    /// Hex HMAC-SHA256 of `label \0 value`.
    pub fn hash(&self, label: Label, value: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(label.as_str().as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The pseudonym of an end-user identifier: `veil-` and 32 hex digits of the keyed
    /// hash (domain-separated from [`ValueHasher::hash`], so it matches no audit hash).
    pub fn pseudonym(&self, value: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(b"identity\0");
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("veil-{}", hex::encode(&digest[..16]))
    }
}

/// The `[policy]` table: an action per label, and per kind of a label where one is set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    pub labels: HashMap<Label, Action>,
    /// `"LOCATION.region" = "mask"`: overrides for one kind of a label.
    pub kinds: HashMap<(Label, Kind), Action>,
}

impl Policy {
    /// The action for a value of `label` and `kind`: the kind's own setting, else the
    /// built-in default of the kind (a [`Kind::Region`] is allowed: large regions are not
    /// identifiers), else the label's setting, else mask.
    pub fn action(&self, label: Label, kind: Kind) -> Action {
        if let Some(a) = self.kinds.get(&(label, kind)) {
            return *a;
        }
        if kind == Kind::Region {
            return Action::Allow;
        }
        self.labels.get(&label).copied().unwrap_or(Action::Mask)
    }
}

impl From<HashMap<Label, Action>> for Policy {
    fn from(labels: HashMap<Label, Action>) -> Self {
        Policy { labels, kinds: HashMap::new() }
    }
}

/// Why a request could not be masked. Every variant refuses the request.
#[derive(Debug, thiserror::Error)]
pub enum MaskError {
    #[error("pii detection failed")]
    Detect(#[from] DetectError),
    /// The policy blocks these labels; the message names labels only, never values.
    #[error("request blocked by policy: it contains {}", .0.iter().map(|l| l.as_str()).collect::<Vec<_>>().join(", "))]
    Blocked(Vec<Label>),
}

/// One value found in a request, as the audit log records it (no raw value).
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub label: Label,
    /// The finer kind within the label (`region`, `place`), if it has one.
    #[serde(skip_serializing_if = "Kind::is_any")]
    pub kind: Kind,
    pub action: Action,
    pub detector: &'static str,
    /// The placeholder it became (mask action only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// Keyed hash of the value.
    pub hmac: String,
}

/// What masking did to one request.
#[derive(Debug, Default, Clone)]
pub struct MaskReport {
    pub counts: BTreeMap<(Label, Action), u32>,
    pub findings: Vec<Finding>,
}

/// Runs the detectors and applies the policy.
pub struct Masker {
    detectors: Vec<Arc<dyn Detector>>,
    policy: Policy,
    allow: HashSet<String>,
    hasher: ValueHasher,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Masker").field("detectors", &self.versions()).finish()
    }
}

impl Masker {
    pub fn new(
        detectors: Vec<Arc<dyn Detector>>,
        policy: impl Into<Policy>,
        allow: &[String],
        hasher: ValueHasher,
    ) -> Self {
        let allow = allow.iter().map(|a| a.trim().to_lowercase()).collect();
        Masker { detectors, policy: policy.into(), allow, hasher }
    }

    pub fn hasher(&self) -> &ValueHasher {
        &self.hasher
    }

    /// `name/version` of every detector, for the audit log (asked each time: a model
    /// loaded after start-up reports its version once it is loaded).
    pub fn versions(&self) -> Vec<String> {
        self.detectors.iter().map(|d| d.version()).collect()
    }

    pub fn action_for(&self, label: Label) -> Action {
        self.policy.action(label, Kind::Any)
    }

    /// The action for one found value (its label and kind).
    pub fn action_for_entity(&self, e: &Entity) -> Action {
        self.policy.action(e.label, e.kind)
    }

    /// Finds entities in each text: merged, allow-listed, byte offsets.
    pub async fn detect(&self, texts: &[&str]) -> Result<Vec<Vec<Entity>>, DetectError> {
        // Each detector's time goes on the masking span (telemetry).
        let runs = futures::future::join_all(
            self.detectors.iter().map(|d| crate::telemetry::spans::timed_detector(d.name(), d.detect(texts))),
        )
        .await;
        let mut per_text: Vec<Vec<(u8, Entity)>> = vec![Vec::new(); texts.len()];
        for (d, run) in self.detectors.iter().zip(runs) {
            let found = run?;
            for (slot, ents) in per_text.iter_mut().zip(found) {
                slot.extend(ents.into_iter().map(|e| (d.priority(), e)));
            }
        }
        Ok(per_text
            .into_iter()
            .zip(texts)
            .map(|(found, text)| {
                let mut merged = merge(text, found);
                if !self.allow.is_empty() {
                    merged.retain(|e| !self.allow.contains(&text[e.start..e.end].trim().to_lowercase()));
                }
                merged
            })
            .collect())
    }

    /// Masks `texts` in place, adding values to `map`. On `Err` the texts may be partly
    /// masked and must not be forwarded.
    pub async fn mask(&self, texts: &mut [&mut String], map: &mut PlaceholderMap) -> Result<MaskReport, MaskError> {
        let found = {
            let views: Vec<&str> = texts.iter().map(|t| t.as_str()).collect();
            for v in &views {
                map.reserve_existing(v);
            }
            self.detect(&views).await?
        };
        let mut report = MaskReport::default();
        let mut blocked: Vec<Label> = Vec::new();
        for (text, ents) in texts.iter_mut().zip(found) {
            if ents.is_empty() {
                continue;
            }
            let mut out = String::with_capacity(text.len() + ents.len() * 8);
            let mut last = 0;
            for e in ents {
                let value = &text[e.start..e.end];
                let action = self.action_for_entity(&e);
                *report.counts.entry((e.label, action)).or_insert(0) += 1;
                let hmac = self.hasher.hash(e.label, value);
                out.push_str(&text[last..e.start]);
                let mut placeholder = None;
                match action {
                    Action::Allow => out.push_str(value),
                    Action::Mask => {
                        let p = map.placeholder_for(value, e.label);
                        out.push_str(p);
                        placeholder = Some(p.to_string());
                    }
                    Action::Redact => {
                        out.push_str("[REDACTED_");
                        out.push_str(e.label.as_str());
                        out.push(']');
                    }
                    Action::Hash => {
                        out.push('[');
                        out.push_str(e.label.as_str());
                        out.push('#');
                        out.push_str(&hmac[..8]);
                        out.push(']');
                    }
                    Action::Block => {
                        if !blocked.contains(&e.label) {
                            blocked.push(e.label);
                        }
                        out.push_str("[BLOCKED]");
                    }
                }
                report.findings.push(Finding {
                    label: e.label,
                    kind: e.kind,
                    action,
                    detector: e.detector,
                    placeholder,
                    hmac,
                });
                last = e.end;
            }
            out.push_str(&text[last..]);
            **text = out;
        }
        if !blocked.is_empty() {
            blocked.sort();
            return Err(MaskError::Blocked(blocked));
        }
        Ok(report)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use futures::future::BoxFuture;

    /// A detector that flags fixed words, for tests.
    pub struct Words(pub Vec<(&'static str, Label)>);

    impl Detector for Words {
        fn name(&self) -> &'static str {
            "words"
        }
        fn version(&self) -> String {
            "words/1".into()
        }
        fn priority(&self) -> u8 {
            50
        }
        fn detect<'a>(&'a self, texts: &'a [&'a str]) -> BoxFuture<'a, Result<Vec<Vec<Entity>>, DetectError>> {
            let out = texts
                .iter()
                .map(|t| {
                    let mut v = Vec::new();
                    for (w, l) in &self.0 {
                        for (s, _) in t.match_indices(w) {
                            v.push(Entity {
                                start: s,
                                end: s + w.len(),
                                label: *l,
                                score: 1.0,
                                detector: "words",
                                kind: Kind::Any,
                            });
                        }
                    }
                    v
                })
                .collect();
            Box::pin(async move { Ok(out) })
        }
    }

    fn masker(policy: &[(Label, Action)]) -> Masker {
        Masker::new(
            vec![Arc::new(Words(vec![
                ("Ann", Label::Person),
                ("123-45-6789", Label::UsSsn),
                ("Acme", Label::Organization),
            ]))],
            policy.iter().copied().collect::<HashMap<_, _>>(),
            &["acme".to_string()],
            ValueHasher::new(b"k"),
        )
    }

    #[tokio::test]
    async fn masks_and_counts() {
        let m = masker(&[]);
        let mut a = "Ann met Ann at Acme".to_string();
        let mut map = PlaceholderMap::default();
        let rep = m.mask(&mut [&mut a], &mut map).await.unwrap();
        assert_eq!(a, "[PERSON_1] met [PERSON_1] at Acme");
        assert_eq!(rep.counts[&(Label::Person, Action::Mask)], 2);
        assert_eq!(rep.findings[0].hmac, rep.findings[1].hmac);
        let (back, _) = Restorer::new(&map).restore(&a, Escape::None);
        assert_eq!(back, "Ann met Ann at Acme");
    }

    #[tokio::test]
    async fn block_names_the_label_only() {
        let m = masker(&[(Label::UsSsn, Action::Block)]);
        let mut a = "ssn 123-45-6789".to_string();
        let err = m.mask(&mut [&mut a], &mut PlaceholderMap::default()).await.unwrap_err();
        assert_eq!(err.to_string(), "request blocked by policy: it contains US_SSN");
    }

    #[test]
    fn pseudonyms_are_stable_keyed_and_not_the_value() {
        let h = ValueHasher::new(b"k");
        let p = h.pseudonym("jane.doe@example.com");
        assert_eq!(p, h.pseudonym("jane.doe@example.com"));
        assert_ne!(p, h.pseudonym("john@example.com"));
        assert_ne!(p, ValueHasher::new(b"other").pseudonym("jane.doe@example.com"));
        assert!(p.starts_with("veil-") && p.len() == 37 && !p.contains("jane"), "{p}");
        assert_eq!("drop".parse::<IdentityMode>(), Ok(IdentityMode::Drop));
        assert!("keep".parse::<IdentityMode>().unwrap_err().contains("hash, mask, drop"));
    }

    #[tokio::test]
    async fn redact_and_hash() {
        let m = masker(&[(Label::UsSsn, Action::Redact), (Label::Person, Action::Hash)]);
        let mut a = "Ann 123-45-6789".to_string();
        m.mask(&mut [&mut a], &mut PlaceholderMap::default()).await.unwrap();
        assert!(a.starts_with("[PERSON#"), "{a}");
        assert!(a.ends_with(" [REDACTED_US_SSN]"), "{a}");
    }
}
