#![no_main]
//! Transform names and edits on arbitrary input: a name either fails to parse or parses to a
//! transform whose name parses back to it, and applying it to any small image returns an image
//! or an error, never a panic; the lossless rotations and flips keep every pixel.

use hashsieve::eval::transform::Transform;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Layout: name bytes, 0, width, height, seed byte, pixels (cycled).
    let Some(split) = data.iter().position(|&b| b == 0) else {
        return;
    };
    let (name, rest) = (&data[..split], &data[split + 1..]);
    let Ok(name) = std::str::from_utf8(name) else {
        return;
    };
    let Ok(t) = name.parse::<Transform>() else {
        return;
    };
    assert_eq!(t.name().parse::<Transform>().ok().as_ref(), Some(&t));
    let (w, h, seed) = match rest {
        [w, h, s, ..] => (u32::from(*w % 48), u32::from(*h % 48), u64::from(*s)),
        _ => (7, 5, 0),
    };
    let pixels = rest.get(3..).filter(|p| !p.is_empty()).unwrap_or(&[17, 99, 200]);
    let image = image::RgbImage::from_fn(w, h, |x, y| {
        let i = ((y * w + x) * 3) as usize;
        image::Rgb([0, 1, 2].map(|c| pixels[(i + c) % pixels.len()]))
    });
    if let Ok(out) = t.apply(&image, seed) {
        if t.dihedral().is_some() && !matches!(t, Transform::Combo(_)) {
            let mut a: Vec<u8> = image.into_raw();
            let mut b: Vec<u8> = out.into_raw();
            a.sort_unstable();
            b.sort_unstable();
            assert_eq!(a, b, "a lossless rotation or flip lost pixels");
        }
    }
});
