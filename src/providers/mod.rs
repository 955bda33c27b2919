//! Providers (step 3 of the request flow): the wire formats Veil speaks and the provider
//! kinds it reaches them through. The pipeline calls the methods below ([`ApiKind`],
//! [`ProviderKind`]) and never matches on an API or a kind itself; every match here is
//! exhaustive, so a new variant is a compile error wherever it needs a rule.
//!
//! - **Wire formats**, one module each: `openai` (Chat Completions), `anthropic` (Messages),
//!   `responses` (the Responses API), `embeddings`, `gemini`, `bedrock`. Each owns its field
//!   rules (which strings are text, for masking and restore, deny by default), its stream
//!   deltas and error bodies.
//! - **Chat Completions is the canonical form.** `translate` converts Messages to and from
//!   it (requests, answers, streams; [`translate::request`], [`translate::response`],
//!   [`translate::StreamConvert`] pick the direction), `responses_chat` does the same for
//!   the Responses API, and `gemini` and `bedrock` for their native formats, so every client
//!   API reaches every kind with two converters per format. When the client's API is the
//!   upstream's, the body passes through as the client wrote it (texts masked).
//! - A [`ProviderKind`] is how an upstream is reached: its URL per [`Endpoint`], its key
//!   header or request signature, its native format, how its error bodies read, and which
//!   wire API the pipeline sees it as ([`ProviderKind::wire`]).

use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

pub mod anthropic;
pub mod azure;
pub mod bedrock; // bedrock: AWS Bedrock Converse, SigV4
pub mod embeddings;
pub mod fields;
pub mod gemini;
pub mod openai;
pub mod responses; // responses: the OpenAI Responses API wire
pub mod responses_chat; // responses: Responses ⇄ Chat Completions, for the other kinds
pub mod restore; // streaming restore, the client side: each API's events
pub mod sse;
pub mod translate;

/// The key variable of an `azure` provider without `api_key_env` (the openai SDK's name).
pub const AZURE_KEY_ENV: &str = "AZURE_OPENAI_API_KEY";

/// The key variable of a `gemini` provider without `api_key_env`.
pub const GEMINI_KEY_ENV: &str = "GEMINI_API_KEY";

/// A wire API: what clients speak to Veil and what upstreams speak to Veil.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiKind {
    /// OpenAI Chat Completions (`/v1/chat/completions`), also any OpenAI-compatible server.
    OpenAi,
    /// Anthropic Messages (`/v1/messages`).
    Anthropic,
}

