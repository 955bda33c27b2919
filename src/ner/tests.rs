//! Veil against transformers: tiny random checkpoints of each architecture with the ids,
//! logits and pipeline spans transformers produced (`tests/fixtures/ner/make_fixtures.py`).

use super::engine::{Backend, Engine, EngineOptions, Worker};
use super::fast::{FastModel, Scratch};
use super::labels::{self, LabelScheme, Prediction};
use super::model::TokenClassifier;
use super::source::ModelSource;
use super::tokenize::{TextTokenizer, Window};
use super::{build_worker, NerOptions};
use candle_core::Device;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Deserialize)]
struct Expected {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    text: String,
    input_ids: Vec<u32>,
    offsets: Vec<(usize, usize)>,
    logits: Vec<Vec<f32>>,
    spans: Vec<Span>,
}

#[derive(Deserialize, Debug)]
struct Span {
    start: usize,
    end: usize,
    entity_group: String,
    score: f32,
}

fn dir(arch: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ner").join(arch)
}

fn expected(arch: &str) -> Expected {
    let text = std::fs::read_to_string(dir(arch).join("expected.json")).expect("fixture");
    serde_json::from_str(&text).expect("fixture parses")
}

fn char_offset(text: &str, byte: usize) -> usize {
    text[..byte].chars().count()
}

fn to_preds(logits: &[Vec<f32>]) -> Vec<Prediction> {
    logits
        .iter()
        .map(|row| {
            let (class, max) =
                row.iter().enumerate().fold((0, f32::NEG_INFINITY), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
            let sum: f32 = row.iter().map(|v| (v - max).exp()).sum();
            Prediction { class, score: 1.0 / sum, person: 0.0 }
        })
        .collect()
}

/// Ids, offsets and logits match transformers for every case, alone and padded in one
/// batch; for `compare_spans`, the grouped spans match the pipeline's too.
fn check_arch(arch: &str, compare_spans: bool) {
    let exp = expected(arch);
    let model = TokenClassifier::load(&dir(arch), &Device::Cpu).expect("model loads");
    let tok = TextTokenizer::load(&dir(arch).join("tokenizer.json"), false).expect("tokenizer loads");
    let scheme = LabelScheme::parse(&model.config.id2label).expect("labels");
    let mut rows = Vec::new();
    for case in &exp.cases {
        let enc = tok.encode(&case.text).expect("encodes");
        let (ids, types) = tok.window_input(&enc, &Window { start: 0, end: enc.ids.len() });
        assert_eq!(ids, case.input_ids, "{arch}: ids of {:?}", case.text);
        let text_offsets = &case.offsets[tok.text_offset()..tok.text_offset() + enc.tokens.len()];
        for (t, want) in enc.tokens.iter().zip(text_offsets) {
            let got = (char_offset(&case.text, t.start), char_offset(&case.text, t.end));
            assert_eq!(got, *want, "{arch}: offsets in {:?}", case.text);
        }
        let logits = model.forward(&[(ids.clone(), types.clone())]).expect("forward").to_vec3::<f32>().expect("vec");
        let got = &logits[0];
        assert_eq!(got.len(), case.logits.len());
        let worst =
            got.iter().flatten().zip(case.logits.iter().flatten()).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 2e-3, "{arch}: logits differ by {worst} on {:?}", case.text);
        if compare_spans {
            let body = &got[tok.text_offset()..tok.text_offset() + enc.tokens.len()];
            let groups = labels::group(&scheme, &enc.tokens, &to_preds(body));
            let ours: Vec<(usize, usize, &str)> = groups
                .iter()
                .map(|g| {
                    (char_offset(&case.text, g.start), char_offset(&case.text, g.end), scheme.types[g.entity].as_str())
                })
                .collect();
            let theirs: Vec<(usize, usize, &str)> =
                case.spans.iter().map(|s| (s.start, s.end, s.entity_group.as_str())).collect();
            assert_eq!(ours, theirs, "{arch}: spans of {:?}", case.text);
            for (g, s) in groups.iter().zip(&case.spans) {
                assert!((g.score - s.score).abs() < 1e-3, "{arch}: score {} vs {}", g.score, s.score);
            }
        }
        rows.push((ids, types, got.clone()));
    }
    // All cases in one padded batch give the same logits as one at a time.
    let inputs: Vec<(Vec<u32>, Vec<u32>)> = rows.iter().map(|(i, t, _)| (i.clone(), t.clone())).collect();
    let batch = model.forward(&inputs).expect("batch forward").to_vec3::<f32>().expect("vec");
    for ((ids, _, single), padded) in rows.iter().zip(&batch) {
        for (a, b) in single.iter().flatten().zip(padded[..ids.len()].iter().flatten()) {
            assert!((a - b).abs() < 1e-4, "{arch}: padding changed a logit: {a} vs {b}");
        }
    }
}

