//! Reading and filtering audit records (offline, over what step 5 of the request flow
//! wrote): the one place that decides which records a query matches and how a record is
//! summarised, shared by `veil audit query`, `export` and `tail` and meant for the review
//! UI too. Parameters have one name everywhere ([`Query::set`]: `since`, `until`, `label`,
//! `provider`, `model`, `key`, `outcome`, `limit`, `order`), so a query string and the
//! command line mean the same thing. Reading does not verify the chain (`veil audit
//! verify` does); lines that are not records are counted and skipped.

use super::verify::{read_lines, VerifyError};
use super::{outcome, AuditRecord};
use crate::mask::Label;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::path::PathBuf;

/// One record as read from the log, with its `seq` and the line exactly as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub seq: Option<u64>,
    pub record: AuditRecord,
    /// The line without its `\n`: what `--json` prints, hash and mac included.
    pub line: String,
}

#[derive(Deserialize)]
struct LogLine {
    seq: Option<u64>,
    #[serde(flatten)]
    record: AuditRecord,
}

impl Entry {
    /// Parses one line (without `\n`); `None` if it is not a record.
    pub fn parse(line: &[u8]) -> Option<Entry> {
        let text = std::str::from_utf8(line).ok()?;
        let l: LogLine = serde_json::from_str(text).ok()?;
        Some(Entry { seq: l.seq, record: l.record, line: text.to_string() })
    }
}

/// What a read went through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryStats {
    /// Records read.
    pub records: u64,
    /// Records that matched (before `limit`).
    pub matched: u64,
    /// Lines that are not records (skipped), a torn last line included.
    pub malformed_lines: u64,
}

/// Calls `f` with every record of `files`, in order, until it returns `Break`. Lines that
/// are not records are counted in [`QueryStats::malformed_lines`] and skipped.
pub fn read_entries(files: &[PathBuf], mut f: impl FnMut(Entry) -> ControlFlow<()>) -> Result<QueryStats, VerifyError> {
    let mut stats = QueryStats::default();
    for path in files {
        let flow = read_lines(path, |_, bytes, torn| match Entry::parse(bytes).filter(|_| !torn) {
            Some(e) => {
                stats.records += 1;
                f(e)
            }
            None => {
                stats.malformed_lines += 1;
                ControlFlow::Continue(())
            }
        })?;
        if flow.is_break() {
            break;
        }
    }
    Ok(stats)
}

/// Which records to return, and how many in what order. Every field empty matches all.
/// Within a field the values are alternatives (any label, any provider...); fields combine
/// with "and".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Records at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Records before this time.
    pub until: Option<DateTime<Utc>>,
    /// Records with at least one entity of any of these labels.
    pub labels: Vec<String>,
    pub providers: Vec<String>,
    /// The model as sent upstream (`gpt-4o`) or with its provider (`openai/gpt-4o`).
    pub models: Vec<String>,
    /// Caller key ids.
    pub keys: Vec<String>,
    /// Values of [`outcome`].
    pub outcomes: Vec<String>,
    /// At most this many records (the first ones, or the newest with `newest_first`).
    pub limit: Option<usize>,
    /// Newest first instead of log order.
    pub newest_first: bool,
}

/// The parameter names [`Query::set`] takes.
pub const PARAMS: &[&str] = &["since", "until", "label", "provider", "model", "key", "outcome", "limit", "order"];

/// A query parameter that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("{param} {value:?}: {reason}")]
    Invalid { param: String, value: String, reason: String },
    #[error("unknown query parameter {0:?} (known: since, until, label, provider, model, key, outcome, limit, order)")]
    Unknown(String),
}

/// A time bound: RFC 3339 (`2026-12-01T20:00:00Z`), a UTC date (`2026-12-01`, its
/// midnight), or a duration back from `now` (`30m`, `1h`, `2d`, `1h30m`).
pub fn parse_time_bound(value: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let v = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    let d = crate::config::parse_duration(v).map_err(|_| {
        "expected a duration back from now (30m, 1h, 2d), a date (2026-12-01) or an RFC 3339 time \
         (2026-12-01T20:00:00Z)"
            .to_string()
    })?;
    chrono::Duration::from_std(d).ok().and_then(|d| now.checked_sub_signed(d)).ok_or_else(|| "too far back".to_string())
}

