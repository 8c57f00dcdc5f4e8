//! Everyday image edits, applied in memory, for measuring how robust each hash is.
//!
//! A [`Transform`] maps decoded RGB pixels to edited RGB pixels. Nothing is written to disk:
//! JPEG re-encoding, for instance, encodes into and decodes from a memory buffer.
//!
//! # Fidelity to the reference corpus
//!
//! The project's reference corpus (`tests/data/corpus`, made with Pillow 13) holds edited
//! variants of benign photos. Where it holds an edit, the transform here has the same
//! [`name`](Transform::name) and reproduces Pillow's semantics:
//!
//! | edit | Pillow call in the corpus | here |
//! |---|---|---|
//! | `rotate_90ccw`, `rotate_180`, `rotate_270ccw`, `flip_horizontal` | `transpose(...)` | pixel-exact |
//! | `crop_5each`, `crop_10each` | `crop`, each side `round(side * p / 100)` (half to even) | pixel-exact |
//! | `pad_black_10each` | `ImageOps.expand(fill=0)`, same rounding | pixel-exact |
//! | `grayscale` | `convert("L")` (stored as L; hashed as RGB `(l, l, l)`) | pixel-exact |
//! | `brightness_130` | `ImageEnhance.Brightness(...).enhance(1.3)`, a blend with black | pixel-exact |
//! | `resize_50`, `resize_25` | `resize(round(side * p / 100), LANCZOS)` | pixel-exact (the crate's Pillow resampler) |
//! | `blur_gauss_r2` | `filter(GaussianBlur(2))`: three extended box blurs | pixel-exact |
//! | `jpeg_q70`, `jpeg_q30` | `save(JPEG, quality=q)` (libjpeg-turbo, 4:2:0) | approximate: the `image` crate's encoder (4:4:4) and decoder |
//! | `overlay_box10` | a white box (40% x 25% of the sides, bottom right, 3% margins) with two lines of black text | approximate: the same box; text-like glyph blocks instead of a font |
//!
//! The other edits follow Pillow too where Pillow has them: [`Transform::Contrast`] is
//! `ImageEnhance.Contrast`, [`Transform::Rotate`] is `rotate(angle, BILINEAR)` (same size,
//! black corners), [`Transform::Blur`] is `GaussianBlur(radius)` for any radius and
//! [`Transform::FlipVertical`], [`Transform::Transpose`] and [`Transform::Transverse`] are the
//! matching `transpose` calls. [`Transform::Gamma`] and [`Transform::Noise`] have no Pillow
//! counterpart and are defined in their own docs.
//!
//! # Example
//!
//! ```
//! use hashsieve::eval::transform::{standard_set, Transform};
//!
//! let photo = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
//! let edit: Transform = "resize_50+jpeg_q70".parse()?;
//! let edited = edit.apply(&photo, 7)?;
//! assert_eq!(edited.dimensions(), (32, 24));
//! assert_eq!(edit.category(), "combo");
//! assert!(standard_set().len() > 30);
//! # Ok::<(), hashsieve::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use ::image::RgbImage;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

use crate::algo::imagehash::{reduce, ResizeOrder};
use crate::algo::pdq::Dihedral;
use crate::error::{Error, ErrorKind, Result};
use crate::image::{PixelBuffer, PixelLayout};

/// One image edit, or a sequence of them.
///
/// Parameters are integers so that every transform has one exact, stable
/// [`name`](Transform::name) (and [`Display`](fmt::Display) form) that [`FromStr`] parses back.
/// Values outside a variant's documented range make [`Transform::apply`] (and parsing) fail with
/// [`ErrorKind::InvalidArgument`].
///
/// ```
/// use hashsieve::eval::transform::Transform;
/// let t = Transform::Crop { percent: 5 };
/// assert_eq!(t.to_string(), "crop_5each");
/// assert_eq!("crop_5each".parse::<Transform>()?, t);
/// # Ok::<(), hashsieve::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transform {
    /// Re-encode as baseline JPEG at `quality` (1..=100) and decode again, all in memory
    /// (`jpeg_q<quality>`). An image whose pixels are all grey is encoded as a one-channel JPEG,
    /// as Pillow does for its mode `L`.
    Jpeg {
        /// libjpeg-style quality, 1..=100.
        quality: u8,
    },
    /// Resize both sides to `round(side * percent / 100)` (half to even) with Pillow's Lanczos
    /// filter (`resize_<percent>`); 1..=255. Fails if a side would become 0.
    Resize {
        /// Target size in percent of the original, 1..=255.
        percent: u8,
    },
    /// Cut `round(side * percent / 100)` pixels (half to even) from each of the four sides
    /// (`crop_<percent>each`); 1..=49.
    Crop {
        /// Share of each side removed at each end, in percent, 1..=49.
        percent: u8,
    },
    /// Add black bars of `round(side * percent / 100)` pixels on each of the four sides
    /// (`pad_black_<percent>each`); 1..=100.
    Pad {
        /// Bar width per side in percent of that side, 1..=100.
        percent: u8,
    },
    /// Rotate 90° counter-clockwise (`rotate_90ccw`), lossless.
    Rotate90,
    /// Rotate 180° (`rotate_180`), lossless.
    Rotate180,
    /// Rotate 270° counter-clockwise, i.e. 90° clockwise (`rotate_270ccw`), lossless.
    Rotate270,
    /// Rotate by a small angle, counter-clockwise for positive values, keeping the size:
    /// Pillow's `rotate(angle, resample=BILINEAR)` about the centre, corners filled with black
    /// (`rotate_<deg>ccw` / `rotate_<deg>cw`, e.g. `rotate_2ccw`, `rotate_2.5cw`).
    /// `tenths_of_degree` is -450..=450 and not 0 (quarter turns are [`Transform::Rotate90`] and
    /// friends).
    Rotate {
        /// The angle in tenths of a degree, counter-clockwise positive.
        tenths_of_degree: i16,
    },
    /// Mirror left and right (`flip_horizontal`), lossless.
    FlipHorizontal,
    /// Mirror top and bottom (`flip_vertical`), lossless.
    FlipVertical,
    /// Mirror about the main diagonal, `(x, y) -> (y, x)` (`transpose`; Pillow's
    /// `Transpose.TRANSPOSE`), lossless.
    Transpose,
    /// Mirror about the anti-diagonal (`transverse`; Pillow's `Transpose.TRANSVERSE`), lossless.
    Transverse,
    /// Pillow's `convert("L")` (`(R*19595 + G*38470 + B*7471 + 0x8000) >> 16`), returned as
    /// RGB with three equal channels (`grayscale`).
    Grayscale,
    /// Pillow's `ImageEnhance.Brightness(image).enhance(percent / 100)`: every channel times the
    /// factor (in `f32`), truncated and clamped (`brightness_<percent>`).
    Brightness {
        /// The factor in percent; 100 leaves the image unchanged.
        percent: u16,
    },
    /// Pillow's `ImageEnhance.Contrast(image).enhance(percent / 100)`: a blend with the mean
    /// grey level of the image (`contrast_<percent>`).
    Contrast {
        /// The factor in percent; 100 leaves the image unchanged.
        percent: u16,
    },
    /// Power-law tone curve `out = round(255 * (in / 255) ^ gamma)` per channel, with
    /// `gamma = hundredths / 100` (`gamma_<gamma>`, e.g. `gamma_0.7`); below 1 brightens, above
    /// 1 darkens. 1..=1000.
    Gamma {
        /// The exponent in hundredths.
        hundredths: u16,
    },
    /// Pillow's `GaussianBlur(radius)` with `radius = tenths_of_radius / 10` (three extended
    /// box-blur passes per axis, Pillow's fixed-point arithmetic) (`blur_gauss_r<radius>`,
    /// e.g. `blur_gauss_r2`, `blur_gauss_r1.5`). 1..=1000.
    Blur {
        /// The radius in tenths of a pixel.
        tenths_of_radius: u16,
    },
    /// Add independent Gaussian noise of standard deviation `sigma` to every channel of every
    /// pixel, rounded and clamped (`noise_gauss_s<sigma>`); 1..=255. The noise is drawn from
    /// ChaCha8 seeded with the `seed` given to [`Transform::apply`].
    Noise {
        /// Standard deviation in 8-bit levels.
        sigma: u8,
    },
    /// A white box covering `percent` of the image area in the bottom-right corner (3% margins),
    /// with two lines of black text-like glyph blocks, like a caption or watermark sticker
    /// (`overlay_box<percent>`); 1..=50. At 10% the box is 40% of the width by 25% of the
    /// height, as in the reference corpus; other sizes scale both sides alike. The glyph
    /// pattern comes from the `seed`; the placement is fixed (the corpus's).
    Overlay {
        /// Share of the image area covered, in percent.
        percent: u8,
    },
    /// The steps applied in order (names joined with `+`, e.g. `resize_50+jpeg_q70`). Step `i`
    /// gets a seed derived from the combo's seed and `i`. An empty combo is the identity
    /// (`identity`).
    Combo(Vec<Transform>),
}

