//! Token-classification models as transformers saves them (`config.json` +
//! `model.safetensors`): BERT, DistilBERT and XLM-RoBERTa on one post-LayerNorm encoder
//! written here (fused QKV, the attention scale folded into Q, a vectorised GELU, an
//! additive mask built in f32 so it can never turn into NaN), DeBERTa-v2/v3 through
//! candle-transformers' base model with our own classifier head (its `DebertaV2NERModel`
//! drops `classifier.bias`).

use super::gelu::gelu;
use super::source::{ModelSource, WEIGHTS_FILE};
use crate::mask::Label;
use anyhow::Context;
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, VarBuilder};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Supported architectures, from `config.json` `model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Bert,
    DistilBert,
    XlmRoberta,
    DebertaV2,
}

impl Arch {
    fn from_model_type(t: &str) -> Option<Arch> {
        match t {
            "bert" | "electra" => Some(Arch::Bert),
            "distilbert" => Some(Arch::DistilBert),
            "xlm-roberta" | "roberta" | "camembert" => Some(Arch::XlmRoberta),
            "deberta-v2" => Some(Arch::DebertaV2),
            _ => None,
        }
    }
}

/// The parts of `config.json` every architecture needs; arch-specific keys are read from
/// the raw JSON.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    pub arch: Arch,
    pub id2label: BTreeMap<usize, String>,
    /// Longest input (special tokens included) the position table allows.
    pub max_positions: usize,
    /// Veil's own models feed a case class through token_type_ids.
    pub case_feature: bool,
    /// Veil's own models record the window length they were trained on.
    pub trained_window: Option<usize>,
    /// Veil's own models record a calibrated default score threshold.
    pub min_score: Option<f32>,
    /// ... and may record their own threshold for some labels (`veil_label_min_score`,
    /// `{"PERSON": 0.2}`), which replaces `min_score` for that label.
    pub label_min_score: Vec<(Label, f32)>,
    /// Veil's own models may ship a name list (see `super::lexicon`).
    pub name_lexicon: Option<LexiconConfig>,
    pub raw: serde_json::Value,
}

#[derive(Deserialize)]
struct Common {
    model_type: String,
    id2label: Option<BTreeMap<String, String>>,
    max_position_embeddings: Option<usize>,
    pad_token_id: Option<usize>,
    veil_case_feature: Option<String>,
    veil_max_window: Option<usize>,
    veil_min_score: Option<f32>,
    veil_label_min_score: Option<BTreeMap<String, f32>>,
    veil_name_lexicon: Option<LexiconConfig>,
}

/// `veil_name_lexicon` in config.json: the list's file name in the model folder and the
/// least PERSON probability a listed word needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LexiconConfig {
    pub file: String,
    pub min_person: f32,
}

impl ModelConfig {
    /// Reads and checks the source's `config.json`.
    pub fn load(source: &ModelSource) -> anyhow::Result<ModelConfig> {
        let path = source.display("config.json");
        let text = source.read_text("config.json")?;
        let raw: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{path}: is not valid JSON"))?;
        let c: Common = serde_json::from_value(raw.clone())
            .with_context(|| format!("{path}: model_type/id2label/max_position_embeddings"))?;
        let arch = Arch::from_model_type(&c.model_type).ok_or_else(|| {
            anyhow::anyhow!(
                "{path}: model_type {:?} is not supported (bert, distilbert, xlm-roberta, deberta-v2)",
                c.model_type
            )
        })?;
        let mut id2label = BTreeMap::new();
        for (k, v) in c.id2label.ok_or_else(|| anyhow::anyhow!("{path}: id2label is missing"))? {
            let i: usize = k.parse().map_err(|_| anyhow::anyhow!("{path}: id2label key {k:?} is not a number"))?;
            id2label.insert(i, v);
        }
        let case_feature = match c.veil_case_feature.as_deref() {
            None => false,
            Some(super::tokenize::CASE_FEATURE) => true,
            Some(other) => anyhow::bail!(
                "{path}: veil_case_feature {other:?} is not supported (expected {:?})",
                super::tokenize::CASE_FEATURE
            ),
        };
        let positions = c.max_position_embeddings.unwrap_or(512);
        // RoBERTa-style position ids start after the padding index.
        let offset = if arch == Arch::XlmRoberta { c.pad_token_id.unwrap_or(1) + 1 } else { 0 };
        let max_positions = positions.saturating_sub(offset);
        if max_positions < 8 {
            anyhow::bail!("{path}: max_position_embeddings {positions} is too small");
        }
        if let Some(m) = c.veil_min_score.filter(|m| !(0.0..=1.0).contains(m)) {
            anyhow::bail!("{path}: veil_min_score {m} is not between 0 and 1");
        }
        let mut label_min_score = Vec::new();
        for (name, m) in c.veil_label_min_score.unwrap_or_default() {
            let label: Label = name
                .parse()
                .map_err(|_| anyhow::anyhow!("{path}: veil_label_min_score: {name:?} is not a Veil label"))?;
            if !(0.0..=1.0).contains(&m) {
                anyhow::bail!("{path}: veil_label_min_score {name}: {m} is not between 0 and 1");
            }
            label_min_score.push((label, m));
        }
        Ok(ModelConfig {
            arch,
            id2label,
            max_positions,
            case_feature,
            trained_window: c.veil_max_window,
            min_score: c.veil_min_score,
            label_min_score,
            name_lexicon: c.veil_name_lexicon,
            raw,
        })
    }

    fn usize_key(&self, keys: &[&str]) -> anyhow::Result<usize> {
        keys.iter()
            .find_map(|k| self.raw.get(*k).and_then(serde_json::Value::as_u64))
            .map(|v| v as usize)
            .ok_or_else(|| anyhow::anyhow!("config.json: {} is missing", keys[0]))
    }

    fn f64_key(&self, key: &str, default: f64) -> f64 {
        self.raw.get(key).and_then(serde_json::Value::as_f64).unwrap_or(default)
    }

    fn str_key(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|k| self.raw.get(*k).and_then(|v| v.as_str()).map(str::to_string))
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Act {
    GeluErf,
    GeluTanh,
    Relu,
}

impl Act {
    fn parse(s: &str) -> anyhow::Result<Act> {
        match s {
            "gelu" => Ok(Act::GeluErf),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Ok(Act::GeluTanh),
            "relu" => Ok(Act::Relu),
            other => anyhow::bail!("config.json: hidden_act {other:?} is not supported (gelu, gelu_new, relu)"),
        }
    }

    fn apply(self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Act::GeluErf => gelu(x),
            Act::GeluTanh => x.gelu(),
            Act::Relu => x.relu(),
        }
    }
}

/// Linear layer on 2-D input `(rows, in)`.
pub(super) struct Dense {
    /// `(out, in)`, as transformers stores it.
    pub(super) w: Tensor,
    pub(super) b: Option<Tensor>,
}

impl Dense {
    fn load(vb: &VarBuilder, name: &str, inp: usize, out: usize) -> candle_core::Result<Dense> {
        let vb = vb.pp(name);
        let w = vb.get((out, inp), "weight")?;
        let b = if vb.contains_tensor("bias") { Some(vb.get(out, "bias")?) } else { None };
        Ok(Dense { w, b })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let y = x.matmul(&self.w.t()?)?;
        match &self.b {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }
}

fn layer_norm(vb: &VarBuilder, name: &str, size: usize, eps: f64) -> candle_core::Result<LayerNorm> {
    let vb = vb.pp(name);
    let (w, b) = if vb.contains_tensor("weight") {
        (vb.get(size, "weight")?, vb.get(size, "bias")?)
    } else {
        // Checkpoints converted from TensorFlow.
        (vb.get(size, "gamma")?, vb.get(size, "beta")?)
    };
    Ok(LayerNorm::new(w, b, eps))
}

fn embedding(vb: &VarBuilder, name: &str, rows: usize, dim: usize) -> candle_core::Result<Embedding> {
    Ok(Embedding::new(vb.pp(name).get((rows, dim), "weight")?, dim))
}

pub(super) struct Layer {
    /// Q, K and V stacked (Q pre-scaled by 1/sqrt(head_dim)).
    pub(super) qkv: Dense,
    pub(super) out: Dense,
    pub(super) ln1: LayerNorm,
    pub(super) ffn_in: Dense,
    pub(super) ffn_out: Dense,
    pub(super) ln2: LayerNorm,
}

/// Weight names of one layer, per architecture.
struct LayerNames {
    q: &'static str,
    k: &'static str,
    v: &'static str,
    out: &'static str,
    ln1: &'static str,
    ffn_in: &'static str,
    ffn_out: &'static str,
    ln2: &'static str,
}

const BERT_NAMES: LayerNames = LayerNames {
    q: "attention.self.query",
    k: "attention.self.key",
    v: "attention.self.value",
    out: "attention.output.dense",
    ln1: "attention.output.LayerNorm",
    ffn_in: "intermediate.dense",
    ffn_out: "output.dense",
    ln2: "output.LayerNorm",
};

const DISTILBERT_NAMES: LayerNames = LayerNames {
    q: "attention.q_lin",
    k: "attention.k_lin",
    v: "attention.v_lin",
    out: "attention.out_lin",
    ln1: "sa_layer_norm",
    ffn_in: "ffn.lin1",
    ffn_out: "ffn.lin2",
    ln2: "output_layer_norm",
};

/// BERT / DistilBERT / XLM-R: embeddings then post-LN transformer layers.
pub(super) struct Encoder {
    pub(super) words: Embedding,
    pub(super) positions: Embedding,
    pub(super) types: Option<Embedding>,
    pub(super) emb_ln: LayerNorm,
    pub(super) layers: Vec<Layer>,
    pub(super) heads: usize,
    pub(super) head_dim: usize,
    pub(super) act: Act,
    pub(super) position_offset: u32,
}

impl Encoder {
    fn load(vb: VarBuilder, cfg: &ModelConfig) -> anyhow::Result<Encoder> {
        let (prefix, names, hidden, layers, heads, inter, act, eps, type_vocab) = match cfg.arch {
            Arch::DistilBert => (
                "distilbert",
                &DISTILBERT_NAMES,
                cfg.usize_key(&["dim"])?,
                cfg.usize_key(&["n_layers"])?,
                cfg.usize_key(&["n_heads"])?,
                cfg.usize_key(&["hidden_dim"])?,
                cfg.str_key(&["activation"]).unwrap_or_else(|| "gelu".into()),
                1e-12,
                0,
            ),
            _ => (
                if cfg.arch == Arch::XlmRoberta { "roberta" } else { "bert" },
                &BERT_NAMES,
                cfg.usize_key(&["hidden_size"])?,
                cfg.usize_key(&["num_hidden_layers"])?,
                cfg.usize_key(&["num_attention_heads"])?,
                cfg.usize_key(&["intermediate_size"])?,
                cfg.str_key(&["hidden_act"]).unwrap_or_else(|| "gelu".into()),
                cfg.f64_key("layer_norm_eps", 1e-12),
                cfg.usize_key(&["type_vocab_size"]).unwrap_or(0),
            ),
        };
        let act = Act::parse(&act)?;
        if heads == 0 || hidden % heads != 0 {
            anyhow::bail!("config.json: hidden size {hidden} is not a multiple of the {heads} attention heads");
        }
        let vocab = cfg.usize_key(&["vocab_size"])?;
        let positions = cfg.usize_key(&["max_position_embeddings"])?;
        let head_dim = hidden / heads;
        let vb = vb.pp(prefix);
        let e = vb.pp("embeddings");
        let words = embedding(&e, "word_embeddings", vocab, hidden).context("embeddings.word_embeddings")?;
        let positions =
            embedding(&e, "position_embeddings", positions, hidden).context("embeddings.position_embeddings")?;
        let types = if type_vocab > 0 {
            Some(
                embedding(&e, "token_type_embeddings", type_vocab, hidden)
                    .context("embeddings.token_type_embeddings")?,
            )
        } else {
            None
        };
        let emb_ln = layer_norm(&e, "LayerNorm", hidden, eps).context("embeddings.LayerNorm")?;
        let lvb = if cfg.arch == Arch::DistilBert { vb.pp("transformer.layer") } else { vb.pp("encoder.layer") };
        let scale = 1.0 / (head_dim as f64).sqrt();
        let mut ls = Vec::with_capacity(layers);
        for i in 0..layers {
            let l = lvb.pp(i);
            let load = || -> candle_core::Result<Layer> {
                let q = Dense::load(&l, names.q, hidden, hidden)?;
                let k = Dense::load(&l, names.k, hidden, hidden)?;
                let v = Dense::load(&l, names.v, hidden, hidden)?;
                // One matmul for Q, K and V; 1/sqrt(head_dim) folded into Q.
                let w = Tensor::cat(&[(q.w * scale)?, k.w, v.w], 0)?;
                let b = match (q.b, k.b, v.b) {
                    (Some(qb), Some(kb), Some(vb)) => Some(Tensor::cat(&[(qb * scale)?, kb, vb], 0)?),
                    _ => None,
                };
                Ok(Layer {
                    qkv: Dense { w, b },
                    out: Dense::load(&l, names.out, hidden, hidden)?,
                    ln1: layer_norm(&l, names.ln1, hidden, eps)?,
                    ffn_in: Dense::load(&l, names.ffn_in, hidden, inter)?,
                    ffn_out: Dense::load(&l, names.ffn_out, inter, hidden)?,
                    ln2: layer_norm(&l, names.ln2, hidden, eps)?,
                })
            };
            ls.push(load().with_context(|| format!("layer {i}"))?);
        }
        let position_offset = if cfg.arch == Arch::XlmRoberta {
            cfg.raw.get("pad_token_id").and_then(serde_json::Value::as_u64).unwrap_or(1) as u32 + 1
        } else {
            0
        };
        Ok(Encoder { words, positions, types, emb_ln, layers: ls, heads, head_dim, act, position_offset })
    }

    /// `ids`, `types`: (batch, len) u32; `mask`: (batch, len) f32 with 1 for real tokens, or
    /// `None` when no row is padded (then no mask is added at all).
    fn forward(&self, ids: &Tensor, types: &Tensor, mask: Option<&Tensor>) -> candle_core::Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let dev = ids.device();
        let pos = Tensor::arange(self.position_offset, self.position_offset + t as u32, dev)?;
        let mut x = self.words.forward(ids)?.broadcast_add(&self.positions.forward(&pos)?)?;
        if let Some(te) = &self.types {
            x = x.add(&te.forward(types)?)?;
        }
        let hidden = self.heads * self.head_dim;
        let mut x = self.emb_ln.forward(&x)?.reshape((b * t, hidden))?;
        // Additive mask, (b, 1, 1, t): 0 for tokens, -1e9 for padding. Built in f32 and
        // added to f32 scores, so it cannot overflow to -inf and NaN the softmax.
        let bias = match mask {
            Some(m) => Some(((m.to_dtype(DType::F32)? - 1.0)? * 1e9)?.reshape((b, 1, 1, t))?),
            None => None,
        };
        for l in &self.layers {
            let qkv = l.qkv.forward(&x)?.reshape((b, t, 3, self.heads, self.head_dim))?.permute((2, 0, 3, 1, 4))?;
            let q = qkv.get(0)?.contiguous()?;
            let k = qkv.get(1)?.contiguous()?;
            let v = qkv.get(2)?.contiguous()?;
            let mut scores = q.matmul(&k.t()?)?;
            if let Some(bias) = &bias {
                scores = scores.broadcast_add(bias)?;
            }
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((b * t, hidden))?;
            let h = l.ln1.forward(&(l.out.forward(&ctx)? + &x)?)?;
            let f = l.ffn_out.forward(&self.act.apply(&l.ffn_in.forward(&h)?)?)?;
            x = l.ln2.forward(&(f + h)?)?;
        }
        x.reshape((b, t, hidden))
    }
}

enum Body {
    Encoder(Encoder),
    Deberta(Box<candle_transformers::models::debertav2::DebertaV2Model>),
}

/// A loaded token classifier: encoder + linear head.
pub struct TokenClassifier {
    body: Body,
    classifier: Dense,
    pub config: ModelConfig,
    device: Device,
}

impl TokenClassifier {
    /// Loads `config.json` and `model.safetensors` from `dir` onto `device` (F32).
    pub fn load(dir: &Path, device: &Device) -> anyhow::Result<TokenClassifier> {
        Self::from_source(&ModelSource::Dir(dir.to_path_buf()), device)
    }

    /// Loads `config.json` and `model.safetensors` from `source` onto `device` (F32).
    pub fn from_source(source: &ModelSource, device: &Device) -> anyhow::Result<TokenClassifier> {
        let config = ModelConfig::load(source)?;
        let weights = source.display(WEIGHTS_FILE);
        // Dropped, with any file mapping, when this returns: the tensors hold copies.
        let vb = source.weights(DType::F32, device)?;
        let ctx = || format!("{weights}: weights do not match config.json");
        let n = config.id2label.len();
        let (body, hidden) = match config.arch {
            Arch::DebertaV2 => {
                let dc: candle_transformers::models::debertav2::Config = serde_json::from_value(config.raw.clone())
                    .with_context(|| format!("{}: DeBERTa-v2 fields", source.display("config.json")))?;
                let hidden = dc.hidden_size;
                let m = candle_transformers::models::debertav2::DebertaV2Model::load(vb.pp("deberta"), &dc)
                    .with_context(ctx)?;
                (Body::Deberta(Box::new(m)), hidden)
            }
            Arch::DistilBert => {
                (Body::Encoder(Encoder::load(vb.clone(), &config).with_context(ctx)?), config.usize_key(&["dim"])?)
            }
            _ => (
                Body::Encoder(Encoder::load(vb.clone(), &config).with_context(ctx)?),
                config.usize_key(&["hidden_size"])?,
            ),
        };
        let classifier = Dense::load(&vb, "classifier", hidden, n)
            .with_context(|| format!("{weights}: classifier (expected {n} labels from id2label)"))?;
        Ok(TokenClassifier { body, classifier, config, device: device.clone() })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The BERT-family encoder and the classifier head, for [`super::fast`]; `None` for
    /// DeBERTa-v2, which only runs under candle.
    pub(super) fn encoder_parts(&self) -> Option<(&Encoder, &Dense)> {
        match &self.body {
            Body::Encoder(e) => Some((e, &self.classifier)),
            Body::Deberta(_) => None,
        }
    }

    /// Logits `(batch, len, labels)` for rows of (input ids, type ids), right-padded to the longest.
    pub fn forward(&self, rows: &[(Vec<u32>, Vec<u32>)]) -> candle_core::Result<Tensor> {
        let b = rows.len();
        let t = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let mut ids = vec![0u32; b * t];
        let mut types = vec![0u32; b * t];
        let mut mask = vec![0f32; b * t];
        for (i, (ri, rt)) in rows.iter().enumerate() {
            ids[i * t..i * t + ri.len()].copy_from_slice(ri);
            types[i * t..i * t + rt.len()].copy_from_slice(rt);
            mask[i * t..i * t + ri.len()].iter_mut().for_each(|m| *m = 1.0);
        }
        let ids = Tensor::from_vec(ids, (b, t), &self.device)?;
        let types = Tensor::from_vec(types, (b, t), &self.device)?;
        let mask = Tensor::from_vec(mask, (b, t), &self.device)?;
        let padded = rows.iter().any(|r| r.0.len() < t);
        let h = match &self.body {
            Body::Encoder(e) => e.forward(&ids, &types, padded.then_some(&mask))?,
            Body::Deberta(m) => {
                let tt = if m_uses_types(&self.config) { Some(types) } else { None };
                m.forward(&ids, tt, Some(mask))?
            }
        };
        let (b, t, hdim) = h.dims3()?;
        let logits = self.classifier.forward(&h.reshape((b * t, hdim))?)?;
        logits.reshape((b, t, ()))
    }
}

fn m_uses_types(cfg: &ModelConfig) -> bool {
    cfg.raw.get("type_vocab_size").and_then(serde_json::Value::as_u64).unwrap_or(0) > 0
}

/// Softmax over the last dimension of `(rows, labels)` logits, returned as argmax class and
/// its probability per row.
pub fn argmax_probs(logits: &Tensor) -> candle_core::Result<Vec<(usize, f32)>> {
    let probs = candle_nn::ops::softmax_last_dim(&logits.to_dtype(DType::F32)?)?;
    let rows = probs.to_vec2::<f32>()?;
    Ok(rows
        .iter()
        .map(|r| {
            let (i, p) = r.iter().enumerate().fold((0, f32::MIN), |a, (i, &p)| if p > a.1 { (i, p) } else { a });
            (i, p)
        })
        .collect())
}
