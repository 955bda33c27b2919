//! Configuration: `RawConfig` (serde, TOML, every key optional) is validated once into
//! `Config`, which the rest of the program shares behind an `Arc`. Errors name the key
//! path (`providers.anthropic.base_url: ...`). Environment lookups go through [`Env`] so
//! that tests can pass a map instead of mutating the process environment.

use crate::mask::{Action, IdentityMode, Kind, Label, Policy};
use crate::providers::{ApiKind, ProviderKind};
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where environment variables come from (the process, or a map in tests).
pub trait Env: Send + Sync {
    fn get(&self, key: &str) -> Option<String>;
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }
}

impl Env for HashMap<String, String> {
    fn get(&self, key: &str) -> Option<String> {
        HashMap::get(self, key).cloned()
    }
}

/// A configuration error, naming the key path at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.into(), message: message.into() }
}

// ---------------------------------------------------------------------------------------
// Raw (serde) layer
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub providers: BTreeMap<String, RawProvider>,
    #[serde(default)]
    pub detect: RawDetect,
    #[serde(default)]
    pub models: BTreeMap<String, RawAlias>,
    #[serde(default)]
    pub keys: Vec<RawKey>,
    #[serde(default)]
    pub policy: BTreeMap<String, String>,
    #[serde(default)]
    pub audit: RawAudit,
    // >>> telemetry
    #[serde(default)]
    pub telemetry: RawTelemetry,
    // <<< telemetry
    // >>> ui: the audit review page (src/ui)
    #[serde(default)]
    pub ui: RawUi,
    // <<< ui
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Option<String>,
    /// Largest accepted request body in bytes (default 8 MiB).
    pub max_body_bytes: Option<usize>,
    /// Requests handled at once before new ones are shed with 503 (default 1024).
    pub max_concurrency: Option<usize>,
    /// Seconds to connect to an upstream (default 10).
    pub upstream_connect_timeout_secs: Option<f64>,
    /// Seconds until upstream response headers arrive (default 600).
    pub upstream_timeout_secs: Option<f64>,
    /// Seconds a stream may stay silent before it is closed with an error (default 300).
    pub stream_idle_timeout_secs: Option<f64>,
    /// Log format: "pretty" (default on a terminal) or "json".
    pub log_format: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    pub kind: Option<String>,
    pub base_url: Option<String>,
    pub api_key_env: Option<String>,
    /// `kind = "azure"` only: the `api-version` query value (default `2024-10-21`).
    pub api_version: Option<String>,
    /// `kind = "bedrock"` only: the AWS region (default `AWS_REGION`, else `AWS_DEFAULT_REGION`).
    pub region: Option<String>,
    /// Extra headers sent upstream on every request (values are not secret-masked in config).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDetect {
    pub model: Option<String>,
    pub device: Option<String>,
    pub min_score: Option<f32>,
    /// Download a `hf:` model missing from the cache at start-up instead of refusing to start.
    pub download: Option<bool>,
    /// Text tokens per model window (0 or absent: what the model was trained on, else its limit).
    pub window: Option<usize>,
    /// Tokens shared by neighbouring windows.
    pub window_overlap: Option<usize>,
    /// Padded tokens per forward pass.
    pub max_batch_tokens: Option<usize>,
    /// Requests per batch.
    pub max_batch_requests: Option<usize>,
    /// Longest wait for more requests when the model is already busy.
    pub max_batch_wait_ms: Option<u64>,
    /// Requests that may wait for the model before new ones are refused with 503.
    pub queue_capacity: Option<usize>,
    /// Single-threaded inference workers of the CPU fast path (default: one per CPU).
    pub threads: Option<usize>,
    /// Use the model folder's name list (`veil_name_lexicon`), if it ships one (default true).
    pub name_lexicon: Option<bool>,
    /// `"mask"` (default) or `"allow"`: leave well-known public figures' names alone.
    pub public_figures: Option<String>,
    /// Model entity type (as in its id2label, prefix stripped) -> label, or "none".
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Values that are never masked (exact, case-insensitive).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Custom deny-lists: label -> terms, matched case-insensitively as whole words.
    #[serde(default)]
    pub deny: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlias {
    #[serde(default)]
    pub targets: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    pub id: Option<String>,
    pub sha256: Option<String>,
    #[serde(default)]
    pub models: Vec<String>,
    pub rpm: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAudit {
    pub path: Option<PathBuf>,
    /// Environment variable holding the HMAC key (default `VEIL_AUDIT_KEY`).
    pub key_env: Option<String>,
    /// Set to false to turn the audit log off (default true).
    pub enabled: Option<bool>,
    /// Rotate the log once the next record would take it past this many bytes (default off).
    pub rotate_bytes: Option<u64>,
    /// Rotate the log once its first record is this old, e.g. `"1d"`, `"12h"` (default off).
    pub rotate_age: Option<String>,
}

// >>> ui: the audit review page (src/ui)
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUi {
    /// Serve the review page at `/ui` (default true).
    pub enabled: Option<bool>,
    /// Hex SHA-256 of the admin key the page asks for; required for the page to open when
    /// `[[keys]]` are configured.
    pub admin_sha256: Option<String>,
}
// <<< ui

// >>> telemetry: [telemetry] (src/telemetry)
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelemetry {
    /// OTLP/HTTP collector URL (`http://host:4318`); traces are exported only when set.
    pub otlp_endpoint: Option<String>,
    /// Only `"http/protobuf"` (the default).
    pub otlp_protocol: Option<String>,
    /// `service.name` of the exported spans (default `veil`).
    pub service_name: Option<String>,
}
// <<< telemetry

// ---------------------------------------------------------------------------------------
// Validated layer
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub providers: BTreeMap<String, ProviderConfig>,
    pub detect: DetectConfig,
    pub aliases: BTreeMap<String, Vec<Target>>,
    /// Shared so that each authenticated request takes a reference, not a copy.
    pub keys: Vec<std::sync::Arc<KeyConfig>>,
    /// `[policy]`: actions per label, and per kind (`"LOCATION.region"`).
    pub policy: Policy,
    /// `[policy] identity_fields`: what happens to end-user identifier fields.
    pub identity_fields: IdentityMode,
    pub audit: AuditConfig,
    // >>> telemetry
    pub telemetry: TelemetryConfig,
    // <<< telemetry
    // >>> ui
    pub ui: UiConfig,
    // <<< ui
}

