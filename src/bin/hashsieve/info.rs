//! `hashsieve info`: a list's header and sections, in constant time.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// Show a list's header, counts and sections without reading the whole file.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The list file.
    #[arg(value_name = "LIST")]
    list: PathBuf,
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch (proleptic Gregorian, UTC).
pub(crate) fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    crate::common::Files::new()
        .lists([args.list.as_path()])
        .check()?;
    let list = crate::common::open_list_header(&args.list).context("cannot open the list")?;
    let h = list.header();
    let mut out = std::io::stdout().lock();
    writeln!(out, "path\t{}", args.list.display())?;
    writeln!(out, "format_version\t{}", h.format_version)?;
    writeln!(out, "algorithm\t{} ({}-bit)", h.kind, h.kind.width())?;
    writeln!(out, "role\t{}", h.role)?;
    writeln!(out, "name\t{}", h.name)?;
    writeln!(out, "version\t{}", h.list_version)?;
    writeln!(out, "created\t{} ({})", h.created, utc(h.created))?;
    writeln!(out, "hashes\t{}", h.hash_count)?;
    writeln!(out, "entries\t{}", h.entry_count)?;
    writeln!(out, "bytes\t{}", h.file_len)?;
    // The kind is read off the section's magic; `verify` checks the section itself.
    let index = match (
        list.index_kind(),
        list.section(hashsieve::list::INDEX_SECTION),
    ) {
        (Some(kind), _) => kind.name(),
        (None, Some(_)) => "unknown (written by a newer hashsieve)",
        (None, None) => "none",
    };
    writeln!(out, "index\t{index}")?;
    writeln!(out, "sections\t{}", h.sections.len())?;
    for s in &h.sections {
        writeln!(
            out,
            "section\t{}\t{}\toffset={}\tlength={}\tcrc32c={:08x}",
            s.tag_name(),
            if s.is_required() {
                "required"
            } else {
                "optional"
            },
            s.offset,
            s.length,
            s.crc
        )?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
