//! Matcher benchmarks: one PDQ query, and a batch of 1,000, against a 1M-entry list carrying a
//! persisted multi-index hashing section (the path a lookup service takes per request).
//!
//! `cargo bench --bench matcher`.

mod common;

use std::hint::black_box;

use common::xorshift::XorShift as Rng;
use criterion::{criterion_group, criterion_main, Criterion};
use hashsieve::index::{IndexKind, IndexOptions};
use hashsieve::list::EntryMeta;
use hashsieve::matching::{ListOptions, Matcher, Query};
use hashsieve::{Hash256, HashKind, HashList, ListBuilder};

fn bench_matcher(c: &mut Criterion) {
    let n = 1_000_000;
    let mut rng = Rng(0x5eed);
    let hashes: Vec<Hash256> = (0..n).map(|_| rng.hash256()).collect();
    let mut b = ListBuilder::new(HashKind::Pdq).name("bench");
    for (i, h) in hashes.iter().enumerate() {
        b.add(*h, EntryMeta::new(&format!("id-{i}"))).unwrap();
    }
    let b = b.index(IndexOptions::new(IndexKind::Mih).threshold(31));
    let list = HashList::from_bytes(b.to_vec().unwrap()).unwrap();
    let matcher = Matcher::new();
    matcher.add_list(list, ListOptions::default()).unwrap();
    // Queries: every other one a planted near copy (8 bits flipped), the rest random.
    let queries: Vec<Query> = (0..1000)
        .map(|i| {
            let mut q = if i % 2 == 0 {
                hashes[(i * 997) % n]
            } else {
                rng.hash256()
            };
            for k in 0..8 {
                let bit = (rng.next() % 256) as usize;
                if i % 2 == 0 || k == 0 {
                    q.set_bit(bit, !q.bit(bit));
                }
            }
            Query::new(HashKind::Pdq, q, Some(100))
        })
        .collect();
    let mut group = c.benchmark_group("matcher");
    group.bench_function("query/mih/1M/r31", |bench| {
        let mut i = 0;
        bench.iter(|| {
            i = (i + 1) % queries.len();
            black_box(matcher.query(&queries[i]))
        })
    });
    group.sample_size(10);
    group.bench_function("query_batch/mih/1M/r31/1000", |bench| {
        bench.iter(|| black_box(matcher.query_batch(&queries)))
    });
    group.finish();
}

criterion_group!(benches, bench_matcher);
criterion_main!(benches);
