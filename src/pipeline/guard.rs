//! Step 2 of the request flow as the pipeline drives it: mask every non-structural string
//! of the client's body (deny by default, see `providers::fields`), apply the identity
//! field policy, and, when the body is translated to another API, prove before sending
//! that every string of the outgoing body passed through the masker or is structural.

use crate::error::ApiError;
use crate::mask::{IdentityMode, MaskReport, Masker, PlaceholderMap};
use crate::providers::fields::ShapeError;
use crate::providers::{responses, translate, ApiKind, ProviderKind, TextRef};
use aho_corasick::{AhoCorasick, MatchKind};
use serde_json::Value;
use std::collections::HashSet;

/// Masks all request texts in place; a body without the API's shape is refused (400,
/// naming the field). JSON-in-a-string fields (tool-call arguments) are parsed and their
/// string leaves masked, so that values are found unescaped; when they do not parse, the
/// raw text is masked instead. Identity fields follow `identity`: hashed to a pseudonym
/// (never sent to a detector), masked like text, or removed.
pub async fn mask_body(
    masker: &Masker,
    api: ApiKind,
    identity: IdentityMode,
    body: &mut Value,
    map: &mut PlaceholderMap,
) -> Result<MaskReport, ApiError> {
    if identity == IdentityMode::Drop {
        api.remove_identity_fields(body);
    }
    let refs = api.request_texts(body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    mask_refs(masker, identity, refs, map).await
}

/// Masks the texts `refs` of one body (any wire format's visitor), with the identity rule
/// of [`mask_body`] (`Drop` must have removed the fields already).
pub(crate) async fn mask_refs(
    masker: &Masker,
    identity: IdentityMode,
    mut refs: Vec<TextRef<'_>>,
    map: &mut PlaceholderMap,
) -> Result<MaskReport, ApiError> {
    let mut docs: Vec<Option<Value>> = refs
        .iter()
        .map(|r| match r {
            TextRef::JsonText(s) => serde_json::from_str::<Value>(s).ok(),
            TextRef::Plain(_) | TextRef::Identity(_) => None,
        })
        .collect();
    let report = {
        let mut targets: Vec<&mut String> = Vec::with_capacity(refs.len());
        for (r, d) in refs.iter_mut().zip(docs.iter_mut()) {
            match (r, d) {
                (TextRef::Identity(s), _) if identity == IdentityMode::Hash => {
                    **s = masker.hasher().pseudonym(s);
                }
                (_, Some(doc)) => string_leaves(doc, &mut targets),
                (TextRef::Plain(s) | TextRef::JsonText(s) | TextRef::Identity(s), None) => targets.push(&mut **s),
            }
        }
        masker.mask(&mut targets, map).await?
    };
    for (r, d) in refs.iter_mut().zip(docs) {
        if let (TextRef::JsonText(s), Some(doc)) = (r, d) {
            **s = doc.to_string();
        }
    }
    Ok(report)
}

/// Every string inside a JSON value (object keys excluded).
fn string_leaves<'a>(v: &'a mut Value, out: &mut Vec<&'a mut String>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter_mut().for_each(|x| string_leaves(x, out)),
        Value::Object(o) => o.values_mut().for_each(|x| string_leaves(x, out)),
        _ => {}
    }
}

/// The texts of a (masked) body as owned strings: JSON text fields by their string leaves.
fn owned_texts(api: ApiKind, body: &mut Value) -> Result<Vec<String>, ShapeError> {
    owned(api.request_texts(body)?)
}

fn owned(refs: Vec<TextRef<'_>>) -> Result<Vec<String>, ShapeError> {
    let mut out = Vec::new();
    for r in refs {
        match r {
            TextRef::JsonText(s) => match serde_json::from_str::<Value>(s) {
                Ok(mut doc) => {
                    let mut leaves = Vec::new();
                    string_leaves(&mut doc, &mut leaves);
                    out.extend(leaves.into_iter().map(|l| l.clone()));
                }
                Err(_) => out.push(s.clone()),
            },
            TextRef::Plain(s) | TextRef::Identity(s) => out.push(s.clone()),
        }
    }
    Ok(out)
}

/// The check that stays on in release builds: every non-structural string of `outgoing`
/// (in `upstream_api`'s field rules) must be made of strings that went through the masker
/// in `masked` (the client's body in `client_api`, after masking). A translated string may
/// be one of them, a part of one, or several joined by whitespace (system prompts joined
/// into one). Anything else is refused, counted, and never forwarded.
pub fn check_translated(
    client_api: ApiKind,
    masked: &Value,
    upstream_api: ApiKind,
    outgoing: &Value,
) -> Result<(), ApiError> {
    let sent = owned_texts(upstream_api, &mut outgoing.clone());
    check_sent(client_api, masked, upstream_api.as_str(), sent)
}

