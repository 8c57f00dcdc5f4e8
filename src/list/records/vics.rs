//! VICS JSON (Project VIC, CAID), read streaming with `struson`: one Media record in memory at a
//! time, each string cut at [`MAX_FIELD_LEN`], each array at [`MAX_FIELD_ITEMS`].

use std::io::Read;

use struson::reader::{JsonReader, JsonStreamReader, ReaderError, ValueType};

use super::media::{parse_hex_bytes, MediaItem, MediaRecord, MAX_FIELD_ITEMS, MAX_FIELD_LEN};
use crate::error::{Error, Result};

/// Where the reader is in the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frame {
    /// In the top-level object, between members.
    Top,
    /// In an array of Media records, or of Cases (objects each with a `Media` array), or of
    /// both: each object is told by its members.
    Array,
    /// In a Case object, after its `Media` array: the rest of its members are skipped.
    CaseRest,
}

pub(super) struct VicsReader<R: Read> {
    json: JsonStreamReader<R>,
    source: String,
    stack: Vec<Frame>,
    started: bool,
    records: u64,
}

impl<R: Read> VicsReader<R> {
    pub(super) fn new(input: R, source: &str) -> VicsReader<R> {
        VicsReader {
            json: JsonStreamReader::new(input),
            source: source.to_owned(),
            stack: Vec::new(),
            started: false,
            records: 0,
        }
    }

    pub(super) fn next_item(&mut self) -> Result<Option<MediaItem>> {
        self.step()
            .map_err(|e| json_error(&self.source, self.records, e))
    }

    fn step(&mut self) -> std::result::Result<Option<MediaItem>, ReaderError> {
        let json = &mut self.json;
        if !self.started {
            self.started = true;
            match json.peek()? {
                ValueType::Object => {
                    json.begin_object()?;
                    self.stack.push(Frame::Top);
                }
                // A bare array of Media records.
                ValueType::Array => {
                    json.begin_array()?;
                    self.stack.push(Frame::Array);
                }
                _ => {
                    // Not a VICS document: nothing in it is a Media record.
                    json.skip_value()?;
                    return Ok(None);
                }
            }
        }
        loop {
            let Some(&frame) = self.stack.last() else {
                return Ok(None);
            };
            match frame {
                Frame::Top | Frame::CaseRest => {
                    if !json.has_next()? {
                        json.end_object()?;
                        self.stack.pop();
                        if self.stack.is_empty() {
                            return Ok(None);
                        }
                        continue;
                    }
                    let name = json.next_name()?;
                    let is_array = matches!(name, "value" | "Media" | "Cases");
                    if frame == Frame::Top && is_array && json.peek()? == ValueType::Array {
                        json.begin_array()?;
                        self.stack.push(Frame::Array);
                    } else {
                        json.skip_value()?;
                    }
                }
                Frame::Array => {
                    if !json.has_next()? {
                        json.end_array()?;
                        self.stack.pop();
                        continue;
                    }
                    if json.peek()? != ValueType::Object {
                        json.skip_value()?;
                        self.records += 1;
                        return Ok(Some(MediaItem::Malformed {
                            at: self.records,
                            reason: "a Media record that is not a JSON object".into(),
                        }));
                    }
                    json.begin_object()?;
                    match read_media(json, self.records + 1)? {
                        Member::Record(item) => {
                            self.records += 1;
                            return Ok(Some(item));
                        }
                        Member::CaseMedia => {
                            // A Case: its Media array is open; the Case's other members
                            // follow it.
                            self.stack.push(Frame::CaseRest);
                            self.stack.push(Frame::Array);
                        }
                        Member::Nothing => {}
                    }
                }
            }
        }
    }
}

// Made once per record and matched at once: a box would cost an allocation per record.
#[allow(clippy::large_enum_variant)]
enum Member {
    /// A Media record, read whole.
    Record(MediaItem),
    /// A Case object whose `Media` array has been begun.
    CaseMedia,
    /// An object with no hash and no Media (a Case without media): read whole, skipped.
    Nothing,
}

