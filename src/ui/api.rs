//! The review page's JSON API (`/ui/api/...`). Every handler reads the audit log through
//! the shared reader ([`audit::run_query`], [`audit::read_entries`], [`audit::verify_set`])
//! on a blocking thread, over the whole rotated set of the configured log, and answers
//! with what the log holds (labels, actions, placeholders, keyed hashes), never a value.
//!
//! Filter parameters are those of `veil audit query` with the same names and syntax
//! ([`audit::QUERY_PARAMS`], read by [`Query::set`]): `since`, `until`, `label`,
//! `provider`, `model`, `key`, `outcome` (repeatable), plus `order`. Parameters with an
//! empty value are ignored (an unset form field).

use super::UiError;
use crate::audit::{self, AuditRecord, Entry, LogFile, LogSet, Query, VerifyError};
use crate::mask::{Label, MaskError, PlaceholderMap};
use crate::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query as UrlQuery, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

/// Records per page unless `limit` says otherwise.
pub const DEFAULT_PAGE: usize = 50;
/// Largest page.
pub const MAX_PAGE: usize = 1000;
/// Chart buckets unless `buckets` says otherwise.
pub const DEFAULT_BUCKETS: usize = 30;
/// Most chart buckets.
pub const MAX_BUCKETS: usize = 200;
/// Distinct providers, models and keys `meta` lists at most (each).
const MAX_DISTINCT: usize = 200;

type Params = UrlQuery<Vec<(String, String)>>;

/// The filters of a request, and the page or chart parameters beside them.
#[derive(Debug, Default)]
pub(crate) struct Filters {
    pub query: Query,
    pub offset: usize,
    pub page: usize,
    pub buckets: usize,
}

/// Reads the parameters: filters through [`Query::set`] (so they mean what they mean for
/// `veil audit query`); `limit` is the page size and `offset` the records skipped (for
/// `records`), `buckets` the number of chart buckets (for `series`). Newest first unless
/// `order=oldest`.
pub(crate) fn parse_filters(
    params: &[(String, String)],
    extra: &[&str],
    now: DateTime<Utc>,
) -> Result<Filters, UiError> {
    let mut f = Filters { page: DEFAULT_PAGE, buckets: DEFAULT_BUCKETS, ..Filters::default() };
    f.query.newest_first = true;
    let number = |name: &str, value: &str, max: usize| -> Result<usize, UiError> {
        value
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| n <= max)
            .ok_or_else(|| UiError::BadRequest(format!("{name} {value:?}: must be a whole number up to {max}")))
    };
    for (name, value) in params {
        if value.trim().is_empty() {
            continue;
        }
        match name.as_str() {
            "offset" if extra.contains(&"offset") => f.offset = number(name, value, usize::MAX / 2)?,
            "limit" if extra.contains(&"limit") => {
                f.page = number(name, value, MAX_PAGE)?;
                if f.page == 0 {
                    return Err(UiError::BadRequest(format!("limit {value:?}: must be at least 1")));
                }
            }
            "buckets" if extra.contains(&"buckets") => {
                f.buckets = number(name, value, MAX_BUCKETS)?.max(1);
            }
            "limit" => return Err(UiError::BadRequest("limit: not a parameter of this route".to_string())),
            _ => f.query.set(name, value, now).map_err(|e| UiError::BadRequest(e.to_string()))?,
        }
    }
    Ok(f)
}

/// The configured log's files, oldest first: its rotated files, then the active file.
pub(crate) fn log_set(state: &AppState) -> Result<LogSet, UiError> {
    let active = state.config.audit.path.clone().ok_or(UiError::AuditOff)?;
    let unreadable = |source| UiError::Read(VerifyError::Unreadable { path: active.clone(), source });
    let mut files = audit::rotated_files(&active).map_err(unreadable)?;
    if active.is_file() {
        files.push(LogFile { path: active.clone(), rotated: None });
    }
    Ok(LogSet { active, files })
}

