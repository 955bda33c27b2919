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
use crate::providers::translate::StreamConvert;
use crate::providers::{anthropic, ApiKind};
use crate::state::AppState;
use axum::body::Bytes;
use axum::response::Response;
use bytes::BytesMut;
use futures::StreamExt;
use serde_json::{json, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Starts the pump task and returns the streaming response. `include_usage`: the client
/// (Chat Completions) asked for the usage chunk, which a translated stream then ends with.
#[allow(clippy::too_many_arguments)]
pub(super) fn respond(
    state: &AppState,
    api: ApiKind,
    provider: &ProviderConfig,
    model: &str,
    up: Upstream,
    include_usage: bool,
    restorer: Arc<Restorer>,
    fin: Finisher,
) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let convert = StreamConvert::new(up.provider_kind, api, model, include_usage);
    let pump = Pump {
        native: provider.provider_kind.native_stream(model), // gemini
        api,
        provider_kind: up.provider_kind,
        provider: provider.name.clone(),
        idle: state.config.server.stream_idle_timeout,
        convert,
        restore: ClientRestore::new(api, restorer, up.strip_usage),
        fin,
        trace: crate::telemetry::spans::StreamTrace::new(up.span.clone()), // telemetry
    };
    tokio::spawn(pump.run(up, tx));
    super::sse_response(rx)
}

struct Pump {
    /// gemini, bedrock: turns the kind's own stream events into wire-API events first.
    native: Option<crate::providers::NativeStream>,
    api: ApiKind,
    provider_kind: ApiKind,
    provider: String,
    idle: Duration,
    convert: StreamConvert,
    restore: ClientRestore,
    fin: Finisher,
    /// The request, upstream and restore spans (telemetry).
    trace: crate::telemetry::spans::StreamTrace,
}

