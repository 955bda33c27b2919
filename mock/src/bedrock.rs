//! **Bedrock mode**: AWS Bedrock's Converse API, `POST /model/{MODEL}/converse` (JSON) and
//! `POST /model/{MODEL}/converse-stream` (`application/vnd.amazon.eventstream` frames).
//!
//! It checks what AWS would: a SigV4 `Authorization` header of the shape
//! `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/bedrock/aws4_request, SignedHeaders=...,
//! Signature=...`, an `x-amz-date` of that date, `host` and `x-amz-date` among the signed
//! headers, and the signature itself, recomputed with `aws-sigv4` from the fixed test
//! credentials [`ACCESS_KEY_ID`] / [`SECRET_ACCESS_KEY`] (and [`SESSION_TOKEN`] when an
//! `x-amz-security-token` header came) over the method, path, signed headers and body as
//! received. A request that fails is answered 403 with Bedrock's error body (`{"message"}`)
//! and `x-amzn-errortype` (`MissingAuthenticationTokenException`,
//! `UnrecognizedClientException`, `InvalidSignatureException`), recorded like any other.
//!
//! MODEL (percent-decoded) picks the answer as the model options of the crate docs do
//! (`echo`, `tool`, `bench`, `error=NNN`, `slow=MS`, `delta=N`, `bytes=N`, `midstream=N`),
//! plus `guardrail` (an answer stopped with `stopReason: guardrail_intervened`) and
//! `throttle` (streaming: a `throttlingException` frame after `messageStart`). Errors carry
//! Bedrock's exception names (429 `ThrottlingException` with `retry-after: 7`, 403
//! `AccessDeniedException`, 400 `ValidationException`, 503 `ServiceUnavailableException`, ...).
//! `POST /model/{MODEL}/invoke` answers Titan text embeddings (see [`invoke`]).
//! Stream frames are encoded with `aws-smithy-eventstream`; `bytes=N` cuts them into N-byte
//! HTTP chunks, ignoring frame boundaries.

use super::{
    approx_tokens, bench_text, char_chunks, json_response, stream_body, Answer, Behavior, Ev, EvKind, Kind, MockState,
    BENCH_PLAIN_CHARS, BENCH_STREAM_CHARS,
};
use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue as FrameValue, Message};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::time::Duration;

/// The access key id the mock accepts.
pub const ACCESS_KEY_ID: &str = "AKIDVEILMOCK00EXAMPLE";
/// Its secret.
pub const SECRET_ACCESS_KEY: &str = "veil/mock/Secret+Access/KeyEXAMPLE00";
/// The session token the mock accepts in `x-amz-security-token`.
pub const SESSION_TOKEN: &str = "veil-mock-session-token-EXAMPLE";

/// The text of a guardrail's intervention.
const GUARDRAIL_TEXT: &str = "Sorry, the model cannot answer this question.";

pub(super) async fn converse(
    State(state): State<MockState>,
    Path(model): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(state, model, false, method, uri, headers, body).await
}

pub(super) async fn converse_stream(
    State(state): State<MockState>,
    Path(model): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(state, model, true, method, uri, headers, body).await
}

/// `POST /model/{MODEL}/invoke`: Titan text embeddings, `{"inputText"}` (plus `dimensions`)
/// → `{"embedding": [...], "inputTextTokenCount": n}`, the vector [`crate::mock_vector`] of
/// the text (the first `dimensions` of it when asked); the signature is checked as above.
pub(super) async fn invoke(
    State(state): State<MockState>,
    Path(model): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let value = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    if state.inner.record {
        state.record(&uri, &headers, value.clone());
    }
    if let Err((kind, message)) = verify_signature(&method, &uri, &headers, &body) {
        return error(StatusCode::FORBIDDEN, kind, message);
    }
    let behavior = Behavior::parse(&model);
    if let Some(ms) = behavior.slow_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(status) = behavior.error {
        return error(status, exception_for(status), "mock error");
    }
    let Some(text) = value.get("inputText").and_then(Value::as_str) else {
        return error(StatusCode::BAD_REQUEST, "ValidationException", "mock: expected {\"inputText\": ...}");
    };
    let mut vector = crate::mock_vector(text);
    if let Some(d) = value.get("dimensions").and_then(Value::as_u64).and_then(|d| usize::try_from(d).ok()) {
        vector.truncate(d);
    }
    let tokens = approx_tokens(text.chars().count());
    json_response(StatusCode::OK, &json!({"embedding": vector, "inputTextTokenCount": tokens}))
}

