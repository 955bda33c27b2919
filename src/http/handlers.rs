//! Route handlers: thin adapters from axum extractors to `pipeline::run`, plus health,
//! readiness, metrics and the model list.

use super::auth::Caller;
use crate::error::ApiError;
use crate::pipeline;
use crate::providers::ApiKind;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
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

/// The aliases and providers this gateway routes to. The entries carry both the OpenAI
/// (`object`, `owned_by`) and Anthropic (`type`, `display_name`) fields so either SDK's
/// `models.list()` reads them.
pub async fn models(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    let mut ids: Vec<(String, String)> = Vec::new();
    for alias in state.config.aliases.keys() {
        ids.push((alias.clone(), "veil".to_string()));
    }
    for (name, p) in &state.config.providers {
        if p.api_key.is_some() || p.api_key_env.is_none() {
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
