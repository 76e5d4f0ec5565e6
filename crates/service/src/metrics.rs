//! Prometheus text exposition (format 0.0.4) of the service's counters and gauges, written by
//! hand: a few dozen lines instead of a registry dependency.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters and gauges. Every field is updated without blocking except the labelled maps.
#[derive(Debug, Default)]
pub struct Metrics {
    pub cycles_total: AtomicU64,
    /// Last cycle's duration, microseconds.
    pub cycle_us_last: AtomicU64,
    /// Longest cycle since start, microseconds.
    pub cycle_us_max: AtomicU64,
    pub tracks_live: AtomicU64,
    pub tracks_dropped_stale_total: AtomicU64,
    pub reports_accepted_total: AtomicU64,
    pub notifications_accepted_total: AtomicU64,
    pub conflicts_active: AtomicU64,
    pub events_total: AtomicU64,
    pub stream_subscribers: AtomicU64,
    /// Requests waiting for the store (queue depth).
    pub store_waiting: AtomicU64,
    pub nonces_held: AtomicU64,
    alerts_by_kind: Mutex<BTreeMap<String, u64>>,
    rejected_by_reason: Mutex<BTreeMap<String, u64>>,
}

impl Metrics {
    pub fn alert(&self, kind: &str) {
        if let Ok(mut m) = self.alerts_by_kind.lock() {
            *m.entry(kind.to_string()).or_default() += 1;
        }
    }

    pub fn rejected(&self, reason: &str) {
        if let Ok(mut m) = self.rejected_by_reason.lock() {
            *m.entry(reason.to_string()).or_default() += 1;
        }
    }

    /// How many requests were rejected for `reason` so far.
    pub fn rejected_count(&self, reason: &str) -> u64 {
        self.rejected_by_reason
            .lock()
            .map(|m| m.get(reason).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    pub fn cycle(&self, us: u64) {
        self.cycles_total.fetch_add(1, Ordering::Relaxed);
        self.cycle_us_last.store(us, Ordering::Relaxed);
        self.cycle_us_max.fetch_max(us, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let g = |o: &mut String, name: &str, kind: &str, help: &str, v: f64| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        g(
            &mut out,
            "deconflict_cycles_total",
            "counter",
            "Cycles run.",
            load(&self.cycles_total) as f64,
        );
        g(
            &mut out,
            "deconflict_cycle_seconds",
            "gauge",
            "Duration of the last cycle.",
            load(&self.cycle_us_last) as f64 / 1e6,
        );
        g(
            &mut out,
            "deconflict_cycle_seconds_max",
            "gauge",
            "Longest cycle since start.",
            load(&self.cycle_us_max) as f64 / 1e6,
        );
        g(
            &mut out,
            "deconflict_tracks_live",
            "gauge",
            "Live tracks in the picture.",
            load(&self.tracks_live) as f64,
        );
        g(
            &mut out,
            "deconflict_tracks_dropped_stale_total",
            "counter",
            "Tracks dropped from the picture because no report came within the stale limit.",
            load(&self.tracks_dropped_stale_total) as f64,
        );
        g(
            &mut out,
            "deconflict_reports_accepted_total",
            "counter",
            "Track reports accepted.",
            load(&self.reports_accepted_total) as f64,
        );
        g(
            &mut out,
            "deconflict_notifications_accepted_total",
            "counter",
            "Notification writes accepted.",
            load(&self.notifications_accepted_total) as f64,
        );
        g(
            &mut out,
            "deconflict_conflicts_active",
            "gauge",
            "Predicted conflicts currently active.",
            load(&self.conflicts_active) as f64,
        );
        g(
            &mut out,
            "deconflict_events_total",
            "counter",
            "Events appended to party streams.",
            load(&self.events_total) as f64,
        );
        g(
            &mut out,
            "deconflict_stream_subscribers",
            "gauge",
            "Open event streams.",
            load(&self.stream_subscribers) as f64,
        );
        g(
            &mut out,
            "deconflict_store_waiting",
            "gauge",
            "Requests queued for the store.",
            load(&self.store_waiting) as f64,
        );
        g(
            &mut out,
            "deconflict_nonces_held",
            "gauge",
            "Nonces held for replay protection.",
            load(&self.nonces_held) as f64,
        );
        let labelled = |o: &mut String,
                        name: &str,
                        help: &str,
                        label: &str,
                        m: &Mutex<BTreeMap<String, u64>>| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter");
            if let Ok(m) = m.lock() {
                for (k, v) in m.iter() {
                    let _ = writeln!(o, "{name}{{{label}=\"{k}\"}} {v}");
                }
            }
        };
        labelled(
            &mut out,
            "deconflict_alerts_total",
            "Alerts issued, by kind.",
            "kind",
            &self.alerts_by_kind,
        );
        labelled(
            &mut out,
            "deconflict_requests_rejected_total",
            "Requests rejected, by reason.",
            "reason",
            &self.rejected_by_reason,
        );
        out
    }
}
