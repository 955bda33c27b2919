//! The Bedrock provider kind (part of the providers layer): AWS Bedrock's Converse and
//! ConverseStream APIs, reached from Chat Completions (and, through the existing Messages ⇄
//! Chat Completions translation, from Messages) clients.
//!
//! - URL: `{base_url}/model/{MODEL}/converse`, and `{base_url}/model/{MODEL}/converse-stream`
//!   for streams, where MODEL, the part of the client's model after `provider/`, is a Bedrock
//!   model id or ARN (`anthropic.claude-3-5-sonnet-20240620-v1:0`,
//!   `us.meta.llama3-1-8b-instruct-v1:0`), percent-encoded as one path segment as the AWS
//!   SDKs do (`:` is `%3A`, `/` is `%2F`); `base_url` defaults to
//!   `https://bedrock-runtime.{region}.amazonaws.com`; embeddings: Titan text embeddings
//!   models through InvokeModel, `{base_url}/model/{MODEL}/invoke`, one call per input;
//! - auth: SigV4 (service `bedrock`, the provider's `region`) over the final URL, headers and
//!   body, with `aws-sigv4`; credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
//!   `AWS_SESSION_TOKEN` (sent as `x-amz-security-token`), read when the config loads;
//! - errors: `{"message": ...}` bodies named by the `x-amzn-errortype` header
//!   (`ThrottlingException`, `ValidationException`, ...); statuses map by the usual rules.
//!
//! Flow: the pipeline builds the Chat Completions request it would send an OpenAI upstream
//! (the client's own masked body, or a Messages body translated), then
//! [`from_openai_request`] turns it into a Converse request (`messages` of content blocks,
//! `system`, `inferenceConfig`, `toolConfig`), which must pass the translation check with
//! [`request_texts`] (this format's deny-by-default field rules). The pipeline's `post`
//! signs the request last ([`sign`]). Answers come back the other way: [`to_openai_response`]
//! for plain ones, and [`BedrockToOpenAiStream`] decodes ConverseStream's binary
//! `application/vnd.amazon.eventstream` frames incrementally (`aws-smithy-eventstream`,
//! frames split at any byte) and turns each event into Chat Completions chunks, so restore
//! and the Messages translation run on the client-format deltas exactly as for an OpenAI
//! upstream. A guardrail or content-filter stop is [`Blocked`].

use super::fields::{self, Path, ShapeError};
use super::gemini::Blocked;
use super::sse::SseEvent;
use super::translate::TranslateError;
use super::TextRef;
use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use aws_smithy_types::event_stream::{HeaderValue as FrameHeaderValue, Message};
use bytes::{Buf, BytesMut};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::fmt;

/// The variables credentials are read from.
pub const ACCESS_KEY_ID_ENV: &str = "AWS_ACCESS_KEY_ID";
pub const SECRET_ACCESS_KEY_ENV: &str = "AWS_SECRET_ACCESS_KEY";
pub const SESSION_TOKEN_ENV: &str = "AWS_SESSION_TOKEN";
/// The region of a provider without `region`, when set.
pub const REGION_ENVS: &[&str] = &["AWS_REGION", "AWS_DEFAULT_REGION"];
/// What a missing-credentials error tells the operator to set.
pub const CREDENTIALS_ENV: &str =
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)";
/// What a model that cannot be a Bedrock model id must look like (for the 400).
pub const MODEL_RULE: &str = "a Bedrock model id or ARN (letters, digits, '-', '_', '.', ':', '/')";

/// AWS credentials for SigV4. `Debug` shows the access key id only.
#[derive(Clone)]
pub struct AwsCredentials {
    access_key_id: String,
    secret_access_key: SecretString,
    session_token: Option<SecretString>,
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("session_token", &self.session_token.as_ref().map(|_| "[REDACTED]"))
            .finish_non_exhaustive()
    }
}

/// What a `bedrock` provider needs beyond a base URL: its region and credentials.
#[derive(Debug, Clone)]
pub struct BedrockSettings {
    /// e.g. `us-east-1`.
    pub region: String,
    /// `None` when the variables are not set: requests then fail with a 503 naming them.
    credentials: Option<AwsCredentials>,
}

/// Two settings are equal when they sign for the same region as the same access key id.
impl PartialEq for BedrockSettings {
    fn eq(&self, other: &Self) -> bool {
        self.region == other.region
            && self.credentials.as_ref().map(|c| &c.access_key_id)
                == other.credentials.as_ref().map(|c| &c.access_key_id)
    }
}
impl Eq for BedrockSettings {}

impl BedrockSettings {
    /// Checks a `region` config value and takes the credentials (both halves of the key
    /// or none; the session token only with them).
    pub fn new(
        region: &str,
        access_key_id: Option<String>,
        secret_access_key: Option<String>,
        session_token: Option<String>,
    ) -> Result<BedrockSettings, String> {
        if !is_region(region) {
            return Err(format!("{region:?} is not an AWS region like \"us-east-1\""));
        }
        let credentials = match (access_key_id.filter(|k| !k.is_empty()), secret_access_key.filter(|k| !k.is_empty())) {
            (Some(id), Some(secret)) => Some(AwsCredentials {
                access_key_id: id,
                secret_access_key: SecretString::from(secret),
                session_token: session_token.filter(|t| !t.is_empty()).map(SecretString::from),
            }),
            _ => None,
        };
        Ok(BedrockSettings { region: region.to_owned(), credentials })
    }

    /// Whether both halves of the access key were set.
    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }

    /// The secret half of the key (the provider's `api_key`, which says the provider has one).
    pub fn secret(&self) -> Option<SecretString> {
        self.credentials.as_ref().map(|c| c.secret_access_key.clone())
    }
}

/// `https://bedrock-runtime.{region}.amazonaws.com`.
pub fn default_base_url(region: &str) -> String {
    format!("https://bedrock-runtime.{region}.amazonaws.com")
}

/// An AWS region name: lower-case letters, digits and `-`, starting with a letter.
pub fn is_region(s: &str) -> bool {
    (2..=32).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A Bedrock model id, inference profile id or ARN: 1 to 2048 ASCII letters, digits and
/// `-_.:/` (and `+`, `=`), starting with a letter or digit. It is percent-encoded into one
/// path segment, so `/` and `:` cannot reach another path.
pub fn is_model_id(s: &str) -> bool {
    (1..=2048).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'+' | b'='))
}

/// Percent-encodes one path segment as the AWS SDKs do: everything but the unreserved
/// characters (`A-Z a-z 0-9 - . _ ~`).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `{base_url}/model/{model}/converse` (or `converse-stream`), or `None` when `model` is
/// not a model id ([`is_model_id`]).
pub fn url(base_url: &str, model: &str, stream: bool) -> Option<String> {
    if !is_model_id(model) {
        return None;
    }
    let method = if stream { "converse-stream" } else { "converse" };
    Some(format!("{base_url}/model/{}/{method}", encode_segment(model)))
}

/// Why a request could not be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignError {
    /// No credentials in the environment.
    MissingCredentials,
    /// The signer refused the request (a URL without a host, a header it cannot read).
    Failed,
}

