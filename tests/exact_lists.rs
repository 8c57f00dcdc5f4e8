//! Exact hashes (MD5, SHA-1, SHA-256): digests against coreutils, exact-hash lists (round trip,
//! brute-force lookup oracle, golden files, refusal by older readers, corruption), list roles and
//! exact matching.

use std::collections::BTreeMap;
use std::process::Command;

use hashsieve::hash::Digest;
use hashsieve::list::raw::{self, Header};
use hashsieve::list::{EntryMeta, HashList, ListBuilder, ListRole};
use hashsieve::matching::{ListOptions, Matcher, Query};
use hashsieve::{ErrorKind, HashKind};

use crate::common::cmd::cmd;
use crate::common::Rng;

const GOLDEN_CREATED: u64 = 1_700_000_000;

/// The golden exact-hash lists: a fixed set of entries, one file per kind (and an allow-list).
fn golden_builder(kind: HashKind, role: ListRole) -> ListBuilder {
    let mut b = ListBuilder::new(kind)
        .name(format!("golden-{kind}"))
        .version("v2")
        .created(GOLDEN_CREATED)
        .role(role);
    for i in 0..20u32 {
        let d = Digest::of(kind, format!("file {i}").as_bytes());
        let mut meta = EntryMeta::new("").category(hashsieve::list::Category::new("vics-us", "1"));
        let id = format!("media-{i}");
        meta.id = &id;
        let json = format!("{{\"MediaID\":{i}}}");
        if i % 3 == 0 {
            meta = meta.metadata(&json);
        }
        b.add(d, meta).unwrap();
        if i % 5 == 0 {
            // A second entry under the same digest.
            b.add(d, EntryMeta::new("dup")).unwrap();
        }
    }
    b
}

fn golden_name(kind: HashKind, role: ListRole) -> String {
    match role {
        ListRole::Allow => format!("list/golden-v2-{kind}-allow.hsl"),
        _ => format!("list/golden-v2-{kind}.hsl"),
    }
}

fn golden_cases() -> Vec<(HashKind, ListRole)> {
    let mut v: Vec<_> = HashKind::EXACT
        .into_iter()
        .map(|k| (k, ListRole::Block))
        .collect();
    v.push((HashKind::Md5, ListRole::Allow));
    v
}

/// Golden files of format version 2 open forever, and this build writes them byte for byte.
/// Regenerate (only for a deliberate format change) with `HASHSIEVE_UPDATE_GOLDEN=1`.
#[test]
fn golden_exact_lists_open_and_are_reproduced() {
    for (kind, role) in golden_cases() {
        let path = crate::common::data(&golden_name(kind, role));
        let fresh = golden_builder(kind, role).to_vec().unwrap();
        if std::env::var_os("HASHSIEVE_UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &fresh).unwrap();
        }
        let golden = std::fs::read(&path).unwrap();
        assert_eq!(golden, fresh, "{}", path.display());
        let list = HashList::from_bytes(golden).unwrap();
        assert_eq!(list.kind(), kind);
        assert_eq!(list.role(), role);
        assert_eq!(list.header().format_version, 2);
        assert_eq!(list.len(), 20);
        assert_eq!(list.entry_count(), 24);
        for i in 0..20u32 {
            let d = Digest::of(kind, format!("file {i}").as_bytes());
            let at = list.position(d).expect("every golden digest is found");
            let ids: Vec<&str> = list.entries_of(at).map(|e| e.id()).collect();
            let id = format!("media-{i}");
            if i % 5 == 0 {
                assert_eq!(ids, [id.as_str(), "dup"]);
            } else {
                assert_eq!(ids, [id.as_str()]);
            }
            let first = list.entries_of(at).next().unwrap();
            let want = format!("{{\"MediaID\":{i}}}");
            assert_eq!(first.metadata(), (i % 3 == 0).then_some(want.as_str()));
            assert_eq!(
                first
                    .categories()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>(),
                ["vics-us:1"]
            );
        }
    }
}

