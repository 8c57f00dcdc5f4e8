//! A list never answers from corrupt bytes: every single-byte mutation of small lists (no
//! index, multi-index hashing, BK-tree), and zeroed pages of a 100k-entry list, either fail to
//! open or answer exactly as a brute-force scan of the intact list.

use crate::common;

use hashsieve::index::{Index, IndexKind, IndexOptions, LinearScan, Match, SearchIndex};
use hashsieve::list::INDEX_SECTION;
use hashsieve::list::{Category, EntryMeta};
use hashsieve::matching::{ListOptions, Matcher, Query};
use hashsieve::{Hash256, Hash64, HashKind, HashList, HashValue, ListBuilder};

use common::fuzz_checks::content;
use common::Rng;

/// A small list of `kind` with ids, qualities, categories and a shared hash, optionally with a
/// persisted index section; and queries near its hashes.
fn small_list(kind: HashKind, index: Option<IndexKind>, seed: u64) -> (Vec<u8>, Vec<HashValue>) {
    let mut rng = Rng::new(seed);
    let mut b = ListBuilder::new(kind)
        .name("small")
        .version("v1")
        .created(0);
    let cats = [Category::new("vics-us", "1"), Category::new("uk", "A")];
    let mut hashes = Vec::new();
    for i in 0..5 {
        let h: HashValue = if kind.width() == 256 {
            HashValue::Bits256(rng.hash256())
        } else {
            HashValue::Bits64(Hash64::from_u64(rng.next()))
        };
        let id = format!("case-{i}");
        let meta = EntryMeta::new(&id)
            .quality(60 + 8 * i as u8)
            .category(cats[i % 2]);
        b.add(h, meta).unwrap();
        if i == 2 {
            b.add(h, EntryMeta::new("case-2-dup").category(cats[1]))
                .unwrap();
        }
        hashes.push(h);
    }
    if let Some(kind) = index {
        let opts = IndexOptions::new(kind).threshold(b.kind().default_threshold());
        b = b.index(opts);
    }
    let mut queries = Vec::new();
    for h in &hashes {
        queries.push(*h);
        queries.push(match h {
            HashValue::Bits256(h) => HashValue::Bits256(rng.near(*h, 20)),
            HashValue::Bits64(h) => HashValue::Bits64(Hash64::from_u64(h.to_u64() ^ 0x0101_0001)),
            _ => unreachable!("a hash kind this test does not know"),
        });
    }
    (b.to_vec().unwrap(), queries)
}

/// What a brute-force scan of the intact list answers: per query, the (hash index, ids,
/// categories, distance) of every hash within the threshold, by (distance, index).
type Answer = Vec<(usize, Vec<String>, Vec<String>, u32)>;

fn brute_force<D: AsRef<[u8]>>(list: &HashList<D>, q: &HashValue, thr: u32) -> Answer {
    let mut out: Answer = Vec::new();
    for (i, (h, es)) in list.iter().enumerate() {
        let d = h.distance(q).unwrap();
        if d <= thr {
            let es: Vec<_> = es.collect();
            let ids = es.iter().map(|e| e.id().to_string()).collect();
            let mut cats: Vec<String> = es
                .iter()
                .flat_map(|e| e.categories().map(|c| c.to_string()))
                .collect();
            cats.sort_unstable();
            cats.dedup();
            out.push((i, ids, cats, d));
        }
    }
    out.sort_by_key(|a| (a.3, a.0));
    out
}

/// The matcher's answers, or `None` when the list is refused (at open or when it is added).
fn matcher_answers(
    bytes: &[u8],
    kind: HashKind,
    index: IndexKind,
    queries: &[HashValue],
) -> Option<Vec<Answer>> {
    let list = HashList::from_bytes(bytes.to_vec()).ok()?;
    let matcher: Matcher = Matcher::new();
    matcher
        .add_list(list, ListOptions::default().index(index))
        .ok()?;
    Some(
        queries
            .iter()
            .map(|q| {
                let r = matcher.query(&Query::new(kind, *q, None));
                r.matches()
                    .iter()
                    .map(|m| {
                        assert_eq!(m.orientation, None);
                        (
                            m.hash_index,
                            m.entry_ids.clone(),
                            m.categories.clone(),
                            m.distance,
                        )
                    })
                    .collect()
            })
            .collect(),
    )
}

