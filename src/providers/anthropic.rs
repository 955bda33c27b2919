//! Anthropic Messages wire (part of the providers layer): where text lives in requests
//! and responses (for masking and restore), the minimum request shape Veil checks,
//! stream and usage fields, and the error body Anthropic clients expect.
//! Everything works on `serde_json::Value` in place, so fields Veil does not know about
//! pass through untouched.

use super::fields::{self, Path, ShapeError};
use super::restore::{Restore, StreamKey};
use super::sse::SseEvent;
use super::TextRef;
use serde_json::{json, Value};
use std::borrow::Cow;

/// Path of the endpoint, appended to a base URL such as `https://api.anthropic.com`.
pub const PATH: &str = "/v1/messages";

/// Default `anthropic-version` header.
pub const VERSION: &str = "2023-06-01";

/// The upstream URL: `{base_url}/v1/messages`; Anthropic has no embeddings endpoint.
pub fn url(base_url: &str, endpoint: super::Endpoint) -> Option<String> {
    match endpoint {
        super::Endpoint::Chat => Some(format!("{base_url}{PATH}")),
        super::Endpoint::Embeddings => None,
    }
}

/// Anthropic keys go in `x-api-key` (the pipeline adds `anthropic-version`).
pub fn authorize(req: reqwest::RequestBuilder, key: &str) -> reqwest::RequestBuilder {
    req.header("x-api-key", key)
}

/// Every string the provider would see in a request, deny by default ([`fields`]): what
/// is not structural below is text and goes to the masker.
///
/// Structural (left alone when the value passes the check in brackets):
/// - `model`; `messages[].role` (`user` or `assistant`, else refused);
/// - ids: `tool_use.id`, `tool_result.tool_use_id`, `file_id`, `container`
///   ([`fields::is_id`]);
/// - names: `tool_use.name`, `tools[].name`, `tool_choice.name` ([`fields::is_name`]);
/// - enum values: block and source `type`s, `media_type`, `cache_control`, `tool_choice.type`,
///   `thinking.type`, `service_tier`, versioned server-tool types (`web_search_20250305`);
/// - binary payloads: `image`/`document` `source.data` of type `base64` when it is a file
///   with a known signature ([`fields::is_binary_base64`]);
/// - provider tokens: `thinking.signature`, `redacted_thinking.data`, search results'
///   `encrypted_content` ([`fields::is_opaque_token`]);
/// - JSON-schema keywords in `tools[].input_schema` ([`fields::schema`]).
///
/// Text: `system`, message `content` (a string, `text` blocks and their `citations`),
/// `tool_use.input` (every string leaf), `tool_result.content`, `document` `title`,
/// `context`, `source.data` of type `text` and `source.content`, `search_result` `source`,
/// `title` and `content`, `thinking` text, URLs, tool `description`s and schema values,
/// `stop_sequences`, `metadata` values, any block of an unknown `type` (all its strings),
/// and any other field. `metadata.user_id` is [`TextRef::Identity`].
///
/// Refused ([`ShapeError`]): a body that is not an object, `messages` that is not a list, a
/// message that is not an object, a missing or unknown `role`, `content` (or `system`)
/// that is not a string or a list (`system` may also be null), a block that is not an
/// object or whose `type` is not a string, a `text` block whose `text` is not a string.
pub fn request_texts(body: &mut Value) -> Result<Vec<TextRef<'_>>, ShapeError> {
    let root = Path::ROOT;
    let Value::Object(map) = body else { return Err(root.error("expected a JSON object")) };
    let mut out = Vec::new();
    for (key, value) in map.iter_mut() {
        let path = root.key(key);
        match key.as_str() {
            "model" => fields::structural(value, |_| true, &mut out),
            "system" => match value {
                Value::Null => {}
                other => request_content(other, path, &mut out)?,
            },
            "messages" => {
                let Value::Array(messages) = value else { return Err(path.error("expected an array")) };
                for (i, msg) in messages.iter_mut().enumerate() {
                    request_message(msg, path.index(i), &mut out)?;
                }
            }
            "metadata" => fields::object_fields(value, &mut out, |k, v, out| match (k, v) {
                ("user_id", Value::String(s)) => out.push(TextRef::Identity(s)),
                (_, v) => fields::all_text(v, out),
            }),
            "tools" => match value {
                Value::Array(tools) => tools.iter_mut().for_each(|t| tool(t, &mut out)),
                other => fields::all_text(other, &mut out),
            },
            "tool_choice" => fields::object_fields(value, &mut out, |k, v, out| match k {
                "type" => fields::structural(v, fields::one_of(&["auto", "any", "tool", "none"]), out),
                "name" => fields::structural(v, fields::is_name, out),
                _ => fields::all_text(v, out),
            }),
            "thinking" => fields::object_fields(value, &mut out, |k, v, out| match k {
                "type" => fields::structural(v, fields::one_of(&["enabled", "disabled"]), out),
                _ => fields::all_text(v, out),
            }),
            "service_tier" => fields::structural(value, fields::one_of(&["auto", "standard_only"]), &mut out),
            "container" => fields::structural(value, fields::is_id, &mut out),
            // `stop_sequences`, `mcp_servers` and every field added later: all text.
            _ => fields::all_text(value, &mut out),
        }
    }
    Ok(out)
}

