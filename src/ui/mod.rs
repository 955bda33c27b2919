//! The audit review page at `/ui` (beside the request flow, not in it): a table of recent
//! requests with filters and paging, one record's findings, the chain status of the log,
//! charts, and a "try it" box that masks a text without sending or recording it.
//!
//! Everything it shows comes from the audit log through the readers `veil audit` uses
//! ([`crate::audit::run_query`] with a [`crate::audit::Query`] built by
//! [`crate::audit::Query::set`], [`crate::audit::verify_set`] over the rotated set), so the
//! page holds what the log holds: labels, actions, placeholders and keyed hashes, never a
//! raw value. The HTML, JavaScript and CSS are compiled into the binary and load nothing
//! from elsewhere (a strict `Content-Security-Policy` says so to the browser).
//!
//! Access ([`check_access`]), decided per request before any handler runs:
//! - `[ui] enabled = false`: every `/ui` route answers 404;
//! - `[ui] admin_sha256` set: the admin key must come with the request, as the password of
//!   HTTP Basic auth (what the browser's login prompt sends), `Authorization: Bearer KEY`
//!   or `x-api-key: KEY`; else 401 with a Basic challenge;
//! - no admin key but `[[keys]]` configured: 401 (the gateway's caller keys never open it);
//! - no admin key and no `[[keys]]`: open when Veil listens on a loopback address (a
//!   localhost sidecar), else 403.
//!
//! The page is outside the gateway's caller-key auth and load shedding (see
//! [`crate::http::router`]); it has its own body limit ([`MAX_BODY_BYTES`]).

mod api;

use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, WWW_AUTHENTICATE,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};

/// The page's routes; `/ui/api/...` answer JSON.
pub const ROUTES: &[&str] = &[
    "/ui",
    "/ui/app.js",
    "/ui/app.css",
    "/ui/api/meta",
    "/ui/api/records",
    "/ui/api/records/{seq}",
    "/ui/api/verify",
    "/ui/api/series",
    "/ui/api/try",
];

/// Largest body `POST /ui/api/try` accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the browser may load: this origin's script, style and JSON, nothing else; no
/// inline script, no framing, no form posts.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// The review page's routes with their access check, to be merged into the gateway's router.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/ui", get(index))
        .route("/ui/", get(index))
        .route("/ui/app.js", get(app_js))
        .route("/ui/app.css", get(app_css))
        .route("/ui/api/meta", get(api::meta))
        .route("/ui/api/records", get(api::records))
        .route("/ui/api/records/{seq}", get(api::record))
        .route("/ui/api/verify", get(api::verify))
        .route("/ui/api/series", get(api::series))
        .route("/ui/api/try", post(api::try_mask))
        // `route_layer`: only matched `/ui` routes are checked; anything else falls through
        // to the gateway's fallback and its own auth.
        .route_layer(from_fn_with_state(state, guard))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Why a request to the page was refused, or why an API call failed. Bodies are
/// `{"error":{"message","type"}}` and never hold a value from the log or the request.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error("not found")]
    NotFound,
    #[error("the audit review page needs the admin key")]
    Unauthorized,
    #[error("the audit review page needs [ui] admin_sha256 when [[keys]] are configured")]
    NoAdminKey,
    #[error(
        "the audit review page is open without an admin key only on a loopback listen address: set [ui] admin_sha256"
    )]
    NotLoopback,
    #[error("{0}")]
    BadRequest(String),
    #[error("the audit log is turned off ([audit] enabled = false)")]
    AuditOff,
    #[error("no record with seq {0}")]
    NoRecord(u64),
    #[error("cannot read the audit log")]
    Read(#[source] crate::audit::VerifyError),
    #[error("pii masking is unavailable")]
    MaskingUnavailable,
    #[error("internal error")]
    Internal,
}

impl UiError {
    /// The one place that picks the page's status codes.
    pub fn status(&self) -> StatusCode {
        match self {
            UiError::NotFound | UiError::NoRecord(_) => StatusCode::NOT_FOUND,
            UiError::Unauthorized | UiError::NoAdminKey => StatusCode::UNAUTHORIZED,
            UiError::NotLoopback => StatusCode::FORBIDDEN,
            UiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            UiError::AuditOff => StatusCode::CONFLICT,
            UiError::MaskingUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            UiError::Read(_) | UiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            UiError::NotFound | UiError::NoRecord(_) => "not_found",
            UiError::Unauthorized | UiError::NoAdminKey => "unauthorized",
            UiError::NotLoopback => "forbidden",
            UiError::BadRequest(_) => "invalid_request",
            UiError::AuditOff => "audit_off",
            UiError::MaskingUnavailable => "masking_unavailable",
            UiError::Read(_) | UiError::Internal => "server_error",
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        if let UiError::Read(e) = &self {
            // The path and cause go to the operator's log, not to the page.
            tracing::error!(error = %e, "review page cannot read the audit log");
        }
        let status = self.status();
        let mut resp =
            (status, Json(json!({"error": {"message": self.to_string(), "type": self.kind()}}))).into_response();
        let h = resp.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            h.insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"veil audit review\", charset=\"UTF-8\""),
            );
        }
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }
}

/// Whether this request may use the page (see the module docs for the rules).
pub fn check_access(state: &AppState, headers: &HeaderMap) -> Result<(), UiError> {
    let config = &state.config;
    if !config.ui.enabled {
        return Err(UiError::NotFound);
    }
    if let Some(want) = &config.ui.admin_sha256 {
        let Some(presented) = presented_admin_key(headers) else { return Err(UiError::Unauthorized) };
        let digest = Sha256::digest(presented.as_bytes());
        // Constant time: fold every byte before deciding.
        let same = want.iter().zip(digest.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        return if same { Ok(()) } else { Err(UiError::Unauthorized) };
    }
    if !config.keys.is_empty() {
        return Err(UiError::NoAdminKey);
    }
    if config.server.listen.ip().is_loopback() {
        Ok(())
    } else {
        Err(UiError::NotLoopback)
    }
}

/// The admin key as a browser (Basic auth password, any user name) or a script (Bearer,
/// `x-api-key`) sends it.
fn presented_admin_key(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if let Some(b64) = v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")) {
            let bytes = base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok()?;
            let text = String::from_utf8(bytes).ok()?;
            return Some(match text.split_once(':') {
                Some((_user, password)) => password.to_string(),
                None => text,
            });
        }
    }
    crate::caller::presented_key(headers).map(str::to_string)
}

async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Err(e) = check_access(&state, req.headers()) {
        return e.into_response();
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.entry(CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    resp
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response()
}

async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn app_css() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

#[cfg(test)]
mod tests;
