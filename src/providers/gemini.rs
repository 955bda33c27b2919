//! The Gemini provider kind (part of the providers layer): Google's native Generative
//! Language API, reached from Chat Completions (and, through the existing Messages ⇄ Chat
//! Completions translation, from Messages) clients.
//!
//! - URL: `{base_url}/v1beta/models/{MODEL}:generateContent`, and
//!   `{base_url}/v1beta/models/{MODEL}:streamGenerateContent?alt=sse` for streams, where
//!   MODEL is the part of the client's model after `provider/` (letters, digits, `-`, `_`,
//!   `.`, `+`, `=` only, so it stays one path segment); embeddings go to
//!   `{base_url}/v1beta/models/{MODEL}:batchEmbedContents` (see [`embeddings_request`]);
//! - auth: the key in the `x-goog-api-key` header;
//! - errors: Google's `{"error": {"code", "message", "status"}}` body.
//!
//! Flow: the pipeline builds the Chat Completions request it would send an OpenAI
//! upstream (the client's own masked body, or a Messages body translated), then
//! [`from_openai_request`] turns it into a `GenerateContentRequest` (`contents`/`parts`,
//! `systemInstruction`, `generationConfig`, `functionDeclarations`), which must pass the
//! translation check with [`request_texts`] (this format's deny-by-default field rules).
//! Answers come back the other way: [`to_openai_response`] for plain ones, and
//! [`GeminiToOpenAiStream`] turns each `alt=sse` event (one `GenerateContentResponse`
//! chunk) into Chat Completions chunks, so restore and the Messages translation run on
//! the client-format deltas exactly as for an OpenAI upstream. Safety blocks
//! (`promptFeedback.blockReason`, a safety `finishReason` with no output) are [`Blocked`].

use super::fields::{self, Path, ShapeError};
use super::sse::SseEvent;
use super::translate::TranslateError;
use super::TextRef;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// `{base_url}/v1beta/models/{model}:generateContent` (or the streaming method), or
/// `None` when `model` cannot be a path segment.
pub fn url(base_url: &str, model: &str, stream: bool) -> Option<String> {
    if !super::azure::is_deployment(model) {
        return None;
    }
    Some(if stream {
        format!("{base_url}/v1beta/models/{model}:streamGenerateContent?alt=sse")
    } else {
        format!("{base_url}/v1beta/models/{model}:generateContent")
    })
}

/// Gemini keys go in the `x-goog-api-key` header.
pub fn authorize(req: reqwest::RequestBuilder, key: &str) -> reqwest::RequestBuilder {
    req.header("x-goog-api-key", key)
}

/// Best-effort message from a Google error body (`error.message`).
pub fn upstream_error_message(body: &[u8]) -> Option<String> {
    super::openai::upstream_error_message(body)
}

/// A safety block: the prompt or the answer was withheld by the provider's filter. The
/// message names the reason code only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Blocked(pub String);

// ---------------------------------------------------------------------------------------
// Field rules of a GenerateContentRequest (what the translation check reads)
// ---------------------------------------------------------------------------------------

const ROLES: &[&str] = &["user", "model"];
const MODES: &[&str] = &["AUTO", "ANY", "NONE", "VALIDATED"];
const RESPONSE_MIME_TYPES: &[&str] = &["text/plain", "application/json"];

/// Every string of a Gemini request that is not structural. Structural: `role` (`user`,
/// `model`), function names, `inlineData.mimeType` (a media type) and `data` (binary
/// base64), `toolConfig.functionCallingConfig.mode`, `generationConfig.responseMimeType`,
/// JSON-schema keywords of `parametersJsonSchema`/`responseJsonSchema`. Everything else,
/// unknown fields included, is text.
pub fn request_texts(body: &mut Value) -> Result<Vec<TextRef<'_>>, ShapeError> {
    let root = Path::ROOT;
    let Value::Object(map) = body else { return Err(root.error("expected a JSON object")) };
    let mut out = Vec::new();
    for (key, value) in map.iter_mut() {
        let path = root.key(key);
        match key.as_str() {
            "contents" => {
                let Value::Array(items) = value else { return Err(path.error("expected an array")) };
                for (i, c) in items.iter_mut().enumerate() {
                    content(c, path.index(i), &mut out)?;
                }
            }
            "systemInstruction" => content(value, path, &mut out)?,
            "tools" => match value {
                Value::Array(tools) => tools.iter_mut().for_each(|t| tool(t, &mut out)),
                other => fields::all_text(other, &mut out),
            },
            "toolConfig" => fields::object_fields(value, &mut out, |k, v, out| match k {
                "functionCallingConfig" => fields::object_fields(v, out, |k, v, out| match (k, v) {
                    ("mode", v) => fields::structural(v, fields::one_of(MODES), out),
                    ("allowedFunctionNames", Value::Array(names)) => {
                        names.iter_mut().for_each(|n| fields::structural(n, fields::is_name, out))
                    }
                    (_, v) => fields::all_text(v, out),
                }),
                _ => fields::all_text(v, out),
            }),
            "generationConfig" => fields::object_fields(value, &mut out, |k, v, out| match k {
                "responseMimeType" => fields::structural(v, fields::one_of(RESPONSE_MIME_TYPES), out),
                "responseJsonSchema" => fields::schema(v, out),
                // `stopSequences` and every other setting: text (numbers hold none).
                _ => fields::all_text(v, out),
            }),
            _ => fields::all_text(value, &mut out),
        }
    }
    Ok(out)
}

