//! One `/v1/responses` request (OpenAI Responses API) end to end: parse → route → pick each
//! target's way (below) → mask every text (same detectors and policy as chat) → send (alias
//! targets in order, across kinds) → restore the answer (plain, or the event stream with
//! per-item hold-back) → the finish hook (audit record and metrics, route `/v1/responses`).
//!
//! ```text
//! Responses body ─ refuse settings a translated target cannot take (before masking)
//!   ─ mask (providers::responses visitor) ─► masked Responses body, then per target:
//!   openai / azure kind: pass-through ─► {base_url}/responses as written, texts masked
//!   any other kind:      responses_chat::to_chat_request ─► guard::check_responses_chat
//!                        ─► the chat path's send (Messages translation or the kind's own
//!                        format, each checked again) ─► upstream
//! answer: pass-through as is; translated: Chat answer ─► responses_chat::to_response,
//!         or Chat chunks ─► ChatToResponsesStream ─► Responses events
//!   ─► Responses restore (one code for both ways, plain and streamed)
//! ```
//!
//! `previous_response_id` and `store` are forwarded to OpenAI-kind providers: a provider
//! that stores responses holds the masked text only, and Veil's placeholder map lives for
//! one request, so placeholders in text that the provider replays from an earlier
//! response are not restored. A translated target gets no conversation state: those
//! settings are refused there (see `providers::responses_chat`).

use super::finish::{Finisher, Outcome};
use super::stream::{end_stream, End, Restored, Texts};
use super::{
    fail, guard, note_fallback, post, read_answer, read_json, retryable, route, send, target_provider, Upstream,
};
use crate::caller::Caller;
use crate::config::ProviderConfig;
use crate::error::ApiError;
use crate::mask::{Escape, IdentityMode, PlaceholderMap, RestoreStats, Restorer};
use crate::providers::responses::{self, ROUTE};
use crate::providers::responses_chat::{self, ChatToResponsesStream};
use crate::providers::sse::{encode, SseDecoder, SseEvent};
use crate::providers::translate::{AnthropicToOpenAiStream, TranslateError};
use crate::providers::{ApiKind, TextRef};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use futures::StreamExt as _;
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tracing::Instrument as _;

/// Handles one `POST /v1/responses`.
pub async fn run(state: AppState, caller: Caller, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let scope = crate::telemetry::RequestScope::start_route(ROUTE, &headers);
    let response = run_request(state, caller, headers, body).instrument(scope.span().clone()).await;
    scope.respond(response)
}

async fn run_request(
    state: AppState,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request_id = crate::caller::request_id(&headers);
    let key_id = caller.key_id().map(str::to_string);
    let mut fin = Finisher::for_route(state.clone(), ApiKind::OpenAi, ROUTE, request_id.clone(), key_id);
    match run_inner(&state, &caller, &headers, body, &mut fin).await {
        Ok(Reply::Json(value)) => {
            fin.done(Outcome::Ok, 200, None);
            (StatusCode::OK, axum::Json(value)).into_response()
        }
        Ok(Reply::Stream(resp)) => resp,
        Err(e) => fail(&mut fin, &request_id, ApiKind::OpenAi, e),
    }
}

enum Reply {
    Json(Value),
    Stream(Response),
}

