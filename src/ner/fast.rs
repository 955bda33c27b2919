//! A hand-written f32 forward pass for the BERT-family encoders of [`super::model`] (BERT,
//! DistilBERT, XLM-RoBERTa) on CPU, run by the engine's workers, one thread each.
//!
//! candle spends most of a small encoder's time outside arithmetic: an allocation and a
//! thread hand-off per op, permute copies around attention, and a padded batch. Here the
//! weights are plain f32 matrices (converted once at load), every buffer lives in a
//! per-worker [`Scratch`], and one call runs a few windows stacked row after row, each at its
//! own length, so there is no padding and no mask at all:
//!
//! embeddings (gather + add + LayerNorm) → per layer: fused QKV matmul (the attention scale is
//! already folded into Q), per window and head `softmax(Q·Kᵀ)·V` read and written through
//! strides (no permute copies), output projection + bias + residual + LayerNorm in place,
//! FFN1 + bias + activation, FFN2 + bias + residual + LayerNorm → classifier.
//!
//! Matrix products go to the `gemm` crate single-threaded (the fastest of `gemm` and
//! `matrixmultiply` for these shapes: ~80-90 GFLOPS per core for M ≤ 512, K, N in
//! 64..1536 on AVX2/FMA); the element-wise kernels are plain loops compiled for the best
//! instruction set the CPU has through `pulp`'s runtime dispatch.

use super::gelu::erf_f32;
use super::model::{Act, Dense, TokenClassifier};
use anyhow::Context;
use candle_core::{DType, Tensor};
use candle_nn::LayerNorm;

/// Widest output block of one gemm call (see [`Linear::apply`]).
const MAX_BLOCK_COLUMNS: usize = 256;

/// A row-major f32 weight matrix `(in, out)` with its bias (zeros when the layer has none).
struct Linear {
    w: Vec<f32>,
    b: Vec<f32>,
    inp: usize,
    out: usize,
}

impl Linear {
    fn from_dense(d: &Dense) -> candle_core::Result<Linear> {
        let (out, inp) = d.w.dims2()?;
        let w = d.w.t()?.contiguous()?.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let b = match &d.b {
            Some(b) => b.to_dtype(DType::F32)?.to_vec1::<f32>()?,
            None => vec![0.0; out],
        };
        Ok(Linear { w, b, inp, out })
    }

    /// `dst[..m·out] = x[..m·in] · W` (bias not added), in column blocks of at most
    /// [`MAX_BLOCK_COLUMNS`]: gemm runs wide, short products (the 128 × 384 QKV of a small
    /// model) markedly slower than the same work in narrower blocks.
    fn apply(&self, m: usize, x: &[f32], dst: &mut [f32]) {
        let blocks = self.out.div_ceil(MAX_BLOCK_COLUMNS);
        let width = self.out.div_ceil(blocks);
        let mut j = 0;
        while j < self.out {
            let n = width.min(self.out - j);
            matmul(m, n, self.inp, &mut dst[j..], self.out, x, self.inp, 1, &self.w[j..], self.out, 1);
            j += n;
        }
    }
}

struct Norm {
    w: Vec<f32>,
    b: Vec<f32>,
    eps: f32,
}

impl Norm {
    fn from_candle(ln: &LayerNorm) -> candle_core::Result<Norm> {
        let w = ln.weight().to_dtype(DType::F32)?.to_vec1::<f32>()?;
        let b = match ln.bias() {
            Some(b) => b.to_dtype(DType::F32)?.to_vec1::<f32>()?,
            None => vec![0.0; w.len()],
        };
        Ok(Norm { w, b, eps: ln.eps() as f32 })
    }
}

struct FastLayer {
    qkv: Linear,
    out: Linear,
    ln1: Norm,
    ffn_in: Linear,
    ffn_out: Linear,
    ln2: Norm,
}

fn table(t: &Tensor) -> candle_core::Result<(Vec<f32>, usize)> {
    let (rows, _) = t.dims2()?;
    Ok((t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?, rows))
}