/// A `Content`: `role` and `parts`.
fn content<'a>(c: &'a mut Value, path: Path<'_>, out: &mut Vec<TextRef<'a>>) -> Result<(), ShapeError> {
    let Value::Object(map) = c else { return Err(path.error("expected an object")) };
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "role" => fields::structural(value, fields::one_of(ROLES), out),
            "parts" => {
                let Value::Array(parts) = value else { return Err(path.key("parts").error("expected an array")) };
                for (i, p) in parts.iter_mut().enumerate() {
                    part(p, path.key("parts").index(i), out)?;
                }
            }
            _ => fields::all_text(value, out),
        }
    }
    Ok(())
}

/// A `Part`: text, inline data, a function call or a function response.
fn part<'a>(p: &'a mut Value, path: Path<'_>, out: &mut Vec<TextRef<'a>>) -> Result<(), ShapeError> {
    let Value::Object(map) = p else { return Err(path.error("expected an object")) };
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "text" => fields::required_text(value, path.key("text"), out)?,
            "inlineData" => fields::object_fields(value, out, |k, v, out| match k {
                "mimeType" => fields::structural(v, fields::is_media_type, out),
                "data" => fields::structural(v, fields::is_binary_base64, out),
                _ => fields::all_text(v, out),
            }),
            "functionCall" | "functionResponse" => fields::object_fields(value, out, |k, v, out| match k {
                "name" => fields::structural(v, fields::is_name, out),
                // `args`, `response`: every string leaf is text.
                _ => fields::all_text(v, out),
            }),
            _ => fields::all_text(value, out),
        }
    }
    Ok(())
}

/// A `Tool` with `functionDeclarations`.
fn tool<'a>(t: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    fields::object_fields(t, out, |k, v, out| match (k, v) {
        ("functionDeclarations", Value::Array(decls)) => decls.iter_mut().for_each(|d| {
            fields::object_fields(d, out, |k, v, out| match k {
                "name" => fields::structural(v, fields::is_name, out),
                "parametersJsonSchema" => fields::schema(v, out),
                _ => fields::all_text(v, out),
            })
        }),
        (_, v) => fields::all_text(v, out),
    });
}

// ---------------------------------------------------------------------------------------
// Request: Chat Completions → GenerateContentRequest
// ---------------------------------------------------------------------------------------

/// Settings with no Gemini equivalent that change nothing in the answer's shape: dropped
/// (debug-logged by name).
const DROPPED: &[&str] = super::openai::NO_NATIVE_EQUIVALENT;

/// Translates a (masked) Chat Completions request into a Gemini `GenerateContentRequest`.
/// The model is in the URL, not the body.
pub fn from_openai_request(body: &Value) -> Result<Value, TranslateError> {
    let Some(obj) = body.as_object() else { return Err(TranslateError::Invalid("expected a JSON object".into())) };
    let mut out = Map::new();
    let mut gen = Map::new();
    let mut unknown = 0usize;
    for (key, value) in obj {
        match key.as_str() {
            "messages" => {}
            "temperature" if value.is_number() => {
                gen.insert("temperature".into(), value.clone());
            }
            "top_p" if value.is_number() => {
                gen.insert("topP".into(), value.clone());
            }
            "max_tokens" | "max_completion_tokens" if value.is_number() => {
                gen.insert("maxOutputTokens".into(), value.clone());
            }
            "presence_penalty" if value.is_number() => {
                gen.insert("presencePenalty".into(), value.clone());
            }
            "frequency_penalty" if value.is_number() => {
                gen.insert("frequencyPenalty".into(), value.clone());
            }
            "seed" if value.is_number() => {
                gen.insert("seed".into(), value.clone());
            }
            "stop" => match value {
                Value::String(s) => {
                    gen.insert("stopSequences".into(), json!([s]));
                }
                Value::Array(_) => {
                    gen.insert("stopSequences".into(), value.clone());
                }
                Value::Null => {}
                _ => return Err(TranslateError::Invalid("stop: expected a string or a list".into())),
            },
            "n" => match value.as_u64() {
                None | Some(1) => {}
                Some(_) => return Err(TranslateError::Unsupported("n: Gemini translation gives one choice".into())),
            },
            "logprobs" => {
                if value.as_bool() == Some(true) {
                    return Err(TranslateError::Unsupported("logprobs: not available through Gemini".into()));
                }
            }
            "response_format" => response_format(value, &mut gen)?,
            "tools" => {
                if let Some(t) = tools(value)? {
                    out.insert("tools".into(), t);
                }
            }
            "tool_choice" => {
                if let Some(c) = tool_choice(value)? {
                    out.insert("toolConfig".into(), json!({"functionCallingConfig": c}));
                }
            }
            k if DROPPED.contains(&k) => tracing::debug!(setting = k, "no Gemini equivalent; dropped"),
            // The client's own field names are not logged, only counted.
            _ => unknown += 1,
        }
    }
    if unknown > 0 {
        tracing::debug!(fields = unknown, "fields unknown to the Gemini translation; dropped");
    }
    let (system, contents) = messages(obj.get("messages"))?;
    if let Some(s) = system {
        out.insert("systemInstruction".into(), s);
    }
    out.insert("contents".into(), Value::Array(contents));
    if !gen.is_empty() {
        out.insert("generationConfig".into(), Value::Object(gen));
    }
    Ok(Value::Object(out))
}

