//! Deny by default: a value placed in any field of a request, known or not, never reaches
//! the provider raw, for both client APIs and in the translated direction; bodies without
//! the shape Veil needs are refused in the caller's shape, audited as refused; identity
//! fields are hashed, masked or dropped; generated and mutated bodies never leak and never
//! get a 500.

use crate::common::*;
use proptest::prelude::*;
use serde_json::{json, Value};

const EMAIL: &str = "jane.doe@example.com";
const CARD: &str = "4111 1111 1111 1111";
/// Both values in one string, as a field would hold them.
const PII: &str = "jane.doe@example.com / 4111 1111 1111 1111";

fn openai_base() -> Value {
    json!({"model": "mock/echo", "messages": [{"role": "user", "content": "Hello"}]})
}

fn anthropic_base() -> Value {
    json!({"model": "mocka/echo", "max_tokens": 64, "messages": [{"role": "user", "content": "Hello"}]})
}

fn with(mut base: Value, pointer: &str, value: Value) -> Value {
    set_pointer(&mut base, pointer, value);
    base
}

/// Sets `value` at a JSON pointer, creating objects on the way.
fn set_pointer(v: &mut Value, pointer: &str, value: Value) {
    let mut cur = v;
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        if let Ok(idx) = part.parse::<usize>() {
            let arr = cur.as_array_mut().expect("pointer index into an array");
            if last {
                arr[idx] = value;
                return;
            }
            cur = &mut arr[idx];
        } else {
            if !cur.is_object() {
                *cur = json!({});
            }
            let obj = cur.as_object_mut().unwrap();
            if last {
                obj.insert(part.to_string(), value);
                return;
            }
            cur = obj.entry(part.to_string()).or_insert_with(|| json!({}));
        }
    }
}

fn schema_with_pii() -> Value {
    json!({"type": "object", "description": PII, "properties": {
        "email": {"type": "string", "description": PII, "enum": [EMAIL, "other"], "default": EMAIL,
                  "examples": [CARD]},
        "card": {"type": "string", "const": CARD, "title": PII}
    }, "required": ["email"]})
}

/// (field, body) pairs, one field holding the values in each body.
type Cases = Vec<(&'static str, Value)>;

/// One OpenAI Chat Completions body per field, each with the values in that one field.
fn openai_cases() -> Cases {
    let b = openai_base;
    vec![
        ("user", with(b(), "/user", json!(PII))),
        ("safety_identifier", with(b(), "/safety_identifier", json!(PII))),
        ("prompt_cache_key", with(b(), "/prompt_cache_key", json!(PII))),
        ("metadata", with(b(), "/metadata", json!({"customer": PII, "card": CARD}))),
        ("message name", with(b(), "/messages/0/name", json!(PII))),
        ("stop", with(b(), "/stop", json!([PII]))),
        (
            "tool description",
            with(
                b(),
                "/tools",
                json!([{"type": "function", "function": {"name": "lookup", "description": PII,
                        "parameters": {"type": "object"}}}]),
            ),
        ),
        (
            "tool parameters",
            with(
                b(),
                "/tools",
                json!([{"type": "function", "function": {"name": "lookup", "parameters": schema_with_pii()}}]),
            ),
        ),
        (
            "legacy functions",
            with(
                b(),
                "/functions",
                json!([{"name": "lookup", "description": PII,
            "parameters": schema_with_pii()}]),
            ),
        ),
        (
            "response_format schema",
            with(
                b(),
                "/response_format",
                json!({"type": "json_schema", "json_schema": {"name": "card_info", "description": PII,
                        "schema": schema_with_pii()}}),
            ),
        ),
        (
            "unknown part type",
            with(
                b(),
                "/messages/0/content",
                json!([{"type": "text", "text": "see file"},
                       {"type": "input_file", "filename": PII, "file_data": PII, "extra": {"deep": [PII]}}]),
            ),
        ),
        (
            "file part",
            with(
                b(),
                "/messages/0/content",
                json!([{"type": "file", "file": {"filename": PII, "file_data": PII, "file_id": EMAIL}}]),
            ),
        ),
        (
            "image url",
            with(
                b(),
                "/messages/0/content",
                json!([{"type": "image_url", "image_url": {"url": format!("https://img.example.com/{EMAIL}/{CARD}.png"),
                        "detail": EMAIL}}]),
            ),
        ),
        (
            "input audio",
            with(
                b(),
                "/messages/0/content",
                json!([{"type": "input_audio",
            "input_audio": {"data": PII, "format": EMAIL}}]),
            ),
        ),
        ("unknown top-level field", with(b(), "/x_feature_2027", json!({"a": [PII, {"b": CARD}]}))),
        (
            "assistant refusal and tool call",
            json!({"model": "mock/echo", "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": null, "refusal": PII, "tool_calls": [
                    {"id": EMAIL, "type": "function", "function": {"name": "lookup",
                     "arguments": format!("{{\"q\": \"{PII}\"}}")}}]},
                {"role": "tool", "tool_call_id": EMAIL, "content": PII}
            ]}),
        ),
        ("enum fields", with(with(b(), "/reasoning_effort", json!(EMAIL)), "/service_tier", json!(CARD))),
        (
            "tool_choice",
            with(
                with(b(), "/tool_choice", json!({"type": "function", "function": {"name": EMAIL}})),
                "/tools",
                json!([{"type": "function", "function": {"name": "lookup"}}]),
            ),
        ),
        ("prediction", with(b(), "/prediction", json!({"type": "content", "content": PII}))),
        (
            "web search location",
            with(
                b(),
                "/web_search_options",
                json!({"user_location": {"type": "approximate",
            "approximate": {"city": PII}}}),
            ),
        ),
    ]
}

