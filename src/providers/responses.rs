//! OpenAI Responses API wire (`POST /v1/responses`, part of the providers layer): where
//! text lives in a Responses request (for masking) and in its answer and stream events
//! (for restore), the minimum request shape Veil checks, usage, and the upstream URL.
//!
//! Responses is a same-API pass-through: the client's body goes to an `openai`-kind
//! provider's `{base_url}/responses` (an `azure` one's `{base_url}/openai/responses?api-version=`)
//! with its texts masked and every other field as sent. Other kinds (Anthropic) do not
//! speak it; Veil refuses such targets with a 400 rather than translating.

use super::fields::{self, Path, ShapeError};
use super::restore::{Restore, StreamKey};
use super::sse::SseEvent;
use super::{ProviderKind, TextRef};
use serde_json::json;
use serde_json::Value;
use std::collections::BTreeMap;

/// The route, as the audit log, the metrics and the request span name it.
pub const ROUTE: &str = "/v1/responses";

/// The upstream URL of the Responses API for a provider kind, or `None` when the kind does
/// not speak it (anything but `openai` and `azure`).
pub fn url(kind: &ProviderKind, base_url: &str) -> Option<String> {
    match kind {
        ProviderKind::OpenAi => Some(format!("{base_url}/responses")),
        ProviderKind::Azure(settings) => {
            Some(format!("{base_url}/openai/responses?api-version={}", settings.api_version))
        }
        // Anthropic (and any kind added later) has no Responses endpoint.
        _ => None,
    }
}

/// The end-user identifier fields ([`TextRef::Identity`]), as for Chat Completions.
pub const IDENTITY_FIELDS: &[&str] = super::openai::IDENTITY_FIELDS;

/// Message roles of an input message item.
const ROLES: &[&str] = &["user", "assistant", "system", "developer"];

