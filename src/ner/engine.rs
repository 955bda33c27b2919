//! The inference engine: threads that own the model and serve a bounded queue. Nothing here
//! runs on tokio worker threads; a full queue refuses at once; jobs whose caller went away
//! are dropped before they cost any compute; a panic fails the job, not the process.
//!
//! Two designs, by backend:
//! - **fast CPU path** ([`super::fast`], BERT-family models on CPU): `threads` workers, each
//!   single-threaded. A worker takes a job, tokenizes it and queues its windows; every worker
//!   takes windows (a fair share of those queued, stacked into one forward pass). So the
//!   windows of one long request run in parallel, and under load the workers run different
//!   requests' windows side by side. The worker that finishes a job's last window merges the
//!   windows and answers.
//! - **candle** (CUDA devices, DeBERTa-v2): one thread drains whatever is queued into one
//!   batch (by requests and tokens) and runs windows of similar length together, padded.

use super::fast::{FastModel, Scratch};
use super::labels::{self, ClassKind, Group, LabelScheme, Prediction};
use super::lexicon::NameLexicon;
use super::model::TokenClassifier;
use super::tokenize::{best_window, windows, Encoded, TextTokenizer, Window};
use crate::mask::{Entity, Kind, Label};
use crate::telemetry::metrics as m;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Tokens one fast-path forward pass stacks at most (4 windows of 128): enough to amortise
/// the weight packing of the matmuls, small enough to keep a pass (and the scratch) short.
const FAST_BATCH_TOKENS: usize = 512;

// The tuning lives with the rest of the settings (config does not depend on ner).
pub use crate::config::{default_threads, EngineOptions};

pub type JobResult = Result<Vec<Vec<Entity>>, String>;

struct Job {
    texts: Vec<String>,
    reply: oneshot::Sender<JobResult>,
    /// When it was queued, and the span that gets its queue time (telemetry).
    queued: (Instant, tracing::Span),
}

/// Why a job could not be queued.
#[derive(Debug, PartialEq)]
pub enum SubmitError {
    Full,
    Stopped,
}

/// Handle to the inference threads; cheap to share. Dropping it stops them once the
/// queued work is done.
pub struct Engine {
    queue: Queue,
}

enum Queue {
    /// candle: one batching thread behind a bounded channel.
    Batching { tx: SyncSender<Job>, depth: Arc<AtomicUsize> },
    /// Fast CPU path: a pool of single-threaded workers.
    Pool(Arc<Pool>),
}

/// Which forward pass a [`Worker`] runs.
pub enum Backend {
    /// candle: CUDA devices and DeBERTa-v2; padded batches on one thread.
    Candle(TokenClassifier),
    /// The hand-written f32 encoder: BERT-family models on CPU.
    Fast(FastModel),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Candle(_) => "candle",
            Backend::Fast(_) => "fast-cpu",
        }
    }
}

/// What the workers need besides the queue.
pub struct Worker {
    pub backend: Backend,
    pub tokenizer: TextTokenizer,
    pub scheme: LabelScheme,
    /// docs/interface.md label per entity type of the scheme (`None`: ignored).
    pub labels: Vec<Option<Label>>,
    pub options: EngineOptions,
    /// Text tokens per window.
    pub body: usize,
    /// Model spans scoring below this are dropped ...
    pub min_score: f32,
    /// ... or below this for their label (the model's `veil_label_min_score`).
    pub label_min_score: Vec<(Label, f32)>,
    /// The model folder's name list, unless `[detect] name_lexicon = false`.
    pub lexicon: Option<NameLexicon>,
}

impl Engine {
    /// Starts the inference thread(s): `options.threads` workers for the fast CPU path, one
    /// batching thread for candle.
    pub fn start(worker: Worker) -> std::io::Result<Engine> {
        let capacity = worker.options.queue_capacity.max(1);
        if matches!(worker.backend, Backend::Candle(_)) {
            let (tx, rx) = sync_channel::<Job>(capacity);
            let depth = Arc::new(AtomicUsize::new(0));
            let d = depth.clone();
            std::thread::Builder::new().name("veil-ner".into()).spawn(move || worker.run(rx, d))?;
            return Ok(Engine { queue: Queue::Batching { tx, depth } });
        }
        let threads = worker.options.threads.max(1);
        let pool = Arc::new(Pool { state: Mutex::new(PoolState::default()), ready: Condvar::new(), capacity, threads });
        let worker = Arc::new(worker);
        for i in 0..threads {
            let (w, p) = (worker.clone(), pool.clone());
            let spawned = std::thread::Builder::new().name(format!("veil-ner-{i}")).spawn(move || w.serve(&p));
            if let Err(e) = spawned {
                pool.stop();
                return Err(e);
            }
        }
        Ok(Engine { queue: Queue::Pool(pool) })
    }

