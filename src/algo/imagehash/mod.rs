//! The imagehash family — pHash, dHash, aHash (`average_hash`) and wHash (Haar) — bit for bit
//! as Python's [imagehash] 4.3.2 computes them with Pillow 13 on the same pixels.
//!
//! imagehash receives a Pillow image (the reference lists hash `Image.convert("RGB")` of the
//! decoded file), converts it to grey with `convert("L")`, shrinks it with
//! `resize(size, Image.LANCZOS)` and compares the pixels or transform coefficients of the result.
//! Each step is reproduced exactly:
//!
//! | step | reference | here |
//! |---|---|---|
//! | grey | Pillow `rgb2l`: `(R*19595 + G*38470 + B*7471 + 0x8000) >> 16` | same integers |
//! | resize | Pillow's 8-bit fixed-point separable Lanczos; pass order per [`ResizeOrder`] | `pillow` module |
//! | pHash | `scipy.fftpack.dct` twice (pocketfft), `numpy.median`, `> median` | `dct` module: scipy's own `f64` operation order |
//! | dHash | `pixels[:, 1:] > pixels[:, :-1]` on `(n+1) x n` | integer compare |
//! | aHash | `pixels > numpy.mean(pixels)` | exact integer compare (`n² * p > sum`) |
//! | wHash | `pywt.wavedec2`/`waverec2` (`'haar'`, LL removed), `numpy.median` | `haar` module: PyWavelets' order |
//!
//! # Bits and hex
//!
//! The hash is imagehash's boolean matrix read row-major with the first cell as the most
//! significant bit, so [`HashValue::to_hex`] equals `str(imagehash_hash)`: a
//! [`HashValue::Bits64`] for [`HashSize::Eight`] and a [`HashValue::Bits256`] for
//! [`HashSize::Sixteen`].
//!
//! # Quality
//!
//! The `*_with_quality` functions also rate the image as PDQ rates its own 64x64 downsample:
//! [`gradient_quality`] applies PDQ's gradient metric to the grey grid each algorithm already
//! computed (no extra resize), scaled so that a 64x64 grid gives exactly PDQ's number. A flat
//! or near-flat image scores 0, and its hash is rounding noise that matches every other flat
//! image; [`Matcher`](crate::matching::Matcher) skips such queries by default. The numbers are
//! not on one scale across algorithms: small grids (aHash's 8x8, dHash's 9x8) reach 100 at
//! lower contrast than pHash's 32x32.
//!
//! # Input
//!
//! Any [`PixelBuffer`]: `Rgb8`, `Rgba8`, `Bgra8` (alpha ignored, as `convert("RGB")` ignores it)
//! or `Luma8` (already Pillow's mode `"L"`; grey `(g, g, g)` converts back to `g`, so the bits are
//! the same as for the RGB image).
//!
//! # Speed
//!
//! The Lanczos reduction of the full image dominates. Its kernels use AVX2 where the CPU has it
//! (checked at run time; portable code otherwise, always the same bytes), and the resize weights of
//! the last few image sizes are kept, so hashing many images of one size skips their `sin` calls.
//! On one core, pHash of a 1920x1080 RGB frame takes about a seventh of imagehash's time.
//! Every function here is thread-safe.
//!
//! ```
//! use hashsieve::algo::imagehash::{phash, HashSize, ImageHashOptions};
//! use hashsieve::{PixelBuffer, PixelLayout};
//! let rgb: Vec<u8> = (0..64 * 48 * 3).map(|i| (i * 7 % 251) as u8).collect();
//! let px = PixelBuffer::packed(&rgb, 64, 48, PixelLayout::Rgb8)?;
//! let h8 = phash(&px, &ImageHashOptions::default());
//! let h16 = phash(&px, &ImageHashOptions::default().size(HashSize::Sixteen));
//! assert_eq!((h8.width(), h16.width()), (64, 256));
//! # Ok::<(), hashsieve::Error>(())
//! ```
//!
//! [imagehash]: https://github.com/JohannesBuchner/imagehash

mod dct;
mod haar;
// Crate-visible for `pillow::luma`, which the JPEG decoder's straight-to-grey conversion uses.
pub(crate) mod pillow;
mod quality;
mod simd;