/// A transform's name did not parse.
fn unknown(name: &str) -> Error {
    Error::new(ErrorKind::UnknownName {
        what: "transform",
        name: name.to_string(),
        expected: "jpeg_qN, resize_N, crop_Neach, pad_black_Neach, rotate_90ccw, rotate_180, \
                   rotate_270ccw, rotate_<deg>ccw, rotate_<deg>cw, flip_horizontal, \
                   flip_vertical, transpose, transverse, grayscale, brightness_N, contrast_N, \
                   gamma_<x>, blur_gauss_r<x>, noise_gauss_sN, overlay_boxN, identity, \
                   or several joined with +",
    })
}

fn invalid(msg: String) -> Error {
    Error::new(ErrorKind::InvalidArgument(msg))
}

/// `value / scale` as the shortest decimal text: `20, 10 -> "2"`, `25, 10 -> "2.5"`,
/// `125, 100 -> "1.25"`.
fn decimal(value: u32, scale: u32) -> String {
    let (int, mut frac) = (value / scale, value % scale);
    if frac == 0 {
        return int.to_string();
    }
    let mut digits = scale.ilog10() as usize;
    while frac % 10 == 0 {
        frac /= 10;
        digits -= 1;
    }
    format!("{int}.{frac:0digits$}")
}

/// Parses what [`decimal`] writes (at most `log10(scale)` fractional digits) back to
/// `value`; `None` for anything else.
fn parse_decimal(s: &str, scale: u32) -> Option<u32> {
    let max_digits = scale.ilog10() as usize;
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) || !all_digits(frac) || frac.len() > max_digits {
        return None;
    }
    if s.contains('.') && frac.is_empty() {
        return None;
    }
    let mut value = int.parse::<u32>().ok()?.checked_mul(scale)?;
    let mut unit = scale;
    for b in frac.bytes() {
        unit /= 10;
        value = value.checked_add(u32::from(b - b'0') * unit)?;
    }
    Some(value)
}

