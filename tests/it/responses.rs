//! `POST /v1/responses` (OpenAI Responses API): a pass-through to `openai`-kind providers
//! (what the provider received: masked texts, every other field as sent; what the client
//! got: restored), plain and streaming, with tools; Azure's URL; and, translated through
//! Chat Completions, to `anthropic` and `gemini` kinds: what those providers received in
//! their own format (masked), the Responses objects and event sequences the client got
//! back (restored, split placeholders and UTF-8 across frames included), a function-call
//! round trip, refused settings (400, nothing sent), mid-stream failures and alias
//! fallback across kinds; the `bedrock` kind the same way (SigV4-signed Converse, binary
//! event-stream frames); a clear 400 for malformed input.

use crate::common::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use veil::audit::{AuditHandle, AuditWriterTask};
use veil::config::Config;
use veil::mask::ValueHasher;
use veil::AppState;
use veil_mock::bedrock::{ACCESS_KEY_ID, SECRET_ACCESS_KEY};
use veil_mock::MockProvider;

fn echoed() -> String {
    format!("You said: {PROMPT}")
}

/// The events of a Responses stream, as JSON, checking each `event:` names its `type`.
fn events(body: &str) -> Vec<Value> {
    sse_events(body)
        .into_iter()
        .map(|(name, data)| {
            let v: Value = serde_json::from_str(&data).unwrap();
            assert_eq!(name.as_deref(), v["type"].as_str(), "event name and type differ: {v}");
            v
        })
        .collect()
}

fn joined(evs: &[Value], ty: &str) -> String {
    evs.iter().filter(|v| v["type"] == ty).map(|v| v["delta"].as_str().unwrap()).collect()
}

fn assert_no_values(text: &str) {
    for v in VALUES {
        assert!(text.contains(v), "the client should get {v:?} back");
    }
}

#[tokio::test]
async fn plain_request_is_masked_and_the_answer_restored() {
    let gw = gateway("").await;
    let body = json!({
        "model": "mock/gpt-4.1",
        "instructions": "Answer jane.doe@example.com politely",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": PROMPT}]}],
        "metadata": {"ticket": "call +1 415 555 0132"},
        "user": "jane.doe@example.com",
        "store": true,
        "previous_response_id": "resp_0123456789abcdef",
        "brand_new_field": {"kept": 1}
    });
    let (status, v) = gw.post("/v1/responses", &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["object"], "response");
    assert_eq!(v["output"][0]["content"][0]["text"], echoed());
    let got = gw.assert_upstream_clean(1);
    let up = &got[0];
    assert_eq!(up.path, "/v1/responses");
    assert_eq!(up.body["model"], "gpt-4.1");
    assert_eq!(up.body["instructions"], "Answer [EMAIL_1] politely");
    let text = up.body["input"][0]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("[EMAIL_1]") && text.contains("[CREDIT_CARD_1]"), "{text}");
    assert_eq!(up.body["metadata"]["ticket"], "call [PHONE_1]");
    assert!(up.body["user"].as_str().unwrap().starts_with("veil-"), "identity field hashed: {}", up.body);
    assert_eq!(up.body["store"], true);
    assert_eq!(up.body["previous_response_id"], "resp_0123456789abcdef");
    assert_eq!(up.body["brand_new_field"], json!({"kept": 1}), "unknown fields survive");

    let recs = gw.audit_records().await;
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r["route"], "/v1/responses");
    assert_eq!(r["client_api"], "openai");
    assert_eq!(r["provider"], "mock");
    assert_eq!(r["outcome"], "ok");
    assert_eq!(r["stream"], false);
    assert!(r["entities"]["EMAIL"]["mask"].as_u64().unwrap() >= 1, "{r}");
    assert!(r["usage"]["output_tokens"].as_u64().unwrap() > 0, "{r}");
    let log = std::fs::read_to_string(&gw.audit_path).unwrap();
    for value in VALUES {
        assert!(!log.contains(value), "raw value {value:?} in the audit log");
    }
    let metrics = gw.client.get(gw.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("route=\"/v1/responses\""), "no /v1/responses metrics");
}

#[tokio::test]
async fn streamed_deltas_split_inside_placeholders_are_restored() {
    let gw = gateway("").await;
    // 3-char deltas and 7-byte frames: placeholders are cut across deltas and frames.
    let body = json!({"model": "mock/gpt-4.1+delta=3+bytes=7", "input": PROMPT, "stream": true});
    let (status, text) = gw.post_stream("/v1/responses", &body).await;
    assert_eq!(status, 200, "{text}");
    gw.assert_upstream_clean(1);
    let evs = events(&text);
    let types: Vec<&str> = evs.iter().map(|v| v["type"].as_str().unwrap()).collect();
    let mut seen: Vec<&str> = Vec::new();
    for t in &types {
        if seen.last() != Some(t) {
            seen.push(t);
        }
    }
    assert_eq!(
        seen,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed"
        ]
    );
    assert_eq!(joined(&evs, "response.output_text.delta"), echoed());
    let done = evs.iter().find(|v| v["type"] == "response.output_text.done").unwrap();
    assert_eq!(done["text"], echoed());
    let completed = evs.last().unwrap();
    assert_eq!(completed["response"]["output"][0]["content"][0]["text"], echoed());
    let seqs: Vec<u64> = evs.iter().map(|v| v["sequence_number"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>(), "sequence numbers run on");
    assert!(!text.contains("[EMAIL_1]"), "a placeholder reached the client: {text}");

    let recs = gw.audit_records().await;
    assert_eq!(recs[0]["route"], "/v1/responses");
    assert_eq!(recs[0]["stream"], true);
    assert_eq!(recs[0]["outcome"], "ok");
    assert!(recs[0]["usage"]["input_tokens"].as_u64().unwrap() > 0, "{}", recs[0]);
}

