//! The audit writer (step 5 of the request flow): request handlers hand finished
//! [`AuditRecord`]s to [`AuditHandle::record`] without blocking; one writer task per log
//! assigns `seq`, chains the hashes, appends whole lines in batches, fsyncs, and rotates
//! the file by size or age (the chain runs on across files).

use super::files::{rotated_files, rotated_path};
use super::key::{sync_parent_dir, AuditKey};
use super::{chain_hash, chain_mac, is_hex64, mac_matches, split_line, AuditError, AuditRecord, ZERO_HASH};
use crate::config::AuditRotation;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Records waiting for the writer before [`AuditHandle::record`] starts dropping them.
pub const CHANNEL_CAPACITY: usize = 8192;
/// Most records written with one `write_all`.
const BATCH: usize = 256;
/// Least time between two `sync_data` calls.
const SYNC_INTERVAL: Duration = Duration::from_millis(100);
/// Least time between two "records dropped" error logs.
const DROP_LOG_INTERVAL: Duration = Duration::from_secs(10);
/// First window read from the end of the log to find the last record on open.
const TAIL_WINDOW: u64 = 64 * 1024;
/// Least time between two tries to rotate, after a rotation failed.
const ROTATION_RETRY: Duration = Duration::from_secs(60);

/// Sends records to the writer task. Cheap to clone; `record` never blocks.
#[derive(Clone, Debug)]
pub struct AuditHandle {
    inner: Option<Arc<Inner>>,
}

#[derive(Debug)]
struct Inner {
    tx: mpsc::Sender<AuditRecord>,
    drops: Arc<Drops>,
    /// Records accepted by `record` and records the writer has handled (written or
    /// dropped), for `flush`.
    progress: Arc<Progress>,
}

#[derive(Debug, Default)]
struct Progress {
    sent: AtomicU64,
    handled: AtomicU64,
}

/// Counts lost records and logs about them at most once per [`DROP_LOG_INTERVAL`].
#[derive(Debug)]
struct Drops {
    path: PathBuf,
    unlogged: AtomicU64,
    last_log: Mutex<Option<Instant>>,
}

impl Drops {
    fn dropped(&self, n: u64, why: &str) {
        if n == 0 {
            return;
        }
        metrics::counter!(crate::telemetry::metrics::AUDIT_DROPPED).increment(n);
        self.unlogged.fetch_add(n, Ordering::Relaxed);
        let Ok(mut last) = self.last_log.try_lock() else {
            return;
        };
        if last.is_none_or(|t| t.elapsed() >= DROP_LOG_INTERVAL) {
            *last = Some(Instant::now());
            let count = self.unlogged.swap(0, Ordering::Relaxed);
            tracing::error!(audit_log = %self.path.display(), dropped = count, "audit records dropped: {why}");
        }
    }
}

/// The writer task of an open log. Call [`AuditWriterTask::shutdown`] before exit so that
/// every record is on disk. Dropping it without `shutdown` leaves the task running until
/// every [`AuditHandle`] is gone.
#[derive(Debug)]
pub struct AuditWriterTask {
    join: JoinHandle<()>,
    stop: oneshot::Sender<()>,
}

impl AuditWriterTask {
    /// Waits until every record sent before the call is written and fsync'd. Records sent
    /// afterwards are dropped (and counted).
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.join.await {
            tracing::error!("audit writer task failed: {e}");
        }
    }
}

impl AuditHandle {
    /// Opens (creating, mode 0600) the log at `path`, takes an exclusive advisory lock on
    /// it, recovers `seq` and `prev_hash` from the last complete line (a torn last line left
    /// by a crash is cut off with a warning) and spawns the writer task. Never rotates.
    pub async fn open(path: &Path, key: &[u8]) -> Result<(AuditHandle, AuditWriterTask), AuditError> {
        AuditHandle::open_with(path, key, AuditRotation::default()).await
    }

    /// [`AuditHandle::open`], rotating the file as `rotation` says (see [`crate::audit`]).
    /// When the file is empty or new, the chain continues from the newest rotated file
    /// beside it, if any.
    pub async fn open_with(
        path: &Path,
        key: &[u8],
        rotation: AuditRotation,
    ) -> Result<(AuditHandle, AuditWriterTask), AuditError> {
        let owned = path.to_path_buf();
        let key = AuditKey::new(key);
        let writer = tokio::task::spawn_blocking(move || Writer::open(owned, key, rotation))
            .await
            .map_err(|e| AuditError::Io { path: path.to_path_buf(), op: "open", source: std::io::Error::other(e) })??;
        let drops =
            Arc::new(Drops { path: path.to_path_buf(), unlogged: AtomicU64::new(0), last_log: Mutex::new(None) });
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let (stop_tx, stop_rx) = oneshot::channel();
        let progress = Arc::new(Progress::default());
        let join = tokio::spawn(run(writer, rx, stop_rx, drops.clone(), progress.clone()));
        Ok((
            AuditHandle { inner: Some(Arc::new(Inner { tx, drops, progress })) },
            AuditWriterTask { join, stop: stop_tx },
        ))
    }

