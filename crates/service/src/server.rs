//! `deconflict serve`: the service over a data directory, on the system clock, until SIGINT or
//! SIGTERM; then a graceful shutdown (streams end, the cycle stops, requests in flight finish).
//! Plain HTTP, or HTTPS when given a certificate and key ([`crate::tls`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::datadir::{self, DataDir};
use crate::state::{Config, State};
use deconflict_client::clock::SystemClock;

/// What to serve, and where.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub data_dir: PathBuf,
    /// Default: `DATA_DIR/agreement.toml`.
    pub agreement: Option<PathBuf>,
    pub listen: SocketAddr,
    pub cycle_interval_ms: u64,
    /// Serve HTTPS with this certificate and key; plain HTTP when absent.
    pub tls: Option<crate::tls::TlsFiles>,
    /// Receiver feeds (`--feed PARTY=FORMAT:ADDR`), each into its party's tracks.
    pub feeds: Vec<crate::feed::FeedSpec>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    #[error("{0}")]
    DataDir(#[from] datadir::DataDirError),
    #[error("store: {0}")]
    Store(#[from] deconflict_store::StoreError),
    #[error("{0}")]
    Start(#[from] crate::state::StartError),
    #[error("listening on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("log: {0}")]
    Record(#[from] crate::log_entries::LogError),
    #[error(transparent)]
    Binding(#[from] crate::binding::BindError),
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// A `--feed` value the agreement or the limits refuse: a usage error.
    #[error("{0}")]
    Feed(#[from] crate::feed::SpecError),
    #[error("{0}")]
    FeedStart(#[from] crate::feed::FeedStartError),
}

/// Runs until a signal. Prints `listening on http://ADDR` (or `https://`) on stdout first, so
/// scripts and tests can find the port when `--listen` asked for port 0.
pub fn run(opts: ServeOptions) -> Result<(), ServeError> {
    crate::init_tracing();
    // Bad certificate files stop the start before anything else is opened.
    let tls = opts
        .tls
        .as_ref()
        .map(crate::tls::server_config)
        .transpose()?;
    let dir = DataDir::new(&opts.data_dir);
    let agreement = opts.agreement.clone().unwrap_or_else(|| dir.agreement());
    let loaded = datadir::load_agreement(&agreement)?;
    let parties: Vec<String> = loaded.terms.parties.iter().map(|p| p.id.clone()).collect();
    for f in &opts.feeds {
        f.check_party(&parties)?;
        f.addr()?;
    }
    if opts.feeds.len() > crate::feed::FEEDS_MAX {
        return Err(crate::feed::SpecError {
            text: opts.feeds[crate::feed::FEEDS_MAX].text.clone(),
            message: format!("at most {} feeds", crate::feed::FEEDS_MAX),
        }
        .into());
    }
    if !loaded.all_signed() {
        tracing::warn!(
            signed_by = ?loaded.signed_by,
            "the agreement is a draft until every party signs; operational requests are refused"
        );
    }
    dir.create()?;
    let store = deconflict_store::SqliteStore::open(&dir.store())?;
    let config = Config {
        cycle_interval_ms: opts.cycle_interval_ms.max(1),
        ..Config::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let all_signed = loaded.all_signed();
        let id = loaded.terms.id.clone();
        let log = crate::log_entries::ServiceLog::open(
            &dir,
            &loaded.terms,
            &loaded.signed_by,
            deconflict_client::clock::Clock::now_ms(&SystemClock),
        )?;
        // The record is the truth: a store that differs from it is refused here.
        let mut store = store;
        let checked = crate::binding::bind_at_start(&mut store, &log)?;
        let state = State::open(
            config,
            loaded.terms,
            all_signed,
            Box::new(store),
            Arc::new(SystemClock),
        )?;
        state.metrics.store_checked(&checked);
        // The replay window's nonces outlive a restart.
        let now_s = deconflict_client::clock::Clock::now_s(&SystemClock);
        let (nonce_file, recorded) =
            crate::nonce_file::NonceFile::open(&dir.root.join("nonces"), now_s).map_err(
                |source| crate::datadir::DataDirError::Io {
                    path: dir.root.join("nonces"),
                    source,
                },
            )?;
        {
            let mut cache = state.nonces.lock().unwrap_or_else(|e| e.into_inner());
            cache.restore(recorded, now_s);
            cache.keep_in(Box::new(nonce_file));
        }
        tracing::info!(
            log_key = %log.public_key_hex(),
            size = log.log_file().latest_tree_head().tree_head().size(),
            "shared log open; verify exports with --log-key <log_key>"
        );
        state.attach_log(Arc::new(log));
        for f in &opts.feeds {
            let bound =
                crate::feed::spawn(state.clone(), f, deconflict_feeds::io::Backoff::default())
                    .await?;
            match bound {
                Some(addr) => {
                    tracing::info!(feed = %f.text, %addr, "receiver feed listening")
                }
                None => tracing::info!(feed = %f.text, "receiver feed connecting"),
            }
        }
        let listener = crate::bind(opts.listen)
            .await
            .map_err(|source| ServeError::Listen {
                addr: opts.listen,
                source,
            })?;
        let addr = listener.local_addr()?;
        // Handlers first: whoever reads the address below may signal at once.
        let shutdown = shutdown_signal()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        // A closed standard output (nobody reading) must not stop the service.
        let _ = {
            use std::io::Write as _;
            writeln!(std::io::stdout(), "listening on {scheme}://{addr}")
        };
        tracing::info!(%addr, scheme, agreement = %id, "serving");
        match tls {
            Some(config) => crate::tls::serve_tls(state, listener, config, true, shutdown).await?,
            None => crate::serve(state, listener, true, shutdown).await?,
        }
        tracing::info!("stopped");
        Ok(())
    })
}

/// SIGINT or SIGTERM, their handlers installed now: a signal that comes at any time after this
/// call, even before the future is first polled, stops the service gracefully instead of
/// killing it.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