/// Perceptual block lists are still written as version 1, so older builds read them.
#[test]
fn perceptual_block_lists_stay_version_1() {
    let mut b = ListBuilder::new(HashKind::PHash).created(0);
    b.add(hashsieve::Hash64::from_u64(7), EntryMeta::new("a"))
        .unwrap();
    let list = HashList::from_bytes(b.to_vec().unwrap()).unwrap();
    assert_eq!(list.header().format_version, 1);
    assert_eq!(list.role(), ListRole::Block);
    let mut b = ListBuilder::new(HashKind::PHash)
        .created(0)
        .role(ListRole::Allow);
    b.add(hashsieve::Hash64::from_u64(7), EntryMeta::new("a"))
        .unwrap();
    let list = HashList::from_bytes(b.to_vec().unwrap()).unwrap();
    assert_eq!(list.header().format_version, 2);
    assert_eq!(list.role(), ListRole::Allow);
}

/// Rewrites a header field and its CRC.
fn patch_header(bytes: &[u8], at: usize, value: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at..at + value.len()].copy_from_slice(value);
    let hl = u32::from_le_bytes(b[12..16].try_into().unwrap()) as usize;
    let crc = raw::crc32c(&b[..hl - 4]);
    b[hl - 4..hl].copy_from_slice(&crc.to_le_bytes());
    b
}

/// What an older reader (versions 1..=1) does with these files: refuses them by version, with
/// the message that says to upgrade; a file claiming version 1 with an exact kind, and an
/// unknown role, are refused too.
#[test]
fn older_readers_and_bad_headers_refuse_cleanly() {
    for (kind, role) in golden_cases() {
        let golden = std::fs::read(crate::common::data(&golden_name(kind, role))).unwrap();
        // An old reader accepted 1..=1: version 2 is outside its range.
        let h = Header::parse(&golden).unwrap();
        assert!(
            h.format_version > 1,
            "older builds must refuse {kind} {role} lists"
        );
        // Declared version 1: exact kinds need 2 (an allow list read as v1 would be a block list,
        // so the builder never writes it; the v1 reader ignores byte 17).
        let v1 = patch_header(&golden, 8, &1u32.to_le_bytes());
        match kind.is_exact() {
            true => assert!(matches!(
                HashList::from_bytes(v1).unwrap_err().kind(),
                ErrorKind::Corrupt { .. }
            )),
            false => unreachable!(),
        }
        let bad_role = patch_header(&golden, 17, &[7]);
        let err = HashList::from_bytes(bad_role).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Unsupported(_)), "{err}");
        let newer = patch_header(&golden, 8, &3u32.to_le_bytes());
        assert!(matches!(
            HashList::from_bytes(newer).unwrap_err().kind(),
            ErrorKind::Version { .. }
        ));
    }
}

/// Every prefix of a golden exact list, and every single-byte change of its `HASH` section, is
/// an error, never a panic or a list that answers.
#[test]
fn truncated_or_corrupt_exact_lists_fail_cleanly() {
    let golden = std::fs::read(crate::common::data(&golden_name(
        HashKind::Sha1,
        ListRole::Block,
    )))
    .unwrap();
    for len in 0..golden.len() {
        assert!(
            HashList::from_bytes(&golden[..len]).is_err(),
            "prefix {len}"
        );
    }
    let h = Header::parse(&golden).unwrap();
    let s = h.section(raw::TAG_HASHES).unwrap();
    for at in s.offset..s.offset + s.length {
        let mut b = golden.clone();
        b[at as usize] ^= 0x10;
        let err = HashList::from_bytes(b).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Checksum { .. }), "{err}");
    }
    // A HASH section that is sorted wrongly but has a valid CRC: a structural error.
    let mut b = golden.clone();
    let (o, w) = (s.offset as usize, 20);
    let (first, second) = (b[o..o + w].to_vec(), b[o + w..o + 2 * w].to_vec());
    b[o..o + w].copy_from_slice(&second);
    b[o + w..o + 2 * w].copy_from_slice(&first);
    let crc = raw::crc32c(&b[o..o + s.length as usize]);
    let idx = h
        .sections
        .iter()
        .position(|x| x.tag == raw::TAG_HASHES)
        .unwrap();
    let at = raw::FIXED_HEADER_LEN + idx * raw::SECTION_ENTRY_LEN + 24;
    let b = patch_header(&b, at, &crc.to_le_bytes());
    let err = HashList::from_bytes(b).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Corrupt { .. }), "{err}");
}