// >>> ui: the audit review page (src/ui)
/// `[ui]`: the audit review page at `/ui`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UiConfig {
    pub enabled: bool,
    /// SHA-256 of the admin key; `None`: no admin key (the page opens only on a keyless
    /// gateway listening on a loopback address).
    pub admin_sha256: Option<[u8; 32]>,
}

fn validate_ui(raw: RawUi) -> Result<UiConfig, ConfigError> {
    let admin_sha256 = match raw.admin_sha256 {
        None => None,
        Some(text) => Some(
            hex::decode(text.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| invalid("ui.admin_sha256", "must be 64 hex characters (sha256 of the admin key)"))?,
        ),
    };
    Ok(UiConfig { enabled: raw.enabled.unwrap_or(true), admin_sha256 })
}
// <<< ui

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub max_body_bytes: usize,
    pub max_concurrency: usize,
    pub upstream_connect_timeout: Duration,
    pub upstream_timeout: Duration,
    pub stream_idle_timeout: Duration,
    pub log_json: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub name: String,
    /// The wire API the upstream speaks (`provider_kind.wire()`).
    pub kind: ApiKind,
    /// How the upstream is reached: URLs, auth, error bodies (`kind = ...` in the config).
    pub provider_kind: ProviderKind,
    /// Without a trailing slash, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    pub api_key_env: Option<String>,
    pub api_key: Option<SecretString>,
    pub headers: Vec<(String, String)>,
}

/// Which NER model, if any, runs beside the patterns.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSetting {
    /// `model = "none"`: patterns and deny-lists only (`serve` warns at start-up).
    None,
    /// `model` not set: the default model built into the binary (`models/veil-pii`).
    Embedded,
    /// A local folder with config.json, tokenizer.json, model.safetensors.
    Dir(PathBuf),
    /// `hf:owner/name[@revision]`, resolved from the Hugging Face cache.
    Hub { repo: String, revision: Option<String> },
}

/// Tuning of the NER queue and batching (`[detect]` keys), used by `ner::engine`.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Jobs (requests) that may wait; beyond this, detection is refused (503).
    pub queue_capacity: usize,
    /// Padded tokens in one forward pass.
    pub max_batch_tokens: usize,
    /// Jobs in one batch.
    pub max_batch_requests: usize,
    /// How long the worker waits for more jobs when it is already under concurrent load.
    pub max_batch_wait: Duration,
    /// Text tokens per window (special tokens come on top); 0 = the model's limit.
    pub window: usize,
    /// Tokens shared by neighbouring windows.
    pub overlap: usize,
    /// Model spans scoring below this are dropped; `None`: the model's `veil_min_score`
    /// (calibrated when it was trained), else 0.5.
    pub min_score: Option<f32>,
    /// Single-threaded workers of the fast CPU path (the candle path always has one thread).
    pub threads: usize,
    /// `[detect] public_figures = "allow"`: PERSON spans that name a well-known public
    /// figure (`scope/public_figures.txt`) are left alone. Default off (masked).
    pub public_figures: bool,
}

/// One worker per CPU the process may use.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map(std::num::NonZeroUsize::get).unwrap_or(1)
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            queue_capacity: 1024,
            max_batch_tokens: 8192,
            max_batch_requests: 64,
            max_batch_wait: Duration::from_millis(2),
            window: 0,
            overlap: 32,
            min_score: None,
            threads: default_threads(),
            public_figures: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct DetectConfig {
    pub model: ModelSetting,
    pub device: String,
    /// `None`: the model's own calibrated `veil_min_score`, else 0.5.
    pub min_score: Option<f32>,
    pub download: bool,
    /// Use the model's name list, if it ships one.
    pub name_lexicon: bool,
    /// Queue, batching and windowing of the NER model.
    pub engine: EngineOptions,
    /// `[detect.labels]` overrides; `None` ignores a type.
    pub labels: BTreeMap<String, Option<Label>>,
    pub allow: Vec<String>,
    pub deny: BTreeMap<Label, Vec<String>>,
}

/// `provider/model` as the gateway routes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub provider: String,
    pub model: String,
}

#[derive(Debug, Clone)]
pub struct KeyConfig {
    pub id: String,
    pub sha256: [u8; 32],
    /// Model patterns: exact names, aliases, or `provider/*`; empty means all.
    pub models: Vec<String>,
    pub rpm: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// `None` when the audit log is turned off.
    pub path: Option<PathBuf>,
    pub key_env: String,
    /// `[audit] rotate_bytes` and `rotate_age`: when the writer starts a new file.
    pub rotation: AuditRotation,
}

/// When the audit writer rotates its file (see [`crate::audit`]): the current file is
/// renamed and a new one started whose first record chains to the renamed file's last.
/// Both limits are off by default; either one reached rotates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditRotation {
    /// Rotate before a record would take the file past this many bytes (a file holding a
    /// single larger record is the one exception). Always > 0.
    pub max_bytes: Option<u64>,
    /// Rotate before writing a record once the file's first record is this old. Always > 0.
    pub max_age: Option<Duration>,
}

impl AuditRotation {
    pub fn is_off(&self) -> bool {
        self.max_bytes.is_none() && self.max_age.is_none()
    }
}

/// Built-in providers: name, kind, base URL, key variable.
pub const BUILTIN_PROVIDERS: &[(&str, ProviderKind, &str, Option<&str>)] = &[
    ("openai", ProviderKind::OpenAi, "https://api.openai.com/v1", Some("OPENAI_API_KEY")),
    ("anthropic", ProviderKind::Anthropic, "https://api.anthropic.com", Some("ANTHROPIC_API_KEY")),
    // Gemini's native API (`kind = "gemini"`); its OpenAI-compatible endpoint is reachable as
    // any `kind = "openai"` provider.
    ("gemini", ProviderKind::Gemini, "https://generativelanguage.googleapis.com", Some("GEMINI_API_KEY")),
    ("groq", ProviderKind::OpenAi, "https://api.groq.com/openai/v1", Some("GROQ_API_KEY")),
    ("mistral", ProviderKind::OpenAi, "https://api.mistral.ai/v1", Some("MISTRAL_API_KEY")),
    ("deepseek", ProviderKind::OpenAi, "https://api.deepseek.com/v1", Some("DEEPSEEK_API_KEY")),
    ("openrouter", ProviderKind::OpenAi, "https://openrouter.ai/api/v1", Some("OPENROUTER_API_KEY")),
    ("together", ProviderKind::OpenAi, "https://api.together.xyz/v1", Some("TOGETHER_API_KEY")),
    ("xai", ProviderKind::OpenAi, "https://api.x.ai/v1", Some("XAI_API_KEY")),
    ("ollama", ProviderKind::OpenAi, "http://127.0.0.1:11434/v1", None),
];

