//! OpenAI Chat Completions wire (part of the providers layer): where text lives in
//! requests and responses (for masking and restore), the minimum request shape Veil
//! checks, stream and usage fields, and the error body OpenAI clients expect.
//! Everything works on `serde_json::Value` in place, so fields Veil does not know about
//! pass through untouched.

use super::TextRef;
use serde_json::{json, Value};

/// Path of the endpoint, appended to a base URL such as `https://api.openai.com/v1`.
pub const PATH: &str = "/chat/completions";

/// All text the provider would see in a request, in message order: for each message its
/// `content` (a string, or the `text` of parts with `type: "text"`), then
/// `tool_calls[].function.arguments` and the legacy `function_call.arguments` (both
/// [`TextRef::JsonText`]). System, developer, user, assistant, tool and function messages
/// are all covered. Refusals, names and non-text parts (images, audio, files) are left alone.
pub fn request_texts(body: &mut Value) -> Vec<TextRef<'_>> {
    let mut out = Vec::new();
    if let Some(Value::Array(messages)) = body.get_mut("messages") {
        for msg in messages {
            message_texts(msg, &mut out);
        }
    }
    out
}

/// Texts in a non-streaming response, in choice order: `choices[].message.content`
/// (string or text parts), then `tool_calls[].function.arguments` and
/// `function_call.arguments` ([`TextRef::JsonText`]). `refusal` is skipped.
pub fn response_texts(body: &mut Value) -> Vec<TextRef<'_>> {
    let mut out = Vec::new();
    if let Some(Value::Array(choices)) = body.get_mut("choices") {
        for choice in choices {
            if let Some(msg) = choice.get_mut("message") {
                message_texts(msg, &mut out);
            }
        }
    }
    out
}

/// One message (or delta): content first, then tool call arguments, then the legacy
/// function call, whatever the key order in the JSON.
fn message_texts<'a>(msg: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    let Value::Object(map) = msg else { return };
    let mut content = None;
    let mut tool_calls = None;
    let mut function_call = None;
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "content" => content = Some(value),
            "tool_calls" => tool_calls = Some(value),
            "function_call" => function_call = Some(value),
            _ => {}
        }
    }
    if let Some(content) = content {
        content_texts(content, out);
    }
    if let Some(Value::Array(calls)) = tool_calls {
        for call in calls {
            if let Some(Value::String(s)) = call.get_mut("function").and_then(|f| f.get_mut("arguments")) {
                out.push(TextRef::JsonText(s));
            }
        }
    }
    if let Some(Value::String(s)) = function_call.and_then(|f| f.get_mut("arguments")) {
        out.push(TextRef::JsonText(s));
    }
}

/// `content`: a string, or an array of parts whose `type: "text"` parts hold `text`.
fn content_texts<'a>(content: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    match content {
        Value::String(s) => out.push(TextRef::Plain(s)),
        Value::Array(parts) => {
            for part in parts {
                let Value::Object(part) = part else { continue };
                if part.get("type").and_then(Value::as_str) != Some("text") {
                    continue;
                }
                if let Some(Value::String(s)) = part.get_mut("text") {
                    out.push(TextRef::Plain(s));
                }
            }
        }
        _ => {}
    }
}

/// Checks the minimum request shape: an object with a string `model` and an array
/// `messages` whose items are objects with a string `role`. The error names the field.
pub fn validate_request(body: &Value) -> Result<(), String> {
    let obj = body.as_object().ok_or_else(|| "body: expected a JSON object".to_owned())?;
    match obj.get("model") {
        Some(Value::String(_)) => {}
        None => return Err("model: missing".to_owned()),
        Some(_) => return Err("model: expected a string".to_owned()),
    }
    let messages = match obj.get("messages") {
        Some(Value::Array(m)) => m,
        None => return Err("messages: missing".to_owned()),
        Some(_) => return Err("messages: expected an array".to_owned()),
    };
    for (i, msg) in messages.iter().enumerate() {
        let msg = msg.as_object().ok_or_else(|| format!("messages[{i}]: expected an object"))?;
        match msg.get("role") {
            Some(Value::String(_)) => {}
            None => return Err(format!("messages[{i}].role: missing")),
            Some(_) => return Err(format!("messages[{i}].role: expected a string")),
        }
    }
    Ok(())
}

