//! PDQ: Meta's 256-bit perceptual hash with its quality metric and the eight dihedral variants,
//! bit-exact with the reference C++ (as shipped in `pdqhash` 0.2.8, which python-threatexchange
//! and Hasher-Matcher-Actioner use) on the same decoded pixels.
//!
//! The algorithm (ALGORITHM.md §2 in the conformance set): luma, a two-round Jarosz tent
//! filter of 1-D box passes, point sampling to 64x64, the quality metric, a 16x16 DCT, and a
//! median threshold. Every stage runs in f32 in the reference's order of operations; the fast
//! path computes the same f32 values with SIMD and without full-size intermediate planes.
//!
//! # Input
//!
//! The full-resolution pixels are hashed as they are: no resize, no orientation (decode and
//! rotate first if EXIF orientation should apply). Alpha is ignored. Images with a side shorter
//! than 5 pixels get the all-zero hash and quality 0, as in the reference.
//!
//! Hashes are bit-exact with the reference *on the same pixels*. Lossless formats decode to the
//! same pixels everywhere; JPEG decoders differ in low bits, which moves a hash by a few bits at
//! most (the reference's own acceptance rule is distance <= 10 at quality >= 80).
//!
//! # Speed and memory
//!
//! One streaming pass over the pixels computes the same f32 values as the reference's four
//! full-plane box passes (see the `fast` module source for how), with AVX2 where the CPU has it
//! (detected at run time) and portable code elsewhere. Single-threaded on an AMD EPYC (Zen 4):
//! about 2.4 ms for 1920x1080 RGB and 14 ms for 4000x3000, 11x and 22x faster than `pdqhash`
//! 0.2.8 on the same arrays. Working memory per call is about `(H/128 + 80)·W·4 + H·256` bytes,
//! allocated once per call (about 1 MB for 1920x1080); no full-size f32 plane is made.
//!
//! # Example
//!
//! ```
//! use hashsieve::algo::pdq::{pdq, pdq_dihedral, Dihedral};
//! use hashsieve::{PixelBuffer, PixelLayout};
//!
//! let rgb: Vec<u8> = (0..200 * 150 * 3).map(|i| ((i * 7) % 251) as u8).collect();
//! let px = PixelBuffer::packed(&rgb, 200, 150, PixelLayout::Rgb8)?;
//! let h = pdq(&px);
//! assert!(h.quality <= 100);
//! let all = pdq_dihedral(&px);
//! assert_eq!(all.get(Dihedral::Orig), h.hash);
//! # Ok::<(), hashsieve::Error>(())
//! ```

mod core;
mod dct_table;
mod exact;
mod fast;
mod reference;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::str::FromStr;

use crate::arch::Isa;
use crate::error::Error;
use crate::hash::Hash256;
use crate::image::PixelBuffer;
use crate::util::parse_name;

/// A PDQ hash and its quality.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PdqHash {
    /// The hash.
    pub hash: Hash256,
    /// Quality, 0..=100. Upstream recommends discarding hashes of quality below 50.
    pub quality: u8,
}

/// How RGB pixels become luma.
///
/// Greyscale input ([`PixelLayout::Luma8`](crate::PixelLayout::Luma8)) is used as it is in
/// either mode: the grey value `g` is the luma, which is exactly what `(g, g, g)` gives under
/// [`LumaMode::Float64`] (and what the C++ tool does for one-channel images).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LumaMode {
    /// `0.299·R + 0.587·G + 0.114·B` in f64, rounded to f32: what `pdqhash` 0.2.8 (and so
    /// python-threatexchange and HMA) computes. The default.
    #[default]
    Float64,
    /// `((0.299f·R) + (0.587f·G)) + 0.114f·B` in f32: what the C++ `pdq-photo-hasher` computes.
    /// Differs from [`LumaMode::Float64`] by an ulp or two for about a third of all colours,
    /// which very rarely changes a hash bit.
    Float32,
}

