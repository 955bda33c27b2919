//! Audit log files (offline tools and the writer's rotation, around step 5 of the request
//! flow): how a rotated file is named, and which files form one log (a *set*), oldest
//! first.
//!
//! The writer appends to the *active* file (`veil-audit.jsonl`). When it rotates, it
//! renames the active file to
//!
//! ```text
//! veil-audit.000000000042.2026-12-01T20-00-00Z.jsonl
//! ^stem      ^seq of its first record   ^time of its first record (UTC)
//! ```
//!
//! and starts a new active file whose first record chains to the renamed file's last.
//! Zero-padded to 12 digits, the names sort in chain order, and before the active file
//! (`0`-`9` sort before letters), in `ls` as in [`LogSet`]. Two files whose first record has
//! the same seq and second (a log started over) get `-1`, `-2`, ... after the time.

use super::verify::VerifyError;
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};

/// Digits of the seq in a rotated name.
const SEQ_DIGITS: usize = 12;
/// `chrono` format of the time in a rotated name (no `:`, which some file systems refuse).
const TIME_FORMAT: &str = "%Y-%m-%dT%H-%M-%SZ";

/// What a file name says about its place in a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogName {
    /// The active file's name without its extension (`veil-audit`).
    pub stem: String,
    /// The active file's extension with its dot (`.jsonl`), or empty.
    pub ext: String,
    /// `Some` for a rotated file.
    pub rotated: Option<Rotated>,
}

/// The parts of a rotated file's name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rotated {
    /// `seq` of the file's first record.
    pub first_seq: u64,
    /// Time of the first record, as in the name (`2026-12-01T20-00-00Z`).
    pub time: String,
    /// 0, or the `-N` that keeps two names apart.
    pub counter: u32,
}

impl LogName {
    /// Reads a file name: a rotated name, else an active file's name.
    pub fn parse(file_name: &str) -> LogName {
        parse_rotated(file_name).unwrap_or_else(|| {
            let (stem, ext) = split_ext(file_name);
            LogName { stem: stem.to_string(), ext: ext.to_string(), rotated: None }
        })
    }

    /// The active file's name of this log.
    pub fn active(&self) -> String {
        format!("{}{}", self.stem, self.ext)
    }
}

/// `("veil-audit", ".jsonl")`; a name without a dot (or only a leading one) has no extension.
fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    }
}

fn is_time_token(s: &str) -> bool {
    // 2026-12-01T20-00-00Z
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 | 13 | 16 => c == b'-',
            10 => c == b'T',
            19 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

fn parse_rotated(name: &str) -> Option<LogName> {
    let parts: Vec<&str> = name.split('.').collect();
    // stem..., seq, time[-N], [ext]
    let time_at = |i: usize| -> Option<(String, u32)> {
        let p = parts.get(i)?;
        let (time, counter) = match p.get(20..) {
            Some("") => (*p, 0),
            Some(rest) => (&p[..20], rest.strip_prefix('-')?.parse().ok().filter(|&n| n > 0)?),
            None => return None,
        };
        is_time_token(time).then(|| (time.to_string(), counter))
    };
    let n = parts.len();
    let (time_idx, ext) = if n >= 3 && time_at(n - 1).is_some() {
        (n - 1, String::new())
    } else if n >= 4 && time_at(n - 2).is_some() {
        (n - 2, format!(".{}", parts[n - 1]))
    } else {
        return None;
    };
    let (time, counter) = time_at(time_idx)?;
    let seq = parts[time_idx - 1];
    if seq.len() < SEQ_DIGITS || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let stem = parts[..time_idx - 1].join(".");
    if stem.is_empty() {
        return None;
    }
    Some(LogName { stem, ext, rotated: Some(Rotated { first_seq: seq.parse().ok()?, time, counter }) })
}

/// The name the active file `active` gets when rotated, for a file whose first record is
/// `first_seq`, written at `first_time`; `counter` > 0 adds `-counter`.
pub fn rotated_path(active: &Path, first_seq: u64, first_time: DateTime<Utc>, counter: u32) -> PathBuf {
    let name = active.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (stem, ext) = split_ext(&name);
    let time = first_time.format(TIME_FORMAT);
    let suffix = if counter > 0 { format!("-{counter}") } else { String::new() };
    active.with_file_name(format!("{stem}.{first_seq:0w$}.{time}{suffix}{ext}", w = SEQ_DIGITS))
}

/// One file of a [`LogSet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    pub path: PathBuf,
    /// `Some` for a rotated file: what its name says.
    pub rotated: Option<Rotated>,
}

/// The files of one log that were given (or found in a folder), oldest first: rotated files
/// by the seq in their names, then the active file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSet {
    /// The active file's path (which need not be among `files`, or exist).
    pub active: PathBuf,
    pub files: Vec<LogFile>,
}

