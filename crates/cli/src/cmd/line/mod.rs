//! `deconflict line …`: the deconfliction line.
//!
//! Offline (no service): render stored messages and conversations in a reader's language,
//! list the message catalogue, check a message's canonical form, run the scripted simulation.
//!
//! Through a running service, as one party's duty officer (`--service URL --party ID --key
//! FILE`, every request signed with the party's key): send a message (from a JSON file or from
//! typed flags), list what is pending, acknowledge, show a conversation in the reader's
//! language, list conversations, show link-test reachability.
//!
//! Every flag is checked before anything is sent: a bad value is a usage error (exit 2) that
//! names the flag, and nothing reaches the service. Exit codes of the service commands:
//! 0 done, 1 the service refused (its `code`, `message` and `field` are printed), 2 a usage
//! or connection error.

mod offline;
mod send;
#[cfg(test)]
mod tests;
mod values;
mod views;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use deconflict_airspace::instant::Round;
use deconflict_line::lang::{CoordFormat, Language, ReaderProfile};
use deconflict_line::message::{Document, MessageKind, parse_document};
use deconflict_line::render::{render_conversation, render_message};
use deconflict_line::units::UtcOffset;
use deconflict_line::{
    Activity, Alteration, Altitude, AltitudeBlock, Area, Body, Decision, Distance, LangTag,
    Latitude, Longitude, Message, MessageId, OfficerName, PartyId, Position, Subject, SubjectId,
    SubjectKind, Text, TimeWindow, Timestamp, TrackId, TrackRef,
};

use super::connect::ConnectArgs;

use offline::*;
use send::*;
use values::*;
pub(crate) use values::{TimeArg, format_time, parse_finite, parse_time_arg};
use views::*;

/// Shown under every service command's `--help`.
pub(crate) const EXIT_CODES: &str = "Exit codes: 0 done; 1 the service refused (its code, message and \
field are printed on stderr); 2 a usage error (a bad flag, named; nothing was sent) or the \
service could not be reached.";

pub(crate) const TIME_HELP: &str = "TIME is RFC 3339 (2017-04-12T09:40:00Z, 2017-04-12T12:40:00+03:00, \
any fractional precision: a start is rounded down to the millisecond, an end up), or relative to now: now, +90s, +10m, +2h, -5m, now+1h30m.";

#[derive(clap::Subcommand)]
pub enum Command {
    /// Render a stored message (JSON object) or conversation (JSON array) in a language.
    Render(RenderArgs),
    /// List the message types and their fields.
    Catalogue(CatalogueArgs),
    /// Check a message file and print its canonical JSON (RFC 8785): the bytes that are signed.
    Canonical(CanonicalArgs),
    /// Run the scripted day on the line (link tests, an alert conversation, a late
    /// acknowledgement that escalates) and print it in every language, or in one.
    Simulate(SimulateArgs),
    /// Send a message on the line: from a JSON file (--file), or typed (strike-warning,
    /// free-text, request-to-alter, reply, incident, investigation-request).
    Send(Box<SendArgs>),
    /// What awaits my acknowledgement, what awaits the others', what is overdue.
    Pending(PendingArgs),
    /// Acknowledge a message addressed to my party, as a named duty officer.
    Ack(AckArgs),
    /// Show one conversation rendered for the reader (language, local time, coordinates).
    Show(ShowArgs),
    /// List the conversations my party takes part in.
    Conversations(ListArgs),
    /// Link-test reachability of each party: answered in time, late, missed, pending.
    Reachability(ReachabilityArgs),
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Render(a) => render(a),
        Command::Catalogue(a) => catalogue(a),
        Command::Canonical(a) => canonical(a),
        Command::Simulate(a) => simulate(a),
        Command::Send(a) => finish(send(*a)),
        Command::Pending(a) => finish(pending(a)),
        Command::Ack(a) => finish(ack(a)),
        Command::Show(a) => finish(show(a)),
        Command::Conversations(a) => finish(conversations(a)),
        Command::Reachability(a) => finish(reachability(a)),
    }
}

// ---------------------------------------------------------------------------------------------
// The line through a running service.

/// Why a service command did not complete; each maps to one exit code.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A bad flag or file: nothing was sent (exit 2).
    Usage(anyhow::Error),
    /// The service could not be reached or answered something unreadable (exit 2).
    Connection(String),
    /// The service answered with an error body (exit 1).
    Refused {
        status: u16,
        code: String,
        message: String,
        field: Option<String>,
    },
}

impl Failure {
    pub(crate) fn usage(flag: &str, why: impl std::fmt::Display) -> Failure {
        Failure::Usage(anyhow::anyhow!("{flag}: {why}"))
    }
}

impl From<deconflict_client::ClientError> for Failure {
    fn from(e: deconflict_client::ClientError) -> Failure {
        use deconflict_client::ClientError;
        match e {
            ClientError::Status { status, body } => Failure::Refused {
                status,
                code: body.code,
                message: body.message,
                field: body.field,
            },
            other => Failure::Connection(other.to_string()),
        }
    }
}

/// The failure as the command's error (printed once by `main`): a usage error or an unreachable
/// service ends with exit code 2, a refusal with 1.
pub(crate) fn finish(result: Result<(), Failure>) -> anyhow::Result<ExitCode> {
    use crate::failure::{EXIT_FAILURE, EXIT_USAGE, exit};
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(Failure::Usage(e)) => Err(exit(
            EXIT_USAGE,
            format!("{} (nothing was sent)", crate::failure::chain_text(&e)),
        )),
        Err(Failure::Connection(e)) => {
            Err(exit(EXIT_USAGE, format!("cannot reach the service: {e}")))
        }
        Err(Failure::Refused {
            status,
            code,
            message,
            field,
        }) => Err(exit(
            EXIT_FAILURE,
            refusal_text(status, &code, &message, field.as_deref()),
        )),
    }
}

/// What a refusal prints: the status, then one line each for `code`, `message` and `field`.
fn refusal_text(status: u16, code: &str, message: &str, field: Option<&str>) -> String {
    format!(
        "the service refused (HTTP {status})\n  code:    {code}\n  message: {message}\n  field:   {}",
        field.unwrap_or("-")
    )
}

/// Runs one command's requests on a single-threaded runtime.
fn block_on<F>(f: F) -> Result<(), Failure>
where
    F: std::future::Future<Output = Result<(), Failure>>,
{
    let rt = super::connect::runtime().map_err(|e| Failure::Connection(format!("{e:#}")))?;
    rt.block_on(f)
}

/// `GET path` and print the service's JSON answer as it came (the `--json` output).
fn print_raw_json(connect: &ConnectArgs, path: String) -> Result<(), Failure> {
    let client = connect.client().map_err(Failure::Usage)?;
    block_on(async move { print_raw_json_with(&client, &path).await })
}

async fn print_raw_json_with(
    client: &deconflict_client::PartyClient,
    path: &str,
) -> Result<(), Failure> {
    let (status, body) = client.send("GET", path, Vec::new()).await?;
    if !(200..300).contains(&status) {
        let e: deconflict_client::wire::ErrorBody = deconflict_line::message::parse_json(&body)
            .unwrap_or(deconflict_client::wire::ErrorBody {
                code: "unknown".into(),
                message: String::from_utf8_lossy(&body).into_owned(),
                field: None,
            });
        return Err(Failure::Refused {
            status,
            code: e.code,
            message: e.message,
            field: e.field,
        });
    }
    println!("{}", String::from_utf8_lossy(&body).trim_end());
    Ok(())
}

/// Percent-encodes a path segment or query value (ids may hold `:` and `/`).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