/// A plain unsigned integer (no sign, no leading `+`).
fn parse_int<T: FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Transform {
    /// The stable, CSV- and plot-friendly name, e.g. `jpeg_q70`, `crop_5each`,
    /// `rotate_2ccw`, `resize_50+jpeg_q70`. Edits that the reference corpus holds use its names.
    /// [`FromStr`] parses every name back.
    ///
    /// ```
    /// use hashsieve::eval::transform::Transform;
    /// assert_eq!(Transform::Rotate90.name(), "rotate_90ccw");
    /// assert_eq!(Transform::Rotate { tenths_of_degree: -30 }.name(), "rotate_3cw");
    /// assert_eq!(Transform::Blur { tenths_of_radius: 15 }.name(), "blur_gauss_r1.5");
    /// let combo = Transform::Combo(vec![Transform::Resize { percent: 50 }, Transform::Jpeg { quality: 70 }]);
    /// assert_eq!(combo.name(), "resize_50+jpeg_q70");
    /// ```
    pub fn name(&self) -> String {
        match self {
            Transform::Jpeg { quality } => format!("jpeg_q{quality}"),
            Transform::Resize { percent } => format!("resize_{percent}"),
            Transform::Crop { percent } => format!("crop_{percent}each"),
            Transform::Pad { percent } => format!("pad_black_{percent}each"),
            Transform::Rotate90 => "rotate_90ccw".into(),
            Transform::Rotate180 => "rotate_180".into(),
            Transform::Rotate270 => "rotate_270ccw".into(),
            Transform::Rotate { tenths_of_degree } => {
                let t = *tenths_of_degree;
                let dir = if t < 0 { "cw" } else { "ccw" };
                format!("rotate_{}{dir}", decimal(u32::from(t.unsigned_abs()), 10))
            }
            Transform::FlipHorizontal => "flip_horizontal".into(),
            Transform::FlipVertical => "flip_vertical".into(),
            Transform::Transpose => "transpose".into(),
            Transform::Transverse => "transverse".into(),
            Transform::Grayscale => "grayscale".into(),
            Transform::Brightness { percent } => format!("brightness_{percent}"),
            Transform::Contrast { percent } => format!("contrast_{percent}"),
            Transform::Gamma { hundredths } => {
                format!("gamma_{}", decimal(u32::from(*hundredths), 100))
            }
            Transform::Blur { tenths_of_radius } => {
                format!("blur_gauss_r{}", decimal(u32::from(*tenths_of_radius), 10))
            }
            Transform::Noise { sigma } => format!("noise_gauss_s{sigma}"),
            Transform::Overlay { percent } => format!("overlay_box{percent}"),
            Transform::Combo(steps) if steps.is_empty() => "identity".into(),
            Transform::Combo(steps) => steps
                .iter()
                .map(Transform::name)
                .collect::<Vec<_>>()
                .join("+"),
        }
    }

    /// The group the edit belongs to, for reports: `"jpeg"`, `"geometry"` (resize, crop, pad,
    /// small rotations), `"rotate-flip"` (the lossless quarter turns and mirrors), `"color"`
    /// (grayscale, brightness, contrast, gamma), `"filter"` (blur, noise), `"overlay"` or
    /// `"combo"`.
    ///
    /// ```
    /// use hashsieve::eval::transform::Transform;
    /// assert_eq!(Transform::FlipHorizontal.category(), "rotate-flip");
    /// assert_eq!(Transform::Gamma { hundredths: 70 }.category(), "color");
    /// ```
    pub fn category(&self) -> &'static str {
        match self {
            Transform::Jpeg { .. } => "jpeg",
            Transform::Resize { .. }
            | Transform::Crop { .. }
            | Transform::Pad { .. }
            | Transform::Rotate { .. } => "geometry",
            Transform::Rotate90
            | Transform::Rotate180
            | Transform::Rotate270
            | Transform::FlipHorizontal
            | Transform::FlipVertical
            | Transform::Transpose
            | Transform::Transverse => "rotate-flip",
            Transform::Grayscale
            | Transform::Brightness { .. }
            | Transform::Contrast { .. }
            | Transform::Gamma { .. } => "color",
            Transform::Blur { .. } | Transform::Noise { .. } => "filter",
            Transform::Overlay { .. } => "overlay",
            Transform::Combo(_) => "combo",
        }
    }

    /// The PDQ [`Dihedral`] variant that maps the original image to this edit, for the seven
    /// lossless rotations and mirrors: the hash of the edited image is (up to rounding) the
    /// original's [`pdq_dihedral`](crate::algo::pdq::pdq_dihedral) hash of that variant.
    ///
    /// A [`Transform::Combo`] that contains lossless rotations or mirrors returns their
    /// composition (which may be [`Dihedral::Orig`]), ignoring its other steps; every other
    /// transform returns `None`.
    ///
    /// ```
    /// use hashsieve::algo::pdq::Dihedral;
    /// use hashsieve::eval::transform::Transform;
    /// assert_eq!(Transform::Rotate90.dihedral(), Some(Dihedral::Rot90));
    /// assert_eq!(Transform::FlipHorizontal.dihedral(), Some(Dihedral::FlipY));
    /// assert_eq!(Transform::Grayscale.dihedral(), None);
    /// let t: Transform = "flip_horizontal+crop_5each+flip_vertical".parse()?;
    /// assert_eq!(t.dihedral(), Some(Dihedral::Rot180));
    /// # Ok::<(), hashsieve::Error>(())
    /// ```
    pub fn dihedral(&self) -> Option<Dihedral> {
        match self {
            Transform::Combo(steps) => steps
                .iter()
                .filter_map(|s| s.dihedral().map(D4::from_dihedral))
                .reduce(|first, then| then.after(first))
                .map(D4::to_dihedral),
            Transform::Rotate90 => Some(Dihedral::Rot90),
            Transform::Rotate180 => Some(Dihedral::Rot180),
            Transform::Rotate270 => Some(Dihedral::Rot270),
            Transform::FlipHorizontal => Some(Dihedral::FlipY),
            Transform::FlipVertical => Some(Dihedral::FlipX),
            Transform::Transpose => Some(Dihedral::FlipPlus1),
            Transform::Transverse => Some(Dihedral::FlipMinus1),
            _ => None,
        }
    }

    /// Checks the parameters against their documented ranges.
    fn validate(&self) -> Result<()> {
        let check = |ok: bool, what: &str| {
            if ok {
                Ok(())
            } else {
                Err(invalid(format!("transform {}: {what}", self.name())))
            }
        };
        match self {
            Transform::Jpeg { quality } => {
                check((1..=100).contains(quality), "JPEG quality must be 1..=100")
            }
            Transform::Resize { percent } => check(*percent >= 1, "resize percent must be >= 1"),
            Transform::Crop { percent } => {
                check((1..=49).contains(percent), "crop percent must be 1..=49")
            }
            Transform::Pad { percent } => {
                check((1..=100).contains(percent), "pad percent must be 1..=100")
            }
            Transform::Rotate { tenths_of_degree } => check(
                *tenths_of_degree != 0 && (-450..=450).contains(tenths_of_degree),
                "small rotations must be -45..=45 degrees and not 0",
            ),
            Transform::Gamma { hundredths } => {
                check((1..=1000).contains(hundredths), "gamma must be 0.01..=10")
            }
            Transform::Blur { tenths_of_radius } => check(
                (1..=1000).contains(tenths_of_radius),
                "blur radius must be 0.1..=100",
            ),
            Transform::Noise { sigma } => check(*sigma >= 1, "noise sigma must be >= 1"),
            Transform::Overlay { percent } => {
                check((1..=50).contains(percent), "overlay percent must be 1..=50")
            }
            Transform::Combo(steps) => steps.iter().try_for_each(Transform::validate),
            _ => Ok(()),
        }
    }

    /// Applies the edit to `image` and returns the edited pixels; the input is not changed.
    ///
    /// The result depends only on the image, the transform and `seed` (which only
    /// [`Transform::Noise`], [`Transform::Overlay`] and combos containing them use): the same
    /// arguments give the same pixels on every run and platform.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] when a parameter is outside its documented range, or when
    /// the image is too small (or too large) for the edit: an empty image, a resize or crop that
    /// would leave no pixels, an overlay box that would have no pixels, a JPEG side over 65,535
    /// pixels.
    ///
    /// ```
    /// use hashsieve::eval::transform::Transform;
    /// let photo = image::RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8, y as u8, 7]));
    /// let turned = Transform::Rotate90.apply(&photo, 0)?;
    /// assert_eq!(turned.dimensions(), (30, 40));
    /// // Top-right goes to top-left under a counter-clockwise quarter turn.
    /// assert_eq!(turned.get_pixel(0, 0), photo.get_pixel(39, 0));
    /// assert!(Transform::Crop { percent: 10 }.apply(&image::RgbImage::new(0, 0), 0).is_err());
    /// # Ok::<(), hashsieve::Error>(())
    /// ```
    pub fn apply(&self, image: &RgbImage, seed: u64) -> Result<RgbImage> {
        self.validate()?;
        let img = Img::from_image(image)?;
        Ok(self.apply_img(img, seed)?.into_image())
    }

    fn apply_img(&self, img: Img, seed: u64) -> Result<Img> {
        match self {
            Transform::Jpeg { quality } => jpeg(&img, *quality),
            Transform::Resize { percent } => resize(&img, *percent),
            Transform::Crop { percent } => crop(&img, *percent),
            Transform::Pad { percent } => pad(&img, *percent),
            Transform::Rotate90
            | Transform::Rotate180
            | Transform::Rotate270
            | Transform::FlipHorizontal
            | Transform::FlipVertical
            | Transform::Transpose
            | Transform::Transverse => {
                let d = self.dihedral().expect("a lossless rotation or flip");
                Ok(dihedral_map(&img, D4::from_dihedral(d)))
            }
            Transform::Rotate { tenths_of_degree } => Ok(rotate_bilinear(&img, *tenths_of_degree)),
            Transform::Grayscale => Ok(grayscale(img)),
            Transform::Brightness { percent } => Ok(brightness(img, *percent)),
            Transform::Contrast { percent } => Ok(contrast(img, *percent)),
            Transform::Gamma { hundredths } => Ok(gamma(img, *hundredths)),
            Transform::Blur { tenths_of_radius } => Ok(gaussian_blur(&img, *tenths_of_radius)),
            Transform::Noise { sigma } => Ok(noise(img, *sigma, seed)),
            Transform::Overlay { percent } => overlay(img, *percent, seed),
            Transform::Combo(steps) => {
                let mut img = img;
                for (i, step) in steps.iter().enumerate() {
                    img = step.apply_img(img, derive_seed(seed, i as u64))?;
                }
                Ok(img)
            }
        }
    }
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for Transform {
    type Err = Error;

    /// Parses a [`Transform::name`]. Several names joined with `+` give a
    /// [`Transform::Combo`]; a single name gives that transform itself, and `identity` an empty
    /// combo. Parameters outside their ranges are rejected.
    ///
    /// ```
    /// use hashsieve::eval::transform::Transform;
    /// assert_eq!("jpeg_q70".parse::<Transform>()?, Transform::Jpeg { quality: 70 });
    /// assert_eq!("gamma_1.5".parse::<Transform>()?, Transform::Gamma { hundredths: 150 });
    /// assert!("jpeg_q0".parse::<Transform>().is_err());
    /// assert!("sepia".parse::<Transform>().is_err());
    /// # Ok::<(), hashsieve::Error>(())
    /// ```
    fn from_str(s: &str) -> Result<Transform> {
        let s = s.trim();
        let t = if s == "identity" {
            Transform::Combo(Vec::new())
        } else if s.contains('+') {
            let steps = s
                .split('+')
                .map(|part| parse_one(part.trim()).ok_or_else(|| unknown(part.trim())))
                .collect::<Result<Vec<_>>>()?;
            Transform::Combo(steps)
        } else {
            parse_one(s).ok_or_else(|| unknown(s))?
        };
        t.validate()?;
        Ok(t)
    }
}

