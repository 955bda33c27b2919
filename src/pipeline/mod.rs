//! One request end to end: parse → route → mask → send upstream (with alias fallback) →
//! restore (plain or streaming) → the one finish hook (audit record + metrics), which runs
//! on success, error and client cancel alike.
//!
//! The pipeline knows no wire format and no provider kind: it asks the providers layer
//! (`ApiKind` for the client's and the upstream's wire API, `ProviderKind` for URL, key or
//! signature and native format, `translate` for the direction of a conversion) and has no
//! `match` on either.

pub mod embeddings;
mod finish;
mod guard;
pub mod responses; // responses: POST /v1/responses
mod stream;

use crate::caller::{presented_key, Caller};
use crate::config::{parse_target, ProviderConfig, Target};
use crate::error::ApiError;
use crate::mask::{Escape, PlaceholderMap, RestoreStats, Restorer};
use crate::providers::bedrock::{self, SignError};
use crate::providers::{translate, ApiKind, Endpoint, TextRef, UrlError};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use finish::Finisher;
use http::{HeaderMap, HeaderValue, StatusCode};
use secrecy::ExposeSecret;
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument as _; // telemetry

pub use finish::Outcome;
pub use guard::mask_body;

// >>> telemetry: the request's span and its share of the in-flight gauge, around the whole
// request (a stream's body holds them until it ends)
/// Handles one `/v1/chat/completions` or `/v1/messages` request.
pub async fn run(
    state: AppState,
    api: ApiKind,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let scope = crate::telemetry::RequestScope::start(api, &headers);
    let response = run_request(state, api, caller, headers, body).instrument(scope.span().clone()).await;
    scope.respond(response)
}
// <<< telemetry

async fn run_request(
    state: AppState,
    api: ApiKind,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request_id = crate::caller::request_id(&headers);
    let mut fin = Finisher::new(state.clone(), api, request_id.clone(), caller.key_id().map(str::to_string));
    match run_inner(&state, api, &caller, &headers, body, &mut fin).await {
        Ok(Reply::Json(value)) => {
            fin.done(Outcome::Ok, 200, None);
            (StatusCode::OK, axum::Json(value)).into_response()
        }
        Ok(Reply::Stream(resp)) => resp,
        Err(e) => fail(&mut fin, &request_id, api, e),
    }
}

/// Ends a failed request: the audit outcome and log line for `e`, and the error response
/// in the caller's API shape.
fn fail(fin: &mut Finisher, request_id: &str, api: ApiKind, e: ApiError) -> Response {
    let status = e.status().as_u16();
    let outcome = match &e {
        ApiError::Blocked(_) => Outcome::Blocked,
        ApiError::BadRequest(_)
        | ApiError::TooLarge { .. }
        | ApiError::UnknownModel(_)
        | ApiError::Unsupported(_)
        | ApiError::Unauthorized
        | ApiError::Forbidden(_)
        | ApiError::RateLimited
        | ApiError::MaskingUnavailable(_)
        | ApiError::MaskingCheck(_)
        | ApiError::Overloaded => Outcome::Refused,
        ApiError::Upstream { .. }
        | ApiError::UpstreamTimeout { .. }
        | ApiError::UpstreamUnreachable { .. }
        | ApiError::UpstreamBadResponse { .. } => Outcome::UpstreamError,
        _ => Outcome::Error,
    };
    // Upstream failures are logged once, where they happen (with the request id and the
    // cause), not again here.
    let logged = matches!(
        e,
        ApiError::Upstream { .. } | ApiError::UpstreamTimeout { .. } | ApiError::UpstreamUnreachable { .. }
    );
    if status >= 500 {
        if !logged {
            tracing::warn!(%request_id, error = %e, kind = e.kind(), status, "request failed");
        }
    } else {
        tracing::debug!(%request_id, kind = e.kind(), status, "request refused");
    }
    fin.done(outcome, status, Some(e.kind()));
    e.into_response_for(api)
}