use crate::error::{ErrorKind, Result};
use crate::hash::{Hash256, Hash64, HashValue};
use crate::image::PixelBuffer;

use self::pillow::GreyImage;
pub use self::quality::{gradient_quality, gradient_quality_f32};

/// The side of imagehash's hash matrix (`hash_size`): 8 (64 bits) or 16 (256 bits).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashSize {
    /// `hash_size=8`, imagehash's default: an 8x8 matrix, a 64-bit [`Hash64`].
    #[default]
    Eight,
    /// `hash_size=16`: a 16x16 matrix, a 256-bit [`Hash256`].
    Sixteen,
}

impl HashSize {
    /// The matrix side (`hash_size`): 8 or 16.
    pub const fn side(self) -> usize {
        match self {
            HashSize::Eight => 8,
            HashSize::Sixteen => 16,
        }
    }

    /// The hash width in bits: 64 or 256.
    pub const fn width(self) -> u32 {
        (self.side() * self.side()) as u32
    }
}

impl TryFrom<u32> for HashSize {
    type Error = crate::Error;

    /// Accepts 8 and 16.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for any other value.
    fn try_from(n: u32) -> Result<HashSize> {
        match n {
            8 => Ok(HashSize::Eight),
            16 => Ok(HashSize::Sixteen),
            other => Err(ErrorKind::InvalidArgument(format!(
                "imagehash hash_size must be 8 or 16, not {other}"
            ))
            .into()),
        }
    }
}

/// Which Pillow resampling pass runs first when an image shrinks in both directions.
///
/// The passes round to 8 bits in between, so the order changes a few pixels of the reduced image
/// and, near ties, hash bits. Pick the rule of the Pillow version the hashes you compare against
/// were made with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResizeOrder {
    /// Pillow 13 (the default): the vertical pass runs first when the height shrinks by more than
    /// twice as many pixels as the width (`in_h - out_h > 2 * (in_w - out_w)`, both sides
    /// changing), otherwise the horizontal pass.
    #[default]
    Pillow13,
    /// Pillow 12 and earlier (checked against 11.3.0): always the horizontal pass first.
    Pillow12,
}

/// Options for the imagehash family.
///
/// ```
/// use hashsieve::algo::imagehash::{HashSize, ImageHashOptions, ResizeOrder};
/// let o = ImageHashOptions::default()
///     .size(HashSize::Sixteen)
///     .resize_order(ResizeOrder::Pillow12);
/// assert_eq!((o.size, o.resize_order), (HashSize::Sixteen, ResizeOrder::Pillow12));
/// assert_eq!(ImageHashOptions::default().hash_size(16).size, HashSize::Sixteen);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImageHashOptions {
    /// The hash size (imagehash's `hash_size`); 8 by default.
    pub size: HashSize,
    /// The Pillow pass-order rule; [`ResizeOrder::Pillow13`] by default.
    pub resize_order: ResizeOrder,
}

impl ImageHashOptions {
    /// Sets the hash size (imagehash's `hash_size`).
    pub fn size(mut self, size: HashSize) -> Self {
        self.size = size;
        self
    }

    /// Sets the Pillow pass-order rule (default [`ResizeOrder::Pillow13`]).
    pub fn resize_order(mut self, order: ResizeOrder) -> Self {
        self.resize_order = order;
        self
    }

    /// Sets the hash size from imagehash's integer `hash_size`.
    ///
    /// Prefer [`ImageHashOptions::size`], which cannot fail; use [`HashSize::try_from`] to
    /// check user input.
    ///
    /// # Panics
    ///
    /// Panics unless `n` is 8 or 16 (a caller bug: only those two sizes are supported).
    pub fn hash_size(self, n: u32) -> Self {
        match HashSize::try_from(n) {
            Ok(size) => self.size(size),
            Err(_) => panic!("imagehash hash_size must be 8 or 16, not {n}"),
        }
    }
}

/// Shrinks `pixels` to `w x h` grey exactly as `image.convert("L").resize((w, h), LANCZOS)`.
/// (`eval::transform` also resizes, and enlarges, each RGB channel with it.)
pub(crate) fn reduce(
    pixels: &PixelBuffer<'_>,
    w: usize,
    h: usize,
    order: ResizeOrder,
) -> GreyImage {
    simd::grey_resize(pixels, w, h, order)
}