impl Query {
    /// Sets one parameter from its text, as the command line (`--since 1h`) or a query
    /// string (`since=1h`) gives it; repeatable parameters add a value. `now` anchors
    /// relative times.
    pub fn set(&mut self, param: &str, value: &str, now: DateTime<Utc>) -> Result<(), QueryError> {
        let invalid =
            |reason: String| QueryError::Invalid { param: param.to_string(), value: value.to_string(), reason };
        let nonempty = || {
            let v = value.trim();
            if v.is_empty() {
                Err(invalid("must not be empty".to_string()))
            } else {
                Ok(v.to_string())
            }
        };
        match param {
            "since" => self.since = Some(parse_time_bound(value, now).map_err(invalid)?),
            "until" => self.until = Some(parse_time_bound(value, now).map_err(invalid)?),
            "label" => {
                let label: Label = value.trim().to_ascii_uppercase().parse().map_err(|_| {
                    let all: Vec<&str> = Label::ALL.iter().map(|l| l.as_str()).collect();
                    invalid(format!("not a label; labels are {}", all.join(", ")))
                })?;
                self.labels.push(label.as_str().to_string());
            }
            "provider" => self.providers.push(nonempty()?),
            "model" => self.models.push(nonempty()?),
            "key" => self.keys.push(nonempty()?),
            "outcome" => {
                let v = value.trim().to_ascii_lowercase();
                if !outcome::ALL.contains(&v.as_str()) {
                    return Err(invalid(format!("not an outcome; outcomes are {}", outcome::ALL.join(", "))));
                }
                self.outcomes.push(v);
            }
            "limit" => match value.trim().parse::<usize>() {
                Ok(n) if n > 0 => self.limit = Some(n),
                _ => return Err(invalid("must be a whole number of records, at least 1".to_string())),
            },
            "order" => {
                self.newest_first = match value.trim() {
                    "newest" => true,
                    "oldest" => false,
                    _ => return Err(invalid("expected \"newest\" or \"oldest\"".to_string())),
                }
            }
            _ => return Err(QueryError::Unknown(param.to_string())),
        }
        if let (Some(s), Some(u)) = (self.since, self.until) {
            if u <= s {
                return Err(invalid(format!("until ({u}) must be after since ({s})")));
            }
        }
        Ok(())
    }

    /// Whether `rec` passes every filter (`limit` and order aside). A record whose time
    /// cannot be read fails any time filter.
    pub fn matches(&self, rec: &AuditRecord) -> bool {
        if self.since.is_some() || self.until.is_some() {
            let Some(t) = DateTime::parse_from_rfc3339(&rec.time).ok().map(|t| t.with_timezone(&Utc)) else {
                return false;
            };
            if self.since.is_some_and(|s| t < s) || self.until.is_some_and(|u| t >= u) {
                return false;
            }
        }
        let any =
            |want: &[String], have: Option<&str>| want.is_empty() || have.is_some_and(|h| want.iter().any(|w| w == h));
        if !any(&self.providers, rec.provider.as_deref())
            || !any(&self.keys, rec.key_id.as_deref())
            || !any(&self.outcomes, Some(&rec.outcome))
        {
            return false;
        }
        if !self.models.is_empty() {
            let Some(model) = rec.model.as_deref() else { return false };
            let full = rec.provider.as_deref().map(|p| format!("{p}/{model}"));
            if !self.models.iter().any(|m| m == model || full.as_deref() == Some(m.as_str())) {
                return false;
            }
        }
        if !self.labels.is_empty() {
            let found = |l: &String| rec.entities.get(l).is_some_and(|a| a.values().any(|&n| n > 0));
            if !self.labels.iter().any(found) {
                return false;
            }
        }
        true
    }
}

