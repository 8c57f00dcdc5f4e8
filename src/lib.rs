//! # hashsieve
//!
//! Perceptual image hashes that match the reference tools bit for bit, and exact Hamming search
//! against large, memory-mapped lists of known hashes.
//!
//! (Crate tour: see the README until the later sections land.)

#![deny(missing_docs)]
#![warn(unreachable_pub, unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

pub mod algo;
mod error;
pub mod hash;
pub mod image;
pub mod index;

pub use crate::algo::HashOutput;
pub use crate::error::{Error, ErrorKind, Result};
pub use crate::hash::{Hash256, Hash64, HashKind, HashValue};
pub use crate::image::{DecodeOptions, Limits, Orientation, PixelBuffer, PixelLayout};