    /// A handle that drops every record silently (audit log turned off).
    pub fn disabled() -> AuditHandle {
        AuditHandle { inner: None }
    }

    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Waits until every record queued before the call has been written (or dropped by a
    /// failing writer). Polls; meant for tests and operational tooling, not the hot path.
    pub async fn flush(&self) {
        let Some(inner) = &self.inner else { return };
        let target = inner.progress.sent.load(Ordering::Acquire);
        while inner.progress.handled.load(Ordering::Acquire) < target && !inner.tx.is_closed() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Queues a record without waiting. When the queue is full (the disk cannot keep up)
    /// or the writer is gone, the record is dropped: `veil_audit_dropped_total` counts
    /// it and an error is logged at most once per 10 s.
    pub fn record(&self, rec: AuditRecord) {
        let Some(inner) = &self.inner else { return };
        match inner.tx.try_send(rec) {
            Ok(()) => {
                inner.progress.sent.fetch_add(1, Ordering::AcqRel);
            }
            Err(mpsc::error::TrySendError::Full(_)) => inner.drops.dropped(1, "the audit queue is full"),
            Err(mpsc::error::TrySendError::Closed(_)) => inner.drops.dropped(1, "the audit writer has stopped"),
        }
    }
}

async fn run(
    writer: Writer,
    mut rx: mpsc::Receiver<AuditRecord>,
    mut stop: oneshot::Receiver<()>,
    drops: Arc<Drops>,
    progress: Arc<Progress>,
) {
    let mut slot = Some(writer);
    let mut batch: Vec<AuditRecord> = Vec::with_capacity(BATCH);
    let mut stop_seen = false;
    let mut dirty = false;
    let mut last_sync = Instant::now();
    loop {
        let sync_at = tokio::time::Instant::from_std(last_sync + SYNC_INTERVAL);
        tokio::select! {
            n = rx.recv_many(&mut batch, BATCH) => {
                if n == 0 {
                    break;
                }
                // Appending a batch of lines lands in the page cache and takes microseconds,
                // so it runs inline; a blocking-pool hop per batch cost ~15% of throughput
                // under load. Only fsync, which can take milliseconds, goes to the pool.
                let Some(w) = slot.as_mut() else { break };
                batch = w.write_batch(std::mem::take(&mut batch), &drops);
                progress.handled.fetch_add(n as u64, Ordering::AcqRel);
                dirty = true;
                if last_sync.elapsed() >= SYNC_INTERVAL {
                    if blocking(&mut slot, Writer::sync).await.is_none() {
                        break;
                    }
                    dirty = false;
                    last_sync = Instant::now();
                }
            }
            r = &mut stop, if !stop_seen => {
                stop_seen = true;
                // Only an explicit shutdown closes the queue; a dropped task handle does not.
                if r.is_ok() {
                    rx.close();
                }
            }
            () = tokio::time::sleep_until(sync_at), if dirty => {
                if blocking(&mut slot, Writer::sync).await.is_none() {
                    break;
                }
                dirty = false;
                last_sync = Instant::now();
            }
        }
    }
    if dirty {
        let _ = blocking(&mut slot, Writer::sync).await;
    }
    if slot.is_none() {
        // The writer panicked: whatever is still queued is lost.
        rx.close();
        let mut lost = 0;
        while rx.recv().await.is_some() {
            lost += 1;
        }
        drops.dropped(lost, "the audit writer has stopped");
    }
}

/// Runs `f` on the writer in a blocking thread. `None` (and the writer gone) if it panicked.
async fn blocking<R: Send + 'static>(
    slot: &mut Option<Writer>,
    f: impl FnOnce(&mut Writer) -> R + Send + 'static,
) -> Option<R> {
    let mut w = slot.take()?;
    match tokio::task::spawn_blocking(move || {
        let r = f(&mut w);
        (w, r)
    })
    .await
    {
        Ok((w, r)) => {
            *slot = Some(w);
            Some(r)
        }
        Err(e) => {
            tracing::error!("audit writer failed: {e}");
            None
        }
    }
}

/// The line as hashed: `seq`, the record's fields, `prev_hash`.
#[derive(Serialize)]
struct Head<'a> {
    seq: u64,
    #[serde(flatten)]
    record: &'a AuditRecord,
    prev_hash: &'a str,
}

