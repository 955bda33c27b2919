//! Policy actions, API keys and rate limits, deny/allow lists, and the audit chain.

use crate::common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

#[tokio::test]
async fn block_refuses_and_names_only_the_label() {
    let gw = gateway("[policy]\nCREDIT_CARD = \"block\"\n").await;
    let (s, v) = gw.post("/v1/chat/completions", &openai_body("mock/echo", PROMPT, false)).await;
    assert_eq!(s, 400, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("CREDIT_CARD") && !msg.contains("4111"), "{msg}");
    gw.assert_upstream_clean(0);
    let recs = gw.audit_records().await;
    assert_eq!(recs[0]["outcome"], "blocked");
}

#[tokio::test]
async fn redact_hash_and_allow_are_applied() {
    let gw = gateway("[policy]\nEMAIL = \"redact\"\nCREDIT_CARD = \"hash\"\nIP_ADDRESS = \"allow\"\n").await;
    let (s, v) = gw.post("/v1/chat/completions", &openai_body("mock/echo", PROMPT, false)).await;
    assert_eq!(s, 200, "{v}");
    let got = gw.mock.received();
    let up = got[0].body.to_string();
    assert!(up.contains("[REDACTED_EMAIL]"), "{up}");
    assert!(up.contains("[CREDIT_CARD#"), "{up}");
    assert!(up.contains("2001:db8::8a2e:370:7334"), "allowed values pass: {up}");
    // Redacted values are not restored.
    let out = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(out.contains("[REDACTED_EMAIL]") && out.contains("+1 415 555 0132"), "{out}");
}

#[tokio::test]
async fn deny_and_allow_lists() {
    let gw = gateway(
        "[detect]\nmodel = \"none\"\nallow = [\"jane.doe@example.com\"]\n[detect.deny]\nORGANIZATION = [\"Project Falcon\"]\n",
    )
        .await;
    let text = "Status of project falcon for jane.doe@example.com";
    let (s, _) = gw.post("/v1/chat/completions", &openai_body("mock/echo", text, false)).await;
    assert_eq!(s, 200);
    let up = gw.mock.received()[0].body.to_string();
    assert!(up.contains("[ORGANIZATION_1]") && up.contains("jane.doe@example.com"), "{up}");
}

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[tokio::test]
async fn api_keys_models_and_rate_limits() {
    let toml = format!("[[keys]]\nid = \"team-a\"\nsha256 = \"{}\"\nmodels = [\"mock/*\"]\nrpm = 3\n", sha("secret-a"));
    let gw = gateway(&toml).await;
    let url = gw.url("/v1/chat/completions");
    let body = openai_body("mock/echo", "hi", false);
    let r = gw.client.post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = gw.client.post(&url).bearer_auth("wrong").json(&body).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = gw.client.post(&url).bearer_auth("secret-a").json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Anthropic SDKs send x-api-key.
    let r = gw
        .client
        .post(gw.url("/v1/messages"))
        .header("x-api-key", "secret-a")
        .json(&anthropic_body("mocka/echo", "hi", false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "model not allowed for this key");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "error");
    let r = gw.client.post(&url).bearer_auth("secret-a").json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = gw.client.post(&url).bearer_auth("secret-a").json(&body).send().await.unwrap();
    assert_eq!(r.status(), 429, "rpm = 3, and the refused 403 counted too");
    // Health stays public.
    assert_eq!(gw.client.get(gw.url("/healthz")).send().await.unwrap().status(), 200);
    let recs = gw.audit_records().await;
    assert!(recs.iter().any(|r| r["key_id"] == "team-a"));
    let raw = std::fs::read_to_string(&gw.audit_path).unwrap();
    assert!(!raw.contains("secret-a"));
}

#[tokio::test]
async fn audit_chain_verifies_after_concurrent_requests() {
    let gw = gateway("").await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let client = gw.client.clone();
        let url = gw.url(if i % 2 == 0 { "/v1/chat/completions" } else { "/v1/messages" });
        let body = if i % 2 == 0 {
            openai_body("mock/echo", PROMPT, i % 4 == 0)
        } else {
            anthropic_body("mocka/echo", PROMPT, i % 3 == 0)
        };
        tasks.push(tokio::spawn(
            async move { client.post(url).json(&body).send().await.unwrap().text().await.unwrap() },
        ));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let recs = gw.audit_records().await;
    assert_eq!(recs.len(), 24);
    let report = veil::audit::verify(&gw.audit_path, Some(b"integration-test-key")).unwrap();
    assert_eq!(report.records, 24);
    assert!(veil::audit::verify(&gw.audit_path, Some(b"another-key")).is_err());
}
