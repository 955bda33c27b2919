//! API-key middleware: when `[[keys]]` are configured every request but `PUBLIC_ROUTES`
//! must carry a key (`Authorization: Bearer KEY` or `x-api-key: KEY`) whose sha256 is
//! configured. The key itself is never stored or logged, only its id.

use super::{PUBLIC_ROUTES, X_API_KEY};
use crate::config::KeyConfig;
use crate::error::{api_for_path, ApiError};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Who is calling; in request extensions for every authenticated request.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// `None` when no keys are configured (open sidecar).
    pub key: Option<Arc<KeyConfig>>,
}

impl Caller {
    pub fn key_id(&self) -> Option<&str> {
        self.key.as_deref().map(|k| k.id.as_str())
    }

    /// May this caller use `model` (as the client wrote it)?
    pub fn may_use(&self, model: &str) -> bool {
        let Some(key) = &self.key else { return true };
        key.models.is_empty()
            || key.models.iter().any(|p| match p.strip_suffix('*') {
                Some(prefix) => model.starts_with(prefix),
                None => p == model,
            })
    }
}

/// The key the client presented, as its SDK sends it.
pub fn presented_key(headers: &http::HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if let Some(k) = v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")) {
            return Some(k.trim());
        }
    }
    headers.get(X_API_KEY).and_then(|v| v.to_str().ok()).map(str::trim)
}

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