/// Round trip of random lists of every exact kind, with duplicates, against a brute-force
/// oracle: every present digest is found with its ids, absent ones are not.
#[test]
fn exact_lookup_agrees_with_brute_force() {
    let mut rng = Rng::new(15);
    for kind in HashKind::EXACT {
        for n in [0usize, 1, 2, 33, 2000] {
            let mut added: Vec<(Digest, String)> = Vec::new();
            let mut b = ListBuilder::new(kind);
            for i in 0..n {
                let d = if i > 0 && rng.next().is_multiple_of(7) {
                    added[rng.next() as usize % added.len()].0
                } else {
                    let bytes: Vec<u8> = (0..32).map(|_| rng.next() as u8).collect();
                    Digest::new(kind, &bytes[..kind.width() as usize / 8]).unwrap()
                };
                let id = format!("id{i}");
                b.add(d, EntryMeta::new(&id)).unwrap();
                added.push((d, id));
            }
            let list = HashList::from_bytes(b.to_vec().unwrap()).unwrap();
            let mut queries: Vec<Digest> = added.iter().map(|(d, _)| *d).collect();
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..32).map(|_| rng.next() as u8).collect();
                queries.push(Digest::new(kind, &bytes[..kind.width() as usize / 8]).unwrap());
            }
            for q in queries {
                let want: Vec<&str> = added
                    .iter()
                    .filter(|(d, _)| *d == q)
                    .map(|(_, id)| id.as_str())
                    .collect();
                let got: Vec<&str> = match list.position(q) {
                    Some(i) => {
                        assert_eq!(list.hash(i), Some(q.into()));
                        list.entries_of(i).map(|e| e.id()).collect()
                    }
                    None => Vec::new(),
                };
                assert_eq!(got, want, "{kind} n={n}");
            }
        }
    }
}

/// A digest of another kind is refused by the builder and never found by a lookup.
#[test]
fn kinds_do_not_mix() {
    let mut b = ListBuilder::new(HashKind::Sha256);
    let md5 = Digest::of(HashKind::Md5, b"x");
    assert!(b.add(md5, EntryMeta::new("a")).is_err());
    let pdq = hashsieve::Hash256::from_limbs([1, 2, 3, 4]);
    assert!(b.add(pdq, EntryMeta::new("a")).is_err());
    b.add(Digest::of(HashKind::Sha256, b"x"), EntryMeta::new("a"))
        .unwrap();
    let list = HashList::from_bytes(b.to_vec().unwrap()).unwrap();
    assert_eq!(list.position(Digest::of(HashKind::Sha256, b"x")), Some(0));
    assert_eq!(list.position(pdq), None);
    assert_eq!(list.entry_count(), 1);
}

/// The matcher answers exact queries from exact lists: distance 0, the list's kind and role, and
/// refuses a threshold on an exact list.
#[test]
fn matcher_matches_exact_lists() {
    let mut b = ListBuilder::new(HashKind::Md5).name("vics").created(0);
    b.add(Digest::of(HashKind::Md5, b"known"), EntryMeta::new("m-1"))
        .unwrap();
    let bytes = b.to_vec().unwrap();
    let matcher = Matcher::new();
    matcher
        .add_list(
            HashList::from_bytes(bytes.clone()).unwrap(),
            ListOptions::default(),
        )
        .unwrap();
    let hit = matcher.query(&Query::new(
        HashKind::Md5,
        Digest::of(HashKind::Md5, b"known"),
        None,
    ));
    let m = &hit.matches()[0];
    assert_eq!(
        (m.kind, m.distance, m.role),
        (HashKind::Md5, 0, ListRole::Block)
    );
    assert_eq!(m.entry_ids, ["m-1"]);
    let miss = matcher.query(&Query::new(
        HashKind::Md5,
        Digest::of(HashKind::Md5, b"other"),
        None,
    ));
    assert!(miss.matches().is_empty());
    let err = Matcher::new()
        .add_list(
            HashList::from_bytes(bytes).unwrap(),
            ListOptions::default().threshold(3),
        )
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument(_)));
}

