//! `veil audit verify` (offline, after step 5 of the request flow wrote the log): checks
//! every line's format, the hash chain and, given the key, every `mac`. See the module
//! docs of [`crate::audit`] for the format and for what the chain can and cannot detect.

use super::key::{key_file_path, key_from_env, read_key_file};
use super::{chain_hash, is_hex64, mac_matches, split_line, AuditRecord, ZERO_HASH};
use crate::config::Env;
use serde::Deserialize;
use std::fmt;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// An intact log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub records: u64,
    /// Whether every `mac` was checked (a key was given).
    pub mac_checked: bool,
    /// `seq` of the last record: anchor it (with `last_hash`) elsewhere to detect a later
    /// truncation of the log's tail, which the chain alone cannot show.
    pub last_seq: Option<u64>,
    pub last_hash: Option<String>,
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "intact: {} records", self.records)?;
        if let (Some(seq), Some(hash)) = (self.last_seq, &self.last_hash) {
            write!(f, "; last seq {seq}, last hash {hash}")?;
        }
        if self.mac_checked {
            write!(f, "; macs checked")
        } else {
            write!(f, "; macs NOT checked (no key: set the key variable or keep <log>.key beside the log)")
        }
    }
}

/// Why a log did not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The file could not be read (exit status 2).
    #[error("cannot read audit log {path}: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The log is broken or was tampered with (exit status 1); `line` is 1-based.
    #[error("audit log {path} is broken at line {line} (seq {}): {reason}", seq.map_or_else(|| "unknown".to_string(), |s| s.to_string()))]
    Broken { path: PathBuf, line: usize, seq: Option<u64>, reason: String },
}

impl VerifyError {
    /// The exit status `veil audit verify` uses: 2 unreadable, 1 broken.
    pub fn exit_code(&self) -> i32 {
        match self {
            VerifyError::Unreadable { .. } => 2,
            VerifyError::Broken { .. } => 1,
        }
    }
}

/// The key to verify `path` with: the variable `key_env` if set, else `<path>.key` if it
/// exists and holds a hex key.
pub fn verify_key_for(path: &Path, key_env: &str, env: &dyn Env) -> Option<Vec<u8>> {
    key_from_env(key_env, env).or_else(|| {
        let kf = key_file_path(path);
        if kf.is_file() {
            read_key_file(&kf).ok()
        } else {
            None
        }
    })
}

/// The chain fields of a line.
#[derive(Deserialize)]
struct Chain {
    seq: u64,
    prev_hash: String,
    hash: String,
    mac: String,
}

/// Reads the log line by line and calls `f(line_number, line)` for each line without its
/// `\n`. A final line without `\n` is passed with `torn = true`.
pub(crate) fn for_each_line(
    path: &Path,
    mut f: impl FnMut(usize, &[u8], bool) -> Result<(), VerifyError>,
) -> Result<(), VerifyError> {
    let unreadable = |source| VerifyError::Unreadable { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut reader = std::io::BufReader::with_capacity(256 * 1024, file);
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        buf.clear();
        let read = reader.read_until(b'\n', &mut buf).map_err(unreadable)?;
        if read == 0 {
            return Ok(());
        }
        n += 1;
        let torn = buf.last() != Some(&b'\n');
        if !torn {
            buf.pop();
        }
        f(n, &buf, torn)?;
    }
}