/// Options for [`pdq_with`] and [`pdq_dihedral_with`].
///
/// ```
/// use hashsieve::algo::pdq::{LumaMode, PdqOptions};
/// let opts = PdqOptions::default().luma(LumaMode::Float32);
/// assert_eq!(opts.luma_mode(), LumaMode::Float32);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PdqOptions {
    luma: LumaMode,
    dihedral: DihedralMode,
}

impl PdqOptions {
    /// Sets how RGB becomes luma (default [`LumaMode::Float64`]).
    pub fn luma(mut self, mode: LumaMode) -> Self {
        self.luma = mode;
        self
    }

    /// The luma mode.
    pub fn luma_mode(&self) -> LumaMode {
        self.luma
    }

    /// Sets how [`pdq_dihedral_with`] computes the seven transformed hashes (default
    /// [`DihedralMode::Reference`]).
    pub fn dihedral(mut self, mode: DihedralMode) -> Self {
        self.dihedral = mode;
        self
    }

    /// The dihedral mode.
    pub fn dihedral_mode(&self) -> DihedralMode {
        self.dihedral
    }
}

/// How the eight dihedral hashes are computed.
///
/// Both modes cost about one and a half single hashes for all eight. Measured on the benign
/// corpus (`hashsieve eval robustness`, README), the reference's variants miss some rotated or
/// flipped photos at distance 31; the exact ones match them all.
///
/// ```
/// use hashsieve::algo::pdq::{pdq, pdq_dihedral_with, Dihedral, DihedralMode, PdqOptions};
/// use hashsieve::{PixelBuffer, PixelLayout};
///
/// // A textured 300x200 grey image and its left-right mirror image.
/// let (w, h) = (300usize, 200usize);
/// let px = |x: usize, y: usize| ((x * x / 7 + y * 13 + (x ^ y) * 5) % 256) as u8;
/// let orig: Vec<u8> = (0..w * h).map(|i| px(i % w, i / w)).collect();
/// let mirror: Vec<u8> = (0..w * h).map(|i| px(w - 1 - i % w, i / w)).collect();
/// let orig = PixelBuffer::packed(&orig, w as u32, h as u32, PixelLayout::Luma8)?;
/// let mirror = PixelBuffer::packed(&mirror, w as u32, h as u32, PixelLayout::Luma8)?;
///
/// let exact = PdqOptions::default().dihedral(DihedralMode::Exact);
/// let variants = pdq_dihedral_with(&orig, &exact);
/// // The FlipY variant is the hash of the mirrored pixels (up to f32 rounding).
/// assert!(variants.get(Dihedral::FlipY).distance(&pdq(&mirror).hash) <= 2);
/// # Ok::<(), hashsieve::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DihedralMode {
    /// Sign flips and transposes of the original's DCT, bit-exact with the reference's
    /// `compute_dihedral` (pdqhash, python-threatexchange, HMA). Differs from the hash of the
    /// transformed pixels by a few bits typically, and by up to about 100 on fine textures.
    /// The default, so output stays comparable with the reference tools.
    #[default]
    Reference,
    /// The hashes of the rotated and flipped pixels themselves, within f32 rounding (a bit whose
    /// coefficient lies within rounding of the median can differ), computed from one pass over
    /// the image. [`Dihedral::Orig`] is bit-exact with [`pdq_with`].
    ///
    /// Bit for bit on every rotation and flip of the 67 corpus photos. On images whose DCT is
    /// mostly zero (flat areas, a pure linear gradient), the hash is decided by rounding noise,
    /// in either mode and in the reference alike, and a variant can then differ in many bits;
    /// the quality metric flags flat images, not gradients.
    Exact,
}

impl DihedralMode {
    /// `reference` or `exact`.
    pub const fn name(self) -> &'static str {
        match self {
            DihedralMode::Reference => "reference",
            DihedralMode::Exact => "exact",
        }
    }
}

display_by!(DihedralMode);

impl FromStr for DihedralMode {
    type Err = Error;

