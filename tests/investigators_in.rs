//! The investigators' hash-set importers (`MediaReader`): VICS JSON in both shapes with every
//! field and the odd cases real sets have, a ~100 MB document read with bounded memory, an
//! NSRL-shaped SQLite database, `md5sum`-family output and hashdeep CSV. The oracle is the
//! document the test wrote: every record it put in comes back, field for field.

use std::io::Write;

use hashsieve::list::records::{MediaFormat, MediaItem, MediaReader, MediaRecord};
use hashsieve::ErrorKind;

use crate::common::tracking_alloc::peak_of;

fn read_all(reader: &mut MediaReader) -> Vec<MediaItem> {
    let mut out = Vec::new();
    while let Some(item) = reader.next_item().unwrap() {
        out.push(item);
    }
    out
}

fn read_str(text: &str, format: Option<MediaFormat>) -> (MediaFormat, Vec<MediaItem>) {
    let mut reader = MediaReader::from_reader(
        std::io::Cursor::new(text.as_bytes().to_vec()),
        "input",
        format,
    )
    .unwrap();
    let format = reader.format();
    (format, read_all(&mut reader))
}

fn records(items: &[MediaItem]) -> Vec<&MediaRecord> {
    items
        .iter()
        .filter_map(|i| match i {
            MediaItem::Record(r) => Some(r),
            _ => None,
        })
        .collect()
}

const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
const SHA1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
const SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// A Media record with every field, hashes in mixed case, booleans as strings.
fn media_every_field() -> String {
    format!(
        r#"{{"MediaID": 17, "Category": 1, "MD5": "{}", "SHA1": "{}",
            "MediaSize": "1234", "Series": "Series one", "VictimIdentified": "true",
            "OffenderIdentified": false, "IsDistributed": "False",
            "Tags": ["Tag A", "b"], "Comments": "a comment",
            "PhotoDNA": "AAECAwQFBgc=",
            "MediaFiles": [{{"FileName": "x.jpg", "FilePath": "dir\\x.jpg"}}, {{"FileName": "y.jpg"}}],
            "Unknown": {{"nested": [1, 2, {{"deep": null}}]}}}}"#,
        "D41D8cd98F00B204E9800998ECF8427E", "DA39A3EE5E6B4B0D3255BFEF95601890afd80709"
    )
}

fn check_every_field(r: &MediaRecord) {
    assert_eq!(r.id.as_deref(), Some("17"));
    assert_eq!(r.category.as_deref(), Some("1"));
    assert_eq!(r.md5_hex().unwrap(), MD5.to_uppercase());
    assert_eq!(r.sha1_hex().unwrap(), SHA1.to_uppercase());
    assert_eq!(r.size, Some(1234));
    assert_eq!(r.series.as_deref(), Some("Series one"));
    assert_eq!(r.victim_identified, Some(true));
    assert_eq!(r.offender_identified, Some(false));
    assert_eq!(r.is_distributed, Some(false));
    assert_eq!(r.tags, ["Tag A", "b"]);
    assert_eq!(r.comments.as_deref(), Some("a comment"));
    assert_eq!(r.photodna.as_deref(), Some("AAECAwQFBgc="));
    assert_eq!(r.file_names, ["x.jpg", "y.jpg"]);
    assert_eq!(
        r.categories(),
        [
            "vics:1",
            "flag:victim_identified",
            "series:Series_one",
            "tag:Tag_A",
            "tag:b"
        ]
    );
}

#[test]
fn vics_odata_value_of_media() {
    let doc = format!(
        r#"{{"odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.2.xml#Media",
             "value": [{}, {{"MediaID": "18", "Category": null, "MD5": "{MD5}",
                          "VictimIdentified": true, "IsDistributed": 1, "Tags": "x, y"}}]}}"#,
        media_every_field()
    );
    let (format, items) = read_str(&doc, None);
    assert_eq!(format, MediaFormat::Vics);
    let rs = records(&items);
    assert_eq!(rs.len(), 2, "{items:?}");
    check_every_field(rs[0]);
    assert_eq!(rs[1].id.as_deref(), Some("18"));
    assert_eq!(rs[1].category, None, "a null Category is none");
    assert_eq!(rs[1].sha1, None);
    assert_eq!(rs[1].victim_identified, Some(true));
    assert_eq!(rs[1].is_distributed, Some(true));
    assert_eq!(rs[1].tags, ["x", "y"]);
    assert_eq!(
        rs[1].categories(),
        [
            "flag:victim_identified",
            "flag:distributed",
            "tag:x",
            "tag:y"
        ]
    );
    assert_eq!((rs[0].at, rs[1].at), (1, 2));
}