impl Config {
    /// Reads and validates a TOML file (or the defaults when `path` is `None`).
    pub fn load(path: Option<&Path>, env: &dyn Env) -> Result<Config, ConfigError> {
        let raw = match path {
            Some(p) => {
                let text =
                    std::fs::read_to_string(p).map_err(|source| ConfigError::Read { path: p.to_path_buf(), source })?;
                RawConfig::from_toml(&text)?
            }
            None => RawConfig::default(),
        };
        Config::from_raw(raw, env)
    }

    /// Parses and validates TOML text.
    pub fn from_toml(text: &str, env: &dyn Env) -> Result<Config, ConfigError> {
        Config::from_raw(RawConfig::from_toml(text)?, env)
    }

    pub fn from_raw(raw: RawConfig, env: &dyn Env) -> Result<Config, ConfigError> {
        let server = validate_server(raw.server)?;
        let providers = validate_providers(raw.providers, env)?;
        let detect = validate_detect(raw.detect)?;
        let aliases = validate_aliases(raw.models, &providers)?;
        let keys = validate_keys(raw.keys)?;
        let mut policy = Policy::default();
        let mut identity_fields = IdentityMode::default();
        for (label, action) in raw.policy {
            let key = format!("policy.{label}");
            if label == "identity_fields" {
                identity_fields = action.parse().map_err(|e: String| invalid(&key, e))?;
                continue;
            }
            let a: Action = action.parse().map_err(|e: String| invalid(&key, e))?;
            let (name, kind) = match label.split_once('.') {
                Some((name, kind)) => (name, Some(kind)),
                None => (label.as_str(), None),
            };
            let l: Label = name.parse().map_err(|e: crate::mask::UnknownLabel| invalid(&key, e.to_string()))?;
            match kind {
                None => {
                    policy.labels.insert(l, a);
                }
                Some(kind) => {
                    let kinds = Kind::of_label(l);
                    let Some(k) = kinds.iter().find(|k| k.as_str() == kind) else {
                        let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                        return Err(invalid(
                            &key,
                            if names.is_empty() {
                                format!("{name} has no kinds")
                            } else {
                                format!("unknown kind {kind:?}: {name} has {}", names.join(", "))
                            },
                        ));
                    };
                    policy.kinds.insert((l, *k), a);
                }
            }
        }
        let audit = validate_audit(raw.audit)?;
        let ui = validate_ui(raw.ui)?; // ui
        let telemetry = validate_telemetry(raw.telemetry)?; // telemetry
        Ok(Config { server, providers, detect, aliases, keys, policy, identity_fields, audit, telemetry, ui })
    }

    /// The action for a label (mask unless the policy says otherwise).
    pub fn action_for(&self, label: Label) -> Action {
        self.policy.action(label, Kind::Any)
    }
}

impl RawConfig {
    pub fn from_toml(text: &str) -> Result<RawConfig, ConfigError> {
        let de = toml::Deserializer::new(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            ConfigError::Parse {
                path: if path == "." { "config".to_string() } else { path },
                message: inner.message().trim().to_string(),
            }
        })
    }
}

fn secs(key: &str, v: Option<f64>, default: f64) -> Result<Duration, ConfigError> {
    let v = v.unwrap_or(default);
    if !(v > 0.0 && v.is_finite()) {
        return Err(invalid(key, format!("must be a positive number of seconds, got {v}")));
    }
    Ok(Duration::from_secs_f64(v))
}

fn validate_server(raw: RawServer) -> Result<ServerConfig, ConfigError> {
    let listen_text = raw.listen.unwrap_or_else(|| "127.0.0.1:8787".to_string());
    let listen = listen_text
        .parse()
        .map_err(|_| invalid("server.listen", format!("{listen_text:?} is not an address like 127.0.0.1:8787")))?;
    let max_body_bytes = raw.max_body_bytes.unwrap_or(8 * 1024 * 1024);
    if max_body_bytes == 0 {
        return Err(invalid("server.max_body_bytes", "must be > 0"));
    }
    let max_concurrency = raw.max_concurrency.unwrap_or(1024);
    if max_concurrency == 0 {
        return Err(invalid("server.max_concurrency", "must be > 0"));
    }
    let log_json = match raw.log_format.as_deref() {
        None => None,
        Some("json") => Some(true),
        Some("pretty") => Some(false),
        Some(other) => return Err(invalid("server.log_format", format!("{other:?}: expected \"json\" or \"pretty\""))),
    };
    Ok(ServerConfig {
        listen,
        max_body_bytes,
        max_concurrency,
        upstream_connect_timeout: secs(
            "server.upstream_connect_timeout_secs",
            raw.upstream_connect_timeout_secs,
            10.0,
        )?,
        upstream_timeout: secs("server.upstream_timeout_secs", raw.upstream_timeout_secs, 600.0)?,
        stream_idle_timeout: secs("server.stream_idle_timeout_secs", raw.stream_idle_timeout_secs, 300.0)?,
        log_json,
    })
}

// >>> telemetry: [telemetry] (src/telemetry)
/// `[telemetry]`: OpenTelemetry trace export (off without `otlp_endpoint`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TelemetryConfig {
    pub otlp: Option<crate::telemetry::otel::OtlpSettings>,
}