/// Tool `type`s of the Responses API.
const TOOL_TYPES: &[&str] = &[
    "function",
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

/// Values of `include`.
const INCLUDES: &[&str] = &[
    "code_interpreter_call.outputs",
    "computer_call_output.output.image_url",
    "file_search_call.results",
    "message.input_image.image_url",
    "message.output_text.logprobs",
    "reasoning.encrypted_content",
    "web_search_call.action.sources",
    "web_search_call.results",
];

/// Checks the minimum request shape: an object with a string `model`. The error names the
/// field, never its value. (`input` is checked by [`request_texts`].)
pub fn validate_request(body: &Value) -> Result<(), String> {
    let obj = body.as_object().ok_or_else(|| "body: expected a JSON object".to_owned())?;
    match obj.get("model") {
        Some(Value::String(_)) => Ok(()),
        None => Err("model: missing".to_owned()),
        Some(_) => Err("model: expected a string".to_owned()),
    }
}

/// Whether the request asks for a stream (`"stream": true`).
pub fn is_stream(body: &Value) -> bool {
    body.get("stream").and_then(Value::as_bool) == Some(true)
}

/// Every string the provider would see in a Responses request, deny by default
/// ([`fields`]): what is not structural below is text and goes to the masker.
///
/// Structural (left alone when the value passes the check in brackets):
/// - `model`; `previous_response_id`, `conversation` (an id or `{id}`), `prompt.id`, item
///   `id`s and `call_id`s ([`fields::is_id`]);
/// - names: `function_call.name`, `tools[].name`, `tool_choice.name`, `text.format.name`
///   ([`fields::is_name`]);
/// - enum values: item, part, tool and format `type`s, message `role` (else refused),
///   `status`, `detail`, `truncation`, `service_tier`, `reasoning.effort`/`summary`,
///   `text.verbosity`, `include` entries, `tool_choice` as a string;
/// - binary payloads: `input_image.image_url`, `input_file.file_data` when they are
///   base64 of a file with a known signature; `reasoning.encrypted_content` (an opaque
///   provider token);
/// - JSON-schema keywords in `tools[].parameters` and `text.format.schema` ([`fields::schema`]).
///
/// Text: `instructions`, `input` as a string, `input_text`/`output_text` part `text`,
/// `refusal`, `function_call.arguments` ([`TextRef::JsonText`]), `function_call_output.output`,
/// `filename`, `file_url`, an http(s) image URL, tool and format `description`s, schema
/// values, `metadata` values, reasoning summaries, items and parts of an unknown `type`
/// (all their strings), and any other field. `user`, `safety_identifier` and
/// `prompt_cache_key` are [`TextRef::Identity`].
///
/// Refused ([`ShapeError`]): a body that is not an object, `input` that is neither a string
/// nor a list, an item that is not an object, an item without a `type` (a `role` alone
/// means a message, as the API allows) or whose `type` is not a string, a message `role`
/// that is missing or unknown, message `content` that is not a string or a list, a part
/// that is not an object or has no string `type`, a text part whose `text` is not a string.
pub fn request_texts(body: &mut Value) -> Result<Vec<TextRef<'_>>, ShapeError> {
    let root = Path::ROOT;
    let Value::Object(map) = body else { return Err(root.error("expected a JSON object")) };
    let mut out = Vec::new();
    for (key, value) in map.iter_mut() {
        let path = root.key(key);
        match key.as_str() {
            "model" => fields::structural(value, |_| true, &mut out),
            "input" => match value {
                Value::String(s) => out.push(TextRef::Plain(s)),
                Value::Array(items) => {
                    for (i, item) in items.iter_mut().enumerate() {
                        input_item(item, path.index(i), &mut out)?;
                    }
                }
                _ => return Err(path.error("expected a string or an array")),
            },
            "tools" => match value {
                Value::Array(tools) => tools.iter_mut().for_each(|t| tool(t, &mut out)),
                other => fields::all_text(other, &mut out),
            },
            "tool_choice" => tool_choice(value, &mut out),
            "text" => fields::object_fields(value, &mut out, |k, v, out| match k {
                "format" => text_format(v, out),
                "verbosity" => fields::structural(v, fields::one_of(&["low", "medium", "high"]), out),
                _ => fields::all_text(v, out),
            }),
            "reasoning" => fields::object_fields(value, &mut out, |k, v, out| match k {
                "effort" => fields::structural(v, fields::one_of(&["none", "minimal", "low", "medium", "high"]), out),
                "summary" | "generate_summary" => {
                    fields::structural(v, fields::one_of(&["auto", "concise", "detailed"]), out)
                }
                _ => fields::all_text(v, out),
            }),
            "include" => match value {
                Value::Array(items) => {
                    items.iter_mut().for_each(|v| fields::structural(v, fields::one_of(INCLUDES), &mut out))
                }
                other => fields::all_text(other, &mut out),
            },
            "previous_response_id" => fields::structural(value, fields::is_id, &mut out),
            "conversation" => match value {
                Value::String(_) => fields::structural(value, fields::is_id, &mut out),
                other => fields::object_fields(other, &mut out, |k, v, out| match k {
                    "id" => fields::structural(v, fields::is_id, out),
                    _ => fields::all_text(v, out),
                }),
            },
            "prompt" => fields::object_fields(value, &mut out, |k, v, out| match k {
                "id" => fields::structural(v, fields::is_id, out),
                "version" => fields::structural(v, |s| s.bytes().all(|b| b.is_ascii_digit()), out),
                _ => fields::all_text(v, out),
            }),
            "truncation" => fields::structural(value, fields::one_of(&["auto", "disabled"]), &mut out),
            "service_tier" => {
                fields::structural(value, fields::one_of(&["auto", "default", "flex", "scale", "priority"]), &mut out)
            }
            k if IDENTITY_FIELDS.contains(&k) => match value {
                Value::String(s) => out.push(TextRef::Identity(s)),
                other => fields::all_text(other, &mut out),
            },
            // `instructions`, `metadata` values, `store`, `stream`, `stream_options`,
            // numbers and booleans (no strings), and every field added later: text.
            _ => fields::all_text(value, &mut out),
        }
    }
    Ok(out)
}

/// The input item types Veil knows.
#[derive(Clone, Copy)]
enum ItemKind {
    Message,
    FunctionCall,
    FunctionCallOutput,
    Reasoning,
    ItemReference,
}

