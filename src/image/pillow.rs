//! Where the `image` crate's pixels differ from Pillow's `convert('RGB')` (which the reference
//! hashes use) in a way that can be undone after decoding, the fix-ups live here.
//!
//! Each reads just enough of the file's header to know it applies. They never panic and do
//! nothing on anything unexpected; the decoder proper reports real errors.
//!
//! - GIF: the `image` crate leaves the canvas outside the first frame transparent black; Pillow
//!   fills the frame-0 canvas with palette index `transparency or 0` of the frame's palette.
//! - 16-bit BMP (5-5-5 and 5-6-5): the `image` crate widens a channel with rounding,
//!   `(v * 255 + m / 2) / m`; Pillow truncates, `v * 255 / m` (`m` = 31 or 63). Both are
//!   one-to-one, so the rounded value maps back to `v` exactly.
//! - Truncated JPEG: the `image` crate's decoder (zune-jpeg, lenient mode) fills missing scan
//!   data with grey and succeeds; Pillow (libjpeg-turbo) raises "image file is truncated". A JPEG
//!   is accepted only when an end-of-image marker follows its first scan header.

/// The first frame's rectangle (clipped later against the canvas) and the fill colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FirstFrame {
    pub(crate) left: u32,
    pub(crate) top: u32,
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// RGB of palette entry `transparency or 0`.
    pub(crate) fill: [u8; 3],
}

/// Reads the first image descriptor of a GIF, or `None` when the bytes are not a well-formed
/// prefix of one.
pub(crate) fn first_frame(bytes: &[u8]) -> Option<FirstFrame> {
    let mut r = Reader { bytes, pos: 0 };
    let sig = r.take(6)?;
    if sig != b"GIF87a" && sig != b"GIF89a" {
        return None;
    }
    let lsd = r.take(7)?;
    let global = if lsd[4] & 0x80 != 0 {
        Some(r.take(palette_len(lsd[4]))?)
    } else {
        None
    };
    let mut transparency: Option<u8> = None;
    loop {
        match r.byte()? {
            0x21 => {
                let label = r.byte()?;
                let mut first_block = true;
                loop {
                    let len = r.byte()? as usize;
                    if len == 0 {
                        break;
                    }
                    let block = r.take(len)?;
                    if label == 0xF9 && first_block && len >= 4 {
                        // Graphic Control Extension: flags, delay (2), transparent index.
                        transparency = if block[0] & 1 != 0 {
                            Some(block[3])
                        } else {
                            None
                        };
                    }
                    first_block = false;
                }
            }
            0x2C => {
                let d = r.take(9)?;
                let le = |i: usize| u32::from(u16::from_le_bytes([d[i], d[i + 1]]));
                let local = if d[8] & 0x80 != 0 {
                    Some(r.take(palette_len(d[8]))?)
                } else {
                    None
                };
                let palette = local.or(global).unwrap_or(&[]);
                let idx = usize::from(transparency.unwrap_or(0)) * 3;
                let fill = match palette.get(idx..idx + 3) {
                    Some(c) => [c[0], c[1], c[2]],
                    None => [0, 0, 0],
                };
                return Some(FirstFrame {
                    left: le(0),
                    top: le(2),
                    width: le(4),
                    height: le(6),
                    fill,
                });
            }
            _ => return None,
        }
    }
}

fn palette_len(flags: u8) -> usize {
    3 * (2usize << (flags & 7))
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }
}

/// Paints `fill` over every pixel of the RGBA canvas outside the first frame's rectangle.
pub(crate) fn fill_outside(rgba: &mut [u8], w: u32, h: u32, f: &FirstFrame) {
    let x0 = f.left.min(w) as usize;
    let x1 = f.left.saturating_add(f.width).min(w) as usize;
    let y0 = f.top.min(h) as usize;
    let y1 = f.top.saturating_add(f.height).min(h) as usize;
    if (x0, y0, x1, y1) == (0, 0, w as usize, h as usize) {
        return;
    }
    for (y, row) in rgba.chunks_exact_mut(w as usize * 4).enumerate() {
        for (x, px) in row.chunks_exact_mut(4).enumerate() {
            if y < y0 || y >= y1 || x < x0 || x >= x1 {
                px[..3].copy_from_slice(&f.fill);
            }
        }
    }
}