/// Whether the client asked for a stream (`"stream": true`).
pub fn is_stream(body: &Value) -> bool {
    body.get("stream").and_then(Value::as_bool).unwrap_or(false)
}

/// Whether a streaming request asked for the final usage chunk
/// (`stream_options.include_usage: true`).
pub fn include_usage(body: &Value) -> bool {
    body.get("stream_options").and_then(|o| o.get("include_usage")).and_then(Value::as_bool).unwrap_or(false)
}

/// An OpenAI error body: `{"error": {"message", "type", "param": null, "code"}}`.
pub fn error_body(message: &str, error_type: &str, code: Option<&str>) -> Value {
    json!({
        "error": {
            "message": message,
            "type": error_type,
            "param": null,
            "code": code,
        }
    })
}

/// `(prompt_tokens, completion_tokens)` from a response body or the final usage chunk of
/// a stream, if `usage` carries either (a missing one counts as 0).
pub fn usage(body: &Value) -> Option<(u64, u64)> {
    let usage = body.get("usage")?.as_object()?;
    let prompt = usage.get("prompt_tokens").and_then(Value::as_u64);
    let completion = usage.get("completion_tokens").and_then(Value::as_u64);
    if prompt.is_none() && completion.is_none() {
        return None;
    }
    Some((prompt.unwrap_or(0), completion.unwrap_or(0)))
}

/// Best-effort message from an upstream error body.
pub fn upstream_error_message(body: &[u8]) -> Option<String> {
    best_effort_error_message(body)
}

/// Longest raw (non-JSON) error text returned, in bytes.
const MAX_RAW_ERROR: usize = 512;