/// A BERT-family token classifier as plain f32 arrays. Immutable and `Sync`: the engine's
/// workers share one and each brings its own [`Scratch`].
pub struct FastModel {
    hidden: usize,
    heads: usize,
    head_dim: usize,
    inter: usize,
    labels: usize,
    act: Act,
    position_offset: usize,
    words: Vec<f32>,
    vocab: usize,
    positions: Vec<f32>,
    max_positions: usize,
    /// `(type_vocab, hidden)`; `None` when the model has no token types (DistilBERT).
    types: Option<(Vec<f32>, usize)>,
    emb_ln: Norm,
    layers: Vec<FastLayer>,
    classifier: Linear,
    simd: pulp::Arch,
}

/// Per-worker buffers, grown on demand and reused by every call.
#[derive(Default)]
pub struct Scratch {
    x: Vec<f32>,
    qkv: Vec<f32>,
    ctx: Vec<f32>,
    tmp: Vec<f32>,
    ff: Vec<f32>,
    scores: Vec<f32>,
    logits: Vec<f32>,
}

impl Scratch {
    /// Buffers for `rows` stacked tokens whose longest window has `longest` tokens.
    pub fn new(model: &FastModel, rows: usize, longest: usize) -> Scratch {
        let mut s = Scratch::default();
        s.reserve(model, rows, longest);
        s
    }

    fn reserve(&mut self, model: &FastModel, rows: usize, longest: usize) {
        let h = model.hidden;
        let grow = |v: &mut Vec<f32>, n: usize| {
            if v.len() < n {
                v.resize(n, 0.0);
            }
        };
        grow(&mut self.x, rows * h);
        grow(&mut self.qkv, rows * 3 * h);
        grow(&mut self.ctx, rows * h);
        grow(&mut self.tmp, rows * h);
        grow(&mut self.ff, rows * model.inter);
        grow(&mut self.scores, longest * longest);
        grow(&mut self.logits, rows * model.labels);
    }
}

impl FastModel {
    /// The f32 copy of a loaded BERT / DistilBERT / XLM-R classifier; `None` for an
    /// architecture only candle runs (DeBERTa-v2).
    pub fn from_classifier(model: &TokenClassifier) -> anyhow::Result<Option<FastModel>> {
        let Some((enc, head)) = model.encoder_parts() else { return Ok(None) };
        let convert = || -> candle_core::Result<FastModel> {
            let (words, vocab) = table(enc.words.embeddings())?;
            let (positions, max_positions) = table(enc.positions.embeddings())?;
            let types = match &enc.types {
                Some(t) => Some(table(t.embeddings())?),
                None => None,
            };
            let mut layers = Vec::with_capacity(enc.layers.len());
            for l in &enc.layers {
                layers.push(FastLayer {
                    qkv: Linear::from_dense(&l.qkv)?,
                    out: Linear::from_dense(&l.out)?,
                    ln1: Norm::from_candle(&l.ln1)?,
                    ffn_in: Linear::from_dense(&l.ffn_in)?,
                    ffn_out: Linear::from_dense(&l.ffn_out)?,
                    ln2: Norm::from_candle(&l.ln2)?,
                });
            }
            let classifier = Linear::from_dense(head)?;
            let hidden = enc.heads * enc.head_dim;
            Ok(FastModel {
                hidden,
                heads: enc.heads,
                head_dim: enc.head_dim,
                inter: layers.first().map_or(0, |l| l.ffn_in.out),
                labels: classifier.out,
                act: enc.act,
                position_offset: enc.position_offset as usize,
                words,
                vocab,
                positions,
                max_positions,
                types,
                emb_ln: Norm::from_candle(&enc.emb_ln)?,
                layers,
                classifier,
                simd: pulp::Arch::new(),
            })
        };
        let m = convert().context("cannot convert the encoder weights to f32")?;
        m.check().context("encoder weights")?;
        Ok(Some(m))
    }

