//! The HTTP front: routes and the ordered layer stack.

pub mod auth;
pub mod handlers;

use crate::error::{api_for_path, ApiError};
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http::header::{HeaderName, AUTHORIZATION};
use std::any::Any;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

/// Routes that need no API key.
pub const PUBLIC_ROUTES: &[&str] = &["/healthz", "/readyz", "/metrics"];

pub use crate::caller::X_API_KEY;
pub use crate::caller::X_REQUEST_ID;
/// Azure OpenAI clients send their key here.
pub const API_KEY: HeaderName = HeaderName::from_static("api-key");

/// Builds the router. Layers, outer → inner (axum applies the last `.layer` outermost):
/// 1. request id: set `x-request-id` (UUID) unless the client sent one, and echo it back,
///    so logs, audit records and client reports correlate;
/// 2. trace span per request at debug level (method, path, request id; never headers or bodies);
/// 3. catch-panic: a bug in one request becomes a generic 500, not a dropped connection;
/// 4. sensitive headers: `authorization`, `x-api-key` and `api-key` are redacted from any debug output;
/// 5. load shedding: beyond `server.max_concurrency` requests in flight, answer 503 at once
///    instead of queueing without bound;
/// 6. auth: deny by default when `[[keys]]` exist, except `PUBLIC_ROUTES`; rpm limits;
/// 7. body limit (`server.max_body_bytes`), enforced by the extractor as a 413;
/// 8. routes.
///
/// The audit review page (`/ui`, [`crate::ui::router`]) is merged in below the sensitive
/// headers layer: it has layers 1 to 4, then its own admin-key check and body limit instead
/// of load shedding, caller-key auth and the gateway's body limit.
pub fn router(state: AppState) -> Router {
    let limit = state.config.server.max_body_bytes;
    Router::new()
        .route("/v1/chat/completions", post(handlers::chat_completions))
        .route("/v1/messages", post(handlers::messages))
        .route("/v1/embeddings", post(handlers::embeddings))
        .route("/v1/responses", post(handlers::responses)) // responses
        // Azure OpenAI's URL shape, for `AzureOpenAI(azure_endpoint=<veil>)` clients:
        // `/openai/deployments/{MODEL}/chat/completions` and `.../embeddings`.
        .route("/openai/deployments/{*rest}", post(handlers::azure_deployments))
        .route("/v1/models", get(handlers::models))
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/metrics", get(handlers::metrics))
        .fallback(handlers::not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(from_fn_with_state(state.clone(), auth::require_key))
        .layer(from_fn_with_state(state.clone(), shed_load))
        // >>> ui: the review page, outside caller-key auth and load shedding (src/ui)
        .merge(crate::ui::router(state.clone()))
        // <<< ui
        .layer(SetSensitiveRequestHeadersLayer::new([AUTHORIZATION, X_API_KEY, API_KEY]))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req.headers().get(X_REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
                    // Debug level: at the default `info` no span is built per request (it cost
                    // measurable throughput); request-level log lines carry `request_id` themselves.
                    tracing::debug_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                })
                // Failures are logged once, by the pipeline (with the request id and error kind); a
                // 503 from /readyz while the model loads is not an error at all.
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .layer(PropagateRequestIdLayer::new(X_REQUEST_ID))
        .layer(SetRequestIdLayer::new(X_REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// Sheds load beyond `max_concurrency` with a 503 in the caller's API shape.
async fn shed_load(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if PUBLIC_ROUTES.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let Ok(_permit) = state.concurrency.clone().try_acquire_owned() else {
        tracing::warn!("load shed: too many requests in flight");
        return ApiError::Overloaded.into_response_for(api_for_path(req.uri().path()));
    };
    next.run(req).await
}

fn panic_response(_err: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("request handler panicked; this is a bug");
    ApiError::Internal("panic".into()).into_response_for(crate::providers::ApiKind::OpenAi).into_response()
}