/// One Anthropic Messages body per field.
fn anthropic_cases() -> Cases {
    let b = anthropic_base;
    let doc = |source: Value| {
        json!([{"type": "document", "source": source, "title": PII, "context": PII},
               {"type": "text", "text": "summarise"}])
    };
    vec![
        ("metadata.user_id", with(b(), "/metadata", json!({"user_id": PII}))),
        ("other metadata", with(b(), "/metadata", json!({"tenant": PII}))),
        (
            "document title and context",
            with(b(), "/messages/0/content", doc(json!({"type": "text", "media_type": "text/plain", "data": PII}))),
        ),
        (
            "document content source",
            with(
                b(),
                "/messages/0/content",
                doc(json!({"type": "content", "content": [{"type": "text", "text": PII}]})),
            ),
        ),
        (
            "document base64 that is text",
            with(
                b(),
                "/messages/0/content",
                doc(json!({"type": "base64",
            "media_type": "application/pdf", "data": PII})),
            ),
        ),
        (
            "search_result",
            with(
                b(),
                "/messages/0/content",
                json!([{"type": "search_result", "source": format!("https://kb.example.com/{EMAIL}"), "title": PII,
                        "content": [{"type": "text", "text": PII}], "citations": {"enabled": true}}]),
            ),
        ),
        (
            "tool definitions",
            with(b(), "/tools", json!([{"name": "lookup", "description": PII, "input_schema": schema_with_pii()}])),
        ),
        (
            "server tool settings",
            with(
                b(),
                "/tools",
                json!([{"type": "web_search_20250305", "name": "web_search",
                "user_location": {"type": "approximate", "city": PII}, "allowed_domains": [EMAIL]}]),
            ),
        ),
        (
            "unknown block type",
            with(
                b(),
                "/messages/0/content",
                json!([{"type": "container_upload_2027", "file": PII,
                "meta": {"who": [PII]}}]),
            ),
        ),
        ("unknown top-level field", with(b(), "/context_management", json!({"notes": [PII]}))),
        ("stop_sequences", with(b(), "/stop_sequences", json!([PII]))),
        (
            "system blocks",
            with(
                b(),
                "/system",
                json!([{"type": "text", "text": PII,
            "cache_control": {"type": "ephemeral", "ttl": EMAIL}}]),
            ),
        ),
        (
            "tool round trip",
            json!({"model": "mocka/echo", "max_tokens": 64, "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": PII, "signature": EMAIL},
                    {"type": "tool_use", "id": EMAIL, "name": "lookup", "input": {"q": PII, "n": [CARD]}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": EMAIL,
                    "content": [{"type": "text", "text": PII}]}]}
            ]}),
        ),
        (
            "image",
            with(
                b(),
                "/messages/0/content",
                json!([{"type": "image", "source": {"type": "base64",
                "media_type": EMAIL, "data": PII}}, {"type": "image", "source": {"type": "url",
                "url": format!("https://img.example.com/{EMAIL}")}}]),
            ),
        ),
        (
            "tool_choice",
            with(
                with(b(), "/tool_choice", json!({"type": "tool", "name": EMAIL})),
                "/tools",
                json!([{"name": "lookup", "input_schema": {"type": "object"}}]),
            ),
        ),
    ]
}

