//! Veil: a privacy sidecar for LLM traffic. See README.md for what it does and how to run it.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod audit;
pub mod config;
pub mod mask;
pub mod mock;
pub mod providers;
