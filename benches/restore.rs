//! Restore speed: whole-text restore and stream restore with 1-byte and 64-byte chunks.
#![allow(clippy::unwrap_used)]

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use veil::mask::{Escape, Label, PlaceholderMap, Restorer, StreamRestorer};

fn answer(map: &mut PlaceholderMap, size: usize) -> String {
    let p = map.placeholder_for("Jane Doe", Label::Person).to_string();
    let e = map.placeholder_for("jane.doe@example.com", Label::Email).to_string();
    let c = map.placeholder_for("4111 1111 1111 1111", Label::CreditCard).to_string();
    let para = format!(
        "Dear {p}, thanks for writing from {e}. We refunded the double charge on card {c} and \
         will confirm by mail. Please let us know if anything else comes up with your account. "
    );
    let mut s = String::new();
    while s.len() < size {
        s.push_str(&para);
    }
    s
}

fn bench(c: &mut Criterion) {
    let mut map = PlaceholderMap::default();
    let text = answer(&mut map, 4096);
    let restorer = Restorer::new(&map);
    let mut g = c.benchmark_group("restore");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("whole_4k", |b| b.iter(|| black_box(restorer.restore(&text, Escape::None))));
    for chunk in [1usize, 64] {
        let pieces: Vec<&str> = {
            let mut v = Vec::new();
            let mut i = 0;
            while i < text.len() {
                let mut j = (i + chunk).min(text.len());
                while !text.is_char_boundary(j) {
                    j += 1;
                }
                v.push(&text[i..j]);
                i = j;
            }
            v
        };
        g.bench_with_input(BenchmarkId::new("stream_4k", chunk), &pieces, |b, pieces| {
            b.iter(|| {
                let mut s = StreamRestorer::new(restorer.clone(), Escape::None);
                let mut n = 0;
                for p in pieces {
                    n += s.push(p).len();
                }
                n += s.finish().len();
                black_box(n)
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
