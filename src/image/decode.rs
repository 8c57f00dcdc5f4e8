//! Decoding image bytes with limits, into one owned 8-bit buffer (see the module docs of
//! [`crate::image`] for the pixel policy).

use std::io::{Cursor, Read};
use std::path::Path;

use ::image::{ColorType, ImageDecoder, ImageError, ImageReader};

use super::budget::{DecodeBudget, Reservation};
use super::cost;
use super::orient::{self, Transform};
use super::pillow;
use super::pixels::{PixelBuffer, PixelLayout};
use crate::error::{Error, Limit, Result};

/// The default [`Limits::max_alloc`]: 256 MiB.
pub const DEFAULT_MAX_ALLOC: u64 = 256 << 20;

/// Decoding limits: a decompression bomb or a huge header is a clean error, fast.
///
/// Every limit is checked against the header before any pixel buffer is allocated: the
/// dimensions, and the memory that the dimensions, pixel format and encoding imply (see
/// [`Limits::max_alloc`]). So a small file declaring a 100000 x 100000 image fails in
/// microseconds, without allocating.
///
/// The defaults ([`Limits::default`]) accept images up to 65535 pixels on a side and
/// 178,956,970 pixels in all (Pillow's own decompression-bomb threshold), and at most 256 MiB
/// of decoder memory ([`DEFAULT_MAX_ALLOC`]). The memory limit is the one that binds first for
/// large images: it admits an 8-bit RGB image of about 85 megapixels in PNG or BMP (64 MP with
/// alpha), 44 MP in TIFF, a baseline JPEG of about 55 MP, a progressive JPEG of about 35 MP
/// (4:2:0; 25 MP at 4:4:4), a lossy WebP of about 50 MP and a lossless one of about 30 MP
/// (WebP itself stops at 16383 x 16383), and a GIF of about 50 MP. A 24 MP camera photo needs
/// 110-250 MB. Raise it with [`Limits::max_alloc`](method@Limits::max_alloc) for larger trusted images.
///
/// ```
/// use hashsieve::image::Limits;
/// let tight = Limits::default().max_pixels(4_000_000).max_alloc(64 << 20);
/// assert_eq!(tight.max_pixels, 4_000_000);
/// let open = Limits::none();
/// assert_eq!(open.max_width, u32::MAX);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest accepted width in pixels.
    pub max_width: u32,
    /// Largest accepted height in pixels.
    pub max_height: u32,
    /// Largest accepted width x height.
    pub max_pixels: u64,
    /// Largest total allocation the decoder may make, in bytes: the decoded pixels at the
    /// decoder's native depth (4 bytes a pixel for RGBA, 8 for 16-bit RGBA), plus the decoder's
    /// working memory as the header implies it (row buffers, YUV planes, DCT coefficients of a
    /// progressive JPEG, an animation's canvas: an upper bound, worked out per format before
    /// anything is allocated), plus a rotated copy when [`Orientation::Apply`] turns the image
    /// by 90 degrees, plus (for [`decode_path`]) the file's bytes. [`decode_path`] also refuses
    /// files larger than this. The same number is what a decode reserves from its
    /// [`DecodeBudget`].
    pub max_alloc: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_width: 65_535,
            max_height: 65_535,
            max_pixels: 178_956_970,
            max_alloc: DEFAULT_MAX_ALLOC,
        }
    }
}

impl Limits {
    /// No limits at all: only for trusted input (a hostile file can then exhaust memory).
    pub const fn none() -> Limits {
        Limits {
            max_width: u32::MAX,
            max_height: u32::MAX,
            max_pixels: u64::MAX,
            max_alloc: u64::MAX,
        }
    }

    setters! {
        const -> Limits;
        /// Sets the largest accepted width.
        #[must_use]
        max_width(pixels: u32);

        /// Sets the largest accepted height.
        #[must_use]
        max_height(pixels: u32);

        /// Sets the largest accepted width x height.
        #[must_use]
        max_pixels(pixels: u64);

        /// Sets the largest total allocation, in bytes (see [`Limits::max_alloc`]).
        #[must_use]
        max_alloc(bytes: u64);
    }

    fn check_dimensions(&self, width: u32, height: u32) -> Result<()> {
        if width > self.max_width || height > self.max_height {
            return Err(limits(
                Limit::ImageSize,
                format!(
                    "{width}x{height} pixels is larger than the {}x{} limit",
                    self.max_width, self.max_height
                ),
            ));
        }
        let pixels = u64::from(width) * u64::from(height);
        if pixels > self.max_pixels {
            return Err(limits(
                Limit::ImageSize,
                format!(
                    "{width}x{height} = {pixels} pixels is more than the limit of {}",
                    self.max_pixels
                ),
            ));
        }
        Ok(())
    }

    fn to_image(&self) -> ::image::Limits {
        let mut l = ::image::Limits::no_limits();
        l.max_image_width = Some(self.max_width);
        l.max_image_height = Some(self.max_height);
        l.max_alloc = Some(self.max_alloc);
        l
    }
}

