//! `hashsieve`: perceptual image hashes and hash-list matching from the command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod build;
mod export;
mod info;
mod merge;
mod update;
mod verify;

/// Perceptual image hashes and exact Hamming search over hash lists.
#[derive(Parser)]
#[command(name = "hashsieve", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a hash-list file from text inputs.
    Build(build::Args),
    /// Show a list's header and sections (constant time).
    Info(info::Args),
    /// Check every byte of a list.
    Verify(verify::Args),
    /// Write a list as text.
    Export(export::Args),
    /// Merge lists into one, recording each entry's source list.
    Merge(merge::Args),
    /// Apply a delta (additions and removals) to a list.
    Update(update::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(a) => build::run(a),
        Command::Info(a) => info::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Export(a) => export::run(a),
        Command::Merge(a) => merge::run(a),
        Command::Update(a) => update::run(a),
    };
    match result {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hashsieve: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Whether the error is a closed output pipe (`hashsieve export | head`): exit quietly.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || e.downcast_ref::<hashsieve::Error>().is_some_and(|h| {
                matches!(h.kind(), hashsieve::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe)
            })
    })
}
