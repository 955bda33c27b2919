//! `veil audit export --csv` (offline, over what step 5 of the request flow wrote): one CSV
//! row per record (RFC 4180: comma-separated, `\r\n`, quoted when needed) with the main
//! fields, latencies, usage, placeholder counts and one entity-count column per label. The
//! log holds no raw value, so neither does the export; text fields that a spreadsheet would
//! run as a formula (`=`, `+`, `-`, `@` first) get a leading `'`.

use super::query::Entry;
use crate::mask::Label;
use std::io::Write;

/// The columns before the per-label counts.
pub const CSV_COLUMNS: &[&str] = &[
    "seq",
    "time",
    "request_id",
    "key_id",
    "route",
    "client_api",
    "provider",
    "model",
    "stream",
    "outcome",
    "status",
    "upstream_status",
    "error_kind",
    "mask_ms",
    "upstream_ms",
    "restore_ms",
    "total_ms",
    "input_tokens",
    "output_tokens",
    "placeholders_restored",
    "placeholders_mutated",
    "placeholders_unrestored",
    "entities",
];

/// The header row: [`CSV_COLUMNS`], then every label (all actions summed) in docs/interface.md
/// order, so the columns are the same in every export.
pub fn write_csv_header(out: &mut impl Write) -> std::io::Result<()> {
    let cols: Vec<&str> = CSV_COLUMNS.iter().copied().chain(Label::ALL.iter().map(|l| l.as_str())).collect();
    write!(out, "{}\r\n", cols.join(","))
}

/// A text cell: quoted when it holds a comma, quote or line break; a leading `'` when a
/// spreadsheet would take it for a formula.
fn text(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(T::to_string).unwrap_or_default()
}

/// One row for `entry`, in the order of [`write_csv_header`].
pub fn write_csv_row(out: &mut impl Write, entry: &Entry) -> std::io::Result<()> {
    let r = &entry.record;
    let label_count =
        |l: &Label| r.entities.get(l.as_str()).map_or(0, |a| a.values().map(|&n| u64::from(n)).sum::<u64>());
    let mut cells = vec![
        opt(&entry.seq),
        text(&r.time),
        text(&r.request_id),
        text(r.key_id.as_deref().unwrap_or_default()),
        text(&r.route),
        text(&r.client_api),
        text(r.provider.as_deref().unwrap_or_default()),
        text(r.model.as_deref().unwrap_or_default()),
        r.stream.to_string(),
        text(&r.outcome),
        r.status.to_string(),
        opt(&r.upstream_status),
        text(r.error_kind.as_deref().unwrap_or_default()),
        r.latency_ms.mask.to_string(),
        r.latency_ms.upstream.to_string(),
        r.latency_ms.restore.to_string(),
        r.latency_ms.total.to_string(),
        opt(&r.usage.map(|u| u.input_tokens)),
        opt(&r.usage.map(|u| u.output_tokens)),
        r.placeholders.restored.to_string(),
        r.placeholders.mutated.to_string(),
        r.placeholders.unrestored.to_string(),
        r.entity_count().to_string(),
    ];
    cells.extend(Label::ALL.iter().map(|l| label_count(l).to_string()));
    write!(out, "{}\r\n", cells.join(","))
}

#[cfg(test)]
mod tests {
    use super::super::query::Entry;
    use super::super::tests::sample;
    use super::*;

    #[test]
    fn header_and_rows_have_the_same_columns() {
        let mut out = Vec::new();
        write_csv_header(&mut out).unwrap();
        let mut r = sample(1);
        r.request_id = "=HYPERLINK(\"x\"),1".into();
        r.entities.entry("US_SSN".into()).or_default().insert("block".into(), 2);
        r.usage = None;
        write_csv_row(&mut out, &Entry { seq: Some(7), record: r, line: String::new() }).unwrap();
        let text = String::from_utf8(out).unwrap();
        let rows: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(rows.len(), 2);
        let header: Vec<&str> = rows[0].split(',').collect();
        assert_eq!(header.len(), CSV_COLUMNS.len() + Label::ALL.len());
        assert_eq!(&header[..3], ["seq", "time", "request_id"]);
        assert!(header.contains(&"EMAIL") && header.contains(&"OTHER_ID"));
        // The one quoted cell holds a comma: split it off by hand.
        let row = rows[1];
        assert!(row.starts_with("7,"), "{row}");
        assert!(row.contains(",\"'=HYPERLINK(\"\"x\"\"),1\","), "{row}");
        let rest = row.split("\"'=HYPERLINK(\"\"x\"\"),1\",").nth(1).unwrap();
        let cells: Vec<&str> = rest.split(',').collect();
        assert_eq!(cells.len() + 3, header.len(), "{row}");
        let col = |name: &str| cells[header.iter().position(|h| *h == name).unwrap() - 3];
        assert_eq!(col("EMAIL"), "1");
        assert_eq!(col("US_SSN"), "2");
        assert_eq!(col("PERSON"), "0");
        assert_eq!(col("entities"), "3");
        assert_eq!(col("input_tokens"), "");
        assert_eq!(col("status"), "200");
        assert_eq!(col("total_ms"), "102");
    }

    #[test]
    fn text_cells() {
        assert_eq!(text("plain"), "plain");
        assert_eq!(text("a,b"), "\"a,b\"");
        assert_eq!(text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(text("-1+1"), "'-1+1");
        assert_eq!(text("@x"), "'@x");
        assert_eq!(text("two\nlines"), "\"two\nlines\"");
    }
}
