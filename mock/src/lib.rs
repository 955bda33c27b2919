//! An in-process mock LLM provider for tests and benchmarks.
//!
//! [`MockProvider`] serves the OpenAI Chat Completions API (`POST /v1/chat/completions`,
//! `GET /v1/models`), OpenAI embeddings (`POST /v1/embeddings`), the Anthropic Messages
//! API (`POST /v1/messages`), Azure OpenAI (`POST /openai/deployments/{DEPLOYMENT}/chat/completions`
//! and `.../embeddings`) and `GET /healthz` on 127.0.0.1, records every API request it
//! receives (path, query, lower-case headers, JSON body) and answers in the wire format of
//! the real providers, plain or streaming (SSE).
//!
//! **Azure mode** checks what Azure would: an `api-version` query parameter (else 404
//! `Resource not found`, as Azure answers), the key in an `api-key` header and no
//! `Authorization` header (else 401 with Azure's error body). The deployment in the path,
//! not the body's `model`, picks the answer, as on Azure. Azure streams open with Azure's
//! prompt-filter chunk (`choices: []`, `model: ""`).
//!
//! **Gemini mode** (`POST /v1beta/models/{MODEL}:generateContent` and
//! `:streamGenerateContent?alt=sse`) checks the method, `alt=sse`, the key in
//! `x-goog-api-key` and no `Authorization` header (else 403 with Google's error body);
//! MODEL picks the answer as `model` does below (plus `blocked`: a prompt blocked with
//! `promptFeedback.blockReason` SAFETY). It answers in Google's format: text and
//! `functionCall` parts, `usageMetadata`, SSE chunks of `GenerateContentResponse`.
//! `:batchEmbedContents` answers one vector per request (`gemini_embed.rs`).
//!
//! **Embeddings** answer one 8-dimensional vector per input string, computed from the
//! string's bytes (equal strings embed alike, different ones differently), as floats or,
//! with `encoding_format: "base64"`, as base64 of little-endian f32 (what the openai SDK
//! asks for by default). The `model` options `error=NNN` and `slow=MS` apply.
//!
//! What an answer looks like is chosen by the request's `model` field: a `+`-separated list
//! of options (unknown options are ignored, so any real model name means `echo`):
//!
//! | option        | effect |
//! |---------------|--------|
//! | `echo`        | default: answer `"You said: " + <last user text>` |
//! | `tool`        | a short text, then one tool call `lookup` with `{"query": T, "note": "see T"}` |
//! | `bench`       | fixed answer (1 KiB plain; 344 content deltas streaming), prebuilt bytes |
//! | `error=NNN`   | status NNN with that API's error body (Anthropic 529 → `overloaded_error`; a 429 carries `retry-after: 7`) |
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

#![cfg_attr(test, allow(clippy::unwrap_used))]

// bedrock: Converse / ConverseStream, SigV4 checked
pub mod bedrock;
mod gemini_embed; // Gemini embeddings (batchEmbedContents)

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
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
    /// The query string, e.g. `api-version=2024-10-21`, if the URL had one.
    pub query: Option<String>,
    /// Header names in lower case, values lossily decoded as UTF-8, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON, or `Value::Null` when it is empty or not JSON.
    pub body: Value,
}

impl Received {
    /// The first value of header `name` (give it in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
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
    /// Also append each request as a JSON line `{"path","body"}` here (veil-mock --record).
    record_file: Option<Mutex<std::fs::File>>,
    bench: BenchBodies,
}

impl MockState {
    pub fn new(options: MockOptions) -> MockState {
        MockState {
            inner: Arc::new(Inner {
                record: options.record,
                received: Mutex::new(Vec::new()),
                record_file: None,
                bench: BenchBodies::build(),
            }),
        }
    }

    /// A recording mock that also appends every request to `path` as a JSON line
    /// `{"path": ..., "body": ...}`, so another process can check what the provider saw.
    pub fn recording_to(path: &std::path::Path) -> std::io::Result<MockState> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(MockState {
            inner: Arc::new(Inner {
                record: true,
                received: Mutex::new(Vec::new()),
                record_file: Some(Mutex::new(file)),
                bench: BenchBodies::build(),
            }),
        })
    }

    fn log(&self) -> MutexGuard<'_, Vec<Received>> {
        // A panic while holding the lock cannot leave the Vec inconsistent, so poison is moot.
        self.inner.received.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
            .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        if let Some(file) = &self.inner.record_file {
            use std::io::Write;
            let mut line = serde_json::json!({"path": uri.path(), "body": &body});
            if let Some(q) = uri.query() {
                line["query"] = Value::String(q.to_owned());
            }
            let line = line.to_string() + "\n";
            let mut f = file.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Err(e) = f.write_all(line.as_bytes()) {
                tracing::error!(error = %e, "veil-mock: cannot append to the record file");
            }
        }
        let entry = Received { path: uri.path().to_owned(), query: uri.query().map(str::to_owned), headers, body };
        self.log().push(entry);
    }
}

/// The mock's routes, for serving it yourself (the `veil-mock` binary does).
pub fn router(state: MockState) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(openai_chat))
        .route("/v1/messages", post(anthropic_messages))
        .route("/v1/embeddings", post(openai_embeddings))
        .route("/v1/responses", post(openai_responses)) // responses
        .route("/openai/responses", post(azure_responses)) // responses
        .route("/openai/deployments/{deployment}/chat/completions", post(azure_chat))
        .route("/openai/deployments/{deployment}/embeddings", post(azure_embeddings))
        .route("/v1/models", get(models))
        .route("/v1beta/models/{call}", post(gemini_call)) // gemini
        .route("/model/{model}/converse", post(bedrock::converse)) // bedrock
        .route("/model/{model}/converse-stream", post(bedrock::converse_stream)) // bedrock
        .route("/model/{model}/invoke", post(bedrock::invoke)) // bedrock
        .route("/healthz", get(|| async { "ok" }))
        .fallback(not_found)
        .with_state(state)
}