/// Runs `f` on a blocking thread (file reads never run on a tokio worker).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, UiError> + Send + 'static) -> Result<T, UiError> {
    tokio::task::spawn_blocking(f).await.map_err(|_| UiError::Internal)?
}

/// One table row: the record without its findings (their number instead).
#[derive(Debug, Serialize)]
struct Row {
    seq: Option<u64>,
    time: String,
    request_id: String,
    key_id: Option<String>,
    route: String,
    client_api: String,
    provider: Option<String>,
    model: Option<String>,
    stream: bool,
    outcome: String,
    status: u16,
    upstream_status: Option<u16>,
    error_kind: Option<String>,
    entities: BTreeMap<String, BTreeMap<String, u32>>,
    findings: usize,
    latency_ms: audit::Latency,
}

impl Row {
    fn of(e: &Entry) -> Row {
        let r = &e.record;
        Row {
            seq: e.seq,
            time: r.time.clone(),
            request_id: r.request_id.clone(),
            key_id: r.key_id.clone(),
            route: r.route.clone(),
            client_api: r.client_api.clone(),
            provider: r.provider.clone(),
            model: r.model.clone(),
            stream: r.stream,
            outcome: r.outcome.clone(),
            status: r.status,
            upstream_status: r.upstream_status,
            error_kind: r.error_kind.clone(),
            entities: r.entities.clone(),
            findings: r.findings.len(),
            latency_ms: r.latency_ms,
        }
    }
}

/// `GET /ui/api/meta`: what the filters can choose from (labels, outcomes, and the
/// providers, models and keys the log holds) and where the log is.
pub async fn meta(State(state): State<AppState>) -> Result<Json<Value>, UiError> {
    let set = log_set(&state)?;
    blocking(move || {
        let (mut providers, mut models, mut keys) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        let paths = set.paths();
        let stats = audit::read_entries(&paths, |e| {
            let r = e.record;
            for (seen, v) in [(&mut providers, r.provider), (&mut models, r.model), (&mut keys, r.key_id)] {
                if let Some(v) = v.filter(|v| !v.is_empty()) {
                    if seen.len() < MAX_DISTINCT {
                        seen.insert(v);
                    }
                }
            }
            ControlFlow::Continue(())
        })
        .map_err(UiError::Read)?;
        Ok(Json(json!({
            "audit_path": set.active.display().to_string(),
            "files": paths.len(),
            "records": stats.records,
            "malformed_lines": stats.malformed_lines,
            "labels": Label::ALL.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
            "outcomes": audit::outcome::ALL,
            "providers": providers,
            "models": models,
            "keys": keys,
        })))
    })
    .await
}

/// `GET /ui/api/records`: one page of the records the filters select, newest first:
/// `{"total", "offset", "limit", "records": [row...]}` (`total` counts every match).
pub async fn records(State(state): State<AppState>, UrlQuery(params): Params) -> Result<Json<Value>, UiError> {
    let mut f = parse_filters(&params, &["offset", "limit"], Utc::now())?;
    let set = log_set(&state)?;
    blocking(move || {
        // The shared reader keeps the first (or newest) offset + page matches; the page is
        // what follows the offset.
        f.query.limit = Some(f.offset.saturating_add(f.page));
        let mut rows = Vec::new();
        let mut seen = 0usize;
        let stats = audit::run_query(&set.paths(), &f.query, |e| {
            seen += 1;
            if seen > f.offset {
                rows.push(Row::of(e));
            }
            ControlFlow::Continue(())
        })
        .map_err(UiError::Read)?;
        Ok(Json(json!({
            "total": stats.matched,
            "offset": f.offset,
            "limit": f.page,
            "records": rows,
            "malformed_lines": stats.malformed_lines,
        })))
    })
    .await
}