/// Packs row-major booleans (first = most significant bit) into the hash of `size`.
fn pack(size: HashSize, bits: impl Iterator<Item = bool>) -> HashValue {
    match size {
        HashSize::Eight => HashValue::Bits64(Hash64::from_u64(
            bits.fold(0u64, |acc, b| acc << 1 | u64::from(b)),
        )),
        HashSize::Sixteen => {
            let mut limbs = [0u64; 4];
            for (i, b) in bits.enumerate().take(256) {
                if b {
                    let k = 255 - i;
                    limbs[k / 64] |= 1 << (k % 64);
                }
            }
            HashValue::Bits256(Hash256::from_limbs(limbs))
        }
    }
}

/// `numpy.median`: the middle value, or the mean of the two middle values (`(a + b) / 2` in
/// `f64`) for an even count. `values` must be non-empty and free of NaN.
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Bits `value > median(values)`, row-major.
fn above_median(size: HashSize, values: &[f64]) -> HashValue {
    let med = median(values);
    pack(size, values.iter().map(|&v| v > med))
}

/// A hash of the imagehash family with the gradient quality of the grey grid it was computed
/// from (see [`gradient_quality`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImageHash {
    /// The hash, exactly as the function without `_with_quality` returns it.
    pub hash: HashValue,
    /// The quality, 0..=100 (0 for a flat image): [`gradient_quality`] of the algorithm's grey
    /// grid (for wHash, of its 64x64 block means when larger; see [`whash_with_quality`]).
    pub quality: u8,
}

impl ImageHash {
    fn of(grey: &GreyImage, hash: HashValue) -> ImageHash {
        ImageHash {
            hash,
            quality: gradient_quality(&grey.pixels, grey.width, grey.height),
        }
    }
}

/// pHash's grid: `4n x 4n` grey.
fn phash_grid(pixels: &PixelBuffer<'_>, options: &ImageHashOptions) -> GreyImage {
    let side = 4 * options.size.side();
    reduce(pixels, side, side, options.resize_order)
}

fn phash_bits(size: HashSize, grey: &GreyImage) -> HashValue {
    let dct_size = match size {
        HashSize::Eight => dct::DctSize::N32,
        HashSize::Sixteen => dct::DctSize::N64,
    };
    let coeffs = dct::dct2d_top_left(dct_size, &grey.pixels, size.side());
    above_median(size, &coeffs)
}

/// imagehash's `phash(image, hash_size)` (with its default `highfreq_factor=4`).
///
/// The image is reduced to `4n x 4n` grey, transformed with scipy's DCT-II along both axes and the
/// top-left `n x n` coefficients are compared with their median.
pub fn phash(pixels: &PixelBuffer<'_>, options: &ImageHashOptions) -> HashValue {
    phash_bits(options.size, &phash_grid(pixels, options))
}

/// [`phash`] and the [`gradient_quality`] of its `4n x 4n` grey image (32x32 or 64x64; at
/// `hash_size` 16 the grid has PDQ's size).
///
/// ```
/// use hashsieve::algo::imagehash::{phash, phash_with_quality, ImageHashOptions};
/// use hashsieve::{PixelBuffer, PixelLayout};
/// let opts = ImageHashOptions::default();
/// let flat = vec![90u8; 100 * 80];
/// let px = PixelBuffer::packed(&flat, 100, 80, PixelLayout::Luma8)?;
/// let out = phash_with_quality(&px, &opts);
/// assert_eq!((out.hash, out.quality), (phash(&px, &opts), 0));
/// # Ok::<(), hashsieve::Error>(())
/// ```
pub fn phash_with_quality(pixels: &PixelBuffer<'_>, options: &ImageHashOptions) -> ImageHash {
    let grey = phash_grid(pixels, options);
    ImageHash::of(&grey, phash_bits(options.size, &grey))
}

/// dHash's grid: `(n+1) x n` grey.
fn dhash_grid(pixels: &PixelBuffer<'_>, options: &ImageHashOptions) -> GreyImage {
    let n = options.size.side();
    reduce(pixels, n + 1, n, options.resize_order)
}