/// Serve the mock on `listener` (with TCP_NODELAY, so that small SSE frames are not held
/// back by Nagle's algorithm) until `shutdown` completes; open connections then finish.
pub async fn serve<F>(listener: tokio::net::TcpListener, state: MockState, shutdown: F) -> std::io::Result<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "mock provider: cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
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
        Self::start_on_with(addr, options).await.expect("cannot bind a free port on 127.0.0.1 for the mock provider")
    }

    /// Start on `addr`, recording requests.
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<MockProvider> {
        Self::start_on_with(addr, MockOptions::default()).await
    }

    /// Start on `addr` with the given options.
    pub async fn start_on_with(addr: SocketAddr, options: MockOptions) -> std::io::Result<MockProvider> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = MockState::new(options);
        let (stop, stopped) = oneshot::channel::<()>();
        let served = state.clone();
        let task = tokio::spawn(async move {
            let signal = async move {
                // Either an explicit stop or the sender being dropped ends the server.
                let _ = stopped.await;
            };
            if let Err(e) = serve(listener, served, signal).await {
                tracing::warn!(error = %e, "mock provider stopped");
            }
        });
        Ok(MockProvider { addr, state, stop: Some(stop), task })
    }

    /// Base URL for an OpenAI client: `http://127.0.0.1:PORT/v1`.
    pub fn openai_base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Base URL for an Anthropic client: `http://127.0.0.1:PORT`.
    pub fn anthropic_base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Base URL for an Azure OpenAI provider: `http://127.0.0.1:PORT` (the mock serves
    /// `/openai/deployments/...` under it).
    pub fn azure_base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Base URL for a Gemini provider: `http://127.0.0.1:PORT` (the mock serves
    /// `/v1beta/models/{MODEL}:generateContent` under it).
    pub fn gemini_base_url(&self) -> String {
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
                ("error", Some(n)) => b.error = u16::try_from(n).ok().and_then(|n| StatusCode::from_u16(n).ok()),
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
        let args = self.tool_input.as_ref().map_or(0, |v| v.to_string().chars().count());
        approx_tokens(self.text.chars().count() + args)
    }
}

fn approx_tokens(chars: usize) -> u64 {
    u64::try_from(chars.div_ceil(4).max(1)).unwrap_or(u64::MAX)
}

// ---------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------

async fn openai_chat(State(state): State<MockState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    handle(state, Api::OpenAi, None, uri, headers, body).await
}

async fn anthropic_messages(State(state): State<MockState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    handle(state, Api::Anthropic, None, uri, headers, body).await
}

async fn azure_chat(
    State(state): State<MockState>,
    Path(deployment): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = azure_refusal(&state, &uri, &headers, &body) {
        return refused;
    }
    handle(state, Api::OpenAi, Some(deployment), uri, headers, body).await
}

async fn openai_embeddings(State(state): State<MockState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    embed(state, None, uri, headers, body).await
}

async fn azure_embeddings(
    State(state): State<MockState>,
    Path(deployment): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = azure_refusal(&state, &uri, &headers, &body) {
        return refused;
    }
    embed(state, Some(deployment), uri, headers, body).await
}

/// What Azure refuses (recorded like any request): no `api-version` → 404, a key that is
/// not in `api-key` (or an `Authorization` header instead) → 401.
fn azure_refusal(state: &MockState, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Option<Response> {
    let version = uri.query().into_iter().flat_map(|q| q.split('&')).find_map(|kv| kv.strip_prefix("api-version="));
    let refused = if version.is_none_or(str::is_empty) {
        Some((StatusCode::NOT_FOUND, json!({"error": {"code": "404", "message": "Resource not found"}})))
    } else if !headers.contains_key("api-key") || headers.contains_key(header::AUTHORIZATION) {
        Some((
            StatusCode::UNAUTHORIZED,
            json!({"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}),
        ))
    } else {
        None
    };
    let (status, err) = refused?;
    if state.inner.record {
        state.record(uri, headers, serde_json::from_slice(body).unwrap_or(Value::Null));
    }
    Some(json_response(status, &err))
}

/// Embeddings: one vector per input string (see the module docs).
async fn embed(state: MockState, deployment: Option<String>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if state.inner.record {
        state.record(&uri, &headers, value.clone());
    }
    let model =
        deployment.or_else(|| value.get("model").and_then(Value::as_str).map(str::to_owned)).unwrap_or_default();
    let behavior = Behavior::parse(&model);
    if let Some(ms) = behavior.slow_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(status) = behavior.error {
        return error_response(Api::OpenAi, status);
    }
    let inputs: Vec<String> = match value.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            items.iter().filter_map(Value::as_str).map(str::to_owned).collect()
        }
        _ => {
            let status = StatusCode::BAD_REQUEST;
            return json_response(status, &error_body(Api::OpenAi, status, "mock: input must be a string or strings"));
        }
    };
    let base64 = value.get("encoding_format").and_then(Value::as_str) == Some("base64");
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let v = mock_vector(text);
            let embedding = if base64 {
                use base64::Engine as _;
                let bytes: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
                Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    let tokens = approx_tokens(inputs.iter().map(|t| t.chars().count()).sum());
    json_response(
        StatusCode::OK,
        &json!({"object": "list", "data": data, "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}),
    )
}

/// An 8-dimensional unit-ish vector from the text's bytes (FNV-1a per dimension).
pub fn mock_vector(text: &str) -> Vec<f32> {
    (0u64..8)
        .map(|d| {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ d;
            for b in text.bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            // The top 24 bits as a value in [-1, 1): exact in an f32.
            let top = u32::try_from(h >> 40).unwrap_or(0);
            (f64::from(top) / f64::from(1u32 << 23) - 1.0) as f32
        })
        .collect()
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

/// `deployment`: Azure's deployment from the path, which picks the answer instead of `model`.
async fn handle(
    state: MockState,
    api: Api,
    deployment: Option<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let head: Option<Head> = serde_json::from_slice(&body).ok();
    let azure = deployment.is_some();
    let model = deployment.or_else(|| head.as_ref().and_then(|h| h.model.clone())).unwrap_or_default();
    let behavior = Behavior::parse(&model);
    let stream = head.as_ref().and_then(|h| h.stream).unwrap_or(false);
    let include_usage =
        head.as_ref().and_then(|h| h.stream_options.as_ref()).and_then(|o| o.include_usage).unwrap_or(false);

    // The full JSON tree is only needed to record the request or to echo it.
    let needs_value = state.inner.record || behavior.kind != Kind::Bench;
    let value = if needs_value { serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null) } else { Value::Null };
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
        return error_response(api, status);
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
        return sse_response(Body::from_stream(stream::once(async move { Ok::<_, std::io::Error>(bytes) })));
    }

    let answer = make_answer(api, &behavior, stream, model, &value, body.len());
    let ids = Ids::new();
    if stream {
        let mut events = match api {
            Api::OpenAi => openai_events(&answer, &ids, behavior.delta, include_usage),
            Api::Anthropic => anthropic_events(&answer, &ids, behavior.delta),
        };
        if azure {
            // Azure opens a stream with its prompt filter results: no choices, no model.
            let filter = json!({"choices": [], "created": 0, "id": "", "model": "", "object": "",
                "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {
                    "hate": {"filtered": false, "severity": "safe"}}}]});
            events.insert(0, Ev { kind: EvKind::Framing, bytes: openai_data(&filter) });
        }
        sse_response(stream_body(events, &behavior))
    } else {
        let body = match api {
            Api::OpenAi => openai_plain(&answer, &ids),
            Api::Anthropic => anthropic_plain(&answer, &ids),
        };
        json_response(StatusCode::OK, &body)
    }
}

fn make_answer(api: Api, b: &Behavior, stream: bool, model: String, req: &Value, body_len: usize) -> Answer {
    let prompt_tokens = approx_tokens(body_len);
    match b.kind {
        Kind::Bench => Answer {
            model,
            text: bench_text(if stream { BENCH_STREAM_CHARS } else { BENCH_PLAIN_CHARS }),
            tool_input: None,
            prompt_tokens,
        },
        Kind::Echo => {
            Answer { model, text: format!("You said: {}", last_user_text(api, req)), tool_input: None, prompt_tokens }
        }
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

/// The `error=NNN` answer: that API's error body; a 429 says when to retry.
fn error_response(api: Api, status: StatusCode) -> Response {
    let mut resp = json_response(status, &error_body(api, status, "mock error"));
    if status == StatusCode::TOO_MANY_REQUESTS {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("7"));
    }
    resp
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).expect("serializing a serde_json::Value cannot fail; this is a bug");
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes).into_response()
}