fn validate_telemetry(raw: RawTelemetry) -> Result<TelemetryConfig, ConfigError> {
    const KEY: &str = "telemetry.otlp_endpoint";
    match raw.otlp_protocol.as_deref() {
        None | Some("http/protobuf") => {}
        Some(other) => {
            return Err(invalid(
                "telemetry.otlp_protocol",
                format!("{other:?}: only \"http/protobuf\" (OTLP over HTTP) is supported"),
            ))
        }
    }
    let service_name = raw.service_name.unwrap_or_else(|| "veil".to_string());
    if service_name.trim().is_empty() {
        return Err(invalid("telemetry.service_name", "must not be empty"));
    }
    let Some(text) = raw.otlp_endpoint.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(TelemetryConfig { otlp: None });
    };
    let mut url = reqwest::Url::parse(text).map_err(|e| invalid(KEY, format!("{text:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(KEY, format!("{text:?}: expected an http:// or https:// URL like http://127.0.0.1:4318")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(KEY, "must not hold credentials: set OTEL_EXPORTER_OTLP_HEADERS instead"));
    }
    // The collector's base URL gets the traces path, as OTEL_EXPORTER_OTLP_ENDPOINT does.
    if !url.path().ends_with("/v1/traces") {
        let path = format!("{}/v1/traces", url.path().trim_end_matches('/'));
        url.set_path(&path);
    }
    Ok(TelemetryConfig {
        otlp: Some(crate::telemetry::otel::OtlpSettings { traces_url: url.to_string(), service_name }),
    })
}

#[cfg(test)]
mod telemetry_tests {
    use super::*;

    fn telemetry(toml: &str) -> Result<TelemetryConfig, ConfigError> {
        Config::from_toml(toml, &HashMap::new()).map(|c| c.telemetry)
    }

    #[test]
    fn otlp_is_off_by_default_and_the_traces_path_is_added() {
        assert_eq!(telemetry("").unwrap().otlp, None);
        let t = telemetry("[telemetry]\notlp_endpoint = \"http://127.0.0.1:4318\"\n").unwrap().otlp.unwrap();
        assert_eq!(t.traces_url, "http://127.0.0.1:4318/v1/traces");
        assert_eq!(t.service_name, "veil");
        let t = telemetry(
            "[telemetry]\notlp_endpoint = \"https://otel.example/otlp/v1/traces\"\nservice_name = \"veil-eu\"\n\
             otlp_protocol = \"http/protobuf\"\n",
        )
        .unwrap()
        .otlp
        .unwrap();
        assert_eq!(t.traces_url, "https://otel.example/otlp/v1/traces");
        assert_eq!(t.service_name, "veil-eu");
    }

    #[test]
    fn bad_telemetry_settings_name_their_key() {
        for (toml, key) in [
            ("otlp_endpoint = \"127.0.0.1:4318\"", "telemetry.otlp_endpoint"),
            ("otlp_endpoint = \"grpc://collector:4317\"", "telemetry.otlp_endpoint"),
            ("otlp_endpoint = \"http://u:p@collector:4318\"", "telemetry.otlp_endpoint"),
            ("otlp_protocol = \"grpc\"", "telemetry.otlp_protocol"),
            ("service_name = \" \"", "telemetry.service_name"),
            ("sample = 1", "telemetry"),
        ] {
            let e = telemetry(&format!("[telemetry]\n{toml}\n")).unwrap_err().to_string();
            assert!(e.starts_with(key), "{toml}: {e}");
        }
    }
}
// <<< telemetry

fn validate_audit(raw: RawAudit) -> Result<AuditConfig, ConfigError> {
    if raw.rotate_bytes == Some(0) {
        return Err(invalid("audit.rotate_bytes", "must be > 0 (leave it out to never rotate by size)"));
    }
    let max_age = match raw.rotate_age.as_deref() {
        None => None,
        Some(text) => match parse_duration(text) {
            Ok(d) if d.is_zero() => {
                return Err(invalid("audit.rotate_age", "must be > 0 (leave it out to never rotate by age)"))
            }
            Ok(d) => Some(d),
            Err(e) => return Err(invalid("audit.rotate_age", e)),
        },
    };
    Ok(AuditConfig {
        path: if raw.enabled.unwrap_or(true) {
            Some(raw.path.unwrap_or_else(|| PathBuf::from("veil-audit.jsonl")))
        } else {
            None
        },
        key_env: raw.key_env.unwrap_or_else(|| "VEIL_AUDIT_KEY".to_string()),
        rotation: AuditRotation { max_bytes: raw.rotate_bytes, max_age },
    })
}

/// Parses a duration written as whole numbers with units, largest first or not:
/// `"90s"`, `"30m"`, `"12h"`, `"1d"`, `"2w"`, `"1h30m"` (s, m, h, d = 24 h, w = 7 d).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration like \"30m\", \"12h\", \"1d\" or \"1h30m\"");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut secs: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        let unit = rest[digits..].chars().next().ok_or_else(bad)?;
        let scale = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        secs = n.checked_mul(scale).and_then(|v| secs.checked_add(v)).ok_or_else(|| format!("{text:?} is too long"))?;
        rest = &rest[digits + unit.len_utf8()..];
    }
    Ok(Duration::from_secs(secs))
}

fn validate_base_url(key: &str, url: &str) -> Result<String, ConfigError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| invalid(key, format!("{url:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(key, format!("{url:?}: scheme must be http or https")));
    }
    Ok(url.trim_end_matches('/').to_string())
}

fn validate_providers(
    raw: BTreeMap<String, RawProvider>,
    env: &dyn Env,
) -> Result<BTreeMap<String, ProviderConfig>, ConfigError> {
    let mut out = BTreeMap::new();
    for (name, kind, url, key_env) in BUILTIN_PROVIDERS {
        let (name, url, key_env) = (*name, *url, *key_env);
        out.insert(
            name.to_string(),
            ProviderConfig {
                name: name.to_string(),
                kind: kind.wire(),
                provider_kind: kind.clone(),
                base_url: url.to_string(),
                api_key_env: key_env.map(str::to_string),
                api_key: key_env.and_then(|k| env.get(k)).map(SecretString::from),
                headers: Vec::new(),
            },
        );
    }
    for (name, p) in raw {
        let prefix = format!("providers.{name}");
        if name.is_empty() || name.contains('/') {
            return Err(invalid(&prefix, "a provider name must be non-empty and contain no '/'"));
        }
        let builtin = BUILTIN_PROVIDERS.iter().find(|b| b.0 == name);
        let kind_name = match (&p.kind, builtin) {
            (Some(k), _) => k.as_str(),
            (None, Some(b)) => b.1.as_str(),
            (None, None) => {
                return Err(invalid(
                    format!("{prefix}.kind"),
                    "missing: a provider that is not built in needs kind = \"openai\", \"anthropic\", \"azure\", \"gemini\" or \"bedrock\"",
                ))
            }
        };
        // >>> bedrock: region and credentials, and a base URL from the region
        let provider_kind = match kind_name {
            "bedrock" => bedrock_kind(&prefix, &p, env)?,
            _ if p.region.is_some() => {
                return Err(invalid(format!("{prefix}.region"), "only a bedrock provider takes a region"))
            }
            _ => provider_kind(&prefix, kind_name, p.api_version.as_deref())?,
        };
        // <<< bedrock
        let kind = provider_kind.wire();
        let base_url = match (&p.base_url, provider_kind.default_base_url(), builtin) {
            (Some(u), _, _) => validate_base_url(&format!("{prefix}.base_url"), u)?,
            (None, Some(u), _) => u,
            (None, None, Some(b)) => b.2.to_string(),
            (None, None, None) => {
                return Err(invalid(format!("{prefix}.base_url"), "missing: set the provider's base URL"))
            }
        };
        let default_key_env = provider_kind.default_key_env(builtin.and_then(|b| b.3));
        let api_key_env = p.api_key_env.or_else(|| default_key_env.map(str::to_string));
        let api_key =
            provider_kind.own_key().or_else(|| api_key_env.as_deref().and_then(|k| env.get(k)).map(SecretString::from));
        let mut headers = Vec::new();
        for (h, v) in p.headers {
            if http::HeaderName::from_bytes(h.as_bytes()).is_err() || http::HeaderValue::from_str(&v).is_err() {
                return Err(invalid(format!("{prefix}.headers.{h}"), "not a valid HTTP header"));
            }
            headers.push((h, v));
        }
        out.insert(name.clone(), ProviderConfig { name, kind, provider_kind, base_url, api_key_env, api_key, headers });
    }
    Ok(out)
}