/// Reads `files` in order and calls `emit` with the records `query` selects: the first
/// `limit` matches in log order (reading stops there), or with `newest_first` the last
/// `limit` matches, newest first. `emit` returns `Break` to stop (its output went away).
pub fn run_query(
    files: &[PathBuf],
    query: &Query,
    mut emit: impl FnMut(&Entry) -> ControlFlow<()>,
) -> Result<QueryStats, VerifyError> {
    let mut matched = 0u64;
    let mut kept: VecDeque<Entry> = VecDeque::new();
    let mut stats = read_entries(files, |e| {
        if !query.matches(&e.record) {
            return ControlFlow::Continue(());
        }
        matched += 1;
        if query.newest_first {
            if query.limit.is_some_and(|n| kept.len() == n) {
                kept.pop_front();
            }
            kept.push_back(e);
            return ControlFlow::Continue(());
        }
        emit(&e)?;
        if query.limit.is_some_and(|n| matched as usize >= n) {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    })?;
    for e in kept.iter().rev() {
        if emit(e).is_break() {
            break;
        }
    }
    stats.matched = matched;
    Ok(stats)
}

/// `EMAIL:2,PHONE:1` (all actions summed, labels in order), or `-` when none.
pub fn entity_summary(rec: &AuditRecord) -> String {
    let parts: Vec<String> = rec
        .entities
        .iter()
        .map(|(label, actions)| (label, actions.values().map(|&n| u64::from(n)).sum::<u64>()))
        .filter(|&(_, n)| n > 0)
        .map(|(label, n)| format!("{label}:{n}"))
        .collect();
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(",")
    }
}

const TABLE_HEADER: [&str; 9] =
    ["TIME", "KEY", "PROVIDER", "MODEL", "ROUTE", "OUTCOME", "STATUS", "ENTITIES", "TOTAL_MS"];

/// The summary of a record: time, key id, provider, model, route, outcome, status,
/// entity counts by label, total latency in ms (`-` for what is absent).
fn cells(rec: &AuditRecord) -> [String; 9] {
    let or_dash = |v: &Option<String>| v.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "-".to_string());
    [
        rec.time.clone(),
        or_dash(&rec.key_id),
        or_dash(&rec.provider),
        or_dash(&rec.model),
        rec.route.clone(),
        rec.outcome.clone(),
        rec.status.to_string(),
        entity_summary(rec),
        format!("{:.1}", rec.latency_ms.total),
    ]
}

/// One line per record, as `veil audit tail` prints it:
/// `2026-12-01T20:00:00.123Z  team-a  openai/gpt-4o  /v1/chat/completions  ok 200  EMAIL:2  512.3 ms`.
pub fn format_line(rec: &AuditRecord) -> String {
    let [time, key, provider, model, route, outcome, status, entities, ms] = cells(rec);
    format!("{time}  {key}  {provider}/{model}  {route}  {outcome} {status}  {entities}  {ms} ms")
}

