//! An in-process mock LLM provider for tests and benchmarks.
//!
//! [`MockProvider`] serves the OpenAI Chat Completions API (`POST /v1/chat/completions`,
//! `GET /v1/models`) and the Anthropic Messages API (`POST /v1/messages`) on 127.0.0.1,
//! records every request it receives (path, lower-case headers, JSON body) and answers in
//! the wire format of the real providers, plain or streaming (SSE).
//!
//! What an answer looks like is chosen by the request's `model` field: a `+`-separated list
//! of options (unknown options are ignored, so any real model name means `echo`):
//!
//! | option        | effect |
//! |---------------|--------|
//! | `echo`        | default: answer `"You said: " + <last user text>` |
//! | `tool`        | a short text, then one tool call `lookup` with `{"query": T, "note": "see T"}` |
//! | `bench`       | fixed answer (1 KiB plain; 344 content deltas streaming), prebuilt bytes |
//! | `error=NNN`   | status NNN with that API's error body (Anthropic 529 → `overloaded_error`) |
//! | `slow=MS`     | wait MS milliseconds before sending the response headers |
//! | `midstream=N` | streaming: send N content deltas, then abort the connection (no terminal events) |
//! | `delta=N`     | streaming: text and tool arguments come in deltas of N chars (default 4) |
//! | `bytes=N`     | streaming: the HTTP body is cut into N-byte frames, ignoring SSE and UTF-8 boundaries |
//!
//! "Last user text" is the text of the last `user` message (string content, or its text
//! parts joined with `"\n"`). For OpenAI a trailing `tool` message counts as well, for
//! Anthropic the `tool_result` blocks of the last user message do, so that a tool round trip
//! echoes the tool output. Because the text is echoed, placeholders such as `[PERSON_1]`
//! come back in the answer and the gateway's restore step can be observed.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures::stream::{self, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// One request the mock received.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// Request path, e.g. `/v1/chat/completions` (without the query string).
    pub path: String,
    /// Header names in lower case, values lossily decoded as UTF-8, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON, or `Value::Null` when it is empty or not JSON.
    pub body: Value,
}

impl Received {
    /// The first value of header `name` (give it in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How the mock is set up.
#[derive(Debug, Clone, Copy)]
pub struct MockOptions {
    /// Keep every request in memory (for [`MockProvider::received`]). Turn it off for load tests.
    pub record: bool,
}

impl Default for MockOptions {
    fn default() -> Self {
        MockOptions { record: true }
    }
}

/// Shared state of the mock's router: the recording and the prebuilt benchmark answers.
#[derive(Clone)]
pub struct MockState {
    inner: Arc<Inner>,
}

struct Inner {
    record: bool,
    received: Mutex<Vec<Received>>,
    bench: BenchBodies,
}

impl MockState {
    pub fn new(options: MockOptions) -> MockState {
        MockState {
            inner: Arc::new(Inner {
                record: options.record,
                received: Mutex::new(Vec::new()),
                bench: BenchBodies::build(),
            }),
        }
    }

    fn log(&self) -> MutexGuard<'_, Vec<Received>> {
        // A panic while holding the lock cannot leave the Vec inconsistent, so poison is moot.
        self.inner
            .received
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every request received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.log().clone()
    }

    /// Forget the recorded requests.
    pub fn clear(&self) {
        self.log().clear();
    }

    fn record(&self, uri: &Uri, headers: &HeaderMap, body: Value) {
        let headers = headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let entry = Received {
            path: uri.path().to_owned(),
            headers,
            body,
        };
        self.log().push(entry);
    }
}

/// The mock's routes, for serving it yourself (the `veil-mock` binary does).
pub fn router(state: MockState) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(openai_chat))
        .route("/v1/messages", post(anthropic_messages))
        .route("/v1/models", get(models))
        .fallback(not_found)
        .with_state(state)
}