fn dhash_bits(size: HashSize, grey: &GreyImage) -> HashValue {
    let n = size.side();
    let bits = (0..n).flat_map(|y| {
        let row = grey.row(y);
        (0..n).map(move |x| row[x + 1] > row[x])
    });
    pack(size, bits)
}

/// imagehash's `dhash(image, hash_size)` (horizontal differences).
///
/// The image is reduced to `(n+1) x n` grey; bit `(y, x)` is `pixel(y, x+1) > pixel(y, x)`.
pub fn dhash(pixels: &PixelBuffer<'_>, options: &ImageHashOptions) -> HashValue {
    dhash_bits(options.size, &dhash_grid(pixels, options))
}

/// [`dhash`] and the [`gradient_quality`] of its `(n+1) x n` grey image.
///
/// ```
/// use hashsieve::algo::imagehash::{dhash, dhash_with_quality, ImageHashOptions};
/// use hashsieve::{PixelBuffer, PixelLayout};
/// let opts = ImageHashOptions::default();
/// let stripes: Vec<u8> = (0..90 * 80).map(|i| if i % 90 < 45 { 0 } else { 255 }).collect();
/// let px = PixelBuffer::packed(&stripes, 90, 80, PixelLayout::Luma8)?;
/// let out = dhash_with_quality(&px, &opts);
/// assert_eq!(out.hash, dhash(&px, &opts));
/// assert!(out.quality > 0);
/// # Ok::<(), hashsieve::Error>(())
/// ```
pub fn dhash_with_quality(pixels: &PixelBuffer<'_>, options: &ImageHashOptions) -> ImageHash {
    let grey = dhash_grid(pixels, options);
    ImageHash::of(&grey, dhash_bits(options.size, &grey))
}

/// aHash's grid: `n x n` grey.
fn average_hash_grid(pixels: &PixelBuffer<'_>, options: &ImageHashOptions) -> GreyImage {
    let n = options.size.side();
    reduce(pixels, n, n, options.resize_order)
}

fn average_hash_bits(size: HashSize, grey: &GreyImage) -> HashValue {
    let sum: u32 = grey.pixels.iter().map(|&p| u32::from(p)).sum();
    let count = size.width();
    pack(
        size,
        grey.pixels.iter().map(|&p| u32::from(p) * count > sum),
    )
}

/// imagehash's `average_hash(image, hash_size)`.
///
/// The image is reduced to `n x n` grey; a bit is set where the pixel is above the mean. numpy's
/// mean of `n²` small integers is exact (`sum / n²` with `n²` a power of two), so the comparison
/// is done in integers: `pixel * n² > sum`.
pub fn average_hash(pixels: &PixelBuffer<'_>, options: &ImageHashOptions) -> HashValue {
    average_hash_bits(options.size, &average_hash_grid(pixels, options))
}

/// [`average_hash`] and the [`gradient_quality`] of its `n x n` grey image.
///
/// ```
/// use hashsieve::algo::imagehash::{average_hash_with_quality, ImageHashOptions};
/// use hashsieve::{PixelBuffer, PixelLayout};
/// let flat = vec![200u8; 64 * 64];
/// let px = PixelBuffer::packed(&flat, 64, 64, PixelLayout::Luma8)?;
/// assert_eq!(average_hash_with_quality(&px, &ImageHashOptions::default()).quality, 0);
/// # Ok::<(), hashsieve::Error>(())
/// ```
pub fn average_hash_with_quality(
    pixels: &PixelBuffer<'_>,
    options: &ImageHashOptions,
) -> ImageHash {
    let grey = average_hash_grid(pixels, options);
    ImageHash::of(&grey, average_hash_bits(options.size, &grey))
}

/// wHash's grid: `scale x scale` grey, `scale` = the largest power of two not above the smaller
/// side, but at least `n`.
fn whash_grid(pixels: &PixelBuffer<'_>, options: &ImageHashOptions) -> GreyImage {
    let n = options.size.side();
    let min_side = pixels.width().min(pixels.height());
    // 2**int(log2(min_side)); the PixelBuffer guarantees min_side >= 1.
    let natural = 1usize << (31 - min_side.leading_zeros());
    let scale = natural.max(n);
    reduce(pixels, scale, scale, options.resize_order)
}