fn response_format(v: &Value, gen: &mut Map<String, Value>) -> Result<(), TranslateError> {
    match v.get("type").and_then(Value::as_str) {
        None | Some("text") => Ok(()),
        Some("json_object") => {
            gen.insert("responseMimeType".into(), json!("application/json"));
            Ok(())
        }
        Some("json_schema") => {
            gen.insert("responseMimeType".into(), json!("application/json"));
            if let Some(schema) = v.pointer("/json_schema/schema") {
                gen.insert("responseJsonSchema".into(), schema.clone());
            }
            Ok(())
        }
        Some(_) => Err(TranslateError::Unsupported("response_format: unknown type for Gemini".into())),
    }
}

fn tools(v: &Value) -> Result<Option<Value>, TranslateError> {
    let Some(list) = v.as_array() else { return Err(TranslateError::Invalid("tools: expected a list".into())) };
    let mut decls = Vec::new();
    for (i, t) in list.iter().enumerate() {
        if t.get("type").and_then(Value::as_str).unwrap_or("function") != "function" {
            return Err(TranslateError::Unsupported(format!("tools[{i}]: only function tools reach Gemini")));
        }
        let f = t.get("function").ok_or_else(|| TranslateError::Invalid(format!("tools[{i}].function: missing")))?;
        let name = f
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| TranslateError::Invalid(format!("tools[{i}].function.name: missing")))?;
        let mut d = Map::new();
        d.insert("name".into(), json!(name));
        if let Some(desc) = f.get("description").filter(|d| d.is_string()) {
            d.insert("description".into(), desc.clone());
        }
        if let Some(p) = f.get("parameters").filter(|p| !p.is_null()) {
            d.insert("parametersJsonSchema".into(), p.clone());
        }
        decls.push(Value::Object(d));
    }
    Ok((!decls.is_empty()).then(|| json!([{"functionDeclarations": decls}])))
}

fn tool_choice(v: &Value) -> Result<Option<Value>, TranslateError> {
    Ok(Some(match v {
        Value::String(s) => match s.as_str() {
            "auto" => json!({"mode": "AUTO"}),
            "none" => json!({"mode": "NONE"}),
            "required" => json!({"mode": "ANY"}),
            _ => return Err(TranslateError::Invalid("tool_choice: unknown value".into())),
        },
        Value::Object(o) => {
            let name = o
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| TranslateError::Invalid("tool_choice.function.name: missing".into()))?;
            json!({"mode": "ANY", "allowedFunctionNames": [name]})
        }
        Value::Null => return Ok(None),
        _ => return Err(TranslateError::Invalid("tool_choice: expected a string or an object".into())),
    }))
}

/// The text and image parts of a message's `content` (a string or a list of parts).
fn content_parts(content: Option<&Value>, at: &str) -> Result<Vec<Value>, TranslateError> {
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
                        out.push(json!({"text": t}));
                    }
                    Some("image_url") => {
                        let url = p
                            .get("image_url")
                            .and_then(|u| u.get("url").or(Some(u)))
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        let Some((mime, data)) = url
                            .strip_prefix("data:")
                            .and_then(|r| r.split_once(','))
                            .and_then(|(m, d)| m.strip_suffix(";base64").map(|m| (m, d)))
                        else {
                            return Err(TranslateError::Unsupported(format!(
                                "{at}.content[{i}]: Gemini takes images as base64 data URLs only"
                            )));
                        };
                        out.push(json!({"inlineData": {"mimeType": mime, "data": data}}));
                    }
                    _ => {
                        return Err(TranslateError::Unsupported(format!(
                            "{at}.content[{i}]: this part type does not reach Gemini"
                        )))
                    }
                }
            }
            Ok(out)
        }
        Some(_) => Err(TranslateError::Invalid(format!("{at}.content: expected a string or a list"))),
    }
}

/// The plain text of a tool message's content.
fn tool_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n")
        }
        _ => String::new(),
    }
}

type Messages = (Option<Value>, Vec<Value>);

