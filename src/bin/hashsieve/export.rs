//! `hashsieve export`: a list as text.

use std::io::{self, BufWriter};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use hashsieve::fs::AtomicFile;
use hashsieve::list::export::{export, ExportFormat};

/// Write a list as text: hex (hashes only), csv or jsonl (everything; they import back).
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The list file.
    #[arg(value_name = "LIST")]
    list: PathBuf,
    /// Output format: hex, csv, jsonl.
    #[arg(long, default_value = "csv")]
    format: ExportFormat,
    /// Write here instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    crate::common::Files::new()
        .lists([args.list.as_path()])
        .outputs(args.output.as_deref())
        .check()?;
    let list = crate::common::open_list(&args.list).context("cannot open the list")?;
    match &args.output {
        None => {
            let out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
            export(&list, args.format, out)?;
        }
        Some(path) => {
            // Atomically: an interrupted export leaves no half file, and a file already there
            // stays whole until the new one is complete.
            let mut out = AtomicFile::create(path)?;
            export(&list, args.format, &mut out)
                .with_context(|| format!("cannot write {}", path.display()))?;
            out.commit()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