/// A mock provider serving on 127.0.0.1 in a background task; stopped on drop.
pub struct MockProvider {
    pub addr: SocketAddr,
    state: MockState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl MockProvider {
    /// Start on a free port of 127.0.0.1, recording requests.
    pub async fn start() -> MockProvider {
        Self::start_with(MockOptions::default()).await
    }

    /// Start on a free port of 127.0.0.1 with the given options.
    pub async fn start_with(options: MockOptions) -> MockProvider {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        Self::start_on_with(addr, options)
            .await
            .expect("cannot bind a free port on 127.0.0.1 for the mock provider")
    }

    /// Start on `addr`, recording requests.
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<MockProvider> {
        Self::start_on_with(addr, MockOptions::default()).await
    }

    /// Start on `addr` with the given options.
    pub async fn start_on_with(
        addr: SocketAddr,
        options: MockOptions,
    ) -> std::io::Result<MockProvider> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = MockState::new(options);
        let app = router(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let signal = async move {
                // Either an explicit stop or the sender being dropped ends the server.
                let _ = stopped.await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(signal)
                .await
            {
                tracing::warn!(error = %e, "mock provider stopped");
            }
        });
        Ok(MockProvider {
            addr,
            state,
            stop: Some(stop),
            task,
        })
    }

    /// Base URL for an OpenAI client: `http://127.0.0.1:PORT/v1`.
    pub fn openai_base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Base URL for an Anthropic client: `http://127.0.0.1:PORT`.
    pub fn anthropic_base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, oldest first (empty when recording is off).
    pub fn received(&self) -> Vec<Received> {
        self.state.received()
    }

    /// Forget the recorded requests.
    pub fn clear(&self) {
        self.state.clear();
    }

    /// Stop serving (the same as dropping it).
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        // Tell open connections to finish (idle keep-alive ones close), then stop accepting.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.abort();
    }
}

// ---------------------------------------------------------------------------------------
// Behaviour selected by the model name
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Echo,
    Tool,
    Bench,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Behavior {
    kind: Kind,
    error: Option<StatusCode>,
    slow_ms: Option<u64>,
    midstream: Option<usize>,
    delta: usize,
    bytes: Option<usize>,
}

const DEFAULT_DELTA: usize = 4;

impl Behavior {
    fn parse(model: &str) -> Behavior {
        let mut b = Behavior {
            kind: Kind::Echo,
            error: None,
            slow_ms: None,
            midstream: None,
            delta: DEFAULT_DELTA,
            bytes: None,
        };
        for opt in model.split('+') {
            let (key, value) = match opt.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (opt.trim(), None),
            };
            let num = value.and_then(|v| v.parse::<u64>().ok());
            match (key, num) {
                ("echo", _) => b.kind = Kind::Echo,
                ("tool", _) => b.kind = Kind::Tool,
                ("bench", _) => b.kind = Kind::Bench,
                ("error", Some(n)) => {
                    b.error = u16::try_from(n)
                        .ok()
                        .and_then(|n| StatusCode::from_u16(n).ok())
                }
                ("slow", Some(n)) => b.slow_ms = Some(n),
                ("midstream", Some(n)) => b.midstream = usize::try_from(n).ok(),
                ("delta", Some(n)) if n > 0 => b.delta = usize::try_from(n).unwrap_or(usize::MAX),
                ("bytes", Some(n)) if n > 0 => b.bytes = usize::try_from(n).ok(),
                _ => {}
            }
        }
        b
    }

    /// The plain `bench` model with nothing else: served from prebuilt bytes.
    fn is_plain_bench(&self) -> bool {
        self.kind == Kind::Bench
            && self.error.is_none()
            && self.slow_ms.is_none()
            && self.midstream.is_none()
            && self.delta == DEFAULT_DELTA
            && self.bytes.is_none()
    }
}

/// The few request fields the mock needs, read without building a `Value`.
#[derive(Debug, Default, Deserialize)]
struct Head {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
}

#[derive(Debug, Default, Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    OpenAi,
    Anthropic,
}

/// What the assistant says, independent of the wire format.
struct Answer {
    model: String,
    text: String,
    /// JSON arguments of the `lookup` tool call, when there is one.
    tool_input: Option<Value>,
    prompt_tokens: u64,
}

impl Answer {
    fn completion_tokens(&self) -> u64 {
        let args = self
            .tool_input
            .as_ref()
            .map_or(0, |v| v.to_string().chars().count());
        approx_tokens(self.text.chars().count() + args)
    }
}

fn approx_tokens(chars: usize) -> u64 {
    u64::try_from(chars.div_ceil(4).max(1)).unwrap_or(u64::MAX)
}

// ---------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------

async fn openai_chat(
    State(state): State<MockState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(state, Api::OpenAi, uri, headers, body).await
}

async fn anthropic_messages(
    State(state): State<MockState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(state, Api::Anthropic, uri, headers, body).await
}

