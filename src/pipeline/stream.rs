//! Streaming responses: upstream bytes → SSE decoder → (translation to the client's API)
//! → per-block placeholder restore → SSE encoder → client. A spawned task drives the
//! upstream so that the finish hook runs even when the client leaves; the client's body
//! is a channel, and a failed send means the client is gone (the upstream is dropped).
//!
//! Restore keeps one [`StreamRestorer`] per (choice, content/tool-call) for OpenAI and per
//! content block for Anthropic. Held-back text is flushed at every end-of-block signal
//! (OpenAI `finish_reason`, Anthropic `content_block_stop`), at end of stream, and before
//! an error event; flushed text rides on the closing event when the format allows it, or
//! on a synthetic delta event placed just before it.

use super::finish::{Finisher, Outcome};
use super::Upstream;
use crate::config::ProviderConfig;
use crate::error::ApiError;
use crate::mask::{Escape, RestoreStats, Restorer, StreamRestorer};
use crate::providers::sse::{encode, SseDecoder, SseEvent};
use crate::providers::translate::{AnthropicToOpenAiStream, OpenAiToAnthropicStream};
use crate::providers::{anthropic, openai, ApiKind};
use crate::state::AppState;
use axum::body::Bytes;
use axum::response::Response;
use bytes::BytesMut;
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Starts the pump task and returns the streaming response.
pub(super) fn respond(
    state: &AppState,
    api: ApiKind,
    provider: &ProviderConfig,
    model: &str,
    up: Upstream,
    restorer: Arc<Restorer>,
    fin: Finisher,
) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let convert = match (up.provider_kind, api) {
        (ApiKind::Anthropic, ApiKind::OpenAi) => Convert::A2O(AnthropicToOpenAiStream::new(model, false)),
        (ApiKind::OpenAi, ApiKind::Anthropic) => Convert::O2A(OpenAiToAnthropicStream::new(model)),
        _ => Convert::Same,
    };
    let pump = Pump {
        api,
        provider_kind: up.provider_kind,
        provider: provider.name.clone(),
        idle: state.config.server.stream_idle_timeout,
        convert,
        restore: ClientRestore::new(api, restorer, up.strip_usage),
        fin,
    };
    tokio::spawn(pump.run(up, tx));
    super::sse_response(rx)
}

enum Convert {
    Same,
    A2O(AnthropicToOpenAiStream),
    O2A(OpenAiToAnthropicStream),
}

impl Convert {
    fn on_event(&mut self, ev: SseEvent, out: &mut Vec<SseEvent>) {
        match self {
            Convert::Same => out.push(ev),
            Convert::A2O(t) => out.extend(t.on_event(&ev)),
            Convert::O2A(t) => out.extend(t.on_event(&ev)),
        }
    }

    fn finish(&mut self, out: &mut Vec<SseEvent>) {
        match self {
            Convert::Same => {}
            Convert::A2O(t) => out.extend(t.finish()),
            Convert::O2A(t) => out.extend(t.finish()),
        }
    }
}

struct Pump {
    api: ApiKind,
    provider_kind: ApiKind,
    provider: String,
    idle: Duration,
    convert: Convert,
    restore: ClientRestore,
    fin: Finisher,
}