fn assert_clean(what: &str, raw: &str) {
    for v in [EMAIL, CARD, "4111111111111111"] {
        assert!(!raw.contains(v), "{what}: raw value {v:?} in {raw}");
    }
}

/// Each field, sent to a provider of the same API and to one of the other API: either
/// the provider got the request without the values, or the client got a 4xx error in its
/// own shape (translation refuses what the other API cannot express) and nothing was sent.
#[tokio::test]
async fn every_field_is_masked_for_both_apis_and_both_directions() {
    let gw = gateway("").await;
    let runs: Vec<(&str, &str, Cases)> =
        vec![("/v1/chat/completions", "openai", openai_cases()), ("/v1/messages", "anthropic", anthropic_cases())];
    for (route, client, cases) in runs {
        for (field, body) in cases {
            for provider in ["mock", "mocka"] {
                let mut body = body.clone();
                body["model"] = json!(format!("{provider}/echo"));
                gw.mock.clear();
                let (status, resp) = gw.post(route, &body).await;
                let what = format!("{client} {field} -> {provider}");
                let got = gw.mock.received();
                for r in &got {
                    assert_clean(&what, &r.body.to_string());
                }
                match status {
                    200 => assert_eq!(got.len(), 1, "{what}"),
                    400 => {
                        assert!(got.is_empty(), "{what}: refused but forwarded");
                        assert_error_shape(client, &resp, &what);
                        assert_clean(&what, &resp.to_string());
                        // Only translation may refuse a valid body.
                        assert_ne!((client, provider), ("openai", "mock"), "{what}: same-API request refused: {resp}");
                        assert_ne!((client, provider), ("anthropic", "mocka"), "{what}: refused: {resp}");
                    }
                    other => panic!("{what}: status {other}: {resp}"),
                }
            }
        }
    }
    let raw = serde_json::to_string(&gw.audit_records().await).unwrap();
    assert_clean("audit log", &raw);
}

fn assert_error_shape(client: &str, resp: &Value, what: &str) {
    if client == "openai" {
        assert!(resp["error"]["message"].is_string(), "{what}: not an OpenAI error: {resp}");
    } else {
        assert_eq!(resp["type"], "error", "{what}: not an Anthropic error: {resp}");
        assert!(resp["error"]["message"].is_string(), "{what}: {resp}");
    }
}

/// The answer echoes a masked tool argument: the client gets its value back.
#[tokio::test]
async fn values_in_tool_definitions_are_restored_in_tool_call_arguments() {
    let gw = gateway("").await;
    let body = json!({"model": "mock/tool", "messages": [{"role": "user", "content": EMAIL}],
        "tools": [{"type": "function", "function": {"name": "lookup", "description": format!("finds {EMAIL}"),
                   "parameters": {"type": "object", "properties": {"query": {"type": "string",
                   "enum": [EMAIL]}}}}}]});
    let (status, v) = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(status, 200, "{v}");
    let args = v["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"].as_str().unwrap();
    assert!(args.contains(EMAIL), "{args}");
    let got = gw.assert_upstream_clean(1);
    let sent = &got[0].body;
    assert_eq!(sent["tools"][0]["function"]["parameters"]["properties"]["query"]["enum"][0], "[EMAIL_1]");
    assert_eq!(sent["tools"][0]["function"]["parameters"]["properties"]["query"]["type"], "string");
    assert_eq!(sent["tools"][0]["function"]["name"], "lookup");
}

#[tokio::test]
async fn structural_fields_reach_the_provider_unchanged() {
    let gw = gateway("").await;
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
    let body = json!({"model": "mock/echo", "reasoning_effort": "low", "tool_choice": "auto",
    "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "strict": true,
        "schema": {"type": "object", "properties": {"a": {"type": "string", "format": "date-time"}},
                   "required": ["a"], "additionalProperties": false}}},
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{png}"), "detail": "low"}}]},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_9xYz123", "type": "function",
            "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_9xYz123", "content": "sunny"}
    ]});
    let (status, v) = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(status, 200, "{v}");
    let got = gw.mock.received();
    let mut expected = body.clone();
    expected["model"] = json!("echo");
    // The user field was absent; the body arrives as sent, byte for byte in value.
    assert_eq!(got[0].body, expected);
}

