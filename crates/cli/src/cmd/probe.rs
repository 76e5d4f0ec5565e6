//! `deconflict probe` and `deconflict bench probe`.

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {}

#[derive(clap::Args)]
pub struct BenchArgs {}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not available in this build yet")
}

pub fn bench(_args: BenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not available in this build yet")
}
