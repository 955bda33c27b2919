//! Audit log (step 5 of the request flow, after the answer was restored or the request
//! failed): one JSON Lines record per request, appended by a single writer task and chained
//! with hashes so that `veil audit verify` detects any edit, insertion, deletion or
//! reordering. A record never holds a raw PII value: values appear only as keyed hashes
//! (`findings[].hmac`, from [`crate::mask::ValueHasher`]).
//!
//! # On-disk format
//!
//! One record per line, UTF-8, each line ending in `\n`. A line is a JSON object whose keys
//! are, in this order:
//!
//! - `seq`: record number, 1 for the first line, +1 per line;
//! - the fields of [`AuditRecord`], in declaration order (`time`, `request_id`, `key_id`,
//!   `route`, `client_api`, `provider`, `model`, `stream`, `outcome`, `status`,
//!   `upstream_status`, `error_kind`, `entities`, `findings`, `detectors`, `latency_ms`,
//!   `usage`, `placeholders`);
//! - `prev_hash`: the `hash` of the previous line; 64 zeros on the first line;
//! - `hash`: lowercase hex SHA-256 of `prev_hash` (its 64 ASCII hex characters) followed
//!   by the *canonical bytes* of the line;
//! - `mac`: lowercase hex HMAC-SHA256, keyed with the audit key, of `hash` (its 64 ASCII
//!   hex characters). Without the key nobody can recompute a valid chain.
//!
//! The canonical bytes are the line exactly as written, without `"hash"` and `"mac"`: the
//! writer serializes the object up to `prev_hash` as compact JSON (`{..."prev_hash":"…"}`),
//! hashes it, then replaces the final `}` with `,"hash":"<64 hex>","mac":"<64 hex>"}`. A
//! verifier therefore takes the line, checks that it ends with that 148-byte suffix, and
//! hashes everything before the suffix plus `}`. No re-serialization is involved, so a
//! verifier in any language gets the same bytes (floats included).
//!
//! An example line (wrapped here):
//!
//! ```text
//! {"seq":1,"time":"2025-01-01T00:00:00.000Z","request_id":"r1","key_id":"team-a",
//!  "route":"/v1/chat/completions","client_api":"openai","provider":"openai","model":"gpt-4o",
//!  "stream":false,"outcome":"ok","status":200,"upstream_status":200,"error_kind":null,
//!  "entities":{"EMAIL":{"mask":1}},"findings":[{"label":"EMAIL","action":"mask",
//!  "detector":"pattern","placeholder":"[EMAIL_1]","hmac":"…"}],"detectors":["pattern/1"],
//!  "latency_ms":{"mask":0.2,"upstream":512.0,"restore":0.1,"total":513.0},
//!  "usage":{"input_tokens":10,"output_tokens":5},
//!  "placeholders":{"restored":1,"mutated":0,"unrestored":0},
//!  "prev_hash":"000…000","hash":"…","mac":"…"}
//! ```
//!
//! # Rotation
//!
//! With `[audit] rotate_bytes` and/or `rotate_age` set (both off by default), the writer
//! rotates before writing a record that would take the file past `rotate_bytes`, or once
//! the file's first record is `rotate_age` old (checked when a record is written; an idle
//! log is not rotated). It fsyncs the file, renames it to
//! `<stem>.<first seq, 12 digits>.<first record's time>.jsonl` (see [`rotated_path`]; names sort
//! in chain order, before the active file) and starts a new file at the configured path.
//! The chain does not restart: the new file's first record has the next `seq` and the
//! previous file's last `hash` as its `prev_hash`. [`verify_set`] checks a set as one chain
//! and names a missing, emptied, renamed or reordered file. If the active file is empty or
//! missing when the writer opens it (a crash right after a rotation), the chain goes on
//! from the newest rotated file beside it. A rotation that fails (rename refused) is logged
//! and tried again a minute later; records keep going to the current file meanwhile.
//!
//! # Guarantees and limits
//!
//! - One process per log: [`AuditHandle::open`] takes an exclusive advisory lock.
//! - One writer task per log, so concurrent [`AuditHandle::record`] calls never interleave;
//!   each batch of whole lines is written with one `write_all`, and `sync_data` runs at most
//!   every 100 ms (and at shutdown).
//! - Every request gets one record, failed, refused and cancelled ones too: the pipeline's
//!   finish hook (`pipeline::finish::Finisher`) sends it on completion, error, or on drop
//!   when the request future is dropped (client gone).
//! - A crash can leave a torn last line (no trailing `\n`); the next `open` truncates only
//!   that line (with a warning) and continues the chain from the last complete record.
//! - `verify` detects edits, insertions, deletions and reorderings anywhere except the
//!   removal of records at the *end* of the file (or of the newest file of a rotated set),
//!   which leaves a valid shorter chain. To detect that, anchor the last `seq` and `hash`
//!   that `verify` reports somewhere else (a ticket, another system's log) and compare
//!   later. Likewise, removing the *oldest* files of a set (retention) is reported but not
//!   an error: the set then starts at the seq in its oldest file's name.
//! - The audit key comes from the environment variable named by `audit.key_env`
//!   (default `VEIL_AUDIT_KEY`; hex or a raw string), else from `<log path>.key`
//!   (created with mode 0600 when missing). A key file beside the log protects against
//!   accidental edits, not against someone who can read that file.

