//! `hashsieve bench search`: reproduce the README's search table on this machine.

use std::process::ExitCode;
use std::time::Duration;

use hashsieve::index::bench::{run_with, BenchOptions};

use anyhow::bail;

use crate::args;
use crate::common::{Format, RowWriter};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Exact Hamming search on synthetic hashes with planted near-duplicates: queries/s,
    /// recall against brute force, build time and index size for each index.
    Search(SearchArgs),
}

#[derive(clap::Args)]
struct SearchArgs {
    /// Number of hashes in the list (at least 1; refused when they would not fit in the
    /// memory available).
    #[arg(long, default_value_t = 1_000_000, value_parser = args::count)]
    size: usize,
    /// Inclusive Hamming threshold, 0..=bits.
    #[arg(long, short = 't', default_value_t = 31, value_parser = args::threshold)]
    threshold: u32,
    /// Hash width: 256 (PDQ) or 64 (pHash and friends).
    #[arg(long, default_value_t = 256, value_parser = args::bits)]
    bits: u32,
    /// Number of queries (at least 1).
    #[arg(long, default_value_t = 1000, value_parser = args::count)]
    queries: usize,
    /// Seconds each measurement may run before it stops early (more than 0, at most a day).
    #[arg(long, default_value_t = 3.0, value_parser = args::seconds)]
    budget: f64,
    /// Random seed for the synthetic data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value = "tsv")]
    format: Format,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let What::Search(a) = args.what;
    if a.threshold > a.bits {
        bail!(
            "threshold {} exceeds the {}-bit hash width; use 0..={}",
            a.threshold,
            a.bits,
            a.bits
        );
    }
    // The hashes, the queries, and an index's copy of the hashes (MIH keeps one, sorted).
    let bytes = u64::from(a.bits / 8);
    let need = (a.size as u64)
        .saturating_mul(3)
        .saturating_add(a.queries as u64)
        .saturating_mul(bytes);
    args::check_memory(
        need,
        &format!("bench search --size {}", a.size),
        "lower --size",
    )?;
    let mut opts = BenchOptions::new(a.size, a.threshold, a.bits, a.seed);
    opts.queries = a.queries;
    opts.budget = Duration::from_secs_f64(a.budget);
    eprintln!(
        "hashsieve bench: {} {}-bit hashes, r={}, {} queries, {} threads",
        a.size,
        a.bits,
        a.threshold,
        a.queries,
        rayon::current_num_threads()
    );
    let rows = run_with(&opts)?;
    let header = vec![
        "method",
        "bits",
        "size",
        "threshold",
        "queries",
        "threads",
        "qps",
        "recall",
        "false_positives",
        "build_s",
        "index_mib",
    ];
    let numbers = header[1..].to_vec();
    let mut out = RowWriter::stdout(a.format, header)?.numeric(&numbers);
    for r in &rows {
        out.row(&[
            &r.method,
            &r.bits.to_string(),
            &r.size.to_string(),
            &r.threshold.to_string(),
            &r.queries.to_string(),
            &r.threads.to_string(),
            &format!("{:.1}", r.qps),
            &format!("{:.4}", r.recall),
            &r.false_positives.to_string(),
            &format!("{:.3}", r.build_seconds),
            &format!("{:.1}", r.index_bytes as f64 / (1 << 20) as f64),
        ])?;
    }
    out.summary(&[("rows", rows.len() as u64)])?;
    Ok(ExitCode::SUCCESS)
}
