//! Veil: a privacy sidecar for LLM traffic. Apps point their OpenAI or Anthropic SDK at it;
//! it masks personal data in every prompt, forwards the cleaned request to the provider
//! named by the `model` prefix, restores the values in the answer (streamed or not) and
//! writes a tamper-evident audit log. See README.md.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod audit;
pub mod caller;
pub mod cli;
pub mod config;
pub mod error;
pub mod http;
pub mod mask;
pub mod ner;
pub mod pipeline;
pub mod providers;
pub mod serve;
pub mod state;
pub mod telemetry;
// >>> ui: the audit review page at /ui
pub mod ui;
// <<< ui

pub use state::AppState;

/// The gateway's router with its full layer stack (shared by `main`, tests and benches).
pub fn app(state: AppState) -> axum::Router {
    http::router(state)
}
