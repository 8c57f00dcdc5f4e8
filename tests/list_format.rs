//! The hash-list file format: golden files, truncation and bit-flip sweeps, structural
//! corruption, alignment, versioning, atomic writes and build/open round trips.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use hashsieve::index::{IndexKind, IndexOptions};
use hashsieve::list::import::{import, ImportOptions};
use hashsieve::list::raw::{self, Header};
use hashsieve::list::{BuildReport, Category, EntryMeta, HashList, ListBuilder, INDEX_SECTION};
use hashsieve::matching::{ListOptions, Matcher, Query};
use hashsieve::{ErrorKind, Hash256, Hash64, HashKind, HashValue};
use proptest::prelude::*;

use crate::common::entries::{self, Input};
use crate::common::fuzz_checks::exercise;

const GOLDEN_PDQ: &[u8] = include_bytes!("data/list/golden-v1.hsl");
const GOLDEN_PHASH: &[u8] = include_bytes!("data/list/golden-v1-phash.hsl");
const GOLDEN_CREATED: u64 = 1_700_000_000;

/// A path under `tests/data/list`.
fn data(name: &str) -> std::path::PathBuf {
    crate::common::data(&format!("list/{name}"))
}

/// One entry's content, as comparable plain data.
type EntryData = (String, Option<u8>, Vec<String>, Option<String>);

/// The whole content of a list: hex hash to its entries, in list order.
fn content<D: AsRef<[u8]>>(list: &HashList<D>) -> Vec<(String, Vec<EntryData>)> {
    list.iter()
        .map(|(h, entries)| {
            let es = entries
                .map(|e| {
                    (
                        e.id().to_owned(),
                        e.quality(),
                        e.categories().map(|c| c.to_string()).collect(),
                        e.source().map(str::to_owned),
                    )
                })
                .collect();
            (h.to_hex(), es)
        })
        .collect()
}

/// A builder of `kind` for a golden list: named `name`, version `v1`, created at
/// [`GOLDEN_CREATED`].
fn golden_builder(kind: HashKind, name: impl Into<String>) -> ListBuilder {
    ListBuilder::new(kind)
        .name(name)
        .version("v1")
        .created(GOLDEN_CREATED)
}

/// Imports `tests/data/list/<file>` into `b`.
fn import_file(b: &mut ListBuilder, file: &str) {
    let input = fs::read(data(file)).unwrap();
    import(&input[..], file, &ImportOptions::default(), b).unwrap();
}

fn build_golden_pdq() -> (Vec<u8>, BuildReport) {
    let mut b = golden_builder(HashKind::Pdq, "golden");
    import_file(&mut b, "golden-v1.csv");
    b.add_section(*b"XTRA", b"an optional extension section".to_vec())
        .unwrap();
    b.to_vec_with_report().unwrap()
}

fn build_golden_phash() -> (Vec<u8>, BuildReport) {
    let mut b = golden_builder(HashKind::PHash, "golden-64");
    import_file(&mut b, "short64.dat");
    b.to_vec_with_report().unwrap()
}

/// Set HASHSIEVE_BLESS=1 to rewrite the goldens: only when the format version changes (and
/// then the old goldens are kept under a new name, since they must open forever).
fn check_golden(name: &str, built: &[u8], golden: &[u8]) {
    if std::env::var_os("HASHSIEVE_BLESS").is_some() {
        fs::write(data(name), built).unwrap();
        return;
    }
    assert!(
        built == golden,
        "{name}: the builder's output changed; the format is frozen"
    );
}

#[test]
fn golden_pdq_is_what_the_builder_writes() {
    let (bytes, report) = build_golden_pdq();
    check_golden("golden-v1.hsl", &bytes, GOLDEN_PDQ);
    assert_eq!(report.rejected_low_quality, 1);
    assert_eq!(report.rejected_degenerate, 1);
}

#[test]
fn golden_phash_is_what_the_builder_writes() {
    let (bytes, report) = build_golden_phash();
    check_golden("golden-v1-phash.hsl", &bytes, GOLDEN_PHASH);
    assert_eq!((report.entries, report.rejected_degenerate), (4, 2));
}