/// System/developer messages → `systemInstruction`; the rest → `contents` (consecutive
/// turns of one role merged, as Gemini expects; tool results are `user` turns of
/// `functionResponse` parts named by the call they answer).
fn messages(messages: Option<&Value>) -> Result<Messages, TranslateError> {
    let Some(list) = messages.and_then(Value::as_array) else {
        return Err(TranslateError::Invalid("messages: expected a list".into()));
    };
    let mut system = Vec::new();
    let mut contents: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let mut call_names: HashMap<String, String> = HashMap::new();
    for (i, m) in list.iter().enumerate() {
        let at = format!("messages[{i}]");
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        let (gemini_role, parts) = match role {
            "system" | "developer" => {
                system.extend(content_parts(m.get("content"), &at)?);
                continue;
            }
            "user" => ("user", content_parts(m.get("content"), &at)?),
            "assistant" => {
                let mut parts = content_parts(m.get("content"), &at)?;
                for call in m.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
                    let f = call.get("function").unwrap_or(&Value::Null);
                    let name = f.get("name").and_then(Value::as_str).unwrap_or_default();
                    if let Some(id) = call.get("id").and_then(Value::as_str) {
                        call_names.insert(id.to_owned(), name.to_owned());
                    }
                    let args = match f.get("arguments") {
                        // A call without arguments.
                        Some(Value::String(s)) if s.trim().is_empty() => json!({}),
                        Some(Value::String(s)) => serde_json::from_str::<Value>(s)
                            .map_err(|_| TranslateError::Invalid(format!("{at}.tool_calls: arguments are not JSON")))?,
                        Some(v @ Value::Object(_)) => v.clone(),
                        _ => json!({}),
                    };
                    let args = if args.is_object() { args } else { json!({"value": args}) };
                    let mut part = json!({"functionCall": {"name": name, "args": args}});
                    // The thought signature Gemini gave this call, returned as it asks.
                    if let Some(sig) = call.pointer(SIGNATURE).filter(|s| s.is_string()) {
                        part["thoughtSignature"] = sig.clone();
                    }
                    parts.push(part);
                }
                ("model", parts)
            }
            "tool" => {
                let id = m.get("tool_call_id").and_then(Value::as_str).unwrap_or_default();
                let Some(name) = call_names.get(id) else {
                    return Err(TranslateError::Invalid(format!(
                        "{at}.tool_call_id: names no earlier assistant tool call"
                    )));
                };
                let text = tool_text(m.get("content"));
                ("user", vec![json!({"functionResponse": {"name": name, "response": {"content": text}}})])
            }
            _ => return Err(TranslateError::Unsupported(format!("{at}.role: does not reach Gemini"))),
        };
        if parts.is_empty() {
            continue;
        }
        match contents.last_mut() {
            Some((r, p)) if *r == gemini_role => p.extend(parts),
            _ => contents.push((gemini_role, parts)),
        }
    }
    let system = (!system.is_empty()).then(|| json!({"parts": system}));
    let contents = contents.into_iter().map(|(role, parts)| json!({"role": role, "parts": parts})).collect();
    Ok((system, contents))
}

// ---------------------------------------------------------------------------------------
// Response: GenerateContentResponse → Chat Completions
// ---------------------------------------------------------------------------------------

/// Finish reasons of a withheld answer.
const SAFETY_REASONS: &[&str] =
    &["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "LANGUAGE"];

fn finish_reason(reason: &str, tool_calls: bool) -> &'static str {
    match reason {
        "MAX_TOKENS" => "length",
        r if SAFETY_REASONS.contains(&r) => "content_filter",
        _ if tool_calls => "tool_calls",
        _ => "stop",
    }
}

/// `usageMetadata` as (input, output) tokens; thinking tokens count as output.
pub fn usage(body: &Value) -> Option<(u64, u64)> {
    let u = body.get("usageMetadata")?;
    let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    Some((n("promptTokenCount"), n("candidatesTokenCount") + n("thoughtsTokenCount")))
}