/// Verifies the log at `path`: every line is a complete JSON record with the required
/// fields, `seq` runs 1, 2, 3, ..., each `prev_hash` is the previous line's `hash` (64
/// zeros on line 1), each `hash` recomputes from the line, and, when `key` is given, each
/// `mac` is the HMAC of the hash under that key. Reports the first bad line.
///
/// Detects any edit, insertion, deletion or reordering of records, except deleting records
/// at the end; compare [`VerifyReport::last_seq`] and `last_hash` with an earlier anchor for
/// that. Without a key, someone who rewrites the whole chain from the edit on goes
/// undetected; with the key, they cannot produce valid macs.
pub fn verify(path: &Path, key: Option<&[u8]>) -> Result<VerifyReport, VerifyError> {
    let mut prev_hash = ZERO_HASH.to_string();
    let mut records = 0u64;
    for_each_line(path, |line_no, bytes, torn| {
        let mut seq = None;
        let broken = |seq: Option<u64>, reason: String| VerifyError::Broken {
            path: path.to_path_buf(),
            line: line_no,
            seq,
            reason,
        };
        let text = std::str::from_utf8(bytes).map_err(|_| broken(None, "not UTF-8".to_string()))?;
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
            seq = v.get("seq").and_then(serde_json::Value::as_u64);
        }
        if torn {
            return Err(broken(
                seq,
                "incomplete last line (no trailing newline): a crash while writing, or a cut; \
                 veil cuts a torn last line off when it next opens the log"
                    .to_string(),
            ));
        }
        if text.trim().is_empty() {
            return Err(broken(None, "empty line".to_string()));
        }
        let chain: Chain = serde_json::from_str(text)
            .map_err(|e| broken(seq, format!("not a valid record: {}", strip_position(&e))))?;
        seq = Some(chain.seq);
        serde_json::from_str::<AuditRecord>(text)
            .map_err(|e| broken(seq, format!("not a valid record: {}", strip_position(&e))))?;
        if !is_hex64(&chain.prev_hash) {
            return Err(broken(seq, "prev_hash is not 64 lowercase hex digits".to_string()));
        }
        let Some((canonical, hash, mac)) = split_line(text) else {
            return Err(broken(seq, "the line does not end with \"hash\" and \"mac\" as veil writes them".to_string()));
        };
        if hash != chain.hash || mac != chain.mac {
            return Err(broken(seq, "duplicate hash or mac fields".to_string()));
        }
        if chain_hash(&chain.prev_hash, &canonical) != hash {
            return Err(broken(seq, "hash does not match the record's content: the record was edited".to_string()));
        }
        if let Some(k) = key {
            if !mac_matches(k, hash, mac) {
                return Err(broken(
                    seq,
                    "mac does not match: wrong key, or the record was forged or rehashed without the key".to_string(),
                ));
            }
        }
        let expected = records + 1;
        if chain.seq != expected {
            return Err(broken(
                seq,
                format!("seq is {}, expected {expected}: records were deleted, inserted or reordered", chain.seq),
            ));
        }
        if chain.prev_hash != prev_hash {
            return Err(broken(
                seq,
                "prev_hash is not the hash of the previous record: records were deleted, inserted or reordered"
                    .to_string(),
            ));
        }
        prev_hash = chain.hash;
        records = expected;
        Ok(())
    })?;
    Ok(VerifyReport {
        records,
        mac_checked: key.is_some(),
        last_seq: (records > 0).then_some(records),
        last_hash: (records > 0).then_some(prev_hash),
    })
}