#[tokio::test]
async fn identity_fields_are_hashed_by_default_and_can_be_masked_or_dropped() {
    let body = with(with(openai_base(), "/user", json!(EMAIL)), "/prompt_cache_key", json!("tenant-7"));
    let gw = gateway("").await;
    let (status, _) = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(status, 200);
    let (status, _) = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(status, 200);
    let got = gw.mock.received();
    let user = got[0].body["user"].as_str().unwrap().to_string();
    assert!(user.starts_with("veil-") && user.len() == 37, "{user}");
    assert_eq!(got[1].body["user"], user.as_str(), "the pseudonym is stable");
    assert_ne!(got[0].body["prompt_cache_key"], "tenant-7");
    // Across APIs: the same pseudonym arrives as metadata.user_id.
    let mut translated = body.clone();
    translated["model"] = json!("mocka/echo");
    gw.mock.clear();
    let (status, _) = gw.post("/v1/chat/completions", &translated).await;
    assert_eq!(status, 200);
    assert_eq!(gw.mock.received()[0].body["metadata"]["user_id"], user.as_str());
    // Anthropic's metadata.user_id.
    gw.mock.clear();
    let (status, _) = gw.post("/v1/messages", &with(anthropic_base(), "/metadata", json!({"user_id": EMAIL}))).await;
    assert_eq!(status, 200);
    assert!(gw.mock.received()[0].body["metadata"]["user_id"].as_str().unwrap().starts_with("veil-"));

    let gw = gateway("[policy]\nidentity_fields = \"mask\"\n").await;
    let (status, v) = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(gw.mock.received()[0].body["user"], "[EMAIL_1]");

    let gw = gateway("[policy]\nidentity_fields = \"drop\"\n").await;
    let (status, _) = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(status, 200);
    let sent = &gw.mock.received()[0].body;
    assert!(sent.get("user").is_none() && sent.get("prompt_cache_key").is_none(), "{sent}");
}

/// Bodies without the shape Veil needs: 400 in the caller's shape naming the field, never
/// the value; nothing forwarded; audited as refused.
#[tokio::test]
async fn malformed_shapes_are_refused_naming_the_path() {
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        ("/v1/chat/completions", "openai", with(openai_base(), "/messages", json!({"0": PII})), "messages:"),
        (
            "/v1/chat/completions",
            "openai",
            with(openai_base(), "/messages/0/content", json!({"text": PII})),
            "messages[0].content:",
        ),
        (
            "/v1/chat/completions",
            "openai",
            with(openai_base(), "/messages/0/content", json!([{"type": "text", "text": [PII]}])),
            "messages[0].content[0].text:",
        ),
        (
            "/v1/chat/completions",
            "openai",
            with(openai_base(), "/messages/0/content", json!([{"type": null, "text": PII}])),
            "messages[0].content[0].type:",
        ),
        ("/v1/chat/completions", "openai", with(openai_base(), "/messages/0/role", json!(PII)), "messages[0].role:"),
        ("/v1/chat/completions", "openai", with(openai_base(), "/messages/0", json!(PII)), "messages[0]:"),
        (
            "/v1/messages",
            "anthropic",
            with(anthropic_base(), "/system", json!([{"type": null, "text": PII}])),
            "system[0].type:",
        ),
        ("/v1/messages", "anthropic", with(anthropic_base(), "/system", json!({"text": PII})), "system:"),
        (
            "/v1/messages",
            "anthropic",
            with(anthropic_base(), "/messages/0/content", json!([{"text": PII}])),
            "messages[0].content[0].type:",
        ),
        (
            "/v1/messages",
            "anthropic",
            with(anthropic_base(), "/messages/0/content", json!([{"type": "text", "text": {"t": PII}}])),
            "messages[0].content[0].text:",
        ),
        ("/v1/messages", "anthropic", with(anthropic_base(), "/messages/0/content", json!(5)), "messages[0].content:"),
        (
            "/v1/messages",
            "anthropic",
            with(
                anthropic_base(),
                "/messages/0/content",
                json!([{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": 7, "text": PII}]}]),
            ),
            "messages[0].content[0].content[0].type:",
        ),
    ];
    let gw = gateway("").await;
    for (route, client, body, path) in &cases {
        let (status, resp) = gw.post(route, body).await;
        let what = format!("{client} {path}");
        assert_eq!(status, 400, "{what}: {resp}");
        assert_error_shape(client, &resp, &what);
        let msg = resp["error"]["message"].as_str().unwrap();
        assert!(msg.contains(path), "{what}: {msg}");
        assert_clean(&what, msg);
    }
    assert!(gw.mock.received().is_empty(), "a malformed body was forwarded");
    let recs = gw.audit_records().await;
    assert_eq!(recs.len(), cases.len());
    assert!(recs.iter().all(|r| r["outcome"] == "refused"), "{recs:?}");
    assert_clean("audit", &serde_json::to_string(&recs).unwrap());
    // Truncated JSON: refused the same way.
    let (status, resp) = gw.post_raw("/v1/messages", &anthropic_base().to_string()[..30]).await;
    assert_eq!(status, 400);
    assert_error_shape("anthropic", &resp, "truncated");
}

// ---------------------------------------------------------------------------------------
// Property test: generated and mutated bodies
// ---------------------------------------------------------------------------------------

/// A mutation applied to a body, at a node picked by `at` (an index into the body's
/// nodes in document order, modulo their count).
#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the node by the PII string, a list holding it, an object holding it, null,
    /// or a number.
    Replace { at: usize, with: u8 },
    /// Add a field holding PII to an object node (or wrap the node).
    AddField { at: usize, name: u8 },
    /// Change a `type` field to another known or unknown type.
    Retype { at: usize, to: u8 },
    /// Wrap the node in `depth` levels of lists and objects.
    Nest { at: usize, depth: u8 },
}

const FIELD_NAMES: &[&str] = &["user", "metadata", "name", "x_new", "description", "text", "content", "input"];
const TYPES: &[&str] = &[
    "text",
    "image_url",
    "input_file",
    "file",
    "document",
    "tool_use",
    "tool_result",
    "search_result",
    "thinking",
    "refusal",
    "image",
    "web_search_tool_result",
    "brand_new_type",
];

fn node_count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(node_count).sum(),
        Value::Object(o) => o.values().map(node_count).sum(),
        _ => 0,
    }
}

