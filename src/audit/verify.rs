//! `veil audit verify` (offline, after step 5 of the request flow wrote the log): checks
//! every line's format, the hash chain and, given the key, every `mac`, in one file or
//! across the files of a rotated set. See the module
//! docs of [`crate::audit`] for the format and for what the chain can and cannot detect.

use super::files::LogSet;
use super::key::{key_file_path, key_from_env, read_key_file};
use super::{chain_hash, is_hex64, mac_matches, split_line, AuditRecord, ZERO_HASH};
use crate::config::Env;
use serde::Deserialize;
use std::fmt;
use std::io::BufRead;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// An intact log: one file, or a rotated set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub records: u64,
    /// Files read (empty ones included).
    pub files: usize,
    /// Whether every `mac` was checked (a key was given).
    pub mac_checked: bool,
    /// `seq` of the first record: 1, or where the oldest rotated file given starts.
    pub first_seq: Option<u64>,
    /// `seq` of the last record: anchor it (with `last_hash`) elsewhere to detect a later
    /// truncation of the log's tail, which the chain alone cannot show.
    pub last_seq: Option<u64>,
    pub last_hash: Option<String>,
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "intact: {} records", self.records)?;
        if self.files > 1 {
            write!(f, " in {} files", self.files)?;
        }
        if let (Some(seq), Some(hash)) = (self.last_seq, &self.last_hash) {
            write!(f, "; last seq {seq}, last hash {hash}")?;
        }
        if let Some(first) = self.first_seq.filter(|&s| s > 1) {
            write!(f, "; starts at seq {first}: records 1 to {} are in older files not given", first - 1)?;
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
    /// A rotated set lacks the records between two of its files (exit status 1).
    #[error(
        "audit log {before} ends at seq {last_seq} but the next file {after} starts at seq {next_seq}: \
         a file is missing between them, or records were cut from the end of the first (seq {} to {})",
        last_seq + 1,
        next_seq - 1
    )]
    Gap { before: PathBuf, last_seq: u64, after: PathBuf, next_seq: u64 },
}

impl VerifyError {
    /// The exit status `veil audit verify` uses: 2 unreadable, 1 broken.
    pub fn exit_code(&self) -> i32 {
        match self {
            VerifyError::Unreadable { .. } => 2,
            VerifyError::Broken { .. } | VerifyError::Gap { .. } => 1,
        }
    }
}

/// The key to verify `path` with: the variable `key_env` if set, else `<path>.key` if it
/// exists and holds a hex key. For a rotated set, pass its active file ([`LogSet::active`]):
/// the key file sits beside it.
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

/// Reads the log line by line and calls `f(line_number, line, torn)` for each line without
/// its `\n` (a final line without `\n` comes with `torn = true`) until `f` breaks.
pub(crate) fn read_lines<B>(
    path: &Path,
    mut f: impl FnMut(usize, &[u8], bool) -> ControlFlow<B>,
) -> Result<ControlFlow<B>, VerifyError> {
    let unreadable = |source| VerifyError::Unreadable { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut reader = std::io::BufReader::with_capacity(256 * 1024, file);
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        buf.clear();
        let read = reader.read_until(b'\n', &mut buf).map_err(unreadable)?;
        if read == 0 {
            return Ok(ControlFlow::Continue(()));
        }
        n += 1;
        let torn = buf.last() != Some(&b'\n');
        if !torn {
            buf.pop();
        }
        if let ControlFlow::Break(b) = f(n, &buf, torn) {
            return Ok(ControlFlow::Break(b));
        }
    }
}

/// [`read_lines`] that stops at the first error `f` returns.
pub(crate) fn for_each_line(
    path: &Path,
    mut f: impl FnMut(usize, &[u8], bool) -> Result<(), VerifyError>,
) -> Result<(), VerifyError> {
    match read_lines(path, |n, line, torn| match f(n, line, torn) {
        Ok(()) => ControlFlow::Continue(()),
        Err(e) => ControlFlow::Break(e),
    })? {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(e) => Err(e),
    }
}

