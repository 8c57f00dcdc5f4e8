//! The Hamming kernels moved to [`crate::arch`]; these names keep the index modules compiling
//! until they import from there. Removed at integration.

pub use crate::arch::Isa;

/// Each Hamming kernel with an explicit instruction set. Moved to `hashsieve::arch::kernels`
/// (feature `test-util`); kept here until the index modules and tests call that.
#[doc(hidden)]
pub mod raw {
    pub use crate::arch::hamming_api::*;
}