/// Calls `f` on the `n`th node in document order; false when there are fewer nodes.
fn visit_nth(v: &mut Value, n: &mut usize, f: &mut dyn FnMut(&mut Value)) -> bool {
    if *n == 0 {
        f(v);
        return true;
    }
    *n -= 1;
    match v {
        Value::Array(a) => a.iter_mut().any(|x| visit_nth(x, n, f)),
        Value::Object(o) => o.values_mut().any(|x| visit_nth(x, n, f)),
        _ => false,
    }
}

fn with_node(v: &mut Value, at: usize, f: impl FnOnce(&mut Value)) {
    let mut n = at % node_count(v);
    let mut f = Some(f);
    visit_nth(v, &mut n, &mut |node| {
        if let Some(f) = f.take() {
            f(node)
        }
    });
}

fn mutate(body: &mut Value, m: &Mutation) {
    match *m {
        Mutation::Replace { at, with } => with_node(body, at, |n| {
            *n = match with % 5 {
                0 => json!(PII),
                1 => json!([PII]),
                2 => json!({"text": PII, "type": "text"}),
                3 => Value::Null,
                _ => json!(42),
            }
        }),
        Mutation::AddField { at, name } => with_node(body, at, |n| {
            let field = FIELD_NAMES[name as usize % FIELD_NAMES.len()];
            match n {
                Value::Object(o) => {
                    o.insert(field.to_string(), json!(PII));
                }
                other => *other = json!({ field: PII, "was": other.clone() }),
            }
        }),
        Mutation::Retype { at, to } => with_node(body, at, |n| {
            if let Value::Object(o) = n {
                o.insert("type".into(), json!(TYPES[to as usize % TYPES.len()]));
            }
        }),
        Mutation::Nest { at, depth } => with_node(body, at, |n| {
            for d in 0..(depth % 12) {
                *n = if d % 2 == 0 { json!([n.clone()]) } else { json!({"inner": n.clone(), "note": PII}) };
            }
        }),
    }
}

/// Valid bodies of both APIs with values in many places.
fn seeds() -> Vec<(&'static str, &'static str, Value)> {
    let mut out: Vec<(&str, &str, Value)> = Vec::new();
    for (_, b) in openai_cases() {
        out.push(("/v1/chat/completions", "openai", b));
    }
    for (_, b) in anthropic_cases() {
        out.push(("/v1/messages", "anthropic", b));
    }
    out
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, with)| Mutation::Replace { at, with }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, name)| Mutation::AddField { at, name }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, to)| Mutation::Retype { at, to }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, depth)| Mutation::Nest { at, depth }),
    ]
}