    /// Parses [`DihedralMode::name`], ignoring case.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnknownName`](crate::ErrorKind::UnknownName) for anything else.
    fn from_str(s: &str) -> Result<DihedralMode, Error> {
        let all = [DihedralMode::Reference, DihedralMode::Exact];
        parse_name(
            s,
            &all,
            DihedralMode::name,
            &[],
            "dihedral mode",
            "reference, exact",
        )
    }
}

/// The eight dihedral transforms (rotations and flips) of an image, in the reference's order.
///
/// Names follow the C++ reference: [`Dihedral::FlipX`] swaps top and bottom, [`Dihedral::FlipY`]
/// mirrors left and right, [`Dihedral::Rot90`] is 90° counter-clockwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Dihedral {
    /// The image as it is.
    Orig,
    /// Rotated 90° counter-clockwise.
    Rot90,
    /// Rotated 180°.
    Rot180,
    /// Rotated 270° counter-clockwise (90° clockwise).
    Rot270,
    /// Flipped top to bottom.
    FlipX,
    /// Mirrored left to right.
    FlipY,
    /// Transposed (upper-left and lower-right corners fixed).
    FlipPlus1,
    /// Anti-transposed (upper-right and lower-left corners fixed).
    FlipMinus1,
}

impl Dihedral {
    /// All eight, in the reference's order (the order of [`PdqDihedral::hashes`]).
    pub const ALL: [Dihedral; 8] = [
        Dihedral::Orig,
        Dihedral::Rot90,
        Dihedral::Rot180,
        Dihedral::Rot270,
        Dihedral::FlipX,
        Dihedral::FlipY,
        Dihedral::FlipPlus1,
        Dihedral::FlipMinus1,
    ];

    /// The short lowercase name: `orig`, `rot90`, `rot180`, `rot270`, `flipx`, `flipy`,
    /// `flipplus1`, `flipminus1`.
    pub const fn name(self) -> &'static str {
        match self {
            Dihedral::Orig => "orig",
            Dihedral::Rot90 => "rot90",
            Dihedral::Rot180 => "rot180",
            Dihedral::Rot270 => "rot270",
            Dihedral::FlipX => "flipx",
            Dihedral::FlipY => "flipy",
            Dihedral::FlipPlus1 => "flipplus1",
            Dihedral::FlipMinus1 => "flipminus1",
        }
    }

    /// The position in [`Dihedral::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

display_by!(Dihedral);

impl FromStr for Dihedral {
    type Err = Error;

    /// Parses a [`Dihedral::name`], ignoring case; also accepts the long forms of the
    /// reference tools (`original`, `rotate90`, `rotate180`, `rotate270`).
    ///
    /// ```
    /// use hashsieve::algo::pdq::Dihedral;
    /// assert_eq!("rot90".parse::<Dihedral>()?, Dihedral::Rot90);
    /// assert_eq!("FLIPPLUS1".parse::<Dihedral>()?, Dihedral::FlipPlus1);
    /// assert!("sideways".parse::<Dihedral>().is_err());
    /// # Ok::<(), hashsieve::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnknownName`](crate::ErrorKind::UnknownName) for anything else.
    fn from_str(s: &str) -> Result<Dihedral, Error> {
        let aliases = [
            ("original", "orig"),
            ("rotate90", "rot90"),
            ("rotate180", "rot180"),
            ("rotate270", "rot270"),
        ];
        let expected = "orig, rot90, rot180, rot270, flipx, flipy, flipplus1, flipminus1";
        parse_name(
            s,
            &Dihedral::ALL,
            Dihedral::name,
            &aliases,
            "dihedral transform",
            expected,
        )
    }
}

/// The PDQ hashes of all eight dihedral transforms of an image, from one pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PdqDihedral {
    /// The hashes in [`Dihedral::ALL`] order.
    pub hashes: [Hash256; 8],
    /// The quality (the same for all eight).
    pub quality: u8,
}

impl PdqDihedral {
    /// The hash of the image transformed by `t`.
    pub fn get(&self, t: Dihedral) -> Hash256 {
        self.hashes[t.index()]
    }

