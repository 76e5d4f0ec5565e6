//! Sockets (tokio): the only module of this crate that does I/O or reads a clock.
//!
//! Two ways in: [`run_client`] reads a receiver as a TCP client and reconnects with exponential
//! backoff when the connection drops or cannot be made; [`run_listener`] accepts feeds pushed to
//! us. Both hand [`FeedEvent`]s to a bounded channel, each connection under its own
//! [`SourceId`] so that its bytes are framed on their own. The async functions are for a tokio
//! service; [`Feed`] wraps them for a synchronous caller (the command line).

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::report::SourceId;

/// Events queued between the sockets and the consumer; a full queue makes readers wait
/// (backpressure to TCP), it never drops bytes.
pub const EVENTS_QUEUE_MAX: usize = 1024;
/// Bytes read from a socket at once.
pub const READ_CHUNK_BYTES: usize = 16 * 1024;
/// Pushed feeds accepted at once; more are refused (closed at once) and reported.
pub const CONNECTIONS_MAX: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub enum FeedEvent {
    Connected {
        source: SourceId,
        peer: String,
    },
    Data {
        source: SourceId,
        bytes: Vec<u8>,
        received_unix_s: f64,
    },
    /// The connection ended; a partial record it left must be discarded.
    Closed {
        source: SourceId,
        reason: String,
    },
    /// A client connection attempt failed; the next one is in `retry_in`.
    ConnectFailed {
        addr: String,
        reason: String,
        retry_in: Duration,
    },
}

/// Reconnection delays: `initial`, doubling up to `max`; back to `initial` after a connection
/// that delivered data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(30),
        }
    }
}

fn unix_now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Hands out source ids to connections; wraps after 65 536 (by then the old ones are closed).
#[derive(Debug, Default)]
struct Ids(u16);

impl Ids {
    fn next(&mut self) -> SourceId {
        let id = SourceId(self.0);
        self.0 = self.0.wrapping_add(1);
        id
    }
}

/// Reads one connection to its end. Returns whether it delivered any data, or `Err` when the
/// consumer has gone.
async fn pump(
    mut stream: TcpStream,
    source: SourceId,
    tx: &mpsc::Sender<FeedEvent>,
) -> Result<bool, ()> {
    let mut buf = vec![0u8; READ_CHUNK_BYTES];
    let mut any = false;
    let reason = loop {
        match stream.read(&mut buf).await {
            Ok(0) => break "closed by peer".to_string(),
            Ok(n) => {
                any = true;
                let ev = FeedEvent::Data {
                    source,
                    bytes: buf[..n].to_vec(),
                    received_unix_s: unix_now_s(),
                };
                tx.send(ev).await.map_err(|_| ())?;
            }
            Err(e) => break e.to_string(),
        }
    };
    tx.send(FeedEvent::Closed { source, reason })
        .await
        .map_err(|_| ())?;
    Ok(any)
}

/// Reads `addr` as a TCP client for as long as the consumer listens, reconnecting with `backoff`.
pub async fn run_client(addr: String, backoff: Backoff, tx: mpsc::Sender<FeedEvent>) {
    let mut ids = Ids::default();
    let mut delay = backoff.initial;
    loop {
        match TcpStream::connect(&addr).await {
            Ok(stream) => {
                let source = ids.next();
                let peer = stream
                    .peer_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_else(|_| addr.clone());
                if tx
                    .send(FeedEvent::Connected { source, peer })
                    .await
                    .is_err()
                {
                    return;
                }
                match pump(stream, source, &tx).await {
                    Err(()) => return,
                    Ok(true) => delay = backoff.initial,
                    Ok(false) => {}
                }
            }
            Err(e) => {
                let ev = FeedEvent::ConnectFailed {
                    addr: addr.clone(),
                    reason: e.to_string(),
                    retry_in: delay,
                };
                if tx.send(ev).await.is_err() {
                    return;
                }
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(backoff.max);
    }
}

/// Accepts pushed feeds on `listener`, each connection read on its own task.
pub async fn run_listener(listener: TcpListener, tx: mpsc::Sender<FeedEvent>) {
    let mut ids = Ids::default();
    let live = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            // Accept errors (out of descriptors, …) are transient: wait and carry on.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let source = ids.next();
        if live.load(std::sync::atomic::Ordering::SeqCst) >= CONNECTIONS_MAX {
            drop(stream);
            let reason = format!("refused: {CONNECTIONS_MAX} feeds already connected");
            if tx.send(FeedEvent::Closed { source, reason }).await.is_err() {
                return;
            }
            continue;
        }
        if tx
            .send(FeedEvent::Connected {
                source,
                peer: peer.to_string(),
            })
            .await
            .is_err()
        {
            return;
        }
        let tx = tx.clone();
        let live = live.clone();
        live.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(async move {
            let _ = pump(stream, source, &tx).await;
            live.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        });
    }
}

/// Reads a recording, gunzipping it when its name ends in `.gz`.
pub fn read_recording(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let raw = std::fs::read(path)?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&raw[..]), &mut out)?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// A feed for a synchronous caller: its own single-threaded runtime, which runs the socket tasks
/// while the caller waits in [`Feed::next_event`].
pub struct Feed {
    rt: tokio::runtime::Runtime,
    rx: mpsc::Receiver<FeedEvent>,
}

