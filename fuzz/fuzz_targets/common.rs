//! Shared by the importer targets.

use hashsieve::list::import::{import, ImportOptions, InputFormat};
use hashsieve::list::{HashList, ListBuilder};
use hashsieve::HashKind;

/// Imports `data` into a 256-bit and a 64-bit list; whatever is accepted must build a list
/// that opens and verifies, with the counts the report gives.
#[allow(dead_code)]
pub fn import_any(data: &[u8], format: Option<InputFormat>) {
    for kind in [HashKind::Pdq, HashKind::PHash] {
        let mut options = ImportOptions::new().max_errors(8);
        options.format = format;
        if data.first() == Some(&b'!') {
            // Exercise the named-column options too.
            options.hash_col = Some("h".into());
            options.id_col = Some("i".into());
            options.category_col = Some("c".into());
        }
        let mut builder = ListBuilder::new(kind)
            .min_quality(0)
            .allow_degenerate(data.len() % 2 == 0);
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