enum End {
    Clean,
    Failed(&'static str),
    ClientGone,
}

impl Pump {
    async fn run(mut self, up: Upstream, tx: mpsc::Sender<Bytes>) {
        let sent_at = up.sent_at;
        let mut body = up.response.bytes_stream();
        let mut decoder = SseDecoder::new();
        let mut converted = Vec::new();
        let end = loop {
            let next = tokio::time::timeout(self.idle, body.next()).await;
            let mut out = BytesMut::new();
            let end = match next {
                Err(_) => Some(End::Failed("upstream_idle_timeout")),
                Ok(None) => {
                    if let Some(ev) = decoder.finish() {
                        self.handle(ev, &mut converted, &mut out);
                    }
                    Some(End::Clean)
                }
                Ok(Some(Err(e))) => {
                    tracing::warn!(provider = %self.provider, error = %e, "upstream stream broke");
                    Some(End::Failed("upstream_stream_error"))
                }
                Ok(Some(Ok(bytes))) => {
                    for ev in decoder.push(&bytes) {
                        self.handle(ev, &mut converted, &mut out);
                    }
                    None
                }
            };
            match end {
                Some(End::Clean) => {
                    let mut tail = Vec::new();
                    self.convert.finish(&mut tail);
                    for ev in tail {
                        self.restore_into(ev, &mut out);
                    }
                    for ev in self.restore.flush_all() {
                        out.extend_from_slice(&encode(&ev));
                    }
                }
                Some(End::Failed(kind)) => {
                    for ev in self.restore.flush_all() {
                        out.extend_from_slice(&encode(&ev));
                    }
                    let err = match kind {
                        "upstream_idle_timeout" => ApiError::UpstreamTimeout { provider: self.provider.clone() },
                        _ => ApiError::UpstreamUnreachable { provider: self.provider.clone() },
                    };
                    for ev in error_events(self.api, &err) {
                        out.extend_from_slice(&encode(&ev));
                    }
                }
                _ => {}
            }
            if !out.is_empty() && tx.send(out.freeze()).await.is_err() {
                break End::ClientGone;
            }
            if let Some(e) = end {
                break e;
            }
        };
        self.fin.upstream_time(sent_at.elapsed());
        self.fin.set_usage(self.restore.usage);
        self.fin.restore_time(self.restore.time, self.restore.stats());
        match end {
            End::Clean => self.fin.done(Outcome::Ok, 200, None),
            End::Failed(kind) => self.fin.done(Outcome::UpstreamError, 200, Some(kind)),
            End::ClientGone => {
                tracing::info!(provider = %self.provider, "client left mid-stream; upstream dropped");
                self.fin.done(Outcome::Cancelled, 499, Some("client_cancelled"))
            }
        }
    }

    fn handle(&mut self, ev: SseEvent, converted: &mut Vec<SseEvent>, out: &mut BytesMut) {
        // Usage as the provider reports it (before translation, which may drop it).
        if self.provider_kind != self.api {
            if let Ok(v) = serde_json::from_str::<Value>(&ev.data) {
                let u = match self.provider_kind {
                    ApiKind::OpenAi => openai::usage(&v),
                    ApiKind::Anthropic => anthropic::usage(&v),
                };
                self.restore.merge_usage(u);
            }
        }
        converted.clear();
        self.convert.on_event(ev, converted);
        for ev in converted.drain(..) {
            self.restore_into(ev, out);
        }
    }

    fn restore_into(&mut self, ev: SseEvent, out: &mut BytesMut) {
        for e in self.restore.on_event(ev) {
            out.extend_from_slice(&encode(&e));
        }
    }
}

/// Error event(s) in the client's stream format after a mid-stream failure.
fn error_events(api: ApiKind, err: &ApiError) -> Vec<SseEvent> {
    match api {
        ApiKind::OpenAi => vec![
            SseEvent { data: err.body(ApiKind::OpenAi).to_string(), ..Default::default() },
            SseEvent { data: "[DONE]".into(), ..Default::default() },
        ],
        ApiKind::Anthropic => vec![SseEvent {
            event: Some("error".into()),
            data: err.body(ApiKind::Anthropic).to_string(),
            ..Default::default()
        }],
    }
}

/// Which text stream inside the client's event stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    /// OpenAI choice index, or Anthropic content block index.
    index: u64,
    /// 0 = message text; 1 + n = OpenAI tool call n; Anthropic: 0 text, 1 tool input JSON.
    sub: u64,
}

/// Restores placeholders in client-format stream events.
struct ClientRestore {
    api: ApiKind,
    restorer: Arc<Restorer>,
    streams: BTreeMap<Key, StreamRestorer>,
    /// Last OpenAI chunk's id/created/model, for synthetic chunks.
    template: Option<Value>,
    strip_usage: bool,
    usage: Option<(u64, u64)>,
    done_stats: RestoreStats,
    time: Duration,
}