/// `GET /ui/api/records/{seq}`: one whole record (findings with label, action, detector,
/// placeholder and keyed hash) and its chain fields.
pub async fn record(State(state): State<AppState>, Path(seq): Path<u64>) -> Result<Json<Value>, UiError> {
    let set = log_set(&state)?;
    blocking(move || {
        let mut found: Option<Entry> = None;
        audit::read_entries(&set.paths(), |e| {
            if e.seq == Some(seq) {
                found = Some(e);
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        })
        .map_err(UiError::Read)?;
        let e = found.ok_or(UiError::NoRecord(seq))?;
        let line: Value = serde_json::from_str(&e.line).unwrap_or(Value::Null);
        let chain = |k: &str| line.get(k).cloned().unwrap_or(Value::Null);
        Ok(Json(json!({
            "seq": e.seq,
            "record": e.record,
            "chain": {"prev_hash": chain("prev_hash"), "hash": chain("hash"), "mac": chain("mac")},
        })))
    })
    .await
}

/// `GET /ui/api/verify`: `veil audit verify` over the log's rotated set, with the key
/// `verify` would use (the key variable, else `<log>.key`): `{"intact": true, "records",
/// "files", "mac_checked", "last_seq", "last_hash", "summary"}` or `{"intact": false,
/// "problem"}`. A line being written at that moment can read as torn: check again.
pub async fn verify(State(state): State<AppState>) -> Result<Json<Value>, UiError> {
    let set = log_set(&state)?;
    let key_env = state.config.audit.key_env.clone();
    blocking(move || {
        let key = audit::verify_key_for(&set.active, &key_env, &crate::config::ProcessEnv);
        Ok(Json(match audit::verify_set(&set, key.as_deref()) {
            Ok(r) => json!({
                "intact": true,
                "records": r.records,
                "files": r.files,
                "mac_checked": r.mac_checked,
                "first_seq": r.first_seq,
                "last_seq": r.last_seq,
                "last_hash": r.last_hash,
                "summary": r.to_string(),
            }),
            Err(e @ VerifyError::Unreadable { .. }) => return Err(UiError::Read(e)),
            Err(e) => json!({"intact": false, "files": set.files.len(), "problem": e.to_string()}),
        }))
    })
    .await
}

/// What one chart bucket sums up.
#[derive(Debug, Default, Serialize)]
struct Bucket {
    start: String,
    requests: u64,
    p50_ms: Option<f64>,
    p95_ms: Option<f64>,
    /// Mean masking and upstream time of the bucket's requests.
    mask_ms: Option<f64>,
    upstream_ms: Option<f64>,
    /// Label -> entities found (all actions).
    entities: BTreeMap<String, u64>,
    outcomes: BTreeMap<String, u64>,
    #[serde(skip)]
    totals: Vec<f64>,
    #[serde(skip)]
    mask_sum: f64,
    #[serde(skip)]
    upstream_sum: f64,
}

/// Nearest-rank percentile of sorted values.
fn nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = (p * sorted.len() as f64).ceil() as usize;
    Some(sorted[i.clamp(1, sorted.len()) - 1])
}