async fn handle(
    state: MockState,
    model: String,
    stream: bool,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let value = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    if state.inner.record {
        state.record(&uri, &headers, value.clone());
    }
    if let Err((kind, message)) = verify_signature(&method, &uri, &headers, &body) {
        return error(StatusCode::FORBIDDEN, kind, message);
    }
    let behavior = Behavior::parse(&model);
    if let Some(ms) = behavior.slow_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(status) = behavior.error {
        let mut resp = error(status, exception_for(status), "mock error");
        if status == StatusCode::TOO_MANY_REQUESTS {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("7"));
        }
        return resp;
    }
    if !value.get("messages").is_some_and(Value::is_array) || value.get("model").is_some() {
        return error(StatusCode::BAD_REQUEST, "ValidationException", "mock: expected a Converse body with messages");
    }
    let options: Vec<&str> = model.split('+').collect();
    let guardrail = options.contains(&"guardrail");
    let said = last_user_text(&value);
    let (text, tool_input) = match behavior.kind {
        _ if guardrail => (GUARDRAIL_TEXT.to_owned(), None),
        Kind::Bench => (bench_text(if stream { BENCH_STREAM_CHARS } else { BENCH_PLAIN_CHARS }), None),
        Kind::Echo => (format!("You said: {said}"), None),
        Kind::Tool => ("Let me look that up.".to_owned(), Some(json!({"query": said, "note": format!("see {said}")}))),
    };
    let answer = Answer { model: model.clone(), text, tool_input, prompt_tokens: approx_tokens(body.len()) };
    let stop = match (&answer.tool_input, guardrail) {
        (_, true) => "guardrail_intervened",
        (Some(_), false) => "tool_use",
        (None, false) => "end_turn",
    };
    if stream {
        let events = stream_events(&answer, stop, behavior.delta, options.contains(&"throttle"));
        let resp = (
            StatusCode::OK,
            [(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.amazon.eventstream"))],
            stream_body(events, &behavior),
        );
        resp.into_response()
    } else {
        json_response(StatusCode::OK, &plain(&answer, stop))
    }
}

/// Bedrock's error: `{"message"}` and the exception's name in `x-amzn-errortype`.
fn error(status: StatusCode, kind: &'static str, message: &str) -> Response {
    let mut resp = json_response(status, &json!({"message": message}));
    let errortype = format!("{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/");
    if let Ok(v) = HeaderValue::from_str(&errortype) {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    resp
}

fn exception_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "ValidationException",
        401 | 403 => "AccessDeniedException",
        404 => "ResourceNotFoundException",
        408 => "ModelTimeoutException",
        424 => "ModelErrorException",
        429 => "ThrottlingException",
        503 => "ServiceUnavailableException",
        _ => "InternalServerException",
    }
}

type Refusal = (&'static str, &'static str);

