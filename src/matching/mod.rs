//! Matching: near-duplicate grouping (and, as it lands, the `Matcher` over opened lists).

mod cluster;

pub use cluster::UnionFind;
