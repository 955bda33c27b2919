//! OpenAI Responses API ⇄ Chat Completions (part of the providers layer): how a Responses
//! request reaches a provider kind that does not speak the Responses API (`anthropic`,
//! `gemini`, and any kind added later), with Chat Completions as the canonical form.
//!
//! ```text
//! client Responses body ── mask (providers::responses visitor) ──► masked Responses body
//!   ├─ openai / azure kind: sent as is to {base_url}/responses (no round trip here)
//!   └─ any other kind:
//!        to_chat_request ──► Chat Completions body ── guard (Chat field rules vs the
//!        masked Responses texts) ──► the chat path's per-kind step (Messages translation,
//!        or ProviderKind::to_native for Gemini, each checked again) ──► upstream
//!        upstream answer ──► (from_native / Messages → Chat translation) ──► Chat answer
//!          plain:  to_response ──► Responses object ──► Responses restore
//!          stream: Chat chunks ──► ChatToResponsesStream ──► Responses events
//!                  ──► Responses stream restore (bounded hold-back) ──► client
//! ```
//!
//! [`check_request`] refuses, before anything is masked or sent, the settings that need
//! OpenAI's servers (conversation state, built-in tools, background runs, reasoning
//! options, logprobs); the error names the field, never its value. Settings that change
//! nothing about the answer (`store`, `metadata`, `include` entries that concern refused
//! features, `stream_options`, `service_tier` `auto`/`default`, `truncation` `disabled`,
//! `safety_identifier`, `prompt_cache_key`) are dropped, and so are `reasoning` items of
//! earlier turns (opaque to another provider) and fields this module does not know
//! (counted in a debug log, never named).

use super::sse::SseEvent;
use super::translate::{AnthropicToOpenAiStream, TranslateError};
use super::{ApiKind, MaxTokensField};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

use TranslateError::{Invalid, Unsupported};

/// The request fields [`to_chat_request`] maps.
const MAPPED: &[&str] = &[
    "model",
    "input",
    "instructions",
    "stream",
    "temperature",
    "top_p",
    "max_output_tokens",
    "parallel_tool_calls",
    "tools",
    "tool_choice",
    "text",
    "user",
];

/// Request fields dropped because they change nothing about the answer (a debug log names
/// them).
pub const DROPPED: &[&str] = &[
    "store",
    "metadata",
    "include",
    "stream_options",
    "service_tier",
    "truncation",
    "safety_identifier",
    "prompt_cache_key",
    "background",
    "reasoning",
    "top_logprobs",
];

/// Response fields echoed from the client's request, as the Responses API does.
const ECHOED: &[&str] = &[
    "instructions",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "temperature",
    "top_p",
    "max_output_tokens",
    "text",
    "metadata",
];

/// Built-in item types of the Responses API (calls of OpenAI-hosted tools and their
/// outputs): named in the refusal, since the name is one of these fixed strings.
const BUILT_IN_ITEMS: &[&str] = &[
    "web_search_call",
    "file_search_call",
    "computer_call",
    "computer_call_output",
    "code_interpreter_call",
    "image_generation_call",
    "local_shell_call",
    "local_shell_call_output",
    "mcp_call",
    "mcp_list_tools",
    "mcp_approval_request",
    "mcp_approval_response",
    "custom_tool_call",
    "custom_tool_call_output",
];

/// Built-in tool types, for the refusal message.
const BUILT_IN_TOOLS: &[&str] = &[
    "file_search",
    "web_search",
    "web_search_preview",
    "web_search_preview_2025_03_11",
    "computer_use_preview",
    "code_interpreter",
    "image_generation",
    "local_shell",
    "mcp",
    "custom",
];

fn no_equivalent(field: &str, why: &str) -> TranslateError {
    Unsupported(format!(
        "{field}: {why}; Chat Completions, which other provider kinds are reached through, has no equivalent"
    ))
}

fn set(v: Option<&Value>) -> bool {
    v.is_some_and(|v| !v.is_null())
}

/// Refuses the settings a Chat Completions request cannot carry (the error names the
/// field, never a value). Reads field names and fixed enum values only, so it can run on
/// the client's body before masking.
pub fn check_request(body: &Value) -> Result<(), TranslateError> {
    let obj = body.as_object().ok_or_else(|| Invalid("body: expected a JSON object".into()))?;
    let state = "server-side conversation state lives on OpenAI's servers (send the earlier turns in input)";
    for field in ["previous_response_id", "conversation"] {
        if set(obj.get(field)) {
            return Err(no_equivalent(field, state));
        }
    }
    if set(obj.get("prompt")) {
        return Err(no_equivalent("prompt", "stored prompt templates live on OpenAI's servers"));
    }
    if obj.get("background").and_then(Value::as_bool) == Some(true) {
        return Err(no_equivalent("background", "background runs are stored on OpenAI's servers"));
    }
    match obj.get("reasoning") {
        None | Some(Value::Null) => {}
        Some(Value::Object(r)) if r.values().all(Value::is_null) => {}
        Some(_) => return Err(no_equivalent("reasoning", "reasoning settings are OpenAI's")),
    }
    if set(obj.get("max_tool_calls")) {
        return Err(no_equivalent("max_tool_calls", "it limits OpenAI's built-in tool calls"));
    }
    if obj.get("top_logprobs").and_then(Value::as_u64).is_some_and(|n| n > 0) {
        return Err(no_equivalent("top_logprobs", "log probabilities are not carried across"));
    }
    if let Some(Value::Array(items)) = obj.get("include") {
        if items.iter().any(|i| i == "message.output_text.logprobs") {
            return Err(no_equivalent("include", "log probabilities are not carried across"));
        }
    }
    if obj.get("truncation").and_then(Value::as_str) == Some("auto") {
        return Err(no_equivalent("truncation", "automatic truncation works on OpenAI's stored context"));
    }
    match obj.get("service_tier").and_then(Value::as_str) {
        None | Some("auto" | "default") => {}
        Some(_) => return Err(no_equivalent("service_tier", "processing tiers are OpenAI's")),
    }
    if let Some(Value::Array(tools)) = obj.get("tools") {
        for (j, t) in tools.iter().enumerate() {
            match t.get("type").and_then(Value::as_str) {
                Some("function") => {}
                Some(k) if BUILT_IN_TOOLS.contains(&k) => {
                    return Err(no_equivalent(
                        &format!("tools[{j}]"),
                        &format!("{k} is a built-in tool that runs on OpenAI's servers"),
                    ))
                }
                _ => return Err(no_equivalent(&format!("tools[{j}].type"), "only function tools are carried across")),
            }
        }
    }
    if let Some(Value::Object(choice)) = obj.get("tool_choice") {
        if choice.get("type").and_then(Value::as_str) != Some("function") {
            return Err(no_equivalent("tool_choice", "only a mode or a function tool is carried across"));
        }
    }
    if let Some(Value::Array(items)) = obj.get("input") {
        for (i, item) in items.iter().enumerate() {
            let kind = item_kind(item);
            match kind {
                Some("message" | "function_call" | "function_call_output" | "reasoning") | None => {}
                Some("item_reference") => return Err(no_equivalent(&format!("input[{i}]"), state)),
                Some(k) if BUILT_IN_ITEMS.contains(&k) => {
                    return Err(no_equivalent(
                        &format!("input[{i}]"),
                        &format!("{k} items belong to OpenAI's built-in tools"),
                    ))
                }
                Some(_) => return Err(no_equivalent(&format!("input[{i}].type"), "an item of this type")),
            }
        }
    }
    Ok(())
}

