//! `deconflict bench …`: each benchmark lives beside the command it measures.

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum Command {
    /// The all-pairs picture against the exact all-pairs oracle.
    Probe(super::probe::BenchArgs),
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Probe(a) => super::probe::bench(a),
    }
}
