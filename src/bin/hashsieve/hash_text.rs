//! Malformed-line accounting shared by the commands that read hash text (`match --hashes`,
//! `dedup`); the records themselves come from the library's
//! [`RecordReader`](hashsieve::list::records::RecordReader).

/// Counts the malformed lines of one input; the first [`Malformed::LISTED`] are listed one by
/// one, the rest only counted.
#[derive(Default)]
pub(crate) struct Malformed {
    count: u64,
}

impl Malformed {
    /// How many malformed lines of one input are listed.
    pub(crate) const LISTED: u64 = 20;

    /// Counts one malformed line; `true` while it should still be listed.
    pub(crate) fn count_one(&mut self) -> bool {
        self.count += 1;
        self.count <= Self::LISTED
    }

    /// Malformed lines counted so far.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// Malformed lines counted but not listed.
    pub(crate) fn unlisted(&self) -> u64 {
        self.count.saturating_sub(Self::LISTED)
    }
}