    /// The eight `(transform, hash)` pairs in [`Dihedral::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Dihedral, Hash256)> + '_ {
        Dihedral::ALL.into_iter().zip(self.hashes.iter().copied())
    }
}

/// Computes the PDQ hash and quality of `pixels` with default options.
///
/// ```
/// use hashsieve::algo::pdq::pdq;
/// use hashsieve::{PixelBuffer, PixelLayout};
/// let grey: Vec<u8> = (0..100 * 80).map(|i| ((i % 100) * 2 + (i / 100)) as u8).collect();
/// let h = pdq(&PixelBuffer::packed(&grey, 100, 80, PixelLayout::Luma8)?);
/// assert_eq!(h.hash.count_ones(), 128);
/// # Ok::<(), hashsieve::Error>(())
/// ```
pub fn pdq(pixels: &PixelBuffer<'_>) -> PdqHash {
    pdq_with(pixels, &PdqOptions::default())
}

/// Computes the PDQ hash and quality of `pixels`.
///
/// ```
/// use hashsieve::algo::pdq::{pdq_with, LumaMode, PdqOptions};
/// use hashsieve::{PixelBuffer, PixelLayout};
/// let rgb = vec![9u8; 4 * 4 * 3];
/// let px = PixelBuffer::packed(&rgb, 4, 4, PixelLayout::Rgb8)?;
/// // Smaller than 5x5: the zero hash, quality 0.
/// let h = pdq_with(&px, &PdqOptions::default().luma(LumaMode::Float32));
/// assert_eq!((h.hash.count_ones(), h.quality), (0, 0));
/// # Ok::<(), hashsieve::Error>(())
/// ```
pub fn pdq_with(pixels: &PixelBuffer<'_>, options: &PdqOptions) -> PdqHash {
    if too_small(pixels) {
        return PdqHash {
            hash: Hash256::default(),
            quality: 0,
        };
    }
    let a = fast::downsample(pixels, options.luma, true, Isa::detect());
    let quality = core::quality(&a);
    let hash = core::bits(&core::dct64_to_16(&a));
    PdqHash { hash, quality }
}

/// Computes the PDQ hashes of all eight dihedral transforms of `pixels` with default options.
///
/// The seven transformed hashes come from sign flips and transposes of the original's DCT, as
/// in the reference (`pdqDihedralHash256esFromFloatLuma`); they equal the hashes of the
/// transformed pixels only approximately (see ALGORITHM.md §2.11).
///
/// ```
/// use hashsieve::algo::pdq::{pdq_dihedral, Dihedral};
/// use hashsieve::{PixelBuffer, PixelLayout};
/// let grey: Vec<u8> = (0..90 * 70).map(|i| ((i * 13) % 256) as u8).collect();
/// let d = pdq_dihedral(&PixelBuffer::packed(&grey, 90, 70, PixelLayout::Luma8)?);
/// assert_ne!(d.get(Dihedral::Rot90), d.get(Dihedral::Orig));
/// # Ok::<(), hashsieve::Error>(())
/// ```
pub fn pdq_dihedral(pixels: &PixelBuffer<'_>) -> PdqDihedral {
    pdq_dihedral_with(pixels, &PdqOptions::default())
}