/// Parses one (non-combo) name; `None` if it is not one.
fn parse_one(s: &str) -> Option<Transform> {
    Some(match s {
        "rotate_90ccw" => Transform::Rotate90,
        "rotate_180" => Transform::Rotate180,
        "rotate_270ccw" => Transform::Rotate270,
        "flip_horizontal" => Transform::FlipHorizontal,
        "flip_vertical" => Transform::FlipVertical,
        "transpose" => Transform::Transpose,
        "transverse" => Transform::Transverse,
        "grayscale" => Transform::Grayscale,
        _ => {
            let (prefix, parse) = PREFIXED.iter().find(|(p, _)| s.starts_with(p))?;
            return parse(&s[prefix.len()..]);
        }
    })
}

/// Parses what follows a prefix.
type ParseRest = fn(&str) -> Option<Transform>;

/// The names that carry a number: the prefix, and how the rest parses.
const PREFIXED: [(&str, ParseRest); 11] = [
    ("jpeg_q", |q| {
        parse_int(q).map(|quality| Transform::Jpeg { quality })
    }),
    ("resize_", |p| {
        parse_int(p).map(|percent| Transform::Resize { percent })
    }),
    ("crop_", |p| {
        parse_each(p).map(|percent| Transform::Crop { percent })
    }),
    ("pad_black_", |p| {
        parse_each(p).map(|percent| Transform::Pad { percent })
    }),
    ("rotate_", parse_rotation),
    ("brightness_", |p| {
        parse_int(p).map(|percent| Transform::Brightness { percent })
    }),
    ("contrast_", |p| {
        parse_int(p).map(|percent| Transform::Contrast { percent })
    }),
    ("gamma_", |g| {
        let hundredths = u16::try_from(parse_decimal(g, 100)?).ok()?;
        Some(Transform::Gamma { hundredths })
    }),
    ("blur_gauss_r", |r| {
        let tenths_of_radius = u16::try_from(parse_decimal(r, 10)?).ok()?;
        Some(Transform::Blur { tenths_of_radius })
    }),
    ("noise_gauss_s", |n| {
        parse_int(n).map(|sigma| Transform::Noise { sigma })
    }),
    ("overlay_box", |p| {
        parse_int(p).map(|percent| Transform::Overlay { percent })
    }),
];

/// A per-side percentage, `<n>each`.
fn parse_each(s: &str) -> Option<u8> {
    parse_int(s.strip_suffix("each")?)
}

/// A small rotation, `<degrees>ccw` or `<degrees>cw` (degrees with up to one decimal).
fn parse_rotation(a: &str) -> Option<Transform> {
    let (deg, sign) = match a.strip_suffix("ccw") {
        Some(d) => (d, 1),
        None => (a.strip_suffix("cw")?, -1),
    };
    let tenths = i16::try_from(parse_decimal(deg, 10)?).ok()?;
    Some(Transform::Rotate {
        tenths_of_degree: sign * tenths,
    })
}

