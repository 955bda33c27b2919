//! OpenAI Chat Completions wire (part of the providers layer): where text lives in
//! requests and responses (for masking and restore), the minimum request shape Veil
//! checks, stream and usage fields, and the error body OpenAI clients expect.
//! Everything works on `serde_json::Value` in place, so fields Veil does not know about
//! pass through untouched.

use super::fields::{self, Path, ShapeError};
use super::restore::{Restore, StreamKey};
use super::sse::SseEvent;
use super::TextRef;
use serde_json::{json, Value};
use std::borrow::Cow;

/// Path of the endpoint, appended to a base URL such as `https://api.openai.com/v1`.
pub const PATH: &str = "/chat/completions";

/// Path of the embeddings endpoint, appended to the base URL.
pub const EMBEDDINGS_PATH: &str = "/embeddings";

/// The upstream URL of an OpenAI(-compatible) provider: `{base_url}/chat/completions` or
/// `{base_url}/embeddings`.
pub fn url(base_url: &str, endpoint: super::Endpoint) -> String {
    match endpoint {
        super::Endpoint::Chat => format!("{base_url}{PATH}"),
        super::Endpoint::Embeddings => format!("{base_url}{EMBEDDINGS_PATH}"),
    }
}

/// OpenAI keys go in `Authorization: Bearer`.
pub fn authorize(req: reqwest::RequestBuilder, key: &str) -> reqwest::RequestBuilder {
    req.bearer_auth(key)
}

/// Whether `base_url` is OpenAI's own API (not an OpenAI-compatible server).
pub fn is_openai_api(base_url: &str) -> bool {
    reqwest::Url::parse(base_url).ok().and_then(|u| u.host_str().map(|h| h == "api.openai.com")).unwrap_or(false)
}

/// Roles a Chat Completions message may have.
const ROLES: &[&str] = &["system", "developer", "user", "assistant", "tool", "function"];

/// The end-user identifier fields ([`TextRef::Identity`]).
pub const IDENTITY_FIELDS: &[&str] = &["user", "safety_identifier", "prompt_cache_key"];

