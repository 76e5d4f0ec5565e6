//! `deconflict`: the one binary. It parses arguments, calls the libraries and maps outcomes
//! to exit codes; the logic lives in the library crates.
//!
//! Exit codes: 0 success, 1 a failure reported on stderr (bad input, failed verification),
//! 2 a usage error; every error is printed once as `deconflict: error: …` ([`failure`]).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// The live cycle allocates per track and per candidate pair (ids, alerting histories); glibc's
// allocator spent about a third of a 100k-track cycle in its own bookkeeping
// (`deconflict bench desk`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// Output goes through `stdio` in every module below: a reader that closes the pipe ends the
// command quietly instead of making `print!` panic. Defined before the modules that use them.
macro_rules! print {
    ($($arg:tt)*) => { $crate::stdio::print_fmt(format_args!($($arg)*)) };
}
macro_rules! println {
    () => { $crate::stdio::print_fmt(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::stdio::print_fmt(format_args!("{}\n", format_args!($($arg)*))) };
}
#[allow(
    unused_macros,
    reason = "the crate's eprint!, for whichever module needs it"
)]
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::stdio::eprint_fmt(format_args!($($arg)*)) };
}
macro_rules! eprintln {
    () => { $crate::stdio::eprint_fmt(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::stdio::eprint_fmt(format_args!("{}\n", format_args!($($arg)*))) };
}

mod datadir;
mod exit_codes;
mod failure;
mod stdio;

mod cmd;

#[derive(Parser)]
#[command(
    name = "deconflict",
    version,
    about = "Air-safety deconfliction between parties who share a sky"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole two-party story on embedded defaults and print a summary.
    Demo(cmd::serve::DemoArgs),
    /// Run the service.
    Serve(cmd::serve::ServeArgs),
    /// Generate a party's Ed25519 key pair.
    Keygen(cmd::serve::KeygenArgs),
    /// Agreement files and the agreement's lifecycle: init, check, canonical, sign, statement,
    /// status, suspend, reactivate, terminate.
    #[command(subcommand)]
    Agreement(cmd::agreement::Command),
    /// DO-365 alerting over a DAIDALUS encounter file, DaidalusAlerting-compatible CSV out.
    Daa(cmd::daa::Args),
    /// Predicted losses of separation in a snapshot of tracks (the all-pairs picture).
    Probe(cmd::probe::Args),
    /// Read receiver feeds (Beast, AVR, SBS, hex recordings) into fused tracks.
    Ingest(cmd::ingest::Args),
    /// Run the live desk over recorded reports on a virtual clock: each party's events out.
    Replay(cmd::replay::Args),
    /// Notified operations: strategic conflict checks.
    #[command(subcommand)]
    Notifications(cmd::notifications::Command),
    /// The deconfliction line: messages, acknowledgements, renderings.
    #[command(subcommand)]
    Line(cmd::line::Command),
    /// A one-time link (valid 60 s) that signs the party's duty officer in to the web console.
    Login(cmd::login::Args),
    /// The tamper-evident record: export, tree-head, proof, check-head, follow, open, recover.
    #[command(subcommand)]
    Log(cmd::log::Command),
    /// A party's own aircraft on a running service: push reports from a file, list live tracks.
    #[command(subcommand)]
    Tracks(cmd::tracks::Command),
    /// Incidents before the working group: file one, give the party's account, assess (a
    /// working-group member), list, show.
    #[command(subcommand)]
    Incidents(cmd::incidents::Command),
    /// Write an incident's evidence bundle: its entries, its aircraft's reports with their
    /// proofs, a signed tree head (check it offline with `deconflict verify FILE`).
    Evidence(cmd::incidents::EvidenceArgs),
    /// The party's event stream from a running service, as JSON lines (--follow: live, over SSE).
    Events(cmd::events::Args),
    /// Verify an exported log offline.
    Verify(cmd::log::VerifyArgs),
    /// The working group's report, computed only from the record: weekly figures and a trust
    /// index, as one HTML page with charts, JSON or CSV.
    Report(cmd::report::Args),
    /// Benchmarks that print their figures and the comparison they are judged by.
    #[command(subcommand)]
    Bench(cmd::bench::Command),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return failure::report_clap(&e),
    };
    let result = match cli.command {
        Command::Demo(a) => cmd::serve::demo(a),
        Command::Serve(a) => cmd::serve::serve(a),
        Command::Keygen(a) => cmd::serve::keygen(a),
        Command::Agreement(c) => cmd::agreement::run(c),
        Command::Daa(a) => cmd::daa::run(a),
        Command::Probe(a) => cmd::probe::run(a),
        Command::Ingest(a) => cmd::ingest::run(a),
        Command::Replay(a) => cmd::replay::run(a),
        Command::Notifications(c) => cmd::notifications::run(c),
        Command::Line(c) => cmd::line::run(c),
        Command::Login(a) => cmd::login::run(a),
        Command::Log(c) => cmd::log::run(c),
        Command::Tracks(c) => cmd::tracks::run(c),
        Command::Incidents(c) => cmd::incidents::run(c),
        Command::Evidence(a) => cmd::incidents::evidence(a),
        Command::Events(a) => cmd::events::run(a),
        Command::Verify(a) => cmd::log::verify(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Bench(c) => cmd::bench::run(c),
    };
    match result {
        Ok(code) => code,
        Err(err) => failure::report(&err),
    }
}