#[test]
fn bert_matches_transformers() {
    check_arch("bert", true);
}

#[test]
fn distilbert_matches_transformers() {
    check_arch("distilbert", true);
}

/// SentencePiece models: ids, offsets and logits. Their pipeline spans differ on purpose
/// where the pipeline glues words across tabs, newlines and NBSP (it only splits on ' ').
#[test]
fn deberta_v2_matches_transformers() {
    check_arch("deberta_v2", false);
}

#[test]
fn xlm_roberta_matches_transformers() {
    check_arch("xlm_roberta", false);
}

/// Logits of the fast path, one `(len, labels)` matrix per row, all rows in one call.
fn fast_logits(model: &FastModel, rows: &[(Vec<u32>, Vec<u32>)]) -> Vec<Vec<Vec<f32>>> {
    let mut scratch = Scratch::default();
    let refs: Vec<(&[u32], &[u32])> = rows.iter().map(|(i, t)| (i.as_slice(), t.as_slice())).collect();
    let flat = model.forward(&refs, &mut scratch).expect("fast forward");
    let n = model.labels();
    let mut out = Vec::new();
    let mut at = 0;
    for (ids, _) in rows {
        out.push((0..ids.len()).map(|t| flat[(at + t) * n..(at + t + 1) * n].to_vec()).collect());
        at += ids.len();
    }
    assert_eq!(at * n, flat.len());
    out
}

fn worst_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().flatten().zip(b.iter().flatten()).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max)
}

/// The fast path against transformers (every fixture case alone), against itself (all
/// cases stacked in one call, each at its own length) and against candle (the cases, and
/// long inputs with token types, padded together under candle).
fn check_fast(arch: &str) {
    let exp = expected(arch);
    let model = TokenClassifier::load(&dir(arch), &Device::Cpu).expect("model loads");
    let fast = FastModel::from_classifier(&model).expect("converts").expect("a BERT-family model");
    let tok = TextTokenizer::load(&dir(arch).join("tokenizer.json"), false).expect("tokenizer loads");
    let mut rows = Vec::new();
    for case in &exp.cases {
        let enc = tok.encode(&case.text).expect("encodes");
        let row = tok.window_input(&enc, &Window { start: 0, end: enc.ids.len() });
        let alone = fast_logits(&fast, std::slice::from_ref(&row)).remove(0);
        let worst = worst_diff(&alone, &case.logits);
        assert!(worst < 2e-3, "{arch}: fast logits differ from transformers by {worst} on {:?}", case.text);
        rows.push((row, alone));
    }
    let inputs: Vec<(Vec<u32>, Vec<u32>)> = rows.iter().map(|(r, _)| r.clone()).collect();
    let stacked = fast_logits(&fast, &inputs);
    for ((_, alone), together) in rows.iter().zip(&stacked) {
        let worst = worst_diff(alone, together);
        assert!(worst < 1e-4, "{arch}: stacking windows changed a logit by {worst}");
    }
    // Long windows of every length from 3 tokens up, with token types where the model has them.
    let long = exp.cases.iter().map(|c| c.text.as_str()).collect::<Vec<_>>().join(" ");
    let enc = tok.encode(&std::iter::repeat_n(long.as_str(), 8).collect::<Vec<_>>().join(" ")).expect("encodes");
    let limit = model.config.max_positions - tok.special_count();
    let type_vocab = model.config.raw.get("type_vocab_size").and_then(serde_json::Value::as_u64).unwrap_or(0);
    let mut mixed = inputs.clone();
    for (k, len) in [1, limit, 17, limit - 5, 64].into_iter().enumerate() {
        let (ids, mut types) = tok.window_input(&enc, &Window { start: k * 7, end: k * 7 + len.min(enc.ids.len()) });
        if type_vocab > 1 {
            types.iter_mut().enumerate().for_each(|(i, t)| *t = (i % type_vocab as usize) as u32);
        }
        mixed.push((ids, types));
    }
    let ours = fast_logits(&fast, &mixed);
    let theirs = model.forward(&mixed).expect("candle forward").to_vec3::<f32>().expect("vec");
    for ((row, a), b) in mixed.iter().zip(&ours).zip(&theirs) {
        let worst = worst_diff(a, &b[..row.0.len()]);
        assert!(worst < 1e-4, "{arch}: fast and candle differ by {worst} on a {}-token window", row.0.len());
    }
}

