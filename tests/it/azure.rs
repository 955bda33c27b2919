//! The `azure` provider kind against the mock's Azure mode (which refuses a request
//! without `api-version` or with the key anywhere but `api-key`), Azure-shaped client
//! URLs, the settings mapping between the two APIs, the `model` field of answers, held-back
//! stream deltas and the model list.

use crate::common::*;
use serde_json::{json, Value};
use veil_mock::MockProvider;

/// A gateway whose provider `az` (kind azure) points at `azure`, keyed by OPENAI_API_KEY
/// (the only variable the shared set-up passes).
async fn with_azure(azure: &MockProvider, extra: &str) -> Gateway {
    gateway(&format!(
        "[providers.az]\nkind = \"azure\"\nbase_url = \"{}\"\napi_version = \"2024-10-21\"\napi_key_env = \"OPENAI_API_KEY\"\n{extra}",
        azure.azure_base_url()
    ))
    .await
}

/// Every request `azure` got went to Azure's URL shape with the key in `api-key`, and held
/// no raw value.
fn assert_azure_requests(azure: &MockProvider, deployment: &str, n: usize) -> Vec<veil_mock::Received> {
    let got = azure.received();
    assert_eq!(got.len(), n, "requests the Azure mock received");
    for r in &got {
        assert_eq!(r.path, format!("/openai/deployments/{deployment}/chat/completions"));
        assert_eq!(r.query.as_deref(), Some("api-version=2024-10-21"));
        assert_eq!(r.header("api-key"), Some("sk-upstream-test"));
        assert_eq!(r.header("authorization"), None, "the key goes in api-key only");
        let raw = r.body.to_string();
        for v in VALUES {
            assert!(!raw.contains(v), "raw value {v:?} reached Azure: {raw}");
        }
        assert!(raw.contains("[EMAIL_1]"), "{raw}");
    }
    got
}