/// An input item's type: its `type`, or `message` for `{role, content}` without one.
fn item_kind(item: &Value) -> Option<&str> {
    match item.get("type") {
        Some(Value::String(t)) => Some(t.as_str()),
        None if item.get("role").is_some() => Some("message"),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Request: Responses → Chat Completions
// ---------------------------------------------------------------------------------------

/// The Chat Completions request for a (masked) Responses request. `model` is the upstream
/// model name; `max_tokens` names the field the kind reads the token limit from.
///
/// `instructions` becomes the first (system) message; `input` a user message (a string)
/// or one message per item: messages keep their role (`input_text`/`output_text` parts
/// become text parts, `refusal` parts refusal parts, `input_image` an `image_url` part,
/// `input_file` with `file_data` a file part), `function_call` items become `tool_calls`
/// of an assistant message (joined to the assistant message just before them), and
/// `function_call_output` items `tool` messages. Function tools, `tool_choice`,
/// `parallel_tool_calls`, `temperature`, `top_p`, `max_output_tokens`, `text.format`
/// (`response_format`), `text.verbosity`, `user` and `stream` cross over.
pub fn to_chat_request(body: &Value, model: &str, max_tokens: MaxTokensField) -> Result<Value, TranslateError> {
    check_request(body)?;
    let obj = body.as_object().ok_or_else(|| Invalid("body: expected a JSON object".into()))?;
    let mut out = Map::new();
    out.insert("model".into(), json!(model));
    let mut messages = Vec::new();
    match obj.get("instructions") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.is_empty() => {}
        Some(Value::String(s)) => messages.push(json!({"role": "system", "content": s})),
        Some(_) => return Err(Invalid("instructions: expected a string".into())),
    }
    match obj.get("input") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => messages.push(json!({"role": "user", "content": s})),
        Some(Value::Array(items)) => input_items(items, &mut messages)?,
        Some(_) => return Err(Invalid("input: expected a string or an array".into())),
    }
    out.insert("messages".into(), Value::Array(messages));
    if let Some(s) = obj.get("stream").and_then(Value::as_bool) {
        out.insert("stream".into(), json!(s));
    }
    for key in ["temperature", "top_p"] {
        if let Some(v) = obj.get(key).filter(|v| v.is_number()) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(v) = obj.get("max_output_tokens").filter(|v| v.is_number()) {
        out.insert(max_tokens.as_str().into(), v.clone());
    }
    if let Some(v) = obj.get("parallel_tool_calls").filter(|v| v.is_boolean()) {
        out.insert("parallel_tool_calls".into(), v.clone());
    }
    if let Some(tools) = obj.get("tools").filter(|v| !v.is_null()) {
        let tools = chat_tools(tools)?;
        if !tools.is_empty() {
            out.insert("tools".into(), Value::Array(tools));
        }
    }
    if let Some(choice) = obj.get("tool_choice").filter(|v| !v.is_null()) {
        out.insert("tool_choice".into(), chat_tool_choice(choice)?);
    }
    if let Some(text) = obj.get("text").filter(|v| !v.is_null()) {
        if let Some(f) = text.get("format").filter(|v| !v.is_null()) {
            if let Some(rf) = response_format(f)? {
                out.insert("response_format".into(), rf);
            }
        }
        if let Some(v) = text.get("verbosity").filter(|v| v.is_string()) {
            out.insert("verbosity".into(), v.clone());
        }
    }
    if let Some(u) = obj.get("user").filter(|v| v.is_string()) {
        out.insert("user".into(), u.clone());
    }
    log_dropped(obj);
    Ok(Value::Object(out))
}

/// Logs, at debug level, the dropped settings: the names from [`DROPPED`] (fixed strings,
/// never a client's key) and a count of the fields this module knows nothing of.
fn log_dropped(obj: &Map<String, Value>) {
    let mut named: Vec<&'static str> = Vec::new();
    let mut unknown = 0usize;
    for key in obj.keys() {
        if MAPPED.contains(&key.as_str()) {
            continue;
        }
        match DROPPED.iter().find(|d| **d == key.as_str()) {
            Some(d) => named.push(d),
            None => unknown += 1,
        }
    }
    if !named.is_empty() || unknown > 0 {
        tracing::debug!(dropped = ?named, unknown_fields = unknown, "responses settings without a chat equivalent were dropped");
    }
}

fn str_field<'a>(v: &'a Value, key: &str, path: &str) -> Result<&'a str, TranslateError> {
    v.get(key).and_then(Value::as_str).ok_or_else(|| Invalid(format!("{path}.{key}: expected a string")))
}