impl ClientRestore {
    fn new(api: ApiKind, restorer: Arc<Restorer>, strip_usage: bool) -> Self {
        ClientRestore {
            api,
            restorer,
            streams: BTreeMap::new(),
            template: None,
            strip_usage,
            usage: None,
            done_stats: RestoreStats::default(),
            time: Duration::ZERO,
        }
    }

    fn stats(&self) -> RestoreStats {
        let mut s = self.done_stats;
        for r in self.streams.values() {
            s.add(r.stats());
        }
        s
    }

    fn merge_usage(&mut self, u: Option<(u64, u64)>) {
        if let Some((i, o)) = u {
            let (pi, po) = self.usage.unwrap_or((0, 0));
            self.usage = Some((if i > 0 { i } else { pi }, if o > 0 { o } else { po }));
        }
    }

    fn push(&mut self, key: Key, escape: Escape, text: &str) -> String {
        let restorer = &self.restorer;
        self.streams.entry(key).or_insert_with(|| StreamRestorer::new(restorer.clone(), escape)).push(text)
    }

    /// Flushes and retires the streams matching `pred`; returns (key, text) for non-empty rests.
    fn flush(&mut self, pred: impl Fn(&Key) -> bool) -> Vec<(Key, String)> {
        let keys: Vec<Key> = self.streams.keys().copied().filter(|k| pred(k)).collect();
        let mut out = Vec::new();
        for k in keys {
            if let Some(mut r) = self.streams.remove(&k) {
                let rest = r.finish();
                self.done_stats.add(r.stats());
                if !rest.is_empty() {
                    out.push((k, rest));
                }
            }
        }
        out
    }

    fn on_event(&mut self, ev: SseEvent) -> Vec<SseEvent> {
        let t0 = Instant::now();
        let out = match self.api {
            ApiKind::OpenAi => self.openai_event(ev),
            ApiKind::Anthropic => self.anthropic_event(ev),
        };
        self.time += t0.elapsed();
        out
    }

    /// Events carrying everything still held back (end of stream or before an error).
    fn flush_all(&mut self) -> Vec<SseEvent> {
        let rests = self.flush(|_| true);
        match self.api {
            ApiKind::OpenAi => rests.into_iter().map(|(k, t)| self.openai_synthetic(k, t)).collect(),
            ApiKind::Anthropic => rests.into_iter().map(|(k, t)| anthropic_synthetic(k, t)).collect(),
        }
    }

    fn openai_synthetic(&self, k: Key, text: String) -> SseEvent {
        let mut chunk = self.template.clone().unwrap_or_else(|| json!({"object": "chat.completion.chunk"}));
        let delta = if k.sub == 0 {
            json!({"content": text})
        } else {
            json!({"tool_calls": [{"index": k.sub - 1, "function": {"arguments": text}}]})
        };
        chunk["choices"] = json!([{"index": k.index, "delta": delta, "finish_reason": null}]);
        SseEvent { data: chunk.to_string(), ..Default::default() }
    }

