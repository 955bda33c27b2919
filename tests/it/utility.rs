//! Ordinary prompts reach the provider unchanged (issue: a utility goal beside the leak
//! goals): with the built-in model, a prompt about languages, units, regions, versions and
//! timestamps arrives byte for byte as sent, while the same style of prompt with a private
//! person's name and street address arrives without them. Large regions are recorded in
//! the audit log as allowed LOCATIONs of kind `region`; `"LOCATION.region" = "mask"`
//! masks them too.

use crate::common::*;

const ORDINARY: &str = "Translate 'good morning' into Swedish and Korean, explain how Kelvin relates to \
Celsius, and name the highest peak of the Himalayas. We run Python 3.12 on Windows 11 since 2019; \
the job failed at 2024-03-15T10:00:00Z.";

const PRIVATE: &str = "Translate 'good morning' into Swedish for my neighbour Ingrid Lindqvist, who lives at \
14 Birch Lane in Uppsala, and explain how Kelvin relates to Celsius.";

#[tokio::test]
async fn an_ordinary_prompt_arrives_unchanged_and_a_private_one_does_not() {
    let gw = gateway("[detect]\n").await;
    let (status, v) = gw.post("/v1/chat/completions", &openai_body("mock/echo", ORDINARY, false)).await;
    assert_eq!(status, 200, "{v}");
    let sent = gw.mock.received();
    assert_eq!(sent[0].body["messages"][1]["content"], ORDINARY, "the provider got exactly what the app sent");

    gw.mock.clear();
    let (status, v) = gw.post("/v1/chat/completions", &openai_body("mock/echo", PRIVATE, false)).await;
    assert_eq!(status, 200, "{v}");
    let sent = gw.mock.received()[0].body["messages"][1]["content"].as_str().unwrap().to_string();
    for value in ["Ingrid", "Lindqvist", "Birch Lane"] {
        assert!(!sent.contains(value), "{value:?} reached the provider: {sent}");
    }
    // The ordinary words around them stay.
    for word in ["Swedish", "Kelvin", "Celsius"] {
        assert!(sent.contains(word), "{word:?} was masked: {sent}");
    }
    assert_eq!(v["choices"][0]["message"]["content"], format!("You said: {PRIVATE}"), "restored");
}

#[tokio::test]
async fn regions_are_allowed_and_audited_by_kind_unless_the_policy_masks_them() {
    let text = "Plan two weeks across the Himalayas and the Baltic Sea, then northern Italy.";
    let gw = gateway("[detect]\n").await;
    let (status, _) = gw.post("/v1/chat/completions", &openai_body("mock/echo", text, false)).await;
    assert_eq!(status, 200);
    assert_eq!(gw.mock.received()[0].body["messages"][1]["content"], text);
    let recs = gw.audit_records().await;
    let findings = recs[0]["findings"].as_array().cloned().unwrap_or_default();
    assert!(
        findings.iter().any(|f| f["label"] == "LOCATION" && f["kind"] == "region" && f["action"] == "allow"),
        "no allowed region in {findings:?}"
    );

    let gw = gateway("[detect]\n[policy]\n\"LOCATION.region\" = \"mask\"\n").await;
    let (status, _) = gw.post("/v1/chat/completions", &openai_body("mock/echo", text, false)).await;
    assert_eq!(status, 200);
    let sent = gw.mock.received()[0].body["messages"][1]["content"].as_str().unwrap().to_string();
    assert!(sent.contains("[LOCATION_"), "regions were not masked: {sent}");
}

#[tokio::test]
async fn public_figures_are_masked_by_default_and_left_alone_when_allowed() {
    let text = "How did Albert Einstein explain the photoelectric effect, and what did Marie Curie discover?";
    let gw = gateway("[detect]\n").await;
    let (status, _) = gw.post("/v1/chat/completions", &openai_body("mock/echo", text, false)).await;
    assert_eq!(status, 200);
    let sent = gw.mock.received()[0].body["messages"][1]["content"].as_str().unwrap().to_string();
    assert!(!sent.contains("Einstein") && !sent.contains("Curie"), "default masks the names: {sent}");

    let gw = gateway("[detect]\npublic_figures = \"allow\"\n").await;
    let (status, _) = gw.post("/v1/chat/completions", &openai_body("mock/echo", text, false)).await;
    assert_eq!(status, 200);
    assert_eq!(gw.mock.received()[0].body["messages"][1]["content"], text, "listed public figures stay");
    // A private person in the same prompt is still masked.
    let private = "How did Albert Einstein explain it to my colleague Ingrid Lindqvist?";
    gw.mock.clear();
    let (status, _) = gw.post("/v1/chat/completions", &openai_body("mock/echo", private, false)).await;
    assert_eq!(status, 200);
    let sent = gw.mock.received()[0].body["messages"][1]["content"].as_str().unwrap().to_string();
    assert!(sent.contains("Albert Einstein") && !sent.contains("Lindqvist"), "{sent}");
}
