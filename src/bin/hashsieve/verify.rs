//! `hashsieve verify`: check every byte of a list.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// Check a list's checksums and structure. Exits 0 when intact, 2 otherwise.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The list file.
    #[arg(value_name = "LIST")]
    list: PathBuf,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    crate::common::Files::new()
        .lists([args.list.as_path()])
        .check()?;
    // Opening verifies every byte.
    let list = crate::common::open_list(&args.list)
        .with_context(|| format!("{} is corrupt or cannot be read", args.list.display()))?;
    hashsieve::matching::verify_index_section(&list).with_context(|| {
        format!(
            "{}: the search index section is corrupt",
            args.list.display()
        )
    })?;
    eprintln!(
        "{}: ok ({} list, {} hashes, {} entries)",
        args.list.display(),
        list.kind(),
        list.len(),
        list.entry_count()
    );
    Ok(ExitCode::SUCCESS)
}
