//! Robustness evaluation: how well each hash survives everyday edits of benign photos.
//!
//! [`transform`] holds the edits (JPEG re-encoding, resizing, cropping, padding, rotations and
//! flips, colour changes, blur, noise, overlays and combinations of them), applied in memory to
//! decoded pixels: no edited image is ever written to disk. Where the project's reference corpus
//! holds the same edit made with Pillow, the transform reproduces Pillow's pixels.

pub mod transform;
