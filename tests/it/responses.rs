//! `POST /v1/responses` (OpenAI Responses API), a pass-through to `openai`-kind providers:
//! what the provider received (masked texts, every other field as sent) and what the client
//! got (restored), plain and streaming, with tools; Azure's URL; a clear 400 for Anthropic
//! providers and for malformed input.

use crate::common::*;
use serde_json::{json, Value};
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
async fn anthropic_providers_and_malformed_input_are_refused() {
    let gw = gateway("").await;
    let (status, v) = gw.post("/v1/responses", &json!({"model": "mocka/claude", "input": PROMPT})).await;
    assert_eq!(status, 400, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("only OpenAI-kind providers"), "{msg}");
    assert!(v["error"]["type"].is_string());

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