/// Appends one complete line (with `\n`) for `rec` to `out`; returns its `hash`.
pub(crate) fn encode_line(
    seq: u64,
    prev_hash: &str,
    rec: &AuditRecord,
    key: &[u8],
    out: &mut Vec<u8>,
) -> Result<String, serde_json::Error> {
    let start = out.len();
    if let Err(e) = serde_json::to_writer(&mut *out, &Head { seq, record: rec, prev_hash }) {
        out.truncate(start);
        return Err(e);
    }
    let hash = chain_hash(prev_hash, &out[start..]);
    let mac = chain_mac(key, &hash);
    out.pop(); // the closing '}'
    out.extend_from_slice(b",\"hash\":\"");
    out.extend_from_slice(hash.as_bytes());
    out.extend_from_slice(b"\",\"mac\":\"");
    out.extend_from_slice(mac.as_bytes());
    out.extend_from_slice(b"\"}\n");
    Ok(hash)
}

/// Latencies in whole microseconds (shorter lines); non-finite values become 0.
fn tidy(rec: &mut AuditRecord) {
    for v in
        [&mut rec.latency_ms.mask, &mut rec.latency_ms.upstream, &mut rec.latency_ms.restore, &mut rec.latency_ms.total]
    {
        *v = if v.is_finite() { (*v * 1000.0).round() / 1000.0 } else { 0.0 };
    }
}

/// The fields of the last line that the chain continues from.
#[derive(Deserialize)]
struct Tail {
    seq: u64,
    prev_hash: String,
    hash: String,
}

/// The fields of a file's first line that rotation needs.
#[derive(Deserialize)]
struct Head0 {
    seq: u64,
    time: String,
}

/// The open log file and the chain state. Lives in the writer task; used in blocking threads.
struct Writer {
    path: PathBuf,
    /// Opened for append and holding the exclusive lock until dropped.
    file: File,
    key: AuditKey,
    seq: u64,
    prev_hash: String,
    /// Length of the file up to the last complete line this writer knows of.
    len: u64,
    /// A failed write may have left part of a batch; cut it off before writing again.
    needs_truncate: bool,
    buf: Vec<u8>,
    /// One encoded line, before it is known which file it goes to.
    line: Vec<u8>,
    rotation: AuditRotation,
    /// `seq` and time of the current file's first record (`None` while it is empty).
    first: Option<(u64, DateTime<Utc>)>,
    /// After a failed rotation, when to try again.
    retry_rotation_at: Option<Instant>,
}

/// Opens the log file for appending (mode 0600) and takes its exclusive lock.
fn open_locked(path: &Path, create_new: bool) -> Result<File, AuditError> {
    let io = |op: &'static str| move |source| AuditError::Io { path: path.to_path_buf(), op, source };
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).append(true);
    if create_new {
        opts.create_new(true);
    } else {
        opts.create(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(path).map_err(io("open"))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(AuditError::Locked { path: path.to_path_buf() }),
        Err(std::fs::TryLockError::Error(e)) => Err(io("lock")(e)),
    }
}

fn parse_time(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t).ok().map(|t| t.with_timezone(&Utc))
}