/// One request message: a known role and its content.
fn request_message<'a>(msg: &'a mut Value, path: Path<'_>, out: &mut Vec<TextRef<'a>>) -> Result<(), ShapeError> {
    let Value::Object(map) = msg else { return Err(path.error("expected an object")) };
    match map.get("role") {
        Some(Value::String(r)) if r == "user" || r == "assistant" => {}
        Some(_) => return Err(path.key("role").error("expected \"user\" or \"assistant\"")),
        None => return Err(path.key("role").error("missing")),
    }
    let mut content = false;
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "role" => {}
            "content" => {
                content = true;
                request_content(value, path.key("content"), out)?;
            }
            _ => fields::all_text(value, out),
        }
    }
    if !content {
        return Err(path.key("content").error("missing"));
    }
    Ok(())
}

/// `content` (or `system`, or a `tool_result`'s or document's `content`): a string or a
/// list of blocks.
fn request_content<'a>(content: &'a mut Value, path: Path<'_>, out: &mut Vec<TextRef<'a>>) -> Result<(), ShapeError> {
    match content {
        Value::String(s) => {
            out.push(TextRef::Plain(s));
            Ok(())
        }
        Value::Array(blocks) => {
            for (j, block) in blocks.iter_mut().enumerate() {
                request_block(block, path.index(j), out)?;
            }
            Ok(())
        }
        _ => Err(path.error("expected a string or an array")),
    }
}

/// The block types Veil knows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Text,
    Image,
    Document,
    SearchResult,
    ToolUse,
    ToolResult,
    Thinking,
    RedactedThinking,
    WebSearchToolResult,
}

impl BlockKind {
    fn of(t: &str) -> Option<Self> {
        Some(match t {
            "text" => BlockKind::Text,
            "image" => BlockKind::Image,
            "document" => BlockKind::Document,
            "search_result" => BlockKind::SearchResult,
            "tool_use" | "server_tool_use" | "mcp_tool_use" => BlockKind::ToolUse,
            "tool_result" | "mcp_tool_result" => BlockKind::ToolResult,
            "thinking" => BlockKind::Thinking,
            "redacted_thinking" => BlockKind::RedactedThinking,
            "web_search_tool_result" => BlockKind::WebSearchToolResult,
            _ => return None,
        })
    }
}