/// Every string the provider would see in a request, deny by default ([`fields`]): what
/// is not structural below is text and goes to the masker.
///
/// Structural (left alone when the value passes the check in brackets):
/// - `model`; `messages[].role` (one of [`ROLES`], else refused);
/// - ids: `tool_calls[].id`, `tool_call_id`, `audio.id`, `file.file_id` ([`fields::is_id`]);
/// - names: `tool_calls[].function.name`, `function_call.name`, `tools[].function.name`,
///   `tools[].custom.name`, `tool_choice` names, `response_format.json_schema.name`
///   ([`fields::is_name`]: masking a name would make it invalid);
/// - enum values: part and tool `type`s, `image_url.detail`, `input_audio.format`,
///   `tool_choice` as a string, `response_format.type`, `reasoning_effort`, `service_tier`,
///   `verbosity`, `modalities`, `audio.voice`/`format` (the API's values);
/// - binary payloads: `image_url.url`, `input_audio.data`, `file.file_data` when they are
///   base64 of a file with a known signature ([`fields::is_binary_base64`]);
/// - JSON-schema keywords in `tools[].function.parameters`, legacy `functions[].parameters`
///   and `response_format.json_schema.schema` ([`fields::schema`]).
///
/// Text: message `content` (a string, `text` and `refusal` parts), `name`, `refusal`,
/// `tool_calls[].function.arguments` and `function_call.arguments` (as
/// [`TextRef::JsonText`]), `file.filename`, tool and schema `description`s, `title`s,
/// `enum`/`default`/`examples` values, `stop`, `metadata` values, `prediction`, an http(s)
/// image URL, any part of an unknown `type` (all its strings), and any other field.
/// `user`, `safety_identifier` and `prompt_cache_key` are [`TextRef::Identity`].
///
/// Refused ([`ShapeError`]): a body that is not an object, `messages` that is not a list, a
/// message that is not an object, a `role` that is missing or unknown, `content` that is
/// not a string, a list or null, a part that is not an object or whose `type` is not a
/// string, a `text` part whose `text` is not a string.
pub fn request_texts(body: &mut Value) -> Result<Vec<TextRef<'_>>, ShapeError> {
    let root = Path::ROOT;
    let Value::Object(map) = body else { return Err(root.error("expected a JSON object")) };
    let mut out = Vec::new();
    for (key, value) in map.iter_mut() {
        let path = root.key(key);
        match key.as_str() {
            "model" => fields::structural(value, |_| true, &mut out),
            "messages" => {
                let Value::Array(messages) = value else { return Err(path.error("expected an array")) };
                for (i, msg) in messages.iter_mut().enumerate() {
                    request_message(msg, path.index(i), &mut out)?;
                }
            }
            "tools" => match value {
                Value::Array(tools) => tools.iter_mut().for_each(|t| tool(t, &mut out)),
                other => fields::all_text(other, &mut out),
            },
            "functions" => match value {
                Value::Array(fs) => fs.iter_mut().for_each(|f| function_def(f, &mut out)),
                other => fields::all_text(other, &mut out),
            },
            "tool_choice" | "function_call" => tool_choice(value, &mut out),
            "response_format" => response_format(value, &mut out),
            k if IDENTITY_FIELDS.contains(&k) => match value {
                Value::String(s) => out.push(TextRef::Identity(s)),
                other => fields::all_text(other, &mut out),
            },
            "reasoning_effort" => {
                fields::structural(value, fields::one_of(&["none", "minimal", "low", "medium", "high"]), &mut out)
            }
            "service_tier" => {
                fields::structural(value, fields::one_of(&["auto", "default", "flex", "scale", "priority"]), &mut out)
            }
            "verbosity" => fields::structural(value, fields::one_of(&["low", "medium", "high"]), &mut out),
            "modalities" => match value {
                Value::Array(items) => {
                    items.iter_mut().for_each(|m| fields::structural(m, fields::one_of(&["text", "audio"]), &mut out))
                }
                other => fields::all_text(other, &mut out),
            },
            "audio" => fields::object_fields(value, &mut out, |k, v, out| match k {
                "voice" => fields::structural(v, fields::one_of(VOICES), out),
                "format" => fields::structural(v, fields::one_of(AUDIO_OUT_FORMATS), out),
                _ => fields::all_text(v, out),
            }),
            // `stop`, `metadata` values, `prediction`, `web_search_options`, `logit_bias`,
            // `stream_options` and every field added later: all their strings are text.
            _ => fields::all_text(value, &mut out),
        }
    }
    Ok(out)
}

const VOICES: &[&str] =
    &["alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse", "marin", "cedar"];
const AUDIO_OUT_FORMATS: &[&str] = &["wav", "aac", "mp3", "flac", "opus", "pcm16"];

/// One request message (see [`request_texts`]).
fn request_message<'a>(msg: &'a mut Value, path: Path<'_>, out: &mut Vec<TextRef<'a>>) -> Result<(), ShapeError> {
    let Value::Object(map) = msg else { return Err(path.error("expected an object")) };
    match map.get("role") {
        Some(Value::String(r)) if ROLES.contains(&r.as_str()) => {}
        Some(Value::String(_)) => {
            return Err(path.key("role").error("expected one of system, developer, user, assistant, tool, function"))
        }
        Some(_) => return Err(path.key("role").error("expected a string")),
        None => return Err(path.key("role").error("missing")),
    }
    for (key, value) in map.iter_mut() {
        let p = path.key(key);
        match key.as_str() {
            "role" => {}
            "content" => request_content(value, p, out)?,
            "tool_calls" => match value {
                Value::Array(calls) => calls.iter_mut().for_each(|c| tool_call(c, out)),
                other => fields::all_text(other, out),
            },
            "function_call" => function_call(value, out),
            "tool_call_id" => fields::structural(value, fields::is_id, out),
            "audio" => fields::object_fields(value, out, |k, v, out| match k {
                "id" => fields::structural(v, fields::is_id, out),
                _ => fields::all_text(v, out),
            }),
            // `name`, `refusal` and anything else.
            _ => fields::all_text(value, out),
        }
    }
    Ok(())
}