#[test]
fn generated_and_mutated_bodies_never_leak_and_never_fail_with_500() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let gw = rt.block_on(gateway(""));
    let seeds = seeds();
    let config = ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() };
    proptest!(config, |(seed in 0..seeds.len(), provider in 0..2usize, stream in any::<bool>(),
                        muts in prop::collection::vec(mutation(), 0..4), truncate in prop::option::weighted(0.1, any::<usize>()))| {
        let (route, client, base) = &seeds[seed];
        let mut body = base.clone();
        body["model"] = json!(if provider == 0 { "mock/echo" } else { "mocka/echo" });
        body["stream"] = json!(stream);
        for m in &muts {
            mutate(&mut body, m);
        }
        let mut text = body.to_string();
        if let Some(cut) = truncate {
            let mut cut = cut % text.len().max(1);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        let (status, resp) = rt.block_on(async {
            gw.mock.clear();
            gw.post_raw(route, &text).await
        });
        let what = format!("{client} {muts:?} truncate={truncate:?}");
        prop_assert!(status < 500, "{}: status {} for {}: {}", what, status, text, resp);
        for r in gw.mock.received() {
            let raw = r.body.to_string();
            prop_assert!(!raw.contains(EMAIL) && !raw.contains(CARD), "{}: leaked {} from {}", what, raw, text);
        }
        if status >= 400 {
            if *client == "openai" {
                prop_assert!(resp["error"]["message"].is_string(), "{}: {}", what, resp);
            } else {
                prop_assert!(resp["type"] == "error", "{}: {}", what, resp);
            }
            let shown = resp.to_string();
            prop_assert!(!shown.contains(EMAIL) && !shown.contains(CARD), "{}: error holds a value: {}", what, shown);
        }
    });
    let recs = rt.block_on(gw.audit_records());
    assert_clean("audit log", &serde_json::to_string(&recs).unwrap());
}

/// The real binary at debug level: after every field case, malformed body and translated
/// request, neither its logs nor its audit log hold a value.
#[tokio::test]
async fn logs_and_audit_of_the_binary_hold_no_value() {
    let mock = veil_mock::MockProvider::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let audit = dir.path().join("audit.jsonl");
    let cfg = dir.path().join("veil.toml");
    std::fs::write(
        &cfg,
        format!(
            "[providers.mock]\nkind = \"openai\"\nbase_url = \"{}\"\n[providers.mocka]\nkind = \"anthropic\"\n\
             base_url = \"{}\"\n[detect]\nmodel = \"none\"\n[audit]\npath = \"{}\"\n",
            mock.openai_base_url(),
            mock.anthropic_base_url(),
            audit.display()
        ),
    )
    .unwrap();
    let log = dir.path().join("veil.log");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--config"])
        .arg(&cfg)
        .env("RUST_LOG", "debug")
        .env("VEIL_AUDIT_KEY", "logs-test-key")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "veil did not become ready");
    let mut sent = 0;
    for (route, cases) in [("/v1/chat/completions", openai_cases()), ("/v1/messages", anthropic_cases())] {
        for (_, body) in cases {
            for provider in ["mock", "mocka"] {
                let mut body = body.clone();
                body["model"] = json!(format!("{provider}/echo"));
                let r = client.post(format!("{base}{route}")).json(&body).send().await.unwrap();
                assert!(r.status().as_u16() < 500, "{route} {provider}: {}", r.status());
                sent += 1;
            }
        }
    }
    for bad in [
        with(openai_base(), "/messages/0/content", json!({"text": PII})),
        with(openai_base(), "/model", json!(PII)),
        with(anthropic_base(), "/messages/0/role", json!(PII)),
    ] {
        let route = if bad.get("max_tokens").is_some() { "/v1/messages" } else { "/v1/chat/completions" };
        let r = client.post(format!("{base}{route}")).json(&bad).send().await.unwrap();
        assert!(r.status().is_client_error(), "{}", r.status());
        sent += 1;
    }
    // Give the audit writer its flush interval, then stop veil by its PID.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    child.kill().await.unwrap();
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.contains("request"), "no request log lines at debug level: {logs}");
    assert_clean("logs", &logs);
    let records = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(records.lines().count(), sent, "one audit record per request");
    assert_clean("audit log", &records);
}
