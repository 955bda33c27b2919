//! Translation between the two wire APIs (part of the providers layer), used when a
//! client speaks one API and the model's upstream speaks the other: requests, plain
//! responses and stream events, including tool calls and token usage.
//!
//! Requests are rebuilt field by field (each API rejects the other's fields); fields with
//! no counterpart are dropped, and content that cannot be expressed on the other side is
//! an error naming the field rather than a silent loss. Stream translators are small
//! state machines fed one decoded upstream event at a time.
//!
//! The pipeline reaches all of it through [`request`], [`response`] and [`StreamConvert`],
//! which pick the direction from the client's API and the upstream's wire API (exhaustive
//! matches: a new API cannot fall into another's branch). Chat Completions is the
//! canonical form: Messages converts to and from it here, and the provider kinds with a
//! format of their own (Gemini, Bedrock) and the Responses API (`responses_chat`) convert
//! to and from it in their own modules, so every client API reaches every kind with two
//! converters per format.

use super::anthropic::UsageTokens;
use super::sse::SseEvent;
use super::{openai, ApiKind, MaxTokensField};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The file name given to a PDF document without a string `title` (OpenAI wants one).
pub const DEFAULT_FILENAME: &str = "document.pdf";

/// Strings a translator writes itself into text fields of the other API; the masking
/// check after translation accepts them.
pub const SYNTHESIZED_TEXTS: &[&str] = &[DEFAULT_FILENAME];

/// Why a request could not be translated. The message names the field.
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    /// Valid for the source API, but the target API has no way to express it.
    #[error("{0}")]
    Unsupported(String),
    /// Malformed for the source API.
    #[error("{0}")]
    Invalid(String),
}

use TranslateError::{Invalid, Unsupported};

/// `max_tokens` for Anthropic when the OpenAI request sets none (Anthropic requires it).
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

// ---------------------------------------------------------------------------------------
// Settings: what crosses over, what is dropped, what is refused
// ---------------------------------------------------------------------------------------

/// OpenAI request fields the OpenAI -> Anthropic translation reads.
const OPENAI_MAPPED: &[&str] = &[
    "model",
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "stop",
    "stream",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "user",
    "n",
];

/// OpenAI request fields with no Messages counterpart: dropped (a debug log names them).
/// `logprobs: false`, `response_format: {"type": "text"}`, `n: 1` and text-only
/// `modalities` are dropped too; the values that would change the answer's shape are
/// refused ([`openai_refusals`]).
pub const OPENAI_DROPPED: &[&str] = &[
    "frequency_penalty",
    "presence_penalty",
    "seed",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "response_format",
    "modalities",
    "audio",
    "service_tier",
    "store",
    "metadata",
    "prediction",
    "reasoning_effort",
    "verbosity",
    "web_search_options",
    "safety_identifier",
    "prompt_cache_key",
    "stream_options",
    "functions",
    "function_call",
];

/// Anthropic request fields the Anthropic -> OpenAI translation reads (`metadata` for its
/// `user_id` only).
const ANTHROPIC_MAPPED: &[&str] = &[
    "model",
    "messages",
    "system",
    "max_tokens",
    "temperature",
    "top_p",
    "stop_sequences",
    "stream",
    "tools",
    "tool_choice",
    "metadata",
];

/// Anthropic request fields with no Chat Completions counterpart: dropped (a debug log
/// names them).
pub const ANTHROPIC_DROPPED: &[&str] = &["top_k", "thinking", "service_tier", "container", "mcp_servers"];

/// OpenAI settings whose answer the Messages API cannot give: refused, naming the field,
/// rather than answered in another shape than the client expects.
fn openai_refusals(obj: &Map<String, Value>) -> Result<(), TranslateError> {
    let no = |what: &str| Err(Unsupported(format!("{what} has no equivalent in the Anthropic Messages API")));
    match obj.get("response_format").and_then(|f| f.get("type")).and_then(Value::as_str) {
        None | Some("text") => {}
        Some(_) => return no("response_format (JSON output; ask for JSON in the prompt, or use a tool)"),
    }
    if obj.get("logprobs").and_then(Value::as_bool) == Some(true)
        || obj.get("top_logprobs").and_then(Value::as_u64).is_some_and(|n| n > 0)
    {
        return no("logprobs");
    }
    let audio_out = obj.get("audio").is_some_and(|a| !a.is_null())
        || obj.get("modalities").and_then(Value::as_array).is_some_and(|m| m.iter().any(|x| x != "text"));
    if audio_out {
        return no("audio output (modalities, audio)");
    }
    Ok(())
}

/// Logs, at debug level, the settings of `obj` a translation leaves out: the names from
/// `dropped` (fixed strings, never a client's key) and a count of fields it knows nothing of.
fn log_dropped(obj: &Map<String, Value>, mapped: &[&str], dropped: &'static [&'static str], to: &'static str) {
    let mut named: Vec<&'static str> = Vec::new();
    let mut unknown = 0usize;
    for key in obj.keys() {
        if mapped.contains(&key.as_str()) {
            continue;
        }
        match dropped.iter().find(|d| **d == key.as_str()) {
            Some(d) => named.push(d),
            None => unknown += 1,
        }
    }
    if !named.is_empty() || unknown > 0 {
        tracing::debug!(to, dropped = ?named, unknown_fields = unknown, "request settings without an equivalent were dropped");
    }
}

// ---------------------------------------------------------------------------------------
// Requests: OpenAI -> Anthropic
// ---------------------------------------------------------------------------------------

/// OpenAI chat request -> Anthropic messages request. `model` is the upstream model name
/// to put in the body.
///
/// System and developer messages become the top-level `system` string (joined by a blank
/// line); tool and function results become `tool_result` blocks in a user turn;
/// consecutive turns of the same role are merged (Anthropic wants alternating turns), with
/// tool results first in their turn. `temperature` is clamped to Anthropic's 0..=1.
pub fn openai_to_anthropic_request(body: &Value, model: &str) -> Result<Value, TranslateError> {
    let obj = body.as_object().ok_or_else(|| Invalid("body: expected a JSON object".into()))?;
    if let Some(n) = obj.get("n").and_then(Value::as_u64) {
        if n > 1 {
            return Err(Unsupported("n > 1 is not supported by anthropic providers".into()));
        }
    }
    openai_refusals(obj)?;
    log_dropped(obj, OPENAI_MAPPED, OPENAI_DROPPED, "anthropic");
    let messages =
        obj.get("messages").and_then(Value::as_array).ok_or_else(|| Invalid("messages: expected an array".into()))?;

    let mut system: Vec<String> = Vec::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let mut last_function_call_id: Option<String> = None;
    for (i, msg) in messages.iter().enumerate() {
        let path = format!("messages[{i}]");
        let role = msg
            .get("role")
            .and_then(Value::as_str)
            .ok_or_else(|| Invalid(format!("{path}.role: expected a string")))?;
        match role {
            "system" | "developer" => {
                let text = openai_text(msg.get("content"), &format!("{path}.content"), "\n")?;
                if !text.is_empty() {
                    system.push(text);
                }
            }
            "user" => {
                let blocks = openai_user_blocks(msg.get("content"), &path)?;
                push_turn(&mut turns, "user", blocks);
            }
            "assistant" => {
                let (blocks, fc_id) = openai_assistant_blocks(msg, &path, i)?;
                if fc_id.is_some() {
                    last_function_call_id = fc_id;
                }
                push_turn(&mut turns, "assistant", blocks);
            }
            "tool" => {
                let id = msg
                    .get("tool_call_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Invalid(format!("{path}.tool_call_id: expected a string")))?;
                let content = openai_text(msg.get("content"), &format!("{path}.content"), "\n")?;
                let block = json!({
                    "type": "tool_result",
                    "tool_use_id": anthropic_tool_id(id),
                    "content": content,
                });
                push_turn(&mut turns, "user", vec![block]);
            }
            "function" => {
                let id = last_function_call_id
                    .clone()
                    .ok_or_else(|| Invalid(format!("{path}: function message without a preceding function_call")))?;
                let content = openai_text(msg.get("content"), &format!("{path}.content"), "\n")?;
                let block = json!({"type": "tool_result", "tool_use_id": id, "content": content});
                push_turn(&mut turns, "user", vec![block]);
            }
            other => {
                return Err(Invalid(format!("{path}.role: unknown role {other:?}")));
            }
        }
    }

    let mut out = Map::new();
    out.insert("model".into(), json!(model));
    if !system.is_empty() {
        out.insert("system".into(), json!(system.join("\n\n")));
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(role, mut blocks)| {
            if role == "user" {
                // Anthropic wants tool results before any other block of the turn.
                blocks.sort_by_key(|b| b.get("type").and_then(Value::as_str) != Some("tool_result"));
            }
            json!({"role": role, "content": blocks})
        })
        .collect();
    out.insert("messages".into(), Value::Array(messages));
    let max_tokens = obj
        .get("max_completion_tokens")
        .and_then(Value::as_u64)
        .or_else(|| obj.get("max_tokens").and_then(Value::as_u64))
        .unwrap_or(DEFAULT_MAX_TOKENS);
    out.insert("max_tokens".into(), json!(max_tokens));
    if let Some(t) = obj.get("temperature").and_then(Value::as_f64) {
        out.insert("temperature".into(), json!(t.clamp(0.0, 1.0)));
    }
    if let Some(p) = obj.get("top_p").filter(|v| v.is_number()) {
        out.insert("top_p".into(), p.clone());
    }
    match obj.get("stop") {
        Some(Value::String(s)) => {
            out.insert("stop_sequences".into(), json!([s]));
        }
        Some(Value::Array(a)) if !a.is_empty() => {
            out.insert("stop_sequences".into(), Value::Array(a.clone()));
        }
        _ => {}
    }
    if let Some(s) = obj.get("stream").and_then(Value::as_bool) {
        out.insert("stream".into(), json!(s));
    }
    let tools = openai_tools_to_anthropic(obj.get("tools"))?;
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
        let parallel = obj.get("parallel_tool_calls").and_then(Value::as_bool);
        if let Some(choice) = openai_tool_choice_to_anthropic(obj.get("tool_choice"), parallel)? {
            out.insert("tool_choice".into(), choice);
        }
    }
    if let Some(user) = obj.get("user").and_then(Value::as_str) {
        out.insert("metadata".into(), json!({"user_id": user}));
    }
    Ok(Value::Object(out))
}