/// The request body as JSON: 413 past the body limit, 400 when it is not JSON.
fn read_json(state: &AppState, body: Result<Bytes, BytesRejection>) -> Result<Value, ApiError> {
    let bytes = body.map_err(|rej| {
        if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge { limit: state.config.server.max_body_bytes }
        } else {
            ApiError::BadRequest(rej.body_text())
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::BadRequest(format!("not valid JSON ({e})")))
}

enum Reply {
    Json(Value),
    Stream(Response),
}

/// Where a request goes: each alias target in order, or the one `provider/model`.
fn resolve(state: &AppState, model: &str) -> Result<Vec<Target>, ApiError> {
    if let Some(targets) = state.config.aliases.get(model) {
        return Ok(targets.clone());
    }
    let shown = shown_model(model);
    let Some(target) = parse_target(model) else {
        return Err(ApiError::UnknownModel(format!(
            "unknown model {shown}: name it \"provider/model\" (e.g. \"openai/gpt-4o-mini\") or use a configured alias"
        )));
    };
    if !state.config.providers.contains_key(&target.provider) {
        let known: Vec<&str> = state.config.providers.keys().map(String::as_str).collect();
        return Err(ApiError::UnknownModel(format!(
            "unknown provider in model {shown}: known providers are {}",
            known.join(", ")
        )));
    }
    Ok(vec![target])
}

/// A model name as errors show it: quoted when it looks like one (name characters and
/// `/`), else a description, so that a value sent in `model` is never echoed.
pub(crate) fn shown_model(model: &str) -> String {
    let looks_like_a_model =
        (1..=128).contains(&model.len()) && model.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:/-".contains(&b));
    if looks_like_a_model {
        format!("{model:?}")
    } else {
        "(a value that is not a model name)".to_owned()
    }
}

async fn run_inner(
    state: &AppState,
    api: ApiKind,
    caller: &Caller,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    fin: &mut Finisher,
) -> Result<Reply, ApiError> {
    let mut body = read_json(state, body)?;
    api.validate_request(&body).map_err(ApiError::BadRequest)?;
    let stream = api.is_stream(&body);
    fin.set_stream(stream);
    let (_, targets) = route(state, caller, &body, fin)?;

    // Step 2: mask every text the provider would see. Fails closed.
    let t0 = Instant::now();
    let mut map = PlaceholderMap::default();
    let mask_span = crate::telemetry::spans::mask(&state.masker); // telemetry
    let report = mask_body(&state.masker, api, state.config.identity_fields, &mut body, &mut map)
        .instrument(mask_span.clone())
        .await;
    crate::telemetry::spans::masked(&mask_span, report.as_ref().map_err(ApiError::kind)); // telemetry
    fin.mask_time(t0.elapsed());
    let report = report?;
    fin.set_report(&report);
    let restorer = Restorer::new(&map);

    // Step 3: upstream, trying alias targets in order.
    let mut last_err = None;
    for (i, target) in targets.iter().enumerate() {
        let more = i + 1 < targets.len();
        let Some(provider) = state.config.providers.get(&target.provider) else {
            continue;
        };
        fin.set_target(target);
        // >>> telemetry: one span per attempt; the answer (plain or stream) takes it along
        let up_span = crate::telemetry::spans::upstream(provider, target);
        let attempt = send(state, api, provider, target, &body, stream, headers, fin).instrument(up_span.clone()).await;
        if let Err(e) = &attempt {
            crate::telemetry::spans::upstream_failed(&up_span, e.kind());
        }
        // <<< telemetry
        match attempt {
            Ok(up) => {
                // Answers name the model as the provider reports it, without `provider/`
                // (the upstream's own name when it sends one, else `target.model`).
                return if stream {
                    {
                        // A Chat Completions client's `stream_options.include_usage`: the
                        // usage chunk a translated stream must end with.
                        let usage =
                            body.pointer("/stream_options/include_usage").and_then(Value::as_bool) == Some(true);
                        Ok(Reply::Stream(stream::respond(
                            state,
                            api,
                            provider,
                            &target.model,
                            up,
                            usage,
                            restorer,
                            fin.take(),
                        )))
                    }
                } else {
                    let answer = finish_plain(api, provider, &target.model, up, &restorer, fin).await;
                    crate::telemetry::spans::ended(&up_span, answer).map(Reply::Json)
                    // telemetry
                };
            }
            Err(e) if more && retryable(&e) => {
                note_fallback(fin, &provider.name, &e);
                last_err = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| ApiError::Internal("no target".into())))
}

/// The body's `model`, the targets it resolves to (alias targets in order), checked
/// against the caller's key; the finisher names the first target. Shared by the three routes.
fn route(
    state: &AppState,
    caller: &Caller,
    body: &Value,
    fin: &mut Finisher,
) -> Result<(String, Vec<Target>), ApiError> {
    let model = body.get("model").and_then(Value::as_str).unwrap_or_default().to_string();
    let targets = resolve(state, &model)?;
    if !caller.may_use(&model) {
        return Err(ApiError::Forbidden(shown_model(&model)));
    }
    fin.set_target(&targets[0]);
    Ok((model, targets))
}

/// The provider a resolved target names (resolve checked that it exists; an alias target
/// whose provider is gone is an unknown model).
fn target_provider<'a>(state: &'a AppState, target: &Target, model: &str) -> Result<&'a ProviderConfig, ApiError> {
    state
        .config
        .providers
        .get(&target.provider)
        .ok_or_else(|| ApiError::UnknownModel(format!("unknown provider in model {}", shown_model(model))))
}

