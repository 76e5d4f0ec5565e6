//! Standard output and error for every command, and what happens when the reader goes away.
//!
//! A command's output often goes to a pipe whose reader stops early (`deconflict line simulate |
//! head`). Rust ignores SIGPIPE, so a write to a closed pipe fails with `BrokenPipe`, and the
//! standard `print!` then panics. Here a closed standard output ends the process quietly with
//! exit code 0: the reader asked for no more, and nothing more can be told to it. (Restoring the
//! default SIGPIPE action instead would need `unsafe` code, which the workspace forbids, and would
//! end the process by a signal rather than an exit code.)
//!
//! Every byte of command output goes through here: the crate's `print!`/`println!` (defined in
//! `main.rs`, shadowing the standard ones for the whole crate) and [`stdout`] for commands that
//! hold a writer. Any other failure to write standard output (a full disk behind a redirection)
//! is reported as `deconflict: error: writing to standard output: …`, exit 1. `eprint!` and
//! `eprintln!` ignore a closed standard error: there is no one left to tell.

use std::fmt;
use std::io::{self, Write};

/// Ends the process because standard output failed: quietly (exit 0) when the reader closed
/// the pipe, with an error on stderr (exit 1) otherwise.
pub fn stdout_failed(e: &io::Error) -> ! {
    if e.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    write_stderr(&format!(
        "deconflict: error: writing to standard output: {e}\n"
    ));
    std::process::exit(i32::from(crate::exit_codes::EXIT_FAILURE));
}

/// `print!` for the whole crate.
pub fn print_fmt(args: fmt::Arguments<'_>) {
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        stdout_failed(&e);
    }
}

/// `eprint!` for the whole crate: a closed standard error is ignored.
pub fn eprint_fmt(args: fmt::Arguments<'_>) {
    let _ = io::stderr().lock().write_fmt(args);
}

pub fn write_stdout(s: &str) {
    print_fmt(format_args!("{s}"));
}

pub fn write_stderr(s: &str) {
    eprint_fmt(format_args!("{s}"));
}

/// Standard output as a writer: a closed pipe ends the process quietly, any other failure is
/// reported (see the module documentation). Wrap it in a `BufWriter` for many small writes.
pub fn stdout() -> Stdout {
    Stdout(io::stdout().lock())
}

/// See [`stdout`].
pub struct Stdout(io::StdoutLock<'static>);

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).inspect_err(|e| stdout_failed(e))
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf).inspect_err(|e| stdout_failed(e))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().inspect_err(|e| stdout_failed(e))
    }
}