async fn models(State(state): State<MockState>, uri: Uri, headers: HeaderMap) -> Response {
    if state.inner.record {
        state.record(&uri, &headers, Value::Null);
    }
    let created = chrono::Utc::now().timestamp();
    let data: Vec<Value> = ["echo", "tool", "bench"]
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": created, "owned_by": "veil-mock"}))
        .collect();
    json_response(StatusCode::OK, &json!({"object": "list", "data": data}))
}

async fn not_found(State(state): State<MockState>, uri: Uri, headers: HeaderMap) -> Response {
    if state.inner.record {
        state.record(&uri, &headers, Value::Null);
    }
    let body = json!({"error": {"message": format!("mock: no route for {}", uri.path()),
        "type": "invalid_request_error", "param": null, "code": "unknown_url"}});
    json_response(StatusCode::NOT_FOUND, &body)
}

async fn handle(state: MockState, api: Api, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let head: Option<Head> = serde_json::from_slice(&body).ok();
    let model = head
        .as_ref()
        .and_then(|h| h.model.clone())
        .unwrap_or_default();
    let behavior = Behavior::parse(&model);
    let stream = head.as_ref().and_then(|h| h.stream).unwrap_or(false);
    let include_usage = head
        .as_ref()
        .and_then(|h| h.stream_options.as_ref())
        .and_then(|o| o.include_usage)
        .unwrap_or(false);

    // The full JSON tree is only needed to record the request or to echo it.
    let needs_value = state.inner.record || behavior.kind != Kind::Bench;
    let value = if needs_value {
        serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    if state.inner.record {
        state.record(&uri, &headers, value.clone());
    }

    if let Some(ms) = behavior.slow_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if head.is_none() {
        let status = StatusCode::BAD_REQUEST;
        return json_response(status, &error_body(api, status, "mock: body is not JSON"));
    }
    if let Some(status) = behavior.error {
        return json_response(status, &error_body(api, status, "mock error"));
    }

    if behavior.is_plain_bench() {
        let bench = &state.inner.bench;
        let bytes = match (api, stream, include_usage) {
            (Api::OpenAi, false, _) => return prebuilt_json(bench.openai_plain.clone()),
            (Api::Anthropic, false, _) => return prebuilt_json(bench.anthropic_plain.clone()),
            (Api::OpenAi, true, false) => bench.openai_stream.clone(),
            (Api::OpenAi, true, true) => bench.openai_stream_usage.clone(),
            (Api::Anthropic, true, _) => bench.anthropic_stream.clone(),
        };
        return sse_response(Body::from_stream(stream::once(async move {
            Ok::<_, std::io::Error>(bytes)
        })));
    }

    let answer = make_answer(api, &behavior, stream, model, &value, body.len());
    let ids = Ids::new();
    if stream {
        let events = match api {
            Api::OpenAi => openai_events(&answer, &ids, behavior.delta, include_usage),
            Api::Anthropic => anthropic_events(&answer, &ids, behavior.delta),
        };
        sse_response(stream_body(events, &behavior))
    } else {
        let body = match api {
            Api::OpenAi => openai_plain(&answer, &ids),
            Api::Anthropic => anthropic_plain(&answer, &ids),
        };
        json_response(StatusCode::OK, &body)
    }
}

fn make_answer(
    api: Api,
    b: &Behavior,
    stream: bool,
    model: String,
    req: &Value,
    body_len: usize,
) -> Answer {
    let prompt_tokens = approx_tokens(body_len);
    match b.kind {
        Kind::Bench => Answer {
            model,
            text: bench_text(if stream {
                BENCH_STREAM_CHARS
            } else {
                BENCH_PLAIN_CHARS
            }),
            tool_input: None,
            prompt_tokens,
        },
        Kind::Echo => Answer {
            model,
            text: format!("You said: {}", last_user_text(api, req)),
            tool_input: None,
            prompt_tokens,
        },
        Kind::Tool => {
            let t = last_user_text(api, req);
            Answer {
                model,
                text: "Let me look that up.".to_owned(),
                tool_input: Some(json!({"query": t, "note": format!("see {t}")})),
                prompt_tokens,
            }
        }
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body)
        .expect("serializing a serde_json::Value cannot fail; this is a bug");
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response()
}

fn prebuilt_json(bytes: Bytes) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response()
}