mod export;
mod files;
mod key;
mod query;
mod stats;
mod tail;
mod verify;
mod writer;

pub use export::{write_csv_header, write_csv_row, CSV_COLUMNS};
pub use files::{collect_sets, rotated_files, rotated_path, LogFile, LogName, LogSet, Rotated};
pub use key::{key_file_path, load_or_create_key, parse_key, AuditKey};
pub use query::{
    entity_summary, format_line, format_table, parse_time_bound, read_entries, run_query, Entry, Query, QueryError,
    QueryStats, PARAMS as QUERY_PARAMS,
};
pub use stats::{stats, stats_files, Percentiles, StatsReport};
pub use tail::{tail, TailOptions};
pub use verify::{verify, verify_key_for, verify_set, VerifyError, VerifyReport};
pub use writer::{AuditHandle, AuditWriterTask, CHANNEL_CAPACITY};

use crate::mask::MaskReport;
use crate::providers::ApiKind;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Values of [`AuditRecord::outcome`].
pub mod outcome {
    /// The upstream answered with success and the answer was returned.
    pub const OK: &str = "ok";
    /// The upstream answered with an error status, or could not be reached.
    pub const UPSTREAM_ERROR: &str = "upstream_error";
    /// Veil refused the request (bad request, unknown model, key, rate limit, masking
    /// unavailable or overload); nothing was forwarded.
    pub const REFUSED: &str = "refused";
    /// The policy blocked a label found in the request.
    pub const BLOCKED: &str = "blocked";
    /// The client went away before the answer was complete.
    pub const CANCELLED: &str = "cancelled";
    /// Veil failed (detector error, internal error).
    pub const ERROR: &str = "error";
    /// Every outcome.
    pub const ALL: &[&str] = &[OK, UPSTREAM_ERROR, REFUSED, BLOCKED, CANCELLED, ERROR];
}

/// The `prev_hash` of the first record.
pub const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One request, as the audit log records it. Holds no raw PII value. (`Default` is all
/// empty; use [`AuditRecord::new`].)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339 UTC with milliseconds, when the record was created.
    pub time: String,
    pub request_id: String,
    /// The caller's key id (never the key).
    pub key_id: Option<String>,
    /// `/v1/chat/completions` or `/v1/messages`.
    pub route: String,
    /// `openai` or `anthropic`: the API the client spoke.
    pub client_api: String,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub stream: bool,
    /// One of [`outcome`].
    pub outcome: String,
    /// The status Veil returned to the client.
    pub status: u16,
    pub upstream_status: Option<u16>,
    /// A low-cardinality error kind, never a message that could hold values.
    pub error_kind: Option<String>,
    /// Label -> action -> count.
    pub entities: BTreeMap<String, BTreeMap<String, u32>>,
    pub findings: Vec<AuditFinding>,
    /// `name/version` of every detector that ran.
    pub detectors: Vec<String>,
    pub latency_ms: Latency,
    pub usage: Option<Usage>,
    pub placeholders: PlaceholderCounts,
}

/// One value found in the request: label, action, detector and keyed hash, never the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFinding {
    pub label: String,
    /// The finer kind within the label (`region`, `place` for LOCATION), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub action: String,
    pub detector: String,
    /// The placeholder the value became (mask action only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// Keyed hash (HMAC-SHA256) of the value.
    pub hmac: String,
}