/// What to do with an EXIF orientation tag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Orientation {
    /// As the reference tools see the image (Pillow's `Image.open`), so hashes match theirs:
    /// the EXIF orientation of JPEG, PNG and WebP files is ignored, while a TIFF's Orientation
    /// tag is applied (Pillow turns a TIFF upright as it opens it). For every format but TIFF
    /// this is [`Orientation::Ignore`].
    #[default]
    Reference,
    /// Hash the pixels as stored, ignoring the tag in every format.
    Ignore,
    /// Rotate / flip the pixels as the tag says before hashing, as Pillow's
    /// `ImageOps.exif_transpose` does. JPEG, PNG (`eXIf` before the image data), WebP and TIFF
    /// tags are read.
    Apply,
}

/// How 16-bit samples become 8-bit ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SixteenBit {
    /// Exactly what Pillow's `convert('RGB')` gives, so hashes match the reference tools:
    /// single-channel 16-bit grey (Pillow mode `I;16`) is clipped, `min(v, 255)`, which turns
    /// most 16-bit grey images white; every other 16-bit layout (grey + alpha, RGB, RGBA) keeps
    /// the high byte, `v >> 8`.
    #[default]
    Pillow,
    /// The faithful conversion: `round(v / 257)` for every channel. Use it when matching the
    /// reference tools matters less than hashing what the image looks like.
    Scale,
}

/// Which JPEG decoder runs, and at what size. Other formats ignore it.
///
/// ```
/// use hashsieve::image::{DecodeMode, DecodeOptions};
/// use hashsieve::HashKind;
/// // Exact (the default): Pillow's pixels, so JPEG hashes equal the reference tools'.
/// assert_eq!(DecodeOptions::default().mode, DecodeMode::Exact);
/// // Fast for PDQ: decode at 1/2, 1/4 or 1/8 scale, keeping both sides >= 512 px.
/// let fast = DecodeMode::fast_for([HashKind::Pdq]);
/// assert_eq!(fast, DecodeMode::Fast { min_side: 512 });
/// assert_eq!(fast.jpeg_scale_denom(4000, 3000), 4); // decoded at 1000x750
/// assert_eq!(fast.jpeg_scale_denom(1920, 1080), 2); // decoded at 960x540
/// assert_eq!(fast.jpeg_scale_denom(800, 600), 1); // already small: full size
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeMode {
    /// JPEG decoded as Pillow decodes it (libjpeg-turbo's ISLOW IDCT, fancy upsampling, its
    /// colour conversion; CMYK as Pillow converts it), so every hash of a JPEG equals the
    /// reference tools' bit for bit. Needs the `jpeg-exact` feature (on by default); a build
    /// without it decodes as [`DecodeMode::PureRust`].
    #[default]
    Exact,
    /// JPEG decoded at 1/2, 1/4 or 1/8 scale in the DCT domain (libjpeg's `scale_denom`, as
    /// Pillow's `Image.draft` does): the smallest scale that keeps both sides at or above
    /// `min_side` pixels; an image whose shorter side is already under `min_side` (times 2)
    /// decodes at full size. Several times faster than [`DecodeMode::Exact`] on large photos;
    /// hashes differ from the exact ones by a few bits (see the README for the measured
    /// distances). [`DecodeMode::fast_for`] picks `min_side` for the hashes computed. A colour
    /// (YCbCr) JPEG it scales comes out grey: its luma as stored, the chroma read past but
    /// never transformed, since every hash here needs only luminance. Needs `jpeg-exact`; without it, as
    /// [`DecodeMode::PureRust`].
    Fast {
        /// The smallest width and height the scaled decode keeps.
        min_side: u32,
    },
    /// The `image` crate's pure-Rust JPEG decoder (zune-jpeg), at full size: no C code, but
    /// its pixels differ slightly from Pillow's, so JPEG hashes may differ from the
    /// reference's by a few bits.
    PureRust,
}

impl DecodeMode {
    /// The smallest side [`DecodeMode::Fast`] keeps for one hash kind: 512 for PDQ (the
    /// reference tool shrinks larger images to 512 px before hashing), four times the side of
    /// the grid pHash resizes to (128; 256 for the 256-bit form), 64 for dHash and aHash of
    /// either size, and 256 for wHash (its Haar transform runs on the largest power of two under
    /// the shorter side). Digests read the file's bytes and need no pixels (0).
    pub const fn fast_min_side(kind: crate::HashKind) -> u32 {
        use crate::HashKind as K;
        match kind {
            K::Pdq => 512,
            K::PHash => 128,
            K::PHash256 => 256,
            K::DHash | K::AHash | K::DHash256 | K::AHash256 => 64,
            K::WHash | K::WHash256 => 256,
            K::Md5 | K::Sha1 | K::Sha256 => 0,
        }
    }

    /// [`DecodeMode::Fast`] with the largest [`DecodeMode::fast_min_side`] of `kinds` (a
    /// `min_side` of 0, the smallest scale, when `kinds` is empty or only digests).
    pub fn fast_for(kinds: impl IntoIterator<Item = crate::HashKind>) -> DecodeMode {
        let min_side = kinds
            .into_iter()
            .map(DecodeMode::fast_min_side)
            .max()
            .unwrap_or(0);
        DecodeMode::Fast { min_side }
    }

