//! `veil audit tail` (offline, beside a running writer at step 5 of the request flow):
//! prints the last records of the log, then every record as it is appended, like
//! `tail -F`. It polls the file; when the writer rotates (the path now names a new file),
//! it reads what is left of the old file, then follows the new one from its start. A torn
//! line that the writer cuts off on restart is never printed: only complete lines are.

use super::files::rotated_files;
use super::verify::VerifyError;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Duration;

/// How `tail` starts and polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TailOptions {
    /// Lines to print first: the last ones of the log, reaching back into rotated files.
    pub last: usize,
    /// How often to look for new lines.
    pub poll: Duration,
}

impl Default for TailOptions {
    fn default() -> Self {
        TailOptions { last: 10, poll: Duration::from_millis(200) }
    }
}

/// Identity of an open file, to notice that the path now names another one.
#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn identity(_meta: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// The last `n` complete lines of `file` (without `\n`) and the offset just after the last
/// complete line. Reads backwards in growing windows, so a large log starts fast.
fn last_lines(file: &mut File, n: usize) -> std::io::Result<(u64, Vec<Vec<u8>>)> {
    let len = file.metadata()?.len();
    let mut window: u64 = 64 * 1024;
    loop {
        let start = len.saturating_sub(window);
        let mut buf = Vec::new();
        file.seek(SeekFrom::Start(start))?;
        (&mut *file).take(len - start).read_to_end(&mut buf)?;
        let complete = match memchr::memrchr(b'\n', &buf) {
            Some(p) => p + 1,
            None if start == 0 => return Ok((0, Vec::new())),
            None => {
                window = window.saturating_mul(2);
                continue;
            }
        };
        let mut lines: Vec<&[u8]> = buf[..complete - 1].split(|&b| b == b'\n').collect();
        // Unless the window reaches the start, its first piece may be cut.
        if start > 0 && lines.len() <= n {
            window = window.saturating_mul(2);
            continue;
        }
        let keep = lines.len().min(n);
        let out = lines.split_off(lines.len() - keep).into_iter().map(<[u8]>::to_vec).collect();
        return Ok((start + complete as u64, out));
    }
}

/// Where following stands in the open file.
struct Follow {
    file: File,
    id: (u64, u64),
    /// Bytes of the file read so far, `partial` included.
    pos: u64,
    /// The start of a line whose `\n` has not arrived yet.
    partial: Vec<u8>,
}

impl Follow {
    /// A partial line is only kept while the file still holds it. The writer cuts a torn
    /// last line off when it restarts and then writes that record again: if the new bytes
    /// differ, go back to where the partial line started; if they are the same (the same
    /// record start), reading on completes the new line correctly.
    fn check_partial(&mut self) -> std::io::Result<()> {
        if self.partial.is_empty() {
            return Ok(());
        }
        let start = self.pos - self.partial.len() as u64;
        let len = self.file.metadata()?.len();
        let mut now = vec![0u8; self.partial.len()];
        let same = len >= self.pos
            && self.file.seek(SeekFrom::Start(start)).is_ok()
            && self.file.read_exact(&mut now).is_ok()
            && now == self.partial;
        if !same {
            self.pos = start.min(len);
            self.partial.clear();
        }
        Ok(())
    }

    /// Emits every line completed since the last call.
    fn read_new(&mut self, emit: &mut impl FnMut(&[u8]) -> ControlFlow<()>) -> std::io::Result<ControlFlow<()>> {
        self.file.seek(SeekFrom::Start(self.pos))?;
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = self.file.read(&mut chunk)?;
            if n == 0 {
                return Ok(ControlFlow::Continue(()));
            }
            self.pos += n as u64;
            let mut rest = &chunk[..n];
            while let Some(i) = memchr::memchr(b'\n', rest) {
                let flow = if self.partial.is_empty() {
                    emit(&rest[..i])
                } else {
                    self.partial.extend_from_slice(&rest[..i]);
                    let line = std::mem::take(&mut self.partial);
                    emit(&line)
                };
                if flow.is_break() {
                    return Ok(flow);
                }
                rest = &rest[i + 1..];
            }
            self.partial.extend_from_slice(rest);
        }
    }
}

