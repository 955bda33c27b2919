//! The full matrix: every client API (Chat Completions, Messages, Responses) × every
//! provider kind (openai, anthropic, azure, gemini, bedrock), plain and streamed, against
//! one mock upstream. One table drives every case: a per-API client adaptor (build the
//! request, read a plain answer, reassemble a stream from that API's SSE events) and a
//! per-kind provider (its `[providers]` entry and the wire format it must receive: URL
//! shape, auth header or SigV4 signature, body shape).
//!
//! Each case checks that the provider got exactly one request, in its own format, holding
//! placeholders and none of the raw values (an accented name from `[detect.deny]`, an
//! e-mail, a phone number), and that the client got the values back in its own format:
//! text, tool-call arguments, usage, stop reason. Streams are cut into 3-char deltas and
//! 5-byte frames (inside placeholders and inside UTF-8 characters). Tool calls go round
//! trip: the client's tool result, carrying the values, is masked before the provider sees
//! it and comes back restored.
//!
//! Every combination is served; none is skipped. Every case of a test runs (each in its
//! own task, with its own gateway and mock), and the test fails listing each failed case.

use crate::common::sse_events;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use veil::audit::{AuditHandle, AuditWriterTask};
use veil::config::Config;
use veil::mask::ValueHasher;
use veil::AppState;
use veil_mock::bedrock::{ACCESS_KEY_ID, SECRET_ACCESS_KEY};
use veil_mock::{MockProvider, Received};

const NAME: &str = "Zoë Ångström-Núñez";
const EMAIL: &str = "zoe.nunez@example.org";
const PHONE: &str = "+1 415 555 0132";
/// Raw values that must never reach the provider.
const RAW: &[&str] = &[NAME, EMAIL, PHONE];
/// Placeholders the provider must see instead.
const PLACEHOLDERS: &[&str] = &["[PERSON_1]", "[EMAIL_1]", "[PHONE_1]"];
const PROMPT: &str =
    "Grüß Gott! Écris à Zoë Ångström-Núñez (zoe.nunez@example.org, tél. +1 415 555 0132) — merci ✓ 日本語";
/// What the client's tool returns: the values again, in another order.
const TOOL_RESULT: &str = "Gefunden: zoe.nunez@example.org gehört Zoë Ångström-Núñez, Telefon +1 415 555 0132 ✓";
const KEY: &str = "sk-upstream-test";
const AZURE_API_VERSION: &str = "2025-03-01-preview";
const BEDROCK_REGION: &str = "us-east-1";
/// Stream cuts: deltas inside placeholders, frames inside UTF-8 characters, both.
const CUTS: &[&str] = &["delta=3", "bytes=5", "delta=3+bytes=5"];

// ---------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    Chat,
    Messages,
    Responses,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    OpenAi,
    Anthropic,
    Azure,
    Gemini,
    Bedrock,
}

const APIS: &[Api] = &[Api::Chat, Api::Messages, Api::Responses];
const KINDS: &[Kind] = &[Kind::OpenAi, Kind::Anthropic, Kind::Azure, Kind::Gemini, Kind::Bedrock];

/// Every combination of the table.
fn combinations() -> Vec<(Api, Kind)> {
    APIS.iter().flat_map(|&api| KINDS.iter().map(move |&kind| (api, kind))).collect()
}

/// What a client read from an answer, plain or streamed.
#[derive(Debug, Default)]
struct Reply {
    text: String,
    call: Option<Call>,
    input_tokens: u64,
    output_tokens: u64,
    /// finish_reason / stop_reason / status.
    finish: String,
}

#[derive(Debug, Clone)]
struct Call {
    id: String,
    name: String,
    args: Value,
    /// The call as the client's API shows it (plain answers only), for sending it back.
    raw: Value,
}