impl From<&crate::mask::Finding> for AuditFinding {
    fn from(f: &crate::mask::Finding) -> Self {
        AuditFinding {
            label: f.label.as_str().to_string(),
            kind: (!f.kind.is_any()).then(|| f.kind.as_str().to_string()),
            action: f.action.as_str().to_string(),
            detector: f.detector.to_string(),
            placeholder: f.placeholder.clone(),
            hmac: f.hmac.clone(),
        }
    }
}

/// Where the time went, in milliseconds (the writer rounds to whole microseconds and
/// writes a non-finite value as 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub mask: f64,
    pub upstream: f64,
    pub restore: f64,
    pub total: f64,
}

/// Token usage, when the provider reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// What happened to placeholders in the answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceholderCounts {
    /// Placeholders found in the answer and replaced by their value.
    pub restored: u32,
    /// Placeholder-like text the model altered, so it could not be restored exactly.
    pub mutated: u32,
    /// Placeholders sent upstream that never came back.
    pub unrestored: u32,
}

impl AuditRecord {
    /// A record for a request that just arrived: time is now, outcome `error` and status 0
    /// until the caller fills them in, everything else empty.
    pub fn new(request_id: impl Into<String>, route: impl Into<String>, client_api: ApiKind) -> Self {
        AuditRecord {
            time: now_rfc3339(),
            request_id: request_id.into(),
            key_id: None,
            route: route.into(),
            client_api: client_api.as_str().to_string(),
            provider: None,
            model: None,
            stream: false,
            outcome: outcome::ERROR.to_string(),
            status: 0,
            upstream_status: None,
            error_kind: None,
            entities: BTreeMap::new(),
            findings: Vec::new(),
            detectors: Vec::new(),
            latency_ms: Latency::default(),
            usage: None,
            placeholders: PlaceholderCounts::default(),
        }
    }

    /// Adds what masking found: counts into `entities`, one [`AuditFinding`] per value.
    /// Adds to what is there, so it may be called more than once per request.
    pub fn add_findings(&mut self, report: &MaskReport) {
        for (&(label, action), &n) in &report.counts {
            let per_action = self.entities.entry(label.as_str().to_string()).or_default();
            *per_action.entry(action.as_str().to_string()).or_insert(0) += n;
        }
        self.findings.extend(report.findings.iter().map(AuditFinding::from));
    }

    /// Number of entities found, all labels and actions.
    pub fn entity_count(&self) -> u64 {
        self.entities.values().flat_map(|m| m.values()).map(|&n| u64::from(n)).sum()
    }
}

/// The current time as RFC 3339 UTC with milliseconds (`2025-01-01T00:00:00.000Z`).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Why the audit log or its key could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: cannot {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("audit log {path} is in use by another veil process")]
    Locked { path: PathBuf },
    #[error("audit log {path}: the last record is unreadable ({reason}); run `veil audit verify {path}`")]
    Corrupt { path: PathBuf, reason: String },
    #[error("audit key file {path}: {reason}")]
    KeyFile { path: PathBuf, reason: String },
}

/// Length of the suffix `,"hash":"<64 hex>","mac":"<64 hex>"}` that ends every line.
pub(crate) const SUFFIX_LEN: usize = 9 + 64 + 9 + 64 + 2;

/// `hash` of a line: SHA-256 of `prev_hash` then the canonical bytes.
pub(crate) fn chain_hash(prev_hash: &str, canonical: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(canonical);
    hex::encode(h.finalize())
}

fn hmac_of(key: &[u8], hash: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("hmac accepts any key length");
    mac.update(hash.as_bytes());
    mac
}

/// `mac` of a line: hex HMAC-SHA256(key, hash).
pub(crate) fn chain_mac(key: &[u8], hash: &str) -> String {
    hex::encode(hmac_of(key, hash).finalize().into_bytes())
}