fn whash_bits(size: HashSize, grey: &GreyImage) -> HashValue {
    let scale = grey.width;
    let ll_max_level = scale.trailing_zeros();
    let dwt_level = ll_max_level - size.side().trailing_zeros();
    let plane = haar::Plane {
        side: scale,
        data: grey.pixels.iter().map(|&p| f64::from(p) / 255.0).collect(),
    };
    let plane = haar::remove_lowest_ll(plane, ll_max_level);
    let low = haar::approximation(plane, dwt_level);
    above_median(size, &low.data)
}

/// imagehash's `whash(image, hash_size)` with its defaults: `mode='haar'`,
/// `remove_max_haar_ll=True`, `image_scale` = the largest power of two not above the smaller
/// side, but at least `n`.
///
/// The image is reduced to `scale x scale` grey, scaled to `0..=1` (`/ 255.`), fully decomposed
/// with the Haar wavelet, its lowest approximation removed and recomposed, then decomposed
/// `log2(scale / n)` levels; the `n x n` approximation is compared with its median.
pub fn whash(pixels: &PixelBuffer<'_>, options: &ImageHashOptions) -> HashValue {
    whash_bits(options.size, &whash_grid(pixels, options))
}

/// [`whash`] and the quality of its `scale x scale` grey image (before the Haar transform):
/// [`gradient_quality`] of that image when `scale <= 64`, otherwise of its 64x64 block means
/// (`scale` is a power of two, so each mean covers an exact `scale/64` square; each pair's term
/// `trunc((mean_u - mean_v) * 100 / 255)` is computed exactly in integers).
///
/// Why block means: `scale` is the largest power of two not above the image's smaller side, so
/// the grid can be as large as the image, and adjacent pixels of a large image differ little
/// however much it shows. On the full grid, 30 of 67 benign corpus photos scored under 50
/// (one 2560x1600 photo 2) while a flat image with faint noise (σ = 4 grey levels) scored 38;
/// on 64x64 block means the photos score as PDQ rates them and the noise scores 0.
///
/// ```
/// use hashsieve::algo::imagehash::{whash, whash_with_quality, ImageHashOptions};
/// use hashsieve::{PixelBuffer, PixelLayout};
/// let opts = ImageHashOptions::default();
/// let noise: Vec<u8> = (0..40 * 40u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
/// let px = PixelBuffer::packed(&noise, 40, 40, PixelLayout::Luma8)?;
/// let out = whash_with_quality(&px, &opts);
/// assert_eq!(out.hash, whash(&px, &opts));
/// assert_eq!(out.quality, 100);
/// # Ok::<(), hashsieve::Error>(())
/// ```
pub fn whash_with_quality(pixels: &PixelBuffer<'_>, options: &ImageHashOptions) -> ImageHash {
    let grey = whash_grid(pixels, options);
    ImageHash {
        hash: whash_bits(options.size, &grey),
        quality: quality::whash_quality(&grey.pixels, grey.width),
    }
}

/// Internal stages, exposed for the tests (feature `test-util`). Not part of the stable API:
/// anything here may change in any release.
#[cfg(feature = "test-util")]
pub mod internals {
    use super::{ImageHashOptions, PixelBuffer};

    /// A grey grid: row-major bytes, width, height.
    pub type Grid = (Vec<u8>, usize, usize);

    fn parts(g: super::GreyImage) -> Grid {
        (g.pixels, g.width, g.height)
    }

    /// The grey image pHash transforms.
    pub fn phash_grid(px: &PixelBuffer<'_>, options: &ImageHashOptions) -> Grid {
        parts(super::phash_grid(px, options))
    }

    /// The grey image dHash compares.
    pub fn dhash_grid(px: &PixelBuffer<'_>, options: &ImageHashOptions) -> Grid {
        parts(super::dhash_grid(px, options))
    }

    /// The grey image aHash compares with its mean.
    pub fn average_hash_grid(px: &PixelBuffer<'_>, options: &ImageHashOptions) -> Grid {
        parts(super::average_hash_grid(px, options))
    }

    /// The grey image wHash transforms.
    pub fn whash_grid(px: &PixelBuffer<'_>, options: &ImageHashOptions) -> Grid {
        parts(super::whash_grid(px, options))
    }
}

#[cfg(test)]
mod tests;
