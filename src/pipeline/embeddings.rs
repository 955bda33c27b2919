//! One `/v1/embeddings` request end to end: parse → route → check every target has an
//! embeddings endpoint → mask every input (same detectors and policy as chat) → send to
//! the provider kind's embeddings URL (alias targets in order; a Gemini target gets the
//! body as `batchEmbedContents`, a Bedrock one a Titan InvokeModel call per input, each
//! checked to hold masked inputs only) → the answer as the
//! provider gave it, in OpenAI's shape (vectors; nothing to restore) → the finish hook
//! (audit record and metrics, route `/v1/embeddings`).
//!
//! The provider embeds the masked text: two inputs that differ only in a masked value
//! (a name, an address) get the same vector.

use super::finish::{Finisher, Outcome};
use super::{fail, guard, note_fallback, post, read_json, retryable, route, target_provider, upstream_url};
use crate::caller::Caller;
use crate::config::ProviderConfig;
use crate::error::ApiError;
use crate::mask::{IdentityMode, PlaceholderMap};
use crate::providers::{embeddings, ApiKind, EmbeddingCalls, Endpoint, ProviderKind};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde_json::Value;
use std::time::Instant;

/// The route, as the audit log and the metrics name it.
pub const ROUTE: &str = "/v1/embeddings";

/// Handles one `POST /v1/embeddings` (OpenAI's request and response shapes).
pub async fn run(state: AppState, caller: Caller, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let request_id = crate::caller::request_id(&headers);
    let key_id = caller.key_id().map(str::to_string);
    let mut fin = Finisher::for_route(state.clone(), ApiKind::OpenAi, ROUTE, request_id.clone(), key_id);
    match run_inner(&state, &caller, &headers, body, &mut fin).await {
        Ok(value) => {
            fin.done(Outcome::Ok, 200, None);
            (StatusCode::OK, axum::Json(value)).into_response()
        }
        Err(e) => fail(&mut fin, &request_id, ApiKind::OpenAi, e),
    }
}

async fn run_inner(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    fin: &mut Finisher,
) -> Result<Value, ApiError> {
    let mut body = read_json(state, body)?;
    embeddings::validate_request(&body).map_err(ApiError::BadRequest)?;
    fin.set_stream(false);
    let (model, targets) = route(state, caller, &body, fin)?;
    // Every target must be able to embed before anything is masked or sent.
    let mut urls = Vec::with_capacity(targets.len());
    for target in &targets {
        let provider = target_provider(state, target, &model)?;
        urls.push(upstream_url(provider, Endpoint::Embeddings, &target.model)?);
    }

    // Mask every input (and any other string) with the chat policy. Fails closed.
    let identity = state.config.identity_fields;
    if identity == IdentityMode::Drop {
        if let Some(map) = body.as_object_mut() {
            for field in embeddings::IDENTITY_FIELDS {
                map.remove(*field);
            }
        }
    }
    let t0 = Instant::now();
    let mut map = PlaceholderMap::default();
    let report = match embeddings::request_texts(&mut body) {
        Ok(refs) => guard::mask_refs(&state.masker, identity, refs, &mut map).await,
        Err(e) => Err(ApiError::BadRequest(e.to_string())),
    };
    fin.mask_time(t0.elapsed());
    let report = report?;
    fin.set_report(&report);

    let mut last_err = None;
    for (i, (target, url)) in targets.iter().zip(urls).enumerate() {
        let more = i + 1 < targets.len();
        let Some(provider) = state.config.providers.get(&target.provider) else { continue };
        fin.set_target(target);
        let mut payload = body.clone();
        payload["model"] = Value::String(target.model.clone());
        // A kind with its own embeddings format (Gemini) gets the body translated, and
        // every text of the translation must be a masked input.
        let kind = &provider.provider_kind;
        let payload =
            kind.embeddings_to_native(payload, &target.model).map_err(|e| ApiError::Unsupported(e.to_string()))?;
        check_native_inputs(kind, &body, &payload)?;
        // >>> bedrock: one upstream call, or (Bedrock's Titan) one per input, in order
        let answer = match kind.embeddings_calls(payload) {
            EmbeddingCalls::One(payload) => call(state, provider, &url, &payload, headers, fin).await,
            EmbeddingCalls::Each(calls) => {
                let t0 = Instant::now();
                let mut answers = Vec::with_capacity(calls.len());
                let mut failed = None;
                for payload in &calls {
                    match call(state, provider, &url, payload, headers, fin).await {
                        Ok(a) => answers.push(a),
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                fin.upstream_time(t0.elapsed());
                failed.map_or(Ok(Value::Array(answers)), Err)
            }
        };
        // <<< bedrock
        match answer {
            Ok(answer) => {
                let name = provider.name.clone();
                let base64 = body.get("encoding_format").and_then(Value::as_str) == Some("base64");
                let answer = kind
                    .embeddings_from_native(answer, &target.model, base64)
                    .ok_or(ApiError::UpstreamBadResponse { provider: name })?;
                fin.set_usage(embeddings::usage(&answer));
                return Ok(answer);
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

/// One embeddings call to `url`: the answer's JSON (not JSON: a bad upstream response).
async fn call(
    state: &AppState,
    provider: &ProviderConfig,
    url: &str,
    payload: &Value,
    headers: &HeaderMap,
    fin: &mut Finisher,
) -> Result<Value, ApiError> {
    let bytes = serde_json::to_vec(payload).map_err(|e| ApiError::Internal(e.to_string()))?;
    let (response, sent_at) = post(state, ApiKind::OpenAi, provider, url.to_owned(), bytes, headers, fin).await?;
    let read = response.bytes().await;
    fin.upstream_time(sent_at.elapsed());
    let name = provider.name.clone();
    let bytes = read.map_err(|e| {
        tracing::warn!(provider = %name, error = %e, "reading the upstream body failed");
        if e.is_timeout() {
            ApiError::UpstreamTimeout { provider: name.clone() }
        } else {
            ApiError::UpstreamUnreachable { provider: name.clone() }
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|_| ApiError::UpstreamBadResponse { provider: name })
}

/// The translation check for embeddings: each text of a body the kind translated must be
/// one of the masked inputs (refused with 500 and counted, as for chat, otherwise).
fn check_native_inputs(kind: &ProviderKind, masked: &Value, native: &Value) -> Result<(), ApiError> {
    let Some(texts) = kind.native_embedding_texts(native) else { return Ok(()) };
    let inputs: Vec<&str> = match masked.get("input") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    match texts {
        Some(texts) if texts.iter().all(|t| inputs.contains(t)) => Ok(()),
        _ => {
            metrics::counter!(crate::telemetry::metrics::MASKING_CHECK_FAILURES, "provider_kind" => kind.as_str())
                .increment(1);
            tracing::error!(provider_kind = %kind, "a translated embeddings request holds a text that is not a masked input; refused (this is a bug)");
            Err(ApiError::MaskingCheck("embeddings input".into()))
        }
    }
}
