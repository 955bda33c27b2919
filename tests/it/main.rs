//! The one integration-test binary: the gateway in-process on 127.0.0.1:0 in front of the
//! in-process mock provider, driven over real HTTP.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod audit_tools;
mod azure;
mod bedrock;
mod cli;
mod common;
mod cuda;
mod deny;
mod embeddings;
mod errors;
mod flows;
mod gemini;
mod matrix;
mod model;
mod otel;
mod policy;
mod responses;
mod ui;
mod utility;
