//! Sections that are structurally valid (every check of the walk passes) but hold the
//! wrong entries: the fingerprint in [`Mih::validate`] must refuse each of them.

use super::*;
use crate::index::bench::SplitMix64;
use crate::index::sealed::Sealed as _;
use crate::index::SearchIndex;
use crate::Hash64;

const N: usize = 3000;

fn list() -> Vec<Hash64> {
    let mut rng = SplitMix64::new(0x5eed);
    (0..N).map(|_| Hash64::from_u64(rng.next())).collect()
}

/// Two 32-bit tables; table 0 has every field narrower than its byte so that stray and
/// aliased bits can be crafted.
fn specs() -> Vec<Spec> {
    vec![
        Spec {
            start: 0,
            len: 32,
            b: 4,
            c1: 4,
            c2: 3,
            low: best_low_bits(N, 4),
        },
        Spec {
            start: 32,
            len: 32,
            b: 6,
            c1: 8,
            c2: 2,
            low: best_low_bits(N, 6),
        },
    ]
}

/// Table 0's `(id, key)` entries for `list`, in id order.
fn entries(list: &[Hash64]) -> Vec<(u64, u64)> {
    let s = specs()[0];
    list.iter()
        .enumerate()
        .map(|(id, h)| (id as u64, u64::from(h.key(s.start, s.len))))
        .collect()
}

/// A section over `list` whose table 0 holds `table0` (sorted by id here) instead.
fn craft(list: &[Hash64], mut table0: Vec<(u64, u64)>) -> Vec<u8> {
    table0.sort_by_key(|e| e.0);
    encode(
        64,
        list.len(),
        &specs(),
        |t, spec, region, inline, chunks| {
            if t == 0 {
                fill_table(N, spec, || table0.iter().copied(), region, inline, chunks);
            } else {
                build_table(list, spec, region, inline, chunks);
            }
        },
    )
    .unwrap()
}

fn field(key: u64, shift: u32, bits: u32) -> u64 {
    (key >> shift) & ((1 << bits) - 1)
}

/// `key` with its `bits`-wide field at `shift` replaced by that of `from`.
fn with_field(key: u64, from: u64, shift: u32, bits: u32) -> u64 {
    let mask = ((1u64 << bits) - 1) << shift;
    (key & !mask) | (from & mask)
}

/// Two ids in the same bucket whose `bits`-wide fields at `shift` differ.
fn pair(e: &[(u64, u64)], shift: u32, bits: u32) -> (usize, usize) {
    let (sh_top, ..) = specs()[0].shifts();
    for j in 0..e.len() {
        for l in j + 1..e.len() {
            if e[j].1 >> sh_top == e[l].1 >> sh_top
                && field(e[j].1, shift, bits) != field(e[l].1, shift, bits)
            {
                return (j, l);
            }
        }
    }
    unreachable!("3000 random keys in 16 buckets have such a pair")
}

/// The walk accepts every table of `bytes`, yet validation refuses it: only the
/// fingerprint can have caught it.
fn refused_by_fingerprint(bytes: &[u8], list: &[Hash64], what: &str) {
    let mih = Mih::load_unvalidated(bytes, list).unwrap();
    let fp = Fingerprint::random();
    for (t, table) in mih.tables.iter().enumerate() {
        mih.walk_table(t, table, fp)
            .unwrap_or_else(|e| panic!("{what}: the crafted table {t} should walk: {e}"));
    }
    assert_refused(bytes, list, what);
}

fn assert_refused(bytes: &[u8], list: &[Hash64], what: &str) {
    for err in [
        Mih::load(bytes, list).err(),
        SearchIndex::load(bytes, list).err(),
    ] {
        let err = err.unwrap_or_else(|| panic!("{what}: the section was accepted"));
        assert!(
            matches!(err.kind(), ErrorKind::Corrupt { .. }),
            "{what}: {err}"
        );
    }
}

#[test]
fn the_crafting_is_faithful() {
    let list = list();
    let bytes = craft(&list, entries(&list));
    let mih = Mih::load(&bytes, &list).unwrap();
    let built = encode(64, N, &specs(), |_, spec, region, inline, chunks| {
        build_table(&list, spec, region, inline, chunks)
    })
    .unwrap();
    assert_eq!(mih.as_bytes(), &built[..]);
    let mut out = Vec::new();
    mih.fallback(false).range(&list[17], 0, &mut out);
    assert_eq!(out, vec![Match::new(17, 0)]);
}