/// Counts and logs an alias target that failed with a retryable error before the next is tried.
fn note_fallback(fin: &Finisher, provider: &str, e: &ApiError) {
    metrics::counter!(crate::telemetry::metrics::FALLBACKS_TOTAL, "provider" => provider.to_string()).increment(1);
    tracing::info!(request_id = %fin.request_id(), provider = %provider, kind = e.kind(), "alias target failed; trying the next");
}

fn retryable(e: &ApiError) -> bool {
    match e {
        ApiError::Upstream { status, .. } => matches!(status, 401 | 403 | 408 | 429) || *status >= 500,
        ApiError::UpstreamTimeout { .. }
        | ApiError::UpstreamUnreachable { .. }
        | ApiError::UpstreamBadResponse { .. }
        | ApiError::MissingProviderKey { .. } => true,
        _ => false,
    }
}

/// Restores every text of a (client-format) response body in place.
pub fn restore_body(api: ApiKind, body: &mut Value, restorer: &Restorer) -> RestoreStats {
    let mut stats = RestoreStats::default();
    if restorer.is_empty() {
        return stats;
    }
    for r in api.response_texts(body) {
        let s = match r {
            TextRef::Plain(s) | TextRef::Identity(s) => restorer.restore_in_place(s, Escape::None),
            TextRef::JsonText(s) => restorer.restore_in_place(s, Escape::Json),
        };
        stats.add(s);
    }
    stats
}

/// Builds the upstream body for `target` from the masked client body.
fn upstream_body(
    api: ApiKind,
    provider: &ProviderConfig,
    target: &Target,
    body: &Value,
    stream: bool,
) -> Result<(Value, bool), ApiError> {
    let unsupported = |e: translate::TranslateError| ApiError::Unsupported(e.to_string());
    let max_tokens = provider.provider_kind.max_tokens_field(&provider.base_url);
    let translate::Outgoing { body: out, translated, strip_usage } =
        translate::request(api, provider.kind, body, &target.model, max_tokens, stream).map_err(unsupported)?;
    if translated {
        guard::check_translated(api, body, provider.kind, &out)?;
    }
    // >>> gemini: a kind with its own wire format gets this body translated, checked again
    let native = provider.provider_kind.to_native(out).map_err(unsupported)?;
    guard::check_native(api, body, &provider.provider_kind, &native)?;
    // <<< gemini
    Ok((native, strip_usage))
}

/// A successful upstream response, headers received.
pub struct Upstream {
    pub response: reqwest::Response,
    pub sent_at: Instant,
    pub strip_usage: bool,
    pub provider_kind: ApiKind,
    /// The attempt's span (telemetry).
    pub span: tracing::Span,
}

#[allow(clippy::too_many_arguments)]
async fn send(
    state: &AppState,
    api: ApiKind,
    provider: &ProviderConfig,
    target: &Target,
    body: &Value,
    stream: bool,
    client_headers: &HeaderMap,
    fin: &mut Finisher,
) -> Result<Upstream, ApiError> {
    let (payload, strip_usage) = upstream_body(api, provider, target, body, stream)?;
    let bytes = serde_json::to_vec(&payload).map_err(|e| ApiError::Internal(e.to_string()))?;
    let url = provider
        .provider_kind
        .chat_url(&provider.base_url, &target.model, stream)
        .map_err(|e| url_error(provider, Endpoint::Chat, &target.model, e))?;
    let (response, sent_at) = post(state, api, provider, url, bytes, client_headers, fin).await?;
    Ok(Upstream { response, sent_at, strip_usage, provider_kind: provider.kind, span: tracing::Span::current() })
}