#[test]
fn fast_bert_matches_transformers_and_candle() {
    check_fast("bert");
}

#[test]
fn fast_distilbert_matches_transformers_and_candle() {
    check_fast("distilbert");
}

#[test]
fn fast_xlm_roberta_matches_transformers_and_candle() {
    check_fast("xlm_roberta");
}

#[test]
fn fast_path_leaves_deberta_to_candle() {
    let model = TokenClassifier::load(&dir("deberta_v2"), &Device::Cpu).expect("model loads");
    assert!(FastModel::from_classifier(&model).expect("no error").is_none());
}

/// Ids outside the tables fail the call instead of reading out of bounds.
#[test]
fn fast_path_refuses_out_of_range_inputs() {
    let model = TokenClassifier::load(&dir("bert"), &Device::Cpu).expect("model loads");
    let fast = FastModel::from_classifier(&model).expect("converts").expect("bert");
    let mut s = Scratch::default();
    let e = fast.forward(&[(&[1, 999_999], &[0, 0])], &mut s).map(|_| ()).expect_err("bad id");
    assert!(e.to_string().contains("vocabulary"), "{e}");
    let e = fast.forward(&[(&[1, 2], &[0, 7])], &mut s).map(|_| ()).expect_err("bad type");
    assert!(e.to_string().contains("type"), "{e}");
    let long = vec![1u32; 400];
    let e = fast.forward(&[(&long, &long)], &mut s).map(|_| ()).expect_err("too long");
    assert!(e.to_string().contains("positions"), "{e}");
}

#[test]
fn grouping_matches_the_pipeline_on_forced_logits() {
    #[derive(Deserialize)]
    struct Agg {
        text: String,
        logits: Vec<Vec<f32>>,
        spans: Vec<Span>,
    }
    let agg: Agg =
        serde_json::from_str(&std::fs::read_to_string(dir("bert").join("aggregation.json")).expect("fixture"))
            .expect("parses");
    let model = TokenClassifier::load(&dir("bert"), &Device::Cpu).expect("model loads");
    let tok = TextTokenizer::load(&dir("bert").join("tokenizer.json"), false).expect("tokenizer loads");
    let scheme = LabelScheme::parse(&model.config.id2label).expect("labels");
    let enc = tok.encode(&agg.text).expect("encodes");
    let body = &agg.logits[tok.text_offset()..tok.text_offset() + enc.tokens.len()];
    let groups = labels::group(&scheme, &enc.tokens, &to_preds(body));
    let ours: Vec<_> = groups
        .iter()
        .map(|g| (char_offset(&agg.text, g.start), char_offset(&agg.text, g.end), scheme.types[g.entity].clone()))
        .collect();
    let theirs: Vec<_> = agg.spans.iter().map(|s| (s.start, s.end, s.entity_group.clone())).collect();
    assert_eq!(ours, theirs);
}