/// Shared by both APIs: `error.message`, `error` as a string, top-level `message` or
/// `detail` (as found in OpenAI-compatible servers), else the trimmed raw text, cut to
/// [`MAX_RAW_ERROR`] bytes.
pub(super) fn best_effort_error_message(body: &[u8]) -> Option<String> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let found = match v.get("error") {
            Some(Value::Object(e)) => e.get("message").and_then(non_empty_text),
            Some(Value::String(s)) => non_empty(s),
            _ => None,
        };
        let found = found
            .or_else(|| v.get("message").and_then(non_empty_text))
            .or_else(|| v.get("detail").and_then(non_empty_text));
        if found.is_some() {
            return found;
        }
        if v.is_object() || v.is_array() {
            return None;
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut end = text.len().min(MAX_RAW_ERROR);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(text[..end].to_owned())
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// A non-empty string, or any other non-null JSON serialized (e.g. a `detail` array).
fn non_empty_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => non_empty(s),
        Value::Null => None,
        other => Some(other.to_string()),
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
            })
            .collect()
    }

    fn sample_request() -> Value {
        json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "You are helpful. Operator: Jane Roe."},
                {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
                {"role": "user", "name": "alice", "content": [
                    {"type": "text", "text": "My email is alice@example.com"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                    {"type": "text", "text": "and phone +1 555 0100"}
                ]},
                {"role": "assistant", "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "lookup", "arguments": "{\"email\":\"alice@example.com\"}"}}
                ], "content": "Looking it up.", "refusal": null},
                {"role": "tool", "tool_call_id": "call_1", "content": "Alice Smith, Berlin"},
                {"role": "assistant", "content": null,
                 "function_call": {"name": "legacy", "arguments": "{\"q\":\"x\"}"}},
                {"role": "function", "name": "legacy", "content": "legacy result"},
                {"role": "user", "content": "thanks"}
            ],
            "stream": true,
            "stream_options": {"include_usage": true},
            "x_future_field": {"kept": true}
        })
    }

    #[test]
    fn request_texts_finds_every_text_in_order() {
        let mut body = sample_request();
        let refs = request_texts(&mut body);
        assert_eq!(
            texts(&refs),
            vec![
                "P:You are helpful. Operator: Jane Roe.",
                "P:Be brief.",
                "P:My email is alice@example.com",
                "P:and phone +1 555 0100",
                "P:Looking it up.",
                "J:{\"email\":\"alice@example.com\"}",
                "P:Alice Smith, Berlin",
                "J:{\"q\":\"x\"}",
                "P:legacy result",
                "P:thanks",
            ]
        );
    }

    #[test]
    fn request_texts_are_mutable_in_place_and_other_fields_survive() {
        let mut body = sample_request();
        for r in request_texts(&mut body) {
            match r {
                TextRef::Plain(s) | TextRef::JsonText(s) => *s = s.replace("alice", "[E1]"),
            }
        }
        assert_eq!(body["messages"][2]["content"][0]["text"], "My email is [E1]@example.com");
        assert_eq!(body["messages"][3]["tool_calls"][0]["function"]["arguments"], "{\"email\":\"[E1]@example.com\"}");
        assert_eq!(body["messages"][2]["name"], "alice");
        assert_eq!(body["x_future_field"], json!({"kept": true}));
        assert_eq!(body["messages"][2]["content"][1]["image_url"]["url"], "data:image/png;base64,AAAA");
    }

    #[test]
    fn response_texts_skip_refusal() {
        let mut body = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "Hi Alice", "refusal": "no",
                  "tool_calls": [{"id": "c", "type": "function",
                     "function": {"name": "f", "arguments": "{\"a\":\"Alice\"}"}}]},
                 "finish_reason": "tool_calls"},
                {"index": 1, "message": {"role": "assistant", "content": [{"type": "text", "text": "part"}],
                  "function_call": {"name": "g", "arguments": "{}"}}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        });
        let refs = response_texts(&mut body);
        assert_eq!(texts(&refs), vec!["P:Hi Alice", "J:{\"a\":\"Alice\"}", "P:part", "J:{}"]);
        assert_eq!(usage(&body), Some((10, 5)));
    }

    #[test]
    fn validate_names_the_field() {
        assert!(validate_request(&sample_request()).is_ok());
        assert_eq!(validate_request(&json!([])).unwrap_err(), "body: expected a JSON object");
        assert_eq!(validate_request(&json!({"messages": []})).unwrap_err(), "model: missing");
        assert_eq!(validate_request(&json!({"model": 1, "messages": []})).unwrap_err(), "model: expected a string");
        assert_eq!(
            validate_request(&json!({"model": "m", "messages": {}})).unwrap_err(),
            "messages: expected an array"
        );
        assert_eq!(
            validate_request(&json!({"model": "m", "messages": [
                {"role": "user"}, {"role": "user"}, {"role": 3}
            ]}))
            .unwrap_err(),
            "messages[2].role: expected a string"
        );
        assert_eq!(
            validate_request(&json!({"model": "m", "messages": ["x"]})).unwrap_err(),
            "messages[0]: expected an object"
        );
    }

    #[test]
    fn stream_flags() {
        assert!(is_stream(&sample_request()));
        assert!(include_usage(&sample_request()));
        assert!(!is_stream(&json!({"stream": "yes"})));
        assert!(!include_usage(&json!({"stream": true})));
    }

    #[test]
    fn error_body_shape() {
        assert_eq!(
            error_body("bad", "invalid_request_error", Some("x")),
            json!({"error": {"message": "bad", "type": "invalid_request_error", "param": null, "code": "x"}})
        );
        assert_eq!(error_body("m", "t", None)["error"]["code"], Value::Null);
    }

    #[test]
    fn usage_absent() {
        assert_eq!(usage(&json!({"usage": null})), None);
        assert_eq!(usage(&json!({})), None);
        assert_eq!(usage(&json!({"usage": {"total_tokens": 3}})), None);
    }

    #[test]
    fn upstream_error_messages() {
        let openai = br#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#;
        assert_eq!(upstream_error_message(openai).as_deref(), Some("Incorrect API key provided"));
        assert_eq!(upstream_error_message(br#"{"error":"model not found"}"#).as_deref(), Some("model not found"));
        assert_eq!(upstream_error_message(br#"{"detail":"Not Found"}"#).as_deref(), Some("Not Found"));
        assert_eq!(upstream_error_message(b"  502 Bad Gateway\n").as_deref(), Some("502 Bad Gateway"));
        assert_eq!(upstream_error_message(b"{}"), None);
        assert_eq!(upstream_error_message(b""), None);
        let long = "é".repeat(400);
        let got = upstream_error_message(long.as_bytes()).unwrap();
        assert!(got.len() <= MAX_RAW_ERROR && got.chars().all(|c| c == 'é'));
    }
}