/// Appends a turn, merging it into the previous one when the role is the same. Empty
/// turns are dropped (Anthropic rejects empty content).
fn push_turn(turns: &mut Vec<(&'static str, Vec<Value>)>, role: &'static str, blocks: Vec<Value>) {
    if blocks.is_empty() {
        return;
    }
    match turns.last_mut() {
        Some((last, existing)) if *last == role => existing.extend(blocks),
        _ => turns.push((role, blocks)),
    }
}

/// The text of an OpenAI `content`: null or absent is empty, a string is itself, text
/// (and refusal) parts are joined by `sep`; other parts are unsupported here.
fn openai_text(content: Option<&Value>, path: &str, sep: &str) -> Result<String, TranslateError> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut texts = Vec::new();
            for (j, part) in parts.iter().enumerate() {
                let kind = part.get("type").and_then(Value::as_str).unwrap_or_default();
                let field = match kind {
                    "text" => "text",
                    "refusal" => "refusal",
                    other => {
                        return Err(Unsupported(format!("{path}[{j}].type: {other:?} parts are not supported here")))
                    }
                };
                let text = part
                    .get(field)
                    .and_then(Value::as_str)
                    .ok_or_else(|| Invalid(format!("{path}[{j}].{field}: expected a string")))?;
                texts.push(text);
            }
            Ok(texts.join(sep))
        }
        Some(_) => Err(Invalid(format!("{path}: expected a string or an array"))),
    }
}

fn text_block(text: &str) -> Value {
    json!({"type": "text", "text": text})
}

/// User content as Anthropic blocks: text, images (data URL -> base64, http -> url),
/// PDF files given as data URLs -> documents.
fn openai_user_blocks(content: Option<&Value>, msg_path: &str) -> Result<Vec<Value>, TranslateError> {
    let path = format!("{msg_path}.content");
    let parts = match content {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) if s.is_empty() => return Ok(Vec::new()),
        Some(Value::String(s)) => return Ok(vec![text_block(s)]),
        Some(Value::Array(parts)) => parts,
        Some(_) => return Err(Invalid(format!("{path}: expected a string or an array"))),
    };
    let mut blocks = Vec::new();
    for (j, part) in parts.iter().enumerate() {
        let ppath = format!("{path}[{j}]");
        let kind = part.get("type").and_then(Value::as_str).unwrap_or_default();
        match kind {
            "text" => {
                let text = part
                    .get("text")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Invalid(format!("{ppath}.text: expected a string")))?;
                if !text.is_empty() {
                    blocks.push(text_block(text));
                }
            }
            "image_url" => {
                let url = match part.get("image_url") {
                    Some(Value::String(u)) => Some(u.as_str()),
                    Some(v) => v.get("url").and_then(Value::as_str),
                    None => None,
                }
                .ok_or_else(|| Invalid(format!("{ppath}.image_url.url: expected a string")))?;
                let source = if url.starts_with("data:") {
                    let (media_type, data) = parse_data_url(url)
                        .ok_or_else(|| Invalid(format!("{ppath}.image_url.url: expected a base64 data URL")))?;
                    json!({"type": "base64", "media_type": media_type, "data": data})
                } else if url.starts_with("https://") || url.starts_with("http://") {
                    json!({"type": "url", "url": url})
                } else {
                    return Err(Invalid(format!("{ppath}.image_url.url: expected a data: or http(s) URL")));
                };
                blocks.push(json!({"type": "image", "source": source}));
            }
            "file" => {
                let file = part.get("file");
                let data_url = file.and_then(|f| f.get("file_data")).and_then(Value::as_str);
                let Some((media_type, data)) = data_url.and_then(parse_data_url) else {
                    return Err(Unsupported(format!(
                        "{ppath}.file: only file_data as a base64 data URL is supported by anthropic providers"
                    )));
                };
                if media_type != "application/pdf" {
                    return Err(Unsupported(format!(
                        "{ppath}.file.file_data: {media_type:?} files are not supported by anthropic providers"
                    )));
                }
                let mut doc = json!({"type": "document",
                    "source": {"type": "base64", "media_type": media_type, "data": data}});
                if let Some(name) = file.and_then(|f| f.get("filename")).and_then(Value::as_str) {
                    doc["title"] = json!(name);
                }
                blocks.push(doc);
            }
            other => {
                return Err(Unsupported(format!(
                    "{ppath}.type: {other:?} parts are not supported by anthropic providers"
                )))
            }
        }
    }
    Ok(blocks)
}

/// `data:<media type>;base64,<data>` -> (media type, data).
fn parse_data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let media_type = meta.strip_suffix(";base64")?;
    Some((media_type, data))
}

/// Assistant message as Anthropic blocks: its text, then one `tool_use` per tool call
/// (and for a legacy `function_call`, whose synthesized id is returned).
fn openai_assistant_blocks(msg: &Value, path: &str, i: usize) -> Result<(Vec<Value>, Option<String>), TranslateError> {
    let mut blocks = Vec::new();
    let text = openai_text(msg.get("content"), &format!("{path}.content"), "")?;
    if !text.is_empty() {
        blocks.push(text_block(&text));
    }
    if let Some(calls) = msg.get("tool_calls").filter(|v| !v.is_null()) {
        let calls = calls.as_array().ok_or_else(|| Invalid(format!("{path}.tool_calls: expected an array")))?;
        for (j, call) in calls.iter().enumerate() {
            let cpath = format!("{path}.tool_calls[{j}]");
            let id = call
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| Invalid(format!("{cpath}.id: expected a string")))?;
            let function = call.get("function");
            let name = function
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| Invalid(format!("{cpath}.function.name: expected a string")))?;
            let input =
                parse_arguments(function.and_then(|f| f.get("arguments")), &format!("{cpath}.function.arguments"))?;
            blocks.push(json!({"type": "tool_use", "id": anthropic_tool_id(id), "name": name, "input": input}));
        }
    }
    let mut fc_id = None;
    if let Some(fc) = msg.get("function_call").filter(|v| !v.is_null()) {
        let name = fc
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| Invalid(format!("{path}.function_call.name: expected a string")))?;
        let input = parse_arguments(fc.get("arguments"), &format!("{path}.function_call.arguments"))?;
        let id = format!("call_fc_{i}");
        blocks.push(json!({"type": "tool_use", "id": id, "name": name, "input": input}));
        fc_id = Some(id);
    }
    Ok((blocks, fc_id))
}

/// Tool call arguments (a JSON string) as an object: empty means `{}`, an object given
/// directly is taken as is.
fn parse_arguments(args: Option<&Value>, path: &str) -> Result<Value, TranslateError> {
    match args {
        None | Some(Value::Null) => Ok(json!({})),
        Some(Value::Object(o)) => Ok(Value::Object(o.clone())),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(json!({})),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(_) => Err(Invalid(format!("{path}: expected a JSON object"))),
            Err(e) => Err(Invalid(format!("{path}: not valid JSON ({e})"))),
        },
        Some(_) => Err(Invalid(format!("{path}: expected a string"))),
    }
}

/// Anthropic tool ids must match `^[a-zA-Z0-9_-]+$`; other characters become `_` (the
/// same way for a call and its result, so they still pair up).
fn anthropic_tool_id(id: &str) -> String {
    if id.is_empty() {
        return "call_".to_owned();
    }
    id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

fn openai_tools_to_anthropic(tools: Option<&Value>) -> Result<Vec<Value>, TranslateError> {
    let tools = match tools {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(t)) => t,
        Some(_) => return Err(Invalid("tools: expected an array".into())),
    };
    let mut out = Vec::new();
    for (j, tool) in tools.iter().enumerate() {
        let kind = tool.get("type").and_then(Value::as_str).unwrap_or("function");
        if kind != "function" {
            return Err(Unsupported(format!(
                "tools[{j}].type: {kind:?} tools are not supported by anthropic providers"
            )));
        }
        let function = tool.get("function").ok_or_else(|| Invalid(format!("tools[{j}].function: missing")))?;
        let name = function
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| Invalid(format!("tools[{j}].function.name: expected a string")))?;
        let mut t = Map::new();
        t.insert("name".into(), json!(name));
        if let Some(d) = function.get("description").and_then(Value::as_str) {
            t.insert("description".into(), json!(d));
        }
        let schema =
            function.get("parameters").filter(|p| p.is_object()).cloned().unwrap_or_else(|| json!({"type": "object"}));
        t.insert("input_schema".into(), schema);
        out.push(Value::Object(t));
    }
    Ok(out)
}