/// Reads the members of an object just begun: a Media record, or a Case up to its `Media`
/// array.
fn read_media<R: Read>(
    json: &mut JsonStreamReader<R>,
    at: u64,
) -> std::result::Result<Member, ReaderError> {
    let mut r = MediaRecord {
        at,
        ..MediaRecord::default()
    };
    let mut problem: Option<String> = None;
    let mut fields = 0u32;
    while json.has_next()? {
        let name = json.next_name_owned()?;
        if name == "Media" && json.peek()? == ValueType::Array {
            json.begin_array()?;
            return Ok(Member::CaseMedia);
        }
        fields += 1;
        let mut note = |p: String| {
            problem.get_or_insert(p);
        };
        match name.as_str() {
            "MediaID" | "MediaId" => r.id = scalar_text(json)?,
            "Category" => r.category = scalar_text(json)?,
            "MD5" | "Md5" => match scalar_text(json)? {
                Some(t) if !t.is_empty() => match parse_hex_bytes::<16>("MD5", &t) {
                    Ok(h) => r.md5 = Some(h),
                    Err(e) => note(e),
                },
                _ => {}
            },
            "SHA1" | "Sha1" => match scalar_text(json)? {
                Some(t) if !t.is_empty() => match parse_hex_bytes::<20>("SHA1", &t) {
                    Ok(h) => r.sha1 = Some(h),
                    Err(e) => note(e),
                },
                _ => {}
            },
            "SHA256" | "Sha256" => match scalar_text(json)? {
                Some(t) if !t.is_empty() => match parse_hex_bytes::<32>("SHA256", &t) {
                    Ok(h) => r.sha256 = Some(h),
                    Err(e) => note(e),
                },
                _ => {}
            },
            "MediaSize" => match scalar_text(json)? {
                Some(t) if !t.is_empty() => match t.trim().parse::<u64>() {
                    Ok(n) => r.size = Some(n),
                    Err(_) => note("MediaSize is not a whole number of bytes".into()),
                },
                _ => {}
            },
            "RelativeFilePath" => r.relative_path = scalar_text(json)?,
            "Series" => r.series = scalar_text(json)?,
            "Comments" => r.comments = scalar_text(json)?,
            "PhotoDNA" => r.photodna = scalar_text(json)?,
            "VictimIdentified" => r.victim_identified = flag(json, &name, &mut note)?,
            "OffenderIdentified" => r.offender_identified = flag(json, &name, &mut note)?,
            "IsDistributed" => r.is_distributed = flag(json, &name, &mut note)?,
            "Tags" => r.tags = tags(json)?,
            "MediaFiles" => r.file_names = file_names(json)?,
            _ => json.skip_value()?,
        }
    }
    json.end_object()?;
    if let Some(reason) = problem {
        return Ok(Member::Record(MediaItem::Malformed { at, reason }));
    }
    if r.md5.is_none() && r.sha1.is_none() && r.sha256.is_none() {
        if fields == 0 || r.id.is_none() && r.category.is_none() && r.size.is_none() {
            return Ok(Member::Nothing);
        }
        return Ok(Member::Record(MediaItem::Malformed {
            at,
            reason: "a Media record with no MD5, SHA1 or SHA256".into(),
        }));
    }
    Ok(Member::Record(MediaItem::Record(r)))
}

/// A string (cut at [`MAX_FIELD_LEN`]), a number's text, a boolean's text, or `None` for
/// `null`; an object or array is skipped and reads as `None`.
fn scalar_text<R: Read>(
    json: &mut JsonStreamReader<R>,
) -> std::result::Result<Option<String>, ReaderError> {
    Ok(match json.peek()? {
        ValueType::String => Some(bounded_string(json)?),
        ValueType::Number => Some(json.next_number_as_string()?),
        ValueType::Boolean => Some(json.next_bool()?.to_string()),
        ValueType::Null => {
            json.next_null()?;
            None
        }
        ValueType::Array | ValueType::Object => {
            json.skip_value()?;
            None
        }
    })
}

fn bounded_string<R: Read>(
    json: &mut JsonStreamReader<R>,
) -> std::result::Result<String, ReaderError> {
    let mut bytes = Vec::new();
    let location = json.current_position(false);
    {
        let mut reader = json.next_string_reader()?;
        let io = |error| ReaderError::IoError {
            error,
            location: location.clone(),
        };
        let _ = Read::take(&mut reader, MAX_FIELD_LEN as u64)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        std::io::copy(&mut reader, &mut std::io::sink()).map_err(io)?;
    }
    // Cutting may split a character; keep the whole ones.
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            String::from_utf8(bytes).unwrap_or_default()
        }
    })
}