impl Writer {
    fn open(path: PathBuf, key: AuditKey, rotation: AuditRotation) -> Result<Writer, AuditError> {
        let io = |op: &'static str| {
            let path = path.clone();
            move |source| AuditError::Io { path, op, source }
        };
        let existed = path.exists();
        let mut file = open_locked(&path, false)?;
        if !existed {
            sync_parent_dir(&path);
        }
        let (complete_len, last) = find_tail(&mut file).map_err(io("read"))?;
        let file_len = file.metadata().map_err(io("read"))?.len();
        if complete_len < file_len {
            tracing::warn!(
                audit_log = %path.display(),
                bytes = file_len - complete_len,
                "cutting off a torn last line of the audit log (a crash while writing); earlier records are kept"
            );
            file.set_len(complete_len).map_err(io("truncate"))?;
            file.sync_data().map_err(io("sync"))?;
        }
        let (seq, prev_hash, first) = match last {
            Some(line) => {
                let (seq, hash) = check_tail(&path, &line, key.as_bytes())?;
                // Where the file starts, for the rotated name and the age limit; if the first
                // line cannot be read, the last record and now stand in (and sort right).
                let first = read_first_line(&mut file)
                    .ok()
                    .flatten()
                    .and_then(|l| serde_json::from_slice::<Head0>(&l).ok())
                    .map(|h| (h.seq, parse_time(&h.time).unwrap_or_else(Utc::now)))
                    .unwrap_or_else(|| (seq, Utc::now()));
                (seq, hash, Some(first))
            }
            // An empty file: a new log, or a crash right after a rotation. The chain goes on
            // from the newest rotated file, if there is one.
            None => match continue_from_rotated(&path, key.as_bytes())? {
                Some((seq, hash)) => (seq, hash, None),
                None => (0, ZERO_HASH.to_string(), None),
            },
        };
        Ok(Writer {
            path,
            file,
            key,
            seq,
            prev_hash,
            len: complete_len,
            needs_truncate: false,
            buf: Vec::with_capacity(64 * 1024),
            line: Vec::with_capacity(4096),
            rotation,
            first,
            retry_rotation_at: None,
        })
    }

    /// Writes a batch, with one `write_all` per file it goes to (two or more only when the
    /// file is rotated within the batch); returns the emptied vector for reuse.
    fn write_batch(&mut self, mut recs: Vec<AuditRecord>, drops: &Drops) -> Vec<AuditRecord> {
        if self.needs_truncate {
            match self.file.set_len(self.len) {
                Ok(()) => self.needs_truncate = false,
                Err(e) => {
                    tracing::error!(audit_log = %self.path.display(), "cannot cut off a partly written batch: {e}");
                    drops.dropped(recs.len() as u64, "the audit log cannot be written");
                    recs.clear();
                    return recs;
                }
            }
        }
        self.buf.clear();
        // The chain state before the lines in `buf`, to roll back to if they cannot be written.
        let mut base = (self.seq, self.prev_hash.clone());
        let mut lines = 0u64;
        let now = Utc::now();
        let mut pending = recs.drain(..);
        while let Some(mut rec) = pending.next() {
            tidy(&mut rec);
            self.line.clear();
            let hash = match encode_line(self.seq + 1, &self.prev_hash, &rec, self.key.as_bytes(), &mut self.line) {
                Ok(hash) => hash,
                Err(e) => {
                    tracing::error!(request_id = %rec.request_id, "cannot encode an audit record: {e}");
                    drops.dropped(1, "an audit record could not be encoded");
                    continue;
                }
            };
            if self.rotation_due(self.line.len() as u64, now) {
                // What the current file gets goes out first; the chain is the same either way.
                if !self.append(lines, &base, drops) {
                    // The line just encoded chains to records that were not written.
                    drops.dropped(1 + pending.len() as u64, "the audit log cannot be written");
                    drop(pending);
                    return recs;
                }
                lines = 0;
                self.rotate(now);
                base = (self.seq, self.prev_hash.clone());
            }
            if self.first.is_none() {
                self.first = Some((self.seq + 1, parse_time(&rec.time).unwrap_or(now)));
            }
            self.buf.extend_from_slice(&self.line);
            self.seq += 1;
            self.prev_hash = hash;
            lines += 1;
        }
        drop(pending);
        self.append(lines, &base, drops);
        recs
    }

    /// Appends `buf` (holding `lines` records) with one `write_all`. On failure, rolls the
    /// chain back to `base`, cuts off what was partly written and counts the records as
    /// dropped; returns false.
    fn append(&mut self, lines: u64, base: &(u64, String), drops: &Drops) -> bool {
        if self.buf.is_empty() {
            return true;
        }
        let ok = match self.file.write_all(&self.buf).and_then(|()| self.file.flush()) {
            Ok(()) => {
                self.len += self.buf.len() as u64;
                true
            }
            Err(e) => {
                tracing::error!(audit_log = %self.path.display(), "cannot append to the audit log: {e}");
                drops.dropped(lines, "the audit log cannot be written");
                self.seq = base.0;
                self.prev_hash = base.1.clone();
                if self.len == 0 {
                    self.first = None;
                }
                self.needs_truncate = true;
                if self.file.set_len(self.len).is_ok() {
                    self.needs_truncate = false;
                }
                false
            }
        };
        self.buf.clear();
        ok
    }

    /// Whether the file must be rotated before a line of `line_len` bytes is added to what
    /// it holds and what `buf` holds for it. An empty file is never rotated.
    fn rotation_due(&self, line_len: u64, now: DateTime<Utc>) -> bool {
        let held = self.len + self.buf.len() as u64;
        if held == 0 || self.retry_rotation_at.is_some_and(|t| Instant::now() < t) {
            return false;
        }
        let by_size = self.rotation.max_bytes.is_some_and(|max| held + line_len > max);
        let by_age = match (self.rotation.max_age, self.first) {
            (Some(max), Some((_, t))) => (now - t).to_std().is_ok_and(|age| age >= max),
            _ => false,
        };
        by_size || by_age
    }

    /// Renames the file to its rotated name and opens a new, empty, locked file at `path`.
    /// On failure it logs, keeps writing where it can and tries again after
    /// [`ROTATION_RETRY`]; records are never dropped for a failed rotation.
    fn rotate(&mut self, now: DateTime<Utc>) {
        if let Err(e) = self.file.sync_data() {
            tracing::error!(audit_log = %self.path.display(), "cannot fsync the audit log before rotating it: {e}");
        }
        let (first_seq, first_time) = self.first.unwrap_or((self.seq, now));
        let mut target = rotated_path(&self.path, first_seq, first_time, 0);
        let mut counter = 0;
        while target.exists() {
            counter += 1;
            target = rotated_path(&self.path, first_seq, first_time, counter);
        }
        if let Err(e) = std::fs::rename(&self.path, &target) {
            tracing::error!(audit_log = %self.path.display(), rotated = %target.display(), "cannot rotate the audit log, writing on to it: {e}");
            self.retry_rotation_at = Some(Instant::now() + ROTATION_RETRY);
            return;
        }
        match open_locked(&self.path, true) {
            Ok(file) => {
                sync_parent_dir(&self.path);
                // Dropping the old handle releases the rotated file's lock.
                self.file = file;
                self.len = 0;
                self.first = None;
                self.retry_rotation_at = None;
                tracing::info!(audit_log = %self.path.display(), rotated = %target.display(), seq = self.seq, "rotated the audit log");
            }
            Err(e) => {
                self.retry_rotation_at = Some(Instant::now() + ROTATION_RETRY);
                // Put the file back, unless someone else created one at `path` meanwhile.
                let back = !self.path.exists() && std::fs::rename(&target, &self.path).is_ok();
                if back {
                    tracing::error!(audit_log = %self.path.display(), "cannot start a new audit log file, writing on to the current one: {e}");
                } else {
                    // Whatever is at `path` now is not ours to rename: stop rotating.
                    self.rotation = AuditRotation::default();
                    tracing::error!(audit_log = %self.path.display(), rotated = %target.display(), "cannot start a new audit log file; records go on into the rotated file and rotation is off until veil restarts: {e}");
                }
            }
        }
    }

    fn sync(&mut self) {
        if let Err(e) = self.file.sync_data() {
            tracing::error!(audit_log = %self.path.display(), "cannot fsync the audit log: {e}");
        }
    }
}

