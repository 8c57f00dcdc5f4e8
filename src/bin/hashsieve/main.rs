//! The `hashsieve` command-line tool: a thin layer over the library (clap, progress bars and
//! anyhow live only here).

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod args;
mod bench;
mod build;
mod case;
mod common;
mod completions;
mod dedup;
mod demo;
mod eval;
mod export;
mod hash;
mod hash_text;
mod info;
mod lists;
mod match_cmd;
mod media;
mod merge;
mod pipeline;
mod samples;
mod scan;
#[cfg(feature = "serve")]
mod serve;
mod update;
mod verify;

/// Perceptual image hashes and exact Hamming search over hash lists.
#[derive(Parser)]
#[command(name = "hashsieve", version, propagate_version = true, about, long_about = None)]
struct Cli {
    /// Worker threads for the commands that work in parallel (default: one per CPU core).
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the main job on the bundled sample set: build a list, match edited variants.
    Demo(demo::Args),
    /// Hash image files or directories (recursively) and print one row per hash.
    Hash(hash::Args),
    /// Match images or hashes against hash lists (exit 0: matched, 1: no match, 2: error).
    Match(match_cmd::Args),
    /// Measure search speed and recall on synthetic data (`bench search`).
    Bench(bench::Args),
    /// Scan directories: hash every file, match against lists, write rows as they come; resumes.
    Scan(scan::Args),
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
    /// Cluster near-duplicates in one set of hashes, optionally marking list matches.
    Dedup(dedup::Args),
    /// Serve lists over HTTP with HMA's lookup API; reloads lists when their files change.
    #[cfg(feature = "serve")]
    Serve(serve::Args),
    /// Evaluate hashes: `eval robustness` measures recall and false matches under edits.
    #[command(subcommand)]
    Eval(eval::Command),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the manual page (roff), or write one page per command with `--dir`.
    Man(completions::ManArgs),
}

fn main() -> ExitCode {
    common::tune_allocator();
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        // Fails only when a pool already exists, which nothing builds before this point.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(usize::from(n))
            .build_global();
    }
    // `serve` handles SIGTERM itself: it drains requests in flight before exiting.
    #[cfg(feature = "serve")]
    let serving = matches!(cli.command, Command::Serve(_));
    #[cfg(not(feature = "serve"))]
    let serving = false;
    if !serving {
        common::remove_temp_files_on_signal();
    }
    let result = match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Hash(a) => hash::run(a),
        Command::Match(a) => match_cmd::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Scan(a) => scan::run(a),
        Command::Build(a) => build::run(a),
        Command::Info(a) => info::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Export(a) => export::run(a),
        Command::Merge(a) => merge::run(a),
        Command::Update(a) => update::run(a),
        Command::Dedup(a) => dedup::run(a),
        #[cfg(feature = "serve")]
        Command::Serve(a) => serve::run(a),
        Command::Eval(c) => eval::run(c),
        Command::Completions(a) => completions::completions(a, Cli::command()),
        Command::Man(a) => completions::man(a, Cli::command()),
    };
    common::finish(result)
}
