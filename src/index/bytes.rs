//! Moved to [`crate::bytes`]; this shim keeps `index` compiling until it imports from there.

pub(crate) use crate::bytes::*;
