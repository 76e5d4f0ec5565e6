//! How every command ends: one error path and one set of exit codes for the whole binary.
//!
//! A command returns `anyhow::Result<ExitCode>`. An error is printed once, by `main`, as
//! `deconflict: error: …` on stderr (the chain of causes after it, each message once), and ends
//! the process with exit code 1 (a reported failure), or with the code an [`Exit`] in its chain
//! carries (2 for a usage error: a bad flag, nothing done). Argument errors found by the parser
//! are printed the same way, with exit code 2; `--help` and `--version` print on stdout, exit 0.

use std::fmt;
use std::process::ExitCode;

pub use crate::exit_codes::{EXIT_FAILURE, EXIT_USAGE};

/// An error that ends the command with a chosen exit code.
#[derive(Debug)]
pub struct Exit {
    pub code: u8,
    pub message: String,
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// A usage error (exit code 2) with this message.
pub fn usage(message: impl fmt::Display) -> anyhow::Error {
    anyhow::Error::new(Exit {
        code: EXIT_USAGE,
        message: message.to_string(),
    })
}

/// An error ending the command with `code` and this message.
pub fn exit(code: u8, message: impl fmt::Display) -> anyhow::Error {
    anyhow::Error::new(Exit {
        code,
        message: message.to_string(),
    })
}

/// The exit code an error ends the command with: that of the first [`Exit`] in its chain, else 1.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    err.chain()
        .find_map(|c| c.downcast_ref::<Exit>())
        .map_or(EXIT_FAILURE, |e| e.code)
}

/// The error's chain of causes joined by `: `, each message once: a cause whose text an outer
/// message already contains (an error that formats its source into its own message) is left out.
pub fn chain_text(err: &anyhow::Error) -> String {
    chain_of(err.chain().map(|c| c.to_string()))
}

fn chain_of(messages: impl Iterator<Item = String>) -> String {
    let mut out = String::new();
    for m in messages {
        let m = m.trim();
        if m.is_empty() || out.contains(m) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(m);
    }
    out
}

/// What `main` prints for an error: `deconflict: error: …` and a newline.
pub fn error_text(err: &anyhow::Error) -> String {
    format!("deconflict: error: {}\n", chain_text(err))
}

/// Prints the error once on stderr and gives its exit code.
pub fn report(err: &anyhow::Error) -> ExitCode {
    crate::stdio::write_stderr(&error_text(err));
    ExitCode::from(exit_code(err))
}

/// Ends an argument-parsing error the way every other error ends: `--help` and `--version` are
/// printed on stdout (exit 0); anything else is a usage error, `deconflict: error: …`, exit 2.
pub fn report_clap(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            crate::stdio::write_stdout(&e.render().to_string());
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            crate::stdio::write_stderr(&format!(
                "deconflict: error: a subcommand is required\n\n{}",
                e.render()
            ));
            ExitCode::from(EXIT_USAGE)
        }
        _ => {
            let text = e.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            crate::stdio::write_stderr(&format!("deconflict: error: {text}"));
            ExitCode::from(EXIT_USAGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_in_the_message_is_printed_once() {
        let text = chain_of(
            [
                "serve: data directory /x: No such file or directory (os error 2)".to_string(),
                "data directory /x: No such file or directory (os error 2)".to_string(),
                "No such file or directory (os error 2)".to_string(),
            ]
            .into_iter(),
        );
        assert_eq!(
            text,
            "serve: data directory /x: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn distinct_causes_are_joined_in_order() {
        let err = anyhow::anyhow!("bad byte").context("reading x.toml");
        assert_eq!(chain_text(&err), "reading x.toml: bad byte");
        assert_eq!(exit_code(&err), 1);
        assert_eq!(exit_code(&usage("--flag: no").context("outer")), 2);
    }
}
