//! `ApiError`: every error a client can see, and the only place that picks HTTP status
//! codes. Bodies come in the caller's API shape (OpenAI `{"error": {...}}` or Anthropic
//! `{"type": "error", "error": {...}}`) so that client SDKs raise their usual exceptions.
//! Messages never contain request content: 5xx texts are generic, details go to the log
//! line that carries the same request id.

use crate::mask::{DetectError, MaskError};
use crate::providers::ApiKind;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;

/// Errors surfaced to HTTP clients.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request body: {0}")]
    BadRequest(String),
    #[error("request body is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("{0}")]
    UnknownModel(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("missing or invalid API key")]
    Unauthorized,
    #[error("this API key may not use model {0}")]
    Forbidden(String),
    #[error("rate limit exceeded for this API key")]
    RateLimited,
    #[error("{0}")]
    Blocked(String),
    /// Masking could not run: fail closed, never forward.
    #[error("pii masking is unavailable; the request was not forwarded")]
    MaskingUnavailable(#[source] DetectError),
    #[error("veil is overloaded; retry later")]
    Overloaded,
    #[error("provider {provider} is not configured with an API key: set {env}")]
    MissingProviderKey { provider: String, env: String },
    /// The upstream answered with an error status. `retry_after` is its `Retry-After`
    /// header (a number of seconds or an HTTP date), passed on with a 429.
    #[error("upstream {provider} returned {status}: {message}")]
    Upstream { provider: String, status: u16, message: String, retry_after: Option<String> },
    #[error("upstream {provider} timed out")]
    UpstreamTimeout { provider: String },
    #[error("upstream {provider} could not be reached")]
    UpstreamUnreachable { provider: String },
    #[error("upstream {provider} sent a response veil could not read")]
    UpstreamBadResponse { provider: String },
    /// A translated request held a string that did not pass the masker (a bug in a
    /// translator); refused, never forwarded. Names the place, never the value.
    #[error("the translated request failed veil's masking check ({0}) and was not forwarded")]
    MaskingCheck(String),
    #[error("not found")]
    NotFound,
    #[error("internal error")]
    Internal(String),
}

impl From<MaskError> for ApiError {
    fn from(e: MaskError) -> Self {
        match e {
            MaskError::Detect(d) => ApiError::MaskingUnavailable(d),
            blocked @ MaskError::Blocked(_) => ApiError::Blocked(blocked.to_string()),
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::Unsupported(_) | ApiError::Blocked(_) => StatusCode::BAD_REQUEST,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnknownModel(_) | ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ApiError::MaskingUnavailable(_) | ApiError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            // A configuration fault of the gateway, not of the request: the provider cannot be
            // served until its key is set (the message names the variable).
            ApiError::MissingProviderKey { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::MaskingCheck(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            // 401/403 upstream means *our* provider key is wrong, not the caller's.
            ApiError::Upstream { status, .. } => match *status {
                401 | 403 => StatusCode::BAD_GATEWAY,
                400..=499 => StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST),
                503 | 529 => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_GATEWAY,
            },
            ApiError::UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            ApiError::UpstreamUnreachable { .. } | ApiError::UpstreamBadResponse { .. } => StatusCode::BAD_GATEWAY,
        }
    }

    /// Low-cardinality kind for metric labels and the audit log.
    pub fn kind(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::TooLarge { .. } => "too_large",
            ApiError::UnknownModel(_) => "unknown_model",
            ApiError::Unsupported(_) => "unsupported",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::RateLimited => "rate_limited",
            ApiError::Blocked(_) => "blocked",
            ApiError::MaskingUnavailable(_) => "masking_unavailable",
            ApiError::Overloaded => "overloaded",
            ApiError::MissingProviderKey { .. } => "missing_provider_key",
            ApiError::Upstream { .. } => "upstream_status",
            ApiError::UpstreamTimeout { .. } => "upstream_timeout",
            ApiError::UpstreamUnreachable { .. } => "upstream_unreachable",
            ApiError::UpstreamBadResponse { .. } => "upstream_bad_response",
            ApiError::MaskingCheck(_) => "masking_check",
            ApiError::NotFound => "not_found",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The message shown to the client: generic for our own 5xx.
    fn public_message(&self) -> String {
        match self {
            ApiError::Internal(_) => "internal error".to_string(),
            other => other.to_string(),
        }
    }

    fn openai_type(&self) -> &'static str {
        match self.status().as_u16() {
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            429 => "rate_limit_error",
            400..=499 => "invalid_request_error",
            503 => "service_unavailable",
            _ => "api_error",
        }
    }

    fn anthropic_type(&self) -> &'static str {
        match self.status().as_u16() {
            400 => "invalid_request_error",
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            503 | 529 => "overloaded_error",
            504 => "timeout_error",
            _ => "api_error",
        }
    }

    /// The error body in the caller's API shape.
    pub fn body(&self, api: ApiKind) -> serde_json::Value {
        api.error_body(&self.public_message(), self.openai_type(), self.kind(), self.anthropic_type())
    }

    /// The response in the caller's API shape.
    pub fn into_response_for(self, api: ApiKind) -> Response {
        let mut resp = (self.status(), Json(self.body(api))).into_response();
        if matches!(self, ApiError::RateLimited) {
            resp.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("60"));
        }
        // The provider's own rate limit: its wait, passed on.
        if let ApiError::Upstream { status: 429, retry_after: Some(v), .. } = &self {
            if let Some(v) = retry_after_value(v) {
                resp.headers_mut().insert(http::header::RETRY_AFTER, v);
            }
        }
        resp.extensions_mut().insert(ErrorKind(self.kind()));
        resp
    }
}

/// An upstream `Retry-After` fit to pass on: seconds, or an HTTP date (printable ASCII,
/// at most 64 bytes); anything else is left out.
fn retry_after_value(v: &str) -> Option<http::HeaderValue> {
    let v = v.trim();
    let ok = !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b" ,:-".contains(&b));
    if ok {
        http::HeaderValue::from_str(v).ok()
    } else {
        None
    }
}

/// Put in response extensions so logging/metrics layers can see the error kind.
#[derive(Debug, Clone, Copy)]
pub struct ErrorKind(pub &'static str);

/// The API shape a route speaks, for errors raised before a handler runs.
pub fn api_for_path(path: &str) -> ApiKind {
    if path.starts_with("/v1/messages") {
        ApiKind::Anthropic
    } else {
        ApiKind::OpenAi
    }
}
