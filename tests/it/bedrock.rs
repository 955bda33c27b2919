//! The `bedrock` provider kind against the mock's Bedrock mode, which checks the SigV4
//! signature (recomputed from its fixed test credentials over the request as received) and
//! refuses anything else with 403: what Bedrock received (masked text only, the Converse
//! URL with the model id percent-encoded, a valid signature, Converse messages, system,
//! inferenceConfig, toolConfig, toolUse/toolResult) and what the client got back (restored,
//! usage mapped), plain and streamed (binary event-stream frames cut at any byte), for Chat
//! Completions and Messages clients; errors and guardrail stops in the caller's shape.

use crate::common::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use veil::audit::{AuditHandle, AuditWriterTask};
use veil::config::Config;
use veil::mask::ValueHasher;
use veil::AppState;
use veil_mock::bedrock::{ACCESS_KEY_ID, SECRET_ACCESS_KEY, SESSION_TOKEN};
use veil_mock::MockProvider;

/// A gateway whose provider `br` (kind bedrock, region us-east-1) points at a Bedrock mock,
/// with the AWS variables `env` holds (the shared set-up passes only OPENAI_API_KEY).
struct Bedrock {
    addr: SocketAddr,
    mock: MockProvider,
    state: AppState,
    audit_path: std::path::PathBuf,
    client: reqwest::Client,
    _writer: AuditWriterTask,
    _dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Bedrock {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The mock's credentials, with or without a session token.
fn credentials(secret: &str, token: Option<&str>) -> HashMap<String, String> {
    let mut env = HashMap::from([
        ("AWS_ACCESS_KEY_ID".to_owned(), ACCESS_KEY_ID.to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), secret.to_owned()),
    ]);
    if let Some(t) = token {
        env.insert("AWS_SESSION_TOKEN".to_owned(), t.to_owned());
    }
    env
}

async fn bedrock(env: HashMap<String, String>) -> Bedrock {
    let mock = MockProvider::start().await;
    let dir = tempfile::tempdir().unwrap();
    let audit_path = dir.path().join("audit.jsonl");
    let toml = format!(
        "[providers.br]\nkind = \"bedrock\"\nregion = \"us-east-1\"\nbase_url = \"http://{}\"\n\
         [detect]\nmodel = \"none\"\n[audit]\npath = \"{}\"\n",
        mock.addr,
        audit_path.display()
    );
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
    Bedrock { addr, mock, state, audit_path, client: reqwest::Client::new(), _writer: writer, _dir: dir, server }
}

impl Bedrock {
    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self.client.post(self.url(path)).json(body).send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn post_stream(&self, path: &str, body: &Value) -> (u16, String) {
        let r = self.client.post(self.url(path)).json(body).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn audit_records(&self) -> Vec<Value> {
        self.state.audit.flush().await;
        let text = std::fs::read_to_string(&self.audit_path).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// Every request the mock got went to the Converse URL of `path_model` (the model id
    /// as it sits in the path), signed for us-east-1 with the mock's key id (the mock
    /// answered 403 to a signature that does not verify), in Converse's format, and held no
    /// raw value.
    fn assert_requests(&self, path_model: &str, stream: bool, n: usize) -> Vec<veil_mock::Received> {
        let got = self.mock.received();
        assert_eq!(got.len(), n, "requests the Bedrock mock received");
        let method = if stream { "converse-stream" } else { "converse" };
        let today = chrono::Utc::now().format("%Y%m%d").to_string();
        for r in &got {
            assert_eq!(r.path, format!("/model/{path_model}/{method}"));
            let auth = r.header("authorization").unwrap();
            let scope = format!("AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/");
            assert!(auth.starts_with(&scope), "{auth}");
            assert!(auth.contains("/us-east-1/bedrock/aws4_request, SignedHeaders="), "{auth}");
            assert!(auth.contains(", Signature="), "{auth}");
            let date = r.header("x-amz-date").unwrap();
            assert!(date.starts_with(&today[..6]) && date.ends_with('Z') && date.len() == 16, "{date}");
            assert!(r.body.get("messages").is_some() && r.body.get("model").is_none(), "Converse: {}", r.body);
            let raw = r.body.to_string();
            for v in VALUES {
                assert!(!raw.contains(v), "raw value {v:?} reached Bedrock: {raw}");
            }
            assert!(raw.contains("[EMAIL_1]"), "{raw}");
        }
        got
    }
}

#[tokio::test]
async fn chat_completions_reach_bedrock_signed_masked_and_come_back_restored() {
    let br = bedrock(credentials(SECRET_ACCESS_KEY, None)).await;
    let mut body = openai_body("br/us.meta.llama3-1-8b-instruct-v1:0", PROMPT, false);
    body["temperature"] = json!(0.3);
    body["max_tokens"] = json!(100);
    body["stop"] = json!(["END"]);
    body["seed"] = json!(7);
    let (status, v) = br.post("/v1/chat/completions", &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["content"], format!("You said: {PROMPT}"));
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["model"], "us.meta.llama3-1-8b-instruct-v1:0");
    let (input, output) =
        (v["usage"]["prompt_tokens"].as_u64().unwrap(), v["usage"]["completion_tokens"].as_u64().unwrap());
    assert!(input > 0 && output > 0, "{v}");
    assert_eq!(v["usage"]["total_tokens"].as_u64(), Some(input + output));
    // The model id is one percent-encoded path segment, as the AWS SDKs send it.
    let got = br.assert_requests("us.meta.llama3-1-8b-instruct-v1%3A0", false, 1);
    let sent = &got[0].body;
    assert_eq!(sent["system"], json!([{"text": "You are helpful."}]));
    assert_eq!(sent["messages"][0]["role"], "user");
    let text = sent["messages"][0]["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("Grüße! Write to [EMAIL_1]"), "{text}");
    assert_eq!(sent["inferenceConfig"], json!({"temperature": 0.3, "maxTokens": 100, "stopSequences": ["END"]}));
    assert!(sent.get("seed").is_none(), "dropped: {sent}");
    assert_eq!(got[0].header("x-amz-security-token"), None);
    let auth = got[0].header("authorization").unwrap();
    assert!(!auth.contains(SECRET_ACCESS_KEY));

    // The audit record names the provider and the usage Bedrock reported.
    let recs = br.audit_records().await;
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["provider"], "br");
    assert_eq!(recs[0]["outcome"], "ok");
    assert_eq!(recs[0]["usage"]["input_tokens"].as_u64(), Some(input), "{}", recs[0]);
    assert_eq!(recs[0]["usage"]["output_tokens"].as_u64(), Some(output), "{}", recs[0]);
    let line = std::fs::read_to_string(&br.audit_path).unwrap();
    assert!(!line.contains(SECRET_ACCESS_KEY) && !line.contains("Signature="));
}

#[tokio::test]
async fn bedrock_streams_are_restored_across_split_frames_and_placeholders() {
    // Temporary credentials: the session token goes out signed, as x-amz-security-token.
    let br = bedrock(credentials(SECRET_ACCESS_KEY, Some(SESSION_TOKEN))).await;
    // 1-char deltas and 7-byte HTTP chunks: every placeholder spans several frames, and
    // frames (headers, payloads, CRCs) and UTF-8 characters are cut at every position.
    let (status, body) =
        br.post_stream("/v1/chat/completions", &openai_body("br/echo+delta=1+bytes=7", PROMPT, true)).await;
    assert_eq!(status, 200);
    let (text, _, finish) = openai_stream_text(&body);
    assert_eq!(text, format!("You said: {PROMPT}"));
    assert_eq!(finish.as_deref(), Some("stop"));
    let events = sse_events(&body);
    assert_eq!(events.last().map(|e| e.1.as_str()), Some("[DONE]"));
    for (_, data) in &events {
        if data == "[DONE]" {
            continue;
        }
        let c: Value = serde_json::from_str(data).unwrap();
        assert_eq!(c["object"], "chat.completion.chunk");
        assert!(c.get("usage").is_none_or(Value::is_null), "usage was not asked for: {c}");
        assert!(!data.contains("[EMAIL_"), "a placeholder reached the client: {data}");
    }
    let got = br.assert_requests("echo+delta=1+bytes=7".replace('+', "%2B").replace('=', "%3D").as_str(), true, 1);
    assert_eq!(got[0].header("x-amz-security-token"), Some(SESSION_TOKEN));
    assert!(got[0].header("authorization").unwrap().contains("x-amz-security-token"));
    let recs = br.audit_records().await;
    assert!(recs[0]["usage"]["output_tokens"].as_u64().unwrap() > 0, "usage from the stream: {}", recs[0]);

    // Usage asked for: the closing usage chunk comes through.
    let mut req = openai_body("br/echo+bytes=3", PROMPT, true);
    req["stream_options"] = json!({"include_usage": true});
    let (_, body) = br.post_stream("/v1/chat/completions", &req).await;
    let usage: Vec<Value> = sse_events(&body)
        .into_iter()
        .filter(|(_, d)| d != "[DONE]")
        .map(|(_, d)| serde_json::from_str::<Value>(&d).unwrap())
        .filter(|c| c["usage"].is_object())
        .collect();
    assert_eq!(usage.len(), 1);
    assert!(usage[0]["usage"]["completion_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn tool_calls_round_trip_through_tool_use_and_tool_result() {
    let br = bedrock(credentials(SECRET_ACCESS_KEY, None)).await;
    let tools = json!([{"type": "function", "function": {"name": "lookup", "description": "Look up a person",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}}]);
    let mut body = openai_body("br/tool", PROMPT, false);
    body["tools"] = tools.clone();
    body["tool_choice"] = json!("required");
    let (status, v) = br.post("/v1/chat/completions", &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    let call = &v["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["id"], veil_mock::bedrock::TOOL_USE_ID);
    assert_eq!(call["function"]["name"], "lookup");
    let args: Value = serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args["query"], PROMPT, "arguments restored");
    assert_eq!(args["note"], format!("see {PROMPT}"));
    let got = br.assert_requests("tool", false, 1);
    let spec = &got[0].body["toolConfig"]["tools"][0]["toolSpec"];
    assert_eq!(spec["name"], "lookup");
    assert_eq!(spec["inputSchema"]["json"]["required"], json!(["query"]));
    assert_eq!(got[0].body["toolConfig"]["toolChoice"], json!({"any": {}}));

    // The tool's answer goes back as a toolResult, masked; the echo is restored.
    br.mock.clear();
    let id = call["id"].as_str().unwrap();
    let mut turn2 = openai_body("br/echo", PROMPT, false);
    turn2["tools"] = tools.clone();
    let msgs = turn2["messages"].as_array_mut().unwrap();
    msgs.push(json!({"role": "assistant", "content": null, "tool_calls": [call.clone()]}));
    msgs.push(json!({"role": "tool", "tool_call_id": id, "content": "Jane lives at jane.doe@example.com"}));
    let (status, v) = br.post("/v1/chat/completions", &turn2).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["choices"][0]["message"]["content"], "You said: Jane lives at jane.doe@example.com");
    let got = br.assert_requests("echo", false, 1);
    let messages = got[0].body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "user, assistant, user: {messages:?}");
    let tool_use = &messages[1]["content"][0]["toolUse"];
    assert_eq!((tool_use["toolUseId"].as_str(), tool_use["name"].as_str()), (Some(id), Some("lookup")));
    assert!(tool_use["input"]["query"].as_str().unwrap().contains("[EMAIL_1]"), "{tool_use}");
    let result = &messages[2]["content"][0]["toolResult"];
    assert_eq!(result["toolUseId"], id);
    assert_eq!(result["content"], json!([{"text": "Jane lives at [EMAIL_1]"}]));

    // Streamed: the call's input arrives in pieces (cut inside placeholders), restored.
    br.mock.clear();
    body["model"] = json!("br/tool+delta=3+bytes=7");
    body["stream"] = json!(true);
    let (status, stream) = br.post_stream("/v1/chat/completions", &body).await;
    assert_eq!(status, 200);
    let (text, args, finish) = openai_stream_text(&stream);
    assert_eq!(text, "Let me look that up.");
    assert_eq!(finish.as_deref(), Some("tool_calls"));
    let args: Value = serde_json::from_str(&args).unwrap();
    assert_eq!(args["query"], PROMPT);
    assert!(!stream.contains("[EMAIL_"), "{stream}");
    assert_eq!(br.mock.received().len(), 1);
}

#[tokio::test]
async fn messages_clients_reach_bedrock_too() {
    let br = bedrock(credentials(SECRET_ACCESS_KEY, None)).await;
    let mut body = anthropic_body("br/tool", PROMPT, false);
    body["tools"] = json!([{"name": "lookup", "input_schema": {"type": "object"}}]);
    let (status, v) = br.post("/v1/messages", &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["type"], "message");
    assert_eq!(v["stop_reason"], "tool_use");
    let tool = v["content"].as_array().unwrap().iter().find(|b| b["type"] == "tool_use").unwrap();
    assert_eq!(tool["input"]["query"], PROMPT);
    assert!(v["usage"]["output_tokens"].as_u64().unwrap() > 0, "{v}");
    let got = br.assert_requests("tool", false, 1);
    assert_eq!(got[0].body["inferenceConfig"]["maxTokens"], 256);
    assert_eq!(got[0].body["system"][0]["text"], "You are helpful.");

    br.mock.clear();
    let (status, stream) =
        br.post_stream("/v1/messages", &anthropic_body("br/echo+delta=1+bytes=5", PROMPT, true)).await;
    assert_eq!(status, 200);
    let (text, _, stop) = anthropic_stream_text(&stream);
    assert_eq!(text, format!("You said: {PROMPT}"));
    assert_eq!(stop.as_deref(), Some("end_turn"));
    assert_eq!(br.mock.received().len(), 1);
}

#[tokio::test]
async fn missing_or_wrong_credentials_are_the_gateways_fault() {
    // Not set: 503 naming the variables, in each caller's shape; nothing is sent.
    let br = bedrock(HashMap::from([("AWS_ACCESS_KEY_ID".to_owned(), ACCESS_KEY_ID.to_owned())])).await;
    let (status, v) = br.post("/v1/chat/completions", &openai_body("br/echo", PROMPT, false)).await;
    assert_eq!(status, 503, "{v}");
    let m = v["error"]["message"].as_str().unwrap();
    assert!(m.contains("AWS_ACCESS_KEY_ID") && m.contains("AWS_SECRET_ACCESS_KEY"), "{m}");
    assert_eq!(v["error"]["code"], "missing_provider_key");
    let (status, v) = br.post("/v1/messages", &anthropic_body("br/echo", PROMPT, true)).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["type"], "error");
    assert!(br.mock.received().is_empty());
    // Without credentials the provider is not in the model list, not even for a client
    // whose key an open sidecar would forward (Bedrock signs; no SDK key can do that), and
    // a client key is not sent to it.
    let list: Value = br.client.get(br.url("/v1/models")).send().await.unwrap().json().await.unwrap();
    assert!(!list.to_string().contains("br/*"), "{list}");
    let list: Value =
        br.client.get(br.url("/v1/models")).bearer_auth("sk-client").send().await.unwrap().json().await.unwrap();
    assert!(!list.to_string().contains("br/*"), "{list}");
    let r = br
        .client
        .post(br.url("/v1/chat/completions"))
        .bearer_auth("sk-client")
        .json(&openai_body("br/echo", PROMPT, false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert!(br.mock.received().is_empty());

    // A secret the mock does not know: its signature check fails (403), which is our key: 502.
    let br = bedrock(credentials("not-the-secret", None)).await;
    let (status, v) = br.post("/v1/chat/completions", &openai_body("br/echo", PROMPT, false)).await;
    assert_eq!(status, 502, "{v}");
    assert_eq!(br.mock.received().len(), 1);
}

#[tokio::test]
async fn bedrock_errors_and_guardrails_reach_the_caller_in_its_shape() {
    let br = bedrock(credentials(SECRET_ACCESS_KEY, None)).await;
    for (model, want, exception) in [
        ("br/error=400", 400, "ValidationException"),
        ("br/error=403", 502, "AccessDeniedException"),
        ("br/error=503", 503, "ServiceUnavailableException"),
        ("br/error=500", 502, "InternalServerException"),
    ] {
        let (status, v) = br.post("/v1/chat/completions", &openai_body(model, "hi", false)).await;
        assert_eq!(status, want, "{model}: {v}");
        if want < 500 {
            let m = v["error"]["message"].as_str().unwrap();
            assert!(m.contains(exception) && m.contains("mock error"), "{m}");
        }
        let (status, v) = br.post("/v1/messages", &anthropic_body(model, "hi", false)).await;
        assert_eq!(status, want, "{model}: {v}");
        assert_eq!(v["type"], "error", "{v}");
    }
    let r = br.client.post(br.url("/v1/chat/completions")).json(&openai_body("br/error=429", "hi", false)).send();
    let r = r.await.unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(r.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("7"));
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("ThrottlingException"), "{v}");

    // A guardrail stop: a clear 400 blocked, in each client's shape.
    let (status, v) = br.post("/v1/chat/completions", &openai_body("br/guardrail", PROMPT, false)).await;
    assert_eq!(status, 400, "{v}");
    let m = v["error"]["message"].as_str().unwrap();
    assert!(m.contains("guardrail") && m.contains("stopReason guardrail_intervened"), "{m}");
    let (status, v) = br.post("/v1/messages", &anthropic_body("br/guardrail", PROMPT, false)).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["type"], "error");
    assert_eq!(br.audit_records().await.last().unwrap()["outcome"], "blocked");
    // Streamed: an error event, then the stream closes; the guardrail's text is not shown.
    let (status, stream) = br.post_stream("/v1/chat/completions", &openai_body("br/guardrail", PROMPT, true)).await;
    assert_eq!(status, 200);
    assert!(sse_events(&stream).iter().any(|(_, d)| d.contains("\"error\"") && d.contains("guardrail_intervened")));
    let (_, stream) = br.post_stream("/v1/messages", &anthropic_body("br/guardrail", PROMPT, true)).await;
    assert!(sse_events(&stream).iter().any(|(e, _)| e.as_deref() == Some("error")), "{stream}");
    // An exception frame mid-stream: an error chunk naming it.
    let (_, stream) = br.post_stream("/v1/chat/completions", &openai_body("br/throttle", PROMPT, true)).await;
    assert!(stream.contains("throttlingException"), "{stream}");

    // A model that is not a model id is refused, never echoed.
    br.mock.clear();
    let (status, v) = br.post("/v1/chat/completions", &openai_body("br/jane doe@example.com", "hi", false)).await;
    assert_eq!(status, 400, "{v}");
    let m = v["error"]["message"].as_str().unwrap();
    assert!(
        m.contains("model: (a value that is not a model name)")
            && m.contains("Bedrock model id")
            && !m.contains("jane"),
        "{m}"
    );
    let (status, _) = br.post("/v1/chat/completions", &openai_body("br/../x", "hi", false)).await;
    assert_eq!(status, 400);
    assert!(br.mock.received().is_empty());
}

#[tokio::test]
async fn the_model_list_names_bedrock_providers_with_credentials() {
    let br = bedrock(credentials(SECRET_ACCESS_KEY, None)).await;
    let v: Value = br.client.get(br.url("/v1/models")).send().await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = v["data"].as_array().unwrap().iter().filter_map(|m| m["id"].as_str()).collect();
    assert!(ids.contains(&"br/*"), "{ids:?}");
}

#[tokio::test]
async fn titan_embeddings_take_one_signed_call_per_masked_input() {
    let br = bedrock(credentials(SECRET_ACCESS_KEY, None)).await;
    let req = json!({"model": "br/amazon.titan-embed-text-v2:0", "input": [PROMPT, "hello"], "dimensions": 4});
    let (status, v) = br.post("/v1/embeddings", &req).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "amazon.titan-embed-text-v2:0");
    let got = br.mock.received();
    assert_eq!(got.len(), 2, "one InvokeModel call per input");
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r.path, "/model/amazon.titan-embed-text-v2%3A0/invoke");
        assert!(r.header("authorization").unwrap().contains("/us-east-1/bedrock/aws4_request"));
        let text = r.body["inputText"].as_str().unwrap();
        assert_eq!(r.body["dimensions"], 4);
        for raw in VALUES {
            assert!(!text.contains(raw), "raw value {raw:?} reached Bedrock: {text}");
        }
        // The provider embeds the masked text; the vectors come back in input order.
        let want: Vec<f32> = veil_mock::mock_vector(text).into_iter().take(4).collect();
        let have: Vec<f32> =
            v["data"][i]["embedding"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
        assert_eq!(have, want);
        assert_eq!(v["data"][i]["index"], i);
    }
    assert!(got[0].body["inputText"].as_str().unwrap().contains("[EMAIL_1]"));
    assert_eq!(got[1].body["inputText"], "hello");
    let tokens = v["usage"]["prompt_tokens"].as_u64().unwrap();
    assert!(tokens > 0, "{v}");
    let recs = br.audit_records().await;
    assert_eq!(recs[0]["route"], "/v1/embeddings");
    assert_eq!(recs[0]["usage"]["input_tokens"].as_u64(), Some(tokens), "{}", recs[0]);

    // base64, as the openai SDK asks by default: little-endian f32.
    br.mock.clear();
    let (status, v) = br
        .post(
            "/v1/embeddings",
            &json!({"model": "br/amazon.titan-embed-text-v2:0", "input": "hello", "encoding_format": "base64"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(v["data"][0]["embedding"].as_str().unwrap()).unwrap();
    let want: Vec<u8> = veil_mock::mock_vector("hello").iter().flat_map(|f| f.to_le_bytes()).collect();
    assert_eq!(bytes, want);

    // Errors in OpenAI's shape; another family's embeddings model is refused before sending.
    br.mock.clear();
    let (status, v) =
        br.post("/v1/embeddings", &json!({"model": "br/amazon.titan-embed-text-v2:0+error=429", "input": "hi"})).await;
    assert_eq!(status, 429, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("ThrottlingException"), "{v}");
    br.mock.clear();
    let (status, v) = br.post("/v1/embeddings", &json!({"model": "br/cohere.embed-english-v3", "input": "hi"})).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("Titan text embeddings model"), "{v}");
    let (status, v) = br
        .post("/v1/embeddings", &json!({"model": "br/amazon.titan-embed-text-v2:0", "input": "hi", "bogus": 1}))
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(br.mock.received().is_empty());
}
