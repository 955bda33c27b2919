//! Tokenization without truncation: the whole text is tokenized once (byte offsets), then
//! cut into overlapping windows that each fit the model; the special tokens of the model's
//! template are added per window.
//!
//! Shipped `tokenizer.json` files often carry truncation and padding settings; Rust
//! `tokenizers` truncation with a stride silently drops the tail of long inputs. Both are
//! switched off at load.

use super::labels::TokenSpan;
use std::path::Path;
use tokenizers::Tokenizer;

/// The per-token case feature of Veil's own models (config key `veil_case_feature`,
/// `"token_type_ids:none,lower,title,upper"`): the case class of the token's original text
/// is fed through `token_type_ids`.
pub const CASE_FEATURE: &str = "token_type_ids:none,lower,title,upper";

pub struct TextTokenizer {
    inner: Tokenizer,
    /// Special ids the template puts before / after a single sequence (`[CLS]` / `[SEP]`).
    before: Vec<u32>,
    after: Vec<u32>,
    /// `##` for WordPiece; continuation pieces do not start words.
    continuing_prefix: Option<String>,
    case_feature: bool,
}

/// A whole text, tokenized once.
#[derive(Debug, Default)]
pub struct Encoded {
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
    pub tokens: Vec<TokenSpan>,
}

/// One model input: a slice `[start, end)` of an [`Encoded`] text plus special tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub start: usize,
    pub end: usize,
}

impl TextTokenizer {
    /// Reads a `tokenizer.json` file.
    pub fn load(path: &Path, case_feature: bool) -> anyhow::Result<TextTokenizer> {
        let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("{}: cannot be read: {e}", path.display()))?;
        Self::from_bytes(&bytes, &path.display().to_string(), case_feature)
    }

    /// Parses the contents of a `tokenizer.json`; `name` names it in errors.
    pub fn from_bytes(bytes: &[u8], name: &str, case_feature: bool) -> anyhow::Result<TextTokenizer> {
        let mut inner = Tokenizer::from_bytes(bytes).map_err(|e| anyhow::anyhow!("{name}: cannot be read: {e}"))?;
        inner.with_truncation(None).map_err(|e| anyhow::anyhow!("{name}: truncation: {e}"))?.with_padding(None);
        let plain = inner
            .encode("a", false)
            .map_err(|e| anyhow::anyhow!("{name}: cannot encode text: {e}"))?
            .get_ids()
            .to_vec();
        let full =
            inner.encode("a", true).map_err(|e| anyhow::anyhow!("{name}: cannot encode text: {e}"))?.get_ids().to_vec();
        let at = full.windows(plain.len()).position(|w| w == plain.as_slice()).ok_or_else(|| {
            anyhow::anyhow!("{name}: post_processor: cannot locate the text among its special tokens")
        })?;
        let before = full[..at].to_vec();
        let after = full[at + plain.len()..].to_vec();
        let continuing_prefix = match inner.get_model() {
            tokenizers::ModelWrapper::WordPiece(wp) => Some(wp.continuing_subword_prefix.clone()),
            tokenizers::ModelWrapper::BPE(bpe) => bpe.continuing_subword_prefix.clone(),
            _ => None,
        };
        Ok(TextTokenizer { inner, before, after, continuing_prefix, case_feature })
    }

    /// Special tokens added to each window.
    pub fn special_count(&self) -> usize {
        self.before.len() + self.after.len()
    }

    /// Tokenizes all of `text`; offsets are bytes into `text`.
    pub fn encode(&self, text: &str) -> anyhow::Result<Encoded> {
        let enc = self.inner.encode(text, false).map_err(|e| anyhow::anyhow!("tokenizer: {e}"))?;
        let ids = enc.get_ids().to_vec();
        let offsets = enc.get_offsets();
        let pieces = enc.get_tokens();
        let mut tokens = Vec::with_capacity(ids.len());
        let mut type_ids = Vec::with_capacity(ids.len());
        let mut prev_end = 0usize;
        for (i, &(start, end)) in offsets.iter().enumerate() {
            let (start, end) = (start.min(text.len()), end.min(text.len()));
            let slice = text.get(start..end).unwrap_or("");
            let word_start = match &self.continuing_prefix {
                // WordPiece / BPE with a prefix: a continuation piece carries the prefix.
                Some(prefix) if !prefix.is_empty() => !pieces[i].starts_with(prefix.as_str()) || i == 0,
                // SentencePiece-style: a token glued to the previous character continues its
                // word (the pipeline's heuristic, with any whitespace, not just ' ').
                _ => {
                    start == 0
                        || text[..start].chars().next_back().is_none_or(char::is_whitespace)
                        || slice.starts_with(char::is_whitespace)
                        || start > prev_end && text[prev_end..start].chars().any(char::is_whitespace)
                }
            };
            prev_end = end.max(prev_end);
            tokens.push(TokenSpan { start, end, word_start });
            type_ids.push(if self.case_feature { case_class(slice) } else { 0 });
        }
        Ok(Encoded { ids, type_ids, tokens })
    }

    /// Input ids, type ids and the position of the first text token for one window.
    pub fn window_input(&self, enc: &Encoded, w: &Window) -> (Vec<u32>, Vec<u32>) {
        let n = self.special_count() + w.end - w.start;
        let mut ids = Vec::with_capacity(n);
        let mut types = Vec::with_capacity(n);
        ids.extend_from_slice(&self.before);
        types.extend(std::iter::repeat_n(0, self.before.len()));
        ids.extend_from_slice(&enc.ids[w.start..w.end]);
        types.extend_from_slice(&enc.type_ids[w.start..w.end]);
        ids.extend_from_slice(&self.after);
        types.extend(std::iter::repeat_n(0, self.after.len()));
        (ids, types)
    }

    /// Offset of the first text token inside a window's input.
    pub fn text_offset(&self) -> usize {
        self.before.len()
    }
}