fn openai_tool_choice_to_anthropic(
    choice: Option<&Value>,
    parallel: Option<bool>,
) -> Result<Option<Value>, TranslateError> {
    let mut out =
        match choice {
            None | Some(Value::Null) => {
                if parallel == Some(false) {
                    json!({"type": "auto"})
                } else {
                    return Ok(None);
                }
            }
            Some(Value::String(s)) => match s.as_str() {
                "auto" => json!({"type": "auto"}),
                "none" => json!({"type": "none"}),
                "required" => json!({"type": "any"}),
                other => return Err(Invalid(format!("tool_choice: unknown value {other:?}"))),
            },
            Some(obj) if obj.get("type").and_then(Value::as_str) == Some("function") => {
                let name = obj
                    .get("function")
                    .and_then(|f| f.get("name"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| Invalid("tool_choice.function.name: expected a string".into()))?;
                json!({"type": "tool", "name": name})
            }
            Some(_) => return Err(Unsupported(
                "tool_choice: only \"auto\", \"none\", \"required\" or a function are supported by anthropic providers"
                    .into(),
            )),
        };
    if parallel == Some(false) && out["type"] != "none" {
        out["disable_parallel_tool_use"] = json!(true);
    }
    Ok(Some(out))
}

// ---------------------------------------------------------------------------------------
// Requests: Anthropic -> OpenAI
// ---------------------------------------------------------------------------------------

/// Anthropic messages request -> OpenAI chat request. `model` is the upstream model name
/// to put in the body; `max_tokens` names the field that carries the token limit
/// (`max_completion_tokens` for OpenAI's own API and Azure, whose reasoning models refuse
/// `max_tokens`).
///
/// `system` becomes the first message; `tool_result` blocks become `tool` messages placed
/// before the rest of their user turn; thinking blocks are dropped. A stream asks for the
/// usage chunk (`stream_options.include_usage`), so the Anthropic client gets its counts.
pub fn anthropic_to_openai_request(
    body: &Value,
    model: &str,
    max_tokens: MaxTokensField,
) -> Result<Value, TranslateError> {
    let obj = body.as_object().ok_or_else(|| Invalid("body: expected a JSON object".into()))?;
    log_dropped(obj, ANTHROPIC_MAPPED, ANTHROPIC_DROPPED, "openai");
    let messages =
        obj.get("messages").and_then(Value::as_array).ok_or_else(|| Invalid("messages: expected an array".into()))?;
    let mut out_msgs = Vec::new();
    match obj.get("system") {
        None | Some(Value::Null) => {}
        Some(system) => {
            let text = anthropic_text(system, "system", "\n")?;
            if !text.is_empty() {
                out_msgs.push(json!({"role": "system", "content": text}));
            }
        }
    }
    for (i, msg) in messages.iter().enumerate() {
        let path = format!("messages[{i}]");
        let role = msg.get("role").and_then(Value::as_str);
        let content = msg.get("content");
        match (role, content) {
            (Some(role @ ("user" | "assistant")), Some(Value::String(s))) => {
                out_msgs.push(json!({"role": role, "content": s}));
            }
            (Some("user"), Some(Value::Array(blocks))) => {
                anthropic_user_to_openai(blocks, &path, &mut out_msgs)?;
            }
            (Some("assistant"), Some(Value::Array(blocks))) => {
                out_msgs.push(anthropic_assistant_to_openai(blocks, &path)?);
            }
            (Some("user" | "assistant"), _) => {
                return Err(Invalid(format!("{path}.content: expected a string or an array")));
            }
            _ => return Err(Invalid(format!("{path}.role: expected \"user\" or \"assistant\""))),
        }
    }

    let mut out = Map::new();
    out.insert("model".into(), json!(model));
    out.insert("messages".into(), Value::Array(out_msgs));
    if let Some(m) = obj.get("max_tokens").filter(|v| v.is_number()) {
        out.insert(max_tokens.as_str().into(), m.clone());
    }
    for key in ["temperature", "top_p"] {
        if let Some(v) = obj.get(key).filter(|v| v.is_number()) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(Value::Array(stops)) = obj.get("stop_sequences") {
        if !stops.is_empty() {
            out.insert("stop".into(), Value::Array(stops.clone()));
        }
    }
    if obj.get("stream").and_then(Value::as_bool) == Some(true) {
        out.insert("stream".into(), json!(true));
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    let tools = anthropic_tools_to_openai(obj.get("tools"))?;
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = obj.get("tool_choice").filter(|v| !v.is_null()) {
            let kind = choice.get("type").and_then(Value::as_str).unwrap_or_default();
            let mapped = match kind {
                "auto" => json!("auto"),
                "any" => json!("required"),
                "none" => json!("none"),
                "tool" => {
                    let name = choice
                        .get("name")
                        .and_then(Value::as_str)
                        .ok_or_else(|| Invalid("tool_choice.name: expected a string".into()))?;
                    json!({"type": "function", "function": {"name": name}})
                }
                other => return Err(Invalid(format!("tool_choice.type: unknown value {other:?}"))),
            };
            out.insert("tool_choice".into(), mapped);
            if choice.get("disable_parallel_tool_use").and_then(Value::as_bool) == Some(true) {
                out.insert("parallel_tool_calls".into(), json!(false));
            }
        }
    }
    if let Some(user) = obj.get("metadata").and_then(|m| m.get("user_id")).and_then(Value::as_str) {
        out.insert("user".into(), json!(user));
    }
    Ok(Value::Object(out))
}

/// The text of an Anthropic `system` or `tool_result.content`: a string, or text blocks
/// joined by `sep`; other blocks are unsupported here.
fn anthropic_text(content: &Value, path: &str, sep: &str) -> Result<String, TranslateError> {
    match content {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        Value::Array(blocks) => {
            let mut texts = Vec::new();
            for (j, block) in blocks.iter().enumerate() {
                match block.get("type").and_then(Value::as_str).unwrap_or_default() {
                    "text" => texts.push(
                        block
                            .get("text")
                            .and_then(Value::as_str)
                            .ok_or_else(|| Invalid(format!("{path}[{j}].text: expected a string")))?,
                    ),
                    other => {
                        return Err(Unsupported(format!(
                            "{path}[{j}].type: {other:?} blocks are not supported here by openai providers"
                        )))
                    }
                }
            }
            Ok(texts.join(sep))
        }
        _ => Err(Invalid(format!("{path}: expected a string or an array"))),
    }
}

/// A user turn: `tool` messages for its tool results first, then one user message with
/// the rest (a plain string when it is a single text).
fn anthropic_user_to_openai(blocks: &[Value], path: &str, out: &mut Vec<Value>) -> Result<(), TranslateError> {
    let mut parts = Vec::new();
    for (j, block) in blocks.iter().enumerate() {
        let bpath = format!("{path}.content[{j}]");
        let kind = block.get("type").and_then(Value::as_str).unwrap_or_default();
        match kind {
            "text" => {
                let text = block
                    .get("text")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Invalid(format!("{bpath}.text: expected a string")))?;
                parts.push(json!({"type": "text", "text": text}));
            }
            "image" => {
                let source = block.get("source");
                let url = match source.and_then(|s| s.get("type")).and_then(Value::as_str) {
                    Some("base64") => {
                        let media = source
                            .and_then(|s| s.get("media_type"))
                            .and_then(Value::as_str)
                            .ok_or_else(|| Invalid(format!("{bpath}.source.media_type: expected a string")))?;
                        let data = source
                            .and_then(|s| s.get("data"))
                            .and_then(Value::as_str)
                            .ok_or_else(|| Invalid(format!("{bpath}.source.data: expected a string")))?;
                        format!("data:{media};base64,{data}")
                    }
                    Some("url") => source
                        .and_then(|s| s.get("url"))
                        .and_then(Value::as_str)
                        .ok_or_else(|| Invalid(format!("{bpath}.source.url: expected a string")))?
                        .to_owned(),
                    _ => {
                        return Err(Unsupported(format!(
                            "{bpath}.source.type: only base64 and url images are supported by openai providers"
                        )))
                    }
                };
                parts.push(json!({"type": "image_url", "image_url": {"url": url}}));
            }
            "document" => {
                let source = block.get("source").cloned().unwrap_or(Value::Null);
                match source.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        let data = source
                            .get("data")
                            .and_then(Value::as_str)
                            .ok_or_else(|| Invalid(format!("{bpath}.source.data: expected a string")))?;
                        parts.push(json!({"type": "text", "text": data}));
                    }
                    Some("content") => {
                        let text = anthropic_text(
                            source.get("content").unwrap_or(&Value::Null),
                            &format!("{bpath}.source.content"),
                            "\n",
                        )?;
                        parts.push(json!({"type": "text", "text": text}));
                    }
                    Some("base64") if source.get("media_type").and_then(Value::as_str) == Some("application/pdf") => {
                        let data = source
                            .get("data")
                            .and_then(Value::as_str)
                            .ok_or_else(|| Invalid(format!("{bpath}.source.data: expected a string")))?;
                        let filename = block.get("title").and_then(Value::as_str).unwrap_or(DEFAULT_FILENAME);
                        parts.push(json!({"type": "file", "file": {
                            "filename": filename,
                            "file_data": format!("data:application/pdf;base64,{data}"),
                        }}));
                    }
                    _ => {
                        return Err(Unsupported(format!(
                        "{bpath}.source: only text, content and base64 PDF documents are supported by openai providers"
                    )))
                    }
                }
            }
            "tool_result" => {
                let id = block
                    .get("tool_use_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Invalid(format!("{bpath}.tool_use_id: expected a string")))?;
                let content =
                    anthropic_text(block.get("content").unwrap_or(&Value::Null), &format!("{bpath}.content"), "\n")?;
                out.push(json!({"role": "tool", "tool_call_id": id, "content": content}));
            }
            other => {
                return Err(Unsupported(format!(
                    "{bpath}.type: {other:?} blocks are not supported by openai providers"
                )))
            }
        }
    }
    match parts.as_slice() {
        [] => {}
        [single] if single["type"] == "text" => {
            out.push(json!({"role": "user", "content": single["text"].clone()}));
        }
        _ => out.push(json!({"role": "user", "content": parts})),
    }
    Ok(())
}

/// An assistant turn: its texts joined, its `tool_use` blocks as `tool_calls`.
fn anthropic_assistant_to_openai(blocks: &[Value], path: &str) -> Result<Value, TranslateError> {
    let mut text = String::new();
    let mut calls = Vec::new();
    for (j, block) in blocks.iter().enumerate() {
        let bpath = format!("{path}.content[{j}]");
        match block.get("type").and_then(Value::as_str).unwrap_or_default() {
            "text" => text.push_str(
                block
                    .get("text")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Invalid(format!("{bpath}.text: expected a string")))?,
            ),
            "tool_use" => calls.push(tool_use_to_call(block, &bpath)?),
            "thinking" | "redacted_thinking" => {}
            other => {
                return Err(Unsupported(format!(
                    "{bpath}.type: {other:?} blocks are not supported by openai providers"
                )))
            }
        }
    }
    let mut msg = json!({"role": "assistant"});
    msg["content"] = if text.is_empty() && !calls.is_empty() { Value::Null } else { json!(text) };
    if !calls.is_empty() {
        msg["tool_calls"] = Value::Array(calls);
    }
    Ok(msg)
}

/// An Anthropic `tool_use` block as an OpenAI tool call (input serialized as JSON text).
fn tool_use_to_call(block: &Value, path: &str) -> Result<Value, TranslateError> {
    let id = block.get("id").and_then(Value::as_str).ok_or_else(|| Invalid(format!("{path}.id: expected a string")))?;
    let name =
        block.get("name").and_then(Value::as_str).ok_or_else(|| Invalid(format!("{path}.name: expected a string")))?;
    let input = block.get("input").cloned().unwrap_or_else(|| json!({}));
    Ok(json!({"id": id, "type": "function", "function": {"name": name, "arguments": input.to_string()}}))
}

fn anthropic_tools_to_openai(tools: Option<&Value>) -> Result<Vec<Value>, TranslateError> {
    let tools = match tools {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(t)) => t,
        Some(_) => return Err(Invalid("tools: expected an array".into())),
    };
    let mut out = Vec::new();
    for (j, tool) in tools.iter().enumerate() {
        if let Some(kind) = tool.get("type").and_then(Value::as_str) {
            if kind != "custom" {
                return Err(Unsupported(format!(
                    "tools[{j}].type: {kind:?} (a server tool) is not supported by openai providers"
                )));
            }
        }
        let name = tool
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| Invalid(format!("tools[{j}].name: expected a string")))?;
        let mut function = Map::new();
        function.insert("name".into(), json!(name));
        if let Some(d) = tool.get("description").and_then(Value::as_str) {
            function.insert("description".into(), json!(d));
        }
        function.insert(
            "parameters".into(),
            tool.get("input_schema").cloned().unwrap_or_else(|| json!({"type": "object"})),
        );
        out.push(json!({"type": "function", "function": function}));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------

/// Anthropic stop reason -> OpenAI finish reason.
fn finish_reason_for(stop_reason: &str) -> &'static str {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    }
}