impl ApiKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            ApiKind::OpenAi => "openai",
            ApiKind::Anthropic => "anthropic",
        }
    }

    // The wire rules of each API, for the pipeline (which never matches on a kind itself).

    /// The route a client of this API posts conversations to (the audit `route`).
    pub const fn route(self) -> &'static str {
        match self {
            ApiKind::OpenAi => "/v1/chat/completions",
            ApiKind::Anthropic => "/v1/messages",
        }
    }

    /// The minimum request shape Veil needs; the error names the field, never a value.
    pub fn validate_request(self, body: &Value) -> Result<(), String> {
        match self {
            ApiKind::OpenAi => openai::validate_request(body),
            ApiKind::Anthropic => anthropic::validate_request(body),
        }
    }

    /// Whether the request asks for a stream.
    pub fn is_stream(self, body: &Value) -> bool {
        match self {
            ApiKind::OpenAi => openai::is_stream(body),
            ApiKind::Anthropic => anthropic::is_stream(body),
        }
    }

    /// Every string of a request that is not structural (deny by default).
    pub fn request_texts(self, body: &mut Value) -> Result<Vec<TextRef<'_>>, fields::ShapeError> {
        match self {
            ApiKind::OpenAi => openai::request_texts(body),
            ApiKind::Anthropic => anthropic::request_texts(body),
        }
    }

    /// Every text of a plain answer, for restore.
    pub fn response_texts(self, body: &mut Value) -> Vec<TextRef<'_>> {
        match self {
            ApiKind::OpenAi => openai::response_texts(body),
            ApiKind::Anthropic => anthropic::response_texts(body),
        }
    }

    /// Removes the end-user identifier fields (`[policy] identity_fields = "drop"`).
    pub fn remove_identity_fields(self, body: &mut Value) {
        match self {
            ApiKind::OpenAi => {
                if let Some(map) = body.as_object_mut() {
                    for field in openai::IDENTITY_FIELDS {
                        map.remove(*field);
                    }
                }
            }
            ApiKind::Anthropic => {
                if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.remove("user_id");
                }
            }
        }
    }

    /// `(input, output)` tokens of a plain answer or of a stream event of this API.
    pub fn usage(self, body: &Value) -> Option<(u64, u64)> {
        match self {
            ApiKind::OpenAi => openai::usage(body),
            ApiKind::Anthropic => anthropic::usage(body),
        }
    }

    /// An error body in this API's shape (`openai_type`, `code`: OpenAI's `type` and
    /// `code`; `anthropic_type`: Anthropic's `type`).
    pub fn error_body(self, message: &str, openai_type: &str, code: &str, anthropic_type: &str) -> Value {
        match self {
            ApiKind::OpenAi => openai::error_body(message, openai_type, Some(code)),
            ApiKind::Anthropic => anthropic::error_body(message, anthropic_type),
        }
    }

    /// The events that end a stream of this API after a mid-stream failure, `body` being
    /// [`ApiKind::error_body`]'s: a data event and `[DONE]` (Chat Completions), an `error`
    /// event (Messages).
    pub fn stream_error_events(self, body: &Value) -> Vec<sse::SseEvent> {
        match self {
            ApiKind::OpenAi => vec![
                sse::SseEvent { data: body.to_string(), ..Default::default() },
                sse::SseEvent { data: "[DONE]".into(), ..Default::default() },
            ],
            ApiKind::Anthropic => {
                vec![sse::SseEvent { event: Some("error".into()), data: body.to_string(), ..Default::default() }]
            }
        }
    }

    /// Headers an upstream of this wire API needs besides its key, for a client of `client`:
    /// Anthropic's `anthropic-version` (the client's own when it speaks Messages too, else the
    /// version Veil's translation writes) and `anthropic-beta` (from a Messages client only).
    pub fn upstream_headers(
        self,
        client: ApiKind,
        client_headers: &http::HeaderMap,
    ) -> Vec<(&'static str, http::HeaderValue)> {
        match self {
            ApiKind::OpenAi => Vec::new(),
            ApiKind::Anthropic => {
                let same = client == ApiKind::Anthropic;
                let version = client_headers
                    .get("anthropic-version")
                    .filter(|_| same)
                    .cloned()
                    .unwrap_or(http::HeaderValue::from_static(anthropic::VERSION));
                let mut out = vec![("anthropic-version", version)];
                if let Some(beta) = client_headers.get("anthropic-beta").filter(|_| same) {
                    out.push(("anthropic-beta", beta.clone()));
                }
                out
            }
        }
    }
}

impl fmt::Display for ApiKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "openai" => Ok(ApiKind::OpenAi),
            "anthropic" => Ok(ApiKind::Anthropic),
            _ => Err(format!("{s:?}: expected \"openai\" or \"anthropic\"")),
        }
    }
}

