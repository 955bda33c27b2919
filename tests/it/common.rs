//! Shared set-up: a gateway bound to 127.0.0.1:0 with providers `mock` (OpenAI kind) and
//! `mocka` (Anthropic kind) pointing at one mock upstream that records what it received.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use veil::audit::{AuditHandle, AuditWriterTask};
use veil::config::Config;
use veil::mask::{Detector, ValueHasher};
use veil::AppState;
use veil_mock::MockProvider;

pub const VALUES: &[&str] = &[
    "jane.doe@example.com",
    "+1 415 555 0132",
    "4111 1111 1111 1111",
    "DE89 3704 0044 0532 0130 00",
    "2001:db8::8a2e:370:7334",
];

/// A prompt with structured PII and multi-byte characters around it.
pub const PROMPT: &str = "Grüße! Write to jane.doe@example.com (tel +1 415 555 0132) about card 4111 1111 1111 1111 \
     — refund IBAN DE89 3704 0044 0532 0130 00; host 2001:db8::8a2e:370:7334 日本語 ✓";

pub struct Gateway {
    pub addr: SocketAddr,
    pub mock: MockProvider,
    pub state: AppState,
    pub audit_path: PathBuf,
    pub _writer: AuditWriterTask,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

pub async fn gateway(extra_toml: &str) -> Gateway {
    gateway_with(extra_toml, None).await
}

/// `detectors` replaces the configured detectors (to inject failures).
pub async fn gateway_with(extra_toml: &str, detectors: Option<Vec<Arc<dyn Detector>>>) -> Gateway {
    let mock = MockProvider::start().await;
    let dir = tempfile::tempdir().unwrap();
    let audit_path = dir.path().join("audit.jsonl");
    let toml = format!(
        r#"
[providers.mock]
kind = "openai"
base_url = "{}"
[providers.mocka]
kind = "anthropic"
base_url = "{}"
{}[audit]
path = "{}"
{extra_toml}
"#,
        mock.openai_base_url(),
        mock.anthropic_base_url(),
        // Tests that configure [detect] themselves must set the model too.
        if extra_toml.contains("[detect]") { "" } else { "[detect]\nmodel = \"none\"\n" },
        audit_path.display()
    );
    let env: HashMap<String, String> = HashMap::from([("OPENAI_API_KEY".into(), "sk-upstream-test".into())]);
    let config = Config::from_toml(&toml, &env).unwrap();
    let key = b"integration-test-key".to_vec();
    let (audit, writer) = AuditHandle::open(&audit_path, &key).await.unwrap();
    let state = match detectors {
        None => AppState::build(config, audit, ValueHasher::new(&key)).unwrap(),
        Some(d) => AppState::with_detectors(config, audit, ValueHasher::new(&key), d).unwrap(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = veil::app(state.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Gateway { addr, mock, state, audit_path, _writer: writer, client: reqwest::Client::new(), _dir: dir, server }
}

impl Gateway {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self.client.post(self.url(path)).json(body).send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn post_raw(&self, path: &str, body: &str) -> (u16, Value) {
        let r = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Posts and returns the raw SSE body.
    pub async fn post_stream(&self, path: &str, body: &Value) -> (u16, String) {
        let r = self.client.post(self.url(path)).json(body).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    }

    /// Asserts the upstream got exactly `n` requests and none holds a raw value.
    pub fn assert_upstream_clean(&self, n: usize) -> Vec<veil_mock::Received> {
        let got = self.mock.received();
        assert_eq!(got.len(), n, "upstream request count");
        for r in &got {
            let raw = r.body.to_string();
            for v in VALUES {
                assert!(!raw.contains(v), "raw value {v:?} reached the provider: {raw}");
            }
        }
        got
    }

    /// Waits until every audit record sent so far is on disk; returns all records.
    pub async fn audit_records(&self) -> Vec<Value> {
        self.state.audit.flush().await;
        let text = std::fs::read_to_string(&self.audit_path).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn openai_body(model: &str, content: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "messages": [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": content}
    ]})
}

pub fn anthropic_body(model: &str, content: &str, stream: bool) -> Value {
    json!({"model": model, "max_tokens": 256, "stream": stream, "system": "You are helpful.",
           "messages": [{"role": "user", "content": content}]})
}

/// Parses an SSE body into (event name, data) pairs.
pub fn sse_events(body: &str) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    for frame in body.replace("\r\n", "\n").split("\n\n") {
        let mut event = None;
        let mut data: Vec<&str> = Vec::new();
        for line in frame.lines() {
            if let Some(e) = line.strip_prefix("event:") {
                event = Some(e.trim().to_string());
            } else if let Some(d) = line.strip_prefix("data:") {
                data.push(d.strip_prefix(' ').unwrap_or(d));
            }
        }
        if !data.is_empty() {
            out.push((event, data.join("\n")));
        }
    }
    out
}

/// Text and tool arguments a client reassembles from an OpenAI stream.
pub fn openai_stream_text(body: &str) -> (String, String, Option<String>) {
    let (mut text, mut args, mut finish) = (String::new(), String::new(), None);
    for (_, data) in sse_events(body) {
        if data == "[DONE]" {
            continue;
        }
        let v: Value = serde_json::from_str(&data).unwrap();
        assert!(v.get("error").is_none(), "error chunk: {v}");
        for c in v["choices"].as_array().into_iter().flatten() {
            if let Some(t) = c["delta"]["content"].as_str() {
                text.push_str(t);
            }
            for tc in c["delta"]["tool_calls"].as_array().into_iter().flatten() {
                if let Some(a) = tc["function"]["arguments"].as_str() {
                    args.push_str(a);
                }
            }
            if let Some(f) = c["finish_reason"].as_str() {
                finish = Some(f.to_string());
            }
        }
    }
    (text, args, finish)
}

/// Text and tool input JSON a client reassembles from an Anthropic stream.
pub fn anthropic_stream_text(body: &str) -> (String, String, Option<String>) {
    let (mut text, mut args, mut stop) = (String::new(), String::new(), None);
    for (_, data) in sse_events(body) {
        let v: Value = serde_json::from_str(&data).unwrap();
        match v["type"].as_str() {
            Some("content_block_delta") => {
                if let Some(t) = v["delta"]["text"].as_str() {
                    text.push_str(t);
                }
                if let Some(t) = v["delta"]["partial_json"].as_str() {
                    args.push_str(t);
                }
            }
            Some("message_delta") => stop = v["delta"]["stop_reason"].as_str().map(str::to_string),
            Some("error") => panic!("error event: {v}"),
            _ => {}
        }
    }
    (text, args, stop)
}
