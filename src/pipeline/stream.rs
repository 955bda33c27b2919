//! Streaming responses: upstream bytes → SSE decoder → (translation to the client's API)
//! → per-block placeholder restore → SSE encoder → client. A spawned task drives the
//! upstream so that the finish hook runs even when the client leaves; the client's body
//! is a channel, and a failed send means the client is gone (the upstream is dropped).
//!
//! Restore keeps one [`StreamRestorer`] per text stream ([`Texts`], behind the providers
//! layer's `Restore` trait): per (choice, content/tool-call) for Chat Completions, per
//! content block for Messages, per item for the Responses API. Which texts an event holds,
//! when a block ends and what the synthetic events look like is the wire module's
//! (`providers::restore::ClientStream`, `providers::responses::StreamState`): held-back
//! text is flushed at every end-of-block signal (`finish_reason`, `content_block_stop`,
//! `.done`), at end of stream, and before an error event, riding on the closing event when
//! the format allows it, or on a synthetic delta event placed just before it. The pump knows
//! no format: upstream bytes go through the kind's native decoder or the SSE decoder, the
//! translation to the client's API (`providers::translate::StreamConvert`), then restore.

use super::finish::{Finisher, Outcome};
use super::Upstream;
use crate::config::ProviderConfig;
use crate::error::ApiError;
use crate::mask::{Escape, RestoreStats, Restorer, StreamRestorer};
use crate::providers::restore::{ClientStream, Restore, StreamKey};
use crate::providers::sse::{encode, SseDecoder, SseEvent};
use crate::providers::translate::StreamConvert;
use crate::providers::{ApiKind, TextRef};
use crate::state::AppState;
use axum::body::Bytes;
use axum::response::Response;
use bytes::BytesMut;
use futures::StreamExt;
use serde_json::Value;
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
        let restored = Restored { usage: self.restore.usage(), stats: self.restore.stats(), time: self.restore.time };
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

/// Restores placeholders in client-format stream events: the restorers (one per text
/// stream) are here, the client API's event handling is the providers layer's
/// ([`ClientStream`]).
struct ClientRestore {
    client: ClientStream,
    texts: Texts,
    time: Duration,
}

/// The text streams of one client stream, each with its restorer (chat and Responses
/// streams alike).
pub(super) struct Texts {
    restorer: Arc<Restorer>,
    streams: BTreeMap<StreamKey, StreamRestorer>,
    pub(super) usage: Option<(u64, u64)>,
    done_stats: RestoreStats,
}

impl Texts {
    pub(super) fn new(restorer: Arc<Restorer>) -> Texts {
        Texts { restorer, streams: BTreeMap::new(), usage: None, done_stats: RestoreStats::default() }
    }

    pub(super) fn stats(&self) -> RestoreStats {
        let mut s = self.done_stats;
        for r in self.streams.values() {
            s.add(r.stats());
        }
        s
    }
}

impl Restore for Texts {
    fn push(&mut self, key: StreamKey, json: bool, text: &str) -> String {
        let restorer = &self.restorer;
        let escape = if json { Escape::Json } else { Escape::None };
        self.streams.entry(key).or_insert_with(|| StreamRestorer::new(restorer.clone(), escape)).push(text)
    }

    fn flush(&mut self, pred: &dyn Fn(&StreamKey) -> bool) -> Vec<(StreamKey, String)> {
        let keys: Vec<StreamKey> = self.streams.keys().copied().filter(|k| pred(k)).collect();
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

    fn restore_texts(&mut self, refs: Vec<TextRef<'_>>) {
        if self.restorer.is_empty() {
            return;
        }
        for r in refs {
            self.done_stats.add(match r {
                TextRef::Plain(s) | TextRef::Identity(s) => self.restorer.restore_in_place(s, Escape::None),
                TextRef::JsonText(s) => self.restorer.restore_in_place(s, Escape::Json),
            });
        }
    }

    fn usage(&mut self, u: Option<(u64, u64)>) {
        if let Some((i, o)) = u {
            let (pi, po) = self.usage.unwrap_or((0, 0));
            self.usage = Some((if i > 0 { i } else { pi }, if o > 0 { o } else { po }));
        }
    }
}

impl ClientRestore {
    fn new(api: ApiKind, restorer: Arc<Restorer>, strip_usage: bool) -> Self {
        ClientRestore { client: ClientStream::new(api, strip_usage), texts: Texts::new(restorer), time: Duration::ZERO }
    }

    fn usage(&self) -> Option<(u64, u64)> {
        self.texts.usage
    }

    fn stats(&self) -> RestoreStats {
        self.texts.stats()
    }

    fn merge_usage(&mut self, u: Option<(u64, u64)>) {
        self.texts.usage(u);
    }

    fn on_event(&mut self, ev: SseEvent) -> Vec<SseEvent> {
        let t0 = Instant::now();
        let out = self.client.on_event(ev, &mut self.texts);
        self.time += t0.elapsed();
        out
    }

    /// Events carrying everything still held back (end of stream or before an error).
    fn flush_all(&mut self) -> Vec<SseEvent> {
        self.client.flush_all(&mut self.texts)
    }
}