fn flag<R: Read>(
    json: &mut JsonStreamReader<R>,
    name: &str,
    note: &mut impl FnMut(String),
) -> std::result::Result<Option<bool>, ReaderError> {
    Ok(match scalar_text(json)? {
        None => None,
        Some(t) => match t.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "y" | "t" => Some(true),
            "false" | "0" | "no" | "n" | "f" => Some(false),
            "" => None,
            _ => {
                note(format!("{name} is not a boolean"));
                None
            }
        },
    })
}

/// `Tags`: an array of strings (or of objects with a `Name` or `Tag`), or one string of tags
/// separated by commas or semicolons.
fn tags<R: Read>(json: &mut JsonStreamReader<R>) -> std::result::Result<Vec<String>, ReaderError> {
    let mut out = Vec::new();
    match json.peek()? {
        ValueType::Array => {
            json.begin_array()?;
            while json.has_next()? {
                let tag = match json.peek()? {
                    ValueType::Object => named_member(json, &["Name", "Tag", "Value"])?,
                    _ => scalar_text(json)?,
                };
                if let Some(t) = tag.filter(|t| !t.trim().is_empty()) {
                    if out.len() < MAX_FIELD_ITEMS {
                        out.push(t.trim().to_owned());
                    }
                }
            }
            json.end_array()?;
        }
        _ => {
            if let Some(t) = scalar_text(json)? {
                out.extend(
                    t.split([',', ';'])
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .take(MAX_FIELD_ITEMS)
                        .map(str::to_owned),
                );
            }
        }
    }
    Ok(out)
}

/// `MediaFiles`: an array of objects; the `FileName` of each.
fn file_names<R: Read>(
    json: &mut JsonStreamReader<R>,
) -> std::result::Result<Vec<String>, ReaderError> {
    let mut out = Vec::new();
    if json.peek()? != ValueType::Array {
        json.skip_value()?;
        return Ok(out);
    }
    json.begin_array()?;
    while json.has_next()? {
        let name = match json.peek()? {
            ValueType::Object => named_member(json, &["FileName", "FilePath"])?,
            _ => {
                json.skip_value()?;
                None
            }
        };
        if let Some(n) = name {
            if out.len() < MAX_FIELD_ITEMS {
                out.push(n);
            }
        }
    }
    json.end_array()?;
    Ok(out)
}

/// Reads an object whole and returns the text of the first of `names` it has.
fn named_member<R: Read>(
    json: &mut JsonStreamReader<R>,
    names: &[&str],
) -> std::result::Result<Option<String>, ReaderError> {
    let mut found: Option<(usize, String)> = None;
    json.begin_object()?;
    while json.has_next()? {
        let name = json.next_name_owned()?;
        match names.iter().position(|n| *n == name) {
            Some(rank) if found.as_ref().is_none_or(|(r, _)| rank < *r) => {
                if let Some(t) = scalar_text(json)? {
                    found = Some((rank, t));
                }
            }
            _ => json.skip_value()?,
        }
    }
    json.end_object()?;
    Ok(found.map(|(_, t)| t))
}

/// A reader error as ours: the document cannot be read past it. The message names the place
/// (line, column, JSON path) and never a value.
fn json_error(source: &str, records: u64, e: ReaderError) -> Error {
    let reason = match &e {
        ReaderError::IoError { error, .. } => {
            return Error::from(std::io::Error::new(error.kind(), error.to_string()))
                .with_path(source)
        }
        ReaderError::SyntaxError(s) => format!("not valid JSON ({}) at {}", s.kind, s.location),
        ReaderError::UnexpectedValueType {
            expected,
            actual,
            location,
        } => format!("expected {expected} but found {actual} at {location}"),
        ReaderError::UnexpectedStructure { kind, location } => {
            format!("unexpected JSON structure ({kind}) at {location}")
        }
        ReaderError::MaxNestingDepthExceeded { location, .. } => {
            format!("JSON nested too deep at {location}")
        }
        ReaderError::UnsupportedNumberValue { location, .. } => {
            format!("a number out of range at {location}")
        }
        _ => "not a VICS JSON document".to_owned(),
    };
    Error::parse(
        1,
        records + 1,
        None,
        format!("VICS document after {records} Media record(s): {reason}"),
    )
    .with_path(source)
}
