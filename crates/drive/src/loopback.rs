//! The service behind its HTTP server on a loopback port, as each driver starts it.

use std::sync::Arc;

use deconflict_service::state::State;

/// A running service on `127.0.0.1`, stopped by [`Loopback::stop`].
pub struct Loopback {
    /// The port it listens on.
    pub addr: std::net::SocketAddr,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Loopback {
    /// Binds a free loopback port and serves `state` on it; `run_cycle` as
    /// [`deconflict_service::serve`] takes it.
    pub async fn start(state: Arc<State>, run_cycle: bool) -> std::io::Result<Loopback> {
        let listener = deconflict_service::bind(([127, 0, 0, 1], 0).into()).await?;
        let addr = listener.local_addr()?;
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(deconflict_service::serve(
            state,
            listener,
            run_cycle,
            async move {
                let _ = stop_rx.await;
            },
        ));
        Ok(Loopback {
            addr,
            base: format!("http://{addr}"),
            stop,
            server,
        })
    }

    /// Shuts the server down and waits for it to end.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
    }
}