/// The channel widths of a 16-bit BMP whose layout Pillow reads (5-5-5 or 5-6-5), if `bytes`
/// is one.
pub(crate) fn bmp16_layout(bytes: &[u8]) -> Option<[u32; 3]> {
    let u16_at = |i: usize| {
        bytes
            .get(i..i + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |i: usize| {
        bytes
            .get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if bytes.get(..2) != Some(&b"BM"[..]) || u16_at(28)? != 16 || u32_at(14)? < 40 {
        return None;
    }
    match u32_at(30)? {
        0 => Some([5, 5, 5]),
        3 => match (u32_at(54)?, u32_at(58)?, u32_at(62)?) {
            (0x7C00, 0x03E0, 0x001F) => Some([5, 5, 5]),
            (0xF800, 0x07E0, 0x001F) => Some([5, 6, 5]),
            _ => None,
        },
        _ => None,
    }
}

/// Rewrites RGB pixels widened by rounding into Pillow's truncated widening, per channel.
pub(crate) fn bmp16_truncate(rgb: &mut [u8], bits: [u32; 3]) {
    let luts = bits.map(|b| {
        let m = (1u32 << b) - 1;
        let mut lut: [u8; 256] = std::array::from_fn(|i| i as u8);
        for v in 0..=m {
            lut[((v * 255 + m / 2) / m) as usize] = (v * 255 / m) as u8;
        }
        lut
    });
    for px in rgb.chunks_exact_mut(3) {
        for (c, lut) in px.iter_mut().zip(&luts) {
            *c = lut[usize::from(*c)];
        }
    }
}

/// Whether a JPEG's data runs to an end-of-image marker (`FF D9`) after its first start-of-scan
/// segment. Entropy-coded data never contains `FF D9` (a data `FF` is stuffed as `FF 00`), and
/// segments before the scan (where an EXIF thumbnail may hold its own markers) are skipped by
/// their lengths.
pub(crate) fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut pos = 2; // after SOI
    loop {
        // Skip fill bytes before a marker.
        while bytes.get(pos) == Some(&0xFF) && bytes.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (bytes.get(pos), bytes.get(pos + 1)) else {
            return false;
        };
        match marker {
            0xD9 => return true,
            0x01 | 0xD0..=0xD8 => pos += 2,
            _ => {
                let Some(len) = bytes.get(pos + 2..pos + 4) else {
                    return false;
                };
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                if marker == 0xDA {
                    let scan = bytes.get(pos + 2 + len..).unwrap_or(&[]);
                    // From the end: a whole file ends with the marker, found at once.
                    return memchr::memmem::rfind(scan, &[0xFF, 0xD9]).is_some();
                }
                pos += 2 + len;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_prefixes_give_none() {
        assert_eq!(first_frame(b""), None);
        assert_eq!(first_frame(b"GIF89a"), None);
        assert_eq!(first_frame(b"not a gif at all"), None);
        // Global palette flag with a 2-entry palette, GCE with transparency 1, then a descriptor.
        let mut gif = b"GIF89a\x08\x00\x06\x00\x80\x00\x00".to_vec();
        gif.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
        gif.extend_from_slice(&[0x21, 0xF9, 4, 1, 0, 0, 1, 0]);
        gif.extend_from_slice(&[0x2C, 2, 0, 1, 0, 4, 0, 3, 0, 0]);
        let f = first_frame(&gif).unwrap();
        assert_eq!(
            (f.left, f.top, f.width, f.height, f.fill),
            (2, 1, 4, 3, [4, 5, 6])
        );
        for n in 0..gif.len() {
            assert_eq!(first_frame(&gif[..n]), None, "prefix {n}");
        }
    }

    #[test]
    fn jpeg_completeness() {
        // SOI, APP1 holding a fake thumbnail's SOS + EOI, SOS header, scan data, EOI.
        let mut j = vec![
            0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x08, 0xFF, 0xDA, 0xFF, 0xD9, 0xFF, 0xD9,
        ];
        j.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x04, 0x01, 0x00, 0x12, 0xFF, 0x00, 0x34]);
        assert!(!jpeg_is_complete(&j));
        j.extend_from_slice(&[0xFF, 0xD9]);
        assert!(jpeg_is_complete(&j));
        for n in 0..j.len() {
            assert!(!jpeg_is_complete(&j[..n]), "prefix {n}");
        }
    }
}
