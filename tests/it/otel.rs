//! Observability of the built `veil serve`: OpenTelemetry spans exported over OTLP/HTTP to an
//! in-process receiver (decoded with `opentelemetry-proto`), W3C `traceparent` to the
//! provider, no request value in any span; the `veil_requests_in_flight` gauge over
//! /metrics while a stream is open, and one metric prefix.
//!
//! Both tests run the binary (its own process, so the metrics recorder and the tracing
//! subscriber are its own) and stop it by its PID with SIGTERM, so that the exporter's
//! flush at shutdown is what delivers the spans.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use veil_mock::MockProvider;

const EMAIL: &str = "margaret.thornton@example.org";
const NAME: &str = "Margaret Thornton";
/// A client's trace context: its trace id must be continued.
const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

/// What the OTLP receiver got: each body raw, and decoded.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(Bytes, ExportTraceServiceRequest)>>>);

async fn traces(State(got): State<Received>, body: Bytes) -> axum::response::Response {
    let req = ExportTraceServiceRequest::decode(body.clone()).unwrap();
    got.0.lock().unwrap().push((body, req));
    axum::response::Response::builder().header("content-type", "application/x-protobuf").body(Body::empty()).unwrap()
}

/// An OTLP/HTTP receiver on 127.0.0.1:0 (`POST /v1/traces`).
async fn receiver() -> (String, Received, tokio::task::JoinHandle<()>) {
    let got = Received::default();
    let app = Router::new().route("/v1/traces", post(traces)).with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, got, task)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `veil serve` on a free port with `config`; waits until /readyz says 200.
async fn start_veil(dir: &Path, config: &str) -> (tokio::process::Child, String) {
    let cfg = dir.join("veil.toml");
    std::fs::write(&cfg, config).unwrap();
    let port = free_port();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--config"])
        .arg(&cfg)
        .env("OPENAI_API_KEY", "sk-upstream-test")
        .env("ANTHROPIC_API_KEY", "sk-ant-upstream-test")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("veil.log")).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            return (child, base);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("veil did not become ready: {}", std::fs::read_to_string(dir.join("veil.log")).unwrap_or_default());
}

/// SIGTERM by PID, then wait for a clean exit.
async fn stop_veil(mut child: tokio::process::Child, dir: &Path) {
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait()).await.unwrap().unwrap();
    let log = std::fs::read_to_string(dir.join("veil.log")).unwrap_or_default();
    assert!(status.success(), "veil exited with {status}: {log}");
}

fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a any_value::Value> {
    span.attributes.iter().find(|kv: &&KeyValue| kv.key == key).and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn attr_str<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    match attr(span, key)? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

fn attr_int(span: &Span, key: &str) -> Option<i64> {
    match attr(span, key)? {
        any_value::Value::IntValue(n) => Some(*n),
        _ => None,
    }
}

fn attr_bool(span: &Span, key: &str) -> Option<bool> {
    match attr(span, key)? {
        any_value::Value::BoolValue(b) => Some(*b),
        _ => None,
    }
}

/// (trace id, parent span id) of a `traceparent` header.
fn parse_traceparent(v: &str) -> (String, String) {
    let parts: Vec<&str> = v.split('-').collect();
    assert_eq!(parts.len(), 4, "traceparent {v:?}");
    assert_eq!(parts[0], "00");
    assert_eq!(parts[3], "01", "sampled");
    (parts[1].to_string(), parts[2].to_string())
}

fn one<'a>(spans: &[&'a Span], name: &str) -> &'a Span {
    let found: Vec<&&Span> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "one {name:?} span in {:?}", spans.iter().map(|s| &s.name).collect::<Vec<_>>());
    found[0]
}

