//! The `gemini` provider kind against the mock's Gemini mode (which refuses a request
//! without the key in `x-goog-api-key`, with an `Authorization` header, or a stream without
//! `alt=sse`): what Google received (masked text only, its URL shape, its header, contents
//! and parts, function declarations and responses) and what the client got back (restored),
//! plain, streamed and with tool calls, for Chat Completions and Messages clients.

use crate::common::*;
use serde_json::{json, Value};
use veil_mock::MockProvider;

/// A gateway whose provider `gm` (kind gemini) points at `gemini`, keyed by OPENAI_API_KEY
/// (the only variable the shared set-up passes).
async fn with_gemini(gemini: &MockProvider) -> Gateway {
    gateway(&format!(
        "[providers.gm]\nkind = \"gemini\"\nbase_url = \"{}\"\napi_key_env = \"OPENAI_API_KEY\"\n",
        gemini.gemini_base_url()
    ))
    .await
}

/// Every request `gemini` got went to Gemini's URL for `model` (streamed or not) with the
/// key in `x-goog-api-key`, in Gemini's format, and held no raw value.
fn assert_gemini_requests(gemini: &MockProvider, model: &str, stream: bool, n: usize) -> Vec<veil_mock::Received> {
    let got = gemini.received();
    assert_eq!(got.len(), n, "requests the Gemini mock received");
    for r in &got {
        if stream {
            assert_eq!(r.path, format!("/v1beta/models/{model}:streamGenerateContent"));
            assert_eq!(r.query.as_deref(), Some("alt=sse"));
        } else {
            assert_eq!(r.path, format!("/v1beta/models/{model}:generateContent"));
            assert_eq!(r.query, None);
        }
        assert_eq!(r.header("x-goog-api-key"), Some("sk-upstream-test"));
        assert_eq!(r.header("authorization"), None, "the key goes in x-goog-api-key only");
        assert!(r.body.get("messages").is_none() && r.body.get("model").is_none(), "Gemini's format: {}", r.body);
        let raw = r.body.to_string();
        for v in VALUES {
            assert!(!raw.contains(v), "raw value {v:?} reached Gemini: {raw}");
        }
        assert!(raw.contains("[EMAIL_1]"), "{raw}");
    }
    got
}

#[tokio::test]
async fn chat_completions_reach_gemini_masked_and_come_back_restored() {
    let gemini = MockProvider::start().await;
    let gw = with_gemini(&gemini).await;
    let mut body = openai_body("gm/echo", PROMPT, false);
    body["temperature"] = json!(0.3);
    body["max_tokens"] = json!(100);
    body["stop"] = json!(["END"]);
    let (status, v) = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["content"], format!("You said: {PROMPT}"));
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["model"], "echo", "the upstream's modelVersion");
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    assert!(v["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    let got = assert_gemini_requests(&gemini, "echo", false, 1);
    let sent = &got[0].body;
    assert_eq!(sent["systemInstruction"], json!({"parts": [{"text": "You are helpful."}]}));
    assert_eq!(sent["contents"][0]["role"], "user");
    let text = sent["contents"][0]["parts"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("Grüße! Write to [EMAIL_1]"), "{text}");
    assert_eq!(sent["generationConfig"], json!({"temperature": 0.3, "maxOutputTokens": 100, "stopSequences": ["END"]}));

    // The audit record names the provider and the usage Gemini reported.
    let recs = gw.audit_records().await;
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["provider"], "gm");
    assert_eq!(recs[0]["outcome"], "ok");
    assert!(recs[0]["usage"]["output_tokens"].as_u64().unwrap() > 0, "{}", recs[0]);
}

