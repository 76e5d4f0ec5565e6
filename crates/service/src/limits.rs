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
//!   [`BODY_BYTES_MAX`], and every byte held counts against
//!   [`BODY_BYTES_BUFFERED_MAX`] for the whole process (503 beyond).
//!
//! Every refusal is counted ([`ServerMetrics`]); the bytes held are a gauge.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body_util::BodyExt as _;
use sha2::{Digest as _, Sha256};

use crate::metrics::ServerMetrics;

/// Largest request body accepted, bytes (a batch of 10,000 reports fits).
pub const BODY_BYTES_MAX: usize = 4 << 20;
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

impl BodyLimits {
    /// Holds `n` bytes of a track stream frame already read against the process's budget,
    /// waiting while the budget is full (the stream's reader stops reading meanwhile, so TCP
    /// pushes back on the party); [`BodyError::OverBudget`] only when `n` could never fit.
    pub async fn hold_frame(&self, n: u64) -> Result<Held, BodyError> {
        if n > self.0.held_max {
            self.0
                .counts
                .bodies_over_budget
                .fetch_add(1, Ordering::Relaxed);
            return Err(BodyError::OverBudget);
        }
        while !self.reserve(n) {
            tokio::time::sleep(Duration::from_millis(FRAME_BUDGET_WAIT_MS)).await;
        }
        Ok(Held {
            limits: self.clone(),
            bytes: n,
        })
    }
}

/// How long a track stream's reader waits before it asks the body budget again.
const FRAME_BUDGET_WAIT_MS: u64 = 5;

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

    /// Body limits of a budget of `bytes`, and the metrics they count in.
    fn budget_of(bytes: u64) -> (Arc<ServerMetrics>, BodyLimits) {
        let counts = Arc::new(ServerMetrics::default());
        let limits = BodyLimits::new(
            &Limits {
                body_bytes_buffered_max: bytes,
                ..Limits::default()
            },
            counts.clone(),
        );
        (counts, limits)
    }

    /// A frame waits for room in the budget rather than being refused, and is refused only
    /// when it could never fit.
    #[tokio::test]
    async fn a_frame_waits_for_room_in_the_body_budget() {
        let (counts, limits) = budget_of(10);
        let first = limits.hold_frame(8).await.unwrap();
        let second = limits.hold_frame(8);
        tokio::pin!(second);
        let waited = tokio::time::timeout(Duration::from_millis(50), second.as_mut()).await;
        assert!(waited.is_err(), "a frame past the budget was held at once");
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .expect("room given back")
            .unwrap();
        assert_eq!(counts.body_bytes_held.load(Ordering::Relaxed), 8);
        assert_eq!(
            limits.hold_frame(11).await.unwrap_err(),
            BodyError::OverBudget
        );
        drop(second);
        assert_eq!(counts.body_bytes_held.load(Ordering::Relaxed), 0);
    }

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
        let (counts, limits) = budget_of(10);
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
