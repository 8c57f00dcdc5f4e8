#![no_main]
//! The differential list-mutation check: a valid list (1 to 8 hashes from the input, 256- or
//! 64-bit, ids, qualities, categories, a duplicate entry, optionally a persisted multi-index
//! hashing or BK-tree section) is mutated by the rest of the input (byte xors, zeroed runs).
//! Opening the mutant and adding it to a `Matcher` either fails, or every query (each hash and
//! a near copy) answers exactly as a brute-force scan of the intact list, and every entry reads
//! the same. A corrupt list never answers.

use hashsieve::index::{IndexKind, IndexOptions};
use hashsieve::list::{Category, EntryMeta, HashList, ListBuilder};
use hashsieve::matching::{ListOptions, Matcher, Query};
use hashsieve::{Hash256, Hash64, HashKind, HashValue};
use libfuzzer_sys::fuzz_target;

mod common;
use common::content;

/// Per query: (hash index, entry ids, distance) of every hash within the threshold.
type Answer = Vec<(usize, Vec<String>, u32)>;

fn brute_force(list: &HashList<Vec<u8>>, q: &HashValue, thr: u32) -> Answer {
    let mut out: Answer = Vec::new();
    for (i, (h, es)) in list.iter().enumerate() {
        let d = h.distance(q).expect("same width");
        if d <= thr {
            out.push((i, es.map(|e| e.id().to_string()).collect(), d));
        }
    }
    out.sort_by_key(|a| (a.2, a.0));
    out
}

fn answers(bytes: Vec<u8>, kind: HashKind, queries: &[HashValue]) -> Option<Vec<Answer>> {
    let list = HashList::from_bytes(bytes).ok()?;
    let matcher = Matcher::new();
    matcher.add_list(list, ListOptions::default()).ok()?;
    Some(
        queries
            .iter()
            .map(|q| {
                matcher
                    .query(&Query::new(kind, *q, None))
                    .matches()
                    .iter()
                    .map(|m| (m.hash_index, m.entry_ids.clone(), m.distance))
                    .collect()
            })
            .collect(),
    )
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let wide = control & 1 == 0;
    let kind = if wide { HashKind::Pdq } else { HashKind::PHash };
    let width = if wide { 32 } else { 8 };
    let n = 1 + usize::from(control >> 1) % 8;
    let index = match (control >> 4) % 3 {
        0 => None,
        1 => Some(IndexKind::Mih),
        _ => Some(IndexKind::BkTree),
    };
    let Some((material, mutations)) = rest.split_at_checked(n * width) else {
        return;
    };

    let mut b = ListBuilder::new(kind)
        .name("fuzz")
        .created(0)
        .min_quality(0)
        .allow_degenerate(true);
    let cats = [Category::new("vics-us", "1"), Category::new("uk", "A")];
    let mut hashes = Vec::new();
    for (i, chunk) in material.chunks_exact(width).enumerate() {
        let h = if wide {
            let mut limbs = [0u64; 4];
            for (l, c) in limbs.iter_mut().zip(chunk.chunks_exact(8)) {
                *l = u64::from_le_bytes(c.try_into().unwrap());
            }
            HashValue::Bits256(Hash256::from_limbs(limbs))
        } else {
            HashValue::Bits64(Hash64::from_u64(u64::from_le_bytes(chunk.try_into().unwrap())))
        };
        let id = format!("id-{i}");
        let meta = EntryMeta::new(&id)
            .quality(50 + i as u8)
            .category(cats[i % 2]);
        b.add(h, meta).expect("a valid entry");
        if i == 0 {
            b.add(h, EntryMeta::new("dup")).expect("a valid entry");
        }
        hashes.push(h);
    }
    let thr = kind.default_threshold();
    if let Some(index) = index {
        b = b.index(IndexOptions::new(index).threshold(thr));
    }
    let bytes = b.to_vec().expect("in-memory build");
    let intact = HashList::from_bytes(bytes.clone()).expect("a built list opens");

    let mut queries = hashes.clone();
    for h in &hashes {
        queries.push(match h {
            HashValue::Bits256(h) => {
                let mut l = h.limbs();
                l[0] ^= 0x0f0f;
                l[3] ^= 0x1;
                HashValue::Bits256(Hash256::from_limbs(l))
            }
            HashValue::Bits64(h) => HashValue::Bits64(Hash64::from_u64(h.to_u64() ^ 0x0301)),
            _ => unreachable!("a hash kind this target does not know"),
        });
    }
    let want: Vec<Answer> = queries.iter().map(|q| brute_force(&intact, q, thr)).collect();

    // Mutations: (position u16, value) pairs; value 0 zeroes 64 bytes, others xor one byte.
    let mut bad = bytes.clone();
    for m in mutations.chunks_exact(3).take(8) {
        let pos = usize::from(u16::from_le_bytes([m[0], m[1]])) % bad.len();
        match m[2] {
            0 => {
                let end = (pos + 64).min(bad.len());
                bad[pos..end].fill(0);
            }
            x => bad[pos] ^= x,
        }
    }
    if bad == bytes {
        return;
    }
    if let Ok(list) = HashList::from_bytes(&bad[..]) {
        let intact_view = HashList::from_bytes(&bytes[..]).unwrap();
        assert_eq!(content(&list), content(&intact_view), "a mutant reads differently");
    }
    if let Some(got) = answers(bad, kind, &queries) {
        assert_eq!(got, want, "a mutant answered differently from the intact list");
    }
});
