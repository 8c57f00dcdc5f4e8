//! Matching: the [`Matcher`] over opened lists (thresholds, quality gate, dihedral fan-out,
//! parallel batches, atomic list replacement) and near-duplicate grouping ([`self_join`],
//! [`cluster`]).

mod allow;
mod cluster;
mod dedup;
mod matcher;

pub use crate::index::join::{
    cross_join, cross_join_with, self_join, self_join_with, JoinMethod, Pair, DEFAULT_MAX_PAIRS,
};
pub use allow::{apply_allow_lists, AllowPolicy, OverMatch, OverMatching, Verdict};
pub use cluster::UnionFind;
#[cfg(feature = "test-util")]
pub use dedup::planted_clusters;
pub use dedup::{
    cluster, cluster_matches, cluster_report, Cluster, ClusterReport, DedupOptions, Linkage, Member,
};
pub use matcher::{
    allow_threshold, verify_index_section, CategoryFilter, ListInfo, ListOptions, MatchRecord,
    Matcher, MatcherOptions, Query, QueryResult, SkipReason, Variant, HIDDEN_CATEGORIES,
};
