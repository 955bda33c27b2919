//! Who is calling and how a request is named, as the layers in `http` leave it for the
//! rest of the gateway: the [`Caller`] (its API key, if keys are configured), the key the
//! client presented, and the request id. Its own module so that `pipeline` and `ui` read
//! them without depending on `http` (which depends on them).

use crate::config::KeyConfig;
use http::header::{HeaderName, AUTHORIZATION};
use std::sync::Arc;

/// The request id header (set when the client sent none, echoed on the answer).
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Anthropic's key header, also accepted for Veil's own keys.
pub const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// The request id the `http` layers set on every request (empty when there is none).
pub fn request_id(headers: &http::HeaderMap) -> String {
    headers.get(X_REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

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
