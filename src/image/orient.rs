//! EXIF orientation applied to a packed 8-bit pixel buffer.

/// One of the eight EXIF orientations, as the transform that brings stored pixels upright.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transform {
    /// EXIF 1: nothing to do.
    Identity,
    /// EXIF 2: mirror left-right.
    FlipHorizontal,
    /// EXIF 3: rotate 180 degrees.
    Rotate180,
    /// EXIF 4: mirror top-bottom.
    FlipVertical,
    /// EXIF 5: transpose (rotate 90 degrees clockwise, then mirror left-right).
    Transpose,
    /// EXIF 6: rotate 90 degrees clockwise.
    Rotate90,
    /// EXIF 7: transverse (rotate 270 degrees clockwise, then mirror left-right).
    Transverse,
    /// EXIF 8: rotate 270 degrees clockwise (90 counter-clockwise).
    Rotate270,
}

impl Transform {
    /// Maps the `image` crate's reading of the EXIF tag.
    pub(crate) fn from_image(o: ::image::metadata::Orientation) -> Transform {
        use ::image::metadata::Orientation as O;
        match o {
            O::NoTransforms => Transform::Identity,
            O::FlipHorizontal => Transform::FlipHorizontal,
            O::Rotate180 => Transform::Rotate180,
            O::FlipVertical => Transform::FlipVertical,
            O::Rotate90FlipH => Transform::Transpose,
            O::Rotate90 => Transform::Rotate90,
            O::Rotate270FlipH => Transform::Transverse,
            O::Rotate270 => Transform::Rotate270,
        }
    }

    /// Whether width and height swap.
    pub(crate) fn swaps_axes(self) -> bool {
        matches!(
            self,
            Transform::Transpose
                | Transform::Rotate90
                | Transform::Transverse
                | Transform::Rotate270
        )
    }

    /// Whether applying the transform needs a second buffer (flips and 180 degrees work in place).
    pub(crate) fn needs_copy(self) -> bool {
        self.swaps_axes()
    }

    /// The source coordinates of output pixel `(x, y)`; `w` and `h` are the source dimensions.
    #[inline]
    fn source(self, x: usize, y: usize, w: usize, h: usize) -> (usize, usize) {
        match self {
            Transform::Identity => (x, y),
            Transform::FlipHorizontal => (w - 1 - x, y),
            Transform::FlipVertical => (x, h - 1 - y),
            Transform::Rotate180 => (w - 1 - x, h - 1 - y),
            Transform::Rotate90 => (y, h - 1 - x),
            Transform::Rotate270 => (w - 1 - y, x),
            Transform::Transpose => (y, x),
            Transform::Transverse => (w - 1 - y, h - 1 - x),
        }
    }
}

/// Applies `t` to a packed buffer of `w` x `h` pixels of `bpp` bytes; returns the new dimensions.
///
/// Flips and the 180 degree rotation work in place; the others build a new buffer of the same
/// size and replace `data` with it.
pub(crate) fn apply(t: Transform, data: &mut Vec<u8>, w: u32, h: u32, bpp: usize) -> (u32, u32) {
    let (wu, hu) = (w as usize, h as usize);
    debug_assert_eq!(data.len(), wu * hu * bpp);
    match t {
        Transform::Identity => (w, h),
        Transform::FlipHorizontal => {
            for row in data.chunks_exact_mut(wu * bpp) {
                reverse_pixels(row, bpp);
            }
            (w, h)
        }
        Transform::FlipVertical => {
            flip_rows(data, wu * bpp, hu);
            (w, h)
        }
        Transform::Rotate180 => {
            flip_rows(data, wu * bpp, hu);
            for row in data.chunks_exact_mut(wu * bpp) {
                reverse_pixels(row, bpp);
            }
            (w, h)
        }
        _ => {
            let ow = hu;
            let mut out = vec![0u8; data.len()];
            for (y, row) in out.chunks_exact_mut(ow * bpp).enumerate() {
                for (x, px) in row.chunks_exact_mut(bpp).enumerate() {
                    let (sx, sy) = t.source(x, y, wu, hu);
                    let s = (sy * wu + sx) * bpp;
                    px.copy_from_slice(&data[s..s + bpp]);
                }
            }
            *data = out;
            (h, w)
        }
    }
}

fn reverse_pixels(row: &mut [u8], bpp: usize) {
    let n = row.len() / bpp;
    for i in 0..n / 2 {
        let j = n - 1 - i;
        for k in 0..bpp {
            row.swap(i * bpp + k, j * bpp + k);
        }
    }
}

fn flip_rows(data: &mut [u8], row_bytes: usize, h: usize) {
    for i in 0..h / 2 {
        let j = h - 1 - i;
        let (top, bottom) = data.split_at_mut(j * row_bytes);
        top[i * row_bytes..(i + 1) * row_bytes].swap_with_slice(&mut bottom[..row_bytes]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Transform; 8] = [
        Transform::Identity,
        Transform::FlipHorizontal,
        Transform::Rotate180,
        Transform::FlipVertical,
        Transform::Transpose,
        Transform::Rotate90,
        Transform::Transverse,
        Transform::Rotate270,
    ];

    /// The generic coordinate mapping is the oracle for the in-place fast paths.
    #[test]
    fn in_place_paths_match_the_mapping() {
        for bpp in [1usize, 3] {
            for (w, h) in [(1u32, 1u32), (1, 4), (5, 1), (4, 3), (3, 5)] {
                let n = w as usize * h as usize * bpp;
                let src: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
                for t in ALL {
                    let mut got = src.clone();
                    let (ow, oh) = apply(t, &mut got, w, h, bpp);
                    if t.swaps_axes() {
                        assert_eq!((ow, oh), (h, w));
                    } else {
                        assert_eq!((ow, oh), (w, h));
                    }
                    for y in 0..oh as usize {
                        for x in 0..ow as usize {
                            let (sx, sy) = t.source(x, y, w as usize, h as usize);
                            let s = (sy * w as usize + sx) * bpp;
                            let o = (y * ow as usize + x) * bpp;
                            assert_eq!(got[o..o + bpp], src[s..s + bpp], "{t:?} {w}x{h} bpp {bpp}");
                        }
                    }
                }
            }
        }
    }
}