// >>> gemini: the same check on a body a provider kind translated into its own wire format
/// [`check_translated`] for the body [`ProviderKind::to_native`] built, in that kind's
/// field rules; nothing to check for a kind that sends the wire-format body as is.
pub fn check_native(
    client_api: ApiKind,
    masked: &Value,
    kind: &ProviderKind,
    outgoing: &Value,
) -> Result<(), ApiError> {
    let mut copy = outgoing.clone();
    let Some(refs) = kind.native_texts(&mut copy) else { return Ok(()) };
    let sent = refs.and_then(owned);
    check_sent(client_api, masked, kind.as_str(), sent)
}
// <<< gemini

// >>> responses: the check for a Responses request translated to Chat Completions
/// [`check_translated`] for the Chat Completions body that `providers::responses_chat`
/// built from a masked Responses request: every string of `outgoing` that Chat
/// Completions' field rules call text must be made of the Responses body's masked texts
/// (in the Responses field rules).
pub(crate) fn check_responses_chat(masked: &Value, outgoing: &Value) -> Result<(), ApiError> {
    let sent = owned_texts(ApiKind::OpenAi, &mut outgoing.clone());
    let masked_texts = responses::request_texts(&mut masked.clone()).and_then(owned);
    check_texts("responses", masked_texts, ApiKind::OpenAi.as_str(), sent)
}
// <<< responses

fn check_sent(
    client_api: ApiKind,
    masked: &Value,
    upstream_api: &'static str,
    sent: Result<Vec<String>, ShapeError>,
) -> Result<(), ApiError> {
    check_texts(client_api.as_str(), owned_texts(client_api, &mut masked.clone()), upstream_api, sent)
}

/// The check of [`check_translated`] on texts already collected: `masked_texts` from the
/// client's masked body, `sent` from the outgoing one.
fn check_texts(
    client_api: &'static str,
    masked_texts: Result<Vec<String>, ShapeError>,
    upstream_api: &'static str,
    sent: Result<Vec<String>, ShapeError>,
) -> Result<(), ApiError> {
    let fail = |what: String| {
        metrics::counter!(crate::telemetry::metrics::MASKING_CHECK_FAILURES, "provider_kind" => upstream_api)
            .increment(1);
        tracing::error!(client_api = %client_api, upstream_api = %upstream_api, field = %what,
            "a translated request holds a string that did not pass the masker; refused (this is a bug)");
        ApiError::MaskingCheck(what)
    };
    let masked_texts = masked_texts.map_err(|e| fail(e.path))?;
    let sent = sent.map_err(|e| fail(e.path))?;
    let exact: HashSet<&str> = masked_texts.iter().map(String::as_str).collect();
    let pieces: Vec<&str> = masked_texts.iter().map(String::as_str).filter(|s| !s.is_empty()).collect();
    let finder = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(&pieces)
        .map_err(|_| fail("masked texts".into()))?;
    let made_of_masked = |t: &str| {
        if t.trim().is_empty()
            || exact.contains(t)
            || translate::SYNTHESIZED_TEXTS.contains(&t)
            || pieces.iter().any(|p| p.contains(t))
        {
            return true;
        }
        let mut last = 0;
        let mut covered = true;
        for m in finder.find_iter(t) {
            covered &= t[last..m.start()].trim().is_empty();
            last = m.end();
        }
        covered && t[last..].trim().is_empty()
    };
    for (i, t) in sent.iter().enumerate() {
        // A data URL built by a translator from a media type and a payload: the framing is
        // structure, both parts must be masked text.
        let ok = match split_data_url(t) {
            Some((media_type, data)) => {
                (crate::providers::fields::is_media_type(media_type) || made_of_masked(media_type))
                    && made_of_masked(data)
            }
            None => made_of_masked(t),
        };
        if !ok {
            return Err(fail(format!("outgoing text #{i}")));
        }
    }
    Ok(())
}

