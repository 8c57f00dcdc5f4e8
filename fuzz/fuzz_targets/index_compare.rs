#![no_main]
//! Every index (linear scan on each instruction set, BK-tree, multi-index hashing, and the
//! persistent ones reloaded from their bytes) must return exactly what the scalar scan returns,
//! on arbitrary hash sets, queries and thresholds.

use hashsieve::arch::Isa;
use hashsieve::index::{BkTree, HashBits, Index, LinearScan, Mih, MihOptions};
use hashsieve::{Hash256, Hash64};
use libfuzzer_sys::fuzz_target;

fn compare<H: HashBits>(hashes: &[H], queries: &[H], threshold: u32) {
    let oracle = LinearScan::with_isa(hashes, Isa::Scalar);
    let mut want = Vec::new();
    let mut got = Vec::new();
    let tree = BkTree::build(hashes).unwrap();
    let tree_bytes = tree.as_bytes().to_vec();
    let reloaded_tree = BkTree::load(&tree_bytes, hashes).unwrap();
    let mih = Mih::build_with(hashes, &MihOptions::new().threshold(threshold.min(H::BITS))).unwrap();
    let mih_bytes = mih.as_bytes().to_vec();
    let reloaded_mih = Mih::load(&mih_bytes, hashes).unwrap();
    let scans: Vec<LinearScan<H, &[H]>> = Isa::available().into_iter().map(|isa| LinearScan::with_isa(hashes, isa)).collect();
    for q in queries {
        oracle.range(q, threshold, &mut want);
        let indexes: Vec<&dyn Index<Hash = H>> = scans
            .iter()
            .map(|s| s as &dyn Index<Hash = H>)
            .chain([&tree as &dyn Index<Hash = H>, &reloaded_tree, &mih, &reloaded_mih])
            .collect();
        for index in indexes {
            index.range(q, threshold, &mut got);
            assert_eq!(got, want, "{:?} disagrees with the scalar scan", index.kind());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else { return };
    let wide = control & 1 == 1;
    let width = if wide { 32 } else { 8 };
    let threshold = u32::from(control >> 1) % if wide { 80 } else { 24 };
    let items: Vec<&[u8]> = rest.chunks_exact(width).collect();
    if items.len() < 2 {
        return;
    }
    // The last quarter of the items are queries; the rest (with repeats allowed) is the list.
    let split = items.len() - (items.len() / 4).max(1);
    if wide {
        let h: Vec<Hash256> = items
            .iter()
            .map(|c| Hash256::from_be_bytes(<[u8; 32]>::try_from(*c).unwrap()))
            .collect();
        compare(&h[..split], &h[split..], threshold);
    } else {
        let h: Vec<Hash64> = items.iter().map(|c| Hash64::from_u64(u64::from_le_bytes(<[u8; 8]>::try_from(*c).unwrap()))).collect();
        compare(&h[..split], &h[split..], threshold);
    }
});
