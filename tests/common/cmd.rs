//! A small DSL for running the real `hashsieve` binary and checking what it did, in the manner of
//! ripgrep's `TestCommand`:
//!
//! ```ignore
//! let run = cmd(["match", "--list", "known.hsl", "-"]).dir(tmp).stdin("…\n").assert_exit(1);
//! assert!(run.stdout_lines().is_empty());
//! ```
//!
//! A [`Cmd`] is built by value; [`Cmd::run`] starts the process, feeds its standard input (empty
//! unless [`Cmd::stdin`] gives one), and collects the output into a [`Run`]. A `Run` derefs to
//! [`Output`], so `run.status` and `run.stdout` work as before; its `assert_*` methods print the
//! command line, exit status, stdout and stderr when they fail.

#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The binary under test: `HASHSIEVE_TEST_BIN` where set (to run the suite against an installed
/// build), else the one cargo built for these tests.
pub fn bin() -> PathBuf {
    std::env::var_os("HASHSIEVE_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_hashsieve")))
}

/// A run of `hashsieve` with `args`, to be set up further and then run.
pub fn cmd<I, S>(args: I) -> Cmd
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Cmd {
        program: bin(),
        args: args.into_iter().map(|a| a.as_ref().to_owned()).collect(),
        dir: None,
        stdin: None,
        envs: Vec::new(),
        timeout: None,
    }
}

/// A command being set up: program, arguments, working directory, standard input, environment.
#[must_use = "a Cmd does nothing until it is run"]
pub struct Cmd {
    program: PathBuf,
    args: Vec<OsString>,
    dir: Option<PathBuf>,
    stdin: Option<Vec<u8>>,
    envs: Vec<(OsString, Option<OsString>)>,
    timeout: Option<Duration>,
}

impl Cmd {
    /// Runs `program` (a copy of the binary, another tool) instead of `hashsieve`.
    pub fn program(mut self, program: impl AsRef<OsStr>) -> Cmd {
        self.program = PathBuf::from(program.as_ref());
        self
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Runs in `dir` (by default, the test's own working directory).
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Cmd {
        self.dir = Some(dir.as_ref().to_owned());
        self
    }

    /// Writes `bytes` to the standard input, then closes it (by default it is empty).
    pub fn stdin(mut self, bytes: impl AsRef<[u8]>) -> Cmd {
        self.stdin = Some(bytes.as_ref().to_owned());
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cmd {
        self.envs
            .push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Cmd {
        self.envs.push((key.as_ref().to_owned(), None));
        self
    }

    /// Kills the process and fails the test if it has not finished after `limit`, so that a
    /// regression that blocks fails instead of hanging the suite. Make it generous: it guards
    /// against hangs and says nothing about speed.
    pub fn timeout(mut self, limit: Duration) -> Cmd {
        self.timeout = Some(limit);
        self
    }

    /// The command line, for messages.
    fn line(&self) -> String {
        let mut line = self.program.display().to_string();
        for a in &self.args {
            line.push(' ');
            line.push_str(&a.to_string_lossy());
        }
        line
    }

    /// The `std` command (program, arguments, directory, environment), for a test that drives
    /// the process itself: closes a pipe early, sends a signal, reads as it goes.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        for (key, value) in &self.envs {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        command
    }

    /// Starts the command with its standard input piped (taken out of the child and returned,
    /// for the test to write and close) and standard output and error set to `stdout` and
    /// `stderr`, for a test that drives the process as it runs.
    pub fn spawn(&self, stdout: Stdio, stderr: Stdio) -> (Child, ChildStdin) {
        let mut child = self
            .command()
            .stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: cannot start: {e}", self.line()));
        let stdin = child.stdin.take().expect("stdin is piped");
        (child, stdin)
    }

    /// Runs the command to its end and collects what it wrote.
    pub fn run(self) -> Run {
        let line = self.line();
        let mut child = self
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{line}: cannot start: {e}"));
        let mut pipe = child.stdin.take().expect("stdin is piped");
        let input = self.stdin.unwrap_or_default();
        // A thread of its own, so a command that writes much before it reads cannot deadlock
        // with us. It may stop reading early (it refused its input): that is its answer.
        let writer = std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
        let out = match self.timeout {
            None => child.wait_with_output().expect("wait for hashsieve"),
            Some(limit) => {
                let pid = child.id();
                let (send, recv) = mpsc::channel();
                std::thread::spawn(move || send.send(child.wait_with_output()));
                match recv.recv_timeout(limit) {
                    Ok(out) => out.expect("wait for hashsieve"),
                    Err(_) => {
                        // The waiting thread has not reaped the child, so `pid` is still its.
                        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                        let out = recv.recv().unwrap().expect("wait for hashsieve");
                        panic!(
                            "{line}: did not finish within {limit:?} (blocked?); stderr: {}",
                            String::from_utf8_lossy(&out.stderr)
                        );
                    }
                }
            }
        };
        writer.join().unwrap();
        Run { line, out }
    }

    /// Runs the command and checks its exit code (0 success or a match, 1 no match, 2 error).
    #[track_caller]
    pub fn assert_exit(self, code: i32) -> Run {
        self.run().assert_exit(code)
    }

    /// Runs the command and checks that it exited 0.
    #[track_caller]
    pub fn assert_ok(self) -> Run {
        self.assert_exit(0)
    }

    /// Runs the command and returns its raw output.
    pub fn output(self) -> Output {
        self.run().out
    }
}

/// A finished run: what the process wrote and how it ended.
pub struct Run {
    line: String,
    out: Output,
}

impl Deref for Run {
    type Target = Output;

    fn deref(&self) -> &Output {
        &self.out
    }
}

impl Run {
    /// The exit code (`None` when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.out.status.code()
    }

    /// Standard output as text (invalid UTF-8 replaced).
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    /// Standard error as text (invalid UTF-8 replaced).
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    /// The lines of standard output, without their ends.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout().lines().map(str::to_owned).collect()
    }

    /// The raw output.
    pub fn into_output(self) -> Output {
        self.out
    }

    /// Everything about the run, for a failure message.
    pub fn describe(&self) -> String {
        format!(
            "{}\nstatus: {}\nstdout:\n{}\nstderr:\n{}",
            self.line,
            self.out.status,
            self.stdout(),
            self.stderr()
        )
    }

    /// Checks the exit code.
    #[track_caller]
    pub fn assert_exit(self, code: i32) -> Run {
        assert_eq!(
            self.code(),
            Some(code),
            "expected exit {code}: {}",
            self.describe()
        );
        self
    }

    /// Checks that standard error contains `needle`.
    #[track_caller]
    pub fn assert_stderr_contains(self, needle: &str) -> Run {
        assert!(
            self.stderr().contains(needle),
            "expected {needle:?} on stderr: {}",
            self.describe()
        );
        self
    }
}