/// Emits the last `opts.last` lines of the log at `path` (each without `\n`, oldest
/// first), then each line appended to it, until `emit` breaks or `stop` returns true
/// (checked once per poll). Follows the path across rotations; a moment with no file at
/// `path` (mid-rotation) is waited out. Fails only if `path` cannot be read at the start.
pub fn tail(
    path: &Path,
    opts: &TailOptions,
    mut emit: impl FnMut(&[u8]) -> ControlFlow<()>,
    stop: &dyn Fn() -> bool,
) -> Result<(), VerifyError> {
    let unreadable = |source| VerifyError::Unreadable { path: path.to_path_buf(), source };
    let mut file = File::open(path).map_err(unreadable)?;
    let id = identity(&file.metadata().map_err(unreadable)?);
    let (pos, mut lines) = last_lines(&mut file, opts.last).map_err(unreadable)?;
    // Too few in the active file (just rotated): the rest from the newest rotated files.
    if lines.len() < opts.last {
        for f in rotated_files(path).unwrap_or_default().iter().rev() {
            let need = opts.last - lines.len();
            if need == 0 {
                break;
            }
            if let Ok((_, mut older)) = File::open(&f.path).and_then(|mut rf| last_lines(&mut rf, need)) {
                older.append(&mut lines);
                lines = older;
            }
        }
    }
    for l in &lines {
        if emit(l).is_break() {
            return Ok(());
        }
    }
    let mut follow = Follow { file, id, pos, partial: Vec::new() };
    loop {
        // A read error (the file went away under us) is retried at the next poll.
        let _ = follow.check_partial();
        if let Ok(ControlFlow::Break(())) = follow.read_new(&mut emit) {
            return Ok(());
        }
        if stop() {
            return Ok(());
        }
        match std::fs::metadata(path) {
            Ok(meta) if identity(&meta) != follow.id => {
                // Rotated: the old file is complete once the new one exists; finish it first.
                if let Ok(ControlFlow::Break(())) = follow.read_new(&mut emit) {
                    return Ok(());
                }
                if let Ok(file) = File::open(path) {
                    let id = file.metadata().map(|m| identity(&m)).unwrap_or(follow.id);
                    follow = Follow { file, id, pos: 0, partial: Vec::new() };
                    continue;
                }
            }
            // Cut back below what was read (not by veil, which only cuts a torn line).
            Ok(meta) if meta.len() < follow.pos && follow.partial.is_empty() => {
                follow.pos = meta.len();
                follow.partial.clear();
            }
            _ => {}
        }
        std::thread::sleep(opts.poll);
    }
}

#[cfg(test)]
mod tests {
    use super::super::files::rotated_path;
    use super::*;
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    fn append(path: &Path, bytes: &[u8]) {
        let mut f = std::fs::OpenOptions::new().append(true).create(true).open(path).unwrap();
        f.write_all(bytes).unwrap();
    }

