//! What decoding an image will allocate, worked out from its header before anything is
//! allocated: the number that [`Limits::max_alloc`](super::Limits::max_alloc) and the
//! [`DecodeBudget`](super::DecodeBudget) are checked against.
//!
//! Each estimate is an upper bound of the peak bytes live while the `image` crate (0.25) decodes
//! one image with our pixel buffer at the decoder's native depth, worked out from the decoders'
//! sources and checked against a counting allocator on every fixture
//! (`tests/decode_limits.rs`):
//!
//! | Format | Beyond the pixel buffer |
//! |---|---|
//! | BMP | a few rows |
//! | PNG | a few rows, the inflate state |
//! | GIF | the first frame's index plane (1 byte a pixel), and an RGBA copy of the frame when it does not span the canvas's width |
//! | JPEG | a copy of the file, row buffers (half the pixel buffer, generously); progressive: every DCT coefficient (2 bytes a sample of each component) |
//! | WebP | lossy: the YUV planes (1.5 bytes a pixel); lossless: a 4-byte ARGB plane when there is no alpha, and transform images; extended with alpha: the alpha plane's decoding (6 bytes a pixel); animated: the RGBA canvas and frame too |
//! | TIFF | the decoder's own whole-image buffer (4 or 8 bytes a pixel for CMYK) |
//!
//! Every format also counts a copy of the file (metadata chunks, a JPEG's whole input) and, for
//! PNG, the inflated ICC profile (at most [`METADATA_CAP`], which the decoder is held to).

use ::image::ExtendedColorType;

use super::decode::ImageFormat;

/// Fixed working memory of every decoder (tables, small buffers), generously.
pub(crate) const FIXED: u64 = 256 << 10;
/// The most a decoder may allocate for metadata (a PNG's ICC profile and text chunks, in all):
/// 16 MiB. Real ICC profiles are under a few MB; Pillow refuses text chunks over 1 MB.
pub(crate) const METADATA_CAP: u64 = 16 << 20;
/// Deflate's largest expansion: 258 bytes from a 2-bit code.
const DEFLATE_RATIO: u64 = 1032;
/// PNG's inflate state and chunk buffers, on top of [`FIXED`].
const PNG_FIXED: u64 = 512 << 10;

/// The header facts an estimate needs.
pub(crate) struct Header<'a> {
    pub(crate) format: ImageFormat,
    pub(crate) bytes: &'a [u8],
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// The pixel buffer at the decoder's native depth.
    pub(crate) native: u64,
    /// The colour type in the file (CMYK for a CMYK TIFF or JPEG).
    pub(crate) original: ExtendedColorType,
}

/// Peak bytes the decoder allocates, including the pixel buffer at native depth and copies of
/// parts of the caller's input, but not the input itself (saturating: a huge answer only means
/// "refuse").
pub(crate) fn decode_peak(h: &Header<'_>) -> u64 {
    let px = u64::from(h.width) * u64::from(h.height);
    let row = if h.height == 0 {
        0
    } else {
        h.native / u64::from(h.height)
    };
    let len = h.bytes.len() as u64;
    let extra = match h.format {
        ImageFormat::Bmp => row.saturating_mul(4),
        ImageFormat::Png => row
            .saturating_mul(4)
            .saturating_add(PNG_FIXED)
            .saturating_add(png_icc_bound(h.bytes)),
        ImageFormat::Gif => gif_extra(h.bytes, h.width, h.height, px, row),
        ImageFormat::Jpeg => {
            let coefficients = jpeg_progressive_coefficients(h.bytes).unwrap_or(0);
            (h.native / 2).saturating_add(coefficients)
        }
        ImageFormat::WebP => webp_bytes_per_pixel(h.bytes).saturating_mul(px),
        // The decoder's own whole-image buffer, wider than ours for CMYK, and the tag values it
        // keeps (strip offsets and counts: 8 bytes for each 4 or fewer in the file).
        ImageFormat::Tiff => match h.original {
            ExtendedColorType::Cmyk8 => px.saturating_mul(4),
            ExtendedColorType::Cmyk16 => px.saturating_mul(8),
            _ => h.native,
        }
        .saturating_add(len.saturating_mul(2)),
    };
    h.native
        .saturating_add(extra)
        .saturating_add(len)
        .saturating_add(FIXED)
}

