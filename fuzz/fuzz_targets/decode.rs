#![no_main]
//! Image decoding with tight limits on arbitrary bytes, then every hash of what decoded: never a
//! panic, and never more memory live during the decode than `max_alloc` allows (checked with a
//! counting allocator), whatever the header claims.
//!
//! Layout: byte 0 picks the orientation policy and the 16-bit policy; the rest is the file.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use hashsieve::algo::Hasher;
use hashsieve::image::{decode, DecodeBudget, DecodeOptions, Limits, Orientation, SixteenBit};
use hashsieve::{ErrorKind, HashKind};
use libfuzzer_sys::fuzz_target;

struct Tracking;

thread_local! {
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

fn track(delta: i64) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the extra
// work only updates two thread-local counters, which neither allocates nor touches the memory.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        track(layout.size() as i64);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        track(layout.size() as i64);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        track(-(layout.size() as i64));
        // SAFETY: `ptr` came from `System` through this allocator with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        track(new_size as i64 - layout.size() as i64);
        // SAFETY: `ptr` came from `System` through this allocator with this layout; the caller
        // upholds the rest of `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Tracking = Tracking;

/// Tight enough that a fuzz run never needs much memory, loose enough for real small images.
const MAX_ALLOC: u64 = 32 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&policy, bytes)) = data.split_first() else {
        return;
    };
    let orientation = match policy % 3 {
        0 => Orientation::Reference,
        1 => Orientation::Ignore,
        _ => Orientation::Apply,
    };
    let sixteen = if policy & 4 == 0 {
        SixteenBit::Pillow
    } else {
        SixteenBit::Scale
    };
    let limits = Limits::default()
        .with_max_width(8192)
        .with_max_height(8192)
        .with_max_pixels(4_000_000)
        .with_max_alloc(MAX_ALLOC);
    let opts = DecodeOptions::default()
        .with_limits(limits)
        .with_orientation(orientation)
        .with_sixteen_bit(sixteen)
        .with_budget(DecodeBudget::unlimited())
        .with_keep_reserved(policy & 8 != 0);

    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let result = decode(bytes, &opts);
    let peak = PEAK.with(Cell::get) - base;
    assert!(
        peak <= MAX_ALLOC as i64,
        "{peak} bytes live while decoding, limit {MAX_ALLOC}"
    );

    let image = match result {
        Ok(image) => image,
        Err(e) => {
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::Decode(_) | ErrorKind::LimitsExceeded(_)
                ),
                "unexpected error kind: {e}"
            );
            return;
        }
    };
    let (w, h) = (image.width(), image.height());
    assert!(w > 0 && h > 0 && w <= 8192 && h <= 8192);
    assert!(u64::from(w) * u64::from(h) <= 4_000_000);
    let pixels = image.pixels();
    assert_eq!((pixels.width(), pixels.height()), (w, h));
    let hasher = Hasher::new();
    for kind in HashKind::ALL {
        let out = hasher.hash_pixels(&pixels, kind);
        assert_eq!(out.value.bits(), kind.bits());
    }
    let _ = hasher.pdq_dihedral_pixels(&pixels);
});
