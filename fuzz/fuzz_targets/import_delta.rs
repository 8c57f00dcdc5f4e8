#![no_main]
//! The delta parser and `update` over a small base list.

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| common::delta(data));
