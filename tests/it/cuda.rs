//! The CUDA path (`--features cuda`, `[detect] device = "cuda:0"`) against the CPU path,
//! for the built-in default model (`models/veil-pii`):
//! - the logits of candle on the GPU match the CPU's, both candle's and the hand-written
//!   encoder's that `device = "cpu"` runs, also for padded batches of uneven rows;
//! - the spans the GPU worker finds are the CPU worker's, text for text (windows, names,
//!   scope rules and all);
//! - under load (many concurrent `detect` calls, which the GPU thread batches together) the
//!   spans are the ones the same texts get one by one.
//!
//! They need a GPU: where there is none (no `cuda` feature in this build, or no device or
//! driver) each prints `skipped: no CUDA device (why)` and returns. scripts/gpu-check.sh runs
//! them on a GPU machine; scripts/check-cuda.sh builds them with CUDA and checks the skip.

use candle_core::{Device, IndexOp};
use std::collections::HashMap;
use veil::config::{Config, ModelSetting};
use veil::mask::{Detector, Entity};
use veil::ner::engine::Worker;
use veil::ner::fast::{FastModel, Scratch};
use veil::ner::model::TokenClassifier;
use veil::ner::source::ModelSource;
use veil::ner::tokenize::{TextTokenizer, Window};
use veil::ner::{build_worker, NerDetector, NerOptions};

/// The GPU, or why there is none.
fn gpu() -> Result<Device, String> {
    #[cfg(not(feature = "cuda"))]
    {
        Err("this build has no `cuda` feature".to_string())
    }
    #[cfg(feature = "cuda")]
    {
        // The first line: candle appends a backtrace when RUST_BACKTRACE is set.
        Device::new_cuda(0)
            .map_err(|e| format!("cuda:0 does not open: {}", e.to_string().lines().next().unwrap_or_default()))
    }
}

/// The GPU, or `None` after printing why the test skips.
fn gpu_or_skip(test: &str) -> Option<Device> {
    match gpu() {
        Ok(d) => Some(d),
        Err(why) => {
            println!("{test}: skipped: no CUDA device ({why})");
            None
        }
    }
}