impl ItemKind {
    fn of(t: &str) -> Option<Self> {
        Some(match t {
            "message" => ItemKind::Message,
            "function_call" => ItemKind::FunctionCall,
            "function_call_output" => ItemKind::FunctionCallOutput,
            "reasoning" => ItemKind::Reasoning,
            "item_reference" => ItemKind::ItemReference,
            _ => return None,
        })
    }
}

/// One `input[]` item, by its `type`; an item of a type Veil does not know is all text.
fn input_item<'a>(item: &'a mut Value, path: Path<'_>, out: &mut Vec<TextRef<'a>>) -> Result<(), ShapeError> {
    let Some(obj) = item.as_object() else { return Err(path.error("expected an object")) };
    // `{role, content}` without a `type` is a message (the API's "easy input message").
    let implicit_message = !obj.contains_key("type") && obj.contains_key("role");
    let (kind, map) = if implicit_message {
        let Value::Object(map) = item else { return Err(path.error("expected an object")) };
        (ItemKind::Message, map)
    } else {
        match fields::typed_object(item, path, ItemKind::of, out)? {
            Some(found) => found,
            None => return Ok(()),
        }
    };
    if let ItemKind::Message = kind {
        match map.get("role") {
            Some(Value::String(r)) if ROLES.contains(&r.as_str()) => {}
            Some(Value::String(_)) => {
                return Err(path.key("role").error("expected one of user, assistant, system, developer"))
            }
            Some(_) => return Err(path.key("role").error("expected a string")),
            None => return Err(path.key("role").error("missing")),
        }
    }
    for (key, value) in map.iter_mut() {
        let p = path.key(key);
        match (kind, key.as_str()) {
            (_, "type") | (ItemKind::Message, "role") => {}
            (_, "id") | (_, "call_id") => fields::structural(value, fields::is_id, out),
            (_, "status") => {
                fields::structural(value, fields::one_of(&["in_progress", "completed", "incomplete"]), out)
            }
            (ItemKind::Message, "content") => match value {
                Value::String(s) => out.push(TextRef::Plain(s)),
                Value::Array(parts) => {
                    for (j, part) in parts.iter_mut().enumerate() {
                        content_part(part, p.index(j), out)?;
                    }
                }
                _ => return Err(p.error("expected a string or an array")),
            },
            (ItemKind::FunctionCall, "name") => fields::structural(value, fields::is_name, out),
            (ItemKind::FunctionCall, "arguments") => match value {
                Value::String(s) => out.push(TextRef::JsonText(s)),
                other => fields::all_text(other, out),
            },
            (ItemKind::FunctionCallOutput, "output") => match value {
                Value::String(s) => out.push(TextRef::Plain(s)),
                Value::Array(parts) => {
                    for (j, part) in parts.iter_mut().enumerate() {
                        content_part(part, p.index(j), out)?;
                    }
                }
                other => fields::all_text(other, out),
            },
            (ItemKind::Reasoning, "encrypted_content") => fields::structural(value, fields::is_opaque_token, out),
            // Reasoning `summary`/`content`, an item reference's extras, anything else.
            _ => fields::all_text(value, out),
        }
    }
    Ok(())
}

/// The content part types Veil knows.
#[derive(Clone, Copy)]
enum PartKind {
    InputText,
    OutputText,
    InputImage,
    InputFile,
    InputAudio,
}

impl PartKind {
    fn of(t: &str) -> Option<Self> {
        Some(match t {
            "input_text" => PartKind::InputText,
            "output_text" => PartKind::OutputText,
            "input_image" => PartKind::InputImage,
            "input_file" => PartKind::InputFile,
            "input_audio" => PartKind::InputAudio,
            _ => return None,
        })
    }
}