fn prebuilt_json(bytes: Bytes) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes).into_response()
}

fn sse_response(body: Body) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream")),
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

// >>> gemini
// ---------------------------------------------------------------------------------------
// Gemini mode: Google's native API
// ---------------------------------------------------------------------------------------

/// `POST /v1beta/models/{MODEL}:generateContent` and `:streamGenerateContent?alt=sse`.
/// Checks what Google would: the method, `alt=sse` on streams, the key in `x-goog-api-key`
/// and no `Authorization` header (else 403 `PERMISSION_DENIED`). MODEL picks the answer
/// (the options of the table above, plus `blocked`: `promptFeedback.blockReason` SAFETY).
async fn gemini_call(
    State(state): State<MockState>,
    Path(call): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let value = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    if state.inner.record {
        state.record(&uri, &headers, value.clone());
    }
    let Some((model, method)) = call.rsplit_once(':') else {
        return gemini_error(StatusCode::NOT_FOUND, "mock: expected models/{model}:{method}");
    };
    let stream = match method {
        "generateContent" | "batchEmbedContents" => false,
        "streamGenerateContent" => true,
        _ => return gemini_error(StatusCode::NOT_FOUND, "mock: unknown method"),
    };
    if stream && uri.query() != Some("alt=sse") {
        return gemini_error(StatusCode::BAD_REQUEST, "mock: this mock streams with alt=sse only");
    }
    if headers.contains_key(header::AUTHORIZATION) || !headers.contains_key("x-goog-api-key") {
        return gemini_error(StatusCode::FORBIDDEN, "Method doesn't allow unregistered callers");
    }
    let behavior = Behavior::parse(model);
    if let Some(ms) = behavior.slow_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if !value.is_object() {
        return gemini_error(StatusCode::BAD_REQUEST, "mock: body is not a JSON object");
    }
    if let Some(status) = behavior.error {
        let mut resp = gemini_error(status, "mock error");
        if status == StatusCode::TOO_MANY_REQUESTS {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("7"));
        }
        return resp;
    }
    if method == "batchEmbedContents" {
        return gemini_embed::batch_embed(model, &value); // embeddings
    }
    let prompt_tokens = approx_tokens(body.len());
    if model.split('+').any(|o| o == "blocked") {
        let v = json!({"promptFeedback": {"blockReason": "SAFETY"},
            "usageMetadata": {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens}});
        return if stream {
            sse_response(Body::from(format!("data: {v}\r\n\r\n")))
        } else {
            json_response(StatusCode::OK, &v)
        };
    }
    let said = gemini_last_user_text(&value);
    let (text, tool_input) = match behavior.kind {
        Kind::Bench => (bench_text(if stream { BENCH_STREAM_CHARS } else { BENCH_PLAIN_CHARS }), None),
        Kind::Echo => (format!("You said: {said}"), None),
        Kind::Tool => ("Let me look that up.".to_owned(), Some(json!({"query": said, "note": format!("see {said}")}))),
    };
    let answer = Answer { model: model.to_owned(), text, tool_input, prompt_tokens };
    if stream {
        sse_response(stream_body(gemini_events(&answer, behavior.delta), &behavior))
    } else {
        json_response(StatusCode::OK, &gemini_plain(&answer))
    }
}

fn gemini_error(status: StatusCode, message: &str) -> Response {
    let name = match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    };
    json_response(status, &json!({"error": {"code": status.as_u16(), "message": message, "status": name}}))
}

/// The last `user` turn's text parts (joined with `"\n"`), function responses included
/// (their `response.content`, else the response as JSON).
fn gemini_last_user_text(req: &Value) -> String {
    let turn = req
        .get("contents")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().rev().find(|t| t.get("role").and_then(Value::as_str) == Some("user")));
    let mut out = Vec::new();
    for part in turn.and_then(|t| t.get("parts")).and_then(Value::as_array).into_iter().flatten() {
        if let Some(t) = part.get("text").and_then(Value::as_str) {
            out.push(t.to_owned());
        }
        if let Some(r) = part.get("functionResponse").and_then(|f| f.get("response")) {
            out.push(r.get("content").and_then(Value::as_str).map_or_else(|| r.to_string(), str::to_owned));
        }
    }
    out.join("\n")
}