    /// The JPEG scale denominator (1, 2, 4 or 8) this mode decodes a `width` x `height` JPEG
    /// at: 1 unless [`DecodeMode::Fast`], else the largest that keeps both sides (rounded up,
    /// as libjpeg rounds) at or above `min_side`.
    pub fn jpeg_scale_denom(self, width: u32, height: u32) -> u8 {
        let DecodeMode::Fast { min_side } = self else {
            return 1;
        };
        let short = width.min(height);
        [8u8, 4, 2]
            .into_iter()
            .find(|&d| short.div_ceil(u32::from(d)) >= min_side)
            .unwrap_or(1)
    }

    /// Whether this mode uses libjpeg (built with the `jpeg-exact` feature): every mode but
    /// [`DecodeMode::PureRust`].
    #[cfg(feature = "jpeg-exact")]
    const fn uses_libjpeg(self) -> bool {
        !matches!(self, DecodeMode::PureRust)
    }
}

/// Options for [`decode`].
///
/// [`DecodeOptions::mode`] picks the JPEG decoder: [`DecodeMode::Exact`] (the default) gives
/// Pillow's libjpeg-turbo pixels, so JPEG hashes equal the reference tools' bit for bit;
/// [`DecodeMode::Fast`] decodes at 1/2, 1/4 or 1/8 scale in the DCT domain for speed (a few bits
/// off; measured distances in the README's "JPEG decoding"); [`DecodeMode::PureRust`] is the
/// `image` crate's decoder. Other formats decode the same in every mode.
///
/// ```
/// use hashsieve::image::{DecodeOptions, Limits, Orientation, SixteenBit};
/// let opts = DecodeOptions::default()
///     .limits(Limits::default().max_pixels(50_000_000))
///     .orientation(Orientation::Apply)
///     .sixteen_bit(SixteenBit::Scale);
/// assert_eq!(opts.orientation, Orientation::Apply);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// Size and allocation limits.
    pub limits: Limits,
    /// EXIF orientation policy.
    pub orientation: Orientation,
    /// 16-bit to 8-bit policy.
    pub sixteen_bit: SixteenBit,
    /// The JPEG decoder and scale ([`DecodeMode::Exact`] by default).
    pub mode: DecodeMode,
    /// The memory budget this decode shares with others running at the same time; by default
    /// [`DecodeBudget::shared`], one budget for the whole process.
    pub budget: DecodeBudget,
    /// Whether the decoded image keeps the bytes of its pixels reserved in [`Self::budget`]
    /// until it is dropped (`false` by default: the reservation ends when [`decode`] returns).
    ///
    /// Turn it on where each thread decodes one image, hashes it and drops it before it decodes
    /// the next (as [`Hasher`](crate::algo::Hasher) does): then images being hashed count
    /// against the budget too, and memory stays bounded whatever the thread count. Do not turn
    /// it on where decoded images are collected, or where the holder waits for work done on
    /// other threads before it drops the image (a rayon parallel iterator included): a thread
    /// waiting for budget could be the one that work needs, and neither would go on. (A thread
    /// that itself holds a reservation never waits.)
    pub keep_reserved: bool,
    /// Whether only Pillow's grey (`convert('L')`) of the image is needed (`false` by default).
    ///
    /// A hint: a colour JPEG is then decoded straight to that grey ([`PixelLayout::Luma8`]),
    /// without its RGB image, where this crate's SIMD kernels run libjpeg's loops (x86-64 with
    /// AVX2, without the `jpeg-simd` feature); everything else decodes as usual. The imagehash
    /// family (pHash, dHash, aHash, wHash) converts to exactly this grey first, so its hashes
    /// are the same either way; PDQ's luma is not this grey, so leave it off for PDQ.
    /// [`Hasher`](crate::algo::Hasher) turns it on when no requested kind needs colour.
    pub grey: bool,
}

impl DecodeOptions {
    setters! {
        -> DecodeOptions;
        /// Sets the size and allocation limits.
        #[must_use]
        limits(limits: Limits);

        /// Sets the EXIF orientation policy.
        #[must_use]
        orientation(orientation: Orientation);

        /// Sets the 16-bit to 8-bit policy.
        #[must_use]
        sixteen_bit(policy: SixteenBit);

        /// Sets the JPEG decoder and scale (see [`DecodeMode`]).
        #[must_use]
        mode(mode: DecodeMode);

        /// Sets the memory budget shared with other decodes (see [`DecodeBudget`]).
        #[must_use]
        budget(budget: DecodeBudget);

        /// Sets whether the decoded image keeps its pixels' bytes reserved until it is dropped (see
        /// [`DecodeOptions::keep_reserved`]).
        #[must_use]
        keep_reserved(keep: bool);

        /// Sets whether only the image's grey is needed (see [`DecodeOptions::grey`]).
        #[must_use]
        grey(grey: bool);
    }
}