#[test]
fn vics_older_cases_and_newer_top_level_media() {
    // Older exports: value → Cases, each with a Media array and members on both sides of it.
    let older = format!(
        r#"{{"@odata.context": "http://x/$metadata#Cases", "value": [
            {{"CaseID": 1, "CaseNumber": "c-1", "Media": [{}], "SourceApplicationName": "x"}},
            {{"CaseID": 2, "Media": []}},
            {{"CaseID": 3, "Media": [{{"MediaID": 2, "SHA1": "{SHA1}"}}], "After": [1, {{"a": 2}}]}}]}}"#,
        media_every_field()
    );
    let (_, items) = read_str(&older, None);
    let rs = records(&items);
    assert_eq!(rs.len(), 2, "{items:?}");
    check_every_field(rs[0]);
    assert_eq!(rs[1].sha1_hex().unwrap(), SHA1.to_uppercase());
    // Newer: a top-level Media array, other members before and after it.
    let newer = format!(
        r#"{{"Version": "2.0", "Media": [{}, {{"MediaID": 2, "MD5": "{MD5}"}}], "Trailer": {{"x": [1]}}}}"#,
        media_every_field()
    );
    let (format, items) = read_str(&newer, None);
    assert_eq!(format, MediaFormat::Vics);
    let rs = records(&items);
    assert_eq!(rs.len(), 2);
    check_every_field(rs[0]);
}

#[test]
fn vics_bad_records_are_malformed_without_their_text() {
    let doc = format!(
        r#"{{"value": [{{"MediaID": 1, "MD5": "{}"}}, {{"MediaID": 2, "MD5": "zz{}"}},
            {{"MediaID": 3, "VictimIdentified": "perhaps", "MD5": "{MD5}"}},
            {{"MediaID": 4, "Category": 2}}, 7, {{"MediaID": 5, "SHA1": "{SHA1}"}}]}}"#,
        &MD5[..31],
        &MD5[2..]
    );
    let (_, items) = read_str(&doc, Some(MediaFormat::Vics));
    assert_eq!(items.len(), 6, "{items:?}");
    for (i, item) in items[..5].iter().enumerate() {
        let MediaItem::Malformed { at, reason } = item else {
            panic!("item {i} should be malformed: {item:?}")
        };
        assert_eq!(*at, i as u64 + 1);
        assert!(
            !reason.contains(&MD5[2..20]) && !reason.contains("perhaps"),
            "{reason}"
        );
    }
    assert!(matches!(&items[5], MediaItem::Record(r) if r.id.as_deref() == Some("5")));
}