/// Runs a coreutils digest tool on `path` and returns its lowercase hex.
fn coreutils(tool: &str, path: &std::path::Path) -> String {
    let out = Command::new(tool)
        .arg(path)
        .output()
        .expect("coreutils installed");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// `hash --algo md5,sha1,sha256,pdq` agrees with md5sum, sha1sum and sha256sum on an image and
/// on a file that is not an image (which gets its exact hashes, a note and exit 0), and every
/// row carries the file size.
#[test]
fn cli_exact_hashes_agree_with_coreutils() {
    let image = crate::common::data("corpus/photo_002.png");
    let text = crate::common::data("SOURCES.md");
    let out = cmd([
        "hash",
        "--algo",
        "md5,sha1,sha256,pdq",
        image.to_str().unwrap(),
        text.to_str().unwrap(),
    ])
    .assert_ok();
    let stdout = out.stdout();
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("path\talgorithm\thash\tquality\tsize"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
    for (path, is_image) in [(&image, true), (&text, false)] {
        let p = path.to_str().unwrap();
        let size = std::fs::metadata(path).unwrap().len().to_string();
        let of = |algo: &str| rows.iter().find(|r| r[0] == p && r[1] == algo);
        for (algo, tool) in [
            ("md5", "md5sum"),
            ("sha1", "sha1sum"),
            ("sha256", "sha256sum"),
        ] {
            let row = of(algo).unwrap_or_else(|| panic!("{p} {algo}"));
            assert_eq!(row[2], coreutils(tool, path), "{p} {algo}");
            assert_eq!(row[4], size);
        }
        assert_eq!(of("pdq").is_some(), is_image);
    }
}

/// Without an exact kind, a file that is not an image is still an error (exit 2).
#[test]
fn cli_non_image_without_exact_kinds_is_an_error() {
    let text = crate::common::data("SOURCES.md");
    cmd(["hash", text.to_str().unwrap()]).assert_exit(2);
}

/// A case directory: two images, a text file and a binary blob, with an md5 block list (the text
/// file and image `b`), an md5 allow-list (image `b`: known good) and a PDQ list (image `a`).
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        let dir = tempfile::tempdir().unwrap();
        let ev = dir.path().join("evidence");
        std::fs::create_dir(&ev).unwrap();
        std::fs::copy(
            crate::common::data("corpus/photo_002.png"),
            ev.join("a.png"),
        )
        .unwrap();
        std::fs::copy(
            crate::common::data("corpus/photo_003.png"),
            ev.join("b.png"),
        )
        .unwrap();
        std::fs::write(ev.join("notes.txt"), b"meeting notes\n").unwrap();
        std::fs::write(
            ev.join("clip.bin"),
            (0..5000u32).map(|i| (i * 31) as u8).collect::<Vec<_>>(),
        )
        .unwrap();
        let md5 = |name: &str| Digest::of(HashKind::Md5, &std::fs::read(ev.join(name)).unwrap());
        let mut block = ListBuilder::new(HashKind::Md5).name("vics").created(0);
        block
            .add(md5("notes.txt"), EntryMeta::new("media-notes"))
            .unwrap();
        block.add(md5("b.png"), EntryMeta::new("media-b")).unwrap();
        block.write(dir.path().join("vics.hsl")).unwrap();
        let mut allow = ListBuilder::new(HashKind::Md5)
            .name("nsrl")
            .created(0)
            .role(ListRole::Allow);
        allow.add(md5("b.png"), EntryMeta::new("nsrl-b")).unwrap();
        allow.write(dir.path().join("nsrl.hsl")).unwrap();
        let pdq = hashsieve::algo::Hasher::new()
            .hash_file(&ev.join("a.png"), &[HashKind::Pdq])
            .unwrap()
            .hashes[0]
            .value;
        let mut p = ListBuilder::new(HashKind::Pdq).name("pdq").created(0);
        p.add(pdq, EntryMeta::new("photo-a")).unwrap();
        p.write(dir.path().join("pdq.hsl")).unwrap();
        Case { dir }
    }

    fn path(&self, rel: &str) -> String {
        self.dir.path().join(rel).to_str().unwrap().to_string()
    }

    /// `-l <path>` for each of the case's lists `names`.
    fn lists(&self, names: &[&str]) -> Vec<String> {
        names
            .iter()
            .flat_map(|name| ["-l".to_string(), self.path(name)])
            .collect()
    }

    /// The TSV rows (after the settings comment) as maps from column to cell.
    fn rows(stdout: &str) -> Vec<BTreeMap<String, String>> {
        crate::common::tsv_maps(stdout)
    }
}