/// Flips every byte of each small list with each pattern; every mutant is refused or answers
/// (through the matcher, with the file's index and with a linear scan) and reads (every id,
/// quality and category) exactly as the intact list.
#[test]
fn every_single_byte_flip_is_refused_or_harmless() {
    let cases = [
        (HashKind::Pdq, None, 1),
        (HashKind::Pdq, Some(IndexKind::Mih), 2),
        (HashKind::Pdq, Some(IndexKind::BkTree), 3),
        (HashKind::PHash, None, 4),
        (HashKind::PHash, Some(IndexKind::Mih), 5),
        (HashKind::PHash, Some(IndexKind::BkTree), 6),
    ];
    for (kind, index, seed) in cases {
        let (bytes, queries) = small_list(kind, index, seed);
        let intact = HashList::from_bytes(bytes.clone()).unwrap();
        assert_eq!(intact.section(INDEX_SECTION).is_some(), index.is_some());
        let thr = kind.default_threshold();
        let want: Vec<Answer> = queries
            .iter()
            .map(|q| brute_force(&intact, q, thr))
            .collect();
        assert!(want.iter().filter(|a| !a.is_empty()).count() >= 5);
        let want_content = content(&intact);
        for use_index in [IndexKind::Auto, IndexKind::Linear] {
            let got = matcher_answers(&bytes, kind, use_index, &queries);
            assert_eq!(got.as_ref(), Some(&want), "intact list, {kind:?} {index:?}");
        }
        let (mut refused, mut accepted) = (0, 0);
        for pos in 0..bytes.len() {
            for pattern in [0xffu8, 0x01, 0x80] {
                let mut bad = bytes.clone();
                bad[pos] ^= pattern;
                let what = format!("{kind:?} {index:?}: byte {pos} ^ {pattern:#04x}");
                if let Ok(list) = HashList::from_bytes(&bad[..]) {
                    assert_eq!(content(&list), want_content, "{what}");
                }
                for use_index in [IndexKind::Auto, IndexKind::Linear] {
                    match matcher_answers(&bad, kind, use_index, &queries) {
                        None => refused += 1,
                        Some(got) => {
                            accepted += 1;
                            assert_eq!(got, want, "{what}, {use_index:?}");
                        }
                    }
                }
            }
        }
        // Every byte of a valid file is covered by a checksum or the zero-padding rule.
        assert_eq!(accepted, 0, "{kind:?} {index:?}: {refused} refused");
    }
}

/// A 100k-entry PDQ list with a multi-index hashing section, and planted near-duplicates.
fn big_list() -> (Vec<u8>, Vec<Hash256>) {
    let mut rng = Rng::new(0x100_000);
    let mut b = ListBuilder::new(HashKind::Pdq).name("big").created(0);
    let mut hashes = Vec::new();
    for i in 0..100_000 {
        let h = rng.hash256();
        b.add(h, EntryMeta::new(&format!("id-{i}"))).unwrap();
        hashes.push(h);
    }
    b = b.index(IndexOptions::new(IndexKind::Mih).threshold(31));
    let mut queries: Vec<Hash256> = (0..500)
        .map(|i| rng.near(hashes[i * 199], (i % 32) as u32))
        .collect();
    queries.extend((0..50).map(|_| rng.hash256()));
    (b.to_vec().unwrap(), queries)
}

fn answer(index: &impl Index<Hash = Hash256>, queries: &[Hash256]) -> Vec<Vec<Match>> {
    let mut out = Vec::new();
    queries
        .iter()
        .map(|q| {
            index.range(q, 31, &mut out);
            out.clone()
        })
        .collect()
}