#[test]
fn vics_broken_json_is_an_error_naming_the_place_not_the_value() {
    let doc = format!(r#"{{"value": [{{"MediaID": 1, "MD5": "{MD5}"}}, {{"MD5": "{MD5}" "x"}}]}}"#);
    let mut reader = MediaReader::from_reader(
        std::io::Cursor::new(doc.into_bytes()),
        "set.json",
        Some(MediaFormat::Vics),
    )
    .unwrap();
    assert!(matches!(
        reader.next_item().unwrap(),
        Some(MediaItem::Record(_))
    ));
    let err = reader.next_item().unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Parse { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("set.json") && !msg.contains(&MD5[..16]),
        "{msg}"
    );
}

#[test]
fn vics_huge_fields_are_cut_not_held() {
    let big = "A".repeat(3 << 20);
    let tags: Vec<String> = (0..5000).map(|i| format!("\"t{i}\"")).collect();
    let doc = format!(
        r#"{{"value": [{{"MediaID": 1, "MD5": "{MD5}", "Comments": "{big}", "Tags": [{}]}}]}}"#,
        tags.join(",")
    );
    let ((_, items), peak) = peak_of(|| read_str(&doc, Some(MediaFormat::Vics)));
    let rs = records(&items);
    assert_eq!(
        rs[0].comments.as_ref().unwrap().len(),
        hashsieve::list::records::MAX_FIELD_LEN
    );
    assert_eq!(rs[0].tags.len(), hashsieve::list::records::MAX_FIELD_ITEMS);
    // The input itself is copied once into the reader's cursor.
    assert!(peak < (doc.len() as u64) + (1 << 20), "{peak} bytes live");
}

/// Writes a VICS document of about `target` bytes with records that differ, into `path`;
/// returns the number of records.
fn write_big_vics(path: &std::path::Path, target: u64) -> u64 {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    write!(
        out,
        r#"{{"odata.metadata": "http://x/$metadata#Cases", "value": [{{"CaseID": 1, "Media": ["#
    )
    .unwrap();
    let mut n = 0u64;
    let mut written = 0u64;
    while written < target {
        if n > 0 {
            out.write_all(b",").unwrap();
        }
        let rec = format!(
            r#"{{"MediaID": {n}, "Category": {}, "MD5": "{:032X}", "SHA1": "{:040x}", "MediaSize": {}, "VictimIdentified": "false", "IsDistributed": true, "Tags": ["a", "b"], "Comments": "synthetic record", "PhotoDNA": "{}", "MediaFiles": [{{"FileName": "f{n}.jpg"}}]}}"#,
            n % 4,
            n,
            n * 7,
            n * 3,
            "QUJD".repeat(50),
        );
        written += rec.len() as u64 + 1;
        out.write_all(rec.as_bytes()).unwrap();
        n += 1;
    }
    out.write_all(b"]}]}").unwrap();
    out.flush().unwrap();
    n
}

#[test]
fn vics_100mb_document_reads_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    let n = write_big_vics(&path, 100 << 20);
    assert!(std::fs::metadata(&path).unwrap().len() >= 100 << 20);
    let ((count, last_md5), peak) = peak_of(|| {
        let mut reader = MediaReader::open(&path, None).unwrap();
        assert_eq!(reader.format(), MediaFormat::Vics);
        let mut count = 0u64;
        let mut last = None;
        while let Some(item) = reader.next_item().unwrap() {
            let MediaItem::Record(r) = item else {
                panic!("{item:?}")
            };
            assert_eq!(r.id.as_deref(), Some(count.to_string().as_str()));
            assert_eq!(r.size, Some(count * 3));
            count += 1;
            last = r.md5;
        }
        (count, last)
    });
    assert_eq!(count, n);
    let mut want = [0u8; 16];
    want[8..].copy_from_slice(&(n - 1).to_be_bytes());
    assert_eq!(last_md5, Some(want));
    assert!(
        peak < 4 << 20,
        "{peak} bytes live reading a 100 MB document"
    );
}

#[test]
fn md5sum_sha1sum_sha256sum_lines() {
    let text = format!(
        "{MD5}  plain.txt\n{} *binary.bin\n\\{SHA256}  new\\nline\\\\back\n# comment\n\n\
         MD5 (tagged name) = {MD5}\n{MD5} missing-separator\n{}  short\n",
        SHA1.to_uppercase(),
        &MD5[..30]
    );
    // Lines that fit no sums form make detection decline: the format is named.
    assert_eq!(MediaFormat::detect(text.as_bytes()), None);
    let (_, items) = read_str(&text, Some(MediaFormat::Sums));
    let rs = records(&items);
    assert_eq!(rs.len(), 4, "{items:?}");
    let clean = format!("{MD5}  a\n{SHA1} *b\n");
    assert_eq!(
        MediaFormat::detect(clean.as_bytes()),
        Some(MediaFormat::Sums)
    );
    assert_eq!(rs[0].id.as_deref(), Some("plain.txt"));
    assert_eq!(rs[0].md5_hex().unwrap(), MD5.to_uppercase());
    assert_eq!(rs[1].id.as_deref(), Some("binary.bin"));
    assert_eq!(rs[1].sha1_hex().unwrap(), SHA1.to_uppercase());
    assert_eq!(rs[2].id.as_deref(), Some("new\nline\\back"));
    assert_eq!(rs[2].sha256_hex().unwrap(), SHA256.to_uppercase());
    assert_eq!(rs[3].id.as_deref(), Some("tagged name"));
    let bad: Vec<u64> = items
        .iter()
        .filter_map(|i| match i {
            MediaItem::Malformed { at, .. } => Some(*at),
            _ => None,
        })
        .collect();
    assert_eq!(bad, [7, 8]);
}

#[test]
fn sums_names_that_are_not_utf8_stay_distinct() {
    let mut text = format!("{MD5}  a").into_bytes();
    text.extend_from_slice(b"\xff\n");
    text.extend_from_slice(format!("{MD5}  a\\xff\n").as_bytes());
    let mut reader =
        MediaReader::from_reader(std::io::Cursor::new(text), "s", Some(MediaFormat::Sums)).unwrap();
    let items = read_all(&mut reader);
    let rs = records(&items);
    assert_eq!(rs[0].id.as_deref(), Some("a\\xff"));
    assert_eq!(rs[1].id.as_deref(), Some("a\\xff"));
    // The raw byte and the literal text `\xff` differ in the escaped form: the backslash of
    // a name that is not UTF-8 is doubled, while a UTF-8 name is kept as it is.
    let mut raw = format!("{MD5}  a\\").into_bytes();
    raw.extend_from_slice(b"\xff\n");
    let mut reader =
        MediaReader::from_reader(std::io::Cursor::new(raw), "s", Some(MediaFormat::Sums)).unwrap();
    let items = read_all(&mut reader);
    assert_eq!(records(&items)[0].id.as_deref(), Some("a\\\\\\xff"));
}

