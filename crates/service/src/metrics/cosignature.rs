//! The record's countersignature route's counters.

use crate::error::ApiError;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a countersignature was refused, as counted.
const REFUSAL_REASONS: [&str; 9] = [
    "malformed_entry",
    "not_canonical",
    "invalid_field",
    "not_a_cosignature",
    "author_mismatch",
    "entry_signature_invalid",
    "unknown_tree_head",
    "log_busy",
    "log_unavailable",
];

/// Countersignatures accepted (appended), repeated (already there) and refused by reason, of
/// one service ([`crate::metrics::Metrics::cosignatures`]).
#[derive(Debug, Default)]
pub struct CosignatureMetrics {
    pub(crate) accepted: AtomicU64,
    pub(crate) repeated: AtomicU64,
    pub(crate) refused: [AtomicU64; REFUSAL_REASONS.len()],
}

impl CosignatureMetrics {
    /// Counts `e` by its reason, and gives it back.
    pub(crate) fn refused(&self, e: ApiError) -> ApiError {
        if let Some(i) = REFUSAL_REASONS.iter().position(|r| *r == e.body.code) {
            self.refused[i].fetch_add(1, Ordering::Relaxed);
        }
        e
    }

    /// The counters in the Prometheus text format (0.0.4).
    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str(
            "# HELP deconflict_log_cosignatures_total Countersignatures of tree heads by outcome.\n",
        );
        s.push_str("# TYPE deconflict_log_cosignatures_total counter\n");
        for (outcome, n) in [("appended", &self.accepted), ("repeated", &self.repeated)] {
            s.push_str(&format!(
                "deconflict_log_cosignatures_total{{outcome=\"{outcome}\"}} {}\n",
                n.load(Ordering::Relaxed)
            ));
        }
        s.push_str(
            "# HELP deconflict_log_cosignatures_refused_total Countersignatures refused, by reason.\n",
        );
        s.push_str("# TYPE deconflict_log_cosignatures_refused_total counter\n");
        for (reason, n) in REFUSAL_REASONS.iter().zip(&self.refused) {
            s.push_str(&format!(
                "deconflict_log_cosignatures_refused_total{{reason=\"{reason}\"}} {}\n",
                n.load(Ordering::Relaxed)
            ));
        }
        s
    }
}