/// The oracle for the PDQ golden: the CSV, read independently of the importer.
fn expected_pdq_golden() -> Vec<(String, Vec<EntryData>)> {
    let mut rdr = csv::Reader::from_path(data("golden-v1.csv")).unwrap();
    let mut grouped: BTreeMap<String, Vec<EntryData>> = BTreeMap::new();
    for row in rdr.records() {
        let row = row.unwrap();
        let quality = (!row[2].is_empty()).then(|| row[2].parse::<u8>().unwrap());
        if quality.is_some_and(|q| q < 50) || row[0].bytes().all(|b| b == b'0') {
            continue;
        }
        let mut cats: Vec<String> = row[3].split_whitespace().map(str::to_owned).collect();
        cats.sort();
        let source = (!row[4].is_empty()).then(|| row[4].to_owned());
        grouped.entry(row[0].to_owned()).or_default().push((
            row[1].to_owned(),
            quality,
            cats,
            source,
        ));
    }
    grouped.into_iter().collect()
}

#[test]
fn golden_pdq_opens_and_every_field_matches() {
    let list = HashList::from_bytes(GOLDEN_PDQ).unwrap();
    list.verify().unwrap();
    let h = list.header();
    assert_eq!(h.format_version, 1);
    assert_eq!(h.kind, HashKind::Pdq);
    assert_eq!(
        (list.name(), list.version(), list.created()),
        ("golden", "v1", GOLDEN_CREATED)
    );
    assert_eq!(h.file_len, GOLDEN_PDQ.len() as u64);
    let expected = expected_pdq_golden();
    assert_eq!(list.len(), expected.len());
    assert_eq!(
        list.entry_count(),
        expected.iter().map(|(_, e)| e.len()).sum::<usize>()
    );
    assert_eq!(content(&list), expected);
    let tags: Vec<String> = h.sections.iter().map(|s| s.tag_name()).collect();
    assert_eq!(
        tags,
        ["HASH", "HENT", "EIDS", "EQUA", "ECAT", "CSET", "CATN", "ESRC", "SRCN", "XTRA"]
    );
    for s in &h.sections {
        assert_eq!(s.offset % 64, 0);
        assert_eq!(
            s.is_required(),
            ["HASH", "HENT", "EIDS"].contains(&s.tag_name().as_str())
        );
    }
    assert_eq!(
        list.section(*b"XTRA"),
        Some(&b"an optional extension section"[..])
    );
    assert_eq!(list.section(*b"NONE"), None);
    // Hash lookups and the zero-copy view agree with the hex.
    let hashes = list.hashes256().unwrap();
    for (i, (hex, _)) in expected.iter().enumerate() {
        let h: Hash256 = hex.parse().unwrap();
        assert_eq!(hashes[i], h);
        assert_eq!(list.position(h), Some(i));
    }
    assert_eq!(list.position(Hash256::from_limbs([1, 2, 3, 4])), None);
    assert_eq!(list.position(Hash64::from_u64(1)), None);
}

