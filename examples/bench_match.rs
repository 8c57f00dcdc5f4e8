//! Matching throughput on synthetic data: every index against the brute-force scan, with recall.
//! The same measurement as `hashsieve bench search`, from the library.
//!
//! Run: `cargo run --release --example bench_match -- [SIZE] [THRESHOLD] [BITS]`
//! (defaults: 1000000 31 256).

use hashsieve::index::bench::{run_with, BenchOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>());
    let size = args.next().transpose()?.unwrap_or(1_000_000) as usize;
    let threshold = args.next().transpose()?.unwrap_or(31) as u32;
    let bits = args.next().transpose()?.unwrap_or(256) as u32;
    let opts = BenchOptions::new(size, threshold, bits, 1);
    println!(
        "{size} {bits}-bit hashes, r={threshold}, {} rayon threads",
        rayon::current_num_threads()
    );
    println!(
        "{:<22} {:>12} {:>8} {:>10} {:>10}",
        "method", "queries/s", "recall", "build s", "index MiB"
    );
    for r in run_with(&opts)? {
        println!(
            "{:<22} {:>12.1} {:>8.4} {:>10.3} {:>10.1}",
            r.method,
            r.qps,
            r.recall,
            r.build_seconds,
            r.index_bytes as f64 / (1 << 20) as f64
        );
    }
    Ok(())
}
