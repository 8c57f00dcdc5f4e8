//! Hash-list benchmarks: build throughput from hex text, open time (with and without the
//! full check every constructor runs), iteration, lookups and verify on a large list.
//!
//! `cargo bench --bench list`. The large list has `HASHSIEVE_BENCH_N` entries (default
//! 10,000,000: a 10M-entry PDQ list is about 500 MB, built once into a temporary directory
//! outside the timings). The open benchmarks (`list/open_verified/1M`,
//! `list/open_unverified/1M`, and the validated and unvalidated loads of the list's persisted
//! index, `list/index_load_validated/mih/1M`) run at the sizes in `HASHSIEVE_BENCH_OPEN_SIZES`
//! (comma separated, default `1000000`), e.g. `HASHSIEVE_BENCH_OPEN_SIZES=1000000,10000000
//! cargo bench --bench list -- open_`.

use std::hint::black_box;
use std::io::Write;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use hashsieve::index::{Index, IndexKind, IndexOptions, SearchIndex};
use hashsieve::list::import::{import, ImportOptions, InputFormat};
use hashsieve::list::EntryMeta;
use hashsieve::list::INDEX_SECTION;
use hashsieve::{Hash256, HashKind, HashList, ListBuilder};

mod common;
use common::label;
use common::xorshift::XorShift as Rng;

/// `HASHSIEVE_BENCH_N`, default 10,000,000.
fn big_n() -> usize {
    common::env_count("HASHSIEVE_BENCH_N", 10_000_000)
}

fn bench_build(c: &mut Criterion) {
    let n = 1_000_000;
    let mut rng = Rng(0x5eed);
    let mut text = Vec::with_capacity(n * 80);
    for i in 0..n {
        writeln!(text, "{},id-{i}", rng.hash256()).unwrap();
    }
    let mut g = c.benchmark_group("list");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(format!("build/hex/{}", label(n)), |b| {
        b.iter(|| {
            let mut builder = ListBuilder::new(HashKind::Pdq).created(0);
            let options = ImportOptions::new().format(InputFormat::Hex);
            let report = import(&text[..], "bench", &options, &mut builder).unwrap();
            assert_eq!(report.added, n as u64);
            let bytes = builder.to_vec().unwrap();
            black_box(bytes.len())
        })
    });
    g.finish();
}

fn bench_big(c: &mut Criterion) {
    let n = big_n();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.hsl");
    let mut rng = Rng(0xb16);
    let mut builder = ListBuilder::new(HashKind::Pdq).created(0);
    let mut probes = Vec::new();
    for i in 0..n {
        let h = rng.hash256();
        if i % (n / 1000).max(1) == 0 {
            probes.push(h);
        }
        builder.add(h, EntryMeta::new(&format!("id-{i}"))).unwrap();
    }
    let t = std::time::Instant::now();
    let report = builder.write(&path).unwrap();
    eprintln!(
        "built {} entries, {} bytes, write {:?}",
        report.entries,
        report.bytes,
        t.elapsed()
    );
    let id = label(n);

    let mut g = c.benchmark_group("list");
    // SAFETY: the file lives in a private temporary directory and is never modified.
    let list = unsafe { HashList::open_mmap(&path) }.unwrap();
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(format!("iter/hashes/{id}"), |b| {
        b.iter(|| {
            let ones: u64 = list
                .hashes256()
                .unwrap()
                .iter()
                .map(|h| u64::from(h.count_ones()))
                .sum();
            assert!(ones > 0);
            black_box(ones)
        })
    });
    g.bench_function(format!("iter/entries/{id}"), |b| {
        b.iter(|| {
            let mut entries = 0usize;
            let mut id_bytes = 0usize;
            for (_, es) in list.iter() {
                for e in es {
                    entries += 1;
                    id_bytes += e.id().len();
                }
            }
            assert_eq!(entries, n);
            black_box(id_bytes)
        })
    });
    g.bench_function(format!("verify/{id}"), |b| {
        b.iter(|| list.verify().unwrap())
    });

    g.sample_size(50);
    g.throughput(Throughput::Elements(probes.len() as u64));
    g.bench_function(format!("lookup/{id}"), |b| {
        b.iter_batched(
            || probes.clone(),
            |probes| {
                let mut found = 0;
                for h in &probes {
                    let i = list.position(*h).unwrap();
                    found += list.entries_of(i).map(|e| e.id().len()).sum::<usize>();
                }
                assert!(found > 0);
                black_box(found)
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// A PDQ list of `n` entries with ids (and a persisted multi-index hashing section when
/// `mih`), written to `path`.
fn write_list(n: usize, seed: u64, mih: bool, path: &std::path::Path) -> u64 {
    let mut rng = Rng(seed);
    let mut builder = ListBuilder::new(HashKind::Pdq).created(0);
    for i in 0..n {
        builder
            .add(rng.hash256(), EntryMeta::new(&format!("id-{i}")))
            .unwrap();
    }
    if mih {
        let options = IndexOptions::new(IndexKind::Mih).threshold(31);
        builder = builder.index(options);
    }
    builder.write(path).unwrap().bytes
}

/// The cost of the full check at open: mapping with the constant-time header checks only,
/// against mapping and verifying every byte (what `open_mmap`, `read` and `from_bytes` do),
/// on a list that carries a persisted multi-index hashing section (its CRC is checked too).
fn bench_open(c: &mut Criterion) {
    let sizes: Vec<usize> = std::env::var("HASHSIEVE_BENCH_OPEN_SIZES")
        .unwrap_or_else(|_| "1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("list");
    g.sample_size(10);
    for n in sizes {
        let path = dir.path().join(format!("open-{n}.hsl"));
        let bytes = write_list(n, 0x0be9 ^ n as u64, true, &path);
        g.throughput(Throughput::Bytes(bytes));
        let id = label(n);
        g.bench_function(format!("open_unverified/{id}"), |b| {
            b.iter(|| {
                let file = std::fs::File::open(&path).unwrap();
                // SAFETY: the file lives in a private temporary directory, never modified.
                let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
                let list = HashList::from_bytes_unverified(map).unwrap();
                assert_eq!(list.len(), n);
                black_box(list.hashes256().map(<[Hash256]>::len))
            })
        });
        g.bench_function(format!("open_verified/{id}"), |b| {
            b.iter(|| {
                // SAFETY: as above.
                let list = unsafe { HashList::open_mmap(&path) }.unwrap();
                assert_eq!(list.len(), n);
                black_box(list.hashes256().map(<[Hash256]>::len))
            })
        });
        // The persisted index: the full validation the Matcher runs once when a list is
        // added, against the constant-time load it then uses per query.
        // SAFETY: as above.
        let list = unsafe { HashList::open_mmap(&path) }.unwrap();
        let section = list.section(INDEX_SECTION).unwrap();
        let hashes = list.hashes256().unwrap();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("index_load_unvalidated/mih/{id}"), |b| {
            b.iter(|| {
                black_box(
                    SearchIndex::load_unvalidated(section, hashes)
                        .unwrap()
                        .len(),
                )
            })
        });
        g.bench_function(format!("index_load_validated/mih/{id}"), |b| {
            b.iter(|| black_box(SearchIndex::load(section, hashes).unwrap().len()))
        });
        drop(list);
        std::fs::remove_file(&path).unwrap();
    }
    g.finish();
}

criterion_group!(benches, bench_build, bench_open, bench_big);
criterion_main!(benches);
