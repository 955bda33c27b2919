//! The offline commands: `veil redact` and `veil detect --jsonl`, on the same detector
//! pipeline as the server (same config, same detectors, same policy).

use crate::config::Config;
use crate::mask::{Entity, Masker, PlaceholderMap, ValueHasher};
use crate::state::build_detectors;
use serde::Serialize;
use serde_json::Value;
use std::io::{BufRead, Write};

/// Builds the masker the server would build from `config`. The hash key comes from the
/// audit key variable when set, else a fresh random key (hash output then differs per run).
pub fn masker_for(config: &Config) -> anyhow::Result<Masker> {
    let key = std::env::var(&config.audit.key_env)
        .ok()
        .filter(|k| !k.is_empty())
        .map(String::into_bytes)
        .unwrap_or_else(|| rand::random::<[u8; 32]>().to_vec());
    let detectors = build_detectors(config)?;
    Ok(Masker::new(detectors, config.policy.clone(), &config.detect.allow, ValueHasher::new(&key)))
}

/// A span with Unicode code-point offsets, end exclusive.
#[derive(Debug, Serialize, PartialEq)]
pub struct CharSpan {
    pub start: usize,
    pub end: usize,
    pub label: &'static str,
    pub score: f32,
    pub detector: &'static str,
    /// The finer kind within the label (`region`, `place`), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
}

/// Converts byte-offset entities of `text` to code-point spans.
pub fn char_spans(text: &str, ents: &[Entity]) -> Vec<CharSpan> {
    let mut out = Vec::with_capacity(ents.len());
    // Entities are sorted by start; walk the text once.
    let mut chars = 0usize;
    let mut byte = 0usize;
    let mut to_char = |b: usize| {
        if b < byte {
            chars = text[..b].chars().count();
        } else {
            chars += text[byte..b].chars().count();
        }
        byte = b;
        chars
    };
    for e in ents {
        let start = to_char(e.start);
        let end = to_char(e.end);
        out.push(CharSpan {
            start,
            end,
            label: e.label.as_str(),
            score: (e.score * 1000.0).round() / 1000.0,
            detector: e.detector,
            kind: (!e.kind.is_any()).then(|| e.kind.as_str()),
            placeholder: None,
        });
    }
    out
}

/// `veil redact`: masks one text. Plain output is the masked text; `--json` adds entities.
pub async fn redact(masker: &Masker, text: &str, json: bool) -> anyhow::Result<String> {
    let ents = masker.detect(&[text]).await?.pop().unwrap_or_default();
    let mut masked = text.to_string();
    let mut map = PlaceholderMap::default();
    let report = masker.mask(&mut [&mut masked], &mut map).await;
    let blocked = match report {
        Ok(_) => None,
        Err(crate::mask::MaskError::Blocked(labels)) => Some(labels),
        Err(e) => return Err(e.into()),
    };
    if !json {
        if let Some(labels) = blocked {
            anyhow::bail!(
                "the policy blocks {}: nothing printed",
                labels.iter().map(|l| l.as_str()).collect::<Vec<_>>().join(", ")
            );
        }
        return Ok(masked);
    }
    let mut spans = char_spans(text, &ents);
    for (span, e) in spans.iter_mut().zip(&ents) {
        let value = &text[e.start..e.end];
        span.placeholder = map.slots().iter().find(|s| s.value == value).map(|s| s.placeholder.clone());
    }
    let out = serde_json::json!({
        "text": if blocked.is_some() { Value::Null } else { Value::String(masked) },
        "blocked": blocked.map(|l| l.iter().map(|x| x.as_str()).collect::<Vec<_>>()),
        "entities": spans,
    });
    Ok(out.to_string())
}

/// Errors of `veil detect`; exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum DetectCliError {
    #[error("line {line}: {message}")]
    BadLine { line: usize, message: String },
    #[error("reading input: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Detect(#[from] crate::mask::DetectError),
}

/// `veil detect --jsonl`: one output line per input line, in order, batched by `batch`.
/// Each line lists the spans the gateway would mask, redact, hash or block; values the
/// policy allows are left out.
pub async fn detect_jsonl(
    masker: &Masker,
    input: impl BufRead,
    mut output: impl Write,
    batch: usize,
) -> Result<usize, DetectCliError> {
    let mut pending: Vec<(Value, String)> = Vec::with_capacity(batch);
    let mut count = 0;
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let rec: Value = serde_json::from_str(&line)
            .map_err(|e| DetectCliError::BadLine { line: n + 1, message: format!("not valid JSON ({e})") })?;
        let id =
            rec.get("id").cloned().ok_or(DetectCliError::BadLine { line: n + 1, message: "missing \"id\"".into() })?;
        let text = rec
            .get("text")
            .and_then(Value::as_str)
            .ok_or(DetectCliError::BadLine { line: n + 1, message: "missing string \"text\"".into() })?
            .to_string();
        pending.push((id, text));
        if pending.len() >= batch {
            count += flush_batch(masker, &mut pending, &mut output).await?;
        }
    }
    count += flush_batch(masker, &mut pending, &mut output).await?;
    output.flush()?;
    Ok(count)
}

async fn flush_batch(
    masker: &Masker,
    pending: &mut Vec<(Value, String)>,
    output: &mut impl Write,
) -> Result<usize, DetectCliError> {
    if pending.is_empty() {
        return Ok(0);
    }
    // One detection call per document: each is its own request, so nothing found in one
    // (a name said again, `ner::names::propagate`) carries into another. The NER engine
    // still batches the concurrent calls into shared forward passes.
    let found = futures::future::try_join_all(pending.iter().map(|(_, t)| async move {
        let one = [t.as_str()];
        masker.detect(&one).await.map(|mut v| v.pop().unwrap_or_default())
    }))
    .await?;
    for ((id, text), mut ents) in pending.iter().zip(found) {
        // What the gateway would leave as it is (policy `allow`, a large region) is not
        // reported: the output is what would be masked.
        ents.retain(|e| masker.action_for_entity(e) != crate::mask::Action::Allow);
        let spans = char_spans(text, &ents);
        let line = serde_json::json!({"id": id, "spans": spans});
        writeln!(output, "{line}")?;
    }
    let n = pending.len();
    pending.clear();
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::Label;

    #[test]
    fn char_offsets_count_code_points() {
        let text = "héllo 日本 Ann";
        let s = text.find("Ann").unwrap();
        let e = Entity {
            start: s,
            end: s + 3,
            label: Label::Person,
            score: 0.9,
            detector: "x",
            kind: crate::mask::Kind::Any,
        };
        let spans = char_spans(text, &[e]);
        assert_eq!((spans[0].start, spans[0].end), (9, 12));
        let chars: Vec<char> = text.chars().collect();
        assert_eq!(chars[9..12].iter().collect::<String>(), "Ann");
    }
}