/// The summed-up records, `buckets` equal spans from the first to the last (or `since` to
/// `until`).
pub(crate) fn bucketize(records: &[(DateTime<Utc>, AuditRecord)], query: &Query, buckets: usize) -> Value {
    let first = query.since.or_else(|| records.iter().map(|r| r.0).min());
    let last = query.until.or_else(|| records.iter().map(|r| r.0).max());
    let (Some(first), Some(last)) = (first, last) else {
        return json!({"bucket_seconds": 0, "buckets": [], "totals": {"requests": 0, "entities": {}, "outcomes": {}}});
    };
    let n = buckets.max(1) as i64;
    let span_ms = (last - first).num_milliseconds().max(0) + 1;
    // At least one second per bucket; buckets start on whole seconds.
    let width_ms = ((span_ms + n - 1) / n).max(1000);
    let width_ms = (width_ms + 999) / 1000 * 1000;
    let start = DateTime::from_timestamp(first.timestamp(), 0).unwrap_or(first);
    let count = (((last - start).num_milliseconds().max(0) / width_ms) + 1).min(n) as usize;
    let mut out: Vec<Bucket> = (0..count)
        .map(|i| Bucket {
            start: (start + chrono::Duration::milliseconds(width_ms * i as i64))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ..Bucket::default()
        })
        .collect();
    let mut entities: BTreeMap<String, u64> = BTreeMap::new();
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    for (t, r) in records {
        let i = ((*t - start).num_milliseconds().max(0) / width_ms) as usize;
        let b = &mut out[i.min(count - 1)];
        b.requests += 1;
        b.totals.push(r.latency_ms.total);
        b.mask_sum += r.latency_ms.mask;
        b.upstream_sum += r.latency_ms.upstream;
        *b.outcomes.entry(r.outcome.clone()).or_insert(0) += 1;
        *outcomes.entry(r.outcome.clone()).or_insert(0) += 1;
        for (label, actions) in &r.entities {
            let sum: u64 = actions.values().map(|&n| u64::from(n)).sum();
            if sum > 0 {
                *b.entities.entry(label.clone()).or_insert(0) += sum;
                *entities.entry(label.clone()).or_insert(0) += sum;
            }
        }
    }
    for b in &mut out {
        b.totals.sort_by(f64::total_cmp);
        b.p50_ms = nearest_rank(&b.totals, 0.50);
        b.p95_ms = nearest_rank(&b.totals, 0.95);
        if b.requests > 0 {
            b.mask_ms = Some(b.mask_sum / b.requests as f64);
            b.upstream_ms = Some(b.upstream_sum / b.requests as f64);
        }
    }
    json!({
        "bucket_seconds": width_ms / 1000,
        "buckets": out,
        "totals": {"requests": records.len(), "entities": entities, "outcomes": outcomes},
    })
}

/// `GET /ui/api/series`: the records the filters select, summed up per time bucket for the
/// charts: requests, p50/p95 total latency, mean masking and upstream time, entities by
/// label and outcomes (`buckets` of them, default 30).
pub async fn series(State(state): State<AppState>, UrlQuery(params): Params) -> Result<Json<Value>, UiError> {
    let f = parse_filters(&params, &["buckets"], Utc::now())?;
    let set = log_set(&state)?;
    blocking(move || {
        let mut query = f.query.clone();
        query.newest_first = false;
        let mut records = Vec::new();
        audit::run_query(&set.paths(), &query, |e| {
            if let Ok(t) = DateTime::parse_from_rfc3339(&e.record.time) {
                records.push((t.with_timezone(&Utc), e.record.clone()));
            }
            ControlFlow::Continue(())
        })
        .map_err(UiError::Read)?;
        Ok(Json(bucketize(&records, &f.query, f.buckets)))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TryBody {
    pub text: String,
}

/// `POST /ui/api/try` `{"text": "..."}`: how the gateway would mask this text (its
/// detectors, allow-list and policy): `{"masked", "blocked": [labels], "findings":
/// [{label, kind, action, detector, placeholder}]}`. Nothing is sent anywhere and nothing
/// is written to the audit log; the answer holds placeholders, never the values.
pub async fn try_mask(
    State(state): State<AppState>,
    body: Result<Json<TryBody>, JsonRejection>,
) -> Result<Json<Value>, UiError> {
    let Json(TryBody { text }) =
        body.map_err(|_| UiError::BadRequest("invalid body: expected {\"text\": \"...\"}".to_string()))?;
    let mut masked = text;
    let mut map = PlaceholderMap::avoiding([masked.as_str()]);
    let result = state.masker.mask(&mut [&mut masked], &mut map).await;
    let (findings, blocked) = match result {
        Ok(report) => (report.findings, Vec::new()),
        Err(MaskError::Blocked(labels)) => (Vec::new(), labels),
        Err(MaskError::Detect(_)) => return Err(UiError::MaskingUnavailable),
    };
    let findings: Vec<Value> = findings
        .iter()
        .map(|f| {
            json!({
                "label": f.label.as_str(),
                "kind": (!f.kind.is_any()).then(|| f.kind.as_str()),
                "action": f.action.as_str(),
                "detector": f.detector,
                "placeholder": f.placeholder,
            })
        })
        .collect();
    Ok(Json(json!({
        "masked": masked,
        "blocked": blocked.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
        "findings": findings,
    })))
}
