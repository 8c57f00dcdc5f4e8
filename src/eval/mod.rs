//! Evaluation: how well each hash survives everyday edits, and which threshold to match at.
//!
//! [`transform`] makes edited copies of images in memory (JPEG, resizes, crops, rotations, flips,
//! colour changes, blur, noise, overlays and combinations); [`robustness`] hashes originals and
//! copies with every algorithm and measures recall, precision and false-match rates, as
//! `hashsieve eval robustness` reports them. Images are never written anywhere.
//!
//! Enabled by the `eval` feature (on with the default `cli` feature).

mod crosscheck;
mod plot;
mod report;
pub mod robustness;
pub mod transform;
