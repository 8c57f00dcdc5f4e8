//! `build` of the investigators' exact-hash sets: VICS JSON, NSRL RDS v3, md5sum, hashdeep
//! (the library's `MediaReader`), beside the perceptual-hash text formats.

use std::io::Read;
use std::path::Path;

use anyhow::Context;
use hashsieve::list::import::{import_media, ImportOptions, InputFormat};
use hashsieve::list::records::{MediaFormat, MediaReader};
use hashsieve::ListBuilder;

/// A `--input-format`: a text format of perceptual hashes or an exact-hash set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AnyFormat {
    Text(InputFormat),
    Media(MediaFormat),
}

impl AnyFormat {
    pub(crate) fn text(self) -> Option<InputFormat> {
        match self {
            AnyFormat::Text(f) => Some(f),
            AnyFormat::Media(_) => None,
        }
    }
}

pub(crate) fn parse_format(s: &str) -> Result<AnyFormat, String> {
    if let Ok(f) = s.parse::<MediaFormat>() {
        return Ok(AnyFormat::Media(f));
    }
    s.parse::<InputFormat>().map(AnyFormat::Text).map_err(|_| {
        format!(
            "unknown input format {s:?}; expected one of {}, {}",
            InputFormat::NAMES,
            MediaFormat::NAMES
        )
    })
}

/// The exact-hash set format of the file at `path`, from its first bytes; `None` for other
/// inputs (and standard input, which is read only when the format is named).
fn detect(path: &Path) -> anyhow::Result<Option<MediaFormat>> {
    if path.as_os_str() == "-" || !path.is_file() {
        return Ok(None);
    }
    let mut head = Vec::new();
    std::fs::File::open(path)
        .with_context(|| format!("cannot open {}", path.display()))?
        .take(8192)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(MediaFormat::detect(&head))
}

/// Imports `input` into `builder` when it is an exact-hash set (named by `format`, or detected);
/// `Ok(false)` when it is not, for the text importer to read.
pub(crate) fn import_if_media(
    input: &Path,
    format: Option<AnyFormat>,
    options: &ImportOptions,
    builder: &mut ListBuilder,
) -> anyhow::Result<bool> {
    let media = match format {
        Some(AnyFormat::Media(f)) => f,
        Some(AnyFormat::Text(_)) => return Ok(false),
        None => match detect(input)? {
            Some(f) => f,
            None => return Ok(false),
        },
    };
    let kind = builder.kind();
    if !kind.is_exact() {
        anyhow::bail!(
            "{} is a {media} hash set of exact digests; build it with --algo md5, sha1 or sha256 \
             (this build is --algo {kind})",
            input.display()
        );
    }
    let mut reader = if input.as_os_str() == "-" {
        MediaReader::from_reader(
            std::io::BufReader::new(std::io::stdin()),
            "<stdin>",
            Some(media),
        )
    } else {
        MediaReader::open(input, Some(media))
    }
    .with_context(|| format!("cannot import {}; nothing was written", input.display()))?;
    let name = reader.source().to_owned();
    let report = import_media(&mut reader, options, builder)
        .with_context(|| format!("cannot import {name}; nothing was written"))?;
    for m in &report.messages {
        eprintln!("hashsieve: warning: skipped malformed record {m}");
    }
    eprintln!(
        "{name}: {} records ({media}): {} added, {} rejected, {} without a {kind} digest, {} malformed",
        report.records, report.added, report.rejected, report.skipped, report.malformed
    );
    Ok(true)
}
