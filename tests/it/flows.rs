//! Happy paths for every client API × provider kind: plain, streaming (split at awkward
//! places), tool calls; the provider never sees a value and the client gets it back.

use crate::common::*;
use serde_json::{json, Value};

const ROUTES: &[(&str, &str)] = &[("/v1/chat/completions", "openai"), ("/v1/messages", "anthropic")];
const PROVIDERS: &[&str] = &["mock", "mocka"];

fn body_for(client: &str, model: &str, content: &str, stream: bool) -> Value {
    if client == "openai" {
        openai_body(model, content, stream)
    } else {
        anthropic_body(model, content, stream)
    }
}

fn plain_text(client: &str, v: &Value) -> String {
    if client == "openai" {
        v["choices"][0]["message"]["content"].as_str().unwrap_or_default().to_string()
    } else {
        v["content"][0]["text"].as_str().unwrap_or_default().to_string()
    }
}

#[tokio::test]
async fn plain_round_trip_every_combination() {
    for &(route, client) in ROUTES {
        for provider in PROVIDERS {
            let gw = gateway("").await;
            let (status, v) = gw.post(route, &body_for(client, &format!("{provider}/echo"), PROMPT, false)).await;
            assert_eq!(status, 200, "{client}->{provider}: {v}");
            assert_eq!(plain_text(client, &v), format!("You said: {PROMPT}"), "{client}->{provider}");
            let got = gw.assert_upstream_clean(1);
            let upstream = got[0].body.to_string();
            assert!(upstream.contains("[EMAIL_1]") && upstream.contains("[IBAN_1]"), "{upstream}");
            assert_eq!(got[0].body["model"], "echo");
            // The system prompt crossed over too.
            assert!(upstream.contains("You are helpful."));
            let recs = gw.audit_records().await;
            assert_eq!(recs.len(), 1);
            assert_eq!(recs[0]["outcome"], "ok");
            assert_eq!(recs[0]["provider"], *provider);
            assert!(recs[0]["entities"]["EMAIL"]["mask"].as_u64() == Some(1), "{}", recs[0]);
            assert!(recs[0]["usage"]["input_tokens"].as_u64().unwrap_or(0) > 0, "{}", recs[0]);
            let raw = serde_json::to_string(&recs).unwrap();
            for value in VALUES {
                assert!(!raw.contains(value), "audit log holds a raw value");
            }
        }
    }
}

#[tokio::test]
async fn streaming_split_at_awkward_places() {
    // delta=1 splits inside placeholders; bytes=N splits SSE frames and UTF-8 characters.
    for opts in ["delta=1", "delta=3+bytes=1", "delta=5+bytes=7", "delta=64+bytes=2"] {
        for &(route, client) in ROUTES {
            for provider in PROVIDERS {
                let gw = gateway("").await;
                let model = format!("{provider}/echo+{opts}");
                let (status, body) = gw.post_stream(route, &body_for(client, &model, PROMPT, true)).await;
                assert_eq!(status, 200, "{model}: {body}");
                let (text, _, end) =
                    if client == "openai" { openai_stream_text(&body) } else { anthropic_stream_text(&body) };
                assert_eq!(text, format!("You said: {PROMPT}"), "{client} <- {model}");
                assert!(end.is_some(), "{client} <- {model}: no stop reason in {body}");
                if client == "openai" {
                    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
                    // Usage was requested upstream for the audit log but not shown to this client.
                    assert!(!body.contains("\"usage\":{"), "{body}");
                } else {
                    assert!(body.contains("event: message_stop"), "{body}");
                }
                gw.assert_upstream_clean(1);
                let recs = gw.audit_records().await;
                assert_eq!(recs[0]["outcome"], "ok", "{}", recs[0]);
                assert!(recs[0]["stream"].as_bool().unwrap());
                assert_eq!(recs[0]["placeholders"]["restored"].as_u64(), Some(5), "{}", recs[0]);
            }
        }
    }
}

#[tokio::test]
async fn tool_call_arguments_are_restored_plain_and_streaming() {
    for &(route, client) in ROUTES {
        for provider in PROVIDERS {
            for stream in [false, true] {
                let gw = gateway("").await;
                let model = format!("{provider}/tool+delta=2");
                let (status, raw) = gw.post_stream(route, &body_for(client, &model, PROMPT, stream)).await;
                assert_eq!(status, 200, "{raw}");
                let args: Value = if stream {
                    let (_, args, stop) =
                        if client == "openai" { openai_stream_text(&raw) } else { anthropic_stream_text(&raw) };
                    let want = if client == "openai" { "tool_calls" } else { "tool_use" };
                    assert_eq!(stop.as_deref(), Some(want), "{raw}");
                    serde_json::from_str(&args).unwrap_or_else(|e| panic!("{e}: {args}"))
                } else {
                    let v: Value = serde_json::from_str(&raw).unwrap();
                    if client == "openai" {
                        let a = v["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"].as_str().unwrap();
                        serde_json::from_str(a).unwrap()
                    } else {
                        v["content"].as_array().unwrap().iter().find(|b| b["type"] == "tool_use").unwrap()["input"]
                            .clone()
                    }
                };
                assert_eq!(args["query"], PROMPT, "{client}->{provider} stream={stream}");
                gw.assert_upstream_clean(1);
            }
        }
    }
}

