//! Providers (step 3 of the request flow): the two wire APIs Veil speaks, on both sides,
//! and the provider kinds it reaches them through.
//! Each API module owns its wire shapes: which fields hold text (for masking and
//! restore), how stream events carry deltas, how errors look. `translate` converts
//! requests, responses and stream events between the two APIs; `embeddings` is the
//! OpenAI embeddings wire format.
//!
//! A [`ProviderKind`] is how an upstream is reached: its URL per [`Endpoint`], its auth
//! header, how its error bodies read, and which wire API it speaks ([`ProviderKind::wire`]).
//! Each kind's rules live in its own module (`openai`, `anthropic`, `azure`, `gemini`); the pipeline
//! calls the methods below and never matches on a kind itself.

use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

pub mod anthropic;
pub mod azure;
pub mod embeddings;
pub mod fields;
pub mod gemini;
pub mod openai;
pub mod responses; // responses: the OpenAI Responses API wire
pub mod sse;
pub mod translate;

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

/// How Veil reaches an upstream: `kind = "openai"`, `"anthropic"`, `"azure"` or `"gemini"` in a
/// `[providers.NAME]` table.
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
    /// The model cannot be a path segment of this kind's URLs (an Azure deployment name).
    BadModel,
}

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
    pub const NAMES: &'static [&'static str] = &["openai", "anthropic", "azure", "gemini"];

    pub const fn as_str(&self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Azure(_) => "azure",
            ProviderKind::Gemini => "gemini",
        }
    }

    /// The wire API the upstream speaks, as the pipeline sees it (Gemini: Chat Completions,
    /// converted to and from Gemini's format at the edge by [`ProviderKind::to_native`],
    /// [`ProviderKind::from_native`] and [`ProviderKind::native_stream`]).
    pub const fn wire(&self) -> ApiKind {
        match self {
            ProviderKind::OpenAi | ProviderKind::Azure(_) | ProviderKind::Gemini => ApiKind::OpenAi,
            ProviderKind::Anthropic => ApiKind::Anthropic,
        }
    }

    /// The upstream URL of `endpoint` for `model` (the part after `provider/`).
    pub fn url(&self, base_url: &str, endpoint: Endpoint, model: &str) -> Result<String, UrlError> {
        match self {
            ProviderKind::OpenAi => Ok(openai::url(base_url, endpoint)),
            ProviderKind::Anthropic => anthropic::url(base_url, endpoint).ok_or(UrlError::NoEndpoint),
            ProviderKind::Azure(settings) => azure::url(base_url, settings, endpoint, model).ok_or(UrlError::BadModel),
            ProviderKind::Gemini => match endpoint {
                Endpoint::Chat => gemini::url(base_url, model, false),
                Endpoint::Embeddings => gemini::embeddings_url(base_url, model),
            }
            .ok_or(UrlError::BadModel),
        }
    }

    /// The conversation URL for a plain or streamed request: the same for every kind but
    /// Gemini, whose streams have their own method (`:streamGenerateContent?alt=sse`).
    pub fn chat_url(&self, base_url: &str, model: &str, stream: bool) -> Result<String, UrlError> {
        match self {
            ProviderKind::Gemini => gemini::url(base_url, model, stream).ok_or(UrlError::BadModel),
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
            ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure(_) => Ok(wire_body),
        }
    }

    /// The text visitor of the native body when [`ProviderKind::to_native`] translated it.
    pub fn native_texts<'a>(&self, body: &'a mut Value) -> Option<Result<Vec<TextRef<'a>>, fields::ShapeError>> {
        match self {
            ProviderKind::Gemini => Some(gemini::request_texts(body)),
            ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure(_) => None,
        }
    }

    /// A plain answer in the [`ProviderKind::wire`] format; a safety block is an error.
    pub fn from_native(&self, body: Value, model: &str) -> Result<Value, gemini::Blocked> {
        match self {
            ProviderKind::Gemini => gemini::to_openai_response(&body, model),
            ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure(_) => Ok(body),
        }
    }

    /// The converter of a native event stream into [`ProviderKind::wire`]-format events,
    /// for a kind that needs one.
    pub fn native_stream(&self, model: &str) -> Option<gemini::GeminiToOpenAiStream> {
        match self {
            ProviderKind::Gemini => Some(gemini::GeminiToOpenAiStream::new(model)),
            ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure(_) => None,
        }
    }

    // >>> embeddings: a kind whose embeddings API is not OpenAI's
    /// The embeddings body this kind's upstream gets from the (masked) OpenAI embeddings
    /// request: itself, or (Gemini) a `batchEmbedContents` body.
    pub fn embeddings_to_native(&self, body: Value, model: &str) -> Result<Value, translate::TranslateError> {
        match self {
            ProviderKind::Gemini => gemini::embeddings_request(&body, model),
            ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure(_) => Ok(body),
        }
    }

    /// The input texts of a body [`ProviderKind::embeddings_to_native`] translated, for the
    /// check that each went through the masker (`None`: sent as the client's own format).
    pub fn native_embedding_texts<'a>(&self, body: &'a Value) -> Option<Option<Vec<&'a str>>> {
        match self {
            ProviderKind::Gemini => Some(gemini::embeddings_request_texts(body)),
            ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure(_) => None,
        }
    }

    /// An embeddings answer in OpenAI's shape (`base64`: the client asked for
    /// `encoding_format: "base64"`); `None` when the upstream's answer has no such shape.
    pub fn embeddings_from_native(&self, answer: Value, model: &str, base64: bool) -> Option<Value> {
        match self {
            ProviderKind::Gemini => gemini::embeddings_response(&answer, model, base64),
            ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Azure(_) => Some(answer),
        }
    }
    // <<< embeddings

    /// Adds the provider key the way this kind expects it.
    pub fn authorize(&self, req: reqwest::RequestBuilder, key: &str) -> reqwest::RequestBuilder {
        match self {
            ProviderKind::OpenAi => openai::authorize(req, key),
            ProviderKind::Anthropic => anthropic::authorize(req, key),
            ProviderKind::Azure(_) => azure::authorize(req, key),
            ProviderKind::Gemini => gemini::authorize(req, key),
        }
    }

    /// The message of an upstream error body, best effort.
    pub fn error_message(&self, body: &[u8]) -> Option<String> {
        match self {
            ProviderKind::OpenAi => openai::upstream_error_message(body),
            ProviderKind::Anthropic => anthropic::upstream_error_message(body),
            ProviderKind::Azure(_) => azure::upstream_error_message(body),
            ProviderKind::Gemini => gemini::upstream_error_message(body),
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
            // Gemini's translation reads either.
            ProviderKind::Gemini => MaxTokensField::MaxTokens,
        }
    }
}

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
