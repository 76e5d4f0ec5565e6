//! TLS for the service: rustls with the *ring* provider (it builds with a C
//! compiler alone), TLS 1.3 and 1.2 with rustls' safe defaults, HTTP/1.1.
//!
//! Server: [`server_config`] reads a PEM certificate chain and private key; [`serve_tls`] serves
//! the same router as [`crate::serve`] over TLS, each handshake in its own task (a slow client
//! cannot hold up the others) with a deadline, at most [`TLS_CONNECTIONS_MAX`] connections, and
//! the same graceful shutdown. A client that speaks plain HTTP to the TLS port gets a plain
//! HTTP 400 `tls_required` saying to use `https://`, rather than a closed connection.
//!
//! The client's trust (the system's roots, or a pinned CA file) and the PEM reading both ends
//! share are the client crate's ([`deconflict_client::tls`]).
//!
//! What is dropped is counted ([`TlsMetrics`]): connections over the limit, handshakes that
//! failed or timed out, plain-HTTP requests refused.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub use deconflict_client::tls::{PEM_BYTES_MAX, TlsError, provider, read_certificates, read_pem};

use crate::metrics::TlsMetrics;
use crate::state::State;

/// Most TLS connections open at once; more are closed at accept and counted.
pub const TLS_CONNECTIONS_MAX: usize = 4096;
/// A TLS handshake must complete within this time.
pub const TLS_HANDSHAKE_TIMEOUT_S: u64 = 10;
/// Open connections get this long to finish after shutdown begins.
pub const SHUTDOWN_GRACE_S: u64 = 10;
/// Most bytes of a plain-HTTP request read before answering it with `tls_required`.
pub const PLAIN_REQUEST_BYTES_MAX: usize = 64 * 1024;

/// The certificate chain and private key a TLS server presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM: the server's certificate first, then any intermediates.
    pub cert: PathBuf,
    /// PEM: its private key (PKCS#8, PKCS#1 RSA or SEC1 EC).
    pub key: PathBuf,
}

fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read_pem(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::Missing {
            path: path.to_path_buf(),
            what: "PRIVATE KEY",
        },
        other => TlsError::Pem {
            path: path.to_path_buf(),
            why: other.to_string(),
        },
    })
}

/// The server's TLS configuration from its PEM files. Refuses a key that does not belong to
/// the certificate.
pub fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let certs = read_certificates(&files.cert)?;
    let key = read_private_key(&files.key)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            TlsError::Config(format!(
                "{} with {}: {e}",
                files.cert.display(),
                files.key.display()
            ))
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

// ---- counters --------------------------------------------------------------------------------

// ---- the server ------------------------------------------------------------------------------

/// Serves the API over TLS on `listener` until `shutdown` resolves, then stops gracefully as
/// [`crate::serve`] does: no new connections, streams end, the cycle stops, requests in flight
/// finish (within [`SHUTDOWN_GRACE_S`]).
pub async fn serve_tls(
    state: Arc<State>,
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    run_cycle: bool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = crate::limits::Limits::default();
    let (router, _) = crate::api::router(state.clone());
    let server = state.metrics.server.clone();
    let router = router.layer(axum::Extension(crate::limits::BodyLimits::new(
        &limits,
        server.clone(),
    )));
    let gate = crate::limits::Gate::new(limits.clone(), server);
    // The console's session cookie is `Secure` over TLS.
    let router = router.layer(axum::Extension(crate::console_api::Https));
    let cycle = run_cycle.then(|| tokio::spawn(crate::run_cycle_loop(state.clone())));
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let connections = crate::listener::Connections::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(TLS_CONNECTIONS_MAX));
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = crate::listener::accept(&listener) => accepted,
            () = &mut shutdown => break,
        };
        let Some((tcp, peer)) = accepted else {
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            state
                .metrics
                .tls
                .refused_limit
                .fetch_add(1, Ordering::Relaxed);
            drop(tcp);
            continue;
        };
        // The same per-address cap as plain HTTP (counted there).
        let Some(permit) = gate.admit(peer.ip()) else {
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(router.clone());
        let http1 = crate::listener::http1(&limits);
        let watcher = connections.watcher();
        let state = state.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let _permit = permit;
            let counts = &state.metrics.tls;
            let handshake = tokio::time::timeout(
                Duration::from_secs(TLS_HANDSHAKE_TIMEOUT_S),
                handshake(&acceptor, tcp, counts),
            )
            .await;
            let stream = match handshake {
                Ok(Ok(Some(s))) => s,
                Ok(Ok(None)) => return,
                Ok(Err(e)) => {
                    counts.handshakes_failed.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    counts.handshakes_failed.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            counts.accepted.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = watcher.serve(&http1, TokioIo::new(stream), service).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    crate::listener::drain(&state, connections, cycle).await;
    Ok(())
}

/// The TLS handshake, or `None` when the peer closed at once or spoke plain HTTP (answered with
/// a 400 that says to use TLS).
async fn handshake(
    acceptor: &tokio_rustls::TlsAcceptor,
    tcp: TcpStream,
    counts: &TlsMetrics,
) -> std::io::Result<Option<tokio_rustls::server::TlsStream<TcpStream>>> {
    let mut first = [0u8; 1];
    if tcp.peek(&mut first).await? == 0 {
        return Ok(None);
    }
    // Every TLS connection opens with a handshake record, content type 22 (RFC 8446 §5.1).
    if first[0] != 0x16 {
        counts.plain_http_refused.fetch_add(1, Ordering::Relaxed);
        refuse_plain_http(tcp).await;
        return Ok(None);
    }
    acceptor.accept(tcp).await.map(Some)
}

/// Reads the plain request (headers and a body up to [`PLAIN_REQUEST_BYTES_MAX`], so that closing
/// does not reset the connection before the client reads the answer), then answers 400.
async fn refuse_plain_http(mut tcp: TcpStream) {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let mut wanted: Option<usize> = None;
    while buf.len() < PLAIN_REQUEST_BYTES_MAX && wanted.is_none_or(|w| buf.len() < w) {
        match tcp.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if wanted.is_none()
            && let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n")
        {
            wanted = Some(end + 4 + content_length(&buf[..end]));
        }
    }
    let body = r#"{"code":"tls_required","message":"this service speaks HTTPS only: use an https:// URL","field":null}"#;
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tcp.write_all(response.as_bytes()).await;
    let _ = tcp.shutdown().await;
}

fn content_length(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        // No (or no readable) length: read no body; the answer is `tls_required` either way.
        .unwrap_or(0)
        .min(PLAIN_REQUEST_BYTES_MAX)
}