    /// Queues `texts`; the receiver yields one entity list per text.
    pub fn submit(&self, texts: Vec<String>) -> Result<oneshot::Receiver<JobResult>, SubmitError> {
        let (reply, rx) = oneshot::channel();
        let job = Job { texts, reply, queued: (Instant::now(), crate::telemetry::spans::ner_queue_span()) };
        let refused = match &self.queue {
            Queue::Batching { tx, depth } => {
                // Count first so the worker never sees a negative depth.
                let d = depth.fetch_add(1, Ordering::AcqRel) + 1;
                match tx.try_send(job) {
                    Ok(()) => {
                        metrics::gauge!(m::NER_QUEUE_DEPTH).set(d as f64);
                        return Ok(rx);
                    }
                    Err(e) => {
                        depth.fetch_sub(1, Ordering::AcqRel);
                        match e {
                            TrySendError::Full(_) => SubmitError::Full,
                            TrySendError::Disconnected(_) => SubmitError::Stopped,
                        }
                    }
                }
            }
            Queue::Pool(pool) => match pool.push(job) {
                Ok(()) => return Ok(rx),
                Err(e) => e,
            },
        };
        metrics::counter!(m::NER_REJECTED).increment(1);
        Err(refused)
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // The batching thread stops when its channel closes; the pool needs telling.
        if let Queue::Pool(pool) = &self.queue {
            pool.stop();
        }
    }
}

/// The fast path's shared queue: jobs not yet tokenized, and windows ready to run.
struct Pool {
    state: Mutex<PoolState>,
    /// Signalled when a job or windows are queued, and on stop.
    ready: Condvar,
    capacity: usize,
    threads: usize,
}

#[derive(Default)]
struct PoolState {
    jobs: VecDeque<Job>,
    windows: VecDeque<Task>,
    stopped: bool,
}