/// Checks the SigV4 signature as AWS would (see the module docs).
fn verify_signature(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    const MISSING: Refusal = ("MissingAuthenticationTokenException", "Missing Authentication Token");
    const SHAPE: Refusal =
        ("IncompleteSignatureException", "Authorization header requires Credential, SignedHeaders and Signature");
    const UNKNOWN: Refusal = ("UnrecognizedClientException", "The security token included in the request is invalid.");
    const MISMATCH: Refusal =
        ("InvalidSignatureException", "The request signature we calculated does not match the signature you provided.");
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let auth = text("authorization").ok_or(MISSING)?;
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256 ").ok_or(SHAPE)?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(", ") {
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let (credential, signed, signature) = match (credential, signed, signature) {
        (Some(c), Some(h), Some(s)) => (c, h, s),
        _ => return Err(SHAPE),
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [key_id, date, region, service, terminator] = scope[..] else { return Err(SHAPE) };
    if service != "bedrock" || terminator != "aws4_request" || signature.len() != 64 {
        return Err(SHAPE);
    }
    if key_id != ACCESS_KEY_ID {
        return Err(UNKNOWN);
    }
    let amz_date = text("x-amz-date").ok_or(SHAPE)?;
    let time = chrono::NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ").map_err(|_| SHAPE)?;
    if !amz_date.starts_with(date) {
        return Err(MISMATCH);
    }
    let signed: Vec<&str> = signed.split(';').collect();
    if !signed.contains(&"host") || !signed.contains(&"x-amz-date") {
        return Err(SHAPE);
    }
    let token = text("x-amz-security-token");
    if token.is_some_and(|t| t != SESSION_TOKEN || !signed.contains(&"x-amz-security-token")) {
        return Err(UNKNOWN);
    }
    // The signer adds `x-amz-date` and the token itself, from the time and the identity.
    let mut pairs = Vec::new();
    for name in &signed {
        if matches!(*name, "x-amz-date" | "x-amz-security-token") {
            continue;
        }
        pairs.push((*name, text(name).ok_or(MISMATCH)?));
    }
    let host = text("host").ok_or(SHAPE)?;
    let url = format!("http://{host}{}", uri.path_and_query().map_or("/", |p| p.as_str()));
    let identity = aws_credential_types::Credentials::new(
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
        token.map(str::to_owned),
        None,
        "veil-mock",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("bedrock")
        .time(std::time::SystemTime::from(time.and_utc()))
        .settings(SigningSettings::default())
        .build()
        .map_err(|_| SHAPE)?
        .into();
    let signable =
        SignableRequest::new(method.as_str(), url, pairs.into_iter(), SignableBody::Bytes(body)).map_err(|_| SHAPE)?;
    let (_, expected) = sign(signable, &params).map_err(|_| MISMATCH)?.into_parts();
    if expected != signature {
        return Err(MISMATCH);
    }
    Ok(())
}

/// The SigV4 headers (`authorization`, `x-amz-date`) of a `POST` of `body` to `url` with
/// `content-type: application/json`, signed with the mock's test credentials for `region`:
/// what `veil-mock --sign-bedrock` prints, so that a load test can send the mock a signed
/// ConverseStream request without an AWS SDK (the mock does not check the signing time).
pub fn sign_for_load_test(url: &str, body: &[u8], region: &str) -> Result<Vec<(String, String)>, String> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let identity =
        aws_credential_types::Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None, None, "veil-mock").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("bedrock")
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let headers = [("content-type", "application/json")];
    let signable =
        SignableRequest::new("POST", url, headers.into_iter(), SignableBody::Bytes(body)).map_err(|e| e.to_string())?;
    let (instructions, _) = sign(signable, &params).map_err(|e| e.to_string())?.into_parts();
    let (new_headers, _) = instructions.into_parts();
    Ok(new_headers.iter().map(|h| (h.name().to_owned(), h.value().to_owned())).collect())
}

/// The last `user` turn's `text` blocks and `toolResult` texts, joined with `"\n"`.
fn last_user_text(req: &Value) -> String {
    let turn = req
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|m| m.iter().rev().find(|t| t.get("role").and_then(Value::as_str) == Some("user")));
    let mut out = Vec::new();
    for block in turn.and_then(|t| t.get("content")).and_then(Value::as_array).into_iter().flatten() {
        if let Some(t) = block.get("text").and_then(Value::as_str) {
            out.push(t.to_owned());
        }
        for c in block.pointer("/toolResult/content").and_then(Value::as_array).into_iter().flatten() {
            match (c.get("text").and_then(Value::as_str), c.get("json")) {
                (Some(t), _) => out.push(t.to_owned()),
                (None, Some(j)) => out.push(j.to_string()),
                (None, None) => {}
            }
        }
    }
    out.join("\n")
}

