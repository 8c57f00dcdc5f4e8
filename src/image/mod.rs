//! Image input: decoding with limits, the orientation / alpha / palette / CMYK / 16-bit policy,
//! and caller-supplied pixel buffers. The library never keeps pixels beyond one hash call.

mod decode;
mod pixels;

pub use decode::{decode, decode_path, DecodeOptions, DecodedImage, Limits, Orientation};
pub use pixels::{PixelBuffer, PixelLayout};