#[test]
fn hashdeep_csv() {
    let text = format!(
        "%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n## Invoked from: /home/x\n\
         ## $ hashdeep -r evidence\n##\n0,{MD5},{SHA256},/evidence/a, with comma.txt\n\
         12,{MD5},short,/evidence/b\nx,{MD5},{SHA256},/evidence/c\n"
    );
    let (format, items) = read_str(&text, None);
    assert_eq!(format, MediaFormat::Hashdeep);
    assert_eq!(items.len(), 3, "{items:?}");
    let MediaItem::Record(r) = &items[0] else {
        panic!()
    };
    assert_eq!(r.at, 6);
    assert_eq!(r.size, Some(0));
    assert_eq!(r.id.as_deref(), Some("/evidence/a, with comma.txt"));
    assert_eq!(r.md5_hex().unwrap(), MD5.to_uppercase());
    assert_eq!(r.sha256_hex().unwrap(), SHA256.to_uppercase());
    assert!(matches!(&items[1], MediaItem::Malformed { at: 7, .. }));
    assert!(matches!(&items[2], MediaItem::Malformed { at: 8, .. }));
    // Rows before the header cannot be read.
    let (_, items) = read_str(&format!("{MD5},x\n"), Some(MediaFormat::Hashdeep));
    assert!(matches!(&items[..], [MediaItem::Malformed { at: 1, .. }]));
}

/// An NSRL RDS v3-shaped database: the FILE table as NIST ships it (`modern_minimal`).
fn make_nsrl(path: &std::path::Path, rows: &[(&str, &str, &str, &str, i64)]) {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE VERSION (version VARCHAR UNIQUE NOT NULL, build_set VARCHAR NOT NULL,
             build_date TIMESTAMP NOT NULL, release_date TIMESTAMP NOT NULL,
             description VARCHAR NOT NULL);
         INSERT INTO VERSION VALUES ('2024.12.1', 'modern', '2024-12-01', '2024-12-01', 'test');
         CREATE TABLE FILE (sha256 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, md5 VARCHAR NOT NULL,
             crc32 VARCHAR NOT NULL, file_name VARCHAR NOT NULL, file_size INTEGER NOT NULL,
             package_id INTEGER NOT NULL,
             PRIMARY KEY (sha256, sha1, md5, crc32, file_name, file_size, package_id))
             WITHOUT ROWID;",
    )
    .unwrap();
    let tx = conn.transaction().unwrap();
    for (sha256, sha1, md5, name, size) in rows {
        tx.execute(
            "INSERT INTO FILE VALUES (?1, ?2, ?3, '00000000', ?4, ?5, 1)",
            rusqlite::params![sha256, sha1, md5, name, size],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

#[test]
fn nsrl_rds_v3_file_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("RDS_modern_minimal.db");
    let mut rows = vec![(
        SHA256.to_uppercase(),
        SHA1.to_uppercase(),
        MD5.to_uppercase(),
        "empty".to_string(),
        0,
    )];
    for i in 0..5000u64 {
        rows.push((
            format!("{i:064X}"),
            format!("{i:040X}"),
            format!("{i:032X}"),
            format!("f{i}.dll"),
            i as i64,
        ));
    }
    let refs: Vec<_> = rows
        .iter()
        .map(|(a, b, c, d, e)| (a.as_str(), b.as_str(), c.as_str(), d.as_str(), *e))
        .collect();
    make_nsrl(&path, &refs);
    let mut reader = MediaReader::open(&path, None).unwrap();
    assert_eq!(reader.format(), MediaFormat::Nsrl);
    let items = read_all(&mut reader);
    let mut got: Vec<(String, String, String, String, u64)> = records(&items)
        .iter()
        .map(|r| {
            (
                r.sha256_hex().unwrap(),
                r.sha1_hex().unwrap(),
                r.md5_hex().unwrap(),
                r.id.clone().unwrap(),
                r.size.unwrap(),
            )
        })
        .collect();
    assert_eq!(got.len(), rows.len());
    let mut want: Vec<_> = rows
        .into_iter()
        .map(|(a, b, c, d, e)| (a, b, c, d, e as u64))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn nsrl_not_a_database_or_no_file_table_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE t (x);")
        .unwrap();
    let err = MediaReader::open(&path, None).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InputFormat(_)), "{err}");
    assert!(err.to_string().contains("NSRL"), "{err}");
    let text = dir.path().join("text.db");
    std::fs::write(&text, "not sqlite").unwrap();
    let err = MediaReader::open(&text, Some(MediaFormat::Nsrl)).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InputFormat(_)), "{err}");
}

