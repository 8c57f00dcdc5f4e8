#![no_main]
//! `HashList::from_bytes` / `from_bytes_unverified`, every accessor, and `verify` on arbitrary bytes. Nothing may panic.
//!
//! Random bytes rarely carry valid CRCs, so when the first byte is odd the target first
//! "reseals" the input (recomputes the header and section checksums the way a writer would):
//! the fuzzer then reaches the structural checks and the accessors behind them.

use hashsieve::list::raw;
use libfuzzer_sys::fuzz_target;

mod common;

fn reseal(bytes: &mut [u8]) {
    if bytes.len() < raw::FIXED_HEADER_LEN {
        return;
    }
    let hl = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let sections = u32::from_le_bytes(bytes[20..24].try_into().unwrap()) as usize;
    if hl < 4 || hl > bytes.len() || sections > raw::MAX_SECTIONS {
        return;
    }
    for i in 0..sections {
        let at = raw::FIXED_HEADER_LEN + i * raw::SECTION_ENTRY_LEN;
        if at + raw::SECTION_ENTRY_LEN > hl - 4 {
            break;
        }
        let off = u64::from_le_bytes(bytes[at + 8..at + 16].try_into().unwrap()) as usize;
        let len = u64::from_le_bytes(bytes[at + 16..at + 24].try_into().unwrap()) as usize;
        if let Some(s) = off.checked_add(len).and_then(|end| bytes.get(off..end)) {
            let crc = raw::crc32c(s);
            bytes[at + 24..at + 28].copy_from_slice(&crc.to_le_bytes());
        }
    }
    let crc = raw::crc32c(&bytes[..hl - 4]);
    bytes[hl - 4..hl].copy_from_slice(&crc.to_le_bytes());
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut bytes = rest.to_vec();
    if mode & 1 == 1 {
        reseal(&mut bytes);
    }
    common::open_list(&bytes);
});
