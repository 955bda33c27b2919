//! OpenTelemetry traces over OTLP/HTTP (protobuf), off unless `[telemetry] otlp_endpoint`
//! is set.
//!
//! The tracing subscriber is built before the config's telemetry section is acted on (the
//! binary installs logging first), so [`layer`] always adds a `tracing-opentelemetry` layer
//! whose tracer feeds a relay processor, and [`start`] later plugs the OTLP exporter, behind
//! the SDK's batch span processor, into that relay. Until then (and for ever when tracing is
//! off) the layer's filter lets no span through, so no OpenTelemetry span is ever built.
//!
//! Only spans with the target [`TARGET`] are exported (see `telemetry::spans`); log events
//! are never attached to them. Spans leave in batches from the batch processor's own
//! thread, never on the request path; a full export queue drops spans, not requests.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider, Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, Filter, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The `tracing` target of every span that is exported.
pub const TARGET: &str = "veil::otel";

/// The instrumentation scope name on exported spans.
const SCOPE: &str = "veil";

/// True once an exporter is running: the layer's filter opens.
static ENABLED: AtomicBool = AtomicBool::new(false);
/// True once [`layer`] is part of the installed global subscriber.
static INSTALLED: AtomicBool = AtomicBool::new(false);
static RELAY: OnceLock<Arc<Relay>> = OnceLock::new();

/// Whether spans are being exported right now (span helpers return `Span::none()` if not).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// What `[telemetry]` asks of the exporter (validated by the config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpSettings {
    /// The full traces URL, e.g. `http://127.0.0.1:4318/v1/traces`.
    pub traces_url: String,
    /// `service.name` of the exported resource.
    pub service_name: String,
}

/// The running exporter; [`Exporting::shutdown`] flushes the spans still queued.
#[derive(Debug)]
pub struct Exporting {
    relay: Arc<Relay>,
}

/// Why the exporter cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot build the OTLP exporter for {url}: {message}")]
    Exporter { url: String, message: String },
    #[error("the OTLP exporter is already running in this process")]
    AlreadyRunning,
}

/// The layer the subscriber gets (once per process); exports nothing until [`start`].
pub(super) fn layer<S>() -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let relay = RELAY.get_or_init(|| Arc::new(Relay::default())).clone();
    let provider = SdkTracerProvider::builder().with_span_processor(RelayProcessor(relay)).build();
    let tracer = provider.tracer(SCOPE);
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_level(false)
        .with_filter(OtelFilter)
}

/// Records that the subscriber holding [`layer`] is installed.
pub(super) fn mark_installed() {
    INSTALLED.store(true, Ordering::Relaxed);
}

/// Starts exporting to `settings.traces_url`. Spans already open are not exported.
pub fn start(settings: &OtlpSettings) -> Result<Exporting, StartError> {
    use opentelemetry_otlp::{Protocol, WithExportConfig};
    let relay = RELAY.get_or_init(|| Arc::new(Relay::default())).clone();
    if relay.inner.get().is_some() {
        return Err(StartError::AlreadyRunning);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(settings.traces_url.as_str())
        .with_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| StartError::Exporter { url: settings.traces_url.clone(), message: e.to_string() })?;
    // Batch size, delay and queue length follow the SDK's OTEL_BSP_* variables.
    let mut processor = BatchSpanProcessor::builder(exporter).build();
    processor.set_resource(
        &Resource::builder_empty()
            .with_service_name(settings.service_name.clone())
            .with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build(),
    );
    relay.inner.set(processor).map_err(|_| StartError::AlreadyRunning)?;
    if !INSTALLED.load(Ordering::Relaxed) {
        tracing::warn!("OTLP export is configured but Veil's tracing subscriber is not installed; no span is exported");
    }
    ENABLED.store(true, Ordering::Relaxed);
    tracing::info!(endpoint = %settings.traces_url, "exporting traces over OTLP/HTTP");
    Ok(Exporting { relay })
}

impl Exporting {
    /// Stops new spans and sends the queued ones (waits up to five seconds). Blocks: call it
    /// from a blocking thread.
    pub fn shutdown(self) {
        ENABLED.store(false, Ordering::Relaxed);
        if let Some(p) = self.relay.inner.get() {
            if let Err(e) = p.force_flush() {
                tracing::warn!(error = %e, "flushing the last spans to the OTLP endpoint failed");
            }
            let _ = p.shutdown_with_timeout(Duration::from_secs(5));
        }
    }
}

/// Holds the batch processor once [`start`] made it.
#[derive(Debug, Default)]
struct Relay {
    inner: OnceLock<BatchSpanProcessor>,
}

/// The tracer provider's one processor: forwards to the batch processor, if any.
#[derive(Debug)]
struct RelayProcessor(Arc<Relay>);

impl SpanProcessor for RelayProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        if let Some(p) = self.0.inner.get() {
            p.on_start(span, cx);
        }
    }

    fn on_end(&self, span: SpanData) {
        if let Some(p) = self.0.inner.get() {
            p.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.inner.get().map_or(Ok(()), BatchSpanProcessor::force_flush)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.inner.get().map_or(Ok(()), |p| p.shutdown_with_timeout(timeout))
    }
}

/// Lets through the spans of [`TARGET`] while exporting, and nothing else (no log event).
struct OtelFilter;

impl<S> Filter<S> for OtelFilter {
    fn enabled(&self, meta: &Metadata<'_>, _cx: &LayerContext<'_, S>) -> bool {
        meta.is_span() && meta.target() == TARGET && enabled()
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        // "sometimes": exporting starts after call sites are registered.
        if meta.is_span() && meta.target() == TARGET {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::INFO)
    }
}