/// Crafts table 0 from the list's entries after `edit`, and checks that the walk accepts its
/// structure and the fingerprint check refuses it.
fn refused_after(what: &str, edit: impl FnOnce(&mut [(u64, u64)])) {
    let list = list();
    let mut e = entries(&list);
    edit(e.as_mut_slice());
    refused_by_fingerprint(&craft(&list, e), &list, what);
}

#[test]
fn an_entry_moved_to_another_bucket_is_refused() {
    let (sh_top, ..) = specs()[0].shifts();
    // The directory counts are rebuilt from the entries, so they stay consistent.
    refused_after("moved", |e| e[100].1 ^= 1 << sh_top);
}

#[test]
fn an_id_repeated_and_another_dropped_is_refused() {
    let (sh_top, ..) = specs()[0].shifts();
    refused_after("repeated and dropped", |e| {
        let a = 5;
        let b = (0..N)
            .find(|&b| e[b].1 >> sh_top != e[a].1 >> sh_top && b > a)
            .unwrap();
        // Id `a` also sits where `b` should, with `b`'s bits; `b` is gone.
        e[b].0 = a as u64;
    });
}

#[test]
fn swapped_ids_are_refused() {
    let (sh_top, ..) = specs()[0].shifts();
    refused_after("swapped ids", |e| {
        let l = (1..N)
            .find(|&l| e[l].1 >> sh_top != e[0].1 >> sh_top)
            .unwrap();
        let (k0, kl) = (e[0].1, e[l].1);
        e[0].1 = kl;
        e[l].1 = k0;
    });
}

/// Two entries of one bucket that differ in a field (the inline bits, then the extra bits)
/// swap that field.
#[test]
fn swapped_inline_or_extra_bits_are_refused() {
    let (_, sh_in, sh_ex) = specs()[0].shifts();
    let fields = [
        (sh_in, 4, "swapped inline bits"),
        (sh_ex, 3, "swapped extra bits"),
    ];
    for (shift, width, what) in fields {
        refused_after(what, |e| {
            let (j, l) = pair(e, shift, width);
            let (kj, kl) = (e[j].1, e[l].1);
            e[j].1 = with_field(kj, kl, shift, width);
            e[l].1 = with_field(kl, kj, shift, width);
        });
    }
}

/// An inline byte with a bit above its 4-bit field, on an entry moved one bucket down:
/// read naively, bucket `k` with inline `x | 16` names the same stored bits as bucket
/// `k + 1` with inline `x`, so the fingerprint alone would accept the moved entry.
#[test]
fn inline_bits_beyond_the_width_are_refused() {
    let list = list();
    let s = specs()[0];
    let (sh_top, ..) = s.shifts();
    let mut e = entries(&list);
    let j = (0..N).find(|&j| e[j].1 >> sh_top > 0).unwrap();
    let k = (e[j].1 >> sh_top) - 1;
    e[j].1 -= 1 << sh_top;
    let mut bytes = craft(&list, e.clone());
    // Entry j's position: its bucket's start plus the ids before it in the bucket.
    let mih = Mih::load_unvalidated(&bytes, &list).unwrap();
    let t0 = mih.tables[0].clone();
    drop(mih);
    let lo = u32_at(&bytes[t0.dir.clone()], k as usize).unwrap() as usize;
    let before = e[..j].iter().filter(|x| x.1 >> sh_top == k).count();
    bytes[t0.inline.start + lo + before] |= 1 << s.c1;
    assert_refused(&bytes, &list, "stray inline bit");
}

/// The planner's choices at the sizes the default bound was measured at (module docs,
/// *Performance*): the layouts that ran fastest side by side, and the former layout under the
/// former bound of 32 bytes per hash.
#[test]
fn the_planner_picks_the_measured_layouts() {
    let pick = |n: usize, opts: &MihOptions| {
        let specs = plan(256, n, 31, opts);
        let size = layout(n, &specs).map(|l| l.total);
        (specs, size)
    };
    let (specs, size) = pick(10_000_000, &MihOptions::new());
    assert_eq!(specs.len(), 10);
    assert!(specs
        .iter()
        .all(|s| s.b == 18 && s.c2 == 0 && s.b + s.c1 == s.len));
    assert_eq!(specs.iter().filter(|s| s.len == 26).count(), 6);
    assert!(size.is_some_and(|s| s <= 40 * 10_000_000));
    let (old, size) = pick(10_000_000, &MihOptions::new().max_bytes_per_hash(32.0));
    assert_eq!(old.len(), 8);
    assert!(old.iter().all(|s| s.len == 32 && s.b == 19));
    assert!(size.is_some_and(|s| s <= 32 * 10_000_000));
    let (specs, _) = pick(1_000_000, &MihOptions::new());
    assert_eq!((specs.len(), specs[0].b), (11, 15));
}
