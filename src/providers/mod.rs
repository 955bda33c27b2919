//! Providers (step 3 of the request flow): the two wire APIs Veil speaks, on both sides.
//! Each API module owns its wire shapes: which fields hold text (for masking and
//! restore), how stream events carry deltas, how errors look. `translate` converts
//! requests, responses and stream events between the two APIs.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

pub mod anthropic;
pub mod fields;
pub mod openai;
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
