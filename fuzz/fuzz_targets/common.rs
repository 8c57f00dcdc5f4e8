//! The checks the targets share, kept in one copy with the tests that replay what the fuzzers
//! found (tests/list_fuzz_regressions.rs) and the corruption tests.

#![allow(dead_code)]

#[path = "../../tests/common/fuzz_checks.rs"]
mod fuzz_checks;

pub use fuzz_checks::*;