fn usage(a: &Answer) -> Value {
    let c = a.completion_tokens();
    json!({"inputTokens": a.prompt_tokens, "outputTokens": c, "totalTokens": a.prompt_tokens + c})
}

/// The tool-use id of the mock's calls.
pub const TOOL_USE_ID: &str = "tooluse_mock0123456789";

fn plain(a: &Answer, stop: &str) -> Value {
    let mut content = vec![json!({"text": a.text})];
    if let Some(input) = &a.tool_input {
        content.push(json!({"toolUse": {"toolUseId": TOOL_USE_ID, "name": "lookup", "input": input}}));
    }
    json!({"output": {"message": {"role": "assistant", "content": content}}, "stopReason": stop,
           "usage": usage(a), "metrics": {"latencyMs": 12}})
}

/// One event-stream frame: `:message-type`, `:event-type` (or `:exception-type`),
/// `:content-type` and a JSON payload.
fn frame(message_type: &'static str, kind_header: &'static str, kind: &'static str, payload: &Value) -> Bytes {
    let m = Message::new(payload.to_string().into_bytes())
        .add_header(Header::new(":message-type", FrameValue::String(message_type.into())))
        .add_header(Header::new(kind_header, FrameValue::String(kind.into())))
        .add_header(Header::new(":content-type", FrameValue::String("application/json".into())));
    let mut out = Vec::new();
    write_message_to(&m, &mut out).expect("writing an event-stream frame into a Vec cannot fail; this is a bug");
    Bytes::from(out)
}

fn event(kind: EvKind, name: &'static str, payload: Value) -> Ev {
    Ev { kind, bytes: frame("event", ":event-type", name, &payload) }
}

