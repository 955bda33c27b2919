//! Deny-by-default field rules shared by the wire modules (part of the providers layer,
//! step 1 of the request flow). A request's text visitor walks **every** string leaf of the
//! body and sorts it into one of two kinds:
//!
//! - **structural**: on an explicit list of fields that can never hold free text (a model
//!   name, a role, an id, an enum value, a JSON-schema keyword's value, a binary payload)
//!   *and* its value passes that field's check (one of the API's values, an id's grammar,
//!   the magic bytes of an image). Left alone, never sent to a detector.
//! - **text**: everything else (known text fields, unknown fields, unknown block types,
//!   structural fields whose value fails its check). Handed to the masker.
//!
//! A body without the shape Veil needs to find text (`messages` not a list, a block's
//! `type` not a string, `text` not a string) is a [`ShapeError`]: the request is refused
//! with 400 naming the field path, never the value.
//!
//! Object keys are names, not values: they are never masked (property names of a schema
//! must stay what the tool expects). The per-API rules (which field is which) live in
//! `openai.rs` and `anthropic.rs`, beside each visitor.

use super::TextRef;
use base64::Engine as _;
use serde_json::Value;
use std::fmt;

/// A body that lacks the shape Veil needs where it needs it. The message names the field
/// path and what was expected, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {expected}")]
pub struct ShapeError {
    pub path: String,
    pub expected: &'static str,
}

/// One step of a field path, rendered only when an error needs it.
#[derive(Clone, Copy)]
enum Seg<'p> {
    Root,
    Key(&'p str),
    Index(usize),
}

/// A field path as a linked list on the stack: building one costs nothing, rendering
/// happens only for errors.
#[derive(Clone, Copy)]
pub struct Path<'p> {
    parent: Option<&'p Path<'p>>,
    seg: Seg<'p>,
}

impl<'p> Path<'p> {
    pub const ROOT: Path<'static> = Path { parent: None, seg: Seg::Root };

    pub fn key(&'p self, key: &'p str) -> Path<'p> {
        Path { parent: Some(self), seg: Seg::Key(key) }
    }

    pub fn index(&'p self, i: usize) -> Path<'p> {
        Path { parent: Some(self), seg: Seg::Index(i) }
    }

    /// A [`ShapeError`] at this path.
    pub fn error(&self, expected: &'static str) -> ShapeError {
        ShapeError { path: self.to_string(), expected }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut segs = Vec::new();
        let mut p = Some(self);
        while let Some(node) = p {
            segs.push(node.seg);
            p = node.parent;
        }
        let mut first = true;
        for seg in segs.iter().rev() {
            match seg {
                Seg::Root => {}
                Seg::Key(k) => {
                    if !first {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                    first = false;
                }
                Seg::Index(i) => {
                    write!(f, "[{i}]")?;
                    first = false;
                }
            }
        }
        if first {
            f.write_str("body")?;
        }
        Ok(())
    }
}

/// The default rule: every string leaf of `v` is text (object keys are not).
pub fn all_text<'a>(v: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    match v {
        Value::String(s) => out.push(TextRef::Plain(s)),
        Value::Array(items) => items.iter_mut().for_each(|x| all_text(x, out)),
        Value::Object(map) => map.values_mut().for_each(|x| all_text(x, out)),
        _ => {}
    }
}

/// Applies `f` to each field of an object; a value that is not an object is all text.
pub fn object_fields<'a>(
    v: &'a mut Value,
    out: &mut Vec<TextRef<'a>>,
    mut f: impl FnMut(&str, &'a mut Value, &mut Vec<TextRef<'a>>),
) {
    match v {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                f(k, v, out);
            }
        }
        other => all_text(other, out),
    }
}

/// The fields of a JSON object, borrowed for a visitor.
pub type Fields<'a> = &'a mut serde_json::Map<String, Value>;

/// An object that carries a string `type` (a content part, a block): its known kind (by
/// `of`) and its fields. An object of a kind `of` does not know is all text (pushed here)
/// and gives `None`. Refused when it is not an object or its `type` is missing or not a
/// string: without it Veil cannot tell where the text is.
pub fn typed_object<'a, K>(
    v: &'a mut Value,
    path: Path<'_>,
    of: impl Fn(&str) -> Option<K>,
    out: &mut Vec<TextRef<'a>>,
) -> Result<Option<(K, Fields<'a>)>, ShapeError> {
    let Some(obj) = v.as_object() else { return Err(path.error("expected an object")) };
    let kind = match obj.get("type") {
        Some(Value::String(t)) => of(t),
        Some(_) => return Err(path.key("type").error("expected a string")),
        None => return Err(path.key("type").error("missing")),
    };
    let Some(kind) = kind else {
        all_text(v, out);
        return Ok(None);
    };
    match v {
        Value::Object(map) => Ok(Some((kind, map))),
        _ => Ok(None),
    }
}

