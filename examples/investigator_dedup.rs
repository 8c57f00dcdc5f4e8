//! Deduplicate a case's hashes and print a cluster summary.
//!
//! ```text
//! cargo run --release --example investigator_dedup            # 100,000 synthetic PDQ hashes
//! cargo run --release --example investigator_dedup -- 1000000 # a synthetic set of that size
//! cargo run --release --example investigator_dedup -- 10000000 20000 # ... with 20,000 planted clusters
//! cargo run --release --example investigator_dedup -- case.tsv  # `hashsieve hash` output (PDQ rows)
//! ```
//!
//! A synthetic set has `n / 100` planted clusters unless a second number says how many.
//!
//! Hash values are never printed: only counts, sizes, file names and a digest of the cluster
//! positions (FNV-1a over each cluster's representative and member positions and distances),
//! which two builds can compare to show they found the same clusters.

use std::time::Instant;

use hashsieve::matching::{cluster, planted_clusters, DedupOptions};
use hashsieve::{Hash256, HashKind, HashValue};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = std::env::args().nth(1);
    let (ids, hashes, quality): (Vec<String>, Vec<Hash256>, Vec<Option<u8>>) =
        match arg.as_deref().map(|a| (a, a.parse::<usize>())) {
            Some((path, Err(_))) => read_tsv(path)?,
            other => {
                let n = other.and_then(|(_, n)| n.ok()).unwrap_or(100_000);
                let planted = match std::env::args().nth(2) {
                    Some(c) => c.parse()?,
                    None => n / 100,
                };
                let t = Instant::now();
                let (h, _) = planted_clusters::<Hash256>(n, planted, 10, 15, 42);
                eprintln!("generated {n} hashes in {:.2?}", t.elapsed());
                let ids = (0..n).map(|i| format!("file{i:07}.jpg")).collect();
                (ids, h, Vec::new())
            }
        };
    let t = Instant::now();
    let clusters = cluster(
        &hashes,
        &quality,
        &DedupOptions::new(HashKind::Pdq.default_threshold()),
    )?;
    let secs = t.elapsed().as_secs_f64();
    let in_clusters: usize = clusters.iter().map(|c| c.members.len()).sum();
    let largest = clusters.iter().map(|c| c.members.len()).max().unwrap_or(0);
    println!(
        "{} hashes, {} threads: {} clusters of 2 or more holding {} files (largest {}), {:.2} s",
        hashes.len(),
        rayon::current_num_threads(),
        clusters.len(),
        in_clusters,
        largest,
        secs
    );
    let mut digest = 0xcbf2_9ce4_8422_2325u64;
    for c in &clusters {
        let words = [c.representative, u32::MAX]
            .into_iter()
            .chain(c.members.iter().flat_map(|m| [m.index, m.distance]));
        for w in words {
            for b in w.to_le_bytes() {
                digest = (digest ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
    }
    println!("cluster digest {digest:016x}");
    for c in clusters.iter().take(5) {
        let rep = &ids[c.representative as usize];
        let max_d = c.members.iter().map(|m| m.distance).max().unwrap_or(0);
        println!(
            "  {} files, representative {rep}, farthest member at distance {max_d}",
            c.members.len()
        );
    }
    Ok(())
}

/// PDQ rows of a `hashsieve hash` TSV: (path, hash, quality).
#[allow(clippy::type_complexity)]
fn read_tsv(
    path: &str,
) -> Result<(Vec<String>, Vec<Hash256>, Vec<Option<u8>>), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|c| *c == name)
            .ok_or(format!("no {name} column"))
    };
    let (p, a, h, q) = (
        col("path")?,
        col("algorithm")?,
        col("hash")?,
        col("quality")?,
    );
    let (mut ids, mut hashes, mut quality) = (Vec::new(), Vec::new(), Vec::new());
    for (n, line) in lines.enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.get(a) != Some(&"pdq") || f.get(h).is_none_or(|s| s.is_empty()) {
            continue;
        }
        match HashKind::Pdq.parse_hex(f[h]) {
            Ok(HashValue::Bits256(v)) => hashes.push(v),
            _ => return Err(format!("{path}:{}: not a PDQ hash", n + 2).into()),
        }
        ids.push(f.get(p).unwrap_or(&"").to_string());
        quality.push(f.get(q).and_then(|s| s.parse().ok()));
    }
    Ok((ids, hashes, quality))
}