async fn run_inner(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    fin: &mut Finisher,
) -> Result<Reply, ApiError> {
    let mut body = read_json(state, body)?;
    responses::validate_request(&body).map_err(ApiError::BadRequest)?;
    let stream = responses::is_stream(&body);
    fin.set_stream(stream);
    let (model, targets) = route(state, caller, &body, fin)?;
    // Each target's way, decided before anything is masked or sent: a kind that speaks the
    // Responses API gets the body as written; any other gets it through Chat Completions,
    // and settings that cannot cross over are refused now.
    let mut ways = Vec::with_capacity(targets.len());
    for target in &targets {
        let provider = target_provider(state, target, &model)?;
        ways.push(match responses::url(&provider.provider_kind, &provider.base_url) {
            Some(url) => Way::Same(url),
            None => {
                responses_chat::check_request(&body).map_err(|e| translate_error(provider, e))?;
                Way::Chat
            }
        });
    }
    // What a translated answer echoes of the request (the client's own values: they go
    // back to the client only).
    let echo = if ways.iter().any(|w| matches!(w, Way::Chat)) { responses_chat::echo(&body) } else { Map::new() };

    // Mask every text with the chat policy. Fails closed.
    let identity = state.config.identity_fields;
    if identity == IdentityMode::Drop {
        if let Some(map) = body.as_object_mut() {
            for field in responses::IDENTITY_FIELDS {
                map.remove(*field);
            }
        }
    }
    let t0 = Instant::now();
    let mut map = PlaceholderMap::default();
    let mask_span = crate::telemetry::spans::mask(&state.masker); // telemetry
    let report = async {
        match responses::request_texts(&mut body) {
            Ok(refs) => guard::mask_refs(&state.masker, identity, refs, &mut map).await,
            Err(e) => Err(ApiError::BadRequest(e.to_string())),
        }
    }
    .instrument(mask_span.clone())
    .await;
    crate::telemetry::spans::masked(&mask_span, report.as_ref().map_err(ApiError::kind)); // telemetry
    fin.mask_time(t0.elapsed());
    let report = report?;
    fin.set_report(&report);
    let restorer = Restorer::new(&map);

    let mut last_err = None;
    for (i, (target, way)) in targets.iter().zip(ways).enumerate() {
        let more = i + 1 < targets.len();
        let Some(provider) = state.config.providers.get(&target.provider) else { continue };
        fin.set_target(target);
        // >>> telemetry: one span per attempt; the answer (plain or stream) takes it along
        let up_span = crate::telemetry::spans::upstream(provider, target);
        let attempt = match &way {
            Way::Same(url) => {
                let mut payload = body.clone();
                payload["model"] = Value::String(target.model.clone());
                let bytes = serde_json::to_vec(&payload).map_err(|e| ApiError::Internal(e.to_string()))?;
                post(state, ApiKind::OpenAi, provider, url.clone(), bytes, headers, fin)
                    .instrument(up_span.clone())
                    .await
                    .map(|(response, sent_at)| Upstream {
                        response,
                        sent_at,
                        strip_usage: false,
                        provider_kind: ApiKind::OpenAi,
                        span: up_span.clone(),
                    })
            }
            Way::Chat => {
                let max_tokens = provider.provider_kind.max_tokens_field(&provider.base_url);
                let chat = responses_chat::to_chat_request(&body, &target.model, max_tokens)
                    .map_err(|e| translate_error(provider, e))?;
                // The Responses → Chat Completions step may not leak: nothing is sent
                // when a string of `chat` did not come from the masker.
                guard::check_responses_chat(&body, &chat)?;
                send(state, ApiKind::OpenAi, provider, target, &chat, stream, headers, fin)
                    .instrument(up_span.clone())
                    .await
            }
        };
        if let Err(e) = &attempt {
            crate::telemetry::spans::upstream_failed(&up_span, e.kind());
        }
        // <<< telemetry
        match attempt {
            Ok(up) => {
                let chat = match way {
                    Way::Same(_) => None,
                    Way::Chat => Some(ChatStages { provider, model: &target.model, echo: &echo }),
                };
                return if stream {
                    let translate = chat.map(|c| c.stream());
                    Ok(Reply::Stream(respond_stream(state, &provider.name, up, restorer, translate, fin.take())))
                } else {
                    let answer = match chat {
                        None => finish_plain(&provider.name, up, &restorer, fin).await,
                        Some(c) => finish_translated(c, up, &restorer, fin).await,
                    };
                    crate::telemetry::spans::ended(&up_span, answer).map(Reply::Json)
                    // telemetry
                };
            }
            Err(e) if more && retryable(&e) => {
                note_fallback(fin, &provider.name, &e);
                last_err = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| ApiError::Internal("no target".into())))
}

/// How one target is reached.
enum Way {
    /// The kind speaks the Responses API: the body goes to this URL as written.
    Same(String),
    /// Through Chat Completions (`providers::responses_chat`) and the chat path's send.
    Chat,
}

/// A request that cannot be translated for `provider`: 400, naming the field.
fn translate_error(provider: &ProviderConfig, e: TranslateError) -> ApiError {
    let why = format!(
        "provider {:?} (kind {}) does not speak the Responses API, so the request goes to it as Chat Completions, \
         and {e}",
        provider.name,
        provider.provider_kind.as_str()
    );
    match e {
        TranslateError::Unsupported(_) => ApiError::Unsupported(why),
        TranslateError::Invalid(_) => ApiError::BadRequest(why),
    }
}

/// What turns a translated target's answer back into the Responses API.
#[derive(Clone, Copy)]
struct ChatStages<'a> {
    provider: &'a ProviderConfig,
    model: &'a str,
    echo: &'a Map<String, Value>,
}