/// One content block, by its `type`; a block of a type Veil does not know is all text.
fn request_block<'a>(block: &'a mut Value, path: Path<'_>, out: &mut Vec<TextRef<'a>>) -> Result<(), ShapeError> {
    let Some((kind, map)) = fields::typed_object(block, path, BlockKind::of, out)? else { return Ok(()) };
    let source_type = map.get("source").and_then(|s| s.get("type")).and_then(Value::as_str).map(str::to_owned);
    for (key, value) in map.iter_mut() {
        let p = path.key(key);
        match (kind, key.as_str()) {
            (_, "type") => {}
            (_, "cache_control") => cache_control(value, out),
            (BlockKind::Text, "text") => fields::required_text(value, p, out)?,
            (BlockKind::Image | BlockKind::Document, "source") => {
                source(value, source_type.as_deref(), p, out)?;
            }
            (BlockKind::SearchResult, "content") => match value {
                Value::Array(_) => request_content(value, p, out)?,
                other => fields::all_text(other, out),
            },
            (BlockKind::ToolUse, "id") | (BlockKind::ToolResult | BlockKind::WebSearchToolResult, "tool_use_id") => {
                fields::structural(value, fields::is_id, out)
            }
            (BlockKind::ToolUse, "name") => fields::structural(value, fields::is_name, out),
            (BlockKind::ToolResult, "content") => match value {
                Value::String(_) | Value::Array(_) => request_content(value, p, out)?,
                other => fields::all_text(other, out),
            },
            (BlockKind::Thinking, "signature") | (BlockKind::RedactedThinking, "data") => {
                fields::structural(value, fields::is_opaque_token, out)
            }
            (BlockKind::WebSearchToolResult, "content") => match value {
                Value::Array(results) => results.iter_mut().for_each(|r| web_search_result(r, out)),
                other => web_search_result(other, out),
            },
            // `citations`, `title`, `context`, `input`, `thinking` text and anything else.
            _ => fields::all_text(value, out),
        }
    }
    Ok(())
}

/// An image's or document's `source`.
fn source<'a>(
    v: &'a mut Value,
    kind: Option<&str>,
    path: Path<'_>,
    out: &mut Vec<TextRef<'a>>,
) -> Result<(), ShapeError> {
    let Value::Object(map) = v else {
        fields::all_text(v, out);
        return Ok(());
    };
    for (key, value) in map.iter_mut() {
        match (kind, key.as_str()) {
            (_, "type") => {
                fields::structural(value, fields::one_of(&["base64", "text", "content", "url", "file"]), out)
            }
            (_, "media_type") => fields::structural(value, fields::is_media_type, out),
            (_, "file_id") => fields::structural(value, fields::is_id, out),
            (Some("base64"), "data") => fields::structural(value, fields::is_binary_base64, out),
            (Some("content"), "content") => request_content(value, path.key("content"), out)?,
            // Plain-text `data`, `url` and anything else.
            _ => fields::all_text(value, out),
        }
    }
    Ok(())
}

/// A `web_search_tool_result`'s result (or error) object.
fn web_search_result<'a>(v: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    fields::object_fields(v, out, |k, v, out| match k {
        "type" => fields::structural(v, fields::one_of(&["web_search_result", "web_search_tool_result_error"]), out),
        "encrypted_content" => fields::structural(v, fields::is_opaque_token, out),
        // `url`, `title`, `page_age`, `error_code` and anything else.
        _ => fields::all_text(v, out),
    });
}

/// `cache_control`: `{type: "ephemeral", ttl}`.
fn cache_control<'a>(v: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    fields::object_fields(v, out, |k, v, out| match k {
        "type" => fields::structural(v, fields::one_of(&["ephemeral"]), out),
        "ttl" => fields::structural(v, fields::one_of(&["5m", "1h"]), out),
        _ => fields::all_text(v, out),
    });
}

/// A `tools[]` item: a client tool (name, description, input schema) or a server tool
/// with a versioned type.
fn tool<'a>(t: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    fields::object_fields(t, out, |k, v, out| match k {
        "type" => fields::structural(v, is_tool_type, out),
        "name" => fields::structural(v, fields::is_name, out),
        "input_schema" => fields::schema(v, out),
        "cache_control" => cache_control(v, out),
        // `description`, server tools' settings (`allowed_domains`, `user_location`, ...).
        _ => fields::all_text(v, out),
    });
}

