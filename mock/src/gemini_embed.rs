//! Gemini's `POST /v1beta/models/{MODEL}:batchEmbedContents` (reached through
//! `gemini_call`, after its key checks): one vector per `requests[].content.parts` text,
//! the same [`crate::mock_vector`] as the OpenAI embeddings mock, truncated to
//! `outputDimensionality` when asked. Every `requests[].model` must be `models/{MODEL}`,
//! as Google requires (else 400).

use crate::{json_response, mock_vector};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

pub(crate) fn batch_embed(model: &str, req: &Value) -> Response {
    let bad = |m: &str| {
        json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": {"code": 400, "message": m, "status": "INVALID_ARGUMENT"}}),
        )
    };
    let Some(requests) = req.get("requests").and_then(Value::as_array) else {
        return bad("mock: requests must be a list");
    };
    let want = format!("models/{model}");
    let mut embeddings = Vec::with_capacity(requests.len());
    for r in requests {
        if r.get("model").and_then(Value::as_str) != Some(want.as_str()) {
            return bad("mock: requests[].model must be models/{MODEL} of the URL");
        }
        let Some(parts) = r.pointer("/content/parts").and_then(Value::as_array) else {
            return bad("mock: requests[].content.parts must be a list");
        };
        let text: Vec<&str> = parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect();
        let mut values = mock_vector(&text.join(""));
        if let Some(n) = r.get("outputDimensionality").and_then(Value::as_u64) {
            values.truncate(usize::try_from(n).unwrap_or(usize::MAX));
        }
        embeddings.push(json!({ "values": values }));
    }
    json_response(StatusCode::OK, &json!({ "embeddings": embeddings }))
}