/// How a streamed answer ended.
pub(super) enum End {
    Clean,
    Failed(&'static str),
    ClientGone,
}

/// What the restore side of a stream counted, for the audit record and the trace.
pub(super) struct Restored {
    pub usage: Option<(u64, u64)>,
    pub stats: RestoreStats,
    pub time: Duration,
}

/// The bookkeeping every streamed answer ends with, whatever its wire format: upstream and
/// restore times, usage, the trace, and the audit outcome (a client that left is 499).
pub(super) fn end_stream(
    fin: &mut Finisher,
    trace: &crate::telemetry::spans::StreamTrace,
    provider: &str,
    upstream: Duration,
    restored: Restored,
    end: End,
) {
    fin.upstream_time(upstream);
    fin.set_usage(restored.usage);
    fin.restore_time(restored.time, restored.stats);
    let failure = match end {
        End::Clean => None,
        End::Failed(kind) => Some(kind),
        End::ClientGone => Some("client_cancelled"),
    };
    trace.finish(restored.usage, restored.stats, restored.time, failure); // telemetry
    match end {
        End::Clean => fin.done(Outcome::Ok, 200, None),
        End::Failed(kind) => fin.done(Outcome::UpstreamError, 200, Some(kind)),
        End::ClientGone => {
            tracing::info!(provider = %provider, "client left mid-stream; upstream dropped");
            fin.done(Outcome::Cancelled, 499, Some("client_cancelled"))
        }
    }
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
                    // >>> bedrock: a kind whose stream is not SSE decodes the bytes itself
                    if let Some(events) = self.native.as_mut().and_then(|n| n.on_bytes(&bytes)) {
                        for ev in events {
                            self.handle_wire(ev, &mut converted, &mut out);
                        }
                    } else {
                        for ev in decoder.push(&bytes) {
                            self.handle(ev, &mut converted, &mut out);
                        }
                    }
                    // <<< bedrock
                    None
                }
            };
            match end {
                Some(End::Clean) => {
                    // gemini: the native converter's closing events go through like the rest.
                    for ev in self.native.as_mut().map(|n| n.finish()).unwrap_or_default() {
                        self.handle_wire(ev, &mut converted, &mut out);
                    }
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
        let restored = Restored { usage: self.restore.usage, stats: self.restore.stats(), time: self.restore.time };
        end_stream(&mut self.fin, &self.trace, &self.provider, sent_at.elapsed(), restored, end);
    }

    fn handle(&mut self, ev: SseEvent, converted: &mut Vec<SseEvent>, out: &mut BytesMut) {
        // >>> gemini
        if let Some(native) = self.native.as_mut() {
            let events = native.on_event(&ev);
            for ev in events {
                self.handle_wire(ev, converted, out);
            }
            return;
        }
        // <<< gemini
        self.handle_wire(ev, converted, out);
    }

    /// One event in the provider's wire API (`provider_kind`).
    fn handle_wire(&mut self, ev: SseEvent, converted: &mut Vec<SseEvent>, out: &mut BytesMut) {
        // Usage as the provider reports it (before translation, which may drop it).
        if self.provider_kind != self.api && ev.data.contains("\"usage\"") {
            if let Ok(v) = serde_json::from_str::<Value>(&ev.data) {
                let u = self.provider_kind.usage(&v);
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
    api.stream_error_events(&err.body(api))
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

    /// OpenAI chunks. A borrowed, typed view finds the text deltas without building a
    /// `Value`; the chunk is re-serialized only when restore changed something or held
    /// text must ride on a `finish_reason` chunk. Everything else is forwarded as is.
    fn openai_event(&mut self, ev: SseEvent) -> Vec<SseEvent> {
        if ev.data.trim() == "[DONE]" {
            let mut out = self.flush_all();
            out.push(ev);
            return out;
        }
        let Ok(view) = serde_json::from_str::<ChunkView<'_>>(&ev.data) else { return vec![ev] };
        if view.error.is_some() {
            let mut out = self.flush_all();
            out.push(ev);
            return out;
        }
        if let Some(u) = &view.usage {
            self.merge_usage(Some((u.prompt_tokens.unwrap_or(0), u.completion_tokens.unwrap_or(0))));
            if self.strip_usage && view.choices.is_empty() {
                // Usage was asked for on the client's behalf (for the audit log): hide it.
                return Vec::new();
            }
        }
        // The template comes from a chunk with choices: Azure's opening prompt-filter chunk
        // has none, and an empty `id`, `model` and `object`.
        if self.template.is_none() && !view.choices.is_empty() {
            if let Ok(Value::Object(mut t)) = serde_json::from_str::<Value>(&ev.data) {
                t.remove("choices");
                t.remove("usage");
                self.template = Some(Value::Object(t));
            }
        }
        // Per choice: restored content, restored tool arguments, and flushed rests.
        let mut edits: Vec<ChoiceEdit> = Vec::with_capacity(view.choices.len());
        let mut changed = false;
        for choice in &view.choices {
            let index = choice.index;
            let mut edit = ChoiceEdit::default();
            if let Some(delta) = &choice.delta {
                if let Some(text) = &delta.content {
                    let restored = self.push(Key { index, sub: 0 }, Escape::None, text);
                    changed |= restored != *text;
                    edit.held = !text.is_empty() && restored.is_empty();
                    edit.content = Some(restored);
                }
                for call in delta.tool_calls.iter().flatten() {
                    if let Some(args) = call.function.as_ref().and_then(|f| f.arguments.as_ref()) {
                        let restored = self.push(Key { index, sub: 1 + call.index }, Escape::Json, args);
                        changed |= restored != *args;
                        edit.args.push(Some(restored));
                    } else {
                        edit.args.push(None);
                    }
                }
            }
            if choice.finish_reason.is_some() {
                edit.rests = self.flush(|k| k.index == index);
                changed |= !edit.rests.is_empty();
            }
            edits.push(edit);
        }
        if !changed {
            return vec![ev];
        }
        drop(view);
        let Ok(mut v) = serde_json::from_str::<Value>(&ev.data) else { return vec![ev] };
        let choices = v.get_mut("choices").and_then(Value::as_array_mut);
        for (choice, edit) in choices.into_iter().flatten().zip(edits) {
            let Some(obj) = choice.as_object_mut() else { continue };
            let delta = obj.entry("delta").or_insert_with(|| json!({}));
            let Some(delta) = delta.as_object_mut() else { continue };
            let mut content = edit.content;
            let mut extra_calls = Vec::new();
            for (k, rest) in edit.rests {
                if k.sub == 0 {
                    content.get_or_insert_with(String::new).push_str(&rest);
                } else {
                    extra_calls.push(json!({"index": k.sub - 1, "function": {"arguments": rest}}));
                }
            }
            match content {
                // All of this delta's text is held back (it may start a placeholder): no
                // `content: ""` goes out; the text follows in a later chunk.
                Some(c) if c.is_empty() && edit.held => {
                    delta.remove("content");
                }
                Some(c) => {
                    delta.insert("content".into(), Value::String(c));
                }
                None => {}
            }
            if let Some(Value::Array(calls)) = delta.get_mut("tool_calls") {
                for (call, args) in calls.iter_mut().zip(edit.args) {
                    if let (Some(a), Some(f)) = (args, call.get_mut("function").and_then(Value::as_object_mut)) {
                        f.insert("arguments".into(), Value::String(a));
                    }
                }
            }
            if !extra_calls.is_empty() {
                let calls = delta.entry("tool_calls").or_insert_with(|| json!([]));
                if let Value::Array(calls) = calls {
                    calls.extend(extra_calls);
                }
            }
        }
        if carries_nothing(&v) {
            return Vec::new();
        }
        vec![SseEvent { data: v.to_string(), ..ev }]
    }

    /// Anthropic events: deltas through a borrowed view, forwarded as is when unchanged.
    fn anthropic_event(&mut self, ev: SseEvent) -> Vec<SseEvent> {
        let Ok(view) = serde_json::from_str::<EventView<'_>>(&ev.data) else { return vec![ev] };
        match view.kind.as_ref() {
            "content_block_delta" => {
                let index = view.index;
                let Some(delta) = &view.delta else { return vec![ev] };
                let (text, key, escape, field) = match (delta.kind.as_ref(), &delta.text, &delta.partial_json) {
                    ("text_delta", Some(t), _) => (t, Key { index, sub: 0 }, Escape::None, "text"),
                    ("input_json_delta", _, Some(t)) => (t, Key { index, sub: 1 }, Escape::Json, "partial_json"),
                    _ => return vec![ev],
                };
                let restored = self.push(key, escape, text);
                if restored == *text {
                    return vec![ev];
                }
                if restored.is_empty() {
                    // Held back whole (a possible placeholder): the text comes in a later
                    // delta or on the block's end; an empty delta would say nothing.
                    return Vec::new();
                }
                drop(view);
                let Ok(mut v) = serde_json::from_str::<Value>(&ev.data) else { return vec![ev] };
                v["delta"][field] = Value::String(restored);
                vec![SseEvent { data: v.to_string(), ..ev }]
            }
            "message_start" | "message_delta" => {
                drop(view);
                if let Ok(v) = serde_json::from_str::<Value>(&ev.data) {
                    self.merge_usage(anthropic::usage(&v));
                }
                vec![ev]
            }
            "content_block_stop" => {
                let index = view.index;
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

/// Whether an OpenAI chunk, after restore, has nothing left to say: no usage, and every
/// choice has an empty `delta`, no `finish_reason` and no `logprobs` (its text was held).
fn carries_nothing(chunk: &Value) -> bool {
    let blank = |v: Option<&Value>| v.is_none_or(Value::is_null);
    let Some(choices) = chunk.get("choices").and_then(Value::as_array) else { return false };
    !choices.is_empty()
        && blank(chunk.get("usage"))
        && choices.iter().all(|c| {
            c.get("delta").and_then(Value::as_object).is_some_and(|d| d.is_empty())
                && blank(c.get("finish_reason"))
                && blank(c.get("logprobs"))
        })
}

/// What restore did to one OpenAI choice.
#[derive(Default)]
struct ChoiceEdit {
    content: Option<String>,
    /// The choice's content was not empty and is held back whole.
    held: bool,
    /// One entry per `tool_calls` element, in order.
    args: Vec<Option<String>>,
    rests: Vec<(Key, String)>,
}

#[derive(serde::Deserialize)]
struct ChunkView<'a> {
    #[serde(borrow, default)]
    choices: Vec<ChoiceView<'a>>,
    #[serde(default)]
    usage: Option<UsageView>,
    #[serde(default)]
    error: Option<serde::de::IgnoredAny>,
}

#[derive(serde::Deserialize)]
struct ChoiceView<'a> {
    #[serde(default)]
    index: u64,
    #[serde(borrow, default)]
    delta: Option<DeltaView<'a>>,
    #[serde(default)]
    finish_reason: Option<serde::de::IgnoredAny>,
}

#[derive(serde::Deserialize)]
struct DeltaView<'a> {
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_calls: Option<Vec<ToolCallView<'a>>>,
}

#[derive(serde::Deserialize)]
struct ToolCallView<'a> {
    #[serde(default)]
    index: u64,
    #[serde(borrow, default)]
    function: Option<FunctionView<'a>>,
}

#[derive(serde::Deserialize)]
struct FunctionView<'a> {
    #[serde(borrow, default)]
    arguments: Option<Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct UsageView {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

#[derive(serde::Deserialize)]
struct EventView<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Cow<'a, str>,
    #[serde(default)]
    index: u64,
    #[serde(borrow, default)]
    delta: Option<AnthropicDeltaView<'a>>,
}

#[derive(serde::Deserialize)]
struct AnthropicDeltaView<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    partial_json: Option<Cow<'a, str>>,
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