/// Verifies the log at `path` alone: every line is a complete JSON record with the required
/// fields, `seq` runs 1, 2, 3, ..., each `prev_hash` is the previous line's `hash` (64
/// zeros on line 1), each `hash` recomputes from the line, and, when `key` is given, each
/// `mac` is the HMAC of the hash under that key. Reports the first bad line. (A rotated
/// file, named by the seq it starts at, may start there instead of at 1: see
/// [`verify_set`].)
///
/// Detects any edit, insertion, deletion or reordering of records, except deleting records
/// at the end; compare [`VerifyReport::last_seq`] and `last_hash` with an earlier anchor for
/// that. Without a key, someone who rewrites the whole chain from the edit on goes
/// undetected; with the key, they cannot produce valid macs.
pub fn verify(path: &Path, key: Option<&[u8]>) -> Result<VerifyReport, VerifyError> {
    verify_set(&LogSet::of_file(path), key)
}

/// The last record seen so far: where the chain must go on.
struct Last {
    path: PathBuf,
    seq: u64,
    hash: String,
}

/// Verifies a rotated set, oldest file first, as one chain: each file is checked as
/// [`verify`] checks one, the first record of each file must follow the last record of the
/// file before it (next `seq`, `prev_hash` = its `hash`), and a rotated file's first record
/// must have the seq its name carries. So a removed or emptied file in the middle (a
/// [`VerifyError::Gap`]), files renamed into another order, and any removed, reordered or
/// edited record or line are all reported, naming the file and line.
///
/// The chain must start at seq 1 unless the oldest file given is a rotated file: then it
/// starts at the seq in that file's name, and the report says that older files were not
/// given (removed by retention, or left out). As for one file, records removed from the end
/// of the newest file are only found against an anchor of the last seq and hash.
pub fn verify_set(set: &LogSet, key: Option<&[u8]>) -> Result<VerifyReport, VerifyError> {
    let mut last: Option<Last> = None;
    let mut records = 0u64;
    let mut first_seq = None;
    for file in &set.files {
        let path = file.path.as_path();
        let named = file.rotated.as_ref().map(|r| r.first_seq);
        let mut in_file = 0u64;
        for_each_line(path, |line_no, bytes, torn| {
            let broken = |seq: Option<u64>, reason: String| VerifyError::Broken {
                path: path.to_path_buf(),
                line: line_no,
                seq,
                reason,
            };
            let chain = check_line(bytes, torn, key).map_err(|(seq, reason)| broken(seq, reason))?;
            let seq = Some(chain.seq);
            if in_file == 0 {
                if let Some(n) = named.filter(|&n| n != chain.seq) {
                    return Err(broken(
                        seq,
                        format!(
                            "the file's name says it starts at seq {n}, but its first record is seq {}: \
                             the file was renamed, or records were deleted from its start",
                            chain.seq
                        ),
                    ));
                }
            }
            match &last {
                None if named.is_some_and(|n| n > 1) => {}
                None => {
                    if chain.seq != 1 {
                        return Err(broken(
                            seq,
                            format!(
                                "seq is {}, expected 1: records were deleted, inserted or reordered (or, if the \
                                 log is rotated, this file continues older ones: verify the folder or every file)",
                                chain.seq
                            ),
                        ));
                    }
                    if chain.prev_hash != ZERO_HASH {
                        return Err(broken(
                            seq,
                            "prev_hash of the first record is not 64 zeros: records were deleted, inserted or \
                             reordered"
                                .to_string(),
                        ));
                    }
                }
                Some(l) if in_file == 0 && l.path != path => {
                    let expected = l.seq + 1;
                    if chain.seq > expected {
                        return Err(VerifyError::Gap {
                            before: l.path.clone(),
                            last_seq: l.seq,
                            after: path.to_path_buf(),
                            next_seq: chain.seq,
                        });
                    }
                    if chain.seq < expected {
                        return Err(broken(
                            seq,
                            format!(
                                "the file starts at seq {}, but {} already ends at seq {}: the files are out of \
                                 order, or one is a copy",
                                chain.seq,
                                l.path.display(),
                                l.seq
                            ),
                        ));
                    }
                    if chain.prev_hash != l.hash {
                        return Err(broken(
                            seq,
                            format!(
                                "the first record does not chain to the last record of {} (seq {}): a file was \
                                 replaced, or records were edited",
                                l.path.display(),
                                l.seq
                            ),
                        ));
                    }
                }
                Some(l) => {
                    let expected = l.seq + 1;
                    if chain.seq != expected {
                        return Err(broken(
                            seq,
                            format!(
                                "seq is {}, expected {expected}: records were deleted, inserted or reordered",
                                chain.seq
                            ),
                        ));
                    }
                    if chain.prev_hash != l.hash {
                        return Err(broken(
                            seq,
                            "prev_hash is not the hash of the previous record: records were deleted, inserted \
                             or reordered"
                                .to_string(),
                        ));
                    }
                }
            }
            first_seq.get_or_insert(chain.seq);
            last = Some(Last { path: path.to_path_buf(), seq: chain.seq, hash: chain.hash });
            in_file += 1;
            records += 1;
            Ok(())
        })?;
        if in_file == 0 {
            if let Some(n) = named {
                return Err(VerifyError::Broken {
                    path: path.to_path_buf(),
                    line: 1,
                    seq: Some(n),
                    reason: "the file is empty, but veil never leaves a rotated file empty: its records were removed"
                        .to_string(),
                });
            }
        }
    }
    Ok(VerifyReport {
        records,
        files: set.files.len(),
        mac_checked: key.is_some(),
        first_seq,
        last_seq: last.as_ref().map(|l| l.seq),
        last_hash: last.map(|l| l.hash),
    })
}