#[test]
fn detection_leaves_perceptual_formats_alone() {
    let pdq = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    for text in [
        format!("{pdq}\n"),
        format!("{pdq},100,a.jpg\n"),
        format!("pdq {pdq}\n"),
        "{\"hash\": \"00\"}\n".to_string(),
        "hash,id\n".to_string(),
    ] {
        assert_eq!(MediaFormat::detect(text.as_bytes()), None, "{text}");
    }
}

// `hashsieve build` of these sets: detected, into exact-hash lists with categories and metadata.

fn open_list(path: &std::path::Path) -> hashsieve::HashList<Vec<u8>> {
    hashsieve::HashList::from_bytes(std::fs::read(path).unwrap()).unwrap()
}

/// The entries of `list` whose hash is `digest`: (id, categories, metadata).
fn entries_for(
    list: &hashsieve::HashList<Vec<u8>>,
    kind: hashsieve::HashKind,
    hex: &str,
) -> Vec<(String, Vec<String>, Option<String>)> {
    let digest = hashsieve::hash::Digest::from_hex(kind, hex).unwrap();
    let keys = list.exact_keys().expect("an exact list");
    let Some(i) = keys.position(&digest) else {
        return Vec::new();
    };
    list.entries_of(i)
        .map(|e| {
            (
                e.id().to_owned(),
                e.categories().map(|c| c.to_string()).collect(),
                e.metadata().map(str::to_owned),
            )
        })
        .collect()
}

#[test]
fn build_reads_vics_md5sum_hashdeep_and_nsrl() {
    use crate::common::cmd;
    use hashsieve::HashKind;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let vics = d.join("set.json");
    std::fs::write(
        &vics,
        format!(
            r#"{{"odata.metadata": "x", "value": [{}, {{"MediaID": 9, "SHA1": "{SHA1}"}}]}}"#,
            media_every_field()
        ),
    )
    .unwrap();
    let out = d.join("vics.hsl");
    // `build --algo <kind> <args> -o out <input>`, then the entries of the digest `hex`.
    let build = |kind: HashKind, args: &[&str], input: &std::path::Path, hex: &str| {
        cmd(["build", "--algo", kind.name()])
            .args(args)
            .arg("-o")
            .arg(&out)
            .arg(input)
            .assert_ok();
        entries_for(&open_list(&out), kind, hex)
    };
    let entries = build(HashKind::Md5, &[], &vics, MD5);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let (id, cats, meta) = &entries[0];
    assert_eq!(id, "17");
    assert!(
        cats.contains(&"vics:1".to_string())
            && cats.contains(&"flag:victim_identified".to_string()),
        "{cats:?}"
    );
    let meta: serde_json::Value = serde_json::from_str(meta.as_deref().unwrap()).unwrap();
    assert_eq!(
        meta["PhotoDNA"], "AAECAwQFBgc=",
        "PhotoDNA kept as opaque metadata"
    );
    assert_eq!(meta["VictimIdentified"], true);
    // The same document as a SHA-1 list holds both records (the first has a SHA1 too).
    assert_eq!(
        build(HashKind::Sha1, &["--format", "vics"], &vics, SHA1).len(),
        2
    );
    // A perceptual build of an exact set is refused, saying why.
    let run = cmd(["build", "-o"]).arg(d.join("pdq.hsl")).arg(&vics).run();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("--algo md5"));

    let sums = d.join("SHA256SUMS");
    std::fs::write(&sums, format!("{SHA256}  empty.txt\n")).unwrap();
    assert_eq!(
        build(HashKind::Sha256, &[], &sums, SHA256)[0].0,
        "empty.txt"
    );

    let deep = d.join("deep.csv");
    std::fs::write(
        &deep,
        format!("%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n0,{MD5},{SHA256},/e/a\n"),
    )
    .unwrap();
    assert_eq!(build(HashKind::Md5, &[], &deep, MD5)[0].0, "/e/a");

    let nsrl = d.join("rds.db");
    make_nsrl(&nsrl, &[(SHA256, SHA1, MD5, "empty", 0)]);
    assert_eq!(
        build(HashKind::Sha1, &[], &nsrl, &SHA1.to_uppercase())[0].0,
        "empty"
    );
}
