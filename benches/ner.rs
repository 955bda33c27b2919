//! NER speed: the model detector as the gateway calls it (request → queue → inference thread
//! → spans), on the prompts of `bench/ner_texts.json` (256 B, 1 KB, 4 KB, 16 KB).
//!
//! - `ner_latency/<size>`: one request at a time (criterion: median and spread);
//! - `ner_c16/<mode>`: 16 concurrent 1 KB requests, with dynamic batching and with batches
//!   of one request, to show the batching gain (time per 16 texts);
//! - before criterion runs, a plain loop prints p50/p99 per size and texts/s and tokens/s at
//!   concurrency 16 (criterion reports no p99).
//!
//! Model: `VEIL_BENCH_MODEL` (a folder), default `models/veil-pii`. Device: `VEIL_BENCH_DEVICE`
//! (`cpu`, or `cuda:0` in a `--features cuda` build). Workers of the CPU fast path:
//! `VEIL_BENCH_THREADS` (default: one per CPU, as `[detect] threads`).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use veil::config::ModelSetting;
use veil::mask::Detector;
use veil::ner::engine::EngineOptions;
use veil::ner::{NerDetector, NerOptions};

// As in the `veil` binary: glibc malloc page-faults on every forward pass (1.5x slower).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SIZES: [&str; 4] = ["256b", "1kb", "4kb", "16kb"];

fn texts() -> BTreeMap<String, String> {
    let mut path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/ner_texts.json");
    // A bench binary built here and run elsewhere (scripts/gpu-check.sh run) runs from the
    // repository root of that machine's copy.
    if !path.exists() {
        path = PathBuf::from("bench/ner_texts.json");
    }
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn num_cpus() -> String {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).to_string()
}

fn model_dir() -> String {
    std::env::var("VEIL_BENCH_MODEL").unwrap_or_else(|_| "models/veil-pii".into())
}

fn threads() -> usize {
    std::env::var("VEIL_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(veil::ner::engine::default_threads)
}

/// Text tokens the model sees for `text` (special tokens excluded).
fn tokens(text: &str) -> usize {
    let path = PathBuf::from(model_dir()).join("tokenizer.json");
    veil::ner::tokenize::TextTokenizer::load(&path, false).unwrap().encode(text).unwrap().ids.len()
}

fn detector(max_batch_requests: usize) -> Arc<NerDetector> {
    let dir = model_dir();
    let opts = NerOptions {
        device: std::env::var("VEIL_BENCH_DEVICE").unwrap_or_else(|_| "cpu".into()),
        engine: EngineOptions { max_batch_requests, threads: threads(), ..EngineOptions::default() },
        labels: BTreeMap::new(),
        download: false,
        name_lexicon: true,
    };
    let d = Arc::new(NerDetector::new());
    d.load(&ModelSetting::Dir(dir.into()), &opts).unwrap();
    d
}

/// 16 concurrent detections of `text`, as 16 gateway requests would submit them.
async fn sixteen_at_once(det: &Arc<NerDetector>, text: &'static str) {
    let calls = (0..16).map(|_| {
        let det = det.clone();
        tokio::spawn(async move { det.detect(&[text]).await.map(|_| ()) })
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap().unwrap();
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn summary(rt: &tokio::runtime::Runtime, texts: &BTreeMap<String, String>) {
    let det = detector(EngineOptions::default().max_batch_requests);
    println!("ner model: {} ({} inference threads on the CPU fast path)", det.version(), threads());
    for size in SIZES {
        println!("  {size}: {} bytes, {} tokens", texts[size].len(), tokens(&texts[size]));
    }
    for size in SIZES {
        let text = texts[size].as_str();
        let runs = match size {
            "16kb" => 30,
            "4kb" => 100,
            _ => 300,
        };
        for _ in 0..5 {
            rt.block_on(det.detect(&[text])).unwrap();
        }
        let mut times: Vec<Duration> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                rt.block_on(det.detect(&[text])).unwrap();
                t.elapsed()
            })
            .collect();
        times.sort();
        println!(
            "latency {size:>5} ({} B): p50 {:.2} ms  p99 {:.2} ms  ({runs} runs, concurrency 1)",
            text.len(),
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
    }
    let text: &'static str = Box::leak(texts["1kb"].clone().into_boxed_str());
    for (mode, batch) in [("batched", EngineOptions::default().max_batch_requests), ("one-by-one", 1)] {
        let det = detector(batch);
        let rounds = 20;
        let t = Instant::now();
        for _ in 0..rounds {
            rt.block_on(sixteen_at_once(&det, text));
        }
        let secs = t.elapsed().as_secs_f64();
        let n = (rounds * 16) as f64;
        println!(
            "concurrency 16, 1 KB, {mode}: {:.0} texts/s, {:.0} tokens/s",
            n / secs,
            n * tokens(text) as f64 / secs
        );
    }
}

fn bench(c: &mut Criterion) {
    // What `veil` sets at start-up (src/main.rs `tune_candle`), unless already set.
    for (var, value) in [("CANDLE_BARRIER_POOL_SPIN_LIMIT", "0".to_string()), ("RAYON_NUM_THREADS", num_cpus())] {
        if std::env::var_os(var).is_none() {
            std::env::set_var(var, value);
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let texts = texts();
    // Only under `cargo bench` (criterion passes --bench), not when `cargo test` smoke-runs benches.
    let benching = std::env::args().any(|a| a == "--bench");
    if benching && std::env::var_os("VEIL_BENCH_SKIP_SUMMARY").is_none() {
        summary(&rt, &texts);
    }
    let det = detector(EngineOptions::default().max_batch_requests);
    let mut g = c.benchmark_group("ner_latency");
    for size in SIZES {
        let text = texts[size].clone();
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &text, |b, text| {
            b.iter(|| rt.block_on(det.detect(&[text.as_str()])).unwrap())
        });
    }
    g.finish();
    let mut g = c.benchmark_group("ner_c16");
    g.throughput(Throughput::Elements(16));
    let text: &'static str = Box::leak(texts["1kb"].clone().into_boxed_str());
    for (mode, batch) in [("batched", EngineOptions::default().max_batch_requests), ("one-by-one", 1)] {
        let det = detector(batch);
        g.bench_function(mode, |b| b.iter(|| rt.block_on(sixteen_at_once(&det, text))));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
