//! Router tests without sockets for the review page: access rules, filters, paging, the
//! detail, chain status, charts and "try it".

use super::*;
use crate::audit::{outcome, AuditFinding, AuditHandle, AuditRecord, AuditWriterTask, Latency};
use crate::config::Config;
use crate::mask::ValueHasher;
use crate::providers::ApiKind;
use axum::body::Body;
use http::Request as HttpRequest;
use serde_json::Value;
use std::collections::HashMap;
use tower::ServiceExt;

const ADMIN_KEY: &str = "admin-secret-1";
const CALLER_KEY: &str = "caller-key-1";

fn sha_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

struct Fixture {
    state: AppState,
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    _writer: AuditWriterTask,
}

/// Record `i` of the fixture log: every third one has an e-mail, every fourth is refused,
/// keys and providers alternate; one per minute from 2026-12-01T10:00:00Z.
fn record(i: usize) -> AuditRecord {
    let mut r = AuditRecord::new(format!("req-{i}"), "/v1/chat/completions", ApiKind::OpenAi);
    r.time = format!("2026-12-01T10:{:02}:00.000Z", i);
    r.key_id = Some(if i.is_multiple_of(2) { "team-a" } else { "team-b" }.into());
    r.provider = Some(if i.is_multiple_of(2) { "openai" } else { "anthropic" }.into());
    r.model = Some("gpt-4o".into());
    if i % 4 == 3 {
        r.outcome = outcome::REFUSED.into();
        r.status = 400;
    } else {
        r.outcome = outcome::OK.into();
        r.status = 200;
        r.upstream_status = Some(200);
    }
    if i.is_multiple_of(3) {
        r.entities.entry("EMAIL".into()).or_default().insert("mask".into(), 1);
        r.findings.push(AuditFinding {
            label: "EMAIL".into(),
            kind: None,
            action: "mask".into(),
            detector: "pattern".into(),
            placeholder: Some("[EMAIL_1]".into()),
            hmac: "ab".repeat(32),
        });
    }
    r.latency_ms = Latency { mask: 0.5, upstream: 100.0 + i as f64, restore: 0.1, total: 101.0 + i as f64 };
    r
}

async fn fixture(extra_toml: &str, records: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let toml = format!(
        "[detect]\nmodel = \"none\"\n[audit]\npath = \"{}\"\n{extra_toml}",
        path.display().to_string().replace('\\', "/")
    );
    let config = Config::from_toml(&toml, &HashMap::new()).unwrap();
    let key = b"ui-test-key".to_vec();
    let (audit, writer) = AuditHandle::open(&path, &key).await.unwrap();
    for i in 0..records {
        audit.record(record(i));
    }
    audit.flush().await;
    let state = AppState::build(config, audit, ValueHasher::new(&key)).unwrap();
    Fixture { state, _dir: dir, path, _writer: writer }
}

async fn call(
    state: &AppState,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, HeaderMap, Value) {
    let mut req = HttpRequest::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if !body.is_empty() {
        req = req.header("content-type", "application/json");
    }
    let resp = crate::app(state.clone()).oneshot(req.body(Body::from(body.to_string())).unwrap()).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, headers, json)
}

async fn get(state: &AppState, uri: &str) -> (StatusCode, Value) {
    let (s, _, v) = call(state, "GET", uri, &[], "").await;
    (s, v)
}