/// How Veil reaches an upstream: `kind = "openai"`, `"anthropic"`, `"azure"`, `"gemini"` or
/// `"bedrock"` in a `[providers.NAME]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenAI or any OpenAI-compatible server: `{base_url}/chat/completions`, bearer key.
    OpenAi,
    /// Anthropic: `{base_url}/v1/messages`, `x-api-key`.
    Anthropic,
    /// Azure OpenAI: `{base_url}/openai/deployments/{MODEL}/...?api-version=`, `api-key`.
    Azure(azure::AzureSettings),
    /// Google Gemini's native API: `{base_url}/v1beta/models/{MODEL}:generateContent`
    /// (`:streamGenerateContent?alt=sse`), `x-goog-api-key`. Speaks its own format on the
    /// wire; the pipeline sees it as a Chat Completions upstream (see `gemini`).
    Gemini,
    /// AWS Bedrock's Converse API: `{base_url}/model/{MODEL}/converse` (`/converse-stream`,
    /// binary event-stream frames), SigV4-signed. Seen by the pipeline as a Chat Completions
    /// upstream, like Gemini (see `bedrock`).
    Bedrock(bedrock::BedrockSettings),
}

/// An upstream operation, for [`ProviderKind::url`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The kind's conversation endpoint (Chat Completions, or Messages for Anthropic).
    Chat,
    /// OpenAI-style embeddings.
    Embeddings,
}

impl Endpoint {
    pub const fn as_str(self) -> &'static str {
        match self {
            Endpoint::Chat => "chat",
            Endpoint::Embeddings => "embeddings",
        }
    }
}

/// Why [`ProviderKind::url`] has no URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlError {
    /// The kind has no such endpoint (embeddings on Anthropic).
    NoEndpoint,
    /// The model cannot be a path segment of this kind's URLs; says what it must be
    /// ("a deployment name (letters, ...)").
    BadModel(&'static str),
}

/// What an Azure deployment or Gemini model must look like (for [`UrlError::BadModel`]).
const SEGMENT_RULE: &str = "a deployment name (letters, digits, '-', '_', '.', '+', '=')";

/// Which field carries the output-token limit in an OpenAI-format request built by
/// translation (reasoning models refuse `max_tokens`; many OpenAI-compatible servers only
/// know `max_tokens`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxTokensField {
    MaxTokens,
    MaxCompletionTokens,
}

impl MaxTokensField {
    pub const fn as_str(self) -> &'static str {
        match self {
            MaxTokensField::MaxTokens => "max_tokens",
            MaxTokensField::MaxCompletionTokens => "max_completion_tokens",
        }
    }
}

