//! How a party's command reaches a running service: the service's address, the party's id and
//! its secret key (as written by `deconflict keygen`). Every request the client makes is signed
//! with that key (RFC 9421), exactly as the party's own systems would sign it.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use deconflict_client::{PartyClient, Trust};
use deconflict_service::{SystemClock, datadir};

/// Arguments shared by every command that talks to a running service.
/// `Default` lets code that builds one by hand write `..Default::default()`, so that flags added
/// here later do not break it.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ConnectArgs {
    /// The service's base URL, e.g. http://127.0.0.1:8080.
    #[arg(long, value_name = "URL")]
    pub service: String,
    /// The calling party's id, as in the agreement.
    #[arg(long)]
    pub party: String,
    /// The party's secret key file (`deconflict keygen --out PREFIX` writes PREFIX.key).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// For an https:// service: trust only the CA certificates in this PEM file (the CA that
    /// signed the service's certificate, or a self-signed certificate itself) instead of the
    /// system's roots.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
}

#[allow(dead_code, reason = "used by the commands that talk to a service")]
impl ConnectArgs {
    /// A signed client for the party.
    pub fn client(&self) -> anyhow::Result<PartyClient> {
        let secret = datadir::read_secret_key(&self.key)
            .with_context(|| format!("--key {}", self.key.display()))?;
        let key = datadir::signing_key(&secret)
            .with_context(|| format!("--key {}: not an Ed25519 secret key", self.key.display()))?;
        let base = self.service.trim_end_matches('/');
        let https = base.starts_with("https://");
        if !(https || base.starts_with("http://")) {
            anyhow::bail!("--service {base}: expected a URL starting with http:// or https://");
        }
        match &self.ca_cert {
            None => Ok(PartyClient::new(
                base,
                &self.party,
                key,
                Arc::new(SystemClock),
            )),
            Some(path) if !https => anyhow::bail!(
                "--ca-cert {} is for an https:// service, but --service is {base}",
                path.display()
            ),
            Some(path) => PartyClient::with_trust(
                base,
                &self.party,
                key,
                Arc::new(SystemClock),
                &Trust::CaFile(path.clone()),
            )
            .context("--ca-cert"),
        }
    }
}

/// A single-threaded runtime for one command's requests.
#[allow(dead_code, reason = "used by the commands that talk to a service")]
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