#[test]
fn golden_phash_opens_and_every_field_matches() {
    let list = HashList::from_bytes(GOLDEN_PHASH).unwrap();
    list.verify().unwrap();
    assert_eq!(
        (list.kind(), list.name(), list.created()),
        (HashKind::PHash, "golden-64", GOLDEN_CREATED)
    );
    let text = fs::read_to_string(data("short64.dat")).unwrap();
    // Oracle: the input lines, minus degenerate ones, sorted; ids are the reference's idx=<n>.
    let mut expected: Vec<(String, Vec<EntryData>)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| *l != "0000000000000000" && *l != "ffffffffffffffff")
        .map(|(i, l)| {
            (
                l.to_owned(),
                vec![(format!("idx={}", i + 1), None, vec![], None)],
            )
        })
        .collect();
    expected.sort();
    assert_eq!(content(&list), expected);
    assert!(list.hashes256().is_none());
    let h64 = list.hashes64().unwrap();
    assert_eq!(h64.len(), 4);
    assert!(h64.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn every_truncation_of_the_goldens_fails_cleanly() {
    for golden in [GOLDEN_PDQ, GOLDEN_PHASH] {
        for len in 0..golden.len() {
            let prefix = golden[..len].to_vec();
            match HashList::from_bytes(prefix) {
                // A prefix is a truncated list (the empty one is no list at all), never a
                // corrupt one: the header says how long the file is.
                Err(e) if len == 0 => {
                    assert!(matches!(e.kind(), ErrorKind::Unsupported(_)), "{e}")
                }
                Err(e) => assert!(
                    matches!(e.kind(), ErrorKind::Truncated { found, .. } if *found == len as u64),
                    "prefix of {len} bytes: {e}"
                ),
                Ok(list) => {
                    exercise(&list);
                    assert!(list.verify().is_err(), "prefix of {len} bytes verified");
                }
            }
        }
    }
}

#[test]
fn every_byte_flip_of_the_goldens_is_caught() {
    for golden in [GOLDEN_PDQ, GOLDEN_PHASH] {
        for i in 0..golden.len() {
            for pattern in [0x01u8, 0x80, 0xff] {
                let mut bytes = golden.to_vec();
                bytes[i] ^= pattern;
                assert!(HashList::from_bytes(&bytes[..]).is_err());
                if let Ok(list) = HashList::from_bytes_unverified(bytes) {
                    exercise(&list);
                    assert!(
                        list.verify().is_err(),
                        "flip {pattern:#04x} at byte {i} went unnoticed"
                    );
                }
            }
        }
    }
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut bytes = GOLDEN_PDQ.to_vec();
    bytes.push(0);
    let err = HashList::from_bytes(bytes).unwrap_err();
    assert!(err.to_string().contains("trailing"), "{err}");
}

/// Recomputes every section CRC and the header CRC after a deliberate edit, so that the
/// structural checks (not the checksums) are what is tested.
fn reseal(bytes: &mut [u8], header: &Header) {
    for (i, s) in header.sections.iter().enumerate() {
        let (a, b) = (s.offset as usize, (s.offset + s.length) as usize);
        let crc = raw::crc32c(&bytes[a.min(bytes.len())..b.min(bytes.len())]);
        let at = raw::FIXED_HEADER_LEN + i * raw::SECTION_ENTRY_LEN + 24;
        bytes[at..at + 4].copy_from_slice(&crc.to_le_bytes());
    }
    let hl = header.header_len as usize;
    let crc = raw::crc32c(&bytes[..hl - 4]);
    bytes[hl - 4..hl].copy_from_slice(&crc.to_le_bytes());
}

fn reseal_header_only(bytes: &mut [u8]) {
    let hl = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let crc = raw::crc32c(&bytes[..hl - 4]);
    bytes[hl - 4..hl].copy_from_slice(&crc.to_le_bytes());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Corruption that keeps every checksum valid: open may succeed, accessors must not panic,
    /// and verify must notice anything that breaks the structure.
    #[test]
    fn resealed_corruption_never_panics(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let header = Header::parse(GOLDEN_PDQ).unwrap();
        let mut bytes = GOLDEN_PDQ.to_vec();
        let start = header.header_len as usize;
        for (at, v) in &edits {
            let i = start + at.index(bytes.len() - start);
            bytes[i] = *v;
        }
        reseal(&mut bytes, &header);
        let verified = HashList::from_bytes(&bytes[..]).is_ok();
        if let Ok(list) = HashList::from_bytes_unverified(bytes) {
            exercise(&list);
            prop_assert_eq!(verified, list.verify().is_ok());
        }
    }
}

#[test]
fn resealed_structural_faults_fail_verify() {
    let header = Header::parse(GOLDEN_PDQ).unwrap();
    let sec = |tag: &[u8; 4]| *header.section(*tag).unwrap();
    let mutate = |f: &dyn Fn(&mut [u8])| {
        let mut bytes = GOLDEN_PDQ.to_vec();
        f(&mut bytes);
        reseal(&mut bytes, &header);
        bytes
    };
    // Two hashes swapped: the unverified open succeeds (O(1)), verify reports the order, and
    // so does every verifying constructor.
    let h = sec(b"HASH");
    let bytes = mutate(&|b| {
        let a = h.offset as usize;
        let (x, y) = b[a..a + 64].split_at_mut(32);
        x.swap_with_slice(y);
    });
    assert!(HashList::from_bytes(&bytes[..])
        .unwrap_err()
        .to_string()
        .contains("sorted"));
    let list = HashList::from_bytes_unverified(bytes).unwrap();
    exercise(&list);
    assert!(list.verify().unwrap_err().to_string().contains("sorted"));
    // An id offset pointing far out of range: the id reads as "", verify names the section.
    let ids = sec(b"EIDS");
    let bytes = mutate(&|b| {
        let at = ids.offset as usize + 8 + 8 * 2;
        b[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    });
    let list = HashList::from_bytes_unverified(bytes).unwrap();
    exercise(&list);
    assert_eq!(list.entry(1).unwrap().id(), "");
    assert!(list.verify().unwrap_err().to_string().contains("EIDS"));
    // A quality byte out of range reads as None.
    let q = sec(b"EQUA");
    let bytes = mutate(&|b| b[q.offset as usize] = 200);
    let list = HashList::from_bytes_unverified(bytes).unwrap();
    assert_eq!(list.entry(0).unwrap().quality(), None);
    assert!(list.verify().is_err());
    // An entry range that runs backwards yields no entries for that hash.
    let hent = sec(b"HENT");
    let bytes = mutate(&|b| {
        let at = hent.offset as usize + 8;
        b[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    });
    let list = HashList::from_bytes_unverified(bytes).unwrap();
    exercise(&list);
    assert!(list.verify().is_err());
    // Non-zero padding between sections.
    let pad_at = (hent.offset + hent.length) as usize;
    assert!(
        !pad_at.is_multiple_of(64),
        "HENT should end before a padding gap"
    );
    let bytes = mutate(&|b| b[pad_at] = 1);
    let list = HashList::from_bytes_unverified(bytes).unwrap();
    assert!(list.verify().unwrap_err().to_string().contains("padding"));
}

#[test]
fn version_range_and_algorithm_are_checked() {
    let set_u32 = |at: usize, v: u32| {
        let mut b = GOLDEN_PDQ.to_vec();
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        reseal_header_only(&mut b);
        HashList::from_bytes(b).unwrap_err().to_string()
    };
    let newer = set_u32(8, raw::MAX_READ_VERSION + 1);
    assert!(
        newer.contains("newer") && newer.contains("upgrade"),
        "{newer}"
    );
    assert!(set_u32(8, 0).contains("older"));
    let mut b = GOLDEN_PDQ.to_vec();
    b[16] = 200;
    reseal_header_only(&mut b);
    assert!(HashList::from_bytes(b)
        .unwrap_err()
        .to_string()
        .contains("algorithm"));
    let mut b = GOLDEN_PDQ.to_vec();
    b[16] = HashKind::PHash.code(); // 64-bit algorithm with 256 in the bits field
    reseal_header_only(&mut b);
    assert!(HashList::from_bytes(b).is_err());
    let mut b = GOLDEN_PDQ.to_vec();
    b[0] = b'X';
    assert!(HashList::from_bytes(b)
        .unwrap_err()
        .to_string()
        .contains("magic"));
    // A corrupt header is a checksum error.
    let mut b = GOLDEN_PDQ.to_vec();
    b[40] ^= 1;
    assert!(matches!(
        HashList::from_bytes(b).unwrap_err().kind(),
        ErrorKind::Checksum { .. }
    ));
}

#[test]
fn unknown_sections_optional_skipped_required_refused() {
    let h = Hash64::from_u64(0x1234_5678);
    let mut b = ListBuilder::new(HashKind::DHash);
    b.add(h, EntryMeta::new("x")).unwrap();
    b.add_section(*b"IDX1", vec![7; 100]).unwrap();
    assert!(b.add_section(*b"IDX1", vec![]).is_err());
    assert!(b.add_section(*b"HASH", vec![]).is_err());
    let list = HashList::from_bytes(b.to_vec().unwrap()).unwrap();
    list.verify().unwrap();
    assert_eq!(list.section(*b"IDX1"), Some(&[7u8; 100][..]));

    let mut b = ListBuilder::new(HashKind::DHash);
    b.add(h, EntryMeta::new("x")).unwrap();
    b.add_required_section(*b"NEW!", vec![1, 2, 3]).unwrap();
    let err = HashList::from_bytes(b.to_vec().unwrap()).unwrap_err();
    assert!(
        err.to_string().contains("NEW!") && err.to_string().contains("upgrade"),
        "{err}"
    );
}

#[test]
fn unaligned_buffers_are_read_correctly() {
    let aligned = HashList::from_bytes(GOLDEN_PDQ.to_vec()).unwrap();
    let mut buf = vec![0u8; GOLDEN_PDQ.len() + 8];
    for shift in 0..8 {
        buf[shift..shift + GOLDEN_PDQ.len()].copy_from_slice(GOLDEN_PDQ);
        let list = HashList::from_bytes(&buf[shift..shift + GOLDEN_PDQ.len()]).unwrap();
        assert_eq!(list.hashes256(), aligned.hashes256());
        assert_eq!(content(&list), content(&aligned));
        list.verify().unwrap();
    }
}

#[test]
fn empty_lists_build_and_open() {
    for kind in [HashKind::Pdq, HashKind::AHash] {
        let bytes = ListBuilder::new(kind).to_vec().unwrap();
        let list = HashList::from_bytes(bytes).unwrap();
        list.verify().unwrap();
        assert!(list.is_empty());
        assert_eq!(
            (list.len(), list.entry_count(), list.iter().count()),
            (0, 0, 0)
        );
        assert_eq!(list.hashes().len(), 0);
        assert!(list.get(0).is_none() && list.entry(0).is_none());
    }
}

#[test]
#[should_panic(expected = "out of range")]
fn entries_of_past_the_end_is_a_caller_bug() {
    let list = HashList::from_bytes(GOLDEN_PDQ).unwrap();
    let _ = list.entries_of(list.len());
}

#[test]
fn builder_rejects_bad_arguments() {
    let mut b = ListBuilder::new(HashKind::Pdq);
    let h = Hash256::from_limbs([1, 2, 3, 4]);
    assert!(matches!(
        b.add(Hash64::from_u64(5), EntryMeta::new("x"))
            .unwrap_err()
            .kind(),
        ErrorKind::Mismatch(_)
    ));
    assert!(b.add(h, EntryMeta::new("x").quality(101)).is_err());
    assert!(b
        .add(h, EntryMeta::new("x").category(Category::new("a b", "c")))
        .is_err());
    assert!(b
        .add(h, EntryMeta::new("x").category(Category::new("a:b", "c")))
        .is_err());
    assert!(b
        .add(h, EntryMeta::new("x").category(Category::new("a", "")))
        .is_err());
    assert_eq!(b.entry_count(), 0);
    // Rules: degenerate and low quality rejected by default, allowed on request.
    assert!(!b
        .add(Hash256::from_limbs([u64::MAX; 4]), EntryMeta::new("ones"))
        .unwrap());
    assert!(!b.add(h, EntryMeta::new("q").quality(49)).unwrap());
    assert!(b.add(h, EntryMeta::new("q").quality(50)).unwrap());
    assert!(b.add(h, EntryMeta::new("unknown quality")).unwrap());
    let mut b = ListBuilder::new(HashKind::Pdq)
        .min_quality(0)
        .allow_degenerate(true);
    assert!(b
        .add(Hash256::default(), EntryMeta::new("zeros").quality(0))
        .unwrap());
    // Over-long names fail at write time.
    let b = ListBuilder::new(HashKind::Pdq).name("n".repeat(raw::MAX_NAME_LEN + 1));
    assert!(matches!(
        b.to_vec().unwrap_err().kind(),
        ErrorKind::InvalidArgument(_)
    ));
}

#[test]
fn failed_writes_leave_nothing_and_replacement_keeps_mapped_lists_valid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.hsl");
    let b = ListBuilder::new(HashKind::Pdq).name("n".repeat(raw::MAX_NAME_LEN + 1));
    assert!(b.write(&path).is_err());
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        0,
        "temporary file left behind"
    );
    assert!(ListBuilder::new(HashKind::Pdq)
        .write(dir.path().join("missing/dir/x.hsl"))
        .is_err());

    // Write, map, replace: the old mapping still reads the old list.
    let mut b = ListBuilder::new(HashKind::PHash).name("old");
    b.add(Hash64::from_u64(11), EntryMeta::new("a")).unwrap();
    b.write(&path).unwrap();
    // SAFETY: the file is only ever replaced by rename below, never modified in place.
    let old = unsafe { HashList::open_mmap(&path) }.unwrap();
    let mut b = ListBuilder::new(HashKind::PHash).name("new");
    for i in 1..1000u64 {
        b.add(Hash64::from_u64(i * 7919), EntryMeta::new("b"))
            .unwrap();
    }
    let report = b.write(&path).unwrap();
    assert_eq!(report.bytes, fs::metadata(&path).unwrap().len());
    assert_eq!((old.name(), old.len()), ("old", 1));
    old.verify().unwrap();
    // SAFETY: as above.
    let new = unsafe { HashList::open_mmap(&path) }.unwrap();
    assert_eq!((new.name(), new.len()), ("new", 999));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    // HashList::read gives the same list without a mapping.
    let read = HashList::read(&path).unwrap();
    assert_eq!(content(&read), content(&new));
}

#[test]
fn open_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.hsl");
    fs::write(&empty, b"").unwrap();
    let text = dir.path().join("text.hsl");
    fs::write(
        &text,
        "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22\n",
    )
    .unwrap();
    type Open = fn(&Path) -> hashsieve::Result<()>;
    let read: Open = |p| HashList::read(p).map(drop);
    // SAFETY: nothing modifies these files while they are mapped.
    let map: Open = |p| unsafe { HashList::open_mmap(p) }.map(drop);
    for open in [read, map] {
        let err = open(&empty).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Unsupported(_)), "{err}");
        assert_eq!(err.path(), Some(empty.as_path()));
        let err = open(&dir.path().join("absent.hsl")).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Io(_)));
        assert!(open(&text).unwrap_err().to_string().contains("magic"));
        let err = open(dir.path()).unwrap_err();
        crate::common::assert_not_a_regular_file(
            &err,
            "a directory, not a regular file",
            "directory",
        );
    }
}

