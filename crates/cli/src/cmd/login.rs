//! `deconflict login`: a one-time link that signs the party's duty officer in to the web
//! console. The request for it is signed with the party's key, as every request is; the link
//! is valid 60 s and opens one session (at most 12 h) in the browser it is opened in.
//!
//! Exit codes: 0 the link is printed; 1 the service refused (its code, message and field are
//! printed); 2 a usage error or the service could not be reached.

use std::process::ExitCode;

use super::connect::ConnectArgs;
use super::line::{Failure, finish};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    connect: ConnectArgs,
    /// The duty officer signing in, as named on the party's roster in the agreement (a
    /// contact, or "<party name> command"); default: the contact on duty now. The name is
    /// recorded with each acknowledgement made in the console.
    #[arg(long, value_name = "NAME")]
    officer: Option<String>,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    finish(login(a))
}

fn login(a: Args) -> Result<(), Failure> {
    let client = a.connect.client().map_err(Failure::Usage)?;
    let rt = super::connect::runtime().map_err(|e| Failure::Connection(format!("{e:#}")))?;
    let t = rt.block_on(client.console_login_token(a.officer.as_deref()))?;
    println!("{}{}", client.base(), t.path);
    eprintln!(
        "open it within 60 s, once: it signs in {} of {} (the session lasts at most 12 h)",
        t.officer, t.party
    );
    Ok(())
}