/// The evaluation's default edits: JPEG q90/70/50/30, resize 50/25%, crop 2/5/10% per side,
/// 10% black bars, the three quarter turns, small rotations of 2° and 5° counter-clockwise and
/// 3° clockwise, both mirrors, grayscale, brightness and contrast 70/130%, gamma 0.7/1.5, blur
/// radius 1/2, noise sigma 5/10, overlays of 5/10% and five realistic combinations (shrink and
/// recompress, crop and recompress, mirror and crop, turn and recompress, brighten, shrink and
/// recompress).
///
/// ```
/// use hashsieve::eval::transform::standard_set;
/// let names: Vec<String> = standard_set().iter().map(|t| t.name()).collect();
/// assert!(names.contains(&"crop_5each".to_string()));
/// assert!(names.contains(&"resize_50+jpeg_q70".to_string()));
/// ```
pub fn standard_set() -> Vec<Transform> {
    use Transform::*;
    vec![
        Jpeg { quality: 90 },
        Jpeg { quality: 70 },
        Jpeg { quality: 50 },
        Jpeg { quality: 30 },
        Resize { percent: 50 },
        Resize { percent: 25 },
        Crop { percent: 2 },
        Crop { percent: 5 },
        Crop { percent: 10 },
        Pad { percent: 10 },
        Rotate90,
        Rotate180,
        Rotate270,
        Rotate {
            tenths_of_degree: 20,
        },
        Rotate {
            tenths_of_degree: 50,
        },
        Rotate {
            tenths_of_degree: -30,
        },
        FlipHorizontal,
        FlipVertical,
        Grayscale,
        Brightness { percent: 70 },
        Brightness { percent: 130 },
        Contrast { percent: 70 },
        Contrast { percent: 130 },
        Gamma { hundredths: 70 },
        Gamma { hundredths: 150 },
        Blur {
            tenths_of_radius: 10,
        },
        Blur {
            tenths_of_radius: 20,
        },
        Noise { sigma: 5 },
        Noise { sigma: 10 },
        Overlay { percent: 5 },
        Overlay { percent: 10 },
        Combo(vec![Resize { percent: 50 }, Jpeg { quality: 70 }]),
        Combo(vec![Crop { percent: 5 }, Jpeg { quality: 70 }]),
        Combo(vec![FlipHorizontal, Crop { percent: 5 }]),
        Combo(vec![Rotate90, Jpeg { quality: 70 }]),
        Combo(vec![
            Brightness { percent: 130 },
            Resize { percent: 50 },
            Jpeg { quality: 50 },
        ]),
    ]
}