/// One content part of a message (or of a function call's output), by its `type`; a part
/// of a type Veil does not know (`refusal` included) is all text.
fn content_part<'a>(part: &'a mut Value, path: Path<'_>, out: &mut Vec<TextRef<'a>>) -> Result<(), ShapeError> {
    let Some((kind, map)) = fields::typed_object(part, path, PartKind::of, out)? else { return Ok(()) };
    for (key, value) in map.iter_mut() {
        match (kind, key.as_str()) {
            (_, "type") => {}
            (PartKind::InputText | PartKind::OutputText, "text") => {
                fields::required_text(value, path.key("text"), out)?
            }
            (PartKind::InputImage, "image_url") => fields::structural(value, fields::is_binary_data_url, out),
            (PartKind::InputImage | PartKind::InputFile, "file_id") => fields::structural(value, fields::is_id, out),
            (PartKind::InputImage, "detail") => {
                fields::structural(value, fields::one_of(&["auto", "low", "high"]), out)
            }
            (PartKind::InputFile, "file_data") => {
                fields::structural(value, |s| fields::is_binary_data_url(s) || fields::is_binary_base64(s), out)
            }
            (PartKind::InputAudio, "input_audio") => fields::object_fields(value, out, |k, v, out| match k {
                "data" => fields::structural(v, fields::is_binary_base64, out),
                "format" => fields::structural(v, fields::one_of(&["wav", "mp3"]), out),
                _ => fields::all_text(v, out),
            }),
            // `filename`, `file_url`, `annotations`, `logprobs` and anything else.
            _ => fields::all_text(value, out),
        }
    }
    Ok(())
}

/// A `tools[]` item: a function's `name` is structural, `parameters` a JSON schema, its
/// `description` and every other string text.
fn tool<'a>(t: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    fields::object_fields(t, out, |k, v, out| match k {
        "type" => fields::structural(v, fields::one_of(TOOL_TYPES), out),
        "name" => fields::structural(v, fields::is_name, out),
        "parameters" => fields::schema(v, out),
        _ => fields::all_text(v, out),
    });
}

/// `tool_choice`: a mode, or a tool by type (and name).
fn tool_choice<'a>(v: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    match v {
        Value::String(_) => fields::structural(v, fields::one_of(&["none", "auto", "required"]), out),
        other => fields::object_fields(other, out, |k, v, out| match k {
            "type" => {
                fields::structural(v, |s| TOOL_TYPES.contains(&s) || s == "allowed_tools" || s == "function_call", out)
            }
            "name" => fields::structural(v, fields::is_name, out),
            "mode" => fields::structural(v, fields::one_of(&["auto", "required"]), out),
            "tools" => match v {
                Value::Array(items) => items.iter_mut().for_each(|t| tool_choice(t, out)),
                other => fields::all_text(other, out),
            },
            _ => fields::all_text(v, out),
        }),
    }
}

/// `text.format`: a type, and for `json_schema` a name, a description and a schema.
fn text_format<'a>(v: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    fields::object_fields(v, out, |k, v, out| match k {
        "type" => fields::structural(v, fields::one_of(&["text", "json_object", "json_schema"]), out),
        "name" => fields::structural(v, fields::is_name, out),
        "schema" => fields::schema(v, out),
        _ => fields::all_text(v, out),
    });
}

/// Texts of a Responses answer (the response object, also inside `response.completed` and
/// the other `response.*` stream events), for restore: each `output[]` item's texts
/// ([`item_texts`]), then the SDK-style `output_text` when present.
pub fn response_texts(body: &mut Value) -> Vec<TextRef<'_>> {
    let mut out = Vec::new();
    let Value::Object(map) = body else { return out };
    for (key, value) in map.iter_mut() {
        match (key.as_str(), value) {
            ("output", Value::Array(items)) => items.iter_mut().for_each(|item| item_texts(item, &mut out)),
            ("output_text", Value::String(s)) => out.push(TextRef::Plain(s)),
            _ => {}
        }
    }
    out
}

/// Texts of one output item: a message's `output_text` parts' `text`, a function call's
/// `arguments` ([`TextRef::JsonText`]), a reasoning item's summary texts. Refusals and
/// other item types hold nothing Veil masked on the way in.
pub fn item_texts<'a>(item: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    let Value::Object(map) = item else { return };
    let kind = map.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
    for (key, value) in map.iter_mut() {
        match (kind.as_str(), key.as_str(), value) {
            ("message", "content", Value::Array(parts)) => parts.iter_mut().for_each(|p| part_texts(p, out)),
            ("function_call", "arguments", Value::String(s)) => out.push(TextRef::JsonText(s)),
            ("reasoning", "summary", Value::Array(parts)) => parts.iter_mut().for_each(|p| part_texts(p, out)),
            _ => {}
        }
    }
}