/// The container format an image was decoded from (recognised from the bytes, never from a
/// file name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImageFormat {
    /// JPEG (baseline and progressive; grey, YCbCr, CMYK and YCCK).
    Jpeg,
    /// PNG (first frame of an APNG).
    Png,
    /// GIF (first frame of an animation).
    Gif,
    /// WebP, lossy or lossless (first frame of an animation).
    WebP,
    /// Windows bitmap.
    Bmp,
    /// TIFF (first page).
    Tiff,
}

impl ImageFormat {
    /// The usual short name, e.g. `"JPEG"` (Pillow's `Image.format` spelling).
    pub const fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Png => "PNG",
            ImageFormat::Gif => "GIF",
            ImageFormat::WebP => "WEBP",
            ImageFormat::Bmp => "BMP",
            ImageFormat::Tiff => "TIFF",
        }
    }

    fn from_image(f: ::image::ImageFormat) -> Option<ImageFormat> {
        use ::image::ImageFormat as F;
        Some(match f {
            F::Jpeg => ImageFormat::Jpeg,
            F::Png => ImageFormat::Png,
            F::Gif => ImageFormat::Gif,
            F::WebP => ImageFormat::WebP,
            F::Bmp => ImageFormat::Bmp,
            F::Tiff => ImageFormat::Tiff,
            _ => return None,
        })
    }

    fn to_image(self) -> ::image::ImageFormat {
        use ::image::ImageFormat as F;
        match self {
            ImageFormat::Jpeg => F::Jpeg,
            ImageFormat::Png => F::Png,
            ImageFormat::Gif => F::Gif,
            ImageFormat::WebP => F::WebP,
            ImageFormat::Bmp => F::Bmp,
            ImageFormat::Tiff => F::Tiff,
        }
    }
}

display_by!(ImageFormat);

/// A decoded image: one owned buffer of 8-bit pixels, [`PixelLayout::Luma8`] for grey images
/// and [`PixelLayout::Rgb8`] for everything else.
///
/// The library keeps nothing once this value is dropped; drop it as soon as the hashes are
/// computed. (A clone does not count against the budget even when the original does; see
/// [`DecodeOptions::keep_reserved`].)
#[derive(Debug)]
pub struct DecodedImage {
    data: Vec<u8>,
    width: u32,
    height: u32,
    layout: PixelLayout,
    format: ImageFormat,
    /// The pixels' bytes, while they count against a [`DecodeBudget`].
    reserved: Option<Reservation>,
}

impl Clone for DecodedImage {
    fn clone(&self) -> DecodedImage {
        DecodedImage {
            data: self.data.clone(),
            width: self.width,
            height: self.height,
            layout: self.layout,
            format: self.format,
            reserved: None,
        }
    }
}

impl DecodedImage {
    /// The pixels, for hashing.
    ///
    /// ```
    /// use hashsieve::image::{decode, DecodeOptions};
    /// # let png: &[u8] = &[
    /// #     0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
    /// #     0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00,
    /// #     0x00, 0x3a, 0x7e, 0x9b, 0x55, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78,
    /// #     0x01, 0x01, 0x02, 0x00, 0xfd, 0xff, 0x00, 0x80, 0x00, 0x82, 0x00, 0x81, 0xc3, 0x6e,
    /// #     0x25, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    /// # ];
    /// // `png` holds a 1x1 grey PNG.
    /// let img = decode(png, &DecodeOptions::default())?;
    /// let px = img.pixels();
    /// assert_eq!((px.width(), px.height()), (1, 1));
    /// assert_eq!(px.row(0), &[0x80]);
    /// # Ok::<(), hashsieve::Error>(())
    /// ```
    pub fn pixels(&self) -> PixelBuffer<'_> {
        // The shape is checked when the image is built: both dimensions are non-zero and the
        // buffer holds exactly width x height pixels.
        PixelBuffer::packed(&self.data, self.width, self.height, self.layout)
            .expect("decoded image has a valid shape")
    }

    /// Width in pixels (after orientation, when applied).
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels (after orientation, when applied).
    pub fn height(&self) -> u32 {
        self.height
    }

    /// [`PixelLayout::Luma8`] for grey images, [`PixelLayout::Rgb8`] otherwise.
    pub fn layout(&self) -> PixelLayout {
        self.layout
    }

    /// The format the bytes were in.
    pub fn format(&self) -> ImageFormat {
        self.format
    }

    /// Gives up the pixel buffer (tightly packed rows in [`DecodedImage::layout`]); it no
    /// longer counts against the budget.
    pub fn into_vec(self) -> Vec<u8> {
        self.data
    }

    /// Whether the pixels still count against the decode budget (see
    /// [`DecodeOptions::keep_reserved`]).
    pub fn is_reserved(&self) -> bool {
        self.reserved.is_some()
    }
}

/// A decode limit was hit; the message says how to get past it.
fn limits(which: Limit, msg: String) -> Error {
    Error::limit(
        which,
        format!("{msg}; raise the decode limits if the input is trusted"),
    )
}

fn decode_err(msg: impl Into<String>) -> Error {
    Error::decode(msg, None)
}

