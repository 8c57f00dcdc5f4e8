//! Exact-hash benchmarks: lookups in a large md5 list, and MD5 + SHA-1 + SHA-256 over bytes.
//!
//! `cargo bench --bench exact`. The list has `HASHSIEVE_BENCH_EXACT_N` entries (default
//! 50,000,000, about 1.7 GB of list plus about 2.5 GB while building; set 10000000 on a small
//! machine). Queries are random digests, half of them present, built outside the timings; each
//! iteration answers 1,000 of them on one thread, so the throughput is lookups per second.
//!
//! - `exact/lookup/md5/50M`: [`ExactKeys::position`] (interpolation, then binary search);
//! - `exact/matcher/md5/50M`: the same queries through [`Matcher::query`] (what `match` and
//!   `scan` do per file hash: lookup, then the match record of a hit);
//! - `exact/digest/{md5,sha1,sha256,all3}/16MiB`: hashing throughput over bytes in memory.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hashsieve::hash::{Digest, ExactHasher};
use hashsieve::list::EntryMeta;
use hashsieve::matching::{ListOptions, Matcher, Query};
use hashsieve::{HashKind, HashList, ListBuilder};

mod common;
use common::label;
use common::xorshift::XorShift as Rng;

const QUERIES: usize = 1000;

fn random_md5(rng: &mut Rng) -> Digest {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&rng.next().to_le_bytes());
    b[8..].copy_from_slice(&rng.next().to_le_bytes());
    Digest::new(HashKind::Md5, &b).unwrap()
}

fn bench_lookup(c: &mut Criterion) {
    let n = common::env_count("HASHSIEVE_BENCH_EXACT_N", 50_000_000);
    let mut rng = Rng(0xe4ac7);
    let mut builder = ListBuilder::new(HashKind::Md5).name("bench").created(0);
    let mut present = Vec::new();
    for i in 0..n {
        let d = random_md5(&mut rng);
        if i % (n / QUERIES).max(1) == 0 && present.len() < QUERIES / 2 {
            present.push(d);
        }
        builder.add(d, EntryMeta::new("")).unwrap();
    }
    let bytes = builder.to_vec().unwrap();
    // Verified once here; the lookups below read the checked bytes.
    let list = HashList::from_bytes(bytes).unwrap();
    let mut queries = present.clone();
    while queries.len() < QUERIES {
        queries.push(random_md5(&mut rng));
    }
    let keys = list.exact_keys().unwrap();
    // Results asserted, so a broken search cannot look fast: every present digest is found.
    let hits = queries
        .iter()
        .filter(|q| keys.position(q).is_some())
        .count();
    assert!(hits >= present.len());

    let mut g = c.benchmark_group("exact");
    g.throughput(Throughput::Elements(QUERIES as u64));
    g.bench_function(format!("lookup/md5/{}", label(n)), |b| {
        b.iter(|| {
            let found = queries
                .iter()
                .filter(|q| keys.position(q).is_some())
                .count();
            assert_eq!(found, hits);
            black_box(found)
        })
    });
    let matcher = Matcher::new();
    matcher.add_list(list, ListOptions::default()).unwrap();
    let qs: Vec<Query> = queries
        .iter()
        .map(|d| Query::new(HashKind::Md5, *d, None))
        .collect();
    g.bench_function(format!("matcher/md5/{}", label(n)), |b| {
        b.iter(|| {
            let found = qs
                .iter()
                .filter(|q| !matcher.query(q).matches().is_empty())
                .count();
            assert_eq!(found, hits);
            black_box(found)
        })
    });
    g.finish();
}

fn bench_digest(c: &mut Criterion) {
    let len = 16 << 20;
    let data: Vec<u8> = (0..len as u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let mut g = c.benchmark_group("exact");
    g.throughput(Throughput::Bytes(len as u64));
    g.sample_size(10);
    for (name, kinds) in [
        ("md5", vec![HashKind::Md5]),
        ("sha1", vec![HashKind::Sha1]),
        ("sha256", vec![HashKind::Sha256]),
        ("md5+sha1", vec![HashKind::Md5, HashKind::Sha1]),
        ("all3", HashKind::EXACT.to_vec()),
    ] {
        g.bench_function(format!("digest/{name}/16MiB"), |b| {
            b.iter(|| {
                let mut h = ExactHasher::new(&kinds);
                for chunk in data.chunks(1 << 18) {
                    h.update(chunk);
                }
                black_box(h.finish())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_lookup, bench_digest);
criterion_main!(benches);
