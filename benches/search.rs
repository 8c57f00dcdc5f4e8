//! Search benchmarks: `cargo bench --bench search`.
//!
//! Data as in the peer harness (`hashsieve::index::bench::synthetic`, fixed seeds): uniform
//! random hashes plus one planted copy per query with `k` random bits flipped (`k` uniform in
//! `0..=40` for 256-bit, `0..=13` for 64-bit). The list has `HASHSIEVE_BENCH_N` hashes (default
//! 1,000,000; the README figures use 10,000,000). Every index's answers to the benchmark
//! queries are asserted equal to the scalar scan's before it is timed, so a broken kernel or
//! index cannot look fast.
//!
//! Ids: `scan/{scalar,avx2,avx512}/<N>/r<T>` (one query, one thread),
//! `scan_batch/<isa>/<N>/r<T>` (1,000 queries per call, all threads),
//! `mih/query/<N>/r<T>`, `mih/build/<N>`, `bktree/query/<N>/r<T>`, `bktree/build/<N>`, with
//! `64` after the group name for 64-bit hashes. Throughput is in queries (or hashes indexed).
//!
//! Above 2,000,000 hashes the BK-tree is skipped (about 1.5 queries per second at 10M PDQ
//! hashes: checking its answers alone takes a minute) unless `HASHSIEVE_BENCH_BKTREE=1`.
//! Examples: `cargo bench --bench search`, or
//! `HASHSIEVE_BENCH_N=10000000 cargo bench --bench search -- 'scan|mih'`.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hashsieve::arch::Isa;
use hashsieve::index::bench::{synthetic, Synthetic};
use hashsieve::index::{BkTree, HashBits, Index, LinearScan, Match, Mih};
use hashsieve::{Hash256, Hash64};

mod common;
use common::label;

const QUERIES: usize = 1000;
/// Queries whose answers are checked against the scalar scan before timing.
const CHECKED: usize = 64;

/// `HASHSIEVE_BENCH_N`, default 1,000,000.
fn list_size() -> usize {
    common::env_count("HASHSIEVE_BENCH_N", 1_000_000)
}

fn one_thread() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("thread pool")
}

/// The scalar scan's answers for the checked queries (computed in parallel).
fn truth<H: HashBits>(data: &Synthetic<H>, r: u32) -> Vec<Vec<Match>> {
    LinearScan::with_isa(&data.hashes, Isa::Scalar).range_batch(&data.queries[..CHECKED], r)
}

fn assert_exact<H: HashBits>(
    name: &str,
    index: &dyn Index<Hash = H>,
    data: &Synthetic<H>,
    want: &[Vec<Match>],
    r: u32,
) {
    let mut out = Vec::new();
    for (q, w) in data.queries.iter().zip(want) {
        index.range(q, r, &mut out);
        assert_eq!(&out, w, "{name} disagrees with the scalar scan");
    }
}

fn single<H: HashBits>(
    c: &mut Criterion,
    group: &str,
    id: String,
    index: &dyn Index<Hash = H>,
    data: &Synthetic<H>,
    r: u32,
) {
    let pool = one_thread();
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    let mut i = 0;
    let mut out = Vec::new();
    // Time whole batches of iterations inside the one-thread pool, so the index's own
    // parallelism (large scans, large BK-trees) stays on one core.
    g.bench_function(BenchmarkId::from_parameter(id), |b| {
        b.iter_custom(|iters| {
            pool.install(|| {
                let t = Instant::now();
                for _ in 0..iters {
                    let q = &data.queries[i % data.queries.len()];
                    i += 1;
                    index.range(q, r, &mut out);
                    black_box(out.len());
                }
                t.elapsed()
            })
        })
    });
    g.finish();
}

/// `group/build/<nl>`: building an index over the whole list of `n` hashes.
fn build<R>(c: &mut Criterion, group: String, nl: &str, n: usize, mut f: impl FnMut() -> R) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(10);
    g.bench_function(BenchmarkId::from_parameter(format!("build/{nl}")), |b| {
        b.iter(&mut f)
    });
    g.finish();
}

fn width<H: HashBits>(c: &mut Criterion, suffix: &str, r: u32, kmax: u32, seed: u64) {
    let n = list_size();
    let nl = label(n);
    let data = synthetic::<H>(n, QUERIES, kmax, seed);
    let want = truth(&data, r);

    // Linear scan, one query at a time, per instruction set.
    for isa in Isa::available() {
        let scan = LinearScan::with_isa(&data.hashes, isa);
        assert_exact(isa.name(), &scan, &data, &want, r);
        single(
            c,
            &format!("scan{suffix}"),
            format!("{}/{nl}/r{r}", isa.name()),
            &scan,
            &data,
            r,
        );
    }

    // Cache-blocked batch scan: 1,000 queries per call on the whole pool.
    {
        let mut g = c.benchmark_group(format!("scan_batch{suffix}"));
        g.throughput(Throughput::Elements(QUERIES as u64));
        g.sample_size(10);
        for isa in Isa::available().into_iter().filter(|i| *i != Isa::Scalar) {
            let scan = LinearScan::with_isa(&data.hashes, isa);
            let got = scan.range_batch(&data.queries[..CHECKED], r);
            assert_eq!(
                got,
                want,
                "batch {} disagrees with the scalar scan",
                isa.name()
            );
            g.bench_function(
                BenchmarkId::from_parameter(format!("{}/{nl}/r{r}", isa.name())),
                |b| b.iter(|| scan.range_batch(&data.queries, r).len()),
            );
        }
        g.finish();
    }

    // Multi-index hashing.
    let kind = Kind {
        suffix,
        nl: &nl,
        n,
        data: &data,
        want: &want,
        r,
    };
    kind.bench(
        c,
        "mih",
        || Mih::build(&data.hashes).expect("build"),
        |mih| mih.as_bytes().len(),
    );

    // BK-tree.
    if n > 2_000_000 && std::env::var_os("HASHSIEVE_BENCH_BKTREE").is_none() {
        return;
    }
    kind.bench(
        c,
        "bktree",
        || BkTree::build(&data.hashes).expect("build"),
        |tree| tree.nodes(),
    );
}

/// What every index kind of one width is benchmarked on.
struct Kind<'a, H: HashBits> {
    suffix: &'a str,
    nl: &'a str,
    n: usize,
    data: &'a Synthetic<H>,
    want: &'a [Vec<Match>],
    r: u32,
}

impl<H: HashBits> Kind<'_, H> {
    /// `{name}{suffix}/query/<nl>/r<r>` and `{name}{suffix}/build/<nl>` for the index that
    /// `make` builds, after its answers are checked against the scalar scan; `size` is what a
    /// build returns, so the build is not optimised away.
    fn bench<I: Index<Hash = H>>(
        &self,
        c: &mut Criterion,
        name: &str,
        make: impl Fn() -> I,
        size: impl Fn(&I) -> usize,
    ) {
        let (nl, r) = (self.nl, self.r);
        let group = format!("{name}{}", self.suffix);
        let index = make();
        assert_exact(name, &index, self.data, self.want, r);
        single(c, &group, format!("query/{nl}/r{r}"), &index, self.data, r);
        build(c, group, nl, self.n, || size(&make()));
    }
}

fn pdq(c: &mut Criterion) {
    width::<Hash256>(c, "", 31, 40, 1);
}

fn hash64(c: &mut Criterion) {
    width::<Hash64>(c, "64", 10, 13, 2);
}

criterion_group!(benches, pdq, hash64);
criterion_main!(benches);