/// The `input` items as Chat Completions messages, appended to `messages`.
fn input_items(items: &[Value], messages: &mut Vec<Value>) -> Result<(), TranslateError> {
    // Whether the last message is an assistant message that function calls may join.
    let mut open_assistant = false;
    for (i, item) in items.iter().enumerate() {
        let path = format!("input[{i}]");
        if !item.is_object() {
            return Err(Invalid(format!("{path}: expected an object")));
        }
        match item_kind(item) {
            Some("message") => {
                let role = str_field(item, "role", &path)?;
                let msg = message(item, role, &path)?;
                open_assistant = role == "assistant";
                messages.push(msg);
            }
            Some("function_call") => {
                let call_id = str_field(item, "call_id", &path)?;
                let name = str_field(item, "name", &path)?;
                let arguments = match item.get("arguments") {
                    None | Some(Value::Null) => "",
                    Some(Value::String(s)) => s.as_str(),
                    Some(_) => return Err(Invalid(format!("{path}.arguments: expected a string"))),
                };
                let mut call = json!({"id": call_id, "type": "function",
                                      "function": {"name": name, "arguments": arguments}});
                // Gemini's thought signature, as a Responses answer from Veil carries it.
                if let Some(extra) = item.get("extra_content").filter(|v| v.is_object()) {
                    call["extra_content"] = extra.clone();
                }
                let joined = open_assistant
                    && messages.last_mut().and_then(Value::as_object_mut).is_some_and(|m| {
                        let calls = m.entry("tool_calls").or_insert_with(|| json!([]));
                        match calls {
                            Value::Array(calls) => {
                                calls.push(call.clone());
                                true
                            }
                            _ => false,
                        }
                    });
                if !joined {
                    messages.push(json!({"role": "assistant", "content": null, "tool_calls": [call]}));
                    open_assistant = true;
                }
            }
            Some("function_call_output") => {
                let call_id = str_field(item, "call_id", &path)?;
                let content = match item.get("output") {
                    Some(Value::String(s)) => json!(s),
                    Some(Value::Array(parts)) => {
                        let mut out = Vec::new();
                        for (j, part) in parts.iter().enumerate() {
                            let ppath = format!("{path}.output[{j}]");
                            match part.get("type").and_then(Value::as_str) {
                                Some("input_text" | "output_text") => {
                                    out.push(json!({"type": "text", "text": str_field(part, "text", &ppath)?}))
                                }
                                _ => {
                                    return Err(no_equivalent(
                                        &ppath,
                                        "a tool's output reaches other providers as text parts only",
                                    ))
                                }
                            }
                        }
                        Value::Array(out)
                    }
                    _ => return Err(Invalid(format!("{path}.output: expected a string or an array"))),
                };
                messages.push(json!({"role": "tool", "tool_call_id": call_id, "content": content}));
                open_assistant = false;
            }
            // The reasoning of an earlier OpenAI turn: opaque to any other provider.
            Some("reasoning") => {}
            Some(_) => return Err(no_equivalent(&format!("{path}.type"), "an item of this type")),
            None => return Err(Invalid(format!("{path}.type: missing"))),
        }
    }
    Ok(())
}

/// One message item as a Chat Completions message.
fn message(item: &Value, role: &str, path: &str) -> Result<Value, TranslateError> {
    if !matches!(role, "user" | "assistant" | "system" | "developer") {
        return Err(Invalid(format!("{path}.role: expected one of user, assistant, system, developer")));
    }
    let content = match item.get("content") {
        Some(Value::String(s)) => json!(s),
        Some(Value::Array(parts)) => {
            let mut out = Vec::with_capacity(parts.len());
            for (j, part) in parts.iter().enumerate() {
                out.push(content_part(part, role, &format!("{path}.content[{j}]"))?);
            }
            Value::Array(out)
        }
        None | Some(Value::Null) => Value::Null,
        Some(_) => return Err(Invalid(format!("{path}.content: expected a string or an array"))),
    };
    Ok(json!({"role": role, "content": content}))
}

/// One content part as a Chat Completions part.
fn content_part(part: &Value, role: &str, path: &str) -> Result<Value, TranslateError> {
    let kind = part.get("type").and_then(Value::as_str).ok_or_else(|| Invalid(format!("{path}.type: missing")))?;
    match kind {
        "input_text" | "output_text" => Ok(json!({"type": "text", "text": str_field(part, "text", path)?})),
        "refusal" if role == "assistant" => {
            Ok(json!({"type": "refusal", "refusal": str_field(part, "refusal", path)?}))
        }
        "input_image" if role == "user" => {
            let Some(url) = part.get("image_url").and_then(Value::as_str) else {
                return Err(no_equivalent(
                    &format!("{path}.file_id"),
                    "a file uploaded to OpenAI cannot be read by another provider (send image_url)",
                ));
            };
            let mut image = json!({"url": url});
            if let Some(d) = part.get("detail").filter(|d| d.is_string()) {
                image["detail"] = d.clone();
            }
            Ok(json!({"type": "image_url", "image_url": image}))
        }
        "input_file" if role == "user" => {
            let Some(data) = part.get("file_data").and_then(Value::as_str) else {
                return Err(no_equivalent(
                    path,
                    "only a file given as file_data reaches another provider (not file_id or file_url)",
                ));
            };
            let mut file = json!({"file_data": data});
            if let Some(n) = part.get("filename").filter(|n| n.is_string()) {
                file["filename"] = n.clone();
            }
            Ok(json!({"type": "file", "file": file}))
        }
        "input_image" | "input_file" => Err(no_equivalent(path, "images and files are carried in user messages only")),
        _ => Err(no_equivalent(&format!("{path}.type"), "a content part of this type")),
    }
}

