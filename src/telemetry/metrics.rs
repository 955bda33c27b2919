//! Metric names (one place), their descriptions, and the Prometheus exporter. Every name
//! starts with `veil_` (README "Metrics", docs/interface.md). Labels come from closed sets
//! only: route, provider (configured names), status code, entity label, action, error kind.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

pub const REQUESTS_TOTAL: &str = "veil_requests_total";
pub const REQUEST_DURATION: &str = "veil_request_duration_seconds";
pub const ENTITIES_TOTAL: &str = "veil_entities_total";
pub const MASK_DURATION: &str = "veil_mask_duration_seconds";
pub const UPSTREAM_DURATION: &str = "veil_upstream_duration_seconds";
pub const RESTORE_DURATION: &str = "veil_restore_duration_seconds";
pub const PLACEHOLDERS_RESTORED: &str = "veil_placeholders_restored_total";
pub const PLACEHOLDERS_UNRESTORED: &str = "veil_placeholders_unrestored_total";
pub const UPSTREAM_ERRORS: &str = "veil_upstream_errors_total";
pub const FALLBACKS_TOTAL: &str = "veil_fallbacks_total";
/// Set by `telemetry::RequestScope` (a drop guard a stream's body holds until it ends).
pub const IN_FLIGHT: &str = "veil_requests_in_flight";
pub const AUDIT_DROPPED: &str = "veil_audit_dropped_total";
/// Translated requests refused because a string skipped the masker (a bug; alert on > 0).
pub const MASKING_CHECK_FAILURES: &str = "veil_masking_check_failures_total";
pub const NER_QUEUE_DEPTH: &str = "veil_ner_queue_depth";
pub const NER_REJECTED: &str = "veil_ner_rejected_total";
pub const NER_BATCH_REQUESTS: &str = "veil_ner_batch_requests";
pub const NER_BATCH_WINDOWS: &str = "veil_ner_batch_windows";
pub const NER_BATCH_TOKENS: &str = "veil_ner_batch_tokens";
pub const NER_INFERENCE_SECONDS: &str = "veil_ner_inference_seconds";
pub const NER_TOKENS_TOTAL: &str = "veil_ner_tokens_total";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the global recorder once per process and returns the render handle.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let latency =
            [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
        let counts = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];
        let tokens = [64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0, 8192.0, 16384.0];
        let fast = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1];
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.into()), &latency)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(UPSTREAM_DURATION.into()), &latency))
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(MASK_DURATION.into()), &fast))
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(RESTORE_DURATION.into()), &fast))
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(NER_INFERENCE_SECONDS.into()), &fast))
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(NER_BATCH_REQUESTS.into()), &counts))
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(NER_BATCH_WINDOWS.into()), &counts))
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(NER_BATCH_TOKENS.into()), &tokens))
            .expect("static histogram buckets are valid; this is a bug")
            .build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder was installed first (never in this binary).
        let _ = metrics::set_global_recorder(recorder);
        describe();
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(REQUESTS_TOTAL, "Requests by route, provider and status");
    describe_counter!(
        MASKING_CHECK_FAILURES,
        "Translated requests refused because a string did not pass the masker (a bug)"
    );
    describe_histogram!(REQUEST_DURATION, Unit::Seconds, "Request latency by route, provider and status");
    describe_counter!(ENTITIES_TOTAL, "Entities found by label and action");
    describe_histogram!(MASK_DURATION, Unit::Seconds, "Time spent detecting and masking per request");
    describe_histogram!(UPSTREAM_DURATION, Unit::Seconds, "Time from sending upstream to the end of its answer");
    describe_histogram!(RESTORE_DURATION, Unit::Seconds, "Time spent restoring placeholders per request");
    describe_counter!(PLACEHOLDERS_RESTORED, "Placeholders restored in answers, by form (exact or mutated)");
    describe_counter!(
        PLACEHOLDERS_UNRESTORED,
        "Placeholder-shaped tokens in answers that matched no value of the request"
    );
    describe_counter!(UPSTREAM_ERRORS, "Upstream failures by provider and kind");
    describe_counter!(FALLBACKS_TOTAL, "Alias targets skipped after a failure, by provider");
    describe_gauge!(IN_FLIGHT, "Chat and messages requests being handled, streams until they end");
    describe_counter!(AUDIT_DROPPED, "Audit records dropped because the writer queue was full");
    describe_gauge!(NER_QUEUE_DEPTH, "Requests waiting for the NER model");
    describe_counter!(NER_REJECTED, "Requests refused because the NER queue was full");
    describe_histogram!(NER_BATCH_REQUESTS, "Requests per NER batch");
    describe_histogram!(NER_BATCH_WINDOWS, "Windows per NER forward pass");
    describe_histogram!(NER_BATCH_TOKENS, "Padded tokens per NER forward pass");
    describe_histogram!(NER_INFERENCE_SECONDS, Unit::Seconds, "Time per NER forward pass");
    describe_counter!(NER_TOKENS_TOTAL, "Tokens run through the NER model (rate = tokens/s)");
}