/// `content` of a request message: null, a string, or a list of parts.
fn request_content<'a>(content: &'a mut Value, path: Path<'_>, out: &mut Vec<TextRef<'a>>) -> Result<(), ShapeError> {
    match content {
        Value::Null => Ok(()),
        Value::String(s) => {
            out.push(TextRef::Plain(s));
            Ok(())
        }
        Value::Array(parts) => {
            for (j, part) in parts.iter_mut().enumerate() {
                content_part(part, path.index(j), out)?;
            }
            Ok(())
        }
        _ => Err(path.error("expected a string, an array or null")),
    }
}

/// One content part, by its `type`; a part of a type Veil does not know is all text.
fn content_part<'a>(part: &'a mut Value, path: Path<'_>, out: &mut Vec<TextRef<'a>>) -> Result<(), ShapeError> {
    let Some((kind, map)) = fields::typed_object(part, path, PartKind::of, out)? else { return Ok(()) };
    for (key, value) in map.iter_mut() {
        match (kind, key.as_str()) {
            (_, "type") => {}
            (PartKind::Text, "text") => fields::required_text(value, path.key("text"), out)?,
            (PartKind::ImageUrl, "image_url") => match value {
                Value::String(_) => fields::structural(value, fields::is_binary_data_url, out),
                other => fields::object_fields(other, out, |k, v, out| match k {
                    "url" => fields::structural(v, fields::is_binary_data_url, out),
                    "detail" => fields::structural(v, fields::one_of(&["auto", "low", "high"]), out),
                    _ => fields::all_text(v, out),
                }),
            },
            (PartKind::InputAudio, "input_audio") => fields::object_fields(value, out, |k, v, out| match k {
                "data" => fields::structural(v, fields::is_binary_base64, out),
                "format" => fields::structural(v, fields::one_of(&["wav", "mp3"]), out),
                _ => fields::all_text(v, out),
            }),
            (PartKind::File, "file") => fields::object_fields(value, out, |k, v, out| match k {
                "file_id" => fields::structural(v, fields::is_id, out),
                "file_data" => {
                    fields::structural(v, |s| fields::is_binary_data_url(s) || fields::is_binary_base64(s), out)
                }
                // `filename` and anything else.
                _ => fields::all_text(v, out),
            }),
            // `refusal` text, `cache_control` and anything else.
            _ => fields::all_text(value, out),
        }
    }
    Ok(())
}

/// The content part types Veil knows.
#[derive(Clone, Copy)]
enum PartKind {
    Text,
    ImageUrl,
    InputAudio,
    File,
    Refusal,
}

impl PartKind {
    fn of(t: &str) -> Option<Self> {
        Some(match t {
            "text" => PartKind::Text,
            "image_url" => PartKind::ImageUrl,
            "input_audio" => PartKind::InputAudio,
            "file" => PartKind::File,
            "refusal" => PartKind::Refusal,
            _ => return None,
        })
    }
}

/// An assistant message's `tool_calls[]` item.
fn tool_call<'a>(call: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    fields::object_fields(call, out, |k, v, out| match k {
        "id" => fields::structural(v, fields::is_id, out),
        "type" => fields::structural(v, fields::one_of(&["function", "custom"]), out),
        "function" => function_call(v, out),
        "custom" => fields::object_fields(v, out, |k, v, out| match k {
            "name" => fields::structural(v, fields::is_name, out),
            _ => fields::all_text(v, out),
        }),
        _ => fields::all_text(v, out),
    });
}

/// `{name, arguments}` of a call: the name is structural, the arguments JSON text.
fn function_call<'a>(f: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    fields::object_fields(f, out, |k, v, out| match (k, v) {
        ("name", v) => fields::structural(v, fields::is_name, out),
        ("arguments", Value::String(s)) => out.push(TextRef::JsonText(s)),
        (_, v) => fields::all_text(v, out),
    });
}

/// A `tools[]` item: `function` (name, description, parameters schema) or `custom`.
fn tool<'a>(t: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    fields::object_fields(t, out, |k, v, out| match k {
        "type" => fields::structural(v, fields::one_of(&["function", "custom"]), out),
        "function" => function_def(v, out),
        "custom" => fields::object_fields(v, out, |k, v, out| match k {
            "name" => fields::structural(v, fields::is_name, out),
            "format" => fields::object_fields(v, out, |k, v, out| match k {
                "type" => fields::structural(v, fields::one_of(&["text", "grammar"]), out),
                "syntax" => fields::structural(v, fields::one_of(&["lark", "regex"]), out),
                "grammar" => fields::object_fields(v, out, |k, v, out| match k {
                    "syntax" => fields::structural(v, fields::one_of(&["lark", "regex"]), out),
                    _ => fields::all_text(v, out),
                }),
                _ => fields::all_text(v, out),
            }),
            _ => fields::all_text(v, out),
        }),
        _ => fields::all_text(v, out),
    });
}

