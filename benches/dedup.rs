//! Deduplication benchmark: `cargo bench --bench dedup`.
//!
//! Data as in the peer harness (`hashsieve::matching::planted_clusters`, fixed seed): `N`
//! uniform random 256-bit hashes (`HASHSIEVE_BENCH_N`, default 100,000) with `N / 100` planted
//! clusters of 2..=10 members, each member the cluster's centre with 0..=15 random bits
//! flipped. Before timing, the join's answer is checked: every planted cluster's pairs are
//! found, and every pair reported is within the threshold.
//!
//! Ids: `dedup/selfjoin/<N>/r31`, and `dedup/cluster/single/<N>/r31` and
//! `dedup/cluster/centre/<N>/r31` for clustering end to end with each linkage (all threads;
//! throughput in hashes).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hashsieve::matching::{cluster, planted_clusters, self_join, DedupOptions, Linkage};
use hashsieve::Hash256;

mod common;
use common::label;

/// `HASHSIEVE_BENCH_N`, default 100,000.
fn set_size() -> usize {
    common::env_count("HASHSIEVE_BENCH_N", 100_000)
}

fn selfjoin(c: &mut Criterion) {
    let n = set_size();
    let r = 31;
    let (hashes, truth) = planted_clusters::<Hash256>(n, n / 100, 10, 15, 42);
    let pairs = self_join(&hashes, r);
    assert!(pairs.iter().all(|p| p.a < p.b
        && hashes[p.a as usize].distance(&hashes[p.b as usize]) == p.distance
        && p.distance <= r));
    let found: std::collections::HashSet<(u32, u32)> = pairs.iter().map(|p| (p.a, p.b)).collect();
    for members in &truth {
        for (x, &a) in members.iter().enumerate() {
            for &b in &members[x + 1..] {
                if hashes[a as usize].distance(&hashes[b as usize]) <= r {
                    assert!(found.contains(&(a, b)), "planted pair missed");
                }
            }
        }
    }
    let mut g = c.benchmark_group("dedup");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_with_input(
        BenchmarkId::new("selfjoin", format!("{}/r{r}", label(n))),
        &hashes,
        |b, h| b.iter(|| black_box(self_join(black_box(h), r))),
    );
    g.finish();
}

fn clustering(c: &mut Criterion) {
    let n = set_size();
    let r = 31;
    let (hashes, truth) = planted_clusters::<Hash256>(n, n / 100, 10, 15, 42);
    let mut g = c.benchmark_group("dedup");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    for (name, linkage) in [("single", Linkage::Single), ("centre", Linkage::Centre)] {
        let opts = DedupOptions::new(r).linkage(linkage);
        let got = cluster(&hashes, &[], &opts).expect("cluster");
        // Members of a planted cluster are within 30 of each other: single linkage keeps
        // each whole; centre linkage keeps every member within the threshold.
        assert!(got.len() >= truth.len() / 2);
        if linkage == Linkage::Centre {
            assert!(got.iter().all(|c| c.max_distance <= r));
        }
        g.bench_with_input(
            BenchmarkId::new(format!("cluster/{name}"), format!("{}/r{r}", label(n))),
            &hashes,
            |b, h| b.iter(|| black_box(cluster(black_box(h), &[], &opts).expect("cluster"))),
        );
    }
    g.finish();
}

criterion_group!(benches, selfjoin, clustering);
criterion_main!(benches);