/// The `text` of an `output_text` (or `summary_text`) part.
pub fn part_texts<'a>(part: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    let Value::Object(map) = part else { return };
    if !matches!(map.get("type").and_then(Value::as_str), Some("output_text" | "summary_text")) {
        return;
    }
    if let Some(Value::String(s)) = map.get_mut("text") {
        out.push(TextRef::Plain(s));
    }
}

/// `(input_tokens, output_tokens)` of a response object's `usage`.
pub fn usage(response: &Value) -> Option<(u64, u64)> {
    let u = response.get("usage")?;
    let input = u.get("input_tokens").and_then(Value::as_u64).unwrap_or(0);
    let output = u.get("output_tokens").and_then(Value::as_u64).unwrap_or(0);
    Some((input, output))
}

// ---------------------------------------------------------------------------------------
// Streaming restore, the client side (see `restore`): Responses events
// ---------------------------------------------------------------------------------------

/// `sub` of a function call's arguments stream (text streams use their `content_index`).
const ARGS: u64 = u64::MAX;

/// A Responses client's stream: one text stream per `(output_index, content_index)` text
/// and per `output_index` function-call arguments (the pipeline's restorers, behind
/// [`Restore`]). Held-back text is flushed before the stream's `.done` event (as a synthetic
/// delta), at `response.output_item.done`, at the response's end and before an error
/// event. `.done` events, `response.output_item.*`, `response.content_part.*` and the
/// `response.*` events that carry the whole response are restored whole; unknown events
/// have every string restored. `sequence_number`s are renumbered, since deltas that are
/// all held back are dropped and synthetic ones added.
#[derive(Default)]
pub struct StreamState {
    /// The item id of each open text stream, for its synthetic deltas.
    item_ids: BTreeMap<StreamKey, Value>,
    seq: u64,
}

impl StreamState {
    /// One event of the client's Responses stream, restored (see [`StreamState`]).
    pub fn on_event(&mut self, ev: SseEvent, r: &mut dyn Restore) -> Vec<SseEvent> {
        let Ok(mut v) = serde_json::from_str::<Value>(&ev.data) else { return vec![ev] };
        let ty = v.get("type").and_then(Value::as_str).map(str::to_owned).or_else(|| ev.event.clone());
        let oi = v.get("output_index").and_then(Value::as_u64).unwrap_or(0);
        let ci = v.get("content_index").and_then(Value::as_u64).unwrap_or(0);
        let mut out = Vec::new();
        match ty.as_deref().unwrap_or_default() {
            "response.output_text.delta" | "response.function_call_arguments.delta" => {
                let (key, json) = if v["type"] == "response.output_text.delta" {
                    (StreamKey { index: oi, sub: ci }, false)
                } else {
                    (StreamKey { index: oi, sub: ARGS }, true)
                };
                let Some(delta) = v.get("delta").and_then(Value::as_str) else { return vec![self.renumber(ev, v)] };
                let item_id = v.get("item_id").cloned().unwrap_or(Value::Null);
                self.item_ids.entry(key).or_insert(item_id);
                let restored = r.push(key, json, delta);
                if restored.is_empty() {
                    // All held back: nothing to send yet.
                    return out;
                }
                v["delta"] = Value::String(restored);
            }
            "response.output_text.done" => {
                self.flush_into(&|k| *k == StreamKey { index: oi, sub: ci }, r, &mut out);
                if let Some(Value::String(s)) = v.get_mut("text") {
                    r.restore_texts(vec![TextRef::Plain(s)]);
                }
            }
            "response.function_call_arguments.done" => {
                self.flush_into(&|k| *k == StreamKey { index: oi, sub: ARGS }, r, &mut out);
                if let Some(Value::String(s)) = v.get_mut("arguments") {
                    r.restore_texts(vec![TextRef::JsonText(s)]);
                }
            }
            "response.content_part.added" | "response.content_part.done" => {
                if v["type"] == "response.content_part.done" {
                    self.flush_into(&|k| *k == StreamKey { index: oi, sub: ci }, r, &mut out);
                }
                if let Some(part) = v.get_mut("part") {
                    let mut refs = Vec::new();
                    part_texts(part, &mut refs);
                    r.restore_texts(refs);
                }
            }
            "response.output_item.added" | "response.output_item.done" => {
                if v["type"] == "response.output_item.done" {
                    self.flush_into(&|k| k.index == oi, r, &mut out);
                }
                if let Some(item) = v.get_mut("item") {
                    let mut refs = Vec::new();
                    item_texts(item, &mut refs);
                    r.restore_texts(refs);
                }
            }
            t @ ("response.created"
            | "response.in_progress"
            | "response.queued"
            | "response.completed"
            | "response.incomplete"
            | "response.failed") => {
                if !matches!(t, "response.created" | "response.in_progress" | "response.queued") {
                    self.flush_into(&|_| true, r, &mut out);
                }
                if let Some(resp) = v.get_mut("response") {
                    r.usage(usage(resp));
                    r.restore_texts(response_texts(resp));
                }
            }
            "error" => self.flush_into(&|_| true, r, &mut out),
            // Refusal deltas, reasoning summaries, tool progress and every event added later:
            // their strings restored whole.
            _ => {
                let mut refs = Vec::new();
                fields::all_text(&mut v, &mut refs);
                r.restore_texts(refs);
            }
        }
        out.push(self.renumber(ev, v));
        out
    }