/// OpenAI finish reason -> Anthropic stop reason.
fn stop_reason_for(finish_reason: &str) -> &'static str {
    match finish_reason {
        "length" => "max_tokens",
        "tool_calls" | "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn openai_usage(tokens: &UsageTokens) -> Value {
    let prompt = tokens.prompt_tokens();
    let mut usage = json!({
        "prompt_tokens": prompt,
        "completion_tokens": tokens.output,
        "total_tokens": prompt + tokens.output,
    });
    if tokens.cache_read > 0 {
        usage["prompt_tokens_details"] = json!({"cached_tokens": tokens.cache_read});
    }
    usage
}

/// OpenAI `usage` -> Anthropic `usage`: cached prompt tokens are reported apart, as
/// Anthropic's `input_tokens` excludes cache reads.
fn anthropic_usage(usage: Option<&Value>) -> Value {
    let get = |k: &str| usage.and_then(|u| u.get(k)).and_then(Value::as_u64).unwrap_or(0);
    let prompt = get("prompt_tokens");
    let cached = usage
        .and_then(|u| u.get("prompt_tokens_details"))
        .and_then(|d| d.get("cached_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(0)
        .min(prompt);
    let mut out = json!({"input_tokens": prompt - cached, "output_tokens": get("completion_tokens")});
    if cached > 0 {
        out["cache_read_input_tokens"] = json!(cached);
    }
    out
}

/// Anthropic error object -> OpenAI error body (the type string is kept).
fn anthropic_error_to_openai(error: Option<&Value>) -> Value {
    let message = error.and_then(|e| e.get("message")).and_then(Value::as_str).unwrap_or("upstream error");
    let kind = error.and_then(|e| e.get("type")).and_then(Value::as_str).unwrap_or("api_error");
    super::openai::error_body(message, kind, None)
}

/// OpenAI error object -> Anthropic error body (types mapped to Anthropic's set).
fn openai_error_to_anthropic(error: Option<&Value>) -> Value {
    let message = match error {
        Some(Value::String(s)) => s.as_str(),
        Some(e) => e.get("message").and_then(Value::as_str).unwrap_or("upstream error"),
        None => "upstream error",
    };
    let kind = error.and_then(|e| e.get("type")).and_then(Value::as_str).unwrap_or_default();
    let kind = match kind {
        "invalid_request_error"
        | "authentication_error"
        | "permission_error"
        | "not_found_error"
        | "rate_limit_error"
        | "overloaded_error" => kind,
        "insufficient_quota" | "requests" | "tokens" => "rate_limit_error",
        _ => "api_error",
    };
    super::anthropic::error_body(message, kind)
}

/// Anthropic response -> OpenAI `chat.completion`. The model reported is the upstream's
/// own `model`, else `model` (the upstream model name, without `provider/`, as in a
/// same-API answer). An Anthropic error body becomes an OpenAI error body.
pub fn anthropic_to_openai_response(body: &Value, model: &str) -> Value {
    if body.get("type").and_then(Value::as_str) == Some("error") {
        return anthropic_error_to_openai(body.get("error"));
    }
    let mut text = String::new();
    let mut calls = Vec::new();
    if let Some(Value::Array(blocks)) = body.get("content") {
        for (j, block) in blocks.iter().enumerate() {
            match block.get("type").and_then(Value::as_str) {
                Some("text") => text.push_str(block.get("text").and_then(Value::as_str).unwrap_or_default()),
                Some("tool_use") => {
                    if let Ok(call) = tool_use_to_call(block, &format!("content[{j}]")) {
                        calls.push(call);
                    }
                }
                _ => {}
            }
        }
    }
    let mut message = json!({
        "role": "assistant",
        "content": if text.is_empty() { Value::Null } else { json!(text) },
        "refusal": null,
    });
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    let finish_reason = body.get("stop_reason").and_then(Value::as_str).map(finish_reason_for);
    let tokens = body.get("usage").and_then(UsageTokens::from_value).unwrap_or_default();
    json!({
        "id": body.get("id").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(new_chat_id),
        "object": "chat.completion",
        "created": now(),
        "model": body.get("model").and_then(Value::as_str).filter(|m| !m.is_empty()).unwrap_or(model),
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish_reason,
        }],
        "usage": openai_usage(&tokens),
    })
}

/// OpenAI `chat.completion` -> Anthropic message (first choice). The model reported is the
/// upstream's own `model`, else `model`. Unparseable tool arguments become `{"_raw": <the text>}`. An OpenAI
/// error body becomes an Anthropic error body.
pub fn openai_to_anthropic_response(body: &Value, model: &str) -> Value {
    if let Some(error) = body.get("error").filter(|e| !e.is_null()) {
        return openai_error_to_anthropic(Some(error));
    }
    let choice = body.get("choices").and_then(Value::as_array).and_then(|c| c.first());
    let message = choice.and_then(|c| c.get("message"));
    let mut content = Vec::new();
    let text = openai_text(message.and_then(|m| m.get("content")), "content", "").unwrap_or_default();
    let refusal = message.and_then(|m| m.get("refusal")).and_then(Value::as_str).filter(|r| !r.is_empty());
    if !text.is_empty() {
        content.push(text_block(&text));
    } else if let Some(r) = refusal {
        content.push(text_block(r));
    }
    let mut tool_calls: Vec<&Value> = message
        .and_then(|m| m.get("tool_calls"))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let legacy = message.and_then(|m| m.get("function_call")).filter(|f| f.is_object());
    let legacy_call;
    if let Some(fc) = legacy {
        legacy_call = json!({"id": new_call_id(), "function": fc});
        tool_calls.push(&legacy_call);
    }
    for call in tool_calls {
        let function = call.get("function");
        let args = function.and_then(|f| f.get("arguments"));
        let input = parse_arguments(args, "arguments")
            .unwrap_or_else(|_| json!({"_raw": args.and_then(Value::as_str).unwrap_or_default()}));
        content.push(json!({
            "type": "tool_use",
            "id": call.get("id").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(new_call_id),
            "name": function.and_then(|f| f.get("name")).and_then(Value::as_str).unwrap_or_default(),
            "input": input,
        }));
    }
    let mut stop_reason = choice.and_then(|c| c.get("finish_reason")).and_then(Value::as_str).map(stop_reason_for);
    if text.is_empty() && refusal.is_some() {
        stop_reason = Some("refusal");
    }
    json!({
        "id": body.get("id").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(new_message_id),
        "type": "message",
        "role": "assistant",
        "model": body.get("model").and_then(Value::as_str).filter(|m| !m.is_empty()).unwrap_or(model),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": anthropic_usage(body.get("usage")),
    })
}

fn new_chat_id() -> String {
    format!("chatcmpl-{}", uuid::Uuid::new_v4().simple())
}

fn new_message_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

fn new_call_id() -> String {
    format!("call_{}", uuid::Uuid::new_v4().simple())
}

// ---------------------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------------------

/// Overwrites the counts present in an Anthropic `usage` object (stream usage is
/// cumulative: later events repeat and update earlier counts).
fn merge_usage(tokens: &mut UsageTokens, usage: &Value) {
    let get = |k: &str| usage.get(k).and_then(Value::as_u64);
    if let Some(v) = get("input_tokens") {
        tokens.input = v;
    }
    if let Some(v) = get("cache_creation_input_tokens") {
        tokens.cache_creation = v;
    }
    if let Some(v) = get("cache_read_input_tokens") {
        tokens.cache_read = v;
    }
    if let Some(v) = get("output_tokens") {
        tokens.output = v;
    }
}

/// Upstream Anthropic stream -> OpenAI `chat.completion.chunk` events (`data:` only, no
/// event names), ending with `data: [DONE]`.
#[derive(Debug)]
pub struct AnthropicToOpenAiStream {
    model: String,
    include_usage: bool,
    id: String,
    created: i64,
    /// Anthropic block index -> OpenAI tool call index (counted from 0 over tool blocks).
    tool_blocks: HashMap<u64, u64>,
    next_tool: u64,
    usage: UsageTokens,
    done: bool,
}

impl AnthropicToOpenAiStream {
    /// `model`: the model string to report until `message_start` names the upstream's own;
    /// `include_usage`: the client's `stream_options.include_usage` (adds the final usage
    /// chunk).
    pub fn new(model: &str, include_usage: bool) -> Self {
        AnthropicToOpenAiStream {
            model: model.to_owned(),
            include_usage,
            id: new_chat_id(),
            created: now(),
            tool_blocks: HashMap::new(),
            next_tool: 0,
            usage: UsageTokens::default(),
            done: false,
        }
    }

    fn chunk(&self, delta: Value, finish_reason: Option<&str>) -> SseEvent {
        let mut chunk = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}],
        });
        if self.include_usage {
            chunk["usage"] = Value::Null;
        }
        SseEvent::data(chunk.to_string())
    }

    /// Translates one upstream event. Pings, thinking and unknown events give nothing.
    pub fn on_event(&mut self, ev: &SseEvent) -> Vec<SseEvent> {
        if self.done {
            return Vec::new();
        }
        let Ok(data) = serde_json::from_str::<Value>(&ev.data) else {
            return Vec::new();
        };
        let kind = data.get("type").and_then(Value::as_str).or(ev.event.as_deref()).unwrap_or_default();
        match kind {
            "message_start" => {
                let message = data.get("message");
                if let Some(id) = message.and_then(|m| m.get("id")).and_then(Value::as_str) {
                    self.id = id.to_owned();
                }
                if let Some(model) =
                    message.and_then(|m| m.get("model")).and_then(Value::as_str).filter(|m| !m.is_empty())
                {
                    self.model = model.to_owned();
                }
                if let Some(u) = message.and_then(|m| m.get("usage")) {
                    merge_usage(&mut self.usage, u);
                }
                vec![self.chunk(json!({"role": "assistant", "content": ""}), None)]
            }
            "content_block_start" => {
                let index = data.get("index").and_then(Value::as_u64).unwrap_or(0);
                let block = data.get("content_block");
                match block.and_then(|b| b.get("type")).and_then(Value::as_str) {
                    Some("tool_use") => {
                        let k = self.next_tool;
                        self.next_tool += 1;
                        self.tool_blocks.insert(index, k);
                        let id = block.and_then(|b| b.get("id")).cloned().unwrap_or(Value::Null);
                        let name = block.and_then(|b| b.get("name")).cloned().unwrap_or(Value::Null);
                        vec![self.chunk(
                            json!({"tool_calls": [{"index": k, "id": id, "type": "function",
                                "function": {"name": name, "arguments": ""}}]}),
                            None,
                        )]
                    }
                    Some("text") => match block.and_then(|b| b.get("text")).and_then(Value::as_str) {
                        Some(t) if !t.is_empty() => {
                            vec![self.chunk(json!({"content": t}), None)]
                        }
                        _ => Vec::new(),
                    },
                    _ => Vec::new(),
                }
            }
            "content_block_delta" => {
                let index = data.get("index").and_then(Value::as_u64).unwrap_or(0);
                let delta = data.get("delta");
                match delta.and_then(|d| d.get("type")).and_then(Value::as_str) {
                    Some("text_delta") => match delta.and_then(|d| d.get("text")).and_then(Value::as_str) {
                        Some(t) if !t.is_empty() => {
                            vec![self.chunk(json!({"content": t}), None)]
                        }
                        _ => Vec::new(),
                    },
                    Some("input_json_delta") => {
                        let partial =
                            delta.and_then(|d| d.get("partial_json")).and_then(Value::as_str).unwrap_or_default();
                        match self.tool_blocks.get(&index) {
                            Some(&k) if !partial.is_empty() => vec![self.chunk(
                                json!({"tool_calls": [{"index": k, "function": {"arguments": partial}}]}),
                                None,
                            )],
                            _ => Vec::new(),
                        }
                    }
                    _ => Vec::new(),
                }
            }
            "message_delta" => {
                if let Some(u) = data.get("usage") {
                    merge_usage(&mut self.usage, u);
                }
                match data.get("delta").and_then(|d| d.get("stop_reason")).and_then(Value::as_str) {
                    Some(stop) => vec![self.chunk(json!({}), Some(finish_reason_for(stop)))],
                    None => Vec::new(),
                }
            }
            "message_stop" => self.finish(),
            "error" => {
                self.done = true;
                let body = anthropic_error_to_openai(data.get("error"));
                vec![SseEvent::data(body.to_string()), SseEvent::data("[DONE]")]
            }
            _ => Vec::new(),
        }
    }

    /// Ends the client stream (the usage chunk when asked for, then `[DONE]`), once:
    /// later calls, and events after it, give nothing.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        if self.done {
            return Vec::new();
        }
        self.done = true;
        let mut out = Vec::new();
        if self.include_usage {
            let chunk = json!({
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [],
                "usage": openai_usage(&self.usage),
            });
            out.push(SseEvent::data(chunk.to_string()));
        }
        out.push(SseEvent::data("[DONE]"));
        out
    }
}