/// Signs `req` in place with SigV4 (service `bedrock`, the settings' region): adds
/// `x-amz-date`, `authorization` and, with a session token, `x-amz-security-token`
/// (marked sensitive, so that no debug output shows them). Every header already on the
/// request and the exact body bytes are signed; call it last.
pub fn sign(settings: &BedrockSettings, req: &mut reqwest::Request) -> Result<(), SignError> {
    use aws_sigv4::http_request::{sign as sigv4, SignableBody, SignableRequest, SigningSettings};
    let c = settings.credentials.as_ref().ok_or(SignError::MissingCredentials)?;
    let identity = aws_credential_types::Credentials::new(
        c.access_key_id.clone(),
        c.secret_access_key.expose_secret().to_owned(),
        c.session_token.as_ref().map(|t| t.expose_secret().to_owned()),
        None,
        "veil-environment",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(&settings.region)
        .name("bedrock")
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|_| SignError::Failed)?
        .into();
    let body = req.body().and_then(reqwest::Body::as_bytes).unwrap_or_default();
    let headers: Vec<(&str, &str)> =
        req.headers().iter().filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str(), v))).collect();
    let signable = SignableRequest::new(req.method().as_str(), req.url().as_str(), headers.into_iter(), {
        SignableBody::Bytes(body)
    })
    .map_err(|_| SignError::Failed)?;
    let (instructions, _signature) = sigv4(signable, &params).map_err(|_| SignError::Failed)?.into_parts();
    let (new_headers, _params) = instructions.into_parts();
    for h in new_headers {
        let mut value = http::HeaderValue::from_str(h.value()).map_err(|_| SignError::Failed)?;
        value.set_sensitive(h.sensitive() || h.name() == "authorization");
        req.headers_mut().insert(h.name(), value);
    }
    Ok(())
}

/// Best-effort message of a Bedrock error: the exception named by `x-amzn-errortype`
/// (`ThrottlingException`; the part before `:`) and the body's `message` (or `Message`).
pub fn upstream_error_message(headers: &http::HeaderMap, body: &[u8]) -> Option<String> {
    let kind = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(':').next())
        .filter(|k| is_exception_name(k));
    let v: Option<Value> = serde_json::from_slice(body).ok();
    let message = v.as_ref().and_then(|v| v.get("message").or_else(|| v.get("Message"))).and_then(Value::as_str);
    let kind = kind.or_else(|| {
        v.as_ref().and_then(|v| v.get("__type")).and_then(Value::as_str).and_then(|t| t.rsplit('#').next())
    });
    let kind = kind.filter(|k| is_exception_name(k));
    match (kind, message) {
        (Some(k), Some(m)) => Some(format!("{k}: {m}")),
        (Some(k), None) => Some(k.to_owned()),
        (None, Some(m)) => Some(m.to_owned()),
        (None, None) => None,
    }
}

/// An exception name such as `ThrottlingException`: ASCII letters and digits only.
fn is_exception_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

// ---------------------------------------------------------------------------------------
// Field rules of a Converse request (what the translation check reads)
// ---------------------------------------------------------------------------------------

const ROLES: &[&str] = &["user", "assistant"];
const IMAGE_FORMATS: &[&str] = &["png", "jpeg", "gif", "webp"];
const TOOL_STATUSES: &[&str] = &["success", "error"];

/// Every string of a Converse request that is not structural. Structural: `role` (`user`,
/// `assistant`), `toolUseId`s (ids), tool names, `image.format` and `image.source.bytes`
/// (binary base64), `toolResult.status`, JSON-schema keywords of `inputSchema.json`.
/// Everything else, unknown fields included, is text.
pub fn request_texts(body: &mut Value) -> Result<Vec<TextRef<'_>>, ShapeError> {
    let root = Path::ROOT;
    let Value::Object(map) = body else { return Err(root.error("expected a JSON object")) };
    let mut out = Vec::new();
    for (key, value) in map.iter_mut() {
        let path = root.key(key);
        match key.as_str() {
            "messages" => {
                let Value::Array(items) = value else { return Err(path.error("expected an array")) };
                for (i, m) in items.iter_mut().enumerate() {
                    message(m, path.index(i), &mut out)?;
                }
            }
            "toolConfig" => fields::object_fields(value, &mut out, |k, v, out| match (k, v) {
                ("tools", Value::Array(tools)) => tools.iter_mut().for_each(|t| tool(t, out)),
                ("toolChoice", v) => fields::object_fields(v, out, |k, v, out| match k {
                    "tool" => fields::object_fields(v, out, |k, v, out| match k {
                        "name" => fields::structural(v, fields::is_name, out),
                        _ => fields::all_text(v, out),
                    }),
                    // `auto: {}`, `any: {}`: nothing inside.
                    _ => fields::all_text(v, out),
                }),
                (_, v) => fields::all_text(v, out),
            }),
            // `system` blocks, `inferenceConfig` (its `stopSequences`), and the rest.
            _ => fields::all_text(value, &mut out),
        }
    }
    Ok(out)
}

/// A message: `role` and `content` blocks.
fn message<'a>(m: &'a mut Value, path: Path<'_>, out: &mut Vec<TextRef<'a>>) -> Result<(), ShapeError> {
    let Value::Object(map) = m else { return Err(path.error("expected an object")) };
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "role" => fields::structural(value, fields::one_of(ROLES), out),
            "content" => {
                let at = path.key("content");
                let Value::Array(blocks) = value else { return Err(at.error("expected an array")) };
                for (i, b) in blocks.iter_mut().enumerate() {
                    block(b, at.index(i), out)?;
                }
            }
            _ => fields::all_text(value, out),
        }
    }
    Ok(())
}

/// A content block: text, image, toolUse or toolResult.
fn block<'a>(b: &'a mut Value, path: Path<'_>, out: &mut Vec<TextRef<'a>>) -> Result<(), ShapeError> {
    let Value::Object(map) = b else { return Err(path.error("expected an object")) };
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "text" => fields::required_text(value, path.key("text"), out)?,
            "image" => fields::object_fields(value, out, |k, v, out| match k {
                "format" => fields::structural(v, fields::one_of(IMAGE_FORMATS), out),
                "source" => fields::object_fields(v, out, |k, v, out| match k {
                    "bytes" => fields::structural(v, fields::is_binary_base64, out),
                    _ => fields::all_text(v, out),
                }),
                _ => fields::all_text(v, out),
            }),
            "toolUse" => fields::object_fields(value, out, |k, v, out| match k {
                "toolUseId" => fields::structural(v, fields::is_id, out),
                "name" => fields::structural(v, fields::is_name, out),
                // `input`: every string leaf is text.
                _ => fields::all_text(v, out),
            }),
            "toolResult" => fields::object_fields(value, out, |k, v, out| match k {
                "toolUseId" => fields::structural(v, fields::is_id, out),
                "status" => fields::structural(v, fields::one_of(TOOL_STATUSES), out),
                // `content`: `{text}` and `{json}` blocks, all text.
                _ => fields::all_text(v, out),
            }),
            _ => fields::all_text(value, out),
        }
    }
    Ok(())
}