/// The provider kind's URL for `endpoint` and `model`, or the client's error.
pub(crate) fn upstream_url(provider: &ProviderConfig, endpoint: Endpoint, model: &str) -> Result<String, ApiError> {
    provider.provider_kind.url(&provider.base_url, endpoint, model).map_err(|e| url_error(provider, endpoint, model, e))
}

/// The client's error for a URL the provider kind cannot build.
fn url_error(provider: &ProviderConfig, endpoint: Endpoint, model: &str, e: UrlError) -> ApiError {
    match e {
        UrlError::NoEndpoint => ApiError::Unsupported(format!(
            "provider {:?} (kind {}) has no {} endpoint",
            provider.name,
            provider.provider_kind,
            endpoint.as_str()
        )),
        UrlError::BadModel(rule) => {
            ApiError::BadRequest(format!("model: {} is not {rule} of provider {:?}", shown_model(model), provider.name))
        }
    }
}

/// Sends `bytes` to `url` with the provider's key (the kind's auth header), extra headers
/// and timeouts; a non-2xx answer becomes [`ApiError::Upstream`], read by the kind's
/// error rules. Returns the response (headers received) and when the request was sent.
/// Shared by chat and embeddings.
pub(crate) async fn post(
    state: &AppState,
    api: ApiKind,
    provider: &ProviderConfig,
    url: String,
    bytes: Vec<u8>,
    client_headers: &HeaderMap,
    fin: &mut Finisher,
) -> Result<(reqwest::Response, Instant), ApiError> {
    let mut req = state.http.post(url).header(http::header::CONTENT_TYPE, "application/json").body(bytes);
    // The provider key: ours from the environment, else (open sidecar, same API) the
    // caller's own key, which its SDK sent us.
    let own_key = provider.api_key.as_ref().map(|k| k.expose_secret().to_string());
    let key = match own_key {
        Some(k) => Some(k),
        None if state.config.keys.is_empty()
            && api == provider.kind
            && provider.provider_kind.takes_forwarded_key() =>
        {
            presented_key(client_headers).map(str::to_string)
        }
        None => None,
    };
    match (&key, &provider.api_key_env) {
        (None, Some(env)) => {
            return Err(ApiError::MissingProviderKey { provider: provider.name.clone(), env: env.clone() })
        }
        (Some(k), _) => req = provider.provider_kind.authorize(req, k),
        (None, None) => {}
    }
    for (name, value) in provider.kind.upstream_headers(api, client_headers) {
        req = req.header(name, value);
    }
    for (h, v) in &provider.headers {
        req = req.header(h.as_str(), v.as_str());
    }
    // >>> telemetry: W3C trace context of the attempt (`tracestate` and baggage are not sent)
    if let Some(tp) = crate::telemetry::spans::traceparent(&tracing::Span::current()) {
        req = req.header(crate::telemetry::spans::TRACEPARENT, tp);
    }
    // <<< telemetry
    // >>> bedrock: a kind that signs requests (SigV4) signs the final URL, headers and body
    let mut req = req.build().map_err(|e| ApiError::Internal(format!("building the upstream request: {e}")))?;
    provider.provider_kind.sign(&mut req).map_err(|e| match e {
        SignError::MissingCredentials => {
            ApiError::MissingProviderKey { provider: provider.name.clone(), env: bedrock::CREDENTIALS_ENV.into() }
        }
        SignError::Failed => ApiError::Internal("signing the upstream request failed".into()),
    })?;
    // <<< bedrock
    let sent_at = Instant::now();
    // `upstream_timeout` bounds the time to response headers only; a stream may then run as
    // long as it keeps sending (the client's read timeout is `stream_idle_timeout`).
    let result = tokio::time::timeout(state.config.server.upstream_timeout, state.http.execute(req)).await;
    let name = provider.name.clone();
    let response = match result {
        Ok(Ok(r)) => r,
        Err(_) => {
            fin.upstream_time(sent_at.elapsed());
            metrics::counter!(crate::telemetry::metrics::UPSTREAM_ERRORS, "provider" => name.clone(), "kind" => "timeout")
                .increment(1);
            tracing::warn!(request_id = %fin.request_id(), provider = %name, "upstream response headers timed out");
            return Err(ApiError::UpstreamTimeout { provider: name });
        }
        Ok(Err(e)) => {
            fin.upstream_time(sent_at.elapsed());
            let kind = if e.is_timeout() { "timeout" } else { "connect" };
            metrics::counter!(crate::telemetry::metrics::UPSTREAM_ERRORS, "provider" => name.clone(), "kind" => kind)
                .increment(1);
            // reqwest's own message is "error sending request"; the cause (DNS, connection
            // refused, TLS) is at the bottom of its source chain.
            let cause = root_cause(&e);
            tracing::warn!(
                request_id = %fin.request_id(),
                provider = %name,
                error = %e,
                cause = %cause,
                "upstream request failed"
            );
            return Err(if e.is_timeout() {
                ApiError::UpstreamTimeout { provider: name }
            } else {
                ApiError::UpstreamUnreachable { provider: name }
            });
        }
    };
    let status = response.status().as_u16();
    fin.set_upstream_status(status);
    crate::telemetry::spans::upstream_status(&tracing::Span::current(), status); // telemetry
    if !response.status().is_success() {
        let retry_after =
            response.headers().get(http::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_string);
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap_or_default();
        fin.upstream_time(sent_at.elapsed());
        let message =
            provider.provider_kind.error_message(&headers, &body).unwrap_or_else(|| "no error message".to_string());
        metrics::counter!(crate::telemetry::metrics::UPSTREAM_ERRORS, "provider" => name.clone(), "kind" => "status")
            .increment(1);
        tracing::warn!(request_id = %fin.request_id(), provider = %name, status, "upstream returned an error status");
        // The upstream only ever saw masked text, so its message holds no raw values.
        return Err(ApiError::Upstream { provider: name, status, message, retry_after });
    }
    Ok((response, sent_at))
}