/// `custom`, or a server tool type such as `web_search_20250305` or `bash_20250124`.
fn is_tool_type(s: &str) -> bool {
    if s == "custom" {
        return true;
    }
    let Some((name, date)) = s.rsplit_once('_') else { return false };
    date.len() == 8
        && date.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// Texts in a non-streaming response: `content[]` text blocks' `text` (and citations'
/// `cited_text`), every string leaf of `tool_use` / `server_tool_use` `input` (as
/// [`TextRef::Plain`]). Thinking blocks are skipped.
pub fn response_texts(body: &mut Value) -> Vec<TextRef<'_>> {
    let mut out = Vec::new();
    if let Some(content) = body.get_mut("content") {
        content_texts(content, &mut out);
    }
    out
}

/// A `content` (or `system`) value: a string, or an array of blocks.
fn content_texts<'a>(content: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    match content {
        Value::String(s) => out.push(TextRef::Plain(s)),
        Value::Array(blocks) => {
            for block in blocks {
                block_texts(block, out);
            }
        }
        _ => {}
    }
}

fn block_texts<'a>(block: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    let Value::Object(map) = block else { return };
    let kind = map.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
    match kind.as_str() {
        "text" => {
            let mut text = None;
            let mut citations = None;
            for (key, value) in map.iter_mut() {
                match key.as_str() {
                    "text" => text = Some(value),
                    "citations" => citations = Some(value),
                    _ => {}
                }
            }
            if let Some(Value::String(s)) = text {
                out.push(TextRef::Plain(s));
            }
            if let Some(Value::Array(citations)) = citations {
                for c in citations {
                    if let Some(Value::String(s)) = c.get_mut("cited_text") {
                        out.push(TextRef::Plain(s));
                    }
                }
            }
        }
        "tool_use" | "server_tool_use" => {
            if let Some(input) = map.get_mut("input") {
                string_leaves(input, out);
            }
        }
        "tool_result" => {
            if let Some(content) = map.get_mut("content") {
                content_texts(content, out);
            }
        }
        "document" => {
            let Some(Value::Object(source)) = map.get_mut("source") else {
                return;
            };
            match source.get("type").and_then(Value::as_str) {
                Some("text") => {
                    if let Some(Value::String(s)) = source.get_mut("data") {
                        out.push(TextRef::Plain(s));
                    }
                }
                Some("content") => {
                    if let Some(content) = source.get_mut("content") {
                        content_texts(content, out);
                    }
                }
                _ => {}
            }
        }
        _ => {}
    }
}

/// Every string leaf of a JSON value (object values and array items, not keys).
fn string_leaves<'a>(v: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    match v {
        Value::String(s) => out.push(TextRef::Plain(s)),
        Value::Array(items) => {
            for item in items {
                string_leaves(item, out);
            }
        }
        Value::Object(map) => {
            for (_, item) in map.iter_mut() {
                string_leaves(item, out);
            }
        }
        _ => {}
    }
}

/// Checks the minimum request shape: an object with a string `model`, a number
/// `max_tokens` (Anthropic requires it) and an array `messages` whose items are objects
/// with `role` `"user"` or `"assistant"`. The error names the field.
pub fn validate_request(body: &Value) -> Result<(), String> {
    let obj = body.as_object().ok_or_else(|| "body: expected a JSON object".to_owned())?;
    match obj.get("model") {
        Some(Value::String(_)) => {}
        None => return Err("model: missing".to_owned()),
        Some(_) => return Err("model: expected a string".to_owned()),
    }
    match obj.get("max_tokens") {
        Some(Value::Number(_)) => {}
        None => return Err("max_tokens: missing".to_owned()),
        Some(_) => return Err("max_tokens: expected a number".to_owned()),
    }
    let messages = match obj.get("messages") {
        Some(Value::Array(m)) => m,
        None => return Err("messages: missing".to_owned()),
        Some(_) => return Err("messages: expected an array".to_owned()),
    };
    for (i, msg) in messages.iter().enumerate() {
        let msg = msg.as_object().ok_or_else(|| format!("messages[{i}]: expected an object"))?;
        match msg.get("role") {
            Some(Value::String(r)) if r == "user" || r == "assistant" => {}
            None => return Err(format!("messages[{i}].role: missing")),
            Some(_) => return Err(format!("messages[{i}].role: expected \"user\" or \"assistant\"")),
        }
    }
    Ok(())
}