/// A `tools` entry: `toolSpec {name, description, inputSchema {json}}`.
fn tool<'a>(t: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    fields::object_fields(t, out, |k, v, out| match k {
        "toolSpec" => fields::object_fields(v, out, |k, v, out| match k {
            "name" => fields::structural(v, fields::is_name, out),
            "inputSchema" => fields::object_fields(v, out, |k, v, out| match k {
                "json" => fields::schema(v, out),
                _ => fields::all_text(v, out),
            }),
            _ => fields::all_text(v, out),
        }),
        _ => fields::all_text(v, out),
    });
}

// ---------------------------------------------------------------------------------------
// Request: Chat Completions → Converse
// ---------------------------------------------------------------------------------------

/// Settings with no Converse equivalent that change nothing in the answer's shape:
/// dropped (debug-logged by name): those of every native format, and the sampling
/// penalties and seed, which Converse's `inferenceConfig` lacks.
const PENALTIES: &[&str] = &["presence_penalty", "frequency_penalty", "seed"];

/// Translates a (masked) Chat Completions request into a Converse request. The model is in
/// the URL, not the body.
pub fn from_openai_request(body: &Value) -> Result<Value, TranslateError> {
    let Some(obj) = body.as_object() else { return Err(TranslateError::Invalid("expected a JSON object".into())) };
    let mut out = Map::new();
    let mut inference = Map::new();
    let mut tool_config = Map::new();
    let mut unknown = 0usize;
    for (key, value) in obj {
        match key.as_str() {
            "messages" => {}
            "temperature" if value.is_number() => {
                inference.insert("temperature".into(), value.clone());
            }
            "top_p" if value.is_number() => {
                inference.insert("topP".into(), value.clone());
            }
            "max_tokens" | "max_completion_tokens" if value.is_number() => {
                inference.insert("maxTokens".into(), value.clone());
            }
            "stop" => match value {
                Value::String(s) => {
                    inference.insert("stopSequences".into(), json!([s]));
                }
                Value::Array(_) => {
                    inference.insert("stopSequences".into(), value.clone());
                }
                Value::Null => {}
                _ => return Err(TranslateError::Invalid("stop: expected a string or a list".into())),
            },
            "n" => match value.as_u64() {
                None | Some(1) => {}
                Some(_) => return Err(TranslateError::Unsupported("n: Bedrock translation gives one choice".into())),
            },
            "logprobs" => {
                if value.as_bool() == Some(true) {
                    return Err(TranslateError::Unsupported("logprobs: not available through Bedrock".into()));
                }
            }
            "response_format" => match value.get("type").and_then(Value::as_str) {
                None | Some("text") => {}
                Some(_) => {
                    return Err(TranslateError::Unsupported(
                        "response_format: Bedrock's Converse API has no JSON output mode".into(),
                    ))
                }
            },
            "audio" if !value.is_null() => {
                return Err(TranslateError::Unsupported("audio: not available through Bedrock".into()))
            }
            "tools" => {
                if let Some(t) = tools(value)? {
                    tool_config.insert("tools".into(), t);
                }
            }
            "tool_choice" => {
                if let Some(c) = tool_choice(value)? {
                    tool_config.insert("toolChoice".into(), c);
                }
            }
            k if super::openai::NO_NATIVE_EQUIVALENT.contains(&k) || PENALTIES.contains(&k) => {
                tracing::debug!(setting = k, "no Bedrock equivalent; dropped")
            }
            // The client's own field names are not logged, only counted.
            _ => unknown += 1,
        }
    }
    if unknown > 0 {
        tracing::debug!(fields = unknown, "fields unknown to the Bedrock translation; dropped");
    }
    let (system, messages) = messages(obj.get("messages"))?;
    out.insert("messages".into(), Value::Array(messages));
    if !system.is_empty() {
        out.insert("system".into(), Value::Array(system));
    }
    if !inference.is_empty() {
        out.insert("inferenceConfig".into(), Value::Object(inference));
    }
    // A tool choice without tools means nothing to Converse (which refuses it).
    if tool_config.contains_key("tools") {
        out.insert("toolConfig".into(), Value::Object(tool_config));
    }
    Ok(Value::Object(out))
}

fn tools(v: &Value) -> Result<Option<Value>, TranslateError> {
    let Some(list) = v.as_array() else { return Err(TranslateError::Invalid("tools: expected a list".into())) };
    let mut specs = Vec::new();
    for (i, t) in list.iter().enumerate() {
        if t.get("type").and_then(Value::as_str).unwrap_or("function") != "function" {
            return Err(TranslateError::Unsupported(format!("tools[{i}]: only function tools reach Bedrock")));
        }
        let f = t.get("function").ok_or_else(|| TranslateError::Invalid(format!("tools[{i}].function: missing")))?;
        let name = f
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| TranslateError::Invalid(format!("tools[{i}].function.name: missing")))?;
        let mut spec = Map::new();
        spec.insert("name".into(), json!(name));
        if let Some(desc) = f.get("description").filter(|d| d.as_str().is_some_and(|s| !s.is_empty())) {
            spec.insert("description".into(), desc.clone());
        }
        let schema =
            f.get("parameters").filter(|p| p.is_object()).cloned().unwrap_or_else(|| json!({"type": "object"}));
        spec.insert("inputSchema".into(), json!({"json": schema}));
        specs.push(json!({"toolSpec": spec}));
    }
    Ok((!specs.is_empty()).then_some(Value::Array(specs)))
}

fn tool_choice(v: &Value) -> Result<Option<Value>, TranslateError> {
    Ok(Some(match v {
        Value::String(s) => match s.as_str() {
            "auto" => json!({"auto": {}}),
            "required" => json!({"any": {}}),
            "none" => {
                return Err(TranslateError::Unsupported(
                    "tool_choice: \"none\" has no Bedrock equivalent (leave the tools out instead)".into(),
                ))
            }
            _ => return Err(TranslateError::Invalid("tool_choice: unknown value".into())),
        },
        Value::Object(o) => {
            let name = o
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| TranslateError::Invalid("tool_choice.function.name: missing".into()))?;
            json!({"tool": {"name": name}})
        }
        Value::Null => return Ok(None),
        _ => return Err(TranslateError::Invalid("tool_choice: expected a string or an object".into())),
    }))
}

/// The text and image blocks of a message's `content` (a string or a list of parts).
fn content_blocks(content: Option<&Value>, at: &str) -> Result<Vec<Value>, TranslateError> {
    match content {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(if s.is_empty() { Vec::new() } else { vec![json!({"text": s})] }),
        Some(Value::Array(parts)) => {
            let mut out = Vec::new();
            for (i, p) in parts.iter().enumerate() {
                match p.get("type").and_then(Value::as_str) {
                    Some("text") | Some("refusal") => {
                        let key = if p.get("text").is_some() { "text" } else { "refusal" };
                        let t = p.get(key).and_then(Value::as_str).unwrap_or_default();
                        if !t.is_empty() {
                            out.push(json!({"text": t}));
                        }
                    }
                    Some("image_url") => {
                        let url = p
                            .get("image_url")
                            .and_then(|u| u.get("url").or(Some(u)))
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        let image = url
                            .strip_prefix("data:image/")
                            .and_then(|r| r.split_once(','))
                            .and_then(|(m, d)| m.strip_suffix(";base64").map(|m| (m, d)))
                            .filter(|(format, _)| IMAGE_FORMATS.contains(format));
                        let Some((format, data)) = image else {
                            return Err(TranslateError::Unsupported(format!(
                                "{at}.content[{i}]: Bedrock takes images as base64 data URLs of PNG, JPEG, GIF or WebP only"
                            )));
                        };
                        out.push(json!({"image": {"format": format, "source": {"bytes": data}}}));
                    }
                    _ => {
                        return Err(TranslateError::Unsupported(format!(
                            "{at}.content[{i}]: this part type does not reach Bedrock"
                        )))
                    }
                }
            }
            Ok(out)
        }
        Some(_) => Err(TranslateError::Invalid(format!("{at}.content: expected a string or a list"))),
    }
}