impl ChatStages<'_> {
    /// The stream stages before restore: the kind's own events → its wire API's → Chat
    /// Completions chunks → Responses events.
    fn stream(self) -> Translate {
        Translate {
            native: self.provider.provider_kind.native_stream(self.model),
            messages: responses_chat::chat_stream(self.provider.kind, self.model),
            responses: ChatToResponsesStream::new(self.model, self.echo.clone()),
        }
    }
}

/// A translated target's plain answer: the chat path reads it as a Chat Completions answer
/// (from the kind's own format, or translated from Messages), then it becomes a Responses
/// object, restored like a pass-through answer.
async fn finish_translated(
    chat: ChatStages<'_>,
    up: Upstream,
    restorer: &Arc<Restorer>,
    fin: &mut Finisher,
) -> Result<Value, ApiError> {
    let answer = read_answer(ApiKind::OpenAi, chat.provider, chat.model, up, fin).await?;
    let mut body = responses_chat::to_response(&answer, chat.echo);
    let t0 = Instant::now();
    let restore_span = crate::telemetry::spans::restore(); // telemetry
    let stats = restore_response(&mut body, restorer);
    crate::telemetry::spans::restored(&restore_span, stats, t0.elapsed()); // telemetry
    fin.restore_time(t0.elapsed(), stats);
    Ok(body)
}

/// Restores the texts of a response object in place ([`responses::response_texts`]).
fn restore_response(body: &mut Value, restorer: &Restorer) -> RestoreStats {
    restore_refs(responses::response_texts(body), restorer)
}

fn restore_refs(refs: Vec<TextRef<'_>>, restorer: &Restorer) -> RestoreStats {
    let mut stats = RestoreStats::default();
    if restorer.is_empty() {
        return stats;
    }
    for r in refs {
        stats.add(match r {
            TextRef::Plain(s) | TextRef::Identity(s) => restorer.restore_in_place(s, Escape::None),
            TextRef::JsonText(s) => restorer.restore_in_place(s, Escape::Json),
        });
    }
    stats
}

async fn finish_plain(
    provider: &str,
    up: Upstream,
    restorer: &Arc<Restorer>,
    fin: &mut Finisher,
) -> Result<Value, ApiError> {
    let bytes = up.response.bytes().await;
    fin.upstream_time(up.sent_at.elapsed());
    let bytes = bytes.map_err(|e| {
        tracing::warn!(request_id = %fin.request_id(), provider = %provider, error = %e, "reading the upstream body failed");
        if e.is_timeout() {
            ApiError::UpstreamTimeout { provider: provider.to_string() }
        } else {
            ApiError::UpstreamUnreachable { provider: provider.to_string() }
        }
    })?;
    let mut body: Value =
        serde_json::from_slice(&bytes).map_err(|_| ApiError::UpstreamBadResponse { provider: provider.to_string() })?;
    let usage = responses::usage(&body);
    fin.set_usage(usage);
    crate::telemetry::spans::usage(&up.span, usage); // telemetry
    let t0 = Instant::now();
    let restore_span = crate::telemetry::spans::restore(); // telemetry
    let stats = restore_response(&mut body, restorer);
    crate::telemetry::spans::restored(&restore_span, stats, t0.elapsed()); // telemetry
    fin.restore_time(t0.elapsed(), stats);
    Ok(body)
}

// ---------------------------------------------------------------------------------------
// Streaming
// ---------------------------------------------------------------------------------------

/// Starts the pump task and returns the streaming response. `translate`: the stages of a
/// target reached through Chat Completions (`None` for a pass-through).
fn respond_stream(
    state: &AppState,
    provider: &str,
    up: Upstream,
    restorer: Arc<Restorer>,
    translate: Option<Translate>,
    fin: Finisher,
) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let pump = Pump {
        provider: provider.to_string(),
        idle: state.config.server.stream_idle_timeout,
        translate,
        restore: EventRestore::new(restorer),
        fin,
        trace: crate::telemetry::spans::StreamTrace::new(up.span.clone()), // telemetry
    };
    tokio::spawn(pump.run(up, tx));
    super::sse_response(rx)
}