/// Whether the client asked for a stream (`"stream": true`).
pub fn is_stream(body: &Value) -> bool {
    body.get("stream").and_then(Value::as_bool).unwrap_or(false)
}

/// An Anthropic error body: `{"type": "error", "error": {"type", "message"}}`.
pub fn error_body(message: &str, error_type: &str) -> Value {
    json!({
        "type": "error",
        "error": {"type": error_type, "message": message}
    })
}

/// `(input_tokens, output_tokens)` from a response body, a `message_start` event
/// (`message.usage`) or a `message_delta` event (`usage`), if either count is there (a
/// missing one counts as 0). Input tokens include `cache_creation_input_tokens` and
/// `cache_read_input_tokens`: the whole prompt the provider processed.
pub fn usage(body: &Value) -> Option<(u64, u64)> {
    let usage = body.get("usage").or_else(|| body.get("message").and_then(|m| m.get("usage")))?;
    let tokens = UsageTokens::from_value(usage)?;
    Some((tokens.prompt_tokens(), tokens.output))
}

/// The token counts of an Anthropic `usage` object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct UsageTokens {
    pub input: u64,
    pub cache_creation: u64,
    pub cache_read: u64,
    pub output: u64,
}

impl UsageTokens {
    /// `None` when the object has neither `input_tokens` nor `output_tokens`.
    pub(super) fn from_value(usage: &Value) -> Option<Self> {
        let usage = usage.as_object()?;
        let get = |k: &str| usage.get(k).and_then(Value::as_u64);
        let input = get("input_tokens");
        let output = get("output_tokens");
        if input.is_none() && output.is_none() {
            return None;
        }
        Some(UsageTokens {
            input: input.unwrap_or(0),
            cache_creation: get("cache_creation_input_tokens").unwrap_or(0),
            cache_read: get("cache_read_input_tokens").unwrap_or(0),
            output: output.unwrap_or(0),
        })
    }

    /// Whole prompt: uncached input plus cache writes and reads.
    pub(super) fn prompt_tokens(&self) -> u64 {
        self.input + self.cache_creation + self.cache_read
    }
}

/// Best-effort message from an upstream error body (`error.message`, else what
/// OpenAI-compatible servers use, else the raw text).
pub fn upstream_error_message(body: &[u8]) -> Option<String> {
    super::openai::best_effort_error_message(body)
}

// ---------------------------------------------------------------------------------------
// Streaming restore, the client side (see `restore`): Messages events
// ---------------------------------------------------------------------------------------

/// Deltas carrying everything still held back (end of stream, or before an error).
pub fn flush_all(r: &mut dyn Restore) -> Vec<SseEvent> {
    r.flush(&|_| true).into_iter().map(|(k, t)| synthetic_delta(k, t)).collect()
}