fn stream_events(a: &Answer, stop: &str, delta: usize, throttle: bool) -> Vec<Ev> {
    // Bedrock pads event payloads with a `p` field; a reader must ignore it.
    let mut evs = vec![event(EvKind::Framing, "messageStart", json!({"role": "assistant", "p": "abcdefgh"}))];
    if throttle {
        let payload = json!({"message": "Too many tokens, please wait before trying again."});
        evs.push(Ev {
            kind: EvKind::Terminal,
            bytes: frame("exception", ":exception-type", "throttlingException", &payload),
        });
        return evs;
    }
    for piece in char_chunks(&a.text, delta) {
        evs.push(event(
            EvKind::Delta,
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": piece}, "p": "abcd"}),
        ));
    }
    evs.push(event(EvKind::Framing, "contentBlockStop", json!({"contentBlockIndex": 0})));
    if let Some(input) = &a.tool_input {
        evs.push(event(
            EvKind::Framing,
            "contentBlockStart",
            json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": TOOL_USE_ID, "name": "lookup"}}}),
        ));
        let args = input.to_string();
        for piece in char_chunks(&args, delta) {
            evs.push(event(
                EvKind::Delta,
                "contentBlockDelta",
                json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": piece}}}),
            ));
        }
        evs.push(event(EvKind::Framing, "contentBlockStop", json!({"contentBlockIndex": 1})));
    }
    evs.push(event(EvKind::Terminal, "messageStop", json!({"stopReason": stop})));
    evs.push(event(EvKind::Terminal, "metadata", json!({"usage": usage(a), "metrics": {"latencyMs": 12}})));
    evs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MockProvider;
    use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};

    /// A request signed as Veil signs it: with `aws-sigv4` over the final URL, headers, body.
    fn signed(url: &str, body: &Value, secret: &str, token: Option<&str>) -> reqwest::Request {
        use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
        let mut req = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .build()
            .unwrap();
        let identity =
            aws_credential_types::Credentials::new(ACCESS_KEY_ID, secret, token.map(str::to_owned), None, "t").into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("bedrock")
            .time(std::time::SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let bytes = req.body().unwrap().as_bytes().unwrap().to_vec();
        let headers: Vec<(String, String)> =
            req.headers().iter().map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned())).collect();
        let signable = SignableRequest::new(
            "POST",
            url,
            headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            SignableBody::Bytes(&bytes),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        for (n, v) in instructions.headers() {
            req.headers_mut()
                .insert(reqwest::header::HeaderName::from_bytes(n.as_bytes()).unwrap(), v.parse().unwrap());
        }
        req
    }

    fn body(text: &str) -> Value {
        json!({"messages": [{"role": "user", "content": [{"text": text}]}]})
    }

    #[tokio::test]
    async fn signed_requests_are_answered_and_bad_signatures_refused() {
        let m = MockProvider::start().await;
        let client = reqwest::Client::new();
        let url = format!("http://{}/model/anthropic.claude-v2%3A1/converse", m.addr);
        let r = client.execute(signed(&url, &body("Hi [EMAIL_1]"), SECRET_ACCESS_KEY, None)).await.unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["output"]["message"]["content"][0]["text"], "You said: Hi [EMAIL_1]");
        assert_eq!(v["stopReason"], "end_turn");
        assert!(v["usage"]["outputTokens"].as_u64().unwrap() > 0);
        let with_token = signed(&url, &body("x"), SECRET_ACCESS_KEY, Some(SESSION_TOKEN));
        assert_eq!(client.execute(with_token).await.unwrap().status(), 200);

        for (req, kind) in [
            (signed(&url, &body("x"), "wrong-secret", None), "InvalidSignatureException"),
            (signed(&url, &body("x"), SECRET_ACCESS_KEY, Some("other-token")), "UnrecognizedClientException"),
            (client.post(&url).json(&body("x")).build().unwrap(), "MissingAuthenticationTokenException"),
        ] {
            let r = client.execute(req).await.unwrap();
            assert_eq!(r.status(), 403);
            assert!(r.headers()["x-amzn-errortype"].to_str().unwrap().starts_with(kind));
        }
        // A body changed after signing no longer matches.
        let mut req = signed(&url, &body("x"), SECRET_ACCESS_KEY, None);
        *req.body_mut() = Some(body("y").to_string().into());
        assert_eq!(client.execute(req).await.unwrap().status(), 403);
        let got = m.received();
        assert_eq!(got.len(), 6);
        assert_eq!(got[0].path, "/model/anthropic.claude-v2%3A1/converse");
    }

    #[tokio::test]
    async fn streams_are_event_stream_frames_and_errors_name_the_exception() {
        let m = MockProvider::start().await;
        let client = reqwest::Client::new();
        let url = format!("http://{}/model/tool+delta=3+bytes=5/converse-stream", m.addr);
        let r = client.execute(signed(&url, &body("Grüße"), SECRET_ACCESS_KEY, None)).await.unwrap();
        assert_eq!(r.headers()["content-type"], "application/vnd.amazon.eventstream");
        let mut buf = bytes::BytesMut::from(&r.bytes().await.unwrap()[..]);
        let mut decoder = MessageFrameDecoder::new();
        let mut kinds = Vec::new();
        let mut text = String::new();
        while let DecodedFrame::Complete(f) = decoder.decode_frame(&mut buf).unwrap() {
            let name = f.headers().iter().find(|h| h.name().as_str() == ":event-type").unwrap();
            let name = name.value().as_string().unwrap().as_str().to_owned();
            let p: Value = serde_json::from_slice(f.payload()).unwrap();
            if let Some(t) = p.pointer("/delta/text").and_then(Value::as_str) {
                text.push_str(t);
            }
            kinds.push(name);
        }
        assert_eq!(text, "Let me look that up.");
        assert_eq!(kinds.first().map(String::as_str), Some("messageStart"));
        assert!(kinds.iter().any(|k| k == "contentBlockStart"));
        assert_eq!(&kinds[kinds.len() - 2..], ["messageStop", "metadata"]);

        let url = format!("http://{}/model/error=429/converse", m.addr);
        let r = client.execute(signed(&url, &body("x"), SECRET_ACCESS_KEY, None)).await.unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "7");
        assert!(r.headers()["x-amzn-errortype"].to_str().unwrap().starts_with("ThrottlingException"));
    }
}
