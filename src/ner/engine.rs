//! The inference engine: one dedicated thread owns the model and serves a bounded queue.
//! It drains whatever is queued into one batch (by requests and tokens), runs windows of
//! similar length together, and answers each job through a oneshot channel. Nothing here
//! runs on tokio worker threads; a full queue refuses at once; jobs whose caller went away
//! are dropped before they cost any compute.

use super::labels::{self, Group, LabelScheme, Prediction};
use super::model::TokenClassifier;
use super::tokenize::{best_window, windows, Encoded, TextTokenizer, Window};
use crate::mask::{Entity, Label};
use crate::telemetry::metrics as m;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Tuning of the queue and batching (`[detect]` keys in the config).
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Jobs (requests) that may wait; beyond this, detection is refused (503).
    pub queue_capacity: usize,
    /// Padded tokens in one forward pass.
    pub max_batch_tokens: usize,
    /// Jobs in one batch.
    pub max_batch_requests: usize,
    /// How long the worker waits for more jobs when it is already under concurrent load.
    pub max_batch_wait: Duration,
    /// Text tokens per window (special tokens come on top); 0 = the model's limit.
    pub window: usize,
    /// Tokens shared by neighbouring windows.
    pub overlap: usize,
    /// Model spans scoring below this are dropped; `None`: the model's `veil_min_score`
    /// (calibrated when it was trained), else 0.5.
    pub min_score: Option<f32>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            queue_capacity: 1024,
            max_batch_tokens: 8192,
            max_batch_requests: 64,
            max_batch_wait: Duration::from_millis(2),
            window: 0,
            overlap: 32,
            min_score: None,
        }
    }
}

pub type JobResult = Result<Vec<Vec<Entity>>, String>;

struct Job {
    texts: Vec<String>,
    reply: oneshot::Sender<JobResult>,
}

/// Why a job could not be queued.
#[derive(Debug, PartialEq)]
pub enum SubmitError {
    Full,
    Stopped,
}

/// Handle to the inference thread; cheap to share.
pub struct Engine {
    tx: SyncSender<Job>,
    depth: Arc<AtomicUsize>,
}

/// What the worker needs besides the queue.
pub struct Worker {
    pub model: TokenClassifier,
    pub tokenizer: TextTokenizer,
    pub scheme: LabelScheme,
    /// CONTRACT label per entity type of the scheme (`None`: ignored).
    pub labels: Vec<Option<Label>>,
    pub options: EngineOptions,
    /// Text tokens per window.
    pub body: usize,
    /// Model spans scoring below this are dropped.
    pub min_score: f32,
}

impl Engine {
    /// Starts the inference thread.
    pub fn start(worker: Worker) -> std::io::Result<Engine> {
        let (tx, rx) = sync_channel::<Job>(worker.options.queue_capacity.max(1));
        let depth = Arc::new(AtomicUsize::new(0));
        let d = depth.clone();
        std::thread::Builder::new().name("veil-ner".into()).spawn(move || worker.run(rx, d))?;
        Ok(Engine { tx, depth })
    }

    /// Queues `texts`; the receiver yields one entity list per text.
    pub fn submit(&self, texts: Vec<String>) -> Result<oneshot::Receiver<JobResult>, SubmitError> {
        let (reply, rx) = oneshot::channel();
        // Count first so the worker never sees a negative depth.
        let depth = self.depth.fetch_add(1, Ordering::AcqRel) + 1;
        match self.tx.try_send(Job { texts, reply }) {
            Ok(()) => {
                metrics::gauge!(m::NER_QUEUE_DEPTH).set(depth as f64);
                Ok(rx)
            }
            Err(e) => {
                self.depth.fetch_sub(1, Ordering::AcqRel);
                metrics::counter!(m::NER_REJECTED).increment(1);
                Err(match e {
                    TrySendError::Full(_) => SubmitError::Full,
                    TrySendError::Disconnected(_) => SubmitError::Stopped,
                })
            }
        }
    }
}