    /// Shapes that the forward pass relies on (the loader checked most of them already).
    fn check(&self) -> anyhow::Result<()> {
        let h = self.hidden;
        let norm_ok = |n: &Norm| n.w.len() == h && n.b.len() == h;
        let lin_ok = |l: &Linear, i: usize, o: usize| l.inp == i && l.out == o && l.b.len() == o;
        let layers_ok = self.layers.iter().all(|l| {
            lin_ok(&l.qkv, h, 3 * h)
                && lin_ok(&l.out, h, h)
                && lin_ok(&l.ffn_in, h, self.inter)
                && lin_ok(&l.ffn_out, self.inter, h)
                && norm_ok(&l.ln1)
                && norm_ok(&l.ln2)
        });
        if h == 0 || !layers_ok || !norm_ok(&self.emb_ln) || !lin_ok(&self.classifier, h, self.labels) {
            anyhow::bail!("layer shapes do not match hidden size {h}");
        }
        Ok(())
    }

    /// Number of output classes.
    pub fn labels(&self) -> usize {
        self.labels
    }

    /// Logits for `rows` of (input ids, type ids), each run at its own length: the result
    /// holds `Σ len` rows of [`labels`](Self::labels) values, row after row in input order.
    pub fn forward<'s>(&self, rows: &[(&[u32], &[u32])], s: &'s mut Scratch) -> anyhow::Result<&'s [f32]> {
        let m: usize = rows.iter().map(|r| r.0.len()).sum();
        let longest = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        s.reserve(self, m, longest);
        let h = self.hidden;
        self.embed(rows, &mut s.x[..m * h])?;
        let (hd, h3) = (self.head_dim, 3 * h);
        for l in &self.layers {
            l.qkv.apply(m, &s.x, &mut s.qkv);
            self.simd.dispatch(Kernel::AddBias { x: &mut s.qkv[..m * h3], bias: &l.qkv.b });
            let mut o = 0;
            for (ids, _) in rows {
                let t = ids.len();
                if t == 0 {
                    continue;
                }
                for head in 0..self.heads {
                    let q = o * h3 + head * hd;
                    // scores (t, t) = Q_head · K_headᵀ, both read in place from the QKV rows.
                    matmul(t, t, hd, &mut s.scores, t, &s.qkv[q..], h3, 1, &s.qkv[q + h..], 1, h3);
                    self.simd.dispatch(Kernel::Softmax { x: &mut s.scores[..t * t], n: t });
                    // ctx (t, head_dim) = P · V_head, written into the head's columns.
                    let c = o * h + head * hd;
                    matmul(t, hd, t, &mut s.ctx[c..], h, &s.scores, t, 1, &s.qkv[q + 2 * h..], h3, 1);
                }
                o += t;
            }
            l.out.apply(m, &s.ctx, &mut s.tmp);
            self.simd.dispatch(Kernel::ResidualNorm {
                x: &mut s.x[..m * h],
                y: &s.tmp[..m * h],
                bias: &l.out.b,
                ln: &l.ln1,
            });
            l.ffn_in.apply(m, &s.x, &mut s.ff);
            self.simd.dispatch(Kernel::BiasAct { x: &mut s.ff[..m * self.inter], bias: &l.ffn_in.b, act: self.act });
            l.ffn_out.apply(m, &s.ff, &mut s.tmp);
            self.simd.dispatch(Kernel::ResidualNorm {
                x: &mut s.x[..m * h],
                y: &s.tmp[..m * h],
                bias: &l.ffn_out.b,
                ln: &l.ln2,
            });
        }
        self.classifier.apply(m, &s.x, &mut s.logits);
        let n = m * self.labels;
        self.simd.dispatch(Kernel::AddBias { x: &mut s.logits[..n], bias: &self.classifier.b });
        Ok(&s.logits[..n])
    }

    /// Word + position (+ type) embeddings and their LayerNorm into `x` `(Σ len, hidden)`.
    fn embed(&self, rows: &[(&[u32], &[u32])], x: &mut [f32]) -> anyhow::Result<()> {
        let h = self.hidden;
        let mut dst = x.chunks_exact_mut(h);
        for (ids, types) in rows {
            if types.len() != ids.len() {
                anyhow::bail!("{} type ids for {} input ids", types.len(), ids.len());
            }
            if ids.len() + self.position_offset > self.max_positions {
                anyhow::bail!("{} tokens do not fit {} positions", ids.len(), self.max_positions);
            }
            for (t, (&id, &ty)) in ids.iter().zip(types.iter()).enumerate() {
                let id = id as usize;
                if id >= self.vocab {
                    anyhow::bail!("token id {id} is outside the vocabulary ({})", self.vocab);
                }
                let row = dst.next().context("embedding buffer too small; this is a bug")?;
                let word = &self.words[id * h..(id + 1) * h];
                let p = (t + self.position_offset) * h;
                let pos = &self.positions[p..p + h];
                match &self.types {
                    Some((table, n)) => {
                        let ty = ty as usize;
                        if ty >= *n {
                            anyhow::bail!("token type {ty} is outside the type vocabulary ({n})");
                        }
                        let typ = &table[ty * h..(ty + 1) * h];
                        for (((d, &a), &b), &c) in row.iter_mut().zip(word).zip(pos).zip(typ) {
                            *d = a + b + c;
                        }
                    }
                    None => {
                        for ((d, &a), &b) in row.iter_mut().zip(word).zip(pos) {
                            *d = a + b;
                        }
                    }
                }
            }
        }
        self.simd.dispatch(Kernel::Normalize { x, ln: &self.emb_ln });
        Ok(())
    }
}