/// A function definition: `name`, `description` (text), `parameters` (a JSON schema).
fn function_def<'a>(f: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    fields::object_fields(f, out, |k, v, out| match k {
        "name" => fields::structural(v, fields::is_name, out),
        "parameters" => fields::schema(v, out),
        _ => fields::all_text(v, out),
    });
}

/// `tool_choice` (and legacy top-level `function_call`): a mode, or a named tool.
fn tool_choice<'a>(v: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    match v {
        Value::String(_) => fields::structural(v, fields::one_of(&["none", "auto", "required"]), out),
        other => fields::object_fields(other, out, |k, v, out| match k {
            "type" => fields::structural(v, fields::one_of(&["function", "custom", "allowed_tools"]), out),
            "name" => fields::structural(v, fields::is_name, out),
            "mode" => fields::structural(v, fields::one_of(&["auto", "required"]), out),
            "function" | "custom" | "allowed_tools" => tool_choice(v, out),
            "tools" => match v {
                Value::Array(items) => items.iter_mut().for_each(|t| tool_choice(t, out)),
                other => fields::all_text(other, out),
            },
            _ => fields::all_text(v, out),
        }),
    }
}

/// `response_format`: a type, and for `json_schema` a name, a description and a schema.
fn response_format<'a>(v: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    fields::object_fields(v, out, |k, v, out| match k {
        "type" => fields::structural(v, fields::one_of(&["text", "json_object", "json_schema"]), out),
        "json_schema" => fields::object_fields(v, out, |k, v, out| match k {
            "name" => fields::structural(v, fields::is_name, out),
            "schema" => fields::schema(v, out),
            _ => fields::all_text(v, out),
        }),
        _ => fields::all_text(v, out),
    });
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

/// Chat Completions settings a kind with its own format (Gemini, Bedrock) has no field for
/// and that change nothing in the answer's shape: its translation drops them.
pub const NO_NATIVE_EQUIVALENT: &[&str] = &[
    "model",
    "stream",
    "stream_options",
    "parallel_tool_calls",
    "user",
    "safety_identifier",
    "prompt_cache_key",
    "store",
    "metadata",
    "service_tier",
    "logit_bias",
    "reasoning_effort",
    "top_logprobs",
    "modalities",
    "prediction",
    "verbosity",
];

