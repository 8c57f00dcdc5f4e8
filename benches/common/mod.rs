//! Helpers shared by the benchmarks (`mod common;` in each): sizes from the environment, the
//! size labels of benchmark ids, and fixed-seed data.

#![allow(dead_code)]

#[path = "../../tests/common/xorshift.rs"]
pub mod xorshift;

/// The count in environment variable `name` (e.g. `HASHSIEVE_BENCH_N`), else `default`.
pub fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A count as benchmark ids write it: `10M`, `200k`, `1500`.
pub fn label(n: usize) -> String {
    if n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n.is_multiple_of(1000) {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}