pub use crate::providers::{AZURE_KEY_ENV, GEMINI_KEY_ENV};

/// The `api-version` of an `azure` provider without `api_version` (the 2024-10-21 GA API).
pub const AZURE_DEFAULT_API_VERSION: &str = "2024-10-21";

// >>> bedrock
/// `kind = "bedrock"` of `[providers.NAME]` (`prefix`): its `region` (else `AWS_REGION`,
/// else `AWS_DEFAULT_REGION`) and the AWS credentials from the environment. It takes no
/// `api_key_env` or `api_version`.
fn bedrock_kind(prefix: &str, p: &RawProvider, env: &dyn Env) -> Result<ProviderKind, ConfigError> {
    use crate::providers::bedrock::{self, BedrockSettings};
    if p.api_version.is_some() {
        return Err(invalid(format!("{prefix}.api_version"), "only an azure provider takes an api_version"));
    }
    if p.api_key_env.is_some() {
        return Err(invalid(
            format!("{prefix}.api_key_env"),
            format!("a bedrock provider signs with {}; api_key_env does not apply", bedrock::CREDENTIALS_ENV),
        ));
    }
    let region =
        p.region.clone().or_else(|| bedrock::REGION_ENVS.iter().find_map(|k| env.get(k))).ok_or_else(|| {
            invalid(
                format!("{prefix}.region"),
                "missing: set region = \"us-east-1\" (or AWS_REGION in the environment)",
            )
        })?;
    let settings = BedrockSettings::new(
        &region,
        env.get(bedrock::ACCESS_KEY_ID_ENV),
        env.get(bedrock::SECRET_ACCESS_KEY_ENV),
        env.get(bedrock::SESSION_TOKEN_ENV),
    )
    .map_err(|e| invalid(format!("{prefix}.region"), e))?;
    Ok(ProviderKind::Bedrock(settings))
}
// <<< bedrock

/// `kind = "..."` (and, for Azure, `api_version`) of `[providers.NAME]` (`prefix`).
fn provider_kind(prefix: &str, kind: &str, api_version: Option<&str>) -> Result<ProviderKind, ConfigError> {
    let parsed = match kind {
        "openai" => ProviderKind::OpenAi,
        "anthropic" => ProviderKind::Anthropic,
        "gemini" => ProviderKind::Gemini,
        "azure" => {
            let version = api_version.unwrap_or(AZURE_DEFAULT_API_VERSION);
            let settings = crate::providers::azure::AzureSettings::new(version)
                .map_err(|e| invalid(format!("{prefix}.api_version"), e))?;
            ProviderKind::Azure(settings)
        }
        other => {
            let names: Vec<String> = ProviderKind::NAMES.iter().map(|n| format!("{n:?}")).collect();
            return Err(invalid(format!("{prefix}.kind"), format!("{other:?}: expected {}", names.join(", "))));
        }
    };
    match (&parsed, api_version) {
        (ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Gemini, Some(_)) => {
            Err(invalid(format!("{prefix}.api_version"), "only an azure provider takes an api_version"))
        }
        (ProviderKind::OpenAi | ProviderKind::Anthropic | ProviderKind::Gemini, None)
        | (ProviderKind::Azure(_) | ProviderKind::Bedrock(_), _) => Ok(parsed),
    }
}

fn validate_detect(raw: RawDetect) -> Result<DetectConfig, ConfigError> {
    // Unset means the built-in model, from any working directory; patterns alone only when
    // the config says so.
    let model = match raw.model.as_deref() {
        None => ModelSetting::Embedded,
        Some(s) => parse_model_setting(s).map_err(|e| invalid("detect.model", e))?,
    };
    let min_score = raw.min_score;
    if let Some(m) = min_score.filter(|m| !(0.0..=1.0).contains(m)) {
        return Err(invalid("detect.min_score", format!("{m} is not between 0 and 1")));
    }
    let device = raw.device.unwrap_or_else(|| "cpu".to_string());
    if device != "cpu" && !device.starts_with("cuda") {
        return Err(invalid("detect.device", format!("{device:?}: expected \"cpu\" or \"cuda:N\"")));
    }
    let mut deny = BTreeMap::new();
    for (label, terms) in raw.deny {
        let l: Label = label
            .parse()
            .map_err(|e: crate::mask::UnknownLabel| invalid(format!("detect.deny.{label}"), e.to_string()))?;
        if terms.iter().any(|t| t.trim().is_empty()) {
            return Err(invalid(format!("detect.deny.{label}"), "terms must not be empty"));
        }
        deny.insert(l, terms);
    }
    let mut labels = BTreeMap::new();
    for (ty, label) in raw.labels {
        let l = if label == "none" {
            None
        } else {
            Some(label.parse().map_err(|e: crate::mask::UnknownLabel| {
                invalid(format!("detect.labels.{ty}"), format!("{e}, or \"none\""))
            })?)
        };
        labels.insert(ty, l);
    }
    let d = EngineOptions::default();
    let positive = |key: &str, v: Option<usize>, default: usize| match v {
        Some(0) => Err(invalid(format!("detect.{key}"), "must be at least 1")),
        Some(n) => Ok(n),
        None => Ok(default),
    };
    let engine = EngineOptions {
        queue_capacity: positive("queue_capacity", raw.queue_capacity, d.queue_capacity)?,
        max_batch_tokens: positive("max_batch_tokens", raw.max_batch_tokens, d.max_batch_tokens)?,
        max_batch_requests: positive("max_batch_requests", raw.max_batch_requests, d.max_batch_requests)?,
        max_batch_wait: raw.max_batch_wait_ms.map(std::time::Duration::from_millis).unwrap_or(d.max_batch_wait),
        window: raw.window.unwrap_or(d.window),
        overlap: raw.window_overlap.unwrap_or(d.overlap),
        min_score,
        threads: positive("threads", raw.threads, d.threads)?,
        public_figures: match raw.public_figures.as_deref() {
            None | Some("mask") => false,
            Some("allow") => true,
            Some(other) => {
                return Err(invalid("detect.public_figures", format!("{other:?}: expected \"mask\" or \"allow\"")))
            }
        },
    };
    Ok(DetectConfig {
        model,
        device,
        min_score,
        download: raw.download.unwrap_or(false),
        name_lexicon: raw.name_lexicon.unwrap_or(true),
        engine,
        labels,
        allow: raw.allow,
        deny,
    })
}