/// The content block the OpenAI -> Anthropic translator has open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenBlock {
    Text(u64),
    /// Anthropic block index, OpenAI tool call index.
    Tool(u64, u64),
}

/// Key of the legacy `delta.function_call` among tool call indexes.
const LEGACY_FUNCTION_CALL: u64 = u64::MAX;

/// Upstream OpenAI stream -> Anthropic events (event name = `type`): `message_start`,
/// content blocks (one open at a time, indexes from 0), `message_delta` with the stop
/// reason and usage, `message_stop`.
///
/// OpenAI streams tool calls one after another; argument pieces for a tool call whose
/// block was already closed (interleaved calls) cannot be expressed and are dropped.
#[derive(Debug)]
pub struct OpenAiToAnthropicStream {
    model: String,
    started: bool,
    done: bool,
    next_block: u64,
    open: Option<OpenBlock>,
    /// OpenAI tool call index -> Anthropic block index, for every tool call seen.
    tools: HashMap<u64, u64>,
    stop_reason: Option<&'static str>,
    usage: Option<Value>,
}

impl OpenAiToAnthropicStream {
    /// `model`: the model string to report when the first chunk names none of its own.
    pub fn new(model: &str) -> Self {
        OpenAiToAnthropicStream {
            model: model.to_owned(),
            started: false,
            done: false,
            next_block: 0,
            open: None,
            tools: HashMap::new(),
            stop_reason: None,
            usage: None,
        }
    }

    fn event(data: Value) -> SseEvent {
        let kind = data.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
        SseEvent::named(kind, data.to_string())
    }

    fn start(&mut self, id: Option<&str>, out: &mut Vec<SseEvent>) {
        if self.started {
            return;
        }
        self.started = true;
        let id = id.map(str::to_owned).unwrap_or_else(new_message_id);
        out.push(Self::event(json!({
            "type": "message_start",
            "message": {
                "id": id,
                "type": "message",
                "role": "assistant",
                "model": self.model,
                "content": [],
                "stop_reason": null,
                "stop_sequence": null,
                "usage": {"input_tokens": 0, "output_tokens": 0},
            }
        })));
    }

    fn close_block(&mut self, out: &mut Vec<SseEvent>) {
        if let Some(open) = self.open.take() {
            let index = match open {
                OpenBlock::Text(i) | OpenBlock::Tool(i, _) => i,
            };
            out.push(Self::event(json!({"type": "content_block_stop", "index": index})));
        }
    }

    fn text(&mut self, text: &str, out: &mut Vec<SseEvent>) {
        let index = match self.open {
            Some(OpenBlock::Text(i)) => i,
            _ => {
                self.close_block(out);
                let i = self.next_block;
                self.next_block += 1;
                self.open = Some(OpenBlock::Text(i));
                out.push(Self::event(json!({"type": "content_block_start", "index": i,
                    "content_block": {"type": "text", "text": ""}})));
                i
            }
        };
        out.push(Self::event(json!({"type": "content_block_delta", "index": index,
            "delta": {"type": "text_delta", "text": text}})));
    }

    /// One tool call delta (`id` and `name` come with its first piece).
    fn tool(&mut self, key: u64, call: &Value, out: &mut Vec<SseEvent>) {
        let function = call.get("function");
        if !self.tools.contains_key(&key) {
            self.close_block(out);
            let i = self.next_block;
            self.next_block += 1;
            self.tools.insert(key, i);
            self.open = Some(OpenBlock::Tool(i, key));
            let id = call.get("id").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(new_call_id);
            let name = function.and_then(|f| f.get("name")).and_then(Value::as_str).unwrap_or_default();
            out.push(Self::event(json!({"type": "content_block_start", "index": i,
                "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}})));
        }
        let args = function.and_then(|f| f.get("arguments")).and_then(Value::as_str).unwrap_or_default();
        if let (false, Some(OpenBlock::Tool(i, open_key))) = (args.is_empty(), self.open) {
            if open_key == key {
                out.push(Self::event(json!({"type": "content_block_delta", "index": i,
                    "delta": {"type": "input_json_delta", "partial_json": args}})));
            }
        }
    }

    /// Translates one upstream event (a chunk, `[DONE]` or an error chunk).
    pub fn on_event(&mut self, ev: &SseEvent) -> Vec<SseEvent> {
        if self.done {
            return Vec::new();
        }
        if ev.data.trim() == "[DONE]" {
            return self.finish();
        }
        let Ok(chunk) = serde_json::from_str::<Value>(&ev.data) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Some(error) = chunk.get("error").filter(|e| !e.is_null()) {
            self.done = true;
            out.push(Self::event(openai_error_to_anthropic(Some(error))));
            return out;
        }
        if !self.started {
            // Azure's first chunk (prompt filter results) has `"model": ""`.
            if let Some(model) = chunk.get("model").and_then(Value::as_str).filter(|m| !m.is_empty()) {
                self.model = model.to_owned();
            }
        }
        self.start(chunk.get("id").and_then(Value::as_str), &mut out);
        let choice = chunk
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|choices| choices.iter().find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0));
        if let Some(choice) = choice {
            if let Some(delta) = choice.get("delta") {
                for field in ["content", "refusal"] {
                    if let Some(t) = delta.get(field).and_then(Value::as_str).filter(|t| !t.is_empty()) {
                        self.text(t, &mut out);
                    }
                }
                if let Some(Value::Array(calls)) = delta.get("tool_calls") {
                    for (pos, call) in calls.iter().enumerate() {
                        let key = call.get("index").and_then(Value::as_u64).unwrap_or(pos as u64);
                        self.tool(key, call, &mut out);
                    }
                }
                if let Some(fc) = delta.get("function_call").filter(|f| f.is_object()) {
                    let call = json!({"function": fc});
                    self.tool(LEGACY_FUNCTION_CALL, &call, &mut out);
                }
                if delta.get("refusal").and_then(Value::as_str).is_some_and(|r| !r.is_empty()) {
                    self.stop_reason = Some("refusal");
                }
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                if self.stop_reason != Some("refusal") {
                    self.stop_reason = Some(stop_reason_for(reason));
                }
            }
        }
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(usage.clone());
        }
        out
    }

    /// Ends the client message once: closes the open block, sends `message_delta` (stop
    /// reason, usage) and `message_stop`. Later calls, and events after it, give nothing.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        if self.done {
            return Vec::new();
        }
        self.done = true;
        let mut out = Vec::new();
        self.start(None, &mut out);
        self.close_block(&mut out);
        let usage = anthropic_usage(self.usage.as_ref());
        out.push(Self::event(json!({
            "type": "message_delta",
            "delta": {"stop_reason": self.stop_reason.unwrap_or("end_turn"), "stop_sequence": null},
            "usage": usage,
        })));
        out.push(Self::event(json!({"type": "message_stop"})));
        out
    }
}

// ---------------------------------------------------------------------------------------
// Dispatch: which converter a client API and an upstream wire API need
// ---------------------------------------------------------------------------------------

/// The request a `wire` upstream gets from a (masked) `client` body.
#[derive(Debug)]
pub struct Outgoing {
    pub body: Value,
    /// The body was rebuilt in the other API: the translation check must run on it.
    pub translated: bool,
    /// Veil asked a Chat Completions stream for the usage chunk the client did not ask for;
    /// it is kept from the client.
    pub strip_usage: bool,
}

/// Builds the upstream request for `model` (the part after `provider/`): the client's own
/// body with the model replaced (and, for a Chat Completions stream, the usage chunk asked
/// for, so the audit log has it), or its translation.
pub fn request(
    client: ApiKind,
    wire: ApiKind,
    body: &Value,
    model: &str,
    max_tokens: MaxTokensField,
    stream: bool,
) -> Result<Outgoing, TranslateError> {
    let same = |body: &Value| {
        let mut b = body.clone();
        b["model"] = Value::String(model.to_owned());
        b
    };
    Ok(match (client, wire) {
        (ApiKind::OpenAi, ApiKind::OpenAi) => {
            let mut b = same(body);
            let strip_usage = stream && openai::ask_stream_usage(&mut b);
            Outgoing { body: b, translated: false, strip_usage }
        }
        (ApiKind::Anthropic, ApiKind::Anthropic) => {
            Outgoing { body: same(body), translated: false, strip_usage: false }
        }
        (ApiKind::OpenAi, ApiKind::Anthropic) => {
            Outgoing { body: openai_to_anthropic_request(body, model)?, translated: true, strip_usage: false }
        }
        (ApiKind::Anthropic, ApiKind::OpenAi) => Outgoing {
            body: anthropic_to_openai_request(body, model, max_tokens)?,
            translated: true,
            strip_usage: false,
        },
    })
}