    fn openai_event(&mut self, ev: SseEvent) -> Vec<SseEvent> {
        if ev.data.trim() == "[DONE]" {
            let mut out = self.flush_all();
            out.push(ev);
            return out;
        }
        let Ok(mut v) = serde_json::from_str::<Value>(&ev.data) else { return vec![ev] };
        if v.get("error").is_some() {
            let mut out = self.flush_all();
            out.push(ev);
            return out;
        }
        self.merge_usage(openai::usage(&v));
        let no_choices = v.get("choices").and_then(Value::as_array).is_none_or(|c| c.is_empty());
        if self.strip_usage && no_choices && v.get("usage").is_some_and(|u| !u.is_null()) {
            return Vec::new();
        }
        if self.strip_usage {
            if let Some(o) = v.as_object_mut() {
                o.remove("usage");
            }
        }
        if self.template.is_none() {
            let mut t = v.clone();
            if let Some(o) = t.as_object_mut() {
                o.remove("choices");
                o.remove("usage");
            }
            self.template = Some(t);
        }
        let mut changed = self.strip_usage;
        let Some(choices) = v.get_mut("choices").and_then(Value::as_array_mut) else { return vec![ev] };
        for choice in choices.iter_mut() {
            let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0);
            let finished = choice.get("finish_reason").is_some_and(|f| !f.is_null());
            if let Some(delta) = choice.get_mut("delta") {
                if let Some(Value::String(text)) = delta.get_mut("content") {
                    let key = Key { index, sub: 0 };
                    let restored = self.push(key, Escape::None, text);
                    if restored != *text {
                        *text = restored;
                        changed = true;
                    }
                }
                if let Some(calls) = delta.get_mut("tool_calls").and_then(Value::as_array_mut) {
                    for call in calls {
                        let n = call.get("index").and_then(Value::as_u64).unwrap_or(0);
                        if let Some(Value::String(args)) = call.pointer_mut("/function/arguments") {
                            let restored = self.push(Key { index, sub: 1 + n }, Escape::Json, args);
                            if restored != *args {
                                *args = restored;
                                changed = true;
                            }
                        }
                    }
                }
            }
            if finished {
                let rests = self.flush(|k| k.index == index);
                if !rests.is_empty() {
                    changed = true;
                    let delta = choice
                        .as_object_mut()
                        .map(|o| o.entry("delta").or_insert_with(|| json!({})))
                        .filter(|d| d.is_object());
                    if let Some(delta) = delta {
                        for (k, rest) in rests {
                            if k.sub == 0 {
                                let cur = delta.get("content").and_then(Value::as_str).unwrap_or("").to_string();
                                delta["content"] = Value::String(cur + &rest);
                            } else {
                                let calls =
                                    delta.as_object_mut().map(|o| o.entry("tool_calls").or_insert_with(|| json!([])));
                                if let Some(Value::Array(calls)) = calls {
                                    calls.push(json!({"index": k.sub - 1, "function": {"arguments": rest}}));
                                }
                            }
                        }
                    }
                }
            }
        }
        if changed {
            vec![SseEvent { data: v.to_string(), ..ev }]
        } else {
            vec![ev]
        }
    }

    fn anthropic_event(&mut self, ev: SseEvent) -> Vec<SseEvent> {
        let Ok(mut v) = serde_json::from_str::<Value>(&ev.data) else { return vec![ev] };
        let kind = v.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
        match kind.as_str() {
            "message_start" | "message_delta" => {
                self.merge_usage(anthropic::usage(&v));
                vec![ev]
            }
            "content_block_delta" => {
                let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                let Some(delta) = v.get_mut("delta") else { return vec![ev] };
                let (field, key, escape) = match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => ("text", Key { index, sub: 0 }, Escape::None),
                    Some("input_json_delta") => ("partial_json", Key { index, sub: 1 }, Escape::Json),
                    _ => return vec![ev],
                };
                let Some(Value::String(text)) = delta.get_mut(field) else { return vec![ev] };
                let restored = self.push(key, escape, text);
                if restored == *text {
                    return vec![ev];
                }
                *text = restored;
                vec![SseEvent { data: v.to_string(), ..ev }]
            }
            "content_block_stop" => {
                let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                let mut out: Vec<SseEvent> =
                    self.flush(|k| k.index == index).into_iter().map(|(k, t)| anthropic_synthetic(k, t)).collect();
                out.push(ev);
                out
            }
            "message_stop" | "error" => {
                let mut out = self.flush_all();
                out.push(ev);
                out
            }
            _ => vec![ev],
        }
    }
}

fn anthropic_synthetic(k: Key, text: String) -> SseEvent {
    let delta = if k.sub == 0 {
        json!({"type": "text_delta", "text": text})
    } else {
        json!({"type": "input_json_delta", "partial_json": text})
    };
    SseEvent {
        event: Some("content_block_delta".into()),
        data: json!({"type": "content_block_delta", "index": k.index, "delta": delta}).to_string(),
        ..Default::default()
    }
}
