//! The plain HTTP listener, and what the TLS listener ([`crate::tls`]) shares with it: accept,
//! admit within the [`Limits`], serve each connection, and drain on shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};

use crate::limits::{BodyLimits, Gate, Limits, SHUTDOWN_GRACE_S};
use crate::state::State;

/// The HTTP/1 server settings every connection gets: the header timeout.
pub fn http1(limits: &Limits) -> hyper::server::conn::http1::Builder {
    let mut b = hyper::server::conn::http1::Builder::new();
    b.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    b
}

/// Serves the API over plain HTTP on `listener` until `shutdown` resolves, within `limits`;
/// then stops gracefully: no new connections, streams end, the cycle stops, requests in flight
/// finish (within [`SHUTDOWN_GRACE_S`]).
pub async fn serve(
    state: Arc<State>,
    listener: TcpListener,
    run_cycle: bool,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: Limits,
) -> std::io::Result<()> {
    let (router, _) = crate::api::router(state.clone());
    let counts = state.metrics.server.clone();
    let router = router.layer(axum::Extension(BodyLimits::new(&limits, counts.clone())));
    let cycle = run_cycle.then(|| tokio::spawn(crate::run_cycle_loop(state.clone())));
    let gate = Gate::new(limits.clone(), counts);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = accept(&listener) => accepted,
            () = &mut shutdown => break,
        };
        let Some((tcp, peer)) = accepted else {
            continue;
        };
        let Some(permit) = gate.admit(peer.ip()) else {
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let conn = http1(&limits)
            .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(router.clone()));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    drain(&state, graceful, cycle).await;
    Ok(())
}

/// The next connection on `listener`, for plain HTTP and TLS alike; `None` after a failed
/// accept (out of file descriptors and the like), which pauses instead of spinning.
pub(crate) async fn accept(listener: &TcpListener) -> Option<(TcpStream, SocketAddr)> {
    match listener.accept().await {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(error = %e, "accept failed");
            tokio::time::sleep(Duration::from_millis(50)).await;
            None
        }
    }
}

/// After the listener closed, for plain HTTP and TLS alike: streams end, open connections get
/// [`SHUTDOWN_GRACE_S`] to finish, then the cycle stops.
pub(crate) async fn drain(
    state: &State,
    graceful: GracefulShutdown,
    cycle: Option<tokio::task::JoinHandle<()>>,
) {
    // Streams end now, so that their connections can close.
    state.begin_shutdown();
    let grace = Duration::from_secs(SHUTDOWN_GRACE_S);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {SHUTDOWN_GRACE_S} s; stopping anyway");
    }
    if let Some(c) = cycle {
        let _ = c.await;
    }
}