/// Asks a (same-API) streamed request for the usage chunk (`stream_options.include_usage`),
/// so the audit log has the token counts; `true` when the client had not asked (the chunk
/// is then kept from it).
pub fn ask_stream_usage(body: &mut Value) -> bool {
    if body.pointer("/stream_options/include_usage").and_then(Value::as_bool) == Some(true) {
        return false;
    }
    match body.get_mut("stream_options").and_then(Value::as_object_mut) {
        Some(o) => {
            o.insert("include_usage".into(), Value::Bool(true));
        }
        None => body["stream_options"] = serde_json::json!({"include_usage": true}),
    }
    true
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

// ---------------------------------------------------------------------------------------
// Streaming restore, the client side (see `restore`): Chat Completions chunks
// ---------------------------------------------------------------------------------------

/// A Chat Completions client's stream: the last chunk's id, created and model (for the
/// chunks that carry held-back text), and whether the usage chunk is the client's.
pub struct StreamState {
    template: Option<Value>,
    strip_usage: bool,
}

impl StreamState {
    /// `strip_usage`: Veil asked for the usage chunk on the client's behalf; it is kept from
    /// the client (the audit log still gets the counts).
    pub fn new(strip_usage: bool) -> StreamState {
        StreamState { template: None, strip_usage }
    }

    /// Chunks carrying everything still held back (end of stream, or before an error).
    pub fn flush_all(&self, r: &mut dyn Restore) -> Vec<SseEvent> {
        r.flush(&|_| true).into_iter().map(|(k, t)| self.synthetic(k, t)).collect()
    }

    /// A chunk carrying text that was held back, in the stream's own id, model and created.
    pub fn synthetic(&self, k: StreamKey, text: String) -> SseEvent {
        let mut chunk = self.template.clone().unwrap_or_else(|| json!({"object": "chat.completion.chunk"}));
        let delta = if k.sub == 0 {
            json!({"content": text})
        } else {
            json!({"tool_calls": [{"index": k.sub - 1, "function": {"arguments": text}}]})
        };
        chunk["choices"] = json!([{"index": k.index, "delta": delta, "finish_reason": null}]);
        SseEvent { data: chunk.to_string(), ..Default::default() }
    }

    /// OpenAI chunks. A borrowed, typed view finds the text deltas without building a
    /// `Value`; the chunk is re-serialized only when restore changed something or held
    /// text must ride on a `finish_reason` chunk. Everything else is forwarded as is.
    pub fn on_event(&mut self, ev: SseEvent, r: &mut dyn Restore) -> Vec<SseEvent> {
        if ev.data.trim() == "[DONE]" {
            let mut out = self.flush_all(r);
            out.push(ev);
            return out;
        }
        let Ok(view) = serde_json::from_str::<ChunkView<'_>>(&ev.data) else { return vec![ev] };
        if view.error.is_some() {
            let mut out = self.flush_all(r);
            out.push(ev);
            return out;
        }
        if let Some(u) = &view.usage {
            r.usage(Some((u.prompt_tokens.unwrap_or(0), u.completion_tokens.unwrap_or(0))));
            if self.strip_usage && view.choices.is_empty() {
                // Usage was asked for on the client's behalf (for the audit log): hide it.
                return Vec::new();
            }
        }
        // The template comes from a chunk with choices: Azure's opening prompt-filter chunk
        // has none, and an empty `id`, `model` and `object`.
        if self.template.is_none() && !view.choices.is_empty() {
            if let Ok(Value::Object(mut t)) = serde_json::from_str::<Value>(&ev.data) {
                t.remove("choices");
                t.remove("usage");
                self.template = Some(Value::Object(t));
            }
        }
        // Per choice: restored content, restored tool arguments, and flushed rests.
        let mut edits: Vec<ChoiceEdit> = Vec::with_capacity(view.choices.len());
        let mut changed = false;
        for choice in &view.choices {
            let index = choice.index;
            let mut edit = ChoiceEdit::default();
            if let Some(delta) = &choice.delta {
                if let Some(text) = &delta.content {
                    let restored = r.push(StreamKey { index, sub: 0 }, false, text);
                    changed |= restored != *text;
                    edit.held = !text.is_empty() && restored.is_empty();
                    edit.content = Some(restored);
                }
                for call in delta.tool_calls.iter().flatten() {
                    if let Some(args) = call.function.as_ref().and_then(|f| f.arguments.as_ref()) {
                        let restored = r.push(StreamKey { index, sub: 1 + call.index }, true, args);
                        changed |= restored != *args;
                        edit.args.push(Some(restored));
                    } else {
                        edit.args.push(None);
                    }
                }
            }
            if choice.finish_reason.is_some() {
                edit.rests = r.flush(&|k| k.index == index);
                changed |= !edit.rests.is_empty();
            }
            edits.push(edit);
        }
        if !changed {
            return vec![ev];
        }
        drop(view);
        let Ok(mut v) = serde_json::from_str::<Value>(&ev.data) else { return vec![ev] };
        let choices = v.get_mut("choices").and_then(Value::as_array_mut);
        for (choice, edit) in choices.into_iter().flatten().zip(edits) {
            let Some(obj) = choice.as_object_mut() else { continue };
            let delta = obj.entry("delta").or_insert_with(|| json!({}));
            let Some(delta) = delta.as_object_mut() else { continue };
            let mut content = edit.content;
            let mut extra_calls = Vec::new();
            for (k, rest) in edit.rests {
                if k.sub == 0 {
                    content.get_or_insert_with(String::new).push_str(&rest);
                } else {
                    extra_calls.push(json!({"index": k.sub - 1, "function": {"arguments": rest}}));
                }
            }
            match content {
                // All of this delta's text is held back (it may start a placeholder): no
                // `content: ""` goes out; the text follows in a later chunk.
                Some(c) if c.is_empty() && edit.held => {
                    delta.remove("content");
                }
                Some(c) => {
                    delta.insert("content".into(), Value::String(c));
                }
                None => {}
            }
            if let Some(Value::Array(calls)) = delta.get_mut("tool_calls") {
                for (call, args) in calls.iter_mut().zip(edit.args) {
                    if let (Some(a), Some(f)) = (args, call.get_mut("function").and_then(Value::as_object_mut)) {
                        f.insert("arguments".into(), Value::String(a));
                    }
                }
            }
            if !extra_calls.is_empty() {
                let calls = delta.entry("tool_calls").or_insert_with(|| json!([]));
                if let Value::Array(calls) = calls {
                    calls.extend(extra_calls);
                }
            }
        }
        if carries_nothing(&v) {
            return Vec::new();
        }
        vec![SseEvent { data: v.to_string(), ..ev }]
    }
}

/// Whether an OpenAI chunk, after restore, has nothing left to say: no usage, and every
/// choice has an empty `delta`, no `finish_reason` and no `logprobs` (its text was held).
fn carries_nothing(chunk: &Value) -> bool {
    let blank = |v: Option<&Value>| v.is_none_or(Value::is_null);
    let Some(choices) = chunk.get("choices").and_then(Value::as_array) else { return false };
    !choices.is_empty()
        && blank(chunk.get("usage"))
        && choices.iter().all(|c| {
            c.get("delta").and_then(Value::as_object).is_some_and(|d| d.is_empty())
                && blank(c.get("finish_reason"))
                && blank(c.get("logprobs"))
        })
}

/// What restore did to one OpenAI choice.
#[derive(Default)]
struct ChoiceEdit {
    content: Option<String>,
    /// The choice's content was not empty and is held back whole.
    held: bool,
    /// One entry per `tool_calls` element, in order.
    args: Vec<Option<String>>,
    rests: Vec<(StreamKey, String)>,
}

#[derive(serde::Deserialize)]
struct ChunkView<'a> {
    #[serde(borrow, default)]
    choices: Vec<ChoiceView<'a>>,
    #[serde(default)]
    usage: Option<UsageView>,
    #[serde(default)]
    error: Option<serde::de::IgnoredAny>,
}

