//! Image input: decoding with limits, the pixel policy, and caller-supplied pixel buffers.
//!
//! [`decode`] / [`decode_path`] turn JPEG, PNG, GIF, WebP, BMP or TIFF bytes (recognised from
//! the content, never the file name) into one owned buffer of 8-bit pixels: grey images as
//! [`PixelLayout::Luma8`], everything else as [`PixelLayout::Rgb8`]. Callers who already hold
//! decoded frames skip all of this and wrap them in a [`PixelBuffer`].
//!
//! ```
//! use hashsieve::image::{decode, DecodeOptions, Limits, Orientation};
//! # let bytes: &[u8] = &[
//! #     0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
//! #     0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00,
//! #     0x00, 0x3a, 0x7e, 0x9b, 0x55, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78,
//! #     0x01, 0x01, 0x02, 0x00, 0xfd, 0xff, 0x00, 0x80, 0x00, 0x82, 0x00, 0x81, 0xc3, 0x6e,
//! #     0x25, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
//! # ];
//! let opts = DecodeOptions::default()
//!     .limits(Limits::default().max_pixels(40_000_000))
//!     .orientation(Orientation::Apply);
//! let img = decode(bytes, &opts)?;
//! let pixels = img.pixels(); // hash these, then drop `img`
//! assert_eq!((pixels.width(), pixels.height()), (1, 1));
//! # Ok::<(), hashsieve::Error>(())
//! ```
//!
//! # Pixel policy: the reference tools' pixels
//!
//! The reference hashes (pdqhash, ImageHash, python-threatexchange) all hash what Pillow's
//! `Image.open(f).convert('RGB')` gives, so that is the default target. JPEG is decoded by
//! libjpeg-turbo's code (the `jpeg-exact` feature, on by default: the C of mozjpeg's fork, built
//! with the `cc` crate), as Pillow does, so JPEG pixels are Pillow's exactly ([`DecodeMode`]);
//! every other format, and JPEG with [`DecodeMode::PureRust`] or without the feature, is decoded
//! by the `image` crate (0.25); where its pixels differ from Pillow's in a way that can be undone,
//! the difference is undone. Measured against Pillow 13.0.0 / libjpeg-turbo 3.2 / libwebp 1.6 on
//! `tests/data/corpus` and `tests/data/decode` (`tests/image_input.rs` keeps it so):
//!
//! | Input | What you get | Against Pillow |
//! |---|---|---|
//! | EXIF orientation (JPEG, PNG, WebP) | ignored by default ([`Orientation::Reference`]); [`Orientation::Apply`] turns the pixels as `ImageOps.exif_transpose` does | identical, all 8 orientations |
//! | TIFF Orientation tag | applied by default, because Pillow applies it when it opens a TIFF; [`Orientation::Ignore`] keeps the stored pixels | identical |
//! | Alpha (RGBA, LA, tRNS, 32-bit BMP, WebP alpha) | dropped, never composited onto a background | identical |
//! | Palette (PNG, GIF, BMP) | the palette's colours (not the index plane that python-threatexchange once hashed) | identical |
//! | Grey (L, LA, 1-bit, 2/4-bit) | [`PixelLayout::Luma8`], half the memory of RGB; hashes as `(g, g, g)` does | identical; bilevel is 0 / 255 |
//! | 16-bit grey PNG/TIFF (Pillow `I;16`) | default [`SixteenBit::Pillow`]: `min(v, 255)`, Pillow's clipping, which whitens most such images; [`SixteenBit::Scale`]: `round(v / 257)` | identical (default) |
//! | 16-bit grey+alpha, RGB, RGBA | default: the high byte `v >> 8`, as Pillow; [`SixteenBit::Scale`]: `round(v / 257)` | identical (default) |
//! | 16-bit BMP (5-5-5, 5-6-5) | Pillow's truncating widening `v * 255 / 31` (the `image` crate rounds; undone) | identical |
//! | GIF | the first frame; canvas outside it is palette entry `transparency or 0`, as Pillow paints frame 0 (the `image` crate leaves it black; undone) | identical |
//! | WebP lossy / lossless / animated | first frame | identical (image-webp matched libwebp bit for bit on every file tried) |
//! | JPEG (grey, YCbCr, RGB), [`DecodeMode::Exact`] | libjpeg-turbo's ISLOW IDCT, fancy upsampling and colour conversion, as Pillow | identical (every JPEG of the corpus and the PDQ conformance set) |
//! | CMYK / YCCK JPEG, [`DecodeMode::Exact`] | libjpeg's CMYK, inverted (Pillow's `CMYK;I`) and converted by Pillow's `cmyk2rgb` | identical |
//! | JPEG, [`DecodeMode::Fast`] | libjpeg-turbo at 1/2, 1/4 or 1/8 scale (DCT domain) | smaller image; hashes a few bits off (README) |
//! | JPEG, [`DecodeMode::PureRust`] (or no `jpeg-exact`) | zune-jpeg's decode | not bit-exact: 4:4:4 and grey differ by at most 1-2 levels on under 2% of samples (mean 0.01); 4:2:0 differs by at most 4 levels, mean 0.2-0.35 per sample, from a different chroma upsampling; CMYK max 1 level |
//! | CMYK TIFF | converted to RGB | identical |
//! | Truncated JPEG | [`ErrorKind::Decode`] (as Pillow's "image file is truncated"; the `image` crate would pad with grey) | same outcome |
//! | Palette TIFF | [`ErrorKind::Decode`]: the `image` crate does not decode it (Pillow does) | gap |
//! | 32-bit float TIFF | `round(clamp(v, 0, 1) * 255)` | differs (Pillow clips mode `F` without scaling) |
//!
//! Every lossless format, and JPEG in the default [`DecodeMode::Exact`], reproduces the reference
//! pixels, and so the reference hashes, exactly. Checked against Pillow 13.0.0 with
//! libjpeg-turbo 3.2.0.
//!
//! # Limits
//!
//! A decompression bomb or a header declaring 100000 x 100000 pixels must not take the process
//! down. [`Limits`] are checked against the header before any pixel buffer exists: the
//! dimensions, and the memory that the dimensions, pixel format and encoding imply (the pixel
//! buffer plus the decoder's working memory, per format), against [`Limits::max_alloc`].
//! Defaults: 65535 pixels a side, 178,956,970 pixels (Pillow's `DecompressionBombError`
//! threshold) and 256 MiB ([`DEFAULT_MAX_ALLOC`]), which admits a 24 MP photo in any format with
//! room to spare (about 55 MP for a baseline JPEG, 85 MP for an RGB PNG; see [`Limits`]).
//! [`Limits::none`] is for trusted input only.
//!
//! Threads do not multiply the limit: every decode reserves its memory from a [`DecodeBudget`]
//! before it allocates, and by default all decodes in the process share one budget of
//! [`DEFAULT_BUDGET`] (256 MiB), waiting their turn when it is spent. With the defaults, a
//! process decoding on any number of threads keeps at most 256 MiB of decoding memory
//! (measured: any input under 1 MB, at any thread count, peaks well under 300 MB of RSS in the
//! CLI; `benches/decode_memory.sh`).
//!
//! # Memory
//!
//! [`decode`] allocates one buffer at the decoder's native depth (zeroed by the operating system,
//! so pages a truncated file never reaches cost nothing) (for example 4 bytes a pixel
//! for RGBA, 6 for 16-bit RGB), converts it to 8-bit grey or RGB in place, and shrinks it; an
//! applied 90-degree orientation needs one more buffer of the 8-bit size, briefly. The library
//! keeps nothing: [`DecodedImage`] owns that one buffer, and dropping it (as soon as the hashes
//! are computed) frees everything.
//!
//! [`ErrorKind::Decode`]: crate::ErrorKind::Decode

mod budget;
mod cost;
mod decode;
#[cfg(feature = "jpeg-exact")]
mod jpeg;
mod orient;
mod pillow;
mod pixels;

pub use budget::{DecodeBudget, DEFAULT_BUDGET};
pub use decode::{
    decode, decode_path, decode_reader, DecodeMode, DecodeOptions, DecodedImage, ImageFormat,
    Limits, Orientation, SixteenBit, DEFAULT_MAX_ALLOC,
};
pub use pixels::{PixelBuffer, PixelLayout};