/// Whether one of `rows` has every `(column, cell)` of `cells`.
fn any_row(rows: &[&BTreeMap<String, String>], cells: &[(&str, &str)]) -> bool {
    rows.iter()
        .any(|r| cells.iter().all(|(column, cell)| r[*column] == *cell))
}

/// `scan` of images and non-image files against exact, allow and PDQ lists in one pass: every
/// file gets its md5 and sha1 and its size; the text file matches exactly and gets a `no_image`
/// row (no error); image `b` is known good and its block match is suppressed; image `a` matches
/// PDQ at distance 0.
#[test]
fn cli_scan_matches_exact_and_perceptual_lists_with_an_allow_list() {
    let case = Case::new();
    let out = cmd(["scan"])
        .args(case.lists(&["vics.hsl", "nsrl.hsl", "pdq.hsl"]))
        .arg(case.path("evidence"))
        .assert_exit(0);
    let rows = Case::rows(&out.stdout());
    let of = |file: &str| -> Vec<&BTreeMap<String, String>> {
        rows.iter().filter(|r| r["path"].ends_with(file)).collect()
    };
    for file in ["a.png", "b.png", "notes.txt", "clip.bin"] {
        let size = std::fs::metadata(case.path(&format!("evidence/{file}")))
            .unwrap()
            .len();
        let rs = of(file);
        assert!(
            rs.iter().all(|r| r["size"] == size.to_string()),
            "{file}: {rs:?}"
        );
        for (algo, tool) in [("md5", "md5sum"), ("sha1", "sha1sum")] {
            let want = coreutils(tool, &case.dir.path().join("evidence").join(file));
            // Every row carries the file's exact hashes.
            assert!(rs.iter().all(|r| r[algo] == want), "{file} {algo}: {rs:?}");
        }
        assert!(rs.iter().all(|r| r["status"] != "error"), "{file}: {rs:?}");
    }
    // The rows each file must have: the text file matches exactly and is not an image; image
    // `b` is known good; image `a` matches PDQ.
    let must_have: [(&str, &[(&str, &str)]); 4] = [
        (
            "notes.txt",
            &[
                ("status", "match"),
                ("list", "vics"),
                ("entry_id", "media-notes"),
                ("match", "exact"),
            ],
        ),
        ("notes.txt", &[("status", "no_image")]),
        (
            "b.png",
            &[
                ("status", "known_good"),
                ("list", "nsrl"),
                ("role", "allow"),
            ],
        ),
        (
            "a.png",
            &[
                ("status", "match"),
                ("list", "pdq"),
                ("distance", "0"),
                ("match", "perceptual"),
            ],
        ),
    ];
    for (file, cells) in must_have {
        assert!(any_row(&of(file), cells), "{file}: {cells:?}");
    }
    let b = of("b.png");
    assert!(b.iter().all(|r| r["status"] != "match"), "{b:?}");
    assert!(of("clip.bin").iter().all(|r| r["status"] != "match"));

    // Flagged instead of suppressed: image b's block match is kept, marked.
    let out = cmd(["scan", "--allow-policy", "flag"])
        .args(case.lists(&["vics.hsl", "nsrl.hsl"]))
        .arg(case.path("evidence/b.png"))
        .assert_exit(1);
    let rows = Case::rows(&out.stdout());
    assert!(rows
        .iter()
        .any(|r| r["status"] == "overridden" && r["entry_id"] == "media-b"));
    assert!(rows.iter().any(|r| r["status"] == "known_good"));
}