// ---- Property tests: build -> open gives back exactly what went in. ----

fn input_strategy(wide: bool) -> impl Strategy<Value = Vec<Input>> {
    // A small hash pool forces duplicates; edge values included.
    let hash = if wide {
        entries::hashes_256(vec![
            [0u64, 0, 0, 0],
            [u64::MAX; 4],
            [1, 0, 0, 0],
            [0, 0, 0, 1],
            [5, 6, 7, 8],
            [8, 7, 6, 5],
            [u64::MAX, 0, 0, 0],
        ])
    } else {
        entries::hashes_64(vec![0u64, u64::MAX, 1, 2, 1 << 63])
    };
    let category = (
        prop::sample::select(vec!["vics-us", "uk", "tag", "x"]),
        prop::sample::select(vec!["1", "2", "A", "C", "urgent"]),
    )
        .prop_map(|(s, c)| (s.to_owned(), c.to_owned()));
    let source = prop::option::of(
        prop::sample::select(vec!["list-a", "list-b", "ncmec"]).prop_map(str::to_owned),
    );
    entries::inputs(
        hash,
        ".{0,12}".boxed(),
        category.boxed(),
        source.boxed(),
        40,
    )
}

fn build(kind: HashKind, inputs: &[Input]) -> Vec<u8> {
    let mut b = ListBuilder::new(kind)
        .name("prop")
        .version("1")
        .created(42)
        .min_quality(0)
        .allow_degenerate(true);
    assert_eq!(entries::add_all(&mut b, inputs), inputs.len());
    b.to_vec().unwrap()
}