/// `data:<media type>;base64,<payload>` as (media type, payload).
fn split_data_url(s: &str) -> Option<(&str, &str)> {
    let (meta, data) = s.strip_prefix("data:")?.split_once(',')?;
    Some((meta.strip_suffix(";base64")?, data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn translated_texts_made_of_masked_ones_pass() {
        let masked = json!({"model": "m", "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "system", "content": "Reply to [EMAIL_1]."},
            {"role": "user", "content": "Hello there, general"}
        ]});
        let out = json!({"model": "m", "max_tokens": 5, "system": "Be brief.\n\nReply to [EMAIL_1].",
                         "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello there"}]}]});
        check_translated(ApiKind::OpenAi, &masked, ApiKind::Anthropic, &out).unwrap();
    }

    #[test]
    fn a_string_that_skipped_the_masker_is_refused_without_its_value() {
        let masked = json!({"model": "m", "messages": [{"role": "user", "content": "Hi [EMAIL_1]"}]});
        let out = json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi [EMAIL_1]"}],
                         "metadata": {"user_id": "jane.doe@example.com"}});
        let e = check_translated(ApiKind::OpenAi, &masked, ApiKind::Anthropic, &out).unwrap_err();
        assert!(matches!(e, ApiError::MaskingCheck(_)));
        assert!(!e.to_string().contains("jane"), "{e}");
    }

    #[test]
    fn data_url_framing_is_structure() {
        let masked = json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "[EMAIL_1]"}}]}]});
        let out = json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,[EMAIL_1]"}}]}]});
        check_translated(ApiKind::Anthropic, &masked, ApiKind::OpenAi, &out).unwrap();
        let out = json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,jane@x.io"}}]}]});
        assert!(check_translated(ApiKind::Anthropic, &masked, ApiKind::OpenAi, &out).is_err());
    }

    // >>> gemini
    #[test]
    fn gemini_bodies_are_checked_with_gemini_field_rules() {
        let masked = json!({"model": "m", "messages": [{"role": "user", "content": "Hi [EMAIL_1]"}],
            "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]});
        let out = crate::providers::gemini::from_openai_request(&masked).unwrap();
        check_native(ApiKind::OpenAi, &masked, &ProviderKind::Gemini, &out).unwrap();
        let mut leaked = out.clone();
        leaked["contents"][0]["parts"][0]["text"] = json!("Hi jane.doe@example.com");
        let e = check_native(ApiKind::OpenAi, &masked, &ProviderKind::Gemini, &leaked).unwrap_err();
        assert!(matches!(e, ApiError::MaskingCheck(_)) && !e.to_string().contains("jane"), "{e}");
        // An unknown field is text, so it must come from the masker too.
        let mut extra = out;
        extra["cachedContent"] = json!("jane.doe@example.com");
        assert!(check_native(ApiKind::OpenAi, &masked, &ProviderKind::Gemini, &extra).is_err());
        // Kinds that send the wire-format body as is have nothing more to check.
        check_native(ApiKind::OpenAi, &masked, &ProviderKind::OpenAi, &leaked).unwrap();
    }
    // <<< gemini

    // >>> responses
    #[test]
    fn responses_translated_to_chat_are_checked_against_the_masked_responses_texts() {
        let masked = json!({"model": "m", "instructions": "Be brief.", "user": "veil-0a1b",
            "input": [{"role": "user", "content": [{"type": "input_text", "text": "Hi [EMAIL_1]"}]},
                      {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": "{\"q\":\"[EMAIL_1]\"}"}],
            "tools": [{"type": "function", "name": "lookup", "description": "Find [PHONE_1]",
                       "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}]});
        let chat = crate::providers::responses_chat::to_chat_request(
            &masked,
            "m",
            crate::providers::MaxTokensField::MaxTokens,
        )
        .unwrap();
        check_responses_chat(&masked, &chat).unwrap();
        let mut leaked = chat.clone();
        leaked["messages"][1]["content"][0]["text"] = json!("Hi jane.doe@example.com");
        let e = check_responses_chat(&masked, &leaked).unwrap_err();
        assert!(matches!(e, ApiError::MaskingCheck(_)) && !e.to_string().contains("jane"), "{e}");
        let mut extra = chat;
        extra["stop"] = json!("jane.doe@example.com");
        assert!(check_responses_chat(&masked, &extra).is_err());
    }
    // <<< responses

    #[test]
    fn structural_strings_need_no_fragment() {
        let masked = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
        let out = json!({"model": "claude", "max_tokens": 5, "messages": [{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": "x"}]}],
            "tools": [{"name": "lookup", "input_schema": {"type": "object"}}]});
        check_translated(ApiKind::OpenAi, &masked, ApiKind::Anthropic, &out).unwrap();
    }
}