#[tokio::test]
async fn tools_and_function_calls_are_masked_and_restored() {
    let gw = gateway("").await;
    let input = json!([
        {"role": "user", "content": "Find the card holder"},
        {"type": "function_call", "call_id": "call_1", "name": "lookup",
         "arguments": "{\"email\":\"jane.doe@example.com\"}"},
        {"type": "function_call_output", "call_id": "call_1", "output": PROMPT}
    ]);
    let tools = json!([{"type": "function", "name": "lookup", "description": "Looks up +1 415 555 0132",
        "parameters": {"type": "object", "properties": {"query": {"type": "string",
            "description": "e.g. jane.doe@example.com"}}, "required": ["query"]}}]);
    for stream in [false, true] {
        gw.mock.clear();
        let body = json!({"model": "mock/tool+delta=5", "input": input, "tools": tools, "stream": stream});
        let (args, text) = if stream {
            let (status, text) = gw.post_stream("/v1/responses", &body).await;
            assert_eq!(status, 200, "{text}");
            let evs = events(&text);
            let args = joined(&evs, "response.function_call_arguments.delta");
            let done = evs.iter().find(|v| v["type"] == "response.function_call_arguments.done").unwrap();
            assert_eq!(done["arguments"].as_str().unwrap(), args);
            let item = evs.iter().rfind(|v| v["type"] == "response.output_item.done").unwrap();
            assert_eq!(item["item"]["arguments"].as_str().unwrap(), args);
            (args, joined(&evs, "response.output_text.delta"))
        } else {
            let (status, v) = gw.post("/v1/responses", &body).await;
            assert_eq!(status, 200, "{v}");
            let call = &v["output"][1];
            assert_eq!(call["type"], "function_call");
            assert_eq!(call["name"], "lookup");
            (
                call["arguments"].as_str().unwrap().to_owned(),
                v["output"][0]["content"][0]["text"].as_str().unwrap().to_owned(),
            )
        };
        assert_eq!(text, "Let me look that up.");
        let parsed: Value = serde_json::from_str(&args).unwrap();
        assert_eq!(parsed["query"], PROMPT, "stream={stream}");
        assert_eq!(parsed["note"], format!("see {PROMPT}"));
        assert_no_values(&args);

        let got = gw.assert_upstream_clean(1);
        let up = &got[0].body;
        assert_eq!(up["tools"][0]["name"], "lookup");
        assert_eq!(up["tools"][0]["description"], "Looks up [PHONE_1]");
        assert_eq!(up["tools"][0]["parameters"]["properties"]["query"]["description"], "e.g. [EMAIL_1]");
        assert_eq!(up["tools"][0]["parameters"]["required"], json!(["query"]));
        assert_eq!(up["input"][1]["name"], "lookup");
        assert_eq!(up["input"][1]["call_id"], "call_1");
        let sent: Value = serde_json::from_str(up["input"][1]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(sent["email"], "[EMAIL_1]");
        assert!(up["input"][2]["output"].as_str().unwrap().contains("[CREDIT_CARD_1]"));
    }
}

#[tokio::test]
async fn malformed_input_is_refused() {
    let gw = gateway("").await;
    let cases = [
        (json!({"model": "mock/m", "input": 42}), "input: expected a string or an array"),
        (json!({"model": "mock/m", "input": ["jane.doe@example.com"]}), "input[0]: expected an object"),
        (json!({"model": "mock/m", "input": [{"content": "jane.doe@example.com"}]}), "input[0].type: missing"),
    ];
    for (body, path) in cases {
        let (status, v) = gw.post("/v1/responses", &body).await;
        assert_eq!(status, 400, "{v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(path), "{msg}");
        assert!(!msg.contains("jane"), "the value leaked into the error: {msg}");
    }
    assert!(gw.mock.received().is_empty(), "nothing is sent for refused requests");
}

#[tokio::test]
async fn azure_providers_get_the_responses_url() {
    let azure = MockProvider::start().await;
    let gw = gateway(&format!(
        "[providers.az]\nkind = \"azure\"\nbase_url = \"{}\"\napi_version = \"2025-03-01-preview\"\napi_key_env = \"OPENAI_API_KEY\"\n",
        azure.azure_base_url()
    ))
    .await;
    let (status, v) = gw.post("/v1/responses", &json!({"model": "az/my-deployment", "input": PROMPT})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["output"][0]["content"][0]["text"], echoed());
    let got = azure.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/openai/responses");
    assert_eq!(got[0].query.as_deref(), Some("api-version=2025-03-01-preview"));
    assert_eq!(got[0].header("api-key"), Some("sk-upstream-test"));
    assert_eq!(got[0].body["model"], "my-deployment");
}

// ---------------------------------------------------------------------------------------
// Translated through Chat Completions: anthropic and gemini kinds
// ---------------------------------------------------------------------------------------

/// A gateway whose `gm` provider (kind gemini) points at `gemini`, beside `mock` and `mocka`.
async fn with_gemini(gemini: &MockProvider, extra: &str) -> Gateway {
    gateway(&format!(
        "[providers.gm]\nkind = \"gemini\"\nbase_url = \"{}\"\napi_key_env = \"OPENAI_API_KEY\"\n{extra}",
        gemini.gemini_base_url()
    ))
    .await
}

/// Which translated kind a case runs against: its provider name and what it received.
#[derive(Clone, Copy)]
enum Kind {
    Anthropic,
    Gemini,
}

impl Kind {
    fn provider(self) -> &'static str {
        match self {
            Kind::Anthropic => "mocka",
            Kind::Gemini => "gm",
        }
    }

    /// The requests this kind's mock received (each checked to hold no raw value and to
    /// be in the kind's own format, on its own URL).
    fn received(self, gw: &Gateway, gemini: &MockProvider, stream: bool) -> Vec<veil_mock::Received> {
        let got = match self {
            Kind::Anthropic => gw.mock.received(),
            Kind::Gemini => gemini.received(),
        };
        for r in &got {
            let raw = r.body.to_string();
            for v in VALUES {
                assert!(!raw.contains(v), "raw value {v:?} reached the provider: {raw}");
            }
            assert!(r.body.get("input").is_none() && r.body.get("instructions").is_none(), "translated: {raw}");
            match self {
                Kind::Anthropic => {
                    assert_eq!(r.path, "/v1/messages");
                    assert!(r.body["messages"].is_array() && r.body["max_tokens"].is_u64(), "{raw}");
                    assert_eq!(r.body["stream"].as_bool().unwrap_or(false), stream);
                }
                Kind::Gemini => {
                    let method = if stream { ":streamGenerateContent" } else { ":generateContent" };
                    assert!(r.path.starts_with("/v1beta/models/") && r.path.ends_with(method), "{}", r.path);
                    assert!(r.body["contents"].is_array() && r.body.get("messages").is_none(), "{raw}");
                    assert_eq!(r.header("x-goog-api-key"), Some("sk-upstream-test"));
                }
            }
        }
        got
    }

    /// The system prompt and the last user text, as this kind received them.
    fn system_and_text(self, body: &Value) -> (String, String) {
        match self {
            Kind::Anthropic => {
                let last = body["messages"].as_array().unwrap().last().unwrap();
                let text = match &last["content"] {
                    Value::String(s) => s.clone(),
                    c => c.as_array().unwrap().iter().filter_map(|b| b["text"].as_str()).collect(),
                };
                (body["system"].as_str().unwrap_or_default().to_owned(), text)
            }
            Kind::Gemini => {
                let last = body["contents"].as_array().unwrap().last().unwrap();
                let text = last["parts"].as_array().unwrap().iter().filter_map(|p| p["text"].as_str()).collect();
                let system = body["systemInstruction"]["parts"][0]["text"].as_str().unwrap_or_default().to_owned();
                (system, text)
            }
        }
    }
}

const KINDS: [Kind; 2] = [Kind::Anthropic, Kind::Gemini];

/// The event types in order, repeats collapsed.
fn event_runs(evs: &[Value]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for v in evs {
        let t = v["type"].as_str().unwrap().to_owned();
        if seen.last() != Some(&t) {
            seen.push(t);
        }
    }
    seen
}

#[tokio::test]
async fn plain_requests_reach_anthropic_and_gemini_kinds_through_chat_completions() {
    let gemini = MockProvider::start().await;
    let gw = with_gemini(&gemini, "").await;
    for kind in KINDS {
        gw.mock.clear();
        gemini.clear();
        let body = json!({
            "model": format!("{}/echo", kind.provider()),
            "instructions": "Answer jane.doe@example.com politely",
            "input": [{"role": "user", "content": [{"type": "input_text", "text": PROMPT}]}],
            "temperature": 0.5,
            "max_output_tokens": 300,
            "user": "jane.doe@example.com",
            "store": true,
            "metadata": {"ticket": "call +1 415 555 0132"}
        });
        let (status, v) = gw.post("/v1/responses", &body).await;
        assert_eq!(status, 200, "{v}");
        assert!(v["id"].as_str().unwrap().starts_with("resp_"), "{v}");
        assert_eq!(v["object"], "response");
        assert_eq!(v["status"], "completed");
        assert_eq!(v["model"], "echo");
        assert_eq!(v["output"][0]["type"], "message");
        assert_eq!(v["output"][0]["role"], "assistant");
        assert_eq!(v["output"][0]["content"][0]["type"], "output_text");
        assert_eq!(v["output"][0]["content"][0]["text"], echoed());
        let usage = &v["usage"];
        assert!(usage["input_tokens"].as_u64().unwrap() > 0 && usage["output_tokens"].as_u64().unwrap() > 0);
        assert_eq!(
            usage["total_tokens"].as_u64().unwrap(),
            usage["input_tokens"].as_u64().unwrap() + usage["output_tokens"].as_u64().unwrap()
        );
        // The settings echoed are the client's own.
        assert_eq!(v["instructions"], "Answer jane.doe@example.com politely");
        assert_eq!(v["temperature"], 0.5);
        assert_eq!(v["store"], false, "nothing is stored on a translated target");

        let got = kind.received(&gw, &gemini, false);
        assert_eq!(got.len(), 1);
        let up = &got[0].body;
        let (system, text) = kind.system_and_text(up);
        assert_eq!(system, "Answer [EMAIL_1] politely");
        assert!(text.contains("[EMAIL_1]") && text.contains("[CREDIT_CARD_1]") && text.contains("日本語"), "{text}");
        match kind {
            Kind::Anthropic => {
                assert_eq!(up["max_tokens"], 300);
                assert_eq!(up["temperature"], 0.5);
                assert!(up["metadata"]["user_id"].as_str().unwrap().starts_with("veil-"), "{up}");
            }
            Kind::Gemini => {
                assert_eq!(up["generationConfig"]["maxOutputTokens"], 300);
                assert_eq!(up["generationConfig"]["temperature"], 0.5);
            }
        }
        assert!(!up.to_string().contains("ticket"), "metadata is dropped: {up}");

        let recs = gw.audit_records().await;
        let r = recs.last().unwrap();
        assert_eq!(r["route"], "/v1/responses");
        assert_eq!(r["client_api"], "openai");
        assert_eq!(r["provider"], kind.provider());
        assert_eq!(r["outcome"], "ok");
        assert_eq!(r["stream"], false);
        assert!(r["entities"]["EMAIL"]["mask"].as_u64().unwrap() >= 1, "{r}");
        assert!(r["usage"]["output_tokens"].as_u64().unwrap() > 0, "{r}");
    }
    let log = std::fs::read_to_string(&gw.audit_path).unwrap();
    for value in VALUES {
        assert!(!log.contains(value), "raw value {value:?} in the audit log");
    }
    let metrics = gw.client.get(gw.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("route=\"/v1/responses\""), "no /v1/responses metrics");
}

#[tokio::test]
async fn translated_streams_are_the_responses_event_sequence_restored_across_frames() {
    let gemini = MockProvider::start().await;
    let gw = with_gemini(&gemini, "").await;
    // 1- and 3-char deltas, 3- and 7-byte frames: placeholders cut across deltas and frames,
    // UTF-8 characters across frames.
    for (kind, opts) in [
        (Kind::Anthropic, "delta=3+bytes=7"),
        (Kind::Anthropic, "delta=1+bytes=3"),
        (Kind::Gemini, "delta=1+bytes=3"),
        (Kind::Gemini, "delta=5+bytes=2"),
    ] {
        gw.mock.clear();
        gemini.clear();
        let body = json!({"model": format!("{}/echo+{opts}", kind.provider()), "input": PROMPT, "stream": true});
        let (status, text) = gw.post_stream("/v1/responses", &body).await;
        assert_eq!(status, 200, "{text}");
        assert_eq!(kind.received(&gw, &gemini, true).len(), 1);
        let evs = events(&text);
        assert_eq!(
            event_runs(&evs),
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.completed"
            ],
            "{opts}"
        );
        assert_eq!(joined(&evs, "response.output_text.delta"), echoed(), "{opts}");
        let done = evs.iter().find(|v| v["type"] == "response.output_text.done").unwrap();
        assert_eq!(done["text"], echoed());
        let part = evs.iter().find(|v| v["type"] == "response.content_part.done").unwrap();
        assert_eq!(part["part"]["text"], echoed());
        let item = evs.iter().find(|v| v["type"] == "response.output_item.done").unwrap();
        assert_eq!(item["item"]["content"][0]["text"], echoed());
        let created = &evs[0]["response"];
        assert_eq!(created["status"], "in_progress");
        let completed = &evs.last().unwrap()["response"];
        assert_eq!(completed["status"], "completed");
        assert_eq!(completed["id"], created["id"]);
        assert_eq!(completed["output"][0]["content"][0]["text"], echoed());
        assert!(completed["usage"]["output_tokens"].as_u64().unwrap() > 0, "{completed}");
        let seqs: Vec<u64> = evs.iter().map(|v| v["sequence_number"].as_u64().unwrap()).collect();
        assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>(), "sequence numbers run on");
        assert!(!text.contains("[EMAIL_") && !text.contains("[CREDIT_CARD_"), "a placeholder reached the client");
        assert!(!text.contains("[DONE]") && !text.contains("chat.completion"), "no chat chunk leaks through");

        let recs = gw.audit_records().await;
        let r = recs.last().unwrap();
        assert_eq!(r["route"], "/v1/responses");
        assert_eq!(r["provider"], kind.provider());
        assert_eq!(r["stream"], true);
        assert_eq!(r["outcome"], "ok");
        assert!(r["usage"]["output_tokens"].as_u64().unwrap() > 0, "{r}");
    }
}

