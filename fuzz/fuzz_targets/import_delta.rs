#![no_main]
//! The delta parser and `update` over a small base list.

use hashsieve::list::update::{update, Delta};
use hashsieve::list::{EntryMeta, HashList, ListBuilder};
use hashsieve::{Hash64, HashKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(delta) = Delta::parse(data, "fuzz", HashKind::PHash, 8) else {
        return;
    };
    let mut b = ListBuilder::new(HashKind::PHash);
    for i in 1..=4u64 {
        b.add(Hash64::from_u64(i), EntryMeta::new("a")).unwrap();
    }
    let base = HashList::from_bytes(b.to_vec().unwrap()).unwrap();
    let mut next = ListBuilder::new(HashKind::PHash);
    let report = update(&base, &delta, &mut next).unwrap();
    let list = HashList::from_bytes(next.to_vec().unwrap()).unwrap();
    list.verify().unwrap();
    assert_eq!(list.entry_count() as u64, report.kept + report.added);
});
