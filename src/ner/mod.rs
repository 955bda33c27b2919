//! On-box NER: Hugging Face token-classification checkpoints (BERT, DistilBERT,
//! XLM-RoBERTa, DeBERTa-v2/v3) run under candle on CPU or CUDA, as one more [`Detector`].
//!
//! - [`hub`] finds the model folder (local, or `hf:owner/name[@rev]` in the HF cache), or
//!   picks the built-in default model when `[detect] model` is not set;
//! - [`source`] reads a model's files from its folder or from the binary;
//! - [`model`] loads the weights and runs the encoder;
//! - [`tokenize`] tokenizes whole texts and cuts overlapping windows (no truncation, ever);
//! - [`labels`] turns per-token classes into word-level BIO spans and docs/interface.md labels;
//! - [`names`] completes names as people write them (initials, titles, post-nominals, surnames);
//! - [`address`] makes an intersection ("the corner of A 14 and B Road") one address;
//! - [`scope`] drops spans that are not personal data (languages, products, a year alone)
//!   and tells large regions from places;
//! - [`fast`] runs BERT-family encoders on CPU without candle (plain f32, one thread each);
//! - [`engine`] serves a bounded queue with worker threads (a pool for [`fast`], one
//!   batching thread for candle).

pub mod address;
pub mod engine;
pub mod fast;
pub mod gelu;
pub mod hub;
pub mod labels;
pub mod lexicon;
pub mod model;
pub mod names;
pub mod scope;
pub mod source;
#[cfg(test)]
mod tests;
pub mod tokenize;

use crate::config::{DetectConfig, ModelSetting};
use crate::mask::{DetectError, Detector, Entity, Label};
use anyhow::Context;
use engine::{Backend, Engine, EngineOptions, SubmitError, Worker};
use futures::future::BoxFuture;
use source::{ModelSource, WEIGHTS_FILE};
use std::collections::BTreeMap;
use std::sync::OnceLock;

const NAME: &str = "ner";

/// How to build the NER detector, from `[detect]`.
#[derive(Debug, Clone)]
pub struct NerOptions {
    pub device: String,
    pub engine: EngineOptions,
    /// `[detect.labels]`: model entity type → docs/interface.md label, `None` to ignore it.
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
        let source = hub::resolve(setting, opts.download)?;
        // Errors name the folder's file; the built-in model's say what to configure instead.
        let (worker, version) = build_worker(&source, opts).map_err(|e| match source {
            ModelSource::Embedded => e.context(format!(
                "the built-in default model ({}) cannot be loaded; set [detect] model to a model folder or \
                 \"hf:owner/name\", or model = \"none\" for patterns only",
                source::embedded::NAME
            )),
            ModelSource::Dir(_) => e,
        })?;
        let backend = worker.backend.name();
        let threads = if matches!(worker.backend, Backend::Fast(_)) { worker.options.threads.max(1) } else { 1 };
        scope::warm();
        let engine = Engine::start(worker).context("cannot start the NER threads")?;
        let _ = self.version.set(version.clone());
        if self.engine.set(engine).is_err() {
            anyhow::bail!("the NER model is already loaded");
        }
        tracing::info!(model = %version, source = %source, device = %opts.device, backend, threads, "NER model loaded");
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

/// Loads model, tokenizer and label map from `source`.
pub fn build_worker(source: &ModelSource, opts: &NerOptions) -> anyhow::Result<(Worker, String)> {
    let dev = device(&opts.device)?;
    let model = model::TokenClassifier::from_source(source, &dev)?;
    let tokenizer = tokenize::TextTokenizer::from_bytes(
        &source.read("tokenizer.json")?,
        &source.display("tokenizer.json"),
        model.config.case_feature,
    )?;
    let scheme = labels::LabelScheme::parse(&model.config.id2label)
        .map_err(|e| anyhow::anyhow!("{}: id2label: {e}", source.display("config.json")))?;
    for key in opts.labels.keys() {
        if !scheme.types.contains(key) {
            anyhow::bail!("detect.labels.{key}: the model has no entity type {key:?} (it has {:?})", scheme.types);
        }
    }
    let (label_map, unknown) = labels::map_types(&scheme.types, &opts.labels);
    if !unknown.is_empty() {
        tracing::warn!(types = %unknown.join(","), "model entity types without a built-in label are masked as OTHER_ID; map them in [detect.labels]");
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
    // The same weights give the same version, from a folder or built in.
    let mut version = format!("{NAME}/{}@{}", source.name(), source.digest(WEIGHTS_FILE)?);
    let min_score = engine.min_score.or(model.config.min_score).unwrap_or(0.5);
    // `[detect] min_score`, when set, is the one threshold for every label.
    let label_min_score = if engine.min_score.is_some() { Vec::new() } else { model.config.label_min_score.clone() };
    let lexicon = match (&model.config.name_lexicon, opts.name_lexicon) {
        (Some(lx), true) => {
            let lexicon = source
                .read_text(&lx.file)
                .and_then(|text| {
                    lexicon::NameLexicon::parse(&text, &source.display(&lx.file), lx.min_person, &scheme, &label_map)
                })
                .with_context(|| format!("{}: veil_name_lexicon", source.display("config.json")))?;
            if let Some(l) = &lexicon {
                tracing::debug!(names = l.len(), min_person = lx.min_person, "name lexicon loaded");
                // The audit log's detector version changes when the list does.
                version.push_str(&format!("+names@{}", source.digest(&lx.file)?));
            }
            lexicon
        }
        _ => None,
    };
    // BERT-family encoders on CPU run the hand-written forward pass; the candle copy of the
    // weights is dropped once converted.
    let backend = match dev {
        candle_core::Device::Cpu => {
            match fast::FastModel::from_classifier(&model).with_context(|| source.display(WEIGHTS_FILE))? {
                Some(f) => Backend::Fast(f),
                None => Backend::Candle(model),
            }
        }
        _ => Backend::Candle(model),
    };
    Ok((
        Worker {
            backend,
            tokenizer,
            scheme,
            labels: label_map,
            options: engine,
            body,
            min_score,
            label_min_score,
            lexicon,
        },
        version,
    ))
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