/// What a pool worker does next.
enum Work {
    Job(Job),
    Windows(Vec<Task>),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; a poisoned one still holds consistent data.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Pool {
    fn push(&self, job: Job) -> Result<(), SubmitError> {
        let mut s = lock(&self.state);
        if s.stopped {
            return Err(SubmitError::Stopped);
        }
        if s.jobs.len() >= self.capacity {
            return Err(SubmitError::Full);
        }
        s.jobs.push_back(job);
        metrics::gauge!(m::NER_QUEUE_DEPTH).set(s.jobs.len() as f64);
        drop(s);
        self.ready.notify_one();
        Ok(())
    }

    fn stop(&self) {
        lock(&self.state).stopped = true;
        self.ready.notify_all();
    }

    /// Queues the windows of a tokenized job and wakes the workers for them.
    fn push_windows(&self, tasks: Vec<Task>) {
        let n = tasks.len();
        lock(&self.state).windows.extend(tasks);
        if n > 1 {
            self.ready.notify_all();
        } else {
            self.ready.notify_one();
        }
    }

    /// Blocks until there is work; `None` once stopped and drained.
    fn next(&self) -> Option<Work> {
        let mut s = lock(&self.state);
        loop {
            // Windows first, so started jobs finish before new ones start; but tokenize the
            // next job when fewer windows are queued than there are workers, so that every
            // worker has something to run.
            if s.windows.len() >= self.threads || (!s.windows.is_empty() && s.jobs.is_empty()) {
                // A fair share of what is queued (one job's windows spread over the workers),
                // stacked up to FAST_BATCH_TOKENS.
                let share = s.windows.len().div_ceil(self.threads);
                let mut batch = Vec::with_capacity(share);
                let mut tokens = 0;
                while batch.len() < share {
                    let Some(len) = s.windows.front().map(|t| t.ids.len()) else { break };
                    if !batch.is_empty() && tokens + len > FAST_BATCH_TOKENS {
                        break;
                    }
                    tokens += len;
                    batch.extend(s.windows.pop_front());
                }
                return Some(Work::Windows(batch));
            }
            if let Some(job) = s.jobs.pop_front() {
                metrics::gauge!(m::NER_QUEUE_DEPTH).set(s.jobs.len() as f64);
                return Some(Work::Job(job));
            }
            if s.stopped {
                return None;
            }
            s = self.ready.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// A tokenized job of the fast path, answered by whichever worker finishes its last window.
struct Pending {
    texts: Vec<String>,
    encoded: Vec<TextWindows>,
    /// `[text][window]`: one prediction per text token of the window.
    preds: Mutex<Vec<Vec<Vec<Prediction>>>>,
    /// Windows not yet predicted.
    left: AtomicUsize,
    /// Taken by the answer (or the failure).
    reply: Mutex<Option<oneshot::Sender<JobResult>>>,
}

impl Pending {
    /// The caller went away, or an earlier window failed and answered already.
    fn is_abandoned(&self) -> bool {
        lock(&self.reply).as_ref().is_none_or(oneshot::Sender::is_closed)
    }

    fn answer(&self, result: JobResult) {
        if let Some(tx) = lock(&self.reply).take() {
            let _ = tx.send(result);
        }
    }
}

/// One window of a [`Pending`] job.
struct Task {
    job: Arc<Pending>,
    text: usize,
    window: usize,
    ids: Vec<u32>,
    types: Vec<u32>,
}

/// A tokenized text and its windows.
type TextWindows = (Encoded, Vec<Window>);

/// One window of one text of one job, ready for the model.
struct Row {
    job: usize,
    text: usize,
    window: usize,
    ids: Vec<u32>,
    types: Vec<u32>,
}

fn panic_message(_: Box<dyn std::any::Any + Send>) -> String {
    "inference panicked".to_string()
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
            for j in &jobs {
                crate::telemetry::spans::ner_dequeued(&j.queued.1, j.queued.0); // telemetry
            }
            busy = jobs.len() > 1 || left > 0;
            if jobs.is_empty() {
                continue;
            }
            metrics::histogram!(m::NER_BATCH_REQUESTS).record(jobs.len() as f64);
            let texts: Vec<Vec<&str>> = jobs.iter().map(|j| j.texts.iter().map(String::as_str).collect()).collect();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.detect_batch(&texts)))
                .unwrap_or_else(|p| Err(panic_message(p)));
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

    /// A pool worker of the fast path: tokenize jobs, run windows, until the engine stops.
    fn serve(&self, pool: &Pool) {
        let Backend::Fast(model) = &self.backend else {
            unreachable!("a pool worker without the fast model; this is a bug")
        };
        let longest = self.body + self.tokenizer.special_count();
        let mut scratch = Scratch::new(model, FAST_BATCH_TOKENS.max(longest), longest);
        while let Some(work) = pool.next() {
            match work {
                Work::Job(job) => self.split(job, pool),
                Work::Windows(tasks) => self.run_windows(tasks, &mut scratch),
            }
        }
    }

    /// Tokenizes a job and queues its windows (or answers at once when it has none).
    fn split(&self, job: Job, pool: &Pool) {
        // Callers that went away (client disconnected, request cancelled) cost nothing.
        if job.reply.is_closed() {
            return;
        }
        crate::telemetry::spans::ner_dequeued(&job.queued.1, job.queued.0); // telemetry
        let texts: Vec<&str> = job.texts.iter().map(String::as_str).collect();
        let encoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.encode_texts(&texts)))
            .unwrap_or_else(|p| Err(panic_message(p)));
        let (encoded, rows) = match encoded {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "NER tokenization failed; the request is refused");
                let _ = job.reply.send(Err(e));
                return;
            }
        };
        let preds = encoded.iter().map(|(_, ws)| vec![Vec::new(); ws.len()]).collect();
        let pending = Arc::new(Pending {
            texts: job.texts,
            encoded,
            preds: Mutex::new(preds),
            left: AtomicUsize::new(rows.len()),
            reply: Mutex::new(Some(job.reply)),
        });
        if rows.is_empty() {
            self.finish(&pending);
            return;
        }
        let tasks = rows
            .into_iter()
            .map(|r| Task { job: pending.clone(), text: r.text, window: r.window, ids: r.ids, types: r.types })
            .collect();
        pool.push_windows(tasks);
    }

    /// Runs some windows in one forward pass; answers the jobs whose last window this was.
    fn run_windows(&self, mut tasks: Vec<Task>, scratch: &mut Scratch) {
        tasks.retain(|t| !t.job.is_abandoned());
        if tasks.is_empty() {
            return;
        }
        let mut jobs: Vec<*const Pending> = tasks.iter().map(|t| Arc::as_ptr(&t.job)).collect();
        jobs.dedup();
        metrics::histogram!(m::NER_BATCH_REQUESTS).record(jobs.len() as f64);
        let rows: Vec<(&[u32], &[u32])> = tasks.iter().map(|t| (t.ids.as_slice(), t.types.as_slice())).collect();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.infer(&rows, scratch)))
            .unwrap_or_else(|p| Err(panic_message(p)));
        match result {
            Ok(preds) => {
                for (task, p) in tasks.iter().zip(preds) {
                    lock(&task.job.preds)[task.text][task.window] = p;
                    if task.job.left.fetch_sub(1, Ordering::AcqRel) == 1 {
                        self.finish(&task.job);
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "NER inference failed; the batch's requests are refused");
                for task in &tasks {
                    task.job.answer(Err(e.clone()));
                }
            }
        }
    }

    /// Merges a job's windows into entities and answers it.
    fn finish(&self, job: &Pending) {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let preds = std::mem::take(&mut *lock(&job.preds));
            let mut per_text = job
                .texts
                .iter()
                .zip(&job.encoded)
                .zip(&preds)
                .map(|((text, (enc, ws)), p)| self.entities(text, enc, ws, p))
                .collect::<Vec<_>>();
            super::names::propagate(&job.texts, &mut per_text);
            per_text
        }));
        job.answer(result.map_err(panic_message));
    }

    /// Tokenizes `texts` and cuts their windows; rows carry `job: 0`.
    fn encode_texts(&self, texts: &[&str]) -> Result<(Vec<TextWindows>, Vec<Row>), String> {
        let mut per_text = Vec::with_capacity(texts.len());
        let mut rows = Vec::new();
        for (t, text) in texts.iter().enumerate() {
            let enc = self.tokenizer.encode(text).map_err(|e| e.to_string())?;
            // The fast path's workers share one text's windows: cut a multiple of their number
            // (about the same total work). candle runs one padded batch on one thread.
            let parallel = if matches!(self.backend, Backend::Fast(_)) { self.options.threads } else { 1 };
            let ws = if enc.ids.is_empty() {
                Vec::new()
            } else {
                windows(enc.ids.len(), self.body, self.options.overlap, parallel)
            };
            for (k, w) in ws.iter().enumerate() {
                let (ids, types) = self.tokenizer.window_input(&enc, w);
                rows.push(Row { job: 0, text: t, window: k, ids, types });
            }
            per_text.push((enc, ws));
        }
        Ok((per_text, rows))
    }

    /// One forward pass over `rows` (candle pads them; the fast path stacks them), with its
    /// metrics; one prediction per text token of each row.
    fn infer(&self, rows: &[(&[u32], &[u32])], scratch: &mut Scratch) -> Result<Vec<Vec<Prediction>>, String> {
        let started = Instant::now();
        let offset = self.tokenizer.text_offset();
        let special = self.tokenizer.special_count();
        let real: usize = rows.iter().map(|r| r.0.len()).sum();
        // PERSON probabilities are only needed by the name lexicon.
        let kinds = self.lexicon.as_ref().map_or(&[][..], NameLexicon::kinds);
        let (preds, computed) = match &self.backend {
            Backend::Candle(model) => {
                let inputs: Vec<(Vec<u32>, Vec<u32>)> = rows.iter().map(|(i, t)| (i.to_vec(), t.to_vec())).collect();
                let logits = model.forward(&inputs).map_err(|e| format!("model forward: {e}"))?;
                let logits = logits.to_vec3::<f32>().map_err(|e| format!("model output: {e}"))?;
                let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
                let preds = rows
                    .iter()
                    .zip(logits)
                    .map(|(r, l)| {
                        l[offset..offset + r.0.len() - special].iter().map(|l| softmax_argmax(l, kinds)).collect()
                    })
                    .collect();
                (preds, rows.len() * width)
            }
            Backend::Fast(model) => {
                let logits = model.forward(rows, scratch).map_err(|e| format!("model forward: {e:#}"))?;
                let n = model.labels();
                let mut at = 0;
                let mut preds = Vec::with_capacity(rows.len());
                for (ids, _) in rows {
                    let text = &logits[(at + offset) * n..(at + ids.len() - special + offset) * n];
                    preds.push(text.chunks_exact(n).map(|l| softmax_argmax(l, kinds)).collect());
                    at += ids.len();
                }
                (preds, real)
            }
        };
        metrics::histogram!(m::NER_INFERENCE_SECONDS).record(started.elapsed().as_secs_f64());
        metrics::histogram!(m::NER_BATCH_WINDOWS).record(rows.len() as f64);
        metrics::histogram!(m::NER_BATCH_TOKENS).record(computed as f64);
        metrics::counter!(m::NER_TOKENS_TOTAL).increment(real as u64);
        Ok(preds)
    }

    /// Entities of one text from its windows' predictions (overlaps resolved per token).
    fn entities(&self, text: &str, enc: &Encoded, ws: &[Window], preds: &[Vec<Prediction>]) -> Vec<Entity> {
        let merged: Vec<Prediction> = (0..enc.ids.len())
            .map(|tok| {
                let k = best_window(ws, tok);
                preds[k][tok - ws[k].start]
            })
            .collect();
        let mut words = labels::words(&enc.tokens, &merged);
        if let Some(lexicon) = &self.lexicon {
            lexicon.apply(text, &mut words);
        }
        let groups = labels::group_words(&self.scheme, &words);
        let mut ents = self.to_entities(text, groups);
        super::names::apply(text, &mut ents);
        super::address::apply(text, &mut ents);
        super::scope::apply(text, &mut ents);
        if self.options.public_figures {
            super::scope::allow_public_figures(text, &mut ents);
        }
        ents
    }

    /// Entities for every text of every job, on the calling thread (the candle thread, and
    /// tests).
    pub fn detect_batch(&self, jobs: &[Vec<&str>]) -> Result<Vec<Vec<Vec<Entity>>>, String> {
        let mut encoded: Vec<Vec<TextWindows>> = Vec::with_capacity(jobs.len());
        let mut rows: Vec<Row> = Vec::new();
        for (j, texts) in jobs.iter().enumerate() {
            let (per_text, job_rows) = self.encode_texts(texts)?;
            rows.extend(job_rows.into_iter().map(|r| Row { job: j, ..r }));
            encoded.push(per_text);
        }
        // predictions[job][text][window] = one Prediction per text token of the window
        let mut preds: Vec<Vec<Vec<Vec<Prediction>>>> =
            encoded.iter().map(|texts| texts.iter().map(|(_, ws)| vec![Vec::new(); ws.len()]).collect()).collect();
        rows.sort_by_key(|r| r.ids.len());
        let budget = match self.backend {
            Backend::Candle(_) => self.options.max_batch_tokens,
            Backend::Fast(_) => FAST_BATCH_TOKENS,
        };
        let mut scratch = Scratch::default();
        let mut i = 0;
        while i < rows.len() {
            // Rows are sorted by length, so the last row of a chunk sets its padded width.
            let mut n = 1;
            while i + n < rows.len() && (n + 1) * rows[i + n].ids.len() <= budget {
                n += 1;
            }
            let chunk = &rows[i..i + n];
            let inputs: Vec<(&[u32], &[u32])> = chunk.iter().map(|r| (r.ids.as_slice(), r.types.as_slice())).collect();
            for (r, p) in chunk.iter().zip(self.infer(&inputs, &mut scratch)?) {
                preds[r.job][r.text][r.window] = p;
            }
            i += n;
        }
        let mut out = Vec::with_capacity(jobs.len());
        for (j, texts) in jobs.iter().enumerate() {
            let mut per_text: Vec<Vec<Entity>> = texts
                .iter()
                .enumerate()
                .map(|(t, text)| {
                    let (enc, ws) = &encoded[j][t];
                    self.entities(text, enc, ws, &preds[j][t])
                })
                .collect();
            super::names::propagate(texts, &mut per_text);
            out.push(per_text);
        }
        Ok(out)
    }

    /// Maps groups to docs/interface.md labels, drops low scores and ignored types, and joins
    /// neighbours that map to the same label but were different model types (FIRSTNAME +
    /// LASTNAME → one PERSON), so one value gets one placeholder.
    fn to_entities(&self, text: &str, groups: Vec<Group>) -> Vec<Entity> {
        let mut out: Vec<(Entity, usize)> = Vec::with_capacity(groups.len());
        for g in groups {
            let Some(label) = self.labels[g.entity] else { continue };
            let min = self.label_min_score.iter().find(|(l, _)| *l == label).map_or(self.min_score, |(_, m)| *m);
            if g.score < min {
                continue;
            }
            let Some((start, end)) = trim_span(text, g.start, g.end, label) else { continue };
            let g = Group { start, end, ..g };
            if let Some((prev, prev_type)) = out.last_mut() {
                let gap = &text[prev.end.min(g.start)..g.start];
                if prev.label == label && *prev_type != g.entity && gap.chars().all(char::is_whitespace) {
                    prev.end = g.end;
                    prev.score = prev.score.min(g.score);
                    *prev_type = g.entity;
                    continue;
                }
            }
            out.push((
                Entity { start: g.start, end: g.end, label, score: g.score, detector: "ner", kind: Kind::Any },
                g.entity,
            ));
        }
        out.into_iter().map(|(e, _)| e).collect()
    }
}