impl ProviderKind {
    /// The names `kind` accepts in the config.
    pub const NAMES: &'static [&'static str] = &["openai", "anthropic", "azure", "gemini", "bedrock"];

    pub const fn as_str(&self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Azure(_) => "azure",
            ProviderKind::Gemini => "gemini",
            ProviderKind::Bedrock(_) => "bedrock",
        }
    }

    /// The base URL of a provider of this kind without `base_url`, where the kind has one
    /// of its own (Bedrock: from its region); else the built-in provider's, if any.
    pub fn default_base_url(&self) -> Option<String> {
        match self {
            ProviderKind::Bedrock(b) => Some(bedrock::default_base_url(&b.region)),
            ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure(_) | ProviderKind::Gemini => None,
        }
    }

    /// The key variable of a provider of this kind without `api_key_env` (`builtin`: the
    /// built-in provider's of that name, if any).
    pub fn default_key_env(&self, builtin: Option<&'static str>) -> Option<&'static str> {
        match self {
            ProviderKind::Azure(_) => Some(AZURE_KEY_ENV),
            ProviderKind::OpenAi | ProviderKind::Anthropic => builtin,
            ProviderKind::Gemini => Some(builtin.unwrap_or(GEMINI_KEY_ENV)),
            ProviderKind::Bedrock(_) => Some(bedrock::CREDENTIALS_ENV),
        }
    }

    /// A key the kind's own settings hold (Bedrock: the secret half of the AWS key, which
    /// says there is one; requests are signed with both halves, see `bedrock::sign`), else
    /// `None`: the key comes from `api_key_env`.
    pub fn own_key(&self) -> Option<secrecy::SecretString> {
        match self {
            ProviderKind::Bedrock(b) => b.secret(),
            ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure(_) | ProviderKind::Gemini => None,
        }
    }

    /// The wire API the upstream speaks, as the pipeline sees it (Gemini: Chat Completions,
    /// converted to and from Gemini's format at the edge by [`ProviderKind::to_native`],
    /// [`ProviderKind::from_native`] and [`ProviderKind::native_stream`]).
    pub const fn wire(&self) -> ApiKind {
        match self {
            ProviderKind::OpenAi | ProviderKind::Azure(_) | ProviderKind::Gemini | ProviderKind::Bedrock(_) => {
                ApiKind::OpenAi
            }
            ProviderKind::Anthropic => ApiKind::Anthropic,
        }
    }

    /// The upstream URL of `endpoint` for `model` (the part after `provider/`).
    pub fn url(&self, base_url: &str, endpoint: Endpoint, model: &str) -> Result<String, UrlError> {
        match self {
            ProviderKind::OpenAi => Ok(openai::url(base_url, endpoint)),
            ProviderKind::Anthropic => anthropic::url(base_url, endpoint).ok_or(UrlError::NoEndpoint),
            ProviderKind::Azure(settings) => {
                azure::url(base_url, settings, endpoint, model).ok_or(UrlError::BadModel(SEGMENT_RULE))
            }
            ProviderKind::Gemini => match endpoint {
                Endpoint::Chat => gemini::url(base_url, model, false),
                Endpoint::Embeddings => gemini::embeddings_url(base_url, model),
            }
            .ok_or(UrlError::BadModel(SEGMENT_RULE)),
            ProviderKind::Bedrock(_) => match endpoint {
                Endpoint::Chat => bedrock::url(base_url, model, false).ok_or(UrlError::BadModel(bedrock::MODEL_RULE)),
                // Titan text embeddings through InvokeModel.
                Endpoint::Embeddings => {
                    bedrock::embeddings_url(base_url, model).ok_or(UrlError::BadModel(bedrock::EMBEDDINGS_MODEL_RULE))
                }
            },
        }
    }

    /// The conversation URL for a plain or streamed request: the same for every kind but
    /// Gemini and Bedrock, whose streams have their own method (`:streamGenerateContent?alt=sse`,
    /// `/converse-stream`).
    pub fn chat_url(&self, base_url: &str, model: &str, stream: bool) -> Result<String, UrlError> {
        match self {
            ProviderKind::Gemini => gemini::url(base_url, model, stream).ok_or(UrlError::BadModel(SEGMENT_RULE)),
            ProviderKind::Bedrock(_) => {
                bedrock::url(base_url, model, stream).ok_or(UrlError::BadModel(bedrock::MODEL_RULE))
            }
            ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure(_) => {
                self.url(base_url, Endpoint::Chat, model)
            }
        }
    }

    /// The body the upstream gets from the [`ProviderKind::wire`]-format body the pipeline
    /// built: itself, or (Gemini) its translation.
    pub fn to_native(&self, wire_body: Value) -> Result<Value, translate::TranslateError> {
        match self {
            ProviderKind::Gemini => gemini::from_openai_request(&wire_body),
            ProviderKind::Bedrock(_) => bedrock::from_openai_request(&wire_body),
            ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure(_) => Ok(wire_body),
        }
    }

    /// The text visitor of the native body when [`ProviderKind::to_native`] translated it.
    pub fn native_texts<'a>(&self, body: &'a mut Value) -> Option<Result<Vec<TextRef<'a>>, fields::ShapeError>> {
        match self {
            ProviderKind::Gemini => Some(gemini::request_texts(body)),
            ProviderKind::Bedrock(_) => Some(bedrock::request_texts(body)),
            ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure(_) => None,
        }
    }

    /// A plain answer in the [`ProviderKind::wire`] format; a safety block (Bedrock: a
    /// guardrail or content-filter stop) is an error.
    pub fn from_native(&self, body: Value, model: &str) -> Result<Value, gemini::Blocked> {
        match self {
            ProviderKind::Gemini => gemini::to_openai_response(&body, model),
            ProviderKind::Bedrock(_) => bedrock::to_openai_response(&body, model),
            ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure(_) => Ok(body),
        }
    }

    /// The converter of a native event stream into [`ProviderKind::wire`]-format events,
    /// for a kind that needs one.
    pub fn native_stream(&self, model: &str) -> Option<NativeStream> {
        match self {
            ProviderKind::Gemini => Some(NativeStream::Gemini(gemini::GeminiToOpenAiStream::new(model))),
            ProviderKind::Bedrock(_) => Some(NativeStream::Bedrock(bedrock::BedrockToOpenAiStream::new(model))),
            ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure(_) => None,
        }
    }

    // >>> embeddings: a kind whose embeddings API is not OpenAI's
    /// The embeddings body this kind's upstream gets from the (masked) OpenAI embeddings
    /// request: itself, or (Gemini) a `batchEmbedContents` body.
    pub fn embeddings_to_native(&self, body: Value, model: &str) -> Result<Value, translate::TranslateError> {
        match self {
            ProviderKind::Gemini => gemini::embeddings_request(&body, model),
            // Bedrock: a list of Titan InvokeModel bodies, one per input ([`ProviderKind::embeddings_calls`]).
            ProviderKind::Bedrock(_) => bedrock::embeddings_requests(&body),
            ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure(_) => Ok(body),
        }
    }

    /// The input texts of a body [`ProviderKind::embeddings_to_native`] translated, for the
    /// check that each went through the masker (`None`: sent as the client's own format).
    pub fn native_embedding_texts<'a>(&self, body: &'a Value) -> Option<Option<Vec<&'a str>>> {
        match self {
            ProviderKind::Gemini => Some(gemini::embeddings_request_texts(body)),
            ProviderKind::Bedrock(_) => Some(bedrock::embeddings_request_texts(body)),
            ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure(_) => None,
        }
    }

    /// An embeddings answer in OpenAI's shape (`base64`: the client asked for
    /// `encoding_format: "base64"`); `None` when the upstream's answer has no such shape.
    pub fn embeddings_from_native(&self, answer: Value, model: &str, base64: bool) -> Option<Value> {
        match self {
            ProviderKind::Gemini => gemini::embeddings_response(&answer, model, base64),
            ProviderKind::Bedrock(_) => bedrock::embeddings_response(&answer, model, base64),
            ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure(_) => Some(answer),
        }
    }

    // >>> bedrock: embeddings that take one upstream call per input
    /// The upstream calls of a body [`ProviderKind::embeddings_to_native`] built: the body
    /// itself, or (Bedrock, whose InvokeModel embeds one text) one call per element of its
    /// list, whose answers go to [`ProviderKind::embeddings_from_native`] as a list, in order.
    pub fn embeddings_calls(&self, native: Value) -> EmbeddingCalls {
        match self {
            ProviderKind::Bedrock(_) => match native {
                Value::Array(calls) => EmbeddingCalls::Each(calls),
                other => EmbeddingCalls::One(other),
            },
            ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure(_) | ProviderKind::Gemini => {
                EmbeddingCalls::One(native)
            }
        }
    }
    // <<< bedrock
    // <<< embeddings

    /// Whether an open sidecar may forward the key the client's SDK sent (when the client
    /// speaks this kind's wire API and the provider has no key of its own). Not for Bedrock:
    /// it signs with AWS credentials, which no client SDK sends.
    pub fn takes_forwarded_key(&self) -> bool {
        match self {
            ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure(_) | ProviderKind::Gemini => true,
            ProviderKind::Bedrock(_) => false,
        }
    }

    /// Adds the provider key the way this kind expects it.
    pub fn authorize(&self, req: reqwest::RequestBuilder, key: &str) -> reqwest::RequestBuilder {
        match self {
            ProviderKind::OpenAi => openai::authorize(req, key),
            ProviderKind::Anthropic => anthropic::authorize(req, key),
            ProviderKind::Azure(_) => azure::authorize(req, key),
            ProviderKind::Gemini => gemini::authorize(req, key),
            // Bedrock signs the whole request instead ([`ProviderKind::sign`]).
            ProviderKind::Bedrock(_) => req,
        }
    }

    // >>> bedrock: request signing, after every header and the body are final
    /// Signs the finished request for a kind that signs requests (Bedrock: SigV4); the
    /// others are left as they are.
    pub fn sign(&self, req: &mut reqwest::Request) -> Result<(), bedrock::SignError> {
        match self {
            ProviderKind::Bedrock(settings) => bedrock::sign(settings, req),
            ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure(_) | ProviderKind::Gemini => Ok(()),
        }
    }
    // <<< bedrock

    /// The message of an upstream error (its body, and for Bedrock the exception the
    /// `x-amzn-errortype` header names), best effort.
    pub fn error_message(&self, headers: &http::HeaderMap, body: &[u8]) -> Option<String> {
        match self {
            ProviderKind::OpenAi => openai::upstream_error_message(body),
            ProviderKind::Anthropic => anthropic::upstream_error_message(body),
            ProviderKind::Azure(_) => azure::upstream_error_message(body),
            ProviderKind::Gemini => gemini::upstream_error_message(body),
            ProviderKind::Bedrock(_) => bedrock::upstream_error_message(headers, body),
        }
    }

    /// The token-limit field for a request translated into this kind's OpenAI format:
    /// `max_completion_tokens` for Azure and for OpenAI's own API (`api.openai.com`), which
    /// take it for every model, `max_tokens` for other OpenAI-compatible servers.
    pub fn max_tokens_field(&self, base_url: &str) -> MaxTokensField {
        match self {
            ProviderKind::OpenAi if openai::is_openai_api(base_url) => MaxTokensField::MaxCompletionTokens,
            ProviderKind::OpenAi | ProviderKind::Anthropic => MaxTokensField::MaxTokens,
            ProviderKind::Azure(_) => MaxTokensField::MaxCompletionTokens,
            // Gemini's and Bedrock's translations read either.
            ProviderKind::Gemini | ProviderKind::Bedrock(_) => MaxTokensField::MaxTokens,
        }
    }
}