/// A structural field: left alone when it is a string that passes `check`, else text.
pub fn structural<'a>(v: &'a mut Value, check: impl Fn(&str) -> bool, out: &mut Vec<TextRef<'a>>) {
    match v {
        Value::String(s) if check(s) => {}
        other => all_text(other, out),
    }
}

/// A string field Veil must read as text: refused when it is present and not a string.
pub fn required_text<'a>(v: &'a mut Value, path: Path<'_>, out: &mut Vec<TextRef<'a>>) -> Result<(), ShapeError> {
    match v {
        Value::String(s) => {
            out.push(TextRef::Plain(s));
            Ok(())
        }
        _ => Err(path.error("expected a string")),
    }
}

/// `check` for an enum-valued field: one of `values`.
pub fn one_of(values: &'static [&'static str]) -> impl Fn(&str) -> bool {
    move |s| values.contains(&s)
}

/// An id the provider issued or the client chose (`call_abc123`, `toolu_01A…`): 1 to 256
/// characters from `[A-Za-z0-9_.:-]` with at least one digit. A value without a digit is
/// masked like text (an id that is a plain word may be a name).
pub fn is_id(s: &str) -> bool {
    (1..=256).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
        && s.bytes().any(|b| b.is_ascii_digit())
}

/// A tool or function name: 1 to 128 characters from `[A-Za-z0-9_.:-]` (what both APIs
/// accept, plus `.`/`:` used by MCP tools). Masking one would make it invalid, so a name
/// is structural; a value outside the grammar is masked (the provider would refuse it).
pub fn is_name(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
}

/// A media type such as `image/png` or `application/pdf`: `type/subtype` of token
/// characters, lower case, at most 127 bytes.
pub fn is_media_type(s: &str) -> bool {
    let Some((t, sub)) = s.split_once('/') else { return false };
    let token = |x: &str| {
        !x.is_empty() && x.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b))
    };
    s.len() <= 127 && token(t) && token(sub)
}

/// An opaque provider token (a thinking `signature`, `redacted_thinking.data`, a web
/// search result's `encrypted_content`): at least 16 characters of base64 or base64url.
/// Such values come from the provider and are signed or encrypted by it; masking them
/// would break the conversation.
pub fn is_opaque_token(s: &str) -> bool {
    s.len() >= 16 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b))
}

/// File signatures of the binary payloads the APIs accept inline (images, audio, PDF,
/// office files): a base64 string is structural only when it decodes to one of these.
const MAGIC: &[&[u8]] = &[
    b"\x89PNG\r\n\x1a\n", // PNG
    b"\xff\xd8\xff",      // JPEG
    b"GIF87a",
    b"GIF89a",
    b"%PDF-",
    b"PK\x03\x04",       // zip: docx, xlsx, pptx
    b"ID3",              // MP3 with a tag
    b"\xff\xfb",         // MP3 frame
    b"\xff\xf3",         // MP3 frame
    b"\xff\xf2",         // MP3 frame
    b"fLaC",             // FLAC
    b"OggS",             // Ogg / Opus
    b"\x1a\x45\xdf\xa3", // WebM / Matroska
    b"BM",               // BMP
    b"II*\x00",          // TIFF
    b"MM\x00*",          // TIFF
];