/// The oracle: group by hash in input order, sort by hex (the list order).
fn expected(inputs: &[Input]) -> Vec<(String, Vec<EntryData>)> {
    let mut grouped: BTreeMap<String, Vec<EntryData>> = BTreeMap::new();
    for i in inputs {
        let mut cats: Vec<String> = i
            .categories
            .iter()
            .map(|(s, c)| format!("{s}:{c}"))
            .collect();
        cats.sort();
        cats.dedup();
        grouped.entry(i.hash.to_hex()).or_default().push((
            i.id.clone(),
            i.quality,
            cats,
            i.source.clone(),
        ));
    }
    grouped.into_iter().collect()
}

/// Builds `inputs` into a list of `kind`, opens and verifies it, and checks that it holds what
/// was put in.
fn round_trip(kind: HashKind, inputs: &[Input]) -> Result<HashList<Vec<u8>>, TestCaseError> {
    let list = HashList::from_bytes(build(kind, inputs)).unwrap();
    list.verify().unwrap();
    prop_assert_eq!(content(&list), expected(inputs));
    Ok(list)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn build_then_open_round_trips_256(inputs in input_strategy(true)) {
        let list = round_trip(HashKind::Pdq, &inputs)?;
        prop_assert_eq!(list.entry_count(), inputs.len());
        for (i, (h, _)) in list.iter().enumerate() {
            prop_assert_eq!(list.position(h), Some(i));
        }
    }

    #[test]
    fn build_then_open_round_trips_64(inputs in input_strategy(false)) {
        round_trip(HashKind::WHash, &inputs)?;
    }

    /// The file depends only on the content, not on the order categories and sources were
    /// first seen in.
    #[test]
    fn output_is_canonical(inputs in input_strategy(true)) {
        let mut reversed = inputs.clone();
        for i in &mut reversed {
            i.categories.reverse();
        }
        // Entries of different hashes may come in any order; within a hash the order is kept.
        reversed.sort_by_key(|i| std::cmp::Reverse(i.hash.to_hex()));
        prop_assert_eq!(build(HashKind::Pdq, &inputs), build(HashKind::Pdq, &reversed));
    }
}