// >>> bedrock
/// What [`ProviderKind::embeddings_calls`] sends upstream.
pub enum EmbeddingCalls {
    /// One call with this body; its answer as is.
    One(Value),
    /// One call per body, in order; the answers as a JSON list.
    Each(Vec<Value>),
}
// <<< bedrock

// >>> bedrock: a native stream converter, fed SSE events or (a stream that is not SSE) raw bytes
/// A kind's converter of its own event stream into [`ProviderKind::wire`]-format (Chat
/// Completions) SSE events.
pub enum NativeStream {
    /// `alt=sse` chunks of `GenerateContentResponse`.
    Gemini(gemini::GeminiToOpenAiStream),
    /// `application/vnd.amazon.eventstream` frames, decoded from the body bytes.
    Bedrock(bedrock::BedrockToOpenAiStream),
}

impl NativeStream {
    /// The wire events that the body bytes `bytes` complete, for a stream that is not SSE;
    /// `None`: the body is SSE (decode it, and pass each event to [`NativeStream::on_event`]).
    pub fn on_bytes(&mut self, bytes: &[u8]) -> Option<Vec<sse::SseEvent>> {
        match self {
            NativeStream::Gemini(_) => None,
            NativeStream::Bedrock(s) => Some(s.on_bytes(bytes)),
        }
    }

