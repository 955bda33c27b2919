//! On-box NER: Hugging Face token-classification checkpoints (BERT, DistilBERT,
//! XLM-RoBERTa, DeBERTa-v2/v3) run under candle on CPU or CUDA, as one more [`Detector`].
//!
//! - [`hub`] finds the model folder (local, or `hf:owner/name[@rev]` in the HF cache);
//! - [`model`] loads the weights and runs the encoder;
//! - [`tokenize`] tokenizes whole texts and cuts overlapping windows (no truncation, ever);
//! - [`labels`] turns per-token classes into word-level BIO spans and CONTRACT labels;
//! - [`fast`] runs BERT-family encoders on CPU without candle (plain f32, one thread each);
//! - [`engine`] serves a bounded queue with worker threads (a pool for [`fast`], one
//!   batching thread for candle).

pub mod engine;
pub mod fast;
pub mod gelu;
pub mod hub;
pub mod labels;
pub mod lexicon;
pub mod model;
#[cfg(test)]
mod tests;
pub mod tokenize;

use crate::config::{DetectConfig, ModelSetting};
use crate::mask::{DetectError, Detector, Entity, Label};
use anyhow::Context;
use engine::{Backend, Engine, EngineOptions, SubmitError, Worker};
use futures::future::BoxFuture;
use sha2::Digest;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

const NAME: &str = "ner";

/// How to build the NER detector, from `[detect]`.
#[derive(Debug, Clone)]
pub struct NerOptions {
    pub device: String,
    pub engine: EngineOptions,
    /// `[detect.labels]`: model entity type → CONTRACT label, `None` to ignore it.
    pub labels: BTreeMap<String, Option<Label>>,
    /// Whether a model missing from the HF cache may be downloaded at start-up.
    pub download: bool,
    /// Use the model folder's name list, if it ships one (`[detect] name_lexicon`).
    pub name_lexicon: bool,
}

impl NerOptions {
    pub fn from_config(c: &DetectConfig) -> NerOptions {
        NerOptions {
            device: c.device.clone(),
            engine: c.engine.clone(),
            labels: c.labels.clone(),
            download: c.download,
            name_lexicon: c.name_lexicon,
        }
    }
}

/// The NER detector. Created empty, then loaded (at once for the CLI, in the background for
/// `serve`, whose `/readyz` fails until then); until it is loaded every call fails closed
/// with [`DetectError::NotReady`].
pub struct NerDetector {
    engine: OnceLock<Engine>,
    version: OnceLock<String>,
}

impl Default for NerDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl NerDetector {
    pub fn new() -> NerDetector {
        NerDetector { engine: OnceLock::new(), version: OnceLock::new() }
    }

    /// Resolves, loads and starts the model named by `setting`. Blocking: model files are
    /// read (and, if allowed, downloaded) here.
    pub fn load(&self, setting: &ModelSetting, opts: &NerOptions) -> anyhow::Result<()> {
        let dir = hub::resolve(setting, opts.download)?;
        let (worker, version) = build_worker(&dir, opts)?;
        let backend = worker.backend.name();
        let threads = if matches!(worker.backend, Backend::Fast(_)) { worker.options.threads.max(1) } else { 1 };
        let engine = Engine::start(worker).context("cannot start the NER threads")?;
        let _ = self.version.set(version.clone());
        if self.engine.set(engine).is_err() {
            anyhow::bail!("the NER model is already loaded");
        }
        tracing::info!(model = %version, dir = %dir.display(), device = %opts.device, backend, threads, "NER model loaded");
        Ok(())
    }

    pub fn is_loaded(&self) -> bool {
        self.engine.get().is_some()
    }
}

fn device(spec: &str) -> anyhow::Result<candle_core::Device> {
    if spec == "cpu" {
        return Ok(candle_core::Device::Cpu);
    }
    let ordinal: usize = spec
        .strip_prefix("cuda:")
        .or(if spec == "cuda" { Some("0") } else { None })
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("detect.device: {spec:?}: expected \"cpu\" or \"cuda:N\""))?;
    if !candle_core::utils::cuda_is_available() {
        anyhow::bail!("detect.device: {spec:?}: this build has no CUDA support (build with `--features cuda`)");
    }
    candle_core::Device::new_cuda(ordinal).with_context(|| format!("detect.device: {spec:?}: cannot open the GPU"))
}