/// The indexed goldens: one per index kind and width, built from a frozen synthetic input.
const GOLDEN_INDEXED: [(&str, &str, HashKind, IndexKind, &[u8]); 4] = [
    (
        "golden-v1-bktree64.hsl",
        "golden-v1-index64.txt",
        HashKind::PHash,
        IndexKind::BkTree,
        include_bytes!("data/list/golden-v1-bktree64.hsl"),
    ),
    (
        "golden-v1-mih64.hsl",
        "golden-v1-index64.txt",
        HashKind::PHash,
        IndexKind::Mih,
        include_bytes!("data/list/golden-v1-mih64.hsl"),
    ),
    (
        "golden-v1-bktree256.hsl",
        "golden-v1-index256.txt",
        HashKind::Pdq,
        IndexKind::BkTree,
        include_bytes!("data/list/golden-v1-bktree256.hsl"),
    ),
    (
        "golden-v1-mih256.hsl",
        "golden-v1-index256.txt",
        HashKind::Pdq,
        IndexKind::Mih,
        include_bytes!("data/list/golden-v1-mih256.hsl"),
    ),
];

fn build_golden_indexed(input: &str, kind: HashKind, index: IndexKind) -> (Vec<u8>, BuildReport) {
    let mut b = golden_builder(kind, format!("golden-{index}"))
        .index(IndexOptions::new(index).threshold(kind.default_threshold()));
    import_file(&mut b, input);
    b.to_vec_with_report().unwrap()
}

