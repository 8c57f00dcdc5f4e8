//! `hashsieve export`: a list as text.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
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
    let list = crate::common::open_list(&args.list).context("cannot open the list")?;
    match &args.output {
        None => {
            let out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
            export(&list, args.format, out)?;
        }
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = BufWriter::with_capacity(1 << 16, file);
            export(&list, args.format, &mut out)
                .with_context(|| format!("cannot write {}", path.display()))?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