fn openai_usage(body: &Value) -> Option<Value> {
    let (i, o) = usage(body)?;
    Some(json!({"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o}))
}

fn blocked_prompt(body: &Value) -> Option<Blocked> {
    let reason = body.pointer("/promptFeedback/blockReason").and_then(Value::as_str)?;
    Some(Blocked(format!("the provider's safety filter blocked the prompt (blockReason {})", code(reason))))
}

/// A reason code as errors show it (an upper-case enum value), never other text.
fn code(s: &str) -> &str {
    if !s.is_empty() && s.len() <= 40 && s.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
        s
    } else {
        "OTHER"
    }
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", &uuid::Uuid::new_v4().simple().to_string()[..24])
}

/// Where a Chat Completions tool call carries Gemini's `thoughtSignature` (as Google's
/// OpenAI-compatible endpoint does): thinking models want it back with the call.
const SIGNATURE: &str = "/extra_content/google/thought_signature";

/// A `functionCall` part: name, arguments, thought signature.
struct Call {
    name: String,
    args: Value,
    signature: Option<Value>,
}

impl Call {
    /// The Chat Completions tool call (`index` for stream deltas).
    fn to_openai(&self, index: Option<u64>) -> Value {
        let mut call = json!({"id": new_id("call_"), "type": "function",
                              "function": {"name": self.name, "arguments": self.args.to_string()}});
        if let Some(i) = index {
            call["index"] = json!(i);
        }
        if let Some(sig) = &self.signature {
            call["extra_content"] = json!({"google": {"thought_signature": sig}});
        }
        call
    }
}

/// Text (thought parts left out) and function calls of a candidate.
fn candidate_parts(c: &Value) -> (String, Vec<Call>) {
    let mut text = String::new();
    let mut calls = Vec::new();
    for p in c.pointer("/content/parts").and_then(Value::as_array).into_iter().flatten() {
        if p.get("thought").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        if let Some(t) = p.get("text").and_then(Value::as_str) {
            text.push_str(t);
        }
        if let Some(fc) = p.get("functionCall") {
            let name = fc.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
            let args = fc.get("args").cloned().unwrap_or_else(|| json!({}));
            let signature = p.get("thoughtSignature").filter(|s| s.is_string()).cloned();
            calls.push(Call { name, args, signature });
        }
    }
    (text, calls)
}

/// A Chat Completions answer from a Gemini answer; `model`: used when the answer names no
/// `modelVersion`.
pub fn to_openai_response(body: &Value, model: &str) -> Result<Value, Blocked> {
    if let Some(b) = blocked_prompt(body) {
        return Err(b);
    }
    let candidates = body.get("candidates").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut choices = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        let (text, calls) = candidate_parts(c);
        let reason = c.get("finishReason").and_then(Value::as_str).unwrap_or("STOP");
        if SAFETY_REASONS.contains(&reason) && text.is_empty() && calls.is_empty() {
            return Err(Blocked(format!(
                "the provider's safety filter withheld the answer (finishReason {})",
                code(reason)
            )));
        }
        let mut message = json!({"role": "assistant", "content": if text.is_empty() && !calls.is_empty() { Value::Null } else { json!(text) }});
        if !calls.is_empty() {
            let tool_calls: Vec<Value> = calls.iter().map(|c| c.to_openai(None)).collect();
            message["tool_calls"] = Value::Array(tool_calls);
        }
        let index = c.get("index").and_then(Value::as_u64).unwrap_or(i as u64);
        choices.push(json!({"index": index, "message": message, "logprobs": null,
                            "finish_reason": finish_reason(reason, !calls.is_empty())}));
    }
    if choices.is_empty() {
        return Err(Blocked("the provider returned no answer".into()));
    }
    let mut out = json!({
        "id": body.get("responseId").and_then(Value::as_str).map_or_else(|| new_id("chatcmpl-"), |r| format!("chatcmpl-{r}")),
        "object": "chat.completion",
        "created": chrono::Utc::now().timestamp(),
        "model": body.get("modelVersion").and_then(Value::as_str).filter(|m| !m.is_empty()).unwrap_or(model),
        "choices": choices,
    });
    if let Some(u) = openai_usage(body) {
        out["usage"] = u;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Streams: `alt=sse` GenerateContentResponse chunks → Chat Completions chunks
// ---------------------------------------------------------------------------------------

/// Turns a Gemini `streamGenerateContent?alt=sse` stream into a Chat Completions stream:
/// a role chunk first, a `content` delta per text part, one complete `tool_calls` delta
/// per `functionCall` part (Gemini sends calls whole), a `finish_reason` chunk, a usage
/// chunk (`choices: []`, as OpenAI's `include_usage`), then `[DONE]`. A safety block
/// becomes an OpenAI-shaped `error` chunk.
pub struct GeminiToOpenAiStream {
    model: String,
    id: String,
    created: i64,
    started: bool,
    finished: bool,
    done: bool,
    tools: u64,
    usage: Option<Value>,
}

impl GeminiToOpenAiStream {
    pub fn new(model: &str) -> Self {
        GeminiToOpenAiStream {
            model: model.to_owned(),
            id: new_id("chatcmpl-"),
            created: chrono::Utc::now().timestamp(),
            started: false,
            finished: false,
            done: false,
            tools: 0,
            usage: None,
        }
    }

    fn chunk(&self, choices: Value) -> SseEvent {
        let c = json!({"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                       "model": self.model, "choices": choices});
        SseEvent { data: c.to_string(), ..Default::default() }
    }

    fn delta(&self, delta: Value, finish: Value) -> SseEvent {
        self.chunk(json!([{"index": 0, "delta": delta, "finish_reason": finish}]))
    }

    fn error(&mut self, message: String, out: &mut Vec<SseEvent>) {
        self.done = true;
        let e = json!({"error": {"message": message, "type": "invalid_request_error", "code": "content_blocked"}});
        out.push(SseEvent { data: e.to_string(), ..Default::default() });
    }

    pub fn on_event(&mut self, ev: &SseEvent) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        let Ok(chunk) = serde_json::from_str::<Value>(&ev.data) else { return out };
        if let Some(e) = chunk.get("error").filter(|e| e.is_object()) {
            self.done = true;
            let message = e.get("message").and_then(Value::as_str).unwrap_or("upstream error");
            let e = json!({"error": {"message": message, "type": "api_error", "code": null}});
            out.push(SseEvent { data: e.to_string(), ..Default::default() });
            return out;
        }
        if let Some(Blocked(m)) = blocked_prompt(&chunk) {
            self.error(m, &mut out);
            return out;
        }
        if let Some(m) = chunk.get("modelVersion").and_then(Value::as_str).filter(|m| !m.is_empty()) {
            self.model = m.to_owned();
        }
        if chunk.get("usageMetadata").is_some() {
            self.usage = openai_usage(&chunk);
        }
        let Some(c) = chunk.pointer("/candidates/0") else { return out };
        if !self.started {
            self.started = true;
            out.push(self.delta(json!({"role": "assistant", "content": ""}), Value::Null));
        }
        let (text, calls) = candidate_parts(c);
        if !text.is_empty() {
            out.push(self.delta(json!({"content": text}), Value::Null));
        }
        for c in &calls {
            let call = c.to_openai(Some(self.tools));
            self.tools += 1;
            out.push(self.delta(json!({"tool_calls": [call]}), Value::Null));
        }
        if let Some(reason) = c.get("finishReason").and_then(Value::as_str) {
            if SAFETY_REASONS.contains(&reason)
                && !self.finished
                && text.is_empty()
                && self.tools == 0
                && out.len() <= 1
            {
                self.error(
                    format!("the provider's safety filter withheld the answer (finishReason {})", code(reason)),
                    &mut out,
                );
                return out;
            }
            if !self.finished {
                self.finished = true;
                out.push(self.delta(json!({}), json!(finish_reason(reason, self.tools > 0))));
            }
        }
        out
    }

    /// The end of the stream: a `finish_reason` chunk if none came, the usage chunk, `[DONE]`.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if !self.done {
            if !self.finished {
                self.finished = true;
                out.push(self.delta(json!({}), json!(finish_reason("STOP", self.tools > 0))));
            }
            if let Some(u) = self.usage.take() {
                let mut c: Value = serde_json::from_str(&self.chunk(json!([])).data).unwrap_or_default();
                c["usage"] = u;
                out.push(SseEvent { data: c.to_string(), ..Default::default() });
            }
        }
        self.done = true;
        out.push(SseEvent { data: "[DONE]".into(), ..Default::default() });
        out
    }
}

// >>> embeddings: OpenAI's embeddings request and answer ⇄ `batchEmbedContents`
/// `{base_url}/v1beta/models/{model}:batchEmbedContents` (every input in one call), or
/// `None` when `model` cannot be a path segment.
pub fn embeddings_url(base_url: &str, model: &str) -> Option<String> {
    super::azure::is_deployment(model).then(|| format!("{base_url}/v1beta/models/{model}:batchEmbedContents"))
}

/// An OpenAI embeddings request (already masked and validated) as a `batchEmbedContents`
/// body: one `EmbedContentRequest` per input string, `dimensions` as
/// `outputDimensionality`. `user` is dropped (Gemini has no end-user field) and
/// `encoding_format` is applied to the answer by [`embeddings_response`]; any other field
/// has no equivalent and is refused, naming the field.
pub fn embeddings_request(body: &Value, model: &str) -> Result<Value, TranslateError> {
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
                "{key} has no equivalent in Gemini's embeddings API (batchEmbedContents)"
            )));
        }
    }
    let requests: Vec<Value> = inputs
        .into_iter()
        .map(|text| {
            let mut r = json!({"model": format!("models/{model}"), "content": {"parts": [{"text": text}]}});
            if let Some(d) = &dims {
                r["outputDimensionality"] = d.clone();
            }
            r
        })
        .collect();
    Ok(json!({ "requests": requests }))
}

