//! NIST NSRL RDS v3: the SQLite database's `FILE` table, read with `rusqlite` (SQLite bundled).
//!
//! The database is read by a thread of its own that sends rows over a bounded channel, so the
//! reader holds a few thousand rows at most, whatever the size of the table.

use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver};
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags};

use super::media::{parse_hex_bytes, MediaItem, MediaRecord};
use crate::error::{Error, ErrorKind, Result};

/// Rows in flight between the SQLite thread and the reader.
const CHANNEL_ROWS: usize = 4096;

type Row = std::result::Result<MediaItem, String>;

pub(super) struct NsrlReader {
    rows: Receiver<Row>,
    thread: Option<JoinHandle<()>>,
    source: String,
}

fn sqlite_error(source: &str, e: &rusqlite::Error) -> Error {
    ErrorKind::InputFormat(format!(
        "{source}: cannot read it as an NSRL RDS v3 database: {e}"
    ))
    .into()
}

/// Text of column `i` (TEXT or BLOB), `None` for NULL.
fn text(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<String>> {
    use rusqlite::types::ValueRef;
    Ok(match row.get_ref(i)? {
        ValueRef::Null => None,
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(x) => Some(x.to_string()),
    })
}

fn record(at: u64, row: &rusqlite::Row<'_>) -> rusqlite::Result<MediaItem> {
    let mut r = MediaRecord {
        at,
        ..MediaRecord::default()
    };
    let mut problem = None;
    if let Some(t) = text(row, 0)?.filter(|t| !t.is_empty()) {
        match parse_hex_bytes::<32>("sha256", &t) {
            Ok(h) => r.sha256 = Some(h),
            Err(e) => problem = Some(e),
        }
    }
    if let Some(t) = text(row, 1)?.filter(|t| !t.is_empty()) {
        match parse_hex_bytes::<20>("sha1", &t) {
            Ok(h) => r.sha1 = Some(h),
            Err(e) => problem = problem.or(Some(e)),
        }
    }
    if let Some(t) = text(row, 2)?.filter(|t| !t.is_empty()) {
        match parse_hex_bytes::<16>("md5", &t) {
            Ok(h) => r.md5 = Some(h),
            Err(e) => problem = problem.or(Some(e)),
        }
    }
    r.id = text(row, 3)?;
    r.size = match row.get_ref(4)? {
        rusqlite::types::ValueRef::Integer(n) => u64::try_from(n).ok(),
        _ => None,
    };
    if let Some(reason) = problem {
        return Ok(MediaItem::Malformed { at, reason });
    }
    if r.md5.is_none() && r.sha1.is_none() && r.sha256.is_none() {
        return Ok(MediaItem::Malformed {
            at,
            reason: "a FILE row with no hash".into(),
        });
    }
    Ok(MediaItem::Record(r))
}

impl NsrlReader {
    pub(super) fn open(path: &Path) -> Result<NsrlReader> {
        let source = path.display().to_string();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sqlite_error(&source, &e))?;
        // Check the table and its columns here, so that a wrong file fails at open.
        conn.prepare("SELECT sha256, sha1, md5, file_name, file_size FROM FILE LIMIT 0")
            .map_err(|e| sqlite_error(&source, &e))?;
        let (tx, rx) = sync_channel::<Row>(CHANNEL_ROWS);
        let thread = std::thread::Builder::new()
            .name("nsrl-reader".into())
            .spawn(move || {
                let result = (|| -> rusqlite::Result<()> {
                    let mut stmt =
                        conn.prepare("SELECT sha256, sha1, md5, file_name, file_size FROM FILE")?;
                    let mut rows = stmt.query([])?;
                    let mut at = 0u64;
                    while let Some(row) = rows.next()? {
                        at += 1;
                        if tx.send(Ok(record(at, row)?)).is_err() {
                            // The reader was dropped.
                            return Ok(());
                        }
                    }
                    Ok(())
                })();
                if let Err(e) = result {
                    let _ = tx.send(Err(e.to_string()));
                }
            })
            .map_err(|e| Error::from(e).with_path(&source))?;
        Ok(NsrlReader {
            rows: rx,
            thread: Some(thread),
            source,
        })
    }

    pub(super) fn next_item(&mut self) -> Result<Option<MediaItem>> {
        match self.rows.recv() {
            Ok(Ok(item)) => Ok(Some(item)),
            Ok(Err(e)) => Err(ErrorKind::InputFormat(format!(
                "{}: reading the NSRL FILE table failed: {e}",
                self.source
            ))
            .into()),
            Err(_) => {
                if let Some(t) = self.thread.take() {
                    if t.join().is_err() {
                        return Err(ErrorKind::InputFormat(format!(
                            "{}: the NSRL reader thread failed",
                            self.source
                        ))
                        .into());
                    }
                }
                Ok(None)
            }
        }
    }
}