/// SplitMix64 of `seed + i`: independent-looking seeds for the steps of a combo.
fn derive_seed(seed: u64, i: u64) -> u64 {
    let mut z = seed.wrapping_add(i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

// ---------------------------------------------------------------------------------------------
// Pixels

/// Packed RGB pixels: the working form (plain `usize` sizes, no per-pixel bounds juggling).
struct Img {
    w: usize,
    h: usize,
    data: Vec<u8>,
}

/// The largest image (in pixels) a transform produces; beyond this an edit is refused rather
/// than attempting a huge allocation.
const MAX_PIXELS: usize = 1 << 30;

impl Img {
    fn from_image(image: &RgbImage) -> Result<Img> {
        let (w, h) = (image.width() as usize, image.height() as usize);
        if w == 0 || h == 0 {
            return Err(invalid("the image has no pixels".into()));
        }
        let data = image.as_raw()[..w * h * 3].to_vec();
        Ok(Img { w, h, data })
    }

    /// A black image, refusing sizes that cannot be images.
    fn black(w: usize, h: usize) -> Result<Img> {
        match w.checked_mul(h) {
            Some(n) if n > 0 && n <= MAX_PIXELS => Ok(Img {
                w,
                h,
                data: vec![0; n * 3],
            }),
            _ => Err(invalid(format!(
                "the edited image would be {w}x{h} pixels, which is not a usable size"
            ))),
        }
    }

    fn into_image(self) -> RgbImage {
        // Every `Img` is built from an `RgbImage` or by `Img::black`, which keep the sides within
        // u32 and the buffer exactly `w * h * 3` long, so `from_raw` accepts it.
        RgbImage::from_raw(self.w as u32, self.h as u32, self.data)
            .expect("Img invariant: buffer holds w * h RGB pixels")
    }

    fn row(&self, y: usize) -> &[u8] {
        &self.data[y * self.w * 3..(y + 1) * self.w * 3]
    }
}

/// Python's `round(side * percent / 100)` with `percent / 100` as a double: round half to even
/// of the same `f64` product.
fn share(side: usize, percent: f64) -> usize {
    (side as f64 * (percent / 100.0)).round_ties_even() as usize
}

// ---------------------------------------------------------------------------------------------
// Geometry

/// An element of the dihedral group of the square: mirror left-right first (if `mirror`), then
/// turn `turns` quarter turns counter-clockwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct D4 {
    turns: u8,
    mirror: bool,
}

impl D4 {
    fn from_dihedral(d: Dihedral) -> D4 {
        let (turns, mirror) = match d {
            Dihedral::Rot90 => (1, false),
            Dihedral::Rot180 => (2, false),
            Dihedral::Rot270 => (3, false),
            Dihedral::FlipY => (0, true),
            Dihedral::FlipX => (2, true),
            Dihedral::FlipPlus1 => (1, true),
            Dihedral::FlipMinus1 => (3, true),
            _ => (0, false),
        };
        D4 { turns, mirror }
    }

    fn to_dihedral(self) -> Dihedral {
        match (self.turns % 4, self.mirror) {
            (1, false) => Dihedral::Rot90,
            (2, false) => Dihedral::Rot180,
            (3, false) => Dihedral::Rot270,
            (0, true) => Dihedral::FlipY,
            (2, true) => Dihedral::FlipX,
            (1, true) => Dihedral::FlipPlus1,
            (3, true) => Dihedral::FlipMinus1,
            _ => Dihedral::Orig,
        }
    }

    /// `self` applied after `first`: `R^a M^m R^b M^n = R^(a ± b) M^(m + n)`, since a mirror
    /// reverses the sense of a turn (`M R = R^-1 M`).
    fn after(self, first: D4) -> D4 {
        let b = if self.mirror {
            4 - first.turns % 4
        } else {
            first.turns
        };
        D4 {
            turns: (self.turns + b) % 4,
            mirror: self.mirror ^ first.mirror,
        }
    }
}

/// Applies a lossless rotation/mirror, pixel for pixel as Pillow's `transpose`.
fn dihedral_map(img: &Img, d: D4) -> Img {
    let (w, h) = (img.w, img.h);
    let swap = d.turns % 2 == 1;
    let (ow, oh) = if swap { (h, w) } else { (w, h) };
    let mut out = vec![0u8; w * h * 3];
    // For each output pixel, its source. Output (ox, oy) of a CCW quarter turn comes from
    // (w-1-oy, ox); mirroring first replaces x by w-1-x.
    for oy in 0..oh {
        let orow = &mut out[oy * ow * 3..(oy + 1) * ow * 3];
        for (ox, px) in orow.chunks_exact_mut(3).enumerate() {
            let (sx, sy) = match d.turns % 4 {
                0 => (ox, oy),
                1 => (w - 1 - oy, ox),
                2 => (w - 1 - ox, h - 1 - oy),
                _ => (oy, h - 1 - ox),
            };
            let sx = if d.mirror { w - 1 - sx } else { sx };
            let s = (sy * w + sx) * 3;
            px.copy_from_slice(&img.data[s..s + 3]);
        }
    }
    Img {
        w: ow,
        h: oh,
        data: out,
    }
}

fn crop(img: &Img, percent: u8) -> Result<Img> {
    let (dx, dy) = (
        share(img.w, f64::from(percent)),
        share(img.h, f64::from(percent)),
    );
    if 2 * dx >= img.w || 2 * dy >= img.h {
        return Err(invalid(format!(
            "a {}x{} image is too small to crop {percent}% from each side",
            img.w, img.h
        )));
    }
    let (ow, oh) = (img.w - 2 * dx, img.h - 2 * dy);
    let mut data = Vec::with_capacity(ow * oh * 3);
    for y in dy..dy + oh {
        data.extend_from_slice(&img.row(y)[dx * 3..(dx + ow) * 3]);
    }
    Ok(Img { w: ow, h: oh, data })
}

fn pad(img: &Img, percent: u8) -> Result<Img> {
    let (dx, dy) = (
        share(img.w, f64::from(percent)),
        share(img.h, f64::from(percent)),
    );
    let mut out = Img::black(img.w + 2 * dx, img.h + 2 * dy)?;
    let ow = out.w;
    for y in 0..img.h {
        let o = ((y + dy) * ow + dx) * 3;
        out.data[o..o + img.w * 3].copy_from_slice(img.row(y));
    }
    Ok(out)
}

fn resize(img: &Img, percent: u8) -> Result<Img> {
    let (ow, oh) = (
        share(img.w, f64::from(percent)),
        share(img.h, f64::from(percent)),
    );
    let mut out = Img::black(ow, oh)?;
    // Pillow resizes RGB with the same weights, pass order and rounding per channel as it
    // resizes L, so each channel goes through the crate's bit-exact Lanczos resampler.
    let mut plane = vec![0u8; img.w * img.h];
    for c in 0..3 {
        for (p, px) in plane.iter_mut().zip(img.data.chunks_exact(3)) {
            *p = px[c];
        }
        let px = PixelBuffer::packed(&plane, img.w as u32, img.h as u32, PixelLayout::Luma8)?;
        let grey = reduce(&px, ow, oh, ResizeOrder::Pillow13);
        for (o, &g) in out.data.chunks_exact_mut(3).zip(&grey.pixels) {
            o[c] = g;
        }
    }
    Ok(out)
}

/// Python's `round(x, 15)`: correctly rounded to 15 decimals (ties to even on the exact binary
/// value), as Pillow rounds its rotation matrix.
fn round15(x: f64) -> f64 {
    format!("{x:.15}").parse().unwrap_or(x)
}

/// Pillow's `rotate(angle, resample=BILINEAR)`: an inverse affine map about the centre, each
/// output pixel sampled bilinearly (in `f64`, truncated to `u8`) from the source, black where
/// the source point falls outside the image.
fn rotate_bilinear(img: &Img, tenths: i16) -> Img {
    let (w, h) = (img.w, img.h);
    let angle = (f64::from(tenths) / 10.0).rem_euclid(360.0);
    let a = -angle.to_radians();
    let (cos, sin) = (round15(a.cos()), round15(a.sin()));
    let m = [cos, sin, round15(-a.sin()), cos];
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    let m2 = m[0] * -cx + m[1] * -cy + 0.0 + cx;
    let m5 = m[2] * -cx + m[3] * -cy + 0.0 + cy;
    let (wf, hf) = (w as f64, h as f64);
    let clip_x = |x: i64| x.clamp(0, w as i64 - 1) as usize;
    let mut out = vec![0u8; w * h * 3];
    for y in 0..h {
        let yin = y as f64 + 0.5;
        let orow = &mut out[y * w * 3..(y + 1) * w * 3];
        for (x, px) in orow.chunks_exact_mut(3).enumerate() {
            let xin = x as f64 + 0.5;
            let xx = m[0] * xin + m[1] * yin + m2;
            let yy = m[2] * xin + m[3] * yin + m5;
            if !(0.0..wf).contains(&xx) || !(0.0..hf).contains(&yy) {
                continue;
            }
            let (xs, ys) = (xx - 0.5, yy - 0.5);
            let (x0, y0) = (xs.floor(), ys.floor());
            let (dx, dy) = (xs - x0, ys - y0);
            let (x0, y0) = (x0 as i64, y0 as i64);
            let (xa, xb) = (clip_x(x0) * 3, clip_x(x0 + 1) * 3);
            let r1 = img.row(y0.clamp(0, h as i64 - 1) as usize);
            let r2 = (y0 + 1 < h as i64).then(|| img.row((y0 + 1) as usize));
            for c in 0..3 {
                let lerp = |r: &[u8]| {
                    let (p, q) = (i32::from(r[xa + c]), i32::from(r[xb + c]));
                    f64::from(p) + f64::from(q - p) * dx
                };
                let v1 = lerp(r1);
                let v2 = r2.map_or(v1, lerp);
                px[c] = (v1 + (v2 - v1) * dy) as u8;
            }
        }
    }
    Img { w, h, data: out }
}

// ---------------------------------------------------------------------------------------------
// Colour

/// Pillow's `rgb2l`.
fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((u32::from(r) * 19595 + u32::from(g) * 38470 + u32::from(b) * 7471 + 0x8000) >> 16) as u8
}

fn grayscale(mut img: Img) -> Img {
    for px in img.data.chunks_exact_mut(3) {
        let l = luma(px[0], px[1], px[2]);
        px.fill(l);
    }
    img
}

/// Pillow's `Image.blend(degenerate, image, alpha)` (`ImagingBlend`) for a constant
/// `degenerate` level: `degenerate + alpha * (v - degenerate)` in `f32`, truncated, clamped.
fn blend_lut(degenerate: u8, percent: u16) -> [u8; 256] {
    // Python passes the factor (a double) to C as a float.
    let alpha = (f64::from(percent) / 100.0) as f32;
    let base = i32::from(degenerate);
    std::array::from_fn(|v| {
        let t = base as f32 + alpha * (v as i32 - base) as f32;
        // `as u8` truncates toward zero and saturates, as Pillow's clamp-then-cast does.
        t as u8
    })
}