/// `(rows-1)·row_stride + (cols-1)·col_stride + 1`: the elements a strided matrix spans.
fn extent(rows: usize, row_stride: usize, cols: usize, col_stride: usize) -> usize {
    (rows - 1)
        .checked_mul(row_stride)
        .and_then(|a| (cols - 1).checked_mul(col_stride).and_then(|b| a.checked_add(b)))
        .and_then(|e| e.checked_add(1))
        .expect("matrix extent overflows usize; this is a bug")
}

/// `dst (m, n) = lhs (m, k) · rhs (k, n)`, every matrix given by its slice start and
/// element strides (row, column); `dst` is row-major with row stride `dst_rs ≥ n`. The one
/// `unsafe` of this module: the strides are checked against the slices first.
#[allow(clippy::too_many_arguments)]
fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    dst_rs: usize,
    lhs: &[f32],
    lhs_rs: usize,
    lhs_cs: usize,
    rhs: &[f32],
    rhs_rs: usize,
    rhs_cs: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(k > 0, "matmul with an empty inner dimension; this is a bug");
    assert!(dst_rs >= n, "matmul output rows overlap; this is a bug");
    assert!(extent(m, dst_rs, n, 1) <= dst.len(), "matmul output out of bounds; this is a bug");
    assert!(extent(m, lhs_rs, k, lhs_cs) <= lhs.len(), "matmul lhs out of bounds; this is a bug");
    assert!(extent(k, rhs_rs, n, rhs_cs) <= rhs.len(), "matmul rhs out of bounds; this is a bug");
    let s = |v: usize| isize::try_from(v).expect("matmul stride exceeds isize; this is a bug");
    // SAFETY: the asserts above prove that every element gemm reads (lhs at i·lhs_rs +
    // p·lhs_cs, rhs at p·rhs_rs + j·rhs_cs) and writes (dst at i·dst_rs + j) for i < m,
    // p < k, j < n lies inside its slice; `dst` is a unique borrow, so it aliases neither
    // input, and with dst_rs ≥ n no two (i, j) share an output element. `read_dst = false`:
    // gemm never reads dst, so its previous contents do not matter. Parallelism::None keeps
    // the call on this thread, so the borrows outlive every access.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            s(dst_rs),
            false,
            lhs.as_ptr(),
            s(lhs_cs),
            s(lhs_rs),
            rhs.as_ptr(),
            s(rhs_cs),
            s(rhs_rs),
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// The element-wise kernels, run through `pulp`'s dispatch: `with_simd` is compiled once per
/// instruction set (AVX2/FMA, AVX-512, SSE, ...) and the best one the CPU has is called. Every
/// function below is `#[inline(always)]`, so its loops are compiled inside that function, with
/// those instructions enabled, and vectorised by the compiler. (A closure passed to
/// `dispatch` is not reliably inlined, and then runs without them.)
enum Kernel<'a> {
    AddBias {
        x: &'a mut [f32],
        bias: &'a [f32],
    },
    /// `x = act(x + bias)` row by row.
    BiasAct {
        x: &'a mut [f32],
        bias: &'a [f32],
        act: Act,
    },
    /// LayerNorm of each row.
    Normalize {
        x: &'a mut [f32],
        ln: &'a Norm,
    },
    /// `x = LayerNorm(x + y + bias)` row by row.
    ResidualNorm {
        x: &'a mut [f32],
        y: &'a [f32],
        bias: &'a [f32],
        ln: &'a Norm,
    },
    /// Softmax of each row of length `n`.
    Softmax {
        x: &'a mut [f32],
        n: usize,
    },
}