fn worker(arch: &str, window: usize, overlap: usize) -> Worker {
    let opts = NerOptions {
        device: "cpu".into(),
        engine: EngineOptions { window, overlap, min_score: Some(0.0), ..EngineOptions::default() },
        labels: BTreeMap::new(),
        download: false,
        name_lexicon: true,
    };
    build_worker(&ModelSource::Dir(dir(arch)), &opts).expect("worker").0
}

/// Windowing changes nothing that has enough context: with windows of 24 tokens and an
/// overlap of 12, the long case yields the spans one full-length pass yields, except
/// near window edges, and every token is classified (nothing after the first window is
/// lost). With the fixture's random weights, context matters, so we compare coverage.
#[test]
fn long_texts_are_windowed_not_truncated() {
    let long = expected("bert").cases.into_iter().map(|c| c.text).max_by_key(String::len).expect("cases");
    let text = std::iter::repeat_n(long.as_str(), 6).collect::<Vec<_>>().join(" ");
    let w = worker("bert", 24, 12);
    let out = w.detect_batch(&[vec![text.as_str()]]).expect("detect");
    let spans = &out[0][0];
    // Spans reach the end of a text ~6x longer than one window.
    let last = spans.iter().map(|e| e.end).max().unwrap_or(0);
    assert!(last > text.len() * 9 / 10, "last span ends at {last} of {}", text.len());
    for e in spans {
        assert!(text.is_char_boundary(e.start) && text.is_char_boundary(e.end) && e.start < e.end);
    }
}

/// Jobs submitted at once are batched together and get exactly what each gets alone.
#[test]
fn concurrent_jobs_get_what_they_get_alone() {
    let det = super::NerDetector::new();
    let opts = NerOptions {
        device: "cpu".into(),
        engine: EngineOptions { min_score: Some(0.0), ..EngineOptions::default() },
        labels: BTreeMap::new(),
        download: false,
        name_lexicon: true,
    };
    det.load(&crate::config::ModelSetting::Dir(dir("bert")), &opts).expect("loads");
    let texts: Vec<String> = expected("bert").cases.into_iter().map(|c| c.text).collect();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().expect("runtime");
    use crate::mask::Detector;
    let alone: Vec<_> = texts.iter().map(|t| rt.block_on(det.detect(&[t.as_str()])).expect("detect")).collect();
    let det = std::sync::Arc::new(det);
    let together = rt.block_on(async {
        let calls = texts.iter().cloned().map(|t| {
            let det = det.clone();
            tokio::spawn(async move { det.detect(&[t.as_str()]).await.expect("detect") })
        });
        futures::future::join_all(calls).await
    });
    for (a, b) in alone.iter().zip(together) {
        let b = b.expect("joined");
        assert_eq!(a.len(), b.len());
        for (x, y) in a[0].iter().zip(&b[0]) {
            assert_eq!((x.start, x.end, x.label), (y.start, y.end, y.label));
            assert!((x.score - y.score).abs() < 1e-4);
        }
    }
}

/// The same worker on candle instead of the fast path.
fn candle_worker(arch: &str, window: usize, overlap: usize) -> Worker {
    let mut w = worker(arch, window, overlap);
    w.backend = Backend::Candle(TokenClassifier::load(&dir(arch), &Device::Cpu).expect("model loads"));
    w
}

fn same_entities(a: &[crate::mask::Entity], b: &[crate::mask::Entity], what: &str) {
    let key = |e: &crate::mask::Entity| (e.start, e.end, e.label);
    assert_eq!(a.iter().map(key).collect::<Vec<_>>(), b.iter().map(key).collect::<Vec<_>>(), "{what}");
    for (x, y) in a.iter().zip(b) {
        assert!((x.score - y.score).abs() < 1e-4, "{what}: score {} vs {}", x.score, y.score);
    }
}