/// The stages a translated stream's events go through before restore.
struct Translate {
    /// A kind with its own stream format (Gemini, Bedrock): its events → Chat Completions
    /// chunks.
    native: Option<crate::providers::NativeStream>,
    /// A Messages upstream (Anthropic): its events → Chat Completions chunks.
    messages: Option<AnthropicToOpenAiStream>,
    responses: ChatToResponsesStream,
}

impl Translate {
    /// The Responses events for one upstream event.
    fn on_event(&mut self, ev: SseEvent) -> Vec<SseEvent> {
        let wire = match self.native.as_mut() {
            Some(n) => n.on_event(&ev),
            None => vec![ev],
        };
        let mut out = Vec::new();
        for ev in wire {
            self.wire_event(ev, &mut out);
        }
        out
    }

    /// The Responses events for the body bytes `bytes` of a stream that is not SSE (the
    /// kind decodes them itself); `None`: the body is SSE.
    fn on_bytes(&mut self, bytes: &[u8]) -> Option<Vec<SseEvent>> {
        let wire = self.native.as_mut()?.on_bytes(bytes)?;
        let mut out = Vec::new();
        for ev in wire {
            self.wire_event(ev, &mut out);
        }
        Some(out)
    }

    fn wire_event(&mut self, ev: SseEvent, out: &mut Vec<SseEvent>) {
        match self.messages.as_mut() {
            Some(m) => {
                for chunk in m.on_event(&ev) {
                    out.extend(self.responses.on_event(&chunk));
                }
            }
            None => out.extend(self.responses.on_event(&ev)),
        }
    }

    /// The closing events of every stage, at the upstream's clean end.
    fn finish(&mut self) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for ev in self.native.as_mut().map(|n| n.finish()).unwrap_or_default() {
            self.wire_event(ev, &mut out);
        }
        for chunk in self.messages.as_mut().map(|m| m.finish()).unwrap_or_default() {
            out.extend(self.responses.on_event(&chunk));
        }
        out.extend(self.responses.finish());
        out
    }
}

struct Pump {
    provider: String,
    idle: Duration,
    translate: Option<Translate>,
    restore: EventRestore,
    fin: Finisher,
    /// The request, upstream and restore spans (telemetry).
    trace: crate::telemetry::spans::StreamTrace,
}

