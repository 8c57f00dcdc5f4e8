//! `hashsieve completions SHELL` and `hashsieve man`: shell completion scripts (clap_complete)
//! and manual pages (clap_mangen), generated from the same clap definitions the parser uses, so
//! they never drift from the real options.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    shell: clap_complete::Shell,
}

#[derive(clap::Args)]
pub(crate) struct ManArgs {
    /// Write one page per command (`hashsieve.1`, `hashsieve-match.1`, ...) into this
    /// directory, each atomically, instead of printing the main page to standard output.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Prints the completion script for `args.shell`.
pub(crate) fn completions(
    args: CompletionsArgs,
    mut cmd: clap::Command,
) -> anyhow::Result<ExitCode> {
    // clap_complete panics when its writer fails (a closed pipe, say): generate into memory,
    // then write with our usual error handling.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "hashsieve", &mut script);
    write_stdout(&script)
}

/// Prints the main manual page, or writes every command's page into `args.dir`.
pub(crate) fn man(args: ManArgs, mut cmd: clap::Command) -> anyhow::Result<ExitCode> {
    // Building sets each subcommand's display name (`hashsieve-eval-robustness`), which names
    // its page and its title.
    cmd.build();
    match &args.dir {
        None => write_stdout(&render(&cmd)?),
        Some(dir) => {
            if !dir.is_dir() {
                anyhow::bail!("{} is not a directory", dir.display());
            }
            write_pages(&cmd, dir)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn render(cmd: &clap::Command) -> anyhow::Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
    Ok(page)
}

/// Writes the page of `cmd` and of each visible subcommand, recursively (not clap's generated
/// `help` subcommands: `hashsieve help match` is `hashsieve match --help`).
fn write_pages(cmd: &clap::Command, dir: &Path) -> anyhow::Result<()> {
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    let path = dir.join(format!("{name}.1"));
    crate::common::write_atomic(&path, &render(cmd)?)?;
    let pages = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help");
    for sub in pages {
        write_pages(sub, dir)?;
    }
    Ok(())
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
