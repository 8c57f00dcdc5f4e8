//! The list side of the persisted search index: which kind a list's [`INDEX_SECTION`] holds.
//! The section's layouts are specified in the [format specification](super), built by
//! [`ListBuilder::index`](super::ListBuilder::index) and loaded by the
//! [`Matcher`](crate::matching::Matcher).

use super::reader::HashList;
use super::INDEX_SECTION;
use crate::index::{bktree, mih, IndexKind};

impl<D: AsRef<[u8]>> HashList<D> {
    /// The kind of the search index embedded in the list's [`INDEX_SECTION`], recognised by its
    /// magic bytes: [`IndexKind::BkTree`] or [`IndexKind::Mih`]; `None` when the list has no
    /// such section or its kind is not one this build knows (a newer writer's).
    ///
    /// Only the magic is looked at: the [`Matcher`](crate::matching::Matcher) validates the
    /// section in full before it searches with it.
    ///
    /// ```
    /// use hashsieve::index::{IndexKind, IndexOptions};
    /// use hashsieve::list::{EntryMeta, HashList, ListBuilder};
    /// use hashsieve::{Hash64, HashKind};
    /// let build = |index: IndexKind| -> hashsieve::Result<HashList<Vec<u8>>> {
    ///     let mut b = ListBuilder::new(HashKind::PHash).index(IndexOptions::new(index));
    ///     b.add(Hash64::from_u64(0xab), EntryMeta::new("a"))?;
    ///     HashList::from_bytes(b.to_vec()?)
    /// };
    /// assert_eq!(build(IndexKind::Mih)?.index_kind(), Some(IndexKind::Mih));
    /// assert_eq!(build(IndexKind::Linear)?.index_kind(), None);
    /// # Ok::<(), hashsieve::Error>(())
    /// ```
    pub fn index_kind(&self) -> Option<IndexKind> {
        let section = self.section(INDEX_SECTION)?;
        if section.starts_with(bktree::MAGIC) {
            Some(IndexKind::BkTree)
        } else if section.starts_with(mih::MAGIC) {
            Some(IndexKind::Mih)
        } else {
            None
        }
    }
}
