#![no_main]
//! Format detection plus whichever importer it picks.

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| common::import_any(data, None));
