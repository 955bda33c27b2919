//! Bad input and upstream failures: clear errors in the caller's API shape, fitting
//! statuses, and nothing forwarded when masking cannot run.

use crate::common::*;
use futures::future::BoxFuture;
use serde_json::{json, Value};
use std::sync::Arc;
use veil::mask::{DetectError, Detector, Entity};

fn assert_openai_error(v: &Value) {
    assert!(v["error"]["message"].is_string() && v["error"]["type"].is_string(), "not an OpenAI error: {v}");
}

fn assert_anthropic_error(v: &Value) {
    assert_eq!(v["type"], "error", "not an Anthropic error: {v}");
    assert!(v["error"]["message"].is_string() && v["error"]["type"].is_string(), "{v}");
}

#[tokio::test]
async fn bad_requests_get_errors_in_the_callers_shape() {
    let gw = gateway("[server]\nmax_body_bytes = 4096\n").await;
    let cases: Vec<(&str, String, u16)> = vec![
        ("/v1/chat/completions", "{not json".into(), 400),
        ("/v1/chat/completions", json!({"model": "mock/echo"}).to_string(), 400),
        ("/v1/chat/completions", json!({"model": "mock/echo", "messages": "hi"}).to_string(), 400),
        ("/v1/chat/completions", json!({"model": 5, "messages": []}).to_string(), 400),
        (
            "/v1/chat/completions",
            json!({"model": "nosuch/x", "messages": [{"role":"user","content":"hi"}]}).to_string(),
            404,
        ),
        (
            "/v1/chat/completions",
            json!({"model": "noslash", "messages": [{"role":"user","content":"hi"}]}).to_string(),
            404,
        ),
        (
            "/v1/chat/completions",
            json!({"model": "mock/echo", "messages": [{"role":"user","content":"x".repeat(5000)}]}).to_string(),
            413,
        ),
        ("/v1/messages", "[]".into(), 400),
        ("/v1/messages", json!({"model": "mocka/echo", "messages": [{"role":"user","content":"hi"}]}).to_string(), 400),
        (
            "/v1/messages",
            json!({"model": "nosuch/x", "max_tokens": 5, "messages": [{"role":"user","content":"hi"}]}).to_string(),
            404,
        ),
        (
            "/v1/messages",
            json!({"model": "mocka/echo", "max_tokens": 5, "messages": [{"role":"user","content":"x".repeat(5000)}]})
                .to_string(),
            413,
        ),
    ];
    for (route, body, want) in cases {
        let (status, v) = gw.post_raw(route, &body).await;
        assert_eq!(status, want, "{route} {body:.80}: {v}");
        if route == "/v1/messages" {
            assert_anthropic_error(&v);
        } else {
            assert_openai_error(&v);
        }
    }
    gw.assert_upstream_clean(0);
    let recs = gw.audit_records().await;
    assert_eq!(recs.len(), 11, "one audit record per request, refused ones included");
}

#[tokio::test]
async fn upstream_errors_map_to_fitting_statuses() {
    let gw = gateway("").await;
    for (model, want) in [
        ("error=500", 502),
        ("error=401", 502),
        ("error=403", 502),
        ("error=429", 429),
        ("error=400", 400),
        ("error=529", 503),
    ] {
        for (route, provider) in [
            ("/v1/chat/completions", "mock"),
            ("/v1/messages", "mocka"),
            ("/v1/chat/completions", "mocka"),
            ("/v1/messages", "mock"),
        ] {
            let body = if route == "/v1/messages" {
                anthropic_body(&format!("{provider}/{model}"), "hi", false)
            } else {
                openai_body(&format!("{provider}/{model}"), "hi", false)
            };
            let (status, v) = gw.post(route, &body).await;
            assert_eq!(status, want, "{route} {provider}/{model}: {v}");
            if route == "/v1/messages" {
                assert_anthropic_error(&v)
            } else {
                assert_openai_error(&v)
            }
        }
    }
    let recs = gw.audit_records().await;
    assert!(recs.iter().all(|r| r["outcome"] == "upstream_error" && r["upstream_status"].is_u64()), "{recs:?}");
}