/// Responses' flat function tools as Chat Completions tools.
fn chat_tools(tools: &Value) -> Result<Vec<Value>, TranslateError> {
    let list = tools.as_array().ok_or_else(|| Invalid("tools: expected an array".into()))?;
    let mut out = Vec::with_capacity(list.len());
    for (j, t) in list.iter().enumerate() {
        let path = format!("tools[{j}]");
        if t.get("type").and_then(Value::as_str) != Some("function") {
            return Err(no_equivalent(&format!("{path}.type"), "only function tools are carried across"));
        }
        let mut f = Map::new();
        f.insert("name".into(), json!(str_field(t, "name", &path)?));
        for key in ["description", "parameters", "strict"] {
            if let Some(v) = t.get(key).filter(|v| !v.is_null()) {
                f.insert(key.into(), v.clone());
            }
        }
        out.push(json!({"type": "function", "function": f}));
    }
    Ok(out)
}

fn chat_tool_choice(choice: &Value) -> Result<Value, TranslateError> {
    match choice {
        Value::String(s) if matches!(s.as_str(), "none" | "auto" | "required") => Ok(choice.clone()),
        Value::String(_) => Err(Invalid("tool_choice: expected none, auto, required or a function".into())),
        Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("function") => {
            let name = str_field(choice, "name", "tool_choice")?;
            Ok(json!({"type": "function", "function": {"name": name}}))
        }
        _ => Err(no_equivalent("tool_choice", "only a mode or a function tool is carried across")),
    }
}

/// `text.format` as `response_format` (`None` for plain text).
fn response_format(f: &Value) -> Result<Option<Value>, TranslateError> {
    match f.get("type").and_then(Value::as_str) {
        None | Some("text") => Ok(None),
        Some("json_object") => Ok(Some(json!({"type": "json_object"}))),
        Some("json_schema") => {
            let mut schema = Map::new();
            schema.insert("name".into(), json!(str_field(f, "name", "text.format")?));
            for key in ["schema", "description", "strict"] {
                if let Some(v) = f.get(key).filter(|v| !v.is_null()) {
                    schema.insert(key.into(), v.clone());
                }
            }
            Ok(Some(json!({"type": "json_schema", "json_schema": schema})))
        }
        Some(_) => Err(Invalid("text.format.type: expected text, json_object or json_schema".into())),
    }
}

/// The settings a response object echoes, taken from the client's own request (before
/// masking: these go back to the client only), with the API's defaults for the rest.
pub fn echo(body: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("instructions".into(), Value::Null);
    out.insert("tools".into(), json!([]));
    out.insert("tool_choice".into(), json!("auto"));
    out.insert("parallel_tool_calls".into(), json!(true));
    out.insert("temperature".into(), Value::Null);
    out.insert("top_p".into(), Value::Null);
    out.insert("max_output_tokens".into(), Value::Null);
    out.insert("text".into(), json!({"format": {"type": "text"}}));
    out.insert("metadata".into(), json!({}));
    for key in ECHOED {
        if let Some(v) = body.get(*key).filter(|v| !v.is_null()) {
            out.insert((*key).into(), v.clone());
        }
    }
    out.insert("previous_response_id".into(), Value::Null);
    out.insert("store".into(), json!(false));
    out.insert("truncation".into(), json!("disabled"));
    out
}

// ---------------------------------------------------------------------------------------
// Answer: Chat Completions → Responses
// ---------------------------------------------------------------------------------------

fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Chat Completions `usage` as Responses `usage`.
fn usage(u: &Value) -> Value {
    let n = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let (input, output) = (n("/prompt_tokens"), n("/completion_tokens"));
    let total = u.get("total_tokens").and_then(Value::as_u64).unwrap_or(input + output);
    json!({"input_tokens": input, "input_tokens_details": {"cached_tokens": n("/prompt_tokens_details/cached_tokens")},
           "output_tokens": output,
           "output_tokens_details": {"reasoning_tokens": n("/completion_tokens_details/reasoning_tokens")},
           "total_tokens": total})
}

/// `status` and `incomplete_details` for a Chat Completions `finish_reason`.
fn status(finish_reason: Option<&str>) -> (&'static str, Value) {
    match finish_reason {
        Some("length") => ("incomplete", json!({"reason": "max_output_tokens"})),
        Some("content_filter") => ("incomplete", json!({"reason": "content_filter"})),
        _ => ("completed", Value::Null),
    }
}

