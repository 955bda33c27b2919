//! Pattern masking speed: 1 KB and 16 KB prompts with PII, through `Masker::mask` (all
//! validated patterns, span merge, placeholder map), as the gateway runs it per request.
#![allow(clippy::unwrap_used)]

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
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

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = bench
}
criterion_main!(benches);