/// Whether `s` is base64 (standard alphabet, whitespace allowed) of a binary file with a
/// known signature (PNG, JPEG, GIF, WebP, PDF, zip-based office files, MP3, WAV, FLAC,
/// Ogg, WebM, MP4/M4A/HEIC, BMP, TIFF). Only the first bytes are decoded; the rest is
/// checked for the alphabet. Text written as base64 (a card number is valid base64) has no
/// such signature and is masked like any text.
pub fn is_binary_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 16 || !b.iter().all(|&c| c.is_ascii_alphanumeric() || b"+/=\r\n ".contains(&c)) {
        return false;
    }
    let head: Vec<u8> = b.iter().copied().filter(|c| !c.is_ascii_whitespace()).take(24).collect();
    let head = &head[..head.len() - head.len() % 4];
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(head) else { return false };
    if MAGIC.iter().any(|m| bytes.starts_with(m)) {
        return true;
    }
    // RIFF containers (WebP, WAV) and ISO media (MP4, M4A, HEIC) carry their kind at 8 / 4.
    let riff = bytes.starts_with(b"RIFF") && bytes.len() >= 12 && matches!(&bytes[8..12], b"WEBP" | b"WAVE");
    let iso = bytes.len() >= 8 && &bytes[4..8] == b"ftyp";
    riff || iso
}

/// `data:<media type>;base64,<payload>` whose payload [`is_binary_base64`].
pub fn is_binary_data_url(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("data:") else { return false };
    let Some((meta, data)) = rest.split_once(',') else { return false };
    let Some(media_type) = meta.strip_suffix(";base64") else { return false };
    is_media_type(media_type) && is_binary_base64(data)
}

/// JSON-schema type names.
const SCHEMA_TYPES: &[&str] = &["string", "number", "integer", "boolean", "object", "array", "null"];

/// The `format` values of JSON Schema 2020-12 plus common OpenAPI ones.
const SCHEMA_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
    "int32",
    "int64",
    "float",
    "double",
    "byte",
    "binary",
    "password",
];

/// A JSON Schema (tool `parameters`, `input_schema`, a response format's `schema`):
/// keywords are structure, the values people write are text.
///
/// - structural: `type` (a JSON-schema type or a list of them), `format` (a known format),
///   `required` entries that name a property of the same schema, `$ref`/`$dynamicRef`
///   local pointers (`#/$defs/Address`), `$schema` at json-schema.org;
/// - recursed into as schemas: `properties`, `patternProperties`, `$defs`, `definitions`,
///   `dependentSchemas` (their keys are property names and stay), `items`, `prefixItems`,
///   `additionalProperties`, `anyOf`, `oneOf`, `allOf`, `not`, `if`/`then`/`else`,
///   `contains`, `propertyNames`, `unevaluated*`, `additionalItems`, `contentSchema`;
/// - text (every string leaf masked): `description`, `title`, `default`, `examples`,
///   `enum`, `const`, `pattern`, `$comment`, and any keyword not listed here.
pub fn schema<'a>(v: &'a mut Value, out: &mut Vec<TextRef<'a>>) {
    let Value::Object(map) = v else {
        // `true`/`false` schemas hold no strings; anything else is not a schema: text.
        all_text(v, out);
        return;
    };
    let props: Vec<String> = match map.get("properties") {
        Some(Value::Object(p)) => p.keys().cloned().collect(),
        _ => Vec::new(),
    };
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "type" => match value {
                Value::Array(items) => items.iter_mut().for_each(|t| structural(t, one_of(SCHEMA_TYPES), out)),
                other => structural(other, one_of(SCHEMA_TYPES), out),
            },
            "format" => structural(value, one_of(SCHEMA_FORMATS), out),
            "required" => match value {
                Value::Array(items) => {
                    items.iter_mut().for_each(|r| structural(r, |s| props.iter().any(|p| p == s), out))
                }
                other => all_text(other, out),
            },
            "$ref" | "$dynamicRef" => structural(value, is_local_ref, out),
            "$schema" => structural(
                value,
                |s| s.starts_with("https://json-schema.org/") || s.starts_with("http://json-schema.org/"),
                out,
            ),
            "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => match value {
                Value::Object(children) => children.values_mut().for_each(|c| schema(c, out)),
                other => all_text(other, out),
            },
            "items" | "prefixItems" | "anyOf" | "oneOf" | "allOf" => match value {
                Value::Array(children) => children.iter_mut().for_each(|c| schema(c, out)),
                other => schema(other, out),
            },
            "additionalProperties"
            | "not"
            | "if"
            | "then"
            | "else"
            | "contains"
            | "propertyNames"
            | "unevaluatedProperties"
            | "unevaluatedItems"
            | "additionalItems"
            | "contentSchema" => schema(value, out),
            _ => all_text(value, out),
        }
    }
}