/// Computes the PDQ hashes of all eight dihedral transforms of `pixels`, as
/// [`PdqOptions::dihedral_mode`] says.
///
/// In [`DihedralMode::Reference`] one quirk of the reference is kept: for an image of exactly 64x64 pixels the single-hash
/// entry point ([`pdq_with`]) skips the blur, while the dihedral entry point blurs with
/// window 1, whose running sums can move the last bit of a value; [`PdqDihedral::get`] of
/// [`Dihedral::Orig`] can then differ from [`pdq_with`] in rare bits.
pub fn pdq_dihedral_with(pixels: &PixelBuffer<'_>, options: &PdqOptions) -> PdqDihedral {
    if too_small(pixels) {
        return PdqDihedral {
            hashes: [Hash256::default(); 8],
            quality: 0,
        };
    }
    let mut hashes = [Hash256::default(); 8];
    match options.dihedral {
        DihedralMode::Reference => {
            let a = fast::downsample(pixels, options.luma, false, Isa::detect());
            let b = core::dct64_to_16(&a);
            for (h, t) in hashes.iter_mut().zip(Dihedral::ALL) {
                *h = core::bits(&core::dihedral_dct(&b, t));
            }
            PdqDihedral {
                hashes,
                quality: core::quality(&a),
            }
        }
        DihedralMode::Exact => {
            let orig = pdq_with(pixels, options);
            hashes[0] = orig.hash;
            let downsamples = exact::downsamples(pixels, options.luma, &Dihedral::ALL[1..]);
            for (h, a) in hashes[1..].iter_mut().zip(&downsamples) {
                *h = core::bits(&core::dct64_to_16(a));
            }
            PdqDihedral {
                hashes,
                quality: orig.quality,
            }
        }
    }
}

fn too_small(pixels: &PixelBuffer<'_>) -> bool {
    pixels.width() < core::MIN_DIM || pixels.height() < core::MIN_DIM
}

/// Internal stages, exposed for the conformance tests and benchmarks. Not part of the stable
/// API: anything here may change in any release.
#[doc(hidden)]
pub mod internals {
    pub use super::core::{Mat16, Mat64};
    #[cfg(feature = "test-util")]
    use super::fast;
    use super::{core, reference, LumaMode};
    use crate::hash::Hash256;
    use crate::image::PixelBuffer;

    /// The 64x64 downsample by the fast path with the kernels of `isa` (feature `test-util`:
    /// see [`crate::arch`] on forcing an instruction set). `skip_64` as in the reference's
    /// single-hash entry point.
    ///
    /// # Panics
    ///
    /// Panics if the image is smaller than 5x5 or `isa` is not available on this CPU.
    #[cfg(feature = "test-util")]
    pub fn downsample_fast(
        px: &PixelBuffer<'_>,
        mode: LumaMode,
        skip_64: bool,
        isa: crate::arch::Isa,
    ) -> Mat64 {
        assert!(!super::too_small(px), "image smaller than 5x5");
        fast::downsample(px, mode, skip_64, isa)
    }

    /// The 64x64 downsample by the straightforward full-plane algorithm (the oracle).
    ///
    /// # Panics
    ///
    /// Panics if the image is smaller than 5x5.
    pub fn downsample_reference(px: &PixelBuffer<'_>, mode: LumaMode, skip_64: bool) -> Mat64 {
        assert!(!super::too_small(px), "image smaller than 5x5");
        reference::downsample(px, mode, skip_64)
    }

    /// The 64x64 downsample of an f32 luma plane by the straightforward algorithm.
    ///
    /// # Panics
    ///
    /// Panics if `plane.len() != w * h` or a side is shorter than 5.
    pub fn downsample_plane_reference(plane: Vec<f32>, w: usize, h: usize, skip_64: bool) -> Mat64 {
        assert!(plane.len() == w * h && w >= 5 && h >= 5, "bad plane shape");
        reference::downsample_plane(plane, w, h, skip_64)
    }

    /// The 16x64 DCT matrix.
    pub fn dct_matrix() -> [[f32; 64]; 16] {
        core::dct_matrix()
    }

    /// The 16x16 DCT of a 64x64 downsample.
    pub fn dct16(a: &Mat64) -> Mat16 {
        core::dct64_to_16(a)
    }

    /// The quality metric of a 64x64 downsample.
    pub fn quality(a: &Mat64) -> u8 {
        core::quality(a)
    }

    /// The hash bits of a DCT output (median threshold).
    pub fn bits(b: &Mat16) -> Hash256 {
        core::bits(b)
    }

    /// The luma of one RGB pixel.
    pub fn luma(mode: LumaMode, r: u8, g: u8, b: u8) -> f32 {
        core::luma(mode, r, g, b)
    }
}