/// The `toolResult.content` of a tool message: its text, as one `{text}` block.
fn tool_result_content(content: Option<&Value>) -> Vec<Value> {
    let text = match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n")
        }
        _ => String::new(),
    };
    vec![json!({"text": text})]
}

type Messages = (Vec<Value>, Vec<Value>);

/// System/developer messages → `system`; the rest → `messages` (consecutive turns of one
/// role merged, as Converse requires alternating roles; tool results are `user` turns of
/// `toolResult` blocks naming the call they answer).
fn messages(messages: Option<&Value>) -> Result<Messages, TranslateError> {
    let Some(list) = messages.and_then(Value::as_array) else {
        return Err(TranslateError::Invalid("messages: expected a list".into()));
    };
    let mut system = Vec::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let mut calls: HashMap<String, ()> = HashMap::new();
    for (i, m) in list.iter().enumerate() {
        let at = format!("messages[{i}]");
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        let (bedrock_role, blocks) = match role {
            "system" | "developer" => {
                for b in content_blocks(m.get("content"), &at)? {
                    if b.get("text").is_none() {
                        return Err(TranslateError::Unsupported(format!("{at}: Bedrock system prompts are text only")));
                    }
                    system.push(b);
                }
                continue;
            }
            "user" => ("user", content_blocks(m.get("content"), &at)?),
            "assistant" => {
                let mut blocks = content_blocks(m.get("content"), &at)?;
                for (j, call) in m.get("tool_calls").and_then(Value::as_array).into_iter().flatten().enumerate() {
                    let f = call.get("function").unwrap_or(&Value::Null);
                    let name = f.get("name").and_then(Value::as_str).unwrap_or_default();
                    let id = call.get("id").and_then(Value::as_str).unwrap_or_default();
                    if id.is_empty() {
                        return Err(TranslateError::Invalid(format!("{at}.tool_calls[{j}].id: missing")));
                    }
                    calls.insert(id.to_owned(), ());
                    let input = match f.get("arguments") {
                        Some(Value::String(s)) if s.trim().is_empty() => json!({}),
                        Some(Value::String(s)) => serde_json::from_str::<Value>(s).map_err(|_| {
                            TranslateError::Invalid(format!("{at}.tool_calls[{j}]: arguments are not JSON"))
                        })?,
                        Some(v @ Value::Object(_)) => v.clone(),
                        _ => json!({}),
                    };
                    let input = if input.is_object() { input } else { json!({"value": input}) };
                    blocks.push(json!({"toolUse": {"toolUseId": id, "name": name, "input": input}}));
                }
                ("assistant", blocks)
            }
            "tool" => {
                let id = m.get("tool_call_id").and_then(Value::as_str).unwrap_or_default();
                if !calls.contains_key(id) {
                    return Err(TranslateError::Invalid(format!(
                        "{at}.tool_call_id: names no earlier assistant tool call"
                    )));
                }
                let content = tool_result_content(m.get("content"));
                ("user", vec![json!({"toolResult": {"toolUseId": id, "content": content}})])
            }
            _ => return Err(TranslateError::Unsupported(format!("{at}.role: does not reach Bedrock"))),
        };
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((r, b)) if *r == bedrock_role => b.extend(blocks),
            _ => turns.push((bedrock_role, blocks)),
        }
    }
    let messages = turns.into_iter().map(|(role, content)| json!({"role": role, "content": content})).collect();
    Ok((system, messages))
}

// ---------------------------------------------------------------------------------------
// Response: Converse → Chat Completions
// ---------------------------------------------------------------------------------------

/// Stop reasons of a withheld answer.
const BLOCKED_REASONS: &[&str] = &["guardrail_intervened", "content_filtered"];

fn finish_reason(reason: &str) -> &'static str {
    match reason {
        "tool_use" => "tool_calls",
        "max_tokens" | "model_context_window_exceeded" => "length",
        _ => "stop",
    }
}

fn blocked(reason: &str) -> Blocked {
    let shown = if reason.len() <= 40 && reason.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        reason
    } else {
        "other"
    };
    Blocked(format!("the provider's guardrail or content filter withheld the answer (stopReason {shown})"))
}

/// `usage` as (input, output) tokens.
pub fn usage(body: &Value) -> Option<(u64, u64)> {
    let u = body.get("usage")?;
    let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    Some((n("inputTokens"), n("outputTokens")))
}