    /// The wire events of one native SSE event.
    pub fn on_event(&mut self, ev: &sse::SseEvent) -> Vec<sse::SseEvent> {
        match self {
            NativeStream::Gemini(s) => s.on_event(ev),
            // Its body is not SSE: every byte goes through `on_bytes`.
            NativeStream::Bedrock(_) => Vec::new(),
        }
    }

    /// The closing wire events at the end of the body.
    pub fn finish(&mut self) -> Vec<sse::SseEvent> {
        match self {
            NativeStream::Gemini(s) => s.finish(),
            NativeStream::Bedrock(s) => s.finish(),
        }
    }
}
// <<< bedrock

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text field inside a JSON body, borrowed mutably for masking or restore.
#[derive(Debug)]
pub enum TextRef<'a> {
    /// Plain text (message content, system prompt, tool result text).
    Plain(&'a mut String),
    /// A string whose content is JSON text (OpenAI `function.arguments`).
    JsonText(&'a mut String),
    /// An end-user identifier (OpenAI `user`, `safety_identifier`, `prompt_cache_key`,
    /// Anthropic `metadata.user_id`): masked like text, then handled by
    /// `[policy] identity_fields` (hashed to a stable pseudonym by default).
    Identity(&'a mut String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_client_api_and_wire_api_pair_has_its_converter() {
        let chat = json!({"model": "x", "messages": [{"role": "user", "content": "hi"}], "stream": true});
        let msgs = json!({"model": "x", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]});
        let mt = MaxTokensField::MaxTokens;
        // Same API: the client's body, model replaced; a Chat stream asks for usage.
        let out = translate::request(ApiKind::OpenAi, ApiKind::OpenAi, &chat, "m", mt, true).unwrap();
        assert!(!out.translated && out.strip_usage);
        assert_eq!(out.body["model"], "m");
        assert_eq!(out.body["stream_options"]["include_usage"], true);
        let out = translate::request(ApiKind::Anthropic, ApiKind::Anthropic, &msgs, "m", mt, false).unwrap();
        assert!(!out.translated && !out.strip_usage && out.body["model"] == "m");
        // Across: translated, and flagged for the translation check.
        let out = translate::request(ApiKind::OpenAi, ApiKind::Anthropic, &chat, "m", mt, true).unwrap();
        assert!(out.translated && out.body["max_tokens"].is_u64());
        let out = translate::request(ApiKind::Anthropic, ApiKind::OpenAi, &msgs, "m", mt, false).unwrap();
        assert!(out.translated && out.body["messages"][0]["content"] == "hi");
        // A client that asked for usage keeps its chunk.
        let mut asked = chat.clone();
        asked["stream_options"] = json!({"include_usage": true});
        assert!(!openai::ask_stream_usage(&mut asked));
    }

    #[test]
    fn anthropic_upstreams_get_their_version_header_and_a_messages_clients_beta() {
        let mut h = http::HeaderMap::new();
        h.insert("anthropic-version", http::HeaderValue::from_static("2024-01-01"));
        h.insert("anthropic-beta", http::HeaderValue::from_static("tools-2024"));
        assert!(ApiKind::OpenAi.upstream_headers(ApiKind::OpenAi, &h).is_empty());
        let same = ApiKind::Anthropic.upstream_headers(ApiKind::Anthropic, &h);
        assert_eq!(
            same,
            vec![
                ("anthropic-version", h["anthropic-version"].clone()),
                ("anthropic-beta", h["anthropic-beta"].clone())
            ]
        );
        let translated = ApiKind::Anthropic.upstream_headers(ApiKind::OpenAi, &h);
        assert_eq!(translated, vec![("anthropic-version", http::HeaderValue::from_static(anthropic::VERSION))]);
    }

    #[test]
    fn stream_errors_end_each_api_s_stream_its_own_way() {
        let body = ApiKind::OpenAi.error_body("bad", "server_error", "upstream_unreachable", "api_error");
        let evs = ApiKind::OpenAi.stream_error_events(&body);
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[1].data, "[DONE]");
        let body = ApiKind::Anthropic.error_body("bad", "server_error", "upstream_unreachable", "api_error");
        let evs = ApiKind::Anthropic.stream_error_events(&body);
        assert_eq!(evs[0].event.as_deref(), Some("error"));
        assert!(evs[0].data.contains("api_error"));
    }
}
