//! Importing the investigators' exact-hash sets ([`MediaReader`]) into an exact-hash list.

use super::builder::{EntryMeta, ListBuilder};
use super::import::{
    id_or_index, ImportOptions, ImportReport, ImportStart, Problems, DEFAULT_CATEGORY_SCHEME,
};
use super::reader::Category;
use super::records::{MediaItem, MediaReader, MediaRecord, SkipReason};
use crate::error::{Error, ErrorKind, Result};
use crate::hash::{Digest, HashKind};

/// The record's digest of `kind`, `None` when the record has none of that kind.
fn digest_of(r: &MediaRecord, kind: HashKind) -> Option<Result<Digest>> {
    let bytes: &[u8] = match kind {
        HashKind::Md5 => r.md5.as_ref()?,
        HashKind::Sha1 => r.sha1.as_ref()?,
        HashKind::Sha256 => r.sha256.as_ref()?,
        _ => return None,
    };
    Some(Digest::new(kind, bytes))
}

/// The entry metadata (`EMET`) of a record: one compact JSON object with the fields a VICS set
/// gives (`MediaID`, `Category`, the flags, `Series`, `Tags`, `Comments`, `PhotoDNA` as opaque
/// text, `MediaSize`, `FileNames`); `None` when it has none of them.
pub(crate) fn media_metadata(r: &MediaRecord) -> Option<String> {
    let mut m = serde_json::Map::new();
    let mut put = |k: &str, v: serde_json::Value| {
        if !v.is_null() {
            m.insert(k.to_owned(), v);
        }
    };
    put("MediaID", r.id.clone().into());
    put("Category", r.category.clone().into());
    put("MediaSize", r.size.into());
    put("Series", r.series.clone().into());
    put("VictimIdentified", r.victim_identified.into());
    put("OffenderIdentified", r.offender_identified.into());
    put("IsDistributed", r.is_distributed.into());
    if !r.tags.is_empty() {
        put("Tags", r.tags.clone().into());
    }
    put("Comments", r.comments.clone().into());
    put("PhotoDNA", r.photodna.clone().into());
    if !r.file_names.is_empty() {
        put("FileNames", r.file_names.clone().into());
    }
    (!m.is_empty()).then(|| serde_json::Value::Object(m).to_string())
}

/// Streams an exact-hash set into `builder`, whose kind ([`HashKind::Md5`], `Sha1` or
/// `Sha256`) says which digest of each record is kept: records without one are skipped
/// ([`SkipReason::OtherKind`]). Each entry's id is the record's id (the VICS `MediaID`, the
/// file name) or `idx=<n>`; its categories are [`MediaRecord::categories`]; its metadata the
/// VICS fields as JSON. `options.max_errors` bounds the malformed records skipped, as for
/// [`import`](super::import::import). The report's `format` is `None` (the format is
/// [`MediaReader::format`]).
///
/// # Errors
///
/// [`ErrorKind::InvalidArgument`] when the builder is not of an exact kind; as
/// [`import`](super::import::import) otherwise.
///
/// ```
/// use hashsieve::list::import::{import_media, ImportOptions};
/// use hashsieve::list::records::MediaReader;
/// use hashsieve::{HashKind, ListBuilder};
/// let doc = r#"{"odata.metadata": "http://x/$metadata#Media",
///              "value": [{"MediaID": 1, "Category": 1,
///                         "MD5": "D41D8CD98F00B204E9800998ECF8427E"}]}"#;
/// let mut reader = MediaReader::from_reader(doc.as_bytes(), "set.json", None)?;
/// let mut builder = ListBuilder::new(HashKind::Md5);
/// let report = import_media(&mut reader, &ImportOptions::default(), &mut builder)?;
/// assert_eq!(report.added, 1);
/// # Ok::<(), hashsieve::Error>(())
/// ```
pub fn import_media(
    reader: &mut MediaReader,
    options: &ImportOptions,
    builder: &mut ListBuilder,
) -> Result<ImportReport> {
    let kind = builder.kind();
    if !kind.is_exact() {
        return Err(Error::new(ErrorKind::InvalidArgument(format!(
            "{} holds exact digests (md5, sha1, sha256); a {kind} list cannot take them",
            reader.format()
        ))));
    }
    let source = reader.source().to_owned();
    let mut problems = Problems::new(&source, options.max_errors);
    let mut report = ImportReport::default();
    let start = ImportStart::of(builder);
    while let Some(item) = reader.next_item()? {
        report.records += 1;
        let r = match item {
            MediaItem::Record(r) => r,
            MediaItem::Malformed { at, reason } => {
                problems.report(at, reason)?;
                continue;
            }
        };
        let digest = match digest_of(&r, kind) {
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                problems.report(r.at, e.kind())?;
                continue;
            }
            None => {
                report.skip(SkipReason::OtherKind);
                continue;
            }
        };
        let id = id_or_index(r.id.as_deref(), builder);
        let texts = r.categories();
        let categories: Vec<Category<'_>> = texts
            .iter()
            .map(|c| Category::parse(c, DEFAULT_CATEGORY_SCHEME))
            .filter(Category::is_valid)
            .collect();
        let metadata = media_metadata(&r);
        let mut meta = EntryMeta::new(&id);
        meta.categories = categories;
        meta.metadata = metadata.as_deref();
        if let Err(e) = builder.add(digest, meta) {
            problems.report(r.at, e.kind())?;
        }
    }
    report.finish(start, builder, problems)
}