/// Checks a `mac` in constant time.
pub(crate) fn mac_matches(key: &[u8], hash: &str, mac_hex: &str) -> bool {
    match hex::decode(mac_hex) {
        Ok(bytes) => hmac_of(key, hash).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

pub(crate) fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Splits a line (without its `\n`) into canonical bytes, `hash` and `mac`, if it ends
/// with the exact suffix the writer produces.
pub(crate) fn split_line(line: &str) -> Option<(Vec<u8>, &str, &str)> {
    let cut = line.len().checked_sub(SUFFIX_LEN)?;
    let suffix = line.get(cut..)?;
    let rest = suffix.strip_prefix(",\"hash\":\"")?;
    let (hash, rest) = (rest.get(..64)?, rest.get(64..)?);
    let rest = rest.strip_prefix("\",\"mac\":\"")?;
    let (mac, rest) = (rest.get(..64)?, rest.get(64..)?);
    if rest != "\"}" || !is_hex64(hash) || !is_hex64(mac) {
        return None;
    }
    let mut canonical = Vec::with_capacity(cut + 1);
    canonical.extend_from_slice(line.get(..cut)?.as_bytes());
    canonical.push(b'}');
    Some((canonical, hash, mac))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::mask::{Action, Finding, Label, ValueHasher};

    /// A record with some of everything, for tests in this module.
    pub fn sample(i: usize) -> AuditRecord {
        let mut r = AuditRecord::new(format!("req-{i}"), "/v1/chat/completions", ApiKind::OpenAi);
        r.key_id = Some("team-a".into());
        r.provider = Some(if i.is_multiple_of(3) { "anthropic" } else { "openai" }.into());
        r.model = Some("gpt-4o".into());
        r.outcome = if i.is_multiple_of(5) { outcome::UPSTREAM_ERROR } else { outcome::OK }.into();
        r.status = if i.is_multiple_of(5) { 502 } else { 200 };
        r.upstream_status = Some(r.status);
        r.detectors = vec!["pattern/1".into()];
        r.entities.entry("EMAIL".into()).or_default().insert("mask".into(), 1);
        r.latency_ms = Latency { mask: 0.25, upstream: 100.0 + i as f64, restore: 0.1, total: 101.0 + i as f64 };
        r.usage = Some(Usage { input_tokens: 10, output_tokens: 5 });
        r
    }

    #[test]
    fn add_findings_counts_and_holds_no_raw_value() {
        let hasher = ValueHasher::new(b"k");
        let secret = "ann.smith@example.com";
        let mut report = MaskReport::default();
        report.counts.insert((Label::Email, Action::Mask), 2);
        report.counts.insert((Label::UsSsn, Action::Redact), 1);
        for (label, action, value, placeholder) in [
            (Label::Email, Action::Mask, secret, Some("[EMAIL_1]")),
            (Label::Email, Action::Mask, secret, Some("[EMAIL_1]")),
            (Label::UsSsn, Action::Redact, "123-45-6789", None),
        ] {
            report.findings.push(Finding {
                label,
                kind: crate::mask::Kind::Any,
                action,
                detector: "pattern",
                placeholder: placeholder.map(str::to_string),
                hmac: hasher.hash(label, value),
            });
        }
        let mut r = AuditRecord::new("r1", "/v1/messages", ApiKind::Anthropic);
        r.add_findings(&report);
        r.add_findings(&report);
        assert_eq!(r.entities["EMAIL"]["mask"], 4);
        assert_eq!(r.entities["US_SSN"]["redact"], 2);
        assert_eq!(r.entity_count(), 6);
        assert_eq!(r.findings.len(), 6);
        assert_eq!(r.findings[0].placeholder.as_deref(), Some("[EMAIL_1]"));
        let json = serde_json::to_string(&r).unwrap();
        assert!(!json.contains(secret), "{json}");
        assert!(!json.contains("ann.smith"), "{json}");
        assert!(!json.contains("123-45-6789"), "{json}");
        assert!(json.contains(&hasher.hash(Label::Email, secret)));
        assert_eq!(r.client_api, "anthropic");
        let back: AuditRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn time_is_rfc3339_utc_millis() {
        let t = AuditRecord::new("r", "/v1/messages", ApiKind::Anthropic).time;
        assert_eq!(t.len(), "2025-01-01T00:00:00.000Z".len(), "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[19] == b'.', "{t}");
    }

    #[test]
    fn split_line_needs_the_exact_suffix() {
        let h = "a".repeat(64);
        let line = format!("{{\"seq\":1,\"hash\":\"{h}\",\"mac\":\"{h}\"}}");
        let (canon, hash, mac) = split_line(&line).unwrap();
        assert_eq!(canon, b"{\"seq\":1}");
        assert_eq!((hash, mac), (h.as_str(), h.as_str()));
        assert!(split_line(&line.replace("\"}", "\" }")).is_none());
        assert!(split_line(&line.to_uppercase()).is_none());
        assert!(split_line("{}").is_none());
    }
}