    /// `ev` with the (restored) JSON `v` as its data and the next `sequence_number`.
    fn renumber(&mut self, mut ev: SseEvent, mut v: Value) -> SseEvent {
        if let Some(n) = v.get_mut("sequence_number") {
            *n = json!(self.seq);
            self.seq += 1;
        }
        ev.data = v.to_string();
        ev
    }

    /// Flushes and retires the streams matching `pred`, as synthetic delta events in `out`.
    fn flush_into(&mut self, pred: &dyn Fn(&StreamKey) -> bool, r: &mut dyn Restore, out: &mut Vec<SseEvent>) {
        for (key, rest) in r.flush(pred) {
            let item_id = self.item_ids.remove(&key).unwrap_or(Value::Null);
            let (ty, v) = if key.sub == ARGS {
                let t = "response.function_call_arguments.delta";
                (
                    t,
                    json!({"type": t, "item_id": item_id, "output_index": key.index, "delta": rest, "sequence_number": 0}),
                )
            } else {
                let t = "response.output_text.delta";
                (
                    t,
                    json!({"type": t, "item_id": item_id, "output_index": key.index, "content_index": key.sub,
                           "delta": rest, "logprobs": [], "sequence_number": 0}),
                )
            };
            let ev = self.renumber(SseEvent::named(ty, ""), v);
            out.push(ev);
        }
    }

    /// Everything still held back, as synthetic deltas (end of stream).
    pub fn flush_all(&mut self, r: &mut dyn Restore) -> Vec<SseEvent> {
        let mut out = Vec::new();
        self.flush_into(&|_| true, r, &mut out);
        out
    }

    /// The Responses stream's `error` event after a mid-stream failure, from the OpenAI
    /// error body `body`.
    pub fn error_event(&mut self, body: &Value) -> SseEvent {
        let e = &body["error"];
        let v = json!({"type": "error", "code": e["code"], "message": e["message"], "param": null,
                       "sequence_number": 0});
        self.renumber(SseEvent::named("error", ""), v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn texts(body: &mut Value) -> Vec<String> {
        let mut got: Vec<String> = request_texts(body)
            .unwrap()
            .into_iter()
            .map(|r| match r {
                TextRef::Plain(s) => format!("text:{s}"),
                TextRef::JsonText(s) => format!("json:{s}"),
                TextRef::Identity(s) => format!("id:{s}"),
            })
            .collect();
        got.sort();
        got
    }

    #[test]
    fn texts_are_found_and_structure_is_left_alone() {
        let mut b = json!({
            "model": "gpt-4.1", "instructions": "be kind to Jane", "user": "u1", "store": false,
            "previous_response_id": "resp_123abc", "metadata": {"ticket": "T for Bob"},
            "include": ["reasoning.encrypted_content", "jane"],
            "input": [
                {"role": "user", "content": "hi"},
                {"type": "message", "role": "user", "id": "msg_1",
                 "content": [{"type": "input_text", "text": "part"},
                             {"type": "input_image", "image_url": "https://x.example/a.png", "detail": "low"}]},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "said", "annotations": []}]},
                {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": "{\"q\":\"x\"}", "id": "fc_1"},
                {"type": "function_call_output", "call_id": "call_1", "output": "result"},
                {"type": "brand_new", "note": "unknown"}
            ],
            "tools": [{"type": "function", "name": "lookup", "description": "find a person",
                       "parameters": {"type": "object", "properties": {"q": {"type": "string", "description": "who"}},
                                      "required": ["q"]}}],
            "tool_choice": {"type": "function", "name": "lookup"},
            "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}}},
            "extra": "surprise"
        });
        assert_eq!(
            texts(&mut b),
            [
                "id:u1",
                "json:{\"q\":\"x\"}",
                "text:T for Bob",
                "text:be kind to Jane",
                // An item of an unknown type is all text, its `type` included.
                "text:brand_new",
                "text:find a person",
                "text:hi",
                "text:https://x.example/a.png",
                "text:jane",
                "text:part",
                "text:result",
                "text:said",
                "text:surprise",
                "text:unknown",
                "text:who",
            ]
        );
        let mut b = json!({"model": "m", "input": "just a string"});
        assert_eq!(texts(&mut b), ["text:just a string"]);
    }