#[tokio::test]
async fn a_function_call_round_trip_through_anthropic_and_gemini() {
    let gemini = MockProvider::start().await;
    let gw = with_gemini(&gemini, "").await;
    let tools = json!([{"type": "function", "name": "lookup", "description": "Looks up +1 415 555 0132",
        "parameters": {"type": "object", "properties": {"query": {"type": "string",
            "description": "e.g. jane.doe@example.com"}}, "required": ["query"]}}]);
    for kind in KINDS {
        for stream in [false, true] {
            gw.mock.clear();
            gemini.clear();
            // Turn 1: the model calls the tool; its arguments come back restored.
            let body = json!({"model": format!("{}/tool+delta=2+bytes=5", kind.provider()), "input": PROMPT,
                              "tools": tools, "tool_choice": "required", "stream": stream});
            let (call, text) = if stream {
                let (status, text) = gw.post_stream("/v1/responses", &body).await;
                assert_eq!(status, 200, "{text}");
                let evs = events(&text);
                let runs = event_runs(&evs);
                assert!(
                    runs.ends_with(&[
                        "response.output_item.added".to_owned(),
                        "response.function_call_arguments.delta".to_owned(),
                        "response.function_call_arguments.done".to_owned(),
                        "response.output_item.done".to_owned(),
                        "response.completed".to_owned()
                    ]),
                    "{runs:?}"
                );
                let args = joined(&evs, "response.function_call_arguments.delta");
                let done = evs.iter().find(|v| v["type"] == "response.function_call_arguments.done").unwrap();
                assert_eq!(done["arguments"].as_str().unwrap(), args);
                let item = evs.iter().rfind(|v| v["type"] == "response.output_item.done").unwrap();
                assert_eq!(item["item"]["arguments"].as_str().unwrap(), args);
                let completed = &evs.last().unwrap()["response"];
                assert_eq!(completed["output"][1]["arguments"].as_str().unwrap(), args);
                assert!(!text.contains("[EMAIL_"), "a placeholder reached the client");
                (item["item"].clone(), joined(&evs, "response.output_text.delta"))
            } else {
                let (status, v) = gw.post("/v1/responses", &body).await;
                assert_eq!(status, 200, "{v}");
                (v["output"][1].clone(), v["output"][0]["content"][0]["text"].as_str().unwrap().to_owned())
            };
            assert_eq!(text, "Let me look that up.");
            assert_eq!(call["type"], "function_call");
            assert_eq!(call["name"], "lookup");
            assert_eq!(call["status"], "completed");
            let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
            assert_eq!(args["query"], PROMPT, "{kind:?} stream={stream}", kind = kind.provider());
            assert_eq!(args["note"], format!("see {PROMPT}"));
            let got = kind.received(&gw, &gemini, stream);
            assert_eq!(got.len(), 1);
            let up = &got[0].body;
            match kind {
                Kind::Anthropic => {
                    assert_eq!(up["tools"][0]["name"], "lookup");
                    assert_eq!(up["tools"][0]["description"], "Looks up [PHONE_1]");
                    assert_eq!(up["tools"][0]["input_schema"]["properties"]["query"]["description"], "e.g. [EMAIL_1]");
                    assert_eq!(up["tool_choice"]["type"], "any");
                }
                Kind::Gemini => {
                    let decl = &up["tools"][0]["functionDeclarations"][0];
                    assert_eq!(decl["name"], "lookup");
                    assert_eq!(decl["description"], "Looks up [PHONE_1]");
                    assert_eq!(up["toolConfig"]["functionCallingConfig"]["mode"], "ANY");
                }
            }

            // Turn 2: the call and its output go back; the answer echoes the output.
            gw.mock.clear();
            gemini.clear();
            let call_id = call["call_id"].as_str().unwrap().to_owned();
            let body = json!({"model": format!("{}/echo", kind.provider()), "tools": tools, "stream": stream,
                "input": [{"role": "user", "content": PROMPT}, call,
                          {"type": "function_call_output", "call_id": call_id,
                           "output": "Jane lives at jane.doe@example.com"}]});
            let answer = if stream {
                let (status, text) = gw.post_stream("/v1/responses", &body).await;
                assert_eq!(status, 200, "{text}");
                joined(&events(&text), "response.output_text.delta")
            } else {
                let (status, v) = gw.post("/v1/responses", &body).await;
                assert_eq!(status, 200, "{v}");
                v["output"][0]["content"][0]["text"].as_str().unwrap().to_owned()
            };
            assert_eq!(answer, "You said: Jane lives at jane.doe@example.com");
            let got = kind.received(&gw, &gemini, stream);
            assert_eq!(got.len(), 1);
            let up = &got[0].body;
            match kind {
                Kind::Anthropic => {
                    let msgs = up["messages"].as_array().unwrap();
                    let tool_use = msgs[1]["content"].as_array().unwrap().iter().find(|b| b["type"] == "tool_use");
                    let tool_use = tool_use.unwrap();
                    assert_eq!(tool_use["name"], "lookup");
                    assert!(tool_use["input"]["query"].as_str().unwrap().contains("[EMAIL_1]"), "{tool_use}");
                    let result = &msgs[2]["content"][0];
                    assert_eq!(result["type"], "tool_result");
                    assert_eq!(result["tool_use_id"], tool_use["id"]);
                    assert_eq!(result["content"], "Jane lives at [EMAIL_1]");
                }
                Kind::Gemini => {
                    let contents = up["contents"].as_array().unwrap();
                    let part = &contents[1]["parts"][0];
                    assert_eq!(part["functionCall"]["name"], "lookup");
                    assert!(part["functionCall"]["args"]["query"].as_str().unwrap().contains("[EMAIL_1]"));
                    // Gemini's thought signature rode on the function_call item and came back.
                    assert_eq!(part["thoughtSignature"], veil_mock::GEMINI_SIGNATURE);
                    let response = &contents[2]["parts"][0]["functionResponse"];
                    assert_eq!(response["name"], "lookup");
                    assert_eq!(response["response"]["content"], "Jane lives at [EMAIL_1]");
                }
            }
        }
    }
}

