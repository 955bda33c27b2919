//! Anthropic Messages wire (part of the providers layer): where text lives in requests
//! and responses (for masking and restore), the minimum request shape Veil checks,
//! stream and usage fields, and the error body Anthropic clients expect.
//! Everything works on `serde_json::Value` in place, so fields Veil does not know about
//! pass through untouched.

use super::TextRef;
use serde_json::{json, Value};

/// Path of the endpoint, appended to a base URL such as `https://api.anthropic.com`.
pub const PATH: &str = "/v1/messages";

/// Default `anthropic-version` header.
pub const VERSION: &str = "2023-06-01";

/// All text the provider would see in a request, in order: `system` (a string, or its
/// `text` blocks), then for each message its `content`: a string, or blocks where
/// - `text` gives `text` (and `citations[].cited_text`),
/// - `tool_use` / `server_tool_use` give every string leaf of `input`, recursively, as
///   [`TextRef::Plain`] (object keys are not masked),
/// - `tool_result` gives its `content` string or the texts of its blocks,
/// - `document` gives `source.data` for `source.type: "text"` and the text blocks of
///   `source.content` for `source.type: "content"`.
///
/// `thinking` / `redacted_thinking` blocks (signed by the provider), images and anything
/// else are left alone.
pub fn request_texts(body: &mut Value) -> Vec<TextRef<'_>> {
    let mut out = Vec::new();
    let Value::Object(map) = body else {
        return out;
    };
    let mut system = None;
    let mut messages = None;
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "system" => system = Some(value),
            "messages" => messages = Some(value),
            _ => {}
        }
    }
    if let Some(system) = system {
        content_texts(system, &mut out);
    }
    if let Some(Value::Array(messages)) = messages {
        for msg in messages {
            if let Some(content) = msg.get_mut("content") {
                content_texts(content, &mut out);
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(refs: &[TextRef<'_>]) -> Vec<String> {
        refs.iter()
            .map(|r| match r {
                TextRef::Plain(s) => format!("P:{s}"),
                TextRef::JsonText(s) => format!("J:{s}"),
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
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo"}},
                    {"type": "text", "text": "What is in this picture of bob@example.com?"},
                    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Contract with Bob"}, "title": "c.txt"},
                    {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0"}},
                    {"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "chunk one"}]}}
                ]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "Alice wants...", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "opaque"},
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
        let refs = request_texts(&mut body);
        assert_eq!(
            texts(&refs),
            vec![
                "P:You help Jane Roe.",
                "P:Be brief.",
                "P:My name is Alice Smith",
                "P:What is in this picture of bob@example.com?",
                "P:Contract with Bob",
                "P:chunk one",
                "P:Let me look up Alice.",
                "P:Alice Smith",
                "P:a@x.com",
                "P:b@x.com",
                "P:Alice Smith lives in Berlin",
                "P:phone +49 30 1234",
                "P:Thanks",
            ]
        );
    }

    #[test]
    fn request_texts_string_system_and_mutation() {
        let mut body = json!({"model": "m", "max_tokens": 5, "system": "sys Alice",
            "messages": [{"role": "user", "content": "hi Alice"}], "extra": {"a": "Alice"}});
        for r in request_texts(&mut body) {
            if let TextRef::Plain(s) = r {
                *s = s.replace("Alice", "[P1]");
            }
        }
        assert_eq!(body["system"], "sys [P1]");
        assert_eq!(body["messages"][0]["content"], "hi [P1]");
        assert_eq!(body["extra"]["a"], "Alice");
    }

    #[test]
    fn object_keys_in_tool_input_are_not_masked() {
        let mut body = sample_request();
        for r in request_texts(&mut body) {
            if let TextRef::Plain(s) = r {
                *s = "X".to_owned();
            }
        }
        let input = &body["messages"][2]["content"][3]["input"];
        assert_eq!(input, &json!({"name": "X", "filters": {"emails": ["X", "X"], "limit": 3, "active": true}}));
        assert_eq!(body["messages"][2]["content"][0]["thinking"], "Alice wants...");
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