/// One window of one text of one job, ready for the model.
struct Row {
    job: usize,
    text: usize,
    window: usize,
    ids: Vec<u32>,
    types: Vec<u32>,
}

impl Worker {
    fn run(self, rx: Receiver<Job>, depth: Arc<AtomicUsize>) {
        let mut busy = false;
        while let Ok(first) = rx.recv() {
            let mut jobs = vec![first];
            let mut bytes: usize = jobs[0].texts.iter().map(String::len).sum();
            // Drain what is queued; under concurrent load also wait briefly for more.
            let deadline = Instant::now() + if busy { self.options.max_batch_wait } else { Duration::ZERO };
            while jobs.len() < self.options.max_batch_requests && bytes / 3 < self.options.max_batch_tokens {
                let next = match rx.try_recv() {
                    Ok(j) => Some(j),
                    Err(_) => match deadline.checked_duration_since(Instant::now()) {
                        Some(left) if !left.is_zero() => rx.recv_timeout(left).ok(),
                        _ => None,
                    },
                };
                let Some(j) = next else { break };
                bytes += j.texts.iter().map(String::len).sum::<usize>();
                jobs.push(j);
            }
            let left = depth.fetch_sub(jobs.len(), Ordering::AcqRel).saturating_sub(jobs.len());
            metrics::gauge!(m::NER_QUEUE_DEPTH).set(left as f64);
            // Callers that went away (client disconnected, request cancelled) cost nothing.
            jobs.retain(|j| !j.reply.is_closed());
            busy = jobs.len() > 1 || left > 0;
            if jobs.is_empty() {
                continue;
            }
            metrics::histogram!(m::NER_BATCH_REQUESTS).record(jobs.len() as f64);
            let texts: Vec<Vec<&str>> = jobs.iter().map(|j| j.texts.iter().map(String::as_str).collect()).collect();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.detect_batch(&texts)));
            let result = match result {
                Ok(r) => r,
                Err(_) => Err("inference panicked".to_string()),
            };
            match result {
                Ok(per_job) => {
                    for (job, ents) in jobs.into_iter().zip(per_job) {
                        let _ = job.reply.send(Ok(ents));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "NER inference failed; the batch's requests are refused");
                    for job in jobs {
                        let _ = job.reply.send(Err(e.clone()));
                    }
                }
            }
        }
    }

    /// Entities for every text of every job.
    pub fn detect_batch(&self, jobs: &[Vec<&str>]) -> Result<Vec<Vec<Vec<Entity>>>, String> {
        let mut encoded: Vec<Vec<(Encoded, Vec<Window>)>> = Vec::with_capacity(jobs.len());
        let mut rows: Vec<Row> = Vec::new();
        for (j, texts) in jobs.iter().enumerate() {
            let mut per_text = Vec::with_capacity(texts.len());
            for (t, text) in texts.iter().enumerate() {
                let enc = self.tokenizer.encode(text).map_err(|e| e.to_string())?;
                let ws = if enc.ids.is_empty() {
                    Vec::new()
                } else {
                    windows(enc.ids.len(), self.body, self.options.overlap)
                };
                for (k, w) in ws.iter().enumerate() {
                    let (ids, types) = self.tokenizer.window_input(&enc, w);
                    rows.push(Row { job: j, text: t, window: k, ids, types });
                }
                per_text.push((enc, ws));
            }
            encoded.push(per_text);
        }
        // predictions[job][text][window] = one Prediction per text token of the window
        let mut preds: Vec<Vec<Vec<Vec<Prediction>>>> =
            encoded.iter().map(|texts| texts.iter().map(|(_, ws)| vec![Vec::new(); ws.len()]).collect()).collect();
        rows.sort_by_key(|r| r.ids.len());
        let offset = self.tokenizer.text_offset();
        let mut i = 0;
        while i < rows.len() {
            // Rows are sorted by length, so the last row of a chunk sets its padded width.
            let mut n = 1;
            while i + n < rows.len() && (n + 1) * rows[i + n].ids.len() <= self.options.max_batch_tokens {
                n += 1;
            }
            let chunk = &rows[i..i + n];
            let inputs: Vec<(Vec<u32>, Vec<u32>)> = chunk.iter().map(|r| (r.ids.clone(), r.types.clone())).collect();
            let width = chunk.iter().map(|r| r.ids.len()).max().unwrap_or(0);
            let started = Instant::now();
            let logits = self.model.forward(&inputs).map_err(|e| format!("model forward: {e}"))?;
            let logits = logits.to_vec3::<f32>().map_err(|e| format!("model output: {e}"))?;
            let took = started.elapsed().as_secs_f64();
            let real: usize = chunk.iter().map(|r| r.ids.len()).sum();
            metrics::histogram!(m::NER_INFERENCE_SECONDS).record(took);
            metrics::histogram!(m::NER_BATCH_WINDOWS).record(n as f64);
            metrics::histogram!(m::NER_BATCH_TOKENS).record((n * width) as f64);
            metrics::counter!(m::NER_TOKENS_TOTAL).increment(real as u64);
            for (r, rows_logits) in chunk.iter().zip(logits) {
                let text_tokens = r.ids.len() - self.tokenizer.special_count();
                let p = rows_logits[offset..offset + text_tokens].iter().map(|l| softmax_argmax(l)).collect();
                preds[r.job][r.text][r.window] = p;
            }
            i += n;
        }
        let mut out = Vec::with_capacity(jobs.len());
        for (j, texts) in jobs.iter().enumerate() {
            let mut per_text = Vec::with_capacity(texts.len());
            for (t, text) in texts.iter().enumerate() {
                let (enc, ws) = &encoded[j][t];
                let merged: Vec<Prediction> = (0..enc.ids.len())
                    .map(|tok| {
                        let k = best_window(ws, tok);
                        preds[j][t][k][tok - ws[k].start]
                    })
                    .collect();
                let groups = labels::group(&self.scheme, &enc.tokens, &merged);
                per_text.push(self.to_entities(text, groups));
            }
            out.push(per_text);
        }
        Ok(out)
    }

    /// Maps groups to CONTRACT labels, drops low scores and ignored types, and joins
    /// neighbours that map to the same label but were different model types (FIRSTNAME +
    /// LASTNAME → one PERSON), so one value gets one placeholder.
    fn to_entities(&self, text: &str, groups: Vec<Group>) -> Vec<Entity> {
        let mut out: Vec<(Entity, usize)> = Vec::with_capacity(groups.len());
        for g in groups {
            if g.score < self.min_score {
                continue;
            }
            let Some(label) = self.labels[g.entity] else { continue };
            if let Some((prev, prev_type)) = out.last_mut() {
                let gap = &text[prev.end.min(g.start)..g.start];
                if prev.label == label && *prev_type != g.entity && gap.chars().all(char::is_whitespace) {
                    prev.end = g.end;
                    prev.score = prev.score.min(g.score);
                    *prev_type = g.entity;
                    continue;
                }
            }
            out.push((Entity { start: g.start, end: g.end, label, score: g.score, detector: "ner" }, g.entity));
        }
        out.into_iter().map(|(e, _)| e).collect()
    }
}

fn softmax_argmax(logits: &[f32]) -> Prediction {
    let (class, max) =
        logits.iter().enumerate().fold((0, f32::NEG_INFINITY), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
    let sum: f32 = logits.iter().map(|&v| (v - max).exp()).sum();
    Prediction { class, score: 1.0 / sum }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_argmax_picks_the_max_and_its_probability() {
        let p = softmax_argmax(&[0.0, 2.0, 0.0]);
        assert_eq!(p.class, 1);
        let e2 = 2f32.exp();
        assert!((p.score - e2 / (e2 + 2.0)).abs() < 1e-6);
    }
}