impl Pump {
    async fn run(mut self, up: Upstream, tx: mpsc::Sender<Bytes>) {
        let sent_at = up.sent_at;
        let mut body = up.response.bytes_stream();
        let mut decoder = SseDecoder::new();
        let end = loop {
            let next = tokio::time::timeout(self.idle, body.next()).await;
            let mut out = BytesMut::new();
            let end = match next {
                Err(_) => Some(End::Failed("upstream_idle_timeout")),
                Ok(None) => {
                    if let Some(ev) = decoder.finish() {
                        self.feed(ev, &mut out);
                    }
                    Some(End::Clean)
                }
                Ok(Some(Err(e))) => {
                    tracing::warn!(provider = %self.provider, error = %e, "upstream stream broke");
                    Some(End::Failed("upstream_stream_error"))
                }
                Ok(Some(Ok(bytes))) => {
                    match self.translate.as_mut().and_then(|t| t.on_bytes(&bytes)) {
                        Some(evs) => {
                            for ev in evs {
                                emit(self.restore.on_event(ev), &mut out);
                            }
                        }
                        None => {
                            for ev in decoder.push(&bytes) {
                                self.feed(ev, &mut out);
                            }
                        }
                    }
                    None
                }
            };
            match end {
                Some(End::Clean) => {
                    let tail = self.translate.as_mut().map(Translate::finish).unwrap_or_default();
                    for ev in tail {
                        emit(self.restore.on_event(ev), &mut out);
                    }
                    let evs = self.restore.flush_all();
                    emit(evs, &mut out);
                }
                Some(End::Failed(kind)) => {
                    let mut evs = self.restore.flush_all();
                    let err = match kind {
                        "upstream_idle_timeout" => ApiError::UpstreamTimeout { provider: self.provider.clone() },
                        _ => ApiError::UpstreamUnreachable { provider: self.provider.clone() },
                    };
                    evs.push(self.restore.error_event(&err));
                    emit(evs, &mut out);
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
}

impl Pump {
    /// One upstream event: translated (when the target is reached through Chat
    /// Completions), then restored and encoded into `out`.
    fn feed(&mut self, ev: SseEvent, out: &mut BytesMut) {
        match self.translate.as_mut() {
            Some(t) => {
                for ev in t.on_event(ev) {
                    emit(self.restore.on_event(ev), out);
                }
            }
            None => emit(self.restore.on_event(ev), out),
        }
    }
}

fn emit(evs: Vec<SseEvent>, out: &mut BytesMut) {
    for ev in evs {
        out.extend_from_slice(&encode(&ev));
    }
}

/// Restores placeholders in Responses stream events: the restorers are the chat stream's
/// ([`Texts`]), the event handling is the Responses wire module's
/// ([`responses::StreamState`]).
struct EventRestore {
    state: responses::StreamState,
    texts: Texts,
    time: Duration,
}

impl EventRestore {
    fn new(restorer: Arc<Restorer>) -> Self {
        EventRestore { state: responses::StreamState::default(), texts: Texts::new(restorer), time: Duration::ZERO }
    }

    fn stats(&self) -> RestoreStats {
        self.texts.stats()
    }

    fn usage(&self) -> Option<(u64, u64)> {
        self.texts.usage
    }

    fn on_event(&mut self, ev: SseEvent) -> Vec<SseEvent> {
        let t0 = Instant::now();
        let out = self.state.on_event(ev, &mut self.texts);
        self.time += t0.elapsed();
        out
    }

    /// Everything still held back, as synthetic deltas (end of stream).
    fn flush_all(&mut self) -> Vec<SseEvent> {
        self.state.flush_all(&mut self.texts)
    }

    /// The Responses stream's `error` event after a mid-stream failure.
    fn error_event(&mut self, err: &ApiError) -> SseEvent {
        self.state.error_event(&err.body(ApiKind::OpenAi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::PlaceholderMap;
    use serde_json::json;

    fn restorer() -> Arc<Restorer> {
        let mut map = PlaceholderMap::default();
        let p = map.placeholder_for("Jane Doe", crate::mask::Label::Person);
        assert_eq!(p, "[PERSON_1]");
        Restorer::new(&map)
    }

    fn ev(v: Value) -> SseEvent {
        SseEvent::named(v["type"].as_str().unwrap().to_owned(), v.to_string())
    }

    fn data(evs: &[SseEvent]) -> Vec<Value> {
        evs.iter().map(|e| serde_json::from_str(&e.data).unwrap()).collect()
    }

    #[test]
    fn deltas_split_inside_a_placeholder_are_restored_per_item() {
        let mut r = EventRestore::new(restorer());
        let mut all = Vec::new();
        for (oi, d) in [(0, "Hi [PER"), (1, "{\"who\":\"[PE"), (0, "SON_1]!"), (1, "RSON_1]\"}")] {
            let t = if oi == 0 { "response.output_text.delta" } else { "response.function_call_arguments.delta" };
            all.extend(r.on_event(ev(json!({"type": t, "item_id": format!("it{oi}"), "output_index": oi,
                "content_index": 0, "delta": d, "sequence_number": 9}))));
        }
        all.extend(r.on_event(ev(json!({"type": "response.output_text.done", "item_id": "it0", "output_index": 0,
            "content_index": 0, "text": "Hi [PERSON_1]!", "sequence_number": 9}))));
        all.extend(r.on_event(ev(json!({"type": "response.function_call_arguments.done", "item_id": "it1",
            "output_index": 1, "arguments": "{\"who\":\"[PERSON_1]\"}", "sequence_number": 9}))));
        let vs = data(&all);
        let text: String = vs
            .iter()
            .filter(|v| v["type"] == "response.output_text.delta")
            .map(|v| v["delta"].as_str().unwrap())
            .collect();
        let args: String = vs
            .iter()
            .filter(|v| v["type"] == "response.function_call_arguments.delta")
            .map(|v| v["delta"].as_str().unwrap())
            .collect();
        assert_eq!(text, "Hi Jane Doe!");
        assert_eq!(args, "{\"who\":\"Jane Doe\"}");
        let done: Vec<&Value> = vs.iter().filter(|v| v["type"].as_str().unwrap().ends_with(".done")).collect();
        assert_eq!(done[0]["text"], "Hi Jane Doe!");
        assert_eq!(done[1]["arguments"], "{\"who\":\"Jane Doe\"}");
        let seqs: Vec<u64> = vs.iter().map(|v| v["sequence_number"].as_u64().unwrap()).collect();
        assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
        assert_eq!(r.stats().exact, 4);
    }

    #[test]
    fn a_translated_messages_stream_becomes_restored_responses_events() {
        let mut t = Translate {
            native: None,
            messages: Some(AnthropicToOpenAiStream::new("claude", true)),
            responses: ChatToResponsesStream::new("claude", Map::new()),
        };
        let mut r = EventRestore::new(restorer());
        let upstream = [
            json!({"type": "message_start", "message": {"id": "msg_1", "model": "claude-x", "usage": {"input_tokens": 4}}}),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi [PER"}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "SON_1]"}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1",
                   "name": "lookup", "input": {}}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta",
                   "partial_json": "{\"who\":\"[PERSON"}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta",
                   "partial_json": "_1]\"}"}}),
            json!({"type": "content_block_stop", "index": 1}),
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}}),
            json!({"type": "message_stop"}),
        ];
        let mut all = Vec::new();
        for v in upstream {
            for e in t.on_event(ev(v)) {
                all.extend(r.on_event(e));
            }
        }
        for e in t.finish() {
            all.extend(r.on_event(e));
        }
        all.extend(r.flush_all());
        let vs = data(&all);
        let joined = |ty: &str| -> String {
            vs.iter().filter(|v| v["type"] == ty).map(|v| v["delta"].as_str().unwrap()).collect()
        };
        assert_eq!(joined("response.output_text.delta"), "Hi Jane Doe");
        assert_eq!(joined("response.function_call_arguments.delta"), "{\"who\":\"Jane Doe\"}");
        let text_done = vs.iter().find(|v| v["type"] == "response.output_text.done").unwrap();
        assert_eq!(text_done["text"], "Hi Jane Doe");
        let args_done = vs.iter().find(|v| v["type"] == "response.function_call_arguments.done").unwrap();
        assert_eq!(args_done["arguments"], "{\"who\":\"Jane Doe\"}");
        let completed = vs.last().unwrap();
        assert_eq!(completed["type"], "response.completed");
        assert_eq!(completed["response"]["model"], "claude-x");
        assert_eq!(completed["response"]["output"][0]["content"][0]["text"], "Hi Jane Doe");
        assert_eq!(completed["response"]["output"][1]["call_id"], "toolu_1");
        assert_eq!(completed["response"]["output"][1]["arguments"], "{\"who\":\"Jane Doe\"}");
        assert_eq!(r.usage(), Some((4, 9)));
        assert!(!vs.iter().any(|v| v.to_string().contains("[DONE]") || v.to_string().contains("chat.completion")));
        let seqs: Vec<u64> = vs.iter().map(|v| v["sequence_number"].as_u64().unwrap()).collect();
        assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
    }

    #[test]
    fn held_text_is_flushed_at_the_end_and_unknown_events_are_restored() {
        let mut r = EventRestore::new(restorer());
        assert!(r
            .on_event(ev(json!({"type": "response.output_text.delta", "output_index": 0, "content_index": 0,
                "item_id": "m1", "delta": "[PERSON_"})))
            .is_empty());
        let out = r.on_event(ev(json!({"type": "response.reasoning_summary_text.delta", "delta": "about [PERSON_1]"})));
        assert_eq!(data(&out)[0]["delta"], "about Jane Doe");
        let rest = data(&r.flush_all());
        assert_eq!(rest[0]["delta"], "[PERSON_");
        assert_eq!(rest[0]["item_id"], "m1");
        let done = r.on_event(ev(json!({"type": "response.completed", "response": {"output": [
            {"type": "message", "content": [{"type": "output_text", "text": "[PERSON_1]"}]}],
            "usage": {"input_tokens": 2, "output_tokens": 3}}})));
        assert_eq!(data(&done)[0]["response"]["output"][0]["content"][0]["text"], "Jane Doe");
        assert_eq!(r.usage(), Some((2, 3)));
    }
}