/// Texts of every length, from empty to many windows of 24 tokens.
fn mixed_texts(arch: &str) -> Vec<String> {
    let cases: Vec<String> = expected(arch).cases.into_iter().map(|c| c.text).collect();
    let mut texts = vec![String::new(), "   ".to_string()];
    texts.extend(cases.iter().cloned());
    for n in [2, 5] {
        texts.push(std::iter::repeat_n(cases.join(" "), n).collect::<Vec<_>>().join("\n"));
    }
    texts
}

/// The fast path and candle find the same spans, windows and overlaps included.
#[test]
fn fast_worker_matches_candle_worker() {
    for arch in ["bert", "distilbert", "xlm_roberta"] {
        let mut fast = worker(arch, 24, 8);
        assert!(matches!(fast.backend, Backend::Fast(_)), "{arch} runs on the fast path");
        // candle cuts windows for one thread: cut alike
        fast.options.threads = 1;
        let candle = candle_worker(arch, 24, 8);
        let texts = mixed_texts(arch);
        let jobs = vec![texts.iter().map(String::as_str).collect::<Vec<_>>(), vec![texts[3].as_str()]];
        let ours = fast.detect_batch(&jobs).expect("fast detect");
        let theirs = candle.detect_batch(&jobs).expect("candle detect");
        for (j, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            for (t, (x, y)) in a.iter().zip(b).enumerate() {
                same_entities(x, y, &format!("{arch}: job {j} text {t}"));
            }
        }
    }
    assert!(matches!(worker("deberta_v2", 24, 8).backend, Backend::Candle(_)));
}

/// A pool of workers answers many concurrent multi-text jobs exactly as one thread does,
/// whatever the number of workers; callers that went away do not stop the others.
#[test]
fn worker_pool_answers_like_a_single_thread() {
    let texts = mixed_texts("bert");
    for threads in [1, 2, 3] {
        // Windows are cut in multiples of `threads`: compare with one thread cutting alike
        // (the fast path equals candle: `fast_worker_matches_candle_worker`).
        let mut single = worker("bert", 24, 8);
        single.options.threads = threads;
        let want =
            single.detect_batch(&[texts.iter().map(String::as_str).collect::<Vec<_>>()]).expect("detect").remove(0);
        // A job of one text: names found in the other texts of a job do not reach it.
        let alone: Vec<Vec<crate::mask::Entity>> = texts
            .iter()
            .map(|t| single.detect_batch(&[vec![t.as_str()]]).expect("detect").remove(0).remove(0))
            .collect();
        let mut w = worker("bert", 24, 8);
        w.options.threads = threads;
        let engine = Engine::start(w).expect("starts");
        // Abandoned callers first: their jobs are skipped, not answered.
        for _ in 0..3 {
            drop(engine.submit(texts.clone()).expect("queued"));
        }
        let rxs: Vec<_> = (0..12)
            .map(|i| {
                // Jobs of one text and of all texts, interleaved.
                let job = if i % 2 == 0 { texts.clone() } else { vec![texts[i % texts.len()].clone()] };
                (i, engine.submit(job).expect("queued"))
            })
            .collect();
        for (i, rx) in rxs {
            let got = rx.blocking_recv().expect("answered").expect("detected");
            if i % 2 == 0 {
                assert_eq!(got.len(), texts.len());
                for (t, (a, b)) in got.iter().zip(&want).enumerate() {
                    same_entities(a, b, &format!("{threads} threads: job {i} text {t}"));
                }
            } else {
                assert_eq!(got.len(), 1);
                same_entities(&got[0], &alone[i % texts.len()], &format!("{threads} threads: job {i}"));
            }
        }
    }
}

