//! The audit writer (step 5 of the request flow): request handlers hand finished
//! [`AuditRecord`]s to [`AuditHandle::record`] without blocking; one writer task per log
//! assigns `seq`, chains the hashes, appends whole lines in batches and fsyncs.

use super::key::{sync_parent_dir, AuditKey};
use super::{chain_hash, chain_mac, is_hex64, mac_matches, split_line, AuditError, AuditRecord, ZERO_HASH};
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
        metrics::counter!("gateway_audit_dropped_total").increment(n);
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
    /// by a crash is cut off with a warning) and spawns the writer task.
    pub async fn open(path: &Path, key: &[u8]) -> Result<(AuditHandle, AuditWriterTask), AuditError> {
        let owned = path.to_path_buf();
        let key = AuditKey::new(key);
        let writer = tokio::task::spawn_blocking(move || Writer::open(owned, key))
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
    /// or the writer is gone, the record is dropped: `gateway_audit_dropped_total` counts
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
}

impl Writer {
    fn open(path: PathBuf, key: AuditKey) -> Result<Writer, AuditError> {
        let io = |op: &'static str| {
            let path = path.clone();
            move |source| AuditError::Io { path, op, source }
        };
        let existed = path.exists();
        let mut opts = std::fs::OpenOptions::new();
        opts.read(true).append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut file = opts.open(&path).map_err(io("open"))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(AuditError::Locked { path }),
            Err(std::fs::TryLockError::Error(e)) => return Err(io("lock")(e)),
        }
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
        let (seq, prev_hash) = match last {
            None => (0, ZERO_HASH.to_string()),
            Some(line) => check_tail(&path, &line, key.as_bytes())?,
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
        })
    }

    /// Writes a batch with one `write_all`; returns the emptied vector for reuse.
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
        let (seq0, prev0) = (self.seq, self.prev_hash.clone());
        let mut lines = 0u64;
        for mut rec in recs.drain(..) {
            tidy(&mut rec);
            match encode_line(self.seq + 1, &self.prev_hash, &rec, self.key.as_bytes(), &mut self.buf) {
                Ok(hash) => {
                    self.seq += 1;
                    self.prev_hash = hash;
                    lines += 1;
                }
                Err(e) => {
                    tracing::error!(request_id = %rec.request_id, "cannot encode an audit record: {e}");
                    drops.dropped(1, "an audit record could not be encoded");
                }
            }
        }
        if self.buf.is_empty() {
            return recs;
        }
        match self.file.write_all(&self.buf).and_then(|()| self.file.flush()) {
            Ok(()) => self.len += self.buf.len() as u64,
            Err(e) => {
                tracing::error!(audit_log = %self.path.display(), "cannot append to the audit log: {e}");
                drops.dropped(lines, "the audit log cannot be written");
                self.seq = seq0;
                self.prev_hash = prev0;
                self.needs_truncate = true;
                if self.file.set_len(self.len).is_ok() {
                    self.needs_truncate = false;
                }
            }
        }
        recs
    }

    fn sync(&mut self) {
        if let Err(e) = self.file.sync_data() {
            tracing::error!(audit_log = %self.path.display(), "cannot fsync the audit log: {e}");
        }
    }
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
}