/// The `thoughtSignature` of the mock's function calls (thinking models want it back).
pub const GEMINI_SIGNATURE: &str = "CiQBVKhc7mJ0b2tlbi1zaWduYXR1cmUtZm9yLXRlc3Rz";

fn gemini_usage(a: &Answer) -> Value {
    let c = a.completion_tokens();
    json!({"promptTokenCount": a.prompt_tokens, "candidatesTokenCount": c, "totalTokenCount": a.prompt_tokens + c})
}

fn gemini_plain(a: &Answer) -> Value {
    let mut parts = vec![json!({"text": a.text})];
    if let Some(input) = &a.tool_input {
        parts.push(json!({"functionCall": {"name": "lookup", "args": input}, "thoughtSignature": GEMINI_SIGNATURE}));
    }
    json!({"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": gemini_usage(a), "modelVersion": a.model, "responseId": "mockresp1"})
}

/// Google's SSE framing: `data: {chunk}` and a blank line, with CRLF line ends.
fn gemini_data(v: &Value) -> Bytes {
    Bytes::from(format!("data: {v}\r\n\r\n"))
}

fn gemini_events(a: &Answer, delta: usize) -> Vec<Ev> {
    let chunk = |parts: Value, finish: Option<&str>, usage: Value| {
        let mut c = json!({"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}],
            "usageMetadata": usage, "modelVersion": a.model, "responseId": "mockresp1"});
        if let Some(f) = finish {
            c["candidates"][0]["finishReason"] = json!(f);
        }
        c
    };
    let early = json!({"promptTokenCount": a.prompt_tokens, "totalTokenCount": a.prompt_tokens});
    let mut evs = Vec::new();
    for piece in char_chunks(&a.text, delta) {
        evs.push(Ev { kind: EvKind::Delta, bytes: gemini_data(&chunk(json!([{"text": piece}]), None, early.clone())) });
    }
    if let Some(input) = &a.tool_input {
        let call = json!([{"functionCall": {"name": "lookup", "args": input}, "thoughtSignature": GEMINI_SIGNATURE}]);
        evs.push(Ev { kind: EvKind::Delta, bytes: gemini_data(&chunk(call, None, early.clone())) });
    }
    evs.push(Ev {
        kind: EvKind::Terminal,
        bytes: gemini_data(&chunk(json!([{"text": ""}]), Some("STOP"), gemini_usage(a))),
    });
    evs
}
// <<< gemini

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
            _ => messages.iter().rev().find(|m| role_of(m).as_deref() == Some("user")),
        },
        Api::Anthropic => messages.iter().rev().find(|m| role_of(m).as_deref() == Some("user")),
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
        Ids { message: u[..24].to_owned(), tool: t[..24].to_owned(), created: chrono::Utc::now().timestamp() }
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
        None => (json!({"role": "assistant", "content": a.text, "refusal": null}), "stop"),
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
            content.push(json!({"type": "tool_use", "id": format!("toolu_{}", ids.tool),
                "name": "lookup", "input": input}));
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
    let choice =
        |delta: Value, finish: Value| json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]);
    let mut evs = vec![Ev {
        kind: EvKind::Framing,
        bytes: openai_data(&chunk(choice(json!({"role": "assistant", "content": "", "refusal": null}), Value::Null))),
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
        evs.push(Ev { kind: EvKind::Framing, bytes: openai_data(&chunk(choice(start, Value::Null))) });
        let args = input.to_string();
        for piece in char_chunks(&args, delta) {
            let d = json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]});
            evs.push(Ev { kind: EvKind::Delta, bytes: openai_data(&chunk(choice(d, Value::Null))) });
        }
    }
    evs.push(Ev { kind: EvKind::Terminal, bytes: openai_data(&chunk(choice(json!({}), json!(finish)))) });
    if include_usage {
        let completion = a.completion_tokens();
        let mut c = chunk(json!([]));
        c["usage"] = json!({"prompt_tokens": a.prompt_tokens, "completion_tokens": completion,
            "total_tokens": a.prompt_tokens + completion});
        evs.push(Ev { kind: EvKind::Terminal, bytes: openai_data(&c) });
    }
    evs.push(Ev { kind: EvKind::Terminal, bytes: Bytes::from_static(b"data: [DONE]\n\n") });
    evs
}

fn anthropic_event(v: &Value) -> Bytes {
    let kind = v.get("type").and_then(Value::as_str).unwrap_or("unknown");
    Bytes::from(format!("event: {kind}\ndata: {v}\n\n"))
}

fn anthropic_events(a: &Answer, ids: &Ids, delta: usize) -> Vec<Ev> {
    let ev = |kind, v: Value| Ev { kind, bytes: anthropic_event(&v) };
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
    evs.push(ev(EvKind::Framing, json!({"type": "content_block_stop", "index": 0})));
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
        evs.push(ev(EvKind::Framing, json!({"type": "content_block_stop", "index": 1})));
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
            (0..all.len()).step_by(n).map(|i| all.slice(i..(i + n).min(all.len()))).collect()
        }
    };
    let body = stream::iter(frames.into_iter().map(Ok::<_, std::io::Error>));
    if cut {
        let abort = stream::once(async {
            // Give the server time to flush what was sent before the connection is dropped.
            tokio::time::sleep(Duration::from_millis(30)).await;
            Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "mock: midstream abort"))
        });
        Body::from_stream(body.chain(abort))
    } else {
        Body::from_stream(body)
    }
}

// >>> responses: the OpenAI Responses API (`POST /v1/responses`, Azure `/openai/responses`)
// ---------------------------------------------------------------------------------------
// Responses API
// ---------------------------------------------------------------------------------------

async fn openai_responses(State(state): State<MockState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    responses_handle(state, uri, headers, body).await
}

async fn azure_responses(State(state): State<MockState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = azure_refusal(&state, &uri, &headers, &body) {
        return refused;
    }
    responses_handle(state, uri, headers, body).await
}