/// A full queue refuses at once; the engine keeps serving afterwards.
#[test]
fn full_pool_queue_refuses_at_once() {
    let mut w = worker("bert", 24, 8);
    w.options.threads = 1;
    w.options.queue_capacity = 1;
    let engine = Engine::start(w).expect("starts");
    let long = mixed_texts("bert").pop().expect("texts");
    let mut refused = 0;
    let mut rxs = Vec::new();
    for _ in 0..200 {
        match engine.submit(vec![long.clone()]) {
            Ok(rx) => rxs.push(rx),
            Err(e) => {
                assert_eq!(e, super::engine::SubmitError::Full);
                refused += 1;
            }
        }
    }
    assert!(refused > 0, "200 long jobs at once never filled a queue of 1");
    for rx in rxs {
        rx.blocking_recv().expect("answered").expect("detected");
    }
    let rx = engine.submit(vec!["Alice lives in Paris".into()]).expect("queued again");
    rx.blocking_recv().expect("answered").expect("detected");
}

/// A model that does not match its config stops loading with the file and the field.
#[test]
fn load_errors_name_the_file_and_the_field() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for f in ["config.json", "tokenizer.json", "model.safetensors"] {
        std::fs::copy(dir("bert").join(f), tmp.path().join(f)).expect("copy");
    }
    let cfg_path = tmp.path().join("config.json");
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg_path).expect("read")).expect("json");
    let write = |v: &serde_json::Value| std::fs::write(&cfg_path, v.to_string()).expect("write");
    let err = |v: &serde_json::Value| {
        write(v);
        match TokenClassifier::load(tmp.path(), &Device::Cpu) {
            Ok(_) => panic!("loads a broken model: {v}"),
            Err(e) => format!("{e:#}"),
        }
    };
    let mut v = original.clone();
    v["hidden_size"] = 64.into();
    let e = err(&v);
    assert!(e.contains("model.safetensors") && e.contains("do not match config.json"), "{e}");
    let mut v = original.clone();
    v.as_object_mut().expect("object").remove("id2label");
    let e = err(&v);
    assert!(e.contains("config.json") && e.contains("id2label"), "{e}");
    let mut v = original.clone();
    v["model_type"] = "gpt2".into();
    let e = err(&v);
    assert!(e.contains("model_type") && e.contains("gpt2"), "{e}");
    let mut v = original.clone();
    let mut labels = serde_json::Map::new();
    labels.insert("0".into(), "O".into());
    labels.insert("1".into(), "B-PER".into());
    v["id2label"] = labels.into();
    let e = err(&v);
    assert!(e.contains("classifier") && e.contains("2 labels"), "{e}");
    // A name list that config.json names but the folder lacks stops the load; with
    // `name_lexicon = false` it is not read at all.
    let mut v = original;
    v["veil_name_lexicon"] = serde_json::json!({"file": "names.txt", "min_person": 0.01});
    write(&v);
    let opts = |name_lexicon| NerOptions {
        device: "cpu".into(),
        engine: EngineOptions::default(),
        labels: BTreeMap::new(),
        download: false,
        name_lexicon,
    };
    match build_worker(&ModelSource::Dir(tmp.path().to_path_buf()), &opts(true)) {
        Ok(_) => panic!("loads without its name list"),
        Err(e) => {
            let e = format!("{e:#}");
            assert!(e.contains("veil_name_lexicon") && e.contains("names.txt"), "{e}");
        }
    }
    assert!(build_worker(&ModelSource::Dir(tmp.path().to_path_buf()), &opts(false)).is_ok());
    std::fs::write(tmp.path().join("names.txt"), "Anna\n").expect("write");
    let w = build_worker(&ModelSource::Dir(tmp.path().to_path_buf()), &opts(true)).expect("loads").0;
    assert_eq!(w.lexicon.as_ref().map(|l| l.len()), Some(1));
}

