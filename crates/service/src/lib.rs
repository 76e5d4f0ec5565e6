//! The deconfliction service: the HTTP API the parties connect to, its authentication, the
//! parties' event streams, the fixed-rate cycle that runs the conflict engine, and metrics.
//!
//! What it owns: request authentication (the client crate's [`deconflict_client::auth`],
//! RFC 9421 and RFC 9530, checked in [`api`]; what the handlers share in [`request`]),
//! authorization by party and the agreement's disclosure rules ([`state`]), the cycle that
//! turns the engine's conflicts into alerts ([`cycle`], its stages in order), the event streams
//! (SSE, resumable by sequence number), the record's countersignature routes ([`log_api`]),
//! the server's TLS ([`tls`], rustls), the deconfliction line run over HTTP ([`line`]: the
//! sans-IO line crate's state machine, its log in the store, its effects on the streams; its
//! routes and its turn in the cycle in [`line_api`]), the agreement's lifecycle as the parties'
//! signed statements ([`lifecycle`]), the duty officer's web console over HTTP
//! ([`console_api`]: the page, sign-in links, sessions), and the parties' receiver feeds into
//! their desk tracks ([`feed`]). The documents, the entries a party signs and the signed client
//! are the party's side of the protocol, in the client crate ([`deconflict_client`]).
//!
//! Invariants:
//! - Every `/v1` request is authenticated by the calling party's key from the agreement; a
//!   party reads its own data, the alerts that involve it, and of the others only the fields
//!   the agreement says they disclose.
//! - Nothing is acknowledged before the store has made it durable; memory only ever holds what
//!   the store holds, and a failed request changes nothing.
//! - A party's stream delivers its events in sequence order with nothing skipped or repeated,
//!   across reconnects (`Last-Event-ID`) and restarts.
//! - `now` comes from a [`Clock`]; tests and the demo use a virtual clock.
//!
//! What it never does: detect conflicts itself (the engine does), check notification volumes
//! itself (the airspace crate does), or decide what an agreement means (the agreement crate
//! does). It is glue: every rule it applies is one of theirs or a named limit here.

pub mod api;
pub mod binding;
pub mod console_api;
pub mod cycle;
pub mod datadir;
pub mod desk_wire;
pub mod error;
pub mod evidence;
pub mod feed;
pub mod incidents;
pub mod incidents_api;
pub mod lifecycle;
pub mod limits;
pub mod line;
pub mod line_api;
pub mod listener;
pub mod log_api;
pub mod log_entries;
pub mod metrics;
pub mod nonce_file;
pub mod replay;
pub mod report_leaves;
pub mod reports;
pub mod request;
pub mod server;
pub mod state;
pub mod strategic;
pub mod terms;
pub mod tls;
pub mod track_stream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use deconflict_client::clock::{Clock, ManualClock, SystemClock};
pub use state::{Config, StartError, State};
pub use terms::{Lifecycle, PartyInfo, Status, Terms};

/// Runs the cycle at `config.cycle_interval_ms` on the state's clock until shutdown.
pub async fn run_cycle_loop(state: Arc<State>) {
    let mut shutdown = state.shutdown_signal();
    let period = Duration::from_millis(state.config.cycle_interval_ms.max(1));
    let mut ticker = tokio::time::interval(period);
    // A late cycle runs once, not in a burst: the picture is projected to `now` anyway.
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let feeding = tokio::spawn(hand_reports_to_desk_loop(state.clone()));
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if let Err(e) = state.run_cycle().await {
                    tracing::error!(error = ?e.body, "cycle failed");
                }
            }
            _ = shutdown.changed() => break,
        }
    }
    feeding.abort();
}

/// Between cycles, hands the reports waiting in the desk's inbox to the desk every
/// [`state::DESK_INBOX_HAND_OVER_MS`], so that a cycle's tick finds them in the picture already
/// instead of taking a second's worth of them in first; and when tracks new to the picture
/// came with them (or from a receiver), grades those at once ([`State::run_arrivals`]), so
/// that a conflict a new aircraft opens is alerted within [`state::ARRIVALS_PASS_EVERY_MS`],
/// not at the next cycle.
async fn hand_reports_to_desk_loop(state: Arc<State>) {
    let mut ticker = tokio::time::interval(Duration::from_millis(state::DESK_INBOX_HAND_OVER_MS));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let pass_every = Duration::from_millis(state::ARRIVALS_PASS_EVERY_MS);
    let mut last_pass: Option<tokio::time::Instant> = None;
    loop {
        ticker.tick().await;
        if let Err(e) = state.hand_inbox_to_desk().await {
            tracing::error!(error = ?e.body, "waiting reports not handed to the desk");
        }
        if last_pass.is_some_and(|t| t.elapsed() < pass_every) || !state.arrivals_wait() {
            continue;
        }
        last_pass = Some(tokio::time::Instant::now());
        if let Err(e) = state.run_arrivals().await {
            tracing::error!(error = ?e.body, "new tracks not graded on arrival");
        }
    }
}

/// Serves the API on `listener` until `shutdown` resolves, then stops gracefully: streams end,
/// the cycle stops, in-flight requests finish. Connections, header and body times and body
/// bytes are bounded by the [`limits`] defaults.
pub async fn serve(
    state: Arc<State>,
    listener: tokio::net::TcpListener,
    run_cycle: bool,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener::serve(
        state,
        listener,
        run_cycle,
        shutdown,
        limits::Limits::default(),
    )
    .await
}

/// Binds `addr` (port 0 for an ephemeral port).
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