#[tokio::test]
async fn chat_completions_reach_azure_masked_plain_and_streamed() {
    let azure = MockProvider::start().await;
    let gw = with_azure(&azure, "").await;
    let (status, v) = gw.post("/v1/chat/completions", &openai_body("az/echo", PROMPT, false)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["choices"][0]["message"]["content"], format!("You said: {PROMPT}"));
    assert_eq!(v["model"], "echo", "the upstream's model name, without the provider");
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    let got = assert_azure_requests(&azure, "echo", 1);
    assert_eq!(got[0].body["model"], "echo");

    // Streamed in 1-char deltas and 3-byte frames: placeholders split everywhere.
    azure.clear();
    let (status, body) =
        gw.post_stream("/v1/chat/completions", &openai_body("az/echo+delta=1+bytes=3", PROMPT, true)).await;
    assert_eq!(status, 200);
    let (text, _, finish) = openai_stream_text(&body);
    assert_eq!(text, format!("You said: {PROMPT}"));
    assert_eq!(finish.as_deref(), Some("stop"));
    let (mut chunks, mut filter_chunks) = (0, 0);
    for (_, data) in sse_events(&body) {
        if data == "[DONE]" {
            continue;
        }
        let c: Value = serde_json::from_str(&data).unwrap();
        if c.get("prompt_filter_results").is_some() {
            // Azure's opening chunk (no choices, `model: ""`) passes through as Azure sent it.
            filter_chunks += 1;
            continue;
        }
        chunks += 1;
        assert_eq!(c["model"], "echo+delta=1+bytes=3");
        assert!(c.get("usage").is_none_or(Value::is_null), "usage was not asked for: {c}");
        for choice in c["choices"].as_array().unwrap() {
            let delta = &choice["delta"];
            // A held-back delta is skipped, not sent as `content: ""` (the role chunk excepted).
            assert!(delta["content"] != "" || delta.get("role").is_some(), "empty delta: {c}");
        }
    }
    assert!(chunks > 10);
    assert_eq!(filter_chunks, 1);
    let got = assert_azure_requests(&azure, "echo+delta=1+bytes=3", 1);
    assert_eq!(got[0].body["stream_options"]["include_usage"], true, "asked for the audit log");
    let recs = gw.audit_records().await;
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1]["provider"], "az");
    assert_eq!(recs[1]["outcome"], "ok");
    assert!(recs[1]["usage"]["output_tokens"].as_u64().unwrap() > 0, "usage from the stream: {}", recs[1]);
    assert!(recs[1]["entities"]["EMAIL"]["mask"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn anthropic_clients_reach_azure_translated_with_tools_and_streams() {
    let azure = MockProvider::start().await;
    let gw = with_azure(&azure, "").await;
    let mut body = anthropic_body("az/tool", PROMPT, false);
    body["tools"] = json!([{"name": "lookup", "input_schema": {"type": "object"}}]);
    let (status, v) = gw.post("/v1/messages", &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["model"], "tool");
    assert_eq!(v["stop_reason"], "tool_use");
    let tool = v["content"].as_array().unwrap().iter().find(|b| b["type"] == "tool_use").unwrap();
    assert_eq!(tool["input"]["query"], PROMPT);
    assert!(v["usage"]["input_tokens"].as_u64().unwrap() > 0);
    let got = assert_azure_requests(&azure, "tool", 1);
    // Azure takes `max_completion_tokens` for every model, reasoning ones included.
    assert_eq!(got[0].body["max_completion_tokens"], 256);
    assert!(got[0].body.get("max_tokens").is_none());

    azure.clear();
    body["model"] = json!("az/tool+delta=1+bytes=5");
    body["stream"] = json!(true);
    let (status, sse) = gw.post_stream("/v1/messages", &body).await;
    assert_eq!(status, 200);
    let (text, args, stop) = anthropic_stream_text(&sse);
    assert_eq!(text, "Let me look that up.");
    let input: Value = serde_json::from_str(&args).unwrap();
    assert_eq!(input["query"], PROMPT);
    assert_eq!(stop.as_deref(), Some("tool_use"));
    let start = sse_events(&sse).into_iter().find(|(e, _)| e.as_deref() == Some("message_start")).unwrap();
    let start: Value = serde_json::from_str(&start.1).unwrap();
    assert_eq!(start["message"]["model"], "tool+delta=1+bytes=5", "the upstream's model name");
    for (_, data) in sse_events(&sse) {
        let e: Value = serde_json::from_str(&data).unwrap();
        if e["type"] == "content_block_delta" {
            let piece = e["delta"]["text"].as_str().or(e["delta"]["partial_json"].as_str()).unwrap();
            assert!(!piece.is_empty(), "empty delta: {e}");
        }
    }
    assert_azure_requests(&azure, "tool+delta=1+bytes=5", 1);
}

#[tokio::test]
async fn azure_errors_come_back_in_the_callers_shape() {
    let azure = MockProvider::start().await;
    let gw = with_azure(&azure, "").await;
    for (model, want) in [("az/error=401", 502), ("az/error=403", 502), ("az/error=500", 502), ("az/error=400", 400)] {
        let (status, v) = gw.post("/v1/chat/completions", &openai_body(model, "hi", false)).await;
        assert_eq!(status, want, "{model}: {v}");
        assert!(v["error"]["message"].is_string(), "{v}");
        let (status, v) = gw.post("/v1/messages", &anthropic_body(model, "hi", false)).await;
        assert_eq!(status, want, "{model}: {v}");
        assert_eq!(v["type"], "error", "{v}");
    }
    // The provider's 429 keeps its Retry-After, for both client APIs.
    for (path, body) in [
        ("/v1/chat/completions", openai_body("az/error=429", "hi", false)),
        ("/v1/messages", anthropic_body("az/error=429", "hi", false)),
    ] {
        let r = gw.client.post(gw.url(path)).json(&body).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 429);
        assert_eq!(r.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("7"), "{path}");
    }
    // A deployment name that could leave its path segment is refused before anything is sent.
    azure.clear();
    for model in ["az/../x", "az/a/b", "az/a?b", "az/a%2Fb"] {
        let (status, v) = gw.post("/v1/chat/completions", &openai_body(model, "hi", false)).await;
        assert_eq!(status, 400, "{model}: {v}");
        assert!(v["error"]["message"].as_str().unwrap().contains("deployment name"), "{v}");
    }
    assert!(azure.received().is_empty());
}

#[tokio::test]
async fn azure_without_a_key_is_a_configuration_fault_and_a_missing_api_version_is_caught_by_the_mock() {
    let azure = MockProvider::start().await;
    let gw = gateway(&format!(
        "[providers.az]\nkind = \"azure\"\nbase_url = \"{}\"\napi_key_env = \"VEIL_TEST_NO_SUCH_KEY\"\n",
        azure.azure_base_url()
    ))
    .await;
    let (status, v) = gw.post("/v1/chat/completions", &openai_body("az/echo", "hi", false)).await;
    // No key of ours and none sent by the client: 503 naming the variable.
    assert_eq!(status, 503, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("VEIL_TEST_NO_SUCH_KEY"), "{v}");
    assert!(azure.received().is_empty());
    // An open sidecar forwards the caller's own key, in Azure's header.
    let r = gw
        .client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth("client-azure-key")
        .json(&openai_body("az/echo", PROMPT, false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let got = azure.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].header("api-key"), Some("client-azure-key"));
    assert_eq!(got[0].query.as_deref(), Some("api-version=2024-10-21"), "the default api-version");

    // The mock itself refuses what Azure would: so the checks above can fail.
    let c = reqwest::Client::new();
    let url = format!("{}/openai/deployments/echo/chat/completions", azure.azure_base_url());
    let body = openai_body("echo", "hi", false);
    let r = c.post(&url).header("api-key", "k").json(&body).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404, "no api-version");
    let r = c.post(format!("{url}?api-version=2024-10-21")).bearer_auth("k").json(&body).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401, "key in Authorization");
    let r = c.post(format!("{url}?api-version=2024-10-21")).header("api-key", "k").json(&body).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test]