impl LogSet {
    /// A set of one file, as `veil audit verify FILE` checks it.
    pub fn of_file(path: &Path) -> LogSet {
        let name = file_name(path);
        let ln = LogName::parse(&name);
        LogSet {
            active: path.with_file_name(ln.active()),
            files: vec![LogFile { path: path.to_path_buf(), rotated: ln.rotated }],
        }
    }

    /// The set's files, oldest first.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.files.iter().map(|f| f.path.clone()).collect()
    }

    fn sort(&mut self) {
        // Rotated files by (seq, time, counter); the active file last.
        self.files.sort_by(|a, b| match (&a.rotated, &b.rotated) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.path.cmp(&b.path),
        });
        self.files.dedup_by(|a, b| a.path == b.path);
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Whether a file found in a folder belongs to an audit log: a rotated name, or `*.jsonl`.
fn looks_like_log(name: &str) -> bool {
    parse_rotated(name).is_some() || (name.ends_with(".jsonl") && name.len() > ".jsonl".len())
}

/// `*` (any run of characters) and `?` (one character) in a file name.
fn glob_match(pattern: &[char], name: &[char]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some('*'), _) => glob_match(&pattern[1..], name) || (!name.is_empty() && glob_match(pattern, &name[1..])),
        (Some('?'), Some(_)) => glob_match(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => glob_match(&pattern[1..], &name[1..]),
        _ => false,
    }
}

fn unreadable(path: &Path, source: std::io::Error) -> VerifyError {
    VerifyError::Unreadable { path: path.to_path_buf(), source }
}