/// `match`: a file on the allow-list is known good (exit 1: no match stands), its block match
/// suppressed or flagged; a file on the block list only matches exactly (exit 0).
#[test]
fn cli_match_applies_allow_lists() {
    let case = Case::new();
    let run = |extra: &[&str], file: &str, code: i32| {
        let out = cmd(["match"])
            .args(case.lists(&["vics.hsl", "nsrl.hsl"]))
            .args(extra)
            .arg(case.path(&format!("evidence/{file}")))
            .assert_exit(code);
        Case::rows(&out.stdout())
    };
    let rows = run(&[], "b.png", 1);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0]["verdict"].as_str(), rows[0]["list"].as_str()),
        ("known-good", "nsrl")
    );
    let rows = run(&["--allow-policy", "flag"], "b.png", 1);
    assert!(rows
        .iter()
        .any(|r| r["verdict"] == "overridden" && r["list"] == "vics"));
    let rows = run(&[], "notes.txt", 0);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0]["verdict"].as_str(),
            rows[0]["match"].as_str(),
            rows[0]["algorithm"].as_str()
        ),
        ("match", "exact", "md5")
    );
}

/// `--over-matching N` flags a list entry that matched more than N distinct files, by list and
/// entry id (never by hash).
#[test]
fn cli_over_matching_summary() {
    let case = Case::new();
    let ev = case.dir.path().join("evidence");
    // Images only: without an exact-hash list, a file that is not an image is an error.
    std::fs::remove_file(ev.join("notes.txt")).unwrap();
    std::fs::remove_file(ev.join("clip.bin")).unwrap();
    for i in 0..3 {
        std::fs::copy(ev.join("a.png"), ev.join(format!("copy{i}.png"))).unwrap();
    }
    let run = |n: &str| {
        cmd([
            "match",
            "--format",
            "json",
            "--over-matching",
            n,
            "-l",
            &case.path("pdq.hsl"),
            &case.path("evidence"),
        ])
        .assert_exit(0)
    };
    // a.png and its three copies: 4 distinct files.
    let out = run("3");
    assert!(
        out.stdout().contains("\"over_matching\":1"),
        "{}",
        out.stdout()
    );
    assert!(out
        .stderr()
        .contains("over-matching: list \"pdq\" entry photo-a matched 4 files"));
    let out = run("4");
    assert!(
        out.stdout().contains("\"over_matching\":0"),
        "{}",
        out.stdout()
    );
    assert!(!out.stderr().contains("over-matching:"));
}

/// `build --role allow --algo md5` from md5 hex lines (either case) makes an allow-list that
/// `info` reports.
#[test]
fn cli_build_allow_list_from_hex() {
    let dir = tempfile::tempdir().unwrap();
    let d = Digest::of(HashKind::Md5, b"x");
    std::fs::write(dir.path().join("in.txt"), format!("{}\n", d.to_hex_upper())).unwrap();
    cmd([
        "build",
        "--algo",
        "md5",
        "--role",
        "allow",
        "--input-format",
        "hex",
        "-o",
        "a.hsl",
        "in.txt",
    ])
    .dir(dir.path())
    .assert_ok();
    let list = HashList::read(dir.path().join("a.hsl")).unwrap();
    assert_eq!((list.kind(), list.role()), (HashKind::Md5, ListRole::Allow));
    assert_eq!(list.position(d), Some(0));
    let info = cmd(["info", "a.hsl"]).dir(dir.path()).assert_ok().stdout();
    assert!(info.contains("role\tallow"), "{info}");
}
