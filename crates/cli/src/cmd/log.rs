//! `deconflict log …`.

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {}
}

#[derive(clap::Args)]
pub struct VerifyArgs {}

pub fn verify(_args: VerifyArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not available in this build yet")
}

#[derive(clap::Args)]
pub struct BenchArgs {}

pub fn bench(_args: BenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not available in this build yet")
}