/// Checks one line on its own: format, required fields, hash and (with a key) mac.
/// Errors are `(seq if readable, reason)`.
fn check_line(bytes: &[u8], torn: bool, key: Option<&[u8]>) -> Result<Chain, (Option<u64>, String)> {
    let mut seq = None;
    let text = std::str::from_utf8(bytes).map_err(|_| (None, "not UTF-8".to_string()))?;
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        seq = v.get("seq").and_then(serde_json::Value::as_u64);
    }
    if torn {
        return Err((
            seq,
            "incomplete last line (no trailing newline): a crash while writing, or a cut; \
             veil cuts a torn last line off when it next opens the log"
                .to_string(),
        ));
    }
    if text.trim().is_empty() {
        return Err((None, "empty line".to_string()));
    }
    let chain: Chain =
        serde_json::from_str(text).map_err(|e| (seq, format!("not a valid record: {}", strip_position(&e))))?;
    seq = Some(chain.seq);
    serde_json::from_str::<AuditRecord>(text)
        .map_err(|e| (seq, format!("not a valid record: {}", strip_position(&e))))?;
    if !is_hex64(&chain.prev_hash) {
        return Err((seq, "prev_hash is not 64 lowercase hex digits".to_string()));
    }
    let Some((canonical, hash, mac)) = split_line(text) else {
        return Err((seq, "the line does not end with \"hash\" and \"mac\" as veil writes them".to_string()));
    };
    if hash != chain.hash || mac != chain.mac {
        return Err((seq, "duplicate hash or mac fields".to_string()));
    }
    if chain_hash(&chain.prev_hash, &canonical) != hash {
        return Err((seq, "hash does not match the record's content: the record was edited".to_string()));
    }
    if let Some(k) = key {
        if !mac_matches(k, hash, mac) {
            return Err((
                seq,
                "mac does not match: wrong key, or the record was forged or rehashed without the key".to_string(),
            ));
        }
    }
    Ok(chain)
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

    /// Writes `lines` as a rotated set in a new folder: one file per `starts` entry (the
    /// seq its first line has), the last one the active file.
    fn write_set(lines: &[String], starts: &[usize]) -> (tempfile::TempDir, Vec<PathBuf>) {
        let dir = tempfile::tempdir().unwrap();
        let active = dir.path().join("veil-audit.jsonl");
        let t = chrono::Utc::now();
        let mut paths = Vec::new();
        for (i, &start) in starts.iter().enumerate() {
            let end = starts.get(i + 1).map_or(lines.len(), |&e| e - 1);
            let path = if i + 1 == starts.len() {
                active.clone()
            } else {
                super::super::files::rotated_path(&active, start as u64, t, 0)
            };
            std::fs::write(&path, lines[start - 1..end].concat()).unwrap();
            paths.push(path);
        }
        (dir, paths)
    }

    fn verify_dir(dir: &Path, key: Option<&[u8]>) -> Result<VerifyReport, VerifyError> {
        let sets = super::super::files::collect_sets(&[dir.to_path_buf()]).unwrap();
        assert_eq!(sets.len(), 1, "{sets:?}");
        verify_set(&sets[0], key)
    }

    #[test]
    fn chain_runs_across_rotated_files() {
        let ls = chain(30);
        let (dir, paths) = write_set(&ls, &[1, 11, 21]);
        let rep = verify_dir(dir.path(), Some(KEY)).unwrap();
        assert_eq!((rep.records, rep.files, rep.first_seq, rep.last_seq), (30, 3, Some(1), Some(30)));
        assert!(rep.to_string().starts_with("intact: 30 records in 3 files; last seq 30"), "{rep}");
        // The files given one by one, in any order, are the same set.
        let sets = super::super::files::collect_sets(&[paths[2].clone(), paths[0].clone(), paths[1].clone()]).unwrap();
        assert_eq!(verify_set(&sets[0], Some(KEY)).unwrap(), rep);
        // A rotated file alone starts where its name says.
        let rep = verify(&paths[1], Some(KEY)).unwrap();
        assert_eq!((rep.records, rep.first_seq, rep.last_seq), (10, Some(11), Some(20)));
        assert!(rep.to_string().contains("starts at seq 11: records 1 to 10 are in older files not given"), "{rep}");
        // Older files removed (retention): what is left still verifies, and says so.
        std::fs::remove_file(&paths[0]).unwrap();
        let rep = verify_dir(dir.path(), Some(KEY)).unwrap();
        assert_eq!((rep.records, rep.first_seq), (20, Some(11)));
        // The active file alone must start at 1: it cannot show that it continues a set.
        let (line, seq, reason) = match verify(&paths[2], None) {
            Err(VerifyError::Broken { line, seq, reason, .. }) => (line, seq, reason),
            other => panic!("{other:?}"),
        };
        assert_eq!((line, seq), (1, Some(21)));
        assert!(reason.contains("verify the folder or every file"), "{reason}");
    }

    #[test]
    fn missing_middle_file_is_named() {
        let ls = chain(30);
        let (dir, paths) = write_set(&ls, &[1, 11, 21]);
        std::fs::remove_file(&paths[1]).unwrap();
        let e = verify_dir(dir.path(), Some(KEY)).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        let msg = e.to_string();
        assert!(matches!(e, VerifyError::Gap { last_seq: 10, next_seq: 21, .. }), "{e:?}");
        let first = paths[0].file_name().unwrap().to_string_lossy().into_owned();
        assert!(msg.contains(&format!("{first} ends at seq 10 but the next file")), "{msg}");
        assert!(msg.contains("veil-audit.jsonl starts at seq 21: a file is missing between them"), "{msg}");
        assert!(msg.contains("(seq 11 to 20)"), "{msg}");
        // Records cut from the end of a middle file read the same way.
        let (dir, paths) = write_set(&ls, &[1, 11, 21]);
        std::fs::write(&paths[1], ls[10..18].concat()).unwrap();
        let e = verify_dir(dir.path(), None).unwrap_err();
        assert!(matches!(e, VerifyError::Gap { last_seq: 18, next_seq: 21, .. }), "{e:?}");
        // An emptied middle file.
        std::fs::write(&paths[1], "").unwrap();
        let e = verify_dir(dir.path(), None).unwrap_err();
        assert!(e.to_string().contains("the file is empty"), "{e}");
    }

    #[test]
    fn reordered_files_are_found() {
        let ls = chain(30);
        // Contents swapped between the first two names.
        let (dir, paths) = write_set(&ls, &[1, 11, 21]);
        std::fs::rename(&paths[0], dir.path().join("tmp")).unwrap();
        std::fs::rename(&paths[1], &paths[0]).unwrap();
        std::fs::rename(dir.path().join("tmp"), &paths[1]).unwrap();
        match verify_dir(dir.path(), Some(KEY)).unwrap_err() {
            VerifyError::Broken { path, line, seq, reason } => {
                assert_eq!((path, line, seq), (paths[0].clone(), 1, Some(11)));
                assert!(reason.contains("name says it starts at seq 1, but its first record is seq 11"), "{reason}");
            }
            e => panic!("{e:?}"),
        }
        // Renamed to match, but in the wrong place in the chain: the newer file first.
        let (dir, paths) = write_set(&ls, &[1, 11, 21]);
        let t = chrono::Utc::now();
        let active = dir.path().join("veil-audit.jsonl");
        std::fs::remove_file(&paths[0]).unwrap();
        // A copy of 1..10 renamed as if it started at 21, before the active file.
        let copy = super::super::files::rotated_path(&active, 21, t, 0);
        std::fs::write(&copy, ls[20..30].concat()).unwrap();
        let e = verify_dir(dir.path(), None).unwrap_err();
        assert!(e.to_string().contains("already ends at seq 30: the files are out of order, or one is a copy"), "{e}");
    }

    #[test]
    fn edited_line_in_the_second_file_is_named() {
        let ls = chain(30);
        let (dir, paths) = write_set(&ls, &[1, 11, 21]);
        let mut second: Vec<String> = ls[10..20].to_vec();
        second[3] = second[3].replace("\"status\":200", "\"status\":201");
        std::fs::write(&paths[1], second.concat()).unwrap();
        match verify_dir(dir.path(), Some(KEY)).unwrap_err() {
            VerifyError::Broken { path, line, seq, reason } => {
                assert_eq!((path, line, seq), (paths[1].clone(), 4, Some(14)));
                assert!(reason.contains("edited"), "{reason}");
            }
            e => panic!("{e:?}"),
        }
        // A line removed inside the second file.
        let (dir, paths) = write_set(&ls, &[1, 11, 21]);
        let mut second: Vec<String> = ls[10..20].to_vec();
        second.remove(5);
        std::fs::write(&paths[1], second.concat()).unwrap();
        match verify_dir(dir.path(), None).unwrap_err() {
            VerifyError::Broken { path, line, reason, .. } => {
                assert_eq!((path, line), (paths[1].clone(), 6));
                assert!(reason.contains("seq is 17, expected 16"), "{reason}");
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn a_file_of_another_log_does_not_chain() {
        let ls = chain(20);
        let (dir, paths) = write_set(&ls, &[1, 11]);
        // Same seqs, another chain (other records): its first prev_hash is not ours.
        let mut prev = ZERO_HASH.to_string();
        let other: Vec<String> = (1..=20)
            .map(|i| {
                let mut out = Vec::new();
                prev = encode_line(i as u64, &prev, &sample(i + 100), KEY, &mut out).unwrap();
                String::from_utf8(out).unwrap()
            })
            .collect();
        std::fs::write(&paths[1], other[10..].concat()).unwrap();
        let e = verify_dir(dir.path(), Some(KEY)).unwrap_err();
        assert!(e.to_string().contains("does not chain to the last record of"), "{e}");
    }
}