async fn azure_shaped_client_urls_are_served() {
    let azure = MockProvider::start().await;
    let gw = with_azure(&azure, "").await;
    // What `AzureOpenAI(azure_endpoint=<veil>)` sends: the deployment (Veil's model) in the
    // path, the key in `api-key`, any api-version.
    let r = gw
        .client
        .post(gw.url("/openai/deployments/az/echo/chat/completions?api-version=2024-06-01"))
        .header("api-key", "client-key")
        .json(&json!({"messages": [{"role": "user", "content": PROMPT}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], format!("You said: {PROMPT}"));
    assert_azure_requests(&azure, "echo", 1);
    // To an OpenAI-kind provider, streamed; the path's model wins over the body's.
    let r = gw
        .client
        .post(gw.url("/openai/deployments/mock/echo+delta=2/chat/completions?api-version=2024-06-01"))
        .json(&json!({"model": "ignored", "stream": true, "messages": [{"role": "user", "content": PROMPT}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (text, _, _) = openai_stream_text(&r.text().await.unwrap());
    assert_eq!(text, format!("You said: {PROMPT}"));
    let got = gw.assert_upstream_clean(1);
    assert_eq!(got[0].body["model"], "echo+delta=2");
    let r = gw.client.post(gw.url("/openai/deployments/az/echo/completions")).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
}

#[tokio::test]
async fn settings_map_both_ways() {
    let gw = gateway("").await;
    // OpenAI client -> Anthropic provider.
    let mut body = openai_body("mocka/echo", "hi", false);
    let extra = json!({"max_completion_tokens": 77, "max_tokens": 5, "stop": ["END", "STOP"], "temperature": 1.6,
        "top_p": 0.5, "tool_choice": "required", "parallel_tool_calls": false, "seed": 3, "presence_penalty": 0.5,
        "logprobs": false, "response_format": {"type": "text"},
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let (status, v) = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["model"], "echo");
    let got = gw.mock.received();
    let up = &got[0].body;
    assert_eq!(up["max_tokens"], 77, "max_completion_tokens wins");
    assert_eq!(up["stop_sequences"], json!(["END", "STOP"]));
    assert_eq!(up["temperature"], 1.0, "clamped to Anthropic's range");
    assert_eq!(up["top_p"], 0.5);
    assert_eq!(up["tool_choice"], json!({"type": "any", "disable_parallel_tool_use": true}));
    for dropped in ["seed", "presence_penalty", "logprobs", "response_format", "parallel_tool_calls", "stop"] {
        assert!(up.get(dropped).is_none(), "{dropped} reached the provider: {up}");
    }
    // Settings whose answer Anthropic cannot give are refused, naming the field.
    gw.mock.clear();
    for (field, value) in [
        ("response_format", json!({"type": "json_object"})),
        ("logprobs", json!(true)),
        ("modalities", json!(["text", "audio"])),
    ] {
        let mut b = openai_body("mocka/echo", "hi", false);
        b[field] = value;
        let (status, v) = gw.post("/v1/chat/completions", &b).await;
        assert_eq!(status, 400, "{field}: {v}");
        assert!(v["error"]["message"].as_str().unwrap().contains("no equivalent in the Anthropic Messages API"), "{v}");
    }
    assert!(gw.mock.received().is_empty());

    // Anthropic client -> OpenAI-compatible provider (not api.openai.com: `max_tokens`).
    let mut body = anthropic_body("mock/echo", "hi", false);
    let extra = json!({"stop_sequences": ["END"], "temperature": 0.3, "top_p": 0.9, "top_k": 5,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "tool_choice": {"type": "tool", "name": "lookup", "disable_parallel_tool_use": true},
        "tools": [{"name": "lookup", "input_schema": {"type": "object"}}]});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let (status, v) = gw.post("/v1/messages", &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["model"], "echo");
    let got = gw.mock.received();
    let up = &got[0].body;
    assert_eq!(up["max_tokens"], 256);
    assert!(up.get("max_completion_tokens").is_none());
    assert_eq!(up["stop"], json!(["END"]));
    assert_eq!(up["temperature"], 0.3);
    assert_eq!(up["top_p"], 0.9);
    assert_eq!(up["tool_choice"], json!({"type": "function", "function": {"name": "lookup"}}));
    assert_eq!(up["parallel_tool_calls"], false);
    for dropped in ["top_k", "thinking", "stop_sequences"] {
        assert!(up.get(dropped).is_none(), "{dropped} reached the provider: {up}");
    }
}

#[tokio::test]
async fn streamed_and_plain_answers_name_the_upstream_model_in_both_directions() {
    let gw = gateway("").await;
    // Same API (passed through) and translated, plain and streamed: always the bare name.
    let (_, v) = gw.post("/v1/chat/completions", &openai_body("mock/echo", "hi", false)).await;
    assert_eq!(v["model"], "echo");
    let (_, v) = gw.post("/v1/chat/completions", &openai_body("mocka/echo", "hi", false)).await;
    assert_eq!(v["model"], "echo");
    let (_, v) = gw.post("/v1/messages", &anthropic_body("mock/echo", "hi", false)).await;
    assert_eq!(v["model"], "echo");
    for model in ["mock/echo", "mocka/echo"] {
        let (_, sse) = gw.post_stream("/v1/chat/completions", &openai_body(model, "hi", true)).await;
        for (_, data) in sse_events(&sse).into_iter().filter(|(_, d)| d != "[DONE]") {
            let c: Value = serde_json::from_str(&data).unwrap();
            assert_eq!(c["model"], "echo", "{model}: {c}");
        }
        let (_, sse) = gw.post_stream("/v1/messages", &anthropic_body(model, "hi", true)).await;
        let (_, start) = sse_events(&sse).into_iter().find(|(e, _)| e.as_deref() == Some("message_start")).unwrap();
        let start: Value = serde_json::from_str(&start).unwrap();
        assert_eq!(start["message"]["model"], "echo", "{model}");
    }
}

#[tokio::test]
async fn translated_streams_skip_held_back_deltas() {
    let gw = gateway("").await;
    // OpenAI client <- Anthropic provider, 1-char deltas: every delta inside a placeholder
    // is held back, and none of them goes out as `content: ""`.
    let (_, sse) = gw.post_stream("/v1/chat/completions", &openai_body("mocka/echo+delta=1", PROMPT, true)).await;
    let (text, _, _) = openai_stream_text(&sse);
    assert_eq!(text, format!("You said: {PROMPT}"));
    let mut pieces = 0;
    for (_, data) in sse_events(&sse).into_iter().filter(|(_, d)| d != "[DONE]") {
        let c: Value = serde_json::from_str(&data).unwrap();
        for choice in c["choices"].as_array().unwrap() {
            if let Some(t) = choice["delta"]["content"].as_str() {
                assert!(!t.is_empty() || choice["delta"].get("role").is_some(), "empty delta: {c}");
                pieces += 1;
            }
        }
    }
    // Fewer content chunks than characters: held text rides on later chunks.
    assert!(pieces < format!("You said: {PROMPT}").chars().count(), "{pieces}");
}

#[tokio::test]
async fn the_model_list_shows_providers_a_forwarded_key_can_use() {
    let azure = MockProvider::start().await;
    let gw = with_azure(&azure, "").await;
    let ids = |v: &Value| -> Vec<String> {
        v["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_string()).collect()
    };
    // No key sent: the providers with a key of their own (openai: OPENAI_API_KEY is set),
    // or that need none.
    let v: Value = gw.client.get(gw.url("/v1/models")).send().await.unwrap().json().await.unwrap();
    let plain = ids(&v);
    for want in ["openai/*", "az/*", "ollama/*", "mock/*", "mocka/*"] {
        assert!(plain.contains(&want.to_string()), "{want} missing: {plain:?}");
    }
    assert!(!plain.contains(&"groq/*".to_string()), "{plain:?}");
    // An OpenAI SDK's key is forwarded to OpenAI-kind providers: they are listed.
    let v: Value =
        gw.client.get(gw.url("/v1/models")).bearer_auth("sk-client").send().await.unwrap().json().await.unwrap();
    let openai = ids(&v);
    for want in ["groq/*", "gemini/*", "mistral/*", "openai/*"] {
        assert!(openai.contains(&want.to_string()), "{want} missing: {openai:?}");
    }
    assert!(!openai.contains(&"anthropic/*".to_string()), "{openai:?}");
    // An Anthropic SDK's key (x-api-key + anthropic-version) is forwarded to Anthropic ones.
    let v: Value = gw
        .client
        .get(gw.url("/v1/models"))
        .header("x-api-key", "sk-ant-client")
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let anthropic = ids(&v);
    assert!(anthropic.contains(&"anthropic/*".to_string()), "{anthropic:?}");
    assert!(!anthropic.contains(&"groq/*".to_string()), "{anthropic:?}");
}