/// The first complete line of the file (without `\n`), if it has one.
fn read_first_line(file: &mut File) -> std::io::Result<Option<Vec<u8>>> {
    file.seek(SeekFrom::Start(0))?;
    let mut line = Vec::new();
    std::io::BufRead::read_until(&mut std::io::BufReader::new(&mut *file), b'\n', &mut line)?;
    Ok(line.pop().filter(|&b| b == b'\n').map(|_| line))
}

/// The `seq` and `hash` of the last record of the newest rotated file beside `path`.
fn continue_from_rotated(path: &Path, key: &[u8]) -> Result<Option<(u64, String)>, AuditError> {
    let io = |op: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| AuditError::Io { path: p, op, source }
    };
    let rotated = rotated_files(path).map_err(io("list the folder of", path))?;
    for f in rotated.iter().rev() {
        let mut file = File::open(&f.path).map_err(io("read", &f.path))?;
        if let (_, Some(line)) = find_tail(&mut file).map_err(io("read", &f.path))? {
            tracing::info!(audit_log = %path.display(), rotated = %f.path.display(), "the audit chain goes on from the last rotated file");
            return check_tail(&f.path, &line, key).map(Some);
        }
    }
    Ok(None)
}

/// Finds the end of the last complete line and that line's bytes (without `\n`).
/// Reads backwards from the end, in growing windows, so a large log opens fast.
fn find_tail(file: &mut File) -> std::io::Result<(u64, Option<Vec<u8>>)> {
    let len = file.metadata()?.len();
    let mut window = TAIL_WINDOW;
    loop {
        let start = len.saturating_sub(window);
        let mut buf = Vec::new();
        file.seek(SeekFrom::Start(start))?;
        (&mut *file).take(len - start).read_to_end(&mut buf)?;
        let complete = match buf.iter().rposition(|&b| b == b'\n') {
            Some(p) => p + 1,
            None if start == 0 => return Ok((0, None)),
            None => {
                window = window.saturating_mul(2);
                continue;
            }
        };
        let body = &buf[..complete - 1];
        let line = match body.iter().rposition(|&b| b == b'\n') {
            Some(p) => &body[p + 1..],
            None if start == 0 => body,
            None => {
                window = window.saturating_mul(2);
                continue;
            }
        };
        return Ok((start + complete as u64, Some(line.to_vec())));
    }
}