/// Maps the `image` crate's error. Its messages name the format and what is wrong, never pixel
/// bytes.
fn map_image_error(e: ImageError) -> Error {
    match e {
        ImageError::Limits(l) => {
            let which = match l.kind() {
                ::image::error::LimitErrorKind::DimensionError => Limit::ImageSize,
                _ => Limit::Memory,
            };
            limits(which, l.to_string())
        }
        ImageError::IoError(io) => Error::decode(
            format!("truncated or unreadable data ({io})"),
            Some(Box::new(io)),
        ),
        // Not `Unsupported`: the decoders also report corrupt headers (a zero width) this way.
        other => Error::decode(other.to_string(), Some(Box::new(other))),
    }
}

/// Recognises the format from the first bytes.
fn sniff(bytes: &[u8]) -> Result<ImageFormat> {
    if bytes.is_empty() {
        return Err(decode_err("empty input"));
    }
    ::image::guess_format(bytes)
        .ok()
        .and_then(ImageFormat::from_image)
        .ok_or_else(|| {
            Error::unsupported(
                "unrecognised image format (expected JPEG, PNG, GIF, WebP, BMP or TIFF)",
            )
        })
}

/// The dimensions in a BMP header (core or info header), if it is long enough to hold them.
fn bmp_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let header = u32::from_le_bytes(bytes.get(14..18)?.try_into().ok()?);
    if header == 12 {
        let w = u16::from_le_bytes(bytes.get(18..20)?.try_into().ok()?);
        let h = u16::from_le_bytes(bytes.get(20..22)?.try_into().ok()?);
        return Some((u32::from(w), u32::from(h)));
    }
    let w = i32::from_le_bytes(bytes.get(18..22)?.try_into().ok()?);
    let h = i32::from_le_bytes(bytes.get(22..26)?.try_into().ok()?);
    Some((w.unsigned_abs(), h.unsigned_abs()))
}

/// Decodes image bytes (JPEG, PNG, GIF, WebP, BMP or TIFF, recognised from the content) into
/// 8-bit grey or RGB pixels, following the pixel policy of [`crate::image`].
///
/// The header is read first and checked against `opts.limits`, including the memory it implies
/// (see [`Limits::max_alloc`]); that memory is then reserved from `opts.budget`, waiting while
/// other decodes have spent it (see [`DecodeBudget`]). Only then is one buffer of the decoder's
/// native size allocated, converted to 8 bits in place, and (with [`Orientation::Apply`])
/// turned upright.
///
/// ```
/// use hashsieve::image::{decode, DecodeOptions, Limits};
/// use hashsieve::{ErrorKind, Limit};
/// // A PNG header declaring 100000 x 100000 pixels: rejected before anything is allocated.
/// # let mut bomb = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\x01\x86\xa0\0\x01\x86\xa0\x08\x02\0\0\0".to_vec();
/// # bomb.extend_from_slice(&[0x27, 0x30, 0x9c, 0x9f]);
/// let err = decode(&bomb, &DecodeOptions::default()).unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::Limit { which: Limit::ImageSize, .. }));
/// let err = decode(b"", &DecodeOptions::default()).unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::Decode { .. }));
/// let err = decode(b"hello", &DecodeOptions::default()).unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::Unsupported(_)));
/// ```
///
/// # Errors
///
/// - [`ErrorKind::Limit`] when the declared size breaks `opts.limits`
///   ([`Limit::ImageSize`]), or the decoder would need more memory than [`Limits::max_alloc`]
///   ([`Limit::Memory`]).
/// - [`ErrorKind::Unsupported`] for bytes that are not in any format decoded here.
/// - [`ErrorKind::Decode`] for empty input, zero dimensions, truncated or corrupt data, or a
///   variant of a format the decoder does not support (a palette TIFF); the decoder's error,
///   where there is one, is the [`source`](std::error::Error::source).
pub fn decode(bytes: &[u8], opts: &DecodeOptions) -> Result<DecodedImage> {
    decode_counting(bytes, opts, 0)
}

