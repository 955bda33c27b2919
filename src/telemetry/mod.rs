//! Logging, metrics and traces (step 6 of the request flow). Logs are structured and never
//! carry bodies, credentials, entity values or placeholder maps; metrics and spans hold
//! only closed-set labels, counts and durations (see `metrics` and `spans`).

pub mod metrics;
pub mod otel;
pub mod spans;

pub use spans::RequestScope;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// Installs the tracing subscriber: JSON lines when `json` is true (production), pretty
/// otherwise (colours only on a terminal). `RUST_LOG` overrides the default filter
/// (`info`). The subscriber also holds the OpenTelemetry layer, which exports nothing until
/// `otel::start` (`[telemetry] otlp_endpoint`); its spans never show in the logs.
pub fn init_logging(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let filter = match format!("{}=off", otel::TARGET).parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let base = fmt::layer().with_writer(std::io::stderr).with_target(false);
    let logs = if json { base.json().flatten_event(true).boxed() } else { base.compact().with_ansi(ansi).boxed() };
    // A second init (tests) is harmless: keep the first subscriber.
    let installed = tracing_subscriber::registry().with(logs.with_filter(filter)).with(otel::layer()).try_init();
    if installed.is_ok() {
        otel::mark_installed();
    }
}