/// A Responses request: the `model` options apply (`echo`, `tool`, `error=NNN`, `slow=MS`,
/// `midstream=N`, `delta=N`, `bytes=N`); the echo is of the last user text of `input`.
async fn responses_handle(state: MockState, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let value = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    if state.inner.record {
        state.record(&uri, &headers, value.clone());
    }
    let model = value.get("model").and_then(Value::as_str).unwrap_or_default().to_owned();
    let behavior = Behavior::parse(&model);
    if let Some(ms) = behavior.slow_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if !value.is_object() {
        let status = StatusCode::BAD_REQUEST;
        return json_response(status, &error_body(Api::OpenAi, status, "mock: body is not JSON"));
    }
    if let Some(status) = behavior.error {
        return error_response(Api::OpenAi, status);
    }
    let said = responses_user_text(&value);
    let stream = value.get("stream").and_then(Value::as_bool) == Some(true);
    let answer = match behavior.kind {
        Kind::Tool => Answer {
            model,
            text: "Let me look that up.".to_owned(),
            tool_input: Some(json!({"query": said, "note": format!("see {said}")})),
            prompt_tokens: approx_tokens(body.len()),
        },
        Kind::Echo => Answer {
            model,
            text: format!("You said: {said}"),
            tool_input: None,
            prompt_tokens: approx_tokens(body.len()),
        },
        // The load test's answer, as for chat (the same text in deltas of `delta=N`).
        Kind::Bench => Answer {
            model,
            text: bench_text(if stream { BENCH_STREAM_CHARS } else { BENCH_PLAIN_CHARS }),
            tool_input: None,
            prompt_tokens: approx_tokens(body.len()),
        },
    };
    let ids = Ids::new();
    if stream {
        sse_response(stream_body(responses_events(&answer, &ids, behavior.delta), &behavior))
    } else {
        json_response(StatusCode::OK, &responses_object(&answer, &ids, "completed", true))
    }
}

/// The last user text of a Responses `input`: the string itself, or the last user
/// message's text (a string, or `input_text` parts joined with `"\n"`); a trailing
/// `function_call_output` counts as well (its `output`).
fn responses_user_text(req: &Value) -> String {
    match req.get("input") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => {
            if let Some(last) = items.last() {
                if last.get("type").and_then(Value::as_str) == Some("function_call_output") {
                    return last.get("output").and_then(Value::as_str).unwrap_or_default().to_owned();
                }
            }
            let Some(msg) = items.iter().rev().find(|m| m.get("role").and_then(Value::as_str) == Some("user")) else {
                return String::new();
            };
            match msg.get("content") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(parts)) => parts
                    .iter()
                    .filter(|p| p.get("type").and_then(Value::as_str) == Some("input_text"))
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => String::new(),
            }
        }
        _ => String::new(),
    }
}