/// [`decode`], counting `input` bytes that the caller allocated for `bytes` against the limits
/// and the budget.
fn decode_counting(bytes: &[u8], opts: &DecodeOptions, input: u64) -> Result<DecodedImage> {
    let format = sniff(bytes)?;
    let lim = &opts.limits;
    if format == ImageFormat::Bmp {
        // The BMP decoder refuses sides over 65535 with a format error of its own: check our
        // limits first so a huge header is reported as what it is.
        if let Some((w, h)) = bmp_dimensions(bytes) {
            lim.check_dimensions(w, h)?;
        }
    }

    // While the header is read, only metadata and a copy of the input can be allocated (a PNG's
    // ICC profile is inflated then, before the dimensions are known): hold the metadata to
    // `METADATA_CAP` (the PNG decoder keeps that limit for all its metadata), and reserve it
    // from the budget with the copy before reading the header.
    let metadata = lim.max_alloc.min(cost::METADATA_CAP);
    let open = || {
        let mut reader = ImageReader::with_format(Cursor::new(bytes), format.to_image());
        let mut header_limits = lim.to_image();
        header_limits.max_alloc = Some(metadata);
        reader.limits(header_limits);
        reader.into_decoder().map_err(map_image_error)
    };
    if format == ImageFormat::Tiff && cost::tiff_values_in_file(bytes) == Some(false) {
        return Err(decode_err(
            "truncated or corrupt TIFF: a tag declares more values than the file holds",
        ));
    }
    let header_extra = if format == ImageFormat::Tiff {
        cost::tiff_header_bound(bytes)
    } else {
        metadata
    };
    let header_need = input
        .saturating_add(bytes.len() as u64)
        .saturating_add(header_extra)
        .saturating_add(cost::FIXED)
        .min(lim.max_alloc);
    let mut reservation = opts.budget.reserve(header_need, lim.max_alloc)?;
    let mut decoder = open()?;

    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(decode_err(format!(
            "{format} image has a zero dimension ({width}x{height})"
        )));
    }
    lim.check_dimensions(width, height)?;
    if format == ImageFormat::Jpeg && !pillow::jpeg_is_complete(bytes) {
        return Err(decode_err(
            "truncated JPEG: the data ends before the end-of-image marker",
        ));
    }

    let color = decoder.color_type();
    let layout = match color {
        ColorType::L8 | ColorType::La8 | ColorType::L16 | ColorType::La16 => PixelLayout::Luma8,
        _ => PixelLayout::Rgb8,
    };
    let pixels = u64::from(width) * u64::from(height);
    let out_bytes = pixels * layout.bytes_per_pixel() as u64;

    let apply = match opts.orientation {
        Orientation::Reference => format == ImageFormat::Tiff,
        Orientation::Ignore => false,
        Orientation::Apply => true,
    };
    let transform = if apply {
        Transform::from_image(decoder.orientation().map_err(map_image_error)?)
    } else {
        Transform::Identity
    };

    // One buffer at the decoder's native depth, plus a rotated copy of the 8-bit result: what
    // we allocate ourselves, and what the `image` crate's own accounting must leave room for.
    let native = decoder.total_bytes();
    let extra = if transform.needs_copy() { out_bytes } else { 0 };
    let ours = native.saturating_add(extra);
    // Everything the decode will have live at its peak, from the header alone.
    let need = cost::decode_peak(&cost::Header {
        format,
        bytes,
        width,
        height,
        native,
        original: decoder.original_color_type(),
    })
    .saturating_add(extra)
    .saturating_add(input);
    if need > lim.max_alloc {
        return Err(limits(
            Limit::Memory,
            format!(
            "decoding {width}x{height} {format} pixels needs about {need} bytes, more than the \
             limit of {}",
            lim.max_alloc
        ),
        ));
    }
    if !reservation.resize_without_waiting(need) {
        // Waiting while holding part of the budget could wait forever (every thread holding a
        // part, none able to grow): give everything back, the header's memory too, wait for the
        // whole need, and read the header again.
        drop(decoder);
        drop(reservation);
        reservation = opts.budget.reserve(need, lim.max_alloc)?;
        decoder = open()?;
    }
    #[cfg(feature = "jpeg-exact")]
    if format == ImageFormat::Jpeg && opts.mode.uses_libjpeg() {
        drop(decoder);
        let denom = opts.mode.jpeg_scale_denom(width, height);
        let colour = match (denom, opts.grey) {
            // Scaled: fast mode, whose colour JPEGs come out as their luma (`DecodeMode::Fast`).
            (2.., _) => super::jpeg::Colour::Luma,
            (_, true) => super::jpeg::Colour::PillowGrey,
            (_, false) => super::jpeg::Colour::Rgb,
        };
        // libjpeg's whole-image buffers (progressive coefficients) get what the pixels and the
        // input leave of the limit.
        let libjpeg_max = lim
            .max_alloc
            .saturating_sub(out_bytes)
            .saturating_sub(extra)
            .saturating_sub(input.saturating_add(bytes.len() as u64));
        let out = super::jpeg::decode(bytes, denom, libjpeg_max, colour)?;
        return Ok(finish(
            out.data,
            (out.width, out.height),
            out.layout,
            format,
            transform,
            reservation,
            opts,
        ));
    }
    let mut rest = lim.to_image();
    rest.max_alloc = Some(lim.max_alloc.saturating_sub(ours));
    decoder.set_limits(rest).map_err(map_image_error)?;

    let native = usize::try_from(native)
        .map_err(|_| limits(Limit::Memory, "image does not fit in memory".into()))?;
    let mut buf = zeroed(native).ok_or_else(|| {
        limits(
            Limit::Memory,
            format!("cannot allocate {native} bytes for {width}x{height} pixels"),
        )
    })?;
    decoder.read_image(&mut buf).map_err(map_image_error)?;

    if format == ImageFormat::Gif && color == ColorType::Rgba8 {
        if let Some(frame) = pillow::first_frame(bytes) {
            pillow::fill_outside(&mut buf, width, height, &frame);
        }
    }

    // A 16-bit grey PNG with a tRNS chunk reaches us as grey + alpha, but Pillow still opens it
    // as single-channel `I;16` (and clips): look at the IHDR's bit depth and colour type.
    let png_grey16 = format == ImageFormat::Png && bytes.get(24..26) == Some(&[16, 0][..]);
    to_eight_bit(
        &mut buf,
        color,
        pixels as usize,
        opts.sixteen_bit,
        png_grey16,
    )?;
    debug_assert_eq!(buf.len() as u64, out_bytes);
    if format == ImageFormat::Bmp && layout == PixelLayout::Rgb8 {
        if let Some(bits) = pillow::bmp16_layout(bytes) {
            pillow::bmp16_truncate(&mut buf, bits);
        }
    }

    Ok(finish(
        buf,
        (width, height),
        layout,
        format,
        transform,
        reservation,
        opts,
    ))
}

