//! Matching: the [`Matcher`] over opened lists (thresholds, quality gate, dihedral fan-out,
//! parallel batches, atomic list replacement) and near-duplicate grouping ([`self_join`],
//! [`cluster`]).

mod cluster;
mod dedup;
mod matcher;

pub use cluster::UnionFind;
pub use dedup::{
    cluster, cluster_matches, cluster_report, cross_join, planted_clusters, self_join,
    self_join_with, Cluster, ClusterReport, DedupOptions, JoinMethod, Linkage, Member, Pair,
    DEFAULT_MAX_PAIRS,
};
pub use matcher::{
    add_index_section, build_index_section, verify_index_section, CategoryFilter, ListOptions,
    MatchRecord, Matcher, MatcherOptions, Query, QueryResult, SkipReason, HIDDEN_CATEGORIES,
    INDEX_SECTION,
};