/// A model span without a letter or digit is noise (a lone "@", an emoji, a dash): dropped.
/// Names, organizations, places and addresses do not begin with symbols or end with them
/// (a final "." or ")" stays: "Jr.", "St.", "(UK)"), so those are cut off their edges.
fn trim_span(text: &str, start: usize, end: usize, label: Label) -> Option<(usize, usize)> {
    let span = &text[start..end];
    if !span.chars().any(char::is_alphanumeric) {
        return None;
    }
    if !matches!(label, Label::Person | Label::Organization | Label::Location | Label::StreetAddress) {
        return Some((start, end));
    }
    let lead = span.len() - span.trim_start_matches(|c: char| !c.is_alphanumeric()).len();
    let tail = span.trim_end_matches(|c: char| !(c.is_alphanumeric() || c == '.' || c == ')'));
    Some((start + lead, start + tail.len()))
}

/// Argmax class and its probability, and the probability of the PERSON classes together
/// (`kinds`: one per class; empty: none is PERSON).
fn softmax_argmax(logits: &[f32], kinds: &[ClassKind]) -> Prediction {
    let (class, max) =
        logits.iter().enumerate().fold((0, f32::NEG_INFINITY), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
    let (mut sum, mut person) = (0.0f32, 0.0f32);
    for (i, &v) in logits.iter().enumerate() {
        let e = (v - max).exp();
        sum += e;
        if kinds.get(i) == Some(&ClassKind::Person) {
            person += e;
        }
    }
    Prediction { class, score: 1.0 / sum, person: person / sum }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_without_letters_are_dropped_and_names_lose_symbol_edges() {
        let t = "hi 👏 Drake 😂, @ and x-1!";
        let at = |s: &str| t.find(s).expect("in text");
        let (a, b) = (at("👏"), at(","));
        assert_eq!(trim_span(t, a, b, Label::Person).map(|(s, e)| &t[s..e]), Some("Drake"));
        let (a, b) = (at("@"), at("@") + 1);
        assert_eq!(trim_span(t, a, b, Label::Username), None);
        assert_eq!(trim_span(t, at("😂"), at("😂") + "😂".len(), Label::Person), None);
        // Other labels keep their edges: a password may well end in "!".
        let (a, b) = (at("x-1!"), t.len());
        assert_eq!(trim_span(t, a, b, Label::Password).map(|(s, e)| &t[s..e]), Some("x-1!"));
        let t = "Mr. Smith Jr.";
        assert_eq!(trim_span(t, 4, t.len(), Label::Person).map(|(s, e)| &t[s..e]), Some("Smith Jr."));
    }

    #[test]
    fn softmax_argmax_picks_the_max_and_its_probability() {
        use ClassKind::*;
        let p = softmax_argmax(&[0.0, 2.0, 0.0], &[Outside, Person, Other]);
        assert_eq!(p.class, 1);
        let e2 = 2f32.exp();
        assert!((p.score - e2 / (e2 + 2.0)).abs() < 1e-6);
        assert!((p.person - p.score).abs() < 1e-6);
        let p = softmax_argmax(&[0.0, 2.0, 0.0], &[Person, Other, Person]);
        assert!((p.person - 2.0 / (e2 + 2.0)).abs() < 1e-6);
    }
}
