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
    /// The live path under steady load: N tracks at R Hz from P pushers, S streams, alert
    /// latency, dropped events and memory over time.
    Load(LoadArgs),
}

#[derive(clap::Args)]
pub struct LoadArgs {
    /// Live tracks, split between the two parties.
    #[arg(long, default_value_t = 100_000)]
    tracks: usize,
    /// Refreshes of every track per second.
    #[arg(long, default_value_t = 1.0)]
    hz: f64,
    /// Concurrent pushers, split between the parties.
    #[arg(long, default_value_t = 8)]
    pushers: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Event stream clients, split between the parties.
    #[arg(long, default_value_t = 100)]
    streams: usize,
    /// The pushers' feed path: signed batch requests, or one track stream each.
    #[arg(long, value_enum, default_value_t = Via::Batch)]
    via: Via,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Via {
    Batch,
    Stream,
}

fn load(a: LoadArgs) -> anyhow::Result<ExitCode> {
    let outcome = deconflict_drive::load_bench::run(&deconflict_drive::load_bench::LoadOptions {
        tracks: a.tracks,
        hz: a.hz,
        pushers: a.pushers,
        seconds: a.seconds,
        streams: a.streams,
        via: match a.via {
            Via::Batch => deconflict_drive::load_bench::FeedPath::Batch,
            Via::Stream => deconflict_drive::load_bench::FeedPath::Stream,
        },
    })?;
    print!("{outcome}");
    Ok(if outcome.met() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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
        Command::Load(a) => load(a),
    }
}
