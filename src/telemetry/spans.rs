//! The exported spans of one request, and the in-flight gauge. The pipeline calls these
//! helpers; they are the only place that names span attributes.
//!
//! ```text
//! POST /v1/chat/completions   (server)  the request, until its answer or stream ends
//! ├── veil.mask               (internal) detection and masking
//! ├── chat {model}            (client)  one upstream attempt (one per alias target tried)
//! └── veil.restore            (internal) placeholder restore (the whole stream when streaming)
//! ```
//!
//! Attributes follow the OpenTelemetry HTTP and GenAI semantic conventions where they apply
//! and hold only values from closed sets, counts, durations and the configured provider
//! and model names. They never hold text or values from a request or an answer: no
//! prompt, no entity value, no placeholder, no header. A model name is recorded only when
//! it looks like one (name characters and `/`), as in error messages. An incoming
//! `traceparent` is continued and the upstream attempt's own `traceparent` goes to the
//! provider; `tracestate` and baggage are neither forwarded nor exported.
//!
//! When tracing is off every helper returns or takes `Span::none()` and does nothing.

use super::metrics::IN_FLIGHT;
use super::otel::{enabled, TARGET};
use crate::config::{ProviderConfig, Target};
use crate::error::{ApiError, ErrorKind};
use crate::mask::{MaskReport, Masker, RestoreStats};
use crate::providers::ApiKind;
use axum::body::Body;
use axum::response::Response;
use futures::StreamExt as _;
use http::{HeaderMap, HeaderValue};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::field::Empty;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C trace context header.
pub const TRACEPARENT: &str = "traceparent";

/// Telemetry that lives as long as one request, its stream included: the request span and
/// a share of the in-flight gauge (decremented when the last clone drops, on success,
/// error and client cancel alike).
#[derive(Clone)]
pub struct RequestScope {
    span: Span,
    _in_flight: Arc<InFlight>,
}

impl RequestScope {
    /// Counts the request in flight and opens its span, continuing the client's
    /// `traceparent` if it sent a valid one.
    pub fn start(api: ApiKind, headers: &HeaderMap) -> RequestScope {
        RequestScope::start_route(api.route(), headers)
    }

    // >>> responses: the same scope for a route that is not an API's conversation route
    /// [`RequestScope::start`] for `route` (`/v1/responses`).
    pub fn start_route(route: &'static str, headers: &HeaderMap) -> RequestScope {
        // <<< responses
        let in_flight = Arc::new(InFlight::new());
        if !enabled() {
            return RequestScope { span: Span::none(), _in_flight: in_flight };
        }
        let span = tracing::info_span!(
            target: TARGET,
            "request",
            otel.name = %format!("POST {route}"),
            otel.kind = "server",
            otel.status_code = Empty,
            http.request.method = "POST",
            http.route = route,
            http.response.status_code = Empty,
            veil.stream = Empty,
            error.type = Empty,
        );
        let parent = TraceContextPropagator::new().extract(&TraceparentOnly(headers));
        if parent.span().span_context().is_valid() {
            let _ = span.set_parent(parent);
        }
        RequestScope { span, _in_flight: in_flight }
    }

    pub fn span(&self) -> &Span {
        &self.span
    }

    /// Records the answer's status (and error kind, from [`ErrorKind`]) on the request
    /// span. A streaming answer's body keeps the scope until it ends or the client leaves.
    pub fn respond(self, response: Response) -> Response {
        let status = response.status().as_u16();
        let stream = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        if !self.span.is_none() {
            self.span.record("http.response.status_code", i64::from(status));
            self.span.record("veil.stream", stream);
            if let Some(ErrorKind(kind)) = response.extensions().get::<ErrorKind>() {
                self.span.record("error.type", *kind);
            }
            // A server span is an error for 5xx answers only.
            if status >= 500 {
                self.span.record("otel.status_code", "error");
            }
        }
        if !stream {
            return response;
        }
        let (parts, body) = response.into_parts();
        let scope = self;
        let frames = body.into_data_stream().map(move |frame| {
            let _held = &scope;
            frame
        });
        Response::from_parts(parts, Body::from_stream(frames))
    }
}

/// The spans a streaming answer carries to its end: the request's, the upstream attempt's
/// and its own restore span.
pub struct StreamTrace {
    request: Span,
    upstream: Span,
    restore: Span,
}

