//! Pixel buffers the caller already decoded: borrowed, never copied unless an algorithm needs to.

use crate::error::{ErrorKind, Result};

/// How the bytes of one pixel are laid out in a [`PixelBuffer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PixelLayout {
    /// 3 bytes: red, green, blue.
    Rgb8,
    /// 4 bytes: red, green, blue, alpha (alpha is ignored, as the reference tools ignore it).
    Rgba8,
    /// 4 bytes: blue, green, red, alpha (video frames, Windows bitmaps); alpha is ignored.
    Bgra8,
    /// 1 byte: grey. Hashed as the RGB pixel `(g, g, g)` would be, which gives the same bits.
    Luma8,
}

impl PixelLayout {
    /// Bytes per pixel.
    pub const fn bytes_per_pixel(self) -> usize {
        match self {
            PixelLayout::Rgb8 => 3,
            PixelLayout::Rgba8 | PixelLayout::Bgra8 => 4,
            PixelLayout::Luma8 => 1,
        }
    }

    /// Byte offsets of red, green and blue within a pixel, or `None` for [`PixelLayout::Luma8`].
    pub const fn rgb_offsets(self) -> Option<[usize; 3]> {
        match self {
            PixelLayout::Rgb8 | PixelLayout::Rgba8 => Some([0, 1, 2]),
            PixelLayout::Bgra8 => Some([2, 1, 0]),
            PixelLayout::Luma8 => None,
        }
    }
}

/// A borrowed, already-decoded image: `height` rows of `width` pixels, rows `stride` bytes apart.
///
/// This is the input every hash algorithm takes. Upload pipelines that already hold a frame hash
/// it through this type without any copy.
///
/// ```
/// use hashsieve::{PixelBuffer, PixelLayout};
/// let rgb = vec![0u8; 8 * 6 * 3];
/// let px = PixelBuffer::new(&rgb, 8, 6, 8 * 3, PixelLayout::Rgb8)?;
/// assert_eq!(px.row(5).len(), 24);
/// # Ok::<(), hashsieve::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct PixelBuffer<'a> {
    data: &'a [u8],
    width: u32,
    height: u32,
    stride: usize,
    layout: PixelLayout,
}

impl<'a> PixelBuffer<'a> {
    /// Wraps `data` as an image of `width` x `height` pixels whose rows start `stride` bytes apart.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidPixels`] when a dimension is zero, the stride is shorter than a row, or
    /// `data` is too short for the declared shape (the last row needs only its pixels, not a
    /// whole stride).
    pub fn new(
        data: &'a [u8],
        width: u32,
        height: u32,
        stride: usize,
        layout: PixelLayout,
    ) -> Result<PixelBuffer<'a>> {
        let bad = |msg: String| Err(ErrorKind::InvalidPixels(msg).into());
        if width == 0 || height == 0 {
            return bad(format!("zero dimension ({width}x{height})"));
        }
        let row_bytes = (width as usize).checked_mul(layout.bytes_per_pixel());
        let Some(row_bytes) = row_bytes else {
            return bad(format!("width {width} overflows"));
        };
        if stride < row_bytes {
            return bad(format!(
                "stride {stride} is shorter than a row of {row_bytes} bytes"
            ));
        }
        let needed = stride
            .checked_mul(height as usize - 1)
            .and_then(|n| n.checked_add(row_bytes));
        match needed {
            Some(n) if n <= data.len() => {}
            _ => {
                return bad(format!(
                    "{} bytes cannot hold {width}x{height} pixels at stride {stride}",
                    data.len()
                ))
            }
        }
        Ok(PixelBuffer {
            data,
            width,
            height,
            stride,
            layout,
        })
    }

    /// Wraps tightly packed rows (`stride = width * bytes_per_pixel`).
    ///
    /// # Errors
    ///
    /// As [`PixelBuffer::new`].
    pub fn packed(
        data: &'a [u8],
        width: u32,
        height: u32,
        layout: PixelLayout,
    ) -> Result<PixelBuffer<'a>> {
        let stride = (width as usize).saturating_mul(layout.bytes_per_pixel());
        PixelBuffer::new(data, width, height, stride, layout)
    }

    /// Width in pixels (never zero).
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels (never zero).
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes between the starts of consecutive rows.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The pixel layout.
    pub fn layout(&self) -> PixelLayout {
        self.layout
    }

    /// The pixels of row `y`: exactly `width * bytes_per_pixel` bytes.
    ///
    /// # Panics
    ///
    /// Panics if `y >= height`.
    #[inline]
    pub fn row(&self, y: u32) -> &'a [u8] {
        assert!(y < self.height, "row {y} out of range");
        let start = y as usize * self.stride;
        &self.data[start..start + self.width as usize * self.layout.bytes_per_pixel()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_is_checked() {
        let data = vec![0u8; 100];
        assert!(PixelBuffer::new(&data, 0, 1, 3, PixelLayout::Rgb8).is_err());
        assert!(PixelBuffer::new(&data, 4, 4, 11, PixelLayout::Rgb8).is_err());
        // 3 strides of 30 + one row of 12 = 102 > 100.
        assert!(PixelBuffer::new(&data, 4, 4, 30, PixelLayout::Rgb8).is_err());
        // 3 strides of 29 + 12 = 99 fits: the last row needs no padding.
        let px = PixelBuffer::new(&data, 4, 4, 29, PixelLayout::Rgb8).unwrap();
        assert_eq!(px.row(3).len(), 12);
        assert!(PixelBuffer::new(&data, u32::MAX, 2, usize::MAX, PixelLayout::Rgba8).is_err());
    }
}