/// Turns decoded 8-bit pixels upright (when asked) and wraps them, keeping or ending the
/// reservation as `opts` says.
fn finish(
    mut buf: Vec<u8>,
    (width, height): (u32, u32),
    layout: PixelLayout,
    format: ImageFormat,
    transform: Transform,
    mut reservation: Reservation,
    opts: &DecodeOptions,
) -> DecodedImage {
    let (width, height) =
        orient::apply(transform, &mut buf, width, height, layout.bytes_per_pixel());
    let reserved = if opts.keep_reserved {
        reservation.shrink_to(buf.len() as u64);
        Some(reservation)
    } else {
        None
    };
    DecodedImage {
        data: buf,
        width,
        height,
        layout,
        format,
        reserved,
    }
}

/// `n` zero bytes, or `None` if the allocator has no room.
///
/// Zeroed memory comes straight from the operating system for large sizes, untouched, so a
/// file that declares a large image and then ends early costs only the pages its data reached.
pub(super) fn zeroed(n: usize) -> Option<Vec<u8>> {
    if n == 0 {
        return Some(Vec::new());
    }
    let layout = std::alloc::Layout::array::<u8>(n).ok()?;
    // SAFETY: `layout` has a non-zero size (n > 0), as `alloc_zeroed` requires.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` was just allocated by the global allocator with the layout of `[u8; n]`,
    // which is the layout of a `Vec<u8>` of capacity `n`; all `n` bytes are initialised
    // (zeroed), so a length of `n` is valid; nothing else owns `ptr`.
    Some(unsafe { Vec::from_raw_parts(ptr, n, n) })
}

/// Reads and decodes an image file; the format comes from the content, not the file name.
///
/// Only regular files (or symbolic links to them) are read: a FIFO, socket or device is refused
/// before it is opened, so a path that would block forever (a FIFO with no writer) or never end
/// (`/dev/zero`) is an error at once. The file's bytes count against [`Limits::max_alloc`]
/// and the budget together with the decoder's memory.
///
/// ```no_run
/// use hashsieve::image::{decode_path, DecodeOptions};
/// let img = decode_path("photo.jpg".as_ref(), &DecodeOptions::default())?;
/// println!("{} {}x{}", img.format(), img.width(), img.height());
/// # Ok::<(), hashsieve::Error>(())
/// ```
///
/// # Errors
///
/// As [`decode`] (with the path attached), plus [`ErrorKind::Io`] when the file cannot be read
/// or is not a regular file, and [`ErrorKind::Limit`] ([`Limit::Input`]) when it is larger
/// than [`Limits::max_alloc`].
pub fn decode_path(path: &Path, opts: &DecodeOptions) -> Result<DecodedImage> {
    let with_path = |e: Error| e.with_path(path);
    let file = crate::fs::open_regular(path).map_err(|e| with_path(e.into()))?;
    let meta = file.metadata().map_err(|e| with_path(e.into()))?;
    let cap = opts.limits.max_alloc;
    if meta.len() > cap {
        return Err(with_path(too_large(cap)));
    }
    read_and_decode(file, meta.len(), opts).map_err(with_path)
}

/// Reads an image from `reader` to its end and decodes it; the format comes from the content.
///
/// For an image that is not in a file: standard input, a socket, an archive member. At most
/// [`Limits::max_alloc`] bytes are read (one more tells that the input is larger), and they
/// count against the limit and the budget together with the decoder's memory, as in
/// [`decode_path`].
///
/// ```
/// use hashsieve::image::{decode_reader, DecodeOptions};
/// let not_an_image: &[u8] = b"hello";
/// assert!(decode_reader(not_an_image, &DecodeOptions::default()).is_err());
/// ```
///
/// # Errors
///
/// As [`decode`], plus [`ErrorKind::Io`] when reading fails and
/// [`ErrorKind::Limit`] ([`Limit::Input`]) when the input is larger than
/// [`Limits::max_alloc`].
pub fn decode_reader<R: Read>(reader: R, opts: &DecodeOptions) -> Result<DecodedImage> {
    read_and_decode(reader, 0, opts)
}

