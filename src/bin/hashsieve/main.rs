//! The `hashsieve` command-line tool: a thin layer over the library (clap, progress bars and
//! anyhow live only here).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod common;
mod hash;

/// Perceptual image hashing and exact matching against hash lists.
#[derive(Parser)]
#[command(name = "hashsieve", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Hash image files or directories (recursively) and print one row per hash.
    Hash(hash::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Hash(args) => hash::run(args),
    };
    common::finish(result)
}