/// A plain `wire` answer in the `client`'s API.
pub fn response(wire: ApiKind, client: ApiKind, upstream: Value, model: &str) -> Value {
    match (wire, client) {
        (ApiKind::OpenAi, ApiKind::OpenAi) | (ApiKind::Anthropic, ApiKind::Anthropic) => upstream,
        (ApiKind::Anthropic, ApiKind::OpenAi) => anthropic_to_openai_response(&upstream, model),
        (ApiKind::OpenAi, ApiKind::Anthropic) => openai_to_anthropic_response(&upstream, model),
    }
}

/// A `wire` event stream in the `client`'s API: events pass as they are, or through a
/// translator.
pub enum StreamConvert {
    Same,
    AnthropicToOpenAi(AnthropicToOpenAiStream),
    OpenAiToAnthropic(OpenAiToAnthropicStream),
}

impl StreamConvert {
    /// `include_usage`: a Chat Completions client asked for the usage chunk.
    pub fn new(wire: ApiKind, client: ApiKind, model: &str, include_usage: bool) -> StreamConvert {
        match (wire, client) {
            (ApiKind::OpenAi, ApiKind::OpenAi) | (ApiKind::Anthropic, ApiKind::Anthropic) => StreamConvert::Same,
            (ApiKind::Anthropic, ApiKind::OpenAi) => {
                StreamConvert::AnthropicToOpenAi(AnthropicToOpenAiStream::new(model, include_usage))
            }
            (ApiKind::OpenAi, ApiKind::Anthropic) => {
                StreamConvert::OpenAiToAnthropic(OpenAiToAnthropicStream::new(model))
            }
        }
    }

    pub fn on_event(&mut self, ev: SseEvent, out: &mut Vec<SseEvent>) {
        match self {
            StreamConvert::Same => out.push(ev),
            StreamConvert::AnthropicToOpenAi(t) => out.extend(t.on_event(&ev)),
            StreamConvert::OpenAiToAnthropic(t) => out.extend(t.on_event(&ev)),
        }
    }