/// An aligned table with a header row, one row per record, as `veil audit query` prints it.
pub fn format_table<'a>(recs: impl IntoIterator<Item = &'a AuditRecord>) -> String {
    let rows: Vec<[String; 9]> = recs.into_iter().map(cells).collect();
    let mut widths = TABLE_HEADER.map(str::len);
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let header = TABLE_HEADER.map(str::to_string);
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (c, w)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            // Numbers right-aligned, text left-aligned.
            if i == 6 || i == 8 {
                line.push_str(&format!("{c:>w$}"));
            } else {
                line.push_str(&format!("{c:<w$}"));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample;
    use super::super::writer::encode_line;
    use super::super::ZERO_HASH;
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const NOW: &str = "2026-12-01T20:00:00Z";

    fn q(params: &[(&str, &str)]) -> Query {
        let mut q = Query::default();
        for (p, v) in params {
            q.set(p, v, at(NOW)).unwrap();
        }
        q
    }

    #[test]
    fn time_bounds() {
        let now = at(NOW);
        assert_eq!(parse_time_bound("1h", now).unwrap(), at("2026-12-01T19:00:00Z"));
        assert_eq!(parse_time_bound("30m", now).unwrap(), at("2026-12-01T19:30:00Z"));
        assert_eq!(parse_time_bound("2d", now).unwrap(), at("2026-11-29T20:00:00Z"));
        assert_eq!(parse_time_bound("1h30m", now).unwrap(), at("2026-12-01T18:30:00Z"));
        assert_eq!(parse_time_bound("2026-11-30T10:00:00+02:00", now).unwrap(), at("2026-11-30T08:00:00Z"));
        assert_eq!(parse_time_bound("2026-11-30", now).unwrap(), at("2026-11-30T00:00:00Z"));
        for bad in ["", "yesterday", "1y", "2026-13-01", "-1h"] {
            assert!(parse_time_bound(bad, now).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn set_validates_and_names_the_parameter() {
        let now = at(NOW);
        let mut query = Query::default();
        for (p, v, want) in [
            ("since", "5x", "since \"5x\": expected a duration"),
            ("label", "EMIAL", "label \"EMIAL\": not a label; labels are PERSON,"),
            ("outcome", "failed", "outcome \"failed\": not an outcome; outcomes are ok, upstream_error, refused"),
            ("limit", "0", "limit \"0\": must be a whole number"),
            ("order", "up", "order \"up\": expected"),
            ("provider", " ", "provider \" \": must not be empty"),
        ] {
            let e = query.set(p, v, now).unwrap_err();
            assert!(e.to_string().starts_with(want), "{e}");
        }
        assert!(matches!(query.set("colour", "x", now), Err(QueryError::Unknown(_))));
        query.set("since", "1h", now).unwrap();
        let e = query.set("until", "2h", now).unwrap_err();
        assert!(e.to_string().contains("must be after since"), "{e}");
        // Labels and outcomes are taken in any case and stored as the log writes them.
        let query = q(&[("label", "email"), ("label", "US_SSN"), ("outcome", "REFUSED")]);
        assert_eq!(query.labels, ["EMAIL", "US_SSN"]);
        assert_eq!(query.outcomes, ["refused"]);
        for p in PARAMS {
            assert!(!matches!(Query::default().set(p, "x", now), Err(QueryError::Unknown(_))), "{p}");
        }
    }

    #[test]
    fn filters() {
        let mut r = sample(1);
        r.time = "2026-12-01T19:45:00.000Z".into();
        r.key_id = Some("team-a".into());
        r.provider = Some("openai".into());
        r.model = Some("gpt-4o".into());
        r.outcome = outcome::REFUSED.into();
        r.entities.clear();
        r.entities.entry("EMAIL".into()).or_default().insert("mask".into(), 2);
        r.entities.entry("PHONE".into()).or_default().insert("redact".into(), 0);
        let yes: &[&[(&str, &str)]] = &[
            &[],
            &[("since", "30m")],
            &[("since", "1h"), ("until", "10m")],
            &[("until", "2026-12-01T19:45:00.001Z")],
            &[("label", "EMAIL")],
            &[("label", "PERSON"), ("label", "EMAIL")],
            &[("provider", "openai")],
            &[("model", "gpt-4o")],
            &[("model", "openai/gpt-4o")],
            &[("model", "gpt-4o-mini"), ("model", "gpt-4o")],
            &[("key", "team-a")],
            &[("outcome", "refused"), ("outcome", "blocked")],
            &[("since", "1d"), ("label", "EMAIL"), ("provider", "openai"), ("key", "team-a"), ("outcome", "refused")],
        ];
        for params in yes {
            assert!(q(params).matches(&r), "{params:?} should match");
        }
        let no: &[&[(&str, &str)]] = &[
            &[("since", "10m")],
            &[("until", "2026-12-01T19:45:00Z")],
            &[("label", "PHONE")], // counted 0 times
            &[("label", "PERSON")],
            &[("provider", "anthropic")],
            &[("model", "gpt-4")],
            &[("model", "anthropic/gpt-4o")],
            &[("key", "team-b")],
            &[("outcome", "ok")],
            &[("since", "1d"), ("label", "EMAIL"), ("provider", "anthropic")],
        ];
        for params in no {
            assert!(!q(params).matches(&r), "{params:?} should not match");
        }
        // Absent fields match no value; an unreadable time fails time filters only.
        let mut bare = r.clone();
        bare.key_id = None;
        bare.provider = None;
        bare.model = None;
        bare.time = "yesterday".into();
        assert!(!q(&[("key", "team-a")]).matches(&bare));
        assert!(!q(&[("provider", "openai")]).matches(&bare));
        assert!(!q(&[("model", "gpt-4o")]).matches(&bare));
        assert!(!q(&[("since", "1d")]).matches(&bare));
        assert!(q(&[("label", "EMAIL")]).matches(&bare));
    }

    fn log(n: usize, dir: &std::path::Path) -> PathBuf {
        let path = dir.join("a.jsonl");
        let mut out = Vec::new();
        let mut prev = ZERO_HASH.to_string();
        for i in 1..=n {
            prev = encode_line(i as u64, &prev, &sample(i), b"k", &mut out).unwrap();
            if i == 3 {
                out.extend_from_slice(b"not a record\n");
            }
        }
        std::fs::write(&path, out).unwrap();
        path
    }

    fn ids(files: &[PathBuf], query: &Query) -> (Vec<String>, QueryStats) {
        let mut got = Vec::new();
        let stats = run_query(files, query, |e| {
            got.push(e.record.request_id.clone());
            ControlFlow::Continue(())
        })
        .unwrap();
        (got, stats)
    }

    #[test]
    fn limit_order_and_skipped_lines() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![log(10, dir.path())];
        // sample(i): provider anthropic when i % 3 == 0.
        let (got, stats) = ids(&files, &q(&[("provider", "anthropic")]));
        assert_eq!(got, ["req-3", "req-6", "req-9"]);
        assert_eq!(stats, QueryStats { records: 10, matched: 3, malformed_lines: 1 });
        let (got, _) = ids(&files, &q(&[("provider", "openai"), ("limit", "2")]));
        assert_eq!(got, ["req-1", "req-2"]);
        let (got, stats) = ids(&files, &q(&[("provider", "openai"), ("limit", "2"), ("order", "newest")]));
        assert_eq!(got, ["req-10", "req-8"]);
        assert_eq!(stats.matched, 7);
        let (got, _) = ids(&files, &q(&[("order", "newest")]));
        assert_eq!(got.len(), 10);
        assert_eq!(got[0], "req-10");
        // The same file twice reads twice: files are read as given.
        let (got, _) = ids(&[files[0].clone(), files[0].clone()], &q(&[("outcome", "upstream_error")]));
        assert_eq!(got, ["req-5", "req-10", "req-5", "req-10"]);
        // Entries keep the line as written.
        let mut lines = Vec::new();
        run_query(&files, &q(&[("limit", "1")]), |e| {
            lines.push((e.seq, e.line.clone()));
            ControlFlow::Continue(())
        })
        .unwrap();
        let first = std::fs::read_to_string(&files[0]).unwrap().lines().next().unwrap().to_string();
        assert_eq!(lines, [(Some(1), first)]);
        let e = run_query(&[dir.path().join("missing")], &Query::default(), |_| ControlFlow::Continue(())).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn summaries() {
        let mut r = sample(1);
        r.time = "2026-12-01T20:00:00.123Z".into();
        r.entities.entry("US_SSN".into()).or_default().insert("block".into(), 1);
        r.entities.get_mut("EMAIL").unwrap().insert("hash".into(), 2);
        r.latency_ms.total = 512.34;
        assert_eq!(entity_summary(&r), "EMAIL:3,US_SSN:1");
        assert_eq!(
            format_line(&r),
            "2026-12-01T20:00:00.123Z  team-a  openai/gpt-4o  /v1/chat/completions  ok 200  EMAIL:3,US_SSN:1  512.3 ms"
        );
        let mut bare = AuditRecord::new("r", "/v1/messages", crate::providers::ApiKind::Anthropic);
        bare.time = "2026-12-01T20:00:01.000Z".into();
        bare.outcome = outcome::REFUSED.into();
        bare.status = 400;
        assert!(
            format_line(&bare).contains("  -  -/-  /v1/messages  refused 400  -  0.0 ms"),
            "{}",
            format_line(&bare)
        );
        let table = format_table([&r, &bare]);
        let rows: Vec<&str> = table.lines().collect();
        assert_eq!(rows.len(), 3);
        assert!(rows[0].starts_with("TIME                      KEY     PROVIDER"), "{table}");
        // Columns line up.
        let col = rows[0].find("OUTCOME").unwrap();
        assert_eq!(&rows[1][col..col + 2], "ok");
        assert_eq!(&rows[2][col..col + 7], "refused");
        assert_eq!(format_table(std::iter::empty()).lines().count(), 1);
    }
}
