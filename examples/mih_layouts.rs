//! Times multi-index hashing layouts side by side at one list size, for choosing the planner's
//! defaults (see the `index::mih` module docs, *Performance*).
//!
//! ```text
//! cargo run --profile release --example mih_layouts -- default mem=32 m=10,b=18,mem=48
//! N=1000000 cargo run --profile release --example mih_layouts -- default mem=32
//! ```
//!
//! Each argument is a layout: `default`, or comma-separated `m=` (tables), `b=` (directory
//! bits), `mem=` (bytes per hash bound). `N` random 256-bit hashes (default 10 million) from a
//! fixed seed, 2,000 queries at `r = 31` on one thread; every layout's first answers are
//! checked against the linear scan. Time is the thread's CPU time (a query is latency-bound
//! and stalls count as CPU time, while time spent descheduled by other processes does not),
//! best of 5 rounds with the layouts interleaved, and each is also given as a ratio to the
//! first layout.

use std::time::Instant;

use hashsieve::index::bench::synthetic;
use hashsieve::index::{Index, LinearScan, Mih, MihOptions};
use hashsieve::Hash256;

/// Seconds of CPU time of the calling thread (wall time where that is not available).
fn cpu_seconds(start: Instant) -> f64 {
    #[cfg(target_os = "linux")]
    {
        let _ = start;
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec and the clock id is a constant.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
    }
    #[cfg(not(target_os = "linux"))]
    start.elapsed().as_secs_f64()
}

fn options(layout: &str, r: u32) -> Result<MihOptions, String> {
    let mut o = MihOptions::new().threshold(r);
    if layout == "default" {
        return Ok(o);
    }
    for kv in layout.split(',') {
        let bad = || format!("bad layout item {kv:?} (expected m=, b= or mem=)");
        let (k, v) = kv.split_once('=').ok_or_else(bad)?;
        match k {
            "m" => o = o.tables(v.parse().map_err(|_| bad())?),
            "b" => o = o.dir_bits(v.parse().map_err(|_| bad())?),
            "mem" => o = o.max_bytes_per_hash(v.parse().map_err(|_| bad())?),
            _ => return Err(bad()),
        }
    }
    Ok(o)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::var("N").map_or(Ok(10_000_000), |v| v.parse())?;
    let (r, queries, checked, rounds) = (31, 2000, 10, 5);
    let data = synthetic::<Hash256>(n, queries, 40, 1);
    let truth = LinearScan::new(&data.hashes[..]).range_batch(&data.queries[..checked], r);
    let mut layouts: Vec<String> = std::env::args().skip(1).collect();
    if layouts.is_empty() {
        layouts.push("default".into());
    }
    let clock = Instant::now();
    let mut built = Vec::new();
    for layout in &layouts {
        let t = Instant::now();
        let mih = Mih::build_with(&data.hashes, &options(layout, r)?)?.fallback(false);
        let mut out = Vec::new();
        for (q, want) in data.queries[..checked].iter().zip(&truth) {
            mih.range(q, r, &mut out);
            assert_eq!(&out, want, "{layout}: answer differs from the linear scan");
        }
        eprintln!(
            "{layout}: {}, {:.1} MB, built in {:.1} s",
            mih.describe(),
            mih.as_bytes().len() as f64 / 1e6,
            t.elapsed().as_secs_f64()
        );
        built.push(mih);
    }
    let mut best = vec![f64::MAX; built.len()];
    let mut out = Vec::new();
    for _ in 0..rounds {
        for (mih, best) in built.iter().zip(&mut best) {
            let t = cpu_seconds(clock);
            for q in &data.queries {
                mih.range(q, r, &mut out);
            }
            *best = best.min(cpu_seconds(clock) - t);
        }
    }
    println!("layout\tdescription\tMB\tqueries/CPU s\tus/query\tratio");
    for ((layout, mih), secs) in layouts.iter().zip(&built).zip(&best) {
        println!(
            "{layout}\t{}\t{:.1}\t{:.0}\t{:.1}\t{:.2}",
            mih.describe(),
            mih.as_bytes().len() as f64 / 1e6,
            queries as f64 / secs,
            secs / queries as f64 * 1e6,
            best[0] / secs
        );
    }
    Ok(())
}
