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
//! let h16 = phash(&px, &ImageHashOptions::default().with_size(HashSize::Sixteen));
//! assert_eq!((h8.bits(), h16.bits()), (64, 256));
//! # Ok::<(), hashsieve::Error>(())
//! ```
//!
//! [imagehash]: https://github.com/JohannesBuchner/imagehash

mod dct;
mod haar;
mod pillow;
mod simd;

use crate::error::{ErrorKind, Result};
use crate::hash::{Hash256, Hash64, HashValue};
use crate::image::PixelBuffer;

use self::pillow::GreyImage;

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

    /// The number of bits: 64 or 256.
    pub const fn bits(self) -> u32 {
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
///     .with_size(HashSize::Sixteen)
///     .with_resize_order(ResizeOrder::Pillow12);
/// assert_eq!((o.size(), o.resize_order()), (HashSize::Sixteen, ResizeOrder::Pillow12));
/// assert_eq!(ImageHashOptions::default().hash_size(16).size(), HashSize::Sixteen);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImageHashOptions {
    size: HashSize,
    order: ResizeOrder,
}

impl ImageHashOptions {
    /// Sets the hash size (imagehash's `hash_size`).
    pub fn with_size(mut self, size: HashSize) -> Self {
        self.size = size;
        self
    }

    /// Sets the Pillow pass-order rule (default [`ResizeOrder::Pillow13`]).
    pub fn with_resize_order(mut self, order: ResizeOrder) -> Self {
        self.order = order;
        self
    }

    /// Sets the hash size from imagehash's integer `hash_size`.
    ///
    /// Prefer [`ImageHashOptions::with_size`], which cannot fail; use [`HashSize::try_from`] to
    /// check user input.
    ///
    /// # Panics
    ///
    /// Panics unless `n` is 8 or 16 (a caller bug: only those two sizes are supported).
    pub fn hash_size(self, n: u32) -> Self {
        match HashSize::try_from(n) {
            Ok(size) => self.with_size(size),
            Err(_) => panic!("imagehash hash_size must be 8 or 16, not {n}"),
        }
    }

    /// The hash size.
    pub fn size(&self) -> HashSize {
        self.size
    }

    /// The Pillow pass-order rule.
    pub fn resize_order(&self) -> ResizeOrder {
        self.order
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

/// imagehash's `phash(image, hash_size)` (with its default `highfreq_factor=4`).
///
/// The image is reduced to `4n x 4n` grey, transformed with scipy's DCT-II along both axes and the
/// top-left `n x n` coefficients are compared with their median.
pub fn phash(pixels: &PixelBuffer<'_>, options: &ImageHashOptions) -> HashValue {
    let n = options.size.side();
    let (dct_size, side) = match options.size {
        HashSize::Eight => (dct::DctSize::N32, 32),
        HashSize::Sixteen => (dct::DctSize::N64, 64),
    };
    let grey = reduce(pixels, side, side, options.order);
    let coeffs = dct::dct2d_top_left(dct_size, &grey.pixels, n);
    above_median(options.size, &coeffs)
}

/// imagehash's `dhash(image, hash_size)` (horizontal differences).
///
/// The image is reduced to `(n+1) x n` grey; bit `(y, x)` is `pixel(y, x+1) > pixel(y, x)`.
pub fn dhash(pixels: &PixelBuffer<'_>, options: &ImageHashOptions) -> HashValue {
    let n = options.size.side();
    let grey = reduce(pixels, n + 1, n, options.order);
    let bits = (0..n).flat_map(|y| {
        let row = grey.row(y);
        (0..n).map(move |x| row[x + 1] > row[x])
    });
    pack(options.size, bits)
}

/// imagehash's `average_hash(image, hash_size)`.
///
/// The image is reduced to `n x n` grey; a bit is set where the pixel is above the mean. numpy's
/// mean of `n²` small integers is exact (`sum / n²` with `n²` a power of two), so the comparison
/// is done in integers: `pixel * n² > sum`.
pub fn average_hash(pixels: &PixelBuffer<'_>, options: &ImageHashOptions) -> HashValue {
    let n = options.size.side();
    let grey = reduce(pixels, n, n, options.order);
    let sum: u32 = grey.pixels.iter().map(|&p| u32::from(p)).sum();
    let count = (n * n) as u32;
    pack(
        options.size,
        grey.pixels.iter().map(|&p| u32::from(p) * count > sum),
    )
}

/// imagehash's `whash(image, hash_size)` with its defaults: `mode='haar'`,
/// `remove_max_haar_ll=True`, `image_scale` = the largest power of two not above the smaller
/// side, but at least `n`.
///
/// The image is reduced to `scale x scale` grey, scaled to `0..=1` (`/ 255.`), fully decomposed
/// with the Haar wavelet, its lowest approximation removed and recomposed, then decomposed
/// `log2(scale / n)` levels; the `n x n` approximation is compared with its median.
pub fn whash(pixels: &PixelBuffer<'_>, options: &ImageHashOptions) -> HashValue {
    let n = options.size.side();
    let min_side = pixels.width().min(pixels.height());
    // 2**int(log2(min_side)); the PixelBuffer guarantees min_side >= 1.
    let natural = 1usize << (31 - min_side.leading_zeros());
    let scale = natural.max(n);
    let ll_max_level = scale.trailing_zeros();
    let dwt_level = ll_max_level - n.trailing_zeros();
    let grey = reduce(pixels, scale, scale, options.order);
    let plane = haar::Plane {
        side: scale,
        data: grey.pixels.iter().map(|&p| f64::from(p) / 255.0).collect(),
    };
    let plane = haar::remove_lowest_ll(plane, ll_max_level);
    let low = haar::approximation(plane, dwt_level);
    above_median(options.size, &low.data)
}

#[cfg(test)]
mod tests;
