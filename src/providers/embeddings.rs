//! OpenAI embeddings wire (`POST /v1/embeddings`, part of the providers layer): the
//! request shape Veil accepts, where its text is (for masking), and usage. The same body
//! goes to `openai` providers (`{base_url}/embeddings`) and `azure` ones
//! (`.../deployments/{MODEL}/embeddings`); Anthropic has no embeddings endpoint.
//!
//! Embeddings are computed on the masked text: the provider never sees the values, and
//! two inputs that differ only in a masked value embed alike. Nothing is restored in the
//! answer (it holds vectors, not text).

use super::fields::{self, Path, ShapeError};
use super::TextRef;
use serde_json::Value;

/// `encoding_format` values.
const ENCODING_FORMATS: &[&str] = &["float", "base64"];

/// Checks the request: an object with a string `model` and an `input` that is a string or
/// a list of strings. Token arrays (a list of integers, or of integer lists) are refused:
/// Veil cannot read, and so cannot mask, what they say. The error names the field.
pub fn validate_request(body: &Value) -> Result<(), String> {
    let obj = body.as_object().ok_or_else(|| "body: expected a JSON object".to_owned())?;
    match obj.get("model") {
        Some(Value::String(_)) => {}
        None => return Err("model: missing".to_owned()),
        Some(_) => return Err("model: expected a string".to_owned()),
    }
    const TOKENS: &str = "token arrays cannot be masked; send the text as a string or a list of strings";
    match obj.get("input") {
        Some(Value::String(_)) => Ok(()),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(_) => {}
                    Value::Number(_) => return Err(format!("input: {TOKENS}")),
                    Value::Array(_) => return Err(format!("input[{i}]: {TOKENS}")),
                    _ => return Err(format!("input[{i}]: expected a string")),
                }
            }
            Ok(())
        }
        None => Err("input: missing".to_owned()),
        Some(_) => Err("input: expected a string or a list of strings".to_owned()),
    }
}

/// Every string the provider would see, deny by default: `model` is structural,
/// `encoding_format` when it is `float` or `base64`, `dimensions` is a number; `user` is an
/// identity field ([`TextRef::Identity`], `[policy] identity_fields`); `input` and every
/// other field (all its strings) are text. Call [`validate_request`] first; a body that is
/// not an object is refused here too.
pub fn request_texts(body: &mut Value) -> Result<Vec<TextRef<'_>>, ShapeError> {
    let root = Path::ROOT;
    let Value::Object(map) = body else { return Err(root.error("expected a JSON object")) };
    let mut out = Vec::new();
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "model" => fields::structural(value, |_| true, &mut out),
            "encoding_format" => fields::structural(value, fields::one_of(ENCODING_FORMATS), &mut out),
            "user" => match value {
                Value::String(s) => out.push(TextRef::Identity(s)),
                other => fields::all_text(other, &mut out),
            },
            // `input`, `dimensions` (a number: no strings) and every other field.
            _ => fields::all_text(value, &mut out),
        }
    }
    Ok(out)
}

/// The end-user identifier field, removed under `identity_fields = "drop"`.
pub const IDENTITY_FIELDS: &[&str] = &["user"];

/// `(prompt_tokens, 0)` from an embeddings response's `usage`.
pub fn usage(body: &Value) -> Option<(u64, u64)> {
    let prompt = body.get("usage")?.get("prompt_tokens")?.as_u64()?;
    Some((prompt, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn texts(body: &mut Value) -> Vec<String> {
        request_texts(body)
            .unwrap()
            .into_iter()
            .map(|r| match r {
                TextRef::Plain(s) | TextRef::JsonText(s) => format!("text:{s}"),
                TextRef::Identity(s) => format!("id:{s}"),
            })
            .collect()
    }

    #[test]
    fn inputs_and_unknown_fields_are_text_settings_are_not() {
        let mut b = json!({"model": "m", "input": ["a", "b"], "encoding_format": "float", "dimensions": 256,
                           "user": "u1", "extra": {"note": "n"}});
        let mut got = texts(&mut b);
        got.sort();
        assert_eq!(got, ["id:u1", "text:a", "text:b", "text:n"]);
        let mut b = json!({"model": "m", "input": "one", "encoding_format": "jane@example.com"});
        let mut got = texts(&mut b);
        got.sort();
        assert_eq!(got, ["text:jane@example.com", "text:one"]);
    }

    #[test]
    fn token_arrays_and_bad_shapes_are_refused() {
        assert!(validate_request(&json!({"model": "m", "input": "x"})).is_ok());
        assert!(validate_request(&json!({"model": "m", "input": ["x", "y"]})).is_ok());
        let e = validate_request(&json!({"model": "m", "input": [1, 2, 3]})).unwrap_err();
        assert!(e.starts_with("input: token arrays cannot be masked"), "{e}");
        let e = validate_request(&json!({"model": "m", "input": [[1, 2], [3]]})).unwrap_err();
        assert!(e.starts_with("input[0]: token arrays"), "{e}");
        assert_eq!(validate_request(&json!({"model": "m"})).unwrap_err(), "input: missing");
        assert_eq!(validate_request(&json!({"input": "x"})).unwrap_err(), "model: missing");
        assert_eq!(
            validate_request(&json!({"model": "m", "input": ["x", {}]})).unwrap_err(),
            "input[1]: expected a string"
        );
        assert!(validate_request(&json!({"model": "m", "input": 5})).is_err());
        assert!(validate_request(&json!([])).is_err());
    }

    #[test]
    fn usage_is_the_prompt_tokens() {
        assert_eq!(usage(&json!({"usage": {"prompt_tokens": 8, "total_tokens": 8}})), Some((8, 0)));
        assert_eq!(usage(&json!({})), None);
    }
}