/// Reads at most `max_alloc` bytes (reserving `size_hint` up front, capped) and decodes them.
fn read_and_decode(
    reader: impl Read,
    size_hint: u64,
    opts: &DecodeOptions,
) -> Result<DecodedImage> {
    let cap = opts.limits.max_alloc;
    let limit = usize::try_from(cap.saturating_add(1)).unwrap_or(usize::MAX);
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(usize::try_from(size_hint.min(cap)).unwrap_or(0))
        .map_err(|_| too_large(cap))?;
    // Grown by hand, at most doubling and never past the limit, so the buffer itself never
    // holds more than the limit allows (`read_to_end` may double it past the limit).
    let mut reader = reader.take(limit as u64);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        if bytes.capacity() - bytes.len() < n {
            let grow = bytes.len().max(chunk.len()).min(limit - bytes.len()).max(n);
            bytes.try_reserve_exact(grow).map_err(|_| too_large(cap))?;
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
    if bytes.len() as u64 > cap {
        return Err(too_large(cap));
    }
    decode_counting(&bytes, opts, bytes.capacity() as u64)
}

fn too_large(cap: u64) -> Error {
    limits(
        Limit::Input,
        format!("the file is larger than the allocation limit of {cap} bytes"),
    )
}

/// Converts `n` pixels of `color` in `buf` to 8-bit grey or RGB in place, then shrinks `buf`.
///
/// Alpha is dropped, never composited (as Pillow's `convert('RGB')` does). `grey16_source` says
/// the file stored single-channel 16-bit grey (alpha, if any, came from a tRNS chunk).
fn to_eight_bit(
    buf: &mut Vec<u8>,
    color: ColorType,
    n: usize,
    sixteen: SixteenBit,
    grey16_source: bool,
) -> Result<()> {
    let hi = |v: u16| (v >> 8) as u8;
    let scale = |v: u16| ((u32::from(v) + 128) / 257) as u8;
    let clip = |v: u16| v.min(255) as u8;
    let u16_at = |b: &[u8], i: usize| u16::from_ne_bytes([b[2 * i], b[2 * i + 1]]);
    let f32_at = |b: &[u8], i: usize| {
        f32::from_ne_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
    };
    let unit = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    match (color, sixteen) {
        (ColorType::L8, _) | (ColorType::Rgb8, _) => {}
        (ColorType::La8, _) => compact::<2, 1>(buf, n, |s, d| d[0] = s[0]),
        (ColorType::Rgba8, _) => compact::<4, 3>(buf, n, |s, d| d.copy_from_slice(&s[..3])),
        (ColorType::L16, SixteenBit::Pillow) => {
            compact::<2, 1>(buf, n, |s, d| d[0] = clip(u16_at(s, 0)))
        }
        (ColorType::L16, SixteenBit::Scale) => {
            compact::<2, 1>(buf, n, |s, d| d[0] = scale(u16_at(s, 0)))
        }
        (ColorType::La16, SixteenBit::Pillow) if grey16_source => {
            compact::<4, 1>(buf, n, |s, d| d[0] = clip(u16_at(s, 0)))
        }
        (ColorType::La16, SixteenBit::Pillow) => {
            compact::<4, 1>(buf, n, |s, d| d[0] = hi(u16_at(s, 0)))
        }
        (ColorType::La16, SixteenBit::Scale) => {
            compact::<4, 1>(buf, n, |s, d| d[0] = scale(u16_at(s, 0)))
        }
        (ColorType::Rgb16, p) => compact::<6, 3>(buf, n, |s, d| {
            for (c, o) in d.iter_mut().enumerate() {
                *o = if p == SixteenBit::Scale {
                    scale(u16_at(s, c))
                } else {
                    hi(u16_at(s, c))
                };
            }
        }),
        (ColorType::Rgba16, p) => compact::<8, 3>(buf, n, |s, d| {
            for (c, o) in d.iter_mut().enumerate() {
                *o = if p == SixteenBit::Scale {
                    scale(u16_at(s, c))
                } else {
                    hi(u16_at(s, c))
                };
            }
        }),
        (ColorType::Rgb32F, _) => compact::<12, 3>(buf, n, |s, d| {
            for (c, o) in d.iter_mut().enumerate() {
                *o = unit(f32_at(s, c));
            }
        }),
        (ColorType::Rgba32F, _) => compact::<16, 3>(buf, n, |s, d| {
            for (c, o) in d.iter_mut().enumerate() {
                *o = unit(f32_at(s, c));
            }
        }),
        (other, _) => return Err(decode_err(format!("unsupported pixel type {other:?}"))),
    }
    Ok(())
}

/// Rewrites `n` pixels of `S` bytes as pixels of `D <= S` bytes, front to back in the same
/// buffer (pixel `i` is written at `D * i`, never past the start of unread pixel `i + 1`).
fn compact<const S: usize, const D: usize>(
    buf: &mut Vec<u8>,
    n: usize,
    f: impl Fn(&[u8; S], &mut [u8; D]),
) {
    debug_assert!(D <= S && buf.len() == n * S);
    let mut src = [0u8; S];
    let mut dst = [0u8; D];
    for i in 0..n {
        src.copy_from_slice(&buf[i * S..i * S + S]);
        f(&src, &mut dst);
        buf[i * D..i * D + D].copy_from_slice(&dst);
    }
    buf.truncate(n * D);
    buf.shrink_to_fit();
}
