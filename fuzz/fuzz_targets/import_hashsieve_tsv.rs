#![no_main]
//! The Hashsieve importer (our hash/scan output, any delimiter): any input imports cleanly or fails cleanly, and what it imports builds a
//! list that verifies.

use hashsieve::list::import::InputFormat;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| common::import_any(data, Some(InputFormat::Hashsieve)));