#[test]
fn golden_indexed_lists_are_what_the_builder_writes() {
    for (name, input, kind, index, golden) in GOLDEN_INDEXED {
        let (bytes, report) = build_golden_indexed(input, kind, index);
        check_golden(name, &bytes, golden);
        assert_eq!((report.index, report.entries), (Some(index), 201), "{name}");
    }
}

/// Today's reader opens each indexed golden, recognises its index and answers every query (each
/// hash of the input and a neighbour of it) exactly as a brute-force scan of the input does.
#[test]
fn golden_indexed_lists_open_and_answer_like_brute_force() {
    for (name, input, kind, index, golden) in GOLDEN_INDEXED {
        let list = HashList::from_bytes(golden).unwrap();
        list.verify().unwrap();
        assert_eq!(list.index_kind(), Some(index), "{name}");
        assert!(list.section(INDEX_SECTION).unwrap().starts_with(b"HSIX-"));
        // Oracle: the input text, read independently of the importer.
        let entries: Vec<(HashValue, String)> = fs::read_to_string(data(input))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                let (hex, id) = l.split_once(',').unwrap();
                (kind.parse_hex(hex).unwrap(), id.to_owned())
            })
            .collect();
        let threshold = kind.default_threshold();
        let matcher = Matcher::new();
        matcher
            .add_list(list, ListOptions::default().threshold(threshold))
            .unwrap();
        let flip = |h: HashValue| match h {
            HashValue::Bits64(h) => HashValue::Bits64(Hash64::from_u64(h.to_u64() ^ 0x8000_0101)),
            HashValue::Bits256(h) => {
                let mut l = h.limbs();
                l[2] ^= 0x0f0f;
                HashValue::Bits256(Hash256::from_limbs(l))
            }
            _ => unreachable!("the lists here are 64- or 256-bit"),
        };
        for q in entries.iter().flat_map(|(h, _)| [*h, flip(*h)]) {
            let mut expected: Vec<(String, u32)> = entries
                .iter()
                .map(|(h, id)| (id.clone(), h.distance(&q).unwrap()))
                .filter(|&(_, d)| d <= threshold)
                .collect();
            expected.sort();
            let result = matcher.query(&Query::new(kind, q, None));
            assert_eq!(crate::common::found(&result), expected, "{name}");
        }
    }
}

#[test]
fn every_truncation_of_the_indexed_goldens_fails_cleanly() {
    for (name, .., golden) in GOLDEN_INDEXED {
        for len in 0..golden.len() {
            if let Ok(list) = HashList::from_bytes(golden[..len].to_vec()) {
                panic!(
                    "{name}: a prefix of {len} bytes opened ({} hashes)",
                    list.len()
                );
            }
        }
    }
}

