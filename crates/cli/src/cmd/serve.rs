//! `deconflict demo`, `serve`, `keygen`.

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct DemoArgs {}

#[derive(clap::Args)]
pub struct ServeArgs {}

#[derive(clap::Args)]
pub struct KeygenArgs {}

pub fn demo(_args: DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not available in this build yet")
}

pub fn serve(_args: ServeArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not available in this build yet")
}

pub fn keygen(_args: KeygenArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not available in this build yet")
}

#[derive(clap::Args)]
pub struct BenchArgs {}

pub fn bench(_args: BenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not available in this build yet")
}
