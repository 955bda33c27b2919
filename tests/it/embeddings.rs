//! `POST /v1/embeddings`: every input masked before it leaves, to `openai`, `azure` and
//! `gemini` providers (right URL, key header and wire format), a clear 400 for Anthropic
//! providers and token arrays, audited like chat.

use crate::common::*;
use serde_json::{json, Value};
use veil_mock::MockProvider;

fn assert_openai_error(v: &Value) {
    assert!(v["error"]["message"].is_string() && v["error"]["type"].is_string(), "not an OpenAI error: {v}");
}

#[tokio::test]
async fn inputs_are_masked_before_an_openai_provider_embeds_them() {
    let gw = gateway("").await;
    let body = json!({"model": "mock/text-embedding-3-small", "input": [PROMPT, "nothing personal here"],
                      "encoding_format": "float", "dimensions": 8, "user": "jane.doe@example.com",
                      "extra": {"note": "call +1 415 555 0132"}});
    let (status, v) = gw.post("/v1/embeddings", &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["object"], "list");
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert_eq!(v["data"][1]["embedding"].as_array().unwrap().len(), 8);
    assert_eq!(v["model"], "text-embedding-3-small");
    let got = gw.assert_upstream_clean(1);
    let up = &got[0];
    assert_eq!(up.path, "/v1/embeddings");
    assert_eq!(up.body["model"], "text-embedding-3-small");
    let first = up.body["input"][0].as_str().unwrap();
    assert!(first.contains("[EMAIL_1]") && first.contains("[CREDIT_CARD_1]"), "{first}");
    assert_eq!(up.body["input"][1], "nothing personal here");
    assert_eq!(up.body["encoding_format"], "float");
    assert_eq!(up.body["dimensions"], 8);
    assert!(up.body["user"].as_str().unwrap().starts_with("veil-"), "identity field hashed: {}", up.body);
    assert_eq!(up.body["extra"]["note"], "call [PHONE_1]", "unknown fields are masked");
    // The vector is the provider's, for the masked text.
    assert_eq!(v["data"][0]["embedding"], json!(veil_mock::mock_vector(first)));

    let recs = gw.audit_records().await;
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r["route"], "/v1/embeddings");
    assert_eq!(r["client_api"], "openai");
    assert_eq!(r["provider"], "mock");
    assert_eq!(r["outcome"], "ok");
    assert_eq!(r["stream"], false);
    assert!(r["entities"]["EMAIL"]["mask"].as_u64().unwrap() >= 1, "{r}");
    assert!(r["usage"]["input_tokens"].as_u64().unwrap() > 0, "{r}");
    let text = std::fs::read_to_string(&gw.audit_path).unwrap();
    for value in VALUES {
        assert!(!text.contains(value), "raw value {value:?} in the audit log");
    }
}

#[tokio::test]
async fn texts_that_differ_only_in_a_masked_value_embed_alike() {
    let gw = gateway("").await;
    let a = json!({"model": "mock/emb", "input": "Write to jane.doe@example.com today"});
    let b = json!({"model": "mock/emb", "input": "Write to john.roe@example.org today"});
    let (_, va) = gw.post("/v1/embeddings", &a).await;
    let (_, vb) = gw.post("/v1/embeddings", &b).await;
    assert_eq!(va["data"][0]["embedding"], vb["data"][0]["embedding"]);
    let (_, vc) = gw.post("/v1/embeddings", &json!({"model": "mock/emb", "input": "Write to someone today"})).await;
    assert_ne!(va["data"][0]["embedding"], vc["data"][0]["embedding"]);
}

