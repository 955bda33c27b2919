//! `veil audit stats` (offline, reading what step 5 of the request flow wrote): a summary
//! of an audit log: requests, entities by label and action, providers, outcomes, latency
//! percentiles. Does not verify the chain (`veil audit verify` does); lines that are not
//! records are counted and skipped.

use super::verify::{for_each_line, VerifyError};
use super::AuditRecord;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// p50, p90 and p99 (nearest rank) of a set of values, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
}

impl Percentiles {
    /// `None` for an empty set.
    pub fn of(mut values: Vec<f64>) -> Option<Percentiles> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let i = (p * values.len() as f64).ceil() as usize;
            values[i.clamp(1, values.len()) - 1]
        };
        Some(Percentiles { p50: rank(0.50), p90: rank(0.90), p99: rank(0.99) })
    }
}

/// What `veil audit stats` prints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsReport {
    pub requests: u64,
    pub streamed: u64,
    /// `time` of the first and last record.
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    /// Label -> action -> count.
    pub entities: BTreeMap<String, BTreeMap<String, u64>>,
    /// Requests per provider (`none` when no provider was chosen).
    pub providers: BTreeMap<String, u64>,
    pub outcomes: BTreeMap<String, u64>,
    /// Requests per status Veil returned.
    pub statuses: BTreeMap<u16, u64>,
    pub total_ms: Option<Percentiles>,
    pub mask_ms: Option<Percentiles>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Requests whose provider reported token usage.
    pub with_usage: u64,
    /// Lines that are not records (skipped).
    pub malformed_lines: u64,
}

impl StatsReport {
    fn add(&mut self, r: AuditRecord) {
        self.requests += 1;
        self.streamed += u64::from(r.stream);
        if self.first_time.is_none() {
            self.first_time = Some(r.time.clone());
        }
        self.last_time = Some(r.time);
        for (label, actions) in r.entities {
            let per_action = self.entities.entry(label).or_default();
            for (action, n) in actions {
                *per_action.entry(action).or_insert(0) += u64::from(n);
            }
        }
        *self.providers.entry(r.provider.unwrap_or_else(|| "none".to_string())).or_insert(0) += 1;
        *self.outcomes.entry(r.outcome).or_insert(0) += 1;
        *self.statuses.entry(r.status).or_insert(0) += 1;
        if let Some(u) = r.usage {
            self.with_usage += 1;
            self.input_tokens += u.input_tokens;
            self.output_tokens += u.output_tokens;
        }
    }
}

/// Summarizes the audit log at `path`. Fails only when the file cannot be read.
pub fn stats(path: &Path) -> Result<StatsReport, VerifyError> {
    stats_files(&[path.to_path_buf()])
}

/// Summarizes the files of a log (a rotated set, oldest first) as one. Fails only when a
/// file cannot be read.
pub fn stats_files(files: &[PathBuf]) -> Result<StatsReport, VerifyError> {
    let mut report = StatsReport::default();
    let mut total = Vec::new();
    let mut mask = Vec::new();
    for path in files {
        for_each_line(path, |_, bytes, _| {
            match serde_json::from_slice::<AuditRecord>(bytes) {
                Ok(r) => {
                    total.push(r.latency_ms.total);
                    mask.push(r.latency_ms.mask);
                    report.add(r);
                }
                Err(_) => report.malformed_lines += 1,
            }
            Ok(())
        })?;
    }
    report.total_ms = Percentiles::of(total);
    report.mask_ms = Percentiles::of(mask);
    Ok(report)
}

fn counts<K: fmt::Display>(f: &mut fmt::Formatter<'_>, title: &str, m: &BTreeMap<K, u64>) -> fmt::Result {
    writeln!(f, "{title}:")?;
    if m.is_empty() {
        return writeln!(f, "  (none)");
    }
    let width = m.keys().map(|k| k.to_string().len()).max().unwrap_or(0);
    for (k, n) in m {
        writeln!(f, "  {:<width$}  {n}", k.to_string())?;
    }
    Ok(())
}

fn latency(f: &mut fmt::Formatter<'_>, name: &str, p: &Option<Percentiles>) -> fmt::Result {
    match p {
        Some(p) => writeln!(f, "  {name:<9} p50 {:.1}  p90 {:.1}  p99 {:.1}", p.p50, p.p90, p.p99),
        None => writeln!(f, "  {name:<9} (no data)"),
    }
}