/// `#`, `#/$defs/Name`, `#/properties/a/items`: a pointer inside the same document, made
/// of name characters.
fn is_local_ref(s: &str) -> bool {
    s.len() <= 256
        && s.starts_with('#')
        && s.bytes().skip(1).all(|b| b.is_ascii_alphanumeric() || b"/_-$.~%".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn texts(v: &mut Value, f: for<'a> fn(&'a mut Value, &mut Vec<TextRef<'a>>)) -> Vec<String> {
        let mut out = Vec::new();
        f(v, &mut out);
        out.iter()
            .map(|r| match r {
                TextRef::Plain(s) | TextRef::JsonText(s) | TextRef::Identity(s) => s.to_string(),
            })
            .collect()
    }

    #[test]
    fn paths_render_like_the_request() {
        let root = Path::ROOT;
        let m = root.key("messages");
        let i = m.index(2);
        let c = i.key("content");
        let j = c.index(0);
        assert_eq!(
            j.key("text").error("expected a string").to_string(),
            "messages[2].content[0].text: expected a string"
        );
        assert_eq!(root.error("expected a JSON object").to_string(), "body: expected a JSON object");
    }

    #[test]
    fn ids_names_and_media_types() {
        assert!(is_id("call_abc123") && is_id("toolu_01A09q90qw90lq917835lq9"));
        assert!(!is_id("JaneDoe") && !is_id("jane.doe@example.com") && !is_id("") && !is_id("a b1"));
        assert!(is_name("get_weather") && is_name("mcp.server:search"));
        assert!(!is_name("jane doe") && !is_name("a@b.io") && !is_name(""));
        assert!(is_media_type("image/png") && is_media_type("application/vnd.ms-excel"));
        assert!(!is_media_type("Jane Doe") && !is_media_type("image/") && !is_media_type("a@b.io/x"));
    }

    #[test]
    fn binary_payloads_need_a_file_signature() {
        let png = base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n\x1a\n0000IHDR more bytes here");
        assert!(is_binary_base64(&png));
        assert!(is_binary_data_url(&format!("data:image/png;base64,{png}")));
        let pdf = base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.7\n%....");
        assert!(is_binary_base64(&pdf));
        let wav = base64::engine::general_purpose::STANDARD.encode(b"RIFF\x24\x00\x00\x00WAVEfmt ");
        assert!(is_binary_base64(&wav));
        // A card number and a base64-encoded e-mail address are valid base64 but not files.
        assert!(!is_binary_base64("4111111111111111"));
        let email = base64::engine::general_purpose::STANDARD.encode(b"jane.doe@example.com");
        assert!(!is_binary_base64(&email));
        assert!(!is_binary_data_url("data:text/plain;base64,amFuZS5kb2VAZXhhbXBsZS5jb20="));
        assert!(!is_binary_data_url("jane.doe@example.com"));
    }

    #[test]
    fn schema_keywords_are_structure_and_values_are_text() {
        let mut s = json!({
            "type": "object",
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "description": "Look up jane.doe@example.com",
            "properties": {
                "email": {"type": "string", "format": "email", "description": "e.g. a@b.io",
                          "default": "x@y.io", "examples": ["z@w.io"]},
                "kind": {"type": ["string", "null"], "enum": ["vip", "jane@x.io"]},
                "addr": {"$ref": "#/$defs/Address"}
            },
            "required": ["email", "Jane Roe"],
            "$defs": {"Address": {"type": "object", "title": "Home of Jane",
                                  "properties": {"street": {"type": "string", "pattern": "^\\d+ .*$"}}}},
            "x-vendor": {"note": "card 4111"}
        });
        let got = texts(&mut s, schema);
        assert_eq!(
            got,
            vec![
                "Look up jane.doe@example.com",
                "e.g. a@b.io",
                "x@y.io",
                "z@w.io",
                "vip",
                "jane@x.io",
                "Jane Roe",
                "Home of Jane",
                "^\\d+ .*$",
                "card 4111"
            ]
        );
    }

    #[test]
    fn structural_values_outside_their_check_are_text() {
        let mut v = json!("jane.doe@example.com");
        assert_eq!(texts(&mut v, |v, out| structural(v, is_id, out)), vec!["jane.doe@example.com"]);
        let mut v = json!({"nested": ["a@b.io"]});
        assert_eq!(texts(&mut v, |v, out| structural(v, is_id, out)), vec!["a@b.io"]);
        let mut v = json!("call_1");
        assert!(texts(&mut v, |v, out| structural(v, is_id, out)).is_empty());
    }
}
