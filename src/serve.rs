//! `veil serve`: opens the audit log, builds the state, binds, serves until SIGTERM or
//! Ctrl-C, then drains in-flight requests and flushes the audit log.

use crate::audit::{self, AuditHandle};
use crate::config::{Config, ProcessEnv};
use crate::mask::ValueHasher;
use crate::state::AppState;
use std::net::SocketAddr;

/// Start-up failures; `exit_code` maps them to docs/interface.md's exit codes.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0:#}")]
    Config(anyhow::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{0:#}")]
    Runtime(anyhow::Error),
}

impl ServeError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ServeError::Config(_) => 2,
            _ => 1,
        }
    }
}

/// Runs the gateway on `config` until a shutdown signal.
pub async fn serve(config: Config) -> Result<(), ServeError> {
    crate::telemetry::metrics::handle();
    // >>> telemetry: OTLP trace export ([telemetry] otlp_endpoint), flushed at shutdown
    let exporting = match &config.telemetry.otlp {
        Some(settings) => Some(crate::telemetry::otel::start(settings).map_err(|e| ServeError::Config(e.into()))?),
        None => None,
    };
    // <<< telemetry
    let (audit, writer, key) = match &config.audit.path {
        Some(path) => {
            let key = audit::load_or_create_key(&config.audit, &ProcessEnv)
                .map_err(|e| ServeError::Config(anyhow::anyhow!("audit: {e}")))?;
            let (handle, writer) = AuditHandle::open_with(path, &key, config.audit.rotation)
                .await
                .map_err(|e| ServeError::Config(anyhow::anyhow!("audit: {e}")))?;
            (handle, Some(writer), key)
        }
        None => (AuditHandle::disabled(), None, rand::random::<[u8; 32]>().to_vec()),
    };
    let listen = config.server.listen;
    let (detectors, ner) = crate::state::detectors_unloaded(&config).map_err(ServeError::Config)?;
    if ner.is_none() {
        // Only an explicit `model = "none"` gets here: an unset model is the built-in one.
        tracing::warn!(model = "none", "patterns only: names and street addresses are not masked");
    }
    let model = config.detect.model.clone();
    let ner_options = crate::ner::NerOptions::from_config(&config.detect);
    let state =
        AppState::with_detectors(config, audit, ValueHasher::new(&key), detectors).map_err(ServeError::Config)?;
    // The model loads beside the running server: /healthz answers at once, /readyz (and
    // every request, fail closed) waits for the model. A model that cannot load stops Veil.
    let (fatal_tx, fatal_rx) = tokio::sync::oneshot::channel::<anyhow::Error>();
    if let Some(ner) = ner {
        state.set_ready(false);
        let ready = state.clone();
        std::thread::Builder::new()
            .name("veil-ner-load".into())
            .spawn(move || match ner.load(&model, &ner_options) {
                Ok(()) => ready.set_ready(true),
                Err(e) => {
                    let _ = fatal_tx.send(e);
                }
            })
            .map_err(|e| ServeError::Runtime(e.into()))?;
    }
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let fatal = tokio::spawn(async move {
        match fatal_rx.await {
            Ok(e) => {
                let _ = stop_tx.send(());
                Some(e)
            }
            Err(_) => None,
        }
    });
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|source| ServeError::Bind { addr: listen, source })?;
    let addr = listener.local_addr().map_err(|e| ServeError::Runtime(e.into()))?;
    // Plain values, not Rust's debug form: `detectors` is a comma-separated list, `audit`
    // the log's path or `off`.
    let audit_log = state.config.audit.path.as_ref().map_or_else(|| "off".to_string(), |p| p.display().to_string());
    tracing::info!(
        listen = %addr,
        detectors = %state.masker.versions().join(","),
        providers = state.config.providers.len(),
        audit = %audit_log,
        "veil listening"
    );
    let app = crate::app(state);
    // TCP_NODELAY: SSE frames and small JSON answers must not wait for Nagle's algorithm.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            tokio::select! {
                _ = shutdown_signal() => {},
                // Only a load failure stops the server; the sender is dropped after a success.
                Ok(()) = stop_rx => tracing::error!("the NER model cannot be loaded; stopping"),
            }
        })
        .await
        .map_err(|e| ServeError::Runtime(e.into()))?;
    if let Some(w) = writer {
        w.shutdown().await;
    }
    // >>> telemetry: send the spans still queued (blocks up to 5 s)
    if let Some(x) = exporting {
        let _ = tokio::task::spawn_blocking(move || x.shutdown()).await;
    }
    // <<< telemetry
    if fatal.is_finished() {
        if let Ok(Some(e)) = fatal.await {
            return Err(ServeError::Config(e));
        }
    } else {
        fatal.abort();
    }
    tracing::info!("veil stopped cleanly");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received; draining");
}