impl StreamTrace {
    /// Called in the request span's context (`request` is the current span).
    pub fn new(upstream: Span) -> StreamTrace {
        StreamTrace { request: Span::current(), upstream, restore: restore() }
    }

    /// The stream ended: usage and restore counts, and `failure` (an error kind) when it
    /// broke or the client left (`client_cancelled`, not an error of Veil's).
    pub fn finish(
        &self,
        usage_: Option<(u64, u64)>,
        stats: RestoreStats,
        busy: Duration,
        failure: Option<&'static str>,
    ) {
        usage(&self.upstream, usage_);
        restored(&self.restore, stats, busy);
        if let Some(kind) = failure {
            self.request.record("error.type", kind);
            if kind != "client_cancelled" {
                self.request.record("otel.status_code", "error");
                upstream_failed(&self.upstream, kind);
            }
        }
    }
}

/// The masking span: detectors (by version) and, once done, entity counts by label.
pub fn mask(masker: &Masker) -> Span {
    if !enabled() {
        return Span::none();
    }
    tracing::info_span!(
        target: TARGET,
        "veil.mask",
        veil.mask.detectors = %masker.versions().join(","),
        veil.mask.entities = Empty,
        veil.mask.labels = Empty,
        otel.status_code = Empty,
        error.type = Empty,
    )
}

/// Records what masking found (counts and label names, never values) or why it refused.
pub fn masked(span: &Span, report: Result<&MaskReport, &'static str>) {
    if span.is_none() {
        return;
    }
    match report {
        Ok(r) => {
            let total: u64 = r.counts.values().map(|n| u64::from(*n)).sum();
            let labels: BTreeSet<&str> = r.counts.keys().map(|(l, _)| l.as_str()).collect();
            span.record("veil.mask.entities", int(total));
            span.record("veil.mask.labels", labels.into_iter().collect::<Vec<_>>().join(",").as_str());
        }
        Err(kind) => {
            span.record("error.type", kind);
            span.record("otel.status_code", "error");
        }
    }
}

/// Runs one detector and puts its time on the masking span (the current span there) as
/// `veil.detector.<name>.ms`.
pub async fn timed_detector<F: Future>(name: &'static str, detect: F) -> F::Output {
    if !enabled() {
        return detect.await;
    }
    let started = Instant::now();
    let out = detect.await;
    Span::current().set_attribute(format!("veil.detector.{name}.ms"), millis(started.elapsed()));
    out
}

/// The span a queued NER job reports its queue time to: the masking span while exporting.
pub fn ner_queue_span() -> Span {
    if enabled() {
        Span::current()
    } else {
        Span::none()
    }
}

/// A NER worker took the job queued at `queued`: `veil.ner.queue_ms` on its span.
pub fn ner_dequeued(span: &Span, queued: Instant) {
    if !span.is_none() {
        span.set_attribute("veil.ner.queue_ms", millis(queued.elapsed()));
    }
}

/// Counts as OpenTelemetry integers (`tracing-opentelemetry` would write a `u64` as text).
fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// One upstream attempt (a GenAI client span).
pub fn upstream(provider: &ProviderConfig, target: &Target) -> Span {
    if !enabled() {
        return Span::none();
    }
    let model = model_name(&target.model);
    let (host, port) = server(&provider.base_url);
    let system = provider.kind.as_str();
    let span = tracing::info_span!(
        target: TARGET,
        "upstream",
        otel.name = %format!("chat {}", model.unwrap_or("")).trim_end(),
        otel.kind = "client",
        otel.status_code = Empty,
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = system,
        gen_ai.system = system,
        gen_ai.request.model = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        server.address = host.as_deref().unwrap_or(""),
        server.port = port,
        http.response.status_code = Empty,
        veil.provider = provider.name.as_str(),
        error.type = Empty,
    );
    if let Some(m) = model {
        span.record("gen_ai.request.model", m);
    }
    span
}

/// The `traceparent` for the upstream request: the attempt's own span as parent.
pub fn traceparent(span: &Span) -> Option<HeaderValue> {
    if span.is_none() {
        return None;
    }
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    if !sc.is_valid() {
        return None;
    }
    let value = format!("00-{}-{}-{:02x}", sc.trace_id(), sc.span_id(), sc.trace_flags().to_u8());
    HeaderValue::from_str(&value).ok()
}

