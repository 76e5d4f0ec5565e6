//! `deconflict bench …`: each benchmark lives beside the command it measures and prints its
//! figures together with the comparison it is judged by.

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum Command {
    /// The all-pairs picture against the exact all-pairs oracle.
    Probe(super::probe::BenchArgs),
    /// Feed ingest end to end against the bare decode rate.
    Ingest(super::ingest::BenchArgs),
    /// Signed durable appends with group commit, and offline verification.
    Log(super::log_bench::BenchArgs),
    /// The service on loopback: track updates accepted and alert latency.
    Service(super::serve::BenchArgs),
    /// Guidance bands per aircraft with 1, 5 and 20 intruders against the alerting cost.
    Bands(super::daa::BenchArgs),
    /// One live desk cycle (broad phase + the alerter on the candidates) against grading every
    /// cross-party pair.
    Desk(super::desk::DeskArgs),
    /// Notification create latency (strategic check + insertion) at 1k, 10k, 100k stored.
    Notifications(super::desk::NotificationsArgs),
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Probe(a) => super::probe::bench(a),
        Command::Ingest(a) => super::ingest::bench(a),
        Command::Log(a) => super::log_bench::bench(a),
        Command::Service(a) => super::serve::bench(a),
        Command::Bands(a) => super::daa::bench(a),
        Command::Desk(a) => super::desk::bench_desk(a),
        Command::Notifications(a) => super::desk::bench_notifications(a),
    }
}
