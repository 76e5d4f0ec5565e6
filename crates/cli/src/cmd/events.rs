//! `deconflict events`: the calling party's event stream as JSON lines, one `EventView` per line
//! exactly as `GET /v1/events` returns them (`{"seq","kind","created_unix_ms","data"}`), in
//! sequence order, each once.
//!
//! Without `--follow` it pages through `GET /v1/events` after `--after` and stops at the end.
//! With `--follow` it then keeps the Server-Sent Events stream (`GET /v1/stream`) open with
//! `Last-Event-ID` set to the last sequence printed; each event announced there is printed from
//! `GET /v1/events` (the stream's messages carry no creation time), so the lines are the same in
//! both modes. When the connection drops it reconnects with `Last-Event-ID` after a growing
//! pause: nothing is skipped and nothing repeated. A refusal (wrong key, unknown party) ends it
//! with exit 1.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use deconflict_client::wire::EventView;
use deconflict_client::{ClientError, PartyClient};
use deconflict_service::api::EVENTS_LIST_MAX;

use super::connect::ConnectArgs;
use super::line::{Failure, finish};

/// First pause before reconnecting a dropped stream; doubled up to [`RECONNECT_PAUSE_MAX_MS`].
pub const RECONNECT_PAUSE_MS: u64 = 250;
/// Longest pause between reconnection attempts.
pub const RECONNECT_PAUSE_MAX_MS: u64 = 8_000;

#[derive(clap::Args)]
#[command(
    after_help = "Exit codes: 0 done (without --follow); 1 the service refused (its code, \
message and field are printed on stderr); 2 a usage error or the service could not be reached \
(without --follow; with it, reconnection is retried until interrupted)."
)]
pub struct Args {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Print the events after this sequence number (0: from the first).
    #[arg(long, value_name = "SEQ", default_value_t = 0)]
    after: u64,
    /// Keep printing new events as they come (Server-Sent Events), resuming after a dropped
    /// connection with Last-Event-ID.
    #[arg(long)]
    follow: bool,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    finish(events(&a))
}

fn events(a: &Args) -> Result<(), Failure> {
    let client = a.connect.client().map_err(Failure::Usage)?;
    let rt = super::connect::runtime().map_err(Failure::Usage)?;
    rt.block_on(async {
        let mut cursor = a.after;
        catch_up(&client, &mut cursor).await?;
        if a.follow {
            follow(&client, &mut cursor).await?;
        }
        Ok(())
    })
}

/// Prints every event after `*cursor` that the service holds now, advancing `*cursor`.
async fn catch_up(client: &PartyClient, cursor: &mut u64) -> Result<(), Failure> {
    loop {
        let page: Vec<EventView> = client
            .call::<(), _>(
                "GET",
                &format!("/v1/events?after={cursor}&limit={EVENTS_LIST_MAX}"),
                None,
            )
            .await?;
        let mut out = crate::stdio::stdout();
        for e in &page {
            if e.seq <= *cursor {
                // Never print an event twice, whatever the service answers.
                continue;
            }
            let line = serde_json::to_string(e).map_err(|e| Failure::Connection(e.to_string()))?;
            if writeln!(out, "{line}").is_err() {
                // The reader went away (a closed pipe): nothing more to do.
                std::process::exit(0);
            }
            *cursor = e.seq;
        }
        let _ = out.flush();
        if page.len() < EVENTS_LIST_MAX {
            return Ok(());
        }
    }
}

/// A refusal ends the command; anything else is a dropped connection, retried.
fn is_refusal(e: &ClientError) -> bool {
    matches!(e, ClientError::Status { status, .. } if (400..500).contains(status) && *status != 429)
}

async fn follow(client: &PartyClient, cursor: &mut u64) -> Result<(), Failure> {
    let mut pause = RECONNECT_PAUSE_MS;
    loop {
        let dropped = match client.stream(Some(*cursor)).await {
            Err(e) if is_refusal(&e) => return Err(e.into()),
            Err(e) => e.to_string(),
            Ok(mut stream) => {
                pause = RECONNECT_PAUSE_MS;
                loop {
                    match stream.next().await {
                        Ok(Some(m)) => {
                            let seq = m.id.as_deref().and_then(|s| s.trim().parse::<u64>().ok());
                            if seq.is_some_and(|s| s > *cursor) {
                                match catch_up(client, cursor).await {
                                    Ok(()) => {}
                                    Err(Failure::Connection(e)) => break e,
                                    Err(refused) => return Err(refused),
                                }
                            }
                        }
                        Ok(None) => break "the service closed the stream".to_string(),
                        Err(e) => break e.to_string(),
                    }
                }
            }
        };
        eprintln!(
            "deconflict: event stream dropped ({dropped}); resuming after {} in {:.2} s",
            *cursor,
            pause as f64 / 1000.0
        );
        tokio::time::sleep(Duration::from_millis(pause)).await;
        pause = (pause * 2).min(RECONNECT_PAUSE_MAX_MS);
        // Whatever came while the stream was down is printed before it reopens.
        match catch_up(client, cursor).await {
            Ok(()) | Err(Failure::Connection(_)) => {}
            Err(e) => return Err(e),
        }
    }
}
