//! The TLS listener's counters.

use std::sync::atomic::{AtomicU64, Ordering};

/// The TLS listener's connections by outcome, of one service
/// ([`crate::metrics::Metrics::tls`]).
#[derive(Debug, Default)]
pub struct TlsMetrics {
    pub(crate) accepted: AtomicU64,
    pub(crate) refused_limit: AtomicU64,
    pub(crate) handshakes_failed: AtomicU64,
    pub(crate) plain_http_refused: AtomicU64,
}

impl TlsMetrics {
    /// The counters in the Prometheus text format (0.0.4).
    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str("# HELP deconflict_tls_connections_total TLS connections by outcome.\n");
        s.push_str("# TYPE deconflict_tls_connections_total counter\n");
        for (outcome, n) in [
            ("accepted", &self.accepted),
            ("refused_over_limit", &self.refused_limit),
            ("handshake_failed", &self.handshakes_failed),
            ("plain_http_refused", &self.plain_http_refused),
        ] {
            s.push_str(&format!(
                "deconflict_tls_connections_total{{outcome=\"{outcome}\"}} {}\n",
                n.load(Ordering::Relaxed)
            ));
        }
        s
    }
}