fn sse_response(body: Body) -> Response {
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

fn error_body(api: Api, status: StatusCode, message: &str) -> Value {
    let code = status.as_u16();
    match api {
        Api::OpenAi => {
            let (kind, code): (&str, Value) = match code {
                401 => ("invalid_request_error", json!("invalid_api_key")),
                404 => ("invalid_request_error", json!("model_not_found")),
                429 => ("requests", json!("rate_limit_exceeded")),
                500..=599 => ("server_error", Value::Null),
                _ => ("invalid_request_error", Value::Null),
            };
            json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
        }
        Api::Anthropic => {
            let kind = match code {
                401 => "authentication_error",
                403 => "permission_error",
                404 => "not_found_error",
                413 => "request_too_large",
                429 => "rate_limit_error",
                529 => "overloaded_error",
                500..=599 => "api_error",
                _ => "invalid_request_error",
            };
            json!({"type": "error", "error": {"type": kind, "message": message}})
        }
    }
}

// ---------------------------------------------------------------------------------------
// Reading the request
// ---------------------------------------------------------------------------------------

/// Text parts of a content value: a string, or an array of `{type: "text", text}` parts.
fn content_text(content: &Value, out: &mut Vec<String>) {
    match content {
        Value::String(s) => out.push(s.clone()),
        Value::Array(parts) => {
            for part in parts {
                match part.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        if let Some(t) = part.get("text").and_then(Value::as_str) {
                            out.push(t.to_owned());
                        }
                    }
                    Some("tool_result") => {
                        if let Some(c) = part.get("content") {
                            content_text(c, out);
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn last_user_text(api: Api, req: &Value) -> String {
    let Some(messages) = req.get("messages").and_then(Value::as_array) else {
        return String::new();
    };
    let role_of = |m: &Value| m.get("role").and_then(Value::as_str).map(str::to_owned);
    let pick = match api {
        // A trailing tool result counts as the last thing the "user" side said.
        Api::OpenAi => match messages.last() {
            Some(m) if role_of(m).as_deref() == Some("tool") => Some(m),
            _ => messages
                .iter()
                .rev()
                .find(|m| role_of(m).as_deref() == Some("user")),
        },
        Api::Anthropic => messages
            .iter()
            .rev()
            .find(|m| role_of(m).as_deref() == Some("user")),
    };
    let mut parts = Vec::new();
    if let Some(content) = pick.and_then(|m| m.get("content")) {
        content_text(content, &mut parts);
    }
    parts.join("\n")
}

// ---------------------------------------------------------------------------------------
// Building answers
// ---------------------------------------------------------------------------------------

struct Ids {
    message: String,
    tool: String,
    created: i64,
}

impl Ids {
    fn new() -> Ids {
        let u = uuid::Uuid::new_v4().simple().to_string();
        let t = uuid::Uuid::new_v4().simple().to_string();
        Ids {
            message: u[..24].to_owned(),
            tool: t[..24].to_owned(),
            created: chrono::Utc::now().timestamp(),
        }
    }

    fn fixed() -> Ids {
        Ids {
            message: "bench0000000000000000000".to_owned(),
            tool: "bench0000000000000000000".to_owned(),
            created: 1_700_000_000,
        }
    }
}

fn openai_plain(a: &Answer, ids: &Ids) -> Value {
    let completion = a.completion_tokens();
    let (message, finish) = match &a.tool_input {
        None => (
            json!({"role": "assistant", "content": a.text, "refusal": null}),
            "stop",
        ),
        Some(input) => (
            json!({"role": "assistant", "content": a.text, "refusal": null, "tool_calls": [{
                "id": format!("call_{}", ids.tool), "type": "function",
                "function": {"name": "lookup", "arguments": input.to_string()}}]}),
            "tool_calls",
        ),
    };
    json!({
        "id": format!("chatcmpl-{}", ids.message),
        "object": "chat.completion",
        "created": ids.created,
        "model": a.model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": {"prompt_tokens": a.prompt_tokens, "completion_tokens": completion,
                  "total_tokens": a.prompt_tokens + completion},
        "system_fingerprint": "fp_mock",
    })
}

fn anthropic_plain(a: &Answer, ids: &Ids) -> Value {
    let mut content = vec![json!({"type": "text", "text": a.text})];
    let stop = match &a.tool_input {
        None => "end_turn",
        Some(input) => {
            content.push(
                json!({"type": "tool_use", "id": format!("toolu_{}", ids.tool),
                "name": "lookup", "input": input}),
            );
            "tool_use"
        }
    };
    json!({
        "id": format!("msg_{}", ids.message),
        "type": "message",
        "role": "assistant",
        "model": a.model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": null,
        "usage": {"input_tokens": a.prompt_tokens, "output_tokens": a.completion_tokens()},
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EvKind {
    Framing,
    Delta,
    Terminal,
}

struct Ev {
    kind: EvKind,
    bytes: Bytes,
}

/// Split `s` into pieces of `n` chars (never splitting a char).
fn char_chunks(s: &str, n: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut count = 0;
    for (i, _) in s.char_indices() {
        if count == n {
            out.push(&s[start..i]);
            start = i;
            count = 0;
        }
        count += 1;
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

fn openai_data(v: &Value) -> Bytes {
    Bytes::from(format!("data: {v}\n\n"))
}

fn openai_events(a: &Answer, ids: &Ids, delta: usize, include_usage: bool) -> Vec<Ev> {
    let id = format!("chatcmpl-{}", ids.message);
    let chunk = |choices: Value| {
        let mut c = json!({"id": id, "object": "chat.completion.chunk", "created": ids.created,
            "model": a.model, "system_fingerprint": "fp_mock", "choices": choices});
        if include_usage {
            c["usage"] = Value::Null;
        }
        c
    };
    let choice = |delta: Value, finish: Value| json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]);
    let mut evs = vec![Ev {
        kind: EvKind::Framing,
        bytes: openai_data(&chunk(choice(
            json!({"role": "assistant", "content": "", "refusal": null}),
            Value::Null,
        ))),
    }];
    for piece in char_chunks(&a.text, delta) {
        evs.push(Ev {
            kind: EvKind::Delta,
            bytes: openai_data(&chunk(choice(json!({"content": piece}), Value::Null))),
        });
    }
    let mut finish = "stop";
    if let Some(input) = &a.tool_input {
        finish = "tool_calls";
        let start = json!({"tool_calls": [{"index": 0, "id": format!("call_{}", ids.tool),
            "type": "function", "function": {"name": "lookup", "arguments": ""}}]});
        evs.push(Ev {
            kind: EvKind::Framing,
            bytes: openai_data(&chunk(choice(start, Value::Null))),
        });
        let args = input.to_string();
        for piece in char_chunks(&args, delta) {
            let d = json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]});
            evs.push(Ev {
                kind: EvKind::Delta,
                bytes: openai_data(&chunk(choice(d, Value::Null))),
            });
        }
    }
    evs.push(Ev {
        kind: EvKind::Terminal,
        bytes: openai_data(&chunk(choice(json!({}), json!(finish)))),
    });
    if include_usage {
        let completion = a.completion_tokens();
        let mut c = chunk(json!([]));
        c["usage"] = json!({"prompt_tokens": a.prompt_tokens, "completion_tokens": completion,
            "total_tokens": a.prompt_tokens + completion});
        evs.push(Ev {
            kind: EvKind::Terminal,
            bytes: openai_data(&c),
        });
    }
    evs.push(Ev {
        kind: EvKind::Terminal,
        bytes: Bytes::from_static(b"data: [DONE]\n\n"),
    });
    evs
}

fn anthropic_event(v: &Value) -> Bytes {
    let kind = v.get("type").and_then(Value::as_str).unwrap_or("unknown");
    Bytes::from(format!("event: {kind}\ndata: {v}\n\n"))
}

fn anthropic_events(a: &Answer, ids: &Ids, delta: usize) -> Vec<Ev> {
    let ev = |kind, v: Value| Ev {
        kind,
        bytes: anthropic_event(&v),
    };
    let mut evs = vec![
        ev(
            EvKind::Framing,
            json!({"type": "message_start", "message": {"id": format!("msg_{}", ids.message),
                "type": "message", "role": "assistant", "model": a.model, "content": [],
                "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": a.prompt_tokens, "output_tokens": 1}}}),
        ),
        ev(
            EvKind::Framing,
            json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}),
        ),
        ev(EvKind::Framing, json!({"type": "ping"})),
    ];
    for piece in char_chunks(&a.text, delta) {
        evs.push(ev(
            EvKind::Delta,
            json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": piece}}),
        ));
    }
    evs.push(ev(
        EvKind::Framing,
        json!({"type": "content_block_stop", "index": 0}),
    ));
    let mut stop = "end_turn";
    if let Some(input) = &a.tool_input {
        stop = "tool_use";
        evs.push(ev(
            EvKind::Framing,
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use",
                "id": format!("toolu_{}", ids.tool), "name": "lookup", "input": {}}}),
        ));
        let args = input.to_string();
        for piece in char_chunks(&args, delta) {
            evs.push(ev(
                EvKind::Delta,
                json!({"type": "content_block_delta", "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": piece}}),
            ));
        }
        evs.push(ev(
            EvKind::Framing,
            json!({"type": "content_block_stop", "index": 1}),
        ));
    }
    evs.push(ev(
        EvKind::Terminal,
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
            "usage": {"output_tokens": a.completion_tokens()}}),
    ));
    evs.push(ev(EvKind::Terminal, json!({"type": "message_stop"})));
    evs
}