    /// Runs `tail` on a thread; returns what it emitted so far (shared), and a stop flag.
    fn start(path: &Path, last: usize) -> (Arc<Mutex<Vec<String>>>, Arc<AtomicBool>, std::thread::JoinHandle<()>) {
        let got = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, s, p) = (got.clone(), stop.clone(), path.to_path_buf());
        let join = std::thread::spawn(move || {
            let opts = TailOptions { last, poll: Duration::from_millis(10) };
            tail(
                &p,
                &opts,
                |l| {
                    g.lock().unwrap().push(String::from_utf8(l.to_vec()).unwrap());
                    ControlFlow::Continue(())
                },
                &|| s.load(Ordering::Relaxed),
            )
            .unwrap();
        });
        (got, stop, join)
    }

    fn wait_for(got: &Mutex<Vec<String>>, n: usize) -> Vec<String> {
        for _ in 0..500 {
            if got.lock().unwrap().len() >= n {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        got.lock().unwrap().clone()
    }

    #[test]
    fn last_lines_reads_backwards() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let body: String = (1..=5000).map(|i| format!("line {i} {}\n", "x".repeat(i % 50))).collect();
        std::fs::write(&path, format!("{body}torn")).unwrap();
        let mut f = File::open(&path).unwrap();
        let (pos, lines) = last_lines(&mut f, 3).unwrap();
        assert_eq!(pos, body.len() as u64);
        let lines: Vec<String> = lines.into_iter().map(|l| String::from_utf8(l).unwrap()).collect();
        assert!(lines[0].starts_with("line 4998 ") && lines[2].starts_with("line 5000 "), "{lines:?}");
        assert_eq!(last_lines(&mut f, 0).unwrap(), (body.len() as u64, vec![]));
        assert_eq!(last_lines(&mut f, 9999).unwrap().1.len(), 5000);
        std::fs::write(&path, "").unwrap();
        assert_eq!(last_lines(&mut File::open(&path).unwrap(), 3).unwrap(), (0, vec![]));
    }

    #[test]
    fn follows_appends_torn_lines_and_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("veil-audit.jsonl");
        std::fs::write(&path, "a1\na2\na3\n").unwrap();
        let (got, stop, join) = start(&path, 2);
        assert_eq!(wait_for(&got, 2), ["a2", "a3"]);
        // A line written in two pieces is emitted once, whole.
        append(&path, b"a4\na");
        std::thread::sleep(Duration::from_millis(50));
        append(&path, b"5\n");
        assert_eq!(wait_for(&got, 4)[2..], ["a4", "a5"]);
        // A torn line cut off (writer restart) is never emitted, whether what replaces it
        // is shorter, longer, or starts with the same bytes.
        let cut = |torn: &[u8], then: &[u8]| {
            append(&path, torn);
            std::thread::sleep(Duration::from_millis(50));
            let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.set_len(std::fs::metadata(&path).unwrap().len() - torn.len() as u64).unwrap();
            append(&path, then);
        };
        cut(b"torn", b"a6\n");
        assert_eq!(wait_for(&got, 5)[4], "a6");
        cut(b"{\"x\":", b"a6 and something longer\n");
        assert_eq!(wait_for(&got, 6)[5], "a6 and something longer");
        cut(b"{\"seq\":7,\"ti", b"{\"seq\":7,\"time\":1}\n");
        assert_eq!(wait_for(&got, 7)[6], "{\"seq\":7,\"time\":1}");
        // Rotation: the old file gets its last line, is renamed, a new file starts.
        append(&path, b"a7\n");
        let rotated = rotated_path(&path, 1, chrono::Utc::now(), 0);
        std::fs::rename(&path, &rotated).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        std::fs::write(&path, "b1\n").unwrap();
        append(&path, b"b2\n");
        let all = wait_for(&got, 10);
        stop.store(true, Ordering::Relaxed);
        join.join().unwrap();
        assert_eq!(all[7..], ["a7", "b1", "b2"]);
        assert_eq!(all.len(), 10, "{all:?}");
    }

    #[test]
    fn last_lines_reach_into_rotated_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("veil-audit.jsonl");
        let t = chrono::Utc::now();
        std::fs::write(rotated_path(&path, 1, t, 0), "r1\nr2\n").unwrap();
        std::fs::write(rotated_path(&path, 3, t, 0), "r3\n").unwrap();
        std::fs::write(&path, "c4\n").unwrap();
        let (got, stop, join) = start(&path, 3);
        let first = wait_for(&got, 3);
        stop.store(true, Ordering::Relaxed);
        join.join().unwrap();
        assert_eq!(first, ["r2", "r3", "c4"]);
        let e = tail(&dir.path().join("missing"), &TailOptions::default(), |_| ControlFlow::Continue(()), &|| true)
            .unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }
}
