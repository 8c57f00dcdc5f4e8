//! Random list entries for property tests: one [`Input`] per entry a builder is given, a proptest
//! strategy over them, and [`add_all`], which feeds them to a [`ListBuilder`].

use hashsieve::list::{Category, EntryMeta, HashList, ListBuilder};
use hashsieve::{Hash256, Hash64, HashValue};
use proptest::prelude::*;

/// One entry as a test gives it to the builder.
#[derive(Clone, Debug)]
pub struct Input {
    pub hash: HashValue,
    pub id: String,
    pub quality: Option<u8>,
    pub categories: Vec<(String, String)>,
    pub source: Option<String>,
}

/// Any 256-bit hash, or one of `pool` (edge values, and a small pool that forces duplicates).
pub fn hashes_256(pool: Vec<[u64; 4]>) -> BoxedStrategy<HashValue> {
    prop::sample::select(pool)
        .boxed()
        .prop_union(any::<[u64; 4]>().boxed())
        .prop_map(|l| HashValue::from(Hash256::from_limbs(l)))
        .boxed()
}

/// Any 64-bit hash, or one of `pool`.
pub fn hashes_64(pool: Vec<u64>) -> BoxedStrategy<HashValue> {
    prop::sample::select(pool)
        .boxed()
        .prop_union(any::<u64>().boxed())
        .prop_map(|v| HashValue::from(Hash64::from_u64(v)))
        .boxed()
}

/// Up to `max - 1` entries built from the given parts; quality is any value or none.
pub fn inputs(
    hash: BoxedStrategy<HashValue>,
    id: BoxedStrategy<String>,
    category: BoxedStrategy<(String, String)>,
    source: BoxedStrategy<Option<String>>,
    max: usize,
) -> impl Strategy<Value = Vec<Input>> {
    let entry = (
        hash,
        id,
        prop::option::of(0u8..=100),
        prop::collection::vec(category, 0..3),
        source,
    )
        .prop_map(|(hash, id, quality, categories, source)| Input {
            hash,
            id,
            quality,
            categories,
            source,
        });
    prop::collection::vec(entry, 0..max)
}

/// Adds every input to `b`; returns how many `add` reported as added.
pub fn add_all(b: &mut ListBuilder, inputs: &[Input]) -> usize {
    let mut added = 0;
    for i in inputs {
        let mut meta = EntryMeta::new(&i.id);
        meta.categories = i
            .categories
            .iter()
            .map(|(s, c)| Category::new(s, c))
            .collect();
        meta.source = i.source.as_deref();
        meta.quality = i.quality;
        added += usize::from(b.add(i.hash, meta).unwrap());
    }
    added
}

/// (hex, id, quality, categories, source) of one entry.
pub type Row = (String, String, Option<u8>, Vec<String>, Option<String>);

/// Every entry, in list order.
pub fn rows<D: AsRef<[u8]>>(list: &HashList<D>) -> Vec<Row> {
    let mut out = Vec::new();
    for (h, entries) in list.iter() {
        for e in entries {
            out.push((
                h.to_hex(),
                e.id().to_owned(),
                e.quality(),
                e.categories().map(|c| c.to_string()).collect(),
                e.source().map(str::to_owned),
            ));
        }
    }
    out
}