/// The streaming body: one frame per event (or `bytes=N` frames), cut short for `midstream=N`.
fn stream_body(events: Vec<Ev>, b: &Behavior) -> Body {
    let mut kept = Vec::with_capacity(events.len());
    let mut cut = false;
    let mut deltas = 0usize;
    for ev in events {
        if let Some(limit) = b.midstream {
            if ev.kind == EvKind::Terminal || (ev.kind == EvKind::Delta && deltas == limit) {
                cut = true;
                break;
            }
        }
        if ev.kind == EvKind::Delta {
            deltas += 1;
        }
        kept.push(ev.bytes);
    }
    let frames: Vec<Bytes> = match b.bytes {
        None => kept,
        Some(n) => {
            let all = Bytes::from(kept.concat());
            (0..all.len())
                .step_by(n)
                .map(|i| all.slice(i..(i + n).min(all.len())))
                .collect()
        }
    };
    let body = stream::iter(frames.into_iter().map(Ok::<_, std::io::Error>));
    if cut {
        let abort = stream::once(async {
            // Give the server time to flush what was sent before the connection is dropped.
            tokio::time::sleep(Duration::from_millis(30)).await;
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "mock: midstream abort",
            ))
        });
        Body::from_stream(body.chain(abort))
    } else {
        Body::from_stream(body)
    }
}