fn responses_message(ids: &Ids, text: &str, status: &str) -> Value {
    json!({"type": "message", "id": format!("msg_{}", ids.message), "status": status, "role": "assistant",
           "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]})
}

fn responses_call(ids: &Ids, args: &str, status: &str) -> Value {
    json!({"type": "function_call", "id": format!("fc_{}", ids.tool), "call_id": format!("call_{}", ids.tool),
           "name": "lookup", "arguments": args, "status": status})
}

/// The response object (`done`: with its output and usage, else as `response.created` has it).
fn responses_object(a: &Answer, ids: &Ids, status: &str, done: bool) -> Value {
    let mut output = Vec::new();
    let mut usage = Value::Null;
    if done {
        output.push(responses_message(ids, &a.text, "completed"));
        if let Some(input) = &a.tool_input {
            output.push(responses_call(ids, &input.to_string(), "completed"));
        }
        let completion = a.completion_tokens();
        usage = json!({"input_tokens": a.prompt_tokens, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": a.prompt_tokens + completion});
    }
    json!({"id": format!("resp_{}", ids.message), "object": "response", "created_at": ids.created,
           "status": status, "model": a.model, "output": output, "parallel_tool_calls": true,
           "tool_choice": "auto", "tools": [], "text": {"format": {"type": "text"}}, "usage": usage,
           "error": null, "incomplete_details": null, "metadata": {}})
}

fn responses_event(v: &Value) -> Bytes {
    let kind = v.get("type").and_then(Value::as_str).unwrap_or("unknown");
    Bytes::from(format!("event: {kind}\ndata: {v}\n\n"))
}

/// The Responses event sequence: `response.created`, `response.in_progress`, per item
/// `response.output_item.added`, (`response.content_part.added`, text deltas,
/// `response.output_text.done`, `response.content_part.done`) or (argument deltas,
/// `response.function_call_arguments.done`), `response.output_item.done`, then
/// `response.completed`.
fn responses_events(a: &Answer, ids: &Ids, delta: usize) -> Vec<Ev> {
    let mut seq = 0u64;
    let mut ev = |kind: EvKind, mut v: Value| {
        v["sequence_number"] = json!(seq);
        seq += 1;
        Ev { kind, bytes: responses_event(&v) }
    };
    let msg_id = format!("msg_{}", ids.message);
    let mut evs = vec![
        ev(
            EvKind::Framing,
            json!({"type": "response.created", "response": responses_object(a, ids, "in_progress", false)}),
        ),
        ev(
            EvKind::Framing,
            json!({"type": "response.in_progress", "response": responses_object(a, ids, "in_progress", false)}),
        ),
        ev(
            EvKind::Framing,
            json!({"type": "response.output_item.added", "output_index": 0,
                   "item": {"type": "message", "id": msg_id, "status": "in_progress", "role": "assistant", "content": []}}),
        ),
        ev(
            EvKind::Framing,
            json!({"type": "response.content_part.added", "item_id": msg_id, "output_index": 0, "content_index": 0,
                   "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}),
        ),
    ];
    for piece in char_chunks(&a.text, delta) {
        evs.push(ev(
            EvKind::Delta,
            json!({"type": "response.output_text.delta", "item_id": msg_id, "output_index": 0, "content_index": 0,
                   "delta": piece, "logprobs": []}),
        ));
    }
    evs.push(ev(
        EvKind::Framing,
        json!({"type": "response.output_text.done", "item_id": msg_id, "output_index": 0, "content_index": 0,
               "text": a.text, "logprobs": []}),
    ));
    evs.push(ev(
        EvKind::Framing,
        json!({"type": "response.content_part.done", "item_id": msg_id, "output_index": 0, "content_index": 0,
               "part": {"type": "output_text", "text": a.text, "annotations": [], "logprobs": []}}),
    ));
    evs.push(ev(
        EvKind::Framing,
        json!({"type": "response.output_item.done", "output_index": 0,
               "item": responses_message(ids, &a.text, "completed")}),
    ));
    if let Some(input) = &a.tool_input {
        let fc_id = format!("fc_{}", ids.tool);
        let args = input.to_string();
        evs.push(ev(
            EvKind::Framing,
            json!({"type": "response.output_item.added", "output_index": 1, "item": responses_call(ids, "", "in_progress")}),
        ));
        for piece in char_chunks(&args, delta) {
            evs.push(ev(
                EvKind::Delta,
                json!({"type": "response.function_call_arguments.delta", "item_id": fc_id, "output_index": 1,
                       "delta": piece}),
            ));
        }
        evs.push(ev(
            EvKind::Framing,
            json!({"type": "response.function_call_arguments.done", "item_id": fc_id, "output_index": 1,
                   "arguments": args}),
        ));
        evs.push(ev(
            EvKind::Framing,
            json!({"type": "response.output_item.done", "output_index": 1, "item": responses_call(ids, &args, "completed")}),
        ));
    }
    evs.push(ev(
        EvKind::Terminal,
        json!({"type": "response.completed", "response": responses_object(a, ids, "completed", true)}),
    ));
    evs
}
// <<< responses

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
        let answer =
            |chars| Answer { model: "bench".to_owned(), text: bench_text(chars), tool_input: None, prompt_tokens: 256 };
        let plain = answer(BENCH_PLAIN_CHARS);
        let streamed = answer(BENCH_STREAM_CHARS);
        let concat =
            |evs: Vec<Ev>| -> Bytes { Bytes::from(evs.into_iter().map(|e| e.bytes).collect::<Vec<_>>().concat()) };
        let to_bytes = |v: &Value| {
            Bytes::from(serde_json::to_vec(v).expect("serializing a serde_json::Value cannot fail; this is a bug"))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> reqwest::Client {
        reqwest::Client::new()
    }

    fn openai_req(model: &str, text: &str, stream: bool) -> Value {
        json!({"model": model, "stream": stream,
            "messages": [{"role": "system", "content": "be brief"},
                         {"role": "user", "content": text}]})
    }

    fn anthropic_req(model: &str, text: &str, stream: bool) -> Value {
        json!({"model": model, "max_tokens": 100, "stream": stream,
            "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]})
    }

    async fn post(url: String, body: &Value) -> reqwest::Response {
        client().post(url).header("authorization", "Bearer test").json(body).send().await.unwrap()
    }

    async fn post_openai(m: &MockProvider, body: &Value) -> reqwest::Response {
        post(format!("{}/chat/completions", m.openai_base_url()), body).await
    }

    async fn post_anthropic(m: &MockProvider, body: &Value) -> reqwest::Response {
        post(format!("{}/v1/messages", m.anthropic_base_url()), body).await
    }

    /// One SSE event: its `event:` name (if any) and `data:` payload.
    #[derive(Debug)]
    struct SseEvent {
        event: Option<String>,
        data: String,
    }

    /// A minimal SSE decoder: bytes in any split, events out.
    #[derive(Default)]
    struct SseSplitter {
        buf: Vec<u8>,
    }

    impl SseSplitter {
        fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
            self.buf.extend_from_slice(chunk);
            let mut out = Vec::new();
            while let Some(pos) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let frame: Vec<u8> = self.buf.drain(..pos + 2).collect();
                let frame = String::from_utf8(frame).expect("frames are UTF-8");
                let mut ev = SseEvent { event: None, data: String::new() };
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        ev.event = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        ev.data.push_str(v);
                    }
                }
                out.push(ev);
            }
            out
        }
    }

    /// Read the whole stream; returns the events, the largest body chunk and whether it ended in error.
    async fn read_sse(resp: reqwest::Response) -> (Vec<SseEvent>, usize, bool) {
        assert_eq!(resp.headers()["content-type"].to_str().unwrap(), "text/event-stream");
        let mut s = resp.bytes_stream();
        let mut sp = SseSplitter::default();
        let mut events = Vec::new();
        let mut max_chunk = 0;
        let mut failed = false;
        while let Some(chunk) = s.next().await {
            match chunk {
                Ok(c) => {
                    max_chunk = max_chunk.max(c.len());
                    events.extend(sp.push(&c));
                }
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if !failed {
            assert!(sp.buf.is_empty(), "trailing partial frame");
        }
        (events, max_chunk, failed)
    }

    fn openai_text(events: &[SseEvent]) -> (String, String) {
        let mut text = String::new();
        let mut args = String::new();
        for e in events.iter().filter(|e| e.data != "[DONE]") {
            let v: Value = serde_json::from_str(&e.data).unwrap();
            let Some(d) = v["choices"].get(0).map(|c| &c["delta"]) else {
                continue;
            };
            text.push_str(d["content"].as_str().unwrap_or(""));
            if let Some(a) = d["tool_calls"][0]["function"]["arguments"].as_str() {
                args.push_str(a);
            }
        }
        (text, args)
    }

    fn anthropic_text(events: &[SseEvent]) -> (String, String) {
        let mut text = String::new();
        let mut args = String::new();
        for e in events {
            let v: Value = serde_json::from_str(&e.data).unwrap();
            assert_eq!(e.event.as_deref(), v["type"].as_str());
            if v["type"] == "content_block_delta" {
                text.push_str(v["delta"]["text"].as_str().unwrap_or(""));
                args.push_str(v["delta"]["partial_json"].as_str().unwrap_or(""));
            }
        }
        (text, args)
    }

    const PII: &str = "Hi, I am [PERSON_1] (Zoë Müller 日本), mail [EMAIL_1]";

    #[test]
    fn model_options_parse() {
        let b = Behavior::parse("tool+delta=2+bytes=5+slow=10+midstream=3+error=529");
        assert_eq!(b.kind, Kind::Tool);
        assert_eq!(b.delta, 2);
        assert_eq!(b.bytes, Some(5));
        assert_eq!(b.slow_ms, Some(10));
        assert_eq!(b.midstream, Some(3));
        assert_eq!(b.error.map(|s| s.as_u16()), Some(529));
        let d = Behavior::parse("gpt-4o-mini+delta=0+error=abc");
        assert_eq!(d.kind, Kind::Echo);
        assert_eq!(d.delta, DEFAULT_DELTA);
        assert_eq!(d.error, None);
        assert!(Behavior::parse("bench").is_plain_bench());
        assert!(!Behavior::parse("bench+bytes=3").is_plain_bench());
        assert_eq!(char_chunks("aé日bc", 2), vec!["aé", "日b", "c"]);
        assert_eq!(char_chunks("", 2), Vec::<&str>::new());
    }

    #[tokio::test]
    async fn echo_plain_openai_and_recording() {
        let m = MockProvider::start().await;
        let resp = post_openai(&m, &openai_req("echo", PII, false)).await;
        assert_eq!(resp.status(), 200);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["model"], "echo");
        assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
        assert_eq!(v["choices"][0]["message"]["content"], format!("You said: {PII}"));
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
        let u = &v["usage"];
        assert_eq!(
            u["total_tokens"].as_u64().unwrap(),
            u["prompt_tokens"].as_u64().unwrap() + u["completion_tokens"].as_u64().unwrap()
        );

        let rec = m.received();
        assert_eq!(rec.len(), 1);
        assert_eq!(rec[0].path, "/v1/chat/completions");
        assert_eq!(rec[0].header("authorization"), Some("Bearer test"));
        assert_eq!(rec[0].body, openai_req("echo", PII, false));
        m.clear();
        assert!(m.received().is_empty());

        // Content parts, and a trailing tool message is echoed.
        let body = json!({"model": "x", "messages": [
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url"},
                                         {"type": "text", "text": "b"}]}]});
        let v: Value = post_openai(&m, &body).await.json().await.unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], "You said: a\nb");
        let body = json!({"model": "x", "messages": [{"role": "user", "content": "q"},
            {"role": "assistant", "content": null, "tool_calls": []},
            {"role": "tool", "tool_call_id": "call_1", "content": "result [EMAIL_1]"}]});
        let v: Value = post_openai(&m, &body).await.json().await.unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], "You said: result [EMAIL_1]");
        assert_eq!(m.received().len(), 2);
    }

    #[tokio::test]
    async fn echo_plain_anthropic() {
        let m = MockProvider::start().await;
        let resp = post_anthropic(&m, &anthropic_req("claude-x", PII, false)).await;
        assert_eq!(resp.status(), 200);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["type"], "message");
        assert_eq!(v["model"], "claude-x");
        assert!(v["id"].as_str().unwrap().starts_with("msg_"));
        assert_eq!(v["content"][0]["text"], format!("You said: {PII}"));
        assert_eq!(v["stop_reason"], "end_turn");
        assert!(v["usage"]["output_tokens"].as_u64().unwrap() > 0);
        assert_eq!(m.received()[0].path, "/v1/messages");

        // tool_result blocks of the last user message count.
        let body = json!({"model": "echo", "max_tokens": 10, "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                "content": [{"type": "text", "text": "found [PERSON_1]"}]}]}]});
        let v: Value = post_anthropic(&m, &body).await.json().await.unwrap();
        assert_eq!(v["content"][0]["text"], "You said: found [PERSON_1]");
    }

    #[tokio::test]
    async fn streaming_openai_reassembles() {
        let m = MockProvider::start().await;
        let mut body = openai_req("echo+delta=3", PII, true);
        body["stream_options"] = json!({"include_usage": true});
        let (events, _, failed) = read_sse(post_openai(&m, &body).await).await;
        assert!(!failed);
        assert_eq!(events.last().unwrap().data, "[DONE]");
        let first: Value = serde_json::from_str(&events[0].data).unwrap();
        assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(first["object"], "chat.completion.chunk");
        let usage: Value = serde_json::from_str(&events[events.len() - 2].data).unwrap();
        assert_eq!(usage["choices"], json!([]));
        assert!(usage["usage"]["completion_tokens"].as_u64().unwrap() > 0);
        let fin: Value = serde_json::from_str(&events[events.len() - 3].data).unwrap();
        assert_eq!(fin["choices"][0]["finish_reason"], "stop");
        assert_eq!(openai_text(&events).0, format!("You said: {PII}"));

        // Without include_usage there is no usage chunk.
        let (events, _, _) = read_sse(post_openai(&m, &openai_req("echo", PII, true)).await).await;
        let fin: Value = serde_json::from_str(&events[events.len() - 2].data).unwrap();
        assert_eq!(fin["choices"][0]["finish_reason"], "stop");
        assert!(fin.get("usage").is_none());
    }

    #[tokio::test]
    async fn streaming_anthropic_reassembles() {
        let m = MockProvider::start().await;
        let resp = post_anthropic(&m, &anthropic_req("echo", PII, true)).await;
        let (events, _, failed) = read_sse(resp).await;
        assert!(!failed);
        let kinds: Vec<&str> = events.iter().filter_map(|e| e.event.as_deref()).collect();
        assert_eq!(&kinds[..3], &["message_start", "content_block_start", "ping"]);
        assert_eq!(&kinds[kinds.len() - 3..], &["content_block_stop", "message_delta", "message_stop"]);
        assert_eq!(anthropic_text(&events).0, format!("You said: {PII}"));
        let delta: Value = serde_json::from_str(&events[events.len() - 2].data).unwrap();
        assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    }

    #[tokio::test]
    async fn tiny_byte_chunks_decode_to_the_same_text() {
        let m = MockProvider::start().await;
        let resp = post_openai(&m, &openai_req("echo+delta=1+bytes=5", PII, true)).await;
        let (events, max_chunk, failed) = read_sse(resp).await;
        assert!(!failed);
        assert!(max_chunk <= 5, "chunk of {max_chunk} bytes");
        assert_eq!(openai_text(&events).0, format!("You said: {PII}"));

        let resp = post_anthropic(&m, &anthropic_req("tool+bytes=5", PII, true)).await;
        let (events, max_chunk, failed) = read_sse(resp).await;
        assert!(!failed);
        assert!(max_chunk <= 5, "chunk of {max_chunk} bytes");
        let (text, args) = anthropic_text(&events);
        assert_eq!(text, "Let me look that up.");
        let args: Value = serde_json::from_str(&args).unwrap();
        assert_eq!(args, json!({"query": PII, "note": format!("see {PII}")}));
    }

    #[tokio::test]
    async fn tool_calls_plain_and_streaming() {
        let m = MockProvider::start().await;
        let want = json!({"query": "call [PERSON_1]", "note": "see call [PERSON_1]"});

        let v: Value = post_openai(&m, &openai_req("tool", "call [PERSON_1]", false)).await.json().await.unwrap();
        let msg = &v["choices"][0]["message"];
        assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(msg["content"], "Let me look that up.");
        assert_eq!(msg["tool_calls"][0]["function"]["name"], "lookup");
        let args: Value =
            serde_json::from_str(msg["tool_calls"][0]["function"]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args, want);

        let v: Value = post_anthropic(&m, &anthropic_req("tool", "call [PERSON_1]", false)).await.json().await.unwrap();
        assert_eq!(v["stop_reason"], "tool_use");
        assert_eq!(v["content"][1]["type"], "tool_use");
        assert!(v["content"][1]["id"].as_str().unwrap().starts_with("toolu_"));
        assert_eq!(v["content"][1]["input"], want);

        let resp = post_openai(&m, &openai_req("tool+delta=2", "call [PERSON_1]", true)).await;
        let (events, _, _) = read_sse(resp).await;
        let (text, args) = openai_text(&events);
        assert_eq!(text, "Let me look that up.");
        assert_eq!(serde_json::from_str::<Value>(&args).unwrap(), want);
        let start = events
            .iter()
            .map(|e| serde_json::from_str::<Value>(&e.data).unwrap_or(Value::Null))
            .find(|v| v["choices"][0]["delta"]["tool_calls"][0]["id"].is_string())
            .unwrap();
        let call = &start["choices"][0]["delta"]["tool_calls"][0];
        assert_eq!(call["function"]["name"], "lookup");
        assert_eq!(call["function"]["arguments"], "");
        assert_eq!(call["type"], "function");
    }

    #[tokio::test]
    async fn errors_have_the_api_shape() {
        let m = MockProvider::start().await;
        let resp = post_openai(&m, &openai_req("error=500", "x", false)).await;
        assert_eq!(resp.status(), 500);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"]["message"], "mock error");
        assert_eq!(v["error"]["type"], "server_error");

        let resp = post_anthropic(&m, &anthropic_req("error=500", "x", true)).await;
        assert_eq!(resp.status(), 500);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "api_error");
        assert_eq!(v["error"]["message"], "mock error");

        let resp = post_anthropic(&m, &anthropic_req("error=529", "x", false)).await;
        assert_eq!(resp.status(), 529);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"]["type"], "overloaded_error");

        let resp = post(format!("{}/chat/completions", m.openai_base_url()), &json!("not an object")).await;
        assert_eq!(resp.status(), 400);
    }

    #[tokio::test]
    async fn midstream_aborts_after_n_deltas() {
        let m = MockProvider::start().await;
        let resp = post_openai(&m, &openai_req("echo+midstream=2", PII, true)).await;
        assert_eq!(resp.status(), 200);
        let (events, _, failed) = read_sse(resp).await;
        assert!(failed, "the body must end in an error");
        assert_eq!(openai_text(&events).0, "You said");
        assert!(events.iter().all(|e| e.data != "[DONE]"));

        let resp = post_anthropic(&m, &anthropic_req("echo+midstream=1", PII, true)).await;
        let (events, _, failed) = read_sse(resp).await;
        assert!(failed);
        assert_eq!(anthropic_text(&events).0, "You ");
        assert!(events.iter().all(|e| e.event.as_deref() != Some("message_stop")));
    }

    #[tokio::test]
    async fn slow_delays_the_headers() {
        let m = MockProvider::start().await;
        let t = std::time::Instant::now();
        let resp = post_openai(&m, &openai_req("echo+slow=150", "x", false)).await;
        assert_eq!(resp.status(), 200);
        assert!(t.elapsed() >= Duration::from_millis(150));
    }

    #[tokio::test]
    async fn bench_answers_and_recording_off() {
        let m = MockProvider::start_with(MockOptions { record: false }).await;
        let (events, _, _) = read_sse(post_openai(&m, &openai_req("bench", "x", true)).await).await;
        let content = events
            .iter()
            .filter(|e| e.data != "[DONE]")
            .map(|e| serde_json::from_str::<Value>(&e.data).unwrap())
            .filter(|v| v["choices"][0]["delta"]["content"].as_str().is_some_and(|s| !s.is_empty()))
            .count();
        assert_eq!(content, 344);
        // The prebuilt bytes are what the general path would produce for "bench".
        let (dynamic, _, _) = read_sse(post_openai(&m, &openai_req("bench+echo+bench", "x", true)).await).await;
        assert_eq!(openai_text(&events), openai_text(&dynamic));

        let (events, _, _) = read_sse(post_anthropic(&m, &anthropic_req("bench", "x", true)).await).await;
        let deltas = events.iter().filter(|e| e.event.as_deref() == Some("content_block_delta")).count();
        assert_eq!(deltas, 344);

        let v: Value = post_openai(&m, &openai_req("bench", "x", false)).await.json().await.unwrap();
        assert_eq!(v["choices"][0]["message"]["content"].as_str().unwrap().len(), 1024);
        let v: Value = post_anthropic(&m, &anthropic_req("bench", "x", false)).await.json().await.unwrap();
        assert_eq!(v["content"][0]["text"].as_str().unwrap().len(), 1024);

        let v: Value =
            client().get(format!("{}/models", m.openai_base_url())).send().await.unwrap().json().await.unwrap();
        assert_eq!(v["object"], "list");
        assert!(m.received().is_empty());
        m.shutdown();
    }
}