/// Parses a `[detect] model` value: `"none"`, `"hf:owner/name[@revision]"` or a folder.
pub fn parse_model_setting(s: &str) -> Result<ModelSetting, String> {
    if s == "none" {
        return Ok(ModelSetting::None);
    }
    let Some(spec) = s.strip_prefix("hf:") else { return Ok(ModelSetting::Dir(PathBuf::from(s))) };
    let (repo, revision) = match spec.split_once('@') {
        Some((r, rev)) if !rev.is_empty() => (r, Some(rev.to_string())),
        Some(_) => return Err(format!("{s:?}: empty revision after '@'")),
        None => (spec, None),
    };
    let parts: Vec<&str> = repo.split('/').collect();
    if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(format!("{s:?}: expected \"hf:owner/name[@revision]\""));
    }
    Ok(ModelSetting::Hub { repo: repo.to_string(), revision })
}

/// Parses `provider/model`.
pub fn parse_target(s: &str) -> Option<Target> {
    let (p, m) = s.split_once('/')?;
    if p.is_empty() || m.is_empty() {
        return None;
    }
    Some(Target { provider: p.to_string(), model: m.to_string() })
}

fn validate_aliases(
    raw: BTreeMap<String, RawAlias>,
    providers: &BTreeMap<String, ProviderConfig>,
) -> Result<BTreeMap<String, Vec<Target>>, ConfigError> {
    let mut out = BTreeMap::new();
    for (name, alias) in raw {
        let key = format!("models.{name}.targets");
        if alias.targets.is_empty() {
            return Err(invalid(&key, "needs at least one \"provider/model\" target"));
        }
        let mut targets = Vec::new();
        for (i, t) in alias.targets.iter().enumerate() {
            let target = parse_target(t)
                .ok_or_else(|| invalid(format!("{key}[{i}]"), format!("{t:?} is not \"provider/model\"")))?;
            if !providers.contains_key(&target.provider) {
                return Err(invalid(format!("{key}[{i}]"), format!("unknown provider {:?}", target.provider)));
            }
            targets.push(target);
        }
        out.insert(name, targets);
    }
    Ok(out)
}