// ---------------------------------------------------------------------------------------
// Benchmark answers
// ---------------------------------------------------------------------------------------

/// Streaming bench text: 344 deltas of 4 chars.
const BENCH_STREAM_CHARS: usize = 344 * DEFAULT_DELTA;
/// Plain bench text: 1 KiB.
const BENCH_PLAIN_CHARS: usize = 1024;
const BENCH_SENTENCE: &str = "The quick brown fox jumps over the lazy dog while the mock provider \
    answers every benchmark request with the same fixed text. ";

fn bench_text(chars: usize) -> String {
    BENCH_SENTENCE.chars().cycle().take(chars).collect()
}

/// Prebuilt bodies for the plain `bench` model (fixed ids and timestamps).
struct BenchBodies {
    openai_plain: Bytes,
    anthropic_plain: Bytes,
    openai_stream: Bytes,
    openai_stream_usage: Bytes,
    anthropic_stream: Bytes,
}

impl BenchBodies {
    fn build() -> BenchBodies {
        let ids = Ids::fixed();
        let answer = |chars| Answer {
            model: "bench".to_owned(),
            text: bench_text(chars),
            tool_input: None,
            prompt_tokens: 256,
        };
        let plain = answer(BENCH_PLAIN_CHARS);
        let streamed = answer(BENCH_STREAM_CHARS);
        let concat = |evs: Vec<Ev>| -> Bytes {
            Bytes::from(
                evs.into_iter()
                    .map(|e| e.bytes)
                    .collect::<Vec<_>>()
                    .concat(),
            )
        };
        let to_bytes = |v: &Value| {
            Bytes::from(
                serde_json::to_vec(v)
                    .expect("serializing a serde_json::Value cannot fail; this is a bug"),
            )
        };
        BenchBodies {
            openai_plain: to_bytes(&openai_plain(&plain, &ids)),
            anthropic_plain: to_bytes(&anthropic_plain(&plain, &ids)),
            openai_stream: concat(openai_events(&streamed, &ids, DEFAULT_DELTA, false)),
            openai_stream_usage: concat(openai_events(&streamed, &ids, DEFAULT_DELTA, true)),
            anthropic_stream: concat(anthropic_events(&streamed, &ids, DEFAULT_DELTA)),
        }
    }
}