/// The input texts of a [`embeddings_request`] body, for the check that each is a masked
/// input (`None` when the body does not have that shape).
pub fn embeddings_request_texts(body: &Value) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    for r in body.get("requests")?.as_array()? {
        for p in r.pointer("/content/parts")?.as_array()? {
            out.push(p.get("text")?.as_str()?);
        }
    }
    Some(out)
}

/// A `batchEmbedContents` answer (`{"embeddings": [{"values": [...]}]}`) as OpenAI's
/// embeddings response, vectors as floats or (`base64`) base64 of little-endian f32, as
/// the OpenAI SDKs ask by default. Google reports no token counts for embeddings, so
/// `usage` is zero. `None` when the answer does not have that shape.
pub fn embeddings_response(answer: &Value, model: &str, base64: bool) -> Option<Value> {
    use base64::Engine as _;
    let mut data = Vec::new();
    for (i, e) in answer.get("embeddings")?.as_array()?.iter().enumerate() {
        let values = e.get("values")?.as_array()?;
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
    Some(json!({"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": 0, "total_tokens": 0}}))
}
// <<< embeddings

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_model_segments() {
        assert_eq!(
            url("https://g.example", "gemini-2.0-flash", false).unwrap(),
            "https://g.example/v1beta/models/gemini-2.0-flash:generateContent"
        );
        assert_eq!(
            url("https://g.example", "gemini-2.0-flash", true).unwrap(),
            "https://g.example/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
        );
        for bad in ["../x", "a/b", "m:generateContent", "a?alt=json", ""] {
            assert_eq!(url("http://h", bad, false), None, "{bad:?}");
        }
    }

    #[test]
    fn requests_translate_to_contents_parts_and_settings() {
        let body = json!({"model": "g", "temperature": 0.2, "top_p": 0.9, "max_completion_tokens": 50,
        "stop": "END", "parallel_tool_calls": true, "tool_choice": {"type": "function", "function": {"name": "lookup"}},
        "tools": [{"type": "function", "function": {"name": "lookup", "description": "Find [PERSON_1]",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}],
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Hi [EMAIL_1]"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "lookup", "arguments": "{\"q\":\"[EMAIL_1]\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "found [PERSON_1]"}
        ]});
        let g = from_openai_request(&body).unwrap();
        assert_eq!(g["systemInstruction"], json!({"parts": [{"text": "Be brief."}]}));
        assert_eq!(g["contents"][0]["role"], "user");
        assert_eq!(g["contents"][0]["parts"][0]["text"], "Hi [EMAIL_1]");
        assert_eq!(g["contents"][0]["parts"][1]["inlineData"]["mimeType"], "image/png");
        assert_eq!(
            g["contents"][1],
            json!({"role": "model", "parts": [{"functionCall": {"name": "lookup", "args": {"q": "[EMAIL_1]"}}}]})
        );
        assert_eq!(
            g["contents"][2]["parts"][0]["functionResponse"],
            json!({"name": "lookup", "response": {"content": "found [PERSON_1]"}})
        );
        let gc = &g["generationConfig"];
        assert_eq!(
            (gc["temperature"].clone(), gc["topP"].clone(), gc["maxOutputTokens"].clone()),
            (json!(0.2), json!(0.9), json!(50))
        );
        assert_eq!(gc["stopSequences"], json!(["END"]));
        assert_eq!(g["tools"][0]["functionDeclarations"][0]["name"], "lookup");
        assert_eq!(
            g["toolConfig"]["functionCallingConfig"],
            json!({"mode": "ANY", "allowedFunctionNames": ["lookup"]})
        );
        assert!(g.get("model").is_none() && g.get("parallel_tool_calls").is_none());

        // The field rules: texts are exactly the masked strings, structure is left alone.
        let mut g = g;
        let texts: Vec<String> = request_texts(&mut g)
            .unwrap()
            .into_iter()
            .map(|t| match t {
                TextRef::Plain(s) | TextRef::JsonText(s) | TextRef::Identity(s) => s.clone(),
            })
            .collect();
        for t in ["Be brief.", "Hi [EMAIL_1]", "[EMAIL_1]", "found [PERSON_1]", "Find [PERSON_1]", "END"] {
            assert!(texts.iter().any(|x| x == t), "{t} in {texts:?}");
        }
        for s in ["user", "model", "lookup", "image/png", "ANY", "object", "string"] {
            assert!(!texts.iter().any(|x| x == s), "{s} is structural: {texts:?}");
        }
    }

    #[test]
    fn unknown_request_fields_and_bad_roles_are_text() {
        let mut g = json!({"contents": [{"role": "jane", "parts": [{"text": "a"}, {"x": "b"}]}], "extra": "c"});
        let n = request_texts(&mut g).unwrap().len();
        assert_eq!(n, 4);
        let mut bad = json!({"contents": [{"role": "user", "parts": "nope"}]});
        assert!(request_texts(&mut bad).is_err());
    }

    #[test]
    fn refused_settings_and_unpaired_tool_results() {
        let m = json!([{"role": "user", "content": "x"}]);
        assert!(from_openai_request(&json!({"messages": m, "n": 2})).is_err());
        assert!(from_openai_request(&json!({"messages": m, "logprobs": true})).is_err());
        let signed = json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "now", "arguments": "{}"}, "extra_content": {"google": {"thought_signature": "c2ln"}}}]}]});
        assert_eq!(from_openai_request(&signed).unwrap()["contents"][0]["parts"][0]["thoughtSignature"], "c2ln");
        let answer = json!({"candidates": [{"content": {"parts": [{"functionCall": {"name": "now", "args": {}},
            "thoughtSignature": "c2ln"}]}, "finishReason": "STOP"}]});
        let o = to_openai_response(&answer, "m").unwrap();
        assert_eq!(o["choices"][0]["message"]["tool_calls"][0].pointer(SIGNATURE), Some(&json!("c2ln")));
        let no_args = json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "now", "arguments": ""}}]}]});
        assert_eq!(
            from_openai_request(&no_args).unwrap()["contents"][0]["parts"][0]["functionCall"]["args"],
            json!({})
        );
        let orphan = json!({"messages": [{"role": "tool", "tool_call_id": "call_9", "content": "x"}]});
        assert!(from_openai_request(&orphan).is_err());
        let remote = json!({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]});
        assert!(from_openai_request(&remote).is_err());
    }

    #[test]
    fn answers_translate_back_with_tool_calls_and_usage() {
        let g = json!({"candidates": [{"content": {"role": "model", "parts": [
            {"text": "thinking", "thought": true}, {"text": "Let me look."},
            {"functionCall": {"name": "lookup", "args": {"q": "[EMAIL_1]"}}}]}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 3, "totalTokenCount": 10},
            "modelVersion": "gemini-2.0-flash", "responseId": "abc"});
        let o = to_openai_response(&g, "m").unwrap();
        assert_eq!(o["model"], "gemini-2.0-flash");
        assert_eq!(o["choices"][0]["message"]["content"], "Let me look.");
        assert_eq!(o["choices"][0]["finish_reason"], "tool_calls");
        let call = &o["choices"][0]["message"]["tool_calls"][0];
        assert_eq!(call["function"]["name"], "lookup");
        assert_eq!(
            serde_json::from_str::<Value>(call["function"]["arguments"].as_str().unwrap()).unwrap(),
            json!({"q": "[EMAIL_1]"})
        );
        assert_eq!(o["usage"], json!({"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}));
        let long = json!({"candidates": [{"content": {"parts": [{"text": "a"}]}, "finishReason": "MAX_TOKENS"}]});
        assert_eq!(to_openai_response(&long, "m").unwrap()["choices"][0]["finish_reason"], "length");
    }

    #[test]
    fn safety_blocks_are_errors_naming_the_reason_only() {
        let p = json!({"promptFeedback": {"blockReason": "SAFETY"}});
        assert!(to_openai_response(&p, "m").unwrap_err().0.contains("blockReason SAFETY"));
        let c = json!({"candidates": [{"finishReason": "SAFETY"}]});
        assert!(to_openai_response(&c, "m").unwrap_err().0.contains("finishReason SAFETY"));
        let odd = json!({"promptFeedback": {"blockReason": "jane.doe@example.com"}});
        assert!(!to_openai_response(&odd, "m").unwrap_err().0.contains("jane"));
        let mut s = GeminiToOpenAiStream::new("m");
        let out = s.on_event(&SseEvent { data: p.to_string(), ..Default::default() });
        assert!(out[0].data.contains("\"error\"") && out[0].data.contains("SAFETY"));
    }

    #[test]
    fn streams_become_chat_completion_chunks() {
        let mut s = GeminiToOpenAiStream::new("m");
        let ev = |v: Value| SseEvent { data: v.to_string(), ..Default::default() };
        let mut all = Vec::new();
        all.extend(
            s.on_event(&ev(json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hi [EMA"}]}}],
            "modelVersion": "g-1"}))),
        );
        all.extend(s.on_event(&ev(json!({"candidates": [{"content": {"parts": [{"text": "IL_1]"},
            {"functionCall": {"name": "lookup", "args": {"q": 1}}}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 5}}))));
        all.extend(s.finish());
        let data: Vec<Value> =
            all.iter().filter(|e| e.data != "[DONE]").map(|e| serde_json::from_str(&e.data).unwrap()).collect();
        assert_eq!(data[0]["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(data[1]["choices"][0]["delta"]["content"], "Hi [EMA");
        assert_eq!(data[1]["model"], "g-1");
        assert_eq!(data[2]["choices"][0]["delta"]["content"], "IL_1]");
        assert_eq!(data[3]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"], "{\"q\":1}");
        assert_eq!(data[4]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(data[5]["choices"], json!([]));
        assert_eq!(data[5]["usage"]["completion_tokens"], 5);
        assert_eq!(all.last().unwrap().data, "[DONE]");
    }

    // >>> embeddings
    #[test]
    fn embeddings_request_one_call_per_batch() {
        let body = json!({"model": "text-embedding-004", "input": ["a [PERSON_1]", "b"], "dimensions": 256,
                          "encoding_format": "base64", "user": "veil-00"});
        let out = embeddings_request(&body, "text-embedding-004").unwrap();
        assert_eq!(
            out,
            json!({"requests": [
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "a [PERSON_1]"}]}, "outputDimensionality": 256},
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "b"}]}, "outputDimensionality": 256}
            ]})
        );
        assert_eq!(embeddings_request_texts(&out), Some(vec!["a [PERSON_1]", "b"]));
        let one = embeddings_request(&json!({"model": "m", "input": "x"}), "m").unwrap();
        assert_eq!(embeddings_request_texts(&one), Some(vec!["x"]));
        let e = embeddings_request(&json!({"model": "m", "input": "x", "extra": "Jane"}), "m").unwrap_err();
        assert!(e.to_string().contains("extra has no equivalent"), "{e}");
        assert!(!e.to_string().contains("Jane"));
        assert!(embeddings_url("https://g", "a/b").is_none());
        assert_eq!(embeddings_url("https://g", "m").unwrap(), "https://g/v1beta/models/m:batchEmbedContents");
    }

    #[test]
    fn embeddings_response_as_floats_or_base64() {
        let answer = json!({"embeddings": [{"values": [0.5, -1.0]}, {"values": [0.25, 2.0]}]});
        let plain = embeddings_response(&answer, "m", false).unwrap();
        assert_eq!(plain["data"][1]["embedding"], json!([0.25, 2.0]));
        assert_eq!(plain["data"][1]["index"], 1);
        assert_eq!(plain["usage"]["prompt_tokens"], 0);
        let b64 = embeddings_response(&answer, "m", true).unwrap();
        use base64::Engine as _;
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(b64["data"][0]["embedding"].as_str().unwrap()).unwrap();
        let floats: Vec<f32> = bytes.chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
        assert_eq!(floats, vec![0.5, -1.0]);
        assert!(embeddings_response(&json!({"embedding": {}}), "m", false).is_none());
        assert!(embeddings_response(&json!({"embeddings": [{"values": ["x"]}]}), "m", false).is_none());
    }
    // <<< embeddings
}