#[tokio::test]
async fn spans_reach_an_otlp_receiver_with_traceparent_and_no_request_values() {
    let (otlp, got, otlp_task) = receiver().await;
    let mock = MockProvider::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[providers.mock]\nkind = \"openai\"\nbase_url = \"{}\"\n[providers.mocka]\nkind = \"anthropic\"\n\
         base_url = \"{}\"\n[audit]\nenabled = false\n[telemetry]\notlp_endpoint = \"{otlp}\"\n\
         service_name = \"veil-test\"\n",
        mock.openai_base_url(),
        mock.anthropic_base_url(),
    );
    let (child, base) = start_veil(dir.path(), &config).await;
    let client = reqwest::Client::new();
    let prompt = format!("Please write to {NAME} at {EMAIL} about the invoice.");

    // A plain request that continues the client's trace.
    let r = client
        .post(format!("{base}/v1/chat/completions"))
        .header("traceparent", format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"))
        .header("tracestate", format!("client={}", "private"))
        .json(&json!({"model": "mock/echo", "messages": [{"role": "user", "content": prompt}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(v["choices"][0]["message"]["content"].as_str().unwrap().contains(EMAIL), "restored: {v}");

    // A stream on the other API, without a client trace: a new trace.
    let r = client
        .post(format!("{base}/v1/messages"))
        .json(&json!({"model": "mocka/echo", "max_tokens": 64, "stream": true,
                      "messages": [{"role": "user", "content": prompt}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("message_stop"), "{body}");

    stop_veil(child, dir.path()).await;

    // The provider got a traceparent for each request, and no tracestate.
    let upstream = mock.received();
    assert_eq!(upstream.len(), 2);
    let (plain_trace, plain_parent) = parse_traceparent(upstream[0].header("traceparent").expect("traceparent"));
    let (stream_trace, stream_parent) = parse_traceparent(upstream[1].header("traceparent").expect("traceparent"));
    assert_eq!(plain_trace, CLIENT_TRACE, "the client's trace is continued");
    assert_ne!(stream_trace, CLIENT_TRACE);
    assert!(upstream.iter().all(|r| r.header("tracestate").is_none()), "tracestate is not forwarded");

    // What was exported.
    let exports = got.0.lock().unwrap().clone();
    otlp_task.abort();
    assert!(!exports.is_empty(), "no OTLP export arrived");
    let mut spans: Vec<&Span> = Vec::new();
    for (_, req) in &exports {
        for rs in &req.resource_spans {
            let resource = rs.resource.as_ref().unwrap();
            let service = resource.attributes.iter().find(|kv| kv.key == "service.name").unwrap();
            assert_eq!(service.value.as_ref().unwrap().value, Some(any_value::Value::StringValue("veil-test".into())));
            for ss in &rs.scope_spans {
                spans.extend(ss.spans.iter());
            }
        }
    }
    let in_trace =
        |id: &str| -> Vec<&Span> { spans.iter().copied().filter(|s| hex::encode(&s.trace_id) == id).collect() };

    // The plain request: request → mask, upstream, restore, parented on the client's span.
    let plain = in_trace(CLIENT_TRACE);
    let request = one(&plain, "POST /v1/chat/completions");
    assert_eq!(hex::encode(&request.parent_span_id), CLIENT_SPAN);
    assert_eq!(request.kind, 2, "server span");
    assert_eq!(attr_int(request, "http.response.status_code"), Some(200), "{request:?}");
    assert_eq!(attr_str(request, "http.route"), Some("/v1/chat/completions"));
    assert_eq!(attr_bool(request, "veil.stream"), Some(false));
    let mask = one(&plain, "veil.mask");
    let up = one(&plain, "chat echo");
    let restore = one(&plain, "veil.restore");
    for child in [mask, up, restore] {
        assert_eq!(child.parent_span_id, request.span_id, "{} is a child of the request", child.name);
    }
    assert_eq!(hex::encode(&up.span_id), plain_parent, "the provider's parent is the upstream span");
    assert_eq!(up.kind, 3, "client span");
    assert_eq!(attr_str(up, "gen_ai.operation.name"), Some("chat"));
    assert_eq!(attr_str(up, "gen_ai.provider.name"), Some("openai"));
    assert_eq!(attr_str(up, "gen_ai.request.model"), Some("echo"));
    assert_eq!(attr_str(up, "veil.provider"), Some("mock"));
    assert_eq!(attr_int(up, "http.response.status_code"), Some(200));
    assert!(attr_int(up, "gen_ai.usage.input_tokens").is_some_and(|n| n > 0));
    assert!(attr_int(up, "gen_ai.usage.output_tokens").is_some_and(|n| n > 0));
    assert!(attr_int(mask, "veil.mask.entities").is_some_and(|n| n >= 2), "{mask:?}");
    let labels = attr_str(mask, "veil.mask.labels").unwrap();
    assert!(labels.contains("EMAIL") && labels.contains("PERSON"), "{labels}");
    assert!(attr_str(mask, "veil.mask.detectors").unwrap().contains("ner/"), "{mask:?}");
    assert!(attr(mask, "veil.ner.queue_ms").is_some(), "NER queue time: {mask:?}");
    for detector in ["pattern", "ner"] {
        assert!(attr(mask, &format!("veil.detector.{detector}.ms")).is_some(), "{detector} time: {mask:?}");
    }
    assert!(attr_int(restore, "veil.placeholders.restored").is_some_and(|n| n >= 2), "{restore:?}");

    // The stream: same shape, the upstream span is the provider's parent.
    let streamed = in_trace(&stream_trace);
    let request = one(&streamed, "POST /v1/messages");
    assert!(request.parent_span_id.is_empty(), "a new trace has a root span");
    assert_eq!(attr_bool(request, "veil.stream"), Some(true));
    let up = one(&streamed, "chat echo");
    assert_eq!(hex::encode(&up.span_id), stream_parent);
    assert_eq!(attr_str(up, "gen_ai.provider.name"), Some("anthropic"));
    assert!(attr_int(up, "gen_ai.usage.output_tokens").is_some_and(|n| n > 0), "{up:?}");
    for name in ["veil.mask", "veil.restore"] {
        assert_eq!(one(&streamed, name).parent_span_id, request.span_id);
    }

    // Nothing from the request anywhere in the export: not the e-mail address, not the
    // name, not a placeholder, not the client's tracestate.
    for (raw, decoded) in &exports {
        let text = format!("{decoded:?}");
        for needle in [EMAIL, NAME, "Margaret", "Thornton", "[EMAIL_", "[PERSON_", "private", "invoice"] {
            assert!(!text.contains(needle), "{needle:?} in an exported span: {text}");
            assert!(!raw.windows(needle.len()).any(|w| w == needle.as_bytes()), "{needle:?} in the OTLP bytes");
        }
        for span in decoded.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans) {
            assert!(span.trace_state.is_empty(), "tracestate is not exported");
            assert!(span.events.is_empty(), "no log events on spans: {span:?}");
        }
    }
}

/// An upstream whose stream the test holds open: one chunk at once, the rest on release.
async fn held_upstream() -> (String, Arc<tokio::sync::Semaphore>, tokio::task::JoinHandle<()>) {
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let r = release.clone();
    let app = Router::new().route(
        "/v1/chat/completions",
        post(move || {
            let release = r.clone();
            async move {
                let chunk = |text: &str, finish: Option<&str>| {
                    let c = json!({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "held",
                                   "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]});
                    Bytes::from(format!("data: {c}\n\n"))
                };
                let first = futures::stream::once(async move { Ok::<_, std::io::Error>(chunk("Hello", None)) });
                let rest = futures::stream::once(async move {
                    release.acquire().await.unwrap().forget();
                    Ok(Bytes::from(format!(
                        "{}data: [DONE]\n\n",
                        String::from_utf8_lossy(&chunk(" there", Some("stop")))
                    )))
                });
                axum::response::Response::builder()
                    .header("content-type", "text/event-stream")
                    .body(Body::from_stream(futures::StreamExt::chain(first, rest)))
                    .unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, release, task)
}

/// `veil_requests_in_flight` as /metrics shows it (0 before it was first set).
async fn in_flight(client: &reqwest::Client, base: &str) -> (f64, String) {
    let text = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    let value = text
        .lines()
        .find_map(|l| l.strip_prefix("veil_requests_in_flight "))
        .map_or(0.0, |v| v.trim().parse().unwrap());
    (value, text)
}

async fn wait_in_flight(client: &reqwest::Client, base: &str, want: f64) {
    for _ in 0..300 {
        if in_flight(client, base).await.0 == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("veil_requests_in_flight never became {want}: {}", in_flight(client, base).await.1);
}

#[tokio::test]
async fn in_flight_gauge_counts_open_streams_and_every_metric_is_veil_prefixed() {
    let (upstream, release, upstream_task) = held_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[providers.held]\nkind = \"openai\"\nbase_url = \"{upstream}\"\n[detect]\nmodel = \"none\"\n\
         [audit]\nenabled = false\n"
    );
    let (child, base) = start_veil(dir.path(), &config).await;
    let client = reqwest::Client::new();
    assert_eq!(in_flight(&client, &base).await.0, 0.0);
    let body = json!({"model": "held/held", "stream": true, "messages": [{"role": "user", "content": "hi"}]});

    // A stream that runs to its end: counted from the request until the last byte.
    let mut r = client.post(format!("{base}/v1/chat/completions")).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let first = r.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("Hello"));
    assert_eq!(in_flight(&client, &base).await.0, 1.0, "an open stream is in flight");
    release.add_permits(1);
    let mut rest = String::new();
    while let Some(c) = r.chunk().await.unwrap() {
        rest.push_str(&String::from_utf8_lossy(&c));
    }
    assert!(rest.contains("[DONE]"), "{rest}");
    wait_in_flight(&client, &base, 0.0).await;

    // A stream whose client leaves: the guard still takes it out.
    let mut r = client.post(format!("{base}/v1/chat/completions")).json(&body).send().await.unwrap();
    assert!(r.chunk().await.unwrap().is_some());
    assert_eq!(in_flight(&client, &base).await.0, 1.0);
    drop(r);
    release.add_permits(1);
    wait_in_flight(&client, &base, 0.0).await;

    // A refused request is counted while it runs and leaves no trace in the gauge.
    let r = client.post(format!("{base}/v1/chat/completions")).body("not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(in_flight(&client, &base).await.0, 0.0);

    // One prefix for every metric.
    let (_, text) = in_flight(&client, &base).await;
    let names: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap())
        .collect();
    assert!(names.contains(&"veil_requests_total"), "{text}");
    assert!(names.contains(&"veil_requests_in_flight"), "{text}");
    for n in names {
        assert!(n.starts_with("veil_"), "metric {n} lacks the veil_ prefix");
    }
    stop_veil(child, dir.path()).await;
    upstream_task.abort();
}
