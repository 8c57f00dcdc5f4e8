#![no_main]
//! A persistent index section (BK-tree or multi-index hashing) loaded from arbitrary bytes over
//! a fixed list, then queried. `SearchIndex::load` (validated) either fails or answers exactly
//! as a linear scan; `load_unvalidated` may answer wrongly, but nothing may panic or hang. Inputs starting with a valid magic get a real section spliced in front so
//! that the fuzzer reaches past the header checks.

use hashsieve::index::{BkTree, Index, LinearScan, Mih, SearchIndex};
use hashsieve::Hash256;
use libfuzzer_sys::fuzz_target;

fn list() -> Vec<Hash256> {
    let mut s = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    (0..300).map(|i| if i % 10 == 0 { Hash256::from_limbs([1, 2, 3, 4]) } else { Hash256::from_limbs([next(), next(), next(), next()]) }).collect()
}

fuzz_target!(|data: &[u8]| {
    let hashes = list();
    let Some((&control, rest)) = data.split_first() else { return };
    let mut bytes = match control % 3 {
        0 => rest.to_vec(),
        1 => BkTree::build(&hashes).unwrap().as_bytes().to_vec(),
        _ => Mih::build(&hashes).unwrap().as_bytes().to_vec(),
    };
    if control % 3 != 0 {
        // Overwrite a window of the real section with the fuzzer's bytes.
        let at = usize::from(control) * 7 % bytes.len().max(1);
        for (b, r) in bytes.iter_mut().skip(at).zip(rest) {
            *b = *r;
        }
    }
    if let Ok(index) = SearchIndex::load(&bytes, &hashes) {
        let scan = LinearScan::new(&hashes);
        let (mut out, mut want) = (Vec::new(), Vec::new());
        for q in hashes.iter().step_by(37) {
            index.range(q, 40, &mut out);
            scan.range(q, 40, &mut want);
            assert_eq!(out, want, "a validated index must answer as the scan");
        }
    }
    if let Ok(index) = SearchIndex::load_unvalidated(&bytes, &hashes) {
        let mut out = Vec::new();
        for q in hashes.iter().step_by(37) {
            index.range(q, 40, &mut out);
            let _ = index.knn(q, 3);
        }
    }
});