/// Overlapping windows of at most `body` text tokens covering `0..n`; neighbours share at
/// least `overlap` tokens so that every token is seen with context on both sides.
///
/// The windows are of equal length, not full windows plus a short or heavily overlapping
/// tail, and their number is rounded up to a multiple of `parallel` (the inference workers
/// that share them) as long as windows keep at least half of `body`: 268 tokens with `body` 126 and 2 workers become 4
/// windows of ~91 tokens (364 token-passes, 2 per worker) rather than 3 of 126 (378
/// token-passes, one worker running 2): the same work, a third less latency.
pub fn windows(n: usize, body: usize, overlap: usize, parallel: usize) -> Vec<Window> {
    let body = body.max(1);
    let overlap = overlap.min(body / 2);
    if n <= body {
        return vec![Window { start: 0, end: n }];
    }
    let step = body - overlap;
    // Fewest windows that fit: k * body - (k - 1) * overlap >= n.
    let fewest = (n - overlap).div_ceil(step).max(2);
    // Equal length with at least `overlap` shared: k * len - (k - 1) * overlap >= n.
    let len_of = |k: usize| (n + (k - 1) * overlap).div_ceil(k).min(body);
    // Round up to a multiple of the workers only while windows keep at least half the
    // model's context (16 workers must not cut 300 tokens into 16 slivers).
    let rounded = fewest.div_ceil(parallel.max(1)) * parallel.max(1);
    let k = if len_of(rounded) * 2 >= body { rounded } else { fewest };
    let len = len_of(k);
    let span = n - len;
    (0..k)
        .map(|i| {
            let start = i * span / (k - 1);
            Window { start, end: start + len }
        })
        .collect()
}

/// For token `i` covered by several windows, the window where it sits farthest from an
/// edge (so it has the most context); windows are as returned by [`windows`].
pub fn best_window(ws: &[Window], i: usize) -> usize {
    let mut best = 0;
    let mut best_margin = -1isize;
    for (k, w) in ws.iter().enumerate() {
        if w.start <= i && i < w.end {
            let left = if w.start == 0 { isize::MAX / 2 } else { (i - w.start) as isize };
            let right = (w.end - 1 - i) as isize;
            let margin = left.min(right);
            if margin > best_margin {
                best = k;
                best_margin = margin;
            }
        }
    }
    best
}

/// 0 = no cased letters, 3 = all cased letters upper (at least two), 2 = first cased letter
/// upper, 1 = first cased letter lower. Matches `case_id` in `training/common.py`.
pub fn case_class(s: &str) -> u32 {
    let mut cased = s.chars().filter(|c| c.is_uppercase() || c.is_lowercase());
    let Some(first) = cased.next() else { return 0 };
    let mut count = 1;
    let mut all_upper = first.is_uppercase();
    for c in cased {
        count += 1;
        all_upper &= c.is_uppercase();
    }
    if count >= 2 && all_upper {
        3
    } else if first.is_uppercase() {
        2
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_everything_with_overlap() {
        assert_eq!(windows(5, 10, 2, 2), vec![Window { start: 0, end: 5 }]);
        for (n, body, overlap, parallel) in [
            (100, 30, 6, 1),
            (100, 30, 6, 2),
            (268, 126, 32, 2),
            (31, 30, 6, 1),
            (10_000, 126, 32, 3),
            (127, 126, 32, 4),
            (500, 10, 5, 2),
        ] {
            let ws = windows(n, body, overlap, parallel);
            assert_eq!(ws.first().map(|w| w.start), Some(0));
            assert_eq!(ws.last().map(|w| w.end), Some(n));
            let len = ws[0].end - ws[0].start;
            // a multiple of the workers, or (when that would cut slivers) the fewest windows
            let fewest = windows(n, body, overlap, 1).len();
            assert!(ws.len().is_multiple_of(parallel) || ws.len() == fewest, "{n} {body} {overlap} {parallel}");
            for pair in ws.windows(2) {
                assert!(pair[0].end - pair[1].start >= overlap.min(body / 2), "{pair:?} must overlap by {overlap}");
                assert_eq!(pair[1].end - pair[1].start, len, "equal lengths");
                assert!(len <= body);
            }
            for i in 0..n {
                let k = best_window(&ws, i);
                assert!(ws[k].start <= i && i < ws[k].end);
            }
        }
        // 268 tokens on 2 workers: 4 windows of 91, not 3 of 126
        let ws = windows(268, 126, 32, 2);
        assert_eq!(ws.len(), 4);
        assert_eq!(ws[0], Window { start: 0, end: 91 });
        assert_eq!(windows(268, 126, 32, 1).len(), 3);
        // ... but 16 workers do not cut it into slivers
        let ws = windows(268, 126, 32, 16);
        assert_eq!(ws.len(), 3);
        assert!(ws.iter().all(|w| w.end - w.start >= 63));
    }

    #[test]
    fn best_window_prefers_context() {
        let ws = windows(50, 20, 10, 1);
        // token 15 is at the right edge of window 0 (0..20) and in the middle of window 1 (10..30)
        assert_eq!(ws[best_window(&ws, 15)], Window { start: 10, end: 30 });
        assert_eq!(best_window(&ws, 0), 0);
    }

    #[test]
    fn case_classes() {
        assert_eq!(case_class("123"), 0);
        assert_eq!(case_class("anna"), 1);
        assert_eq!(case_class("Anna"), 2);
        assert_eq!(case_class("A"), 2);
        assert_eq!(case_class("ANNA"), 3);
        assert_eq!(case_class("Élodie"), 2);
        assert_eq!(case_class("##ith"), 1);
    }
}