/// Zeroing a random 4 KiB page of a 100k list (seeded): the list is refused at open, or (for
/// the page of a copied index section loaded on its own) the index is refused or answers
/// exactly as the scan. Damage is never a missed match.
#[test]
fn zeroed_pages_of_a_large_list_are_refused_or_harmless() {
    const PAGE: usize = 4096;
    let (bytes, queries) = big_list();
    let intact = HashList::from_bytes(bytes.clone()).unwrap();
    let hashes = intact.hashes256().unwrap();
    let scan = LinearScan::new(hashes);
    let want = answer(&scan, &queries);
    assert!(want.iter().filter(|a| !a.is_empty()).count() >= 400);
    let section = intact.section(INDEX_SECTION).unwrap();
    assert!(section.len() > 8 * PAGE, "{} bytes", section.len());
    let section_at = section.as_ptr() as usize - intact.as_bytes().as_ptr() as usize;

    let mut rng = Rng::new(0x9a9e);
    let pages = bytes.len().div_ceil(PAGE);
    let mut index_pages = 0;
    for case in 0..48 {
        // Half the cases hit the index section, half anywhere in the file.
        let page = if case % 2 == 0 {
            (section_at + (rng.next() as usize % section.len())) / PAGE
        } else {
            rng.next() as usize % pages
        };
        let range = page * PAGE..((page + 1) * PAGE).min(bytes.len());
        let mut bad = bytes.clone();
        bad[range.clone()].fill(0);
        if bad == bytes {
            continue;
        }
        assert!(
            HashList::from_bytes(&bad[..]).is_err(),
            "case {case}: page {page} zeroed, list accepted"
        );
        // The index section on its own, past the list's checksum: loading validates it.
        let start = range.start.max(section_at);
        let end = range.end.min(section_at + section.len());
        if start < end {
            index_pages += 1;
            let mut sec = section.to_vec();
            sec[start - section_at..end - section_at].fill(0);
            if sec == section {
                continue;
            }
            if let Ok(index) = SearchIndex::load(&sec, hashes) {
                assert_eq!(
                    answer(&index, &queries),
                    want,
                    "case {case}: index page {page} zeroed"
                );
            }
        }
    }
    assert!(index_pages >= 20);
}

/// A persisted index that is damaged but whose list checksums were recomputed (a buggy or
/// hostile writer): adding the list fails, or it answers exactly as the scan of the intact
/// list; a damaged index is never a missed match.
#[test]
fn an_inconsistent_index_with_valid_checksums_is_refused_or_harmless() {
    for (index, seed) in [(IndexKind::BkTree, 7), (IndexKind::Mih, 8)] {
        let (bytes, queries) = small_list(HashKind::Pdq, Some(index), seed);
        let intact = HashList::from_bytes(bytes.clone()).unwrap();
        let s = *intact
            .header()
            .sections
            .iter()
            .find(|s| s.tag == INDEX_SECTION)
            .unwrap();
        let want: Vec<Answer> = queries
            .iter()
            .map(|q| brute_force(&intact, q, 31))
            .collect();
        let mut refused = 0;
        for off in 0..s.length as usize {
            for pattern in [0x01u8, 0x80, 0xff] {
                let mut bad = bytes.clone();
                bad[s.offset as usize + off] ^= pattern;
                reseal(&mut bad);
                match matcher_answers(&bad, HashKind::Pdq, IndexKind::Auto, &queries) {
                    None => refused += 1,
                    Some(got) => assert_eq!(got, want, "{index:?}: byte {off} ^ {pattern:#04x}"),
                }
            }
        }
        assert!(refused > 0);
    }
}

/// Recomputes every section CRC and the header CRC of a list file.
fn reseal(bytes: &mut [u8]) {
    use hashsieve::list::raw;
    let header_len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let count = u32::from_le_bytes(bytes[20..24].try_into().unwrap()) as usize;
    for i in 0..count {
        let e = raw::FIXED_HEADER_LEN + raw::SECTION_ENTRY_LEN * i;
        let off = u64::from_le_bytes(bytes[e + 8..e + 16].try_into().unwrap()) as usize;
        let len = u64::from_le_bytes(bytes[e + 16..e + 24].try_into().unwrap()) as usize;
        let crc = raw::crc32c(&bytes[off..off + len]);
        bytes[e + 24..e + 28].copy_from_slice(&crc.to_le_bytes());
    }
    let crc = raw::crc32c(&bytes[..header_len - 4]);
    bytes[header_len - 4..header_len].copy_from_slice(&crc.to_le_bytes());
}

/// A FIFO given as a list is refused at once by `read` and `open_mmap`, never blocking (a
/// regression would hang: the guard thread fails the test after 10 seconds instead).
#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_blocking() {
    let (_dir, fifo) = common::dir_with_fifo("list.hsl");
    type Open = fn(&std::path::Path) -> hashsieve::Result<()>;
    let read: Open = |p| HashList::read(p).map(drop);
    // SAFETY: nothing writes to the path while it is open.
    let map: Open = |p| unsafe { HashList::open_mmap(p) }.map(drop);
    for (name, open) in [("read", read), ("open_mmap", map)] {
        let path = fifo.clone();
        let opened = common::within(std::time::Duration::from_secs(10), move || open(&path))
            .unwrap_or_else(|| panic!("opening a FIFO as a list with {name} blocked"));
        let err = opened.unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        assert_eq!(err.path(), Some(fifo.as_path()));
    }
    // /dev/null is a character device: refused the same way.
    let err = HashList::read("/dev/null").unwrap_err();
    assert!(err.to_string().contains("character device"), "{err}");
}