/// Messages events, restored (see `restore`): deltas through a borrowed view, forwarded as
/// is when unchanged; a block's held text goes out before its `content_block_stop`.
pub fn restore_stream_event(ev: SseEvent, r: &mut dyn Restore) -> Vec<SseEvent> {
    let Ok(view) = serde_json::from_str::<EventView<'_>>(&ev.data) else { return vec![ev] };
    match view.kind.as_ref() {
        "content_block_delta" => {
            let index = view.index;
            let Some(delta) = &view.delta else { return vec![ev] };
            let (text, key, json, field) = match (delta.kind.as_ref(), &delta.text, &delta.partial_json) {
                ("text_delta", Some(t), _) => (t, StreamKey { index, sub: 0 }, false, "text"),
                ("input_json_delta", _, Some(t)) => (t, StreamKey { index, sub: 1 }, true, "partial_json"),
                _ => return vec![ev],
            };
            let restored = r.push(key, json, text);
            if restored == *text {
                return vec![ev];
            }
            if restored.is_empty() {
                // Held back whole (a possible placeholder): the text comes in a later
                // delta or on the block's end; an empty delta would say nothing.
                return Vec::new();
            }
            drop(view);
            let Ok(mut v) = serde_json::from_str::<Value>(&ev.data) else { return vec![ev] };
            v["delta"][field] = Value::String(restored);
            vec![SseEvent { data: v.to_string(), ..ev }]
        }
        "message_start" | "message_delta" => {
            drop(view);
            if let Ok(v) = serde_json::from_str::<Value>(&ev.data) {
                r.usage(usage(&v));
            }
            vec![ev]
        }
        "content_block_stop" => {
            let index = view.index;
            let mut out: Vec<SseEvent> =
                r.flush(&|k| k.index == index).into_iter().map(|(k, t)| synthetic_delta(k, t)).collect();
            out.push(ev);
            out
        }
        "message_stop" | "error" => {
            let mut out = flush_all(r);
            out.push(ev);
            out
        }
        _ => vec![ev],
    }
}

#[derive(serde::Deserialize)]
struct EventView<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Cow<'a, str>,
    #[serde(default)]
    index: u64,
    #[serde(borrow, default)]
    delta: Option<AnthropicDeltaView<'a>>,
}

#[derive(serde::Deserialize)]
struct AnthropicDeltaView<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    partial_json: Option<Cow<'a, str>>,
}