/// Files in `dir` (not below), sorted by name.
fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, VerifyError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| unreadable(dir, e))? {
        let entry = entry.map_err(|e| unreadable(dir, e))?;
        if entry.file_type().map_err(|e| unreadable(&entry.path(), e))?.is_file() {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// The logs that command-line arguments name: each argument is a file, a folder (every
/// audit log in it: rotated names and `*.jsonl`), or a pattern with `*`/`?` in its file
/// name (for shells that do not expand it). Files are grouped into one [`LogSet`] per log
/// (folder + active name) and ordered oldest first; sets are ordered by active path.
/// A missing file, an empty folder or a pattern that matches nothing is
/// [`VerifyError::Unreadable`].
pub fn collect_sets(args: &[PathBuf]) -> Result<Vec<LogSet>, VerifyError> {
    let mut files: Vec<PathBuf> = Vec::new();
    for arg in args {
        let name = file_name(arg);
        if arg.is_dir() {
            let found: Vec<PathBuf> = list_dir(arg)?.into_iter().filter(|p| looks_like_log(&file_name(p))).collect();
            if found.is_empty() {
                return Err(unreadable(arg, std::io::Error::other("no audit log files in this folder")));
            }
            files.extend(found);
        } else if !arg.exists() && (name.contains('*') || name.contains('?')) {
            let dir = match arg.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let pattern: Vec<char> = name.chars().collect();
            let found: Vec<PathBuf> = list_dir(&dir)?
                .into_iter()
                .filter(|p| glob_match(&pattern, &file_name(p).chars().collect::<Vec<_>>()))
                .filter(|p| !file_name(p).ends_with(".key"))
                .map(|p| {
                    if arg.parent().is_some_and(|d| d.as_os_str().is_empty()) {
                        PathBuf::from(file_name(&p))
                    } else {
                        p
                    }
                })
                .collect();
            if found.is_empty() {
                return Err(unreadable(arg, std::io::Error::other("no file matches this pattern")));
            }
            files.extend(found);
        } else {
            std::fs::metadata(arg).map_err(|e| unreadable(arg, e))?;
            files.push(arg.clone());
        }
    }
    let mut sets: Vec<LogSet> = Vec::new();
    for path in files {
        let ln = LogName::parse(&file_name(&path));
        let active = path.with_file_name(ln.active());
        let file = LogFile { path, rotated: ln.rotated };
        match sets.iter_mut().find(|s| s.active == active) {
            Some(s) => s.files.push(file),
            None => sets.push(LogSet { active, files: vec![file] }),
        }
    }
    for s in &mut sets {
        s.sort();
    }
    sets.sort_by(|a, b| a.active.cmp(&b.active));
    Ok(sets)
}

/// The rotated files of the log whose active file is `active`, oldest first.
pub fn rotated_files(active: &Path) -> std::io::Result<Vec<LogFile>> {
    let want = LogName::parse(&file_name(active));
    let dir = match active.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut set = LogSet { active: active.to_path_buf(), files: Vec::new() };
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(ln) = parse_rotated(&name) {
            if ln.stem == want.stem && ln.ext == want.ext && entry.file_type()?.is_file() {
                set.files.push(LogFile { path: active.with_file_name(&name), rotated: ln.rotated });
            }
        }
    }
    set.sort();
    Ok(set.files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn rotated_names_round_trip_and_sort_in_chain_order() {
        let active = Path::new("/logs/veil-audit.jsonl");
        let p = rotated_path(active, 42, t("2026-12-01T20:00:00.123Z"), 0);
        assert_eq!(p, Path::new("/logs/veil-audit.000000000042.2026-12-01T20-00-00Z.jsonl"));
        let ln = LogName::parse(&file_name(&p));
        assert_eq!(ln.active(), "veil-audit.jsonl");
        assert_eq!(ln.rotated, Some(Rotated { first_seq: 42, time: "2026-12-01T20-00-00Z".into(), counter: 0 }));
        let p2 = rotated_path(active, 42, t("2026-12-01T20:00:00Z"), 3);
        assert_eq!(file_name(&p2), "veil-audit.000000000042.2026-12-01T20-00-00Z-3.jsonl");
        assert_eq!(LogName::parse(&file_name(&p2)).rotated.unwrap().counter, 3);

        // Names sort as the chain runs, whatever the clock did, and before the active file.
        let mut names = [
            "veil-audit.jsonl".to_string(),
            file_name(&rotated_path(active, 1001, Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(), 0)),
            file_name(&rotated_path(active, 1, Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(), 0)),
            file_name(&rotated_path(active, 57, Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap(), 0)),
        ];
        names.sort();
        let seqs: Vec<Option<u64>> = names.iter().map(|n| LogName::parse(n).rotated.map(|r| r.first_seq)).collect();
        assert_eq!(seqs, [Some(1), Some(57), Some(1001), None]);
    }

    #[test]
    fn names_without_extension_or_with_dots_in_the_stem() {
        let at = t("2026-12-01T20:00:00Z");
        let p = rotated_path(Path::new("audit"), 7, at, 0);
        assert_eq!(file_name(&p), "audit.000000000007.2026-12-01T20-00-00Z");
        assert_eq!(LogName::parse(&file_name(&p)).active(), "audit");
        let p = rotated_path(Path::new("my.audit.log"), 7, at, 0);
        assert_eq!(file_name(&p), "my.audit.000000000007.2026-12-01T20-00-00Z.log");
        let ln = LogName::parse(&file_name(&p));
        assert_eq!((ln.stem.as_str(), ln.ext.as_str()), ("my.audit", ".log"));
        // Not rotated names: the file is the active file of its own log.
        for name in ["veil-audit.jsonl", "a.1.2026-12-01T20-00-00Z.jsonl", "x.000000000001.2026-12-01.jsonl", ".jsonl"]
        {
            assert_eq!(LogName::parse(name).rotated, None, "{name}");
        }
        assert_eq!(LogName::parse("a.1.2026-12-01T20-00-00Z.jsonl").active(), "a.1.2026-12-01T20-00-00Z.jsonl");
    }

    #[test]
    fn sets_from_folders_files_and_patterns() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let active = d.join("veil-audit.jsonl");
        let r1 = rotated_path(&active, 1, t("2026-01-01T00:00:00Z"), 0);
        let r2 = rotated_path(&active, 10, t("2026-01-02T00:00:00Z"), 0);
        for p in [&active, &r1, &r2, &d.join("other.jsonl"), &d.join("veil-audit.jsonl.key"), &d.join("notes.txt")] {
            std::fs::write(p, "").unwrap();
        }
        let sets = collect_sets(&[d.to_path_buf()]).unwrap();
        assert_eq!(sets.len(), 2);
        assert_eq!(sets[0].active, d.join("other.jsonl"));
        assert_eq!(sets[1].active, active);
        assert_eq!(sets[1].paths(), [r1.clone(), r2.clone(), active.clone()]);
        // Files given in any order are put in chain order; duplicates collapse.
        let sets = collect_sets(&[active.clone(), r2.clone(), r1.clone(), r2.clone()]).unwrap();
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].paths(), [r1.clone(), r2.clone(), active.clone()]);
        // An unexpanded pattern.
        let sets = collect_sets(&[d.join("veil-audit*")]).unwrap();
        assert_eq!(sets[0].paths(), [r1.clone(), r2.clone(), active.clone()]);
        assert_eq!(rotated_files(&active).unwrap().into_iter().map(|f| f.path).collect::<Vec<_>>(), [r1, r2]);
        // What is missing is unreadable.
        for bad in [d.join("missing.jsonl"), d.join("nothing*"), d.join("empty")] {
            if bad.ends_with("empty") {
                std::fs::create_dir(&bad).unwrap();
            }
            let e = collect_sets(std::slice::from_ref(&bad)).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{e}");
            assert!(e.to_string().contains(&*bad.to_string_lossy()), "{e}");
        }
    }

    #[test]
    fn glob() {
        let m = |p: &str, n: &str| glob_match(&p.chars().collect::<Vec<_>>(), &n.chars().collect::<Vec<_>>());
        assert!(m("veil-audit*.jsonl", "veil-audit.jsonl"));
        assert!(m("veil-audit*.jsonl", "veil-audit.000000000001.2026-01-01T00-00-00Z.jsonl"));
        assert!(!m("veil-audit*.jsonl", "veil-audit.jsonl.key"));
        assert!(m("a?c", "abc") && !m("a?c", "ac"));
    }
}