impl pulp::WithSimd for Kernel<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        match self {
            Kernel::AddBias { x, bias } => add_bias(x, bias),
            Kernel::BiasAct { x, bias, act } => bias_act(x, bias, act),
            Kernel::Normalize { x, ln } => {
                for row in x.chunks_exact_mut(ln.w.len()) {
                    normalize(row, ln);
                }
            }
            Kernel::ResidualNorm { x, y, bias, ln } => residual_norm(x, y, bias, ln),
            Kernel::Softmax { x, n } => softmax_rows(x, n),
        }
    }
}

/// Sum with eight independent accumulators, so the compiler may vectorise it.
#[inline(always)]
fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + rest
}

#[inline(always)]
fn max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder().iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v));
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            // Not f32::max: its NaN rules keep the compiler from using vector max.
            *a = if v > *a { v } else { *a };
        }
    }
    acc.iter().fold(rest, |a, &v| a.max(v))
}

#[inline(always)]
fn add_bias(rows: &mut [f32], bias: &[f32]) {
    for row in rows.chunks_exact_mut(bias.len()) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v += b;
        }
    }
}

/// LayerNorm of one row in place, as candle's (mean, then the mean of squared deviations).
#[inline(always)]
fn normalize(row: &mut [f32], ln: &Norm) {
    let n = row.len() as f32;
    let mean = sum(row) / n;
    for v in row.iter_mut() {
        *v -= mean;
    }
    let mut sq = [0f32; 8];
    let chunks = row.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().map(|v| v * v).sum();
    for c in chunks {
        for (a, v) in sq.iter_mut().zip(c) {
            *a += v * v;
        }
    }
    let var = (sq.iter().sum::<f32>() + rest) / n;
    let inv = 1.0 / (var + ln.eps).sqrt();
    for ((v, w), b) in row.iter_mut().zip(&ln.w).zip(&ln.b) {
        *v = *v * inv * w + b;
    }
}

/// `x = LayerNorm(x + y + bias)` row by row.
#[inline(always)]
fn residual_norm(x: &mut [f32], y: &[f32], bias: &[f32], ln: &Norm) {
    let h = bias.len();
    for (xr, yr) in x.chunks_exact_mut(h).zip(y.chunks_exact(h)) {
        for ((v, a), b) in xr.iter_mut().zip(yr).zip(bias) {
            *v += a + b;
        }
        normalize(xr, ln);
    }
}