/// Texts with names, street addresses, places, e-mail addresses and none at all; the last
/// is longer than one window, so it runs as several overlapping windows.
fn texts() -> Vec<String> {
    let mut t: Vec<String> = [
        "Please draft a reply to Margaret Thornton, who lives at 42 Elm Street, Springfield.",
        "Dr. J. R. Okonkwo-Smith met Ana María de la Cruz in Lisbon on Tuesday.",
        "Send the contract to Hans Müller, Hauptstraße 5, 10115 Berlin, before Friday.",
        "The quarterly report covers revenue, costs and the outlook for next year.",
        "ping @sarah_k and Tom about the invoice; cc jane.doe@example.com",
        "Nothing personal here at all.",
        "Mr. Lee",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let filler = "The committee reviewed the budget, the timeline and the risks in detail. ".repeat(60);
    t.push(format!("{filler}Afterwards Priya Raman asked Olaf Jensen to call her at home. {filler}"));
    t
}

fn options(device: &str) -> NerOptions {
    let toml = format!("[detect]\ndevice = \"{device}\"\n");
    let cfg = Config::from_toml(&toml, &HashMap::<String, String>::new()).expect("config");
    NerOptions::from_config(&cfg.detect)
}

/// Model inputs (ids, type ids) of every text, one window each (cut to the model's limit).
fn rows(tokenizer: &TextTokenizer, limit: usize) -> Vec<(Vec<u32>, Vec<u32>)> {
    texts()
        .iter()
        .map(|t| {
            let enc = tokenizer.encode(t).expect("tokenizes");
            let end = enc.ids.len().min(limit);
            tokenizer.window_input(&enc, &Window { start: 0, end })
        })
        .collect()
}

/// Largest absolute difference of two equally long slices.
fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Entities as comparable tuples; scores rounded to 1e-3, as `veil detect` prints them.
fn key(ents: &[Entity]) -> Vec<(usize, usize, String, &'static str, i64)> {
    ents.iter()
        .map(|e| (e.start, e.end, format!("{:?}/{:?}", e.label, e.kind), e.detector, (e.score * 1000.0).round() as i64))
        .collect()
}

/// Entities match when offsets, label, kind and detector are equal and scores differ by at
/// most 0.002 (f32 sums run in another order on the GPU).
fn assert_same_entities(cpu: &[Entity], gpu: &[Entity], text: &str) {
    let (c, g) = (key(cpu), key(gpu));
    assert_eq!(c.len(), g.len(), "entity count differs for text {text:?}: cpu {c:?} gpu {g:?}");
    for (a, b) in c.iter().zip(&g) {
        assert_eq!((a.0, a.1, &a.2, a.3), (b.0, b.1, &b.2, b.3), "cpu {c:?} gpu {g:?} for text {text:?}");
        assert!((a.4 - b.4).abs() <= 2, "score {} vs {} for text {text:?}", a.4, b.4);
    }
}

#[test]
fn gpu_logits_match_the_cpu_paths() {
    let Some(gpu) = gpu_or_skip("gpu_logits_match_the_cpu_paths") else { return };
    let source = ModelSource::Embedded;
    let cpu = TokenClassifier::from_source(&source, &Device::Cpu).expect("loads on the CPU");
    let on_gpu = TokenClassifier::from_source(&source, &gpu).expect("loads on the GPU");
    let tokenizer = TextTokenizer::from_bytes(
        &source.read("tokenizer.json").expect("tokenizer.json"),
        "tokenizer.json",
        cpu.config.case_feature,
    )
    .expect("tokenizer");
    let limit = cpu.config.max_positions - tokenizer.special_count();
    let rows = rows(&tokenizer, limit);
    let fast = FastModel::from_classifier(&cpu).expect("converts");
    let mut scratch = Scratch::default();
    let mut worst = 0f32;
    // Row by row (no padding), then all rows as one padded batch: the GPU's attention mask
    // must keep the padding out, as the CPU's does.
    for (i, row) in rows.iter().enumerate() {
        let one = std::slice::from_ref(row);
        let c = cpu.forward(one).unwrap().i(0).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let g = on_gpu.forward(one).unwrap().i(0).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let d = max_diff(&c, &g);
        assert!(d < 1e-2, "row {i}: GPU logits differ from candle-CPU logits by {d}");
        worst = worst.max(d);
        if let Some(f) = &fast {
            let f = fast_logits(f, row, &mut scratch);
            let d = max_diff(&f, &g);
            assert!(d < 1e-2, "row {i}: GPU logits differ from the fast CPU encoder's by {d}");
            worst = worst.max(d);
        }
    }
    let batch = on_gpu.forward(&rows).unwrap();
    let labels = cpu.config.id2label.len();
    for (i, row) in rows.iter().enumerate() {
        let n = row.0.len();
        let g = batch.i(i).unwrap().narrow(0, 0, n).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let c = cpu
            .forward(std::slice::from_ref(row))
            .unwrap()
            .i(0)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(g.len(), n * labels);
        let d = max_diff(&c, &g);
        assert!(d < 1e-2, "row {i} in a padded GPU batch: logits differ from the CPU's by {d}");
        worst = worst.max(d);
    }
    println!("gpu_logits_match_the_cpu_paths: {} rows, largest logit difference {worst:.2e}", rows.len());
}

fn fast_logits(model: &FastModel, row: &(Vec<u32>, Vec<u32>), scratch: &mut Scratch) -> Vec<f32> {
    model.forward(&[(row.0.as_slice(), row.1.as_slice())], scratch).expect("fast forward").to_vec()
}

fn worker(device: &str) -> Worker {
    build_worker(&ModelSource::Embedded, &options(device)).expect("the default model loads").0
}

#[test]
fn gpu_spans_match_the_cpu_spans() {
    if gpu_or_skip("gpu_spans_match_the_cpu_spans").is_none() {
        return;
    }
    let (cpu, gpu) = (worker("cpu"), worker("cuda:0"));
    assert_eq!(gpu.backend.name(), "candle");
    let texts = texts();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let c = cpu.detect_batch(std::slice::from_ref(&refs)).expect("cpu detects");
    let g = gpu.detect_batch(std::slice::from_ref(&refs)).expect("gpu detects");
    let mut found = 0;
    for (i, text) in texts.iter().enumerate() {
        assert_same_entities(&c[0][i], &g[0][i], text);
        found += g[0][i].len();
    }
    assert!(found >= 8, "the default model finds the names and addresses on the GPU too ({found} spans)");
    println!("gpu_spans_match_the_cpu_spans: {} texts, {found} spans, all equal", texts.len());
}

#[test]
fn gpu_batching_under_load_gives_the_one_by_one_spans() {
    if gpu_or_skip("gpu_batching_under_load_gives_the_one_by_one_spans").is_none() {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    rt.block_on(async {
        let ner = std::sync::Arc::new(NerDetector::new());
        let blocking = ner.clone();
        tokio::task::spawn_blocking(move || blocking.load(&ModelSetting::Embedded, &options("cuda:0")))
            .await
            .unwrap()
            .expect("the default model loads on the GPU");
        let texts = texts();
        let mut alone = Vec::new();
        for t in &texts {
            alone.push(ner.detect(&[t.as_str()]).await.expect("detects").pop().unwrap());
        }
        // 8 rounds of every text, all at once: the GPU thread takes what is queued as one
        // padded batch (up to max_batch_requests), so texts share forward passes.
        let calls = 8 * texts.len();
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..calls {
            let (ner, text) = (ner.clone(), texts[n % texts.len()].clone());
            tasks.spawn(async move { (n, ner.detect(&[text.as_str()]).await) });
        }
        let mut done = 0;
        while let Some(joined) = tasks.join_next().await {
            let (n, result) = joined.unwrap();
            let found = result.expect("no call is refused under this load").pop().unwrap();
            let i = n % texts.len();
            assert_same_entities(&alone[i], &found, &texts[i]);
            done += 1;
        }
        assert_eq!(done, calls);
        println!("gpu_batching_under_load_gives_the_one_by_one_spans: {calls} concurrent calls, spans as one by one");
    });
}
