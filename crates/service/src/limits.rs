//! What a stranger can make the service hold: connections, time and body bytes.
//!
//! - Connections: at most [`CONNECTIONS_MAX`] open, at most [`CONNECTIONS_PER_ADDRESS_MAX`]
//!   from one IP address; more are closed at accept and counted.
//! - Time: a request's headers must arrive within [`HEADER_READ_TIMEOUT_S`] (hyper closes the
//!   connection otherwise, also an idle one kept alive), its body within
//!   [`BODY_READ_TIMEOUT_S`] (answered 408 and closed).
//! - Body bytes: the signed headers are checked before any body byte is read (the signature
//!   covers `content-digest`), so only a party can make the service buffer a body; it is then
//!   read as it arrives, hashed on the way, refused as soon as it passes
//!   [`BODY_BYTES_MAX`](crate::state::BODY_BYTES_MAX), and every byte held counts against
//!   [`BODY_BYTES_BUFFERED_MAX`] for the whole process (503 beyond).
//!
//! Every refusal is counted ([`ServerMetrics`]); the bytes held are a gauge.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body_util::BodyExt as _;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use sha2::{Digest as _, Sha256};
use tokio::net::{TcpListener, TcpStream};

use crate::state::{BODY_BYTES_MAX, State};

/// Most connections open at once.
pub const CONNECTIONS_MAX: usize = 4096;
/// Most connections open at once from one IP address.
pub const CONNECTIONS_PER_ADDRESS_MAX: usize = 256;
/// A request's headers must arrive within this time.
pub const HEADER_READ_TIMEOUT_S: u64 = 10;
/// A request's body must arrive within this time (4 MiB at 1 Mbit/s takes about 34 s).
pub const BODY_READ_TIMEOUT_S: u64 = 60;
/// Most request body bytes held at once by the whole process.
pub const BODY_BYTES_BUFFERED_MAX: u64 = 64 << 20;
/// Open connections get this long to finish after shutdown begins.
pub const SHUTDOWN_GRACE_S: u64 = 10;

/// The limits in force; [`Limits::default`] is the named constants (tests shorten the times).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub connections_max: usize,
    pub connections_per_address_max: usize,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub body_bytes_buffered_max: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            connections_max: CONNECTIONS_MAX,
            connections_per_address_max: CONNECTIONS_PER_ADDRESS_MAX,
            header_read_timeout: Duration::from_secs(HEADER_READ_TIMEOUT_S),
            body_read_timeout: Duration::from_secs(BODY_READ_TIMEOUT_S),
            body_bytes_buffered_max: BODY_BYTES_BUFFERED_MAX,
        }
    }
}

// ---- counters --------------------------------------------------------------------------------

/// The listener's connections and the request bodies it held, of one service
/// ([`crate::metrics::Metrics::server`]); shared by its [`Gate`] and [`BodyLimits`].
#[derive(Debug, Default)]
pub struct ServerMetrics {
    connections_open: AtomicU64,
    connections_accepted: AtomicU64,
    refused_total: AtomicU64,
    refused_per_address: AtomicU64,
    body_bytes_held: AtomicU64,
    bodies_timed_out: AtomicU64,
    bodies_too_large: AtomicU64,
    bodies_over_budget: AtomicU64,
}

impl ServerMetrics {
    /// The counters in the Prometheus text format (0.0.4).
    pub fn render(&self) -> String {
        let mut s = String::new();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        s.push_str(
            "# HELP deconflict_connections_open Connections open now.\n\
             # TYPE deconflict_connections_open gauge\n",
        );
        s.push_str(&format!(
            "deconflict_connections_open {}\n",
            load(&self.connections_open)
        ));
        s.push_str(
            "# HELP deconflict_connections_total Connections by outcome at accept.\n\
             # TYPE deconflict_connections_total counter\n",
        );
        for (outcome, n) in [
            ("accepted", &self.connections_accepted),
            ("refused_over_total", &self.refused_total),
            ("refused_over_per_address", &self.refused_per_address),
        ] {
            s.push_str(&format!(
                "deconflict_connections_total{{outcome=\"{outcome}\"}} {}\n",
                load(n)
            ));
        }
        s.push_str(
            "# HELP deconflict_body_bytes_buffered Request body bytes held now.\n\
             # TYPE deconflict_body_bytes_buffered gauge\n",
        );
        s.push_str(&format!(
            "deconflict_body_bytes_buffered {}\n",
            load(&self.body_bytes_held)
        ));
        s.push_str(
            "# HELP deconflict_bodies_refused_total Request bodies refused while being read.\n\
             # TYPE deconflict_bodies_refused_total counter\n",
        );
        for (reason, n) in [
            ("timeout", &self.bodies_timed_out),
            ("too_large", &self.bodies_too_large),
            ("over_budget", &self.bodies_over_budget),
        ] {
            s.push_str(&format!(
                "deconflict_bodies_refused_total{{reason=\"{reason}\"}} {}\n",
                load(n)
            ));
        }
        s
    }
}

