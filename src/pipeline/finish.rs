//! The one "request finished" hook: it fills and sends the audit record and records the
//! metrics exactly once per request, on success, error, refusal and client cancel (the
//! `Drop` impl covers a handler future dropped mid-way or a stream whose client left).

use crate::audit::AuditRecord;
use crate::config::Target;
use crate::mask::{MaskReport, RestoreStats};
use crate::providers::ApiKind;
use crate::state::AppState;
use crate::telemetry::metrics as m;
use std::time::{Duration, Instant};

/// How a request ended, as the audit log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    UpstreamError,
    Refused,
    Blocked,
    Cancelled,
    Error,
}

impl Outcome {
    pub const fn as_str(self) -> &'static str {
        use crate::audit::outcome;
        match self {
            Outcome::Ok => outcome::OK,
            Outcome::UpstreamError => outcome::UPSTREAM_ERROR,
            Outcome::Refused => outcome::REFUSED,
            Outcome::Blocked => outcome::BLOCKED,
            Outcome::Cancelled => outcome::CANCELLED,
            Outcome::Error => outcome::ERROR,
        }
    }
}

pub struct Finisher {
    state: AppState,
    rec: Option<AuditRecord>,
    started: Instant,
    route: &'static str,
    provider: String,
    mask: Duration,
    upstream: Duration,
    restore: Duration,
    stats: RestoreStats,
}

impl Finisher {
    pub fn new(state: AppState, api: ApiKind, request_id: String, key_id: Option<String>) -> Self {
        Finisher::for_route(state, api, api.route(), request_id, key_id)
    }

    /// A finisher for a request on `route` (the audit `route` and the metrics label), whose
    /// client speaks `api`; [`Finisher::new`] picks the conversation route of `api`.
    pub fn for_route(
        state: AppState,
        api: ApiKind,
        route: &'static str,
        request_id: String,
        key_id: Option<String>,
    ) -> Self {
        let mut rec = AuditRecord::new(request_id, route, api);
        rec.key_id = key_id;
        rec.detectors = state.masker.versions();
        Finisher {
            state,
            rec: Some(rec),
            started: Instant::now(),
            route,
            provider: "none".to_string(),
            mask: Duration::ZERO,
            upstream: Duration::ZERO,
            restore: Duration::ZERO,
            stats: RestoreStats::default(),
        }
    }

    fn rec(&mut self) -> Option<&mut AuditRecord> {
        self.rec.as_mut()
    }

    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The request id, for log lines written before the request ends.
    pub fn request_id(&self) -> &str {
        self.rec.as_ref().map_or("", |r| r.request_id.as_str())
    }

    pub fn set_stream(&mut self, stream: bool) {
        if let Some(r) = self.rec() {
            r.stream = stream;
        }
    }

    pub fn set_target(&mut self, t: &Target) {
        self.provider = t.provider.clone();
        if let Some(r) = self.rec() {
            r.provider = Some(t.provider.clone());
            r.model = Some(t.model.clone());
        }
    }

    pub fn set_report(&mut self, report: &MaskReport) {
        if let Some(r) = self.rec() {
            r.add_findings(report);
        }
    }

    pub fn set_upstream_status(&mut self, status: u16) {
        if let Some(r) = self.rec() {
            r.upstream_status = Some(status);
        }
    }

    pub fn set_usage(&mut self, usage: Option<(u64, u64)>) {
        if let (Some(r), Some((input, output))) = (self.rec.as_mut(), usage) {
            r.usage = Some(crate::audit::Usage { input_tokens: input, output_tokens: output });
        }
    }

    pub fn mask_time(&mut self, d: Duration) {
        self.mask += d;
    }

    pub fn upstream_time(&mut self, d: Duration) {
        self.upstream = d;
    }

    pub fn restore_time(&mut self, d: Duration, stats: RestoreStats) {
        self.restore += d;
        self.stats.add(stats);
    }

    /// Moves the pending record into a new finisher (handed to the stream task); this one
    /// becomes inert.
    pub fn take(&mut self) -> Finisher {
        Finisher {
            state: self.state.clone(),
            rec: self.rec.take(),
            started: self.started,
            route: self.route,
            provider: self.provider.clone(),
            mask: self.mask,
            upstream: self.upstream,
            restore: self.restore,
            stats: self.stats,
        }
    }

    /// Records the request once; later calls do nothing.
    pub fn done(&mut self, outcome: Outcome, status: u16, error_kind: Option<&'static str>) {
        let Some(mut rec) = self.rec.take() else { return };
        let total = self.started.elapsed();
        rec.outcome = outcome.as_str().to_string();
        rec.status = status;
        rec.error_kind = error_kind.map(str::to_string);
        rec.latency_ms = crate::audit::Latency {
            mask: ms(self.mask),
            upstream: ms(self.upstream),
            restore: ms(self.restore),
            total: ms(total),
        };
        rec.placeholders = crate::audit::PlaceholderCounts {
            restored: sat32(self.stats.exact + self.stats.mutated),
            mutated: sat32(self.stats.mutated),
            unrestored: sat32(self.stats.unrestored),
        };

        let status_label = status.to_string();
        let labels = [("route", self.route.to_string()), ("provider", self.provider.clone()), ("status", status_label)];
        metrics::counter!(m::REQUESTS_TOTAL, &labels).increment(1);
        metrics::histogram!(m::REQUEST_DURATION, &labels).record(total.as_secs_f64());
        metrics::histogram!(m::MASK_DURATION).record(self.mask.as_secs_f64());
        if self.upstream > Duration::ZERO {
            metrics::histogram!(m::UPSTREAM_DURATION, "provider" => self.provider.clone())
                .record(self.upstream.as_secs_f64());
        }
        metrics::histogram!(m::RESTORE_DURATION).record(self.restore.as_secs_f64());
        for (label, actions) in &rec.entities {
            for (action, n) in actions {
                metrics::counter!(m::ENTITIES_TOTAL, "label" => label.clone(), "action" => action.clone())
                    .increment(u64::from(*n));
            }
        }
        if self.stats.exact > 0 {
            metrics::counter!(m::PLACEHOLDERS_RESTORED, "form" => "exact").increment(self.stats.exact);
        }
        if self.stats.mutated > 0 {
            metrics::counter!(m::PLACEHOLDERS_RESTORED, "form" => "mutated").increment(self.stats.mutated);
        }
        if self.stats.unrestored > 0 {
            metrics::counter!(m::PLACEHOLDERS_UNRESTORED).increment(self.stats.unrestored);
        }
        tracing::debug!(
            request_id = %rec.request_id,
            provider = %self.provider,
            status,
            outcome = outcome.as_str(),
            entities = rec.findings.len(),
            mask_ms = rec.latency_ms.mask,
            total_ms = rec.latency_ms.total,
            "request finished"
        );
        self.state.audit.record(rec);
    }
}

fn sat32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

impl Drop for Finisher {
    fn drop(&mut self) {
        if self.rec.is_some() {
            self.done(Outcome::Cancelled, 499, Some("client_cancelled"));
        }
    }
}