/// The longest run of hex digits in `text`: a message with a run of 16 or more may hold a
/// hash value.
fn longest_hex_run(text: &str) -> usize {
    text.split(|c: char| !c.is_ascii_hexdigit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

/// Each way a list file can be wrong is its own error kind, so a caller can act on it
/// (fetch again, upgrade, rebuild), and each message says what to do and holds no hash value.
#[test]
fn each_fault_has_its_own_error_kind() {
    let golden = HashList::from_bytes(GOLDEN_PDQ).unwrap();
    let hashes: Vec<String> = golden.iter().map(|(h, _)| h.to_string()).collect();
    assert!(hashes.iter().all(|h| h.len() == 64));
    let check = |err: &hashsieve::Error, advice: &str| {
        let msg = err.to_string();
        assert!(msg.contains(advice), "{msg:?} should say {advice:?}");
        assert!(longest_hex_run(&msg) < 16, "{msg}");
        for h in &hashes {
            assert!(!msg.contains(&h[..8]), "{msg} holds part of a hash");
        }
    };
    let len = GOLDEN_PDQ.len() as u64;

    // An interrupted copy: the file is shorter than its header says.
    for cut in [1, 10, 64, GOLDEN_PDQ.len() - 1] {
        let err = HashList::from_bytes(&GOLDEN_PDQ[..cut]).unwrap_err();
        let ErrorKind::Truncated { needed, found, .. } = err.kind() else {
            panic!("{cut} bytes: {err}")
        };
        assert_eq!(*found, cut as u64, "{err}");
        assert!(*needed > *found && *needed <= len, "{err}");
        check(&err, "re-download");
    }
    let err = HashList::from_bytes(&GOLDEN_PDQ[..GOLDEN_PDQ.len() - 1]).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Truncated { needed, .. } if *needed == len),
        "{err}"
    );

    // Written by a newer hashsieve, or by one too old.
    let with_version = |v: u32| {
        let mut b = GOLDEN_PDQ.to_vec();
        b[8..12].copy_from_slice(&v.to_le_bytes());
        reseal_header_only(&mut b);
        HashList::from_bytes(b).unwrap_err()
    };
    let err = with_version(raw::MAX_READ_VERSION + 1);
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Version { what: "hash list", found, supported }
                if *found == raw::MAX_READ_VERSION + 1 && *supported == raw::MAX_READ_VERSION
        ),
        "{err}"
    );
    check(&err, "upgrade hashsieve");
    let err = with_version(0);
    assert!(
        matches!(err.kind(), ErrorKind::Version { found: 0, .. }),
        "{err}"
    );
    check(&err, "rebuild");

    // Not a list at all.
    for bytes in [&b"PK\x03\x04 a zip file"[..], b"", b"\x89PNX"] {
        let err = HashList::from_bytes(bytes).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Unsupported(_)), "{err}");
        check(&err, "not a hash");
    }
    let mut b = GOLDEN_PDQ.to_vec();
    b[0] = b'X';
    let err = HashList::from_bytes(b).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Unsupported(_)), "{err}");
    check(&err, "magic");
    // An algorithm from a newer writer.
    let mut b = GOLDEN_PDQ.to_vec();
    b[16] = 200;
    reseal_header_only(&mut b);
    let err = HashList::from_bytes(b).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Unsupported(_)), "{err}");
    check(&err, "upgrade hashsieve");

    // A flipped byte in the hashes: the section's checksum catches it.
    let header = Header::parse(GOLDEN_PDQ).unwrap();
    let hash_at = header.section(raw::TAG_HASHES).unwrap().offset as usize;
    let mut b = GOLDEN_PDQ.to_vec();
    b[hash_at + 3] ^= 0x10;
    let err = HashList::from_bytes(b).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Checksum { section } if section == "section HASH"),
        "{err}"
    );
    check(&err, "rebuild or re-download");
    let mut b = GOLDEN_PDQ.to_vec();
    b[40] ^= 1;
    let err = HashList::from_bytes(b).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Checksum { section } if section == "header"),
        "{err}"
    );

    // Consistent checksums, inconsistent structure: corrupt.
    let mut b = GOLDEN_PDQ.to_vec();
    b[16] = HashKind::PHash.code(); // a 64-bit algorithm, 256 in the bits field
    reseal_header_only(&mut b);
    let err = HashList::from_bytes(b).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Corrupt {
                what: "hash list",
                ..
            }
        ),
        "{err}"
    );
    check(&err, "rebuild or re-download");
    let mut b = GOLDEN_PDQ.to_vec();
    b.extend_from_slice(&[0; 64]);
    let err = HashList::from_bytes(b).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Corrupt { .. }), "{err}");
    check(&err, "trailing data");
}