impl fmt::Display for StatsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "requests: {} ({} streamed)", self.requests, self.streamed)?;
        if let (Some(a), Some(b)) = (&self.first_time, &self.last_time) {
            writeln!(f, "period: {a} .. {b}")?;
        }
        counts(f, "outcomes", &self.outcomes)?;
        counts(f, "statuses", &self.statuses)?;
        counts(f, "providers", &self.providers)?;
        writeln!(f, "entities (label: action count):")?;
        if self.entities.is_empty() {
            writeln!(f, "  (none)")?;
        }
        let width = self.entities.keys().map(String::len).max().unwrap_or(0);
        for (label, actions) in &self.entities {
            let total: u64 = actions.values().sum();
            let parts: Vec<String> = actions.iter().map(|(a, n)| format!("{a} {n}")).collect();
            writeln!(f, "  {label:<width$}  {total}  ({})", parts.join(", "))?;
        }
        writeln!(f, "latency (ms):")?;
        latency(f, "total_ms", &self.total_ms)?;
        latency(f, "mask_ms", &self.mask_ms)?;
        write!(
            f,
            "tokens: {} in, {} out ({} of {} requests reported usage)",
            self.input_tokens, self.output_tokens, self.with_usage, self.requests
        )?;
        if self.malformed_lines > 0 {
            write!(f, "\nskipped {} lines that are not records (run `veil audit verify`)", self.malformed_lines)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample;
    use super::super::writer::encode_line;
    use super::super::{Usage, ZERO_HASH};
    use super::*;

    #[test]
    fn percentiles_nearest_rank() {
        let p = Percentiles::of((1..=100).map(f64::from).collect()).unwrap();
        assert_eq!((p.p50, p.p90, p.p99), (50.0, 90.0, 99.0));
        let p = Percentiles::of(vec![7.0]).unwrap();
        assert_eq!((p.p50, p.p99), (7.0, 7.0));
        assert!(Percentiles::of(Vec::new()).is_none());
    }

    #[test]
    fn counts_entities_outcomes_providers_and_latency() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let mut out = Vec::new();
        let mut prev = ZERO_HASH.to_string();
        for i in 1..=100 {
            let mut r = sample(i);
            r.latency_ms.total = i as f64;
            r.latency_ms.mask = i as f64 / 10.0;
            r.stream = i % 2 == 0;
            if i == 1 {
                r.entities.entry("US_SSN".into()).or_default().insert("block".into(), 2);
                r.provider = None;
                r.usage = None;
                r.outcome = "blocked".into();
            }
            if i == 2 {
                r.usage = Some(Usage { input_tokens: 1000, output_tokens: 1 });
            }
            prev = encode_line(i as u64, &prev, &r, b"k", &mut out).unwrap();
        }
        out.extend_from_slice(b"garbage\n");
        std::fs::write(&path, out).unwrap();

        let s = stats(&path).unwrap();
        assert_eq!(s.requests, 100);
        assert_eq!(s.streamed, 50);
        assert_eq!(s.malformed_lines, 1);
        assert_eq!(s.entities["EMAIL"]["mask"], 100);
        assert_eq!(s.entities["US_SSN"]["block"], 2);
        // sample(): every 3rd anthropic, else openai; #1 has none.
        assert_eq!(s.providers["anthropic"], 33);
        assert_eq!(s.providers["openai"], 66);
        assert_eq!(s.providers["none"], 1);
        assert_eq!(s.outcomes["upstream_error"], 20);
        assert_eq!(s.outcomes["blocked"], 1);
        assert_eq!(s.outcomes["ok"], 79);
        assert_eq!(s.statuses[&502], 20);
        let t = s.total_ms.unwrap();
        assert_eq!((t.p50, t.p90, t.p99), (50.0, 90.0, 99.0));
        let m = s.mask_ms.unwrap();
        assert_eq!((m.p50, m.p90, m.p99), (5.0, 9.0, 9.9));
        assert_eq!(s.with_usage, 99);
        assert_eq!(s.input_tokens, 98 * 10 + 1000);
        let text = s.to_string();
        for want in ["requests: 100 (50 streamed)", "US_SSN", "block 2", "p50 50.0", "p99 9.9", "skipped 1"] {
            assert!(text.contains(want), "{want:?} not in:\n{text}");
        }
    }

    #[test]
    fn empty_and_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, "").unwrap();
        let s = stats(&path).unwrap();
        assert_eq!(s.requests, 0);
        assert!(s.to_string().contains("(no data)"));
        let e = stats(&dir.path().join("missing.jsonl")).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }
}