/// What the TIFF decoder may allocate while it opens a file, beyond a copy of it: each tag value
/// it reads becomes a vector of 32-byte values, so 32 bytes for each byte of values in the file
/// (at most; [`tiff_values_in_file`] makes sure the values are in the file).
pub(crate) fn tiff_header_bound(bytes: &[u8]) -> u64 {
    (bytes.len() as u64).saturating_mul(32)
}

/// Whether every tag value of a TIFF's first IFD lies inside the file. The TIFF decoder
/// allocates room for a tag's values from the count it declares before it reads them, up to
/// 256 MiB while it opens the file, before any limit of ours applies: a 205-byte file declaring
/// 2.6 million values took 84 MB. A value that runs past the end of the file cannot be read
/// anyway. `None` when the header is not a TIFF header we can walk (the decoder then reports
/// it).
pub(crate) fn tiff_values_in_file(bytes: &[u8]) -> Option<bool> {
    let le = match bytes.get(..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u64> {
        let b = bytes.get(at..at + 2)?;
        Some(u64::from(if le {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        }))
    };
    let u32_at = |at: usize| -> Option<u64> {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(u64::from(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }))
    };
    let u64_at = |at: usize| -> Option<u64> {
        let b: [u8; 8] = bytes.get(at..at + 8)?.try_into().ok()?;
        Some(if le {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        })
    };
    let big = match u16_at(2)? {
        42 => false,
        43 => true,
        _ => return None,
    };
    let (ifd, count_at, entry_len, inline) = if big {
        (u64_at(8)?, 8, 20, 8)
    } else {
        (u32_at(4)?, 2, 12, 4)
    };
    let ifd = usize::try_from(ifd).ok()?;
    let entries = if big { u64_at(ifd)? } else { u16_at(ifd)? };
    let len = bytes.len() as u64;
    for i in 0..entries.min(len / entry_len as u64) {
        let at = ifd + count_at + i as usize * entry_len;
        let kind = u16_at(at + 2)?;
        let count = if big {
            u64_at(at + 4)?
        } else {
            u32_at(at + 4)?
        };
        let size: u64 = match kind {
            1 | 2 | 6 | 7 => 1,
            3 | 8 => 2,
            4 | 9 | 11 | 13 => 4,
            5 | 10 | 12 | 16 | 17 | 18 => 8,
            _ => continue, // unknown types are skipped by the decoder
        };
        let bytes_of_values = count.saturating_mul(size);
        if bytes_of_values > inline {
            let offset = if big {
                u64_at(at + 12)?
            } else {
                u32_at(at + 8)?
            };
            if offset.saturating_add(bytes_of_values) > len {
                return Some(false);
            }
        }
    }
    Some(true)
}

/// The most an ICC profile in a PNG's `iCCP` chunks can inflate to: deflate's largest expansion
/// of their bytes, held to [`METADATA_CAP`].
fn png_icc_bound(bytes: &[u8]) -> u64 {
    let mut pos = 8;
    let mut compressed = 0u64;
    while let Some(head) = bytes.get(pos..pos + 8) {
        let len = u64::from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]));
        if &head[4..8] == b"iCCP" {
            compressed = compressed.saturating_add(len);
        }
        if &head[4..8] == b"IEND" {
            break;
        }
        let Some(next) = usize::try_from(len)
            .ok()
            .and_then(|l| pos.checked_add(12)?.checked_add(l))
        else {
            break;
        };
        pos = next;
    }
    compressed.saturating_mul(DEFLATE_RATIO).min(METADATA_CAP)
}

/// GIF: the first frame's index plane, its RGBA copy when the decoder cannot write it straight
/// into the canvas, and two canvas rows.
fn gif_extra(bytes: &[u8], width: u32, height: u32, px: u64, row: u64) -> u64 {
    let Some(f) = super::pillow::first_frame(bytes) else {
        // No frame descriptor: the decoder fails before allocating pixels.
        return px;
    };
    let frame = u64::from(f.width) * u64::from(f.height);
    // The `image` crate writes the frame in place when it spans the canvas's width and fits.
    let direct = f.left == 0
        && f.width == width
        && u64::from(f.top) + u64::from(f.height) <= u64::from(height);
    let copy = if direct { 0 } else { frame.saturating_mul(4) };
    frame
        .saturating_add(copy)
        .saturating_add(row.saturating_mul(2))
}

