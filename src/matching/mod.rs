//! Matching: the [`Matcher`] over opened lists (thresholds, quality gate, dihedral fan-out,
//! parallel batches, atomic list replacement) and near-duplicate grouping.

mod cluster;
mod matcher;

pub use cluster::UnionFind;
pub use matcher::{
    add_index_section, build_index_section, verify_index_section, ListOptions, MatchRecord,
    Matcher, MatcherOptions, Query, QueryResult, SkipReason, INDEX_SECTION,
};