/// The built-in default model loads from memory, finds a name no pattern catches, and its
/// detector version names the weights and the list exactly as the folder's copy does.
#[test]
fn the_built_in_model_loads_from_memory() {
    let opts = NerOptions {
        device: "cpu".into(),
        engine: EngineOptions { threads: 1, ..EngineOptions::default() },
        labels: BTreeMap::new(),
        download: false,
        name_lexicon: true,
    };
    let (w, version) = build_worker(&ModelSource::Embedded, &opts).expect("the built-in model loads");
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/veil-pii");
    assert_eq!(build_worker(&ModelSource::Dir(folder), &opts).expect("the folder loads").1, version);
    assert!(version.starts_with("ner/veil-pii@") && version.contains("+names@"), "{version}");
    assert!(w.lexicon.is_some(), "the built-in name list is used");
    let text = "Hi, I'm Priya Raghunathan from Acme Corp";
    let found = w.detect_batch(&[vec![text]]).expect("detect").remove(0).remove(0);
    assert!(
        found.iter().any(|e| e.label == crate::mask::Label::Person && text[e.start..e.end].contains("Raghunathan")),
        "{found:?}"
    );
}

/// A model's own per-label threshold (`veil_label_min_score`) drops that label's weaker
/// spans and leaves the others; `[detect] min_score`, when set, replaces it.
#[test]
fn a_label_threshold_of_the_model_applies_to_its_label_only() {
    let texts = mixed_texts("bert");
    let jobs: Vec<Vec<&str>> = texts.iter().map(|t| vec![t.as_str()]).collect();
    let mut w = worker("bert", 0, 0);
    let all: Vec<_> = w.detect_batch(&jobs).expect("detect").into_iter().flatten().flatten().collect();
    // Not a label the rules after the model make spans of (`names`: PERSON, `address`: a
    // street with its number, "at 221B Baker Street, London").
    let ruled = [crate::mask::Label::Person, crate::mask::Label::StreetAddress];
    let label = all.iter().map(|e| e.label).find(|l| !ruled.contains(l)).expect("a span of another label");
    assert!(all.iter().any(|e| e.label != label), "fixture gives one label only");
    w.label_min_score = vec![(label, 1.01)];
    let fewer: Vec<_> = w.detect_batch(&jobs).expect("detect").into_iter().flatten().flatten().collect();
    assert!(fewer.iter().all(|e| e.label != label), "{label:?} spans left: {fewer:?}");
    assert!(!fewer.is_empty(), "the other labels' spans were dropped too");

    // From config.json: a user's min_score wins; unknown labels and out-of-range values fail.
    let tmp = tempfile::tempdir().expect("tempdir");
    for f in ["config.json", "tokenizer.json", "model.safetensors"] {
        std::fs::copy(dir("bert").join(f), tmp.path().join(f)).expect("copy fixture");
    }
    let write = |extra: serde_json::Value| {
        let mut cfg: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir("bert").join("config.json")).unwrap()).unwrap();
        cfg["veil_label_min_score"] = extra;
        std::fs::write(tmp.path().join("config.json"), cfg.to_string()).unwrap();
    };
    let build = |min_score: Option<f32>| {
        let opts = NerOptions {
            device: "cpu".into(),
            engine: EngineOptions { min_score, ..EngineOptions::default() },
            labels: BTreeMap::new(),
            download: false,
            name_lexicon: true,
        };
        build_worker(&ModelSource::Dir(tmp.path().to_path_buf()), &opts).map(|(w, _)| w)
    };
    write(serde_json::json!({ label.to_string(): 0.2 }));
    assert_eq!(build(None).expect("worker").label_min_score, vec![(label, 0.2)]);
    assert!(build(Some(0.5)).expect("worker").label_min_score.is_empty());
    write(serde_json::json!({ "NOT_A_LABEL": 0.2 }));
    let err = format!("{:#}", build(None).err().expect("unknown label refused"));
    assert!(err.contains("NOT_A_LABEL") && err.contains("is not a Veil label"), "{err}");
    write(serde_json::json!({ "PERSON": 1.5 }));
    let err = format!("{:#}", build(None).err().expect("out of range refused"));
    assert!(err.contains("not between 0 and 1"), "{err}");
}
