//! The listener's connections and request bodies.

use std::sync::atomic::{AtomicU64, Ordering};

/// The listener's connections and the request bodies it held, of one service
/// ([`crate::metrics::Metrics::server`]); shared by its [`Gate`](crate::limits::Gate) and [`BodyLimits`](crate::limits::BodyLimits).
#[derive(Debug, Default)]
pub struct ServerMetrics {
    pub(crate) connections_open: AtomicU64,
    pub(crate) connections_accepted: AtomicU64,
    pub(crate) refused_total: AtomicU64,
    pub(crate) refused_per_address: AtomicU64,
    pub(crate) body_bytes_held: AtomicU64,
    pub(crate) bodies_timed_out: AtomicU64,
    pub(crate) bodies_too_large: AtomicU64,
    pub(crate) bodies_over_budget: AtomicU64,
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
