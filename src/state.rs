//! `AppState`: everything a request needs, built once at start-up and cheap to clone.

use crate::audit::AuditHandle;
use crate::config::{Config, KeyConfig, ModelSetting};
use crate::mask::patterns::PatternDetector;
use crate::mask::{Detector, Masker, ValueHasher};
use crate::ner::{NerDetector, NerOptions};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Arc<Config>,
    pub masker: Arc<Masker>,
    pub audit: AuditHandle,
    pub http: reqwest::Client,
    pub limiter: RateLimiter,
    /// Caps requests in flight; a failed `try_acquire` sheds load with a 503.
    pub concurrency: Arc<Semaphore>,
    ready: AtomicBool,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Builds the detectors, masker and upstream client from a validated config.
    pub fn build(config: Config, audit: AuditHandle, hasher: ValueHasher) -> anyhow::Result<AppState> {
        let detectors = build_detectors(&config)?;
        AppState::with_detectors(config, audit, hasher, detectors)
    }

    /// Like [`AppState::build`] with the given detectors instead of the configured ones.
    pub fn with_detectors(
        config: Config,
        audit: AuditHandle,
        hasher: ValueHasher,
        detectors: Vec<Arc<dyn Detector>>,
    ) -> anyhow::Result<AppState> {
        // Install the metrics recorder before the first request records anything.
        crate::telemetry::metrics::handle();
        let masker = Masker::new(detectors, config.policy.clone(), &config.detect.allow, hasher);
        let http = reqwest::Client::builder()
            .connect_timeout(config.server.upstream_connect_timeout)
            .read_timeout(config.server.stream_idle_timeout)
            .pool_idle_timeout(std::time::Duration::from_secs(90))
            .tcp_nodelay(true)
            .user_agent(concat!("veil/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let concurrency = Arc::new(Semaphore::new(config.server.max_concurrency));
        Ok(AppState(Arc::new(Inner {
            config: Arc::new(config),
            masker: Arc::new(masker),
            audit,
            http,
            limiter: RateLimiter::default(),
            concurrency,
            ready: AtomicBool::new(true),
        })))
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }
}

/// Detectors, strongest first.
pub type Detectors = Vec<Arc<dyn Detector>>;

/// The detectors the config asks for, strongest first, with the NER model loaded.
pub fn build_detectors(config: &Config) -> anyhow::Result<Vec<Arc<dyn Detector>>> {
    let (detectors, ner) = detectors_unloaded(config)?;
    if let Some(ner) = ner {
        ner.load(&config.detect.model, &NerOptions::from_config(&config.detect))?;
    }
    Ok(detectors)
}

/// The detectors the config asks for; the NER detector, if any, is returned a second time
/// so the caller can load it (it refuses to detect until then).
pub fn detectors_unloaded(config: &Config) -> anyhow::Result<(Detectors, Option<Arc<NerDetector>>)> {
    let patterns = PatternDetector::new(&config.detect.deny)?;
    let mut detectors: Vec<Arc<dyn Detector>> = vec![Arc::new(patterns)];
    let ner = match &config.detect.model {
        ModelSetting::None => None,
        _ => {
            let ner = Arc::new(NerDetector::new());
            detectors.push(ner.clone());
            Some(ner)
        }
    };
    detectors.shrink_to_fit();
    Ok((detectors, ner))
}

/// Requests-per-minute limits per API key: a token bucket refilled continuously.
#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// Takes one token for `key`; false when the key is over its `rpm`.
    pub fn allow(&self, key: &KeyConfig) -> bool {
        let Some(rpm) = key.rpm else { return true };
        let cap = f64::from(rpm);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = buckets.entry(key.id.clone()).or_insert((cap, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * cap / 60.0).min(cap);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
