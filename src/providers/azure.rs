//! The Azure OpenAI provider kind (part of the providers layer): Azure speaks the OpenAI
//! wire formats (Chat Completions, embeddings; see `openai` and `embeddings`) at its own
//! URLs, with its own auth header.
//!
//! - URL: `{base_url}/openai/deployments/{MODEL}/chat/completions?api-version={api_version}`
//!   (and `.../embeddings?api-version=...`), where MODEL, the part of the client's model
//!   after `provider/`, is the deployment name (letters, digits, `-`, `_`, `.`, `+`, `=`
//!   only, so it can never reach another path);
//! - auth: the key in the `api-key` header;
//! - errors: OpenAI's `{"error": {"code", "message"}}` body (content-filter refusals
//!   included), read like OpenAI's.

use super::Endpoint;

/// What an `azure` provider needs beyond a base URL and a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureSettings {
    /// The `api-version` query value, e.g. `2024-10-21`.
    pub api_version: String,
}

impl AzureSettings {
    /// Checks an `api_version` config value: dates and tags such as `2024-10-21` or
    /// `2025-01-01-preview` (ASCII letters, digits, `-`, `.`).
    pub fn new(api_version: &str) -> Result<AzureSettings, String> {
        let ok = !api_version.is_empty()
            && api_version.len() <= 64
            && api_version.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !ok {
            return Err(format!("{api_version:?} is not an api-version like \"2024-10-21\""));
        }
        Ok(AzureSettings { api_version: api_version.to_owned() })
    }
}

/// `{base_url}/openai/deployments/{deployment}/{chat/completions|embeddings}?api-version=...`,
/// or `None` when `deployment` is not a deployment name ([`is_deployment`]).
pub fn url(base_url: &str, settings: &AzureSettings, endpoint: Endpoint, deployment: &str) -> Option<String> {
    if !is_deployment(deployment) {
        return None;
    }
    let tail = match endpoint {
        Endpoint::Chat => "chat/completions",
        Endpoint::Embeddings => "embeddings",
    };
    Some(format!("{base_url}/openai/deployments/{deployment}/{tail}?api-version={}", settings.api_version))
}

/// An Azure deployment name: 1 to 64 ASCII letters, digits, `-`, `_`, `.` (and `+`, `=`,
/// which stay inside a path segment too), and not `.` or `..`. Anything else (a `/`, `?`,
/// `#`, `%`, a dot segment) could reach another path, so it is refused rather than encoded.
pub fn is_deployment(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s != "."
        && s != ".."
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+' | b'='))
}

/// Azure keys go in the `api-key` header.
pub fn authorize(req: reqwest::RequestBuilder, key: &str) -> reqwest::RequestBuilder {
    req.header("api-key", key)
}

/// Best-effort message from an Azure error body (OpenAI's shape).
pub fn upstream_error_message(body: &[u8]) -> Option<String> {
    super::openai::upstream_error_message(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_deployment_and_api_version() {
        let s = AzureSettings::new("2024-10-21").unwrap();
        assert_eq!(
            url("https://r.openai.azure.com", &s, Endpoint::Chat, "gpt-4o").unwrap(),
            "https://r.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(
            url("https://r.openai.azure.com", &s, Endpoint::Embeddings, "emb").unwrap(),
            "https://r.openai.azure.com/openai/deployments/emb/embeddings?api-version=2024-10-21"
        );
    }

    #[test]
    fn a_deployment_cannot_leave_its_path_segment() {
        let s = AzureSettings::new("2024-10-21").unwrap();
        for bad in ["..", ".", "../x", "x/y", "a?api-version=1", "a#f", "d\u{e9}p", "", &"x".repeat(65)] {
            assert_eq!(url("http://h", &s, Endpoint::Chat, bad), None, "{bad:?}");
        }
        assert!(url("http://h", &s, Endpoint::Chat, "gpt-4o_mini.v2").is_some());
        assert!(url("http://h", &s, Endpoint::Chat, "echo+delta=1").is_some());
    }

    #[test]
    fn api_versions_are_checked() {
        assert!(AzureSettings::new("2025-01-01-preview").is_ok());
        for bad in ["", "2024 10 21", "x&y=1", "a/b"] {
            assert!(AzureSettings::new(bad).is_err(), "{bad:?}");
        }
    }
}