pub fn upstream_status(span: &Span, status: u16) {
    span.record("http.response.status_code", i64::from(status));
}

/// The attempt failed (`kind`: the error kind of docs/interface.md).
pub fn upstream_failed(span: &Span, kind: &'static str) {
    span.record("error.type", kind);
    span.record("otel.status_code", "error");
}

/// Marks the attempt failed when reading its answer failed; passes the result on.
pub fn ended<T>(span: &Span, result: Result<T, ApiError>) -> Result<T, ApiError> {
    if let Err(e) = &result {
        upstream_failed(span, e.kind());
    }
    result
}

/// Token usage as the provider reported it.
pub fn usage(span: &Span, usage: Option<(u64, u64)>) {
    if let Some((input, output)) = usage {
        span.record("gen_ai.usage.input_tokens", int(input));
        span.record("gen_ai.usage.output_tokens", int(output));
    }
}

/// The restore span (for a stream it lasts as long as the stream; `veil.restore.busy_ms`
/// is the time spent restoring).
pub fn restore() -> Span {
    if !enabled() {
        return Span::none();
    }
    tracing::info_span!(
        target: TARGET,
        "veil.restore",
        veil.placeholders.restored = Empty,
        veil.placeholders.mutated = Empty,
        veil.placeholders.unrestored = Empty,
        veil.restore.busy_ms = Empty,
    )
}

pub fn restored(span: &Span, stats: RestoreStats, busy: Duration) {
    if span.is_none() {
        return;
    }
    span.record("veil.placeholders.restored", int(stats.exact + stats.mutated));
    span.record("veil.placeholders.mutated", int(stats.mutated));
    span.record("veil.placeholders.unrestored", int(stats.unrestored));
    span.record("veil.restore.busy_ms", millis(busy));
}

/// A model name as spans may show it: only when it looks like one.
fn model_name(model: &str) -> Option<&str> {
    let ok =
        (1..=128).contains(&model.len()) && model.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:/-".contains(&b));
    ok.then_some(model)
}

/// Host and port of a provider's configured base URL.
fn server(base_url: &str) -> (Option<String>, i64) {
    match reqwest::Url::parse(base_url) {
        Ok(u) => (u.host_str().map(str::to_string), u.port_or_known_default().map_or(0, i64::from)),
        Err(_) => (None, 0),
    }
}

/// Reads only `traceparent` from the client's headers: `tracestate` is the client's free
/// text and is neither kept nor forwarded.
struct TraceparentOnly<'a>(&'a HeaderMap);

impl Extractor for TraceparentOnly<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        if key.eq_ignore_ascii_case(TRACEPARENT) {
            self.0.get(TRACEPARENT).and_then(|v| v.to_str().ok())
        } else {
            None
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT]
    }
}

/// One request in the in-flight gauge.
struct InFlight;

impl InFlight {
    fn new() -> InFlight {
        metrics::gauge!(IN_FLIGHT).increment(1.0);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!(IN_FLIGHT).decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_are_shown_only_when_they_look_like_one() {
        assert_eq!(model_name("gpt-4o-mini"), Some("gpt-4o-mini"));
        assert_eq!(model_name("claude-3-5-sonnet@2024"), None);
        assert_eq!(model_name("jane.doe@example.com"), None);
        assert_eq!(model_name("Call Jane Doe"), None);
        assert_eq!(model_name(""), None);
    }

    #[test]
    fn only_traceparent_is_read() {
        let mut h = HeaderMap::new();
        h.insert("traceparent", HeaderValue::from_static("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
        h.insert("tracestate", HeaderValue::from_static("vendor=secret"));
        let x = TraceparentOnly(&h);
        assert!(x.get("traceparent").is_some());
        assert_eq!(x.get("tracestate"), None);
        let cx = TraceContextPropagator::new().extract(&x);
        let sc = cx.span().span_context().clone();
        assert!(sc.is_valid());
        assert_eq!(sc.trace_id().to_string(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(sc.trace_state().header(), "");
    }

    #[test]
    fn spans_are_none_while_tracing_is_off() {
        assert!(restore().is_none());
        assert_eq!(traceparent(&Span::none()), None);
    }
}