    /// Closing events of a translated stream whose upstream ended without its own.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        match self {
            StreamConvert::Same => {}
            StreamConvert::AnthropicToOpenAi(t) => out.extend(t.finish()),
            StreamConvert::OpenAiToAnthropic(t) => out.extend(t.finish()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::sse::{encode, SseDecoder};

    fn openai_request() -> Value {
        json!({
            "model": "claude-via-openai",
            "messages": [
                {"role": "system", "content": "You are a CRM assistant."},
                {"role": "developer", "content": [{"type": "text", "text": "Answer briefly."}]},
                {"role": "user", "content": [
                    {"type": "text", "text": "Who is this? alice@example.com"},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ", "detail": "high"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
                ]},
                {"role": "assistant", "content": "Checking.", "tool_calls": [
                    {"id": "call_a", "type": "function", "function": {"name": "crm_lookup", "arguments": "{\"email\":\"alice@example.com\"}"}},
                    {"id": "call_b", "type": "function", "function": {"name": "weather", "arguments": ""}}
                ]},
                {"role": "tool", "tool_call_id": "call_a", "content": "Alice Smith, Berlin"},
                {"role": "tool", "tool_call_id": "call_b", "content": [{"type": "text", "text": "sunny"}]},
                {"role": "user", "content": "Thanks! And her phone?"}
            ],
            "max_completion_tokens": 300,
            "max_tokens": 100,
            "temperature": 1.4,
            "top_p": 0.9,
            "stop": "\n\nHuman:",
            "stream": true,
            "stream_options": {"include_usage": true},
            "tools": [
                {"type": "function", "function": {"name": "crm_lookup", "description": "Find a contact",
                    "parameters": {"type": "object", "properties": {"email": {"type": "string"}}, "required": ["email"]}}},
                {"type": "function", "function": {"name": "weather"}}
            ],
            "tool_choice": "required",
            "parallel_tool_calls": false,
            "user": "user-42",
            "seed": 7,
            "logprobs": false,
            "response_format": {"type": "text"}
        })
    }

    #[test]
    fn openai_to_anthropic_request_full() {
        let out = openai_to_anthropic_request(&openai_request(), "claude-sonnet-4-5").unwrap();
        let expected = json!({
            "model": "claude-sonnet-4-5",
            "system": "You are a CRM assistant.\n\nAnswer briefly.",
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "Who is this? alice@example.com"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
                ]},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "call_a", "name": "crm_lookup", "input": {"email": "alice@example.com"}},
                    {"type": "tool_use", "id": "call_b", "name": "weather", "input": {}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "call_a", "content": "Alice Smith, Berlin"},
                    {"type": "tool_result", "tool_use_id": "call_b", "content": "sunny"},
                    {"type": "text", "text": "Thanks! And her phone?"}
                ]}
            ],
            "max_tokens": 300,
            "temperature": 1.0,
            "top_p": 0.9,
            "stop_sequences": ["\n\nHuman:"],
            "stream": true,
            "tools": [
                {"name": "crm_lookup", "description": "Find a contact",
                 "input_schema": {"type": "object", "properties": {"email": {"type": "string"}}, "required": ["email"]}},
                {"name": "weather", "input_schema": {"type": "object"}}
            ],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
            "metadata": {"user_id": "user-42"}
        });
        assert_eq!(out, expected);
    }

    #[test]
    fn openai_to_anthropic_request_merges_turns_and_orders_tool_results_first() {
        let body = json!({"model": "m", "messages": [
            {"role": "user", "content": "a"},
            {"role": "user", "content": "b"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call.1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "user", "content": "interjection"},
            {"role": "tool", "tool_call_id": "call.1", "content": "r"},
            {"role": "assistant", "content": ""},
            {"role": "assistant", "content": "done"}
        ]});
        let out = openai_to_anthropic_request(&body, "m").unwrap();
        assert_eq!(
            out["messages"],
            json!([
                {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "call_1", "name": "f", "input": {}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "r"},
                    {"type": "text", "text": "interjection"}
                ]},
                {"role": "assistant", "content": [{"type": "text", "text": "done"}]}
            ])
        );
        assert_eq!(out["max_tokens"], DEFAULT_MAX_TOKENS);
        assert!(out.get("system").is_none());
        assert!(out.get("tool_choice").is_none());
    }

    #[test]
    fn openai_to_anthropic_request_legacy_function_call() {
        let body = json!({"model": "m", "max_tokens": 50, "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": null, "function_call": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"role": "function", "name": "weather", "content": "rain"}
        ]});
        let out = openai_to_anthropic_request(&body, "m").unwrap();
        assert_eq!(
            out["messages"][1]["content"],
            json!([{"type": "tool_use", "id": "call_fc_1", "name": "weather", "input": {"city": "Paris"}}])
        );
        assert_eq!(
            out["messages"][2]["content"],
            json!([{"type": "tool_result", "tool_use_id": "call_fc_1", "content": "rain"}])
        );
        assert_eq!(out["max_tokens"], 50);
    }

    #[test]
    fn openai_to_anthropic_request_errors_name_the_field() {
        let mut body = openai_request();
        body["n"] = json!(2);
        let err = openai_to_anthropic_request(&body, "m").unwrap_err();
        assert!(matches!(err, TranslateError::Unsupported(_)));
        assert_eq!(err.to_string(), "n > 1 is not supported by anthropic providers");

        let mut body = openai_request();
        body["messages"][3]["tool_calls"][1]["function"]["arguments"] = json!("{not json");
        let err = openai_to_anthropic_request(&body, "m").unwrap_err();
        assert!(matches!(err, TranslateError::Invalid(_)));
        assert!(err.to_string().starts_with("messages[3].tool_calls[1].function.arguments: not valid JSON"));

        let body = json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}}]}]});
        let err = openai_to_anthropic_request(&body, "m").unwrap_err();
        assert!(err.to_string().starts_with("messages[0].content[0].type:"), "{err}");

        let body = json!({"model": "m", "messages": [{"role": "wizard", "content": "x"}]});
        assert_eq!(
            openai_to_anthropic_request(&body, "m").unwrap_err().to_string(),
            "messages[0].role: unknown role \"wizard\""
        );
    }

    #[test]
    fn answers_without_a_model_report_the_given_name() {
        let b = json!({"id": "m", "content": [], "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 2}});
        assert_eq!(anthropic_to_openai_response(&b, "fallback")["model"], "fallback");
        let b = json!({"id": "c", "choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}, "finish_reason": "stop"}]});
        assert_eq!(openai_to_anthropic_response(&b, "fallback")["model"], "fallback");
    }

    #[test]
    fn the_token_limit_field_follows_the_provider() {
        let body = json!({"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "x"}]});
        let out = anthropic_to_openai_request(&body, "o3", MaxTokensField::MaxCompletionTokens).unwrap();
        assert_eq!(out["max_completion_tokens"], 64);
        assert!(out.get("max_tokens").is_none());
        let out = anthropic_to_openai_request(&body, "llama", MaxTokensField::MaxTokens).unwrap();
        assert_eq!(out["max_tokens"], 64);
        assert!(out.get("max_completion_tokens").is_none());
    }

    #[test]
    fn settings_without_an_answer_in_anthropic_are_refused_others_dropped() {
        let base = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
        for (field, value) in [
            ("response_format", json!({"type": "json_schema", "json_schema": {"name": "a", "schema": {}}})),
            ("response_format", json!({"type": "json_object"})),
            ("logprobs", json!(true)),
            ("top_logprobs", json!(3)),
            ("modalities", json!(["text", "audio"])),
            ("audio", json!({"voice": "alloy", "format": "mp3"})),
        ] {
            let mut b = base.clone();
            b[field] = value;
            let e = openai_to_anthropic_request(&b, "m").unwrap_err();
            assert!(matches!(e, Unsupported(_)), "{field}");
            assert!(e.to_string().contains("no equivalent in the Anthropic Messages API"), "{field}: {e}");
        }
        let mut b = base.clone();
        for (field, value) in [
            ("frequency_penalty", json!(0.5)),
            ("presence_penalty", json!(0.5)),
            ("seed", json!(1)),
            ("logit_bias", json!({"50256": -100})),
            ("logprobs", json!(false)),
            ("response_format", json!({"type": "text"})),
            ("modalities", json!(["text"])),
            ("reasoning_effort", json!("low")),
            ("n", json!(1)),
            ("a_field_from_the_future", json!("x")),
        ] {
            b[field] = value;
        }
        let out = openai_to_anthropic_request(&b, "m").unwrap();
        let mut keys: Vec<&String> = out.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["max_tokens", "messages", "model"]);
        let a = json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
                       "top_k": 3, "thinking": {"type": "enabled", "budget_tokens": 1024}, "service_tier": "auto"});
        let out = anthropic_to_openai_request(&a, "m", MaxTokensField::MaxTokens).unwrap();
        let mut keys: Vec<&String> = out.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["max_tokens", "messages", "model"]);
        // Every dropped name is one the translation does not also map.
        for d in OPENAI_DROPPED {
            assert!(!OPENAI_MAPPED.contains(d), "{d}");
        }
        for d in ANTHROPIC_DROPPED {
            assert!(!ANTHROPIC_MAPPED.contains(d), "{d}");
        }
    }

    #[test]
    fn openai_tool_choice_variants() {
        let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]});
        for (choice, expected) in [
            (json!("auto"), json!({"type": "auto"})),
            (json!("none"), json!({"type": "none"})),
            (json!("required"), json!({"type": "any"})),
            (json!({"type": "function", "function": {"name": "f"}}), json!({"type": "tool", "name": "f"})),
        ] {
            body["tool_choice"] = choice;
            let out = openai_to_anthropic_request(&body, "m").unwrap();
            assert_eq!(out["tool_choice"], expected);
        }
        body.as_object_mut().unwrap().remove("tool_choice");
        body["parallel_tool_calls"] = json!(false);
        let out = openai_to_anthropic_request(&body, "m").unwrap();
        assert_eq!(out["tool_choice"], json!({"type": "auto", "disable_parallel_tool_use": true}));
    }

    fn anthropic_request() -> Value {
        json!({
            "model": "gpt-via-anthropic",
            "max_tokens": 512,
            "system": [{"type": "text", "text": "You are a CRM assistant."}, {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "Who is alice@example.com?"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo"}}
                ]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "Look it up.", "signature": "sig"},
                    {"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "toolu_01", "name": "crm_lookup", "input": {"email": "alice@example.com"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01", "content": [{"type": "text", "text": "Alice Smith"}]},
                    {"type": "text", "text": "And her city?"}
                ]},
                {"role": "assistant", "content": "Berlin."}
            ],
            "stop_sequences": ["END"],
            "temperature": 0.2,
            "top_p": 0.95,
            "top_k": 40,
            "stream": true,
            "tools": [{"name": "crm_lookup", "description": "Find a contact", "input_schema": {"type": "object", "properties": {"email": {"type": "string"}}}}],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
            "metadata": {"user_id": "user-42"},
            "thinking": {"type": "enabled", "budget_tokens": 1024}
        })
    }

    #[test]
    fn anthropic_to_openai_request_full() {
        let out = anthropic_to_openai_request(&anthropic_request(), "gpt-4o", MaxTokensField::MaxTokens).unwrap();
        let expected = json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "You are a CRM assistant.\nBe brief."},
                {"role": "user", "content": [
                    {"type": "text", "text": "Who is alice@example.com?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo"}}
                ]},
                {"role": "assistant", "content": "Let me check.", "tool_calls": [
                    {"id": "toolu_01", "type": "function", "function": {"name": "crm_lookup", "arguments": "{\"email\":\"alice@example.com\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "toolu_01", "content": "Alice Smith"},
                {"role": "user", "content": "And her city?"},
                {"role": "assistant", "content": "Berlin."}
            ],
            "max_tokens": 512,
            "temperature": 0.2,
            "top_p": 0.95,
            "stop": ["END"],
            "stream": true,
            "stream_options": {"include_usage": true},
            "tools": [{"type": "function", "function": {"name": "crm_lookup", "description": "Find a contact",
                "parameters": {"type": "object", "properties": {"email": {"type": "string"}}}}}],
            "tool_choice": "required",
            "parallel_tool_calls": false,
            "user": "user-42"
        });
        assert_eq!(out, expected);
    }

    #[test]
    fn anthropic_to_openai_request_errors() {
        let mut body = anthropic_request();
        body["tools"] = json!([{"type": "web_search_20250305", "name": "web_search"}]);
        let err = anthropic_to_openai_request(&body, "m", MaxTokensField::MaxTokens).unwrap_err();
        assert!(matches!(err, TranslateError::Unsupported(_)));
        assert!(err.to_string().starts_with("tools[0].type:"));

        let body = json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "image", "source": {"type": "url", "url": "https://x"}}]}]}]});
        let err = anthropic_to_openai_request(&body, "m", MaxTokensField::MaxTokens).unwrap_err();
        assert!(err.to_string().starts_with("messages[0].content[0].content[0].type:"), "{err}");

        let body = json!({"model": "m", "max_tokens": 1, "messages": [{"role": "system", "content": "x"}]});
        assert_eq!(
            anthropic_to_openai_request(&body, "m", MaxTokensField::MaxTokens).unwrap_err().to_string(),
            "messages[0].role: expected \"user\" or \"assistant\""
        );
    }

    /// A message list made comparable: tool call arguments parsed, content parts that are
    /// a single text collapsed to a string, system messages folded into one.
    fn normalize(messages: &Value) -> Vec<Value> {
        let mut out: Vec<Value> = Vec::new();
        let mut system = Vec::new();
        for m in messages.as_array().unwrap() {
            let mut m = m.clone();
            let role = m["role"].as_str().unwrap().to_owned();
            if role == "system" || role == "developer" {
                system.push(openai_text(m.get("content"), "", "\n").unwrap());
                continue;
            }
            if let Value::Array(parts) = &m["content"] {
                if parts.len() == 1 && parts[0]["type"] == "text" {
                    m["content"] = parts[0]["text"].clone();
                }
            }
            if let Some(Value::Array(calls)) = m.get_mut("tool_calls") {
                for c in calls {
                    let args = c["function"]["arguments"].as_str().unwrap_or("");
                    let parsed: Value = if args.is_empty() { json!({}) } else { serde_json::from_str(args).unwrap() };
                    c["function"]["arguments"] = parsed;
                }
            }
            if m.get("content") == Some(&json!("")) && m.get("tool_calls").is_some() {
                m["content"] = Value::Null;
            }
            out.push(m);
        }
        out.insert(0, json!({"role": "system", "content": system.join("\n\n")}));
        out
    }

    #[test]
    fn round_trip_openai_anthropic_openai_keeps_messages() {
        let original = openai_request();
        let anthropic = openai_to_anthropic_request(&original, "claude").unwrap();
        let back = anthropic_to_openai_request(&anthropic, "gpt", MaxTokensField::MaxTokens).unwrap();
        // Anthropic images have no `detail`: the one field expected to be lost.
        let mut expected = original["messages"].clone();
        expected[2]["content"][1]["image_url"].as_object_mut().unwrap().remove("detail");
        assert_eq!(normalize(&back["messages"]), normalize(&expected));
        assert_eq!(back["tools"][0], original["tools"][0]);
        assert_eq!(back["tool_choice"], "required");
        assert_eq!(back["parallel_tool_calls"], false);
        assert_eq!(back["stop"], json!(["\n\nHuman:"]));
        assert_eq!(back["user"], "user-42");
        assert_eq!(back["max_tokens"], 300);
    }

    #[test]
    fn round_trip_anthropic_openai_anthropic_keeps_messages() {
        let mut original = anthropic_request();
        // Thinking blocks cannot cross to OpenAI; compare without them.
        original["messages"][1]["content"].as_array_mut().unwrap().remove(0);
        let openai = anthropic_to_openai_request(&original, "gpt", MaxTokensField::MaxTokens).unwrap();
        let back = openai_to_anthropic_request(&openai, "claude").unwrap();
        assert_eq!(back["system"], "You are a CRM assistant.\nBe brief.");
        let msgs = back["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 4);
        assert_eq!(msgs[1]["content"], original["messages"][1]["content"]);
        assert_eq!(
            msgs[2]["content"],
            json!([{"type": "tool_result", "tool_use_id": "toolu_01", "content": "Alice Smith"},
                   {"type": "text", "text": "And her city?"}])
        );
        assert_eq!(back["tool_choice"], json!({"type": "any", "disable_parallel_tool_use": true}));
    }

    #[test]
    fn anthropic_to_openai_response_with_tools_and_usage() {
        let body = json!({
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [
                {"type": "thinking", "thinking": "...", "signature": "s"},
                {"type": "text", "text": "I'll look that up."},
                {"type": "tool_use", "id": "toolu_01A", "name": "crm_lookup", "input": {"email": "alice@example.com"}}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 100, "cache_creation_input_tokens": 20, "cache_read_input_tokens": 30, "output_tokens": 40}
        });
        let out = anthropic_to_openai_response(&body, "my-model");
        assert_eq!(out["id"], "msg_01XFDUDYJgAACzvnptvVoYEL");
        assert_eq!(out["object"], "chat.completion");
        assert!(out["created"].as_i64().unwrap() > 1_600_000_000);
        assert_eq!(out["model"], "claude-sonnet-4-5", "the upstream's own model name");
        assert_eq!(
            out["choices"],
            json!([{"index": 0, "message": {"role": "assistant", "content": "I'll look that up.", "refusal": null,
                "tool_calls": [{"id": "toolu_01A", "type": "function", "function": {"name": "crm_lookup", "arguments": "{\"email\":\"alice@example.com\"}"}}]},
                "logprobs": null, "finish_reason": "tool_calls"}])
        );
        assert_eq!(
            out["usage"],
            json!({"prompt_tokens": 150, "completion_tokens": 40, "total_tokens": 190, "prompt_tokens_details": {"cached_tokens": 30}})
        );
        for (stop, finish) in
            [("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("refusal", "content_filter")]
        {
            let b = json!({"id": "m", "content": [], "stop_reason": stop, "usage": {"input_tokens": 1, "output_tokens": 2}});
            let out = anthropic_to_openai_response(&b, "x");
            assert_eq!(out["choices"][0]["finish_reason"], finish);
            assert_eq!(out["choices"][0]["message"]["content"], Value::Null);
        }
    }

    #[test]
    fn openai_to_anthropic_response_with_tools_and_usage() {
        let body = json!({
            "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion", "created": 1741570283,
            "model": "gpt-4o-2024-08-06",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Checking.", "refusal": null,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "crm_lookup", "arguments": "{\"email\":\"alice@example.com\"}"}},
                    {"id": "call_2", "type": "function", "function": {"name": "broken", "arguments": "{oops"}}
                ], "annotations": []}, "logprobs": null, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163,
                "prompt_tokens_details": {"cached_tokens": 1000, "audio_tokens": 0}}
        });
        let out = openai_to_anthropic_response(&body, "my-model");
        assert_eq!(
            out,
            json!({
                "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "type": "message", "role": "assistant", "model": "gpt-4o-2024-08-06",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "call_1", "name": "crm_lookup", "input": {"email": "alice@example.com"}},
                    {"type": "tool_use", "id": "call_2", "name": "broken", "input": {"_raw": "{oops"}}
                ],
                "stop_reason": "tool_use", "stop_sequence": null,
                "usage": {"input_tokens": 117, "output_tokens": 46, "cache_read_input_tokens": 1000}
            })
        );
        for (finish, stop) in [
            ("stop", "end_turn"),
            ("length", "max_tokens"),
            ("content_filter", "refusal"),
            ("function_call", "tool_use"),
        ] {
            let b = json!({"id": "c", "choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}, "finish_reason": finish}]});
            assert_eq!(openai_to_anthropic_response(&b, "m")["stop_reason"], stop);
        }
        let refusal = json!({"id": "c", "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "refusal": "I can't help."}, "finish_reason": "stop"}]});
        let out = openai_to_anthropic_response(&refusal, "m");
        assert_eq!(out["content"], json!([{"type": "text", "text": "I can't help."}]));
        assert_eq!(out["stop_reason"], "refusal");
    }

    #[test]
    fn error_bodies_cross_over() {
        let a = json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
        assert_eq!(
            anthropic_to_openai_response(&a, "m"),
            json!({"error": {"message": "Overloaded", "type": "overloaded_error", "param": null, "code": null}})
        );
        let o = json!({"error": {"message": "Rate limit reached", "type": "requests", "param": null, "code": "rate_limit_exceeded"}});
        assert_eq!(
            openai_to_anthropic_response(&o, "m"),
            json!({"type": "error", "error": {"type": "rate_limit_error", "message": "Rate limit reached"}})
        );
    }

    /// Decodes a recorded wire stream into events (through the real decoder).
    fn decode(wire: &str) -> Vec<SseEvent> {
        let mut d = SseDecoder::new();
        let mut evs = d.push(wire.as_bytes());
        evs.extend(d.finish());
        evs
    }

    fn datas(events: &[SseEvent]) -> Vec<Value> {
        events.iter().map(|e| serde_json::from_str(&e.data).unwrap_or_else(|_| json!(e.data))).collect()
    }

    const ANTHROPIC_STREAM: &str = r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-5","stop_sequence":null,"usage":{"input_tokens":472,"cache_read_input_tokens":28,"output_tokens":2},"content":[],"stop_reason":null}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"User wants weather."}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQB"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Okay, let's check"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":" the weather."}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: content_block_start
data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":" \"San Francisco, CA\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":2}

event: content_block_start
data: {"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_02","name":"get_time","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":3}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}

"#;

    #[test]
    fn anthropic_stream_to_openai_chunks() {
        let mut t = AnthropicToOpenAiStream::new("my-model", true);
        let mut out = Vec::new();
        for ev in decode(ANTHROPIC_STREAM) {
            out.extend(t.on_event(&ev));
        }
        out.extend(t.finish());
        assert!(out.iter().all(|e| e.event.is_none()));
        let d = datas(&out);
        let deltas: Vec<Value> = d
            .iter()
            .filter_map(|c| c.get("choices").and_then(|ch| ch.get(0)).cloned())
            .map(|c| json!([c["delta"], c["finish_reason"]]))
            .collect();
        assert_eq!(
            deltas,
            vec![
                json!([{"role": "assistant", "content": ""}, null]),
                json!([{"content": "Okay, let's check"}, null]),
                json!([{"content": " the weather."}, null]),
                json!([{"tool_calls": [{"index": 0, "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}, null]),
                json!([{"tool_calls": [{"index": 0, "function": {"arguments": "{\"location\":"}}]}, null]),
                json!([{"tool_calls": [{"index": 0, "function": {"arguments": " \"San Francisco, CA\"}"}}]}, null]),
                json!([{"tool_calls": [{"index": 1, "id": "toolu_02", "type": "function", "function": {"name": "get_time", "arguments": ""}}]}, null]),
                json!([{"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]}, null]),
                json!([{}, "tool_calls"]),
            ]
        );
        for c in &d[..d.len() - 2] {
            assert_eq!(c["id"], "msg_014p7gG3wDgGV9EUtLvnow3U");
            assert_eq!(c["object"], "chat.completion.chunk");
            assert_eq!(c["model"], "claude-sonnet-4-5", "named by message_start");
            assert_eq!(c["usage"], Value::Null);
        }
        let usage_chunk = &d[d.len() - 2];
        assert_eq!(usage_chunk["choices"], json!([]));
        assert_eq!(
            usage_chunk["usage"],
            json!({"prompt_tokens": 500, "completion_tokens": 89, "total_tokens": 589, "prompt_tokens_details": {"cached_tokens": 28}})
        );
        assert_eq!(out.last().unwrap().data, "[DONE]");
        assert_eq!(out.iter().filter(|e| e.data == "[DONE]").count(), 1);
        // finish() after message_stop adds nothing.
        assert!(t.finish().is_empty());
    }

    #[test]
    fn anthropic_stream_without_usage_and_truncated() {
        let mut t = AnthropicToOpenAiStream::new("m", false);
        let evs = decode(ANTHROPIC_STREAM);
        let mut out = Vec::new();
        for ev in &evs[..8] {
            out.extend(t.on_event(ev));
        }
        out.extend(t.finish());
        out.extend(t.finish());
        let d = datas(&out);
        assert_eq!(d.len(), 3);
        assert!(d[0].get("usage").is_none());
        assert_eq!(d[1]["choices"][0]["delta"]["content"], "Okay, let's check");
        assert_eq!(out[2].data, "[DONE]");
    }

    #[test]
    fn anthropic_stream_error_event() {
        let mut t = AnthropicToOpenAiStream::new("m", true);
        let wire = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n\
            event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        let mut out = Vec::new();
        for ev in decode(wire) {
            out.extend(t.on_event(&ev));
        }
        out.extend(t.finish());
        assert_eq!(out.len(), 3);
        assert_eq!(
            serde_json::from_str::<Value>(&out[1].data).unwrap(),
            json!({"error": {"message": "Overloaded", "type": "overloaded_error", "param": null, "code": null}})
        );
        assert_eq!(out[2].data, "[DONE]");
    }

    const OPENAI_STREAM: &str = r#"data: {"id":"chatcmpl-AB1","object":"chat.completion.chunk","created":1727000000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-AB1","object":"chat.completion.chunk","created":1727000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"Let me"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-AB1","object":"chat.completion.chunk","created":1727000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":" check."},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-AB1","object":"chat.completion.chunk","created":1727000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-AB1","object":"chat.completion.chunk","created":1727000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":"}}]},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-AB1","object":"chat.completion.chunk","created":1727000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":" \"Paris\"}"}}]},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-AB1","object":"chat.completion.chunk","created":1727000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-AB1","object":"chat.completion.chunk","created":1727000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}

data: {"id":"chatcmpl-AB1","object":"chat.completion.chunk","created":1727000000,"model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":82,"completion_tokens":31,"total_tokens":113,"prompt_tokens_details":{"cached_tokens":0}}}

data: [DONE]

"#;

    #[test]
    fn openai_stream_to_anthropic_events() {
        let mut t = OpenAiToAnthropicStream::new("my-model");
        let mut out = Vec::new();
        for ev in decode(OPENAI_STREAM) {
            out.extend(t.on_event(&ev));
        }
        out.extend(t.finish());
        let names: Vec<&str> = out.iter().map(|e| e.event.as_deref().unwrap()).collect();
        assert_eq!(
            names,
            vec![
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop",
            ]
        );
        let d = datas(&out);
        for (ev, data) in out.iter().zip(&d) {
            assert_eq!(ev.event.as_deref(), data["type"].as_str());
        }
        assert_eq!(
            d[0]["message"],
            json!({"id": "chatcmpl-AB1", "type": "message", "role": "assistant", "model": "gpt-4o-2024-08-06",
                "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 0, "output_tokens": 0}})
        );
        assert_eq!(
            d[1],
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
        );
        assert_eq!(d[2]["delta"], json!({"type": "text_delta", "text": "Let me"}));
        assert_eq!(d[3]["delta"], json!({"type": "text_delta", "text": " check."}));
        assert_eq!(d[4], json!({"type": "content_block_stop", "index": 0}));
        assert_eq!(
            d[5],
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA", "name": "get_weather", "input": {}}})
        );
        assert_eq!(
            d[6],
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"location\":"}})
        );
        assert_eq!(d[7]["delta"]["partial_json"], " \"Paris\"}");
        assert_eq!(d[8], json!({"type": "content_block_stop", "index": 1}));
        assert_eq!(d[9]["content_block"]["id"], "call_2");
        assert_eq!(d[9]["index"], 2);
        assert_eq!(d[10]["delta"]["partial_json"], "{}");
        assert_eq!(d[11], json!({"type": "content_block_stop", "index": 2}));
        assert_eq!(
            d[12],
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
                "usage": {"input_tokens": 82, "output_tokens": 31}})
        );
        assert_eq!(d[13], json!({"type": "message_stop"}));
        // [DONE] already finished: nothing more, exactly once.
        assert!(t.finish().is_empty());
    }

    #[test]
    fn openai_stream_truncated_and_error() {
        let mut t = OpenAiToAnthropicStream::new("m");
        let evs = decode(OPENAI_STREAM);
        let mut out = Vec::new();
        for ev in &evs[..2] {
            out.extend(t.on_event(ev));
        }
        out.extend(t.finish());
        out.extend(t.finish());
        let names: Vec<&str> = out.iter().map(|e| e.event.as_deref().unwrap()).collect();
        assert_eq!(
            names,
            vec![
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );

        let mut t = OpenAiToAnthropicStream::new("m");
        let empty = t.finish();
        assert_eq!(empty.len(), 3);
        assert_eq!(empty[0].event.as_deref(), Some("message_start"));

        let mut t = OpenAiToAnthropicStream::new("m");
        let err = SseEvent::data(
            r#"{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}"#,
        );
        let out = t.on_event(&err);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].event.as_deref(), Some("error"));
        assert_eq!(
            serde_json::from_str::<Value>(&out[0].data).unwrap(),
            json!({"type": "error", "error": {"type": "api_error", "message": "The server had an error"}})
        );
        assert!(t.finish().is_empty());
    }

    #[test]
    fn translated_streams_survive_the_wire() {
        // Encode what the translator gives and decode it again: same events.
        let mut t = OpenAiToAnthropicStream::new("m");
        let mut out = Vec::new();
        for ev in decode(OPENAI_STREAM) {
            out.extend(t.on_event(&ev));
        }
        let wire: Vec<u8> = out.iter().flat_map(|e| encode(e).to_vec()).collect();
        let mut d = SseDecoder::new();
        assert_eq!(d.push(&wire), out);
    }
}
