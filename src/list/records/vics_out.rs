//! Writing VICS JSON: the Media records of a scan, for IPED, Griffeye and the other suites that
//! import Project VIC / CAID documents.

use std::io::Write;

use base64::Engine as _;
use struson::writer::{JsonStreamWriter, JsonWriter, WriterSettings};

use super::media::MediaRecord;
use super::tsv::escape_bytes;
use crate::error::{Error, Result};

/// The OData metadata URL written as `odata.metadata`: the Project VIC data model, version 1.3,
/// whose Media records IPED and Griffeye import.
pub const VICS_METADATA: &str = "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media";

/// Writes a VICS JSON document, one Media record at a time (memory does not grow with the
/// number of records).
///
/// The document is `{"odata.metadata": VICS_METADATA, "value": [Media, ...]}`. Each Media
/// record has `MediaID` (1, 2, ... in the order written), `Category` (a number when the text is
/// one, else a string, `null` when none), `MD5` and `SHA1` (upper-case hex, `null` when
/// unknown), `SHA256` when known, `MediaSize`, `RelativeFilePath`, the flags when known,
/// `Series`, `Tags`, `Comments` when known, `MediaFiles` (one item with `FileName` and
/// `FilePath`), and the extra fields given (our PDQ as `PDQ`).
///
/// Paths are kept byte-exact: a path that is UTF-8 is written as it is; one that is not is
/// written in its escaped form (`\xNN` for each byte outside UTF-8, `\\` for a backslash), and
/// its bytes in `RelativeFilePathBytes` (standard base64), which suites ignore.
///
/// ```
/// use hashsieve::list::records::{MediaItem, MediaReader, MediaRecord, VicsWriter};
/// let mut record = MediaRecord::default();
/// record.md5 = Some([0xab; 16]);
/// record.category = Some("1".into());
/// let mut writer = VicsWriter::new(Vec::new())?;
/// writer.write(&record, Some(b"dir/a.jpg"), &[("PDQ", "00ff")])?;
/// let doc = writer.finish()?;
/// let mut reader = MediaReader::from_reader(std::io::Cursor::new(doc), "out.json", None)?;
/// let Some(MediaItem::Record(back)) = reader.next_item()? else { panic!() };
/// assert_eq!((back.md5, back.category.as_deref()), (record.md5, Some("1")));
/// assert_eq!(back.relative_path.as_deref(), Some("dir/a.jpg"));
/// # Ok::<(), hashsieve::Error>(())
/// ```
pub struct VicsWriter<W: Write> {
    json: JsonStreamWriter<W>,
    count: u64,
}

impl<W: Write> std::fmt::Debug for VicsWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VicsWriter")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

fn io(e: std::io::Error) -> Error {
    Error::from(e)
}

impl<W: Write> VicsWriter<W> {
    /// Starts a document on `out`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when writing fails.
    pub fn new(out: W) -> Result<VicsWriter<W>> {
        let settings = WriterSettings {
            pretty_print: true,
            ..WriterSettings::default()
        };
        let mut json = JsonStreamWriter::new_custom(out, settings);
        json.begin_object().map_err(io)?;
        json.name("odata.metadata").map_err(io)?;
        json.string_value(VICS_METADATA).map_err(io)?;
        json.name("value").map_err(io)?;
        json.begin_array().map_err(io)?;
        Ok(VicsWriter { json, count: 0 })
    }

    /// How many Media records were written.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Writes one Media record: `record`'s hashes and metadata, the file's `path` (relative to
    /// the scanned root) and `extra` fields (name, text) after the VICS ones.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when writing fails.
    pub fn write(
        &mut self,
        record: &MediaRecord,
        path: Option<&[u8]>,
        extra: &[(&str, &str)],
    ) -> Result<()> {
        self.count += 1;
        let j = &mut self.json;
        j.begin_object().map_err(io)?;
        j.name("MediaID").map_err(io)?;
        j.number_value(self.count).map_err(io)?;
        j.name("Category").map_err(io)?;
        match record.category.as_deref() {
            Some(c) if !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()) && c.len() < 10 => j
                .number_value(c.parse::<u32>().unwrap_or_default())
                .map_err(io)?,
            Some(c) => j.string_value(c).map_err(io)?,
            None => j.null_value().map_err(io)?,
        }
        for (name, hex) in [("MD5", record.md5_hex()), ("SHA1", record.sha1_hex())] {
            j.name(name).map_err(io)?;
            match hex {
                Some(h) => j.string_value(&h).map_err(io)?,
                None => j.null_value().map_err(io)?,
            }
        }
        if let Some(h) = record.sha256_hex() {
            j.name("SHA256").map_err(io)?;
            j.string_value(&h).map_err(io)?;
        }
        j.name("MediaSize").map_err(io)?;
        match record.size {
            Some(n) => j.number_value(n).map_err(io)?,
            None => j.null_value().map_err(io)?,
        }
        let (text, raw) = match path {
            Some(p) => match std::str::from_utf8(p) {
                Ok(t) => (Some(t.to_owned()), None),
                Err(_) => (Some(escape_bytes(p)), Some(p)),
            },
            None => (None, None),
        };
        if let Some(t) = &text {
            j.name("RelativeFilePath").map_err(io)?;
            j.string_value(t).map_err(io)?;
        }
        if let Some(raw) = raw {
            j.name("RelativeFilePathBytes").map_err(io)?;
            j.string_value(&base64::engine::general_purpose::STANDARD.encode(raw))
                .map_err(io)?;
        }
        for (name, flag) in [
            ("VictimIdentified", record.victim_identified),
            ("OffenderIdentified", record.offender_identified),
            ("IsDistributed", record.is_distributed),
        ] {
            if let Some(b) = flag {
                j.name(name).map_err(io)?;
                j.bool_value(b).map_err(io)?;
            }
        }
        if let Some(s) = &record.series {
            j.name("Series").map_err(io)?;
            j.string_value(s).map_err(io)?;
        }
        if !record.tags.is_empty() {
            j.name("Tags").map_err(io)?;
            j.begin_array().map_err(io)?;
            for t in &record.tags {
                j.string_value(t).map_err(io)?;
            }
            j.end_array().map_err(io)?;
        }
        if let Some(c) = &record.comments {
            j.name("Comments").map_err(io)?;
            j.string_value(c).map_err(io)?;
        }
        if let Some(t) = &text {
            let file_name = t.rsplit(['/', '\\']).next().unwrap_or(t);
            j.name("MediaFiles").map_err(io)?;
            j.begin_array().map_err(io)?;
            j.begin_object().map_err(io)?;
            j.name("FileName").map_err(io)?;
            j.string_value(file_name).map_err(io)?;
            j.name("FilePath").map_err(io)?;
            j.string_value(t).map_err(io)?;
            j.end_object().map_err(io)?;
            j.end_array().map_err(io)?;
        }
        for (name, value) in extra {
            j.name(name).map_err(io)?;
            j.string_value(value).map_err(io)?;
        }
        j.end_object().map_err(io)
    }

    /// Ends the document and returns the output, flushed.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when writing fails.
    pub fn finish(mut self) -> Result<W> {
        self.json.end_array().map_err(io)?;
        self.json.end_object().map_err(io)?;
        let mut out = self.json.finish_document().map_err(io)?;
        out.flush().map_err(io)?;
        Ok(out)
    }
}