/// WebP working memory per pixel of the canvas, from the first chunk's kind.
fn webp_bytes_per_pixel(bytes: &[u8]) -> u64 {
    match bytes.get(12..16) {
        // Lossy: Y, U and V planes, padded to 16-pixel macroblocks (2 covers the padding of any
        // image big enough to matter, plus per-macroblock state).
        Some(b"VP8 ") => 2,
        // Lossless: a 4-byte ARGB plane unless the output is RGBA, plus the transform and
        // entropy images (at most a quarter of a pixel each, three of them).
        Some(b"VP8L") => {
            let alpha = bytes
                .get(21..25)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) >> 28 & 1 == 1)
                .unwrap_or(false);
            if alpha {
                1
            } else {
                5
            }
        }
        // Extended: a still image may carry a lossy frame with a lossless-coded alpha plane
        // (1.5 + 6); an animation also keeps an RGBA canvas and an RGBA frame.
        Some(b"VP8X") => {
            let animated = bytes.get(20).is_some_and(|f| f & 0x02 != 0);
            if animated {
                16
            } else {
                8
            }
        }
        _ => 8,
    }
}

/// Bytes of DCT coefficients a progressive JPEG keeps for the whole image (2 per sample of each
/// component, in whole MCUs), or `None` for a baseline JPEG or an unreadable header.
fn jpeg_progressive_coefficients(bytes: &[u8]) -> Option<u64> {
    let mut pos = 2;
    loop {
        while bytes.get(pos) == Some(&0xFF) && bytes.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        if *bytes.get(pos)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(pos + 1)?;
        match marker {
            0x01 | 0xD0..=0xD8 => {
                pos += 2;
                continue;
            }
            0xD9 | 0xDA => return None,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([
            *bytes.get(pos + 2)?,
            *bytes.get(pos + 3)?,
        ]));
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if !is_sof {
            pos += 2 + len;
            continue;
        }
        let progressive = matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
        if !progressive {
            return None;
        }
        let sof = bytes.get(pos + 4..pos + 2 + len)?;
        let height = u64::from(u16::from_be_bytes([*sof.get(1)?, *sof.get(2)?]));
        let width = u64::from(u16::from_be_bytes([*sof.get(3)?, *sof.get(4)?]));
        let n = usize::from(*sof.get(5)?);
        let comps: Vec<(u64, u64)> = (0..n)
            .map(|i| {
                let s = *sof.get(6 + 3 * i + 1)?;
                Some((u64::from(s >> 4).max(1), u64::from(s & 15).max(1)))
            })
            .collect::<Option<_>>()?;
        let hmax = comps.iter().map(|c| c.0).max()?;
        let vmax = comps.iter().map(|c| c.1).max()?;
        let mcux = width.div_ceil(8 * hmax);
        let mcuy = height.div_ceil(8 * vmax);
        let samples: u64 = comps
            .iter()
            .map(|&(h, v)| (mcux * h * 8) * (mcuy * v * 8))
            .sum();
        return Some(samples.saturating_mul(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webp_kinds() {
        let mut simple = b"RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2f".to_vec();
        simple.extend_from_slice(&0u32.to_le_bytes());
        assert_eq!(webp_bytes_per_pixel(&simple), 5);
        simple[24] |= 0x10; // alpha_is_used, bit 28
        assert_eq!(webp_bytes_per_pixel(&simple), 1);
        assert_eq!(webp_bytes_per_pixel(b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0"), 2);
        let mut x = b"RIFF\0\0\0\0WEBPVP8X\0\0\0\0\0".to_vec();
        assert_eq!(webp_bytes_per_pixel(&x), 8);
        x[20] = 0x02;
        assert_eq!(webp_bytes_per_pixel(&x), 16);
        assert_eq!(webp_bytes_per_pixel(b"RIFF"), 8);
    }
}
