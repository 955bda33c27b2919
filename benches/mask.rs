//! Pattern masking speed: 1 KB and 16 KB prompts with PII, through `Masker::mask` (all
//! validated patterns, span merge, placeholder map), as the gateway runs it per request;
//! and the deny-by-default walk that finds every string of a request body.
#![allow(clippy::unwrap_used)]

use criterion::{black_box, criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use veil::mask::patterns::PatternDetector;
use veil::mask::{Masker, PlaceholderMap, ValueHasher};

/// Realistic prompt text with a few values per KB, repeated to `size` bytes.
pub fn prompt(size: usize) -> String {
    let para = "Hi team, customer Jane Doe (jane.doe@example.com, +1 415 555 0132) says her card \
4111 1111 1111 1111 was charged twice on 2024-03-02. Refund to IBAN DE89 3704 0044 0532 0130 00 \
and check the login from 203.0.113.42. The order number is 88231-A and the ticket mentions \
version 2.4.1 of the app; she also wrote from www.example.org/help. Please reply politely, \
summarise the issue, and propose next steps for the support agent, keeping it short and clear. ";
    let mut s = String::with_capacity(size + para.len());
    while s.len() < size {
        s.push_str(para);
    }
    let mut cut = size;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let det = PatternDetector::new(&BTreeMap::new()).unwrap();
    let masker = Masker::new(vec![Arc::new(det)], HashMap::new(), &[], ValueHasher::new(b"bench"));
    let mut g = c.benchmark_group("mask_patterns");
    for size in [1024usize, 16 * 1024] {
        let text = prompt(size);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &text, |b, text| {
            b.iter(|| {
                let mut t = text.clone();
                let mut map = PlaceholderMap::default();
                rt.block_on(masker.mask(&mut [&mut t], &mut map)).unwrap();
                black_box((t, map))
            })
        });
    }
    g.finish();
}

/// A chat request as agent frameworks send it: a system prompt, a short conversation with
/// a tool round trip, four tools with JSON schemas, a response format and a user id.
fn agent_request() -> Value {
    let tool = |name: &str| {
        json!({"type": "function", "function": {"name": name, "description": "Looks up an order by its number.",
            "parameters": {"type": "object", "properties": {
                "order": {"type": "string", "description": "The order number, e.g. 88231-A"},
                "status": {"type": "string", "enum": ["open", "shipped", "refunded"]},
                "limit": {"type": "integer", "default": 10}},
            "required": ["order"], "additionalProperties": false}}})
    };
    json!({"model": "openai/gpt-4o-mini", "user": "customer-4711", "temperature": 0.2,
    "tools": [tool("lookup_order"), tool("refund_order"), tool("list_orders"), tool("escalate")],
    "response_format": {"type": "json_schema", "json_schema": {"name": "reply", "schema": {"type": "object",
        "properties": {"answer": {"type": "string"}}, "required": ["answer"]}}},
    "messages": [
        {"role": "system", "content": prompt(600)},
        {"role": "user", "content": prompt(400)},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_8f2k1", "type": "function",
            "function": {"name": "lookup_order", "arguments": "{\"order\":\"88231-A\"}"}}]},
        {"role": "tool", "tool_call_id": "call_8f2k1", "content": "{\"status\":\"shipped\"}"},
        {"role": "user", "content": [{"type": "text", "text": "Thanks, and the refund?"}]}
    ]})
}

fn walk(c: &mut Criterion) {
    let body = agent_request();
    let mut g = c.benchmark_group("deny_walk");
    g.bench_function("openai_agent_request", |b| {
        b.iter_batched_ref(
            || body.clone(),
            |v| black_box(veil::providers::openai::request_texts(v).unwrap().len()),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = bench, walk
}
criterion_main!(benches);