fn map_lut(mut img: Img, lut: &[u8; 256]) -> Img {
    for v in &mut img.data {
        *v = lut[usize::from(*v)];
    }
    img
}

fn brightness(img: Img, percent: u16) -> Img {
    map_lut(img, &blend_lut(0, percent))
}

fn contrast(img: Img, percent: u16) -> Img {
    // ImageEnhance.Contrast: the mean of convert("L"), `int(mean + 0.5)`.
    let sum: u64 = img
        .data
        .chunks_exact(3)
        .map(|p| u64::from(luma(p[0], p[1], p[2])))
        .sum();
    let mean = sum as f64 / (img.w * img.h) as f64;
    let level = (mean + 0.5) as u8;
    map_lut(img, &blend_lut(level, percent))
}

fn gamma(img: Img, hundredths: u16) -> Img {
    let g = f64::from(hundredths) / 100.0;
    let lut: [u8; 256] =
        std::array::from_fn(|v| (255.0 * (v as f64 / 255.0).powf(g)).round() as u8);
    map_lut(img, &lut)
}

// ---------------------------------------------------------------------------------------------
// Filters

/// Pillow's `_gaussian_blur_radius`: the extended-box radius whose `passes`-fold repetition
/// has the variance of a Gaussian of `radius` (Gwosdek et al. 2011), in Pillow's `float`s.
fn box_radius(radius: f32, passes: u8) -> f32 {
    let sigma2 = radius * radius / f32::from(passes);
    let big_l = (12.0 * f64::from(sigma2) + 1.0).sqrt() as f32;
    let l = ((f64::from(big_l) - 1.0) / 2.0).floor() as f32;
    let mut a = (2.0 * l + 1.0) * (l * (l + 1.0) - 3.0 * sigma2);
    a /= 6.0 * (sigma2 - (l + 1.0) * (l + 1.0));
    l + a
}

/// One extended box blur of a line: a box of `2 * radius + 1` whole pixels weighted `ww` plus
/// the two next pixels weighted `fw` (together `1 << 24`), edges extended, as Pillow computes
/// it (wrapping `u32` arithmetic, round half up).
struct BoxLine {
    radius: usize,
    ww: u32,
    fw: u32,
}

impl BoxLine {
    fn new(radius: f32) -> BoxLine {
        let whole = radius as usize;
        let ww = (16_777_216.0f32 / (radius * 2.0 + 1.0)) as u32;
        let fw = (16_777_216u32.wrapping_sub((whole as u32 * 2 + 1).wrapping_mul(ww))) / 2;
        BoxLine {
            radius: whole,
            ww,
            fw,
        }
    }

    fn run(&self, inp: &[u8], out: &mut [u8]) {
        let n = inp.len();
        let (r, ww, fw) = (self.radius, self.ww, self.fw);
        let last = n - 1;
        let edge_a = (r + 1).min(n);
        let edge_b = n.saturating_sub(r + 1);
        let p = |i: usize| u32::from(inp[i]);
        let mut acc = p(0).wrapping_mul(r as u32 + 1);
        for x in 0..edge_a - 1 {
            acc = acc.wrapping_add(p(x));
        }
        acc = acc.wrapping_add(p(last).wrapping_mul((r + 1 - edge_a) as u32));
        let mut step = |x: usize, sub: usize, add: usize, far: usize, acc: &mut u32| {
            *acc = acc.wrapping_add(p(add)).wrapping_sub(p(sub));
            let bulk = acc
                .wrapping_mul(ww)
                .wrapping_add((p(sub) + p(far)).wrapping_mul(fw));
            out[x] = (bulk.wrapping_add(1 << 23) >> 24) as u8;
        };
        if edge_a <= edge_b {
            for x in 0..edge_a {
                step(x, 0, x + r, x + r + 1, &mut acc);
            }
            for x in edge_a..edge_b {
                step(x, x - r - 1, x + r, x + r + 1, &mut acc);
            }
            for x in edge_b..=last {
                step(x, x - r - 1, last, last, &mut acc);
            }
        } else {
            for x in 0..edge_b {
                step(x, 0, x + r, x + r + 1, &mut acc);
            }
            for x in edge_b..edge_a {
                step(x, 0, last, last, &mut acc);
            }
            for x in edge_a..=last {
                step(x, x - r - 1, last, last, &mut acc);
            }
        }
    }
}

/// Runs `passes` line blurs over every row of a `w`-wide plane, in place.
fn blur_rows(plane: &mut [u8], w: usize, line: &BoxLine, passes: u8, tmp: &mut [u8]) {
    for row in plane.chunks_exact_mut(w) {
        for _ in 0..passes {
            line.run(row, &mut tmp[..w]);
            row.copy_from_slice(&tmp[..w]);
        }
    }
}

/// Transposes a `w x h` plane into `out` (`h x w`).
fn transpose_plane(src: &[u8], w: usize, h: usize, out: &mut [u8]) {
    const B: usize = 32;
    for by in (0..h).step_by(B) {
        for bx in (0..w).step_by(B) {
            for y in by..(by + B).min(h) {
                for x in bx..(bx + B).min(w) {
                    out[x * h + y] = src[y * w + x];
                }
            }
        }
    }
}

/// Pillow's `GaussianBlur(radius)`: three extended box blurs along the rows, then three along
/// the columns, each channel alike.
fn gaussian_blur(img: &Img, tenths: u16) -> Img {
    const PASSES: u8 = 3;
    // Python's radius (a double) reaches C as a float.
    let radius = box_radius((f64::from(tenths) / 10.0) as f32, PASSES);
    let line = BoxLine::new(radius);
    let (w, h) = (img.w, img.h);
    let mut plane = vec![0u8; w * h];
    let mut turned = vec![0u8; w * h];
    let mut tmp = vec![0u8; w.max(h)];
    let mut out = vec![0u8; w * h * 3];
    for c in 0..3 {
        for (p, px) in plane.iter_mut().zip(img.data.chunks_exact(3)) {
            *p = px[c];
        }
        // A zero radius is skipped by Pillow (it cannot occur for radii >= 0.1).
        if radius != 0.0 {
            blur_rows(&mut plane, w, &line, PASSES, &mut tmp);
            transpose_plane(&plane, w, h, &mut turned);
            blur_rows(&mut turned, h, &line, PASSES, &mut tmp);
            transpose_plane(&turned, h, w, &mut plane);
        }
        for (o, &v) in out.chunks_exact_mut(3).zip(&plane) {
            o[c] = v;
        }
    }
    Img { w, h, data: out }
}