/// A serde_json error without "at line 1 column N" (always line 1 here; the caller names
/// the file line).
fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample;
    use super::super::writer::encode_line;
    use super::*;
    use std::collections::HashMap;

    const KEY: &[u8] = b"k1";

    /// Writes `n` chained records synchronously; returns the lines (each ends in `\n`).
    fn chain(n: usize) -> Vec<String> {
        let mut prev = ZERO_HASH.to_string();
        (1..=n)
            .map(|i| {
                let mut out = Vec::new();
                prev = encode_line(i as u64, &prev, &sample(i), KEY, &mut out).unwrap();
                String::from_utf8(out).unwrap()
            })
            .collect()
    }

    fn write(lines: &[String]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, lines.concat()).unwrap();
        (dir, path)
    }

    fn broken_at(lines: &[String], key: Option<&[u8]>) -> (usize, Option<u64>, String) {
        let (_d, path) = write(lines);
        match verify(&path, key) {
            Err(VerifyError::Broken { line, seq, reason, .. }) => (line, seq, reason),
            other => panic!("expected broken, got {other:?}"),
        }
    }

    #[test]
    fn intact_chain_verifies() {
        let ls = chain(20);
        let (_d, path) = write(&ls);
        let rep = verify(&path, Some(KEY)).unwrap();
        assert_eq!(rep.records, 20);
        assert!(rep.mac_checked);
        assert_eq!(rep.last_seq, Some(20));
        let last: serde_json::Value = serde_json::from_str(&ls[19]).unwrap();
        assert_eq!(rep.last_hash.as_deref(), last["hash"].as_str());
        assert!(rep.to_string().contains("last seq 20"), "{rep}");
        let rep = verify(&path, None).unwrap();
        assert!(!rep.mac_checked);
    }

    #[test]
    fn empty_log_is_intact() {
        let (_d, path) = write(&[]);
        assert_eq!(verify(&path, Some(KEY)).unwrap().records, 0);
    }

    #[test]
    fn edit_in_the_middle_names_the_line() {
        let mut ls = chain(10);
        ls[4] = ls[4].replace("\"model\":\"gpt-4o\"", "\"model\":\"gpt-4o-mini\"");
        let (line, seq, reason) = broken_at(&ls, None);
        assert_eq!((line, seq), (5, Some(5)));
        assert!(reason.contains("edited"), "{reason}");
        // A numeric edit, too.
        let mut ls = chain(10);
        ls[6] = ls[6].replace("\"status\":200", "\"status\":201");
        assert_eq!(broken_at(&ls, Some(KEY)).0, 7);
        // Whitespace counts as an edit: the bytes are what is hashed.
        let mut ls = chain(3);
        ls[1] = ls[1].replacen(',', ", ", 1);
        assert_eq!(broken_at(&ls, None).0, 2);
    }

    #[test]
    fn deleted_line_is_found() {
        let mut ls = chain(10);
        ls.remove(3);
        let (line, seq, reason) = broken_at(&ls, Some(KEY));
        assert_eq!((line, seq), (4, Some(5)));
        assert!(reason.contains("seq is 5, expected 4"), "{reason}");
        // The first record, too.
        let mut ls = chain(3);
        ls.remove(0);
        assert_eq!(broken_at(&ls, None).0, 1);
    }

    #[test]
    fn inserted_forged_line_is_found() {
        // A forger without the key: copies a line and renumbers everything after it,
        // recomputing every hash, but can only guess the macs.
        let good = chain(6);
        let mut forged = good[..3].to_vec();
        let mut prev =
            serde_json::from_str::<serde_json::Value>(&good[2]).unwrap()["hash"].as_str().unwrap().to_string();
        for i in 4..=7 {
            let mut out = Vec::new();
            prev = encode_line(i, &prev, &sample(i as usize + 50), b"guess", &mut out).unwrap();
            forged.push(String::from_utf8(out).unwrap());
        }
        let (line, _, reason) = broken_at(&forged, Some(KEY));
        assert_eq!(line, 4);
        assert!(reason.contains("mac does not match"), "{reason}");
        // Without the key the rewritten chain checks out: that is what the mac is for.
        let (_d, path) = write(&forged);
        assert_eq!(verify(&path, None).unwrap().records, 7);

        // A line inserted verbatim (a copy) breaks the sequence.
        let mut ls = chain(6);
        let copy = ls[1].clone();
        ls.insert(3, copy);
        let (line, seq, _) = broken_at(&ls, None);
        assert_eq!((line, seq), (4, Some(2)));
        // A line inserted with a plausible seq but a made-up hash.
        let mut ls = chain(4);
        ls.insert(2, ls[1].replace("\"seq\":2", "\"seq\":3"));
        assert_eq!(broken_at(&ls, None).0, 3);
    }

    #[test]
    fn swapped_lines_are_found() {
        let mut ls = chain(8);
        ls.swap(2, 5);
        let (line, seq, _) = broken_at(&ls, Some(KEY));
        assert_eq!((line, seq), (3, Some(6)));
    }

    #[test]
    fn wrong_key_fails_the_mac_check() {
        let ls = chain(3);
        let (line, seq, reason) = broken_at(&ls, Some(b"other key"));
        assert_eq!((line, seq), (1, Some(1)));
        assert!(reason.contains("mac does not match"), "{reason}");
    }

    #[test]
    fn format_errors_name_the_line() {
        let mut ls = chain(3);
        ls[1] = "{not json\n".to_string();
        let (line, seq, reason) = broken_at(&ls, None);
        assert_eq!((line, seq), (2, None));
        assert!(reason.contains("not a valid record"), "{reason}");

        let mut ls = chain(3);
        ls[2] = "\n".to_string();
        assert_eq!(broken_at(&ls, None).0, 3);

        // A missing required field.
        let mut ls = chain(3);
        ls[1] = ls[1].replace("\"request_id\"", "\"request\"");
        let (line, _, reason) = broken_at(&ls, None);
        assert_eq!(line, 2);
        assert!(reason.contains("request_id"), "{reason}");

        // Something appended after the mac.
        let mut ls = chain(3);
        ls[0] = ls[0].replace("\"}\n", "\",\"x\":1}\n");
        assert_eq!(broken_at(&ls, None).0, 1);

        // A torn last line.
        let mut ls = chain(3);
        ls[2].truncate(40);
        let (line, _, reason) = broken_at(&ls, None);
        assert_eq!(line, 3);
        assert!(reason.contains("incomplete last line"), "{reason}");
    }

    #[test]
    fn unreadable_is_its_own_error() {
        let e = verify(Path::new("/nonexistent/dir/a.jsonl"), None).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("/nonexistent/dir/a.jsonl"), "{e}");
        let mut ls = chain(2);
        ls[1] = "x\n".into();
        let (_d, path) = write(&ls);
        let e = verify(&path, None).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn key_for_verification() {
        let (_d, path) = write(&chain(1));
        let none: HashMap<String, String> = HashMap::new();
        assert_eq!(verify_key_for(&path, "K", &none), None);
        std::fs::write(key_file_path(&path), format!("{}\n", hex::encode(KEY))).unwrap();
        assert_eq!(verify_key_for(&path, "K", &none).as_deref(), Some(KEY));
        let env = HashMap::from([("K".to_string(), "raw key".to_string())]);
        assert_eq!(verify_key_for(&path, "K", &env).as_deref(), Some(&b"raw key"[..]));
    }
}