#[tokio::test]
async fn gemini_streams_are_restored_across_split_placeholders() {
    let gemini = MockProvider::start().await;
    let gw = with_gemini(&gemini).await;
    // 1-char parts and 3-byte frames: every placeholder is split, inside UTF-8 characters too.
    let (status, body) =
        gw.post_stream("/v1/chat/completions", &openai_body("gm/echo+delta=1+bytes=3", PROMPT, true)).await;
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
    assert_gemini_requests(&gemini, "echo+delta=1+bytes=3", true, 1);
    let recs = gw.audit_records().await;
    assert!(recs[0]["usage"]["output_tokens"].as_u64().unwrap() > 0, "usage from the stream: {}", recs[0]);

    // Usage asked for: the closing usage chunk comes through.
    gemini.clear();
    let mut req = openai_body("gm/echo", PROMPT, true);
    req["stream_options"] = json!({"include_usage": true});
    let (_, body) = gw.post_stream("/v1/chat/completions", &req).await;
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
async fn tool_calls_round_trip_through_gemini_function_calls() {
    let gemini = MockProvider::start().await;
    let gw = with_gemini(&gemini).await;
    let tools = json!([{"type": "function", "function": {"name": "lookup", "description": "Look up a person",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}}]);
    let mut body = openai_body("gm/tool", PROMPT, false);
    body["tools"] = tools.clone();
    body["tool_choice"] = json!("required");
    let (status, v) = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    let call = &v["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "lookup");
    let args: Value = serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args["query"], PROMPT, "arguments restored");
    let got = assert_gemini_requests(&gemini, "tool", false, 1);
    let decl = &got[0].body["tools"][0]["functionDeclarations"][0];
    assert_eq!(decl["name"], "lookup");
    assert_eq!(decl["parametersJsonSchema"]["required"], json!(["query"]));
    assert_eq!(got[0].body["toolConfig"], json!({"functionCallingConfig": {"mode": "ANY"}}));

    // The tool's answer goes back as a functionResponse, masked; the echo is restored.
    gemini.clear();
    let id = call["id"].as_str().unwrap();
    let mut turn2 = openai_body("gm/echo", PROMPT, false);
    turn2["tools"] = tools.clone();
    let msgs = turn2["messages"].as_array_mut().unwrap();
    msgs.push(json!({"role": "assistant", "content": null, "tool_calls": [call.clone()]}));
    msgs.push(json!({"role": "tool", "tool_call_id": id, "content": "Jane lives at jane.doe@example.com"}));
    let (status, v) = gw.post("/v1/chat/completions", &turn2).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["choices"][0]["message"]["content"], "You said: Jane lives at jane.doe@example.com");
    let got = assert_gemini_requests(&gemini, "echo", false, 1);
    let contents = got[0].body["contents"].as_array().unwrap();
    assert_eq!(contents[1]["role"], "model");
    assert_eq!(contents[1]["parts"][0]["functionCall"]["name"], "lookup");
    // The call's thought signature went out to the client and came back to Gemini intact.
    assert_eq!(call.pointer("/extra_content/google/thought_signature"), Some(&json!(veil_mock::GEMINI_SIGNATURE)));
    assert_eq!(contents[1]["parts"][0]["thoughtSignature"], veil_mock::GEMINI_SIGNATURE);
    assert!(contents[1]["parts"][0]["functionCall"]["args"]["query"].as_str().unwrap().contains("[EMAIL_1]"));
    let response = &contents[2]["parts"][0]["functionResponse"];
    assert_eq!(response["name"], "lookup");
    assert!(response["response"]["content"].as_str().unwrap().contains("[EMAIL_1]"), "{response}");

    // Streamed: the call arrives whole, its arguments restored.
    gemini.clear();
    body["model"] = json!("gm/tool+bytes=7");
    body["stream"] = json!(true);
    let (status, stream) = gw.post_stream("/v1/chat/completions", &body).await;
    assert_eq!(status, 200);
    let (text, args, finish) = openai_stream_text(&stream);
    assert_eq!(text, "Let me look that up.");
    assert_eq!(finish.as_deref(), Some("tool_calls"));
    let args: Value = serde_json::from_str(&args).unwrap();
    assert_eq!(args["query"], PROMPT);
    assert_gemini_requests(&gemini, "tool+bytes=7", true, 1);
}

