//! Logging and metrics set-up (step 6 of the request flow). Logs are structured and never
//! carry bodies, credentials, entity values or placeholder maps.

pub mod metrics;

use tracing_subscriber::{fmt, EnvFilter};

/// Installs the tracing subscriber: JSON lines when `json` is true (production), pretty
/// otherwise (colours only on a terminal). `RUST_LOG` overrides the default filter (`info`).
pub fn init_logging(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: a redirected log file gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).with_ansi(ansi);
    // A second init (tests) is harmless: keep the first subscriber.
    let _ = if json { builder.json().flatten_event(true).try_init() } else { builder.compact().try_init() };
}