/// Loads model, tokenizer and label map from `dir`.
pub fn build_worker(dir: &Path, opts: &NerOptions) -> anyhow::Result<(Worker, String)> {
    let dev = device(&opts.device)?;
    let model = model::TokenClassifier::load(dir, &dev)?;
    let tokenizer = tokenize::TextTokenizer::load(&dir.join("tokenizer.json"), model.config.case_feature)?;
    let scheme = labels::LabelScheme::parse(&model.config.id2label)
        .map_err(|e| anyhow::anyhow!("{}: id2label: {e}", dir.join("config.json").display()))?;
    for key in opts.labels.keys() {
        if !scheme.types.contains(key) {
            anyhow::bail!("detect.labels.{key}: the model has no entity type {key:?} (it has {:?})", scheme.types);
        }
    }
    let (label_map, unknown) = labels::map_types(&scheme.types, &opts.labels);
    if !unknown.is_empty() {
        tracing::warn!(types = ?unknown, "model entity types without a built-in label are masked as OTHER_ID; map them in [detect.labels]");
    }
    let mut engine = opts.engine.clone();
    let limit = model.config.max_positions.saturating_sub(tokenizer.special_count());
    let trained = model.config.trained_window.map(|w| w.saturating_sub(tokenizer.special_count()));
    let body = match engine.window {
        0 => trained.unwrap_or(limit).min(limit),
        w => w.min(limit),
    };
    if body < 8 {
        anyhow::bail!("detect.window: {body} text tokens per window is too small for this model");
    }
    engine.overlap = engine.overlap.min(body / 4);
    let mut version = format!("{NAME}/{}@{}", model_name(dir), file_digest(&dir.join("model.safetensors"))?);
    let min_score = engine.min_score.or(model.config.min_score).unwrap_or(0.5);
    let lexicon = match (&model.config.name_lexicon, opts.name_lexicon) {
        (Some(lx), true) => {
            let file = dir.join(&lx.file);
            let lexicon = lexicon::NameLexicon::load(&file, lx.min_person, &scheme, &label_map)
                .with_context(|| format!("{}: veil_name_lexicon", dir.join("config.json").display()))?;
            if let Some(l) = &lexicon {
                tracing::debug!(names = l.len(), min_person = lx.min_person, "name lexicon loaded");
                // The audit log's detector version changes when the list does.
                version.push_str(&format!("+names@{}", file_digest(&file)?));
            }
            lexicon
        }
        _ => None,
    };
    // BERT-family encoders on CPU run the hand-written forward pass; the candle copy of the
    // weights is dropped once converted.
    let backend = match dev {
        candle_core::Device::Cpu => match fast::FastModel::from_classifier(&model)
            .with_context(|| format!("{}", dir.join("model.safetensors").display()))?
        {
            Some(f) => Backend::Fast(f),
            None => Backend::Candle(model),
        },
        _ => Backend::Candle(model),
    };
    Ok((Worker { backend, tokenizer, scheme, labels: label_map, options: engine, body, min_score, lexicon }, version))
}

fn model_name(dir: &Path) -> String {
    // HF cache folders are .../models--owner--name/snapshots/<commit>.
    let parts: Vec<String> = dir.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    if let Some(i) = parts.iter().rposition(|p| p == "snapshots") {
        if i >= 1 {
            if let Some(repo) = parts[i - 1].strip_prefix("models--") {
                return repo.replace("--", "/");
            }
        }
    }
    parts.last().cloned().unwrap_or_default()
}

/// First 12 hex digits of the weights' SHA-256: which exact weights masked a request.
fn file_digest(path: &Path) -> anyhow::Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("{}: cannot be read", path.display()))?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h).with_context(|| format!("{}: cannot be read", path.display()))?;
    Ok(hex::encode(&h.finalize()[..6]))
}

impl Detector for NerDetector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> String {
        self.version.get().cloned().unwrap_or_else(|| format!("{NAME}/loading"))
    }

    fn priority(&self) -> u8 {
        10
    }

    fn detect<'a>(&'a self, texts: &'a [&'a str]) -> BoxFuture<'a, Result<Vec<Vec<Entity>>, DetectError>> {
        Box::pin(async move {
            let engine = self.engine.get().ok_or(DetectError::NotReady { detector: NAME })?;
            if texts.iter().all(|t| t.trim().is_empty()) {
                return Ok(vec![Vec::new(); texts.len()]);
            }
            let rx = engine.submit(texts.iter().map(|t| t.to_string()).collect()).map_err(|e| match e {
                SubmitError::Full => DetectError::Overloaded { detector: NAME },
                SubmitError::Stopped => {
                    DetectError::Failed { detector: NAME, source: anyhow::anyhow!("the NER thread has stopped") }
                }
            })?;
            match rx.await {
                Ok(Ok(found)) => Ok(found),
                Ok(Err(e)) => Err(DetectError::Failed { detector: NAME, source: anyhow::anyhow!(e) }),
                Err(_) => {
                    Err(DetectError::Failed { detector: NAME, source: anyhow::anyhow!("the NER thread has stopped") })
                }
            }
        })
    }
}