fn validate_keys(raw: Vec<RawKey>) -> Result<Vec<std::sync::Arc<KeyConfig>>, ConfigError> {
    let mut out: Vec<std::sync::Arc<KeyConfig>> = Vec::new();
    for (i, k) in raw.into_iter().enumerate() {
        let prefix = format!("keys[{i}]");
        let id = k.id.filter(|s| !s.is_empty()).ok_or_else(|| invalid(format!("{prefix}.id"), "missing"))?;
        let hex_text = k.sha256.ok_or_else(|| invalid(format!("{prefix}.sha256"), "missing"))?;
        let bytes = hex::decode(hex_text.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| invalid(format!("{prefix}.sha256"), "must be 64 hex characters (sha256 of the key)"))?;
        if k.rpm == Some(0) {
            return Err(invalid(format!("{prefix}.rpm"), "must be > 0"));
        }
        if out.iter().any(|o| o.id == id) {
            return Err(invalid(format!("{prefix}.id"), format!("duplicate key id {id:?}")));
        }
        out.push(std::sync::Arc::new(KeyConfig { id, sha256: bytes, models: k.models, rpm: k.rpm }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> HashMap<String, String> {
        HashMap::from([("OPENAI_API_KEY".to_string(), "sk-test".to_string())])
    }

    #[test]
    fn defaults_are_valid() {
        let c = Config::from_toml("", &env()).unwrap();
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8787");
        assert!(c.providers["openai"].api_key.is_some());
        assert!(c.providers["anthropic"].api_key.is_none());
        assert_eq!(c.action_for(Label::Person), Action::Mask);
    }

    #[test]
    fn public_figures_are_masked_unless_allowed() {
        assert!(!Config::from_toml("[detect]\nmodel = \"none\"\n", &env()).unwrap().detect.engine.public_figures);
        let c = Config::from_toml("[detect]\nmodel = \"none\"\npublic_figures = \"allow\"\n", &env()).unwrap();
        assert!(c.detect.engine.public_figures);
        let e = Config::from_toml("[detect]\nmodel = \"none\"\npublic_figures = \"yes\"\n", &env()).unwrap_err();
        assert!(e.to_string().contains("public_figures"), "{e}");
    }

    #[test]
    fn name_lexicon_is_on_unless_turned_off() {
        assert!(Config::from_toml("[detect]\nmodel = \"none\"\n", &env()).unwrap().detect.name_lexicon);
        let c = Config::from_toml("[detect]\nmodel = \"none\"\nname_lexicon = false\n", &env()).unwrap();
        assert!(!c.detect.name_lexicon);
        let e = Config::from_toml("[detect]\nmodel = \"none\"\nname_lexicon = \"yes\"\n", &env()).unwrap_err();
        assert!(e.to_string().contains("name_lexicon"), "{e}");
    }

    #[test]
    fn unset_model_is_the_built_in_one_and_none_means_patterns_only() {
        assert_eq!(Config::from_toml("", &env()).unwrap().detect.model, ModelSetting::Embedded);
        assert_eq!(
            Config::from_toml("[detect]\ndevice = \"cpu\"\n", &env()).unwrap().detect.model,
            ModelSetting::Embedded
        );
        let model = |v: &str| Config::from_toml(&format!("[detect]\nmodel = \"{v}\"\n"), &env()).unwrap().detect.model;
        assert_eq!(model("none"), ModelSetting::None);
        assert_eq!(model("models/veil-pii"), ModelSetting::Dir(PathBuf::from("models/veil-pii")));
        assert_eq!(model("hf:acme/ner"), ModelSetting::Hub { repo: "acme/ner".into(), revision: None });
    }

    #[test]
    fn detect_threads_defaults_to_the_cpus_and_must_be_positive() {
        let c = Config::from_toml("[detect]\nmodel = \"none\"\n", &env()).unwrap();
        assert_eq!(c.detect.engine.threads, default_threads());
        let c = Config::from_toml("[detect]\nmodel = \"none\"\nthreads = 3\n", &env()).unwrap();
        assert_eq!(c.detect.engine.threads, 3);
        let e = Config::from_toml("[detect]\nmodel = \"none\"\nthreads = 0\n", &env()).unwrap_err();
        assert!(e.to_string().starts_with("detect.threads:"), "{e}");
        let e = Config::from_toml("[detect]\nmodel = \"none\"\nthreads = -1\n", &env()).unwrap_err();
        assert!(e.to_string().contains("detect.threads"), "{e}");
    }

    #[test]
    fn identity_fields_policy() {
        let c = Config::from_toml("", &env()).unwrap();
        assert_eq!(c.identity_fields, IdentityMode::Hash);
        let c = Config::from_toml("[policy]\nidentity_fields = \"drop\"\nEMAIL = \"redact\"\n", &env()).unwrap();
        assert_eq!(c.identity_fields, IdentityMode::Drop);
        assert_eq!(c.action_for(Label::Email), Action::Redact);
        let c = Config::from_toml("[policy]\n\"LOCATION.region\" = \"mask\"\nLOCATION = \"redact\"\n", &env()).unwrap();
        assert_eq!(c.policy.action(Label::Location, Kind::Region), Action::Mask);
        assert_eq!(c.policy.action(Label::Location, Kind::Place), Action::Redact);
        let c = Config::from_toml("", &env()).unwrap();
        assert_eq!(c.policy.action(Label::Location, Kind::Region), Action::Allow);
        assert_eq!(c.policy.action(Label::Location, Kind::Place), Action::Mask);
        let e = Config::from_toml("[policy]\n\"LOCATION.town\" = \"mask\"\n", &env()).unwrap_err();
        assert!(e.to_string().contains("unknown kind \"town\": LOCATION has region, place"), "{e}");
        let e = Config::from_toml("[policy]\n\"EMAIL.x\" = \"mask\"\n", &env()).unwrap_err();
        assert!(e.to_string().contains("EMAIL has no kinds"), "{e}");
        let e = Config::from_toml("[policy]\nidentity_fields = \"keep\"\n", &env()).unwrap_err();
        assert!(e.to_string().starts_with("policy.identity_fields:"), "{e}");
    }

    #[test]
    fn errors_name_the_key_path() {
        let e = Config::from_toml("[providers.anthropic]\nbase_url = \"nope\"\n", &env()).unwrap_err();
        assert!(e.to_string().starts_with("providers.anthropic.base_url:"), "{e}");
        let e = Config::from_toml("[server]\nlisten = 5\n", &env()).unwrap_err();
        assert!(e.to_string().contains("server.listen"), "{e}");
        let e = Config::from_toml("[providers.local]\nbase_url = \"http://x\"\n", &env()).unwrap_err();
        assert!(e.to_string().contains("providers.local.kind"), "{e}");
        let e = Config::from_toml("[policy]\nUS_SSN = \"shred\"\n", &env()).unwrap_err();
        assert!(e.to_string().contains("policy.US_SSN"), "{e}");
        let e = Config::from_toml("[server]\nbogus = 1\n", &env()).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
    }

    // >>> bedrock
    #[test]
    fn bedrock_providers() {
        let aws = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
        };
        let keys = aws(&[("AWS_ACCESS_KEY_ID", "AKID"), ("AWS_SECRET_ACCESS_KEY", "s3cret")]);
        let c = Config::from_toml("[providers.br]\nkind = \"bedrock\"\nregion = \"eu-west-3\"\n", &keys).unwrap();
        let b = &c.providers["br"];
        assert!(matches!(&b.provider_kind, ProviderKind::Bedrock(s) if s.region == "eu-west-3" && s.has_credentials()));
        assert_eq!(b.kind, ApiKind::OpenAi, "the pipeline sees Chat Completions");
        assert_eq!(b.base_url, "https://bedrock-runtime.eu-west-3.amazonaws.com");
        assert!(b.api_key.is_some() && b.api_key_env.as_deref().is_some_and(|e| e.contains("AWS_SECRET_ACCESS_KEY")));
        assert!(!format!("{c:?}").contains("s3cret"));
        // The region from the environment; a base URL of one's own; no credentials.
        let regional = aws(&[("AWS_REGION", "us-west-2")]);
        let c =
            Config::from_toml("[providers.br]\nkind = \"bedrock\"\nbase_url = \"http://127.0.0.1:9/\"\n", &regional)
                .unwrap();
        assert!(
            matches!(&c.providers["br"].provider_kind, ProviderKind::Bedrock(s) if s.region == "us-west-2" && !s.has_credentials())
        );
        assert_eq!(c.providers["br"].base_url, "http://127.0.0.1:9");
        assert!(c.providers["br"].api_key.is_none());
        for (text, key) in [
            ("[providers.br]\nkind = \"bedrock\"\n", "providers.br.region: missing"),
            ("[providers.br]\nkind = \"bedrock\"\nregion = \"US East\"\n", "providers.br.region:"),
            (
                "[providers.br]\nkind = \"bedrock\"\nregion = \"us-east-1\"\napi_key_env = \"K\"\n",
                "providers.br.api_key_env:",
            ),
            (
                "[providers.br]\nkind = \"bedrock\"\nregion = \"us-east-1\"\napi_version = \"1\"\n",
                "providers.br.api_version:",
            ),
            (
                "[providers.x]\nkind = \"openai\"\nbase_url = \"https://r\"\nregion = \"us-east-1\"\n",
                "providers.x.region: only a bedrock",
            ),
        ] {
            let e = Config::from_toml(text, &env()).unwrap_err();
            assert!(e.to_string().starts_with(key), "{text}: {e}");
        }
    }
    // <<< bedrock

    // >>> gemini
    #[test]
    fn gemini_providers() {
        let c = Config::from_toml("", &env()).unwrap();
        let g = &c.providers["gemini"];
        assert_eq!(g.provider_kind, ProviderKind::Gemini);
        assert_eq!(g.kind, ApiKind::OpenAi, "the pipeline sees Chat Completions");
        assert_eq!(g.base_url, "https://generativelanguage.googleapis.com");
        assert_eq!(g.api_key_env.as_deref(), Some(GEMINI_KEY_ENV));
        let c = Config::from_toml("[providers.g]\nkind = \"gemini\"\nbase_url = \"https://g\"\n", &env()).unwrap();
        assert_eq!(c.providers["g"].provider_kind, ProviderKind::Gemini);
        assert_eq!(c.providers["g"].api_key_env.as_deref(), Some(GEMINI_KEY_ENV));
        // Google's OpenAI-compatible endpoint: any openai-kind provider.
        let c = Config::from_toml(
            "[providers.gcompat]\nkind = \"openai\"\nbase_url = \"https://generativelanguage.googleapis.com/v1beta/openai\"\n",
            &env(),
        )
        .unwrap();
        assert_eq!(c.providers["gcompat"].provider_kind, ProviderKind::OpenAi);
        let e = Config::from_toml(
            "[providers.g]\nkind = \"gemini\"\nbase_url = \"https://g\"\napi_version = \"1\"\n",
            &env(),
        );
        assert!(e.unwrap_err().to_string().contains("api_version"));
    }
    // <<< gemini

    #[test]
    fn azure_providers() {
        let text = "[providers.azure]\nkind = \"azure\"\nbase_url = \"https://r.openai.azure.com/\"\napi_version = \"2025-01-01-preview\"\n";
        let c = Config::from_toml(text, &env()).unwrap();
        let p = &c.providers["azure"];
        assert_eq!(p.kind, ApiKind::OpenAi);
        assert_eq!(
            p.provider_kind,
            ProviderKind::Azure(crate::providers::azure::AzureSettings::new("2025-01-01-preview").unwrap())
        );
        assert_eq!(p.base_url, "https://r.openai.azure.com");
        assert_eq!(p.api_key_env.as_deref(), Some(AZURE_KEY_ENV));
        let c = Config::from_toml(
            "[providers.az]\nkind = \"azure\"\nbase_url = \"https://r\"\napi_key_env = \"K\"\n",
            &env(),
        )
        .unwrap();
        assert_eq!(
            c.providers["az"].provider_kind,
            ProviderKind::Azure(crate::providers::azure::AzureSettings::new(AZURE_DEFAULT_API_VERSION).unwrap())
        );
        assert_eq!(c.providers["az"].api_key_env.as_deref(), Some("K"));
        for (toml, key) in [
            ("[providers.az]\nkind = \"azure\"\n", "providers.az.base_url:"),
            (
                "[providers.az]\nkind = \"azure\"\nbase_url = \"https://r\"\napi_version = \"a b\"\n",
                "providers.az.api_version:",
            ),
            (
                "[providers.x]\nkind = \"openai\"\nbase_url = \"https://r\"\napi_version = \"2024-10-21\"\n",
                "providers.x.api_version: only an azure",
            ),
            ("[providers.openai]\napi_version = \"2024-10-21\"\n", "providers.openai.api_version:"),
            (
                "[providers.x]\nkind = \"gcp\"\nbase_url = \"https://r\"\n",
                "providers.x.kind: \"gcp\": expected \"openai\", \"anthropic\", \"azure\"",
            ),
        ] {
            let e = Config::from_toml(toml, &env()).unwrap_err();
            assert!(e.to_string().starts_with(key), "{toml}: {e}");
        }
    }

    #[test]
    fn full_contract_example_parses() {
        let text = r#"
[server]
listen = "127.0.0.1:9999"
[providers.local-vllm]
kind = "openai"
base_url = "http://127.0.0.1:8000/v1/"
[detect]
model = "none"
min_score = 0.6
[models.fast]
targets = ["openai/gpt-4o-mini", "anthropic/claude-haiku-4-5"]
[[keys]]
id = "team-a"
sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
models = ["fast", "openai/*"]
rpm = 600
[policy]
US_SSN = "block"
ORGANIZATION = "allow"
[audit]
path = "x.jsonl"
"#;
        let c = Config::from_toml(text, &env()).unwrap();
        assert_eq!(c.providers["local-vllm"].base_url, "http://127.0.0.1:8000/v1");
        assert_eq!(c.aliases["fast"].len(), 2);
        assert_eq!(c.keys[0].id, "team-a");
        assert_eq!(c.action_for(Label::UsSsn), Action::Block);
        assert_eq!(c.detect.model, ModelSetting::None);
        assert!(c.audit.rotation.is_off());
    }

    #[test]
    fn durations() {
        for (text, secs) in
            [("45s", 45), ("30m", 1800), ("12h", 43_200), ("1d", 86_400), ("2w", 1_209_600), ("1h30m", 5400), ("0s", 0)]
        {
            assert_eq!(parse_duration(text), Ok(Duration::from_secs(secs)), "{text}");
        }
        for bad in ["", "1", "h", "1x", "1.5h", "-1h", "1 h", "1hh", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert!(parse_duration("1x").unwrap_err().contains("\"1x\""));
    }

    #[test]
    fn audit_rotation_keys() {
        let c = Config::from_toml("[audit]\nrotate_bytes = 104857600\nrotate_age = \"1d\"\n", &env()).unwrap();
        assert_eq!(c.audit.rotation.max_bytes, Some(104_857_600));
        assert_eq!(c.audit.rotation.max_age, Some(Duration::from_secs(86_400)));
        assert!(!c.audit.rotation.is_off());
        let c = Config::from_toml("[audit]\nrotate_age = \"6h\"\n", &env()).unwrap();
        assert_eq!(c.audit.rotation.max_bytes, None);
        for (toml, key) in [
            ("rotate_bytes = 0", "audit.rotate_bytes:"),
            ("rotate_bytes = -5", "audit.rotate_bytes"),
            ("rotate_bytes = \"1MB\"", "audit.rotate_bytes"),
            ("rotate_age = \"1 day\"", "audit.rotate_age:"),
            ("rotate_age = \"0h\"", "audit.rotate_age:"),
            ("rotate_age = 3600", "audit.rotate_age"),
            ("rotate_size = 10", "rotate_size"),
        ] {
            let e = Config::from_toml(&format!("[audit]\n{toml}\n"), &env()).unwrap_err();
            assert!(e.to_string().contains(key), "{toml}: {e}");
        }
        let e = Config::from_toml("[audit]\nrotate_age = \"1 day\"\n", &env()).unwrap_err();
        assert!(e.to_string().starts_with("audit.rotate_age: \"1 day\" is not a duration"), "{e}");
    }
}