    #[test]
    fn values_that_fail_their_check_are_text() {
        let mut b = json!({"model": "m", "previous_response_id": "Jane Doe",
            "input": [{"type": "function_call", "call_id": "Bob", "name": "not a name!", "arguments": "{}"}]});
        assert_eq!(texts(&mut b), ["json:{}", "text:Bob", "text:Jane Doe", "text:not a name!"]);
    }

    #[test]
    fn malformed_shapes_are_refused_by_path_never_value() {
        let err = |mut b: Value| request_texts(&mut b).unwrap_err().to_string();
        assert_eq!(err(json!({"model": "m", "input": 5})), "input: expected a string or an array");
        assert_eq!(err(json!({"model": "m", "input": ["secret Jane"]})), "input[0]: expected an object");
        assert_eq!(err(json!({"model": "m", "input": [{"content": "x"}]})), "input[0].type: missing");
        assert_eq!(err(json!({"model": "m", "input": [{"type": 3}]})), "input[0].type: expected a string");
        assert_eq!(
            err(json!({"model": "m", "input": [{"role": "boss", "content": "x"}]})),
            "input[0].role: expected one of user, assistant, system, developer"
        );
        assert_eq!(
            err(json!({"model": "m", "input": [{"role": "user", "content": 1}]})),
            "input[0].content: expected a string or an array"
        );
        assert_eq!(
            err(json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_text", "text": 1}]}]})),
            "input[0].content[0].text: expected a string"
        );
        assert_eq!(err(json!([])), "body: expected a JSON object");
        assert!(validate_request(&json!({"input": "x"})).is_err());
        assert!(validate_request(&json!({"model": "m"})).is_ok());
    }

    #[test]
    fn answer_texts_and_usage() {
        let mut r = json!({"output": [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "thought"}]},
            {"type": "message", "content": [{"type": "output_text", "text": "hello"}, {"type": "refusal", "refusal": "no"}]},
            {"type": "function_call", "name": "lookup", "arguments": "{}"}
        ], "output_text": "hello", "usage": {"input_tokens": 3, "output_tokens": 5}});
        let got: Vec<String> = response_texts(&mut r)
            .into_iter()
            .map(|t| match t {
                TextRef::Plain(s) | TextRef::Identity(s) => s.clone(),
                TextRef::JsonText(s) => format!("json:{s}"),
            })
            .collect();
        assert_eq!(got, ["thought", "hello", "json:{}", "hello"]);
        assert_eq!(usage(&r), Some((3, 5)));
    }

    #[test]
    fn urls_by_kind() {
        assert_eq!(url(&ProviderKind::OpenAi, "http://h/v1").as_deref(), Some("http://h/v1/responses"));
        let az = ProviderKind::Azure(super::super::azure::AzureSettings::new("2025-03-01-preview").unwrap());
        assert_eq!(
            url(&az, "https://r.example").as_deref(),
            Some("https://r.example/openai/responses?api-version=2025-03-01-preview")
        );
        assert_eq!(url(&ProviderKind::Anthropic, "http://h"), None);
    }
}