impl Feed {
    fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }

    /// A TCP client of `addr` (`host:port`), reconnecting for ever.
    pub fn connect(addr: &str, backoff: Backoff) -> std::io::Result<Self> {
        let rt = Self::runtime()?;
        let (tx, rx) = mpsc::channel(EVENTS_QUEUE_MAX);
        rt.spawn(run_client(addr.to_string(), backoff, tx));
        Ok(Self { rt, rx })
    }

    /// A listener on `addr`; returns the bound address (useful with port 0).
    pub fn listen(addr: &str) -> std::io::Result<(Self, SocketAddr)> {
        let rt = Self::runtime()?;
        let listener = rt.block_on(TcpListener::bind(addr))?;
        let local = listener.local_addr()?;
        let (tx, rx) = mpsc::channel(EVENTS_QUEUE_MAX);
        rt.spawn(run_listener(listener, tx));
        Ok((Self { rt, rx }, local))
    }

    /// The next event, or `None` if none came within `timeout`.
    pub fn next_event(&mut self, timeout: Duration) -> Option<FeedEvent> {
        let rx = &mut self.rx;
        self.rt.block_on(async {
            tokio::time::timeout(timeout, rx.recv())
                .await
                .ok()
                .flatten()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn client_reconnects_after_the_server_drops_it() {
        let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap().to_string();
        let t = std::thread::spawn(move || {
            for msg in [&b"first"[..], b"second"] {
                let (mut s, _) = server.accept().unwrap();
                s.write_all(msg).unwrap();
            }
        });
        let backoff = Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(50),
        };
        let mut feed = Feed::connect(&addr, backoff).unwrap();
        let mut data = Vec::new();
        let mut sources = Vec::new();
        while data.len() < 2 {
            match feed.next_event(Duration::from_secs(5)).expect("event") {
                FeedEvent::Data { source, bytes, .. } => {
                    data.push(bytes);
                    sources.push(source);
                }
                FeedEvent::Connected { .. }
                | FeedEvent::Closed { .. }
                | FeedEvent::ConnectFailed { .. } => {}
            }
        }
        t.join().unwrap();
        assert_eq!(data, vec![b"first".to_vec(), b"second".to_vec()]);
        assert_ne!(sources[0], sources[1], "each connection is its own source");
    }

    #[test]
    fn connect_failure_is_reported_with_the_next_delay() {
        // Bind then drop, so nothing listens on the port.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .to_string();
        let backoff = Backoff {
            initial: Duration::from_millis(5),
            max: Duration::from_millis(20),
        };
        let mut feed = Feed::connect(&addr, backoff).unwrap();
        let mut delays = Vec::new();
        while delays.len() < 4 {
            if let Some(FeedEvent::ConnectFailed { retry_in, .. }) =
                feed.next_event(Duration::from_secs(5))
            {
                delays.push(retry_in.as_millis());
            }
        }
        assert_eq!(delays, vec![5, 10, 20, 20]);
    }

    #[test]
    fn listener_takes_several_pushed_feeds() {
        let (mut feed, addr) = Feed::listen("127.0.0.1:0").unwrap();
        let mut a = std::net::TcpStream::connect(addr).unwrap();
        let mut b = std::net::TcpStream::connect(addr).unwrap();
        a.write_all(b"from a").unwrap();
        b.write_all(b"from b").unwrap();
        drop((a, b));
        let mut got = Vec::new();
        let mut closed = 0;
        while closed < 2 {
            match feed.next_event(Duration::from_secs(5)).expect("event") {
                FeedEvent::Data { bytes, .. } => got.push(bytes),
                FeedEvent::Closed { .. } => closed += 1,
                _ => {}
            }
        }
        got.sort();
        assert_eq!(got, vec![b"from a".to_vec(), b"from b".to_vec()]);
    }
}