#[tokio::test]
async fn messages_clients_reach_gemini_too() {
    let gemini = MockProvider::start().await;
    let gw = with_gemini(&gemini).await;
    let mut body = anthropic_body("gm/tool", PROMPT, false);
    body["tools"] = json!([{"name": "lookup", "input_schema": {"type": "object"}}]);
    let (status, v) = gw.post("/v1/messages", &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["type"], "message");
    assert_eq!(v["stop_reason"], "tool_use");
    let tool = v["content"].as_array().unwrap().iter().find(|b| b["type"] == "tool_use").unwrap();
    assert_eq!(tool["input"]["query"], PROMPT);
    let got = assert_gemini_requests(&gemini, "tool", false, 1);
    assert_eq!(got[0].body["generationConfig"]["maxOutputTokens"], 256);
    assert_eq!(got[0].body["systemInstruction"]["parts"][0]["text"], "You are helpful.");

    gemini.clear();
    let (status, stream) =
        gw.post_stream("/v1/messages", &anthropic_body("gm/echo+delta=1+bytes=5", PROMPT, true)).await;
    assert_eq!(status, 200);
    let (text, _, stop) = anthropic_stream_text(&stream);
    assert_eq!(text, format!("You said: {PROMPT}"));
    assert_eq!(stop.as_deref(), Some("end_turn"));
    assert_gemini_requests(&gemini, "echo+delta=1+bytes=5", true, 1);
}

#[tokio::test]
async fn gemini_errors_and_safety_blocks_reach_the_caller_in_its_shape() {
    let gemini = MockProvider::start().await;
    let gw = with_gemini(&gemini).await;
    for (model, want) in [("gm/error=401", 502), ("gm/error=403", 502), ("gm/error=500", 502), ("gm/error=400", 400)] {
        let (status, v) = gw.post("/v1/chat/completions", &openai_body(model, "hi", false)).await;
        assert_eq!(status, want, "{model}: {v}");
        assert!(v["error"]["message"].as_str().unwrap().contains("mock error"), "{v}");
        let (status, v) = gw.post("/v1/messages", &anthropic_body(model, "hi", false)).await;
        assert_eq!(status, want, "{model}: {v}");
        assert_eq!(v["type"], "error", "{v}");
    }
    let r = gw.client.post(gw.url("/v1/chat/completions")).json(&openai_body("gm/error=429", "hi", false)).send().await;
    let r = r.unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(r.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("7"));

    // A prompt Gemini's safety filter blocks: a clear 400, in each client's shape.
    let (status, v) = gw.post("/v1/chat/completions", &openai_body("gm/blocked", PROMPT, false)).await;
    assert_eq!(status, 400, "{v}");
    let m = v["error"]["message"].as_str().unwrap();
    assert!(m.contains("safety filter") && m.contains("blockReason SAFETY"), "{m}");
    let (status, v) = gw.post("/v1/messages", &anthropic_body("gm/blocked", PROMPT, false)).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["type"], "error");
    assert!(v["error"]["message"].as_str().unwrap().contains("blockReason SAFETY"), "{v}");
    // Streamed: an error event, then the stream closes.
    let (status, stream) = gw.post_stream("/v1/chat/completions", &openai_body("gm/blocked", PROMPT, true)).await;
    assert_eq!(status, 200);
    assert!(sse_events(&stream).iter().any(|(_, d)| d.contains("\"error\"") && d.contains("blockReason SAFETY")));
    let (_, stream) = gw.post_stream("/v1/messages", &anthropic_body("gm/blocked", PROMPT, true)).await;
    assert!(sse_events(&stream).iter().any(|(e, _)| e.as_deref() == Some("error")), "{stream}");

    // A model that would leave its path segment is refused, for chat and embeddings alike
    // (embeddings themselves: tests/it/embeddings.rs).
    gemini.clear();
    let (status, v) = gw.post("/v1/embeddings", &json!({"model": "gm/../x", "input": "hi"})).await;
    assert_eq!(status, 400, "{v}");
    let (status, _) = gw.post("/v1/chat/completions", &openai_body("gm/../x", "hi", false)).await;
    assert_eq!(status, 400);
    assert!(gemini.received().is_empty());
}

#[tokio::test]
async fn the_model_list_names_gemini_providers_with_a_key() {
    let gemini = MockProvider::start().await;
    let gw = with_gemini(&gemini).await;
    let v: Value = gw.client.get(gw.url("/v1/models")).send().await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = v["data"].as_array().unwrap().iter().filter_map(|m| m["id"].as_str()).collect();
    assert!(ids.contains(&"gm/*"), "{ids:?}");
}
