//! Replays every input the fuzzers found a problem with (tests/data/list/fuzz-regressions/),
//! through the same checks as the fuzz target named by the file's prefix.

use std::path::Path;

use hashsieve::list::import::{import, ImportOptions, InputFormat};
use hashsieve::list::update::{update, Delta};
use hashsieve::list::{EntryMeta, HashList, ListBuilder};
use hashsieve::{Hash64, HashKind};

fn import_any(data: &[u8], format: Option<InputFormat>) {
    for kind in [HashKind::Pdq, HashKind::PHash] {
        let mut options = ImportOptions::new().max_errors(8);
        options.format = format;
        let mut builder = ListBuilder::new(kind).min_quality(0);
        let Ok(report) = import(data, "fuzz", &options, &mut builder) else {
            continue;
        };
        let list = HashList::from_bytes(builder.to_vec().unwrap()).unwrap();
        list.verify().unwrap();
        assert_eq!(list.entry_count() as u64, report.added);
    }
}

fn delta(data: &[u8]) {
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

fn open(data: &[u8]) {
    let verified = HashList::from_bytes(data).is_ok();
    let Ok(list) = HashList::from_bytes_unverified(data) else {
        assert!(!verified);
        return;
    };
    assert_eq!(verified, list.verify().is_ok());
    for (_, entries) in list.iter() {
        for e in entries {
            let _ = (e.id(), e.quality(), e.source(), e.categories().count());
        }
    }
    let _ = list.verify();
}

#[test]
fn fuzz_regressions_replay() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/list/fuzz-regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&path).unwrap();
        let target = name.split('-').next().unwrap();
        match target {
            "list_open" => open(&data),
            "import_delta" => delta(&data),
            "import_auto" => import_any(&data, None),
            t => {
                let format = t.strip_prefix("import_").unwrap().replace('_', "-");
                let format = match format.as_str() {
                    "jsonl" => InputFormat::JsonLines,
                    f => f
                        .parse()
                        .unwrap_or_else(|_| panic!("unknown target in {name}")),
                };
                import_any(&data, Some(format));
            }
        }
        n += 1;
    }
    assert!(n > 0, "no regression inputs found");
}