fn openai_usage(body: &Value) -> Option<Value> {
    let (i, o) = usage(body)?;
    Some(json!({"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o}))
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", &uuid::Uuid::new_v4().simple().to_string()[..24])
}

/// A Chat Completions answer from a Converse answer (`model`: the target's model id, which
/// Converse answers do not repeat).
pub fn to_openai_response(body: &Value, model: &str) -> Result<Value, Blocked> {
    let reason = body.get("stopReason").and_then(Value::as_str).unwrap_or("end_turn");
    if BLOCKED_REASONS.contains(&reason) {
        return Err(blocked(reason));
    }
    let Some(blocks) = body.pointer("/output/message/content").and_then(Value::as_array) else {
        return Err(Blocked("the provider returned no answer".into()));
    };
    let mut text = String::new();
    let mut calls = Vec::new();
    for b in blocks {
        if let Some(t) = b.get("text").and_then(Value::as_str) {
            text.push_str(t);
        }
        if let Some(u) = b.get("toolUse") {
            let id = u.get("toolUseId").and_then(Value::as_str).map_or_else(|| new_id("call_"), str::to_owned);
            let name = u.get("name").and_then(Value::as_str).unwrap_or_default();
            let input = u.get("input").cloned().unwrap_or_else(|| json!({}));
            calls.push(
                json!({"id": id, "type": "function", "function": {"name": name, "arguments": input.to_string()}}),
            );
        }
    }
    let content = if text.is_empty() && !calls.is_empty() { Value::Null } else { json!(text) };
    let mut message = json!({"role": "assistant", "content": content});
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    let mut out = json!({
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": chrono::Utc::now().timestamp(),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason(reason)}],
    });
    if let Some(u) = openai_usage(body) {
        out["usage"] = u;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Embeddings: Titan text embeddings through InvokeModel, one call per input
// ---------------------------------------------------------------------------------------

/// What an embeddings model of this kind must be (for the 400).
pub const EMBEDDINGS_MODEL_RULE: &str =
    "a Bedrock Titan text embeddings model id or ARN (amazon.titan-embed-text-v2:0, ...)";

/// `{base_url}/model/{model}/invoke`, for a Titan text embeddings model (`amazon.titan-embed-…`,
/// or an ARN, e.g. of provisioned throughput); `None` for any other model, whose InvokeModel
/// body Veil does not know.
pub fn embeddings_url(base_url: &str, model: &str) -> Option<String> {
    let titan = model.starts_with("amazon.titan-embed") || model.starts_with("arn:");
    (titan && is_model_id(model)).then(|| format!("{base_url}/model/{}/invoke", encode_segment(model)))
}

/// An OpenAI embeddings request (already masked and validated) as Titan InvokeModel bodies,
/// one per input string (InvokeModel embeds one text): a JSON list of `{"inputText"}`
/// (plus `dimensions`). `user` is dropped and `encoding_format` is applied to the answer by
/// [`embeddings_response`]; any other field has no equivalent and is refused, naming it.
pub fn embeddings_requests(body: &Value) -> Result<Value, TranslateError> {
    let obj = body.as_object().ok_or_else(|| TranslateError::Invalid("body: expected a JSON object".into()))?;
    let inputs: Vec<&Value> = match obj.get("input") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::String(_)) => vec![one],
        _ => return Err(TranslateError::Invalid("input: expected a string or a list of strings".into())),
    };
    let dims = match obj.get("dimensions") {
        None | Some(Value::Null) => None,
        Some(d) if d.is_u64() => Some(d.clone()),
        Some(_) => return Err(TranslateError::Invalid("dimensions: expected a positive integer".into())),
    };
    for key in obj.keys() {
        if !matches!(key.as_str(), "model" | "input" | "dimensions" | "encoding_format" | "user") {
            return Err(TranslateError::Unsupported(format!(
                "{key} has no equivalent in Bedrock's Titan embeddings API"
            )));
        }
    }
    let calls = inputs
        .into_iter()
        .map(|text| {
            let mut r = json!({ "inputText": text });
            if let Some(d) = &dims {
                r["dimensions"] = d.clone();
            }
            r
        })
        .collect();
    Ok(Value::Array(calls))
}

/// The input texts of an [`embeddings_requests`] list, for the check that each is a masked
/// input (`None` when the list does not have that shape).
pub fn embeddings_request_texts(body: &Value) -> Option<Vec<&str>> {
    body.as_array()?.iter().map(|c| c.get("inputText").and_then(Value::as_str)).collect()
}

/// The InvokeModel answers (`{"embedding": [...], "inputTextTokenCount": n}`), one per call
/// in order, as OpenAI's embeddings response: vectors as floats or (`base64`) base64 of
/// little-endian f32, `usage` the summed token counts. `None` when an answer has no such shape.
pub fn embeddings_response(answers: &Value, model: &str, base64: bool) -> Option<Value> {
    use base64::Engine as _;
    let mut data = Vec::new();
    let mut tokens = 0u64;
    for (i, a) in answers.as_array()?.iter().enumerate() {
        let values = a.get("embedding")?.as_array()?;
        tokens += a.get("inputTextTokenCount").and_then(Value::as_u64).unwrap_or(0);
        let embedding = if base64 {
            let mut bytes = Vec::with_capacity(values.len() * 4);
            for v in values {
                bytes.extend_from_slice(&(v.as_f64()? as f32).to_le_bytes());
            }
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        } else {
            if !values.iter().all(Value::is_number) {
                return None;
            }
            Value::Array(values.clone())
        };
        data.push(json!({"object": "embedding", "index": i, "embedding": embedding}));
    }
    Some(json!({"object": "list", "data": data, "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}))
}

// ---------------------------------------------------------------------------------------
// Streams: ConverseStream event-stream frames → Chat Completions chunks
// ---------------------------------------------------------------------------------------

/// Incremental decoder of `application/vnd.amazon.eventstream` bytes: whole frames out,
/// whatever the byte boundaries in (prelude, headers and payload CRCs checked by
/// `aws-smithy-eventstream`).
#[derive(Default)]
pub struct FrameDecoder {
    buf: BytesMut,
    frames: MessageFrameDecoder,
    /// Bytes received since the last whole frame.
    partial: usize,
}

/// A frame that is not an event-stream frame (bad length or checksum).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the upstream sent a malformed event-stream frame")]
pub struct FrameError;

impl FrameDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The frames `bytes` completes, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Message>, FrameError> {
        self.buf.extend_from_slice(bytes);
        self.partial += bytes.len();
        let mut out = Vec::new();
        loop {
            match self.frames.decode_frame(&mut self.buf).map_err(|_| FrameError)? {
                DecodedFrame::Complete(m) => {
                    self.partial = self.buf.remaining();
                    out.push(m);
                }
                DecodedFrame::Incomplete => return Ok(out),
            }
        }
    }

    /// Whether part of a frame is still waiting for its rest.
    pub fn has_partial(&self) -> bool {
        self.partial > 0
    }
}

/// A string header of a frame (`:message-type`, `:event-type`, `:exception-type`).
fn frame_header<'m>(m: &'m Message, name: &str) -> Option<&'m str> {
    m.headers().iter().find(|h| h.name().as_str() == name).and_then(|h| match h.value() {
        FrameHeaderValue::String(s) => Some(s.as_str()),
        _ => None,
    })
}

/// Turns a ConverseStream body into a Chat Completions stream: a role chunk at
/// `messageStart`, a `content` delta per text delta, a `tool_calls` delta opening each
/// `toolUse` block (id, name) and one per input delta (keyed by the call's index, so
/// restore follows each call), a `finish_reason` chunk at `messageStop`, the usage chunk
/// (`choices: []`, as OpenAI's `include_usage`) from `metadata`, then `[DONE]`. Exceptions,
/// malformed frames, a guardrail stop and a stream cut before `messageStop` become an
/// OpenAI-shaped `error` chunk.
pub struct BedrockToOpenAiStream {
    frames: FrameDecoder,
    model: String,
    id: String,
    created: i64,
    started: bool,
    stopped: bool,
    done: bool,
    /// Content block index → tool call index.
    tools: HashMap<u64, u64>,
    usage: Option<Value>,
}

impl BedrockToOpenAiStream {
    pub fn new(model: &str) -> Self {
        BedrockToOpenAiStream {
            frames: FrameDecoder::new(),
            model: model.to_owned(),
            id: new_id("chatcmpl-"),
            created: chrono::Utc::now().timestamp(),
            started: false,
            stopped: false,
            done: false,
            tools: HashMap::new(),
            usage: None,
        }
    }

    fn chunk(&self, choices: Value) -> Value {
        json!({"id": self.id, "object": "chat.completion.chunk", "created": self.created,
               "model": self.model, "choices": choices})
    }

    fn delta(&self, delta: Value, finish: Value) -> SseEvent {
        let c = self.chunk(json!([{"index": 0, "delta": delta, "finish_reason": finish}]));
        SseEvent { data: c.to_string(), ..Default::default() }
    }

    fn error(&mut self, message: &str, kind: &str, code: &str, out: &mut Vec<SseEvent>) {
        self.done = true;
        let e = json!({"error": {"message": message, "type": kind, "code": code}});
        out.push(SseEvent { data: e.to_string(), ..Default::default() });
        out.push(SseEvent { data: "[DONE]".into(), ..Default::default() });
    }

    fn start(&mut self, out: &mut Vec<SseEvent>) {
        if !self.started {
            self.started = true;
            out.push(self.delta(json!({"role": "assistant", "content": ""}), Value::Null));
        }
    }

    /// The chunks the body bytes `bytes` complete.
    pub fn on_bytes(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        match self.frames.push(bytes) {
            Ok(frames) => {
                for f in frames {
                    self.on_frame(&f, &mut out);
                    if self.done {
                        break;
                    }
                }
            }
            Err(e) => self.error(&e.to_string(), "api_error", "upstream_bad_response", &mut out),
        }
        out
    }

    fn on_frame(&mut self, f: &Message, out: &mut Vec<SseEvent>) {
        let payload: Value = serde_json::from_slice(f.payload()).unwrap_or(Value::Null);
        match frame_header(f, ":message-type") {
            Some("event") | None => {}
            Some(_) => {
                // `exception` (`:exception-type`) or `error` (`:error-code`).
                let kind = frame_header(f, ":exception-type")
                    .or_else(|| frame_header(f, ":error-code"))
                    .filter(|k| is_exception_name(k))
                    .unwrap_or("exception");
                let message = payload
                    .get("message")
                    .or_else(|| payload.get("Message"))
                    .and_then(Value::as_str)
                    .or_else(|| frame_header(f, ":error-message"))
                    .unwrap_or("upstream error");
                self.error(&format!("{kind}: {message}"), "api_error", "upstream_stream_error", out);
                return;
            }
        }
        let block = payload.get("contentBlockIndex").and_then(Value::as_u64).unwrap_or(0);
        match frame_header(f, ":event-type").unwrap_or_default() {
            "messageStart" => self.start(out),
            "contentBlockStart" => {
                if let Some(u) = payload.pointer("/start/toolUse") {
                    self.start(out);
                    let index = self.tools.len() as u64;
                    self.tools.insert(block, index);
                    let id = u.get("toolUseId").and_then(Value::as_str).map_or_else(|| new_id("call_"), str::to_owned);
                    let name = u.get("name").and_then(Value::as_str).unwrap_or_default();
                    let call = json!({"index": index, "id": id, "type": "function",
                                      "function": {"name": name, "arguments": ""}});
                    out.push(self.delta(json!({"tool_calls": [call]}), Value::Null));
                }
            }
            "contentBlockDelta" => {
                self.start(out);
                let Some(d) = payload.get("delta") else { return };
                if let Some(t) = d.get("text").and_then(Value::as_str) {
                    if !t.is_empty() {
                        out.push(self.delta(json!({"content": t}), Value::Null));
                    }
                } else if let Some(input) = d.pointer("/toolUse/input").and_then(Value::as_str) {
                    let Some(&index) = self.tools.get(&block) else { return };
                    let call = json!({"index": index, "function": {"arguments": input}});
                    out.push(self.delta(json!({"tool_calls": [call]}), Value::Null));
                }
            }
            "messageStop" => {
                let reason = payload.get("stopReason").and_then(Value::as_str).unwrap_or("end_turn");
                if BLOCKED_REASONS.contains(&reason) {
                    let Blocked(m) = blocked(reason);
                    self.error(&m, "invalid_request_error", "content_blocked", out);
                    return;
                }
                self.start(out);
                if !self.stopped {
                    self.stopped = true;
                    out.push(self.delta(json!({}), json!(finish_reason(reason))));
                }
            }
            "metadata" => self.usage = openai_usage(&payload),
            // `contentBlockStop`, and event types added later: nothing to say.
            _ => {}
        }
    }

    /// The end of the body: the usage chunk and `[DONE]`, or an error chunk when the
    /// stream stopped inside a frame or before `messageStop`.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        if self.frames.has_partial() || !self.stopped {
            self.error(
                "the upstream stream ended before its messageStop event",
                "api_error",
                "upstream_stream_error",
                &mut out,
            );
            return out;
        }
        if let Some(u) = self.usage.take() {
            let mut c = self.chunk(json!([]));
            c["usage"] = u;
            out.push(SseEvent { data: c.to_string(), ..Default::default() });
        }
        self.done = true;
        out.push(SseEvent { data: "[DONE]".into(), ..Default::default() });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::write_message_to;
    use aws_smithy_types::event_stream::Header;

    fn frame(event: &str, payload: Value) -> Vec<u8> {
        let m = Message::new(payload.to_string().into_bytes())
            .add_header(Header::new(":message-type", FrameHeaderValue::String("event".into())))
            .add_header(Header::new(":event-type", FrameHeaderValue::String(event.to_owned().into())))
            .add_header(Header::new(":content-type", FrameHeaderValue::String("application/json".into())));
        let mut out = Vec::new();
        write_message_to(&m, &mut out).unwrap();
        out
    }

    fn chunks(events: &[SseEvent]) -> Vec<Value> {
        events.iter().filter(|e| e.data != "[DONE]").map(|e| serde_json::from_str(&e.data).unwrap()).collect()
    }

    #[test]
    fn titan_embeddings_take_one_call_per_input() {
        assert_eq!(
            embeddings_url("http://h", "amazon.titan-embed-text-v2:0").unwrap(),
            "http://h/model/amazon.titan-embed-text-v2%3A0/invoke"
        );
        assert_eq!(embeddings_url("http://h", "cohere.embed-english-v3"), None);
        assert_eq!(embeddings_url("http://h", "amazon.titan-embed/../x y"), None);
        let calls = embeddings_requests(&json!({"model": "m", "input": ["a [EMAIL_1]", "b"], "dimensions": 256,
            "encoding_format": "base64", "user": "u"}))
        .unwrap();
        assert_eq!(
            calls,
            json!([{"inputText": "a [EMAIL_1]", "dimensions": 256}, {"inputText": "b", "dimensions": 256}])
        );
        assert_eq!(embeddings_request_texts(&calls), Some(vec!["a [EMAIL_1]", "b"]));
        assert_eq!(embeddings_requests(&json!({"input": "one"})).unwrap(), json!([{"inputText": "one"}]));
        assert!(embeddings_requests(&json!({"input": "x", "normalize": true})).is_err());
        let answers = json!([{"embedding": [0.5, -1.0], "inputTextTokenCount": 3}, {"embedding": [0.25], "inputTextTokenCount": 1}]);
        let o = embeddings_response(&answers, "amazon.titan-embed-text-v2:0", false).unwrap();
        assert_eq!(o["data"][1], json!({"object": "embedding", "index": 1, "embedding": [0.25]}));
        assert_eq!(o["usage"], json!({"prompt_tokens": 4, "total_tokens": 4}));
        let b = embeddings_response(&answers, "m", true).unwrap();
        use base64::Engine as _;
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(b["data"][0]["embedding"].as_str().unwrap()).unwrap();
        assert_eq!(bytes, [0.5f32.to_le_bytes(), (-1.0f32).to_le_bytes()].concat());
        assert_eq!(embeddings_response(&json!([{"vector": []}]), "m", false), None);
    }

    #[test]
    fn urls_encode_the_model_id_as_one_segment() {
        assert_eq!(
            url("https://b.example", "anthropic.claude-3-5-sonnet-20240620-v1:0", false).unwrap(),
            "https://b.example/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
        );
        assert_eq!(
            url("https://b.example", "us.meta.llama3-1-8b-instruct-v1:0", true).unwrap(),
            "https://b.example/model/us.meta.llama3-1-8b-instruct-v1%3A0/converse-stream"
        );
        assert_eq!(
            url("http://h", "arn:aws:bedrock:us-east-1:1:inference-profile/us.x-v1:0", false).unwrap(),
            "http://h/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x-v1%3A0/converse"
        );
        for bad in ["", "..", ".", "../x", "a?b", "a#b", "a b", "mod\u{e8}le", "a%2F", &"x".repeat(2049)] {
            assert_eq!(url("http://h", bad, false), None, "{bad:?}");
        }
        assert_eq!(default_base_url("eu-west-3"), "https://bedrock-runtime.eu-west-3.amazonaws.com");
        assert!(BedrockSettings::new("us-east-1", None, None, None).is_ok());
        for bad in ["", "US-EAST-1", "us east", "us/east", "1us"] {
            assert!(BedrockSettings::new(bad, None, None, None).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn credentials_come_in_pairs_and_never_show() {
        let half = BedrockSettings::new("us-east-1", Some("AKID".into()), None, Some("tok".into())).unwrap();
        assert!(!half.has_credentials());
        let s = BedrockSettings::new("us-east-1", Some("AKID".into()), Some("s3cret".into()), Some("tok3n".into()))
            .unwrap();
        assert!(s.has_credentials());
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("tok3n"), "{shown}");
    }

    #[test]
    fn signing_adds_a_sigv4_authorization_over_the_body() {
        let s = BedrockSettings::new("us-west-2", Some("AKIDTEST".into()), Some("secret".into()), Some("tok".into()))
            .unwrap();
        let client = reqwest::Client::new();
        let mut req = client
            .post("https://bedrock-runtime.us-west-2.amazonaws.com/model/m%3A0/converse")
            .header("content-type", "application/json")
            .body(r#"{"messages":[]}"#)
            .build()
            .unwrap();
        sign(&s, &mut req).unwrap();
        let auth = req.headers()["authorization"].to_str().unwrap();
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTEST/"), "{auth}");
        assert!(auth.contains("/us-west-2/bedrock/aws4_request, SignedHeaders="), "{auth}");
        assert!(auth.contains("content-type;host;x-amz-date;x-amz-security-token"), "{auth}");
        assert!(req.headers()["authorization"].is_sensitive());
        assert_eq!(req.headers()["x-amz-security-token"], "tok");
        assert!(req.headers().contains_key("x-amz-date"));
        let none = BedrockSettings::new("us-west-2", None, None, None).unwrap();
        assert_eq!(sign(&none, &mut req), Err(SignError::MissingCredentials));
    }

    #[test]
    fn error_messages_name_the_exception() {
        let mut h = http::HeaderMap::new();
        h.insert("x-amzn-errortype", "ThrottlingException:http://internal.amazon.com/coral/".parse().unwrap());
        assert_eq!(
            upstream_error_message(&h, br#"{"message":"Too many requests"}"#).as_deref(),
            Some("ThrottlingException: Too many requests")
        );
        h.insert("x-amzn-errortype", "jane doe@example.com".parse().unwrap());
        assert_eq!(upstream_error_message(&h, br#"{"Message":"m"}"#).as_deref(), Some("m"));
        assert_eq!(upstream_error_message(&http::HeaderMap::new(), b"nope"), None);
    }

    #[test]
    fn requests_translate_to_converse() {
        let body = json!({"model": "m", "temperature": 0.2, "top_p": 0.9, "max_completion_tokens": 50,
        "stop": "END", "parallel_tool_calls": true, "seed": 3,
        "tool_choice": {"type": "function", "function": {"name": "lookup"}},
        "tools": [{"type": "function", "function": {"name": "lookup", "description": "Find [PERSON_1]",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}],
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Hi [EMAIL_1]"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA"}}]},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "lookup", "arguments": "{\"q\":\"[EMAIL_1]\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "found [PERSON_1]"},
            {"role": "user", "content": "thanks"}
        ]});
        let c = from_openai_request(&body).unwrap();
        assert_eq!(c["system"], json!([{"text": "Be brief."}]));
        assert_eq!(c["messages"][0]["role"], "user");
        assert_eq!(c["messages"][0]["content"][0], json!({"text": "Hi [EMAIL_1]"}));
        assert_eq!(c["messages"][0]["content"][1]["image"]["format"], "png");
        assert_eq!(
            c["messages"][1],
            json!({"role": "assistant", "content": [{"toolUse": {"toolUseId": "call_1", "name": "lookup",
                "input": {"q": "[EMAIL_1]"}}}]})
        );
        // The tool result and the next user text merge into one user turn.
        assert_eq!(
            c["messages"][2],
            json!({"role": "user", "content": [{"toolResult": {"toolUseId": "call_1",
                "content": [{"text": "found [PERSON_1]"}]}}, {"text": "thanks"}]})
        );
        assert_eq!(
            c["inferenceConfig"],
            json!({"temperature": 0.2, "topP": 0.9, "maxTokens": 50, "stopSequences": ["END"]})
        );
        assert_eq!(
            c["toolConfig"],
            json!({"tools": [{"toolSpec": {"name": "lookup", "description": "Find [PERSON_1]",
                "inputSchema": {"json": {"type": "object", "properties": {"q": {"type": "string"}}}}}}],
                "toolChoice": {"tool": {"name": "lookup"}}})
        );
        assert!(c.get("model").is_none() && c.get("seed").is_none() && c.get("parallel_tool_calls").is_none());

        // The field rules: texts are exactly the masked strings, structure is left alone.
        let mut c = c;
        let texts: Vec<String> = request_texts(&mut c)
            .unwrap()
            .into_iter()
            .map(|t| match t {
                TextRef::Plain(s) | TextRef::JsonText(s) | TextRef::Identity(s) => s.clone(),
            })
            .collect();
        for t in ["Be brief.", "Hi [EMAIL_1]", "[EMAIL_1]", "found [PERSON_1]", "Find [PERSON_1]", "END", "thanks"] {
            assert!(texts.iter().any(|x| x == t), "{t} in {texts:?}");
        }
        for s in ["user", "assistant", "lookup", "png", "call_1", "object", "string"] {
            assert!(!texts.iter().any(|x| x == s), "{s} is structural: {texts:?}");
        }
        let mut odd = json!({"messages": [{"role": "jane", "content": [{"text": "a"}, {"x": "b"}]}], "extra": "c"});
        assert_eq!(request_texts(&mut odd).unwrap().len(), 4);
        assert!(request_texts(&mut json!({"messages": [{"role": "user", "content": "nope"}]})).is_err());
    }

    #[test]
    fn settings_without_an_equivalent_are_refused() {
        let m = json!([{"role": "user", "content": "x"}]);
        for extra in [
            json!({"n": 2}),
            json!({"logprobs": true}),
            json!({"response_format": {"type": "json_object"}}),
            json!({"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "none"}),
        ] {
            let mut b = json!({"messages": m});
            for (k, v) in extra.as_object().unwrap() {
                b[k] = v.clone();
            }
            assert!(from_openai_request(&b).is_err(), "{extra}");
        }
        let orphan = json!({"messages": [{"role": "tool", "tool_call_id": "call_9", "content": "x"}]});
        assert!(from_openai_request(&orphan).is_err());
        let remote = json!({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]});
        assert!(from_openai_request(&remote).is_err());
        // A tool choice without tools is left out (Converse refuses it).
        let c = from_openai_request(&json!({"messages": m, "tool_choice": "auto"})).unwrap();
        assert!(c.get("toolConfig").is_none());
    }

    #[test]
    fn answers_translate_back_with_tool_calls_and_usage() {
        let b = json!({"output": {"message": {"role": "assistant", "content": [{"text": "Let me look."},
            {"toolUse": {"toolUseId": "tooluse_1", "name": "lookup", "input": {"q": "[EMAIL_1]"}}}]}},
            "stopReason": "tool_use", "usage": {"inputTokens": 7, "outputTokens": 3, "totalTokens": 10}});
        let o = to_openai_response(&b, "m:0").unwrap();
        assert_eq!(o["model"], "m:0");
        assert_eq!(o["choices"][0]["message"]["content"], "Let me look.");
        assert_eq!(o["choices"][0]["finish_reason"], "tool_calls");
        let call = &o["choices"][0]["message"]["tool_calls"][0];
        assert_eq!((call["id"].as_str(), call["function"]["name"].as_str()), (Some("tooluse_1"), Some("lookup")));
        assert_eq!(
            serde_json::from_str::<Value>(call["function"]["arguments"].as_str().unwrap()).unwrap(),
            json!({"q": "[EMAIL_1]"})
        );
        assert_eq!(o["usage"], json!({"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}));
        let long = json!({"output": {"message": {"content": [{"text": "a"}]}}, "stopReason": "max_tokens"});
        assert_eq!(to_openai_response(&long, "m").unwrap()["choices"][0]["finish_reason"], "length");
        let g = json!({"output": {"message": {"content": [{"text": "Sorry."}]}}, "stopReason": "guardrail_intervened"});
        assert!(to_openai_response(&g, "m").unwrap_err().0.contains("stopReason guardrail_intervened"));
        let odd = json!({"output": {"message": {"content": []}}, "stopReason": "content_filtered"});
        assert!(to_openai_response(&odd, "m").unwrap_err().0.contains("content_filtered"));
    }

    fn sample_stream() -> Vec<u8> {
        [
            frame("messageStart", json!({"role": "assistant"})),
            frame("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"text": "Grüße [EMA"}})),
            frame("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"text": "IL_1] 日本"}})),
            frame("contentBlockStop", json!({"contentBlockIndex": 0})),
            frame(
                "contentBlockStart",
                json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tooluse_1", "name": "lookup"}}}),
            ),
            frame("contentBlockDelta", json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"q\":"}}})),
            frame("contentBlockDelta", json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "1}"}}})),
            frame("contentBlockStop", json!({"contentBlockIndex": 1})),
            frame("messageStop", json!({"stopReason": "tool_use"})),
            frame("metadata", json!({"usage": {"inputTokens": 2, "outputTokens": 5, "totalTokens": 7}})),
        ]
        .concat()
    }

    #[test]
    fn streams_become_chat_completion_chunks() {
        let mut s = BedrockToOpenAiStream::new("m");
        let mut all = s.on_bytes(&sample_stream());
        all.extend(s.finish());
        let data = chunks(&all);
        assert_eq!(data[0]["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(data[1]["choices"][0]["delta"]["content"], "Grüße [EMA");
        assert_eq!(data[2]["choices"][0]["delta"]["content"], "IL_1] 日本");
        let open = &data[3]["choices"][0]["delta"]["tool_calls"][0];
        assert_eq!((open["index"].as_u64(), open["id"].as_str()), (Some(0), Some("tooluse_1")));
        assert_eq!(data[4]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"], "{\"q\":");
        assert_eq!(data[5]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"], "1}");
        assert_eq!(data[6]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(data[7]["choices"], json!([]));
        assert_eq!(data[7]["usage"]["completion_tokens"], 5);
        assert_eq!(all.last().unwrap().data, "[DONE]");
    }

    #[test]
    fn the_decoder_ignores_where_the_bytes_are_split() {
        let bytes = sample_stream();
        let whole = {
            let mut s = BedrockToOpenAiStream::new("m");
            let mut v = s.on_bytes(&bytes);
            v.extend(s.finish());
            v
        };
        let view = |evs: &[SseEvent]| -> Vec<Value> {
            chunks(evs)
                .into_iter()
                .map(|mut c| {
                    c.as_object_mut().unwrap().remove("id");
                    c.as_object_mut().unwrap().remove("created");
                    c
                })
                .collect()
        };
        // Two pieces at every offset, and one byte at a time.
        for cut in 0..=bytes.len() {
            let mut s = BedrockToOpenAiStream::new("m");
            let mut v = s.on_bytes(&bytes[..cut]);
            v.extend(s.on_bytes(&bytes[cut..]));
            v.extend(s.finish());
            assert_eq!(view(&v), view(&whole), "cut at {cut}");
        }
        let mut s = BedrockToOpenAiStream::new("m");
        let mut v: Vec<SseEvent> = bytes.iter().flat_map(|b| s.on_bytes(std::slice::from_ref(b))).collect();
        v.extend(s.finish());
        assert_eq!(view(&v), view(&whole));
        // Frame by frame, the decoder hands out exactly the frames.
        let mut d = FrameDecoder::new();
        let n: usize = bytes.iter().map(|b| d.push(std::slice::from_ref(b)).unwrap().len()).sum();
        assert_eq!((n, d.has_partial()), (10, false));
    }

    #[test]
    fn broken_streams_and_guardrails_end_with_an_error_chunk() {
        let bytes = sample_stream();
        // Cut inside the last frame.
        let mut s = BedrockToOpenAiStream::new("m");
        let mut v = s.on_bytes(&bytes[..bytes.len() - 3]);
        v.extend(s.finish());
        assert!(v.iter().any(|e| e.data.contains("\"error\"") && e.data.contains("messageStop")));
        // A corrupted checksum.
        let mut bad = bytes.clone();
        bad[20] ^= 0xff;
        let mut s = BedrockToOpenAiStream::new("m");
        assert!(s.on_bytes(&bad).iter().any(|e| e.data.contains("malformed")));
        // An exception frame.
        let m = Message::new(br#"{"message":"Rate exceeded"}"#.to_vec())
            .add_header(Header::new(":message-type", FrameHeaderValue::String("exception".into())))
            .add_header(Header::new(":exception-type", FrameHeaderValue::String("throttlingException".into())));
        let mut ex = Vec::new();
        write_message_to(&m, &mut ex).unwrap();
        let mut s = BedrockToOpenAiStream::new("m");
        let v = s.on_bytes(&[frame("messageStart", json!({"role": "assistant"})), ex].concat());
        let e: Value = serde_json::from_str(&v[1].data).unwrap();
        assert_eq!(e["error"]["message"], "throttlingException: Rate exceeded");
        assert!(s.finish().is_empty());
        // A guardrail stop.
        let mut s = BedrockToOpenAiStream::new("m");
        let v = s.on_bytes(&frame("messageStop", json!({"stopReason": "guardrail_intervened"})));
        assert!(v[0].data.contains("content_blocked") && v[0].data.contains("guardrail_intervened"));
    }
}