fn seqs(v: &Value) -> Vec<u64> {
    v["records"].as_array().unwrap().iter().map(|r| r["seq"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn disabled_page_is_not_found() {
    let f = fixture("[ui]\nenabled = false\n", 2).await;
    for uri in ["/ui", "/ui/app.js", "/ui/api/records", "/ui/api/records/1", "/ui/api/verify", "/ui/api/series"] {
        assert_eq!(get(&f.state, uri).await.0, StatusCode::NOT_FOUND, "{uri}");
    }
    let (s, _, _) = call(&f.state, "POST", "/ui/api/try", &[], r#"{"text":"a@b.example"}"#).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admin_key_is_required_when_keys_are_configured() {
    let extra = format!(
        "[[keys]]\nid = \"app\"\nsha256 = \"{}\"\n[ui]\nadmin_sha256 = \"{}\"\n",
        sha_hex(CALLER_KEY),
        sha_hex(ADMIN_KEY)
    );
    let f = fixture(&extra, 3).await;
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_KEY}")));
    let bearer = format!("Bearer {ADMIN_KEY}");
    let caller = format!("Bearer {CALLER_KEY}");
    for uri in ["/ui", "/ui/api/records", "/ui/api/meta", "/ui/api/verify"] {
        let (s, h, body) = call(&f.state, "GET", uri, &[], "").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(h[WWW_AUTHENTICATE].to_str().unwrap().starts_with("Basic "), "{uri}");
        assert_eq!(body["error"]["type"], "unauthorized");
        // A gateway caller key does not open the page.
        assert_eq!(call(&f.state, "GET", uri, &[("authorization", &caller)], "").await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(
            call(&f.state, "GET", uri, &[("authorization", "Bearer wrong")], "").await.0,
            StatusCode::UNAUTHORIZED
        );
        for auth in [&basic, &bearer] {
            let (s, h, _) = call(&f.state, "GET", uri, &[("authorization", auth.as_str())], "").await;
            assert_eq!(s, StatusCode::OK, "{uri} {auth}");
            assert_eq!(h[CONTENT_SECURITY_POLICY], CSP);
        }
        assert_eq!(call(&f.state, "GET", uri, &[("x-api-key", ADMIN_KEY)], "").await.0, StatusCode::OK);
    }
    // The gateway's own routes still take caller keys, not the admin key.
    let (s, _, _) = call(&f.state, "GET", "/v1/models", &[("authorization", &bearer)], "").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = call(&f.state, "GET", "/v1/models", &[("authorization", &caller)], "").await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn keys_without_an_admin_key_keep_the_page_closed() {
    let extra = format!("[[keys]]\nid = \"app\"\nsha256 = \"{}\"\n", sha_hex(CALLER_KEY));
    let f = fixture(&extra, 1).await;
    let (s, _, body) =
        call(&f.state, "GET", "/ui/api/records", &[("authorization", &format!("Bearer {CALLER_KEY}"))], "").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(body["error"]["message"].as_str().unwrap().contains("[ui] admin_sha256"), "{body}");
}

#[tokio::test]
async fn keyless_page_is_open_on_loopback_only() {
    let f = fixture("", 1).await;
    let (s, h, body) = call(&f.state, "GET", "/ui", &[], "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[CONTENT_SECURITY_POLICY], CSP);
    assert!(h[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let html = body.as_str().unwrap();
    assert!(html.contains("app.js") && !html.contains("http://") && !html.contains("https://"), "{html}");
    let (s, h, _) = call(&f.state, "GET", "/ui/app.js", &[], "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(h[CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"));

    let open = fixture("[server]\nlisten = \"0.0.0.0:8787\"\n", 1).await;
    let (s, body) = get(&open.state, "/ui/api/records").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(body["error"]["message"].as_str().unwrap().contains("admin_sha256"));
    // With an admin key a non-loopback listener is fine.
    let keyed =
        fixture(&format!("[server]\nlisten = \"0.0.0.0:8787\"\n[ui]\nadmin_sha256 = \"{}\"\n", sha_hex(ADMIN_KEY)), 1)
            .await;
    assert_eq!(call(&keyed.state, "GET", "/ui/api/records", &[("x-api-key", ADMIN_KEY)], "").await.0, StatusCode::OK);
}

#[tokio::test]
async fn filters_narrow_the_records() {
    let f = fixture("", 12).await;
    let (s, all) = get(&f.state, "/ui/api/records").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(all["total"], 12);
    // Newest first.
    assert_eq!(seqs(&all), (1..=12).rev().collect::<Vec<u64>>());
    let row = &all["records"][0];
    assert_eq!(row["request_id"], "req-11");
    assert_eq!(row["latency_ms"]["upstream"], 111.0);
    assert!(row.get("findings").unwrap().is_u64(), "rows carry the number of findings, not the findings");

    // seq = i + 1 for record i.
    let cases: &[(&str, Vec<u64>)] = &[
        ("label=EMAIL", vec![10, 7, 4, 1]),
        ("outcome=refused", vec![12, 8, 4]),
        ("provider=anthropic", vec![12, 10, 8, 6, 4, 2]),
        ("key=team-a&label=EMAIL", vec![7, 1]),
        ("model=openai/gpt-4o&outcome=refused", vec![]),
        ("since=2026-12-01T10:05:00Z&until=2026-12-01T10:08:00Z", vec![8, 7, 6]),
        ("outcome=ok&outcome=refused&label=EMAIL&order=oldest", vec![1, 4, 7, 10]),
        // Empty form fields are ignored.
        ("label=&provider=&outcome=refused", vec![12, 8, 4]),
    ];
    for (q, want) in cases {
        let (s, v) = get(&f.state, &format!("/ui/api/records?{q}")).await;
        assert_eq!(s, StatusCode::OK, "{q}: {v}");
        assert_eq!(&seqs(&v), want, "{q}");
        assert_eq!(v["total"], want.len(), "{q}");
    }
    for (q, want) in [
        ("label=EMIAL", "label \"EMIAL\": not a label"),
        ("outcome=failed", "not an outcome"),
        ("since=yesterday", "since \"yesterday\""),
        ("colour=red", "unknown query parameter \"colour\""),
        ("limit=0", "at least 1"),
        ("limit=5000", "up to 1000"),
        ("offset=-1", "offset \"-1\""),
    ] {
        let (s, v) = get(&f.state, &format!("/ui/api/records?{q}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(v["error"]["type"], "invalid_request");
        assert!(v["error"]["message"].as_str().unwrap().contains(want), "{q}: {v}");
    }
}

#[tokio::test]
async fn pages_walk_the_matches() {
    let f = fixture("", 7).await;
    let mut got = Vec::new();
    for offset in [0, 3, 6] {
        let (s, v) = get(&f.state, &format!("/ui/api/records?limit=3&offset={offset}")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["total"], 7);
        assert_eq!(v["limit"], 3);
        assert_eq!(v["offset"], offset);
        got.extend(seqs(&v));
    }
    assert_eq!(got, [7, 6, 5, 4, 3, 2, 1]);
    let (_, v) = get(&f.state, "/ui/api/records?limit=3&offset=9").await;
    assert_eq!(seqs(&v), Vec::<u64>::new());
    assert_eq!(v["total"], 7);
    let (_, v) = get(&f.state, "/ui/api/records?limit=2&offset=1&label=EMAIL").await;
    assert_eq!(seqs(&v), [4, 1]);
    // `limit` is the page size only where there are pages.
    assert_eq!(get(&f.state, "/ui/api/series?limit=2").await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn detail_and_chain_status() {
    let f = fixture("", 4).await;
    let (s, v) = get(&f.state, "/ui/api/records/1").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["seq"], 1);
    let finding = &v["record"]["findings"][0];
    assert_eq!(finding["label"], "EMAIL");
    assert_eq!(finding["placeholder"], "[EMAIL_1]");
    assert_eq!(finding["hmac"], "ab".repeat(32));
    assert_eq!(v["chain"]["prev_hash"], crate::audit::ZERO_HASH);
    assert_eq!(v["chain"]["hash"].as_str().unwrap().len(), 64);
    let (s, v) = get(&f.state, "/ui/api/records/99").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["message"], "no record with seq 99");
    assert_eq!(get(&f.state, "/ui/api/records/x").await.0, StatusCode::BAD_REQUEST);

    let (s, v) = get(&f.state, "/ui/api/verify").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["intact"], true, "{v}");
    assert_eq!(v["records"], 4);
    assert_eq!(v["last_seq"], 4);
    // Edit one record in place: the chain breaks at that line.
    let text = std::fs::read_to_string(&f.path).unwrap();
    std::fs::write(&f.path, text.replacen("\"req-2\"", "\"req-X\"", 1)).unwrap();
    let (s, v) = get(&f.state, "/ui/api/verify").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["intact"], false);
    assert!(v["problem"].as_str().unwrap().contains("line 3"), "{v}");
}

#[tokio::test]
async fn series_sums_up_per_bucket() {
    let f = fixture("", 12).await;
    let (s, v) = get(&f.state, "/ui/api/series?buckets=4").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let buckets = v["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 4);
    // 12 records one minute apart: 11 minutes + 1 ms in 4 buckets of 166 s.
    assert_eq!(v["bucket_seconds"], 166);
    let requests: Vec<u64> = buckets.iter().map(|b| b["requests"].as_u64().unwrap()).collect();
    assert_eq!(requests.iter().sum::<u64>(), 12);
    assert_eq!(requests, [3, 3, 3, 3]);
    assert_eq!(buckets[0]["start"], "2026-12-01T10:00:00Z");
    // Bucket 0 holds records 0, 1, 2: totals 101, 102, 103.
    assert_eq!(buckets[0]["p50_ms"], 102.0);
    assert_eq!(buckets[0]["p95_ms"], 103.0);
    assert_eq!(buckets[0]["mask_ms"], 0.5);
    assert_eq!(buckets[0]["upstream_ms"], 101.0);
    assert_eq!(buckets[0]["entities"]["EMAIL"], 1);
    assert_eq!(v["totals"]["entities"]["EMAIL"], 4);
    assert_eq!(v["totals"]["outcomes"]["refused"], 3);
    assert_eq!(v["totals"]["outcomes"]["ok"], 9);
    let (_, v) = get(&f.state, "/ui/api/series?outcome=refused").await;
    assert_eq!(v["totals"]["requests"], 3);
    let empty = fixture("", 0).await;
    let (s, v) = get(&empty.state, "/ui/api/series").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["buckets"], serde_json::json!([]));
}

#[tokio::test]
async fn try_it_masks_without_recording() {
    let f = fixture("[policy]\nIBAN = \"block\"\n", 2).await;
    let before = std::fs::read_to_string(&f.path).unwrap();
    let email = "jane.roe@example.com";
    let (s, _, v) =
        call(&f.state, "POST", "/ui/api/try", &[], &format!(r#"{{"text":"write to {email} today"}}"#)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["masked"], "write to [EMAIL_1] today");
    assert_eq!(v["blocked"], serde_json::json!([]));
    assert_eq!(v["findings"][0]["label"], "EMAIL");
    assert_eq!(v["findings"][0]["action"], "mask");
    assert_eq!(v["findings"][0]["placeholder"], "[EMAIL_1]");
    assert!(!v.to_string().contains(email), "{v}");
    // The policy applies: a blocked label is reported, its value replaced.
    let (s, _, v) = call(&f.state, "POST", "/ui/api/try", &[], r#"{"text":"IBAN DE89 3704 0044 0532 0130 00"}"#).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["blocked"], serde_json::json!(["IBAN"]));
    assert!(!v["masked"].as_str().unwrap().contains("DE89"), "{v}");
    let (s, _, v) = call(&f.state, "POST", "/ui/api/try", &[], r#"{"txt":"jane.roe@example.com"}"#).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(!v.to_string().contains("jane.roe"), "{v}");
    f.state.audit.flush().await;
    assert_eq!(std::fs::read_to_string(&f.path).unwrap(), before, "try it wrote to the audit log");
}

#[test]
fn config_section() {
    let env = HashMap::new();
    let c = Config::from_toml("", &env).unwrap();
    assert_eq!(c.ui, crate::config::UiConfig { enabled: true, admin_sha256: None });
    let c = Config::from_toml(&format!("[ui]\nenabled = false\nadmin_sha256 = \"{}\"\n", sha_hex("k")), &env).unwrap();
    assert!(!c.ui.enabled);
    assert_eq!(c.ui.admin_sha256.map(hex::encode), Some(sha_hex("k")));
    let e = Config::from_toml("[ui]\nadmin_sha256 = \"abc\"\n", &env).unwrap_err().to_string();
    assert!(e.starts_with("ui.admin_sha256: must be 64 hex"), "{e}");
    let e = Config::from_toml("[ui]\ncolour = 1\n", &env).unwrap_err().to_string();
    assert!(e.contains("ui") && e.contains("colour"), "{e}");
}