#[tokio::test]
async fn tool_arguments_and_results_in_the_request_are_masked() {
    let gw = gateway("").await;
    let args = json!({"email": "jane.doe@example.com", "note": "say \"hi\""}).to_string();
    let body = json!({"model": "mocka/echo", "messages": [
        {"role": "user", "content": "find the customer"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": args}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": PROMPT},
        {"role": "user", "content": [{"type": "text", "text": "and card 4111 1111 1111 1111?"}]}
    ]});
    let (status, v) = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(status, 200, "{v}");
    // Anthropic merges the tool result and the next user text into one user turn.
    let out = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(out.ends_with("and card 4111 1111 1111 1111?") && out.contains("jane.doe@example.com"), "{out}");
    let got = gw.assert_upstream_clean(1);
    let up = got[0].body.to_string();
    assert!(up.contains("tool_result") && up.contains("[EMAIL_1]"), "{up}");
    // Same value, same placeholder everywhere in the request.
    assert_eq!(up.matches("[CREDIT_CARD_1]").count(), 2, "{up}");
}

#[tokio::test]
async fn text_that_looks_like_a_placeholder_is_left_alone() {
    let gw = gateway("").await;
    let content = "Template uses [EMAIL_1] literally; real one is jane.doe@example.com";
    let (status, v) = gw.post("/v1/chat/completions", &openai_body("mock/echo", content, false)).await;
    assert_eq!(status, 200);
    assert_eq!(v["choices"][0]["message"]["content"], format!("You said: {content}"));
    let up = gw.assert_upstream_clean(1)[0].body.to_string();
    assert!(up.contains("[EMAIL_1] literally") && up.contains("[EMAIL_2]"), "{up}");
}

#[tokio::test]
async fn models_health_and_metrics() {
    let gw = gateway("[models.fast]\ntargets = [\"mock/echo\", \"mocka/echo\"]\n").await;
    let r = gw.client.get(gw.url("/v1/models")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let ids: Vec<&str> = v["data"].as_array().unwrap().iter().filter_map(|m| m["id"].as_str()).collect();
    assert!(ids.contains(&"fast") && ids.contains(&"mock/*"), "{ids:?}");
    assert_eq!(gw.client.get(gw.url("/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(gw.client.get(gw.url("/readyz")).send().await.unwrap().status(), 200);
    let (s, _) = gw.post("/v1/chat/completions", &openai_body("fast", PROMPT, false)).await;
    assert_eq!(s, 200);
    let m = gw.client.get(gw.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for name in
        ["veil_requests_total", "veil_entities_total", "veil_mask_duration_seconds", "veil_placeholders_restored_total"]
    {
        assert!(m.contains(name), "{name} missing from /metrics");
    }
    for value in VALUES {
        assert!(!m.contains(value));
    }
}

#[tokio::test]
async fn alias_falls_back_to_the_next_target() {
    let gw = gateway("[models.fast]\ntargets = [\"mock/error=503\", \"mocka/echo\"]\n").await;
    let (s, v) = gw.post("/v1/chat/completions", &openai_body("fast", PROMPT, false)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["choices"][0]["message"]["content"], format!("You said: {PROMPT}"));
    let got = gw.assert_upstream_clean(2);
    assert_eq!(got[1].path, "/v1/messages");
    let recs = gw.audit_records().await;
    assert_eq!(recs[0]["provider"], "mocka");
}

/// National identity, tax and health numbers, one-time codes and postcodes after their
/// keyword (the `keyed` pattern) reach the provider as placeholders with the patterns
/// alone, and come back restored; an Internet RFC number, which has the keyword but not the
/// shape, is sent as written.
#[tokio::test]
async fn numbers_after_their_keyword_are_masked_and_restored() {
    let gw = gateway("").await;
    for (p, value, placeholder) in [
        ("My PAN is ABCDE1234F, please file it", "ABCDE1234F", "[NATIONAL_ID_1]"),
        ("Aadhaar: 2345 6789 0124 is on the form", "2345 6789 0124", "[NATIONAL_ID_1]"),
        ("my BSN is 111222333", "111222333", "[NATIONAL_ID_1]"),
        ("codice fiscale RSSMRA85T10A562S", "RSSMRA85T10A562S", "[NATIONAL_ID_1]"),
        ("HKID A123456(7) expires soon", "A123456(7)", "[NATIONAL_ID_1]"),
        ("NHS No. 943 476 5919, seen today", "943 476 5919", "[MEDICAL_ID_1]"),
        ("Your OTP is 552901, do not share it", "552901", "[PASSWORD_1]"),
        ("Pincode: 560034", "560034", "[STREET_ADDRESS_1]"),
        ("A plan for my buddy: he's 52 and runs 5 km", "52", "[AGE_1]"),
        ("my son is only 7, what should he read?", "7", "[AGE_1]"),
    ] {
        let (status, v) = gw.post("/v1/chat/completions", &openai_body("mock/echo", p, false)).await;
        assert_eq!(status, 200, "{v}");
        let sent = gw.mock.received().last().unwrap().body["messages"][1]["content"].as_str().unwrap().to_string();
        assert_eq!(sent, p.replace(value, placeholder), "{p}");
        assert_eq!(v["choices"][0]["message"]["content"].as_str().unwrap(), format!("You said: {p}"));
    }
    let p = "Summarize RFC 9110 and RFC 9112 for me; she is 5 foot 2 and it is 42";
    let (status, _) = gw.post("/v1/chat/completions", &openai_body("mock/echo", p, false)).await;
    assert_eq!(status, 200);
    assert_eq!(gw.mock.received().last().unwrap().body["messages"][1]["content"], p);
}