// ---- connections -----------------------------------------------------------------------------

/// Counts open connections, in total and per address.
#[derive(Debug)]
pub struct Gate {
    limits: Limits,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
    counts: Arc<ServerMetrics>,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct Permit {
    gate: Arc<Gate>,
    ip: IpAddr,
}

impl Gate {
    pub fn new(limits: Limits, counts: Arc<ServerMetrics>) -> Arc<Gate> {
        Arc::new(Gate {
            limits,
            open: Mutex::new((0, HashMap::new())),
            counts,
        })
    }

    /// Admits a connection from `ip`, or refuses it (counted).
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Permit> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.0 >= self.limits.connections_max {
            self.counts.refused_total.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let from_ip = open.1.entry(ip).or_insert(0);
        if *from_ip >= self.limits.connections_per_address_max {
            self.counts
                .refused_per_address
                .fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *from_ip += 1;
        open.0 += 1;
        self.counts
            .connections_accepted
            .fetch_add(1, Ordering::Relaxed);
        self.counts.connections_open.fetch_add(1, Ordering::Relaxed);
        Some(Permit {
            gate: self.clone(),
            ip,
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.gate.open.lock().unwrap_or_else(|e| e.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.1.remove(&self.ip);
            }
        }
        self.gate
            .counts
            .connections_open
            .fetch_sub(1, Ordering::Relaxed);
    }
}

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

// ---- bodies ----------------------------------------------------------------------------------

/// How bodies are read; carried to the authentication layer as a request extension (the
/// defaults when absent).
#[derive(Debug, Clone)]
pub struct BodyLimits(Arc<BodyBudget>);

#[derive(Debug)]
struct BodyBudget {
    timeout: Duration,
    held_max: u64,
    held: AtomicU64,
    counts: Arc<ServerMetrics>,
}

impl BodyLimits {
    pub fn new(limits: &Limits, counts: Arc<ServerMetrics>) -> BodyLimits {
        BodyLimits(Arc::new(BodyBudget {
            timeout: limits.body_read_timeout,
            held_max: limits.body_bytes_buffered_max,
            held: AtomicU64::new(0),
            counts,
        }))
    }

    fn reserve(&self, n: u64) -> bool {
        let b = &self.0;
        let mut held = b.held.load(Ordering::Relaxed);
        loop {
            let Some(next) = held.checked_add(n).filter(|&t| t <= b.held_max) else {
                return false;
            };
            match b
                .held
                .compare_exchange_weak(held, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    b.counts.body_bytes_held.fetch_add(n, Ordering::Relaxed);
                    return true;
                }
                Err(now) => held = now,
            }
        }
    }
}

/// Body bytes held for a request; released when dropped (after the handler has run).
#[derive(Debug)]
pub struct Held {
    limits: BodyLimits,
    bytes: u64,
}

impl Drop for Held {
    fn drop(&mut self) {
        let b = &self.limits.0;
        b.held.fetch_sub(self.bytes, Ordering::AcqRel);
        b.counts
            .body_bytes_held
            .fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// Why a body was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    #[error("the body is larger than {BODY_BYTES_MAX} bytes")]
    TooLarge,
    #[error("the body did not arrive within {0} s")]
    Timeout(u64),
    #[error("the service holds too many request bodies; retry later")]
    OverBudget,
    #[error("the content-digest does not match the body")]
    DigestMismatch,
    #[error("the body could not be read: {0}")]
    Read(String),
}

/// Reads `body` as it arrives, at most [`BODY_BYTES_MAX`] bytes within the limits' time,
/// holding its bytes against the process's budget, and checks it against `digest`.
pub async fn read_body(
    body: Body,
    digest: &[u8; 32],
    limits: &BodyLimits,
) -> Result<(Bytes, Held), BodyError> {
    let mut held = Held {
        limits: limits.clone(),
        bytes: 0,
    };
    let counts = &limits.0.counts;
    let read = async {
        let mut body = body;
        let mut hasher = Sha256::new();
        let mut buf: Vec<u8> = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| BodyError::Read(e.to_string()))?;
            let Ok(data) = frame.into_data() else {
                continue; // trailers: not part of the content
            };
            if buf.len().saturating_add(data.len()) > BODY_BYTES_MAX {
                counts.bodies_too_large.fetch_add(1, Ordering::Relaxed);
                return Err(BodyError::TooLarge);
            }
            let n = data.len() as u64;
            if !limits.reserve(n) {
                counts.bodies_over_budget.fetch_add(1, Ordering::Relaxed);
                return Err(BodyError::OverBudget);
            }
            held.bytes += n;
            hasher.update(&data);
            buf.extend_from_slice(&data);
        }
        if hasher.finalize()[..] != digest[..] {
            return Err(BodyError::DigestMismatch);
        }
        Ok(Bytes::from(buf))
    };
    match tokio::time::timeout(limits.0.timeout, read).await {
        Ok(Ok(bytes)) => Ok((bytes, held)),
        Ok(Err(e)) => Err(e),
        Err(_) => {
            counts.bodies_timed_out.fetch_add(1, Ordering::Relaxed);
            Err(BodyError::Timeout(limits.0.timeout.as_secs()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_caps_connections_in_total_and_per_address() {
        let counts = Arc::new(ServerMetrics::default());
        let gate = Gate::new(
            Limits {
                connections_max: 5,
                connections_per_address_max: 3,
                ..Limits::default()
            },
            counts.clone(),
        );
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let from_a: Vec<_> = (0..3).map(|_| gate.admit(a).unwrap()).collect();
        assert!(gate.admit(a).is_none(), "a fourth from one address");
        let from_b: Vec<_> = (0..2).map(|_| gate.admit(b).unwrap()).collect();
        assert!(gate.admit(b).is_none(), "a sixth in total");
        drop(from_a);
        assert!(gate.admit(a).is_some(), "places are given back");
        drop(from_b);
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        assert_eq!(load(&counts.connections_accepted), 6);
        assert_eq!(load(&counts.refused_per_address), 1);
        assert_eq!(load(&counts.refused_total), 1);
        assert_eq!(load(&counts.connections_open), 0, "every permit dropped");
    }

    #[tokio::test]
    async fn a_body_is_read_against_its_digest_within_the_budget() {
        let counts = Arc::new(ServerMetrics::default());
        let limits = BodyLimits::new(
            &Limits {
                body_bytes_buffered_max: 10,
                ..Limits::default()
            },
            counts.clone(),
        );
        let digest: [u8; 32] = Sha256::digest(b"hello").into();
        let (bytes, held) = read_body(Body::from("hello"), &digest, &limits)
            .await
            .unwrap();
        assert_eq!(&bytes[..], b"hello");
        // Held while the request runs: a second body does not fit beside it.
        let digest2: [u8; 32] = Sha256::digest(b"world!").into();
        assert_eq!(
            read_body(Body::from("world!"), &digest2, &limits)
                .await
                .unwrap_err(),
            BodyError::OverBudget
        );
        drop(held);
        assert!(
            read_body(Body::from("world!"), &digest2, &limits)
                .await
                .is_ok()
        );
        assert_eq!(
            read_body(Body::from("hellO"), &digest, &limits)
                .await
                .unwrap_err(),
            BodyError::DigestMismatch
        );
        assert_eq!(limits.0.held.load(Ordering::Relaxed), 0, "all given back");
        assert_eq!(counts.body_bytes_held.load(Ordering::Relaxed), 0);
        assert_eq!(counts.bodies_over_budget.load(Ordering::Relaxed), 1);
    }
}
