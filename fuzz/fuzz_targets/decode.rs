#![no_main]
//! Image decoding with tight limits on arbitrary bytes, then every hash of what decoded: never a
//! panic, and never more memory live during the decode than `max_alloc` allows (checked with a
//! counting allocator), whatever the header claims.
//!
//! Layout: byte 0 picks the orientation policy, the 16-bit policy, whether the decoded image stays
//! reserved and the JPEG decode mode (libjpeg exact, libjpeg scaled, pure Rust); the rest is the
//! file. libjpeg allocates with `malloc`, which the counting allocator does not see: its
//! whole-image buffers are held to the limit by libjpeg's own memory manager instead.

#[path = "../../tests/common/tracking_alloc.rs"]
mod tracking_alloc;

use hashsieve::algo::Hasher;
use hashsieve::image::{
    decode, DecodeBudget, DecodeMode, DecodeOptions, Limits, Orientation, SixteenBit,
};
use hashsieve::{ErrorKind, HashKind};
use libfuzzer_sys::fuzz_target;

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
        .max_width(8192)
        .max_height(8192)
        .max_pixels(4_000_000)
        .max_alloc(MAX_ALLOC);
    let opts = DecodeOptions::default()
        .limits(limits)
        .orientation(orientation)
        .sixteen_bit(sixteen)
        .budget(DecodeBudget::unlimited())
        .keep_reserved(policy & 8 != 0)
        .mode(match policy >> 4 & 3 {
            0 => DecodeMode::Exact,
            1 => DecodeMode::Fast { min_side: 16 },
            2 => DecodeMode::Fast { min_side: 0 },
            _ => DecodeMode::PureRust,
        });

    let (result, peak) = tracking_alloc::peak_of(|| decode(bytes, &opts));
    assert!(
        peak <= MAX_ALLOC,
        "{peak} bytes live while decoding, limit {MAX_ALLOC}"
    );

    let image = match result {
        Ok(image) => image,
        Err(e) => {
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::Decode { .. } | ErrorKind::Limit { .. } | ErrorKind::Unsupported(_)
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
    for kind in HashKind::PERCEPTUAL {
        let out = hasher.hash_pixels(&pixels, kind);
        assert_eq!(out.value.width(), kind.width());
    }
    let _ = hasher.pdq_dihedral_pixels(&pixels);
});