#[derive(serde::Deserialize)]
struct ChoiceView<'a> {
    #[serde(default)]
    index: u64,
    #[serde(borrow, default)]
    delta: Option<DeltaView<'a>>,
    #[serde(default)]
    finish_reason: Option<serde::de::IgnoredAny>,
}

#[derive(serde::Deserialize)]
struct DeltaView<'a> {
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_calls: Option<Vec<ToolCallView<'a>>>,
}

#[derive(serde::Deserialize)]
struct ToolCallView<'a> {
    #[serde(default)]
    index: u64,
    #[serde(borrow, default)]
    function: Option<FunctionView<'a>>,
}

#[derive(serde::Deserialize)]
struct FunctionView<'a> {
    #[serde(borrow, default)]
    arguments: Option<Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct UsageView {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
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
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "You are helpful. Operator: Jane Roe."},
                {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
                {"role": "user", "name": "alice", "content": [
                    {"type": "text", "text": "My email is alice@example.com"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB"}},
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
        let refs = request_texts(&mut body).unwrap();
        assert_eq!(
            texts(&refs),
            vec![
                "P:You are helpful. Operator: Jane Roe.",
                "P:Be brief.",
                "P:alice",
                "P:My email is alice@example.com",
                "P:and phone +1 555 0100",
                "J:{\"email\":\"alice@example.com\"}",
                "P:Looking it up.",
                "P:Alice Smith, Berlin",
                "J:{\"q\":\"x\"}",
                "P:legacy",
                "P:legacy result",
                "P:thanks",
            ]
        );
    }

    #[test]
    fn request_texts_are_mutable_in_place_and_other_fields_survive() {
        let mut body = sample_request();
        for r in request_texts(&mut body).unwrap() {
            match r {
                TextRef::Plain(s) | TextRef::JsonText(s) | TextRef::Identity(s) => *s = s.replace("alice", "[E1]"),
            }
        }
        assert_eq!(body["messages"][2]["content"][0]["text"], "My email is [E1]@example.com");
        assert_eq!(body["messages"][3]["tool_calls"][0]["function"]["arguments"], "{\"email\":\"[E1]@example.com\"}");
        assert_eq!(body["messages"][2]["name"], "[E1]");
        assert_eq!(body["x_future_field"], json!({"kept": true}));
        assert_eq!(
            body["messages"][2]["content"][1]["image_url"]["url"],
            "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB"
        );
        assert_eq!(body["messages"][3]["tool_calls"][0]["id"], "call_1");
        assert_eq!(body["messages"][4]["tool_call_id"], "call_1");
    }

    #[test]
    fn every_other_field_is_text_unless_structural() {
        let mut body = json!({
            "model": "gpt-4o", "user": "alice@example.com", "safety_identifier": "s1", "prompt_cache_key": "k",
            "metadata": {"customer": "Alice"}, "stop": ["Alice:"], "reasoning_effort": "low",
            "service_tier": "a@b.io", "modalities": ["text"], "audio": {"voice": "alloy", "format": "mp3"},
            "tool_choice": {"type": "function", "function": {"name": "lookup"}},
            "response_format": {"type": "json_schema", "json_schema": {"name": "r", "description": "about Alice",
                "schema": {"type": "object", "properties": {"a": {"type": "string", "enum": ["Alice"]}}}}},
            "tools": [{"type": "function", "function": {"name": "lookup", "description": "finds Alice",
                "parameters": {"type": "object", "properties": {"q": {"type": "string", "default": "Alice"}},
                "required": ["q"]}}}],
            "messages": [{"role": "user", "content": [
                {"type": "input_file", "filename": "alice.pdf", "meta": {"owner": "Alice"}},
                {"type": "file", "file": {"file_id": "file-abc123", "filename": "cv.pdf", "file_data": "Alice"}},
                {"type": "input_audio", "input_audio": {"data": "Alice", "format": "wav"}},
                {"type": "image_url", "image_url": {"url": "https://x.example/alice.png", "detail": "high"}}
            ]}],
            "x_new": ["Alice", {"deep": "Alice"}]
        });
        let got = texts(&request_texts(&mut body).unwrap());
        assert_eq!(
            got,
            vec![
                "I:alice@example.com",
                "I:s1",
                "I:k",
                "P:Alice",
                "P:Alice:",
                "P:a@b.io",
                "P:about Alice",
                "P:Alice",
                "P:finds Alice",
                "P:Alice",
                "P:input_file",
                "P:alice.pdf",
                "P:Alice",
                "P:cv.pdf",
                "P:Alice",
                "P:Alice",
                "P:https://x.example/alice.png",
                "P:Alice",
                "P:Alice",
            ]
        );
    }

    #[test]
    fn shapes_veil_needs_are_refused_naming_the_path() {
        let bad = |b: Value| request_texts(&mut b.clone()).unwrap_err().to_string();
        let msg = |m: Value| json!({"model": "m", "messages": [m]});
        assert_eq!(bad(json!({"model": "m", "messages": {}})), "messages: expected an array");
        assert_eq!(bad(json!({"model": "m", "messages": ["hi"]})), "messages[0]: expected an object");
        assert_eq!(
            bad(msg(json!({"role": "a@b.io", "content": "x"}))),
            "messages[0].role: expected one of system, developer, user, assistant, tool, function"
        );
        assert_eq!(bad(msg(json!({"content": "x"}))), "messages[0].role: missing");
        assert_eq!(
            bad(msg(json!({"role": "user", "content": {"text": "x"}}))),
            "messages[0].content: expected a string, an array or null"
        );
        assert_eq!(bad(msg(json!({"role": "user", "content": ["x"]}))), "messages[0].content[0]: expected an object");
        assert_eq!(
            bad(msg(json!({"role": "user", "content": [{"type": null, "text": "x"}]}))),
            "messages[0].content[0].type: expected a string"
        );
        assert_eq!(
            bad(msg(json!({"role": "user", "content": [{"type": "text", "text": 5}]}))),
            "messages[0].content[0].text: expected a string"
        );
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