/// `x = act(x + bias)` row by row.
#[inline(always)]
fn bias_act(x: &mut [f32], bias: &[f32], act: Act) {
    const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
    // sqrt(2/π), as candle's tanh-form GELU.
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    for row in x.chunks_exact_mut(bias.len()) {
        match act {
            Act::GeluErf => {
                for (v, b) in row.iter_mut().zip(bias) {
                    let z = *v + b;
                    *v = 0.5 * z * (1.0 + erf_f32(z * FRAC_1_SQRT_2));
                }
            }
            Act::GeluTanh => {
                for (v, b) in row.iter_mut().zip(bias) {
                    let z = *v + b;
                    *v = 0.5 * z * (1.0 + (SQRT_2_OVER_PI * (z + 0.044_715 * z * z * z)).tanh());
                }
            }
            Act::Relu => {
                for (v, b) in row.iter_mut().zip(bias) {
                    *v = (*v + b).max(0.0);
                }
            }
        }
    }
}

/// Softmax of each row of length `n`, in place.
#[inline(always)]
fn softmax_rows(x: &mut [f32], n: usize) {
    for row in x.chunks_exact_mut(n) {
        let top = max(row);
        for v in row.iter_mut() {
            *v = exp_f32(*v - top);
        }
        let inv = 1.0 / sum(row);
        for v in row.iter_mut() {
            *v *= inv;
        }
    }
}

/// `e^x` without branches or calls (Cephes' `expf`: x = n·ln2 + r, |r| ≤ ln2/2, a degree-6
/// polynomial for e^r, 2^n built in the exponent bits); relative error ~2e-7. Inputs below
/// -87 give ~1e-38 instead of 0, which is what a softmax needs.
#[inline(always)]
#[allow(clippy::excessive_precision)] // Cephes' coefficients, kept as published
fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_375;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5·2^23 rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    // Comparisons, not f32::clamp, whose NaN handling does not vectorise as well.
    #[allow(clippy::manual_clamp)]
    let x = if x < -87.0 {
        -87.0
    } else if x > 88.0 {
        88.0
    } else {
        x
    };
    let z = x * LOG2E + ROUND;
    let n = z - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_15e-4;
    p = p * r + 1.398_199_950_7e-3;
    p = p * r + 8.333_451_907_3e-3;
    p = p * r + 4.166_579_589_4e-2;
    p = p * r + 1.666_666_545_9e-1;
    p = p * r + 5.000_000_120_1e-1;
    let e = p * r * r + r + 1.0;
    // n is an integer in [-126, 127], held in the low mantissa bits of z (z = 1.5·2^23 + n,
    // bits 0x4b40_0000 + n): 2^n is (n + 127) << 23, with integer ops only.
    e * f32::from_bits(z.to_bits().wrapping_sub(0x4b40_0000).wrapping_add(127) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_std() {
        let mut worst = 0f32;
        for i in -8700..=8800 {
            let x = i as f32 / 100.0;
            let rel = ((exp_f32(x) - x.exp()) / x.exp()).abs();
            worst = worst.max(rel);
        }
        assert!(worst < 1e-6, "max relative error {worst}");
    }

    #[test]
    fn matmul_honours_strides() {
        // lhs (2, 3) row-major, rhs given as a (3, 2) transposed view of a (2, 3) array.
        let lhs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let rhs_t = [1.0, 0.0, 2.0, 0.0, 1.0, 1.0];
        let mut dst = [0.0f32; 6];
        matmul(2, 2, 3, &mut dst, 3, &lhs, 3, 1, &rhs_t, 1, 3);
        assert_eq!(&dst[..2], &[7.0, 5.0]);
        assert_eq!(&dst[3..5], &[16.0, 11.0]);
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn matmul_refuses_short_slices() {
        let mut dst = [0.0f32; 3];
        matmul(2, 2, 2, &mut dst, 2, &[0.0; 4], 2, 1, &[0.0; 4], 2, 1);
    }
}
