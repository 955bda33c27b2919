//! API-key middleware: when `[[keys]]` are configured every request but `PUBLIC_ROUTES`
//! must carry a key (`Authorization: Bearer KEY` or `x-api-key: KEY`) whose sha256 is
//! configured. The key itself is never stored or logged, only its id.

use super::PUBLIC_ROUTES;
use crate::error::{api_for_path, ApiError};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub use crate::caller::{presented_key, Caller};

/// Constant-time equality of two digests.
fn digest_eq(a: &[u8; 32], b: &[u8]) -> bool {
    b.len() == 32 && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub async fn require_key(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let keys = &state.config.keys;
    if keys.is_empty() || PUBLIC_ROUTES.contains(&path) {
        req.extensions_mut().insert(Caller::default());
        return next.run(req).await;
    }
    let api = api_for_path(path);
    let Some(presented) = presented_key(req.headers()) else {
        return ApiError::Unauthorized.into_response_for(api);
    };
    let digest = Sha256::digest(presented.as_bytes());
    let Some(key) = keys.iter().find(|k| digest_eq(&k.sha256, &digest)) else {
        tracing::info!("request with an unknown api key refused");
        return ApiError::Unauthorized.into_response_for(api);
    };
    if !state.limiter.allow(key) {
        return ApiError::RateLimited.into_response_for(api);
    }
    req.extensions_mut().insert(Caller { key: Some(Arc::clone(key)) });
    next.run(req).await
}