/// A `content_block_delta` carrying text that was held back.
pub fn synthetic_delta(k: StreamKey, text: String) -> SseEvent {
    let delta = if k.sub == 0 {
        json!({"type": "text_delta", "text": text})
    } else {
        json!({"type": "input_json_delta", "partial_json": text})
    };
    SseEvent {
        event: Some("content_block_delta".into()),
        data: json!({"type": "content_block_delta", "index": k.index, "delta": delta}).to_string(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(refs: &[TextRef<'_>]) -> Vec<String> {
        refs.iter()
            .map(|r| match r {
                TextRef::Plain(s) => format!("P:{s}"),
                TextRef::JsonText(s) => format!("J:{s}"),
                TextRef::Identity(s) => format!("I:{s}"),
            })
            .collect()
    }

    fn sample_request() -> Value {
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 1024,
            "system": [
                {"type": "text", "text": "You help Jane Roe.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Be brief."}
            ],
            "messages": [
                {"role": "user", "content": "My name is Alice Smith"},
                {"role": "user", "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB"}},
                    {"type": "text", "text": "What is in this picture of bob@example.com?"},
                    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Contract with Bob"}, "title": "c.txt"},
                    {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjcKJeLjz9MK"}},
                    {"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "chunk one"}]}}
                ]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "Alice wants...", "signature": "EqQBCkYIBxgCKkBsig0123456789"},
                    {"type": "redacted_thinking", "data": "EmwKAhgBEgy3opaque0123456789"},
                    {"type": "text", "text": "Let me look up Alice."},
                    {"type": "tool_use", "id": "toolu_1", "name": "crm_lookup",
                     "input": {"name": "Alice Smith", "filters": {"emails": ["a@x.com", "b@x.com"], "limit": 3, "active": true}}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "Alice Smith lives in Berlin"},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": false, "content": [
                        {"type": "text", "text": "phone +49 30 1234"},
                        {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}
                    ]},
                    {"type": "text", "text": "Thanks"}
                ]}
            ],
            "metadata": {"user_id": "u-1"},
            "future_field": [1, 2]
        })
    }

    #[test]
    fn request_texts_finds_every_text_in_order() {
        let mut body = sample_request();
        let refs = request_texts(&mut body).unwrap();
        assert_eq!(
            texts(&refs),
            vec![
                "P:You help Jane Roe.",
                "P:Be brief.",
                "P:My name is Alice Smith",
                "P:What is in this picture of bob@example.com?",
                "P:Contract with Bob",
                "P:c.txt",
                "P:chunk one",
                "P:Alice wants...",
                "P:Let me look up Alice.",
                "P:Alice Smith",
                "P:a@x.com",
                "P:b@x.com",
                "P:Alice Smith lives in Berlin",
                "P:phone +49 30 1234",
                "P:https://x/y.png",
                "P:Thanks",
                "I:u-1",
            ]
        );
    }

    #[test]
    fn request_texts_string_system_and_mutation() {
        let mut body = json!({"model": "m", "max_tokens": 5, "system": "sys Alice",
            "messages": [{"role": "user", "content": "hi Alice"}], "extra": {"a": "Alice"}});
        for r in request_texts(&mut body).unwrap() {
            if let TextRef::Plain(s) = r {
                *s = s.replace("Alice", "[P1]");
            }
        }
        assert_eq!(body["system"], "sys [P1]");
        assert_eq!(body["messages"][0]["content"], "hi [P1]");
        // Unknown fields are text too (deny by default).
        assert_eq!(body["extra"]["a"], "[P1]");
    }

    #[test]
    fn object_keys_in_tool_input_are_not_masked() {
        let mut body = sample_request();
        for r in request_texts(&mut body).unwrap() {
            if let TextRef::Plain(s) = r {
                *s = "X".to_owned();
            }
        }
        let input = &body["messages"][2]["content"][3]["input"];
        assert_eq!(input, &json!({"name": "X", "filters": {"emails": ["X", "X"], "limit": 3, "active": true}}));
        // Provider-signed tokens, ids, names and binary payloads stay; thinking text is text.
        let assistant = &body["messages"][2]["content"];
        assert_eq!(assistant[0]["thinking"], "X");
        assert_eq!(assistant[0]["signature"], "EqQBCkYIBxgCKkBsig0123456789");
        assert_eq!(assistant[1]["data"], "EmwKAhgBEgy3opaque0123456789");
        assert_eq!(assistant[3]["id"], "toolu_1");
        assert_eq!(assistant[3]["name"], "crm_lookup");
        assert_eq!(body["messages"][1]["content"][0]["source"]["data"], "iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB");
        assert_eq!(body["system"][0]["cache_control"]["type"], "ephemeral");
    }

    #[test]
    fn unknown_blocks_are_all_text_and_bad_shapes_name_the_path() {
        let mut body = json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [
            {"type": "future_block", "payload": {"who": "Alice", "ids": ["toolu_1"]}, "name": "x"}]}]});
        let got = texts(&request_texts(&mut body).unwrap());
        assert_eq!(got, vec!["P:future_block", "P:Alice", "P:toolu_1", "P:x"]);
        let bad = |b: Value| request_texts(&mut b.clone()).unwrap_err().to_string();
        let base = |content: Value| json!({"model": "m", "messages": [{"role": "user", "content": content}]});
        assert_eq!(
            bad(json!({"model": "m", "system": [{"type": null}], "messages": []})),
            "system[0].type: expected a string"
        );
        assert_eq!(bad(json!({"model": "m", "system": 5, "messages": []})), "system: expected a string or an array");
        assert_eq!(bad(base(json!({"a": 1}))), "messages[0].content: expected a string or an array");
        assert_eq!(bad(base(json!([{"text": "hi"}]))), "messages[0].content[0].type: missing");
        assert_eq!(
            bad(base(json!([{"type": "text", "text": ["hi"]}]))),
            "messages[0].content[0].text: expected a string"
        );
        assert_eq!(
            bad(base(json!([{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": 1}]}]))),
            "messages[0].content[0].content[0].type: expected a string"
        );
        assert_eq!(
            bad(json!({"model": "m", "messages": [{"role": "a@b.io", "content": "x"}]})),
            "messages[0].role: expected \"user\" or \"assistant\""
        );
        assert_eq!(bad(json!({"model": "m", "messages": [{"role": "user"}]})), "messages[0].content: missing");
        assert_eq!(bad(json!([])), "body: expected a JSON object");
    }

    #[test]
    fn server_tool_types_and_tool_choice() {
        let mut body = json!({"model": "m", "messages": [], "tools": [
            {"type": "web_search_20250305", "name": "web_search", "allowed_domains": ["example.com"]},
            {"name": "lookup", "description": "finds people", "input_schema": {"type": "object",
             "properties": {"q": {"type": "string", "description": "a name"}}}},
            {"type": "a@b.io", "name": "x"}
        ], "tool_choice": {"type": "tool", "name": "lookup"}, "thinking": {"type": "enabled", "budget_tokens": 5},
           "service_tier": "auto", "stop_sequences": ["Alice:"]});
        let got = texts(&request_texts(&mut body).unwrap());
        assert_eq!(got, vec!["P:example.com", "P:finds people", "P:a name", "P:a@b.io", "P:Alice:"]);
        assert!(is_tool_type("bash_20250124") && is_tool_type("custom"));
        assert!(!is_tool_type("web_search") && !is_tool_type("Jane_20250101") && !is_tool_type("x_2025"));
    }

    #[test]
    fn response_texts_skip_thinking() {
        let mut body = json!({
            "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "s"},
                {"type": "text", "text": "Hello Alice", "citations": [{"type": "char_location", "cited_text": "Alice Smith", "document_index": 0}]},
                {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"q": "Alice"}}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 10, "cache_creation_input_tokens": 2, "cache_read_input_tokens": 3, "output_tokens": 7}
        });
        assert_eq!(texts(&response_texts(&mut body)), vec!["P:Hello Alice", "P:Alice Smith", "P:Alice"]);
        assert_eq!(usage(&body), Some((15, 7)));
    }

    #[test]
    fn usage_from_stream_events() {
        let start =
            json!({"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 25, "output_tokens": 1}}});
        assert_eq!(usage(&start), Some((25, 1)));
        let delta =
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 15}});
        assert_eq!(usage(&delta), Some((0, 15)));
        assert_eq!(usage(&json!({"type": "ping"})), None);
    }

    #[test]
    fn validate_names_the_field() {
        assert!(validate_request(&sample_request()).is_ok());
        let base = |extra: Value| {
            let mut b = json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]});
            if let (Value::Object(b), Value::Object(e)) = (&mut b, extra) {
                b.extend(e);
            }
            b
        };
        assert_eq!(validate_request(&base(json!({"model": null}))).unwrap_err(), "model: expected a string");
        let mut no_max = base(json!({}));
        no_max.as_object_mut().unwrap().remove("max_tokens");
        assert_eq!(validate_request(&no_max).unwrap_err(), "max_tokens: missing");
        assert_eq!(validate_request(&base(json!({"max_tokens": "10"}))).unwrap_err(), "max_tokens: expected a number");
        assert_eq!(
            validate_request(&base(json!({"messages": [{"role": "user"}, {"role": "system"}]}))).unwrap_err(),
            "messages[1].role: expected \"user\" or \"assistant\""
        );
        assert_eq!(validate_request(&base(json!({"messages": "hi"}))).unwrap_err(), "messages: expected an array");
    }

    #[test]
    fn error_body_and_upstream_message() {
        assert_eq!(
            error_body("Overloaded", "overloaded_error"),
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
        );
        let upstream = br#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"},"request_id":"req_1"}"#;
        assert_eq!(upstream_error_message(upstream).as_deref(), Some("max_tokens: Field required"));
        assert!(is_stream(&json!({"stream": true})));
        assert!(!is_stream(&json!({})));
    }
}