/// The `seq` and `hash` to continue from, after checking the last line as far as it can
/// be checked alone. Warns (and continues) when its hash or mac does not check out:
/// `veil audit verify` reports the line.
fn check_tail(path: &Path, line: &[u8], key: &[u8]) -> Result<(u64, String), AuditError> {
    let corrupt = |reason: String| AuditError::Corrupt { path: path.to_path_buf(), reason };
    let text = std::str::from_utf8(line).map_err(|_| corrupt("not UTF-8".to_string()))?;
    let tail: Tail = serde_json::from_str(text).map_err(|e| corrupt(format!("not a record: {e}")))?;
    if !is_hex64(&tail.hash) {
        return Err(corrupt("its hash is not 64 hex digits".to_string()));
    }
    match split_line(text) {
        Some((canonical, hash, mac)) if hash == tail.hash => {
            if chain_hash(&tail.prev_hash, &canonical) != hash {
                tracing::warn!(audit_log = %path.display(), seq = tail.seq, "the last audit record does not match its hash; `veil audit verify` will report it");
            } else if !mac_matches(key, hash, mac) {
                tracing::warn!(audit_log = %path.display(), seq = tail.seq, "the last audit record was signed with another key; verifying earlier records needs that key");
            }
        }
        _ => {
            tracing::warn!(audit_log = %path.display(), seq = tail.seq, "the last audit record is not in the expected format")
        }
    }
    Ok((tail.seq, tail.hash))
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample;
    use super::*;
    use std::collections::HashSet;

    const KEY: &[u8] = b"test key";

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path).unwrap().lines().map(str::to_string).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_records_are_all_written_whole_and_chained() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let (handle, task) = AuditHandle::open(&path, KEY).await.unwrap();
        let mut tasks = Vec::new();
        for t in 0..8 {
            let h = handle.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..200 {
                    h.record(sample(t * 1000 + i));
                    if i % 16 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        task.shutdown().await;
        let ls = lines(&path);
        assert_eq!(ls.len(), 1600);
        let mut ids = HashSet::new();
        for (i, l) in ls.iter().enumerate() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["seq"], (i + 1) as u64);
            assert!(ids.insert(v["request_id"].as_str().unwrap().to_string()));
        }
        let rep = super::super::verify(&path, Some(KEY)).unwrap();
        assert_eq!(rep.records, 1600);
        assert!(rep.mac_checked);
        assert_eq!(rep.last_seq, Some(1600));
    }

    #[tokio::test]
    async fn reopen_continues_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        for round in 0..3 {
            let (h, task) = AuditHandle::open(&path, KEY).await.unwrap();
            for i in 0..5 {
                h.record(sample(round * 10 + i));
            }
            task.shutdown().await;
        }
        assert_eq!(super::super::verify(&path, Some(KEY)).unwrap().records, 15);
    }

    #[tokio::test]
    async fn torn_last_line_is_cut_off_and_the_chain_continues() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let (h, task) = AuditHandle::open(&path, KEY).await.unwrap();
        for i in 0..10 {
            h.record(sample(i));
        }
        task.shutdown().await;
        let before = std::fs::read(&path).unwrap();
        // A crash in the middle of writing record 11.
        let mut next = Vec::new();
        encode_line(11, "x", &sample(11), KEY, &mut next).unwrap();
        let mut torn = before.clone();
        torn.extend_from_slice(&next[..next.len() / 2]);
        std::fs::write(&path, &torn).unwrap();
        let e = super::super::verify(&path, Some(KEY)).unwrap_err();
        assert!(e.to_string().contains("line 11"), "{e}");

        let (h, task) = AuditHandle::open(&path, KEY).await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), before, "only the torn line is cut off");
        for i in 0..3 {
            h.record(sample(100 + i));
        }
        task.shutdown().await;
        let rep = super::super::verify(&path, Some(KEY)).unwrap();
        assert_eq!(rep.records, 13);
        assert!(std::fs::read(&path).unwrap().starts_with(&before));
    }

    #[tokio::test]
    async fn a_log_with_only_a_torn_line_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        std::fs::write(&path, b"{\"seq\":1,\"ti").unwrap();
        let (h, task) = AuditHandle::open(&path, KEY).await.unwrap();
        h.record(sample(1));
        task.shutdown().await;
        assert_eq!(super::super::verify(&path, Some(KEY)).unwrap().records, 1);
    }

    #[tokio::test]
    async fn long_last_line_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let (h, task) = AuditHandle::open(&path, KEY).await.unwrap();
        h.record(sample(1));
        let mut big = sample(2);
        big.detectors = (0..20_000).map(|i| format!("detector-{i}/1")).collect();
        h.record(big);
        task.shutdown().await;
        assert!(std::fs::metadata(&path).unwrap().len() > 2 * TAIL_WINDOW);
        let (h, task) = AuditHandle::open(&path, KEY).await.unwrap();
        h.record(sample(3));
        task.shutdown().await;
        assert_eq!(super::super::verify(&path, Some(KEY)).unwrap().records, 3);
    }

    #[tokio::test]
    async fn a_second_open_is_refused_while_locked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let (_h, task) = AuditHandle::open(&path, KEY).await.unwrap();
        let e = AuditHandle::open(&path, KEY).await.unwrap_err();
        assert!(e.to_string().contains("is in use by another veil process"), "{e}");
        assert!(e.to_string().contains("audit.jsonl"), "{e}");
        task.shutdown().await;
        let (_h, task) = AuditHandle::open(&path, KEY).await.unwrap();
        task.shutdown().await;
    }

    #[tokio::test]
    async fn garbage_last_line_refuses_to_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        std::fs::write(&path, b"hello\n").unwrap();
        let e = AuditHandle::open(&path, KEY).await.unwrap_err();
        assert!(matches!(e, AuditError::Corrupt { .. }), "{e}");
        assert!(e.to_string().contains("audit.jsonl"), "{e}");
    }

    #[tokio::test]
    async fn records_after_shutdown_and_disabled_handles_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let (h, task) = AuditHandle::open(&path, KEY).await.unwrap();
        h.record(sample(1));
        task.shutdown().await;
        h.record(sample(2));
        assert_eq!(lines(&path).len(), 1);
        let d = AuditHandle::disabled();
        assert!(!d.is_enabled());
        d.record(sample(3));
    }

    #[tokio::test]
    async fn dropping_the_task_handle_keeps_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let (h, task) = AuditHandle::open(&path, KEY).await.unwrap();
        drop(task);
        h.record(sample(1));
        drop(h);
        // The task ends once every handle is gone; wait for the line to land.
        for _ in 0..200 {
            if lines(&path).len() == 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("record was not written");
    }

    #[tokio::test]
    async fn a_full_queue_drops_without_blocking_and_counts() {
        let (tx, _rx) = mpsc::channel(2);
        let drops = Arc::new(Drops { path: "q".into(), unlogged: AtomicU64::new(0), last_log: Mutex::new(None) });
        let h = AuditHandle { inner: Some(Arc::new(Inner { tx, drops: drops.clone(), progress: Arc::default() })) };
        for i in 0..5 {
            h.record(sample(i));
        }
        // The first drop is logged at once (resetting the count), later ones wait 10 s.
        assert!(drops.last_log.lock().unwrap().is_some());
        assert_eq!(drops.unlogged.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn latencies_are_tidied() {
        let mut r = sample(1);
        r.latency_ms.mask = f64::NAN;
        r.latency_ms.total = 1.234_567_8;
        tidy(&mut r);
        assert_eq!(r.latency_ms.mask, 0.0);
        assert_eq!(r.latency_ms.total, 1.235);
    }

    fn rotation(max_bytes: Option<u64>, max_age: Option<Duration>) -> AuditRotation {
        AuditRotation { max_bytes, max_age }
    }

    fn set_of(dir: &Path) -> super::super::LogSet {
        let sets = super::super::collect_sets(&[dir.to_path_buf()]).unwrap();
        assert_eq!(sets.len(), 1, "{sets:?}");
        sets.into_iter().next().unwrap()
    }

    #[tokio::test]
    async fn rotation_by_size_keeps_one_chain_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("veil-audit.jsonl");
        let line_len = {
            let mut out = Vec::new();
            encode_line(1, ZERO_HASH, &sample(1), KEY, &mut out).unwrap();
            out.len() as u64
        };
        let max = line_len * 3 + line_len / 2;
        let (h, task) = AuditHandle::open_with(&path, KEY, rotation(Some(max), None)).await.unwrap();
        // Some records one at a time, some in one batch: rotation may fall inside a batch.
        for i in 0..5 {
            h.record(sample(i));
            h.flush().await;
        }
        for i in 5..20 {
            h.record(sample(i));
        }
        task.shutdown().await;
        let set = set_of(dir.path());
        assert!(set.files.len() >= 6, "{set:?}");
        assert_eq!(set.files.last().unwrap().path, path);
        let mut next = 1;
        for f in &set.files {
            let ls = lines(&f.path);
            let len = std::fs::metadata(&f.path).unwrap().len();
            assert!(len <= max, "{} holds {len} bytes", f.path.display());
            let first: serde_json::Value = serde_json::from_str(&ls[0]).unwrap();
            assert_eq!(first["seq"], next);
            if let Some(r) = &f.rotated {
                assert_eq!(r.first_seq, next);
                assert_eq!(ls.len(), 3, "{}", f.path.display());
            }
            next += ls.len() as u64;
        }
        assert_eq!(next, 21);
        let rep = super::super::verify_set(&set, Some(KEY)).unwrap();
        assert_eq!((rep.records, rep.last_seq), (20, Some(20)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[tokio::test]
    async fn a_record_larger_than_the_limit_gets_a_file_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let (h, task) = AuditHandle::open_with(&path, KEY, rotation(Some(100), None)).await.unwrap();
        for i in 0..3 {
            h.record(sample(i));
        }
        task.shutdown().await;
        let set = set_of(dir.path());
        assert_eq!(set.files.len(), 3);
        assert!(set.files.iter().all(|f| lines(&f.path).len() == 1));
        assert_eq!(super::super::verify_set(&set, Some(KEY)).unwrap().records, 3);
    }

    #[tokio::test]
    async fn rotation_by_age_uses_the_first_record_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("veil-audit.jsonl");
        let hour = Duration::from_secs(3600);
        let old = |i| {
            let mut r = sample(i);
            r.time = (Utc::now() - chrono::Duration::hours(2)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            r
        };
        let (h, task) = AuditHandle::open_with(&path, KEY, rotation(None, Some(hour))).await.unwrap();
        h.record(old(1));
        h.flush().await;
        h.record(sample(2)); // the file's first record is 2 h old: rotate first
        h.flush().await;
        h.record(sample(3)); // the new file's first record is new: no rotation
        task.shutdown().await;
        let set = set_of(dir.path());
        assert_eq!(set.files.len(), 2, "{set:?}");
        assert_eq!(lines(&set.files[0].path).len(), 1);
        assert_eq!(lines(&path).len(), 2);
        // The rotated name carries the first record's time.
        let r = set.files[0].rotated.as_ref().unwrap();
        let want = (Utc::now() - chrono::Duration::hours(2)).format("%Y-%m-%dT%H").to_string();
        assert!(r.time.starts_with(&want), "{r:?}");
        // Reopening an old file rotates at the next record, too.
        let (h, task) =
            AuditHandle::open_with(&path, KEY, rotation(None, Some(Duration::from_millis(1)))).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        h.record(sample(4));
        task.shutdown().await;
        let set = set_of(dir.path());
        assert_eq!(set.files.len(), 3);
        assert_eq!(super::super::verify_set(&set, Some(KEY)).unwrap().records, 4);
    }

    #[tokio::test]
    async fn an_empty_active_file_continues_the_rotated_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("veil-audit.jsonl");
        let (h, task) = AuditHandle::open_with(&path, KEY, rotation(Some(1), None)).await.unwrap();
        for i in 0..3 {
            h.record(sample(i));
        }
        task.shutdown().await;
        // A crash right after a rotation: the new file is empty, or not there at all.
        std::fs::write(&path, "").unwrap();
        let (h, task) = AuditHandle::open(&path, KEY).await.unwrap();
        h.record(sample(3));
        task.shutdown().await;
        let v: serde_json::Value = serde_json::from_str(&lines(&path)[0]).unwrap();
        assert_eq!(v["seq"], 3);
        std::fs::rename(&path, dir.path().join("moved-away")).unwrap();
        let (h, task) = AuditHandle::open(&path, KEY).await.unwrap();
        h.record(sample(4));
        task.shutdown().await;
        std::fs::remove_file(dir.path().join("moved-away")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&lines(&path)[0]).unwrap();
        assert_eq!(v["seq"], 3, "the newest rotated file ends at seq 2");
        // Without rotated files an empty log starts at 1, as before.
        let other = dir.path().join("other.jsonl");
        let (h, task) = AuditHandle::open(&other, KEY).await.unwrap();
        h.record(sample(1));
        task.shutdown().await;
        assert_eq!(serde_json::from_str::<serde_json::Value>(&lines(&other)[0]).unwrap()["seq"], 1);
    }

    #[tokio::test]
    async fn torn_last_line_with_rotation_is_cut_and_the_set_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("veil-audit.jsonl");
        let rot = rotation(Some(2500), None);
        let (h, task) = AuditHandle::open_with(&path, KEY, rot).await.unwrap();
        for i in 0..6 {
            h.record(sample(i));
        }
        task.shutdown().await;
        let before = std::fs::read(&path).unwrap();
        let mut torn = before.clone();
        torn.extend_from_slice(b"{\"seq\":7,\"time\":\"20");
        std::fs::write(&path, &torn).unwrap();
        let (h, task) = AuditHandle::open_with(&path, KEY, rot).await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), before, "only the torn line is cut off");
        for i in 6..12 {
            h.record(sample(i));
        }
        task.shutdown().await;
        let set = set_of(dir.path());
        assert!(set.files.len() >= 3, "{set:?}");
        assert_eq!(super::super::verify_set(&set, Some(KEY)).unwrap().records, 12);
    }

    #[test]
    fn a_failed_rotation_drops_nothing_and_is_retried_later() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("veil-audit.jsonl");
        let mut w = Writer::open(path.clone(), AuditKey::new(KEY), rotation(Some(1), None)).unwrap();
        let drops = Drops { path: path.clone(), unlogged: AtomicU64::new(0), last_log: Mutex::new(None) };
        w.write_batch(vec![sample(1)], &drops);
        // Someone removed the log under veil: the rename fails.
        std::fs::remove_file(&path).unwrap();
        w.write_batch(vec![sample(2), sample(3)], &drops);
        assert_eq!(drops.unlogged.load(Ordering::Relaxed), 0, "no record is dropped");
        assert_eq!(w.seq, 3);
        assert!(w.retry_rotation_at.is_some_and(|t| t > Instant::now()));
        // Until the retry time, writing goes on without trying again.
        w.write_batch(vec![sample(4)], &drops);
        assert_eq!(w.seq, 4);
        assert!(!path.exists());
    }
}