fn noise(mut img: Img, sigma: u8, seed: u64) -> Img {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let s = f32::from(sigma);
    for v in &mut img.data {
        let n: f32 = StandardNormal.sample(&mut rng);
        *v = (f32::from(*v) + s * n).round().clamp(0.0, 255.0) as u8;
    }
    img
}

// ---------------------------------------------------------------------------------------------
// Overlay

/// Fills the rectangle `[x0, x1) x [y0, y1)` (clipped to the image) with `rgb`.
fn fill_rect(img: &mut Img, x0: usize, y0: usize, x1: usize, y1: usize, rgb: u8) {
    let (x1, y1) = (x1.min(img.w), y1.min(img.h));
    for y in y0..y1 {
        if x0 < x1 {
            img.data[(y * img.w + x0) * 3..(y * img.w + x1) * 3].fill(rgb);
        }
    }
}

/// A white box in the bottom-right corner with two lines of glyph-like black blocks.
///
/// The corpus's `overlay_box10` is a white box of `round(0.4 w) x round(0.25 h)` pixels,
/// `round(0.03 w)` / `round(0.03 h)` from the right and bottom edges, holding "SAMPLE" and
/// "watermark 2024" in Pillow's default font, sized to fit the box. Fonts are out of scope here:
/// each character is a 5x7 grid of random blocks (about 45% ink) in a cell of the font's size,
/// which is what the hashes see at their resolution.
fn overlay(mut img: Img, percent: u8, seed: u64) -> Result<Img> {
    let (w, h) = (img.w, img.h);
    let k = (f64::from(percent) / 10.0).sqrt();
    let bw = (w as f64 * (0.4 * k)).round_ties_even() as usize;
    let bh = (h as f64 * (0.25 * k)).round_ties_even() as usize;
    let (mx, my) = (share(w, 3.0), share(h, 3.0));
    if bw == 0 || bh == 0 || bw + mx > w || bh + my > h {
        return Err(invalid(format!(
            "a {w}x{h} image is too small for a {percent}% overlay box"
        )));
    }
    let (x0, y0) = (w - mx - bw, h - my - bh);
    fill_rect(&mut img, x0, y0, x0 + bw, y0 + bh, 255);

    // The font size that makes "watermark 2024" (about 7.45 em) fill 80% of the box width,
    // and two lines fit its height.
    let size = (bw as f64 * 0.8 / 7.45).min(bh as f64 / 4.1);
    if size < 4.0 {
        return Ok(img);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let cap = (0.68 * size).round() as usize;
    let glyph_w = (0.45 * size).round() as usize;
    let advance = 0.55 * size;
    let left = x0 + (0.05 * bw as f64).round() as usize;
    let lines = [
        (y0 + (0.2 * bh as f64).round() as usize, "SAMPLE"),
        (y0 + (0.6 * bh as f64).round() as usize, "watermark 2024"),
    ];
    for (top, text) in lines {
        for (i, ch) in text.chars().enumerate() {
            if ch == ' ' {
                continue;
            }
            let gx = left + (i as f64 * advance).round() as usize;
            for cy in 0..7 {
                for cx in 0..5 {
                    if rng.random_bool(0.45) {
                        fill_rect(
                            &mut img,
                            gx + cx * glyph_w / 5,
                            top + cy * cap / 7,
                            (gx + (cx + 1) * glyph_w / 5).min(x0 + bw),
                            (top + (cy + 1) * cap / 7).min(y0 + bh),
                            0,
                        );
                    }
                }
            }
        }
    }
    Ok(img)
}

// ---------------------------------------------------------------------------------------------
// JPEG

fn jpeg(img: &Img, quality: u8) -> Result<Img> {
    use ::image::codecs::jpeg::JpegEncoder;
    use ::image::{ExtendedColorType, ImageFormat};
    let (w, h) = (img.w, img.h);
    if w > usize::from(u16::MAX) || h > usize::from(u16::MAX) {
        return Err(invalid(format!(
            "a {w}x{h} image is too large for JPEG (at most 65535 pixels a side)"
        )));
    }
    let grey = img
        .data
        .chunks_exact(3)
        .all(|p| p[0] == p[1] && p[1] == p[2]);
    let mut buf = Vec::new();
    let res = {
        let mut enc = JpegEncoder::new_with_quality(&mut buf, quality);
        if grey {
            let l: Vec<u8> = img.data.iter().step_by(3).copied().collect();
            enc.encode(&l, w as u32, h as u32, ExtendedColorType::L8)
        } else {
            enc.encode(&img.data, w as u32, h as u32, ExtendedColorType::Rgb8)
        }
    };
    res.map_err(|e| invalid(format!("JPEG encoding failed: {e}")))?;
    let decoded = ::image::load_from_memory_with_format(&buf, ImageFormat::Jpeg)
        .map_err(|e| Error::decode(e.to_string(), Some(Box::new(e))))?
        .to_rgb8();
    if decoded.dimensions() != (w as u32, h as u32) {
        return Err(Error::decode(
            "the re-encoded JPEG decoded to another size",
            None,
        ));
    }
    Ok(Img {
        w,
        h,
        data: decoded.into_raw(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_round_trip() {
        for (v, s, text) in [
            (20, 10, "2"),
            (25, 10, "2.5"),
            (125, 100, "1.25"),
            (70, 100, "0.7"),
            (5, 100, "0.05"),
            (0, 10, "0"),
        ] {
            assert_eq!(decimal(v, s), text);
            assert_eq!(parse_decimal(text, s), Some(v));
        }
        for bad in ["", ".5", "1.", "1.234", "-1", "+1", "1e3", "x"] {
            assert_eq!(parse_decimal(bad, 100), None, "{bad:?}");
        }
    }

    #[test]
    fn d4_composition_matches_pixels() {
        let img = Img {
            w: 3,
            h: 2,
            data: (0..18).collect(),
        };
        let all: Vec<D4> = (0..8)
            .map(|i| D4 {
                turns: i % 4,
                mirror: i >= 4,
            })
            .collect();
        for &a in &all {
            for &b in &all {
                let twice = dihedral_map(&dihedral_map(&img, a), b);
                let once = dihedral_map(&img, b.after(a));
                assert_eq!(
                    (twice.w, twice.h, &twice.data),
                    (once.w, once.h, &once.data)
                );
            }
            assert_eq!(D4::from_dihedral(a.to_dihedral()), a);
        }
    }

    #[test]
    fn box_line_of_one_pixel_and_huge_radius() {
        let line = BoxLine::new(box_radius(50.0, 3));
        let mut out = [0u8; 1];
        line.run(&[200], &mut out);
        assert_eq!(out, [200]);
        let mut out = [0u8; 3];
        line.run(&[10, 10, 10], &mut out);
        assert_eq!(out, [10, 10, 10]);
    }
}
