//! The audit review page over real HTTP: traffic through the gateway shows up in
//! `/ui/api`, filters and the detail work, no answer holds a raw value, "try it" masks
//! without recording, and the admin key guards it when keys are configured.

use crate::common::{anthropic_body, gateway, openai_body, Gateway, PROMPT, VALUES};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const NAME: &str = "Marta Kowalczyk";

async fn get(gw: &Gateway, path: &str, auth: Option<&str>) -> (u16, Value, String) {
    let mut req = gw.client.get(gw.url(path));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), text)
}

fn assert_no_raw_value(what: &str, text: &str) {
    for v in VALUES.iter().chain([&NAME]) {
        assert!(!text.contains(v), "{what} holds the raw value {v:?}: {text}");
    }
}

#[tokio::test]
async fn traffic_shows_up_without_raw_values() {
    let gw = gateway("[detect.deny]\nPERSON = [\"Marta Kowalczyk\"]\n").await;
    let prompt = format!("{PROMPT} Regards, {NAME}");
    assert_eq!(gw.post("/v1/chat/completions", &openai_body("mock/echo", &prompt, false)).await.0, 200);
    assert_eq!(gw.post("/v1/messages", &anthropic_body("mocka/echo", "no personal data here", false)).await.0, 200);
    assert_eq!(gw.post("/v1/chat/completions", &openai_body("nosuch/model", "hi", false)).await.0, 404);
    assert_eq!(gw.audit_records().await.len(), 3);

    let (s, page, text) = get(&gw, "/ui/api/records", None).await;
    assert_eq!(s, 200, "{text}");
    assert_eq!(page["total"], 3);
    assert_no_raw_value("/ui/api/records", &text);
    let rows = page["records"].as_array().unwrap();
    assert_eq!(rows[0]["outcome"], "refused");
    assert_eq!(rows[2]["provider"], "mock");
    assert_eq!(rows[2]["entities"]["PERSON"]["mask"], 1);
    assert_eq!(rows[2]["entities"]["EMAIL"]["mask"], 1);

    for (q, want) in [("label=PERSON", 1), ("outcome=refused", 1), ("provider=mocka", 1), ("outcome=ok", 2)] {
        let (s, v, _) = get(&gw, &format!("/ui/api/records?{q}"), None).await;
        assert_eq!(s, 200);
        assert_eq!(v["total"], want, "{q}");
    }

    let seq = rows[2]["seq"].as_u64().unwrap();
    let (s, detail, text) = get(&gw, &format!("/ui/api/records/{seq}"), None).await;
    assert_eq!(s, 200);
    assert_no_raw_value("the detail", &text);
    let findings = detail["record"]["findings"].as_array().unwrap();
    let person = findings.iter().find(|f| f["label"] == "PERSON").unwrap();
    assert_eq!(person["action"], "mask");
    assert!(person["placeholder"].as_str().unwrap().starts_with("[PERSON_"), "{person}");
    assert_eq!(person["hmac"].as_str().unwrap().len(), 64);

    let (s, v, text) = get(&gw, "/ui/api/series", None).await;
    assert_eq!(s, 200);
    assert_no_raw_value("/ui/api/series", &text);
    assert_eq!(v["totals"]["requests"], 3);
    assert_eq!(v["totals"]["entities"]["PERSON"], 1);
    let (s, v, text) = get(&gw, "/ui/api/meta", None).await;
    assert_eq!(s, 200);
    assert_no_raw_value("/ui/api/meta", &text);
    assert_eq!(v["providers"], json!(["mock", "mocka"]));
    let (s, v, _) = get(&gw, "/ui/api/verify", None).await;
    assert_eq!(s, 200);
    assert_eq!(v["intact"], true, "{v}");
    assert_eq!(v["records"], 3);

    // Try it: masked, nothing forwarded, nothing audited.
    let r = gw
        .client
        .post(gw.url("/ui/api/try"))
        .json(&json!({"text": format!("mail {} or ask {NAME}", VALUES[0])}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let text = r.text().await.unwrap();
    assert_no_raw_value("/ui/api/try", &text);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["masked"], "mail [EMAIL_1] or ask [PERSON_1]");
    assert_eq!(gw.audit_records().await.len(), 3, "try it wrote an audit record");
    gw.assert_upstream_clean(2);

    // The page itself: embedded, same-origin only.
    let r = gw.client.get(gw.url("/ui")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'"));
    let html = r.text().await.unwrap();
    assert!(html.contains("<script src=\"/ui/app.js\""), "{html}");
}

#[tokio::test]
async fn admin_key_guards_the_page() {
    let hex = |s: &str| hex::encode(Sha256::digest(s.as_bytes()));
    let gw = gateway(&format!(
        "[[keys]]\nid = \"app\"\nsha256 = \"{}\"\n[ui]\nadmin_sha256 = \"{}\"\n",
        hex("caller-key"),
        hex("admin-key")
    ))
    .await;
    let r = gw
        .client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth("caller-key")
        .json(&openai_body("mock/echo", PROMPT, false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    gw.audit_records().await;
    for path in ["/ui", "/ui/api/records", "/ui/api/verify"] {
        let (s, _, _) = get(&gw, path, None).await;
        assert_eq!(s, 401, "{path}");
        assert_eq!(get(&gw, path, Some("Bearer caller-key")).await.0, 401, "{path}");
        let r = gw.client.get(gw.url(path)).basic_auth("admin", Some("admin-key")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
    }
    let (s, v, _) = get(&gw, "/ui/api/records", Some("Bearer admin-key")).await;
    assert_eq!(s, 200);
    assert_eq!(v["records"][0]["key_id"], "app");
}

#[tokio::test]
async fn disabled_page_is_gone() {
    let gw = gateway("[ui]\nenabled = false\n").await;
    for path in ["/ui", "/ui/api/records", "/ui/api/series"] {
        assert_eq!(get(&gw, path, None).await.0, 404, "{path}");
    }
}
