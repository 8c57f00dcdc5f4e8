//! Through the real binary: every single-byte flip of a small list (no index, multi-index
//! hashing, BK-tree) makes `match` and `export` exit 2, or print exactly what the intact list
//! gives. A list is never answered from corrupt bytes.

use crate::common;

use std::fs;
use std::path::Path;

use hashsieve::index::{IndexKind, IndexOptions};
use hashsieve::list::{Category, EntryMeta};
use hashsieve::{HashKind, ListBuilder};

/// A 5-hash PDQ list (ids, qualities, categories, one hash with two entries), optionally with
/// an index section, and the text of queries near its hashes (one hex hash per line).
fn small_list(index: Option<IndexKind>, seed: u64) -> (Vec<u8>, String) {
    let mut rng = common::Rng::new(seed);
    let mut b = ListBuilder::new(HashKind::Pdq).name("small").created(0);
    let cats = [Category::new("vics-us", "1"), Category::new("uk", "A")];
    let mut queries = String::new();
    for i in 0..5u8 {
        let h = rng.hash256();
        let id = format!("case-{i}");
        let meta = EntryMeta::new(&id)
            .quality(60 + i)
            .category(cats[usize::from(i) % 2]);
        b.add(h, meta).unwrap();
        if i == 2 {
            b.add(h, EntryMeta::new("case-2-dup")).unwrap();
        }
        let near = rng.near(h, 5 * u32::from(i));
        queries.push_str(&format!("{h}\n{near}\n"));
    }
    if let Some(kind) = index {
        b = b.index(IndexOptions::new(kind).threshold(31));
    }
    (b.to_vec().unwrap(), queries)
}

fn run(args: &[&str]) -> (Option<i32>, Vec<u8>) {
    let o = common::hashsieve(args);
    (o.status.code(), o.stdout)
}

#[test]
fn every_byte_flip_exits_2_or_answers_as_the_intact_list() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let list = d.join("list.hsl");
    let queries = d.join("queries.txt");
    let (l, q) = (list.to_str().unwrap(), queries.to_str().unwrap());
    for (index, seed) in [
        (None, 1),
        (Some(IndexKind::Mih), 2),
        (Some(IndexKind::BkTree), 3),
    ] {
        let (bytes, text) = small_list(index, seed);
        fs::write(&queries, text).unwrap();
        fs::write(&list, &bytes).unwrap();
        let matched = run(&["match", "--list", l, "--hashes", q]);
        assert_eq!(matched.0, Some(0), "intact list, {index:?}");
        let lines = String::from_utf8_lossy(&matched.1).lines().count();
        assert!(lines >= 10, "{lines} matches");
        let exported = run(&["export", l]);
        assert_eq!(exported.0, Some(0));
        let mut accepted = 0;
        for pos in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[pos] ^= 0xff;
            write_over(&list, &bad);
            let what = format!("{index:?}: byte {pos} flipped");
            let got = run(&["match", "--list", l, "--hashes", q]);
            if got.0 == Some(2) {
                assert!(got.1.is_empty(), "{what}: exit 2 after output");
            } else {
                accepted += 1;
                assert_eq!(got, matched, "{what}");
            }
            if index.is_none() {
                let got = run(&["export", l]);
                assert!(got.0 == Some(2) || got == exported, "{what}: export");
            }
        }
        assert_eq!(accepted, 0, "{index:?}");
    }
}

/// Replaces the file's contents (nothing has it open).
fn write_over(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap();
}
