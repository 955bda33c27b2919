//! Route handlers: thin adapters from axum extractors to `pipeline::run` (and
//! `pipeline::embeddings::run`), the Azure-shaped routes, plus health, readiness, metrics
//! and the model list.

use super::auth::{presented_key, Caller};
use crate::error::ApiError;
use crate::pipeline;
use crate::providers::ApiKind;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use http::{HeaderMap, StatusCode};
use serde_json::json;

pub async fn chat_completions(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    pipeline::run(state, ApiKind::OpenAi, caller, headers, body).await
}

pub async fn messages(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    pipeline::run(state, ApiKind::Anthropic, caller, headers, body).await
}

pub async fn embeddings(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    pipeline::embeddings::run(state, caller, headers, body).await
}

// >>> responses
pub async fn responses(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    pipeline::responses::run(state, caller, headers, body).await
}
// <<< responses

/// Azure OpenAI's URL shape (`/openai/deployments/{MODEL}/chat/completions` and
/// `.../embeddings`, any `api-version`), so that the openai SDK's `AzureOpenAI` client can
/// use Veil as its endpoint. The deployment in the path is Veil's model (`provider/model`,
/// slashes included, or an alias) and replaces the body's `model`, as Azure does. An
/// `api-key` header counts as the client's key for key forwarding.
pub async fn azure_deployments(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(rest): Path<String>,
    mut headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    enum Op {
        Chat,
        Embeddings,
    }
    let (deployment, op) = if let Some(d) = rest.strip_suffix("/chat/completions") {
        (d, Op::Chat)
    } else if let Some(d) = rest.strip_suffix("/embeddings") {
        (d, Op::Embeddings)
    } else {
        return ApiError::NotFound.into_response_for(ApiKind::OpenAi);
    };
    let body = body.map(|bytes| match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut map)) => {
            map.insert("model".into(), serde_json::Value::String(deployment.to_string()));
            serde_json::to_vec(&map).map(Bytes::from).unwrap_or(bytes)
        }
        // Not an object: the pipeline refuses it with its usual 400.
        Ok(_) | Err(_) => bytes,
    });
    if presented_key(&headers).is_none() {
        let bearer = headers
            .get(super::API_KEY)
            .and_then(|v| v.to_str().ok())
            .and_then(|k| http::HeaderValue::from_str(&format!("Bearer {}", k.trim())).ok());
        if let Some(v) = bearer {
            headers.insert(http::header::AUTHORIZATION, v);
        }
    }
    match op {
        Op::Chat => pipeline::run(state, ApiKind::OpenAi, caller, headers, body).await,
        Op::Embeddings => pipeline::embeddings::run(state, caller, headers, body).await,
    }
}

/// The aliases and providers this gateway routes to. The entries carry both the OpenAI
/// (`object`, `owned_by`) and Anthropic (`type`, `display_name`) fields so either SDK's
/// `models.list()` reads them.
///
/// A provider is listed when it has its key, needs none, or (open sidecar: no `[[keys]]`)
/// the caller's own key would be forwarded to it: the caller sent a key and the provider
/// speaks the caller's API (Anthropic when the request carries `anthropic-version`, as the
/// Anthropic SDK's does, else OpenAI).
pub async fn models(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    let mut ids: Vec<(String, String)> = Vec::new();
    for alias in state.config.aliases.keys() {
        ids.push((alias.clone(), "veil".to_string()));
    }
    let forwarded_to = if state.config.keys.is_empty() && presented_key(&headers).is_some() {
        Some(if headers.contains_key("anthropic-version") { ApiKind::Anthropic } else { ApiKind::OpenAi })
    } else {
        None
    };
    for (name, p) in &state.config.providers {
        let forwardable = forwarded_to == Some(p.kind) && p.provider_kind.takes_forwarded_key();
        if p.api_key.is_some() || p.api_key_env.is_none() || forwardable {
            ids.push((format!("{name}/*"), name.clone()));
        }
    }
    ids.retain(|(id, _)| caller.may_use(id) || id.ends_with("/*") && caller.may_use(&id.replace('*', "x")));
    let data: Vec<_> = ids
        .iter()
        .map(|(id, owner)| {
            json!({"id": id, "object": "model", "type": "model", "owned_by": owner, "display_name": id,
                   "created": 0, "created_at": "1970-01-01T00:00:00Z"})
        })
        .collect();
    let first = ids.first().map(|i| i.0.clone());
    let last = ids.last().map(|i| i.0.clone());
    Json(json!({"object": "list", "data": data, "has_more": false, "first_id": first, "last_id": last})).into_response()
}

pub async fn healthz() -> &'static str {
    "ok"
}

/// 200 once every detector can run (the NER model is loaded), else 503. The body names the
/// status and the active detectors by version (`pattern/...`, `ner/veil-pii@...`, or
/// `ner/loading`), so an operator sees whether the model runs at all.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let (status, text) =
        if state.is_ready() { (StatusCode::OK, "ready") } else { (StatusCode::SERVICE_UNAVAILABLE, "not ready") };
    (status, Json(json!({"status": text, "detectors": state.masker.versions()}))).into_response()
}

pub async fn metrics() -> Response {
    (
        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        crate::telemetry::metrics::handle().render(),
    )
        .into_response()
}

pub async fn not_found(req: Request) -> Response {
    ApiError::NotFound.into_response_for(crate::error::api_for_path(req.uri().path()))
}