#[tokio::test]
async fn upstream_timeout_and_unreachable() {
    let gw = gateway("[server]\nupstream_timeout_secs = 0.3\n[providers.dead]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\n").await;
    let (s, v) = gw.post("/v1/chat/completions", &openai_body("mock/echo+slow=2000", "hi", false)).await;
    assert_eq!(s, 504, "{v}");
    assert_openai_error(&v);
    let (s, v) = gw.post("/v1/messages", &anthropic_body("dead/x", "hi", false)).await;
    assert_eq!(s, 502, "{v}");
    assert_anthropic_error(&v);
}

#[tokio::test]
async fn mid_stream_failure_becomes_an_error_event() {
    let gw = gateway("").await;
    let (s, body) = gw.post_stream("/v1/chat/completions", &openai_body("mock/echo+midstream=3", PROMPT, true)).await;
    assert_eq!(s, 200);
    let events = sse_events(&body);
    let last_json = events.iter().rev().find(|(_, d)| d != "[DONE]").unwrap();
    assert!(last_json.1.contains("\"error\""), "{body}");
    let (s, body) = gw.post_stream("/v1/messages", &anthropic_body("mocka/echo+midstream=3", PROMPT, true)).await;
    assert_eq!(s, 200);
    assert!(body.contains("event: error"), "{body}");
    let recs = gw.audit_records().await;
    assert!(recs.iter().all(|r| r["outcome"] == "upstream_error"), "{recs:?}");
}

/// A detector that always fails, as a crashed model would.
struct Broken;

impl Detector for Broken {
    fn name(&self) -> &'static str {
        "broken"
    }
    fn version(&self) -> String {
        "broken/0".into()
    }
    fn priority(&self) -> u8 {
        10
    }
    fn detect<'a>(&'a self, _texts: &'a [&'a str]) -> BoxFuture<'a, Result<Vec<Vec<Entity>>, DetectError>> {
        Box::pin(async { Err(DetectError::NotReady { detector: "broken" }) })
    }
}

#[tokio::test]
async fn masking_failure_fails_closed() {
    let gw = gateway_with("", Some(vec![Arc::new(Broken)])).await;
    let (s, v) = gw.post("/v1/chat/completions", &openai_body("mock/echo", PROMPT, false)).await;
    assert_eq!(s, 503, "{v}");
    assert_openai_error(&v);
    let (s, v) = gw.post("/v1/messages", &anthropic_body("mocka/echo", PROMPT, true)).await;
    assert_eq!(s, 503, "{v}");
    assert_anthropic_error(&v);
    gw.assert_upstream_clean(0);
    let recs = gw.audit_records().await;
    assert!(recs.iter().all(|r| r["outcome"] == "refused"), "{recs:?}");
}

#[tokio::test]
async fn client_that_leaves_gets_a_cancelled_audit_record() {
    let gw = gateway("").await;
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_millis(300)).build().unwrap();
    let r = client
        .post(gw.url("/v1/chat/completions"))
        .json(&openai_body("mock/echo+slow=1500", PROMPT, false))
        .send()
        .await;
    assert!(r.is_err(), "the client gave up first");
    // The upstream still answers later; the request's record must say the client left.
    let mut recs = Vec::new();
    for _ in 0..50 {
        recs = gw.audit_records().await;
        if !recs.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["outcome"], "cancelled");
    assert_eq!(recs[0]["status"], 499);
    // Masking ran before the client left: entities are still accounted for.
    assert_eq!(recs[0]["entities"]["EMAIL"]["mask"], 1);
}

/// A provider whose key variable is unset is a configuration fault of the gateway: 503 in
/// the caller's shape, naming the variable, and nothing is sent.
#[tokio::test]
async fn a_provider_without_its_key_answers_503_naming_the_variable() {
    let gw = gateway(
        "[providers.keyed]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\napi_key_env = \"VEIL_IT_UNSET_KEY\"\n",
    )
    .await;
    let (status, v) = gw.post("/v1/chat/completions", &openai_body("keyed/gpt", "hi", false)).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["error"]["code"], "missing_provider_key", "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("VEIL_IT_UNSET_KEY"), "{v}");
    let (status, v) = gw.post("/v1/messages", &anthropic_body("keyed/gpt", "hi", false)).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["type"], "error", "{v}");
    assert!(gw.mock.received().is_empty());
}
