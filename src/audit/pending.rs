//! A request's audit record while the request runs (steps 1 to 5 of the request flow):
//! handlers fill it in as they go, and it is written when finished or, if the request
//! future is dropped first (the client went away) or panics, when it is dropped. So every
//! request gets exactly one record, cancelled ones included.

use super::{outcome, AuditHandle, AuditRecord};
use std::time::Instant;

/// Status recorded for a request the client abandoned (nginx's "client closed request").
pub const STATUS_CLIENT_CLOSED: u16 = 499;

/// An audit record that is written exactly once: by [`PendingRecord::finish`] or on drop.
#[derive(Debug)]
pub struct PendingRecord {
    handle: AuditHandle,
    rec: AuditRecord,
    sent: bool,
    started: Instant,
}

impl AuditHandle {
    /// Starts the record of a request; the total latency counts from now.
    pub fn start(&self, rec: AuditRecord) -> PendingRecord {
        PendingRecord {
            handle: self.clone(),
            rec,
            sent: false,
            started: Instant::now(),
        }
    }
}

impl PendingRecord {
    /// The record, to fill in.
    pub fn record(&mut self) -> &mut AuditRecord {
        &mut self.rec
    }

    /// Milliseconds since [`AuditHandle::start`].
    pub fn elapsed_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    /// Writes the record as filled in. A total latency left at 0 is set to the time since
    /// `start`.
    pub fn finish(mut self) {
        self.send();
    }

    fn send(&mut self) {
        if self.sent {
            return;
        }
        self.sent = true;
        let mut rec = std::mem::take(&mut self.rec);
        if rec.latency_ms.total == 0.0 {
            rec.latency_ms.total = self.elapsed_ms();
        }
        self.handle.record(rec);
    }
}

impl Drop for PendingRecord {
    /// Not finished: the client went away (outcome `cancelled`, status 499) or the handler
    /// panicked (outcome `error`, error kind `panic`).
    fn drop(&mut self) {
        if !self.sent {
            let rec = &mut self.rec;
            if std::thread::panicking() {
                rec.outcome = outcome::ERROR.to_string();
                rec.error_kind = Some("panic".to_string());
                if rec.status == 0 {
                    rec.status = 500;
                }
            } else {
                rec.outcome = outcome::CANCELLED.to_string();
                rec.error_kind
                    .get_or_insert_with(|| "client_cancelled".to_string());
                rec.status = STATUS_CLIENT_CLOSED;
            }
            self.send();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample;
    use super::super::verify;
    use super::*;

    async fn read(path: &std::path::Path) -> Vec<AuditRecord> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn finished_cancelled_and_panicked_requests_each_get_one_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let (h, task) = AuditHandle::open(&path, b"k").await.unwrap();

        let mut p = h.start(sample(1));
        p.record().latency_ms.total = 0.0;
        p.record().outcome = outcome::OK.to_string();
        p.finish();

        // A request future dropped mid-way (client disconnect).
        let fut = {
            let h = h.clone();
            async move {
                let _p = h.start(sample(2));
                std::future::pending::<()>().await;
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_millis(10), fut).await;

        // A handler that panics.
        let h2 = h.clone();
        let r = tokio::spawn(async move {
            let mut p = h2.start(sample(3));
            p.record().status = 0;
            panic!("boom");
        })
        .await;
        assert!(r.is_err());

        task.shutdown().await;
        let recs = read(&path).await;
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].outcome, "ok");
        assert!(recs[0].latency_ms.total >= 0.0);
        assert_eq!(
            (recs[1].outcome.as_str(), recs[1].status),
            ("cancelled", 499)
        );
        assert_eq!(recs[1].error_kind.as_deref(), Some("client_cancelled"));
        assert_eq!((recs[2].outcome.as_str(), recs[2].status), ("error", 500));
        assert_eq!(recs[2].error_kind.as_deref(), Some("panic"));
        assert_eq!(verify(&path, Some(b"k")).unwrap().records, 3);
    }
}