#[tokio::test]
async fn azure_embeddings_use_the_deployment_url_and_api_key() {
    let azure = MockProvider::start().await;
    let gw = gateway(&format!(
        "[providers.az]\nkind = \"azure\"\nbase_url = \"{}\"\napi_version = \"2024-10-21\"\napi_key_env = \"OPENAI_API_KEY\"\n",
        azure.azure_base_url()
    ))
    .await;
    let (status, v) = gw.post("/v1/embeddings", &json!({"model": "az/emb-small", "input": PROMPT})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    // And Azure's own URL shape from the client side.
    let r = gw
        .client
        .post(gw.url("/openai/deployments/az/emb-small/embeddings?api-version=2024-10-21"))
        .header("api-key", "client")
        .json(&json!({"input": [PROMPT], "encoding_format": "base64"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(v["data"][0]["embedding"].is_string(), "base64 as asked: {v}");
    let got = azure.received();
    assert_eq!(got.len(), 2);
    for r in &got {
        assert_eq!(r.path, "/openai/deployments/emb-small/embeddings");
        assert_eq!(r.query.as_deref(), Some("api-version=2024-10-21"));
        assert_eq!(r.header("api-key"), Some("sk-upstream-test"));
        assert_eq!(r.header("authorization"), None);
        let raw = r.body.to_string();
        for value in VALUES {
            assert!(!raw.contains(value), "raw value {value:?} reached Azure: {raw}");
        }
        assert!(raw.contains("[EMAIL_1]"), "{raw}");
    }
}

#[tokio::test]
async fn what_cannot_be_embedded_safely_is_refused() {
    let gw = gateway("").await;
    let cases = [
        (json!({"model": "mocka/claude", "input": "hi"}), 400, "has no embeddings endpoint"),
        (json!({"model": "mock/emb", "input": [1, 2, 3]}), 400, "token arrays cannot be masked"),
        (json!({"model": "mock/emb", "input": [[1, 2], [3]]}), 400, "token arrays cannot be masked"),
        (json!({"model": "mock/emb"}), 400, "input: missing"),
        (json!({"model": "nosuch/emb", "input": "x"}), 404, "unknown provider"),
    ];
    for (body, want, says) in cases {
        let (status, v) = gw.post("/v1/embeddings", &body).await;
        assert_eq!(status, want, "{body}: {v}");
        assert_openai_error(&v);
        assert!(v["error"]["message"].as_str().unwrap().contains(says), "{body}: {v}");
    }
    gw.assert_upstream_clean(0);
    let recs = gw.audit_records().await;
    assert_eq!(recs.len(), 5);
    assert!(recs.iter().all(|r| r["route"] == "/v1/embeddings" && r["outcome"] == "refused"), "{recs:?}");

    // Upstream failures map like chat: 401 -> 502, 429 keeps Retry-After.
    let (status, v) = gw.post("/v1/embeddings", &json!({"model": "mock/error=401", "input": "x"})).await;
    assert_eq!(status, 502, "{v}");
    let r = gw
        .client
        .post(gw.url("/v1/embeddings"))
        .json(&json!({"model": "mock/error=429", "input": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(r.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("7"));
}

#[tokio::test]
async fn blocked_labels_are_refused_and_aliases_fall_back() {
    let gw =
        gateway("[policy]\nUS_SSN = \"block\"\n[models.emb]\ntargets = [\"mock/error=503\", \"mock/emb\"]\n").await;
    let (status, v) = gw.post("/v1/embeddings", &json!({"model": "mock/emb", "input": ["ssn: 123-45-6789"]})).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("US_SSN"), "{v}");
    assert!(!v.to_string().contains("123-45-6789"));
    gw.assert_upstream_clean(0);
    let (status, v) = gw.post("/v1/embeddings", &json!({"model": "emb", "input": PROMPT})).await;
    assert_eq!(status, 200, "{v}");
    let got = gw.assert_upstream_clean(2);
    assert_eq!(got[1].body["model"], "emb");
}

#[tokio::test]
async fn gemini_embeds_masked_inputs_in_one_batch_call() {
    let gemini = MockProvider::start().await;
    let gw = gateway(&format!(
        "[providers.gm]\nkind = \"gemini\"\nbase_url = \"{}\"\napi_key_env = \"OPENAI_API_KEY\"\n",
        gemini.gemini_base_url()
    ))
    .await;
    let body = json!({"model": "gm/text-embedding-004", "input": [PROMPT, "nothing personal here"],
                      "dimensions": 4, "user": "jane.doe@example.com"});
    let (status, v) = gw.post("/v1/embeddings", &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "text-embedding-004");
    let got = gemini.received();
    assert_eq!(got.len(), 1, "one batchEmbedContents call for both inputs");
    let up = &got[0];
    assert_eq!(up.path, "/v1beta/models/text-embedding-004:batchEmbedContents");
    assert_eq!(up.header("x-goog-api-key"), Some("sk-upstream-test"));
    assert_eq!(up.header("authorization"), None);
    let raw = up.body.to_string();
    for value in VALUES {
        assert!(!raw.contains(value), "raw value {value:?} reached Gemini: {raw}");
    }
    assert!(!raw.contains("veil-"), "Gemini has no end-user field: {raw}");
    let reqs = up.body["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 2);
    let first = reqs[0]["content"]["parts"][0]["text"].as_str().unwrap();
    assert!(first.contains("[EMAIL_1]"), "{first}");
    assert_eq!(reqs[1]["content"]["parts"][0]["text"], "nothing personal here");
    assert_eq!(reqs[0]["model"], "models/text-embedding-004");
    assert_eq!(reqs[0]["outputDimensionality"], 4);
    // The vectors are Google's for the masked text, in OpenAI's shape.
    let mut want = veil_mock::mock_vector(first);
    want.truncate(4);
    assert_eq!(v["data"][0]["embedding"], json!(want));
    assert_eq!(v["data"][1]["index"], 1);

    // base64 (what the OpenAI SDKs ask for by default) is encoded by Veil.
    let (status, v) =
        gw.post("/v1/embeddings", &json!({"model": "gm/e", "input": "x", "encoding_format": "base64"})).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["data"][0]["embedding"].is_string(), "{v}");
    // A field Gemini has no equivalent for is refused, naming it, and nothing is sent.
    let (status, v) = gw.post("/v1/embeddings", &json!({"model": "gm/e", "input": "x", "extra": "Jane"})).await;
    assert_eq!(status, 400, "{v}");
    assert_openai_error(&v);
    assert!(v["error"]["message"].as_str().unwrap().contains("extra"), "{v}");
    assert!(!v.to_string().contains("Jane"));
    assert_eq!(gemini.received().len(), 2);
    // Upstream errors map as for chat.
    let (status, _) = gw.post("/v1/embeddings", &json!({"model": "gm/error=403", "input": "x"})).await;
    assert_eq!(status, 502);
    let recs = gw.audit_records().await;
    assert_eq!(recs[0]["provider"], "gm");
    assert_eq!(recs[0]["outcome"], "ok");
}