fn text_part(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

fn message_item(id: &str, status: &str, content: Vec<Value>) -> Value {
    json!({"type": "message", "id": id, "status": status, "role": "assistant", "content": content})
}

fn call_item(id: &str, status: &str, call_id: &str, name: &str, arguments: &str, extra: Option<&Value>) -> Value {
    let mut item = json!({"type": "function_call", "id": id, "status": status, "call_id": call_id, "name": name,
                          "arguments": arguments});
    if let Some(e) = extra {
        item["extra_content"] = e.clone();
    }
    item
}

/// A response object from its parts and the echoed settings.
fn response_object(
    id: &str,
    created: i64,
    model: &str,
    status: &str,
    output: Vec<Value>,
    usage: Value,
    echo: &Map<String, Value>,
) -> Value {
    let mut r = json!({"id": id, "object": "response", "created_at": created, "status": status, "model": model,
                       "output": output, "usage": usage, "error": null, "incomplete_details": null});
    if let Value::Object(m) = &mut r {
        for (k, v) in echo {
            m.insert(k.clone(), v.clone());
        }
    }
    r
}

/// The text of a Chat Completions message `content` (a string, or text parts joined).
fn message_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

/// A Responses object for a Chat Completions answer (its first choice): the message text
/// (and refusal) as a `message` item, each tool call as a `function_call` item (the call
/// id as `call_id`), usage in Responses' names; `finish_reason` `length` or
/// `content_filter` make the response `incomplete`. `echo`: see [`echo`].
pub fn to_response(chat: &Value, echo: &Map<String, Value>) -> Value {
    let id = new_id("resp_");
    let created = chat.get("created").and_then(Value::as_i64).unwrap_or_else(now);
    let model = chat.get("model").and_then(Value::as_str).unwrap_or_default();
    if let Some(e) = chat.get("error").filter(|e| e.is_object()) {
        let mut r = response_object(&id, created, model, "failed", Vec::new(), Value::Null, echo);
        r["error"] = json!({"code": e.get("code").filter(|c| c.is_string()).cloned().unwrap_or(json!("server_error")),
                            "message": e.get("message").cloned().unwrap_or(json!("upstream error"))});
        return r;
    }
    let choice = chat.pointer("/choices/0");
    let msg = choice.and_then(|c| c.get("message"));
    let mut output = Vec::new();
    let text = message_text(msg.and_then(|m| m.get("content")));
    let mut content = Vec::new();
    if !text.is_empty() {
        content.push(text_part(&text));
    }
    if let Some(r) = msg.and_then(|m| m.get("refusal")).and_then(Value::as_str).filter(|r| !r.is_empty()) {
        content.push(json!({"type": "refusal", "refusal": r}));
    }
    if !content.is_empty() {
        output.push(message_item(&new_id("msg_"), "completed", content));
    }
    for call in msg.and_then(|m| m.get("tool_calls")).and_then(Value::as_array).into_iter().flatten() {
        let f = call.get("function");
        let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
        let call_id = call.get("id").and_then(Value::as_str).map_or_else(|| new_id("call_"), str::to_owned);
        output.push(call_item(
            &new_id("fc_"),
            "completed",
            &call_id,
            &s(f.and_then(|f| f.get("name"))),
            &s(f.and_then(|f| f.get("arguments"))),
            call.get("extra_content").filter(|e| e.is_object()),
        ));
    }
    let (status, incomplete) = status(choice.and_then(|c| c.get("finish_reason")).and_then(Value::as_str));
    let usage = chat.get("usage").filter(|u| u.is_object()).map_or(Value::Null, usage);
    let mut r = response_object(&id, created, model, status, output, usage, echo);
    r["incomplete_details"] = incomplete;
    r
}

// ---------------------------------------------------------------------------------------
// Streams: Chat Completions chunks → Responses events
// ---------------------------------------------------------------------------------------

/// The converter of a wire API's stream events into Chat Completions chunks, for a kind
/// whose wire API is not Chat Completions (Messages: usage asked for, so that
/// `response.completed` carries it); `None` for Chat Completions itself.
pub fn chat_stream(wire: ApiKind, model: &str) -> Option<AnthropicToOpenAiStream> {
    match wire {
        ApiKind::OpenAi => None,
        ApiKind::Anthropic => Some(AnthropicToOpenAiStream::new(model, true)),
    }
}

/// One output item of the response being streamed.
enum Item {
    Message { id: String, text: String, open: bool },
    Call { id: String, call_id: String, name: String, args: String, extra: Option<Value>, open: bool },
}

impl Item {
    fn value(&self) -> Value {
        match self {
            Item::Message { id, text, open } => {
                let status = if *open { "in_progress" } else { "completed" };
                message_item(id, status, if *open { Vec::new() } else { vec![text_part(text)] })
            }
            Item::Call { id, call_id, name, args, extra, open } => {
                let status = if *open { "in_progress" } else { "completed" };
                call_item(id, status, call_id, name, if *open { "" } else { args }, extra.as_ref())
            }
        }
    }
}

/// Turns a Chat Completions stream (as the pipeline has it after the kind's own stream
/// conversion) into the Responses event sequence: `response.created`,
/// `response.in_progress`; per text run an `output_item.added` message,
/// `content_part.added`, `output_text.delta`s, `output_text.done`, `content_part.done`,
/// `output_item.done`; per tool call an `output_item.added` function call,
/// `function_call_arguments.delta`s, `function_call_arguments.done`, `output_item.done`;
/// then `response.completed` (`response.incomplete` after `finish_reason` `length` or
/// `content_filter`) with the whole response and its usage. Every event carries a
/// `sequence_number`. An error chunk becomes an `error` event and `response.failed`.
/// Only the first choice is read (translated requests ask for one).
pub struct ChatToResponsesStream {
    id: String,
    created: i64,
    model: String,
    echo: Map<String, Value>,
    seq: u64,
    started: bool,
    done: bool,
    items: Vec<Item>,
    /// The open message item (index into `items`).
    text_item: Option<usize>,
    /// Chat tool call index → index into `items`.
    calls: BTreeMap<u64, usize>,
    finish_reason: Option<String>,
    usage: Option<Value>,
}

impl ChatToResponsesStream {
    /// `model`: the name to report until a chunk names the upstream's own; `echo`: see [`echo`].
    pub fn new(model: &str, echo: Map<String, Value>) -> Self {
        ChatToResponsesStream {
            id: new_id("resp_"),
            created: now(),
            model: model.to_owned(),
            echo,
            seq: 0,
            started: false,
            done: false,
            items: Vec::new(),
            text_item: None,
            calls: BTreeMap::new(),
            finish_reason: None,
            usage: None,
        }
    }

    fn event(&mut self, mut v: Value, out: &mut Vec<SseEvent>) {
        v["sequence_number"] = json!(self.seq);
        self.seq += 1;
        let ty = v["type"].as_str().unwrap_or_default().to_owned();
        out.push(SseEvent::named(ty, v.to_string()));
    }

    fn response(&self, status: &str) -> Value {
        let done = status != "in_progress";
        let output = if done { self.items.iter().map(Item::value).collect() } else { Vec::new() };
        let usage = if done { self.usage.clone().unwrap_or(Value::Null) } else { Value::Null };
        response_object(&self.id, self.created, &self.model, status, output, usage, &self.echo)
    }

    fn start(&mut self, out: &mut Vec<SseEvent>) {
        if self.started {
            return;
        }
        self.started = true;
        let r = self.response("in_progress");
        self.event(json!({"type": "response.created", "response": r}), out);
        let r = self.response("in_progress");
        self.event(json!({"type": "response.in_progress", "response": r}), out);
    }

    /// One upstream chunk (or `[DONE]`).
    pub fn on_event(&mut self, ev: &SseEvent) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        if ev.data.trim() == "[DONE]" {
            return self.finish();
        }
        let Ok(chunk) = serde_json::from_str::<Value>(&ev.data) else { return out };
        self.start(&mut out);
        if let Some(e) = chunk.get("error").filter(|e| e.is_object()) {
            self.fail(e, &mut out);
            return out;
        }
        if let Some(m) = chunk.get("model").and_then(Value::as_str).filter(|m| !m.is_empty()) {
            self.model = m.to_owned();
        }
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(usage(u));
        }
        let Some(choice) = chunk
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.iter().find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0))
        else {
            return out;
        };
        if let Some(delta) = choice.get("delta") {
            if let Some(text) = delta.get("content").and_then(Value::as_str).filter(|t| !t.is_empty()) {
                self.text(text, &mut out);
            }
            for call in delta.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
                self.tool_call(call, &mut out);
            }
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(reason.to_owned());
            self.close_all(&mut out);
        }
        out
    }

    fn text(&mut self, text: &str, out: &mut Vec<SseEvent>) {
        let index = match self.text_item {
            Some(i) => i,
            None => {
                let i = self.items.len();
                let id = new_id("msg_");
                self.items.push(Item::Message { id: id.clone(), text: String::new(), open: true });
                self.text_item = Some(i);
                let item = self.items[i].value();
                self.event(json!({"type": "response.output_item.added", "output_index": i, "item": item}), out);
                self.event(
                    json!({"type": "response.content_part.added", "item_id": id, "output_index": i,
                           "content_index": 0, "part": text_part("")}),
                    out,
                );
                i
            }
        };
        let Some(Item::Message { id, text: all, .. }) = self.items.get_mut(index) else { return };
        all.push_str(text);
        let id = id.clone();
        self.event(
            json!({"type": "response.output_text.delta", "item_id": id, "output_index": index, "content_index": 0,
                   "delta": text, "logprobs": []}),
            out,
        );
    }

    fn tool_call(&mut self, call: &Value, out: &mut Vec<SseEvent>) {
        let k = call.get("index").and_then(Value::as_u64).unwrap_or(0);
        let f = call.get("function");
        let index = match self.calls.get(&k) {
            Some(&i) => i,
            None => {
                // A tool call ends the text before it.
                if let Some(t) = self.text_item.take() {
                    self.close(t, out);
                }
                let i = self.items.len();
                let call_id = call.get("id").and_then(Value::as_str).map_or_else(|| new_id("call_"), str::to_owned);
                let name = f.and_then(|f| f.get("name")).and_then(Value::as_str).unwrap_or_default().to_owned();
                let extra = call.get("extra_content").filter(|e| e.is_object()).cloned();
                self.items.push(Item::Call {
                    id: new_id("fc_"),
                    call_id,
                    name,
                    args: String::new(),
                    extra,
                    open: true,
                });
                self.calls.insert(k, i);
                let item = self.items[i].value();
                self.event(json!({"type": "response.output_item.added", "output_index": i, "item": item}), out);
                i
            }
        };
        let Some(Item::Call { id, args, name, open, .. }) = self.items.get_mut(index) else { return };
        if !*open {
            // Arguments of a call already closed cannot be expressed any more.
            return;
        }
        if name.is_empty() {
            if let Some(n) = f.and_then(|f| f.get("name")).and_then(Value::as_str) {
                n.clone_into(name);
            }
        }
        let Some(piece) = f.and_then(|f| f.get("arguments")).and_then(Value::as_str).filter(|a| !a.is_empty()) else {
            return;
        };
        args.push_str(piece);
        let id = id.clone();
        self.event(
            json!({"type": "response.function_call_arguments.delta", "item_id": id, "output_index": index,
                   "delta": piece}),
            out,
        );
    }

    /// Closes item `i`: its `.done` events.
    fn close(&mut self, i: usize, out: &mut Vec<SseEvent>) {
        let Some(item) = self.items.get_mut(i) else { return };
        let events = match item {
            Item::Message { open: false, .. } | Item::Call { open: false, .. } => return,
            Item::Message { id, text, open } => {
                *open = false;
                vec![
                    json!({"type": "response.output_text.done", "item_id": id, "output_index": i, "content_index": 0,
                           "text": text, "logprobs": []}),
                    json!({"type": "response.content_part.done", "item_id": id, "output_index": i,
                           "content_index": 0, "part": text_part(text)}),
                ]
            }
            Item::Call { id, name, args, open, .. } => {
                *open = false;
                vec![json!({"type": "response.function_call_arguments.done", "item_id": id, "output_index": i,
                            "name": name, "arguments": args})]
            }
        };
        let item = self.items[i].value();
        for v in events {
            self.event(v, out);
        }
        self.event(json!({"type": "response.output_item.done", "output_index": i, "item": item}), out);
    }

    fn close_all(&mut self, out: &mut Vec<SseEvent>) {
        self.text_item = None;
        for i in 0..self.items.len() {
            self.close(i, out);
        }
    }

    fn fail(&mut self, e: &Value, out: &mut Vec<SseEvent>) {
        self.close_all(out);
        self.done = true;
        let code = e.get("code").filter(|c| c.is_string()).cloned().unwrap_or(json!("server_error"));
        let message = e.get("message").cloned().unwrap_or(json!("upstream error"));
        self.event(json!({"type": "error", "code": code, "message": message, "param": null}), out);
        let mut r = self.response("failed");
        r["error"] = json!({"code": code, "message": message});
        self.event(json!({"type": "response.failed", "response": r}), out);
    }

    /// The end of the stream: open items closed, then `response.completed` (or
    /// `response.incomplete`), once; later calls and events give nothing.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        self.start(&mut out);
        self.close_all(&mut out);
        self.done = true;
        let (status, incomplete) = status(self.finish_reason.as_deref());
        let mut r = self.response(status);
        r["incomplete_details"] = incomplete;
        let ty = if status == "completed" { "response.completed" } else { "response.incomplete" };
        self.event(json!({"type": ty, "response": r}), &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(body: Value) -> Value {
        to_chat_request(&body, "up-model", MaxTokensField::MaxTokens).unwrap()
    }

    fn refused(body: Value) -> String {
        match to_chat_request(&body, "m", MaxTokensField::MaxTokens) {
            Err(Unsupported(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_request_becomes_chat_completions() {
        let c = chat(json!({
            "model": "p/m", "instructions": "Be brief.", "stream": true, "temperature": 0.2, "top_p": 0.9,
            "max_output_tokens": 50, "parallel_tool_calls": false, "user": "veil-abc", "store": true,
            "metadata": {"k": "v"}, "include": ["reasoning.encrypted_content"], "brand_new": 1,
            "input": [
                {"role": "developer", "content": "Use tools."},
                {"type": "message", "role": "user", "content": [
                    {"type": "input_text", "text": "Who is [PERSON_1]?"},
                    {"type": "input_image", "image_url": "https://x.example/a.png", "detail": "low"},
                    {"type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}]},
                {"type": "reasoning", "id": "rs_1", "summary": []},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Looking."}]},
                {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": "{\"q\":\"x\"}",
                 "extra_content": {"google": {"thought_signature": "c2ln"}}},
                {"type": "function_call", "call_id": "call_2", "name": "lookup", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "call_1", "output": "found"},
                {"type": "function_call_output", "call_id": "call_2",
                 "output": [{"type": "input_text", "text": "none"}]}
            ],
            "tools": [{"type": "function", "name": "lookup", "description": "Find", "strict": true,
                       "parameters": {"type": "object"}}],
            "tool_choice": {"type": "function", "name": "lookup"},
            "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "strict": true},
                     "verbosity": "low"}
        }));
        assert_eq!(
            c,
            json!({
                "model": "up-model",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "developer", "content": "Use tools."},
                    {"role": "user", "content": [
                        {"type": "text", "text": "Who is [PERSON_1]?"},
                        {"type": "image_url", "image_url": {"url": "https://x.example/a.png", "detail": "low"}},
                        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}}]},
                    {"role": "assistant", "content": [{"type": "text", "text": "Looking."}], "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"x\"}"},
                         "extra_content": {"google": {"thought_signature": "c2ln"}}},
                        {"id": "call_2", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "found"},
                    {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "none"}]}
                ],
                "stream": true, "temperature": 0.2, "top_p": 0.9, "max_tokens": 50, "parallel_tool_calls": false,
                "tools": [{"type": "function", "function": {"name": "lookup", "description": "Find",
                           "parameters": {"type": "object"}, "strict": true}}],
                "tool_choice": {"type": "function", "function": {"name": "lookup"}},
                "response_format": {"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object"},
                                    "strict": true}},
                "verbosity": "low",
                "user": "veil-abc"
            })
        );
        let c = to_chat_request(
            &json!({"model": "m", "input": "hi", "max_output_tokens": 9}),
            "m",
            MaxTokensField::MaxCompletionTokens,
        )
        .unwrap();
        assert_eq!(
            c,
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 9})
        );
        // A call with no assistant message before it opens one.
        let c = chat(json!({"model": "m", "input": [
            {"role": "user", "content": "q"},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}]}));
        assert_eq!(c["messages"][1]["role"], "assistant");
        assert_eq!(c["messages"][1]["content"], Value::Null);
        assert_eq!(c["messages"][1]["tool_calls"][0]["id"], "c1");
    }

    #[test]
    fn settings_without_an_equivalent_are_refused_by_name_never_value() {
        let secret = "jane.doe@example.com";
        let cases = [
            (json!({"previous_response_id": "resp_1"}), "previous_response_id"),
            (json!({"conversation": "conv_1"}), "conversation"),
            (json!({"prompt": {"id": "pmpt_1"}}), "prompt"),
            (json!({"background": true}), "background"),
            (json!({"reasoning": {"effort": "high"}}), "reasoning"),
            (json!({"max_tool_calls": 3}), "max_tool_calls"),
            (json!({"top_logprobs": 2}), "top_logprobs"),
            (json!({"include": ["message.output_text.logprobs"]}), "include"),
            (json!({"truncation": "auto"}), "truncation"),
            (json!({"service_tier": "flex"}), "service_tier"),
            (json!({"tools": [{"type": "web_search", "note": secret}]}), "tools[0]: web_search is a built-in tool"),
            (json!({"tools": [{"type": secret}]}), "tools[0].type"),
            (json!({"tool_choice": {"type": "file_search"}}), "tool_choice"),
            (json!({"input": [{"type": "item_reference", "id": "msg_1"}]}), "input[0]"),
            (json!({"input": [{"type": "web_search_call", "id": "ws_1"}]}), "input[0]: web_search_call items"),
            (json!({"input": [{"type": secret}]}), "input[0].type"),
            (
                json!({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}]}),
                "input[0].content[0].file_id",
            ),
            (json!({"input": [{"role": "user", "content": [{"type": "input_audio"}]}]}), "input[0].content[0].type"),
            (
                json!({"input": [{"type": "function_call_output", "call_id": "c", "output": [
                {"type": "input_image", "image_url": secret}]}]}),
                "input[0].output[0]",
            ),
        ];
        for (mut body, field) in cases {
            body["model"] = json!("m");
            let m = refused(body);
            assert!(m.starts_with(field), "{m}");
            assert!(m.contains("no equivalent") && !m.contains(secret), "{m}");
        }
        // Harmless values of those settings pass.
        check_request(&json!({"model": "m", "reasoning": {"effort": null}, "background": false,
            "service_tier": "auto", "truncation": "disabled", "include": ["reasoning.encrypted_content"],
            "top_logprobs": 0}))
        .unwrap();
        // Malformed input is invalid, by path.
        let e = to_chat_request(
            &json!({"model": "m", "input": [{"type": "function_call", "name": "f"}]}),
            "m",
            MaxTokensField::MaxTokens,
        )
        .unwrap_err();
        assert!(matches!(e, Invalid(ref m) if m == "input[0].call_id: expected a string"), "{e}");
    }

    fn echo_none() -> Map<String, Value> {
        echo(&json!({}))
    }

    #[test]
    fn a_chat_answer_becomes_a_response_object() {
        let answer = json!({"id": "chatcmpl-1", "created": 7, "model": "claude", "choices": [{"index": 0,
            "message": {"role": "assistant", "content": "Let me look.", "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":1}"}}]},
            "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}});
        let echo = echo(&json!({"instructions": "Be brief.", "tools": [{"type": "function", "name": "lookup"}],
                                "input": "not echoed"}));
        let r = to_response(&answer, &echo);
        assert!(r["id"].as_str().unwrap().starts_with("resp_"));
        assert_eq!(r["object"], "response");
        assert_eq!(r["status"], "completed");
        assert_eq!(r["model"], "claude");
        assert_eq!(r["created_at"], 7);
        assert_eq!(r["instructions"], "Be brief.");
        assert_eq!(r["tools"][0]["name"], "lookup");
        assert!(r.get("input").is_none());
        let out = r["output"].as_array().unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0]["type"], "message");
        assert!(out[0]["id"].as_str().unwrap().starts_with("msg_"));
        assert_eq!(
            out[0]["content"][0],
            json!({"type": "output_text", "text": "Let me look.", "annotations": [],
                                                "logprobs": []})
        );
        assert_eq!(out[1]["type"], "function_call");
        assert_eq!(out[1]["call_id"], "toolu_1");
        assert_eq!(out[1]["name"], "lookup");
        assert_eq!(out[1]["arguments"], "{\"q\":1}");
        assert_eq!(r["usage"]["input_tokens"], 3);
        assert_eq!(r["usage"]["output_tokens"], 4);
        assert_eq!(r["usage"]["total_tokens"], 7);

        let cut = json!({"model": "g", "choices": [{"message": {"content": "partial"}, "finish_reason": "length"}]});
        let r = to_response(&cut, &echo_none());
        assert_eq!(r["status"], "incomplete");
        assert_eq!(r["incomplete_details"]["reason"], "max_output_tokens");
        assert_eq!(r["usage"], Value::Null);
        assert_eq!(r["tools"], json!([]));
    }

    fn chunk(delta: Value, finish: Value) -> SseEvent {
        SseEvent::data(
            json!({"id": "c", "model": "claude-x", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
                .to_string(),
        )
    }

    fn run(chunks: Vec<SseEvent>) -> Vec<Value> {
        let mut s = ChatToResponsesStream::new("m", echo_none());
        let mut evs = Vec::new();
        for c in &chunks {
            evs.extend(s.on_event(c));
        }
        evs.extend(s.finish());
        assert!(s.finish().is_empty(), "finish runs once");
        evs.iter()
            .map(|e| {
                let v: Value = serde_json::from_str(&e.data).unwrap();
                assert_eq!(e.event.as_deref(), v["type"].as_str());
                v
            })
            .collect()
    }

    #[test]
    fn chat_chunks_become_the_responses_event_sequence() {
        let evs = run(vec![
            chunk(json!({"role": "assistant", "content": ""}), Value::Null),
            chunk(json!({"content": "Hi "}), Value::Null),
            chunk(json!({"content": "[PERS"}), Value::Null),
            chunk(
                json!({"tool_calls": [{"index": 0, "id": "toolu_9", "type": "function",
                "function": {"name": "lookup", "arguments": ""}}]}),
                Value::Null,
            ),
            chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"q\":"}}]}), Value::Null),
            chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}), Value::Null),
            chunk(json!({}), json!("tool_calls")),
            SseEvent::data(json!({"choices": [], "usage": {"prompt_tokens": 2, "completion_tokens": 5}}).to_string()),
            SseEvent::data("[DONE]"),
        ]);
        let types: Vec<&str> = evs.iter().map(|v| v["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        let seqs: Vec<u64> = evs.iter().map(|v| v["sequence_number"].as_u64().unwrap()).collect();
        assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
        assert_eq!(evs[0]["response"]["status"], "in_progress");
        assert_eq!(evs[0]["response"]["output"], json!([]));
        assert_eq!(evs[2]["item"]["type"], "message");
        assert_eq!(evs[4]["item_id"], evs[2]["item"]["id"]);
        assert_eq!(evs[6]["text"], "Hi [PERS");
        assert_eq!(evs[8]["item"]["content"][0]["text"], "Hi [PERS");
        assert_eq!(evs[9]["output_index"], 1);
        assert_eq!(evs[9]["item"]["call_id"], "toolu_9");
        assert_eq!(evs[12]["arguments"], "{\"q\":1}");
        assert_eq!(evs[13]["item"]["arguments"], "{\"q\":1}");
        let done = &evs[14]["response"];
        assert_eq!(done["status"], "completed");
        assert_eq!(done["model"], "claude-x");
        assert_eq!(done["output"][0]["content"][0]["text"], "Hi [PERS");
        assert_eq!(done["output"][1]["name"], "lookup");
        assert_eq!(done["usage"]["input_tokens"], 2);
        assert_eq!(done["usage"]["output_tokens"], 5);
        assert_eq!(done["usage"]["total_tokens"], 7);
    }

    #[test]
    fn errors_and_cut_streams_end_the_response() {
        let evs = run(vec![
            chunk(json!({"content": "Hi"}), Value::Null),
            SseEvent::data(json!({"error": {"message": "blocked", "code": "content_blocked"}}).to_string()),
            chunk(json!({"content": "ignored"}), Value::Null),
        ]);
        let types: Vec<&str> = evs.iter().map(|v| v["type"].as_str().unwrap()).collect();
        assert_eq!(&types[types.len() - 2..], ["error", "response.failed"]);
        assert!(types.contains(&"response.output_text.done"), "{types:?}");
        let err = &evs[evs.len() - 2];
        assert_eq!(err["code"], "content_blocked");
        assert_eq!(evs.last().unwrap()["response"]["status"], "failed");
        assert!(!evs.iter().any(|v| v["delta"] == "ignored"));

        let evs = run(vec![chunk(json!({"content": "cut"}), json!("length"))]);
        let last = evs.last().unwrap();
        assert_eq!(last["type"], "response.incomplete");
        assert_eq!(last["response"]["incomplete_details"]["reason"], "max_output_tokens");
        // Nothing at all from upstream: still a well-formed, empty response.
        let evs = run(Vec::new());
        let types: Vec<&str> = evs.iter().map(|v| v["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["response.created", "response.in_progress", "response.completed"]);
    }
}