async fn finish_plain(
    api: ApiKind,
    config: &ProviderConfig,
    model: &str,
    up: Upstream,
    restorer: &Arc<Restorer>,
    fin: &mut Finisher,
) -> Result<Value, ApiError> {
    let mut body = read_answer(api, config, model, up, fin).await?;
    let t0 = Instant::now();
    let restore_span = crate::telemetry::spans::restore(); // telemetry
    let stats = restore_body(api, &mut body, restorer);
    crate::telemetry::spans::restored(&restore_span, stats, t0.elapsed()); // telemetry
    fin.restore_time(t0.elapsed(), stats);
    Ok(body)
}

/// A plain upstream answer in `api`'s format, not yet restored: read, converted from the
/// kind's own format and translated, its usage recorded. (Also the first half of a
/// Responses answer translated through Chat Completions.)
async fn read_answer(
    api: ApiKind,
    config: &ProviderConfig,
    model: &str,
    up: Upstream,
    fin: &mut Finisher,
) -> Result<Value, ApiError> {
    let provider_kind = config.kind;
    let provider = fin.provider().to_string();
    let bytes = up.response.bytes().await;
    fin.upstream_time(up.sent_at.elapsed());
    let request_id = fin.request_id().to_string();
    let bytes = bytes.map_err(|e| {
        tracing::warn!(%request_id, provider = %provider, error = %e, "reading the upstream body failed");
        if e.is_timeout() {
            ApiError::UpstreamTimeout { provider: provider.clone() }
        } else {
            ApiError::UpstreamUnreachable { provider: provider.clone() }
        }
    })?;
    let upstream: Value =
        serde_json::from_slice(&bytes).map_err(|_| ApiError::UpstreamBadResponse { provider: provider.clone() })?;
    // gemini: an answer in the kind's own wire format, read as the wire API's; a safety
    // block is refused in the caller's shape.
    let upstream = config
        .provider_kind
        .from_native(upstream, model)
        .map_err(|b| ApiError::Blocked(format!("provider {provider:?} refused the request: {b}")))?;
    let usage = provider_kind.usage(&upstream);
    fin.set_usage(usage);
    crate::telemetry::spans::usage(&up.span, usage); // telemetry
    Ok(translate::response(provider_kind, api, upstream, model))
}

/// The innermost error of a chain (what actually went wrong under a wrapper's message).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// A streaming body fed by the pump task.
pub(crate) fn sse_response(rx: tokio::sync::mpsc::Receiver<Bytes>) -> Response {
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx).map(Ok::<_, std::convert::Infallible>);
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}

use tokio_stream::StreamExt as _;