#[tokio::test]
async fn settings_a_translated_target_cannot_take_are_refused_and_nothing_is_sent() {
    let gemini = MockProvider::start().await;
    let gw = with_gemini(&gemini, "").await;
    let cases = [
        ("mocka", json!({"previous_response_id": "resp_0123456789abcdef"}), "previous_response_id"),
        ("gm", json!({"conversation": "conv_0123456789"}), "conversation"),
        ("mocka", json!({"tools": [{"type": "web_search"}]}), "tools[0]: web_search is a built-in tool"),
        ("gm", json!({"reasoning": {"effort": "high"}}), "reasoning"),
        ("mocka", json!({"background": true}), "background"),
        ("gm", json!({"input": [{"type": "item_reference", "id": "msg_0123456789"}]}), "input[0]"),
        (
            "mocka",
            json!({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file_0123456789"}]}]}),
            "input[0].content[0].file_id",
        ),
    ];
    for (provider, extra, field) in cases {
        let mut body = json!({"model": format!("{provider}/echo"), "input": "write to jane.doe@example.com"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        for stream in [false, true] {
            body["stream"] = json!(stream);
            let (status, v) = gw.post("/v1/responses", &body).await;
            assert_eq!(status, 400, "{field}: {v}");
            let msg = v["error"]["message"].as_str().unwrap();
            assert!(msg.contains(field) && msg.contains("no equivalent"), "{msg}");
            assert!(msg.contains("does not speak the Responses API"), "{msg}");
            assert!(!msg.contains("jane"), "a value leaked into the error: {msg}");
            assert_eq!(v["error"]["code"], "unsupported", "{v}");
            assert!(v["error"]["type"].is_string(), "{v}");
        }
    }
    // JSON output has no Messages equivalent: the chat path's translation refuses it.
    let body = json!({"model": "mocka/echo", "input": "hi",
                      "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}}}});
    let (status, v) = gw.post("/v1/responses", &body).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("response_format"), "{v}");
    // A function call without its call_id is malformed.
    let body = json!({"model": "gm/echo", "input": [{"type": "function_call", "name": "lookup", "arguments": "{}"}]});
    let (status, v) = gw.post("/v1/responses", &body).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("input[0].call_id"), "{v}");
    assert!(gw.mock.received().is_empty() && gemini.received().is_empty(), "nothing is sent for refused requests");
    let recs = gw.audit_records().await;
    assert!(recs.iter().all(|r| r["outcome"] == "refused" && r["route"] == "/v1/responses"), "{recs:?}");
    // The same settings pass through to an OpenAI-kind provider, as written.
    let body = json!({"model": "mock/echo", "input": "hi", "previous_response_id": "resp_0123456789abcdef",
                      "tools": [{"type": "web_search"}]});
    let (status, v) = gw.post("/v1/responses", &body).await;
    assert_eq!(status, 200, "{v}");
    let got = gw.mock.received();
    assert_eq!(got[0].path, "/v1/responses");
    assert_eq!(got[0].body["previous_response_id"], "resp_0123456789abcdef");
    assert_eq!(got[0].body["tools"][0]["type"], "web_search");
}

#[tokio::test]
async fn translated_stream_failures_end_with_an_error_event() {
    let gemini = MockProvider::start().await;
    let gw = with_gemini(&gemini, "").await;
    // The upstream connection breaks after 3 deltas.
    let body = json!({"model": "mocka/echo+midstream=3+delta=4", "input": PROMPT, "stream": true});
    let (status, text) = gw.post_stream("/v1/responses", &body).await;
    assert_eq!(status, 200);
    let evs = events(&text);
    assert_eq!(evs[0]["type"], "response.created");
    let last = evs.last().unwrap();
    assert_eq!(last["type"], "error", "{text}");
    assert!(last["message"].is_string() && last["code"].is_string(), "{last}");
    assert!(!evs.iter().any(|v| v["type"] == "response.completed"));
    let seqs: Vec<u64> = evs.iter().map(|v| v["sequence_number"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
    let recs = gw.audit_records().await;
    assert_eq!(recs.last().unwrap()["outcome"], "upstream_error");

    // Gemini's safety filter mid-stream: an error event and response.failed.
    let body = json!({"model": "gm/blocked", "input": PROMPT, "stream": true});
    let (status, text) = gw.post_stream("/v1/responses", &body).await;
    assert_eq!(status, 200);
    let evs = events(&text);
    let types: Vec<&str> = evs.iter().map(|v| v["type"].as_str().unwrap()).collect();
    assert_eq!(&types[types.len() - 2..], ["error", "response.failed"], "{types:?}");
    assert!(evs[evs.len() - 2]["message"].as_str().unwrap().contains("blockReason SAFETY"));
    assert_eq!(evs.last().unwrap()["response"]["status"], "failed");
    // Plain: the block is a 400 in the OpenAI error shape.
    let (status, v) = gw.post("/v1/responses", &json!({"model": "gm/blocked", "input": PROMPT})).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("blockReason SAFETY"), "{v}");
    // An upstream error status reaches the caller as for chat (401 is Veil's key: 502).
    for (model, want) in [("mocka/error=401", 502), ("gm/error=500", 502), ("mocka/error=400", 400)] {
        let (status, v) = gw.post("/v1/responses", &json!({"model": model, "input": "hi"})).await;
        assert_eq!(status, want, "{model}: {v}");
        assert!(v["error"]["message"].is_string(), "{v}");
    }
}

#[tokio::test]
async fn aliases_fall_back_across_provider_kinds() {
    let gemini = MockProvider::start().await;
    let gw = with_gemini(
        &gemini,
        "[models.any]\ntargets = [\"mock/error=503\", \"mocka/error=500\", \"gm/echo\"]\n\
         [models.back]\ntargets = [\"gm/error=429\", \"mock/echo\"]\n",
    )
    .await;
    for stream in [false, true] {
        gw.mock.clear();
        gemini.clear();
        let body = json!({"model": "any", "input": PROMPT, "stream": stream});
        let text = if stream {
            let (status, text) = gw.post_stream("/v1/responses", &body).await;
            assert_eq!(status, 200, "{text}");
            joined(&events(&text), "response.output_text.delta")
        } else {
            let (status, v) = gw.post("/v1/responses", &body).await;
            assert_eq!(status, 200, "{v}");
            v["output"][0]["content"][0]["text"].as_str().unwrap().to_owned()
        };
        assert_eq!(text, echoed(), "stream={stream}");
        let got = gw.assert_upstream_clean(2);
        assert_eq!(got[0].path, "/v1/responses", "the OpenAI target got the Responses body");
        assert_eq!(got[1].path, "/v1/messages", "the Anthropic target got Messages");
        assert_eq!(Kind::Gemini.received(&gw, &gemini, stream).len(), 1);
        let recs = gw.audit_records().await;
        assert_eq!(recs.last().unwrap()["provider"], "gm");
        assert_eq!(recs.last().unwrap()["outcome"], "ok");
    }
    // And from a translated target back to a pass-through one.
    gw.mock.clear();
    gemini.clear();
    let (status, v) = gw.post("/v1/responses", &json!({"model": "back", "input": PROMPT})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["output"][0]["content"][0]["text"], echoed());
    assert_eq!(gemini.received().len(), 1);
    assert_eq!(gw.assert_upstream_clean(1)[0].path, "/v1/responses");
}

// ---------------------------------------------------------------------------------------
// The bedrock kind (its own set-up: the AWS credentials the shared one does not pass)
// ---------------------------------------------------------------------------------------

/// A gateway whose provider `br` (kind bedrock) points at a Bedrock mock, which refuses a
/// request whose SigV4 signature does not verify.
struct WithBedrock {
    addr: std::net::SocketAddr,
    mock: MockProvider,
    state: AppState,
    audit_path: std::path::PathBuf,
    client: reqwest::Client,
    _writer: AuditWriterTask,
    _dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for WithBedrock {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl WithBedrock {
    async fn start() -> WithBedrock {
        let mock = MockProvider::start().await;
        let dir = tempfile::tempdir().unwrap();
        let audit_path = dir.path().join("audit.jsonl");
        let toml = format!(
            "[providers.br]\nkind = \"bedrock\"\nregion = \"us-east-1\"\nbase_url = \"http://{}\"\n\
             [detect]\nmodel = \"none\"\n[audit]\npath = \"{}\"\n",
            mock.addr,
            audit_path.display()
        );
        let env = HashMap::from([
            ("AWS_ACCESS_KEY_ID".to_owned(), ACCESS_KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), SECRET_ACCESS_KEY.to_owned()),
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
        WithBedrock {
            addr,
            mock,
            state,
            audit_path,
            client: reqwest::Client::new(),
            _writer: writer,
            _dir: dir,
            server,
        }
    }

    async fn post(&self, body: &Value) -> (u16, String) {
        let url = format!("http://{}/v1/responses", self.addr);
        let r = self.client.post(url).json(body).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// The one request the mock got since the last call: Converse's format on its URL,
    /// signed, holding no raw value.
    fn received(&self, stream: bool) -> Value {
        let got = self.mock.received();
        self.mock.clear();
        assert_eq!(got.len(), 1, "requests the Bedrock mock received");
        let r = &got[0];
        let method = if stream { "/converse-stream" } else { "/converse" };
        assert!(r.path.starts_with("/model/") && r.path.ends_with(method), "{}", r.path);
        assert!(r.header("authorization").unwrap().starts_with("AWS4-HMAC-SHA256 Credential="));
        assert!(r.body["messages"].is_array() && r.body.get("input").is_none(), "Converse: {}", r.body);
        let raw = r.body.to_string();
        for v in VALUES {
            assert!(!raw.contains(v), "raw value {v:?} reached Bedrock: {raw}");
        }
        r.body.clone()
    }
}

#[tokio::test]
async fn responses_reach_bedrock_plain_streamed_and_with_a_function_call() {
    let br = WithBedrock::start().await;
    let body = json!({"model": "br/echo", "instructions": "Answer jane.doe@example.com", "input": PROMPT,
                      "max_output_tokens": 200});
    let (status, text) = br.post(&body).await;
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["object"], "response");
    assert_eq!(v["output"][0]["content"][0]["text"], echoed());
    assert!(v["usage"]["output_tokens"].as_u64().unwrap() > 0, "{v}");
    let sent = br.received(false);
    assert_eq!(sent["system"], json!([{"text": "Answer [EMAIL_1]"}]));
    assert_eq!(sent["inferenceConfig"]["maxTokens"], 200);

    // Binary event-stream frames cut into 7-byte chunks, 1-char deltas.
    let (status, text) = br.post(&json!({"model": "br/echo+delta=1+bytes=7", "input": PROMPT, "stream": true})).await;
    assert_eq!(status, 200, "{text}");
    let evs = events(&text);
    assert_eq!(evs[0]["type"], "response.created");
    assert_eq!(joined(&evs, "response.output_text.delta"), echoed());
    let done = evs.iter().find(|v| v["type"] == "response.output_text.done").unwrap();
    assert_eq!(done["text"], echoed());
    let completed = evs.last().unwrap();
    assert_eq!(completed["type"], "response.completed");
    assert_eq!(completed["response"]["output"][0]["content"][0]["text"], echoed());
    assert!(completed["response"]["usage"]["output_tokens"].as_u64().unwrap() > 0, "{completed}");
    assert!(!text.contains("[EMAIL_"), "a placeholder reached the client");
    br.received(true);

    // A function call, and its output sent back.
    let tools = json!([{"type": "function", "name": "lookup", "parameters": {"type": "object",
        "properties": {"query": {"type": "string"}}}}]);
    let (status, text) = br.post(&json!({"model": "br/tool", "input": PROMPT, "tools": tools})).await;
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let call = v["output"].as_array().unwrap().iter().find(|o| o["type"] == "function_call").unwrap().clone();
    let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args["query"], PROMPT);
    let sent = br.received(false);
    assert_eq!(sent["toolConfig"]["tools"][0]["toolSpec"]["name"], "lookup");
    let call_id = call["call_id"].as_str().unwrap().to_owned();
    let turn2 = json!({"model": "br/echo", "tools": tools, "input": [{"role": "user", "content": PROMPT}, call,
        {"type": "function_call_output", "call_id": call_id, "output": "Jane is jane.doe@example.com"}]});
    let (status, text) = br.post(&turn2).await;
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["output"][0]["content"][0]["text"], "You said: Jane is jane.doe@example.com");
    let sent = br.received(false);
    assert!(sent.to_string().contains("toolResult") && sent.to_string().contains("[EMAIL_1]"), "{sent}");

    br.state.audit.flush().await;
    let log = std::fs::read_to_string(&br.audit_path).unwrap();
    let recs: Vec<Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(recs.len(), 4);
    assert!(recs.iter().all(|r| r["route"] == "/v1/responses" && r["provider"] == "br" && r["outcome"] == "ok"));
    for value in VALUES {
        assert!(!log.contains(value), "raw value {value:?} in the audit log");
    }
}