fn tools(api: Api) -> Value {
    let schema = json!({"type": "object", "properties": {"query": {"type": "string"}, "note": {"type": "string"}},
        "required": ["query"]});
    match api {
        Api::Chat => json!([{"type": "function", "function": {"name": "lookup", "description": "Look a person up",
            "parameters": schema}}]),
        Api::Messages => json!([{"name": "lookup", "description": "Look a person up", "input_schema": schema}]),
        Api::Responses => {
            json!([{"type": "function", "name": "lookup", "description": "Look a person up", "parameters": schema}])
        }
    }
}

fn as_u64(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn parse_args(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("tool arguments are not JSON ({e}): {s}"))
}

impl Api {
    fn path(self) -> &'static str {
        match self {
            Api::Chat => "/v1/chat/completions",
            Api::Messages => "/v1/messages",
            Api::Responses => "/v1/responses",
        }
    }

    /// A request with the system text and one user turn; with tools when `tools`; usage
    /// asked for in Chat Completions streams (the other APIs always report it).
    fn request(self, model: &str, text: &str, stream: bool, with_tools: bool) -> Value {
        let mut body = match self {
            Api::Chat => json!({"model": model, "stream": stream, "messages": [
                {"role": "system", "content": "You are helpful."},
                {"role": "user", "content": text}]}),
            Api::Messages => json!({"model": model, "max_tokens": 256, "stream": stream,
                "system": "You are helpful.", "messages": [{"role": "user", "content": text}]}),
            Api::Responses => json!({"model": model, "stream": stream, "instructions": "You are helpful.",
                "input": [{"role": "user", "content": [{"type": "input_text", "text": text}]}]}),
        };
        if self == Api::Chat && stream {
            body["stream_options"] = json!({"include_usage": true});
        }
        if with_tools {
            body["tools"] = tools(self);
        }
        body
    }

    /// Appends the assistant's turn (its text and `call`, as the client got them) and the
    /// tool's `result`, the way a client of this API sends a tool result back.
    fn push_tool_result(self, body: &mut Value, said: &str, call: &Call, result: &str) {
        match self {
            Api::Chat => {
                let msgs = body["messages"].as_array_mut().unwrap();
                msgs.push(json!({"role": "assistant", "content": said, "tool_calls": [call.raw.clone()]}));
                msgs.push(json!({"role": "tool", "tool_call_id": call.id, "content": result}));
            }
            Api::Messages => {
                let msgs = body["messages"].as_array_mut().unwrap();
                msgs.push(json!({"role": "assistant", "content": [{"type": "text", "text": said}, call.raw.clone()]}));
                msgs.push(json!({"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": call.id, "content": result}]}));
            }
            Api::Responses => {
                let input = body["input"].as_array_mut().unwrap();
                input.push(json!({"role": "assistant", "content": said}));
                input.push(call.raw.clone());
                input.push(json!({"type": "function_call_output", "call_id": call.id, "output": result}));
            }
        }
    }

    fn plain(self, v: &Value) -> Reply {
        let mut r = Reply::default();
        match self {
            Api::Chat => {
                assert_eq!(v["object"], "chat.completion", "{v}");
                let m = &v["choices"][0]["message"];
                r.text = m["content"].as_str().unwrap_or_default().to_string();
                if let Some(tc) = m["tool_calls"].as_array().and_then(|a| a.first()) {
                    r.call = Some(Call {
                        id: tc["id"].as_str().unwrap().to_string(),
                        name: tc["function"]["name"].as_str().unwrap().to_string(),
                        args: parse_args(tc["function"]["arguments"].as_str().unwrap()),
                        raw: tc.clone(),
                    });
                }
                r.finish = v["choices"][0]["finish_reason"].as_str().unwrap_or_default().to_string();
                r.input_tokens = as_u64(&v["usage"]["prompt_tokens"]);
                r.output_tokens = as_u64(&v["usage"]["completion_tokens"]);
            }
            Api::Messages => {
                assert_eq!(v["type"], "message", "{v}");
                for block in v["content"].as_array().unwrap() {
                    match block["type"].as_str() {
                        Some("text") => r.text.push_str(block["text"].as_str().unwrap()),
                        Some("tool_use") => {
                            r.call = Some(Call {
                                id: block["id"].as_str().unwrap().to_string(),
                                name: block["name"].as_str().unwrap().to_string(),
                                args: block["input"].clone(),
                                raw: block.clone(),
                            })
                        }
                        _ => panic!("unexpected content block: {block}"),
                    }
                }
                r.finish = v["stop_reason"].as_str().unwrap_or_default().to_string();
                r.input_tokens = as_u64(&v["usage"]["input_tokens"]);
                r.output_tokens = as_u64(&v["usage"]["output_tokens"]);
            }
            Api::Responses => {
                assert_eq!(v["object"], "response", "{v}");
                for item in v["output"].as_array().unwrap() {
                    match item["type"].as_str() {
                        Some("message") => {
                            for part in item["content"].as_array().unwrap() {
                                assert_eq!(part["type"], "output_text", "{item}");
                                r.text.push_str(part["text"].as_str().unwrap());
                            }
                        }
                        Some("function_call") => {
                            r.call = Some(Call {
                                id: item["call_id"].as_str().unwrap().to_string(),
                                name: item["name"].as_str().unwrap().to_string(),
                                args: parse_args(item["arguments"].as_str().unwrap()),
                                raw: item.clone(),
                            })
                        }
                        _ => panic!("unexpected output item: {item}"),
                    }
                }
                r.finish = v["status"].as_str().unwrap_or_default().to_string();
                r.input_tokens = as_u64(&v["usage"]["input_tokens"]);
                r.output_tokens = as_u64(&v["usage"]["output_tokens"]);
            }
        }
        r
    }

    /// Reassembles a stream as a client of this API would, checking its framing.
    fn stream(self, body: &str) -> Reply {
        let events = sse_events(body);
        assert!(!events.is_empty(), "empty stream");
        let mut r = Reply::default();
        let (mut id, mut name, mut args) = (None::<String>, None::<String>, String::new());
        match self {
            Api::Chat => {
                assert_eq!(events.last().map(|e| e.1.as_str()), Some("[DONE]"), "{body}");
                for (_, data) in &events[..events.len() - 1] {
                    let c: Value = serde_json::from_str(data).unwrap();
                    assert!(c.get("error").is_none(), "error chunk: {c}");
                    if c.get("prompt_filter_results").is_some() && c["choices"] == json!([]) {
                        // Azure's opening prompt-filter chunk, passed through as Azure sent it.
                        continue;
                    }
                    assert_eq!(c["object"], "chat.completion.chunk", "{c}");
                    if c["usage"].is_object() {
                        r.input_tokens = as_u64(&c["usage"]["prompt_tokens"]);
                        r.output_tokens = as_u64(&c["usage"]["completion_tokens"]);
                    }
                    for choice in c["choices"].as_array().unwrap() {
                        let d = &choice["delta"];
                        if let Some(t) = d["content"].as_str() {
                            // A held-back delta is skipped, not sent as `content: ""`.
                            assert!(!t.is_empty() || d.get("role").is_some(), "empty delta: {c}");
                            r.text.push_str(t);
                        }
                        for tc in d["tool_calls"].as_array().into_iter().flatten() {
                            if let Some(i) = tc["id"].as_str() {
                                id = Some(i.to_string());
                            }
                            if let Some(n) = tc["function"]["name"].as_str() {
                                name = Some(n.to_string());
                            }
                            if let Some(a) = tc["function"]["arguments"].as_str() {
                                args.push_str(a);
                            }
                        }
                        if let Some(f) = choice["finish_reason"].as_str() {
                            r.finish = f.to_string();
                        }
                    }
                }
            }
            Api::Messages => {
                for (event, data) in &events {
                    let e: Value = serde_json::from_str(data).unwrap();
                    assert_eq!(event.as_deref(), e["type"].as_str(), "event name and type differ: {e}");
                    match e["type"].as_str().unwrap() {
                        "message_start" => r.input_tokens = as_u64(&e["message"]["usage"]["input_tokens"]),
                        "content_block_start" if e["content_block"]["type"] == "tool_use" => {
                            id = e["content_block"]["id"].as_str().map(str::to_string);
                            name = e["content_block"]["name"].as_str().map(str::to_string);
                        }
                        "content_block_delta" => match e["delta"]["type"].as_str() {
                            Some("text_delta") => r.text.push_str(e["delta"]["text"].as_str().unwrap()),
                            Some("input_json_delta") => args.push_str(e["delta"]["partial_json"].as_str().unwrap()),
                            _ => panic!("unexpected delta: {e}"),
                        },
                        "message_delta" => {
                            r.finish = e["delta"]["stop_reason"].as_str().unwrap_or_default().to_string();
                            r.output_tokens = as_u64(&e["usage"]["output_tokens"]);
                            // Anthropic may also report input tokens at the end.
                            r.input_tokens = r.input_tokens.max(as_u64(&e["usage"]["input_tokens"]));
                        }
                        "error" => panic!("error event: {e}"),
                        _ => {}
                    }
                }
                assert_eq!(events.last().and_then(|e| e.0.as_deref()), Some("message_stop"), "{body}");
            }
            Api::Responses => {
                let mut fc_done = None;
                for (seq, (event, data)) in events.iter().enumerate() {
                    let e: Value = serde_json::from_str(data).unwrap();
                    assert_eq!(event.as_deref(), e["type"].as_str(), "event name and type differ: {e}");
                    assert_eq!(e["sequence_number"].as_u64(), u64::try_from(seq).ok(), "numbered in order: {e}");
                    match e["type"].as_str().unwrap() {
                        "response.output_text.delta" => r.text.push_str(e["delta"].as_str().unwrap()),
                        "response.output_item.added" if e["item"]["type"] == "function_call" => {
                            id = e["item"]["call_id"].as_str().map(str::to_string);
                            name = e["item"]["name"].as_str().map(str::to_string);
                        }
                        "response.function_call_arguments.delta" => args.push_str(e["delta"].as_str().unwrap()),
                        "response.function_call_arguments.done" => {
                            fc_done = e["arguments"].as_str().map(str::to_string);
                        }
                        "response.completed" => {
                            let resp = &e["response"];
                            r.finish = resp["status"].as_str().unwrap_or_default().to_string();
                            r.input_tokens = as_u64(&resp["usage"]["input_tokens"]);
                            r.output_tokens = as_u64(&resp["usage"]["output_tokens"]);
                            // The final object holds the restored answer too.
                            let whole = self.plain(resp);
                            assert_eq!(whole.text, r.text, "response.completed and the deltas differ");
                        }
                        "error" | "response.failed" => panic!("error event: {e}"),
                        _ => {}
                    }
                }
                assert_eq!(events.last().and_then(|e| e.0.as_deref()), Some("response.completed"), "{body}");
                if let Some(done) = fc_done {
                    assert_eq!(done, args, "function_call_arguments.done and the deltas differ");
                }
            }
        }
        if let Some(name) = name {
            let id = id.unwrap_or_else(|| panic!("a streamed tool call without an id: {body}"));
            r.call = Some(Call { id, name, args: parse_args(&args), raw: Value::Null });
        }
        r
    }

    fn finish(self, tool: bool) -> &'static str {
        match (self, tool) {
            (Api::Chat, false) => "stop",
            (Api::Chat, true) => "tool_calls",
            (Api::Messages, false) => "end_turn",
            (Api::Messages, true) => "tool_use",
            (Api::Responses, _) => "completed",
        }
    }
}

