//! The plain HTTP listener, and what the TLS listener ([`crate::tls`]) shares with it: accept,
//! admit within the [`Limits`], serve each connection, and drain on shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};

use crate::limits::{BodyLimits, Gate, Limits, SHUTDOWN_GRACE_S};
use crate::state::State;

/// The HTTP/1 server settings every connection gets: the header timeout (which also closes a
/// connection that sends nothing).
pub fn http1(limits: &Limits) -> hyper::server::conn::http1::Builder {
    let mut b = hyper::server::conn::http1::Builder::new();
    b.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    b
}

/// One open connection of [`Connections`].
pub(crate) struct Watcher {
    stop: tokio::sync::watch::Receiver<bool>,
    open: tokio::sync::mpsc::Sender<()>,
}

impl Watcher {
    /// Serves `io` with `service` (HTTP/1 with upgrades) until the connection ends; once
    /// [`Connections::shutdown`] is called, the connection finishes its request in flight and
    /// closes.
    pub(crate) async fn serve<I>(
        self,
        http1: &hyper::server::conn::http1::Builder,
        io: I,
        service: TowerToHyperService<axum::Router>,
    ) -> Result<(), hyper::Error>
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let Watcher { mut stop, open } = self;
        let _open = open;
        let conn = http1.serve_connection(io, service).with_upgrades();
        tokio::pin!(conn);
        tokio::select! {
            r = conn.as_mut() => return r,
            _ = stop.wait_for(|s| *s) => {}
        }
        conn.as_mut().graceful_shutdown();
        conn.await
    }
}

/// The open connections, for a graceful shutdown: hyper-util's `GracefulShutdown` does not take
/// a connection served with upgrades (the track stream, `GET /v1/tracks/stream`, is a
/// WebSocket), so this does what it does for them.
pub(crate) struct Connections {
    stop: tokio::sync::watch::Sender<bool>,
    open: tokio::sync::mpsc::Sender<()>,
    closed: tokio::sync::mpsc::Receiver<()>,
}

impl Connections {
    pub(crate) fn new() -> Connections {
        let (open, closed) = tokio::sync::mpsc::channel(1);
        Connections {
            stop: tokio::sync::watch::Sender::new(false),
            open,
            closed,
        }
    }

    /// A watcher for one connection, taken as it is accepted.
    pub(crate) fn watcher(&self) -> Watcher {
        Watcher {
            stop: self.stop.subscribe(),
            open: self.open.clone(),
        }
    }

    /// Asks every connection to finish and close, and waits until all have.
    pub(crate) async fn shutdown(self) {
        let _ = self.stop.send(true);
        drop(self.open);
        let mut closed = self.closed;
        // Every sender is gone once every connection has ended.
        let _ = closed.recv().await;
    }
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
    let connections = Connections::new();
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
        let watcher = connections.watcher();
        let service = TowerToHyperService::new(router.clone());
        let http1 = http1(&limits);
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = watcher.serve(&http1, TokioIo::new(tcp), service).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    drain(&state, connections, cycle).await;
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
    connections: Connections,
    cycle: Option<tokio::task::JoinHandle<()>>,
) {
    // Streams end now, so that their connections can close.
    state.begin_shutdown();
    let grace = Duration::from_secs(SHUTDOWN_GRACE_S);
    if tokio::time::timeout(grace, connections.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {SHUTDOWN_GRACE_S} s; stopping anyway");
    }
    if let Some(c) = cycle {
        let _ = c.await;
    }
}
