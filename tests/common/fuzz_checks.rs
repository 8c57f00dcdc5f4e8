//! The checks the fuzz targets run, in one copy: the fuzz crate includes this file by `#[path]`
//! (fuzz/fuzz_targets/common.rs), and the tests use it through `common`, so an input a fuzzer
//! found is replayed through exactly the checks that found it (`list_fuzz_regressions`), and the
//! corruption tests compare lists the way the mutation target does. Only the library's stable
//! API (no `test-util`): the fuzz crate builds without it.

#![allow(dead_code)]

use hashsieve::list::import::{import, ImportOptions, InputFormat};
use hashsieve::list::update::{update, Delta};
use hashsieve::list::{EntryMeta, HashList, ListBuilder};
use hashsieve::{Hash64, HashKind, HashValue};

/// Imports `data` into a 256-bit and a 64-bit list; whatever is accepted must build a list
/// that opens and verifies, with the counts the report gives. A leading `!` also exercises the
/// named-column options; the input's length picks whether degenerate hashes are allowed.
pub fn import_any(data: &[u8], format: Option<InputFormat>) {
    for kind in [HashKind::Pdq, HashKind::PHash] {
        let mut options = ImportOptions::new().max_errors(8);
        options.format = format;
        if data.first() == Some(&b'!') {
            options.hash_col = Some("h".into());
            options.id_col = Some("i".into());
            options.category_col = Some("c".into());
        }
        let mut builder = ListBuilder::new(kind)
            .min_quality(0)
            .allow_degenerate(data.len().is_multiple_of(2));
        let Ok(report) = import(data, "fuzz", &options, &mut builder) else {
            continue;
        };
        assert!(report.malformed <= 8);
        assert_eq!(report.added as usize, builder.entry_count());
        let bytes = builder.to_vec().expect("in-memory build cannot fail");
        let list = HashList::from_bytes(bytes).expect("a built list opens");
        list.verify().expect("a built list verifies");
        assert_eq!(list.entry_count() as u64, report.added);
    }
}

/// Parses `data` as a delta and applies it to a small base list: the result verifies and
/// holds what the report counts.
pub fn delta(data: &[u8]) {
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
}

/// Opens `bytes` as a list both ways: the verified constructor accepts exactly the lists that
/// verify; every accessor of what opens answers without panicking; a list that verifies exports.
pub fn open_list(bytes: &[u8]) {
    let verified = HashList::from_bytes(bytes).is_ok();
    let Ok(list) = HashList::from_bytes_unverified(bytes) else {
        assert!(!verified);
        return;
    };
    assert_eq!(verified, list.verify().is_ok());
    exercise(&list);
    if verified {
        let mut out = Vec::new();
        hashsieve::list::export::export(
            &list,
            hashsieve::list::export::ExportFormat::JsonLines,
            &mut out,
        )
        .expect("export to memory");
    }
}

/// Touches every accessor; must never panic, whatever the bytes.
pub fn exercise<D: AsRef<[u8]>>(list: &HashList<D>) {
    let _ = list.hashes();
    let _ = (
        list.hashes256(),
        list.hashes64(),
        list.name(),
        list.version(),
        list.created(),
    );
    for (i, (h, entries)) in list.iter().enumerate() {
        let _ = list.position(h);
        let _ = list.get(i);
        for e in entries {
            let _ = (e.id(), e.id_bytes(), e.quality(), e.source(), e.index());
            for c in e.categories() {
                let _ = (c.scheme, c.code);
            }
            let _ = format!("{e:?}");
        }
    }
    for i in 0..list.entry_count().min(1 << 16) + 2 {
        let _ = list.entry(i).map(|e| (e.id(), e.categories().count()));
    }
    for s in &list.header().sections {
        let _ = list.section(s.tag);
    }
    let _ = list.get(list.len());
    let _ = list.verify();
}

/// Everything a list answers with: per hash, its value and its entries' ids, qualities and
/// categories, in order.
pub type Content = Vec<(HashValue, Vec<(String, Option<u8>, Vec<String>)>)>;

/// The [`Content`] of `list`.
pub fn content<D: AsRef<[u8]>>(list: &HashList<D>) -> Content {
    list.iter()
        .map(|(h, es)| {
            let es = es
                .map(|e| {
                    let cats = e.categories().map(|c| c.to_string()).collect();
                    (e.id().to_string(), e.quality(), cats)
                })
                .collect();
            (h, es)
        })
        .collect()
}