impl Kind {
    fn provider(self) -> &'static str {
        match self {
            Kind::OpenAi => "mx-openai",
            Kind::Anthropic => "mx-anthropic",
            Kind::Azure => "mx-azure",
            Kind::Gemini => "mx-gemini",
            Kind::Bedrock => "mx-bedrock",
        }
    }

    /// Its `[providers]` entry, pointing at `up`, keyed by OPENAI_API_KEY (Bedrock: signed
    /// with the AWS variables of [`rig`]'s environment, the mock's test credentials).
    fn toml(self, up: &MockProvider) -> String {
        let key = "api_key_env = \"OPENAI_API_KEY\"\n";
        let (kind, url, extra) = match self {
            Kind::OpenAi => ("openai", up.openai_base_url(), key.to_string()),
            Kind::Anthropic => ("anthropic", up.anthropic_base_url(), key.to_string()),
            Kind::Azure => ("azure", up.azure_base_url(), format!("{key}api_version = \"{AZURE_API_VERSION}\"\n")),
            Kind::Gemini => ("gemini", up.gemini_base_url(), key.to_string()),
            Kind::Bedrock => ("bedrock", format!("http://{}", up.addr), format!("region = \"{BEDROCK_REGION}\"\n")),
        };
        format!("[providers.{}]\nkind = \"{kind}\"\nbase_url = \"{url}\"\n{extra}", self.provider())
    }

    /// `r` is in this kind's wire format: URL shape, auth header, body shape, for a
    /// request of `api` with upstream model `model`.
    fn assert_wire(self, api: Api, r: &Received, model: &str, stream: bool) {
        let b = &r.body;
        let ctx = format!("{api:?} -> {self:?}: {} {:?}", r.path, r.query);
        match self {
            Kind::OpenAi | Kind::Azure => {
                let (path, query) = match (self, api) {
                    (Kind::OpenAi, Api::Responses) => ("/v1/responses".to_string(), None),
                    (Kind::OpenAi, _) => ("/v1/chat/completions".to_string(), None),
                    (_, Api::Responses) => {
                        ("/openai/responses".to_string(), Some(format!("api-version={AZURE_API_VERSION}")))
                    }
                    (_, _) => (
                        format!("/openai/deployments/{model}/chat/completions"),
                        Some(format!("api-version={AZURE_API_VERSION}")),
                    ),
                };
                assert_eq!(r.path, path, "{ctx}");
                assert_eq!(r.query, query, "{ctx}");
                if self == Kind::OpenAi {
                    assert_eq!(r.header("authorization"), Some(format!("Bearer {KEY}").as_str()), "{ctx}");
                } else {
                    assert_eq!(r.header("api-key"), Some(KEY), "{ctx}");
                    assert_eq!(r.header("authorization"), None, "{ctx}");
                }
                assert_eq!(b["model"], model, "{ctx}");
                let body_key = if api == Api::Responses { "input" } else { "messages" };
                assert!(b[body_key].is_array(), "{ctx}: {b}");
                assert_eq!(b["stream"].as_bool().unwrap_or(false), stream, "{ctx}: {b}");
            }
            Kind::Anthropic => {
                assert_eq!(r.path, "/v1/messages", "{ctx}");
                assert_eq!(r.query, None, "{ctx}");
                assert_eq!(r.header("x-api-key"), Some(KEY), "{ctx}");
                assert_eq!(r.header("authorization"), None, "{ctx}");
                assert!(r.header("anthropic-version").is_some(), "{ctx}");
                assert_eq!(b["model"], model, "{ctx}");
                assert!(b["messages"].is_array() && b["max_tokens"].is_u64(), "{ctx}: {b}");
                assert_eq!(b["stream"].as_bool().unwrap_or(false), stream, "{ctx}: {b}");
            }
            Kind::Gemini => {
                let method = if stream { "streamGenerateContent" } else { "generateContent" };
                assert_eq!(r.path, format!("/v1beta/models/{model}:{method}"), "{ctx}");
                assert_eq!(r.query.as_deref(), stream.then_some("alt=sse"), "{ctx}");
                assert_eq!(r.header("x-goog-api-key"), Some(KEY), "{ctx}");
                assert_eq!(r.header("authorization"), None, "{ctx}");
                assert!(b["contents"].is_array(), "{ctx}: {b}");
                assert!(b.get("messages").is_none() && b.get("model").is_none(), "{ctx}: {b}");
            }
            Kind::Bedrock => {
                // The model id is one percent-encoded path segment; the mock answered 403
                // to a SigV4 signature that does not verify.
                let method = if stream { "converse-stream" } else { "converse" };
                assert_eq!(r.path, format!("/model/{}/{method}", encode_segment(model)), "{ctx}");
                assert_eq!(r.query, None, "{ctx}");
                let auth = r.header("authorization").unwrap_or_default();
                assert!(auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/")), "{ctx}: {auth}");
                assert!(auth.contains(&format!("/{BEDROCK_REGION}/bedrock/aws4_request")), "{ctx}: {auth}");
                assert!(r.header("x-amz-date").is_some(), "{ctx}");
                assert!(b["messages"].is_array(), "{ctx}: {b}");
                assert!(b.get("model").is_none() && b.get("stream").is_none(), "{ctx}: {b}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------------------

/// One case's set-up: a mock upstream behind every kind's provider, and a gateway in front
/// that masks the accented name (deny list) and the patterns. Built here rather than with
/// the shared set-up, whose environment holds OPENAI_API_KEY only.
struct Rig {
    up: MockProvider,
    addr: SocketAddr,
    state: AppState,
    audit_path: PathBuf,
    client: reqwest::Client,
    _writer: AuditWriterTask,
    _dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn rig() -> Rig {
    let up = MockProvider::start().await;
    let dir = tempfile::tempdir().unwrap();
    let audit_path = dir.path().join("audit.jsonl");
    let mut toml: String = KINDS.iter().map(|k| k.toml(&up)).collect();
    toml.push_str(&format!(
        "[detect]\nmodel = \"none\"\n[detect.deny]\nPERSON = [\"{NAME}\"]\n[audit]\npath = \"{}\"\n",
        audit_path.display()
    ));
    let env = HashMap::from([
        ("OPENAI_API_KEY".to_string(), KEY.to_string()),
        ("AWS_ACCESS_KEY_ID".to_string(), ACCESS_KEY_ID.to_string()),
        ("AWS_SECRET_ACCESS_KEY".to_string(), SECRET_ACCESS_KEY.to_string()),
    ]);
    let config = Config::from_toml(&toml, &env).unwrap();
    let key = b"integration-test-key".to_vec();
    let (audit, writer) = AuditHandle::open(&audit_path, &key).await.unwrap();
    let state = AppState::build(config, audit, ValueHasher::new(&key)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = veil::app(state.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Rig { up, addr, state, audit_path, client: reqwest::Client::new(), _writer: writer, _dir: dir, server }
}

impl Rig {
    async fn post(&self, path: &str, body: &Value) -> (u16, String) {
        let r = self.client.post(format!("http://{}{path}", self.addr)).json(body).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn audit_records(&self) -> Vec<Value> {
        self.state.audit.flush().await;
        let text = std::fs::read_to_string(&self.audit_path).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// Sends one request of `api` to `kind`'s `model` (upstream name, with mock options).
    async fn send(&self, api: Api, kind: Kind, body: &Value) -> Reply {
        let stream = body["stream"] == true;
        let (status, raw) = self.post(api.path(), body).await;
        assert_eq!(status, 200, "{api:?} -> {kind:?}: {raw}");
        for p in PLACEHOLDERS {
            assert!(!raw.contains(p), "{api:?} -> {kind:?}: {p} reached the client: {raw}");
        }
        if stream {
            api.stream(&raw)
        } else {
            api.plain(&serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{e}: {raw}")))
        }
    }

    /// The upstream got exactly one request since the last call, in `kind`'s format, with
    /// placeholders and without a raw value; returns it.
    fn upstream(&self, api: Api, kind: Kind, model: &str, stream: bool) -> Received {
        let got = self.up.received();
        self.up.clear();
        assert_eq!(got.len(), 1, "{api:?} -> {kind:?}: requests upstream");
        let r = got.into_iter().next().unwrap();
        kind.assert_wire(api, &r, model, stream);
        let sent = r.body.to_string();
        for v in RAW {
            assert!(!sent.contains(v), "{api:?} -> {kind:?}: raw value {v:?} reached the provider: {sent}");
        }
        for p in PLACEHOLDERS {
            assert!(sent.contains(p), "{api:?} -> {kind:?}: {p} missing upstream: {sent}");
        }
        r
    }
}

/// A path segment percent-encoded as the AWS SDKs do (all but `A-Z a-z 0-9 - . _ ~`).
fn encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn model(kind: Kind, upstream: &str) -> String {
    format!("{}/{upstream}", kind.provider())
}

fn assert_usage(api: Api, kind: Kind, r: &Reply) {
    assert!(r.input_tokens > 0 && r.output_tokens > 0, "{api:?} -> {kind:?}: usage not mapped: {r:?}");
}

/// Runs `case` for every combination in `combos` × every variant, each in its own task
/// with its own gateway and mock, and fails listing every case that failed (the first
/// failure does not hide the others).
async fn run<V, F, Fut>(what: &str, combos: &[(Api, Kind)], variants: &[V], case: F)
where
    V: Copy + std::fmt::Debug,
    F: Fn(Api, Kind, V) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut tasks = Vec::new();
    for &(api, kind) in combos {
        for &v in variants {
            tasks.push((format!("{api:?} -> {kind:?} [{v:?}]"), tokio::spawn(case(api, kind, v))));
        }
    }
    let total = tasks.len();
    assert_eq!(total, combos.len() * variants.len());
    assert!(total > 0, "{what}: no cases");
    let mut failed = Vec::new();
    for (name, task) in tasks {
        if let Err(e) = task.await {
            let why = match e.try_into_panic() {
                Ok(p) => p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default(),
                Err(e) => e.to_string(),
            };
            failed.push(format!("{name}: {}", why.chars().take(600).collect::<String>()));
        }
    }
    assert!(failed.is_empty(), "{what}: {} of {total} cases failed:\n{}", failed.len(), failed.join("\n"));
}

// ---------------------------------------------------------------------------------------
// The cases
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn matrix_plain_text_is_masked_upstream_and_restored() {
    run("plain", &combinations(), &["echo"], |api, kind, _| async move {
        let rig = rig().await;
        let reply = rig.send(api, kind, &api.request(&model(kind, "echo"), PROMPT, false, false)).await;
        assert_eq!(reply.text, format!("You said: {PROMPT}"), "{api:?} -> {kind:?}");
        assert!(reply.call.is_none(), "{reply:?}");
        assert_eq!(reply.finish, api.finish(false), "{api:?} -> {kind:?}");
        assert_usage(api, kind, &reply);
        let up = rig.upstream(api, kind, "echo", false);
        assert!(up.body.to_string().contains("You are helpful."), "the system text crossed over: {}", up.body);
        let recs = rig.audit_records().await;
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0]["outcome"], "ok", "{}", recs[0]);
        assert_eq!(recs[0]["provider"], kind.provider());
        let log = serde_json::to_string(&recs).unwrap();
        for v in RAW {
            assert!(!log.contains(v), "raw value {v:?} in the audit log");
        }
    })
    .await;
}

#[tokio::test]
async fn matrix_streams_cut_inside_placeholders_and_utf8_are_restored() {
    run("streams", &combinations(), CUTS, |api, kind, cut| async move {
        let rig = rig().await;
        let upstream = format!("echo+{cut}");
        let reply = rig.send(api, kind, &api.request(&model(kind, &upstream), PROMPT, true, false)).await;
        assert_eq!(reply.text, format!("You said: {PROMPT}"));
        assert!(reply.call.is_none(), "{reply:?}");
        assert_eq!(reply.finish, api.finish(false));
        rig.upstream(api, kind, &upstream, true);
        let recs = rig.audit_records().await;
        assert_eq!(recs.len(), 1);
        let r = &recs[0];
        assert_eq!(r["outcome"], "ok", "{r}");
        assert_eq!(r["stream"], true, "{r}");
        // Three values restored (a Responses stream counts each event that carries them:
        // deltas, `.done`, part, item and `response.completed`).
        assert!(r["placeholders"]["restored"].as_u64().unwrap() >= 3, "{r}");
        assert_eq!(r["placeholders"]["unrestored"], 0, "{r}");
        assert_eq!(r["placeholders"]["mutated"], 0, "{r}");
    })
    .await;
}

/// The `tool` answer of `kind` as a client of `api` gets it, checked: text, the call with
/// its arguments restored, stop reason, usage, and the request the provider got.
async fn tool_call(rig: &Rig, api: Api, kind: Kind, stream: bool) -> Reply {
    let upstream = if stream { "tool+delta=3+bytes=5" } else { "tool" };
    let reply = rig.send(api, kind, &api.request(&model(kind, upstream), PROMPT, stream, true)).await;
    assert_eq!(reply.text, "Let me look that up.");
    let call = reply.call.as_ref().unwrap_or_else(|| panic!("no tool call: {reply:?}"));
    assert_eq!(call.name, "lookup");
    assert!(!call.id.is_empty());
    assert_eq!(call.args, json!({"query": PROMPT, "note": format!("see {PROMPT}")}), "arguments restored");
    assert_eq!(reply.finish, api.finish(true));
    let up = rig.upstream(api, kind, upstream, stream);
    assert!(up.body.to_string().contains("lookup"), "the tool reached the provider: {}", up.body);
    reply
}

#[tokio::test]
async fn matrix_tool_calls_reach_the_client_with_arguments_restored() {
    run("tool calls", &combinations(), &["plain", "stream"], |api, kind, v| async move {
        let rig = rig().await;
        tool_call(&rig, api, kind, v == "stream").await;
    })
    .await;
}

#[tokio::test]
async fn matrix_tool_results_are_masked_and_the_echo_restored() {
    run("tool results", &combinations(), &["plain", "stream"], |api, kind, v| async move {
        let rig = rig().await;
        let first = tool_call(&rig, api, kind, false).await;
        let call = first.call.clone().unwrap();
        // The call (its arguments hold the values again) and the tool's result go back.
        let stream = v == "stream";
        let upstream = if stream { "echo+delta=3+bytes=5" } else { "echo" };
        let mut req = api.request(&model(kind, upstream), PROMPT, stream, true);
        api.push_tool_result(&mut req, &first.text, &call, TOOL_RESULT);
        let back = rig.send(api, kind, &req).await;
        assert_eq!(back.text, format!("You said: {TOOL_RESULT}"));
        assert_eq!(back.finish, api.finish(false));
        let up = rig.upstream(api, kind, upstream, stream);
        let sent = up.body.to_string();
        // The prompt, the call's arguments and the result all reached it as placeholders.
        assert!(sent.matches("[EMAIL_1]").count() >= 3, "prompt, call and result masked: {sent}");
        assert!(sent.contains("Gefunden: [EMAIL_1] gehört [PERSON_1], Telefon [PHONE_1]"), "{sent}");
    })
    .await;
}

#[tokio::test]
async fn matrix_usage_reaches_the_client_in_its_shape() {
    // Chat Completions streams ask for it (`stream_options.include_usage`); the other APIs
    // always report it (message_start/message_delta, response.completed).
    let variants = [("echo", false), ("echo", true), ("tool", false), ("tool+delta=3+bytes=5", true)];
    run("usage", &combinations(), &variants, |api, kind, (upstream, stream)| async move {
        let rig = rig().await;
        let reply = rig.send(api, kind, &api.request(&model(kind, upstream), PROMPT, stream, true)).await;
        assert_usage(api, kind, &reply);
        rig.upstream(api, kind, upstream, stream);
    })
    .await;
}
